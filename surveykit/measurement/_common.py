"""Shared pieces of :mod:`surveykit.measurement`: data preparation under a declared
missing-data policy, weighted correlations, questionnaire look-ups, factor extraction."""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize

from .._util import as_list, check_columns, numeric_array, resolve_weights
from ..errors import MeasurementError, SurveykitWarning
from ..estimates import effective_n
from ..questionnaire.expressions import reverse_keyed

Missing = Literal["listwise", "pairwise"]
ScaleRange = tuple[float, float] | Mapping[str, tuple[float, float]] | None
_ROTATIONS = {"none": None, "varimax": "varimax", "oblimin": "oblimin", "promax": "promax"}
_OBLIQUE = {"oblimin", "promax"}
_PSI_LOWER = 0.005          # psych's and factor_analyzer's lower bound for uniquenesses


class HeywoodWarning(SurveykitWarning):
    """A communality >= 1 or a uniqueness <= 0 (an improper solution)."""


class ItemWarning(SurveykitWarning):
    """An item behaves oddly (negative item-rest correlation, non-positive-definite matrix)."""


class LatentCorrelationWarning(SurveykitWarning):
    """A CFA's factor correlation matrix is not positive definite (two factors correlate
    beyond what the others allow: they are not distinct as modelled); lavaan warns too."""


class _Result:
    """Notebook display shared by the result objects: a title and ``to_frame()`` as HTML."""

    _title = "result"

    def to_frame(self) -> pd.DataFrame:  # pragma: no cover - overridden
        raise NotImplementedError

    def summary(self) -> str:
        return f"{self._title}\n{self.to_frame().to_string()}"

    def _repr_html_(self) -> str:
        return f"<h4>{self._title}</h4>" + self.to_frame().to_html(float_format="%.3f")

    def __repr__(self) -> str:
        return self.summary()


def _scale_bounds(item: str, scale_range: ScaleRange) -> tuple[float, float]:
    if scale_range is None:
        raise MeasurementError(
            f"item {item!r} is reverse keyed but no scale_range was given; pass "
            f"scale_range=(min, max) (or a dict per item) so it can be re-coded as min + max - x")
    if isinstance(scale_range, Mapping):
        if item not in scale_range:
            raise MeasurementError(f"scale_range has no entry for reverse-keyed item {item!r}; "
                                   f"add {item!r}: (min, max)")
        lo, hi = scale_range[item]
    else:
        lo, hi = scale_range
    lo, hi = float(lo), float(hi)
    if not lo < hi:
        raise MeasurementError(f"scale_range for {item!r} must be (min, max) with min < max, "
                               f"got {(lo, hi)!r}")
    return lo, hi


def _item_matrix(df: pd.DataFrame, items, *, reverse=None, scale_range: ScaleRange = None,
                 min_items: int = 2, what: str = "items") -> tuple[list[str], np.ndarray]:
    """Validated float matrix of ``items`` (reverse keyed), NaN for missing."""
    if not isinstance(df, pd.DataFrame):
        raise MeasurementError(f"expected a pandas DataFrame, got {type(df).__name__}")
    items = as_list(items)
    if len(set(items)) != len(items):
        dup = sorted({c for c in items if items.count(c) > 1})
        raise MeasurementError(f"{what} listed twice: {', '.join(map(repr, dup))}")
    if len(items) < min_items:
        raise MeasurementError(
            f"{what} {items!r} has {len(items)} item(s); at least {min_items} are needed "
            f"(a one-item construct has no reliability or factor structure)")
    check_columns(df, items, error=MeasurementError, what="item")
    reverse = as_list(reverse)
    unknown = [c for c in reverse if c not in items]
    if unknown:
        raise MeasurementError(f"reverse-keyed item(s) {', '.join(map(repr, unknown))} are not "
                               f"among the {what} {items!r}")
    cols = []
    for c in items:
        x = numeric_array(df, c, error=MeasurementError, what="item")
        obs = x[~np.isnan(x)]
        if obs.size == 0:
            raise MeasurementError(f"item {c!r} has no non-missing values; drop it from the list")
        if np.ptp(obs) == 0:
            raise MeasurementError(f"item {c!r} is constant (every answer is {obs[0]:g}); it "
                                   f"carries no information: drop it from the list")
        if c in reverse:
            lo, hi = _scale_bounds(c, scale_range)
            if obs.min() < lo or obs.max() > hi:
                raise MeasurementError(
                    f"item {c!r} has values outside its scale_range {(lo, hi)} (observed "
                    f"{obs.min():g}..{obs.max():g}); fix the range or clean the item")
            x = reverse_keyed(x, lo, hi)
        cols.append(x)
    return items, np.column_stack(cols)


