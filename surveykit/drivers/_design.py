"""Design-based standard errors for key drivers: replicate weights (a ReplicateDesign, or
R ``as.svrepdesign(type = "bootstrap")`` replicates of a SurveyDesign: PSUs resampled within
strata, rescaled bootstrap variance) for relative
importance, and R ``svyglm`` linearisation (or replicate) SEs for regression coefficients."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._dist import t_ppf, t_sf
from ..design._common import design_weights as _design_weights
from ..errors import DriverAnalysisError
from ._core import _importance, _num, _wcorr

DEFAULT_REPLICATES = 200


def design_weights(df: pd.DataFrame, design, weights) -> np.ndarray:
    """The design's weights, after checking the design fits ``df``."""
    return _design_weights(df, design, weights, DriverAnalysisError)


def block_rows(df, outcome, drivers, by, w, labels) -> list[np.ndarray]:
    """Row masks of the total and of each segment (complete cases, weight > 0), in the
    order of the blocks of ``_blocks``."""
    ok = np.isfinite(_num(df, outcome)) & (w > 0)
    for c in drivers:
        ok &= np.isfinite(_num(df, c))
    masks = [ok]
    if by is not None:
        g = df[by].to_numpy()
        masks += [ok & (g == lab) for lab in labels]
    return masks


def replicate_design(design, bootstrap: int, seed):
    """The replicate design giving the SEs, and how it was made (for the method note)."""
    if hasattr(design, "n_replicates"):
        if bootstrap:
            raise DriverAnalysisError("bootstrap= resamples a design without replicate "
                                      "weights; a ReplicateDesign brings its own replicates "
                                      "(leave bootstrap out)")
        return design, f"replicate weights of the design ({design.method})"
    B = int(bootstrap) or DEFAULT_REPLICATES
    rep = design.as_replicate("bootstrap", replicates=B, seed=seed)
    return rep, (f"design bootstrap: {B} replicates, n_h primary sampling units drawn with "
                 f"replacement within each stratum, variance rescaled by n/(n - 1) (R "
                 f"as.svrepdesign(type = 'bootstrap'), Canty-Davison), seed {seed}")


def importance_replicates(rep, X_all, y_all, masks, method, kind) -> np.ndarray:
    """Raw importance of every block under every replicate weight, ``(R, blocks, p)``
    (NaN for a replicate where a block is degenerate)."""
    R = rep.n_replicates
    p = X_all.shape[1]
    out = np.full((R, len(masks), p), np.nan)
    for r in range(R):
        wr = rep.replicate_weight(r)
        for k, m in enumerate(masks):
            rows = m & (wr > 0)
            X, y, w = X_all[rows], y_all[rows], wr[rows]
            if len(y) < p + 2:
                continue
            C = _wcorr(X, y, w)
            if not np.isfinite(C).all() or np.linalg.eigvalsh(C[:p, :p])[0] < 1e-10:
                continue
            if kind in ("binary", "ordinal") and len(np.unique(y)) < 2:
                continue
            try:
                out[r, k] = _importance(X, y, w, C, method, kind)[0]
            except (DriverAnalysisError, np.linalg.LinAlgError):
                continue
    return out


def add_design_se(table: pd.DataFrame, models: pd.DataFrame, imps: np.ndarray,
                  reps: np.ndarray, rep, dof: float, ci: float, how: str,
                  notes: list) -> None:
    """Replicate SEs, t intervals (on the design's degrees of freedom) and, per segment,
    the test of its shares against the total, added to the driver table."""
    nb, p = imps.shape
    shares = imps / imps.sum(axis=1, keepdims=True)
    rshares = reps / reps.sum(axis=2, keepdims=True)
    t = t_ppf(0.5 + ci / 2, dof) if dof > 0 else np.nan

    def se(th, est):
        return np.sqrt(rep._variance_columns(th.reshape(th.shape[0], -1), est.reshape(-1)))

    s_imp, s_share = se(reps, imps), se(rshares, shares)
    table["importance_se"] = s_imp
    table["importance_ci_low"] = imps.reshape(-1) - t * s_imp
    table["importance_ci_high"] = imps.reshape(-1) + t * s_imp
    table["share_se"] = s_share
    table["share_ci_low"] = shares.reshape(-1) - t * s_share
    table["share_ci_high"] = shares.reshape(-1) + t * s_share
    if nb > 1:
        d = shares[1:] - shares[:1]
        s_d = se(rshares[:, 1:] - rshares[:, :1], d)
        tval = d.reshape(-1) / s_d
        pval = 2 * t_sf(np.abs(tval), dof) if dof > 0 else np.full(tval.shape, np.nan)
        nan = np.full(p, np.nan)
        table["share_diff"] = np.concatenate([nan, d.reshape(-1)])
        table["diff_se"] = np.concatenate([nan, s_d])
        table["diff_ci_low"] = np.concatenate([nan, d.reshape(-1) - t * s_d])
        table["diff_ci_high"] = np.concatenate([nan, d.reshape(-1) + t * s_d])
        table["diff_p"] = np.concatenate([nan, pval])
    models["n_replicates"] = rep.n_replicates
    models["df"] = dof
    notes.append(f"standard errors: {how}; replicate variance as the design's type; "
                 f"intervals estimate +- t se on {dof:g} design degrees of freedom")


# ---------------------------------------------------------------------- regression
def regression_fit(design, X: np.ndarray, y: np.ndarray, mask: np.ndarray):
    """Coefficients (intercept first) of the weighted least-squares fit on the rows of
    ``mask`` and their design covariance, R ``svyglm``: linearisation
    (``svy.varcoef``: influence ``w e x' (X'WX)^-1`` through the design's variance) or the
    fit redone with every replicate weight. Returns ``(coef, cov, df)``, ``df`` = design
    degrees of freedom of the rows minus the number of drivers (R ``df.residual``)."""
    n, p = X.shape
    w = np.asarray(design.weights, dtype=float)
    Xa = np.column_stack([np.ones(n), X])
    coef, bread = _wls(Xa[mask], y[mask], w[mask])
    g = np.where(mask, 0, -1)
    dof = float(design._degf_groups(g, 1, rows=mask)[0]) - p
    if hasattr(design, "n_replicates"):
        th = np.full((design.n_replicates, p + 1), np.nan)
        for r in range(design.n_replicates):
            wr = design.replicate_weight(r)
            rows = mask & (wr > 0)
            if rows.sum() > p + 1:
                th[r] = _wls(Xa[rows], y[rows], wr[rows])[0]
        return coef, design.variance(th, coef), dof
    U = np.zeros((n, p + 1))
    e = y[mask] - Xa[mask] @ coef
    U[mask] = (w[mask] * e)[:, None] * Xa[mask] @ bread
    return coef, design.variance(U), dof


def _wls(X, y, w):
    A = X.T @ (X * w[:, None])
    bread = np.linalg.inv(A)
    return bread @ (X.T @ (w * y)), bread
