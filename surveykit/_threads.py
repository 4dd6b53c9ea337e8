"""Work on two cores: how many this process may use, and column-wise work on threads."""

from __future__ import annotations

import os
from collections.abc import Iterable


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity where the system has one (a
    container or ``taskset`` limits it), else the machine's count."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


#: a frame with fewer rows than this is worked column by column in the calling thread:
#: on a small frame the hand-over between threads costs more than it gains
THREADED_ROWS = 100_000


def column_map(fn, items: Iterable, rows: int):
    """``fn(*item)`` for each of ``items``, in order, two items at a time on threads when
    the frame has ``rows`` >= :data:`THREADED_ROWS` rows and there are two cores or more.

    For column-wise work on whole arrays (numpy ufuncs and pyarrow compute run without the
    GIL). ``fn`` must only read shared state (or write keys of its own). The results come
    one at a time, in the order of ``items``, so that each can go once it is used; ``items``
    may be a generator that lets each item go once it is handed over.

    Examples
    --------
    >>> list(column_map(lambda a, b: a + b, [(1, 2), (3, 4)], rows=10))
    [3, 7]
    """
    if rows < THREADED_ROWS or usable_cores() < 2:
        for item in items:
            yield fn(*item)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2) as pool:
        yield from pool.map(lambda item: fn(*item), items)
