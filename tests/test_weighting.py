"""Raking, post-stratification, trimming and the weighting report.

Reference weights come from R survey (tests/fixtures/r_survey/make_fixtures.R): rake(),
calibrate(calfun = "raking"), postStratify() and trimWeights() on a simulated survey whose
sample margins are far from the targets.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from surveykit.errors import SurveykitWarning, WeightingError
from surveykit.estimates import effective_n
from surveykit.weighting import (
    Targets,
    WeightingReport,
    load_targets,
    post_stratify,
    rake,
    trim,
)

N_POP = 100_000


# short names for the shared R survey fixtures (tests/conftest.py)
@pytest.fixture(scope="module")
def data(r_survey_data) -> pd.DataFrame:
    return r_survey_data


@pytest.fixture(scope="module")
def rw(r_survey_weights) -> pd.DataFrame:
    return r_survey_weights


@pytest.fixture(scope="module")
def targets(r_survey_targets) -> Targets:
    return r_survey_targets


def _rel(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a / b - 1)))


def _small() -> pd.DataFrame:
    return pd.DataFrame({"g": [1, 1, 1, 2, 2, 1, 2, 1], "r": [1, 2, 1, 2, 1, 1, 2, 2]})


# ----------------------------------------------------------------------------- vs R
def test_rake_matches_r_rake_with_design_weights(data, rw, targets):
    rep = rake(data, targets, base_weight="bw", total=N_POP)
    assert rep.converged
    assert _rel(rep.weights, rw["w_rake"]) < 1e-9
    assert rep.weights.sum() == pytest.approx(N_POP, rel=1e-12)
    # base weights constant within cells: the cell table is exact
    assert rep.summary_frame()["engine"] == "cells"


def test_rake_matches_r_with_base_weights_varying_within_cells(data, rw, targets):
    rep = rake(data, targets, base_weight="bw_cont", total=N_POP)
    assert rep.summary_frame()["engine"] == "rows"
    assert _rel(rep.weights, rw["w_rake_cont"]) < 1e-9


def test_few_distinct_base_weights_use_cell_x_weight_units(data, rw, targets):
    bw2 = data["bw"] * np.where(data["seg"] % 2 == 0, 1.0, 1.6)  # varies within cells
    rep = rake(data, targets, base_weight=bw2.to_numpy(), total=N_POP)
    assert rep.summary_frame()["engine"] == "cells x base weight"
    f = rep.to_frame()
    assert np.allclose(f["achieved_pct"], f["target_pct"], rtol=1e-12, atol=0)
    # raking multiplies every base weight of a cell by the same factor
    keys = [data[c].fillna(0) for c in ("region", "age_band", "gender", "cust_type",
                                          "org_size")]
    ratio = rep.weights / bw2
    spread = ratio.groupby(keys).agg(lambda r: r.max() / r.min() - 1)
    assert spread.max() < 1e-12


def test_rake_equals_r_calibrate_raking(data, rw, targets):
    rep = rake(data, targets, base_weight=data["bw"].to_numpy(), total=N_POP)
    assert _rel(rep.weights, rw["w_cal"]) < 1e-9


def test_rake_total_n_scales_to_sample_size(data, rw, targets):
    rep = rake(data, targets)  # targets.yaml says total: n; no base weights
    assert rep.weights.sum() == pytest.approx(len(data), rel=1e-12)
    assert _rel(rep.weights * N_POP / len(data), rw["w_rake_unw"]) < 1e-9
    assert rep.weights.name == "weight" and rep.weights.index.equals(data.index)


def test_post_stratify_matches_r(data, rw, targets):
    ag = targets.margins[1]
    spec = {"margins": [{"variables": ["age_band", "gender"],
                         "targets": [{"age_band": k[0], "gender": k[1], "target": v}
                                     for k, v in ag.targets.items()]}]}
    rep = post_stratify(data, spec, base_weight="bw", total=N_POP)
    assert _rel(rep.weights, rw["w_ps"]) < 1e-9
    assert _rel(rep.weights, rw["w_pscal"]) < 1e-9
    rep2 = post_stratify(data, dict(ag.targets), variables=["age_band", "gender"],
                         base_weight="bw", total=N_POP)
    assert _rel(rep2.weights, rw["w_ps"]) < 1e-9
    assert rep.method == "post-stratification"


@pytest.mark.parametrize("strict,col", [(False, "w_trim"), (True, "w_trim_strict")])
def test_trim_matches_r_trimweights(data, rw, strict, col):
    rep = trim(data, rw["w_rake"].to_numpy(), upper=2.0, lower=0.5, strict=strict)
    assert _rel(rep.weights, rw[col]) < 1e-9
    mean = rw["w_rake"].mean()
    rep_abs = trim(data, rw["w_rake"].to_numpy(), upper=2 * mean, lower=0.5 * mean,
                   relative=False, strict=strict)
    assert _rel(rep_abs.weights, rw[col]) < 1e-9
    assert rep.weights.sum() == pytest.approx(rw["w_rake"].sum(), rel=1e-12)


def test_trim_of_a_report_shows_moved_margins(data, targets):
    rep = rake(data, targets, base_weight="bw")
    tr = trim(data, rep, upper=2.0, strict=True)
    assert tr.weights.max() <= 2.0 * rep.weights.mean() * (1 + 1e-12)
    frame = tr.to_frame()
    assert frame["difference"].abs().max() > 0.01  # trimming moves margins; rake(cap=) not
    assert len(frame) == len(rep.to_frame())


# ----------------------------------------------------------------------------- margins
def test_report_reproduces_every_target(data, targets):
    rep = rake(data, targets, base_weight="bw")
    f = rep.to_frame()
    assert len(f) == 4 + 12 + 2 + 3
    assert np.allclose(f["achieved_pct"], f["target_pct"], rtol=1e-8, atol=0)
    assert rep.max_error <= 1e-12  # Newton polish: machine precision, not just tol
    w = rep.weights
    # the nested margin: org_size shares WITHIN cust_type 2
    c2 = data["cust_type"] == 2
    shares = w[c2].groupby(data.loc[c2, "org_size"]).sum() / w[c2].sum() * 100
    assert np.allclose(shares.to_numpy(), [55, 30, 15], rtol=1e-8)
    # the interlocked margin
    cell = w.groupby([data["age_band"], data["gender"]]).sum() / w.sum() * 100
    assert cell.loc[(6, 2)] == pytest.approx(9.5, rel=1e-8)


def test_report_statistics_and_rendering(data, targets):
    rep = rake(data, targets, base_weight="bw")
    w = rep.weights.to_numpy()
    assert rep.n_eff == pytest.approx(effective_n(w))
    assert rep.efficiency == pytest.approx(w.sum() ** 2 / (len(w) * (w**2).sum()))
    assert rep.min == pytest.approx(w.min()) and rep.max == pytest.approx(w.max())
    assert rep.ratio == pytest.approx(w.max() / w.min())
    assert rep.iterations >= 1
    html = rep._repr_html_()
    assert "<table" in html and "age_band x gender" in html and "efficiency" in html
    cells = rep.cells
    assert cells["n"].sum() == len(data)
    assert cells["weighted_total"].sum() == pytest.approx(w.sum())
    assert {"region", "age_band", "gender", "adjustment"} <= set(cells.columns)
    s = rep.summary_frame()
    assert s["converged"] and s["n"] == len(data)
    assert "WeightingReport(rake" in repr(rep)


def test_caller_dataframe_is_not_modified(data, targets):
    before = data.copy()
    rake(data, targets, base_weight="bw", cap=(0.3, 5), missing="exclude")
    pd.testing.assert_frame_equal(data, before)


def test_string_categorical_and_float_columns_give_the_same_weights(data, targets):
    ref = rake(data, targets).weights
    d = data.copy()
    d["region"] = d["region"].astype(float)
    d["age_band"] = pd.Categorical(d["age_band"], categories=[6, 5, 4, 3, 2, 1])
    assert _rel(rake(d, targets).weights, ref) < 1e-12
    d["gender"] = d["gender"].map({1: "m", 2: "f"}).astype("str")
    tg = {"margins": [
        {"variable": "region", "targets": {1: 32, 2: 28, 3: 22, 4: 18}},
        {"variables": ["age_band", "gender"],
         "targets": [{"age_band": a, "gender": {1: "m", 2: "f"}[g], "target": v}
                     for (a, g), v in targets.margins[1].targets.items()]},
        {"variable": "cust_type", "targets": {1: 60, 2: 40}},
        {"variable": "org_size", "within": {"cust_type": 2}, "targets": {1: 55, 2: 30, 3: 15}},
    ]}
    assert _rel(rake(d, tg).weights, ref) < 1e-12


# ----------------------------------------------------------------------------- caps
def test_caps_hold_together_with_margins(data, targets):
    rep = rake(data, targets, base_weight="bw", cap=(0.3, 5.0))
    w = rep.weights.to_numpy()
    mean = w.mean()
    assert w.max() <= 5.0 * mean * (1 + 1e-9) and w.min() >= 0.3 * mean * (1 - 1e-9)
    assert w.max() == pytest.approx(5.0 * mean) and w.min() == pytest.approx(0.3 * mean)
    f = rep.to_frame()
    assert np.allclose(f["achieved_pct"], f["target_pct"], rtol=1e-8, atol=0)


def test_capped_solution_is_bounded_raking(data, targets):
    """Units inside the caps keep the raking form w0 * prod(margin factors): their log
    adjustment is exactly additive in the margins' categories."""
    rep = rake(data, targets, cap=(0.3, 5.0))
    cells = rep.cells
    mean = rep.weights.mean()
    per_row = cells["weighted_total"] / cells["n"]
    free = (per_row < 5.0 * mean * (1 - 1e-9)) & (per_row > 0.3 * mean * (1 + 1e-9))
    assert free.sum() > 50 and (~free).sum() > 5
    X = pd.get_dummies(cells[["region", "cust_type"]].astype(str)).astype(float)
    X = pd.concat([X, pd.get_dummies(cells["age_band"] + "_" + cells["gender"]).astype(float),
                   pd.get_dummies(cells["org_size"] + "|" + cells["cust_type"]).astype(float)],
                  axis=1)
    y = np.log(per_row[free].to_numpy())
    A = X[free].to_numpy()
    beta, *_ = np.linalg.lstsq(A, y, rcond=None)
    assert np.max(np.abs(A @ beta - y)) < 1e-6


