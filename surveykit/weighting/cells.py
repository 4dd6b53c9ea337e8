"""The cell table raking works on.

The weighting variables are factorized into one cell id per row, and the base weights
summed per cell (or per ``cell x base weight`` unit when base weights vary within cells);
each margin is resolved against those units and its targets checked against the data.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._threads import column_map
from .._util import check_columns
from ..errors import SurveykitWarning, WeightingError
from .targets import _MISSING, Margin, Targets, _norm_key, _show


@dataclass
class _Offset:
    """Integer codes stored as raw values: code = values - lo (no missing values)."""

    values: np.ndarray
    lo: int


def _encode(s: pd.Series, text_levels: list[str] | None = None,
            looked_up: np.ndarray | _Offset | None = None
            ) -> tuple[np.ndarray | _Offset, list]:
    """Integer codes (-1 = missing) and the normalized level of each code.

    ``looked_up`` are the codes of a text column found by one lookup of each value in the
    short list of ``text_levels``, the categories the targets name (:func:`_lookup_texts`:
    no hashing of the column into a dictionary); a column with a value outside the list
    has none and is factorized, so the value is still reported."""
    if looked_up is not None:
        return looked_up, list(text_levels)
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes = s.cat.codes.to_numpy().astype(np.int64)
        return codes, [_norm_key(c) for c in s.cat.categories]
    if pd.api.types.is_bool_dtype(s.dtype) and not s.hasnans:
        s = s.astype(np.int64)
    if pd.api.types.is_integer_dtype(s.dtype) and not s.hasnans:
        x = s.to_numpy(dtype=np.int64)
        if len(x):
            lo, hi = int(x.min()), int(x.max())
            if hi - lo < 2_000:  # small integer codes: the offset is the code, no sort/hash
                return _Offset(x, lo), [float(v) for v in range(lo, hi + 1)]
    if pd.api.types.is_numeric_dtype(s.dtype):
        x = s.to_numpy(dtype=float, na_value=np.nan)
        ok = ~np.isnan(x)
        if ok.any():
            lo, hi = float(x[ok].min()), float(x[ok].max())
            if np.isfinite(lo) and np.isfinite(hi) and hi - lo < 2_000:
                xi = np.where(ok, x - lo, 0.0)
                ints = xi.astype(np.int64)
                if np.array_equal(ints, xi):
                    return (np.where(ok, ints, -1),
                            [float(lo + v) for v in range(int(hi - lo) + 1)])
        codes, uniq = pd.factorize(x, sort=True, use_na_sentinel=True)
        return codes.astype(np.int64), [float(u) for u in uniq]
    codes, uniq = pd.factorize(s, sort=False, use_na_sentinel=True)
    return codes.astype(np.int64), [_norm_key(u) for u in uniq]


def _text_lookup(s: pd.Series, levels) -> bool:
    return bool(levels) and isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow"


def _lookup_texts(df: pd.DataFrame, hints: dict) -> dict:
    """:func:`_lookup_text` of every text weighting column, two at a time on threads for a
    large frame (pyarrow works without the GIL); a column whose values are not all in its
    list is left out."""
    todo = [v for v, levels in hints.items() if v in df.columns and _text_lookup(df[v], levels)]
    found = column_map(lambda v: _lookup_text(df[v], hints[v]), ((v,) for v in todo), len(df))
    return {v: codes for v, codes in zip(todo, found, strict=True) if codes is not None}


def _lookup_text(s: pd.Series, levels: list[str]) -> np.ndarray | _Offset | None:
    """Position of each value of an Arrow-backed text column in ``levels`` (-1: missing);
    None when a value is not in ``levels``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(s.array)
    found = pc.index_in(arr, value_set=pa.array(levels, type=pa.string()).cast(arr.type))
    if found.null_count != arr.null_count:
        return None
    if not found.null_count:  # no missing value: the positions are the codes (no copy)
        return _Offset(found.to_numpy(zero_copy_only=False), 0)
    return pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype(np.int64)


