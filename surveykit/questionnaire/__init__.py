"""Questionnaires: the schema, YAML loading with located errors, routing expressions and the
printable questionnaire / codebook."""

from .core import Questionnaire, Variable
from .expressions import Expression
from .loader import (
    json_schema,
    load_questionnaire,
    questionnaire_from_dict,
    questionnaire_from_text,
)
from .models import NPS_SCALE, Construct, QuestionnaireModel, Scale
from .render import describe_condition, render_html, render_markdown, write_document

__all__ = [
    "Expression", "json_schema", "load_questionnaire", "questionnaire_from_dict",
    "questionnaire_from_text", "Questionnaire", "QuestionnaireModel", "Scale", "Construct",
    "Variable", "NPS_SCALE", "describe_condition", "render_html", "render_markdown",
    "write_document",
]
