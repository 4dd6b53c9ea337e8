"""The overview's charts: key metrics of every segment, and the segment x driver map."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd

from ._chart import (
    AXIS,
    GRID,
    INK,
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
)
from ._text import Box, num, svg_text, text_width
from .colors import MEANING_COLORS

WIDTH, PAD = 760.0, 10.0
#: matplotlib's "Blues" colour map at nine even steps (light to dark)
BLUES = ("#f7fbff", "#deebf7", "#c6dbef", "#9dcae1", "#6aaed6", "#4191c6", "#2070b4",
         "#08509b", "#08306b")


def metrics_chart(rows: pd.DataFrame, *, title: str | None = None) -> Chart:
    """Key metrics across segments: one panel per metric, a dot per segment with its 95%
    CI, the total as a dashed line, dots coloured by what a significant difference means.

    ``rows`` has one row per segment and metric: ``metric`` (panel title), ``segment``,
    ``estimate``, ``ci_low``, ``ci_high``, ``total``, ``meaning`` (better / worse /
    neutral / ns) and, optionally, ``unit`` (``"%"`` when the values are proportions).

    Examples
    --------
    >>> rows = pd.DataFrame({"metric": ["NPS", "NPS"], "segment": ["A", "B"],
    ...                      "estimate": [10.0, -5.0], "ci_low": [5.0, -9.0],
    ...                      "ci_high": [15.0, -1.0], "total": [3.0, 3.0],
    ...                      "meaning": ["better", "worse"]})
    >>> metrics_chart(rows)
    <Chart: Key metrics (1 metrics, 2 segments)>
    """
    metrics = list(dict.fromkeys(rows["metric"]))
    segs = [str(s) for s in dict.fromkeys(rows["segment"])]
    ncol = min(len(metrics), 2)
    row_h, gap = 24.0, 28.0
    title = title or "Key metrics"
    parts = []
    y = PAD
    if title:
        text, box = svg_text(title_lines(title, WIDTH - 2 * PAD), PAD, PAD, TITLE, va="top",
                             bold=True, color=INK, cls="skc-title")
        parts.append(text)
        y = box.y1 + 8
    label_w = min(max(text_width(s, TICK) for s in segs), WIDTH * 0.3)
    x_start = PAD + label_w + 8
    panel_w = (WIDTH - x_start - PAD - gap * (ncol - 1)) / ncol
    used = set()
    for k, m in enumerate(metrics):
        col, line_no = k % ncol, k // ncol
        r = rows[rows["metric"] == m].assign(segment=lambda d: d["segment"].astype(str)) \
            .set_index("segment").reindex(segs)
        pct = "unit" in r and (r["unit"] == "%").any()
        scale_ = 100.0 if pct else 1.0
        est, lo, hi = (r[c].to_numpy(dtype=float) * scale_
                       for c in ("estimate", "ci_low", "ci_high"))
        tot = r["total"].dropna()
        total = float(tot.iloc[0]) * scale_ if len(tot) else np.nan
        vals = np.concatenate([est, lo, hi, [total]])
        vals = vals[np.isfinite(vals)]
        a, b = (vals.min(), vals.max()) if len(vals) else (0.0, 1.0)
        span = (b - a) or 1.0
        xlim = (a - 0.05 * span, b + 0.05 * span)
        top = y + line_no * (len(segs) * row_h + 2 * TICK + 34)
        x0 = x_start + col * (panel_w + gap)
        head, hb = svg_text(str(m) + (" (%)" if pct else ""), x0, top, SMALL + 1.5, va="top",
                            bold=True, color=INK, cls="skc-panel")
        parts.append(head)
        frame = Box(x0, hb.y1 + 6, x0 + panel_w, hb.y1 + 6 + len(segs) * row_h)
        sx = Linear(*xlim, frame.x0, frame.x1)
        tv = ticks(*xlim, most=6)
        for v, t in zip(tv, tick_text(tv), strict=True):
            parts.append(line(sx(v), frame.y0, sx(v), frame.y1, GRID, 1))
            parts.append(svg_text(t, sx(v), frame.y1 + 5, TICK - 1, ha="center", va="top",
                                  color=AXIS, cls="skc-tick", extra=f'data-value="{num(v)}"')[0])
        parts.append(line(frame.x0, frame.y1, frame.x1, frame.y1, AXIS, 1))
        parts.append(line(frame.x0, frame.y0, frame.x0, frame.y1, AXIS, 1))
        if np.isfinite(total):
            parts.append(line(sx(total), frame.y0, sx(total), frame.y1, AXIS, 1,
                              'stroke-dasharray="4 2" class="skc-total"'))
        for i, (seg, kind) in enumerate(zip(segs, r["meaning"], strict=True)):
            cy = frame.y0 + (i + 0.5) * row_h
            if col == 0:
                parts.append(svg_text(seg, frame.x0 - 6, cy, TICK, ha="right", va="center",
                                      color=AXIS, cls="skc-row")[0])
            color = MEANING_COLORS.get(kind, MEANING_COLORS["ns"])
            used.add(kind)
            if np.isfinite(lo[i]) and np.isfinite(hi[i]):
                parts.append(line(sx(lo[i]), cy, sx(hi[i]), cy, color, 2))
            if np.isfinite(est[i]):
                parts.append(f'<circle class="skc-dot" cx="{num(sx(est[i]))}" cy="{num(cy)}" '
                             f'r="4.5" fill="{color}" data-value="{est[i]:.6g}"/>')
        bottom = frame.y1 + 5 + TICK * 1.2
    items = [("dash", AXIS, "total"), *meaning_items(used & set(MEANING_COLORS))]
    end = legend(parts, items, bottom + 12, WIDTH)
    return Chart(title, WIDTH, end + 6, parts,
                 what=f"{len(metrics)} metrics, {len(segs)} segments")


def _blue(share: float) -> str:
    """The colour of ``share`` (0-1) on the Blues map (linear between its nine steps)."""
    share = min(max(share, 0.0), 1.0) * (len(BLUES) - 1)
    i = min(int(share), len(BLUES) - 2)
    f = share - i
    a, b = (np.array([int(c[j:j + 2], 16) for j in (1, 3, 5)]) for c in BLUES[i:i + 2])
    return "#" + "".join(f"{int(round(v)):02x}" for v in a + (b - a) * f)


def _dark(color: str) -> bool:
    """Whether text on ``color`` should be white (relative luminance under 0.408)."""
    rgb = np.array([int(color[j:j + 2], 16) / 255 for j in (1, 3, 5)])
    rgb = np.where(rgb <= 0.03928, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return float(rgb @ [0.2126, 0.7152, 0.0722]) < 0.408


def driver_heatmap(shares: pd.DataFrame, act_here: pd.DataFrame | None = None, *,
                   title: str | None = None) -> Chart:
    """Segments (rows) by drivers (columns): each cell the driver's share of the explained
    variance in that segment (%, written in the cell); cells in the "act here" quadrant
    (above-median importance, below-median performance) are outlined in the "worse" red.

    Examples
    --------
    >>> s = pd.DataFrame({"Price": [40.0, 10.0], "Service": [60.0, 90.0]}, index=["A", "B"])
    >>> act = pd.DataFrame({"Price": [True, False], "Service": [False, True]}, index=["A", "B"])
    >>> driver_heatmap(s, act).to_svg().count('class="skc-act"')
    2
    """
    vals = shares.to_numpy(dtype=float)
    top = max(float(np.nanmax(vals)) if np.isfinite(vals).any() else 1.0, 1.0)
    rows = [str(i) for i in shares.index]
    cols = [textwrap.fill(textwrap.shorten(str(c), 44, placeholder="…"), 18)
            for c in shares.columns]
    act = (act_here.reindex(index=shares.index, columns=shares.columns).fillna(False)
           .to_numpy(dtype=bool) if act_here is not None else np.zeros(vals.shape, bool))
    title = title or "What drives each segment"
    label_w = max(text_width(r, TICK) for r in rows)
    x0 = max(PAD + label_w + 8, 90.0)   # room for the first slanted driver name
    bar_w = 70.0   # the colour key on the right
    cell_w = min(64.0, (WIDTH - x0 - PAD - bar_w) / max(len(cols), 1))
    cell_h = 30.0
    text, box = svg_text(title_lines(title, WIDTH - 2 * PAD), PAD, PAD, TITLE, va="top",
                         bold=True, color=INK, cls="skc-title")
    parts = [text]
    y0 = box.y1 + 10
    for i, r in enumerate(rows):
        cy = y0 + (i + 0.5) * cell_h
        parts.append(svg_text(r, x0 - 6, cy, TICK, ha="right", va="center", color=AXIS,
                              cls="skc-row")[0])
        for j in range(len(cols)):
            v = vals[i, j]
            cx = x0 + j * cell_w
            color = _blue(v / top) if np.isfinite(v) else "#ffffff"
            parts.append(f'<rect class="skc-cell" x="{num(cx)}" y="{num(y0 + i * cell_h)}" '
                         f'width="{num(cell_w)}" height="{num(cell_h)}" fill="{color}" '
                         f'stroke="#fff" stroke-width="1" data-value="{v:.6g}"/>')
            if np.isfinite(v):
                parts.append(svg_text(f"{v:.0f}", cx + cell_w / 2, cy, SMALL - 1, ha="center",
                                      va="center", color="#fff" if _dark(color) else INK)[0])
            if act[i, j]:
                parts.append(f'<rect class="skc-act" x="{num(cx + 0.04 * cell_w)}" '
                             f'y="{num(y0 + i * cell_h + 0.04 * cell_h)}" '
                             f'width="{num(0.92 * cell_w)}" height="{num(0.92 * cell_h)}" '
                             f'fill="none" stroke="{MEANING_COLORS["worse"]}" '
                             f'stroke-width="2.2"/>')
    y1 = y0 + len(rows) * cell_h
    deepest = y1
    for j, c in enumerate(cols):   # driver names slanted under their column
        ax, ay = x0 + (j + 0.5) * cell_w + 4, y1 + 8
        t, b = svg_text(c, ax, ay, SMALL - 1.5, ha="right", va="center", color=AXIS,
                        cls="skc-col")
        parts.append(t.replace("<text ", f'<text transform="rotate(-35 {num(ax)} {num(ay)})" ',
                               1))
        w, h = b.x1 - b.x0, b.y1 - b.y0
        deepest = max(deepest, ay + w * 0.574 + h * 0.41)   # sin 35 degrees, cos / 2
    # the colour key: steps of the map with a few values
    kx = x0 + len(cols) * cell_w + 24
    steps = 40
    kh = max(len(rows) * cell_h, 90.0)
    for s in range(steps):
        parts.append(f'<rect x="{num(kx)}" y="{num(y0 + kh * (1 - (s + 1) / steps))}" '
                     f'width="12" height="{num(kh / steps + 0.5)}" '
                     f'fill="{_blue((s + 0.5) / steps)}"/>')
    for v in ticks(0, top, most=5):
        ky = y0 + kh * (1 - v / top)
        parts.append(line(kx + 12, ky, kx + 15, ky, AXIS, 1))
        parts.append(svg_text(f"{v:g}", kx + 17, ky, TICK - 1.5, va="center", color=AXIS)[0])
    kt = svg_text("% of explained variance", kx + 50, y0 + kh / 2, TICK - 1.5, ha="center",
                  va="center", color=INK)[0]
    parts.append(kt.replace("<text ", f'<text transform="rotate(-90 {num(kx + 50)} '
                                      f'{num(y0 + kh / 2)})" ', 1))
    width = max(WIDTH, kx + 70)
    return Chart(title, width, max(deepest, y0 + kh) + PAD, parts,
                 what=f"{len(rows)} segments x {len(cols)} drivers")
