"""The parts every SVG chart shares: the chart object, axes, ticks, title and legend."""

from __future__ import annotations

import html
import math
import textwrap
from pathlib import Path

import numpy as np

from .._util import short_repr
from ._text import FONT_FAMILY, Box, num, svg_text, text_width
from .colors import MEANING_COLORS

#: font sizes (px in the chart's own coordinates; a chart 760 wide is drawn about 1.25x)
TITLE, LABEL, TICK, SMALL = 14.0, 12.0, 11.0, 10.5
INK, AXIS, GRID = "#262626", "#4d4d4d", "#e6e6e6"
#: the legend's name of each meaning
MEANING_NAMES = {"better": "better (significant)", "worse": "worse (significant)",
                 "neutral": "different (significant)", "ns": "not significant"}


class Chart:
    """A chart drawn as inline SVG: shown by Jupyter (``_repr_svg_``, ``_repr_html_``),
    embedded in a report page (:meth:`to_svg`), written by :meth:`save`.

    ``labels`` lists the data labels (``(text, Box)``) the chart placed, for
    :func:`~surveykit.charts.labels_overlap`.
    """

    def __init__(self, title: str, width: float, height: float, parts: list[str],
                 *, what: str = "", labels=()):
        self.title, self.width, self.height = title, width, height
        self.parts, self.what, self.labels = parts, what, list(labels)

    def to_svg(self, name: str | None = None) -> str:
        """The ``<svg>`` element; ``name`` is its accessible name (default: the title)."""
        name = html.escape(name if name is not None else self.title, quote=True)
        return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{name}" '
                f'viewBox="0 0 {num(self.width)} {num(self.height)}" width="100%" '
                f'style="max-width:{num(self.width * 1.3)}px;height:auto;display:block" '
                f"font-family='{FONT_FAMILY}'><title>{name}</title>"
                + "".join(self.parts) + "</svg>")

    def _repr_svg_(self) -> str:
        return self.to_svg()

    def _repr_html_(self) -> str:
        return self.to_svg()

    def save(self, path) -> Path:
        """Write the chart as an ``.svg`` file; returns the path."""
        path = Path(path)
        path.write_text('<?xml version="1.0" encoding="utf-8"?>\n' + self.to_svg(),
                        encoding="utf-8")
        return path

    def summary(self) -> str:
        return f"{self.title.replace(chr(10), ' ')} ({self.what})" if self.what else self.title

    def __repr__(self) -> str:
        return short_repr(self)


def nice_range(values, *, step: float = 0.5, pad: float = 0.0,
               bounds: tuple[float, float] | None = None) -> tuple[float, float]:
    """``(low, high)`` around ``values``, widened by ``pad`` and out to multiples of ``step``,
    within ``bounds``: one axis range for the same chart on every segment's page.

    Examples
    --------
    >>> nice_range([5.43, 8.31, 7.0])
    (5.0, 8.5)
    >>> nice_range([0.2, 57.0], step=10, bounds=(0, 100))
    (0.0, 60.0)
    """
    v = np.asarray([x for x in np.ravel(values) if x is not None], dtype=float)
    v = v[np.isfinite(v)]
    if not len(v):
        return bounds if bounds is not None else (0.0, 1.0)
    lo = np.floor((v.min() - pad) / step) * step
    hi = np.ceil((v.max() + pad) / step) * step
    if hi <= lo:
        hi = lo + step
    if bounds is not None:
        lo, hi = max(lo, bounds[0]), min(hi, bounds[1])
    return float(lo), float(hi)


def segment_name(value) -> str:
    """A segment code as text: ``2.0`` -> ``"2"`` (codes read from CSV are floats).

    Examples
    --------
    >>> segment_name(2.0), segment_name("b")
    ('2', 'b')
    """
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def ticks(lo: float, hi: float, most: int = 9) -> list[float]:
    """Round tick values from ``lo`` to ``hi`` (steps of 1, 2, 2.5 or 5 times a power of
    ten), at most ``most`` of them.

    Examples
    --------
    >>> ticks(5, 8)
    [5.0, 5.5, 6.0, 6.5, 7.0, 7.5, 8.0]
    >>> ticks(0, 100)
    [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
    """
    span = hi - lo
    if not np.isfinite(span) or span <= 0:
        return [float(lo)]
    for k in range(math.floor(math.log10(span / most)), math.ceil(math.log10(span)) + 2):
        for m in (1, 2, 2.5, 5):
            step = m * 10.0 ** k
            first = math.ceil(lo / step - 1e-9)
            out = [round((first + i) * step, 10) for i in
                   range(int(math.floor(hi / step + 1e-9)) - first + 1)]
            if len(out) <= most:
                return out
    return [float(lo), float(hi)]


def tick_text(values) -> list[str]:
    """Tick labels with the decimals the step needs (``5.0 5.5 6.0``; ``0 20 40``)."""
    decimals = 0
    for v in values:
        while decimals < 4 and abs(round(v, decimals) - v) > 1e-9:
            decimals += 1
    return [f"{v:.{decimals}f}" for v in values]


