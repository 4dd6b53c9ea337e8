"""surveykit.measurement against R psych / lavaan fixtures (tests/fixtures/r_psych, r_lavaan).

The fixtures were made by the R scripts beside them on simulated 1-7 ratings (three
constructs, s4 reverse keyed); the tests never need R.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from surveykit import measurement as m  # noqa: E402
from surveykit.errors import MeasurementError, SurveykitWarning  # noqa: E402
from surveykit.questionnaire import questionnaire_from_dict  # noqa: E402

FIX = Path(__file__).parent / "fixtures"
PSYCH = json.loads((FIX / "r_psych" / "psych_reference.json").read_text())
LAVAAN = json.loads((FIX / "r_lavaan" / "lavaan_reference.json").read_text())
ITEMS_CSV = FIX / "r_psych" / "items.csv"
MISSING_CSV = FIX / "r_psych" / "items_missing.csv"
CONSTRUCTS = {"quality": ["q1", "q2", "q3", "q4"], "service": ["s1", "s2", "s3", "s4"],
              "value": ["v1", "v2", "v3", "v4"]}
ITEMS = [i for its in CONSTRUCTS.values() for i in its]
REV = {"reverse": ["s4"], "scale_range": (1, 7)}


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_csv(ITEMS_CSV)


@pytest.fixture(scope="module")
def data_missing() -> pd.DataFrame:
    return pd.read_csv(MISSING_CSV)


def _align(L: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Columns of L matched to ref's by congruence, with ref's signs (R orders factors too)."""
    out = np.zeros_like(ref)
    for j in range(ref.shape[1]):
        c = [abs(L[:, i] @ ref[:, j]) for i in range(L.shape[1])]
        i = int(np.argmax(c))
        out[:, j] = np.sign(L[:, i] @ ref[:, j]) * L[:, i]
    return out


# -------------------------------------------------------------------------------- correlations

def test_weighted_corr_matches_r(data, data_missing):
    np.testing.assert_allclose(m.weighted_corr(data, ITEMS, **REV), PSYCH["cor"], atol=1e-10)
    np.testing.assert_allclose(m.weighted_corr(data, ITEMS, weights="w", **REV),
                               PSYCH["cor_weighted"], atol=1e-10)
    np.testing.assert_allclose(m.weighted_corr(data_missing, ITEMS, missing="pairwise", **REV),
                               PSYCH["cor_pairwise"], atol=1e-10)
    np.testing.assert_allclose(m.weighted_corr(data_missing, ITEMS, missing="listwise", **REV),
                               PSYCH["cor_listwise"], atol=1e-10)


def test_weighted_pairwise_equals_hand_calculation(data_missing):
    d = data_missing
    a, b = d["q1"].to_numpy(), d["v2"].to_numpy()
    w = d["w"].to_numpy()
    ok = ~np.isnan(a) & ~np.isnan(b)
    a, b, w = a[ok], b[ok], w[ok]
    ma, mb = np.average(a, weights=w), np.average(b, weights=w)
    r = (np.average((a - ma) * (b - mb), weights=w)
         / np.sqrt(np.average((a - ma) ** 2, weights=w) * np.average((b - mb) ** 2, weights=w)))
    got = m.weighted_corr(d, ITEMS, weights="w", missing="pairwise").loc["q1", "v2"]
    assert got == pytest.approx(r, abs=1e-12)


# -------------------------------------------------------------------------------- reliability

@pytest.mark.parametrize("name", list(CONSTRUCTS))
def test_reliability_matches_psych(data, name):
    ref = PSYCH["reliability"][name]
    res = m.reliability(data, CONSTRUCTS[name], **REV) if name == "service" else \
        m.reliability(data, CONSTRUCTS[name])
    assert res.alpha == pytest.approx(ref["raw_alpha"], abs=1e-10)
    assert res.std_alpha == pytest.approx(ref["std_alpha"], abs=1e-10)
    t = res.item_table
    np.testing.assert_allclose(t["alpha_if_deleted"], ref["alpha_drop_raw"], atol=1e-10)
    np.testing.assert_allclose(t["std_alpha_if_deleted"], ref["alpha_drop_std"], atol=1e-10)
    np.testing.assert_allclose(t["item_rest_r"], ref["r_drop"], atol=1e-10)
    np.testing.assert_allclose(t["item_total_r"], ref["raw_r"], atol=1e-10)
    assert res.omega_total == pytest.approx(ref["omega_total"], abs=1e-4)   # iterative fit
    assert res.n == 500 and res.n_eff == 500


