"""CRM join and customer value: match survey responses to CRM records by a pseudonymous id
(personal data never leaves the join), RFM scores and tiers, spend-based value tiers, a simple
CLV with its assumptions stated, lifecycle stages, and value tier x loyalty.

RFM, value tiers, CLV and lifecycle describe the CRM customer base and are computed on the
CRM extract (one row per customer, unweighted; they are computed in
:mod:`surveykit._crm_value` and imported from here); crossing them with survey answers
(:func:`value_loyalty`) uses the survey weights.
"""

from __future__ import annotations

import html
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._crm_value import (
    DEFAULT_RFM_TIERS,
    ClvResult,
    clv,
    lifecycle_stage,
    rfm_scores,
    value_tiers,
)
from ._util import as_list, check_columns, resolve_weights, short_repr
from .errors import SegmentationError, SurveykitWarning, TableError

__all__ = ["match_crm", "join_crm", "CrmMatch", "rfm_scores", "value_tiers", "clv",
           "ClvResult", "lifecycle_stage", "value_loyalty", "DEFAULT_RFM_TIERS"]

_PII_NAME = re.compile(
    r"(e[-_]?mail|phone|mobile|cell|telephone|^tel$|address|street|post(al)?[-_]?code|zip|"
    r"first[-_]?name|last[-_]?name|full[-_]?name|surname|^name$|birth|^dob$|ssn|passport|"
    r"national[-_]?id|id[-_]?card|ip[-_]?addr|iban|card[-_]?number|wechat|whatsapp)", re.I)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_PHONE = re.compile(r"^\+?[\d\s().-]{8,20}$")
_DATE = re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}([ T].*)?$|^\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}$")


# --------------------------------------------------------------------------------------------
# the join
# --------------------------------------------------------------------------------------------
@dataclass
class CrmMatch:
    """Result of :func:`match_crm`: the joined data (no personal data) and the match report.

    ``report`` counts matched, unmatched and duplicate ids; ``unmatched_ids`` (survey ids
    without a CRM record), ``crm_only_ids`` (CRM ids nobody in the survey has),
    ``duplicate_survey_ids`` and ``duplicate_crm_ids`` list the pseudonymous ids;
    ``pii_dropped`` names (only names) of the personal-data columns removed.
    """

    data: pd.DataFrame
    report: pd.DataFrame
    unmatched_ids: list = field(default_factory=list)
    crm_only_ids: list = field(default_factory=list)
    duplicate_survey_ids: list = field(default_factory=list)
    duplicate_crm_ids: list = field(default_factory=list)
    pii_dropped: list = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        return self.report.copy()

    def summary(self) -> str:
        r = self.report.set_index("measure")["value"]
        return (f"CRM join: {int(r['matched respondents']):,} of {int(r['survey rows']):,} "
                f"respondents matched ({r['match rate']:.1%}); "
                f"{int(r['unmatched respondents']):,} unmatched, "
                f"{int(r['duplicate ids in survey']):,} duplicate survey ids, "
                f"{int(r['duplicate ids in CRM']):,} duplicate CRM ids; personal-data columns "
                f"dropped: {', '.join(self.pii_dropped) or 'none'}.")

    def __repr__(self) -> str:
        return short_repr(self)

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(self.summary())}</p>" + self.report.to_html(index=False)


def _id_kind(s: pd.Series) -> pd.Series:
    """'number', 'text' or None (missing) for each id value."""
    def kind(v):
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            return None
        if isinstance(v, bool | np.bool_):
            return "other"
        if isinstance(v, int | float | np.integer | np.floating):
            return "number"
        if isinstance(v, str):
            return "text"
        return "other"
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        return pd.Series(np.where(s.isna(), None, "number"), index=s.index, dtype=object)
    if pd.api.types.is_string_dtype(s) and not pd.api.types.is_object_dtype(s):
        return pd.Series(np.where(s.isna(), None, "text"), index=s.index, dtype=object)
    return s.map(kind)


def _id_text(s: pd.Series) -> pd.Series:
    def txt(v):
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            return None
        if isinstance(v, float | np.floating) and float(v).is_integer():
            return str(int(v))
        return str(v).strip()
    return s.map(txt).astype(object)


def _check_ids(s: pd.Series, where: str, coerce: bool) -> pd.Series:
    kinds = _id_kind(s)
    present = kinds.dropna()
    if (present == "other").any():
        row = present.index[int(np.argmax((present == "other").to_numpy()))]
        raise SegmentationError(f"{where} has an id of type {type(s[row]).__name__} at row "
                                f"{row!r}; ids must be text or whole numbers")
    if present.nunique() > 1 and not coerce:
        nn = int((present == "number").sum())
        nt = int((present == "text").sum())
        row = present.index[int(np.argmax((present == "number").to_numpy()))]
        raise SegmentationError(f"{where} mixes ids of different types: {nt} text and {nn} "
                                f"numbers (first number at row {row!r}); ids must be one type. "
                                "Fix the file, or pass coerce_ids=True to match all ids as text "
                                "(check leading zeros)")
    return kinds


