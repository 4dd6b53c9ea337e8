"""Tracking across waves (issue 14, item 3): reading waves, questionnaire versions, per-wave
weighting, trend tables and their tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from surveykit.errors import QuestionnaireError, ResponseDataError, WeightingError
from surveykit.questionnaire import questionnaire_from_text
from surveykit.responses import check_responses
from surveykit.responses.reading import where_in_file
from surveykit.waves import compare_versions, read_waves, wave_order

SMALL = """
id: small
title: Small tracker
version: "{version}"
scales:
  sat5: {{codes: {{1: Very dissatisfied, 2: Dissatisfied, 3: Neutral, 4: Satisfied,
                  5: Very satisfied}}}}
  sat7: {{codes: {{1: "1", 2: "2", 3: "3", 4: "4", 5: "5", 6: "6", 7: "7"}}}}
questions:
  - {{id: seg, type: single, text: Segment, options: {{1: A, 2: B}}}}
  - {{id: sat, type: rating, scale: {sat_scale}, text: {sat_text}}}
  - {{id: nps, type: nps, text: How likely are you to recommend us?}}
{extra}
roles: {{respondent_id: rid, wave: wave, segments: [seg]}}
report:
  outcome: sat
  loyalty: [nps]
"""


def small_q(version="1", sat_scale="sat5", sat_text="How satisfied are you overall?",
            extra="", source=None):
    return questionnaire_from_text(
        SMALL.format(version=version, sat_scale=sat_scale, sat_text=sat_text, extra=extra),
        source=source or f"small_v{version}.yaml")


# -- step 1: reading -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_rows():
    return pd.read_csv("data/demo/responses.csv", dtype=str, keep_default_na=False).head(8)


def test_wave_role_is_declared_and_claims_its_column():
    q = small_q()
    assert q.roles.wave == "wave"
    with pytest.raises(QuestionnaireError, match="duplicate id 'sat'"):
        questionnaire_from_text(SMALL.format(version="1", sat_scale="sat5", sat_text="x",
                                             extra="").replace("wave: wave", "wave: sat"))


def test_one_file_with_a_wave_column_sorted_or_in_declared_order(tmp_path, pc_questionnaire,
                                                                 demo_rows):
    raw = demo_rows.assign(wave=["2026Q2", "2026Q1"] * 4)
    raw.to_csv(tmp_path / "all.csv", index=False)
    df = read_waves(tmp_path / "all.csv", pc_questionnaire, wave="wave")
    assert list(df["wave"].cat.categories) == ["2026Q1", "2026Q2"]
    assert df["wave"].cat.ordered and wave_order(df, "wave") == ["2026Q1", "2026Q2"]
    assert df.attrs["waves"] == ["2026Q1", "2026Q2"] and df.attrs["wave_changes"] == []
    assert df["wave"].tolist() == raw["wave"].tolist()          # rows stay in file order
    before = raw.copy()
    df2 = read_waves(tmp_path / "all.csv", pc_questionnaire, wave="wave",
                     order=["2026Q2", "2026Q1"])
    assert wave_order(df2, "wave") == ["2026Q2", "2026Q1"]
    pd.testing.assert_frame_equal(raw, before)
    with pytest.raises(ResponseDataError, match="2026Q2 that order= does not name"):
        read_waves(tmp_path / "all.csv", pc_questionnaire, wave="wave", order=["2026Q1"])
    with pytest.raises(ResponseDataError, match="declares no wave column"):
        read_waves(tmp_path / "all.csv", pc_questionnaire)
    with pytest.raises(ResponseDataError, match="no wave column 'round'"):
        read_waves(tmp_path / "all.csv", pc_questionnaire, wave="round")


def test_a_row_without_a_wave_is_named_by_its_file_line(tmp_path, pc_questionnaire, demo_rows):
    raw = demo_rows.assign(wave=["1", "2", "1", "", "2", "1", "2", "1"])
    raw.to_csv(tmp_path / "all.csv", index=False)
    with pytest.raises(ResponseDataError, match=r"1 row\(s\) have no wave .* at all.csv line 5"):
        read_waves(tmp_path / "all.csv", pc_questionnaire, wave="wave")


def test_one_file_per_wave_keeps_the_declared_order_and_each_rows_file_line(
        tmp_path, pc_questionnaire, demo_rows):
    demo_rows.iloc[:5].to_csv(tmp_path / "b.csv", index=False)
    # wave "A" comes second although it sorts first; its file repeats one id (line 3 and 4)
    dup = pd.concat([demo_rows.iloc[5:7], demo_rows.iloc[[6]]])
    dup.to_csv(tmp_path / "a.csv", index=False)
    df = read_waves({"B": tmp_path / "b.csv", "A": tmp_path / "a.csv"}, pc_questionnaire)
    assert wave_order(df, "wave") == ["B", "A"]
    assert df["wave"].tolist() == ["B"] * 5 + ["A"] * 3
    assert df.attrs["wave_sources"]["A"].endswith("a.csv")
    assert where_in_file(df, [0, 6, 7]) == " at b.csv line 2; a.csv lines 3, 4"
    wave_a = df[df["wave"] == "A"]
    found = check_responses(pc_questionnaire, wave_a)
    dup_msg = [e for e in found.table["message"] if "appears 2 times" in e]
    assert dup_msg and dup_msg[0].endswith("at a.csv lines 3, 4; clean() keeps the first")


def test_a_wave_file_holding_other_waves_is_refused(tmp_path, pc_questionnaire, demo_rows):
    demo_rows.iloc[:3].assign(wave=["Q1", "Q1", "Q2"]).to_csv(tmp_path / "q1.csv", index=False)
    demo_rows.iloc[3:].to_csv(tmp_path / "q2.csv", index=False)
    with pytest.raises(ResponseDataError, match=r"wave Q1 has other waves .*\(Q2\) at q1.csv "
                                                r"line 4"):
        read_waves({"Q1": tmp_path / "q1.csv", "Q2": tmp_path / "q2.csv"}, pc_questionnaire)
    with pytest.raises(ResponseDataError, match="no questionnaire for wave"):
        read_waves({"Q1": tmp_path / "q2.csv", "Q2": tmp_path / "q2.csv"},
                   {"Q1": pc_questionnaire})


# -- step 2: questionnaire versions ------------------------------------------------------------
def test_versions_list_wording_scale_code_and_missing_changes_with_their_place():
    v1 = small_q("1", extra="  - {id: rec, type: rating, scale: sat5, text: Would you "
                            "buy again?}")
    v2 = small_q("2", sat_text="How satisfied are you with us overall?")
    v3 = small_q("3", sat_text="How satisfied are you with us overall?", sat_scale="sat7")
    ch = compare_versions({"Q1": v1, "Q2": v2, "Q3": v3})
    f = ch.to_frame()
    got = set(zip(f["variable"], f["change"], f["wave_from"], f["wave_to"], strict=True))
    assert got == {("sat", "wording", "Q1", "Q2"), ("rec", "missing", "Q1", "Q2"),
                   ("sat", "scale", "Q2", "Q3"), ("sat", "codes", "Q2", "Q3")}
    assert ch.changed == ["sat", "rec"]
    row = f[(f["change"] == "scale")].iloc[0]
    assert row["before"] == "codes 1, 2, 3, 4, 5" and row["after"] == "codes 1, 2, 3, 4, 5, 6, 7"
    assert row["file"] == "small_v3.yaml" and row["line"] == 11
    assert f[f["variable"] == "rec"].iloc[0][["file", "line"]].tolist() == ["small_v1.yaml", 13]
    assert "not trended" in ch.summary() and "small_v3.yaml:line 11" in ch.summary()
    assert compare_versions({"Q1": v1, "Q2": v1}).changes == []


# -- step 3: per-wave weighting ------------------------------------------------------------------
def test_each_wave_is_raked_to_its_own_targets():
    from surveykit.waves import weight_waves
    from surveykit.weighting import rake

    rng = np.random.default_rng(3)
    df = pd.DataFrame({"wave": np.repeat(["Q1", "Q2"], 300),
                       "sex": rng.integers(1, 3, 600), "age": rng.integers(1, 4, 600)})
    t1 = {"total": "n", "margins": [{"variable": "sex", "targets": {1: 50, 2: 50}},
                                    {"variable": "age", "targets": {1: 30, 2: 30, 3: 40}}]}
    t2 = {"total": "n", "margins": [{"variable": "sex", "targets": {1: 40, 2: 60}},
                                    {"variable": "age", "targets": {1: 20, 2: 50, 3: 30}}]}
    before = df.copy()
    ww = weight_waves(df, {"Q1": t1, "Q2": t2})
    pd.testing.assert_frame_equal(df, before)
    assert list(ww.reports) == ["Q1", "Q2"]
    for w, t in (("Q1", t1), ("Q2", t2)):
        part = df[df["wave"] == w]
        wt = ww.weights[part.index]
        assert wt.sum() == pytest.approx(300)
        for m in t["margins"]:
            shares = wt.groupby(part[m["variable"]]).sum() / wt.sum() * 100
            for code, target in m["targets"].items():
                assert shares[code] == pytest.approx(target, abs=1e-6)
        alone = rake(part, t)   # the same weights as raking the wave on its own
        np.testing.assert_allclose(wt.to_numpy(), alone.weights.to_numpy(), rtol=1e-12)
        assert ww.reports[w].efficiency == pytest.approx(alone.efficiency)
    assert set(ww.to_frame()["wave"]) == {"Q1", "Q2"}
    assert "Wave Q2" in ww.summary() and "WaveWeighting(2 waves" in repr(ww)
    with pytest.raises(WeightingError, match="no targets for wave\\(s\\) Q2"):
        weight_waves(df, {"Q1": t1})
    with pytest.raises(WeightingError, match="wave Q2: "):
        weight_waves(df, {"Q1": t1, "Q2": {"margins": [{"variable": "nope",
                                                         "targets": {1: 100}}]}})


# -- step 4: trend tables ----------------------------------------------------------------------
def _three_waves(seed=1, n=(120, 150, 130), shift=(0.0, 0.6, 0.9)):
    rng = np.random.default_rng(seed)
    parts = []
    for k, (size, s) in enumerate(zip(n, shift, strict=True)):
        sat = np.clip(np.round(rng.normal(3.2 + s, 1.0, size)), 1, 5)
        nps = np.clip(np.round(rng.normal(6.5 + 2 * s, 2.0, size)), 0, 10)
        parts.append(pd.DataFrame({"rid": np.arange(size) + 1000 * k, "wave": f"W{k + 1}",
                                   "seg": rng.integers(1, 3, size), "sat": sat, "nps": nps,
                                   "w": rng.uniform(0.5, 2.0, size)}))
    return pd.concat(parts, ignore_index=True)


def _linearised_z_p(a, b):
    """Two-sided p of the difference of two domain means over its linearisation SE, the
    package's one test of two means with simple weights (R svyby + svycontrast): each
    domain's variance is N/(N-1) sum (y - mean)^2 / n^2, N the rows of both domains."""
    from scipy import stats

    a, b = np.asarray(a, float), np.asarray(b, float)
    N = len(a) + len(b)
    var = [N / (N - 1) * ((x - x.mean()) ** 2).sum() / len(x) ** 2 for x in (a, b)]
    return 2 * stats.norm.sf(abs((b.mean() - a.mean()) / np.sqrt(sum(var))))


