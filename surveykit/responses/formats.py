"""Reading response files by format: CSV / TSV record by record, Excel, Parquet, SPSS.

The strict text reader (``_csv_records``: a row with more or fewer fields than the
header, or a quote that is never closed or runs rows together, is an error naming the
1-based file line; any encoding) and the pandas reader it falls back on; the header checks;
Excel (sheet rows, formulas without a computed value refused), Parquet and SPSS ``.sav``
(user-missing codes mapped to the questionnaire's missing codes). ``_format_of`` tells the
format from the file suffix (:data:`FORMATS`).
"""

from __future__ import annotations

import csv
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .._util import csv_unescape, repeated
from ..errors import Problem, ResponseDataError, SurveykitWarning
from ..questionnaire import Questionnaire
from .coercion import _is_number, _tidy, is_numeric_variable
from .source_rows import _source_rows

__all__ = ["FORMATS"]


FORMATS = {".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet",
           ".xlsx": "excel", ".xlsm": "excel", ".sav": "sav", ".zsav": "sav"}


def _fail(path, message: str) -> ResponseDataError:
    return ResponseDataError(Problem(message, file=str(path)))


def _format_of(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise _fail(path, f"unsupported file type {path.suffix or '(no suffix)'!r}; "
                    f"use one of {', '.join(FORMATS)}")
    return fmt


def _header_checks(path: Path, sep: str, header: list[str]) -> None:
    _no_duplicates(path, header)
    if len(header) == 1:
        other = next((s for s in (";", "\t", "|", ",") if s != sep and s in header[0]), None)
        if other:
            raise _fail(path, f"only one column was found and its name contains {other!r}; "
                        f"the file looks {other!r}-separated: pass sep={other!r}")


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
