"""Key drivers, the importance-performance grid and the recommendations drawn from them.

A mixin of :class:`surveykit.reporting.findings.SegmentFindings`.
"""

from __future__ import annotations

import textwrap
import warnings

import numpy as np
import pandas as pd

from .._util import lower_first, shorten
from ..errors import SurveykitWarning
from .findings_util import _pct, _shares, _top_drivers
from .names import value_text
from .narrative import (
    fmt_diff,
    fmt_p,
    fmt_value,
    join_words,
    low_base_phrase,
    upper_first,
)
from .section import EXPECTED_ERRORS as _EXPECTED
from .section import (
    Section,
    fold,
)

__all__ = ["DriverSections"]


class DriverSections:
    """Drivers and recommendations; expects the attributes and helpers of
    ``SegmentFindings``."""

    # -- 4. drivers ----------------------------------------------------------------------------
    def _ipa(self) -> dict:
        """The segment's importance-performance analysis, once: ``table`` (most important
        first, importance in % of the explained variance), ``acts`` (act-here drivers,
        most important first), ``r2``, ``n_model``, ``ipa``, ``ranges`` (one axis range per
        chart axis for every segment) or ``why`` (the sentence when there is none)."""
        if "ipa" in self._cache:
            return self._cache["ipa"]
        out: dict = {"table": None}
        drivers = [c for c in self.spec.drivers if c in self.df.columns]
        outcome = self.spec.outcome
        self._cache["ipa"] = out
        if not drivers or not outcome or outcome not in self.df.columns:
            out["why"] = ("No driver analysis: " + self.left_out().get(
                "drivers", "no outcome or driver attributes are in the data."))
            return out
        used = [outcome, *drivers, *([self.weights] if isinstance(self.weights, str) else [])]
        sub = self.df.loc[self.mask, list(dict.fromkeys(used))].reset_index(drop=True)
        if len(sub) < len(drivers) + 10:
            out["why"] = (f"Too few respondents (n = {self.n}) to estimate the importance of "
                          f"{len(drivers)} attributes; driver analysis is left out for this "
                          "segment (" + low_base_phrase(self.n, self.min_base) + ").")
            return out
        from ..drivers import importance_performance

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SurveykitWarning)
                warnings.simplefilter("ignore", RuntimeWarning)
                ipa = importance_performance(sub, outcome, drivers, weights=self.weights)
        except _EXPECTED as exc:
            out["why"] = f"The driver analysis could not be run for this segment: {exc}"
            return out
        t = ipa.table.sort_values("importance", ascending=False, kind="stable")
        models = ipa.drivers_result.models
        act_here = {x for v in ipa.act_here.values() for x in v}  # (a property: once)
        acts = [d for d in t["driver"] if d in act_here]
        out.update(table=t, acts=acts, ipa=ipa, drivers=drivers,
                   r2=float(models["r2"].iloc[0]) if "r2" in models else np.nan,
                   n_model=int(models["n"].iloc[0]) if "n" in models else self.n,
                   ranges=self._ipa_ranges(drivers, t))
        return out

    def _ipa_ranges(self, drivers, t) -> tuple | None:
        """One importance and one performance axis for the chart on every segment's page:
        the importance shares and mean ratings of all segments (cheap: one correlation
        matrix per segment)."""
        from ..charts import nice_range

        try:
            # the same for every page: computed once per run (.shared)
            imp, perf = self.shared.get(
                self._page_key("ipa_every", self.spec.outcome, drivers, self.min_base),
                lambda: self._ipa_every(drivers))
            imp, perf = [*imp, *t["importance"]], [*perf, *t["performance"]]
        except Exception:  # noqa: BLE001 - then this segment's own range
            imp, perf = list(t["importance"]), list(t["performance"])
        return (nice_range([0, *imp], step=10, pad=2, bounds=(0, 100)),
                nice_range(perf, pad=0.15))

    def _ipa_every(self, drivers) -> tuple[list, list]:
        """Importance shares and mean ratings of the drivers in every segment with at least
        the minimum base (cheap: one correlation matrix per segment)."""
        from ..drivers import importance_performance

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            every = importance_performance(self.df, self.spec.outcome, drivers,
                                           weights=self.weights, by=self.segment_by)
        tab = every.table
        big = {value_text(g) for g, n in zip(every.drivers_result.models["segment"],
                                             every.drivers_result.models["n"],
                                             strict=True) if n >= self.min_base}
        tab = tab[tab["segment"].map(value_text).isin(big)]
        return list(tab["importance"]), list(tab["performance"])

    def drivers(self) -> Section:
        """Key drivers of the declared outcome in this segment, and the IPA grid."""
        s = Section("drivers", "Key drivers and where to act")
        res = self._ipa()
        if res.get("table") is None:
            s.findings.append(res["why"])
            return s
        t, acts, ipa, outcome = res["table"], res["acts"], res["ipa"], self.spec.outcome
        drivers, n_model, r2 = res["drivers"], res["n_model"], res["r2"]
        needed = max(self.min_base, 5 * len(drivers))
        top = _top_drivers(t, 3)
        strongest = join_words(_shares([lower_first(self._var_label(d)) for d in top["driver"]],
                                       top["importance"]))
        s.findings.append(
            f"The strongest {'driver' if len(top) == 1 else 'drivers'} of "
            f"{lower_first(self._var_label(outcome))} {self.name.among} "
            f"{'is' if len(top) == 1 else 'are'} {strongest}.")
        if acts:
            s.findings.append(
                f"Act here: {join_words([lower_first(self._var_label(d)) for d in acts])} "
                f"{'is' if len(acts) == 1 else 'are'} of above-median importance for "
                f"{lower_first(self._var_label(outcome))} but rated "
                "below the segment's median performance.")
        else:
            s.findings.append("No attribute falls in the 'act here' quadrant (above-median "
                              "importance with below-median performance).")
        if n_model < needed:
            s.findings.append(f"The model rests on a low base for {len(drivers)} drivers "
                              f"(n = {n_model}, under {needed}): low base, indicative only.")
        table = pd.DataFrame({
            "Attribute": [self._var_label(d) for d in t["driver"]],
            "Share of explained variance": [_pct(v) for v in t["importance"]],
            "Performance (mean)": [fmt_value(v, "mean") for v in t["performance"]],
            "Quadrant": [upper_first(q) for q in t["quadrant"]]})
        show = (np.arange(len(t)) < 5) | t["driver"].isin(acts).to_numpy()
        fold(table, show, what="drivers of lesser importance")
        s.tables.append((f"Importance and performance, most important first (explained "
                         f"variance R² = {r2:.2f}, n = {n_model:,})", table))
        try:
            labels = {d: textwrap.fill(shorten(self._var_label(d), 48), 24) for d in drivers}
            xlim, ylim = res["ranges"] or (None, None)
            s.figures.append(ipa.chart(labels=labels, xlim=xlim, ylim=ylim,
                                      title=f"Importance vs performance: {self.label}"))
        except Exception:  # noqa: BLE001 - a chart never stops the report
            pass
        s.notes.append("Importance is each attribute's share of the variance in "
                       f"{lower_first(self._var_label(outcome))} that the attributes explain "
                       "together (Shapley decomposition of R²).")
        s.data.update({"ipa": ipa, "act_here": acts, "outcome": outcome})
        self._cache["act_here"] = acts
        return s

    # -- recommendations ------------------------------------------------------------------
    def _top_pain(self):
        """The most common pain point (row of the pain table) and who was asked."""
        pain = self._cache.get("pain")
        if pain is None:
            pain = self._option_table(self._pain_questions())
            self._cache["pain"] = pain
        if pain is None or pain.empty:
            return None
        qid = next(q for q in self._pain_questions() if (pain["question"] == q).any())
        first = pain[pain["question"] == qid]
        main = first[~first["exclusive"]]
        r = (main if not main.empty else first).iloc[0]
        return r, ("of those asked" if self._routed(qid) else "of the segment")

    def recommendations(self) -> Section:
        """What to act on, from the drivers, the attribute gaps and the pain points."""
        s = Section("recommendations", "Recommendations")
        res = self._ipa()
        acts = res.get("acts") or []
        if acts:
            one = len(acts[:3]) == 1
            named = join_words([lower_first(self._var_label(a)) for a in acts[:3]])
            s.findings.append(f"Prioritise {named}: "
                              f"{'it is' if one else 'they are'} of above-median importance "
                              f"for {lower_first(self._var_label(self.spec.outcome))} in this "
                              f"segment but "
                              f"{'performs' if one else 'perform'} below its median.")
        t = self._attribute_table()
        if t is not None and not self.low_base:
            weak = self._gaps(t, "mean", direction=-1)
            if len(weak):
                r = weak.iloc[0]
                s.findings.append(f"Close the largest gap, on {lower_first(r['label'])}: "
                                  f"{fmt_value(r['estimate'], 'mean')} vs "
                                  f"{fmt_value(r['total'], 'mean')} in total "
                                  f"({fmt_diff(r['shown_diff'], 'mean')}, {fmt_p(r['p_value'])}).")
        pain = self._top_pain()
        if pain is not None:
            r, who = pain
            s.findings.append(f"Address the most common pain point, {lower_first(r['option'])}"
                              f" ({fmt_value(r['estimate'], 'percent')} {who}).")
        if not s.findings:
            s.findings.append("The analysis points to no specific action for this segment.")
        if self.low_base:
            s.findings.append(low_base_phrase(self.n, self.min_base).capitalize() + ".")
        return s