def test_trend_values_are_the_packages_estimates_and_tests_by_hand():
    from scipy import stats

    from surveykit.waves import trend

    q = small_q()
    df = _three_waves()
    before = df.copy()
    t = trend(df, [{"column": "sat", "stat": "mean"}, {"column": "sat", "stat": "top_box"},
                   {"column": "sat", "stat": "index"}, {"column": "nps", "stat": "nps"}],
              questionnaire=q, respondent_id="rid")
    pd.testing.assert_frame_equal(df, before)
    f = t.to_frame()
    assert f["metric"].unique().tolist() == ["sat", "sat:top_box", "sat:index", "nps"]
    w = {k: df[df["wave"] == k] for k in ("W1", "W2", "W3")}
    mean = f[f["metric"] == "sat"].set_index("wave")
    for k in w:
        assert mean.loc[k, "estimate"] == pytest.approx(w[k]["sat"].mean(), rel=1e-12)
    # means: z on the linearisation SEs (R svyby + svycontrast), previous and first wave
    assert mean.loc["W2", "change_prev"] == pytest.approx(w["W2"]["sat"].mean()
                                                          - w["W1"]["sat"].mean())
    z_p = _linearised_z_p
    assert mean.loc["W2", "p_prev"] == pytest.approx(z_p(w["W1"]["sat"], w["W2"]["sat"]))
    assert mean.loc["W3", "p_prev"] == pytest.approx(z_p(w["W2"]["sat"], w["W3"]["sat"]))
    assert mean.loc["W3", "p_first"] == pytest.approx(z_p(w["W1"]["sat"], w["W3"]["sat"]))
    assert mean.loc["W3", "previous"] == "W2" and pd.isna(mean.loc["W1", "change_prev"])
    # the 0-100 index: the mean rescaled from the 1-5 scale, same test
    idx = f[f["metric"] == "sat:index"].set_index("wave")
    assert idx.loc["W2", "change_prev"] == pytest.approx(25 * mean.loc["W2", "change_prev"])
    assert idx.loc["W2", "p_prev"] == pytest.approx(mean.loc["W2", "p_prev"])
    # top box: the pooled two-proportion z-test (R prop.test(correct = FALSE))
    top = f[f["metric"] == "sat:top_box"].set_index("wave")
    x1, x2 = (w[k]["sat"] >= 4 for k in ("W1", "W2"))
    pool = (x1.sum() + x2.sum()) / (len(x1) + len(x2))
    z = (x2.mean() - x1.mean()) / np.sqrt(pool * (1 - pool) * (1 / len(x1) + 1 / len(x2)))
    assert top.loc["W2", "estimate"] == pytest.approx(x2.mean())
    assert top.loc["W2", "p_prev"] == pytest.approx(2 * stats.norm.sf(abs(z)))
    # NPS: z on the linearisation SEs of the +100/0/-100 score (domains of the compared rows)
    nps = f[f["metric"] == "nps"].set_index("wave")
    s = {k: np.where(w[k]["nps"] >= 9, 100.0, np.where(w[k]["nps"] <= 6, -100.0, 0.0))
         for k in w}
    N = len(s["W1"]) + len(s["W2"])
    var = {k: N / (N - 1) * ((s[k] - s[k].mean()) ** 2).sum() / len(s[k]) ** 2
           for k in ("W1", "W2")}
    z = (s["W2"].mean() - s["W1"].mean()) / np.sqrt(var["W1"] + var["W2"])
    assert nps.loc["W2", "change_prev"] == pytest.approx(s["W2"].mean() - s["W1"].mean())
    assert nps.loc["W2", "p_prev"] == pytest.approx(2 * stats.norm.sf(abs(z)))
    assert (f["shared_prev"].dropna() == 0).all() and not t.notes


