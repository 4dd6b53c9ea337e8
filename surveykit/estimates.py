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
from ._util import as_list, check_columns
from ._weighted_stats import (
    DEFF_REFERENCE,
    STATS,
    _calibrated_var,
    _check_stat,
    _design_weights,
    _group_codes,
    _intervals,
    _numeric,
    _outcomes,
    _Sums,
    _weights,
)
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
