"""Fielding a questionnaire (issue 17): XLSForm export and import, and platform data.

- every bundled questionnaire exports, and pyxform (the reference XLSForm converter) turns
  each XLSForm into an XForm without errors or warnings;
- YAML -> XLSForm -> YAML gives the same questionnaire (types, codes, labels, routing and
  the rest) for every bundled questionnaire;
- the ``relevant`` and ``calculate`` expressions of the XForm, evaluated by a small XPath
  1.0 evaluator written here (independent of the translator), pick the same respondents as
  ``Questionnaire.asked`` and give the same values as ``Questionnaire.derive`` on simulated
  respondents, missing codes and blanks included; random expressions (hypothesis) too;
- a KoboToolbox-style export of the demo survey (group paths, space-separated multi answers,
  metadata) reads into the same data, with the same findings, as the demo CSV.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from pyxform.xls2xform import convert

from surveykit.cli import main
from surveykit.errors import OutputPathError, QuestionnaireError, ResponseDataError
from surveykit.questionnaire import load_questionnaire, questionnaire_from_text
from surveykit.questionnaire.xlsform import from_xlsform, to_xlsform
from surveykit.questionnaire.xpath import from_xpath, parse_xpath, to_xpath
from surveykit.responses import check_responses, read_responses
from surveykit.responses.platform import from_platform_export

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = sorted(p for p in (ROOT / "questionnaires").glob("*.yaml")
                 if not p.name.endswith(".codeframe.yaml"))
ALL_TYPES = ROOT / "tests" / "fixtures" / "questionnaires" / "valid_all_types.yaml"
FORMS = [*BUNDLED, ALL_TYPES]
XF = "{http://www.w3.org/2002/xforms}"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Each questionnaire, its XLSForm and pyxform's conversion of it (with warnings)."""
    folder = tmp_path_factory.mktemp("xlsform")
    out = {}
    for path in FORMS:
        q = load_questionnaire(path)
        written = to_xlsform(q, folder / f"{path.stem}.xlsx")
        warnings: list[str] = []
        xform = convert(str(written.path), warnings=warnings).xform
        out[path.stem] = (q, written, xform, warnings)
    return out


# -- an XPath 1.0 evaluator for the subset XLSForms use (independent of the translator) -----
_TOK = re.compile(r"\s*(\d+\.\d*|\.\d+|\d+|'[^']*'|\"[^\"]*\"|\$\{[^}]+\}|/[\w/.:-]+|!=|<=|>="
                  r"|[=<>+*(),-]|[A-Za-z_][\w.:-]*(?=\s*\()|and\b|or\b|div\b|mod\b|\.)")


class XPath:
    """Parse once; evaluate against a dict of node values (text, '' when blank)."""

    def __init__(self, text: str):
        self.text = text
        self.toks, pos = [], 0
        while pos < len(text.rstrip()):
            m = _TOK.match(text, pos)
            assert m, f"cannot tokenise {text[pos:]!r}"
            self.toks.append(m.group(1))
            pos = m.end()
        self.i = 0
        self.tree = self.expr(0)
        assert self.i == len(self.toks), text

    LEVELS = [("or",), ("and",), ("=", "!="), ("<", "<=", ">", ">="), ("+", "-"),
              ("*", "div", "mod")]

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else None

    def expr(self, level):
        if level == len(self.LEVELS):
            if self.peek() == "-":
                self.i += 1
                return ("neg", self.expr(level))
            return self.primary()
        left = self.expr(level + 1)
        while self.peek() in self.LEVELS[level]:
            op = self.toks[self.i]
            self.i += 1
            left = (op, left, self.expr(level + 1))
        return left

    def primary(self):
        tok = self.toks[self.i]
        self.i += 1
        if tok == "(":
            inner = self.expr(0)
            assert self.toks[self.i] == ")"
            self.i += 1
            return inner
        if tok[0] in "'\"":
            return ("lit", tok[1:-1])
        if tok[0].isdigit() or tok[0] == "." and len(tok) > 1:
            return ("lit", float(tok))
        if tok.startswith("${"):
            return ("node", tok[2:-1])
        if tok.startswith("/"):
            return ("node", tok.rsplit("/", 1)[1])
        if tok == ".":
            return ("node", ".")
        assert self.toks[self.i] == "(", tok
        self.i += 1
        args = []
        while self.peek() != ")":
            args.append(self.expr(0))
            if self.peek() == ",":
                self.i += 1
        self.i += 1
        return ("fn", tok, args)

    def __call__(self, values: dict):
        return ev(self.tree, values)


def num(v) -> float:
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, float):
        return v
    try:
        return float(v.strip())
    except ValueError:
        return math.nan


def boolean(v) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, float):
        return not (v == 0 or math.isnan(v))
    return v != ""


