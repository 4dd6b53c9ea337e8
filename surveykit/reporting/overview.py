"""Whole-sample overview: the sections of ``notebooks/overview.ipynb``.

Segment comparison of the key metrics, the weighting report, reliability and factor
structure, and the banner tables; each section opens with key-finding sentences. All
numbers come from :mod:`surveykit.estimates`, :mod:`surveykit.weighting`,
:mod:`surveykit.measurement` and :mod:`surveykit.tables`.
"""

from __future__ import annotations

import html
import time
import warnings
from datetime import date
from pathlib import Path

import pandas as pd

from ..errors import ReportError, SurveykitWarning
from .names import value_text
from .narrative import fmt_value, join_words
from .section import EXPECTED_ERRORS as _EXPECTED
from .section import SIG_DOWN, SIG_UP, Section, SectionPlan
from .spec import ReportSpec

__all__ = ["Overview", "write_tabbook", "TABBOOK"]

#: file name of the Excel tab book a report run writes beside ``index.html``
TABBOOK = "tabbook.xlsx"


class Overview(SectionPlan):
    """The whole-sample overview of a prepared survey.

    Parameters
    ----------
    survey : Survey
    segment_by : str
        The segment variable compared in :meth:`segment_comparison` and the banners.
    min_base : int
        Bases under this are flagged and not tested.
    spec : dict, optional
        Overrides of the questionnaire's ``report:`` block (see :meth:`ReportSpec.resolve`).

    Examples
    --------
    >>> from surveykit.reporting import open_survey
    >>> survey = open_survey(None, questionnaire="questionnaires/pc_customers.yaml",
    ...                      data="data/demo/responses.csv",
    ...                      targets="data/demo/targets.yaml")
    >>> ov = Overview(survey, "segment")
    >>> section = ov.segment_comparison()
    >>> print(section)
    Segment comparison
    - Overall satisfaction: best Young professionals (8.0), weakest Older users (6.1); total 7.1.
    - NPS: best Young professionals (+42), weakest Older users (-29); total +10.
    - Repurchase intent: best Young professionals (71%), weakest Older users (33%); total 56%.
    >>> section.to_frame()[["Segment", "Base (n)", "NPS"]]
                      Segment Base (n)    NPS
    0                   Total    3,994    +10
    1                Students      508   ▼ +2
    2     Young professionals    1,467  ▲ +42
    3             Older users      441  ▼ -29
    4       Large enterprises      516  ▲ +32
    5                    SMEs      620    ▼ 0
    6  Government & education      442  ▲ +18
    """

    SECTIONS = {
        "segment_comparison": ("Segment comparison", "{metrics} of every segment side by "
                               "side, with significance against the rest of the sample."),
        "weighting": ("Weighting", "How the sample was weighted to the population targets: "
                      "achieved vs target shares, weight range and efficiency."),
        "reliability": ("Reliability", "Internal consistency of each construct in the "
                        "questionnaire."),
        "factor_structure": ("Factor structure", "How the rated items group into factors "
                             "(parallel analysis and an oblimin factor analysis)."),
        "banner_tables": ("Banner tables", "The questions by segment, with "
                          "column-significance letters."),
    }

    def __init__(self, survey, segment_by: str, *, min_base: int = 30,
                 spec: dict | None = None, alpha: float = 0.05):
        self.survey, self.q, self.df = survey, survey.questionnaire, survey.data
        self.weights, self.segment_by = survey.weights, segment_by
        self.min_base, self.alpha = int(min_base), alpha
        self.spec = ReportSpec.resolve(self.q, self.df.columns, segment_by=segment_by,
                                       overrides=spec)

    def left_out(self) -> dict[str, str]:
        """Sections whose inputs are missing, with the reason."""
        out = {}
        if not self.spec.metrics:
            out["segment_comparison"] = "no key metrics are declared (report.metrics)"
        if not self.q.constructs:
            out["reliability"] = "the questionnaire declares no constructs"
        if len(self._battery()[0]) < 3:
            out["factor_structure"] = ("fewer than 3 rated items in the battery "
                                       "(report.battery)")
        if not self.banner_rows():
            out["banner_tables"] = "no banner questions are in the data (report.banner)"
        return out

    def intro_fields(self) -> dict[str, str]:
        return {"metrics": join_words([m.label for m in self.spec.metrics]) or "Key metrics"}

    def _label(self, name: str) -> str:
        try:
            return self.q.variable(name).label
        except KeyError:
            return name

    def header_html(self) -> str:
        esc = html.escape
        w = self.survey.weight_array()
        eff = self.survey.meta.get("weighting_efficiency")
        return (f'<p class="sk-meta"><a href="index.html">&larr; all segments</a></p>'
                f"<h1>{esc(self.q.title)}: overview</h1>"
                f'<p class="sk-meta">{len(self.df):,} respondents &middot; '
                f"{'weighted' if self.weights else 'unweighted'}"
                + (f" (efficiency {100 * eff:.0f}%)" if eff is not None else "")
                + f" &middot; weighted total {w.sum():,.0f} &middot; {date.today().isoformat()}"
                  "</p>" + "".join(f'<p class="sk-note">Not shown: '
                                   f"{esc(self.SECTIONS[k][0])}, because {esc(why)}.</p>"
                                   for k, why in self.left_out().items()))

    # -- 1 ------------------------------------------------------------------------------------
    def segment_comparison(self) -> Section:
        """Key metrics of every segment, with significance against the rest of the sample."""
        from ..estimates import compare, estimate

        s = Section("segment_comparison", "Segment comparison")
        labels = self.survey.labels(self.segment_by)
        lab = {value_text(k): str(v) for k, v in labels.items()}
        metrics = [m for m in self.spec.metrics if m.column in self.df.columns]
        table: dict = {}
        notes = []
        for m in metrics:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SurveykitWarning)
                try:
                    est = m.rescale(estimate(self.df, m.column, weights=self.weights,
                                             by=self.segment_by, **m.kwargs()))
                    cmp_ = compare(self.df, m.column, by=self.segment_by, weights=self.weights,
                                   reference="total", alpha=self.alpha, **m.kwargs())
                    tot = m.rescale(estimate(self.df, m.column, weights=self.weights,
                                             **m.kwargs()))
                except _EXPECTED:
                    continue
            table.setdefault("Total", {})["Base (n)"] = f"{len(self.df):,}"
            table["Total"][m.label] = fmt_value(tot["estimate"].iloc[0], m.kind)
            ranked = est.dropna(subset=["estimate"]).sort_values(
                "estimate", ascending=not m.higher_is_better)
            if ranked.empty:
                continue
            best, worst = ranked.iloc[0], ranked.iloc[-1]
            notes.append(f"{m.label}: best {lab.get(value_text(best['group']), best['group'])} "
                         f"({fmt_value(best['estimate'], m.kind)}), weakest "
                         f"{lab.get(value_text(worst['group']), worst['group'])} "
                         f"({fmt_value(worst['estimate'], m.kind)}); total "
                         f"{fmt_value(tot['estimate'].iloc[0], m.kind)}")
            for _, r in est.iterrows():
                name = lab.get(value_text(r["group"]), value_text(r["group"]))
                c = cmp_[cmp_["group"].map(value_text) == value_text(r["group"])]
                cell = fmt_value(r["estimate"], m.kind)
                row = table.setdefault(name, {})
                row["Base (n)"] = f"{int(r['n']):,}"
                if int(r["n"]) < self.min_base:
                    cell += " (low base)"
                elif not c.empty and bool(c["significant"].iloc[0]):
                    up = c["difference"].iloc[0] > 0
                    cell = f"{SIG_UP if up else SIG_DOWN} {cell}"
                row[m.label] = cell
        if not table:
            s.findings.append("No key metrics are available for a segment comparison.")
            return s
        frame = pd.DataFrame.from_dict(table, orient="index").rename_axis("Segment") \
            .reset_index()
        s.findings.extend(n + "." for n in notes[:3])
        s.tables.append((f"Key metrics by {self._label(self.segment_by)} (▲ / ▼: significantly "
                         f"higher / lower than the rest, p < {self.alpha:g})", frame))
        return s

    # -- 2 ------------------------------------------------------------------------------------
    def weighting(self) -> Section:
        """Target vs achieved shares, weight range and efficiency."""
        s = Section("weighting", "Weighting")
        rep = self.survey.weighting
        if rep is None:
            s.findings.append("The data were not weighted to population targets"
                              + (" (design weights only)." if self.weights else "."))
            return s
        summ = rep.summary()
        t = rep.to_frame()
        s.findings.append(
            f"{int(summ['n']):,} respondents were raked to {t['margin'].nunique()} margins "
            f"({join_words([self._label(v) for v in dict.fromkeys(t['variable'])])}); "
            f"{'converged' if summ['converged'] else 'did NOT converge'} after "
            f"{int(summ['iterations'])} iterations.")
        s.findings.append(
            f"Weighting efficiency {100 * summ['efficiency']:.0f}% (effective base "
            f"{summ['n_eff']:,.0f}); weights range {summ['min']:.2f} to {summ['max']:.2f} "
            f"(ratio {summ['ratio']:.1f})"
            + (f"; {int(summ['n_excluded'])} respondent(s) with a missing weighting variable "
               "got weight 0." if summ.get("n_excluded") else "."))
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

    # -- 3 ------------------------------------------------------------------------------------
    def reliability(self) -> Section:
        """Cronbach's alpha and omega of every construct in the questionnaire."""
        from ..measurement import reliability_table

        s = Section("reliability", "Reliability")
        if not self.q.constructs:
            s.findings.append("The questionnaire declares no constructs.")
            return s
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SurveykitWarning)
            try:
                t = reliability_table(self.df, self.q, weights=self.weights)
            except _EXPECTED as exc:
                s.findings.append(f"Reliability could not be computed: {exc}")
                return s
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
        return s

    def _battery(self) -> tuple[list[str], list[str], dict]:
        """Items of the factor analysis (the report's battery, else the constructs' items),
        the reverse-keyed ones among them and each item's scale range."""
        items = [c for c in self.spec.battery if c in self.df.columns]
        if not items:
            items = list(dict.fromkeys(i for c in self.q.constructs
                                       if c.id in self.spec.constructs for i in c.items
                                       if i in self.df.columns))
        rev = [i for c in self.q.constructs for i in self.q.construct_items(c.id)[1]]
        rev += [i for i in items if self.q.variables().get(i) is not None
                and self.q.variable(i).reverse]
        ranges = {i: (sc.low, sc.high) for i in items
                  if (sc := self.q.scale_of(i)) is not None}
        return items, [i for i in dict.fromkeys(rev) if i in items], ranges

    def factor_structure(self) -> Section:
        """Parallel analysis and an oblimin EFA of the battery (reverse keys applied)."""
        from ..measurement import efa, parallel_analysis

        s = Section("factor_structure", "Factor structure")
        items, rev, ranges = self._battery()
        if len(items) < 3:
            s.findings.append(f"A factor analysis needs at least 3 rated items; the report's "
                              f"battery has {len(items)} (declare report.battery).")
            return s
        kw = {"weights": self.weights, "reverse": rev or None,
              "scale_range": ranges or None}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SurveykitWarning)
            try:
                pa = parallel_analysis(self.df, items, **kw)
                k = max(1, int(pa.n_factors))
                fa = efa(self.df, items, k, **kw)
            except _EXPECTED as exc:
                s.findings.append(f"The factor analysis could not be run: {exc}")
                return s
        s.findings.append(f"Parallel analysis of the {len(items)} rated items suggests "
                          f"{pa.n_factors} factor{'s' if pa.n_factors != 1 else ''} "
                          f"(n = {pa.n:,}); the oblimin solution below uses {k}"
                          + (f", with {len(rev)} reverse-keyed item"
                             f"{'s' if len(rev) != 1 else ''} re-coded first" if rev else "")
                          + ".")
        L = fa.loadings
        main = L.abs().idxmax(axis=1)
        groups = [f"{f}: {join_words([self._label(i) for i in main[main == f].index][:4])}"
                  for f in L.columns if (main == f).any()]
        s.findings.append("Items load mainly as " + "; ".join(groups) + ".")
        empty = [f for f in L.columns if not (main == f).any()]
        if empty:
            s.findings.append(f"{join_words(list(map(str, empty)))} "
                              f"{'is' if len(empty) == 1 else 'are'} no item's main factor.")
        show = L.copy()
        show.index = [self._label(i) for i in show.index]
        show = show.map(lambda v: "" if abs(v) < 0.3 else f"{v:.2f}").rename_axis("Item") \
            .reset_index()
        s.tables.append(("Pattern loadings (|loading| < 0.30 blank)", show))
        try:
            s.figures.append(pa.plot())
        except Exception:  # noqa: BLE001 - a chart never stops the report
            pass
        return s

    # -- 4 ------------------------------------------------------------------------------------
    def banner_rows(self) -> list[str]:
        """The questions of the banner tables: the report's ``banner`` questions present in
        the data (default: every single, multi, rating, NPS and grid question), without the
        segment variable itself."""
        return [r for r in self.spec.banner if r != self.segment_by]

    def banner(self):
        """The :class:`~surveykit.tabbook.BannerTable` of :meth:`banner_rows` by the segment
        variable (the survey's weights, this overview's ``alpha`` and ``min_base``): the
        tables the overview page shows and ``tabbook.xlsx`` holds.

        Raises
        ------
        ReportError
            When there is no question to tabulate; errors of
            :func:`surveykit.tables.banner` pass through.
        """
        from ..tables import banner

        rows = self.banner_rows()
        if not rows:
            raise ReportError("no questions to tabulate: none of the report's banner "
                              "questions is in the data (declare report.banner)")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SurveykitWarning)
            return banner(self.df, rows, self.segment_by, weights=self.weights,
                          questionnaire=self.q, min_base=self.min_base, alpha=self.alpha)

    def banner_tables(self) -> Section:
        """The key questions by segment, with column-significance letters."""
        s = Section("banner", "Banner tables")
        rows = self.banner_rows()
        if not rows:
            s.findings.append("No questions to tabulate.")
            return s
        try:
            b = self.banner()
        except _EXPECTED as exc:
            s.findings.append(f"The banner tables could not be built: {exc}")
            return s
        s.findings.append(
            f"{len(rows)} questions by {self._label(self.segment_by)}; letters mark columns "
            f"a cell is significantly higher than (p < {self.alpha:g}, tests on effective "
            f"bases); columns under {self.min_base} respondents are not tested.")
        s.data["banner"] = b
        s.blocks.append(b.to_html())
        return s



