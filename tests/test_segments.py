"""Segments: a priori rules, needs-based clusters, profiles vs total, validation summary."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from surveykit.errors import SegmentationError
from surveykit.segments import (
    apriori_segments,
    choose_k,
    needs_segments,
    profile_segments,
    segment_summary,
)

ITEMS = [f"att_{i}" for i in range(1, 7)]


def _clustered(n=600, sep=2.5, seed=0):
    """Three needs segments (50/30/20%) on six 1-7 attitude items; segment s is high on
    items 2s-1 and 2s."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(3, n, p=[0.5, 0.3, 0.2])
    centres = np.zeros((3, 6))
    for s in range(3):
        centres[s, 2 * s:2 * s + 2] = sep
    x = np.clip(np.round(4 + centres[truth] - sep / 3 + rng.normal(0, 1, (n, 6))), 1, 7)
    df = pd.DataFrame(x, columns=ITEMS)
    df["w"] = rng.uniform(0.5, 2.0, n)
    df["sat"] = np.clip(np.round(3 + (truth == 2) * 1.2 + rng.normal(0, 1, n)), 1, 5)
    df["nps"] = np.clip(np.round(7 - (truth == 1) * 2 + rng.normal(0, 2, n)), 0, 10)
    return df, truth


def _oracle_ari(df, items, truth) -> float:
    """ARI of the assignment that knows the true segment centres (nearest centre, z-units):
    the best a clustering can be expected to do at this separation."""
    z = ((df[items] - df[items].mean()) / df[items].std(ddof=0)).to_numpy()
    centres = np.vstack([z[truth == s].mean(axis=0) for s in np.unique(truth)])
    nearest = ((z[:, None, :] - centres[None]) ** 2).sum(axis=2).argmin(axis=1)
    return adjusted_rand_score(truth, nearest)


# -- a priori --------------------------------------------------------------------------------
def _questionnaire():
    from surveykit.questionnaire import questionnaire_from_dict

    return questionnaire_from_dict({
        "id": "pc", "title": "PC",
        "questions": [
            {"id": "age", "type": "numeric", "text": "Age", "min": 16, "max": 99},
            {"id": "cust_type", "type": "single", "text": "Customer type",
             "options": {1: "Individual", 2: "Organisation"}},
            {"id": "employees", "type": "numeric", "text": "Employees", "min": 1},
        ],
        "derived": [{"id": "pc_segment", "label": "PC segment", "rules": [
            {"code": 1, "label": "Students", "when": "cust_type == 1 and age <= 24"},
            {"code": 2, "label": "Young professionals",
             "when": "cust_type == 1 and age >= 25 and age <= 40"},
            {"code": 3, "label": "Older users", "when": "cust_type == 1 and age > 40"},
            {"code": 4, "label": "Large enterprises", "when": "cust_type == 2 and employees > 100"},
            {"code": 5, "label": "SMEs", "when": "cust_type == 2 and employees <= 100"},
        ]}],
    })


def test_apriori_segments_from_questionnaire_rules():
    q = _questionnaire()
    df = pd.DataFrame({"age": [19, 30, 55, 40, 33, np.nan], "cust_type": [1, 1, 1, 2, 2, 1],
                       "employees": [np.nan, np.nan, np.nan, 500, 20, np.nan]})
    before = df.copy()
    seg = apriori_segments(df, "pc_segment", questionnaire=q)
    assert seg.tolist()[:5] == ["Students", "Young professionals", "Older users",
                                "Large enterprises", "SMEs"]
    assert pd.isna(seg.iat[5])
    assert list(seg.cat.categories)[0] == "Students" and seg.name == "pc_segment"
    pd.testing.assert_frame_equal(df, before)
    seg2 = apriori_segments(df, "pc_segment", questionnaire=q, other="Unclassified")
    assert seg2.iat[5] == "Unclassified"
    # the same with rules: expression text (questionnaire language) and callables
    seg3 = apriori_segments(df, rules={"Students": "cust_type == 1 and age <= 24",
                                       "Organisations": lambda d: d.cust_type == 2,
                                       "Everyone": np.ones(len(df), bool)}, questionnaire=q)
    assert seg3.tolist() == ["Students", "Everyone", "Everyone", "Organisations",
                             "Organisations", "Everyone"]


@pytest.mark.parametrize("kwargs,match", [
    (dict(), "either segment"),
    (dict(segment="pc_segment"), "needs questionnaire"),
    (dict(segment="nope", questionnaire="Q"), "'nope' is not a derived variable.*pc_segment"),
    (dict(rules={"A": "age < 3"}), "expression text"),
    (dict(rules={"A": [True, False]}), "gave 2 values for 3 rows"),
])
def test_apriori_bad_input(kwargs, match):
    if kwargs.get("questionnaire") == "Q":
        kwargs["questionnaire"] = _questionnaire()
    df = pd.DataFrame({"age": [19, 30, 55], "cust_type": [1, 1, 1]})
    with pytest.raises(SegmentationError, match=match):
        apriori_segments(df, **kwargs)