def _pii_suspects(df: pd.DataFrame, skip: set) -> dict[str, str]:
    found = {}
    for c in df.columns:
        if c in skip:
            continue
        if _PII_NAME.search(str(c)):
            found[c] = "its name"
            continue
        s = df[c]
        if pd.api.types.is_numeric_dtype(s):
            continue
        sample = s.dropna().astype(str).head(200)
        if len(sample) == 0:
            continue
        if sample.str.match(_EMAIL).mean() > 0.5:
            found[c] = "its values look like e-mail addresses"
        elif (sample.str.match(_PHONE).mean() > 0.5 and sample.str.count(r"\d").min() >= 8
              and sample.str.match(_DATE).mean() < 0.5):
            found[c] = "its values look like phone numbers"
    return found


def match_crm(responses: pd.DataFrame, crm: pd.DataFrame, *, on: str | None = None,
              crm_on: str | None = None, pii: Sequence[str] | None = None,
              allow: Sequence[str] | None = None, questionnaire=None,
              duplicates: str = "drop", coerce_ids: bool = False,
              columns: Sequence[str] | None = None) -> CrmMatch:
    """Join survey responses to CRM records by a pseudonymous customer id.

    Every survey row is kept (left join) and gets ``crm_matched``. Personal data never leave
    the join: columns declared PII (``pii=``, questionnaire ``pii: true``) are dropped from both
    sides; CRM columns that look like personal data (by name, or e-mail / phone-like values)
    but are not declared are dropped too, with a :class:`SurveykitWarning` naming them
    (``allow=`` keeps a column that is not personal data).

    Parameters
    ----------
    responses, crm : DataFrame
        Survey responses (one row per respondent) and the CRM extract (one row per customer).
    on : str, optional
        Id column of ``responses`` (default: the questionnaire's ``roles.customer_id``, else
        ``"customer_id"``); ``crm_on`` the CRM's id column (default: same name).
    duplicates : {"drop", "first", "error"}
        CRM ids that occur more than once: match none of their records (default, reported),
        use the first record, or raise.
    coerce_ids : bool
        Match ids as text when the two files (or one column) mix numbers and text.
    columns : list of str, optional
        CRM columns to bring in (default: all non-PII columns).

    Examples
    --------
    >>> from surveykit.questionnaire import load_questionnaire
    >>> from surveykit.responses import read_responses
    >>> q = load_questionnaire("questionnaires/pc_customers.yaml")
    >>> responses = read_responses("data/demo/responses.csv", q)
    >>> crm = pd.read_csv("data/demo/crm.csv")
    >>> m = match_crm(responses, crm, pii=["email", "phone"])
    >>> print(m.summary())  # doctest: +NORMALIZE_WHITESPACE
    CRM join: 3,960 of 4,000 respondents matched (99.0%); 40 unmatched, 6 duplicate survey
    ids, 0 duplicate CRM ids; personal-data columns dropped: email, phone.
    >>> m.report.set_index("measure").loc["CRM ids not in survey", "value"]
    206
    >>> df = m.data
    >>> df.columns[-7:].tolist()  # doctest: +NORMALIZE_WHITESPACE
    ['first_purchase', 'last_purchase', 'orders_12m', 'spend_12m', 'margin_rate',
     'service_tickets_12m', 'crm_matched']
    """
    for name, d in (("responses", responses), ("crm", crm)):
        if not isinstance(d, pd.DataFrame):
            raise SegmentationError(f"{name} must be a pandas DataFrame, not {type(d).__name__}")
    if duplicates not in ("drop", "first", "error"):
        raise SegmentationError("duplicates must be 'drop', 'first' or 'error', not "
                                f"{duplicates!r}")
    roles = getattr(questionnaire, "roles", None)
    on = on or (getattr(roles, "customer_id", None) if roles is not None else None) or "customer_id"
    crm_on = crm_on or on
    check_columns(responses, [on], error=SegmentationError, what="survey id column")
    check_columns(crm, [crm_on], error=SegmentationError, what="CRM id column")
    declared = set(as_list(pii)) | set(getattr(questionnaire, "pii_columns", []) or [])
    declared -= {on, crm_on}
    allow = set(as_list(allow))
    unknown = [c for c in as_list(pii) if c not in crm.columns and c not in responses.columns]
    if unknown:
        warnings.warn(f"PII columns {', '.join(map(repr, unknown))} are in neither file; "
                      "nothing to drop for them", SurveykitWarning, stacklevel=2)
    suspects = _pii_suspects(crm, declared | allow | {crm_on})
    if suspects:
        warnings.warn("CRM columns that look like personal data but are not declared PII were "
                      "dropped in the join: " + "; ".join(f"{c!r} ({why})" for c, why in
                                                          suspects.items())
                      + ". Declare them (pii=[...] or pii: true in the questionnaire) to silence "
                      "this, or pass allow=[...] for a column that is not personal data.",
                      SurveykitWarning, stacklevel=2)
    drop_crm = [c for c in crm.columns if c in declared or c in suspects]
    keep = [c for c in crm.columns if c not in drop_crm and c != crm_on]
    if columns is not None:
        bad = [c for c in as_list(columns) if c not in keep]
        if bad:
            raise SegmentationError(f"columns {', '.join(map(repr, bad))} are not non-personal "
                                    f"CRM columns; choose from {', '.join(keep)}")
        keep = as_list(columns)

    rk = _check_ids(responses[on], f"survey column {on!r}", coerce_ids)
    ck = _check_ids(crm[crm_on], f"CRM column {crm_on!r}", coerce_ids)
    rkinds, ckinds = set(rk.dropna()), set(ck.dropna())
    if rkinds and ckinds and rkinds != ckinds and not coerce_ids:
        raise SegmentationError(f"ids have different types: survey {on!r} is "
                                f"{'/'.join(sorted(rkinds))}, CRM {crm_on!r} is "
                                f"{'/'.join(sorted(ckinds))}; nothing would match. Pass "
                                "coerce_ids=True to match them as text (check leading zeros), "
                                "or convert one column")
    if coerce_ids or rkinds != ckinds:
        rid, cid = _id_text(responses[on]), _id_text(crm[crm_on])
    else:
        rid = responses[on].astype(object).where(responses[on].notna(), None)
        cid = crm[crm_on].astype(object).where(crm[crm_on].notna(), None)
        if rkinds == {"text"}:
            rid, cid = _id_text(rid), _id_text(cid)

    cid_ok = cid.notna()
    counts = cid[cid_ok].value_counts()
    dup_crm = sorted(counts.index[counts > 1].tolist(), key=str)
    if dup_crm and duplicates == "error":
        raise SegmentationError(f"{len(dup_crm)} CRM ids occur more than once (e.g. "
                                f"{dup_crm[0]!r}); deduplicate the extract or pass "
                                "duplicates='first' / 'drop'")
    if dup_crm and duplicates == "drop":
        warnings.warn(f"{len(dup_crm)} CRM ids occur more than once (e.g. {dup_crm[0]!r}); their "
                      "records were not matched (duplicates='first' uses the first record)",
                      SurveykitWarning, stacklevel=2)
    use = cid_ok & (~cid.isin(dup_crm) if duplicates == "drop" else ~cid.duplicated())
    right = crm.loc[use.to_numpy(), keep].copy()
    right.index = pd.Index(cid[use].to_numpy(), dtype=object)
    clash = [c for c in keep if c in responses.columns]
    right = right.rename(columns={c: f"{c}_crm" for c in clash})

    data = responses.drop(columns=[c for c in responses.columns if c in declared])
    looked = right.reindex(pd.Index(rid.to_numpy(), dtype=object))
    looked.index = responses.index
    matched = rid.notna().to_numpy() & rid.isin(right.index).to_numpy()
    data = pd.concat([data, looked], axis=1)
    data["crm_matched"] = matched
    rcounts = rid.dropna().value_counts()
    dup_survey = sorted(rcounts.index[rcounts > 1].tolist(), key=str)
    survey_ids = set(rid.dropna())
    unmatched = sorted({i for i, m in zip(rid, matched, strict=True) if pd.notna(i) and not m},
                       key=str)
    crm_only = sorted(set(cid[cid_ok]) - survey_ids, key=str)
    n = len(responses)
    dropped = sorted(set(drop_crm) | {c for c in responses.columns if c in declared})
    report = pd.DataFrame({"measure": [
        "survey rows", "survey rows without id", "distinct survey ids", "matched respondents",
        "unmatched respondents", "match rate", "CRM records", "CRM records without id",
        "CRM ids not in survey", "duplicate ids in survey", "duplicate ids in CRM",
        "PII columns dropped"],
        "value": [n, int(rid.isna().sum()), len(survey_ids), int(matched.sum()),
                  int(n - matched.sum()), matched.sum() / n if n else np.nan, len(crm),
                  int((~cid_ok).sum()), len(crm_only), len(dup_survey), len(dup_crm),
                  len(dropped)]}, dtype=object)
    return CrmMatch(data, report, unmatched, crm_only, dup_survey, dup_crm, dropped)


