"""Key-driver analysis: relative importance, regression, importance-performance, loyalty link.

Relative importance comes from the (weighted) correlation matrix of outcome and drivers:

* **Shapley / LMG** (``method="shapley"``): the R-squared of every subset of drivers is
  computed once, from the correlation matrix, by sweeping one driver at a time along a
  subset tree (each subset costs one rank-one update; results are cached by bitmask), and
  each driver gets its average marginal contribution. Exact up to ``max_exact`` (20)
  drivers; above that the result switches to Johnson's relative weights and says so.
* **Johnson's relative weights** (``method="relative_weights"``): linear outcomes from the
  correlation matrix; binary and ordinal outcomes by (weighted) logistic / proportional
  odds fits on the orthogonalised drivers (Tonidandel & LeBreton, 2010).

Rows with a missing outcome or driver are dropped (listwise; the base is reported).
Drivers are never dropped: a constant or collinear driver is an error that names it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ._util import as_list, check_columns, resolve_weights
from .errors import DriverAnalysisError, SurveykitWarning
from .estimates import effective_n
from .measurement import _one_thread

__all__ = [
    "CollinearityWarning", "DriverMethodWarning",
    "subset_r2", "shapley_from_r2", "shapley_from_corr", "relative_weights_from_corr",
    "key_drivers", "shapley", "relative_weights", "regression",
    "importance_performance", "loyalty_link", "DriverResult", "IPAResult", "QUADRANTS",
]

TOTAL = "Total"
QUADRANTS = {
    (True, False): "act here",            # high importance, low performance
    (True, True): "keep up the good work",
    (False, False): "low priority",
    (False, True): "possible overkill",
}


class CollinearityWarning(SurveykitWarning):
    """A driver's variance inflation factor is 5 or more."""


class DriverMethodWarning(SurveykitWarning):
    """The importance method was changed (e.g. too many drivers for exact Shapley)."""


# --------------------------------------------------------------------------------------------
# core algebra on correlation matrices
# --------------------------------------------------------------------------------------------

