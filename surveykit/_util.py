"""Small helpers shared by every analysis module (one place for the call-shape rules)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import EstimationError


def as_list(columns: str | Iterable[str] | None) -> list[str]:
    """``"a"`` -> ``["a"]``; ``None`` -> ``[]``; any iterable -> list."""
    if columns is None:
        return []
    if isinstance(columns, str):
        return [columns]
    return list(columns)


def resolve_weights(df: pd.DataFrame, weights, *, error=EstimationError) -> np.ndarray:
    """Return weights as a float array aligned with ``df``.

    ``weights`` may be ``None`` (all ones), the name of a column of ``df``, or an
    array-like / Series of ``len(df)``. Negative or non-finite weights are refused.
    """
    if weights is None:
        return np.ones(len(df), dtype=float)
    if isinstance(weights, str):
        if weights not in df.columns:
            raise error(f"weights column {weights!r} is not in the data; "
                        f"pass an existing column name or an array of length {len(df)}")
        w = pd.to_numeric(df[weights], errors="coerce").to_numpy(dtype=float)
        name = repr(weights)
    else:
        w = np.asarray(weights, dtype=float).reshape(-1)
        name = "weights"
        if len(w) != len(df):
            raise error(f"{name} has length {len(w)} but the data have {len(df)} rows")
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        row = df.index[int(np.argmax(bad))]
        raise error(f"{name} must be finite and >= 0; row {row!r} has {w[bad][0]!r} "
                    f"({int(bad.sum())} bad value(s) in all)")
    return w


def check_columns(df: pd.DataFrame, columns: Iterable[str], *, error=EstimationError,
                  what: str = "column") -> None:
    """Raise ``error`` naming every requested column missing from ``df``."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise error(f"{what}(s) not in the data: {', '.join(map(repr, missing))}; "
                    f"available: {', '.join(map(str, list(df.columns)[:20]))}"
                    + (" ..." if len(df.columns) > 20 else ""))


def numeric_array(df: pd.DataFrame, column: str, *, error: type[Exception] = EstimationError,
                  what: str = "column") -> np.ndarray:
    """Return ``df[column]`` as a new float array; refuse text that is not a number.

    Numbers written as text (``"3"``) are converted; any other text raises ``error``
    naming the column and the first offending value, so a mistyped answer never
    silently becomes missing. Missing and non-finite values become NaN.

    Parameters
    ----------
    df : DataFrame
        The data; not modified.
    column : str
        A column of ``df`` (check it exists first, e.g. with :func:`check_columns`).
    error : type of Exception, default EstimationError
        Raised for non-numeric text: the calling module's error type.
    what : str, default "column"
        What the message calls the column (``"item"``, ``"driver"`` ...).

    Returns
    -------
    numpy.ndarray
        float64, one value per row of ``df``; a copy, never a view of the data.

    Examples
    --------
    >>> df = pd.DataFrame({"a": ["1", None, "3"], "b": ["4", "n/a", "6"]})
    >>> numeric_array(df, "a")
    array([ 1., nan,  3.])
    >>> numeric_array(df, "b", error=ValueError, what="item")
    Traceback (most recent call last):
    ...
    ValueError: item 'b' holds non-numeric values (e.g. 'n/a'); recode it first
    """
    s = df[column]
    if not pd.api.types.is_numeric_dtype(s) and not s.isna().all():
        v = pd.to_numeric(s, errors="coerce")
        if v.notna().sum() < s.notna().sum():
            raise error(f"{what} {column!r} holds non-numeric values (e.g. "
                        f"{s[v.isna() & s.notna()].iloc[0]!r}); recode it first")
        s = v
    x = s.to_numpy(dtype=float, na_value=np.nan).copy()
    x[~np.isfinite(x)] = np.nan
    return x


def atomic_write(path: str | os.PathLike, data: str | bytes) -> Path:
    """Write ``data`` to a temporary file beside ``path`` and move it into place."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(21, f"{path} is a folder; give a file name such as "
                                    f"{path / 'output'}", str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **({} if mode == "wb" else {"encoding": "utf-8"})) as fh:
            fh.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file normal permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def shorten(text, width: int = 40) -> str:
    """Cut ``text`` to at most ``width`` characters at a word boundary, ending with "…".

    Examples
    --------
    >>> shorten("Reliable after-sales service is essential to me", 30)
    'Reliable after-sales service…'
    >>> shorten("Battery life", 30)
    'Battery life'
    """
    text = " ".join(str(text).split())
    if len(text) <= width:
        return text
    cut = text[: width - 1]
    if " " in cut and not text[width - 1].isspace():
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,;:-/") + "…"


def lower_first(label: str) -> str:
    """Lower-case a label's first letter for use mid-sentence; acronyms stay as they are.

    Examples
    --------
    >>> lower_first("Technology / IT"), lower_first("CPU performance")
    ('technology / IT', 'CPU performance')
    """
    if len(label) > 1 and label[0].isupper() and label[1].islower():
        return label[0].lower() + label[1:]
    return label


def repeated(items) -> list:
    """The entries that occur more than once, each listed once, in order of first repeat.

    Examples
    --------
    >>> repeated([3, 1, 3, 2, 1, 3])
    [3, 1]
    """
    seen, dup = set(), []
    for item in items:
        if item in seen and item not in dup:
            dup.append(item)
        seen.add(item)
    return dup
