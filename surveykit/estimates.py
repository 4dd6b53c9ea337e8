"""Weighted estimates with standard errors, CIs, effective bases and design effects."""

from __future__ import annotations

import numpy as np


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
