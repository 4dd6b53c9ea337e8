"""Raking, post-stratification and trimming of survey weights, with a weighting report.

The engine factorizes the weighting variables into one cell id per row, sums the base
weights per cell and rakes the small table of cells (or of ``cell x base weight`` units
when base weights vary within cells); final weights are mapped back to the rows with one
gather. Raking on categorical margins is exact on that table, so 1,000,000 rows cost
about as much as the few hundred cells they fall into.

Targets come from ``targets.yaml`` (:func:`load_targets`), a mapping of the same
structure, or a long DataFrame ``variable, category, target [, within_variable,
within_category]``::

    total: n            # "n": weights sum to the sample size (default); or a population size
    unit: percent       # percent (each margin sums to 100) | count
    margins:
      - variable: region
        targets: {1: 32.0, 2: 28.0, 3: 22.0, 4: 18.0}
      - variables: [age_band, gender]          # interlocked margin
        targets:
          - {age_band: 1, gender: 1, target: 10.0}
          - ...
      - variable: org_size
        within: {cust_type: 2}                 # shares within that group
        targets: {1: 55.0, 2: 30.0, 3: 15.0}

Modules: :mod:`.targets` (targets and their validation), :mod:`.cells` (the cell table),
:mod:`.engine` (``rake``, ``post_stratify``, ``trim`` and the raking engine),
:mod:`.report` (:class:`WeightingReport`).

Calibration of a complex sample design to population totals of categorical and numeric
variables (linear / GREG or raking, R ``calibrate()``; replicate designs recalibrate every
replicate) is :func:`surveykit.design.calibrate`.
"""

from .engine import MISSING_POLICIES as MISSING_POLICIES
from .engine import post_stratify, rake, trim
from .report import WeightingReport
from .targets import Margin, Targets, load_targets

__all__ = ["Margin", "Targets", "WeightingReport", "load_targets", "rake", "post_stratify",
           "trim"]