def test_weighted_reliability_matches_psych_on_cov_wt(data):
    ref = PSYCH["reliability_weighted_service"]
    res = m.reliability(data, CONSTRUCTS["service"], weights="w", **REV)
    assert res.alpha == pytest.approx(ref["raw_alpha"], abs=1e-10)
    assert res.std_alpha == pytest.approx(ref["std_alpha"], abs=1e-10)
    np.testing.assert_allclose(res.item_table["alpha_if_deleted"], ref["alpha_drop_raw"],
                               atol=1e-10)
    assert res.n_eff < res.n


def test_reverse_keying_changes_alpha_and_missing_key_warns(data):
    with pytest.warns(m.ItemWarning, match="'s4'"):
        unkeyed = m.reliability(data, CONSTRUCTS["service"])
    keyed = m.reliability(data, CONSTRUCTS["service"], **REV)
    assert keyed.alpha > unkeyed.alpha + 0.2
    assert keyed.item_table.loc["s4", "reversed"]


def test_reliability_alpha_closed_form_two_items():
    d = pd.DataFrame({"a": [1.0, 2, 3, 4, 5, 6], "b": [2.0, 1, 4, 3, 6, 5]})
    C = np.cov(d.T.to_numpy())
    expect = 2 * (1 - np.trace(C) / C.sum())
    res = m.reliability(d, ["a", "b"])
    assert res.alpha == pytest.approx(expect, abs=1e-12)
    assert np.isnan(res.omega_total)          # omega needs three items


def test_reliability_table_dict(data):
    t = m.reliability_table(data, CONSTRUCTS, **REV)
    assert t["construct"].tolist() == list(CONSTRUCTS)
    for name in CONSTRUCTS:
        row = t.set_index("construct").loc[name]
        assert row["alpha"] == pytest.approx(PSYCH["reliability"][name]["raw_alpha"], abs=1e-10)


# -------------------------------------------------------------------------------- suitability

def test_kmo_and_bartlett_match_psych(data):
    k = m.kmo(data, ITEMS, **REV)
    assert k.overall == pytest.approx(PSYCH["kmo"]["overall"], abs=1e-10)
    np.testing.assert_allclose(k.items["msa"], PSYCH["kmo"]["items"], atol=1e-10)
    assert "overall" in k.to_frame().index
    b = m.bartlett(data, ITEMS, **REV)
    assert b.chi2 == pytest.approx(PSYCH["bartlett"]["chisq"], rel=1e-10)
    assert b.df == PSYCH["bartlett"]["df"]
    assert b.p == pytest.approx(PSYCH["bartlett"]["p"], abs=1e-12)


def test_bartlett_weighted_uses_kish_n(data):
    b = m.bartlett(data, ITEMS, weights="w", **REV)
    w = data["w"].to_numpy()
    assert b.n == pytest.approx(w.sum() ** 2 / (w ** 2).sum())
    assert b.n_basis == "Kish n_eff"


# -------------------------------------------------------------------------------- parallel

def test_parallel_analysis_matches_psych(data):
    res = m.parallel_analysis(data, ITEMS, n_iter=100, seed=3, **REV)
    ref = PSYCH["parallel"]
    np.testing.assert_allclose(res.table["observed_pc"], ref["pc_values"], atol=1e-10)
    np.testing.assert_allclose(res.table["observed_fa"], ref["fa_values"], atol=1e-4)
    # simulated values are random: psych's mean of 200 draws vs ours of 100
    np.testing.assert_allclose(res.table["sim_pc_mean"], ref["pc_sim"], atol=0.03)
    np.testing.assert_allclose(res.table["sim_fa_mean"], ref["fa_sim"], atol=0.03)
    assert (res.n_factors, res.n_components) == (ref["nfact"], ref["ncomp"]) == (3, 3)
    assert (res.table["sim_pc_pct"] > res.table["sim_pc_mean"]).all()
    assert res.plot().axes[0].get_ylabel() == "eigenvalue"


def test_parallel_analysis_is_seeded(data):
    a = m.parallel_analysis(data, ITEMS[:8], n_iter=100, seed=11, **REV)
    b = m.parallel_analysis(data, ITEMS[:8], n_iter=100, seed=11, **REV)
    c = m.parallel_analysis(data, ITEMS[:8], n_iter=100, seed=12, **REV)
    pd.testing.assert_frame_equal(a.table, b.table)
    assert not np.allclose(a.table["sim_pc_pct"], c.table["sim_pc_pct"])
    with pytest.raises(MeasurementError, match="at least 100"):
        m.parallel_analysis(data, ITEMS, n_iter=50)


# -------------------------------------------------------------------------------- EFA

