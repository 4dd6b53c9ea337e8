"""Reading and writing response files, typed from the questionnaire.

Formats, by file suffix: ``.csv`` / ``.tsv``, ``.parquet`` / ``.pq``, ``.xlsx`` / ``.xlsm``
and SPSS ``.sav`` / ``.zsav`` (via pyreadstat). The questionnaire's codebook
(:meth:`Questionnaire.variables`) types each column:

- codes, ratings, NPS, grid items, multi-response 0/1 columns, numeric answers, duration
  and weight: ``float64``;
- open text and other-specify text: pandas ``str`` (blank or whitespace-only -> NaN);
- respondent id and customer id: ``int64`` when every value is a whole number written
  without leading zeros that fits 64 bits and none is missing, otherwise text exactly as
  found. Ids never pass through floating point: an id stored as a float that is not a
  whole number, not finite or beyond 2**53 (where floats skip integers) cannot be kept
  exactly and is a :class:`~surveykit.errors.ResponseDataError` naming the rows.

Values that do not parse as numbers in a numeric column are NOT turned into NaN: the column
stays ``object`` with the numbers as floats and the offending text kept, so that
:func:`~surveykit.responses.check_responses` reports them (``non_numeric``) and
:func:`~surveykit.responses.clean` converts them, with a log entry. Only machine-written
missing markers (``na_values``: empty, ``NA``, ``NaN``, ``nan``, ``<NA>``) read as missing;
human-typed text such as ``n/a`` or ``-`` is kept and reported. True/False values are kept
as the text ``"True"`` / ``"False"`` (reported the same way) rather than made 1/0, except in
a multi-response 0/1 column, where True means ticked.

Text files are read strictly: a row with more or fewer fields than the header, and a quote
that is never closed or that runs rows together, is an error naming the 1-based file line
(and the respondent id when it can be read). A UTF-8 file is parsed once by pyarrow's CSV
reader with every column as text, and each column is then typed as the questionnaire
declares it (one vectorised conversion per numeric column; nothing is inferred, so no dtype
guess or warning); a byte scan checks the quoting and finds the file line of every record.
A file with anything to report, or in another encoding, is read record by record instead,
which gives the same frame and names the line. ``df.attrs["source_rows"]`` remembers where each
row came from (file line, sheet row, Parquet record or SPSS case), so that messages about a
row cite the file; it follows the index labels that :func:`read_responses` gave. A leading
apostrophe before ``=``, ``+``, ``-``, ``@``, tab or carriage return in a text file is the
spreadsheet escape that :func:`write_responses` adds (see :func:`surveykit._util.csv_safe`)
and is removed on reading. An Excel formula without a computed value is an error (the value
is unknown); SPSS user-missing codes are mapped to the questionnaire's missing code of the
same label or kind, with a :class:`~surveykit.errors.SurveykitWarning`.

Columns are never renamed or guessed (but see ``platform=`` for ODK / KoboToolbox exports):
columns the questionnaire does not know are kept and
listed in ``df.attrs["unknown_columns"]``; questionnaire columns absent from the file are
listed in ``df.attrs["missing_columns"]`` (derived variables are not expected in a file).
The file is only ever read.
"""

from __future__ import annotations

import bisect
import csv
import os
import re
import warnings
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from .._util import csv_unescape, repeated
from ..errors import Problem, ResponseDataError, SurveykitWarning
from ..questionnaire import Questionnaire, Variable

__all__ = ["read_responses", "type_responses", "FORMATS", "NA_VALUES", "FLAG_COLUMNS"]

FORMATS = {".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet",
           ".xlsx": "excel", ".xlsm": "excel", ".sav": "sav", ".zsav": "sav"}
NA_VALUES = ("", "NA", "NaN", "nan", "<NA>")
#: Boolean columns added by :func:`~surveykit.responses.clean` (read back as bool).
FLAG_COLUMNS = ("flag_speeder", "flag_straight_lining")
_BOOL_TEXT = {"true": True, "false": False, "1": True, "0": False, "1.0": True, "0.0": False}
ID_KINDS = ("id", "customer_id")
_INT_TEXT = r"0|-?[1-9]\d{0,18}"


def _fail(path, message: str) -> ResponseDataError:
    return ResponseDataError(Problem(message, file=str(path)))


