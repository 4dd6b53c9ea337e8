"""The trend section of a findings page: the reported wave against the previous one.

``surveykit report --wave latest`` (or ``--wave LABEL``) prepares every wave
(:func:`surveykit.waves.survey_from_waves`); each page then describes the chosen wave (all
other sections use its respondents only), and this section adds every key metric's change
since the previous wave, tested (:func:`surveykit.waves.trend`), for the segment and the
total, with a small-multiples chart.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .._util import lower_first
from ..errors import ReportError, SurveykitWarning
from .narrative import fmt_diff, fmt_p, fmt_value, upper_first
from .section import MEANING_CSS, SIG_DOWN, SIG_UP, Cell, Section, meaning

__all__ = ["WaveChoice", "TrendSections", "TREND_SECTION", "prepare_survey",
           "index_trend_html", "report_survey"]

#: the section's title and introduction (registered in the page's SECTIONS)
TREND_SECTION = ("Change since the previous wave", "{wave} against {previous}: each key "
                 "metric's change, tested as independent samples, for the segment and the "
                 "total.")


def prepare_survey(questionnaire, data, *, targets=None, crm=None, as_of=None, wave=None):
    """The runner's prepared survey: :meth:`Survey.from_files`, or with ``wave`` every wave
    (:func:`surveykit.waves.survey_from_waves`; ``data`` a waves file, one file with a wave
    column or a mapping wave label -> file)."""
    from ..survey import Survey

    if wave is None:
        return Survey.from_files(questionnaire, data, targets=targets, crm=crm, as_of=as_of)
    if crm is not None:
        raise ReportError("--wave with --crm: a wave report does not join CRM data yet; "
                          "leave out --crm")
    from ..waves import survey_from_waves

    return survey_from_waves(questionnaire, data, targets=targets)


def report_survey(survey, segment_by: str, wave):
    """The survey the index describes: without ``wave`` ``survey`` itself; with it the
    reported wave's respondents (bases, shares, weighting efficiency), its index trend
    block in ``meta["index_trend"]`` (:func:`index_trend_html`, made from every wave)."""
    if wave is None:
        return survey
    current = WaveChoice.of(survey, wave).current
    return replace(current, meta={**current.meta,
                                  "index_trend": index_trend_html(survey, segment_by, wave)})


@dataclass
class WaveChoice:
    """The wave a report describes, the one before it, and the survey of all waves."""

    full: object            # Survey of every wave
    current: object         # Survey of the chosen wave only
    column: str
    waves: list[str]
    wave: str
    previous: str | None

    @classmethod
    def of(cls, survey, wave) -> WaveChoice:
        """``wave``: ``"latest"`` or a wave label of ``survey`` (prepared with
        :func:`surveykit.waves.survey_from_waves`)."""
        from ..waves import wave_label, wave_order

        df = survey.data
        col = (survey.meta.get("wave_column") or df.attrs.get("wave_column")
               or survey.questionnaire.roles.wave or "wave")
        if col not in df.columns:
            raise ReportError(f"--wave {wave}: the data have no wave column {col!r}; prepare "
                              "the waves with surveykit.waves.survey_from_waves (or declare "
                              "roles.wave)")
        waves = wave_order(df, col)
        chosen = waves[-1] if str(wave) == "latest" else wave_label(wave)
        if chosen not in waves:
            raise ReportError(f"--wave {wave}: no such wave; waves: {', '.join(waves)} "
                              "(or latest)")
        k = waves.index(chosen)
        labels = df[col].map(wave_label).to_numpy()
        data = df[labels == chosen].reset_index(drop=True)
        data.attrs = dict(df.attrs)
        per_wave = (survey.meta.get("waves") or {}).get(chosen, {})
        meta = {**survey.meta, "wave": chosen, "previous_wave": waves[k - 1] if k else None}
        if per_wave.get("weighting_efficiency") is not None:
            meta["weighting_efficiency"] = per_wave["weighting_efficiency"]
        reports = getattr(survey.weighting, "reports", None)   # WaveWeighting: one per wave
        current = replace(survey, data=data, design=None, meta=meta,
                          weighting=reports.get(chosen) if reports else survey.weighting)
        return cls(survey, current, col, waves[:k + 1], chosen, waves[k - 1] if k else None)


class TrendSections:
    """The ``trend`` section of :class:`~surveykit.reporting.findings.SegmentFindings`
    (a mixin: needs ``survey``, ``spec``, ``segment_by``, ``segment``, ``label``, ``alpha``,
    ``min_base`` and ``waves``, a :class:`WaveChoice` or None)."""

    waves: WaveChoice | None = None

    def sections(self) -> list[str]:
        keys = super().sections()
        return keys if self.waves is not None else [k for k in keys if k != "trend"]

    def _trend_left_out(self) -> dict[str, str]:
        if self.waves is not None and self.waves.previous is None:
            return {"trend": f"{self.waves.wave} is the first wave: no earlier wave to "
                             "compare with"}
        if self.waves is not None and not self.spec.metrics:
            return {"trend": "no key metrics to trend"}
        return {}

    def _trend_intro(self) -> dict[str, str]:
        w = self.waves
        return {"wave": w.wave if w else "", "previous": (w.previous or "") if w else ""}

    def trend_results(self):
        """``(segment trend, total trend)`` over the waves up to the reported one."""
        if "trend" in self._cache:
            return self._cache["trend"]
        from ..waves import trend

        w = self.waves
        full = w.full
        df = full.data
        keep = df[w.column].map(str).isin(w.waves).to_numpy()
        seg_mask = full.segment_mask(self.segment_by, self.segment).to_numpy()
        wt = full.weight_array()
        changes = full.meta.get("wave_changes")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SurveykitWarning)
            kw = {"wave": w.column, "questionnaire": full.questionnaire, "alpha": self.alpha,
                  "changes": changes if changes is not None else None}
            total = trend(df[keep], self.spec.metrics, weights=wt[keep], **kw)
            seg = trend(df[keep & seg_mask], self.spec.metrics, weights=wt[keep & seg_mask],
                        **kw)
        self._cache["trend"] = (seg, total)
        return seg, total

    def trend(self) -> Section:
        """Every key metric of the segment in the reported wave against the previous one:
        sentences, a table (value per wave, change, test, base) and the chart (segment and
        total side by side)."""
        from ..waves import TrendResult

        w = self.waves
        s = Section("trend", TREND_SECTION[0])
        seg, total = self.trend_results()
        st = seg.to_frame()
        tt = total.to_frame()
        rows = []
        for m in self.spec.metrics:
            r = st[(st["metric"] == m.key) & (st["wave"] == w.wave)]
            t = tt[(tt["metric"] == m.key) & (tt["wave"] == w.wave)]
            if r.empty:
                continue
            r, t = r.iloc[0], (t.iloc[0] if len(t) else None)
            s.findings.append(self._trend_sentence(r, upper_first(self.name.among)))
            if t is not None:
                s.findings.append(self._trend_sentence(t, "In the total"))
            prev = st[(st["metric"] == m.key) & (st["wave"] == w.previous)]
            rows.append({"Metric": m.label,
                         w.previous: fmt_value(prev["estimate"].iloc[0], m.kind)
                         if len(prev) else "n/a",
                         w.wave: fmt_value(r["estimate"], m.kind),
                         "Change": fmt_diff(r["change_prev"], m.kind),
                         "Test": self._trend_cell(r, 1 if m.higher_is_better else -1),
                         "n": f"{int(r['n']):,}"})
        if rows:
            s.tables.append((f"{self.label}: {w.wave} against {w.previous}",
                             pd.DataFrame(rows, dtype=object)))
            both = pd.concat([tt, st.assign(segment=self.label, segment_label=self.label)],
                             ignore_index=True)
            res = TrendResult(both, [], seg.waves, None, self.alpha)
            s.figures.append(res.chart(title=f"Key metrics by wave: {self.label} and the total "
                                            "(95% CI; colour: significant change)"))
        s.notes.extend(str(n) for n in total.notes)
        s.technical.append("Changes are tested as independent samples with the package's test "
                           "for each statistic (Welch t on effective bases for means, pooled "
                           "z for percentages, z on linearisation SEs for NPS); each wave is "
                           "weighted to its own targets.")
        s.data.update({"trend": seg, "trend_total": total})
        return s

    def _trend_sentence(self, r, who: str) -> str:
        if pd.isna(r["change_prev"]):
            return (f"{who}, {lower_first(r['label'])} is "
                    f"{fmt_value(r['estimate'], r['kind'])} in {r['wave']}.")
        if r["n"] < self.min_base:
            sig = f"low base (n = {int(r['n'])}), not tested"
        else:
            sig = ("significant" if r["significant_prev"] else "not significant") + \
                f", {fmt_p(r['p_prev'])}"
        return (f"{who}, {lower_first(r['label'])} {fmt_diff(r['change_prev'], r['kind'])} since "
                f"{r['previous']} ({sig}): {fmt_value(r['estimate'], r['kind'])} in "
                f"{r['wave']}, n = {int(r['n']):,}.")

    def _trend_cell(self, r, polarity: int):
        if r["n"] < self.min_base:
            return "low base"
        if not np.isfinite(r["p_prev"]):
            return "not tested"
        if r["significant_prev"]:
            return Cell(f"{SIG_UP if r['change_prev'] > 0 else SIG_DOWN} {fmt_p(r['p_prev'])}",
                        MEANING_CSS[meaning(r["change_prev"], polarity)])
        return fmt_p(r["p_prev"])


def index_trend_html(survey, segment_by: str, wave, *, alpha: float = 0.05) -> str:
    """The index page's trend block of a wave report: one sentence per key metric of the
    total, and the small-multiples chart of every segment (significant changes coloured);
    ``""`` without ``wave`` or when it cannot be drawn (the pages still say the changes)."""
    if wave is None:
        return ""
    from ..waves import trend
    from .section import EXPECTED_ERRORS, _figure_html, shown_text
    from .spec import ReportSpec

    try:
        w = WaveChoice.of(survey, wave)
        if w.previous is None:
            return ""
        df = survey.data
        keep = df[w.column].map(str).isin(w.waves).to_numpy()
        metrics = ReportSpec.resolve(survey.questionnaire, df.columns,
                                     segment_by=segment_by).metrics
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SurveykitWarning)
            res = trend(df[keep], metrics, wave=w.column, by=segment_by,
                        weights=survey.weight_array()[keep],
                        questionnaire=survey.questionnaire, alpha=alpha,
                        changes=survey.meta.get("wave_changes"))
            fig = res.chart(title=f"Key metrics by wave, {w.wave} against {w.previous} "
                                 "(95% CI; colour: significant change from the previous wave)")
    except EXPECTED_ERRORS:
        return ""
    items = "".join(f"<li>{shown_text(res.sentence(m.key, wave=w.wave))}</li>"
                    for m in metrics if (res.table["metric"] == m.key).any())
    return (f'<h2>Change since {shown_text(w.previous)}</h2><div class="sk-findings"><ul>'
            f"{items}</ul></div>{_figure_html(fig, 'Key metrics by wave')}")
