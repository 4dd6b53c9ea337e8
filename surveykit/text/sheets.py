"""The human-coding round trip: an Excel sheet to tick themes in, and reading it back.

:func:`export_coding_sheet` writes one row per answer (personal data masked) and one column
per code to tick, blank: the coder does not see the automatic coding. :func:`read_coding_sheet`
reads the ticks back as the same ``{question}_{code}`` columns that
:func:`~surveykit.text.code_text` writes, so :func:`~surveykit.text.agreement` can compare
the two. Text that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``,
``@``) is written as a text cell with :func:`surveykit._util.xlsx_text`.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pandas as pd

from .._util import atomic_write, check_columns, xlsx_text
from ..errors import TextError
from .codeframe import Codeframe
from .masking import mask_personal_data

__all__ = ["export_coding_sheet", "read_coding_sheet", "TICKS"]

#: What counts as a tick (case ignored); an empty cell, 0, "no" or "n" is no tick.
TICKS = frozenset({"1", "x", "yes", "y", "✓", "✔", "true"})
_NO_TICKS = frozenset({"", "0", "no", "n", "false"})
_SHEET, _CODES, _ABOUT = "coding", "codes", "about"


def _codes_of(df: pd.DataFrame, question: str, coded) -> pd.DataFrame:
    """The codes to tick (``code, label``): themes, other and no comment (nets follow from
    their themes and are not ticked)."""
    cf = coded if isinstance(coded, Codeframe) else getattr(coded, "codeframe", None)
    if cf is not None:
        codes = cf.codes()
        return codes[codes["kind"] != "net"][["code", "label"]].reset_index(drop=True)
    if coded is not None:
        raise TextError(f"coded must be a Codeframe or the result of code_text, not "
                        f"{type(coded).__name__}")
    prefix = f"{question}_"
    found = [c[len(prefix):] for c in df.columns if isinstance(c, str) and c.startswith(prefix)
             and "_" not in c[len(prefix):]
             and set(pd.unique(df[c].dropna())) <= {0, 1}]
    if not found:
        raise TextError(f"no coded columns {prefix}<code> in the data; pass coded= (a "
                        "Codeframe or the result of code_text) to say which codes to tick")
    return pd.DataFrame({"code": found, "label": found})


def _cell_text(value) -> str:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub(" ", str(value))


def export_coding_sheet(df: pd.DataFrame, question: str, path: str | os.PathLike, *,
                        coded=None, sample: int | None = None, seed: int = 0,
                        mask: bool = True) -> Path:
    """Write an Excel sheet for a human coder: one row per answer, one column per code.

    Parameters
    ----------
    df : DataFrame
        One row per respondent (not modified); its index labels identify the rows.
    question : str
        The column of open answers.
    path : str or path-like
        The ``.xlsx`` file to write (written to a temporary name, then moved into place).
    coded : Codeframe or CodedText, optional
        Which codes to tick: the codeframe's themes, other and no comment. Default: the
        ``{question}_<code>`` 0/1 columns already in ``df``.
    sample : int, optional
        Write a random sample of this many answers (all when there are fewer), e.g. 200
        for an agreement check. Default: every answer.
    seed : int
        Seed of the sample.
    mask : bool
        Mask e-mail addresses, phone numbers and id-like numbers in the answers (default).

    Returns
    -------
    Path

    Raises
    ------
    TextError
        Unknown column, no codes, row labels that repeat, a bad sample size.

    Examples
    --------
    >>> import tempfile
    >>> from surveykit.text import load_codeframe
    >>> cf = load_codeframe("questionnaires/pc_customers.codeframe.yaml")
    >>> d = pd.DataFrame({"pain_text": ["=1+2 battery is bad", None, "mail a@b.com"]})
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = export_coding_sheet(d, "pain_text", f"{tmp}/code.xlsx", coded=cf)
    ...     back = read_coding_sheet(p)
    >>> list(back.attrs["answers"].values()), back.shape
    (['=1+2 battery is bad', 'mail [email]'], (2, 12))
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.datavalidation import DataValidation

    if not isinstance(df, pd.DataFrame):
        raise TextError(f"df must be a pandas DataFrame, not {type(df).__name__}")
    check_columns(df, [question], error=TextError, what="open question")
    if df.index.has_duplicates:
        dup = df.index[df.index.duplicated()][0]
        raise TextError(f"the row label {dup!r} repeats; the sheet identifies answers by row "
                        "label: reset_index() first or set a unique respondent id as index")
    codes = _codes_of(df, question, coded)
    answers = df[question]
    answers = answers[answers.notna()]
    n_all = len(answers)
    if sample is not None:
        if not isinstance(sample, int | np.integer) or sample < 1:
            raise TextError(f"sample must be a whole number >= 1, not {sample!r}")
        if sample < n_all:
            pick = np.sort(np.random.default_rng(seed).choice(n_all, int(sample),
                                                              replace=False))
            answers = answers.iloc[pick]
    wb = Workbook()
    ws = wb.active
    ws.title = _SHEET
    ws.append(["row", "answer", *codes["code"]])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for label, text in zip(answers.index, answers, strict=True):
        shown = mask_personal_data(str(text)) if mask else str(text)
        ws.append([label if isinstance(label, int | np.integer) else _cell_text(label),
                   _cell_text(shown)])
        for cell in ws[ws.max_row][:2]:
            xlsx_text(cell)
    last = ws.max_row
    ticks = DataValidation(type="list", formula1='"1,x"', allow_blank=True,
                           error="Tick with 1 or x, or leave the cell empty",
                           errorTitle="Not a tick", showErrorMessage=True)
    ws.add_data_validation(ticks)
    if last > 1:
        from openpyxl.utils import get_column_letter
        ticks.add(f"C2:{get_column_letter(2 + len(codes))}{last}")
    ws.freeze_panes = "C2"
    ws.column_dimensions["B"].width = 80
    for row in ws.iter_rows(min_row=2, min_col=2, max_col=2):
        row[0].alignment = Alignment(wrap_text=True, vertical="top")
    wc = wb.create_sheet(_CODES)
    wc.append(["code", "label"])
    for code, label in zip(codes["code"], codes["label"], strict=True):
        wc.append([code, _cell_text(label)])
        for cell in wc[wc.max_row]:
            xlsx_text(cell)
    wa = wb.create_sheet(_ABOUT)
    about = [("question", question),
             ("codeframe", getattr(coded if isinstance(coded, Codeframe)
                                   else getattr(coded, "codeframe", None), "id", "")),
             ("answers", f"{len(answers):,} of {n_all:,}"
              + (f" (random sample, seed {seed})" if len(answers) < n_all else "")),
             ("masked", "e-mail addresses, phone numbers and id-like numbers" if mask
              else "no"),
             ("how to code", "Put 1 (or x) under every code the answer mentions; leave the "
                             "others empty. Tick 'other' when it mentions none of the "
                             "themes, and the no-comment code when it says nothing. A row "
                             "with no tick at all counts as not coded yet.")]
    for key, value in about:
        wa.append([key, _cell_text(value)])
        for cell in wa[wa.max_row]:
            xlsx_text(cell)
    wa.column_dimensions["B"].width = 100
    buf = io.BytesIO()
    wb.save(buf)
    return atomic_write(path, buf.getvalue())


