"""One row per item against a reference: dot plot of means, bars of shares."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd

from ._chart import (
    AXIS,
    INK,
    LABEL,
    SMALL,
    TICK,
    TITLE,
    Chart,
    Linear,
    legend,
    line,
    meaning_items,
    tick_text,
    ticks,
    title_lines,
    x_axis,
)
from ._text import Box, num, svg_text, text_width
from .colors import MEANING_COLORS, meaning_of

WIDTH = 760.0


def _rows_layout(names, title, n_rows, row_h, xlim):
    """Title, label column and plot frame of a row chart: ``(parts, frame, scale)``."""
    parts = []
    pad = 10.0
    label_w = min(max([text_width(s, TICK) for s in names] or [0]), WIDTH * 0.45)
    x0 = pad + label_w + 10
    head = title_lines(title, WIDTH - x0 - pad)
    if text_width(head.split("\n")[0], TITLE, bold=True) > WIDTH - x0 - pad:
        head, tx = title_lines(title, WIDTH - 2 * pad), pad
    else:
        tx = x0
    text, box = svg_text(head, tx, pad, TITLE, va="top", bold=True, color=INK,
                         cls="skc-title")
    parts.append(text)
    frame = Box(x0, box.y1 + 10, WIDTH - pad - 30, box.y1 + 10 + n_rows * row_h)
    scale = Linear(float(xlim[0]), float(xlim[1]), frame.x0, frame.x1)
    return parts, frame, scale


def _finish(parts, frame, scale, xlim, xlabel, items, names, ys, title, what):
    vals = ticks(*xlim)
    for name, y in zip(names, ys, strict=True):
        parts.append(svg_text(name, frame.x0 - 8, y, TICK, ha="right", va="center",
                              color=AXIS, cls="skc-row")[0])
    parts.append(line(frame.x0, frame.y0, frame.x0, frame.y1, AXIS, 1))
    y = x_axis(parts, scale, vals, tick_text(vals), frame)
    parts.append(svg_text(xlabel, (frame.x0 + frame.x1) / 2, y + 4, LABEL, ha="center",
                          va="top", color=INK, cls="skc-xlabel")[0])
    y = legend(parts, items, y + 4 + LABEL * 1.2 + 10, WIDTH)
    return Chart(title, WIDTH, y + 6, parts, what=what)


def _grid_first(parts):
    """Grid lines go under the marks: move them to just after the title."""
    grid = [p for p in parts if 'class="skc-grid"' in p]
    rest = [p for p in parts if 'class="skc-grid"' not in p]
    return rest[:1] + grid + rest[1:]


def comparison_chart(table: pd.DataFrame, *, value: str = "estimate",
                     reference: str = "total", label: str = "label",
                     significant: str | None = None, value_name: str = "Segment",
                     reference_name: str = "Total", xlabel: str = "mean rating",
                     title: str | None = None, polarity: int = 1,
                     xlim: tuple[float, float] | None = None) -> Chart:
    """Dot plot of one group against a reference, one row per item (e.g. attributes).

    ``table`` has a row per item with the group's ``value`` and the ``reference`` value;
    a boolean ``significant`` column colours the group's dot by what the difference means
    (``polarity`` +1: higher is better, -1: lower is better, 0: neither); dots that are
    not significantly different are grey. Rows are drawn in table order, first at the top.
    ``xlim`` fixes the axis (the same range on every segment's page).

    Examples
    --------
    >>> t = pd.DataFrame({"label": ["a", "b"], "estimate": [7.0, 6.0], "total": [6.5, 6.4],
    ...                   "significant": [True, False]})
    >>> chart = comparison_chart(t, significant="significant", xlim=(5, 8))
    >>> chart
    <Chart: Segment vs Total (2 rows, axis 5 to 8)>
    >>> chart.to_svg().count('class="skc-dot"')
    2
    """
    t = table.reset_index(drop=True)
    v = t[value].to_numpy(dtype=float)
    ref = t[reference].to_numpy(dtype=float)
    sig = (t[significant].astype(bool).to_numpy() if significant is not None
           else np.ones(len(t), bool))
    kinds = [meaning_of(a - b, s, polarity) for a, b, s in zip(v, ref, sig, strict=True)]
    if xlim is None:
        both = np.concatenate([v, ref])
        both = both[np.isfinite(both)]
        lo, hi = (both.min(), both.max()) if len(both) else (0.0, 1.0)
        span = (hi - lo) or 1.0
        xlim = (lo - 0.05 * span, hi + 0.05 * span)
    names = [str(s) for s in t[label]]
    title = title or f"{value_name} vs {reference_name}"
    row_h = 27.0
    parts, frame, scale = _rows_layout(names, title, len(t), row_h, xlim)
    ys = [frame.y0 + (i + 0.5) * row_h for i in range(len(t))]
    for y, a, b, kind in zip(ys, v, ref, kinds, strict=True):
        if np.isfinite(a) and np.isfinite(b):
            parts.append(line(scale(min(a, b)), y, scale(max(a, b)), y, "#d9e2ec", 3))
        if np.isfinite(b):
            parts.append(line(scale(b), y - 7, scale(b), y + 7, AXIS, 1.8,
                              f'class="skc-ref" data-value="{b:.6g}"'))
        if np.isfinite(a):
            parts.append(f'<circle class="skc-dot" cx="{num(scale(a))}" cy="{num(y)}" r="5" '
                         f'fill="{MEANING_COLORS[kind]}" data-value="{a:.6g}"/>')
    items = [("mark", AXIS, reference_name), *meaning_items(set(kinds))]
    chart = _finish(parts, frame, scale, xlim, xlabel, items, names, ys, title,
                    f"{len(t)} rows, axis {xlim[0]:g} to {xlim[1]:g}")
    chart.parts = _grid_first(chart.parts)
    return chart


def share_chart(table: pd.DataFrame, *, value: str = "estimate", reference: str = "total",
                label: str = "option", significant: str = "significant", polarity: int = 0,
                title: str | None = None, xlim: tuple[float, float] = (0, 100),
                reference_name: str = "Total", width: int = 38) -> Chart:
    """Horizontal bars of the share choosing each answer (``value``, a proportion), with
    the ``reference`` share marked, coloured by what a significant difference means
    (``polarity`` as in :func:`comparison_chart`). The axis is ``xlim`` percent (0-100 by
    default: the same on every segment's page); labels longer than ``width`` characters
    are shortened.

    Examples
    --------
    >>> t = pd.DataFrame({"option": ["Slow service", "Price"], "estimate": [0.31, 0.2],
    ...                   "total": [0.25, 0.21], "significant": [True, False]})
    >>> chart = share_chart(t, polarity=-1)
    >>> chart
    <Chart: Share of the segment (2 rows, axis 0 to 100)>
    >>> import re   # the significant, worse row in red
    >>> re.findall(r'class="skc-bar"[^>]*fill="(#\\w+)"', chart.to_svg())
    ['#b42318', '#9aa5b1']
    """
    t = table.reset_index(drop=True)
    v = t[value].to_numpy(dtype=float) * 100
    ref = t[reference].to_numpy(dtype=float) * 100
    kinds = [meaning_of(a - b, bool(s), polarity)
             for a, b, s in zip(v, ref, t[significant], strict=True)]
    names = [textwrap.shorten(str(s), width, placeholder="…") for s in t[label]]
    title = title or "Share of the segment"
    row_h = 25.0
    parts, frame, scale = _rows_layout(names, title, len(t), row_h, xlim)
    ys = [frame.y0 + (i + 0.5) * row_h for i in range(len(t))]
    bar = 0.62 * row_h
    for y, a, b, kind in zip(ys, v, ref, kinds, strict=True):
        if np.isfinite(a):
            x1 = scale(a)
            parts.append(f'<rect class="skc-bar" x="{num(frame.x0)}" y="{num(y - bar / 2)}" '
                         f'width="{num(max(x1 - frame.x0, 0))}" height="{num(bar)}" '
                         f'fill="{MEANING_COLORS[kind]}" fill-opacity="0.9" '
                         f'data-value="{a:.6g}"/>')
        if np.isfinite(b):
            parts.append(line(scale(b), y - 0.4 * row_h, scale(b), y + 0.4 * row_h,
                              "#1f2933", 2.5, f'class="skc-ref" data-value="{b:.6g}"'))
        if np.isfinite(a):  # the value right of its bar and of the total's mark
            at = np.nanmax([a, b]) + 1.5 * (xlim[1] - xlim[0]) / 100
            parts.append(svg_text(f"{a:.0f}%", scale(at), y, SMALL - 0.5, va="center",
                                  color="#3e4c59", cls="skc-value")[0])
    items = [("mark", "#1f2933", reference_name), *meaning_items(set(kinds))]
    chart = _finish(parts, frame, scale, xlim, "% of the segment", items, names, ys, title,
                    f"{len(t)} rows, axis {xlim[0]:g} to {xlim[1]:g}")
    chart.parts = _grid_first(chart.parts)
    return chart
