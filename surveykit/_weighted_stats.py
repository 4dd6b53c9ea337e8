"""The machinery of :func:`surveykit.estimates.estimate` and
:func:`surveykit.estimates.compare` (and of the out-of-core and design paths that compute
the same statistics): the weights and groups of a call, the 0/1 or score variable behind
each statistic, weighted sums per group, calibration-aware variances and confidence
intervals."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._util import as_list, resolve_weights
from .errors import EstimationError
from .significance import linearised_variance

__all__ = ["STATS", "DEFF_REFERENCE"]

STATS = ("mean", "proportion", "top2", "bottom2", "nps")
_BOX_ALIASES = {"top_box": "top2", "bottom_box": "bottom2", "topbox": "top2",
                "bottombox": "bottom2"}
DEFF_REFERENCE = ("Kish design effect vs simple random sampling with replacement of the same "
                  "n: var / (s^2 / n), as R svymean(deff = 'replace')")


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
