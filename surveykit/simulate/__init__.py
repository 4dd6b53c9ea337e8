"""Synthetic survey respondents with a declared ground truth.

:func:`simulate` draws respondents that obey a questionnaire's routing and scales. For the
PC customer questionnaire (``questionnaires/pc_customers.yaml``) the answers come from a
declared ground truth (:func:`default_truth`):

- the sample composition (segment x city tier x gender) is skewed away from the population
  by known selection factors, so unweighted estimates are biased and weighting helps;
- latent factors drive the grid items with known standardized loadings;
- attribute performance drives overall satisfaction with driver weights that differ by
  segment; satisfaction drives NPS and repurchase intent and lowers complaints;
- three needs segments (latent classes) drive the attitude grid;
- a CRM extract links spend and recency to loyalty.

A small, known set of rows then carries planted quality problems (straight-liners, speeders,
out-of-range codes, text in numeric columns, routing breaks, "none of these" conflicts,
duplicate ids). Population values (``truth["population"]``) come from a very large draw of
the POPULATION composition, so they are what a well-weighted estimate should approach.

For any other questionnaire the generator is generic (plausible codes on every scale, routing
obeyed via :meth:`Questionnaire.asked`), and ``truth`` only records what was done, unless a
truth file declares the model: :func:`simulate_from_truth` reads one
(``data/<survey>/simulation.yaml``; format in :mod:`surveykit.simulate.truth_file`) and
draws segments, latent constructs, per-segment drivers of the outcome, loyalty links,
multi-response use and themed open answers from it.

:func:`simulate_waves` makes the tracking waves a truth file declares (``waves:``), each
with its declared true change; :class:`WaveModel` draws their answer columns alone, fast.

:func:`write_demo` writes the demo folder byte-for-byte reproducibly from its seed, and
:func:`write_from_truth` a folder simulated from a truth file; the ``surveykit simulate``
command calls them.
"""

from __future__ import annotations

from .declared import TRUTH_FILES, simulate_from_truth, write_from_truth
from .engine import DEMO_FILES, PROBLEM_RULES, Simulation, SimulationError, simulate, write_demo
from .truth import default_truth
from .waves import WaveModel, simulate_waves, stack_waves

__all__ = ["Simulation", "SimulationError", "simulate", "default_truth", "write_demo",
           "simulate_from_truth", "write_from_truth", "PROBLEM_RULES", "DEMO_FILES",
           "TRUTH_FILES", "simulate_waves", "stack_waves", "WaveModel"]
