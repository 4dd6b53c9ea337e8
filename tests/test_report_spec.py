"""The report: block and its resolution: declared over inferred, guesses said, ambiguity refused,
sections present exactly when their inputs exist."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from surveykit.errors import QuestionnaireError, ReportError
from surveykit.questionnaire import questionnaire_from_text
from surveykit.reporting.spec import ReportSpec, load_spec

BASE = """
id: csi
title: Satisfaction index
scales:
  ten: {codes: {1: "1 - poor", 2: "2", 3: "3", 4: "4", 5: "5", 6: "6", 7: "7", 8: "8", 9: "9",
                10: "10 - excellent"}}
  yn: {codes: {1: "Yes", 2: "No"}}
questions:
  - {id: region, type: single, text: Region, options: {1: North, 2: South}}
  - {id: complaint_handling, type: rating, scale: ten,
     text: How satisfied are you with how your complaint was handled?}
  - {id: quality, type: rating, scale: ten, text: Overall quality}
  - {id: cusa, type: rating, scale: ten, text: How satisfied are you with the service?,
     label: Satisfaction}
  - {id: value, type: rating, scale: ten, text: Value for money}
  - {id: complained, type: single, scale: yn, text: Did you complain?}
roles:
  respondent_id: rid
"""


def _q(extra: str = ""):
    return questionnaire_from_text(BASE + extra)


def test_an_ambiguous_outcome_is_refused_with_the_candidates_listed():
    q = _q()
    with pytest.raises(ReportError) as err:
        ReportSpec.resolve(q)
    msg = str(err.value)
    # two ratings say "satisf": the guess would be arbitrary, so it is refused
    assert "cannot tell which question is the outcome" in msg
    for qid in ("complaint_handling", "quality", "cusa", "value"):
        assert qid in msg
    assert "report: {outcome: <id>}" in msg and "--spec" in msg


def test_an_override_settles_the_outcome_and_the_rest_is_inferred_and_noted():
    spec = ReportSpec.resolve(_q(), overrides={"outcome": "cusa"})
    assert spec.outcome == "cusa" and spec.source == "inferred"
    assert [m.column for m in spec.metrics] == ["cusa", "complained"]
    assert spec.metrics[0].note == "mean, 1-10 scale, poor to excellent"
    assert spec.metrics[1].label == "Complaint rate" and not spec.metrics[1].higher_is_better
    assert any(n.startswith("metrics = complaint rate from complained") for n in spec.notes)
    assert not any(n.startswith("outcome") for n in spec.notes)     # declared, not guessed


def test_a_declared_block_is_used_as_written_and_nothing_is_guessed():
    q = _q("""
report:
  outcome: cusa
  metrics:
    - {column: cusa, stat: index, label: Satisfaction index}
    - {column: quality, stat: top_box}
  drivers: [quality, value, complaint_handling]
""")
    spec = ReportSpec.resolve(q, segment_by="region")
    assert spec.source == "declared" and spec.notes == []
    assert spec.outcome == "cusa" and spec.loyalty == [] and spec.pain_points == []
    idx, top = spec.metrics
    assert idx.index == (1.0, 10.0) and idx.stat == "mean" and idx.label == "Satisfaction index"
    assert top.codes == (10, 9) and top.kind == "percent"
    assert spec.drivers == ["quality", "value", "complaint_handling"]
    # the tab book default: every single, rating, ... question, and the profile default
    assert spec.banner == ["region", "complaint_handling", "quality", "cusa", "value",
                           "complained"]
    assert spec.value_tier is None and spec.lifecycle is None


def test_the_index_metric_rescales_estimates_and_differences_to_0_100():
    q = _q("report: {metrics: [{column: cusa, stat: index}]}")
    m = ReportSpec.resolve(q).metrics[0]
    frame = pd.DataFrame({"estimate": [5.5], "ci_low": [1.0], "ci_high": [10.0],
                          "se": [0.9], "difference": [-0.9], "reference": ["total"],
                          "reference_estimate": [6.4], "p_value": [0.03]})
    got = m.rescale(frame)
    assert got["reference"].tolist() == ["total"] and got["p_value"].tolist() == [0.03]
    assert got["reference_estimate"].tolist() == pytest.approx([60.0])
    assert got["estimate"].tolist() == [50.0] and got["ci_low"].tolist() == [0.0]
    assert got["ci_high"].tolist() == [100.0]
    assert got["se"].tolist() == pytest.approx([10.0])
    assert got["difference"].tolist() == pytest.approx([-10.0])
    assert frame["estimate"].tolist() == [5.5]                      # input unchanged


def test_report_block_errors_are_located_and_say_what_to_do():
    with pytest.raises(QuestionnaireError) as err:
        _q("""
