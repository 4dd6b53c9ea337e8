"""The report runner: prepare once, run one notebook per segment in parallel, export HTML.

:func:`run_report` checks its parameters against the notebook's ``parameters`` cell,
prepares the checked, cleaned and weighted data **once** (:class:`surveykit.survey.Survey`,
saved to a temporary folder that every run loads), and runs the findings notebook for every
segment in worker processes (default: one per core) with a progress bar. Each notebook is
parameterised by papermill and executed by nbclient with a per-notebook timeout, on a kernel
the worker keeps warm across its segments (namespace reset in between; one retry for kernel
start-up failures only; a kernel that timed out or died is replaced, never reused). The
worker exports each executed notebook to self-contained HTML in-process and keeps the
executed ``.ipynb`` beside it. Then ``manifest.json`` and ``index.html`` are written. One
failing segment never stops the others: its page shows the error, the index marks it failed
and :attr:`ReportResult.ok` is False.

Worker processes are started with ``spawn``: a script that calls :func:`run_report` needs
the usual ``if __name__ == "__main__":`` guard (the ``surveykit`` command and Jupyter need
nothing).
"""

from __future__ import annotations

import html
import json
import math
import multiprocessing as mp
import os
import shutil
import tempfile
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from .. import __version__
from ..errors import ReportError
from .export import HEADLINE_MIME, export_html, failure_page
from .index import write_index, write_manifest
from .names import inside, unique_names, value_text

__all__ = ["run_report", "ReportResult", "check_parameters", "notebook_parameters",
           "DEFAULT_NOTEBOOK", "segment_values"]

DEFAULT_NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "segment_findings.ipynb"
DEFAULT_OVERVIEW = Path(__file__).resolve().parents[2] / "notebooks" / "overview.ipynb"
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

    @property
    def failed(self) -> list[dict]:
        """Entries (segments, then the overview) whose page shows an error."""
        out = [s for s in self.segments if s["status"] != "ok"]
        if self.overview is not None and self.overview["status"] != "ok":
            out.append(self.overview)
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
    >>> check_parameters("notebooks/segment_findings.ipynb", ["segment", "colour"])
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
# the worker: papermill parameterises, nbclient executes on a warm kernel
# ------------------------------------------------------------------------------------------
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


def _run_segment(job: dict) -> dict:
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