def subset_r2(corr: np.ndarray) -> np.ndarray:
    """R-squared of every subset of drivers from a correlation (or covariance) matrix.

    ``corr`` is ``(p + 1) x (p + 1)`` with the outcome LAST. Returns an array of length
    ``2**p`` whose entry ``mask`` is the R-squared of the drivers whose bits are set in
    ``mask`` (bit ``j`` = driver ``j``). Each subset is reached from its parent (the subset
    without its highest driver) by one sweep, vectorised over all parents with the same
    highest driver, so the cost is ``O(2**p * p)`` small updates and never a refit.

    Examples
    --------
    >>> r = np.array([[1, .3, .5], [.3, 1, .4], [.5, .4, 1]])
    >>> np.round(subset_r2(r), 4).tolist()
    [0.0, 0.25, 0.16, 0.3187]
    """
    C = np.asarray(corr, dtype=float)
    p = C.shape[0] - 1
    vy = C[p, p]
    r2 = np.zeros(1 << p)
    # states[m]: subsets whose highest driver is m; residual cross-products of drivers > m
    # and the outcome given the subset, as a batch (B, d, d) with d = p - m.
    pending: list[list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = [[] for _ in range(p)]

    def expand(mats: np.ndarray, masks: np.ndarray, base: np.ndarray, first: int) -> None:
        d = mats.shape[1]                              # local index a <-> driver first + a
        for a in range(d - 1):
            j = first + a
            piv = mats[:, a, a]
            if np.any(piv <= 1e-12 * C[j, j]):
                raise DriverAnalysisError(f"driver {j} is a linear combination of others")
            cy = mats[:, a, d - 1]
            child_r2 = base + cy * cy / piv / vy
            child_masks = masks | (1 << j)
            r2[child_masks] = child_r2
            if j == p - 1:
                continue
            col = mats[:, a + 1:, a]
            sub = mats[:, a + 1:, a + 1:] - col[:, :, None] * col[:, None, :] / piv[:, None,
                                                                                    None]
            pending[j].append((sub, child_masks, child_r2))

    expand(C[None, :, :], np.zeros(1, dtype=np.int64), np.zeros(1), 0)
    for m in range(p - 1):
        if not pending[m]:
            continue
        mats = np.concatenate([x[0] for x in pending[m]])
        masks = np.concatenate([x[1] for x in pending[m]])
        base = np.concatenate([x[2] for x in pending[m]])
        pending[m] = []
        expand(mats, masks, base, m + 1)
    return r2


def shapley_from_r2(r2: np.ndarray) -> np.ndarray:
    """Shapley values (LMG) of each driver from the all-subsets R-squared array."""
    r2 = np.asarray(r2, dtype=float)
    p = int(round(math.log2(len(r2))))
    masks = np.arange(1 << p, dtype=np.int64)
    size = np.zeros(1 << p, dtype=np.int64)
    for j in range(p):
        size += (masks >> j) & 1
    # weight of a subset S (not containing j) of size k: k! (p-k-1)! / p!
    wk = np.array([math.factorial(k) * math.factorial(p - k - 1) / math.factorial(p)
                   for k in range(p)])
    out = np.empty(p)
    for j in range(p):
        without = masks[((masks >> j) & 1) == 0]
        out[j] = np.dot(wk[size[without]], r2[without | (1 << j)] - r2[without])
    return out


def shapley_from_corr(corr: np.ndarray) -> np.ndarray:
    """Exact Shapley (LMG) decomposition of R-squared; outcome in the last row/column.

    Examples
    --------
    >>> r = np.array([[1, .3, .5], [.3, 1, .4], [.5, .4, 1]])
    >>> np.round(shapley_from_corr(r), 4).tolist()
    [0.2043, 0.1143]
    """
    return shapley_from_r2(subset_r2(corr))


def _lambda_half(Rxx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ev, V = np.linalg.eigh(Rxx)
    ev = np.maximum(ev, 1e-300)
    return (V * np.sqrt(ev)) @ V.T, (V / np.sqrt(ev)) @ V.T


def relative_weights_from_corr(corr: np.ndarray) -> np.ndarray:
    """Johnson's (2000) relative weights; outcome in the last row/column. Sums to R-squared.

    Examples
    --------
    >>> r = np.array([[1, .3, .5], [.3, 1, .4], [.5, .4, 1]])
    >>> round(float(relative_weights_from_corr(r).sum()), 4)
    0.3187
    """
    C = np.asarray(corr, dtype=float)
    p = C.shape[0] - 1
    lam, lam_inv = _lambda_half(C[:p, :p])
    beta = lam_inv @ C[:p, p]
    return (lam ** 2) @ (beta ** 2)


# --------------------------------------------------------------------------------------------
# data preparation
# --------------------------------------------------------------------------------------------

def _num(df: pd.DataFrame, col: str) -> np.ndarray:
    s = df[col]
    if not pd.api.types.is_numeric_dtype(s) and not s.isna().all():
        v = pd.to_numeric(s, errors="coerce")
        if v.notna().sum() < s.notna().sum():
            raise DriverAnalysisError(f"column {col!r} holds non-numeric values (e.g. "
                                      f"{s[v.isna() & s.notna()].iloc[0]!r}); recode it first")
        s = v
    x = s.to_numpy(dtype=float, na_value=np.nan).copy()
    x[~np.isfinite(x)] = np.nan
    return x


def _validate(df, outcome, drivers, by):
    if not isinstance(df, pd.DataFrame):
        raise DriverAnalysisError(f"expected a pandas DataFrame, got {type(df).__name__}")
    if not isinstance(outcome, str):
        raise DriverAnalysisError(f"outcome must be one column name, got {outcome!r}")
    drivers = as_list(drivers)
    if not drivers:
        raise DriverAnalysisError("no drivers given; pass a list of attribute columns")
    dup = sorted({d for d in drivers if drivers.count(d) > 1})
    if dup:
        raise DriverAnalysisError(f"driver(s) listed twice: {', '.join(map(repr, dup))}")
    if outcome in drivers:
        raise DriverAnalysisError(f"the outcome {outcome!r} is also listed as a driver")
    check_columns(df, [outcome, *drivers], error=DriverAnalysisError)
    if by is not None:
        check_columns(df, [by], error=DriverAnalysisError, what="by column")
    for c in [outcome, *drivers]:
        if df[c].isna().all():
            raise DriverAnalysisError(f"column {c!r} has no non-missing values; it cannot be "
                                      f"a {'outcome' if c == outcome else 'driver'}")
    return drivers


@dataclass
class _Block:
    """Complete-case data of one group."""

    label: object
    X: np.ndarray
    y: np.ndarray
    w: np.ndarray
    n_dropped: int
    group: np.ndarray | None = None          # total only: segment index per row (-1: none)


def _blocks(df, outcome, drivers, weights, by) -> tuple[list[_Block], _Block]:
    X = np.column_stack([_num(df, c) for c in drivers])
    y = _num(df, outcome)
    w = resolve_weights(df, weights, error=DriverAnalysisError)
    ok = np.isfinite(y) & np.isfinite(X).all(axis=1) & (w > 0)
    total = _Block(TOTAL, X[ok], y[ok], w[ok], int((~ok).sum()),
                   np.full(int(ok.sum()), -1))
    groups = []
    if by is not None:
        g = df[by].to_numpy()
        labels = pd.unique(df[by].dropna())
        try:
            labels = sorted(labels)
        except TypeError:
            pass
        for lab in labels:
            sel = (g == lab)
            groups.append(_Block(lab, X[ok & sel], y[ok & sel], w[ok & sel],
                                 int((sel & ~ok).sum())))
            total.group[sel[ok]] = len(groups) - 1
    return groups, total


def _wcorr(X: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    A = np.column_stack([X, y])
    sw = w.sum()
    D = A - (w @ A) / sw
    C = (D * w[:, None]).T @ D
    sd = np.sqrt(np.diag(C))
    with np.errstate(divide="ignore", invalid="ignore"):
        return C / np.outer(sd, sd)


def _check_block(b: _Block, drivers: list[str], outcome: str, where: str) -> np.ndarray:
    n, p = b.X.shape
    if n < p + 2:
        raise DriverAnalysisError(
            f"{where}: {n} complete respondent(s) for {p} drivers; at least {p + 2} are needed "
            f"(use fewer drivers or a larger group)")
    for j, c in enumerate(drivers):
        if np.ptp(b.X[:, j]) == 0:
            raise DriverAnalysisError(f"{where}: driver {c!r} is constant ({b.X[0, j]:g} for "
                                      f"every complete respondent); remove it from the list")
    if np.ptp(b.y) == 0:
        raise DriverAnalysisError(f"{where}: outcome {outcome!r} is constant; nothing to explain")
    R = _wcorr(b.X, b.y, b.w)
    _check_collinear(R[:p, :p], drivers, where)
    return R


def _check_collinear(Rxx: np.ndarray, drivers: list[str], where: str) -> None:
    ev, V = np.linalg.eigh(Rxx)
    if ev[0] < 1e-8:
        v = np.abs(V[:, 0])
        names = [drivers[i] for i in np.argsort(-v) if v[i] > 0.05]
        raise DriverAnalysisError(
            f"{where}: drivers {', '.join(map(repr, names))} are perfectly collinear (one is a "
            f"linear combination of the others, smallest eigenvalue {ev[0]:.1e}); drop or "
            f"combine one of them")


# --------------------------------------------------------------------------------------------
# logistic and ordinal relative weights
# --------------------------------------------------------------------------------------------

def _wstd(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    m = w @ X / w.sum()
    sd = np.sqrt(w @ (X - m) ** 2 / w.sum())
    return (X - m) / sd


def _wcorr1(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> float:
    return float(_wcorr(a[:, None], b, w)[0, 1])


def _logit_fit(Z: np.ndarray, y01: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted logistic regression by Newton-Raphson; returns (coefficients, fitted p)."""
    A = np.column_stack([np.ones(len(y01)), Z])
    beta = np.zeros(A.shape[1])
    pbar = float(w @ y01 / w.sum())
    beta[0] = math.log(pbar / (1 - pbar))
    for _ in range(100):
        eta = A @ beta
        pr = 1 / (1 + np.exp(-eta))
        g = A.T @ (w * (y01 - pr))
        H = (A * (w * pr * (1 - pr))[:, None]).T @ A
        step = np.linalg.solve(H, g)
        beta += step
        if np.max(np.abs(step)) < 1e-10:
            break
        if np.max(np.abs(beta)) > 50:
            raise DriverAnalysisError("the logistic fit does not converge: the outcome is "
                                      "perfectly separated by the drivers")
    pr = 1 / (1 + np.exp(-(A @ beta)))
    return beta[1:], pr


def _ordinal_fit(Z: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted proportional-odds logit; returns (slopes, expected category E[y|x])."""
    cats = np.unique(y)
    K = len(cats)
    yi = np.searchsorted(cats, y)
    n, p = Z.shape
    cum = np.array([w[yi <= k].sum() for k in range(K - 1)]) / w.sum()
    cut0 = np.log(cum / (1 - cum))
    theta0 = np.concatenate([[cut0[0]], np.log(np.maximum(np.diff(cut0), 1e-3)), np.zeros(p)])

    def unpack(t):
        cuts = np.cumsum(np.concatenate([[t[0]], np.exp(t[1:K - 1])]))
        return cuts, t[K - 1:]

    def nll(t):
        cuts, b = unpack(t)
        eta = Z @ b
        F = 1 / (1 + np.exp(-(np.concatenate([[-np.inf], cuts, [np.inf]])[None, :]
                              - eta[:, None])))
        pr = F[np.arange(n), yi + 1] - F[np.arange(n), yi]
        fu, fl = F[np.arange(n), yi + 1], F[np.arange(n), yi]
        du, dl = fu * (1 - fu), fl * (1 - fl)
        pr = np.maximum(pr, 1e-300)
        val = -np.sum(w * np.log(pr))
        gb = Z.T @ (w * (du - dl) / pr)            # d(-ll)/db
        gc = np.zeros(K - 1)
        for k in range(K - 1):                     # d(-ll)/d cut_k
            gc[k] = -np.sum(w * ((yi == k) * du - (yi == k + 1) * dl) / pr)
        # chain rule to the unconstrained parameters
        gt = np.empty(K - 1)
        tail = np.cumsum(gc[::-1])[::-1]
        gt[0] = tail[0]
        gt[1:] = tail[1:] * np.exp(t[1:K - 1])
        return val, np.concatenate([gt, gb])

    res = optimize.minimize(nll, theta0, jac=True, method="BFGS", options={"gtol": 1e-8})
    cuts, b = unpack(res.x)
    eta = Z @ b
    F = 1 / (1 + np.exp(-(np.concatenate([[-np.inf], cuts, [np.inf]])[None, :] - eta[:, None])))
    probs = np.diff(F, axis=1)
    return b, probs @ cats


def _rw_glm(X: np.ndarray, y: np.ndarray, w: np.ndarray, kind: str) -> tuple[np.ndarray, float]:
    """Relative weights for a binary / ordinal outcome (Tonidandel & LeBreton, 2010)."""
    Xs = _wstd(X, w)
    Rxx = (Xs * w[:, None]).T @ Xs / w.sum()
    lam, lam_inv = _lambda_half(Rxx)
    Z = Xs @ lam_inv                                # orthonormal (weighted) drivers
    if kind == "binary":
        y01 = (y == y.max()).astype(float)
        b, fitted = _logit_fit(Z, y01, w)
        obs = y01
    else:
        b, fitted = _ordinal_fit(Z, y, w)
        obs = y
    R = _wcorr1(obs, fitted, w)
    eta = Z @ b
    s_eta = math.sqrt(w @ (eta - w @ eta / w.sum()) ** 2 / w.sum())
    s_z = np.sqrt(w @ (Z - w @ Z / w.sum()) ** 2 / w.sum())
    bstar = b * s_z * R / s_eta
    return (lam ** 2) @ (bstar ** 2), R * R


def _importance(X, y, w, R, method, outcome_type):
    """Raw importance (sums to R-squared) and R-squared for one block."""
    if method == "shapley":
        r2 = subset_r2(R)
        return shapley_from_r2(r2), float(r2[-1])
    if outcome_type == "linear":
        imp = relative_weights_from_corr(R)
        return imp, float(imp.sum())
    return _rw_glm(X, y, w, outcome_type)


# --------------------------------------------------------------------------------------------
# key drivers
# --------------------------------------------------------------------------------------------

@dataclass(repr=False)
class DriverResult:
    """Relative importance of drivers, per segment (see :func:`key_drivers`).

    ``table`` has one row per segment and driver: ``importance`` (raw, sums to the
    segment's R-squared), ``share`` (of R-squared, sums to 1), ``rank`` (1 = most
    important), and with ``bootstrap > 0`` their CIs and, per segment, the test of the
    difference from the total (``share_diff``, ``diff_ci_low``, ``diff_ci_high``,
    ``diff_p``). ``models`` has one row per segment: ``n, n_eff, r2, method``.
    """

    outcome: str
    drivers: list[str]
    method: str
    outcome_type: str
    table: pd.DataFrame
    models: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    bootstrap: int = 0
    seed: int | None = None
    ci: float = 0.95
    by: str | None = None

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def top(self, k: int = 3, segment=TOTAL) -> list[str]:
        """The ``k`` most important drivers of ``segment`` (``"Total"`` by default)."""
        t = self.table[self.table["segment"] == segment]
        if t.empty:
            raise DriverAnalysisError(f"segment {segment!r} is not in the result; available: "
                                      f"{list(pd.unique(self.table['segment']))}")
        return t.sort_values("importance", ascending=False)["driver"].head(k).tolist()

    @property
    def _title(self) -> str:
        m = self.models
        tot = m[m["segment"] == TOTAL].iloc[0]
        return (f"Key drivers of {self.outcome} ({tot['method']}; R² = {tot['r2']:.3f}, "
                f"n = {tot['n']:.0f}" + (f", {self.bootstrap} bootstrap replicates"
                                         if self.bootstrap else "") + ")")

    def summary(self) -> str:
        notes = "".join(f"\nnote: {n}" for n in self.notes)
        return (f"{self._title}{notes}\n"
                f"{self.models.to_string(index=False)}\n\n"
                f"{self.table.to_string(index=False, float_format=lambda v: f'{v:.3f}')}")

    def __repr__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        notes = "".join(f"<p><i>note: {n}</i></p>" for n in self.notes)
        show = self.table.copy()
        for c in [c for c in show if c.startswith("share") or c.startswith("diff_ci")]:
            show[c] = show[c] * 100
        show = show.rename(columns=lambda c: c.replace("share", "share_%")
                           .replace("diff_ci", "diff_%_ci"))
        return (f"<h4>{self._title}</h4>{notes}" + self.models.to_html(index=False)
                + show.to_html(index=False, float_format="%.3f"))

    def plot(self, segment=TOTAL, **kwargs):
        """Bar chart of shares of R-squared (with CIs when bootstrapped); returns the Figure."""
        from .plots import importance_chart

        return importance_chart(self, segment=segment, **kwargs)


def key_drivers(df: pd.DataFrame, outcome: str, drivers: Sequence[str], *, weights=None,
                by: str | None = None,
                method: Literal["shapley", "relative_weights"] = "shapley",
                outcome_type: Literal["auto", "linear", "binary", "ordinal"] = "auto",
                bootstrap: int = 0, seed: int | None = 0, ci: float = 0.95,
                max_exact: int = 20) -> DriverResult:
    """Relative importance of ``drivers`` for ``outcome``, in total and per segment.

    Parameters
    ----------
    df : DataFrame
        One row per respondent.
    outcome : str
        Outcome column (e.g. overall satisfaction; 0/1 for promoter vs not).
    drivers : list of str
        Attribute columns. None is ever dropped: a constant or perfectly collinear driver
        raises :class:`~surveykit.errors.DriverAnalysisError` naming it.
    weights : None, str or array-like
        Respondent weights (weighted correlations, weighted fits, resampled with the rows).
    by : str, optional
        Segment column: the analysis is run for the total and for every segment.
    method : {"shapley", "relative_weights"}
        Exact Shapley (LMG) decomposition of R-squared, or Johnson's relative weights.
        With more than ``max_exact`` drivers Shapley switches to relative weights (noted in
        ``notes`` and in ``models["method"]``, and warned).
    outcome_type : {"auto", "linear", "binary", "ordinal"}
        For relative weights: linear (correlation matrix), binary (logistic fit; the
        larger code is the event) or ordinal (proportional-odds fit) on the orthogonalised
        drivers. ``auto``: binary when the outcome has two values, else linear.
    bootstrap : int
        Bootstrap replicates (0 = none). Respondents are resampled with their weights
        (within segments when ``by`` is given) using ``seed``.
    ci : float
        Confidence level of the percentile intervals.

    Returns
    -------
    DriverResult

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> d = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
    >>> d["y"] = 2 * d["a"] + d["b"] + rng.normal(size=300)
    >>> res = key_drivers(d, "y", ["a", "b", "c"])
    >>> res.top(2), round(float(res.table["share"].sum()), 6)
    (['a', 'b'], 1.0)
    """
    if method not in ("shapley", "relative_weights"):
        raise DriverAnalysisError(f"method={method!r}; use 'shapley' or 'relative_weights'")
    if outcome_type not in ("auto", "linear", "binary", "ordinal"):
        raise DriverAnalysisError(f"outcome_type={outcome_type!r}; use 'auto', 'linear', "
                                  f"'binary' or 'ordinal'")
    if int(bootstrap) != bootstrap or bootstrap < 0:
        raise DriverAnalysisError(f"bootstrap={bootstrap!r} must be 0 or a positive integer")
    if bootstrap and bootstrap < 50:
        raise DriverAnalysisError(f"bootstrap={bootstrap}: use at least 50 replicates "
                                  f"(200 or more for stable intervals)")
    if not 0.5 < ci < 1:
        raise DriverAnalysisError(f"ci={ci!r} must be between 0.5 and 1")
    drivers = _validate(df, outcome, drivers, by)
    p = len(drivers)
    groups, total = _blocks(df, outcome, drivers, weights, by)
    notes: list[str] = []
    yvals = np.unique(total.y)
    if outcome_type == "auto":
        outcome_type = "binary" if len(yvals) == 2 else "linear"
    if outcome_type == "binary" and len(yvals) != 2:
        raise DriverAnalysisError(f"outcome {outcome!r} has {len(yvals)} distinct values; a "
                                  f"binary outcome needs exactly 2 (e.g. promoter 1 / not 0)")
    if outcome_type == "ordinal" and not 3 <= len(yvals) <= 15:
        raise DriverAnalysisError(f"outcome {outcome!r} has {len(yvals)} distinct values; an "
                                  f"ordinal outcome needs 3 to 15 categories")
    used = method
    if method == "shapley" and p > max_exact:
        used = "relative_weights"
        msg = (f"{p} drivers is more than max_exact={max_exact} for exact Shapley "
               f"(2^{p} subsets); Johnson's relative weights were used instead")
        notes.append(msg)
        warnings.warn(msg, DriverMethodWarning, stacklevel=2)
    if used == "shapley" and outcome_type != "linear":
        notes.append(f"Shapley decomposes the R-squared of a linear model of the "
                     f"{outcome_type} outcome; use method='relative_weights' for a "
                     f"{'logistic' if outcome_type == 'binary' else 'proportional-odds'} fit")
    kind = outcome_type if used == "relative_weights" else "linear"
    label = {"shapley": "Shapley (LMG)",
             "relative_weights": f"relative weights ({kind})"}[used]

    with _one_thread():
        return _key_drivers(outcome, drivers, by, groups, total, used, kind, label, notes,
                            int(bootstrap), seed, ci)


def _key_drivers(outcome, drivers, by, groups, total, used, kind, label, notes, bootstrap,
                 seed, ci):
    p = len(drivers)
    blocks = [total, *groups]
    corrs = []
    for b in blocks:
        where = "total sample" if b.label == TOTAL else f"segment {by}={b.label!r}"
        corrs.append(_check_block(b, drivers, outcome, where))
        if kind == "binary" and len(np.unique(b.y)) != 2:
            raise DriverAnalysisError(f"{where}: the binary outcome {outcome!r} takes one "
                                      f"value only")
    est = [_importance(b.X, b.y, b.w, R, used, kind) for b, R in zip(blocks, corrs, strict=True)]

    rows = []
    for b, (imp, _r2) in zip(blocks, est, strict=True):
        share = imp / imp.sum() if imp.sum() > 0 else np.full(p, np.nan)
        rank = stats.rankdata(-imp, method="min")
        for j, c in enumerate(drivers):
            rows.append({"segment": b.label, "driver": c, "importance": imp[j],
                         "share": share[j], "rank": int(rank[j])})
    table = pd.DataFrame(rows)
    models = pd.DataFrame([{"segment": b.label, "n": len(b.y), "n_eff": effective_n(b.w),
                            "n_dropped": b.n_dropped, "r2": r2, "method": label}
                           for b, (_, r2) in zip(blocks, est, strict=True)])
    if any(b.n_dropped for b in blocks[:1]):
        notes.append(f"{total.n_dropped} respondent(s) with a missing outcome or driver (or "
                     f"zero weight) were left out (listwise)")
    if bootstrap:
        _add_bootstrap(table, models, blocks, used, kind, bootstrap, seed, ci, notes)
    elif groups:
        notes.append("pass bootstrap=200 (or more) to test whether each segment's driver "
                     "shares differ from the total")
    return DriverResult(outcome=outcome, drivers=drivers, method=used, outcome_type=kind,
                        table=table, models=models, notes=notes, bootstrap=bootstrap,
                        seed=seed, ci=ci, by=by)


def _add_bootstrap(table, models, blocks, method, kind, B, seed, ci, notes):
    """Weight-aware percentile bootstrap; stratified by segment when there are segments."""
    rng = np.random.default_rng(seed)
    total, groups = blocks[0], blocks[1:]
    p = total.X.shape[1]
    nb = len(blocks)
    imp = np.full((B, nb, p), np.nan)
    # strata: the segments (resampled within, so their sizes are fixed) and the rows with
    # no segment; the total is the union of the resampled strata
    strata = [np.flatnonzero(total.group == k) for k in range(-1, len(groups))]
    strata = [s for s in strata if len(s)]
    failed = 0
    for b in range(B):
        try:
            idx = np.concatenate([s[rng.integers(0, len(s), len(s))] for s in strata])
            parts = [idx] + [idx[total.group[idx] == k] for k in range(len(groups))]
            for k, i in enumerate(parts):
                Xb, yb, wb = total.X[i], total.y[i], total.w[i]
                R = _wcorr(Xb, yb, wb)
                if not np.isfinite(R).all() or np.linalg.eigvalsh(R[:p, :p])[0] < 1e-8:
                    raise DriverAnalysisError("degenerate replicate")
                if kind in ("binary", "ordinal") and len(np.unique(yb)) < 2:
                    raise DriverAnalysisError("degenerate replicate")
                imp[b, k] = _importance(Xb, yb, wb, R, method, kind)[0]
        except (DriverAnalysisError, np.linalg.LinAlgError):
            failed += 1
            imp[b] = np.nan
    ok = ~np.isnan(imp).any(axis=(1, 2))
    if failed:
        notes.append(f"{failed} of {B} bootstrap replicates were degenerate (a constant or "
                     f"collinear driver in the resample) and were left out")
    if ok.sum() < 0.9 * B:
        raise DriverAnalysisError(f"{failed} of {B} bootstrap replicates were degenerate; the "
                                  f"segments are too small for a bootstrap")
    imp = imp[ok]
    share = imp / imp.sum(axis=2, keepdims=True)
    ranks = np.apply_along_axis(lambda v: stats.rankdata(-v, method="min"), 2, imp)
    a = (1 - ci) / 2
    lo, hi = a * 100, (1 - a) * 100

    def col(arr, q, method="linear"):
        return np.percentile(arr, q, axis=0, method=method).reshape(-1)

    table["importance_se"] = imp.std(axis=0, ddof=1).reshape(-1)
    table["importance_ci_low"] = col(imp, lo)
    table["importance_ci_high"] = col(imp, hi)
    table["share_ci_low"] = col(share, lo)
    table["share_ci_high"] = col(share, hi)
    table["rank_ci_low"] = col(ranks, lo, "lower").astype(int)
    table["rank_ci_high"] = col(ranks, hi, "higher").astype(int)
    models["n_boot"] = int(ok.sum())
    if groups:
        diff = share[:, 1:, :] - share[:, :1, :]                     # (B, groups, p)
        obs = table["share"].to_numpy().reshape(nb, p)
        d_obs = obs[1:] - obs[:1]
        nb_ok = diff.shape[0]
        p_lo = ((diff <= 0).sum(axis=0) + 1) / (nb_ok + 1)
        p_hi = ((diff >= 0).sum(axis=0) + 1) / (nb_ok + 1)
        pval = np.minimum(1.0, 2 * np.minimum(p_lo, p_hi))
        nan_row = np.full((1, p), np.nan)
        table["share_diff"] = np.vstack([nan_row, d_obs]).reshape(-1)
        table["diff_ci_low"] = np.vstack([nan_row, np.percentile(diff, lo, axis=0)]).reshape(-1)
        table["diff_ci_high"] = np.vstack([nan_row,
                                           np.percentile(diff, hi, axis=0)]).reshape(-1)
        table["diff_p"] = np.vstack([nan_row, pval]).reshape(-1)


def shapley(df: pd.DataFrame, outcome: str, drivers: Sequence[str], **kwargs) -> DriverResult:
    """:func:`key_drivers` with ``method="shapley"`` (exact LMG decomposition of R-squared).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> d = pd.DataFrame(rng.normal(size=(200, 2)), columns=["a", "b"])
    >>> d["y"] = d["a"] + rng.normal(size=200)
    >>> shapley(d, "y", ["a", "b"]).top(1)
    ['a']
    """
    return key_drivers(df, outcome, drivers, method="shapley", **kwargs)


def relative_weights(df: pd.DataFrame, outcome: str, drivers: Sequence[str],
                     **kwargs) -> DriverResult:
    """:func:`key_drivers` with ``method="relative_weights"`` (Johnson; logistic if binary).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> d = pd.DataFrame(rng.normal(size=(400, 2)), columns=["a", "b"])
    >>> d["promoter"] = (d["a"] + rng.normal(size=400) > 0).astype(int)
    >>> relative_weights(d, "promoter", ["a", "b"]).top(1)
    ['a']
    """
    return key_drivers(df, outcome, drivers, method="relative_weights", **kwargs)


# --------------------------------------------------------------------------------------------
# regression
# --------------------------------------------------------------------------------------------

def regression(df: pd.DataFrame, outcome: str, drivers: Sequence[str], *, weights=None,
               by: str | None = None, cov_type: str = "HC1", ci: float = 0.95,
               vif_threshold: float = 5.0) -> pd.DataFrame:
    """Standardized coefficients with p-values (statsmodels WLS) and VIFs, per segment.

    Outcome and drivers are z-scored with weighted means and SDs and fitted by weighted
    least squares; ``beta`` is the standardized coefficient, ``coef`` the coefficient in
    the original units. ``cov_type`` is passed to statsmodels (``"HC1"`` robust by default,
    as sampling weights are not precision weights; ``"nonrobust"`` for textbook WLS).

    Warns
    -----
    CollinearityWarning
        Naming each driver whose VIF is ``vif_threshold`` (5) or more.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> d = pd.DataFrame(rng.normal(size=(300, 2)), columns=["a", "b"])
    >>> d["y"] = d["a"] + rng.normal(size=300)
    >>> bool(regression(d, "y", ["a", "b"]).set_index("driver").loc["a", "p"] < 0.001)
    True
    """
    import statsmodels.api as sm

    if not 0.5 < ci < 1:
        raise DriverAnalysisError(f"ci={ci!r} must be between 0.5 and 1")
    drivers = _validate(df, outcome, drivers, by)
    groups, total = _blocks(df, outcome, drivers, weights, by)
    out = []
    high = {}
    for b in [total, *groups]:
        where = "total sample" if b.label == TOTAL else f"segment {by}={b.label!r}"
        R = _check_block(b, drivers, outcome, where)
        p = len(drivers)
        vif = np.diag(np.linalg.inv(R[:p, :p]))
        Xz, yz = _wstd(b.X, b.w), _wstd(b.y[:, None], b.w)[:, 0]
        try:
            fit = sm.WLS(yz, sm.add_constant(Xz, has_constant="add"), weights=b.w).fit(
                cov_type=cov_type)
        except (ValueError, TypeError) as exc:
            raise DriverAnalysisError(f"cov_type={cov_type!r} was refused by statsmodels: "
                                      f"{exc}") from exc
        sx = np.sqrt(b.w @ (b.X - b.w @ b.X / b.w.sum()) ** 2 / b.w.sum())
        sy = math.sqrt(b.w @ (b.y - b.w @ b.y / b.w.sum()) ** 2 / b.w.sum())
        cis = np.asarray(fit.conf_int(alpha=1 - ci))
        for j, c in enumerate(drivers):
            out.append({"segment": b.label, "driver": c, "beta": fit.params[j + 1],
                        "se": fit.bse[j + 1], "stat": fit.tvalues[j + 1],
                        "p": fit.pvalues[j + 1], "ci_low": cis[j + 1, 0],
                        "ci_high": cis[j + 1, 1], "coef": fit.params[j + 1] * sy / sx[j],
                        "vif": vif[j], "r2": fit.rsquared, "n": len(b.y),
                        "n_eff": effective_n(b.w)})
            if vif[j] >= vif_threshold:
                high.setdefault(c, []).append((b.label, vif[j]))
    if high:
        desc = "; ".join(f"{c!r} (VIF {max(v for _, v in lst):.1f})" for c, lst in high.items())
        warnings.warn(f"high collinearity: {desc}; coefficients of these drivers are unstable "
                      f"(relative importance via key_drivers is more robust)",
                      CollinearityWarning, stacklevel=2)
    return pd.DataFrame(out)


# --------------------------------------------------------------------------------------------
# importance-performance
# --------------------------------------------------------------------------------------------

@dataclass(repr=False)
class IPAResult:
    """Importance-performance grid (see :func:`importance_performance`)."""

    table: pd.DataFrame              # segment, driver, importance, performance, quadrant
    cuts: pd.DataFrame               # segment, importance_cut, performance_cut
    performance: str
    drivers_result: DriverResult

    @property
    def act_here(self) -> dict:
        """``{segment: [drivers]}`` in the "act here" quadrant (high importance, low perf.)."""
        t = self.table[self.table["quadrant"] == QUADRANTS[(True, False)]]
        return {s: t[t["segment"] == s].sort_values("importance", ascending=False)["driver"]
                .tolist() for s in pd.unique(self.table["segment"])}

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> str:
        acts = "; ".join(f"{s}: {', '.join(v) or '-'}" for s, v in self.act_here.items())
        return (f"Importance-performance ({self.performance}); act here -> {acts}\n"
                f"{self.table.to_string(index=False, float_format=lambda v: f'{v:.3f}')}")

    def __repr__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        acts = "; ".join(f"{s}: {', '.join(v) or '-'}" for s, v in self.act_here.items())
        return (f"<h4>Importance-performance ({self.performance})</h4><p><b>Act here</b>: "
                f"{acts}</p>" + self.table.to_html(index=False, float_format="%.3f"))

    def plot(self, segment=TOTAL, **kwargs):
        """Seaborn quadrant chart for ``segment``; returns the Figure."""
        from .plots import quadrant_chart, segment_name

        t = self.table[self.table["segment"] == segment]
        if t.empty:
            raise DriverAnalysisError(f"segment {segment!r} is not in the result")
        c = self.cuts[self.cuts["segment"] == segment].iloc[0]
        perf_label = ("top-2-box %" if self.performance == "top2box" else "mean rating")
        return quadrant_chart(t, importance_cut=c["importance_cut"],
                              performance_cut=c["performance_cut"],
                              performance_label=perf_label,
                              title=kwargs.pop("title", "Importance vs performance: "
                                               + segment_name(segment)),
                              **kwargs)


def importance_performance(df: pd.DataFrame, outcome: str, drivers: Sequence[str], *,
                           weights=None, by: str | None = None,
                           importance: DriverResult | None = None,
                           method: Literal["shapley", "relative_weights"] = "shapley",
                           performance: Literal["mean", "top2box"] = "mean",
                           scale_range: tuple[float, float] | None = None,
                           cuts: Literal["median", "mean"] | tuple[float, float] = "median",
                           ) -> IPAResult:
    """Importance (share of R-squared, %) against performance, with named quadrants.

    Parameters
    ----------
    importance : DriverResult, optional
        A result of :func:`key_drivers` to reuse; computed with ``method`` otherwise.
    performance : {"mean", "top2box"}
        Weighted mean rating of each driver, or the weighted % in the top two codes of
        ``scale_range`` (required then). Each driver uses every respondent who rated it.
    cuts : "median", "mean" or (importance_cut, performance_cut)
        Quadrant boundaries: the median (or mean) over drivers within each segment, or
        fixed cut points (importance in % of R-squared, performance in its own units).
        Values on a cut count as high.

    Returns
    -------
    IPAResult
        ``table`` with ``quadrant`` in {"act here", "keep up the good work",
        "low priority", "possible overkill"}; ``act_here`` names the drivers with high
        importance and low performance per segment; ``plot()`` draws the grid.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> d = pd.DataFrame(rng.integers(1, 11, size=(300, 4)).astype(float),
    ...                  columns=["a", "b", "c", "e"])
    >>> d["y"] = d["a"] + d["b"] + rng.normal(size=300)
    >>> d["a"] = d["a"] - 3
    >>> importance_performance(d, "y", ["a", "b", "c", "e"]).act_here
    {'Total': ['a']}
    """
    if performance not in ("mean", "top2box"):
        raise DriverAnalysisError(f"performance={performance!r}; use 'mean' or 'top2box'")
    if performance == "top2box":
        if scale_range is None:
            raise DriverAnalysisError("performance='top2box' needs scale_range=(min, max) to "
                                      "know the top two codes")
        top_lo = float(scale_range[1]) - 1
    drivers = _validate(df, outcome, drivers, by)
    res = importance if importance is not None else key_drivers(
        df, outcome, drivers, weights=weights, by=by, method=method)
    if importance is not None and (set(res.drivers) != set(drivers) or res.by != by):
        raise DriverAnalysisError("the importance result was computed for other drivers or "
                                  "another by=; recompute it or leave importance=None")
    w_all = resolve_weights(df, weights, error=DriverAnalysisError)
    seg = df[by].to_numpy() if by is not None else None
    rows, cut_rows = [], []
    for label in pd.unique(res.table["segment"]):
        sel = np.ones(len(df), bool) if label == TOTAL else (seg == label)
        t = res.table[res.table["segment"] == label].set_index("driver").loc[drivers]
        perf = []
        for c in drivers:
            x = _num(df, c)
            ok = sel & np.isfinite(x) & (w_all > 0)
            if not ok.any():
                perf.append(np.nan)
                continue
            v = (x[ok] >= top_lo).astype(float) * 100 if performance == "top2box" else x[ok]
            perf.append(float(np.average(v, weights=w_all[ok])))
        imp = t["share"].to_numpy() * 100
        perf = np.array(perf)
        if isinstance(cuts, str):
            if cuts not in ("median", "mean"):
                raise DriverAnalysisError(f"cuts={cuts!r}; use 'median', 'mean' or a tuple "
                                          f"(importance_cut, performance_cut)")
            agg = np.nanmedian if cuts == "median" else np.nanmean
            ic, pc = float(agg(imp)), float(agg(perf))
        else:
            try:
                ic, pc = (float(v) for v in cuts)
            except (TypeError, ValueError) as exc:
                raise DriverAnalysisError(f"cuts={cuts!r}; use 'median', 'mean' or a tuple "
                                          f"(importance_cut, performance_cut)") from exc
        cut_rows.append({"segment": label, "importance_cut": ic, "performance_cut": pc})
        for c, i_, p_ in zip(drivers, imp, perf, strict=True):
            rows.append({"segment": label, "driver": c, "importance": i_, "performance": p_,
                         "quadrant": QUADRANTS[(bool(i_ >= ic), bool(p_ >= pc))]})
    return IPAResult(table=pd.DataFrame(rows), cuts=pd.DataFrame(cut_rows),
                     performance=performance, drivers_result=res)


# --------------------------------------------------------------------------------------------
# satisfaction -> loyalty
# --------------------------------------------------------------------------------------------

def loyalty_link(df: pd.DataFrame, satisfaction: str, loyalty: str, *, weights=None,
                 by: str | None = None, scale_range: tuple[float, float],
                 coding: Literal["raw", "percent", "nps"] = "raw", per: float = 10,
                 ci: float = 0.95, cov_type: str = "HC1") -> pd.DataFrame:
    """Change in loyalty per ``+per`` points of satisfaction (0-100 points), with CI.

    Satisfaction is put on a 0-100 scale, ``(x - min) / (max - min) * 100``, using its
    ``scale_range``; loyalty is coded ``raw`` (its own units, e.g. a 1-5 repurchase intent),
    ``percent`` (a 0/1 variable times 100: percentage points) or ``nps`` (a 0-10 answer as
    promoter +100 / passive 0 / detractor -100, so the change is in NPS points). A weighted
    least-squares slope (statsmodels WLS, ``cov_type`` robust SE) times ``per`` is reported
    for the total and every segment.

    Returns
    -------
    DataFrame
        ``segment, change, se, ci_low, ci_high, p, r, n, n_eff`` (``change`` per ``per``
        points of satisfaction).

    Examples
    --------
    >>> d = pd.DataFrame({"sat": [1, 2, 3, 4, 5] * 20, "rebuy": [0, 0, 1, 1, 1] * 20})
    >>> round(float(loyalty_link(d, "sat", "rebuy", scale_range=(1, 5),
    ...                          coding="percent")["change"][0]), 1)
    12.0
    """
    import statsmodels.api as sm

    if coding not in ("raw", "percent", "nps"):
        raise DriverAnalysisError(f"coding={coding!r}; use 'raw', 'percent' or 'nps'")
    if not 0.5 < ci < 1:
        raise DriverAnalysisError(f"ci={ci!r} must be between 0.5 and 1")
    try:
        lo, hi = (float(v) for v in scale_range)
    except (TypeError, ValueError) as exc:
        raise DriverAnalysisError(f"scale_range={scale_range!r}; pass the satisfaction "
                                  f"scale's (min, max), e.g. (0, 10)") from exc
    if not lo < hi:
        raise DriverAnalysisError(f"scale_range={scale_range!r} must have min < max")
    _validate(df, loyalty, [satisfaction], by)
    groups, total = _blocks(df, loyalty, [satisfaction], weights, by)
    rows = []
    for b in [total, *groups]:
        where = "total sample" if b.label == TOTAL else f"segment {by}={b.label!r}"
        x = b.X[:, 0]
        if x.min() < lo or x.max() > hi:
            raise DriverAnalysisError(f"{satisfaction!r} has values outside scale_range "
                                      f"{(lo, hi)} ({x.min():g}..{x.max():g})")
        y = b.y
        if coding == "percent":
            if not np.isin(y, [0, 1]).all():
                raise DriverAnalysisError(f"coding='percent' needs a 0/1 loyalty variable; "
                                          f"{loyalty!r} has other values")
            y = y * 100
        elif coding == "nps":
            if y.min() < 0 or y.max() > 10:
                raise DriverAnalysisError(f"coding='nps' needs 0-10 answers; {loyalty!r} "
                                          f"ranges {y.min():g}..{y.max():g}")
            y = np.where(y >= 9, 100.0, np.where(y <= 6, -100.0, 0.0))
        if len(y) < 3 or np.ptp(x) == 0:
            raise DriverAnalysisError(f"{where}: {len(y)} respondent(s) and satisfaction "
                                      f"{'constant' if len(y) and np.ptp(x) == 0 else ''}; "
                                      f"the link cannot be estimated")
        pts = (x - lo) / (hi - lo) * 100
        fit = sm.WLS(y, sm.add_constant(pts, has_constant="add"), weights=b.w).fit(
            cov_type=cov_type)
        c = np.asarray(fit.conf_int(alpha=1 - ci))[1]
        r = _wcorr1(pts, y, b.w) if np.ptp(y) > 0 else np.nan
        rows.append({"segment": b.label, "change": fit.params[1] * per,
                     "se": fit.bse[1] * per, "ci_low": c[0] * per, "ci_high": c[1] * per,
                     "p": fit.pvalues[1], "r": r, "n": len(y), "n_eff": effective_n(b.w)})
    out = pd.DataFrame(rows)
    out.attrs.update({"per": per, "coding": coding, "satisfaction": satisfaction,
                      "loyalty": loyalty})
    return out
