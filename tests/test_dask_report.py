"""Segment pages on a Dask cluster: the same report as a local run, page for page.

A LocalCluster of two worker processes runs the real findings notebook (a copy that fails
one segment) on the fixture survey; the local run with two worker processes is the
reference. The pages' text (tags stripped, the date masked) must be equal, the manifest
entries and headlines too, and the failing segment fails alone, with the same error, on
both. Nothing is left behind on the workers.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import nbformat
import pytest

from surveykit import cli
from surveykit.errors import ReportError
from surveykit.reporting.runner import DEFAULT_NOTEBOOK, run_report

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures" / "reporting"
SEGMENTS = ["../../etc", "a/b c", "tiny"]
FAIL = "a/b c"

pytestmark = pytest.mark.slow


def _failing_copy(folder: Path) -> Path:
    nb = nbformat.read(DEFAULT_NOTEBOOK, as_version=4)
    nb.cells.insert(3, nbformat.v4.new_code_cell(
        f"if segment == {FAIL!r}:\n    raise RuntimeError('forced failure on ' + segment)"))
    path = folder / "failing.ipynb"
    nbformat.write(nb, path)
    return path


def _text(html: str) -> str:
    """A page's visible text: no tags, no embedded images; the date and the kernel's
    execution count in a traceback masked."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S | re.I)
    html = re.sub(r"data:image/[a-z+]+;base64,[A-Za-z0-9+/=]+", "", html)
    text = re.sub(r"<[^>]+>", " ", html)
    text = re.sub(r"\d{4}-\d{2}-\d{2}( \d{2}:\d{2})?", "DATE", text)
    text = re.sub(r"Cell In ?\[\d+\]", "Cell In[N]", text)   # the kernel's execution count
    return " ".join(text.split())


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("dask")
    notebook = _failing_copy(base)
    common = dict(targets=FIX / "targets.yaml", crm=FIX / "crm.csv", segment_by="segment",
                  segments=SEGMENTS, workers=2, overview=False, notebook=notebook,
                  progress=False, timeout=300)
    local = run_report(FIX / "questionnaire.yaml", FIX / "responses.csv",
                       out=base / "local", **common)
    before = set(Path(tempfile.gettempdir()).glob("surveykit-dask-*"))
    dask = run_report(FIX / "questionnaire.yaml", FIX / "responses.csv",
                      out=base / "dask", scheduler="local", **common)
    left = set(Path(tempfile.gettempdir()).glob("surveykit-dask-*")) - before
    return {"local": local, "dask": dask, "left": left}


def test_a_dask_run_writes_the_same_pages_as_a_local_run(runs):
    local, dask = runs["local"], runs["dask"]
    keys = ("value", "label", "status", "base", "weighted_share", "low_base", "html",
            "notebook", "headline")
    assert [{k: s[k] for k in keys} for s in dask.segments] == \
        [{k: s[k] for k in keys} for s in local.segments]
    assert [s["status"] for s in dask.segments] == ["ok", "failed", "ok"]
    for s in local.segments:
        mine = _text((dask.out / s["html"]).read_text(encoding="utf-8"))
        theirs = _text((local.out / s["html"]).read_text(encoding="utf-8"))
        assert mine == theirs, s["label"]
        if s["status"] == "ok":
            assert "Key metrics" in mine and len(mine) > 2000
        kept = nbformat.read(dask.out / s["notebook"], as_version=4)    # executed notebook
        assert any(c.get("outputs") for c in kept.cells)
    manifest = json.loads(dask.manifest_path.read_text(encoding="utf-8"))
    assert manifest["run"]["scheduler"] == "local"
    assert json.loads(local.manifest_path.read_text(encoding="utf-8"))["run"]["scheduler"] \
        is None
    index = (dask.out / "index.html").read_text(encoding="utf-8")
    assert _text(index) == _text((local.out / "index.html").read_text(encoding="utf-8"))


def test_a_failing_segment_fails_alone_on_dask(runs):
    dask = runs["dask"]
    assert not dask.ok
    failed = [s for s in dask.segments if s["status"] != "ok"]
    assert [s["value"] for s in failed] == [FAIL]
    assert failed[0]["error"] == "RuntimeError: forced failure on a/b c"
    page = (dask.out / failed[0]["html"]).read_text(encoding="utf-8")
    assert "forced failure on a/b c" in page


def test_the_workers_keep_no_files_of_the_run(runs):
    assert not [p for p in runs["left"] if p.exists() and any(p.iterdir())]


def test_report_refuses_an_unreachable_scheduler_and_a_bad_one(tmp_path):
    with pytest.raises(ReportError, match="scheduler must be"):
        run_report(FIX / "questionnaire.yaml", FIX / "responses.csv", segment_by="segment",
                   out=tmp_path / "a", scheduler="  ", progress=False)
    args = cli.build_parser().parse_args(["report", "--questionnaire", "q", "--data", "d",
                                          "--segment-by", "s", "--scheduler", "local"])
    assert args.scheduler == "local"
