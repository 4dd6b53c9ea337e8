"""``check`` over data larger than memory: the rules of
:func:`surveykit.responses.check_responses`, block by block.

Every rule but two looks at one respondent at a time, so the data are streamed from DuckDB in
blocks of rows and each block goes through the same checker as in memory (the same rules,
routing included, and the same messages: one definition). The two rules that need the whole
data are found first by DuckDB queries: ``duplicate_id`` (ids seen more than once, with the
rows where they are) and ``speeder`` (the median of the valid durations). Counts cover every
row; the findings table keeps the first ``examples`` findings of each rule.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..responses._check_text import _is_number
from ..responses.check_result import CheckResult
from ..responses.checks import _Checker, check_params
from ..responses.reading import _check_questionnaire, is_numeric_variable, type_responses
from ._source import Source, ident, number

__all__ = ["check_source"]

_FILE_RULES = ("missing_column", "unknown_column")   # about the columns: once, not per block


def check_source(source: Source, questionnaire, *, examples: int | None = 1000,
                 rows: int = 100_000, straight_line_min_items: int = 4,
                 speeder_ratio: float = 0.4, rules=None) -> CheckResult:
    """:func:`~surveykit.responses.check_responses` over a :class:`Source`, block by block."""
    q = _check_questionnaire(questionnaire)
    params = check_params(straight_line_min_items, speeder_ratio, rules)
    wanted = params["rules"]
    context = {"duplicates": _duplicates(source, q),
               "median_duration": _median_duration(source, q)}
    kept: list[pd.DataFrame] = []
    taken: dict[str, int] = {}
    counts: dict[str, list] = {}
    affected: set = set()
    offset = 0
    for block in source.batches(rows=rows):
        block.index = pd.RangeIndex(offset, offset + len(block))
        typed, _ = type_responses(block, q)
        run = _Checker(q, typed, params)
        run.context = context
        run.all()
        part = run.result(wanted)
        table = part.table
        if offset:  # file-level rules (columns) once, from the first block
            table = table[table["respondent"].notna() | table["row"].notna()]
        else:  # the first block (Source.batches gives at least one)
            summary, first = part.rule_table.copy(), part.table
        for rule, resp, found in zip(part.rule_table["rule"], part.rule_table["respondents"],
                                     part.rule_table["findings"], strict=True):
            c = counts.setdefault(rule, [0, 0])
            c[0] += int(resp)
            c[1] += int(found) if offset == 0 or rule not in _FILE_RULES else 0
        affected.update(table["respondent"].dropna().tolist())
        if examples is not None and len(table):
            rank = table.groupby("rule", sort=False).cumcount().to_numpy()
            room = table["rule"].map(lambda r: examples - taken.get(r, 0)).to_numpy()
            table = table[rank < room]
            for rule, k in table["rule"].value_counts().items():
                taken[rule] = taken.get(rule, 0) + int(k)
        if len(table):
            kept.append(table)
        offset += len(block)
    summary["respondents"] = [counts.get(r, [0, 0])[0] for r in summary["rule"]]
    summary["findings"] = [counts.get(r, [0, 0])[1] for r in summary["rule"]]
    table = pd.concat(kept, ignore_index=True) if kept else first.iloc[:0]
    return CheckResult(table=table, rule_table=summary, n_respondents=source.n,
                       n_columns=len(source.columns), questionnaire=q.id, params=params,
                       affected=len(affected))


def _duplicates(source: Source, q) -> dict:
    """Ids that appear more than once, each with its rows (0-based, in file order)."""
    id_col = q.roles.respondent_id
    if not id_col or id_col not in source.columns:
        return {}
    col = ident(id_col)
    present = f"{col} IS NOT NULL" + (f" AND trim({col}) <> ''" if source.is_text(id_col)
                                      else "")
    found = source.con.execute(
        f"SELECT {col}, list(pos ORDER BY pos) FROM ("
        f"  SELECT {col}, pos FROM {source.positions()} WHERE {present}"
        f"  AND {col} IN (SELECT {col} FROM data WHERE {present} GROUP BY {col} "
        f"                HAVING count(*) > 1)) GROUP BY {col}").fetchall()
    out = {}
    for key, rows in found:
        out[key] = [int(p) for p in rows]
        if isinstance(key, str) and key.isdigit() and (key == "0" or key[0] != "0"):
            out[int(key)] = out[key]   # typed as a whole number in memory
    return out


def _median_duration(source: Source, q) -> float | None:
    """Median of the valid durations (what ``speeder`` compares with), or None."""
    col = q.roles.duration
    var = q.variables().get(col) if col else None
    if var is None or col not in source.columns or not is_numeric_variable(var):
        return None
    x = f"TRY_CAST({ident(col)} AS DOUBLE)"
    missing = [float(c) for c in var.missing_codes if _is_number(c)]
    if var.value_labels:
        allowed = [float(c) for c in var.value_labels if _is_number(c)]
        inside = _in(x, allowed)
    else:
        parts = [f"NOT isinf({x})"]
        if var.min is not None:
            parts.append(f"{x} >= {number(var.min)}")
        if var.max is not None:
            parts.append(f"{x} <= {number(var.max)}")
        if var.kind == "numeric" and getattr(q.question(var.question), "integer", False):
            parts.append(f"{x} = round({x})")
        inside = " AND ".join(parts)
    valid = f"{x} IS NOT NULL AND NOT isnan({x}) AND ({_in(x, missing)} OR ({inside}))"
    median = source.scalar(f"SELECT median({x}) FILTER (WHERE {valid}) FROM data")
    return None if median is None or not np.isfinite(median) else float(median)


def _in(x: str, values: list[float]) -> str:
    return f"{x} IN ({', '.join(number(v) for v in values)})" if values else "FALSE"
