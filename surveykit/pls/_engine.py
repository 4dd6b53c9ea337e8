"""The PLS path-modelling algorithm on (weighted) covariance matrices, many at once.

For metric data without missing values every PLS-PM quantity is a function of the items'
covariance matrix ``S``: with ``Y = X W``, ``cov(Y) = W'SW``, ``cov(X, Y) = SW``, Mode A's
``X'Z / n`` is ``S W E`` and Mode B's regression is ``S_jj^-1 (S W E)_j``. So the
estimation runs on a stack of ``B`` matrices ``S`` (shape ``B x p x p``): the full sample is
``B = 1`` and a bootstrap is ``B`` resampled matrices, estimated together, each replicate
iterating until its own stopping rule holds. The steps follow R plspm's ``get_weights``
(Lohmöller's algorithm) step for step, including its stopping rule, so that estimates and
iteration counts agree with it.
"""

from __future__ import annotations

import numpy as np

from ._spec import ModelSpec


def bsolve(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve ``A x = b`` for stacks ``A (B, m, m)``, ``b (B, m)``; NaN where ``A`` is singular."""
    try:
        return np.linalg.solve(A, b[..., None])[..., 0]
    except np.linalg.LinAlgError:
        out = np.full(b.shape, np.nan)
        for i in range(len(A)):
            try:
                out[i] = np.linalg.solve(A[i], b[i])
            except np.linalg.LinAlgError:
                pass
        return out


def _corr(C: np.ndarray) -> np.ndarray:
    d = np.sqrt(np.einsum("bii->bi", C))
    return C / (d[:, :, None] * d[:, None, :])


def inner_weights(R: np.ndarray, path: np.ndarray, scheme: str) -> np.ndarray:
    """Inner weights ``E (B, L, L)`` from the LV proxies' correlations ``R`` (R plspm).

    centroid: the sign of the correlation of adjacent constructs; factorial: the
    correlation; path: for a construct's predecessors, the coefficients of its regression
    on them, and for its successors, the correlations.
    """
    adj = (path + path.T) > 0
    if scheme == "centroid":
        return np.sign(R) * adj
    if scheme == "factorial":
        return R * adj
    E = np.zeros_like(R)
    for k in range(path.shape[0]):
        pred = np.flatnonzero(path[k])
        if pred.size:
            E[:, pred, k] = bsolve(R[:, pred][:, :, pred], R[:, pred, k])
        succ = np.flatnonzero(path[:, k])
        if succ.size:
            E[:, succ, k] = R[:, succ, k]
    return E


def fit_weights(S: np.ndarray, spec: ModelSpec, scheme: str, n: int, tol: float,
                max_iter: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Outer weights of each covariance matrix in ``S (B, p, p)``.

    Returns ``W (B, p, L)`` (block-diagonal; each LV ``X W`` has variance 1 and the sign
    that makes most of its block's loadings positive), the iterations each replicate took
    and whether it converged (``sum((|w_old| - |w_new|)^2) < tol`` within ``max_iter``
    iterations). ``n`` is the number of respondents (R plspm scales the LV proxies to a
    standard deviation of ``sqrt((n - 1) / n)``; it sizes the weights the stopping rule
    compares, not the estimates).
    """
    B, p, _ = S.shape
    odm = spec.odm
    L = odm.shape[1]
    sdv2 = (n - 1) / n
    idx_b = [np.flatnonzero(spec.block_index == k) for k in range(L)]
    mode_b = [k for k, c in enumerate(spec.constructs) if spec.modes[c] == "B"]
    # start: each block's items summed, scaled to unit variance
    v0 = np.einsum("bll->bl", odm.T[None] @ S @ odm[None])
    W = odm[None, :, :] / np.sqrt(v0)[:, None, :]
    w_old = W.sum(axis=2)
    iters = np.zeros(B, dtype=int)
    ok = np.zeros(B, dtype=bool)
    active = np.arange(B)
    for it in range(1, max_iter + 1):
        Sa, Wa = S[active], W[active]
        SW = Sa @ Wa
        C = np.swapaxes(Wa, 1, 2) @ SW
        d = np.sqrt(np.einsum("bii->bi", C))
        R = C / (d[:, :, None] * d[:, None, :])
        E = inner_weights(R, spec.path, scheme)
        G = (SW * (sdv2 / d)[:, None, :]) @ E          # cov(X, Z), Z = Y E
        Wn = G * odm
        for k in mode_b:
            j = idx_b[k]
            Wn[:, j, k] = bsolve(Sa[:, j][:, :, j], G[:, j, k])
        w_new = Wn.sum(axis=2)
        crit = ((np.abs(w_old[active]) - np.abs(w_new)) ** 2).sum(axis=1)
        W[active] = Wn
        w_old[active] = w_new
        iters[active] = it
        done = crit < tol
        ok[active[done]] = True
        bad = ~np.isfinite(crit)
        active = active[~done & ~bad]
        if not active.size:
            break
    W = W / np.sqrt((W * (S @ W)).sum(axis=1))[:, None, :]
    # sign: the LV agrees with most of its block (R plspm's get_scores)
    load = (S @ W) / np.sqrt(np.einsum("bii->bi", S))[:, :, None]
    sign = np.sign((np.sign(load) * odm[None]).sum(axis=1))
    sign[sign == 0] = -1
    W = W * sign[:, None, :]
    ok &= np.isfinite(W).all(axis=(1, 2))
    return W, iters, ok


def inner_model(S: np.ndarray, W: np.ndarray, spec: ModelSpec) -> dict[str, np.ndarray]:
    """Everything that follows from the weights: LV correlations, paths, R², effects,
    loadings and cross-loadings, per replicate."""
    SW = S @ W
    RY = np.swapaxes(W, 1, 2) @ SW                     # LV correlations (variances are 1)
    B_, L = RY.shape[0], RY.shape[1]
    paths = np.zeros((B_, L, L))
    r2 = np.zeros((B_, L))
    for k in range(L):
        pred = np.flatnonzero(spec.path[k])
        if pred.size:
            beta = bsolve(RY[:, pred][:, :, pred], RY[:, pred, k])
            paths[:, k, pred] = beta
            r2[:, k] = (beta * RY[:, pred, k]).sum(axis=1)
    eye = np.eye(L)
    total = np.linalg.inv(eye[None] - paths) - eye[None]
    xload = SW / np.sqrt(np.einsum("bii->bi", S))[:, :, None]
    loadings = (xload * spec.odm[None]).sum(axis=2)
    return {"lv_corr": RY, "paths": paths, "r2": r2, "total": total,
            "indirect": total - paths, "crossloadings": xload, "loadings": loadings}


def boot_counts(rng: np.random.Generator, B: int, n: int) -> np.ndarray:
    """How often each respondent is drawn in each of ``B`` resamples of ``n`` (``B x n``)."""
    draws = rng.integers(0, n, size=(B, n), dtype=np.int32 if n < 2**31 else np.int64)
    out = np.empty((B, n))
    for b in range(B):
        out[b] = np.bincount(draws[b], minlength=n)
    return out


def moments(X0: np.ndarray, V: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted means ``(B, p)`` and population covariances ``(B, p, p)`` of ``X0`` under
    each row of respondent weights ``V (B, n)`` (each row sums to ``n``).

    ``X0`` should be centred (at the full-sample mean) so that the second moments lose no
    precision. For small ``p`` one matrix product with the pairwise products of the
    columns does all replicates at once.
    """
    n, p = X0.shape
    m = V @ X0 / n
    iu = np.triu_indices(p)
    if n * len(iu[0]) <= 1e7:
        M2 = V @ (X0[:, iu[0]] * X0[:, iu[1]]) / n
        S = np.empty((V.shape[0], p, p))
        S[:, iu[0], iu[1]] = M2
        S[:, iu[1], iu[0]] = M2
    else:
        S = np.stack([(X0 * v[:, None]).T @ X0 / n for v in V])
    S -= m[:, :, None] * m[:, None, :]
    return m, S
