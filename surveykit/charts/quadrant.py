"""The importance-performance grid: labelled points, quadrant lines and names."""

from __future__ import annotations

import textwrap
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd

from ._chart import (
    AXIS,
    INK,
    LABEL,
    TICK,
    TITLE,
    Chart,
    Linear,
    line,
    tick_text,
    ticks,
    title_lines,
    x_axis,
    y_axis,
    y_label,
)
from ._text import Box, num, svg_text, text_box, text_width
from .colors import MEANING_COLORS, QUADRANT_COLORS

WIDTH, HEIGHT, PAD = 760.0, 560.0, 10.0
#: font size of the point labels, and of the numbers that replace them when crowded
NAME, NUMBER = 11.0, 10.5
#: label offsets from their point (px), nearest first, and directions tried at each
_DISTS = (7, 14, 22, 33, 47, 64)
_DIRS = ((1, 0.35), (1, -0.35), (-1, 0.35), (-1, -0.35), (0, 1), (0, -1), (1, 1), (-1, 1),
         (1, -1), (-1, -1))
_CORNERS = {"act here": ("right", "bottom"), "keep up the good work": ("right", "top"),
            "low priority": ("left", "bottom"), "possible overkill": ("left", "top")}
_X_TICKS = (0, 1, 2, 5, 10, 20, 30, 40, 50, 60, 80, 100)
_HALO = 'stroke="#fff" stroke-width="3" stroke-linejoin="round" paint-order="stroke"'


def _sqrt(v):
    return float(np.sqrt(max(v, 0.0)))