report:
  outcome: cusaa
  metrics:
    - {column: region, stat: nps}
    - {column: complained, stat: proportion}
  attributes: [quality, region]
  constructs: [nope]
""")
    text = str(err.value)
    assert "report.outcome: unknown outcome 'cusaa' (did you mean 'cusa'?)" in text
    assert "report.metrics[0].stat: stat 'nps' needs an nps question" in text
    assert "report.metrics[1].codes: stat 'proportion' of 'complained' needs codes" in text
    assert "report.attributes[1]: item or grid 'region' is a single question" in text
    assert "report.constructs[0]: unknown construct 'nope'" in text
    assert text.count("<string>:line ") == 5           # every problem has its line
    with pytest.raises(QuestionnaireError, match=r"line 19: report.colour: unknown field"):
        _q("report: {outcome: cusa, colour: red}\n")


def test_spec_files_and_overrides_are_validated(tmp_path):
    good = tmp_path / "spec.yaml"
    good.write_text("outcome: cusa\ndrivers: [quality, value]\n", encoding="utf-8")
    assert load_spec(good) == {"outcome": "cusa", "drivers": ["quality", "value"]}
    wrapped = tmp_path / "wrapped.yaml"
    wrapped.write_text("report:\n  outcome: cusa\n", encoding="utf-8")
    assert load_spec(wrapped) == {"outcome": "cusa"}
    bad = tmp_path / "bad.yaml"
    bad.write_text("outcome: cusa\ncolour: red\n", encoding="utf-8")
    with pytest.raises(ReportError, match=r"bad.yaml: unknown report spec field\(s\) 'colour'"):
        load_spec(bad)
    with pytest.raises(ReportError, match="does not exist"):
        load_spec(tmp_path / "missing.yaml")
    with pytest.raises(ReportError, match="drivers"):
        ReportSpec.resolve(_q(), overrides={"outcome": "cusa", "drivers": "quality"})


def test_defining_variables_leave_the_profile_and_the_drivers(pc_questionnaire):
    spec = ReportSpec.resolve(pc_questionnaire, segment_by="age_band",
                              overrides={"drivers": ["sat_cpu", "sat_value"],
                                         "profile": ["gender", "age_band", "cust_type"]})
    assert spec.profile == ["gender", "cust_type"] and spec.drivers == ["sat_cpu", "sat_value"]
    seg = ReportSpec.resolve(pc_questionnaire, segment_by="segment",
                             overrides={"drivers": ["sat_cpu", "sat_value"],
                                        "profile": ["gender", "age_band", "cust_type"]})
    assert seg.profile == ["gender"]   # segment is defined from cust_type and age (bands)


def _survey(q, df):
    from surveykit.survey import Survey

    return Survey(questionnaire=q, data=df, weights=None)


def test_sections_appear_exactly_when_their_inputs_exist():
    from surveykit.reporting import SegmentFindings

    q = _q("""
report:
  outcome: cusa
  metrics: [{column: cusa, stat: mean}]
  drivers: [quality, value, complaint_handling]
