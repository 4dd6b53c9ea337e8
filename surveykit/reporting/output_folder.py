"""The output folder of a report run: what may be replaced, refused before anything runs.

A run replaces its output folder as a whole, so ``_check_out`` refuses a folder that is a
file, holds an input or the current folder, cannot be written, or holds files that no
earlier report wrote (an earlier run's ``manifest.json`` lists the files it wrote).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import ReportError
from .overview import TABBOOK

__all__: list[str] = []


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
