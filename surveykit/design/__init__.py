"""Complex sample designs, as R ``survey``: strata, clusters, finite-population corrections
and replicate weights, with a variance for every estimator.

* :class:`SurveyDesign` - R ``svydesign``: Taylor linearisation (``svyrecvar``).
* :class:`ReplicateDesign` - R ``svrepdesign``: JK1, JKn, bootstrap, BRR / Fay and others,
  from supplied replicate-weight columns or :meth:`SurveyDesign.as_replicate`.
* :func:`calibrate` - R ``calibrate()`` on a design (linear or raking; replicate designs
  recalibrate every replicate).
* :func:`total`, :func:`ratio` - R ``svytotal`` / ``svyratio`` (``svyby`` domains with
  ``by=``); :func:`quantile` - R ``svyquantile``. Means, proportions, top-box and NPS:
  :func:`surveykit.estimates.estimate` and :func:`surveykit.estimates.compare` with
  ``design=``.
"""

from ._calibrate import CalibratedDesign, calibrate
from ._common import LONELY_PSU
from ._estimators import ratio, total
from ._linear import SurveyDesign
from ._quantile import quantile
from ._replicate import ReplicateDesign

__all__ = ["SurveyDesign", "ReplicateDesign", "CalibratedDesign", "calibrate", "total", "ratio",
           "quantile", "LONELY_PSU"]
