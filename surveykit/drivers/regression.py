"""Standardized regression with VIFs, and the satisfaction-to-loyalty link."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from .._dist import t_ppf, t_sf
from ..errors import DriverAnalysisError
from ..significance import effective_n
from ._core import (
    TOTAL,
    CollinearityWarning,
    _blocks,
    _check_block,
    _num,
    _validate,
    _wcorr1,
    _wstd,
)
from ._design import block_rows, design_weights, regression_fit


def regression(df: pd.DataFrame, outcome: str, drivers: Sequence[str], *, weights=None,
               by: str | None = None, cov_type: str = "HC1", ci: float = 0.95,
               vif_threshold: float = 5.0, design=None) -> pd.DataFrame:
    """Standardized coefficients with p-values (statsmodels WLS) and VIFs, per segment.

    Outcome and drivers are z-scored with weighted means and SDs and fitted by weighted
    least squares; ``beta`` is the standardized coefficient, ``coef`` the coefficient in
    the original units (``coef_se`` its SE). ``cov_type`` is passed to statsmodels
    (``"HC1"`` robust by default, as sampling weights are not precision weights;
    ``"nonrobust"`` for textbook WLS).

    With ``design=`` (a :class:`surveykit.design.SurveyDesign`, a calibrated design or a
    :class:`~surveykit.design.ReplicateDesign` made from ``df``; ``weights`` left out) the
    fit is R ``svyglm(outcome ~ drivers, design)``: the design's weights, SEs by
    linearisation through its strata, clusters and fpc (or by refitting with every
    replicate weight), ``t`` on the design degrees of freedom of the rows minus the number
    of drivers (R ``df.residual``); a segment is a domain of the design (its rows, the whole
    design kept, as R ``subset``). The method is in ``.attrs["se"]``.

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
    if design is not None:
        weights = design_weights(df, design, weights)
    groups, total = _blocks(df, outcome, drivers, weights, by)
    if design is not None:
        masks = block_rows(df, outcome, drivers, by, weights, [b.label for b in groups])
        Xd = np.column_stack([_num(df, c) for c in drivers])
        yd = _num(df, outcome)
    out = []
    high = {}
    for k, b in enumerate([total, *groups]):
        where = "total sample" if b.label == TOTAL else f"segment {by}={b.label!r}"
        R = _check_block(b, drivers, outcome, where)
        p = len(drivers)
        vif = np.diag(np.linalg.inv(R[:p, :p]))
        sx = np.sqrt(b.w @ (b.X - b.w @ b.X / b.w.sum()) ** 2 / b.w.sum())
        sy = math.sqrt(b.w @ (b.y - b.w @ b.y / b.w.sum()) ** 2 / b.w.sum())
        if design is not None:
            out.extend(_design_rows(design, Xd, yd, masks[k], b, drivers, sx, sy, vif, ci))
            for j, c in enumerate(drivers):
                if vif[j] >= vif_threshold:
                    high.setdefault(c, []).append((b.label, vif[j]))
            continue
        Xz, yz = _wstd(b.X, b.w), _wstd(b.y[:, None], b.w)[:, 0]
        try:
            fit = sm.WLS(yz, sm.add_constant(Xz, has_constant="add"), weights=b.w).fit(
                cov_type=cov_type)
        except (ValueError, TypeError) as exc:
            raise DriverAnalysisError(f"cov_type={cov_type!r} was refused by statsmodels: "
                                      f"{exc}") from exc
        cis = np.asarray(fit.conf_int(alpha=1 - ci))
        for j, c in enumerate(drivers):
            out.append({"segment": b.label, "driver": c, "beta": fit.params[j + 1],
                        "se": fit.bse[j + 1], "stat": fit.tvalues[j + 1],
                        "p": fit.pvalues[j + 1], "ci_low": cis[j + 1, 0],
                        "ci_high": cis[j + 1, 1], "coef": fit.params[j + 1] * sy / sx[j],
                        "coef_se": fit.bse[j + 1] * sy / sx[j], "vif": vif[j],
                        "r2": fit.rsquared, "n": len(b.y), "n_eff": effective_n(b.w)})
            if vif[j] >= vif_threshold:
                high.setdefault(c, []).append((b.label, vif[j]))
    if high:
        desc = "; ".join(f"{c!r} (VIF {max(v for _, v in lst):.1f})" for c, lst in high.items())
        warnings.warn(f"high collinearity: {desc}; coefficients of these drivers are unstable "
                      f"(relative importance via key_drivers is more robust)",
                      CollinearityWarning, stacklevel=2)
    res = pd.DataFrame(out)
    res.attrs["se"] = (f"design-based, R svyglm ({design.method})" if design is not None
                       else f"statsmodels WLS, cov_type={cov_type}")
    return res


