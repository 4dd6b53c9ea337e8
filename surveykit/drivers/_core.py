"""Core of :mod:`surveykit.drivers`: all-subsets R-squared, Shapley and relative-weight
algebra on correlation matrices, data preparation and checks, logistic / ordinal fits."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize

from .._util import as_list, check_columns, numeric_array, resolve_weights
from ..errors import DriverAnalysisError, SurveykitWarning

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


def _num(df: pd.DataFrame, col: str) -> np.ndarray:
    return numeric_array(df, col, error=DriverAnalysisError)


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
