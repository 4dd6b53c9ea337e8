"""The safe expression language used by routing (``ask_if``) and segment rules (``when``).

Expressions are parsed with :mod:`ast` and only a whitelist of nodes is accepted; nothing is
ever passed to ``eval`` or ``exec``. The language:

- names of questions, grid items and derived variables: ``age``, ``sat_cpu``;
- numbers and strings: ``3``, ``2.5``, ``'tier 1'``;
- comparisons, chainable: ``==  !=  <  <=  >  >=``, and ``in`` / ``not in`` with a list or tuple
  of constants: ``region in [1, 2]``;
- ``and``, ``or``, ``not`` and parentheses;
- two functions: ``answered(q)`` (the respondent gave any answer to ``q``, don't-know
  included) and ``selected(q, code)`` (option ``code`` of multi-response question ``q`` is
  ticked).

Missing values: a comparison involving a missing answer (not asked, skipped, or a declared
missing code such as "don't know") is false, ``!=`` included; ``not`` negates the result.
Use ``answered(q)`` to say what should happen to missing answers explicitly.

Examples
--------
>>> import pandas as pd
>>> expr = Expression.parse("age >= 25 and region in [1, 2]")
>>> sorted(expr.names)
['age', 'region']
>>> df = pd.DataFrame({"age": [20, 30, None], "region": [1, 2, 1]})
>>> expr.evaluate(lambda name: df[name], lambda name: df[name].notna()).tolist()
[False, True, False]
>>> Expression.parse("__import__('os')")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
surveykit.errors.ExpressionError: function '__import__' is not allowed; only answered, selected ...
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import ExpressionError, Problem

FUNCTIONS = {"answered": 1, "selected": 2}
MAX_LENGTH = 2000  # characters; routing conditions are short, and this bounds parsing work

_COMPARE = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_ALLOWED_OPS = "==, !=, <, <=, >, >=, in, not in, and, or, not"


@dataclass(frozen=True)
class Expression:
    """A parsed, validated expression.

    ``names`` holds every variable the expression reads (including the first argument of
    ``answered``/``selected``); ``values`` the names whose values are compared (each must be
    one data column); ``selected`` the ``(question, code)`` pairs it tests.
    """

    text: str
    tree: ast.Expression = field(repr=False, compare=False)
    names: frozenset[str] = frozenset()
    selected: frozenset[tuple[str, object]] = frozenset()
    values: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, text: str, *, where: str = "", line: int | None = None,
              file: str | None = None) -> Expression:
        """Parse and validate ``text``; raise :class:`ExpressionError` naming the offending part.

        ``where`` (e.g. ``questions[4].ask_if (question 'q5')``), ``line`` and ``file`` locate
        the expression in its questionnaire for the error message.

        Examples
        --------
        >>> Expression.parse("cust_type == 1 and not answered(age)").names == {"cust_type", "age"}
        True
        """
        def fail(message: str) -> ExpressionError:
            return ExpressionError(Problem(f"{message} in {text!r}", path=where, line=line,
                                           file=file))

        if not isinstance(text, str) or not text.strip():
            raise ExpressionError(Problem("expression is empty; write a condition such as "
                                          "'q1 == 1'", path=where, line=line, file=file))
        if len(text) > MAX_LENGTH:
            raise ExpressionError(Problem(
                f"expression is {len(text)} characters long (at most {MAX_LENGTH}); split the "
                "condition with a derived variable", path=where, line=line, file=file))
        try:
            tree = ast.parse(text.strip(), mode="eval")
            v = _Validator(text, fail)
            v.condition(tree.body)
        except SyntaxError as exc:
            raise fail(f"syntax error at column {exc.offset}: {exc.msg}") from None
        except RecursionError:
            raise fail("expression is nested too deeply") from None
        return cls(text=text, tree=tree, names=frozenset(v.names),
                   selected=frozenset(v.selected), values=frozenset(v.values))

    def evaluate(self, value: Callable[[str], pd.Series],
                 answered: Callable[[str], pd.Series],
                 selected: Callable[[str, object], pd.Series] | None = None) -> pd.Series:
        """Evaluate to a boolean Series.

        ``value(name)`` returns the column's valid values (missing codes as NaN),
        ``answered(name)`` a boolean Series, ``selected(q, code)`` a boolean Series.
        """
        result = _eval(self.tree.body, value, answered, selected)
        if isinstance(result, pd.Series):
            return result.fillna(False).astype(bool)
        raise ExpressionError(Problem(f"expression {self.text!r} does not read any variable; "
                                      "a condition must refer to a question"))


def _describe(node: ast.AST, text: str) -> str:
    seg = ast.get_source_segment(text.strip(), node)
    return repr(seg) if seg else type(node).__name__


_ALLOWED = (f"allowed: question ids, numbers, quoted text, {_ALLOWED_OPS}, "
            "answered(q), selected(q, code)")


class _Validator:
    """Walk the tree and accept only the whitelisted shapes, collecting what is read."""

    def __init__(self, text: str, fail):
        self.text, self.fail = text, fail
        self.names: set[str] = set()
        self.values: set[str] = set()
        self.selected: set[tuple[str, object]] = set()

    def show(self, node) -> str:
        return _describe(node, self.text)

    def condition(self, node) -> None:
        if isinstance(node, ast.BoolOp):
            for v in node.values:
                self.condition(v)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            self.condition(node.operand)
        elif isinstance(node, ast.Compare):
            self.compare(node)
        elif isinstance(node, ast.Call):
            self.call(node)
        elif isinstance(node, ast.Name | ast.Constant):
            shown = self.show(node).strip("'")
            raise self.fail(f"{self.show(node)} alone is not a condition; compare it, e.g. "
                            f"'{shown} == 1', or use answered({shown})")
        else:
            raise self.fail(f"{self.show(node)} ({type(node).__name__}) is not allowed "
                            f"({_ALLOWED})")

    def compare(self, node: ast.Compare) -> None:
        has_in = any(isinstance(op, ast.In | ast.NotIn) for op in node.ops)
        if has_in and len(node.ops) > 1:
            raise self.fail(f"{self.show(node)} chains 'in' with another comparison; "
                            "combine them with 'and'")
        reads = False
        for op in node.ops:
            if not isinstance(op, ast.In | ast.NotIn) and type(op) not in _COMPARE:
                raise self.fail(f"operator {_OP_TEXT.get(type(op), type(op).__name__)!r} is "
                                f"not allowed (allowed: {_ALLOWED_OPS})")
        if has_in:
            right = node.comparators[0]
            if not isinstance(right, ast.List | ast.Tuple):
                raise self.fail(f"'in' needs a list of values on its right, such as [1, 2], "
                                f"got {self.show(right)}")
            if not right.elts:
                raise self.fail("'in' needs at least one value in its list")
            for elt in right.elts:
                _constant(elt, self.text, self.fail)
            reads = self.value(node.left)
        else:
            for operand in (node.left, *node.comparators):
                reads = self.value(operand) or reads
        if not reads:
            raise self.fail(f"{self.show(node)} compares constants only; a condition must "
                            "refer to a question")

    def value(self, node) -> bool:
        """Validate an operand; return True when it reads a variable."""
        if isinstance(node, ast.Name):
            self.names.add(node.id)
            self.values.add(node.id)
            return True
        if isinstance(node, ast.Constant | ast.UnaryOp):
            _constant(node, self.text, self.fail)
            return False
        if isinstance(node, ast.Call):
            self.call(node)
            return True
        if isinstance(node, ast.List | ast.Tuple):
            raise self.fail(f"a list ({self.show(node)}) is only allowed on the right of "
                            "'in' / 'not in'")
        raise self.fail(f"{self.show(node)} ({type(node).__name__}) is not allowed as a "
                        "value; use a question id, a number or quoted text")

    def call(self, node: ast.Call) -> None:
        func = node.func
        if not isinstance(func, ast.Name):
            raise self.fail(f"call of {self.show(func)} is not allowed; "
                            f"only {', '.join(FUNCTIONS)} may be called")
        if func.id not in FUNCTIONS:
            raise self.fail(f"function {func.id!r} is not allowed; "
                            f"only {', '.join(FUNCTIONS)} may be called")
        if node.keywords or len(node.args) != FUNCTIONS[func.id] or any(
                isinstance(a, ast.Starred) for a in node.args):
            raise self.fail(f"{func.id}() takes {FUNCTIONS[func.id]} positional argument(s), "
                            f"e.g. {_EXAMPLE_CALL[func.id]}")
        if not isinstance(node.args[0], ast.Name):
            raise self.fail(f"{func.id}() needs a question id as its first argument, "
                            f"got {self.show(node.args[0])}")
        self.names.add(node.args[0].id)
        if func.id == "selected":
            self.selected.add((node.args[0].id, _constant(node.args[1], self.text, self.fail)))


_EXAMPLE_CALL = {"answered": "answered(q5)", "selected": "selected(q5, 3)"}
_OP_TEXT = {ast.Is: "is", ast.IsNot: "is not"}


def _constant(node, text, fail):
    """The value of a number or string constant (``-3`` included); fail otherwise."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        inner = node.operand
        if not (isinstance(inner, ast.Constant) and isinstance(inner.value, int | float)
                and not isinstance(inner.value, bool)):
            raise fail(f"{_describe(node, text)} is not allowed here; use a number or a "
                       "quoted string")
        return -inner.value if isinstance(node.op, ast.USub) else inner.value
    if (isinstance(node, ast.Constant) and isinstance(node.value, int | float | str)
            and not isinstance(node.value, bool)):
        return node.value
    raise fail(f"{_describe(node, text)} is not allowed here; use a number or a quoted string")


