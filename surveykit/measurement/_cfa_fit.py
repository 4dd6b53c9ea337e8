"""The ML fit of a confirmatory factor model and its standard errors and tests: Fisher
scoring, the (cluster-robust) sandwich, lavaan's MLR scaled test, replicate refits."""

from __future__ import annotations

import math

import numpy as np

from .._dist import chi2_sf
from ._common import _weighted_moments


def _cfa_parts(pattern: np.ndarray):
    p, m = pattern.shape
    li = np.argwhere(pattern)
    tri = [(a, b) for a in range(m) for b in range(a + 1, m)]
    return li, tri


def _cfa_unpack(t, pattern, li, tri):
    p, m = pattern.shape
    q_l = len(li)
    L = np.zeros((p, m))
    L[li[:, 0], li[:, 1]] = t[:q_l]
    Phi = np.eye(m)
    for k, (a, b) in enumerate(tri):
        Phi[a, b] = Phi[b, a] = t[q_l + k]
    Th = np.asarray(t[q_l + len(tri):], dtype=float)
    return L, Phi, Th


def _cfa_dsigma(L, Phi, li, tri, p):
    """dSigma/dtheta for every free parameter, shape (q, p, p)."""
    LP = L @ Phi
    mats = []
    for i, f in li:
        d = np.zeros((p, p))
        d[i, :] += LP[:, f]
        d[:, i] += LP[:, f]
        mats.append(d)
    for a, b in tri:
        d = np.outer(L[:, a], L[:, b])
        mats.append(d + d.T)
    for i in range(p):
        d = np.zeros((p, p))
        d[i, i] = 1.0
        mats.append(d)
    return np.array(mats)


def _cfa_ml(S: np.ndarray, pattern: np.ndarray, max_iter: int = 500):
    """Minimise F_ML = log|Sigma| + tr(S Sigma^-1) - log|S| - p by Fisher scoring."""
    from scipy import optimize

    p, m = pattern.shape
    li, tri = _cfa_parts(pattern)
    logdet_s = np.linalg.slogdet(S)[1]
    sd = np.sqrt(np.diag(S))
    Rs = S / np.outer(sd, sd)
    t = []
    for i, f in li:                               # start: average correlation in the block
        others = [j for j in np.flatnonzero(pattern[:, f]) if j != i]
        r = np.abs(Rs[i, others]).mean() if others else 0.5
        t.append(sd[i] * math.sqrt(min(max(r, 0.05), 0.95)))
    t += [0.0] * len(tri)
    t += list(np.diag(S) * 0.5)
    t = np.array(t, dtype=float)

    def fval(tt):
        L, Phi, Th = _cfa_unpack(tt, pattern, li, tri)
        Sig = L @ Phi @ L.T + np.diag(Th)
        sign, logdet = np.linalg.slogdet(Sig)
        if sign <= 0:
            return np.inf, None
        Si = np.linalg.inv(Sig)
        return logdet + np.trace(S @ Si) - logdet_s - p, (L, Phi, Th, Sig, Si)

    f, parts = fval(t)
    converged = False
    for _ in range(max_iter):
        L, Phi, Th, Sig, Si = parts
        dS = _cfa_dsigma(L, Phi, li, tri, p)
        G = Si @ (Sig - S) @ Si
        g = np.einsum("ij,tij->t", G, dS)
        A = np.einsum("ij,tjk->tik", Si, dS)
        H = np.einsum("tij,sji->ts", A, A)
        step = np.linalg.lstsq(H, g, rcond=None)[0]
        if np.max(np.abs(g)) < 1e-10:
            converged = True
            break
        a = 1.0
        for _ in range(30):
            f_new, parts_new = fval(t - a * step)
            if f_new <= f + 1e-14:
                break
            a /= 2
        else:
            break
        t, f, parts = t - a * step, f_new, parts_new
    if not converged:                             # polish with a quasi-Newton method
        def obj(tt):
            val, pr = fval(tt)
            if pr is None:
                return 1e10, np.zeros_like(tt)
            L, Phi, Th, Sig, Si = pr
            G = Si @ (Sig - S) @ Si
            return val, np.einsum("ij,tij->t", G, _cfa_dsigma(L, Phi, li, tri, p))
        res = optimize.minimize(obj, t, jac=True, method="BFGS", options={"gtol": 1e-9})
        t = res.x
        f, parts = fval(t)
        converged = bool(res.success) or np.isfinite(f)
    L, Phi, Th, Sig, Si = parts
    dS = _cfa_dsigma(L, Phi, li, tri, p)
    A = np.einsum("ij,tjk->tik", Si, dS)
    H = np.einsum("tij,sji->ts", A, A)
    return t, f, L, Phi, Th, Sig, H, converged


