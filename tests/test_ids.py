"""Respondent ids keep their exact value through every reader and writer (issue 11, item 1).

Ids are int64 or text, never float: int64 ids beyond 2**53 (where float64 skips integers)
survive CSV, Parquet, Excel and SPSS; an id stored as a float that cannot be exact is an
error naming the rows. Fixtures are generated in ``tmp_path``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveykit.errors import ResponseDataError
from surveykit.questionnaire import questionnaire_from_text
from surveykit.responses import (
    check_responses,
    clean,
    read_responses,
    type_responses,
    write_responses,
)

Q_TEXT = """
id: ids
title: Id round trips
questions:
  - {id: cust_type, type: single, text: Type, options: {1: A, 2: B}}
  - {id: comment, type: open, text: Comment, required: false}
roles:
  respondent_id: resp_id
  customer_id: cust_no
"""
SUFFIXES = (".csv", ".parquet", ".xlsx", ".sav")
BIG = 2**53  # float64 holds every integer only below this


@pytest.fixture(scope="module")
def q():
    return questionnaire_from_text(Q_TEXT)


def frame(ids, cust=None) -> pd.DataFrame:
    n = len(ids)
    return pd.DataFrame({"resp_id": ids, "cust_no": cust if cust is not None else ids,
                         "cust_type": np.ones(n), "comment": ["ok"] * n})


def round_trip(df, q, path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing to report on a clean round trip
        return read_responses(write_responses(df, path, q), q)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_int64_ids_beyond_2_53_round_trip_exactly(q, tmp_path, suffix):
    ids = np.array([BIG + 1, BIG + 2, 2**62 + 7, -(2**63), 2**63 - 1, 1], dtype=np.int64)
    df = frame(ids)
    back = round_trip(df, q, tmp_path / f"ids{suffix}")
    assert back["resp_id"].dtype == np.int64 and back["cust_no"].dtype == np.int64
    assert back["resp_id"].tolist() == ids.tolist()
    assert back["cust_no"].tolist() == ids.tolist()


def test_parquet_with_200_distinct_big_ids_has_no_duplicates(q, tmp_path):
    """The issue's case: 200 distinct int64 ids > 2**53 were checked as 198 duplicate_id and
    101 rows survived clean() (the ids went through float64)."""
    ids = BIG + np.arange(200, dtype=np.int64)
    path = tmp_path / "big.parquet"
    frame(ids).to_parquet(path)
    df = read_responses(path, q)
    assert df["resp_id"].tolist() == ids.tolist()
    result = check_responses(q, df)
    assert result.respondents("duplicate_id") == []
    out, log = clean(q, df, result)
    assert len(out) == 200 and out["resp_id"].tolist() == ids.tolist()


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_text_ids_round_trip_exactly(q, tmp_path, suffix):
    ids = ["007", "A-12", "=cmd", "-5x", "1e3", "12345678901234567890123"]
    back = round_trip(frame(ids), q, tmp_path / f"t{suffix}")
    assert back["resp_id"].tolist() == ids


@pytest.mark.parametrize("suffix", [".parquet", ".sav"])
def test_float_ids_that_are_not_exact_are_an_error_naming_the_rows(q, tmp_path, suffix):
    df = frame(np.array([1.0, 2.5, 3.0, 2.0**60, 5.0]))
    path = tmp_path / f"f{suffix}"
    if suffix == ".parquet":
        df.to_parquet(path)
    else:
        import pyreadstat

        pyreadstat.write_sav(df, str(path))
    with pytest.raises(ResponseDataError) as err:
        read_responses(path, q)
    msg = str(err.value)
    unit = "record" if suffix == ".parquet" else "case"
    assert path.name in msg and "'resp_id'" in msg and "2 id(s)" in msg
    assert f"2.5 ({unit} 2, row 1)" in msg
    assert f"1.152921504606847e+18 ({unit} 4, row 3)" in msg
    assert "2**53" in msg and "store the ids as text" in msg


def test_whole_float_ids_below_2_53_become_int64(q, tmp_path):
    path = tmp_path / "f.parquet"
    frame(np.array([101.0, 102.0, BIG - 1.0])).to_parquet(path)
    df = read_responses(path, q)
    assert df["resp_id"].dtype == np.int64
    assert df["resp_id"].tolist() == [101, 102, BIG - 1]


def test_missing_float_ids_make_text_not_float(q):
    raw = pd.DataFrame({"resp_id": [1.0, np.nan, 3.0], "cust_type": [1, 1, 1]})
    df, _ = type_responses(raw, q)
    assert df["resp_id"].tolist()[0::2] == ["1", "3"] and pd.isna(df["resp_id"][1])


def test_excel_float_id_beyond_2_53_is_an_error(q, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["resp_id", "cust_type"])
    ws.append([1, 1])
    ws.append([float(2**60), 1])  # a float cell: Excel has only doubles
    path = tmp_path / "x.xlsx"
    wb.save(path)
    with pytest.raises(ResponseDataError, match=r"x\.xlsx.*\(sheet row 3, row 1\)"):
        read_responses(path, q)


def test_writing_refuses_inexact_float_ids(q, tmp_path):
    with pytest.raises(ResponseDataError, match=r"'resp_id'.*0\.5 \(row 1\)"):
        write_responses(frame(np.array([1.0, 0.5])), tmp_path / "w.csv", q)
    assert not (tmp_path / "w.csv").exists()


def test_whole_float_ids_are_written_as_integers(q, tmp_path):
    path = write_responses(frame(np.array([1.0, 2.0])), tmp_path / "w.csv", q)
    assert path.read_text().splitlines()[1].startswith("1,1,")


def test_duplicate_message_names_file_lines_and_id(q, tmp_path):
    path = tmp_path / "d.csv"
    # a blank line and an open answer over two lines shift the file lines from the rows
    path.write_text('resp_id,cust_no,cust_type,comment\n1,1,1,"two\nlines"\n\n2,2,1,x\n'
                    '1,3,1,y\n')
    df = read_responses(path, q)
    assert df["resp_id"].tolist() == [1, 2, 1]
    msg = check_responses(q, df).table.query("rule == 'duplicate_id'")["message"].iloc[0]
    assert msg.startswith("resp_id 1 appears 2 times (rows 0, 2) at d.csv lines 2, 6;")
    assert df.attrs["source_rows"]["unit"] == "line"


def test_checks_and_clean_keep_ids_exact(q):
    ids = [BIG + 1, BIG + 3, BIG + 1]
    raw = pd.DataFrame({"resp_id": ids, "cust_no": [1, 2, 3], "cust_type": [1.0, 1.0, 1.0]})
    df, _ = type_responses(raw, q)
    result = check_responses(q, df)
    assert result.respondents("duplicate_id") == [BIG + 1]
    out, log = clean(q, df, result)
    assert out["resp_id"].tolist() == [BIG + 1, BIG + 3] and out["resp_id"].dtype == np.int64
    assert log.loc[log["rule"] == "duplicate_id", "respondent"].tolist() == [BIG + 1]


# -- property-based: every id survives every format -----------------------------------------
int_ids = st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), min_size=1,
                   max_size=8, unique=True)
# text ids: printable text without control characters (xlsx cannot store those) and not
# blank; one id that is not a plain integer keeps the column text
text_ids = st.lists(st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1,
                            max_size=12).filter(lambda s: s.strip() == s and s != ""),
                    min_size=1, max_size=6, unique=True).map(lambda ids: ["x-1", *ids])
SETTINGS = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.mark.parametrize("suffix", SUFFIXES)
@SETTINGS
@given(ids=int_ids)
def test_property_int64_ids_round_trip(q, tmp_path, suffix, ids):
    back = round_trip(frame(np.array(ids, dtype=np.int64)), q, tmp_path / f"p{suffix}")
    assert back["resp_id"].dtype == np.int64 and back["resp_id"].tolist() == ids


@pytest.mark.parametrize("suffix", SUFFIXES)
@SETTINGS
@given(ids=text_ids)
def test_property_text_ids_round_trip(q, tmp_path, suffix, ids):
    ids = [i for i in ids if i not in ("NA", "NaN", "nan", "<NA>")]  # missing markers
    back = round_trip(frame(ids), q, tmp_path / f"p{suffix}")
    assert back["resp_id"].tolist() == ids


# -- Arrow text ids: the vectorised path types them as the value-by-value path does ----------
ID_TEXTS = [["1", "2", "3"], ["007", "1"], ["+5", "1"], ["-0", "1"], ["0", "-5"], [" 12", "1"],
            ["9223372036854775807", "-9223372036854775808"], ["9223372036854775808", "1"],
            ["1e3", "1"], ["0x10", "1"], ["", "1"], ["-99", "1"], ["1.0", "2"],
            ["\u0661\u0662", "1"]]


@pytest.mark.parametrize("values", ID_TEXTS, ids=lambda v: "|".join(v))
@pytest.mark.parametrize("marker", [None, "-99"])
def test_arrow_text_ids_are_typed_as_python_text_ids(values, marker):
    from surveykit.responses.coercion import _id_text, _plain_int64
    from surveykit.responses.reading import NA_VALUES

    na = set(NA_VALUES) | ({marker} if marker else set())
    arrow = _id_text(pd.Series(values, dtype="str"), na)
    python = _id_text(pd.Series(values, dtype=object), na)
    assert (arrow.dtype == "int64") == (python.dtype == "int64")
    assert [None if pd.isna(v) else v for v in arrow] == \
        [None if pd.isna(v) else v for v in python]
    # the vectorised path takes exactly the ids written as str(int) writes them
    plain = all(v.lstrip("-").isascii() and v.lstrip("-").isdigit() and str(int(v)) == v
                and v != marker for v in values) and values[0] != "9223372036854775808"
    assert (_plain_int64(pd.Series(values, dtype="str"), na) is not None) == plain
