"""Charts in one house style (seaborn on matplotlib).

Every chart function draws on a new :class:`matplotlib.figure.Figure` (not through
``pyplot``), so it works with any backend, including Agg on a server, keeps no global
figure state, and returns the Figure (Jupyter shows it; ``fig.savefig(...)`` writes it).
The house style is applied inside each function (``house_style()``); ``set_style()`` makes
it the session default for other charts too.
"""

from __future__ import annotations

import contextlib
import textwrap
from collections.abc import Iterator

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

__all__ = ["PALETTE", "QUADRANT_COLORS", "set_style", "house_style", "new_figure", "segment_name",
           "quadrant_chart", "importance_chart", "scree_chart", "loadings_chart",
           "comparison_chart"]

#: Categorical palette: ink blue first, then muted, colour-blind-safe companions.
PALETTE = ["#1f4e79", "#e07b39", "#3a9e8f", "#c44e52", "#8172b3", "#937860", "#da8bc3",
           "#8c8c8c", "#ccb974", "#64b5cd"]
#: Colours of the importance-performance quadrants.
QUADRANT_COLORS = {"act here": "#c44e52", "keep up the good work": "#3a9e8f",
                   "low priority": "#8c8c8c", "possible overkill": "#e07b39"}
_RC = {
    "figure.dpi": 100, "savefig.dpi": 150, "savefig.bbox": "tight",
    "font.size": 10, "axes.titlesize": 12, "axes.titleweight": "bold",
    "axes.titlelocation": "left", "axes.labelsize": 10, "axes.spines.top": False,
    "axes.spines.right": False, "axes.edgecolor": "#4d4d4d", "axes.labelcolor": "#262626",
    "xtick.color": "#4d4d4d", "ytick.color": "#4d4d4d", "grid.color": "#e6e6e6",
    "legend.frameon": False,
}


def set_style() -> None:
    """Make the house style the session default (seaborn theme, palette, rc settings).

    Examples
    --------
    >>> set_style()
    """
    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE, rc=_RC)


@contextlib.contextmanager
def house_style() -> Iterator[None]:
    """Context manager applying the house style temporarily (used by every chart)."""
    with sns.axes_style("whitegrid", rc=_RC), rc_context(_RC), sns.color_palette(PALETTE):
        yield


