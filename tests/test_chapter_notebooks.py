"""The four chapter notebooks in ``notebooks/`` (issue 12, item 1): committed without outputs,
and each runs in a fresh kernel with no error and nothing on stderr (so no warning), showing
at least one inline chart and one HTML table, as a reader sees it in JupyterLab."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from test_notebook_display import _mimetypes

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ["01_questionnaire_and_checks.ipynb", "02_weighting_and_estimates.ipynb",
            "03_measurement_and_drivers.ipynb", "04_segments_and_reports.ipynb"]


def test_the_notebooks_folder_holds_the_four_chapters():
    assert sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb")) == CHAPTERS


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_is_committed_without_outputs_and_reads_like_a_chapter(name):
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.get("outputs") and not c.get("execution_count") for c in code)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# Chapter")
    # a question before each call and a sentence on reading each result: prose leads
    prose = [c for c in nb.cells if c.cell_type == "markdown"]
    assert len(prose) >= len(code) and nb.cells[-1].cell_type == "markdown"

@pytest.mark.slow
@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_runs_without_errors_or_warnings_and_shows_a_chart_and_a_table(
        name, tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the files a chapter writes land here
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    NotebookClient(nb, kernel_name="python3", timeout=600,
                   resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    outputs = [o for c in code for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    stderr = [o.text for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    assert not stderr, stderr
    mimes = set().union(*map(_mimetypes, code))
    assert mimes & {"image/png", "image/svg+xml"}, mimes
    tables = [o.data["text/html"] for o in outputs if "<table" in o.get("data", {}).get(
        "text/html", "")]
    assert tables