def string(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        return str(int(v)) if v.is_integer() else repr(v)
    return v


def ev(t, values):
    op = t[0]
    if op == "lit":
        return t[1]
    if op == "node":
        return values[t[1]]
    if op == "neg":
        return -num(ev(t[1], values))
    if op == "or":
        return boolean(ev(t[1], values)) or boolean(ev(t[2], values))
    if op == "and":
        return boolean(ev(t[1], values)) and boolean(ev(t[2], values))
    if op in ("=", "!=", "<", "<=", ">", ">="):
        a, b = ev(t[1], values), ev(t[2], values)
        if op in ("=", "!="):
            if isinstance(a, bool) or isinstance(b, bool):
                same = boolean(a) == boolean(b)
            elif isinstance(a, float) or isinstance(b, float):
                same = num(a) == num(b)
            else:
                same = a == b
            return same if op == "=" else not same
        x, y = num(a), num(b)
        return {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]
    if op in ("+", "-", "*", "div", "mod"):
        x, y = num(ev(t[1], values)), num(ev(t[2], values))
        if op == "div":
            return math.copysign(math.inf, x) * math.copysign(1, y) if y == 0 and x != 0 \
                else (math.nan if y == 0 else x / y)
        return {"+": x + y, "-": x - y, "*": x * y, "mod": math.fmod(x, y) if y else math.nan}[op]
    name, args = t[1], t[2]
    if name == "if":
        return ev(args[1], values) if boolean(ev(args[0], values)) else ev(args[2], values)
    a = [ev(x, values) for x in args]
    if name == "not":
        return not boolean(a[0])
    if name == "selected":
        return string(a[1]) in string(a[0]).split()
    if name == "count-selected":
        return float(len(string(a[0]).split()))
    if name == "normalize-space":
        return " ".join(string(a[0]).split())
    if name == "string-length":
        return float(len(string(a[0])))
    if name in ("true", "false"):
        return name == "true"
    raise AssertionError(f"function {name} is not in the subset")


def test_the_evaluator_follows_xpath_1():
    blank = {"a": "", "b": "98", "m": "1 3"}
    assert XPath("${a} != 1")(blank) is True  # '' is NaN: != is true, = and < are false
    assert XPath("${a} = 1 or ${a} < 1 or ${a} >= 1")(blank) is False
    assert XPath("${b} >= 8")(blank) is True  # the reason to guard missing codes
    assert XPath("selected(${m}, '3') and count-selected(${m}) = 2")(blank) is True
    assert string(XPath("if(${b} > 1, (${b} - 8) div 9 * 100, '')")(blank)) == "1000"


# -- XLSForm export ----------------------------------------------------------------------------
@pytest.mark.parametrize("path", FORMS, ids=lambda p: p.stem)
def test_pyxform_converts_every_export_without_errors_or_warnings(exported, path):
    q, written, xform, warnings = exported[path.stem]
    assert warnings == []
    assert written.not_exported == []
    root = ET.fromstring(xform)
    binds = {b.get("nodeset").rsplit("/", 1)[1] for b in root.iter(f"{XF}bind")}
    assert {x.id for x in q.questions if x.type != "grid"} <= binds
    assert {d.id for d in q.derived} <= binds  # every derived variable is a calculate


@pytest.mark.parametrize("path", FORMS, ids=lambda p: p.stem)
def test_round_trip_gives_the_same_questionnaire(exported, path):
    q, written, _, _ = exported[path.stem]
    form = from_xlsform(written.path)
    assert form.not_carried == []
    back = form.questionnaire()  # through the YAML text that --out writes
    assert back.model == q.model  # types, codes, labels, routing, derived, roles, report
    for a, b in zip(q.questions, back.questions, strict=True):
        assert a.ask_if == b.ask_if


def _native_only(path: Path, out: Path) -> Path:
    """The XLSForm without what only surveykit reads (surveykit_* columns, _surveykit)."""
    wb = load_workbook(path)
    del wb["_surveykit"]
    for ws in wb.worksheets:
        for j in reversed(range(1, ws.max_column + 1)):
            if str(ws.cell(1, j).value).startswith("surveykit_"):
                ws.delete_cols(j)
    wb.save(out)
    return out


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_the_xlsform_itself_carries_codes_labels_and_routing(exported, path, tmp_path):
    q, written, _, _ = exported[path.stem]
    form = from_xlsform(_native_only(written.path, tmp_path / "native.xlsx"))
    back = form.questionnaire()
    select_one = {"single", "rating", "nps"}
    # the customer id to prefill is a text field like any other, without surveykit_type
    questions = [x for x in back.questions if x.id != q.roles.customer_id]
    assert [x.id for x in questions] == [x.id for x in q.questions]
    for a, b in zip(q.questions, questions, strict=True):
        assert b.type == a.type or {a.type, b.type} <= select_one, a.id
        assert (b.text, b.block, b.instruction, b.required) == (a.text, a.block, a.instruction,
                                                                a.required)
        if a.type not in ("nps",):
            assert back.labels(a.id) == q.labels(a.id), a.id  # codes, labels, missing codes
        assert b.ask_if == a.ask_if, a.id
    for name, v in q.variables().items():
        # (rank_max is surveykit's: the ODK rank widget orders every option)
        if v.kind in ("numeric", "grid_item", "multi_option", "other_text"):
            w = back.variable(name)
            assert (w.label if v.kind == "grid_item" else w.kind, w.min, w.max) == \
                (v.label if v.kind == "grid_item" else v.kind, v.min, v.max), name
    df = simulate(q, 200, seed=3)
    for x in q.questions:
        assert back.asked(df, x.id).equals(q.asked(df, x.id)), x.id
    assert any("metadata start" in note for note in form.not_carried)


def test_the_xlsform_sheets(exported):
    q, written, _, _ = exported["smart_lock_customers"]
    wb = load_workbook(written.path, read_only=True)
    sheets = {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb.worksheets}
    wb.close()
    assert list(sheets) == ["survey", "choices", "settings", "_surveykit"]
    head, *rows = sheets["survey"]
    row = {r[1]: dict(zip(head, r, strict=True)) for r in rows if r[0] != "end_group"}
    assert row["gender"]["type"] == "select_one gender"
    assert row["purchase_factors"]["type"] == "select_multiple purchase_factors"
    assert row["purchase_factors"]["constraint"] == \
        "not(selected(., '99') and count-selected(.) > 1)"
    assert row["info_sources"]["constraint"].endswith("count-selected(.) <= 3")
    assert row["age"]["type"] == "integer" and row["age"]["constraint"] == ". >= 18 and . <= 80"
    assert row["price_paid"]["type"] == "decimal"
    assert row["nps"]["type"].startswith("select_one ") and row["nps"]["appearance"] == "likert"
    assert row["product"]["type"] == "begin_group" and row["product"]["appearance"] == "table-list"
    assert row["prod_speed"]["type"] == "select_one sat5"
    assert row["improve"]["type"] == "text"
    assert row["brand_6_text"]["relevant"] == "${brand} = 6"
    assert row["platforms_compared"]["relevant"] == "${channel} != '' and ${channel} != 6"
    assert row["s1_owner"]["hint::English (en)"].startswith("Interviewer")
    assert row["phone"]["surveykit_pii"] == "yes" and row["phone"]["required"] is None
    assert row["start"]["type"] == "start" and row["end"]["type"] == "end"
    assert row["crm_id"]["type"] == "text"  # roles.customer_id, to prefill from the sample
    assert row["segment"]["type"] == "calculate"
    choices = [r for r in sheets["choices"][1:] if r[0] == "sat5"]
    assert ("sat5", "98", "Don't know / not used", "dont_know") in choices  # answerable
    assert sheets["settings"][1] == ("Fingerprint smart-lock customer survey",
                                     "smart_lock_customers", "1.0", "English (en)")


def test_text_that_looks_like_a_formula_is_written_as_text(tmp_path):
    q = questionnaire_from_text("""
id: f
title: "=HYPERLINK(\\"http://x\\")"
questions:
  - {id: a, type: single, text: "-5 points or more?", options: {1: "+1", 2: "@home", 3: "=1+2"}}
""")
    written = to_xlsform(q, tmp_path / "f.xlsx")
    wb = load_workbook(written.path)
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row
             if isinstance(c.value, str) and c.value[:1] in "=+-@"]
    assert {c.value for c in cells} >= {"-5 points or more?", "+1", "@home", "=1+2"}
    assert all(c.data_type == "s" and c.quotePrefix for c in cells)
    warnings: list[str] = []
    assert "=1+2" in convert(str(written.path), warnings=warnings).xform and warnings == []
    assert from_xlsform(written.path).questionnaire().model == q.model


