"""Core of :mod:`surveykit.drivers`: all-subsets R-squared, Shapley and relative-weight
algebra on correlation matrices, data preparation and checks, logistic / ordinal fits."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

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
    ``mask`` (bit ``j`` = driver ``j``). Step ``j`` adds driver ``j`` to every subset of
    drivers ``0..j-1`` at once by one sweep (a Schur complement), so each subset costs one
    rank-one update, never a refit, and the whole recursion is ``p`` steps of a few large
    array operations.

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
    tol = 1e-12 * np.diag(C)
    # before step j, M[a, b, S] is the residual cross-product of driver j + a with driver
    # j + b (b = last: the outcome) given subset S of drivers 0..j-1 (index = mask;
    # subsets last, so every update runs along long contiguous rows); the outcome's own
    # row is never needed (its residual is 1 - R-squared)
    M = C[:p, :, None]
    # two work arrays, used in turn (fresh memory for every step costs more than the sweeps)
    work = [np.empty(max([(p - j - 1) * (p - j) << (j + 1) for j in range(p - 1)], default=0))
            for _ in range(2)]
    rows = np.empty(1 << max(p - 1, 0))    # (k rows x 2**j subsets is at most 2**(p-1))
    first_bad = None                       # (highest driver of S, driver) of a zero pivot
    with np.errstate(all="ignore"):        # (after a zero pivot: reported below)
        for j in range(p):
            n = 1 << j
            piv = M[0, 0]
            bad = piv <= tol[j]
            if bad.any():
                # named as a search of the subsets in order of their highest driver would
                s = int(np.flatnonzero(bad)[0]).bit_length() - 1
                first_bad = min(first_bad or (s, j), (s, j))
            k = M.shape[0]
            row = np.divide(M[0, 1:], piv, out=rows[:k * n].reshape(k, n))  # above j and y
            # R2(S + j) = R2(S) + (residual cross-product of j, y)^2 / residual var of j
            grow = r2[n:2 * n]
            np.multiply(M[0, -1], row[-1], out=grow)
            grow /= vy
            grow += r2[:n]
            if j == p - 1:
                break
            nxt = work[j & 1][:(k - 1) * k * 2 * n].reshape(k - 1, k, 2 * n)
            rest = M[1:, 1:]
            nxt[:, :, :n] = rest                            # subsets without j
            with_j = nxt[:, :, n:]                          # the same with j swept out
            np.multiply(M[1:, 0, None], row[None], out=with_j)
            np.subtract(rest, with_j, out=with_j)
            M = nxt
    if first_bad is not None:
        raise DriverAnalysisError(f"driver {first_bad[1]} is a linear combination of others")
    return r2


@functools.lru_cache(maxsize=16)
def _shapley_weights(p: int) -> tuple[np.ndarray, np.ndarray]:
    """Per subset S (bit j = driver j) of ``p`` drivers: ``w(|S|)``, the weight of S as the
    set a driver joins, and ``w(|S|) + w(|S| - 1)``, adding its weight as the set a driver
    leaves, with ``w(k) = k! (p-k-1)! / p!`` (0 where undefined: no driver joins the full
    set, none leaves {})."""
    size = np.zeros(1, dtype=np.int8)
    for _ in range(p):
        size = np.concatenate([size, size + 1])           # number of drivers in each subset
    wk = np.array([math.factorial(k) * math.factorial(p - k - 1) / math.factorial(p)
                   for k in range(p)] + [0.0])             # k! (p-k-1)! / p!; 0 for k = p
    joins = wk[size]
    return joins, joins + np.concatenate([[0.0], wk[:-1]])[size]


def shapley_from_r2(r2: np.ndarray) -> np.ndarray:
    """Shapley values (LMG) of each driver from the all-subsets R-squared array.

    Examples
    --------
    >>> np.round(shapley_from_r2(np.array([0.0, 0.25, 0.16, 0.32])), 3).tolist()
    [0.205, 0.115]
    """
    r2 = np.asarray(r2, dtype=float)
    p = int(round(math.log2(len(r2))))
    # phi_j = sum over T with j of w(|T|-1) r2[T]  -  sum over S without j of w(|S|) r2[S]
    #       = sum over T with j of (a + b)  -  sum(b), with a = w(|T|-1) r2, b = w(|S|) r2;
    # the subsets with the highest bit set are the second half of v; summing the halves
    # drops that bit, so each driver costs one contiguous half-sum
    joins, both = _shapley_weights(p)
    v = both * r2
    out = np.empty(p)
    for j in range(p - 1, -1, -1):
        half = 1 << j
        out[j] = v[half:2 * half].sum()
        np.add(v[:half], v[half:2 * half], out=v[:half])
    return out - joins @ r2


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
    s = df[col]
    if s.dtype == np.float64:  # the usual case, without numeric_array's checks
        x = s.to_numpy(copy=True)
        x[~np.isfinite(x)] = np.nan
        return x
    return numeric_array(df, col, error=DriverAnalysisError)


def _validate(df, outcome, drivers, by, *, check_empty: bool = True):
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
    if check_empty:  # (else _blocks checks, on the arrays it reads anyway)
        for c in [outcome, *drivers]:
            if df[c].isna().all():
                _no_values(c, outcome)
    return drivers


def _no_values(c, outcome):
    raise DriverAnalysisError(f"column {c!r} has no non-missing values; it cannot be "
                              f"a {'outcome' if c == outcome else 'driver'}")


@dataclass
class _Block:
    """Complete-case data of one group: ``A`` holds the drivers then the outcome, column-major
    (the per-column sums and checks run along contiguous memory; numpy's reductions over
    the rows of a narrow row-major array are many times slower)."""

    label: object
    A: np.ndarray
    w: np.ndarray
    n_dropped: int
    group: np.ndarray | None = None          # total only: segment index per row (-1: none)

    @property
    def X(self) -> np.ndarray:
        return self.A[:, :-1]

    @property
    def y(self) -> np.ndarray:
        return self.A[:, -1]


def _blocks(df, outcome, drivers, weights, by) -> tuple[list[_Block], _Block]:
    p = len(drivers)
    A = np.empty((len(df), p + 1), order="F")
    for j, c in enumerate([outcome, *drivers]):     # (the outcome's problems first)
        s = df[c]
        A[:, j - 1] = s.to_numpy() if s.dtype == np.float64 else _num(df, c)
    fin = np.isfinite(A)
    ok = fin.all(axis=1)                            # complete cases (then with a weight)
    if not ok.any():                                # (else every column has values)
        has = fin.any(axis=0)
        if not has[p]:
            _no_values(outcome, outcome)
        for j in np.flatnonzero(~has[:p]):
            _no_values(drivers[j], outcome)
    w = _weights(df, weights)
    ok &= w > 0
    n_ok = int(np.count_nonzero(ok))
    everyone = n_ok == len(ok)                      # (then nothing to copy)
    total = _Block(TOTAL, A if everyone else _rows(A, ok), w if everyone else w[ok],
                   len(ok) - n_ok, np.full(n_ok, -1))
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
            groups.append(_Block(lab, _rows(A, ok & sel), w[ok & sel],
                                 int((sel & ~ok).sum())))
            total.group[sel[ok]] = len(groups) - 1
    return groups, total


def _weights(df, weights) -> np.ndarray:
    """:func:`resolve_weights`, reading a float column like the drivers (its
    ``pd.to_numeric`` is most of a small run's cost); bad weights: its error."""
    if isinstance(weights, str) and weights in df.columns:
        s = df[weights]
        if s.dtype == np.float64:
            w = s.to_numpy()
            if not (~np.isfinite(w) | (w < 0)).any():
                return w
    return resolve_weights(df, weights, error=DriverAnalysisError)


def _rows(X: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """``X[keep]``, column-major like ``X``."""
    return X.T.compress(keep, axis=1).T


def _wcorr(X: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted correlations of the columns of ``X`` and ``y`` (last)."""
    return _wcorr_a(np.column_stack([X, y]), w)


def _wcorr_a(A: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted correlation matrix of the columns of ``A``; a large ``A`` in blocks of
    rows (its centred and weighted copies would be fresh memory, which costs more than
    the extra calls)."""
    m = (w @ A) / w.sum()
    step = len(A) if A.size <= 1 << 16 else 1024
    D = A[:step] - m
    C = (D * w[:step, None]).T @ D
    for s in range(step, len(A), step):
        D = A[s:s + step] - m
        C += (D * w[s:s + step, None]).T @ D
    sd = np.sqrt(np.diag(C))
    with np.errstate(divide="ignore", invalid="ignore"):
        return C / np.outer(sd, sd)


def _check_block(b: _Block, drivers: list[str], outcome: str, where: str) -> np.ndarray:
    n, p = b.X.shape
    if n < p + 2:
        raise DriverAnalysisError(
            f"{where}: {n} complete respondent(s) for {p} drivers; at least {p + 2} are needed "
            f"(use fewer drivers or a larger group)")
    flat = b.A.max(axis=0) == b.A.min(axis=0)
    for j, c in enumerate(drivers):
        if flat[j]:
            raise DriverAnalysisError(f"{where}: driver {c!r} is constant ({b.X[0, j]:g} for "
                                      f"every complete respondent); remove it from the list")
    if flat[p]:
        raise DriverAnalysisError(f"{where}: outcome {outcome!r} is constant; nothing to explain")
    R = _wcorr_a(b.A, b.w)
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
    from scipy import optimize

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
