"""Worker side of the report runner: warm kernels, one notebook per job, HTML export.

Each worker process keeps one Jupyter kernel warm across its jobs: papermill parameterises
the notebook, nbclient executes it on the kernel with a per-notebook deadline, and the
executed notebook is exported to HTML in-process. Between notebooks the user namespace is
cleared and the working folder restored; a kernel that timed out or died is replaced, never
reused; a kernel that fails to start is retried once (and only then).

:class:`WorkerPool` holds the worker processes: spawned without the parent's ``__main__``
(a plain script needs no ``if __name__ == "__main__":`` guard), each starting its kernel and
loading the analysis modules while the parent prepares the data, and handed one job at a
time, so the parent knows which job each runs. A worker that dies is replaced (the pool
keeps its size) and its job runs once more, failing alone if it kills a worker again.
Workers ignore SIGINT (the parent decides) and kill their kernels on SIGTERM.
:func:`execute_all` runs the jobs (in this process for one worker).
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing as mp
import multiprocessing.connection as mp_connection
import os
import pickle
import signal
import sys
import tempfile
import threading
import time
import traceback
import types
from collections import deque
from pathlib import Path

from ..errors import ReportError
from .export import HEADLINE_MIME, export_html, failure_page

__all__ = ["KernelStartError", "WorkerPool", "execute_all", "start_pool", "abort_pool",
           "run_segment", "skip_slow_schema_formats"]


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
        self.km = self.kc = self._starting = None
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
        self._starting = owner.km  # so that kill() finds a kernel that is still starting
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
        finally:
            self._starting = None
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

    def kill(self) -> None:
        """Kill the kernel's process group at once (no shutdown request over the protocol,
        which needs an event loop) and remove its connection file: for a worker that is
        being terminated, or a run that was interrupted."""
        for km in (self.km, self._starting):
            proc = getattr(getattr(km, "provisioner", None), "process", None)
            if proc is None:
                continue
            try:  # the kernel leads its own session (jupyter_client starts it so)
                if hasattr(os, "killpg") and os.getpgid(proc.pid) == proc.pid:
                    os.killpg(proc.pid, signal.SIGKILL)
                else:
                    proc.kill()
            except OSError:  # already gone
                pass
            with contextlib.suppress(OSError, TypeError):
                Path(km.connection_file).unlink(missing_ok=True)
        kc = self.kc
        if kc is not None:  # close its sockets (no leaked zmq handles in this process)
            with contextlib.suppress(Exception):
                kc.stop_channels()
        self._owner = self.km = self.kc = self._starting = None
        log, self._log = getattr(self, "_log", None), None
        if log is not None:
            log.close()

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

        _keep_signal_handlers()
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


def _refuse_signal_handler(sig, callback, *args):  # noqa: ARG001
    raise RuntimeError("surveykit's report runner handles SIGINT and SIGTERM itself")


def _keep_signal_handlers() -> None:
    """Keep nbclient from taking SIGINT and SIGTERM over while it executes a notebook.

    nbclient adds event-loop handlers for both that shut the kernel down, so a terminated
    worker would go on to write a "kernel died" page, and on removal it leaves SIGTERM at
    its default, so the next SIGTERM would leave the kernel behind. The loop that
    jupyter_core runs nbclient on in this thread (when none is running already) refuses
    signal handlers instead, which nbclient accepts as it does outside the main thread.
    """
    import asyncio

    from jupyter_core.utils import ensure_event_loop

    try:
        asyncio.get_running_loop()
        return  # nbclient then runs on a helper thread and adds no handlers
    except RuntimeError:
        pass
    loop = ensure_event_loop()
    if loop.add_signal_handler is not _refuse_signal_handler:
        loop.add_signal_handler = _refuse_signal_handler


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


def _kill_kernels() -> None:
    """Kill this process's kernels at once (see :meth:`_Kernel.kill`)."""
    while _KERNELS:
        _, k = _KERNELS.popitem()
        k.kill()


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
            _KERNELS.pop((job["kernel_name"], job["cwd"]), None)
            raise
        finally:
            if not job.get("reuse_kernel", True):
                kernel.kill()  # done with it: no graceful shutdown wait
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


class _WorkerProcess(mp.get_context("spawn").Process):
    """A spawned worker process that never imports the parent's ``__main__``.

    ``spawn`` normally re-runs the parent's main script (or module) in every child, so
    that functions defined there can be unpickled; a plain script without an
    ``if __name__ == "__main__":`` guard would then start the report again in each child.
    The workers only run surveykit code, so while a child is launched the parent's
    ``__main__`` is replaced by an empty stand-in, which leaves nothing for
    :func:`multiprocessing.spawn.get_preparation_data` to hand over.
    """

    def start(self) -> None:
        with without_main():
            super().start()


