"""Reading XLSForm XPath: :func:`parse_xpath` (the XPath 1.0 subset XLSForms use, into a
tree) and :func:`from_xpath` (a ``relevant`` back into the surveykit expression language,
without the guards that a surveykit comparison implies). See
:mod:`surveykit.questionnaire.xpath`."""

from __future__ import annotations

import re

from ._xpath_tree import _FLIP, BLANK, XPathError, _names, _number_text, xpath_text
from .core import Questionnaire

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<num>\d+(?:\.\d*)?|\.\d+)
    | (?P<str>'[^']*'|"[^"]*")
    | (?P<ref>\$\{[^}]*\})
    | (?P<op>!=|<=|>=|=|<|>|\+|-|\*|\(|\)|,)
    | (?P<path>(?:\.\.|\.|/)(?:[/.]|[A-Za-z_][\w.:-]*)*|(?:current\(\))(?:/[\w.:-]+|/\.\.)*)
    | (?P<name>[A-Za-z_][\w.:-]*)
    )""", re.VERBOSE)


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos, text = [], 0, text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise XPathError(f"cannot read {text[pos:pos + 20]!r} in {text!r}")
        kind = m.lastgroup
        out.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def parse_xpath(text: str) -> tuple:
    """Parse an XLSForm expression (the XPath 1.0 subset used in ``relevant``,
    ``constraint`` and ``calculation``) into a tree.

    Examples
    --------
    >>> parse_xpath("${a} >= 2 and not(selected(${b}, '3'))")  # doctest: +NORMALIZE_WHITESPACE
    ('and', [('cmp', '>=', ('ref', 'a'), ('num', 2)),
             ('call', 'not', [('call', 'selected', [('ref', 'b'), ('str', '3')])])])
    >>> xpath_text(parse_xpath("(${a} + 1) div 2 > 3"))
    '(${a} + 1) div 2 > 3'
    """
    if not isinstance(text, str) or not text.strip():
        raise XPathError("the expression is empty")
    tokens = _tokens(text)
    pos = 0

    def peek(k=0):
        return tokens[pos + k] if pos + k < len(tokens) else (None, None)

    def take():
        nonlocal pos
        tok = tokens[pos]
        pos += 1
        return tok

    def expect(value):
        tok = peek()
        if tok[1] != value:
            raise XPathError(f"expected {value!r} in {text!r}, got {tok[1]!r}")
        take()

    def binary(level):
        if level == 6:
            return unary()
        ops = [("or",), ("and",), ("=", "!="), ("<", "<=", ">", ">="), ("+", "-"),
               ("*", "div", "mod")][level]
        left = binary(level + 1)
        parts = [left]
        while peek()[1] in ops and peek()[0] in ("op", "name"):
            op = take()[1]
            right = binary(level + 1)
            if op in ("or", "and"):
                parts.append(right)
            else:
                tag = "cmp" if level in (2, 3) else "arith"
                left = (tag, op, left, right)
                parts = [left]
        if len(parts) > 1:
            return (ops[0], parts)
        return left

    def unary():
        if peek() == ("op", "-"):
            take()
            inner = unary()
            if inner[0] == "num":
                return ("num", -inner[1])
            return ("neg", inner)
        return primary()

    def primary():
        kind, value = peek()
        if kind is None:
            raise XPathError(f"{text!r} ends too early")
        take()
        if kind == "num":
            return ("num", float(value) if "." in value else int(value))
        if kind == "str":
            return ("str", value[1:-1])
        if kind == "ref":
            return ("ref", value[2:-1].strip())
        if kind == "path":
            return ("path", value)
        if kind == "name":
            if peek()[1] == "(":
                take()
                args = []
                if peek()[1] != ")":
                    args.append(binary(0))
                    while peek()[1] == ",":
                        take()
                        args.append(binary(0))
                expect(")")
                if value == "concat" and all(a[0] == "str" for a in args):
                    return ("str", "".join(a[1] for a in args))
                return ("call", value, args)
            return ("path", value)
        if value == "(":
            inner = binary(0)
            expect(")")
            return inner
        raise XPathError(f"unexpected {value!r} in {text!r}")

    tree = binary(0)
    if pos != len(tokens):
        raise XPathError(f"unexpected {tokens[pos][1]!r} in {text!r}")
    return tree


# -- XPath -> surveykit ----------------------------------------------------------------------
_SK_PREC = {"or": 1, "and": 2, "not": 3, "cmp": 4, "+": 5, "-": 5, "*": 6, "/": 6,
            "neg": 7}


def from_xpath(tree, names: dict | Questionnaire, *, rename: dict | None = None) -> str:
    """Translate an XPath condition (a ``relevant``) into the surveykit expression language.

    ``names`` maps each name to what it is (a :class:`Questionnaire`, or the mapping built
    while importing a form); ``rename`` maps form names to the surveykit ids they became.
    The guards :func:`to_xpath` writes are dropped where the surveykit comparison implies
    them; ``${q} != 1`` without a ``${q} != ''`` guard becomes ``not q == 1`` (true for a
    blank answer, as in XPath).

    Raises
    ------
    XPathError
        The XPath uses something the expression language has no word for (``if()``,
        ``string-length()`` on text, dates, ``.`` or other paths).
    """
    if isinstance(names, Questionnaire):
        names = _names(names)
    return _FromXPath(names, rename or {}).condition(tree)[0]


class _FromXPath:
    """Each method returns (text, precedence)."""

    def __init__(self, names: dict, rename: dict):
        self.names, self.rename = names, rename
        self.score_min: dict[str, int] = {}  # the count of a mean() -> its min=

    def name(self, node) -> str:
        if node[0] == "ref":
            raw = node[1]
        elif node[0] == "path" and node[1].startswith("/") and "/" in node[1][1:]:
            raw = node[1].rsplit("/", 1)[1]
        else:
            raise XPathError(f"{xpath_text(node)} is not a ${{name}} reference")
        return self.rename.get(raw, raw)

    def info(self, name: str):
        return self.names.get(name)

    def condition(self, node, guarded: frozenset = frozenset()) -> tuple[str, int]:
        tag = node[0]
        if tag == "or":
            # runs of ${x} = a or ${x} = b ... on one name are written x in [a, b]
            parts, run = [], []
            for c in [*node[1], None]:
                if c is not None and self.membership([c]) is not None and (
                        not run or self.equality_name(c) == self.equality_name(run[0])):
                    run.append(c)
                    continue
                if len(run) > 1:
                    parts.append((self.membership(run), 4))
                elif run:
                    parts.append(self.condition(run[0]))
                run = [c] if c is not None and self.membership([c]) is not None else []
                if c is not None and not run:
                    parts.append(self.condition(c))
            if len(parts) == 1:
                return parts[0]
            return " or ".join(_wrap(p, 2) for p in parts), 1
        if tag == "and":
            return self.conjunction(node[1])
        if tag == "cmp":
            return self.compare(node, guarded)
        if tag == "call":
            return self.call(node)
        raise XPathError(f"{xpath_text(node)} is not a condition")

    def call(self, node) -> tuple[str, int]:
        fname, args = node[1], node[2]
        if fname == "not" and len(args) == 1:
            inner = self.condition(args[0])
            return f"not {_wrap(inner, 3)}", 3
        if fname == "selected" and len(args) == 2 and args[1][0] in ("str", "num"):
            code = self.code(self.name(args[0]), args[1])
            return f"selected({self.name(args[0])}, {_sk_literal(code)})", 8
        if fname in ("true", "false"):
            raise XPathError(f"{fname}() has no counterpart in the expression language")
        raise XPathError(f"the function {fname}() has no counterpart in the expression "
                         "language")

    def answered_test(self, node):
        """(name, True) for a test that says 'q is answered', (name, False) for 'not
        answered', None otherwise."""
        if node[0] != "cmp":
            return None
        op, left, right = node[1], node[2], node[3]
        if right[0] == "ref" and left[0] != "ref":
            left, right, op = right, left, _FLIP[op]
        target = left
        if left[0] == "call" and left[1] in ("normalize-space", "string") and len(left[2]) == 1:
            target = left[2][0]
        if target[0] == "ref" and right == BLANK and op in ("=", "!="):
            return self.name(target), op == "!="
        if left[0] == "call" and left[1] in ("count-selected", "string-length") \
                and len(left[2]) == 1 and left[2][0][0] == "ref" and right[0] == "num":
            name, n = self.name(left[2][0]), right[1]
            if (op, n) in ((">", 0), (">=", 1), ("!=", 0)):
                return name, True
            if (op, n) in (("=", 0), ("<", 1), ("<=", 0)):
                return name, False
        return None

    def guard(self, node):
        """(name, kind) for ``${x} != ''`` ('blank') or ``${x} != m``, m a missing code of
        x ('missing'); ``(expr, 'zero')`` for ``expr != 0``; ``(count, 'score')`` for the
        ``count >= k`` of a mean()/sum(); None otherwise."""
        if node[0] == "cmp" and node[1] == ">=" and node[3][0] == "num" \
                and _count_terms(node[2]) is not None:
            return xpath_text(node[2]), "score"
        if node[0] != "cmp" or node[1] != "!=":
            return None
        left, right = node[2], node[3]
        if left[0] == "ref" and right == BLANK:
            return self.name(left), "blank"
        if left[0] == "ref" and right[0] in ("num", "str"):
            name = self.name(left)
            info = self.info(name)
            if info is not None and self.code(name, right) in info.missing:
                return name, "missing"
        if right == ("num", 0) and left[0] in ("ref", "arith", "neg"):
            return xpath_text(left), "zero"
        return None

    def conjunction(self, parts) -> tuple[str, int]:
        guards = [self.guard(p) for p in parts]
        divisors = set()
        for p in parts:
            divisors |= _divisors(p)
        # expr != 0 guards a division by expr, count >= k the mean() dividing by count;
        # otherwise they are comparisons like any other
        guards = [None if g is not None and g[1] in ("zero", "score") and g[0] not in divisors
                  else g for g in guards]
        outer = dict(self.score_min)  # this conjunction's count >= k hold inside it only
        for p, g in zip(parts, guards, strict=True):
            if g is not None and g[1] == "score":  # count >= 1 and count >= 2: count >= 2
                self.score_min[g[0]] = max(p[3][1], self.score_min.get(g[0], 0))
        try:
            return self._conjunction(parts, guards, divisors)
        finally:
            self.score_min = outer

    def _conjunction(self, parts, guards, divisors) -> tuple[str, int]:
        others = [p for p, g in zip(parts, guards, strict=True) if g is None]
        read = set()
        for p in others:
            read |= self.reads(p)
        blank = {g[0] for g in guards if g and g[1] == "blank"}
        missing: dict[str, list] = {}
        for p, g in zip(parts, guards, strict=True):
            if g and g[1] == "missing":
                missing.setdefault(g[0], []).append(self.neq_constant(p)[1])
        # x != c atoms on one name, guarded against a blank answer: x != c / x not in [...]
        # (the missing codes' guards are implied by them; alone, they are the atoms)
        by_name: dict[str, list] = {}
        for p in others:
            atom = self.neq_constant(p)
            if atom is not None and atom[0] in blank:
                by_name.setdefault(atom[0], []).append(atom[1])
        for name in blank - read - set(by_name):
            if name in missing:
                by_name[name] = missing[name]
        out, done = [], set()

        def atoms(name: str) -> tuple[str, int]:
            done.add(name)
            codes = by_name[name]
            if len(codes) == 1:
                return f"{name} != {_sk_literal(codes[0])}", 4
            return f"{name} not in [{', '.join(map(_sk_literal, codes))}]", 4

        for p, g in zip(parts, guards, strict=True):
            name = g[0] if g is not None else (self.neq_constant(p) or (None,))[0]
            if name in done:
                continue
            if g is not None and g[1] in ("zero", "score") and name in divisors:
                continue
            if g is not None and g[1] in ("blank", "missing") and name in read:
                continue
            if name in by_name and (g is None or g[1] in ("blank", "missing")):
                out.append(atoms(name))
            elif g is not None and g[1] == "blank":
                out.append((f"answered({name})", 8))
            elif g is not None:
                out.append(self.compare(p, frozenset()))
            else:
                out.append(self.condition(p, frozenset(blank)))
        if len(out) == 1:
            return out[0]
        return " and ".join(_wrap(o, 3) for o in out), 2

    def neq_constant(self, node):
        if node[0] == "cmp" and node[1] == "!=" and node[2][0] == "ref" \
                and node[3][0] in ("num", "str") and node[3] != BLANK:
            name = self.name(node[2])
            return name, self.code(name, node[3])
        return None

    def reads(self, node) -> set:
        """Names whose value a comparison reads (a comparison is false when they are
        missing), as opposed to answered()/selected() tests."""
        out = set()
        if node[0] in ("and", "or"):
            return out  # a nested group does not imply its names are answered
        if node[0] == "cmp" and self.answered_test(node) is None:
            for side in (node[2], node[3]):
                out |= self._values(side)
        return out

    def _values(self, node) -> set:
        if node[0] == "ref":
            return {self.name(node)}
        if node[0] in ("arith",):
            return self._values(node[2]) | self._values(node[3])
        if node[0] == "neg":
            return self._values(node[1])
        if node[0] == "call" and node[1] == "if" and _option_value(node):
            return {self.name(node[2][0][2][0])}
        return set()

    def equality_name(self, node) -> str:
        return self.name(node[2])

    def membership(self, parts):
        """``${x} = a or ${x} = b`` -> ``x in [a, b]``."""
        name, codes = None, []
        for p in parts:
            if not (p[0] == "cmp" and p[1] == "=" and p[2][0] == "ref"
                    and p[3][0] in ("num", "str") and p[3] != BLANK):
                return None
            n = self.name(p[2])
            if name is not None and n != name:
                return None
            name = n
            codes.append(self.code(n, p[3]))
        return f"{name} in [{', '.join(map(_sk_literal, codes))}]"

    def compare(self, node, guarded: frozenset) -> tuple[str, int]:
        test = self.answered_test(node)
        if test is not None:
            return (f"answered({test[0]})", 8) if test[1] else (f"not answered({test[0]})", 3)
        op, left, right = node[1], node[2], node[3]
        if left[0] in ("num", "str") and right[0] == "ref":
            left, right, op = right, left, _FLIP[op]
        if right[0] in ("num", "str") and left[0] == "ref":
            name = self.name(left)
            value = self.code(name, right)
            text = f"{name} {'==' if op == '=' else op} {_sk_literal(value)}"
            if op == "!=" and name not in guarded:
                info = self.info(name)
                if info is not None and value in info.missing:  # true for a blank, too
                    return f"not answered({name}) or {text}", 1
                return f"not {name} == {_sk_literal(value)}", 3
            return text, 4
        lt, rt = self.number(left), self.number(right)
        sk_op = "==" if op == "=" else op
        text = f"{_wrap(lt, 5)} {sk_op} {_wrap(rt, 5)}"
        if op == "!=" and not (self._values(left) | self._values(right)) <= guarded:
            return f"not {_wrap(lt, 5)} == {_wrap(rt, 5)}", 3
        return text, 4

    def number(self, node) -> tuple[str, int]:
        tag = node[0]
        if tag in ("ref", "path"):
            return self.name(node), 8
        if tag == "num":
            return _sk_literal(node[1]), 8 if node[1] >= 0 else 7
        if tag == "str":
            return _sk_literal(node[1]), 8
        if tag == "neg":
            return f"-{_wrap(self.number(node[1]), 7)}", 7
        score = self.score(node)
        if score is not None:
            kind, items, count = score
            need = self.score_min.get(count, 1)
            return f"{kind}({', '.join(items)}, min={_number_text(need)})", 8
        if tag == "arith":
            if node[1] == "mod":
                raise XPathError("mod has no counterpart in the expression language")
            op = "/" if node[1] == "div" else node[1]
            p = _SK_PREC[op]
            return f"{_wrap(self.number(node[2]), p)} {op} {_wrap(self.number(node[3]), p + 1)}", p
        if tag == "call" and node[1] == "if" and _option_value(node):
            sel = node[2][0]
            q = self.name(sel[2][0])
            return f"{q}_{self.code(q, sel[2][1])}", 8
        if tag == "call" and node[1] in ("selected",):
            return self.call(node)
        raise XPathError(f"{xpath_text(node)} has no counterpart in the expression language")

    def score(self, node):
        """``(kind, items, count)`` when ``node`` is the XPath of a mean() or sum()."""
        if node[0] != "arith":
            return None
        if node[1] == "*" and node[3][0] == "num":
            inner = self.score(node[2])
            if inner is not None and inner[0] == "mean" and len(inner[1]) == node[3][1]:
                return "sum", inner[1], inner[2]
            return None
        if node[1] != "div":
            return None
        count, total = _count_terms(node[3]), _terms(node[2])
        if count is None or len(count) != len(total):
            return None
        items = []
        for valid, t in zip(count, total, strict=True):
            if valid is None:
                items.append(_wrap(self.number(t), 2))
            elif t[0] == "call" and t[1] == "if" and len(t[2]) == 3 and t[2][2] == ("num", 0) \
                    and xpath_text(t[2][0]) == xpath_text(valid):
                items.append(_wrap(self.number(t[2][1]), 2))
            else:
                return None
        return "mean", items, xpath_text(node[3])

    def code(self, name: str, node):
        """A constant as the code it stands for: '2' is the code 2 of a question with
        numeric codes; a number stays a number."""
        value = node[1]
        if node[0] == "str":
            info = self.info(name)
            if re.fullmatch(r"-?(0|[1-9]\d*)", value) and (info is None or not info.text):
                return int(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value


def _terms(node) -> list:
    """The terms of a sum ``a + b + c``."""
    if node[0] == "arith" and node[1] == "+":
        return [*_terms(node[2]), node[3]]
    return [node]


def _count_terms(node):
    """For the count of a mean() (``1 + if(valid, 1, 0) + ...``): each term's validity test
    (None for an item that is always valid); None for any other sum."""
    out = []
    for t in _terms(node):
        if t == ("num", 1):
            out.append(None)
        elif t[0] == "call" and t[1] == "if" and len(t[2]) == 3 \
                and t[2][1:] == [("num", 1), ("num", 0)] and not _option_value(t):
            out.append(t[2][0])
        else:
            return None
    return out if any(v is not None for v in out) else None


def _option_value(node) -> bool:
    """``if(selected(${q}, 'c'), 1, 0)``: the 0/1 column of a multi option."""
    args = node[2]
    return (len(args) == 3 and args[0][0] == "call" and args[0][1] == "selected"
            and len(args[0][2]) == 2 and args[0][2][0][0] == "ref"
            and args[1] == ("num", 1) and args[2] == ("num", 0))


def _divisors(node) -> set:
    out = set()
    if isinstance(node, tuple):
        if node[0] == "arith" and node[1] == "div":
            out.add(xpath_text(node[3]))
        for child in node[1:]:
            if isinstance(child, tuple):
                out |= _divisors(child)
            elif isinstance(child, list):
                for c in child:
                    out |= _divisors(c)
    return out


def _wrap(part: tuple[str, int], need: int) -> str:
    text, prec = part
    return f"({text})" if prec < need else text


def _sk_literal(value) -> str:
    if isinstance(value, str):
        return repr(value)
    return _number_text(value)