def quadrant_chart(table: pd.DataFrame, *, importance_cut: float, performance_cut: float,
                   importance: str = "importance", performance: str = "performance",
                   label: str = "driver", quadrant: str = "quadrant",
                   performance_label: str = "performance", title: str | None = None,
                   labels: dict | None = None, xlim: tuple[float, float] | None = None,
                   ylim: tuple[float, float] | None = None,
                   importance_label: str = "importance (% of explained variance)",
                   sqrt: bool = True, intervals: tuple[str, str, str, str] | None = None,
                   noun: str = "driver") -> Chart:
    """Importance-performance grid: one labelled point per driver, quadrant lines and names.

    The SVG twin of :func:`surveykit.plots.quadrant_chart` (same arguments). Importance
    runs on a square-root axis (``sqrt=False``: a linear one, e.g. the total effects of a
    path model's IPMA, :meth:`surveykit.pls.IPMAResult.chart`); ``intervals`` names the
    columns of the low and high importance, then of the low and high performance, drawn
    as whiskers (``class="skc-ci"``); ``noun`` says what the points are in the chart's text
    summary ("4 constructs"). Each quadrant's name sits in its outer corner inside its own
    quadrant, on two lines or smaller where the quadrant is narrow, never across a cut line
    (:func:`_corner_names`). Each label takes the first free place around its point,
    nearest first, the most important point first, so that no label overlaps another, a
    point or a quadrant name, and all stay inside the grid; if one finds no place, the
    labels are shortened to one line, and failing that the points are numbered and the
    names listed beside the grid.

    Examples
    --------
    >>> t = pd.DataFrame({"driver": ["a", "b"], "importance": [60.0, 40.0],
    ...                   "performance": [6.0, 8.0],
    ...                   "quadrant": ["act here", "possible overkill"]})
    >>> chart = quadrant_chart(t, importance_cut=50, performance_cut=7)
    >>> chart, labels_overlap(chart)
    (<Chart: Importance vs performance (2 drivers)>, [])
    >>> quadrant_chart(t.rename(columns={"driver": "construct"}), importance_cut=50,
    ...                performance_cut=7, label="construct", noun="construct").summary()
    'Importance vs performance (2 constructs)'
    """
    labels = labels or {}
    xs = np.asarray(table[importance], dtype=float)
    ys = np.asarray(table[performance], dtype=float)
    names = [str(labels.get(r, r)) for r in table[label]]
    if xlim is None:
        xlim = (0.0, float(np.ceil((max(xs.max(), importance_cut) * 1.1) / 10) * 10))
    if ylim is None:
        ypad = max(np.ptp(ys) * 0.12, 1e-9)
        ylim = (min(ys.min(), performance_cut) - ypad, max(ys.max(), performance_cut) + ypad)
    xlim = (max(float(xlim[0]), 0.0) if sqrt else float(xlim[0]), float(xlim[1]))
    yvals = ticks(*ylim)
    ytext = tick_text(yvals)
    x0 = PAD + LABEL * 1.2 + 6 + max(text_width(t, TICK) for t in ytext) + 8
    title = title or "Importance vs performance"
    head, box = svg_text(title_lines(title, WIDTH - x0 - PAD), x0, PAD, TITLE, va="top",
                         bold=True, color=INK, cls="skc-title")
    frame = Box(x0, box.y1 + 10, WIDTH - PAD - 12, HEIGHT - PAD - LABEL * 1.2 - 6 - TICK * 1.3)
    sx = Linear(*xlim, frame.x0, frame.x1, fn=_sqrt if sqrt else None)
    sy = Linear(float(ylim[0]), float(ylim[1]), frame.y1, frame.y0)
    parts = [head]
    y_axis(parts, sy, yvals, ytext, frame)
    if sqrt:
        xvals = [v for v in _X_TICKS if xlim[0] <= v <= xlim[1]]
        xtext = [f"{v:g}" for v in xvals]
    else:
        xvals = [v for v in ticks(*xlim) if xlim[0] <= v <= xlim[1]]
        xtext = tick_text(xvals)
    y = x_axis(parts, sx, xvals, xtext, frame)
    parts.append(line(frame.x0, frame.y0, frame.x0, frame.y1, AXIS, 1))
    parts.append(svg_text(importance_label, (frame.x0 + frame.x1) / 2,
                          y + 4, LABEL, ha="center", va="top", color=INK, cls="skc-xlabel")[0])
    y_label(parts, performance_label, frame, PAD)
    dash = 'stroke-dasharray="5 3"'
    parts.append(line(sx(importance_cut), frame.y0, sx(importance_cut), frame.y1, AXIS, 1, dash))
    parts.append(line(frame.x0, sy(performance_cut), frame.x1, sy(performance_cut), AXIS, 1,
                      dash))
    fixed = []
    for text, b in _corner_names(frame, sx(importance_cut), sy(performance_cut)):
        parts.append(text)
        fixed.append(b)
    pts = [(sx(a), sy(b)) for a, b in zip(xs, ys, strict=True)]
    if intervals is not None:  # whiskers under the points
        xlo, xhi, ylo, yhi = (np.asarray(table[c], dtype=float) for c in intervals)
        for i, ((px, py), q) in enumerate(zip(pts, table[quadrant], strict=True)):
            ink = f'class="skc-ci" stroke-opacity="0.5" data-of="{i}"'
            color = QUADRANT_COLORS.get(q, MEANING_COLORS["ns"])
            if np.isfinite(xlo[i]) and np.isfinite(xhi[i]):
                parts.append(line(sx(xlo[i]), py, sx(xhi[i]), py, color, 1, ink))
            if np.isfinite(ylo[i]) and np.isfinite(yhi[i]):
                parts.append(line(px, sy(ylo[i]), px, sy(yhi[i]), color, 1, ink))
    for (px, py), q in zip(pts, table[quadrant], strict=True):
        parts.append(f'<circle class="skc-point" cx="{num(px)}" cy="{num(py)}" r="5.5" '
                     f'fill="{QUADRANT_COLORS.get(q, MEANING_COLORS["ns"])}" stroke="#fff" '
                     f'stroke-width="0.8"/>')
    order = list(np.argsort(-xs, kind="stable"))
    placed = _place(pts, [names[i] for i in order], order, fixed, frame, NAME)
    if placed is None:  # shorter, one-line names
        placed = _place(pts, [textwrap.shorten(names[i].replace("\n", " "), 26,
                                               placeholder="…") for i in order],
                        order, fixed, frame, NAME)
    width = WIDTH
    if placed is None:  # no room for the names: numbers at the points, a key beside
        placed = _place(pts, [str(k) for k in range(1, len(order) + 1)], order, fixed, frame,
                        NUMBER) or []
        key = "\n".join(f"{k}. {names[i]}".replace("\n", " ")
                        for k, i in enumerate(order, start=1))
        text, b = svg_text(key, frame.x1 + 20, (frame.y0 + frame.y1) / 2, NAME,
                           va="center", color=INK, cls="skc-key")
        parts.append(text)
        width = b.x1 + PAD
    parts.extend(p for p, _, _ in placed)
    return Chart(title, width, HEIGHT, parts,
                 what=f"{len(table)} {noun}{'' if len(table) == 1 else 's'}",
                 labels=[(t, b) for _, t, b in placed if b is not None])


