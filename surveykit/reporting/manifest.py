"""The record of a report run: :class:`ReportResult`, ``manifest.json`` and ``index.html``.

``_finish`` writes the manifest and the index of a finished (or interrupted) run and
returns its :class:`ReportResult`; ``_mark_interrupted`` and ``_interrupted_stub`` mark
what an interrupted run did not write.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .. import __version__
from .._util import lower_first
from .index import write_index, write_manifest

__all__ = ["ReportResult"]


@dataclass
class ReportResult:
    """What :func:`run_report` wrote.

    Attributes
    ----------
    out : Path
        The output folder.
    index_path, manifest_path : Path
    segments : list of dict
        Per segment: ``value, label, status, seconds, base, weighted_share, low_base,
        error, html, notebook, headline`` (as in ``manifest.json``).
    ok : bool
        True when every segment's report was produced.
    seconds : float
        Wall time of the whole run.
    """

    out: Path
    index_path: Path
    manifest_path: Path
    segments: list[dict] = field(default_factory=list)
    ok: bool = True
    seconds: float = 0.0
    prepare_seconds: float = 0.0
    overview: dict | None = None
    tabbook: dict | None = None
    #: seconds since the start at which each stage ended: ``prepared``, ``tabbook_written``,
    #: ``pages_done``, ``workers_ready`` (one per warm worker)
    phases: dict = field(default_factory=dict)

    @property
    def failed(self) -> list[dict]:
        """Entries (segments, the overview, the tab book) that show an error."""
        out = [s for s in self.segments if s["status"] != "ok"]
        if self.overview is not None and self.overview["status"] != "ok":
            out.append(self.overview)
        if self.tabbook is not None and self.tabbook["status"] == "failed":
            out.append(self.tabbook)
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row per segment: label, status, base, seconds, error, html."""
        cols = ["value", "label", "status", "base", "weighted_share", "seconds", "error", "html"]
        return pd.DataFrame([{c: s.get(c) for c in cols} for s in self.segments], columns=cols)

    def summary(self) -> str:
        n_ok = sum(s["status"] == "ok" for s in self.segments)
        return (f"{n_ok} of {len(self.segments)} segment reports written in "
                f"{self.seconds:.1f} s; index: {self.index_path}")

    def __repr__(self) -> str:
        return f"ReportResult({self.summary()})"

    def _repr_html_(self) -> str:
        return (f"<p>{html.escape(self.summary())}</p>"
                + self.to_frame().to_html(index=False, na_rep=""))


def _mark_interrupted(stage: Path, entries: list, tabbook: dict | None) -> dict:
    """Mark the pages that an interrupted run did not write; the tab book entry."""
    for e in entries:
        if e is None or e["status"] != "pending":
            continue
        e.update(status="interrupted", error="not written: the run was interrupted first")
        for key in ("html", "notebook"):
            if e.get(key) and not (stage / e[key]).exists():
                e[key] = None
    return tabbook or {"label": "Tab book (Excel)", "path": None, "status": "interrupted",
                       "error": "the run was interrupted before it was written"}


def _interrupted_stub(stage: Path, inputs: dict, segment_by: str, t_start: float,
                      started: str) -> ReportResult:
    """manifest.json and index.html of a run interrupted while it prepared the data."""
    seconds = time.monotonic() - t_start
    run = {"surveykit": __version__, "started": started, "seconds": round(seconds, 3),
           **{k: (str(Path(inputs[k]).resolve()) if inputs[k] is not None else None)
              for k in ("questionnaire", "data", "targets", "crm")},
           "segment_by": segment_by, "ok": False, "status": "interrupted"}
    manifest_path = write_manifest(stage / "manifest.json", run, [])
    index_path = write_index(stage / "index.html", "Survey report (interrupted)", [],
                             subtitle="The run was interrupted while it prepared the data; "
                                      "no page was written.", interrupted=True)
    return ReportResult(stage, index_path, manifest_path, [], False, seconds)


