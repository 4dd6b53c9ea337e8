"""Raking, post-stratification and trimming of survey weights, with a weighting report.

The engine factorizes the weighting variables into one cell id per row, sums the base
weights per cell and rakes the small table of cells (or of ``cell x base weight`` units
when base weights vary within cells); final weights are mapped back to the rows with one
gather. Raking on categorical margins is exact on that table, so 1,000,000 rows cost
about as much as the few hundred cells they fall into.

Targets come from ``targets.yaml`` (:func:`load_targets`), a mapping of the same
structure, or a long DataFrame ``variable, category, target [, within_variable,
within_category]``::

    total: n            # "n": weights sum to the sample size (default); or a population size
    unit: percent       # percent (each margin sums to 100) | count
    margins:
      - variable: region
        targets: {1: 32.0, 2: 28.0, 3: 22.0, 4: 18.0}
      - variables: [age_band, gender]          # interlocked margin
        targets:
          - {age_band: 1, gender: 1, target: 10.0}
          - ...
      - variable: org_size
        within: {cust_type: 2}                 # shares within that group
        targets: {1: 55.0, 2: 30.0, 3: 15.0}
"""

from __future__ import annotations

import html
import math
import numbers
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._util import as_list, check_columns, resolve_weights
from .errors import SurveykitWarning, WeightingError
from .estimates import effective_n

__all__ = ["Margin", "Targets", "WeightingReport", "load_targets", "rake", "post_stratify",
           "trim"]

MISSING_POLICIES = ("error", "exclude", "own_category")
_MISSING = None  # normalized key of the "missing" category (YAML null, None or NaN)


# ----------------------------------------------------------------------------- targets
def _norm_key(value: Any) -> Any:
    """Comparable form of a category code: numbers as float, NaN/None as None."""
    if value is None:
        return _MISSING
    if isinstance(value, bool | np.bool_):
        return float(value)
    if isinstance(value, numbers.Number):
        f = float(value)
        return _MISSING if math.isnan(f) else f
    return str(value)


def _show(value: Any) -> str:
    """Category code as a person wrote it (1.0 -> 1)."""
    if value is None:
        return "<missing>"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass(frozen=True)
class Margin:
    """One raking margin: one variable, or several crossed ("interlocked").

    ``targets`` maps a tuple of category codes (one per variable, normalized: numbers as
    float) to its target; ``within`` restricts the margin to rows where each named
    variable has the given value, the targets then being shares within that group.
    """

    variables: tuple[str, ...]
    targets: dict[tuple, float]
    within: tuple[tuple[str, Any], ...] = ()
    line: int | None = None

    @property
    def name(self) -> str:
        name = " x ".join(self.variables)
        if self.within:
            name += " | " + ", ".join(f"{v}={_show(c)}" for v, c in self.within)
        return name

    def describe(self, key: tuple) -> str:
        return ", ".join(f"{v}={_show(c)}" for v, c in zip(self.variables, key, strict=True))


@dataclass(frozen=True)
class Targets:
    """Population targets: margins, their unit (percent | count) and the weighted total."""

    margins: tuple[Margin, ...]
    total: str | float = "n"
    unit: str = "percent"
    source: str | None = None

    @property
    def variables(self) -> list[str]:
        """Every variable the targets use (margin and ``within`` variables), in order."""
        out: list[str] = []
        for m in self.margins:
            for v in (*m.variables, *(w for w, _ in m.within)):
                if v not in out:
                    out.append(v)
        return out

    def to_frame(self) -> pd.DataFrame:
        """Long table: ``margin, variable, category, target, within_variable, within_category``."""
        rows = []
        for m in self.margins:
            for key, t in m.targets.items():
                rows.append({"margin": m.name, "variable": " x ".join(m.variables),
                             "category": ", ".join(_show(k) for k in key), "target": t,
                             "within_variable": ", ".join(v for v, _ in m.within) or None,
                             "within_category": ", ".join(_show(c) for _, c in m.within) or None})
        return pd.DataFrame(rows)


def _where(source: str | None, line: int | None, path: str) -> str:
    parts = [p for p in (source, f"line {line}" if line is not None else None) if p]
    loc = ":".join(parts)
    return f"{loc}: {path}: " if loc else f"{path}: "


def _line_of(node: Any, key: Any = None) -> int | None:
    lc = getattr(node, "lc", None)
    if lc is None:
        return None
    try:
        if key is None:
            return lc.line + 1
        if isinstance(node, list):
            return lc.item(key)[0] + 1
        return lc.key(key)[0] + 1
    except Exception:  # noqa: BLE001 - line numbers are a courtesy
        return lc.line + 1


def load_targets(source: Any, *, unit: str | None = None, total: str | float | None = None,
                 ) -> Targets:
    """Read weighting targets from ``targets.yaml``, a mapping or a long DataFrame.

    Parameters
    ----------
    source : str, PathLike, Mapping, DataFrame or Targets
        A YAML file (YAML 1.2, ruamel.yaml; ``yes``/``no`` stay strings), a mapping with the
        same structure (``margins: [...]``; a plain ``{variable: {category: target}}`` is
        also accepted), or a long DataFrame with columns ``variable, category, target``
        and optionally ``within_variable, within_category``.
    unit, total : optional
        Override the file's ``unit`` (``"percent"`` or ``"count"``) and ``total`` (``"n"``
        or a population size).

    Returns
    -------
    Targets

    Raises
    ------
    WeightingError
        Naming the file, line and margin of anything malformed.

    Examples
    --------
    >>> t = load_targets({"margins": [{"variable": "gender", "targets": {1: 48, 2: 52}}]})
    >>> t.margins[0].targets
    {(1.0,): 48.0, (2.0,): 52.0}
    """
    if isinstance(source, Targets):
        t = source
    elif isinstance(source, pd.DataFrame):
        t = _targets_from_long(source)
    elif isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.exists():
            raise WeightingError(f"targets file {str(path)!r} does not exist")
        from ruamel.yaml import YAML
        from ruamel.yaml.error import YAMLError

        try:
            data = YAML(typ="rt").load(path.read_text(encoding="utf-8"))
        except YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f" line {mark.line + 1}" if mark is not None else ""
            raise WeightingError(f"{path}:{line}: not valid YAML: "
                                 f"{getattr(exc, 'problem', exc)}") from None
        t = _targets_from_mapping(data, source=str(path))
    elif isinstance(source, Mapping):
        t = _targets_from_mapping(source, source=None)
    else:
        raise WeightingError(f"targets must be a path, a mapping, a long DataFrame or Targets, "
                             f"not {type(source).__name__}")
    if unit is not None or total is not None:
        t = Targets(t.margins, total=t.total if total is None else _check_total(total, ""),
                    unit=t.unit if unit is None else _check_unit(unit, ""), source=t.source)
    return t


