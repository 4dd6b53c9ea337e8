"""Coercion of response values to the types the questionnaire declares.

Numeric columns (``float64``, or ``object`` keeping text that does not parse, for
:func:`~surveykit.responses.check_responses`), open text, respondent and customer ids
(``int64`` or text exactly as found, never through floating point), the cleaning step's
boolean flag columns and columns the questionnaire does not know.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from ..errors import Problem, ResponseDataError
from ..questionnaire import Variable
from .source_rows import _places

__all__ = ["is_numeric_variable", "ID_KINDS"]


_BOOL_TEXT = {"true": True, "false": False, "1": True, "0": False, "1.0": True, "0.0": False}
ID_KINDS = ("id", "customer_id")
_INT_TEXT = r"0|-?[1-9]\d{0,18}"


def is_numeric_variable(var: Variable) -> bool:
    """True when the column holds numbers (codes with text labels count as numeric;
    a code list with text codes, such as ``{A: ..., B: ...}``, makes the column text)."""
    if not var.numeric:
        return False
    return not any(isinstance(code, str) for code in var.value_labels)


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
    plain = _plain_int64(s, na)
    if plain is not None:
        return pd.Series(plain, index=s.index, name=s.name, dtype="int64", copy=False)
    text = _type_text(s, na).str.strip()
    if len(text) and text.notna().all() and text.str.fullmatch(_INT_TEXT).all():
        as_int = _int64_or_none(text)
        if as_int is not None:
            return pd.Series(as_int, index=s.index, name=s.name, dtype="int64", copy=False)
    return text


def _plain_int64(s: pd.Series, na: set) -> np.ndarray | None:
    """Arrow text ids that are all plain whole numbers (as ``str(int)`` writes them: no
    sign but ``-``, no leading zero, no space, none missing, none a missing marker), as
    int64 in two vectorised casts; None for anything else, which :func:`_id_text` then
    types value by value (with the same result for these)."""
    if not (isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow") \
            or not len(s) or s.hasnans:
        return None
    import re

    import pyarrow as pa
    import pyarrow.compute as pc

    text = pa.array(s.array)
    try:
        ints = pc.cast(text, pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if not pc.all(pc.equal(pc.cast(ints, text.type), text)).as_py():
        return None  # 007, +5, -0: kept as text
    markers = [v for v in na if re.fullmatch(_INT_TEXT, v)]
    if markers and pc.any(pc.is_in(text, value_set=pa.array(markers, text.type))).as_py():
        return None
    return ints.to_numpy()


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