def test_trend_weighted_by_segment_and_the_result_api():
    from surveykit.estimates import compare
    from surveykit.plots import MEANING_COLORS, ChartFigure
    from surveykit.waves import trend

    q = small_q()
    df = _three_waves(n=(300, 300, 300), shift=(0.0, 0.7, 0.7))
    t = trend(df, ["sat", "nps"], questionnaire=q, weights="w", by="seg")
    f = t.to_frame()
    assert f["segment"].unique().tolist() == ["Total", 1, 2]
    assert f["segment_label"].unique().tolist() == ["Total", "A", "B"]
    seg2 = df[df["seg"] == 2]
    ref = compare(seg2[seg2["wave"].isin(["W1", "W2"])], "sat", by="wave", weights="w",
                  reference="W1")
    got = f[(f["metric"] == "sat") & (f["segment"] == 2) & (f["wave"] == "W2")].iloc[0]
    assert got["change_prev"] == pytest.approx(ref["difference"].iloc[0])
    assert got["p_prev"] == pytest.approx(ref["p_value"].iloc[0])
    assert got["test"] == "z (linearisation SEs)"
    sentence = t.sentence("nps", wave="W2")
    row = f[(f["metric"] == "nps") & (f["segment"] == "Total") & (f["wave"] == "W2")].iloc[0]
    assert sentence.startswith(f"NPS +{row['change_prev']:.0f} points since W1, significant")
    assert "not significant" in t.sentence("sat")                # W3 = W2 in truth
    assert t.summary().splitlines()[1].startswith("  - How satisfied are you overall? ")
    assert "TrendResult(2 metrics" in repr(t) and "<table" in t._repr_html_()
    fig = t.plot()
    assert isinstance(fig, ChartFigure) and len(fig.axes) == 2 * 3
    ax = fig.axes[0]                                             # sat, Total: W2 better
    colours = ax.collections[-1].get_facecolors()
    from matplotlib.colors import to_rgba

    assert tuple(colours[1]) == to_rgba(MEANING_COLORS["better"])
    assert tuple(colours[2]) == to_rgba(MEANING_COLORS["ns"])
    assert fig._repr_png_()[:4] == b"\x89PNG"