def _check_unit(unit: Any, where: str) -> str:
    if unit not in ("percent", "count"):
        raise WeightingError(f"{where}unit must be 'percent' or 'count', not {unit!r}")
    return unit


def _check_total(total: Any, where: str) -> str | float:
    if isinstance(total, str) and total == "n":
        return "n"
    if isinstance(total, numbers.Number) and not isinstance(total, bool) and total > 0 \
            and math.isfinite(total):
        return float(total)
    raise WeightingError(f"{where}total must be 'n' (weights sum to the sample size) or a "
                         f"positive population size, not {total!r}")


def _target_value(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Number) \
            or not math.isfinite(float(value)) or float(value) < 0:
        raise WeightingError(f"{where}target must be a number >= 0, not {value!r}")
    return float(value)


def _targets_from_mapping(data: Any, *, source: str | None) -> Targets:
    if not isinstance(data, Mapping):
        raise WeightingError(f"{_where(source, _line_of(data), 'targets')}"
                             f"expected a mapping with 'margins', not {type(data).__name__}")
    if "margins" not in data:  # plain {variable: {category: target}}
        data = {"margins": [{"variable": k, "targets": v} for k, v in data.items()]}
    unknown = set(data) - {"margins", "total", "unit"}
    if unknown:
        names = sorted(map(str, unknown))
        where = _where(source, _line_of(data, names[0]), "targets")
        raise WeightingError(f"{where}unknown key(s) {names}; allowed: margins, total, unit")
    unit = _check_unit(data.get("unit", "percent"), _where(source, _line_of(data, "unit"), "unit"))
    total = _check_total(data.get("total", "n"), _where(source, _line_of(data, "total"), "total"))
    raw = data["margins"]
    if not isinstance(raw, Sequence) or isinstance(raw, str) or not raw:
        raise WeightingError(f"{_where(source, _line_of(data, 'margins'), 'margins')}"
                             f"expected a non-empty list of margins")
    margins = [_margin_from_mapping(m, raw, i, source) for i, m in enumerate(raw)]
    return Targets(tuple(margins), total=total, unit=unit, source=source)


def _margin_from_mapping(m: Any, parent: Any, i: int, source: str | None) -> Margin:
    line = _line_of(parent, i)
    where = _where(source, line, f"margins[{i}]")
    if not isinstance(m, Mapping):
        raise WeightingError(f"{where}expected a mapping with 'variable' and 'targets'")
    unknown = set(m) - {"variable", "variables", "targets", "within"}
    if unknown:
        raise WeightingError(f"{where}unknown key(s) {sorted(map(str, unknown))}; "
                             f"allowed: variable, variables, targets, within")
    if ("variable" in m) == ("variables" in m):
        raise WeightingError(f"{where}give exactly one of 'variable' (one name) or "
                             f"'variables' (a list, for an interlocked margin)")
    variables = as_list(m["variable"]) if "variable" in m else as_list(m["variables"])
    if not variables or not all(isinstance(v, str) and v for v in variables):
        raise WeightingError(f"{where}variable names must be non-empty strings, got {variables!r}")
    if len(set(variables)) != len(variables):
        raise WeightingError(f"{where}a variable is repeated in {variables!r}")
    within: tuple = ()
    if m.get("within") is not None:
        w = m["within"]
        if not isinstance(w, Mapping) or not w:
            raise WeightingError(f"{where}within must be a mapping like {{cust_type: 2}}")
        within = tuple((str(k), _norm_key(v)) for k, v in w.items())
        clash = set(variables) & {k for k, _ in within}
        if clash:
            raise WeightingError(f"{where}variable {sorted(clash)[0]!r} is both weighted and "
                                 f"used in 'within'")
    raw = m.get("targets")
    targets: dict[tuple, float] = {}
    tw = _where(source, _line_of(m, "targets") or line, f"margins[{i}].targets")
    if len(variables) == 1 and isinstance(raw, Mapping) and raw:
        for k, v in raw.items():
            key = (_norm_key(k),)
            kw = _where(source, _line_of(raw, k), f"margins[{i}].targets[{k!r}]")
            if key in targets:
                raise WeightingError(f"{kw}category {_show(key[0])} is given twice")
            targets[key] = _target_value(v, kw)
    elif isinstance(raw, Sequence) and not isinstance(raw, str) and raw:
        for j, row in enumerate(raw):
            kw = _where(source, _line_of(raw, j), f"margins[{i}].targets[{j}]")
            if not isinstance(row, Mapping) or "target" not in row \
                    or set(row) != {*variables, "target"}:
                got = sorted(map(str, row)) if isinstance(row, Mapping) else repr(row)
                raise WeightingError(f"{kw}each entry needs exactly the keys "
                                     f"{[*variables, 'target']}, got {got}")
            key = tuple(_norm_key(row[v]) for v in variables)
            if key in targets:
                raise WeightingError(f"{kw}category {key!r} is given twice")
            targets[key] = _target_value(row["target"], kw)
    else:
        raise WeightingError(f"{tw}expected {{category: target}} (one variable) or a list of "
                             f"{{{', '.join(variables)}, target}} rows")
    return Margin(tuple(variables), targets, within, line)


