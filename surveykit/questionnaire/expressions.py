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
>>> Expression.parse("__import__('os')")
Traceback (most recent call last):
...
surveykit.errors.ExpressionError: function '__import__' is not allowed in "__import__('os')"; ...
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
    ``answered``/``selected``); ``selected`` the ``(question, code)`` pairs it tests.
    """

    text: str
    tree: ast.Expression = field(repr=False, compare=False)
    names: frozenset[str] = frozenset()
    selected: frozenset[tuple[str, object]] = frozenset()

    @classmethod
    def parse(cls, text: str, *, where: str = "", line: int | None = None,
              file: str | None = None) -> Expression:
        """Parse and validate ``text``; raise :class:`ExpressionError` naming the offending part.

        ``where`` (e.g. ``questions[4].ask_if (question 'q5')``), ``line`` and ``file`` locate
        the expression in its questionnaire for the error message.
        """
        def fail(message: str) -> ExpressionError:
            return ExpressionError(Problem(f"{message} in {text!r}", path=where, line=line, file=file))

        if not isinstance(text, str) or not text.strip():
            raise ExpressionError(Problem("expression is empty; write a condition such as "
                                          "'q1 == 1'", path=where, line=line, file=file))
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as exc:
            raise fail(f"syntax error at column {exc.offset}: {exc.msg}") from None
        names: set[str] = set()
        selected: set[tuple[str, object]] = set()
        _validate(tree.body, text, names, selected, fail)
        return cls(text=text, tree=tree, names=frozenset(names), selected=frozenset(selected))

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


def _validate(node, text, names, selected, fail) -> None:
    """Walk the tree; accept only the whitelisted shapes."""
    if isinstance(node, ast.BoolOp):
        for v in node.values:
            _validate(v, text, names, selected, fail)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        _validate(node.operand, text, names, selected, fail)
    elif isinstance(node, ast.Compare):
        operands = [node.left, *node.comparators]
        for op, right in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, ast.In | ast.NotIn):
                if not isinstance(right, ast.List | ast.Tuple):
                    raise fail(f"'in' needs a list of values on its right, got {_describe(right, text)}")
                for elt in right.elts:
                    _constant(elt, text, fail)
            elif type(op) not in _COMPARE:
                raise fail(f"operator {type(op).__name__} is not allowed (allowed: {_ALLOWED_OPS})")
        for operand in operands:
            if isinstance(operand, ast.List | ast.Tuple):
                continue
            _validate_value(operand, text, names, selected, fail)
    elif isinstance(node, ast.Call):
        _validate_call(node, text, names, selected, fail)
    elif isinstance(node, ast.Name | ast.Constant):
        raise fail(f"{_describe(node, text)} alone is not a condition; compare it, e.g. "
                   f"'{_describe(node, text).strip(chr(39))} == 1', or use answered(...)")
    else:
        raise fail(f"{_describe(node, text)} ({type(node).__name__}) is not allowed "
                   f"(allowed: names, constants, {_ALLOWED_OPS}, answered(q), selected(q, code))")


def _validate_value(node, text, names, selected, fail) -> None:
    if isinstance(node, ast.Name):
        names.add(node.id)
    elif isinstance(node, ast.Constant):
        _constant(node, text, fail)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        _constant(node, text, fail)
    elif isinstance(node, ast.Call):
        _validate_call(node, text, names, selected, fail)
    else:
        raise fail(f"{_describe(node, text)} ({type(node).__name__}) is not allowed as a value; "
                   "use a question id or a constant")


def _validate_call(node: ast.Call, text, names, selected, fail) -> None:
    func = node.func
    if not isinstance(func, ast.Name):
        raise fail(f"call of {_describe(func, text)} is not allowed; "
                   f"only {', '.join(FUNCTIONS)} may be called")
    if func.id not in FUNCTIONS:
        raise fail(f"function {func.id!r} is not allowed; only {', '.join(FUNCTIONS)} may be called")
    if node.keywords or len(node.args) != FUNCTIONS[func.id]:
        raise fail(f"{func.id}() takes {FUNCTIONS[func.id]} positional argument(s)")
    if not isinstance(node.args[0], ast.Name):
        raise fail(f"{func.id}() needs a question id as its first argument, "
                   f"got {_describe(node.args[0], text)}")
    names.add(node.args[0].id)
    if func.id == "selected":
        selected.add((node.args[0].id, _constant(node.args[1], text, fail)))


def _constant(node, text, fail):
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_constant(node.operand, text, fail)
    if (isinstance(node, ast.Constant) and isinstance(node.value, int | float | str)
            and not isinstance(node.value, bool)):
        return node.value
    raise fail(f"{_describe(node, text)} is not allowed here; use a number or a quoted string")


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
        result = None
        left = _eval(node.left, value, answered, selected)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, ast.In | ast.NotIn):
                choices = [_eval(e, value, answered, selected) for e in right_node.elts]
                part = _isin(left, choices)
                if isinstance(op, ast.NotIn):
                    part = _present(left) & ~part
            else:
                right = _eval(right_node, value, answered, selected)
                part = _compare(_COMPARE[type(op)], left, right)
            result = part if result is None else (result & part)
            if not isinstance(op, ast.In | ast.NotIn):
                left = right
        return result
    if isinstance(node, ast.Call):
        name = node.args[0].id
        if node.func.id == "answered":
            return answered(name).astype(bool)
        if selected is None:
            raise ExpressionError(f"selected() cannot be evaluated here (question {name!r})")
        return selected(name, node.args[1].value if isinstance(node.args[1], ast.Constant)
                        else _eval(node.args[1], value, answered, selected)).astype(bool)
    if isinstance(node, ast.Name):
        return value(node.id)
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_eval(node.operand, value, answered, selected)
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
