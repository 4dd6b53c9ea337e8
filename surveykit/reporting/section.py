"""A report section and its HTML: key findings first, then tables, charts and quotes.

Everything shown is HTML-escaped (labels, category names, open-text answers); charts are
inline SVG (:mod:`surveykit.charts`; matplotlib Figures as PNG data URIs), so a section
renders the same in Jupyter, in the exported HTML and offline.

One colour meaning everywhere (stated once per page by :func:`colour_legend`): a
significant difference is green when it is better for the business, red when worse, and
dark ink when neither direction is better (a profile or a channel); a difference that is
not significant carries no arrow and is grey in charts. Long tables show their significant
(or top) rows and fold the rest into a closed ``<details>`` block; every table scrolls
sideways inside its own box on a narrow screen.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._util import short_repr
from ..charts._text import BIDI as _BIDI  # bidirectional controls, removed from all shown
from ..errors import DriverAnalysisError, EstimationError, ReportError
from .narrative import fmt_diff, fmt_p, fmt_value, is_number, shown_diff

__all__ = ["Section", "SectionPlan", "SIG_UP", "SIG_DOWN", "EXPECTED_ERRORS", "Cell",
           "comparison_columns", "colour_legend", "meaning", "fold"]

SIG_UP, SIG_DOWN = "▲", "▼"
#: CSS class of a significant difference by what it means for the business
MEANING_CSS = {"better": "sk-better", "worse": "sk-worse", "neutral": "sk-diff"}


class Cell(str):
    """A table cell's text with a CSS class (e.g. the colour of a significant difference).

    Compares and prints as the plain text.

    Examples
    --------
    >>> c = Cell("▲ p < 0.001", "sk-better")
    >>> c == "▲ p < 0.001", c.css
    (True, 'sk-better')
    """

    css: str

    def __new__(cls, text: str, css: str = ""):
        obj = super().__new__(cls, text)
        obj.css = css
        return obj


def meaning(diff, polarity: int) -> str:
    """``"better"``, ``"worse"`` or ``"neutral"`` for a significant difference ``diff``:
    ``polarity`` is +1 when higher is better, -1 when lower is better, 0 when neither.

    Examples
    --------
    >>> meaning(0.3, 1), meaning(0.3, -1), meaning(-2, 0)
    ('better', 'worse', 'neutral')
    """
    if not polarity or not is_number(diff) or diff == 0:
        return "neutral"
    return "better" if (diff > 0) == (polarity > 0) else "worse"


def colour_legend(alpha: float = 0.05) -> str:
    """The one statement of what arrows and colours mean, shown once at the top of a page."""
    return (f'<p class="sk-legend">{SIG_UP} {SIG_DOWN} mark differences from the rest of the '
            f"sample that are unlikely to be chance ({100 * (1 - alpha):g}% level): "
            '<span class="sk-better">green is better</span>, '
            '<span class="sk-worse">red is worse</span>, '
            '<span class="sk-diff">dark where neither is better</span> (who they are, where '
            'they buy); <span class="sk-ns">grey or no arrow: no significant '
            "difference</span>. Charts use the same colours.</p>")


def fold(table: pd.DataFrame, show, *, what: str = "rows") -> pd.DataFrame:
    """Mark which rows of a display table are shown; the others go into a closed
    ``<details>`` block ("``n`` more ``what``") when the table is rendered. Returns
    ``table`` (its ``attrs`` carry the choice)."""
    show = [bool(s) for s in show]
    if len(show) != len(table):
        raise ValueError("fold: one flag per row")
    table.attrs["show"] = show
    table.attrs["more"] = what
    return table
#: errors a section turns into a sentence instead of failing the whole report
EXPECTED_ERRORS = (EstimationError, DriverAnalysisError, ReportError, KeyError, ValueError)


# ------------------------------------------------------------------------------------------
# a section of the report
# ------------------------------------------------------------------------------------------
@dataclass
class Section:
    """One report section: key findings first, then tables, charts, quotes and notes.

    ``findings`` and ``notes`` are plain text (escaped when shown); ``tables`` are
    ``(caption, DataFrame)`` pairs of display-ready text; ``figures`` are SVG charts
    (:class:`surveykit.charts.Chart`), matplotlib Figures or PNG bytes; ``blocks`` are
    HTML fragments rendered by package objects that escape their own text (e.g. a banner
    table); ``data`` keeps the underlying result objects for reuse.
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
    tiles: list[dict] = field(default_factory=list)
    technical: list[str] = field(default_factory=list)
    technical_tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    quotes_label: str = "In their own words (verbatim, unedited):"
    figures_first: bool = True

    def to_frame(self) -> pd.DataFrame:
        """The first table (empty if none)."""
        return self.tables[0][1].copy() if self.tables else pd.DataFrame()

    def summary(self) -> str:
        return f"{self.title}\n" + "\n".join(f"- {f}" for f in self.findings)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return short_repr(self)

    def _repr_html_(self) -> str:
        esc = shown_text
        # heading, introduction, tiles and findings stay together on a printed page
        parts = [f'<div class="sk-section" data-section="{esc(self.key)}"><div class="sk-lead">']
        if self.heading:
            parts.append(f"<h2>{esc(self.heading)}</h2>")
        if self.intro:
            parts.append(f'<p class="sk-intro">{esc(self.intro)}</p>')
        if self.tiles:
            parts.append(_tiles_html(self.tiles))
        if self.findings:
            parts.append('<div class="sk-findings"><ul>'
                         + "".join(f"<li>{_flag(esc(f))}</li>" for f in self.findings)
                         + "</ul></div>")
        parts.append("</div>")
        figures = [_figure_html(fig, self.title) for fig in self.figures]
        tables = [_table_html(table, caption) for caption, table in self.tables]
        parts.extend(figures + tables if self.figures_first else tables + figures)
        parts.extend(self.blocks)
        if self.quotes:
            parts.append(f'<p class="sk-note sk-quotes-label">{esc(self.quotes_label)}</p>'
                         '<ul class="sk-verbatims">'
                         + "".join(f"<li>&ldquo;{esc(cut_quote(q))}&rdquo;</li>"
                                   for q in self.quotes)
                         + "</ul>")
        for n in self.notes:
            parts.append(f'<p class="sk-note">{_flag(esc(n))}</p>')
        if self.technical or self.technical_tables:
            parts.append('<details class="sk-technical"><summary>Technical note (for '
                         "analysts)</summary>"
                         + "".join(f'<p class="sk-note">{esc(n)}</p>' for n in self.technical)
                         + "".join(_table_html(tb, cap) for cap, tb in self.technical_tables)
                         + "</details>")
        parts.append("</div>")
        return "".join(parts)