@pytest.mark.parametrize("yaml_text, fragment", [
    ("""  - {id: a, type: multi, text: A?, options: [{code: "x y", label: X}, {code: b, label: B}]}
""", "question 'a' cannot be written as XLSForm: option code 'x y' is empty or holds a space"),
    ("""  - {id: meta, type: numeric, text: M?}
""", "question 'meta' cannot be written as XLSForm: the name 'meta' is reserved"),
    ("""  - {id: r, type: rank, text: R?, options: {1: a, 2: b}}
  - {id: z, type: open, text: Z?, ask_if: r_1 == 1}
""", "question 'z' cannot be written as XLSForm: its routing cannot be written as a relevant: "
     "the rank position 'r_1' cannot be read in XLSForm"),
])
def test_a_question_xlsform_cannot_express_is_refused_by_name(tmp_path, yaml_text, fragment):
    q = questionnaire_from_text("id: x\ntitle: X\nquestions:\n" + yaml_text, source="x.yaml")
    with pytest.raises(QuestionnaireError) as err:
        to_xlsform(q, tmp_path / "x.xlsx")
    assert fragment in str(err.value) and "x.yaml" in str(err.value)
    assert not (tmp_path / "x.xlsx").exists()


def test_derived_variables_xlsform_cannot_compute_are_listed(tmp_path):
    q = questionnaire_from_text("""
id: x
title: X
questions:
  - {id: a, type: numeric, text: A?}
derived:
  - {id: half, label: Half, from: a, quantiles: 2}
  - {id: ten, label: Tenth, compute: "a / 10"}
""")
    written = to_xlsform(q, tmp_path / "x.xlsx")
    assert len(written.not_exported) == 1
    assert written.not_exported[0].startswith("derived variable 'half' not exported: its 2 "
                                              "quantile groups depend on the whole sample")
    back = from_xlsform(written.path).questionnaire()  # kept in the _surveykit sheet
    assert back.model == q.model


def test_outputs_that_are_not_xlsx_or_are_the_questionnaire_are_refused(tmp_path):
    q = load_questionnaire(ALL_TYPES)
    with pytest.raises(OutputPathError, match="ending in .xlsx"):
        to_xlsform(q, tmp_path / "form.xls")
    copy = tmp_path / "q.xlsx"
    copy.write_text(ALL_TYPES.read_text())
    q = load_questionnaire(copy)
    with pytest.raises(OutputPathError, match="is the questionnaire being exported"):
        to_xlsform(q, copy)
    assert copy.read_text() == ALL_TYPES.read_text()