def _targets_from_long(df: pd.DataFrame) -> Targets:
    check_columns(df, ["variable", "category", "target"], error=WeightingError,
                  what="targets column")
    has_within = "within_variable" in df.columns
    groups: dict[tuple, dict] = {}
    for i, row in enumerate(df.itertuples(index=False)):
        r = row._asdict()
        var = r["variable"]
        wv = r.get("within_variable") if has_within else None
        within = ()
        if isinstance(wv, str) and wv:
            within = ((wv, _norm_key(r.get("within_category"))),)
        tg = groups.setdefault((var, within), {})
        key = (_norm_key(r["category"]),)
        where = f"targets row {i}: "
        if key in tg:
            raise WeightingError(f"{where}{var}={_show(key[0])} is given twice")
        tg[key] = _target_value(r["target"], where)
    margins = tuple(Margin((str(v),), t, w) for (v, w), t in groups.items())
    if not margins:
        raise WeightingError("the targets table is empty")
    return Targets(margins)


# ----------------------------------------------------------------------------- encoding
@dataclass
class _Offset:
    """Integer codes stored as raw values: code = values - lo (no missing values)."""

    values: np.ndarray
    lo: int


def _encode(s: pd.Series) -> tuple[np.ndarray | _Offset, list]:
    """Integer codes (-1 = missing) and the normalized level of each code."""
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
    row_unit: np.ndarray            # row -> unit (-1 = excluded)
    margins: list[_Margin] = field(default_factory=list)
    engine: str = "cells"
    n_excluded: int = 0

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


def _build_design(df: pd.DataFrame, targets: Targets, w0_rows: np.ndarray, missing: str,
                  ) -> _Design:
    variables = targets.variables
    check_columns(df, variables, error=WeightingError, what="weighting variable")
    n = len(df)
    codes, levels, sizes = [], [], []
    for v in variables:
        c, lv = _encode(df[v])
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
        # cell = sum(code_j * stride_j), built in place; raw integer values are used as
        # they are and their offsets subtracted once at the end
        cell = np.zeros(n, dtype=np.int64)
        off = 0
        for c, k in zip(codes, sizes, strict=True):
            cell *= k
            off *= k
            if isinstance(c, _Offset):
                cell += c.values
                off += c.lo
            else:
                cell += c
        if off:
            cell -= off
    else:  # pragma: no cover - astronomically many level combinations
        cell = pd.MultiIndex.from_arrays(
            [c.values - c.lo if isinstance(c, _Offset) else c for c in codes]).factorize()[0]
    # units: cells, or (cell, base weight) pairs when base weights vary within cells
    uniform_w0 = bool(np.all(w0_rows == w0_rows[0])) if n else True
    small = total_cells <= 4 * n + 1_000_000
    if small:
        counts = np.bincount(cell, minlength=total_cells)
        cells = np.flatnonzero(counts)
        m = counts[cells].astype(float)
        if uniform_w0:
            w0u = np.full(len(cells), float(w0_rows[0]) if n else 1.0)
        else:  # base weights constant within every cell? then cells are still exact
            b1 = np.bincount(cell, weights=w0_rows, minlength=total_cells)[cells]
            b2 = np.bincount(cell, weights=w0_rows * w0_rows, minlength=total_cells)[cells]
            w0u = b1 / m
            uniform_w0 = bool(np.all(np.abs(b2 * m - b1 * b1) <= 1e-12 * b1 * b1))
    if small and uniform_w0:
        lookup = np.empty(total_cells, dtype=np.int64)
        lookup[cells] = np.arange(len(cells))
        row_unit = lookup[cell]
        engine = "cells"
    else:
        key = cell if uniform_w0 else None
        if key is None:
            wcode, wuniq = pd.factorize(w0_rows)
            if total_cells * len(wuniq) < 2**62:
                key = cell * len(wuniq) + wcode
            else:  # pragma: no cover
                key = pd.MultiIndex.from_arrays([cell, wcode]).factorize()[0]
        row_unit, ukeys = pd.factorize(key)
        row_unit = row_unit.astype(np.int64)
        m = np.bincount(row_unit, minlength=len(ukeys)).astype(float)
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
    des = _Design(variables, levels, unit_codes, m, w0u, row_unit, engine=engine)
    excluded = np.zeros(len(m), dtype=bool)
    raw = [_resolve_margin(des, spec, missing, targets, excluded) for spec in targets.margins]
    if excluded.any():
        des.n_excluded = int(m[excluded].sum())
        keep = ~excluded
        if not keep.any():
            raise WeightingError("every row has a missing value in a weighting variable; "
                                 "nothing is left to weight")
        remap = np.full(len(m), -1, dtype=np.int64)
        remap[keep] = np.arange(int(keep.sum()))
        des.row_unit = np.where(row_unit >= 0, remap[row_unit], -1)
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
                f"{' within ' + spec.name.split(' | ')[1] if spec.within else ''}; choose a "
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
                                                                          nrows_uniq[r])
            continue  # excluded (or raised above)
        if key not in lookup:
            _no_target(spec, key, nrows_uniq[r])
        cat_of[r] = lookup[key]
    cat = np.where(in_scope, cat_of[inv], len(keys))
    return _Margin(spec, keys, cat, np.zeros(len(keys)), given, scope, held)


def _no_target(spec: Margin, key: tuple, nrows: float) -> int:
    hint = ""
    if any(isinstance(k, float) for k in key) and any(
            isinstance(c, str) and _is_number(c) for tk in spec.targets for c in tk):
        hint = (" (the targets' categories are text, e.g. '1', but the data's codes are "
                "numbers: write them without quotes)")
    raise WeightingError(
        f"margin {spec.name!r}: {spec.describe(key)} has {int(nrows)} respondent(s) but no "
        f"target{hint}; add a target for it or recode / drop those rows before weighting")


