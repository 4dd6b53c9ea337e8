"""Load a questionnaire YAML file, reporting ALL problems at once with file, line and path.

YAML is read as YAML 1.2 (ruamel.yaml), so ``yes``/``no``/``on``/``off`` stay strings and
labels and codes keep their meaning. Problems come in three rounds, each reported in full:
YAML syntax, the schema (pydantic), then whole-document checks (duplicate ids, unknown
scales and items, routing to unknown or later questions, constructs with missing items,
codes that are not unique, unsafe expressions).
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError

from ..errors import ExpressionError, Problem, QuestionnaireError
from .expressions import Expression
from .models import Questionnaire, QuestionnaireModel

__all__ = ["load_questionnaire", "questionnaire_from_dict", "json_schema"]


def load_questionnaire(path: str | os.PathLike) -> Questionnaire:
    """Load and check a questionnaire file.

    Raises :class:`~surveykit.errors.QuestionnaireError` listing every problem found, each
    as ``file:line: path: message``.

    Examples
    --------
    >>> from surveykit.questionnaire import load_questionnaire
    >>> q = load_questionnaire("questionnaires/pc_customers.yaml")  # doctest: +SKIP
    >>> q.variable("nps").kind  # doctest: +SKIP
    'nps'
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise QuestionnaireError(Problem(f"questionnaire file not found: {path}; check the path",
                                         file=str(path))) from None
    except UnicodeDecodeError as exc:
        raise QuestionnaireError(Problem(f"not UTF-8 text ({exc.reason} at byte {exc.start}); "
                                         "save the file as UTF-8", file=str(path))) from None
    return questionnaire_from_text(text, source=str(path))


def questionnaire_from_text(text: str, *, source: str = "<string>") -> Questionnaire:
    """Load a questionnaire from YAML text (``source`` names it in error messages)."""
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
        raise QuestionnaireError(Problem(f"YAML syntax error: {exc.problem or exc.context}",
                                         line=line, file=source)) from None
    if not isinstance(doc, dict):
        raise QuestionnaireError(Problem("the file must be a YAML mapping with keys such as "
                                         "id, title, scales, questions", file=source, line=1))
    lines: dict[tuple, int] = {}
    data = _plain(doc, (), lines)
    return questionnaire_from_dict(data, source=source, lines=lines)


def questionnaire_from_dict(data: dict, *, source: str = "<dict>",
                            lines: dict[tuple, int] | None = None) -> Questionnaire:
    """Build a questionnaire from an already-parsed mapping (same checks as the file loader)."""
    lines = lines or {}

    def line_of(path: tuple) -> int | None:
        while path:
            if path in lines:
                return lines[path]
            path = path[:-1]
        return None

    try:
        model = QuestionnaireModel.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = _clean_loc(err["loc"], data)
            problems.append(Problem(_message(err), path=_format_path(loc), line=line_of(loc),
                                    file=source))
        raise QuestionnaireError(_dedupe(problems)) from None
    problems = _check(model, source, line_of)
    if problems:
        raise QuestionnaireError(problems)
    return Questionnaire(model, source=source, lines=lines)


def json_schema() -> dict:
    """The JSON Schema of the questionnaire format (for editors' completion and checks)."""
    schema = QuestionnaireModel.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "surveykit questionnaire"
    return schema


# -- YAML with positions ---------------------------------------------------------------
def _plain(node, path: tuple, lines: dict):
    """Turn ruamel's round-trip nodes into plain dict/list, recording each path's line."""
    if isinstance(node, CommentedMap):
        out = {}
        for key, value in node.items():
            try:
                lines[(*path, key)] = node.lc.key(key)[0] + 1
            except (KeyError, TypeError, AttributeError):
                pass
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
    if hasattr(node, "__str__") and type(node).__module__.startswith("ruamel"):
        # ScalarString, ScalarFloat, ScalarInt... -> plain Python
        for typ in (bool, int, float, str):
            if isinstance(node, typ):
                return typ(node)
    return node


def _clean_loc(loc: tuple, data) -> tuple:
    """Drop pydantic's union-tag elements (e.g. 'grid') so the path matches the document."""
    out, cur = [], data
    for part in loc:
        if isinstance(cur, dict) and part in cur:
            out.append(part)
            cur = cur[part]
        elif isinstance(cur, list) and isinstance(part, int) and part < len(cur):
            out.append(part)
            cur = cur[part]
        elif isinstance(cur, dict) and part == "from_" and "from" in cur:
            out.append("from")
            cur = cur["from"]
        elif isinstance(cur, dict) and isinstance(part, str) and part not in cur and \
                part in ("single", "multi", "grid", "rating", "nps", "numeric", "open", "rank") \
                and cur.get("type") == part:
            continue  # discriminator tag
        else:
            out.append(part)
            cur = None
    return tuple(out)


