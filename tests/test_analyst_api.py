"""The analyst's notebook API (issue 12): labels not codes, one result API, no leaks."""

from __future__ import annotations

from pathlib import Path

import pytest

from surveykit import estimates
from surveykit.drivers import key_drivers
from surveykit.survey import Survey

ROOT = Path(__file__).resolve().parents[1]
Q = ROOT / "questionnaires" / "pc_customers.yaml"
DATA = ROOT / "data" / "demo" / "responses.csv"
TARGETS = ROOT / "data" / "demo" / "targets.yaml"


@pytest.fixture(scope="module")
def survey() -> Survey:
    return Survey.from_files(Q, DATA, targets=TARGETS)


def test_estimate_by_segment_through_survey_apply_has_labels_beside_codes(survey):
    t = survey.apply(estimates.estimate, "nps", stat="nps", by="segment")
    assert list(t.columns[t.columns.get_loc("group"):][:2]) == ["group", "label"]
    assert t.set_index("group")["label"].to_dict()[1] == "Students"
    plain = estimates.estimate(survey.data, "nps", stat="nps", weights="weight", by="segment")
    assert "label" not in plain.columns    # the plain function is unchanged
    assert plain["estimate"].tolist() == t["estimate"].tolist()


def test_key_drivers_by_segment_as_a_labelled_driver_by_segment_grid(survey):
    res = survey.apply(key_drivers, "overall_sat", survey.questionnaire.roles.drivers,
                       by="segment")
    grid = res.wide()
    assert grid.columns[0] == "Total" and "Students" in grid.columns
    assert "Processor (CPU) performance" in grid.index
    assert grid.shape == (len(survey.questionnaire.roles.drivers), 7)
    assert grid["Total"].sum() == pytest.approx(1.0)
    ids = res.wide(labels=False)
    assert "sat_cpu" in ids.index and 1 in ids.columns
    assert set(res.to_frame()["driver"]) == set(survey.questionnaire.roles.drivers)


def test_weighting_report_summary_is_text_with_labels_and_no_minus_zero(survey):
    rep = survey.weighting
    text = rep.summary()
    assert isinstance(text, str)
    assert "City tier" in text and "efficiency 0.68" in text and "e-" not in text
    raw = rep.summary_frame()
    assert raw["converged"] and raw["n"] == rep.n    # raw numbers stay available
    html = rep._repr_html_()
    assert "City tier" in html and "Tier 1 city" in html
    assert "-0.00" not in html and "e-1" not in html
    assert "region" in set(rep.to_frame()["variable"])   # to_frame keeps names and codes


def test_overview_weighting_section_reads_the_summary_frame(survey):
    from surveykit.reporting.overview import Overview

    sec = Overview(survey, "segment").weighting()
    assert "raked to" in sec.findings[0] and "city tier" in sec.findings[0]  # mid-sentence


def test_survey_questionnaire_and_check_have_short_displays(survey):
    from surveykit.responses import check_responses, read_responses

    html = survey._repr_html_()
    assert "<table" in html and "3,994" in html and "City tier" in html and len(html) < 3000
    qh = survey.questionnaire._repr_html_()
    assert "pc_customers" in qh and "constructs" in qh and len(qh) < 3000
    q = survey.questionnaire
    check = check_responses(q, read_responses(DATA, q))
    text = repr(check)
    assert text.startswith("CheckResult(") and "\n" not in text and "errors=42" in text


def test_profile_of_a_segment_with_an_empty_routed_group_leaks_no_warning(survey):
    import warnings

    from surveykit.reporting.findings import SegmentFindings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning (RuntimeWarning from numpy...) fails
        for seg in range(1, 7):
            SegmentFindings(survey, "segment", seg).profile()


def test_the_analyst_flows_leak_no_warning(survey):
    """Issue 12 item 6: the README and tutorial calls, the measurement functions on the
    questionnaire, and estimates of routed questions by segment, with every warning an
    error (the empty groups of a routed question are stated in the result instead)."""
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    from surveykit import measurement as m
    from surveykit.drivers import importance_performance
    from surveykit.questionnaire import load_questionnaire
    from surveykit.responses import check_responses, clean, read_responses
    from surveykit.tables import banner
    from surveykit.weighting import load_targets, rake

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        q = load_questionnaire(Q)
        raw = read_responses(DATA, q)
        check = check_responses(q, raw)
        assert isinstance(check.summary(), str) and "<table" in check._repr_html_()
        df, _ = clean(q, raw, check)
        report = rake(df, load_targets(TARGETS), missing="exclude").with_labels(q)
        report.summary()
        df["weight"] = report.weights
        estimates.estimate(df, "nps", stat="nps", weights="weight", by="segment")
        key_drivers(df, "overall_sat", q.roles.drivers, weights="weight", by="segment").top(2, 3)
        survey._repr_html_()
        q._repr_html_()
        banner(survey.data, ["overall_sat", "nps"], "segment", weights=survey.weights,
               questionnaire=q)._repr_html_()
        m.reliability_table(survey.data, q, weights=survey.weights)
        for f in (m.kmo, m.bartlett, m.parallel_analysis):
            f(survey.data, q, weights=survey.weights)._repr_html_()
        m.parallel_analysis(survey.data, q.roles.drivers, weights=survey.weights).plot()
        fa = m.efa(survey.data, q, 8, weights=survey.weights)
        fa.plot()
        assert "Missing data: pairwise" in fa.summary()
        drivers = survey.apply(key_drivers, "overall_sat", q.roles.drivers, by="segment")
        drivers.wide()
        drivers.plot()
        survey.apply(importance_performance, "overall_sat", q.roles.drivers[:6]).plot()
        # gender is asked of consumers only: the business segments 4-6 have no answer
        gender = survey.apply(estimates.estimate, "gender", by="segment")
        assert gender.attrs["empty_groups"] == {"gender by segment": [4, 5, 6]}
        assert set(gender["group"]) == {1, 2, 3}
        cmp_ = estimates.compare(survey.data, "gender", by="segment", weights=survey.weights,
                                 stat="proportion", codes=[1], reference="total")
        assert cmp_.attrs["empty_groups"] == {"gender by segment": [4, 5, 6]}


def test_every_findings_section_of_every_segment_leaks_no_warning(survey):
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    from surveykit.reporting.findings import SegmentFindings
    from surveykit.reporting.overview import Overview

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pages = [SegmentFindings(survey, "segment", seg) for seg in range(1, 7)]
        pages.append(Overview(survey, "segment"))
        for page in pages:
            for key in [*page.FRONT, *page.SECTIONS]:
                sec = page.section(key)
                if sec is not None:
                    sec._repr_html_()


@pytest.mark.slow
def test_readme_analyst_snippet_prints_what_the_readme_shows():
    import re
    import subprocess
    import sys

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### For analysts"):readme.index("### For stakeholders")]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    shown = re.search(r"```text\n(.*?)```", section, re.S).group(1)
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout == shown