# -- needs-based -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def clustered():
    return _clustered()


@pytest.fixture(scope="module")
def model(clustered):
    df, _ = clustered
    return needs_segments(df, ITEMS, 3, weights="w", n_boot=10,
                          item_labels={f"att_{i}": f"item {i}" for i in range(1, 7)})


def test_kmeans_recovers_simulated_segments(clustered, model):
    df, truth = clustered
    oracle = _oracle_ari(df, ITEMS, truth)
    ari = adjusted_rand_score(truth, model.labels.to_numpy(int))
    assert oracle > 0.8
    assert ari >= 0.95 * oracle
    # segments numbered by size, largest first
    assert model.validation()["n"].is_monotonic_decreasing
    assert model.stability > 0.9
    assert (model.validation()["stability_jaccard"] > 0.9).all()


def test_gmm_recovers_simulated_segments(clustered):
    df, truth = clustered
    m = needs_segments(df, ITEMS, 3, method="gmm", covariance_type="diag", n_boot=0, n_init=2)
    assert adjusted_rand_score(truth, m.labels.to_numpy(int)) >= 0.95 * _oracle_ari(df, ITEMS,
                                                                                    truth)
    assert math.isnan(m.stability)


def test_choose_k_suggests_true_k(clustered):
    df, _ = clustered
    km = choose_k(df, ITEMS, k_range=range(2, 6), n_init=4)
    assert km.loc[km.suggested, "k"].item() == 3
    assert km.silhouette.between(-1, 1).all() and "inertia" in km
    gm = choose_k(df, ITEMS, k_range=[2, 3, 4], method="gmm", covariance_type="diag", n_init=1,
                  n_boot=3)
    assert gm.loc[gm.suggested, "k"].item() == 3
    assert {"bic", "aic", "stability_ari"} <= set(gm.columns)


def test_names_profiles_and_assignment(clustered, model):
    df, truth = clustered
    # segment s of the truth is high on items 2s+1, 2s+2: the names say so
    for s in range(1, 4):
        members = truth[(model.labels == s).to_numpy()]
        t = np.bincount(members, minlength=3).argmax()
        assert model.names[s - 1].startswith("High item")
        assert {f"item {2 * t + 1}", f"item {2 * t + 2}"} <= set(
            p.split("high ")[-1] for p in model.names[s - 1].lower().split(", "))
    # predict() on the fitted data reproduces the labels; on new respondents too
    pd.testing.assert_series_equal(model.predict(df), model.labels, check_names=False)
    new, new_truth = _clustered(200, seed=9)
    pred = model.predict(new)
    assert adjusted_rand_score(new_truth, pred.to_numpy(int)) > 0.8
    # missing items: unassigned (drop) or imputed (mean)
    new.loc[0, "att_1"] = np.nan
    assert pd.isna(model.predict(new).iat[0])


def test_profile_index_and_significance_use_estimates_compare(clustered, model):
    from surveykit.estimates import compare

    df, _ = clustered
    prof = model.profile(df, ["sat", "nps"], types={"sat": "rating", "nps": "nps"})
    row = prof[(prof.variable == "sat") & (prof.row == "mean")]
    lab = model.labels.to_numpy(float)
    w = df["w"].to_numpy()
    tot = np.average(df["sat"], weights=w)
    for r in row.itertuples():
        m = lab == r.segment
        est = np.average(df["sat"][m], weights=w[m])
        assert r.estimate == pytest.approx(est) and r.total == pytest.approx(tot)
        assert r.index == pytest.approx(100 * est / tot)
    # the significance is estimates.compare (segment vs rest), Holm-corrected over segments
    ref = compare(df.assign(seg=model.labels), "sat", by="seg", stat="mean", weights="w",
                  reference="total")
    np.testing.assert_allclose(row.p_value.to_numpy(), ref.p_value.to_numpy())
    np.testing.assert_allclose(row.p_adj.to_numpy(),
                               np.minimum(1, np.maximum.accumulate(
                                   np.sort(ref.p_value.to_numpy()) * [3, 2, 1]))[
                                   np.argsort(np.argsort(ref.p_value.to_numpy()))])
    nps = prof[(prof.variable == "nps") & (prof.row == "nps")]
    ref_nps = compare(df.assign(seg=model.labels), "nps", by="seg", stat="nps", weights="w",
                      reference="total")
    np.testing.assert_allclose(nps.estimate.to_numpy(), ref_nps.estimate.to_numpy())
    np.testing.assert_allclose(nps.p_value.to_numpy(), ref_nps.p_value.to_numpy())
    top = prof[(prof.variable == "sat") & (prof.row == "top_box")]
    for r in top.itertuples():
        m = lab == r.segment
        assert r.estimate == pytest.approx(np.average(df["sat"][m] >= 4, weights=w[m]))
    # simulated: truth segment 2 (high on items 5-6) is more satisfied -> '+' for its segment
    hi = row.loc[row.estimate.idxmax()]
    assert hi.sig == "+"
    assert (row.sig != "").sum() >= 2
    assert "estimates.compare" in prof.attrs["footnotes"][0]