def _check_margins(des: _Design, targets: Targets) -> None:
    """Target-side validation: respondents per category, sums, shares."""
    unit = targets.unit
    singles = {m.spec.variables[0]: m for m in des.margins
               if len(m.spec.variables) == 1 and not m.spec.within}
    sums = []
    for mg in des.margins:
        spec = mg.spec
        where = f"margin {spec.name!r}" + (f" (line {spec.line})" if spec.line else "")
        nk = np.bincount(mg.cat, weights=des.m, minlength=mg.k + 1)[: mg.k]
        given = mg.target_given
        for i, key in enumerate(mg.keys):
            if nk[i] == 0 and np.isfinite(given[i]) and given[i] > 0:
                hint = ""
                if any(isinstance(x, str) and _is_number(x) for x in key):
                    hint = " (the target's category is text; the data's codes may be numbers)"
                raise WeightingError(
                    f"{where}: target category {spec.describe(key)} "
                    f"({given[i]:g}{'%' if unit == 'percent' else ''}) has no respondents in "
                    f"the data{hint}; remove that target or merge it with a neighbouring "
                    f"category")
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


# ----------------------------------------------------------------------------- raking
def _margin_targets(mg: _Margin, x: np.ndarray, m: np.ndarray, total: float) -> np.ndarray:
    if mg.scope is None:
        return mg.share * total
    return mg.share * float(np.dot(m[mg.scope], x[mg.scope]))


def _max_error(des: _Design, x: np.ndarray, total: float) -> tuple[float, int, int, float, float]:
    """Largest relative margin error: (error, margin, category, achieved, target)."""
    worst = (0.0, -1, -1, 0.0, 0.0)
    mx = des.m * x
    for i, mg in enumerate(des.margins):
        s = np.bincount(mg.cat, weights=mx, minlength=mg.k + 1)[: mg.k]
        t = _margin_targets(mg, x, des.m, total)
        err = np.abs(s - t) / np.where(t > 0, t, total)
        j = int(np.argmax(err))
        if err[j] > worst[0] or worst[1] < 0:
            worst = (float(err[j]), i, j, float(s[j]), float(t[j]))
    return worst


def _capped_scale(x, m, cat, k, t, lo, hi, inside):
    """Per category, the factor lam_k with sum m * clip(lam_k * x, lo, hi) = t_k.

    Plain scaling when it clips nothing (the usual case); otherwise safeguarded Newton on a
    monotone piecewise-linear function, exact once the set of clipped units is right (a
    few steps), with bisection if a step leaves the bracket.
    """
    mx = m * x
    s0 = np.bincount(cat, weights=mx, minlength=k + 1)[:k]
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = np.where(s0 > 0, t / s0, 1.0)
    ext = np.ones(k + 1)
    ext[:k] = lam
    y = ext[cat] * x
    pos = inside & (x > 0)
    if not (((y > hi) | (y < lo)) & pos).any():
        return lam
    a = np.zeros(k)
    b = np.full(k, np.inf)
    for _ in range(100):
        high = (y >= hi) & inside
        free = pos & ~high & (y > lo)
        g = np.bincount(cat, weights=m * np.clip(y, lo, hi) * pos, minlength=k + 1)[:k]
        slope = np.bincount(cat, weights=mx * free, minlength=k + 1)[:k]
        diff = g - t
        done = np.abs(diff) <= 1e-13 * np.maximum(t, 1e-300)
        if done.all():
            break
        a = np.where(diff < 0, np.maximum(a, lam), a)
        b = np.where(diff > 0, np.minimum(b, lam), b)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = lam - diff / slope
        mid = np.where(np.isfinite(b), 0.5 * (a + b), 2 * np.maximum(a, lam) + 1e-12)
        ok = (slope > 0) & (step > a) & (step < b)
        lam = np.where(done, lam, np.where(ok, step, mid))
        ext[:k] = lam
        y = ext[cat] * x
    return lam


_NEWTON_MAX_UNITS = 50_000


