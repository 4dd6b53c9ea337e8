"""No silent coercion (issue 11, items 4 and 8): values are never changed or dropped without
a word - booleans in a rating, Excel formulas without a value, SPSS user-missing codes,
infinite values in estimates, groups without answers, zero raking targets, and PII
categories in weighting messages."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from surveykit.errors import (
    EstimationError,
    ResponseDataError,
    SurveykitWarning,
    WeightingError,
)
from surveykit.estimates import compare, estimate
from surveykit.questionnaire import questionnaire_from_text
from surveykit.responses import check_responses, clean, read_responses, type_responses
from surveykit.weighting import post_stratify, rake

Q_TEXT = """
id: coerce
title: Coercion
scales:
  ten:
    codes: {0: "0", 1: "1", 2: "2", 3: "3", 4: "4", 5: "5", 6: "6", 7: "7", 8: "8", 9: "9",
            10: "10"}
    missing:
      - {code: 98, label: "Don't know", kind: dont_know}
      - {code: 99, label: Refused, kind: refused}
questions:
  - {id: sat, type: rating, text: Satisfaction, scale: ten}
  - id: feat
    type: multi
    text: Features used
    required: false
    options: {1: A, 2: B}
  - {id: zip, type: open, text: Postcode, pii: true, required: false}
roles:
  respondent_id: resp_id
