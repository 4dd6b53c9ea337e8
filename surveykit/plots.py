"""Charts in one house style (seaborn on matplotlib).

Every chart function draws on a new :class:`matplotlib.figure.Figure` (not through
``pyplot``), so it works with any backend, including Agg on a server, keeps no global
figure state, and returns a :class:`ChartFigure`: a Figure that shows itself as a PNG in
Jupyter with no ``%matplotlib`` magic (``_repr_png_``), and that ``fig.savefig(...)`` writes.
The house style is applied inside each function (``house_style()``); ``set_style()`` makes
it the session default for other charts too.

Colours mean one thing everywhere (:data:`MEANING_COLORS`), as in the report tables: a
significant difference is green when better, red when worse, dark ink when neither
direction is better; grey is "not significantly different". Charts of the same kind take
an axis range from the caller (``xlim`` / ``ylim``) so that every segment's page draws
them on one scale.
"""

from __future__ import annotations

import contextlib
import textwrap
from collections.abc import Iterator

import numpy as np
import pandas as pd
from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .charts import MEANING_COLORS, PALETTE, QUADRANT_COLORS, nice_range, segment_name

__all__ = ["PALETTE", "QUADRANT_COLORS", "MEANING_COLORS", "set_style", "house_style",
           "ChartFigure", "chart_png", "new_figure", "segment_name", "quadrant_chart",
           "importance_chart", "scree_chart", "loadings_chart", "nice_range",
           "labels_overlap"]

_RC = {
    "figure.dpi": 100, "savefig.dpi": 150, "savefig.bbox": "tight",
    "font.size": 10, "axes.titlesize": 12, "axes.titleweight": "bold",
    "axes.titlelocation": "left", "axes.labelsize": 10, "axes.spines.top": False,
    "axes.spines.right": False, "axes.edgecolor": "#4d4d4d", "axes.labelcolor": "#262626",
    "xtick.color": "#4d4d4d", "ytick.color": "#4d4d4d", "grid.color": "#e6e6e6",
    "legend.frameon": False,
}
#: fonts tried, in order, for a glyph the first lacks (labels in Chinese, Japanese...)
_FALLBACK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans SC", "WenQuanYi Zen Hei",
                   "WenQuanYi Micro Hei", "Droid Sans Fallback", "Source Han Sans SC")
#: a label's glyph missing from every installed font: the chart draws a box for it (the
#: page's text shows the label in the browser's fonts), and says nothing on stderr
_GLYPH = r"Glyph .* missing from font"


def _font_family() -> list[str]:
    from matplotlib import font_manager

    have = {f.name for f in font_manager.fontManager.ttflist}
    return ["DejaVu Sans", *(f for f in _FALLBACK_FONTS if f in have)]


_RC["font.family"] = _font_family()


def set_style() -> None:
    """Make the house style the session default (seaborn theme, palette, rc settings).

    Examples
    --------
    >>> set_style()
    """
    import seaborn as sns  # (0.5 s to import: only where a chart is drawn)

    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE, rc=_RC)


@contextlib.contextmanager
def house_style() -> Iterator[None]:
    """Context manager applying the house style temporarily (used by every chart)."""
    import warnings

    import seaborn as sns

    with sns.axes_style("whitegrid", rc=_RC), rc_context(_RC), sns.color_palette(PALETTE), \
            warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_GLYPH, category=UserWarning)
        yield


def _title(text: str, width: int = 70) -> str:
    return textwrap.fill(text, width)


class ChartFigure(Figure):
    """A matplotlib Figure that Jupyter displays inline by itself.

    A Figure made without ``pyplot`` is shown by IPython only once an inline backend has
    registered its image formatter (``%matplotlib inline``); a fresh notebook would show
    ``<Figure size ...>``. This subclass carries ``_repr_png_``, which IPython's display
    machinery uses whatever the backend, so a chart returned by any ``.plot()`` appears
    inline. Everything else is a plain :class:`~matplotlib.figure.Figure`.

    Examples
    --------
    >>> fig = new_figure(2, 1)
    >>> _ = fig.subplots().plot([0, 1], [0, 1])
    >>> fig._repr_png_()[:4]
    b'\\x89PNG'
    """

    def _repr_png_(self) -> bytes | None:
        return chart_png(self, dpi=100)