def _format_of(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise _fail(path, f"unsupported file type {path.suffix or '(no suffix)'!r}; "
                    f"use one of {', '.join(FORMATS)}")
    return fmt


def _check_questionnaire(questionnaire) -> Questionnaire:
    if not isinstance(questionnaire, Questionnaire):
        raise ResponseDataError(
            f"questionnaire must be a loaded Questionnaire, got {type(questionnaire).__name__}; "
            "load it with surveykit.questionnaire.load_questionnaire(path)")
    return questionnaire


# -- reading ------------------------------------------------------------------------------
def read_responses(path: str | os.PathLike, questionnaire: Questionnaire, *,
                   sheet: str | int = 0, sep: str | None = None, encoding: str = "utf-8",
                   na_values: Iterable[str] = NA_VALUES,
                   platform: str | None = None) -> pd.DataFrame:
    """Read a responses file and type its columns from the questionnaire.

    Parameters
    ----------
    path : str or path-like
        ``.csv``, ``.tsv``, ``.parquet``, ``.xlsx`` or ``.sav`` file (one row per respondent).
    questionnaire : Questionnaire
        The loaded questionnaire; its codebook types the columns.
    sheet : str or int, default 0
        Excel sheet name or position.
    sep : str, optional
        Field separator of a text file (default ``,`` for ``.csv``, tab for ``.tsv``).
    encoding : str, default "utf-8"
        Text file encoding (a UTF-8 byte-order mark is accepted).
    na_values : iterable of str
        Text that means "missing" in any column. Other text in a numeric column is kept
        and reported by :func:`check_responses` as ``non_numeric``.
    platform : {"kobo", "odk"}, optional
        The file is a KoboToolbox or ODK export of the questionnaire's XLSForm: group paths,
        space-separated multi answers and submission metadata become surveykit's columns
        (see :mod:`surveykit.responses.platform`); ``df.attrs["platform"]["renames"]`` lists
        every column renamed, reshaped or dropped.

    Returns
    -------
    pandas.DataFrame
        Typed responses. ``df.attrs`` holds ``source``, ``questionnaire``,
        ``unknown_columns``, ``missing_columns``, ``unparsed`` (numeric columns that kept
        text: column -> count), ``pii_columns`` (the questionnaire's personal-data
        columns in the file), ``source_rows`` (where each row is in the file, see
        :func:`where_in_file`) and, for ``.sav`` files, ``spss`` (the file's variable
        labels, value labels and missing ranges) and, when user-missing codes were mapped
        or left unmatched, ``spss_missing``.

    Raises
    ------
    ResponseDataError
        The file is missing, unreadable, of an unsupported type, malformed (a record with
        too few or too many fields, a quote not closed: the message names the file line
        and the respondent id), has duplicated column names, holds ids that cannot be kept
        exactly (floats that are not whole or beyond 2**53) or Excel formulas without a
        computed value.

    Warns
    -----
    SurveykitWarning
        SPSS user-missing codes mapped to the questionnaire's missing codes, or matching
        none of them.

    Examples
    --------
    >>> from surveykit.questionnaire import load_questionnaire
    >>> from surveykit.responses import read_responses
    >>> q = load_questionnaire("questionnaires/pc_customers.yaml")
    >>> df = read_responses("data/demo/responses.csv", q)
    >>> df.shape
    (4000, 94)
    >>> df.attrs["unknown_columns"]
    []
    >>> df.attrs["unparsed"]  # numeric columns that kept text, for check_responses()
    {'months_owned': 1, 'sat_cpu': 1, 'svc_speed': 1, 'overall_sat': 1, 'nps': 1, 'repurchase': 1}
    """
    q = _check_questionnaire(questionnaire)
    if platform is not None:  # an ODK / KoboToolbox export (surveykit.responses.platform)
        from .platform import from_platform_export, reader_view
    q_read = q if platform is None else reader_view(q, platform)
    path = Path(path)
    fmt = _format_of(path)
    if not path.exists():
        raise _fail(path, "responses file not found; check the path")
    if path.is_dir():
        raise _fail(path, "is a folder, not a responses file")
    na = set(na_values)
    spss = typed = None
    if fmt == "csv":
        raw, rows, typed = _read_csv(path, sep or ("\t" if path.suffix.lower() == ".tsv"
                                                   else ","), encoding, na, q_read)
    elif fmt == "parquet":
        raw = _read_parquet(path)
        rows = _source_rows(path, "record", np.arange(1, len(raw) + 1))
    elif fmt == "excel":
        raw, rows = _read_excel(path, sheet, q_read)
    else:
        raw, spss = _read_sav(path)
        rows = _source_rows(path, "case", np.arange(1, len(raw) + 1))
    if platform is not None:
        raw, renames = from_platform_export(raw, q, platform=platform)
    df, info = _type_frame(raw, q, na, rows, typed)
    df.attrs.update({"source": str(path), **info, "source_rows": rows})
    if platform is not None:
        df.attrs["platform"] = {"platform": platform, "renames": renames.to_dict("records")}
    if spss is not None:
        df.attrs["spss"] = spss
        _map_spss_missing(df, q, spss)
    return df


def type_responses(raw: pd.DataFrame, questionnaire: Questionnaire, *,
                   na_values: Iterable[str] = NA_VALUES) -> tuple[pd.DataFrame, dict]:
    """Type the columns of ``raw`` from the questionnaire (what :func:`read_responses` does
    after reading). Returns a new frame and ``{questionnaire, unknown_columns,
    missing_columns, unparsed}``; ``raw`` is not modified.

    Examples
    --------
    >>> from surveykit.questionnaire import load_questionnaire
    >>> q = load_questionnaire("questionnaires/pc_customers.yaml")
    >>> raw = pd.DataFrame({"resp_id": ["1", "2"], "nps": ["10", " 7"], "sat_cpu": ["9", "x"]})
    >>> df, info = type_responses(raw, q)
    >>> df["nps"].tolist(), df["sat_cpu"].tolist()  # text that is not a number is kept
    ([10.0, 7.0], [9.0, 'x'])
    >>> info["unparsed"]
    {'sat_cpu': 1}
    """
    q = _check_questionnaire(questionnaire)
    return _type_frame(raw, q, set(na_values), None)


def _type_frame(raw: pd.DataFrame, q: Questionnaire, na: set, rows: dict | None,
                typed: dict | None = None) -> tuple[pd.DataFrame, dict]:
    """Type every column of ``raw``; ``typed`` names numeric columns that the reader has
    already typed (column -> count of values kept as text)."""
    if raw.columns.duplicated().any():
        dup = sorted({str(c) for c in raw.columns[raw.columns.duplicated()]})
        raise ResponseDataError(f"duplicated column name(s) {', '.join(dup)}; "
                                "each column must appear once")
    variables = q.variables()
    cols, unparsed = {}, {}
    for name in raw.columns:
        s = raw[name]
        var = variables.get(name)
        if var is None and name in FLAG_COLUMNS:
            cols[name] = _type_flag(s)
        elif var is None:
            cols[name] = _type_unknown(s, na)
        elif var.kind in ID_KINDS:
            cols[name] = _type_id(s, na, name, rows, raw)
        elif not is_numeric_variable(var):
            cols[name] = _type_text(s, na)
        elif typed is not None and name in typed:
            if typed[name]:
                unparsed[str(name)] = typed[name]
            cols[name] = s
        else:
            column = _type_numeric(s, na, var.kind)
            n_bad = int((column.dtype == object) and column.map(type).eq(str).sum())
            if n_bad:
                unparsed[str(name)] = n_bad
            cols[name] = column
    # no copy: the typed columns are new (or, unchanged, shared copy-on-write with raw)
    df = pd.DataFrame(cols, index=raw.index, columns=raw.columns, copy=False)
    info = {
        "questionnaire": q.id,
        "unknown_columns": [str(c) for c in raw.columns if c not in variables],
        "missing_columns": [n for n, v in variables.items()
                            if v.kind != "derived" and n not in raw.columns],
        "unparsed": unparsed,
        "pii_columns": [c for c in q.pii_columns if c in raw.columns],
    }
    return df, info


def is_numeric_variable(var: Variable) -> bool:
    """True when the column holds numbers (codes with text labels count as numeric;
    a code list with text codes, such as ``{A: ..., B: ...}``, makes the column text)."""
    if not var.numeric:
        return False
    return not any(isinstance(code, str) for code in var.value_labels)


def _read_csv(path: Path, sep: str, encoding: str, na: set, q: Questionnaire
              ) -> tuple[pd.DataFrame, dict, dict | None]:
    """Strictly: each record must have as many fields as the header, quotes must close, and
    a quoted field may run over several lines only in an open-text column. Returns the raw
    frame, where each row starts in the file, and the numeric columns already typed (see
    :func:`_type_frame`).

    A UTF-8 file is read by :func:`_typed_csv` (pyarrow, typed from the questionnaire) when
    its layout is plain; anything else, and every file with a problem to report, is read
    record by record here, so that messages name the file line."""
    utf8 = encoding.lower().replace("_", "-") in ("utf-8", "utf8", "utf-8-sig")
    if utf8 and _FAST_CSV:
        fast = _typed_csv(path, sep, na, q)
        if fast is not None:
            return fast
    enc = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    variables = q.variables()
    try:
        with open(path, newline="", encoding=enc) as fh:
            header, records, starts, problems = _csv_records(path, fh, sep, variables)
    except UnicodeDecodeError as exc:
        raise _fail(path, f"not {encoding} text ({exc.reason} at byte {exc.start}); save it as "
                    "UTF-8 or pass encoding= (e.g. 'cp1252')") from None
    if header is None:
        raise _fail(path, "file is empty; expected a header row with column names")
    if len(problems) == 1:
        raise ResponseDataError(problems)
    if problems:
        shown = problems[:10]
        if len(problems) > 10:
            shown.append(Problem(f"... and {len(problems) - 10} more malformed record(s)",
                                 file=str(path)))
        raise ResponseDataError(shown, header=f"{path}: {len(problems)} malformed record(s); "
                                "nothing was read:")
    header = [csv_unescape(h) for h in header]
    _header_checks(path, sep, header)
    variables = {h: variables[h] for h in header if h in variables}
    starts = np.asarray(starts, dtype=np.int64)
    raw = _pandas_csv(path, sep, enc, na, header, variables, len(records))
    if raw is None:  # pandas split the file differently: build the frame from the records
        columns = zip(*records, strict=True) if records else [() for _ in header]
        data = {}
        for j, values in enumerate(columns):
            col = np.array(values, dtype=object)
            col[pd.Series(values, dtype=object).isin(na).to_numpy()] = None
            data[j] = pd.Series(col, dtype=object)
        raw = pd.DataFrame(data, index=pd.RangeIndex(len(records)))
    raw.columns = [h if h != "" else f"Unnamed: {j}" for j, h in enumerate(header)]
    for j in range(raw.shape[1]):  # the spreadsheet escape of write_responses
        col = raw.iloc[:, j]
        if isinstance(col.dtype, pd.StringDtype):
            escaped = col.str.startswith("'").fillna(False).any()
        else:
            escaped = not is_numeric_dtype(col.dtype) and col.map(
                lambda v: isinstance(v, str) and v[:1] == "'", na_action="ignore").any()
        if escaped:
            raw.isetitem(j, col.map(csv_unescape).astype(col.dtype))
    return raw, _source_rows(path, "line", starts), None


def _header_checks(path: Path, sep: str, header: list[str]) -> None:
    _no_duplicates(path, header)
    if len(header) == 1:
        other = next((s for s in (";", "\t", "|", ",") if s != sep and s in header[0]), None)
        if other:
            raise _fail(path, f"only one column was found and its name contains {other!r}; "
                        f"the file looks {other!r}-separated: pass sep={other!r}")


# -- the typed fast path for plain UTF-8 text files -------------------------------------------
#: Read plain UTF-8 text files with pyarrow (False: always record by record; for tests).
_FAST_CSV = True
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


def _pandas_csv(path: Path, sep: str, enc: str, na: set, header: list, variables: dict,
                n: int) -> pd.DataFrame | None:
    """The checked file parsed again by pandas' C parser (numbers parsed fast); text and id
    columns as text. None if pandas sees other records than the strict pass did."""
    text_cols = {h for h in header if h in variables and not is_numeric_variable(variables[h])}
    try:
        df = pd.read_csv(path, sep=sep, dtype={h: str for h in text_cols}, keep_default_na=False,
                         na_values=sorted(na), encoding=enc, skip_blank_lines=True,
                         true_values=[], false_values=[])
    except (ValueError, pd.errors.ParserError):
        return None
    if df.shape != (n, len(header)):
        return None
    return df


def _csv_records(path: Path, fh, sep: str, variables: dict):
    """Parse the open file: (header, records, 1-based start line of each, problems)."""
    reader = csv.reader(fh, delimiter=sep, strict=True)
    header, records, starts, problems = None, [], [], []
    id_pos = single_line = None
    last = 0
    while True:
        try:
            rec = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(_quote_problem(path, str(exc), last + 1, reader.line_num))
            break  # the rest of the file cannot be split into records reliably
        start, last = last + 1, reader.line_num
        if not rec or (len(rec) == 1 and not rec[0].strip() and
                       (header is None or len(header) > 1)):
            continue  # blank line
        if header is None:
            header = rec
            names = [csv_unescape(h) for h in header]
            id_pos = next((j for j, h in enumerate(names)
                           if h in variables and variables[h].kind == "id"), None)
            single_line = {j for j, h in enumerate(names) if h in variables
                           and variables[h].kind not in ("open", "other_text")}
            continue
        who = ""
        if id_pos is not None and id_pos < len(rec) and "\n" not in rec[id_pos] \
                and "\r" not in rec[id_pos]:
            who = f" (row of {header[id_pos]} {rec[id_pos]})"
        span = f"line {start}" if start == last else f"the record on lines {start}-{last}"
        if len(rec) != len(header):
            why = ("; a quote that is not closed on its own line runs lines together" if
                   start != last else "")
            problems.append(Problem(
                f"{span} has {len(rec)} fields but the header has {len(header)}{who}{why}; "
                f"check the separator ({sep!r}) and the quoting of text that contains it "
                "(every row needs one field per column; an empty answer is an empty field)",
                file=str(path)))
            continue
        if start != last:
            bad = [header[j] for j, v in enumerate(rec)
                   if ("\n" in v or "\r" in v) and j in single_line]
            if bad:
                problems.append(Problem(
                    f"{span}{who}: a quoted field of column {bad[0]!r} runs over several lines, "
                    "which only text answers may do; a quote is probably not closed (or a "
                    "stray \" opens one): check the quotes on those lines",
                    file=str(path)))
                continue
        records.append(rec)
        starts.append(start)
    return header, records, starts, problems


def _quote_problem(path: Path, error: str, start: int, line: int) -> Problem:
    if "end of data" in error or "EOF" in error:
        text = (f"line {start}: a quoted field that starts on this line is never closed (it "
                "runs to the end of the file); look for a stray or unbalanced \" on that line")
    elif "expected after" in error:
        where = f"line {line}" if line == start else f"line {line} (record from line {start})"
        text = (f"{where}: text follows a closing quote ({error}); a quote inside a quoted "
                "field must be doubled (\"\"), or a quote opened on an earlier line is not "
                "closed")
    elif "field larger than field limit" in error:
        text = (f"line {start}: a field runs past {csv.field_size_limit():,} characters, "
                "almost surely from a quote that is not closed; look for a stray or "
                "unbalanced \" on that line")
    else:
        text = f"line {line}: cannot split the file into fields ({error})"
    return Problem(text, file=str(path))


def _no_duplicates(path: Path, header: list) -> None:
    dup = repeated(header)
    if dup:
        raise _fail(path, f"duplicated column name(s) {', '.join(map(repr, dup))} in the header; "
                    "each column must appear once (rename or remove the copies)")


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise _fail(path, f"cannot read as Parquet ({type(exc).__name__}: {exc}); "
                    "check that the file is a complete Parquet file") from None


def _read_excel(path: Path, sheet, q: Questionnaire) -> tuple[pd.DataFrame, dict]:
    """Cell values as stored (numbers as int or float, text, bool, dates); the first
    non-empty row is the header; empty rows are skipped (their sheet rows are remembered)."""
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, openpyxl and XML errors
        raise _fail(path, f"cannot read as Excel ({type(exc).__name__}: {exc}); "
                    "check that it is an .xlsx workbook") from None
    try:
        ws = _worksheet(path, wb, sheet)
        header, header_row, records, rows = None, 0, [], []
        for r, values in enumerate(ws.iter_rows(min_row=1, values_only=True), start=1):
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                continue
            if header is None:
                header, header_row = list(values), r
                while header and header[-1] is None:
                    header.pop()
                continue
            records.append(values)
            rows.append(r)
        title = ws.title
    finally:
        wb.close()
    if header is None:
        raise _fail(path, f"sheet {sheet!r} is empty; expected a header row")
    names = [f"Unnamed: {j}" if h is None else _header_text(h) for j, h in enumerate(header)]
    _no_duplicates(path, names)
    width = len(names)
    for values, r in zip(records, rows, strict=True):
        extra = [j for j in range(width, len(values)) if values[j] is not None]
        if extra:
            from openpyxl.utils import get_column_letter

            raise _fail(path, f"sheet {title!r} row {r}: cell {get_column_letter(extra[0] + 1)}"
                        f"{r} holds {values[extra[0]]!r} but its column has no name in the "
                        f"header (row {header_row}); name the column or delete the value")
    data = {j: pd.Series([v[j] if j < len(v) else None for v in records], dtype=object)
            for j in range(width)}
    raw = pd.DataFrame(data, index=pd.RangeIndex(len(records)))
    raw.columns = names
    _no_uncomputed_formulas(path, sheet, title, raw, names, rows, q)
    return raw, _source_rows(path, "sheet row", np.asarray(rows, dtype=np.int64))


def _worksheet(path: Path, wb, sheet):
    if isinstance(sheet, int | np.integer) and not isinstance(sheet, bool):
        if 0 <= sheet < len(wb.worksheets):
            return wb.worksheets[sheet]
    elif isinstance(sheet, str) and sheet in wb.sheetnames:
        return wb[sheet]
    raise _fail(path, f"no sheet {sheet!r} (the workbook has {', '.join(map(repr, wb.sheetnames))}"
                "); pass sheet= with an existing sheet name or position")


def _header_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


_FORMULA_XML = re.compile(rb"<(?:\w+:)?f[\s>/]")


def _no_uncomputed_formulas(path: Path, sheet, title: str, raw: pd.DataFrame, names: list,
                            rows: list[int], q: Questionnaire) -> None:
    """A formula cell whose file holds no computed value would read as empty: refuse it."""
    import zipfile

    with zipfile.ZipFile(path) as z:
        if not any(_FORMULA_XML.search(z.read(n)) for n in z.namelist()
                   if n.startswith("xl/worksheets/") and n.endswith(".xml")):
            return
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=False)
    try:
        ws = _worksheet(path, wb, sheet)
        where = {r: i for i, r in enumerate(rows)}
        id_col = q.roles.respondent_id
        problems = []
        for cells in ws.iter_rows(min_row=1):
            for cell in cells:
                if getattr(cell, "data_type", None) != "f":
                    continue
                i, j = where.get(cell.row), cell.column - 1
                if i is None or j >= len(names) or raw.iat[i, j] is not None:
                    continue
                who = (f", {id_col} {raw.at[i, id_col]}" if id_col in raw.columns
                       and raw.at[i, id_col] is not None else "")
                problems.append(Problem(
                    f"sheet {title!r} cell {cell.coordinate} (column {names[j]!r}{who}) holds "
                    f"the formula {str(cell.value)[:60]!r} but no computed value, so its value "
                    "is unknown; open and save the workbook in Excel or LibreOffice (which "
                    "computes it), or paste the values over the formulas", file=str(path)))
    finally:
        wb.close()
    if problems:
        n = len(problems)
        raise ResponseDataError(problems[:10] + ([Problem(f"... and {n - 10} more", file=str(
            path))] if n > 10 else []), header=None if n == 1 else
            f"{path}: {n} formula cell(s) without a computed value:")