class SectionPlan:
    """The sections of a report page: which apply, and each with its numbered heading.

    A subclass sets ``SECTIONS`` (key -> (title, introduction with ``{placeholders}``)),
    has one method per key that builds the :class:`Section`, and implements
    :meth:`left_out` (key -> why its inputs are missing) and :meth:`intro_fields`.
    ``FRONT`` sections (e.g. a summary) open the page without a number and are not in
    :meth:`sections`; ``UNNUMBERED`` sections are shown without a number (the page puts
    them first, after the front); ``APPENDIX`` sections are numbered A.1, A.2, ...
    """

    SECTIONS: dict[str, tuple[str, str]] = {}
    FRONT: dict[str, tuple[str, str]] = {}
    UNNUMBERED: tuple[str, ...] = ()
    APPENDIX: tuple[str, ...] = ()
    BUILDERS: dict[str, str] = {}

    def left_out(self) -> dict[str, str]:  # pragma: no cover - overridden
        return {}

    def intro_fields(self) -> dict[str, str]:
        return {}

    def sections(self) -> list[str]:
        """The keys of the sections this page shows, in order."""
        gone = self.left_out()
        return [k for k in self.SECTIONS if k not in gone]

    def built(self) -> dict[str, Section]:
        """The sections built so far on this page (key -> Section), by :meth:`section`."""
        if "_built" not in self.__dict__:
            self.__dict__["_built"] = {}
        return self.__dict__["_built"]

    def section(self, key: str) -> Section | None:
        """Section ``key`` with its numbered heading and introduction, or None when its
        inputs are missing (a notebook cell then shows nothing: no empty headings)."""
        if key in self.FRONT:
            if key in self.built():
                return self.built()[key]
            sec = getattr(self, self.BUILDERS.get(key, key))()
            sec.heading, intro = self.FRONT[key]
            sec.intro = intro.format(**self.intro_fields())
            self.built()[key] = sec
            return sec
        if key not in self.SECTIONS:
            raise ReportError(f"unknown section {key!r}; sections: "
                              f"{', '.join([*self.FRONT, *self.SECTIONS])}")
        shown = self.sections()
        if key not in shown:
            return None
        if key in self.built():
            return self.built()[key]
        sec = getattr(self, self.BUILDERS.get(key, key))()
        title, intro = self.SECTIONS[key]
        appendix = [k for k in shown if k in self.APPENDIX]
        numbered = [k for k in shown if k not in self.UNNUMBERED and k not in self.APPENDIX]
        if key in self.UNNUMBERED:
            sec.heading = title
        elif key in self.APPENDIX:
            sec.heading = f"A.{appendix.index(key) + 1} {title}"
        else:
            sec.heading = f"{numbered.index(key) + 1}. {title}"
        sec.intro = intro.format(**self.intro_fields())
        self.built()[key] = sec
        return sec