# -- routing and derived variables: the XForm against the questionnaire -----------------------
def simulate(q, n: int, seed: int) -> pd.DataFrame:
    """Respondents whose answers ignore the routing, with missing codes, blanks and
    out-of-range numbers, so that every guard of the translation is exercised."""
    rng = np.random.default_rng(seed)
    cols: dict[str, object] = {}
    for question in q.questions:
        if question.type in ("multi", "rank"):
            codes = [o.code for o in question.options]
            k = question.rank_max or len(codes) if question.type == "rank" else None
            block = np.full((n, len(codes)), np.nan)
            for i in range(n):
                if rng.random() < 0.2:
                    continue  # not answered
                if question.type == "multi":
                    ticked = rng.random(len(codes)) < 0.4
                    ticked[rng.integers(len(codes))] = True  # a blank means none ticked
                    block[i] = ticked
                else:
                    order = rng.permutation(len(codes))[:k]
                    block[i, order] = np.arange(1, k + 1)
            for j, c in enumerate(codes):
                cols[f"{question.id}_{c}"] = block[:, j]
    for name, v in q.variables().items():
        if name in cols or v.kind in ("derived", "multi_option", "rank_option"):
            continue
        if v.kind in ("open", "other_text", "customer_id"):
            cols[name] = rng.choice(np.array(["some text", "x", None], dtype=object), n)
        elif v.kind in ("numeric", "duration", "weight", "id"):
            lo = v.min if v.min is not None else 0
            hi = v.max if v.max is not None else 100
            x = rng.integers(int(lo) - 3, int(hi) + 4, n).astype(float)
            cols[name] = np.where(rng.random(n) < 0.15, np.nan, x)
        else:
            codes = [*v.value_labels, *v.missing_codes, None]
            picked = [codes[i] for i in rng.integers(len(codes), size=n)]
            cols[name] = np.array(picked, dtype=float if v.numeric else object)
    return pd.DataFrame(cols)


def node_values(q, df: pd.DataFrame) -> list[dict]:
    """Each respondent as XForm node values: text, '' when blank; multi answers as
    space-separated codes, rank answers as codes in rank order."""
    out = []
    records = df.to_dict("records")
    for rec in records:
        values = {}
        for question in q.questions:
            if question.type == "multi":
                values[question.id] = " ".join(str(o.code) for o in question.options
                                               if rec.get(f"{question.id}_{o.code}") == 1)
            elif question.type == "rank":
                ranked = sorted((rec[f"{question.id}_{o.code}"], str(o.code))
                                for o in question.options
                                if not pd.isna(rec.get(f"{question.id}_{o.code}")))
                values[question.id] = " ".join(c for _, c in ranked)
        for name, v in rec.items():
            if name not in values:
                values[name] = "" if v is None or (isinstance(v, float) and np.isnan(v)) \
                    else string(float(v)) if isinstance(v, float) else str(v)
        out.append(values)
    return out


@pytest.mark.parametrize("path", FORMS, ids=lambda p: p.stem)
def test_the_xform_asks_the_same_respondents_and_derives_the_same_values(exported, path):
    q, _, xform, _ = exported[path.stem]
    df = simulate(q, 300, seed=len(path.stem))
    binds = {b.get("nodeset"): b for b in ET.fromstring(xform).iter(f"{XF}bind")}
    relevant = {p: XPath(b.get("relevant")) for p, b in binds.items() if b.get("relevant")}
    calculate = [(p.rsplit("/", 1)[1], XPath(b.get("calculate"))) for p, b in binds.items()
                 if b.get("calculate") and not p.endswith("instanceID")]
    nodes = {p.rsplit("/", 1)[1]: p for p in binds}
    nodes.update({m: f"/data/{m}" for m in re.findall(r'<group ref="/data/([\w/]+)"', xform)})
    nodes = {p.rsplit("/", 1)[1]: p for p in nodes.values()}
    values = node_values(q, df)
    for v in values:  # calculates in form order (a rule may read an earlier band)
        for name, expr in calculate:
            v[name] = string(expr(v))
    derived = q.derive(df)
    for name, _ in calculate:
        mine = pd.to_numeric(pd.Series([v[name] for v in values]).replace("", np.nan))
        assert np.allclose(mine, derived[name].astype(float), equal_nan=True), name
    routed = [x for x in q.questions if x.ask_if]
    assert routed or not any(x.ask_if for x in q.questions)
    for question in routed:
        path_ = nodes[question.id]
        tests = [e for p, e in relevant.items() if path_ == p or path_.startswith(p + "/")]
        xform_asked = [all(boolean(t(v)) for t in tests) for v in values]
        asked = q.asked(df, question.id).tolist()
        assert xform_asked == asked, (question.id, question.ask_if)
        assert 0 < sum(asked) < len(asked), question.id  # the data exercise both outcomes


SYNTHETIC = questionnaire_from_text("""
id: syn
title: Random routing
scales:
  s5: {codes: {1: a, 2: b, 3: c, 4: d, 5: e}, missing: {98: DK, 99: Refused}}
questions:
  - {id: a, type: single, text: A?, options: {1: x, 2: y, 3: z}, missing: {9: DK}}
  - {id: b, type: rating, text: B?, scale: s5}
  - {id: n, type: numeric, text: N?, min: 0, max: 20}
  - {id: m, type: multi, text: M?, options: {1: x, 2: y, 3: z}}
  - {id: t, type: open, text: T?}
  - {id: g, type: grid, text: G?, scale: s5, items: [{id: g1, text: G1}, {id: g2, text: G2}]}
  - {id: s, type: single, text: S?, options: {u: U, v: V}}
""")
SYN_DF = simulate(SYNTHETIC, 250, seed=17)
SYN_VALUES = node_values(SYNTHETIC, SYN_DF)


