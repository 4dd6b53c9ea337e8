"""The path model (PLS) in the reports, on the bundled satisfaction-index survey (which
declares its ECSI model in ``paths:``) and on the PC customer survey (which declares none).

``surveykit report`` runs once on the satisfaction-index survey (real notebooks, real
kernels); the tests read the pages it wrote and check them against estimates made here
independently: the overview's path coefficients equal ``pls_from_questionnaire``'s to the
two decimals shown, its index table equals the weighted means of the respondents' index
scores by segment, and each segment page's act-here sentence names the constructs its own
importance-performance map puts there. Without ``paths:`` the sections are absent and the
pages say why.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
QPATH = ROOT / "questionnaires" / "satisfaction_index.yaml"
DATA = ROOT / "data" / "satisfaction_index"
SEGMENT_TITLE = "Index scores and where to act (path model)"
OVERVIEW_TITLE = "Path model and index scores"


@pytest.fixture(scope="module")
def survey():
    from surveykit.survey import Survey

    return Survey.from_files(QPATH, DATA / "responses.csv", targets=DATA / "targets.yaml")


@pytest.fixture(scope="module")
def reference(survey):
    """The whole-sample model, fitted here without the report's code."""
    from surveykit.pls import pls_from_questionnaire

    return pls_from_questionnaire(survey.data, survey.questionnaire, weights=survey.weights)


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> dict:
    from surveykit import cli

    out = tmp_path_factory.mktemp("pls_report") / "reports"
    rc = cli.main(["report", "--questionnaire", str(QPATH),
                   "--data", str(DATA / "responses.csv"),
                   "--targets", str(DATA / "targets.yaml"),
                   "--segment-by", "cust_type", "--workers", "2", "--out", str(out)])
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    pages = {s["value"]: (out / s["html"]).read_text(encoding="utf-8")
             for s in manifest["segments"]}
    return {"rc": rc, "manifest": manifest, "pages": pages, "out": out,
            "overview": (out / "overview.html").read_text(encoding="utf-8")}


def _section(page: str, key: str) -> str | None:
    parts = re.split(r'(?=<div class="sk-section" data-section=")', page)
    return next((p for p in parts if p.startswith(f'<div class="sk-section" data-section="'
                                                  f'{key}"')), None)


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


def _table(section: str, caption_start: str) -> pd.DataFrame:
    """The table whose caption starts with ``caption_start``, as text (folded rows too)."""
    for m in re.finditer(r"<table class=\"sk-table\"><caption>(.*?)</caption>(.*?)</table>"
                         r"(?:</div><details class=\"sk-more\">.*?<tbody>(.*?)</tbody>)?",
                         section, flags=re.S):
        if not _text(m.group(1)).startswith(caption_start):
            continue
        head = [_text(h) for h in re.findall(r"<th[^>]*>(.*?)</th>", m.group(2), flags=re.S)]
        body = m.group(2).split("<tbody>", 1)[1] + (m.group(3) or "")
        rows = [[_text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", r, flags=re.S)]
                for r in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)]
        return pd.DataFrame(rows, columns=head)
    raise AssertionError(f"no table captioned {caption_start!r}")


def _findings(section: str) -> list[str]:
    block = re.search(r'<div class="sk-findings"><ul>(.*?)</ul>', section, flags=re.S)
    return [_text(li) for li in re.findall(r"<li>(.*?)</li>", block.group(1), flags=re.S)]


def _wmean(x: pd.Series, w: np.ndarray) -> float:
    ok = x.notna().to_numpy()
    return float(np.sum(x.to_numpy()[ok] * w[ok]) / np.sum(w[ok]))


