"""Results that every segment's page computes identically, computed once per run.

A segment's findings compare it with the total: the total's estimates, the estimates of
every segment (``by=`` the segment variable, of which a page keeps its own row), the tests
of every segment against the rest, the construct scores, the coded open-text themes and the
driver-chart axes drawn from all segments are the same on every page. The runner computes
them once while it prepares the data (:func:`prepare_shared`, on one page's worth of calls)
and saves them beside the prepared survey (``findings_shared.pkl``); each page loads them
(``SegmentFindings(..., shared=prepared)``) and computes only what is its own (its driver
model, its quotes, its charts).

Lookups are keyed by the call itself (function, data, columns and every keyword), so a
page asks for exactly what it would compute and a miss is simply computed: the store can
only make a page faster, never different.
"""

from __future__ import annotations

import copy
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["SharedResults", "SHARED_FILE", "prepare_shared"]

#: the file beside the prepared survey
SHARED_FILE = "findings_shared.pkl"
_SIMPLE = (str, int, float, bool, type(None), np.generic)


def _plain(value) -> bool:
    """True for values whose ``repr`` names them exactly (no truncated arrays)."""
    if isinstance(value, _SIMPLE):
        return True
    if isinstance(value, list | tuple):
        return all(_plain(v) for v in value)
    return False


def call_key(kind: str, tag: str, columns, kw: dict) -> tuple | None:
    """The store key of one call, or None when an argument cannot be keyed exactly."""
    if not _plain(columns) or not all(_plain(v) for v in kw.values()):
        return None
    return (kind, tag, repr(columns), repr(sorted(kw.items())))


class SharedResults:
    """A store of per-run results: :meth:`get` returns a copy of the stored value, or
    computes, stores and returns it.

    Examples
    --------
    >>> store = SharedResults()
    >>> store.get(("x",), lambda: [1, 2]), store.get(("x",), lambda: [3])
    ([1, 2], [1, 2])
    >>> store.hits, store.misses
    (1, 1)
    """

    def __init__(self, values: dict | None = None):
        self.values: dict = dict(values or {})
        self.hits = self.misses = 0

    def get(self, key, compute):
        if key is None:
            return compute()
        if key in self.values:
            self.hits += 1
        else:
            self.misses += 1
            self.values[key] = compute()
        return _copy(self.values[key])

    def save(self, folder: str | os.PathLike) -> Path:
        path = Path(folder) / SHARED_FILE
        with open(path, "wb") as fh:
            pickle.dump(self.values, fh, protocol=pickle.HIGHEST_PROTOCOL)
        return path

    @classmethod
    def load(cls, shared) -> SharedResults:
        """``shared``: a store, a dict, a prepared folder (its ``findings_shared.pkl``,
        empty when there is none) or None (an empty store)."""
        if isinstance(shared, SharedResults):
            return shared
        if isinstance(shared, dict):
            return cls(shared)
        if shared is not None:
            path = Path(shared) / SHARED_FILE
            if path.is_file():
                return cls(_read(path))
        return cls()

    def __repr__(self) -> str:
        return f"SharedResults({len(self.values)} results)"


#: the last store read in this process: (path, inode, modification time, size) -> values.
#: A report's kernel runs several pages of one run, which read the same file; a page gets
#: its own dict of the values (what it adds stays its own) and copies of them (``get``).
_LAST_READ: dict = {}


def _read(path: Path) -> dict:
    st = path.stat()
    key = (str(path.resolve()), st.st_ino, st.st_mtime_ns, st.st_size)
    if key not in _LAST_READ:
        with open(path, "rb") as fh:
            values = pickle.load(fh)  # noqa: S301 - written by this run
        _LAST_READ.clear()
        _LAST_READ[key] = values
    return _LAST_READ[key]


def _copy(value):
    """A copy of a stored value that the caller may change: with pandas' copy-on-write
    (always on from pandas 3) a shallow copy, whose first change copies the data."""
    import pandas as pd

    if isinstance(value, pd.DataFrame | pd.Series) and _copy_on_write():
        return value.copy(deep=False)
    if hasattr(value, "copy") and callable(value.copy):
        return value.copy()
    return copy.copy(value)


def _copy_on_write() -> bool:
    import pandas as pd

    return int(pd.__version__.split(".")[0]) >= 3 or pd.get_option("mode.copy_on_write") is True


def prepare_shared(survey, segment_by: str, segments, *, min_base: int = 30,
                   spec: dict | None = None, alpha: float = 0.05,
                   wave=None) -> SharedResults:
    """Compute the results every page shares, by running the data side of one page (the
    largest segment's: the one most certainly tested) without its charts.

    Examples
    --------
    >>> from surveykit.survey import Survey
    >>> s = Survey.from_files("questionnaires/pc_customers.yaml", "data/demo/responses.csv")
    >>> store = prepare_shared(s, "segment", [1, 2])
    >>> len(store.values) > 10
    True
    """
    from .findings import SegmentFindings
    from .section import Section

    store = SharedResults()
    counts = survey.data[segment_by].value_counts()   # (all waves: a rough size is enough)
    values = list(segments)
    biggest = max(values, key=lambda v: int(counts.get(v, 0)))
    f = SegmentFindings(survey, segment_by, biggest, min_base=min_base, spec=spec,
                        alpha=alpha, wave=wave, shared=store)
    steps = [f._metric_rows, f._attribute_table, f._construct_table, f.profile,
             f.value_lifecycle, f._ipa, f._coding_notes_once,
             lambda: f._option_table(f._pain_questions()),
             lambda: f._option_table(f.spec.channels),
             lambda: f._option_table(f.spec.sources)]
    steps += [lambda q=q: f._theme_section(Section("pain_points", ""), q, 1)
              for q in f.spec.open_text if q in survey.data.columns]
    # the category tests that other segments' pages run (e.g. of a question asked only
    # of some segments, which the largest one may not answer)
    steps += [lambda v=v: f._category_tests(v) for v in f._single_columns()]
    for step in steps:  # none of them draws a chart
        try:
            step()
        except Exception:  # noqa: BLE001, S112 - the page computes it then (and says why)
            continue
    return store


def page_key(*parts: Any) -> tuple:
    """A store key for a named per-run result (not an estimate call)."""
    return ("result", *map(repr, parts))