def _atoms():
    codes = st.sampled_from([1, 2, 3, 5, 9, 98, 0, -1, 2.5])
    ops = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
    value = st.sampled_from(["a", "b", "n", "g1", "g2", "m_1", "m_3"])
    number = st.one_of(value, st.builds(lambda x, o, y: f"({x} {o} {y})", value,
                                        st.sampled_from(["+", "-", "*", "/"]),
                                        st.one_of(value, codes.map(str))),
                       st.builds(lambda k, f: f"{f}(b, g1, g2, n, min={k})",
                                 st.integers(1, 4), st.sampled_from(["mean", "sum"])))
    return st.one_of(
        st.builds(lambda x, o, c: f"{x} {o} {c}", number, ops, codes),
        st.builds(lambda x, o, y: f"{x} {o} {y}", number, ops, number),
        st.builds(lambda c1, x, c2: f"{c1} <= {x} < {c2}", codes, value, codes),
        st.builds(lambda x, neg, cs: f"{x} {'not in' if neg else 'in'} {sorted(set(cs))}",
                  value, st.booleans(), st.lists(codes, min_size=1, max_size=3)),
        st.builds(lambda x: f"answered({x})", st.sampled_from(["a", "b", "n", "m", "t", "g"])),
        st.builds(lambda c: f"selected(m, {c})", st.sampled_from([1, 2, 3])),
        st.builds(lambda o, c: f"s {o} '{c}'", st.sampled_from(["==", "!="]),
                  st.sampled_from(["u", "v"])),
        st.sampled_from(["t == 'x'", "t != 'x'"]),
    )


CONDITIONS = st.recursive(
    _atoms(),
    lambda inner: st.one_of(
        st.builds(lambda x: f"not ({x})", inner),
        st.builds(lambda x, y, o: f"({x}) {o} ({y})", inner, inner, st.sampled_from(["and",
                                                                                      "or"]))),
    max_leaves=4)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(CONDITIONS)
def test_random_conditions_mean_the_same_in_xpath_and_back(text):
    q = SYNTHETIC
    want = q.evaluate(text, SYN_DF).tolist()
    xpath = to_xpath(text, q)
    expr = XPath(xpath)
    assert [boolean(expr(v)) for v in SYN_VALUES] == want, xpath
    if xpath in ("true()", "false()"):
        return  # e.g. a == 9, 9 a missing code: never true; the language has no constant
    back = from_xpath(parse_xpath(xpath), q)  # what from_xlsform makes of the relevant
    assert q.evaluate(back, SYN_DF).tolist() == want, back


@pytest.mark.parametrize("text", [
    "mean(b, g1, g2, min=2) * 2 - n / (b - 3)", "sum(g1, (6 - g2), min=1)", "-n + 0.5 * b"])
def test_computed_numbers_mean_the_same_in_xpath(text):
    from surveykit.questionnaire.xpath import calculation

    q = questionnaire_from_text(_with_derived(text))
    expr = XPath(calculation(q.derived[0], q))
    mine = pd.to_numeric(pd.Series([string(expr(v)) for v in SYN_VALUES]).replace("", np.nan))
    assert not mine.isin([np.inf, -np.inf]).any()  # guards: no Infinity, no NaN text
    assert np.allclose(mine, q.derive(SYN_DF)["score"], equal_nan=True)
    assert mine.notna().sum() > 50


def _with_derived(compute: str) -> str:
    return f"""
id: syn
title: Computed
scales:
  s5: {{codes: {{1: a, 2: b, 3: c, 4: d, 5: e}}, missing: {{98: DK, 99: Refused}}}}
questions:
  - {{id: b, type: rating, text: B?, scale: s5}}
  - {{id: n, type: numeric, text: N?, min: 0, max: 20}}
  - {{id: g, type: grid, text: G?, scale: s5, items: [{{id: g1, text: G1}}, {{id: g2, text: G2}}]}}
derived:
  - {{id: score, label: Score, compute: "{compute}"}}
"""


# -- reading an XLSForm written elsewhere -------------------------------------------------------
def _form(path: Path, survey: list, choices: list, settings_rows: list | None = None) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "survey"
    for row in survey:
        ws.append(row)
    sheet = wb.create_sheet("choices")
    for row in choices:
        sheet.append(row)
    if settings_rows:
        sheet = wb.create_sheet("settings")
        for row in settings_rows:
            sheet.append(row)
    wb.save(path)
    return path


