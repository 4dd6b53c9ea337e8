"""Interrupts, termination and dead workers of the report runner.

Real ``surveykit report`` processes on the bundled demo survey get SIGTERM or a terminal's
Ctrl-C (SIGINT to the whole process group) while their notebooks run; afterwards no child
process or kernel may survive, the prepared respondent-level data must be gone, and the
output folder must hold the partial report, saying so. Each test runs in well under 30 s
on 2 cores and runs in CI (no skip: psutil comes with ipykernel; /proc is the fallback).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import nbformat
import pytest

from surveykit.reporting import runner
from surveykit.reporting.runner import DEFAULT_NOTEBOOK, ReportInterrupted, run_report
from surveykit.reporting.worker import WorkerPool, execute_all

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures" / "reporting"

pytestmark = pytest.mark.slow


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------
def _descendants(pid: int) -> set[int]:
    """Process ids of every descendant of ``pid`` (psutil, else /proc)."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil comes with ipykernel
        children: dict[int, list[int]] = {}
        for d in Path("/proc").iterdir():
            if d.name.isdigit():
                try:
                    ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                children.setdefault(ppid, []).append(int(d.name))
        found, todo = set(), [pid]
        while todo:
            for c in children.get(todo.pop(), []):
                found.add(c)
                todo.append(c)
        return found
    try:
        return {p.pid for p in psutil.Process(pid).children(recursive=True)}
    except psutil.NoSuchProcess:
        return set()


def _alive(pids: set[int]) -> set[int]:
    """Those of ``pids`` that are still running (zombies count as gone)."""
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            try:
                os.kill(pid, 0)
            except OSError:
                continue
            state = "R"
        if state not in ("Z", "X"):
            alive.add(pid)
    return alive


def _slow_notebook(path: Path, marker: Path, seconds: float) -> Path:
    """The findings notebook with a cell that writes ``marker`` (the kernel's parent, the
    worker's pid) and then sleeps."""
    nb = nbformat.read(DEFAULT_NOTEBOOK, as_version=4)
    nb.cells.insert(2, nbformat.v4.new_code_cell(
        f"import os, pathlib, time\npathlib.Path({str(marker)!r}).write_text(str(os.getppid()))\n"
        f"time.sleep({seconds})"))
    nbformat.write(nb, path)
    return path


