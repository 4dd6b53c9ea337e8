"""The report runner: prepare once, run one notebook per segment in parallel, export HTML.

:func:`run_report` checks its parameters against the notebook's ``parameters`` cell,
prepares the checked, cleaned and weighted data **once** (:class:`surveykit.survey.Survey`,
saved to a temporary folder that every run loads), and runs the findings notebook for every
segment in worker processes (default: one per core) with a progress bar. Each notebook is
parameterised by papermill and executed by nbclient with a per-notebook timeout, on a kernel
the worker keeps warm across its segments (namespace reset in between; one retry for kernel
start-up failures only; a kernel that timed out or died is replaced, never reused). The
worker exports each executed notebook to self-contained HTML in-process and keeps the
executed ``.ipynb`` beside it. The workers start first, before the inputs are checked
(``surveykit report`` starts them even before it loads the analysis modules:
:func:`.worker.prestart_pool`), since their warm-up is the longest stage of a short report;
a refused run stops them, and a worker still warming up when the pages are done is stopped
rather than waited for. While the kernels start (or the first pages run on those that are
ready), the main process writes ``tabbook.xlsx``: the overview's banner tables as an Excel
tab book (:func:`.overview.write_tabbook`, always, with or without the overview page). Then
``manifest.json`` and ``index.html`` are written. One failing segment (or tab book) never
stops the others: its page or index line shows the error, and :attr:`ReportResult.ok` is
False.

Worker processes are started with ``spawn`` but never import the caller's ``__main__``, so a
plain script that calls :func:`run_report` needs no ``if __name__ == "__main__":`` guard.

The run writes into a private folder beside ``out`` and swaps it in at the end, holding a
lock file beside ``out`` meanwhile: no page of an earlier run survives, and a second run
into the same folder is refused. An ``out`` that is a file, cannot be written, holds an
input (the notebook, the data...) or holds files that no report wrote is refused before
anything runs. SIGINT (Ctrl-C) or SIGTERM stops queued work, the workers and their kernels,
deletes the prepared data and swaps in the partial report (``manifest.json`` run status
``interrupted``, an index that says so), then raises :class:`ReportInterrupted`.

This module holds :func:`run_report` and its interrupt handling; the planning (notebook
parameters, segments, jobs) is in :mod:`.planning`, the output-folder checks in
:mod:`.output_folder`, :class:`ReportResult` with ``manifest.json`` and ``index.html`` in
:mod:`.manifest`, and the worker processes in :mod:`.worker`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import signal
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from .._threads import usable_cores
from .._util import folder_beside, folder_lock, swap_in, sweep_beside
from ..errors import ReportError
from .manifest import ReportResult, _finish, _interrupted_stub, _mark_interrupted
from .output_folder import _check_out
from .overview import TABBOOK, write_tabbook
from .planning import (
    DEFAULT_NOTEBOOK,
    DEFAULT_OVERVIEW,
    RUNNER_PARAMETERS,
    _plan,
    check_parameters,
    notebook_parameters,
    segment_values,
)
from .spec import load_spec, validate_overrides
from .worker import abort_pool, drop_prestarted_pool, execute_all, pool_for_run

__all__ = ["run_report", "ReportResult", "ReportInterrupted", "check_parameters",
           "notebook_parameters", "DEFAULT_NOTEBOOK", "segment_values"]


def run_report(questionnaire, data, *, targets=None, crm=None, as_of=None, segment_by: str,
               segments=None, workers: int | None = None, timeout: float = 600,
               min_base: int = 30, out="reports", notebook=None,
               parameters: dict | None = None, kernel_name: str = "python3",
               start_timeout: float = 60, progress: bool = True,
               keep_data: bool = False, reuse_kernels: bool = True,
               overview=True, spec=None, wave=None,
               scheduler: str | None = None) -> ReportResult:
    """Per-segment findings: prepare once, run a notebook per segment, write HTML + index.

    Parameters
    ----------
    questionnaire, data : path
        Questionnaire YAML and responses file.
    targets : path, optional
        Weighting targets (the data are raked to them once, before any notebook runs).
    crm : path, optional
        CRM extract joined on the questionnaire's customer id.
    as_of : date or str, optional
        Reference date of the CRM lifecycle stages (default: the latest purchase date in the
        extract).
    segment_by : str
        The segment variable (question or derived variable id).
    segments : list, optional
        Only these segment codes or labels (default: every value present in the data).
    workers : int, optional
        Notebooks run in parallel (default: the number of cores).
    timeout : float
        Seconds allowed per notebook (kernel start-up excluded).
    min_base : int
        Bases below this are flagged as low in the text and not tested.
    out : path
        Output folder: ``index.html``, ``manifest.json``, ``tabbook.xlsx`` (the overview's
        banner tables, written even without the overview page), one ``<segment>.html`` and
        the executed ``<segment>.ipynb`` beside it. The run builds it beside ``out`` and
        replaces ``out`` as a whole at the end, so ``out`` must be new, empty or an earlier
        report (nothing else in it), and must not hold the notebook or an input file.
    notebook : path, optional
        The findings notebook (default: the packaged
        ``surveykit/reporting/notebooks/segment_findings.ipynb``).
    parameters : dict, optional
        Extra notebook parameters; every name must be declared in its parameters cell.
    kernel_name : str
        Jupyter kernel for the runs.
    start_timeout : float
        Seconds a kernel may take to start.
    progress : bool
        Show a progress bar (on stderr).
    keep_data : bool
        Keep the prepared data in ``out/_prepared`` (default: a temporary folder, deleted
        afterwards, so respondent-level data never ship with the reports).
    reuse_kernels : bool
        Keep one kernel warm per worker across its segments (namespace reset between
        notebooks; default). False starts a fresh kernel for every notebook.
    spec : dict or path, optional
        Overrides of the questionnaire's ``report:`` block: a mapping, or a YAML file of
        one (:func:`surveykit.reporting.spec.load_spec`). Without a ``report:`` block the
        report's inputs are inferred: each inferred choice is printed (with ``progress``)
        and written in the manifest and every method note; an outcome that could be one of
        several questions is refused before anything runs.
    wave : str, optional
        ``"latest"`` or a wave label: ``data`` holds several waves (a waves file
        ``waves.yaml``, see :func:`surveykit.waves.read_waves_file`), each page describes that
        wave and compares it with the previous one (:mod:`.trend_section`).
    scheduler : str, optional
        Run the pages as tasks on a Dask distributed cluster: the address of its scheduler
        (``tcp://host:8786``), or ``"local"`` for a LocalCluster of ``workers`` processes
        started for the run (needs ``pip install 'surveykit[dask]'``). The prepared data
        travel to the workers with the tasks and the pages come back as bytes, so the
        workers need surveykit installed, not this machine's files (:mod:`.distributed`).
        Same manifest, progress bar and failure isolation as a local run.
    overview : bool or path
        Also run the whole-sample overview notebook (the packaged
        ``surveykit/reporting/notebooks/overview.ipynb``, or this
        path) to ``overview.html``, linked from the index. Its failure is reported like a
        segment's.

    Returns
    -------
    ReportResult
        ``.index_path``, ``.manifest_path``, ``.segments``, ``.tabbook``, ``.ok``.

    Raises
    ------
    ReportError
        Bad parameters (unknown notebook parameter, unknown segment, workers < 1...) or an
        unusable ``out`` (a file, not writable, holding an input or files that no report
        wrote, being written by another run); raised before anything runs. Errors in the
        inputs raise their own typed errors (QuestionnaireError, ResponseDataError,
        WeightingError).
    ReportInterrupted
        SIGINT (Ctrl-C) or SIGTERM stopped the run; the partial report is in ``out``.

    Examples
    --------
    >>> r = run_report("questionnaires/pc_customers.yaml", "data/demo/responses.csv",
    ...                targets="data/demo/targets.yaml", segment_by="segment",
    ...                out="reports/demo")  # doctest: +SKIP
    >>> r.ok, r.index_path  # doctest: +SKIP
    (True, PosixPath('reports/demo/index.html'))
    """
    t_start = time.monotonic()
    started = datetime.now().isoformat(timespec="seconds")
    nb_path = Path(notebook) if notebook is not None else DEFAULT_NOTEBOOK
    workers = usable_cores() if workers is None else workers
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ReportError(f"workers must be a positive integer, not {workers!r}")
    if not isinstance(timeout, int | float) or not timeout > 0:
        raise ReportError(f"timeout must be a positive number of seconds, not {timeout!r}")
    if not isinstance(min_base, int) or isinstance(min_base, bool) or min_base < 1:
        raise ReportError(f"min_base must be a positive integer, not {min_base!r}")
    if not segment_by or not isinstance(segment_by, str):
        raise ReportError(f"segment_by must name the segment variable, not {segment_by!r}")
    if segments is not None and isinstance(segments, str | int | float):
        segments = [segments]
    if segments is not None and len(segments) == 0:
        raise ReportError("segments is empty; leave it out to report every segment")
    if scheduler is not None and (not isinstance(scheduler, str) or not scheduler.strip()):
        raise ReportError(f"scheduler must be a Dask scheduler address or 'local', not "
                          f"{scheduler!r}")
    extra = dict(parameters or {})
    clash = [k for k in extra if k in RUNNER_PARAMETERS]
    if clash:
        own = {"segment": "segments"}
        raise ReportError(
            f"{', '.join(map(repr, clash))} {'is' if len(clash) == 1 else 'are'} set by the "
            "report runner, not by --param: use "
            + ", ".join(f"--{own.get(k, k).replace('_', '-')}" for k in clash)
            + " on the command line (or run_report's "
            + ", ".join(f"{own.get(k, k)}=" for k in clash) + ")")
    if spec is not None:
        if "spec" in extra:
            raise ReportError("give the report spec once: spec= or parameters={'spec': ...}")
        extra["spec"] = load_spec(spec) if isinstance(spec, str | os.PathLike) else spec
    if extra.get("spec") is not None:
        extra["spec"] = validate_overrides(extra["spec"])
    if wave is not None:
        extra["wave"] = str(wave)
    ov_path = None
    if overview:
        ov_path = DEFAULT_OVERVIEW if overview is True else Path(overview)
    n_jobs = None if segments is None else len(segments) + (ov_path is not None)
    n_pool = workers if n_jobs is None else min(workers, n_jobs)
    pool = None
    # 0. the worker processes start now (unless `surveykit report` started them already):
    #    each starts its kernel and loads the analysis modules into it while this process
    #    checks the inputs and prepares the data; stopped if the run is refused
    if n_pool > 1 and reuse_kernels and scheduler is None:
        pool = pool_for_run(n_pool, kernel_name, start_timeout)
    else:
        drop_prestarted_pool()
    with contextlib.ExitStack() as stack:
        if pool is not None:  # no worker outlives the run, whatever happens
            stack.callback(abort_pool, pool)
        check_parameters(nb_path, [*RUNNER_PARAMETERS, *extra])
        if ov_path is not None:
            check_parameters(ov_path, [p for p in RUNNER_PARAMETERS if p != "segment"])
        for name, path in (("questionnaire", questionnaire), ("data", data),
                           ("targets", targets), ("crm", crm)):
            if path is not None and not Path(path).is_file():
                raise ReportError(f"{name} file {path} does not exist")
        out = Path(out).resolve()
        inputs = {"questionnaire": questionnaire, "data": data, "targets": targets,
                  "crm": crm, "notebook": nb_path, "overview notebook": ov_path}
        _check_out(out, inputs)  # before anything runs
        stack.enter_context(folder_lock(out, error=ReportError, option="output folder"))
        signals = stack.enter_context(_Signals())
        sweep_beside(out)  # what a run killed outright left behind
        try:
            stage = folder_beside(out)  # private (0700) until it is swapped in
        except OSError as exc:
            raise ReportError(f"cannot write beside the output folder {out}: {exc}") from None
        plan = tabbook = prepared = None
        prepare_seconds, interrupted, swapped = 0.0, None, False
        #: seconds since the start at which each stage ended (written in the manifest)
        phases: dict[str, Any] = {}
        try:
            try:
                prepared = stage / "_prepared" if keep_data else \
                    Path(tempfile.mkdtemp(prefix="surveykit-report-"))  # mode 0700
                plan = _plan(questionnaire, data, targets, crm, as_of, segment_by, segments,
                             min_base, stage, prepared, nb_path, ov_path, kernel_name, timeout,
                             start_timeout, reuse_kernels, extra, progress)
                prepare_seconds = time.monotonic() - t_start
                phases["prepared"] = round(prepare_seconds, 3)
                jobs, entries = plan[2], plan[3]
                if pool is not None:
                    pool.shrink(len(jobs))  # no more workers than pages
                # 1. the tab book, from the survey prepared here: while the kernels
                #    start, or while the first pages run on those that are ready
                def write_the_tabbook() -> None:
                    nonlocal tabbook
                    tabbook = write_tabbook(plan[0], segment_by, stage / TABBOOK,
                                            min_base=min_base, spec=extra.get("spec"),
                                            alpha=extra.get("alpha", 0.05), shared=prepared)
                    phases["tabbook_written"] = round(time.monotonic() - t_start, 3)

                # 2. run in parallel: here, or on a Dask cluster
                if scheduler is not None:
                    from .distributed import execute_dask

                    write_the_tabbook()
                    execute_dask(jobs, entries, scheduler=scheduler,
                                 workers=min(workers, len(jobs)), prepared=prepared,
                                 progress=progress)
                else:
                    execute_all(jobs, entries, workers=min(workers, len(jobs)),
                                progress=progress, pool=pool, meanwhile=write_the_tabbook)
                phases["pages_done"] = round(time.monotonic() - t_start, 3)
            except KeyboardInterrupt as exc:  # SIGINT, or SIGTERM through _Signals
                interrupted = exc
            finally:
                signals.defer()  # the clean-up and the partial report are not cut short
                if pool is not None:
                    phases["workers_ready"] = [round(pool.started - t_start + t, 3)
                                               for t in pool.ready_after]
                    abort_pool(pool)  # no-op once execute_all has closed it
                if prepared is not None and not keep_data:
                    shutil.rmtree(prepared, ignore_errors=True)
            if plan is None:  # interrupted while preparing the data
                result = _interrupted_stub(stage, inputs, segment_by, t_start, started)
            else:
                survey, _, jobs, entries, ov_entry, abspath = plan
                if ov_entry is not None:
                    entries.pop(0)
                if interrupted is not None:
                    tabbook = _mark_interrupted(stage, [ov_entry, *entries], tabbook)
                result = _finish(survey, entries, ov_entry, abspath, stage, t_start, started,
                                 prepare_seconds, segment_by, workers, timeout, min_base,
                                 nb_path, extra, pool.size if pool is not None else 0, tabbook,
                                 interrupted=interrupted is not None, phases=phases,
                                 scheduler=scheduler)
            swap_in(stage, out)
            swapped = True
        finally:
            if not swapped:
                shutil.rmtree(stage, ignore_errors=True)
    result = dataclasses.replace(result, out=out, index_path=out / result.index_path.name,
                                 manifest_path=out / result.manifest_path.name)
    if interrupted is not None:
        raise ReportInterrupted(getattr(interrupted, "signum", signal.SIGINT),
                                result) from None
    return result



class ReportInterrupted(KeyboardInterrupt):
    """A report run stopped by SIGINT (Ctrl-C) or SIGTERM.

    By the time it is raised the workers and their kernels are stopped, the prepared
    respondent-level data deleted and the partial report swapped into the output folder
    (``manifest.json`` run status ``interrupted``; the index says the report is partial).
    A KeyboardInterrupt, so code that stops on Ctrl-C stops on it too.

    Attributes
    ----------
    signum : int
        The signal (``signal.SIGINT`` or ``signal.SIGTERM``).
    result : ReportResult or None
        What was written before the run stopped.
    """

    def __init__(self, signum: int, result: ReportResult | None = None):
        self.signum, self.result = int(signum), result
        where = f"; the partial report: {result.index_path}" if result is not None else ""
        super().__init__(f"the report run was interrupted ({signal.Signals(signum).name})"
                         f"{where}")


class _Signals:
    """While a run is going on, SIGINT and SIGTERM raise :class:`ReportInterrupted` in the
    main thread (SIGTERM would otherwise end the process without any clean-up); after
    :meth:`defer` they are only recorded, so the clean-up itself is not cut short.
    Handlers that the application set itself are left alone, as is every handler outside
    the main thread."""

    def __enter__(self) -> _Signals:
        self.saved: dict[int, Any] = {}
        self.pending: int | None = None
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                if signal.getsignal(sig) in (signal.SIG_DFL, signal.default_int_handler):
                    self.saved[sig] = signal.signal(sig, self._raise)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self.saved.items():
            signal.signal(sig, handler)

    def _raise(self, signum, frame) -> None:  # noqa: ARG002 - signal handler signature
        raise ReportInterrupted(signum)

    def _record(self, signum, frame) -> None:  # noqa: ARG002
        self.pending = self.pending or signum

    def defer(self) -> None:
        """From now until the end of the run, record signals instead of raising."""
        for sig in self.saved:
            signal.signal(sig, self._record)