def test_the_run_writes_every_page_with_the_path_model(run):
    assert run["rc"] == 0, run["manifest"]
    assert all(s["status"] == "ok" for s in run["manifest"]["segments"])
    assert _section(run["overview"], "path_model") is not None
    assert f"2. {OVERVIEW_TITLE}</h2>" in run["overview"]        # numbered in its place
    for page in run["pages"].values():
        sec = _section(page, "path_model")
        assert sec is not None and f". {SEGMENT_TITLE}</h2>" in sec
        numbers = [int(n) for n in re.findall(r"<h2>(\d+)\. ", page)]
        assert numbers == list(range(1, len(numbers) + 1))
        assert re.search(r'<svg [^>]*aria-label="Index scores and where to act', sec) and \
            "<img" not in sec                                           # the IPMA chart, SVG


def test_overview_paths_are_plss_to_the_shown_rounding(run, reference):
    sec = _section(run["overview"], "path_model")
    assert re.search(r'<svg [^>]*aria-label="Path model and index scores chart"', sec) \
        and "<img" not in sec                                         # the path diagram, SVG
    shown = _table(sec, "Structural paths")
    label = reference.label
    expect = {(label(r["from"]), label(r["to"])): f"{r['estimate']:.2f}"
              for _, r in reference.inner_model.iterrows()}
    got = dict(zip(zip(shown["From"], shown["To"], strict=True), shown["Path coefficient"],
                   strict=True))
    assert got == expect
    target = reference.constructs.set_index("construct").loc["loyalty"]
    assert f"(R² = {target['r2']:.2f})" in _findings(sec)[0]
    assert "200 bootstrap replicates (seed 14)" in sec


def test_overview_index_table_is_the_weighted_mean_of_the_index_scores(run, reference,
                                                                       survey):
    sec = _section(run["overview"], "path_model")
    shown = _table(sec, "Index scores (0-100) by customer type").set_index("Segment")
    w = survey.weight_array()
    idx = reference.index_scores
    labels = survey.labels("cust_type")
    for c in reference.spec.constructs:
        col = shown[reference.label(c)].str.lstrip("▲▼ ")
        assert col["Total"] == f"{_wmean(idx[c], w):.1f}"
        for code, name in labels.items():
            m = survey.segment_mask("cust_type", code).to_numpy()
            assert col[name] == f"{_wmean(idx[c][m], w[m]):.1f}", (c, name)
    # base: respondents with an index score (min_items answered), more than the complete
    assert shown.loc["Total", "Base (n)"] == f"{int(idx.notna().sum().max()):,}" == "2,500"
    # the sentence names the highest and lowest segment of the target's column as the
    # findings page names a segment ("among Home users", "in the Free segment")
    from surveykit.reporting.narrative import SegmentName

    line = next(f for f in _findings(sec) if " index: highest " in f)
    col = shown[line.split(" index: ")[0]].drop("Total").str.lstrip("▲▼ ")
    best, worst = col.astype(float).idxmax(), col.astype(float).idxmin()
    assert (f"index: highest {SegmentName.of(best).among} ({col[best]}), lowest "
            f"{SegmentName.of(worst).among} ({col[worst]}); total "
            f"{shown.loc['Total', line.split(' index: ')[0]].lstrip('▲▼ ')}.") in line
    assert reference.n == 2037