def test_cap_out_of_reach_names_margin_and_category():
    df = pd.DataFrame({"g": [1] * 90 + [2] * 10})
    with pytest.raises(WeightingError, match=r"margin 'g' category g=2 needs a weighted total "
                                             r"of 50.*10 respondent\(s\) all at the upper cap"):
        rake(df, {"g": {1: 50, 2: 50}}, cap=3)


def test_caps_jointly_unreachable_say_so():
    # every category alone fits under the cap, but cell (2, 2) is too small for both margins
    cells = {(1, 1): 100, (1, 2): 100, (2, 1): 100, (2, 2): 20}
    df = pd.DataFrame([k for k, n in cells.items() for _ in range(n)], columns=["a", "b"])
    tg = {"a": {1: 40, 2: 60}, "b": {1: 40, 2: 60}}
    rake(df, tg)  # reachable without caps (cell (2, 2) needs weight >= 3.2)
    with pytest.raises(WeightingError, match=r"did not converge in 300 iterations: margin .* "
                                             r"cannot be reached together within the caps "
                                             r"\(0.0, 2.5\)"):
        rake(df, tg, cap=2.5, max_iter=300)


def test_targets_needing_zero_weights_are_diagnosed():
    cells = {(1, 1): 3, (1, 2): 1, (2, 2): 2}  # g=2 only with r=2
    df = pd.DataFrame([k for k, n in cells.items() for _ in range(n)], columns=["g", "r"])
    with pytest.raises(WeightingError, match="only be met by giving some respondents"):
        rake(df, {"g": {1: 50, 2: 50}, "r": {1: 50, 2: 50}}, max_iter=200)


