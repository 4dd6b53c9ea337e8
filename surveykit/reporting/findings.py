"""Per-segment findings: the sections of ``surveykit/reporting/notebooks/segment_findings.ipynb``.

Each method of :class:`SegmentFindings` calls the analysis modules (estimates, drivers,
plots) for one segment and returns a :class:`Section`: two or three key-finding sentences
generated from the results (with base and significance), then the tables and charts. The
notebook holds the headings, the explanatory text and one call per section; all the work
is here, where it is tested.

The page opens with a summary (:meth:`SegmentFindings.summary`: key-metric tiles and
three to five sentences: where the segment stands, what drives it, where to act) and the
recommendations; the numbered sections follow. Every number in a sentence is taken from
the same cached result as the table that shows it (``_metric_rows``,
``_attribute_table``, ``_ipa``, the pain-point table) and formatted by the same function;
differences are the values as shown minus the total as shown
(:func:`~.narrative.shown_diff`), and gaps are ranked by that displayed size.

The sections live in mixins: the summary, profile, key metrics and the index headline in
:mod:`.summary_sections`, attributes and construct scores in :mod:`.means`, drivers
and recommendations in :mod:`.driver_sections`, pain points, channels and sources, value
tier and lifecycle in :mod:`.answers`, the method note in :mod:`.method`; the
:class:`~.section.Section` and its HTML in :mod:`.section`.
"""

from __future__ import annotations

import html
import warnings
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from .._util import lower_first
from ..errors import ReportError, SurveykitWarning
from .answers import AnswerSections
from .driver_sections import DriverSections
from .findings_util import print_style, weighting_kw
from .means import MeanSections
from .method import MethodNote
from .names import value_text
from .narrative import (
    SegmentName,
    fmt_value,
    join_words,
    shown_diff,
    sig_phrase,
    upper_first,
)
from .path_model import SegmentPathModel, path_model_missing
from .section import (
    SIG_DOWN,
    SIG_UP,
    Section,
    SectionPlan,
    colour_legend,
)
from .shared import SharedResults, call_key, page_key
from .spec import ReportSpec
from .summary_sections import SummarySections
from .trend_section import TREND_SECTION, TrendSections, WaveChoice

__all__ = ["Section", "SegmentFindings", "open_survey", "SIG_UP", "SIG_DOWN"]


# ------------------------------------------------------------------------------------------
# opening the prepared survey
# ------------------------------------------------------------------------------------------
def open_survey(prepared=None, *, questionnaire=None, data=None, targets=None, crm=None):
    """The prepared survey the runner handed over, or (run by hand) prepare it here.

    Examples
    --------
    >>> survey = open_survey(None, questionnaire="questionnaires/pc_customers.yaml",
    ...                      data="data/demo/responses.csv",
    ...                      targets="data/demo/targets.yaml")
    >>> survey
    Survey('pc_customers', n=3994, weights='weight')
    """
    from pathlib import Path

    from ..survey import Survey

    if prepared and Path(prepared).is_dir():
        return Survey.load(prepared)
    if questionnaire is None or data is None:
        raise ReportError("give prepared= (a folder written by Survey.save) or the "
                          "questionnaire= and data= files")
    return Survey.from_files(questionnaire, data, targets=targets, crm=crm)


# ------------------------------------------------------------------------------------------
# the sections of a segment report, in the order researchers use
# ------------------------------------------------------------------------------------------
#: key -> (title, what the section shows); a section appears only when its inputs exist.
#: Recommendations are shown right after the summary, without a number.
SECTIONS = {
    "profile": ("Profile", "Who they are: the segment's base, its weighted share of the "
                "sample, and the characteristics in which it differs from the total."),
    "key_metrics": ("Key metrics", "{metrics}, with 95% confidence intervals, against the "
                    "total."),
    "trend": TREND_SECTION,             # only with --wave (surveykit.reporting.trend_section)
    "attributes": ("Attribute satisfaction", "Ratings of each attribute, highest first, "
                   "against the total."),
    "constructs": ("Construct scores", "The questionnaire's constructs, each scored as the "
                   "mean of its items, against the total."),
    "drivers": ("Key drivers and where to act", "How much each attribute contributes to "
                "{outcome} in this segment (its share of the explained variance), against "
                "how well it performs. Act here marks attributes of above-median importance "
                "and below-median performance."),
    "path_model": ("Index scores and where to act (path model)", "The 0-100 index scores "
                   "of the questionnaire's path model against the total, and each "
                   "construct's effect on the model's outcome in this segment against its "
                   "score: act here marks above-average effect with below-average score."),
    "pain_points": ("Pain points", "What frustrates the segment, ranked, with comments in "
                    "the customers' own words."),
    "channels": ("Channels and information sources", "Where they bought, and what they "
                 "consulted."),
    "value_lifecycle": ("Value tier and lifecycle", "The segment's mix of customer value "
                        "tiers and lifecycle stages from the CRM records joined to the "
                        "survey."),
    "recommendations": ("Recommendations", "Where the results point, drawn from the "
                        "sections below."),
    "method": ("Method note", ""),
}
#: unnumbered sections that open the page
FRONT = {"summary": ("Summary", "")}