def test_a_question_whose_scale_changed_is_not_trended_and_the_note_says_where(tmp_path):
    from surveykit.waves import trend

    v1 = small_q("1", source=str(tmp_path / "v1.yaml"))
    v2 = small_q("2", sat_scale="sat7", source=str(tmp_path / "v2.yaml"))
    df = _three_waves(n=(50, 60, 1))[lambda d: d["wave"] != "W3"].drop(columns="w")
    df["wave"] = df["wave"].map({"W1": "Q1", "W2": "Q2"})
    for k in ("Q1", "Q2"):
        df[df["wave"] == k].drop(columns="wave").to_csv(tmp_path / f"{k}.csv", index=False)
    data = read_waves({"Q1": tmp_path / "Q1.csv", "Q2": tmp_path / "Q2.csv"},
                      {"Q1": v1, "Q2": v2})
    t = trend(data, questionnaire=v2)                          # the report's key metrics
    assert t.to_frame()["metric"].unique().tolist() == ["nps"]
    (note,) = [n for n in t.notes if n.kind == "not_trended"]
    assert note.metric == "sat" and note.line == 11 and note.file.endswith("v2.yaml")
    assert "its scale changed from wave Q1 to Q2" in str(note)
    assert str(note).startswith(f"{tmp_path / 'v2.yaml'}:line 11: ")
    assert "not trended" in t.summary()