@pytest.mark.parametrize("key", list(PSYCH["fa"]))
def test_efa_matches_psych(data, key):
    fm, rot = key.split("_")
    ref = PSYCH["fa"][key]
    res = m.efa(data, ITEMS, 3, method=fm, rotation=rot, **REV)
    L = res.loadings.loc[ITEMS].to_numpy()
    np.testing.assert_allclose(L, ref["loadings"], atol=1e-3)        # same order and signs
    np.testing.assert_allclose(res.communality.loc[ITEMS], ref["communality"], atol=1e-4)
    np.testing.assert_allclose(res.uniqueness.loc[ITEMS], ref["uniqueness"], atol=1e-4)
    if ref["phi"] is not None:
        np.testing.assert_allclose(res.phi.to_numpy(), ref["phi"], atol=1e-3)
    else:
        assert res.phi is None


def test_efa_weighted_matches_psych(data):
    ref = PSYCH["fa_weighted_minres_oblimin"]
    res = m.efa(data, ITEMS, 3, weights="w", **REV)
    L = res.loadings.loc[ITEMS].to_numpy()
    np.testing.assert_allclose(_align(L, np.array(ref["loadings"])), ref["loadings"], atol=1e-3)


def test_efa_scores_match_psych(data):
    res = m.efa(data, ITEMS, 3, rotation="oblimin", **REV)
    np.testing.assert_allclose(res.score_weights().loc[ITEMS], PSYCH["fa_scores_weights"],
                               atol=1e-4)
    sc = res.scores(data)
    np.testing.assert_allclose(sc.to_numpy()[:5], PSYCH["fa_scores_first5"], atol=1e-3)
    out = res.add_scores(data, prefix="f_")
    assert [c for c in out if c.startswith("f_")] == ["f_MR1", "f_MR2", "f_MR3"]
    assert "f_MR1" not in data.columns


def test_efa_tidy_loadings_sorted_and_blanked(data):
    res = m.efa(data, ITEMS, 3, **REV)
    t = res.to_frame()
    assert list(t.columns) == ["item", "factor", "loading", "primary"]
    assert len(t) == 36 and t["primary"].sum() == 12
    for _, g in t.groupby("factor", sort=False):
        assert (np.diff(g["loading"].abs().to_numpy()) <= 1e-12).all()
    primary = t[t["primary"]].groupby("factor")["item"].apply(set)
    assert sorted(map(sorted, primary)) == sorted(map(sorted, CONSTRUCTS.values()))
    wide = res.loadings_table()
    small = res.loadings.abs() < 0.3
    blanked = wide[res.factors].to_numpy() == ""
    assert (blanked == small.to_numpy()).all()
    html = res._repr_html_()
    assert "<table" in html and "MR1" in html
    fig = res.plot()
    assert fig.axes


def test_efa_missing_policy_declared(data_missing):
    pw = m.efa(data_missing, ITEMS, 3, missing="pairwise", **REV)
    lw = m.efa(data_missing, ITEMS, 3, missing="listwise", **REV)
    # pairwise: psych's n.obs (the rows); listwise: the complete rows
    assert pw.n == 500 > pw.missing_data.n_min and lw.n == PSYCH["n_listwise"]
    np.testing.assert_allclose(lw.corr.to_numpy(), PSYCH["cor_listwise"], atol=1e-10)
    np.testing.assert_allclose(pw.corr.to_numpy(), PSYCH["cor_pairwise"], atol=1e-10)
    with pytest.raises(MeasurementError, match="never imputed"):
        m.efa(data_missing, ITEMS, 3, missing="median")


def _heywood_data() -> pd.DataFrame:
    """Three items whose sample correlations are exactly r12 = r13 = .8, r23 = .5: one
    factor needs lambda1^2 = r12 r13 / r23 = 1.28 > 1 (an improper solution)."""
    R = np.array([[1, .8, .8], [.8, 1, .5], [.8, .5, 1]])
    x = np.random.default_rng(0).normal(size=(2000, 3))
    x = (x - x.mean(0)) @ np.linalg.inv(np.linalg.cholesky(np.cov(x.T, bias=True))).T
    return pd.DataFrame(x @ np.linalg.cholesky(R).T, columns=["a", "b", "c"])


def test_efa_heywood_warns_naming_item():
    with pytest.warns(m.HeywoodWarning, match="'a'"):
        res = m.efa(_heywood_data(), ["a", "b", "c"], 1)
    assert res.heywood == ["a"]
    assert res.uniqueness["a"] < 0 and res.communality["a"] > 1


# -------------------------------------------------------------------------------- CFA

FIT_KEYS = [("chisq", "chisq"), ("cfi", "cfi"), ("tli", "tli"), ("rmsea", "rmsea"),
            ("rmsea_ci_low", "rmsea.ci.lower"), ("rmsea_ci_high", "rmsea.ci.upper"),
            ("srmr", "srmr"), ("baseline_chisq", "baseline.chisq"), ("df", "df"),
            ("pvalue", "pvalue")]


