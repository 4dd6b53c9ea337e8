"""The few distribution functions the estimates need, without importing scipy.stats.

``scipy.stats`` costs about 0.8 s to import, twice what ``scipy.special`` costs, and the
package uses only these functions of it on its common paths (p-values and confidence
interval multipliers). Each is the ``scipy.special`` function that ``scipy.stats`` itself
calls, with ``scipy.stats``' handling of the standard arguments (float64 results, NaN for an
invalid degree of freedom, the edges of the support), so the values are the same numbers
(``tests/test_dist.py`` finds them identical to ``scipy.stats``' on a grid). ``scipy.special`` is
imported on the first call. Anything else (``ncx2``, ``rankdata``...) imports
``scipy.stats`` where it is used.

Examples
--------
>>> from scipy import stats
>>> bool(norm_sf(1.959963984540054) == stats.norm.sf(1.959963984540054))
True
>>> float(t_ppf(0.975, 10)) == float(stats.t.ppf(0.975, 10))
True
"""

from __future__ import annotations

import numpy as np

__all__ = ["norm_cdf", "norm_sf", "norm_ppf", "t_cdf", "t_sf", "t_ppf", "chi2_sf"]


def _x(x):
    return np.asarray(x, dtype=np.float64)


def _df(df):
    """Degrees of freedom, NaN where ``scipy.stats`` refuses them (not > 0)."""
    df = _x(df)
    return np.where(df > 0, df, np.nan)


def _quantile(q, df, inverse):
    """``inverse(df, q)`` inside (0, 1), the support's ends at 0 and 1, NaN elsewhere or
    for a refused ``df``: what ``scipy.stats`` returns for a standard distribution."""
    ends = np.where(q == 0, -np.inf, np.where(q == 1, np.inf, np.nan))
    return np.where(np.isnan(df), np.nan, np.where((q > 0) & (q < 1), inverse(df, q), ends))


def _out(values):
    """A scalar for a scalar argument, as ``scipy.stats`` returns."""
    values = np.asarray(values, dtype=np.float64)
    return values[()] if values.ndim == 0 else values


def norm_cdf(x):
    """``scipy.stats.norm.cdf(x)``.

    >>> float(norm_cdf(0.0))
    0.5
    """
    from scipy.special import ndtr

    return _out(ndtr(_x(x)))


def norm_sf(x):
    """``scipy.stats.norm.sf(x)``: the upper tail, ``1 - cdf`` without cancellation.

    >>> bool(norm_sf(30.0) > 0)
    True
    """
    from scipy.special import ndtr

    return _out(ndtr(-_x(x)))


def norm_ppf(q):
    """``scipy.stats.norm.ppf(q)``: the quantile (NaN outside ``[0, 1]``).

    >>> round(float(norm_ppf(0.975)), 6)
    1.959964
    """
    from scipy.special import ndtri

    return _out(_quantile(_x(q), np.float64(1), lambda _, q: ndtri(q)))


def t_cdf(x, df):
    """``scipy.stats.t.cdf(x, df)``.

    >>> float(t_cdf(0.0, 5))
    0.5
    """
    from scipy.special import stdtr

    return _out(stdtr(_df(df), _x(x)))


def t_sf(x, df):
    """``scipy.stats.t.sf(x, df)``: the upper tail.

    >>> round(float(2 * t_sf(2.228138851986274, 10)), 6)
    0.05
    """
    from scipy.special import stdtr

    return _out(stdtr(_df(df), -_x(x)))


def t_ppf(q, df):
    """``scipy.stats.t.ppf(q, df)``: the quantile (NaN outside ``[0, 1]``).

    >>> round(float(t_ppf(0.975, 10)), 6)
    2.228139
    """
    from scipy.special import stdtrit

    return _out(_quantile(_x(q), _df(df), stdtrit))


def chi2_sf(x, df):
    """``scipy.stats.chi2.sf(x, df)``: the upper tail (1 at and below 0, 0 at infinity).

    >>> round(float(chi2_sf(3.841458820694124, 1)), 6)
    0.05
    """
    from scipy.special import chdtrc

    x, df = _x(x), _df(df)
    inside = np.where(x <= 0, 1.0, np.where(x == np.inf, 0.0, chdtrc(df, x)))
    return _out(np.where(np.isnan(x) | np.isnan(df), np.nan, inside))
