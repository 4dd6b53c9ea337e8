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

from ._xpath_read import from_xpath, parse_xpath
from ._xpath_tree import (
    _FLIP,
    BLANK,
    FALSE,
    TRUE,
    XPathError,
    _and,
    _literal,
    _Name,
    _names,
    _number_text,
    _or,
    names_in,
    xpath_text,
)
from .core import Questionnaire
from .expressions import Expression, constant_value

__all__ = ["to_xpath", "calculation", "parse_xpath", "from_xpath", "xpath_text",
           "XPathError", "names_in"]


# -- surveykit -> XPath ----------------------------------------------------------------------
_OPS = {ast.Eq: "=", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_ARITH = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "div"}
_PY = {"=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
       "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


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