"""


@pytest.fixture(scope="module")
def q():
    return questionnaire_from_text(Q_TEXT)


# -- booleans ---------------------------------------------------------------------------------
def test_bool_in_a_rating_is_reported_not_made_0_1(q, tmp_path):
    path = tmp_path / "b.parquet"
    pd.DataFrame({"resp_id": [1, 2, 3], "sat": [True, False, True],
                  "feat_1": [True, False, True], "feat_2": [False, False, True]}).to_parquet(path)
    df = read_responses(path, q)
    assert df["sat"].tolist() == ["True", "False", "True"]          # kept, as text
    assert df.attrs["unparsed"] == {"sat": 3}
    assert df["feat_1"].tolist() == [1.0, 0.0, 1.0]                # ticked / not ticked
    t = check_responses(q, df).table
    bad = t[t["rule"] == "non_numeric"]
    assert bad["respondent"].tolist() == [1, 2, 3]
    assert "sat = 'True' is not a number" in bad["message"].iloc[0]
    out, log = clean(q, df)
    assert out["sat"].isna().all()
    assert (log["rule"] == "non_numeric").sum() == 3


def test_type_responses_bool_rating(q):
    df, info = type_responses(pd.DataFrame({"resp_id": [1], "sat": [True]}), q)
    assert df["sat"].tolist() == ["True"] and info["unparsed"] == {"sat": 1}


# -- Excel formulas without a computed value -----------------------------------------------------
def test_excel_formula_without_value_is_an_error(q, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Data"
    ws.append(["resp_id", "sat"])
    ws.append([101, 7])
    ws.append([102, "=B2+1"])  # openpyxl stores no computed value
    path = tmp_path / "f.xlsx"
    wb.save(path)
    with pytest.raises(ResponseDataError) as err:
        read_responses(path, q)
    msg = str(err.value)
    assert "f.xlsx: sheet 'Data' cell B3 (column 'sat', resp_id 102) holds the formula " \
           "'=B2+1' but no computed value" in msg
    assert "open and save the workbook in Excel or LibreOffice" in msg


def test_excel_text_that_looks_like_a_formula_is_fine(q, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["resp_id", "sat", "zip"])
    ws.append([1, 7, "=not a formula"])
    ws["C2"].data_type = "s"
    path = tmp_path / "t.xlsx"
    wb.save(path)
    assert read_responses(path, q)["zip"].tolist() == ["=not a formula"]


def test_excel_rows_are_cited_by_sheet_row(q, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["resp_id", "sat"])
    ws.append([5, 7])
    ws.append([None, None])  # an empty row: skipped, but the sheet rows stay right
    ws.append([5, 8])
    path = tmp_path / "d.xlsx"
    wb.save(path)
    df = read_responses(path, q)
    msg = check_responses(q, df).table.query("rule == 'duplicate_id'")["message"].iloc[0]
    assert "(rows 0, 1) at d.xlsx sheet rows 2, 4" in msg


# -- SPSS user-missing codes ------------------------------------------------------------------
def test_spss_user_missing_codes_are_mapped_where_labels_match(q, tmp_path):
    import pyreadstat

    df = pd.DataFrame({"resp_id": [1.0, 2.0, 3.0, 4.0, 5.0],
                       "sat": [7.0, -9.0, -8.0, -9.0, -1.0]})
    path = tmp_path / "m.sav"
    pyreadstat.write_sav(df, str(path),
                         variable_value_labels={"sat": {-9.0: "REFUSED", -8.0: "Not asked",
                                                        -1.0: "Don't know"}},
                         missing_ranges={"sat": [-9.0, -8.0, -1.0]})
    with pytest.warns(SurveykitWarning) as rec:
        back = read_responses(path, q)
    text = str(rec[0].message)
    assert "sat -9 'REFUSED' -> 99 (2 value(s))" in text
    assert "sat -1 \"Don't know\" -> 98 (1 value(s))" in text
    assert "match no missing code" in text and "sat -8 'Not asked' (1 value(s))" in text
    assert back["sat"].tolist() == [7.0, 99.0, -8.0, 99.0, 98.0]
    assert back.attrs["spss_missing"]["unmatched"] == [
        {"column": "sat", "spss_code": -8, "label": "Not asked", "count": 1}]
    t = check_responses(q, back).table
    assert t.loc[t["rule"] == "out_of_range", "respondent"].tolist() == [3]


# -- estimates ------------------------------------------------------------------------------------
def test_infinite_values_are_an_estimation_error():
    df = pd.DataFrame({"x": [1.0, np.inf, 3.0, -np.inf], "g": [1, 1, 2, 2]})
    with pytest.raises(EstimationError, match=r"'x' holds 2 infinite value\(s\) \(row\(s\) 1, "
                       r"3\).*set it to NaN"):
        estimate(df, "x")
    with pytest.raises(EstimationError, match="infinite"):
        compare(df, "x", by="g")


def test_empty_group_is_stated_in_the_result_and_nothing_warns():
    # issue 12 item 6: an empty group (a routed question) is an expected condition,
    # stated in the result's attrs; neither numpy nor the package warns
    df = pd.DataFrame({"x": [1.0, 2.0, np.nan, np.nan, 4.0, 5.0], "g": [1, 1, 2, 2, 3, 3]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = estimate(df, "x", by="g")
        cmp_ = compare(df, "x", by="g")
    assert out["group"].tolist() == [1, 3]
    assert out.attrs["empty_groups"] == {"x by g": [2]}
    assert cmp_.attrs["empty_groups"] == {"x by g": [2]}


def test_no_warning_without_empty_groups():
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "g": [1, 1, 2, 2]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = estimate(df, "x", by="g", stat="proportion")
    assert "empty_groups" not in out.attrs


# -- weighting ------------------------------------------------------------------------------
def test_zero_target_for_present_category_warns_with_count():
    df = pd.DataFrame({"region": [1, 1, 2, 3, 3, 3]})
    with pytest.warns(SurveykitWarning, match=r"margin 'region': target category region=3 has "
                      r"a target of 0 but 3 respondent\(s\).*weight 0"):
        r = rake(df, {"region": {1: 50, 2: 50, 3: 0}})
    assert r.weights.tolist()[3:] == [0.0, 0.0, 0.0]


def test_pii_categories_are_not_printed(q, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("resp_id,sat,zip\n1,7,AB1 2CD\n2,8,XY9 8ZZ\n3,6,AB1 2CD\n")
    df = read_responses(path, q)
    assert df.attrs["pii_columns"] == ["zip"]
    with pytest.raises(WeightingError) as err:
        rake(df, {"zip": {"AB1 2CD": 100}})
    assert "XY9" not in str(err.value) and "zip=[pii hidden] has 1 respondent" in str(err.value)
    with pytest.raises(WeightingError) as err:
        post_stratify(df, {"AB1 2CD": 50, "XY9 8ZZ": 30, "QQ1 1QQ": 20}, variables="zip")
    assert "QQ1" not in str(err.value) and "[pii hidden]" in str(err.value)
    with pytest.warns(SurveykitWarning) as rec:
        rake(df, {"zip": {"AB1 2CD": 100, "XY9 8ZZ": 0}})
    assert "XY9" not in str(rec[0].message)
    with pytest.raises(WeightingError, match="XY9"):  # pii=[]: the caller says it may show
        rake(df, {"zip": {"AB1 2CD": 100}}, pii=[])
