"""Importance-performance grid with named quadrants."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from .._util import resolve_weights, short_repr
from ..errors import DriverAnalysisError
from ._core import (
    QUADRANTS,
    TOTAL,
    _num,
    _validate,
)
from .importance import DriverResult, key_drivers


@dataclass(repr=False)
class IPAResult:
    """Importance-performance grid (see :func:`importance_performance`)."""

    table: pd.DataFrame              # segment, driver, importance, performance, quadrant
    cuts: pd.DataFrame               # segment, importance_cut, performance_cut
    performance: str
    drivers_result: DriverResult

    @property
    def act_here(self) -> dict:
        """``{segment: [drivers]}`` in the "act here" quadrant (high importance, low perf.)."""
        t = self.table[self.table["quadrant"] == QUADRANTS[(True, False)]]
        return {s: t[t["segment"] == s].sort_values("importance", ascending=False)["driver"]
                .tolist() for s in pd.unique(self.table["segment"])}

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> str:
        acts = "; ".join(f"{s}: {', '.join(v) or '-'}" for s, v in self.act_here.items())
        return (f"Importance-performance ({self.performance}); act here -> {acts}\n"
                f"{self.table.to_string(index=False, float_format=lambda v: f'{v:.3f}')}")

    def __repr__(self) -> str:
        return short_repr(self)

    def _repr_html_(self) -> str:
        acts = "; ".join(f"{s}: {', '.join(v) or '-'}" for s, v in self.act_here.items())
        return (f"<h4>Importance-performance ({self.performance})</h4><p><b>Act here</b>: "
                f"{acts}</p>" + self.table.to_html(index=False, float_format="%.3f"))

    def plot(self, segment=TOTAL, **kwargs):
        """Seaborn quadrant chart for ``segment``; returns the Figure (keyword arguments as
        :func:`surveykit.plots.quadrant_chart`)."""
        from ..plots import quadrant_chart

        return quadrant_chart(**self._chart_args(segment, kwargs))

    def chart(self, segment=TOTAL, **kwargs):
        """The same quadrant chart as inline SVG (:func:`surveykit.charts.quadrant_chart`),
        for HTML pages: crisp at any size, its text selectable.

        Examples
        --------
        >>> rng = np.random.default_rng(0)
        >>> d = pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "y"])
        >>> importance_performance(d, "y", ["a", "b"]).chart()
        <Chart: Importance vs performance: Total (2 drivers)>
        """
        from ..charts import quadrant_chart

        return quadrant_chart(**self._chart_args(segment, kwargs))

    def _chart_args(self, segment, kwargs: dict) -> dict:
        from ..charts import segment_name

        t = self.table[self.table["segment"] == segment]
        if t.empty:
            raise DriverAnalysisError(f"segment {segment!r} is not in the result")
        c = self.cuts[self.cuts["segment"] == segment].iloc[0]
        perf_label = ("top-2-box %" if self.performance == "top2box" else "mean rating")
        return {"table": t, "importance_cut": c["importance_cut"],
                "performance_cut": c["performance_cut"], "performance_label": perf_label,
                "title": kwargs.pop("title", "Importance vs performance: "
                                    + segment_name(segment)), **kwargs}


def importance_performance(df: pd.DataFrame, outcome: str, drivers: Sequence[str], *,
                           weights=None, by: str | None = None,
                           importance: DriverResult | None = None,
                           method: Literal["shapley", "relative_weights"] = "shapley",
                           performance: Literal["mean", "top2box"] = "mean",
                           scale_range: tuple[float, float] | None = None,
                           cuts: Literal["median", "mean"] | tuple[float, float] = "median",
                           ) -> IPAResult:
    """Importance (share of R-squared, %) against performance, with named quadrants.

    Parameters
    ----------
    importance : DriverResult, optional
        A result of :func:`key_drivers` to reuse; computed with ``method`` otherwise.
    performance : {"mean", "top2box"}
        Weighted mean rating of each driver, or the weighted % in the top two codes of
        ``scale_range`` (required then). Each driver uses every respondent who rated it.
    cuts : "median", "mean" or (importance_cut, performance_cut)
        Quadrant boundaries: the median (or mean) over drivers within each segment, or
        fixed cut points (importance in % of R-squared, performance in its own units).
        Values on a cut count as high.

    Returns
    -------
    IPAResult
        ``table`` with ``quadrant`` in {"act here", "keep up the good work",
        "low priority", "possible overkill"}; ``act_here`` names the drivers with high
        importance and low performance per segment; ``plot()`` draws the grid.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> d = pd.DataFrame(rng.integers(1, 11, size=(300, 4)).astype(float),
    ...                  columns=["a", "b", "c", "e"])
    >>> d["y"] = d["a"] + d["b"] + rng.normal(size=300)
    >>> d["a"] = d["a"] - 3
    >>> importance_performance(d, "y", ["a", "b", "c", "e"]).act_here
    {'Total': ['a']}
    """
    if performance not in ("mean", "top2box"):
        raise DriverAnalysisError(f"performance={performance!r}; use 'mean' or 'top2box'")
    if performance == "top2box":
        if scale_range is None:
            raise DriverAnalysisError("performance='top2box' needs scale_range=(min, max) to "
                                      "know the top two codes")
        top_lo = float(scale_range[1]) - 1
    drivers = _validate(df, outcome, drivers, by)
    res = importance if importance is not None else key_drivers(
        df, outcome, drivers, weights=weights, by=by, method=method)
    if importance is not None and (set(res.drivers) != set(drivers) or res.by != by):
        raise DriverAnalysisError("the importance result was computed for other drivers or "
                                  "another by=; recompute it or leave importance=None")
    w_all = resolve_weights(df, weights, error=DriverAnalysisError)
    seg = df[by].to_numpy() if by is not None else None
    rows, cut_rows = [], []
    for label in pd.unique(res.table["segment"]):
        sel = np.ones(len(df), bool) if label == TOTAL else (seg == label)
        t = res.table[res.table["segment"] == label].set_index("driver").loc[drivers]
        perf = []
        for c in drivers:
            x = _num(df, c)
            ok = sel & np.isfinite(x) & (w_all > 0)
            if not ok.any():
                perf.append(np.nan)
                continue
            v = (x[ok] >= top_lo).astype(float) * 100 if performance == "top2box" else x[ok]
            perf.append(float(np.average(v, weights=w_all[ok])))
        imp = t["share"].to_numpy() * 100
        perf = np.array(perf)
        if isinstance(cuts, str):
            if cuts not in ("median", "mean"):
                raise DriverAnalysisError(f"cuts={cuts!r}; use 'median', 'mean' or a tuple "
                                          f"(importance_cut, performance_cut)")
            agg = np.nanmedian if cuts == "median" else np.nanmean
            ic, pc = float(agg(imp)), float(agg(perf))
        else:
            try:
                ic, pc = (float(v) for v in cuts)
            except (TypeError, ValueError) as exc:
                raise DriverAnalysisError(f"cuts={cuts!r}; use 'median', 'mean' or a tuple "
                                          f"(importance_cut, performance_cut)") from exc
        cut_rows.append({"segment": label, "importance_cut": ic, "performance_cut": pc})
        for c, i_, p_ in zip(drivers, imp, perf, strict=True):
            rows.append({"segment": label, "driver": c, "importance": i_, "performance": p_,
                         "quadrant": QUADRANTS[(bool(i_ >= ic), bool(p_ >= pc))]})
    return IPAResult(table=pd.DataFrame(rows), cuts=pd.DataFrame(cut_rows),
                     performance=performance, drivers_result=res)