def test_a_foreign_xlsform_is_read_and_what_is_left_out_is_listed(tmp_path):
    en, fr = "label::English (en)", "label::French (fr)"
    head = ["type", "name", en, fr, "relevant", "constraint", "appearance", "required",
            "calculation"]
    survey = [head] + [row + [""] * (len(head) - len(row)) for row in [
        ["start", "start"],
        ["begin_group", "hh", "Household", "Ménage"],
        ["select_one yn", "owner", "Own a car?", "Voiture ?", "", "", "", "yes"],
        ["integer", "cars", "How many?", "Combien ?", "${owner} = 1", ". > 0 and . <= 9", "",
         "yes"],
        ["select_multiple brands", "brands", "Which brands?", "Marques ?", "${cars} >= 1",
         "not(selected(., 'none') and count-selected(.) > 1)"],
        ["text", "brands_other_text", "Which other?", "Autre ?", "selected(${brands}, 'other')"],
        ["end_group"],
        ["begin_group", "sat", "Satisfaction", "Satisfaction", "${owner} = 1", "", "table-list"],
        ["select_one agree", "s_price", "Price", "Prix", "", "", "", "yes"],
        ["select_one agree", "s_look", "Looks", "Allure", "", "", "", "yes"],
        ["end_group"],
        ["select_one agree", "overall", "Overall", "Global", "", "", "likert"],
        ["geopoint", "where", "Where?", "Où ?"],
        ["note", "thanks", "Thanks", "Merci"],
        ["begin_repeat", "kids", "Children", "Enfants"],
        ["integer", "kid_age", "Age", "Âge"],
        ["end_repeat"],
        ["text", "why", "Why?", "Pourquoi ?", "string-length(${where}) > 3"],
        ["calculate", "many", "", "", "", "", "", "",
         "if(${cars} >= 3, 1, if(${cars} >= 1, 2, ''))"],
    ]]
    choices = [["list_name", "name", en, fr],
               ["yn", 1, "Yes", "Oui"], ["yn", 2, "No", "Non"],
               ["brands", "ford", "Ford", "Ford"], ["brands", "fiat", "Fiat", "Fiat"],
               ["brands", "other", "Other", "Autre"], ["brands", "none", "None", "Aucune"],
               ["agree", 1, "Disagree", "Pas d'accord"], ["agree", 2, "Agree", "D'accord"]]
    path = _form(tmp_path / "cars.xlsx", survey, choices,
                 [["form_title", "form_id", "default_language"],
                  ["Cars", "cars-2026", "English (en)"]])
    form = from_xlsform(path)
    q = form.questionnaire()
    assert q.id == "cars-2026" and q.model.language == "en"
    qs = {x.id: x for x in q.questions}
    assert list(qs) == ["owner", "cars", "brands", "sat", "overall", "why"]
    assert qs["owner"].type == "single" and qs["owner"].block == "Household"
    assert qs["cars"].ask_if == "owner == 1" and qs["cars"].integer
    assert (qs["cars"].min, qs["cars"].max) == (1, 9)  # . > 0 on an integer is . >= 1
    assert qs["brands"].ask_if == "cars >= 1"
    assert [o.code for o in qs["brands"].options if o.exclusive] == ["none"]
    assert qs["sat"].type == "grid" and qs["sat"].scale == "agree"
    assert [i.id for i in qs["sat"].items] == ["s_price", "s_look"]
    assert qs["sat"].ask_if == "owner == 1"
    assert qs["overall"].type == "rating" and not qs["overall"].required
    assert [o.code for o in qs["brands"].options if o.other] == ["other"]  # its text column
    assert "brands_other_text" in q.variables()
    assert q.derived[0].id == "many" and [r.when for r in q.derived[0].rules] == [
        "cars >= 3", "cars >= 1"]
    notes = "\n".join(form.not_carried)
    for fragment in ["labels in French (fr) not carried over",
                     "question 'where' (survey row 14, type geopoint) not carried over",
                     "note 'thanks' (survey row 15) not carried over",
                     "repeat 'kids' (survey row 16) not carried over with its questions "
                     "('kid_age')",
                     "routing of 'why' not carried over (survey row 19: relevant "
                     "'string-length(${where}) > 3')",
                     "metadata start (survey row 2) not carried over as questions"]:
        assert fragment in notes, fragment
    assert len(form.not_carried) == 6


def test_a_calculate_edited_on_the_platform_is_reported(tmp_path, exported):
    q, written, _, _ = exported["pc_customers"]
    wb = load_workbook(written.path)
    ws = wb["survey"]
    for row in ws.iter_rows():
        if row[1].value == "age_band":
            calc = [c for c in row if isinstance(c.value, str) and c.value.startswith("if(")][0]
            calc.value = calc.value.replace("24", "25", 1)
    wb.save(tmp_path / "edited.xlsx")
    form = from_xlsform(tmp_path / "edited.xlsx")
    assert form.questionnaire().model == q.model
    assert len(form.not_carried) == 1
    assert "calculate 'age_band'" in form.not_carried[0] and "definition was kept" in \
        form.not_carried[0]


@pytest.mark.parametrize("make, fragment", [
    (lambda p: p.write_text("not a workbook"), "is not an Excel workbook"),
    (lambda p: None, "XLSForm file not found"),
])
def test_unreadable_forms_are_refused(tmp_path, make, fragment):
    path = tmp_path / ("form.txt" if "Excel" in fragment else "none.xlsx")
    make(path)
    with pytest.raises(QuestionnaireError, match=fragment):
        from_xlsform(path)


def test_a_group_that_is_never_closed_is_refused_with_its_row(tmp_path):
    path = _form(tmp_path / "f.xlsx", [["type", "name", "label"], ["begin_group", "g", "G"],
                                       ["text", "a", "A"]], [["list_name", "name", "label"]])
    with pytest.raises(QuestionnaireError, match="survey row 2: group 'g' is never closed"):
        from_xlsform(path)


# -- the command ------------------------------------------------------------------------------
def run(capsys, *argv):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_writes_an_xlsform_and_reads_it_back(capsys, tmp_path):
    pc = ROOT / "questionnaires" / "pc_customers.yaml"
    code, out, _ = run(capsys, "questionnaire", pc, "--xlsform", tmp_path / "pc.xlsx")
    assert code == 0 and f"wrote {tmp_path / 'pc.xlsx'}" in out
    code, out, _ = run(capsys, "questionnaire", "--from-xlsform", tmp_path / "pc.xlsx", "--out",
                       tmp_path / "pc.yaml")
    assert code == 0 and "was carried over" in out
    assert load_questionnaire(tmp_path / "pc.yaml").model == load_questionnaire(pc).model
    code, out, err = run(capsys, "questionnaire", "--from-xlsform", tmp_path / "pc.xlsx")
    assert code == 0 and out.startswith("# Read from the XLSForm pc.xlsx")  # YAML on stdout


