"""Worker side of the report runner: warm kernels, one notebook per job, HTML export.

Each worker process keeps one Jupyter kernel warm across its jobs: papermill parameterises
the notebook, nbclient executes it on the kernel with a per-notebook deadline, and the
executed notebook is exported to HTML in-process. Between notebooks the user namespace is
cleared and the working folder restored; a kernel that timed out or died is replaced, never
reused; a kernel that fails to start is retried once (and only then). A pool initializer
starts each worker's kernel and loads the analysis modules while the parent prepares the
data. :func:`execute_all` runs the jobs (in this process for one worker) and isolates a job
that kills its worker process.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import tempfile
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from ..errors import ReportError
from .export import HEADLINE_MIME, export_html, failure_page

__all__ = ["KernelStartError", "execute_all", "start_pool", "abort_pool", "run_segment"]


class KernelStartError(ReportError):
    """A Jupyter kernel could not be started (after one retry)."""


class _Kernel:
    """One Jupyter kernel kept warm by a worker process across its segments.

    Between notebooks the user namespace is cleared (``%reset -f``) and the working folder
    restored, so each notebook starts from its parameters; imported modules stay loaded,
    which is where a fresh kernel spends most of its start-up time.
    """

    def __init__(self, kernel_name: str, cwd: str, start_timeout: float):
        self.kernel_name, self.cwd, self.start_timeout = kernel_name, cwd, start_timeout
        self._owner = None
        self.km = self.kc = None
        self.runs = 0

    def start(self) -> None:
        import nbformat
        from nbclient import NotebookClient

        owner = NotebookClient(nbformat.v4.new_notebook(), kernel_name=self.kernel_name,
                               startup_timeout=int(self.start_timeout),
                               resources={"metadata": {"path": self.cwd}})
        owner.km = owner.create_kernel_manager()
        if getattr(owner.km, "ipykernel", False):
            # no output history: a finished notebook's results must not stay referenced
            owner.extra_arguments = [*owner.extra_arguments, "--InteractiveShell.cache_size=0"]
        # the kernel's own log (e.g. ipykernel's transport notice) goes to a file, not the
        # terminal; cell output travels over the kernel protocol as usual
        self._log = tempfile.TemporaryFile(prefix="surveykit-kernel-")
        try:
            owner.start_new_kernel(stdout=self._log, stderr=self._log)
            owner.start_new_kernel_client()
        except BaseException as exc:
            self._owner = owner
            log = self.log_tail()
            self.stop()
            if log:
                raise RuntimeError(f"{type(exc).__name__}: {exc}; kernel log: {log}") from exc
            raise
        self._owner, self.km, self.kc, self.runs = owner, owner.km, owner.kc, 0

    def log_tail(self, n: int = 800) -> str:
        log = getattr(self, "_log", None)
        if log is None:
            return ""
        try:
            log.seek(0)
            return log.read().decode("utf-8", "replace")[-n:].strip()
        except (OSError, ValueError):
            return ""

    def alive(self) -> bool:
        if self.km is None:
            return False
        from jupyter_core.utils import run_sync
        from nbclient.util import ensure_async

        async def _alive():
            return await ensure_async(self.km.is_alive())

        try:
            return bool(run_sync(_alive)())
        except Exception:  # noqa: BLE001
            return False

    def stop(self) -> None:
        owner, self._owner, self.km, self.kc = self._owner, None, None, None
        if owner is not None and owner.km is not None:
            try:
                owner._cleanup_kernel()
            except Exception:  # noqa: BLE001, S110 - shutting down anyway
                pass
        log, self._log = getattr(self, "_log", None), None
        if log is not None:
            log.close()

    def client(self, nb, deadline: float | None = None):
        from nbclient import NotebookClient

        c = NotebookClient(
            nb, km=self.km, kernel_name=self.kernel_name, record_timing=True,
            startup_timeout=int(self.start_timeout), allow_errors=False,
            timeout_func=(lambda cell: max(1.0, deadline - time.monotonic()))
            if deadline is not None else None,
            resources={"metadata": {"path": self.cwd}})
        c.kc = self.kc
        return c

    def reset(self) -> None:
        """Delete every user variable (like ``%reset -f`` without its full garbage
        collection, which costs ~0.3 s on a heap with pandas and matplotlib loaded) and go
        back to the working folder."""
        import nbformat

        self.client(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
            _RESET_CODE.format(cwd=repr(self.cwd)))]),
            deadline=time.monotonic() + self.start_timeout).execute()


_KERNELS: dict[tuple, _Kernel] = {}
_RESET_CODE = """\
def _surveykit_reset(cwd):
    import os, re
    ip = get_ipython()
    keep = set(ip.user_ns_hidden)
    system = re.compile(r"^(_i+\\d*|_\\d+|_[ohd]h|__.*__|_+)$")
    for name in [n for n in list(ip.user_ns) if n not in keep and not system.match(n)]:
        del ip.user_ns[name]
    out = ip.user_ns.get("Out")
    if isinstance(out, dict):
        out.clear()
    os.chdir(cwd)
