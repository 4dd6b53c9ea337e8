"""Confirmatory factor analysis by ML with lavaan's conventions and fit indices."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats

from .._util import as_list, resolve_weights
from ..errors import MeasurementError, SurveykitWarning
from ._common import (
    HeywoodWarning,
    LatentCorrelationWarning,
    MissingData,
    ScaleRange,
    _check_pd,
    _coverage,
    _is_questionnaire,
    _item_matrix,
    _Result,
    _std,
    _weighted_moments,
    from_questionnaire,
)


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


def _cfa_sandwich(t, X, w, S, pattern) -> np.ndarray:
    """Huber-White covariance of the CFA estimates under sampling weights.

    ``A^-1 B A^-1`` with ``A`` the observed information of the weighted likelihood
    (numerical Hessian of the analytic gradient) and ``B = sum w_i^2 s_i s_i'`` from the
    casewise scores, weights scaled to sum to N: lavaan's robust SEs with
    ``sampling.weights``.
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
    B = (scores * (w ** 2)[:, None]).T @ scores
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


def _h1_parts(Xc: np.ndarray, w: np.ndarray, S: np.ndarray, Sig: np.ndarray):
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
    B1 = SC.T @ SC / w.sum()
    return A1, B1


def _yb_scaling(A1, B1, B1_model, Delta, E, df: int) -> float:
    """Yuan-Bentler (Mplus) scaling factor, lavaan ``lav_test_yuan_bentler_mplus_trace``:
    ``(tr(A1^-1 B1) - tr(Delta' B1_model Delta E^-1)) / df``; ``A1``, ``B1`` of the saturated
    model at the sample covariance ("unstructured"), ``B1_model`` at the model's."""
    B0 = Delta.T @ B1_model @ Delta
    return float((np.trace(np.linalg.solve(A1, B1)) - np.trace(np.linalg.solve(E, B0))) / df)


def _mlr_fit(t, X, w, S, Sig, pattern, chi2, base, dof, base_df, N) -> dict:
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
    A1, B1 = _h1_parts(Xc, w, S, S)                             # saturated, at S
    _, B1m = _h1_parts(Xc, w, S, Sig)
    scale = _yb_scaling(A1, B1, B1m, Delta, E, dof)
    Sb = np.diag(np.diag(S))                                    # the independence model
    A1b, B1b = _h1_parts(Xc, w, S, Sb)
    Db = np.zeros((len(r), p))
    Db[np.flatnonzero(r == c), np.arange(p)] = 1.0
    scale_b = _yb_scaling(A1, B1, B1b, Db, Db.T @ A1b @ Db, base_df)
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
        "pvalue_scaled": float(stats.chi2.sf(chi_s, dof)),
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


