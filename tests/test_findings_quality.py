"""Findings a stakeholder can trust (issue 10): on the demo survey's pages, every number in
a findings sentence is in its section's tables, the "largest gap" sentences name the rows
with the largest differences, every difference shown equals the segment value shown minus
the total shown, no cell reads "-0", and no page shows a code artefact.

The pages are the ones the report notebooks display: the header and every section of each
demo segment (rendered by the same objects, in process, with the demo's CRM extract), the
overview's stakeholder part and the index built from the segments' headlines. The executed
notebooks of the real pipeline are checked for warnings on the fixture survey.
"""

from __future__ import annotations

import html
import json
import re
import warnings

import pytest

from surveykit._util import lower_first
from surveykit.reporting import SegmentFindings
from surveykit.reporting.index import index_html
from surveykit.reporting.overview import Overview

CODES = range(1, 7)  # the six demo segments


# ------------------------------------------------------------------------------------------
# the demo pages, rendered once
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo(demo_dir, pc_path):
    from surveykit.survey import Survey

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        survey = Survey.from_files(pc_path, demo_dir / "responses.csv",
                                   targets=demo_dir / "targets.yaml",
                                   crm=demo_dir / "crm.csv", as_of="2026-11-01")
    pages, heads = {}, []
    for code in CODES:
        f = SegmentFindings(survey, "segment", code)
        keys = ["summary", "recommendations", *[k for k in f.sections()
                                                if k != "recommendations"]]
        sections = {k: f.section(k) for k in keys}
        page = f.header_html() + "".join(s._repr_html_() for s in sections.values())
        pages[f.label] = {"html": page, "sections": sections}
        head = f.headline()
        heads.append({"label": f.label, "status": "ok", "html": f"{code}.html",
                      "base": head["base"], "weighted_share": head["weighted_share"],
                      "low_base": head["low_base"], "headline": head})
    ov = Overview(survey, "segment")
    overview = ov.header_html() + "".join(ov.section(k)._repr_html_() for k in ov.sections()) \
        + ov.appendix_html()
    total = {"base": f"{len(survey.data):,}"}
    for m in heads[0]["headline"]["total"]:
        total[m["key"]] = m
    index = index_html("Demo: findings by segment", heads, total=total)
    return {"pages": pages, "overview": overview, "index": index, "heads": heads}


def _text(fragment: str) -> str:
    """Visible text of an HTML fragment (tags dropped, entities decoded)."""
    fragment = re.sub(r"<(style|script)\b.*?</\1>", " ", fragment, flags=re.S)
    fragment = re.sub(r'src="data:[^"]*"', "", fragment)
    return html.unescape(re.sub(r"<[^>]+>", " ", fragment))


def _sections(page: str) -> dict[str, str]:
    parts = re.split(r'(?=<div class="sk-section" data-section=")', page)
    return {re.match(r'<div class="sk-section" data-section="([^"]+)"', p).group(1): p
            for p in parts[1:]}


def _findings(section_html: str) -> list[str]:
    box = re.search(r'<div class="sk-findings"><ul>(.*?)</ul></div>', section_html, re.S)
    return [_text(li).strip() for li in re.findall(r"<li>(.*?)</li>", box.group(1), re.S)] \
        if box else []