@pytest.mark.parametrize("argv, fragment", [
    (("--from-xlsform", "{form}", "--out", "{form}"), "is the XLSForm this command reads"),
    (("{yaml}", "--xlsform", "{yaml}"), "is the questionnaire this command reads"),
    (("{yaml}", "--xlsform", "{tmp}/a.xlsx", "--html", "{tmp}/a.xlsx"), "both name"),
    (("{yaml}", "--out", "{tmp}/q.yaml"), "--out goes with --from-xlsform"),
    (("{yaml}", "--from-xlsform", "{form}"), "--from-xlsform reads a form"),
])
def test_cli_refuses_outputs_that_overwrite_inputs_and_mixed_modes(capsys, tmp_path, argv,
                                                                    fragment):
    yaml = tmp_path / "q.yaml"
    yaml.write_text(ALL_TYPES.read_text())
    form = to_xlsform(load_questionnaire(yaml), tmp_path / "form.xlsx").path
    before = form.read_bytes(), yaml.read_text()
    args = [a.format(form=form, yaml=yaml, tmp=tmp_path) for a in argv]
    code, _, err = run(capsys, "questionnaire", *args)
    assert code == 2 and fragment in err
    assert (form.read_bytes(), yaml.read_text()) == before
    assert not (tmp_path / "a.xlsx").exists()


# -- platform data --------------------------------------------------------------------------------
def field_paths(xlsx: Path, sep: str = "/") -> dict[str, tuple[str, str]]:
    """name -> (XLSForm type, group path) from the survey sheet, as platforms name columns."""
    wb = load_workbook(xlsx, read_only=True)
    rows = list(wb["survey"].iter_rows(values_only=True))[1:]
    wb.close()
    paths, stack = {}, []
    for t, name, *_ in rows:
        if t == "begin_group":
            stack.append(name)
        elif t == "end_group":
            stack.pop()
        else:
            paths[name] = (t, sep.join([*stack, name]))
    return paths


