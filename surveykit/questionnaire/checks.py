"""Whole-document checks of a questionnaire: everything the schema alone cannot see.

Duplicate ids (questions, grid items, generated columns, derived variables, constructs,
roles), unknown scales and items, routing that refers to unknown or later questions, rules
that refer to later derived variables, constructs with missing or non-numeric items, codes
and missing codes that are not unique, unsafe expressions, and the path model's ``paths:``
(:mod:`._checks_paths`), the sample design (:mod:`._checks_design`) and the ``report:`` block
(:mod:`._checks_report`). Each problem is located by its document path
(``questions[12].scale``) and source line.

When the schema fails, :func:`partial_doc` keeps the parts that do validate so the checks
still run; ids of the parts that failed are known, so they cause no follow-on errors.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from pydantic import TypeAdapter, ValidationError

from .._util import repeated
from ..errors import ExpressionError, Problem
from ._checks_design import check_roles_design
from ._checks_paths import check_paths
from ._checks_report import check_report
from .expressions import MAX_NUMBER, Expression
from .models import (
    DERIVED_KINDS,
    QUESTION_TYPES,
    Construct,
    Derived,
    Question,
    QuestionnaireModel,
    ReportBlock,
    Roles,
    Scale,
)

__all__ = ["Doc", "partial_doc", "check_document", "format_path"]


def format_path(loc: tuple) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int) and not isinstance(part, bool):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text



# -- the document as far as it validates --------------------------------------------------
@dataclass
class Doc:
    """The parts of a document that passed the schema, with their original positions.

    ``broken`` holds ids (questions, grid items, scales, derived variables) of parts that
    failed the schema: they are known, so they cause no follow-on "unknown" errors.
    """

    scales: dict[str, Scale] = field(default_factory=dict)
    questions: list[tuple[int, object]] = field(default_factory=list)
    derived: list[tuple[int, Derived]] = field(default_factory=list)
    constructs: list[tuple[int, Construct]] = field(default_factory=list)
    roles: Roles | None = None
    report: ReportBlock | None = None
    paths: dict[str, list[str]] = field(default_factory=dict)
    broken: dict[str, tuple[int, str, str]] = field(default_factory=dict)  # id -> (pos, kind, of)
    n_questions: int = 0

    @classmethod
    def from_model(cls, m: QuestionnaireModel) -> Doc:
        return cls(scales=dict(m.scales), questions=list(enumerate(m.questions)),
                   derived=list(enumerate(m.derived)),
                   constructs=list(enumerate(m.constructs)), roles=m.roles,
                   report=m.report, paths=dict(m.paths), n_questions=len(m.questions))


def partial_doc(data: dict) -> Doc:
    """Validate each part on its own, keeping what passes (for the document checks)."""
    doc = Doc()
    scales = data.get("scales")
    if isinstance(scales, dict):
        for sid, raw in scales.items():
            try:
                doc.scales[sid] = Scale.model_validate(raw)
            except ValidationError:
                doc.broken[str(sid)] = (-1, "scale", "scale")
    questions = data.get("questions")
    if isinstance(questions, list):
        doc.n_questions = len(questions)
        adapter = TypeAdapter(Question)
        for i, raw in enumerate(questions):
            try:
                doc.questions.append((i, adapter.validate_python(raw)))
            except ValidationError:
                if not isinstance(raw, dict):
                    continue
                kind = raw.get("type") if raw.get("type") in QUESTION_TYPES else "unknown"
                if isinstance(raw.get("id"), str):
                    doc.broken[raw["id"]] = (i, kind, "question")
                for item in raw.get("items") or [] if isinstance(raw.get("items"), list) else []:
                    if isinstance(item, dict) and isinstance(item.get("id"), str):
                        doc.broken[item["id"]] = (i, "grid_item", "grid item")
    for key, model, target in (("derived", Derived, doc.derived),
                               ("constructs", Construct, doc.constructs)):
        raws = data.get(key)
        if not isinstance(raws, list):
            continue
        for i, raw in enumerate(raws):
            try:
                target.append((i, model.model_validate(raw)))
            except ValidationError:
                if isinstance(raw, dict) and isinstance(raw.get("id"), str):
                    doc.broken[raw["id"]] = (doc.n_questions + i if key == "derived" else -1,
                                             "derived" if key == "derived" else "construct",
                                             key)
    try:
        doc.roles = Roles.model_validate(data.get("roles") or {})
    except ValidationError:
        doc.roles = None
    if isinstance(data.get("report"), dict):
        try:
            doc.report = ReportBlock.model_validate(data["report"])
        except ValidationError:
            doc.report = None
    if isinstance(data.get("paths"), dict):
        doc.paths = {k: list(v) for k, v in data["paths"].items() if isinstance(k, str)
                     and isinstance(v, list) and all(isinstance(f, str) for f in v)}
    return doc


# -- whole-document checks ----------------------------------------------------------------
_MEASURABLE = ("grid_item", "rating", "nps", "numeric")
_COMPARABLE = ("single", "rating", "nps", "numeric", "grid_item", "multi_option", "rank_option",
               "derived", "other_text")


def check_document(doc: Doc, source: str, line_of) -> list[Problem]:
    problems: list[Problem] = []

    def problem(path: tuple, message: str):
        problems.append(Problem(message, path=format_path(path), line=line_of(path), file=source))

    def suggest(name, known) -> str:
        close = difflib.get_close_matches(str(name), [str(k) for k in known], n=1)
        return f" (did you mean {close[0]!r}?)" if close else ""

    broken = doc.broken
    # scales: unique codes, missing codes distinct from valid codes
    for sid, scale in doc.scales.items():
        _unique_codes([o.code for o in scale.codes], ("scales", sid, "codes"), problem)
        _missing_clash([o.code for o in scale.codes], [c.code for c in scale.missing],
                       ("scales", sid, "missing"), problem)
        if scale.top_box is not None and scale.top_box >= len(scale.codes):
            problem(("scales", sid, "top_box"), f"top_box {scale.top_box} must be smaller than "
                    f"the number of codes ({len(scale.codes)})")
        if any(o.exclusive or o.other for o in scale.codes):
            problem(("scales", sid, "codes"), "'exclusive' and 'other' belong on the options "
                    "of a question, not on a scale")
    known_scales = set(doc.scales) | {k for k, v in broken.items() if v[1] == "scale"}

    # ids: questions, grid items, generated columns, derived variables, roles
    owners: dict[str, tuple] = {}

    def claim(name: str, path: tuple, what: str):
        if name in owners:
            problem(path, f"duplicate id {name!r} ({what}); already used at "
                    f"{format_path(owners[name])}, line {line_of(owners[name])}")
        else:
            owners[name] = path

    r = doc.roles
    if r is not None:
        for role in ("respondent_id", "customer_id", "duration", "base_weight", "wave"):
            value = getattr(r, role)
            if value:
                claim(value, ("roles", role), f"roles.{role}")

    # question/column id -> question position (routing order) and kind
    order: dict[str, int] = {k: v[0] for k, v in broken.items() if v[2] in ("question",
                                                                           "grid item")}
    kinds: dict[str, str] = {k: v[1] for k, v in broken.items() if v[2] in ("question",
                                                                          "grid item",
                                                                          "derived")}
    questions = {}
    for i, q in doc.questions:
        questions[q.id] = q
        qpath = ("questions", i)
        claim(q.id, (*qpath, "id"), "question")
        order[q.id] = i
        kinds[q.id] = q.type
        scale_id = getattr(q, "scale", None)
        if scale_id is not None and scale_id not in known_scales:
            problem((*qpath, "scale"), f"unknown scale {scale_id!r}{suggest(scale_id, doc.scales)}"
                    f"; declared scales: {', '.join(doc.scales) or 'none'}")
        options = getattr(q, "options", None) or []
        if q.type == "single":
            if (q.options is None) == (q.scale is None):
                problem(qpath, f"single question {q.id!r} needs exactly one of 'options' "
                        "or 'scale'")
            scale = doc.scales.get(q.scale) if q.scale else None
            _unique_codes([o.code for o in options], (*qpath, "options"), problem)
            valid = [o.code for o in (scale.codes if scale else options)]
            _missing_clash(valid, [c.code for c in (scale.missing if scale else [])]
                           + [c.code for c in q.missing], (*qpath, "missing"), problem)
        if q.type == "nps":
            _missing_clash(list(range(11)), [c.code for c in q.missing], (*qpath, "missing"),
                           problem)
        if q.type in ("multi", "rank"):
            _unique_codes([o.code for o in q.options], (*qpath, "options"), problem)
            for j, o in enumerate(q.options):
                claim(f"{q.id}_{o.code}", (*qpath, "options", j), f"column of {q.id!r}")
        for j, o in enumerate(options):
            if o.other:
                claim(f"{q.id}_{o.code}_text", (*qpath, "options", j),
                      f"other-specify column of {q.id!r}")
        if q.type == "multi":
            if all(o.exclusive for o in q.options):
                problem((*qpath, "options"), "every option is exclusive; mark only codes such as "
                        "'none of these' as exclusive")
            if q.max_choices and q.max_choices > len(q.options):
                problem((*qpath, "max_choices"), f"max_choices {q.max_choices} exceeds the "
                        f"{len(q.options)} options")
        elif any(o.exclusive for o in options):
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
    # column kinds for comparisons: multi/rank option columns are columns too
    for q in questions.values():
        if q.type in ("multi", "rank"):
            for o in q.options:
                kinds.setdefault(f"{q.id}_{o.code}", f"{q.type}_option")
                order.setdefault(f"{q.id}_{o.code}", order[q.id])
    derived_ids = {d.id for _, d in doc.derived} | {k for k, v in broken.items()
                                                     if v[1] == "derived"}
    # columns whose codes are text: no arithmetic on them (derived ones are added below)
    text_coded = set()
    for q in questions.values():
        if q.type == "single":
            scale = doc.scales.get(q.scale) if q.scale else None
            codes = [o.code for o in (scale.codes + scale.missing if scale else q.options or [])]
            if any(isinstance(c, str) for c in codes + [m.code for m in q.missing]):
                text_coded.add(q.id)

    def check_names(expr: Expression, path: tuple, owner: str, known: dict, position: int,
                    what: str = "rule"):
        for name in sorted(expr.names):
            if name not in known:
                if name in derived_ids and position < doc.n_questions:
                    problem(path, f"routing of {owner} refers to derived variable {name!r}; "
                            "routing may only use questions asked earlier (use the question "
                            "it is derived from)")
                elif name in derived_ids:
                    problem(path, f"{what} of {owner} refers to derived variable {name!r}, "
                            "which is defined later; move it above")
                else:
                    unknown = "question" if position < doc.n_questions else "variable"
                    problem(path, f"{'routing' if position < doc.n_questions else what} of "
                            f"{owner} refers to unknown {unknown} {name!r}"
                            f"{suggest(name, known)}")
            elif known[name] >= position and position < doc.n_questions:
                problem(path, f"routing of {owner} refers to {name!r}, which is asked "
                        f"{'at the same point' if known[name] == position else 'later'}; "
                        "routing may only use earlier questions")
        for name in sorted(expr.numbers):
            kind = kinds.get(name)
            if name in known and kind is not None and (
                    kind not in (*_ARITHMETIC, "unknown") or name in text_coded):
                problem(path, f"{owner}: {name!r} {_not_a_number(name, kind, questions)}")
        for name in sorted(expr.values - expr.numbers):
            kind = kinds.get(name)
            if name in known and kind is not None and kind not in (*_COMPARABLE, "unknown"):
                hint = {"multi": f"use selected({name}, code)",
                        "grid": "compare one of its items",
                        "open": f"use answered({name})",
                        "rank": f"compare one of its columns such as {name}_1"}.get(kind, "")
                problem(path, f"{owner}: {name!r} is a {kind} question and cannot be compared"
                        f"{'; ' + hint if hint else ''}")
        for qid, code in sorted(expr.selected, key=str):
            q = questions.get(qid)
            if q is None:
                continue  # reported as an unknown name, or the question failed the schema
            if q.type != "multi":
                problem(path, f"selected({qid}, {code!r}): {qid!r} is {q.type}, not a multi "
                        f"question; compare it instead, e.g. '{qid} == {code!r}'")
            elif code not in {o.code for o in q.options}:
                problem(path, f"selected({qid}, {code!r}): {qid!r} has no option {code!r}; "
                        f"its codes are {', '.join(repr(o.code) for o in q.options)}")

    # routing: safe expressions that refer to EARLIER questions only
    for i, q in doc.questions:
        if not q.ask_if:
            continue
        path = ("questions", i, "ask_if")
        expr = _parse(q.ask_if, path, f"question {q.id!r}", problem)
        if expr is not None:
            check_names(expr, path, repr(q.id), order, i)

    # derived variables: bands from numeric answers, rules over questions and earlier derived
    known = dict(order)
    for k, (pos, kind, _) in broken.items():
        if kind == "derived":
            known[k] = pos
    constructs = {c.id: c for _, c in doc.constructs}
    for i, d in doc.derived:
        path = ("derived", i)
        position = doc.n_questions + i
        claim(d.id, (*path, "id"), "derived variable")
        given = [k for k in DERIVED_KINDS
                 if getattr(d, "construct_" if k == "construct" else k) is not None]
        if len(given) != 1:
            problem(path, f"derived variable {d.id!r} needs exactly one of "
                    f"{', '.join(map(repr, DERIVED_KINDS[:-1]))} or 'cuts'"
                    + (f"; it has {' and '.join(map(repr, given))}" if given else ""))
        divides = {"bands", "quantiles", "cuts"} & set(given)
        if divides:
            kind = sorted(divides)[0]
            from_kind = kinds.get(d.from_)
            if d.from_ is None:
                problem(path, f"{kind} of {d.id!r} need 'from: <numeric question or derived "
                        "variable>'")
            elif d.from_ not in known:
                problem((*path, "from"), f"unknown question {d.from_!r}"
                        f"{suggest(d.from_, known)}")
            elif d.from_ in text_coded:
                problem((*path, "from"), f"{kind} need a numeric question; {d.from_!r} has "
                        "text codes")
            elif from_kind not in (*_MEASURABLE, "derived", "unknown"):
                problem((*path, "from"), f"{kind} need a numeric question; {d.from_!r} is "
                        f"{from_kind}")
        elif d.from_ is not None:
            problem((*path, "from"), "'from' applies to bands, quantiles and cuts only; "
                    + ("rules name their variables in 'when'" if d.rules is not None else
                       "compute names its variables in the expression"
                       if d.compute is not None else "a construct names its items"))
        if d.bands is not None:
            _unique_codes([b.code for b in d.bands], (*path, "bands"), problem)
            for j, b in enumerate(d.bands):
                for end in ("min", "max"):
                    _number_check(getattr(b, end), (*path, "bands", j, end), problem)
                if b.min is not None and b.max is not None and b.min > b.max:
                    problem((*path, "bands", j), f"band {b.label!r} has min {b.min} > max {b.max}")
        if d.cuts is not None:
            for j, cut in enumerate(d.cuts):
                _number_check(cut, (*path, "cuts", j), problem)
            if any(b <= a for a, b in zip(d.cuts, d.cuts[1:], strict=False)):
                problem((*path, "cuts"), f"cut points must increase, got "
                        f"{', '.join(f'{c:g}' for c in d.cuts)}")
        if d.labels is not None:
            k = d.quantiles if d.quantiles is not None else (
                len(d.cuts) + 1 if d.cuts is not None else None)
            if k is None:
                problem((*path, "labels"), "'labels' name the groups of quantiles or cuts; "
                        "bands and rules carry their own labels")
            elif len(d.labels) != k:
                problem((*path, "labels"), f"{len(d.labels)} label(s) for {k} groups; give "
                        "one label per group, lowest first")
        if d.scale_100 and d.construct_ is None:
            problem((*path, "scale_100"), "'scale_100' applies to construct scores only; "
                    "rescale a computed number in its expression, e.g. '(x - 1) / 4 * 100'")
        if d.compute is not None:
            cpath = (*path, "compute")
            expr = _parse(d.compute, cpath, f"derived {d.id!r}", problem, number=True)
            if expr is not None:
                check_names(expr, cpath, repr(d.id), known, position, what="compute")
        if d.construct_ is not None:
            _check_construct_score(d, constructs.get(d.construct_), (*path, "construct"),
                                   doc, questions, problem, suggest)
        if d.rules is not None:
            _unique_codes([r_.code for r_ in d.rules], (*path, "rules"), problem)
            for j, rule in enumerate(d.rules):
                rpath = (*path, "rules", j, "when")
                expr = _parse(rule.when, rpath, f"derived {d.id!r}", problem)
                if expr is not None:
                    check_names(expr, rpath, repr(d.id), known, position)
        known[d.id] = position
        kinds[d.id] = "derived"
        if any(isinstance(c, str) for c in d.categories):
            text_coded.add(d.id)

    # constructs: items exist and are numeric; reverse within items; min_items feasible
    measurable = {k for k, v in kinds.items() if v in _MEASURABLE}
    for i, c in doc.constructs:
        path = ("constructs", i)
        claim(c.id, (*path, "id"), "construct")
        for j, item in enumerate(c.items):
            if item not in kinds:
                problem((*path, "items", j), f"construct {c.id!r} refers to unknown item {item!r}"
                        f"{suggest(item, measurable)}")
            elif item not in measurable and kinds[item] != "unknown":
                problem((*path, "items", j), f"construct {c.id!r}: {item!r} is a {kinds[item]} "
                        "question; constructs take grid items, rating, NPS or numeric questions")
        dups = sorted({it for it in c.items if c.items.count(it) > 1})
        if dups:
            problem((*path, "items"), f"construct {c.id!r} lists {', '.join(map(repr, dups))} "
                    "more than once")
        for j, item in enumerate(c.reverse):
            if item not in c.items:
                problem((*path, "reverse", j), f"reverse-keyed {item!r} is not one of the "
                        f"items of construct {c.id!r}")
        if c.min_items is not None and c.min_items > len(c.items):
            problem((*path, "min_items"), f"min_items {c.min_items} exceeds the "
                    f"{len(c.items)} items of construct {c.id!r}")

    # roles: weighting and segment variables exist and are categorical; not PII
    if r is not None:
        pii = {q.id for q in questions.values() if q.pii}
        categorical = {k for k, v in kinds.items() if v in ("single", "derived", "rating",
                                                            "unknown")}
        for role in ("weighting", "segments"):
            for j, name in enumerate(getattr(r, role)):
                if name not in kinds:
                    problem(("roles", role, j), f"unknown variable {name!r}"
                            f"{suggest(name, kinds)}")
                elif name not in categorical:
                    problem(("roles", role, j), f"{role} variable {name!r} must be a "
                            f"single-choice question or a derived variable, not {kinds[name]}")
                elif name in pii or name in r.pii:
                    problem(("roles", role, j), f"{name!r} is marked pii and cannot be a "
                            f"{role} variable")
        numeric = {k for k, v in kinds.items() if v in ("grid_item", "rating", "nps", "numeric")}
        for j, name in enumerate(r.drivers):
            if name not in kinds:
                problem(("roles", "drivers", j), f"unknown driver {name!r}"
                        f"{suggest(name, numeric)}")
            elif name not in numeric:
                problem(("roles", "drivers", j), f"driver {name!r} must be a grid item or a "
                        f"rating, NPS or numeric question, not {kinds[name]}")
        if len(set(r.drivers)) != len(r.drivers):
            problem(("roles", "drivers"), "a driver is listed twice")
        keys = {r.respondent_id, r.customer_id}
        for j, name in enumerate(r.pii):
            if name in keys:
                problem(("roles", "pii", j), f"{name!r} is the respondent or customer id; ids "
                        "are pseudonymous keys, not personal data to drop")
            elif name in kinds:
                problem(("roles", "pii", j), f"{name!r} is a question or derived variable; mark "
                        "the question itself 'pii: true' instead")
    if r is not None and r.design is not None:
        check_roles_design(r, kinds, problem, suggest)
    if doc.report is not None:
        check_report(doc, kinds, questions, problem, suggest)
    check_paths(doc, kinds, problem, suggest)
    return problems


def _parse(text: str, path: tuple, owner: str, problem, number: bool = False
           ) -> Expression | None:
    try:
        return Expression.parse(text, number=number)
    except ExpressionError as exc:
        problem(path, f"{owner}: {exc.problems[0].message}")
        return None


# kinds that hold numbers (a single question only when its codes are numbers)
_ARITHMETIC = ("grid_item", "rating", "nps", "numeric", "multi_option", "rank_option",
               "single", "derived")


def _not_a_number(name: str, kind: str, questions: dict) -> str:
    """Why ``name`` cannot be used in arithmetic, and what to write instead."""
    if kind in ("single", "derived"):
        return (f"has text codes and cannot be used in arithmetic; compare it instead, e.g. "
                f"'{name} == \"code\"'")
    q = questions.get(name)
    hint = {"multi": f"use its option columns such as {name}_1 (0 or 1), or "
                     f"selected({name}, code)",
            "open": f"use answered({name})",
            "other_text": f"use answered({name})",
            "rank": f"use one of its columns such as {name}_1"}.get(kind, "")
    if kind == "grid" and q is not None:
        items = ", ".join(it.id for it in q.items[:3])
        hint = f"use its items, e.g. mean({items}, min=1)"
    article = "an" if kind[0] in "aeiou" else "a"
    return (f"is {article} {kind} question and cannot be used in arithmetic"
            + (f"; {hint}" if hint else ""))


def _number_check(value, path: tuple, problem) -> None:
    """A number written in the document is finite and at most 1e15 in absolute value."""
    if value is not None and not abs(value) <= MAX_NUMBER:
        problem(path, f"{value:g} is not a usable number; give a finite number of at most "
                "1e15 in absolute value")


def _scale_range(item: str, questions: dict, scales: dict) -> tuple[float, float] | None:
    """The (lowest, highest) code of a construct item's scale (None without one)."""
    for q in questions.values():
        if q.type == "nps" and q.id == item:
            return (0.0, 10.0)
        if q.id == item or (q.type == "grid" and any(it.id == item for it in q.items)):
            scale = scales.get(getattr(q, "scale", None) or "")
            return (scale.low, scale.high) if scale is not None else None
    return None