def test_each_segment_shows_its_index_vs_total_and_names_its_act_here(run, reference,
                                                                      survey):
    from surveykit.pls import pls_from_questionnaire

    w = survey.weight_array()
    idx = reference.index_scores
    acts_seen = 0
    for code, page in run["pages"].items():
        sec = _section(page, "path_model")
        m = survey.segment_mask("cust_type", code).to_numpy()
        perf = {c: _wmean(idx[c][m], w[m]) for c in reference.spec.constructs}
        shown = _table(sec, "Index scores (0-100)").set_index("Construct")
        for c in reference.spec.constructs:
            row = shown.loc[reference.label(c)]
            assert row["Segment index"] == f"{perf[c]:.1f}"
            assert row["Total"] == f"{_wmean(idx[c], w):.1f}"
            assert re.match(r"^(▲ |▼ )?p [<=] ", row["Test vs rest"]), row["Test vs rest"]
        seg = pls_from_questionnaire(survey.data[m], survey.questionnaire,
                                     weights=survey.weights)
        ip = seg.ipma("satisfaction", performance=perf)      # report: ipma_target
        assert set(ip.table["construct"]) == {"image", "expectations", "quality", "value"}
        sentence = next(f for f in _findings(sec)
                        if f.startswith(("Act here on", "No construct falls")))
        if ip.act_here:
            acts_seen += 1
            named = [reference.label(c)[0].lower() + reference.label(c)[1:]
                     for c in ip.act_here]
            assert sentence.startswith("Act here on " + named[0]), sentence
            for c, name in zip(ip.act_here, named, strict=True):
                assert name in sentence
                assert (f"total effect {ip.table.set_index('construct').loc[c, 'total_effect']:.2f}"
                        in sentence)
        else:
            assert sentence.startswith("No construct falls in the act-here quadrant")
        others = [c for c in ip.table["construct"] if c not in ip.act_here]
        quadrants = _table(sec, "Importance for customer satisfaction") \
            .set_index("Construct")["Quadrant"]
        assert {reference.label(c) for c in ip.act_here} == set(
            quadrants[quadrants == "Act here"].index)
        assert all(quadrants[reference.label(c)] != "Act here" for c in others)
        assert "Welch t-test on effective bases of the respondents' index scores" in page
        summary = " ".join(_findings(_section(page, "summary")))
        assert (f"Customer satisfaction index {perf['satisfaction']:.1f} vs "
                f"{_wmean(idx['satisfaction'], w):.1f} in total, significantly") in summary
        assert ("on the path model, act first on" in summary) == bool(ip.act_here)
    assert acts_seen >= 1        # the data put at least one segment's construct there


def test_without_paths_the_sections_are_absent_and_the_pages_say_why(demo_survey):
    from surveykit.reporting import Overview, SegmentFindings

    why = "the questionnaire declares no path model (paths:)"
    f = SegmentFindings(demo_survey, "segment", 2)
    assert "path_model" not in f.sections() and f.section("path_model") is None
    assert f"Left out: {SEGMENT_TITLE}, because {why}." in f.section("method").notes
    assert not any("PLS" in t for t in f.section("method").technical)
    ov = Overview(demo_survey, "segment")
    assert "path_model" not in ov.sections() and ov.section("path_model") is None
    assert f"Not shown: {OVERVIEW_TITLE}, because {why}." in ov.header_html()


def test_the_report_model_is_the_same_on_every_page(survey):
    from surveykit.reporting.path_model import whole_model

    a, b = whole_model(survey), whole_model(survey)
    pd.testing.assert_frame_equal(a.inner_model, b.inner_model)
    assert a.boot == 200 and a.seed == 14


def test_ipma_performance_override_places_the_constructs(reference):
    perf = {c: 50.0 + k for k, c in enumerate(reference.spec.constructs)}
    ip = reference.ipma("loyalty", performance=perf)
    assert ip.table["performance"].tolist() == [perf[c] for c in ip.table["construct"]]
    assert ip.target_performance == perf["loyalty"]
    assert ip.performance_cut == pytest.approx(np.mean([perf[c] for c in ip.table["construct"]]))
    from surveykit.errors import PLSError

    with pytest.raises(PLSError, match="performance lacks 'loyalty'"):
        reference.ipma("loyalty", performance={c: 1.0 for c in perf if c != "loyalty"})


def test_a_low_base_segment_gets_its_index_untested_and_no_map(survey):
    from surveykit.reporting import SegmentFindings

    f = SegmentFindings(survey, "cust_type", 1, min_base=600)
    sec = f.section("path_model")
    assert sec is not None and sec.data["ipma"] is None
    # 462 scored (min_items answered), 387 with every item (what the map would need)
    assert "low base (n = 462, under 600): indicative only, not tested" in sec.findings[0]
    assert sec.findings[1].startswith("Too few respondents with every item of the model "
                                      "(n = 387, under 600: the minimum base)")
    assert set(sec.tables[0][1]["Test vs rest"]) == {"low base"} and len(sec.tables) == 1
    assert not any("Importance-performance map" in t for t in f.section("method").technical)


