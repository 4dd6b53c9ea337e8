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

The module holds :func:`read_responses` and :func:`type_responses`; the formats and the
strict text reader are in :mod:`.formats`, the typed fast path for UTF-8 text in
:mod:`.typed_csv`, the coercion of values in :mod:`.coercion` and where rows came from in
:mod:`.source_rows`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api.types import is_numeric_dtype

from .._threads import column_map
from .._util import csv_unescape
from ..errors import Problem, ResponseDataError
from ..questionnaire import Questionnaire
from .coercion import (
    ID_KINDS,
    _type_flag,
    _type_id,
    _type_numeric,
    _type_text,
    _type_unknown,
    is_numeric_variable,
)
from .formats import (
    FORMATS,
    _csv_records,
    _fail,
    _format_of,
    _header_checks,
    _map_spss_missing,
    _pandas_csv,
    _read_excel,
    _read_parquet,
    _read_sav,
)
from .source_rows import (
    _source_rows,
    where_in_file,  # noqa: F401 - imported from here
)
from .typed_csv import _typed_csv

__all__ = ["read_responses", "type_responses", "FORMATS", "NA_VALUES", "FLAG_COLUMNS"]
NA_VALUES = ("", "NA", "NaN", "nan", "<NA>")
#: Boolean columns added by :func:`~surveykit.responses.clean` (read back as bool).
FLAG_COLUMNS = ("flag_speeder", "flag_straight_lining")


def _check_questionnaire(questionnaire) -> Questionnaire:
    if not isinstance(questionnaire, Questionnaire):
        raise ResponseDataError(
            f"questionnaire must be a loaded Questionnaire, got {type(questionnaire).__name__}; "
            "load it with surveykit.questionnaire.load_questionnaire(path)")
    return questionnaire


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

    def typed_column(name) -> tuple[pd.Series, int]:
        """The column typed, and the count of values a numeric column kept as text."""
        s, var = raw[name], variables.get(name)
        if var is None and name in FLAG_COLUMNS:
            return _type_flag(s), 0
        if var is None:
            return _type_unknown(s, na), 0
        if var.kind in ID_KINDS:
            return _type_id(s, na, name, rows, raw), 0
        if not is_numeric_variable(var):
            return _type_text(s, na), 0
        if typed is not None and name in typed:
            return s, typed[name]
        column = _type_numeric(s, na, var.kind)
        return column, int((column.dtype == object) and column.map(type).eq(str).sum())

    cols, unparsed = {}, {}
    found = column_map(typed_column, ((name,) for name in raw.columns), len(raw))
    for name, (column, n_text) in zip(raw.columns, found, strict=True):
        cols[name] = column
        if n_text:
            unparsed[str(name)] = n_text
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


#: Read plain UTF-8 text files with pyarrow (False: always record by record; for tests).
_FAST_CSV = True


def __getattr__(name: str):
    # write_responses lived here before it moved to .writing; keep the old import working
    if name == "write_responses":
        from .writing import write_responses

        return write_responses
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
