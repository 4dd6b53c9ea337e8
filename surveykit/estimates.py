"""Weighted estimates with standard errors, CIs, effective bases and design effects.

Standard errors are Taylor-linearisation SEs for a with-replacement single-stage design,
as R ``svydesign(ids=~1, weights=~w)``: for a (domain) mean ``ybar = sum w y / sum w`` the
influence of row *i* is ``z_i = w_i (y_i - ybar) / sum w`` inside the domain and 0 outside,
and ``var = N/(N-1) * sum (z_i - zbar)^2`` over all *N* rows of the data (R's domain
estimation: ``svyby`` / ``na.rm=TRUE`` keep the full sample). Passing the
:class:`~surveykit.weighting.WeightingReport` of a raking as ``weights`` makes the SEs
calibration-aware: the influence values are replaced by their residuals from the
base-weighted regression on the raking margins, as R ``calibrate()`` does.

With ``design=`` (a :class:`surveykit.design.SurveyDesign` or
:class:`~surveykit.design.ReplicateDesign`) the same influence values go through the design's
variance instead: strata, clusters and fpc as R ``svyrecvar``, or replicate weights as R
``svrVar``; domains (``by=``) as R ``svyby``.

The design effect is Kish's against simple random sampling *with replacement* of the same
number of respondents, R ``svymean(..., deff = "replace")``:
``deff = var / (s^2 / n)`` with ``s^2 = n/(n-1) * sum w (y - ybar)^2 / sum w``.

The tests and the sample-size measures every comparison shares (:func:`effective_n`,
:func:`linearised_variance`, :func:`pooled_z_test`, :func:`mean_difference_test`, ...) are
defined in :mod:`surveykit.significance` and importable from here too.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from ._dist import t_ppf
from ._util import as_list, check_columns, resolve_weights
from .errors import EstimationError
from .significance import (
    TEST_DEFINITIONS,
    _z,
    effective_n,
    linearised_covariance,
    linearised_variance,
    margin_of_error,
    mean_difference_test,
    pooled_z_test,
)

__all__ = ["effective_n", "estimate", "compare", "STATS", "linearised_variance",
           "linearised_covariance", "pooled_z_test", "mean_difference_test",
           "TEST_DEFINITIONS", "margin_of_error"]

STATS = ("mean", "proportion", "top2", "bottom2", "nps")
_BOX_ALIASES = {"top_box": "top2", "bottom_box": "bottom2", "topbox": "top2",
                "bottombox": "bottom2"}
DEFF_REFERENCE = ("Kish design effect vs simple random sampling with replacement of the same "
                  "n: var / (s^2 / n), as R svymean(deff = 'replace')")


# ----------------------------------------------------------------------------- helpers
def _design_weights(df: pd.DataFrame, weights, design) -> tuple[np.ndarray, Any, str]:
    """Weights, calibration structure and SE label under a sample design."""
    from .design._common import check_design

    check_design(df, design, EstimationError)
    if weights is None:
        return design.weights, None, design.method
    if getattr(weights, "calibration_design", None) is None:
        raise EstimationError("with design=, the weights come from the design (pass them to "
                              "SurveyDesign(weights=...)); weights= may only be the "
                              "WeightingReport of a raking or calibration of these data")
    w, cal, _ = _weights(df, weights)
    return w, cal, design.method + (", calibration-aware" if cal is not None else "")


def _weights(df: pd.DataFrame, weights) -> tuple[np.ndarray, Any, str]:
    """Weights array, calibration structure (or None) and a label for the SE method."""
    cal_fn = getattr(weights, "calibration_design", None)
    if cal_fn is not None and hasattr(weights, "weights"):
        ws = weights.weights
        if len(ws) != len(df) or not ws.index.equals(df.index):
            raise EstimationError("the WeightingReport passed as weights was made for other "
                                  "data (index differs); pass report.weights or rake this "
                                  "DataFrame")
        w = resolve_weights(df, ws.to_numpy(dtype=float))
        cal = cal_fn()
        return w, cal, "linearization, calibration-aware" if cal is not None else "linearization"
    return resolve_weights(df, weights), None, "linearization"


def _group_codes(s: pd.Series) -> tuple[np.ndarray, list]:
    """Codes (-1 = missing) and the level of each code, sorted; fast for small integers."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.cat.codes.to_numpy().astype(np.int64), list(s.cat.categories)
    if pd.api.types.is_bool_dtype(s.dtype):
        s = s.astype("int64")
    if pd.api.types.is_numeric_dtype(s.dtype):
        x = s.to_numpy(dtype=float, na_value=np.nan)
        ok = np.isfinite(x)
        if ok.any():
            lo, hi = float(x[ok].min()), float(x[ok].max())
            if hi - lo < 100_000:
                xi = np.where(ok, x - lo, 0.0)
                ints = xi.astype(np.int64)
                if np.array_equal(ints, xi):
                    present = np.flatnonzero(np.bincount(ints[ok], minlength=1))
                    remap = np.full(int(hi - lo) + 1, -1, dtype=np.int64)
                    remap[present] = np.arange(len(present))
                    vals = pd.Series(lo + present, dtype=float)
                    if pd.api.types.is_integer_dtype(s.dtype):
                        vals = vals.astype(s.dtype)
                    return np.where(ok, remap[ints], -1), vals.tolist()
    codes, uniq = pd.factorize(s, sort=True, use_na_sentinel=True)
    return codes.astype(np.int64), list(uniq)