def test_bad_cap_values():
    with pytest.raises(WeightingError, match="0 <= min < 1 < max"):
        rake(_small(), {"g": {1: 50, 2: 50}}, cap=0.8)
    with pytest.raises(WeightingError, match="cap must be a number"):
        rake(_small(), {"g": {1: 50, 2: 50}}, cap="big")


# ----------------------------------------------------------------------------- bad input
def test_target_category_with_no_respondents():
    with pytest.raises(WeightingError, match=r"margin 'g'.*target category g=3 \(10%\) has "
                                             r"no respondents"):
        rake(_small(), {"g": {1: 50, 2: 40, 3: 10}})


def test_text_target_for_numeric_codes_gets_a_hint():
    with pytest.raises(WeightingError, match="data's codes are numbers: write them without"):
        rake(_small(), {"g": {"1": 50, "2": 50}})


def test_sample_category_with_no_target():
    df = _small()
    df.loc[0, "g"] = 7
    with pytest.raises(WeightingError, match=r"margin 'g': g=7 has 1 respondent\(s\) but no "
                                             r"target"):
        rake(df, {"g": {1: 50, 2: 50}})


def test_interlocked_sample_cell_with_no_target_names_both_variables():
    tg = {"margins": [{"variables": ["g", "r"], "targets": [
        {"g": 1, "r": 1, "target": 40}, {"g": 1, "r": 2, "target": 30},
        {"g": 2, "r": 2, "target": 30}]}]}
    with pytest.raises(WeightingError, match=r"margin 'g x r': g=2, r=1 has 1 respondent"):
        rake(_small(), tg)


