"""The path diagram of a PLS model as inline SVG: constructs left to right in path order,
arrows labelled with their coefficients, R² under each endogenous construct."""

from __future__ import annotations

import html
import math
import textwrap

from .._util import shorten
from ._chart import AXIS, INK, TITLE, Chart, title_lines
from ._path_layout import NODE_H, NODE_W, clip, label_spot, layout
from ._text import num, svg_text
from .colors import PALETTE

#: pixels per diagram unit, and the margin around the diagram
UNIT, PAD = 72.0, 12.0
NAME_SIZE, R2_SIZE, COEF_SIZE = 11.0, 10.0, 10.5
_HALO = 'stroke="#fff" stroke-width="4" stroke-linejoin="round" paint-order="stroke"'


def path_chart(result, *, labels: dict | None = None, title: str | None = None) -> Chart:
    """The structural model of a :class:`~surveykit.pls.PLSResult` as an SVG chart.

    Constructs sit in columns by path order, in the rows where straight arrows cross the
    fewest other constructs and arrows. An arrow's width grows with its coefficient; a
    negative path is red and dashed; a path whose bootstrap interval includes 0 (or, without
    a bootstrap, p >= 0.05) is pale and marked "(ns)". Each coefficient is placed near the
    middle of its arrow, clear of the boxes, the other coefficients and the other arrows;
    the coefficients are the chart's data labels (``class="skc-label"``, see
    :func:`~surveykit.charts.labels_overlap`). Endogenous constructs are shaded, with their
    R² under the name.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from surveykit.pls import pls
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=(200, 1))
    >>> d = pd.DataFrame(f + rng.normal(size=(200, 4)), columns=["a1", "a2", "b1", "b2"])
    >>> chart = pls(d, {"A": ["a1", "a2"], "B": ["b1", "b2"]}, {"B": ["A"]}).chart()
    >>> chart.summary()
    'Path model: coefficients and R² (ns: p >= 0.05) (2 constructs, 1 path)'
    """
    spec = result.spec
    names = {**result.labels, **(labels or {})}
    pos = layout(spec)
    inner = result.inner_model
    r2 = dict(zip(result.constructs["construct"], result.constructs["r2"], strict=True))
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    left, top = min(xs) - NODE_W / 2 - 0.3, max(ys) + NODE_H / 2 + 0.35
    diagram_w = (max(xs) - min(xs) + NODE_W + 0.6) * UNIT
    diagram_h = (max(ys) - min(ys) + NODE_H + 0.7) * UNIT
    width = max(diagram_w + 2 * PAD, 420.0)
    why = (f"{result.level:.0%} bootstrap CI includes 0" if "ci_low" in inner
           else "p >= 0.05")
    title = title or f"Path model: coefficients and R² (ns: {why})"
    head, box = svg_text(title_lines(title, width - 2 * PAD), PAD, PAD, TITLE, va="top",
                         bold=True, color=INK, cls="skc-title")
    x_off = (width - diagram_w) / 2
    y_off = box.y1 + 8

    def px(pt) -> tuple[float, float]:  # diagram units (y up) -> pixels (y down)
        return x_off + (pt[0] - left) * UNIT, y_off + (top - pt[1]) * UNIT

    parts, placed_labels = [head], []
    big = max(float(inner["estimate"].abs().max()), 1e-9) if len(inner) else 1.0
    arrows = [clip(pos[a], pos[b]) for a, b in zip(inner["from"], inner["to"], strict=True)]
    spots: list[tuple[float, float]] = []
    texts = []
    for k, (_, row) in enumerate(inner.iterrows()):
        a, b = arrows[k]
        coef = float(row["estimate"])
        sig = bool(row["ci_low"] > 0 or row["ci_high"] < 0) if "ci_low" in row \
            else bool(row["p"] < 0.05)
        color = PALETTE[0] if coef >= 0 else PALETTE[3]
        of = f"{row['from']} -> {row['to']}"
        parts.append(_arrow(px(a), px(b), 1.0 + 2.6 * abs(coef) / big, color, sig,
                            dashed=coef < 0, of=of))
        spot = label_spot(a, b, spots, pos, arrows[:k] + arrows[k + 1:])
        spots.append(spot)
        text = f"{coef:.2f}" + ("" if sig else " (ns)")
        svg, lbox = svg_text(text, *px(spot), COEF_SIZE, ha="center", va="center",
                             color=color, cls="skc-label",
                             extra=f'{_HALO} data-path="{html.escape(of, quote=True)}"')
        texts.append(svg)
        placed_labels.append((text, lbox))
    for c, centre in pos.items():
        parts.extend(_node(px(centre), str(names.get(c, c)), r2.get(c),
                           bool(spec.path[spec.constructs.index(c)].any())))
    parts.extend(texts)  # coefficients over the arrows and boxes
    height = y_off + diagram_h + PAD
    n_c, n_p = len(spec.constructs), len(inner)
    return Chart(title, width, height, parts,
                 what=f"{n_c} construct{'s' * (n_c != 1)}, {n_p} path{'s' * (n_p != 1)}",
                 labels=placed_labels)


