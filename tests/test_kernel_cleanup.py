"""A kernel that is killed (an interrupted run, or a worker done with it) is gone for good:
its process reaped (no zombie, no "subprocess is still running" ResourceWarning when its
Popen is collected) and the zmq context and sockets this process opened for it closed."""

from __future__ import annotations

import gc
import warnings

import pytest

from surveykit.reporting.kernels import _Kernel


@pytest.mark.slow
def test_a_killed_kernel_is_reaped_and_leaves_no_open_handles(tmp_path):
    k = _Kernel("python3", str(tmp_path), 60)
    k.start()
    proc, ctx = k.km.provisioner.process, k.km.context
    assert proc.poll() is None and not ctx.closed
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        k.kill()
        del k
        gc.collect()
    assert proc.returncode is not None             # reaped: waited for, not a zombie
    assert ctx.closed
    assert [str(w.message) for w in seen if issubclass(w.category, ResourceWarning)] == []


@pytest.mark.slow
def test_a_kernel_replaced_as_not_alive_is_killed(tmp_path, monkeypatch):
    """A worker's kernel that does not answer the liveness check is replaced: the old one
    is killed and reaped, not left running behind the new one."""
    from surveykit.reporting import kernels

    job = {"kernel_name": "python3", "cwd": str(tmp_path), "start_timeout": 60}
    try:
        old, _ = kernels._warm_kernel(job)
        proc = old.km.provisioner.process
        monkeypatch.setattr(kernels._Kernel, "alive", lambda self: False)
        new, starts = kernels._warm_kernel(job)
        assert new is not old and starts == 1
        assert proc.returncode is not None                # the old kernel: reaped
        assert new.km.provisioner.process.poll() is None   # the new one runs
    finally:
        kernels._kill_kernels()
