"""Segments: a priori (questionnaire rules), needs-based (k-means / Gaussian mixtures),
profiles against the total with significance, and a validation summary.

Needs-based segments are found on respondents as sampled (the clustering is unweighted);
weights enter the sizes and the profiles, where they change estimates; they are fitted in
:mod:`surveykit._needs_segments` and imported from here. CRM value tiers, RFM, CLV and
lifecycle stages live in :mod:`surveykit.crm`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from ._needs_segments import (
    SegmentModel,
    _item_matrix,
    _prepare,
    choose_k,
    needs_segments,
)
from ._util import as_list, check_columns, resolve_weights
from .errors import SegmentationError, TableError

__all__ = ["apriori_segments", "choose_k", "needs_segments", "SegmentModel", "profile_segments",
           "segment_summary"]


# --------------------------------------------------------------------------------------------
# a priori segments
# --------------------------------------------------------------------------------------------
def apriori_segments(df: pd.DataFrame, segment: str | None = None, *, questionnaire=None,
                     rules: Mapping[str, Callable | str | Sequence[bool]] | None = None,
                     other: str | None = None) -> pd.Series:
    """A priori segments, from a questionnaire derived variable or from explicit rules.

    Parameters
    ----------
    df : DataFrame
        Responses (not modified).
    segment : str, optional
        Id of a derived variable with ``rules`` in the questionnaire (e.g. the PC segments).
    questionnaire : Questionnaire, optional
        Needed for ``segment`` and for rules given as expression text.
    rules : dict, optional
        ``{label: rule}``; a rule is a callable ``df -> bool mask``, a boolean array, or an
        expression in the questionnaire's language. First match wins.
    other : str, optional
        Label for respondents matching no rule (default: missing).

    Returns
    -------
    Series
        Categorical segment labels aligned with ``df.index`` (categories in rule order).

    Examples
    --------
    >>> from surveykit.questionnaire import load_questionnaire
    >>> from surveykit.responses import clean, read_responses
    >>> q = load_questionnaire("questionnaires/pc_customers.yaml")
    >>> df, _ = clean(q, read_responses("data/demo/responses.csv", q))
    >>> seg = apriori_segments(df, "segment", questionnaire=q)
    >>> seg.value_counts(sort=False)
    segment
    Students                   508
    Young professionals       1467
    Older users                441
    Large enterprises          516
    SMEs                       620
    Government & education     442
    Name: count, dtype: int64
    >>> seg = apriori_segments(df, rules={"Students": lambda d: d.age <= 24,
    ...                                   "Older users": lambda d: d.age >= 40},
    ...                        other="Other")
    >>> seg.value_counts(sort=False)
    segment
    Students        508
    Older users     523
    Other          2963
    Name: count, dtype: int64
    """
    if (segment is None) == (rules is None):
        raise SegmentationError("pass either segment= (a derived variable of the questionnaire) "
                                "or rules={label: rule}, not both or neither")
    if segment is not None:
        if questionnaire is None:
            raise SegmentationError(f"segment={segment!r} needs questionnaire= (it defines the "
                                    "derived variable's rules)")
        derived = {d.id: d for d in questionnaire.derived}
        if segment not in derived:
            raise SegmentationError(f"{segment!r} is not a derived variable of questionnaire "
                                    f"{questionnaire.id!r}; it has: {', '.join(derived) or 'none'}")
        d = derived[segment]
        categories = d.categories
        try:
            codes = questionnaire.derive(df)[segment]
        except KeyError as exc:
            raise SegmentationError(f"derived variable {segment!r} needs a column that is not "
                                    f"in the data: {exc.args[0]}") from None
        labels = dict(categories)
        cats = list(categories.values())
        out = codes.map(lambda c: labels.get(c, labels.get(_num(c))) if pd.notna(c) else None)
        name = segment
    else:
        cats, out = list(rules), pd.Series([None] * len(df), index=df.index, dtype=object)
        for label, rule in rules.items():
            mask = _rule_mask(df, label, rule, questionnaire)
            out[mask & out.isna()] = label
        name = "segment"
    if other is not None:
        out = out.where(out.notna(), other)
        cats = cats + [other]
    return pd.Series(pd.Categorical(out, categories=cats), index=df.index, name=name)


def _num(c):
    try:
        return int(c) if float(c).is_integer() else float(c)
    except (TypeError, ValueError):
        return c


def _rule_mask(df, label, rule, questionnaire) -> np.ndarray:
    if isinstance(rule, str):
        if questionnaire is None:
            raise SegmentationError(f"rule for {label!r} is expression text; pass questionnaire= "
                                    "to evaluate it, or give a callable df -> mask")
        mask = questionnaire.evaluate(rule, df)
    elif callable(rule):
        mask = rule(df)
    else:
        mask = rule
    if len(mask) != len(df):
        raise SegmentationError(f"rule for {label!r} gave {len(mask)} values for {len(df)} rows")
    mask = pd.Series(mask, index=df.index) if not isinstance(mask, pd.Series) else mask
    return mask.fillna(False).astype(bool).to_numpy()


# --------------------------------------------------------------------------------------------
# profiles and validation
# --------------------------------------------------------------------------------------------
def profile_segments(df: pd.DataFrame, segments: str | pd.Series, variables: Sequence[str], *,
                     weights=None, questionnaire=None, types: Mapping[str, str] | None = None,
                     labels=None, value_labels=None, scales=None, alpha: float = 0.05,
                     correction: str = "holm", min_base: int = 30,
                     method: str = "effective_base") -> pd.DataFrame:
    """Profile of every segment against the total: estimate, total, index (100 = total) and
    significance, for every row a banner would show (category %, top/bottom box, means, NPS).

    The test is :func:`surveykit.estimates.compare` with ``reference="total"`` (each segment
    against the rest of the sample, on effective bases, or ``method="design"``), with
    ``correction`` across the segments of each row. Segments with an unweighted base under
    ``min_base`` are flagged and not tested.

    ``segments`` is a column of ``df`` or a Series aligned with it (e.g. ``model.labels``).

    Returns
    -------
    DataFrame
        ``variable, question_label, row, row_label, stat, segment, estimate, total, index,
        difference, sig ("+" / "-"), p_value, p_adj, n, n_eff, low_base, test``; the method
        note is in ``.attrs["footnotes"]``.

    Examples
    --------
    >>> from surveykit.survey import Survey
    >>> s = Survey.from_files("questionnaires/pc_customers.yaml", "data/demo/responses.csv",
    ...                       targets="data/demo/targets.yaml")
    >>> p = profile_segments(s.data, "segment", ["overall_sat", "nps", "channel"],
    ...                      weights="weight", questionnaire=s.questionnaire)
    >>> p.query("stat == 'nps'")[["segment", "estimate", "total", "sig"]].round(1)
         segment  estimate  total sig
    102        1       1.6   10.2   -
    103        2      42.0   10.2   +
    104        3     -29.3   10.2   -
    105        4      32.5   10.2   +
    106        5      -0.2   10.2   -
    107        6      17.8   10.2   +
    """
    from ._banner_sums import _question_matrix
    from ._question_meta import _Meta
    from .estimates import compare
    from .tables import adjust_pvalues

    if isinstance(segments, str):
        check_columns(df, [segments], error=SegmentationError, what="segment column")
        seg = df[segments]
    else:
        seg = pd.Series(segments)
        if len(seg) != len(df) or not seg.index.equals(df.index):
            raise SegmentationError("segments must be a column name or a Series with the same "
                                    "index as df")
    if seg.notna().sum() == 0:
        raise SegmentationError("no respondent has a segment (all missing)")
    w = resolve_weights(df, weights, error=SegmentationError)
    meta = _Meta(df, questionnaire, types, labels, value_labels, scales, 2, SegmentationError)
    work, rows = {"__segment__": seg.to_numpy() if not isinstance(seg.dtype, pd.CategoricalDtype)
                  else seg.array}, []
    for var in as_list(variables):
        spec = meta.spec(var, role="profile")
        try:
            valid, P, X, rdesc = _question_matrix(meta, spec)
        except TableError as exc:
            raise SegmentationError(str(exc)) from None
        if not valid.any():
            raise SegmentationError(f"profile variable {var!r} has no answers (all missing)")
        for key, rlabel, stat, kind, j in rdesc:
            name = f"__y{len(rows)}"
            if kind == "p":
                y, cstat = np.where(valid, P[:, j], np.nan), "proportion"
            elif stat == "nps":
                x = pd.to_numeric(meta.values(var), errors="coerce").to_numpy(float)
                y, cstat = np.where(valid, x, np.nan), "nps"
            else:
                y, cstat = np.where(valid, X[:, j], np.nan), "mean"
            work[name] = y
            rows.append({"__name__": name, "variable": var, "question_label": spec.label,
                         "row": str(key if not isinstance(key, float) or not key.is_integer()
                                    else int(key)), "row_label": rlabel, "stat": stat,
                         "__cstat__": cstat})
    work = pd.DataFrame(work, index=df.index)
    parts = []
    for cstat in ("proportion", "mean", "nps"):
        names = [r["__name__"] for r in rows if r["__cstat__"] == cstat]
        if names:
            parts.append(compare(work, names, by="__segment__", stat=cstat, weights=w,
                                 reference="total", alpha=alpha, method=method))
    res = pd.concat(parts, ignore_index=True).drop(columns=["stat"]).rename(
        columns={"variable": "__name__", "group": "segment", "reference_estimate": "total"})
    info = pd.DataFrame(rows)
    info["__order__"] = np.arange(len(info))
    res = res.merge(info, on="__name__", how="left")
    res = res.sort_values("__order__", kind="stable").reset_index(drop=True)
    res["low_base"] = res["n"] < min_base
    p = res["p_value"].where(~res["low_base"]).to_numpy(float)
    p_adj = np.full(len(res), np.nan)
    for pos in res.groupby("__order__").indices.values():
        p_adj[pos] = adjust_pvalues(p[pos], correction)
    res["p_adj"] = p_adj
    sig = p_adj < alpha
    res["sig"] = np.where(sig & (res["difference"] > 0), "+",
                          np.where(sig & (res["difference"] < 0), "-", ""))
    with np.errstate(divide="ignore", invalid="ignore"):
        index = 100 * res["estimate"] / res["total"]
    res["index"] = np.where(res["stat"] == "nps", np.nan, index)
    out = res[["variable", "question_label", "row", "row_label", "stat", "segment", "estimate",
               "total", "index", "difference", "sig", "p_value", "p_adj", "n", "n_eff",
               "low_base", "test"]]
    corr = {"none": "no correction", "bonferroni": "Bonferroni correction",
            "holm": "Holm correction", "fdr": "Benjamini-Hochberg (FDR) correction"}[correction]
    out.attrs["footnotes"] = [
        "Each segment tested against the rest of the sample (surveykit.estimates.compare, "
        f"reference='total'): {'; '.join(sorted(res['test'].unique()))}; alpha = {alpha:g}; "
        f"{corr} across the segments of each row. + / - : significantly above / below the "
        "Total. Index = 100 x segment / Total.",
        f"Segments with an unweighted base under {min_base} are flagged, not tested.",
        "Weighted." if weights is not None else "Unweighted."]
    return out


def segment_summary(df: pd.DataFrame, segments: str | pd.Series, *, weights=None,
                    items: Sequence[str] | None = None) -> pd.DataFrame:
    """Validation summary of any segmentation (a priori or needs-based): size unweighted and
    weighted, and, with ``items``, distinctiveness (mean |z| of the segment's item means vs
    the total) and the mean silhouette on the standardised items.

    Examples
    --------
    Weighted to the demo targets, the segment shares match them (14/24/22/14/16/10%):

    >>> from surveykit.survey import Survey
    >>> s = Survey.from_files("questionnaires/pc_customers.yaml", "data/demo/responses.csv",
    ...                       targets="data/demo/targets.yaml")
    >>> r = segment_summary(s.data, "segment", weights="weight")
    >>> r[["segment", "n", "share", "share_weighted"]].round(3)
       segment     n  share  share_weighted
    0        1   508  0.127            0.14
    1        2  1467  0.367            0.24
    2        3   441  0.110            0.22
    3        4   516  0.129            0.14
    4        5   620  0.155            0.16
    5        6   442  0.111            0.10
    """
    seg = df[segments] if isinstance(segments, str) else pd.Series(segments, index=df.index)
    w = resolve_weights(df, weights, error=SegmentationError)
    ok = seg.notna().to_numpy()
    if ok.sum() == 0:
        raise SegmentationError("no respondent has a segment (all missing)")
    levels = (list(seg.cat.categories) if isinstance(seg.dtype, pd.CategoricalDtype)
              else sorted(seg.dropna().unique(), key=str))
    rows = []
    if items is not None:
        from sklearn.metrics import silhouette_samples

        items, X = _item_matrix(df, items, missing="drop")
        Z, zok, mean, sd = _prepare(X, True, "drop")
        lab = seg.to_numpy()[zok]
        have = pd.notna(lab)
        codes = pd.Categorical(lab[have], categories=levels).codes
        sil = (silhouette_samples(Z[have], codes) if len(np.unique(codes)) > 1
               else np.full(have.sum(), np.nan))
    for lev in levels:
        m = (seg == lev).fillna(False).to_numpy()
        r = {"segment": lev, "n": int(m.sum()), "share": m.sum() / ok.sum(),
             "n_weighted": float(w[m].sum()), "share_weighted": float(w[m].sum() / w[ok].sum())}
        if items is not None:
            zm = (X[m].mean() - mean) / sd
            r["distinctiveness"] = float(np.abs(zm).mean())
            r["silhouette"] = float(np.nanmean(sil[codes == levels.index(lev)])) \
                if (codes == levels.index(lev)).any() else np.nan
        rows.append(r)
    return pd.DataFrame(rows)
