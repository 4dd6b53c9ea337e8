"""CRM join (ids, duplicates, personal data), RFM, value tiers, CLV, lifecycle, value x loyalty.

RFM / value-tier / CLV expectations are hand calculations written out below.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from surveykit.crm import (
    clv,
    join_crm,
    lifecycle_stage,
    match_crm,
    rfm_scores,
    value_loyalty,
    value_tiers,
)
from surveykit.errors import SegmentationError, SurveykitWarning
from surveykit.tables import BannerTable


def _survey():
    return pd.DataFrame({"resp_id": [1, 2, 3, 4, 5, 6],
                         "customer_id": ["C1", "C2", "C2", "C9", None, "C5"],
                         "nps": [10, 3, 3, 8, 9, 0.0],
                         "spend_12m": [1, 2, 3, 4, 5, 6.0]})


def _crm():
    return pd.DataFrame({"customer_id": ["C1", "C2", "C3", "C5", "C5", "C7"],
                         "spend_12m": [100.0, 200, 300, 500, 550, 700],
                         "orders_12m": [1, 2, 3, 5, 5, 7],
                         "email": [f"c{i}@example.com" for i in range(6)],
                         "phone": [f"+1-555-010-{i:04d}" for i in range(6)]})


def test_match_report_counts_and_pii_never_leaves():
    survey, crm = _survey(), _crm()
    before = (survey.copy(), crm.copy())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = match_crm(survey, crm, pii=["email", "phone"])
    r = m.report.set_index("measure")["value"]
    assert r["survey rows"] == 6 and r["survey rows without id"] == 1
    assert r["matched respondents"] == 3            # C1, C2 twice; C5 is duplicated in CRM
    assert r["unmatched respondents"] == 3          # C9, no id, C5
    assert r["duplicate ids in survey"] == 1 and m.duplicate_survey_ids == ["C2"]
    assert r["duplicate ids in CRM"] == 1 and m.duplicate_crm_ids == ["C5"]
    assert m.unmatched_ids == ["C5", "C9"]
    assert m.crm_only_ids == ["C3", "C7"]
    assert r["match rate"] == pytest.approx(0.5)
    assert any("occur more than once" in str(w.message) for w in caught)
    d = m.data
    assert d["crm_matched"].tolist() == [True, True, True, False, False, False]
    assert d["orders_12m"].tolist()[:3] == [1, 2, 2]
    assert d["spend_12m_crm"].tolist()[:3] == [100, 200, 200]     # name clash -> suffix
    assert d["spend_12m"].tolist() == survey["spend_12m"].tolist()
    # personal data: not a column, not a value, not in any rendering
    text = d.to_csv() + repr(m) + m._repr_html_() + m.report.to_csv()
    for col in ("email", "phone"):
        assert col not in d.columns
        for v in crm[col]:
            assert v not in text
    assert m.pii_dropped == ["email", "phone"]
    pd.testing.assert_frame_equal(survey, before[0])
    pd.testing.assert_frame_equal(crm, before[1])
    # duplicates='first' matches C5 to its first record
    m2 = match_crm(survey, crm, pii=["email", "phone"], duplicates="first")
    assert m2.data.loc[5, "orders_12m"] == 5 and m2.data.loc[5, "crm_matched"]
    with pytest.raises(SegmentationError, match="deduplicate"):
        match_crm(survey, crm, pii=["email", "phone"], duplicates="error")


def test_undeclared_pii_is_dropped_with_a_clear_warning():
    survey, crm = _survey(), _crm().drop_duplicates("customer_id")
    crm = crm.assign(contact=crm["email"], first_purchase="2024-01-05", segment_code=1)
    with pytest.warns(SurveykitWarning) as rec:
        d = join_crm(survey, crm, pii=["email"])
    msg = " ".join(str(w.message) for w in rec)
    assert "'phone' (its name)" in msg and "'contact' (its values look like e-mail" in msg
    assert "first_purchase" not in msg                       # ISO dates are not phone numbers
    assert "pii=[" in msg and "allow=" in msg
    assert not {"email", "phone", "contact"} & set(d.columns)
    assert {"first_purchase", "segment_code"} <= set(d.columns)
    # a column that only looks like personal data can be allowed through
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d2 = join_crm(survey, crm.drop(columns=["contact"]), pii=["email"], allow=["phone"])
    assert "phone" in d2.columns


def test_questionnaire_roles_and_pii():
    from surveykit.questionnaire import questionnaire_from_dict

    q = questionnaire_from_dict({
        "id": "t", "title": "T",
        "questions": [{"id": "nps", "type": "nps", "text": "Recommend?"},
                      {"id": "email", "type": "open", "text": "Your e-mail", "pii": True}],
        "roles": {"customer_id": "cust"}})
    survey = _survey().rename(columns={"customer_id": "cust"}).assign(email="a@b.example")
    crm = _crm().drop_duplicates("customer_id").rename(columns={"customer_id": "cust"})
    with pytest.warns(SurveykitWarning, match="'phone'"):
        m = match_crm(survey, crm, questionnaire=q)
    assert "email" not in m.data.columns          # dropped from the survey side too
    assert m.pii_dropped == ["email", "phone"]
    assert m.data["crm_matched"].sum() == 4


def test_id_types():
    survey = pd.DataFrame({"customer_id": [101, 102, 103], "nps": [1, 2, 3.0]})
    crm = pd.DataFrame({"customer_id": ["101", "102", "0103"], "orders_12m": [1, 2, 3]})
    with pytest.raises(SegmentationError, match="different types.*coerce_ids=True"):
        match_crm(survey, crm)
    m = match_crm(survey, crm, coerce_ids=True)
    assert m.data["crm_matched"].tolist() == [True, True, False]      # leading zero kept
    mixed = pd.DataFrame({"customer_id": pd.Series(["C1", 7, "C3"], dtype=object)})
    with pytest.raises(SegmentationError, match="mixes ids of different types: 2 text and 1"):
        match_crm(mixed, crm)
    floats = pd.DataFrame({"customer_id": [101.0, np.nan, 103.0]})
    m2 = match_crm(floats, pd.DataFrame({"customer_id": [101, 103], "x": [1, 2]}))
    assert m2.data["x"].tolist()[0] == 1 and m2.data["crm_matched"].tolist() == [True, False,
                                                                                  True]
    with pytest.raises(SegmentationError, match="'custid'"):
        match_crm(survey, crm, on="custid")


# -- RFM, hand calculation -------------------------------------------------------------------
RECENCY = [5, 20, 40, 60, 100, 150, 200, 300, 400, 500]
FREQ = [10, 20, 1, 8, 2, 3, 4, 5, 1, 2]
MONEY = [900, 1000, 100, 800, 300, 500, 700, 600, 200, 400]


def _rfm_crm(dates=False):
    crm = pd.DataFrame({"customer_id": [f"C{i}" for i in range(10)], "recency": RECENCY,
                        "orders_12m": FREQ, "spend_12m": MONEY})
    if dates:
        crm["last_purchase"] = [(pd.Timestamp("2024-12-31") - pd.Timedelta(days=d))
                                .strftime("%Y-%m-%d") for d in RECENCY]
    return crm


@pytest.mark.parametrize("dates", [False, True])
def test_rfm_quintiles_match_hand_calculation(dates):
    crm = _rfm_crm(dates)
    r = rfm_scores(crm, recency="last_purchase" if dates else "recency",
                   as_of="2024-12-31" if dates else None)
    # numpy 'linear' quantiles by hand: recency 20+.8*20, 60+.6*40, 150+.4*50, 300+.2*100
    assert r.attrs["cuts"]["recency"] == pytest.approx([36, 84, 170, 320])
    assert r.attrs["cuts"]["frequency"] == pytest.approx([1.8, 2.6, 4.4, 8.4])
    assert r.attrs["cuts"]["monetary"] == pytest.approx([280, 460, 640, 820])
    assert r["R"].tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert r["F"].tolist() == [5, 5, 1, 4, 2, 3, 3, 4, 1, 2]
    assert r["M"].tolist() == [5, 5, 1, 4, 2, 3, 4, 3, 1, 2]
    assert r["rfm"].tolist()[:3] == ["555", "555", "411"]
    assert r["tier"].tolist() == ["high-value", "high-value", "ordinary", "high-value",
                                  "ordinary", "ordinary", "important", "important", "churned",
                                  "churned"]
    assert r["recency_days"].tolist() == RECENCY


def test_rfm_fixed_cuts_custom_tiers_and_errors():
    crm = _rfm_crm()
    cuts = {"recency": [30, 90, 180, 365], "frequency": [1, 2, 4, 8],
            "monetary": [250, 500, 750, 950]}
    r = rfm_scores(crm, recency="recency", method="fixed", cuts=cuts,
                   tiers=[("lapsed", lambda s: s["R"] <= 2), ("vip", lambda s: s["M"] == 5)],
                   default_tier="regular")
    assert r["R"].tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]   # 1 + cuts above the value
    assert r["F"].tolist() == [5, 5, 1, 4, 2, 3, 3, 4, 1, 2]
    assert r["M"].tolist() == [4, 5, 1, 4, 2, 2, 3, 3, 1, 2]
    assert list(r["tier"].cat.categories) == ["lapsed", "vip", "regular"]
    assert r["tier"].tolist()[:2] == ["regular", "vip"]
    with pytest.raises(SegmentationError, match="4 ascending cut points"):
        rfm_scores(crm, recency="recency", method="fixed", cuts={**cuts, "monetary": [1, 2]})
    with pytest.raises(SegmentationError, match="as_of"):
        rfm_scores(_rfm_crm(True))
    with pytest.raises(SegmentationError, match="single value"):
        rfm_scores(crm.assign(orders_12m=1), recency="recency")


def test_value_tiers_clv_lifecycle_by_hand():
    crm = _rfm_crm()
    t = value_tiers(crm, "spend_12m")        # cuts: median 550, 80th percentile 820
    assert t.attrs["cuts"] == pytest.approx([550, 820])
    assert t.value_counts().to_dict() == {"low": 5, "medium": 3, "high": 2}
    assert t.iloc[1] == "high" and t.iloc[2] == "low"
    fixed = value_tiers(crm, "spend_12m", cuts=[500], labels=["standard", "premium"])
    assert (fixed == "premium").sum() == 6

    c = pd.DataFrame({"spend_12m": [1200.0, 0.0], "orders_12m": [4, 0], "margin_rate": [0.25, 0.3]})
    res = clv(c, lifetime_years=3)
    assert res.frame["avg_order_value"].iloc[0] == 300
    assert res.frame["clv"].tolist() == [900.0, 0.0]
    disc = clv(c, lifetime_years=3, discount_rate=0.10).frame["clv"].iloc[0]
    assert disc == pytest.approx(300 * (1 / 1.1 + 1 / 1.1 ** 2 + 1 / 1.1 ** 3))
    assert clv(c, retention=0.75).frame["clv"].iloc[0] == pytest.approx(1200)
    text = res.summary()
    assert "3 years" in text and "margin rate" in text and "undiscounted" in text
    with pytest.raises(SegmentationError, match="between 0 and 1"):
        clv(c.assign(margin_rate=25))

    as_of = pd.Timestamp("2024-12-31")

    def ago(d):
        return None if d is None else (as_of - pd.Timedelta(days=d)).strftime("%Y-%m-%d")
    cases = {"prospect": (None, None), "churned": (800, 400), "at risk": (800, 200),
             "at risk (365 days)": (800, 365), "new": (30, 10), "loyal": (1000, 10),
             "active": (300, 20)}
    lc = pd.DataFrame({"first_purchase": [ago(f) for f, _ in cases.values()],
                       "last_purchase": [ago(x) for _, x in cases.values()]})
    got = lifecycle_stage(lc, as_of="2024-12-31").tolist()
    assert got == ["prospect", "churned", "at risk", "at risk", "new", "loyal", "active"]
    with pytest.raises(SegmentationError, match="after as_of"):
        lifecycle_stage(lc, as_of="2024-01-01")
    with pytest.raises(SegmentationError, match="not a date"):
        lifecycle_stage(lc.assign(first_purchase="soon"), as_of="2024-12-31")


def test_value_loyalty_flags_high_value_at_risk():
    rng = np.random.default_rng(4)
    n = 400
    tier = rng.choice(["low", "medium", "high"], n)
    nps = np.where(tier == "high", rng.integers(5, 11, n), rng.integers(0, 11, n)).astype(float)
    df = pd.DataFrame({"value_tier": pd.Categorical(tier, ["low", "medium", "high"]),
                       "nps": nps, "sat": rng.integers(1, 6, n).astype(float),
                       "w": rng.uniform(0.5, 2, n)})
    table, at_risk = value_loyalty(df, "value_tier", nps="nps", satisfaction="sat",
                                   satisfaction_max=1, weights="w", scales={"sat": (1, 5)})
    assert isinstance(table, BannerTable)
    expected = (tier == "high") & ((nps <= 6) | (df["sat"].to_numpy() <= 1))
    assert at_risk.tolist() == expected.tolist()
    f = table.to_frame()
    high = f[(f.question == "nps") & (f.row == "nps") & (f.column_label == "high")]
    hv = tier == "high"
    w = df["w"].to_numpy()
    exp = 100 * (np.average(nps[hv] >= 9, weights=w[hv]) - np.average(nps[hv] <= 6, weights=w[hv]))
    assert high.estimate.item() == pytest.approx(exp)
    assert "High-value at risk" in table.footnotes[-1]
    with pytest.raises(SegmentationError, match="nps= and/or satisfaction="):
        value_loyalty(df, "value_tier")


# -- demo data ---------------------------------------------------------------------------------
def test_demo_crm_join_and_rfm_hand_calculation(demo_dir, demo_responses, demo_truth):
    crm = pd.read_csv(demo_dir / "crm.csv")
    df = demo_responses
    truth = demo_truth["crm"]
    with pytest.warns(SurveykitWarning, match="phone"):
        m = match_crm(df, crm, pii=["email"])
    r = m.report.set_index("measure")["value"]
    assert r["unmatched respondents"] >= truth.get("survey_ids_missing", 1) > 0
    assert {"email", "phone"}.isdisjoint(m.data.columns)
    assert not m.data.astype(str).apply(lambda s: s.str.contains("@")).any().any()
    # RFM tiers against a hand calculation written with plain Python
    res = rfm_scores(crm, as_of=truth["as_of"])
    as_of = pd.Timestamp(truth["as_of"])

    def cut_points(values):
        v = sorted(values)
        out = []
        for p in (0.2, 0.4, 0.6, 0.8):
            h = (len(v) - 1) * p
            lo = int(h)
            out.append(v[lo] + (h - lo) * (v[min(lo + 1, len(v) - 1)] - v[lo]))
        return out
    rec = [(as_of - pd.Timestamp(d)).days for d in crm["last_purchase"]]
    freq, mon = crm["orders_12m"].tolist(), crm["spend_12m"].tolist()
    cr, cf, cm = cut_points(rec), cut_points(freq), cut_points(mon)
    tiers = []
    for x, f, mo in zip(rec, freq, mon, strict=True):
        R = 1 + sum(x < c for c in cr)
        F = 1 + sum(f > c for c in cf)
        M = 1 + sum(mo > c for c in cm)
        tiers.append("churned" if R == 1 else "high-value" if min(R, F, M) >= 4 else
                     "important" if F >= 4 or M >= 4 else "ordinary")
    assert res["tier"].astype(str).tolist() == tiers
    # value is linked to loyalty in the simulation: promoters spend more than detractors
    d = m.data[m.data["crm_matched"]]
    nps = pd.to_numeric(d["nps"], errors="coerce")
    assert d.loc[nps >= 9, "spend_12m"].mean() > d.loc[nps <= 6, "spend_12m"].mean()


def test_demo_join_with_the_questionnaire_drops_declared_pii_without_warning(
        demo_dir, demo_responses, pc_questionnaire):
    q = pc_questionnaire
    crm = pd.read_csv(demo_dir / "crm.csv")
    df = demo_responses
    with warnings.catch_warnings():
        warnings.simplefilter("error", SurveykitWarning)   # roles.pii declares 'phone'
        m = match_crm(df, crm, questionnaire=q)
    assert set(m.pii_dropped) == {"email", "phone"}
    assert {"email", "phone"}.isdisjoint(m.data.columns)
