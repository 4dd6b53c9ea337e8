"""The questionnaire as a document a researcher can review: printable HTML and Markdown.

Both formats hold the same content, built once by :func:`_document`: a header (title, id,
version, language), the questions block by block (numbered, with text, type, answer options
and scales with their codes, missing codes marked, grid items with reverse keying marked,
numeric ranges and units, routing in plain words, PII marked), then the codebook (one row per
data column, from :meth:`Questionnaire.codebook`), the derived variables (bands, rules,
computed numbers, construct scores, quantile groups and cuts, in plain words), the constructs
and the roles.

The HTML is self-contained (inline CSS, no scripts, no external links), prints cleanly on A4
and escapes every text through jinja2's autoescaping. Routing is put in words from the
expression's syntax tree and the questionnaire's labels, never by evaluating it.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from .._util import atomic_write
from ..errors import ReportError
from .core import Questionnaire
from .expressions import SCORES, Expression, constant_value
from .models import NPS_SCALE

__all__ = ["describe_condition", "render_html", "render_markdown", "write_document"]

TYPE_LABELS = {
    "single": "Single choice", "multi": "Multiple choice", "grid": "Grid", "rating": "Rating",
    "nps": "Likelihood to recommend (NPS, 0-10)", "numeric": "Number", "open": "Open text",
    "rank": "Ranking",
}
KIND_LABELS = {
    "id": "respondent id", "customer_id": "customer id", "duration": "duration",
    "weight": "weight", "single": "single choice", "multi_option": "multiple-choice option",
    "other_text": "other (specify) text", "grid_item": "grid item", "rating": "rating",
    "nps": "NPS (0-10)", "numeric": "number", "open": "open text", "rank_option": "rank",
    "derived": "derived",
}
MISSING_LABELS = {"dont_know": "don't know", "refused": "refused",
                  "not_applicable": "not applicable"}
FORMATS = ("html", "markdown")

_OPS = {ast.Eq: "is", ast.NotEq: "is not", ast.Lt: "is less than", ast.LtE: "is at most",
        ast.Gt: "is more than", ast.GtE: "is at least"}
_FLIP = {ast.Eq: ast.Eq, ast.NotEq: ast.NotEq, ast.Lt: ast.Gt, ast.LtE: ast.GtE,
         ast.Gt: ast.Lt, ast.GtE: ast.LtE}


# -- routing in plain words ---------------------------------------------------------------
def describe_condition(q: Questionnaire, condition: str | Expression) -> str:
    """Put a routing or rule condition in plain words, using the questionnaire's labels.

    Parameters
    ----------
    q : Questionnaire
        Supplies the variable labels and value labels.
    condition : str or Expression
        An expression in the questionnaire's language.

    Returns
    -------
    str
        The condition as a sentence fragment.

    Raises
    ------
    ExpressionError
        If the text is not a valid expression.

    Examples
    --------
    >>> from surveykit.questionnaire import load_questionnaire
    >>> q = load_questionnaire("questionnaires/pc_customers.yaml")
    >>> describe_condition(q, "cust_type == 1 and age >= 25")
    'Customer type is "For myself / my household (individual)" and Age is at least 25'
    """
    expr = condition if isinstance(condition, Expression) else Expression.parse(condition)
    return _Words(q).condition(expr.tree.body)


class _Words:
    def __init__(self, q: Questionnaire):
        self.q = q
        self.variables = q.variables()

    def label(self, name: str) -> str:
        var = self.variables.get(name)
        if var is not None:
            return var.label
        try:
            return self.q.question(name).short_label
        except KeyError:
            return name

    def value(self, name: str | None, value) -> str:
        """A constant, with its value label when ``name`` labels it."""
        labels = self.q.labels(name) if name else {}
        if isinstance(value, str):
            shown = f'"{value}"'
        else:
            shown = _num(value)
        if value in labels and labels[value] != _num(value):
            return f'"{labels[value]}"'
        return shown

    def ordinal_value(self, name: str | None, value) -> str:
        """For <, <=, >, >=: the number first, then its label (``4 ("Satisfied")``)."""
        labels = self.q.labels(name) if name else {}
        if value in labels and not isinstance(value, str) and labels[value] != _num(value):
            return f'{_num(value)} ("{labels[value]}")'
        return self.value(None, value)

    def condition(self, node, parent: type | None = None) -> str:
        if isinstance(node, ast.BoolOp):
            joiner = " and " if isinstance(node.op, ast.And) else " or "
            text = joiner.join(self.condition(v, type(node.op)) for v in node.values)
            return f"({text})" if parent is not None and parent is not type(node.op) else text
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return self.negation(node.operand)
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        return ast.unparse(node)  # not reached for validated expressions

    def negation(self, node) -> str:
        if isinstance(node, ast.Call):
            return self.call(node, negated=True)
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            op = node.ops[0]
            negated = {ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.In: ast.NotIn,
                       ast.NotIn: ast.In}.get(type(op))
            if negated is not None:
                flipped = ast.Compare(left=node.left, ops=[negated()],
                                      comparators=node.comparators)
                return self.compare(flipped)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return self.condition(node.operand)
        return f"not ({self.condition(node)})"

    def call(self, node: ast.Call, negated: bool = False) -> str:
        name = node.args[0].id
        label = self.label(name)
        if node.func.id == "answered":
            return f"{label} is {'not ' if negated else ''}answered"
        code = constant_value(node.args[1])
        option = self.label(f"{name}_{code}")
        prefix = f"{label}: "
        option = option[len(prefix):] if option.startswith(prefix) else str(code)
        return f'{label} {"does not include" if negated else "includes"} "{option}"'

    def operand(self, node) -> tuple[str | None, str]:
        """``(variable name or None, words)`` of a comparison operand."""
        if isinstance(node, ast.Name):
            return node.id, self.label(node.id)
        if isinstance(node, ast.Call) and node.func.id not in SCORES:
            return None, self.call(node)
        return None, self.number(node)

    def number(self, node, parent: ast.BinOp | None = None, right: bool = False) -> str:
        """Arithmetic in words: labels for names, ``x`` for ``*``, scores spelt out."""
        if isinstance(node, ast.Name):
            return self.label(node.id)
        if isinstance(node, ast.Constant):
            return _num(node.value)
        if isinstance(node, ast.UnaryOp):
            inner = self.number(node.operand)
            if isinstance(node.operand, ast.BinOp):
                inner = f"({inner})"
            return f"-{inner}" if isinstance(node.op, ast.USub) else inner
        if isinstance(node, ast.BinOp):
            text = (f"{self.number(node.left, node)} {_ARITH_WORDS[type(node.op)]} "
                    f"{self.number(node.right, node, right=True)}")
            if parent is not None and (_RANK[type(node.op)] < _RANK[type(parent.op)] or (
                    right and _RANK[type(node.op)] == _RANK[type(parent.op)])):
                return f"({text})"
            return text
        if isinstance(node, ast.Call) and node.func.id in SCORES:
            parts = [self.number(a) for a in node.args]
            listed = ", ".join(parts[:-1]) + f" and {parts[-1]}" if len(parts) > 1 \
                else parts[0]
            need = next((kw.value.value for kw in node.keywords), len(parts))
            how = "the mean of" if node.func.id == "mean" else "the sum (prorated) of"
            k = len(parts)
            answered = ("answered" if k == 1 else "both answered" if need == k == 2 else
                        f"all {k} answered" if need == k else f"at least {need} of {k} answered")
            return f"{how} {listed} ({answered})"
        return ast.unparse(node)  # not reached for validated expressions

    def compare(self, node: ast.Compare) -> str:
        op = node.ops[0]
        if isinstance(op, ast.In | ast.NotIn):
            name, label = self.operand(node.left)
            values = [self.value(name, constant_value(e)) for e in node.comparators[0].elts]
            if isinstance(op, ast.In):
                if len(values) == 1:
                    return f"{label} is {values[0]}"
                if len(values) == 2:
                    return f"{label} is either {values[0]} or {values[1]}"
                return f"{label} is one of {', '.join(values)}"
            if len(values) == 1:
                return f"{label} is not {values[0]}"
            if len(values) == 2:
                return f"{label} is neither {values[0]} nor {values[1]}"
            return f"{label} is none of {', '.join(values)}"
        operands = [node.left, *node.comparators]
        # a <= x <= b  ->  "x is between a and b"
        if (len(node.ops) == 2 and all(isinstance(o, ast.LtE) for o in node.ops)
                and isinstance(operands[1], ast.Name)
                and _is_constant(operands[0]) and _is_constant(operands[2])):
            name, label = self.operand(operands[1])
            return (f"{label} is between {self.ordinal_value(name, constant_value(operands[0]))}"
                    f" and {self.ordinal_value(name, constant_value(operands[2]))}")
        parts = []
        for left, o, right in zip(operands, node.ops, operands[1:], strict=False):
            parts.append(self.pair(left, type(o), right))
        return " and ".join(parts)

    def pair(self, left, op: type, right) -> str:
        if _is_constant(left) and not _is_constant(right):
            left, right, op = right, left, _FLIP[op]
        name, label = self.operand(left)
        if not _is_constant(right):
            _, other = self.operand(right)
        elif op in (ast.Eq, ast.NotEq):
            other = self.value(name, constant_value(right))
        else:
            other = self.ordinal_value(name, constant_value(right))
        return f"{label} {_OPS[op]} {other}"


_ARITH_WORDS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "\u00d7", ast.Div: "/"}
_RANK = {ast.Add: 1, ast.Sub: 1, ast.Mult: 2, ast.Div: 2}


def _is_constant(node) -> bool:
    return isinstance(node, ast.Constant) or (isinstance(node, ast.UnaryOp)
                                              and isinstance(node.operand, ast.Constant))


def _num(x) -> str:
    if x is None:
        return ""
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


# -- the document -------------------------------------------------------------------------
def _document(q: Questionnaire) -> dict:
    """Everything both formats show, as plain data."""
    if not isinstance(q, Questionnaire):
        raise ReportError(f"expected a Questionnaire (from load_questionnaire), got "
                          f"{type(q).__name__}")
    words = _Words(q)
    m = q.model
    blocks: list[dict] = []
    for number, question in enumerate(m.questions, start=1):
        view = _question_view(q, words, question, number)
        if not blocks or blocks[-1]["name"] != question.block:
            blocks.append({"name": question.block, "questions": []})
        blocks[-1]["questions"].append(view)

    variables = q.variables()
    codebook = []
    for row in q.codebook().to_dict("records"):
        var = variables[row["variable"]]
        codebook.append({
            "variable": row["variable"], "question": row["question"],
            "kind": KIND_LABELS.get(row["kind"], row["kind"]), "label": row["label"],
            "codes": [(_num(c), lab) for c, lab in var.value_labels.items()],
            "missing": [(_num(c), f"{mc.label} ({MISSING_LABELS[mc.kind]})")
                        for c, mc in var.missing_codes.items()],
            "range": _range(var.min, var.max), "range_short": _range(var.min, var.max, short=True),
            "reverse": bool(row["reverse"]), "pii": bool(row["pii"]),
        })

    derived = [_derived_view(q, words, d) for d in m.derived]

    constructs = []
    for c in m.constructs:
        items, reverse = q.construct_items(c.id)
        constructs.append({
            "id": c.id, "label": c.label,
            "items": [{"id": i, "label": words.label(i), "reverse": i in reverse} for i in items],
            "min_items": c.required_items, "n_items": len(items),
            "min_given": c.min_items is not None,
        })

    r = m.roles
    named = lambda names: [f"{n} ({words.label(n)})" for n in names]  # noqa: E731
    roles = [("Respondent id", [r.respondent_id])]
    if r.customer_id:
        roles.append(("Customer id (pseudonymous CRM key)", [r.customer_id]))
    if r.duration:
        roles.append(("Interview duration (seconds)", [r.duration]))
    if r.base_weight:
        roles.append(("Design weight", [r.base_weight]))
    roles.append(("Weighting variables", named(r.weighting)))
    roles.append(("Segment variables", named(r.segments)))
    roles.append(("Personal data (PII; never shown in a report)", q.pii_columns))
    roles.append(("Open text", [v.name for v in variables.values()
                                if v.kind in ("open", "other_text")]))
    return {
        "title": m.title, "id": m.id, "version": m.version, "language": m.language,
        "description": m.description, "n_questions": len(m.questions),
        "n_columns": len(variables), "blocks": blocks, "codebook": codebook,
        "derived": derived, "constructs": constructs, "roles": roles,
    }


def _derived_view(q: Questionnaire, words: _Words, d) -> dict:
    """How a derived variable is made, in plain words, and its codes (none for a number)."""
    unit = getattr(_safe_question(q, d.from_), "unit", None) if d.from_ else None
    source = f"{words.label(d.from_)} ({d.from_})" if d.from_ else ""
    entries = [{"code": _num(c), "label": lab, "rule": ""} for c, lab in d.categories.items()]
    if d.bands is not None:
        entries = [{"code": _num(b.code), "label": b.label,
                    "rule": _band_words(b.min, b.max, unit)} for b in d.bands]
        how = f"Bands of {source}; the first band that holds wins"
    elif d.rules is not None:
        entries = [{"code": _num(r.code), "label": r.label,
                    "rule": describe_condition(q, r.when)} for r in d.rules]
        how = "Rules, tried in order; the first that holds wins; no match is missing"
    elif d.compute is not None:
        how = (f"Computed as {words.number(Expression.parse(d.compute, number=True).tree.body)}"
               "; missing when an input is missing or on division by zero")
    elif d.construct_ is not None:
        c = next(c for c in q.constructs if c.id == d.construct_)
        items, reverse = q.construct_items(c.id)
        rev = f"; reverse-keyed: {', '.join(reverse)}" if reverse else ""
        how = (f"Mean of {c.label} items ({', '.join(items)}{rev}), at least "
               f"{c.required_items} of {len(items)} answered")
        scale = q.scale_of(items[0])
        if d.scale_100 and scale is not None:  # the check makes every item share this scale
            how += f", rescaled to 0-100 from the scale's {_num(scale.low)}-{_num(scale.high)}"
    elif d.quantiles is not None:
        k = d.quantiles
        how = (("Median split" if k == 2 else f"{k} groups at the quantiles")
               + f" of {source}: unweighted sample quantiles of the data analysed; a value on "
               "a cut point goes to the upper group")
        for i, e in enumerate(entries, start=1):
            if k == 2:
                e["rule"] = "below the median" if i == 1 else "the median or above"
            else:
                end = " (lowest)" if i == 1 else " (highest)" if i == k else ""
                e["rule"] = f"{_ordinal(i)} of {k} groups{end}"
    else:
        tail = f" {unit}" if unit else ""
        c = [_num(x) for x in d.cuts]
        rules = ([f"below {c[0]}{tail}"]
                 + [f"{a} to under {b}{tail}" for a, b in zip(c, c[1:], strict=False)]
                 + [f"{c[-1]}{tail} or more"])
        for e, rule in zip(entries, rules, strict=True):
            e["rule"] = rule
        how = (f"Cut points {', '.join(c)} of {source}; a value on a cut point goes to the "
               "upper band")
    return {"id": d.id, "label": d.label, "how": how, "entries": entries}


def _ordinal(i: int) -> str:
    return f"{i}{'th' if 10 <= i % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(i % 10, 'th')}"


def _safe_question(q: Questionnaire, qid: str):
    try:
        return q.question(qid)
    except KeyError:
        return None


def _question_view(q: Questionnaire, words: _Words, question, number: int) -> dict:
    m = q.model
    scale_id = getattr(question, "scale", None)
    scale = m.scales.get(scale_id) if scale_id else None
    if question.type == "nps":
        scale = NPS_SCALE
    options, missing, notes = [], [], []
    source = scale.codes if scale is not None else (getattr(question, "options", None) or [])
    for o in source:
        marks = []
        if getattr(o, "exclusive", False):
            marks.append("exclusive")
        if getattr(o, "other", False):
            marks.append(f"specify: {question.id}_{o.code}_text")
        options.append({"code": _num(o.code), "label": o.label, "marks": marks})
    declared = (list(scale.missing) if scale is not None and question.type != "nps" else [])
    declared += list(getattr(question, "missing", []) or [])
    for mc in declared:
        missing.append({"code": _num(mc.code), "label": mc.label,
                        "kind": MISSING_LABELS[mc.kind]})
    if question.type == "multi":
        most = f" (at most {question.max_choices})" if question.max_choices else ""
        notes.append(f"Select all that apply{most}.")
    if question.type == "rank":
        n = question.rank_max or len(question.options)
        notes.append(f"Rank the top {n} (1 = first)." if n < len(question.options)
                     else "Rank all options (1 = first).")
    if question.type == "numeric":
        rng = _range(question.min, question.max)
        notes.append("Answer: a " + ("whole " if question.integer else "") + "number"
                     + (f" in {question.unit}" if question.unit else "")
                     + (f", {rng}" if rng else "") + ".")
    if question.type == "open":
        notes.append("Answer: free text.")
    if scale is not None and scale_id and question.type in ("grid", "rating"):
        better = "higher" if scale.direction == "ascending" else "lower"
        notes.append(f"Scale: {scale.label or scale_id} ({scale_id}), {better} is better.")
    if not question.required:
        notes.append("Optional.")
    items = [{"id": it.id, "text": it.text, "reverse": it.reverse}
             for it in getattr(question, "items", None) or []]
    return {
        "number": number, "id": question.id, "text": question.text,
        "label": question.label, "type": question.type,
        "type_label": TYPE_LABELS[question.type], "instruction": question.instruction,
        "routing": describe_condition(q, question.ask_if) if question.ask_if else None,
        "ask_if": question.ask_if, "pii": question.pii, "options": options,
        "missing": missing, "items": items, "notes": notes,
        "horizontal": question.type in ("grid", "rating", "nps"),
        "columns": q.columns_of(question.id),
    }


def _range(lo, hi, *, short: bool = False) -> str:
    """``18 to 99`` / ``at least 18`` / ``at most 99`` (short: ``18–99``, ``≥ 18``, ``≤ 99``)."""
    at_most, at_least, to = ("\u2264", "\u2265", "\u2013") if short else \
        ("at most", "at least", " to ")
    if lo is None and hi is None:
        return ""
    if lo is None:
        return f"{at_most} {_num(hi)}"
    if hi is None:
        return f"{at_least} {_num(lo)}"
    return f"{_num(lo)}{to}{_num(hi)}"


def _band_words(lo, hi, unit: str | None) -> str:
    tail = f" {unit}" if unit else ""
    if lo is None and hi is None:
        return "any value"
    if lo is None:
        return f"up to {_num(hi)}{tail}"
    if hi is None:
        return f"{_num(lo)}{tail} or more"
    return f"{_num(lo)} to {_num(hi)}{tail}"


# -- HTML -----------------------------------------------------------------------------------
_ENV = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                   autoescape=True, undefined=StrictUndefined, trim_blocks=True,
                   lstrip_blocks=True, keep_trailing_newline=True)


def render_html(q: Questionnaire) -> str:
    """The printable questionnaire and codebook as one self-contained HTML page.

    Examples
    --------
    >>> from surveykit.questionnaire import load_questionnaire
    >>> q = load_questionnaire("questionnaires/smart_lock_customers.yaml")
    >>> html = render_html(q)
    >>> html.startswith("<!DOCTYPE html>"), "<script" in html
    (True, False)
    """
    return _ENV.get_template("questionnaire.html.j2").render(doc=_document(q))


# -- Markdown -------------------------------------------------------------------------------
_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]|#"} | {
    "&": "&amp;", "<": "&lt;", ">": "&gt;", "\n": " ", "\r": " "})


def _md(text) -> str:
    """Escape text for Markdown (inline; HTML-significant characters as entities)."""
    return "" if text is None else str(text).translate(_MD_SPECIAL)


def _md_code(text) -> str:
    return f"`{str(text).replace('`', '')}`"


def render_markdown(q: Questionnaire) -> str:
    """The printable questionnaire and codebook as Markdown (GitHub-flavoured tables).

    Examples
    --------
    >>> from surveykit.questionnaire import load_questionnaire
    >>> q = load_questionnaire("questionnaires/smart_lock_customers.yaml")
    >>> print(render_markdown(q).splitlines()[0])
    # Fingerprint smart-lock customer survey
    """
    doc = _document(q)
    out = [f"# {_md(doc['title'])}", "",
           f"Questionnaire {_md_code(doc['id'])} · version {_md(doc['version'])} · "
           f"language {_md(doc['language'])} · {doc['n_questions']} questions · "
           f"{doc['n_columns']} data columns", ""]
    if doc["description"]:
        out += [_md(doc["description"]), ""]
    out += ["## Questionnaire", ""]
    for block in doc["blocks"]:
        if block["name"]:
            out += [f"### {_md(block['name'])}", ""]
        for v in block["questions"]:
            head = f"**Q{v['number']}.** {_md_code(v['id'])} · {_md(v['type_label'])}"
            if v["pii"]:
                head += " · **PII: never shown in a report**"
            out += [head, "", _md(v["text"]), ""]
            if v["instruction"]:
                out += [f"*{_md(v['instruction'])}*", ""]
            if v["routing"]:
                out += [f"> Asked if: {_md(v['routing'])}  ", f"> ({_md_code(v['ask_if'])})", ""]
            for note in v["notes"]:
                out += [f"- {_md(note)}"]
            if v["notes"]:
                out.append("")
            if v["items"]:
                out += ["| Item | Statement | Reverse-keyed |", "|---|---|---|"]
                out += [f"| {_md_code(it['id'])} | {_md(it['text'])} | "
                        f"{'R (reverse)' if it['reverse'] else ''} |" for it in v["items"]]
                out.append("")
            if v["options"] or v["missing"]:
                out += ["| Code | Answer | Note |", "|---:|---|---|"]
                out += [f"| {_md(o['code'])} | {_md(o['label'])} | {_md('; '.join(o['marks']))} |"
                        for o in v["options"]]
                out += [f"| {_md(mc['code'])} | {_md(mc['label'])} | missing: {_md(mc['kind'])} |"
                        for mc in v["missing"]]
                out.append("")
    out += ["## Codebook", "",
            "| Variable | Question | Type | Label | Codes | Missing codes | Range | Reverse "
            "| PII |",
            "|---|---|---|---|---|---|---|---|---|"]
    for row in doc["codebook"]:
        codes = "; ".join(f"{c} = {lab}" for c, lab in row["codes"])
        missing = "; ".join(f"{c} = {lab}" for c, lab in row["missing"])
        out.append(f"| {_md_code(row['variable'])} | {_md_code(row['question'])} | "
                   f"{_md(row['kind'])} | {_md(row['label'])} | {_md(codes)} | {_md(missing)} | "
                   f"{_md(row['range'])} | {'R' if row['reverse'] else ''} | "
                   f"{'PII' if row['pii'] else ''} |")
    out.append("")
    if doc["derived"]:
        out += ["## Derived variables", ""]
        for d in doc["derived"]:
            out += [f"### {_md_code(d['id'])} {_md(d['label'])}", "", _md(d["how"]) + ".", ""]
            if d["entries"]:  # a computed number or score has no codes
                out += ["| Code | Label | When |", "|---:|---|---|"]
                out += [f"| {_md(e['code'])} | {_md(e['label'])} | {_md(e['rule'])} |"
                        for e in d["entries"]]
                out.append("")
    if doc["constructs"]:
        out += ["## Constructs", "", "| Construct | Items | Reverse-keyed | Minimum answered |",
                "|---|---|---|---|"]
        for c in doc["constructs"]:
            items = ", ".join(f"{it['id']} ({it['label']})" for it in c["items"])
            rev = ", ".join(it["id"] for it in c["items"] if it["reverse"]) or "none"
            out.append(f"| {_md_code(c['id'])} {_md(c['label'])} | {_md(items)} | {_md(rev)} | "
                       f"{c['min_items']} of {c['n_items']} |")
        out.append("")
    out += ["## Roles", "", "| Role | Columns |", "|---|---|"]
    out += [f"| {_md(role)} | {_md(', '.join(cols)) or 'none'} |" for role, cols in doc["roles"]]
    out.append("")
    return "\n".join(out)


# -- files ----------------------------------------------------------------------------------
def write_document(q: Questionnaire, out: str | os.PathLike, *, format: str = "html") -> Path:
    """Write the printable questionnaire and codebook to ``out`` (atomically).

    Parameters
    ----------
    q : Questionnaire
        The loaded questionnaire.
    out : str or path-like
        The file to write; its folder is created when missing.
    format : {"html", "markdown"}
        Output format (``"md"`` is accepted for Markdown).

    Returns
    -------
    pathlib.Path
        The path written.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from surveykit.questionnaire import load_questionnaire
    >>> q = load_questionnaire("questionnaires/smart_lock_customers.yaml")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = write_document(q, Path(tmp) / "review" / "smart_lock.md", format="md")
    ...     print(path.name, "|", path.read_text(encoding="utf-8").splitlines()[0])
    smart_lock.md | # Fingerprint smart-lock customer survey
    """
    fmt = {"md": "markdown"}.get(str(format).lower(), str(format).lower())
    if fmt not in FORMATS:
        raise ReportError(f"format {format!r} is not supported; use 'html' or 'markdown'")
    path = Path(out)
    if path.is_dir():
        name = "questionnaire.html" if fmt == "html" else "questionnaire.md"
        raise ReportError(f"{path} is a folder; give a file name such as {path / name}")
    text = render_html(q) if fmt == "html" else render_markdown(q)
    return atomic_write(path, text)
