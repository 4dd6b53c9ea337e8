"""Writing responses to CSV / TSV, Parquet, Excel and SPSS ``.sav``, labelled from the
questionnaire (see :func:`write_responses`); :mod:`.reading` reads every file written here
back to the same values."""

from __future__ import annotations

import io
import os
import re
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api.types import is_numeric_dtype

from .._util import atomic_write, to_safe_csv, xlsx_text
from ..errors import ResponseDataError, SurveykitWarning
from ..questionnaire import Questionnaire, Variable
from .coercion import _EXACT_FLOAT_LIMIT, ID_KINDS, _is_number, _type_id, is_numeric_variable
from .formats import _fail, _format_of
from .reading import (
    _check_questionnaire,
    read_responses,  # noqa: F401 - named in the docstrings
)
from .source_rows import where_in_file

__all__ = ["write_responses"]

_MEASURE = {"id": "nominal", "customer_id": "nominal", "single": "nominal",
            "multi_option": "nominal", "derived": "nominal",
            "grid_item": "ordinal", "rating": "ordinal", "nps": "ordinal",
            "rank_option": "ordinal", "numeric": "scale", "duration": "scale",
            "weight": "scale"}


def write_responses(df: pd.DataFrame, path: str | os.PathLike,
                    questionnaire: Questionnaire) -> Path:
    """Write responses to ``.csv``, ``.tsv``, ``.parquet``, ``.xlsx`` or SPSS ``.sav``.

    For ``.sav`` the questionnaire supplies the file label (title), variable labels, value
    labels (valid and missing codes), user-missing codes (SPSS ``missing_ranges``: up to
    three discrete codes, or one range when there are more) and the measurement level, so
    SPSS users see a labelled file and :func:`read_responses` reads the same values back
    (missing codes stay codes). The file is written to a temporary name and moved into
    place; ``df`` is not modified.

    Ids keep their exact value in every format: they are written as integers or text,
    never as floats (an id beyond 2**53 becomes an SPSS string variable, one of more than
    15 digits an Excel text cell). Text that a spreadsheet would run as a formula (starting
    with ``=``, ``+``, ``-``, ``@``, tab or carriage return) gets a leading apostrophe in
    CSV (removed again by :func:`read_responses`) and is an explicit text cell in ``.xlsx``
    (read back exactly); numbers stay numbers.

    Raises
    ------
    ResponseDataError
        Unsupported suffix, or text left in a numeric column (run :func:`clean` first),
        a column name SPSS cannot store, an id stored as a float that is not exact, or a
        control character that ``.xlsx`` cannot store.

    Warns
    -----
    SurveykitWarning
        ``.xlsx`` text with a carriage return (XML stores it as a line feed); a ``.sav``
        column with more missing codes than SPSS can declare.

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
    data = _exact_ids(df, q)
    if fmt == "csv":
        sep = "\t" if path.suffix.lower() == ".tsv" else ","
        return atomic_write(path, to_safe_csv(_whole_numbers(data), sep=sep).encode("utf-8"))
    if fmt == "parquet":
        buf = io.BytesIO()
        try:
            data.to_parquet(buf, index=False)
        except Exception as exc:
            raise _fail(path, f"cannot write Parquet ({type(exc).__name__}: {exc}); a numeric "
                        "column probably still holds text: run clean() first") from None
        return atomic_write(path, buf.getvalue())
    if fmt == "excel":
        return atomic_write(path, _xlsx_bytes(_whole_numbers(data), q, path))
    return atomic_write(path, _sav_bytes(data, q, path, df))


def _exact_ids(df: pd.DataFrame, q: Questionnaire) -> pd.DataFrame:
    """A plain copy of ``df`` with id columns as int64 or text (floats only if exact)."""
    out = _plain_frame(df)
    rows = df.attrs.get("source_rows")
    for name, var in q.variables().items():
        if var.kind in ID_KINDS and name in out.columns:
            col = out[name]
            if col.dtype == object or (isinstance(col.dtype, np.dtype) and col.dtype.kind == "f"):
                out[name] = _type_id(col, set(), name, rows, df)
    return out


#: Excel keeps 15 significant digits: longer integer ids are written as text cells.
_EXCEL_DIGITS = 10**15


def _xlsx_bytes(data: pd.DataFrame, q: Questionnaire, path: Path) -> bytes:
    """One sheet, header then rows. Text is always a text cell (never a formula, see
    :func:`surveykit._util.xlsx_text`), so it reads back exactly as written."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.utils.exceptions import IllegalCharacterError

    variables = q.variables()
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Sheet1")

    def cell(v):
        if isinstance(v, str):
            c = WriteOnlyCell(ws, v)
            xlsx_text(c)
            return c
        return v

    columns = []
    for name in data.columns:
        col = data[name]
        values = col.to_numpy(dtype=object, na_value=None)
        var = variables.get(name)
        big_ids = var is not None and var.kind in ID_KINDS and col.dtype == np.int64
        out = []
        for v in values:
            if v is None or (isinstance(v, float) and np.isnan(v)):
                out.append(None)
            elif isinstance(v, np.generic):
                out.append(v.item())
            elif isinstance(v, pd.Timestamp):
                out.append(v.to_pydatetime() if v.tzinfo is None else v.isoformat())
            else:
                out.append(v)
        if big_ids:
            out = [str(v) if v is not None and abs(v) >= _EXCEL_DIGITS else v for v in out]
        out = [("inf" if v > 0 else "-inf") if isinstance(v, float) and np.isinf(v) else v
               for v in out]
        columns.append(out)
    try:
        ws.append([cell(str(c)) for c in data.columns])
        for i in range(len(data)):
            ws.append([cell(col[i]) for col in columns])
    except IllegalCharacterError:
        for name, col in zip(data.columns, columns, strict=True):
            bad = next((k for k, v in enumerate(col)
                        if isinstance(v, str) and re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", v)),
                       None)
            if bad is not None:
                raise _fail(path, f"column {name!r} row {data.index[bad]!r} holds a control "
                            "character that an .xlsx file cannot store; remove it or write "
                            ".csv / .parquet") from None
        raise
    cr = {name: sum(isinstance(v, str) and "\r" in v for v in col)
          for name, col in zip(data.columns, columns, strict=True)}
    cr = {k: v for k, v in cr.items() if v}
    if cr:
        warnings.warn(f"{path.name}: .xlsx stores a carriage return inside text as a line feed "
                      "(XML line ends), so these text cells will read back with \\n for \\r: "
                      + ", ".join(f"{k!r} ({v} cell(s))" for k, v in cr.items())
                      + "; write .csv or .parquet to keep them exactly", SurveykitWarning,
                      stacklevel=4)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


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


def _sav_bytes(df: pd.DataFrame, q: Questionnaire, path: Path, source: pd.DataFrame) -> bytes:
    import pyreadstat

    variables = q.variables()
    data = _plain_frame(df)
    id_col = q.roles.respondent_id
    labels, value_labels, missing, measure, formats = {}, {}, {}, {}, {}
    for name in data.columns:
        col = data[name]
        var = variables.get(name)
        if var is not None and var.kind in ID_KINDS and col.dtype == np.int64 and (
                (col >= _EXACT_FLOAT_LIMIT) | (col <= -_EXACT_FLOAT_LIMIT)).any():
            data[name] = col = col.astype("str")  # SPSS numbers are doubles: keep ids exact
        if col.dtype == object:
            typed = pd.to_numeric(col, errors="coerce")
            text = col.notna() & typed.isna()
            if var is not None and is_numeric_variable(var) and text.any():
                pos = int(np.argmax(text.to_numpy()))
                row = col.index[pos]
                who = (f" for {id_col} {data[id_col].iat[pos]}" if id_col in data.columns
                       and name != id_col else "")
                raise _fail(path, f"column {name!r} holds text ({col[row]!r} at row {row!r})"
                            f"{who}{where_in_file(source, [row])} but is numeric in the "
                            "questionnaire; run clean() or fix the value before writing SPSS")
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