def join_crm(responses: pd.DataFrame, crm: pd.DataFrame, **kwargs) -> pd.DataFrame:
    """The joined data of :func:`match_crm` (same parameters); see ``match_crm`` for the
    match report.

    Examples
    --------
    >>> from surveykit.questionnaire import load_questionnaire
    >>> from surveykit.responses import read_responses
    >>> q = load_questionnaire("questionnaires/pc_customers.yaml")
    >>> responses = read_responses("data/demo/responses.csv", q)
    >>> crm = pd.read_csv("data/demo/crm.csv")
    >>> df = join_crm(responses, crm, questionnaire=q, pii=["email", "phone"])
    >>> df.shape, "email" in df.columns, round(float(df["crm_matched"].mean()), 3)
    ((4000, 100), False, 0.99)
    """
    return match_crm(responses, crm, **kwargs).data


# --------------------------------------------------------------------------------------------
# value x loyalty
# --------------------------------------------------------------------------------------------
def value_loyalty(df: pd.DataFrame, value: str, *, nps: str | None = None,
                  satisfaction: str | None = None, weights=None,
                  high: Sequence | None = None, satisfaction_max: float | None = None,
                  questionnaire=None, **banner_kwargs):
    """Cross value tier with satisfaction and loyalty, and flag high-value customers at risk.

    Returns ``(table, at_risk)``: a :class:`~surveykit.tables.BannerTable` of the loyalty and
    satisfaction questions by value tier (weighted, with significance letters), and a boolean
    Series marking respondents in a ``high`` tier (default: the last category of ``value``)
    who are NPS detractors (0-6) or, with ``satisfaction_max``, at or below that satisfaction.

    Examples
    --------
    >>> df = pd.DataFrame({
    ...     "value_tier": pd.Categorical(["low", "low", "high", "high", "high", "low", "high"],
    ...                                  categories=["low", "high"], ordered=True),
    ...     "nps": [9, 3, 10, 5, 8, 7, 2],
    ...     "sat": [4, 2, 5, 3, 1, 4, 2],
    ...     "w": [1.0, 1.0, 2.0, 1.0, 1.0, 1.0, 0.5]})
    >>> table, at_risk = value_loyalty(df, "value_tier", nps="nps", satisfaction="sat",
    ...                                satisfaction_max=2, weights="w")
    >>> at_risk.tolist()  # high tier and a detractor (nps <= 6) or sat <= 2
    [False, False, False, True, True, False, True]
    >>> print(table.footnotes[-1])  # doctest: +NORMALIZE_WHITESPACE
    High-value at risk (high and detractor or sat <= 2): n = 3, 56% of high-value
    customers (weighted).
    """
    from .tables import banner

    if nps is None and satisfaction is None:
        raise SegmentationError("give nps= and/or satisfaction= to cross with the value tier")
    check_columns(df, [value] + [c for c in (nps, satisfaction) if c], error=SegmentationError)
    rows = [c for c in (nps, satisfaction) if c]
    types = dict(banner_kwargs.pop("types", {}) or {})
    if nps:
        types.setdefault(nps, "nps")
    if satisfaction and questionnaire is None:
        types.setdefault(satisfaction, "rating")
    try:
        table = banner(df, rows, [value], weights=weights, types=types,
                       questionnaire=questionnaire, **banner_kwargs)
    except TableError as exc:
        raise SegmentationError(str(exc)) from None
    v = df[value]
    if high is None:
        levels = (list(v.cat.categories) if isinstance(v.dtype, pd.CategoricalDtype)
                  else sorted(v.dropna().unique()))
        high = levels[-1:]
    risk = pd.Series(False, index=df.index)
    if nps:
        risk |= pd.to_numeric(df[nps], errors="coerce") <= 6
    if satisfaction and satisfaction_max is not None:
        risk |= pd.to_numeric(df[satisfaction], errors="coerce") <= satisfaction_max
    at_risk = (v.isin(list(high)) & risk).fillna(False).astype(bool).rename("high_value_at_risk")
    w = resolve_weights(df, weights, error=SegmentationError)
    hv = v.isin(list(high)).to_numpy()
    table.footnotes = table.footnotes + [
        f"High-value at risk ({', '.join(map(str, high))} and "
        + ("detractor" if nps else "") + (" or " if nps and satisfaction_max is not None else "")
        + (f"{satisfaction} <= {satisfaction_max:g}" if satisfaction_max is not None else "")
        + f"): n = {int(at_risk.sum())}, "
        f"{100 * w[at_risk.to_numpy()].sum() / max(w[hv].sum(), 1e-12):.0f}% of high-value "
        "customers (weighted)."]
    return table, at_risk