def test_percent_targets_must_sum_to_100():
    with pytest.raises(WeightingError, match=r"margin 'g': percent targets sum to 99.9, not 100"):
        rake(_small(), {"g": {1: 50, 2: 49.9}})


def test_count_targets_must_agree_on_the_total():
    tg = {"unit": "count", "margins": [{"variable": "g", "targets": {1: 500, 2: 500}},
                                       {"variable": "r", "targets": {1: 500, 2: 600}}]}
    with pytest.raises(WeightingError, match=r"margin 'r': count targets sum to 1100 but "
                                             r"margin 'g' sums to 1000"):
        rake(_small(), tg)
    tg["margins"][1]["targets"] = {1: 400, 2: 600}
    tg["total"] = 2000
    with pytest.raises(WeightingError, match="count targets sum to 1000 but total is 2000"):
        rake(_small(), tg)


def test_count_targets_give_population_totals():
    tg = {"unit": "count", "total": 1000,
          "margins": [{"variable": "g", "targets": {1: 400, 2: 600}}]}
    w = rake(_small(), tg).weights
    assert w.sum() == pytest.approx(1000)
    assert w[_small()["g"] == 2].sum() == pytest.approx(600)


def test_missing_values_raise_by_default():
    df = _small().astype(float)
    df.loc[[1, 4], "r"] = np.nan
    with pytest.raises(WeightingError, match=r"weighting variable 'r' has missing values in 2 "
                                             r"row\(s\); choose a policy: missing='exclude'"):
        rake(df, {"g": {1: 50, 2: 50}, "r": {1: 50, 2: 50}})


def test_missing_exclude_gives_weight_zero_and_rakes_the_rest():
    df = _small().astype(float)
    df.loc[[0, 3], "r"] = np.nan
    rep = rake(df, {"g": {1: 50, 2: 50}, "r": {1: 50, 2: 50}}, missing="exclude")
    w = rep.weights
    assert (w[[0, 3]] == 0).all()
    assert w.sum() == pytest.approx(6)  # total n = rows weighted
    kept = df.drop(index=[0, 3])
    assert w[kept.index].groupby(kept["g"]).sum().tolist() == pytest.approx([3, 3])
    assert rep.summary_frame()["n_excluded"] == 2


def test_missing_own_category_held_at_sample_share_or_given_a_target():
    df = _small().astype(float)
    df.loc[[1, 4], "r"] = np.nan
    rep = rake(df, {"g": {1: 50, 2: 50}, "r": {1: 50, 2: 50}}, missing="own_category")
    w = rep.weights
    assert w[df["r"].isna()].sum() / w.sum() == pytest.approx(2 / 8, rel=1e-8)
    assert w[df["r"] == 1].sum() == pytest.approx(w[df["r"] == 2].sum(), rel=1e-8)
    assert "<missing>" in rep.to_frame()["category"].tolist()
    tg = {"margins": [{"variable": "g", "targets": {1: 50, 2: 50}},
                      {"variable": "r", "targets": {1: 40, 2: 40, None: 20}}]}
    w2 = rake(df, tg, missing="own_category").weights
    assert w2[df["r"].isna()].sum() / w2.sum() == pytest.approx(0.2, rel=1e-8)