@pytest.mark.parametrize("key,model,weights", [
    ("three_factor", CONSTRUCTS, None),
    ("one_factor_misfit", {"general": CONSTRUCTS["quality"] + CONSTRUCTS["service"]}, None),
    ("three_factor_weighted", CONSTRUCTS, "w"),
])
def test_cfa_matches_lavaan(data, key, model, weights):
    ref = LAVAAN[key]
    res = m.cfa(data, model, weights=weights, **REV)
    for mine, theirs in FIT_KEYS:
        assert res.fit[mine] == pytest.approx(ref["fit"][theirs], rel=1e-5, abs=1e-6), mine
    L = ref["loadings"]
    assert res.loadings["item"].tolist() == L["item"]
    np.testing.assert_allclose(res.loadings["std"], L["std"], atol=1e-5)
    np.testing.assert_allclose(res.loadings["estimate"], L["est"], atol=1e-5)
    np.testing.assert_allclose(res.loadings["se"], L["se"], atol=1e-5)   # robust if weighted
    np.testing.assert_allclose(res.scores(data).to_numpy()[:5], ref["scores_first5"],
                               atol=1e-5)
    if len(model) > 1:
        fc = res.factor_cor.to_numpy()[np.triu_indices(3, 1)]
        np.testing.assert_allclose(fc, ref["factor_cor"]["std"], atol=1e-5)
    assert "RMSEA" in res._repr_html_()


def test_cfa_heywood_and_identification():
    d = _heywood_data()
    with pytest.warns(m.HeywoodWarning, match="'a'"):
        res = m.cfa(d, {"F": ["a", "b", "c"]})
    assert res.heywood == ["a"] and res.residual_var["a"] < 0
    with pytest.raises(MeasurementError, match="factor 'G' has 1 item"):
        m.cfa(d, {"F": ["a", "b"], "G": ["c"]})
    with pytest.raises(MeasurementError, match="not identified"):
        m.cfa(d.iloc[:, :2].assign(c=d["c"]).iloc[:, :3], {"F": ["a", "b", "c"],
                                                           "G": ["a", "b", "c"]})


# -------------------------------------------------------------------------------- scores

def test_construct_scores():
    d = pd.DataFrame({"a": [1.0, 5, np.nan, 2], "b": [2.0, 1, 4, np.nan],
                      "c": [3.0, 3, np.nan, 2]})
    before = d.copy()
    out = m.construct_scores(d, {"abc": ["a", "b", "c"]}, reverse=["b"], scale_range=(1, 5))
    # b reversed: 4, 5, 2, nan
    assert out["abc"].tolist()[:2] == [pytest.approx(8 / 3), pytest.approx(13 / 3)]
    assert np.isnan(out["abc"].iloc[2]) and np.isnan(out["abc"].iloc[3])   # all items needed
    part = m.construct_scores(d, {"abc": ["a", "b", "c"]}, reverse=["b"], scale_range=(1, 5),
                              min_items=2, method="sum")
    assert part["abc"].iloc[3] == pytest.approx(2 * 3)          # prorated sum of 2 items
    assert np.isnan(part["abc"].iloc[2])
    pd.testing.assert_frame_equal(d, before)
    with pytest.raises(MeasurementError, match="already exists"):
        m.construct_scores(out, {"abc": ["a", "b"]})


def _questionnaire(labels: bool = False):
    def text(c):
        if not labels:
            return c
        return f"Item {c} (negatively worded)" if c == "s4" else f"Item {c}"

    items = [{"id": c, "text": text(c), **({"reverse": True} if c == "s4" else {})}
             for c in ITEMS]
    return questionnaire_from_dict({
        "id": "t", "title": "T",
        "scales": {"s7": {"codes": {i: str(i) for i in range(1, 8)}}},
        "questions": [{"id": "grid", "type": "grid", "text": "Rate", "scale": "s7",
                       "items": items}],
        "constructs": [{"id": k, "label": k.title(), "items": v, "min_items": 3}
                       for k, v in CONSTRUCTS.items()]})


def test_questionnaire_wrappers(data):
    q = _questionnaire()
    spec = m.from_questionnaire(q)
    assert spec["reverse"] == ["s4"] and spec["scale_range"]["s4"] == (1.0, 7.0)
    t = m.reliability_table(data, q)
    assert t.set_index("construct").loc["service", "alpha"] == pytest.approx(
        PSYCH["reliability"]["service"]["raw_alpha"], abs=1e-10)
    assert t["label"].tolist() == ["Quality", "Service", "Value"]
    res = m.cfa(data, q)
    assert res.fit["chisq"] == pytest.approx(LAVAAN["three_factor"]["fit"]["chisq"], rel=1e-6)
    sc = m.construct_scores(data, q)
    assert sc["service"].iloc[0] == pytest.approx(
        np.mean([data["s1"][0], data["s2"][0], data["s3"][0], 8 - data["s4"][0]]))