def _constraints(des: _Design, total: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Margin equations as ``C @ x = t`` on the units, and the dummy matrix ``D`` mapping
    per-category log factors to units (nested margins: ``share`` of the group's total)."""
    rows, rhs, dums = [], [], []
    for mg in des.margins:
        for j in range(mg.k):
            ind = (mg.cat == j).astype(float)
            dums.append(ind)
            if mg.scope is None:
                rows.append(des.m * ind)
                rhs.append(mg.share[j] * total)
            else:
                rows.append(des.m * (ind - mg.share[j] * mg.scope))
                rhs.append(0.0)
    return np.array(rows), np.array(rhs), np.array(dums).T


def _newton(des: _Design, raw: np.ndarray, total: float, bounds, err0: float,
            steps: int = 30) -> tuple[np.ndarray, float]:
    """Polish raking with Newton steps on the log margin factors (semi-smooth with caps:
    clipped units have zero derivative). Each step must lower the margin error, else it is
    halved; returns the best ``raw`` found and its error."""
    C, t, D = _constraints(des, total)
    pos = raw > 0
    lo, hi = bounds if bounds is not None else (0.0, np.inf)

    def weights(r):
        return np.where(pos, np.clip(r, lo, hi), 0.0)

    best, best_err = raw, err0
    for _ in range(steps):
        x = weights(best)
        free = pos & (best > lo) & (best < hi)
        F = C @ x - t
        J = C @ (D * (x * free)[:, None])
        try:
            delta = np.linalg.lstsq(J, -F, rcond=None)[0]
        except np.linalg.LinAlgError:  # pragma: no cover - lstsq rarely fails
            break
        step = D @ delta
        improved = False
        for _half in range(8):
            cand = best * np.exp(step)
            e = _max_error(des, weights(cand), total)[0]
            if e < best_err:
                best, best_err, improved = cand, e, True
                break
            step = step / 2
        if not improved or best_err <= 1e-15:
            break
    return best, best_err


def _rake_units(des: _Design, total: float, cap: tuple[float, float] | None, tol: float,
                max_iter: int) -> tuple[np.ndarray, int, bool]:
    """Iterative proportional fitting on the unit table; returns per-row weight of each unit.

    With caps this is bounded raking: the weight of a unit is ``clip(w0 * prod of its
    margin factors, lo, hi)`` and each margin step re-solves that margin's factors with the
    clipping taken into account (coordinate ascent on the dual of the raking distance under
    bounds). Units inside the caps therefore keep the raking form, and every step leaves
    its margin exact and the caps respected. Once close, when the unit table is small,
    Newton steps on the margin factors take the margins to machine precision.
    """
    m, w0 = des.m, des.w0
    base_total = float(np.dot(m, w0))
    raw = w0 * (total / base_total)
    inside = [mg.cat < mg.k for mg in des.margins]
    exts = [np.ones(mg.k + 1) for mg in des.margins]
    pos = raw > 0
    bounds = None
    if cap is not None:
        mean = total / float(m.sum())
        bounds = lo, hi = cap[0] * mean, cap[1] * mean
        x = np.where(pos, np.clip(raw, lo, hi), 0.0)
    else:
        x = raw
    newton = len(m) <= _NEWTON_MAX_UNITS
    next_try = 1e-3
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 - it is returned
        for mg, ins, ext in zip(des.margins, inside, exts, strict=True):
            t = _margin_targets(mg, x, m, total)
            if cap is None:
                s = np.bincount(mg.cat, weights=m * x, minlength=mg.k + 1)[: mg.k]
                with np.errstate(divide="ignore", invalid="ignore"):
                    ext[: mg.k] = np.where(s > 0, t / s, 1.0)
                x = x * ext[mg.cat]
            else:
                base = raw / ext[mg.cat]  # this margin's current factors taken out
                ext[: mg.k] = _capped_scale(base, m, mg.cat, mg.k, t, lo, hi, ins)
                raw = base * ext[mg.cat]
                x = np.where(pos, np.clip(raw, lo, hi), 0.0)
        err = _max_error(des, x, total)[0]
        if newton and (err <= next_try or err <= tol):
            cur = raw if cap is not None else x
            polished, perr = _newton(des, cur, total, bounds, err)
            if perr < err:
                if cap is not None:
                    raw = polished
                    x = np.where(pos, np.clip(raw, lo, hi), 0.0)
                    for ext in exts:  # factors now live in raw
                        ext[:] = 1.0
                else:
                    x = polished
                err = perr
            if err <= max(tol, 1e-13):
                return x, it, err <= tol
            next_try = err / 100  # Newton stalled: sweep on, try again when 100x closer
        elif err <= tol and not newton:
            return x, it, True
    return x, it, _max_error(des, x, total)[0] <= tol


def _feasible(des: _Design, total: float, cap, floor: float = 0.0) -> bool | None:
    """Can the margins hold together (within the caps)? Linear programming on the units;
    None when the table is too large to check quickly or the check itself fails."""
    if len(des.m) > 20_000:
        return None
    try:
        from scipy.optimize import linprog

        rows, rhs = [], []
        for mg in des.margins:
            for j in range(mg.k):
                r = des.m * (mg.cat == j)
                if mg.scope is None:
                    rows.append(r)
                    rhs.append(mg.share[j] * total)
                else:  # share of the group's total: r - share * group = 0
                    rows.append(r - mg.share[j] * des.m * mg.scope)
                    rhs.append(0.0)
        rows.append(des.m.copy())
        rhs.append(total)
        mean = total / float(des.m.sum())
        pos = des.w0 > 0
        low = max(cap[0] if cap else 0.0, floor) * mean
        bounds = [(low, (cap[1] * mean if cap else None)) if p else (0.0, 0.0) for p in pos]
        res = linprog(np.zeros(len(des.m)), A_eq=np.array(rows), b_eq=np.array(rhs),
                      bounds=bounds, method="highs")
    except Exception:  # noqa: BLE001 - the diagnosis is a courtesy
        return None
    if res.status == 0:
        return True
    if res.status == 2:
        return False
    return None


def _resolve_cap(cap) -> tuple[float, float] | None:
    if cap is None:
        return None
    if isinstance(cap, numbers.Number):
        lo, hi = 0.0, float(cap)
    elif isinstance(cap, Sequence) and len(cap) == 2:
        lo = 0.0 if cap[0] is None else float(cap[0])
        hi = math.inf if cap[1] is None else float(cap[1])
    else:
        raise WeightingError(f"cap must be a number (max weight / mean weight) or a pair "
                             f"(min, max), not {cap!r}")
    if not (0 <= lo < 1 < hi):
        raise WeightingError(f"cap (min, max) relative to the mean weight must satisfy "
                             f"0 <= min < 1 < max; got ({lo:g}, {hi:g})")
    return lo, hi


def _check_caps_reachable(des: _Design, total: float, cap) -> None:
    mean = total / float(des.m.sum())
    lo, hi = cap[0] * mean, cap[1] * mean
    for mg in des.margins:
        if mg.scope is not None:
            continue
        nk = np.bincount(mg.cat, weights=des.m, minlength=mg.k + 1)[: mg.k]
        t = mg.share * total
        for j in range(mg.k):
            if t[j] > hi * nk[j] * (1 + 1e-12) or t[j] < lo * nk[j] * (1 - 1e-12):
                side, bound = ("upper", hi * nk[j]) if t[j] > hi * nk[j] else ("lower",
                                                                                lo * nk[j])
                raise WeightingError(
                    f"targets cannot be reached within the caps {cap}: margin "
                    f"{mg.spec.name!r} category {mg.spec.describe(mg.keys[j])} needs a weighted "
                    f"total of {t[j]:.6g}, but its {int(nk[j])} respondent(s) all at the "
                    f"{side} cap give {bound:.6g}; widen the caps or merge categories")


# ----------------------------------------------------------------------------- report
class WeightingReport:
    """Weights and how they were made: target vs achieved, cells, efficiency.

    Attributes
    ----------
    weights : pd.Series
        Final weights aligned with the data's index, named ``"weight"`` (0 for excluded rows).
    converged : bool
    iterations : int
    efficiency : float
        Kish weighting efficiency, ``n_eff / n`` (0..1).
    n_eff : float
        Kish effective sample size of the weighted rows.
    """

    def __init__(self, weights: pd.Series, *, method: str, design: _Design | None = None,
                 total: float | None = None, unit: str = "percent", iterations: int = 0,
                 converged: bool = True, cap=None, tol: float | None = None,
                 calibrated: bool = True, unit_totals: np.ndarray | None = None):
        self.weights = weights
        self.method = method
        self.iterations = iterations
        self.converged = converged
        self.cap = cap
        self.tol = tol
        self.unit = unit
        self._design = design
        self._calibrated = calibrated and design is not None
        self._ut = unit_totals
        if design is not None and unit_totals is not None:
            # per-row weight is constant within a unit: statistics from the small table
            keep = unit_totals > 0
            m, ut = design.m[keep], unit_totals[keep]
            per = ut / m
            sw, sw2 = float(ut.sum()), float(np.dot(ut, per))
            self.total = sw if total is None else float(total)
            self.n = int(m.sum())
            self.n_eff = sw * sw / sw2 if sw2 > 0 else 0.0
            self.min = float(per.min()) if len(per) else float("nan")
            self.max = float(per.max()) if len(per) else float("nan")
        else:
            w = weights.to_numpy(dtype=float)
            used = w[w > 0]
            self.total = float(w.sum()) if total is None else float(total)
            self.n = int(len(used))
            self.n_eff = effective_n(used)
            self.min = float(used.min()) if len(used) else float("nan")
            self.max = float(used.max()) if len(used) else float("nan")
        self.efficiency = self.n_eff / self.n if self.n else float("nan")
        self.ratio = self.max / self.min if self.n else float("nan")
        self.max_error = float("nan")
        if design is not None and design.margins:
            ut = self._unit_totals()
            self.max_error = float(self._margins(ut)["error"].abs().max())

    # -- calibration structure for estimates.py (duck-typed there)
    def calibration_design(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """``(row_unit, unit_model_matrix, unit_base_weight)`` for calibration-aware SEs."""
        if not self._calibrated:
            return None
        d = self._design
        return d.row_unit, d.model_matrix(), d.w0

    def _unit_totals(self) -> np.ndarray:
        if self._ut is not None:
            return self._ut
        d = self._design
        ru = d.row_unit
        ok = ru >= 0
        return np.bincount(ru[ok], weights=self.weights.to_numpy(dtype=float)[ok],
                           minlength=len(d.m))

    def _margins(self, ut: np.ndarray) -> pd.DataFrame:
        d = self._design
        total = float(ut.sum())
        rows = []
        for mg in d.margins:
            nk = np.bincount(mg.cat, weights=d.m, minlength=mg.k + 1)[: mg.k]
            bk = np.bincount(mg.cat, weights=d.m * d.w0, minlength=mg.k + 1)[: mg.k]
            sk = np.bincount(mg.cat, weights=ut, minlength=mg.k + 1)[: mg.k]
            base = total if mg.scope is None else float(ut[mg.scope].sum())
            scale = 100.0
            for j, key in enumerate(mg.keys):
                target = mg.share[j] * scale
                achieved = sk[j] / base * scale if base > 0 else float("nan")
                rows.append({
                    "margin": mg.spec.name,
                    "variable": " x ".join(mg.spec.variables),
                    "category": ", ".join(_show(k) for k in key),
                    "n": int(nk[j]),
                    "sample_pct": nk[j] / nk.sum() * 100 if nk.sum() else float("nan"),
                    "base_pct": bk[j] / bk.sum() * 100 if bk.sum() else float("nan"),
                    "target_pct": target,
                    "achieved_pct": achieved,
                    "difference": achieved - target,
                    "error": (achieved - target) / target if target > 0 else achieved / 100,
                    "weighted_total": sk[j],
                    "mean_weight": sk[j] / nk[j] if nk[j] else float("nan"),
                })
        return pd.DataFrame(rows)

    def to_frame(self) -> pd.DataFrame:
        """Tidy table, one row per margin category: target vs achieved (percent within its
        margin), unweighted n and share, base-weighted share, weighted total, mean weight."""
        if self._design is None or not self._design.margins:
            return pd.DataFrame(columns=["margin", "variable", "category", "n", "sample_pct",
                                         "base_pct", "target_pct", "achieved_pct", "difference",
                                         "error", "weighted_total", "mean_weight"])
        return self._margins(self._unit_totals())

    @property
    def cells(self) -> pd.DataFrame:
        """One row per cell (x base weight): codes, n, base and final totals, adjustment."""
        d = self._design
        if d is None:
            return pd.DataFrame()
        out = {v: [_show(d.levels[j][c]) for c in d.unit_codes[:, j]]
               for j, v in enumerate(d.variables)}
        ut = self._unit_totals()
        bt = d.m * d.w0
        out.update({"n": d.m.astype(int), "base_weight": d.w0, "base_total": bt,
                    "weighted_total": ut})
        frame = pd.DataFrame(out)
        with np.errstate(divide="ignore", invalid="ignore"):
            frame["adjustment"] = (ut / ut.sum()) / (bt / bt.sum())
        return frame

    def summary(self) -> pd.Series:
        """Key figures: n, total, min / max / ratio, efficiency, n_eff, iterations..."""
        return pd.Series({
            "method": self.method, "n": self.n,
            "n_excluded": self._design.n_excluded if self._design else 0,
            "total": self.total, "min": self.min, "max": self.max, "ratio": self.ratio,
            "efficiency": self.efficiency, "n_eff": self.n_eff, "iterations": self.iterations,
            "converged": self.converged, "max_error": self.max_error,
            "engine": self._design.engine if self._design else None,
            "cap": self.cap,
        }, name="weighting")

    def __repr__(self) -> str:
        return (f"WeightingReport({self.method}, n={self.n}, efficiency={self.efficiency:.3f}, "
                f"n_eff={self.n_eff:.1f}, min={self.min:.4g}, max={self.max:.4g}, "
                f"iterations={self.iterations}, converged={self.converged})")

    def _repr_html_(self) -> str:
        s = self.summary()
        head = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_fmt(v))}</td></tr>"
                       for k, v in s.items() if v is not None)
        table = self.to_frame()
        body = table.to_html(index=False, float_format=lambda v: f"{v:.2f}",
                             border=0, classes="surveykit-weighting") if len(table) else ""
        return (f"<div><strong>Weighting report</strong> ({html.escape(self.method)})"
                f"<table>{head}</table>{body}</div>")


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


