"""Line charts drawn as SVG: the scree / parallel-analysis chart (#16 item 1)."""

from __future__ import annotations

import numpy as np

from ._chart import (
    AXIS,
    INK,
    LABEL,
    TICK,
    TITLE,
    Chart,
    Linear,
    legend,
    line,
    nice_range,
    tick_text,
    ticks,
    title_lines,
    x_axis,
    y_axis,
    y_label,
)
from ._text import Box, num, svg_text, text_width
from .colors import PALETTE

WIDTH, HEIGHT, PAD = 700.0, 450.0, 12.0


def scree_chart(parallel, *, title: str | None = None) -> Chart:
    """Scree values next to the parallel-analysis percentile (components and factors).

    The SVG twin of :func:`surveykit.plots.scree_chart`; ``parallel`` is a
    :class:`surveykit.measurement.ParallelResult`. Each observed value is a point
    (``class="skc-point"``, ``data-series``, ``data-value``).

    Examples
    --------
    >>> import pandas as pd
    >>> from types import SimpleNamespace
    >>> t = pd.DataFrame({"observed_pc": [3.1, 1.2, 0.5], "sim_pc_pct": [1.3, 1.1, 0.9],
    ...                   "observed_fa": [2.6, 0.4, 0.1], "sim_fa_pct": [0.5, 0.2, 0.1]},
    ...                  index=[1, 2, 3])
    >>> scree_chart(SimpleNamespace(table=t, percentile=95, n_factors=1, n_components=1))
    <Chart: Parallel analysis: 1 factor, 1 component (3 numbers)>
    """
    t = parallel.table
    x = np.asarray(t.index, dtype=float)
    pct = f"{parallel.percentile:g}th pct"
    series = [("observed_pc", PALETTE[0], "components: data", False),
              ("sim_pc_pct", PALETTE[0], f"components: simulated {pct}", True),
              ("observed_fa", PALETTE[1], "factors: data", False),
              ("sim_fa_pct", PALETTE[1], f"factors: simulated {pct}", True)]
    values = np.concatenate([np.asarray(t[c], dtype=float) for c, *_ in series] + [[1.0]])
    step = 10 ** np.floor(np.log10(max(np.ptp(values), 1e-9))) / 2
    ylim = nice_range(values, step=step)
    yvals = ticks(*ylim)
    ytext = tick_text(yvals)
    nf, nc = int(parallel.n_factors), int(parallel.n_components)
    title = title or (f"Parallel analysis: {nf} factor{'s' if nf != 1 else ''}, "
                      f"{nc} component{'s' if nc != 1 else ''}")
    x0 = PAD + LABEL * 1.2 + 6 + max(text_width(s, TICK) for s in ytext) + 8
    head, box = svg_text(title_lines(title, WIDTH - x0 - PAD), x0, PAD, TITLE, va="top",
                         bold=True, color=INK, cls="skc-title")
    parts = [head]
    y = legend(parts, [("dash" if dash else "dot", color, text)
                       for _, color, text, dash in series], box.y1 + 8, WIDTH)
    frame = Box(x0, y + 6, WIDTH - PAD - 8, HEIGHT - PAD - LABEL * 1.2 - 6 - TICK * 1.3)
    span = max(x.max() - x.min(), 1.0)
    sx = Linear(x.min() - 0.04 * span, x.max() + 0.04 * span, frame.x0, frame.x1)
    sy = Linear(*ylim, frame.y1, frame.y0)
    y_axis(parts, sy, yvals, ytext, frame)
    xvals = ticks(x.min(), x.max(), most=min(len(x), 15))
    xvals = [v for v in xvals if float(v).is_integer()] or [float(x.min())]
    yb = x_axis(parts, sx, xvals, [f"{v:g}" for v in xvals], frame, grid=False)
    parts.append(line(frame.x0, frame.y0, frame.x0, frame.y1, AXIS, 1))
    parts.append(svg_text("number", (frame.x0 + frame.x1) / 2, yb + 4, LABEL, ha="center",
                          va="top", color=INK, cls="skc-xlabel")[0])
    y_label(parts, "eigenvalue", frame, PAD)
    parts.append(line(frame.x0, sy(1.0), frame.x1, sy(1.0), "#8c8c8c", 0.8,
                      'class="skc-reference"'))
    for col, color, _, dash in series:
        v = np.asarray(t[col], dtype=float)
        pts = " ".join(f"{num(sx(a))},{num(sy(b))}" for a, b in zip(x, v, strict=True)
                       if np.isfinite(b))
        style = ' stroke-dasharray="6 3" stroke-opacity="0.7"' if dash else ""
        parts.append(f'<polyline class="skc-line" data-series="{col}" points="{pts}" '
                     f'fill="none" stroke="{color}" stroke-width="1.5"{style}/>')
        if not dash:
            parts.extend(f'<circle class="skc-point" data-series="{col}" '
                         f'data-value="{b:.6g}" cx="{num(sx(a))}" cy="{num(sy(b))}" r="3.5" '
                         f'fill="{color}"/>' for a, b in zip(x, v, strict=True)
                         if np.isfinite(b))
    return Chart(title, WIDTH, HEIGHT, parts, what=f"{len(t)} numbers")
