"""The tab book object: a computed banner as tidy frames, formatted grids, styled HTML for
notebooks and an Excel workbook (one sheet per question). Built by
:func:`surveykit.tables.banner`."""

from __future__ import annotations

import html
import io
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ._util import as_list, atomic_write, short_repr, xlsx_text
from .errors import TableError

__all__ = ["BannerTable", "sheet_name"]

_SHEET_MAX = 31                       # Excel's limit, in UTF-16 code units
_SHEET_BAD = re.compile(r"[\[\]:*?/\\\x00-\x1f\x7f]")  # not allowed in a sheet name
_SHEET_RESERVED = {"history"}         # Excel reserves "History"


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-16 code units, without a trailing space or
    apostrophe."""
    while _utf16_len(text) > limit:
        text = text[:-1]
    return text.rstrip(" '")


def sheet_name(label, used: set[str], fallback: str = "Question") -> str:
    """An Excel-valid worksheet name for ``label``, unique case-insensitively among
    ``used`` (lower-cased names already taken; the new name is added to it).

    Characters Excel does not allow (``[ ] : * ? / \\`` and control characters) become
    spaces, runs of spaces one space; leading and trailing apostrophes and spaces go; the
    name is cut to 31 characters. An empty result takes ``fallback``; a name already taken
    gets the first free suffix `` (2)``, `` (3)``, ... (the base cut so the whole stays
    within 31), so the same labels in the same order always give the same names.

    Examples
    --------
    >>> used = {"contents"}
    >>> sheet_name("Overall satisfaction: rating [1-5]?", used)
    'Overall satisfaction rating 1-5'
    >>> sheet_name("overall SATISFACTION rating 1-5", used)
    'overall SATISFACTION rating (2)'
    >>> sheet_name("Contents", used), sheet_name("'*'", used, fallback="nps")
    ('Contents (2)', 'nps')
    >>> len(sheet_name("How likely are you to recommend us to a friend?", used))
    31
    """
    text = " ".join(_SHEET_BAD.sub(" ", str(label if label is not None else "")).split())
    base = _clip(text.strip(" '"), _SHEET_MAX).lstrip(" '")
    if not base:
        base = _clip(" ".join(_SHEET_BAD.sub(" ", str(fallback)).split()).strip(" '"),
                     _SHEET_MAX) or "Question"
    name, k = base, 1
    while name.casefold() in used or name.casefold() in _SHEET_RESERVED:
        k += 1
        suffix = f" ({k})"
        name = _clip(base, _SHEET_MAX - len(suffix)) + suffix
    used.add(name.casefold())
    return name


def _location(name: str) -> str:
    """An internal hyperlink target: cell A1 of sheet ``name``, quoted for Excel."""
    return "'" + name.replace("'", "''") + "'!A1"

_CSS = """<style>
.sk-banner{border-collapse:collapse;font:12px/1.35 system-ui,sans-serif;margin:0 0 14px 0}
.sk-banner caption{text-align:left;font-weight:600;padding:4px 0}
.sk-banner th,.sk-banner td{border:1px solid #d0d4da;padding:2px 6px;text-align:right}
.sk-banner td{white-space:nowrap}
.sk-banner th{background:#f2f4f7}.sk-banner td.lab,.sk-banner th.lab{text-align:left}
.sk-banner tr.base td{color:#555;font-style:italic}.sk-banner .let{color:#b00020;font-weight:600}
.sk-banner .low{color:#999}
.sk-notes{font:11px system-ui,sans-serif;color:#444;margin:0 0 18px 0}
</style>"""


class BannerTable:
    """A computed banner (tab book): tidy estimates, the pairwise tests, bases, footnotes.

    Build with :func:`banner`. ``to_frame()`` gives one row per cell (question row x banner
    column); ``tests`` one row per comparison; ``table(qid)`` the formatted grid of one
    question; ``to_html()`` / ``to_excel(path)`` the styled tab book.
    """

    def __init__(self, frame, tests, bases, columns, specs, footnotes, options):
        self._frame, self.tests, self.bases = frame, tests, bases
        self.columns, self._specs = columns, specs
        self.footnotes, self.options = footnotes, options

    @property
    def questions(self) -> list[str]:
        return list(self._specs)

    def to_frame(self) -> pd.DataFrame:
        """One row per (question row, banner column): ``estimate`` (proportions 0-1, means,
        NPS -100..100), its ``se`` and design effect ``deff`` (against simple random sampling
        of the same n, as :func:`surveykit.estimates.estimate`), ``n``, ``n_weighted``,
        ``n_eff`` (Kish; ``n / deff`` under a sample design), ``low_base``, ``sig`` (letters
        of the columns this cell is significantly higher than)."""
        return self._frame.copy()

    def summary(self) -> str:
        f = self._frame
        n_sig = int((f["sig"] != "").sum())
        return (f"Banner table: {len(self._specs)} questions x {len(self.columns)} columns "
                f"({', '.join(self.columns['banner'].unique())}); {n_sig} significant cells.\n"
                + "\n".join(self.footnotes))

    def __repr__(self) -> str:
        return short_repr(self)

    def table(self, question: str) -> pd.DataFrame:
        """The formatted grid of one question: rows = bases and statistics, columns =
        (banner variable, column (letter)); cells are text such as ``"45% BC"``."""
        if question not in self._specs:
            raise TableError(f"question {question!r} is not in this table; it has "
                             f"{', '.join(self._specs)}")
        grid = self._grid(question)
        cols = pd.MultiIndex.from_arrays([self.columns["banner_label"],
                                          self.columns["header"]])
        return pd.DataFrame([r[1] for r in grid], index=[r[0] for r in grid], columns=cols)

    def _cell_text(self, stat, est, sig, low) -> str:
        if not np.isfinite(est):
            return "-"
        d = self.options["decimals"]
        if stat == "pct":
            txt = f"{100 * est:.{d}f}%"
        elif stat == "nps":
            txt = f"{est:+.{d}f}"
        else:
            txt = f"{est:.2f}"
        if low:
            txt += "*"
        return f"{txt} {sig}".rstrip()

    def _grid(self, question: str) -> list[tuple[str, list[str], str]]:
        f = self._frame[self._frame["question"] == question]
        b = self.bases[self.bases["question"] == question]
        rows = [("Base (unweighted)", [f"{int(v):,}" for v in b["n"]], "base"),
                ("Base (effective)", [f"{v:,.0f}" for v in b["n_eff"]], "base")]
        nc = len(self.columns)
        for i in range(0, len(f), nc):
            chunk = f.iloc[i:i + nc]
            rows.append((chunk["row_label"].iat[0],
                         [self._cell_text(s, e, g, lo) for s, e, g, lo in
                          zip(chunk["stat"], chunk["estimate"], chunk["sig"], chunk["low_base"],
                              strict=True)], chunk["stat"].iat[0]))
        return rows

    def to_html(self, questions: Sequence[str] | None = None) -> str:
        """Self-contained styled HTML of the tab book (or of some questions)."""
        cols = self.columns
        head1 = ['<th class="lab" rowspan="2"></th>']
        for bvar, grp in cols.groupby("banner", sort=False):
            lab = html.escape(str(grp["banner_label"].iat[0]))
            span = 'rowspan="2"' if bvar == "Total" else f'colspan="{len(grp)}"'
            head1.append(f'<th {span}>{lab}</th>')
        head2 = [f'<th>{html.escape(str(h))}</th>'
                 for b, h in zip(cols["banner"], cols["header"], strict=True) if b != "Total"]
        parts = [_CSS]
        for qid in as_list(questions) or self.questions:
            spec = self._specs[qid]
            body = []
            for label, cells, stat in self._grid(qid):
                tds = []
                for c in cells:
                    val, _, sig = c.partition(" ")
                    klass = "low" if val.endswith("*") else ""
                    if sig:
                        sig = f' <span class="let">{html.escape(sig)}</span>'
                    tds.append(f'<td class="{klass}">{html.escape(val)}{sig}</td>')
                body.append(f'<tr class="{"base" if stat == "base" else ""}">'
                            f'<td class="lab">{html.escape(str(label))}</td>{"".join(tds)}</tr>')
            parts.append(f'<table class="sk-banner"><caption>{html.escape(qid)}: '
                         f'{html.escape(spec.label)}</caption><thead><tr>{"".join(head1)}</tr>'
                         f'<tr>{"".join(head2)}</tr></thead><tbody>{"".join(body)}</tbody></table>')
        parts.append('<div class="sk-notes">' + "<br>".join(html.escape(n) for n in self.footnotes)
                     + "</div>")
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        return self.to_html()

    def sheet_names(self) -> dict[str, str]:
        """The tab book's worksheet name of each question (question id -> name): the
        question's label made Excel-valid, unique and at most 31 characters
        (:func:`sheet_name`; the question id when the label leaves nothing)."""
        used: set[str] = {"contents"}
        return {qid: sheet_name(self._specs[qid].label, used, fallback=qid)
                for qid in self.questions}

    def to_excel(self, path) -> Path:
        """Write an Excel tab book: a Contents sheet linking to one sheet per question
        (named from the question's label, :meth:`sheet_names`; each links back), values
        as numbers with formats, significance letters in the row beneath, whole-number
        bases, footnotes at the foot. Every sheet prints landscape, one page wide, with its
        title rows repeated on each page. Written to a temporary file and moved into place.
        Text that a spreadsheet would run as a formula (a label or an answer starting with
        ``=``, ``+``, ``-``, ``@``) is written as a text cell
        (:func:`surveykit._util.xlsx_text`)."""
        from openpyxl import Workbook
        from openpyxl.styles import Alignment, Font, PatternFill
        from openpyxl.utils import get_column_letter
        from openpyxl.worksheet.hyperlink import Hyperlink

        def link(cell, target):
            cell.hyperlink = Hyperlink(ref=cell.coordinate, location=_location(target))
            cell.font = Font(color="0563C1", underline="single", bold=cell.font.b)

        def print_setup(ws, title_rows):
            ws.page_setup.orientation = "landscape"
            ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
            ws.sheet_properties.pageSetUpPr.fitToPage = True
            ws.print_title_rows = title_rows
            ws.print_options.horizontalCentered = True

        wb = Workbook()
        toc = wb.active
        toc.title = "Contents"
        toc.append(["Sheet", "Question", "Label"])
        bold, grey = Font(bold=True), PatternFill("solid", fgColor="F2F4F7")
        red, ital = Font(color="B00020", bold=True, size=9), Font(italic=True, color="555555")
        center = Alignment(horizontal="center", wrap_text=True)
        for c in range(1, 4):
            toc.cell(row=1, column=c).font = bold
        cols, nc = self.columns, len(self.columns)
        d = self.options["decimals"]
        fmt = {"pct": "0%" if d == 0 else "0." + "0" * d + "%", "mean": "0.00", "nps": "+0;-0;0"}
        for qid, name in self.sheet_names().items():
            spec = self._specs[qid]
            ws = wb.create_sheet(name)
            toc.append([name, qid, spec.label])
            link(toc.cell(row=toc.max_row, column=1), name)
            ws.append([f"{qid}: {spec.label}"])
            ws["A1"].font = Font(bold=True, size=12)
            ws.append(["Contents"] + list(cols["banner_label"]))
            ws.append([""] + list(cols["header"]))
            start = 2
            for _, grp in cols.groupby("banner", sort=False):
                if len(grp) > 1:
                    ws.merge_cells(start_row=2, start_column=start, end_row=2,
                                   end_column=start + len(grp) - 1)
                start += len(grp)
            for r in (2, 3):
                for c in range(1, nc + 2):
                    cell = ws.cell(row=r, column=c)
                    cell.font, cell.fill, cell.alignment = bold, grey, center
            ws["A2"].alignment = Alignment(horizontal="left")
            link(ws["A2"], "Contents")                      # back to the contents
            b = self.bases[self.bases["question"] == qid]
            for lab, vals in (("Base (unweighted)", b["n"]), ("Base (effective)", b["n_eff"])):
                # whole numbers: the effective (weighted) base rounded as the HTML shows it
                ws.append([lab] + [int(round(float(v))) if np.isfinite(v) else None
                                   for v in vals])
                for c in range(1, nc + 2):
                    cell = ws.cell(row=ws.max_row, column=c)
                    cell.font = ital
                    if c > 1:
                        cell.number_format = "#,##0"
            f = self._frame[self._frame["question"] == qid]
            for i in range(0, len(f), nc):
                chunk = f.iloc[i:i + nc]
                stat = chunk["stat"].iat[0]
                # an NPS is stored as the whole number shown (no "-0" for -0.3)
                shown = ((lambda e: float(round(e)) + 0.0) if stat == "nps" else float)
                ws.append([chunk["row_label"].iat[0]] +
                          [None if not np.isfinite(e) else shown(e) for e in chunk["estimate"]])
                r = ws.max_row
                for c in range(2, nc + 2):
                    ws.cell(row=r, column=c).number_format = fmt[stat]
                sigs = [g + ("*" if lo else "") for g, lo in zip(chunk["sig"], chunk["low_base"],
                                                                 strict=True)]
                if any(sigs):
                    ws.append([""] + sigs)
                    for c in range(2, nc + 2):
                        ws.cell(row=ws.max_row, column=c).font = red
            ws.append([])
            for note in self.footnotes:
                ws.append([note])
            ws.column_dimensions["A"].width = 34
            for c in range(2, nc + 2):
                ws.column_dimensions[get_column_letter(c)].width = 12
            ws.freeze_panes = "B4"
            print_setup(ws, "1:3")
        toc.append([])
        for note in self.footnotes:
            toc.append([note])
        toc.column_dimensions["A"].width = 32
        toc.column_dimensions["C"].width = 60
        toc.freeze_panes = "A2"
        print_setup(toc, "1:1")
        for sheet in wb.worksheets:  # labels and answers are text, never formulas
            for row in sheet.iter_rows():
                for cell in row:
                    xlsx_text(cell)
        buf = io.BytesIO()
        wb.save(buf)
        return atomic_write(path, buf.getvalue())