def _read_sav(path: Path) -> tuple[pd.DataFrame, dict]:
    import pyreadstat

    reader = pyreadstat.read_sav
    try:
        df, meta = reader(str(path), user_missing=True)
    except Exception as exc:  # pyreadstat.ReadstatError and friends
        raise _fail(path, f"cannot read as SPSS .sav ({type(exc).__name__}: {exc}); "
                    "check that the file is a complete SPSS data file") from None
    for name, fmt in meta.original_variable_types.items():  # SPSS has no empty vs missing text
        if str(fmt).upper().startswith("A") and name in df.columns:
            df[name] = df[name].mask(df[name].eq(""))
    spss = {
        "file_label": meta.file_label,
        "variable_labels": {k: v for k, v in meta.column_names_to_labels.items() if v},
        "value_labels": meta.variable_value_labels,
        "missing_ranges": meta.missing_ranges,
        "measure": meta.variable_measure,
    }
    return df, spss


def _norm_label(text) -> str:
    return re.sub(r"[^0-9a-z]", "", str(text).casefold())


def _map_spss_missing(df: pd.DataFrame, q: Questionnaire, spss: dict) -> None:
    """Map SPSS user-missing codes to the questionnaire's missing codes, in place.

    A value the .sav file declares user-missing that is not a code of the questionnaire is
    mapped to the questionnaire's missing code whose label or kind matches the SPSS value
    label (``-9 "Refused"`` -> ``99 Refused (refused)``); a value with no single match is
    left as it is (check_responses reports it as out_of_range). Both are stated in one
    SurveykitWarning and recorded in ``df.attrs["spss_missing"]``.
    """
    variables = q.variables()
    mapped, unmatched = [], []
    for name, ranges in (spss.get("missing_ranges") or {}).items():
        var = variables.get(name)
        if name not in df.columns or var is None or not var.missing_codes or \
                df[name].dtype != np.float64:
            continue
        x = df[name].to_numpy()
        user = np.zeros(len(x), dtype=bool)
        for r in ranges:
            lo, hi = (r["lo"], r["hi"]) if isinstance(r, dict) else (r, r)
            with np.errstate(invalid="ignore"):
                user |= (x >= float(lo)) & (x <= float(hi))
        known = [float(c) for c in (*var.value_labels, *var.missing_codes) if _is_number(c)]
        user &= ~np.isin(x, known)
        if not user.any():
            continue
        labels = (spss.get("value_labels") or {}).get(name, {})
        new = x.copy()
        for v in np.unique(x[user]):
            label = labels.get(v, labels.get(int(v)) if float(v).is_integer() else None)
            hits = [c for c, m in var.missing_codes.items() if label is not None and _is_number(c)
                    and _norm_label(label) in (_norm_label(m.label), _norm_label(m.kind))]
            count = int((x == v).sum())
            entry = {"column": name, "spss_code": _tidy(v), "label": label, "count": count}
            if len(hits) == 1:
                new[x == v] = float(hits[0])
                mapped.append({**entry, "code": hits[0]})
            else:
                unmatched.append(entry)
        df[name] = new
    if not mapped and not unmatched:
        return
    df.attrs["spss_missing"] = {"mapped": mapped, "unmatched": unmatched}
    parts = []
    if mapped:
        parts.append("mapped SPSS user-missing codes to the questionnaire's missing codes of the "
                     "same label or kind: " + "; ".join(
                         f"{m['column']} {m['spss_code']} {m['label']!r} -> {m['code']} "
                         f"({m['count']} value(s))" for m in mapped[:10])
                     + (f"; ... ({len(mapped)} in all)" if len(mapped) > 10 else ""))
    if unmatched:
        parts.append("SPSS user-missing codes that match no missing code of the questionnaire "
                     "(kept; check_responses reports them as out_of_range - declare them as "
                     "missing codes in the questionnaire or recode them): " + "; ".join(
                         f"{m['column']} {m['spss_code']}"
                         f"{'' if m['label'] is None else ' ' + repr(m['label'])} "
                         f"({m['count']} value(s))" for m in unmatched[:10])
                     + (f"; ... ({len(unmatched)} in all)" if len(unmatched) > 10 else ""))
    warnings.warn(f"{df.attrs.get('source', 'SPSS file')}: " + ". ".join(parts)
                  + " (details in df.attrs['spss_missing'])", SurveykitWarning, stacklevel=3)


