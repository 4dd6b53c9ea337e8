"""The significance tests and sample-size measures that every comparison shares.

One definition per statistic: the variance of a weighted (domain) mean without a design is
:func:`linearised_variance` (NPS included: it is the mean of the +100 / 0 / -100 score), two
proportions are compared by :func:`pooled_z_test`, two means (and NPS, and anything under a
design) by :func:`mean_difference_test`; :func:`surveykit.estimates.estimate`,
:func:`surveykit.estimates.compare`, :func:`surveykit.tables.banner` and the reports all call
these, and :data:`TEST_DEFINITIONS` states them for method notes and footnotes. The Kish
effective base (:func:`effective_n`) and the conventional margin of error
(:func:`margin_of_error`) describe a weighted sample.
"""

from __future__ import annotations

import numpy as np

from ._dist import norm_ppf, norm_sf, t_sf
from .errors import EstimationError

__all__ = ["effective_n", "margin_of_error", "linearised_variance", "linearised_covariance",
           "pooled_z_test", "mean_difference_test", "TEST_DEFINITIONS"]


def effective_n(weights) -> float:
    """Kish effective sample size, ``(sum w)^2 / sum w^2``.

    Examples
    --------
    >>> effective_n([1, 1, 1, 1])
    4.0
    >>> round(effective_n([1, 3]), 3)
    1.6
    """
    w = np.asarray(weights, dtype=float)
    w = w[np.isfinite(w)]
    s2 = float(np.dot(w, w))
    return float(w.sum() ** 2 / s2) if s2 > 0 else 0.0


def linearised_variance(W, W2, S2y, S2yy, mean, N: int):
    """Variance of a weighted (domain) mean without a design, R ``svydesign(ids=~1)``.

    The influence of row *i* in the domain is ``z_i = w_i (y_i - mean) / W`` (0 outside), so
    ``var = N/(N-1) * sum z_i^2 = N/(N-1) * (S2yy - 2 mean S2y + mean^2 W2) / W^2`` (the
    influence values sum to 0 over the sample). ``W``, ``W2``: sums of ``w`` and ``w^2`` over
    the domain's answers, ``S2y``, ``S2yy``: of ``w^2 y`` and ``w^2 y^2``; ``N``: rows of the
    whole sample. The one definition used by :func:`estimate`, :func:`compare` and
    :func:`surveykit.tables.banner` (also for NPS, the mean of the +-100 score).

    Examples
    --------
    >>> y = np.array([1.0, 2.0, 4.0])
    >>> v = linearised_variance(3, 3, y.sum(), (y * y).sum(), y.mean(), 3)
    >>> bool(np.isclose(v, y.var(ddof=1) / 3))
    True
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        ss = np.maximum(S2yy - 2 * mean * S2y + mean * mean * W2, 0.0)
        return N / (N - 1) * ss / (W * W)


def linearised_covariance(Wa, Wb, W2ab, S2y_ab, S2yy_ab, mean_a, mean_b, N: int):
    """Covariance of two weighted domain means without a design (domains may overlap, as
    multi-response banner columns): ``N/(N-1) * sum_{a and b} z_a z_b``; the ``*_ab`` sums
    run over the rows in both domains (0 when disjoint). See :func:`linearised_variance`."""
    with np.errstate(divide="ignore", invalid="ignore"):
        cross = S2yy_ab - (mean_a + mean_b) * S2y_ab + mean_a * mean_b * W2ab
        return N / (N - 1) * cross / (Wa * Wb)


def pooled_z_test(S_a, W_a, W2_a, S_b, W_b, W2_b, S_ab=0.0, W_ab=0.0, W2_ab=0.0):
    """Two-proportion z-test on effective bases, with the proportion pooled by weight.

    ``S``: weighted count of the trait (``sum w y``), ``W``: sum of weights, ``W2``: sum of
    squared weights, over the answers of each group; ``*_ab`` over respondents in both groups
    (multi-response banners; 0 when disjoint). ``pool = (S_a + S_b - S_ab) / (W_a + W_b -
    W_ab)`` is the weighted proportion of everyone in either group and ``f = W2_a/W_a^2 +
    W2_b/W_b^2 - 2 W2_ab/(W_a W_b)`` is ``1/n_eff_a + 1/n_eff_b`` for disjoint groups; ``z =
    (p_a - p_b) / sqrt(pool (1 - pool) f)``. Unweighted this is R ``prop.test(correct =
    FALSE)``. The one definition used by :func:`compare` and :func:`surveykit.tables.banner`.

    Returns
    -------
    (difference, se, z, p)

    Examples
    --------
    >>> d, se, z, p = pooled_z_test(30, 100, 100, 45, 100, 100)
    >>> round(float(z), 4), round(float(p), 4)
    (-2.1909, 0.0285)
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        f = W2_a / W_a ** 2 + W2_b / W_b ** 2 - 2 * W2_ab / (W_a * W_b)
        pa, pb = S_a / W_a, S_b / W_b
        pool = (S_a + S_b - S_ab) / (W_a + W_b - W_ab)
        se = np.sqrt(pool * (1 - pool) * f)
        z = (pa - pb) / se
    return pa - pb, se, z, 2 * norm_sf(np.abs(z))


