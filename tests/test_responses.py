"""Reading, writing, checking and cleaning responses (surveykit.responses).

Fixtures in tests/fixtures/responses/ are hand-written: ``survey.yaml`` (routing, a 4-item
grid with a don't-know code, a multi question with an exclusive option and other-specify,
NPS routed on answered()/selected(), PII), ``clean.csv`` (12 valid respondents),
``raw.csv`` (the same plus rows with one planted problem each, a repeated id, an unknown
column and a missing one) and ``expected_findings.csv`` (every finding, worked out by hand).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from surveykit.cli import main
from surveykit.errors import ResponseDataError, SurveykitWarning
from surveykit.questionnaire import load_questionnaire, questionnaire_from_text
from surveykit.responses import (
    LOG_COLUMNS,
    RULES,
    CheckResult,
    check_responses,
    clean,
    read_responses,
    write_responses,
)

FIX = Path(__file__).parent / "fixtures" / "responses"


@pytest.fixture(scope="module")
def q():
    return load_questionnaire(FIX / "survey.yaml")


@pytest.fixture
def raw(q):
    return read_responses(FIX / "raw.csv", q)


@pytest.fixture
def good(q):
    return read_responses(FIX / "clean.csv", q)


def findings(result: CheckResult) -> list[tuple]:
    t = result.table
    return sorted((("" if pd.isna(r) else str(r)), qq, rule)
                  for r, qq, rule in zip(t["respondent"], t["question"], t["rule"], strict=True))


def snapshot(df: pd.DataFrame):
    return df.copy(deep=True), dict(df.attrs)


# -- reading -------------------------------------------------------------------------------
def test_read_types_columns_from_questionnaire(raw):
    assert raw["resp_id"].dtype == np.int64
    for col in ("cust_type", "org_size", "sat_a", "sat_c", "compl_1", "compl_99", "nps"):
        assert raw[col].dtype == np.float64, col
    for col in ("comment", "cust_type_3_text", "compl_2_text"):
        assert pd.api.types.is_string_dtype(raw[col]), col
    assert raw.loc[0, "comment"] == "Fast delivery"
    assert pd.isna(raw.loc[1, "comment"])                     # empty text -> NaN
    assert raw.loc[5, "sat_a"] == 9.0                        # don't know stays a code
    assert raw["cust_type"].tolist()[:3] == [1.0, 1.0, 2.0]


def test_read_keeps_unparseable_values_visible(raw):
    # text in numeric columns is not coerced to NaN: the checks must see it
    assert raw["age"].dtype == object
    assert raw.loc[13, "age"] == "n/a"
    assert raw.loc[0, "age"] == 34.0 and pd.isna(raw.loc[2, "age"])
    assert raw.loc[31, "sat_b"] == "Satisfied"
    assert raw.loc[30, "duration_sec"] == "abc"
    assert raw.attrs["unparsed"] == {"duration_sec": 1, "age": 1, "sat_b": 1}


def test_read_reports_unknown_and_missing_columns_without_guessing(raw):
    assert raw.attrs["unknown_columns"] == ["interviewer"]
    assert raw.attrs["missing_columns"] == ["email"]          # derived ones are not expected
    assert "interviewer" in raw.columns and "email" not in raw.columns
    assert raw.attrs["questionnaire"] == "fixture"
    assert raw.attrs["source"].endswith("raw.csv")


def test_na_values_machine_markers_only(q, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("resp_id,cust_type,age,comment\n1,1,NA,NA\n2,1, 40 ,n/a\n3,1,n/a,\n")
    df = read_responses(path, q)
    assert pd.isna(df.loc[0, "age"]) and pd.isna(df.loc[0, "comment"])
    assert df.loc[1, "age"] == 40.0 and df.loc[1, "comment"] == "n/a"
    assert df.loc[2, "age"] == "n/a"                          # typed by a person: kept
    df2 = read_responses(path, q, na_values=["", "NA", "n/a"])
    assert df2["age"].dtype == np.float64 and pd.isna(df2.loc[2, "age"])


@pytest.mark.parametrize(("ids", "dtype", "first"), [
    (["1", "2", "10"], np.int64, 1),
    (["007", "008", "009"], object, "007"),                   # leading zeros: text as found
    (["A1", "A2", "A3"], object, "A1"),
    (["1", "", "3"], object, "1"),                            # a missing id: text as found
])
def test_id_typed_as_found(q, tmp_path, ids, dtype, first):
    path = tmp_path / "ids.csv"
    path.write_text("resp_id,cust_type\n" + "".join(f"{i},1\n" for i in ids))
    df = read_responses(path, q)
    if dtype is object:
        assert pd.api.types.is_string_dtype(df["resp_id"])
    else:
        assert df["resp_id"].dtype == dtype
    assert df["resp_id"].iloc[0] == first


def test_semicolon_file_and_bom(q, tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text("resp_id;cust_type\n1;1\n")
    with pytest.raises(ResponseDataError, match=r"sep=';'"):
        read_responses(path, q)
    assert read_responses(path, q, sep=";")["cust_type"].tolist() == [1.0]
    bom = tmp_path / "bom.csv"
    bom.write_bytes("resp_id,cust_type\n1,2\n".encode("utf-8-sig"))
    assert list(read_responses(bom, q).columns) == ["resp_id", "cust_type"]


@pytest.mark.parametrize(("name", "content", "pattern"), [
    ("missing.csv", None, r"missing\.csv.*not found"),
    ("r.json", b"{}", r"unsupported file type '\.json'"),
    ("empty.csv", b"", r"empty\.csv.*empty"),
    ("ragged.csv", b"resp_id,cust_type\n1,1\n2,1,5,6\n", r"ragged\.csv.*line 3 has 4 fields"),
    ("dup.csv", b"resp_id,age,age\n1,2,3\n", r"dup\.csv.*duplicated column name.*'age'"),
    ("latin.csv", "resp_id,comment\n1,caf\xe9\n".encode("latin-1"), r"not utf-8 text.*encoding="),
    ("bad.sav", b"not a sav file", r"bad\.sav.*cannot read as SPSS"),
    ("bad.parquet", b"PAR1 garbage", r"bad\.parquet.*cannot read as Parquet"),
    ("bad.xlsx", b"garbage", r"bad\.xlsx.*cannot read as Excel"),
])
def test_read_errors_name_the_file_and_what_to_do(q, tmp_path, name, content, pattern):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ResponseDataError, match=pattern):
        read_responses(path, q)


def test_read_refuses_a_non_questionnaire(tmp_path):
    with pytest.raises(ResponseDataError, match="load_questionnaire"):
        read_responses(FIX / "raw.csv", str(FIX / "survey.yaml"))


def test_files_are_never_modified(q, tmp_path):
    path = tmp_path / "raw.csv"
    path.write_bytes((FIX / "raw.csv").read_bytes())
    before = (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
    df = read_responses(path, q)
    clean(q, df, check_responses(q, df))
    assert (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns) == before


# -- writing -------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet", ".xlsx", ".sav", ".zsav"])
def test_write_read_round_trip(q, good, tmp_path, suffix):
    before = snapshot(good)
    path = write_responses(good, tmp_path / f"out{suffix}", q)
    back = read_responses(path, q)
    pd.testing.assert_frame_equal(back, good)
    pd.testing.assert_frame_equal(good, before[0])
    assert not list(tmp_path.glob(".*"))                      # no temporary file left


def test_sav_keeps_labels_and_user_missing_codes(q, good, tmp_path):
    import pyreadstat

    path = write_responses(good, tmp_path / "out.sav", q)
    data, meta = pyreadstat.read_sav(str(path), user_missing=True)
    assert meta.file_label == "Response-check fixture"
    labels = meta.column_names_to_labels
    assert labels["sat_b"] == "Screen"
    assert labels["age"] == "How old are you?"
    assert labels["compl_99"] == "What did you complain about?: None"
    assert meta.variable_value_labels["sat_a"] == {
        1.0: "Very dissatisfied", 2.0: "Dissatisfied", 3.0: "Neutral", 4.0: "Satisfied",
        5.0: "Very satisfied", 9.0: "Don't know"}
    assert meta.variable_value_labels["cust_type"] == {1.0: "Individual", 2.0: "Organisation",
                                                      3.0: "Other"}
    assert meta.variable_value_labels["compl_1"] == {0.0: "Not selected", 1.0: "Selected"}
    assert meta.missing_ranges["sat_a"] == [{"lo": 9.0, "hi": 9.0}]
    assert "age" not in meta.missing_ranges
    assert meta.variable_measure["sat_a"] == "ordinal"
    assert meta.variable_measure["cust_type"] == "nominal"
    assert meta.variable_measure["age"] == "scale"
    # SPSS treats 9 as user-missing; read_responses keeps the code for the checks
    plain, _ = pyreadstat.read_sav(str(path))
    assert pd.isna(plain.loc[5, "sat_a"]) and data.loc[5, "sat_a"] == 9.0
    back = read_responses(path, q)
    assert back.loc[5, "sat_a"] == 9.0
    assert back.attrs["spss"]["variable_labels"]["sat_b"] == "Screen"
    assert back.attrs["spss"]["value_labels"]["sat_a"][9.0] == "Don't know"
    assert back.attrs["spss"]["missing_ranges"]["sat_d"] == [{"lo": 9.0, "hi": 9.0}]


SPSS_Q = """
id: spss
title: SPSS limits
scales:
  wide:
    codes: {1: a, 2: b, 3: c}
    missing: {96: x, 97: y, 98: z, 99: w}
  mixed:
    codes: {1: a, 2: b, 97: c}
    missing: {95: x, 96: y, 98: z, 99: w}
