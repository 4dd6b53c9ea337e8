"""One result API for every result object (issue 12, item 4).

Each result class of the package is built here on the demo survey or on tiny data, and
must offer ``summary()`` as text, ``to_frame()`` as a DataFrame, ``_repr_html_()`` with a
table, and a short one- or two-line ``repr``.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from surveykit.plots import ChartFigure  # noqa: E402
from surveykit.survey import Survey  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
Q = ROOT / "questionnaires" / "pc_customers.yaml"
DATA = ROOT / "data" / "demo" / "responses.csv"
TARGETS = ROOT / "data" / "demo" / "targets.yaml"
CODEFRAME = ROOT / "questionnaires" / "pc_customers.codeframe.yaml"


@pytest.fixture(scope="module")
def survey() -> Survey:
    return Survey.from_files(Q, DATA, targets=TARGETS)


def _factor_data(n: int = 300, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(n, 2))
    d = pd.DataFrame({f"x{i}": f[:, i // 3] + rng.normal(size=n) for i in range(6)})
    d["y"] = d.x0 + 0.5 * d.x3 + rng.normal(size=n)
    return d


# -- one builder per result class ----------------------------------------------------------
def _check(s):
    from surveykit.responses import check_responses, read_responses

    return check_responses(s.questionnaire, read_responses(DATA, s.questionnaire))


def _weighting(s):
    return s.weighting


def _simulation(s):
    from surveykit.simulate import simulate

    return simulate(s.questionnaire, n=200, seed=1)


def _drivers(s):
    from surveykit.drivers import key_drivers

    return s.apply(key_drivers, "overall_sat", s.questionnaire.roles.drivers[:4], by="segment")


def _ipa(s):
    from surveykit.drivers import importance_performance

    return s.apply(importance_performance, "overall_sat", s.questionnaire.roles.drivers[:4])


def _reliability(s):
    from surveykit.measurement import reliability

    return reliability(_factor_data(), ["x0", "x1", "x2"])


def _kmo(s):
    from surveykit.measurement import kmo

    return kmo(_factor_data(), [f"x{i}" for i in range(6)])


def _bartlett(s):
    from surveykit.measurement import bartlett

    return bartlett(_factor_data(), [f"x{i}" for i in range(6)])


def _parallel(s):
    from surveykit.measurement import parallel_analysis

    return parallel_analysis(_factor_data(), [f"x{i}" for i in range(6)])


def _efa(s):
    from surveykit.measurement import efa

    return efa(_factor_data(), [f"x{i}" for i in range(6)], 2)


def _cfa(s):
    from surveykit.measurement import cfa

    return cfa(_factor_data(), {"A": ["x0", "x1", "x2"], "B": ["x3", "x4", "x5"]})


def _pls(s):
    from surveykit.pls import pls

    d = _factor_data()
    return pls(d, {"A": ["x0", "x1", "x2"], "B": ["x3", "x4", "x5"]}, {"B": ["A"]})


def _ipma(s):
    return _pls(s).ipma("B")


def _banner(s):
    from surveykit.tables import banner

    return banner(s.data, ["overall_sat"], "segment", weights=s.weights,
                  questionnaire=s.questionnaire)


def _segments(s):
    from surveykit.segments import needs_segments

    return needs_segments(_factor_data(), [f"x{i}" for i in range(6)], 2)


def _clv(s):
    from surveykit.crm import clv

    return clv(pd.read_csv(ROOT / "data" / "demo" / "crm.csv"))


def _crm_match(s):
    from surveykit.crm import match_crm
    from surveykit.responses import read_responses

    return match_crm(read_responses(DATA, s.questionnaire),
                     pd.read_csv(ROOT / "data" / "demo" / "crm.csv"), pii=["email", "phone"])


def _codeframe(s):
    from surveykit.text import load_codeframe

    return load_codeframe(CODEFRAME)


def _coded(s):
    from surveykit.text import code_text

    d = pd.DataFrame({"pain_text": ["Battery drains fast and the FAN is loud", "n/a",
                                    "too expensive", None]})
    return code_text(d, "pain_text", _codeframe(s))


def _shares(s):
    from surveykit.text import theme_shares

    d = pd.DataFrame({"pain_text": ["battery dies", "too expensive", "battery", "ok"],
                      "seg": [1, 1, 2, 2]})
    return theme_shares(d, "pain_text", _codeframe(s), by="seg")


def _impact(s):
    from surveykit.text import theme_impact

    rng = np.random.default_rng(0)
    d = pd.DataFrame({"a": rng.integers(0, 2, 400), "b": rng.integers(0, 2, 400)})
    d["sat"] = 7 - 2 * d["a"] + rng.normal(0, 1, 400)
    return theme_impact(d, "sat", ["a", "b"])


def _agreement(s):
    from surveykit.text import agreement

    auto = pd.DataFrame({"q_a": [1, 0, 1, 0, 1.0], "q_b": [0, 0, 1, 1, 0.0]})
    human = pd.DataFrame({"q_a": [1, 0, 1, 1, 1.0], "q_b": [0, 0, 1, 1, 0.0]})
    return agreement(auto, human)


def _suggestions(s):
    from surveykit.text import suggest_themes
    from surveykit.text.synthetic import planted_answers

    return suggest_themes(planted_answers(300, mix={"battery": 0.5, "heat": 0.5}, seed=2,
                                          noise=0), "answer", k=2)


def _design(s):
    from surveykit.design import SurveyDesign

    d = pd.DataFrame({"psu": [1, 1, 2, 2, 3, 3, 4, 4], "st": [1, 1, 1, 1, 2, 2, 2, 2],
                      "w": [2.0] * 8})
    return SurveyDesign(d, ids="psu", strata="st", weights="w")


def _replicate(s):
    return _design(s).as_replicate()


def _report_result(s):
    from surveykit.reporting.runner import ReportResult

    out = ROOT / "reports" / "x"
    return ReportResult(out=out, index_path=out / "index.html",
                        manifest_path=out / "manifest.json",
                        segments=[{"value": 1, "label": "Students", "status": "ok",
                                   "seconds": 1.5, "base": 508, "weighted_share": 0.12,
                                   "low_base": False, "error": None, "html": "s1.html",
                                   "notebook": "s1.ipynb", "headline": "NPS 2"}],
                        seconds=3.0)


def _section(s):
    from surveykit.reporting.findings import SegmentFindings

    return SegmentFindings(s, "segment", 3).profile()


@pytest.fixture(scope="module")
def waves_survey() -> Survey:
    from surveykit.waves import survey_from_waves

    return survey_from_waves(Q, ROOT / "data" / "demo" / "waves.yaml")


def _trend(s):
    from surveykit.waves import trend

    return trend(s.waves_survey, by="segment")


def _wave_weighting(s):
    return s.waves_survey.weighting


def _versions(s):
    from surveykit.questionnaire import load_questionnaire, questionnaire_from_text
    from surveykit.waves import compare_versions

    text = Q.read_text(encoding="utf-8").replace("All things considered, how satisfied",
                                                 "Overall, how satisfied")
    return compare_versions({"Q1": load_questionnaire(Q),
                             "Q2": questionnaire_from_text(text)})


BUILDERS = {
    "CheckResult": _check, "WeightingReport": _weighting, "Simulation": _simulation,
    "DriverResult": _drivers, "IPAResult": _ipa, "ReliabilityResult": _reliability,
    "KMOResult": _kmo, "BartlettResult": _bartlett, "ParallelResult": _parallel,
    "EFAResult": _efa, "CFAResult": _cfa, "PLSResult": _pls, "IPMAResult": _ipma,
    "BannerTable": _banner, "SegmentModel": _segments, "ClvResult": _clv,
    "CrmMatch": _crm_match, "Codeframe": _codeframe, "CodedText": _coded,
    "ThemeShares": _shares, "ThemeImpact": _impact, "Agreement": _agreement,
    "ThemeSuggestions": _suggestions, "SurveyDesign": _design,
    "ReplicateDesign": _replicate, "ReportResult": _report_result, "Section": _section,
    "TrendResult": _trend, "WaveWeighting": _wave_weighting, "VersionChanges": _versions,
}


def test_every_result_class_is_enumerated():
    """A new result class (``class ...Result`` or one with ``_repr_html_``) must be added to
    BUILDERS, so the result API test covers it."""
    found = set()
    for path in (ROOT / "surveykit").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"^class (\w+)\b[^\n]*:\n(.*?)(?=^class |\Z)", text, re.M | re.S):
            name, body = m.group(1), m.group(2)
            if name.startswith("_") or name in ("Survey", "Questionnaire", "ChartFigure", "Chart"):
                continue
            if name.endswith("Result") or "def _repr_html_" in body:
                found.add(name)
    assert found <= set(BUILDERS), sorted(found - set(BUILDERS))


@pytest.mark.parametrize("name", list(BUILDERS))
def test_result_api(survey, waves_survey, name):
    survey.waves_survey = waves_survey
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = BUILDERS[name](survey)
        assert type(res).__name__ == name
        text = res.summary()
        assert isinstance(text, str) and text.strip()
        assert isinstance(res.to_frame(), pd.DataFrame)
        html = res._repr_html_()
        assert isinstance(html, str) and "<table" in html
        assert not re.search(r"\d\.\d{7,}", html), "unrounded numbers in the HTML"
        r = repr(res)
        assert len(r) < 300 and r.count("\n") <= 1, r
        if hasattr(res, "plot"):
            fig = res.plot()
            assert isinstance(fig, ChartFigure) and fig._repr_png_()
            plt.close(fig)