def _format_path(loc: tuple) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _message(err: dict) -> str:
    kind, msg = err["type"], err["msg"]
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field; check its spelling against `surveykit schema`"
    if kind == "union_tag_invalid":
        return (f"unknown question type {err.get('input', {}).get('type')!r}; "
                f"use one of single, multi, grid, rating, nps, numeric, open, rank")
    if kind == "union_tag_not_found":
        return "question has no 'type'; use one of single, multi, grid, rating, nps, numeric, open, rank"
    return msg[0].lower() + msg[1:] if msg else kind


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen, out = set(), []
    for p in problems:
        key = (p.path, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


# -- whole-document checks ----------------------------------------------------------------
def _check(m: QuestionnaireModel, source: str, line_of) -> list[Problem]:
    problems: list[Problem] = []

    def problem(path: tuple, message: str):
        problems.append(Problem(message, path=_format_path(path), line=line_of(path), file=source))

    def suggest(name, known) -> str:
        close = difflib.get_close_matches(str(name), [str(k) for k in known], n=1)
        return f" (did you mean {close[0]!r}?)" if close else ""

    # scales: unique codes, missing codes distinct from valid codes
    for sid, scale in m.scales.items():
        _unique_codes([o.code for o in scale.codes], ("scales", sid, "codes"), problem)
        _unique_codes([o.code for o in scale.codes] + [c.code for c in scale.missing],
                      ("scales", sid, "missing"), problem, what="missing code")
        if scale.top_box is not None and scale.top_box >= len(scale.codes):
            problem(("scales", sid, "top_box"), f"top_box {scale.top_box} must be smaller than "
                    f"the number of codes ({len(scale.codes)})")

    # ids: questions, grid items, generated columns, derived variables, roles
    owners: dict[str, tuple] = {}

    def claim(name: str, path: tuple, what: str):
        if name in owners:
            problem(path, f"duplicate id {name!r} ({what}); already used at "
                    f"{_format_path(owners[name])}, line {line_of(owners[name])}")
        else:
            owners[name] = path

    r = m.roles
    for role in ("respondent_id", "customer_id", "duration", "base_weight"):
        value = getattr(r, role)
        if value:
            claim(value, ("roles", role), f"roles.{role}")

    order: dict[str, int] = {}  # question/column id -> question index (for routing order)
    kinds: dict[str, str] = {}
    for i, q in enumerate(m.questions):
        qpath = ("questions", i)
        claim(q.id, (*qpath, "id"), "question")
        order[q.id] = i
        kinds[q.id] = q.type
        scale_id = getattr(q, "scale", None)
        if scale_id is not None and scale_id not in m.scales:
            problem((*qpath, "scale"), f"unknown scale {scale_id!r}{suggest(scale_id, m.scales)}; "
                    f"declared scales: {', '.join(m.scales) or 'none'}")
        if q.type == "single":
            if (q.options is None) == (q.scale is None):
                problem(qpath, f"single question {q.id!r} needs exactly one of 'options' or 'scale'")
            if q.options:
                _unique_codes([o.code for o in q.options] + [c.code for c in q.missing],
                              (*qpath, "options"), problem)
        if q.type in ("multi", "rank"):
            _unique_codes([o.code for o in q.options], (*qpath, "options"), problem)
            for j, o in enumerate(q.options):
                claim(f"{q.id}_{o.code}", (*qpath, "options", j), f"column of {q.id!r}")
        if q.type == "multi":
            if all(o.exclusive for o in q.options):
                problem((*qpath, "options"), "every option is exclusive; mark only codes such as "
                        "'none of these' as exclusive")
        elif any(o.exclusive for o in getattr(q, "options", None) or []):
            problem((*qpath, "options"), f"'exclusive' only applies to multi questions, "
                    f"{q.id!r} is {q.type}")
        if q.type == "grid":
            for j, item in enumerate(q.items):
                claim(item.id, (*qpath, "items", j, "id"), f"item of grid {q.id!r}")
                order[item.id] = i
                kinds[item.id] = "grid_item"
        if q.type == "numeric" and q.min is not None and q.max is not None and q.min > q.max:
            problem((*qpath, "min"), f"min {q.min} is greater than max {q.max}")
        if q.type == "rank" and q.rank_max and q.rank_max > len(q.options):
            problem((*qpath, "rank_max"), f"rank_max {q.rank_max} exceeds the "
                    f"{len(q.options)} options")

    # routing: safe expressions that refer to EARLIER questions only
    for i, q in enumerate(m.questions):
        if not q.ask_if:
            continue
        path = ("questions", i, "ask_if")
        expr = _parse(q.ask_if, path, f"question {q.id!r}", problem)
        if expr is None:
            continue
        for name in sorted(expr.names):
            if name not in order:
                problem(path, f"routing of {q.id!r} refers to unknown question {name!r}"
                        f"{suggest(name, order)}")
            elif order[name] >= i:
                problem(path, f"routing of {q.id!r} refers to {name!r}, which is asked "
                        f"{'at the same point' if order[name] == i else 'later'}; routing may "
                        "only use earlier questions")
        _check_selected(expr, m, path, problem)

    # derived variables: bands from numeric answers, rules over questions and earlier derived
    derived_known = dict(order)
    for i, d in enumerate(m.derived):
        path = ("derived", i)
        claim(d.id, (*path, "id"), "derived variable")
        if (d.bands is None) == (d.rules is None):
            problem(path, f"derived variable {d.id!r} needs exactly one of 'bands' or 'rules'")
        if d.bands is not None:
            if d.from_ is None:
                problem(path, f"bands of {d.id!r} need 'from: <numeric question>'")
            elif d.from_ not in derived_known:
                problem((*path, "from"), f"unknown question {d.from_!r}{suggest(d.from_, order)}")
            elif kinds.get(d.from_) not in ("numeric", "rating", "nps", "grid_item"):
                problem((*path, "from"), f"bands need a numeric question; {d.from_!r} is "
                        f"{kinds.get(d.from_)}")
            _unique_codes([b.code for b in d.bands], (*path, "bands"), problem)
            for j, b in enumerate(d.bands):
                if b.min is not None and b.max is not None and b.min > b.max:
                    problem((*path, "bands", j), f"band {b.label!r} has min {b.min} > max {b.max}")
        if d.rules is not None:
            _unique_codes([r_.code for r_ in d.rules], (*path, "rules"), problem)
            for j, rule in enumerate(d.rules):
                rpath = (*path, "rules", j, "when")
                expr = _parse(rule.when, rpath, f"derived {d.id!r}", problem)
                if expr is None:
                    continue
                for name in sorted(expr.names):
                    if name not in derived_known:
                        problem(rpath, f"rule of {d.id!r} refers to unknown variable {name!r}"
                                f"{suggest(name, derived_known)}")
                _check_selected(expr, m, rpath, problem)
        derived_known[d.id] = len(m.questions) + i
        kinds[d.id] = "derived"

    # constructs: items exist and are numeric; reverse within items; min_items feasible
    measurable = {k for k, v in kinds.items() if v in ("grid_item", "rating", "nps", "numeric")}
    for i, c in enumerate(m.constructs):
        path = ("constructs", i)
        claim(c.id, (*path, "id"), "construct")
        for j, item in enumerate(c.items):
            if item not in kinds:
                problem((*path, "items", j), f"construct {c.id!r} refers to unknown item {item!r}"
                        f"{suggest(item, measurable)}")
            elif item not in measurable:
                problem((*path, "items", j), f"construct {c.id!r}: {item!r} is a {kinds[item]} "
                        "question; constructs take grid items, rating, NPS or numeric questions")
        if len(set(c.items)) != len(c.items):
            problem((*path, "items"), f"construct {c.id!r} lists an item twice")
        for j, item in enumerate(c.reverse):
            if item not in c.items:
                problem((*path, "reverse", j), f"reverse-keyed {item!r} is not one of the "
                        f"items of construct {c.id!r}")
        if c.min_items is not None and c.min_items > len(c.items):
            problem((*path, "min_items"), f"min_items {c.min_items} exceeds the "
                    f"{len(c.items)} items of construct {c.id!r}")

    # roles: weighting and segment variables exist and are categorical; not PII
    pii = {q.id for q in m.questions if q.pii}
    categorical = {k for k, v in kinds.items() if v in ("single", "derived", "rating")}
    for role in ("weighting", "segments"):
        for j, name in enumerate(getattr(r, role)):
            if name not in kinds:
                problem(("roles", role, j), f"unknown variable {name!r}{suggest(name, kinds)}")
            elif name not in categorical:
                problem(("roles", role, j), f"{role} variable {name!r} must be a single-choice "
                        f"question or a derived variable, not {kinds[name]}")
            elif name in pii:
                problem(("roles", role, j), f"{name!r} is marked pii and cannot be a {role} variable")
    return problems


def _parse(text: str, path: tuple, owner: str, problem) -> Expression | None:
    try:
        return Expression.parse(text)
    except ExpressionError as exc:
        problem(path, f"{owner}: {exc.problems[0].message}")
        return None


def _check_selected(expr: Expression, m: QuestionnaireModel, path: tuple, problem) -> None:
    questions = {q.id: q for q in m.questions}
    for qid, code in sorted(expr.selected, key=str):
        q = questions.get(qid)
        if q is None:
            continue  # reported as an unknown name
        if q.type != "multi":
            problem(path, f"selected({qid}, {code!r}): {qid!r} is {q.type}, not a multi question; "
                    f"compare it instead, e.g. '{qid} == {code!r}'")
        elif code not in {o.code for o in q.options}:
            problem(path, f"selected({qid}, {code!r}): {qid!r} has no option {code!r}")


def _unique_codes(codes: list, path: tuple, problem, what: str = "code") -> None:
    seen, dup = set(), []
    for code in codes:
        if code in seen and code not in dup:
            dup.append(code)
        seen.add(code)
    if dup:
        problem(path, f"{what}s are not unique: {', '.join(map(repr, dup))} appear more than once")