def _tidy(v: float):
    return int(v) if float(v).is_integer() else float(v)


_FAST_NUMERIC = ("string", "empty", "integer", "floating", "mixed-integer-float")


def _type_numeric(s: pd.Series, na: set, kind: str | None = None) -> pd.Series:
    if is_bool_dtype(s) and kind != "multi_option":
        # True/False is not a code of a rating or a single question: keep it as text, so
        # that check_responses() reports it (non_numeric) instead of it becoming 1/0
        return s.astype(object).map(lambda v: str(v) if pd.notna(v) else np.nan).astype(object)
    if isinstance(s.dtype, np.dtype) and s.dtype.kind in "fiub":
        return s if s.dtype == np.float64 else s.astype("float64")
    if is_bool_dtype(s) or is_numeric_dtype(s):
        return s.astype("float64")
    if s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) in _FAST_NUMERIC:
        # fast path: text or numbers only (to_numeric would turn True into 1)
        num = pd.to_numeric(s, errors="coerce")
        if not (num.isna() & s.notna()).any():
            return num.astype("float64")
    text = s.astype("str").str.strip()
    text = text.mask(text.isin(na))
    num = pd.to_numeric(text, errors="coerce")
    bad = num.isna() & text.notna()
    if not bad.any():
        return num.astype("float64")
    out = num.astype(object)
    out[bad] = text[bad]
    return out


