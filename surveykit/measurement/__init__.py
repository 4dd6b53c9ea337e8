"""Scales and factors: reliability, suitability, parallel analysis, EFA, CFA and scores.

Every function takes a plain DataFrame and a list of item columns, or a questionnaire in
their place (its constructs' items, reverse keys, scale ranges and item labels;
``constructs=`` picks some; :func:`from_questionnaire` shows what is read). Reverse-keyed
items are declared with ``reverse=[...]`` and re-coded ``x' = min + max - x`` with the
scale's ``scale_range=(min, max)`` (or a dict ``{item: (min, max)}``). Weights follow the
package rule (``None``, a column name, or an array).

Missing data: one default, ``missing="pairwise"`` as R ``psych`` (each correlation or
covariance from the respondents who answered both items), for reliability, KMO, Bartlett,
parallel analysis and EFA; ``missing="listwise"`` (complete rows only) on request. CFA is
listwise, as lavaan's default ML. Nothing is ever imputed; every result states its policy
and n (``missing``, ``missing_data``, a sentence in ``summary()``).

The numbers match R: ``psych`` (alpha, omega, KMO, Bartlett, fa, fa.parallel) and
``lavaan`` (CFA); the fixtures and the R scripts that made them are under
``tests/fixtures/r_psych`` and ``tests/fixtures/r_lavaan``.
"""

from ._common import (
                      HeywoodWarning,
                      ItemWarning,
                      LatentCorrelationWarning,
                      Missing,
                      MissingData,
                      ScaleRange,
                      from_questionnaire,
                      weighted_corr,
)
from .cfa import CFAResult, cfa
from .efa import EFAResult, ParallelResult, efa, max_factors, parallel_analysis
from .reliability import (
                      BartlettResult,
                      KMOResult,
                      ReliabilityResult,
                      bartlett,
                      construct_scores,
                      kmo,
                      reliability,
                      reliability_table,
)

__all__ = [
    "HeywoodWarning", "ItemWarning", "LatentCorrelationWarning", "Missing", "MissingData",
    "ScaleRange",
    "weighted_corr", "reliability", "reliability_table", "kmo", "bartlett",
    "parallel_analysis", "efa", "max_factors", "cfa", "construct_scores", "from_questionnaire",
    "ReliabilityResult", "KMOResult", "BartlettResult", "ParallelResult", "EFAResult",
    "CFAResult",
]
