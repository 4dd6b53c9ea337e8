"""Small helpers shared by every analysis module (one place for the call-shape rules)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import EstimationError, OutputPathError

if TYPE_CHECKING:  # numpy and pandas load on first use: a report worker needs neither
    import numpy as np
    import pandas as pd

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None


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
    import numpy as np
    import pandas as pd

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
    >>> import pandas as pd
    >>> df = pd.DataFrame({"a": ["1", None, "3"], "b": ["4", "n/a", "6"]})
    >>> numeric_array(df, "a")
    array([ 1., nan,  3.])
    >>> numeric_array(df, "b", error=ValueError, what="item")
    Traceback (most recent call last):
    ...
    ValueError: item 'b' holds non-numeric values (e.g. 'n/a'); recode it first
    """
    import numpy as np
    import pandas as pd

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


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def same_file(a, b) -> bool:
    """True when ``a`` and ``b`` name the same file (links followed); False when either
    does not exist."""
    try:
        return os.path.samefile(a, b)
    except (OSError, TypeError, ValueError):
        return False


def refuse_input_as_output(out, inputs: dict, *, option: str = "--out",
                           error: type[Exception] = OutputPathError) -> None:
    """Raise ``error`` when ``out`` is one of ``inputs`` (``{what: path}``), which the
    command reads and would overwrite.

    Examples
    --------
    >>> refuse_input_as_output(__file__, {"questionnaire": __file__})
    Traceback (most recent call last):
    ...
    surveykit.errors.OutputPathError: --out ... is the questionnaire this command reads; ...
    """
    for what, path in inputs.items():
        if path is not None and same_file(out, path):
            raise error(f"{option} {out} is the {what} this command reads; writing there "
                        "would overwrite it: give another file name")


@contextlib.contextmanager
def folder_lock(folder, *, error: type[Exception] = OutputPathError,
                option: str = "--out"):
    """Hold the lock file ``.<name>.surveykit-lock`` beside ``folder`` while a command
    writes the folder; a second command writing the same folder meanwhile is refused with
    ``error``. The lock is released (and its file removed) on every exit, and by the
    operating system when the process dies.

    Yields
    ------
    Path
        The lock file.
    """
    folder = Path(folder)
    lock = folder.parent / f".{folder.name}.surveykit-lock"
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        while True:
            if fcntl is None:  # no advisory locks (Windows): the file's existence is the lock
                try:
                    fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
                except FileExistsError:
                    fd = None
                break
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 200).decode("utf-8", "replace").strip()
                os.close(fd)
                fd = None
                break
            try:  # the holder may have removed the file between our open and flock
                current = os.stat(lock).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                current = False
            if current:
                break
            os.close(fd)
    except OSError as exc:
        raise error(f"cannot write beside {option} {folder}: {exc.strerror or exc} "
                    f"({exc.filename or folder.parent}); choose a folder you can write") from None
    if fd is None:
        if fcntl is None:
            holder = lock.read_text(encoding="utf-8", errors="replace").strip()
        raise error(f"another surveykit run ({holder or 'unknown process'}) is writing "
                    f"{option} {folder}; wait for it to finish or choose another folder "
                    f"(lock file {lock})")
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}, started "
                     f"{datetime.now().isoformat(timespec='seconds')}".encode())
        yield lock
    finally:
        with contextlib.suppress(OSError):
            os.unlink(lock)
        os.close(fd)


def folder_beside(folder, kind: str = "new") -> Path:
    """A new private (mode 0700) folder beside ``folder``, named ``.<name>.surveykit-<kind>-*``,
    on the same file system, so that :func:`swap_in` can rename it into place."""
    folder = Path(folder)
    return Path(tempfile.mkdtemp(prefix=f".{folder.name}.surveykit-{kind}-", dir=folder.parent))


def sweep_beside(folder) -> list[Path]:
    """Delete the ``.<name>.surveykit-new-*`` and ``-old-*`` folders that a run killed
    outright left beside ``folder``; call it while holding :func:`folder_lock`."""
    folder = Path(folder)
    gone = []
    if folder.parent.is_dir():
        prefixes = (f".{folder.name}.surveykit-new-", f".{folder.name}.surveykit-old-")
        for p in folder.parent.iterdir():
            if p.name.startswith(prefixes) and p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
                gone.append(p)
    return gone


def swap_in(new, folder) -> Path:
    """Put the finished folder ``new`` in the place of ``folder`` and delete the previous
    contents: two renames (``folder`` aside, ``new`` in its place), so that no page of an
    earlier run survives beside the new ones. ``new`` gets normal permissions (umask)."""
    new, folder = Path(new), Path(folder)
    os.chmod(new, 0o777 & ~_umask())
    old = None
    if folder.exists() or folder.is_symlink():
        old = folder_beside(folder, "old")
        os.replace(folder, old)  # a folder may replace an empty folder
    try:
        os.replace(new, folder)
    except BaseException:
        if old is not None:
            os.replace(old, folder)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return folder


