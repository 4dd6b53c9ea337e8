"""Charts of a PLS model: the path diagram and the construct importance-performance map."""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from .._util import shorten
from ..charts._path_layout import NODE_H, NODE_W, clip, label_spot, layout
from ..charts.path import fit_name
from ..plots import PALETTE, QUADRANT_COLORS, _title, house_style, new_figure, quadrant_names

_INCH = 0.62             # inches per unit of the diagram
_PT = 72 * _INCH         # points per unit


def path_diagram(result, *, labels: dict | None = None, title: str | None = None) -> Figure:
    """The structural model: constructs left to right, arrows with path coefficients, R².

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from surveykit.pls import pls
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=(200, 1))
    >>> d = pd.DataFrame(f + rng.normal(size=(200, 4)), columns=["a1", "a2", "b1", "b2"])
    >>> fig = pls(d, {"A": ["a1", "a2"], "B": ["b1", "b2"]}, {"B": ["A"]}).plot()
    >>> fig.axes[0].get_title(loc="left").startswith("Path model")
    True
    """
    spec = result.spec
    labels = {**result.labels, **(labels or {})}
    pos = layout(spec)
    r2 = dict(zip(result.constructs["construct"], result.constructs["r2"], strict=True))
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    x0, x1_ = min(xs) - NODE_W / 2 - 0.3, max(xs) + NODE_W / 2 + 0.3
    y0, y1_ = min(ys) - NODE_H / 2 - 0.35, max(ys) + NODE_H / 2 + 0.35
    with house_style():
        fig = new_figure(max(5.0, _INCH * (x1_ - x0)), _INCH * (y1_ - y0) + 0.7)
        ax = fig.subplots()
        ax.set_aspect("equal")
        ax.axis("off")
        big = max(float(result.inner_model["estimate"].abs().max()), 1e-9)
        placed: list[tuple[float, float]] = []
        segments = [clip(pos[a], pos[b]) for a, b in zip(
            result.inner_model["from"], result.inner_model["to"], strict=True)]
        for k, (_, row) in enumerate(result.inner_model.iterrows()):
            (cx1, cy1), (cx2, cy2) = clip(pos[row["from"]], pos[row["to"]])
            coef = float(row["estimate"])
            sig = ("ci_low" in row and (row["ci_low"] > 0 or row["ci_high"] < 0)) or (
                "ci_low" not in row and row["p"] < 0.05)
            color = PALETTE[0] if coef >= 0 else PALETTE[3]
            ax.add_patch(FancyArrowPatch(
                (cx1, cy1), (cx2, cy2), arrowstyle="-|>,head_length=0.6,head_width=0.3",
                mutation_scale=12, lw=0.8 + 2.2 * abs(coef) / big, color=color,
                alpha=1.0 if sig else 0.45, linestyle="-" if coef >= 0 else "--",
                shrinkA=0, shrinkB=0, zorder=1))
            others = segments[:k] + segments[k + 1:]
            lx, ly = label_spot((cx1, cy1), (cx2, cy2), placed, pos, others)
            placed.append((lx, ly))
            ax.text(lx, ly, f"{coef:.2f}" + ("" if sig else " (ns)"),
                    ha="center", va="center", fontsize=8.5, color=color, zorder=4,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none"})
        for c, (x, y) in pos.items():
            endo = bool(spec.path[spec.constructs.index(c)].any())
            box = FancyBboxPatch((x - NODE_W / 2, y - NODE_H / 2), NODE_W, NODE_H,
                                 boxstyle="round,pad=0.02,rounding_size=0.25",
                                 fc="#eef3f8" if endo else "white", ec=PALETTE[0], lw=1.3,
                                 zorder=3)
            ax.add_patch(box)
            # the name fitted to its box as the SVG chart fits it (in points here)
            r2_h = 1.2 * 8 / _PT if endo else 0.0
            name, size = fit_name(str(labels.get(c, c)), (NODE_W - 0.12) * _PT,
                                  (NODE_H - 0.12 - r2_h) * _PT, sizes=(8.5, 8.0, 7.5, 7.0))
            name_h = (name.count("\n") + 1) * 1.2 * size / _PT
            top = y + (name_h + r2_h) / 2
            ax.text(x, top - name_h / 2, name, ha="center", va="center", fontsize=size,
                    fontweight="bold", color="#262626", zorder=5, linespacing=1.2)
            if endo:
                ax.text(x, top - name_h - r2_h / 2, f"R² = {r2[c]:.2f}", ha="center",
                        va="center", fontsize=8, color="#4d4d4d", zorder=5)
        ax.set_xlim(x0, x1_)
        ax.set_ylim(y0, y1_)
        why = (f"{result.level:.0%} bootstrap CI includes 0" if "ci_low" in result.inner_model
               else "p >= 0.05")
        ax.set_title(_title(title or f"Path model: coefficients and R² (ns: {why})"))
    return fig


def ipma_chart(ipma, *, title: str | None = None) -> Figure:
    """Quadrant chart of an :class:`~surveykit.pls.IPMAResult` (house style): importance
    (total effect on the target) across, 0-100 performance up, the cuts dashed, and the
    bootstrap intervals as whiskers when there are any."""
    t = ipma.table
    xs = t[ipma.importance].to_numpy(float)
    ys = t["performance"].to_numpy(float)
    lo_x, hi_x = (f"{ipma.importance}_ci_low", f"{ipma.importance}_ci_high")
    with house_style():
        fig = new_figure(7.5, 5.5)
        ax = fig.subplots()
        colors = [QUADRANT_COLORS[q] for q in t["quadrant"]]
        if lo_x in t and "performance_ci_low" in t:
            for i in range(len(t)):
                ax.plot([t[lo_x].iloc[i], t[hi_x].iloc[i]], [ys[i], ys[i]], color=colors[i],
                        lw=1, alpha=0.5, zorder=2)
                ax.plot([xs[i], xs[i]], [t["performance_ci_low"].iloc[i],
                                         t["performance_ci_high"].iloc[i]],
                        color=colors[i], lw=1, alpha=0.5, zorder=2)
        ax.scatter(xs, ys, s=60, c=colors, zorder=3, edgecolors="white", linewidths=0.6)
        for x, y, name in zip(xs, ys, t["label"], strict=True):
            ax.annotate(shorten(str(name), 30), (x, y), xytext=(6, 5),
                        textcoords="offset points", fontsize=8.5, zorder=4)
        ax.axvline(ipma.importance_cut, color="#4d4d4d", lw=1, ls="--", zorder=1)
        ax.axhline(ipma.performance_cut, color="#4d4d4d", lw=1, ls="--", zorder=1)
        ax.margins(x=0.18, y=0.15)
        ax.set_xlabel(f"total effect on {ipma.target_label}" + (
            " (index points per index point)" if ipma.importance == "total_effect_unstd"
            else " (standardized)"))
        ax.set_ylabel("performance (0-100 index)")
        ax.set_title(_title(title or f"Importance-performance map: {ipma.target_label} "
                                     f"(index {ipma.target_performance:.1f})"))
        quadrant_names(ax, ipma.importance_cut, ipma.performance_cut)
    return fig
