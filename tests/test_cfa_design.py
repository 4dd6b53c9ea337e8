"""cfa(design=): cluster-robust sandwich SEs and scaled chi-square against R lavaan's
``cluster=`` (fixture made by tests/fixtures/r_lavaan/make_cluster_fixtures.R), strata and
fpc as R survey's svyrecvar, and replicate-weight refits (issue 13, item 2)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from surveykit.design import SurveyDesign
from surveykit.errors import MeasurementError, SurveykitWarning
from surveykit.measurement import _cfa_fit as C
from surveykit.measurement import cfa

FIX = Path(__file__).parent / "fixtures" / "r_lavaan"
REF = json.loads((FIX / "lavaan_cluster.json").read_text())
MODEL = {"A": ["x1", "x2", "x3"], "B": ["x4", "x5", "x6"]}


@pytest.fixture(scope="module")
def data():
    return pd.read_csv(FIX / "clustered.csv")


def _lavaan_order(se: np.ndarray) -> np.ndarray:
    """Ours: 6 loadings, A~~B, 6 residual variances; lavaan's: loadings, residuals, A~~B."""
    return np.concatenate([se[:6], se[7:], se[6:7]])


@pytest.mark.parametrize("key, w", [("weighted", "w"), ("unweighted", None)])
def test_cluster_robust_cfa_matches_lavaan_cluster(data, key, w):
    ref = REF[key]
    res = cfa(data, MODEL, design=SurveyDesign(data, ids="psu", weights=w))
    np.testing.assert_allclose(res.loadings["estimate"], ref["est"][:6], atol=1e-6)
    np.testing.assert_allclose(_lavaan_order(res._se), ref["se"], atol=1e-6, rtol=1e-6)
    for k in ("chisq", "chisq.scaled", "chisq.scaling.factor", "tli.robust"):
        assert res.fit[k.replace(".", "_")] == pytest.approx(ref["fit"][k], rel=1e-6), k
    assert res.fit["cfi_robust"] == ref["fit"]["cfi.robust"]
    assert res.fit["rmsea_robust"] == ref["fit"]["rmsea.robust"]
    assert res.estimator == "MLR" and res.se_method.startswith("cluster-robust sandwich")
    assert "Standard errors: cluster-robust sandwich" in res.summary()


def test_one_respondent_per_cluster_is_mlr_times_n_over_n_minus_1(data):
    """No strata, every respondent its own PSU: the meat is svyrecvar's n/(n-1) times the
    plain MLR meat (lavaan's cluster= applies the same nC/(nC-1))."""
    n = len(data)
    plain = cfa(data, MODEL, weights="w")
    for ids in (None, np.arange(n)):
        res = cfa(data, MODEL, design=SurveyDesign(data, ids=ids, weights="w"))
        np.testing.assert_allclose(res._se, plain._se * np.sqrt(n / (n - 1)), rtol=1e-9)
        np.testing.assert_allclose(res.loadings["estimate"], plain.loadings["estimate"])
    assert plain.se_method == "robust sandwich (Huber-White), as lavaan's MLR"


def test_strata_and_fpc_follow_svyrecvar(data):
    """Strata: PSU totals of the weighted scores centred within strata times n_h/(n_h-1)
    (hand-computed); an fpc of the same fraction f everywhere multiplies the variance by
    1 - f."""
    d = data.assign(h=(data["psu"] - 1) // 20)          # 3 strata of 20 PSUs
    res = cfa(d, MODEL, design=SurveyDesign(d, ids="psu", strata="h", weights="w"))
    g = d.groupby("psu")["h"].first()

    def meat(Z):
        T = pd.DataFrame(Z).groupby(d["psu"].to_numpy()).sum()
        out = 0.0
        for _, Th in T.groupby(g.loc[T.index].to_numpy()):
            D = Th.to_numpy() - Th.to_numpy().mean(axis=0)
            out = out + D.T @ D * len(Th) / (len(Th) - 1)
        return out

    full = cfa(d, MODEL, weights="w")
    X = d[sum(MODEL.values(), [])].to_numpy(float)
    w = d["w"].to_numpy(float)
    mu = w @ X / w.sum()
    S = ((X - mu) * w[:, None]).T @ (X - mu) / w.sum()
    pattern = np.array([[1, 0]] * 3 + [[0, 1]] * 3, dtype=bool)
    t = np.concatenate([full.loadings["estimate"], [full.factor_cor.iloc[0, 1]],
                        full.residual_var])
    hand = np.sqrt(np.diag(C._cfa_sandwich(t, X, w, S, pattern, meat)))
    np.testing.assert_allclose(res._se, hand, rtol=1e-6)
    assert not np.allclose(res._se, cfa(d, MODEL, design=SurveyDesign(
        d, ids="psu", weights="w"))._se, rtol=1e-3)          # strata do change the SEs
    f = 0.3
    fpc = cfa(d, MODEL, design=SurveyDesign(d, ids="psu", strata="h", weights="w",
                                            fpc=np.full(len(d), f)))
    np.testing.assert_allclose(fpc._se, res._se * np.sqrt(1 - f), rtol=1e-9)
    assert "stratified with fpc" in fpc.se_method


def test_replicate_design_refits_every_replicate(data):
    """JK1 replicates of the cluster design: the SEs are the JK1 variance of the model
    refitted with every replicate weight (by hand: cfa(weights=replicate column)), and
    near the linearisation SEs."""
    lin = SurveyDesign(data, ids="psu", weights="w")
    rep = lin.as_replicate("JK1")
    res = cfa(data, MODEL, design=rep)
    R = rep.n_replicates
    W = rep.replicate_weights()
    with warnings.catch_warnings():                      # rows of the deleted PSU: weight 0
        warnings.simplefilter("ignore", SurveykitWarning)
        th = np.array([cfa(data.assign(wr=W[:, r]), MODEL, weights="wr")
                       .loadings["estimate"].to_numpy() for r in range(R)])
    hand = np.sqrt((R - 1) / R * ((th - th.mean(axis=0)) ** 2).sum(axis=0))
    np.testing.assert_allclose(res.loadings["se"], hand, rtol=1e-6)
    np.testing.assert_allclose(res.loadings["se"], cfa(data, MODEL, design=lin).loadings["se"],
                               rtol=0.15)
    assert res.se_method.startswith("model refitted with every replicate weight")
    assert "JK1" in res.se_method and "chisq_scaled" in res.fit


def test_design_input_errors(data):
    des = SurveyDesign(data, ids="psu", weights="w")
    with pytest.raises(MeasurementError, match="leave weights= out"):
        cfa(data, MODEL, design=des, weights="w")
    with pytest.raises(MeasurementError, match="estimator='MLR'"):
        cfa(data, MODEL, design=des, estimator="ML")
    with pytest.raises(MeasurementError, match="SurveyDesign or ReplicateDesign"):
        cfa(data, MODEL, design="psu")
    with pytest.raises(MeasurementError):
        cfa(data.iloc[:100], MODEL, design=des)
    before = data.copy()
    cfa(data, MODEL, design=des)
    pd.testing.assert_frame_equal(data, before)
