"""Whole-array helpers of the response check (and of :func:`clean`): who the routing asks,
whose routing reads an invalid value, and code lookups."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ExpressionError
from ..questionnaire import Expression, Questionnaire


def routing_mask(q: Questionnaire, qu, df: pd.DataFrame, invalid: dict[str, np.ndarray]):
    """``(asked, undetermined)`` boolean arrays for question ``qu`` on ``df``.

    ``undetermined`` marks respondents for whom a column read by ``ask_if`` is in
    ``invalid``. Returns ``(None, None)`` when the routing reads a column not in ``df``.
    """
    asked, read = _asked(q, qu, df)
    return (None, None) if asked is None else (asked, _undetermined(read, invalid, len(df)))


def _asked(q: Questionnaire, qu, df: pd.DataFrame) -> tuple[np.ndarray | None, list[str]]:
    """Who was asked ``qu`` by its routing, and the columns the routing reads; ``(None,
    [])`` when it reads a column not in ``df``."""
    if not qu.ask_if:
        return np.ones(len(df), dtype=bool), []
    variables = q.variables()
    cols = []
    for name in Expression.parse(qu.ask_if).names:
        cols += [name] if name in variables else q.columns_of(name)
    if not cols or any(c not in df.columns for c in cols):
        return None, []
    try:
        return q.asked(df, qu.id).to_numpy(dtype=bool), cols
    except (KeyError, ExpressionError):
        return None, []


def _undetermined(read: list[str], invalid: dict[str, np.ndarray], n: int) -> np.ndarray:
    """Respondents whose routing reads an invalid value."""
    undetermined = np.zeros(n, dtype=bool)
    for c in read:
        if c in invalid:
            undetermined |= invalid[c]
    return undetermined


def _isin(x: np.ndarray, codes) -> np.ndarray:
    """``np.isin(x, codes)`` for a float array; small whole-number codes (the usual scale)
    by one table lookup instead of a comparison per code."""
    codes = np.asarray(codes, dtype=float)
    if not len(codes):
        return np.zeros(len(x), dtype=bool)
    lo, hi = (codes.min(), codes.max()) if np.isfinite(codes).all() else (np.nan, np.nan)
    if len(codes) < 3 or not (hi - lo < 4096 and np.array_equal(codes, np.round(codes))):
        return np.isin(x, codes)
    span = int(hi - lo)
    table = np.zeros(span + 2, dtype=bool)           # the last entry: "not a code"
    table[(codes - lo).astype(np.int64)] = True
    with np.errstate(invalid="ignore"):              # NaN, inf, huge: any integer, not whole
        k = x.astype(np.int64)
    whole = k == x
    k -= int(lo)
    np.clip(k, -1, span + 1, out=k)                  # outside the codes: "not a code" (-1 too)
    hit = table[k]
    hit &= whole
    return hit


def _is_number_dtype(dtype) -> bool:
    """A dtype that holds only numbers (bool is not one: True is no answer code)."""
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def _any(masks: list[np.ndarray]) -> np.ndarray:
    out = masks[0].copy()
    for m in masks[1:]:
        out |= m
    return out