def _numeric(df: pd.DataFrame, col: str) -> np.ndarray:
    """The column as floats (NaN = missing); infinite values are refused, not dropped."""
    s = df[col]
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.to_numpy(dtype=float)
    if not pd.api.types.is_numeric_dtype(s.dtype):
        raise EstimationError(f"column {col!r} is not numeric (dtype {s.dtype}); estimates "
                              f"need numeric codes - recode it first")
    x = s.to_numpy(dtype=float, na_value=np.nan)
    inf = np.isinf(x)
    if inf.any():
        rows = ", ".join(map(repr, df.index[inf][:5].tolist()))
        raise EstimationError(f"column {col!r} holds {int(inf.sum())} infinite value(s) (row(s) "
                              f"{rows}{', ...' if inf.sum() > 5 else ''}); an infinite answer "
                              "is not missing and cannot be averaged: set it to NaN (missing) "
                              "or fix the source")
    return x


def _box_codes(stat: str, col: str, codes, scale, box: int) -> np.ndarray:
    if codes is not None:
        c = np.asarray(as_list(codes) if not np.isscalar(codes) else [codes], dtype=float)
        if c.size == 0:
            raise EstimationError(f"codes for {stat} of {col!r} is empty")
        return c
    if scale is None:
        raise EstimationError(f"{stat} of {col!r} needs the scale's codes: pass "
                              f"scale=(low, high), e.g. scale=(1, 5), or codes=[4, 5]")
    lo, hi = scale
    if not (isinstance(box, int) and 1 <= box <= hi - lo):
        raise EstimationError(f"box must be an integer from 1 to {hi - lo}, not {box!r}")
    if stat == "top2":
        return np.arange(hi - box + 1, hi + 1, dtype=float)
    return np.arange(lo, lo + box, dtype=float)


def _indicator(x: np.ndarray, codes: np.ndarray) -> np.ndarray:
    y = np.isin(x, codes).astype(float)
    y[~np.isfinite(x)] = np.nan
    return y


def _nps_score(x: np.ndarray, col: str) -> np.ndarray:
    ok = np.isfinite(x)
    bad = ok & ((x < 0) | (x > 10) | (x != np.round(x)))
    if bad.any():
        raise EstimationError(f"NPS needs 0-10 answers; column {col!r} has "
                              f"{_tidy_value(x[bad][0])} ({int(bad.sum())} value(s) outside "
                              f"0..10 or not whole numbers); recode them first")
    y = np.where(x >= 9, 100.0, np.where(x <= 6, -100.0, 0.0))
    y[~ok] = np.nan
    return y


def _outcomes(df: pd.DataFrame, col: str, stat: str, codes, scale, box
              ) -> list[tuple[Any, np.ndarray]]:
    """(category, y) pairs: y is the variable whose weighted mean is the estimate."""
    x = _numeric(df, col)
    if stat == "mean":
        return [(None, x)]
    if stat == "nps":
        return [(None, _nps_score(x, col))]
    if stat in ("top2", "bottom2"):
        return [(None, _indicator(x, _box_codes(stat, col, codes, scale, box)))]
    # proportion
    if codes is not None:
        return [(None, _indicator(x, _box_codes(stat, col, codes, None, box)))]
    vals = np.unique(x[np.isfinite(x)])
    if vals.size and np.isin(vals, [0.0, 1.0]).all():
        return [(None, _indicator(x, np.array([1.0])))]
    return [(_tidy_value(v), _indicator(x, np.array([v]))) for v in vals]


