"""The questionnaire schema: loading, located errors (all at once), the Questionnaire API."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from jsonschema import Draft202012Validator
from ruamel.yaml import YAML

from surveykit.errors import QuestionnaireError
from surveykit.questionnaire import (
    json_schema,
    load_questionnaire,
    questionnaire_from_dict,
    questionnaire_from_text,
)

FIX = Path(__file__).resolve().parent / "fixtures" / "questionnaires"


@pytest.fixture(scope="module")
def q(all_types_questionnaire):
    """``valid_all_types.yaml``, loaded once for the session (tests/conftest.py)."""
    return all_types_questionnaire


def problems_of(text: str) -> list:
    with pytest.raises(QuestionnaireError) as info:
        questionnaire_from_text(text, source="t.yaml")
    return info.value.problems


def only_problem(text: str):
    problems = problems_of(text)
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


HEAD = "id: t\ntitle: T\n"


# -- a valid file ---------------------------------------------------------------------------
def test_valid_file_loads_with_metadata(q):
    assert (q.id, q.title, q.model.version, q.model.language) == (
        "fixture_all_types", "All question types", "2.1", "en")
    assert [x.id for x in q.questions] == [
        "cust_type", "age", "channel", "main_channel", "product", "overall", "nps", "ranking",
        "comment", "email"]
    assert q.source.endswith("valid_all_types.yaml")
    assert q.line_of("questions", 1, "ask_if") == 43


def test_variables_are_every_data_column_in_order(q):
    assert list(q.variables()) == [
        "resp_id", "crm_id", "design_weight", "cust_type", "age", "channel_1", "channel_2",
        "channel_3", "channel_3_text", "channel_9", "main_channel", "sat_speed", "sat_screen",
        "sat_noise", "overall", "nps", "ranking_1", "ranking_2", "ranking_3", "comment",
        "email", "age_band", "segment"]
    kinds = {name: v.kind for name, v in q.variables().items()}
    assert kinds["resp_id"] == "id" and kinds["crm_id"] == "customer_id"
    assert kinds["design_weight"] == "weight"
    assert kinds["channel_3_text"] == "other_text" and kinds["channel_9"] == "multi_option"
    assert kinds["sat_noise"] == "grid_item" and kinds["ranking_2"] == "rank_option"
    assert kinds["segment"] == "derived" and kinds["nps"] == "nps"


def test_variable_fields(q):
    age = q.variable("age")
    assert (age.min, age.max, age.label, age.numeric) == (18, 99, "Age", True)
    noise = q.variable("sat_noise")
    assert noise.reverse and noise.scale == "sat5" and noise.question == "product"
    assert noise.value_labels[5] == "Very satisfied"
    assert set(noise.missing_codes) == {98, 99}
    assert noise.missing_codes[99].kind == "refused"
    assert q.variable("email").pii and not q.variable("comment").pii
    assert q.variable("comment").numeric is False
    rank = q.variable("ranking_1")
    assert (rank.min, rank.max, rank.value_labels) == (1, 2, {1: "Rank 1", 2: "Rank 2"})
    assert q.variable("nps").value_labels[0] == "0 - Not at all likely"
    with pytest.raises(KeyError, match="no column 'nope'"):
        q.variable("nope")


def test_scales_codes_and_top_box(q):
    sat = q.scale_of("sat_speed")
    assert sat.valid_codes == [1, 2, 3, 4, 5] and (sat.low, sat.high) == (1.0, 5.0)
    assert sat.favourable_codes == [5, 4]  # top-2-box by default on 5 points
    assert q.scale_of("main_channel").favourable_codes == [4]  # top_box: 1
    assert q.scale_of("nps").valid_codes == list(range(11))
    assert q.scale_of("age") is None and q.scale_of("unknown") is None


def test_labels_columns_and_pii(q):
    assert q.labels("overall") == {1: "Very dissatisfied", 2: "Dissatisfied", 3: "Neutral",
                                   4: "Satisfied", 5: "Very satisfied", 98: "Don't know",
                                   99: "Refused"}
    assert q.labels("channel_1") == {0: "Not selected", 1: "Selected"}
    assert q.labels("segment") == {1: "Young individuals", 2: "Other individuals",
                                   3: "Organisations"}
    assert q.columns_of("channel") == ["channel_1", "channel_2", "channel_3", "channel_3_text",
                                       "channel_9"]
    assert q.columns_of("product") == ["sat_speed", "sat_screen", "sat_noise"]
    assert q.pii_columns == ["email"]


def test_codebook_rows(q):
    cb = q.codebook()
    assert list(cb.columns) == ["variable", "question", "kind", "label", "codes",
                                "missing_codes", "min", "max", "reverse", "pii"]
    assert len(cb) == len(q.variables())
    row = cb.set_index("variable").loc["channel_9"]
    assert row["question"] == "channel" and row["label"] == "Channels: None of these"
    assert row["codes"] == "0 = Not selected; 1 = Selected"
    row = cb.set_index("variable").loc["overall"]
    assert row["missing_codes"] == "98 = Don't know (dont_know); 99 = Refused (refused)"


def test_constructs_and_roles(q):
    items, rev = q.construct_items("product_quality")
    assert items == ["sat_speed", "sat_screen", "sat_noise"] and rev == ["sat_noise"]
    c = q.constructs[0]
    assert c.min_items is None and c.required_items == 2  # half of 3, rounded up
    assert q.constructs[1].required_items == 2
    with pytest.raises(KeyError, match="no construct 'x'"):
        q.construct_items("x")
    r = q.roles
    assert (r.respondent_id, r.customer_id, r.base_weight) == ("resp_id", "crm_id",
                                                               "design_weight")
    assert r.weighting == ["cust_type", "age_band"] and r.segments == ["segment"]


def test_construct_reverse_list_adds_to_grid_reverse():
    text = HEAD + """