def _text_levels(targets: Targets, variable: str) -> list[str]:
    """The text categories that the margins (and their ``within`` groups) name for
    ``variable``, in the order written."""
    out: dict[str, None] = {}
    for m in targets.margins:
        if variable in m.variables:
            j = m.variables.index(variable)
            for key in m.targets:
                if isinstance(key[j], str):
                    out[key[j]] = None
        for v, val in m.within:
            if v == variable and isinstance(val, str):
                out[val] = None
    return list(out)


@dataclass
class _Margin:
    """A margin resolved against the units: category of each unit and target shares."""

    spec: Margin
    keys: list[tuple]              # category keys, in target order (+ missing, if held)
    cat: np.ndarray                # unit -> category index; len(keys) = outside the margin
    share: np.ndarray              # target share of each category (sums to 1)
    target_given: np.ndarray       # the target as written (percent/count), NaN if derived
    scope: np.ndarray | None       # unit in the within-group (None: every unit)
    held: bool = False             # last category is "missing", held at its sample share

    @property
    def k(self) -> int:
        return len(self.keys)


@dataclass
class _Design:
    """The small table raking works on, plus how rows map to it."""

    variables: list[str]
    levels: list[list]
    unit_codes: np.ndarray          # (units, variables) level index per variable
    m: np.ndarray                   # rows per unit
    w0: np.ndarray                  # base weight of one row in the unit
    rows: np.ndarray                # row -> key: its unit, or its cell (see unit_of)
    margins: list[_Margin] = field(default_factory=list)
    engine: str = "cells"
    n_excluded: int = 0
    pii: frozenset = frozenset()    # variables whose categories messages must not show
    unit_of: np.ndarray | None = None   # key -> unit (-1 = none); None: the key is the unit

    @property
    def row_unit(self) -> np.ndarray:
        """Row -> unit (-1 = excluded). Rows are kept as cell ids with a small cell -> unit
        table where that is exact, so that a rake that only needs the weights gathers once
        over the rows (:meth:`row_values`) instead of twice."""
        return self.rows if self.unit_of is None else self.unit_of[self.rows]

    def row_values(self, per_unit: np.ndarray, excluded: float = 0.0) -> np.ndarray:
        """``per_unit[row_unit]`` for every row, ``excluded`` for rows in no unit."""
        ext = np.append(per_unit, excluded)     # index -1 (no unit) reads ``excluded``
        if self.unit_of is not None:
            return ext[self.unit_of][self.rows]
        return ext[self.rows]

    def model_matrix(self) -> np.ndarray:
        """Unit-level calibration model: intercept + one dummy per margin category."""
        cols = [np.ones(len(self.m))]
        for mg in self.margins:
            d = np.zeros((len(self.m), mg.k + 1))
            d[np.arange(len(self.m)), mg.cat] = 1.0
            cols.extend(d[:, : mg.k].T)
            if mg.scope is not None:
                cols.append(mg.scope.astype(float))
        return np.column_stack(cols)


def _cell_ids(codes: list, sizes: list[int], n: int) -> np.ndarray:
    """Each row's cell, ``sum(code_j * stride_j)`` (int64), built in place.

    Raw integer values (:class:`_Offset`) are used as they are and their offsets subtracted
    once at the end, unless that could overflow (huge values and many cells: then each
    column's offset is taken off first). While every partial sum fits in int32 the sum is
    built in int32 (half the memory traffic) and widened once."""
    # every partial sum is at most sum_j (|lo_j| + k_j) * prod(k_l, l > j) in size
    lo = max((abs(c.lo) for c in codes if isinstance(c, _Offset)), default=0)
    bound = (lo + 1) * len(sizes) * 2 * math.prod(sizes)
    width = np.int32 if bound < 2**31 else np.int64
    raw = bound < 2**63
    cell = np.zeros(n, dtype=width)
    off = 0
    for c, k in zip(codes, sizes, strict=True):
        cell *= k
        off *= k
        if isinstance(c, _Offset):
            c, off = (c.values, off + c.lo) if raw else (c.values - c.lo, off)
        np.add(cell, c, out=cell, casting="unsafe")  # fits: see the bound above
    if off:
        cell -= off
    return cell.astype(np.int64, copy=False)