# ------------------------------------------------------------------------------------------
# the runner
# ------------------------------------------------------------------------------------------
def run_report(questionnaire, data, *, targets=None, crm=None, segment_by: str,
               segments=None, workers: int | None = None, timeout: float = 600,
               min_base: int = 30, out="reports", notebook=None,
               parameters: dict | None = None, kernel_name: str = "python3",
               start_timeout: float = 60, progress: bool = True,
               keep_data: bool = False, reuse_kernels: bool = True,
               overview=True) -> ReportResult:
    """Per-segment findings: prepare once, run a notebook per segment, write HTML + index.

    Parameters
    ----------
    questionnaire, data : path
        Questionnaire YAML and responses file.
    targets : path, optional
        Weighting targets (the data are raked to them once, before any notebook runs).
    crm : path, optional
        CRM extract joined on the questionnaire's customer id.
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
        Output folder: ``index.html``, ``manifest.json``, one ``<segment>.html`` and the
        executed ``<segment>.ipynb`` beside it.
    notebook : path, optional
        The findings notebook (default ``notebooks/segment_findings.ipynb``).
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
    overview : bool or path
        Also run the whole-sample overview notebook (``notebooks/overview.ipynb``, or this
        path) to ``overview.html``, linked from the index. Its failure is reported like a
        segment's.

    Returns
    -------
    ReportResult
        ``.index_path``, ``.manifest_path``, ``.segments``, ``.ok``.

    Raises
    ------
    ReportError
        Bad parameters (unknown notebook parameter, unknown segment, workers < 1...);
        raised before anything runs. Errors in the inputs raise their own typed errors
        (QuestionnaireError, ResponseDataError, WeightingError).

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
    extra = dict(parameters or {})
    clash = [k for k in extra if k in RUNNER_PARAMETERS]
    if clash:
        raise ReportError(f"parameters {clash} are set by run_report itself; pass them as its "
                          "own arguments")
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
    out.mkdir(parents=True, exist_ok=True)

    # 0. start the worker processes now: each starts its kernel and loads the analysis
    #    modules into it while this process prepares the data
    n_jobs = None if segments is None else len(segments) + (ov_path is not None)
    n_pool = workers if n_jobs is None else min(workers, n_jobs)
    pool = _start_pool(n_pool, kernel_name, str(out), start_timeout) \
        if n_pool > 1 and reuse_kernels else None
    try:
        plan = _plan(questionnaire, data, targets, crm, segment_by, segments, min_base, out,
                     keep_data, nb_path, ov_path, kernel_name, timeout, start_timeout,
                     reuse_kernels, extra)
    except BaseException:
        if pool is not None:
            _abort_pool(pool)
        raise
    survey, prepared, jobs, entries, ov_entry, abspath = plan
    prepare_seconds = time.monotonic() - t_start

    # 2. run in parallel
    try:
        _execute_all(jobs, entries, workers=min(workers, len(jobs)), progress=progress,
                     pool=pool)
        if ov_entry is not None:
            entries.pop(0)
    finally:
        if not keep_data:
            shutil.rmtree(prepared, ignore_errors=True)
    return _finish(survey, entries, ov_entry, abspath, out, t_start, started,
                   prepare_seconds, segment_by, workers, timeout, min_base, nb_path, extra,
                   n_pool if pool is not None else 0)


def _plan(questionnaire, data, targets, crm, segment_by, segments, min_base, out, keep_data,
          nb_path, ov_path, kernel_name, timeout, start_timeout, reuse_kernels, extra):
    """Prepare the survey once and lay out one job per page (the overview first)."""
    from ..survey import Survey

    survey = Survey.from_files(questionnaire, data, targets=targets, crm=crm)
    chosen = segment_values(survey, segment_by, segments)
    if keep_data:
        prepared = out / "_prepared"
    else:
        prepared = Path(tempfile.mkdtemp(prefix="surveykit-report-"))
    survey.save(prepared)

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
    return survey, prepared, jobs, entries, ov_entry, abspath


def _finish(survey, entries, ov_entry, abspath, out, t_start, started, prepare_seconds,
            segment_by, workers, timeout, min_base, nb_path, extra, prewarmed) -> ReportResult:
    """Write manifest.json and index.html; the result."""
    ok = all(e["status"] == "ok" for e in entries) and (
        ov_entry is None or ov_entry["status"] == "ok")
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
        "prewarmed_workers": prewarmed, "overview": ov_entry, "ok": ok,
    }
    manifest_path = write_manifest(out / "manifest.json", run, entries)
    title = f"{survey.questionnaire.title}: findings by {seg_label}"
    total = _total_row(entries, len(survey.data))
    notes = _index_notes(survey, min_base)
    sub = (f"{len(survey.data):,} respondents; {len(entries)} segments of {seg_label}; "
           f"{'weighted' if survey.weights else 'unweighted'}"
           + (f" (weighting efficiency {100 * survey.meta['weighting_efficiency']:.0f}%)"
              if survey.meta.get("weighting_efficiency") is not None else ""))
    index_path = write_index(out / "index.html", title, entries, total=total, notes=notes,
                             subtitle=sub, overview=ov_entry)
    return ReportResult(out, index_path, manifest_path, entries, ok, seconds, prepare_seconds,
                        ov_entry)


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


def _index_notes(survey, min_base: int) -> list[str]:
    return [
        "Arrows mark segment results significantly higher (▲) or lower (▼) than the rest of "
        "the sample at the 5% level (two-sided tests on effective bases; details in each "
        "report's method note); green is better, red is worse (a lower complaint rate is "
        "better).",
        f"Bases under {min_base} respondents are flagged 'low base' and not tested.",
        "Base = unweighted respondents; share = weighted share of the sample.",
    ]


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


def _start_pool(n: int, kernel_name: str, cwd: str, start_timeout: float):
    """A pool of ``n`` spawned workers, each warming up (see :func:`_warm_worker`) now."""
    pool = ProcessPoolExecutor(max_workers=n, mp_context=mp.get_context("spawn"),
                               initializer=_warm_worker,
                               initargs=(kernel_name, cwd, float(start_timeout)))
    for _ in range(n):  # a process is spawned per submit while none is idle
        pool.submit(_noop)
    return pool


def _abort_pool(pool) -> None:
    """Stop a pool whose jobs will never come (bad input found while preparing) without
    waiting for its workers to finish warming up; their kernels exit with them (ipykernel
    watches its parent)."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        p.terminate()
    for p in procs:
        p.join(timeout=10)


def _execute_all(jobs: list[dict], entries: list[dict], *, workers: int,
                 progress: bool, run=None, pool=None) -> None:
    """Run every job, filling ``entries`` in place.

    ``workers == 1`` runs in this process. Otherwise a pool of spawned worker processes
    runs them; if a worker process itself dies (which breaks the whole pool), the jobs that
    had not finished are run again one per fresh single-worker pool, so a job that kills
    its worker fails alone. ``run`` is the job function (default :func:`_run_segment`);
    ``pool`` an already started pool to use (and shut down).
    """
    from tqdm.auto import tqdm

    run = run or _run_segment
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
        return (run or _run_segment)(job)
    except Exception as exc:  # noqa: BLE001
        return _crashed(job, exc)


def _crashed(job: dict, exc: BaseException) -> dict:
    error = f"the worker process failed: {type(exc).__name__}: {exc}"
    try:
        failure_page(job["title"], error, html_path=job["html"])
    except Exception:  # noqa: BLE001, S110 - nothing more can be done
        pass
    return {"status": "failed", "error": error, "seconds": None, "headline": {}, "attempts": 1}