_surveykit_reset({cwd})  # deletes itself too
"""


def _shutdown_kernels() -> None:
    while _KERNELS:
        _, k = _KERNELS.popitem()
        k.stop()


def _warm_kernel(job: dict) -> tuple[_Kernel, int]:
    """The worker's kernel for ``job``: reused if alive, else started (one retry).

    Returns the kernel and how many start attempts were made.
    """
    key = (job["kernel_name"], job["cwd"])
    k = _KERNELS.get(key)
    if k is not None and k.alive():
        try:
            k.reset()
            return k, 0
        except Exception:  # noqa: BLE001 - a kernel that cannot reset is replaced
            k.stop()
    if not _KERNELS:
        import atexit

        atexit.register(_shutdown_kernels)
    k = _Kernel(job["kernel_name"], job["cwd"], job["start_timeout"])
    _KERNELS[key] = k
    for attempt in (1, 2):  # one retry, for kernel start-up failures only
        try:
            k.start()
            return k, attempt
        except Exception as exc:  # noqa: BLE001
            if attempt == 2:
                _KERNELS.pop(key, None)
                raise KernelStartError(
                    f"the {job['kernel_name']!r} kernel did not start (2 attempts): "
                    f"{type(exc).__name__}: {exc}") from exc
    raise AssertionError("unreachable")  # pragma: no cover


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


def run_segment(job: dict) -> dict:
    """Execute one segment's notebook on the worker's warm kernel and export it."""
    import nbformat
    from nbclient.exceptions import CellExecutionError
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

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
        template = load_notebook_node(job["notebook"])
        nb = parameterize_notebook(template, job["parameters"],
                                   kernel_name=job["kernel_name"], language="python")
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
        except BaseException:
            kernel.stop()  # timed out, died or unknown state: never reuse it
            _KERNELS.pop((job["kernel_name"], job["cwd"]), None)
            raise
        finally:
            if not job.get("reuse_kernel", True):
                kernel.stop()
                _KERNELS.pop((job["kernel_name"], job["cwd"]), None)
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


_WARM_CODE = """\
import importlib as _importlib, io as _io
for _m in ("surveykit.reporting", "surveykit.estimates", "surveykit.weighting",
           "surveykit.drivers", "surveykit.plots", "surveykit.measurement", "surveykit.tables",
           "pyarrow.parquet"):
    try:
        _importlib.import_module(_m)
    except Exception:
        pass
