"""The weighting report: weights with target vs achieved margins, cells and efficiency."""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pandas as pd

from ..significance import effective_n
from .cells import _Design
from .targets import _show


class WeightingReport:
    """Weights and how they were made: target vs achieved, cells, efficiency.

    Attributes
    ----------
    weights : pd.Series
        Final weights aligned with the data's index, named ``"weight"`` (0 for excluded rows).
    converged : bool
    iterations : int
    efficiency : float
        Kish weighting efficiency, ``n_eff / n`` (0..1).
    n_eff : float
        Kish effective sample size of the weighted rows.
    """

    def __init__(self, weights: pd.Series, *, method: str, design: _Design | None = None,
                 total: float | None = None, unit: str = "percent", iterations: int = 0,
                 converged: bool = True, cap=None, tol: float | None = None,
                 calibrated: bool = True, unit_totals: np.ndarray | None = None):
        self.weights = weights
        self.method = method
        self.iterations = iterations
        self.converged = converged
        self.cap = cap
        self.tol = tol
        self.unit = unit
        self._design = design
        self._calibrated = calibrated and design is not None
        self._ut = unit_totals
        if design is not None and unit_totals is not None:
            # per-row weight is constant within a unit: statistics from the small table
            keep = unit_totals > 0
            m, ut = design.m[keep], unit_totals[keep]
            per = ut / m
            sw, sw2 = float(ut.sum()), float(np.dot(ut, per))
            self.total = sw if total is None else float(total)
            self.n = int(m.sum())
            self.n_eff = sw * sw / sw2 if sw2 > 0 else 0.0
            self.min = float(per.min()) if len(per) else float("nan")
            self.max = float(per.max()) if len(per) else float("nan")
        else:
            w = weights.to_numpy(dtype=float)
            used = w[w > 0]
            self.total = float(w.sum()) if total is None else float(total)
            self.n = int(len(used))
            self.n_eff = effective_n(used)
            self.min = float(used.min()) if len(used) else float("nan")
            self.max = float(used.max()) if len(used) else float("nan")
        self.efficiency = self.n_eff / self.n if self.n else float("nan")
        self.ratio = self.max / self.min if self.n else float("nan")
        self.max_error = float("nan")
        if design is not None and design.margins:
            ut = self._unit_totals()
            self.max_error = float(self._margins(ut)["error"].abs().max())

    # -- calibration structure for estimates.py (duck-typed there)
    def calibration_design(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """``(row_unit, unit_model_matrix, unit_base_weight)`` for calibration-aware SEs."""
        if not self._calibrated:
            return None
        d = self._design
        return d.row_unit, d.model_matrix(), d.w0

    def _unit_totals(self) -> np.ndarray:
        if self._ut is not None:
            return self._ut
        d = self._design
        ru = d.row_unit
        ok = ru >= 0
        return np.bincount(ru[ok], weights=self.weights.to_numpy(dtype=float)[ok],
                           minlength=len(d.m))

    def _margins(self, ut: np.ndarray) -> pd.DataFrame:
        d = self._design
        total = float(ut.sum())
        rows = []
        for mg in d.margins:
            nk = np.bincount(mg.cat, weights=d.m, minlength=mg.k + 1)[: mg.k]
            bk = np.bincount(mg.cat, weights=d.m * d.w0, minlength=mg.k + 1)[: mg.k]
            sk = np.bincount(mg.cat, weights=ut, minlength=mg.k + 1)[: mg.k]
            base = total if mg.scope is None else float(ut[mg.scope].sum())
            scale = 100.0
            for j, key in enumerate(mg.keys):
                target = mg.share[j] * scale
                achieved = sk[j] / base * scale if base > 0 else float("nan")
                rows.append({
                    "margin": mg.spec.name,
                    "variable": " x ".join(mg.spec.variables),
                    "category": ", ".join(_show(k) for k in key),
                    "n": int(nk[j]),
                    "sample_pct": nk[j] / nk.sum() * 100 if nk.sum() else float("nan"),
                    "base_pct": bk[j] / bk.sum() * 100 if bk.sum() else float("nan"),
                    "target_pct": target,
                    "achieved_pct": achieved,
                    "difference": achieved - target,
                    "error": (achieved - target) / target if target > 0 else achieved / 100,
                    "weighted_total": sk[j],
                    "mean_weight": sk[j] / nk[j] if nk[j] else float("nan"),
                })
        return pd.DataFrame(rows)

    def to_frame(self) -> pd.DataFrame:
        """Tidy table, one row per margin category: target vs achieved (percent within its
        margin), unweighted n and share, base-weighted share, weighted total, mean weight."""
        if self._design is None or not self._design.margins:
            return pd.DataFrame(columns=["margin", "variable", "category", "n", "sample_pct",
                                         "base_pct", "target_pct", "achieved_pct", "difference",
                                         "error", "weighted_total", "mean_weight"])
        return self._margins(self._unit_totals())

    @property
    def cells(self) -> pd.DataFrame:
        """One row per cell (x base weight): codes, n, base and final totals, adjustment."""
        d = self._design
        if d is None:
            return pd.DataFrame()
        out = {v: [_show(d.levels[j][c]) for c in d.unit_codes[:, j]]
               for j, v in enumerate(d.variables)}
        ut = self._unit_totals()
        bt = d.m * d.w0
        out.update({"n": d.m.astype(int), "base_weight": d.w0, "base_total": bt,
                    "weighted_total": ut})
        frame = pd.DataFrame(out)
        with np.errstate(divide="ignore", invalid="ignore"):
            frame["adjustment"] = (ut / ut.sum()) / (bt / bt.sum())
        return frame

    def with_labels(self, questionnaire) -> WeightingReport:
        """A copy whose displays (``summary()``, ``_repr_html_``) name variables and
        categories by the questionnaire's labels ("City tier", "Tier 1 city"); ``to_frame()``
        keeps the names and codes. ``Survey.from_files`` does this for you."""
        import copy

        names, values = {}, {}
        for var in self._design.variables if self._design is not None else []:
            try:
                names[var] = questionnaire.variable(var).label or var
            except (KeyError, AttributeError):
                continue
            values[var] = {_show(k): str(v) for k, v in questionnaire.labels(var).items()}
        out = copy.copy(self)
        out.variable_labels, out.value_labels = names, values
        return out

    def labelled_frame(self) -> pd.DataFrame:
        """:meth:`to_frame` with the variable and category labels beside the names and codes
        (columns ``variable_label`` and ``category_label``)."""
        t = self.to_frame()
        names = getattr(self, "variable_labels", {}) or {}
        values = getattr(self, "value_labels", {}) or {}

        def var_label(v: str) -> str:
            return " x ".join(names.get(p, p) for p in v.split(" x "))

        def cat_label(v: str, c: str) -> str:
            parts, codes = v.split(" x "), c.split(", ")
            if len(parts) != len(codes):
                return c
            return ", ".join(values.get(p, {}).get(k, k)
                             for p, k in zip(parts, codes, strict=True))

        t.insert(t.columns.get_loc("variable") + 1, "variable_label",
                 [var_label(v) for v in t["variable"]])
        t.insert(t.columns.get_loc("category") + 1, "category_label",
                 [cat_label(v, c) for v, c in zip(t["variable"], t["category"], strict=True)])
        return t

    def summary(self) -> str:
        """The key figures in one short text: margins, convergence, efficiency, n_eff,
        weight range and the largest relative error, rounded for reading (the raw numbers
        are in :meth:`summary_frame` and :meth:`to_frame`)."""
        s = self.summary_frame()
        names = getattr(self, "variable_labels", {}) or {}
        t = self.to_frame()
        margins = [" x ".join(names.get(p, p) for p in v.split(" x "))
                   for v in dict.fromkeys(t["variable"])]
        lines = [f"Weighting ({self.method}): n = {self.n:,}"
                 + (f" ({s['n_excluded']:,} excluded, weight 0)" if s["n_excluded"] else "")
                 + (f", raked to {', '.join(margins)}" if margins else "")]
        lines.append(f"{'converged' if self.converged else 'did NOT converge'} after "
                     f"{self.iterations} iterations; largest error {_error(self.max_error)}")
        lines.append(f"efficiency {_num(self.efficiency, 2)}, n_eff {_num(self.n_eff, 0)}, "
                     f"weights {_num(self.min, 2)} to {_num(self.max, 2)} "
                     f"(ratio {_num(self.ratio, 1)})")
        return "\n".join(lines)

    def summary_frame(self) -> pd.Series:
        """Key figures: n, total, min / max / ratio, efficiency, n_eff, iterations..."""
        return pd.Series({
            "method": self.method, "n": self.n,
            "n_excluded": self._design.n_excluded if self._design else 0,
            "total": self.total, "min": self.min, "max": self.max, "ratio": self.ratio,
            "efficiency": self.efficiency, "n_eff": self.n_eff, "iterations": self.iterations,
            "converged": self.converged, "max_error": self.max_error,
            "engine": self._design.engine if self._design else None,
            "cap": self.cap,
        }, name="weighting")

    def __repr__(self) -> str:
        return (f"WeightingReport({self.method}, n={self.n}, efficiency={self.efficiency:.3f}, "
                f"n_eff={self.n_eff:.1f}, min={self.min:.4g}, max={self.max:.4g}, "
                f"iterations={self.iterations}, converged={self.converged})")

    def _repr_html_(self) -> str:
        s = self.summary_frame()
        head = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_fmt(k, v))}</td>"
                       "</tr>" for k, v in s.items() if v is not None)
        table = self.labelled_frame()
        if len(table):
            table = table.assign(variable=table.pop("variable_label"),
                                 category=table.pop("category_label"))
            table = table.drop(columns=["error"])
        body = table.to_html(index=False, float_format=lambda v: _num(v, 2),
                             border=0, classes="surveykit-weighting") if len(table) else ""
        return (f"<div><strong>Weighting report</strong> ({html.escape(self.method)})"
                f"<table>{head}</table>{body}</div>")


def _num(v: float, digits: int) -> str:
    """``v`` rounded for display, never "-0" (``-1e-15`` -> ``"0.00"``)."""
    if v is None or not np.isfinite(v):
        return str(v)
    return f"{round(float(v), digits) + 0.0:,.{digits}f}"


def _error(v: float) -> str:
    """The largest relative margin error for reading: ``3.4e-16`` -> ``"< 0.01%"``."""
    if v is None or not np.isfinite(v):
        return "n/a"
    return "< 0.01%" if abs(v) < 5e-5 else f"{100 * abs(v):.2f}%"


_DIGITS = {"total": 1, "min": 3, "max": 3, "ratio": 2, "efficiency": 3, "n_eff": 1}


def _fmt(key: str, v: Any) -> str:
    if key == "max_error":
        return _error(v)
    if isinstance(v, float):
        return _num(v, _DIGITS.get(key, 3))
    return str(v)