def _corner_names(frame: Box, cut_x: float, cut_y: float) -> list[tuple[str, Box]]:
    """The quadrant names as SVG text, placed by :func:`corner_layout`: ``[(svg, box)]``."""
    return [svg_text(text, x, y, size, ha=ha, va=va, bold=True, color=QUADRANT_COLORS[name],
                     cls="skc-quadrant", extra='fill-opacity="0.9"')
            for name, text, size, x, y, ha, va in corner_layout(frame, cut_x, cut_y)]


def corner_layout(frame: Box, cut_x: float, cut_y: float, *,
                  sizes: tuple[float, ...] = (9.5, 8.5, 7.5), gap: float = 4.0) -> list:
    """Where each quadrant's name goes: in its outer corner inside its own quadrant (the
    frame minus ``gap`` along the cut lines at ``cut_x``, ``cut_y``), on one line if it
    fits, else on two lines, one word a line, then smaller (``sizes``), so that no name
    crosses a cut line or another name. A quadrant too small for its name even then (a
    cut at the frame's edge, or outside it) is left unnamed; its points keep its colour.

    Coordinates run down (y) in any unit, the font sizes in the same unit: the SVG chart
    works in its pixels, :func:`surveykit.plots.quadrant_chart` in display pixels. Returns
    ``[(name, text, size, x, y, ha, va)]``, ``(x, y)`` the corner the text is anchored at.

    Examples
    --------
    >>> for name, text, size, *_ in corner_layout(Box(0, 0, 400, 300), 340, 150):
    ...     print(f"{name}: {text.count(chr(10)) + 1} line(s), {size} px")
    act here: 2 line(s), 9.5 px
    keep up the good work: 5 line(s), 9.5 px
    low priority: 1 line(s), 9.5 px
    possible overkill: 1 line(s), 9.5 px
    """
    inset_x, inset_y = 0.02 * (frame.x1 - frame.x0), 0.02 * (frame.y1 - frame.y0)
    cx, cy = min(max(cut_x, frame.x0), frame.x1), min(max(cut_y, frame.y0), frame.y1)
    out: list = []
    taken: list[Box] = []
    for name, (ha, va) in _CORNERS.items():
        region = Box(cx + gap if ha == "right" else frame.x0,
                     cy + gap if va == "bottom" else frame.y0,
                     frame.x1 if ha == "right" else cx - gap,
                     frame.y1 if va == "bottom" else cy - gap)
        x = frame.x1 - inset_x if ha == "right" else frame.x0 + inset_x
        y = frame.y1 - inset_y if va == "bottom" else frame.y0 + inset_y
        words = name.upper().split()
        layouts = dict.fromkeys([" ".join(words), _two_lines(words), "\n".join(words)])
        fits = ((text, size, box) for size in sizes for text in layouts
                if _fits(box := text_box(text, x, y, size, ha=ha, va=va, bold=True)[0],
                         region, taken))
        text, size, box = next(fits, (None, None, None))
        if text is not None:
            out.append((name, text, size, x, y, ha, va))
            taken.append(box)
    return out


def _fits(box: Box, region: Box, taken: list[Box]) -> bool:
    return box.inside(region) and not any(box.overlaps(b) for b in taken)