def _cfa_sandwich(t, X, w, S, pattern, meat=None) -> np.ndarray:
    """Huber-White covariance of the CFA estimates under sampling weights.

    ``A^-1 B A^-1`` with ``A`` the observed information of the weighted likelihood
    (numerical Hessian of the analytic gradient) and ``B = sum w_i^2 s_i s_i'`` from the
    casewise scores, weights scaled to sum to N: lavaan's robust SEs with
    ``sampling.weights``. ``meat``, given, turns the weighted casewise scores ``w_i s_i``
    into ``B`` instead (:func:`_design_meat`: the design's variance of their total).
    """
    p = pattern.shape[0]
    li, tri = _cfa_parts(pattern)
    N = len(w)
    w = w / w.sum() * N
    D = X - w @ X / N
    A = 0.5 * N * _observed_information(t, S, pattern)   # observed information, log-lik
    L, Phi, Th = _cfa_unpack(t, pattern, li, tri)
    Si = np.linalg.inv(L @ Phi @ L.T + np.diag(Th))
    dS = _cfa_dsigma(L, Phi, li, tri, p)
    Q = D @ Si
    scores = (-0.5 * np.einsum("ij,tji->t", Si, dS)[None, :]
              + 0.5 * np.einsum("ni,tij,nj->nt", Q, dS, Q))
    Z = scores * w[:, None]
    B = Z.T @ Z if meat is None else meat(Z)
    Ai = np.linalg.inv(A)
    return Ai @ B @ Ai


