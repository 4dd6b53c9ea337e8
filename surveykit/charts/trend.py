"""The trend chart drawn as SVG: key metrics by wave in small multiples (#16 item 1)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import EstimationError
from ._chart import (
    AXIS,
    GRID,
    INK,
    LABEL,
    SMALL,
    TICK,
    TITLE,
    Chart,
    Linear,
    fit_text,
    legend,
    line,
    meaning_items,
    tick_text,
    ticks,
    title_lines,
    x_axis,
    y_axis,
    y_label,
)
from ._text import Box, num, svg_text, text_width
from .colors import MEANING_COLORS, meaning_of

WIDTH, PAD, PANEL_H, GAP = 760.0, 10.0, 140.0, 14.0
#: the narrowest panel: wider charts when there are many segments or waves
MIN_PANEL = 110.0
#: the line through the estimates and the intervals (as the matplotlib chart draws them)
LINE, CI = "#9aa5b1", "#cbd2d9"


def trend_chart(result, *, metrics=None, segments=None, title: str | None = None) -> Chart:
    """Small multiples of a trend (:class:`surveykit.waves.TrendResult`): one row per
    metric, one panel per segment (the total first), the estimate per wave with its 95%
    CI; a wave whose change from the previous one is significant is coloured by what it
    means (green better, red worse), others grey. Panels of one metric share their axis.

    The SVG twin of :meth:`surveykit.waves.TrendResult.plot` (same arguments). Each
    estimate is a point (``class="skc-point"``, ``data-metric``, ``data-segment``,
    ``data-wave``, ``data-value``), its interval a line (``class="skc-ci"``).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> t = pd.DataFrame({"metric": "nps", "label": "NPS", "kind": "nps", "segment": "Total",
    ...                   "segment_label": "Total", "wave": ["Q1", "Q2"],
    ...                   "estimate": [10.0, 20.0], "ci_low": [5.0, 15.0],
    ...                   "ci_high": [15.0, 25.0], "higher_is_better": True,
    ...                   "change_prev": [np.nan, 10.0], "significant_prev": [False, True]})
    >>> trend_chart(SimpleNamespace(table=t, waves=["Q1", "Q2"]), title="NPS")
    <Chart: NPS (1 metrics, 1 segments)>
    """
    t = result.table
    waves = list(result.waves)
    metrics = list(dict.fromkeys(t["metric"])) if metrics is None else list(metrics)
    segs = list(dict.fromkeys(t["segment"])) if segments is None else list(segments)
    if not metrics or not segs:
        raise EstimationError("nothing to plot: the trend has no metric")
    title = title or ("Key metrics by wave (95% CI; colour: significant change from the "
                      "previous wave)")
    rows, used = [], set()
    for m in metrics:   # the axis of each metric: its range, ticks and their widest label
        rows_m = t[t["metric"] == m]
        kind = rows_m["kind"].iloc[0] if len(rows_m) else "mean"
        f = 100.0 if kind == "percent" else 1.0
        lo, hi = rows_m["ci_low"].min() * f, rows_m["ci_high"].max() * f
        pad = 0.08 * (hi - lo if np.isfinite(hi - lo) and hi > lo else 1.0)
        ylim = (lo - pad, hi + pad) if np.isfinite(lo) and np.isfinite(hi) else (0.0, 1.0)
        yvals = [v for v in ticks(*ylim, most=5) if ylim[0] <= v <= ylim[1]]
        label = rows_m["label"].iloc[0] if len(rows_m) else m
        rows.append((m, rows_m, f, ylim, yvals, tick_text(yvals),
                     f"{label}{' (%)' if kind == 'percent' else ''}"))
    widest = max((text_width(s, TICK) for *_, ytext, _ in rows for s in ytext), default=0.0)
    x0 = PAD + LABEL * 1.2 + 6 + widest + 8
    pw = max(MIN_PANEL, 48.0 * len(waves) + 20)
    width = max(WIDTH, x0 + len(segs) * (pw + GAP) - GAP + PAD)
    pw = (width - PAD - x0 - GAP * (len(segs) - 1)) / len(segs)
    head, box = svg_text(title_lines(title, width - 2 * PAD), PAD, PAD, TITLE, va="top",
                         bold=True, color=INK, cls="skc-title")
    parts = [head]
    top = box.y1 + 10 + SMALL * 1.3
    xpad = 0.4 if len(waves) > 1 else 1.0
    for i, (m, rows_m, f, ylim, yvals, ytext, ylab) in enumerate(rows):
        y0 = top + i * (PANEL_H + TICK * 1.2 + 16)
        for j, s in enumerate(segs):
            frame = Box(x0 + j * (pw + GAP), y0, x0 + j * (pw + GAP) + pw, y0 + PANEL_H)
            sx = Linear(-xpad, len(waves) - 1 + xpad, frame.x0, frame.x1)
            sy = Linear(*ylim, frame.y1, frame.y0)
            r = rows_m[rows_m["segment"] == s]
            if i == 0:
                name = str(r["segment_label"].iloc[0]) if len(r) else str(s)
                parts.append(svg_text(fit_text(name, pw, SMALL), (frame.x0 + frame.x1) / 2,
                                      frame.y0 - 4, SMALL, ha="center", va="bottom",
                                      color=INK, cls="skc-panel")[0])
            if j == 0:
                y_axis(parts, sy, yvals, ytext, frame)
                y_label(parts, fit_text(ylab, PANEL_H + TICK * 1.2 + 10, LABEL), frame, PAD)
            else:
                parts.extend(line(frame.x0, sy(v), frame.x1, sy(v), GRID, 1) for v in yvals)
            x_axis(parts, sx, range(len(waves)), waves, frame, grid=False)
            parts.append(line(frame.x0, frame.y0, frame.x0, frame.y1, AXIS, 1))
            if not len(r):
                continue
            pos = [waves.index(w) for w in r["wave"]]
            est = r["estimate"].to_numpy(float) * f
            pts = " ".join(f"{num(sx(p))},{num(sy(v))}" for p, v in zip(pos, est, strict=True)
                           if np.isfinite(v))
            parts.append(f'<polyline class="skc-line" points="{pts}" fill="none" '
                         f'stroke="{LINE}" stroke-width="1.2"/>')
            for p, a, b in zip(pos, r["ci_low"] * f, r["ci_high"] * f, strict=True):
                if np.isfinite(a) and np.isfinite(b):
                    parts.append(line(sx(p), sy(a), sx(p), sy(b), CI, 2,
                                      f'class="skc-ci" data-low="{a:.6g}" '
                                      f'data-high="{b:.6g}"'))
            pol = 1 if r["higher_is_better"].iloc[0] else -1
            for p, v, w, d, sig in zip(pos, est, r["wave"], r["change_prev"],
                                       r["significant_prev"], strict=True):
                k = meaning_of(d, bool(sig), pol) if not pd.isna(d) else "ns"
                used.add(k)
                if np.isfinite(v):
                    parts.append(f'<circle class="skc-point" data-metric="{_attr(m)}" '
                                 f'data-segment="{_attr(s)}" data-wave="{_attr(w)}" '
                                 f'data-value="{v:.6g}" cx="{num(sx(p))}" cy="{num(sy(v))}" '
                                 f'r="4" fill="{MEANING_COLORS[k]}"/>')
    y = top + len(rows) * (PANEL_H + TICK * 1.2 + 16) + 4
    y = legend(parts, meaning_items(used), y, width)
    return Chart(title, width, y + PAD, parts,
                 what=f"{len(metrics)} metrics, {len(segs)} segments")


def _attr(value) -> str:
    import html

    return html.escape(str(value), quote=True)
