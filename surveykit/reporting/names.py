"""Safe file names from segment values (any text: ``../../etc``, ``a/b``, spaces, 中文)."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from ..errors import ReportError

__all__ = ["safe_name", "unique_names", "inside", "value_text"]

_BAD = re.compile(r"[^\w.\-]+", flags=re.UNICODE)
_DASHES = re.compile(r"-{2,}")
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
             *(f"lpt{i}" for i in range(10)), "index", "manifest", "overview"}


def value_text(value) -> str:
    """A segment value as text: ``1.0`` -> ``"1"``; text unchanged."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    return str(value)


def safe_name(text, *, max_length: int = 60) -> str:
    """A file-name stem made from ``text`` that cannot leave its folder.

    Letters and digits of any script are kept (so Chinese labels stay readable);
    everything else (``/``, ``\\``, spaces, ``..``, control characters) becomes ``-``;
    leading dots and dashes are removed; the result is never empty, never a reserved
    device name, and at most ``max_length`` characters.

    Examples
    --------
    >>> safe_name("../../etc")
    'etc'
    >>> safe_name("Young professionals / 25-40")
    'Young-professionals-25-40'
    >>> safe_name("高端用户")
    '高端用户'
    >>> safe_name("..")
    'segment'
    """
    text = unicodedata.normalize("NFKC", value_text(text))
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    stem = _BAD.sub("-", text)
    stem = stem.replace("..", "-")
    stem = _DASHES.sub("-", stem).strip(".-_ ")
    stem = stem[:max_length].rstrip(".-_ ")
    if not stem:
        stem = "segment"
    if stem.lower() in _RESERVED:
        stem = f"{stem}-segment"
    return stem


def unique_names(texts: Iterable, *, max_length: int = 60) -> list[str]:
    """:func:`safe_name` of each text, made unique (case-insensitively) with ``-2``, ``-3``...

    Examples
    --------
    >>> unique_names(["a/b", "a b", "A-B"])
    ['a-b', 'a-b-2', 'A-B-3']
    """
    seen: set[str] = set()
    out = []
    for t in texts:
        base = safe_name(t, max_length=max_length)
        name, i = base, 1
        while name.lower() in seen:
            i += 1
            name = f"{base}-{i}"
        seen.add(name.lower())
        out.append(name)
    return out


def inside(folder: str | Path, name: str) -> Path:
    """``folder / name``, refusing any result that resolves outside ``folder``."""
    root = Path(folder).resolve()
    path = (root / name).resolve()
    if path.parent != root and root not in path.parents:
        raise ReportError(f"refusing to write {name!r}: it resolves outside {root}")
    return path
