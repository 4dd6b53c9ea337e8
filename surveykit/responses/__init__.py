"""Reading, writing, checking and cleaning survey responses against the questionnaire.

>>> from surveykit.questionnaire import load_questionnaire
>>> from surveykit.responses import read_responses, check_responses, clean
>>> q = load_questionnaire("questionnaires/pc_customers.yaml")
>>> raw = read_responses("data/demo/responses.csv", q)
>>> result = check_responses(q, raw)
>>> result.ok, result.n_errors, result.n_warnings
(False, 42, 12)
>>> data, log = clean(q, raw, result)
>>> len(raw), len(data)  # the later copies of the 6 duplicated ids are dropped
(4000, 3994)
"""

from .check_result import RULES, CheckResult
from .checks import FLAG_COLUMNS, check_responses
from .cleaning import DROPPABLE, EXCLUSIVE_MODES, LOG_COLUMNS, clean
from .reading import FORMATS, NA_VALUES, read_responses, type_responses
from .writing import write_responses

__all__ = [
    "read_responses", "write_responses", "type_responses", "check_responses", "CheckResult",
    "clean", "RULES", "FLAG_COLUMNS", "LOG_COLUMNS", "EXCLUSIVE_MODES", "DROPPABLE", "FORMATS",
    "NA_VALUES",
]