@dataclass(repr=False)
class CFAResult(_Result):
    """A confirmatory factor model fitted by ML (see :func:`cfa`)."""

    model: dict[str, list[str]]
    items: list[str]
    loadings: pd.DataFrame            # tidy: factor, item, estimate, se, z, p, std
    factor_cor: pd.DataFrame
    residual_var: pd.Series
    fit: pd.Series
    n: int
    weighted: bool
    converged: bool
    heywood: list[str]
    rows_dropped: int = 0
    latent_eigenvalues: np.ndarray | None = None
    estimator: str = "ML"
    missing_data: MissingData | None = None
    item_labels: dict | None = None
    _mean: np.ndarray | None = None
    _sigma: np.ndarray | None = None
    _lam: np.ndarray | None = None
    _phi: np.ndarray | None = None
    _reverse: list[str] = field(default_factory=list)
    _scale_range: ScaleRange = None

    @property
    def _title(self) -> str:  # type: ignore[override]
        f = self.fit
        if "chisq_scaled" in f:
            return (f"CFA (MLR, n = {self.n}): scaled chi2({f['df']:.0f}) = "
                    f"{f['chisq_scaled']:.2f} (scaling factor {f['chisq_scaling_factor']:.3f}), "
                    f"robust CFI = {f['cfi_robust']:.3f}, TLI = {f['tli_robust']:.3f}, RMSEA = "
                    f"{f['rmsea_robust']:.3f} [{f['rmsea_ci_low_robust']:.3f}, "
                    f"{f['rmsea_ci_high_robust']:.3f}], SRMR = {f['srmr']:.3f}")
        return (f"CFA (ML, n = {self.n}): chi2({f['df']:.0f}) = {f['chisq']:.2f}, "
                f"CFI = {f['cfi']:.3f}, TLI = {f['tli']:.3f}, RMSEA = {f['rmsea']:.3f} "
                f"[{f['rmsea_ci_low']:.3f}, {f['rmsea_ci_high']:.3f}], SRMR = {f['srmr']:.3f}")

    def to_frame(self) -> pd.DataFrame:
        """Tidy loadings: ``factor, item, estimate, se, z, p, std`` (std = standardized)."""
        return self.loadings.copy()

    def fit_frame(self) -> pd.DataFrame:
        """One row of fit indices."""
        return self.fit.to_frame().T

    def _shown(self) -> pd.DataFrame:
        return self._labelled(self.loadings)

    def _more(self) -> list[tuple[str, pd.DataFrame]]:
        return [("Factor correlations", self.factor_cor)]

    def _notes(self) -> list[str]:
        heywood = ([f"Heywood case(s): {', '.join(self.heywood)} (negative residual variance "
                    f"or standardized loading >= 1)."] if self.heywood else [])
        return super()._notes() + heywood

    def scores(self, df: pd.DataFrame) -> pd.DataFrame:
        """Regression factor scores ``(x - mean) Sigma^-1 Lambda Phi`` (lavaan's lavPredict)."""
        _, X = _item_matrix(df, self.items, reverse=self._reverse,
                            scale_range=self._scale_range)
        W = np.linalg.solve(self._sigma, self._lam @ self._phi)
        return pd.DataFrame((X - self._mean) @ W, index=df.index, columns=list(self.model))

    def add_scores(self, df: pd.DataFrame, *, prefix: str = "") -> pd.DataFrame:
        """A copy of ``df`` with one factor-score column per factor (``prefix + factor``)."""
        out = df.copy()
        sc = self.scores(df)
        for f in self.model:
            out[prefix + f] = sc[f]
        return out


