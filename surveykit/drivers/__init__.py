"""Key-driver analysis: relative importance, regression, importance-performance, loyalty link.

Relative importance comes from the (weighted) correlation matrix of outcome and drivers:

* **Shapley / LMG** (``method="shapley"``): the R-squared of every subset of drivers is
  computed once, from the correlation matrix, by adding driver j to every subset of the
  drivers before it in one vectorised sweep (each subset costs one rank-one update; the
  array is indexed by bitmask), and each driver gets its average marginal contribution.
  Exact up to ``max_exact`` (20) drivers; above that the result switches to Johnson's
  relative weights and says so.
* **Johnson's relative weights** (``method="relative_weights"``): linear outcomes from the
  correlation matrix; binary and ordinal outcomes by (weighted) logistic / proportional
  odds fits on the orthogonalised drivers (Tonidandel & LeBreton, 2010).

Rows with a missing outcome or driver are dropped (listwise; the base is reported).
Drivers are never dropped: a constant or collinear driver is an error that names it.
"""

from __future__ import annotations

from ._core import (
    QUADRANTS,
    TOTAL,
    CollinearityWarning,
    DriverMethodWarning,
    relative_weights_from_corr,
    shapley_from_corr,
    shapley_from_r2,
    subset_r2,
)
from .importance import DriverResult, key_drivers, relative_weights, shapley
from .ipa import IPAResult, importance_performance
from .regression import loyalty_link, regression

__all__ = [
    "CollinearityWarning", "DriverMethodWarning", "TOTAL", "QUADRANTS",
    "subset_r2", "shapley_from_r2", "shapley_from_corr", "relative_weights_from_corr",
    "key_drivers", "shapley", "relative_weights", "regression",
    "importance_performance", "loyalty_link", "DriverResult", "IPAResult",
]
