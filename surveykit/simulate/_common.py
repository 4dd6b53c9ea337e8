"""Names shared by the simulator's modules."""

from __future__ import annotations

from ..errors import SimulationError  # noqa: F401  (re-exported to the engine)
from ..questionnaire import Questionnaire

PROBLEM_RULES = ("straight_lining", "speeder", "out_of_range", "non_numeric",
                 "answered_not_asked", "asked_not_answered", "exclusive_conflict", "duplicate_id")

DEMO_FILES = ("responses.csv", "targets.yaml", "truth.json", "planted_problems.csv", "crm.csv",
              "truth_respondents.csv")


def _valid_codes(q: Questionnaire, name: str) -> list:
    var = q.variable(name)
    return [c for c in var.value_labels if isinstance(c, int | float)]
