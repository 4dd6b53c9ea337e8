"""Raking, estimates and banners over data larger than memory, from DuckDB ``GROUP BY`` sums.

Each statistic reads the same sufficient statistics as in memory and goes through the same
formulas: raking works on the cell counts (:func:`surveykit.weighting.rake` with
``counts=``), an estimate on per-group sums of ``w, w y, w (y-c), w (y-c)^2, w^2, ...``
(:class:`surveykit.estimates._Sums`, :func:`~surveykit.estimates.linearised_variance`), a
banner on one row per distinct combination of answers with its count, sum of weights and sum
of squared weights (:func:`surveykit.tables.banner` with the counts).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .._util import as_list, check_columns
from .._weighted_stats import (
    DEFF_REFERENCE,
    _box_codes,
    _check_stat,
    _intervals,
    _Sums,
    _tidy_value,
)
from ..errors import EstimationError, SurveykitWarning, WeightingError
from ..significance import _z
from ._source import Source, ident, number

__all__ = ["rake_source", "estimate_source", "banner_source"]


def _frame_of(src: Source) -> pd.DataFrame:
    """An empty frame with the source's columns (for the column checks of the package)."""
    return pd.DataFrame(columns=src.columns)


# ----------------------------------------------------------------------------- rake
def rake_source(src: Source, targets, *, name: str, base_weight: str | None = None,
                **options):
    """Rake the cell table of ``src``; returns ``(report, view)``: the weighting report
    (weights per cell) and the name of a view of the data with a ``weight`` column."""
    from ..weighting import load_targets, rake

    t = load_targets(targets)
    keys = list(t.variables) + ([base_weight] if base_weight else [])
    check_columns(_frame_of(src), keys, error=WeightingError, what="weighting variable")
    sel = ", ".join(ident(k) for k in keys)
    src.con.execute(f"CREATE OR REPLACE TABLE {name}_cells AS SELECT row_number() OVER () AS "
                    f"__cell, * FROM (SELECT {sel}, count(*) AS __n FROM data GROUP BY ALL)")
    cells = src.frame(f"SELECT * FROM {name}_cells ORDER BY __cell")
    report = rake(cells, t, counts="__n", base_weight=base_weight, **options)
    factors = pd.DataFrame({"__cell": cells["__cell"].to_numpy(),
                            "__weight": report.weights.to_numpy(dtype=float)})
    src.con.register(f"{name}_factors", factors)
    on = " AND ".join(f"d.{ident(k)} IS NOT DISTINCT FROM c.{ident(k)}" for k in keys)
    drop = " EXCLUDE (weight)" if "weight" in src.columns else ""
    src.con.execute(
        f"CREATE OR REPLACE TABLE {name}_weights AS SELECT c.* EXCLUDE (__n), f.__weight "
        f"FROM {name}_cells c JOIN {name}_factors f USING (__cell)")
    src.con.unregister(f"{name}_factors")
    src.con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT d.*{drop}, c.__weight AS weight "
                    f"FROM data d JOIN {name}_weights c ON {on}")
    return report, name


# ----------------------------------------------------------------------------- estimate
def _numeric_expr(src: Source, relation: str, col: str) -> str:
    """The column as DOUBLE with NaN as NULL; refuses text and infinite values (as
    :func:`surveykit.estimates.estimate` does)."""
    if src.is_text(col):
        raise EstimationError(f"column {col!r} is not numeric (type {src.types[col]}); "
                              "estimates need numeric codes - recode it first")
    v = f"CAST({ident(col)} AS DOUBLE)"
    x = f"(CASE WHEN isnan({v}) THEN NULL ELSE {v} END)"
    inf = src.scalar(f"SELECT count(*) FROM {relation} WHERE isinf({x})")
    if inf:
        raise EstimationError(f"column {col!r} holds {inf} infinite value(s); an infinite "
                              "answer is not missing and cannot be averaged: set it to NaN "
                              "(missing) or fix the source")
    return x


def _indicator(x: str, codes) -> str:
    listed = ", ".join(number(c) for c in np.asarray(codes, dtype=float))
    return f"(CASE WHEN {x} IS NULL THEN NULL WHEN {x} IN ({listed}) THEN 1.0 ELSE 0.0 END)"