def test_missing_outside_a_nested_group_is_not_missing(data, targets):
    assert data.loc[data["cust_type"] == 1, "org_size"].isna().all()
    rake(data, targets)  # no error although org_size is NaN for cust_type 1
    d = data.copy()
    d.loc[d.index[d["cust_type"] == 2][:3], "org_size"] = np.nan
    with pytest.raises(WeightingError, match=r"'org_size' has missing values in 3 row\(s\) "
                                             r"within cust_type=2"):
        rake(d, targets)


def test_contradictory_targets_cannot_be_reached_together():
    df = pd.DataFrame({"g": [1, 2] * 20, "a": [1] * 20 + [2] * 20})
    tg = {"margins": [
        {"variables": ["g", "a"], "targets": [{"g": 1, "a": 1, "target": 30},
                                              {"g": 2, "a": 1, "target": 30},
                                              {"g": 1, "a": 2, "target": 20},
                                              {"g": 2, "a": 2, "target": 20}]},
        {"variable": "g", "targets": {1: 40, 2: 60}}]}
    with pytest.raises(WeightingError, match=r"did not converge in 50 iterations: margin .* "
                                             r"got to .* against a target of .*cannot be "
                                             r"reached together"):
        rake(df, tg, max_iter=50)


def test_not_converged_can_warn_instead():
    df = pd.DataFrame({"g": [1, 2] * 20, "a": [1] * 20 + [2] * 20})
    tg = {"margins": [{"variables": ["g", "a"], "targets": [
        {"g": 1, "a": 1, "target": 30}, {"g": 2, "a": 1, "target": 30},
        {"g": 1, "a": 2, "target": 20}, {"g": 2, "a": 2, "target": 20}]},
        {"variable": "g", "targets": {1: 40, 2: 60}}]}
    with pytest.warns(SurveykitWarning, match="did not converge"):
        rep = rake(df, tg, max_iter=20, strict=False)
    assert not rep.converged and rep.iterations == 20


def test_bad_parameters():
    with pytest.raises(WeightingError, match="missing must be one of"):
        rake(_small(), {"g": {1: 50, 2: 50}}, missing="drop")
    with pytest.raises(WeightingError, match="total must be 'n'"):
        rake(_small(), {"g": {1: 50, 2: 50}}, total=-5)
    with pytest.raises(WeightingError, match=r"weighting variable\(s\) not in the data: 'x'"):
        rake(_small(), {"x": {1: 50, 2: 50}})
    with pytest.raises(WeightingError, match=r"must be finite and >= 0"):
        rake(_small(), {"g": {1: 50, 2: 50}}, base_weight=[1, -1, 1, 1, 1, 1, 1, 1])
    with pytest.raises(WeightingError, match="no rows"):
        rake(_small().iloc[:0], {"g": {1: 50, 2: 50}})


# ----------------------------------------------------------------------------- targets
def test_targets_yaml_with_lines_and_yaml12(tmp_path):
    p = tmp_path / "targets.yaml"
    p.write_text("unit: percent\nmargins:\n  - variable: member\n    targets: {yes: 40, no: 60}\n"
                 "  - variable: region\n    targets:\n      - {region: 1}\n")
    with pytest.raises(WeightingError, match=r"targets.yaml:line 7: margins\[1\].targets\[0\]: "
                                             r"each entry needs exactly the keys"):
        load_targets(p)
    p.write_text("margins:\n  - variable: member\n    targets: {yes: 40, no: 60}\n")
    t = load_targets(p)
    assert t.margins[0].targets == {("yes",): 40.0, ("no",): 60.0}  # YAML 1.2: not booleans
    assert t.margins[0].line == 2 and t.total == "n" and t.unit == "percent"
    p.write_text("margins:\n  - variable: g\n    targets: {1: 40, 2: -1}\n")
    with pytest.raises(WeightingError, match=r"line 3: margins\[0\].targets\[2\]: target must "
                                             r"be a number >= 0, not -1"):
        load_targets(p)
    p.write_text("margins: [\n")
    with pytest.raises(WeightingError, match="not valid YAML"):
        load_targets(p)
    with pytest.raises(WeightingError, match="does not exist"):
        load_targets(tmp_path / "nope.yaml")