def _vech_index(p: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of each element of vech (lower triangle, column by column)."""
    cols, rows = np.triu_indices(p)           # column-major lower triangle = row-major upper
    return rows, cols


def _duplication(p: int) -> np.ndarray:
    """The duplication matrix D: vec(A) = D vech(A) for symmetric A."""
    r, c = _vech_index(p)
    D = np.zeros((p * p, len(r)))
    k = np.arange(len(r))
    D[c * p + r, k] = 1.0
    D[r * p + c, k] = 1.0
    return D


def _design_meat(design, rows: np.ndarray):
    """The meat of the sandwich under a sample design: the covariance of the total of the
    weighted casewise scores ``Z`` (rows of the complete cases) by the design's
    linearisation, R ``svyrecvar``: scores summed within PSUs, centred within strata,
    ``n_h / (n_h - 1)`` and ``(1 - f_h)``. One stage without strata: lavaan's ``cluster=``
    meat ``nC / (nC - 1) sum_c z_c z_c'`` (the scores sum to zero at the estimates)."""
    def meat(Z: np.ndarray) -> np.ndarray:
        full = np.zeros((len(rows), Z.shape[1]))
        full[rows] = Z
        return design.variance(full)
    return meat


def _h1_parts(Xc: np.ndarray, w: np.ndarray, S: np.ndarray, Sig: np.ndarray, meat=None):
    """Unit h1 information (observed, at the model-implied ``Sig``: lavaan's "structured")
    and first-order information (casewise vech(Sigma) scores times the weights) of the
    saturated covariance model, as lavaan's ``lav_mvnorm_information_observed_samplestats``
    and ``lav_mvnorm_information_firstorder``."""
    p = S.shape[0]
    D = _duplication(p)
    Si = np.linalg.inv(Sig)
    A1 = 0.5 * D.T @ np.kron(Si, Si @ (2 * S - Sig) @ Si) @ D
    r, c = _vech_index(p)
    Y = Xc @ Si
    SC = Y[:, r] * Y[:, c] - Si[r, c]
    SC[:, r == c] /= 2
    SC = SC * w[:, None]
    B1 = (SC.T @ SC if meat is None else meat(SC)) / w.sum()
    return A1, B1


def _yb_scaling(A1, B1, B1_model, Delta, E, df: int) -> float:
    """Yuan-Bentler (Mplus) scaling factor, lavaan ``lav_test_yuan_bentler_mplus_trace``:
    ``(tr(A1^-1 B1) - tr(Delta' B1_model Delta E^-1)) / df``; ``A1``, ``B1`` of the saturated
    model at the sample covariance ("unstructured"), ``B1_model`` at the model's."""
    B0 = Delta.T @ B1_model @ Delta
    return float((np.trace(np.linalg.solve(A1, B1)) - np.trace(np.linalg.solve(E, B0))) / df)


def _mlr_fit(t, X, w, S, Sig, pattern, chi2, base, dof, base_df, N, meat=None) -> dict:
    """lavaan's ``estimator = "MLR"`` test and fit indices: the ML chi-square scaled by the
    Yuan-Bentler (Mplus) factor, the baseline likewise, and the robust CFI / TLI / RMSEA of
    Brosseau-Liard & Savalei (lavaan ``cfi.robust``, ``tli.robust``, ``rmsea.robust``)."""
    p = S.shape[0]
    w = w / w.sum() * len(w)                      # lavaan: sampling weights sum to N
    Xc = X - w @ X / w.sum()
    li, tri = _cfa_parts(pattern)
    L, Phi, _ = _cfa_unpack(t, pattern, li, tri)
    r, c = _vech_index(p)
    Delta = _cfa_dsigma(L, Phi, li, tri, p)[:, r, c].T          # d vech(Sigma) / d theta
    E = _observed_information(t, S, pattern) / 2.0              # unit observed information
    A1, B1 = _h1_parts(Xc, w, S, S, meat)                       # saturated, at S
    _, B1m = _h1_parts(Xc, w, S, Sig, meat)
    # The means' part of both traces: lavaan (0.6-14) counts it with clusters only (the
    # PSU totals of w_i (x_i - mean)); unclustered it cancels unweighted and lavaan leaves
    # it out weighted (its fixture matches only so).
    Gm = meat(Xc * w[:, None]) / w.sum() if meat is not None else None

    def mean_trace(Sig_model):
        if Gm is None:
            return 0.0
        return float(np.trace(np.linalg.solve(S, Gm)) - np.trace(np.linalg.solve(Sig_model, Gm)))

    scale = _yb_scaling(A1, B1, B1m, Delta, E, dof) + mean_trace(Sig) / dof
    Sb = np.diag(np.diag(S))                                    # the independence model
    A1b, B1b = _h1_parts(Xc, w, S, Sb, meat)
    Db = np.zeros((len(r), p))
    Db[np.flatnonzero(r == c), np.arange(p)] = 1.0
    scale_b = _yb_scaling(A1, B1, B1b, Db, Db.T @ A1b @ Db, base_df) + mean_trace(Sb) / base_df
    chi_s, base_s = chi2 / scale, base / scale_b

    def cfi(x2, d, x2b, db, ch=1.0, chb=1.0):
        t1, t2 = max(x2 - ch * d, 0.0), max(x2 - ch * d, x2b - chb * db, 0.0)
        return 1.0 if t1 == 0 and t2 == 0 else 1.0 - t1 / t2

    def tli(x2, d, x2b, db, ch=1.0, chb=1.0):
        t1, t2 = (x2 - ch * d) * db, (x2b - chb * db) * d
        return 1.0 - t1 / t2 if t2 != 0 else 1.0

    lo, hi = _rmsea_ci(chi_s, dof, N)
    return {
        "chisq_scaled": chi_s, "chisq_scaling_factor": scale,
        "pvalue_scaled": float(chi2_sf(chi_s, dof)),
        "baseline_chisq_scaled": base_s, "baseline_chisq_scaling_factor": scale_b,
        "cfi_scaled": cfi(chi_s, dof, base_s, base_df),
        "tli_scaled": tli(chi_s, dof, base_s, base_df),
        "rmsea_scaled": math.sqrt(max(chi_s / (N * dof) - 1 / N, 0.0)),
        "cfi_robust": cfi(chi2, dof, base, base_df, scale, scale_b),
        "tli_robust": tli(chi2, dof, base, base_df, scale, scale_b),
        "rmsea_robust": math.sqrt(max(chi2 / (N * dof) - scale / N, 0.0)),
        "rmsea_ci_low_robust": lo * math.sqrt(scale),
        "rmsea_ci_high_robust": hi * math.sqrt(scale),
    }


def _observed_information(t, S, pattern) -> np.ndarray:
    """Hessian of F_ML (symmetrized, numerical from the analytic gradient): twice the unit
    observed information."""
    p = pattern.shape[0]
    li, tri = _cfa_parts(pattern)

    def grad(tt):
        L, Phi, Th = _cfa_unpack(tt, pattern, li, tri)
        Sig = L @ Phi @ L.T + np.diag(Th)
        Si = np.linalg.inv(Sig)
        return np.einsum("ij,tij->t", Si @ (Sig - S) @ Si, _cfa_dsigma(L, Phi, li, tri, p))

    q = len(t)
    Hn = np.empty((q, q))
    for k in range(q):
        h = 1e-6 * max(1.0, abs(t[k]))
        e = np.zeros(q)
        e[k] = h
        Hn[:, k] = (grad(t + e) - grad(t - e)) / (2 * h)
    return 0.5 * (Hn + Hn.T)


def _rmsea_ci(chi2: float, dof: int, n: float, level: float = 0.90) -> tuple[float, float]:
    from scipy import optimize, stats

    lo_p, hi_p = 1 - (1 - level) / 2, (1 - level) / 2

    def root(target):
        fn = lambda lam: stats.ncx2.cdf(chi2, dof, lam) - target if lam > 0 else \
            stats.chi2.cdf(chi2, dof) - target  # noqa: E731
        if fn(0.0) < 0:
            return 0.0
        hi = max(chi2, 1.0)
        while fn(hi) > 0:
            hi *= 2
        return optimize.brentq(fn, 0.0, hi, xtol=1e-12)

    return (math.sqrt(root(lo_p) / (n * dof)), math.sqrt(root(hi_p) / (n * dof)))


def _replicate_cov(design, t, X, rows, pattern) -> np.ndarray:
    """Replicate covariance of the CFA estimates: the ML fit redone with every replicate
    weight (complete rows with a positive replicate weight), each factor's sign aligned
    with the full-sample loadings, variance by the design's formula (R ``svrVar``)."""
    li, tri = _cfa_parts(pattern)
    q_l = len(li)
    th = np.full((design.n_replicates, len(t)), np.nan)
    for r in range(design.n_replicates):
        wr = design.replicate_weight(r)
        keep = rows & (wr > 0)
        if keep.sum() <= X.shape[1]:
            continue
        S_r = _weighted_moments(X[keep], wr[keep], "listwise")[0]
        t_r, *_, ok = _cfa_ml(S_r, pattern)
        if not ok:
            continue
        sign = np.ones(pattern.shape[1])
        for f in range(pattern.shape[1]):
            k = li[:, 1] == f
            sign[f] = 1.0 if t_r[:q_l][k] @ t[:q_l][k] >= 0 else -1.0
        t_r[:q_l] *= sign[li[:, 1]]
        for k, (a, b) in enumerate(tri):
            t_r[q_l + k] *= sign[a] * sign[b]
        th[r] = t_r
    return design.variance(th, t)