def _type_text(s: pd.Series, na: set) -> pd.Series:
    text = s.astype("str")
    return text.mask(text.str.strip().eq("") | text.isin(na))


#: Floats hold every integer only up to 2**53; an id stored as a float beyond it may have
#: been rounded, so it cannot be taken as exact.
_EXACT_FLOAT_LIMIT = 2**53
_INT64 = (-(2**63), 2**63 - 1)


def _type_id(s: pd.Series, na: set, name=None, rows: dict | None = None,
             frame: pd.DataFrame | None = None) -> pd.Series:
    """Ids as ``int64`` (all whole numbers, none missing) or as text, never as floats.

    Integers are taken as they are; floats only when whole and below 2**53 (else a
    ResponseDataError naming the rows); text exactly as found (``007`` stays text)."""
    dtype = s.dtype
    if is_bool_dtype(dtype):
        return _id_text(s.astype(object).map(lambda v: str(v) if pd.notna(v) else None), na)
    if isinstance(dtype, np.dtype) and dtype.kind in "iu":
        if dtype.kind == "u" and len(s) and int(s.max()) > _INT64[1]:
            return s.astype("str")
        return s.astype("int64")
    if pd.api.types.is_integer_dtype(dtype):  # nullable Int64: missing ids make it text
        if not s.isna().any():
            return s.astype("int64")
        return _id_text(s.astype(object).map(lambda v: None if pd.isna(v) else str(int(v))), na)
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        values = s.to_numpy()
        _check_float_ids(s, values, name, rows, frame)
        if not np.isnan(values).any():
            return pd.Series(values.astype(np.int64), index=s.index, name=s.name)
        return _id_text(s.map(lambda v: None if np.isnan(v) else str(int(v))), na)
    if s.dtype == object:  # Excel / hand-made frames: numbers, text and missing mixed
        floats = s.map(lambda v: isinstance(v, float | np.floating)).to_numpy(dtype=bool)
        if floats.any():
            f = np.full(len(s), np.nan)
            f[floats] = s[floats].to_numpy(dtype=float)
            _check_float_ids(s, f, name, rows, frame)
        return _id_text(s.map(_id_value), na)
    return _id_text(s, na)


