"""The Excel tab book (item 9): a linked Contents sheet, sheet names from the question
labels (Excel-valid, unique, at most 31 characters), whole-number bases, landscape print
set-up with the title rows repeated."""

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from surveykit.tabbook import sheet_name
from surveykit.tables import banner

BAD = set('[]:*?/\\')
LABELS = {
    "q1": "Overall satisfaction: rating [1-5]?",
    "q2": "OVERALL satisfaction rating 1-5",         # clashes with q1 ignoring case
    "q3": "How likely are you to recommend this brand to a friend or colleague?",
    "q4": "'quoted'",
    "q5": "Contents",                                 # the contents sheet's name
    "q6": "=1+2 a formula-like label",
    "q7": "*?/",                                      # nothing valid left: the id
}


@pytest.fixture
def book(tmp_path):
    rng = np.random.default_rng(7)
    n = 240
    df = pd.DataFrame({q: rng.integers(1, 6, n) for q in LABELS})
    df["region"] = rng.integers(1, 4, n)
    df["w"] = rng.uniform(0.37, 2.9, n)                # weighted bases are not whole
    t = banner(df, list(LABELS), ["region"], weights="w",
               types=dict.fromkeys(LABELS, "rating"), labels=LABELS,
               value_labels={"region": {1: "North", 2: "South", 3: "East"}})
    return t, load_workbook(t.to_excel(tmp_path / "tabs.xlsx"))


def test_sheet_names_come_from_labels_and_are_valid_and_unique(book):
    t, wb = book
    names = wb.sheetnames[1:]
    assert wb.sheetnames[0] == "Contents" and len(names) == len(LABELS)
    assert list(t.sheet_names().values()) == names
    for name in wb.sheetnames:
        assert 0 < len(name) <= 31 and not BAD & set(name), name
        assert not name.startswith("'") and not name.endswith("'"), name
        assert name == name.strip()
    assert len({n.casefold() for n in wb.sheetnames}) == len(wb.sheetnames)
    assert names == ["Overall satisfaction rating 1-5", "OVERALL satisfaction rating (2)",
                     "How likely are you to recommend", "quoted", "Contents (2)",
                     "=1+2 a formula-like label", "q7"]
    assert wb["=1+2 a formula-like label"]["A1"].value == "q6: =1+2 a formula-like label"


def test_sheet_names_are_deterministic():
    def names():
        used = {"contents"}
        return [sheet_name(lab, used) for lab in ["A" * 40, "a" * 40, "A" * 40, "x/y", "x y"]]
    assert names() == names() == ["A" * 31, "a" * 27 + " (2)", "A" * 27 + " (3)", "x y",
                                  "x y (2)"]
    assert sheet_name("History", set()) == "History (2)"     # reserved by Excel
    assert sheet_name("😀" * 20, set()) == "😀" * 15             # 31 UTF-16 units at most


def test_contents_links_to_every_sheet_and_each_sheet_links_back(book):
    t, wb = book
    toc = wb["Contents"]
    rows = [r for r in toc.iter_rows(min_row=2, max_col=3) if r[1].value in LABELS]
    assert [r[1].value for r in rows] == list(LABELS)              # every question listed
    for cell, qid, label in rows:
        assert label.value == LABELS[qid.value]
        link = cell.hyperlink
        assert link is not None and not link.target                # internal, no file link
        sheet, _, ref = link.location.rpartition("!")
        target = sheet[1:-1].replace("''", "'") if sheet.startswith("'") else sheet
        assert target == cell.value == t.sheet_names()[qid.value] and ref == "A1"
        assert target in wb.sheetnames
        back = wb[target]["A2"]
        assert back.value == "Contents" and back.hyperlink.location == "'Contents'!A1"


def test_bases_are_whole_numbers(book):
    t, wb = book
    for qid, name in t.sheet_names().items():
        rows = {r[0].value: r for r in wb[name].iter_rows(min_row=4) if r[0].value}
        b = t.bases[t.bases["question"] == qid]
        for lab, col in (("Base (unweighted)", "n"), ("Base (effective)", "n_eff")):
            vals = [c.value for c in rows[lab][1:]]
            assert all(type(v) is int for v in vals), (name, lab, vals)
            assert vals == [int(round(v)) for v in b[col]]
            assert all(c.number_format == "#,##0" for c in rows[lab][1:])
    assert not (t.bases["n_eff"] % 1 == 0).all()      # the weighted base was rounded


def test_every_sheet_prints_landscape_one_page_wide_with_repeated_titles(book):
    _, wb = book
    for ws in wb.worksheets:
        assert ws.page_setup.orientation == "landscape", ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0
        want = "$1:$1" if ws.title == "Contents" else "$1:$3"
        assert ws.print_title_rows == want, ws.title


def test_no_cell_is_a_formula_or_reads_minus_zero(book):
    _, wb = book
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate)
                assert str(cell.value) not in ("-0", "-0.0"), (ws.title, cell.coordinate)


def test_an_nps_near_zero_is_stored_as_the_whole_number_shown(tmp_path):
    """Excel's "+0;-0;0" format shows -0.5 as "-0": the NPS cells hold the scores rounded as
    shown (total -0.5 -> 0, region 1 -1.0, region 2 0.0)."""
    nps = np.array([10] * 30 + [0] * 31 + [8] * 39 + [10] * 50 + [0] * 50, dtype=float)
    df = pd.DataFrame({"rec": nps, "region": [1] * 100 + [2] * 100})
    t = banner(df, ["rec"], ["region"], types={"rec": "nps"})
    ws = load_workbook(t.to_excel(tmp_path / "nps.xlsx")).worksheets[1]
    row = next(r for r in ws.iter_rows(values_only=True) if r[0] == "NPS")
    assert list(row[1:4]) == [0.0, -1.0, 0.0]
    assert all(str(v) != "-0.0" for v in row[1:4])
