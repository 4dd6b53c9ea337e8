"""The PC questionnaire, the simulator with known truth and the committed demo survey."""

from __future__ import annotations

import itertools
import json
from math import factorial

import numpy as np
import pandas as pd
import pytest
from ruamel.yaml import YAML

from surveykit.cli import main
from surveykit.errors import SurveykitError
from surveykit.questionnaire import questionnaire_from_text
from surveykit.simulate import (
    DEMO_FILES,
    PROBLEM_RULES,
    Simulation,
    default_truth,
    simulate,
)

SEED, N = 20261122, 4000


# short names for the shared fixtures (tests/conftest.py)
@pytest.fixture(scope="module")
def q(pc_questionnaire):
    return pc_questionnaire


@pytest.fixture(scope="module")
def sim(q) -> Simulation:
    return simulate(q, N, SEED)


@pytest.fixture(scope="module")
def clean(demo_clean_simulation) -> Simulation:
    """``simulate(q, N, SEED, problems=False)``, shared with tests/test_responses.py."""
    return demo_clean_simulation


def _small_truth(draw: int = 20_000) -> dict:
    truth = default_truth()
    truth["population_draw"] = draw
    return truth


# -- the questionnaire ---------------------------------------------------------------------
def test_questionnaire_is_valid_and_complete(q, pc_path, capsys):
    assert main(["questionnaire", str(pc_path)]) == 0
    assert "valid" in capsys.readouterr().out
    roles = q.roles
    assert (roles.respondent_id, roles.customer_id, roles.duration) == (
        "resp_id", "customer_id", "duration_sec")
    assert roles.segments == ["segment"] and roles.weighting[:2] == ["segment", "region"]
    assert [q.variable(f"sat_{a}").kind for a in ("cpu", "value", "innov")] == ["grid_item"] * 3
    assert len(q.columns_of("attr")) == 14 and len(q.columns_of("service")) == 8
    assert q.variable("svc_speed").missing_codes[97].kind == "not_applicable"
    assert q.variable("nps").kind == "nps"
    assert q.scale_of("repurchase").valid_codes == [1, 2, 3, 4, 5]
    assert q.variable("email").pii and q.pii_columns == ["email", "phone"]
    assert q.question("complaint_reasons").ask_if == "complaint == 1"
    assert any(o.exclusive for o in q.question("info_sources").options)
    assert any(o.other for o in q.question("info_sources").options)
    assert q.question("decision_factors").rank_max == 3
    assert q.variable("segment").value_labels == {
        1: "Students", 2: "Young professionals", 3: "Older users", 4: "Large enterprises",
        5: "SMEs", 6: "Government & education"}
    attitude = q.columns_of("attitude")
    assert 6 <= len(attitude) <= 9
    assert any(q.variable(c).reverse for c in attitude)
    truth = default_truth()
    for construct in q.constructs:
        assert construct.min_items is not None
    for factor, loadings in truth["factors"].items():
        items, _ = q.construct_items(factor)  # every truth factor is a construct
        assert set(loadings) == set(items)


def test_segment_rules_cover_every_profile(q):
    """Every consistent individual/organisation profile gets exactly the intended segment."""
    rows = [{"cust_type": 1, "age": a} for a in (18, 24, 25, 40, 41, 99)]
    rows += [{"cust_type": 2, "org_type": t, "org_size": s}
             for t in (1, 2, 3, 4) for s in range(1, 7)]
    df = pd.DataFrame(rows, dtype=float)
    seg = q.derive(df)["segment"].tolist()
    assert seg[:6] == [1, 1, 2, 2, 3, 3]
    org = dict(zip([(r["org_type"], r["org_size"]) for r in rows[6:]], seg[6:], strict=True))
    assert all(org[(1, s)] == 4 for s in range(1, 7))
    assert [org[(2, s)] for s in range(1, 7)] == [5, 5, 5, 4, 4, 4]
    assert all(org[(t, s)] == 6 for t in (3, 4) for s in range(1, 7))


