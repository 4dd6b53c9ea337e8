"""The report runner: prepare once, run one notebook per segment in parallel, export HTML.

:func:`run_report` checks its parameters against the notebook's ``parameters`` cell,
prepares the checked, cleaned and weighted data **once** (:class:`surveykit.survey.Survey`,
saved to a temporary folder that every run loads), and runs the findings notebook for every
segment in worker processes (default: one per core) with a progress bar. Each notebook is
parameterised by papermill and executed by nbclient with a per-notebook timeout, on a kernel
the worker keeps warm across its segments (namespace reset in between; one retry for kernel
start-up failures only; a kernel that timed out or died is replaced, never reused). The
worker exports each executed notebook to self-contained HTML in-process and keeps the
executed ``.ipynb`` beside it. While the kernels start, the main process writes
``tabbook.xlsx``: the overview's banner tables as an Excel tab book
(:func:`.overview.write_tabbook`, always, with or without the overview page). Then
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
"""

from __future__ import annotations

import dataclasses
import html
import json
import math
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from .. import __version__
from .._util import folder_beside, folder_lock, swap_in, sweep_beside
from ..errors import ReportError
from .index import write_index, write_manifest
from .names import inside, unique_names, value_text
from .overview import TABBOOK, write_tabbook
from .shared import prepare_shared
from .spec import ReportSpec, load_spec, validate_overrides
from .worker import (
    abort_pool,
    execute_all,
    parameterised,
    skip_slow_schema_formats,
    start_pool,
)

__all__ = ["run_report", "ReportResult", "ReportInterrupted", "check_parameters",
           "notebook_parameters", "DEFAULT_NOTEBOOK", "segment_values"]

#: the report templates ship inside the package (so an installed surveykit finds them)
NOTEBOOKS = Path(__file__).resolve().parent / "notebooks"
DEFAULT_NOTEBOOK = NOTEBOOKS / "segment_findings.ipynb"
DEFAULT_OVERVIEW = NOTEBOOKS / "overview.ipynb"
#: parameters the runner itself passes to every notebook run
RUNNER_PARAMETERS = ("questionnaire", "data", "targets", "crm", "segment_by", "segment", "out",
                     "min_base", "prepared")