def test_respondents_in_two_waves_are_counted_and_the_test_is_called_independent():
    from surveykit.waves import trend

    df = _three_waves()
    df.loc[df["wave"] == "W2", "rid"] = np.arange(150)           # 120 of W1's ids again
    t = trend(df, ["sat"], respondent_id="rid")
    f = t.to_frame().set_index("wave")
    assert f.loc["W2", "shared_prev"] == 120 and f.loc["W3", "shared_prev"] == 0
    (note,) = t.notes
    assert note.kind == "overlap" and note.message.startswith(
        "overlapping panel: 120 shared respondents between waves W1 and W2; the "
        "independent-samples test is conservative")


# -- step 5: simulated waves: planted changes are found, null changes at the nominal rate -------
@pytest.fixture(scope="module")
def si_truth():
    from surveykit.simulate.truth_file import read_truth

    return read_truth("data/satisfaction_index/simulation.yaml")[0]


def test_a_change_planted_by_the_simulator_is_found_significant(si_truth, tmp_path):
    from surveykit.questionnaire import load_questionnaire
    from surveykit.simulate import simulate_waves, stack_waves
    from surveykit.waves import trend, weight_waves

    q = load_questionnaire("questionnaires/satisfaction_index.yaml")
    truth = {**si_truth, "population_draw": 20000,
             "waves": {"Q1": {}, "Q2": {"shift": {"satisfaction": 0.3}}}}
    sims = simulate_waves(q, truth, n=1500)
    assert sims["Q2"].truth["wave"] == {**sims["Q2"].truth["wave"], "label": "Q2",
                                        "index": 1, "shift": {"satisfaction": 0.3}}
    pop = {w: s.truth["population"]["columns"]["overall_sat"] for w, s in sims.items()}
    true_change = pop["Q2"]["mean"] - pop["Q1"]["mean"]
    assert true_change > 0.15
    df = stack_waves(sims)
    rid = q.roles.respondent_id
    assert not set(df.loc[df["wave"] == "Q1", rid]) & set(df.loc[df["wave"] == "Q2", rid])
    ww = weight_waves(df, {w: s.targets for w, s in sims.items()}, missing="exclude")
    t = trend(df.assign(weight=ww.weights), ["overall_sat", "pq_overall"], questionnaire=q,
              weights="weight")
    f = t.to_frame().set_index(["metric", "wave"])
    sat = f.loc[("overall_sat", "Q2")]
    assert sat["significant_prev"] and sat["change_prev"] > 0
    assert abs(sat["change_prev"] - true_change) < 0.12          # about 3 SE of the change
    assert not [n for n in t.notes if n.kind == "overlap"]
    # an unshifted driver (quality) moved by nothing: its change is within noise
    assert abs(f.loc[("pq_overall", "Q2"), "change_prev"]) < 0.12