questions:
  - {id: w, type: rating, text: W, scale: wide}
  - {id: m, type: rating, text: M, scale: mixed}
"""


def test_sav_more_than_three_missing_codes(tmp_path):
    import pyreadstat

    q = questionnaire_from_text(SPSS_Q)
    df = pd.DataFrame({"resp_id": [1, 2], "w": [1.0, 99.0], "m": [97.0, 95.0]})
    with pytest.warns(SurveykitWarning, match=r"'m'.*at most three"):
        path = write_responses(df, tmp_path / "s.sav", q)
    _, meta = pyreadstat.read_sav(str(path), user_missing=True)
    assert meta.missing_ranges["w"] == [{"lo": 96.0, "hi": 99.0}]      # one range
    assert len(meta.missing_ranges["m"]) == 3                          # 97 is valid: 3 codes
    pd.testing.assert_frame_equal(read_responses(path, q), df.astype({"w": float, "m": float}))


def test_sav_refuses_text_in_numeric_column(q, raw, tmp_path):
    with pytest.raises(ResponseDataError, match=r"'duration_sec' holds text \('abc' at row 30\)"):
        write_responses(raw, tmp_path / "raw.sav", q)
    assert not (tmp_path / "raw.sav").exists()


def test_text_output_writes_codes_as_whole_numbers(q, good, tmp_path):
    text = write_responses(good, tmp_path / "out.csv", q).read_text()
    assert text.splitlines()[1] == "1,610,1,,34,,4,2,5,4,1,0,,0,8,Fast delivery,"


def test_excel_numeric_ids_are_int(q, tmp_path):
    pd.DataFrame({"resp_id": [101.0, 102.0], "cust_type": [1, 2]}).to_excel(
        tmp_path / "ids.xlsx", index=False)
    assert read_responses(tmp_path / "ids.xlsx", q)["resp_id"].tolist() == [101, 102]


def test_excel_and_parquet_text_in_numeric_column_is_kept(q, tmp_path):
    df = pd.DataFrame({"resp_id": [1, 2], "cust_type": [1, 1], "age": [30, "n/a"]},
                      dtype=object)
    df.to_excel(tmp_path / "x.xlsx", index=False)
    x = read_responses(tmp_path / "x.xlsx", q)
    assert x["age"].tolist() == [30.0, "n/a"]
    df.astype({"age": str}).to_parquet(tmp_path / "x.parquet")
    p = read_responses(tmp_path / "x.parquet", q)
    assert p["age"].tolist() == [30.0, "n/a"] and p["cust_type"].dtype == np.float64


# -- checks --------------------------------------------------------------------------------
def test_check_finds_every_planted_problem_and_nothing_else(q, raw):
    expected = pd.read_csv(FIX / "expected_findings.csv", dtype=str, keep_default_na=False)
    result = check_responses(q, raw)
    assert findings(result) == sorted(map(tuple, expected.values.tolist()))


def test_check_flags_nothing_on_clean_data(q, good):
    result = check_responses(q, good)
    assert result.table.empty and result.n_errors == 0 and result.ok
    assert result.summary().endswith("no problems found.")
    assert set(result.summary_frame()["rule"]) == set(RULES)
    assert (result.summary_frame()["findings"] == 0).all()


def test_table_summary_and_counts(q, raw):
    r = check_responses(q, raw)
    t = r.table
    assert list(t.columns) == ["respondent", "question", "rule", "severity", "value", "message",
                               "row"]
    assert r.n_errors == 22 and r.n_warnings == 3 and not r.ok
    assert set(t.loc[t.rule.isin(["straight_lining", "speeder", "unknown_column"]),
                     "severity"]) == {"warning"}
    s = r.summary_frame().set_index("rule")
    assert s.loc["duplicate_id", "findings"] == 2 and s.loc["duplicate_id", "respondents"] == 2
    assert s.loc["out_of_range", "findings"] == 6
    assert int(s["findings"].sum()) == len(t)
    assert r.respondents("speeder") == [23]
    row = t[(t.respondent == 13) & (t.rule == "out_of_range")].iloc[0]
    assert row["value"] == 7 and row["row"] == 12 and row["question"] == "cust_type"
    assert "valid 1, 2, 3" in row["message"]
    text = r.summary()
    assert "22 error(s), 3 warning(s)" in text and "respondent 23: duration_sec = 100" in text
    html = r._repr_html_()
    assert "<table" in html and "duplicate_id" in html


def test_messages_say_what_and_what_to_do(q, raw):
    t = check_responses(q, raw).table.set_index(["respondent", "rule"])["message"]
    assert "label of code 4" in t[(33, "non_numeric")]
    assert "outside the allowed range 18 to 99" in t[(15, "out_of_range")]
    assert "not a whole number" in t[(16, "out_of_range")]
    assert "routing 'cust_type == 1' is false" in t[(17, "answered_not_asked")]
    assert "appears 2 times (rows 4, 23)" in t[(5, "duplicate_id")].iloc[0]
    assert "0.4 x the median 602.5 (= 241)" in t[(23, "speeder")]


def test_invalid_routing_value_does_not_cascade(q, raw):
    t = check_responses(q, raw).table
    # 13: cust_type = 7 -> routing of age/org_size unknown; only the bad code is reported
    assert t[t.respondent == 13][["question", "rule"]].values.tolist() == [
        ["cust_type", "out_of_range"]]
    # 21: exclusive conflict in compl -> nps routing unknown; nps = 5 not reported
    assert t[t.respondent == 21]["rule"].tolist() == ["exclusive_conflict"]
    # 31: compl_1 = 2 -> same for nps
    assert t[t.respondent == 31]["rule"].tolist() == ["out_of_range"]


def test_speeder_threshold_by_hand(q, good):
    df = good.copy()
    d = df["duration_sec"].to_numpy()
    median = float(np.median(d))                                # 600 s
    for ratio in (0.4, 0.85, 0.9):
        r = check_responses(q, df, speeder_ratio=ratio, rules=["speeder"])
        expected = sorted(df.loc[d < ratio * median, "resp_id"].tolist())
        assert sorted(r.respondents("speeder")) == expected
    assert median == 600.0 and sorted(check_responses(
        q, df, speeder_ratio=0.85).respondents("speeder")) == [4, 8]


def test_straight_lining_threshold(q, raw):
    assert check_responses(q, raw, rules="straight_lining").respondents() == [20]
    # a 4-item grid is not checked when 5 answered items are required
    assert check_responses(q, raw, straight_line_min_items=5,
                           rules="straight_lining").table.empty
    # don't-know answers do not count: respondent 2 has 3, 3, 4 and 9 (DK)
    df = raw.copy()
    df.loc[1, ["sat_a", "sat_b", "sat_c"]] = 3.0
    r = check_responses(q, df, straight_line_min_items=3, rules="straight_lining")
    assert 2 in r.respondents() and 6 not in r.respondents()   # 6 answered DK to all


def test_rules_subset_and_parameter_validation(q, raw):
    r = check_responses(q, raw, rules=["speeder", "duplicate_id"])
    assert set(r.table["rule"]) == {"speeder", "duplicate_id"}
    assert list(r.summary_frame()["rule"]) == ["duplicate_id", "speeder"]
    with pytest.raises(ResponseDataError, match=r"unknown rule\(s\) 'speed'.*speeder"):
        check_responses(q, raw, rules=["speed"])
    with pytest.raises(ResponseDataError, match="speeder_ratio must be"):
        check_responses(q, raw, speeder_ratio=1.5)
    with pytest.raises(ResponseDataError, match="straight_line_min_items must be"):
        check_responses(q, raw, straight_line_min_items=1)
    with pytest.raises(ResponseDataError, match="DataFrame"):
        check_responses(q, FIX / "raw.csv")


def test_check_does_not_modify_the_frame(q, raw):
    before, attrs = snapshot(raw)
    check_responses(q, raw)
    pd.testing.assert_frame_equal(raw, before)
    assert raw.attrs == attrs


def test_missing_id_no_id_column_and_empty_frame(q, good):
    df = good.copy()
    df["resp_id"] = df["resp_id"].astype(object)
    df.loc[3, "resp_id"] = None
    r = check_responses(q, df, rules="missing_id")
    assert r.table[["row", "rule"]].values.tolist() == [[3, "missing_id"]]
    no_id = good.drop(columns="resp_id").set_index(good["resp_id"] * 10)
    r = check_responses(q, no_id)
    assert findings(r) == [("", "resp_id", "missing_column")]
    sub = no_id.copy()
    sub.loc[20, "age"] = 150.0
    assert check_responses(q, sub, rules="out_of_range").respondents() == [20]  # index label
    empty = check_responses(q, good.iloc[:0])
    assert empty.table.empty and empty.n_respondents == 0


def test_unknown_column_suggests_a_close_name(q, good):
    df = good.rename(columns={"sat_d": "sat_dd"})
    t = check_responses(q, df).table
    msg = t[t.rule == "unknown_column"]["message"].iloc[0]
    assert "did you mean 'sat_d'?" in msg
    assert t[t.rule == "missing_column"]["question"].tolist() == ["sat_d"]


ROUTED = """
id: routed
title: Routed multi, PII and text codes
questions:
  - id: complaint
    type: single
    text: Complained?
    options: {1: "yes", 2: "no"}
  - id: reasons
    type: multi
    text: Why?
    ask_if: complaint == 1
    options:
      - {code: 1, label: Price}
      - {code: 2, label: Service}
  - id: follow
    type: single
    text: Was the price complaint resolved?
    ask_if: selected(reasons, 1)
    options: {1: "yes", 2: "no"}
  - id: contact
    type: open
    text: Email
    pii: true
    required: false
    ask_if: complaint == 1
  - id: tier
    type: single
    text: Tier
    options: {A: Gold, B: Silver}