def _tables(fragment: str) -> list[tuple[list[str], list[list[str]]]]:
    """Every ``sk-table``, its folded rows (the closed block after it) included: header
    cells and rows of cell text."""
    fragment = re.sub(r'</tbody></table></div><details class="sk-more"><summary>.*?</summary>'
                      r'<div class="sk-scroll"><table class="sk-table"><thead>.*?</thead><tbody>',
                      "", fragment, flags=re.S)
    out = []
    for t in re.findall(r'<table class="sk-table">(.*?)</table>', fragment, re.S):
        head = [_text(h).strip() for h in re.findall(r"<th[^>]*>(.*?)</th>", t, re.S)]
        rows = [[_text(c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]
                for r in re.findall(r"<tr>(.*?)</tr>", t.split("</thead>")[-1], re.S)]
        out.append((head, rows))
    return out


def _table_text(section_html: str) -> str:
    """What the section's tables and tiles show (captions and folded rows included)."""
    parts = re.findall(r'<div class="sk-tiles">.*?</div></div></div>', section_html, re.S)
    parts += re.findall(r'<table class="sk-table">.*?</table>', section_html, re.S)
    return " ".join(_text(p) for p in parts)


#: numbers a sentence may hold without a table cell: counts ("13 of 22", "all 4"), scale
#: ranges, the minimum base, the test level, approximations ("about 5 false alarms")
_CONTEXT = [r"\b\d[\d,]* of (?:the )?\d[\d,]*", r"\ball \d+", r"\d+(?:\.\d+)?-\d+(?:\.\d+)? scale",
            r"under \d+", r"\d+% (?:level|confidence|CI)", r"about \d+", r"\(\d+-\d+\)",
            r"\b\d+ (?=(?:constructs?|attributes?|key metrics?|answers?|drivers?|respondents?)\b)"]
_NUMBER = re.compile(r"(?<![\w.])[-+±]?\d[\d,]*(?:\.\d+)?%?")


def _numbers(text: str) -> list[str]:
    for rx in _CONTEXT:
        text = re.sub(rx, " ", text)
    return [_norm(n) for n in _NUMBER.findall(text)]


def _norm(token: str) -> str:
    return token.lstrip("+±").rstrip("%").replace(",", "").replace("−", "-")


def _value(cell: str) -> float | None:
    m = re.search(r"[-+−]?\d[\d,]*(?:\.\d+)?", cell)
    return float(m.group(0).replace(",", "").replace("−", "-")) if m else None


def _decimals(cell: str) -> int:
    m = re.search(r"\d\.(\d+)", cell)
    return len(m.group(1)) if m else 0


# ------------------------------------------------------------------------------------------
# a sentence is a view of a table
# ------------------------------------------------------------------------------------------
def test_every_number_in_a_findings_sentence_is_in_its_sections_tables(demo):
    checked = 0
    for label, page in demo["pages"].items():
        sections = _sections(page["html"])
        everything = " ".join(_table_text(s) for s in sections.values())
        for key, sec in sections.items():
            # the summary and the recommendations quote the tables further down the page
            shown = set(_numbers(everything if key in ("summary", "recommendations")
                                 else _table_text(sec)))
            for sentence in _findings(sec):
                for number in _numbers(sentence):
                    checked += 1
                    assert number in shown or number.lstrip("-") in shown, \
                        (label, key, number, sentence)
    assert checked > 500


def test_the_summary_opens_each_report_with_tiles_and_three_to_five_sentences(demo):
    for label, page in demo["pages"].items():
        text = page["html"]
        order = [m.group(1) for m in re.finditer(r'data-section="([^"]+)"', text)]
        assert order[:3] == ["summary", "recommendations", "profile"], label
        summary = page["sections"]["summary"]
        assert 3 <= len(summary.findings) <= 5, (label, summary.findings)
        assert [t["label"] for t in summary.tiles] == ["Overall satisfaction", "NPS",
                                                      "Repurchase intent", "Complaint rate"]
        joined = " ".join(summary.findings)
        assert "drives" in joined and ("Act first on" in joined or "pain point" in joined)


def _gap_rows(table, word):
    """(label, displayed difference) of the rows significantly above / below the total."""
    head, rows = table
    d, t = head.index("Difference"), head.index("Test vs rest")
    arrow = "▲" if word == "above" else "▼"
    return [(r[0], _value(r[d])) for r in rows if r[t].startswith(arrow)]


def test_largest_gap_sentences_name_the_largest_differences(demo):
    named = 0
    for label, page in demo["pages"].items():
        sections = _sections(page["html"])
        for key in ("attributes", "constructs"):
            table = _tables(sections[key])[0]
            for sentence in _findings(sections[key]):
                for word, n, m, listed in re.findall(
                        r"significantly (above|below) the rest of the sample on (\d+) of (\d+) "
                        r"\w+, most on (.*?)(?:;|\.$)", sentence):
                    rows = _gap_rows(table, word)
                    assert int(n) == len(rows) and int(m) == len(table[1]), (label, sentence)
                    names = re.findall(r"(.+?) \(([-+]\d+\.\d)\)(?:, | and |$)", listed)
                    assert len(names) == min(3, len(rows)), (label, listed)
                    got = {lower_first(lab): v for lab, v in rows}  # named mid-sentence
                    for name, diff in names:
                        assert got[name] == float(diff), (label, name)
                    rest = [abs(v) for lab, v in rows if lower_first(lab) not in dict(names)]
                    assert min(abs(float(v)) for _, v in names) >= max(rest, default=0), \
                        (label, key, sentence)
                    named += 1
        # the summary's attribute sentence names the two largest gaps on its side
        attr = _tables(sections["attributes"])[0]
        for sentence in _findings(sections["summary"]):
            m = re.match(r"They rate (\d+) of \d+ attributes significantly (above|below) the "
                         r"rest of the sample, most of all (.*?)(?:;|\.$)", sentence)
            if not m:
                continue
            rows = _gap_rows(attr, m.group(2))
            assert int(m.group(1)) == len(rows)
            shown = re.findall(r"(.+?) \((\d+\.\d) vs (\d+\.\d)\)(?:, | and |$)", m.group(3))
            top = sorted(abs(v) for _, v in rows)[-len(shown):]
            for _, seg, tot in shown:
                assert round(abs(float(seg) - float(tot)), 1) >= min(top), sentence
            named += 1
        # pain points and channels: the significant answers named are the largest gaps
        for key in ("pain_points", "channels"):
            for sentence in _findings(sections[key]):
                m = re.match(r"(\d+) of (\d+) answers differs? significantly.*?: (.*)\.$",
                             sentence)
                if not m:
                    continue
                diffs = [abs(int(v)) for v in re.findall(r"often, ([-+]\d+) points?", sentence)]
                tables = [t for t in _tables(sections[key]) if len(t[1]) == int(m.group(2))]
                head, rows = next(t for t in tables if sum(
                    r[t[0].index("Test vs rest")][:1] in "▲▼" for r in t[1]) == int(m.group(1)))
                d = head.index("Difference (points)")
                sig = sorted((abs(_value(r[d])) for r in rows
                              if r[head.index("Test vs rest")][:1] in "▲▼"), reverse=True)
                assert sorted(diffs, reverse=True) == sig[:len(diffs)], (label, sentence)
                named += 1
    assert named >= 12


def test_recommendations_close_the_largest_gap_shown(demo):
    for label, page in demo["pages"].items():
        rec = " ".join(page["sections"]["recommendations"].findings)
        m = re.search(r"Close the largest gap, on (.+?): (\d+\.\d) vs (\d+\.\d) in total "
                      r"\(([-+]\d+\.\d),", rec)
        if not m:
            continue
        assert round(float(m.group(2)) - float(m.group(3)), 1) == float(m.group(4))
        rows = _gap_rows(_tables(_sections(page["html"])["attributes"])[0], "below")
        assert abs(float(m.group(4))) == max(abs(v) for _, v in rows), label


# ------------------------------------------------------------------------------------------
# differences as displayed, and no signed zero
# ------------------------------------------------------------------------------------------
def _all_pages(demo):
    yield "index", demo["index"]
    yield "overview", demo["overview"]
    for label, page in demo["pages"].items():
        yield label, page["html"]


def test_every_difference_shown_is_the_segment_shown_minus_the_total_shown(demo):
    rows_checked = 0
    for name, page in _all_pages(demo):
        for head, rows in _tables(page):
            seg = next((i for i, h in enumerate(head) if h in ("Segment", "Segment mean")), None)
            diff = next((i for i, h in enumerate(head) if h.startswith("Difference")), None)
            if seg is None or diff is None or "Total" not in head:
                continue
            tot = head.index("Total")
            for r in rows:
                if _value(r[seg]) is None or _value(r[tot]) is None:
                    continue
                digits = max(_decimals(r[seg]), _decimals(r[tot]))
                want = round(_value(r[seg]) - _value(r[tot]), digits)
                assert _value(r[diff]) == want, (name, r)
                assert _decimals(r[diff]) == digits, (name, r)
                rows_checked += 1
    assert rows_checked > 400


def test_no_cell_or_sentence_reads_minus_zero(demo):
    minus_zero = re.compile(r"(?<![\w.\-])[-−]0(?:\.0+)?(?![\d.])")
    for name, page in _all_pages(demo):
        text = _text(page)
        assert not minus_zero.search(text), (name, minus_zero.search(text).group(0))


# ------------------------------------------------------------------------------------------
# no code artefacts, and the pieces a stakeholder reads first
# ------------------------------------------------------------------------------------------
def test_pages_show_no_code_artefacts(demo, pc_questionnaire):
    ids = {v for v in pc_questionnaire.variables() if "_" in v}
    for name, page in _all_pages(demo):
        text = _text(page)
        assert "(s)" not in text, name
        assert not re.search(r"\(mean \(", text), name
        rest = re.sub(r"p [=<≥] [01]\.\d+", "", text)
        assert not re.search(r"(?<![\w.])\d+\.\d{3,}", rest), \
            (name, re.search(r"(?<![\w.])\d+\.\d{3,}", rest))
        captions = " ".join(_text(c) for c in re.findall(r"<caption>(.*?)</caption>", page))
        for v in ids:
            assert not re.search(rf"\b{v}\b", captions), (name, v)
        for _head, rows in _tables(page):   # table labels start with a capital
            for r in rows:
                assert not r[0][:1].islower(), (name, r[0])


def _theme_order(section) -> list[str]:
    """Theme labels of a pain-point section's theme table, highest share first."""
    table = next(t for c, t in section.tables if c.startswith("Themes in"))
    return table["Answer"].tolist()


def test_long_tables_fold_their_other_rows_and_verbatims_illustrate_the_top_pain(demo):
    for label, page in demo["pages"].items():
        sections = _sections(page["html"])
        attr = sections["attributes"]
        if '<details class="sk-more">' in attr:   # every significant row stays in view
            folded = attr.split('<details class="sk-more">')[1].split("</details>")[0]
            assert "▲" not in _text(folded) and "▼" not in _text(folded), label
            assert "<details open" not in attr
        pain = page["sections"]["pain_points"]
        assert 1 <= len(pain.quotes) <= 3
        assert not any(q.lower().startswith("nothing") for q in pain.quotes), label
        # the demo's comments have a codeframe: one most typical comment per top theme
        assert pain.quotes_label.startswith("In their own words: the most typical comments")
        top = _theme_order(pain)[:len(pain.quotes)]
        assert [q.split("]")[0].lstrip("[") for q in pain.quotes] == top, label
        method = sections["method"]
        assert '<details class="sk-technical"><summary>' in method
        assert re.search(r"with about \d+ comparisons on this page, expect", _text(method))


def test_the_index_opens_with_a_summary_and_compares_at_a_glance(demo):
    index = demo["index"]
    summary = re.search(r'<div class="sk-findings sk-summary"><p>(.*?)</p>', index, re.S)
    assert summary and "is highest among Young professionals (8.0)" in summary.group(1)
    assert "lowest among Older users (6.1; total 7.1)" in summary.group(1)
    glance = index.split('<div class="sk-glance">')[1]
    assert glance.count('<div class="sk-figure"><svg ') == 2   # metrics chart, driver map
    assert 'aria-label="What drives each segment chart"' in glance
    assert index.index("sk-summary") < index.index('class="sk-index"') \
        < index.index('class="sk-glance"')
    heads = {h["label"]: h["headline"] for h in demo["heads"]}
    for label, head in heads.items():
        shares = [d["importance"] for d in head["drivers"]]
        assert sum(shares) == pytest.approx(100, abs=0.5) and head["drivers"], label
        assert any(d["act_here"] for d in head["drivers"]), label
        json.dumps(head)                                      # travels in manifest.json


def test_charts_share_axes_and_labels_do_not_overlap(demo_survey):
    from surveykit.charts import label_boxes, labels_overlap

    def axis(chart, cls="skc-tick"):   # the tick values drawn on an axis
        return tuple(float(v) for v in re.findall(rf'class="{cls}" data-value="([^"]+)"',
                                                   chart.to_svg()))

    ranges, ipa = set(), set()
    for code in CODES:
        f = SegmentFindings(demo_survey, "segment", code)
        att = f.attributes().figures[0]
        ranges.add(axis(att))
        chart = f.drivers().figures[0]
        ipa.add((axis(chart), axis(chart, "skc-ytick")))
        assert labels_overlap(chart) == [], f.label
        boxes = label_boxes(chart)
        assert len(boxes) == 10
        # every label inside the chart, and none over a point
        points = [(float(x), float(y)) for x, y in re.findall(
            r'class="skc-point" cx="([^"]+)" cy="([^"]+)"', chart.to_svg())]
        assert len(points) == 10
        for text, b in boxes:
            assert 0 <= b.x0 and b.x1 <= chart.width and 0 <= b.y0 and b.y1 <= chart.height
            assert not any(b.x0 - 5 < x < b.x1 + 5 and b.y0 - 5 < y < b.y1 + 5
                           for x, y in points), (f.label, text)
    assert len(ranges) == 1 and len(ipa) == 1, (ranges, ipa)


# ------------------------------------------------------------------------------------------
# the real pipeline: executed notebooks carry no warnings
# ------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_executed_notebooks_in_the_output_folder_contain_no_warnings(report_pipeline):
    import nbformat

    out = report_pipeline["out"]
    books = sorted(out.glob("*.ipynb"))
    assert len(books) == 5                                 # the overview and 4 segments
    for book in books:
        nb = nbformat.read(book, as_version=4)
        for cell in nb.cells:
            for o in cell.get("outputs", []):
                assert not (o.get("output_type") == "stream" and o.get("name") == "stderr"), \
                    (book.name, o.get("text", "")[:300])
                text = json.dumps(o.get("data", {}))
                assert "Warning" not in text, (book.name, text[:300])