# ----------------------------------------------------------------------------- public API
def _base_weights(df: pd.DataFrame, base_weight) -> tuple[np.ndarray, bool]:
    if base_weight is None:
        return np.ones(len(df)), False
    w = resolve_weights(df, base_weight, error=WeightingError)
    return w, True


def rake(df: pd.DataFrame, targets: Any, *, base_weight=None, cap=None,
         total: str | float | None = None, missing: str = "error", tol: float = 1e-8,
         max_iter: int = 1000, strict: bool = True) -> WeightingReport:
    """Rake weights to population margins (iterative proportional fitting).

    Parameters
    ----------
    df : DataFrame
        One row per respondent; the weighting variables are columns (numeric codes,
        strings or categoricals). Not modified.
    targets : Targets, path, mapping or long DataFrame
        See :func:`load_targets`. Margins may be interlocked (several variables crossed)
        or nested (``within``: shares within one group).
    base_weight : str or array-like, optional
        Design weights to start from (column name or array of ``len(df)``).
    cap : float or (min, max), optional
        Bounds on the final weights relative to their mean, enforced while raking: each
        margin step clips to the bounds and spreads the remainder over unclipped units, so
        the result meets margins and caps together. ``cap=2`` means max 2x the mean.
    total : "n" or float, optional
        Sum of the weights: ``"n"`` (rows weighted, market-research convention) or a
        population size. Default: the targets' ``total``.
    missing : {"error", "exclude", "own_category"}
        Rows with a missing weighting variable: raise (default); exclude them (weight 0);
        or make "missing" a category of its own, held at its base-weighted sample share
        unless the targets give it a target (key ``null``).
    tol : float
        Convergence: largest relative error over all margin categories.
    max_iter : int
        Maximum raking sweeps.
    strict : bool
        If True (default) failure to converge raises; if False it warns and returns the
        report with ``converged=False``.

    Returns
    -------
    WeightingReport
        ``.weights`` (Series named "weight" aligned with ``df.index``), ``.to_frame()``,
        ``.cells``, ``.summary()``, ``.efficiency``, ``.n_eff``, ``.converged``,
        ``.iterations``. Pass the report itself as ``weights=`` to
        :func:`surveykit.estimates.estimate` for calibration-aware standard errors.

    Raises
    ------
    WeightingError
        Naming the margin and category: a target category with no respondents, a sample
        category with no target, targets not summing to 100 / the total, missing values
        (policy ``error``), targets unreachable together or within the caps.

    Examples
    --------
    >>> df = pd.DataFrame({"g": [1, 1, 1, 2]})
    >>> r = rake(df, {"g": {1: 50, 2: 50}})
    >>> r.weights.round(3).tolist()
    [0.667, 0.667, 0.667, 2.0]
    """
    if missing not in MISSING_POLICIES:
        raise WeightingError(f"missing must be one of {MISSING_POLICIES}, not {missing!r}")
    if not (isinstance(tol, numbers.Number) and tol > 0):
        raise WeightingError(f"tol must be a positive number, not {tol!r}")
    if not (isinstance(max_iter, numbers.Integral) and max_iter >= 1):
        raise WeightingError(f"max_iter must be a positive integer, not {max_iter!r}")
    t = load_targets(targets)
    tot_spec = t.total if total is None else _check_total(total, "")
    capr = _resolve_cap(cap)
    if len(df) == 0:
        raise WeightingError("the data have no rows to weight")
    w0, given = _base_weights(df, base_weight)
    des = _build_design(df, t, w0, missing)
    if not np.any(des.m * des.w0 > 0):
        raise WeightingError("every base weight is 0; nothing to rake")
    n_used = float(des.m.sum())
    total_v = n_used if tot_spec == "n" else float(tot_spec)
    if capr is not None:
        _check_caps_reachable(des, total_v, capr)
    x, it, conv = _rake_units(des, total_v, capr, tol, max_iter)
    weights = _row_weights(df, des, x, w0, unit_base=not given)
    report = WeightingReport(weights, method="rake", design=des, total=total_v, unit=t.unit,
                             iterations=it, converged=conv, cap=capr, tol=tol,
                             unit_totals=des.m * x)
    if not conv:
        err, i, j, got, want = _max_error(des, x, total_v)
        mg = des.margins[i]
        base = total_v if mg.scope is None else float(np.dot(des.m[mg.scope], x[mg.scope]))
        feasible = _feasible(des, total_v, capr)
        if feasible is False:
            why = ("the targets cannot be reached together within the caps "
                   f"{capr}; widen the caps or merge sparse categories" if capr else
                   "the targets cannot be reached together (they contradict each other, or "
                   "needed combinations have no respondents); check them")
        elif feasible is True and _feasible(des, total_v, capr, floor=1e-4) is False:
            why = ("the targets can only be met by giving some respondents (almost) zero "
                   "weight: a combination of categories the targets need has too few "
                   "respondents; merge sparse categories or check the targets")
        elif feasible is True:
            why = "the targets are reachable: raise max_iter"
        else:
            why = ("the targets may contradict each other"
                   f"{' or be out of reach within the caps' if capr else ''}; check them, "
                   "merge sparse categories or raise max_iter")
        msg = (f"raking did not converge in {it} iterations: margin {mg.spec.name!r} "
               f"category {mg.spec.describe(mg.keys[j])} got to {got / base * 100:.4f}% "
               f"against a target of {want / base * 100:.4f}% (relative error {err:.2e}); "
               f"{why}")
        if strict:
            raise WeightingError(msg)
        warnings.warn(msg, SurveykitWarning, stacklevel=2)
    return report


