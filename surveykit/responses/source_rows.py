"""Where response rows came from: file line, sheet row, Parquet record or SPSS case.

``df.attrs["source_rows"]`` maps index labels to their place in the file;
:func:`where_in_file` turns row labels into the text that messages about rows cite.
"""

from __future__ import annotations

import bisect
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["where_in_file"]


_UNITS = {"line": "lines", "sheet row": "sheet rows", "record": "records", "case": "cases"}


def _source_rows(path: Path, unit: str, numbers: np.ndarray) -> dict:
    """``attrs["source_rows"]``: the 1-based place in the file of each row label 0..n-1,
    stored as the first place and the labels where the step from one row to the next is
    not 1 (blank lines, records over several lines), so it stays small."""
    numbers = np.asarray(numbers, dtype=np.int64)
    n = len(numbers)
    first = int(numbers[0]) if n else 1
    extra = numbers - first - np.arange(n)
    change = np.flatnonzero(np.diff(extra, prepend=0))
    return {"path": str(path), "file": Path(path).name, "unit": unit, "n": n, "first": first,
            "shifts": tuple((int(i), int(extra[i])) for i in change)}


def _places(rows: dict | None, labels, frame: pd.DataFrame | None = None) -> list[int] | None:
    """File places (line numbers...) of the index ``labels``, or None when unknown (no
    source, or the index is no longer the one :func:`read_responses` gave)."""
    if not isinstance(rows, dict) or "shifts" not in rows:
        return None
    n = rows["n"]
    if frame is not None:
        idx = frame.index
        if isinstance(idx, pd.RangeIndex) and idx.start == 0 and idx.step == 1:
            if len(idx) != n:
                return None
        elif not (pd.api.types.is_integer_dtype(idx.dtype) and idx.is_unique and
                  (len(idx) == 0 or (idx.min() >= 0 and idx.max() < n))):
            return None
    keys = [i for i, _ in rows["shifts"]]
    out = []
    for lab in labels:
        if not isinstance(lab, int | np.integer) or not 0 <= lab < n:
            return None
        k = bisect.bisect_right(keys, int(lab)) - 1
        out.append(int(lab) + rows["first"] + (rows["shifts"][k][1] if k >= 0 else 0))
    return out


def where_in_file(df: pd.DataFrame, labels) -> str:
    """Where rows of ``df`` (index labels) are in the file it was read from, e.g.
    ``" at raw.csv lines 6, 25"``; ``""`` when unknown.

    Examples
    --------
    >>> from surveykit.questionnaire import load_questionnaire
    >>> from surveykit.responses import read_responses
    >>> q = load_questionnaire("questionnaires/pc_customers.yaml")
    >>> df = read_responses("data/demo/responses.csv", q)
    >>> where_in_file(df, [0, 9])
    ' at responses.csv lines 2, 11'
    >>> where_in_file(df.reset_index(drop=True).iloc[:5].reset_index(drop=True), [0])
    ''
    """
    rows = df.attrs.get("source_rows")
    labels = list(labels)
    if isinstance(rows, dict) and "parts" in rows:  # several files (surveykit.waves)
        if _places({"n": rows["n"], "first": 0, "shifts": ()}, labels, df) is None:
            return ""
        starts = [p["offset"] for p in rows["parts"]]
        found: dict[int, list] = {}
        for lab in labels:
            found.setdefault(bisect.bisect_right(starts, int(lab)) - 1, []).append(int(lab))
        texts = []
        for k, labs in found.items():
            part = rows["parts"][k]
            places = _places(part, [lab - part["offset"] for lab in labs])
            unit = part["unit"] if len(places) == 1 else _UNITS.get(part["unit"], part["unit"])
            texts.append(f"{part['file']} {unit} {', '.join(map(str, places))}")
        return " at " + "; ".join(texts)
    places = _places(rows, labels, df)
    if not places:
        return ""
    unit = rows["unit"] if len(places) == 1 else _UNITS.get(rows["unit"], rows["unit"])
    return f" at {rows['file']} {unit} {', '.join(map(str, places))}"