#: a verbatim longer than this is cut in a page, with a note of how much was left out
MAX_QUOTE = 400


def shown_text(text) -> str:
    """``text`` as shown in a page: bidirectional control characters removed, HTML-escaped.

    Examples
    --------
    >>> shown_text("abc\u202edef <b>")
    'abcdef &lt;b&gt;'
    """
    return html.escape(str(text).translate(_BIDI))


def cut_quote(text: str, limit: int = MAX_QUOTE) -> str:
    """A verbatim cut at a word boundary near ``limit`` characters, saying how much was cut.

    Examples
    --------
    >>> cut_quote("word " * 200, limit=20)
    'word word word word … [981 more characters not shown]'
    """
    text = str(text)
    if len(text) <= limit:
        return text
    head = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return f"{head.rstrip()} … [{len(text) - len(head):,} more characters not shown]"


def _flag(text: str) -> str:
    return text.replace("low base", '<span class="sk-lowbase">low base</span>')


def _table_html(table: pd.DataFrame, caption: str = "") -> str:
    esc = shown_text
    head = "".join(f'<th class="{"sk-text" if i == 0 else ""}">{esc(str(c))}</th>'
                   for i, c in enumerate(table.columns))

    def body(frame) -> str:
        rows = []
        for r in frame.to_numpy(dtype=object):   # (iterrows would drop a Cell's class)
            cells = []
            for i, v in enumerate(r):
                text = "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
                cls = "sk-text" if i == 0 or not _numberish(text) else ""
                inner = _flag(esc(text))
                css = getattr(v, "css", "")
                if css:
                    inner = f'<span class="{esc(css)}">{inner}</span>'
                elif text.startswith((SIG_UP, SIG_DOWN)):
                    inner = f'<span class="sk-diff">{inner}</span>'
                cells.append(f'<td class="{cls}">{inner}</td>')
            rows.append(f"<tr>{''.join(cells)}</tr>")
        return "".join(rows)

    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    show = table.attrs.get("show")
    hidden = 0 if show is None else len(show) - sum(show)
    if not hidden or hidden == len(table) or len(table) < 8:
        return (f'<div class="sk-scroll"><table class="sk-table">{cap}<thead><tr>{head}</tr>'
                f'</thead><tbody>{body(table)}</tbody></table></div>')
    mask = np.asarray(show, bool)
    what = table.attrs.get("more") or "rows"
    return (f'<div class="sk-scroll"><table class="sk-table">{cap}<thead><tr>{head}</tr>'
            f'</thead><tbody>{body(table[mask])}</tbody></table></div>'
            f'<details class="sk-more"><summary>{hidden} more {esc(what)}</summary>'
            f'<div class="sk-scroll"><table class="sk-table"><thead><tr>{head}</tr></thead>'
            f'<tbody>{body(table[~mask])}</tbody></table></div></details>')