def write_tabbook(survey, segment_by: str, path, *, min_base: int = 30,
                  spec: dict | None = None, alpha: float = 0.05) -> dict:
    """Write the overview's banner tables (:meth:`Overview.banner`) as an Excel tab book.

    Never raises for a failed build or write: the report run records the returned entry in
    ``manifest.json`` and on the index, and carries on with its HTML pages.

    Returns
    -------
    dict
        ``label, path`` (the file name, None when nothing was written), ``status`` (``ok``,
        ``failed``, or ``skipped`` when there is no question to tabulate), ``error``,
        ``questions`` (the sheets' question ids) and ``seconds``.

    Examples
    --------
    >>> import tempfile
    >>> from surveykit.reporting import open_survey
    >>> survey = open_survey(None, questionnaire="questionnaires/pc_customers.yaml",
    ...                      data="data/demo/responses.csv",
    ...                      targets="data/demo/targets.yaml")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     entry = write_tabbook(survey, "segment", Path(tmp) / "tabbook.xlsx")
    >>> entry  # doctest: +ELLIPSIS
    {'label': 'Tab book (Excel)', 'path': 'tabbook.xlsx', 'status': 'ok', 'error': None, ...}
    >>> entry["questions"][:4]
    ['overall_sat', 'nps', 'repurchase', 'complaint']
    """
    t0 = time.monotonic()
    path = Path(path)
    entry = {"label": "Tab book (Excel)", "path": None, "status": "failed", "error": None,
             "questions": [], "seconds": None}
    try:
        ov = Overview(survey, segment_by, min_base=min_base, spec=spec, alpha=alpha)
        if not ov.banner_rows():
            entry.update(status="skipped", error="no questions to tabulate")
        else:
            b = ov.banner()
            b.to_excel(path)
            entry.update(path=path.name, status="ok", questions=b.questions)
    except Exception as exc:  # noqa: BLE001 - a tab book never stops the HTML reports
        entry["error"] = f"{type(exc).__name__}: {exc}"
    if entry["status"] != "ok":
        try:  # never leave an older run's tab book beside this run's index
            if path.is_file():
                path.unlink()
        except OSError:
            pass
    entry["seconds"] = round(time.monotonic() - t0, 3)
    return entry