def _check_construct_score(d: Derived, c: Construct | None, path: tuple, doc: Doc,
                           questions: dict, problem, suggest) -> None:
    """``construct:`` names a declared construct whose reverse-keyed items have a scale;
    ``scale_100`` needs every item on one scale."""
    if c is None:
        known = [c_.id for _, c_ in doc.constructs]
        if d.construct_ not in doc.broken:
            problem(path, f"unknown construct {d.construct_!r}{suggest(d.construct_, known)}"
                    f"; declared constructs: {', '.join(known) or 'none'}")
        return
    grid_items = {it.id: it for q in questions.values() if q.type == "grid" for it in q.items}
    ranges = {i: _scale_range(i, questions, doc.scales) for i in c.items}
    for item in c.items:
        reverse = item in c.reverse or (item in grid_items and grid_items[item].reverse)
        if reverse and ranges[item] is None and (item in questions or item in grid_items):
            problem(path, f"construct {c.id!r}: reverse-keyed item {item!r} has no scale to "
                    "reverse it on (low + high - x); give it a scale or drop the reverse key")
    if d.scale_100:
        found = {i: r for i, r in ranges.items() if r is not None}
        if len(found) < len(c.items) or len(set(found.values())) > 1:
            shown = ", ".join(f"{i} {'no scale' if r is None else f'{r[0]:g}-{r[1]:g}'}"
                              for i, r in ranges.items())
            problem((*path[:-1], "scale_100"), f"scale_100 needs every item of construct "
                    f"{c.id!r} on one scale; its items are: {shown}")


def _unique_codes(codes: list, path: tuple, problem, what: str = "code") -> None:
    dup = repeated(codes)
    if dup:
        problem(path, f"{what}s are not unique: {', '.join(map(repr, dup))} "
                f"{'appears' if len(dup) == 1 else 'appear'} more than once")


def _missing_clash(valid: list, missing: list, path: tuple, problem) -> None:
    """Missing codes must be unique and differ from the valid codes."""
    _unique_codes(missing, path, problem, what="missing code")
    clash = [c for c in dict.fromkeys(missing) if c in set(valid)]
    if clash:
        problem(path, f"missing code{'s' if len(clash) > 1 else ''} "
                f"{', '.join(map(repr, clash))} {'are' if len(clash) > 1 else 'is'} also "
                "a valid answer code; use codes outside the scale such as 98 or 99")
