"""surveykit.text: codeframes, coding (planted truth, English and Chinese), discovery, the
human-coding round trip and agreement statistics, theme analysis, masking."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from ruamel.yaml import YAML

from surveykit.errors import TableError
from surveykit.estimates import compare, estimate
from surveykit.tables import banner
from surveykit.text import (
    CodeframeError,
    TextError,
    agreement,
    code_text,
    codeframe_from_dict,
    codeframe_from_text,
    codeframe_path,
    codeframe_schema,
    cohen_kappa,
    export_coding_sheet,
    krippendorff_alpha,
    load_codeframe,
    mask_personal_data,
    nps_groups,
    read_coding_sheet,
    suggest_themes,
    theme_impact,
    theme_shares,
    typical_quotes,
    write_codeframe_draft,
)
from surveykit.text.synthetic import PLANTED, planted_answers

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures" / "text"
PC_CODEFRAME = ROOT / "questionnaires" / "pc_customers.codeframe.yaml"
LOCK_CODEFRAME = ROOT / "questionnaires" / "smart_lock_customers.codeframe.yaml"
LANGS = ("en", "zh")


@pytest.fixture(scope="module")
def pc() -> object:
    return load_codeframe(PC_CODEFRAME)


@pytest.fixture(scope="module")
def planted(pc) -> dict:
    """3,000 planted answers per language, every theme of the bundled codeframe, coded."""
    out = {}
    for lang in LANGS:
        d = planted_answers(3000, language=lang, seed=11).rename(columns={"answer": "pain_text"})
        out[lang] = (d, code_text(d, "pain_text", pc))
    return out


def _small_codeframe(pc, keep=("battery", "heat", "praise")):
    themes = [t.model_dump(exclude_defaults=True, exclude={"net"}) for t in pc.themes
              if t.id in keep]
    return codeframe_from_dict({"id": "small", "themes": themes})


# -- codeframes -----------------------------------------------------------------------------
def test_bundled_codeframes_load_sit_beside_their_questionnaires_and_fit_the_schema(pc):
    from jsonschema import Draft202012Validator

    lock = load_codeframe(LOCK_CODEFRAME)
    assert codeframe_path(ROOT / "questionnaires" / "pc_customers.yaml") == PC_CODEFRAME
    assert pc.model.questions == ["pain_text"] and lock.model.questions == ["improve"]
    assert pc.languages == ["en", "zh"] and set(lock.languages) == {"en", "zh"}
    schema = codeframe_schema()
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    for path in (PC_CODEFRAME, LOCK_CODEFRAME):
        doc = json.loads(json.dumps(YAML(typ="safe").load(path.read_text())))
        assert not list(validator.iter_errors(doc)), path.name
    assert list(validator.iter_errors({"id": "x", "themes": [{"id": "a", "label": "A",
                                                              "colour": "red"}]}))


def test_a_codeframe_read_again_is_a_copy_and_a_changed_file_is_read_anew(pc, tmp_path):
    """Read twice in a process, the YAML is parsed once; each load is its own object, equal
    to the first, and a file whose text changed (even within the clock's tick, same size)
    is read again."""
    first, again = load_codeframe(PC_CODEFRAME), load_codeframe(PC_CODEFRAME)
    assert again is not first and again.model == first.model and again.source == first.source
    assert again.rules == first.rules and again.lines == first.lines
    d = pd.DataFrame({"pain_text": ["battery dies quickly", "runs hot", "nothing to add"]})
    pd.testing.assert_frame_equal(code_text(d, "pain_text", again).data,
                                  code_text(d, "pain_text", first).data)
    path = tmp_path / "cf.codeframe.yaml"
    theme = "themes:\n  - {id: a, label: A, match: {en: {words: [slow]}}}\n"
    path.write_text("id: one\n" + theme, encoding="utf-8")
    assert load_codeframe(path).id == "one"
    path.write_text("id: two\n" + theme, encoding="utf-8")
    assert load_codeframe(path).id == "two"


def test_every_problem_of_a_codeframe_is_reported_with_file_line_and_path():
    with pytest.raises(CodeframeError) as err:
        load_codeframe(FIX / "bad.codeframe.yaml")
    found = {(p.line, p.path): p.message for p in err.value.problems}
    assert all(p.file.endswith("bad.codeframe.yaml") for p in err.value.problems)
    expect = {
        (3, "colour"): "unknown field",
        (8, "themes[0].id"): "'battery_life' is not a valid id",
        (14, "themes[1].net"): "unknown net 'produkt'",
        (6, "nets[1]"): "net 'unused' has no themes",
        (17, "themes[1].match.en.words[1]"): "is several words; put it under phrases",
        (18, "themes[1].match.en.regex[0]"): "invalid regular expression '(fan'",
        (19, "themes[2].id"): "id 'heat' is already used at themes[1]",
        (23, "themes[2].match.en.regex[0]"): "nests unbounded repeats",
        (23, "themes[2].match.en.regex[1]"): "matches empty text",
        (23, "themes[2].match.en.regex[2]"): "back-reference",
        (24, "themes[2].match.en.words[0]"): "needs at least 3 characters",
        (29, "themes[3].match.EN"): "'EN' is not a language code",
    }
    for where, text in expect.items():
        assert where in found and text in found[where], (where, found.get(where))
    assert len(err.value.problems) == len(expect)


def test_codeframe_bounds_long_patterns_yaml_syntax_and_nesting():
    long = "a" * 301
    with pytest.raises(CodeframeError, match=r"line 3: themes\[0\]\.match\.en\.regex\[0\]: "
                                             r"301 characters; a rule may have at most 300"):
        codeframe_from_text(f"id: x\nthemes:\n  - {{id: a, label: A, match: {{en: {{regex: "
                            f"['{long}']}}}}}}\n")
    with pytest.raises(CodeframeError, match="line 2: YAML syntax error: mapping values"):
        codeframe_from_text("id: x\ntitle: a: b\nthemes: []\n")
    with pytest.raises(CodeframeError, match="nesting deeper than"):  # the loader's bounds
        codeframe_from_text("id: x\nthemes: " + "[" * 200 + "]" * 200)
    with pytest.raises(CodeframeError, match="codeframe file not found"):
        load_codeframe(FIX / "nope.yaml")
    with pytest.raises(CodeframeError, match="has no match rules"):
        codeframe_from_text("id: x\nthemes:\n  - {id: a, label: A}\n")


# -- coding ---------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", LANGS)
def test_planted_themes_are_coded_with_precision_and_recall_of_at_least_95_percent(
        planted, lang):
    d, coded = planted[lang]
    data = coded.data
    report = {}
    for theme in [*PLANTED, "other", "none"]:
        truth, got = data[f"truth_{theme}"], data[f"pain_text_{theme}"]
        assert (truth.isna() == got.isna()).all()          # NaN exactly where missing
        ok = truth.notna()
        tp = int(((truth == 1) & (got == 1)).sum())
        precision, recall = tp / (got[ok] == 1).sum(), tp / (truth == 1).sum()
        report[theme] = (round(precision, 3), round(recall, 3))
        assert precision >= 0.95 and recall >= 0.95, (lang, theme, report[theme])
    assert (truth == 1).sum() > 100  # the no-comment flag was planted, not vacuous


def test_the_demo_answers_are_coded_as_the_simulator_wrote_them(pc):
    d = pd.read_csv(ROOT / "data" / "demo" / "responses.csv")
    before = d.copy()
    coded = code_text(d, "pain_text", pc)
    pd.testing.assert_frame_equal(d, before)                     # input untouched
    expect = {"Battery drains far too fast, I have to carry the charger everywhere.": "battery",
              "Fan gets loud and the case gets hot under load.": "heat",
              "It took more than three days to get a reply from service.": "service",
              "Good machine but too expensive for what you get.": "price",
              "Too many models with specs I do not need.": "range",
              "Very happy with it, keep it up.": "praise",
              "Nothing special to add.": "none"}
    themes = [c for c in pc.codes()["code"] if pc.codes().set_index("code").loc[c, "kind"]
              != "net"]
    for text, code in expect.items():
        rows = coded.data[d["pain_text"] == text]
        got = {t for t in themes if (rows[f"pain_text_{t}"] == 1).all()}
        assert got == {code}, (text, got)
    assert coded.data.loc[d["pain_text"].isna(), coded.theme_columns].isna().all().all()
    assert coded.data["pain_text_product"].sum() == (
        coded.data[["pain_text_battery", "pain_text_heat"]].max(axis=1).sum())  # the net


def test_rules_words_phrases_stems_exclusions_boundaries_and_normalisation(pc):
    answers = {
        "I take lots of screenshots and stay in hotels": set(),            # no screen, no hot
        "slow service, but the laptop itself is slow": {"service", "performance"},
        "slow service": {"service"},                 # "slow" inside an exclusion does not count
        "ＲＥＣＨＡＲＧＩＮＧ every hour": {"battery"},       # full width, capitals, stem
        "battery life is great": {"praise"},                   # excluded from battery
        "not happy with the fan": {"heat"},                    # "happy" inside "not happy"
        "the hot deal made me buy it": set(),
        "我用信用卡付的款": set(),                               # 卡 is not a word of 信用卡
        "上门服务很慢": {"service"},                            # 服务 inside 上门服务
        "玩游戏很卡，风扇声音很大": {"performance", "heat"},
        "battery不行": {"battery"},                             # a CJK neighbour is a boundary
    }
    d = pd.DataFrame({"pain_text": list(answers)})
    coded = code_text(d, "pain_text", pc)
    themes = pc.theme_ids + ["other", "none"]
    for i, (text, want) in enumerate(answers.items()):
        got = {t for t in themes if coded.data.loc[i, f"pain_text_{t}"] == 1}
        assert got == (want or {"other"}), (text, got)
    audit = coded.audit
    row = audit[(audit["row"] == 3) & (audit["code"] == "battery")].iloc[0]
    assert (row["pattern"], row["matched"]) == ("recharg*", "recharging")
    row = audit[(audit["row"] == 1) & (audit["code"] == "performance")].iloc[0]
    assert row["matched"] == "slow" and row["rule"] == "word (en)"


@pytest.mark.parametrize("answer", ["", "  ", "N/A", "n.a.", "None.", "nothing!", "No comment",
                                    "-", "...", "无", "没有。", "暂无意见", "ｎｏｎｅ",
                                    "nothing special to add"])
def test_answers_that_say_nothing_get_the_no_comment_flag_only(pc, answer):
    coded = code_text(pd.DataFrame({"pain_text": [answer]}), "pain_text", pc)
    row = coded.data.iloc[0]
    assert row["pain_text_none"] == 1 and row["pain_text_other"] == 0
    assert (row[coded.theme_columns] == 0).all()


def test_a_small_chinese_example_with_the_smart_lock_codeframe():
    lock = load_codeframe(LOCK_CODEFRAME)
    d = pd.read_csv(FIX / "lock_improve_zh.csv", dtype={"improve": object})
    coded = code_text(d, "improve", lock, language="zh")
    kinds = lock.codes().set_index("code")["kind"]
    for i, r in d.iterrows():
        got = {c for c in kinds.index if kinds[c] != "net" and coded.data.loc[i, f"improve_{c}"]
               == 1}
        want = set(r["expected"].split(";")) if isinstance(r["expected"], str) else set()
        assert got == want, (r["improve"], got)


def test_coded_columns_are_a_multi_response_question_for_estimate_and_banner(pc):
    d = pd.read_csv(ROOT / "data" / "demo" / "responses.csv")
    coded = code_text(d, "pain_text", pc)
    est = estimate(coded.data, coded.theme_columns, stat="proportion").set_index("variable")
    for col in coded.theme_columns:
        assert est.loc[col, "estimate"] == pytest.approx(coded.data[col].mean())
        assert est.loc[col, "n"] == coded.data[col].notna().sum()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = banner(coded.data, "pain_text", "cust_type", **coded.table_args()).to_frame()
    battery = t[(t["row_label"] == "Battery life") & (t["banner"] == "Total")]
    assert battery["estimate"].iloc[0] == pytest.approx(est.loc["pain_text_battery",
                                                                "estimate"])


def test_a_coded_open_question_is_a_banner_row_with_the_questionnaire(pc):
    """With the questionnaire passed, the coded open question is tabulated as a multi-response
    row; uncoded, it is refused with what to do."""
    from surveykit.questionnaire import load_questionnaire

    q = load_questionnaire(ROOT / "questionnaires" / "pc_customers.yaml")
    d = pd.read_csv(ROOT / "data" / "demo" / "responses.csv")
    coded = code_text(d, "pain_text", pc)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = banner(coded.data, "pain_text", "cust_type", questionnaire=q,
                   **coded.table_args()).to_frame()
    total = t[t["banner"] == "Total"].set_index("row_label")["estimate"]
    for code in ("service", "battery"):
        col = f"pain_text_{code}"
        answered = coded.data[col].notna()
        assert total[pc.label(code)] == pytest.approx(coded.data.loc[answered, col].mean())
    with pytest.raises(TableError, match="code it into themes first"):
        banner(d, "pain_text", "cust_type", questionnaire=q)


def test_code_text_refuses_what_it_cannot_do(pc):
    d = pd.DataFrame({"pain_text": ["battery"], "other_q": ["x"]})
    with pytest.raises(TextError, match="open question.*'nope'"):
        code_text(d, "nope", pc)
    with pytest.raises(TextError, match="codes 'pain_text', not 'other_q'"):
        code_text(d, "other_q", pc)
    with pytest.raises(TextError, match="language 'fr' has no rules"):
        code_text(d, "pain_text", pc, language="fr")
    coded = code_text(d, "pain_text", pc)
    with pytest.raises(TextError, match="already hold column"):
        code_text(coded.data, "pain_text", pc)
    assert code_text(d, "pain_text", pc, language="zh").data["pain_text_battery"].iloc[0] == 0


def test_regexes_run_on_joined_answers_match_as_on_each_answer_alone():
    cf = codeframe_from_dict({"id": "r", "themes": [
        {"id": "a", "label": "A", "match": {"en": {"regex": [r"^wait\w*", r"days?$"]}}},
        {"id": "b", "label": "B", "match": {"en": {"regex": [r"x\s+y"]}}},   # \s: no literal
        {"id": "c", "label": "C", "match": {"en": {"regex": [r"(?<!not )good"]}}}]})
    texts = ["waited", "it took days", "a wait", "x", "y x  y", "not good", "good", "x"]
    coded = code_text(pd.DataFrame({"q": texts}), "q", cf)
    for code, pattern in (("a", r"^wait\w*|days?$"), ("b", r"x\s+y"), ("c", r"(?<!not )good")):
        want = [float(re.search(pattern, t) is not None) for t in texts]
        assert coded.data[f"q_{code}"].tolist() == want, code


# -- discovery ------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", LANGS)
def test_discovery_finds_the_planted_themes_the_codeframe_lacks(pc, lang):
    small = _small_codeframe(pc)
    hidden = ["service", "price", "screen", "software"]
    mix = {t: 0.2 for t in ["battery", "heat", "praise", *hidden]}
    d = planted_answers(3000, language=lang, mix=mix, seed=4)
    s = suggest_themes(d, "answer", k=10, codeframe=small)
    assert "no theme of codeframe 'small' codes" in s.source and len(s) == 10
    assert sum(x.n for x in s) <= s.n_answers
    from surveykit.text.discovery import tokens
    matched = {}
    for theme in hidden:
        vocab = {w for p in PLANTED[theme][lang] for w in tokens(p, pairs=False)}
        overlap = [len(vocab & set(x.terms[:6])) for x in s]
        best = int(np.argmax(overlap))
        assert overlap[best] >= 2, (theme, [x.terms[:6] for x in s])
        matched[theme] = best
    assert len(set(matched.values())) == len(hidden), matched   # one suggestion per theme
    for x in s:
        assert all(not re.search(r"\d{6,}|@", e) for e in x.examples)


def test_a_codeframe_draft_loads_and_is_never_written_over(pc, tmp_path):
    d = planted_answers(800, mix={"service": 0.4, "price": 0.4, "battery": 0.3}, seed=5)
    d = d.rename(columns={"answer": "pain_text"})
    small = _small_codeframe(pc)
    s = suggest_themes(d, "pain_text", k=3, codeframe=small)
    path = write_codeframe_draft(s, tmp_path / "draft.yaml", base=small)
    draft = load_codeframe(path)
    assert draft.theme_ids[:3] == small.theme_ids and len(draft.theme_ids) == 6
    assert draft.model.questions == ["pain_text"]
    assert "# suggested:" in path.read_text()
    coded = code_text(d, "pain_text", draft)   # the draft codes what it was drafted from
    assert coded.data["pain_text_other"].mean() < code_text(d, "pain_text", small).data[
        "pain_text_other"].mean()
    with pytest.raises(TextError, match="exists"):
        write_codeframe_draft(s, path)


def test_typical_quotes_are_central_distinct_masked_and_not_simply_the_first(pc):
    texts = ["battery", "call me 138 1234 5678 about the battery",
             "the battery drains far too fast", "The Battery drains  far too FAST",
             "the battery drains too fast when gaming", "my battery drains fast",
             "battery drains quickly, mail li@example.com"]
    d = pd.DataFrame({"pain_text": texts})
    coded = code_text(d, "pain_text", pc)
    q = typical_quotes(coded.data, "pain_text", "pain_text_battery", n=3)
    assert len(q) == 3 and q["quote"].str.lower().str.contains("drain").all()
    assert q["row"].tolist() != [0, 1, 2]
    assert 2 in q["count"].tolist()        # the answer given twice is among the typical
    assert q["similarity"].is_monotonic_decreasing
    all_q = typical_quotes(coded.data, "pain_text", "pain_text_battery", n=10)
    assert not all_q["quote"].str.contains(r"\d{6}|@").any()
    assert len(all_q) == 6                 # distinct answers (normalised) only


# -- the human-coding round trip ------------------------------------------------------------
def test_coding_sheet_round_trip_and_agreement_matches_scikit_learn(pc, tmp_path):
    from sklearn.metrics import cohen_kappa_score

    d, coded = planted_answers(400, seed=2).rename(columns={"answer": "pain_text"}), None
    d.loc[3, "pain_text"] = "=HYPERLINK(\"http://x\") battery"      # formula-like answers
    d.loc[5, "pain_text"] = "@SUM(A1) the fan is loud"
    d.loc[7, "pain_text"] = "-1 star, call 138 1234 5678"
    coded = code_text(d, "pain_text", pc)
    path = export_coding_sheet(d, "pain_text", tmp_path / "sheet.xlsx", coded=coded,
                               sample=120, seed=1)
    ws = load_workbook(path)["coding"]
    header = [c.value for c in ws[1]]
    assert header[:2] == ["row", "answer"] and "battery" in header and "product" not in header
    shown = {r[0].value: r[1] for r in ws.iter_rows(min_row=2)}
    for row in (3, 5, 7):
        if row in shown:
            assert shown[row].data_type == "s"         # text, never a formula
    assert not any(re.search(r"\d{6,}|\d{3} \d{4} \d{4}", str(c.value)) for c in
                   shown.values())
    # a human codes: agrees mostly, disagrees on some cells, leaves two rows blank
    rng = np.random.default_rng(0)
    codes = header[2:]
    auto = coded.data.loc[list(shown), [f"pain_text_{c}" for c in codes]]
    human = auto.copy()
    flip = rng.random(human.shape) < 0.05
    human = human.where(~flip, 1 - human)
    for r_i, row in enumerate(ws.iter_rows(min_row=2)):
        for j, cell in enumerate(row[2:2 + len(codes)]):
            v = human.iloc[r_i, j]
            cell.value = ("x" if j % 2 else 1) if v == 1 else None
    for cell in list(ws.iter_rows(min_row=2))[0][2:] + list(ws.iter_rows(min_row=2))[1][2:]:
        cell.value = None
    ws.parent.save(path)
    back = read_coding_sheet(path)
    assert back.attrs["question"] == "pain_text" and len(back.attrs["not_coded"]) == 2
    assert back.index.tolist() == list(shown)
    assert back.iloc[:2].isna().all().all()
    res = agreement(coded, back)
    table = res.to_frame().set_index("code")
    both = back.dropna()
    for c in back.columns:
        a, h = coded.data.loc[both.index, c].to_numpy(), both[c].to_numpy()
        ref = cohen_kappa_score(a, h) if len(set(a) | set(h)) > 1 else np.nan
        assert table.loc[c, "kappa"] == pytest.approx(ref, nan_ok=True), c
        assert table.loc[c, "n"] == len(both)
    assert 0.6 < res.alpha < 1 and "Krippendorff" in res.summary()


def test_a_coding_sheet_with_a_cell_that_is_not_a_tick_is_refused_by_cell(pc, tmp_path):
    d = pd.DataFrame({"pain_text": ["battery", "fan"]}, index=[101, 102])
    path = export_coding_sheet(d, "pain_text", tmp_path / "s.xlsx", coded=pc, mask=False)
    wb = load_workbook(path)
    wb["coding"]["D3"] = "maybe"
    wb.save(path)
    with pytest.raises(TextError, match=r"coding!D3: 'maybe' is not a tick"):
        read_coding_sheet(path)
    with pytest.raises(TextError, match="repeats"):
        export_coding_sheet(pd.DataFrame({"pain_text": ["a", "b"]}, index=[1, 1]),
                            "pain_text", tmp_path / "t.xlsx", coded=pc)


def test_kappa_matches_scikit_learn_and_alpha_a_hand_calculation():
    from sklearn.metrics import cohen_kappa_score

    rng = np.random.default_rng(3)
    for _ in range(20):
        a = rng.integers(0, 3, 50)
        b = np.where(rng.random(50) < 0.7, a, rng.integers(0, 3, 50))
        assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))
    # two coders, six units: (1,1) (1,1) (0,0) (1,0) (0,0) (1,1)
    # coincidences (each unit adds both ordered pairs / (m - 1) = 1): o11 = 6, o00 = 4,
    # o01 = o10 = 1; n1 = 7, n0 = 5, n = 12. alpha = 1 - (n - 1) (o01 + o10) / (2 n0 n1)
    # = 1 - 11 * 2 / 70 = 0.685714...
    coder1, coder2 = [1, 1, 0, 1, 0, 1], [1, 1, 0, 0, 0, 1]
    assert krippendorff_alpha([coder1, coder2]) == pytest.approx(1 - 22 / 70)
    # a unit coded by one coder only is not pairable and changes nothing
    assert krippendorff_alpha([coder1 + [1], coder2 + [np.nan]]) == pytest.approx(1 - 22 / 70)
    # Krippendorff (2011), nominal data, four coders, twelve units: 0.743
    nan = np.nan
    data = [[1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
            [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
            [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
            [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan]]
    assert krippendorff_alpha(data) == pytest.approx(0.743, abs=5e-4)
    assert np.isnan(krippendorff_alpha([[1, 1], [1, 1]]))


# -- analysis -------------------------------------------------------------------------------
def test_theme_shares_are_estimate_and_compare_of_the_coded_columns(planted, pc):
    d, coded = planted["en"]
    data = coded.data.assign(seg=np.arange(len(d)) % 3, w=1 + (np.arange(len(d)) % 4))
    before = data.copy()
    s = theme_shares(data, "pain_text", pc, by="seg", weights="w")
    pd.testing.assert_frame_equal(data, before)
    t = s.to_frame()
    cols = [f"pain_text_{c}" for c in pc.codes()["code"]]
    ref = estimate(data, cols, stat="proportion", weights="w", by="seg")
    mine = t[t["group"] != "Total"].set_index(["column", "group"])
    for r in ref.itertuples():
        assert mine.loc[(r.variable, r.group), "estimate"] == pytest.approx(r.estimate)
        assert mine.loc[(r.variable, r.group), "ci_low"] == pytest.approx(r.ci_low)
    cmp = compare(data, cols, by="seg", stat="proportion", weights="w").set_index(
        ["variable", "group"])
    for (col, g), p in cmp["p_value"].items():
        assert mine.loc[(col, g), "p_value"] == pytest.approx(p)
    total = t[t["group"] == "Total"].set_index("code")
    assert total.loc["battery", "n"] == coded.data["pain_text_battery"].notna().sum()
    assert "Battery life" in s.summary() and "weighted" in s.summary()
    # raw answers are coded on the fly; a list of columns works too
    raw = d[["pain_text"]].assign(g=np.arange(len(d)) % 2)
    assert theme_shares(raw, "pain_text", PC_CODEFRAME).note.startswith("coded now")
    by_cols = theme_shares(data, "pain_text", ["pain_text_battery", "pain_text_heat"])
    assert by_cols.to_frame()["code"].tolist() == ["battery", "heat"]


def test_themes_by_nps_group():
    d = pd.DataFrame({"nps": [0, 6, 7, 8, 9, 10, np.nan, 5],
                      "c": ["battery", "battery", "fan", "ok", "love it", "great", "x", "slow"]})
    groups = nps_groups(d)
    assert groups.tolist()[:6] == ["Detractors (0-6)"] * 2 + ["Passives (7-8)"] * 2 + [
        "Promoters (9-10)"] * 2 and pd.isna(groups.iloc[6])
    cf = codeframe_from_dict({"id": "n", "themes": [
        {"id": "battery", "label": "Battery", "match": {"en": {"words": ["battery"]}}}]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = theme_shares(d.assign(nps_group=groups), "c", cf, by="nps_group").to_frame()
    det = t[(t["code"] == "battery") & (t["group"] == "Detractors (0-6)")]
    assert det["estimate"].iloc[0] == pytest.approx(2 / 3)
    with pytest.raises(Exception, match="0-10"):
        nps_groups(pd.DataFrame({"nps": [11]}))


def test_theme_impact_recovers_planted_effects_adjusted_for_the_other_themes():
    rng = np.random.default_rng(7)
    n = 3000
    a = rng.random(n) < 0.3
    b = rng.random(n) < np.where(a, 0.6, 0.2)        # b goes with a: raw differs from adjusted
    c = rng.random(n) < 0.25
    sat = 8 - 1.5 * a - 0.8 * b + rng.normal(0, 1, n)
    d = pd.DataFrame({"t_a": a.astype(float), "t_b": b.astype(float), "t_c": c.astype(float),
                      "t_none": 0.0, "sat": sat, "w": rng.uniform(0.5, 2, n)})
    d.loc[:9, "t_a"] = np.nan                         # not answered: left out
    r = theme_impact(d, "sat", ["t_a", "t_b", "t_c", "t_none"], weights="w")
    t = r.to_frame().set_index("column")
    for col, true in (("t_a", -1.5), ("t_b", -0.8), ("t_c", 0.0)):
        assert t.loc[col, "ci_low"] < true < t.loc[col, "ci_high"], col
    assert t.loc["t_a", "raw_difference"] < t.loc["t_a", "difference"]   # confounded by b
    assert r.n == n - 10 and r.dropped == ["t_none"] and "t_none" in r.summary()
    with pytest.raises(TextError, match="repeat one another"):
        theme_impact(d.assign(t_copy=d["t_b"]), "sat", ["t_b", "t_copy"])


# -- masking --------------------------------------------------------------------------------
def test_emails_phones_and_digit_runs_never_survive_masking():
    rng = np.random.default_rng(1)
    words = ["the fan", "电池不行", "please call", "联系我", "order", "客户编号", "thanks"]

    def digits(k):
        return "".join(str(x) for x in rng.integers(0, 10, k))

    secrets = []
    for _ in range(300):
        kind = rng.integers(0, 8)
        if kind == 0:
            s = f"{digits(3)} {digits(4)} {digits(4)}"                   # 138 1234 5678
        elif kind == 1:
            s = f"+86-1{digits(2)}-{digits(4)}-{digits(4)}"
        elif kind == 2:
            s = f"1{digits(10)}"                                         # 13812345678
        elif kind == 3:
            s = f"({digits(3)}) {digits(3)}-{digits(4)}"
        elif kind == 4:
            s = f"user{digits(2)}.name@mail-{digits(2)}.example.com"
        elif kind == 5:
            s = f"wang{digits(2)} (at) qq (dot) com"
        elif kind == 6:
            s = digits(int(rng.integers(6, 19)))                         # ids
        else:
            s = f"{digits(17)}X"                                          # identity card
        secrets.append(s)
        text = f"{rng.choice(words)} {s}{rng.choice(['', '。', ', ok', '谢谢'])}"
        masked = mask_personal_data(text)
        assert not re.search(r"\d{6,}", re.sub(r"\D", "", masked)), (text, masked)
        assert "@" not in masked and "(at)" not in masked, (text, masked)
    series = mask_personal_data(pd.Series(["a@b.co", None, "13812345678"]))
    assert series.iloc[0] == "[email]" and pd.isna(series.iloc[1])
    assert series.iloc[2] == "[phone]"
    assert mask_personal_data("i7-12700H at 5,999 in 2023") == "i7-12700H at 5,999 in 2023"


# -- the declared simulator's open answers (issue 15 item 7) --------------------------------
PF_TRUTH = ROOT / "data" / "product_feedback" / "simulation.yaml"


@pytest.fixture(scope="module")
def pf_simulated():
    """FlowDesk's declared truth: answers in English and Chinese from a theme mix per plan
    and NPS group, with fillers and off-theme sentences."""
    from surveykit.questionnaire import load_questionnaire
    from surveykit.simulate import simulate_from_truth

    q = load_questionnaire(ROOT / "questionnaires" / "product_feedback.yaml")
    sim = simulate_from_truth(q, PF_TRUTH, n=10000, seed=7)
    cf = load_codeframe(ROOT / "questionnaires" / "product_feedback.codeframe.yaml")
    return q, sim, cf, code_text(sim.responses, "improve", cf)


@pytest.mark.parametrize("lang", LANGS)
def test_simulated_answers_are_coded_against_the_declared_truth(pf_simulated, lang):
    """Every planted theme: precision and recall >= 0.95 in each language, on at least 100
    mentions (no-comment and missing answers carry no theme)."""
    _, sim, cf, coded = pf_simulated
    r = sim.respondents
    rows = (r["improve_language"] == lang).to_numpy()
    planted = r.loc[rows, "improve_themes"].fillna("").str.split(";")
    assert rows.sum() > 300
    for theme in cf.theme_ids:
        truth = planted.apply(lambda ts, t=theme: t in ts).to_numpy()
        got = (coded.data.loc[rows, f"improve_{theme}"] == 1).to_numpy()
        tp = (truth & got).sum()
        assert truth.sum() >= 100, (theme, truth.sum())
        assert tp / got.sum() >= 0.95 and tp / truth.sum() >= 0.95, (lang, theme)
    written = sim.responses.loc[rows, "improve"]
    assert written.str.contains("[\u4e00-\u9fff]").all() == (lang == "zh")


def test_the_theme_mix_is_the_declared_one_per_segment_and_nps_group(pf_simulated):
    """With the sources switched off (strength 0) and one theme per answer, the share of
    each theme among the answers of a plan and NPS group is weight x plan factor x group
    factor, normalised: checked within 4 standard errors on 40,000 respondents."""
    from surveykit.simulate import simulate_from_truth
    from surveykit.simulate.truth_file import read_truth

    q = pf_simulated[0]
    raw = read_truth(PF_TRUTH)[0]
    spec = raw["open_text"]["improve"]
    spec.update(strength=0.0, second_theme=0.0, noise=0.0)
    sim = simulate_from_truth(q, raw, n=40000, seed=3)
    r, nps = sim.respondents, sim.responses["nps"]
    group = np.select([nps <= 6, nps <= 8, nps <= 10], ["detractor", "passive", "promoter"],
                      None)
    themes = spec["themes"]
    for plan in (1, 4):
        for g in ("detractor", "promoter"):
            rows = (r["plan"] == plan).to_numpy() & (group == g) & r["improve_themes"].notna()
            w = {t: v.get("weight", 1.0) * v.get("by_segment", {}).get(plan, 1.0)
                 * v.get("by_nps", {}).get(g, 1.0) for t, v in themes.items()}
            total = sum(w.values())
            n = rows.sum()
            assert n > 400
            for t in themes:
                p = w[t] / total
                share = (r.loc[rows, "improve_themes"] == t).mean()
                assert abs(share - p) < 4 * np.sqrt(p * (1 - p) / n), (plan, g, t, share, p)


def test_discovery_recovers_the_simulated_themes(pf_simulated):
    """Suggestions from the English answers, with the codeframe knowing only praise: each
    planted complaint theme is the best match of its own suggestion (top terms overlap)."""
    from surveykit.simulate.truth_file import read_truth
    from surveykit.text.discovery import tokens

    _, sim, cf, _ = pf_simulated
    en = sim.responses[(sim.respondents["improve_language"] == "en").to_numpy()]
    praise = [t.model_dump(exclude_defaults=True, exclude={"net"}) for t in cf.themes
              if t.id == "praise"]
    s = suggest_themes(en, "improve", k=10,
                       codeframe=codeframe_from_dict({"id": "praise_only", "themes": praise}))
    themes = read_truth(PF_TRUTH)[0]["open_text"]["improve"]["themes"]
    matched = {}
    for name, t in themes.items():
        if name == "praise":
            continue
        vocab = {w for p in t["phrases"]["en"] for w in tokens(p, pairs=False)}
        overlap = [len(vocab & set(x.terms[:6])) for x in s]
        matched[name] = int(np.argmax(overlap))
        assert overlap[matched[name]] >= 2, (name, [x.terms[:6] for x in s])
    assert len(set(matched.values())) == len(matched), matched


@pytest.mark.parametrize(("change", "message"), [
    ({"by_nps": {"detractor": 2.0}}, "open_text.improve.themes.mobile.by_nps: name the NPS"),
    ({"by_segment": {9: 2.0}}, "by_segment.9: unknown key"),
    ({"phrases": {"en": ["Offline please"]}}, "zh has none"),
    ({"by_segment": {1: 0}}, "by_segment.1: a factor > 0"),
])
def test_a_wrong_theme_mix_is_refused_with_its_place(change, message):
    from surveykit.errors import SimulationError
    from surveykit.questionnaire import load_questionnaire
    from surveykit.simulate import simulate_from_truth
    from surveykit.simulate.truth_file import read_truth

    q = load_questionnaire(ROOT / "questionnaires" / "product_feedback.yaml")
    raw = read_truth(PF_TRUTH)[0]
    spec = raw["open_text"]["improve"]
    if "by_nps" in change:
        del spec["nps"]
        for t in spec["themes"].values():
            t.pop("by_nps", None)
    spec["themes"]["mobile"].update(change)
    with pytest.raises(SimulationError, match=re.escape(message)):
        simulate_from_truth(q, raw, n=50)


def _flowdesk_findings(qpath):
    from surveykit.reporting import SegmentFindings
    from surveykit.survey import Survey

    data = ROOT / "data" / "product_feedback"
    survey = Survey.from_files(qpath, data / "responses.csv", targets=data / "targets.yaml")
    return SegmentFindings(survey, "plan", 2)


def test_the_method_note_says_the_coding_was_not_checked_without_a_human_sheet():
    f = _flowdesk_findings(ROOT / "questionnaires" / "product_feedback.yaml")
    note = f.method_note()
    said = [x for x in note.notes if "codeframe 'flowdesk_improve'" in x]
    assert said == ["Answers to 'What to improve' were sorted into 7 themes by the word rules "
                    "of codeframe 'flowdesk_improve' (English and Chinese); the rules have not "
                    "been checked against a person's coding."]
    assert any("export_coding_sheet" in x for x in note.technical)


def test_the_method_note_states_the_agreement_with_a_persons_coding(tmp_path):
    """A person codes 150 answers (the planted truth, with 6 answers coded differently); the
    codeframe names the sheet; the note's alpha and kappas are those of agreement() on the
    same rows matched by row label (the note's path matches by the answers' text)."""
    import shutil

    from openpyxl import load_workbook

    from surveykit.text import export_coding_sheet, read_coding_sheet

    shutil.copy(ROOT / "questionnaires" / "product_feedback.yaml", tmp_path)
    src = (ROOT / "questionnaires" / "product_feedback.codeframe.yaml").read_text("utf-8")
    (tmp_path / "product_feedback.codeframe.yaml").write_text(
        src + "\nhuman_coding: coded/improve_sample.xlsx\n", encoding="utf-8")
    data = ROOT / "data" / "product_feedback"
    d = pd.read_csv(data / "responses.csv")
    truth = pd.read_csv(data / "truth_respondents.csv")["improve_themes"]
    cf = load_codeframe(ROOT / "questionnaires" / "product_feedback.codeframe.yaml")
    (tmp_path / "coded").mkdir()
    sheet = export_coding_sheet(d, "improve", tmp_path / "coded" / "improve_sample.xlsx",
                                coded=cf, sample=150, seed=3)
    wb = load_workbook(sheet)
    ws = wb["coding"]
    col = {c.value: c.column for c in ws[1]}
    for i, row in enumerate(range(2, ws.max_row + 1)):
        label = ws.cell(row, 1).value
        themes = truth[label].split(";") if isinstance(truth[label], str) else ["none"]
        if i < 6:                                   # the person disagrees on six answers
            themes = ["other"]
        for t in themes:
            ws.cell(row, col[t], 1)
    wb.save(sheet)

    human = read_coding_sheet(sheet)
    expect = agreement(code_text(d, "improve", cf), human).to_frame().set_index("code")
    kappas = expect.drop(index="overall")["kappa"].dropna()
    f = _flowdesk_findings(tmp_path / "product_feedback.yaml")
    said = [x for x in f.method_note().notes if "codeframe 'flowdesk_improve'" in x]
    assert said == [
        "Answers to 'What to improve' were sorted into 7 themes by the word rules of "
        "codeframe 'flowdesk_improve' (English and Chinese); on 150 answers that a person "
        f"also coded (improve_sample.xlsx), the rules agree with Krippendorff's alpha "
        f"{expect.loc['overall', 'alpha']:.2f} (Cohen's kappa per code from "
        f"{kappas.min():.2f} to {kappas.max():.2f})."]
    assert 0.8 < expect.loc["overall", "alpha"] < 0.99


def test_a_missing_human_coding_sheet_is_a_located_error(tmp_path):
    src = (ROOT / "questionnaires" / "product_feedback.codeframe.yaml").read_text("utf-8")
    path = tmp_path / "x.codeframe.yaml"
    path.write_text(src + "\nhuman_coding: nowhere.xlsx\n", encoding="utf-8")
    n = src.count("\n") + 2
    with pytest.raises(CodeframeError, match=re.escape(f"x.codeframe.yaml:line {n}")
                       + r".*human_coding: .*nowhere.xlsx not found"):
        load_codeframe(path)


def test_the_tab_book_tabulates_a_coded_open_question_by_segment():
    """The overview's banner (the tab book) gains the coded themes of each open question with
    a codeframe: the weighted share among those who answered, per plan."""
    from surveykit.reporting.overview import Overview
    from surveykit.survey import Survey

    data = ROOT / "data" / "product_feedback"
    survey = Survey.from_files(ROOT / "questionnaires" / "product_feedback.yaml",
                               data / "responses.csv", targets=data / "targets.yaml")
    ov = Overview(survey, "plan")
    b = ov.banner().to_frame()
    said = ov.banner_tables().findings[0]          # the coded question counts as one more
    assert said.startswith(f"{len(ov.banner_rows()) + 1} questions by plan")
    assert "improve" not in ov.banner_rows()
    rows = b[(b["question"] == "improve") & (b["row_label"] == "Speed")].set_index("column_label")
    coded = code_text(survey.data, "improve", load_codeframe(
        ROOT / "questionnaires" / "product_feedback.codeframe.yaml")).data
    w = pd.Series(survey.weight_array(), index=survey.data.index)
    ok = coded["improve_performance"].notna()
    free = ok & (survey.data["plan"] == 1)
    for label, rows_of in (("Total", ok), ("Free", free)):
        share = np.average(coded.loc[rows_of, "improve_performance"], weights=w[rows_of])
        assert rows.loc[label, "estimate"] == pytest.approx(share, rel=1e-12)
