"""The typed fast path for plain UTF-8 text files (pyarrow).

``_typed_csv`` parses a UTF-8 file once with pyarrow's CSV reader, every column as text,
and types each column as the questionnaire declares it (one vectorised conversion per
numeric column); a byte scan checks the quoting and finds the file line of every record.
It returns None for a file with anything to report (``_NotPlain``), which the strict
record-by-record reader (:mod:`.formats`) then reads, giving the same frame.
"""

from __future__ import annotations

import csv
import mmap
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from .._threads import column_map
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
    scan of the file (:func:`_scan`) first checks the quoting strictly and counts the
    lines (pyarrow takes its faster reader when no line break is inside quotes);
    :func:`_record_lines` then finds the file line of every record. Columns are typed two
    at a time on threads for a large file (:func:`~surveykit._threads.column_map`). Returns
    None, so that :func:`_read_csv` reads the file record by record, when pyarrow is
    missing, the file has any problem to report or its layout is not plain."""
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
        scan = _scan(path, sep)
    except _NotPlain:
        return None
    try:  # pyarrow's reader is faster when told that no line break is inside quotes
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=1 << 20),
            parse_options=pacsv.ParseOptions(delimiter=sep,
                                             newlines_in_values=scan.quoted_breaks),
            convert_options=pacsv.ConvertOptions(
                column_types={h: pa.string() for h in header}, null_values=sorted(na),
                strings_can_be_null=True, quoted_strings_can_be_null=True))
    except (pa.ArrowException, OSError, ValueError):
        return None
    if table.column_names != header:
        return None
    variables = q.variables()
    numeric_at = {j for j, name in enumerate(names) if (var := variables.get(name)) is not None
                  and var.kind not in ID_KINDS and is_numeric_variable(var)}
    try:
        starts, multi_line = _record_lines(scan, table.num_rows)
        if len(multi_line):  # only open answers may run over several lines
            _only_text_runs_lines(table.take(pa.array(multi_line)), names, variables)
    except _NotPlain:
        return None
    del scan
    arrays = table.columns
    del table

    def handed_over():  # let each column's text go once it is typed
        for j in range(len(names)):
            arr, arrays[j] = arrays[j], None
            yield j, arr

    def typed_column(j, arr):
        """A Series, or (for a numeric column with values that are not numbers) its
        distinct values and codes for :func:`_finish_numeric`."""
        if j in numeric_at:
            return _arrow_numeric(arr)
        if arr.null_count == len(arr) and names[j] not in variables:
            return pd.Series(np.full(len(arr), np.nan), copy=False)  # as pandas reads it
        return _unescaped(arr.to_pandas())

    columns, typed, pending = {}, {}, {}
    for j, column in enumerate(column_map(typed_column, handed_over(), len(starts))):
        if isinstance(column, pd.Series):
            columns[j] = column
            if j in numeric_at:
                typed[names[j]] = 0
        else:
            pending[j] = column
    for j, (column, n_text) in _finish_numeric(pending, na).items():
        columns[j], typed[names[j]] = column, n_text
    columns = {j: columns[j] for j in range(len(names))}
    raw = pd.DataFrame(columns, index=pd.RangeIndex(len(starts)), copy=False)
    raw.columns = [h if h != "" else f"Unnamed: {j}" for j, h in enumerate(names)]
    return raw, _source_rows(path, "line", starts), typed


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


class _Scan(NamedTuple):
    """What :func:`_scan` found in the bytes of a file."""

    data: np.ndarray        # the file's bytes (a read-only memory map)
    lead: int               # bytes of a UTF-8 byte-order mark (0 or 3)
    n_lines: int
    quoted_breaks: bool     # a line break inside a quoted field: a record over several lines


def _file_bytes(path: Path) -> tuple[np.ndarray, bool]:
    """The bytes of a file as a read-only numpy array over a memory map (no copy; the map
    closes when the last view goes), or read into memory where the file cannot be mapped;
    and whether there is a CR among them."""
    with open(path, "rb") as fh:
        if os.fstat(fh.fileno()).st_size == 0:
            return np.zeros(0, dtype=np.uint8), False
        try:
            mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):  # a file system or file kind without mmap
            mapped = fh.read()
        return np.frombuffer(mapped, dtype=np.uint8), mapped.find(b"\r") >= 0


def _blocks(data: np.ndarray, lead: int):
    """``(offset, block)``: views of ``data`` past the byte-order mark, about 16 MB each,
    none ending inside a CR LF."""
    start = lead
    while start < len(data):
        end = min(start + _SCAN_BYTES, len(data))
        while end < len(data) and data[end - 1] == _CR:
            end += 1
        yield start, data[start:end]
        start = end


def _line_breaks(a: np.ndarray, has_cr: bool) -> np.ndarray:
    """Where the lines of a block end: every LF, and every CR not followed by LF (the
    strict reader's line ends: LF, CR LF, a lone CR)."""
    lf = np.flatnonzero(a == _LF)
    if not has_cr:
        return lf
    cr = np.flatnonzero(a == _CR)
    lone_cr = cr[np.append(a[1:], 0)[cr] != _LF]
    return np.sort(np.concatenate([lf, lone_cr]))


def _scan(path: Path, sep: str) -> _Scan:
    """Check in one pass over the bytes that the file is plain RFC 4180 text, and count its
    lines.

    Plain is what makes its records the ones the strict reader (:func:`_csv_records`) would
    find: a quote opens a field only at its start and closes it only at its end (``""``
    inside a quoted field is a quote), and every quote is closed. Lines end at LF, CR LF or
    a lone CR, as for the strict reader. Raises _NotPlain otherwise."""
    data, has_cr = _file_bytes(path)
    lead = 3 if data[:3].tobytes() == b"\xef\xbb\xbf" else 0
    delim = ord(sep)
    ok_next = np.array([delim, _LF, _CR, _QUOTE], dtype=np.uint8)
    parity = 0              # quotes seen so far, mod 2 (1: inside a quoted field)
    last = delim            # the byte before this block (the start of the file: a field start)
    close_at_end = False    # the block before ended with a closing quote
    n_breaks, quoted_breaks = 0, False
    for _, a in _blocks(data, lead):
        breaks = _line_breaks(a, has_cr)
        n_breaks += len(breaks)
        if close_at_end and a[0] not in ok_next:
            raise _NotPlain("text after a closing quote")
        close_at_end = False
        pos = np.flatnonzero(a == _QUOTE)
        if len(pos):
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
        if len(pos) or parity:
            quoted_breaks |= bool(((parity + np.searchsorted(pos, breaks)) % 2 == 1).any())
            parity = (parity + len(pos)) % 2
        last = a[-1]
    if parity:
        raise _NotPlain("a quote that is never closed")
    n_lines = n_breaks + (len(data) > lead and last not in (_LF, _CR))
    return _Scan(data, lead, n_lines, quoted_breaks)


def _record_lines(scan: _Scan, n_records: int) -> tuple[np.ndarray, np.ndarray]:
    """The 1-based file line on which each record starts, and the positions of the records
    that run over several lines. Raises _NotPlain when the records pyarrow read are not
    the file's."""
    if scan.n_lines == n_records + 1:  # one line per record, none blank: lines 2, 3, ...
        return np.arange(2, n_records + 2, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return _record_lines_slow(scan, n_records)


def _record_lines_slow(scan: _Scan, n_records: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_record_lines` for files with blank lines or records over several lines, from
    the place and quote parity of every line end."""
    inside, empty = [], []
    parity, prev_end = 0, scan.lead
    for offset, a in _blocks(scan.data, scan.lead):
        brk = _line_breaks(a, True)
        crlf = (a[brk] == _LF) & (brk > 0) & (a[np.maximum(brk - 1, 0)] == _CR)
        begin = brk - crlf + offset                        # where the line end begins
        end = brk + 1 + offset
        quotes = np.flatnonzero(a == _QUOTE)
        inside.append((parity + np.searchsorted(quotes, brk)) % 2 == 1)
        empty.append(begin == np.concatenate([[prev_end], end[:-1]]))
        if len(end):
            prev_end = int(end[-1])
        parity = (parity + len(quotes)) % 2
    inside = np.concatenate(inside) if inside else np.zeros(0, dtype=bool)
    empty = np.concatenate(empty) if empty else np.zeros(0, dtype=bool)
    if len(scan.data) > prev_end:  # a last line without a line end
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