# -------------------------------------------------------------------------------- bad input

def test_bad_inputs_raise_clear_errors(data):
    with pytest.raises(MeasurementError, match="1 item"):
        m.reliability(data, ["q1"])
    const = data.assign(k=3.0)
    with pytest.raises(MeasurementError, match="item 'k' is constant"):
        m.reliability(const, ["q1", "q2", "k"])
    with pytest.raises(MeasurementError, match="item 'k' is constant"):
        m.efa(const, ITEMS + ["k"], 3)
    empty = data.assign(e=np.nan)
    with pytest.raises(MeasurementError, match="item 'e' has no non-missing values"):
        m.kmo(empty, ["q1", "q2", "e"])
    with pytest.raises(MeasurementError, match="no scale_range"):
        m.reliability(data, CONSTRUCTS["service"], reverse=["s4"])
    with pytest.raises(MeasurementError, match="outside its scale_range"):
        m.reliability(data, CONSTRUCTS["service"], reverse=["s4"], scale_range=(1, 5))
    with pytest.raises(MeasurementError, match="'zz'"):
        m.reliability(data, ["q1", "zz"])
    with pytest.raises(MeasurementError, match="not identified"):
        m.efa(data, ITEMS[:4], 3)
    with pytest.raises(MeasurementError, match="rotation"):
        m.efa(data, ITEMS, 2, rotation="quartimax")
    collinear = data.assign(q5=data["q1"] + data["q2"])
    with pytest.raises(MeasurementError, match="linearly dependent"):
        m.kmo(collinear, ["q1", "q2", "q3", "q5"])



def test_item_text_read_as_numbers_and_other_text_refused_by_name(data):
    items = CONSTRUCTS["quality"]
    as_text = data.assign(q2=data["q2"].map(lambda v: f"{v:g}"))   # "5", "3", ...
    assert m.reliability(as_text, items).alpha == pytest.approx(
        m.reliability(data, items).alpha, abs=1e-12)
    bad = as_text.copy()
    bad.loc[3, "q2"] = "n/a"
    with pytest.raises(MeasurementError, match=r"item 'q2' holds non-numeric values "
                                               r"\(e\.g\. 'n/a'\); recode it first"):
        m.reliability(bad, items)

def test_inputs_not_modified(data_missing):
    d = data_missing.copy()
    before = d.copy()
    m.reliability(d, CONSTRUCTS["service"], weights="w", **REV)
    m.efa(d, ITEMS, 3, weights="w", **REV)
    with pytest.warns(SurveykitWarning, match="rows left out"):
        m.cfa(d, CONSTRUCTS, weights="w", **REV)
    m.kmo(d, ITEMS, **REV)
    pd.testing.assert_frame_equal(d, before)


def test_warnings_are_surveykit_warnings():
    assert issubclass(m.HeywoodWarning, SurveykitWarning)
    assert issubclass(m.ItemWarning, SurveykitWarning)


# -------------------------------------------------------------------------------- demo survey

def test_demo_factor_structure_recovered(demo_survey, demo_truth):
    s, factors = demo_survey, demo_truth["factors"]
    items = [i for f in factors.values() for i in f]
    res = m.efa(s.data, items, len(factors), weights=s.weights, rotation="oblimin")
    got = res.to_frame().query("primary").groupby("factor")["item"].apply(frozenset)
    assert set(got) == {frozenset(v) for v in factors.values()}
    # reverse-worded items (negative true loading) are the questionnaire's reverse keys
    spec = m.from_questionnaire(s.questionnaire)
    assert sorted(spec["reverse"]) == sorted(i for f in factors.values()
                                             for i, v in f.items() if v < 0)
    with pytest.warns(SurveykitWarning, match="rows left out"):   # service items: routed
        c = m.cfa(s.data, s.questionnaire, weights=s.weights)
    assert c.fit["cfi"] > 0.95 and c.fit["rmsea"] < 0.05
    rel = m.reliability_table(s.data, s.questionnaire, weights=s.weights)
    assert (rel["alpha"] > 0.7).all()


# ----------------------------------------------------------------------------- issue 13
# psych on its bfi data (2,800 respondents, missing answers): tests/fixtures/r_psych/
# make_bfi_fixtures.R; lavaan: tests/fixtures/r_lavaan/make_issue13_fixtures.R
BFI = json.loads((FIX / "r_psych" / "psych_bfi_reference.json").read_text())
LAV13 = json.loads((FIX / "r_lavaan" / "lavaan_issue13.json").read_text())