def test_the_index_page_shows_the_headline_index_as_on_the_overview(run, reference, survey):
    """The satisfaction index per segment on the index page (manifest and HTML) equals the
    overview's index table and the segment page's table: one computation."""
    shown = _table(_section(run["overview"], "path_model"),
                   "Index scores (0-100) by customer type").set_index("Segment")
    col = shown["Customer satisfaction"].str.lstrip("▲▼ ")
    w = survey.weight_array()
    index_page = (Path(run["out"]) / "index.html").read_text(encoding="utf-8")
    assert "Customer satisfaction index (path model)</th>" in index_page
    for s in run["manifest"]["segments"]:
        m = next(m for m in s["headline"]["metrics"]
                 if m["key"] == "__pls_index_satisfaction")
        mask = survey.segment_mask("cust_type", s["value"]).to_numpy()
        expect = _wmean(reference.index_scores["satisfaction"][mask], w[mask])
        assert m["display"] == col[s["label"]] == f"{expect:.1f}"
        assert m["total_display"] == col["Total"]
        page_row = _table(_section(run["pages"][s["value"]], "path_model"),
                          "Index scores (0-100)").set_index("Construct") \
            .loc["Customer satisfaction"]
        assert page_row["Segment index"] == m["display"]
        head = [_text(h) for h in re.findall(r"<th[^>]*>(.*?)</th>", index_page, flags=re.S)]
        row = next(r for r in re.findall(r"<tr>(.*?)</tr>", index_page, flags=re.S)
                   if f">{html.escape(s['label'])}</a>" in r)
        cells = [_text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)]
        cell = cells[head.index("Customer satisfaction index (path model)")]
        assert cell.split("\xa0")[0] == m["display"], cell
    tot = next(m for m in s["headline"]["total"] if m["key"] == "__pls_index_satisfaction")
    assert tot["display"] == col["Total"]


def test_report_target_rule():
    """ipma_target when declared; else the construct holding the outcome; else the
    endogenous construct with most predecessors (satisfaction: 4, loyalty: 2)."""
    from types import SimpleNamespace

    from surveykit.questionnaire import load_questionnaire
    from surveykit.reporting.path_model import report_target

    q = load_questionnaire(QPATH)
    res = SimpleNamespace(spec=SimpleNamespace(
        constructs=["image", "expectations", "quality", "value", "satisfaction", "loyalty"],
        endogenous=["expectations", "quality", "value", "satisfaction", "loyalty"],
        path=np.array([[0, 0, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0],
                       [0, 1, 1, 0, 0, 0], [1, 1, 1, 1, 0, 0], [1, 0, 0, 0, 1, 0]])))

    def with_report(**kw):
        rep = q.model.report.model_copy(update=kw)
        return SimpleNamespace(model=SimpleNamespace(report=rep),
                               construct_items=q.construct_items)

    assert report_target(res, q) == "satisfaction"                       # declared
    assert report_target(res, with_report(ipma_target="value")) == "value"
    assert report_target(res, with_report(ipma_target=None,
                                          outcome="loy_recommend")) == "loyalty"
    assert report_target(res, with_report(ipma_target=None, outcome="complained")) \
        == "satisfaction"                                                # most predecessors


def test_ipma_target_must_be_an_endogenous_construct():
    from surveykit.errors import SurveykitError
    from surveykit.questionnaire import questionnaire_from_text

    text = QPATH.read_text(encoding="utf-8").replace("ipma_target: satisfaction",
                                                     "ipma_target: image")
    with pytest.raises(SurveykitError, match="ipma_target 'image' is not an endogenous"):
        questionnaire_from_text(text)