def _two_lines(words: list[str]) -> str:
    """``words`` on two lines, split where the longer line is shortest."""
    if len(words) < 2:
        return " ".join(words)
    k = min(range(1, len(words)), key=lambda k: max(len(" ".join(words[:k])),
                                                    len(" ".join(words[k:]))))
    return " ".join(words[:k]) + "\n" + " ".join(words[k:])


def _place(pts, names, order, fixed, frame: Box, size: float):
    """Each label (in ``order``) at the first place around its point, nearest first, where
    it overlaps no label placed before, no point, no ``fixed`` box and stays inside
    ``frame``; a thin line joins a label set further out to its point. Returns
    ``[(svg, text, box)]`` (leaders first, box None), or None when a label finds no
    place."""
    r = 7.0  # marker radius with a margin
    marks = [Box(x - r, y - r, x + r, y + r) for x, y in pts]
    taken = list(fixed)
    out = []
    for name, i in zip(names, order, strict=True):
        px, py = pts[i]
        spot = None
        for dist in _DISTS:
            for dx, dy in _DIRS:
                ha = "left" if dx > 0 else "right" if dx < 0 else "center"
                va = "bottom" if dy > 0 else "top" if dy < 0 else "center"
                at = (px + dx * dist, py - dy * dist * 0.8)
                box = text_box(name, *at, size, ha=ha, va=va)[0].expanded(1.04, 1.1)
                if box.inside(frame) and not any(box.overlaps(b) for b in taken) and \
                        not any(box.overlaps(m) for m in marks):
                    spot = (at, ha, va, box, dist)
                    break
            if spot:
                break
        if spot is None:
            return None
        at, ha, va, box, dist = spot
        text, drawn = svg_text(name, *at, size, ha=ha, va=va, color=INK, cls="skc-label",
                               extra=_HALO)
        lead = ""
        if dist > 14:  # a leader from the point to the nearest edge of the label
            lx = min(max(px, drawn.x0), drawn.x1)
            ly = min(max(py, drawn.y0), drawn.y1)
            d = float(np.hypot(lx - px, ly - py)) or 1.0
            lead = line(px + (lx - px) * 6 / d, py + (ly - py) * 6 / d, lx, ly, "#9aa5b1", 0.8)
        taken.append(box)
        out.append((text, name, drawn, lead))
    # leaders under every label; a white halo keeps a label legible over lines
    return [(lead, "", None) for *_, lead in out if lead] + \
        [(text, name, drawn) for text, name, drawn, _ in out]


def label_boxes(chart, cls: str = "skc-label") -> list[tuple[str, Box]]:
    """The text and box of each ``<text class=cls>`` in ``chart``'s SVG, measured from the
    SVG itself (position, anchor, size, lines) with the chart's width table.

    Examples
    --------
    >>> t = pd.DataFrame({"driver": ["a"], "importance": [60.0], "performance": [6.0],
    ...                   "quadrant": ["act here"]})
    >>> [text for text, _ in label_boxes(quadrant_chart(t, importance_cut=50,
    ...                                                 performance_cut=7))]
    ['a']
    """
    root = ET.fromstring(chart.to_svg() if hasattr(chart, "to_svg") else chart)
    ha = {"start": "left", "middle": "center", "end": "right"}
    out = []
    for el in root.iter("{http://www.w3.org/2000/svg}text"):
        if el.get("class") != cls:
            continue
        spans = list(el)
        text = "\n".join(s.text or "" for s in spans) if spans else (el.text or "")
        box, _ = text_box(text, float(el.get("x")), float(el.get("y")),
                          float(el.get("font-size")), ha=ha[el.get("text-anchor", "start")],
                          bold=el.get("font-weight") == "bold")
        out.append((text, box))
    return out


def labels_overlap(chart) -> list[tuple[str, str]]:
    """Pairs of data labels of ``chart`` (an SVG chart or its SVG text) whose boxes
    overlap, measured from the SVG (:func:`label_boxes`)."""
    boxes = label_boxes(chart)
    return [(a, b) for i, (a, ba) in enumerate(boxes) for b, bb in boxes[i + 1:]
            if ba.overlaps(bb)]
