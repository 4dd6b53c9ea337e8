"""Routing and derived variables in XLSForm's XPath, translated both ways.

XLSForm writes ``relevant``, ``calculation`` and ``constraint`` in XPath 1.0 with ``${name}``
references. :func:`to_xpath` and :func:`calculation` translate the surveykit expression
language (:mod:`surveykit.questionnaire.expressions`) into that XPath, keeping surveykit's
meaning of a missing answer; :func:`parse_xpath` reads the XPath subset that XLSForms use and
:func:`from_xpath` translates a ``relevant`` back into the expression language.

Missing answers differ between the two languages, and the translation makes up for it:

- in surveykit a comparison involving a missing answer (blank, or a declared missing code
  such as 98 "Don't know") is false, ``!=`` included; in XPath a blank answer is ``''``,
  which compares as NaN, so ``${q} != 1`` is *true* for a blank answer and ``${q} >= 8`` is
  true for 98. The XPath therefore carries guards: ``q != 1`` becomes
  ``${q} != '' and ${q} != 98 and ${q} != 1`` (only the guards a comparison needs are
  written, so ``q == 1`` stays ``${q} = 1``);
- arithmetic with a missing value and a division by zero are missing in surveykit; XPath
  gives NaN and Infinity, so divisions carry a ``!= 0`` guard and a ``calculate`` is wrapped
  in ``if(guards, value, '')``;
- ``mean(a, b, min=2)`` and ``sum(...)`` (the mean of the answered values, prorated) are
  written with ``if()`` sums and counts.

Reading back, :func:`from_xpath` drops the guards a surveykit comparison implies, so a
routing condition comes back as it was written (``x in [1, 2]`` is written as
``${x} = 1 or ${x} = 2`` and read back as ``x in [1, 2]``).

Examples
--------
>>> from surveykit.questionnaire import load_questionnaire
>>> q = load_questionnaire("questionnaires/smart_lock_customers.yaml")
>>> to_xpath("channel != 6", q)
"${channel} != '' and ${channel} != 6"
>>> to_xpath("installer in [1, 2, 4]", q)
'${installer} = 1 or ${installer} = 2 or ${installer} = 4'
>>> to_xpath("answered(purchase_factors) and not selected(purchase_factors, 99)", q)
"count-selected(${purchase_factors}) > 0 and not(selected(${purchase_factors}, '99'))"
>>> from_xpath(parse_xpath("${channel} != '' and ${channel} != 6"), q)
'channel != 6'
>>> from_xpath(parse_xpath("${installer} = 1 or ${installer} = 2"), q)
'installer in [1, 2]'
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

import numpy as np

from .core import Questionnaire
from .expressions import Expression, constant_value

__all__ = ["to_xpath", "calculation", "parse_xpath", "from_xpath", "xpath_text",
           "XPathError", "names_in"]


class XPathError(ValueError):
    """An expression that cannot be translated (the caller adds where it is)."""


# -- the XPath tree ------------------------------------------------------------------------
# Nodes are tuples:
#   ("or", [..]) ("and", [..]) ("cmp", op, l, r) ("arith", op, l, r) ("neg", x)
#   ("num", value) ("str", text) ("ref", name) ("path", text) ("call", name, [args])
TRUE = ("call", "true", [])
FALSE = ("call", "false", [])
BLANK = ("str", "")

_PREC = {"or": 1, "and": 2, "=": 3, "!=": 3, "<": 4, "<=": 4, ">": 4, ">=": 4,
         "+": 5, "-": 5, "*": 6, "div": 6, "mod": 6}


def _prec(node) -> int:
    tag = node[0]
    if tag in ("or", "and"):
        return _PREC[tag]
    if tag in ("cmp", "arith"):
        return _PREC[node[1]]
    if tag == "neg":
        return 7
    return 8


def xpath_text(node) -> str:
    """The XPath text of a tree (parentheses only where precedence needs them).

    Examples
    --------
    >>> xpath_text(("and", [("cmp", ">=", ("ref", "a"), ("num", 1)),
    ...                     ("or", [("cmp", "=", ("ref", "b"), ("num", 2)), TRUE])]))
    '${a} >= 1 and (${b} = 2 or true())'
    """
    def wrap(child, need: int) -> str:
        text = xpath_text(child)
        return f"({text})" if _prec(child) < need else text

    tag = node[0]
    if tag in ("or", "and"):
        need = _PREC[tag] + 1
        return f" {tag} ".join(wrap(c, need) for c in node[1])
    if tag == "cmp":
        return f"{wrap(node[2], 5)} {node[1]} {wrap(node[3], 5)}"
    if tag == "arith":
        p = _PREC[node[1]]
        return f"{wrap(node[2], p)} {node[1]} {wrap(node[3], p + 1)}"
    if tag == "neg":
        return f"-{wrap(node[1], 7)}"
    if tag == "num":
        return _number_text(node[1])
    if tag == "str":
        return _string_text(node[1])
    if tag == "ref":
        return f"${{{node[1]}}}"
    if tag == "path":
        return node[1]
    if tag == "call":
        return f"{node[1]}({', '.join(xpath_text(a) for a in node[2])})"
    raise XPathError(f"unknown XPath node {tag!r}")


def _number_text(value) -> str:
    """XPath has no exponent notation: ``1e-05`` is written ``0.00001``."""
    if isinstance(value, bool):
        raise XPathError("true/false is not a number")
    if isinstance(value, int | np.integer):
        return str(int(value))
    value = float(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return np.format_float_positional(value, trim="-")


def _string_text(text: str) -> str:
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    parts = text.split("'")
    return "concat(" + ", \"'\", ".join(f"'{p}'" for p in parts) + ")"


def _and(parts) -> tuple:
    """A conjunction, flattened and without repeated parts (``true()`` when empty)."""
    out, seen = [], set()
    for p in parts:
        for q in (p[1] if p[0] == "and" else [p]):
            key = xpath_text(q)
            if key not in seen and q != TRUE:
                seen.add(key)
                out.append(q)
    if any(q == FALSE for q in out):
        return FALSE
    return out[0] if len(out) == 1 else ("and", out) if out else TRUE


def _or(parts) -> tuple:
    out = []
    for p in parts:
        out.extend(p[1] if p[0] == "or" else [p])
    out = [p for p in out if p != FALSE]
    if any(p == TRUE for p in out):
        return TRUE
    return out[0] if len(out) == 1 else ("or", out) if out else FALSE


def _literal(value) -> tuple:
    return ("str", value) if isinstance(value, str) else ("num", value)


# -- surveykit -> XPath ----------------------------------------------------------------------
_OPS = {ast.Eq: "=", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_FLIP = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_ARITH = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "div"}
_PY = {"=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
       "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


@dataclass(frozen=True)
class _Name:
    """What the translation needs to know about a name read by an expression."""

    name: str
    kind: str  # a Variable kind, or a question type for question ids (multi, grid, rank)
    missing: tuple = ()  # declared missing codes
    text: bool = False  # compared as text
    question: str | None = None  # the multi/rank question of an option column
    code: object = None  # the option code of an option column
    items: tuple = ()  # a grid's item ids


def _names(q: Questionnaire) -> dict[str, _Name]:
    out: dict[str, _Name] = {}
    for v in q.variables().values():
        if v.kind == "multi_option" or v.kind == "rank_option":
            qid = v.question
            code = next(o.code for o in q.question(qid).options if f"{qid}_{o.code}" == v.name)
            out[v.name] = _Name(v.name, v.kind, question=qid, code=code)
        else:
            out[v.name] = _Name(v.name, v.kind, tuple(v.missing_codes), not v.numeric)
    for question in q.questions:
        if question.type in ("multi", "rank"):
            out[question.id] = _Name(question.id, question.type)
        elif question.type == "grid":
            out[question.id] = _Name(question.id, "grid",
                                     items=tuple(i.id for i in question.items))
    return out


def names_in(q: Questionnaire) -> dict:
    """The names an expression of ``q`` may read, as the translation sees them."""
    return _names(q)


class _ToXPath:
    def __init__(self, names: dict[str, _Name], text: str):
        self.names, self.text = names, text

    def fail(self, message: str) -> XPathError:
        return XPathError(f"{message} (in {self.text!r})")

    def info(self, name: str) -> _Name:
        info = self.names.get(name)
        if info is None:
            raise self.fail(f"{name!r} is not a question, item or derived variable of the form")
        if info.kind in ("id", "duration", "weight"):
            raise self.fail(f"{name!r} is not collected by the form")
        return info

    # conditions
    def condition(self, node) -> tuple:
        if isinstance(node, ast.BoolOp):
            parts = [self.condition(v) for v in node.values]
            return _and(parts) if isinstance(node.op, ast.And) else _or(parts)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            inner = self.condition(node.operand)
            return TRUE if inner == FALSE else FALSE if inner == TRUE else \
                ("call", "not", [inner])
        if isinstance(node, ast.Compare):
            parts, left = [], node.left
            for op, right in zip(node.ops, node.comparators, strict=True):
                parts.append(self.compare(left, op, right))
                left = right
            return _and(parts)
        if isinstance(node, ast.Call):
            return self.call(node)
        raise self.fail(f"{ast.dump(node)} is not a condition")

    def call(self, node: ast.Call) -> tuple:
        fname, name = node.func.id, node.args[0].id
        info = self.info(name)
        if fname == "selected":
            return ("call", "selected", [("ref", name),
                                         ("str", str(constant_value(node.args[1])))])
        return self.answered(info)

    def answered(self, info: _Name) -> tuple:
        if info.kind in ("multi", "rank"):
            return ("cmp", ">", ("call", "count-selected", [("ref", info.name)]), ("num", 0))
        if info.kind == "grid":
            return _or([("cmp", "!=", ("ref", i), BLANK) for i in info.items])
        if info.kind == "multi_option":
            return ("cmp", "!=", ("ref", info.question), BLANK)
        if info.kind == "rank_option":
            raise self.fail(f"the rank position {info.name!r} cannot be read in XLSForm; "
                            f"route on answered({info.question}) instead")
        if info.text:
            return ("cmp", "!=", ("call", "normalize-space", [("ref", info.name)]), BLANK)
        return ("cmp", "!=", ("ref", info.name), BLANK)

    def compare(self, left, op, right) -> tuple:
        if isinstance(op, ast.In | ast.NotIn):
            return self.membership(left, [constant_value(e) for e in right.elts],
                                   negate=isinstance(op, ast.NotIn))
        xop = _OPS[type(op)]
        lconst, rconst = _is_constant(left), _is_constant(right)
        if isinstance(left, ast.Name) and rconst:
            return self.name_constant(left.id, xop, constant_value(right))
        if isinstance(right, ast.Name) and lconst:
            return self.name_constant(right.id, _FLIP[xop], constant_value(left))
        lt, lg = self.operand(left, xop)
        rt, rg = self.operand(right, xop)
        for t in (lt, rt):
            if t[0] == "str" and xop not in ("=", "!="):
                raise self.fail(f"text {t[1]!r} can only be compared with == or != in XLSForm")
        return _and([*lg, *rg, ("cmp", xop, lt, rt)])

    def name_constant(self, name: str, op: str, value) -> tuple:
        """``name op constant`` with the guards its meaning needs, and no others."""
        info = self.info(name)
        if info.kind in ("multi_option", "rank_option"):
            t, g = self.operand(ast.Name(id=name), op)
            return _and([*g, ("cmp", op, t, _literal(value))])
        if isinstance(value, str) and op not in ("=", "!="):
            raise self.fail(f"text {value!r} can only be compared with == or != in XLSForm")
        if op == "=" and _is_missing(value, info):
            return FALSE  # a declared missing code is no answer: never equal to one
        ref = ("ref", name)
        guards = []
        if op == "!=":
            guards.append(("cmp", "!=", ref, BLANK))
        for m in info.missing:
            if op == "!=" or (_numeric(m) and _numeric(value) and _PY[op](m, value)):
                guards.append(("cmp", "!=", ref, _literal(m)))
        return _and([*guards, ("cmp", op, ref, _literal(value))])

    def membership(self, left, values: list, *, negate: bool) -> tuple:
        if not isinstance(left, ast.Name):
            t, g = self.operand(left, "=")
            if negate:
                return _and([*g, *(("cmp", "!=", t, _literal(v)) for v in values)])
            return _and([*g, _or([("cmp", "=", t, _literal(v)) for v in values])])
        info = self.info(left.id)
        if info.kind in ("multi_option", "rank_option"):
            t, g = self.operand(left, "=")
            tests = [("cmp", "!=" if negate else "=", t, _literal(v)) for v in values]
            return _and([*g, *tests]) if negate else _and([*g, _or(tests)])
        values = [v for v in values if not _is_missing(v, info)]
        ref = ("ref", left.id)
        if not negate:
            return _or([("cmp", "=", ref, _literal(v)) for v in values])
        guards = [("cmp", "!=", ref, BLANK)]
        guards += [("cmp", "!=", ref, _literal(m)) for m in info.missing if m not in values]
        return _and([*guards, *(("cmp", "!=", ref, _literal(v)) for v in values)])

    def operand(self, node, op: str) -> tuple[tuple, list]:
        """A comparison operand: (tree, guards that make it a valid value)."""
        if _is_constant(node):
            return _literal(constant_value(node)), []
        if isinstance(node, ast.Call) and node.func.id in ("answered", "selected"):
            return self.call(node), []
        if isinstance(node, ast.Name) and self.info(node.id).text:
            # text: a blank answer is '' (and '' = '' would be true in XPath)
            info, ref = self.info(node.id), ("ref", node.id)
            return ref, [("cmp", "!=", ref, BLANK),
                         *(("cmp", "!=", ref, _literal(m)) for m in info.missing)]
        return self.number(node)

    # numbers
    def number(self, node) -> tuple[tuple, list]:
        if isinstance(node, ast.Name):
            info = self.info(node.id)
            if info.kind == "multi_option":
                tree = ("call", "if", [("call", "selected", [("ref", info.question),
                                                              ("str", str(info.code))]),
                                       ("num", 1), ("num", 0)])
                return tree, [("cmp", "!=", ("ref", info.question), BLANK)]
            if info.kind == "rank_option":
                raise self.fail(f"the rank position {node.id!r} cannot be read in XLSForm "
                                "(the rank widget stores the order of all options)")
            if info.text:
                raise self.fail(f"{node.id!r} holds text; it cannot be used in arithmetic")
            ref = ("ref", node.id)
            return ref, [("cmp", "!=", ref, BLANK),
                         *(("cmp", "!=", ref, _literal(m)) for m in info.missing)]
        if _is_constant(node):
            return ("num", constant_value(node)), []
        if isinstance(node, ast.UnaryOp):
            t, g = self.number(node.operand)
            return (("neg", t) if isinstance(node.op, ast.USub) else t), g
        if isinstance(node, ast.BinOp):
            lt, lg = self.number(node.left)
            rt, rg = self.number(node.right)
            guards = lg + rg
            if isinstance(node.op, ast.Div):
                if rt[0] != "num":
                    guards.append(("cmp", "!=", rt, ("num", 0)))
                elif rt[1] == 0:
                    guards.append(FALSE)  # a division by zero is missing
            return ("arith", _ARITH[type(node.op)], lt, rt), guards
        if isinstance(node, ast.Call) and node.func.id in ("mean", "sum"):
            return self.score(node)
        raise self.fail(f"{ast.dump(node)} is not a number")

    def score(self, node: ast.Call) -> tuple[tuple, list]:
        """mean(a, b, ..., min=k) / sum(...): the mean of the valid values (times their
        number for sum), missing when fewer than k are valid."""
        parts = [self.number(a) for a in node.args]
        k = len(parts)
        need = next((kw.value.value for kw in node.keywords), k)
        count, total = [], []
        for t, g in parts:
            valid = _and(g)
            count.append(("num", 1) if valid == TRUE else ("call", "if", [valid, ("num", 1),
                                                                           ("num", 0)]))
            total.append(t if valid == TRUE else ("call", "if", [valid, t, ("num", 0)]))
        n = _sum(count)
        mean = ("arith", "div", _sum(total), n)
        if node.func.id == "sum":
            mean = ("arith", "*", mean, ("num", k))
        return mean, [("cmp", ">=", n, ("num", need))]


def _sum(terms: list) -> tuple:
    out = terms[0]
    for t in terms[1:]:
        out = ("arith", "+", out, t)
    return out


def _is_constant(node) -> bool:
    return isinstance(node, ast.Constant) or (
        isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd)
        and isinstance(node.operand, ast.Constant))


def _numeric(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _is_missing(value, info: _Name) -> bool:
    """True when ``value`` is one of the name's declared missing codes."""
    return any(isinstance(m, str) == isinstance(value, str) and m == value
               for m in info.missing)


