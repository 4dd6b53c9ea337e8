"""Customer value from the CRM extract (one row per customer, unweighted): RFM scores and
tiers, spend-based value tiers, a simple CLV with its assumptions stated, and lifecycle
stages. Importable from :mod:`surveykit.crm`."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._util import check_columns, short_repr
from .errors import SegmentationError


# --------------------------------------------------------------------------------------------
# RFM, value tiers, CLV, lifecycle
# --------------------------------------------------------------------------------------------
def _as_of(as_of) -> pd.Timestamp:
    if as_of is None:
        raise SegmentationError("as_of (the CRM reference date, e.g. '2024-06-30') is needed "
                                "to turn purchase dates into days")
    try:
        return pd.Timestamp(as_of)
    except (ValueError, TypeError):
        raise SegmentationError(f"as_of {as_of!r} is not a date; use 'YYYY-MM-DD'") from None


def _days_since(df, col, as_of) -> pd.Series:
    s = df[col]
    if pd.api.types.is_numeric_dtype(s):
        return s.astype(float)
    d = (s if pd.api.types.is_datetime64_any_dtype(s)
         else pd.to_datetime(s, errors="coerce", format="ISO8601"))
    bad = s.notna() & d.isna()
    if bad.any():
        row = bad.index[int(np.argmax(bad.to_numpy()))]
        raise SegmentationError(f"column {col!r} row {row!r} has {s[row]!r}, not a date; use "
                                "ISO dates (YYYY-MM-DD)")
    days = (_as_of(as_of) - d).dt.days.astype(float)
    if (days < 0).any():
        row = days.index[int(np.argmax((days < 0).to_numpy()))]
        raise SegmentationError(f"column {col!r} row {row!r} is after as_of {as_of}; check the "
                                "reference date")
    return days


def _score(x: pd.Series, cuts, higher_better: bool) -> pd.Series:
    """1 + number of cut points the value is beyond (NaN -> 1, the worst score)."""
    v = x.to_numpy(float)
    c = np.asarray(cuts, dtype=float)
    if higher_better:
        s = 1 + (v[:, None] > c[None, :]).sum(axis=1)
    else:
        s = 1 + (v[:, None] < c[None, :]).sum(axis=1)
    s = np.where(np.isnan(v), 1, s)
    return pd.Series(s.astype(int), index=x.index)


DEFAULT_RFM_TIERS: list[tuple[str, Callable[[pd.DataFrame], pd.Series]]] = [
    ("churned", lambda s: s["R"] == 1),
    ("high-value", lambda s: (s["R"] >= 4) & (s["F"] >= 4) & (s["M"] >= 4)),
    ("important", lambda s: (s["F"] >= 4) | (s["M"] >= 4)),
]
"""Default RFM tiers (first match wins; the rest are ``ordinary``): churned = R 1;
high-value = R, F and M all >= 4; important = F or M >= 4."""


def rfm_scores(crm: pd.DataFrame, *, recency: str = "last_purchase",
               frequency: str = "orders_12m", monetary: str = "spend_12m", as_of=None,
               method: str = "quintile", cuts: Mapping[str, Sequence[float]] | None = None,
               tiers: Sequence[tuple[str, Callable]] | None = None,
               default_tier: str = "ordinary") -> pd.DataFrame:
    """RFM scores 1-5 and labelled tiers, one row per CRM customer.

    ``recency`` is a date column (days before ``as_of``) or a number of days. Scores:
    ``quintile`` cut points are the 20/40/60/80th percentiles of the customers' values
    (``numpy.quantile``, linear); ``fixed`` uses ``cuts={"recency": [4 days],
    "frequency": [4], "monetary": [4]}``. A value scores 1 + the number of cut points it is
    beyond (for recency: more recent than), so ties share a score; no purchase date scores
    R = 1. ``tiers`` is a list of ``(label, scores -> mask)``, first match wins
    (default :data:`DEFAULT_RFM_TIERS`), others get ``default_tier``.

    Returns columns ``recency_days, frequency, monetary, R, F, M, rfm, rfm_score, tier``;
    the cut points used are in ``.attrs["cuts"]``.

    Examples
    --------
    >>> crm = pd.read_csv("data/demo/crm.csv")
    >>> r = rfm_scores(crm, as_of="2026-11-01")  # the demo extract's date
    >>> r["tier"].value_counts()
    tier
    ordinary      1675
    important     1071
    churned        834
    high-value     580
    Name: count, dtype: int64
    >>> r.attrs["cuts"]["frequency"]
    [1.0, 2.0, 4.0, 7.0]
    """
    check_columns(crm, [recency, frequency, monetary], error=SegmentationError,
                  what="CRM column")
    if len(crm) == 0:
        raise SegmentationError("the CRM extract has no rows")
    days = (_days_since(crm, recency, as_of) if not pd.api.types.is_numeric_dtype(crm[recency])
            else crm[recency].astype(float))
    vals = {"recency": days}
    for key, col in (("frequency", frequency), ("monetary", monetary)):
        v = pd.to_numeric(crm[col], errors="coerce")
        if v.isna().sum() > crm[col].isna().sum():
            raise SegmentationError(f"CRM column {col!r} has non-numeric values")
        vals[key] = v.fillna(0.0).astype(float)
    names = {"recency": recency, "frequency": frequency, "monetary": monetary}
    if method == "quintile":
        used = {}
        for key, v in vals.items():
            ok = v.dropna()
            if ok.nunique() < 2:
                raise SegmentationError(f"{key} column {names[key]!r} has a single value; "
                                        "quintiles cannot rank customers: use method='fixed'")
            used[key] = np.quantile(ok.to_numpy(float), [0.2, 0.4, 0.6, 0.8]).tolist()
    elif method == "fixed":
        if not cuts or set(cuts) != {"recency", "frequency", "monetary"}:
            raise SegmentationError("method='fixed' needs cuts={'recency': [...], 'frequency': "
                                    "[...], 'monetary': [...]}, four ascending cut points each")
        used = {}
        for key, c in cuts.items():
            c = [float(x) for x in c]
            if len(c) != 4 or any(b <= a for a, b in zip(c, c[1:], strict=False)):
                raise SegmentationError(f"cuts[{key!r}] = {c} must be 4 ascending cut points "
                                        "(5 scores)")
            used[key] = c
    else:
        raise SegmentationError(f"method must be 'quintile' or 'fixed', not {method!r}")
    out = pd.DataFrame({"recency_days": vals["recency"], "frequency": vals["frequency"],
                        "monetary": vals["monetary"]}, index=crm.index)
    out["R"] = _score(vals["recency"], used["recency"], higher_better=False)
    out["F"] = _score(vals["frequency"], used["frequency"], higher_better=True)
    out["M"] = _score(vals["monetary"], used["monetary"], higher_better=True)
    out["rfm"] = out["R"].astype(str) + out["F"].astype(str) + out["M"].astype(str)
    out["rfm_score"] = out["R"] + out["F"] + out["M"]
    rules = list(tiers) if tiers is not None else DEFAULT_RFM_TIERS
    tier = pd.Series([None] * len(out), index=out.index, dtype=object)
    for label, rule in rules:
        hit = pd.Series(np.asarray(rule(out), dtype=bool), index=out.index)
        tier[hit & tier.isna()] = label
    tier = tier.fillna(default_tier)
    cats = [lab for lab, _ in rules] + [default_tier]
    out["tier"] = pd.Categorical(tier, categories=list(dict.fromkeys(cats)))
    out.attrs["cuts"] = used
    return out


def value_tiers(crm: pd.DataFrame, spend: str = "spend_12m", *,
                quantiles: Sequence[float] = (0.5, 0.8), cuts: Sequence[float] | None = None,
                labels: Sequence[str] = ("low", "medium", "high")) -> pd.Series:
    """Spend-based value tiers: by default the top 20% of customers by spend are ``high``,
    the next 30% ``medium``, the rest ``low`` (``spend >= cut`` moves up a tier). Give
    ``cuts`` (ascending amounts) for fixed thresholds instead of ``quantiles``.

    Examples
    --------
    >>> crm = pd.read_csv("data/demo/crm.csv")
    >>> tiers = value_tiers(crm, "spend_12m")
    >>> tiers.value_counts()
    value_tier
    low       2080
    medium    1248
    high       832
    Name: count, dtype: int64
    >>> [round(c, 2) for c in tiers.attrs["cuts"]]  # the median and the 80th percentile
    [16240.76, 38576.87]
    """
    check_columns(crm, [spend], error=SegmentationError, what="CRM column")
    x = pd.to_numeric(crm[spend], errors="coerce")
    if cuts is None:
        q = [float(v) for v in quantiles]
        if any(not 0 < v < 1 for v in q) or sorted(q) != q:
            raise SegmentationError(f"quantiles {q} must be ascending and between 0 and 1")
        cuts = np.quantile(x.dropna().to_numpy(float), q).tolist()
    cuts = [float(c) for c in cuts]
    if len(labels) != len(cuts) + 1:
        raise SegmentationError(f"{len(cuts)} cut points make {len(cuts) + 1} tiers but "
                                f"{len(labels)} labels were given")
    idx = (x.to_numpy(float)[:, None] >= np.asarray(cuts)[None, :]).sum(axis=1)
    out = pd.Series(pd.Categorical.from_codes(np.where(x.isna(), -1, idx),
                                              categories=list(labels), ordered=True),
                    index=crm.index, name="value_tier")
    out.attrs["cuts"] = cuts
    return out


@dataclass
class ClvResult:
    """Per-customer CLV with the assumptions that produced it."""

    frame: pd.DataFrame
    assumptions: list[str]

    def to_frame(self) -> pd.DataFrame:
        return self.frame.copy()

    def summary(self) -> str:
        c = self.frame["clv"]
        return (f"CLV for {len(c):,} customers: mean {c.mean():,.2f}, median {c.median():,.2f}, "
                f"total {c.sum():,.2f}.\nAssumptions:\n" + "\n".join(f"- {a}" for a in
                                                                      self.assumptions))

    def __repr__(self) -> str:
        return short_repr(self)

    def _repr_html_(self) -> str:
        lines = "".join(f"<li>{html.escape(a)}</li>" for a in self.assumptions)
        return (f"<p>{html.escape(self.summary().splitlines()[0])}</p><ul>{lines}</ul>"
                + self.frame.describe().to_html())


def clv(crm: pd.DataFrame, *, spend: str = "spend_12m", orders: str = "orders_12m",
        margin: str | float = "margin_rate", lifetime_years: float | None = 3.0,
        retention: float | None = None, discount_rate: float = 0.0) -> ClvResult:
    """A simple customer lifetime value: margin x purchase frequency x expected lifetime.

    ``clv = (spend_12m / orders_12m) * margin_rate * orders_12m * L`` per customer, i.e.
    average order value x margin x orders per year x ``L`` years; with ``discount_rate`` d
    the yearly margin is discounted (annuity factor ``(1 - (1 + d) ** -L) / d``). ``L`` is
    ``lifetime_years``, or ``1 / (1 - retention)`` when a yearly retention rate is given.

    Examples
    --------
    >>> crm = pd.read_csv("data/demo/crm.csv")
    >>> print(clv(crm, lifetime_years=3, discount_rate=0.08).summary())
    CLV for 4,160 customers: mean 8,727.98, median 6,120.83, total 36,308,377.97.
    Assumptions:
    - purchase frequency and average order value of the last 12 months repeat every year
    - margin rate per customer from column 'margin_rate', constant over the lifetime
    - expected lifetime 3 years for every customer (no churn model)
    - yearly margins discounted at 8%
    - no acquisition or retention costs; customers without orders have CLV 0
    """
    check_columns(crm, [spend, orders] + ([margin] if isinstance(margin, str) else []),
                  error=SegmentationError, what="CRM column")
    if retention is not None:
        if not 0 <= retention < 1:
            raise SegmentationError(f"retention must be in [0, 1), not {retention!r}")
        life, life_note = 1 / (1 - retention), (f"expected lifetime 1 / (1 - retention) = "
                                                f"{1 / (1 - retention):.2f} years from a yearly "
                                                f"retention of {retention:.0%}, the same for "
                                                "every customer")
    elif lifetime_years is not None and lifetime_years > 0:
        life, life_note = float(lifetime_years), (f"expected lifetime {lifetime_years:g} years "
                                                  "for every customer (no churn model)")
    else:
        raise SegmentationError("give lifetime_years > 0 or retention in [0, 1)")
    if discount_rate < 0:
        raise SegmentationError(f"discount_rate must be >= 0, not {discount_rate!r}")
    s = pd.to_numeric(crm[spend], errors="coerce").astype(float)
    o = pd.to_numeric(crm[orders], errors="coerce").astype(float)
    m = (pd.to_numeric(crm[margin], errors="coerce").astype(float) if isinstance(margin, str)
         else pd.Series(float(margin), index=crm.index))
    if ((m < 0) | (m > 1)).any():
        raise SegmentationError("margin rates must be between 0 and 1 (0.25 = 25%)")
    factor = life if discount_rate == 0 else (1 - (1 + discount_rate) ** -life) / discount_rate
    with np.errstate(divide="ignore", invalid="ignore"):
        aov = np.where(o > 0, s / o, np.nan)
    frame = pd.DataFrame({"avg_order_value": aov, "orders_per_year": o, "margin_rate": m,
                          "annual_margin": s * m, "lifetime_years": life,
                          "clv": s * m * factor}, index=crm.index)
    mnote = (f"margin rate per customer from column {margin!r}" if isinstance(margin, str)
             else f"margin rate {margin:.0%} for every customer")
    notes = ["purchase frequency and average order value of the last 12 months repeat every "
             "year", f"{mnote}, constant over the lifetime",
             life_note,
             "yearly margins discounted at " + (f"{discount_rate:.0%}" if discount_rate else
                                                "0% (undiscounted)"),
             "no acquisition or retention costs; customers without orders have CLV 0"]
    return ClvResult(frame, notes)


LIFECYCLE_STAGES = ("prospect", "new", "active", "loyal", "at risk", "churned")


def lifecycle_stage(crm: pd.DataFrame, *, first_purchase: str = "first_purchase",
                    last_purchase: str = "last_purchase", as_of=None, new_days: int = 90,
                    at_risk_days: int = 180, churn_days: int = 365,
                    loyal_days: int = 730) -> pd.Series:
    """Lifecycle stage from tenure (days since first purchase) and recency (days since last).

    First match wins: ``prospect`` (no purchase), ``churned`` (recency > churn_days),
    ``at risk`` (recency > at_risk_days), ``new`` (tenure <= new_days), ``loyal``
    (tenure >= loyal_days), otherwise ``active``.

    Examples
    --------
    >>> crm = pd.read_csv("data/demo/crm.csv")
    >>> lifecycle_stage(crm, as_of="2026-11-01").value_counts()
    lifecycle
    at risk     1756
    loyal       1427
    churned      622
    active       347
    new            8
    prospect       0
    Name: count, dtype: int64
    """
    check_columns(crm, [first_purchase, last_purchase], error=SegmentationError,
                  what="CRM column")
    if min(new_days, at_risk_days, churn_days, loyal_days) <= 0 or at_risk_days >= churn_days:
        raise SegmentationError(f"day thresholds must be > 0 with at_risk_days ({at_risk_days})"
                                f" below churn_days ({churn_days})")
    tenure = _days_since(crm, first_purchase, as_of)
    rec = _days_since(crm, last_purchase, as_of)
    stage = np.select(
        [tenure.isna() & rec.isna(), rec > churn_days, rec > at_risk_days, tenure <= new_days,
         tenure >= loyal_days],
        ["prospect", "churned", "at risk", "new", "loyal"], default="active")
    return pd.Series(pd.Categorical(stage, categories=list(LIFECYCLE_STAGES)), index=crm.index,
                     name="lifecycle")
