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