def to_xpath(expression: str | Expression, q: Questionnaire, *, names=None) -> str:
    """The XPath ``relevant`` of a surveykit condition (``ask_if``, a rule's ``when``).

    Parameters
    ----------
    expression : str or Expression
        A condition in the surveykit expression language.
    q : Questionnaire
        Gives the kind and the missing codes of each name read.

    Returns
    -------
    str
        XPath with ``${name}`` references, true for the same respondents as the expression.

    Raises
    ------
    XPathError
        The expression reads something the form does not collect (a rank position, a role
        column) or orders text.

    Examples
    --------
    >>> from surveykit.questionnaire import load_questionnaire
    >>> q = load_questionnaire("questionnaires/pc_customers.yaml")
    >>> to_xpath("sat_cpu >= 8", q)  # 98 "Don't know" is no answer in surveykit
    '${sat_cpu} != 98 and ${sat_cpu} >= 8'
    """
    expr = expression if isinstance(expression, Expression) else Expression.parse(expression)
    tree = _ToXPath(names or _names(q), expr.text).condition(expr.tree.body)
    return xpath_text(tree)


def calculation(derived, q: Questionnaire, *, names=None) -> str | None:
    """The XPath ``calculation`` of a derived variable, or None when XLSForm cannot compute
    it (quantiles depend on the whole sample, not on one respondent).

    Bands, cuts and rules become ``if()`` chains that give ``''`` where surveykit gives a
    missing value; compute and construct scores become arithmetic with guards.

    Examples
    --------
    >>> from surveykit.questionnaire import load_questionnaire
    >>> q = load_questionnaire("questionnaires/pc_customers.yaml")
    >>> for part in calculation(q.derived[0], q).split(", if("):  # age_band
    ...     print(part)
    if(${age} >= 18 and ${age} <= 24, 1
    ${age} >= 25 and ${age} <= 40, 2
    ${age} >= 41, 3, '')))
    """
    names = names or _names(q)
    d = derived
    if d.quantiles is not None:
        return None
    if d.compute is not None or d.construct_ is not None:
        text = d.compute if d.compute is not None else _construct_text(d, q)
        expr = Expression.parse(text, number=True)
        t, g = _ToXPath(names, text).number(expr.tree.body)
        tree = t if not g else ("call", "if", [_and(g), t, BLANK])
        return xpath_text(tree)
    tr = _ToXPath(names, d.id)
    branches = []
    if d.rules is not None:
        for rule in d.rules:
            expr = Expression.parse(rule.when)
            tr.text = rule.when
            branches.append((tr.condition(expr.tree.body), rule.code))
    elif d.bands is not None:
        for b in d.bands:
            parts = []
            if b.min is not None:
                parts.append(tr.name_constant(d.from_, ">=", b.min))
            if b.max is not None:
                parts.append(tr.name_constant(d.from_, "<=", b.max))
            branches.append((_and(parts) if parts else _valid(tr, d.from_), b.code))
    else:  # cuts
        for k, cut in enumerate(d.cuts, start=1):
            branches.append((tr.name_constant(d.from_, "<", cut), k))
        branches.append((_valid(tr, d.from_), len(d.cuts) + 1))
    tree = BLANK
    for cond, code in reversed(branches):
        tree = ("call", "if", [cond, _literal(code), tree])
    return xpath_text(tree)


def _valid(tr: _ToXPath, name: str) -> tuple:
    info = tr.info(name)
    ref = ("ref", name)
    return _and([("cmp", "!=", ref, BLANK), *(("cmp", "!=", ref, _literal(m))
                                                for m in info.missing)])


def _construct_text(d, q: Questionnaire) -> str:
    """A construct score in the expression language: mean of the items, reverse keys as
    ``low + high - x``, at least ``min_items`` answered; 0-100 when ``scale_100``."""
    c = next(c for c in q.constructs if c.id == d.construct_)
    items, rev = q.construct_items(c.id)
    parts = []
    for item in items:
        if item in rev:
            s = q.scale_of(item)
            parts.append(f"({_number_text(s.low + s.high)} - {item})")
        else:
            parts.append(item)
    text = f"mean({', '.join(parts)}, min={c.required_items})"
    if d.scale_100:
        low, high = q._construct_range(c.id)
        text = f"({text} - {_number_text(low)}) / {_number_text(high - low)} * 100"
    return text


# -- reading XPath ---------------------------------------------------------------------------
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
