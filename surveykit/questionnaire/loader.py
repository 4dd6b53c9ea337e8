"""Load a questionnaire YAML file, reporting ALL problems at once with file, line and path.

YAML is read as YAML 1.2 (ruamel.yaml), so ``yes``/``no``/``on``/``off`` stay strings and
labels and codes keep their meaning; a number written where text belongs (``version: 1.10``,
``label: 10``) is kept as the text the author wrote. Problems come in two rounds: YAML
syntax (which stops reading), then everything else in one list: the schema (pydantic) and
the whole-document checks (duplicate ids, unknown scales and items, routing to unknown or
later questions, constructs with missing items, codes that are not unique, unsafe
expressions). Parts of the document that fail the schema are left out of the document
checks without producing follow-on errors.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.scalarbool import ScalarBoolean

from ..errors import Problem, QuestionnaireError
from .checks import Doc, check_document, format_path, partial_doc
from .core import Questionnaire
from .models import QUESTION_TYPES, QuestionnaireModel

__all__ = ["load_questionnaire", "questionnaire_from_dict", "questionnaire_from_text",
           "json_schema"]

_TYPES_TEXT = ", ".join(QUESTION_TYPES)
# keys whose value is text even when YAML reads a number (version: 1.10, label: 10)
_TEXT_KEYS = frozenset({"id", "title", "version", "language", "description", "label", "text",
                        "instruction", "unit", "when", "ask_if"})
# keys whose value may be written as a mapping {code: label} (the short form of a list)
_CODE_MAPS = frozenset({"codes", "options", "missing"})


def load_questionnaire(path: str | os.PathLike) -> Questionnaire:
    """Load and check a questionnaire file.

    Parameters
    ----------
    path : str or path-like
        The questionnaire YAML file (UTF-8).

    Returns
    -------
    Questionnaire

    Raises
    ------
    QuestionnaireError
        Listing every problem found, each as ``file:line N: path: message``.

    Examples
    --------
    >>> from surveykit.questionnaire import load_questionnaire
    >>> q = load_questionnaire("questionnaires/smart_lock_customers.yaml")
    >>> q.variable("nps").kind
    'nps'
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise QuestionnaireError(Problem(f"questionnaire file not found: {path}; check the path",
                                         file=str(path))) from None
    except IsADirectoryError:
        raise QuestionnaireError(Problem(f"{path} is a folder; give the questionnaire's .yaml "
                                         "file", file=str(path))) from None
    except UnicodeDecodeError as exc:
        raise QuestionnaireError(Problem(f"not UTF-8 text ({exc.reason} at byte {exc.start}); "
                                         "save the file as UTF-8", file=str(path))) from None
    except OSError as exc:
        raise QuestionnaireError(Problem(f"cannot read the file: {exc.strerror}",
                                         file=str(path))) from None
    return questionnaire_from_text(text, source=str(path))


def questionnaire_from_text(text: str, *, source: str = "<string>") -> Questionnaire:
    """Load a questionnaire from YAML text (``source`` names it in error messages).

    Examples
    --------
    >>> q = questionnaire_from_text('''
    ... id: demo
    ... title: Demo
    ... questions:
    ...   - {id: q1, type: single, text: Agree?, options: {1: yes, 2: no}}
    ... ''')
    >>> q.labels("q1")
    {1: 'yes', 2: 'no'}
    """
    yaml = YAML(typ="rt")
    yaml.version = (1, 2)
    try:
        doc = yaml.load(text)
    except DuplicateKeyError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise QuestionnaireError(Problem(f"duplicate key: {exc.problem}; each key may appear "
                                         "once per mapping", line=line, file=source)) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        message = f"YAML syntax error: {exc.problem or exc.context}"
        if exc.problem and exc.context:
            where = f" at line {exc.context_mark.line + 1}" if exc.context_mark else ""
            message += f" ({exc.context}{where})"
        raise QuestionnaireError(Problem(message, line=line, file=source)) from None
    if not isinstance(doc, dict):
        raise QuestionnaireError(Problem("the file must be a YAML mapping with keys such as "
                                         "id, title, scales, questions", file=source, line=1))
    lines: dict[tuple, int] = {}
    data = _plain(doc, (), lines)
    return questionnaire_from_dict(data, source=source, lines=lines)


def questionnaire_from_dict(data: dict, *, source: str = "<dict>",
                            lines: dict[tuple, int] | None = None) -> Questionnaire:
    """Build a questionnaire from an already-parsed mapping (same checks as the file loader).

    Examples
    --------
    >>> q = questionnaire_from_dict({"id": "demo", "title": "Demo", "questions": [
    ...     {"id": "age", "type": "numeric", "text": "Your age?", "min": 18}]})
    >>> q.variable("age").min
    18.0
    """
    lines = lines or {}

    def line_of(path: tuple) -> int | None:
        while path:
            if path in lines:
                return lines[path]
            path = path[:-1]
        return None

    if not isinstance(data, dict):
        raise QuestionnaireError(Problem("a questionnaire must be a mapping with keys such as "
                                         "id, title, scales, questions", file=source))
    try:
        model = QuestionnaireModel.model_validate(data)
    except ValidationError as exc:
        problems = _schema_problems(exc, data, (), source, line_of)
        problems += check_document(partial_doc(data), source, line_of)
        raise QuestionnaireError(_dedupe(problems)) from None
    problems = check_document(Doc.from_model(model), source, line_of)
    if problems:
        raise QuestionnaireError(_dedupe(problems))
    return Questionnaire(model, source=source, lines=lines)