def read_coding_sheet(path: str | os.PathLike) -> pd.DataFrame:
    """Read a coding sheet back (written by :func:`export_coding_sheet`, filled in).

    Returns
    -------
    DataFrame
        Indexed by the data's row labels, one float column ``{question}_{code}`` per code:
        1 ticked, 0 not, NaN for a row with no tick at all (not coded yet; counted in
        ``.attrs["not_coded"]``). ``.attrs``: ``question``, ``answers`` (``{row: answer}``
        as shown to the coder), ``not_coded``.

    Raises
    ------
    TextError
        A missing sheet or column, a row label that repeats, or a cell that is neither a
        tick nor empty (named by its cell, e.g. ``coding!D7``).
    """
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    path = Path(path)
    try:
        wb = load_workbook(path, read_only=True, data_only=False)
    except FileNotFoundError:
        raise TextError(f"coding sheet not found: {path}") from None
    except Exception as exc:  # zipfile / openpyxl errors: not an xlsx file
        raise TextError(f"{path} is not a readable .xlsx file ({exc}); save the sheet as "
                        "Excel workbook (.xlsx)") from None
    try:
        for name in (_SHEET, _ABOUT):
            if name not in wb.sheetnames:
                raise TextError(f"{path}: no sheet {name!r}; read_coding_sheet reads the "
                                "sheets that export_coding_sheet writes")
        about = {r[0]: r[1] for r in wb[_ABOUT].iter_rows(values_only=True) if r and r[0]}
        rows = list(wb[_SHEET].iter_rows(values_only=True))
    finally:
        wb.close()
    question = about.get("question")
    if not rows or list(rows[0][:2]) != ["row", "answer"] or not question:
        raise TextError(f"{path}: the sheet {_SHEET!r} must start with the columns row, "
                        "answer, then one column per code, and 'about' must name the question")
    codes = [str(c) for c in rows[0][2:] if c is not None]
    labels, answers, values = [], [], []
    for r, row in enumerate(rows[1:], start=2):
        row = list(row) + [None] * (2 + len(codes) - len(row))
        if row[0] is None and all(v is None for v in row[1:]):
            continue
        labels.append(row[0])
        answers.append(row[1])
        ticks = []
        for j, v in enumerate(row[2:2 + len(codes)]):
            text = "" if v is None else str(v).strip().lower()
            if isinstance(v, bool):
                text = "true" if v else "false"
            elif isinstance(v, int | float) and v in (0, 1):
                text = str(int(v))
            if text in TICKS:
                ticks.append(1.0)
            elif text in _NO_TICKS:
                ticks.append(0.0)
            else:
                raise TextError(f"{path}: {_SHEET}!{get_column_letter(3 + j)}{r}: {v!r} is "
                                "not a tick; write 1 or x, or leave the cell empty")
        values.append(ticks)
    index = pd.Index(labels, name=None)
    if index.has_duplicates:
        raise TextError(f"{path}: the row label {index[index.duplicated()][0]!r} appears "
                        "twice in the sheet; each answer must appear once")
    out = pd.DataFrame(np.array(values, dtype=float).reshape(len(labels), len(codes)),
                       index=index, columns=[f"{question}_{c}" for c in codes])
    none = out.sum(axis=1) == 0
    out.loc[none] = np.nan
    out.attrs.update({"question": question, "not_coded": list(index[none.to_numpy()]),
                      "answers": dict(zip(labels, answers, strict=True))})
    return out