_MAIN_LOCK = threading.Lock()


@contextlib.contextmanager
def without_main():
    """While processes are spawned: the parent's ``__main__`` replaced by an empty
    stand-in, so that ``spawn`` hands the children nothing to re-run (see
    :class:`_WorkerProcess`; also used while a Dask LocalCluster starts its workers)."""
    stand_in = types.ModuleType("__main__")
    with _MAIN_LOCK:
        main = sys.modules.get("__main__")
        sys.modules["__main__"] = stand_in
        try:
            yield
        finally:
            if main is not None:
                sys.modules["__main__"] = main


def _on_terminate(signum, frame) -> None:  # noqa: ARG001 - signal handler signature
    """A worker's SIGTERM handler: kill its kernels, then exit at once."""
    _kill_kernels()
    os._exit(128 + signum)


def _worker_main(conn, warm: tuple | None) -> None:
    """A worker process: warm up, say ready, then run ``(run, job)`` messages one at a time.

    Ctrl-C in a terminal reaches the whole process group; the parent decides what to do
    (it terminates its workers), so a worker ignores SIGINT and stops its kernels on SIGTERM.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_terminate)
    skip_slow_schema_formats()
    if warm is not None:
        _warm_worker(*warm)
    conn.send(("ready", None))
    while True:
        try:
            msg = conn.recv()
        except EOFError:  # the parent went away
            break
        except Exception as exc:  # noqa: BLE001 - e.g. the job function cannot be imported
            conn.send(("error", f"cannot receive the job: {type(exc).__name__}: {exc}"))
            continue
        if msg is None:
            break
        run, job = msg
        try:
            reply = ("done", run(job))
        except Exception as exc:  # noqa: BLE001 - reported on the segment's page
            reply = ("error", f"{type(exc).__name__}: {exc}")
        conn.send(reply)
    # the work is done: no graceful shutdown request (up to ~1 s per kernel), and no
    # interpreter teardown of the loaded modules either
    _kill_kernels()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


class _Worker:
    def __init__(self, proc, conn):
        self.proc, self.conn = proc, conn
        self.ready = False
        self.job: int | None = None


def _exit_text(code: int | None) -> str:
    if code is None:
        return "stopped"
    if code < 0:
        try:
            return f"was killed by signal {-code} ({signal.Signals(-code).name})"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


class WorkerPool:
    """Spawned worker processes, each running one job at a time on its warm kernel.

    The parent knows which job every worker is running. A worker that dies is replaced at
    once, so the pool keeps its size; the job it was running is run once more on a fresh
    worker and fails alone if that worker dies too. :meth:`abort` terminates every worker
    (each kills its kernels on SIGTERM).

    Parameters
    ----------
    n : int
        Worker processes.
    warm : tuple, optional
        ``(kernel_name, cwd, start_timeout)``: each worker starts its kernel and loads the
        analysis modules into it before it takes a job (see :func:`_warm_worker`).
    """

    def __init__(self, n: int, warm: tuple | None = None):
        self.size, self.warm = int(n), warm
        self.workers: list[_Worker] = []
        self.replaced = 0
        self.started = time.monotonic()
        #: seconds from the pool's start until each worker said it was ready (warm)
        self.ready_after: list[float] = []
        try:
            for _ in range(self.size):
                self._spawn()
        except BaseException:
            self.abort()
            raise

    def _spawn(self) -> None:
        here, there = mp.get_context("spawn").Pipe()
        proc = _WorkerProcess(target=_worker_main, args=(there, self.warm), daemon=True,
                              name="surveykit-report-worker")
        try:
            proc.start()
        finally:
            there.close()
        self.workers.append(_Worker(proc, here))

    @property
    def pids(self) -> list[int]:
        """Process ids of the current workers."""
        return [w.proc.pid for w in self.workers]

    def run(self, jobs: list[dict], run, done) -> None:
        """Run every job; call ``done(i, result)`` as each finishes (in this process)."""
        if getattr(run, "__module__", None) == "__main__":
            raise ReportError(
                f"the job function {getattr(run, '__name__', run)!r} is defined in __main__, "
                "which worker processes do not import; define it in a module")
        queue = deque(range(len(jobs)))
        tries = dict.fromkeys(range(len(jobs)), 0)

        def died(w: _Worker) -> None:
            self.workers.remove(w)
            w.conn.close()
            w.proc.join(timeout=5)
            code = w.proc.exitcode
            if w.job is not None:
                if tries[w.job] < 2:
                    queue.appendleft(w.job)  # once more, on a fresh worker
                else:
                    done(w.job, _crashed(jobs[w.job], f"it {_exit_text(code)} while running "
                                         "this notebook, twice (it was run again on a fresh "
                                         "worker)"))
            elif not w.ready and code is not None and code >= 0:
                raise ReportError(
                    f"the report's worker processes cannot start: one {_exit_text(code)} "
                    "before it was ready (its error is printed above); pass workers=1 "
                    "(--workers 1) to run the notebooks in this process")
            if queue or any(x.job is not None for x in self.workers):
                self.replaced += 1
                self._spawn()  # keep the pool's size while there is work

        while queue or any(w.job is not None for w in self.workers):
            for w in list(self.workers):
                if w.ready and w.job is None and queue:
                    i = queue.popleft()
                    try:
                        w.conn.send((run, jobs[i]))
                    except (pickle.PicklingError, AttributeError, TypeError) as exc:
                        raise ReportError(f"cannot send job {i} to a worker process: {exc}; "
                                          "the job function and job must be picklable") from exc
                    except OSError:  # the worker is gone: the job never started
                        queue.appendleft(i)
                        died(w)
                        continue
                    w.job = i
                    tries[i] += 1
            by_handle = {}
            for w in self.workers:
                by_handle[w.conn] = by_handle[w.proc.sentinel] = w
            for handle in mp_connection.wait(list(by_handle)):
                w = by_handle[handle]
                if w not in self.workers:
                    continue  # already handled through its other handle
                try:
                    if not w.conn.poll():  # woken by its sentinel: the process ended
                        if not w.proc.is_alive():
                            died(w)
                        continue
                    kind, value = w.conn.recv()
                except (EOFError, OSError):  # the process ended
                    died(w)
                    continue
                if kind == "ready":
                    w.ready = True
                    self.ready_after.append(round(time.monotonic() - self.started, 3))
                    continue
                i, w.job = w.job, None
                done(i, value if kind == "done" else _crashed(jobs[i], value))

    def shrink(self, n: int) -> None:
        """Keep at most ``n`` workers (fewer pages than workers): the others, those still
        warming up first, are terminated now, so they stop competing for the cores."""
        n = max(1, int(n))
        if len(self.workers) <= n:
            return
        order = sorted(self.workers, key=lambda w: w.ready or w.conn.poll())
        extra = order[: len(self.workers) - n]
        self.workers = [w for w in self.workers if w not in extra]
        self.size = n
        for w in extra:
            w.proc.terminate()
        for w in extra:
            w.proc.join(timeout=5)
            if w.proc.is_alive():
                w.proc.kill()
                w.proc.join(timeout=2)
            w.conn.close()

    def close(self, timeout: float = 30) -> None:
        """Let every worker stop its kernel and exit; terminate those that do not."""
        for w in self.workers:
            with contextlib.suppress(OSError):
                w.conn.send(None)
        deadline = time.monotonic() + timeout
        for w in self.workers:
            w.proc.join(timeout=max(0.1, deadline - time.monotonic()))
        self.abort()

    def abort(self) -> None:
        """Terminate every worker now (each kills its kernel on SIGTERM); kill those that
        do not exit within a few seconds."""
        workers, self.workers = self.workers, []
        for w in workers:
            if w.proc.is_alive():
                w.proc.terminate()
        deadline = time.monotonic() + 5
        for w in workers:
            w.proc.join(timeout=max(0.1, deadline - time.monotonic()))
            if w.proc.is_alive():
                w.proc.kill()
                w.proc.join(timeout=2)
            w.conn.close()

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def start_pool(n: int, kernel_name: str, cwd: str, start_timeout: float) -> WorkerPool:
    """A pool of ``n`` spawned workers, each warming up (see :func:`_warm_worker`) now."""
    return WorkerPool(n, warm=(kernel_name, cwd, float(start_timeout)))


def abort_pool(pool: WorkerPool) -> None:
    """Stop a pool at once: queued work is dropped, workers and their kernels stopped."""
    pool.abort()


def execute_all(jobs: list[dict], entries: list[dict], *, workers: int,
                progress: bool, run=None, pool: WorkerPool | None = None) -> None:
    """Run every job, filling ``entries`` in place.

    ``workers == 1`` runs in this process. Otherwise a :class:`WorkerPool` of spawned
    worker processes runs them; a worker process that dies is replaced, and the job it was
    running is run once more and fails alone if it kills its worker again. ``run`` is the
    job function (default :func:`run_segment`); ``pool`` an already started pool to use
    (and close). On an interrupt (KeyboardInterrupt) queued jobs are dropped, the workers
    and their kernels stopped, and the interrupt re-raised; the entries of the jobs that
    had not finished keep their status.
    """
    from tqdm import tqdm  # not tqdm.auto: it warns in a kernel without ipywidgets

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
                _kill_kernels()  # done (or interrupted): no graceful shutdown wait
            return
        with pool or WorkerPool(workers) as p:
            p.run(jobs, run, done)
    finally:
        bar.close()


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
