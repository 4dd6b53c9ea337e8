"""Whole-sample overview: the sections of ``surveykit/reporting/notebooks/overview.ipynb``.

For stakeholders first: the segment comparison of the key metrics (a table, a chart with
confidence intervals and a segment x driver map of what drives each segment), then the
banner tables. An appendix for analysts follows (numbered A.1, A.2, ...): the weighting
report, reliability and the factor structure (factors named by their top items). Each
section opens with key-finding sentences. All numbers come from
:mod:`surveykit.estimates`, :mod:`surveykit.weighting`, :mod:`surveykit.drivers`,
:mod:`surveykit.measurement` and :mod:`surveykit.tables`.

This module holds the page (:class:`Overview`), the stakeholders' sections and the tab
book (:func:`write_tabbook`); the appendix sections are :mod:`.overview_appendix`, the path
model :mod:`.path_model`. :func:`glance_html` and :func:`index_summary` (:mod:`.glance`)
draw the same comparison at a glance for the index page from the segments' headlines
(``manifest.json``).
"""

from __future__ import annotations

import html
import re
import time
import warnings
from datetime import date
from pathlib import Path

import pandas as pd

from .._util import lower_first
from ..errors import ReportError, SurveykitWarning
from .findings_util import weighting_kw
from .glance import glance_html, index_summary
from .names import value_text
from .narrative import fmt_value, join_words
from .overview_appendix import OverviewAppendix
from .path_model import OverviewPathModel, path_model_missing
from .section import EXPECTED_ERRORS as _EXPECTED
from .section import (
    MEANING_CSS,
    SIG_DOWN,
    SIG_UP,
    Cell,
    Section,
    SectionPlan,
    colour_legend,
    meaning,
)
from .shared import SharedResults, page_key
from .spec import ReportSpec

# glance_html and index_summary live in .glance; they stay importable from here
__all__ = ["Overview", "write_tabbook", "TABBOOK", "glance_html", "index_summary"]

#: file name of the Excel tab book a report run writes beside ``index.html``
TABBOOK = "tabbook.xlsx"


