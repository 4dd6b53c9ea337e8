"""The safe expression language of routing (``ask_if``), segment rules (``when``) and
computed derived variables (``compute``).

Expressions are parsed with :mod:`ast` and only a whitelist of nodes is accepted; nothing is
ever passed to ``eval`` or ``exec``. The language:

- names of questions, grid items and derived variables: ``age``, ``sat_cpu``;
- numbers and strings: ``3``, ``2.5``, ``'tier 1'``; a number has at most 30 digits and is
  at most 1e15 in absolute value;
- arithmetic on numeric values: ``+  -  *  /``, unary minus and parentheses:
  ``(overall - 1) / 9 * 100``;
- two scores over listed values: ``mean(a, b, c, min=2)`` (the mean of the answered ones)
  and ``sum(a, b, c, min=2)`` (their sum prorated to all the values listed: the mean times
  their number, so a respondent with a missing item is not scored low); missing when fewer
  than ``min`` are answered (default: all of them). :func:`item_score` is the definition;
- comparisons, chainable: ``==  !=  <  <=  >  >=``, and ``in`` / ``not in`` with a list or tuple
  of constants: ``region in [1, 2]``; either side may be arithmetic: ``PERV1 + PERV2 >= 14``;
- ``and``, ``or``, ``not`` and parentheses;
- two tests: ``answered(q)`` (the respondent gave any answer to ``q``, don't-know
  included) and ``selected(q, code)`` (option ``code`` of multi-response question ``q`` is
  ticked).

A condition (``ask_if``, ``when``; :meth:`Expression.evaluate`) is true or false; a number
expression (``compute``, parsed with ``number=True``; :meth:`Expression.compute`) gives a
number.

Missing values: a comparison involving a missing answer (not asked, skipped, or a declared
missing code such as "don't know") is false, ``!=`` included; ``not`` negates the result.
Use ``answered(q)`` to say what should happen to missing answers explicitly. Arithmetic with
a missing value is missing, and so is a division by zero (never infinity, never an error):
:meth:`Expression.division_by_zero` says for whom a division by zero happened.

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
surveykit.errors.ExpressionError: function '__import__' is not allowed; only answered, ...
>>> score = Expression.parse("(a + b) / c", number=True)
>>> d = pd.DataFrame({"a": [1, 2, None], "b": [3, 4, 5], "c": [2, 0, 1]})
>>> score.compute(lambda name: d[name]).tolist()
[2.0, nan, nan]
>>> score.division_by_zero(lambda name: d[name]).tolist()
[False, True, False]
>>> Expression.parse("mean(a, b, c, min=2)", number=True).compute(lambda n: d[n]).tolist()
[2.0, 2.0, 3.0]
>>> Expression.parse("a + b >= 5").evaluate(lambda n: d[n], lambda n: d[n].notna()).tolist()
[False, True, False]
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from ..errors import ExpressionError, Problem

FUNCTIONS = {"answered": 1, "selected": 2}
SCORES = ("sum", "mean")  # sum(a, b, ..., min=k) and mean(a, b, ..., min=k)
MAX_LENGTH = 2000  # characters; routing conditions are short, and this bounds parsing work
MAX_NUMBER = 1e15  # largest absolute value of a number written in an expression
MAX_DIGITS = 30

_COMPARE = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_ALLOWED_OPS = "==, !=, <, <=, >, >=, in, not in, and, or, not"
_ARITHMETIC = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
               ast.Div: operator.truediv}
_SYMBOL = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**",
           ast.Mod: "%", ast.FloorDiv: "//", ast.MatMult: "@", ast.BitAnd: "&",
           ast.BitOr: "|", ast.BitXor: "^", ast.LShift: "<<", ast.RShift: ">>"}
_OP_HINT = {ast.Pow: "; write a * a for a square", ast.BitAnd: "; use 'and'",
            ast.BitOr: "; use 'or'"}


@dataclass(frozen=True)
class Expression:
    """A parsed, validated expression.

    ``names`` holds every variable the expression reads (including the first argument of
    ``answered``/``selected``); ``values`` the names whose values are compared or computed
    with (each must be one data column); ``numbers`` the names used in arithmetic (each must
    be numeric); ``selected`` the ``(question, code)`` pairs it tests; ``number`` is True for
    a number expression (``compute``), False for a condition.
    """

    text: str
    tree: ast.Expression = field(repr=False, compare=False)
    names: frozenset[str] = frozenset()
    selected: frozenset[tuple[str, object]] = frozenset()
    values: frozenset[str] = frozenset()
    numbers: frozenset[str] = frozenset()
    number: bool = False

    @classmethod
    def parse(cls, text: str, *, number: bool = False, where: str = "",
              line: int | None = None, file: str | None = None) -> Expression:
        """Parse and validate ``text``; raise :class:`ExpressionError` naming the offending part.

        ``number=False`` (routing, rules) wants a condition, ``number=True`` (``compute``)
        an arithmetic expression giving a number. ``where`` (e.g. ``questions[4].ask_if
        (question 'q5')``), ``line`` and ``file`` locate the expression in its
        questionnaire for the error message.

        Examples
        --------
        >>> Expression.parse("cust_type == 1 and not answered(age)").names == {"cust_type", "age"}
        True
        >>> sorted(Expression.parse("(a + b) / 2", number=True).numbers)
        ['a', 'b']
        >>> Expression.parse("a * 1e400 > 1")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        surveykit.errors.ExpressionError: number 1e400 is too large (at most 1e15 ...
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
            if number:
                v.computed(tree.body)
            else:
                v.condition(tree.body)
        except SyntaxError as exc:
            raise fail(f"syntax error at column {exc.offset}: {exc.msg}") from None
        except RecursionError:
            raise fail("expression is nested too deeply") from None
        return cls(text=text, tree=tree, names=frozenset(v.names),
                   selected=frozenset(v.selected), values=frozenset(v.values),
                   numbers=frozenset(v.numbers), number=number)

    def evaluate(self, value: Callable[[str], pd.Series],
                 answered: Callable[[str], pd.Series],
                 selected: Callable[[str, object], pd.Series] | None = None) -> pd.Series:
        """Evaluate to a boolean Series.

        ``value(name)`` returns the column's valid values (missing codes as NaN),
        ``answered(name)`` a boolean Series, ``selected(q, code)`` a boolean Series.
        """
        if self.number:
            raise ExpressionError(Problem(f"{self.text!r} is a number expression; use "
                                          "compute(), not evaluate()"))
        result = _Evaluator(value, answered, selected).run(self.tree.body)
        if isinstance(result, pd.Series):
            return result.fillna(False).astype(bool)
        raise ExpressionError(Problem(f"expression {self.text!r} does not read any variable; "
                                      "a condition must refer to a question"))

    def compute(self, value: Callable[[str], pd.Series]) -> pd.Series:
        """Evaluate a number expression (parsed with ``number=True``) to a float Series.

        ``value(name)`` returns the column's valid values (missing codes as NaN). Missing
        inputs and division by zero give NaN, never infinity or an exception.
        """
        return self._computed(value)[0]

    def division_by_zero(self, value: Callable[[str], pd.Series]) -> pd.Series:
        """Boolean Series: True where a division by zero happened (its dividend present)."""
        return self._computed(value)[1]

    def _computed(self, value) -> tuple[pd.Series, pd.Series]:
        if not self.number:
            raise ExpressionError(Problem(f"{self.text!r} is a condition; use evaluate(), or "
                                          "parse it with number=True"))
        run = _Evaluator(value)
        result = run.number(self.tree.body)
        if not isinstance(result, pd.Series):  # refused at parse
            raise ExpressionError(Problem(f"expression {self.text!r} reads no variable"))
        zero = run.zero if run.zero is not None else False
        if not isinstance(zero, pd.Series):
            zero = pd.Series(bool(zero), index=result.index)
        return result, zero.fillna(False).astype(bool)


def item_score(items, *, min_valid: int | None = None,
               method: Literal["mean", "sum"] = "mean") -> np.ndarray:
    """The score of each row of an item matrix, with missing items defined explicitly.

    The one definition of a score over items: ``mean()`` and ``sum()`` in expressions,
    construct scores (``Questionnaire.construct_score``) and
    ``surveykit.measurement.construct_scores`` all call it.

    Parameters
    ----------
    items : array-like, shape (n, k)
        One row per respondent, one column per item; NaN is a missing answer.
    min_valid : int, optional
        The fewest answered items a row needs to be scored (default: all ``k``).
    method : {"mean", "sum"}
        ``mean``: the mean of the answered items; ``sum``: that mean times ``k`` (the sum
        prorated to all items; the plain sum when every item is answered).

    Returns
    -------
    ndarray of float
        NaN where fewer than ``min_valid`` items are answered.

    Examples
    --------
    >>> X = np.array([[1.0, 2.0, 3.0], [4.0, np.nan, 2.0], [5.0, np.nan, np.nan]])
    >>> item_score(X, min_valid=2).tolist()
    [2.0, 3.0, nan]
    >>> item_score(X, min_valid=2, method="sum").tolist()
    [6.0, 9.0, nan]
    """
    X = np.asarray(items, dtype=float)
    if X.ndim != 2:
        raise ValueError(f"items must be a 2-D matrix (respondents x items), got {X.ndim}-D")
    k = X.shape[1]
    need = k if min_valid is None else int(min_valid)
    if not 1 <= need <= k:
        raise ValueError(f"min_valid={min_valid!r} must be between 1 and the {k} items")
    if method not in ("mean", "sum"):
        raise ValueError(f"method={method!r}; use 'mean' or 'sum'")
    answered = (~np.isnan(X)).sum(axis=1)
    total = np.where(np.isnan(X), 0.0, X).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = total / answered
    score = mean * k if method == "sum" else mean
    return np.where(answered >= need, score, np.nan)


def reverse_keyed(x, low: float, high: float):
    """A reverse-keyed item re-coded onto its scale: ``low + high - x``.

    Examples
    --------
    >>> reverse_keyed(np.array([1.0, 2.0, np.nan]), 1, 5).tolist()
    [5.0, 4.0, nan]
    """
    return low + high - x


def _describe(node: ast.AST, text: str) -> str:
    seg = ast.get_source_segment(text.strip(), node)
    return repr(seg) if seg else type(node).__name__


_ALLOWED = (f"allowed: question ids, numbers, quoted text, {_ALLOWED_OPS}, + - * /, "
            "answered(q), selected(q, code), sum(...), mean(...)")
_CALLABLE = ", ".join([*FUNCTIONS, *SCORES])


class _Validator:
    """Walk the tree and accept only the whitelisted shapes, collecting what is read."""

    def __init__(self, text: str, fail):
        self.text, self.fail = text, fail
        self.names: set[str] = set()
        self.values: set[str] = set()
        self.numbers: set[str] = set()
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
        elif _is_score(node) or isinstance(node, ast.BinOp) or (
                isinstance(node, ast.UnaryOp) and not isinstance(node.operand, ast.Constant)):
            shown = self.show(node).strip("'")
            raise self.fail(f"{self.show(node)} is a number, not a condition; compare it, e.g. "
                            f"'{shown} >= 1'")
        elif isinstance(node, ast.Call):
            self.call(node)
        elif isinstance(node, ast.Name | ast.Constant | ast.UnaryOp):
            shown = self.show(node).strip("'")
            raise self.fail(f"{self.show(node)} alone is not a condition; compare it, e.g. "
                            f"'{shown} == 1', or use answered({shown})")
        else:
            raise self.fail(f"{self.show(node)} ({type(node).__name__}) is not allowed "
                            f"({_ALLOWED})")

    def computed(self, node) -> None:
        """A number expression (``compute``): arithmetic that reads at least one variable."""
        if isinstance(node, ast.Compare | ast.BoolOp) or (
                isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)) or (
                isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in FUNCTIONS):
            raise self.fail(f"{self.show(node)} is a condition (true or false), not a number; "
                            "compute takes arithmetic such as '(a + b) / 2' (use rules for "
                            "groups defined by conditions)")
        if not self.number(node):
            raise self.fail("the expression reads no variable; compute from questions or "
                            "earlier derived variables, e.g. '(overall - 1) / 9 * 100'")

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
        """Validate a comparison operand; return True when it reads a variable."""
        if isinstance(node, ast.Name):
            self.names.add(node.id)
            self.values.add(node.id)
            return True
        if isinstance(node, ast.Constant):
            _constant(node, self.text, self.fail)
            return False
        if isinstance(node, ast.Call) and not _is_score(node):
            self.call(node)
            return True
        if isinstance(node, ast.List | ast.Tuple):
            raise self.fail(f"a list ({self.show(node)}) is only allowed on the right of "
                            "'in' / 'not in'")
        if isinstance(node, ast.BinOp | ast.UnaryOp | ast.Call):
            return self.number(node)
        raise self.fail(f"{self.show(node)} ({type(node).__name__}) is not allowed as a "
                        "value; use a question id, a number, quoted text or arithmetic")

    def number(self, node) -> bool:
        """Validate an arithmetic operand; return True when it reads a variable."""
        if isinstance(node, ast.Name):
            self.names.add(node.id)
            self.values.add(node.id)
            self.numbers.add(node.id)
            return True
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str):
                raise self.fail(f"text {node.value!r} cannot be used in arithmetic")
            _constant(node, self.text, self.fail)
            return False
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            return self.number(node.operand)
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _ARITHMETIC:
                symbol = _SYMBOL.get(type(node.op), type(node.op).__name__)
                raise self.fail(f"operator {symbol!r} is not allowed (arithmetic allows "
                                f"+ - * /){_OP_HINT.get(type(node.op), '')}")
            left = self.number(node.left)
            return self.number(node.right) or left
        if _is_score(node):
            self.score(node)
            return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in FUNCTIONS:
            raise self.fail(f"{self.show(node)} is true or false, not a number; it cannot be "
                            "used in arithmetic")
        if isinstance(node, ast.Call):
            self.call(node)  # refuses the call, naming the functions allowed
        if isinstance(node, ast.Compare | ast.BoolOp | ast.UnaryOp):
            raise self.fail(f"{self.show(node)} is a condition (true or false); it cannot be "
                            "used in arithmetic")
        raise self.fail(f"{self.show(node)} ({type(node).__name__}) is not allowed in "
                        "arithmetic; use question ids, numbers, + - * /, sum() and mean()")

    def score(self, node: ast.Call) -> None:
        """``sum(a, b, ..., min=k)`` / ``mean(...)``: values to score, and the fewest needed."""
        name = node.func.id
        example = f"e.g. {name}(a, b, c, min=2)"
        if not node.args or any(isinstance(a, ast.Starred) for a in node.args):
            raise self.fail(f"{name}() takes the values to score, {example}")
        for kw in node.keywords:
            if kw.arg != "min":
                raise self.fail(f"{name}() takes only min= (the fewest answered values "
                                f"needed), got {kw.arg or '**'}=; {example}")
        reads = False
        for a in node.args:
            reads = self.number(a) or reads
        if not reads:
            raise self.fail(f"{self.show(node)} scores constants only; list questions, "
                            f"{example}")
        k = len(node.args)
        for kw in node.keywords:
            v = kw.value
            if not (isinstance(v, ast.Constant) and isinstance(v.value, int)
                    and not isinstance(v.value, bool)):
                raise self.fail(f"{name}(): min must be a whole number from 1 to {k}, got "
                                f"{self.show(v)}")
            if not 1 <= v.value <= k:
                raise self.fail(f"{name}(): min={v.value} must be between 1 and the {k} "
                                f"value{'s' if k > 1 else ''} listed")

    def call(self, node: ast.Call) -> None:
        func = node.func
        if not isinstance(func, ast.Name):
            raise self.fail(f"call of {self.show(func)} is not allowed; "
                            f"only {_CALLABLE} may be called")
        if func.id not in FUNCTIONS:
            raise self.fail(f"function {func.id!r} is not allowed; "
                            f"only {_CALLABLE} may be called")
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


