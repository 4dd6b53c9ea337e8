"""Weighted estimates, SEs, design effects and group tests.

References: R survey svymean / svyby with deff = "replace" on svydesign(ids=~1, weights=~w),
on a calibrate()d design (calibration-aware SEs) and svycontrast for group differences
(tests/fixtures/r_survey/make_fixtures.R); closed forms for the NPS adjusted-Wald interval
and the effective-base tests.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from surveykit.errors import EstimationError
from surveykit.estimates import compare, effective_n, estimate
from surveykit.weighting import post_stratify, rake

FIX = Path(__file__).parent / "fixtures" / "r_survey"


@pytest.fixture(scope="module")
def data(r_survey_data) -> pd.DataFrame:
    """The R survey sample (tests/conftest.py)."""
    return r_survey_data


@pytest.fixture(scope="module")
def r_est() -> pd.DataFrame:
    return pd.read_csv(FIX / "estimates.csv")


@pytest.fixture(scope="module")
def designs(data, r_survey_weights, r_survey_targets):
    w, t = r_survey_weights, r_survey_targets
    raked = rake(data, t, base_weight="bw", total=100_000)
    ag = t.margins[1]
    ps = post_stratify(data, dict(ag.targets), variables=["age_band", "gender"],
                       base_weight="bw", total=100_000)
    return {"unweighted": None, "fixed": w["w_rake"].to_numpy(), "calibrated": raked,
            "raked": raked, "poststratified": ps}


CALLS = {  # R stat -> (column, keyword arguments)
    "mean": ("sat", {"stat": "mean"}),
    "top2": ("q5", {"stat": "top2", "scale": (1, 5)}),
    "bottom2": ("q5", {"stat": "bottom2", "codes": [1, 2]}),
    "nps": ("rec", {"stat": "nps"}),
    "proportion": ("q5", {"stat": "proportion"}),
}


def _ours(data, design, stat):
    col, kw = CALLS[stat]
    tot = estimate(data, col, weights=design, **kw)
    if stat == "proportion":
        return tot
    return pd.concat([tot, estimate(data, col, weights=design, by="seg", **kw)])


def _theirs(r_est, design, stat):
    sub = r_est[(r_est["design"] == design) & (r_est["stat"] == stat)]
    if stat == "proportion":
        return sub
    return pd.concat([sub[sub["group"].isna()], sub[sub["group"].notna()]])


@pytest.mark.parametrize("design", ["unweighted", "fixed", "calibrated", "poststratified"])
@pytest.mark.parametrize("stat", list(CALLS))
def test_estimates_match_r_svymean_svyby(data, r_est, designs, design, stat):
    ours, theirs = _ours(data, designs[design], stat), _theirs(r_est, design, stat)
    assert len(ours) == len(theirs)
    if "group" in ours:
        groups = ours["group"].dropna().astype(float).tolist()
        assert groups == theirs["group"].dropna().astype(float).tolist()
    scale = 100 if stat == "nps" else 1  # NPS can sit near 0: compare on its own scale
    np.testing.assert_allclose(ours["estimate"], theirs["estimate"], rtol=1e-9,
                               atol=1e-9 * scale)
    np.testing.assert_allclose(ours["se"], theirs["se"], rtol=1e-9)
    np.testing.assert_allclose(ours["deff"], theirs["deff"], rtol=1e-9)


def test_r_rake_design_ses_are_the_10_sweep_approximation(data, r_est, designs):
    """R's rake() design object backfits the influence values for 10 sweeps; ours is the
    exact projection (= calibrate()). They agree to within about 1%."""
    for stat in CALLS:
        ours, theirs = _ours(data, designs["raked"], stat), _theirs(r_est, "raked", stat)
        np.testing.assert_allclose(ours["se"], theirs["se"], rtol=0.02)


def test_calibration_awareness_changes_ses_only(data, designs):
    plain = estimate(data, "sat", weights=designs["raked"].weights, by="seg")
    cal = estimate(data, "sat", weights=designs["raked"], by="seg")
    np.testing.assert_allclose(plain["estimate"], cal["estimate"], rtol=1e-12)
    assert not np.allclose(plain["se"], cal["se"], rtol=1e-3)
    assert plain.attrs["se"] == "linearization"
    assert cal.attrs["se"] == "linearization, calibration-aware"


def test_compare_design_method_matches_r_svycontrast(data):
    w = pd.read_csv(FIX / "weights.csv")["w_rake"].to_numpy()
    ref = pd.read_csv(FIX / "compare.csv")
    calls = {"sat": ("sat", "mean", {}), "top2": ("q5", "top2", {"scale": (1, 5)}),
             "nps": ("rec", "nps", {})}
    for _, r in ref.iterrows():
        col, stat, kw = calls[r["variable"]]
        out = compare(data, col, by=r["by"], stat=stat, weights=w, reference=r["reference"],
                      method="design", **kw)
        row = out[out["group"] == r["group"]].iloc[0]
        assert row["difference"] == pytest.approx(r["difference"], rel=1e-6)
        assert row["se"] == pytest.approx(r["se"], rel=1e-6)
        assert row["p_value"] == pytest.approx(2 * stats.norm.sf(abs(r["difference"] / r["se"])),
                                               rel=1e-6)


# ----------------------------------------------------------------------------- closed forms
def test_unweighted_mean_closed_form():
    y = np.array([3.0, 5, 6, 8, 10, np.nan])
    df = pd.DataFrame({"y": y})
    r = estimate(df, "y").iloc[0]
    v = y[:5]
    n, N = 5, 6  # a missing answer still counts in the design's n (R's na.rm)
    se = np.sqrt(N / (N - 1) * np.sum((v - v.mean()) ** 2) / n**2)
    assert r["estimate"] == pytest.approx(v.mean())
    assert r["se"] == pytest.approx(se)
    assert r["n"] == 5 and r["n_eff"] == pytest.approx(5) and r["weighted_n"] == 5
    z = stats.norm.ppf(0.975)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((v.mean() - z * se, v.mean() + z * se))


def test_nps_adjusted_wald_closed_form():
    # 40 promoters, 25 passives, 35 detractors, equal weights (Sauro & Lewis)
    rec = np.array([10] * 20 + [9] * 20 + [8] * 15 + [7] * 10 + [6] * 20 + [2] * 15, float)
    df = pd.DataFrame({"rec": rec})
    r = estimate(df, "rec", stat="nps").iloc[0]
    assert r["estimate"] == pytest.approx(5.0)
    n = 100
    p, d = (40 + 0.75) / (n + 3), (35 + 0.75) / (n + 3)
    half = stats.norm.ppf(0.975) * np.sqrt((p + d - (p - d) ** 2) / (n + 3))
    assert r["ci_low"] == pytest.approx(100 * (p - d - half), rel=1e-9)
    assert r["ci_high"] == pytest.approx(100 * (p - d + half), rel=1e-9)
    assert r["deff"] == pytest.approx(1.0)
    w = estimate(df, "rec", stat="nps", ci="wald").iloc[0]
    assert w["ci_low"] == pytest.approx(5.0 - stats.norm.ppf(0.975) * w["se"])


def test_nps_rejects_values_outside_0_10():
    with pytest.raises(EstimationError, match=r"NPS needs 0-10 answers; column 'rec' has 11 "
                                              r"\(1 value"):
        estimate(pd.DataFrame({"rec": [1, 11, 5]}), "rec", stat="nps")


def test_logit_interval_closed_form():
    df = pd.DataFrame({"b": [1] * 8 + [0] * 32})
    r = estimate(df, "b", stat="proportion", ci="logit").iloc[0]
    p, se = 0.2, r["se"]
    lg, sl = np.log(p / (1 - p)), se / (p * (1 - p))
    z = stats.norm.ppf(0.975)
    assert r["ci_low"] == pytest.approx(1 / (1 + np.exp(-(lg - z * sl))))
    assert r["ci_high"] == pytest.approx(1 / (1 + np.exp(-(lg + z * sl))))
    assert 0 < r["ci_low"] < p < r["ci_high"] < 1


def test_proportions_per_category_sum_to_one_and_01_column_gives_share_of_1():
    df = pd.DataFrame({"q": [1, 2, 2, 3, 3, 3, np.nan], "b": [0, 1, 1, 0, 1, np.nan, 1]})
    p = estimate(df, "q", stat="proportion", weights=[1, 2, 1, 1, 1, 1, 5])
    assert p["category"].tolist() == [1, 2, 3]
    assert p["estimate"].sum() == pytest.approx(1.0)
    assert p["estimate"].tolist() == pytest.approx([1 / 7, 3 / 7, 3 / 7])
    b = estimate(df, "b", stat="proportion")
    assert len(b) == 1 and b["estimate"].iloc[0] == pytest.approx(4 / 6)
    top = estimate(df, "q", stat="top2", scale=(1, 3), box=1)
    assert top["estimate"].iloc[0] == pytest.approx(0.5)


def test_effective_n_and_weighted_n_by_group():
    df = pd.DataFrame({"y": [1.0, 2, 3, 4, 5, 6], "g": ["a", "a", "a", "b", "b", None]})
    w = np.array([1.0, 2, 3, 1, 1, 4])
    r = estimate(df, "y", weights=w, by="g")
    assert r["group"].tolist() == ["a", "b"]  # missing group value left out
    assert r["n_eff"].tolist() == pytest.approx([effective_n([1, 2, 3]), 2.0])
    assert r["weighted_n"].tolist() == pytest.approx([6.0, 2.0])
    assert r["estimate"].tolist() == pytest.approx([14 / 6, 4.5])


def test_several_columns_and_banners_stack_tidily(data):
    out = estimate(data, ["sat", "q5"], by=["seg", "wave"])
    assert list(out.columns[:4]) == ["variable", "stat", "by", "group"]
    assert {"estimate", "se", "ci_low", "ci_high", "n", "n_eff", "deff"} <= set(out.columns)
    assert len(out) == 2 * (8 + 2)
    assert out.attrs["deff"].startswith("Kish design effect")


def test_estimate_does_not_modify_input(data, designs):
    before = data.copy()
    estimate(data, ["sat", "rec"], by="seg", weights=designs["raked"])
    compare(data, "rec", by="seg", stat="nps", weights=designs["raked"])
    pd.testing.assert_frame_equal(data, before)


# ----------------------------------------------------------------------------- compare
def test_compare_means_is_the_linearised_z_of_r_svycontrast():
    """One mean test (issue 13): the difference over its linearisation SE, z with simple
    weights. Closed form: var of a domain mean = N/(N-1) sum_(i in a) (y_i - m_a)^2 / n_a^2;
    R svydesign(ids=~1) + svyby(covmat=TRUE) + svycontrast gives z = 3.4511247472621323 on
    these data (checked once with R survey 4.1; it used to be Welch's t, 3.43864)."""
    rng = np.random.default_rng(5)
    y = np.r_[rng.normal(7, 1.5, 60), rng.normal(7.6, 2.0, 90)]
    df = pd.DataFrame({"y": y, "s": [1] * 60 + [2] * 90})
    out = compare(df, "y", by="s", reference=1)
    row = out.iloc[0]
    N, a, b = 150, y[:60], y[60:]
    va = N / (N - 1) * ((a - a.mean()) ** 2).sum() / 60 ** 2
    vb = N / (N - 1) * ((b - b.mean()) ** 2).sum() / 90 ** 2
    z = (b.mean() - a.mean()) / np.sqrt(va + vb)
    assert z == pytest.approx(3.4511247472621323, rel=1e-12)
    assert row["statistic"] == pytest.approx(z, rel=1e-12)
    assert row["p_value"] == pytest.approx(2 * stats.norm.sf(z), rel=1e-10)
    assert row["test"] == "z (linearisation SEs)" and np.isinf(row["df"])
    rest = compare(df, "y", by="s", reference="rest")
    assert rest.iloc[1]["statistic"] == pytest.approx(z, rel=1e-12)


def test_compare_proportions_pooled_z_on_effective_bases():
    """One pooled z (issue 13): the proportion is pooled by weight (the weighted share of
    everyone in either group), as banner() does; it used to be pooled by n_eff here."""
    df = pd.DataFrame({"b": [1] * 30 + [0] * 70 + [1] * 45 + [0] * 55,
                       "s": [1] * 100 + [2] * 100})
    w = np.r_[np.ones(50), np.full(50, 3.0), np.ones(100)]
    out = compare(df, "b", by="s", stat="proportion", weights=w, reference=1).iloc[0]
    ne1 = effective_n(w[:100])
    p1 = np.average(df["b"][:100], weights=w[:100])
    p2 = 0.45
    pool = (w[:100] @ df["b"][:100] + 45) / (w[:100].sum() + 100)
    z = (p2 - p1) / np.sqrt(pool * (1 - pool) * (1 / ne1 + 1 / 100))
    assert out["n_eff"] == pytest.approx(100) and out["reference_n_eff"] == pytest.approx(ne1)
    assert out["statistic"] == pytest.approx(z)
    assert out["p_value"] == pytest.approx(2 * stats.norm.sf(abs(z)))
    assert bool(out["significant"]) == (2 * stats.norm.sf(abs(z)) < 0.05)


def test_compare_nps_between_waves_uses_the_linearisation_variance_of_estimate():
    """One NPS variance (issue 13): compare's NPS test is the z-test on the SEs estimate()
    reports (linearisation of the mean of the +-100 score, R svymean); it used to be
    (P + D - (P - D)^2) / n_eff, which leaves out the N/(N-1) of the full sample."""
    rec = np.r_[[10] * 30 + [8] * 40 + [3] * 30, [10] * 45 + [8] * 35 + [3] * 20]
    df = pd.DataFrame({"rec": rec, "wave": [1] * 100 + [2] * 100})
    out = compare(df, "rec", by="wave", stat="nps", reference=1).iloc[0]
    assert out["difference"] == pytest.approx(25.0)
    N = 200
    v1 = N / (N - 1) * 1e4 * (0.3 + 0.3 - 0.0) / 100
    v2 = N / (N - 1) * 1e4 * (0.45 + 0.2 - 0.25**2) / 100
    assert out["se"] == pytest.approx(np.sqrt(v1 + v2))
    est = estimate(df, "rec", stat="nps", by="wave")
    assert out["se"] == pytest.approx(np.sqrt((est["se"] ** 2).sum()), rel=1e-12)
    assert out["test"] == "z (linearisation SEs)"


def test_compare_vs_total_shows_difference_from_total_tests_vs_rest(data):
    tot = estimate(data, "sat")["estimate"].iloc[0]
    vs_total = compare(data, "sat", by="seg", reference="total")
    vs_rest = compare(data, "sat", by="seg", reference="rest")
    np.testing.assert_allclose(vs_total["difference"], vs_total["estimate"] - tot, rtol=1e-12)
    np.testing.assert_allclose(vs_total["p_value"], vs_rest["p_value"], rtol=1e-12)
    assert (vs_total["reference"] == "total").all() and len(vs_total) == 8


def test_compare_calibrated_rest_equals_two_group_estimates(data, designs):
    rep = designs["raked"]
    out = compare(data, "sat", by="seg", weights=rep, method="design")
    assert len(out) == 8
    for k in (1, 5):
        two = data.assign(k=np.where(data["seg"] == k, "in", "out"))
        est = estimate(two, "sat", by="k", weights=rep).set_index("group")
        row = out[out["group"] == k].iloc[0]
        assert row["reference_estimate"] == pytest.approx(est.loc["out", "estimate"], rel=1e-12)
        assert row["se"] ** 2 == pytest.approx(est.loc["in", "se"] ** 2
                                               + est.loc["out", "se"] ** 2, rel=1e-9)


# ----------------------------------------------------------------------------- errors
def test_estimate_errors_name_the_problem(data, designs):
    with pytest.raises(EstimationError, match=r"column\(s\) not in the data: 'nope'"):
        estimate(data, "nope")
    with pytest.raises(EstimationError, match="stat must be one of"):
        estimate(data, "sat", stat="median")
    with pytest.raises(EstimationError, match=r"top2 of 'q5' needs the scale's codes: pass "
                                              r"scale=\(low, high\)"):
        estimate(data, "q5", stat="top2")
    with pytest.raises(EstimationError, match="level must be between 0 and 1"):
        estimate(data, "sat", level=95)
    with pytest.raises(EstimationError, match="is not numeric"):
        estimate(pd.DataFrame({"t": ["a", "b"]}), "t")
    with pytest.raises(EstimationError, match="was made for other data"):
        estimate(data.iloc[:100], "sat", weights=designs["raked"])
    with pytest.raises(EstimationError, match="ci='logit' is for proportions"):
        estimate(data, "sat", ci="logit")
    with pytest.raises(EstimationError, match="reference 9 is not a value of 'seg'"):
        compare(data, "sat", by="seg", reference=9)
    with pytest.raises(EstimationError, match="method must be"):
        compare(data, "sat", by="seg", method="bayes")


def test_a_category_nobody_chose_has_a_proportion_of_exactly_zero():
    """Shifting by the overall mean is for the variances only: the estimate is exact."""
    df = pd.DataFrame({"g": [1, 1, 2, 2, 2], "x": [0, 0, 1, 0, 1.0], "w": [1.3, 0.7, 2.1, 1, 0.4]})
    out = estimate(df, "x", stat="proportion", by="g", weights="w").set_index("group")
    assert out.loc[1, "estimate"] == 0.0
    assert out.loc[2, "estimate"] == pytest.approx(2.5 / 3.5, abs=1e-15)
    rest = compare(df, "x", by="g", stat="proportion", weights="w", reference="rest")
    assert set(rest["difference"].round(12)) == {round(-2.5 / 3.5, 12), round(2.5 / 3.5, 12)}


def test_one_definition_compare_and_banner_test_the_same_pair_alike():
    """Issue 13: one pooled z (pooled by weight) and one NPS variance (the linearisation SE
    of estimate()) whether a pair is tested by compare() or by a banner."""
    from surveykit.tables import banner

    small = pd.read_csv(Path(__file__).parent / "fixtures" / "tables" / "small.csv")
    tests = banner(small, "nps", "g", weights="w", types={"nps": "nps"}, min_base=0).tests
    for stat, kw, row in (("proportion", {"codes": [9, 10]}, "promoters"),
                          ("nps", {}, "nps")):
        got = compare(small, "nps", by="g", stat=stat, weights="w", reference=1, **kw)
        for _, r in got.iterrows():
            t = tests[(tests["row"] == row) & (tests["code_a"] == 1)
                      & (tests["code_b"] == r["group"])].iloc[0]
            assert r["statistic"] == pytest.approx(-t["statistic"], rel=1e-12)
            assert r["p_value"] == pytest.approx(t["p"], rel=1e-12)
    est = estimate(small, "nps", stat="nps", by="g", weights="w").set_index("group")
    pair = compare(small, "nps", by="g", stat="nps", weights="w", reference=1).iloc[0]
    assert pair["se"] == pytest.approx(np.hypot(est.loc[1, "se"], est.loc[2, "se"]), rel=1e-12)
