"""The safe routing-expression language: what is refused, and what allowed expressions select."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from surveykit.errors import ExpressionError, QuestionnaireError
from surveykit.questionnaire import Expression, questionnaire_from_text


# -- refused ----------------------------------------------------------------------------------
@pytest.mark.parametrize("text, fragment", [
    # imports, attribute access, calls other than the two functions
    ("__import__('os')", "function '__import__' is not allowed"),
    ("__import__('os').system('ls') == 0", "call of \"__import__('os').system\" is not allowed"),
    ("os.system('ls') == 0", "call of 'os.system' is not allowed"),
    ("q1.real == 1", "'q1.real' (Attribute) is not allowed"),
    ("q1.__class__ == 1", "(Attribute) is not allowed"),
    ("eval('1') == 1", "function 'eval' is not allowed"),
    ("exec('x') == 1", "function 'exec' is not allowed"),
    ("open('/etc/passwd') == 1", "function 'open' is not allowed"),
    ("getattr(q1, 'x') == 1", "function 'getattr' is not allowed"),
    ("len(q1) > 1", "function 'len' is not allowed"),
    ("q1() == 1", "function 'q1' is not allowed"),
    # lambdas, comprehensions, other expressions
    ("(lambda: 1)() == 1", "call of 'lambda: 1' is not allowed"),
    ("lambda: q1 == 1", "(Lambda) is not allowed"),
    ("[x for x in q1]", "(ListComp) is not allowed"),
    ("q1 in [x for x in [1, 2]]", "'in' needs a list of values"),
    ("q1 == [x for x in q2]", "(ListComp) is not allowed as a value"),
    ("{x for x in q1}", "(SetComp) is not allowed"),
    ("any(x == 1 for x in q1)", "function 'any' is not allowed"),
    ("q1 == (x for x in q2)", "(GeneratorExp) is not allowed as a value"),
    ("q1[0] == 1", "(Subscript) is not allowed as a value"),
    ("-'a' == 1", "text 'a' cannot be used in arithmetic"),
    ("q1 == 1 if q2 else q3", "(IfExp) is not allowed"),
    ("(q1 := 1) == 1", "(NamedExpr) is not allowed as a value"),
    ("f'{q1}' == 'x'", "(JoinedStr) is not allowed as a value"),
    ("q1 @ q2 == 1", "operator '@' is not allowed (arithmetic allows + - * /)"),
    ("{'a': q1} == 1", "(Dict) is not allowed as a value"),
    # operators and constants outside the language
    ("q1 is None", "operator 'is' is not allowed"),
    ("q1 is not 1", "operator 'is not' is not allowed"),
    ("q1 == None", "'None' is not allowed here"),
    ("q1 == True", "'True' is not allowed here"),
    ("q1 == b'x'", "is not allowed here"),
    ("q1 == ...", "is not allowed here"),
    ("q1 in [q2]", "'q2' is not allowed here"),
    ("q1 in q2", "'in' needs a list of values on its right"),
    ("q1 in []", "at least one value"),
    ("[1, 2] == q1", "a list ('[1, 2]') is only allowed on the right of 'in'"),
    ("q1 in [1, 2] == q2", "chains 'in' with another comparison"),
    # arithmetic outside + - * /, on text, on conditions
    ("q1 ** 2 == 1", "operator '**' is not allowed (arithmetic allows + - * /); write a * a"),
    ("q1 % 2 == 0", "operator '%' is not allowed"),
    ("q1 // 2 == 0", "operator '//' is not allowed"),
    ("q1 & q2 == 1", "operator '&' is not allowed (arithmetic allows + - * /); use 'and'"),
    ("q1 + 'x' > 1", "text 'x' cannot be used in arithmetic"),
    ("answered(q1) + 1 > 1", "'answered(q1)' is true or false, not a number"),
    ("(q1 > 1) + 1 > 1", "'q1 > 1' is a condition (true or false); it cannot be used in "
                         "arithmetic"),
    ("q1 + q2", "'q1 + q2' is a number, not a condition; compare it, e.g. 'q1 + q2 >= 1'"),
    ("-q1", "'-q1' is a number, not a condition"),
    ("mean(q1, q2)", "'mean(q1, q2)' is a number, not a condition"),
    # sum() and mean()
    ("sum(q1, q2, min=3) > 1", "sum(): min=3 must be between 1 and the 2 values listed"),
    ("sum(q1, q2, min=0) > 1", "sum(): min=0 must be between 1 and the 2 values listed"),
    ("mean(q1, q2, min=1.5) > 1", "mean(): min must be a whole number from 1 to 2"),
    ("mean(q1, q2, min=q3) > 1", "mean(): min must be a whole number from 1 to 2"),
    ("mean(q1, n=1) > 1", "mean() takes only min= (the fewest answered values needed)"),
    ("mean(*q1) > 1", "mean() takes the values to score"),
    ("mean() > 1", "mean() takes the values to score, e.g. mean(a, b, c, min=2)"),
    ("mean(1, 2) > q1", "'mean(1, 2)' scores constants only"),
    ("mean(q1, 'x') > 1", "text 'x' cannot be used in arithmetic"),
    ("max(q1, q2) > 1", "function 'max' is not allowed; only answered, selected, sum, mean"),
    # numbers are bounded (a 309-digit number used to overflow when evaluated)
    ("q1 * 1" + "0" * 308 + " > 1", "has 309 digits (at most 30)"),
    ("q1 > 1e400", "number 1e400 is too large (at most 1e15 in absolute value)"),
    ("q1 * 10000000000000000 > 1", "number 10000000000000000 is too large"),
    ("q1 > -2e15", "number 2e15 is too large"),
    ("q1 in [1, 1e16]", "number 1e16 is too large"),
    ("selected(q1, 99999999999999999)", "number 99999999999999999 is too large"),
    ("q1 > 0." + "0" * 30 + "1", "has 32 digits (at most 30)"),
    # not a condition
    ("q1", "'q1' alone is not a condition"),
    ("1", "'1' alone is not a condition"),
    ("not q1", "'q1' alone is not a condition"),
    ("q1 and q2 == 1", "'q1' alone is not a condition"),
    ("1 == 1", "compares constants only"),
    ("'a' < 'b' < 'c'", "compares constants only"),
    # function arguments
    ("answered(q1, q2)", "answered() takes 1 positional argument(s)"),
    ("answered(q=q1)", "answered() takes 1 positional argument(s)"),
    ("answered(*q1)", "answered() takes 1"),
    ("answered('q1')", "answered() needs a question id as its first argument"),
    ("selected(q1)", "selected() takes 2 positional argument(s), e.g. selected(q5, 3)"),
    ("selected(q1, q2)", "'q2' is not allowed here"),
    ("selected(q1, __import__('os'))", "is not allowed here"),
    # syntax
    ("", "expression is empty"),
    ("   ", "expression is empty"),
    ("q1 ==", "syntax error"),
    ("q1 = 1", "syntax error"),
    ("import os", "syntax error"),
    ("q1 == 1; q2 == 2", "syntax error"),
    ("(" * 300 + "q1 == 1" + ")" * 300, "too many nested parentheses"),
    (" or ".join(["q1 == 1"] * 300), "at most 2000"),
])
def test_disallowed_expressions_are_rejected_naming_the_part(text, fragment):
    with pytest.raises(ExpressionError) as info:
        Expression.parse(text, where="questions[3].ask_if", line=12, file="q.yaml")
    message = str(info.value)
    assert fragment in message
    (p,) = info.value.problems
    assert (p.path, p.line, p.file) == ("questions[3].ask_if", 12, "q.yaml")
    if text.strip() and len(text) <= 2000:
        assert repr(text) in message  # the whole expression is quoted for context


@pytest.mark.parametrize("text, fragment", [
    ("q1 > 1", "'q1 > 1' is a condition (true or false), not a number; compute takes "
               "arithmetic"),
    ("q1 > 1 and q2 > 1", "is a condition (true or false), not a number"),
    ("not q1", "'not q1' is a condition"),
    ("answered(q1)", "'answered(q1)' is a condition"),
    ("1 + 2", "the expression reads no variable"),
    ("'a'", "text 'a' cannot be used in arithmetic"),
    ("q1 + [1]", "(List) is not allowed in arithmetic"),
    ("q1.x + 1", "(Attribute) is not allowed in arithmetic"),
    ("__import__('os')", "function '__import__' is not allowed"),
    ("q1 * 1e99", "number 1e99 is too large"),
])
def test_number_expressions_refuse_conditions_and_constants(text, fragment):
    with pytest.raises(ExpressionError) as info:
        Expression.parse(text, number=True, where="derived[0].compute", line=7, file="q.yaml")
    assert fragment in str(info.value)
    (p,) = info.value.problems
    assert (p.path, p.line, p.file) == ("derived[0].compute", 7, "q.yaml")


def test_a_condition_and_a_number_are_evaluated_by_their_own_method():
    df = pd.DataFrame({"a": [1.0, 2.0]})
    with pytest.raises(ExpressionError, match="is a number expression; use compute"):
        Expression.parse("a + 1", number=True).evaluate(lambda n: df[n], lambda n: df[n])
    with pytest.raises(ExpressionError, match="is a condition; use evaluate"):
        Expression.parse("a > 1").compute(lambda n: df[n])


def test_a_rejected_expression_is_reported_by_the_loader_with_question_and_line():
    text = """id: t