"""


@pytest.fixture(scope="module")
def routed():
    return questionnaire_from_text(ROUTED)


def test_pii_values_hidden_and_text_codes(routed):
    df = pd.DataFrame({"resp_id": [1, 2, 3], "complaint": [1.0, 2.0, 2.0],
                       "reasons_1": [1.0, 0.0, 1.0], "reasons_2": [0.0, 0.0, 0.0],
                       "follow": [1.0, np.nan, np.nan],
                       "contact": [None, "x@example.com", None], "tier": ["A", "B", "C"]})
    t = check_responses(routed, df).table
    # 3: the stray reasons_1 tick does not make 'follow' asked (no cascade finding)
    assert t[["respondent", "question", "rule"]].values.tolist() == [
        [2, "contact", "answered_not_asked"], [3, "reasons", "answered_not_asked"],
        [3, "tier", "out_of_range"]]
    leak = t[t.question == "contact"]
    assert leak["value"].iloc[0] == "[pii hidden]"
    assert "example.com" not in " ".join(t["message"])
    assert "'C' is not one of the codes 'A', 'B'" in t["message"].iloc[2]


def test_clean_not_asked_multi_leaves_the_base(routed):
    df = pd.DataFrame({"resp_id": [1, 2, 3], "complaint": [1.0, 2.0, 2.0],
                       "reasons_1": [1.0, 0.0, 1.0], "reasons_2": [0.0, 0.0, 0.0],
                       "follow": [1.0, np.nan, 2.0],
                       "contact": [None, None, None], "tier": ["A", "B", "A"]})
    out, log = clean(routed, df)
    assert out["reasons_1"].tolist()[0] == 1.0 and out["reasons_1"].iloc[1:].isna().all()
    assert out["reasons_2"].tolist()[0] == 0.0 and out["reasons_2"].iloc[1:].isna().all()
    # the cascade: 3's stray tick goes, so 'follow' is no longer asked and goes too
    assert out["follow"].tolist()[0] == 1.0 and out["follow"].iloc[1:].isna().all()
    got = sorted(map(tuple, log[["respondent", "column", "rule"]].values.tolist()))
    assert got == [(2, "reasons_1", "not_asked"), (2, "reasons_2", "not_asked"),
                   (3, "follow", "answered_not_asked"),
                   (3, "reasons_1", "answered_not_asked"), (3, "reasons_2", "not_asked")]
    assert check_responses(routed, df).table.query("respondent == 3")["question"].tolist() \
        == ["reasons"]


# -- clean ---------------------------------------------------------------------------------
def changed_cells(log):
    cells = log.dropna(subset=["column"])
    return sorted((r, c, rule) for r, c, rule in cells[["respondent", "column", "rule"]]
                  .itertuples(index=False))


def test_clean_defaults(q, raw):
    before, attrs = snapshot(raw)
    result = check_responses(q, raw)
    out, log = clean(q, raw, result)
    pd.testing.assert_frame_equal(raw, before)
    assert raw.attrs == attrs
    assert list(log.columns) == LOG_COLUMNS
    # the later copy of id 5 (row 23) is dropped, the first (row 4) kept
    assert 23 not in out.index and 4 in out.index and len(out) == len(raw) - 1
    dropped = log[log.column.isna()]
    assert dropped[["respondent", "row", "rule"]].values.tolist() == [[5, 23, "duplicate_id"]]
    assert changed_cells(log) == sorted([
        (20, "flag_straight_lining", "straight_lining"), (23, "flag_speeder", "speeder"),
        (32, "duration_sec", "non_numeric"), (13, "cust_type", "out_of_range"),
        (14, "age", "non_numeric"), (15, "age", "out_of_range"), (16, "age", "out_of_range"),
        (33, "sat_b", "non_numeric"), (19, "sat_b", "out_of_range"),
        (31, "compl_1", "out_of_range"), (27, "nps", "out_of_range"),
        (21, "compl_99", "exclusive_conflict"), (22, "compl_99", "exclusive_conflict"),
        (26, "cust_type_3_text", "answered_not_asked"), (17, "age", "answered_not_asked"),
        (34, "org_size", "answered_not_asked"), (25, "compl_2_text", "answered_not_asked"),
        (6, "sat_a", "missing_code"), (6, "sat_b", "missing_code"),
        (6, "sat_c", "missing_code"), (6, "sat_d", "missing_code"),
        (2, "sat_d", "missing_code")])
    # analysis-ready: numeric columns float, flags, derived variables
    for col in ("duration_sec", "age", "sat_b", "cust_type"):
        assert out[col].dtype == np.float64
    assert out["flag_speeder"].dtype == bool and out["flag_speeder"].sum() == 1
    assert out.loc[19, "flag_straight_lining"] and out["flag_straight_lining"].sum() == 1
    assert out.loc[0, ["age_band", "segment"]].tolist() == [2.0, 2.0]     # age 34
    assert out.loc[1, ["age_band", "segment"]].tolist() == [1.0, 1.0]     # age 22
    assert out.loc[2, "segment"] == 3.0 and pd.isna(out.loc[2, "age_band"])
    # 13: routing unknown (cust_type 7 -> NaN), so age 30 is kept; 21: nps kept (now asked)
    assert out.loc[12, "age"] == 30.0 and out.loc[20, "nps"] == 5.0
    assert out.loc[20, ["compl_1", "compl_99"]].tolist() == [1.0, 0.0]
    assert out["interviewer"].equals(raw.loc[out.index, "interviewer"])   # unknown: untouched
    assert out.attrs["cleaned"] == {"drop": ["duplicate_id"], "exclusive": "keep_others",
                                    "keep_missing_codes": False, "changes": len(log)}
    assert "unparsed" not in out.attrs and out.attrs["unknown_columns"] == ["interviewer"]


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx", ".sav"])
def test_cleaned_frame_round_trip(q, raw, tmp_path, suffix):
    out, _ = clean(q, raw)
    back = read_responses(write_responses(out, tmp_path / f"c{suffix}", q), q)
    expected = out.reset_index(drop=True)
    expected.attrs = {}
    back.attrs = {}
    pd.testing.assert_frame_equal(back, expected)


def test_derived_columns_in_the_file_are_recomputed_and_logged(q, raw):
    df = raw.assign(segment=1.0)
    out, log = clean(q, df)
    derived = log[log.rule == "derived"]
    assert (out["segment"] != 1.0).sum() == len(derived) > 0
    assert set(derived["column"]) == {"segment"}
    assert check_responses(q, df).table["question"].ne("segment").all()   # not checked


def test_clean_log_covers_every_change(q, raw):
    out, log = clean(q, raw)
    logged = {(row, col) for row, col in zip(log["row"], log["column"], strict=True)}
    for col in raw.columns:
        old = raw.loc[out.index, col]
        new = out[col]
        if pd.api.types.is_numeric_dtype(new):
            same = (pd.to_numeric(old, errors="coerce") == new) | (old.isna() & new.isna())
            same &= ~(pd.to_numeric(old, errors="coerce").isna() & old.notna())
        else:
            same = (old == new).fillna(False) | (old.isna() & new.isna())
        for row in out.index[~same.to_numpy(dtype=bool)]:
            assert (row, col) in logged, (row, col)
    # and every logged cell holds its logged new value
    for row, col, new in log.dropna(subset=["column"])[["row", "column", "new"]].itertuples(
            index=False):
        if row in out.index:
            got = out.loc[row, col]
            assert (pd.isna(got) and pd.isna(new)) or got == new, (row, col, got, new)


def test_clean_drop_options(q, raw):
    out, log = clean(q, raw, drop=("duplicate_id", "speeder", "straight_lining"))
    assert not {22, 19, 23} & set(out.index)
    assert sorted(log[log.column.isna()]["rule"]) == ["duplicate_id", "speeder",
                                                     "straight_lining"]
    out, _ = clean(q, raw, drop=())
    assert len(out) == len(raw)
    with pytest.raises(ResponseDataError, match=r"cannot drop on 'out_of_range'"):
        clean(q, raw, drop=["out_of_range"])


def test_clean_log_types(q, raw):
    """The log is typed as pandas types one frame per change (the log is built once at
    the end): ids as read (text ids as text), the column name None for a dropped row."""
    _, log = clean(q, raw)
    assert log["respondent"].dtype == object and log["respondent"].map(type).eq(int).all()
    assert log["row"].dtype == object and log["column"].dtype == object
    assert log["column"].iloc[0] is None and log["rule"].iloc[0] == "duplicate_id"
    assert log["rule"].dtype == "str" and log["action"].dtype == "str"
    assert log["old"].dtype == object and log["new"].dtype == object
    assert log.index.equals(pd.RangeIndex(len(log)))
    text_ids = raw.assign(**{q.roles.respondent_id: "r" + raw[q.roles.respondent_id]
                             .astype(str)})
    _, log = clean(q, text_ids, drop=())
    assert log["respondent"].dtype == "str" and log["column"].dtype == "str"
    nps = log[log["column"] == "nps"]
    assert nps[["respondent", "old"]].values.tolist() == [["r27", 11.0]]


@pytest.mark.parametrize(("mode", "r21", "r22", "nps21"), [
    ("keep_others", [1.0, 0.0, 0.0], [1.0, 1.0, 0.0], 5.0),
    ("keep_exclusive", [0.0, 0.0, 1.0], [0.0, 0.0, 1.0], np.nan),   # nps then not asked
    ("set_missing", [np.nan] * 3, [np.nan] * 3, 5.0),               # routing unknown
])
def test_clean_exclusive_modes(q, raw, mode, r21, r22, nps21):
    out, log = clean(q, raw, exclusive=mode)
    cols = ["compl_1", "compl_2", "compl_99"]
    np.testing.assert_array_equal(out.loc[20, cols].to_numpy(float), r21)
    np.testing.assert_array_equal(out.loc[21, cols].to_numpy(float), r22)
    np.testing.assert_array_equal(out.loc[20, "nps"], nps21)
    if mode == "keep_exclusive":  # the cascade is logged as a routing change
        assert ((log.respondent == 21) & (log.column == "nps")
                & (log.rule == "answered_not_asked")).sum() == 1
    with pytest.raises(ResponseDataError, match="exclusive='x' is not one of"):
        clean(q, raw, exclusive="x")


def test_clean_keep_missing_codes_and_recheck(q, raw):
    out, log = clean(q, raw, keep_missing_codes=True)
    assert out.loc[5, "sat_a"] == 9.0 and "missing_code" not in set(log["rule"])
    again = check_responses(q, out)
    left = again.table
    assert set(left[left.rule == "unknown_column"]["question"]) == {"interviewer"}  # not flags
    assert not set(left["rule"]) & {"non_numeric", "out_of_range", "exclusive_conflict",
                                    "duplicate_id"}
    # what remains of routing is caused by values clean set to NaN
    touched = set(log["respondent"])
    routing = left[left.rule.isin(["asked_not_answered", "answered_not_asked"])]
    assert set(routing["respondent"]) - {18, 28, 29} <= touched   # 18, 28, 29: planted


def test_clean_reuses_result_thresholds_and_refuses_foreign_results(q, raw, good):
    strict = check_responses(q, raw, speeder_ratio=0.85)
    out, _ = clean(q, raw, strict)
    assert out["flag_speeder"].sum() == 3                     # 23 (100 s), 4 (480), 8 (505)
    partial = check_responses(q, raw, speeder_ratio=0.85, rules=["speeder"])
    out2, log2 = clean(q, raw, partial)                       # recomputed with its thresholds
    assert out2["flag_speeder"].sum() == 3 and (log2.rule == "out_of_range").sum() == 6
    with pytest.raises(ResponseDataError, match="computed on other data"):
        clean(q, raw, check_responses(q, good))
    with pytest.raises(ResponseDataError, match="CheckResult"):
        clean(q, raw, result="x")


# -- the demo survey -----------------------------------------------------------------------
def test_demo_every_planted_problem_found_and_nothing_else(demo_dir, pc_questionnaire):
    pc = pc_questionnaire
    df = read_responses(demo_dir / "responses.csv", pc)
    assert df.attrs["unknown_columns"] == [] and df.attrs["missing_columns"] == []
    result = check_responses(pc, df)
    planted = pd.read_csv(demo_dir / "planted_problems.csv")
    assert set(planted["rule"]) == {"straight_lining", "speeder", "out_of_range", "non_numeric",
                                    "answered_not_asked", "asked_not_answered",
                                    "exclusive_conflict", "duplicate_id"}
    expected = {(int(r), qq, rule) for r, qq, rule in
                planted[["resp_id", "question", "rule"]].itertuples(index=False)}
    t = result.table
    found = {(int(r), qq, rule) for r, qq, rule in
             t[["respondent", "question", "rule"]].itertuples(index=False)}
    assert found == expected
    out, log = clean(pc, df, result)
    assert out["resp_id"].is_unique and len(out) == len(df) - (planted.rule == "duplicate_id").sum()


def test_demo_clean_simulation_flags_nothing(pc_questionnaire, demo_clean_simulation):
    result = check_responses(pc_questionnaire, demo_clean_simulation.responses)
    assert result.table.empty, result.summary()


# -- CLI -----------------------------------------------------------------------------------
def test_cli_check_prints_summary_and_writes_table(tmp_path, capsys):
    out = tmp_path / "findings.csv"
    code = main(["check", str(FIX / "survey.yaml"), str(FIX / "raw.csv"), "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    assert "22 error(s), 3 warning(s)" in printed and "exclusive_conflict" in printed
    table = pd.read_csv(out)
    assert len(table) == 25 and list(table.columns[:6]) == ["respondent", "question", "rule",
                                                             "severity", "value", "message"]
    assert f"wrote 25 findings to {out}" in printed
    assert main(["check", str(FIX / "survey.yaml"), str(FIX / "raw.csv"), "--strict"]) == 1
    assert main(["check", str(FIX / "survey.yaml"), str(FIX / "clean.csv"), "--strict"]) == 0


@pytest.mark.parametrize(("data", "content", "pattern"), [
    ("nope.csv", None, r"nope\.csv: responses file not found; check the path"),
    ("bad.csv", b"resp_id,cust_type\n1,1,1\n\"2,1\n", r"bad\.csv"),
    ("bad.sav", b"\x00\x01garbage", r"bad\.sav: cannot read as SPSS"),
])
def test_cli_check_bad_input_exits_2(tmp_path, capsys, data, content, pattern):
    path = tmp_path / data
    if content is not None:
        path.write_bytes(content)
    code = main(["check", str(FIX / "survey.yaml"), str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("surveykit check: error:")
    assert re.search(pattern, err), err


def test_cli_check_bad_questionnaire_exits_2(tmp_path, capsys):
    assert main(["check", str(tmp_path / "missing.yaml"), str(FIX / "raw.csv")]) == 2
    assert "questionnaire file not found" in capsys.readouterr().err


def test_code_lookup_equals_numpy_isin_on_awkward_values():
    from surveykit.responses._check_arrays import _isin

    rng = np.random.default_rng(0)
    x = rng.integers(-5, 15, 20_000).astype(float)
    x[::7], x[::13], x[::17], x[::19] = np.nan, np.inf, -1e300, 9.3e18
    x[::11] += 0.5
    for codes in ([1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 99], [-3, -1, 2, 7],
                  [1.5, 2, 3], [], [7]):
        assert np.array_equal(_isin(x, codes), np.isin(x, codes)), codes