class Overview(OverviewPathModel, OverviewAppendix, SectionPlan):
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
    >>> print(section)  # doctest: +NORMALIZE_WHITESPACE
    Segment comparison
    - Overall satisfaction: best Young professionals (8.0), weakest Older users (6.1); total 7.1.
    - NPS: best Young professionals (+42), weakest Older users (-29); total +10.
    - Repurchase intent: best Young professionals (71%), weakest Older users (33%); total 56%.
    - The strongest driver of overall satisfaction differs by segment: Students: price /
      value for money; Young professionals: processor (CPU) performance; Older users:
      speed of response to service requests; Large enterprises: data security; SMEs:
      price / value for money; Government & education: data security.
    >>> section.to_frame()[["Segment", "Base (n)", "NPS"]]  # doctest: +NORMALIZE_WHITESPACE
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
                               "side, with significance against the rest of the sample, and "
                               "what drives each segment."),
        "path_model": ("Path model and index scores", "The questionnaire's path model, "
                       "estimated by PLS on the whole weighted sample: path coefficients "
                       "and R², and each construct's 0-100 index score by segment."),
        "banner_tables": ("Banner tables", "The questions by segment, with "
                          "column-significance letters."),
        "weighting": ("Weighting", "How the sample was weighted to the population targets: "
                      "achieved vs target shares, weight range and efficiency."),
        "reliability": ("Reliability", "Internal consistency of each construct in the "
                        "questionnaire."),
        "factor_structure": ("Factor structure", "How the rated items group into factors "
                             "(parallel analysis and an oblimin factor analysis); each factor "
                             "is named by its top items."),
    }
    APPENDIX = ("weighting", "reliability", "factor_structure")

    def __init__(self, survey, segment_by: str, *, min_base: int = 30,
                 spec: dict | None = None, alpha: float = 0.05, wave=None, shared=None):
        if wave is not None:  # a wave report: the overview describes the reported wave
            from .trend_section import WaveChoice

            survey = WaveChoice.of(survey, wave).current
        # the banner is computed once per run, where the run prepares the data (.shared)
        self.shared = SharedResults.load(shared)
        self._data_tag = "data" if wave is None else f"data@wave={wave!r}"
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
        if len(self._battery()) < 3:
            out["factor_structure"] = ("fewer than 3 rated items in the battery "
                                       "(report.battery)")
        if path_model_missing(self.q):
            out["path_model"] = path_model_missing(self.q)
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
        from .findings_util import print_style

        esc = html.escape
        eff = self.survey.meta.get("weighting_efficiency")
        return (f'<p class="sk-meta sk-noprint"><a href="index.html">&larr; all segments</a>'
                f"</p><h1>{esc(self.q.title)}: overview</h1>"
                f'<p class="sk-meta">{len(self.df):,} respondents &middot; '
                f"{'weighted to population targets' if self.weights else 'unweighted'}"
                + (f" (weighting efficiency {100 * eff:.0f}%)" if eff is not None else "")
                + f" &middot; {date.today().isoformat()}</p>"
                + colour_legend(self.alpha)
                + "".join(f'<p class="sk-note">Not shown: '
                          f"{esc(self.SECTIONS[k][0])}, because {esc(why)}.</p>"
                          for k, why in self.left_out().items())
                + print_style(f"{self.q.title}: overview"))

    def appendix_html(self) -> str:
        """The heading that separates the analysts' appendix from the stakeholders' part
        (empty when no appendix section applies)."""
        if not any(k in self.APPENDIX for k in self.sections()):
            return ""
        return ('<div class="sk-appendix"><h1>Appendix for analysts</h1>'
                '<p class="sk-intro">How the sample was weighted, how reliable the '
                "constructs are and how the rated items group into factors: the checks "
                "behind the findings above.</p></div>")

    # -- segment comparison ----------------------------------------------------------------
    def segment_comparison(self) -> Section:
        """Key metrics of every segment, with significance against the rest of the sample."""
        from ..estimates import compare, estimate

        s = Section("segment_comparison", "Segment comparison", figures_first=False)
        labels = self.survey.labels(self.segment_by)
        lab = {value_text(k): str(v) for k, v in labels.items()}
        metrics = [m for m in self.spec.metrics if m.column in self.df.columns]
        table: dict = {}
        notes, chart = [], []
        for m in metrics:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SurveykitWarning)
                try:
                    wkw = weighting_kw(self.survey)           # the design, if declared
                    est = m.rescale(estimate(self.df, m.column, by=self.segment_by, **wkw,
                                             **m.kwargs()))
                    cmp_ = compare(self.df, m.column, by=self.segment_by, reference="total",
                                   alpha=self.alpha, **wkw, **m.kwargs())
                    tot = m.rescale(estimate(self.df, m.column, **wkw, **m.kwargs()))
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
                    d = c["difference"].iloc[0]
                    cell = Cell(f"{SIG_UP if d > 0 else SIG_DOWN} {cell}",
                                MEANING_CSS[meaning(d, 1 if m.higher_is_better else -1)])
                    chart.append({"metric": m.label, "segment": name,
                                  "meaning": meaning(d, 1 if m.higher_is_better else -1)})
                else:
                    chart.append({"metric": m.label, "segment": name, "meaning": "ns"})
                if chart and chart[-1]["segment"] == name and chart[-1]["metric"] == m.label:
                    chart[-1].update(estimate=r["estimate"], ci_low=r["ci_low"],
                                     ci_high=r["ci_high"], total=tot["estimate"].iloc[0],
                                     unit="%" if m.kind == "percent" else "")
                row[m.label] = cell
        if not table:
            s.findings.append("No key metrics are available for a segment comparison.")
            return s
        frame = pd.DataFrame.from_dict(table, orient="index", dtype=object) \
            .rename_axis("Segment") \
            .reset_index()
        s.findings.extend(n + "." for n in notes[:3])
        s.tables.append((f"Key metrics by {lower_first(self._label(self.segment_by))} "
                         f"(▲ / ▼: significantly higher / lower than the rest, "
                         f"p < {self.alpha:g})", frame))
        from .. import charts

        try:
            if chart:
                s.figures.append(charts.metrics_chart(
                    pd.DataFrame(chart), title="Key metrics by segment, with 95% confidence "
                                               "intervals (dashed: total)"))
        except Exception:  # noqa: BLE001 - a chart never stops the report
            pass
        shares, act = self.driver_map()
        if shares is not None:
            top = shares.idxmax(axis=1)
            s.findings.append(
                "The strongest driver of " + lower_first(self._label(self.spec.outcome))
                + " differs by segment: "
                + "; ".join(f"{seg}: {lower_first(str(d))}" for seg, d in top.items()) + ".")
            try:
                s.figures.append(charts.driver_heatmap(
                    shares, act, title="What drives each segment: % of the explained "
                                       "variance (red outline: act here)"))
            except Exception:  # noqa: BLE001 - a chart never stops the report
                pass
        return s

    def driver_map(self) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
        """Segments x drivers: each driver's share of the explained variance (%) in each
        segment, and the act-here flags (above-median importance, below-median
        performance); ``(None, None)`` without an outcome or drivers."""
        from ..drivers import importance_performance

        drivers = [c for c in self.spec.drivers if c in self.df.columns]
        outcome = self.spec.outcome
        if not drivers or not outcome or outcome not in self.df.columns:
            return None, None
        labels = self.survey.labels(self.segment_by)
        lab = {value_text(k): str(v) for k, v in labels.items()}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ipa = importance_performance(self.df, outcome, drivers, weights=self.weights,
                                             by=self.segment_by)
        except _EXPECTED:
            return None, None
        models = ipa.drivers_result.models
        ok = {value_text(g) for g, n in zip(models["segment"], models["n"], strict=True)
              if n >= max(self.min_base, len(drivers) + 10)}
        t = ipa.table[ipa.table["segment"].map(value_text).isin(ok)
                      & (ipa.table["segment"].map(value_text) != "Total")]
        if t.empty:
            return None, None
        t = t.assign(seg=t["segment"].map(lambda g: lab.get(value_text(g), value_text(g))),
                     name=t["driver"].map(self._label))
        order = [lab.get(value_text(g), value_text(g)) for g in labels
                 if lab.get(value_text(g), value_text(g)) in set(t["seg"])]
        cols = t.groupby("name")["importance"].mean().sort_values(ascending=False).index
        shares = t.pivot(index="seg", columns="name", values="importance").reindex(
            index=order, columns=cols)
        act = (t.assign(a=t["quadrant"] == "act here")
               .pivot(index="seg", columns="name", values="a").reindex(index=order,
                                                                        columns=cols))
        return shares, act.fillna(False).astype(bool)

    # -- banner tables ---------------------------------------------------------------------
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
        rows = self.banner_rows()
        if not rows:
            raise ReportError("no questions to tabulate: none of the report's banner "
                              "questions is in the data (declare report.banner)")
        key = page_key(self._data_tag, "banner", rows, self.spec.open_text, self.segment_by,
                       self.min_base, self.alpha)
        return self.shared.get(key, lambda: self._banner(rows))

    def _banner(self, rows: list[str]):
        from ..tables import banner
        from .answers import coded_open_question

        df, args = self.df, {"types": {}, "value_labels": {}, "labels": {}}
        for qid in self.spec.open_text:         # coded open questions: themes by segment
            coded = coded_open_question(self.q, df, qid) if qid not in rows else None
            if coded is not None:
                df, rows = coded.data, [*rows, qid]
                for key, value in coded.table_args().items():
                    args[key].update(value)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SurveykitWarning)
            return banner(df, rows, self.segment_by, questionnaire=self.q,
                          min_base=self.min_base, alpha=self.alpha,
                          **weighting_kw(self.survey), **args)

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
        qids = b.to_frame()["question"].unique()
        coded = [q for q in self.spec.open_text if q in qids and q not in rows]
        s.findings.append(
            f"{len(rows) + len(coded)} questions by {lower_first(self._label(self.segment_by))}; "
            f"letters mark columns a cell is significantly higher than (p < {self.alpha:g}, "
            f"tests on effective bases); columns under {self.min_base} respondents are not tested.")
        s.data["banner"] = b
        s.blocks.append(_tidy_banner(b.to_html(), qids))
        return s