def test_a_null_change_is_flagged_at_about_the_nominal_rate(si_truth):
    from scipy import stats

    from surveykit.questionnaire import load_questionnaire
    from surveykit.simulate import WaveModel
    from surveykit.waves import trend

    q = load_questionnaire("questionnaires/satisfaction_index.yaml")
    model = WaveModel(q, {**si_truth, "waves": {"Q1": {}, "Q2": {}}})
    reps, alpha = 200, 0.05
    hits = np.zeros(2, int)                  # mean (linearised z), top box (pooled z)
    for r in range(reps):
        df = model.draw(300, seed=r, columns=["overall_sat"])
        f = trend(df, [{"column": "overall_sat", "stat": "mean"},
                       {"column": "overall_sat", "stat": "top_box"}], questionnaire=q,
                  alpha=alpha).to_frame()
        hits += f.loc[f["wave"] == "Q2", "significant_prev"].to_numpy()
    lo, hi = stats.binom.ppf([0.005, 0.995], reps, alpha)
    assert ((lo <= hits) & (hits <= hi)).all(), (hits, lo, hi)


def test_the_demo_wave2_regenerates_byte_for_byte(tmp_path, pc_questionnaire, demo_dir):
    from surveykit.simulate import DEMO_FILES
    from surveykit.simulate.waves import write_demo_wave

    write_demo_wave(pc_questionnaire, tmp_path)
    for name in DEMO_FILES:
        assert (tmp_path / name).read_bytes() == (demo_dir / "wave2" / name).read_bytes(), name


def test_the_demo_waves_recover_the_declared_change(demo_dir):
    import json

    from surveykit.waves import survey_from_waves, trend

    s = survey_from_waves("questionnaires/pc_customers.yaml",
                          {"2026Q1": demo_dir / "responses.csv",
                           "2026Q2": demo_dir / "wave2" / "responses.csv"},
                          targets={"2026Q1": demo_dir / "targets.yaml",
                                   "2026Q2": demo_dir / "wave2" / "targets.yaml"})
    assert list(s.meta["waves"]) == ["2026Q1", "2026Q2"]
    assert s.meta["waves"]["2026Q2"]["n_raw"] == 4000 and s.meta["waves"]["2026Q2"]["n"] == 3994
    assert "email" not in s.data.columns
    t = trend(s)
    pop = [json.loads((d / "truth.json").read_text())["population"]
           for d in (demo_dir, demo_dir / "wave2")]
    f = t.to_frame().set_index("metric")
    sat, nps = f.loc["overall_sat"].iloc[1], f.loc["nps"].iloc[1]
    assert sat["significant_prev"] and nps["significant_prev"]
    true_sat = pop[1]["overall_sat_mean"] - pop[0]["overall_sat_mean"]
    true_nps = pop[1]["nps"] - pop[0]["nps"]
    assert sat["change_prev"] == pytest.approx(true_sat, abs=0.08)    # within 2 SE
    assert nps["change_prev"] == pytest.approx(true_nps, abs=4.2)     # within 2 SE
    assert t.sentence("nps").startswith("NPS +11 points since 2026Q1, significant")
    assert not t.notes                                               # new respondents


# -- step 6: reports -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_waves():
    from surveykit.waves import survey_from_waves

    return survey_from_waves("questionnaires/pc_customers.yaml", "data/demo/waves.yaml")


def test_the_waves_file_names_each_waves_data_and_targets(tmp_path):
    from surveykit.waves import read_waves_file

    w = read_waves_file("data/demo/waves.yaml")
    assert [p.as_posix() for p in w["data"].values()] == [
        "data/demo/responses.csv", "data/demo/wave2/responses.csv"]
    assert w["questionnaire"] is None
    (tmp_path / "w.yaml").write_text("waves:\n  Q1: {data: a.csv}\n  Q2: {data: b.csv}\n")
    (tmp_path / "a.csv").write_text("x\n")
    with pytest.raises(ResponseDataError, match=r"w.yaml:line 3: wave Q2: data file .*b.csv "
                                                r"not found"):
        read_waves_file(tmp_path / "w.yaml")