@pytest.fixture(scope="module")
def bfi() -> pd.DataFrame:
    return pd.read_csv(FIX / "r_psych" / "bfi.csv")


@pytest.mark.parametrize("scale", list("ACENO"))
def test_pairwise_alpha_is_psych_cov2cor_of_the_pairwise_covariance(bfi, scale):
    items = [f"{scale}{i}" for i in range(1, 6)]
    r = m.reliability(bfi, items, missing="pairwise")
    ref = BFI["alpha_pairwise"][scale]
    assert r.alpha == pytest.approx(ref["raw_alpha"], rel=1e-12)
    assert r.std_alpha == pytest.approx(ref["std_alpha"], rel=1e-12)
    t = r.item_table
    np.testing.assert_allclose(t["alpha_if_deleted"], ref["alpha_drop_raw"], rtol=1e-12)
    np.testing.assert_allclose(t["std_alpha_if_deleted"], ref["alpha_drop_std"], rtol=1e-12)
    np.testing.assert_allclose(t["item_rest_r"], ref["r_drop"], rtol=1e-12)
    # psych's raw.r with missing answers correlates each item with the row means of the
    # answered items (a data-level total); ours stays the covariance-matrix item-total r
    np.testing.assert_allclose(t["item_total_r"], ref["raw_r"], atol=5e-3)


def test_bartlett_with_pairwise_data_counts_rows_as_psych(bfi):
    b = m.bartlett(bfi, list(bfi.columns), missing="pairwise")
    assert b.n == BFI["bartlett"]["n"] == 2800
    assert b.chi2 == pytest.approx(BFI["bartlett"]["chisq"], rel=1e-12)
    assert b.df == BFI["bartlett"]["df"]


@pytest.mark.parametrize("key", list(BFI["fa"]))
def test_oblique_factors_in_psychs_order(bfi, key):
    """psych orders oblique factors by diag(Phi L'L); in the last three solutions that
    order differs from the order by sum of squared pattern loadings."""
    ref = BFI["fa"][key]
    items = ref.get("items", list(bfi.columns))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SurveykitWarning)       # Heywood cases in 6 factors
        res = m.efa(bfi, items, ref.get("nfactors", 5), rotation=ref.get("rotation", key),
                    missing="pairwise")
    L = res.loadings.loc[items].to_numpy()
    np.testing.assert_allclose(L, ref["loadings"], atol=2e-4)     # same order, same signs
    np.testing.assert_allclose(res.phi.to_numpy(), ref["phi"], atol=2e-4)
    if key not in ("oblimin", "promax"):
        assert np.argsort(-np.asarray(ref["ss_plain"])).tolist() != list(range(len(L.T)))


def test_cfa_warns_when_the_factor_correlations_are_not_positive_definite():
    d = pd.read_csv(FIX / "r_lavaan" / "npd.csv")
    model = {"qual": ["x1", "x2", "x3"], "sat": ["x4", "x5", "x6"], "loy": ["x7", "x8", "x9"]}
    with pytest.warns(m.LatentCorrelationWarning, match=r"not positive definite \(smallest "
                                                        r"eigenvalue -0\.0172; qual - sat "
                                                        r"r = 0\.989\)"):
        res = m.cfa(d, model)
    ref = LAV13["npd"]
    assert "not positive definite" in ref["warnings"]                 # lavaan warns too
    np.testing.assert_allclose(res.factor_cor.to_numpy(), ref["cov_lv"], atol=1e-6)
    np.testing.assert_allclose(res.latent_eigenvalues, ref["eigenvalues"], atol=1e-6)
    assert res.fit["chisq"] == pytest.approx(ref["chisq"], rel=1e-8)
    assert res.converged


def test_cfa_says_how_many_rows_it_left_out(data_missing):
    model = {"quality": ["q1", "q2", "q3", "q4"], "value": ["v1", "v2", "v3", "v4"]}
    items = model["quality"] + model["value"]
    complete = int(data_missing[items].notna().all(axis=1).sum())
    dropped = len(data_missing) - complete
    with pytest.warns(SurveykitWarning, match=rf"cfa: {dropped} of {len(data_missing)} rows "
                                              r"left out \(a missing answer"):
        res = m.cfa(data_missing, model)
    assert res.rows_dropped == dropped and res.n == complete


