"""The whole report pipeline on every bundled survey of another kind (employee engagement,
digital product feedback, an ECSI-style satisfaction index): the report fits the
questionnaire it is given.

For each survey, ``surveykit report`` runs once (real notebooks, real kernels) and the
tests assert: every page is written; the drivers section analyses the declared outcome;
no section is empty; each section is present exactly when the questionnaire's ``report:``
block gives it inputs; the tab book is not empty; and the truth's top driver of each
segment leads that segment's driver table.
"""

from __future__ import annotations

import json
import re
from html import escape
from pathlib import Path

import pytest

from surveykit.reporting.narrative import SegmentName

ROOT = Path(__file__).resolve().parents[1]
SURVEYS = ("employee_engagement", "product_feedback", "satisfaction_index")
SECTION_TITLES = {"profile": "Profile", "key_metrics": "Key metrics",
                  "attributes": "Attribute satisfaction", "constructs": "Construct scores",
                  "drivers": "Key drivers and where to act", "pain_points": "Pain points",
                  "channels": "Channels and information sources",
                  "value_lifecycle": "Value tier and lifecycle",
                  "recommendations": "Recommendations", "method": "Method note"}


@pytest.fixture(scope="module", params=SURVEYS)
def run(request, tmp_path_factory) -> dict:
    from surveykit import cli
    from surveykit.questionnaire import load_questionnaire

    name = request.param
    qpath = ROOT / "questionnaires" / f"{name}.yaml"
    data = ROOT / "data" / name
    q = load_questionnaire(qpath)
    out = tmp_path_factory.mktemp(name) / "reports"
    rc = cli.main(["report", "--questionnaire", str(qpath),
                   "--data", str(data / "responses.csv"),
                   "--targets", str(data / "targets.yaml"),
                   "--segment-by", q.roles.segments[0], "--workers", "2",
                   "--out", str(out)])
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    truth = json.loads((data / "truth.json").read_text(encoding="utf-8"))
    return {"name": name, "rc": rc, "out": out, "q": q, "manifest": manifest,
            "truth": truth}


def _pages(run):
    return {s["value"]: (run["out"] / s["html"]).read_text(encoding="utf-8")
            for s in run["manifest"]["segments"]}


def _sections(page: str) -> dict[str, str]:
    """``data-section`` key -> that section's HTML."""
    parts = re.split(r'(?=<div class="sk-section" data-section=")', page)
    out = {}
    for part in parts[1:]:
        key = re.match(r'<div class="sk-section" data-section="([^"]+)"', part).group(1)
        out[key] = part
    return out


def test_every_page_is_written(run):
    assert run["rc"] == 0, run["manifest"]
    assert run["manifest"]["run"]["overview"]["status"] == "ok"
    assert all(s["status"] == "ok" for s in run["manifest"]["segments"])
    assert len(run["manifest"]["segments"]) >= 3


def test_sections_are_present_exactly_when_their_inputs_exist(run):
    rep, q = run["q"].model.report, run["q"]
    expect = {"profile", "method", "recommendations", "key_metrics"}
    if rep.attributes:
        expect.add("attributes")
    if q.constructs and rep.constructs != []:
        expect.add("constructs")
    if rep.outcome:
        expect.add("drivers")
    if rep.pain_points or rep.open_text:
        expect.add("pain_points")
    if rep.channels or rep.sources:
        expect.add("channels")
    for value, page in _pages(run).items():
        sections = _sections(page)
        assert set(sections) & set(SECTION_TITLES) == expect, \
            (run["name"], value, set(sections) ^ expect)
        headings = re.findall(r"<h2>(?:(\d+)\. )?([^<]+)</h2>", page)
        numbers = [int(n) for n, _ in headings if n]
        assert numbers == list(range(1, len(numbers) + 1))       # numbered without gaps
        titles = {t for _, t in headings}
        assert titles & set(SECTION_TITLES.values()) == {SECTION_TITLES[k] for k in expect}
        for key, html in sections.items():           # no empty section
            assert '<div class="sk-findings"><ul><li>' in html, (run["name"], value, key)
        missing = set(SECTION_TITLES) - expect
        for key in missing:                           # each absence is explained
            assert f"Left out: {SECTION_TITLES[key]}, because" in page, key


def test_the_drivers_section_analyses_the_declared_outcome(run):
    q = run["q"]
    label = q.variable(q.model.report.outcome).label
    low = label[0].lower() + label[1:] if not label[:2].isupper() else label
    for seg in run["manifest"]["segments"]:       # the segment named as its sentences do
        drivers = _sections((run["out"] / seg["html"]).read_text(encoding="utf-8"))["drivers"]
        among = escape(SegmentName.of(seg["label"]).among)
        assert f"The strongest drivers of {low} {among} are" in drivers


def test_the_truths_top_driver_leads_each_segments_driver_table(run, request):
    from surveykit.reporting import SegmentFindings
    from surveykit.survey import Survey

    data = ROOT / "data" / run["name"]
    survey = Survey.from_files(ROOT / "questionnaires" / f"{run['name']}.yaml",
                               data / "responses.csv", targets=data / "targets.yaml")
    latent = run["truth"]["latent_variables"]
    construct_of = {item: name for name, lv in latent.items() for item in lv["items"]}
    seg = run["q"].roles.segments[0]
    for code, truth in run["truth"]["drivers"]["by_segment"].items():
        if code == "Total":
            continue
        f = SegmentFindings(survey, seg, int(code))
        table = f.drivers().data["ipa"].table.sort_values("importance", ascending=False)
        top = table["driver"].iloc[0]
        # item-level truths name the item; construct-level truths name its construct
        assert truth["ranking"][0] in (top, construct_of.get(top)), (run["name"], code, top)


def test_the_tab_book_is_not_empty(run):
    import openpyxl

    entry = run["manifest"]["run"]["tabbook"]
    assert entry["status"] == "ok" and len(entry["questions"]) >= 5
    wb = openpyxl.load_workbook(run["out"] / "tabbook.xlsx", read_only=True)
    assert len(wb.sheetnames) == len(entry["questions"]) + 1


def test_coded_themes_fill_the_pain_points_where_a_codeframe_sits_beside(run):
    """product_feedback has a codeframe: every page's pain points show the coded themes
    (shares vs total); the others show answers as written."""
    from surveykit.text import codeframe_path

    coded = codeframe_path(ROOT / "questionnaires" / f"{run['name']}.yaml").is_file()
    for value, page in _pages(run).items():
        html = _sections(page).get("pain_points", "")
        assert ("Themes in &#x27;" in html or "Themes in '" in html) == coded, (run["name"], value)
