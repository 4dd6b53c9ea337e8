"""PLS path modelling: the ECSI / ACSI satisfaction index, effects, index scores, construct IPMA.

:func:`pls` fits a PLS path model (Wold's algorithm in Lohmöller's form, as R ``plspm``
implements it): reflective (mode A) and formative (mode B) blocks; path, centroid and
factorial inner weighting; standardized or unstandardized items; respondent weights in every
mean, variance, covariance and regression. The estimation runs on the items' (weighted)
covariance matrix, so a bootstrap estimates all its replicates together, seeded and without
global state. :func:`pls_from_questionnaire` takes the blocks, reverse keys, scale ranges and
labels from a questionnaire's declared ``constructs``.

The :class:`PLSResult` holds tidy frames (outer and inner model, effects, unidimensionality,
HTMT, GoF, scores and 0-100 index scores on the ACSI convention), draws the path diagram,
and gives the construct-level importance-performance map (:meth:`PLSResult.ipma`).
"""

from .model import pls, pls_from_questionnaire
from .result import IPMAResult, PLSResult

__all__ = ["pls", "pls_from_questionnaire", "PLSResult", "IPMAResult"]