# -- determinism and the committed demo -------------------------------------------------------
def test_deterministic_for_a_seed_and_different_across_seeds(q):
    a = simulate(q, 600, 7, _small_truth())
    b = simulate(q, 600, 7, _small_truth())
    c = simulate(q, 600, 8, _small_truth())
    pd.testing.assert_frame_equal(a.responses, b.responses)
    pd.testing.assert_frame_equal(a.problems, b.problems)
    pd.testing.assert_frame_equal(a.crm, b.crm)
    pd.testing.assert_frame_equal(a.respondents, b.respondents)
    assert a.truth == b.truth and a.targets == b.targets
    assert not a.responses.equals(c.responses)
    assert a.truth["population"] != c.truth["population"]
    # planting problems does not change the clean rows
    d = simulate(q, 600, 7, _small_truth(), problems=False)
    rows = a.problems["row"].to_numpy()
    keep = np.setdiff1d(np.arange(600), rows)
    pd.testing.assert_frame_equal(a.responses.iloc[keep].astype(object),
                                  d.responses.iloc[keep].astype(object))


def test_cli_regenerates_committed_demo_byte_for_byte(tmp_path, capsys, pc_path, demo_dir):
    assert main(["simulate", "--questionnaire", str(pc_path), "--out", str(tmp_path)]) == 0
    assert "responses.csv" in capsys.readouterr().out
    for name in DEMO_FILES:
        assert (tmp_path / name).read_bytes() == (demo_dir / name).read_bytes(), name
    assert (demo_dir / "responses.csv").stat().st_size < 3_000_000


def test_committed_demo_files_read_back(q, demo_dir, demo_responses, demo_truth):
    df = demo_responses
    assert len(df) == N
    assert list(df.columns) == [c for c, v in q.variables().items() if v.kind != "derived"]
    truth = demo_truth
    assert truth["seed"] == SEED and truth["n"] == N
    planted = pd.read_csv(demo_dir / "planted_problems.csv")
    assert list(planted.columns[:3]) == ["resp_id", "question", "rule"]
    targets = YAML(typ="safe").load((demo_dir / "targets.yaml").read_text())
    assert targets["total"] == N and targets["unit"] == "percent"
    assert [m["variable"] for m in targets["margins"]] == ["segment", "region", "gender"]
    assert targets["margins"][2]["within"] == {"cust_type": 1}
    for m in targets["margins"]:
        assert sum(m["targets"].values()) == pytest.approx(100.0)
    respondents = pd.read_csv(demo_dir / "truth_respondents.csv")
    assert {"resp_id", "needs_segment", "segment"} <= set(respondents.columns)
    assert respondents["resp_id"].is_unique and len(respondents) == N


# -- clean data: routing, scales, no rule tripped -----------------------------------------------
def test_clean_data_obeys_routing(q, clean):
    df = clean.responses
    for question in q.questions:
        asked = q.asked(df, question.id)
        answered = q.answered(df, question.id)
        assert not (answered & ~asked).any(), f"{question.id} answered where not asked"
        if question.required:
            assert not (asked & ~answered).any(), f"{question.id} asked but not answered"
        cols = [c for c in q.columns_of(question.id) if not c.endswith("_text")]
        assert df.loc[~asked, cols].isna().all().all(), question.id
        if question.type == "multi":
            assert df.loc[asked, cols].isin([0, 1]).all().all(), question.id
    # the routing actually splits the sample
    ind = df["cust_type"] == 1
    assert df.loc[ind, "age"].notna().all() and df.loc[~ind, "age"].isna().all()
    assert df.loc[~ind, "org_size"].notna().all() and df.loc[ind, "org_size"].isna().all()
    assert 0.1 < (df["complaint"] == 1).mean() < 0.3


def test_clean_codes_on_their_scales(q, clean):
    df = clean.responses
    for name, var in q.variables().items():
        if var.kind in ("derived", "id", "customer_id", "open", "other_text") or name not in df:
            continue
        x = pd.to_numeric(df[name], errors="raise").dropna()
        assert (x == np.rint(x)).all(), name
        if var.value_labels:
            allowed = set(var.value_labels) | set(var.missing_codes)
            assert set(x.unique()) <= allowed, (name, set(x.unique()) - allowed)
        if var.min is not None:
            assert x.min() >= var.min, name
        if var.max is not None:
            assert x.max() <= var.max, name
    # declared missing codes occur in the raw export
    assert (df["sat_security"] == 98).any() and (df["svc_onsite"] == 97).any()
    # no ceiling pile: the top code never holds a quarter of an attribute's answers
    for item in q.columns_of("attr"):
        valid = df[item][df[item] <= 10]
        assert (valid == 10).mean() < 0.25, item