def test_validation_and_segment_summary(clustered, model):
    df, _ = clustered
    v = model.validation()
    assert v.n.sum() == len(df) and v.share.sum() == pytest.approx(1)
    w = df["w"].to_numpy()
    for r in v.itertuples():
        m = (model.labels == r.segment).to_numpy()
        assert r.n_weighted == pytest.approx(w[m].sum())
        assert r.share_weighted == pytest.approx(w[m].sum() / w.sum())
        zc = (df.loc[m, ITEMS].mean() - df[ITEMS].mean()) / df[ITEMS].std(ddof=0)
        assert r.distinctiveness == pytest.approx(np.abs(zc).mean())
    s = segment_summary(df, model.labels, weights="w", items=ITEMS)
    np.testing.assert_allclose(s.distinctiveness, v.distinctiveness)
    np.testing.assert_allclose(s.silhouette, v.silhouette)
    np.testing.assert_allclose(s.n_weighted, v.n_weighted)
    assert "needs-based segments" in model.summary() and "<table" in model._repr_html_()
    assert model.weighted and "weighted sizes use the survey weights" in model.summary()
    unweighted = needs_segments(df, ITEMS, 3, n_boot=0)
    assert not unweighted.weighted
    assert "no weights given, so weighted sizes equal the unweighted ones" in unweighted.summary()


def test_caller_dataframe_not_modified(clustered):
    df, _ = clustered
    before = df.copy(deep=True)
    m = needs_segments(df, ITEMS, 3, n_boot=0, missing="mean")
    m.profile(df, ["sat"], types={"sat": "rating"})
    pd.testing.assert_frame_equal(df, before)


@pytest.mark.parametrize("items,k,kwargs,match", [
    (["att_1"], 3, {}, "at least 2 items"),
    (["att_1", "const"], 3, {}, "'const' is constant"),
    (["att_1", "text"], 3, {}, "'text' has non-numeric"),
    (["att_1", "nope"], 3, {}, "'nope'"),
    (["att_1", "empty"], 3, {}, "'empty' has no answers"),
    (ITEMS, 1, {}, "k must be a whole number >= 2"),
    (ITEMS, 200, {}, "needs at least 1000"),
    (ITEMS, 3, {"method": "dbscan"}, "dbscan"),
    (ITEMS, 3, {"missing": "zero"}, "missing must be"),
])
def test_needs_bad_input(items, k, kwargs, match):
    df, _ = _clustered(120)
    df["const"] = 4.0
    df["text"] = "x"
    df["empty"] = np.nan
    with pytest.raises(SegmentationError, match=match):
        needs_segments(df, items, k, n_boot=0, **kwargs)


# -- demo data --------------------------------------------------------------------------------
def test_demo_needs_segments_recover_truth(demo_dir, demo_responses, demo_truth,
                                           pc_questionnaire):
    q = pc_questionnaire
    spec = demo_truth["needs_segments"]
    items, k = spec["items"], int(spec["k"])
    raw = demo_responses
    df = pd.DataFrame({c: q.valid_values(raw, c) for c in items})     # missing codes -> NaN
    for c in items:                                                    # off-scale -> NaN
        df[c] = df[c].where(df[c].isin([float(v) for v in q.scale_of(c).valid_codes]))
    truth = raw[["resp_id"]].merge(pd.read_csv(demo_dir / "truth_respondents.csv"), on="resp_id",
                                   how="left")["needs_segment"].to_numpy()
    m = needs_segments(df, items, k, n_boot=5, missing="mean", questionnaire=q)
    ari = adjusted_rand_score(truth, m.labels.to_numpy(int))
    # the bar comes from the truth's separation: what the true centres themselves achieve
    oracle = _oracle_ari(df.fillna(df.mean()), items, truth)
    assert ari >= 0.9 * oracle, (ari, oracle, spec["separation"])
    assert m.stability > 0.9
    table = choose_k(df, items, k_range=range(2, 6), n_init=3, missing="mean")
    assert table.loc[table.suggested, "k"].item() == k


