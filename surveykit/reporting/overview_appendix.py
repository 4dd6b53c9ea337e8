"""The overview's appendix for analysts: the weighting report, reliability and the factor
structure (factors named by their top items).

A mixin of :class:`surveykit.reporting.overview.Overview`; numbers from
:mod:`surveykit.weighting` and :mod:`surveykit.measurement` (loaded when a section is
built).
"""

from __future__ import annotations

import warnings

import pandas as pd

from .._util import lower_first
from ..errors import SurveykitWarning
from .names import value_text
from .narrative import join_words, plural
from .section import EXPECTED_ERRORS as _EXPECTED
from .section import Section

__all__ = ["OverviewAppendix"]


class OverviewAppendix:
    """The overview's appendix sections; expects the attributes of ``Overview``."""

    # -- weighting -------------------------------------------------------------------------
    def weighting(self) -> Section:
        """Target vs achieved shares, weight range and efficiency."""
        s = Section("weighting", "Weighting")
        rep = self.survey.weighting
        if rep is None:
            s.findings.append("The data were not weighted to population targets"
                              + (" (design weights only)." if self.weights else "."))
            return s
        summ = rep.summary_frame()
        t = rep.to_frame()
        s.findings.append(
            f"{int(summ['n']):,} respondents were raked to {t['margin'].nunique()} margins "
            f"({join_words([lower_first(self._label(v)) for v in dict.fromkeys(t['variable'])])}); "
            f"{'converged' if summ['converged'] else 'did NOT converge'} after "
            f"{int(summ['iterations'])} iterations.")
        s.findings.append(
            f"Weighting efficiency {100 * summ['efficiency']:.0f}% (effective base "
            f"{summ['n_eff']:,.0f}); weights range {summ['min']:.2f} to {summ['max']:.2f} "
            f"(ratio {summ['ratio']:.1f})"
            + (f"; {plural(int(summ['n_excluded']), 'respondent')} with a missing weighting "
               "variable got weight 0." if summ.get("n_excluded") else "."))
        show = pd.DataFrame({
            "Variable": t["variable"].map(self._label),
            "Category": [self._cat(v, c) for v, c in zip(t["variable"], t["category"],
                                                         strict=True)],
            "n": t["n"].map(lambda v: f"{int(v):,}"),
            "Sample %": t["sample_pct"].map(lambda v: f"{v:.1f}"),
            "Target %": t["target_pct"].map(lambda v: f"{v:.1f}"),
            "Achieved %": t["achieved_pct"].map(lambda v: f"{v:.1f}"),
            "Mean weight": t["mean_weight"].map(lambda v: f"{v:.2f}")})
        s.tables.append(("Weighting margins: sample, target and achieved shares", show))
        return s

    def _cat(self, var, code) -> str:
        labels = self.survey.labels(var)
        for k, v in labels.items():
            if value_text(k) == value_text(code):
                return str(v)
        return value_text(code)

    # -- reliability and factor structure --------------------------------------------------
    def reliability(self) -> Section:
        """Cronbach's alpha and omega of every reflective construct in the questionnaire
        (formative, ``mode: B``, ones are left out with a note)."""
        from ..measurement import reliability_table
        from ..measurement.reliability import FORMATIVE

        s = Section("reliability", "Reliability")
        if not self.q.constructs:
            s.findings.append("The questionnaire declares no constructs.")
            return s
        if all(c.mode == "B" for c in self.q.constructs):
            s.findings.append("Every construct is formative (mode B), so there is no "
                              "internal consistency to report.")
            return s
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SurveykitWarning)
            try:
                t = reliability_table(self.df, self.q, weights=self.weights)
            except _EXPECTED as exc:
                s.findings.append(f"Reliability could not be computed: {exc}")
                return s
        formative = [c.label or c.id for c in self.q.constructs if c.id in t.attrs["left_out"]]
        if formative:
            s.notes.append(f"Left out: {join_words(formative)}, formative (mode B in the path "
                           f"model): {FORMATIVE}; as plspm, reliability is reported for "
                           "reflective constructs only.")
        weak = t[t["alpha"] < 0.7]
        weak_list = [f"{r.label} ({r.alpha:.2f})" for r in weak.itertuples()]
        s.findings.append(
            f"{len(t) - len(weak)} of {len(t)} constructs reach Cronbach's alpha ≥ 0.70"
            + (f"; below it: {join_words(weak_list)}." if len(weak) else "."))
        show = pd.DataFrame({
            "Construct": t["label"], "Items": t["n_items"],
            "Alpha": t["alpha"].map(lambda v: f"{v:.2f}"),
            "Omega total": t["omega_total"].map(lambda v: "" if pd.isna(v) else f"{v:.2f}"),
            "n": t["n"].map(lambda v: f"{int(v):,}"),
            "Weakest item": t["weakest_item"].map(self._label)})
        s.tables.append(("Reliability by construct", show))
        s.notes.append("Missing answers: each correlation uses the respondents who answered "
                       "both items (pairwise, as R psych); n is the fewest behind one "
                       "correlation. Nothing is imputed.")
        return s

    def _battery(self) -> list[str]:
        """Items of the factor analysis: the report's battery, else the constructs' items."""
        from ..measurement import from_questionnaire

        items = [c for c in self.spec.battery if c in self.df.columns]
        if not items and self.q.constructs and self.spec.constructs:
            model = from_questionnaire(self.q, self.spec.constructs)["model"]
            items = [i for i in dict.fromkeys(i for its in model.values() for i in its)
                     if i in self.df.columns]
        return items

    def factor_structure(self) -> Section:
        """Parallel analysis and an oblimin EFA of the battery (reverse keys applied)."""
        from ..measurement import efa, from_questionnaire, max_factors, parallel_analysis

        s = Section("factor_structure", "Factor structure")
        items = self._battery()
        if len(items) < 3:
            s.findings.append(f"A factor analysis needs at least 3 rated items; the report's "
                              f"battery has {len(items)} (declare report.battery).")
            return s
        keys = from_questionnaire(self.q, items=items)
        rev = keys["reverse"]
        kw = {"weights": self.weights, "reverse": rev or None,
              "scale_range": keys["scale_range"]}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SurveykitWarning)
            try:
                pa = parallel_analysis(self.df, items, **kw)
                # the most factors the items identify (df >= 0): 1 from 3 or 4 items
                k = min(max(1, int(pa.n_factors)), max_factors(len(items)))
                fa = efa(self.df, items, k, **kw)
            except _EXPECTED as exc:
                s.findings.append(f"The factor analysis could not be run: {exc}")
                return s
        fewer = (f"; {len(items)} items identify at most {plural(k, 'factor')} (a factor "
                 f"model with more has negative degrees of freedom), so" if k < pa.n_factors
                 else ";")
        s.findings.append(f"Parallel analysis of the {len(items)} rated items suggests "
                          f"{pa.n_factors} factor{'s' if pa.n_factors != 1 else ''} "
                          f"(n = {pa.n:,}){fewer} the oblimin solution below uses {k}"
                          + (f", with {len(rev)} reverse-keyed item"
                             f"{'s' if len(rev) != 1 else ''} re-coded first" if rev else "")
                          + ".")
        L = fa.loadings
        names = self.factor_names(L)
        main = L.abs().idxmax(axis=1)
        groups = []
        for f in L.columns:
            own = [lower_first(self._label(i)) for i in
                   L.loc[main[main == f].index, f].abs().sort_values(ascending=False).index]
            if own:
                others = own[2:]
                groups.append(names[f] + (f" (with {join_words(others)})" if others else ""))
        s.findings.append(f"The items group into {plural(len(groups), 'factor')}, each named by "
                          "its two strongest items: " + "; ".join(groups) + ".")
        empty = [names[f] for f in L.columns if not (main == f).any()]
        if empty:
            s.findings.append(f"{join_words(list(map(str, empty)))} "
                              f"{'is' if len(empty) == 1 else 'are'} no item's main factor.")
        show = L.rename(columns=names)
        show.index = [self._label(i) for i in show.index]
        show = show.map(lambda v: "" if abs(v) < 0.3 else f"{v:.2f}").rename_axis("Item") \
            .reset_index()
        s.tables.append(("Pattern loadings (|loading| < 0.30 blank)", show))
        try:
            s.figures.append(pa.chart())
        except Exception:  # noqa: BLE001 - a chart never stops the report
            pass
        s.notes.append("Factors are named by their two highest-loading items (the analysis "
                       "labels them " + join_words(list(map(str, L.columns))) + ").")
        return s

    def factor_names(self, loadings: pd.DataFrame) -> dict:
        """Each factor (column of ``loadings``) named by its two highest-loading items, e.g.
        ``"Processor (CPU) performance / Graphics performance"``; unique."""
        from .._util import shorten

        out, used = {}, set()
        for f in loadings.columns:
            top = loadings[f].abs().sort_values(ascending=False).index[:2]
            labels = [shorten(self._label(i), 40) for i in top]
            name = " & ".join([labels[0], *map(lower_first, labels[1:])])
            k, base = 2, name
            while name in used:
                name, k = f"{base} ({k})", k + 1
            used.add(name)
            out[f] = name
        return out