@dataclass
class ReportResult:
    """What :func:`run_report` wrote.

    Attributes
    ----------
    out : Path
        The output folder.
    index_path, manifest_path : Path
    segments : list of dict
        Per segment: ``value, label, status, seconds, base, weighted_share, low_base,
        error, html, notebook, headline`` (as in ``manifest.json``).
    ok : bool
        True when every segment's report was produced.
    seconds : float
        Wall time of the whole run.
    """

    out: Path
    index_path: Path
    manifest_path: Path
    segments: list[dict] = field(default_factory=list)
    ok: bool = True
    seconds: float = 0.0
    prepare_seconds: float = 0.0
    overview: dict | None = None
    tabbook: dict | None = None
    #: seconds since the start at which each stage ended: ``prepared``, ``tabbook_written``,
    #: ``pages_done``, ``workers_ready`` (one per warm worker)
    phases: dict = field(default_factory=dict)

    @property
    def failed(self) -> list[dict]:
        """Entries (segments, the overview, the tab book) that show an error."""
        out = [s for s in self.segments if s["status"] != "ok"]
        if self.overview is not None and self.overview["status"] != "ok":
            out.append(self.overview)
        if self.tabbook is not None and self.tabbook["status"] == "failed":
            out.append(self.tabbook)
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row per segment: label, status, base, seconds, error, html."""
        cols = ["value", "label", "status", "base", "weighted_share", "seconds", "error", "html"]
        return pd.DataFrame([{c: s.get(c) for c in cols} for s in self.segments], columns=cols)

    def summary(self) -> str:
        n_ok = sum(s["status"] == "ok" for s in self.segments)
        return (f"{n_ok} of {len(self.segments)} segment reports written in "
                f"{self.seconds:.1f} s; index: {self.index_path}")

    def __repr__(self) -> str:
        return f"ReportResult({self.summary()})"

    def _repr_html_(self) -> str:
        return (f"<p>{html.escape(self.summary())}</p>"
                + self.to_frame().to_html(index=False, na_rep=""))


# ------------------------------------------------------------------------------------------
# parameters
# ------------------------------------------------------------------------------------------
def notebook_parameters(notebook) -> dict[str, dict]:
    """The parameters declared in a notebook's ``parameters`` cell (papermill's view).

    Raises
    ------
    ReportError
        When the notebook does not exist or has no cell tagged ``parameters``.
    """
    skip_slow_schema_formats()
    import papermill

    path = Path(notebook)
    if not path.is_file():
        raise ReportError(f"notebook {path} does not exist; pass notebook= the path of a "
                          "findings notebook with a 'parameters' cell")
    try:
        params = papermill.inspect_notebook(str(path))
    except ValueError as exc:  # e.g. no kernelspec in the notebook's metadata
        raise ReportError(f"cannot read the parameters of {path}: {exc}") from None
    if not params:
        raise ReportError(f"notebook {path} has no cell tagged 'parameters' (or it is "
                          "empty); tag the cell that sets the defaults with 'parameters'")
    return params


def check_parameters(notebook, names) -> None:
    """Refuse parameter names that the notebook's ``parameters`` cell does not declare.

    papermill only warns about unknown names (and the run then silently ignores them);
    here they are an error naming the parameter and listing the known ones.

    Examples
    --------
    >>> check_parameters(DEFAULT_NOTEBOOK, ["segment", "colour"])
    Traceback (most recent call last):
    ...
    surveykit.errors.ReportError: unknown notebook parameter 'colour' ...
    """
    known = notebook_parameters(notebook)
    unknown = [n for n in names if n not in known]
    if unknown:
        word = "parameter" if len(unknown) == 1 else "parameters"
        raise ReportError(
            f"unknown notebook {word} {', '.join(map(repr, unknown))} for {notebook}; "
            f"its parameters cell declares: {', '.join(known)}")


# ------------------------------------------------------------------------------------------
# segments
# ------------------------------------------------------------------------------------------
def _python_value(v):
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and math.isfinite(v) and v.is_integer():
        return int(v)
    return v


def segment_values(survey, segment_by: str, segments=None) -> list[tuple[Any, str]]:
    """``(value, label)`` of every segment present in the data, in questionnaire order.

    ``segments`` restricts them; each entry may be a code (``"1"`` matches ``1``) or a
    label (case-insensitive). Unknown entries raise :class:`ReportError` listing the
    available ones.
    """
    df = survey.data
    if segment_by not in df.columns:
        from ..survey import segment_variables

        raise ReportError(f"segment variable {segment_by!r} is not in the prepared data; "
                          f"segment variables declared in the questionnaire: "
                          f"{segment_variables(survey) or 'none'}; other columns: "
                          f"{', '.join(list(df.columns)[:15])} ...")
    labels = survey.questionnaire.labels(segment_by) or {}
    present = [_python_value(v) for v in pd.unique(df[segment_by].dropna())]
    order = {value_text(k): i for i, k in enumerate(labels)}
    present.sort(key=lambda v: (order.get(value_text(v), len(order)), value_text(v)))
    label_of = {value_text(k): str(v) for k, v in labels.items()}
    avail = [(v, label_of.get(value_text(v), value_text(v))) for v in present]
    if not avail:
        raise ReportError(f"segment variable {segment_by!r} has no non-missing values")
    if segments is None:
        return avail
    chosen = []
    for want in segments:
        hit = [a for a in avail if value_text(a[0]) == value_text(want)
               or a[1].casefold() == str(want).casefold()]
        if not hit:
            raise ReportError(
                f"segment {want!r} of {segment_by!r} is not in the data; available: "
                + ", ".join(f"{value_text(v)} ({lab})" for v, lab in avail))
        if hit[0] not in chosen:
            chosen.append(hit[0])
    return chosen


# ------------------------------------------------------------------------------------------
# the runner
# ------------------------------------------------------------------------------------------
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
    workers = (os.cpu_count() or 1) if workers is None else workers
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
    check_parameters(nb_path, [*RUNNER_PARAMETERS, *extra])
    ov_path = None
    if overview:
        ov_path = DEFAULT_OVERVIEW if overview is True else Path(overview)
        check_parameters(ov_path, [p for p in RUNNER_PARAMETERS if p != "segment"])
    for name, path in (("questionnaire", questionnaire), ("data", data),
                       ("targets", targets), ("crm", crm)):
        if path is not None and not Path(path).is_file():
            raise ReportError(f"{name} file {path} does not exist")

    out = Path(out).resolve()
    inputs = {"questionnaire": questionnaire, "data": data, "targets": targets, "crm": crm,
              "notebook": nb_path, "overview notebook": ov_path}
    _check_out(out, inputs)  # before anything runs
    n_jobs = None if segments is None else len(segments) + (ov_path is not None)
    n_pool = workers if n_jobs is None else min(workers, n_jobs)
    with folder_lock(out, error=ReportError, option="output folder"), _Signals() as signals:
        sweep_beside(out)  # what a run killed outright left behind
        try:
            stage = folder_beside(out)  # private (0700) until it is swapped in
        except OSError as exc:
            raise ReportError(f"cannot write beside the output folder {out}: {exc}") from None
        pool = plan = tabbook = prepared = None
        prepare_seconds, interrupted, swapped = 0.0, None, False
        #: seconds since the start at which each stage ended (written in the manifest)
        phases: dict[str, Any] = {}
        try:
            try:
                # 0. start the worker processes now: each starts its kernel and loads the
                #    analysis modules into it while this process prepares the data
                if n_pool > 1 and reuse_kernels and scheduler is None:
                    pool = start_pool(n_pool, kernel_name, str(stage), start_timeout)
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
                # 1. the tab book, from the survey prepared here, while the kernels start
                tabbook = write_tabbook(plan[0], segment_by, stage / TABBOOK,
                                        min_base=min_base, spec=extra.get("spec"),
                                        alpha=extra.get("alpha", 0.05))
                phases["tabbook_written"] = round(time.monotonic() - t_start, 3)
                # 2. run in parallel: here, or on a Dask cluster
                if scheduler is not None:
                    from .distributed import execute_dask

                    execute_dask(jobs, entries, scheduler=scheduler,
                                 workers=min(workers, len(jobs)), prepared=prepared,
                                 progress=progress)
                else:
                    execute_all(jobs, entries, workers=min(workers, len(jobs)),
                                progress=progress, pool=pool)
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


#: what may sit in an output folder besides a report's own files (a run deletes them)
_FOLDER_NOISE = {".DS_Store", "Thumbs.db", "desktop.ini", ".ipynb_checkpoints"}


def _file_names(obj) -> set[str]:
    """Every string in a manifest that could be a file name in the output folder."""
    if isinstance(obj, dict):
        return set().union(*map(_file_names, obj.values())) if obj else set()
    if isinstance(obj, list):
        return set().union(*map(_file_names, obj)) if obj else set()
    if isinstance(obj, str) and obj and "/" not in obj and os.sep not in obj:
        return {obj}
    return set()


def _not_written_by_a_report(out: Path) -> list[str]:
    """Names in ``out`` that no earlier report run wrote (its manifest lists its files)."""
    names = {p.name for p in out.iterdir()} - _FOLDER_NOISE
    if not names:
        return []
    try:
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("run"), dict):
        return sorted(names)
    owned = {"index.html", "manifest.json", TABBOOK, "_prepared"} | _file_names(manifest)
    return sorted(names - owned)


def _check_out(out: Path, inputs: dict) -> None:
    """Refuse, before anything runs, an output folder that a run cannot replace."""
    if out.exists() and not out.is_dir():
        raise ReportError(f"the output folder {out} is a file; give a folder (a run writes "
                          "index.html, manifest.json and one page per segment into it)")
    for what, path in inputs.items():
        if path is None:
            continue
        p = Path(path).resolve()
        if p == out or out in p.parents:
            raise ReportError(f"the {what} {path} is inside the output folder {out}, which a "
                              f"run replaces as a whole; move the {what} out of it or choose "
                              "another output folder")
    cwd = Path.cwd().resolve()
    if cwd == out or out in cwd.parents:
        raise ReportError(f"the output folder {out} holds the current folder; a run replaces "
                          f"the whole output folder: give it a folder of its own, such as "
                          f"{out / 'reports'}")
    if out.is_dir():
        foreign = _not_written_by_a_report(out)
        if foreign:
            shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more"
                                              if len(foreign) > 5 else "")
            raise ReportError(f"the output folder {out} holds {shown}, which no earlier "
                              "report wrote; a run replaces the whole folder: move them or "
                              "choose another output folder")
    parent = out.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ReportError(f"cannot make the output folder {out}: {parent} is a file")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ReportError(f"cannot write the output folder {out}: {parent} is not writable; "
                          "choose a folder you can write")


def _mark_interrupted(stage: Path, entries: list, tabbook: dict | None) -> dict:
    """Mark the pages that an interrupted run did not write; the tab book entry."""
    for e in entries:
        if e is None or e["status"] != "pending":
            continue
        e.update(status="interrupted", error="not written: the run was interrupted first")
        for key in ("html", "notebook"):
            if e.get(key) and not (stage / e[key]).exists():
                e[key] = None
    return tabbook or {"label": "Tab book (Excel)", "path": None, "status": "interrupted",
                       "error": "the run was interrupted before it was written"}


def _interrupted_stub(stage: Path, inputs: dict, segment_by: str, t_start: float,
                      started: str) -> ReportResult:
    """manifest.json and index.html of a run interrupted while it prepared the data."""
    seconds = time.monotonic() - t_start
    run = {"surveykit": __version__, "started": started, "seconds": round(seconds, 3),
           **{k: (str(Path(inputs[k]).resolve()) if inputs[k] is not None else None)
              for k in ("questionnaire", "data", "targets", "crm")},
           "segment_by": segment_by, "ok": False, "status": "interrupted"}
    manifest_path = write_manifest(stage / "manifest.json", run, [])
    index_path = write_index(stage / "index.html", "Survey report (interrupted)", [],
                             subtitle="The run was interrupted while it prepared the data; "
                                      "no page was written.", interrupted=True)
    return ReportResult(stage, index_path, manifest_path, [], False, seconds)


def _plan(questionnaire, data, targets, crm, as_of, segment_by, segments, min_base, out,
          prepared, nb_path, ov_path, kernel_name, timeout, start_timeout, reuse_kernels, extra,
          progress=False):
    """Prepare the survey once and lay out one job per page (the overview first)."""
    from .trend_section import prepare_survey, report_survey

    survey = prepare_survey(questionnaire, data, targets=targets, crm=crm, as_of=as_of,
                            wave=extra.get("wave"))
    chosen = segment_values(survey, segment_by, segments)
    # what each section uses: refused here (before anything runs) when it must be guessed
    # among several questions; every inferred choice is said out loud
    resolved = ReportSpec.resolve(survey.questionnaire, survey.data.columns,
                                  segment_by=segment_by, overrides=extra.get("spec"))
    survey.meta["report_spec"] = {"source": resolved.source, "notes": resolved.notes}
    if progress and resolved.notes:
        print("surveykit report: the questionnaire declares no report: block; inferred:",
              *(f"  - {n}" for n in resolved.notes), sep="\n", file=sys.stderr)
    survey.save(prepared)
    # what every page computes identically, computed once here (see .shared), for a
    # findings notebook that uses SegmentFindings (on the same survey and wave as the
    # pages); never a reason for the run to fail
    if "SegmentFindings(" in nb_path.read_text(encoding="utf-8"):
        try:
            prepare_shared(survey, segment_by, [v for v, _ in chosen], min_base=min_base,
                           spec=extra.get("spec"), alpha=extra.get("alpha", 0.05),
                           wave=extra.get("wave")).save(prepared)
        except Exception:  # noqa: BLE001, S110 - each page then computes it (and says why)
            pass
    survey = report_survey(survey, segment_by, extra.get("wave"))  # the reported wave

    w = survey.weight_array()
    total_w = float(w.sum())
    stems = unique_names(f"{value_text(v)}-{lab}" if value_text(v) != lab else lab
                         for v, lab in chosen)
    abspath = {name: (str(Path(p).resolve()) if p is not None else None)
               for name, p in (("questionnaire", questionnaire), ("data", data),
                               ("targets", targets), ("crm", crm))}
    jobs, entries = [], []
    for (value, label), stem in zip(chosen, stems, strict=True):
        page = inside(out, f"{stem}.html")
        nb_out = inside(out, f"{stem}.ipynb")
        mask = survey.segment_mask(segment_by, value).to_numpy()
        base = int(mask.sum())
        entries.append({
            "value": value, "label": label, "status": "pending", "seconds": None,
            "base": base, "weighted_share": float(w[mask].sum() / total_w) if total_w else None,
            "low_base": base < min_base, "error": None, "html": page.name,
            "notebook": nb_out.name, "headline": {}, "attempts": 0})
        jobs.append({
            "notebook": str(nb_path.resolve()), "output": str(nb_out), "html": str(page),
            "title": f"{label}: findings", "kernel_name": kernel_name,
            "timeout": float(timeout), "start_timeout": float(start_timeout),
            "cwd": str(out), "reuse_kernel": bool(reuse_kernels),
            "parameters": {**abspath, "segment_by": segment_by, "segment": value,
                           "out": str(out), "min_base": int(min_base),
                           "prepared": str(prepared), **extra},
        })

    ov_entry = None
    if ov_path is not None:
        ov_known = notebook_parameters(ov_path)
        page, nb_out = inside(out, "overview.html"), inside(out, "overview.ipynb")
        ov_entry = {"value": None, "label": "Whole-sample overview", "status": "pending",
                    "seconds": None, "error": None, "html": page.name,
                    "notebook": nb_out.name, "headline": {}, "attempts": 0}
        params = {k: v for k, v in jobs[0]["parameters"].items()
                  if k in ov_known and k != "segment"}
        jobs.insert(0, {**jobs[0], "notebook": str(ov_path.resolve()), "output": str(nb_out),
                        "html": str(page), "title": f"{survey.questionnaire.title}: overview",
                        "parameters": params})
        entries.insert(0, ov_entry)
    _parameterise(jobs)
    return survey, prepared, jobs, entries, ov_entry, abspath


def _parameterise(jobs: list[dict]) -> None:
    """Each job's notebook with its parameters injected (papermill), as JSON text in
    ``job["source"]``: done here, once per template, so the workers need no papermill and
    a remote worker needs no copy of the template."""
    import nbformat
    from papermill.iorw import load_notebook_node

    templates: dict[str, Any] = {}
    for job in jobs:
        if job["notebook"] not in templates:
            templates[job["notebook"]] = load_notebook_node(job["notebook"])
        job["source"] = nbformat.writes(parameterised(templates[job["notebook"]],
                                                      job["parameters"], job["kernel_name"]))


def _finish(survey, entries, ov_entry, abspath, out, t_start, started, prepare_seconds,
            segment_by, workers, timeout, min_base, nb_path, extra, prewarmed,
            tabbook=None, *, interrupted: bool = False,
            phases: dict | None = None, scheduler: str | None = None) -> ReportResult:
    """Write manifest.json and index.html; the result. ``interrupted``: the run was
    stopped (run status ``interrupted``; the index says the report is partial)."""
    ok = all(e["status"] == "ok" for e in entries) and (
        ov_entry is None or ov_entry["status"] == "ok") and (
        tabbook is None or tabbook["status"] != "failed") and not interrupted
    seconds = time.monotonic() - t_start
    seg_label = _variable_label(survey, segment_by)
    run = {
        "surveykit": __version__, "started": started, "seconds": round(seconds, 3),
        "prepare_seconds": round(prepare_seconds, 3),
        "questionnaire": abspath["questionnaire"], "data": abspath["data"],
        "targets": abspath["targets"], "crm": abspath["crm"], "segment_by": segment_by,
        "segment_label": seg_label, "segments": [e["value"] for e in entries],
        "workers": workers, "timeout": timeout, "min_base": min_base,
        "notebook": str(nb_path), "parameters": extra, "n": int(len(survey.data)),
        "weighted": survey.weights is not None,
        "weighting_efficiency": survey.meta.get("weighting_efficiency"),
        "prewarmed_workers": prewarmed, "overview": ov_entry, "tabbook": tabbook, "ok": ok,
        "status": "interrupted" if interrupted else ("ok" if ok else "failed"),
        "unsegmented": _unsegmented(survey, segment_by),
        "report_spec": survey.meta.get("report_spec"),
        "phases": phases or {},
        "scheduler": scheduler,
    }
    manifest_path = write_manifest(out / "manifest.json", run, entries)
    title = f"{survey.questionnaire.title}: findings by {seg_label}"
    total = _total_row(entries, len(survey.data))
    notes = _index_notes(survey, min_base, segment_by)
    sub = (f"{len(survey.data):,} respondents; {len(entries)} segments of {seg_label}; "
           f"{'weighted' if survey.weights else 'unweighted'}"
           + (f" (weighting efficiency {100 * survey.meta['weighting_efficiency']:.0f}%)"
              if survey.meta.get("weighting_efficiency") is not None else ""))
    index_path = write_index(out / "index.html", title, entries, total=total, notes=notes,
                             subtitle=sub, overview=ov_entry, tabbook=tabbook,
                             interrupted=interrupted, trend=survey.meta.get("index_trend", ""))
    return ReportResult(out, index_path, manifest_path, entries, ok, seconds, prepare_seconds,
                        ov_entry, tabbook, phases or {})


def _variable_label(survey, name: str) -> str:
    try:
        return survey.questionnaire.variable(name).label
    except KeyError:
        return name


def _total_row(entries: list[dict], n: int) -> dict:
    total: dict[str, Any] = {"base": f"{n:,}"}
    for e in entries:
        for m in e.get("headline", {}).get("total", []) or []:
            total.setdefault(m["key"], m)
    return total


def _unsegmented(survey, segment_by: str) -> int:
    """Respondents with no value of the segment variable (in the total, in no segment)."""
    return int(survey.data[segment_by].isna().sum())


def _index_notes(survey, min_base: int, segment_by: str) -> list[str]:
    unseg = _unsegmented(survey, segment_by)
    spec = survey.meta.get("report_spec") or {}
    return [
        *([f"{unseg:,} of {len(survey.data):,} respondents have no "
           f"{_variable_label(survey, segment_by).lower()}: they are in the total and in "
           "every comparison with the rest of the sample, but in no segment, so the segment "
           f"bases add up to {len(survey.data) - unseg:,}."] if unseg else []),
        *(["The questionnaire declares no report: block, so the report's inputs were "
           "inferred (listed in each report's method note)."] if spec.get("notes") else []),
        "Arrows mark segment results significantly higher (▲) or lower (▼) than the rest of "
        "the sample at the 5% level (two-sided tests on effective bases; details in each "
        "report's method note); green is better, red is worse (a lower complaint rate is "
        "better).",
        f"Bases under {min_base} respondents are flagged 'low base' and not tested.",
        "Base = unweighted respondents; share = weighted share of the sample.",
    ]
