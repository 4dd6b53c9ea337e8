"""Spreadsheet / CSV formula injection (issue 11, item 2; OWASP "CSV injection").

Every spreadsheet and CSV surveykit writes neutralises text that starts with ``=``, ``+``,
``-``, ``@``, tab or carriage return: CSV cells get a leading apostrophe (removed again by
read_responses), xlsx cells are written as text cells with Excel's quote prefix (the exact
text, read back unchanged). Numbers stay numbers, negative ones too.
"""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from surveykit._util import (
    FORMULA_START,
    csv_safe,
    csv_safe_frame,
    csv_unescape,
    looks_like_formula,
    to_safe_csv,
)
from surveykit.cli import main
from surveykit.errors import SurveykitWarning
from surveykit.questionnaire import questionnaire_from_text
from surveykit.responses import read_responses, write_responses
from surveykit.tables import banner

Q_TEXT = """
id: inj
title: Injection
questions:
  - {id: grp, type: single, text: Group, options: {1: "=HYPERLINK(\\"http://x\\")", 2: Plain}}
  - {id: score, type: numeric, text: Score, min: -10, max: 10}
  - {id: comment, type: open, text: Comment, required: false}
roles:
  respondent_id: resp_id
"""
NASTY = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1:A2)", "\tTab", "\rCR", "'=already",
         "plain", "it's fine"]


@pytest.fixture(scope="module")
def q():
    return questionnaire_from_text(Q_TEXT)


@pytest.fixture
def df():
    n = len(NASTY)
    return pd.DataFrame({"resp_id": np.arange(1, n + 1), "grp": [1.0, 2.0] * (n // 2) + [1.0],
                         "score": np.linspace(-4, 4, n), "comment": NASTY})


def test_one_rule(q):
    assert FORMULA_START == ("=", "+", "-", "@", "\t", "\r")
    assert [looks_like_formula(v) for v in ("=a", "+a", "-a", "@a", "\ta", "\ra")] == [True] * 6
    assert not any(looks_like_formula(v) for v in ("a=", " =a", -1, -1.5, None, "'=a"))
    for text in NASTY + ["''-x", "'", "''", ""]:
        assert csv_unescape(csv_safe(text)) == text
    assert csv_safe("-2+3") == "'-2+3" and csv_safe(-2.0) == -2.0


def test_csv_write_escapes_text_and_reads_back_exactly(q, df, tmp_path):
    path = write_responses(df, tmp_path / "r.csv", q)
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    cells = [r[3] for r in rows[1:]]
    for cell in cells:  # no text cell a spreadsheet would run
        assert not looks_like_formula(cell)
    assert cells[0] == "'=cmd|' /C calc'!A0" and cells[6] == "''=already"
    assert rows[1][2] == "-4"  # a negative number is a number, not escaped
    back = read_responses(path, q)
    assert back["comment"].tolist() == NASTY
    assert back["score"].tolist() == df["score"].tolist()


def test_xlsx_round_trip_gives_the_text_back(q, df, tmp_path):
    with pytest.warns(SurveykitWarning, match=r"carriage return.*'comment' \(1 cell"):
        path = write_responses(df, tmp_path / "r.xlsx", q)
    back = read_responses(path, q)
    # formulas would have read back as NaN; XML keeps no carriage return (said in a warning)
    assert back["comment"].tolist() == [t.replace("\r", "\n") for t in NASTY]
    df = df[~df["comment"].str.contains("\r")]
    assert read_responses(write_responses(df, tmp_path / "r2.xlsx", q), q)[
        "comment"].tolist() == df["comment"].tolist()
    ws = load_workbook(path)["Sheet1"]
    cells = {c.value: c for c in ws["D"][1:]}
    for text in NASTY:
        cell = cells[text.replace("\r", "\n")]
        assert cell.data_type == "s", text
        assert cell.quotePrefix == looks_like_formula(text), text
    assert ws["C2"].value == -4 and ws["C2"].data_type == "n"  # numbers stay numbers


def test_tab_book_labels_and_answers_are_text_cells(q, tmp_path):
    df = pd.DataFrame({"grp": [1, 2, 1, 2, 1, 2], "score": [1, 2, 3, 4, 5, 6],
                       "brand": ["=evil()", "-x", "=evil()", "@x", "ok", "-x"]})
    t = banner(df, ["grp"], "brand", types={"grp": "single"},
               labels={"grp": "=1+2 label"},
               value_labels={"grp": {1: "=HYPERLINK(\"http://x\")", 2: "+plain"}})
    path = t.to_excel(tmp_path / "tabs.xlsx")
    wb = load_workbook(path)
    seen = set()
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if looks_like_formula(cell.value):
                    assert cell.quotePrefix, (ws.title, cell.coordinate)
                    seen.add(cell.value)
    # banner headers are "value (letter)"; row labels are the value labels
    assert {"-x (A)", "=evil() (B)", "@x (C)", '=HYPERLINK("http://x")', "+plain",
            "=1+2 label"} <= seen
    assert any(str(v).startswith("grp: =1+2 label") for ws in wb.worksheets
               for row in ws.iter_rows(values_only=True) for v in row if v)


def test_check_out_csv_escapes_values(tmp_path, capsys):
    qpath = tmp_path / "q.yaml"
    qpath.write_text(Q_TEXT)
    data = tmp_path / "d.csv"
    data.write_text('resp_id,grp,score,comment\n1,"=cmd|\'/C calc\'!A0",1,x\n2,1,-3,y\n'
                    '3,1,"@SUM(1)",z\n')
    out = tmp_path / "findings.csv"
    assert main(["check", str(qpath), str(data), "--out", str(out)]) == 0
    capsys.readouterr()
    text = out.read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    values = [r["value"] for r in rows]
    assert "'=cmd|'/C calc'!A0" in values and "'@SUM(1)" in values
    for r in rows:
        for v in r.values():
            assert not looks_like_formula(v), r


def test_csv_safe_frame_leaves_numbers_and_the_input_alone():
    df = pd.DataFrame({"n": [-1.5, 2.0], "t": ["-1", "=x"], "=col": ["a", None]})
    out = csv_safe_frame(df)
    assert out["n"].tolist() == [-1.5, 2.0]
    assert out["t"].tolist() == ["'-1", "'=x"]
    assert list(out.columns) == ["n", "t", "'=col"]
    assert df["t"].tolist() == ["-1", "=x"] and list(df.columns) == ["n", "t", "=col"]
    assert to_safe_csv(df).splitlines()[1] == "-1.5,'-1,a"
