"""Per-segment findings reports: papermill fan-out, offline HTML export, index page.

:func:`run_report` is the entry point (also ``surveykit report``); the notebooks call
:class:`SegmentFindings` (one method per report section) and :mod:`.overview`.
"""

from .export import export_html, failure_page, remote_references
from .findings import SegmentFindings, open_survey
from .index import index_html, write_index, write_manifest
from .names import inside, safe_name, unique_names
from .overview import Overview
from .runner import ReportResult, check_parameters, notebook_parameters, run_report
from .section import Section
from .spec import Metric, ReportSpec

__all__ = ["run_report", "ReportResult", "check_parameters", "notebook_parameters",
           "export_html", "failure_page", "remote_references", "write_index", "write_manifest",
           "index_html", "safe_name", "unique_names", "inside", "SegmentFindings", "Section",
           "open_survey", "ReportSpec", "Metric", "Overview"]
