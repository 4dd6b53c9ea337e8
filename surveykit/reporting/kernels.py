"""Warm Jupyter kernels of a report worker process.

A worker keeps one kernel per kernel name warm across its notebooks (``_warm_kernel``):
between notebooks the user namespace is cleared and the kernel moved to the job's working
folder; a kernel that fails to start is retried once (and only then), after which
:class:`KernelStartError` is raised. ``_warm_worker`` starts a worker's kernel ahead of its
first job (in an empty folder of its own, since the run's folder may not exist yet), loads
the analysis modules into it and, meanwhile, builds the HTML exporter. nbclient is kept
from taking SIGINT and SIGTERM over, and ``_kill_kernels`` kills a process's kernels at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import time
from pathlib import Path

from ..errors import ReportError

__all__ = ["KernelStartError"]


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

    def start(self, launched=None) -> None:
        """Start the kernel and wait for its ``kernel_info`` reply; ``launched()`` is called
        as soon as its process runs (to do other work while it starts)."""
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
            if launched is not None:
                launched()
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
        kms = [km for km in (self.km, self._starting) if km is not None]
        for km in kms:
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
            # reap it (SIGKILL ends it within milliseconds): no zombie left behind, and no
            # "subprocess is still running" ResourceWarning when the Popen is collected
            with contextlib.suppress(Exception):
                proc.wait(timeout=5)
            with contextlib.suppress(OSError, TypeError):
                Path(km.connection_file).unlink(missing_ok=True)
        kc = self.kc
        if kc is not None:  # close its sockets (no leaked zmq handles in this process)
            with contextlib.suppress(Exception):
                kc.stop_channels()
        for km in kms:  # the manager's control socket and the zmq context it made
            with contextlib.suppress(Exception):
                km._close_control_socket()
                if getattr(km, "_created_context", False):
                    km.context.destroy(linger=0)
        self._owner = self.km = self.kc = self._starting = None
        log, self._log = getattr(self, "_log", None), None
        if log is not None:
            log.close()

    def stop(self) -> None:
        """Shut the kernel down gracefully; if that fails, kill it (:meth:`kill`), so that
        neither its process nor this process's handles to it outlive the call."""
        owner = self._owner
        if owner is not None and owner.km is not None:
            try:
                owner._cleanup_kernel()
            except Exception:  # noqa: BLE001 - shutting down anyway: at once, then
                self.kill()
                return
        self._owner = self.km = self.kc = None
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

    def reset(self, cwd: str) -> None:
        """Delete every user variable (like ``%reset -f`` without its full garbage
        collection, which costs ~0.3 s on a heap with pandas and matplotlib loaded) and go
        to the working folder ``cwd``."""
        import nbformat

        self.cwd = cwd
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


def _warm_kernel(job: dict, launched=None) -> tuple[_Kernel, int]:
    """The worker's kernel for ``job``: reused if alive (and moved to the job's ``cwd``),
    else started there (one retry); ``launched`` as in :meth:`_Kernel.start`.

    Returns the kernel and how many start attempts were made.
    """
    key = job["kernel_name"]
    k = _KERNELS.get(key)
    if k is not None and k.alive():
        try:
            k.reset(job["cwd"])
            return k, 0
        except Exception:  # noqa: BLE001 - a kernel that cannot reset is replaced
            k.kill()
    elif k is not None:  # dead, or its state unknown: make sure its process is gone
        k.kill()
    if not _KERNELS:
        import atexit

        atexit.register(_shutdown_kernels)
    k = _Kernel(job["kernel_name"], job["cwd"], job["start_timeout"])
    _KERNELS[key] = k
    for attempt in (1, 2):  # one retry, for kernel start-up failures only
        try:
            k.start(launched if attempt == 1 else None)
            return k, attempt
        except Exception as exc:  # noqa: BLE001
            if attempt == 2:
                _KERNELS.pop(key, None)
                raise KernelStartError(
                    f"the {job['kernel_name']!r} kernel did not start (2 attempts): "
                    f"{type(exc).__name__}: {exc}") from exc
    raise AssertionError("unreachable")  # pragma: no cover


#: Run in a worker's kernel before its first page: the modules a findings page loads (its
#: sections import most of them on first use). tests/test_imports.py checks that a page
#: loads nothing more after these, and these nothing that a page does not load.
_WARM_CODE = """\
import importlib as _importlib
for _m in ("surveykit.reporting.findings", "surveykit.survey", "pyarrow.parquet",
           "pyarrow.dataset", "surveykit.estimates", "surveykit.weighting",
           "surveykit.design", "surveykit.drivers", "surveykit.measurement",
           "surveykit.text.discovery", "surveykit.charts", "surveykit.reporting.export",
           "scipy.special"):
    try:
        _importlib.import_module(_m)
    except Exception:
        pass
import gc as _gc
_gc.freeze()  # the modules' objects: never walked again by a page's full collections
"""


def _warm_worker(kernel_name: str, start_timeout: float) -> None:
    """Pool initializer: start this worker's kernel and load the analysis modules into it,
    building the HTML exporter on a thread meanwhile (this process only waits for the
    kernel), so the first segment costs what the others do. The kernel starts in an empty
    folder of its own (deleted once it is warm: every job moves it to its own folder first).
    Failures are ignored here: the first job then starts its kernel itself (with its
    retry)."""
    import shutil
    import threading

    exporter = threading.Thread(target=_build_exporter, name="surveykit-exporter",
                                daemon=True)
    cwd = tempfile.mkdtemp(prefix="surveykit-warm-")
    try:
        import nbformat

        job = {"kernel_name": kernel_name, "cwd": cwd, "start_timeout": start_timeout}
        kernel, _ = _warm_kernel(job, launched=exporter.start)
        kernel.client(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(_WARM_CODE)]),
                      deadline=time.monotonic() + start_timeout + 60).execute()
    except Exception:  # noqa: BLE001, S110 - warming up is an optimisation only
        pass
    finally:
        if exporter.ident is None:
            exporter.start()  # the kernel did not start: build it here all the same
        exporter.join()
        shutil.rmtree(cwd, ignore_errors=True)


def _build_exporter() -> None:
    """Build the HTML exporter (nbconvert and its templates) with one tiny export."""
    try:
        import nbformat

        from .export import export_html

        export_html(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("warm")]))
    except Exception:  # noqa: BLE001, S110 - the first page then builds it
        pass
