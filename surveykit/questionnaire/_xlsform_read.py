"""Reading an XLSForm into a surveykit questionnaire (:func:`from_xlsform`).

Part of :mod:`surveykit.questionnaire.xlsform`, which describes the sheets. A form written by
:func:`~surveykit.questionnaire.xlsform.to_xlsform` comes back as the same questionnaire; any
other XLSForm is read as far as surveykit's questionnaire can hold it, and everything left
out is listed in :attr:`XLSFormImport.not_carried`.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import QuestionnaireError
from ._xlsform_book import (
    _code,
    _fail,
    _language_code,
    _Node,
    _norm_type,
    _read_book,
    _records,
)
from ._xlsform_fields import _Fields
from ._xlsform_sheets import MISSING, SURVEYKIT_SHEET, TYPE
from ._xpath_read import _FromXPath, from_xpath, parse_xpath
from ._xpath_tree import XPathError, _Name, xpath_text
from .expressions import Expression
from .loader import (
    YAMLReadError,
    _plain,
    parse_yaml,
    questionnaire_from_dict,
    questionnaire_from_text,
)
from .xpath import calculation

__all__ = ["from_xlsform", "XLSFormImport"]

@dataclass
class XLSFormImport:
    """What :func:`from_xlsform` read.

    Attributes
    ----------
    data : dict
        The questionnaire as a mapping (the YAML document).
    not_carried : list of str
        Everything in the form that the questionnaire does not hold, one sentence each.
    source : str
        The XLSForm file.
    """

    data: dict
    not_carried: list[str] = field(default_factory=list)
    source: str = "<xlsform>"

    def yaml(self) -> str:
        """The questionnaire as YAML text (what ``--out q.yaml`` writes)."""
        return _yaml_text(self.data, self.source)

    def questionnaire(self):
        """The loaded, checked :class:`~surveykit.questionnaire.Questionnaire`.

        Raises
        ------
        QuestionnaireError
            The form does not make a valid questionnaire (the lines named are those of
            :meth:`yaml`).
        """
        return questionnaire_from_text(self.yaml(), source=f"{self.source} (as YAML)")


def from_xlsform(path) -> XLSFormImport:
    """Read an XLSForm (``.xlsx``) into a surveykit questionnaire.

    Types (``select_one``, ``select_multiple``, ``rank``, ``integer``, ``decimal``,
    ``range``, ``text``, groups of ``select_one`` rows as grids), choices, ``relevant``
    (as ``ask_if``), constraints (numeric ``min``/``max``, exclusive options,
    ``max_choices``) and ``calculate`` rows (as derived variables) are carried over; labels
    in the form's default language. A form written by
    :func:`~surveykit.questionnaire.xlsform.to_xlsform` also brings back what it kept in its
    ``surveykit_*`` columns and ``_surveykit`` sheet, so it reads back as the same
    questionnaire.

    Parameters
    ----------
    path : str or path-like
        The XLSForm workbook.

    Returns
    -------
    XLSFormImport
        ``data`` (the questionnaire as a mapping; ``.yaml()`` gives the text and
        ``.questionnaire()`` the checked questionnaire) and ``not_carried``, one sentence
        for each thing left out (a question type surveykit lacks, a routing condition
        with no counterpart, labels in other languages...).

    Raises
    ------
    QuestionnaireError
        The file is missing, not a workbook, has no ``survey`` sheet, or has groups that
        do not close.

    Examples
    --------
    >>> import tempfile
    >>> from openpyxl import Workbook
    >>> wb = Workbook()
    >>> ws = wb.active
    >>> ws.title = "survey"
    >>> for row in [["type", "name", "label", "relevant", "constraint"],
    ...             ["select_one yn", "owner", "Do you own a car?", "", ""],
    ...             ["integer", "cars", "How many cars?", "${owner} = 1", ". >= 1 and . <= 9"],
    ...             ["geopoint", "where", "Where are you?", "", ""]]:
    ...     ws.append(row)
    >>> choices = wb.create_sheet("choices")
    >>> for row in [["list_name", "name", "label"], ["yn", 1, "Yes"], ["yn", 2, "No"]]:
    ...     choices.append(row)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     wb.save(f"{tmp}/cars.xlsx")
    ...     form = from_xlsform(f"{tmp}/cars.xlsx")
    >>> form.data["questions"][1]  # doctest: +NORMALIZE_WHITESPACE
    {'id': 'cars', 'type': 'numeric', 'text': 'How many cars?', 'integer': True,
     'min': 1.0, 'max': 9.0, 'required': False, 'ask_if': 'owner == 1'}
    >>> print(form.not_carried[-1])  # doctest: +NORMALIZE_WHITESPACE
    question 'where' (survey row 4, type geopoint) not carried over: surveykit has no geopoint
    questions
    >>> form.questionnaire().variable("cars").max
    9.0
    """
    path = Path(path)
    return _Reader(path, _read_book(path)).run()


# -- reading ---------------------------------------------------------------------------------
class _Reader(_Fields):
    def __init__(self, path: Path, book: dict):
        self.path, self.source = path, str(path)
        if "survey" not in book:
            raise _fail(path, "has no 'survey' sheet; an XLSForm holds its questions on a sheet "
                        f"named survey (sheets found: {', '.join(t for t, _ in book.values())})")
        self.notes: list[str] = []
        self.header, self.rows = _records(book["survey"][1])
        self.choice_header, choice_rows = _records(book["choices"][1]) if "choices" in book \
            else ([], [])
        settings = _records(book["settings"][1])[1] if "settings" in book else []
        self.settings = settings[0][1] if settings else {}
        self.extra = self.read_extra(book.get(SURVEYKIT_SHEET.lower()))
        self.ours = self.extra is not None
        self.extra = self.extra or {}
        self.languages()
        self.lists: dict[str, list[dict]] = {}
        for r, row in choice_rows:
            name = row.get("list_name", "")
            if not name or "name" not in row:
                continue
            label = row.get(self.label_col) or row.get("label") or row["name"]
            self.lists.setdefault(name, []).append(
                {"code": _code(row["name"]), "label": label, "missing": row.get(MISSING, ""),
                 "row": r})
        self.rename: dict[str, str] = {}
        self.taken: set[str] = set()
        self.entries: list[dict] = []  # questions with their relevants
        self.calcs: list[tuple[str, str, int]] = []
        self.customer_id = None
        self.meta: list[tuple[str, int]] = []
        self.scale_lists: set[str] = set(self.extra.get("scales") or {})

    def read_extra(self, sheet):
        if sheet is None:
            return None
        lines = ["" if not values or values[0] is None else str(values[0])
                 for values in sheet[1]]
        try:
            doc = parse_yaml("\n".join(lines))
        except YAMLReadError as exc:
            raise _fail(self.path, f"sheet {SURVEYKIT_SHEET}: {exc.message}",
                        f"{SURVEYKIT_SHEET} row {exc.line}" if exc.line else "") from None
        if doc is None:
            return {}
        if not isinstance(doc, dict):
            raise _fail(self.path, f"sheet {SURVEYKIT_SHEET} must hold a YAML mapping")
        return _plain(doc, (), {})

    def languages(self) -> None:
        labels = [c for c in self.header if c == "label" or c.startswith("label::")]
        langs = [c.split("::", 1)[1] for c in labels if "::" in c]
        default = self.settings.get("default_language", "")
        if default in langs:
            main = default
        elif "label" in labels or not langs:
            main = None
        else:
            main = langs[0]
        self.label_col = f"label::{main}" if main else "label"
        self.hint_col = f"hint::{main}" if main else "hint"
        code = _language_code(main or default)
        if code is None:
            self.notes.append("the form declares no language (label columns without "
                              "::Language (code)); language: en assumed")
        self.language = code or "en"
        others = [lang for lang in langs if lang != main]
        if others:
            self.notes.append(f"labels in {', '.join(others)} not carried over: a surveykit "
                              f"questionnaire holds one language ({main or self.language})")

    def label(self, row: dict) -> str:
        return row.get(self.label_col) or row.get("label", "")

    def hint(self, row: dict) -> str:
        return row.get(self.hint_col) or row.get("hint", "")

    def id_of(self, name: str, r: int) -> str:
        """A surveykit id for a form name (letters, digits and _, starting with a letter)."""
        new = re.sub(r"[^A-Za-z0-9_]", "_", name) or "q"
        if not new[0].isalpha():
            new = f"q_{new}"
        base, k = new, 1
        while new in self.taken:
            k += 1
            new = f"{base}_{k}"
        self.taken.add(new)
        if new != name:
            self.notes.append(f"name {name!r} (survey row {r}) becomes {new!r}: surveykit ids "
                              "hold letters, digits and _ and start with a letter")
        self.rename[name] = new
        return new

    # -- the tree
    def tree(self) -> _Node:
        root = _Node("root", {}, 0)
        stack = [root]
        for r, row in self.rows:
            t = _norm_type(row.get("type", ""))
            if not t:
                if row.get("name"):
                    self.notes.append(f"survey row {r} ({row['name']!r}) has no type; not "
                                      "carried over")
                continue
            if t in ("begin_group", "begin_repeat"):
                node = _Node("group" if t == "begin_group" else "repeat", row, r)
                stack[-1].children.append(node)
                stack.append(node)
            elif t in ("end_group", "end_repeat"):
                want = "group" if t == "end_group" else "repeat"
                if stack[-1].kind != want:
                    raise _fail(self.path, f"{t} without a matching begin_{want}; check that "
                                "every group and repeat is closed once", f"survey row {r}")
                stack.pop()
            else:
                stack[-1].children.append(_Node("field", row, r))
        if len(stack) > 1:
            open_ = stack[-1]
            raise _fail(self.path, f"{open_.kind} {open_.row.get('name', '')!r} is never closed; "
                        f"add an end_{open_.kind} row", f"survey row {open_.rownum}")
        return root

    def find_scales(self, node: _Node, counts: dict) -> None:
        for child in node.children:
            if child.kind == "field":
                t = _norm_type(child.row.get("type", ""))
                if t.startswith("select_one "):
                    name = t.split()[1]
                    counts[name] = counts.get(name, 0) + 1
                    if "likert" in child.row.get("appearance", "").lower():
                        self.scale_lists.add(name)
            else:
                if child.kind == "group" and self.is_grid(child, quiet=True):
                    self.scale_lists.add(_norm_type(child.children[-1].row["type"]).split()[1])
                self.find_scales(child, counts)

    # -- walking
    def run(self) -> XLSFormImport:
        root = self.tree()
        if not self.ours:
            counts: dict[str, int] = {}
            self.find_scales(root, counts)
            self.scale_lists |= {k for k, n in counts.items() if n >= 2}
        self.walk(root, None, [])
        self.routing()
        data = self.assemble()
        self.check_calculations(data)
        return XLSFormImport(data, self.notes, self.source)

    def walk(self, node: _Node, block, relevants: list) -> None:
        for child in node.children:
            if child.kind == "repeat":
                names = [c.row.get("name", "") for c in child.children]
                self.notes.append(f"repeat {child.row.get('name', '')!r} (survey row "
                                  f"{child.rownum}) not carried over with its questions "
                                  f"({', '.join(map(repr, names))}): surveykit holds one row "
                                  "per respondent")
                continue
            if child.kind == "group":
                if self.is_grid(child):
                    self.grid(child, block, relevants)
                    continue
                rel = relevants + ([(child.row["relevant"], child.rownum)]
                                   if child.row.get("relevant") else [])
                self.walk(child, self.label(child.row) or block, rel)
                continue
            self.field(child, block, relevants)

    def is_grid(self, group: _Node, quiet: bool = False) -> bool:
        if group.row.get(TYPE, "").lower() == "grid":
            return True
        if self.ours:
            return False
        appearance = group.row.get("appearance", "").lower()
        kids = [c for c in group.children
                if c.kind != "field" or c.row.get("appearance", "").lower() != "label"]
        if not kids or any(c.kind != "field" for c in kids):
            return False
        types = {_norm_type(c.row.get("type", "")) for c in kids}
        if len(types) != 1 or not next(iter(types)).startswith("select_one "):
            return False
        if "table-list" in appearance:
            return True
        if "field-list" in appearance and len(kids) >= 2:
            if not quiet:
                self.notes.append(f"group {group.row.get('name', '')!r} (survey row "
                                  f"{group.rownum}: a field-list of select_one rows on one "
                                  "list) read as a grid")
            return True
        return False

    def names(self) -> dict:
        names = {}
        scales = {k: self.lists.get(k, []) for k in self.scale_lists}
        for e in self.entries:
            q = e["q"]
            t = q["type"]
            if t == "grid":
                miss = tuple(c["code"] for c in scales.get(q["scale"], []) if c["missing"])
                for item in q["items"]:
                    names[item["id"]] = _Name(item["id"], "grid_item", miss)
                names[q["id"]] = _Name(q["id"], "grid", items=tuple(i["id"] for i in q["items"]))
            elif t in ("multi", "rank"):
                names[q["id"]] = _Name(q["id"], t)
                for o in q["options"]:
                    names[f"{q['id']}_{o['code']}"] = _Name(
                        f"{q['id']}_{o['code']}", f"{t}_option", question=q["id"], code=o["code"])
            else:
                codes = [o["code"] for o in q.get("options", [])]
                codes += [c["code"] for c in scales.get(q.get("scale"), [])]
                miss = [m["code"] for m in q.get("missing", [])]
                miss += [c["code"] for c in scales.get(q.get("scale"), []) if c["missing"]]
                text = t == "open" or any(isinstance(c, str) for c in codes + miss)
                names[q["id"]] = _Name(q["id"], t, tuple(miss), text)
        for name, _, _ in self.calcs:
            new = self.rename.get(name, name)
            names[new] = _Name(new, "derived")
        return names

    def routing(self) -> None:
        for name, _, r in self.calcs:
            if name not in self.rename:
                self.id_of(name, r)
        self.name_info = self.names()
        derived = {self.rename.get(n, n) for n, _, _ in self.calcs}
        derived |= {d.get("id") for d in self.extra.get("derived") or [] if isinstance(d, dict)}
        for e in self.entries:
            parts = []
            for text, r in e["relevants"]:
                try:
                    parts.append(from_xpath(parse_xpath(text), self.name_info,
                                            rename=self.rename))
                except XPathError as exc:
                    self.notes.append(f"routing of {e['q']['id']!r} not carried over (survey row "
                                      f"{r}: relevant {text!r}): {exc}")
                    parts = None
                    break
            if not parts:
                continue
            text = parts[0] if len(parts) == 1 else " and ".join(
                f"({p})" if " or " in p else p for p in parts)
            try:
                used = Expression.parse(text).names
            except QuestionnaireError as exc:
                self.notes.append(f"routing of {e['q']['id']!r} not carried over: {exc}")
                continue
            if used & derived:
                self.notes.append(f"routing of {e['q']['id']!r} ({text!r}) not carried over: "
                                  f"it reads the calculate {sorted(used & derived)[0]!r}, which "
                                  "surveykit derives after the answers (route on questions)")
                continue
            e["q"]["ask_if"] = text

    def derived(self) -> list[dict]:
        stored = [d for d in self.extra.get("derived") or [] if isinstance(d, dict)]
        known = {d.get("id") for d in stored}
        out = list(stored)
        for name, text, r in self.calcs:
            if name in known:
                continue
            new = self.rename.get(name, name)
            try:
                out.append(self.calc_derived(new, text))
            except (XPathError, QuestionnaireError) as exc:
                self.notes.append(f"calculate {name!r} (survey row {r}) not carried over: {exc}")
        return out

    def calc_derived(self, name: str, text: str) -> dict:
        if not text:
            raise XPathError("it has no calculation")
        tree = parse_xpath(text)
        if tree[0] == "call" and tree[1] == "if":
            rules, node = [], tree
            while node[0] == "call" and node[1] == "if" and len(node[2]) == 3:
                cond, value, node = node[2]
                if value[0] not in ("num", "str") or value == ("str", ""):
                    raise XPathError("an if() whose values are not codes has no counterpart")
                code = value[1] if value[0] == "num" else _code(value[1])
                when = from_xpath(cond, self.name_info, rename=self.rename)
                rules.append({"code": code, "label": str(code), "when": when})
            if node != ("str", ""):
                raise XPathError("an if() chain must end in '' (no code) to become rules")
            return {"id": name, "label": name, "rules": rules}
        expr = _FromXPath(self.name_info, self.rename).number(tree)[0]
        Expression.parse(expr, number=True)
        return {"id": name, "label": name, "compute": expr}

    def assemble(self) -> dict:
        s = self.settings
        form_id = s.get("form_id") or self.path.stem
        sk_id = re.sub(r"[^A-Za-z0-9_.-]", "_", form_id)
        if not sk_id[:1].isalpha():
            sk_id = f"form_{sk_id}"
        if sk_id != form_id:
            self.notes.append(f"form_id {form_id!r} becomes the id {sk_id!r}")
        data: dict = {"id": sk_id, "title": s.get("form_title") or form_id,
                      "version": s.get("version") or "1", "language": self.language}
        extra = self.extra
        for key in sorted(set(extra) - {"description", "scales", "derived", "constructs",
                                        "paths", "path_scheme", "roles", "report"}):
            self.notes.append(f"{SURVEYKIT_SHEET} sheet: {key!r} not carried over (not a part "
                              "of a questionnaire)")
        if extra.get("description"):
            data["description"] = extra["description"]
        meta = extra.get("scales") or {}
        scales = {}
        for sid in [*meta, *sorted(self.scale_lists - set(meta))]:
            rows = self.lists.get(sid)
            if rows is None:
                continue
            spec = dict(meta.get(sid) or {})
            spec["codes"] = [{"code": c["code"], "label": c["label"]} for c in rows
                             if not c["missing"]]
            missing = [c for c in rows if c["missing"]]
            if missing:
                spec["missing"] = self.missing_of(missing, f"scale {sid!r}")
            scales[sid] = spec
        if scales:
            data["scales"] = scales
        data["questions"] = [e["q"] for e in self.entries]
        derived = self.derived()
        if derived:
            data["derived"] = derived
        if extra.get("constructs"):
            data["constructs"] = extra["constructs"]
        for key in ("paths", "path_scheme"):          # the path model
            if extra.get(key):
                data[key] = extra[key]
        roles = dict(extra.get("roles") or {})
        if self.customer_id and not self.ours:
            roles["customer_id"] = self.customer_id
        if roles:
            data["roles"] = roles
        if extra.get("report"):
            data["report"] = extra["report"]
        if not self.ours and self.meta:
            self.notes.append("metadata " + ", ".join(f"{t} (survey row {r})" for t, r in
                                                      self.meta)
                              + " not carried over as questions; with start and end, declare "
                              "roles.duration to get the interview duration when reading the "
                              "platform's data")
        return data

    def check_calculations(self, data: dict) -> None:
        """A calculate edited on the platform no longer matches the definition kept in the
        _surveykit sheet: say which one was used."""
        stored = {d.get("id") for d in self.extra.get("derived") or [] if isinstance(d, dict)}
        rows = {n: (t, r) for n, t, r in self.calcs if n in stored}
        if not stored:
            return
        try:
            q = questionnaire_from_dict(data, source=self.source)
        except QuestionnaireError:
            return  # the user finds out from .questionnaire()
        for d in q.derived:
            if d.id not in stored:
                continue
            try:
                want = calculation(d, q)
            except XPathError:
                want = None
            have = rows.get(d.id)
            if want is None or have is None:
                continue
            try:
                same = xpath_text(parse_xpath(have[0])) == want
            except XPathError:
                same = False
            if not same:
                self.notes.append(f"calculate {d.id!r} (survey row {have[1]}) differs from its "
                                  f"definition in the {SURVEYKIT_SHEET} sheet; the definition "
                                  "was kept (edit the questionnaire, then export again)")


# -- YAML ----------------------------------------------------------------------------------
_YAML11_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}


_FLOW_LISTS = {"options", "missing", "items", "bands", "rules", "metrics"}
_QUESTION_ORDER = ["id", "block", "type", "text", "label", "scale", "options", "missing",
                   "items", "min", "max", "unit", "integer", "max_choices", "rank_max",
                   "required", "pii", "instruction", "ask_if"]


def _yaml_text(data: dict, source: str = "") -> str:
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    def scalar(v):
        if isinstance(v, str) and v.strip().lower() in _YAML11_WORDS:
            return DoubleQuotedScalarString(v)
        if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
            return int(v)  # min: 18, not 18.0 (read back as the same number)
        return v

    def node(v, key=None, *, flow: bool = False):
        if isinstance(v, dict):
            m = CommentedMap((k, node(x, k)) for k, x in v.items())
            if flow and all(not isinstance(x, dict | list) for x in v.values()):
                m.fa.set_flow_style()
            return m
        if isinstance(v, list):
            s = CommentedSeq(node(x, flow=key in _FLOW_LISTS) for x in v)
            if all(not isinstance(x, dict | list) for x in v):
                s.fa.set_flow_style()
            return s
        return scalar(v)

    data = dict(data)
    data["questions"] = [{k: q[k] for k in sorted(q, key=_QUESTION_ORDER.index)}
                         for q in data.get("questions", [])]
    doc = node(data)
    for key in ("scales",):
        for spec in doc.get(key, {}).values():
            codes = spec.get("codes")
            if codes is not None:
                spec["codes"] = CommentedMap((c["code"], scalar(c["label"])) for c in codes)
    for q in doc.get("questions", []):
        opts = q.get("options")
        if opts is not None and all(set(o) == {"code", "label"} for o in opts):
            q["options"] = CommentedMap((o["code"], scalar(o["label"])) for o in opts)
    yaml = YAML(typ="rt")
    yaml.width = 100
    yaml.indent(mapping=2, sequence=4, offset=2)
    buf = io.StringIO()
    yaml.dump(doc, buf)
    header = f"# Read from the XLSForm {Path(source).name} by surveykit\n" if source else ""
    return header + buf.getvalue()