def test_profile_segments_with_apriori_labels(clustered):
    df, truth = clustered
    seg = pd.Series(pd.Categorical(np.array(["Alpha", "Beta", "Gamma"])[truth],
                                   categories=["Gamma", "Beta", "Alpha"]), index=df.index,
                    name="needs")
    prof = profile_segments(df, seg, ["nps"], types={"nps": "nps"}, min_base=30)
    nps = prof[prof.row == "nps"].set_index("segment")
    assert list(nps.index) == ["Gamma", "Beta", "Alpha"]
    pro = (df["nps"] >= 9).to_numpy()
    det = (df["nps"] <= 6).to_numpy()
    m = truth == 1
    assert nps.loc["Beta", "estimate"] == pytest.approx(100 * (pro[m].mean() - det[m].mean()))
    assert nps.loc["Beta", "sig"] == "-"          # simulated: segment 1 recommends less
    assert np.isnan(nps["index"]).all()           # no index for a -100..100 score
    assert "Total" in " ".join(prof.attrs["footnotes"])
    with pytest.raises(SegmentationError, match="same index"):
        profile_segments(df, seg.reset_index(drop=True).iloc[:10], ["nps"])


def test_demo_apriori_segments_match_simulated_segments(demo_dir, demo_responses,
                                                        pc_questionnaire):
    q = pc_questionnaire
    raw = demo_responses
    seg = apriori_segments(raw.drop(columns=["segment"], errors="ignore"), "segment",
                           questionnaire=q)
    truth = raw[["resp_id"]].merge(pd.read_csv(demo_dir / "truth_respondents.csv"), on="resp_id",
                                   how="left")["segment"].to_numpy()
    labels = {d.code: d.label for d in next(d for d in q.derived if d.id == "segment").rules}
    agree = (seg.astype(object).to_numpy() == np.array([labels.get(t) for t in truth])).mean()
    assert agree > 0.99        # the planted data problems account for the rest
    s = segment_summary(raw.assign(s=seg), "s")
    assert s.n.sum() == seg.notna().sum() and list(s.segment) == list(seg.cat.categories)


def test_segment_names_follow_the_stated_rule_on_known_centroids():
    """Four segments with known centres (price, speed; support the same in every segment):
    the issue's case of a segment at z = -0.31 on price beside one at -0.81."""
    centres = {"price": [-1.0, -0.4, 0.05, 2.5], "speed": [1.0, 0.0, 0.0, -2.0]}
    rng = np.random.default_rng(1)
    parts = []
    for k, n in enumerate([81, 60, 51, 39]):  # numbered by size: segment k + 1
        part = pd.DataFrame({c: v[k] + rng.normal(0, 0.02, n) for c, v in centres.items()})
        part["support"] = np.resize([2.95, 3.0, 3.05], n)  # identical in every segment
        parts.append(part)
    df = pd.concat(parts, ignore_index=True)
    model = needs_segments(df, ["price", "speed", "support"], k=4, n_boot=0,
                           standardize=False,
                           item_labels={"price": "Price", "speed": "Speed", "support": "Support"})
    np.testing.assert_allclose(model.centers_z["price"], [-0.81, -0.31, 0.06, 2.10], atol=0.01)
    np.testing.assert_allclose(model.centers_z["support"], 0, atol=1e-9)
    assert model.names == [
        "High speed, low price",   # the extreme on both items
        "Below-average price",     # -0.31 is distinctive, but segment 1 is lower by > 0.25
        "Average on all items",    # every |z| < 0.25
        "High price, low speed",
    ]


def test_segment_name_rule_threshold_and_margin():
    from surveykit._needs_segments import NAME_MIN_Z, _suggest_names

    assert NAME_MIN_Z == 0.25
    labels = {"a": "Price", "b": "Speed"}
    z = pd.DataFrame({"a": [0.25, -0.24, 0.0], "b": [0.0, 0.1, -0.1]}, index=[1, 2, 3])
    # |z| = 0.25 names the segment; -0.24 does not, so segment 2 is average
    assert _suggest_names(z, labels) == ["High price", "Average on all items (2)",
                                         "Average on all items (3)"]
    # within 0.25 of the extreme both are "high" (numbered apart); further off, "above-average"
    z = pd.DataFrame({"a": [1.0, 0.8, 0.3, -2.1]}, index=[1, 2, 3, 4])
    assert _suggest_names(z, {"a": "Price"}) == [
        "High price (1)", "High price (2)", "Above-average price", "Low price"]
    # a segment is named by its largest |z| first, however many items it has
    z = pd.DataFrame({"a": [-0.4, 0.4], "b": [1.2, -1.2], "c": [0.3, -0.3]}, index=[1, 2])
    assert _suggest_names(z, {"a": "Price", "b": "Speed", "c": "Support"}) == [
        "High speed, low price", "Low speed, high price"]
