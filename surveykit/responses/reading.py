"""Reading and writing response files, typed from the questionnaire.

Formats, by file suffix: ``.csv`` / ``.tsv``, ``.parquet`` / ``.pq``, ``.xlsx`` / ``.xlsm``
and SPSS ``.sav`` / ``.zsav`` (via pyreadstat). The questionnaire's codebook
(:meth:`Questionnaire.variables`) types each column:

- codes, ratings, NPS, grid items, multi-response 0/1 columns, numeric answers, duration
  and weight: ``float64``;
- open text and other-specify text: pandas ``str`` (blank or whitespace-only -> NaN);
- respondent id and customer id: ``int64`` when every value is a whole number written
  without leading zeros and none is missing, otherwise text exactly as found.

Values that do not parse as numbers in a numeric column are NOT turned into NaN: the column
stays ``object`` with the numbers as floats and the offending text kept, so that
:func:`~surveykit.responses.check_responses` reports them (``non_numeric``) and
:func:`~surveykit.responses.clean` converts them, with a log entry. Only machine-written
missing markers (``na_values``: empty, ``NA``, ``NaN``, ``nan``, ``<NA>``) read as missing;
human-typed text such as ``n/a`` or ``-`` is kept and reported.

Columns are never renamed or guessed: columns the questionnaire does not know are kept and
listed in ``df.attrs["unknown_columns"]``; questionnaire columns absent from the file are
listed in ``df.attrs["missing_columns"]`` (derived variables are not expected in a file).
The file is only ever read.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from .._util import atomic_write, repeated
from ..errors import Problem, ResponseDataError, SurveykitWarning
from ..questionnaire import Questionnaire, Variable

__all__ = ["read_responses", "write_responses", "type_responses", "FORMATS", "NA_VALUES",
           "FLAG_COLUMNS"]

FORMATS = {".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet",
           ".xlsx": "excel", ".xlsm": "excel", ".sav": "sav", ".zsav": "sav"}
NA_VALUES = ("", "NA", "NaN", "nan", "<NA>")
#: Boolean columns added by :func:`~surveykit.responses.clean` (read back as bool).
FLAG_COLUMNS = ("flag_speeder", "flag_straight_lining")
_BOOL_TEXT = {"true": True, "false": False, "1": True, "0": False, "1.0": True, "0.0": False}
ID_KINDS = ("id", "customer_id")
_INT_TEXT = r"-?(0|[1-9]\d{0,17})"
_MEASURE = {"id": "nominal", "customer_id": "nominal", "single": "nominal",
            "multi_option": "nominal", "derived": "nominal",
            "grid_item": "ordinal", "rating": "ordinal", "nps": "ordinal",
            "rank_option": "ordinal", "numeric": "scale", "duration": "scale",
            "weight": "scale"}


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
                   na_values: Iterable[str] = NA_VALUES) -> pd.DataFrame:
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

    Returns
    -------
    pandas.DataFrame
        Typed responses. ``df.attrs`` holds ``source``, ``questionnaire``,
        ``unknown_columns``, ``missing_columns``, ``unparsed`` (numeric columns that kept
        text: column -> count) and, for ``.sav`` files, ``spss`` (the file's variable
        labels, value labels and missing ranges).

    Raises
    ------
    ResponseDataError
        The file is missing, unreadable, of an unsupported type, malformed (the message
        names the line), or has duplicated column names.

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
    path = Path(path)
    fmt = _format_of(path)
    if not path.exists():
        raise _fail(path, "responses file not found; check the path")
    if path.is_dir():
        raise _fail(path, "is a folder, not a responses file")
    na = set(na_values)
    spss = None
    if fmt == "csv":
        text_cols = [n for n, v in q.variables().items() if not is_numeric_variable(v)]
        raw = _read_csv(path, sep or ("\t" if path.suffix.lower() == ".tsv" else ","), encoding,
                        na, text_cols)
    elif fmt == "parquet":
        raw = _read_parquet(path)
    elif fmt == "excel":
        raw = _read_excel(path, sheet)
    else:
        raw, spss = _read_sav(path)
    df, info = type_responses(raw, q, na_values=na)
    df.attrs.update({"source": str(path), **info})
    if spss is not None:
        df.attrs["spss"] = spss
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
    na = set(na_values)
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
            cols[name] = _type_id(s, na)
        elif not is_numeric_variable(var):
            cols[name] = _type_text(s, na)
        else:
            typed = _type_numeric(s, na)
            n_bad = int((typed.dtype == object) and typed.map(type).eq(str).sum())
            if n_bad:
                unparsed[str(name)] = n_bad
            cols[name] = typed
    df = pd.DataFrame(cols, index=raw.index, columns=raw.columns)
    info = {
        "questionnaire": q.id,
        "unknown_columns": [str(c) for c in raw.columns if c not in variables],
        "missing_columns": [n for n, v in variables.items()
                            if v.kind != "derived" and n not in raw.columns],
        "unparsed": unparsed,
    }
    return df, info


def is_numeric_variable(var: Variable) -> bool:
    """True when the column holds numbers (codes with text labels count as numeric;
    a code list with text codes, such as ``{A: ..., B: ...}``, makes the column text)."""
    if not var.numeric:
        return False
    return not any(isinstance(code, str) for code in var.value_labels)


def _read_csv(path: Path, sep: str, encoding: str, na: set, text_cols: list[str]) -> pd.DataFrame:
    """Numbers are parsed by pandas' C parser (fast); a column that holds any other text
    comes back as text and is typed later. Text and id columns are read as text."""
    enc = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    try:
        with open(path, newline="", encoding=enc) as fh:
            header = next(csv.reader(fh, delimiter=sep), None)
        if header is None:
            raise _fail(path, "file is empty; expected a header row with column names")
        _no_duplicates(path, header)
        dtype = {c: str for c in header if c in set(text_cols)}
        df = pd.read_csv(path, sep=sep, dtype=dtype, keep_default_na=False, na_values=sorted(na),
                         encoding=enc, skip_blank_lines=True,
                         true_values=[], false_values=[])
    except UnicodeDecodeError as exc:
        raise _fail(path, f"not {encoding} text ({exc.reason} at byte {exc.start}); save it as "
                    "UTF-8 or pass encoding= (e.g. 'cp1252')") from None
    except pd.errors.EmptyDataError:
        raise _fail(path, "file is empty; expected a header row with column names") from None
    except pd.errors.ParserError as exc:
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if m:
            raise _fail(path, f"line {m.group(2)} has {m.group(3)} fields but the header has "
                        f"{m.group(1)}; check the separator ({sep!r}) and the quoting of text "
                        "that contains it") from None
        raise _fail(path, f"cannot parse the file: {str(exc).strip()}; check that it is "
                    f"{sep!r}-separated text") from None
    if df.shape[1] == 1:
        other = next((s for s in (";", "\t", "|", ",") if s != sep and s in str(df.columns[0])),
                     None)
        if other:
            raise _fail(path, f"only one column was found and its name contains {other!r}; "
                        f"the file looks {other!r}-separated: pass sep={other!r}")
    return df


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


def _read_excel(path: Path, sheet) -> pd.DataFrame:
    try:
        head = pd.read_excel(path, sheet_name=sheet, header=None, nrows=1, dtype=object)
        if head.empty:
            raise _fail(path, f"sheet {sheet!r} is empty; expected a header row")
        _no_duplicates(path, [str(v) for v in head.iloc[0].tolist()])
        return pd.read_excel(path, sheet_name=sheet, dtype=object, keep_default_na=False,
                             na_values=[])
    except ResponseDataError:
        raise
    except (ValueError, KeyError) as exc:
        if "not found" in str(exc).lower() or "worksheet" in str(exc).lower():
            raise _fail(path, f"no sheet {sheet!r}: {exc}; pass sheet= with an existing sheet "
                        "name or position") from None
        raise _fail(path, f"cannot read as Excel ({exc})") from None
    except Exception as exc:  # zipfile.BadZipFile, openpyxl errors
        raise _fail(path, f"cannot read as Excel ({type(exc).__name__}: {exc}); "
                    "check that it is an .xlsx workbook") from None


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


def _type_numeric(s: pd.Series, na: set) -> pd.Series:
    if isinstance(s.dtype, np.dtype) and s.dtype.kind in "fiub":
        return s if s.dtype == np.float64 else s.astype("float64")
    if is_bool_dtype(s) or is_numeric_dtype(s):
        return s.astype("float64")
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


def _type_id(s: pd.Series, na: set) -> pd.Series:
    if s.dtype == object:  # Excel: numbers arrive as Python numbers
        given = s.dropna()
        if len(given) and given.map(lambda v: isinstance(v, int | float | np.number)
                                    and not isinstance(v, bool)).all():
            s = pd.to_numeric(s)
    if is_numeric_dtype(s) and not is_bool_dtype(s):
        v = s.astype("float64")
        if v.notna().all() and np.isfinite(v).all() and (v == np.round(v)).all():
            return v.astype("int64")
        return s
    text = _type_text(s, na).str.strip()
    if text.notna().all() and text.str.fullmatch(_INT_TEXT).all():
        return text.astype("int64")
    return text


def _type_flag(s: pd.Series) -> pd.Series:
    """A flag written to any format (bool, 0/1, "True"/"False") back to bool, else as is."""
    if is_bool_dtype(s):
        return s.astype(bool)
    mapped = s.map(lambda v: _BOOL_TEXT.get(str(v).strip().lower()) if pd.notna(v) else None)
    return mapped.astype(bool) if mapped.notna().all() else s


def _type_unknown(s: pd.Series, na: set) -> pd.Series:
    if s.dtype != object and not pd.api.types.is_string_dtype(s):
        return s
    text = _type_text(s, na)
    num = pd.to_numeric(text.str.strip(), errors="coerce")
    if text.notna().any() and (num.notna() == text.notna()).all():
        return num.astype("float64")
    return text


# -- writing ------------------------------------------------------------------------------
def write_responses(df: pd.DataFrame, path: str | os.PathLike,
                    questionnaire: Questionnaire) -> Path:
    """Write responses to ``.csv``, ``.tsv``, ``.parquet``, ``.xlsx`` or SPSS ``.sav``.

    For ``.sav`` the questionnaire supplies the file label (title), variable labels, value
    labels (valid and missing codes), user-missing codes (SPSS ``missing_ranges``: up to
    three discrete codes, or one range when there are more) and the measurement level, so
    SPSS users see a labelled file and :func:`read_responses` reads the same values back
    (missing codes stay codes). The file is written to a temporary name and moved into
    place; ``df`` is not modified.

    Raises
    ------
    ResponseDataError
        Unsupported suffix, or text left in a numeric column (run :func:`clean` first),
        or a column name SPSS cannot store.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from surveykit.questionnaire import load_questionnaire
    >>> q = load_questionnaire("questionnaires/pc_customers.yaml")
    >>> df = pd.DataFrame({"resp_id": [1, 2, 3], "gender": [1, 2, 1], "sat_cpu": [9, 98, 7]})
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = write_responses(df, Path(tmp) / "out" / "responses.sav", q)
    ...     back = read_responses(path, q)
    >>> path.name
    'responses.sav'
    >>> back["sat_cpu"].tolist()  # 98 ("Don't know") stays a code, declared user-missing
    [9.0, 98.0, 7.0]
    >>> back.attrs["spss"]["variable_labels"]["sat_cpu"]
    'Processor (CPU) performance'
    >>> back.attrs["spss"]["missing_ranges"]
    {'sat_cpu': [{'lo': 98.0, 'hi': 98.0}]}
    """
    q = _check_questionnaire(questionnaire)
    if not isinstance(df, pd.DataFrame):
        raise ResponseDataError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    path = Path(path)
    fmt = _format_of(path)
    if fmt == "csv":
        sep = "\t" if path.suffix.lower() == ".tsv" else ","
        return atomic_write(path, _whole_numbers(df).to_csv(index=False, sep=sep,
                                                            lineterminator="\n"))
    if fmt == "parquet":
        buf = io.BytesIO()
        try:
            _plain_frame(df).to_parquet(buf, index=False)
        except Exception as exc:
            raise _fail(path, f"cannot write Parquet ({type(exc).__name__}: {exc}); a numeric "
                        "column probably still holds text: run clean() first") from None
        return atomic_write(path, buf.getvalue())
    if fmt == "excel":
        buf = io.BytesIO()
        _whole_numbers(df).to_excel(buf, index=False)
        return atomic_write(path, buf.getvalue())
    return atomic_write(path, _sav_bytes(df, q, path))


def _whole_numbers(df: pd.DataFrame) -> pd.DataFrame:
    """Float columns holding only whole numbers as nullable integers, so that text files
    show codes as ``3`` rather than ``3.0`` (read back as float)."""
    out = _plain_frame(df)
    for name in out.columns:
        col = out[name]
        if col.dtype == np.float64:
            values = col.to_numpy()
            finite = values[np.isfinite(values)]
            if np.isinf(values).any() or np.abs(finite).max(initial=0) >= 2**53:
                continue
            if np.array_equal(finite, np.round(finite)):
                out[name] = col.astype("Int64")
    return out


def _plain_frame(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    out.attrs = {}
    return out


def _sav_bytes(df: pd.DataFrame, q: Questionnaire, path: Path) -> bytes:
    import pyreadstat

    variables = q.variables()
    data = _plain_frame(df)
    labels, value_labels, missing, measure, formats = {}, {}, {}, {}, {}
    for name in data.columns:
        col = data[name]
        var = variables.get(name)
        if col.dtype == object:
            typed = pd.to_numeric(col, errors="coerce")
            text = col.notna() & typed.isna()
            if var is not None and is_numeric_variable(var) and text.any():
                row = col.index[int(np.argmax(text.to_numpy()))]
                raise _fail(path, f"column {name!r} holds text ({col[row]!r} at row {row!r}) but "
                            "is numeric in the questionnaire; run clean() or fix the value "
                            "before writing SPSS")
            data[name] = typed if not text.any() else col.astype("str")
        if var is None:
            continue
        labels[name] = var.label
        numeric = is_numeric_dtype(data[name])
        if numeric:
            codes = {**var.value_labels, **{c: m.label for c, m in var.missing_codes.items()}}
            codes = {float(c): str(lab) for c, lab in codes.items() if _is_number(c)}
            if codes:
                value_labels[name] = codes
            miss = sorted(float(c) for c in var.missing_codes if _is_number(c))
            if miss:
                missing[name] = _missing_ranges(name, miss, var)
            if var.kind in _MEASURE:
                measure[name] = _MEASURE[var.kind]
            values = data[name].to_numpy(dtype=float)
            finite = values[np.isfinite(values)]
            if finite.size and np.all(finite == np.round(finite)) and np.abs(finite).max() < 1e15:
                width = max(len(str(int(np.abs(finite).max()))) + 1, 3)
                formats[name] = f"F{width}.0"
        else:
            measure[name] = "nominal"
    fd, tmp = tempfile.mkstemp(suffix=path.suffix, prefix=".surveykit-")
    os.close(fd)
    try:
        pyreadstat.write_sav(
            data, tmp, file_label=q.title[:64], column_labels=labels,
            variable_value_labels=value_labels, missing_ranges=missing,
            variable_measure=measure, variable_format=formats,
            compress=path.suffix.lower() == ".zsav")
        return Path(tmp).read_bytes()
    except Exception as exc:
        raise _fail(path, f"cannot write SPSS data ({type(exc).__name__}: {exc}); SPSS "
                    "variable names must start with a letter and hold letters, digits and _ "
                    "(at most 64 bytes)") from None
    finally:
        Path(tmp).unlink(missing_ok=True)


def _is_number(code) -> bool:
    return isinstance(code, int | float) and not isinstance(code, bool)


def _missing_ranges(name: str, codes: list[float], var: Variable) -> list:
    """SPSS allows three discrete user-missing values, or one range plus one value."""
    if len(codes) <= 3:
        return codes
    lo, hi = codes[0], codes[-1]
    valid = [float(c) for c in var.value_labels if _is_number(c)]
    if not any(lo <= v <= hi for v in valid):
        return [{"lo": lo, "hi": hi}]
    warnings.warn(f"column {name!r}: SPSS stores at most three discrete missing codes and "
                  f"{codes} cannot be one range without covering valid codes; only "
                  f"{codes[:3]} are declared missing in the .sav file (the data keep every code)",
                  SurveykitWarning, stacklevel=4)
    return codes[:3]
