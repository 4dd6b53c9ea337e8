"""The path diagram of a PLS model as inline SVG: constructs left to right in path order,
arrows labelled with their coefficients, R² under each endogenous construct."""

from __future__ import annotations

import html
import math

from ._chart import AXIS, INK, TITLE, Chart, fit_text, title_lines
from ._path_layout import NODE_H, NODE_W, clip, label_spot, layout
from ._text import LINE_HEIGHT, num, svg_text, text_width
from .colors import PALETTE

#: pixels per diagram unit, and the margin around the diagram
UNIT, PAD = 72.0, 12.0
NAME_SIZE, R2_SIZE, COEF_SIZE = 11.0, 10.0, 10.5
#: a name's sizes, largest first, and its margin inside the box (px)
_NAME_SIZES, _INSET = (NAME_SIZE, 10.0, 9.0, 8.5), 4.0
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
    """A construct's rounded box, its name (bold, fitted by :func:`fit_name`) and, when
    endogenous, its R² under the name; the two centred in the box together."""
    cx, cy = centre
    w, h = NODE_W * UNIT, NODE_H * UNIT
    out = [f'<rect class="skc-construct" x="{num(cx - w / 2)}" y="{num(cy - h / 2)}" '
           f'width="{num(w)}" height="{num(h)}" rx="{num(0.25 * UNIT)}" '
           f'fill="{"#eef3f8" if endogenous else "#fff"}" stroke="{PALETTE[0]}" '
           f'stroke-width="1.3"/>']
    show_r2 = endogenous and r2 is not None and math.isfinite(r2)
    r2_h = LINE_HEIGHT * R2_SIZE if show_r2 else 0.0
    text, size = fit_name(name, w - 2 * _INSET, h - 2 * _INSET - r2_h)
    name_h = (text.count("\n") + 1) * LINE_HEIGHT * size
    top = cy - (name_h + r2_h) / 2
    out.append(svg_text(text, cx, top + name_h / 2, size, ha="center", va="center",
                        bold=True, color=INK, cls="skc-node")[0])
    if show_r2:
        out.append(svg_text(f"R² = {r2:.2f}", cx, top + name_h + r2_h / 2, R2_SIZE,
                            ha="center", va="center", color=AXIS, cls="skc-r2")[0])
    return out


def fit_name(name: str, width: float, height: float, *,
             sizes: tuple[float, ...] = _NAME_SIZES) -> tuple[str, float]:
    """A construct's name as it fits a box of ``width`` x ``height`` px: whole, on as many
    lines as fit, at the largest of ``sizes`` (11 to 8.5 px); else on those lines at the
    smallest, the last line ending as the name ends after an ellipsis, so that long names
    that differ only at their end stay apart. Any unit serves, the sizes in it: the matplotlib
    diagram (:meth:`surveykit.pls.PLSResult.plot`) fits in points. Returns ``(text with
    line breaks, size)``.

    Examples
    --------
    >>> fit_name("Image", 110, 40)
    ('Image', 11.0)
    >>> print(*fit_name("Perceived quality of the after-sales service", 110, 40))
    Perceived quality
    of the after-sales
    service 11.0
    >>> print(*fit_name("Satisfaction with the speed of the response to a service request "
    ...                 "made by telephone", 110, 28))
    Satisfaction with the
    …made by telephone 8.5
    """
    words = name.split() or [name]
    for size in sizes:
        lines = _wrap(words, size, width)
        if len(lines) * LINE_HEIGHT * size <= height and \
                all(text_width(line, size, bold=True) <= width for line in lines):
            return "\n".join(lines), size
    size = sizes[-1]
    most = max(1, int(height // (LINE_HEIGHT * size)))
    lines = _wrap(words, size, width)
    if len(lines) > most:  # the last line that fits ends as the name ends, after "…"
        rest = " ".join(words)[len(" ".join(lines[:most - 1])):].strip()
        lines = [*lines[:most - 1], _cut_start(rest, size, width)]
    return "\n".join(fit_text(line, width, size, bold=True) for line in lines), size


def _wrap(words: list[str], size: float, width: float) -> list[str]:
    """Words on lines of at most ``width`` px, greedily (a longer word gets a line)."""
    lines: list[str] = []
    for word in words:
        if lines and text_width(f"{lines[-1]} {word}", size, bold=True) <= width:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    return lines


def _cut_start(text: str, size: float, width: float) -> str:
    """``text`` with its start cut, whole words first, to fit ``width`` (an ellipsis marks
    the cut): the end of a long name is what tells it from its neighbours."""
    if text_width(text, size, bold=True) <= width:
        return text
    words = text.split()
    while len(words) > 1 and text_width("…" + " ".join(words), size, bold=True) > width:
        words = words[1:]
    text = " ".join(words)
    while text and text_width("…" + text, size, bold=True) > width:
        text = text[1:]
    return "…" + text