from matplotlib.figure import Figure as _Figure
_f = _Figure()
_f.subplots().plot([0, 1], [0, 1], "o-")
_f.savefig(_io.BytesIO(), format="png")
"""


def _noop() -> None:
    return None


def _warm_worker(kernel_name: str, cwd: str, start_timeout: float) -> None:
    """Pool initializer: start this worker's kernel, load the analysis modules into it and
    build the HTML exporter, so the first segment costs what the others do. Failures are
    ignored here: the first job then starts its kernel itself (with its retry)."""
    try:
        import nbformat

        from .export import export_html

        job = {"kernel_name": kernel_name, "cwd": cwd, "start_timeout": start_timeout}
        kernel, _ = _warm_kernel(job)
        kernel.client(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(_WARM_CODE)]),
                      deadline=time.monotonic() + start_timeout + 60).execute()
        export_html(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("warm")]))
    except Exception:  # noqa: BLE001, S110 - warming up is an optimisation only
        pass


def start_pool(n: int, kernel_name: str, cwd: str, start_timeout: float):
    """A pool of ``n`` spawned workers, each warming up (see :func:`_warm_worker`) now."""
    pool = ProcessPoolExecutor(max_workers=n, mp_context=mp.get_context("spawn"),
                               initializer=_warm_worker,
                               initargs=(kernel_name, cwd, float(start_timeout)))
    for _ in range(n):  # a process is spawned per submit while none is idle
        pool.submit(_noop)
    return pool


def abort_pool(pool) -> None:
    """Stop a pool whose jobs will never come (bad input found while preparing) without
    waiting for its workers to finish warming up; their kernels exit with them (ipykernel
    watches its parent)."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        p.terminate()
    for p in procs:
        p.join(timeout=10)


def execute_all(jobs: list[dict], entries: list[dict], *, workers: int,
                 progress: bool, run=None, pool=None) -> None:
    """Run every job, filling ``entries`` in place.

    ``workers == 1`` runs in this process. Otherwise a pool of spawned worker processes
    runs them; if a worker process itself dies (which breaks the whole pool), the jobs that
    had not finished are run again one per fresh single-worker pool, so a job that kills
    its worker fails alone. ``run`` is the job function (default :func:`run_segment`);
    ``pool`` an already started pool to use (and shut down).
    """
    from tqdm.auto import tqdm

    run = run or run_segment
    bar = tqdm(total=len(jobs), desc="reports", unit="page", disable=not progress)

    def done(i: int, result: dict) -> None:
        _mark(entries[i], result)
        bar.update(1)
        bar.set_postfix_str(f"{entries[i]['label'][:20]}: {entries[i]['status']}")

    try:
        if workers == 1 and pool is None:
            try:
                for i, job in enumerate(jobs):
                    done(i, _safe_run(job, run))
            finally:
                _shutdown_kernels()
            return
        ctx = mp.get_context("spawn")
        broken: list[int] = []
        pool = pool or ProcessPoolExecutor(max_workers=workers, mp_context=ctx)
        with pool:
            futures = {pool.submit(run, job): i for i, job in enumerate(jobs)}
            for fut in as_completed(futures):
                i = futures[fut]
                try:
                    done(i, fut.result())
                except BrokenProcessPool:
                    broken.append(i)
                except Exception as exc:  # noqa: BLE001 - reported on the segment's page
                    done(i, _crashed(jobs[i], exc))
        for i in sorted(broken):  # isolate: one fresh worker process per job
            with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
                try:
                    done(i, pool.submit(run, jobs[i]).result())
                except Exception as exc:  # noqa: BLE001
                    done(i, _crashed(jobs[i], exc))
    finally:
        bar.close()


def _safe_run(job: dict, run=None) -> dict:
    try:
        return (run or run_segment)(job)
    except Exception as exc:  # noqa: BLE001
        return _crashed(job, exc)


def _crashed(job: dict, exc: BaseException) -> dict:
    error = f"the worker process failed: {type(exc).__name__}: {exc}"
    try:
        failure_page(job["title"], error, html_path=job["html"])
    except Exception:  # noqa: BLE001, S110 - nothing more can be done
        pass
    return {"status": "failed", "error": error, "seconds": None, "headline": {}, "attempts": 1}
