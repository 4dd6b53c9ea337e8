"""A report section and its HTML: key findings first, then tables, charts and quotes.

Everything shown is HTML-escaped (labels, category names, open-text answers); charts are
embedded as PNG data URIs, so a section renders the same in Jupyter, in the exported HTML
and offline.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DriverAnalysisError, EstimationError, ReportError
from .narrative import fmt_diff, fmt_p, fmt_value, is_number

__all__ = ["Section", "SectionPlan", "SIG_UP", "SIG_DOWN", "EXPECTED_ERRORS"]

SIG_UP, SIG_DOWN = "▲", "▼"
#: errors a section turns into a sentence instead of failing the whole report
EXPECTED_ERRORS = (EstimationError, DriverAnalysisError, ReportError, KeyError, ValueError)


# ------------------------------------------------------------------------------------------
# a section of the report
# ------------------------------------------------------------------------------------------
@dataclass
class Section:
    """One report section: key findings first, then tables, charts, quotes and notes.

    ``findings`` and ``notes`` are plain text (escaped when shown); ``tables`` are
    ``(caption, DataFrame)`` pairs of display-ready text; ``figures`` are matplotlib
    Figures or PNG bytes; ``blocks`` are HTML fragments rendered by package objects that
    escape their own text (e.g. a banner table); ``data`` keeps the underlying result
    objects for reuse.
    """

    key: str
    title: str
    findings: list[str] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    figures: list[Any] = field(default_factory=list)
    quotes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: dict = field(default_factory=dict)
    blocks: list[str] = field(default_factory=list)
    heading: str | None = None
    intro: str = ""

    def to_frame(self) -> pd.DataFrame:
        """The first table (empty if none)."""
        return self.tables[0][1].copy() if self.tables else pd.DataFrame()

    def summary(self) -> str:
        return f"{self.title}\n" + "\n".join(f"- {f}" for f in self.findings)

    def __repr__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        esc = html.escape
        parts = [f'<div class="sk-section" data-section="{esc(self.key)}">']
        if self.heading:
            parts.append(f"<h2>{esc(self.heading)}</h2>")
        if self.intro:
            parts.append(f'<p class="sk-intro">{esc(self.intro)}</p>')
        if self.findings:
            parts.append('<div class="sk-findings"><ul>'
                         + "".join(f"<li>{_flag(esc(f))}</li>" for f in self.findings)
                         + "</ul></div>")
        for caption, table in self.tables:
            parts.append(_table_html(table, caption))
        parts.extend(self.blocks)
        for fig in self.figures:
            parts.append(_figure_html(fig, self.title))
        if self.quotes:
            parts.append('<p class="sk-note">In their own words (verbatim, unedited):</p>'
                         '<ul class="sk-verbatims">'
                         + "".join(f"<li>&ldquo;{esc(q)}&rdquo;</li>" for q in self.quotes)
                         + "</ul>")
        for n in self.notes:
            parts.append(f'<p class="sk-note">{_flag(esc(n))}</p>')
        parts.append("</div>")
        return "".join(parts)


class SectionPlan:
    """The sections of a report page: which apply, and each with its numbered heading.

    A subclass sets ``SECTIONS`` (key -> (title, introduction with ``{placeholders}``)),
    has one method per key that builds the :class:`Section`, and implements
    :meth:`left_out` (key -> why its inputs are missing) and :meth:`intro_fields`.
    """

    SECTIONS: dict[str, tuple[str, str]] = {}
    BUILDERS: dict[str, str] = {}

    def left_out(self) -> dict[str, str]:  # pragma: no cover - overridden
        return {}

    def intro_fields(self) -> dict[str, str]:
        return {}

    def sections(self) -> list[str]:
        """The keys of the sections this page shows, in order."""
        gone = self.left_out()
        return [k for k in self.SECTIONS if k not in gone]

    def section(self, key: str) -> Section | None:
        """Section ``key`` with its numbered heading and introduction, or None when its
        inputs are missing (a notebook cell then shows nothing: no empty headings)."""
        if key not in self.SECTIONS:
            raise ReportError(f"unknown section {key!r}; sections: {', '.join(self.SECTIONS)}")
        shown = self.sections()
        if key not in shown:
            return None
        sec = getattr(self, self.BUILDERS.get(key, key))()
        title, intro = self.SECTIONS[key]
        sec.heading = f"{shown.index(key) + 1}. {title}"
        sec.intro = intro.format(**self.intro_fields())
        return sec


def _flag(text: str) -> str:
    return text.replace("low base", '<span class="sk-lowbase">low base</span>')


def _table_html(table: pd.DataFrame, caption: str = "") -> str:
    esc = html.escape
    head = "".join(f'<th class="{"sk-text" if i == 0 else ""}">{esc(str(c))}</th>'
                   for i, c in enumerate(table.columns))
    rows = []
    for _, r in table.iterrows():
        cells = []
        for i, v in enumerate(r):
            text = "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
            cls = "sk-text" if i == 0 or not _numberish(text) else ""
            body = esc(text)
            if text.startswith((SIG_UP, SIG_DOWN)):  # direction only: not good or bad
                body = f'<span class="sk-sig">{body}</span>'
            cells.append(f'<td class="{cls}">{_flag(body)}</td>')
        rows.append(f"<tr>{''.join(cells)}</tr>")
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return (f'<table class="sk-table">{cap}<thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def _numberish(text: str) -> bool:
    t = text.strip().lstrip("+-▲▼ ").replace(",", "").rstrip("% ")
    try:
        float(t.split()[0])
        return True
    except (ValueError, IndexError):
        return False


def _figure_html(fig, title: str) -> str:
    if isinstance(fig, bytes | bytearray):
        png = bytes(fig)
    else:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
        png = buf.getvalue()
    b64 = base64.b64encode(png).decode("ascii")
    return (f'<div class="sk-figure"><img alt="{html.escape(title, quote=True)} chart" '
            f'src="data:image/png;base64,{b64}"></div>')


def comparison_columns(t: pd.DataFrame, kind: str, min_base: int) -> dict:
    """The Total / Difference / Test vs rest / n display columns of a segment-vs-total table
    ``t`` (columns ``total, difference, p_value, significant, n``); ``kind`` is the
    :func:`fmt_value` kind of the numbers (``"percent"``, ``"mean"``...)."""
    return {
        "Total": [fmt_value(v, kind) for v in t["total"]],
        "Difference": [fmt_diff(v, kind) for v in t["difference"]],
        "Test vs rest": [_sig_cell(d, p, g, n, min_base) for d, p, g, n in
                         zip(t["difference"], t["p_value"], t["significant"], t["n"],
                             strict=True)],
        "n": [f"{n:,}" for n in t["n"]],
    }


def _sig_cell(diff, p, significant, n, min_base) -> str:
    if not is_number(n) or n < min_base:
        return "low base"
    if not is_number(p):
        return "not tested"
    if significant:
        return f"{SIG_UP if diff > 0 else SIG_DOWN} {fmt_p(p)}"
    return fmt_p(p)