scales: {s: {codes: {1: a, 2: b, 3: c}}}
questions:
  - {id: g, type: grid, text: G, scale: s, items: [{id: i1, text: x}, {id: i2, text: y}]}
constructs:
  - {id: c, label: C, items: [i1, i2], reverse: [i2]}
"""
    q = questionnaire_from_text(text)
    assert q.construct_items("c") == (["i1", "i2"], ["i2"])


# -- routing, values and derived variables --------------------------------------------------
@pytest.fixture()
def df():
    return pd.DataFrame({
        "resp_id": [1, 2, 3, 4, 5, 6],
        "cust_type": [1, 1, 1, 2, np.nan, 1],
        "age": [20, 30, 45, np.nan, 22, 24.5],
        "channel_1": [1, 0, 0, 0, np.nan, 1],
        "channel_2": [0, 1, 0, 0, np.nan, 0],
        "channel_3": [0, 0, 0, 0, np.nan, 0],
        "channel_9": [0, 0, 1, 0, np.nan, 0],
        "overall": [5, 98, 2, 1, 99, 4],
        "nps": [10, 98, 3, 7, 0, 9],
    })


def test_valid_values_masks_declared_missing_codes(q, df):
    np.testing.assert_array_equal(q.valid_values(df, "overall").to_numpy(),
                                  [5, np.nan, 2, 1, np.nan, 4])
    np.testing.assert_array_equal(q.valid_values(df, "nps").to_numpy(),
                                  [10, np.nan, 3, 7, 0, 9])


def test_answered_and_asked(q, df):
    # don't know (98) counts as answered; a multi is answered when any option is ticked
    assert q.answered(df, "overall").tolist() == [True] * 6
    assert q.answered(df, "channel").tolist() == [True, True, True, False, False, True]
    assert q.asked(df, "age").tolist() == [True, True, True, False, False, True]
    assert q.asked(df, "main_channel").tolist() == [True, True, False, False, False, True]
    assert q.asked(df, "cust_type").tolist() == [True] * 6
    # overall <= 2 or nps 0-6: missing codes never satisfy a comparison
    assert q.asked(df, "comment").tolist() == [False, False, True, True, True, False]
    with pytest.raises(KeyError, match="no column of 'product'"):
        q.answered(df, "product")


def test_derive_bands_and_rules_without_touching_input(q, df):
    before = df.copy()
    out = q.derive(df)
    pd.testing.assert_frame_equal(df, before)
    # bands: 18-24, 25-40, 41+; 24.5 falls between bands 1 and 2 -> missing
    np.testing.assert_array_equal(out["age_band"].to_numpy(), [1, 2, 3, np.nan, 1, np.nan])
    # rules, first match wins: young individuals, other individuals, organisations
    np.testing.assert_array_equal(out["segment"].to_numpy(), [1, 2, 2, 3, np.nan, 2])
    assert list(out.columns) == [*df.columns, "age_band", "segment"]


def test_bands_share_a_boundary_first_band_wins():
    text = HEAD + """
questions: [{id: h, type: numeric, text: Hours}]
derived:
  - {id: hb, label: H, from: h, bands: [{code: 1, label: fast, max: 24},
                                        {code: 2, label: slow, min: 24}]}
"""
    q = questionnaire_from_text(text)
    out = q.derive(pd.DataFrame({"h": [0, 24, 24.5, 100, None]}))
    np.testing.assert_array_equal(out["hb"].to_numpy(), [1, 1, 2, 2, np.nan])


def test_text_coded_answers_and_segments_keep_their_codes():
    text = HEAD + """