def _tidy_banner(text: str, qids) -> str:
    """Banner HTML for a report page: captions without the question ids, no signed zero,
    each table in a box that scrolls sideways on a narrow screen."""
    for q in qids:
        text = text.replace(f"<caption>{html.escape(str(q))}: ", "<caption>")
    text = re.sub(r">[-\u2212]0(\.0+)?(%?)(?=[ <])", r">0\1\2", text)
    # means to one decimal, as everywhere else on the pages (the tab book keeps two)
    text = re.sub(r'(<tr[^>]*><td class="lab">Mean</td>.*?</tr>)',
                  lambda m: re.sub(r">(-?\d+\.\d{2,})(?=[ <])",
                                   lambda n: ">" + fmt_value(float(n.group(1)), "mean"),
                                   m.group(1)), text, flags=re.S)
    return re.sub(r'(<table class="sk-banner">.*?</table>)', r'<div class="sk-scroll">\1</div>',
                  text, flags=re.S)


def write_tabbook(survey, segment_by: str, path, *, min_base: int = 30,
                  spec: dict | None = None, alpha: float = 0.05, shared=None) -> dict:
    """Write the overview's banner tables (:meth:`Overview.banner`) as an Excel tab book.

    ``shared``: the run's shared results (:mod:`.shared`; a prepared folder), where the run
    computed the banner while preparing the data.

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
        ov = Overview(survey, segment_by, min_base=min_base, spec=spec, alpha=alpha,
                      shared=shared)
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