def _arrow(a, b, width: float, color: str, significant: bool, *, dashed: bool,
           of: str) -> str:
    """A line from ``a`` to the base of an arrowhead drawn as a triangle ending at ``b``
    (no SVG marker: marker ids would clash between charts on one page)."""
    (x1, y1), (x2, y2) = a, b
    length = math.hypot(x2 - x1, y2 - y1) or 1.0
    ux, uy = (x2 - x1) / length, (y2 - y1) / length
    head_l, head_w = 7.0 + 1.6 * width, 3.5 + 0.9 * width
    bx, by = x2 - ux * head_l, y2 - uy * head_l
    opacity = "1" if significant else "0.45"
    dash = ' stroke-dasharray="6 3"' if dashed else ""
    corners = [(x2, y2), (bx - uy * head_w, by + ux * head_w),
               (bx + uy * head_w, by - ux * head_w)]
    return (f'<g class="skc-path" data-path="{html.escape(of, quote=True)}" opacity="{opacity}">'
            f'<line x1="{num(x1)}" y1="{num(y1)}" x2="{num(bx)}" y2="{num(by)}" '
            f'stroke="{color}" stroke-width="{num(width)}"{dash}/>'
            f'<polygon points="{" ".join(f"{num(x)},{num(y)}" for x, y in corners)}" '
            f'fill="{color}"/></g>')


def _node(centre, name: str, r2, endogenous: bool) -> list[str]:
    """A construct's rounded box, its name (bold, up to two lines) and, when endogenous,
    its R²."""
    cx, cy = centre
    w, h = NODE_W * UNIT, NODE_H * UNIT
    out = [f'<rect class="skc-construct" x="{num(cx - w / 2)}" y="{num(cy - h / 2)}" '
           f'width="{num(w)}" height="{num(h)}" rx="{num(0.25 * UNIT)}" '
           f'fill="{"#eef3f8" if endogenous else "#fff"}" stroke="{PALETTE[0]}" '
           f'stroke-width="1.3"/>']
    text = textwrap.fill(shorten(name, 30), 15)
    lines = text.count("\n") + 1
    name_y = cy - (0.55 * R2_SIZE if endogenous else 0) - (0.1 * NAME_SIZE * (lines - 1))
    out.append(svg_text(text, cx, name_y, NAME_SIZE, ha="center", va="center", bold=True,
                        color=INK, cls="skc-node")[0])
    if endogenous and r2 is not None and math.isfinite(r2):
        dy = 0.62 * NAME_SIZE + 0.75 * R2_SIZE + 0.6 * NAME_SIZE * (lines - 1)
        out.append(svg_text(f"R² = {r2:.2f}", cx, name_y + dy, R2_SIZE, ha="center",
                            va="center", color=AXIS, cls="skc-r2")[0])
    return out