def _tidy_value(v: float):
    return int(v) if float(v).is_integer() else float(v)


class _Sums:
    """Per-group weighted sums of one outcome. The second moments use the outcome shifted by
    ``c`` for numerical stability; the estimate comes from the unshifted sum, so that a
    group where nobody chose a category has a proportion of exactly 0, not -4e-16."""

    SUMS = ("n", "W", "S", "Sy", "Syy", "W2", "S2y", "S2yy")

    @classmethod
    def from_sums(cls, **sums) -> _Sums:
        """The same object from sums taken elsewhere, e.g. by a database ``GROUP BY``
        (:mod:`surveykit.outofcore`): arrays :attr:`SUMS` per group, with ``n`` counting
        answers of weight > 0 and the second moments taken around the same shift ``c``."""
        self = cls.__new__(cls)
        for k in cls.SUMS:
            setattr(self, k, np.asarray(sums[k], dtype=float))
        return self

    def __init__(self, y, w, g, G, c):
        ok = np.isfinite(y) & (g >= 0)
        gg, ww, yy = g[ok], w[ok], y[ok] - c
        self.n = np.bincount(gg[ww > 0], minlength=G).astype(float)
        self.W = np.bincount(gg, ww, G)
        self.S = np.bincount(gg, ww * y[ok], G)
        self.Sy = np.bincount(gg, ww * yy, G)
        self.Syy = np.bincount(gg, ww * yy * yy, G)
        w2 = ww * ww
        self.W2 = np.bincount(gg, w2, G)
        self.S2y = np.bincount(gg, w2 * yy, G)
        self.S2yy = np.bincount(gg, w2 * yy * yy, G)

    def stats(self, idx=None, *, minus=None, N: int):
        """Estimates for groups (or a total minus each group): est, var, s2, n, W, n_eff."""
        def pick(a):
            if minus is not None:
                return a.sum() - a
            return a if idx is None else a[idx]
        n, W, S, Sy, Syy = (pick(a) for a in (self.n, self.W, self.S, self.Sy, self.Syy))
        W2, S2y, S2yy = pick(self.W2), pick(self.S2y), pick(self.S2yy)
        with np.errstate(divide="ignore", invalid="ignore"):
            m = Sy / W
            var = linearised_variance(W, W2, S2y, S2yy, m, N)
            s2 = n / (n - 1) * np.maximum(Syy - 2 * m * Sy + m * m * W, 0.0) / W
            neff = W * W / W2
            est = S / W  # NaN for a group without answers (W = 0)
        return est, var, s2, n, W, neff

    def raw(self, idx=None, *, minus=None):
        """Weighted count ``sum w y``, ``sum w`` and ``sum w^2`` (groups or total - group)."""
        def pick(a):
            if minus is not None:
                return a.sum() - a
            return a if idx is None else a[idx]
        return pick(self.S), pick(self.W), pick(self.W2)