def _row_weights(df: pd.DataFrame, des: _Design, x: np.ndarray, w0: np.ndarray,
                 unit_base: bool = False) -> pd.Series:
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(des.w0 > 0, x / des.w0, 0.0)
    ru = des.row_unit
    if des.n_excluded:
        f = np.append(f, 0.0)
        ru = np.where(ru >= 0, ru, len(f) - 1)
    w = f[ru]
    if not unit_base:
        w *= w0
    return pd.Series(w, index=df.index, name="weight", copy=False)


def post_stratify(df: pd.DataFrame, targets: Any, *, variables=None, base_weight=None,
                  total: str | float | None = None, missing: str = "error") -> WeightingReport:
    """Post-stratify: weight the cells of one or more crossed variables to their targets.

    Parameters
    ----------
    df : DataFrame
    targets : Targets / path / mapping / long DataFrame with exactly one margin, or, with
        ``variables``, a mapping ``{category or tuple of categories: target}`` or a
        DataFrame with the ``variables`` as columns and a ``target`` column.
    variables : str or list of str, optional
        The crossed post-stratification variables (when ``targets`` is a plain table).
    base_weight, total, missing
        As for :func:`rake`.

    Returns
    -------
    WeightingReport

    Examples
    --------
    >>> df = pd.DataFrame({"a": [1, 1, 2, 2], "b": [1, 2, 1, 1]})
    >>> r = post_stratify(df, {(1, 1): 25, (1, 2): 25, (2, 1): 50}, variables=["a", "b"])
    >>> r.weights.tolist()
    [1.0, 1.0, 1.0, 1.0]
    """
    if variables is not None:
        vs = tuple(as_list(variables))
        if isinstance(targets, pd.DataFrame):
            check_columns(targets, [*vs, "target"], error=WeightingError, what="targets column")
            items = [(tuple(r[v] for v in vs), r["target"]) for _, r in targets.iterrows()]
        elif isinstance(targets, Mapping):
            items = [(k if isinstance(k, tuple) else (k,), v) for k, v in targets.items()]
        else:
            raise WeightingError("with variables=, targets must be a mapping or a DataFrame")
        tg: dict[tuple, float] = {}
        for k, v in items:
            if len(k) != len(vs):
                raise WeightingError(f"post-stratification key {k!r} does not have one code "
                                     f"per variable {list(vs)}")
            tg[tuple(_norm_key(x) for x in k)] = _target_value(v, f"target {k!r}: ")
        unit = "percent" if abs(sum(tg.values()) - 100) <= 1e-4 else "count"
        t = Targets((Margin(vs, tg),), unit=unit)
    else:
        t = load_targets(targets)
        if len(t.margins) != 1 or t.margins[0].within:
            raise WeightingError(f"post_stratify needs exactly one margin (cross the "
                                 f"variables: variables: [a, b]); got {len(t.margins)}")
    rep = rake(df, t, base_weight=base_weight, total=total, missing=missing, max_iter=5)
    rep.method = "post-stratification"
    return rep