def test_clean_data_trips_no_quality_rule(q, clean):
    df = clean.responses
    dur = df["duration_sec"]
    assert (dur >= 0.4 * dur.median()).all()
    assert df["resp_id"].is_unique
    for question in q.questions:
        if question.type == "grid" and len(question.items) >= 4:
            cols = [it.id for it in question.items]
            codes = list(q.scale_of(cols[0]).valid_codes)
            vals = df[cols].where(df[cols].isin(codes))
            flat = (vals.notna().sum(axis=1) >= 4) & (vals.nunique(axis=1) == 1)
            assert not flat.any(), question.id
        if question.type == "multi":
            for o in question.options:
                if o.exclusive:
                    others = [f"{question.id}_{p.code}" for p in question.options
                              if p.code != o.code]
                    both = (df[f"{question.id}_{o.code}"] == 1) & (df[others] == 1).any(axis=1)
                    assert not both.any(), question.id
    assert clean.problems.empty
    assert clean.truth["problems"]["counts"] == dict.fromkeys(PROBLEM_RULES, 0)


def test_every_clean_respondent_gets_its_true_segment(q, clean):
    derived = q.derive(clean.responses)
    assert derived["segment"].notna().all()
    assert (derived["segment"].to_numpy() == clean.respondents["segment"].to_numpy()).all()
    assert sorted(derived["segment"].unique()) == [1, 2, 3, 4, 5, 6]
    age = derived.loc[derived["segment"] == 1, "age"]
    assert age.between(18, 24).all()


# -- composition skew and population truth -------------------------------------------------------
def test_sample_margins_differ_from_targets(q, clean):
    derived = q.derive(clean.responses)
    margins = {m["variable"]: m for m in clean.targets["margins"]}
    seg = derived["segment"].value_counts(normalize=True) * 100
    reg = derived["region"].value_counts(normalize=True) * 100
    t_seg, t_reg = margins["segment"]["targets"], margins["region"]["targets"]
    assert seg[2] - t_seg[2] > 10      # young professionals over-represented
    assert t_seg[3] - seg[3] > 8       # older users under-represented
    assert reg[1] - t_reg[1] > 10      # tier-1 cities over-represented
    assert t_reg[5] - reg[5] > 6       # tier 4 / rural under-represented
    # total variation distance of each margin at least 10 points
    assert 0.5 * sum(abs(seg[k] - v) for k, v in t_seg.items()) > 10
    assert 0.5 * sum(abs(reg[k] - v) for k, v in t_reg.items()) > 10
    men = derived.loc[derived["cust_type"] == 1, "gender"].eq(1).mean() * 100
    assert men - margins["gender"]["targets"][1] > 8
    # the observed sample matches the declared expected skew (sampling error only)
    expected = clean.truth["sample_skew"]["expected_sample_percent"]["segment"]
    for code, pct in expected.items():
        assert seg[int(code)] == pytest.approx(pct, abs=2.5)


def test_population_truth_differs_from_unweighted_sample_in_declared_direction(q, clean):
    pop = clean.truth["population"]
    df = clean.responses
    rep = df["repurchase"].where(df["repurchase"] <= 5).dropna()
    sample = {
        "overall_sat_mean": df["overall_sat"].mean(),
        "nps": 100 * ((df["nps"] >= 9).mean() - (df["nps"] <= 6).mean()),
        "repurchase_top2": (rep >= 4).mean(),
        "complaint_rate": (df["complaint"] == 1).mean(),
    }
    direction = clean.truth["sample_skew"]["bias_direction"]
    assert direction == {"overall_sat_mean": "up", "nps": "up", "repurchase_top2": "up",
                         "complaint_rate": "down"}
    assert sample["overall_sat_mean"] - pop["overall_sat_mean"] > 0.15   # ~6 SE
    assert sample["nps"] - pop["nps"] > 6
    assert sample["repurchase_top2"] - pop["repurchase_top2"] > 0.03
    assert pop["complaint_rate"] - sample["complaint_rate"] > 0.01
    for k, v in sample.items():
        assert clean.truth["sample_skew"]["unweighted_sample"][k] == pytest.approx(v, abs=1e-3)
    # cell-weighting by the true selection factors moves the estimate to the truth
    derived = q.derive(df)
    comp = clean.truth["composition"]
    w = (1 / derived["segment"].astype(int).astype(str).map(
        comp["segment"]["selection_factor"]).astype(float)
         / derived["region"].astype(int).astype(str).map(
        comp["region"]["selection_factor"]).astype(float))
    weighted = np.average(df["overall_sat"], weights=w)
    assert abs(weighted - pop["overall_sat_mean"]) < 0.06
    assert abs(weighted - pop["overall_sat_mean"]) < 0.3 * abs(
        sample["overall_sat_mean"] - pop["overall_sat_mean"])


