"""Reading, writing, checking and cleaning survey responses against the questionnaire.

>>> from surveykit.questionnaire import load_questionnaire
>>> from surveykit.responses import read_responses, check_responses, clean
>>> q = load_questionnaire("questionnaires/pc_customers.yaml")  # doctest: +SKIP
>>> raw = read_responses("data/demo/responses.csv", q)  # doctest: +SKIP
>>> result = check_responses(q, raw)  # doctest: +SKIP
>>> data, log = clean(q, raw, result)  # doctest: +SKIP
"""

from .checks import FLAG_COLUMNS, RULES, CheckResult, check_responses
from .cleaning import DROPPABLE, EXCLUSIVE_MODES, LOG_COLUMNS, clean
from .reading import FORMATS, NA_VALUES, read_responses, type_responses, write_responses

__all__ = [
    "read_responses", "write_responses", "type_responses", "check_responses", "CheckResult",
    "clean", "RULES", "FLAG_COLUMNS", "LOG_COLUMNS", "EXCLUSIVE_MODES", "DROPPABLE", "FORMATS",
    "NA_VALUES",
]