def chart_png(fig: Figure, dpi: float = 100) -> bytes:
    """PNG bytes of ``fig`` at ``dpi``, cropped to what is drawn plus ``savefig.pad_inches``:
    the image ``fig.savefig(..., bbox_inches="tight")`` writes, with one pass of text
    layout fewer.

    ``savefig`` with a tight box draws the whole figure once without rendering (to lay it
    out and measure its text), then again to render it. Here the layout engine runs by
    itself, the tight box is measured, and the figure is rendered once on an Agg canvas
    and its pixels cropped (or padded with the figure's face colour). A figure with ink
    outside its own area (a title or value label running past the edge, a key beside the
    axes) is written by ``savefig`` with that box, which widens the canvas to show it.

    Examples
    --------
    >>> fig = new_figure(2, 1)
    >>> _ = fig.subplots().plot([0, 1], [0, 1])
    >>> png = chart_png(fig)
    >>> png[:4]
    b'\\x89PNG'
    """
    import io
    import warnings

    from matplotlib import rcParams
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import to_rgba_array
    from PIL import Image

    buf = io.BytesIO()
    old_dpi, engine = fig.dpi, fig.get_layout_engine()
    with warnings.catch_warnings():  # a glyph no installed font has: drawn as a box
        warnings.filterwarnings("ignore", message=_GLYPH, category=UserWarning)
        try:
            fig.set_dpi(dpi)
            canvas = FigureCanvasAgg(fig)
            if engine is not None:
                engine.execute(fig)
                fig.set_layout_engine("none")  # laid out: the draw below keeps it
            box = fig.get_tightbbox(canvas.get_renderer())  # inches
            width, height = fig.get_size_inches()
            box = box.padded(float(rcParams["savefig.pad_inches"]))
            if min(box.x0, box.y0) < -0.1 - 1e-6 or box.x1 > width + 0.1 + 1e-6 or \
                    box.y1 > height + 0.1 + 1e-6:  # ink outside the figure
                fig.savefig(buf, format="png", dpi=dpi, bbox_inches=box)
                return buf.getvalue()
            canvas.draw()
            pixels = np.asarray(canvas.buffer_rgba())
        finally:
            fig.set_dpi(old_dpi)
            if engine is not None:
                fig.set_layout_engine(engine)
    x0, y0 = int(round(box.x0 * dpi)), int(round(box.y0 * dpi))
    w, h = int(box.width * dpi), int(box.height * dpi)  # as savefig sizes its canvas
    out = np.empty((h, w, 4), dtype=np.uint8)
    out[...] = (to_rgba_array(fig.get_facecolor())[0] * 255).round().astype(np.uint8)
    top = pixels.shape[0] - (y0 + h)  # image rows run top down, display y bottom up
    r0, r1 = max(top, 0), min(top + h, pixels.shape[0])
    c0, c1 = max(x0, 0), min(x0 + w, pixels.shape[1])
    out[r0 - top:r1 - top, c0 - x0:c1 - x0] = pixels[r0:r1, c0:c1]
    Image.fromarray(out, "RGBA").save(buf, format="png")
    return buf.getvalue()


def new_figure(width: float = 7.0, height: float = 4.5) -> ChartFigure:
    """A pyplot-free Figure in the house size (inches), shown inline by Jupyter."""
    return ChartFigure(figsize=(width, height), layout="constrained")


def labels_overlap(fig, texts=None) -> list[tuple[str, str]]:
    """Pairs of text labels whose drawn boxes overlap (``texts``: default every data label
    the chart registered in ``fig.surveykit_labels``)."""
    if texts is None:
        texts = getattr(fig, "surveykit_labels", [])
    if fig.canvas is None or not hasattr(fig.canvas, "get_renderer"):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(fig)
    from matplotlib.text import Text

    renderer = fig.canvas.get_renderer()
    for tx in texts:
        if hasattr(tx, "update_positions"):   # an annotation: its text sits at an offset
            tx.update_positions(renderer)
    boxes = [(tx.get_text(), Text.get_window_extent(tx, renderer)) for tx in texts]
    out = []
    for i, (a, ba) in enumerate(boxes):
        for b, bb in boxes[i + 1:]:
            if ba.overlaps(bb):
                out.append((a, b))
    return out