def json_schema() -> dict:
    """The JSON Schema of the questionnaire format (for editors' completion and checks).

    Lists of codes and options may also be written as a mapping ``{code: label}`` or
    ``{code: {label: ..., exclusive: true}}``; the schema says so.

    Examples
    --------
    >>> json_schema()["title"]
    'surveykit questionnaire'
    """
    schema = QuestionnaireModel.model_json_schema(by_alias=True)
    defs = schema["$defs"]
    for ref_name in ("Option", "MissingCode"):
        spec = {k: v for k, v in defs[ref_name].items() if k not in ("title", "description")}
        spec["properties"] = {k: v for k, v in spec["properties"].items() if k != "code"}
        spec["required"] = [r for r in spec.get("required", []) if r != "code"]
        spec["title"] = f"{ref_name} (without code)"
        defs[f"{ref_name}Spec"] = spec
    for model_def in defs.values():
        for name, prop in model_def.get("properties", {}).items():
            if name not in _CODE_MAPS:
                continue
            inner = prop.get("anyOf", [prop])
            for k, alt in enumerate(inner):
                ref = alt.get("items", {}).get("$ref", "") if alt.get("type") == "array" else ""
                if ref.endswith(("/Option", "/MissingCode")):
                    mapping = {"type": "object", "additionalProperties": {
                        "anyOf": [{"type": "string"}, {"$ref": ref + "Spec"}]},
                        "description": "short form: {code: label} or {code: {label: ...}}"}
                    if "minItems" in alt:
                        mapping["minProperties"] = alt["minItems"]
                    inner[k] = {"anyOf": [alt, mapping]}
            if "anyOf" not in prop:
                new = inner[0]
                extra = {k: v for k, v in prop.items() if k in ("title", "default", "description")}
                model_def["properties"][name] = {**new, **extra}
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "surveykit questionnaire"
    return schema


# -- YAML with positions ---------------------------------------------------------------
def _plain(node, path: tuple, lines: dict):
    """Turn ruamel's round-trip nodes into plain dict/list, recording each path's line."""
    if isinstance(node, CommentedMap):
        out = {}
        for key, value in node.items():
            key = _plain(key, (), {})
            try:
                lines[(*path, key)] = node.lc.key(key)[0] + 1
            except (KeyError, TypeError, AttributeError):
                pass
            text_value = key in _TEXT_KEYS or (path and path[-1] in _CODE_MAPS)
            if text_value and not isinstance(value, str | bool | dict | list | None):
                out[key] = _as_written(value)  # a label or text written as a number
            else:
                out[key] = _plain(value, (*path, key), lines)
        return out
    if isinstance(node, CommentedSeq):
        out = []
        for i, value in enumerate(node):
            try:
                lines[(*path, i)] = node.lc.item(i)[0] + 1
            except (KeyError, TypeError, AttributeError):
                pass
            out.append(_plain(value, (*path, i), lines))
        return out
    if isinstance(node, ScalarBoolean):  # an anchored true/false (a subclass of int)
        return bool(node)
    if type(node).__module__.startswith("ruamel"):
        # ScalarString, ScalarFloat, ScalarInt... -> plain Python
        for typ in (bool, int, float, str):
            if isinstance(node, typ):
                return typ(node)
    return node


def _as_written(value) -> str:
    """The text of a scalar as the author wrote it (``1.10`` stays ``"1.10"``)."""
    if not type(value).__module__.startswith("ruamel"):
        return str(value)
    buf = io.StringIO()
    YAML(typ="rt").dump(value, buf)
    return buf.getvalue().removesuffix("\n").removesuffix("...").strip()


def _clean_loc(loc: tuple, data) -> tuple:
    """Map pydantic's error location onto the document's keys.

    Drops union-tag elements (e.g. ``'grid'``), maps ``from_`` to ``from`` and the list index
    of a short-form ``{code: label}`` mapping to its code.
    """
    out, cur = [], data
    prev = None
    for part in loc:
        if isinstance(cur, dict) and prev in _CODE_MAPS and isinstance(part, int) \
                and 0 <= part < len(cur):
            key = list(cur)[part]
            out.append(key)
            cur = cur[key]
            cur = cur if isinstance(cur, dict) else {"label": cur}
        elif isinstance(cur, dict) and part in cur:
            out.append(part)
            cur = cur[part]
        elif isinstance(cur, list) and isinstance(part, int) and part < len(cur):
            out.append(part)
            cur = cur[part]
        elif isinstance(cur, dict) and part == "from_" and "from" in cur:
            out.append("from")
            cur = cur["from"]
        elif isinstance(cur, dict) and part in QUESTION_TYPES and cur.get("type") == part:
            continue  # discriminator tag
        else:
            out.append(part)
            cur = None
        prev = part
    return tuple(out)


def _message(err: dict) -> str:
    kind, msg = err["type"], err["msg"]
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field; check its spelling against `surveykit schema`"
    if kind == "union_tag_invalid":
        found = err.get("input", {}).get("type") if isinstance(err.get("input"), dict) else None
        return f"unknown question type {found!r}; use one of {_TYPES_TEXT}"
    if kind == "union_tag_not_found":
        return f"question has no 'type'; use one of {_TYPES_TEXT}"
    if kind == "string_pattern_mismatch":
        extra = " . -" if err["loc"] == ("id",) else ""
        return (f"{err.get('input')!r} is not a valid id; ids start with a letter and use "
                f"only letters, digits and _{extra}")
    if kind == "value_error":
        msg = msg.removeprefix("Value error, ")
    return msg[0].lower() + msg[1:] if msg else kind


def _schema_problems(exc: ValidationError, data, prefix: tuple, source, line_of) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = _clean_loc((*prefix, *err["loc"]), data)
        problems.append(Problem(_message(err), path=format_path(loc), line=line_of(loc),
                                file=source))
    return problems


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen, out = set(), []
    for p in problems:
        key = (p.path, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


