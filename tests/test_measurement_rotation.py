"""surveykit's own factor extraction and rotations (issue 16: efa without
factor_analyzer) against R (tests/fixtures/r_psych/make_rotation_fixtures.R: stats::varimax,
psych::Promax / kaiser, GPArotation::oblimin, psych::fa minres) and factor_analyzer."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from surveykit.measurement import _rotation
from surveykit.measurement._common import _minres

REF = json.loads((Path(__file__).parent / "fixtures" / "r_psych"
                  / "rotation_reference.json").read_text())
CASES = list(REF)


def _a(x) -> np.ndarray:
    return np.array(x, dtype=float)



@pytest.mark.parametrize("case", CASES)
def test_varimax_is_r_stats_varimax(case):
    L = _a(REF[case]["unrotated"])
    np.testing.assert_allclose(_rotation.varimax(L)[0], _a(REF[case]["varimax"]), atol=1e-9)


@pytest.mark.parametrize("case", CASES)
def test_promax_is_r_promax(case):
    L = _a(REF[case]["unrotated"])
    for key, normalize in (("promax", False), ("promax_kaiser", True)):
        Lr, phi = _rotation.promax(L, normalize=normalize)
        np.testing.assert_allclose(Lr, _a(REF[case][key]["loadings"]), atol=1e-9)
        np.testing.assert_allclose(phi, _a(REF[case][key]["phi"]), atol=1e-9)
    np.testing.assert_allclose(_rotation.promax(L, normalize=False)[0],
                               _a(REF[case]["promax_stats"]), atol=1e-9)


@pytest.mark.parametrize("case", CASES)
def test_oblimin_is_gparotation(case):
    L = _a(REF[case]["unrotated"])
    Lr, phi = _rotation.oblimin(L)
    np.testing.assert_allclose(Lr, _a(REF[case]["oblimin"]["loadings"]), atol=1e-9)
    np.testing.assert_allclose(phi, _a(REF[case]["oblimin"]["phi"]), atol=1e-9)
    # an oblique rotation keeps the common part: L phi L' = L0 L0'
    np.testing.assert_allclose(Lr @ phi @ Lr.T, L @ L.T, atol=1e-10)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("method", ["varimax", "promax", "oblimin"])
def test_rotations_match_factor_analyzer(case, method):
    from factor_analyzer.rotator import Rotator

    L = _a(REF[case]["unrotated"])
    ref = Rotator(method=method, tol=1e-5 if method != "oblimin" else 1e-8, max_iter=2000)
    expected = ref.fit_transform(L)
    ours = getattr(_rotation, method)(L)
    atol = 1e-9 if method != "oblimin" else 5e-5     # its GPA stops at another criterion
    np.testing.assert_allclose(ours[0], expected, atol=atol)
    if method != "varimax":
        np.testing.assert_allclose(ours[1], ref.phi_, atol=atol)


@pytest.mark.parametrize("case", CASES)
def test_minres_matches_factor_analyzer(case):
    """k-factor minres on the correlation matrix implied by a fixture's solution (plus
    noise so it is not exactly k-factor), the same as factor_analyzer's minres."""
    from factor_analyzer import FactorAnalyzer

    L0 = _a(REF[case]["unrotated"])
    k = L0.shape[1]
    rng = np.random.default_rng(5)
    E = rng.normal(scale=0.05, size=(L0.shape[0], L0.shape[0]))
    R = L0 @ L0.T + (E + E.T) / 2
    np.fill_diagonal(R, 1.0)
    fa = FactorAnalyzer(n_factors=k, rotation=None, method="minres", is_corr_matrix=True,
                        use_smc=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fa.fit(R.copy())
    expected = fa.loadings_ * np.where(fa.loadings_.sum(axis=0) < 0, -1.0, 1.0)
    ours = _minres(R, k)
    assert ours.shape == (L0.shape[0], k)
    assert (ours.sum(axis=0) > 0).all()
    np.testing.assert_allclose(ours, expected, atol=1e-6)
