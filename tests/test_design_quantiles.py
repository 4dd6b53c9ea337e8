"""Design quantiles and calibrated designs against R survey.

References: tests/fixtures/r_design/make_fixtures_quantiles_calibration.R (R survey 4.x on
the committed api samples): svyquantile (qrule "math", Woodruff and replicate intervals)
overall and in stype domains on apiclus1, apistrat, apiclus2 and JK1 replicates of
apiclus1; calibrate() (linear and raking) of apiclus1 and of its JK1 replicates with
svymean / svytotal / svyby / svyquantile. The tests never need R.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from surveykit.design import CalibratedDesign, SurveyDesign, calibrate, quantile, total
from surveykit.errors import DesignError
from surveykit.estimates import compare, estimate

FIX = Path(__file__).parent / "fixtures" / "r_design"
TOL = 1e-8
STYPE = {"E": 4421, "H": 755, "M": 1018}
LINEAR = {"totals": {"stype": STYPE, "api99": 3914069}}
RAKING = {"totals": {"stype": STYPE, "sch_wide": {0: 1072, 1: 5122}}, "calfun": "raking"}


@pytest.fixture(scope="module")
def api():
    return {k: pd.read_csv(FIX / f"{k}.csv") for k in ("apiclus1", "apistrat", "apiclus2")}


@pytest.fixture(scope="module")
def designs(api):
    c1, st, c2 = api["apiclus1"], api["apistrat"], api["apiclus2"]
    clus1 = SurveyDesign(c1, ids="dnum", weights="pw", fpc="fpc")
    return {"clus1": (c1, clus1),
            "strat": (st, SurveyDesign(st, strata="stype", weights="pw", fpc="fpc")),
            "clus2": (c2, SurveyDesign(c2, ids=["dnum", "snum"], fpc=["fpc1", "fpc2"])),
            "jk1": (c1, clus1.as_replicate("JK1"))}


def _close(got, want, rtol=TOL):
    np.testing.assert_allclose(np.asarray(got, float), np.asarray(want, float), rtol=rtol,
                               atol=0, equal_nan=True)


INTERVAL = {"mean": "woodruff", "quantile": "replicate"}
REF_Q = pd.read_csv(FIX / "quantiles.csv")
CASES = sorted({(d, i, b if isinstance(b, str) else "") for d, i, b in
                REF_Q[["design", "interval", "by"]].itertuples(index=False)})


@pytest.mark.parametrize(("name", "interval", "by"), CASES)
def test_quantiles_match_r_svyquantile(designs, name, interval, by):
    df, d = designs[name]
    ref = REF_Q[(REF_Q.design == name) & (REF_Q.interval == interval)
                & (REF_Q["by"].fillna("") == by)]
    got = quantile(df, ["api00", "enroll"], design=d, probs=[0.25, 0.5, 0.75], by=by or None,
                   interval=INTERVAL[interval])
    key = ["variable", "p"] + (["group"] if by else [])
    m = ref.merge(got, on=key, suffixes=("_r", ""), validate="one_to_one")
    assert len(m) == len(ref) == len(got)
    for c in ("estimate", "se", "ci_low", "ci_high", "df"):
        _close(m[c], m[f"{c}_r"])
    assert (got["stat"] == "quantile").all()
    assert "Woodruff" in got.attrs["interval"] or interval == "quantile"


def test_quantile_rule_by_hand_and_bad_input(designs):
    df = pd.DataFrame({"y": [5.0, 1, 3, np.nan, 2], "w": [1.0, 1, 2, 1, 0], "psu": range(5)})
    d = SurveyDesign(df, ids="psu", weights="w")
    # answered with weight > 0: 1 (w 1), 3 (w 2), 5 (w 1); W = 4; cumulative 1, 3, 4
    q = quantile(df, "y", design=d, probs=[0.25, 0.5, 0.75, 0.8, 1.0])
    # p W = 1 hits C_1 exactly -> 1; 2 -> 3; 3 hits C_2 -> 3; 3.2 -> 5; 4 -> 5
    assert q["estimate"].tolist() == [1.0, 3.0, 3.0, 5.0, 5.0]
    assert q["n"].tolist() == [3] * 5
    # R's rule returns the second smallest answer when p W is below the first weight
    assert quantile(df, "y", design=d, probs=0.1)["estimate"].iloc[0] == 3.0
    with pytest.raises(DesignError, match="probs"):
        quantile(df, "y", design=d, probs=1.5)
    with pytest.raises(DesignError, match="ReplicateDesign"):
        quantile(df, "y", design=d, interval="replicate")
    with pytest.raises(DesignError, match="interval"):
        quantile(df, "y", design=d, interval="beta")
    before = df.copy()
    quantile(df, "y", design=d)
    pd.testing.assert_frame_equal(df, before)


# ------------------------------------------------------------------ calibrated designs
REF_C = pd.read_csv(FIX / "calibrated.csv")


@pytest.fixture(scope="module")
def calibrated(api, designs):
    c1, d = designs["clus1"]
    jk = designs["jk1"][1]
    return {"clus1_linear": calibrate(c1, design=d, **LINEAR),
            "clus1_raking": calibrate(c1, design=d, **RAKING),
            "jk1_linear": calibrate(c1, design=jk, **LINEAR),
            "jk1_raking": calibrate(c1, design=jk, **RAKING)}


def test_calibrated_weights_match_r(api, calibrated):
    w = pd.read_csv(FIX / "calibrated_weights.csv")
    _close(calibrated["clus1_linear"].weights, w["linear"], 1e-10)
    _close(calibrated["clus1_raking"].weights, w["raking"], 1e-10)
    assert isinstance(calibrated["clus1_linear"], CalibratedDesign)
    assert "raking calibration" in calibrated["clus1_raking"].method


def _ours(c1, des):
    rows = []
    m = estimate(c1, "api00", design=des)
    rows.append(("mean", "api00", "", m.estimate[0], m.se[0], m.df[0]))
    t = total(c1, ["enroll", "api99"], design=des)
    for i, v in enumerate(["enroll", "api99"]):
        rows.append(("total", v, "", t.estimate[i], t.se[i], np.nan))
    p = estimate(c1, "stype_code", stat="proportion", design=des)
    for i in range(3):
        rows.append(("proportion", "stype", str(i + 1), p.estimate[i], p.se[i], np.nan))
    b = estimate(c1, "api00", by="awards_yes", design=des).sort_values("group")
    for g, e, s in zip(b.group, b.estimate, b.se, strict=True):
        rows.append(("mean", "api00", str(g), e, s, np.nan))
    b = total(c1, "enroll", by="awards_yes", design=des).sort_values("group")
    for g, e, s in zip(b.group, b.estimate, b.se, strict=True):
        rows.append(("total", "enroll", str(g), e, s, np.nan))
    q = quantile(c1, "api00", design=des)
    rows.append(("median", "api00", "", q.estimate[0], q.se[0], q.df[0]))
    return pd.DataFrame(rows, columns=["stat", "variable", "group", "estimate", "se", "df"])


@pytest.mark.parametrize("name", ["clus1_linear", "clus1_raking", "jk1_linear", "jk1_raking"])
def test_calibrated_designs_match_r_calibrate(api, calibrated, name):
    ref = REF_C[REF_C.design == name].reset_index(drop=True)
    got = _ours(api["apiclus1"], calibrated[name])
    assert got[["stat", "variable"]].values.tolist() == ref[["stat", "variable"]].values.tolist()
    _close(got["estimate"], ref["estimate"])
    # a calibrated total or share has SE 0 up to rounding (R: 1e-11 on 3.9e6 / 1e-17)
    exact = ref["se"].abs() < 1e-6 * ref["estimate"].abs()
    _close(got.loc[~exact, "se"], ref.loc[~exact, "se"])
    assert (got.loc[exact, "se"].abs() < 1e-6 * got.loc[exact, "estimate"].abs()).all()
    _close(got["df"], ref["df"])


def test_calibrated_design_compare_and_variance_agree(api, calibrated):
    c1 = api["apiclus1"]
    d = calibrated["clus1_linear"]
    # variance() of a mean's influence values equals estimate()'s SE
    y = c1["api00"].to_numpy(float)
    w = d.weights
    m = (w @ y) / w.sum()
    se = np.sqrt(d.variance(w * (y - m) / w.sum())[0, 0])
    assert se == pytest.approx(estimate(c1, "api00", design=d)["se"].iloc[0], rel=1e-10)
    # the design-based test between domains runs on the calibrated design
    r = compare(c1, "api00", by="awards_yes", design=d)
    assert np.isfinite(r.filter(like="p").to_numpy(float)).any()


def test_calibrate_refuses_bad_totals(api, designs):
    c1, d = designs["clus1"]
    with pytest.raises(DesignError, match="no count"):
        calibrate(c1, design=d, totals={"stype": {"E": 4421, "H": 755}})
    with pytest.raises(DesignError, match="sum to"):
        calibrate(c1, design=d, totals={"stype": STYPE, "sch_wide": {0: 1, 1: 2}})
    with pytest.raises(DesignError, match="size="):
        calibrate(c1, design=d, totals={"api99": 3914069})
    with pytest.raises(DesignError, match="calfun"):
        calibrate(c1, design=d, totals={"stype": STYPE}, calfun="logit")
    cal = calibrate(c1, design=d, **LINEAR)
    with pytest.raises(DesignError, match="calibrated already"):
        calibrate(c1, design=cal, **LINEAR)
    with pytest.raises(DesignError, match="replicate"):
        cal.as_replicate("JK1")