def _tiles_html(tiles: list[dict]) -> str:
    """Key-metric tiles: value (with arrow and colour), the total, the difference."""
    esc = shown_text
    out = []
    for t in tiles:
        css = esc(t.get("css") or "")
        arrow = f" {esc(t['arrow'])}" if t.get("arrow") else ""
        low = (' <span class="sk-lowbase">low base</span>' if t.get("low_base") else "")
        out.append(f'<div class="sk-tile"><div class="sk-tile-label">{esc(t["label"])}</div>'
                   f'<div class="sk-tile-value"><span class="{css}">{esc(t["value"])}{arrow}'
                   f"</span>{low}</div>"
                   f'<div class="sk-tile-vs">{esc(t.get("vs") or "")}</div></div>')
    return f'<div class="sk-tiles">{"".join(out)}</div>'


def _numberish(text: str) -> bool:
    t = text.strip().lstrip("+-▲▼ ").replace(",", "").rstrip("% ")
    try:
        float(t.split()[0])
        return True
    except (ValueError, IndexError):
        return False


def _figure_html(fig, title: str) -> str:
    """A chart in a page, named ``"<title> chart"`` for screen readers: an SVG chart
    (:mod:`surveykit.charts`) inline, a matplotlib Figure or PNG bytes as a PNG data URI."""
    name = f"{title} chart"
    if hasattr(fig, "to_svg"):
        try:
            return f'<div class="sk-figure">{fig.to_svg(name)}</div>'
        except Exception:  # noqa: BLE001 - a chart that cannot be drawn never stops a page
            return ""
    if isinstance(fig, bytes | bytearray):
        png = bytes(fig)
    else:
        from ..plots import chart_png

        try:
            png = chart_png(fig, dpi=110)
        except Exception:  # noqa: BLE001 - a chart that cannot be drawn never stops a page
            return ""
    b64 = base64.b64encode(png).decode("ascii")
    return (f'<div class="sk-figure"><img alt="{html.escape(name, quote=True)}" '
            f'src="data:image/png;base64,{b64}"></div>')


def comparison_columns(t: pd.DataFrame, kind: str, min_base: int, *, polarity=0,
                       unit: bool = True) -> dict:
    """The Total / Difference / Test vs rest / n display columns of a segment-vs-total table
    ``t`` (columns ``estimate, total, difference, p_value, significant, n``); ``kind`` is
    the :func:`fmt_value` kind of the numbers (``"percent"``, ``"mean"``...).

    The difference shown is the segment value as shown minus the total as shown
    (:func:`~.narrative.shown_diff`), so every row adds up for the reader; the test uses
    the unrounded values. ``polarity`` (+1 higher is better, -1 lower is better, 0
    neither; one value or one per row) colours the significant rows. ``unit=False``
    writes "+6" rather than "+6 points" (the column header says "points" once).
    """
    diffs = [shown_diff(e, v, kind) for e, v in zip(t["estimate"], t["total"], strict=True)]
    pol = list(polarity) if isinstance(polarity, list | tuple | np.ndarray | pd.Series) \
        else [polarity] * len(t)
    header = "Difference" if unit or kind not in ("percent", "nps") else "Difference (points)"
    return {
        "Total": [fmt_value(v, kind) for v in t["total"]],
        header: [fmt_diff(d, kind, unit=unit) for d in diffs],
        "Test vs rest": [_sig_cell(d, p, g, n, min_base, o) for d, p, g, n, o in
                         zip(t["difference"], t["p_value"], t["significant"], t["n"], pol,
                             strict=True)],
        "n": [f"{n:,}" for n in t["n"]],
    }


def _sig_cell(diff, p, significant, n, min_base, polarity: int = 0) -> str:
    if not is_number(n) or n < min_base:
        return "low base"
    if not is_number(p):
        return "not tested"
    if significant:
        return Cell(f"{SIG_UP if diff > 0 else SIG_DOWN} {fmt_p(p)}",
                    MEANING_CSS[meaning(diff, polarity)])
    return fmt_p(p)