def _finish(survey, entries, ov_entry, abspath, out, t_start, started, prepare_seconds,
            segment_by, workers, timeout, min_base, nb_path, extra, prewarmed,
            tabbook=None, *, interrupted: bool = False,
            phases: dict | None = None, scheduler: str | None = None) -> ReportResult:
    """Write manifest.json and index.html; the result. ``interrupted``: the run was
    stopped (run status ``interrupted``; the index says the report is partial)."""
    ok = all(e["status"] == "ok" for e in entries) and (
        ov_entry is None or ov_entry["status"] == "ok") and (
        tabbook is None or tabbook["status"] != "failed") and not interrupted
    seconds = time.monotonic() - t_start
    seg_label = _variable_label(survey, segment_by)
    run = {
        "surveykit": __version__, "started": started, "seconds": round(seconds, 3),
        "prepare_seconds": round(prepare_seconds, 3),
        "questionnaire": abspath["questionnaire"], "data": abspath["data"],
        "targets": abspath["targets"], "crm": abspath["crm"], "segment_by": segment_by,
        "segment_label": seg_label, "segments": [e["value"] for e in entries],
        "workers": workers, "timeout": timeout, "min_base": min_base,
        "notebook": str(nb_path), "parameters": extra, "n": int(len(survey.data)),
        "weighted": survey.weights is not None,
        "weighting_efficiency": survey.meta.get("weighting_efficiency"),
        "prewarmed_workers": prewarmed, "overview": ov_entry, "tabbook": tabbook, "ok": ok,
        "status": "interrupted" if interrupted else ("ok" if ok else "failed"),
        "unsegmented": _unsegmented(survey, segment_by),
        "report_spec": survey.meta.get("report_spec"),
        "phases": phases or {},
        "scheduler": scheduler,
    }
    manifest_path = write_manifest(out / "manifest.json", run, entries)
    title = f"{survey.questionnaire.title}: findings by {lower_first(seg_label)}"
    total = _total_row(entries, len(survey.data))
    notes = _index_notes(survey, min_base, segment_by)
    sub = (f"{len(survey.data):,} respondents; {len(entries)} segments of "
           f"{lower_first(seg_label)}; "
           f"{'weighted' if survey.weights else 'unweighted'}"
           + (f" (weighting efficiency {100 * survey.meta['weighting_efficiency']:.0f}%)"
              if survey.meta.get("weighting_efficiency") is not None else ""))
    index_path = write_index(out / "index.html", title, entries, total=total, notes=notes,
                             subtitle=sub, overview=ov_entry, tabbook=tabbook,
                             interrupted=interrupted, trend=survey.meta.get("index_trend", ""))
    return ReportResult(out, index_path, manifest_path, entries, ok, seconds, prepare_seconds,
                        ov_entry, tabbook, phases or {})


def _variable_label(survey, name: str) -> str:
    try:
        return survey.questionnaire.variable(name).label
    except KeyError:
        return name


def _total_row(entries: list[dict], n: int) -> dict:
    total: dict[str, Any] = {"base": f"{n:,}"}
    for e in entries:
        for m in e.get("headline", {}).get("total", []) or []:
            total.setdefault(m["key"], m)
    return total


def _unsegmented(survey, segment_by: str) -> int:
    """Respondents with no value of the segment variable (in the total, in no segment)."""
    return int(survey.data[segment_by].isna().sum())


def _index_notes(survey, min_base: int, segment_by: str) -> list[str]:
    unseg = _unsegmented(survey, segment_by)
    spec = survey.meta.get("report_spec") or {}
    return [
        *([f"{unseg:,} of {len(survey.data):,} respondents have no "
           f"{_variable_label(survey, segment_by).lower()}: they are in the total and in "
           "every comparison with the rest of the sample, but in no segment, so the segment "
           f"bases add up to {len(survey.data) - unseg:,}."] if unseg else []),
        *(["The questionnaire declares no report: block, so the report's inputs were "
           "inferred (listed in each report's method note)."] if spec.get("notes") else []),
        "Arrows mark segment results significantly higher (▲) or lower (▼) than the rest of "
        "the sample at the 5% level (two-sided tests on effective bases; details in each "
        "report's method note); green is better, red is worse (a lower complaint rate is "
        "better).",
        f"Bases under {min_base} respondents are flagged 'low base' and not tested.",
        "Base = unweighted respondents; share = weighted share of the sample.",
    ]
