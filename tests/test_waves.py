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