title: T
questions:
  - {id: a, type: numeric, text: A}
  - id: b
    type: open
    text: B
    ask_if: "a > 1 and [c for c in a] == 1"
"""
    with pytest.raises(QuestionnaireError) as info:
        questionnaire_from_text(text, source="t.yaml")
    (p,) = info.value.problems
    assert (p.path, p.line) == ("questions[1].ask_if", 8)
    assert p.message.startswith("question 'b': ")
    assert "'[c for c in a]' (ListComp)" in p.message


def test_parse_and_evaluate_never_use_eval_or_exec(monkeypatch):
    import ast

    from surveykit.questionnaire import checks, core, expressions, loader, models, render

    for module in (expressions, loader, models, checks, core, render):
        tree = ast.parse(Path(module.__file__).read_text())
        called = {n.func.id for n in ast.walk(tree)
                  if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        assert not called & {"eval", "exec", "compile", "__import__"}, module
        if module is expressions:
            assert "getattr" not in called and "setattr" not in called

    def refuse(*args, **kwargs):
        raise AssertionError("eval/exec must not be used")

    df = pd.DataFrame({"a": [1, 2, 3], "m_1": [0, 1, 0]})
    for name in ("eval", "exec"):  # module globals shadow the builtins
        monkeypatch.setattr(expressions, name, refuse, raising=False)
    expr = Expression.parse("a >= 2 and not selected(m, 1)")
    mask = expr.evaluate(lambda n: df[n], lambda n: df[n].notna(),
                         lambda q, c: df[f"{q}_{c}"] == 1)
    assert mask.tolist() == [False, False, True]


def test_deep_but_short_expressions_parse_evaluate_and_render():
    from surveykit.questionnaire import describe_condition

    q = questionnaire_from_text("id: t\ntitle: T\nquestions: [{id: a, type: numeric, "
                                "text: A}]\n")
    expr = Expression.parse("not " * 495 + "a == 1")  # just under the length limit
    df = pd.DataFrame({"a": [1, 2]})
    assert expr.evaluate(lambda n: df[n], lambda n: df[n].notna()).tolist() == [False, True]
    assert describe_condition(q, expr) == "A is not 1"


def test_parsed_names_values_and_selected():
    expr = Expression.parse("answered(q1) and q2 in [1, -2] and selected(m, 'x') "
                            "or 18 <= age <= 24")
    assert expr.names == {"q1", "q2", "m", "age"}
    assert expr.values == {"q2", "age"}
    assert expr.selected == {("m", "x")}
    assert expr.numbers == frozenset() and not expr.number
    arith = Expression.parse("a + mean(b, c, min=1) * 2 >= d and answered(e)")
    assert arith.names == {"a", "b", "c", "d", "e"}
    assert arith.numbers == {"a", "b", "c"}  # d is compared, not computed with
    assert arith.values == {"a", "b", "c", "d"}
    score = Expression.parse("(x - 1) / 9 * 100", number=True)
    assert score.number and score.numbers == {"x"}


# -- allowed: the mask each one selects -----------------------------------------------------
@pytest.fixture(scope="module")
def q(all_types_questionnaire):
    """``valid_all_types.yaml``, loaded once for the session (tests/conftest.py)."""
    return all_types_questionnaire


@pytest.fixture()
def df():
    # row:          0    1    2      3     4      5
    return pd.DataFrame({
        "cust_type": [1, 2, 1, np.nan, 1, 2],
        "age": [20, 30, 45, 50, np.nan, 24],
        "channel_1": [1, 0, 0, 0, np.nan, 1],
        "channel_2": [0, 1, 0, 0, np.nan, 1],
        "channel_3": [0, 0, 0, 0, np.nan, 0],
        "channel_9": [0, 0, 1, 0, np.nan, 0],
        "overall": [5, 98, 2, 1, 99, 4],   # 98 don't know, 99 refused: missing
        "nps": [10, 98, 3, 7, 0, 9],       # 98 don't know: missing
        "comment": ["good", "", None, "slow", " ", "ok"],
    })


@pytest.mark.parametrize("text, expected", [
    ("cust_type == 1", [1, 0, 1, 0, 1, 0]),
    ("cust_type != 1", [0, 1, 0, 0, 0, 1]),           # missing is never "!="
    ("not (cust_type == 1)", [0, 1, 0, 1, 0, 1]),     # ... but not(...) negates the result
    ("age < 30", [1, 0, 0, 0, 0, 1]),
    ("age <= 30", [1, 1, 0, 0, 0, 1]),
    ("age > 30", [0, 0, 1, 1, 0, 0]),
    ("age >= 30", [0, 1, 1, 1, 0, 0]),
    ("30 <= age", [0, 1, 1, 1, 0, 0]),                 # constant on the left
    ("18 <= age <= 24", [1, 0, 0, 0, 0, 1]),           # chained
    ("18 <= age < 30 and cust_type == 2", [0, 0, 0, 0, 0, 1]),
    ("age == 24.0", [0, 0, 0, 0, 0, 1]),
    ("age > -1", [1, 1, 1, 1, 0, 1]),
    ("cust_type in [1]", [1, 0, 1, 0, 1, 0]),
    ("cust_type in (1, 2)", [1, 1, 1, 0, 1, 1]),
    ("cust_type not in [1]", [0, 1, 0, 0, 0, 1]),     # missing is never "not in"
    ("not cust_type in [1]", [0, 1, 0, 1, 0, 1]),
    ("overall >= 4", [1, 0, 0, 0, 0, 1]),              # 98/99 are missing, not high scores
    ("overall in [98, 99]", [0, 0, 0, 0, 0, 0]),       # missing codes are masked
    ("nps <= 6", [0, 0, 1, 0, 1, 0]),
    ("overall <= 2 or nps <= 6", [0, 0, 1, 1, 1, 0]),
    ("cust_type == 1 and (age < 25 or nps >= 9)", [1, 0, 0, 0, 0, 0]),
    ("cust_type == 1 and age < 25 or nps >= 9", [1, 0, 0, 0, 0, 1]),  # and binds tighter
    ("answered(overall)", [1, 1, 1, 1, 1, 1]),          # a don't-know is an answer
    ("answered(age)", [1, 1, 1, 1, 0, 1]),
    ("not answered(age)", [0, 0, 0, 0, 1, 0]),
    ("answered(comment)", [1, 0, 0, 1, 0, 1]),          # blank text is not an answer
    ("answered(channel)", [1, 1, 1, 0, 0, 1]),          # any option ticked
    ("selected(channel, 1)", [1, 0, 0, 0, 0, 1]),
    ("not selected(channel, 9)", [1, 1, 0, 1, 1, 1]),
    ("answered(channel) and not selected(channel, 9)", [1, 1, 0, 0, 0, 1]),
    ("selected(channel, 1) and selected(channel, 2)", [0, 0, 0, 0, 0, 1]),
    ("channel_2 == 1", [0, 1, 0, 0, 0, 1]),
    ("overall > nps", [0, 0, 0, 0, 0, 0]),
    ("nps > overall", [1, 0, 1, 1, 0, 1]),
    ("age == 'twenty'", [0, 0, 0, 0, 0, 0]),            # text vs numbers: never true
    # arithmetic: sums 30, nan, 48, 57, nan, 33 (nps 98 is don't know)
    ("age + nps >= 40", [0, 0, 1, 1, 0, 0]),
    ("40 <= age + nps", [0, 0, 1, 1, 0, 0]),
    ("age + nps + 1 in [31, 34]", [1, 0, 0, 0, 0, 1]),
    ("-age < -40", [0, 0, 1, 1, 0, 0]),
    ("age - nps * 2 > 0", [0, 0, 1, 1, 0, 1]),          # 0, nan, 39, 36, nan, 6
    # 20/7, nan, 45/0 (division by zero), 50/4, nan, 24/6: NaN compares false
    ("age / (nps - 3) > 3", [0, 0, 0, 1, 0, 1]),
    ("not age / (nps - 3) > 3", [1, 1, 1, 0, 1, 0]),
    # mean of overall (98/99 missing) and nps: 7.5, nan, 2.5, 4, 0 (one answer), 6.5
    ("mean(overall, nps, min=1) >= 4", [1, 0, 0, 1, 0, 1]),
    ("mean(overall, nps) >= 4", [1, 0, 0, 1, 0, 1]),  # default min: all values; row 4 empty
    ("sum(overall, nps) > 10", [1, 0, 0, 0, 0, 1]),   # 15, nan, 5, 8, nan, 13
    ("sum(overall, nps, min=1) >= 0", [1, 0, 1, 1, 1, 1]),  # row 4: nps 0, prorated 0
    ("age < 'twenty'", [0, 0, 0, 0, 0, 0]),
])
def test_allowed_expressions_evaluate_to_the_expected_mask(q, df, text, expected):
    mask = q.evaluate(text, df)
    assert mask.dtype == bool and mask.index.equals(df.index)
    assert mask.astype(int).tolist() == expected


def test_evaluate_does_not_modify_the_data(q, df):
    before = df.copy()
    q.evaluate("cust_type == 1 and overall >= 4 or answered(comment)", df)
    pd.testing.assert_frame_equal(df, before)


def test_evaluate_names_a_column_missing_from_the_data(q, df):
    with pytest.raises(KeyError, match="column 'age' used in 'age > 1' is not in the data"):
        q.evaluate("age > 1", df.drop(columns="age"))
    with pytest.raises(KeyError, match="column 'channel_2' for selected"):
        q.evaluate("selected(channel, 2)", df.drop(columns="channel_2"))


def test_expression_without_questionnaire_uses_the_callbacks():
    df = pd.DataFrame({"a": [1.0, 2.0, np.nan]})
    expr = Expression.parse("a != 2")
    assert expr.evaluate(lambda n: df[n], lambda n: df[n].notna()).tolist() == [True, False,
                                                                               False]
    sel = Expression.parse("selected(m, 1)")
    with pytest.raises(ExpressionError, match="selected"):
        sel.evaluate(lambda n: df[n], lambda n: df[n].notna())


def test_text_codes_compare_as_text():
    q = questionnaire_from_text("""id: t