def _calibrated_var(y, w, g, G, N, means, cal, *, rest: bool = False) -> np.ndarray:
    """Variance of each domain mean with influence values residualized on the margins.

    Domains are the groups (or, with ``rest``, everything but each group). The influence
    ``z_i = w_i (y_i - c_d) / W_d`` is replaced by ``z_i - w_i (M beta_d)_u(i)`` where
    ``beta_d`` is the base-weighted regression of ``z / w`` on the calibration model ``M``
    (R ``calibrate()``); every sum needed is a linear combination of per-(group, unit)
    moments, so all domains cost a few bincounts.
    """
    row_unit, M, w0u = cal
    U = M.shape[0]
    ok = np.isfinite(y) & (g >= 0) & (row_unit >= 0)
    gg, uu, ww = g[ok], row_unit[ok], w[ok]
    shift = float(np.mean(y[ok])) if ok.any() else 0.0
    yy = y[ok] - shift
    with np.errstate(divide="ignore", invalid="ignore"):
        rho_w = np.where(ww > 0, w0u[uu], 0.0)  # rho * w = w0
    key = gg * U + uu
    w2 = ww * ww

    def mom(v):
        return np.bincount(key, v, G * U).reshape(G, U)

    A1, A2 = mom(rho_w), mom(rho_w * yy)
    B1, B2, B3 = mom(w2), mom(w2 * yy), mom(w2 * yy * yy)
    Wg = np.bincount(gg, ww, G)
    if rest:
        A1, A2, B1, B2, B3 = (X.sum(0, keepdims=True) - X for X in (A1, A2, B1, B2, B3))
        Wg = Wg.sum() - Wg
    c = np.asarray(means, dtype=float) - shift
    with np.errstate(divide="ignore", invalid="ignore"):
        R = (A2 - c[:, None] * A1) / Wg[:, None]                  # sum rho z per unit
        ZW = (B2 - c[:, None] * B1) / Wg[:, None]                 # sum z w per unit
        sz2 = (B3 - 2 * c[:, None] * B2 + (c * c)[:, None] * B1).sum(1) / (Wg * Wg)
    allu = row_unit >= 0
    uw = np.bincount(row_unit[allu], w[allu], U)
    uw2 = np.bincount(row_unit[allu], w[allu] ** 2, U)
    b0 = np.bincount(row_unit[allu], w0u[row_unit[allu]], U)
    A = M.T @ (M * b0[:, None])
    beta = np.linalg.pinv(A) @ (M.T @ np.nan_to_num(R).T)          # (K, G)
    h = M @ beta                                                   # (U, G)
    s_cal2 = sz2 - 2 * np.einsum("gu,ug->g", np.nan_to_num(ZW), h) + (h * h * uw2[:, None]).sum(0)
    s_cal = -(h * uw[:, None]).sum(0)
    return N / (N - 1) * np.maximum(s_cal2 - s_cal * s_cal / N, 0.0)


def _intervals(stat, est, se, z, n_obs, deff, sums_p=None, ci="wald", q=None, logit_se=None):
    """CI limits; ``q`` (per row) replaces the normal quantile ``z`` of logit intervals
    (t on the design degrees of freedom, R ``svyciprop``), ``logit_se`` the delta-method SE
    of ``logit(p)`` (replicate designs: from the replicate logits, as R). A proportion of 0
    or 1 has the interval [p, p], as R ``svyciprop``."""
    if stat == "nps" and sums_p is not None and ci != "wald":
        P, D = sums_p
        with np.errstate(divide="ignore", invalid="ignore"):
            ne = np.where(np.isfinite(deff) & (deff > 0), n_obs / deff, n_obs)
            p = (ne * P + 0.75) / (ne + 3)
            d = (ne * D + 0.75) / (ne + 3)
            c = p - d
            half = z * np.sqrt(np.maximum(p + d - c * c, 0) / (ne + 3))
        return 100 * (c - half), 100 * (c + half)
    if ci == "logit" and stat in ("proportion", "top2", "bottom2"):
        with np.errstate(divide="ignore", invalid="ignore"):
            lg = np.log(est / (1 - est))
            sl = se / (est * (1 - est)) if logit_se is None else logit_se
            qq = z if q is None else q
            lo = 1 / (1 + np.exp(-(lg - qq * sl)))
            hi = 1 / (1 + np.exp(-(lg + qq * sl)))
            edge = (est == 0) | (est == 1)
            return np.where(edge, est, lo), np.where(edge, est, hi)
    return est - z * se, est + z * se


def _check_stat(stat: str) -> str:
    stat = _BOX_ALIASES.get(stat, stat)
    if stat not in STATS:
        raise EstimationError(f"stat must be one of {STATS}, not {stat!r}")
    return stat


