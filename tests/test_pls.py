"""surveykit.pls against the plspm reference on the ECSI satisfaction data, by hand, and by
simulation.

The reference values (tests/fixtures/pls/plspm_reference.json) were made once by
``make_fixtures.py`` beside them with the Python plspm package; the tests never need it.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import FancyArrowPatch  # noqa: E402

from surveykit.errors import PLSError, SurveykitError  # noqa: E402
from surveykit.pls import PLSResult, pls, pls_from_questionnaire  # noqa: E402
from surveykit.pls import _engine as eng  # noqa: E402
from surveykit.questionnaire import questionnaire_from_text  # noqa: E402

FIX = Path(__file__).parent / "fixtures" / "pls"
REF = json.loads((FIX / "plspm_reference.json").read_text())
BLOCKS = REF["blocks"]
PATHS = REF["paths"]
TOL = 1e-6


@pytest.fixture(scope="module")
def sat() -> pd.DataFrame:
    return pd.read_csv(FIX / "satisfaction.csv")


@pytest.fixture(scope="module")
def ecsi(sat) -> PLSResult:
    return pls(sat, BLOCKS, PATHS, boot=200, seed=7, scale_range=(0, 10))


def _ref_weights(n: int) -> np.ndarray:
    return np.random.default_rng(REF["weights_seed"]).integers(1, 4, size=n).astype(float)


# ------------------------------------------------------------------------ reference (plspm)

@pytest.mark.parametrize("name", list(REF["configs"]))
def test_matches_plspm_reference(sat, name):
    ref = REF["configs"][name]
    s = ref["settings"]
    weighted = s["weighted"]
    res = pls(sat, BLOCKS, PATHS, modes=dict.fromkeys(s["mode_b"], "B"), scheme=s["scheme"],
              scaled=s["scaled"], tol=s["tol"],
              weights=_ref_weights(len(sat)) if weighted else None)
    om = res.outer_model.set_index("item")
    for item, row in ref["outer_model"].items():
        for k, v in row.items():
            assert om.loc[item, k] == pytest.approx(v, abs=TOL), (item, k)
    xl = res.crossloadings
    for item, row in ref["crossloadings"].items():
        for lv, v in row.items():
            assert xl.loc[item, lv] == pytest.approx(v, abs=TOL)
    im = res.inner_model.set_index(["from", "to"])
    assert len(im) == len(ref["inner_model"])
    for r in ref["inner_model"]:
        got = im.loc[(r["from"], r["to"])]
        assert got["estimate"] == pytest.approx(r["estimate"], abs=TOL)
        if not weighted:  # replicated rows pretend to more respondents: other SEs
            for k in ("se", "t", "p"):
                assert got[k] == pytest.approx(r[k], abs=TOL, rel=TOL), k
    cons = res.constructs.set_index("construct")
    for key, col in (("r2", "r2"), ("block_communality", "block_communality"),
                     ("mean_redundancy", "mean_redundancy"), ("ave", "ave"),
                     *(() if weighted else (("r2_adj", "r2_adj"),))):
        for lv, v in ref[key].items():
            if v is None:
                assert np.isnan(cons.loc[lv, col])
            else:
                assert cons.loc[lv, col] == pytest.approx(v, abs=TOL), (key, lv)
    ef = res.effects.set_index(["from", "to"])
    assert len(ef) == len(ref["effects"])
    for r in ref["effects"]:
        for k in ("direct", "indirect", "total"):
            assert ef.loc[(r["from"], r["to"]), k] == pytest.approx(r[k], abs=TOL)
    assert res.gof["gof"].iloc[0] == pytest.approx(ref["gof"], abs=TOL)
    ud = res.unidim.set_index("construct")
    for lv, row in ref["unidim"].items():
        for k, v in row.items():
            if v is None:
                assert np.isnan(ud.loc[lv, k])
            else:
                assert ud.loc[lv, k] == pytest.approx(v, abs=TOL), (lv, k)
    if "scores" in ref:
        for lv, v in ref["scores"].items():
            np.testing.assert_allclose(res.scores[lv], v, atol=TOL)


def test_r_plspm_published_gof(sat):
    # R plspm's example (scaled=FALSE, centroid): GoF 0.6097416 (plspm's own test value)
    res = pls(sat, BLOCKS, PATHS, scheme="centroid", scaled=False)
    assert res.gof["gof"].iloc[0] == pytest.approx(0.609741624338411, abs=1e-9)
    assert res.iterations == 4


# ------------------------------------------------------------------------- by hand

def _wcorr(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    m = np.average(X, axis=0, weights=w)
    C = ((X - m) * w[:, None]).T @ (X - m) / w.sum()
    d = np.sqrt(np.diag(C))
    return C / np.outer(d, d)


@pytest.mark.parametrize("weighted", [False, True])
def test_unidimensionality_and_htmt_by_hand(sat, weighted):
    w = _ref_weights(len(sat)) if weighted else np.ones(len(sat))
    res = pls(sat, BLOCKS, PATHS, weights=w if weighted else None)
    ud = res.unidim.set_index("construct")
    for lv, items in BLOCKS.items():
        R = _wcorr(sat[items].to_numpy(float), w)
        k = len(items)
        rbar = R[np.triu_indices(k, 1)].mean()
        # standardized alpha: k rbar / (1 + (k - 1) rbar)
        assert ud.loc[lv, "cronbach_alpha"] == pytest.approx(k * rbar / (1 + (k - 1) * rbar),
                                                             abs=1e-12)
        ev, V = np.linalg.eigh(R)
        load = np.sqrt(ev[-1]) * np.abs(V[:, -1])
        rho = load.sum() ** 2 / (load.sum() ** 2 + (1 - load ** 2).sum())
        assert ud.loc[lv, "dillon_goldstein_rho"] == pytest.approx(rho, abs=1e-12)
        assert ud.loc[lv, "eig_1st"] == pytest.approx(ev[-1], abs=1e-12)
        assert ud.loc[lv, "eig_2nd"] == pytest.approx(ev[-2], abs=1e-12)
    H = res.htmt_matrix()
    for a, ia in BLOCKS.items():
        for b, ib in BLOCKS.items():
            if a == b:
                continue
            R = _wcorr(sat[ia + ib].to_numpy(float), w)
            ka, kb = len(ia), len(ib)
            hetero = np.mean([R[i, ka + j] for i in range(ka) for j in range(kb)])
            mono_a = np.mean([R[i, j] for i in range(ka) for j in range(ka) if i < j])
            mono_b = np.mean([R[ka + i, ka + j] for i in range(kb) for j in range(kb) if i < j])
            assert H.loc[a, b] == pytest.approx(hetero / np.sqrt(mono_a * mono_b), abs=1e-12)


def test_index_scores_follow_the_acsi_convention(sat, ecsi):
    om = ecsi.outer_model
    sd = sat[om["item"]].std(ddof=0).to_numpy()
    for lv, items in BLOCKS.items():
        rows = om[om["construct"] == lv]
        raw = rows["weight"].to_numpy() / sd[om["construct"].to_numpy() == lv]
        wbar = raw / raw.sum()                       # one 0-10 scale: weights sum to 1
        np.testing.assert_allclose(rows["index_weight"], wbar, atol=1e-12)
        score = sat[items].to_numpy(float) @ wbar
        np.testing.assert_allclose(ecsi.index_scores[lv], 100 * (score - 0) / (10 - 0),
                                   atol=1e-10)
    assert ecsi.index_scores.min().min() >= 0 and ecsi.index_scores.max().max() <= 100
    cons = ecsi.constructs.set_index("construct")
    np.testing.assert_allclose(cons["index"], ecsi.index_scores.mean()[cons.index], atol=1e-10)
    # unscaled: the outer weights are already per raw point
    raw = pls(sat, BLOCKS, PATHS, scaled=False, scale_range=(0, 10)).outer_model
    for lv in BLOCKS:
        r = raw[raw["construct"] == lv]
        np.testing.assert_allclose(r["index_weight"], r["weight"] / r["weight"].sum(),
                                   atol=1e-12)


def test_scale_range_per_item_and_inferred(sat):
    per_item = {m: (0, 10) for items in BLOCKS.values() for m in items}
    a = pls(sat, BLOCKS, PATHS, scale_range=per_item)
    b = pls(sat, BLOCKS, PATHS, scale_range=dict.fromkeys(BLOCKS, (0, 10)))
    pd.testing.assert_frame_equal(a.index_scores, b.index_scores)
    c = pls(sat, BLOCKS, PATHS)
    assert any("scale_range not given" in n for n in c.notes)
    with pytest.raises(PLSError, match="outside its scale range 1-10"):
        pls(sat, BLOCKS, PATHS, scale_range=(1, 10))


# ------------------------------------------------------------------------- weights

def test_weights_none_equals_ones_and_scale_free(sat):
    a = pls(sat, BLOCKS, PATHS, scale_range=(0, 10))
    b = pls(sat, BLOCKS, PATHS, weights=np.ones(len(sat)), scale_range=(0, 10))
    for name in ("outer_model", "inner_model", "constructs", "effects", "htmt", "gof",
                 "scores", "index_scores", "unidim"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    w = _ref_weights(len(sat))
    c = pls(sat.assign(w=w), BLOCKS, PATHS, weights="w")
    d = pls(sat, BLOCKS, PATHS, weights=w * 7.3)
    pd.testing.assert_frame_equal(c.inner_model, d.inner_model, atol=1e-12)
    assert not np.allclose(a.inner_model["estimate"], c.inner_model["estimate"], atol=1e-4)


def test_inputs_not_modified_and_rows_left_out_are_counted(sat):
    d = sat.copy()
    d.loc[[3, 10], "imag2"] = np.nan
    d["w"] = 1.0
    d.loc[20, "w"] = 0.0
    before = d.copy()
    res = pls(d, BLOCKS, PATHS, weights="w")
    pd.testing.assert_frame_equal(d, before)
    assert res.n == 247
    assert res.scores.loc[[3, 10, 20]].isna().all().all()
    assert res.scores.drop(index=[3, 10, 20]).notna().all().all()
    assert any("2 of 250 respondents left out" in n for n in res.notes)
    assert any("1 respondents of weight 0" in n for n in res.notes)


def test_index_scores_from_the_answered_items(sat):
    """min_items: the model and the complete respondents' scores are unchanged; a
    respondent missing an item is scored from the others, weights renormalised."""
    d = sat.copy()
    d.loc[3, "imag2"] = np.nan                      # IMAG: 4 of 5 answered
    d.loc[10, ["sat1", "sat2"]] = np.nan            # SAT: 2 of 4 answered, under 3
    base = pls(d, BLOCKS, PATHS, scale_range=(0, 10))
    res = pls(d, BLOCKS, PATHS, scale_range=(0, 10), min_items=3)
    for name in ("outer_model", "inner_model", "constructs", "scores"):
        pd.testing.assert_frame_equal(getattr(res, name), getattr(base, name))
    complete = base.index_scores.notna().all(axis=1)
    assert complete.sum() == 248
    pd.testing.assert_frame_equal(res.index_scores[complete], base.index_scores[complete])
    # by hand: IMAG of respondent 3 from imag1, imag3, imag4, imag5
    om = res.outer_model.set_index("item")
    items = [m for m in BLOCKS["IMAG"] if m != "imag2"]
    w = om.loc[items, "index_weight"].to_numpy()
    x = d.loc[3, items].to_numpy(float)
    assert res.index_scores.loc[3, "IMAG"] == pytest.approx(10 * (w @ x) / w.sum(), abs=1e-10)
    def full(row, lv):
        return 10 * d.loc[row, BLOCKS[lv]].to_numpy(float) @ om.loc[BLOCKS[lv],
                                                                    "index_weight"].to_numpy()

    assert res.index_scores.loc[3, "SAT"] == pytest.approx(full(3, "SAT"), abs=1e-10)
    assert np.isnan(res.index_scores.loc[10, "SAT"])             # 2 answered < min_items
    assert res.index_scores.loc[10, "IMAG"] == pytest.approx(full(10, "IMAG"), abs=1e-10)
    assert any("index scores also for 2 respondents" in n for n in res.notes)
    with pytest.raises(PLSError, match="min_items"):
        pls(d, BLOCKS, PATHS, scale_range=(0, 10), min_items={"IMAG": 2})


# ------------------------------------------------------------------------- bootstrap

def test_bootstrap_is_seeded_and_equals_refits(sat):
    w = _ref_weights(len(sat))
    kw = {"weights": w, "boot": 12, "tol": 1e-12, "scale_range": (0, 10)}
    a = pls(sat, BLOCKS, PATHS, seed=5, **kw)
    b = pls(sat, BLOCKS, PATHS, seed=np.random.default_rng(5), **kw)
    c = pls(sat, BLOCKS, PATHS, seed=6, **kw)
    pd.testing.assert_frame_equal(a.inner_model, b.inner_model)
    assert not np.allclose(a.inner_model["ci_low"], c.inner_model["ci_low"])
    # replicate 0 is the model refitted on the resampled respondents, with their weights
    draws = np.random.default_rng(5).integers(0, len(sat), size=(12, len(sat)),
                                              dtype=np.int32)
    idx = draws[0]
    refit = pls(sat.iloc[idx].reset_index(drop=True), BLOCKS, PATHS, weights=w[idx],
                tol=1e-12, scale_range=(0, 10))
    np.testing.assert_allclose(a.replicates["path"][0], refit.inner_model["estimate"],
                               atol=1e-9)
    np.testing.assert_allclose(a.replicates["weight"][0], refit.outer_model["weight"],
                               atol=1e-9)
    np.testing.assert_allclose(a.replicates["total"][0], refit.effects["total"], atol=1e-9)
    np.testing.assert_allclose(a.replicates["index"][0], refit.constructs["index"],
                               atol=1e-7)
    assert a.replicates["path"].shape == (12, len(a.inner_model))


def test_bootstrap_frames(ecsi):
    assert ecsi.boot == 200 and ecsi.boot_failed == 0
    im = ecsi.inner_model
    assert ((im["ci_low"] <= im["estimate"]) & (im["estimate"] <= im["ci_high"])).all()
    for frame, col in ((ecsi.outer_model, "loading_ci_low"), (ecsi.effects, "total_ci_high"),
                       (ecsi.constructs, "index_ci_low"), (ecsi.htmt, "htmt_ci_high"),
                       (ecsi.gof, "gof_ci_low")):
        assert col in frame
    cons = ecsi.constructs
    assert cons.loc[cons["type"] == "exogenous", "r2_ci_low"].isna().all()
    assert cons.loc[cons["type"] == "endogenous", "r2_ci_low"].notna().all()


def _composite_data(n: int, rng) -> tuple[pd.DataFrame, dict]:
    """Items from a composite model in which PLS (mode A) is consistent: each block of three
    equicorrelated items (r = .5) forms its construct with equal weights."""
    true = {("IMAG", "EXPE"): 0.5, ("EXPE", "QUAL"): 0.7, ("EXPE", "VAL"): 0.2,
            ("QUAL", "VAL"): 0.5, ("IMAG", "SAT"): 0.2, ("EXPE", "SAT"): 0.1,
            ("QUAL", "SAT"): 0.2, ("VAL", "SAT"): 0.4, ("IMAG", "LOY"): 0.3,
            ("SAT", "LOY"): 0.5}
    order = ["IMAG", "EXPE", "QUAL", "VAL", "SAT", "LOY"]
    eta = {}
    for c in order:
        pred = [f for (f, t) in true if t == c]
        if not pred:
            eta[c] = rng.normal(size=n)
            continue
        b = np.array([true[(f, c)] for f in pred])
        P = _implied(pred, true, order)       # model-implied correlations of the predecessors
        resid = np.sqrt(1 - b @ P @ b)
        eta[c] = sum(bi * eta[f] for bi, f in zip(b, pred, strict=True)) + rng.normal(
            scale=resid, size=n)
    Sig = np.full((3, 3), 0.5) + 0.5 * np.eye(3)
    wgt = np.ones(3) / np.sqrt(Sig.sum())
    lam = Sig @ wgt
    ev, V = np.linalg.eigh(Sig - np.outer(lam, lam))
    half = V * np.sqrt(np.clip(ev, 0, None))
    cols = {}
    for c in order:
        u = rng.normal(size=(n, 3)) @ half.T
        for i in range(3):
            cols[f"{c.lower()}{i + 1}"] = lam[i] * eta[c] + u[:, i]
    blocks = {c: [f"{c.lower()}{i + 1}" for i in range(3)] for c in order}
    return pd.DataFrame(cols), {"blocks": blocks, "true": true}


def _implied(pred, true, order):
    L = len(order)
    B = np.zeros((L, L))
    for (f, t), v in true.items():
        B[order.index(t), order.index(f)] = v
    # correlations of standardized constructs: solve sequentially
    R = np.eye(L)
    for i in range(1, L):
        b = B[i, :i]
        R[i, :i] = R[:i, :i] @ b
        R[:i, i] = R[i, :i]
    idx = [order.index(p) for p in pred]
    return R[np.ix_(idx, idx)]


def test_recovery_true_paths_inside_bootstrap_cis():
    """20 simulated surveys of 2,000 from a known composite path model; 200 bootstrap
    replicates each: the true paths fall inside the 95% CIs in >= 85% of the 200 checks."""
    rng = np.random.default_rng(20261201)
    hits = total = 0
    for rep in range(20):
        d, truth = _composite_data(2000, rng)
        paths = {}
        for f, t in truth["true"]:
            paths.setdefault(t, []).append(f)
        res = pls(d, truth["blocks"], paths, boot=200, seed=rep)
        im = res.inner_model.set_index(["from", "to"])
        for key, v in truth["true"].items():
            total += 1
            hits += bool(im.loc[key, "ci_low"] <= v <= im.loc[key, "ci_high"])
    assert total == 200
    assert hits / total >= 0.85, hits / total


# ------------------------------------------------------------------------- modes and signs

def test_sign_follows_the_majority_of_loadings(sat):
    a = pls(sat, BLOCKS, PATHS)
    flipped = sat.copy()
    for m in BLOCKS["LOY"]:
        flipped[m] = 10 - flipped[m]
    b = pls(flipped, BLOCKS, PATHS)
    np.testing.assert_allclose(b.outer_model["loading"], a.outer_model["loading"], atol=1e-10)
    np.testing.assert_allclose(b.outer_model["weight"], a.outer_model["weight"], atol=1e-10)
    to_loy = (a.inner_model["to"] == "LOY").to_numpy()
    np.testing.assert_allclose(b.inner_model["estimate"][to_loy],
                               -a.inner_model["estimate"][to_loy], atol=1e-10)
    np.testing.assert_allclose(b.scores["LOY"], -a.scores["LOY"], atol=1e-10)


def test_modes_spelling_and_one_item_block(sat):
    a = pls(sat, BLOCKS, PATHS, modes={"IMAG": "formative"})
    b = pls(sat, BLOCKS, PATHS, modes={"IMAG": "B"})
    pd.testing.assert_frame_equal(a.outer_model, b.outer_model)
    cons = a.constructs.set_index("construct")
    assert np.isnan(cons.loc["IMAG", "ave"]) and cons.loc["IMAG", "mode"] == "B"
    assert np.isnan(a.unidim.set_index("construct").loc["IMAG", "cronbach_alpha"])
    one = {**BLOCKS, "LOY": ["loy1"]}
    r = pls(sat, one, PATHS)
    assert r.outer_model.set_index("item").loc["loy1", "loading"] == pytest.approx(1.0)
    assert np.isnan(r.unidim.set_index("construct").loc["LOY", "cronbach_alpha"])
    assert np.isnan(r.htmt_matrix().loc["SAT", "LOY"])


# ------------------------------------------------------------------------- errors

@pytest.mark.parametrize("blocks, paths, kwargs, match", [
    ({**BLOCKS, "LOY": ["loy1", "nope"]}, PATHS, {}, "item.*not in the data: 'nope'"),
    (BLOCKS, {**PATHS, "LOY": ["SAT", "COMP"]}, {}, "'COMP' appear in paths but have no block"),
    (BLOCKS, {**PATHS, "IMAG": ["LOY"]}, {}, "cycle: IMAG -> LOY -> IMAG"),
    (BLOCKS, {**PATHS, "EXPE": ["IMAG", "SAT"]}, {}, "cycle: EXPE -> .*SAT -> EXPE"),
    (BLOCKS, {**PATHS, "SAT": ["SAT"]}, {}, "own predecessor"),
    ({**BLOCKS, "XTRA": ["gender"]}, PATHS, {}, "'XTRA' appear in no path"),
    ({**BLOCKS, "LOY": ["loy1", "sat1"]}, PATHS, {}, "'sat1' appears in blocks 'SAT' and 'LOY'"),
    (BLOCKS, PATHS, {"modes": {"SAT": "C"}}, "mode 'C'"),
    (BLOCKS, PATHS, {"modes": {"NOPE": "A"}}, "'NOPE'"),
    (BLOCKS, PATHS, {"scheme": "pathway"}, "scheme='pathway'"),
    (BLOCKS, PATHS, {"boot": 5}, "boot=5"),
    (BLOCKS, PATHS, {"max_iter": 2, "tol": 1e-30}, "did not converge within max_iter=2"),
    (BLOCKS, PATHS, {"labels": {"XX": "x"}}, "labels name 'XX'"),
    (BLOCKS, PATHS, {"scale_range": {"SAT": (0, 10)}}, "no range for item"),
])
def test_errors_name_the_problem(sat, blocks, paths, kwargs, match):
    with pytest.raises(PLSError, match=match):
        pls(sat, blocks, paths, **kwargs)


def test_error_constant_item_and_collinear_formative_block(sat):
    d = sat.assign(const=3.0, twice=sat["imag1"] * 2)
    with pytest.raises(PLSError, match=r"'const' \(block 'LOY'\) take one value"):
        pls(d, {**BLOCKS, "LOY": [*BLOCKS["LOY"], "const"]}, PATHS)
    with pytest.raises(PLSError, match="formative .* block 'IMAG'.*linearly dependent"):
        pls(d, {**BLOCKS, "IMAG": [*BLOCKS["IMAG"], "twice"]}, PATHS, modes={"IMAG": "B"})
    with pytest.raises(PLSError, match="non-numeric"):
        pls(sat, {**BLOCKS, "LOY": [*BLOCKS["LOY"], "gender"]}, PATHS)
    assert issubclass(PLSError, SurveykitError)


# ------------------------------------------------------------------------- results

def test_result_views(ecsi):
    text = ecsi.summary()
    assert "PLS path model (path scheme, standardized items; n = 250" in text
    assert "200 bootstrap replicates" in text and "GoF = " in text
    html = ecsi._repr_html_()
    assert "<table" in html and "Paths" in html
    long = ecsi.to_frame()
    assert set(long["kind"]) == {"path", "r2", "total_effect", "weight", "loading", "index",
                                 "htmt", "gof"}
    assert len(long[long["kind"] == "path"]) == 10
    assert long[long["kind"] == "path"]["ci_low"].notna().all()
    pc = ecsi.path_coefficients
    assert pc.loc["SAT", "VAL"] == pytest.approx(
        ecsi.inner_model.set_index(["from", "to"]).loc[("VAL", "SAT"), "estimate"])
    fig = ecsi.plot()
    assert isinstance(fig, Figure)
    arrows = [p for p in fig.axes[0].patches if isinstance(p, FancyArrowPatch)]
    assert len(arrows) == 10
    assert "bootstrap CI includes 0" in fig.axes[0].get_title(loc="left")


def test_path_chart_draws_the_model(ecsi):
    """The SVG path diagram: one arrow per path, in the model's order, pale when its
    bootstrap interval includes 0; each coefficient as printed, clear of the other
    coefficients and of every construct's box; each arrow ends at its target's box; R² under
    each endogenous construct."""
    import xml.etree.ElementTree as ET

    from surveykit.charts import label_boxes, labels_overlap
    from surveykit.charts._text import Box

    chart = ecsi.chart()
    root = ET.fromstring(chart.to_svg())
    cls = lambda c: [e for e in root.iter() if e.get("class") == c]  # noqa: E731
    im = ecsi.inner_model
    sig = ((im["ci_low"] > 0) | (im["ci_high"] < 0)).tolist()
    paths = cls("skc-path")
    assert [p.get("data-path") for p in paths] == [f"{a} -> {b}" for a, b in
                                                   zip(im["from"], im["to"], strict=True)]
    assert [p.get("opacity") for p in paths] == ["1" if s else "0.45" for s in sig]
    shown = label_boxes(chart)
    assert [t for t, _ in shown] == [f"{e:.2f}" + ("" if s else " (ns)")
                                     for e, s in zip(im["estimate"], sig, strict=True)]
    assert labels_overlap(chart) == []
    boxes = {}
    for rect, name in zip(cls("skc-construct"), ecsi.spec.constructs, strict=True):
        x, y, w, h = (float(rect.get(k)) for k in ("x", "y", "width", "height"))
        boxes[name] = Box(x, y, x + w, y + h)
    assert not [t for t, b in shown if any(b.overlaps(r) for r in boxes.values())]
    for group, target in zip(paths, im["to"], strict=True):
        tip = [float(v) for v in group.find("{http://www.w3.org/2000/svg}polygon")
               .get("points").split()[0].split(",")]
        near = boxes[target].expanded(1.08, 1.15)
        assert near.x0 <= tip[0] <= near.x1 and near.y0 <= tip[1] <= near.y1, target
    r2 = ecsi.constructs.set_index("construct")["r2"][sorted(set(im["to"]))]   # endogenous
    assert sorted(e.text for e in cls("skc-r2")) == sorted(f"R² = {v:.2f}" for v in r2)
    assert chart.summary() == f"{chart.title} (6 constructs, 10 paths)"


def test_path_chart_keeps_long_names_apart_inside_their_boxes(ecsi):
    """Long construct names that differ only at their end (as questionnaires write them)
    stay apart: each is written whole, on up to three lines and smaller if need be, inside
    its box (they used to be cut at 30 characters, all to the same text)."""
    import xml.etree.ElementTree as ET

    from surveykit.charts import label_boxes

    labels = {c: f"Customer satisfaction with the service of the company, {c.lower()}"
              for c in ecsi.spec.constructs}
    chart = ecsi.chart(labels=labels)
    names = label_boxes(chart, cls="skc-node")
    assert [t.replace("\n", " ") for t, _ in names] == [labels[c] for c in ecsi.spec.constructs]
    root = ET.fromstring(chart.to_svg())
    rects = [e for e in root.iter() if e.get("class") == "skc-construct"]
    for (text, box), rect in zip(names, rects, strict=True):
        x, y, w, h = (float(rect.get(k)) for k in ("x", "y", "width", "height"))
        assert x <= box.x0 and box.x1 <= x + w and y <= box.y0 and box.y1 <= y + h, text
    r2 = label_boxes(chart, cls="skc-r2")
    assert len(r2) == 5 and not any(a.overlaps(b) for _, a in r2 for _, b in names)
    # the matplotlib diagram's smaller boxes cut the names, but keep their ends apart
    ax = ecsi.plot(labels=labels).axes[0]
    shown = [t.get_text() for t in ax.texts if t.get_fontweight() == "bold"]
    assert len(shown) == 6 and len(set(shown)) == 6
    assert all(s.endswith(c.lower()) for s, c in zip(shown, ecsi.spec.constructs, strict=True))


def test_ipma(ecsi):
    ip = ecsi.ipma()
    assert ip.target == "LOY"
    t = ip.table.set_index("construct")
    ef = ecsi.effects[ecsi.effects["to"] == "LOY"].set_index("from")
    np.testing.assert_allclose(t["total_effect"], ef.loc[t.index, "total"])
    sd = ecsi.index_scores.std(ddof=0)
    np.testing.assert_allclose(t["total_effect_unstd"],
                               t["total_effect"] * sd["LOY"] / sd[t.index], rtol=1e-10)
    np.testing.assert_allclose(t["performance"], ecsi.index_scores.mean()[t.index])
    assert {"total_effect_ci_low", "performance_ci_high"} <= set(t.columns)
    assert ip.act_here == ["SAT"]
    fig = ip.plot()
    assert fig.axes[0].get_xlabel() == "total effect on LOY (standardized)"
    _ipma_chart_draws_the_table(ip)
    un = ecsi.ipma("SAT", importance="total_effect_unstd", cuts=(0.4, 72))
    assert un.importance_cut == 0.4 and set(un.table["construct"]) == {"IMAG", "EXPE",
                                                                       "QUAL", "VAL"}
    _ipma_chart_draws_the_table(un)
    with pytest.raises(PLSError, match="exogenous"):
        ecsi.ipma("IMAG")
    two = pls(pd.read_csv(FIX / "satisfaction.csv"), BLOCKS,
              dict.fromkeys(["EXPE", "QUAL", "VAL", "SAT", "LOY"], ["IMAG"]))
    with pytest.raises(PLSError, match="several constructs have no successor"):
        two.ipma()


def _ipma_chart_draws_the_table(ip):
    """The SVG map puts each construct at its total effect (linear axis) and index score,
    coloured by its quadrant, with its bootstrap whiskers from CI low to high."""
    import xml.etree.ElementTree as ET

    from surveykit.charts import QUADRANT_COLORS, labels_overlap

    chart = ip.chart()
    root = ET.fromstring(chart.to_svg())
    cls = lambda c: [e for e in root.iter() if e.get("class") == c]  # noqa: E731
    xt = [(float(e.get("data-value")), float(e.get("x"))) for e in cls("skc-tick")]
    yt = list(zip([float(e.get("data-value")) for e in cls("skc-ytick")],  # y grid in order
                  [float(e.get("y1")) for e in cls("skc-ygrid")], strict=True))
    (a0, x0), (a1, x1) = xt[0], xt[-1]
    (b0, y0), (b1, y1) = yt[0], yt[-1]
    at_x = lambda v: x0 + (v - a0) / (a1 - a0) * (x1 - x0)  # noqa: E731
    at_y = lambda v: y0 + (v - b0) / (b1 - b0) * (y1 - y0)  # noqa: E731
    t = ip.table
    pts = cls("skc-point")
    assert [float(p.get("cx")) for p in pts] == pytest.approx(
        [at_x(v) for v in t[ip.importance]], abs=0.1)
    assert [float(p.get("cy")) for p in pts] == pytest.approx(
        [at_y(v) for v in t["performance"]], abs=0.1)
    assert [p.get("fill") for p in pts] == [QUADRANT_COLORS[q] for q in t["quadrant"]]
    ci = cls("skc-ci")
    has_ci = f"{ip.importance}_ci_low" in t       # whiskers as the matplotlib map draws them
    assert len(ci) == (2 * len(t) if has_ci else 0)
    for i in range(len(t) if has_ci else 0):
        across, up = ci[2 * i], ci[2 * i + 1]
        assert [float(across.get("x1")), float(across.get("x2"))] == pytest.approx(
            [at_x(t[f"{ip.importance}_ci_low"].iloc[i]),
             at_x(t[f"{ip.importance}_ci_high"].iloc[i])], abs=0.1)
        assert [float(up.get("y1")), float(up.get("y2"))] == pytest.approx(
            [at_y(t["performance_ci_low"].iloc[i]), at_y(t["performance_ci_high"].iloc[i])],
            abs=0.1)
    assert [e.text for e in cls("skc-xlabel")] == [ip.plot().axes[0].get_xlabel()]
    assert labels_overlap(chart) == []
    assert chart.summary() == f"{chart.title} ({len(t)} constructs)"   # not "drivers"


# ------------------------------------------------------------------------- questionnaire

QYAML = """
id: mini
title: Mini satisfaction index
scales:
  s10:
    codes: {1: Poor, 2: '2', 3: '3', 4: '4', 5: '5', 6: '6', 7: '7', 8: '8', 9: '9',
            10: Excellent}
    missing: {99: Don't know}
questions:
  - id: gq
    type: grid
    text: Quality
    scale: s10
    items: [{id: q1, text: A}, {id: q2, text: B}, {id: q3, text: C, reverse: true}]
  - id: gs
    type: grid
    text: Satisfaction
    scale: s10
    items: [{id: s1, text: D}, {id: s2, text: E}, {id: s3, text: F}]
constructs:
  - {id: QUAL, label: Perceived quality, items: [q1, q2, q3]}
  - {id: SAT, label: Satisfaction, items: [s1, s2, s3], reverse: [s3]}
paths:
  SAT: [QUAL]
"""


def test_pls_from_questionnaire_applies_reverse_keys_missing_codes_and_ranges():
    q = questionnaire_from_text(QYAML)
    rng = np.random.default_rng(11)
    n = 400
    f = rng.normal(size=n)
    g = 0.6 * f + 0.8 * rng.normal(size=n)

    def item(z):
        return np.clip(np.round(6 + 1.8 * z + rng.normal(size=n)), 1, 10)

    d = pd.DataFrame({"q1": item(f), "q2": item(f), "q3": 11 - item(f),
                      "s1": item(g), "s2": item(g), "s3": 11 - item(g)})
    d.loc[[0, 5], "q2"] = 99
    before = d.copy()
    res = pls_from_questionnaire(d, q, boot=20)
    pd.testing.assert_frame_equal(d, before)
    manual = d.replace(99, np.nan).assign(q3=11 - d["q3"], s3=11 - d["s3"])
    ref = pls(manual, {"QUAL": ["q1", "q2", "q3"], "SAT": ["s1", "s2", "s3"]},
              {"SAT": ["QUAL"]}, scale_range=(1, 10), min_items={"QUAL": 2, "SAT": 2})
    pd.testing.assert_frame_equal(res.outer_model[ref.outer_model.columns], ref.outer_model)
    pd.testing.assert_frame_equal(res.index_scores, ref.index_scores)
    assert res.index_scores.loc[[0, 5]].notna().all().all()   # 2 of 3 items: scored
    assert res.n == n - 2 and (res.outer_model["loading"] > 0.7).all()
    assert res.constructs["label"].tolist() == ["Perceived quality", "Satisfaction"]
    assert not any("scale_range not given" in note for note in res.notes)
    assert res.scheme == "path" and (res.outer_model["mode"] == "A").all()
    with pytest.raises(PLSError, match="paths cannot be passed: the model is declared"):
        pls_from_questionnaire(d, q, paths={"SAT": ["QUAL"]})


def test_pls_from_questionnaire_reads_modes_and_scheme_and_needs_paths():
    text = QYAML.replace("reverse: [s3]}", "reverse: [s3], mode: B}") + "path_scheme: centroid\n"
    q = questionnaire_from_text(text)
    rng = np.random.default_rng(5)
    f = rng.normal(size=300)
    g = 0.5 * f + rng.normal(size=300)
    d = pd.DataFrame({c: np.clip(np.round(6 + 2 * (f if c[0] == "q" else g)
                                          + rng.normal(size=300)), 1, 10)
                      for c in ["q1", "q2", "q3", "s1", "s2", "s3"]})
    res = pls_from_questionnaire(d, q)
    manual = d.assign(q3=11 - d["q3"], s3=11 - d["s3"])
    ref = pls(manual, {"QUAL": ["q1", "q2", "q3"], "SAT": ["s1", "s2", "s3"]},
              {"SAT": ["QUAL"]}, modes={"SAT": "B"}, scheme="centroid", scale_range=(1, 10))
    assert res.scheme == "centroid"
    assert res.outer_model.set_index("item")["mode"].to_dict() == {
        "q1": "A", "q2": "A", "q3": "A", "s1": "B", "s2": "B", "s3": "B"}
    np.testing.assert_allclose(res.outer_model["weight"], ref.outer_model["weight"], atol=1e-12)
    np.testing.assert_allclose(res.inner_model["estimate"], ref.inner_model["estimate"],
                               atol=1e-12)
    q0 = questionnaire_from_text(QYAML.split("paths:")[0])
    with pytest.raises(PLSError, match="declares no path model; add a paths: block"):
        pls_from_questionnaire(d, q0)


@pytest.mark.parametrize("paths, line, fragment", [
    ("  SAT: [QUAL, SAT]\n", 24, "'SAT' is listed as its own predecessor"),
    ("  SAT: [QUAL]\n  QUAL: [SAT]\n", 24, "cycle: QUAL -> SAT -> QUAL; a PLS path model"),
    ("  SAT: [QUALITY]\n", 24, "unknown construct 'QUALITY' (did you mean 'QUAL'?)"),
    ("  SAT: [gq]\n", 24, "'gq' is a grid, not a construct; a path model joins constructs"),
    ("  SAT: [q1]\n", 24, "'q1' is a grid item, not a construct"),
    ("  SAT: []\n", 23, "paths declares no endogenous construct"),
    ("  SAT: [QUAL]\n  QUAL: []\n", 25, "'QUAL' lists no predecessors"),
])
def test_questionnaire_paths_errors_are_located(paths, line, fragment):
    from surveykit.errors import QuestionnaireError

    text = QYAML.replace("paths:\n  SAT: [QUAL]\n", "paths:\n" + paths)
    with pytest.raises(QuestionnaireError) as err:
        questionnaire_from_text(text, source="mini.yaml")
    shown = str(err.value)
    assert fragment in shown, shown
    assert f"mini.yaml:line {line}:" in shown.split(fragment)[0].splitlines()[-1], shown


def test_questionnaire_paths_refuse_shared_items_and_stray_formative_mode():
    from surveykit.errors import QuestionnaireError

    text = QYAML.replace("items: [s1, s2, s3], reverse: [s3]}",
                         "items: [s1, s2, q2], mode: B}")
    with pytest.raises(QuestionnaireError, match="'q2' measures both 'QUAL' and 'SAT'"):
        questionnaire_from_text(text)
    text = QYAML.replace("paths:\n  SAT: [QUAL]\n", "").replace(
        "reverse: [s3]}", "reverse: [s3], mode: B}")
    with pytest.raises(QuestionnaireError, match="'SAT' is formative .* but in no path"):
        questionnaire_from_text(text)


def test_engine_counts_are_resamples():
    c = eng.boot_counts(np.random.default_rng(0), 4, 30)
    assert c.shape == (4, 30) and (c.sum(axis=1) == 30).all()


def test_reliability_table_of_a_questionnaire_leaves_formative_constructs_out():
    from surveykit.errors import MeasurementError
    from surveykit.measurement import reliability_table
    from surveykit.measurement.reliability import FORMATIVE

    q = questionnaire_from_text(QYAML.replace("reverse: [s3]}", "reverse: [s3], mode: B}"))
    rng = np.random.default_rng(3)
    f = rng.normal(size=300)
    d = pd.DataFrame({c: np.clip(np.round(6 + 2 * f + rng.normal(size=300)), 1, 10)
                      for c in ["q1", "q2", "q3", "s1", "s2", "s3"]})
    t = reliability_table(d, q)
    assert t["construct"].tolist() == ["QUAL"] and t["label"].tolist() == ["Perceived quality"]
    assert t.attrs["left_out"] == {"SAT": FORMATIVE}
    ref = reliability_table(d, {"QUAL": ["q1", "q2", "q3"]}, reverse=["q3"], scale_range=(1, 10))
    assert t["alpha"].iloc[0] == pytest.approx(ref["alpha"].iloc[0], abs=1e-12)
    both = questionnaire_from_text(QYAML.replace("reverse: [s3]}", "reverse: [s3], mode: B}")
                                   .replace("items: [q1, q2, q3]}", "items: [q1, q2, q3], "
                                            "mode: B}"))
    with pytest.raises(MeasurementError, match="every construct of questionnaire 'mini' is "
                                               "formative"):
        reliability_table(d, both)