@pytest.mark.parametrize("weights", ["w", None])
def test_cfa_mlr_matches_lavaan(data, weights):
    """lavaan estimator = "MLR": Yuan-Bentler (Mplus) scaled chi-square, the baseline's,
    scaled and robust CFI / TLI / RMSEA, robust SEs (the default when weighted)."""
    ref = LAV13["mlr_weighted" if weights else "mlr_unweighted"]
    res = m.cfa(data, CONSTRUCTS, weights=weights, estimator="MLR", **REV)
    for key, want in ref.items():
        if key in ("df", "loading_se"):
            continue
        ours = res.fit[key.replace(".", "_").replace("ci_lower", "ci_low")
                       .replace("ci_upper", "ci_high")]
        # lavaan finds the RMSEA CI by uniroot at its default tolerance (1e-4 on lambda)
        tol = 1e-5 if "rmsea_ci" in key.replace(".", "_") else 1e-6
        assert ours == pytest.approx(want, rel=tol), key
    np.testing.assert_allclose(res.loadings["se"], ref["loading_se"], rtol=1e-5)
    assert res.estimator == "MLR" and res._title.startswith("CFA (MLR")
    if weights:
        default = m.cfa(data, CONSTRUCTS, weights=weights, **REV)
        assert default.fit["chisq_scaled"] == res.fit["chisq_scaled"]
    else:
        assert "chisq_scaled" not in m.cfa(data, CONSTRUCTS, **REV).fit


# ----------------------------------------------------------------------------- issue 12
# One missing-data default (pairwise, as psych) stated in every result, and a questionnaire
# in place of the items everywhere. psych on items_missing.csv:
# tests/fixtures/r_psych/make_pairwise_fixtures.R
PAIRWISE = json.loads((FIX / "r_psych" / "psych_pairwise_reference.json").read_text())


@pytest.mark.parametrize("name", list(CONSTRUCTS))
def test_reliability_default_is_psychs_pairwise_alpha(data_missing, name):
    ref = PAIRWISE["reliability"][name]
    kw = REV if name == "service" else {}
    r = m.reliability(data_missing, CONSTRUCTS[name], **kw)
    assert r.missing == "pairwise"
    assert r.alpha == pytest.approx(ref["raw_alpha"], abs=1e-12)
    assert r.std_alpha == pytest.approx(ref["std_alpha"], abs=1e-12)
    t = r.item_table
    np.testing.assert_allclose(t["alpha_if_deleted"], ref["alpha_drop_raw"], atol=1e-12)
    np.testing.assert_allclose(t["std_alpha_if_deleted"], ref["alpha_drop_std"], atol=1e-12)
    np.testing.assert_allclose(t["item_rest_r"], ref["r_drop"], atol=1e-12)
    assert r.omega_total == pytest.approx(ref["omega_total"], abs=1e-5)
    # the n: fewest and most respondents behind one covariance, of the 500 rows
    assert (r.n, r.missing_data.n_min, r.missing_data.n_max, r.missing_data.n_rows) == (
        ref["n_pair_min"], ref["n_pair_min"], ref["n_pair_max"], 500)
    assert (f"pairwise (as R psych): each correlation uses the respondents who answered "
            f"both items, {ref['n_pair_min']} to {ref['n_pair_max']} of 500 rows per pair"
            in r.summary())
    table = m.reliability_table(data_missing, CONSTRUCTS, **REV).set_index("construct")
    assert table.loc[name, "alpha"] == pytest.approx(ref["raw_alpha"], abs=1e-12)
    assert table.loc[name, "missing"] == "pairwise" and table.loc[name, "n_rows"] == 500


@pytest.mark.parametrize("name", list(CONSTRUCTS))
def test_reliability_listwise_is_psychs_alpha_on_complete_rows(data_missing, name):
    ref = PAIRWISE["reliability"][name]["listwise"]
    kw = REV if name == "service" else {}
    r = m.reliability(data_missing, CONSTRUCTS[name], missing="listwise", **kw)
    assert r.alpha == pytest.approx(ref["raw_alpha"], abs=1e-12)
    assert r.std_alpha == pytest.approx(ref["std_alpha"], abs=1e-12)
    np.testing.assert_allclose(r.item_table["alpha_if_deleted"], ref["alpha_drop_raw"],
                               atol=1e-12)
    np.testing.assert_allclose(r.item_table["item_rest_r"], ref["r_drop"], atol=1e-12)
    assert r.n == ref["n"] and r.missing == "listwise"
    assert (f"listwise: the {ref['n']} complete rows of 500 ({500 - ref['n']} left out)"
            in r.summary())


