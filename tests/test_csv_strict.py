"""Strict CSV reading (issue 11, item 3): malformed records are errors naming the file, the
1-based file line and the respondent id; nothing is padded, merged or dropped silently.
Messages that cite a row give the file line (and the respondent id)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveykit.errors import ResponseDataError
from surveykit.questionnaire import questionnaire_from_text
from surveykit.responses import NA_VALUES, check_responses, read_responses, write_responses
from surveykit.responses.reading import where_in_file

Q_TEXT = """
id: strict
title: Strict CSV
questions:
  - {id: cust_type, type: single, text: Type, options: {1: A, 2: B}}
  - {id: comment, type: open, text: Comment, required: false}
  - {id: note, type: open, text: Note, required: false}
roles:
  respondent_id: resp_id
"""
HEADER = "resp_id,cust_type,comment,note\n"


@pytest.fixture(scope="module")
def q():
    return questionnaire_from_text(Q_TEXT)


def read_text(q, tmp_path, text: str, name: str = "r.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return read_responses(path, q)


def error_of(q, tmp_path, text: str, name: str = "r.csv") -> str:
    with pytest.raises(ResponseDataError) as err:
        read_text(q, tmp_path, text, name)
    return str(err.value)


def test_short_row_is_an_error_not_padding(q, tmp_path):
    msg = error_of(q, tmp_path, HEADER + "1,1,a,b\n2,1\n3,1,c,d\n", "short.csv")
    assert "short.csv: line 3 has 2 fields but the header has 4 (row of resp_id 2)" in msg
    assert "an empty answer is an empty field" in msg


def test_long_row_is_an_error(q, tmp_path):
    msg = error_of(q, tmp_path, HEADER + "1,1,a,b\n2,1,c,d,e\n", "long.csv")
    assert "long.csv: line 3 has 5 fields but the header has 4 (row of resp_id 2)" in msg


def test_every_malformed_line_is_listed(q, tmp_path):
    msg = error_of(q, tmp_path, HEADER + "1,1,a,b\n2,1\n\n4,1,c,d,e\n5\n")
    assert msg.startswith(f"{tmp_path / 'r.csv'}: 3 malformed record(s); nothing was read:")
    assert "line 3 has 2 fields" in msg and "line 5 has 5 fields" in msg
    assert "line 6 has 1 fields" in msg


def test_unclosed_quote_running_to_the_end_is_an_error(q, tmp_path):
    msg = error_of(q, tmp_path, HEADER + '1,1,"never closed,b\n2,1,c,d\n3,1,e,f\n', "q.csv")
    assert "q.csv: line 2: a quoted field that starts on this line is never closed" in msg


def test_stray_quote_merging_rows_is_an_error(q, tmp_path):
    # the quote opened on line 2 is closed by the first quote of line 3: rows 1 and 2 would
    # merge into one field ("a,b\n2,1,") followed by stray text
    msg = error_of(q, tmp_path, HEADER + '1,1,"a,b\n2,1,"c",d\n3,1,e,f\n', "m.csv")
    assert "m.csv: line 3 (record from line 2): text follows a closing quote" in msg


def test_merged_lines_in_a_non_text_column_are_an_error(q, tmp_path):
    msg = error_of(q, tmp_path, HEADER + '1,"1\n2",a,b\n', "n.csv")
    assert "n.csv: the record on lines 2-3 (row of resp_id 1): a quoted field of column " \
           "'cust_type' runs over several lines" in msg


def test_merged_record_with_wrong_width_names_its_lines(q, tmp_path):
    msg = error_of(q, tmp_path, HEADER + '1,1,"a\nb\n2,1,c",d,e\n')
    assert "the record on lines 2-4 has 5 fields but the header has 4 (row of resp_id 1); " \
           "a quote that is not closed on its own line runs lines together" in msg


def test_multi_line_open_answers_and_blank_lines_keep_file_lines(q, tmp_path):
    df = read_text(q, tmp_path, HEADER + '\n1,1,"line one\nline two",x\n\n\n2,2,"a ""q""",y\n'
                   '3,1,,\n')
    assert df["comment"].tolist()[:2] == ["line one\nline two", 'a "q"']
    assert pd.isna(df["comment"][2])
    assert where_in_file(df, [0, 1, 2]) == " at r.csv lines 3, 7, 8"
    assert where_in_file(df, [2]) == " at r.csv line 8"
    # a row filtered out keeps the others' lines; a renumbered index has none
    assert where_in_file(df.iloc[[0, 2]], [2]) == " at r.csv line 8"
    assert where_in_file(df.iloc[[0, 2]].reset_index(drop=True), [1]) == ""


def test_duplicate_rows_are_cited_by_file_line_and_id(q, tmp_path):
    df = read_text(q, tmp_path, HEADER + "7,1,a,b\n8,1,c,d\n\n7,2,e,f\n", "dup.csv")
    t = check_responses(q, df).table
    msgs = t.loc[t["rule"] == "duplicate_id", "message"].tolist()
    assert msgs == ["resp_id 7 appears 2 times (rows 0, 2) at dup.csv lines 2, 5; clean() "
                    "keeps the first"] * 2


def test_semicolon_and_bom_still_work(q, tmp_path):
    with pytest.raises(ResponseDataError, match=r"sep=';'"):
        read_text(q, tmp_path, "\ufeffresp_id;cust_type\r\n1;2\r\n", "semi.csv")
    df = read_responses(tmp_path / "semi.csv", q, sep=";")
    assert df["cust_type"].tolist() == [2.0] and df["resp_id"].tolist() == [1]


# -- property-based: arbitrary text cells round-trip through write and read ---------------
# any text except blank (read as missing by design), the missing markers, NUL and lone
# surrogates (not UTF-8); quotes, commas, newlines, CR and leading = + - @ ' are all in
text_cells = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                     min_size=1, max_size=20).filter(lambda s: s.strip() != "" and
                                                     s not in NA_VALUES)
special = st.sampled_from(["=1+2", "+x", "-", "-3", "@a", "\tt", "\rr", "'=x", "''-y", '"',
                           '""', ",", "a\nb\n", "a\r\nb", "\rx\r", " lead", "trail ", "'"])
cells = st.one_of(text_cells, special, st.none())


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(cells, cells), min_size=1, max_size=6))
def test_property_text_cells_round_trip_through_csv(q, tmp_path, rows):
    df = pd.DataFrame({"resp_id": np.arange(1, len(rows) + 1),
                       "cust_type": np.ones(len(rows)),
                       "comment": pd.Series([r[0] for r in rows], dtype="str"),
                       "note": pd.Series([r[1] for r in rows], dtype="str")})
    back = read_responses(write_responses(df, tmp_path / "p.csv", q), q)
    for col in ("comment", "note"):
        got = [None if pd.isna(v) else v for v in back[col]]
        assert got == [None if pd.isna(v) else v for v in df[col]], col
    assert back["resp_id"].tolist() == df["resp_id"].tolist()