def _design_rows(design, X, y, mask, b, drivers, sx, sy, vif, ci) -> list[dict]:
    """One block's rows of :func:`regression` under a design (R ``svyglm``)."""
    coef, cov, dof = regression_fit(design, X, y, mask)
    se = np.sqrt(np.diag(cov))
    q = t_ppf(0.5 + ci / 2, dof) if dof > 0 else np.nan
    w = b.w
    fitted = np.column_stack([np.ones(len(b.y)), b.X]) @ coef
    r2 = 1 - (w @ (b.y - fitted) ** 2) / (w @ (b.y - w @ b.y / w.sum()) ** 2)
    rows = []
    for j, c in enumerate(drivers):
        k = j + 1
        tval = coef[k] / se[k]
        to_beta = sx[j] / sy
        rows.append({"segment": b.label, "driver": c, "beta": coef[k] * to_beta,
                     "se": se[k] * to_beta, "stat": tval,
                     "p": 2 * t_sf(abs(tval), dof) if dof > 0 else np.nan,
                     "ci_low": (coef[k] - q * se[k]) * to_beta,
                     "ci_high": (coef[k] + q * se[k]) * to_beta, "coef": coef[k],
                     "coef_se": se[k], "vif": vif[j], "r2": r2, "n": len(b.y),
                     "n_eff": effective_n(w), "df": dof})
    return rows


def loyalty_link(df: pd.DataFrame, satisfaction: str, loyalty: str, *, weights=None,
                 by: str | None = None, scale_range: tuple[float, float],
                 coding: Literal["raw", "percent", "nps"] = "raw", per: float = 10,
                 ci: float = 0.95, cov_type: str = "HC1", design=None) -> pd.DataFrame:
    """Change in loyalty per ``+per`` points of satisfaction (0-100 points), with CI.

    Satisfaction is put on a 0-100 scale, ``(x - min) / (max - min) * 100``, using its
    ``scale_range``; loyalty is coded ``raw`` (its own units, e.g. a 1-5 repurchase intent),
    ``percent`` (a 0/1 variable times 100: percentage points) or ``nps`` (a 0-10 answer as
    promoter +100 / passive 0 / detractor -100, so the change is in NPS points). A weighted
    least-squares slope (statsmodels WLS, ``cov_type`` robust SE) times ``per`` is reported
    for the total and every segment. With ``design=`` (made from ``df``; ``weights`` left
    out) the slope and its SE are R ``svyglm(loyalty ~ satisfaction, design)``, as
    :func:`regression` with a design (t on the design's residual degrees of freedom).

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
    if design is not None:
        weights = design_weights(df, design, weights)
    groups, total = _blocks(df, loyalty, [satisfaction], weights, by)
    if design is not None:
        masks = block_rows(df, loyalty, [satisfaction], by, weights, [b.label for b in groups])
        x_all = (_num(df, satisfaction) - lo) / (hi - lo) * 100
        y_all = _code_loyalty(_num(df, loyalty), coding)
    rows = []
    for k, b in enumerate([total, *groups]):
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
        elif coding == "nps" and (y.min() < 0 or y.max() > 10):
            raise DriverAnalysisError(f"coding='nps' needs 0-10 answers; {loyalty!r} "
                                      f"ranges {y.min():g}..{y.max():g}")
        y = _code_loyalty(y, coding)
        if len(y) < 3 or np.ptp(x) == 0:
            raise DriverAnalysisError(f"{where}: {len(y)} respondent(s) and satisfaction "
                                      f"{'constant' if len(y) and np.ptp(x) == 0 else ''}; "
                                      f"the link cannot be estimated")
        pts = (x - lo) / (hi - lo) * 100
        r = _wcorr1(pts, y, b.w) if np.ptp(y) > 0 else np.nan
        if design is not None:
            coef, cov, dof = regression_fit(design, x_all[:, None], y_all, masks[k])
            slope, se = coef[1], math.sqrt(cov[1, 1])
            q = t_ppf(0.5 + ci / 2, dof) if dof > 0 else np.nan
            pval = 2 * t_sf(abs(slope / se), dof) if dof > 0 else np.nan
            c = (slope - q * se, slope + q * se)
        else:
            fit = sm.WLS(y, sm.add_constant(pts, has_constant="add"), weights=b.w).fit(
                cov_type=cov_type)
            slope, se, pval = fit.params[1], fit.bse[1], fit.pvalues[1]
            c = np.asarray(fit.conf_int(alpha=1 - ci))[1]
        rows.append({"segment": b.label, "change": slope * per, "se": se * per,
                     "ci_low": c[0] * per, "ci_high": c[1] * per, "p": pval, "r": r,
                     "n": len(y), "n_eff": effective_n(b.w)})
    out = pd.DataFrame(rows)
    out.attrs["se"] = (f"design-based, R svyglm ({design.method})" if design is not None
                       else f"statsmodels WLS, cov_type={cov_type}")
    out.attrs.update({"per": per, "coding": coding, "satisfaction": satisfaction,
                      "loyalty": loyalty})
    return out


def _code_loyalty(y: np.ndarray, coding: str) -> np.ndarray:
    """Loyalty on the scale of the link: percentage points, NPS points or raw (NaN kept)."""
    if coding == "percent":
        return y * 100
    if coding == "nps":
        return np.where(np.isnan(y), np.nan, np.where(y >= 9, 100.0,
                                                      np.where(y <= 6, -100.0, 0.0)))
    return y
