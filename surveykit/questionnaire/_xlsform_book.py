"""The workbook of an XLSForm as :func:`~surveykit.questionnaire.xlsform.from_xlsform` reads
it: its sheets as records (each with its row number), cell text, type names and the tree of
groups and fields."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import Problem, QuestionnaireError
from ._xlsform_sheets import LANGUAGES

#: XLSForm metadata fields: recorded by the platform, not asked.
META_TYPES = frozenset({"start", "end", "today", "deviceid", "imei", "subscriberid",
                        "simserial", "phonenumber", "username", "email", "audit",
                        "start-geopoint", "background-geopoint", "background-audio"})
MISSING_KINDS = ("dont_know", "refused", "not_applicable")
_TYPE_ALIASES = [(r"^begin group$", "begin_group"), (r"^end group$", "end_group"),
                 (r"^begin repeat$", "begin_repeat"), (r"^end repeat$", "end_repeat"),
                 (r"^select one ", "select_one "), (r"^select1 ", "select_one "),
                 (r"^select all that apply ", "select_multiple "),
                 (r"^select multiple ", "select_multiple "), (r"^int$", "integer"),
                 (r"^string$", "text")]
_YES = {"yes", "true", "true()", "1", "y"}


def _fail(path: Path, message: str, where: str = "") -> QuestionnaireError:
    return QuestionnaireError(Problem(message, path=where, file=str(path)))


def _read_book(path: Path) -> dict:
    if not path.exists():
        raise _fail(path, "XLSForm file not found; check the path")
    if path.is_dir():
        raise _fail(path, "is a folder; give the XLSForm's .xlsx file")
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        raise _fail(path, f"{path.suffix or 'a file without suffix'} is not an Excel workbook; "
                    "save the XLSForm as .xlsx")
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, openpyxl and XML errors
        raise _fail(path, f"cannot read as an Excel workbook ({type(exc).__name__}: {exc}); "
                    "check that it is an .xlsx file") from None
    try:
        return {ws.title.strip().lower(): (ws.title, list(ws.iter_rows(values_only=True)))
                for ws in wb.worksheets}
    finally:
        wb.close()


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()
    return str(v).strip()


def _column(name: str) -> str:
    base, sep, lang = name.strip().partition("::")
    return base.strip().lower() + (f"::{lang.strip()}" if sep else "")


def _records(rows) -> tuple[list[str], list[tuple[int, dict]]]:
    header, out = None, []
    for r, values in enumerate(rows, start=1):
        cells = [_cell(v) for v in values]
        if not any(cells):
            continue
        if header is None:
            header = [_column(c) for c in cells]
            continue
        out.append((r, {h: c for h, c in zip(header, cells, strict=False) if h and c}))
    return header or [], out


def _norm_type(text: str) -> str:
    t = " ".join(text.lower().split())
    for pattern, repl in _TYPE_ALIASES:
        t = re.sub(pattern, repl, t)
    return t


def _code(text: str):
    return int(text) if re.fullmatch(r"-?(0|[1-9]\d*)", text) else text


def _language_code(name: str) -> str | None:
    if not name:
        return None
    m = re.search(r"\(([^()]+)\)\s*$", name)
    if m:
        return m.group(1).strip()
    by_name = {v.lower(): k for k, v in LANGUAGES.items()}
    return by_name.get(name.strip().lower(), name.strip())


@dataclass
class _Node:
    kind: str  # root, group, repeat, field
    row: dict
    rownum: int
    children: list = field(default_factory=list)
