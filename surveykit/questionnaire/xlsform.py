"""XLSForm: field a questionnaire on ODK, KoboToolbox, SurveyCTO or Ona, and read one back.

:func:`to_xlsform` writes the questionnaire as an XLSForm workbook (the open standard those
platforms read; ``pyxform`` converts it to an XForm). :func:`from_xlsform` reads an XLSForm
into a surveykit questionnaire and lists what it could not carry over.

The sheets written:

``survey``
    One row per question, in order. Consecutive questions of one ``block`` sit in a group
    labelled with the block. Types: single -> ``select_one``, multi -> ``select_multiple``
    (exclusive options and ``max_choices`` as a ``constraint``; each other-specify option
    gets a ``text`` row ``{question}_{code}_text`` shown when it is chosen), grid -> a group
    (``table-list``, or ``field-list`` on scales of more than seven codes) of ``select_one``
    rows, rating and NPS -> ``select_one`` on their scale (appearance ``likert``), numeric ->
    ``integer`` / ``decimal`` with ``min``/``max`` as a constraint, open -> ``text``, rank ->
    ``rank``. ``ask_if`` becomes ``relevant`` (see :mod:`surveykit.questionnaire.xpath`);
    ``instruction`` becomes the ``hint``; ``required`` is ``yes`` where the question is
    required. ``start`` and ``end`` record when the interview began and ended (the
    duration), and ``roles.customer_id`` is a text field to prefill from the sample (for
    example a link's ``?d[/data/customer_id]=...``). Derived variables follow as
    ``calculate`` rows where XLSForm can compute them (bands, cuts, rules, compute,
    construct scores); quantile groups depend on the whole sample and are listed as not
    exported.
``choices``
    Every scale (its list is named after it), the NPS 0-10 list and each question's
    options. Declared missing codes ("Don't know", "Refused", "Not used") are choices too:
    surveykit has no system-missing codes (a question not asked is blank), so each is an
    answer a respondent can give; the ``surveykit_missing`` column keeps its kind.
``settings``
    ``form_title``, ``form_id``, ``version`` and ``default_language``.
``_surveykit``
    What XLSForm has no place for, as YAML (scales' labels and direction, derived variables,
    constructs, the path model, roles, the report block). ODK and KoboToolbox ignore
    sheets whose name starts with ``_``.

Labels are written in every language the questionnaire declares, as
``label::English (en)``. Columns named ``surveykit_*`` (surveykit's question type, short
label, unit, personal data, reverse keying, rank_max) are ignored by the platforms and make
the round trip exact. A question that XLSForm cannot express is refused with a
:class:`~surveykit.errors.QuestionnaireError` naming it, never dropped.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from surveykit.questionnaire import load_questionnaire
>>> q = load_questionnaire("questionnaires/smart_lock_customers.yaml")
>>> with tempfile.TemporaryDirectory() as tmp:
...     written = to_xlsform(q, Path(tmp) / "smart_lock.xlsx")
...     back = from_xlsform(written.path)
>>> written.not_exported
[]
>>> back.not_carried
[]
>>> back.questionnaire().model == q.model  # the same questionnaire, routing included
True
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .._util import atomic_write, same_file, xlsx_text
from ..errors import OutputPathError, Problem, QuestionnaireError
from ._xlsform_read import XLSFormImport, from_xlsform
from ._xlsform_sheets import (
    MISSING,
    PII,
    RANK_MAX,
    RESERVED,
    REVERSE,
    SCALE,
    SHORT,
    SURVEYKIT_SHEET,
    TABLE_LIST_MAX,
    TYPE,
    UNIT,
    language_column,
)
from .core import Questionnaire
from .models import NPS_SCALE
from .xpath import XPathError, calculation, names_in, to_xpath

__all__ = ["to_xlsform", "from_xlsform", "XLSFormExport", "XLSFormImport", "SURVEYKIT_SHEET",
           "language_column"]

@dataclass
class XLSFormExport:
    """What :func:`to_xlsform` wrote: the file, and the derived variables it could not
    express (each with the reason)."""

    path: Path
    not_exported: list[str] = field(default_factory=list)


def to_xlsform(q: Questionnaire, path: str | os.PathLike) -> XLSFormExport:
    """Write ``q`` as an XLSForm workbook (``survey``, ``choices``, ``settings`` and
    ``_surveykit`` sheets) for ODK, KoboToolbox, SurveyCTO or Ona.

    Parameters
    ----------
    q : Questionnaire
        The loaded questionnaire.
    path : str or path-like
        The ``.xlsx`` file to write (written to a temporary name and moved into place).

    Returns
    -------
    XLSFormExport
        ``path`` and ``not_exported``: derived variables XLSForm cannot compute.

    Raises
    ------
    QuestionnaireError
        Listing every question XLSForm cannot express (e.g. routing on a rank position,
        option codes with spaces in a multi question), each with its file and line.
    OutputPathError
        ``path`` is not an ``.xlsx`` name or is the questionnaire file itself.

    Examples
    --------
    >>> import tempfile
    >>> from openpyxl import load_workbook
    >>> from surveykit.questionnaire import load_questionnaire
    >>> q = load_questionnaire("questionnaires/pc_customers.yaml")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = to_xlsform(q, Path(tmp) / "pc.xlsx")
    ...     wb = load_workbook(out.path, read_only=True)
    ...     rows = list(wb["survey"].iter_rows(values_only=True))
    ...     wb.close()
    >>> wb.sheetnames
    ['survey', 'choices', 'settings', '_surveykit']
    >>> [r[:2] for r in rows if r[1] in ("age", "org_size")]
    [('integer', 'age'), ('select_one org_size', 'org_size')]
    >>> relevant = rows[0].index("relevant")
    >>> next(r[relevant] for r in rows if r[1] == "org_size")  # from ask_if: cust_type == 2
    '${cust_type} = 2'
    """
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise OutputPathError(f"{path}: an XLSForm is an Excel workbook; give a file name "
                              "ending in .xlsx")
    if q.source and same_file(path, q.source):
        raise OutputPathError(f"{path} is the questionnaire being exported; writing there "
                              "would overwrite it: give another file name")
    writer = _Writer(q)
    sheets = writer.sheets()
    atomic_write(path, _workbook_bytes(sheets))
    return XLSFormExport(path, writer.notes)


# -- writing -------------------------------------------------------------------------------
class _Writer:
    def __init__(self, q: Questionnaire):
        self.q = q
        self.lang = language_column(q.model.language)
        self.label, self.hint = f"label::{self.lang}", f"hint::{self.lang}"
        self.names = names_in(q)
        self.problems: list[Problem] = []
        self.notes: list[str] = []
        self.lists: dict[str, list[dict]] = {}
        self.used: set[str] = set()  # field names in the form

    def problem(self, i: int, qid: str, message: str) -> None:
        self.problems.append(Problem(f"question {qid!r} cannot be written as XLSForm: "
                                     f"{message}", path=f"questions[{i}]",
                                     line=self.q.line_of("questions", i), file=self.q.source))

    def add_list(self, preferred: str, rows: list[dict]) -> str:
        """Add a choice list under ``preferred`` (or ``preferred_2``... when taken by a
        different list); an identical list already added is reused."""
        name, k = preferred, 1
        while name in self.lists:
            if self.lists[name] == rows:
                return name
            k += 1
            name = f"{preferred}_{k}"
        self.lists[name] = rows
        return name

    def choice_rows(self, options, missing=()) -> list[dict]:
        rows = [{"name": str(o.code), self.label: o.label} for o in options]
        rows += [{"name": str(m.code), self.label: m.label, MISSING: m.kind} for m in missing]
        return rows

    def sheets(self) -> dict[str, list[list]]:
        q, m = self.q, self.q.model
        for sid, scale in m.scales.items():
            self.lists[sid] = self.choice_rows(scale.codes, scale.missing)
        self.nps_list = None
        self.used = {v for v in q.variables() if q.variable(v).kind not in ("id", "duration",
                                                                            "weight")}
        self.used |= {x.id for x in q.questions} | {d.id for d in m.derived}
        rows: list[dict] = []
        if m.roles.customer_id:
            rows.append({"type": "text", "name": m.roles.customer_id,
                         self.label: m.roles.customer_id, TYPE: "customer_id"})
        for meta in ("start", "end"):
            name = meta if meta not in self.used else f"{meta}_time"
            self.used.add(name)
            rows.append({"type": meta, "name": name})
        block, group = None, None
        groups: set[str] = set()
        for i, question in enumerate(m.questions):
            if question.block != block:
                if group is not None:
                    rows.append({"type": "end_group", "name": group})
                    group = None
                if question.block is not None:
                    group = self.group_name(question.block, groups)
                    rows.append({"type": "begin_group", "name": group,
                                 self.label: question.block})
                block = question.block
            rows.extend(self.question_rows(i, question))
        if group is not None:
            rows.append({"type": "end_group", "name": group})
        for d in m.derived:
            try:
                calc = calculation(d, q, names=self.names)
            except XPathError as exc:
                self.notes.append(f"derived variable {d.id!r} not exported: {exc}")
                continue
            if calc is None:
                self.notes.append(f"derived variable {d.id!r} not exported: its {d.quantiles} "
                                  "quantile groups depend on the whole sample, which a form "
                                  "filled in by one respondent cannot know")
                continue
            rows.append({"type": "calculate", "name": d.id, "calculation": calc})
        if self.problems:
            n = len(self.problems)
            raise QuestionnaireError(self.problems, header=f"{n} question{'s' if n > 1 else ''} "
                                     "cannot be written as XLSForm (nothing was written):"
                                     if n > 1 else None)
        survey_cols = ["type", "name", self.label, self.hint, "required", "relevant",
                       "constraint", "appearance", "calculation", TYPE, SCALE, SHORT, UNIT, PII,
                       REVERSE, RANK_MAX]
        survey_cols = [c for c in survey_cols if any(r.get(c) for r in rows)]
        choice_rows = [{"list_name": name, **r} for name, rs in self.lists.items() for r in rs]
        choice_cols = ["list_name", "name", self.label, MISSING]
        choice_cols = [c for c in choice_cols if any(r.get(c) for r in choice_rows)]
        settings = {"form_title": m.title, "form_id": m.id, "version": m.version,
                    "default_language": self.lang}
        return {
            "survey": _table(survey_cols, rows),
            "choices": _table(choice_cols, choice_rows),
            "settings": _table(list(settings), [settings]),
            SURVEYKIT_SHEET: [[line] for line in self.extra_lines()],
        }

    def group_name(self, block: str, taken: set[str]) -> str:
        base = re.sub(r"[^A-Za-z0-9_]+", "_", block).strip("_").lower() or "block"
        if not base[0].isalpha():
            base = f"block_{base}"
        name, k = base, 1
        while name in self.used or name in taken or name in RESERVED:
            k += 1
            name = f"{base}_{k}" if base in taken else f"{base}_block" if k == 2 else \
                f"{base}_block_{k}"
        taken.add(name)
        self.used.add(name)
        return name

    def relevant(self, i: int, question) -> str:
        if not question.ask_if:
            return ""
        try:
            return to_xpath(question.ask_if, self.q, names=self.names)
        except XPathError as exc:
            self.problem(i, question.id, f"its routing cannot be written as a relevant: {exc}")
            return ""

    def common(self, i: int, question, xls_type: str) -> dict:
        if question.id in RESERVED:
            self.problem(i, question.id, f"the name {question.id!r} is reserved by XForms for "
                         "submission metadata; rename the question")
        row = {"type": xls_type, "name": question.id, self.label: question.text,
               self.hint: question.instruction or "", "relevant": self.relevant(i, question),
               TYPE: question.type, SHORT: question.label or "",
               PII: "yes" if question.pii else ""}
        if question.required and question.type != "grid":
            row["required"] = "yes"
        return row

    def question_rows(self, i: int, question) -> list[dict]:
        t = question.type
        scales = self.q.model.scales
        if t in ("multi", "rank"):
            bad = [o.code for o in question.options
                   if isinstance(o.code, str) and (not o.code or re.search(r"\s", o.code))]
            if bad:
                self.problem(i, question.id, f"option code {bad[0]!r} is empty or holds a "
                             f"space; XLSForm stores {t} answers as codes separated by spaces: "
                             "use codes without spaces")
        if t == "single":
            scale = scales.get(question.scale) if question.scale else None
            if scale is not None and not question.missing:
                name = question.scale
            elif scale is not None:
                name = self.add_list(question.id, self.choice_rows(
                    scale.codes, [*scale.missing, *question.missing]))
            else:
                name = self.add_list(question.id, self.choice_rows(question.options,
                                                                   question.missing))
            row = self.common(i, question, f"select_one {name}")
            if scale is not None and name != question.scale:
                row[SCALE] = question.scale
            options = question.options or (scale.codes if scale else [])
            return [row, *self.other_rows(question, options, single=True)]
        if t == "multi":
            row = self.common(i, question, "")
            options = self.add_list(question.id, self.choice_rows(question.options))
            row["type"] = f"select_multiple {options}"
            tests = [f"not(selected(., '{o.code}') and count-selected(.) > 1)"
                     for o in question.options if o.exclusive]
            if question.max_choices:
                tests.append(f"count-selected(.) <= {question.max_choices}")
            row["constraint"] = " and ".join(tests)
            return [row, *self.other_rows(question, question.options, single=False)]
        if t == "rank":
            options = self.add_list(question.id, self.choice_rows(question.options))
            row = self.common(i, question, f"rank {options}")
            row[RANK_MAX] = str(question.rank_max) if question.rank_max else ""
            return [row]
        if t in ("rating", "nps"):
            if t == "rating":
                name = question.scale
            else:
                nps = self.choice_rows(NPS_SCALE.codes, question.missing)
                name = self.add_list("nps" if not question.missing else f"{question.id}_nps", nps)
            row = self.common(i, question, f"select_one {name}")
            row["appearance"] = "likert"
            return [row]
        if t == "numeric":
            row = self.common(i, question, "integer" if question.integer else "decimal")
            tests = []
            if question.min is not None:
                tests.append(f". >= {_num(question.min)}")
            if question.max is not None:
                tests.append(f". <= {_num(question.max)}")
            row["constraint"] = " and ".join(tests)
            row[UNIT] = question.unit or ""
            return [row]
        if t == "open":
            return [self.common(i, question, "text")]
        if t == "grid":
            scale = scales[question.scale]
            group = self.common(i, question, "begin_group")
            group["appearance"] = ("table-list" if len(scale.codes) + len(scale.missing)
                                   <= TABLE_LIST_MAX else "field-list")
            rows = [group]
            for item in question.items:
                if item.id in RESERVED:
                    self.problem(i, question.id, f"item id {item.id!r} is reserved by XForms; "
                                 "rename the item")
                rows.append({"type": f"select_one {question.scale}", "name": item.id,
                             self.label: item.text, "required": "yes" if question.required
                             else "", REVERSE: "yes" if item.reverse else ""})
            rows.append({"type": "end_group", "name": question.id})
            return rows
        self.problem(i, question.id, f"type {t!r} has no XLSForm counterpart")
        return []

    def other_rows(self, question, options, *, single: bool) -> list[dict]:
        rows = []
        for o in options:
            if o.other:
                code = f"'{o.code}'" if isinstance(o.code, str) or not single else str(o.code)
                test = (f"${{{question.id}}} = {code}" if single
                        else f"selected(${{{question.id}}}, '{o.code}')")
                rows.append({"type": "text", "name": f"{question.id}_{o.code}_text",
                             self.label: o.label, "relevant": test, TYPE: "other_text",
                             PII: "yes" if question.pii else ""})
        return rows

    def extra_lines(self) -> list[str]:
        """The ``_surveykit`` sheet: what XLSForm has no place for, as YAML lines."""
        m = self.q.model
        extra: dict = {}
        if m.description:
            extra["description"] = m.description
        extra["scales"] = {sid: s.model_dump(include={"label", "direction", "top_box"},
                                             exclude_unset=True)
                           for sid, s in m.scales.items()}
        for key in ("derived", "constructs"):
            items = getattr(m, key)
            if items:
                extra[key] = [x.model_dump(by_alias=True, exclude_unset=True) for x in items]
        roles = m.roles.model_dump(exclude_unset=True)
        if roles:
            extra["roles"] = roles
        if m.paths:
            extra["paths"] = {k: list(v) for k, v in m.paths.items()}
        if "path_scheme" in m.model_fields_set:
            extra["path_scheme"] = m.path_scheme
        if m.report is not None:
            extra["report"] = m.report.model_dump(exclude_unset=True)
        return [
            "# surveykit: what this XLSForm has no place for (read by `surveykit questionnaire",
            "# --from-xlsform`). ODK, KoboToolbox and pyxform ignore sheets whose name starts",
            "# with an underscore.",
            *_yaml_dump(extra).splitlines(),
        ]


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _table(columns: list[str], rows: list[dict]) -> list[list]:
    return [columns, *([r.get(c, "") or "" for c in columns] for r in rows)]


def _yaml_dump(data) -> str:
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.width = 4096
    yaml.sort_base_mapping_type_on_output = False
    buf = io.StringIO()
    yaml.dump(data, buf)
    return buf.getvalue()


def _workbook_bytes(sheets: dict[str, list[list]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    for title, table in sheets.items():
        ws = wb.create_sheet(title)
        for values in table:
            ws.append([v if v != "" else None for v in values])
        for row in ws.iter_rows():
            for cell in row:
                xlsx_text(cell)  # text starting with = + - @ stays text, never a formula
        if title != SURVEYKIT_SHEET and table:
            for cell in ws[1]:
                cell.font = Font(bold=True)
            ws.freeze_panes = "A2"
            for j, name in enumerate(table[0], start=1):
                width = 60 if name.startswith(("label", "hint", "relevant", "calculation",
                                               "constraint")) else 18
                ws.column_dimensions[ws.cell(1, j).column_letter].width = width
        else:
            ws.column_dimensions["A"].width = 100
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()