def test_truth_keys_and_sane_values(q, sim):
    t = sim.truth
    json.dumps(t)  # JSON-able
    cols = q.variables()
    for factor, loadings in t["factors"].items():
        assert len(loadings) >= 3, factor
        for item, lam in loadings.items():
            assert item in cols and 0.5 <= abs(lam) < 1, (factor, item)
    assert t["factors"]["perf_orient"]["att_specs"] < 0   # the reverse-worded item
    d = t["drivers"]
    assert d["outcome"] == "overall_sat" and d["segment_variable"] == "segment"
    assert 8 <= len(d["attributes"]) <= 12 and set(d["attributes"]) <= set(cols)
    assert sorted(d["weights"]) == sorted(d["top"]) == ["1", "2", "3", "4", "5", "6"]
    for s, weights in d["weights"].items():
        top = d["top"][s]
        assert 2 <= len(top) <= 3
        assert top == sorted(weights, key=weights.get, reverse=True)[:len(top)]
        others = [w for a, w in weights.items() if a not in top]
        assert weights[top[-1]] >= 1.5 * max(others)
    tops = {s: v[0] for s, v in d["top"].items()}
    assert tops["1"] == "sat_value"                  # price to students
    assert tops["2"] == "sat_cpu"                    # performance to young professionals
    assert tops["3"] == "svc_speed"                  # service to older users
    assert len(set(tops.values())) >= 4              # weights differ by segment
    for k in ("nps", "repurchase", "complaint"):
        assert "overall_sat" in str(t["links"][k]["from"])
    pop = t["population"]
    assert 6 < pop["overall_sat_mean"] < 8.5 and -100 <= pop["nps"] <= 100
    assert 0 < pop["repurchase_top2"] < 1 and 0 < pop["complaint_rate"] < 0.5
    assert sorted(t["population_by_segment"]) == ["1", "2", "3", "4", "5", "6"]
    by_seg = t["population_by_segment"]
    assert by_seg["2"]["overall_sat_mean"] > by_seg["3"]["overall_sat_mean"] + 0.5
    ns = t["needs_segments"]
    assert ns["k"] == 3 and set(ns["items"]) == set(q.columns_of("attitude"))
    assert ns["separation"] > 2 and ns["separation_observed"] > 2
    assert pd.Timestamp(t["crm"]["as_of"]).strftime("%Y-%m-%d") == t["crm"]["as_of"]
    assert {"description", "population_percent", "expected_sample_percent"} <= set(
        t["sample_skew"])
    assert t["seed"] == SEED and t["n"] == N


def _r2_all_subsets(X: np.ndarray, y: np.ndarray) -> dict[tuple, float]:
    c = np.cov(np.column_stack([X, y]), rowvar=False)
    sxx, sxy, syy = c[:-1, :-1], c[:-1, -1], c[-1, -1]
    out = {(): 0.0}
    p = X.shape[1]
    for k in range(1, p + 1):
        for s in itertools.combinations(range(p), k):
            idx = list(s)
            beta = np.linalg.solve(sxx[np.ix_(idx, idx)], sxy[idx])
            out[s] = float(sxy[idx] @ beta / syy)
    return out