def quadrant_chart(table: pd.DataFrame, *, importance_cut: float, performance_cut: float,
                   importance: str = "importance", performance: str = "performance",
                   label: str = "driver", quadrant: str = "quadrant",
                   performance_label: str = "performance", title: str | None = None,
                   labels: dict | None = None, xlim: tuple[float, float] | None = None,
                   ylim: tuple[float, float] | None = None) -> Figure:
    """Importance-performance grid: one labelled point per driver, quadrant lines and names.

    ``table`` is the ``IPAResult.table`` of one segment (columns ``driver, importance,
    performance, quadrant``). ``labels`` maps driver ids to display labels. ``xlim`` /
    ``ylim`` fix the axes (the same on every segment's page). Importance runs on a
    square-root axis, so that the many small shares do not crowd into one corner. Each
    label takes the first free place around its point, nearest first (:func:`_place_labels`),
    so no label overlaps another label or a point; where a label finds no free place, the
    points are numbered instead and the names listed beside the chart.

    Examples
    --------
    >>> t = pd.DataFrame({"driver": ["a", "b"], "importance": [60.0, 40.0],
    ...                   "performance": [6.0, 8.0],
    ...                   "quadrant": ["act here", "possible overkill"]})
    >>> fig = quadrant_chart(t, importance_cut=50, performance_cut=7)
    >>> fig.axes[0].get_xlabel(), labels_overlap(fig)
    ('importance (% of explained variance)', [])
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    labels = labels or {}
    xs = np.asarray(table[importance], dtype=float)
    ys = np.asarray(table[performance], dtype=float)
    names = [str(labels.get(r, r)) for r in table[label]]
    with house_style():
        fig = new_figure(7.5, 5.5)
        FigureCanvasAgg(fig)
        ax = fig.subplots()
        colors = [QUADRANT_COLORS.get(q, MEANING_COLORS["ns"]) for q in table[quadrant]]
        ax.scatter(xs, ys, s=55, c=colors, zorder=3, edgecolors="white", linewidths=0.6)
        ax.axvline(importance_cut, color="#4d4d4d", lw=1, ls="--", zorder=2)
        ax.axhline(performance_cut, color="#4d4d4d", lw=1, ls="--", zorder=2)
        if xlim is None:
            xlim = (0.0, float(np.ceil((max(xs.max(), importance_cut) * 1.1) / 10) * 10))
        if ylim is None:
            ypad = max(np.ptp(ys) * 0.12, 1e-9)
            ylim = (min(ys.min(), performance_cut) - ypad,
                    max(ys.max(), performance_cut) + ypad)
        ax.set_xscale("function", functions=(_sqrt, np.square))
        ax.set_xlim(max(float(xlim[0]), 0.0), float(xlim[1]))
        ticks = [v for v in (0, 1, 2, 5, 10, 20, 30, 40, 50, 60, 80, 100) if v <= xlim[1]]
        ax.set_xticks(ticks, [f"{v:g}" for v in ticks])
        ax.set_ylim(*ylim)
        ax.set_xlabel("importance (% of explained variance)")
        ax.set_ylabel(performance_label)
        ax.set_title(_title(title or "Importance vs performance"))
        fixed = quadrant_names(ax, importance_cut, performance_cut)
        order = list(np.argsort(-xs, kind="stable"))
        texts = _place_labels(ax, xs, ys, [names[i] for i in order], order, fixed)
        if texts is None:  # shorter, one-line names
            texts = _place_labels(ax, xs, ys, [textwrap.shorten(names[i].replace("\n", " "),
                                                                26, placeholder="…")
                                               for i in order], order, fixed)
        if texts is None:  # no room for the names: numbers at the points, a key beside
            texts = _place_labels(ax, xs, ys, [str(k) for k in range(1, len(order) + 1)],
                                  order, fixed, fontsize=8) or []
            key = "\n".join(f"{k}. {names[i]}" for k, i in enumerate(order, start=1))
            fig.text(1.02, 0.5, key, ha="left", va="center", fontsize=8.5,
                     transform=ax.transAxes)
        fig.surveykit_labels = texts
    return fig


def _sqrt(x):
    return np.sqrt(np.clip(x, 0, None))


def quadrant_names(ax, cut_x: float, cut_y: float) -> list:
    """Name the quadrants of an importance-performance chart cut at ``(cut_x, cut_y)``
    (data units) as the SVG chart does (:func:`surveykit.charts.quadrant.corner_layout`):
    each in its outer corner inside its own quadrant, on two lines or smaller where the
    quadrant is narrow, never across a cut line. Fixes the figure's layout first (names
    and labels are placed in display space). Returns the texts."""
    from .charts._text import Box
    from .charts.quadrant import corner_layout

    fig = ax.figure
    if fig.canvas is None or not hasattr(fig.canvas, "get_renderer"):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(fig)
    fig.canvas.draw()
    fig.set_layout_engine("none")
    px = fig.dpi / 72                                   # display pixels per point
    height = fig.bbox.height                            # display y runs up; the layout's down
    bb = ax.get_window_extent()
    frame = Box(bb.x0, height - bb.y1, bb.x1, height - bb.y0)
    cx, cy = ax.transData.transform((cut_x, cut_y))
    texts = []
    for name, text, size, x, y, ha, va in corner_layout(
            frame, cx, height - cy, sizes=(8 * px, 7.5 * px, 7 * px), gap=3 * px):
        texts.append(ax.text((x - bb.x0) / bb.width, (height - y - bb.y0) / bb.height, text,
                             transform=ax.transAxes, ha=ha, va=va, fontsize=size / px,
                             color=QUADRANT_COLORS[name], fontweight="bold", alpha=0.9,
                             linespacing=1.2))
    return texts


def _place_labels(ax, xs, ys, names, order, fixed=(), *, fontsize: float = 8.5):
    """Put each label (in ``order``: the most important point first) at the first place
    around its point, nearest first, where it overlaps no label placed before, no point,
    no ``fixed`` text and stays inside the axes; a thin line joins a label set further
    out to its point. Returns the labels, or None (nothing drawn) when one finds no place.
    """
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    pts = ax.transData.transform(np.column_stack([xs, ys]))
    r = 5.0  # marker radius in pixels, with a margin
    from matplotlib.text import Text
    from matplotlib.transforms import Bbox

    marks = [Bbox([[x - r, y - r], [x + r, y + r]]) for x, y in pts]
    taken = [tx.get_window_extent(renderer) for tx in fixed]
    dirs = [(1, 0.35), (1, -0.35), (-1, 0.35), (-1, -0.35), (0, 1), (0, -1), (1, 1),
            (-1, 1), (1, -1), (-1, -1)]
    placed = []
    for name, i in zip(names, order, strict=True):
        spot = None
        for dist in (5, 10, 16, 24, 34, 46):
            for dx, dy in dirs:
                ha = "left" if dx > 0 else "right" if dx < 0 else "center"
                va = "bottom" if dy > 0 else "top" if dy < 0 else "center"
                off = (dx * dist, dy * dist * 0.8)
                tx = ax.annotate(name, (xs[i], ys[i]), xytext=off, textcoords="offset points",
                                 ha=ha, va=va, fontsize=fontsize, zorder=4)
                tx.update_positions(renderer)
                box = Text.get_window_extent(tx, renderer).expanded(1.04, 1.1)
                inside = (box.x0 >= frame.x0 and box.x1 <= frame.x1 and box.y0 >= frame.y0
                          and box.y1 <= frame.y1)
                tx.remove()
                if inside and not any(box.overlaps(b) for b in taken) and \
                        not any(box.overlaps(m) for m in marks):
                    spot = (off, ha, va, box, dist)
                    break
            if spot:
                break
        if spot is None:
            for tx in placed:
                tx.remove()
            return None
        off, ha, va, box, dist = spot
        line = ({"arrowstyle": "-", "color": "#9aa5b1", "lw": 0.6, "shrinkA": 1, "shrinkB": 4}
                if dist > 10 else None)
        tx = ax.annotate(name, (xs[i], ys[i]), xytext=off, textcoords="offset points",
                         ha=ha, va=va, fontsize=fontsize, zorder=4, arrowprops=line)
        taken.append(box)
        placed.append(tx)
    return placed


def importance_chart(result, *, segment="Total", labels: dict | None = None,
                     title: str | None = None) -> Figure:
    """Horizontal bars of each driver's share of R-squared (%), with bootstrap CIs if any.

    ``result`` is a :class:`surveykit.drivers.DriverResult`.

    Examples
    --------
    >>> from surveykit.drivers import key_drivers
    >>> rng = np.random.default_rng(0)
    >>> d = pd.DataFrame(rng.normal(size=(100, 2)), columns=["a", "b"])
    >>> d["y"] = d["a"] + rng.normal(size=100)
    >>> len(importance_chart(key_drivers(d, "y", ["a", "b"])).axes)
    1
    """
    labels = labels or {}
    t = result.table[result.table["segment"] == segment].sort_values("share", ascending=False)
    with house_style():
        fig = new_figure(7.0, 0.45 * len(t) + 1.4)
        ax = fig.subplots()
        names = [str(labels.get(d, d)) for d in t["driver"]]
        vals = t["share"].to_numpy() * 100
        ax.barh(names, vals, color=PALETTE[0], zorder=2)
        if "share_ci_low" in t:
            lo = vals - t["share_ci_low"].to_numpy() * 100
            hi = t["share_ci_high"].to_numpy() * 100 - vals
            ax.errorbar(vals, names, xerr=[lo, hi], fmt="none", ecolor="#262626", lw=1,
                        capsize=3, zorder=3)
        ax.invert_yaxis()
        ax.set_xlabel("share of R² (%)")
        mod = result.models[result.models["segment"] == segment].iloc[0]
        ax.set_title(_title(title or f"Drivers of {result.outcome}: {segment_name(segment)} "
                                     f"(R² = {mod['r2']:.2f}, n = {mod['n']:.0f})", 55))
    return fig


def scree_chart(parallel, *, title: str | None = None) -> Figure:
    """Scree values next to the parallel-analysis percentile (components and factors).

    ``parallel`` is a :class:`surveykit.measurement.ParallelResult`.
    """
    t = parallel.table
    with house_style():
        fig = new_figure(7.0, 4.5)
        ax = fig.subplots()
        x = t.index.to_numpy()
        ax.plot(x, t["observed_pc"], marker="o", color=PALETTE[0], label="components: data")
        ax.plot(x, t["sim_pc_pct"], ls="--", color=PALETTE[0], alpha=0.7,
                label=f"components: simulated {parallel.percentile:g}th pct")
        ax.plot(x, t["observed_fa"], marker="s", color=PALETTE[1], label="factors: data")
        ax.plot(x, t["sim_fa_pct"], ls="--", color=PALETTE[1], alpha=0.7,
                label=f"factors: simulated {parallel.percentile:g}th pct")
        ax.axhline(1.0, color="#8c8c8c", lw=0.8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=min(len(x), 15)))
        ax.set_xlabel("number")
        ax.set_ylabel("eigenvalue")
        ax.legend()
        nf, nc = int(parallel.n_factors), int(parallel.n_components)
        ax.set_title(_title(title or f"Parallel analysis: {nf} factor{'s' if nf != 1 else ''}, "
                                     f"{nc} component{'s' if nc != 1 else ''}"))
    return fig


def loadings_chart(efa_result, *, blank: float | None = None,
                   title: str | None = None) -> Figure:
    """Heat map of sorted EFA loadings; cells under ``blank`` are left unannotated."""
    import seaborn as sns

    L = efa_result.loadings
    blank = efa_result.blank if blank is None else blank
    annot = L.map(lambda v: f"{v:.2f}" if abs(v) >= blank else "")
    with house_style():
        fig = new_figure(1.2 * L.shape[1] + 3.0, 0.35 * L.shape[0] + 1.5)
        ax = fig.subplots()
        # vmin/vmax symmetric about 0 centre the diverging map (seaborn's center= would
        # re-sample the colormap and warn on matplotlib >= 3.11)
        sns.heatmap(L, annot=annot, fmt="", cmap="RdBu_r", vmin=-1, vmax=1,
                    linewidths=0.5, linecolor="white", cbar_kws={"shrink": 0.6}, ax=ax)
        ax.set_title(_title(title or f"Loadings ({efa_result.method}, "
                                     f"{efa_result.rotation})", 40))
        ax.set_ylabel("")
    return fig


def _meaning_legend(fig, ax, used, *, extra=()) -> None:
    from matplotlib.lines import Line2D

    names = {"better": "better (significant)", "worse": "worse (significant)",
             "neutral": "different (significant)", "ns": "not significant"}
    handles = list(extra) + [
        Line2D([], [], ls="", marker="o", color=MEANING_COLORS[k], label=names[k])
        for k in ("better", "worse", "neutral", "ns") if k in used]
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 4),
               fontsize=8.5)
