"""Confirmatory factor analysis by ML with lavaan's conventions and fit indices."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from .._dist import chi2_sf, norm_sf
from .._util import as_list, resolve_weights
from ..design._common import design_weights
from ..errors import MeasurementError, SurveykitWarning
from ._cfa_fit import (
    _cfa_ml,
    _cfa_parts,
    _cfa_sandwich,
    _design_meat,
    _mlr_fit,
    _replicate_cov,
    _rmsea_ci,
)
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
    se_method: str = ""
    missing_data: MissingData | None = None
    item_labels: dict | None = None
    _mean: np.ndarray | None = None
    _sigma: np.ndarray | None = None
    _lam: np.ndarray | None = None
    _phi: np.ndarray | None = None
    _se: np.ndarray | None = None     # SEs of loadings, factor correlations, residual vars
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
        se = [f"Standard errors: {self.se_method}."] if self.se_method else []
        return super()._notes() + se + heywood

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


def cfa(df: pd.DataFrame, model: Mapping[str, Sequence[str]], *, weights=None, design=None,
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
    design : SurveyDesign or ReplicateDesign, optional
        A sample design of ``df`` (:mod:`surveykit.design`); its weights are the sampling
        weights (leave ``weights`` out) and the estimator defaults to ``MLR``. The estimates
        are those of the weighted fit; the standard errors follow the design:

        * :class:`~surveykit.design.SurveyDesign`: cluster-robust sandwich ``A^-1 B A^-1``
          whose meat ``B`` is the design's variance of the total of the weighted casewise
          scores, R survey's ``svyrecvar``: scores summed within PSUs, centred within
          strata and multiplied by ``n_h / (n_h - 1)`` and, with an fpc, ``(1 - f_h)``.
          One stage without strata is exactly lavaan's ``cfa(..., estimator = "MLR",
          cluster = "psu", sampling.weights = "w")``: ``nC / (nC - 1) sum_c z_c z_c'``
          (lavaan has no strata or fpc; those follow svyrecvar). The Yuan-Bentler scaled
          chi-square and the robust indices use the same meat for the saturated model's
          first-order information (lavaan's ``cluster=`` with its ``nC / (nC - 1)``
          factor), so with one stage and no strata they are lavaan's too.
        * :class:`~surveykit.design.ReplicateDesign`: the model refitted with every
          replicate weight, the variance of the replicate estimates by the design's formula
          (JK1, JKn, bootstrap, BRR / Fay: R ``svrVar``). The chi-square and indices stay
          those of the weighted MLR fit (no replicate version of the scaled test).

        ``se_method`` and ``summary()`` state which standard errors were computed.
        (Reliability coefficients report no standard errors, so :func:`reliability` takes
        no ``design``.)
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

    Respondents sampled in clusters of five (firms): cluster-robust SEs.

    >>> from surveykit.design import SurveyDesign
    >>> d["firm"] = np.arange(500) // 5
    >>> res = cfa(d, {"A": ["x0", "x1", "x2"], "B": ["x3", "x4", "x5"]},
    ...           design=SurveyDesign(d, ids="firm"))
    >>> res.se_method
    'cluster-robust sandwich, linearisation (cluster design, R svydesign/svyrecvar)'
    """
    if missing != "listwise":
        raise MeasurementError(f"missing={missing!r}: cfa uses complete rows only "
                               f"(missing='listwise')")
    if estimator not in (None, "ML", "MLR"):
        raise MeasurementError(f"estimator={estimator!r}; use 'ML' or 'MLR'")
    if design is not None:
        weights = design_weights(df, design, weights, MeasurementError)
        if estimator == "ML":
            raise MeasurementError("estimator='ML' has no design-based standard errors; "
                                   "with design= use estimator='MLR' (the default)")
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
                     "pvalue": float(chi2_sf(chi2, dof)) if dof > 0 else float("nan"),
                     "cfi": cfi, "tli": tli, "rmsea": rmsea, "rmsea_ci_low": lo,
                     "rmsea_ci_high": hi, "srmr": srmr, "baseline_chisq": base,
                     "baseline_df": float(base_df), "n": N,
                     "n_eff": float(neff)}, name="fit")
    linear = design is not None and not hasattr(design, "n_replicates")
    meat = _design_meat(design, rows) if linear else None
    if estimator == "MLR" and dof > 0:
        fit = pd.concat([fit, pd.Series(_mlr_fit(t, X[rows], w[rows], S, Sig, pattern, chi2,
                                                 base, dof, base_df, N, meat))]).rename("fit")
    try:
        if weights is None and estimator == "ML":  # expected information, lavaan's default
            cov_t = np.linalg.inv(H) * 2.0 / N
            se_method = "expected information (lavaan's default for ML)"
        elif design is not None and not linear:
            cov_t = _replicate_cov(design, t, X, rows, pattern)
            se_method = f"model refitted with every replicate weight, {design.method}"
        else:                                     # robust sandwich, as lavaan with weights
            cov_t = _cfa_sandwich(t, X[rows], w[rows], S, pattern, meat)
            se_method = (f"cluster-robust sandwich, {design.method}" if linear else
                         "robust sandwich (Huber-White), as lavaan's MLR")
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
                         "z": z, "p": 2 * norm_sf(abs(z)) if np.isfinite(z) else np.nan,
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
        estimator=estimator, se_method=se_method,
        rows_dropped=dropped, latent_eigenvalues=ev[::-1].copy(),
        missing_data=_coverage(X, w, "listwise", "lavaan's default for ML"),
        item_labels=item_labels,
        _mean=wr @ X[rows] / wr.sum(), _sigma=Sig, _lam=L, _phi=Phi, _se=se_all,
        _reverse=as_list(reverse), _scale_range=scale_range)
