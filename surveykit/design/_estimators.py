"""Design-based totals and ratios (R ``svytotal``, ``svyratio``, with ``svyby`` domains).
Means, proportions, top-box and NPS are :func:`surveykit.estimates.estimate` with
``design=``."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from .._util import as_list, check_columns
from .._weighted_stats import _group_codes, _numeric
from ..errors import DesignError
from ..significance import _z
from ._common import check_design

__all__ = ["total", "ratio"]


def _banners(df, bys):
    N = len(df)
    out = [] if bys else [(None, np.zeros(N, dtype=np.int64), [None])]
    for b in bys:
        g, levels = _group_codes(df[b])
        out.append((b, g, levels))
    return out


def total(df: pd.DataFrame, columns: str | Iterable[str], *, design,
          by: str | Iterable[str] | None = None, level: float = 0.95) -> pd.DataFrame:
    """Weighted totals ``sum w y`` with design-based SEs, R ``svytotal`` / ``svyby``.

    Parameters
    ----------
    df : DataFrame
        The data the design was made from (not modified).
    columns : str or list of str
        Numeric columns; NaN is left out (R ``na.rm = TRUE``). A 0/1 column gives the
        estimated number of population members with the trait.
    design : SurveyDesign or ReplicateDesign
    by : str or list of str, optional
        Domains (R ``svyby``): one row per group value of each ``by`` variable.
    level : float
        Confidence level; ``estimate +- z se`` (R ``confint`` on a total uses the normal
        quantile by default).

    Returns
    -------
    DataFrame
        ``variable, stat, [by, group], estimate, se, ci_low, ci_high, n, deff``; ``deff``
        as R ``deff = "replace"``: ``var / (s^2 W^2 / n)``.

    Examples
    --------
    >>> from surveykit.design import SurveyDesign
    >>> df = pd.DataFrame({"psu": [1, 1, 2, 2, 3, 3], "y": [1.0, 2, 3, 4, 5, 9]})
    >>> total(df, "y", design=SurveyDesign(df, ids="psu"))[["estimate", "se"]]
       estimate        se
    0      24.0  9.643651
    """
    cols, bys = as_list(columns), as_list(by)
    if not cols:
        raise DesignError("give at least one column")
    check_columns(df, [*cols, *bys], error=DesignError)
    check_design(df, design)
    z = _z(level)
    w = design.weights
    frames = []
    for col in cols:
        y = _numeric(df, col)
        for b, g, levels in _banners(df, bys):
            G = len(levels)
            ok = np.isfinite(y) & (g >= 0)
            gg, ww, yy = g[ok], w[ok], y[ok]
            est = np.bincount(gg, ww * yy, G)
            W = np.bincount(gg, ww, G)
            n = np.bincount(gg[ww > 0], minlength=G).astype(float)
            with np.errstate(divide="ignore", invalid="ignore"):
                m = np.bincount(gg, ww * yy, G) / W
                ss = np.bincount(gg, ww * (yy - m[gg]) ** 2, G)
                s2 = n / (n - 1) * ss / W
                var = design._total_variances(y, g, G)
                deff = var / (s2 * W * W / n)
            se = np.sqrt(var)
            frame = {"variable": col, "stat": "total"}
            if b is not None:
                frame.update({"by": b, "group": levels})
            frame.update({"estimate": est, "se": se, "ci_low": est - z * se,
                          "ci_high": est + z * se, "n": n.astype(np.int64), "deff": deff})
            f = pd.DataFrame(frame)
            frames.append(f[n > 0] if b is not None else f)
    out = pd.concat(frames, ignore_index=True)
    out.attrs.update({"se": design.method, "level": level,
                      "deff": "var / (s^2 W^2 / n), as R svytotal(deff = 'replace')"})
    return out


def ratio(df: pd.DataFrame, numerator: str, denominator: str, *, design,
          by: str | Iterable[str] | None = None, level: float = 0.95) -> pd.DataFrame:
    """Ratio of two weighted totals ``sum w y / sum w x`` with design-based SE, R ``svyratio``.

    Rows where either variable is missing are left out (R ``na.rm = TRUE``). The influence
    of row *i* is ``w_i (y_i - R x_i) / sum w x`` (linearisation); with replicate weights the
    ratio is recomputed in every replicate.

    Parameters
    ----------
    df : DataFrame
    numerator, denominator : str
        Numeric columns.
    design : SurveyDesign or ReplicateDesign
    by : str or list of str, optional
        Domains (R ``svyby(..., svyratio)``).
    level : float
        Confidence level, normal quantile (R ``confint`` default).

    Returns
    -------
    DataFrame
        ``numerator, denominator, [by, group], estimate, se, ci_low, ci_high, n``.

    Examples
    --------
    >>> from surveykit.design import SurveyDesign
    >>> df = pd.DataFrame({"psu": [1, 1, 2, 2, 3, 3], "y": [1.0, 2, 3, 4, 5, 9],
    ...                    "x": [1.0, 1, 2, 2, 3, 3]})
    >>> r = ratio(df, "y", "x", design=SurveyDesign(df, ids="psu"))
    >>> round(float(r["estimate"].iloc[0]), 4), round(float(r["se"].iloc[0]), 4)
    (2.0, 0.25)
    """
    bys = as_list(by)
    check_columns(df, [numerator, denominator, *bys], error=DesignError)
    check_design(df, design)
    z = _z(level)
    w = design.weights
    y, x = _numeric(df, numerator), _numeric(df, denominator)
    frames = []
    for b, g, levels in _banners(df, bys):
        G = len(levels)
        ok = np.isfinite(y) & np.isfinite(x) & (g >= 0)
        gg, ww = g[ok], w[ok]
        Y = np.bincount(gg, ww * y[ok], G)
        X = np.bincount(gg, ww * x[ok], G)
        n = np.bincount(gg[ww > 0], minlength=G).astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            est = Y / X
        var, _ = design._domain_variances(np.where(ok, y, np.nan), g, G, est, np.eye(G),
                                          x=np.where(ok, x, np.nan))
        se = np.sqrt(var)
        frame = {"numerator": numerator, "denominator": denominator}
        if b is not None:
            frame.update({"by": b, "group": levels})
        frame.update({"estimate": est, "se": se, "ci_low": est - z * se,
                      "ci_high": est + z * se, "n": n.astype(np.int64)})
        f = pd.DataFrame(frame)
        frames.append(f[n > 0] if b is not None else f)
    out = pd.concat(frames, ignore_index=True)
    out.attrs.update({"se": design.method, "level": level})
    return out