def test_targets_structure_errors():
    with pytest.raises(WeightingError, match="unknown key"):
        load_targets({"margins": [{"variable": "g", "targets": {1: 100}}], "totals": "n"})
    with pytest.raises(WeightingError, match="exactly one of 'variable'"):
        load_targets({"margins": [{"variable": "g", "variables": ["g"], "targets": {1: 100}}]})
    with pytest.raises(WeightingError, match="unit must be 'percent' or 'count'"):
        load_targets({"unit": "share", "margins": [{"variable": "g", "targets": {1: 100}}]})
    with pytest.raises(WeightingError, match="both weighted and used in 'within'"):
        load_targets({"margins": [{"variable": "g", "within": {"g": 1}, "targets": {1: 100}}]})


def test_long_dataframe_targets(data, targets):
    long = pd.DataFrame({
        "variable": ["region"] * 4 + ["cust_type"] * 2 + ["org_size"] * 3,
        "category": [1, 2, 3, 4, 1, 2, 1, 2, 3],
        "target": [32, 28, 22, 18, 60, 40, 55, 30, 15],
        "within_variable": [None] * 6 + ["cust_type"] * 3,
        "within_category": [None] * 6 + [2] * 3})
    t = load_targets(long)
    assert [m.name for m in t.margins] == ["region", "cust_type", "org_size | cust_type=2"]
    w = rake(data, t).weights
    c2 = data["cust_type"] == 2
    assert (w[c2].groupby(data.loc[c2, "org_size"]).sum() / w[c2].sum()).tolist() == \
        pytest.approx([0.55, 0.30, 0.15], rel=1e-8)
    back = targets.to_frame()
    assert set(back.columns) >= {"variable", "category", "target", "within_variable"}


def test_plain_mapping_and_docstring_example():
    df = pd.DataFrame({"g": [1, 1, 1, 2]})
    assert rake(df, {"g": {1: 50, 2: 50}}).weights.round(3).tolist() == [0.667, 0.667,
                                                                        0.667, 2.0]
    assert isinstance(rake(df, {"g": {1: 50, 2: 50}}), WeightingReport)


# ----------------------------------------------------------------------------- demo
DEMO_METRICS = [  # truth.json "population" key, column, stat, scale
    ("overall_sat_mean", "overall_sat", "mean", None),
    ("nps", "nps", "nps", None),
    ("overall_sat_top2", "overall_sat", "top2", (0, 10)),
    ("repurchase_top2", "repurchase", "top2", (1, 5)),
]


def test_demo_survey_raked_to_its_targets_moves_estimates_towards_truth(demo_dir, demo_truth,
                                                                        pc_questionnaire):
    from surveykit.estimates import estimate
    from surveykit.responses import check_responses, clean, read_responses

    q = pc_questionnaire
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = read_responses(demo_dir / "responses.csv", q)
        df, _ = clean(q, raw, check_responses(q, raw))
    derived = q.derive(df)
    df = df.assign(**{c: derived[c] for c in derived.columns if c not in df.columns})
    t = load_targets(demo_dir / "targets.yaml")
    rep = rake(df, t, missing="exclude")  # a few cleaned rows lack a weighting variable
    f = rep.to_frame()
    assert np.allclose(f["achieved_pct"], f["target_pct"], rtol=1e-6, atol=0)
    assert rep.weights.sum() == pytest.approx(t.total)
    truth = demo_truth["population"]
    checked = 0
    for key, col, stat, scale in DEMO_METRICS:
        if key not in truth or col not in df.columns:
            continue
        true = truth[key]
        unw = estimate(df, col, stat=stat, scale=scale).iloc[0]
        wtd = estimate(df, col, stat=stat, scale=scale, weights=rep).iloc[0]
        assert abs(wtd["estimate"] - true) < abs(unw["estimate"] - true), key
        assert abs(wtd["estimate"] - true) < 3 * wtd["se"], key
        checked += 1
    assert checked >= 3