def constant_value(node):
    """The Python value of a validated constant node (number, string or negative number)."""
    if isinstance(node, ast.UnaryOp):
        inner = node.operand.value
        return -inner if isinstance(node.op, ast.USub) else inner
    return node.value


def _eval(node, value, answered, selected):
    if isinstance(node, ast.BoolOp):
        parts = [_as_bool(_eval(v, value, answered, selected)) for v in node.values]
        out = parts[0]
        for p in parts[1:]:
            out = (out & p) if isinstance(node.op, ast.And) else (out | p)
        return out
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return ~_as_bool(_eval(node.operand, value, answered, selected))
    if isinstance(node, ast.Compare):
        left = _eval(node.left, value, answered, selected)
        op = node.ops[0]
        if isinstance(op, ast.In | ast.NotIn):  # never chained (refused at parse)
            part = _isin(left, [constant_value(e) for e in node.comparators[0].elts])
            return (_present(left) & ~part) if isinstance(op, ast.NotIn) else part
        result = None
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = _eval(right_node, value, answered, selected)
            part = _compare(_COMPARE[type(op)], left, right)
            result = part if result is None else (result & part)
            left = right
        return result
    if isinstance(node, ast.Call):
        name = node.args[0].id
        if node.func.id == "answered":
            return answered(name).astype(bool)
        if selected is None:
            raise ExpressionError(f"selected() cannot be evaluated here (question {name!r})")
        return selected(name, constant_value(node.args[1])).astype(bool)
    if isinstance(node, ast.Name):
        return value(node.id)
    if isinstance(node, ast.Constant | ast.UnaryOp):
        return constant_value(node)
    raise ExpressionError(f"cannot evaluate {type(node).__name__}")  # unreachable after parse


def _present(x):
    return x.notna() if isinstance(x, pd.Series) else (x is not None)


def _as_bool(x):
    if isinstance(x, pd.Series):
        return x.fillna(False).astype(bool)
    return bool(x)


def _compare(op, left, right):
    if isinstance(left, pd.Series) or isinstance(right, pd.Series):
        ok = _present(left) & _present(right)
        with np.errstate(invalid="ignore"):
            try:
                res = op(left, right)
            except TypeError:
                # comparing text with numbers: never true, like a missing value
                base = left if isinstance(left, pd.Series) else right
                return pd.Series(False, index=base.index)
        return (res.fillna(False).astype(bool) if isinstance(res, pd.Series) else res) & ok
    return op(left, right)


def _isin(left, choices):
    if isinstance(left, pd.Series):
        return left.isin(choices) & left.notna()
    return left in choices