def cfa(df: pd.DataFrame, model: Mapping[str, Sequence[str]], *, weights=None,
        missing: Literal["listwise"] = "listwise", reverse=None,
        scale_range: ScaleRange = None,
        estimator: Literal["ML", "MLR"] | None = None, constructs=None) -> CFAResult:
    """Confirmatory factor analysis by maximum likelihood, with lavaan's fit indices.

    Factors have unit variance (lavaan ``std.lv=TRUE``) and are free to correlate; each item
    loads where ``model`` says (an item may appear under two factors); residuals are
    uncorrelated. ``chisq = N * F_ML`` (lavaan's default), ``CFI``, ``TLI``,
    ``RMSEA`` with its 90% CI from the noncentral chi-square, ``SRMR`` (Bentler's, as
    lavaan's ``srmr``).

    Parameters
    ----------
    model : dict or Questionnaire
        ``{factor: [items]}``, or a questionnaire: its constructs (or those named in
        ``constructs=``), reverse keys, scale ranges and item labels (``reverse`` /
        ``scale_range`` given here take precedence).
    weights : None, str or array-like
        Respondent weights: the model is fitted to the weighted covariance matrix (point
        estimates and chi-square as lavaan with ``sampling.weights`` and ``estimator="ML"``,
        i.e. the weighted covariance matrix with the unweighted N), and robust
        (Huber-White) standard errors as lavaan's under sampling weights. Unweighted, the
        standard errors come from the expected information (lavaan's default).
    missing : {"listwise"}
        Complete rows only, as lavaan's default ``estimator = "ML"`` with
        ``missing = "listwise"`` (full-information ML is not offered): unlike the other
        measurement functions, whose default is pairwise (as psych), a likelihood needs
        one data set. ``missing_data`` and ``summary()`` state the rows used and left
        out, and a warning says how many rows were left out.
    estimator : {"ML", "MLR"}, optional
        ``MLR`` (the default with weights, as the ML chi-square does not hold under sampling
        weights) adds lavaan's ``estimator = "MLR"`` test and indices to ``fit``: the
        Yuan-Bentler (Mplus) scaled chi-square (``chisq_scaled``, ``chisq_scaling_factor``,
        ``pvalue_scaled``, the baseline's likewise), ``cfi_scaled``, ``tli_scaled``,
        ``rmsea_scaled`` and the robust ``cfi_robust``, ``tli_robust``, ``rmsea_robust``
        with its CI (Brosseau-Liard & Savalei), and robust (Huber-White) SEs also
        unweighted. ``ML`` (the default unweighted) is lavaan's ``estimator = "ML"``.

    Returns
    -------
    CFAResult
        ``loadings`` (unstandardized estimate, se, z, p, standardized ``std``),
        ``factor_cor``, ``residual_var``, ``fit`` and ``scores()`` / ``add_scores()``.

    Warns
    -----
    HeywoodWarning
        Naming each item with a negative residual variance or a standardized loading >= 1.
    LatentCorrelationWarning
        When the factor correlation matrix is not positive definite (as lavaan's "covariance
        matrix of latent variables is not positive definite"), with its smallest eigenvalue
        and the pair of factors behind it; ``latent_eigenvalues`` holds the eigenvalues.
    SurveykitWarning
        With the number of rows left out (a missing answer on a model item, or weight 0);
        also in ``rows_dropped``.

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> f = rng.normal(size=(500, 2))
    >>> d = pd.DataFrame({f"x{i}": f[:, i // 3] + rng.normal(size=500) for i in range(6)})
    >>> res = cfa(d, {"A": ["x0", "x1", "x2"], "B": ["x3", "x4", "x5"]})
    >>> int(res.fit["df"]), bool(res.fit["cfi"] > 0.95)
    (8, True)
    """
    if missing != "listwise":
        raise MeasurementError(f"missing={missing!r}: cfa uses complete rows only "
                               f"(missing='listwise')")
    if estimator not in (None, "ML", "MLR"):
        raise MeasurementError(f"estimator={estimator!r}; use 'ML' or 'MLR'")
    estimator = estimator or ("MLR" if weights is not None else "ML")
    item_labels: dict = {}
    if _is_questionnaire(model):
        spec = from_questionnaire(model, constructs)
        model, item_labels = spec["model"], spec["item_labels"]
        reverse = spec["reverse"] if reverse is None else reverse
        scale_range = spec["scale_range"] if scale_range is None else scale_range
    elif constructs is not None:
        raise MeasurementError("constructs= selects constructs of a questionnaire; pass the "
                               "questionnaire as the model")
    if not isinstance(model, Mapping) or not model:
        raise MeasurementError("model must be a non-empty dict {factor: [items]}")
    model = {str(f): as_list(v) for f, v in model.items()}
    for f, its in model.items():
        if len(its) < 2:
            raise MeasurementError(f"factor {f!r} has {len(its)} item(s); a factor needs at "
                                   f"least 2 items (3 if it is the only factor)")
    items: list[str] = []
    for its in model.values():
        items += [c for c in its if c not in items]
    items, X = _item_matrix(df, items, reverse=reverse, scale_range=scale_range, min_items=3,
                            what="model items")
    w = resolve_weights(df, weights, error=MeasurementError)
    S, _, n, neff, rows = _weighted_moments(X, w, "listwise")
    dropped = int(len(X) - rows.sum())
    if dropped:
        warnings.warn(f"cfa: {dropped} of {len(X)} rows left out (a missing answer on a model "
                      f"item{', or weight 0' if weights is not None else ''}); the model is "
                      f"fitted to the {int(rows.sum())} complete rows (listwise)",
                      SurveykitWarning, stacklevel=2)
    _check_pd(_std(S), items, "cfa")
    factors = list(model)
    p, m = len(items), len(factors)
    pattern = np.zeros((p, m), dtype=bool)
    for j, f in enumerate(factors):
        for c in model[f]:
            pattern[items.index(c), j] = True
    q = int(pattern.sum()) + m * (m - 1) // 2 + p
    dof = p * (p + 1) // 2 - q
    if dof < 0:
        raise MeasurementError(f"the model is not identified: {q} free parameters for "
                               f"{p * (p + 1) // 2} variances/covariances (df = {dof}); add "
                               f"items or constrain the model")
    t, fmin, L, Phi, Th, Sig, H, converged = _cfa_ml(S, pattern)
    if not converged:
        warnings.warn("the CFA did not converge; treat the estimates with caution",
                      SurveykitWarning, stacklevel=2)
    ev, vec = np.linalg.eigh(Phi)
    if m > 1 and ev[0] < -1e-12:
        a, b = sorted(np.argsort(-np.abs(vec[:, 0]))[:2])
        warnings.warn(f"cfa: the factor correlation matrix is not positive definite (smallest "
                      f"eigenvalue {ev[0]:.3g}; {factors[a]} - {factors[b]} r = "
                      f"{Phi[a, b]:.3f}): these factors are not distinct as modelled; merge "
                      "them or revise the model (lavaan warns too)",
                      LatentCorrelationWarning, stacklevel=2)
    N = float(n)
    chi2 = N * fmin
    base = N * (np.log(np.diag(S)).sum() - np.linalg.slogdet(S)[1])
    base_df = p * (p - 1) // 2
    cfi_den = max(chi2 - dof, base - base_df, 0.0)
    cfi = 1.0 - max(chi2 - dof, 0.0) / cfi_den if cfi_den > 0 else 1.0
    tli = ((base / base_df - chi2 / dof) / (base / base_df - 1.0)) if dof > 0 else float("nan")
    rmsea = math.sqrt(max(chi2 - dof, 0.0) / (dof * N)) if dof > 0 else float("nan")
    lo, hi = _rmsea_ci(chi2, dof, N) if dof > 0 else (float("nan"), float("nan"))
    sd = np.sqrt(np.diag(S))
    resid = (S - Sig) / np.outer(sd, sd)
    srmr = math.sqrt(np.mean(resid[np.tril_indices(p)] ** 2))
    fit = pd.Series({"chisq": chi2, "df": float(dof),
                     "pvalue": float(stats.chi2.sf(chi2, dof)) if dof > 0 else float("nan"),
                     "cfi": cfi, "tli": tli, "rmsea": rmsea, "rmsea_ci_low": lo,
                     "rmsea_ci_high": hi, "srmr": srmr, "baseline_chisq": base,
                     "baseline_df": float(base_df), "n": N,
                     "n_eff": float(neff)}, name="fit")
    if estimator == "MLR" and dof > 0:
        fit = pd.concat([fit, pd.Series(_mlr_fit(t, X[rows], w[rows], S, Sig, pattern, chi2,
                                                 base, dof, base_df, N))]).rename("fit")
    try:
        if weights is None and estimator == "ML":  # expected information, lavaan's default
            cov_t = np.linalg.inv(H) * 2.0 / N
        else:                                     # robust sandwich, as lavaan with weights
            cov_t = _cfa_sandwich(t, X[rows], w[rows], S, pattern)
        se_all = np.sqrt(np.maximum(np.diag(cov_t), 0.0))
    except np.linalg.LinAlgError:
        se_all = np.full(len(t), np.nan)
    li, _ = _cfa_parts(pattern)
    sig_sd = np.sqrt(np.diag(Sig))
    rows_out = []
    for k, (i, f) in enumerate(li):
        est, se = L[i, f], se_all[k]
        z = est / se if se > 0 else np.nan
        rows_out.append({"factor": factors[f], "item": items[i], "estimate": est, "se": se,
                         "z": z, "p": 2 * stats.norm.sf(abs(z)) if np.isfinite(z) else np.nan,
                         "std": est / sig_sd[i]})
    loadings = pd.DataFrame(rows_out)
    heywood = sorted({items[i] for i in range(p) if Th[i] <= 0}
                     | set(loadings.loc[loadings["std"].abs() >= 1, "item"]))
    if heywood:
        warnings.warn(f"Heywood case: item(s) {', '.join(map(repr, heywood))} have a negative "
                      f"residual variance or a standardized loading >= 1; the solution is "
                      f"improper: check the items and the model", HeywoodWarning, stacklevel=2)
    wr = w[rows]
    return CFAResult(
        model=model, items=items, loadings=loadings,
        factor_cor=pd.DataFrame(Phi, index=factors, columns=factors),
        residual_var=pd.Series(Th, index=items, name="residual_var"), fit=fit, n=n,
        weighted=weights is not None, converged=converged, heywood=heywood,
        estimator=estimator,
        rows_dropped=dropped, latent_eigenvalues=ev[::-1].copy(),
        missing_data=_coverage(X, w, "listwise", "lavaan's default for ML"),
        item_labels=item_labels,
        _mean=wr @ X[rows] / wr.sum(), _sigma=Sig, _lam=L, _phi=Phi,
        _reverse=as_list(reverse), _scale_range=scale_range)
