"""surveykit.drivers: Shapley / relative weights / regression / IPA / loyalty link.

References are closed forms and independent brute-force computations inside the tests
(an all-subsets weighted regression loop with statsmodels, Shapley by its permutation
definition, Johnson's weights from scipy's matrix square root, hand sandwich SEs).
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import statsmodels.api as sm  # noqa: E402
from scipy import linalg  # noqa: E402

from surveykit import drivers as dr  # noqa: E402
from surveykit.drivers import _core  # noqa: E402
from surveykit.errors import DriverAnalysisError, SurveykitWarning  # noqa: E402


def _sim(n=600, p=5, seed=0, rho=0.3, by=False):
    rng = np.random.default_rng(seed)
    C = np.full((p, p), rho) + (1 - rho) * np.eye(p)
    X = rng.multivariate_normal(np.zeros(p), C, size=n)
    beta = np.linspace(1.0, 0.2, p)
    y = X @ beta + rng.normal(scale=1.5, size=n)
    d = pd.DataFrame(np.round(X * 2 + 6, 0).clip(0, 10), columns=[f"x{i}" for i in range(p)])
    d["y"] = np.round(y * 1.2 + 6, 0).clip(0, 10)
    d["w"] = rng.uniform(0.3, 3.0, n)
    if by:
        d["seg"] = rng.choice(["a", "b", "c"], n)
    return d


def _r2_wls(d, outcome, cols, w):
    if not cols:
        return 0.0
    return sm.WLS(d[outcome], sm.add_constant(d[list(cols)]), weights=w).fit().rsquared


# -------------------------------------------------------------------------------- Shapley

def test_subset_r2_matches_all_subsets_weighted_regression_loop():
    d = _sim(p=6)
    drivers = [f"x{i}" for i in range(6)]
    res = dr.key_drivers(d, "y", drivers, weights="w")
    corr = _core._wcorr(d[drivers].to_numpy(), d["y"].to_numpy(), d["w"].to_numpy())
    r2 = dr.subset_r2(corr)
    for mask in range(1 << 6):
        cols = [drivers[j] for j in range(6) if mask >> j & 1]
        assert r2[mask] == pytest.approx(_r2_wls(d, "y", cols, d["w"]), abs=1e-10)
    assert res.models.loc[0, "r2"] == pytest.approx(r2[-1], abs=1e-12)


def test_shapley_matches_permutation_definition():
    d = _sim(p=5, seed=3)
    drivers = [f"x{i}" for i in range(5)]
    w = d["w"]
    cache = {}

    def r2(cols):
        key = frozenset(cols)
        if key not in cache:
            cache[key] = _r2_wls(d, "y", sorted(key), w)
        return cache[key]

    expect = dict.fromkeys(drivers, 0.0)
    perms = list(itertools.permutations(drivers))
    for perm in perms:
        for k, c in enumerate(perm):
            expect[c] += (r2(perm[:k + 1]) - r2(perm[:k])) / len(perms)
    res = dr.shapley(d, "y", drivers, weights="w").table.set_index("driver")
    for c in drivers:
        assert res.loc[c, "importance"] == pytest.approx(expect[c], abs=1e-10)
    assert res["share"].sum() == pytest.approx(1.0, abs=1e-12)
    assert res["importance"].sum() == pytest.approx(r2(drivers), abs=1e-10)


def test_shapley_two_driver_closed_form():
    r1, r2_, r12 = 0.5, 0.4, 0.3
    R = np.array([[1, r12, r1], [r12, 1, r2_], [r1, r2_, 1]])
    total = (r1 ** 2 + r2_ ** 2 - 2 * r1 * r2_ * r12) / (1 - r12 ** 2)
    lmg = dr.shapley_from_corr(R)
    assert lmg[0] == pytest.approx(0.5 * (r1 ** 2 + total - r2_ ** 2), abs=1e-12)
    assert lmg[1] == pytest.approx(0.5 * (r2_ ** 2 + total - r1 ** 2), abs=1e-12)


def test_shapley_exact_at_20_drivers_and_switches_above():
    rng = np.random.default_rng(4)
    A = rng.normal(size=(21, 21))
    C = A @ A.T + 21 * np.eye(21)
    s = np.sqrt(np.diag(C))
    R = C / np.outer(s, s)
    lmg = dr.shapley_from_corr(R)                       # 20 drivers + outcome
    r2 = dr.subset_r2(R)
    assert lmg.sum() == pytest.approx(r2[-1], abs=1e-10)
    full = R[:20, 20] @ np.linalg.solve(R[:20, :20], R[:20, 20])
    assert r2[-1] == pytest.approx(full, abs=1e-10)
    # a random subset checked by direct solve
    for mask in rng.integers(1, 1 << 20, 5):
        idx = [j for j in range(20) if mask >> j & 1]
        direct = R[idx, 20] @ np.linalg.solve(R[np.ix_(idx, idx)], R[idx, 20])
        assert r2[mask] == pytest.approx(direct, abs=1e-10)
    d = pd.DataFrame(rng.normal(size=(300, 21)), columns=[f"a{i}" for i in range(21)])
    d["y"] = d.sum(axis=1) + rng.normal(size=300)
    with pytest.warns(dr.DriverMethodWarning, match="21 drivers"):
        res = dr.key_drivers(d, "y", [f"a{i}" for i in range(21)])
    assert res.method == "relative_weights" and "relative weights" in res.notes[0]
    assert len(res.table) == 21                          # no driver dropped
    assert res.models.loc[0, "method"] == "relative weights (linear)"


# -------------------------------------------------------------------------------- relative weights

def test_relative_weights_linear_matches_hand_formula():
    d = _sim(p=4, seed=7)
    drivers = [f"x{i}" for i in range(4)]
    corr = _core._wcorr(d[drivers].to_numpy(), d["y"].to_numpy(), d["w"].to_numpy())
    Rxx, rxy = corr[:4, :4], corr[:4, 4]
    lam = np.real(linalg.sqrtm(Rxx))
    beta = np.linalg.solve(lam, rxy)
    expect = (lam ** 2) @ (beta ** 2)
    res = dr.relative_weights(d, "y", drivers, weights="w").table
    np.testing.assert_allclose(res["importance"], expect, atol=1e-10)
    assert res["importance"].sum() == pytest.approx(rxy @ np.linalg.solve(Rxx, rxy), abs=1e-10)
    # uncorrelated drivers: weights are the squared correlations
    R0 = np.eye(4)
    R0[:3, 3] = R0[3, :3] = [0.5, 0.3, 0.1]
    np.testing.assert_allclose(dr.relative_weights_from_corr(R0), [0.25, 0.09, 0.01],
                               atol=1e-12)


def test_relative_weights_logistic_matches_statsmodels_hand_computation():
    rng = np.random.default_rng(1)
    d = _sim(n=800, p=3, seed=1)
    d["promoter"] = (d["y"] + rng.normal(size=800) > 7).astype(int)
    drivers = ["x0", "x1", "x2"]
    res = dr.relative_weights(d, "promoter", drivers)
    # hand: orthogonalise, statsmodels Logit, Tonidandel & LeBreton standardisation
    X = d[drivers].to_numpy()
    Xs = (X - X.mean(0)) / X.std(0)
    R = np.corrcoef(X, rowvar=False)
    lam = np.real(linalg.sqrtm(R))
    Z = Xs @ np.linalg.inv(lam)
    fit = sm.Logit(d["promoter"], sm.add_constant(Z)).fit(disp=0)
    b = fit.params[1:].to_numpy()
    phat = fit.predict()
    Rr = np.corrcoef(d["promoter"], phat)[0, 1]
    bstar = b * Z.std(0) * Rr / (Z @ b).std()
    expect = (lam ** 2) @ (bstar ** 2)
    np.testing.assert_allclose(res.table["importance"], expect, atol=1e-7)
    assert res.outcome_type == "binary"
    assert res.models.loc[0, "r2"] == pytest.approx(Rr ** 2, abs=1e-8)


@pytest.mark.filterwarnings("ignore::statsmodels.tools.sm_exceptions.ConvergenceWarning")
def test_relative_weights_ordinal_and_frequency_weights():
    d = _sim(n=500, p=3, seed=2)
    d["rebuy"] = pd.cut(d["y"], [-1, 4, 6, 8, 11], labels=False) + 1
    drivers = ["x0", "x1", "x2"]
    res = dr.relative_weights(d, "rebuy", drivers, outcome_type="ordinal")
    assert res.table["importance"].sum() == pytest.approx(res.models.loc[0, "r2"], abs=1e-8)
    # slopes agree with statsmodels' proportional-odds model (unweighted)
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    X = d[drivers].to_numpy()
    Xs = (X - X.mean(0)) / X.std(0)
    Z = Xs @ np.linalg.inv(np.real(linalg.sqrtm(np.corrcoef(X, rowvar=False))))
    om = OrderedModel(d["rebuy"].to_numpy(), Z, distr="logit").fit(method="bfgs", disp=0,
                                                                   maxiter=2000, gtol=1e-10)
    b_mine, _ = _core._ordinal_fit(Z, d["rebuy"].to_numpy().astype(float), np.ones(len(d)))
    np.testing.assert_allclose(b_mine, om.params[:3], atol=1e-4)
    # integer weights == duplicated rows
    w = np.random.default_rng(0).integers(1, 4, len(d))
    dup = d.loc[d.index.repeat(w)].reset_index(drop=True)
    a = dr.relative_weights(d, "rebuy", drivers, outcome_type="ordinal", weights=w).table
    b = dr.relative_weights(dup, "rebuy", drivers, outcome_type="ordinal").table
    np.testing.assert_allclose(a["importance"], b["importance"], atol=1e-5)


# -------------------------------------------------------------------------------- bootstrap, by

def test_bootstrap_seeded_and_intervals_cover_estimates():
    d = _sim(n=500, p=4, seed=5)
    drivers = [f"x{i}" for i in range(4)]
    a = dr.key_drivers(d, "y", drivers, weights="w", bootstrap=100, seed=9)
    b = dr.key_drivers(d, "y", drivers, weights="w", bootstrap=100, seed=9)
    c = dr.key_drivers(d, "y", drivers, weights="w", bootstrap=100, seed=10)
    pd.testing.assert_frame_equal(a.table, b.table)
    assert not np.allclose(a.table["importance_ci_low"], c.table["importance_ci_low"])
    t = a.table
    assert (t["importance_ci_low"] <= t["importance"]).all()
    assert (t["importance"] <= t["importance_ci_high"]).all()
    assert (t["rank_ci_low"] <= t["rank"]).all() and (t["rank"] <= t["rank_ci_high"]).all()
    assert t.loc[t["driver"] == "x0", "rank"].item() == 1
    assert a.models.loc[0, "n_boot"] == 100


def test_bootstrap_is_weight_aware():
    # the replicates carry the weights: integer weights give the same point estimates as
    # duplicated rows, and different weights give different intervals
    d = _sim(n=400, p=3, seed=6)
    drivers = ["x0", "x1", "x2"]
    w1 = dr.key_drivers(d, "y", drivers, weights="w", bootstrap=60, seed=1).table
    w0 = dr.key_drivers(d, "y", drivers, bootstrap=60, seed=1).table
    assert not np.allclose(w1["importance"], w0["importance"])
    assert not np.allclose(w1["importance_ci_high"], w0["importance_ci_high"])


def test_by_segment_equals_subset_and_difference_test():
    rng = np.random.default_rng(8)
    n = 1500
    d = pd.DataFrame(rng.normal(size=(n, 3)), columns=["a", "b", "c"])
    d["seg"] = rng.choice(["s1", "s2"], n)
    strong_b = np.where(d["seg"] == "s2", 1.5, 0.2)
    d["y"] = d["a"] + strong_b * d["b"] + 0.3 * d["c"] + rng.normal(size=n)
    res = dr.key_drivers(d, "y", ["a", "b", "c"], by="seg", bootstrap=100, seed=2)
    t = res.table
    assert list(pd.unique(t["segment"])) == ["Total", "s1", "s2"]
    alone = dr.key_drivers(d[d["seg"] == "s2"], "y", ["a", "b", "c"]).table
    np.testing.assert_allclose(t[t["segment"] == "s2"]["importance"], alone["importance"],
                               atol=1e-12)
    row = t[(t["segment"] == "s2") & (t["driver"] == "b")].iloc[0]
    assert row["share_diff"] > 0 and row["diff_p"] < 0.05 and row["diff_ci_low"] > 0
    row = t[(t["segment"] == "s1") & (t["driver"] == "b")].iloc[0]
    assert row["share_diff"] < 0 and row["diff_p"] < 0.05
    assert t[t["segment"] == "Total"]["diff_p"].isna().all()
    assert res.top(1, segment="s2") == ["b"] and res.top(1, segment="s1") == ["a"]
    assert "Key drivers of y" in res._repr_html_()
    assert res.plot(segment="s2").axes


# -------------------------------------------------------------------------------- regression

def test_regression_betas_pvalues_vif_against_hand_calculation():
    d = _sim(n=400, p=3, seed=11)
    drivers = ["x0", "x1", "x2"]
    out = dr.regression(d, "y", drivers, cov_type="nonrobust").set_index("driver")
    X = d[drivers].to_numpy()
    y = d["y"].to_numpy()
    Xz = (X - X.mean(0)) / X.std(0)
    yz = (y - y.mean()) / y.std()
    A = np.column_stack([np.ones(len(y)), Xz])
    beta = np.linalg.lstsq(A, yz, rcond=None)[0]
    resid = yz - A @ beta
    s2 = resid @ resid / (len(y) - 4)
    se = np.sqrt(np.diag(np.linalg.inv(A.T @ A)) * s2)
    from scipy import stats

    p = 2 * stats.t.sf(np.abs(beta / se), len(y) - 4)
    np.testing.assert_allclose(out["beta"], beta[1:], atol=1e-10)
    np.testing.assert_allclose(out["se"], se[1:], atol=1e-10)
    np.testing.assert_allclose(out["p"], p[1:], rtol=1e-8, atol=1e-300)
    b_raw = np.linalg.lstsq(np.column_stack([np.ones(len(y)), X]), y, rcond=None)[0]
    np.testing.assert_allclose(out["coef"], b_raw[1:], atol=1e-10)
    R = np.corrcoef(X, rowvar=False)
    np.testing.assert_allclose(out["vif"], np.diag(np.linalg.inv(R)), atol=1e-10)
    # HC1 sandwich by hand
    hc = dr.regression(d, "y", drivers).set_index("driver")
    bread = np.linalg.inv(A.T @ A)
    meat = (A * resid[:, None] ** 2).T @ A
    v = bread @ meat @ bread * len(y) / (len(y) - 4)
    np.testing.assert_allclose(hc["se"], np.sqrt(np.diag(v))[1:], atol=1e-10)


def test_regression_weighted_matches_statsmodels_wls():
    d = _sim(n=300, p=3, seed=12)
    out = dr.regression(d, "y", ["x0", "x1", "x2"], weights="w", cov_type="nonrobust")
    fit = sm.WLS(d["y"], sm.add_constant(d[["x0", "x1", "x2"]]), weights=d["w"]).fit()
    np.testing.assert_allclose(out["coef"], fit.params[1:], atol=1e-10)
    np.testing.assert_allclose(out["p"], fit.pvalues[1:], rtol=1e-8)


def test_vif_warning_names_drivers():
    rng = np.random.default_rng(0)
    d = pd.DataFrame(rng.normal(size=(300, 2)), columns=["a", "c"])
    d["b"] = d["a"] + rng.normal(scale=0.2, size=300)
    d["y"] = d["a"] + d["c"] + rng.normal(size=300)
    with pytest.warns(dr.CollinearityWarning, match="'a'.*'b'|'b'.*'a'"):
        out = dr.regression(d, "y", ["a", "b", "c"])
    assert (out.set_index("driver").loc[["a", "b"], "vif"] >= 5).all()


# -------------------------------------------------------------------------------- IPA

def test_importance_performance_quadrants():
    rng = np.random.default_rng(3)
    n = 800
    d = pd.DataFrame({c: rng.integers(1, 11, n).astype(float) for c in "abcd"})
    d["y"] = 1.0 * d["a"] + 0.8 * d["b"] + 0.1 * d["c"] + 0.05 * d["d"] + rng.normal(size=n)
    d["a"] = (d["a"] - 3).clip(1, 10)            # important and weak
    d["b"] = (d["b"] + 2).clip(1, 10)            # important and strong
    d["c"] = (d["c"] + 3).clip(1, 10)            # unimportant and strong
    before = d.copy()
    res = dr.importance_performance(d, "y", list("abcd"))
    t = res.table.set_index("driver")
    assert t["importance"].sum() == pytest.approx(100.0)
    assert t.loc["a", "performance"] == pytest.approx(d["a"].mean())
    assert res.act_here == {"Total": ["a"]}
    assert t.loc["a", "quadrant"] == "act here"
    assert t.loc["c", "quadrant"] == "possible overkill"
    assert res.cuts.loc[0, "importance_cut"] == pytest.approx(t["importance"].median())
    top = dr.importance_performance(d, "y", list("abcd"), performance="top2box",
                                    scale_range=(1, 10), cuts=(20.0, 30.0))
    tt = top.table.set_index("driver")
    assert tt.loc["a", "performance"] == pytest.approx((d["a"] >= 9).mean() * 100)
    assert tt.loc["b", "quadrant"] == "keep up the good work"
    assert tt.loc["d", "quadrant"] == "low priority"
    assert top.cuts.loc[0, "performance_cut"] == 30.0
    fig = res.plot()
    assert fig.axes[0].get_xlabel() == "importance (% of explained variance)"
    pd.testing.assert_frame_equal(d, before)
    with pytest.raises(DriverAnalysisError, match="scale_range"):
        dr.importance_performance(d, "y", list("abcd"), performance="top2box")


def test_plots_are_pyplot_free_and_in_house_style():
    import matplotlib.pyplot as plt

    from surveykit import plots

    d = _sim(n=300, p=3, seed=16, by=True)
    res = dr.importance_performance(d, "y", ["x0", "x1", "x2"], by="seg")
    before = plt.get_fignums()
    fig = res.plot(segment="a", labels={"x0": "Price"})
    assert plt.get_fignums() == before                     # no global pyplot state
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "Price" in texts and "ACT HERE" in texts
    assert plots.segment_name(2.0) == "2" and plots.segment_name("b") == "b"
    with matplotlib.rc_context():                           # do not leak the style
        plots.set_style()
        assert plt.rcParams["axes.spines.top"] is False


# -------------------------------------------------------------------------------- loyalty link

def test_loyalty_link_closed_form():
    d = _sim(n=500, p=1, seed=13, by=True)
    d["sat"] = d["x0"]
    d["nps"] = d["y"]
    d["rebuy"] = (d["y"] >= 7).astype(float)
    out = dr.loyalty_link(d, "sat", "rebuy", weights="w", scale_range=(0, 10), coding="percent",
                          by="seg")
    w, x, y = d["w"].to_numpy(), d["sat"].to_numpy() * 10, d["rebuy"].to_numpy() * 100
    mx, my = np.average(x, weights=w), np.average(y, weights=w)
    slope = np.average((x - mx) * (y - my), weights=w) / np.average((x - mx) ** 2, weights=w)
    tot = out.set_index("segment").loc["Total"]
    assert tot["change"] == pytest.approx(slope * 10, abs=1e-10)
    # HC1 sandwich for WLS by hand
    A = np.column_stack([np.ones_like(x), x])
    bread = np.linalg.inv((A * w[:, None]).T @ A)
    e = y - A @ np.array([my - slope * mx, slope])
    meat = (A * (w * e) [:, None] ** 2).T @ A
    v = bread @ meat @ bread * len(y) / (len(y) - 2)
    assert tot["se"] == pytest.approx(math.sqrt(v[1, 1]) * 10, rel=1e-8)
    assert tot["ci_low"] < tot["change"] < tot["ci_high"]
    assert list(out["segment"]) == ["Total", "a", "b", "c"]
    nps = dr.loyalty_link(d, "sat", "nps", scale_range=(0, 10), coding="nps")
    coded = np.where(d["nps"] >= 9, 100, np.where(d["nps"] <= 6, -100, 0))
    b = np.polyfit(d["sat"] * 10, coded, 1)[0]
    assert nps.loc[0, "change"] == pytest.approx(b * 10, abs=1e-8)
    with pytest.raises(DriverAnalysisError, match="0/1"):
        dr.loyalty_link(d, "sat", "nps", scale_range=(0, 10), coding="percent")


# -------------------------------------------------------------------------------- bad input

def test_bad_inputs():
    d = _sim(n=200, p=3, seed=14)
    drivers = ["x0", "x1", "x2"]
    coll = d.assign(x3=d["x0"] + d["x1"])
    with pytest.raises(DriverAnalysisError, match="perfectly collinear") as e:
        dr.key_drivers(coll, "y", drivers + ["x3"])
    assert "'x3'" in str(e.value) and "'x0'" in str(e.value)
    with pytest.raises(DriverAnalysisError, match="3 complete respondent"):
        dr.key_drivers(d.head(3), "y", drivers)
    with pytest.raises(DriverAnalysisError, match="driver 'k' is constant"):
        dr.key_drivers(d.assign(k=5.0), "y", drivers + ["k"])
    with pytest.raises(DriverAnalysisError, match="'e' has no non-missing"):
        dr.key_drivers(d.assign(e=np.nan), "y", drivers + ["e"])
    with pytest.raises(DriverAnalysisError, match="also listed as a driver"):
        dr.key_drivers(d, "y", drivers + ["y"])
    with pytest.raises(DriverAnalysisError, match="'nope'"):
        dr.key_drivers(d, "y", drivers + ["nope"])
    seg = d.assign(seg=["a"] * 196 + ["b"] * 4)
    with pytest.raises(DriverAnalysisError, match="segment seg='b'"):
        dr.key_drivers(seg, "y", drivers, by="seg")
    with pytest.raises(DriverAnalysisError, match="binary"):
        dr.key_drivers(d, "y", drivers, method="relative_weights", outcome_type="binary")



def test_driver_text_read_as_numbers_and_other_text_refused_by_name():
    d = _sim(n=200, p=3, seed=16)
    drivers = ["x0", "x1", "x2"]
    as_text = d.assign(x1=d["x1"].map(lambda v: f"{v:g}"))        # "7", "10", ...
    pd.testing.assert_frame_equal(dr.key_drivers(as_text, "y", drivers).table,
                                  dr.key_drivers(d, "y", drivers).table)
    bad = as_text.copy()
    bad.loc[5, "x1"] = "n/a"
    with pytest.raises(DriverAnalysisError, match=r"column 'x1' holds non-numeric values "
                                                  r"\(e\.g\. 'n/a'\); recode it first"):
        dr.key_drivers(bad, "y", drivers)

def test_missing_rows_reported_not_imputed_and_input_untouched():
    d = _sim(n=300, p=3, seed=15)
    d.loc[:9, "x1"] = np.nan
    before = d.copy()
    res = dr.key_drivers(d, "y", ["x0", "x1", "x2"], weights="w", bootstrap=50)
    assert res.models.loc[0, "n"] == 290 and res.models.loc[0, "n_dropped"] == 10
    assert any("listwise" in n for n in res.notes)
    dr.regression(d, "y", ["x0", "x1", "x2"], weights="w")
    dr.loyalty_link(d, "x0", "y", scale_range=(0, 10))
    pd.testing.assert_frame_equal(d, before)
    assert issubclass(dr.CollinearityWarning, SurveykitWarning)


# -------------------------------------------------------------------------------- demo survey

def test_demo_segment_top_drivers_match_truth(demo_survey, demo_truth):
    s, t = demo_survey, demo_truth["drivers"]
    res = dr.key_drivers(s.data, t["outcome"], t["attributes"], weights=s.weights,
                         by=t["segment_variable"])
    labels = {str(k): k for k in pd.unique(res.table["segment"])}
    labels.update({str(int(k)): k for k in labels.values() if isinstance(k, float)})
    for seg, top in t["top"].items():
        assert res.top(len(top), segment=labels[seg]) == top, seg
    ipa = dr.importance_performance(s.data, t["outcome"], t["attributes"], weights=s.weights,
                                    by=t["segment_variable"], importance=res)
    assert set(ipa.act_here) == set(res.table["segment"])
    for acts in ipa.act_here.values():
        assert set(acts) <= set(t["attributes"])


# ---------------------------------------------------------------- design-based SEs
# R survey fixtures: tests/fixtures/r_design/make_fixtures_quantiles_calibration.R
# (svyglm(api00 ~ meals + avg.ed + enroll) on apiclus1, apistrat, JK1 of apiclus1)
R_DESIGN = Path(__file__).parent / "fixtures" / "r_design"


@pytest.fixture(scope="module")
def api_designs():
    from surveykit.design import SurveyDesign, calibrate

    c1 = pd.read_csv(R_DESIGN / "apiclus1.csv")
    st = pd.read_csv(R_DESIGN / "apistrat.csv")
    d1 = SurveyDesign(c1, ids="dnum", weights="pw", fpc="fpc")
    jk = d1.as_replicate("JK1")
    stype = {"E": 4421, "H": 755, "M": 1018}
    return {"clus1": (c1, d1),
            "strat": (st, SurveyDesign(st, strata="stype", weights="pw", fpc="fpc")),
            "jk1": (c1, jk),
            "clus1_linear": (c1, calibrate(c1, design=d1,
                                           totals={"stype": stype, "api99": 3914069})),
            "jk1_raking": (c1, calibrate(c1, design=jk, calfun="raking",
                                         totals={"stype": stype,
                                                 "sch_wide": {0: 1072, 1: 5122}}))}


@pytest.mark.parametrize("name", ["clus1", "strat", "jk1", "clus1_linear", "jk1_raking"])
def test_regression_with_design_matches_r_svyglm(api_designs, name):
    df, d = api_designs[name]
    ref = pd.read_csv(R_DESIGN / "svyglm.csv")
    ref = ref[(ref.design == name) & (ref.term != "(Intercept)")]
    got = dr.regression(df, "api00", ["meals", "avg_ed", "enroll"], design=d)
    for ours, theirs in [("coef", "coef"), ("coef_se", "se"), ("stat", "t"), ("p", "p"),
                         ("df", "df"), ("n", "n")]:
        np.testing.assert_allclose(got[ours].to_numpy(float), ref[theirs].to_numpy(float),
                                   rtol=1e-8)
    # the standardized interval is R's confint (t on df.residual) rescaled
    scale = got["beta"] / got["coef"]
    np.testing.assert_allclose(got["ci_low"] / scale, ref["ci_low"], rtol=1e-8)
    np.testing.assert_allclose(got["ci_high"] / scale, ref["ci_high"], rtol=1e-8)
    assert "svyglm" in got.attrs["se"]


def test_key_drivers_replicate_ses_equal_the_replicate_formula_by_hand(api_designs):
    df, jk = api_designs["jk1"]
    drivers = ["meals", "avg_ed", "enroll"]
    res = dr.key_drivers(df, "api00", drivers, design=jk, by="stype")
    RW = jk.replicate_weights()
    for seg in ["Total", "H"]:
        sub = df if seg == "Total" else df[df["stype"] == seg]
        th = np.array([dr.key_drivers(sub, "api00", drivers, weights=RW[sub.index, r])
                       .table["importance"].to_numpy() for r in range(RW.shape[1])])
        se = np.sqrt(jk.scale * ((th - th.mean(axis=0)) ** 2).sum(axis=0))
        t = res.table[res.table["segment"] == seg]
        np.testing.assert_allclose(t["importance_se"], se, rtol=1e-10)
        full = dr.key_drivers(sub, "api00", drivers, weights=df.loc[sub.index, "pw"])
        np.testing.assert_allclose(t["importance"], full.table["importance"], rtol=1e-12)
    assert res.models["n_replicates"].tolist() == [15] * 4
    h = res.table[res.table["segment"] == "H"]
    assert np.isfinite(h["diff_p"]).all() and np.isfinite(h["diff_se"]).all()
    assert any("replicate weights" in n for n in res.notes)


def test_key_drivers_design_bootstrap_is_seeded_and_is_the_design_bootstrap(api_designs):
    df, d = api_designs["clus1"]
    drivers = ["meals", "avg_ed", "enroll"]
    a = dr.key_drivers(df, "api00", drivers, design=d, bootstrap=60, seed=5)
    b = dr.key_drivers(df, "api00", drivers, design=d, bootstrap=60, seed=5)
    pd.testing.assert_frame_equal(a.table, b.table)
    rep = d.as_replicate("bootstrap", replicates=60, seed=5)
    c = dr.key_drivers(df, "api00", drivers, design=rep)
    np.testing.assert_allclose(a.table["importance_se"], c.table["importance_se"], rtol=1e-12)
    assert any("design bootstrap: 60 replicates" in n for n in a.notes)
    with pytest.raises(DriverAnalysisError, match="weights"):
        dr.key_drivers(df, "api00", drivers, design=d, weights="pw")
    with pytest.raises(DriverAnalysisError, match="bootstrap"):
        dr.key_drivers(df, "api00", drivers, design=rep, bootstrap=100)


def test_loyalty_link_with_design_is_the_svyglm_slope(api_designs):
    # R: svyglm(api00 ~ meals, dclus1): slope -3.3544556780559671, SE 0.27727601661815959
    df, d = api_designs["clus1"]
    link = dr.loyalty_link(df, "meals", "api00", scale_range=(0, 100), per=10, design=d)
    assert link["change"].iloc[0] == pytest.approx(-33.544556780559671, rel=1e-10)
    assert link["se"].iloc[0] == pytest.approx(2.7727601661815959, rel=1e-8)
    reg = dr.regression(df, "api00", ["meals"], design=d)
    assert link["p"].iloc[0] == pytest.approx(reg["p"].iloc[0], rel=1e-12)
    assert "svyglm" in link.attrs["se"]
    # the NPS coding keeps missing answers missing under a design
    nps = df.assign(rec=np.where(df.index % 7 == 0, np.nan, df["api00"] // 100))
    out = dr.loyalty_link(nps, "meals", "rec", scale_range=(0, 100), coding="nps", design=d)
    assert out["n"].iloc[0] == int(nps["rec"].notna().sum())