def _id_value(v):
    if v is None or v is pd.NA or (isinstance(v, float | np.floating) and np.isnan(v)):
        return None
    if isinstance(v, bool | np.bool_):
        return str(bool(v))
    if isinstance(v, int | np.integer):
        return str(int(v))
    if isinstance(v, float | np.floating):
        return str(int(v))  # checked: whole and exact
    return str(v)


def _id_text(s: pd.Series, na: set) -> pd.Series:
    text = _type_text(s, na).str.strip()
    if len(text) and text.notna().all() and text.str.fullmatch(_INT_TEXT).all():
        as_int = _int64_or_none(text)
        if as_int is not None:
            return pd.Series(as_int, index=s.index, name=s.name, dtype="int64", copy=False)
    return text


def _int64_or_none(text: pd.Series) -> np.ndarray | None:
    """Whole-number text (checked) as int64 values, or None when one is beyond int64."""
    if isinstance(text.dtype, pd.StringDtype) and text.dtype.storage == "pyarrow":
        import pyarrow as pa
        import pyarrow.compute as pc

        try:  # exact: the cast parses the digits as integers and refuses an overflow
            return pc.cast(pa.array(text), pa.int64()).to_numpy(zero_copy_only=False)
        except pa.ArrowInvalid:
            return None
    as_int = [int(v) for v in text]
    if _INT64[0] <= min(as_int) and max(as_int) <= _INT64[1]:
        return np.array(as_int, dtype=np.int64)
    return None


