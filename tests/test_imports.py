"""A report's modules load without the heavy libraries they do not need (asserted on
``sys.modules`` in a fresh process, never on time), and the light replacements give the
same results as the libraries they stand in for."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
#: about 0.5-1.4 s each to import; a report page needs none of them
HEAVY = ("scipy.stats", "seaborn", "statsmodels", "sklearn", "factor_analyzer")


def _loaded(code: str, names: str = "sys.modules") -> set[str]:
    """The modules loaded after running ``code`` in a fresh interpreter (or the names in
    the variable ``names`` that ``code`` sets)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "agg"}
    out = subprocess.run([sys.executable, "-c", f"{code}\nimport sys, json\n"
                          f"print(json.dumps(sorted({names})))"],
                         env=env, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return set(json.loads(out.splitlines()[-1]))


@pytest.mark.parametrize("module", [
    "surveykit.reporting", "surveykit.reporting.runner", "surveykit.reporting.findings",
    "surveykit.reporting.overview", "surveykit.estimates", "surveykit.weighting",
    "surveykit.drivers", "surveykit.plots", "surveykit.measurement", "surveykit.tables",
    "surveykit.pls", "surveykit.design", "surveykit.text"])
def test_modules_load_without_heavy_imports(module):
    loaded = _loaded(f"import {module}")
    assert [m for m in HEAVY if m in loaded] == []


def test_report_preparation_loads_without_heavy_imports():
    """The runner's preparation (the survey, and the data side of a findings page shared by
    every page: estimates, tests, drivers, pain points with their quotes) loads none of
    them: not scipy.stats for p-values, not scikit-learn for the quotes."""
    loaded = _loaded("""
from surveykit.reporting.shared import prepare_shared
from surveykit.reporting.trend_section import prepare_survey
survey = prepare_survey("questionnaires/pc_customers.yaml", "data/demo/responses.csv",
                        targets="data/demo/targets.yaml", crm="data/demo/crm.csv",
                        as_of="2026-11-01")
store = prepare_shared(survey, "segment", [1, 2, 3, 4, 5, 6])
assert len(store.values) > 10
""")
    assert {"surveykit.text.discovery", "surveykit.drivers.ipa"} <= loaded   # they ran
    assert [m for m in HEAVY if m in loaded] == []


def test_efa_and_parallel_analysis_load_without_heavy_imports():
    """The overview's factor structure (parallel analysis, then a minres EFA, here with
    every rotation) runs on surveykit's own minres and rotations: no factor_analyzer, so
    neither scikit-learn nor scipy.stats."""
    loaded = _loaded("""
import numpy as np, pandas as pd
from surveykit.measurement import efa, parallel_analysis
rng = np.random.default_rng(1)
L = np.array([[.8, 0], [.7, .1], [.6, 0], [0, .8], [.1, .7], [0, .6]])
X = rng.normal(size=(400, 2)) @ L.T + rng.normal(scale=.6, size=(400, 6))
df = pd.DataFrame(np.round(X * 1.5 + 4).clip(1, 7), columns=list("abcdef"))
assert parallel_analysis(df, list(df)).n_factors >= 1
for rotation in ("none", "varimax", "promax", "oblimin"):
    fa = efa(df, list(df), 2, rotation=rotation)
    assert fa.loadings.shape == (6, 2) and (fa.phi is None) == (rotation in ("none", "varimax"))
""")
    assert "surveykit.measurement._rotation" in loaded                        # it ran
    assert [m for m in HEAVY if m in loaded] == []


def _packages(modules) -> set[str]:
    """The third-party packages and the surveykit modules among ``modules``."""
    return {m if m.startswith("surveykit") else m.split(".")[0] for m in modules
            if m.split(".")[0] not in sys.stdlib_module_names and not m.startswith("_")}


def test_kernel_warm_up_loads_what_a_findings_page_loads(tmp_path):
    """The worker's kernel warm-up loads what a findings page needs and nothing more: run
    after it, a page (every section of the demo's segment 2, as HTML) loads no further
    third-party package or analysis module, and the warm-up alone loads nothing the page
    does not."""
    from surveykit.reporting.kernels import _WARM_CODE

    prepared = tmp_path / "prepared"
    _loaded(f"""
from surveykit.reporting.shared import prepare_shared
from surveykit.reporting.trend_section import prepare_survey
survey = prepare_survey("questionnaires/pc_customers.yaml", "data/demo/responses.csv",
                        targets="data/demo/targets.yaml", crm="data/demo/crm.csv",
                        as_of="2026-11-01")
survey.save({str(prepared)!r})
prepare_shared(survey, "segment", [2]).save({str(prepared)!r})
""")
    page = f"""
import contextlib, io
from surveykit.reporting import SegmentFindings, open_survey
f = SegmentFindings(open_survey({str(prepared)!r}), "segment", 2, shared={str(prepared)!r})
f.header_html()
for key in [*f.FRONT, *f.SECTIONS]:
    sec = f.section(key)
    if sec is not None:
        sec._repr_html_()
with contextlib.redirect_stdout(io.StringIO()):
    f.record()
"""
    kernel = "import IPython.display\n"               # (what a kernel has loaded)
    warm = _loaded(kernel + _WARM_CODE)
    page_only = _loaded(kernel + page)
    new = _loaded(f"{kernel}{_WARM_CODE}\nimport sys\n_before = set(sys.modules)\n{page}\n"
                  "_new = [m for m in sys.modules if m not in _before]", "_new")
    # after the warm-up a page loads at most submodules of packages already loaded (e.g.
    # pyarrow.dataset to read the data) and threadpoolctl (tiny), no analysis module
    assert [m for m in new if m.startswith("surveykit")] == []
    assert {m.split(".")[0] for m in new} - _packages(warm) <= {"threadpoolctl"}, \
        "a page loads these after the warm-up: add them to _WARM_CODE"
    assert _packages(warm) - _packages(page_only) == set(), \
        "the warm-up loads these, which a page does not: leave them out of _WARM_CODE"


def test_stop_words_are_scikit_learns():
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    from surveykit.text._stop_words import ENGLISH_STOP_WORDS as ours

    assert ours == ENGLISH_STOP_WORDS


def _sklearn_similarity(texts, counts, analyzer):
    """What typical_quotes computed with scikit-learn before: the reference."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    try:
        X = TfidfVectorizer(analyzer=analyzer, sublinear_tf=True).fit_transform(texts)
    except ValueError:                                   # no words at all
        return np.zeros(len(texts))
    centre = np.asarray(X.T @ counts).ravel() / counts.sum()
    norm = np.linalg.norm(centre)
    return np.asarray(X @ centre).ravel() / norm if norm > 0 else np.zeros(len(texts))


@pytest.mark.parametrize("pairs", [False, True])
def test_centre_similarity_is_scikit_learns_tfidf(pairs):
    """The same float64 numbers as TfidfVectorizer, on random answers (repeated words,
    empty answers, answers of stop words only) and on simulated English and Chinese ones."""
    from surveykit.text._lang import normalise_many
    from surveykit.text.discovery import _centre_similarity, tokens

    analyzer = functools.partial(tokens, pairs=pairs)
    rng = np.random.default_rng(7)
    words = ("battery fan noise screen the dies fast loud slow price value keyboard it "
             "heavy support call and 风扇 噪音").split()
    for _ in range(150):
        texts = sorted({" ".join(rng.choice(words, rng.integers(0, 12)))
                        for _ in range(rng.integers(1, 40))})
        counts = rng.integers(1, 6, len(texts))
        np.testing.assert_array_equal(_centre_similarity(texts, counts, analyzer),
                                      _sklearn_similarity(texts, counts, analyzer))
    from surveykit.text.synthetic import planted_answers

    for language in ("en", "zh"):
        answers = planted_answers(2000, language=language, seed=3)["answer"].dropna()
        texts = sorted(set(normalise_many(answers.tolist())))
        counts = rng.integers(1, 6, len(texts))
        ours = _centre_similarity(texts, counts, analyzer)
        assert len(texts) > 200 and ours.max() > 0
        np.testing.assert_array_equal(ours, _sklearn_similarity(texts, counts, analyzer))