def platform_export(q, df: pd.DataFrame, xlsx: Path, *, split: bool, odk: bool = False
                    ) -> pd.DataFrame:
    """What KoboToolbox (or ODK Central) exports for these answers: group paths, multi
    answers as space-separated codes (and Kobo's 0/1 columns), rank answers in rank order,
    calculate columns, start/end and submission metadata. A duplicated submission keeps its
    _uuid, as duplicated Kobo submissions do."""
    sep = "-" if odk else "/"
    n = len(df)
    blank = df.isna()
    base = dt.datetime(2026, 10, 1, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    starts = pd.Series([base + dt.timedelta(minutes=37 * i) for i in range(n)])
    derived = q.derive(df)
    cols: dict[str, object] = {}
    for name, (t, path) in field_paths(xlsx, sep).items():
        kind = t.split()[0]
        if kind in ("start", "end"):
            when = starts if kind == "start" else starts + pd.to_timedelta(
                df["duration_sec"], unit="s")
            cols[path] = [w.isoformat(timespec="milliseconds") for w in when]
        elif kind in ("select_multiple", "rank"):
            question = q.question(name)
            codes = [str(o.code) for o in question.options]
            m = df[[f"{name}_{c}" for c in codes]].to_numpy(dtype=float)
            text = []
            for row in m:
                if np.isnan(row).all():
                    text.append(None)
                elif kind == "rank":
                    text.append(" ".join(codes[j] for j in np.argsort(row)
                                         if not np.isnan(row[j])))
                else:
                    text.append(" ".join(c for c, v in zip(codes, row, strict=True) if v == 1)
                                or None)
            cols[path] = text
            if split and kind == "select_multiple":
                for c in codes:
                    cols[f"{path}{sep}{c}"] = df[f"{name}_{c}"].map(_text)
        elif kind == "calculate":
            cols[path] = derived[name].map(_text)
        else:
            cols[path] = df[name].map(_text).where(~blank[name], None)
    ids = [str(uuid.uuid5(uuid.NAMESPACE_URL, str(r))) for r in df["resp_id"]]
    if odk:
        cols = {"SubmissionDate": [(s + dt.timedelta(hours=1)).isoformat() for s in starts],
                **cols, "meta-instanceID": [f"uuid:{i}" for i in ids],
                "KEY": [f"uuid:{i}" for i in ids], "SubmitterID": ["5"] * n,
                "ReviewState": [None] * n, "FormVersion": ["1.0"] * n}
    else:
        cols.update({"meta/instanceID": [f"uuid:{i}" for i in ids],
                     "formhub/uuid": ["4f0a9c"] * n, "__version__": ["vX9"] * n,
                     "_id": [str(1000 + i) for i in range(n)], "_uuid": ids,
                     "_submission_time": [(s + dt.timedelta(hours=1)).strftime(
                         "%Y-%m-%dT%H:%M:%S") for s in starts],
                     "_validation_status": [None] * n, "_notes": [None] * n,
                     "_status": ["submitted_via_web"] * n, "_submitted_by": [None] * n,
                     "_tags": [None] * n, "_index": [str(i + 1) for i in range(n)]})
    return pd.DataFrame(cols)


def _text(v):
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


@pytest.fixture(scope="module")
def demo(exported):
    q = load_questionnaire(ROOT / "questionnaires" / "pc_customers.yaml")
    df = read_responses(ROOT / "data" / "demo" / "responses.csv", q)
    return q, df, check_responses(q, df), exported["pc_customers"][1].path


def _same_findings(q, demo_df, demo_check, back):
    ids = dict(zip(back["resp_id"], demo_df["resp_id"], strict=True))
    b = back[list(demo_df.columns)].copy()
    b["resp_id"] = b["resp_id"].map(ids)
    pd.testing.assert_frame_equal(b, demo_df, check_dtype=False)
    result = check_responses(q, back)
    cols = ["respondent", "question", "rule", "severity", "row"]
    mine = result.table[cols].assign(respondent=lambda t: t["respondent"].map(ids))
    assert mine.astype(str).values.tolist() == demo_check.table[cols].astype(str).values.tolist()
    assert (result.n_errors, result.n_warnings) == (demo_check.n_errors, demo_check.n_warnings)


def test_a_kobo_csv_export_of_the_demo_reads_with_the_same_findings(demo, tmp_path):
    q, df, checked, xlsx = demo
    export = platform_export(q, df, xlsx, split=True)
    assert "experience/attr/sat_cpu" in export and "individual/use/1" in export
    export.to_csv(tmp_path / "kobo.csv", sep=";", index=False)  # Kobo's CSV separator
    before = (tmp_path / "kobo.csv").read_bytes()
    back = read_responses(tmp_path / "kobo.csv", q, sep=";", platform="kobo")
    assert (tmp_path / "kobo.csv").read_bytes() == before
    assert back.attrs["unknown_columns"] == [] and back.attrs["missing_columns"] == []
    _same_findings(q, df, checked, back)
    renames = pd.DataFrame(back.attrs["platform"]["renames"])
    kept = {c for c in export.columns if c in q.variables() and c not in ("age_band", "segment")}
    assert set(renames["column"]) == set(export.columns) - kept  # every other column listed
    how = dict(zip(renames["column"], renames["how"], strict=True))
    assert how["_uuid"] == "the platform's submission id is the respondent id"
    assert how["start"] == how["end"] == "duration in seconds: end - start"
    assert how["experience/attr/sat_cpu"] == "group path removed"
    assert how["individual/use"] == "space-separated codes split into 0/1 columns"
    assert how["individual/use/1"] == ("dropped: the 0/1 column of 'use_1', which agrees "
                                       "with 'individual/use'")
    assert how["_submission_time"] == "dropped: platform metadata"
    assert how["segment"].startswith("dropped: a calculate of the derived variable")


def test_a_kobo_xlsx_export_reads_the_same(demo, tmp_path):
    q, df, checked, xlsx = demo
    export = platform_export(q, df.iloc[:400], xlsx, split=False)
    export.to_excel(tmp_path / "kobo.xlsx", index=False)
    back = read_responses(tmp_path / "kobo.xlsx", q, platform="kobo")
    sub = df.iloc[:400]
    ids = dict(zip(back["resp_id"], sub["resp_id"], strict=True))
    b = back[list(sub.columns)].assign(resp_id=lambda t: t["resp_id"].map(ids))
    pd.testing.assert_frame_equal(b, sub, check_dtype=False)


def test_an_odk_central_export_reads_the_same(demo, tmp_path):
    q, df, checked, xlsx = demo
    export = platform_export(q, df.iloc[:300], xlsx, split=False, odk=True)
    assert "experience-attr-sat_cpu" in export
    back, renames = from_platform_export(export, q, platform="odk")
    assert renames.set_index("column").loc["meta-instanceID", "becomes"] == "resp_id"
    assert set(renames.loc[renames["becomes"] == "", "column"]) >= {
        "KEY", "SubmissionDate", "SubmitterID", "ReviewState", "FormVersion"}
    assert back["duration_sec"].tolist() == df["duration_sec"].iloc[:300].tolist()
    assert back["use_3"].equals(df["use_3"].iloc[:300].astype(float))


@pytest.mark.parametrize("change, fragment", [
    (lambda e: e.assign(**{"profile/cust_type": e["profile/cust_type"].map(
        {"1": "For myself / my household (individual)",
         "2": "For an organisation (company, public body, school)"})}),
     "holds option labels (e.g. 'For myself / my household (individual)') rather than codes"),
    (lambda e: e.assign(**{"individual/use/2": e["individual/use/2"].where(
        e["individual/use/2"] != "1", "0")}),
     "column 'individual/use/2' disagrees with 'individual/use' at row"),
    (lambda e: e.assign(**{"other/cust_type": e["profile/cust_type"]}),
     "columns 'profile/cust_type' and 'other/cust_type' both become 'cust_type'"),
    (lambda e: e.rename(columns=lambda c: f"Q: {c.upper()} ?"), "no column of the export "
     "matches the questionnaire 'pc_customers'"),
])
def test_exports_that_cannot_be_read_are_refused(demo, change, fragment):
    q, df, _, xlsx = demo
    export = change(platform_export(q, df.iloc[:50], xlsx, split=True))
    copy = export.copy()
    with pytest.raises(ResponseDataError, match=re.escape(fragment)):
        from_platform_export(export, q)
    pd.testing.assert_frame_equal(export, copy)  # the input is never changed


def test_an_unknown_platform_is_refused(demo, tmp_path):
    q = demo[0]
    with pytest.raises(ResponseDataError, match="platform='qualtrics' is not known"):
        read_responses(ROOT / "data" / "demo" / "responses.csv", q, platform="qualtrics")
