"""Banner tables: estimates, significance letters and outputs against committed references.

References (tests/fixtures/tables/, made by make_reference.R): the pairwise z statistics
written from their formulas in R (proportions: pooled z, cross-checked against
prop.test(correct=FALSE); means and NPS: the difference over its linearisation SE from R
survey, svyratio(covmat=TRUE), cross-checked against svyby + svycontrast) and p.adjust;
weighted column estimates and SEs from survey::svymean.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from surveykit.errors import TableError
from surveykit.estimates import effective_n
from surveykit.tables import adjust_pvalues, banner

FIX = Path(__file__).parent / "fixtures" / "tables"
TYPES = {"sat": "rating", "nps": "nps", "x": "numeric"}
SCALES = {"sat": (1, 5)}


@pytest.fixture(scope="module")
def small():
    return pd.read_csv(FIX / "small.csv")


@pytest.fixture(scope="module")
def ref_tests():
    ref = pd.read_csv(FIX / "reference_tests.csv", dtype={"row": str, "code_a": str,
                                                          "code_b": str})
    return ref


def _mine(small, bv, weighted, correction="none"):
    return banner(small, ["sat", "nps", "x"], [bv], weights="w" if weighted else None,
                  types=TYPES, scales=SCALES, correction=correction, min_base=0)


def _key(frame):
    code_a = frame["code_a"].map(lambda c: str(int(float(c))))
    code_b = frame["code_b"].map(lambda c: str(int(float(c))))
    return list(zip(frame["question"], frame["row"], code_a, code_b, strict=True))


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("bv", ["g", "m"])
def test_pairwise_statistics_match_reference(small, ref_tests, weighted, bv):
    """g: single-coded banner; m: multi-response banner (overlapping columns)."""
    ref = ref_tests[(ref_tests["weighted"] == weighted) & (ref_tests["banner"] == bv)]
    got = _mine(small, bv, weighted).tests
    got = got.assign(key=_key(got)).set_index("key")
    ref = ref.assign(key=_key(ref)).set_index("key")
    assert len(got) == len(ref) > 0
    got = got.loc[ref.index]
    np.testing.assert_allclose(got["estimate_a"], ref["estimate_a"], rtol=1e-10)
    np.testing.assert_allclose(got["estimate_b"], ref["estimate_b"], rtol=1e-10)
    np.testing.assert_allclose(got["statistic"], ref["statistic"], rtol=1e-8)
    np.testing.assert_allclose(got["p"], ref["p"], rtol=1e-7)
    tested = ref["p"].notna().to_numpy()
    np.testing.assert_allclose(got["df"][tested], ref["df"][tested], rtol=1e-8)
    # non-trivial fixture: some but not all comparisons significant
    assert 0 < (ref["p"] < 0.05).sum() < ref["p"].notna().sum()


@pytest.mark.parametrize("correction,col", [("holm", "p_holm"), ("fdr", "p_bh"),
                                            ("bonferroni", "p_bonferroni")])
def test_corrections_match_p_adjust(small, ref_tests, correction, col):
    for weighted in (False, True):
        for bv in ("g", "m"):
            ref = ref_tests[(ref_tests["weighted"] == weighted) & (ref_tests["banner"] == bv)]
            got = _mine(small, bv, weighted, correction).tests
            got = got.assign(key=_key(got)).set_index("key")
            ref = ref.assign(key=_key(ref)).set_index("key")
            np.testing.assert_allclose(got.loc[ref.index, "p_adj"], ref[col], rtol=1e-7)


@pytest.mark.parametrize("weighted", [False, True])
def test_letters_follow_reference_tests(small, ref_tests, weighted):
    """A cell shows the letters of the columns it is significantly higher than."""
    ref = ref_tests[(ref_tests["weighted"] == weighted) & (ref_tests["banner"] == "g")]
    t = _mine(small, "g", weighted, "holm")
    letter = dict(zip(t.columns["code"].astype(str).str.replace(".0", ""),
                      t.columns["letter"], strict=True))
    expected: dict[tuple, str] = {}
    for r in ref.itertuples():
        if r.p_holm < 0.05:
            hi, lo = (r.code_a, r.code_b) if r.statistic > 0 else (r.code_b, r.code_a)
            key = (r.question, r.row, hi)
            expected[key] = expected.get(key, "") + letter[lo]
    f = t.to_frame()
    f = f[f.banner == "g"]
    got = {(q, row, str(int(c))): s for q, row, c, s in
           zip(f.question, f.row, f.column_code, f.sig, strict=True) if s}
    assert got == {k: "".join(sorted(v)) for k, v in expected.items()}
    assert len(got) >= 2


def test_estimates_and_bases_match_svymean(small):
    est = pd.read_csv(FIX / "reference_estimates.csv", dtype={"row": str, "code": str})
    for bv in ("g", "m"):
        f = banner(small, ["sat", "nps", "x"], [bv], weights="w", types=TYPES, scales=SCALES,
                   min_base=0).to_frame()
        f["code"] = [("Total" if b == "Total" else str(int(float(c))))
                     for b, c in zip(f.banner, f.column_code, strict=True)]
        f["banner"] = f["banner"].replace({"Total": "Total"})
        ref = est[est.banner.isin([bv, "Total"])]
        m = ref.merge(f, on=["question", "row", "code"], suffixes=("_ref", ""))
        assert len(m) == len(ref)
        scale = np.where(m["stat"] == "pct", 1.0, 1.0)
        np.testing.assert_allclose(m["estimate"], m["estimate_ref"] * scale, rtol=1e-10)
        np.testing.assert_array_equal(m["n"], m["n_ref"])
        np.testing.assert_allclose(m["n_eff"], m["n_eff_ref"], rtol=1e-10)
        np.testing.assert_allclose(m["se"], m["se_ref"], rtol=1e-8, atol=1e-15)


def test_hand_computed_z_and_t():
    """Closed form: A 40/100 vs B 25/100 -> pooled p = .325, z = .15/sqrt(.325*.675*.02)."""
    df = pd.DataFrame({"col": [1] * 100 + [2] * 100,
                       "y": [1] * 40 + [0] * 60 + [1] * 25 + [0] * 75})
    t = banner(df, "y", "col", types={"y": "single"}, value_labels={"y": {0: "no", 1: "yes"}})
    row = t.tests[t.tests.row == "1"].iloc[0]
    z = 0.15 / math.sqrt(0.325 * 0.675 * 0.02)
    assert row.statistic == pytest.approx(z, rel=1e-12)
    assert row.p == pytest.approx(2 * (1 - 0.5 * (1 + math.erf(z / math.sqrt(2)))), rel=1e-9)
    f = t.to_frame()
    assert f.loc[(f.row == "1") & (f.column_code == 1), "sig"].item() == "B"
    assert f.loc[(f.row == "0") & (f.column_code == 2), "sig"].item() == "A"
    assert f.loc[(f.row == "1"), "row_label"].iat[0] == "yes"
    # weight 2 on every respondent of A: same proportions and effective bases, but the pooled
    # proportion is weighted: (2*40 + 25) / (200 + 100) = .35
    w = np.r_[np.full(100, 2.0), np.ones(100)]
    tw = banner(df, "y", "col", weights=w, types={"y": "single"})
    zw = 0.15 / math.sqrt(0.35 * 0.65 * 0.02)
    assert tw.tests[tw.tests.row == "1"].statistic.item() == pytest.approx(zw, rel=1e-12)
    # mean test by hand: A = 1..5, B = 3..7 (n=5 each, N = 10): means 3 and 5; the
    # linearisation variance of each mean is N/(N-1) sum (y - m)^2 / n^2 = 10/9 * 10/25,
    # z = -2 / sqrt(2 * 4/9) (it was the pooled t, -2 / sqrt(2.5 * 0.4), before issue 13)
    d2 = pd.DataFrame({"col": [1] * 5 + [2] * 5, "v": [1, 2, 3, 4, 5, 3, 4, 5, 6, 7.0]})
    t2 = banner(d2, "v", "col", types={"v": "numeric"}, min_base=2)
    r2 = t2.tests.iloc[0]
    assert r2.statistic == pytest.approx(-2 / math.sqrt(8 / 9), rel=1e-12)
    assert r2.test == "z" and math.isinf(r2.df)
    se = t2.to_frame().set_index("column_code")["se"]
    assert se[1] == pytest.approx(math.sqrt(4 / 9), rel=1e-12)


def test_weighted_effective_base_widens_test():
    """Unequal weights lower the effective base and so the z statistic (Kish)."""
    # weights 0.5 / 1.5 on alternate respondents, y in pairs: proportions unchanged, n_eff = n/1.25
    df = pd.DataFrame({"col": np.repeat([1, 2], 200),
                       "y": np.r_[np.repeat([1, 0], [100, 100]), np.repeat([1, 0], [80, 120])]})
    w = np.tile([0.5, 1.5], 200)
    t0 = banner(df, "y", "col", types={"y": "single"})
    t1 = banner(df, "y", "col", weights=w, types={"y": "single"})
    b = t1.bases.set_index("column")
    assert b.loc[1, "n_eff"] == pytest.approx(200 / 1.25)
    assert b.loc[1, "n"] == 200 and b.loc[1, "n_weighted"] == pytest.approx(200)
    z0 = t0.tests.statistic.abs().iloc[0]
    z1 = t1.tests.statistic.abs().iloc[0]
    assert z1 == pytest.approx(z0 / math.sqrt(1.25), rel=1e-12)


def test_adjust_pvalues_matches_statsmodels():
    rng = np.random.default_rng(0)
    p = rng.random((30, 7)) ** 3
    p[rng.random(p.shape) < 0.2] = np.nan
    for ours, theirs in [("holm", "holm"), ("fdr", "fdr_bh"), ("bonferroni", "bonferroni")]:
        got = adjust_pvalues(p, ours)
        for i in range(p.shape[0]):
            ok = ~np.isnan(p[i])
            if ok.any():
                exp = multipletests(p[i, ok], method=theirs)[1]
                np.testing.assert_allclose(got[i, ok], exp, rtol=1e-12)
            assert np.isnan(got[i, ~ok]).all()
    np.testing.assert_array_equal(adjust_pvalues(p, "none"), p)


def _demo_df(n=300, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "region": rng.choice([1.0, 2.0, 3.0], n, p=[0.45, 0.45, 0.10]),
        "gender": rng.choice(["f", "m"], n),
        "sat": rng.integers(1, 6, n).astype(float),
        "nps": rng.integers(0, 11, n).astype(float),
        "ch_1": rng.integers(0, 2, n).astype(float),
        "ch_2": rng.integers(0, 2, n).astype(float),
        "w": rng.uniform(0.5, 2.0, n),
    })


def test_low_base_flagged_not_tested():
    df = _demo_df()
    t = banner(df, ["sat"], ["region"], types={"sat": "rating"}, min_base=50)
    f = t.to_frame()
    low = f[f.column_code == 3.0]
    assert low.low_base.all() and (low.sig == "").all()
    assert (low.n < 50).all()
    tested = t.tests
    involving3 = tested[(tested.code_a == 3.0) | (tested.code_b == 3.0)]
    assert involving3.p.isna().all()
    assert tested[(tested.code_a == 1.0) & (tested.code_b == 2.0)].p.notna().all()
    assert "*" in t.table("sat").iloc[2, 3]


def test_nps_rows_and_multi_response_rows():
    df = pd.DataFrame({"b": [1, 1, 1, 2, 2, 2.0], "nps": [10, 9, 3, 7, 8, 6.0],
                       "ch_1": [1, 0, np.nan, 1, 1, 0.0], "ch_2": [0, 1, np.nan, 0, 1, 0.0]})
    f = banner(df, ["nps", "ch"], "b", min_base=0, types={"nps": "nps"}).to_frame()
    tot = f[f.banner == "Total"].set_index(["question", "row"])["estimate"]
    assert tot[("nps", "promoters")] == pytest.approx(2 / 6)
    assert tot[("nps", "nps")] == pytest.approx(100 * (2 - 2) / 6)
    assert tot[("nps", "mean")] == pytest.approx(43 / 6)
    # multi: base = respondents who answered any option (5), NaN row excluded
    assert tot[("ch", "1")] == pytest.approx(3 / 5)
    assert f[(f.question == "ch") & (f.banner == "Total")].n.iat[0] == 5
    b1 = f[(f.banner == "b") & (f.column_code == 1)].set_index(["question", "row"])["estimate"]
    assert b1[("nps", "nps")] == pytest.approx(100 * (2 - 1) / 3)


def test_multi_response_banner_overlap_zero_when_disjoint():
    """A multi-response banner whose columns happen not to overlap gives the same tests as
    the equivalent single-coded banner."""
    df = _demo_df(400, 5)
    df["r_1"] = (df.region == 1).astype(float)
    df["r_2"] = (df.region == 2).astype(float)
    df["r_3"] = (df.region == 3).astype(float)
    a = banner(df, ["sat", "nps"], ["region"], weights="w", types={"sat": "rating"}).tests
    b = banner(df, ["sat", "nps"], ["r"], weights="w", types={"sat": "rating"}).tests
    np.testing.assert_allclose(a.statistic.to_numpy(), b.statistic.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(a.df.to_numpy(), b.df.to_numpy(), rtol=1e-10)


def test_caller_dataframe_not_modified():
    df = _demo_df()
    before = df.copy(deep=True)
    banner(df, ["sat", "nps", "ch"], ["region", "gender", "ch"], weights="w",
           types={"sat": "rating"})
    pd.testing.assert_frame_equal(df, before)


def test_string_banner_and_letters_across_variables():
    df = _demo_df()
    t = banner(df, ["sat"], ["gender", "region"], types={"sat": "rating"})
    assert t.columns.letter.tolist() == ["", "A", "B", "C", "D", "E"]
    assert t.columns.label.tolist() == ["Total", "f", "m", "1", "2", "3"]
    # comparisons stay within a banner variable
    pairs = set(zip(t.tests.code_a, t.tests.code_b, strict=True))
    assert pairs == {("f", "m"), (1.0, 2.0), (1.0, 3.0), (2.0, 3.0)}


def test_footnotes_state_method():
    df = _demo_df()
    t = banner(df, ["sat"], ["region"], weights="w", types={"sat": "rating"},
               correction="holm", alpha=0.1, min_base=25)
    text = " ".join(t.footnotes)
    for part in ("z-test", "linearisation standard error", "alpha = 0.1", "Holm",
                 "Weighted by column 'w'",
                 "effective", "base under 25"):
        assert part in text
    t2 = banner(df, ["sat"], ["region"], types={"sat": "rating"})
    assert "Unweighted" in " ".join(t2.footnotes)
    assert "no correction" in " ".join(t2.footnotes)


def test_html_and_excel_outputs(tmp_path):
    from openpyxl import load_workbook

    df = _demo_df()
    t = banner(df, ["sat", "nps", "ch"], ["region", "ch"], weights="w",
               types={"sat": "rating"}, labels={"sat": "Overall satisfaction"},
               value_labels={"region": {1: "North", 2: "South", 3: "East"},
                             "ch": {1: "Online", 2: "Store"}})
    h = t._repr_html_()
    assert "Overall satisfaction" in h and "North (A)" in h and "z-test" in h
    path = t.to_excel(tmp_path / "tabs.xlsx")
    wb = load_workbook(path)
    # sheets are named from the question labels (the id when a question has no label)
    assert wb.sheetnames == ["Contents", "Overall satisfaction", "nps", "ch"]
    assert t.sheet_names() == {"sat": "Overall satisfaction", "nps": "nps", "ch": "ch"}
    ws = wb["Overall satisfaction"]
    assert ws["A1"].value == "sat: Overall satisfaction"
    assert [c.value for c in ws[3]][1:4] == ["Total", "North (A)", "South (B)"]
    f = t.to_frame()
    top = f[(f.question == "sat") & (f.row == "top_box")].estimate.tolist()
    cells = {r[0].value: r for r in ws.iter_rows(min_row=4)}
    assert [c.value for c in cells["Top-2-box"][1:]] == pytest.approx(top)
    assert cells["Top-2-box"][1].number_format == "0%"
    assert not list(tmp_path.glob(".tabs.xlsx.*"))  # written atomically, no temp left


def test_questionnaire_supplies_types_labels_scale_and_missing():
    from surveykit.questionnaire import questionnaire_from_dict

    q = questionnaire_from_dict({
        "id": "t", "title": "T",
        "scales": {"sat5": {"codes": {1: "Very dissatisfied", 2: "Dissatisfied", 3: "Neutral",
                                      4: "Satisfied", 5: "Very satisfied"},
                            "missing": {9: "Don't know"}}},
        "questions": [
            {"id": "region", "type": "single", "text": "Region?",
             "options": {1: "North", 2: "South"}},
            {"id": "sat", "type": "rating", "text": "Overall satisfaction", "scale": "sat5"},
            {"id": "nps", "type": "nps", "text": "Recommend?"},
            {"id": "ch", "type": "multi", "text": "Channels", "options": {1: "Online", 2: "Store"}},
        ]})
    df = pd.DataFrame({"region": [1, 2, 1, 2, 1, 2.0], "sat": [5, 4, 9, 1, 2, 5.0],
                       "nps": [10, 0, 5, 9, 9, 8.0], "ch_1": [1, 0, 1, 1, 0, 1.0],
                       "ch_2": [0, 1, 1, 0, 0, 1.0]})
    t = banner(df, ["sat", "nps", "ch"], ["region"], questionnaire=q, min_base=0)
    f = t.to_frame()
    assert dict(zip(f.question, f.type, strict=False)) == {"sat": "rating", "nps": "nps",
                                                            "ch": "multi"}
    tot = f[f.banner == "Total"].set_index(["question", "row"])
    assert tot.loc[("sat", "top_box"), "n"] == 5                 # code 9 (don't know) missing
    assert tot.loc[("sat", "top_box"), "estimate"] == pytest.approx(3 / 5)
    assert tot.loc[("sat", "5"), "row_label"] == "Very satisfied"
    assert tot.loc[("ch", "2"), "row_label"] == "Store"
    assert f.question_label.iat[0] == "Overall satisfaction"
    assert t.columns.label.tolist() == ["Total", "North", "South"]


@pytest.mark.parametrize("kwargs,match", [
    (dict(rows=["sat"], columns=["one"]), "'one' has only one level"),
    (dict(rows=["sat"], columns=["empty"]), "'empty' has no answers"),
    (dict(rows=["empty"], columns=["region"]), "'empty' has no answers"),
    (dict(rows=["nope"], columns=["region"]), "'nope'"),
    (dict(rows=["sat"], columns=["region"], alpha=5), "alpha"),
    (dict(rows=["sat"], columns=["region"], correction="sidak"), "sidak"),
    (dict(rows=["sat"], columns=["region"], types={"sat": "likert"}), "likert"),
    (dict(rows=["sat"], columns=["region"], weights="nope"), "'nope'"),
    (dict(rows=["bad"], columns=["region"], types={"bad": "rating"}, scales={"bad": (1, 5)}),
     "row 3 has 99, not on its scale \\[1, 2, 3, 4, 5\\]"),
    (dict(rows=["sat"], columns=["badmulti"]), "other than 0/1"),
    (dict(rows=[], columns=["region"]), "rows is empty"),
    (dict(rows=["sat", "sat"], columns=["region"]), "more than once"),
])
def test_bad_input_clear_messages(kwargs, match):
    df = _demo_df(60)
    df["one"] = 1.0
    df["empty"] = np.nan
    df["bad"] = df["sat"]
    df.loc[3, "bad"] = 99.0
    df["badmulti_1"] = 1.0
    df["badmulti_2"] = 2.0
    kwargs.setdefault("types", {"sat": "rating"})
    with pytest.raises(TableError, match=match):
        banner(df, **kwargs)


def test_no_warnings_on_clean_input():
    df = _demo_df()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = banner(df, ["sat", "nps", "ch"], ["region", "ch"], weights="w",
                   types={"sat": "rating"}, correction="fdr")
    total = t.bases[t.bases["column"] == 0].set_index("question")
    assert (total["n"] == len(df)).all()
    assert total["n_weighted"].to_numpy() == pytest.approx(df["w"].sum())
    assert total["n_eff"].to_numpy() == pytest.approx(effective_n(df["w"]))


def test_grid_question_expands_to_its_items_and_open_is_refused():
    from surveykit.questionnaire import questionnaire_from_dict

    q = questionnaire_from_dict({
        "id": "t", "title": "T",
        "scales": {"s5": {"codes": {1: "Poor", 2: "Fair", 3: "Good", 4: "Very good",
                                    5: "Excellent"}}},
        "questions": [
            {"id": "region", "type": "single", "text": "Region?",
             "options": {1: "North", 2: "South"}},
            {"id": "attr", "type": "grid", "text": "Rate", "scale": "s5",
             "items": [{"id": "a_cpu", "text": "CPU"}, {"id": "a_screen", "text": "Screen"}]},
            {"id": "why", "type": "open", "text": "Why?"},
        ]})
    df = pd.DataFrame({"region": [1, 2, 1, 2.0], "a_cpu": [5, 4, 1, 2.0],
                       "a_screen": [3, 3, 4, 5.0], "why": ["a", "b", "c", "d"]})
    t = banner(df, ["attr"], ["region"], questionnaire=q, min_base=0)
    assert t.questions == ["a_cpu", "a_screen"]
    f = t.to_frame()
    assert f[(f.question == "a_cpu") & (f.row == "top_box") & (f.banner == "Total")
             ].estimate.item() == pytest.approx(0.5)
    assert f[f.question == "a_screen"].question_label.iat[0] == "Screen"
    with pytest.raises(TableError, match="'why' is an open-ended question"):
        banner(df, ["why"], ["region"], questionnaire=q)


def test_categorical_banner_keeps_category_order():
    df = _demo_df()
    df["tier"] = pd.Categorical(np.where(df.region == 1, "low", np.where(df.region == 2,
                                                                        "medium", "high")),
                                categories=["low", "medium", "high"])
    t = banner(df, ["sat"], ["tier"], types={"sat": "rating"})
    assert t.columns.label.tolist() == ["Total", "low", "medium", "high"]