# ----------------------------------------------------------------------------- estimate
def estimate(df: pd.DataFrame, columns: str | Iterable[str], *, stat: str = "mean",
             weights=None, by: str | Iterable[str] | None = None, codes=None,
             scale: tuple[float, float] | None = None, box: int = 2, level: float = 0.95,
             ci: str | None = None, design=None) -> pd.DataFrame:
    """Weighted mean / proportion / top-box / bottom-box / NPS with SE, CI, n, n_eff, deff.

    Parameters
    ----------
    df : DataFrame
        One row per respondent (not modified).
    columns : str or list of str
        Numeric columns (codes; NaN = missing, left out of that estimate's base).
    stat : {"mean", "proportion", "top2", "bottom2", "nps"}
        ``proportion``: share answering one of ``codes``; without ``codes``, the share of
        1 for a 0/1 column, else one row per category (column ``category``).
        ``top2`` / ``bottom2``: share in the top / bottom ``box`` codes of ``scale``
        (``scale=(1, 5)`` -> top2 = {4, 5}); or give ``codes`` explicitly.
        ``nps``: 0-10 answers, promoters 9-10, detractors 0-6, on the -100..100 scale.
        Proportions are on 0..1.
    weights : None, column name, array-like or WeightingReport
        A :class:`~surveykit.weighting.WeightingReport` from ``rake`` / ``post_stratify``
        makes the SEs calibration-aware (R ``calibrate()``); plain weights give the
        with-replacement linearisation SE (R ``svydesign(ids=~1, weights=~w)``). With a
        ``design``, leave it out (the design's weights are used) or pass the
        WeightingReport of a raking whose base weights were the design's (R
        ``calibrate(design, ...)``: calibrated weights, the design's clusters and strata).
    by : str or list of str, optional
        Grouping (banner) variables; each gives one row per group value (columns ``by``,
        ``group``). Rows with a missing group value are left out of that banner. A group
        whose respondents all lack an answer (n = 0: a routed question not asked in that
        group) has no estimate: it is left out and listed in ``.attrs["empty_groups"]``
        (an expected condition, stated in the result, not warned about).
    codes, scale, box : optional
        See ``stat``.
    level : float
        Confidence level of ``ci_low`` / ``ci_high``.
    ci : {"wald", "logit", "adjusted_wald"}, optional
        Interval method. Default: Wald (``estimate +- z se``, R ``confint(svymean)``, which
        uses the normal quantile also under a design) for means, and for proportions
        without a design; ``adjusted_wald`` for NPS (3/4 added to promoters and to
        detractors, 3 to the base, on the design-effective base ``n / deff``, normal
        quantile). ``logit`` is available for proportions; with a ``design`` it is the
        default for proportions and uses the t quantile on the domain's design degrees of
        freedom, as R ``svyciprop(method = "logit")`` (without a design: normal quantile).
    design : SurveyDesign or ReplicateDesign, optional
        A complex sample design made from ``df`` (:mod:`surveykit.design`): SEs from its
        strata, clusters and fpc (R ``svymean`` / ``svyby`` on ``svydesign``) or its
        replicate weights (R ``svrepdesign``); ``deff`` as R ``deff = "replace"``; a ``df``
        column with the design degrees of freedom of each domain (R ``degf`` of the
        domain's subset).

    Returns
    -------
    DataFrame
        One row per variable (x category) x group: ``variable, stat, [by, group],
        [category], estimate, se, ci_low, ci_high, n, n_eff, weighted_n, deff`` (and ``df``
        with a design). ``n`` counts respondents with an answer (and weight > 0); ``n_eff``
        is Kish's effective base; ``deff`` is described in ``.attrs["deff"]``.

    Raises
    ------
    EstimationError
        Unknown column, non-numeric column, infinite values (set them to NaN to treat
        them as missing), NPS values outside 0..10, top-box without a scale, bad
        ``stat`` / ``level`` / ``ci``.

    Examples
    --------
    >>> df = pd.DataFrame({"sat": [7, 8, 9, 10], "g": [1, 1, 2, 2]})
    >>> estimate(df, "sat", by="g")[["group", "estimate", "n"]]
       group  estimate  n
    0      1       7.5  2
    1      2       9.5  2

    Respondents clustered in customer companies: the design's SE is larger.

    >>> from surveykit.design import SurveyDesign
    >>> c = pd.DataFrame({"firm": [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4],
    ...                   "sat": [9, 8, 9, 5, 6, 5, 8, 7, 8, 4, 5, 5]})
    >>> plain = estimate(c, "sat")["se"].iloc[0]
    >>> clustered = estimate(c, "sat", design=SurveyDesign(c, ids="firm"))
    >>> round(float(plain), 3), round(float(clustered["se"].iloc[0]), 3)
    (0.514, 0.946)
    """
    stat = _check_stat(stat)
    cols = as_list(columns)
    bys = as_list(by)
    if not cols:
        raise EstimationError("give at least one column to estimate")
    check_columns(df, [*cols, *bys])
    if ci not in (None, "wald", "logit", "adjusted_wald"):
        raise EstimationError(f"ci must be 'wald', 'logit' or 'adjusted_wald', not {ci!r}")
    if ci == "logit" and stat not in ("proportion", "top2", "bottom2"):
        raise EstimationError("ci='logit' is for proportions (proportion, top2, bottom2)")
    props = stat in ("proportion", "top2", "bottom2")
    ci = ci or ("adjusted_wald" if stat == "nps" else
                "logit" if (design is not None and props) else "wald")
    z = _z(level)
    if design is None:
        w, cal, method = _weights(df, weights)
    else:
        w, cal, method = _design_weights(df, weights, design)
    N = len(df)
    if N < 2:
        raise EstimationError("at least 2 rows are needed for a standard error")
    banners: list[tuple[str | None, np.ndarray, list]] = []
    if not bys:
        banners.append((None, np.zeros(N, dtype=np.int64), [None]))
    for b in bys:
        codes_b, levels_b = _group_codes(df[b])
        banners.append((b, codes_b, levels_b))
    frames = []
    empty: dict[tuple[str, str], list] = {}
    design_df: dict = {}                    # design degrees of freedom of each banner's groups
    for col in cols:
        outs = _outcomes(df, col, stat, codes, scale, box)
        for category, y in outs:
            ok = np.isfinite(y)
            c = float(np.mean(y[ok])) if ok.any() else 0.0
            for b, g, levels in banners:
                G = len(levels)
                sums = _Sums(y, w, g, G, c)
                est, var, s2, n, W, neff = sums.stats(N=N)
                dfree = q = logit_se = None
                if design is not None:
                    var = design._domain_variances(y, g, G, est, np.eye(G), cal=cal, shift=c,
                                                   weights=w)[0]
                    if b not in design_df:
                        design_df[b] = design._degf_groups(g, G).astype(float)
                    dfree = design_df[b]
                    if ci == "logit":
                        with np.errstate(invalid="ignore"):
                            q = t_ppf(0.5 + level / 2, np.where(dfree > 0, dfree, np.nan))
                        if hasattr(design, "_logit_variances"):
                            logit_se = np.sqrt(design._logit_variances(y, g, G, est))
                elif cal is not None:
                    var = _calibrated_var(y, w, g, G, N, est, cal)
                se = np.sqrt(var)
                with np.errstate(divide="ignore", invalid="ignore"):
                    deff = var / (s2 / n)
                pd_shares = None
                if stat == "nps":
                    x = _numeric(df, col)
                    pro = np.where(np.isfinite(x), (x >= 9).astype(float), np.nan)
                    det = np.where(np.isfinite(x), (x <= 6).astype(float), np.nan)
                    pd_shares = (_Sums(pro, w, g, G, 0.0).stats(N=N)[0],
                                 _Sums(det, w, g, G, 0.0).stats(N=N)[0])
                lo, hi = _intervals(stat, est, se, z, n, deff, pd_shares, ci, q, logit_se)
                frame = {"variable": col, "stat": stat}
                if b is not None:
                    frame["by"] = b
                    frame["group"] = levels
                if category is not None:
                    frame["category"] = category
                frame.update({"estimate": est, "se": se, "ci_low": lo, "ci_high": hi,
                              "n": n.astype(np.int64), "n_eff": neff, "weighted_n": W,
                              "deff": deff})
                if dfree is not None:
                    frame["df"] = dfree
                f = pd.DataFrame(frame)
                if b is not None:
                    if category is None or not empty.get((col, b)):
                        missing = [levels[k] for k in np.flatnonzero(n == 0)]
                        if missing:
                            empty[(col, b)] = missing
                    f = f[n > 0]
                frames.append(f)
    out = pd.concat(frames, ignore_index=True)
    out.attrs.update({"deff": DEFF_REFERENCE, "se": method, "ci": ci, "level": level})
    if design is not None:
        out.attrs["df"] = ("design degrees of freedom of each domain, R degf(subset): "
                           + ("first-stage units minus strata" if not hasattr(
                               design, "n_replicates") else "rank of the replicate weights "
                              "minus 1")
                           + ("; the logit interval uses t on it (R svyciprop)"
                              if ci == "logit" else "; the interval uses the normal quantile "
                              "(R confint)"))
    if empty:       # stated in the result: a routed question leaves groups empty
        out.attrs["empty_groups"] = {f"{c} by {b}": g for (c, b), g in empty.items()}
    return out