title: T
questions:
  - {id: tier, type: single, text: Tier, options: {t1: Tier 1, t2: Tier 2}}
  - {id: b, type: open, text: B, ask_if: "tier in ['t1'] or tier == 't2'"}
""")
    df = pd.DataFrame({"tier": ["t1", "t2", "t3", None]})
    assert q.asked(df, "b").tolist() == [True, True, False, False]


# -- number expressions: the values, against hand computation --------------------------------
@pytest.fixture()
def nums():
    return pd.DataFrame({"a": [1.0, 2.0, np.nan, 4.0, 6.0],
                         "b": [3.0, 0.0, 5.0, 0.0, 2.0],
                         "c": [2.0, np.nan, np.nan, 1.0, 0.0]})


@pytest.mark.parametrize("text, expected, zero", [
    ("a / b", [1 / 3, np.nan, np.nan, np.nan, 3.0], [0, 1, 0, 1, 0]),
    ("(a - 1) / 9 * 100", [0.0, 100 / 9, np.nan, 300 / 9, 500 / 9], [0, 0, 0, 0, 0]),
    ("a - b * 2", [-5.0, 2.0, np.nan, 4.0, 2.0], [0, 0, 0, 0, 0]),
    ("(a - b) * 2", [-4.0, 4.0, np.nan, 8.0, 8.0], [0, 0, 0, 0, 0]),
    ("a - b - c", [-4.0, np.nan, np.nan, 3.0, 4.0], [0, 0, 0, 0, 0]),
    ("a / b / c", [1 / 6, np.nan, np.nan, np.nan, np.inf], [0, 1, 0, 1, 1]),
    ("-(a + b)", [-4.0, -2.0, np.nan, -4.0, -8.0], [0, 0, 0, 0, 0]),
    ("+a - -1", [2.0, 3.0, np.nan, 5.0, 7.0], [0, 0, 0, 0, 0]),
    ("a / (b - b)", [np.nan] * 5, [1, 1, 0, 1, 1]),     # NaN a: missing, not zero
    ("a / 0", [np.nan] * 5, [1, 1, 0, 1, 1]),
    ("a + 1 / 0", [np.nan] * 5, [1, 1, 1, 1, 1]),
    # sum(): prorated to the values listed; mean(): of the answered ones
    ("sum(a, b)", [4.0, 2.0, np.nan, 4.0, 8.0], [0, 0, 0, 0, 0]),
    ("sum(a, b, min=1)", [4.0, 2.0, 10.0, 4.0, 8.0], [0, 0, 0, 0, 0]),
    ("sum(a, b, c, min=2)", [6.0, 3.0, np.nan, 5.0, 8.0], [0, 0, 0, 0, 0]),
    ("mean(a, b, c, min=2)", [2.0, 1.0, np.nan, 5 / 3, 8 / 3], [0, 0, 0, 0, 0]),
    ("mean(a, b, c, min=1)", [2.0, 1.0, 5.0, 5 / 3, 8 / 3], [0, 0, 0, 0, 0]),
    ("mean(a, 8 - b)", [3.0, 5.0, np.nan, 6.0, 6.0], [0, 0, 0, 0, 0]),
    ("mean(a / b, c, min=1)", [(1 / 3 + 2) / 2, np.nan, np.nan, 1.0, 1.5], [0, 1, 0, 1, 0]),
    ("mean(a, b) * 2 - 1", [3.0, 1.0, np.nan, 3.0, 7.0], [0, 0, 0, 0, 0]),
])
def test_compute_matches_hand_computation(nums, text, expected, zero):
    expr = Expression.parse(text, number=True)
    got = expr.compute(lambda n: nums[n])
    want = np.where(np.isinf(expected), np.nan, expected)  # a division by zero is NaN
    assert got.index.equals(nums.index) and got.dtype == float
    np.testing.assert_allclose(got.to_numpy(), want, equal_nan=True)
    assert not np.isinf(got).any()
    assert expr.division_by_zero(lambda n: nums[n]).astype(int).tolist() == zero


def test_compute_never_gives_infinity_nor_raises_on_overflow(nums):
    big = "a" + " * 1000000000000000" * 25  # each factor is allowed; the product overflows
    got = Expression.parse(big, number=True).compute(lambda n: nums[n])
    assert got.isna().all() and not np.isinf(got).any()


def test_compute_does_not_modify_the_data(nums):
    before = nums.copy()
    Expression.parse("mean(a, b, c, min=1) / c", number=True).compute(lambda n: nums[n])
    pd.testing.assert_frame_equal(nums, before)


def test_item_score_is_the_one_definition_of_a_score_with_missing_items():
    from surveykit.questionnaire.expressions import item_score, reverse_keyed

    X = np.array([[1.0, 2.0, 3.0], [4.0, np.nan, 2.0], [np.nan, np.nan, np.nan]])
    np.testing.assert_allclose(item_score(X), [2.0, np.nan, np.nan], equal_nan=True)
    np.testing.assert_allclose(item_score(X, min_valid=1, method="sum"), [6.0, 9.0, np.nan],
                               equal_nan=True)
    with pytest.raises(ValueError, match="min_valid=4 must be between 1 and the 3 items"):
        item_score(X, min_valid=4)
    with pytest.raises(ValueError, match="method='median'"):
        item_score(X, method="median")
    assert reverse_keyed(2.0, 1, 7) == 6.0
