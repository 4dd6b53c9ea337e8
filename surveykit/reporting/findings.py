"""Per-segment findings: the sections of ``notebooks/segment_findings.ipynb``.

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

Sections 5-7 (pain points, channels and sources, value tier and lifecycle) live in
:mod:`.answers`; the :class:`~.section.Section` and its HTML in :mod:`.section`.
"""

from __future__ import annotations

import html
import textwrap
import warnings
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from .._util import lower_first, shorten
from ..errors import ReportError, SurveykitWarning
from .answers import AnswerSections
from .names import value_text
from .narrative import (
    fmt_ci,
    fmt_diff,
    fmt_p,
    fmt_value,
    is_number,
    join_words,
    low_base_phrase,
    plural,
    shown_diff,
    sig_phrase,
    upper_first,
)
from .section import EXPECTED_ERRORS as _EXPECTED
from .section import (
    MEANING_CSS,
    SIG_DOWN,
    SIG_UP,
    Section,
    SectionPlan,
    _sig_cell,
    colour_legend,
    comparison_columns,
    fold,
    meaning,
)
from .spec import Metric, ReportSpec

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
    "attributes": ("Attribute satisfaction", "Ratings of each attribute, highest first, "
                   "against the total."),
    "constructs": ("Construct scores", "The questionnaire's constructs, each scored as the "
                   "mean of its items, against the total."),
    "drivers": ("Key drivers and where to act", "How much each attribute contributes to "
                "{outcome} in this segment (its share of the explained variance), against "
                "how well it performs. Act here marks attributes of above-median importance "
                "and below-median performance."),
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
class SegmentFindings(AnswerSections, SectionPlan):
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
                 spec: dict | None = None, alpha: float = 0.05):
        self.survey = survey
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

    def _row(self, frame: pd.DataFrame) -> pd.Series | None:
        """The row of ``frame`` (an estimate/compare result with ``group``) for this segment."""
        if frame is None or frame.empty or "group" not in frame:
            return None
        hit = frame[frame["group"].map(value_text) == value_text(self.segment)]
        return None if hit.empty else hit.iloc[0]

    def _estimate(self, columns, *, data=None, **kw) -> pd.DataFrame:
        from ..estimates import estimate

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SurveykitWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            return estimate(self.df if data is None else data, columns, weights=self.weights,
                            **kw)

    def _compare(self, columns, *, data=None, **kw) -> pd.DataFrame:
        from ..estimates import compare

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SurveykitWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            return compare(self.df if data is None else data, columns, by=self.segment_by,
                           weights=self.weights, reference="total", alpha=self.alpha, **kw)

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
        t = t.assign(shown_diff=[shown_diff(e, v, kind) for e, v in
                                 zip(t["estimate"], t["total"], strict=True)])
        sig = t[t["significant"].astype(bool)]
        if direction is not None:
            sig = sig[np.sign(sig["difference"]) == direction]
        order = np.lexsort((-sig["difference"].abs().to_numpy(),
                            -sig["shown_diff"].abs().to_numpy()))
        return sig.iloc[order]

    # -- which sections apply -----------------------------------------------------------------
    def left_out(self) -> dict[str, str]:
        """Sections whose inputs are missing, with the reason (stated in the method note).

        Examples
        --------
        >>> survey = open_survey(None, questionnaire="questionnaires/pc_customers.yaml",
        ...                      data="data/demo/responses.csv")
        >>> gone = SegmentFindings(survey, "segment", 2).left_out()
        >>> list(gone)
        ['value_lifecycle']
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
        self._cache["left_out"] = out
        return out

    def intro_fields(self) -> dict[str, str]:
        return {"metrics": join_words([m.label for m in self.spec.metrics]) or "Key metrics",
                "outcome": lower_first(self._var_label(self.spec.outcome))
                if self.spec.outcome else "the outcome"}

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
                f'<p class="sk-meta">{esc(self.q.title)} &middot; segment of '
                f"{esc(lower_first(self._var_label(self.segment_by)))} &middot; base n = "
                f"{self.n:,}{low} &middot; {fmt_value(share, 'percent')} of the weighted "
                f"sample &middot; {date.today().isoformat()}</p>"
                + colour_legend(self.alpha)
                + print_style(f"{self.label}: findings", self.q.title))

    # -- summary ------------------------------------------------------------------------------
    def summary(self) -> Section:
        """Key-metric tiles and three to five sentences: where the segment stands, what
        drives it, where to act. Each number is taken from the object behind the table
        that shows it further down the page (key metrics, attributes, drivers, pain points).
        """
        s = Section("summary", "Summary")
        verdicts = {"better": [], "worse": [], "neutral": []}
        quoted = []
        for item in self._metric_rows():
            m: Metric = item["metric"]
            seg, tot, c = item.get("seg"), item.get("tot"), item.get("cmp")
            if seg is None:
                continue
            diff = seg["estimate"] - tot["estimate"]
            sig = bool(c["significant"]) if c is not None else False
            low = int(seg["n"]) < self.min_base
            mean = meaning(diff, 1 if m.higher_is_better else -1) if sig else "ns"
            s.tiles.append({
                "label": m.label, "value": fmt_value(seg["estimate"], m.kind),
                "arrow": (SIG_UP if diff > 0 else SIG_DOWN) if sig else "",
                "css": MEANING_CSS.get(mean, "sk-ns"), "low_base": low,
                "vs": f"total {fmt_value(tot['estimate'], m.kind)}, difference "
                      f"{fmt_diff(shown_diff(seg['estimate'], tot['estimate'], m.kind), m.kind)}"
            })
            if sig:
                verdicts[mean].append(m)
            quoted.append((m, seg, tot, sig, mean))
        n_metrics = len(quoted)
        if quoted:
            better, worse = verdicts["better"], verdicts["worse"]
            if self.low_base:
                head = (f"{self.label} rest on a low base (n = {self.n}), so their results "
                        "are indicative only and not tested")
            elif worse and not better:
                head = (f"{self.label} do worse than the rest of the sample on "
                        + _count_of(len(worse), n_metrics, "key metric"))
            elif better and not worse:
                head = (f"{self.label} do better than the rest of the sample on "
                        + _count_of(len(better), n_metrics, "key metric"))
            elif better and worse:
                head = (f"{self.label} do better than the rest of the sample on "
                        f"{join_words([lower_first(m.label) for m in better])} but worse on "
                        f"{join_words([lower_first(m.label) for m in worse])}")
            else:
                head = (f"{self.label} do not differ significantly from the rest of the "
                        f"sample on any of the {n_metrics} key metrics")
            order = sorted(quoted, key=lambda q: (not q[3], 0))  # significant ones first
            shown = [f"{lower_first(m.label)} {fmt_value(seg['estimate'], m.kind)} vs "
                     f"{fmt_value(tot['estimate'], m.kind)}" for m, seg, tot, _, _ in order[:2]]
            s.findings.append(f"{head}: {join_words(shown)} in total.")
        t = self._attribute_table()
        if t is not None and not t.empty and not self.low_base:
            down, up = self._gaps(t, "mean", direction=-1), self._gaps(t, "mean", direction=1)
            what = plural(len(t), "attribute")
            if len(down) or len(up):
                main, word = (down, "below") if len(down) >= len(up) else (up, "above")
                other = up if word == "below" else down
                top = main.head(2)
                s.findings.append(
                    f"They rate {len(main)} of {what} significantly {word} the rest of the "
                    f"sample, most of all "
                    + join_words([f"{lower_first(r['label'])} ({fmt_value(r['estimate'], 'mean')}"
                                  f" vs {fmt_value(r['total'], 'mean')})"
                                  for _, r in top.iterrows()])
                    + (f"; {len(other)} {'is' if len(other) == 1 else 'are'} "
                       f"{'above' if word == 'below' else 'below'}" if len(other) else "")
                    + ".")
            else:
                s.findings.append(f"Their ratings of the {what} are in line with the rest of "
                                  "the sample.")
        ipa = self._ipa()
        if ipa.get("table") is not None:
            tt = ipa["table"]
            top = tt.head(2)
            s.findings.append(
                f"What drives their {lower_first(self._var_label(self.spec.outcome))} most: "
                + join_words(_shares([lower_first(self._var_label(d)) for d in top["driver"]],
                                     top["importance"])) + ".")
            acts = tt[tt["driver"].isin(ipa["acts"])].head(2)
            if len(acts):
                one = len(acts) == 1
                s.findings.append(
                    "Act first on "
                    + join_words([f"{lower_first(self._var_label(r['driver']))} (rated "
                                  f"{fmt_value(r['performance'], 'mean')})"
                                  for _, r in acts.iterrows()])
                    + f": {'it matters' if one else 'they matter'} more than most "
                    f"attributes but {'is' if one else 'are'} rated below the segment's "
                    "median.")
        pain = self._top_pain()
        if pain is not None and len(s.findings) < 5:
            r, who = pain
            s.findings.append(f"The most common pain point is {lower_first(r['option'])} "
                              f"({fmt_value(r['estimate'], 'percent')} {who} vs "
                              f"{fmt_value(r['total'], 'percent')} in total).")
        if not s.findings:
            s.findings.append(f"{self.label}: base n = {self.n:,}; no key metric, attribute "
                              "or driver results are available for a summary.")
        s.findings = s.findings[:5]
        return s

    # -- 1. profile ---------------------------------------------------------------------------
    def profile(self) -> Section:
        """Profile card: base n, weighted share and who they are vs the total."""
        s = Section("profile", "Profile")
        share = self._share()
        n_total = len(self.df)
        weighted = "weighted " if self.weights else ""
        s.tiles.extend([
            {"label": "Base (respondents)", "value": f"{self.n:,}", "low_base": self.low_base,
             "vs": f"of {n_total:,} in the survey", "css": "sk-ns"},
            {"label": f"Share of the {weighted}sample", "value": fmt_value(share, "percent"),
             "vs": "", "css": "sk-ns"}])
        s.findings.append(
            f"{self.label} are {fmt_value(share, 'percent')} of the {weighted}sample "
            f"(base n = {self.n:,} of {n_total:,} respondents)"
            + (f"; {low_base_phrase(self.n, self.min_base)}." if self.low_base else "."))
        rows, distinct, show, bases = [], [], [], set()
        for var in self.spec.profile:
            if var not in self.df.columns:
                continue
            try:
                seg = self._estimate(var, stat="proportion", by=self.segment_by)
                tot = self._estimate(var, stat="proportion")
            except _EXPECTED:
                continue
            if "category" not in seg:
                continue
            seg = seg[seg["group"].map(value_text) == value_text(self.segment)]
            if seg.empty:
                continue
            for _, r in seg.iterrows():
                cat = r["category"]
                t = tot[tot["category"].map(value_text) == value_text(cat)]
                total_est = float(t["estimate"].iloc[0]) if not t.empty else np.nan
                p, sig, diff = np.nan, False, r["estimate"] - total_est
                if not self.low_base and r["n"] >= self.min_base:
                    try:
                        c = self._row(self._compare(var, stat="proportion", codes=[cat]))
                        if c is not None:
                            p, sig = float(c["p_value"]), bool(c["significant"])
                    except _EXPECTED:
                        pass
                label = self._cat_label(var, cat)
                gap = shown_diff(r["estimate"], total_est, "percent")
                rows.append({"Characteristic": self._var_label(var), "Category": label,
                             "Segment": fmt_value(r["estimate"], "percent"),
                             "Total": fmt_value(total_est, "percent"),
                             "Difference (points)": fmt_diff(gap, "percent", unit=False),
                             "Test vs rest": _sig_cell(diff, p, sig, r["n"], self.min_base),
                             "n": f"{int(r['n']):,}"})
                show.append(sig)
                bases.add(int(r["n"]))
                if sig and diff > 0:
                    distinct.append((gap, diff, self._var_label(var), label, r["estimate"],
                                     total_est, p))
        distinct.sort(key=lambda t: (-t[0], -t[1]))
        if distinct:
            parts = [f"{lower_first(lab)} "
                     f"({lower_first(var)}: {fmt_value(e, 'percent')} vs "
                     f"{fmt_value(t, 'percent')} "
                     f"in total, {fmt_p(p)})" for _, _, var, lab, e, t, p in distinct[:3]]
            s.findings.append(f"Compared with the total they are significantly more often "
                              f"{join_words(parts)}.")
        elif self.low_base:
            s.findings.append("With so few respondents the profile is shown for orientation "
                              "only; no differences were tested.")
        elif rows:
            s.findings.append("Their profile does not differ significantly from the total on "
                              "the characteristics shown.")
        if rows:
            frame = pd.DataFrame(rows, dtype=object)
            caption = "Who they are: % of the segment vs the total (column %)"
            if len(bases) == 1:
                frame = frame.drop(columns="n")
                caption += f", base n = {bases.pop():,}"
            if any(show):
                fold(frame, show, what="characteristics (not significantly different)")
            s.tables.append((caption, frame))
        s.data.update({"n": self.n, "share": share})
        return s

    # -- 2. key metrics ---------------------------------------------------------------------
    def _metric_rows(self) -> list[dict]:
        if "metrics" in self._cache:
            return self._cache["metrics"]
        out = []
        for m in self.spec.metrics:
            if m.column not in self.df.columns:
                continue
            kw = m.kwargs()
            try:
                seg = self._row(m.rescale(self._estimate(m.column, by=self.segment_by, **kw)))
                tot = m.rescale(self._estimate(m.column, **kw)).iloc[0]
            except _EXPECTED as exc:
                out.append({"metric": m, "error": str(exc)})
                continue
            cmp_row = None
            if seg is not None and seg["n"] >= self.min_base:
                try:
                    cmp_row = self._row(m.rescale(self._compare(m.column, **kw)))
                except _EXPECTED:
                    cmp_row = None
            out.append({"metric": m, "seg": seg, "tot": tot, "cmp": cmp_row})
        self._cache["metrics"] = out
        return out

    def key_metrics(self) -> Section:
        """Satisfaction, NPS, repurchase and complaint rate with CIs, vs the total."""
        s = Section("key_metrics", "Key metrics")
        rows, phrases, sig_names = [], [], []
        for item in self._metric_rows():
            m: Metric = item["metric"]
            seg, tot, c = item.get("seg"), item.get("tot"), item.get("cmp")
            if seg is None:
                rows.append({"Metric": m.label, "Segment": "n/a", "95% CI": "",
                             "Total": "", "Difference": "", "Test vs rest": "",
                             "n": "0"})
                continue
            diff = seg["estimate"] - tot["estimate"]
            p = float(c["p_value"]) if c is not None else np.nan
            sig = bool(c["significant"]) if c is not None else False
            n = int(seg["n"])
            rows.append({
                "Metric": m.label + (f" — {m.note}" if m.note else ""),
                "Segment": fmt_value(seg["estimate"], m.kind),
                "95% CI": fmt_ci(seg["ci_low"], seg["ci_high"], m.kind).replace("95% CI ", ""),
                "Total": fmt_value(tot["estimate"], m.kind),
                "Difference": fmt_diff(shown_diff(seg["estimate"], tot["estimate"], m.kind),
                                       m.kind),
                "Test vs rest": _sig_cell(diff, p, sig, n, self.min_base,
                                          1 if m.higher_is_better else -1),
                "n": f"{n:,}"})
            sig_text = (low_base_phrase(n, self.min_base) if n < self.min_base else
                        sig_phrase(diff, p, sig, n=n, min_base=self.min_base))
            phrases.append(f"{m.label} {fmt_value(seg['estimate'], m.kind)} "
                           f"({fmt_ci(seg['ci_low'], seg['ci_high'], m.kind)}, n = {n:,}; "
                           f"total {fmt_value(tot['estimate'], m.kind)}), {sig_text}")
            if sig:
                sig_names.append(f"{lower_first(m.label)} "
                                 f"({'higher' if diff > 0 else 'lower'})")
        if phrases:
            s.findings.append(f"Among {self.label}: {phrases[0]}.")
        if len(phrases) > 1:
            s.findings.append(f"{'; '.join(phrases[1:])}.")
        if self.low_base:
            s.findings.append(f"The segment base is low (n = {self.n}); differences from the "
                              "total are not tested.")
        elif sig_names:
            s.findings.append(f"{len(sig_names)} of {len(phrases)} key metrics differ "
                              f"significantly from the rest of the sample at the "
                              f"{100 * self.alpha:.0f}% level: {join_words(sig_names)}.")
        elif phrases:
            s.findings.append(f"None of the {len(phrases)} key metrics differs significantly "
                              f"from the rest of the sample at the {100 * self.alpha:.0f}% "
                              "level.")
        if rows:
            s.tables.append(("Key metrics: segment vs total",
                             pd.DataFrame(rows, dtype=object)))
        s.notes.append("CIs are 95%" + (" (NPS: adjusted Wald)." if any(
                           item["metric"].stat == "nps" for item in self._metric_rows())
                           else "."))
        return s

    def headline(self) -> dict:
        """Base, share, the key metrics (with significance) and the driver importances
        (share of explained variance, act-here flags) for the index page."""
        metrics, total = [], []
        for item in self._metric_rows():
            m: Metric = item["metric"]
            seg, tot, c = item.get("seg"), item.get("tot"), item.get("cmp")
            if tot is not None:
                total.append({"key": m.key, "label": m.label,
                              "estimate": _num(tot["estimate"]),
                              "display": fmt_value(tot["estimate"], m.kind),
                              "kind": m.kind})
            if seg is None:
                continue
            diff = seg["estimate"] - tot["estimate"]
            sig = bool(c["significant"]) if c is not None else False
            p = _num(c["p_value"]) if c is not None else None
            metrics.append({
                "key": m.key, "label": m.label, "estimate": _num(seg["estimate"]),
                "display": fmt_value(seg["estimate"], m.kind), "n": int(seg["n"]),
                "ci_low": _num(seg["ci_low"]), "ci_high": _num(seg["ci_high"]),
                "total": _num(tot["estimate"]), "p_value": p, "kind": m.kind,
                "total_display": fmt_value(tot["estimate"], m.kind),
                "difference_display": fmt_diff(
                    shown_diff(seg["estimate"], tot["estimate"], m.kind), m.kind),
                "sig": ("higher" if diff > 0 else "lower") if sig else None,
                "higher_is_better": m.higher_is_better,
                "low_base": int(seg["n"]) < self.min_base,
                "note": f"total {fmt_value(tot['estimate'], m.kind)}; {fmt_p(p)}"})
        drivers = []
        ipa = self._ipa()
        if ipa.get("table") is not None:
            for _, r in ipa["table"].iterrows():
                drivers.append({"key": r["driver"], "label": self._var_label(r["driver"]),
                                "importance": _num(r["importance"]),
                                "performance": _num(r["performance"]),
                                "act_here": r["driver"] in ipa["acts"]})
        return {"segment": value_text(self.segment), "label": self.label, "base": self.n,
                "weighted_share": _num(self._share()), "low_base": self.low_base,
                "metrics": metrics, "total": total, "drivers": drivers,
                "outcome": (self._var_label(self.spec.outcome) if self.spec.outcome
                            else None)}

    def record(self) -> None:
        """Hand the headline to the runner (a display output the HTML export leaves out)."""
        import json

        from IPython.display import display

        from .export import HEADLINE_MIME

        display({HEADLINE_MIME: json.dumps(self.headline())}, raw=True)

    # -- 3. attribute satisfaction -------------------------------------------------------------
    def _attribute_table(self) -> pd.DataFrame | None:
        if "attributes" not in self._cache:
            self._cache["attributes"] = self._mean_table(self.spec.attributes)
        return self._cache["attributes"]

    def _mean_table(self, items, data=None, labels=None) -> pd.DataFrame | None:
        """Segment mean of each of ``items`` with its CI, the total and the test against the
        rest of the sample; highest first (None when nothing could be estimated). The
        table's ``attrs["range"]`` is one axis range for its chart on every segment's page
        (all segments' and the total's means)."""
        data = self.df if data is None else data
        items = [c for c in items if c in data.columns]
        if not items:
            return None
        try:
            every = self._estimate(items, by=self.segment_by, data=data)
            seg = every[every["group"].map(value_text) == value_text(self.segment)]
            tot = self._estimate(items, data=data).set_index("variable")
            cmp_ = self._compare(items, data=data) if not self.low_base else None
        except _EXPECTED:
            return None
        if seg.empty:
            return None
        seg = seg.set_index("variable")
        rows = []
        for item in items:
            if item not in seg.index:
                continue
            r = seg.loc[item]
            c = self._row(cmp_[cmp_["variable"] == item]) if cmp_ is not None else None
            rows.append({"item": item,
                         "label": (labels or {}).get(item) or self._var_label(item),
                         "estimate": r["estimate"], "ci_low": r["ci_low"],
                         "ci_high": r["ci_high"], "n": int(r["n"]),
                         "total": tot.loc[item, "estimate"],
                         "difference": r["estimate"] - tot.loc[item, "estimate"],
                         "p_value": np.nan if c is None else float(c["p_value"]),
                         "significant": False if c is None else bool(c["significant"])})
        if not rows:
            return None
        out = pd.DataFrame(rows).sort_values("estimate", ascending=False)
        from ..plots import nice_range

        big = every["n"] >= self.min_base
        out.attrs["range"] = nice_range([*every.loc[big, "estimate"], *tot["estimate"]],
                                        pad=0.1)
        return out

    def attributes(self) -> Section:
        """Satisfaction with each attribute and service aspect, vs the total."""
        s = Section("attributes", "Attribute satisfaction")
        self._means_section(s, self._attribute_table(), what="attribute",
                            column="Attribute", caption="Mean rating")
        return s

    def _scale_text(self, items) -> str:
        """`` on the 1-5 scale`` when the items share one scale, else ``""``."""
        scales = {(sc.low, sc.high) for sc in map(self.q.scale_of, items) if sc is not None}
        if len(scales) != 1:
            return ""
        low, high = scales.pop()
        return f" on the {low:g}-{high:g} scale"

    def _means_section(self, s: Section, t, *, what: str, column: str, caption: str,
                       scale_txt: str | None = None, polarity: int = 1) -> None:
        """Findings, table and chart of a :meth:`_mean_table` (attributes, constructs)."""
        if t is None or t.empty:
            s.findings.append(f"No {what} scores are available for this segment.")
            return
        if scale_txt is None:
            scale_txt = self._scale_text(t["item"])
        best, worst = t.iloc[0], t.iloc[-1]
        s.findings.append(
            f"{self.label} rate {best['label']} highest (mean {fmt_value(best['estimate'], 'mean')}"
            f"{scale_txt}, n = {best['n']:,}) and {worst['label']} lowest "
            f"({fmt_value(worst['estimate'], 'mean')}, n = {worst['n']:,}).")
        # the largest gaps as shown first: the sentence names the rows a reader sees as
        # most different, with the differences printed in the table
        up, down = self._gaps(t, "mean", direction=1), self._gaps(t, "mean", direction=-1)
        plural_ = f"{what}s" if len(t) != 1 else what
        if self.low_base:
            s.findings.append(f"The base is low (n = {self.n}); differences from the total "
                              "are not tested.")
        elif len(up) or len(down):
            bits = []
            for rows, word in ((up, "above"), (down, "below")):
                if len(rows):
                    shown = join_words([f"{r['label']} ({fmt_diff(r['shown_diff'], 'mean')})"
                                        for _, r in rows.head(3).iterrows()])
                    bits.append(f"significantly {word} the rest of the sample on {len(rows)} "
                                f"of {len(t)} {plural_}, most on {shown}")
            s.findings.append(f"They are {'; '.join(bits)}.")
        else:
            s.findings.append(f"None of the {len(t)} {plural_} differs significantly from the "
                              "rest of the sample.")
        low_items = t[t["n"] < self.min_base]
        if len(low_items) and not self.low_base:
            s.findings.append(f"{len(low_items)} of the {plural_} rest on a low base "
                              f"(under {self.min_base} who answered): "
                              f"{join_words(low_items['label'].tolist())}; indicative only.")
        table = pd.DataFrame({
            column: t["label"].tolist(),
            "Segment mean": [fmt_value(v, "mean") for v in t["estimate"]],
            "95% CI": [fmt_ci(lo, hi, "mean").replace("95% CI ", "")
                       for lo, hi in zip(t["ci_low"], t["ci_high"], strict=True)],
            **comparison_columns(t, "mean", self.min_base, polarity=polarity)}, dtype=object)
        show = t["significant"].astype(bool).to_numpy()
        if show.sum() < 5:  # too few differences to stand alone: the top and bottom rows too
            show = show | (np.arange(len(t)) < 3) | (np.arange(len(t)) >= len(t) - 2)
        fold(table, show, what=f"{plural_} (not significantly different)")
        s.tables.append((f"{caption}{scale_txt}, highest first", table))
        try:
            from .. import plots

            s.figures.append(plots.comparison_chart(
                t, value="estimate", reference="total", label="label",
                significant="significant", value_name=self.label, polarity=polarity,
                xlim=t.attrs.get("range"), xlabel=f"mean rating{scale_txt}".strip(),
                title=f"{s.title}: {self.label} vs total"))
        except Exception:  # noqa: BLE001 - a chart never stops the report
            pass
        s.data["table"] = t

    # -- 3b. construct scores --------------------------------------------------------------------
    def _construct_table(self) -> pd.DataFrame | None:
        if "constructs" in self._cache:
            return self._cache["constructs"]
        res = None
        cons = [c for c in self.q.constructs if c.id in self.spec.constructs]
        if cons:
            from ..measurement import construct_scores, from_questionnaire

            try:
                m = from_questionnaire(self.q, [c.id for c in cons])
                scored = construct_scores(self.df, m["model"], reverse=m["reverse"],
                                          scale_range=m["scale_range"],
                                          min_items=m["min_items"], prefix="__construct_")
                data = self.df.assign(**{c.id: scored[f"__construct_{c.id}"] for c in cons})
                res = self._mean_table([c.id for c in cons], data,
                                       labels={c.id: c.label for c in cons})
            except _EXPECTED:
                res = None
        self._cache["constructs"] = res
        return res

    def constructs(self) -> Section:
        """Construct scores (mean of each construct's items, reverse keys applied), vs the
        total."""
        s = Section("constructs", "Construct scores")
        t = self._construct_table()
        cons = [c for c in self.q.constructs if c.id in self.spec.constructs]
        items = [i for c in cons for i in c.items]
        rated = {*self.spec.attributes, *self.spec.drivers}
        # satisfaction constructs (made of rated attributes): higher is better
        polarity = 1 if items and all(i in rated for i in items) else 0
        self._means_section(s, t, what="construct", column="Construct",
                            caption="Mean construct score", scale_txt=self._scale_text(items),
                            polarity=polarity)
        s.notes.append("A construct score is the mean of the construct's items (reverse-keyed "
                       "items re-coded first), for respondents who answered at least the "
                       "construct's minimum number of items.")
        return s

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
        sub = self.df.loc[self.mask].reset_index(drop=True)
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
        acts = [d for d in t["driver"] if d in {x for v in ipa.act_here.values() for x in v}]
        out.update(table=t, acts=acts, ipa=ipa, drivers=drivers,
                   r2=float(models["r2"].iloc[0]) if "r2" in models else np.nan,
                   n_model=int(models["n"].iloc[0]) if "n" in models else self.n,
                   ranges=self._ipa_ranges(drivers, t))
        return out

    def _ipa_ranges(self, drivers, t) -> tuple | None:
        """One importance and one performance axis for the chart on every segment's page:
        the importance shares and mean ratings of all segments (cheap: one correlation
        matrix per segment)."""
        from ..drivers import importance_performance
        from ..plots import nice_range

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                every = importance_performance(self.df, self.spec.outcome, drivers,
                                               weights=self.weights, by=self.segment_by)
            tab = every.table
            big = {value_text(g) for g, n in zip(every.drivers_result.models["segment"],
                                                 every.drivers_result.models["n"],
                                                 strict=True) if n >= self.min_base}
            tab = tab[tab["segment"].map(value_text).isin(big)]
            imp, perf = [*tab["importance"], *t["importance"]], [*tab["performance"],
                                                                 *t["performance"]]
        except Exception:  # noqa: BLE001 - then this segment's own range
            imp, perf = list(t["importance"]), list(t["performance"])
        return (nice_range([0, *imp], step=10, pad=2, bounds=(0, 100)),
                nice_range(perf, pad=0.15))

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
        top = t.head(3)
        strongest = join_words(_shares([self._var_label(d) for d in top["driver"]],
                                       top["importance"]))
        s.findings.append(
            f"The strongest drivers of {lower_first(self._var_label(outcome))} among {self.label} "
            f"are {strongest}.")
        if acts:
            s.findings.append(
                f"Act here: {join_words([self._var_label(d) for d in acts])} "
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
            s.figures.append(ipa.plot(labels=labels, xlim=xlim, ylim=ylim,
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
            s.findings.append(f"Prioritise {join_words([self._var_label(a) for a in acts[:3]])}: "
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

    # -- 9. method note ----------------------------------------------------------------------
    def _comparisons(self) -> int:
        """How many tests against the rest of the sample the page shows (every "p" cell of
        every section's tables, folded rows included)."""
        count = 0
        for key in self.sections():
            if key in ("method", "recommendations"):
                continue
            sec = self.built().get(key) or self.section(key)
            for _, table in (sec.tables if sec is not None else []):
                for col in table.columns:
                    if str(col).startswith("Test vs rest"):
                        count += int(table[col].astype(str).str.contains(r"p [<=]").sum())
        return count

    def method_note(self) -> Section:
        """Sample, weighting efficiency, margin of error and the tests, in plain words; the
        technical detail in a closed block."""
        from ..estimates import effective_n, margin_of_error

        s = Section("method", "Method note")
        meta = self.survey.meta or {}
        w_seg = self.w[self.mask]
        neff = effective_n(w_seg)
        eff = neff / self.n if self.n else np.nan
        moe = margin_of_error(neff)
        n_total = len(self.df)
        if self.weights:
            targets = join_words([lower_first(self._var_label(v))
                                  for v in self.q.roles.weighting]) or "the target variables"
            s.findings.append(
                f"Base: {self.n:,} of {n_total:,} respondents. Answers are weighted so that "
                f"the sample matches the population on {targets}; weighting costs precision, "
                f"so this segment counts like {neff:,.0f} unweighted respondents.")
        else:
            s.findings.append(f"Base: {self.n:,} of {n_total:,} respondents, unweighted.")
        s.findings.append(
            f"A percentage for this segment is precise to within ±{100 * moe:.1f} points "
            "(95% confidence, at worst)"
            + (f"; {low_base_phrase(self.n, self.min_base)}." if self.low_base else "."))
        k = self._comparisons()
        if k:
            about = k if k < 20 else int(round(k, -1))
            false = self.alpha * k
            s.findings.append(
                f"Arrows mark differences from the rest of the sample that are unlikely to be "
                f"chance at the {100 * (1 - self.alpha):g}% level; with about {about} "
                f"comparisons on this page, expect "
                + ("about one false alarm" if round(false) <= 1 else
                   f"about {round(false)} false alarms")
                + ", so read a lone arrow with care. "
                f"Bases under {self.min_base} are flagged and not tested.")
        else:
            s.findings.append(f"Bases under {self.min_base} are flagged and not tested.")
        unseg = int(self.df[self.segment_by].isna().sum())
        if unseg:
            s.findings.append(
                f"{unseg:,} respondent{'s have' if unseg != 1 else ' has'} no "
                f"{lower_first(self._var_label(self.segment_by))}: they count in the total "
                "and the rest of the sample, but in no segment.")
        for key, why in self.left_out().items():
            s.notes.append(f"Left out: {SECTIONS[key][0]}, because {why}.")
        if self.spec.notes:
            s.notes.append("The questionnaire declares no report: block, so these choices "
                           "were inferred: " + "; ".join(self.spec.notes) + ".")
        rated = [m.column for m in self.spec.metrics if m.stat == "mean"]
        rated += [*self.spec.attributes, *(i for c in self.q.constructs
                                           if c.id in self.spec.constructs for i in c.items)]
        scales = sorted({(sc.low, sc.high) for sc in map(self.q.scale_of, rated)
                         if sc is not None})
        if scales:
            s.notes.append(f"Means of ratings ({', '.join(f'{lo:g}-{hi:g}' for lo, hi in scales)}"
                           f" scale{'s' if len(scales) > 1 else ''}) treat each scale as "
                           "interval.")
        # technical detail for analysts
        tests = set()
        for item in self._metric_rows():
            c = item.get("cmp")
            if c is not None and "test" in c:
                tests.add(str(c["test"]))
        t = self._attribute_table()
        if t is not None and not t.empty:
            tests.add("Welch t (effective bases)")
        s.technical.append(
            f"Each result is tested against the rest of the sample (two-sided, "
            f"{100 * self.alpha:g}% level, no adjustment for multiple comparisons): "
            f"{join_words(sorted(tests)) or 'tests on Kish effective bases'}.")
        if self.weights:
            eff_all = meta.get("weighting_efficiency")
            s.technical.append(
                "Weights: raking to the population targets"
                + (f" (overall weighting efficiency {100 * eff_all:.0f}%)"
                   if eff_all is not None else "")
                + f"; within the segment the weighting efficiency is {100 * eff:.0f}%, a Kish "
                f"effective base of {neff:,.0f}; the margin of error uses p = 50% on that "
                "base.")
        s.technical.append("Standard errors: Taylor linearisation with the final weights "
                           "(R survey svymean equivalent); CIs are Wald intervals"
                           + (", NPS adjusted Wald" if any(m.stat == "nps"
                                                           for m in self.spec.metrics) else "")
                           + ".")
        rows = [("Respondents in the survey", f"{n_total:,}"),
                ("Respondents in the segment (base)", f"{self.n:,}"),
                ("Effective base (Kish)", f"{neff:,.0f}"),
                ("Weighting efficiency in the segment", fmt_value(eff, "percent")),
                ("Margin of error (95%, p = 50%)", f"±{100 * moe:.1f} points"),
                ("Significance level", f"{self.alpha:g}"),
                ("Minimum base for tests", f"{self.min_base}")]
        if meta.get("weighting_efficiency") is not None and self.weights:
            rows.insert(4, ("Weighting efficiency overall",
                            fmt_value(meta["weighting_efficiency"], "percent")))
        if k:
            rows.append(("Tests on this page", f"{k:,}"))
        if meta.get("check_errors") is not None:
            rows.append(("Data-check errors found before cleaning", f"{meta['check_errors']:,}"))
        if meta.get("dropped_columns"):
            rows.append(("Personal-data columns removed before analysis",
                         f"{len(meta['dropped_columns'])}"))
        if unseg:
            rows.insert(1, ("Respondents in no segment", f"{unseg:,}"))
        s.technical_tables.append(("Sample and method", pd.DataFrame(rows,
                                                                     columns=["Item", "Value"])))
        s.data.update({"n_eff": neff, "efficiency": eff, "moe": moe, "comparisons": k})
        return s


def print_style(title: str, subtitle: str = "") -> str:
    """A ``<style>`` block that prints ``title`` and page numbers on every page (CSS paged
    media margin boxes; the house stylesheet sets the rest of the print layout)."""
    return ("<style>@media print { @page { "
            f'@top-left {{ content: "{_css_text(title)}"; }} '
            f'@top-right {{ content: "{_css_text(subtitle)}"; }} '
            '@bottom-right { content: "Page " counter(page) " of " counter(pages); } '
            "} }</style>")


def _css_text(text: str) -> str:
    """``text`` as the inside of a CSS string: everything but letters, digits and spaces
    escaped (so no quote, backslash or ``</style>`` can end it)."""
    return "".join(ch if (ch.isalnum() and ch.isascii()) or ch == " " else
                   f"\\{ord(ch):06x}" for ch in str(text)[:120])


def _count_of(k: int, n: int, word: str) -> str:
    """``all 4 key metrics``, ``3 of 4 key metrics``, ``the one key metric``."""
    if n == 1:
        return f"the one {word}"
    return f"all {n} {word}s" if k == n else f"{k} of {n} {word}s"


def _pct(v) -> str:
    """An importance share (already in %) as a whole percent."""
    return fmt_value(float(v) / 100, "percent") if is_number(v) else "n/a"


def _shares(labels, values) -> list[str]:
    out = []
    for i, (lab, v) in enumerate(zip(labels, values, strict=True)):
        out.append(f"{lab} ({_pct(v)} of the explained variance)" if i == 0
                   else f"{lab} ({_pct(v)})")
    return out


def _num(x):
    return float(x) if is_number(x) else None