def _outcomes(src, relation, col, stat, codes, scale, box):
    """(category, y, extra) triples as SQL, as :func:`surveykit.estimates._outcomes`."""
    x = _numeric_expr(src, relation, col)
    if stat == "mean":
        return [(None, x, None)]
    if stat == "nps":
        bad = src.con.execute(f"SELECT count(*), min({x}) FILTER (WHERE {x} < 0 OR {x} > 10 OR "
                          f"{x} <> round({x})) FROM {relation} WHERE {x} < 0 OR {x} > 10 OR "
                          f"{x} <> round({x})").fetchall()[0]
        if bad[0]:
            raise EstimationError(f"NPS needs 0-10 answers; column {col!r} has "
                                  f"{_tidy_value(bad[1])} ({bad[0]} value(s) outside 0..10 or "
                                  "not whole numbers); recode them first")
        y = (f"(CASE WHEN {x} >= 9 THEN 100.0 WHEN {x} <= 6 THEN -100.0 "
             f"WHEN {x} IS NOT NULL THEN 0.0 END)")
        return [(None, y, (_indicator(x, np.arange(9, 11)), _indicator(x, np.arange(0, 7))))]
    if stat in ("top2", "bottom2"):
        return [(None, _indicator(x, _box_codes(stat, col, codes, scale, box)), None)]
    if codes is not None:
        return [(None, _indicator(x, _box_codes(stat, col, codes, None, box)), None)]
    vals = [v for (v,) in src.con.execute(f"SELECT DISTINCT {x} AS v FROM {relation} WHERE {x} "
                                      "IS NOT NULL ORDER BY v").fetchall()]
    if vals and set(vals) <= {0.0, 1.0}:
        return [(None, _indicator(x, [1.0]), None)]
    return [(_tidy_value(v), _indicator(x, [v]), None) for v in vals]


def estimate_source(src: Source, relation: str, weight: str | None, columns, *,
                    stat: str = "mean", by=None, codes=None, scale=None, box: int = 2,
                    level: float = 0.95, ci: str | None = None) -> pd.DataFrame:
    """:func:`surveykit.estimates.estimate` (without a design) from per-group sums."""
    stat = _check_stat(stat)
    cols, bys = as_list(columns), as_list(by)
    if not cols:
        raise EstimationError("give at least one column to estimate")
    check_columns(_frame_of(src), [*cols, *bys])
    if ci not in (None, "wald", "logit", "adjusted_wald"):
        raise EstimationError(f"ci must be 'wald', 'logit' or 'adjusted_wald', not {ci!r}")
    if ci == "logit" and stat not in ("proportion", "top2", "bottom2"):
        raise EstimationError("ci='logit' is for proportions (proportion, top2, bottom2)")
    ci = ci or ("adjusted_wald" if stat == "nps" else "wald")
    z = _z(level)
    N = src.n
    if N < 2:
        raise EstimationError("at least 2 rows are needed for a standard error")
    w = "1.0" if weight is None else f"CAST({ident(weight)} AS DOUBLE)"
    # checks, categories and shifts need no weights: read from the data (no weight join)
    outs = [(col, cat, y, extra) for col in cols
            for cat, y, extra in _outcomes(src, "data", col, stat, codes, scale, box)]
    shifts = src.con.execute("SELECT " + ", ".join(f"avg({y})" for _, _, y, _ in outs)
                             + " FROM data").fetchall()[0]
    shifts = [0.0 if c is None else float(c) for c in shifts]
    sums_of: dict = {}
    for b in [None, *bys]:
        if b is None and bys:
            continue
        aggs = []
        for k, ((_, _, y, extra), c) in enumerate(zip(outs, shifts, strict=True)):
            d = f"({y} - {number(c)})"
            has = f"FILTER (WHERE {y} IS NOT NULL)"
            aggs += [f"count(*) FILTER (WHERE {y} IS NOT NULL AND {w} > 0) AS n{k}",
                     f"coalesce(sum({w}) {has}, 0) AS W{k}",
                     f"coalesce(sum({w} * {y}), 0) AS S{k}",
                     f"coalesce(sum({w} * {d}), 0) AS Sy{k}",
                     f"coalesce(sum({w} * {d} * {d}), 0) AS Syy{k}",
                     f"coalesce(sum({w} * {w}) {has}, 0) AS W2{k}",
                     f"coalesce(sum({w} * {w} * {d}), 0) AS S2y{k}",
                     f"coalesce(sum({w} * {w} * {d} * {d}), 0) AS S2yy{k}"]
            if extra is not None:
                aggs += [f"coalesce(sum({w} * {extra[0]}), 0) AS P{k}",
                         f"coalesce(sum({w} * {extra[1]}), 0) AS D{k}"]
        if b is None:
            g, where, group = "NULL AS g", "", ""
        else:
            col = ident(b)
            nan = "" if src.is_text(b) else f" AND NOT isnan(CAST({col} AS DOUBLE))"
            g, where, group = (f"{col} AS g", f" WHERE {col} IS NOT NULL{nan}",
                               " GROUP BY g ORDER BY g")
        sums_of[b] = src.frame(f"SELECT {g}, {', '.join(aggs)} FROM {relation}{where}{group}")
    frames, empty = [], {}
    for k, ((col, category, _, extra), _) in enumerate(zip(outs, shifts, strict=True)):
        for b in bys or [None]:
            t = sums_of[b]
            sums = _Sums.from_sums(**{s: t[f"{s}{k}"].to_numpy(dtype=float) for s in _Sums.SUMS})
            est, var, s2, n, W, neff = sums.stats(N=N)
            se = np.sqrt(var)
            with np.errstate(divide="ignore", invalid="ignore"):
                deff = var / (s2 / n)
                shares = None if extra is None else (t[f"P{k}"].to_numpy() / W,
                                                     t[f"D{k}"].to_numpy() / W)
            lo, hi = _intervals(stat, est, se, z, n, deff, shares, ci)
            frame = {"variable": col, "stat": stat}
            if b is not None:
                frame["by"] = b
                frame["group"] = t["g"].tolist()
            if category is not None:
                frame["category"] = category
            frame.update({"estimate": est, "se": se, "ci_low": lo, "ci_high": hi,
                          "n": n.astype(np.int64), "n_eff": neff, "weighted_n": W,
                          "deff": deff})
            f = pd.DataFrame(frame)
            if b is not None:
                gone = f.loc[n == 0, "group"].tolist()
                if gone and (category is None or not empty.get((col, b))):
                    empty[(col, b)] = gone
                f = f[n > 0]
            frames.append(f)
    out = pd.concat(frames, ignore_index=True)
    out.attrs.update({"deff": DEFF_REFERENCE, "se": "linearization", "ci": ci, "level": level})
    if empty:
        out.attrs["empty_groups"] = {f"{c} by {b}": g for (c, b), g in empty.items()}
        warnings.warn("estimate: group(s) with no answer left out (n = 0, no estimate): "
                      + "; ".join(f"{c} by {b}: {', '.join(map(repr, g[:10]))}"
                                  for (c, b), g in empty.items()), SurveykitWarning,
                      stacklevel=3)
    return out


