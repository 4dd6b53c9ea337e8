"""The report's worker pool: spawned processes, each running one job at a time.

:class:`WorkerPool` holds the worker processes: spawned without the parent's ``__main__``
(a plain script needs no ``if __name__ == "__main__":`` guard), each starting its kernel and
loading the analysis modules while the parent prepares the data (:mod:`.kernels`), and
handed one job at a time, so the parent knows which job each runs. A worker that dies is
replaced (the pool keeps its size) and its job runs once more, failing alone if it kills a
worker again. Workers ignore SIGINT (the parent decides) and kill their kernels on SIGTERM.
:func:`execute_all` runs the jobs (in this process for one worker); the job itself, one
notebook executed and exported to HTML, is :func:`.notebook_run.run_segment`.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import multiprocessing.connection as mp_connection
import os
import pickle
import signal
import sys
import threading
import time
import types
from collections import deque

from ..errors import ReportError
from .kernels import KernelStartError, _kill_kernels, _warm_worker
from .notebook_run import _crashed, _mark, _safe_run, run_segment, skip_slow_schema_formats

__all__ = ["KernelStartError", "WorkerPool", "execute_all", "start_pool", "abort_pool",
           "prestart_pool", "drop_prestarted_pool", "pool_for_run", "run_segment",
           "skip_slow_schema_formats"]


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
        ``(kernel_name, start_timeout)``: each worker starts its kernel and loads the
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

    def run(self, jobs: list[dict], run, done, meanwhile=None) -> None:
        """Run every job; call ``done(i, result)`` as each finishes (in this process).

        ``meanwhile()``, if given, is called once in this process, as soon as the workers
        that are ready have their first jobs (at once when none is ready yet)."""
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

        for w in self.workers:  # the workers that said they are ready take jobs first
            with contextlib.suppress(EOFError, OSError):  # a dead one is seen below
                if not w.ready and w.conn.poll() and w.conn.recv()[0] == "ready":
                    self._ready(w)
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
            if meanwhile is not None:
                side, meanwhile = meanwhile, None
                side()
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
                    self._ready(w)
                    continue
                i, w.job = w.job, None
                done(i, value if kind == "done" else _crashed(jobs[i], value))

    def _ready(self, w: _Worker) -> None:
        w.ready = True
        self.ready_after.append(round(time.monotonic() - self.started, 3))

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

    def release(self) -> None:
        """Tell every worker that the work is done, without waiting: a ready worker kills
        its kernel and exits; one still warming up (it has had no job) is terminated, as
        it would only finish its warm-up first. :meth:`close` then waits for them."""
        for w in self.workers:
            if w.ready or w.conn.poll():
                with contextlib.suppress(OSError):
                    w.conn.send(None)
            elif w.proc.is_alive():
                w.proc.terminate()  # kills its kernel (still starting or warming) and exits

    def close(self, timeout: float = 30) -> None:
        """Let every worker stop its kernel and exit (:meth:`release`); wait for them and
        terminate those that do not exit within ``timeout`` seconds."""
        self.release()
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


def start_pool(n: int, kernel_name: str = "python3", start_timeout: float = 60) -> WorkerPool:
    """A pool of ``n`` spawned workers, each warming up (see :func:`_warm_worker`) now."""
    return WorkerPool(n, warm=(kernel_name, float(start_timeout)))


#: a pool started ahead of the run (:func:`prestart_pool`), for the next run to take
_PRESTARTED: list[WorkerPool] = []


def prestart_pool(n: int, kernel_name: str = "python3", start_timeout: float = 60) -> None:
    """Start the next report run's warm workers now, ahead of the imports and checks that
    precede the run's own start (``surveykit report`` does this before it loads the
    analysis modules: the workers' warm-up is the longest stage of a short report).

    :func:`pool_for_run` hands the pool to the run; :func:`drop_prestarted_pool` stops it
    when no run took it (e.g. the run refused its parameters).
    """
    drop_prestarted_pool()
    _PRESTARTED.append(start_pool(n, kernel_name, start_timeout))


def drop_prestarted_pool() -> None:
    """Stop a pool that :func:`prestart_pool` started and no run took."""
    while _PRESTARTED:
        _PRESTARTED.pop().abort()


def pool_for_run(n: int, kernel_name: str, start_timeout: float) -> WorkerPool:
    """The run's pool of at most ``n`` warm workers: the pre-started one when it warms
    the same kernel (shrunk to ``n``), else a new one."""
    while _PRESTARTED:
        pool = _PRESTARTED.pop()
        if pool.warm == (kernel_name, float(start_timeout)) and pool.workers:
            pool.shrink(n)
            return pool
        pool.abort()
    return start_pool(n, kernel_name, start_timeout)


def abort_pool(pool: WorkerPool) -> None:
    """Stop a pool at once: queued work is dropped, workers and their kernels stopped."""
    pool.abort()


def execute_all(jobs: list[dict], entries: list[dict], *, workers: int,
                progress: bool, run=None, pool: WorkerPool | None = None,
                meanwhile=None) -> None:
    """Run every job, filling ``entries`` in place.

    ``workers == 1`` runs in this process. Otherwise a :class:`WorkerPool` of spawned
    worker processes runs them; a worker process that dies is replaced, and the job it was
    running is run once more and fails alone if it kills its worker again. ``run`` is the
    job function (default :func:`run_segment`); ``pool`` an already started pool to use
    (and close). On an interrupt (KeyboardInterrupt) queued jobs are dropped, the workers
    and their kernels stopped, and the interrupt re-raised; the entries of the jobs that
    had not finished keep their status. ``meanwhile()`` is called once in this process,
    once the workers that are ready have their first jobs (first, for one worker).
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
            if meanwhile is not None:
                meanwhile()
            try:
                for i, job in enumerate(jobs):
                    done(i, _safe_run(job, run))
            finally:
                _kill_kernels()  # done (or interrupted): no graceful shutdown wait
            return
        with pool or WorkerPool(workers) as p:
            p.run(jobs, run, done, meanwhile)
    finally:
        bar.close()