#: the record of the files a command wrote into a folder, with their SHA-256
WRITTEN_RECORD = ".surveykit-written.json"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_files_into(folder, produce, *, force: bool = False, inputs: dict | None = None,
                     option: str = "--out",
                     error: type[Exception] = OutputPathError) -> list[Path]:
    """Write the files that ``produce(tmp)`` makes into ``folder`` without replacing a file
    that surveykit did not write.

    ``produce`` writes into an empty private folder inside ``folder`` and returns the paths
    it wrote; nothing reaches ``folder`` unless every check passes. A file already in
    ``folder`` is surveykit's when ``WRITTEN_RECORD`` lists it with its current SHA-256, or
    when it holds exactly the bytes about to be written; any other is replaced only with
    ``force``. A file that is one of ``inputs`` (``{what: path}``) is never replaced.

    Returns
    -------
    list of Path
        The files written, in ``produce``'s order.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise error(f"{option} {folder} is a file; give a folder")
    folder.mkdir(parents=True, exist_ok=True)
    record_path = folder / WRITTEN_RECORD
    try:
        record = json.loads(record_path.read_text(encoding="utf-8")).get("files", {})
    except (OSError, ValueError, AttributeError):
        record = {}
    tmp = Path(tempfile.mkdtemp(prefix=".surveykit-new-", dir=folder))
    try:
        names = [Path(p).name for p in produce(tmp)]
        for name in names:
            for what, path in (inputs or {}).items():
                if path is not None and same_file(folder / name, path):
                    raise error(f"{option} {folder}: writing {name} would overwrite the {what} "
                                f"{path}, which this command reads; choose another folder")
        foreign = []
        for name in names:
            target = folder / name
            if not (target.exists() or target.is_symlink()):
                continue
            ours = target.is_file() and not target.is_symlink() and (
                record.get(name) == _sha256(target)
                or target.read_bytes() == (tmp / name).read_bytes())
            if not ours:
                foreign.append(name)
        if foreign and not force:
            raise error(f"{option} {folder} holds {', '.join(foreign)}, which surveykit did "
                        "not write; pass --force to replace them, or choose another folder")
        written = []
        for name in names:
            record[name] = _sha256(tmp / name)
            os.replace(tmp / name, folder / name)
            written.append(folder / name)
        atomic_write(record_path, json.dumps({"files": record}, indent=2, sort_keys=True) + "\n")
        return written
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


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


def short_repr(obj, text: str | None = None, width: int = 200) -> str:
    """The one-line ``repr`` of a result object: ``<Class: first line of its summary>``.

    Every result object's ``__repr__`` is this (the package's result API): short, never a
    dump of nested tables; ``summary()`` holds the text and ``to_frame()`` the data.

    Examples
    --------
    >>> class R:
    ...     def summary(self):
    ...         return "Key drivers of overall_sat\\n(a long table)"
    >>> short_repr(R())
    '<R: Key drivers of overall_sat>'
    """
    if text is None:
        text = obj.summary()
    first = next((line for line in str(text).splitlines() if line.strip()), "")
    return f"<{type(obj).__name__}: {shorten(first, width)}>"


def lower_first(label: str) -> str:
    """Lower-case a label's first letter for use mid-sentence, when its first word looks
    like an ordinary word.

    The label stays as it is when its first word is one letter other than the article
    ``A`` (``I agree``), has a capital after its first letter (an acronym such as ``NPS``,
    ``CPU``) or starts lower-case (``iPhone``), or when the next word is in title case too
    (a name such as ``Meridian Mobile``, ``A Better Way``; an acronym such as ``KOLs`` next
    is no sign of a name).

    Examples
    --------
    >>> lower_first("Overall satisfaction"), lower_first("Price and value")
    ('overall satisfaction', 'price and value')
    >>> lower_first("NPS"), lower_first("Meridian Mobile"), lower_first("iPhone users")
    ('NPS', 'Meridian Mobile', 'iPhone users')
    >>> lower_first("Technology / IT"), lower_first("CPU performance"), lower_first("I agree")
    ('technology / IT', 'CPU performance', 'I agree')
    >>> lower_first("A few times a week"), lower_first("A Better Way"), lower_first("A")
    ('a few times a week', 'A Better Way', 'A')
    >>> lower_first("Influencers, KOLs and social media")   # an acronym second is no name
    'influencers, KOLs and social media'
    """
    words = label.split()
    if not words:
        return label
    first = words[0]
    article = first == "A" and len(words) > 1        # "A few times a week", not grade "A"
    if not article and (len(first) < 2 or not (first[0].isupper() and first[1].islower())):
        return label
    if any(ch.isupper() for ch in words[0][1:]):
        return label
    second = words[1] if len(words) > 1 else ""
    if len(second) > 1 and second[0].isupper() and second[1].islower():  # a Title-case name
        return label
    return label[0].lower() + label[1:]


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


def path_order(names, preds: dict) -> tuple[list, list | None]:
    """Order ``names`` so that each comes after its predecessors ``preds[name]`` (ties keep
    the order of ``names``; predecessors not in ``names`` are ignored), or name a cycle:
    ``(order, None)`` or ``(partial, route)``, where ``route`` runs along the arrows and
    returns to its start. The one check of a
    recursive (acyclic) model: the questionnaire's ``paths:`` and :func:`surveykit.pls.pls`.

    Examples
    --------
    >>> path_order(["a", "b", "c"], {"b": ["a"], "c": ["b"]})
    (['a', 'b', 'c'], None)
    >>> path_order(["a", "b", "c"], {"a": ["c"], "b": ["a"], "c": ["b"]})[1]
    ['a', 'b', 'c', 'a']
    """
    known = set(names)
    preds = {c: [f for f in preds.get(c, ()) if f in known] for c in names}
    order: list = []
    left = list(names)
    while left:
        ready = [c for c in left if all(f in order for f in preds[c])]
        if not ready:
            node, seen = left[0], []
            while node not in seen:
                seen.append(node)
                node = next(f for f in preds[node] if f in left)
            route = seen[seen.index(node):] + [node]
            return order, route[::-1]
        order.append(ready[0])
        left.remove(ready[0])
    return order, None


#: First characters that make a spreadsheet read a text cell as a formula (OWASP CSV
#: injection): ``=``, ``+``, ``-``, ``@``, tab and carriage return.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def looks_like_formula(value) -> bool:
    """True for text that a spreadsheet would run as a formula: the one rule every
    spreadsheet and CSV writer of surveykit applies (numbers are never formulas).

    Examples
    --------
    >>> [looks_like_formula(v) for v in ("=1+2", "-x", "@SUM(A1)", "ok", -3, "'=1")]
    [True, True, True, False, False, False]
    """
    return isinstance(value, str) and value.startswith(FORMULA_START)


def csv_safe(value):
    """A CSV cell that no spreadsheet runs: text that :func:`looks_like_formula` gets a
    leading apostrophe (``=cmd|'/c calc'!A1`` -> ``'=cmd|'/c calc'!A1``); text that already
    is such an escape (apostrophes, then a formula character) gets one more, so that
    :func:`csv_unescape` gives the original back. Numbers (negative ones too) and missing
    values are returned as they are.

    Examples
    --------
    >>> csv_safe("=1+2"), csv_safe("'=1+2"), csv_safe("it's"), csv_safe(-3.5)
    ("'=1+2", "''=1+2", "it's", -3.5)
    >>> csv_unescape(csv_safe("''-x")) == "''-x"
    True
    """
    if isinstance(value, str) and looks_like_formula(value.lstrip("'")):
        return "'" + value
    return value


def csv_unescape(value):
    """Undo :func:`csv_safe`: drop one leading apostrophe from text that is apostrophes
    followed by a formula character; anything else is returned as it is."""
    if isinstance(value, str) and value.startswith("'") and looks_like_formula(
            value.lstrip("'")):
        return value[1:]
    return value


def csv_safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose column names and text cells pass through :func:`csv_safe`,
    ready for ``to_csv``; numeric columns are untouched (numbers stay numbers)."""
    import pandas as pd

    out = df.copy()
    out.attrs = {}
    for j in range(out.shape[1]):
        col = out.iloc[:, j]
        if col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
            values = col.to_numpy(dtype=object, na_value=None)
            if any(map(looks_like_formula, (v.lstrip("'") if isinstance(v, str) else v
                                            for v in values))):
                out.isetitem(j, pd.Series([csv_safe(v) for v in values], index=out.index,
                                          dtype=object))
    out.columns = [csv_safe(c) for c in out.columns]
    return out


def xlsx_text(cell):
    """Mark an openpyxl cell whose text :func:`looks_like_formula` as a text cell
    (``data_type 's'`` with Excel's quote prefix), so it is shown, stored and read back
    as the exact text and never run; other cells are left alone. Returns the cell."""
    if looks_like_formula(cell.value):
        cell.data_type = "s"
        cell.quotePrefix = True
    return cell


def to_safe_csv(df: pd.DataFrame, *, sep: str = ",") -> str:
    """``df`` as CSV text (no index) that no spreadsheet runs and that reads back cell for
    cell: text cells and column names pass through :func:`csv_safe`; a file with a
    carriage return inside a text cell gets CRLF line ends, because Python's csv writer
    quotes such a cell only when the line terminator holds one (with ``\\n`` alone the cell
    would split the row when read back).

    Examples
    --------
    >>> import pandas as pd
    >>> print(to_safe_csv(pd.DataFrame({"id": [1, 2], "answer": ["=1+2", "fine"]})), end="")
    id,answer
    1,'=1+2
    2,fine
    """
    import pandas as pd

    out = csv_safe_frame(df)
    cr = any(out.iloc[:, j].map(lambda v: isinstance(v, str) and "\r" in v).any()
             for j in range(out.shape[1]) if not pd.api.types.is_numeric_dtype(out.iloc[:, j]))
    cr = cr or any(isinstance(c, str) and "\r" in c for c in out.columns)
    return out.to_csv(index=False, sep=sep, lineterminator="\r\n" if cr else "\n")
