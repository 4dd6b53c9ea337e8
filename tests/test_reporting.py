"""Reporting: safe names, parameter checks, offline export, findings text, and the real
pipeline end to end on a small fixture survey (tests/fixtures/reporting/)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import quote

import nbformat
import numpy as np
import pandas as pd
import pytest

from surveykit import cli
from surveykit.errors import ReportError
from surveykit.estimates import estimate, margin_of_error
from surveykit.reporting import (
    ReportSpec,
    SegmentFindings,
    check_parameters,
    export_html,
    failure_page,
    index_html,
    inside,
    remote_references,
    run_report,
    safe_name,
    unique_names,
)
from surveykit.reporting.narrative import fmt_diff, fmt_p, fmt_value
from surveykit.reporting.overview import Overview, write_tabbook
from surveykit.reporting.runner import DEFAULT_NOTEBOOK, _finish
from surveykit.survey import Survey

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures" / "reporting"
Q, DATA, TARGETS, CRM = (FIX / n for n in ("questionnaire.yaml", "responses.csv",
                                           "targets.yaml", "crm.csv"))
NOTEBOOKS = [ROOT / "surveykit" / "reporting" / "notebooks" / "segment_findings.ipynb",
             ROOT / "surveykit" / "reporting" / "notebooks" / "overview.ipynb"]
XSS = '<script>alert("pwned")</script>'
EMAIL = "secret.person@example.com"
PNG_1PX = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJ"
           "RU5ErkJggg==")


# ------------------------------------------------------------------------------------------
# names
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("../../etc", "etc"),
    ("..", "segment"),
    ("", "segment"),
    ("a/b c", "a-b-c"),
    ("a\\b", "a-b"),
    ("中文 客户", "中文-客户"),
    ("index", "index-segment"),
    ("CON", "CON-segment"),
    (1.0, "1"),
    ("x\x00y\ny", "xyy"),
    (".hidden", "hidden"),
])
def test_safe_name(text, expected):
    assert safe_name(text) == expected


def test_safe_name_is_bounded_and_unique_names_dedupe():
    assert len(safe_name("é" * 500)) == 60
    assert unique_names(["a/b", "a b", "A-B", "x"]) == ["a-b", "a-b-2", "A-B-3", "x"]


def test_inside_refuses_escapes(tmp_path):
    assert inside(tmp_path, "a.html") == (tmp_path / "a.html").resolve()
    with pytest.raises(ReportError, match="outside"):
        inside(tmp_path, "../x.html")


# ------------------------------------------------------------------------------------------
# parameters
# ------------------------------------------------------------------------------------------
def test_notebooks_are_committed_without_outputs_and_declare_the_parameters():
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert code, path
        assert all(c.outputs == [] and c.execution_count is None for c in code), path
        tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, path
    import papermill

    params = papermill.inspect_notebook(str(NOTEBOOKS[0]))
    for name in ("questionnaire", "data", "targets", "crm", "segment_by", "segment", "out",
                 "min_base", "prepared", "spec"):
        assert name in params
    overview = papermill.inspect_notebook(str(NOTEBOOKS[1]))
    assert set(params) - set(overview) == {"segment"}


def test_unknown_parameter_is_refused_naming_it_and_the_known_ones():
    with pytest.raises(ReportError) as err:
        check_parameters(DEFAULT_NOTEBOOK, ["segment", "colour"])
    msg = str(err.value)
    assert "'colour'" in msg and "segment_by" in msg and "min_base" in msg


def test_notebook_without_parameters_cell_is_refused(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    path = tmp_path / "plain.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(ReportError, match="parameters"):
        check_parameters(path, ["segment"])


def test_run_report_refuses_bad_arguments_before_running(tmp_path):
    common = dict(targets=TARGETS, segment_by="segment", out=tmp_path / "r", progress=False)
    with pytest.raises(ReportError, match="workers"):
        run_report(Q, DATA, workers=0, **common)
    with pytest.raises(ReportError, match="min_base"):
        run_report(Q, DATA, min_base=0, **common)
    with pytest.raises(ReportError, match="'colour'"):
        run_report(Q, DATA, parameters={"colour": "red"}, **common)
    with pytest.raises(ReportError, match="set by the report runner, not by --param"):
        run_report(Q, DATA, parameters={"segment": 1}, **common)
    with pytest.raises(ReportError, match="does not exist"):
        run_report(Q, FIX / "nope.csv", **common)
    with pytest.raises(ReportError, match="available: .*中文 客户"):
        run_report(Q, DATA, segments=["nope"], **common)
    with pytest.raises(ReportError, match="not in the prepared data"):
        run_report(Q, DATA, **{**common, "segment_by": "colour"})
    assert not list((tmp_path / "r").glob("*.html"))


# ------------------------------------------------------------------------------------------
# offline export
# ------------------------------------------------------------------------------------------
def test_remote_references_finds_scripts_styles_and_imports():
    page = ('<script src="https://cdn.x/require.js"></script>'
            '<link rel="stylesheet" href="//fonts.x/css">'
            '<style>@import url("http://x/y.css")</style><img src="http://x/a.png">')
    found = " ".join(remote_references(page))
    for kind in ("<script", "<link", "@import", "<img"):
        assert kind in found
    assert remote_references('<p>&lt;script src="http://x"&gt;</p><a href="http://x">x</a>') == []


def _notebook_with_outputs(extra_html: str = "") -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    md = nbformat.v4.new_markdown_cell("## A heading\n\nSome narrative.")
    code = nbformat.v4.new_code_cell("secret_code_marker = 1\nprint('x')")
    code.outputs = [
        nbformat.v4.new_output("display_data", data={
            "text/html": f"<p>shown result</p>{extra_html}", "text/plain": "r"}),
        nbformat.v4.new_output("stream", name="stderr", text="a warning nobody should see"),
        nbformat.v4.new_output("display_data", data={
            "image/png": PNG_1PX,
            "text/plain": "<Figure>"}),
    ]
    nb.cells = [md, code]
    return nb


def test_export_html_is_self_contained_without_code(tmp_path):
    page = export_html(_notebook_with_outputs(), tmp_path / "r.html", title="A <title>")
    text = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert text == page
    assert remote_references(text) == []
    assert "<script" not in text                      # no require.js / MathJax at all
    assert "secret_code_marker" not in text          # code hidden
    assert "a warning nobody should see" not in text  # stderr left to the notebook
    assert "shown result" in text and "A heading" in text
    assert "data:image/png;base64,iVBORw0KGgo" in text  # chart embedded
    assert "<title>A &lt;title&gt;</title>" in text
    assert (tmp_path / "r.html").stat().st_mode & 0o044  # readable by others (umask)


def test_export_refuses_an_output_that_loads_from_the_network(tmp_path):
    nb = _notebook_with_outputs('<script src="https://cdn.example/x.js"></script>')
    with pytest.raises(ReportError, match="network"):
        export_html(nb, tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


def test_failure_page_and_index_escape_text():
    page = failure_page("<b>seg</b>", f"ValueError: {XSS}", details="\x1b[31mred\x1b[0m")
    assert XSS not in page and "&lt;script&gt;" in page and "\x1b" not in page
    assert remote_references(page) == []
    segs = [{"label": "<i>x</i>", "html": "a b.html", "base": 12, "status": "failed",
             "error": XSS, "low_base": True, "weighted_share": 0.5,
             "headline": {"metrics": [{"key": "nps", "label": "NPS", "estimate": 5.0,
                                       "display": "+5", "sig": "higher"}]}}]
    idx = index_html("T <t>", segs)
    assert XSS not in idx and "<i>x</i>" not in idx
    assert 'href="a%20b.html"' in idx and "low base" in idx and "failed" in idx
    assert '<span class="sk-good" title="">+5&nbsp;&#9650;</span>' in idx
    worse = [{**segs[0], "headline": {"metrics": [
        {"key": "complaint", "label": "Complaint rate", "estimate": 0.3, "display": "30%",
         "sig": "higher", "higher_is_better": False}]}}]
    assert '<span class="sk-bad" title="">30%&nbsp;&#9650;</span>' in index_html("T", worse)


# ------------------------------------------------------------------------------------------
# narrative
# ------------------------------------------------------------------------------------------
def test_number_formats():
    assert fmt_value(0.4234, "percent") == "42%"
    assert fmt_value(-0.001, "percent") == "0%"
    assert fmt_value(12.4, "nps") == "+12" and fmt_value(-0.3, "nps") == "0"
    assert fmt_value(7.25, "mean") == "7.2" and fmt_value(np.nan, "mean") == "n/a"
    assert fmt_diff(0.062, "percent") == "+6 points" and fmt_diff(-0.04, "mean") == "0.0"
    assert fmt_p(0.0004) == "p < 0.001" and fmt_p(0.0123) == "p = 0.012"
    # closed form: 1.96 * sqrt(.25 / 400) = 0.049
    assert margin_of_error(400) == pytest.approx(1.959963984540054 * 0.025)


# ------------------------------------------------------------------------------------------
# Survey and findings (in process)
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def survey():
    return Survey.from_files(Q, DATA, targets=TARGETS, crm=CRM)


def test_survey_prepares_without_personal_data_and_leaves_input_alone(tmp_path):
    raw = pd.read_csv(DATA)
    before = raw.copy()
    s = Survey.from_files(Q, raw, targets=TARGETS)
    pd.testing.assert_frame_equal(raw, before)
    assert "email" not in s.data and "customer_id" not in s.data
    assert s.weights == "weight" and s.data["weight"].sum() == pytest.approx(len(s.data))
    s.save(tmp_path / "prep")
    back = Survey.load(tmp_path / "prep")
    pd.testing.assert_frame_equal(back.data, s.data, check_dtype=False)
    assert back.questionnaire.id == "fixture_shop"


def test_survey_hands_data_and_weights_to_plain_dataframe_functions(survey):
    got = survey.apply(estimate, "nps", stat="nps", by="segment")
    want = estimate(survey.data, "nps", stat="nps", by="segment", weights="weight")
    # the same estimates, with the questionnaire's group labels beside the codes
    pd.testing.assert_frame_equal(got.drop(columns="label"), want)
    labels = survey.labels("segment")
    assert got["label"].tolist() == [labels.get(g, str(g)) for g in got["group"]]
    sub = survey.subset("segment", "a/b c")
    assert len(sub.data) == int(df_mask(survey, "a/b c").sum()) and len(survey.data) == 320
    assert survey.labels("value_tier") == {1: "low", 2: "medium", 3: "high"}
    with pytest.raises(ReportError, match="segment variable 'nope'"):
        survey.segment_mask("nope", 1)


def test_spec_infers_the_demo_questionnaire_and_refuses_unknown_keys():
    import copy

    from surveykit.questionnaire import load_questionnaire

    q = load_questionnaire(ROOT / "questionnaires" / "pc_customers.yaml")
    # the demo's report: block removed: inference finds what the block declares
    bare = copy.copy(q)
    bare.model = q.model.model_copy(update={"report": None})
    spec = ReportSpec.resolve(bare, segment_by="segment")
    assert spec.source == "inferred" and spec.outcome == "overall_sat"
    assert spec.loyalty == ["nps", "repurchase"]
    assert any(n.startswith("outcome = overall_sat") for n in spec.notes)
    assert spec.drivers == list(q.roles.drivers) and "svc_speed" in spec.drivers
    assert spec.battery == q.columns_of("attr") and len(spec.battery) == 14
    assert "svc_speed" in spec.attributes and spec.channels == ["channel"]
    # the variables that define a segment are its definition, not its profile
    assert spec.profile == ["gender", "occupation", "it_role", "region"]
    assert spec.sources == ["info_sources"] and "pain_points" in spec.pain_points
    assert spec.open_text == ["pain_text"] and "segment" not in spec.profile
    assert [m.key for m in spec.metrics] == ["overall_sat", "nps", "repurchase", "complaint"]
    assert spec.metrics[2].codes == (5, 4) and spec.metrics[3].codes == (1,)
    assert not spec.metrics[3].higher_is_better
    with pytest.raises(ReportError, match="colour"):
        ReportSpec.resolve(q, overrides={"colour": "red"})


def test_key_metrics_equal_the_package_estimates(survey):
    f = SegmentFindings(survey, "segment", "../../etc", min_base=30)
    head = f.headline()
    df, seg = survey.data, df_mask(survey, "../../etc")
    nps = estimate(df, "nps", stat="nps", weights="weight", by="segment")
    row = nps[nps["group"] == "../../etc"].iloc[0]
    got = {m["key"]: m for m in head["metrics"]}
    assert got["nps"]["estimate"] == pytest.approx(row["estimate"])
    assert got["nps"]["n"] == row["n"] == int(seg.sum())
    assert got["nps"]["ci_low"] == pytest.approx(row["ci_low"])
    tot = estimate(df, "overall_sat", weights="weight")["estimate"].iloc[0]
    assert got["overall_sat"]["total"] == pytest.approx(tot)
    # repurchase = share in the top two codes (4, 5), complaint = share of "Yes" (1)
    w = df["weight"].to_numpy()
    r = df["repurchase"].to_numpy()
    ok = seg & np.isfinite(r)
    assert got["repurchase"]["estimate"] == pytest.approx(
        np.average(np.isin(r[ok], [4, 5]), weights=w[ok]))
    c = df["complaint"].to_numpy()
    ok = seg & np.isfinite(c)
    assert got["complaint"]["estimate"] == pytest.approx(np.average(c[ok] == 1, weights=w[ok]))
    assert head["base"] == int(seg.sum())
    assert head["weighted_share"] == pytest.approx(w[seg].sum() / w.sum())


def df_mask(survey, value):
    return (survey.data["segment"] == value).to_numpy()


def test_every_section_opens_with_findings_and_flags_low_bases(survey):
    f = SegmentFindings(survey, "segment", "tiny", min_base=30)
    assert f.n == 15 and f.low_base
    sections = [f.profile(), f.key_metrics(), f.attributes(), f.drivers(), f.pain_points(),
                f.channels(), f.value_lifecycle(), f.recommendations(), f.method_note()]
    for s in sections:
        assert 1 <= len(s.findings), s.key
    text = " ".join(" ".join(s.findings) for s in sections)
    assert text.count("low base") >= 3
    km = sections[1]
    assert "not tested" in " ".join(km.findings)
    assert all(v == "low base" for v in km.to_frame()["Test vs rest"])
    html = km._repr_html_()
    assert 'class="sk-lowbase"' in html


def test_section_html_escapes_labels_and_open_text(survey):
    f = SegmentFindings(survey, "segment", "../../etc", min_base=30)
    pain = f.pain_points()._repr_html_()
    assert XSS not in pain and "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in pain
    prof = f.profile()._repr_html_()
    assert "<b>East</b>" not in prof and "&lt;b&gt;East&lt;/b&gt; &amp; co" in prof


def test_method_note_reports_the_effective_base_and_margin_of_error(survey):
    from surveykit.estimates import effective_n

    f = SegmentFindings(survey, "segment", "a/b c", min_base=30)
    m = f.method_note()
    w = survey.data["weight"].to_numpy()[df_mask(survey, "a/b c")]
    assert m.data["n_eff"] == pytest.approx(effective_n(w))
    assert m.data["moe"] == pytest.approx(1.959963984540054 * np.sqrt(0.25 / effective_n(w)))
    assert f"±{100 * m.data['moe']:.1f} points" in " ".join(m.findings)


# ------------------------------------------------------------------------------------------
# the real pipeline, once for the module
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pipeline(report_pipeline):
    """`surveykit report` on the fixture, with a notebook copy that fails one segment
    (run once per session in tests/conftest.py; tests/test_browser.py reuses it)."""
    return report_pipeline


def _html(pipeline, value) -> str:
    return (pipeline["out"] / pipeline["by_value"][value]["html"]).read_text(encoding="utf-8")


@pytest.mark.slow
def test_pipeline_writes_one_page_per_segment_plus_index(pipeline):
    out = pipeline["out"]
    segs = pipeline["manifest"]["segments"]
    assert [s["value"] for s in segs] == ["../../etc", "a/b c", "中文 客户", "tiny"]
    pages = sorted(p.name for p in out.glob("*.html"))
    assert pages == sorted(["index.html", "overview.html", *(s["html"] for s in segs)])
    assert {s["html"] for s in segs} == {"etc.html", "a-b-c.html", "中文-客户.html",
                                         "tiny-Tiny.html"}
    for s in segs:  # executed notebooks kept beside the HTML
        assert (out / s["notebook"]).is_file()
    index = (out / "index.html").read_text(encoding="utf-8")
    for s in segs:
        assert f'href="{quote(s["html"])}"' in index
    # the segmenting variable's label mid-title and mid-sentence: lower-cased as a word
    assert "findings by customer segment</h1>" in index
    assert f"respondents; {len(segs)} segments of customer segment;" in index
    # the whole-sample overview ran too, and the index links to it
    ov = pipeline["manifest"]["run"]["overview"]
    assert ov["status"] == "ok" and 'href="overview.html"' in index
    page = (out / "overview.html").read_text(encoding="utf-8")
    for key in ("segment_comparison", "weighting", "factor_structure", "banner"):
        assert f'data-section="{key}"' in page
    # the fixture declares no constructs: no reliability heading, and the page says why
    assert 'data-section="reliability"' not in page and "Reliability</h2>" not in page
    assert "Not shown: Reliability, because the questionnaire declares no constructs" in page


@pytest.mark.slow
def test_pipeline_pages_are_offline_and_show_no_code(pipeline):
    for value in ("../../etc", "中文 客户"):  # charts inline: attributes and IPA grid
        page = _html(pipeline, value)
        assert page.count('<div class="sk-figure"><svg ') >= 2
        assert 'aria-label="Key drivers and where to act chart"' in page
    for page in pipeline["out"].glob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"<script[^>]+src=[\"']?(https?:)?//", text, re.I), page
        assert not re.search(r"<link[^>]+href=[\"']?(https?:)?//", text, re.I), page
        assert remote_references(text) == [], page
        for code in ("findings.profile()", "open_survey(", "import ", "SegmentFindings("):
            assert code not in text, (page, code)
        assert "jp-InputArea-editor" not in text and "highlight hl-ipython3" not in text


@pytest.mark.slow
def test_pipeline_report_prints_the_package_estimates(pipeline):
    survey = Survey.from_files(Q, DATA, targets=TARGETS, crm=CRM)
    for value in ("../../etc", "中文 客户"):
        page = _html(pipeline, value)
        n = int(df_mask(survey, value).sum())
        nps = estimate(survey.data, "nps", stat="nps", weights="weight", by="segment")
        row = nps[nps["group"] == value].iloc[0]
        assert f"base n = {n:,}" in page
        section = page.split('data-section="key_metrics"')[1].split('data-section=')[0]
        cells = re.findall(r"<td[^>]*>(.*?)</td>", section)
        i = next(k for k, c in enumerate(cells) if c.startswith("NPS"))
        assert cells[i + 1] == fmt_value(row["estimate"], "nps")
        assert cells[i + 2] == (f"{fmt_value(row['ci_low'], 'nps')} to "
                                f"{fmt_value(row['ci_high'], 'nps')}")
        assert cells[i + 6] == f"{int(row['n']):,}"
        assert pipeline["by_value"][value]["base"] == n
        head = {m["key"]: m for m in pipeline["by_value"][value]["headline"]["metrics"]}
        assert head["nps"]["estimate"] == pytest.approx(row["estimate"])


@pytest.mark.slow
def test_pipeline_failure_is_isolated_and_exits_non_zero(pipeline):
    assert pipeline["rc"] == 1
    seg = pipeline["by_value"][pipeline["fail_segment"]]
    assert seg["status"] == "failed" and "forced failure for the test" in seg["error"]
    assert pipeline["manifest"]["run"]["ok"] is False
    page = _html(pipeline, pipeline["fail_segment"])
    assert "could not be produced" in page and "forced failure for the test" in page
    others = [s for s in pipeline["manifest"]["segments"] if s["value"] != pipeline["fail_segment"]]
    assert all(s["status"] == "ok" and s["seconds"] > 0 for s in others)
    for s in others:
        page = _html(pipeline, s["value"])
        assert 'data-section="method"' in page and "could not be produced" not in page
    index = (pipeline["out"] / "index.html").read_text(encoding="utf-8")
    assert "1 of 4 segment reports failed" in index


@pytest.mark.slow
def test_pipeline_escapes_open_text_and_keeps_paths_inside(pipeline):
    out, base = pipeline["out"], pipeline["base"]
    page = _html(pipeline, "../../etc")
    assert re.search(r"&lt;script&gt;alert\((&quot;|\")pwned(&quot;|\")\)&lt;/script&gt;", page)
    for p in out.rglob("*"):
        if p.is_file():
            assert out.resolve() in p.resolve().parents
            if p.suffix in (".html", ".json", ".ipynb"):
                text = p.read_text(encoding="utf-8")
                assert EMAIL not in text, p          # pii: true never appears
                if p.suffix == ".html":
                    assert XSS not in text, p
    assert not (base / "etc").exists() and not (out.parent.parent / "etc.html").exists()
    assert not (out / "_prepared").exists()           # respondent data not shipped


@pytest.mark.slow
def test_pipeline_flags_the_low_base_segment(pipeline):
    tiny = pipeline["by_value"]["tiny"]
    assert tiny["low_base"] and tiny["base"] == 15
    page = _html(pipeline, "tiny")
    assert page.count('class="sk-lowbase"') >= 3 and "not tested" in page


@pytest.mark.slow
def test_pipeline_writes_the_overviews_banner_tables_as_a_tab_book(pipeline, survey):
    import openpyxl

    out = pipeline["out"]
    rows = Overview(survey, "segment", min_base=30).banner_rows()
    entry = pipeline["manifest"]["run"]["tabbook"]
    assert entry["path"] == "tabbook.xlsx" and entry["status"] == "ok"
    assert entry["error"] is None and entry["questions"] == rows
    wb = openpyxl.load_workbook(out / "tabbook.xlsx")
    # a sheet per banner question, nothing else, named from its label, in the banner's order
    toc = list(wb["Contents"].iter_rows(min_row=2, max_col=3, values_only=True))[:len(rows)]
    sheet_of = {qid: name for name, qid, _ in toc}
    assert list(sheet_of) == rows
    assert wb.sheetnames == ["Contents", *sheet_of.values()]
    assert sheet_of == Overview(survey, "segment", min_base=30).banner().sheet_names()
    for name, qid, label in toc:
        words = " ".join(re.sub(r"[\[\]:*?/\\]", " ", label).split())   # Excel-valid
        assert name != qid and len(name) <= 31 and words.startswith(name), (name, label)
    overview = (out / "overview.html").read_text(encoding="utf-8")
    banner = overview.split('data-section="banner"')[1]
    assert banner.count('<table class="sk-banner">') == len(rows)   # the same tables
    ws = wb[sheet_of["nps"]]
    cells = [list(r) for r in ws.iter_rows(values_only=True)]
    col = cells[2].index("中文 客户 (C)")          # header row: segment label (letter)
    base = next(r for r in cells if r[0] == "Base (unweighted)")
    mask = df_mask(survey, "中文 客户") & survey.data["nps"].notna().to_numpy()
    assert base[col] == int(mask.sum()) == pipeline["by_value"]["中文 客户"]["base"]
    assert base[cells[2].index("Tiny (D)")] == 15
    nps = estimate(survey.data, "nps", stat="nps", weights="weight", by="segment")
    want = nps.loc[nps["group"] == "中文 客户", "estimate"].iloc[0]
    # same weights; the cell holds the whole number the page shows
    assert next(r for r in cells if r[0] == "NPS")[col] == float(round(want))
    assert any("alpha = 0.05" in str(r[0]) for r in cells)
    assert any(str(r[0]).startswith("* base under 30") for r in cells)   # same min_base
    assert EMAIL not in " ".join(str(v) for w in wb for r in w.iter_rows(values_only=True)
                                 for v in r)
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'Tab book (Excel): <a href="tabbook.xlsx">tabbook.xlsx</a>' in index


def test_a_failed_tab_book_is_recorded_and_fails_the_run_without_raising(survey, tmp_path):
    path = tmp_path / "tabbook.xlsx"
    path.write_bytes(b"an older run's tab book")
    entry = write_tabbook(survey, XSS, path)               # not a variable of the survey
    assert entry["status"] == "failed" and entry["path"] is None
    assert entry["error"].startswith("TableError: ") and XSS in entry["error"]
    assert not path.exists()                               # no stale tab book left behind
    assert write_tabbook(survey, "segment", tmp_path)["error"].startswith("IsADirectoryError")
    none = write_tabbook(survey, "segment", tmp_path / "x.xlsx", spec={"banner": []})
    assert none["status"] == "skipped" and not (tmp_path / "x.xlsx").exists()
    # what the run records: manifest, index, result (the command then exits 1)
    seg = {"value": 1, "label": "one", "status": "ok", "seconds": 1.0, "base": 320,
           "weighted_share": 1.0, "low_base": False, "error": None, "html": "one.html",
           "headline": {}}
    paths = dict.fromkeys(("questionnaire", "data", "targets", "crm"))
    result = _finish(survey, [seg], None, paths, tmp_path, 0.0, "now", 0.0, "segment", 1, 60,
                     30, DEFAULT_NOTEBOOK, {}, 0, entry)
    assert not result.ok and result.failed == [entry] and result.tabbook == entry
    run = json.loads(result.manifest_path.read_text(encoding="utf-8"))["run"]
    assert run["ok"] is False and run["tabbook"]["error"] == entry["error"]
    index = result.index_path.read_text(encoding="utf-8")
    assert XSS not in index and "&lt;script&gt;" in index
    assert "Tab book (Excel): not written (failed): TableError" in index
    assert 'href="tabbook.xlsx"' not in index
    ok = {**entry, "status": "ok", "path": "tabbook.xlsx", "error": None}
    assert _finish(survey, [seg], None, paths, tmp_path, 0.0, "now", 0.0, "segment", 1, 60,
                   30, DEFAULT_NOTEBOOK, {}, 0, ok).ok


def test_cli_report_has_the_documented_options():
    parser = cli.build_parser()
    args = parser.parse_args(["report", "--questionnaire", "q", "--data", "d",
                              "--segment-by", "s", "--segments", "1", "2", "--workers", "3"])
    assert args.segments == ["1", "2"] and args.workers == 3 and args.notebook is None


# ------------------------------------------------------------------------------------------
# timeouts and kernel start-up retries (a minimal notebook: fast)
# ------------------------------------------------------------------------------------------
def _minimal_notebook(path: Path, body: str) -> Path:
    params = nbformat.v4.new_code_cell(
        "".join(f"{n} = None\n" for n in ("questionnaire", "data", "targets", "crm",
                                          "prepared", "spec", "segment"))
        + "segment_by = 'segment'\nout = '.'\nmin_base = 30")
    params.metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=[params, nbformat.v4.new_code_cell(body)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)
    return path


@pytest.mark.slow
def test_timeout_and_notebook_errors_fail_only_their_segment(tmp_path):
    nb = _minimal_notebook(tmp_path / "slow.ipynb",
                           "import time\nif segment == 'tiny':\n    time.sleep(60)\n"
                           "if segment == '../../etc':\n    raise ValueError('bad ' + segment)\n"
                           "print('done', segment)")
    r = run_report(Q, DATA, segment_by="segment", segments=["tiny", "a/b c", "../../etc"],
                   workers=1, timeout=4, out=tmp_path / "out", notebook=nb, progress=False,
                   overview=False)
    tiny, ok, err = r.segments
    assert not r.ok
    assert tiny["status"] == "timeout" and "4 s timeout" in tiny["error"]
    assert tiny["seconds"] < 30
    # the timed-out kernel was replaced by a fresh one (one start), which then stays warm
    assert ok["status"] == "ok" and ok["attempts"] == 1
    assert "done a/b c" in (tmp_path / "out" / ok["html"]).read_text(encoding="utf-8")
    # a notebook error is not a start-up failure: no retry, the warm kernel is reused
    assert err["status"] == "failed" and err["attempts"] == 0
    assert err["error"] == "ValueError: bad ../../etc"
    kept = nbformat.read(tmp_path / "out" / err["notebook"], as_version=4)
    assert any(o.get("output_type") == "error" for c in kept.cells for o in c.get("outputs", []))
    assert "bad ../../etc" in (tmp_path / "out" / err["html"]).read_text(encoding="utf-8")


def _kernelspec(root: Path, name: str, script: str) -> None:
    import sys

    d = root / "kernels" / name
    d.mkdir(parents=True)
    (d / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-c", script, "{connection_file}"],
        "display_name": name, "language": "python"}), encoding="utf-8")


@pytest.mark.slow
def test_kernel_start_up_failure_is_retried_once(tmp_path, monkeypatch):
    marker = tmp_path / "first-start-happened"
    flaky = ("import os, sys\n"
             f"m = {str(marker)!r}\n"
             "if not os.path.exists(m):\n"
             "    open(m, 'w').close()\n"
             "    sys.exit('simulated start-up crash')\n"
             "from ipykernel import kernelapp\n"
             "kernelapp.launch_new_instance(argv=['-f', sys.argv[1]])\n")
    _kernelspec(tmp_path / "jp", "flaky", flaky)
    _kernelspec(tmp_path / "jp", "broken", "import sys; sys.exit('never starts')")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jp"))
    nb = _minimal_notebook(tmp_path / "m.ipynb", "print('ran', segment)")
    common = dict(segment_by="segment", segments=["tiny"], workers=1, timeout=60,
                  start_timeout=20, notebook=nb, progress=False, overview=False)
    r = run_report(Q, DATA, out=tmp_path / "a", kernel_name="flaky", **common)
    assert r.ok and r.segments[0]["attempts"] == 2 and marker.exists()
    r = run_report(Q, DATA, out=tmp_path / "b", kernel_name="broken", **common)
    seg = r.segments[0]
    assert not r.ok and seg["status"] == "failed"
    assert "did not start (2 attempts)" in seg["error"]
    assert "did not start" in (tmp_path / "b" / seg["html"]).read_text(encoding="utf-8")


@pytest.mark.slow
def test_a_dying_worker_process_fails_only_its_own_segment(tmp_path, monkeypatch):
    import sys

    from surveykit.reporting.worker import execute_all

    monkeypatch.syspath_prepend(str(FIX))  # spawned workers import the stand-in by name
    monkeypatch.delitem(sys.modules, "dying", raising=False)
    from dying import run_or_die

    values = ["../../etc", "tiny", "a/b c", "中文 客户"]
    jobs = [{"parameters": {"segment": v}, "title": f"{v}: findings",
             "html": str(tmp_path / f"{i}.html")} for i, v in enumerate(values)]
    entries = [{"label": v, "status": "pending"} for v in values]
    execute_all(jobs, entries, workers=2, progress=False, run=run_or_die)
    status = {e["label"]: e["status"] for e in entries}
    assert status == {"../../etc": "ok", "tiny": "failed", "a/b c": "ok", "中文 客户": "ok"}
    tiny = entries[1]
    assert "worker process failed" in tiny["error"]
    assert "could not be produced" in (tmp_path / "1.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_pipeline_output_works_from_a_zip_elsewhere(pipeline, tmp_path):
    import zipfile
    from urllib.parse import unquote

    out = pipeline["out"]
    archive = tmp_path / "reports.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for p in out.rglob("*"):
            z.write(p, p.relative_to(out))
    dest = tmp_path / "unzipped"
    with zipfile.ZipFile(archive) as z:
        z.extractall(dest)
    pages = list(dest.glob("*.html"))
    assert len(pages) == 6
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "file://" not in text and str(out) not in text
        for href in re.findall(r'href="([^"#]+)"', text):
            assert not re.match(r"[a-z]+:", href), (page.name, href)  # relative links only
            assert (dest / unquote(href)).is_file(), (page.name, href)


def test_demo_reports_name_each_segments_true_top_drivers(demo_survey, demo_truth):
    """The drivers section of every demo segment puts the simulator's declared top-2 first."""
    for code, top in demo_truth["drivers"]["top"].items():
        section = SegmentFindings(demo_survey, "segment", int(code)).drivers()
        table = section.data["ipa"].table.sort_values("importance", ascending=False)
        assert list(table["driver"][:len(top)]) == top, code
        assert section.findings[0].startswith("The strongest drivers of overall satisfaction")


def test_as_of_sets_the_crm_lifecycle_reference_date():
    crm = pd.read_csv(CRM)
    late = pd.to_datetime(crm["last_purchase"]).max() + pd.Timedelta(days=400)
    s = Survey.from_files(Q, DATA, targets=TARGETS, crm=CRM, as_of=late.date().isoformat())
    assert f"lifecycle stages as of {late.date()}" in " ".join(s.meta["crm_notes"])
    stages = s.data["lifecycle"].dropna().map(s.labels("lifecycle"))
    assert len(stages) > 0 and set(stages) == {"churned"}   # 400 days after the last purchase
    default = Survey.from_files(Q, DATA, targets=TARGETS, crm=CRM)
    assert "latest purchase in the CRM extract" in " ".join(default.meta["crm_notes"])
    assert set(default.data["lifecycle"].dropna().map(default.labels("lifecycle"))) != {"churned"}
    section = SegmentFindings(s, "segment", "tiny").value_lifecycle()
    assert f"lifecycle stages as of {late.date()}" in section.notes
    with pytest.raises(ReportError, match="as_of 'next tuesday' is not a date"):
        Survey.from_files(Q, DATA, crm=CRM, as_of="next tuesday")