# ------------------------------------------------------------------------------------------
# the findings of one segment
# ------------------------------------------------------------------------------------------
class SegmentFindings(SummarySections, TrendSections, AnswerSections, MeanSections,
                      DriverSections, SegmentPathModel, MethodNote, SectionPlan):
    """The sections of one segment's findings report.

    Parameters
    ----------
    survey : Survey
        The prepared survey (all respondents; the segment is compared with them).
    segment_by : str
        The segment variable.
    segment : scalar
        The segment's value (code or text).
    min_base : int
        Bases under this are flagged "low base" in the text and not tested.
    spec : dict, optional
        Overrides of the questionnaire's ``report:`` block (a partial block; see
        :meth:`ReportSpec.resolve`).
    alpha : float
        Significance level.
    wave : str, optional
        ``"latest"`` or a wave label, for a survey of several waves
        (:func:`surveykit.waves.survey_from_waves`): the page describes that wave, and the
        ``trend`` section compares it with the previous one.
    shared : path or SharedResults, optional
        The results every page shares (:mod:`.shared`): the prepared folder the runner
        wrote them into (``prepared``), or a store. Without it everything is computed here.

    Examples
    --------
    >>> survey = open_survey(None, questionnaire="questionnaires/pc_customers.yaml",
    ...                      data="data/demo/responses.csv",
    ...                      targets="data/demo/targets.yaml")
    >>> f = SegmentFindings(survey, "segment", 2, min_base=30)
    >>> f.label, f.n
    ('Young professionals', 1467)
    >>> print(f.key_metrics().findings[-1])  # doctest: +NORMALIZE_WHITESPACE
    4 of 4 key metrics differ significantly from the rest of the sample at the 5% level:
    overall satisfaction (higher), NPS (higher), repurchase intent (higher) and complaint
    rate (lower).
    """

    SECTIONS = SECTIONS
    FRONT = FRONT
    UNNUMBERED = ("recommendations",)
    BUILDERS = {"method": "method_note"}

    def __init__(self, survey, segment_by: str, segment, *, min_base: int = 30,
                 spec: dict | None = None, alpha: float = 0.05, wave=None,
                 shared=None):
        self.waves = None if wave is None else WaveChoice.of(survey, wave)
        if self.waves is not None:          # the page describes the chosen wave
            survey = self.waves.current
        self.survey = survey
        self.shared = SharedResults.load(shared)
        self._tags: dict[int, tuple[str, pd.DataFrame]] = {}
        # the data a shared result was computed on: the survey, or the chosen wave of it
        self._data_tag = "data" if wave is None else f"data@wave={wave!r}"
        self.q = survey.questionnaire
        self.df = survey.data
        self.weights = survey.weights
        self.segment_by = segment_by
        self.mask = survey.segment_mask(segment_by, segment).to_numpy()
        if not self.mask.any():
            present = sorted(map(value_text, pd.unique(self.df[segment_by].dropna())))
            raise ReportError(f"segment {segment!r} of {segment_by!r} has no respondents; "
                              f"values present: {present}")
        self.segment = segment
        self.min_base = int(min_base)
        self.alpha = alpha
        labels = self.q.labels(segment_by) or {}
        self.label = next((str(v) for k, v in labels.items()
                           if value_text(k) == value_text(segment)), value_text(segment))
        #: how sentences name the segment (the label or "respondents in the ... segment")
        self.name = SegmentName.of(self.label)
        self.spec = ReportSpec.resolve(self.q, self.df.columns, segment_by=segment_by,
                                       overrides=spec)
        self.w = survey.weight_array()
        self.n = int(self.mask.sum())
        self.low_base = self.n < self.min_base
        self._cache: dict[str, Any] = {}

    # -- helpers ------------------------------------------------------------------------
    def _var_label(self, name: str) -> str:
        try:
            return self.q.variable(name).label
        except KeyError:
            return name.replace("_", " ").capitalize()

    def _cat_label(self, name: str, code) -> str:
        labels = self.survey.labels(name) or {}
        for k, v in labels.items():
            if value_text(k) == value_text(code):
                return upper_first(str(v))
        return value_text(code)

    def _mine(self, frame: pd.DataFrame) -> np.ndarray:
        """Which rows of ``frame`` (an estimate/compare result with ``group``) are this
        segment's (a boolean array)."""
        want, text = value_text(self.segment), {}
        out = np.zeros(len(frame), dtype=bool)
        for i, g in enumerate(frame["group"].to_numpy(dtype=object)):  # (few distinct groups)
            key = (type(g), g)
            if key not in text:
                text[key] = value_text(g) == want
            out[i] = text[key]
        return out

    def _row(self, frame: pd.DataFrame) -> pd.Series | None:
        """The row of ``frame`` (an estimate/compare result with ``group``) for this segment."""
        if frame is None or frame.empty or "group" not in frame:
            return None
        hit = np.flatnonzero(self._mine(frame))
        return frame.iloc[hit[0]] if len(hit) else None

    def _tests(self, frame: pd.DataFrame | None, key: str = "variable") -> dict:
        """``key`` value -> ``(p_value, significant)`` of this segment's first row for it in
        ``frame`` (a :func:`compare` result; empty for None): what :meth:`_row` of the rows
        of one ``key`` value gives, for all of them at once."""
        if frame is None or frame.empty or "group" not in frame:
            return {}
        out: dict = {}
        mine = frame[self._mine(frame)]
        for k, p, sig in zip(mine[key].tolist(), mine["p_value"].to_numpy(),
                             mine["significant"].to_numpy(), strict=True):
            out.setdefault(k, (float(p), bool(sig)))
        return out

    def _tag(self, frame: pd.DataFrame, name: str) -> pd.DataFrame:
        """Name a frame derived identically on every page (e.g. with construct scores), so
        that estimates on it are shared between pages like those on the data."""
        self._tags[id(frame)] = (f"{self._data_tag}/{name}", frame)
        return frame

    def _page_key(self, *parts) -> tuple:
        """The store key of a named per-run result computed on this page's data."""
        return page_key(self._data_tag, *parts)

    def _call_key(self, kind: str, columns, data, kw: dict) -> tuple | None:
        if data is None or data is self.df:
            return call_key(kind, self._data_tag, columns, kw)
        name, frame = self._tags.get(id(data), (None, None))
        return call_key(kind, name, columns, kw) if frame is data else None

    def _estimate(self, columns, *, data=None, **kw) -> pd.DataFrame:
        """``estimate`` on the data (or ``data``); shared between pages when it does not
        depend on the segment (the total, ``by=`` the segment variable)."""
        from ..estimates import estimate

        def compute():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SurveykitWarning)
                warnings.simplefilter("ignore", RuntimeWarning)
                return estimate(self.df if data is None else data, columns,
                                **weighting_kw(self.survey), **kw)

        return self.shared.get(self._call_key("estimate", columns, data, kw), compute)

    def _compare(self, columns, *, data=None, **kw) -> pd.DataFrame:
        """Every segment against the rest (``compare``; a page keeps its row): shared."""
        from ..estimates import compare

        def compute():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SurveykitWarning)
                warnings.simplefilter("ignore", RuntimeWarning)
                return compare(self.df if data is None else data, columns,
                               by=self.segment_by, reference="total", alpha=self.alpha,
                               **weighting_kw(self.survey), **kw)

        key = self._call_key("compare", columns, data, {**kw, "by": self.segment_by,
                                                        "alpha": self.alpha})
        return self.shared.get(key, compute)

    def _sig(self, r) -> str:
        return sig_phrase(r["difference"], r["p_value"], bool(r["significant"]), n=r["n"],
                          min_base=self.min_base)

    def _columns_of(self, qid: str) -> list[str]:
        if qid in self.df.columns:
            return [qid]
        cols = [c for c in self.q.columns_of(qid) if c in self.df.columns]
        return [c for c in cols if not c.endswith("_text")]

    def _share(self) -> float:
        return float(self.w[self.mask].sum() / self.w.sum()) if self.w.sum() else np.nan

    @staticmethod
    def _gaps(t: pd.DataFrame, kind: str, *, direction: int | None = None) -> pd.DataFrame:
        """The significant rows of a segment-vs-total table, largest displayed gap first
        (ties: the larger unrounded gap first); ``direction`` +1 / -1 keeps one side.
        Adds ``shown_diff`` (segment as shown minus total as shown)."""
        gap = np.array([shown_diff(e, v, kind) for e, v in
                        zip(t["estimate"].tolist(), t["total"].tolist(), strict=True)],
                       dtype=float)
        diff = t["difference"].to_numpy(dtype=float)
        keep = t["significant"].to_numpy(dtype=bool)
        if direction is not None:
            keep = keep & (np.sign(diff) == direction)
        rows = np.flatnonzero(keep)
        rows = rows[np.lexsort((-np.abs(diff[rows]), -np.abs(gap[rows])))]
        return t.iloc[rows].assign(shown_diff=gap[rows])

    # -- which sections apply -----------------------------------------------------------------
    def left_out(self) -> dict[str, str]:
        """Sections whose inputs are missing, with the reason (stated in the method note).

        Examples
        --------
        >>> survey = open_survey(None, questionnaire="questionnaires/pc_customers.yaml",
        ...                      data="data/demo/responses.csv")
        >>> gone = SegmentFindings(survey, "segment", 2).left_out()
        >>> list(gone)
        ['path_model', 'value_lifecycle']
        >>> print(gone["value_lifecycle"])  # doctest: +NORMALIZE_WHITESPACE
        no CRM value tier or lifecycle column in the data (run with --crm, and declare
        report.value_tier / report.lifecycle)
        """
        if "left_out" in self._cache:
            return self._cache["left_out"]
        sp, out = self.spec, {}
        if not sp.metrics:
            out["key_metrics"] = ("no key metrics are declared (report.metrics, "
                                  "report.outcome, report.loyalty)")
        if not sp.attributes:
            out["attributes"] = "no attribute ratings are declared (report.attributes)"
        if not sp.constructs:
            out["constructs"] = ("the questionnaire declares no constructs" if not
                                 self.q.constructs else "no constructs are chosen "
                                 "(report.constructs)")
        elif self._construct_table() is None:
            out["constructs"] = "no construct could be scored from the data"
        if not sp.outcome:
            out["drivers"] = ("no outcome is declared for the driver analysis "
                              "(report.outcome)")
        elif not sp.drivers:
            out["drivers"] = ("no driver attributes are declared (report.drivers, "
                              "roles.drivers or report.attributes)")
        if path_model_missing(self.q):
            out["path_model"] = path_model_missing(self.q)
        if not sp.pain_points and not sp.open_text:
            out["pain_points"] = ("no pain-point or open-text question is declared "
                                  "(report.pain_points, report.open_text)")
        if not sp.channels and not sp.sources:
            out["channels"] = ("no channel or information-source question is declared "
                               "(report.channels, report.sources)")
        if not sp.value_tier and not sp.lifecycle:
            out["value_lifecycle"] = ("no CRM value tier or lifecycle column in the data "
                                      "(run with --crm, and declare report.value_tier / "
                                      "report.lifecycle)")
        if all(k in out for k in ("attributes", "drivers", "pain_points")):
            out["recommendations"] = "there are no attributes, drivers or pain points to act on"
        out.update(self._trend_left_out())
        self._cache["left_out"] = out
        return out

    def intro_fields(self) -> dict[str, str]:
        return {"metrics": join_words([m.label for m in self.spec.metrics]) or "Key metrics",
                "outcome": lower_first(self._var_label(self.spec.outcome))
                if self.spec.outcome else "the outcome", **self._trend_intro()}

    # -- title ------------------------------------------------------------------------------
    def header(self) -> Section:
        """Title block: segment name, survey, base, date, and a link back to the index."""
        s = Section("header", f"{self.label}: findings")
        s.data.update({"n": self.n, "share": self._share()})
        return s

    def header_html(self) -> str:
        """The page title, base and share, the colour legend (stated once for the page),
        and the print set-up: the segment's name and page numbers on every printed page."""
        esc = html.escape
        share = self._share()
        low = (f' <span class="sk-lowbase">low base (under {self.min_base})</span>'
               if self.low_base else "")
        return (f'<p class="sk-meta sk-noprint"><a href="index.html">&larr; all segments</a>'
                f"</p><h1>{esc(self.label)}</h1>"
                f'<p class="sk-meta">{esc(self.q.title)} &middot; '
                f"{esc(upper_first(self._var_label(self.segment_by)))}: {esc(self.label)} "
                f"&middot; base n = "
                f"{self.n:,}{low} &middot; {fmt_value(share, 'percent')} of the weighted "
                f"sample &middot; {date.today().isoformat()}</p>"
                + colour_legend(self.alpha)
                + print_style(f"{self.label}: findings", self.q.title))