def _start_report(tmp_path: Path, notebook: Path, *extra: str) -> subprocess.Popen:
    """``surveykit report`` on the demo survey in its own session, with private TMPDIR and
    Jupyter runtime folders."""
    for d in ("tmp", "runtime"):
        (tmp_path / d).mkdir()
    env = {**os.environ, "TMPDIR": str(tmp_path / "tmp"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    cmd = [sys.executable, "-m", "surveykit.cli", "report",
           "--questionnaire", str(ROOT / "questionnaires" / "pc_customers.yaml"),
           "--data", str(ROOT / "data" / "demo" / "responses.csv"),
           "--segment-by", "segment", "--workers", "2", "--notebook", str(notebook),
           "--out", str(tmp_path / "out"), *extra]
    return subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def _wait_for(proc: subprocess.Popen, ready, seen: set[int], timeout: float = 60) -> None:
    """Wait until ``ready()``, recording the process's descendants meanwhile."""
    deadline = time.monotonic() + timeout
    while not ready():
        seen |= _descendants(proc.pid)
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "the run never got there"
        time.sleep(0.1)
    seen |= _descendants(proc.pid)


def _assert_cleaned_up(tmp_path: Path, seen: set[int]) -> dict:
    """No surviving process, no prepared data, no staging folder or lock; the partial
    report in place. Returns the manifest."""
    deadline = time.monotonic() + 10
    while _alive(seen) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert seen and not _alive(seen), f"processes survived: {_alive(seen)}"
    assert not list((tmp_path / "tmp").glob("surveykit-report-*"))   # respondent data gone
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "out", "runtime", "slow.ipynb", "started", "tmp"]             # no staging, no lock
    assert not list((tmp_path / "runtime").glob("kernel-*.json"))      # no kernel left
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["run"]["status"] == "interrupted" and manifest["run"]["ok"] is False
    index = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert "This run was interrupted: the report is partial" in index
    return manifest


# ------------------------------------------------------------------------------------------
# signals to a real `surveykit report`
# ------------------------------------------------------------------------------------------
def test_sigterm_stops_the_report_and_cleans_up(tmp_path):
    started = tmp_path / "started"
    proc = _start_report(tmp_path, _slow_notebook(tmp_path / "slow.ipynb", started, 120))
    seen: set[int] = set()
    try:
        _wait_for(proc, started.exists, seen)       # a notebook is running on its kernel
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 143, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    assert "interrupted (SIGTERM); the partial report: " in err
    manifest = _assert_cleaned_up(tmp_path, seen)
    statuses = {s["status"] for s in manifest["segments"]}
    assert statuses == {"interrupted"} and len(manifest["segments"]) == 6
    assert all(s["html"] is None and s["notebook"] is None for s in manifest["segments"])


def test_sigterm_stops_a_one_worker_run_in_the_command_process(tmp_path):
    """--workers 1 runs the notebooks in the command's own process, on its own kernel."""
    started = tmp_path / "started"
    proc = _start_report(tmp_path, _slow_notebook(tmp_path / "slow.ipynb", started, 120),
                         "--workers", "1", "--no-overview", "--segments", "1", "2")
    seen: set[int] = set()
    try:
        _wait_for(proc, started.exists, seen)
        assert int(started.read_text()) == proc.pid          # the kernel is the command's
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 143, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    manifest = _assert_cleaned_up(tmp_path, seen)
    assert [s["status"] for s in manifest["segments"]] == ["interrupted", "interrupted"]
    assert manifest["run"]["overview"] is None


def test_ctrl_c_in_a_terminal_stops_the_report_and_cleans_up(tmp_path):
    """SIGINT to the whole process group, as a terminal sends it: the workers ignore it and
    the parent stops them; the overview page has been written by then."""
    started = tmp_path / "started"
    proc = _start_report(tmp_path, _slow_notebook(tmp_path / "slow.ipynb", started, 120),
                         "--segments", "1", "2")
    seen: set[int] = set()
    out = tmp_path / "out"
    try:
        _wait_for(proc, started.exists, seen)
        # the overview runs first on one worker while the other sleeps in a segment
        _wait_for(proc, lambda: any(p.name.startswith(".out.surveykit-new-")
                                    and (p / "overview.html").exists()
                                    for p in tmp_path.iterdir()), seen)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    manifest = _assert_cleaned_up(tmp_path, seen)
    assert manifest["run"]["overview"]["status"] == "ok"
    assert (out / "overview.html").is_file() and (out / "tabbook.xlsx").is_file()
    assert [s["status"] for s in manifest["segments"]] == ["interrupted", "interrupted"]
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "(0 of 2 segment page(s) written)" in index and 'href="overview.html"' in index
    assert oct((out).stat().st_mode & 0o777) != oct(0o700)          # shared like any folder


# ------------------------------------------------------------------------------------------
# in-process: an interrupt during the tab book write
# ------------------------------------------------------------------------------------------
def test_an_interrupt_while_the_tab_book_is_written_cleans_up(tmp_path, monkeypatch):
    import psutil

    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(private))
    seen: set[int] = set()

    def running():  # this process's live children (not zombies an earlier test left)
        out = set()
        for p in psutil.Process().children(recursive=True):
            try:
                if p.status() != psutil.STATUS_ZOMBIE and \
                        "resource_tracker" not in " ".join(p.cmdline()):
                    out.add(p.pid)
            except psutil.Error:  # gone (or a zombie) meanwhile
                pass
        return out

    before = running()

    def ours():  # this run's workers and kernels (not multiprocessing's tracker)
        return running() - before

    def interrupted_write(*args, **kwargs):
        # the pool's workers are warming up meanwhile
        seen.update(ours())
        prepared = list(private.glob("surveykit-report-*"))
        assert len(prepared) == 1 and prepared[0].stat().st_mode & 0o777 == 0o700
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "write_tabbook", interrupted_write)
    out = tmp_path / "out"
    (out).mkdir()
    (out / "old.html").write_text("a stale page", encoding="utf-8")
    (out / "manifest.json").write_text(json.dumps({"run": {}, "segments": [
        {"html": "old.html"}]}), encoding="utf-8")
    with pytest.raises(ReportInterrupted) as info:
        run_report(FIX / "questionnaire.yaml", FIX / "responses.csv", segment_by="segment",
                   segments=["tiny", "a/b c"], workers=2, overview=False, out=out,
                   progress=False)
    assert info.value.signum == signal.SIGINT
    assert info.value.result.index_path == out / "index.html"
    assert len(seen) >= 2 and not _alive(seen) and not ours()         # workers stopped
    assert not list(private.iterdir())                                # prepared data gone
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "tmp"]
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "manifest.json"]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["run"]["status"] == "interrupted"
    assert manifest["run"]["tabbook"]["status"] == "interrupted"
    assert [s["status"] for s in manifest["segments"]] == ["interrupted", "interrupted"]
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "the report is partial (0 of 2 segment page(s) written)" in index
    assert "Tab book (Excel): not written (interrupted)" in index