class Linear:
    """Value -> x or y coordinate on ``[lo, hi]`` mapped to ``[a, b]`` (``fn`` e.g. sqrt)."""

    def __init__(self, lo, hi, a, b, fn=None):
        self.fn = fn or (lambda v: v)
        self.lo, self.hi, self.a, self.b = self.fn(lo), self.fn(hi), a, b

    def __call__(self, v: float) -> float:
        return self.a + (self.fn(v) - self.lo) / (self.hi - self.lo) * (self.b - self.a)


def title_lines(text: str, width: float, size: float = TITLE) -> str:
    """``text`` wrapped (as the matplotlib charts do, at 70 characters) and to ``width``."""
    wrap = 70
    out = textwrap.fill(text, wrap)
    while wrap > 20 and max(text_width(line, size, bold=True) for line in out.split("\n")) \
            > width:
        wrap -= 5
        out = textwrap.fill(text, wrap)
    return out


def fit_text(text: str, width: float, size: float, *, bold: bool = False) -> str:
    """``text`` cut with an ellipsis to fit ``width``."""
    text = str(text)
    if text_width(text, size, bold=bold) <= width:
        return text
    while text and text_width(text + "…", size, bold=bold) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def line(x1, y1, x2, y2, color, width=1.0, extra="") -> str:
    return (f'<line x1="{num(x1)}" y1="{num(y1)}" x2="{num(x2)}" y2="{num(y2)}" '
            f'stroke="{color}" stroke-width="{num(width)}"{" " + extra if extra else ""}/>')


def x_axis(parts: list[str], scale: Linear, values, labels, frame: Box, *,
           grid: bool = True) -> float:
    """Grid lines, the bottom spine and tick labels under ``frame``; returns the y below."""
    for v, t in zip(values, labels, strict=True):
        x = scale(v)
        if grid:
            parts.append(line(x, frame.y0, x, frame.y1, GRID, 1, 'class="skc-grid"'))
        parts.append(line(x, frame.y1, x, frame.y1 + 4, AXIS, 1))
        parts.append(svg_text(t, x, frame.y1 + 6, TICK, ha="center", va="top", color=AXIS,
                              cls="skc-tick", extra=f'data-value="{num(v)}"')[0])
    parts.append(line(frame.x0, frame.y1, frame.x1, frame.y1, AXIS, 1))
    return frame.y1 + 6 + TICK * 1.2


def y_axis(parts: list[str], scale: Linear, values, labels, frame: Box) -> None:
    """Horizontal grid lines (``class="skc-ygrid"`` with their ``data-value``), ticks and,
    drawn over them, the tick labels left of ``frame`` (the y-axis twin of :func:`x_axis`)."""
    texts = []
    for v, t in zip(values, labels, strict=True):
        y = scale(v)
        parts.append(line(frame.x0, y, frame.x1, y, GRID, 1,
                          f'class="skc-ygrid" data-value="{num(v)}"'))
        parts.append(line(frame.x0 - 4, y, frame.x0, y, AXIS, 1))
        texts.append(svg_text(t, frame.x0 - 6, y, TICK, ha="right", va="center", color=AXIS,
                              cls="skc-ytick", extra=f'data-value="{num(v)}"')[0])
    parts.extend(texts)


def y_label(parts: list[str], text: str, frame: Box, pad: float) -> None:
    """The y-axis name, rotated, centred on ``frame`` at ``pad`` from the left edge."""
    x, cy = pad + LABEL * 0.2, (frame.y0 + frame.y1) / 2
    ylab, _ = svg_text(text, x, cy, LABEL, ha="center", va="top", color=INK,
                       cls="skc-ylabel")
    parts.append(ylab.replace("<text ", f'<text transform="rotate(-90 {num(x)} {num(cy)})" ', 1))


def legend(parts: list[str], items, y: float, width: float) -> float:
    """One centred row of legend entries ``(kind, colour, text)`` (kind ``dot``, ``mark``,
    ``dash``) from ``y``; returns the y below."""
    sizes = [18 + text_width(t, SMALL) for _, _, t in items]
    x = (width - sum(sizes) - 16 * (len(items) - 1)) / 2
    cy = y + SMALL * 0.6
    out = ['<g class="skc-legend">']
    for (kind, color, text), w in zip(items, sizes, strict=True):
        if kind == "dot":
            out.append(f'<circle cx="{num(x + 5)}" cy="{num(cy)}" r="4.5" fill="{color}"/>')
        elif kind == "mark":
            out.append(line(x + 5, cy - 6, x + 5, cy + 6, color, 2))
        else:
            out.append(line(x - 2, cy, x + 12, cy, color, 1.2, 'stroke-dasharray="4 2"'))
        out.append(svg_text(text, x + 18, cy, SMALL, va="center", color=INK)[0])
        x += w + 16
    parts.extend(out + ["</g>"])
    return y + SMALL * 1.2 + 4


def meaning_items(used) -> list[tuple[str, str, str]]:
    """Legend entries of the meanings ``used`` (better, worse, neutral, ns order)."""
    return [("dot", MEANING_COLORS[k], MEANING_NAMES[k])
            for k in ("better", "worse", "neutral", "ns") if k in used]