def mean_difference_test(difference, variance, df=None):
    """The test of a difference of two (domain) means, as R ``survey`` compares them.

    ``difference / sqrt(variance)``, where ``variance`` is the linearisation (or replicate)
    variance of the difference: ``var_a + var_b - 2 cov_ab`` from the influence values of
    the two domain means (R ``svyby(..., covmat = TRUE)`` + ``svycontrast``). With a sample
    design the statistic is referred to Student's t on the design degrees of freedom ``df``
    (R ``svyttest``: ``degf`` of the rows compared minus 1); with simple weights (no design
    declared: ``df=None`` or infinite) to the normal distribution, a z-test (R
    ``svycontrast``'s Wald test). Means, top-box shares under a design and NPS (the mean of
    the +100 / 0 / -100 score, variance :func:`linearised_variance`) all use it:
    :func:`compare`, :func:`surveykit.tables.banner` and the reports.

    Parameters
    ----------
    difference : float or array
    variance : float or array
        Variance of the difference (not of each mean).
    df : float or array, optional
        Design degrees of freedom; ``None`` / ``inf``: z-test.

    Returns
    -------
    (difference, se, statistic, p)
        Two-sided p-value.

    Examples
    --------
    >>> d, se, z, p = mean_difference_test(0.5, 0.04)
    >>> round(float(z), 3), round(float(p), 4)
    (2.5, 0.0124)
    >>> round(float(mean_difference_test(0.5, 0.04, df=14)[3]), 4)   # t on 14 df
    0.0255
    """
    difference = np.asarray(difference, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(np.maximum(np.asarray(variance, dtype=float), 0.0))
        stat = difference / se
    if df is None:
        p = 2 * norm_sf(np.abs(stat))
    else:
        dfree = np.asarray(df, dtype=float)
        with np.errstate(invalid="ignore"):
            p = np.where(np.isinf(dfree), 2 * norm_sf(np.abs(stat)),
                         2 * t_sf(np.abs(stat), np.where(dfree > 0, dfree, np.nan)))
    return difference, se, stat, p


#: The definitions of the tests, as the method notes and tab-book footnotes state them.
TEST_DEFINITIONS = {
    "mean": ("means (and NPS) by the difference over its linearisation standard error "
             "(R svyby + svycontrast): a z-test with simple weights, Student's t on the "
             "design degrees of freedom under a sample design (R svyttest)"),
    "proportion": ("proportions by the two-sample z-test on Kish effective bases with the "
                   "proportion pooled by weight (prop.test without continuity correction when "
                   "unweighted); under a sample design by the design-based t-test of the "
                   "0/1 indicator, as means"),
    "nps": ("NPS variance: the linearisation variance of the mean of the +100 / 0 / -100 "
            "score (R svymean), the same in estimates, comparisons and tab books"),
}


def margin_of_error(n_eff, *, p: float = 0.5, level: float = 0.95) -> float:
    """Half-width of the CI of a proportion ``p`` on an effective base: ``z * sqrt(p(1-p)/n_eff)``.

    The conventional survey "margin of error" quotes ``p = 0.5``, its largest value; pass the
    Kish effective base (:func:`effective_n`) so that weighting is accounted for. NaN when the
    base is not positive.

    Examples
    --------
    >>> round(margin_of_error(400), 4)
    0.049
    >>> round(margin_of_error(400, p=0.2, level=0.90), 4)
    0.0329
    """
    try:
        n_eff = float(n_eff)
    except (TypeError, ValueError):
        return float("nan")
    if not np.isfinite(n_eff) or n_eff <= 0:
        return float("nan")
    return _z(level) * float(np.sqrt(p * (1 - p) / n_eff))


def _z(level: float) -> float:
    if not 0 < level < 1:
        raise EstimationError(f"level must be between 0 and 1 (e.g. 0.95), not {level!r}")
    return float(norm_ppf(0.5 + level / 2))