def test_an_interrupt_while_the_data_are_prepared_leaves_a_stub_report(tmp_path, monkeypatch):
    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(private))

    def interrupted_plan(*args, **kwargs):
        raise ReportInterrupted(signal.SIGTERM)

    monkeypatch.setattr(runner, "_plan", interrupted_plan)
    out = tmp_path / "out"
    with pytest.raises(ReportInterrupted) as info:
        run_report(FIX / "questionnaire.yaml", FIX / "responses.csv", segment_by="segment",
                   workers=1, overview=False, out=out, progress=False)
    assert info.value.signum == signal.SIGTERM
    assert "interrupted (SIGTERM); the partial report: " in str(info.value)
    assert not list(private.iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "tmp"]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["segments"] == [] and manifest["run"]["status"] == "interrupted"
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "interrupted while it prepared the data" in index and "partial" in index


# ------------------------------------------------------------------------------------------
# a worker killed outright is replaced
# ------------------------------------------------------------------------------------------
def test_a_killed_worker_is_replaced_and_its_job_run_again(tmp_path, monkeypatch, capfd):
    (tmp_path / "slowjob.py").write_text(textwrap.dedent("""\
        import os, pathlib, time

        def run(job):
            pathlib.Path(job["pidfile"]).write_text(str(os.getpid()))
            time.sleep(job["sleep"])
            return {"status": "ok", "error": None, "seconds": job["sleep"], "headline": {},
                    "attempts": 0, "pid": os.getpid()}
        """), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))  # spawned workers import it by name
    monkeypatch.delitem(sys.modules, "slowjob", raising=False)
    from slowjob import run

    jobs = [{"title": f"job {i}", "html": str(tmp_path / f"{i}.html"), "sleep": 1.5,
             "pidfile": str(tmp_path / f"{i}.pid")} for i in range(4)]
    entries = [{"label": f"job {i}", "status": "pending"} for i in range(4)]
    victim = tmp_path / "0.pid"
    killed = []

    def kill_the_first_job_once():
        while not victim.exists():
            time.sleep(0.02)
        time.sleep(0.2)
        pid = int(victim.read_text())
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    killer = threading.Thread(target=kill_the_first_job_once, daemon=True)
    pool = WorkerPool(2)
    first = set(pool.pids)
    killer.start()
    execute_all(jobs, entries, workers=2, progress=False, run=run, pool=pool)
    killer.join(timeout=5)
    assert killed and killed[0] in first
    assert [e["status"] for e in entries] == ["ok"] * 4                # job 0 ran again
    assert int(victim.read_text()) != killed[0]
    assert pool.replaced == 1          # the pool went on with two workers, not one
    assert not _alive(first) and pool.workers == []
    assert "AssertionError" not in capfd.readouterr().err


def test_a_job_that_kills_every_worker_fails_alone_and_the_pool_goes_on(tmp_path,
                                                                        monkeypatch):
    (tmp_path / "killer.py").write_text(textwrap.dedent("""\
        import os

        def run(job):
            if job["die"]:
                os._exit(7)
            return {"status": "ok", "error": None, "seconds": 0.0, "headline": {},
                    "attempts": 0}
        """), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "killer", raising=False)
    from killer import run

    jobs = [{"title": f"job {i}", "html": str(tmp_path / f"{i}.html"), "die": i == 1}
            for i in range(5)]
    entries = [{"label": f"job {i}", "status": "pending"} for i in range(5)]
    with WorkerPool(2) as pool:
        execute_all(jobs, entries, workers=2, progress=False, run=run, pool=pool)
        assert pool.replaced >= 1
    assert [e["status"] for e in entries] == ["ok", "failed", "ok", "ok", "ok"]
    assert "exited with code 7 while running this notebook, twice" in entries[1]["error"]
    assert "could not be produced" in (tmp_path / "1.html").read_text(encoding="utf-8")