# ----------------------------------------------------------------------------- compare
def compare(df: pd.DataFrame, columns: str | Iterable[str], *, by: str, stat: str = "mean",
            weights=None, reference: Any = "rest", method: str | None = None,
            alpha: float = 0.05, codes=None, scale: tuple[float, float] | None = None,
            box: int = 2, design=None) -> pd.DataFrame:
    """Test each group of ``by`` against the rest, the total or one reference group.

    Parameters
    ----------
    df : DataFrame
    columns : str or list of str
    by : str
        Segment / banner / wave variable.
    stat : {"mean", "proportion", "top2", "bottom2", "nps"}
        As in :func:`estimate` (``proportion`` needs ``codes`` unless the column is 0/1).
    weights : None, column name, array-like or WeightingReport
    reference : "rest", "total" or a value of ``by``
        ``"rest"``: each group vs everyone else. ``"total"``: the difference shown is
        group - total, and the test is group vs rest (the total contains the group, so
        that is the valid test of "differs from the total"). A value of ``by`` (e.g. the
        previous wave): each other group vs that one.
    method : {"effective_base", "design"}, optional
        How proportions (and top-box) are tested without a design: ``effective_base``
        (default) by the pooled two-proportion z-test on Kish effective bases
        (:func:`pooled_z_test`, the banner's test); ``design`` by the z-test on their
        linearisation SEs. Means and NPS are always tested by :func:`mean_difference_test`
        (the difference over its linearisation SE, ``se = sqrt(se1^2 + se2^2)`` for the
        disjoint groups compared, R ``svyby(covmat=TRUE)`` + ``svycontrast``; z with simple
        weights; NPS variance :func:`linearised_variance`). With equal weights the mean test
        is the two-sample z-test with unequal variances. With ``design=`` every test is
        the design's (below).
    alpha : float
        Significance level of the ``significant`` flag.
    design : SurveyDesign or ReplicateDesign, optional
        Design-based t-test, R ``svyttest(y ~ group, design)``: the difference of the two
        domain means with its SE from the design (covariance of the groups included: with
        clusters the groups share PSUs), on ``degf - 1`` degrees of freedom, ``degf`` of the
        rows compared (the whole sample for ``"rest"`` / ``"total"``, the two groups for a
        reference group; rows with an answer), as R's ``svyglm``.

    Returns
    -------
    DataFrame
        ``variable, stat, by, group, reference, estimate, reference_estimate, difference,
        se, statistic, df, p_value, significant, n, n_eff, reference_n, reference_n_eff,
        test``.

    Examples
    --------
    >>> df = pd.DataFrame({"sat": [1, 2, 3, 4, 5, 6, 7, 8], "seg": [1, 1, 1, 1, 2, 2, 2, 2]})
    >>> r = compare(df, "sat", by="seg", reference=1)
    >>> float(r["difference"].iloc[0]), bool(r["significant"].iloc[0])
    (4.0, True)
    """
    stat = _check_stat(stat)
    if method not in (None, "effective_base", "design"):
        raise EstimationError(f"method must be 'effective_base' or 'design', not {method!r}")
    if design is not None and method == "effective_base":
        raise EstimationError("method='effective_base' ignores the sample design (clusters, "
                              "strata); with design= the test is the design-based t-test")
    method = method or ("design" if design is not None else "effective_base")
    if not 0 < alpha < 1:
        raise EstimationError(f"alpha must be between 0 and 1, not {alpha!r}")
    if not isinstance(by, str):
        raise EstimationError("compare takes one by variable (a column name)")
    cols = as_list(columns)
    check_columns(df, [*cols, by])
    if design is None:
        w, cal, _ = _weights(df, weights)
    else:
        w, cal, _ = _design_weights(df, weights, design)
    N = len(df)
    g, levels = _group_codes(df[by])
    G = len(levels)
    if G < 2:
        raise EstimationError(f"{by!r} has {G} group(s); comparing needs at least 2")
    ref_idx = None
    if not (isinstance(reference, str) and reference in ("rest", "total")):
        matches = [i for i, v in enumerate(levels) if v == reference]
        if not matches:
            raise EstimationError(f"reference {reference!r} is not a value of {by!r}; use "
                                  f"'rest', 'total' or one of {levels[:10]}")
        ref_idx = matches[0]
    rows = []
    skipped: dict[str, list] = {}
    for col in cols:
        outs = _outcomes(df, col, stat, codes, scale, box)
        if len(outs) != 1:
            raise EstimationError(f"compare of proportion needs codes= for {col!r} "
                                  f"(which answer(s) to count)")
        y = outs[0][1]
        ok = np.isfinite(y)
        c = float(np.mean(y[ok])) if ok.any() else 0.0
        sums = _Sums(y, w, g, G, c)
        e1, v1, _, n1, _, ne1 = sums.stats(N=N)
        if cal is not None and design is None:
            v1 = _calibrated_var(y, w, g, G, N, e1, cal)
        if ref_idx is None:
            e2, v2, _, n2, _, ne2 = sums.stats(minus=True, N=N)
            if cal is not None and design is None:
                v2 = _calibrated_var(y, w, g, G, N, e2, cal, rest=True)
            tot = sums.stats(idx=np.arange(G), N=N)
            total_est = (tot[0] * tot[4]).sum() / tot[4].sum() if tot[4].sum() > 0 else np.nan
            keep = np.arange(G)
        else:
            keep = np.array([k for k in range(G) if k != ref_idx])
            e2, v2, n2, ne2 = (np.full(G, a[ref_idx]) for a in (e1, v1, n1, ne1))
        diff = e1 - e2
        if design is not None:
            se, dfree = _design_contrast(design, y, w, g, G, c, e1, e2, ref_idx, cal)
            _, se, stat_v, p = mean_difference_test(diff, se * se, dfree)
            test = ("design-based t (" + ("replicate weights" if hasattr(design, "n_replicates")
                                          else "linearisation") + ", R svyttest)")
        elif method == "design" or stat in ("mean", "nps"):
            _, se, stat_v, p = mean_difference_test(diff, v1 + v2)
            dfree = np.full(G, np.inf)
            test = "z (linearisation SEs)"
        else:
            S1, W1, W21 = sums.raw()
            if ref_idx is None:
                S2, W2_, W22 = sums.raw(minus=True)
            else:
                S2, W2_, W22 = (np.full(G, a[ref_idx]) for a in (S1, W1, W21))
            _, se, stat_v, p = pooled_z_test(S1, W1, W21, S2, W2_, W22)
            dfree = np.full(G, np.inf)
            test = "pooled z (effective bases)"
        shown_ref = reference if ref_idx is None else levels[ref_idx]
        for k in keep:
            if n1[k] == 0:
                skipped.setdefault(col, []).append(levels[k])
                continue
            d_shown = diff[k] if reference != "total" else e1[k] - total_est
            rows.append({
                "variable": col, "stat": stat, "by": by, "group": levels[k],
                "reference": shown_ref, "estimate": e1[k],
                "reference_estimate": e2[k] if reference != "total" else total_est,
                "difference": d_shown, "se": se[k], "statistic": stat_v[k], "df": dfree[k],
                "p_value": p[k], "significant": bool(p[k] < alpha), "n": int(n1[k]),
                "n_eff": ne1[k], "reference_n": int(n2[k]), "reference_n_eff": ne2[k],
                "test": test})
    out = pd.DataFrame(rows)
    out.attrs.update({"alpha": alpha, "method": method})
    if skipped:     # stated in the result (no test for a group nobody answered in)
        out.attrs["empty_groups"] = {f"{c} by {by}": g for c, g in skipped.items()}
    return out


def _design_contrast(design, y, w, g, G, c, e1, e2, ref_idx, cal):
    """SE and degrees of freedom of each group minus its reference under a design, R
    ``svyttest``: the contrast's influence values go through the design's variance (the
    groups' covariance included), df = ``degf`` of the rows compared with an answer - 1."""
    eye = np.eye(G)
    answered = np.isfinite(y)
    if ref_idx is None:
        D = np.hstack([eye, 1 - eye])
        contrasts = [(k, G + k) for k in range(G)]
        _, vc = design._domain_variances(y, g, G, np.concatenate([e1, e2]), D, contrasts,
                                         cal=cal, shift=c, weights=w)
        dof = design._degf_groups(g, G, rows=answered, pairs=[np.ones(G)])[0] - 1
        dfree = np.full(G, float(dof))
    else:
        contrasts = [(k, ref_idx) for k in range(G)]
        _, vc = design._domain_variances(y, g, G, e1, eye, contrasts, cal=cal, shift=c,
                                         weights=w)
        pairs = [eye[k] + eye[ref_idx] for k in range(G)]
        dfree = design._degf_groups(g, G, rows=answered, pairs=pairs).astype(float) - 1
    return np.sqrt(vc), dfree