def test_suitability_efa_and_parallel_default_to_psychs_pairwise(data_missing):
    k = m.kmo(data_missing, ITEMS, **REV)
    assert k.overall == pytest.approx(PAIRWISE["kmo"]["overall"], abs=1e-12)
    np.testing.assert_allclose(k.items["msa"], PAIRWISE["kmo"]["items"], atol=1e-12)
    b = m.bartlett(data_missing, ITEMS, **REV)
    assert b.chi2 == pytest.approx(PAIRWISE["bartlett"]["chisq"], rel=1e-12)
    assert b.n == PAIRWISE["bartlett"]["n"] == 500                     # psych counts rows
    e = m.efa(data_missing, ITEMS, 3, **REV)
    ref = PAIRWISE["fa_minres_oblimin"]
    np.testing.assert_allclose(e.loadings.loc[ITEMS].to_numpy(), ref["loadings"], atol=5e-5)
    np.testing.assert_allclose(e.phi.to_numpy(), ref["phi"], atol=5e-5)
    pa = m.parallel_analysis(data_missing, ITEMS, **REV)
    np.testing.assert_allclose(pa.table["observed_pc"], PAIRWISE["parallel"]["pc_values"],
                               atol=1e-12)
    np.testing.assert_allclose(pa.table["observed_fa"], PAIRWISE["parallel"]["fa_values"],
                               atol=1e-5)
    assert pa.n == PAIRWISE["parallel"]["n"]          # fa.parallel simulates nrow(x) rows
    for res in (k, b, e, pa):
        assert res.missing == "pairwise"
        assert (res.missing_data.n_min, res.missing_data.n_max) == (
            PAIRWISE["n_pair_min"], PAIRWISE["n_pair_max"])
        assert "Missing data: pairwise" in res.summary()
        assert "Missing data: pairwise" in res._repr_html_()


def test_cfa_states_its_listwise_handling(data_missing):
    complete = int(data_missing[ITEMS].notna().all(axis=1).sum())
    with pytest.warns(SurveykitWarning, match="rows left out"):
        res = m.cfa(data_missing, CONSTRUCTS, **REV)
    assert res.missing == "listwise" and res.missing_data.n_min == complete == res.n
    assert (f"Missing data: listwise (lavaan's default for ML): the {complete} complete rows "
            f"of 500 ({500 - complete} left out)") in res.summary()


def test_complete_data_says_nothing_was_missing(data):
    r = m.reliability(data, CONSTRUCTS["quality"])
    assert "Missing data: none among the 500 rows used (pairwise)." in r.summary()


def test_every_measurement_function_takes_a_questionnaire(data):
    q = _questionnaire()
    by_hand = {"kmo": m.kmo(data, ITEMS, **REV).overall,
               "chi2": m.bartlett(data, ITEMS, **REV).chi2,
               "fa": m.parallel_analysis(data, ITEMS, **REV).table["observed_fa"].tolist(),
               "efa": m.efa(data, ITEMS, 3, **REV).loadings.loc[ITEMS].to_numpy()}
    assert m.kmo(data, q).overall == pytest.approx(by_hand["kmo"], abs=1e-12)
    assert m.bartlett(data, q).chi2 == pytest.approx(by_hand["chi2"], abs=1e-9)
    pa = m.parallel_analysis(data, q)
    np.testing.assert_allclose(pa.table["observed_fa"], by_hand["fa"], atol=1e-9)
    e = m.efa(data, q, 3)
    np.testing.assert_allclose(e.loadings.loc[ITEMS].to_numpy(), by_hand["efa"], atol=1e-9)
    assert "s4" in e._reverse                                 # reverse keys from the grid
    # constructs= picks some constructs; labels come from the questionnaire
    k2 = m.kmo(data, q, constructs=["quality", "service"])
    assert list(k2.items.index) == CONSTRUCTS["quality"] + CONSTRUCTS["service"]
    q_labelled = _questionnaire(labels=True)
    r = m.reliability(data, q_labelled, constructs="service")
    assert r.alpha == pytest.approx(PSYCH["reliability"]["service"]["raw_alpha"], abs=1e-10)
    assert r.construct == "service" and r.label == "Service"
    assert r.item_table.loc["s4", "reversed"]
    assert "Item s4 (negatively worded)" in r._repr_html_()
    assert "Item q1 (negatively worded)" not in r._repr_html_()
    shown = m.efa(data, q_labelled, 3)._shown()
    assert shown.loc["q1", "label"] == "Item q1"
    c = m.cfa(data, q_labelled, constructs=["quality", "value"])
    assert list(c.model) == ["quality", "value"]
    assert c._shown().set_index("item").loc["v2", "label"] == "Item v2"
    with pytest.raises(MeasurementError, match="declares 3 constructs; name one"):
        m.reliability(data, q)
    with pytest.raises(MeasurementError, match="constructs= selects constructs"):
        m.kmo(data, ITEMS, constructs=["quality"])
    with pytest.raises(MeasurementError, match="'nope'"):
        m.efa(data, q, 2, constructs=["nope"])
