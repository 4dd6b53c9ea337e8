"""surveykit._dist gives scipy.stats' numbers: the same float64 values on a grid of
arguments, including the edges of the support and refused degrees of freedom."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from surveykit import _dist

X = np.array([-np.inf, -40.0, -8.5, -3.0, -1.96, -1.0, -1e-9, 0.0, 1e-9, 0.3, 1.0,
              1.959963984540054, 2.5, 6.0, 12.0, 40.0, np.inf, np.nan])
Q = np.array([-0.1, 0.0, 1e-300, 1e-12, 0.001, 0.025, 0.05, 0.3, 0.5, 0.7, 0.95, 0.975, 0.995,
              1 - 1e-12, 1.0, 1.1, np.nan])
DF = np.array([-1.0, 0.0, 0.5, 1.0, 2.0, 3.0, 7.5, 10.0, 29.0, 99.0, 100.0, 500.0, 1e6, np.inf,
               np.nan])


def _same(ours, theirs):
    """The same float64 numbers (not merely within 1e-12), NaN where scipy gives NaN."""
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.dtype == theirs.dtype == np.float64
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize(("ours", "theirs"), [
    (_dist.norm_cdf, stats.norm.cdf), (_dist.norm_sf, stats.norm.sf)])
def test_normal_tails_equal_scipy_stats(ours, theirs):
    _same(ours(X), theirs(X))
    for x in (-2.0, 0.0, 3.5):                      # a scalar gives a scalar
        assert type(ours(x)) is type(theirs(x)) and ours(x) == theirs(x)


def test_normal_quantile_equals_scipy_stats():
    _same(_dist.norm_ppf(Q), stats.norm.ppf(Q))
    assert _dist.norm_ppf(0.975) == stats.norm.ppf(0.975)


@pytest.mark.parametrize(("ours", "theirs", "grid"), [
    (_dist.t_cdf, stats.t.cdf, X), (_dist.t_sf, stats.t.sf, X), (_dist.t_ppf, stats.t.ppf, Q),
    (_dist.chi2_sf, stats.chi2.sf, np.abs(X) * 3 - 0.5)])
def test_grid_in_degrees_of_freedom_equals_scipy_stats(ours, theirs, grid):
    x, df = np.meshgrid(grid, DF)
    _same(ours(x, df), theirs(x, df))
    _same(ours(grid, 10), theirs(grid, 10))        # broadcasting a scalar df
    assert ours(grid[3], 7.5) == theirs(grid[3], 7.5)
