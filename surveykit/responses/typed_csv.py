"""The typed fast path for plain UTF-8 text files (pyarrow).

``_typed_csv`` parses a UTF-8 file once with pyarrow's CSV reader, every column as text,
and types each column as the questionnaire declares it (one vectorised conversion per
numeric column); a byte scan checks the quoting and finds the file line of every record.
It returns None for a file with anything to report (``_NotPlain``), which the strict
record-by-record reader (:mod:`.formats`) then reads, giving the same frame.
"""

from __future__ import annotations

import csv
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from .._util import csv_unescape
from ..questionnaire import Questionnaire
from .coercion import ID_KINDS, _type_numeric, is_numeric_variable
from .formats import _header_checks
from .source_rows import _source_rows

__all__: list[str] = []


_SCAN_BYTES = 1 << 24
_LF, _CR, _QUOTE = 10, 13, 34


class _NotPlain(Exception):
    """The file needs the record-by-record reader: a problem to report (with its line), or a
    layout the typed reader does not take on (a quote inside an unquoted field...)."""


def _typed_csv(path: Path, sep: str, na: set, q: Questionnaire
               ) -> tuple[pd.DataFrame, dict, dict] | None:
    """Read a plain UTF-8 text file in one pass of pyarrow's CSV reader, every column as
    text, then type each column from the questionnaire (no type is guessed).

    Numeric columns are converted in one vectorised cast; a column where that fails (text,
    padded numbers, the spreadsheet escape) is typed value by distinct value with
    :func:`_type_numeric`, so the result is the one :func:`type_responses` gives. A byte
    scan of the file (:func:`_record_lines`) finds the file line of every record and checks
    the quoting strictly. Returns None, so that :func:`_read_csv` reads the file record by
    record, when pyarrow is missing, the file has any problem to report or its layout is
    not plain."""
    if len(sep) != 1 or sep in '"\r\n' or ord(sep) > 127:
        return None
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        return None
    header = _first_record(path, sep)
    if header is None:
        return None
    names = [csv_unescape(h) for h in header]
    _header_checks(path, sep, names)
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=1 << 20),
            parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={h: pa.string() for h in header}, null_values=sorted(na),
                strings_can_be_null=True, quoted_strings_can_be_null=True))
    except (pa.ArrowException, OSError, ValueError):
        return None
    if table.column_names != header:
        return None
    variables = q.variables()
    try:
        starts, multi_line = _record_lines(path, sep, table.num_rows)
        if len(multi_line):  # only open answers may run over several lines
            _only_text_runs_lines(table.take(pa.array(multi_line)), names, variables)
    except _NotPlain:
        return None
    columns, typed, numeric = {}, {}, {}
    arrays = table.columns
    del table
    # the numeric casts run in pyarrow without the GIL: two at a time (2 cores or more) on
    # a large file; on a small one the hand-over between threads costs more than it gains
    workers = min(2, os.cpu_count() or 1) if len(starts) >= 100_000 else 1
    with ThreadPoolExecutor(max_workers=workers) if workers > 1 else _Inline() as pool:
        for j, name in enumerate(names):
            arr, arrays[j] = arrays[j], None  # let each column's text go once it is typed
            var = variables.get(name)
            if var is not None and var.kind not in ID_KINDS and is_numeric_variable(var):
                numeric[j] = (name, pool.submit(_arrow_numeric, arr))
            elif arr.null_count == len(arr) and var is None:
                columns[j] = pd.Series(np.full(len(arr), np.nan), copy=False)  # as pandas
            else:
                columns[j] = _unescaped(arr.to_pandas())
            del arr
        pending = {}
        for j, (name, job) in numeric.items():
            result = job.result()
            if isinstance(result, pd.Series):
                columns[j], typed[name] = result, 0
            else:
                pending[j] = result
    for j, (column, n_text) in _finish_numeric(pending, na).items():
        columns[j], typed[numeric[j][0]] = column, n_text
    columns = {j: columns[j] for j in range(len(names))}
    raw = pd.DataFrame(columns, index=pd.RangeIndex(len(starts)), copy=False)
    raw.columns = [h if h != "" else f"Unnamed: {j}" for j, h in enumerate(names)]
    return raw, _source_rows(path, "line", starts), typed