def _build_design(df: pd.DataFrame, targets: Targets, w0_rows: np.ndarray, missing: str,
                  pii=frozenset(), counts: np.ndarray | None = None,
                  uniform: bool = False) -> _Design:
    """The unit table of ``df``; ``counts``: respondents each row of ``df`` stands for (a
    table of cells, see :func:`~surveykit.weighting.rake_cells`; default one each);
    ``uniform``: the base weights are known to be all equal (none given)."""
    variables = targets.variables
    check_columns(df, variables, error=WeightingError, what="weighting variable")
    n = len(df)
    codes, levels, sizes = [], [], []
    hints = {v: _text_levels(targets, v) for v in variables}
    looked_up = _lookup_texts(df, hints)
    for v in variables:
        c, lv = _encode(df[v], hints[v], looked_up.get(v))
        if not isinstance(c, _Offset):
            miss = c < 0
            if miss.any():  # missing gets its own level index for the cell structure
                c = np.where(miss, len(lv), c)
                lv = [*lv, _MISSING]
        codes.append(c)
        levels.append(lv)
        sizes.append(len(lv))
    total_cells = math.prod(sizes)
    if total_cells < 2**62:
        cell = _cell_ids(codes, sizes, n)
    else:  # pragma: no cover - astronomically many level combinations
        cell = pd.MultiIndex.from_arrays(
            [c.values - c.lo if isinstance(c, _Offset) else c for c in codes]).factorize()[0]
    # units: cells, or (cell, base weight) pairs when base weights vary within cells
    uniform_w0 = uniform or (bool(np.all(w0_rows == w0_rows[0])) if n else True)
    small = total_cells <= 4 * n + 1_000_000
    if small:
        per_cell = np.bincount(cell, weights=counts, minlength=total_cells)
        cells = np.flatnonzero(per_cell)
        m = per_cell[cells].astype(float)
        if uniform_w0:
            w0u = np.full(len(cells), float(w0_rows[0]) if n else 1.0)
        else:  # base weights constant within every cell? then cells are still exact
            f = 1.0 if counts is None else counts
            b1 = np.bincount(cell, weights=w0_rows * f, minlength=total_cells)[cells]
            b2 = np.bincount(cell, weights=w0_rows * w0_rows * f, minlength=total_cells)[cells]
            w0u = b1 / m
            uniform_w0 = bool(np.all(np.abs(b2 * m - b1 * b1) <= 1e-12 * b1 * b1))
    if small and uniform_w0:
        unit_of = np.full(total_cells, -1, dtype=np.int64)
        unit_of[cells] = np.arange(len(cells))
        row_unit = cell            # the rows' cells; unit_of maps them to units
        engine = "cells"
    else:
        unit_of = None
        key = cell if uniform_w0 else None
        if key is None:
            wcode, wuniq = pd.factorize(w0_rows)
            if total_cells * len(wuniq) < 2**62:
                key = cell * len(wuniq) + wcode
            else:  # pragma: no cover
                key = pd.MultiIndex.from_arrays([cell, wcode]).factorize()[0]
        row_unit, ukeys = pd.factorize(key)
        row_unit = row_unit.astype(np.int64)
        m = np.bincount(row_unit, weights=counts, minlength=len(ukeys)).astype(float)
        w0u = np.zeros(len(ukeys))
        w0u[row_unit] = w0_rows
        first = np.zeros(len(ukeys), dtype=np.int64)
        first[row_unit[::-1]] = np.arange(n)[::-1]
        cells = cell[first]
        engine = "cells" if uniform_w0 else (
            "rows" if len(ukeys) > n // 2 else "cells x base weight")
    unit_codes = np.empty((len(cells), len(variables)), dtype=np.int64)
    rest = cells.copy()
    for j in range(len(variables) - 1, -1, -1):
        unit_codes[:, j] = rest % sizes[j]
        rest //= sizes[j]
    des = _Design(variables, levels, unit_codes, m, w0u, row_unit, engine=engine,
                  pii=frozenset(pii) & set(variables), unit_of=unit_of)
    excluded = np.zeros(len(m), dtype=bool)
    raw = [_resolve_margin(des, spec, missing, targets, excluded) for spec in targets.margins]
    if excluded.any():
        des.n_excluded = int(m[excluded].sum())
        keep = ~excluded
        if not keep.any():
            raise WeightingError("every row has a missing value in a weighting variable; "
                                 "nothing is left to weight")
        remap = np.full(len(m) + 1, -1, dtype=np.int64)     # [-1]: no unit stays none
        remap[:-1][keep] = np.arange(int(keep.sum()))
        if des.unit_of is not None:
            des.unit_of = remap[des.unit_of]
        else:
            des.rows = remap[des.rows]
        des.unit_codes, des.m, des.w0 = unit_codes[keep], m[keep], w0u[keep]
        for mg in raw:
            mg.cat = mg.cat[keep]
            mg.scope = None if mg.scope is None else mg.scope[keep]
    des.margins = raw
    _check_margins(des, targets)
    return des


def _resolve_margin(des: _Design, spec: Margin, missing: str, targets: Targets,
                    excluded: np.ndarray) -> _Margin:
    nu = len(des.m)
    idx = [des.variables.index(v) for v in spec.variables]
    scope = None
    if spec.within:
        scope = np.ones(nu, dtype=bool)
        for v, val in spec.within:
            j = des.variables.index(v)
            lv = des.levels[j]
            code = lv.index(val) if val in lv else -1
            scope &= des.unit_codes[:, j] == code
    in_scope = np.ones(nu, dtype=bool) if scope is None else scope
    miss_units = np.zeros(nu, dtype=bool)
    for j in idx:
        is_missing = np.array([lv is _MISSING for lv in des.levels[j]])
        miss_units |= is_missing[des.unit_codes[:, j]]
    miss_units &= in_scope
    if miss_units.any():
        if missing == "error":
            j = next(j for j in idx if any(des.levels[j][c] is _MISSING
                                           for c in des.unit_codes[miss_units, j]))
            var = des.variables[j]
            nmiss = int(des.m[miss_units].sum())
            raise WeightingError(
                f"weighting variable {var!r} has missing values in {nmiss} row(s)"
                f"{' within ' + spec.title(des.pii).split(' | ')[1] if spec.within else ''}; "
                f"choose a "
                f"policy: missing='exclude' (drop those rows from the weighting, weight 0) or "
                f"missing='own_category' (a category of its own, held at its sample share "
                f"unless the targets give it one)")
        if missing == "exclude":
            excluded |= miss_units
    keys = list(spec.targets)
    given = np.array([spec.targets[k] for k in keys], dtype=float)
    held = False
    if missing == "own_category" and miss_units.any():
        mkeys = [k for k in keys if any(x is _MISSING for x in k)]
        if not mkeys:
            held = True
            keys.append(tuple(_MISSING for _ in spec.variables))
            given = np.append(given, np.nan)
    lookup: dict[tuple, int] = {k: i for i, k in enumerate(keys)}
    combos = des.unit_codes[:, idx]
    uniq, inv = np.unique(combos, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    in_uniq = np.bincount(inv[in_scope], minlength=len(uniq)) > 0
    nrows_uniq = np.bincount(inv[in_scope], weights=des.m[in_scope], minlength=len(uniq))
    cat_of = np.full(len(uniq), len(keys), dtype=np.int64)
    for r, combo in enumerate(uniq):
        if not in_uniq[r]:
            continue
        key = tuple(des.levels[j][c] for j, c in zip(idx, combo, strict=True))
        if any(x is _MISSING for x in key):
            if held:
                cat_of[r] = len(keys) - 1
            elif missing == "own_category":
                cat_of[r] = lookup[key] if key in lookup else _no_target(spec, key,
                                                                          nrows_uniq[r], des.pii)
            continue  # excluded (or raised above)
        if key not in lookup:
            _no_target(spec, key, nrows_uniq[r], des.pii)
        cat_of[r] = lookup[key]
    cat = np.where(in_scope, cat_of[inv], len(keys))
    return _Margin(spec, keys, cat, np.zeros(len(keys)), given, scope, held)


def _no_target(spec: Margin, key: tuple, nrows: float, hide=frozenset()) -> int:
    hint = ""
    if any(isinstance(k, float) for k in key) and any(
            isinstance(c, str) and _is_number(c) for tk in spec.targets for c in tk):
        hint = (" (the targets' categories are text, e.g. '1', but the data's codes are "
                "numbers: write them without quotes)")
    raise WeightingError(
        f"margin {spec.title(hide)!r}: {spec.describe(key, hide)} has {int(nrows)} "
        f"respondent(s) but no target{hint}; add a target for it or recode / drop those rows "
        "before weighting")


def _check_margins(des: _Design, targets: Targets) -> None:
    """Target-side validation: respondents per category, sums, shares."""
    unit = targets.unit
    singles = {m.spec.variables[0]: m for m in des.margins
               if len(m.spec.variables) == 1 and not m.spec.within}
    sums = []
    for mg in des.margins:
        spec = mg.spec
        where = f"margin {spec.title(des.pii)!r}" + (f" (line {spec.line})" if spec.line else "")
        nk = np.bincount(mg.cat, weights=des.m, minlength=mg.k + 1)[: mg.k]
        given = mg.target_given
        for i, key in enumerate(mg.keys):
            if nk[i] == 0 and np.isfinite(given[i]) and given[i] > 0:
                hint = ""
                if any(isinstance(x, str) and _is_number(x) for x in key):
                    hint = " (the target's category is text; the data's codes may be numbers)"
                raise WeightingError(
                    f"{where}: target category {spec.describe(key, des.pii)} "
                    f"({given[i]:g}{'%' if unit == 'percent' else ''}) has no respondents in "
                    f"the data{hint}; remove that target or merge it with a neighbouring "
                    f"category")
            if nk[i] > 0 and given[i] == 0:
                warnings.warn(
                    f"{where}: target category {spec.describe(key, des.pii)} has a target of 0 "
                    f"but {int(nk[i])} respondent(s) in the data; they get weight 0 and drop "
                    "out of every weighted estimate. If that is meant, drop them before "
                    "weighting to say so; else give the category its population share",
                    SurveykitWarning, stacklevel=4)
        s = float(np.nansum(given))
        if s <= 0:
            raise WeightingError(f"{where}: targets sum to {s:g}; they must be positive")
        if unit == "percent" and abs(s - 100.0) > 1e-6 * 100:
            raise WeightingError(f"{where}: percent targets sum to {s:.6g}, not 100; fix them "
                                 f"or give unit: count")
        if unit == "count" and not spec.within:
            sums.append((s, where))
        if unit == "count" and spec.within and len(spec.within) == 1:
            wv, wc = spec.within[0]
            outer = singles.get(wv)
            if outer is not None and (wc,) in outer.spec.targets:
                want = outer.spec.targets[(wc,)]
                if abs(s - want) > 1e-6 * max(want, 1.0):
                    raise WeightingError(f"{where}: count targets sum to {s:.10g} but the "
                                         f"target for {wv}={_show(wc)} is {want:.10g}")
        share = np.where(np.isfinite(given), given, 0.0) / s
        if mg.held:  # missing category: keep its base-weighted sample share
            inside = mg.cat < mg.k
            b = np.bincount(mg.cat[inside], weights=(des.m * des.w0)[inside], minlength=mg.k)
            hs = b[-1] / b.sum() if b.sum() > 0 else 0.0
            share = share * (1 - hs)
            share[-1] = hs
        mg.share = share
    if sums:
        ref = sums[0][0]
        for s, where in sums[1:]:
            if abs(s - ref) > 1e-6 * ref:
                raise WeightingError(f"{where}: count targets sum to {s:.10g} but "
                                     f"{sums[0][1]} sums to {ref:.10g}; every margin must add "
                                     f"up to the same population total")
        if isinstance(targets.total, float) and abs(ref - targets.total) > 1e-6 * ref:
            raise WeightingError(f"count targets sum to {ref:.10g} but total is "
                                 f"{targets.total:.10g}")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
