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
    ScaleRange,
    _check_pd,
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
    A = 0.25 * N * (Hn + Hn.T)                    # observed information of the log-likelihood
    L, Phi, Th = _cfa_unpack(t, pattern, li, tri)
    Si = np.linalg.inv(L @ Phi @ L.T + np.diag(Th))
    dS = _cfa_dsigma(L, Phi, li, tri, p)
    Q = D @ Si
    scores = (-0.5 * np.einsum("ij,tji->t", Si, dS)[None, :]
              + 0.5 * np.einsum("ni,tij,nj->nt", Q, dS, Q))
    B = (scores * (w ** 2)[:, None]).T @ scores
    Ai = np.linalg.inv(A)
    return Ai @ B @ Ai


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
    _mean: np.ndarray | None = None
    _sigma: np.ndarray | None = None
    _lam: np.ndarray | None = None
    _phi: np.ndarray | None = None
    _reverse: list[str] = field(default_factory=list)
    _scale_range: ScaleRange = None

    @property
    def _title(self) -> str:  # type: ignore[override]
        f = self.fit
        return (f"CFA (ML, n = {self.n}): chi2({f['df']:.0f}) = {f['chisq']:.2f}, "
                f"CFI = {f['cfi']:.3f}, TLI = {f['tli']:.3f}, RMSEA = {f['rmsea']:.3f} "
                f"[{f['rmsea_ci_low']:.3f}, {f['rmsea_ci_high']:.3f}], SRMR = {f['srmr']:.3f}")

    def to_frame(self) -> pd.DataFrame:
        """Tidy loadings: ``factor, item, estimate, se, z, p, std`` (std = standardized)."""
        return self.loadings.copy()

    def fit_frame(self) -> pd.DataFrame:
        """One row of fit indices."""
        return self.fit.to_frame().T

    def summary(self) -> str:
        return (f"{self._title}\n"
                f"{self.loadings.to_string(float_format=lambda v: f'{v:.3f}')}\n\n"
                f"factor correlations\n{self.factor_cor.round(3).to_string()}")

    def _repr_html_(self) -> str:
        html = f"<h4>{self._title}</h4>" + self.loadings.to_html(float_format="%.3f",
                                                                  index=False)
        html += "<p>Factor correlations</p>" + self.factor_cor.to_html(float_format="%.3f")
        if self.heywood:
            html += f"<p><b>Heywood case(s):</b> {', '.join(self.heywood)}</p>"
        return html

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
        scale_range: ScaleRange = None) -> CFAResult:
    """Confirmatory factor analysis by maximum likelihood, with lavaan's fit indices.

    Factors have unit variance (lavaan ``std.lv=TRUE``) and are free to correlate; each item
    loads where ``model`` says (an item may appear under two factors); residuals are
    uncorrelated. ``chisq = N * F_ML`` (lavaan's default), ``CFI``, ``TLI``,
    ``RMSEA`` with its 90% CI from the noncentral chi-square, ``SRMR`` (Bentler's, as
    lavaan's ``srmr``).

    Parameters
    ----------
    model : dict or Questionnaire
        ``{factor: [items]}``, or a questionnaire: its constructs, reverse keys and scale
        ranges (``reverse`` / ``scale_range`` given here take precedence).
    weights : None, str or array-like
        Respondent weights: the model is fitted to the weighted covariance matrix (point
        estimates and chi-square as lavaan with ``sampling.weights`` and ``estimator="ML"``,
        i.e. the weighted covariance matrix with the unweighted N), and robust
        (Huber-White) standard errors as lavaan's under sampling weights. Unweighted, the
        standard errors come from the expected information (lavaan's default).
    missing : {"listwise"}
        Complete rows only (full-information ML is not offered).

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
    if _is_questionnaire(model):
        spec = from_questionnaire(model)
        model = spec["model"]
        reverse = spec["reverse"] if reverse is None else reverse
        scale_range = spec["scale_range"] if scale_range is None else scale_range
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
    try:
        if weights is None:                       # expected information, lavaan's default
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
        rows_dropped=dropped, latent_eigenvalues=ev[::-1].copy(),
        _mean=wr @ X[rows] / wr.sum(), _sigma=Sig, _lam=L, _phi=Phi,
        _reverse=as_list(reverse), _scale_range=scale_range)