def trim(df: pd.DataFrame, weights, *, upper: float | None = None, lower: float | None = None,
         relative: bool = True, strict: bool = False) -> WeightingReport:
    """Trim weights to bounds and spread what was cut evenly over the untrimmed rows.

    Same rule as R ``survey::trimWeights``: weights outside ``[lower, upper]`` are set to
    the bound and the total trimmed is added in equal amounts to the other rows, so the
    sum of the weights is kept. With ``strict=True`` this repeats until no weight is out
    of bounds. Margins are not re-raked (use ``rake(..., cap=...)`` for that); when
    ``weights`` is a :class:`WeightingReport`, the new report shows how far trimming moved
    the achieved margins.

    Parameters
    ----------
    df : DataFrame
    weights : str, array-like, Series or WeightingReport
    upper, lower : float, optional
        Bounds; multiples of the mean weight if ``relative`` (default), else absolute.
    relative : bool
    strict : bool

    Returns
    -------
    WeightingReport

    Examples
    --------
    >>> df = pd.DataFrame({"x": range(4)})
    >>> w = trim(df, [1.0, 1.0, 1.0, 5.0], upper=2.0).weights  # bound: 2 x mean 2 = 4
    >>> w.round(3).tolist()
    [1.333, 1.333, 1.333, 4.0]
    """
    design = None
    if isinstance(weights, WeightingReport):
        if len(weights.weights) != len(df):
            raise WeightingError("the WeightingReport was made for data of another length")
        design = weights._design
        weights = weights.weights.to_numpy()
    w = resolve_weights(df, weights, error=WeightingError).copy()
    if upper is None and lower is None:
        raise WeightingError("give upper and/or lower bounds to trim to")
    mean = w.mean() if relative else 1.0
    hi = math.inf if upper is None else float(upper) * mean
    lo = -math.inf if lower is None else float(lower) * mean
    if not lo < hi:
        raise WeightingError(f"lower ({lower}) must be below upper ({upper})")
    for _ in range(10_000):
        outside = (w < lo) | (w > hi)
        if not outside.any():
            break
        new = np.clip(w, lo, hi)
        if outside.all():
            raise WeightingError("every weight is outside the trimming bounds; widen them")
        new[~outside] += (w - new).sum() / float((~outside).sum())
        w = new
        if not strict:
            break
    return WeightingReport(pd.Series(w, index=df.index, name="weight"), method="trim",
                           design=design, calibrated=False,
                           cap=(lower, upper))
