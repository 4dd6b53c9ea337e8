"""Per-segment findings reports: papermill fan-out, offline HTML export, index page.

:func:`run_report` is the entry point (also ``surveykit report``); the notebooks call
:class:`SegmentFindings` (one method per report section) and :mod:`.overview`.

The names below are loaded on first use (PEP 562): a report's worker process imports
:mod:`.worker` through this package and needs none of the analysis modules (pandas,
scipy, matplotlib), which its notebook kernel loads itself.
"""

from __future__ import annotations

import importlib

#: public name -> submodule defining it
_WHERE = {
    "export_html": "export", "failure_page": "export", "remote_references": "export",
    "SegmentFindings": "findings", "open_survey": "findings",
    "index_html": "index", "write_index": "index", "write_manifest": "index",
    "inside": "names", "safe_name": "names", "unique_names": "names",
    "Overview": "overview",
    "ReportResult": "runner", "check_parameters": "runner", "notebook_parameters": "runner",
    "run_report": "runner",
    "Section": "section",
    "Metric": "spec", "ReportSpec": "spec",
}

__all__ = ["run_report", "ReportResult", "check_parameters", "notebook_parameters",
           "export_html", "failure_page", "remote_references", "write_index", "write_manifest",
           "index_html", "safe_name", "unique_names", "inside", "SegmentFindings", "Section",
           "open_survey", "ReportSpec", "Metric", "Overview"]


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