questions:
  - {id: region, type: single, text: Region, options: {north: North, south: South},
     missing: {dk: {label: Don't know}}}
derived:
  - id: zone
    label: Zone
    rules: [{code: N, label: Northern, when: "region == 'north'"},
            {code: S, label: Southern, when: "region in ['south']"}]
  - id: zone_n
    label: Northern zone
    rules: [{code: 1, label: yes, when: "zone == 'N'"}]
"""
    q = questionnaire_from_text(text)
    assert q.variable("region").numeric is False
    df = pd.DataFrame({"region": ["north", "south", "dk", None]})
    assert q.valid_values(df, "region").tolist()[:2] == ["north", "south"]
    assert q.valid_values(df, "region").isna().tolist() == [False, False, True, True]
    out = q.derive(df)
    assert out["zone"].tolist()[:2] == ["N", "S"] and out["zone"].isna().tolist()[2:] == [True] * 2
    np.testing.assert_array_equal(out["zone_n"].to_numpy(), [1, np.nan, np.nan, np.nan])


# -- YAML 1.2 and text fields ---------------------------------------------------------------
def test_whole_float_codes_become_integers():
    q = questionnaire_from_text(HEAD + "questions: [{id: a, type: single, text: A, "
                                "options: [{code: 1.0, label: x}, {code: 2, label: y}]}]\n")
    assert q.labels("a") == {1: "x", 2: "y"} and q.variable("a").numeric


def test_yaml_1_2_keeps_yes_no_on_off_as_strings():
    q = load_questionnaire(FIX / "yaml12_booleans.yaml")
    assert q.labels("consent") == {1: "yes", 2: "no", 3: "on", 4: "off", 5: "Y", 6: "n"}
    assert q.labels("switch") == {"yes": "Yes please", "no": "No thanks"}
    assert q.columns_of("switch") == ["switch"]


def test_numbers_written_where_text_belongs_keep_their_text():
    q = load_questionnaire(FIX / "yaml12_booleans.yaml")
    assert q.model.version == "1.10"  # not 1.1
    assert q.labels("count") == {1: "1", 2: "2.50", 3: "10"}


def test_anchored_booleans_stay_booleans():
    text = HEAD + """
questions:
  - {id: a, type: open, text: A, required: &no false}
  - {id: b, type: open, text: B, required: *no}
"""
    q = questionnaire_from_text(text)
    assert q.question("a").required is False and q.question("b").required is False


# -- every schema error, located ------------------------------------------------------------
def test_many_errors_are_reported_at_once_with_file_line_and_path():
    with pytest.raises(QuestionnaireError) as info:
        load_questionnaire(FIX / "many_errors.yaml")
    got = {(p.line, p.path): p.message for p in info.value.problems}
    expected = {
        (7, "scales.sat5.missing"): "missing code 3 is also a valid answer code",
        (12, "questions[0].options"): "codes are not unique: 1 appears more than once",
        (18, "questions[1].scale"): "unknown scale 'agree5'",
        (19, "questions[2].id"): "duplicate id 'q1' (question); already used at "
                                 "questions[0].id, line 9",
        (26, "questions[3].ask_if"): "refers to 'q5', which is asked later",
        (31, "questions[4].ask_if"): "refers to unknown question 'q99'",
        (35, "questions[5].ask_if"): "question 'q6': call of \"__import__('os').system\" is "
                                     "not allowed",
        (40, "questions[6].colour"): "unknown field",
        (44, "questions[7]"): "unknown question type 'matrix'",
        (50, "constructs[0].items[2]"): "construct 'c1' refers to unknown item 'g3'",
    }
    for key, fragment in expected.items():
        assert key in got, f"{key} not reported; got {sorted(got)}"
        assert fragment in got[key]
    assert len(got) == len(expected)  # no follow-on noise (g1, g2 of the broken grid are known)
    text = str(info.value)
    assert text.startswith("10 problems found:")
    assert "many_errors.yaml:line 18: questions[1].scale: unknown scale 'agree5'" in text
    assert all(p.file.endswith("many_errors.yaml") for p in info.value.problems)


@pytest.mark.parametrize("body, path, line, fragment", [
    # duplicate ids: question vs grid item, generated multi column, derived, construct, role
    ("""
questions:
  - {id: a, type: open, text: A}
  - {id: g, type: grid, text: G, scale: s, items: [{id: a, text: x}]}
scales: {s: {codes: {1: x, 2: y}}}
""", "questions[1].items[0].id", 5, "duplicate id 'a' (item of grid 'g')"),
    ("""
questions:
  - {id: m, type: multi, text: M, options: {1: x, 2: y}}
  - {id: m_1, type: open, text: clash}
""", "questions[1].id", 5, "duplicate id 'm_1' (question); already used at "
     "questions[0].options[0]"),
    ("""
questions: [{id: a, type: open, text: A}]
derived: [{id: a, label: A, rules: [{code: 1, label: x, when: answered(a)}]}]
""", "derived[0].id", 4, "duplicate id 'a' (derived variable)"),
    ("""
questions: [{id: resp_id, type: open, text: A}]
""", "questions[0].id", 3, "duplicate id 'resp_id' (question); already used at "
     "roles.respondent_id"),
    # unknown scales and items
    ("""
scales: {sat5: {codes: {1: x, 2: y}}}
questions: [{id: a, type: rating, text: A, scale: sat4}]
""", "questions[0].scale", 4, "unknown scale 'sat4' (did you mean 'sat5'?)"),
    ("""
questions: [{id: a, type: numeric, text: A}]
constructs: [{id: c, label: C, items: [a, b]}]
""", "constructs[0].items[1]", 4, "construct 'c' refers to unknown item 'b'"),
    ("""
questions: [{id: a, type: open, text: A}]
constructs: [{id: c, label: C, items: [a]}]
""", "constructs[0].items[0]", 4, "'a' is a open question; constructs take grid items"),
    ("""
questions: [{id: a, type: numeric, text: A}]
constructs: [{id: c, label: C, items: [a], reverse: [b]}]
""", "constructs[0].reverse[0]", 4, "reverse-keyed 'b' is not one of the items"),
    ("""
questions: [{id: a, type: numeric, text: A}]
constructs: [{id: c, label: C, items: [a], min_items: 2}]
""", "constructs[0].min_items", 4, "min_items 2 exceeds the 1 items"),
    ("""
questions: [{id: a, type: numeric, text: A}]
constructs: [{id: c, label: C, items: [a, a]}]
""", "constructs[0].items", 4, "lists 'a' more than once"),
    # routing
    ("""
questions:
  - {id: a, type: single, text: A, options: {1: x, 2: y}, ask_if: a == 1}
""", "questions[0].ask_if", 4, "refers to 'a', which is asked at the same point"),
    ("""
questions:
  - {id: a, type: numeric, text: A}
  - {id: b, type: open, text: B, ask_if: "ag > 3"}
""", "questions[1].ask_if", 5, "unknown question 'ag' (did you mean 'a'?)"),
    ("""
questions:
  - {id: a, type: numeric, text: A}
  - {id: b, type: open, text: B, ask_if: "band == 1"}
derived: [{id: band, label: B, from: a, bands: [{code: 1, label: x, max: 5}]}]
""", "questions[1].ask_if", 5, "refers to derived variable 'band'; routing may only use "
     "questions asked earlier"),
    ("""
questions:
  - {id: m, type: multi, text: M, options: {1: x, 2: y}}
  - {id: b, type: open, text: B, ask_if: "m == 1"}
""", "questions[1].ask_if", 5, "'m' is a multi question and cannot be compared; "
     "use selected(m, code)"),
    ("""
questions:
  - {id: a, type: single, text: A, options: {1: x, 2: y}}
  - {id: b, type: open, text: B, ask_if: "selected(a, 1)"}
""", "questions[1].ask_if", 5, "selected(a, 1): 'a' is single, not a multi question"),
    ("""
questions:
  - {id: m, type: multi, text: M, options: {1: x, 2: y}}
  - {id: b, type: open, text: B, ask_if: "selected(m, 3)"}
""", "questions[1].ask_if", 5, "'m' has no option 3; its codes are 1, 2"),
    ("""
questions:
  - {id: a, type: numeric, text: A}
  - {id: b, type: open, text: B, ask_if: "a.real > 3"}
""", "questions[1].ask_if", 5, "question 'b': 'a.real' (Attribute) is not allowed"),
    # codes
    ("""
questions: [{id: a, type: multi, text: M, options: [{code: 1, label: x}, {code: 1, label: y}]}]
""", "questions[0].options", 3, "codes are not unique: 1 appears"),
    ("""
scales: {s: {codes: {1: a, 2: b}, missing: {9: x, 8: y}}}
questions: [{id: a, type: single, text: A, scale: s, missing: {9: z}}]
""", "questions[0].missing", 4, "missing codes are not unique: 9"),
    ("""
questions: [{id: a, type: nps, text: A, missing: {10: x}}]
""", "questions[0].missing", 3, "missing code 10 is also a valid answer code"),
    ("""
questions: [{id: a, type: multi, text: M, options: {1: {label: x, exclusive: true}}}]
""", "questions[0].options", 3, "every option is exclusive"),
    ("""
questions: [{id: a, type: single, text: A, options: {1: {label: x, exclusive: true}, 2: y}}]
""", "questions[0].options", 3, "'exclusive' only applies to multi questions"),
    ("""
scales: {s: {codes: {1: a, 2: b}, top_box: 2}}
questions: [{id: a, type: rating, text: A, scale: s}]
""", "scales.s.top_box", 3, "top_box 2 must be smaller than the number of codes (2)"),
    ("""
questions: [{id: a, type: single, text: A}]
""", "questions[0]", 3, "needs exactly one of 'options' or 'scale'"),
    ("""
questions: [{id: a, type: numeric, text: A, min: 5, max: 1}]
""", "questions[0].min", 3, "min 5.0 is greater than max 1.0"),
    ("""
questions: [{id: a, type: rank, text: A, options: {1: x, 2: y}, rank_max: 3}]
""", "questions[0].rank_max", 3, "rank_max 3 exceeds the 2 options"),
    ("""
questions: [{id: a, type: multi, text: A, options: {1: x, 2: y}, max_choices: 3}]
""", "questions[0].max_choices", 3, "max_choices 3 exceeds the 2 options"),
    # derived variables
    ("""
questions: [{id: a, type: open, text: A}]
derived: [{id: d, label: D, from: a, bands: [{code: 1, label: x}]}]
""", "derived[0].from", 4, "bands need a numeric question; 'a' is open"),
    ("""
questions: [{id: a, type: numeric, text: A}]
derived: [{id: d, label: D, from: b, bands: [{code: 1, label: x}]}]
""", "derived[0].from", 4, "unknown question 'b'"),
    ("""
questions: [{id: a, type: numeric, text: A}]
derived: [{id: d, label: D}]
""", "derived[0]", 4, "needs exactly one of 'bands', 'rules', 'compute', 'construct', "
       "'quantiles' or 'cuts'"),
    ("""
questions: [{id: a, type: numeric, text: A}]
derived: [{id: d, label: D, from: a, bands: [{code: 1, label: x}], cuts: [1]}]
""", "derived[0]", 4, "; it has 'bands' and 'cuts'"),
    ("""
questions: [{id: a, type: numeric, text: A}]
derived: [{id: d, label: D, compute: "a ** 2"}]
""", "derived[0].compute", 4, "derived 'd': operator '**' is not allowed"),
    ("""
questions: [{id: a, type: numeric, text: A}]
derived:
  - {id: d, label: D, rules: [{code: 1, label: x, when: "e == 1"}]}
  - {id: e, label: E, rules: [{code: 1, label: x, when: "a > 1"}]}
""", "derived[0].rules[0].when", 5, "refers to derived variable 'e', which is defined later"),
    ("""
questions: [{id: a, type: numeric, text: A}]
derived: [{id: d, label: D, from: a, bands: [{code: 1, label: x, min: 5, max: 1}]}]
""", "derived[0].bands[0]", 4, "band 'x' has min 5.0 > max 1.0"),
    # roles
    ("""
questions: [{id: a, type: numeric, text: A}]
roles: {weighting: [a]}
""", "roles.weighting[0]", 4, "weighting variable 'a' must be a single-choice question"),
    ("""
questions: [{id: a, type: single, text: A, options: {1: x}, pii: true}]
roles: {segments: [a]}
""", "roles.segments[0]", 4, "'a' is marked pii and cannot be a segments variable"),
    ("""
questions: [{id: a, type: single, text: A, options: {1: x}}]
roles: {segments: [b]}
""", "roles.segments[0]", 4, "unknown variable 'b'"),
    # the schema itself
    ("""
questions: [{id: a, type: open, txt: A}]
""", "questions[0].text", 3, "required field is missing"),
    ("""
questions: [{id: 1a, type: open, text: A}]
""", "questions[0].id", 3, "'1a' is not a valid id"),
    ("""
questions: [{id: a, text: A}]
""", "questions[0]", 3, "question has no 'type'"),
    ("""
questions: [{id: a, type: single, text: A, options: [{code: 1.5, label: x}, {code: 2, label: y}]}]
""", "questions[0].options[0].code", 3, "code 1.5 must be a whole number or text"),
    ("""
questions: [{id: a, type: multi, text: A, options: {true: x, 2: y}}]
""", "questions[0].options.True.code", 3, "not true/false (quote it if you mean the word)"),
    ("""
scales: {s: {codes: {1: x, 2: [y]}}}
questions: [{id: a, type: rating, text: A, scale: s}]
""", "scales.s.codes[2].label", 3, "valid string"),
])
def test_each_schema_error_is_reported_with_its_location(body, path, line, fragment):
    problems = problems_of(HEAD + body.lstrip("\n"))
    match = [p for p in problems if p.path == path]
    assert match, f"nothing at {path}; got {[str(p) for p in problems]}"
    assert any(fragment in p.message for p in match), [p.message for p in match]
    assert match[0].line == line and match[0].file == "t.yaml"


def test_schema_and_document_errors_come_together():
    problems = problems_of(HEAD + """questions:
  - {id: a, type: open, text: A, colour: red}
  - {id: b, type: rating, text: B, scale: nope}
""")
    assert {(p.path, p.line) for p in problems} == {("questions[0].colour", 4),
                                                   ("questions[1].scale", 5)}


def test_metadata_is_required():
    problems = problems_of("questions: [{id: a, type: open, text: A}]\n")
    assert {p.path for p in problems} == {"id", "title"}
    assert all(p.message == "required field is missing" for p in problems)


def test_yaml_syntax_errors_and_duplicate_keys_are_located():
    with pytest.raises(QuestionnaireError) as info:
        load_questionnaire(FIX / "syntax_error.yaml")
    assert "YAML syntax error" in str(info.value) and "at line 6" in str(info.value)
    with pytest.raises(QuestionnaireError) as info:
        load_questionnaire(FIX / "duplicate_key.yaml")
    (p,) = info.value.problems
    assert p.line == 7 and 'duplicate key "text"' in p.message


@pytest.mark.parametrize("content, fragment", [
    (b"- just\n- a list\n", "must be a YAML mapping"),
    (b"", "must be a YAML mapping"),
    (b"id: x\ntitle: \xff\xfe\n", "not UTF-8"),
])
def test_unusable_files(tmp_path, content, fragment):
    path = tmp_path / "q.yaml"
    path.write_bytes(content)
    with pytest.raises(QuestionnaireError, match=fragment):
        load_questionnaire(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(QuestionnaireError, match="not found"):
        load_questionnaire(tmp_path / "nope.yaml")
    with pytest.raises(QuestionnaireError, match="is a folder"):
        load_questionnaire(tmp_path)


def test_questionnaire_from_dict_matches_the_file_loader():
    data = {"id": "d", "title": "D", "questions": [
        {"id": "a", "type": "single", "text": "A", "options": {1: "x", 2: "y"}},
        {"id": "b", "type": "open", "text": "B", "ask_if": "a == 3 or c == 1"}]}
    with pytest.raises(QuestionnaireError) as info:
        questionnaire_from_dict(data, source="dict")
    (p,) = info.value.problems
    assert p.path == "questions[1].ask_if" and "unknown question 'c'" in p.message
    assert p.line is None  # no positions for a plain mapping
    data["questions"][1]["ask_if"] = "a == 2"
    assert questionnaire_from_dict(data).asked(pd.DataFrame({"a": [1, 2]}), "b").tolist() == [
        False, True]


def test_docstring_examples_run():
    import doctest

    from surveykit.questionnaire import core, expressions, loader

    for module in (expressions, loader, core):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0, module.__name__
        assert result.attempted > 0


# -- the JSON Schema ------------------------------------------------------------------------
def test_json_schema_accepts_the_bundled_and_fixture_files_and_rejects_bad_ones(root):
    schema = json_schema()
    assert schema["title"] == "surveykit questionnaire"
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    yaml = YAML(typ="safe")
    # (yaml12_booleans.yaml is left out: it writes numbers where the schema asks for text,
    # which the loader forgives and an editor rightly flags)
    files = [FIX / "valid_all_types.yaml",
             *sorted(p for p in (root / "questionnaires").glob("*.yaml")
                     if not p.name.endswith(".codeframe.yaml"))]   # codeframes: own schema
    assert {"pc_customers.yaml", "smart_lock_customers.yaml", "employee_engagement.yaml",
            "product_feedback.yaml", "satisfaction_index.yaml"} <= {f.name for f in files}
    for path in files:
        doc = json.loads(json.dumps(yaml.load(path.read_text()), default=str))
        errors = list(validator.iter_errors(doc))
        assert not errors, f"{path.name}: {errors[0].message} at {list(errors[0].path)}"
    bad = {"id": "x", "title": "X", "questions": [{"id": "a", "type": "matrix", "text": "A"}]}
    assert list(validator.iter_errors(bad))
    bad = {"id": "x", "title": "X", "questions": [{"id": "a", "type": "open", "txt": "A"}]}
    assert list(validator.iter_errors(bad))


def test_json_schema_documents_the_derived_kinds():
    schema = json_schema()
    derived = schema["$defs"]["Derived"]
    assert {"from", "bands", "rules", "compute", "construct", "scale_100", "quantiles", "cuts",
            "labels"} <= set(derived["properties"])
    assert "construct_" not in derived["properties"]  # the YAML key, not the Python name
    assert "(overall - 1) / 9 * 100" in derived["properties"]["compute"]["description"]
    quantiles = derived["properties"]["quantiles"]["anyOf"][0]
    assert quantiles["minimum"] == 2
    validator = Draft202012Validator(schema)
    doc = {"id": "x", "title": "X",
           "questions": [{"id": "a", "type": "numeric", "text": "A"}],
           "constructs": [{"id": "c", "label": "C", "items": ["a"]}],
           "derived": [{"id": "s", "label": "S", "compute": "a / 2"},
                       {"id": "k", "label": "K", "construct": "c", "scale_100": True},
                       {"id": "h", "label": "H", "from": "s", "quantiles": 2,
                        "labels": ["low", "high"]},
                       {"id": "b", "label": "B", "from": "s", "cuts": [1.5, 3]}]}
    assert not list(validator.iter_errors(doc))
    doc["derived"][2]["quantiles"] = 1
    assert list(validator.iter_errors(doc))


def test_json_schema_documents_the_short_code_mapping():
    props = json_schema()["$defs"]["Scale"]["properties"]["codes"]
    shapes = props["anyOf"]
    assert shapes[0]["type"] == "array" and shapes[1]["type"] == "object"
    assert shapes[1]["minProperties"] == 2


# -- the bundled questionnaires -----------------------------------------------------------
def test_smart_lock_questionnaire_loads_and_declares_the_domain(smart_lock_questionnaire):
    q = smart_lock_questionnaire
    assert q.id == "smart_lock_customers"
    assert q.labels("city_tier") == {1: "Tier 1", 2: "New tier 1", 3: "Tier 2", 4: "Tier 3",
                                     5: "Tier 4 and below"}
    assert q.variable("nps").kind == "nps" and q.variable("repurchase").kind == "rating"
    assert q.variable("response_hours").max == 720
    assert [c.id for c in q.constructs] == ["product_quality", "service_quality",
                                            "brand_strength", "price_perception"]
    assert q.construct_items("price_perception")[1] == ["price_overpaid"]
    assert q.construct_items("brand_strength")[1] == ["brand_compromise"]
    assert q.labels("segment") == {1: "High-end upgraders", 2: "Young tech enthusiasts",
                                   3: "Value-for-money buyers", 4: "Other customers"}
    assert q.pii_columns == ["phone"]
    assert q.roles.segments[0] == "segment"
    assert q.question("install_sat").ask_if == "installer in [1, 2, 4]"


def test_smart_lock_segments_follow_the_domain_profiles(smart_lock_questionnaire):
    q = smart_lock_questionnaire
    df = pd.DataFrame({
        # high-end: 35, income 20-30k, tier 1, 2 homes; young tech: 22, student;
        # value: 33, income 5-10k, tier 3; other: 60; high-end profile but one home -> other
        "age": [35, 22, 33, 60, 35],
        "income": [5, 1, 2, 3, 6],
        "city_tier": [1, 4, 4, 2, 1],
        "homes_owned": [2, 0, 1, 1, 1],
        "occupation": [3, 1, 2, 6, 3],
        "response_hours": [12, 24, 30, 72, np.nan],
        "expected_hours": [24, 24, 24, 24, np.nan],
    })
    out = q.derive(df)
    np.testing.assert_array_equal(out["segment"].to_numpy(), [1, 2, 3, 4, 4])
    np.testing.assert_array_equal(out["age_band"].to_numpy(), [3, 1, 3, 5, 3])
    np.testing.assert_array_equal(out["tier_group"].to_numpy(), [1, 2, 2, 1, 1])
    np.testing.assert_array_equal(out["response_band"].to_numpy(), [1, 1, 2, 3, np.nan])
    np.testing.assert_array_equal(out["response_vs_expected"].to_numpy(),
                                  [1, 1, 2, 2, np.nan])


def test_pc_questionnaire_loads(pc_questionnaire):
    q = pc_questionnaire
    assert q.variables() and q.questions
    assert q.roles.respondent_id in q.variables()


def test_roles_pii_declares_personal_data_outside_the_questions():
    q = questionnaire_from_text(
        "id: t\ntitle: T\nquestions:\n"
        "  - {id: q1, type: single, text: Q, options: {1: a, 2: b}}\n"
        "  - {id: email, type: open, text: E, pii: true}\n"
        "roles: {respondent_id: rid, customer_id: cid, pii: [phone]}\n")
    assert q.pii_columns == ["email", "phone"]


@pytest.mark.parametrize("pii, message", [
    ("[cid]", "'cid' is the respondent or customer id"),
    ("[q1]", "'q1' is a question or derived variable; mark the question itself 'pii: true'"),
])
def test_roles_pii_refuses_ids_and_questions(pii, message):
    with pytest.raises(QuestionnaireError) as err:
        questionnaire_from_text(
            "id: t\ntitle: T\nquestions:\n"
            "  - {id: q1, type: single, text: Q, options: {1: a, 2: b}}\n"
            f"roles: {{respondent_id: rid, customer_id: cid, pii: {pii}}}\n", source="t.yaml")
    assert "roles.pii[0]" in str(err.value) and message in str(err.value)


def test_roles_drivers_must_be_known_numeric_items():
    text = ("id: t\ntitle: T\nscales: {s5: {codes: {1: a, 2: b, 3: c, 4: d, 5: e}}}\n"
            "questions:\n"
            "  - {id: q1, type: single, text: Q, options: {1: a, 2: b}}\n"
            "  - {id: g, type: grid, text: G, scale: s5, items: [{id: sat_cpu, text: x}]}\n"
            "roles: {drivers: DRIVERS}\n")
    assert questionnaire_from_text(text.replace("DRIVERS", "[sat_cpu]")).roles.drivers == [
        "sat_cpu"]
    with pytest.raises(QuestionnaireError) as err:
        questionnaire_from_text(text.replace("DRIVERS", "[sat_cpx, q1, sat_cpu, sat_cpu]"),
                                source="t.yaml")
    msg = str(err.value)
    assert "roles.drivers[0]: unknown driver 'sat_cpx' (did you mean 'sat_cpu'?)" in msg
    assert "roles.drivers[1]: driver 'q1' must be a grid item or a rating, NPS or numeric " \
           "question, not single" in msg
    assert "roles.drivers: a driver is listed twice" in msg


def test_defining_variables_follow_rules_and_bands_transitively(pc_questionnaire):
    q = pc_questionnaire
    assert q.defining_variables("segment") == ["cust_type", "age", "org_size", "org_type",
                                               "age_band"]
    assert q.defining_variables("age_band") == ["age"]
    assert q.defining_variables("nps") == []


# -- error hints (issue 9 item 6) --------------------------------------------------------------
@pytest.mark.parametrize("value", ['""', '" rid"', "'rid '"])
def test_empty_or_padded_respondent_id_says_what_to_write(value):
    p = only_problem("id: t\ntitle: T\nquestions: [{id: a, type: open, text: A}]\n"
                     f"roles: {{respondent_id: {value}}}\n")
    assert (p.path, p.line) == ("roles.respondent_id", 4)
    assert p.message.startswith("must name the id column of the responses (e.g. resp_id), not ")
    assert "without spaces at either end, or leave the key out for the default resp_id" \
        in p.message
    assert "pattern" not in p.message and "^" not in p.message


def test_text_cut_at_an_unquoted_comma_says_to_quote_it():
    problems = problems_of("""id: t
title: T
scales: {s: {codes: {1: x, 2: y}}}
questions:
  - {id: a, type: open, text: A}
  - {id: b, type: open, text: B}
  - {id: c, type: open, text: C}
  - id: g
    type: grid
    text: How satisfied are you with
    scale: s
    items: [{id: a1, text: price, level paid}, {id: a2, text: speed}]
  - {id: d, type: open, text: Anything else, please, txet: typo}
""")
    by_path = {p.path: p for p in problems}
    p = by_path["questions[3].items[0].level paid"]
    assert p.line == 12
    assert p.message == ("unknown field; it looks like the rest of 'text' cut off at a comma "
                         "(inside {...} or [...] a comma ends a value): quote the whole text: "
                         'text: "price, level paid"')
    p = by_path["questions[4].please"]
    assert p.line == 13 and p.message.endswith('text: "Anything else, please"')
    # a misspelt field with a value is a misspelling, not cut text
    assert by_path["questions[4].txet"].message == ("unknown field; check its spelling against "
                                                    "`surveykit schema`")
    assert len(problems) == 3, [str(p) for p in problems]


def test_field_name_with_spaces_in_block_style_gets_the_quoting_hint():
    p = only_problem("id: t\ntitle: T\nquestions:\n  - id: a\n    type: open\n    text: Why\n"
                     "    not buy again:\n")
    assert (p.path, p.line) == ("questions[0].not buy again", 7)
    assert p.message == ("unknown field; it looks like a piece of text, not a field name: quote "
                         'the text it belongs to, e.g. text: "..., not buy again" (unquoted, a '
                         "comma inside {...} or [...] ends the value)")


@pytest.mark.parametrize("body, line, expected", [
    ("questions:\n  - id: a\n    type: open\n    text: Note: prices include tax  # why\n", 6,
     "mapping values are not allowed here; a value that contains ': ' must be quoted: write "
     'text: "Note: prices include tax"'),
    ("questions: [{id: a, type: open, text: Rate it: 1-5, note: x}]\n", 3,
     "expected ',' or '}', but got ':' (while parsing a flow mapping at line 3); a value that "
     "contains ': ' must be quoted: write text: \"Rate it: 1-5\""),
    ("questions:\n  - {id: a, type: open, text: \"Why\": say}\n", 4,
     "expected ',' or '}', but got ':' (while parsing a flow mapping at line 4); a value that "
     "contains ': ' must be quoted: write text: '\"Why\": say'"),
])
def test_unquoted_colon_in_a_value_says_to_quote_it(body, line, expected):
    p = only_problem("id: t\ntitle: T\n" + body)
    assert p.line == line
    assert p.message == "YAML syntax error: " + expected


def test_colon_hint_only_where_a_value_has_the_colon():
    # a badly indented key is another mistake: no quoting hint
    p = only_problem("id: t\ntitle: T\nquestions:\n  - id: a\n   type: open\n")
    assert p.message.startswith("YAML syntax error") and "must be quoted" not in p.message