def _shapley(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    r2, p = _r2_all_subsets(X, y), X.shape[1]
    phi = np.zeros(p)
    for s, v in r2.items():
        for j in range(p):
            if j not in s:
                w = factorial(len(s)) * factorial(p - len(s) - 1) / factorial(p)
                phi[j] += w * (r2[tuple(sorted((*s, j)))] - v)
    return phi


def test_shapley_recovers_each_segments_top_drivers(q, clean):
    """The declared top drivers come out first, in order, from an all-subsets R^2
    decomposition (LMG) on the segment's complete cases."""
    d = clean.truth["drivers"]
    df = q.derive(clean.responses)
    attrs = d["attributes"]
    for s, top in d["top"].items():
        sub = df[df["segment"] == int(s)]
        X = sub[attrs].where(sub[attrs] <= 10)
        ok = X.notna().all(axis=1)
        phi = _shapley(X[ok].to_numpy(float), sub.loc[ok, "overall_sat"].to_numpy(float))
        assert phi.sum() > 0.3, s
        order = [attrs[i] for i in np.argsort(-phi)]
        assert order[:len(top)] == top, (s, order[:4])


def test_grid_items_correlate_as_the_loadings_say(clean):
    df = clean.responses
    lam = clean.truth["factors"]
    for f, (a, b) in (("performance", ("sat_cpu", "sat_gpu")),
                      ("dependability", ("sat_reliab", "sat_compat")),
                      ("service_quality", ("svc_speed", "svc_resolution"))):
        x = df[[a, b]].where(df[[a, b]] <= 10).dropna()
        r = np.corrcoef(x[a], x[b])[0, 1]
        assert r == pytest.approx(lam[f][a] * lam[f][b], abs=0.08), (a, b, r)


# -- planted problems ----------------------------------------------------------------------------
def test_planted_rows_are_exactly_those_listed(q, sim, clean):
    planted = sim.problems
    assert list(planted.columns) == ["resp_id", "question", "rule", "row", "detail"]
    counts = planted["rule"].value_counts()
    assert set(counts.index) == set(PROBLEM_RULES) and counts.min() >= 5
    assert 0.01 * N <= len(planted) <= 0.02 * N
    assert planted["row"].is_unique
    a, b = sim.responses.astype(object), clean.responses.astype(object)
    same = (a.isna() & b.isna()) | (a.notna() & b.notna() & (a == b))
    changed = np.flatnonzero(~same.all(axis=1).to_numpy())
    assert sorted(changed) == sorted(planted["row"])
    ids = sim.responses["resp_id"].to_numpy()
    assert (ids[planted["row"].to_numpy()] == planted["resp_id"].to_numpy()).all()


def test_each_planted_problem_breaks_its_rule(q, sim, clean):
    df = sim.responses
    med = pd.to_numeric(df["duration_sec"]).median()
    for rec in sim.problems.itertuples():
        row, col = df.iloc[rec.row], rec.question
        one = df.iloc[[rec.row]]
        if rec.rule == "speeder":
            assert row[col] < 0.4 * med
        elif rec.rule == "straight_lining":
            items = q.columns_of(col)
            assert len(items) >= 4 and row[items].nunique() == 1
        elif rec.rule == "out_of_range":
            value, var = float(row[col]), q.variable(col)
            allowed = set(var.value_labels) | set(var.missing_codes)
            assert (value not in allowed) if allowed else value > var.max
        elif rec.rule == "non_numeric":
            assert isinstance(row[col], str) and np.isnan(pd.to_numeric(row[col],
                                                                         errors="coerce"))
        elif rec.rule == "answered_not_asked":
            assert q.answered(one, col).iloc[0] and not q.asked(one, col).iloc[0]
        elif rec.rule == "asked_not_answered":
            assert q.question(col).required
            assert q.asked(one, col).iloc[0] and not q.answered(one, col).iloc[0]
        elif rec.rule == "exclusive_conflict":
            opts = q.question(col).options
            ex = [f"{col}_{o.code}" for o in opts if o.exclusive]
            other = [f"{col}_{o.code}" for o in opts if not o.exclusive]
            assert (row[ex] == 1).any() and (row[other] == 1).any()
        elif rec.rule == "duplicate_id":
            same = df.index[df["resp_id"] == rec.resp_id]
            assert len(same) == 2 and rec.row == same.max()
            assert df.iloc[same[0]].equals(df.iloc[same[1]])
    # value problems stay off routing, segment and weighting columns: every row keeps a segment
    protected = {"cust_type", "age", "org_size", "org_type", "complaint", *q.roles.weighting}
    values = sim.problems[sim.problems["rule"].isin(["out_of_range", "non_numeric",
                                                      "asked_not_answered"])]
    assert not set(values["question"]) & protected
    assert q.derive(df)["segment"].notna().all()
    # a numeric min-max break and a scale-code break are both among the planted values
    kinds = {q.variable(c).kind for c in sim.problems.query("rule == 'out_of_range'").question}
    assert {"numeric", "rating"} <= kinds


# -- CRM ------------------------------------------------------------------------------------------
def test_crm_extract_links_value_to_loyalty(sim):
    crm, df = sim.crm, sim.responses
    assert list(crm.columns) == ["customer_id", "first_purchase", "last_purchase", "orders_12m",
                                 "spend_12m", "margin_rate", "service_tickets_12m", "email",
                                 "phone"]
    assert crm["customer_id"].is_unique and crm["customer_id"].str.match(r"^C\d{6}$").all()
    assert (pd.to_datetime(crm["first_purchase"]) <= pd.to_datetime(crm["last_purchase"])).all()
    assert pd.to_datetime(crm["last_purchase"]).max() <= pd.Timestamp(sim.truth["crm"]["as_of"])
    assert crm["email"].str.endswith("@example.com").all()
    survey_ids = set(df["customer_id"])
    assert 5 <= len(survey_ids - set(crm["customer_id"])) <= 100
    assert 5 <= len(set(crm["customer_id"]) - survey_ids) <= 500
    joined = df.drop_duplicates("resp_id").merge(crm, on="customer_id")
    nps = pd.to_numeric(joined["nps"], errors="coerce")
    promoters, detractors = joined[nps >= 9], joined[nps <= 6]
    assert promoters["spend_12m"].mean() > 1.3 * detractors["spend_12m"].mean()
    assert (detractors["orders_12m"] == 0).mean() > 2 * (promoters["orders_12m"] == 0).mean()
    # the optional survey e-mail is mostly empty, and matches the CRM address when given
    given = joined["email_x"].notna()
    assert 0.05 < given.mean() < 0.25
    assert (joined.loc[given, "email_x"] == joined.loc[given, "email_y"]).all()


# -- generic questionnaires and arguments ---------------------------------------------------------
GENERIC = """
id: tiny
title: Tiny
scales:
  sat5:
    codes: {1: Bad, 2: Poor, 3: OK, 4: Good, 5: Great}
    missing: [{code: 9, label: "Don't know"}]
questions:
  - {id: kind, type: single, text: Kind?, options: {1: A, 2: B}}
  - {id: age, type: numeric, text: Age?, min: 18, max: 80, ask_if: kind == 1}
  - id: grid
    type: grid
    text: Rate
    scale: sat5
    items: [{id: g1, text: a}, {id: g2, text: b}, {id: g3, text: c}, {id: g4, text: d}]
  - id: why
    type: multi
    text: Why?
    options: [{code: 1, label: x}, {code: 2, label: y, other: true},
              {code: 99, label: none, exclusive: true}]
    ask_if: g1 <= 2
  - {id: rec, type: nps, text: Recommend?, ask_if: "not selected(why, 99)"}
  - {id: note, type: open, text: Notes, required: false}
roles: {respondent_id: rid, duration: secs, weighting: [kind]}
"""


def test_generic_questionnaire_obeys_routing_and_scales():
    tq = questionnaire_from_text(GENERIC)
    s = simulate(tq, 300, 3, problems=False)
    df = s.responses
    for question in tq.questions:
        asked, answered = tq.asked(df, question.id), tq.answered(df, question.id)
        assert not (answered & ~asked).any(), question.id
        if question.required:
            assert not (asked & ~answered).any(), question.id
    assert df["g1"].isin([1, 2, 3, 4, 5]).all() and df["age"].dropna().between(18, 80).all()
    assert 0 < tq.asked(df, "why").mean() < 1 and s.crm.empty
    planted = simulate(tq, 300, 3).problems
    assert {"straight_lining", "speeder", "out_of_range", "answered_not_asked",
            "exclusive_conflict", "duplicate_id"} <= set(planted["rule"])


def test_inputs_are_not_modified(q):
    truth = _small_truth()
    before = json.dumps(truth, sort_keys=True)
    simulate(q, 200, 1, truth)
    assert json.dumps(truth, sort_keys=True) == before


@pytest.mark.parametrize("kwargs, match", [
    ({"n": 50}, "n=50 is too small"),
    ({"n": 2.5}, "integer"),
    ({"seed": -1}, "seed"),
])
def test_bad_arguments_raise_typed_errors(q, kwargs, match):
    args = {"n": 500, "seed": 1, **kwargs}
    with pytest.raises(SurveykitError, match=match):
        simulate(q, args["n"], args["seed"], _small_truth())


def test_truth_that_does_not_fit_is_refused(q):
    truth = _small_truth()
    truth["drivers"]["attributes"].append("sat_nothing")
    with pytest.raises(SurveykitError, match="sat_nothing"):
        simulate(q, 500, 1, truth)
    truth = _small_truth()
    del truth["links"]
    with pytest.raises(SurveykitError, match="links"):
        simulate(q, 500, 1, truth)
    with pytest.raises(SurveykitError, match="Questionnaire"):
        simulate("questionnaires/pc_customers.yaml", 500, 1)
