"""Shared paths and objects for the test suite: the committed demo survey and questionnaires.

Everything here is committed (``tests/test_simulate.py`` checks ``data/demo`` byte for
byte), so nothing is guarded by a skip: a missing file or a broken pipeline fails the
tests that use it. Session-scoped objects are shared by many tests: read them, and copy
before changing anything (the questionnaire and targets are frozen; DataFrames are not).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pytest

# Package imports sit inside the fixtures: a module that fails to import then fails the
# tests that use it, not the collection of the whole suite.
if TYPE_CHECKING:
    from surveykit.questionnaire import Questionnaire
    from surveykit.simulate import Simulation
    from surveykit.survey import Survey
    from surveykit.weighting import Targets

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"
BUNDLED = ROOT / "questionnaires"
PC_QUESTIONNAIRE = BUNDLED / "pc_customers.yaml"
FIXTURES = ROOT / "tests" / "fixtures"
R_SURVEY = FIXTURES / "r_survey"


# -- paths -------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def root() -> Path:
    """The repository checkout."""
    return ROOT


@pytest.fixture(scope="session")
def demo_dir() -> Path:
    """``data/demo``: the committed demo survey (responses, targets, truth, CRM, ...)."""
    return DEMO


@pytest.fixture(scope="session")
def pc_path() -> Path:
    """The bundled PC customer questionnaire the demo survey was simulated from."""
    return PC_QUESTIONNAIRE


# -- questionnaires ----------------------------------------------------------------------------
@pytest.fixture(scope="session")
def pc_questionnaire() -> Questionnaire:
    from surveykit.questionnaire import load_questionnaire

    return load_questionnaire(PC_QUESTIONNAIRE)


@pytest.fixture(scope="session")
def smart_lock_questionnaire() -> Questionnaire:
    from surveykit.questionnaire import load_questionnaire

    return load_questionnaire(BUNDLED / "smart_lock_customers.yaml")


@pytest.fixture(scope="session")
def all_types_questionnaire() -> Questionnaire:
    """``tests/fixtures/questionnaires/valid_all_types.yaml``: every question type once."""
    from surveykit.questionnaire import load_questionnaire

    return load_questionnaire(FIXTURES / "questionnaires" / "valid_all_types.yaml")


# -- the demo survey ---------------------------------------------------------------------------
@pytest.fixture(scope="session")
def demo_truth() -> dict:
    """``data/demo/truth.json``: the simulation's declared ground truth."""
    return json.loads((DEMO / "truth.json").read_text())


@pytest.fixture(scope="session")
def _demo_responses_csv() -> pd.DataFrame:
    return pd.read_csv(DEMO / "responses.csv", low_memory=False)


@pytest.fixture
def demo_responses(_demo_responses_csv) -> pd.DataFrame:
    """``data/demo/responses.csv`` as pandas reads it (untyped, unchecked): a fresh copy."""
    return _demo_responses_csv.copy()


@pytest.fixture(scope="session")
def demo_survey() -> Survey:
    """The demo survey read, checked, cleaned and raked by the package's own pipeline."""
    from surveykit.survey import Survey

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Survey.from_files(PC_QUESTIONNAIRE, DEMO / "responses.csv",
                                 targets=DEMO / "targets.yaml")


@pytest.fixture(scope="session")
def demo_clean_simulation(pc_questionnaire, demo_truth) -> Simulation:
    """The demo survey simulated again (same size and seed) without planted problems."""
    from surveykit.simulate import simulate

    return simulate(pc_questionnaire, demo_truth["n"], demo_truth["seed"], problems=False)


# -- the R survey reference data (tests/fixtures/r_survey/make_fixtures.R) ----------------------
@pytest.fixture(scope="session")
def r_survey_data() -> pd.DataFrame:
    """The simulated sample R weighted (margins far from the targets)."""
    return pd.read_csv(R_SURVEY / "data.csv")


@pytest.fixture(scope="session")
def r_survey_weights() -> pd.DataFrame:
    """R's weights for that sample: rake, calibrate, postStratify, trimWeights."""
    return pd.read_csv(R_SURVEY / "weights.csv")


@pytest.fixture(scope="session")
def r_survey_targets() -> Targets:
    from surveykit.weighting import load_targets

    return load_targets(R_SURVEY / "targets.yaml")


# -- the real report pipeline on the small fixture survey (tests/fixtures/reporting/) ----------
REPORTING = FIXTURES / "reporting"
FAIL_SEGMENT = "a/b c"


@pytest.fixture(scope="session")
def report_pipeline(tmp_path_factory) -> dict:
    """``surveykit report`` on the fixture survey, run once per session and shared by
    tests/test_reporting.py and tests/test_browser.py: ``{"rc", "out", "base", "manifest",
    "by_value"}``. It runs a copy of the findings notebook with one extra cell that raises
    for the segment ``a/b c`` (FAIL_SEGMENT), so the same run proves the reports and the
    failure handling."""
    import nbformat

    from surveykit import cli
    from surveykit.reporting.runner import DEFAULT_NOTEBOOK

    base = tmp_path_factory.mktemp("pipeline")
    nb = nbformat.read(DEFAULT_NOTEBOOK, as_version=4)
    boom = nbformat.v4.new_code_cell(
        f"if segment == {FAIL_SEGMENT!r}:\n    raise RuntimeError('forced failure for the test')")
    nb.cells.insert(3, boom)
    notebook = base / "failing_copy.ipynb"
    nbformat.write(nb, notebook)
    out = base / "deep" / "reports"
    rc = cli.main(["report", "--questionnaire", str(REPORTING / "questionnaire.yaml"),
                   "--data", str(REPORTING / "responses.csv"),
                   "--targets", str(REPORTING / "targets.yaml"),
                   "--crm", str(REPORTING / "crm.csv"),
                   "--segment-by", "segment", "--workers", "2", "--timeout", "300",
                   "--out", str(out), "--notebook", str(notebook)])
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return {"rc": rc, "out": out, "base": base, "manifest": manifest,
            "by_value": {s["value"]: s for s in manifest["segments"]},
            "fail_segment": FAIL_SEGMENT}