# ----------------------------------------------------------------------------- banner
def _columns_of(q, qid: str, available: list[str], types=None) -> list[str]:
    """The data columns of a row or banner question: its options if multi-response."""
    if (types or {}).get(qid) == "multi":
        from .._question_meta import _multi_columns

        return _multi_columns(pd.DataFrame(columns=available), qid) or [qid]
    if qid in available:
        return [qid]
    try:
        multi = q is not None and q.question(qid).type == "multi"
    except KeyError:
        multi = False
    if multi:
        options = [c for c in q.columns_of(qid) if c in available
                   and q.variables()[c].kind == "multi_option"]
        if options:
            return options
    from .._question_meta import _multi_columns

    return _multi_columns(pd.DataFrame(columns=available), qid) or [qid]


def banner_source(src: Source, relation: str, weight: str | None, rows, columns, *,
                  questionnaire=None, **options):
    """:func:`surveykit.tables.banner` on one row per distinct answer combination of each
    row question and the banner variables, with its count and sums of weights."""
    from ..errors import TableError
    from ..tables import _expand_grids, banner

    rows_l, cols_l = as_list(rows), as_list(columns)
    q = questionnaire
    types = options.get("types")
    expanded = _expand_grids(rows_l, q, _frame_of(src), types)
    banner_cols = [c for v in cols_l for c in _columns_of(q, v, src.columns, types)]
    w = "1.0" if weight is None else f"CAST({ident(weight)} AS DOUBLE)"
    sets = [list(dict.fromkeys(banner_cols + _columns_of(q, qid, src.columns, types)))
            for qid in expanded]
    keys = list(dict.fromkeys(k for ks in sets for k in ks))
    missing = [k for k in keys if k not in src.columns]
    if missing:
        raise TableError(f"column(s) {', '.join(map(repr, missing))} not in the data "
                         f"{src.path}")
    # one scan: a grouping set per row question (with the banner variables); the columns
    # outside a set are NULL in its rows, as the question is for the others
    grouping = ", ".join("(" + ", ".join(ident(k) for k in ks) + ")" for ks in sets)
    table = src.frame(f"SELECT {', '.join(ident(k) for k in keys)}, "
                      f"GROUPING_ID({', '.join(ident(k) for k in keys)}) AS __set, "
                      f"count(*) AS __m, sum({w}) AS __w, sum({w} * {w}) AS __w2 "
                      f"FROM {relation} GROUP BY GROUPING SETS ({grouping})")
    first = table[table["__set"] == table["__set"].iloc[0]]  # one set: everyone once
    sw, sw2 = float(first["__w"].sum()), float(first["__w2"].sum())
    n_eff = sw * sw / sw2 if sw2 > 0 else 0.0
    wname = weight or "__w"
    table = table.rename(columns={"__w": wname})
    return banner(table, rows_l, cols_l, weights=weight and wname, questionnaire=q,
                  _counts=(table["__m"].to_numpy(dtype=float),
                           table["__w2"].to_numpy(dtype=float), src.n, n_eff), **options)