def _weighted_moments(X: np.ndarray, w: np.ndarray, missing: str):
    """Weighted covariance (divisor sum w), correlation, n and Kish n_eff.

    ``listwise``: complete rows only. ``pairwise``: every entry from the rows where both
    items are present (means and variances within the pair, as R's ``cor(use="pairwise")``).
    Returns ``cov, corr, n, n_eff, rows`` (``rows`` = boolean mask of rows used, listwise
    only; ``None`` for pairwise).
    """
    if missing not in ("listwise", "pairwise"):
        raise MeasurementError(f"missing={missing!r}; use 'listwise' or 'pairwise' "
                               f"(missing values are never imputed)")
    obs = ~np.isnan(X) & (w > 0)[:, None]
    if missing == "listwise":
        rows = obs.all(axis=1)
        n = int(rows.sum())
        if n < 3:
            raise MeasurementError(f"only {n} complete row(s) with positive weight; listwise "
                                   f"deletion leaves too little data (try missing='pairwise')")
        Xr, wr = X[rows], w[rows]
        m = wr @ Xr / wr.sum()
        D = Xr - m
        cov = (D * wr[:, None]).T @ D / wr.sum()
        sd = np.sqrt(np.diag(cov))
        return cov, cov / np.outer(sd, sd), n, effective_n(wr), rows
    M = obs.astype(float)
    X0 = np.where(obs, X, 0.0)
    Mw = M * w[:, None]
    Sw = Mw.T @ M                                 # sum of w over rows where j and k present
    cnt = M.T @ M
    Sw2 = (M * (w ** 2)[:, None]).T @ M
    if (cnt < 3).any():
        j, k = np.argwhere(cnt < 3)[0]
        raise MeasurementError(f"items {j} and {k} are answered together by fewer than 3 "
                               f"respondents; pairwise correlations are not possible")
    Sx = (X0 * w[:, None]).T @ M                  # [j, k]: sum w x_j over rows with j and k
    Sxx = (X0 ** 2 * w[:, None]).T @ M
    Sxy = (X0 * w[:, None]).T @ X0
    mj = Sx / Sw                                  # mean of j within pair (j, k)
    vj = Sxx / Sw - mj ** 2
    cov = Sxy / Sw - mj * mj.T
    vj = np.maximum(vj, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = cov / np.sqrt(vj * vj.T)
    np.fill_diagonal(corr, 1.0)
    cov_out = cov.copy()                          # diagonal = variance from every answer
    np.fill_diagonal(cov_out, np.diag(vj))
    neff = float(np.min(Sw ** 2 / Sw2))
    return cov_out, corr, int(cnt.min()), neff, None


def _prepare(df, items, *, weights, missing, reverse, scale_range, min_items=2, what="items"):
    items, X = _item_matrix(df, items, reverse=reverse, scale_range=scale_range,
                            min_items=min_items, what=what)
    w = resolve_weights(df, weights, error=MeasurementError)
    cov, corr, n, neff, rows = _weighted_moments(X, w, missing)
    if not np.isfinite(corr).all():
        raise MeasurementError("a correlation could not be computed (an item is constant "
                               "within the rows it shares with another); check the items")
    return items, X, w, cov, corr, n, neff, rows


def _check_pd(R: np.ndarray, items: list[str], context: str) -> None:
    ev = np.linalg.eigvalsh(R)
    if ev.min() < 1e-10:
        # name the items in the near-dependency (largest weights of the smallest eigenvector)
        vals, vecs = np.linalg.eigh(R)
        v = np.abs(vecs[:, 0])
        names = [items[i] for i in np.argsort(-v) if v[i] > 0.1][:6]
        raise MeasurementError(
            f"the correlation matrix for {context} is singular or not positive definite "
            f"(smallest eigenvalue {ev.min():.2e}); items {', '.join(map(repr, names))} are "
            f"(almost) linearly dependent: drop one, or use missing='listwise'")


def _is_questionnaire(obj) -> bool:
    return hasattr(obj, "construct_items") and hasattr(obj, "constructs")


def from_questionnaire(questionnaire, constructs: Sequence[str] | None = None) -> dict:
    """What a questionnaire declares about its constructs, as keyword arguments.

    Returns ``{"model": {id: items}, "reverse": [...], "scale_range": {item: (low, high)},
    "min_items": {id: n}, "labels": {id: label}}`` for the ``constructs`` named (default:
    all). Reverse keys come from the construct and from ``reverse: true`` grid items; scale
    ranges from each item's scale.
    """
    ids = [c.id for c in questionnaire.constructs]
    if not ids:
        raise MeasurementError(f"questionnaire {questionnaire.id!r} declares no constructs")
    wanted = ids if constructs is None else as_list(constructs)
    unknown = [c for c in wanted if c not in ids]
    if unknown:
        raise MeasurementError(f"construct(s) {', '.join(map(repr, unknown))} are not in "
                               f"questionnaire {questionnaire.id!r}; it has {ids}")
    model, reverse, ranges, min_items, labels = {}, [], {}, {}, {}
    for c in questionnaire.constructs:
        if c.id not in wanted:
            continue
        items, rev = questionnaire.construct_items(c.id)
        model[c.id] = items
        reverse += [i for i in rev if i not in reverse]
        min_items[c.id] = c.required_items
        labels[c.id] = c.label
        for i in items:
            sc = questionnaire.scale_of(i)
            if sc is not None:
                ranges[i] = (sc.low, sc.high)
    return {"model": model, "reverse": reverse, "scale_range": ranges or None,
            "min_items": min_items, "labels": labels}


def weighted_corr(df: pd.DataFrame, items: Sequence[str], *, weights=None,
                  missing: Missing = "pairwise", reverse=None, scale_range: ScaleRange = None,
                  cov: bool = False) -> pd.DataFrame:
    """Weighted Pearson correlation (or covariance) matrix of ``items``.

    Parameters
    ----------
    df : DataFrame
        One row per respondent.
    items : list of str
        Item columns (numeric codes; NaN = missing).
    weights : None, str or array-like
        Respondent weights.
    missing : {"pairwise", "listwise"}
        Missing-data policy; values are never imputed.
    reverse, scale_range
        Reverse-keyed items and the scale's ``(min, max)`` for re-coding.
    cov : bool
        Return the covariance matrix (divisor = sum of weights) instead.

    Returns
    -------
    DataFrame
        Square matrix indexed by item. Unweighted, it equals R's ``cor(x, use=...)``;
        weighted, R's ``cov.wt(x, wt, cor=TRUE)``.

    Examples
    --------
    >>> d = pd.DataFrame({"a": [1, 2, 3, 4], "b": [1, 3, 2, 4]})
    >>> float(weighted_corr(d, ["a", "b"]).loc["a", "b"])
    0.8
    """
    items, _, _, C, R, *_ = _prepare(df, items, weights=weights, missing=missing,
                                     reverse=reverse, scale_range=scale_range)
    return pd.DataFrame(C if cov else R, index=items, columns=items)


def _std(C: np.ndarray) -> np.ndarray:
    sd = np.sqrt(np.diag(C))
    return C / np.outer(sd, sd)


def _minres(R: np.ndarray, n_factors: int, method: str = "minres") -> np.ndarray:
    """Unrotated loadings by factor_analyzer (minres / ml) on a correlation matrix."""
    from factor_analyzer import FactorAnalyzer

    fa = FactorAnalyzer(n_factors=n_factors, rotation=None, method=method,
                        is_corr_matrix=True, use_smc=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fa.fit(R.copy())
    L = np.asarray(fa.loadings_, dtype=float)
    return L * np.where(L.sum(axis=0) < 0, -1.0, 1.0)


def _one_factor_minres(R: np.ndarray) -> np.ndarray:
    """One-factor minres loadings with an analytic gradient (fast path for parallel analysis).

    The objective is factor_analyzer's (and psych's) minres criterion as a function of the
    uniquenesses ``psi``: the sum of squared eigenvalues of ``R - diag(psi)`` beyond the
    first, whose gradient is ``-2 sum_i lambda_i v_ij^2``; bounded L-BFGS-B from the SMC
    start, 0.005 <= psi <= 1. Same solution as factor_analyzer (to ~1e-7), ~15x faster.
    """
    p = R.shape[0]
    try:
        start = np.clip(1.0 / np.diag(np.linalg.inv(R)), _PSI_LOWER, 1.0)
    except np.linalg.LinAlgError:
        start = np.full(p, 0.5)

    def f(psi):
        Rp = R.copy()
        np.fill_diagonal(Rp, 1.0 - psi)
        ev, V = np.linalg.eigh(Rp)
        rest, Vr = ev[:-1], V[:, :-1]
        return float(rest @ rest), -2.0 * (Vr ** 2) @ rest

    res = optimize.minimize(f, start, jac=True, method="L-BFGS-B",
                            bounds=[(_PSI_LOWER, 1.0)] * p)
    Rp = R.copy()
    np.fill_diagonal(Rp, 1.0 - res.x)
    ev, V = np.linalg.eigh(Rp)
    lam = V[:, -1] * math.sqrt(max(ev[-1], 0.0))
    return (lam * (1 if lam.sum() >= 0 else -1))[:, None]


def _one_thread():
    """Single-threaded BLAS for the many tiny matrices of a simulation (threads only cost)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return contextlib.nullcontext()
    return threadpool_limits(1)