def test_a_wave_report_page_describes_its_wave_and_its_change(demo_waves):
    from surveykit.reporting import SegmentFindings

    f = SegmentFindings(demo_waves, "segment", 3, wave="latest")
    assert f.n == 421 and len(f.df) == 3994                  # the latest wave only
    assert f.sections().index("trend") == f.sections().index("key_metrics") + 1
    sec = f.section("trend")
    assert sec.heading == "3. Change since the previous wave"
    assert sec.intro.startswith("2026Q2 against 2026Q1")
    seg, total = f.trend_results()
    r = seg.to_frame().query("metric == 'nps' and wave == '2026Q2'").iloc[0]
    sentence = [s for s in sec.findings if s.startswith("Among Older users, NPS")][0]
    assert sentence.startswith(f"Among Older users, NPS +{r['change_prev']:.0f} points since "
                               "2026Q1 (significant")
    table = sec.tables[0][1]
    assert table.columns.tolist() == ["Metric", "2026Q1", "2026Q2", "Change", "Test", "n"]
    row = table[table["Metric"] == "NPS"].iloc[0]
    assert row["Change"] == f"+{r['change_prev']:.0f} points" and row["Test"].css == "sk-better"
    assert row["n"] == f"{int(r['n']):,}"
    assert 'data-section="trend"' in sec._repr_html_() and sec.figures
    first = SegmentFindings(demo_waves, "segment", 3, wave="2026Q1")
    assert first.section("trend") is None
    assert first.left_out()["trend"].startswith("2026Q1 is the first wave")
    plain = SegmentFindings(demo_waves, "segment", 3)            # no --wave: no trend section
    assert "trend" not in plain.sections() and "trend" not in plain.left_out()
    from surveykit.errors import ReportError

    with pytest.raises(ReportError, match="no such wave; waves: 2026Q1, 2026Q2"):
        SegmentFindings(demo_waves, "segment", 3, wave="2025Q4")


def test_run_report_passes_the_wave_to_the_pages_and_refuses_crm(tmp_path):
    from surveykit.errors import ReportError
    from surveykit.reporting import check_parameters
    from surveykit.reporting.runner import DEFAULT_NOTEBOOK
    from surveykit.reporting.trend_section import prepare_survey

    check_parameters(DEFAULT_NOTEBOOK, ["wave"])                 # declared by the notebook
    with pytest.raises(ReportError, match="--wave with --crm"):
        prepare_survey("questionnaires/pc_customers.yaml", "data/demo/waves.yaml",
                       crm="data/demo/crm.csv", wave="latest")


def test_the_index_shows_the_total_change_and_the_trend_chart(demo_waves):
    from surveykit.reporting.index import index_html
    from surveykit.reporting.trend_section import index_trend_html

    block = index_trend_html(demo_waves, "segment", "latest")
    assert block.startswith("<h2>Change since 2026Q1</h2>")
    assert "<li>NPS +11 points since 2026Q1, significant (p &lt; 0.001; +21 in 2026Q2)</li>" \
        in block
    assert block.count("<svg") == 1 and "<img" not in block
    assert 'aria-label="Key metrics by wave chart"' in block
    assert index_trend_html(demo_waves, "segment", None) == ""
    assert index_trend_html(demo_waves, "segment", "2026Q1") == ""     # nothing before it
    page = index_html("T", [], trend=block)
    assert "Change since 2026Q1" in page


def test_the_index_describes_the_reported_wave(demo_waves):
    from surveykit.reporting.trend_section import report_survey

    assert report_survey(demo_waves, "segment", None) is demo_waves
    shown = report_survey(demo_waves, "segment", "latest")
    assert len(shown.data) == 3994 and len(demo_waves.data) == 7988
    assert shown.meta["weighting_efficiency"] == \
        demo_waves.meta["waves"]["2026Q2"]["weighting_efficiency"]
    assert shown.meta["index_trend"].startswith("<h2>Change since 2026Q1</h2>")
    assert "index_trend" not in demo_waves.meta


def test_the_overview_of_a_wave_report_describes_the_reported_wave(demo_waves, tmp_path):
    from surveykit.reporting import Overview
    from surveykit.survey import Survey
    from surveykit.waves import WaveWeighting

    assert isinstance(demo_waves.weighting, WaveWeighting)      # one report per wave
    loaded = Survey.load(demo_waves.save(tmp_path / "prepared"))
    ov = Overview(loaded, "segment", wave="latest")
    assert len(ov.df) == 3994
    first = ov.section("weighting").findings[1]
    eff = demo_waves.weighting.reports["2026Q2"].efficiency
    assert first.startswith(f"Weighting efficiency {100 * eff:.0f}%")
