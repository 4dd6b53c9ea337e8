"""Segment pages as tasks on a Dask distributed cluster (``surveykit report --scheduler``).

The runner prepares the data once, as for a local run; then, instead of its own worker
processes, each page is a Dask task. Nothing is read from the caller's file system on the
cluster: the prepared survey (its files, as bytes) is scattered to the workers once per
run, each task carries its notebook (parameters injected) and returns the executed
notebook and its HTML page as bytes, which the runner writes into the report folder. So
workers on other machines need surveykit installed (with a Jupyter kernel), not a shared
file system.

On a worker, a task writes the prepared files into a private folder of its own (once per
run and worker), re-injects the local paths, and runs the page with the same code as a
local worker (:func:`.notebook_run.run_segment`): the same warm kernel across the worker's pages,
the same per-notebook timeout and failure page. A failing page fails alone; a worker that
dies is retried by Dask on another and, if it dies again, the page is marked failed with
the reason. At the end (or on an interrupt) every worker kills its kernels and deletes the
run's files. Dask is imported only here, only when asked for.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

from ..errors import ReportError

__all__ = ["execute_dask", "connect", "run_remote"]


def connect(scheduler: str, workers: int):
    """``(client, cluster)`` for ``scheduler``: ``"local"`` starts a LocalCluster of
    ``workers`` single-threaded worker processes (closed with the client); otherwise the
    address of a running scheduler (``tcp://host:8786``)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ReportError("--scheduler needs Dask distributed: pip install 'surveykit[dask]' "
                          "(or pip install 'dask[distributed]')") from None
    if scheduler == "local":
        from .worker import without_main

        with without_main():  # a plain script needs no __main__ guard (spawned workers)
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=":0", silence_logs=logging.ERROR,
                                   scheduler_kwargs={"dashboard": False})
        try:
            return Client(cluster), cluster
        except BaseException:
            cluster.close()
            raise
    try:
        return Client(scheduler, timeout="20s"), None
    except OSError as exc:
        raise ReportError(f"cannot reach the Dask scheduler at {scheduler!r}: {exc}; start "
                          "one with `dask scheduler` (and workers with `dask worker "
                          "ADDRESS`), or pass --scheduler local") from None


def _folder(run_id: str) -> Path:
    """This worker thread's folder for run ``run_id`` (kernels keep it as their cwd)."""
    base = Path(tempfile.gettempdir()) / f"surveykit-dask-{os.getpid()}-{threading.get_ident()}"
    return base / run_id


def run_remote(job: dict, prepared: dict, run_id: str) -> dict:
    """Run one page on a Dask worker: ``prepared`` maps file names to bytes (the prepared
    survey). Returns :func:`.notebook_run.run_segment`'s result plus ``html_bytes`` and
    ``notebook_bytes``."""
    from .notebook_run import parameterised, run_segment, skip_slow_schema_formats

    skip_slow_schema_formats()
    import nbformat

    root = _folder(run_id)
    data, out = root / "prepared", root / "out"
    if not (data / ".complete").is_file():
        data.mkdir(parents=True, exist_ok=True)
        os.chmod(root, 0o700)
        for name, blob in prepared.items():
            (data / name).write_bytes(blob)
        (data / ".complete").touch()
    out.mkdir(exist_ok=True)
    html, nb_out = out / Path(job["html"]).name, out / Path(job["output"]).name
    params = {**job["parameters"], "prepared": str(data), "out": str(out)}
    nb = nbformat.reads(job["source"], as_version=4)
    local = {**job, "parameters": params, "cwd": str(out), "html": str(html),
             "output": str(nb_out),
             "source": nbformat.writes(parameterised(nb, params, job["kernel_name"]))}
    result = run_segment(local)
    result["html_bytes"] = html.read_bytes() if html.is_file() else None
    result["notebook_bytes"] = nb_out.read_bytes() if nb_out.is_file() else None
    for p in (html, nb_out):
        p.unlink(missing_ok=True)
    return result


def _clean_up(run_id: str) -> None:
    """On every worker at the end of a run: kill the kernels, delete the run's files."""
    from .kernels import _kill_kernels

    _kill_kernels()
    for base in Path(tempfile.gettempdir()).glob(f"surveykit-dask-{os.getpid()}-*"):
        shutil.rmtree(base / run_id, ignore_errors=True)
        with contextlib.suppress(OSError):
            base.rmdir()


def execute_dask(jobs: list[dict], entries: list[dict], *, scheduler: str, workers: int,
                 prepared: Path, progress: bool) -> None:
    """Run every job as a Dask task, filling ``entries`` in place and writing each page
    (and executed notebook) where the job says. An interrupt cancels the queued tasks,
    stops the workers' kernels and re-raises."""
    from tqdm.auto import tqdm

    from .notebook_run import _crashed, _mark

    with _quiet():
        client, cluster = connect(scheduler, workers)
    run_id = f"run-{os.getpid()}-{time.time_ns()}"
    bar = tqdm(total=len(jobs), desc="reports", unit="page", disable=not progress)
    futures = {}
    try:
        from distributed import as_completed

        files = {p.name: p.read_bytes() for p in Path(prepared).iterdir() if p.is_file()}
        shipped = client.scatter(files, broadcast=True, hash=False)
        for i, job in enumerate(jobs):
            f = client.submit(run_remote, job, shipped, run_id, key=f"surveykit-page-{i}-"
                              f"{run_id}", pure=False)
            futures[f] = i
        for f in as_completed(futures):
            i = futures[f]
            try:
                result = f.result()
            except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker: this page fails
                result = _crashed(jobs[i], f"{type(exc).__name__}: {exc}")
            else:
                for key, path in (("html_bytes", "html"), ("notebook_bytes", "output")):
                    blob = result.pop(key, None)
                    if blob is not None:
                        Path(jobs[i][path]).write_bytes(blob)
            _mark(entries[i], result)
            bar.update(1)
            bar.set_postfix_str(f"{entries[i]['label'][:20]}: {entries[i]['status']}")
    finally:
        bar.close()
        with contextlib.suppress(Exception):
            client.cancel(list(futures))
        with contextlib.suppress(Exception):
            client.run(_clean_up, run_id)
        with contextlib.suppress(Exception):
            client.close()
        if cluster is not None:
            with contextlib.suppress(Exception), _quiet():
                cluster.close()


@contextlib.contextmanager
def _quiet():
    """Dask's own notices (workers starting, a slow worker killed at close) stay out of
    the terminal while a local cluster starts and stops; errors still show."""
    log = logging.getLogger("distributed")
    level = log.level
    log.setLevel(max(level, logging.ERROR))
    try:
        yield
    finally:
        log.setLevel(level)
