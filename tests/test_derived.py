"""Derived variables with arithmetic: compute, construct scores, quantiles and cuts, segments
on them, the checks that refuse what cannot be computed, the NaN counts and the review text.

Every expected value is computed by hand in the comments next to it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from surveykit.errors import QuestionnaireError
from surveykit.questionnaire import questionnaire_from_text, render_markdown

SCALES = """id: perv
title: Perceived value
scales:
  agree7:
    codes: {1: Strongly disagree, 2: '2', 3: '3', 4: '4', 5: '5', 6: '6', 7: Strongly agree}
    missing: {99: Don't know}
  s10:
    codes: {1: Poor, 2: '2', 3: '3', 4: '4', 5: '5', 6: '6', 7: '7', 8: '8', 9: '9', 10: Best}
questions:
  - {id: overall, type: rating, text: Overall satisfaction, scale: s10}
  - id: perv
    type: grid
    text: How much do you agree?
    scale: agree7
    items:
      - {id: PERV1, text: Good value for money}
      - {id: PERV2, text: Worth what I paid}
      - {id: PERV3, text: Overpriced, reverse: true}
  - {id: spend, type: numeric, text: Spend last month, min: 0, unit: EUR}
  - {id: visits, type: numeric, text: Visits last month, min: 0}
  - {id: region, type: single, text: Region, options: {n: North, s: South}}
  - {id: shops, type: multi, text: Shops, options: {1: A, 2: B}}
  - {id: note, type: open, text: Anything else?, required: false}
constructs:
  - {id: value, label: Perceived value, items: [PERV1, PERV2, PERV3], min_items: 2}
"""
HEAD_LINES = SCALES.count("\n")  # 'derived:' is on the next line, its first entry after it

DERIVED = """derived:
  - {id: overall_100, label: Overall (0-100), compute: "(overall - 1) / 9 * 100"}
  - {id: per_visit, label: Spend per visit, compute: "spend / visits"}
  - {id: perv_sum, label: PERV1 + PERV2, compute: "sum(PERV1, PERV2, min=2)"}
  - {id: perv_mean, label: PERV mean, compute: "mean(PERV1, PERV2, 8 - PERV3, min=2)"}
  - {id: value_score, label: Perceived value score, construct: value}
  - {id: value_100, label: Perceived value index, construct: value, scale_100: true}
  - id: value_half
    label: Perceived value (median split)
    from: value_score
    quantiles: 2
    labels: [Low value, High value]
  - {id: value_q4, label: Perceived value quartiles, from: value_100, quantiles: 4}
  - id: value_cut
    label: Perceived value bands
    from: value_score
    cuts: [3.5, 5]
    labels: [Low, Middle, High]
  - id: value_seg
    label: Value segment
    rules:
      - {code: 1, label: High on PERV1 and PERV2, when: "PERV1 + PERV2 >= 10"}
      - {code: 2, label: High value and satisfied, when: "value_cut == 3 and overall_100 >= 50"}
      - {code: 3, label: Others who answered, when: "answered(PERV1)"}
"""


@pytest.fixture(scope="module")
def q():
    return questionnaire_from_text(SCALES + DERIVED, source="perv.yaml")


@pytest.fixture()
def df():
    # PERV1 99 is "don't know" (missing); PERV3 is reverse keyed: 8 - x = 7, 4, 1, 6, 6, 5
    return pd.DataFrame({
        "resp_id": [1, 2, 3, 4, 5, 6],
        "overall": [10, 1, 5, 7, None, 4],
        "PERV1": [7, 5, 2, 99, 6, None],
        "PERV2": [6, 5, 3, 4, None, None],
        "PERV3": [1, 4, 7, 2, 2, 3],
        "spend": [100, 50, 0, 30, 20, None],
        "visits": [4, 0, 0, 3, None, 2],
        "region": ["n", "s", "n", "s", "n", "s"],
        "shops_1": [1, 0, 1, 0, 1, 0],
        "shops_2": [0, 1, 1, 0, 0, 1],
        "note": [None] * 6,
    })


def values(out: pd.DataFrame, name: str) -> list:
    return [None if pd.isna(v) else round(float(v), 6) for v in out[name]]


# -- the values, by hand ------------------------------------------------------------------
def test_compute_arithmetic_with_missing_inputs_and_division_by_zero(q, df):
    out = q.derive(df)
    # (10-1)/9*100, (1-1)/9*100, (5-1)/9*100, (7-1)/9*100, missing, (4-1)/9*100
    assert values(out, "overall_100") == [100.0, 0.0, 44.444444, 66.666667, None, 33.333333]
    # 100/4; 50/0 and 0/0 divide by zero; 30/3; visits missing; spend missing: NaN, never inf
    assert values(out, "per_visit") == [25.0, None, None, 10.0, None, None]
    assert not np.isinf(out["per_visit"]).any()


def test_sum_and_mean_with_a_minimum_of_answers(q, df):
    out = q.derive(df)
    # sum of PERV1 and PERV2, both needed: 13, 10, 5; PERV1 don't know; PERV2 empty; both empty
    assert values(out, "perv_sum") == [13.0, 10.0, 5.0, None, None, None]
    # mean of PERV1, PERV2, 8 - PERV3 with at least 2: (7+6+7)/3, (5+5+4)/3, (2+3+1)/3,
    # (4+6)/2 (PERV1 don't know), (6+6)/2, only 5 answered -> NaN
    assert values(out, "perv_mean") == [6.666667, 4.666667, 2.0, 5.0, 6.0, None]


def test_construct_score_applies_reverse_keys_and_min_items(q, df):
    out = q.derive(df)
    hand = [(7 + 6 + 7) / 3, (5 + 5 + 4) / 3, (2 + 3 + 1) / 3, (4 + 6) / 2, (6 + 6) / 2, None]
    assert values(out, "value_score") == [None if h is None else round(h, 6) for h in hand]
    pd.testing.assert_series_equal(out["value_score"], out["perv_mean"], check_names=False)
    assert q.variable("value_score").min == 1.0 and q.variable("value_score").max == 7.0


def test_construct_score_is_the_measurement_construct_score(q, df):
    """One definition: measurement.construct_scores gives the same numbers (on data where
    the don't-know code is already missing, as after clean())."""
    from surveykit.measurement import construct_scores

    clean = df.assign(PERV1=df["PERV1"].mask(df["PERV1"] == 99))
    ours = q.construct_score(clean, "value")
    theirs = construct_scores(clean, q)["value"]
    np.testing.assert_allclose(ours.to_numpy(), theirs.to_numpy(), equal_nan=True)


def test_construct_score_rescaled_to_0_100(q, df):
    out = q.derive(df)
    # (score - 1) / (7 - 1) * 100
    hand = [(s - 1) / 6 * 100 for s in (20 / 3, 14 / 3, 2.0, 5.0, 6.0)] + [None]
    assert values(out, "value_100") == [None if h is None else round(h, 6) for h in hand]
    assert (q.variable("value_100").min, q.variable("value_100").max) == (0.0, 100.0)


def test_median_split_quartiles_and_cuts(q, df):
    out = q.derive(df)
    # scores 6.67, 4.67, 2, 5, 6: median 5; a score on the median goes to the upper half
    assert values(out, "value_half") == [2.0, 1.0, 1.0, 2.0, 2.0, None]
    assert q.labels("value_half") == {1: "Low value", 2: "High value"}
    # 0-100 scores 94.4, 61.1, 16.7, 66.7, 83.3: quartile cut points (linear) 61.1, 66.7,
    # 83.3; code = 1 + the number of cut points at or below the score
    assert values(out, "value_q4") == [4.0, 2.0, 1.0, 3.0, 4.0, None]
    assert q.labels("value_q4")[1] == "group 1 of 4 (lowest)"
    # cuts 3.5 and 5: x < 3.5 -> 1, 3.5 <= x < 5 -> 2, x >= 5 -> 3
    assert values(out, "value_cut") == [3.0, 2.0, 1.0, 3.0, 3.0, None]
    assert q.labels("value_cut") == {1: "Low", 2: "Middle", 3: "High"}


def test_segments_from_arithmetic_and_derived_numbers(q, df):
    out = q.derive(df)
    # rule 1: PERV1 + PERV2 >= 10: 13 and 10 yes, 5 no, don't know / empty: false
    # rule 2: value_cut 3 and overall_100 >= 50: respondent 4 (66.7); respondent 5 has no overall
    # rule 3: PERV1 answered (respondents 3 and 5); respondent 6 matches nothing
    assert values(out, "value_seg") == [1.0, 1.0, 3.0, 2.0, 3.0, None]


def test_derive_leaves_the_input_alone_and_adds_in_declared_order(q, df):
    before = df.copy()
    out = q.derive(df)
    pd.testing.assert_frame_equal(df, before)
    assert list(out.columns) == [*df.columns, *(d.id for d in q.derived)]


def test_quantiles_with_ties_and_without_values():
    q = questionnaire_from_text(SCALES + """derived:
  - {id: half, label: Half, from: visits, quantiles: 2}
  - {id: third, label: Third, from: visits, quantiles: 3}
""")
    tied = pd.DataFrame({"visits": [1, 2, 2, 2, 3, None]})
    out = q.derive(tied)
    # median 2: every 2 goes to the upper half, so the halves are 1 and 4 respondents
    assert values(out, "half") == [1.0, 2.0, 2.0, 2.0, 2.0, None]
    # tertile cut points 2 and 2: nobody is in the middle group
    assert values(out, "third") == [1.0, 3.0, 3.0, 3.0, 3.0, None]
    empty = q.derive(pd.DataFrame({"visits": [None, None]}))
    assert empty["half"].isna().all()


def test_defining_variables_of_computed_and_construct_scores(q):
    assert q.defining_variables("per_visit") == ["spend", "visits"]
    assert q.defining_variables("value_half") == ["PERV1", "PERV2", "PERV3", "value_score"]
    assert set(q.defining_variables("value_seg")) == {
        "PERV1", "PERV2", "PERV3", "overall", "overall_100", "value_score", "value_cut"}


# -- the NaN counts: derive says why, the check step reports them ----------------------------
def test_derived_missing_says_why_each_value_is_missing(q, df):
    why = q.derived_missing(df)
    assert why.index.equals(df.index) and list(why.columns) == [d.id for d in q.derived]
    assert why["per_visit"].tolist() == [None, "division by zero", "division by zero", None,
                                         "missing input", "missing input"]
    counts = why.apply(pd.Series.value_counts).fillna(0).astype(int)
    assert counts.loc["division by zero", "per_visit"] == 2
    assert counts.loc["missing input", "per_visit"] == 2
    assert counts.loc["missing input", "perv_sum"] == 3
    assert counts.loc["missing input", "value_score"] == 1
    assert counts.loc["no rule matched", "value_seg"] == 1
    # a value is missing exactly where a reason is given
    out = q.derive(df)
    for name in why.columns:
        assert (why[name].notna() == out[name].isna()).all(), name


def test_overflow_is_missing_and_said_so():
    q = questionnaire_from_text(SCALES + """derived:
  - {id: huge, label: Huge, compute: "spend%s"}
""" % (" * 1000000000000000" * 25))
    out = q.derive(pd.DataFrame({"spend": [1.0, 0.0]}))
    assert np.isnan(out["huge"].iloc[0]) and out["huge"].iloc[1] == 0
    assert q.derived_missing(pd.DataFrame({"spend": [1.0]}))["huge"].tolist() == [
        "not a finite number"]


def test_the_check_counts_derived_values_left_missing(q, df):
    from surveykit.responses import RULES, check_responses

    assert RULES["derived_missing"][0] == "info"
    result = check_responses(q, df)
    found = result.table[result.table["rule"] == "derived_missing"]
    assert set(found["severity"]) == {"info"}
    per_visit = found[found["question"] == "per_visit"]
    assert per_visit["respondent"].tolist() == [2, 3, 5, 6]
    messages = per_visit["message"].tolist()
    assert messages[0] == "per_visit (Spend per visit) is empty: division by zero"
    assert messages[2].endswith("missing input (no valid answer: visits)")
    row = found[(found["question"] == "perv_sum") & (found["respondent"] == 4)].iloc[0]
    assert "no valid answer: PERV1" in row["message"]  # a don't-know is not a valid answer
    summary = result.summary_frame().set_index("rule").loc["derived_missing"]
    # per_visit 4, overall_100 1, perv_sum 3, perv_mean 1, value_score 1, value_100 1
    assert summary["findings"] == 11 and summary["respondents"] == 5
    assert result.n_errors == int((result.table["severity"] == "error").sum())  # info apart


# -- refusals, located ------------------------------------------------------------------------
@pytest.mark.parametrize("entry, path, fragment", [
    ('{id: d, label: D}', "derived[0]",
     "needs exactly one of 'bands', 'rules', 'compute', 'construct', 'quantiles' or 'cuts'"),
    ('{id: d, label: D, compute: "spend", construct: value}', "derived[0]",
     "it has 'compute' and 'construct'"),
    ('{id: d, label: D, compute: "spend + region"}', "derived[0].compute",
     "'region' has text codes and cannot be used in arithmetic; compare it instead"),
    ('{id: d, label: D, compute: "spend * note"}', "derived[0].compute",
     "'note' is an open question and cannot be used in arithmetic; use answered(note)"),
    ('{id: d, label: D, compute: "shops + 1"}', "derived[0].compute",
     "'shops' is a multi question and cannot be used in arithmetic; use its option columns "
     "such as shops_1"),
    ('{id: d, label: D, compute: "perv / 2"}', "derived[0].compute",
     "'perv' is a grid question and cannot be used in arithmetic; use its items, e.g. "
     "mean(PERV1, PERV2, PERV3, min=1)"),
    ('{id: d, label: D, compute: "spend / visitz"}', "derived[0].compute",
     "compute of 'd' refers to unknown variable 'visitz' (did you mean 'visits'?)"),
    ('{id: d, label: D, compute: "mean(PERV1, PERV2, min=3)"}', "derived[0].compute",
     "mean(): min=3 must be between 1 and the 2 values listed"),
    ('{id: d, label: D, compute: "sum(PERV1, PERV2, min=0)"}', "derived[0].compute",
     "sum(): min=0 must be between 1 and the 2 values listed"),
    ('{id: d, label: D, compute: "spend * 1' + "0" * 308 + '"}', "derived[0].compute",
     "number 10000000000000000000...00000000 has 309 digits (at most 30)"),
    ('{id: d, label: D, compute: "spend > 100"}', "derived[0].compute",
     "is a condition (true or false), not a number"),
    ('{id: d, label: D, compute: "2 * 3"}', "derived[0].compute",
     "the expression reads no variable"),
    ('{id: d, label: D, from: spend, compute: "spend"}', "derived[0].from",
     "'from' applies to bands, quantiles and cuts only"),
    ('{id: d, label: D, construct: valeu}', "derived[0].construct",
     "unknown construct 'valeu' (did you mean 'value'?); declared constructs: mixed, value"),
    ('{id: d, label: D, construct: mixed}', "derived[0].construct",
     "construct 'mixed': reverse-keyed item 'spend' has no scale to reverse it on"),
    ('{id: d, label: D, construct: mixed, scale_100: true}', "derived[0].scale_100",
     "scale_100 needs every item of construct 'mixed' on one scale; its items are: "
     "PERV1 1-7, overall 1-10, spend no scale"),
    ('{id: d, label: D, compute: "spend", scale_100: true}', "derived[0].scale_100",
     "'scale_100' applies to construct scores only"),
    ('{id: d, label: D, quantiles: 2}', "derived[0]",
     "quantiles of 'd' need 'from: <numeric question or derived variable>'"),
    ('{id: d, label: D, from: region, quantiles: 2}', "derived[0].from",
     "quantiles need a numeric question; 'region' has text codes"),
    ('{id: d, label: D, from: note, cuts: [1]}', "derived[0].from",
     "cuts need a numeric question; 'note' is open"),
    ('{id: d, label: D, from: spend, quantiles: 1}', "derived[0].quantiles",
     "greater than or equal to 2"),
    ('{id: d, label: D, from: spend, quantiles: 3, labels: [low, high]}', "derived[0].labels",
     "2 label(s) for 3 groups; give one label per group, lowest first"),
    ('{id: d, label: D, from: spend, cuts: [5, 5]}', "derived[0].cuts",
     "cut points must increase, got 5, 5"),
    ('{id: d, label: D, from: spend, cuts: [.inf]}', "derived[0].cuts[0]",
     "inf is not a usable number; give a finite number of at most 1e15"),
    ('{id: d, label: D, from: spend, bands: [{code: 1, label: x, max: 1.0e+16}]}',
     "derived[0].bands[0].max", "1e+16 is not a usable number"),
    ('{id: d, label: D, from: spend, bands: [{code: 1, label: x}], labels: [x]}',
     "derived[0].labels", "'labels' name the groups of quantiles or cuts"),
    ('{id: d, label: D, rules: [{code: 1, label: x, when: "region + 1 > 1"}]}',
     "derived[0].rules[0].when", "'region' has text codes and cannot be used in arithmetic"),
    ('{id: d, label: D, rules: [{code: 1, label: x, when: "spend * 1e99 > 1"}]}',
     "derived[0].rules[0].when", "number 1e99 is too large (at most 1e15 in absolute value)"),
])
def test_each_refusal_is_located_with_its_message(entry, path, fragment):
    text = (SCALES.replace("constructs:\n", "constructs:\n  - {id: mixed, label: Mixed, "
                           "items: [PERV1, overall, spend], reverse: [spend]}\n")
            + "derived:\n  - " + entry + "\n")
    with pytest.raises(QuestionnaireError) as info:
        questionnaire_from_text(text, source="t.yaml")
    match = [p for p in info.value.problems if p.path == path]
    assert match, [str(p) for p in info.value.problems]
    assert any(fragment in p.message for p in match), [p.message for p in match]
    # the entry is on the line after 'derived:'; one line was added for construct 'mixed'
    assert match[0].line == HEAD_LINES + 3 and match[0].file == "t.yaml"


def test_a_derived_text_code_cannot_be_computed_with():
    text = SCALES + """derived:
  - {id: tier, label: Tier, rules: [{code: top, label: Top, when: "spend > 100"}]}
  - {id: d, label: D, compute: "tier + 1"}
  - {id: e, label: E, from: tier, cuts: [1]}
"""
    with pytest.raises(QuestionnaireError) as info:
        questionnaire_from_text(text, source="t.yaml")
    got = {(p.path, p.line): p.message for p in info.value.problems}
    assert "has text codes and cannot be used in arithmetic" in got[
        ("derived[1].compute", HEAD_LINES + 3)]
    assert "cuts need a numeric question; 'tier' has text codes" in got[
        ("derived[2].from", HEAD_LINES + 4)]


def test_arithmetic_in_routing_is_checked_like_rules():
    text = SCALES.replace("  - {id: note, type: open, text: Anything else?, required: false}",
                          '  - {id: note, type: open, text: Anything else?, required: false, '
                          'ask_if: "spend / visits > region * 2"}')
    with pytest.raises(QuestionnaireError) as info:
        questionnaire_from_text(text, source="t.yaml")
    (p,) = info.value.problems
    assert p.path == "questions[6].ask_if" and p.line == text.count("\n") - 2
    assert "'region' has text codes and cannot be used in arithmetic" in p.message
    ok = SCALES.replace("  - {id: note, type: open, text: Anything else?, required: false}",
                        '  - {id: note, type: open, text: Anything else?, required: false, '
                        'ask_if: "spend / visits > 10"}')
    q = questionnaire_from_text(ok)
    asked = q.asked(pd.DataFrame({"spend": [100, 100, 5], "visits": [5, 0, 1]}), "note")
    assert asked.tolist() == [True, False, False]  # 20; division by zero; 5


# -- the review document --------------------------------------------------------------------
def test_render_describes_the_new_kinds_in_plain_words(q):
    md = render_markdown(q)
    assert ("Computed as (Overall satisfaction - 1) / 9 \u00d7 100; missing when an input is "
            "missing or on division by zero.") in md
    assert ("Computed as the sum (prorated) of Good value for money and Worth what I paid "
            "(both answered)") in md
    assert "the mean of Good value for money, Worth what I paid and 8 - Overpriced (at least " \
           "2 of 3 answered)" in md
    assert ("Mean of Perceived value items (PERV1, PERV2, PERV3; reverse-keyed: PERV3), at "
            "least 2 of 3 answered, rescaled to 0-100 from the scale's 1-7.") in md
    assert "Median split of Perceived value score (value\\_score): unweighted sample quantiles" \
        in md
    assert "| 1 | Low value | below the median |" in md
    assert "| 2 | Middle | 3.5 to under 5 |" in md
    assert "| 1 | High on PERV1 and PERV2 | Good value for money + Worth what I paid is at " \
           "least 10 |" in md
    # a number has no table of codes
    part = md[md.index("### `overall_100`"):md.index("### `per_visit`")]
    assert "| Code |" not in part