def _check_float_ids(s: pd.Series, values: np.ndarray, name, rows: dict | None,
                     frame: pd.DataFrame | None) -> None:
    with np.errstate(invalid="ignore"):
        bad = ~np.isnan(values) & (~np.isfinite(values) | (values != np.round(values))
                                   | (np.abs(values) >= _EXACT_FLOAT_LIMIT))
    if not bad.any():
        return
    pos = np.flatnonzero(bad)
    labels = s.index[pos]
    places = _places(rows, labels, frame)
    shown = []
    for k, (p, lab) in enumerate(zip(pos, labels, strict=True)):
        if k == 5:
            shown.append(f"... ({len(pos)} in all)")
            break
        at = f"{rows['unit']} {places[k]}, row {lab}" if places else f"row {lab}"
        shown.append(f"{float(values[p])!r} ({at})")
    file = (rows or {}).get("path")
    raise ResponseDataError(Problem(
        f"id column {name!r} holds {len(pos)} id(s) stored as floating-point numbers that "
        f"cannot be kept exactly: {'; '.join(shown)}. An id must be a whole number below "
        f"2**53 = {_EXACT_FLOAT_LIMIT:,} when stored as a float (beyond that floats skip "
        "integers, so different ids can collide); store the ids as text or as 64-bit "
        "integers in the source", file=file))


# -- where rows came from ---------------------------------------------------------------
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


def _type_flag(s: pd.Series) -> pd.Series:
    """A flag written to any format (bool, 0/1, "True"/"False") back to bool, else as is."""
    if is_bool_dtype(s):
        return s.astype(bool)
    if isinstance(s.dtype, pd.StringDtype):
        mapped = s.str.strip().str.lower().map(_BOOL_TEXT)
    else:
        mapped = s.map(lambda v: _BOOL_TEXT.get(str(v).strip().lower()) if pd.notna(v)
                       else None)
    return mapped.astype(bool) if mapped.notna().all() else s


def _type_unknown(s: pd.Series, na: set) -> pd.Series:
    if s.dtype != object and not pd.api.types.is_string_dtype(s):
        return s
    text = _type_text(s, na)
    num = pd.to_numeric(text.str.strip(), errors="coerce")
    if text.notna().any() and (num.notna() == text.notna()).all():
        return num.astype("float64")
    return text


def _is_number(code) -> bool:
    return isinstance(code, int | float) and not isinstance(code, bool)


def __getattr__(name: str):
    # write_responses lived here before it moved to .writing; keep the old import working
    if name == "write_responses":
        from .writing import write_responses

        return write_responses
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