class _Inline:
    """A stand-in for a one-thread executor: runs each job at once."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def submit(self, fn, *args):
        from concurrent.futures import Future

        job = Future()
        job.set_result(fn(*args))
        return job


def _first_record(path: Path, sep: str) -> list[str] | None:
    """The header: the first record that is not a blank line (None: leave it to the strict
    reader)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            for rec in csv.reader(fh, delimiter=sep, strict=True):
                if rec and not (len(rec) == 1 and not rec[0].strip()):
                    return rec
    except (csv.Error, UnicodeDecodeError):
        return None
    return None


def _arrow_numeric(arr):
    """A numeric column from pyarrow text: a float64 Series when every value is a number,
    else its distinct values (spreadsheet escape undone) and each row's position among
    them (-1: missing), for :func:`_finish_numeric`."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        return pd.Series(_numpy(pc.cast(arr, pa.float64())), copy=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    values = pc.unique(arr).drop_null()
    code = _numpy(pc.fill_null(pc.index_in(arr, value_set=values), -1))
    return [csv_unescape(v) for v in values.to_pylist()], code


def _finish_numeric(pending: dict, na: set) -> dict:
    """Type the distinct values of every column :func:`_arrow_numeric` could not cast, in
    one call of :func:`_type_numeric` (as :func:`type_responses` types them), and expand
    them to the rows: {key: (Series, count of values kept as text)}."""
    if not pending:
        return {}
    keys = list(pending)
    sizes = [len(pending[k][0]) for k in keys]
    typed = _type_numeric(pd.Series([v for k in keys for v in pending[k][0]], dtype=object),
                          na).to_numpy(dtype=object)
    out, at = {}, 0
    for key, size in zip(keys, sizes, strict=True):
        part, code = typed[at:at + size], pending[key][1]
        at += size
        is_text = np.fromiter((isinstance(v, str) for v in part), dtype=bool, count=size)
        if not is_text.any():
            out[key] = (pd.Series(np.append(part.astype(float), np.nan)[code], copy=False), 0)
            continue
        n_text = int(np.bincount(code[code >= 0], minlength=size)[is_text].sum())
        out[key] = (pd.Series(np.append(part, np.nan)[code], dtype=object, copy=False), n_text)
    return out


def _numpy(arr) -> np.ndarray:
    """A pyarrow (chunked) array as one numpy array, nulls as NaN, chunk by chunk (much
    faster than ChunkedArray.to_numpy for many chunks)."""
    chunks = getattr(arr, "chunks", [arr])
    if len(chunks) <= 1:
        return arr.to_numpy(zero_copy_only=False) if not chunks else \
            chunks[0].to_numpy(zero_copy_only=False)
    return np.concatenate([c.to_numpy(zero_copy_only=False) for c in chunks])


def _unescaped(s: pd.Series) -> pd.Series:
    """Undo the spreadsheet escape of :func:`write_responses` (see :func:`csv_unescape`)."""
    marked = s.str.startswith("'").fillna(False).to_numpy(dtype=bool)
    if not marked.any():
        return s
    out = s.copy()
    out[marked] = s[marked].map(csv_unescape)
    return out


def _only_text_runs_lines(records, names: list[str], variables: dict) -> None:
    """Raise _NotPlain when a value with a line break is in a column that is not open text
    (the strict reader then names the record)."""
    import pyarrow.compute as pc

    for j, name in enumerate(names):
        var = variables.get(name)
        if var is not None and var.kind not in ("open", "other_text"):
            col = records.column(j)
            if pc.any(pc.match_substring_regex(col, "[\r\n]")).as_py():
                raise _NotPlain(name)


def _blocks(fh):
    """The file in blocks of about 16 MB, none ending inside a CR LF."""
    while block := fh.read(_SCAN_BYTES):
        while block.endswith(b"\r"):
            more = fh.read(1)
            if not more:
                break
            block += more
        yield block


def _record_lines(path: Path, sep: str, n_records: int) -> tuple[np.ndarray, np.ndarray]:
    """The 1-based file line on which each record starts, and the positions of the records
    that run over several lines, from a scan of the bytes.

    The scan checks that the file is plain RFC 4180 text, which is what makes its records
    the ones the strict reader (:func:`_csv_records`) would find: a quote opens a field only
    at its start and closes it only at its end (``""`` inside a quoted field is a quote),
    every quote is closed, and the records are as many as pyarrow read. Lines end at
    LF, CR LF or a lone CR, as for the strict reader. Raises _NotPlain
    otherwise."""
    delim = ord(sep)
    ok_next = np.array([delim, _LF, _CR, _QUOTE], dtype=np.uint8)
    parity = 0              # quotes seen so far, mod 2 (1: inside a quoted field)
    last = delim            # the byte before this block (the start of the file: a field start)
    close_at_end = False    # the block before ended with a closing quote
    n_breaks = 0
    with open(path, "rb") as fh:
        lead = 3 if fh.read(3) == b"\xef\xbb\xbf" else 0
        fh.seek(lead)
        for block in _blocks(fh):
            n_breaks += block.count(b"\n")
            if b"\r" in block:
                n_breaks += block.count(b"\r") - block.count(b"\r\n")
            if close_at_end and block[0] not in ok_next:
                raise _NotPlain("text after a closing quote")
            close_at_end = False
            if b'"' in block:
                a = np.frombuffer(block, dtype=np.uint8)
                pos = np.flatnonzero(a == _QUOTE)
                closes = (parity + np.arange(len(pos))) % 2 == 1
                opening, closing = pos[~closes], pos[closes]
                before = a[np.maximum(opening - 1, 0)]
                if len(opening) and opening[0] == 0:
                    before[0] = last
                if not np.isin(before, ok_next).all():
                    raise _NotPlain("a quote inside an unquoted field")
                if len(closing) and closing[-1] == len(a) - 1:
                    close_at_end, closing = True, closing[:-1]
                if not np.isin(a[closing + 1], ok_next).all():
                    raise _NotPlain("text after a closing quote")
                parity = (parity + len(pos)) % 2
            last = block[-1]
        size = fh.tell()
    if parity:
        raise _NotPlain("a quote that is never closed")
    n_lines = n_breaks + (size > lead and last not in (_LF, _CR))
    if n_lines == n_records + 1:  # one line per record, none blank: lines 2, 3, ...
        return np.arange(2, n_records + 2, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return _record_lines_slow(path, lead, n_records)


def _record_lines_slow(path: Path, lead: int, n_records: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_record_lines` for files with blank lines or records over several lines, from
    the place and quote parity of every line end."""
    inside, empty = [], []
    parity, offset, prev_end = 0, lead, lead
    with open(path, "rb") as fh:
        fh.seek(lead)
        for block in _blocks(fh):
            a = np.frombuffer(block, dtype=np.uint8)
            cr = np.flatnonzero(a == _CR)
            lone_cr = cr[np.append(a[1:], 0)[cr] != _LF]
            brk = np.sort(np.concatenate([np.flatnonzero(a == _LF), lone_cr]))
            crlf = (a[brk] == _LF) & (brk > 0) & (a[np.maximum(brk - 1, 0)] == _CR)
            begin = brk - crlf + offset                        # where the line end begins
            end = brk + 1 + offset
            quotes = np.flatnonzero(a == _QUOTE)
            inside.append((parity + np.searchsorted(quotes, brk)) % 2 == 1)
            empty.append(begin == np.concatenate([[prev_end], end[:-1]]))
            if len(end):
                prev_end = int(end[-1])
            parity = (parity + len(quotes)) % 2
            offset += len(a)
    inside = np.concatenate(inside) if inside else np.zeros(0, dtype=bool)
    empty = np.concatenate(empty) if empty else np.zeros(0, dtype=bool)
    if offset > prev_end:  # a last line without a line end
        inside, empty = np.append(inside, False), np.append(empty, False)
    # line i + 1 ends at line end i; it starts a record unless that line end is quoted
    starts_record = np.ones(len(inside), dtype=bool)
    starts_record[1:] = ~inside[:-1]
    first = starts_record & ~empty                      # blank lines start nothing
    lines = np.flatnonzero(first) + 1
    if len(lines) != n_records + 1:
        raise _NotPlain("records and lines do not match")
    record = np.cumsum(first) - 2                       # -1: the header
    multi = np.unique(record[~starts_record])
    return lines[1:].astype(np.int64), multi[multi >= 0].astype(np.int64)