def segment_name(value) -> str:
    """A segment code as text: ``2.0`` -> ``"2"`` (codes read from CSV are floats)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _title(text: str, width: int = 70) -> str:
    return textwrap.fill(text, width)


def new_figure(width: float = 7.0, height: float = 4.5) -> Figure:
    """A pyplot-free Figure in the house size (inches)."""
    return Figure(figsize=(width, height), layout="constrained")


def quadrant_chart(table: pd.DataFrame, *, importance_cut: float, performance_cut: float,
                   importance: str = "importance", performance: str = "performance",
                   label: str = "driver", quadrant: str = "quadrant",
                   performance_label: str = "performance", title: str | None = None,
                   labels: dict | None = None) -> Figure:
    """Importance-performance grid: one labelled point per driver, quadrant lines and names.

    ``table`` is the ``IPAResult.table`` of one segment (columns ``driver, importance,
    performance, quadrant``). ``labels`` maps driver ids to display labels.

    Examples
    --------
    >>> t = pd.DataFrame({"driver": ["a", "b"], "importance": [60.0, 40.0],
    ...                   "performance": [6.0, 8.0],
    ...                   "quadrant": ["act here", "possible overkill"]})
    >>> fig = quadrant_chart(t, importance_cut=50, performance_cut=7)
    >>> fig.axes[0].get_xlabel()
    'importance (% of R²)'
    """
    labels = labels or {}
    with house_style():
        fig = new_figure(7.5, 5.5)
        ax = fig.subplots()
        sns.scatterplot(data=table, x=importance, y=performance, hue=quadrant,
                        palette=QUADRANT_COLORS, s=70, ax=ax, legend=True, zorder=3)
        for _, r in table.iterrows():
            ax.annotate(str(labels.get(r[label], r[label])), (r[importance], r[performance]),
                        xytext=(5, 4), textcoords="offset points", fontsize=8.5)
        ax.axvline(importance_cut, color="#4d4d4d", lw=1, ls="--", zorder=2)
        ax.axhline(performance_cut, color="#4d4d4d", lw=1, ls="--", zorder=2)
        xs = np.asarray(table[importance], dtype=float)
        ys = np.asarray(table[performance], dtype=float)
        xpad = max(np.ptp(xs) * 0.12, 1e-9)
        ypad = max(np.ptp(ys) * 0.12, 1e-9)
        ax.set_xlim(min(xs.min(), importance_cut) - xpad, max(xs.max(), importance_cut) + xpad)
        ax.set_ylim(min(ys.min(), performance_cut) - ypad,
                    max(ys.max(), performance_cut) + ypad)
        corners = {"act here": (0.98, 0.02, "right", "bottom"),
                   "keep up the good work": (0.98, 0.98, "right", "top"),
                   "low priority": (0.02, 0.02, "left", "bottom"),
                   "possible overkill": (0.02, 0.98, "left", "top")}
        for name, (x, y, ha, va) in corners.items():
            ax.text(x, y, name.upper(), transform=ax.transAxes, ha=ha, va=va, fontsize=8,
                    color=QUADRANT_COLORS[name], fontweight="bold", alpha=0.9)
        ax.set_xlabel("importance (% of R²)")
        ax.set_ylabel(performance_label)
        ax.set_title(_title(title or "Importance vs performance"))
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    return fig


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
        ax.set_title(_title(title or f"Parallel analysis: {parallel.n_factors} factor(s), "
                                     f"{parallel.n_components} component(s)"))
    return fig


def loadings_chart(efa_result, *, blank: float | None = None,
                   title: str | None = None) -> Figure:
    """Heat map of sorted EFA loadings; cells under ``blank`` are left unannotated."""
    L = efa_result.loadings
    blank = efa_result.blank if blank is None else blank
    annot = L.map(lambda v: f"{v:.2f}" if abs(v) >= blank else "")
    with house_style():
        fig = new_figure(1.2 * L.shape[1] + 3.0, 0.35 * L.shape[0] + 1.5)
        ax = fig.subplots()
        sns.heatmap(L, annot=annot, fmt="", cmap="RdBu_r", vmin=-1, vmax=1, center=0,
                    linewidths=0.5, linecolor="white", cbar_kws={"shrink": 0.6}, ax=ax)
        ax.set_title(_title(title or f"Loadings ({efa_result.method}, "
                                     f"{efa_result.rotation})", 40))
        ax.set_ylabel("")
    return fig


def comparison_chart(table: pd.DataFrame, *, value: str = "estimate",
                     reference: str = "total", label: str = "label",
                     significant: str | None = None, value_name: str = "Segment",
                     reference_name: str = "Total", xlabel: str = "mean rating",
                     title: str | None = None) -> Figure:
    """Dot plot of one group against a reference, one row per item (e.g. attributes).

    ``table`` has a row per item with the group's ``value`` and the ``reference`` value;
    a boolean ``significant`` column fills the group's dot (hollow when not significant).
    Rows are drawn in table order, first at the top.

    Examples
    --------
    >>> t = pd.DataFrame({"label": ["a", "b"], "estimate": [7.0, 6.0], "total": [6.5, 6.4],
    ...                   "significant": [True, False]})
    >>> fig = comparison_chart(t, significant="significant")
    >>> [tx.get_text() for tx in fig.axes[0].get_yticklabels()]
    ['a', 'b']
    """
    t = table.reset_index(drop=True)
    y = np.arange(len(t))[::-1]
    sig = (t[significant].astype(bool).to_numpy() if significant is not None
           else np.ones(len(t), bool))
    with house_style():
        fig = new_figure(7.5, 0.32 * len(t) + 1.4)
        ax = fig.subplots()
        ax.hlines(y, t[[value, reference]].min(axis=1), t[[value, reference]].max(axis=1),
                  color="#c8c8c8", lw=2, zorder=1)
        ax.scatter(t[reference], y, marker="|", s=180, color="#4d4d4d", zorder=2,
                   label=reference_name)
        ax.scatter(t[value][sig], y[sig], s=55, color=PALETTE[0], zorder=3,
                   label=f"{value_name} (significant)")
        ax.scatter(t[value][~sig], y[~sig], s=55, facecolors="white", edgecolors=PALETTE[0],
                   zorder=3, label=f"{value_name} (not significant)")
        ax.set_yticks(y, [str(v) for v in t[label]])
        ax.set_xlabel(xlabel)
        ax.grid(axis="y", visible=False)
        ax.set_title(title or f"{value_name} vs {reference_name}")
        fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=3,
                   fontsize=8.5)
    return fig