def _is_score(node) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in SCORES)


def _constant(node, text, fail):
    """The value of a number or string constant (``-3`` included); fail otherwise."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        inner = node.operand
        if not (isinstance(inner, ast.Constant) and isinstance(inner.value, int | float)
                and not isinstance(inner.value, bool)):
            raise fail(f"{_describe(node, text)} is not allowed here; use a number or a "
                       "quoted string")
        _bounded(inner, text, fail)
        return -inner.value if isinstance(node.op, ast.USub) else inner.value
    if (isinstance(node, ast.Constant) and isinstance(node.value, int | float | str)
            and not isinstance(node.value, bool)):
        if not isinstance(node.value, str):
            _bounded(node, text, fail)
        return node.value
    raise fail(f"{_describe(node, text)} is not allowed here; use a number or a quoted string")


def _bounded(node: ast.Constant, text: str, fail) -> None:
    """Refuse numbers beyond ``MAX_NUMBER`` or with more than ``MAX_DIGITS`` digits."""
    written = ast.get_source_segment(text.strip(), node) or repr(node.value)
    shown = written if len(written) <= 40 else f"{written[:20]}...{written[-8:]}"
    digits = sum(ch.isdigit() for ch in written.lower().split("e")[0])
    if digits > MAX_DIGITS:
        raise fail(f"number {shown} has {digits} digits (at most {MAX_DIGITS})")
    value = node.value
    if not (abs(value) <= MAX_NUMBER):  # also refuses inf (1e400) and nan
        raise fail(f"number {shown} is too large (at most 1e15 in absolute value)")


def constant_value(node):
    """The Python value of a validated constant node (number, string or negative number)."""
    if isinstance(node, ast.UnaryOp):
        inner = node.operand.value
        return -inner if isinstance(node.op, ast.USub) else inner
    return node.value


class _Evaluator:
    """Evaluate a validated tree; ``zero`` collects where a division by zero happened."""

    def __init__(self, value, answered=None, selected=None):
        self.value, self.answered, self.selected = value, answered, selected
        self.zero = None

    def run(self, node):
        if isinstance(node, ast.BoolOp):
            parts = [_as_bool(self.run(v)) for v in node.values]
            out = parts[0]
            for p in parts[1:]:
                out = (out & p) if isinstance(node.op, ast.And) else (out | p)
            return out
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return ~_as_bool(self.run(node.operand))
        if isinstance(node, ast.Compare):
            left = self.run(node.left)
            op = node.ops[0]
            if isinstance(op, ast.In | ast.NotIn):  # never chained (refused at parse)
                part = _isin(left, [constant_value(e) for e in node.comparators[0].elts])
                return (_present(left) & ~part) if isinstance(op, ast.NotIn) else part
            result = None
            for op, right_node in zip(node.ops, node.comparators, strict=True):
                right = self.run(right_node)
                part = _compare(_COMPARE[type(op)], left, right)
                result = part if result is None else (result & part)
                left = right
            return result
        if isinstance(node, ast.Call) and node.func.id in FUNCTIONS:
            name = node.args[0].id
            if node.func.id == "answered":
                return self.answered(name).astype(bool)
            if self.selected is None:
                raise ExpressionError(f"selected() cannot be evaluated here (question {name!r})")
            return self.selected(name, constant_value(node.args[1])).astype(bool)
        if isinstance(node, ast.Name):
            return self.value(node.id)
        if isinstance(node, ast.Constant) or (isinstance(node, ast.UnaryOp)
                                              and isinstance(node.operand, ast.Constant)):
            return constant_value(node)
        return self.number(node)

    def number(self, node):
        """An arithmetic node as floats (a Series, or a scalar for constants)."""
        if isinstance(node, ast.BinOp):
            left, right = self.number(node.left), self.number(node.right)
            with np.errstate(all="ignore"):
                out = _ARITHMETIC[type(node.op)](left, right)
            if isinstance(node.op, ast.Div):
                zero = (right == 0) & _present(left)
                self.zero = zero if self.zero is None else (self.zero | zero)
            return _finite(out)
        if isinstance(node, ast.UnaryOp):
            x = self.number(node.operand)
            return -x if isinstance(node.op, ast.USub) else x
        if _is_score(node):
            return self.score(node)
        x = self.run(node)
        if isinstance(x, pd.Series):
            return pd.to_numeric(x, errors="coerce").astype(float)
        return np.float64(x)

    def score(self, node: ast.Call) -> pd.Series:
        parts = [self.number(a) for a in node.args]
        index = next(p.index for p in parts if isinstance(p, pd.Series))
        X = np.column_stack([p.to_numpy(dtype=float) if isinstance(p, pd.Series)
                             else np.full(len(index), float(p)) for p in parts])
        need = next((kw.value.value for kw in node.keywords), None)
        return pd.Series(item_score(X, min_valid=need, method=node.func.id), index=index)


def _finite(x):
    """Infinity (overflow, a division by zero) becomes NaN."""
    if isinstance(x, pd.Series):
        return x.where(np.isfinite(x))
    return x if np.isfinite(x) else np.float64(np.nan)


def _present(x):
    if isinstance(x, pd.Series):
        return x.notna()
    return x is not None and not (isinstance(x, float) and np.isnan(x))


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
