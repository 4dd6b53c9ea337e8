"""Running one report notebook: parameterise, execute on a warm kernel, export to HTML.

:func:`run_segment` is the job a worker runs (in a worker process, in this process for one
worker, or on a Dask worker): papermill parameterises the notebook (:func:`parameterised`),
nbclient executes it on the worker's warm kernel (:mod:`.kernels`) with a per-notebook
deadline, and the executed notebook is exported to self-contained HTML in-process; a failed
run gets a failure page. A kernel that timed out or died is replaced, never reused.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path

from .export import HEADLINE_MIME, export_html, failure_page
from .kernels import _KERNELS, _warm_kernel

__all__ = ["run_segment", "parameterised", "skip_slow_schema_formats"]


def skip_slow_schema_formats() -> None:
    """Import jsonschema (which nbformat, papermill and nbconvert load) without its
    ``rfc3987_syntax`` IRI checker, whose import compiles three Earley grammars: about
    1.4 s of CPU in every process that reads a notebook (the parent, each worker), a
    third of a report's fixed cost. Notebook validation does not use the ``iri`` formats.
    Only the checker jsonschema registers at import is left out: ``rfc3987_syntax`` itself
    stays importable. Does nothing once jsonschema is loaded.
    """
    if "jsonschema" in sys.modules or "rfc3987_syntax" in sys.modules:
        return
    sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment] - import -> ImportError
    try:
        import jsonschema  # noqa: F401 - registers its format checkers now
    except ImportError:  # pragma: no cover - nbformat needs it; nothing to speed up
        pass
    finally:
        if "rfc3987_syntax" in sys.modules and sys.modules["rfc3987_syntax"] is None:
            del sys.modules["rfc3987_syntax"]


def _describe(exc: BaseException, timeout: float) -> tuple[str, str, str]:
    """``(status, one-line error, details)`` of a failed run."""
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    if isinstance(exc, CellExecutionError):
        tb = str(exc)
        return ("failed", f"{exc.ename}: {exc.evalue}", tb)
    if isinstance(exc, CellTimeoutError):
        return ("timeout", f"the notebook did not finish within the {timeout:g} s timeout",
                str(exc))
    if isinstance(exc, DeadKernelError):
        return ("failed", f"the kernel died while running the notebook: {exc}", str(exc))
    return ("failed", f"{type(exc).__name__}: {exc}",
            "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))


def _headline(nb) -> dict:
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data") or {}
            if HEADLINE_MIME in data:
                value = data[HEADLINE_MIME]
                return json.loads(value) if isinstance(value, str) else dict(value)
    return {}


def parameterised(notebook, parameters: dict, kernel_name: str):
    """A copy of the notebook (a path or NotebookNode) with papermill's injected-parameters
    cell (replacing one injected before)."""
    import copy

    skip_slow_schema_formats()
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    nb = (copy.deepcopy(notebook) if hasattr(notebook, "cells")  # papermill edits in place
          else load_notebook_node(str(notebook)))
    return parameterize_notebook(nb, parameters, kernel_name=kernel_name, language="python")


def run_segment(job: dict) -> dict:
    """Execute one segment's notebook on the worker's warm kernel and export it."""
    skip_slow_schema_formats()
    import nbformat
    from nbclient.exceptions import CellExecutionError

    t0 = time.monotonic()
    output, page = job["output"], job["html"]
    status, error, details, starts, headline = "ok", None, None, 0, {}
    nb = None
    phases: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        now = time.monotonic()
        phases[name] = round(now - since, 3)
        return now

    try:
        nb = (nbformat.reads(job["source"], as_version=4) if job.get("source") is not None
              else parameterised(job["notebook"], job["parameters"], job["kernel_name"]))
        t = lap("parameterise", t0)
        kernel, starts = _warm_kernel(job)
        t = lap("kernel_start" if starts else "kernel_reset", t)
        deadline = time.monotonic() + job["timeout"]
        try:
            kernel.client(nb, deadline).execute()
            lap("execute", t)
            kernel.runs += 1
        except CellExecutionError:
            kernel.runs += 1  # the kernel is fine: the notebook raised
            raise
        except BaseException as exc:
            # timed out, died or unknown state: never reuse it; interrupted: kill it now
            kernel.kill() if isinstance(exc, KeyboardInterrupt) else kernel.stop()
            _KERNELS.pop(job["kernel_name"], None)
            raise
        finally:
            if not job.get("reuse_kernel", True):
                kernel.kill()  # done with it: no graceful shutdown wait
                _KERNELS.pop(job["kernel_name"], None)
    except Exception as exc:  # noqa: BLE001 - a failed segment is reported, not raised
        status, error, details = _describe(exc, job["timeout"])
    if nb is not None:
        try:
            nbformat.write(nb, output)
        except Exception:  # noqa: BLE001, S110 - the HTML matters more
            pass
    if status == "ok":
        try:
            t = time.monotonic()
            headline = _headline(nb)
            export_html(nb, page, title=job["title"])
            lap("export", t)
        except Exception as exc:  # noqa: BLE001
            status, error, details = _describe(exc, job["timeout"])
    if status != "ok":
        failure_page(job["title"], error or "unknown error", details=details,
                     notebook_name=Path(output).name if Path(output).exists() else None,
                     html_path=page)
    return {"status": status, "error": error, "attempts": starts, "headline": headline,
            "seconds": round(time.monotonic() - t0, 3), "phases": phases}


def _mark(entry: dict, result: dict) -> None:
    entry.update({k: result.get(k) for k in ("status", "error", "seconds", "headline",
                                             "attempts", "phases")})


def _safe_run(job: dict, run=None) -> dict:
    try:
        return (run or run_segment)(job)
    except Exception as exc:  # noqa: BLE001
        return _crashed(job, f"{type(exc).__name__}: {exc}")


def _crashed(job: dict, reason: str) -> dict:
    error = f"the worker process failed: {reason}"
    try:
        failure_page(job["title"], error, html_path=job["html"])
    except Exception:  # noqa: BLE001, S110 - nothing more can be done
        pass
    return {"status": "failed", "error": error, "seconds": None, "headline": {}, "attempts": 1}