""")
    rng = np.random.default_rng(3)
    n = 400
    quality, value = rng.integers(1, 11, n), rng.integers(1, 11, n)
    df = pd.DataFrame({
        "rid": np.arange(n), "region": np.r_[rng.integers(1, 3, n - 25), [np.nan] * 25],
        "complaint_handling": rng.integers(1, 11, n), "quality": quality, "value": value,
        "cusa": np.clip(np.round(0.6 * quality + 0.3 * value + rng.normal(0, 1, n)), 1, 10),
        "complained": rng.integers(1, 3, n)})
    f = SegmentFindings(_survey(q, df), "region", 1)
    assert f.sections() == ["profile", "key_metrics", "drivers", "recommendations", "method"]
    assert f.section("attributes") is None and f.section("pain_points") is None
    assert f.section("drivers").heading == "3. Key drivers and where to act"
    drivers = f.section("drivers")
    # the third driver's share shows as 0%: the sentence names the two that drive anything
    assert drivers.findings[0] == ("The strongest drivers of satisfaction in the North "
                                   "segment are overall quality (83% of the explained "
                                   "variance) and value for money (17%).")
    note = f.section("method")
    text = " ".join(note.findings + note.notes)
    assert "25 respondents have no region: they count in the total" in text
    assert "Left out: Attribute satisfaction, because no attribute ratings are declared " \
           "(report.attributes)." in text
    assert "Left out: Construct scores, because the questionnaire declares no constructs." \
        in text
    assert "Means of ratings (1-10 scale) treat each scale as interval." in text
    for key in f.sections():            # no section without findings
        assert f.section(key).findings, key


def test_a_bare_questionnaire_says_every_inferred_choice_in_the_method_note(pc_questionnaire,
                                                                           demo_survey):
    from surveykit.reporting import SegmentFindings

    bare = copy.copy(pc_questionnaire)
    bare.model = pc_questionnaire.model.model_copy(update={"report": None})
    survey = copy.copy(demo_survey)
    survey.questionnaire = bare
    f = SegmentFindings(survey, "segment", 2)
    notes = " ".join(f.section("method").notes)
    assert "declares no report: block, so these choices were inferred: outcome = overall_sat" \
        in notes
    assert "declare report.outcome to change it" in notes


# -- the command line ------------------------------------------------------------------------
def _files(tmp_path, extra: str = ""):
    qpath = tmp_path / "csi.yaml"
    qpath.write_text(BASE + extra, encoding="utf-8")
    rng = np.random.default_rng(5)
    n = 60
    df = pd.DataFrame({"rid": np.arange(1, n + 1), "region": rng.integers(1, 3, n),
                       **{c: rng.integers(1, 11, n) for c in ("complaint_handling", "quality",
                                                              "cusa", "value")},
                       "complained": rng.integers(1, 3, n)})
    data = tmp_path / "responses.csv"
    df.to_csv(data, index=False)
    return qpath, data


def test_cli_refuses_an_ambiguous_outcome_before_any_notebook_runs(tmp_path, capsys):
    from surveykit import cli

    qpath, data = _files(tmp_path)
    out = tmp_path / "out"
    rc = cli.main(["report", "--questionnaire", str(qpath), "--data", str(data),
                   "--segment-by", "region", "--out", str(out), "--workers", "1"])
    err = capsys.readouterr().err
    assert rc == 2 and "cannot tell which question is the outcome" in err
    assert "complaint_handling (How satisfied are you with how your complaint was handled?)" \
        in err
    assert not list(out.glob("*.html")) and "Traceback" not in err


@pytest.mark.parametrize(("args", "fragment"), [
    (["--param", "colour=red"], "unknown notebook parameter 'colour'"),
    (["--param", "=1"], "--param '=1': write NAME=VALUE"),
    (["--param", "min_base=20"], "'min_base' is set by the report runner, not by --param: use "
                                 "--min-base on the command line (or run_report's min_base=)"),
    (["--spec", "SPEC"], "unknown report spec field(s) 'colour'"),
    (["--spec", "MISSING"], "does not exist"),
])
def test_cli_spec_and_params_are_validated(tmp_path, capsys, args, fragment):
    from surveykit import cli

    qpath, data = _files(tmp_path)
    (tmp_path / "spec.yaml").write_text("outcome: cusa\ncolour: red\n", encoding="utf-8")
    args = [{"SPEC": str(tmp_path / "spec.yaml"),
             "MISSING": str(tmp_path / "nope.yaml")}.get(a, a) for a in args]
    rc = cli.main(["report", "--questionnaire", str(qpath), "--data", str(data),
                   "--segment-by", "region", "--out", str(tmp_path / "out"), *args])
    assert rc == 2 and fragment in capsys.readouterr().err


def test_cli_parses_params_as_yaml_values():
    from surveykit.cli import build_parser, parse_params

    args = build_parser().parse_args(["report", "--questionnaire", "q", "--data", "d",
                                      "--segment-by", "s", "--param", "alpha=0.1",
                                      "--param", "spec={outcome: cusa}", "--spec", "x.yaml"])
    assert parse_params(args.param) == {"alpha": 0.1, "spec": {"outcome": "cusa"}}
    assert str(args.spec) == "x.yaml"


# -- every bundled questionnaire ------------------------------------------------------------
BUNDLED = sorted(p for p in (Path(__file__).resolve().parents[1] / "questionnaires")
                 .glob("*.yaml") if not p.name.endswith((".truth.yaml", ".codeframe.yaml")))


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_bundled_questionnaires_declare_their_report_and_the_fallback_agrees_or_refuses(path):
    from surveykit.questionnaire import load_questionnaire

    q = load_questionnaire(path)
    assert q.model.report is not None and q.model.report.outcome, path.name
    declared = ReportSpec.resolve(q, segment_by=q.roles.segments[0])
    assert declared.source == "declared" and declared.notes == []
    assert declared.metrics and declared.outcome == q.model.report.outcome
    bare = copy.copy(q)
    bare.model = q.model.model_copy(update={"report": None})
    try:
        guessed = ReportSpec.resolve(bare, segment_by=q.roles.segments[0])
    except ReportError as exc:      # refused: the message lists every candidate
        assert "cannot tell which question is the outcome" in str(exc)
        assert f"{declared.outcome} (" in str(exc)
    else:                           # or the guess is the declared outcome, and says so
        assert guessed.outcome == declared.outcome
        assert any(n.startswith(f"outcome = {declared.outcome}") for n in guessed.notes)
