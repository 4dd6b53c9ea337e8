"""Weighting targets: :class:`Targets` and :class:`Margin`, read and validated by
:func:`load_targets` from ``targets.yaml``, a mapping or a long DataFrame (format in
:mod:`surveykit.weighting`), with the file, line and margin of anything malformed."""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._util import as_list, check_columns
from ..errors import WeightingError

_MISSING = None  # normalized key of the "missing" category (YAML null, None or NaN)


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


#: What messages show instead of a category of a personal-data (pii) variable.
PII_HIDDEN = "[pii hidden]"


def _shown(variable: str, value: Any, hide) -> str:
    return PII_HIDDEN if variable in hide else _show(value)


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
        return self.title()

    def title(self, hide: frozenset | set = frozenset()) -> str:
        """The margin's name; categories of the variables in ``hide`` (personal data) are
        not shown."""
        name = " x ".join(self.variables)
        if self.within:
            name += " | " + ", ".join(f"{v}={_shown(v, c, hide)}" for v, c in self.within)
        return name

    def describe(self, key: tuple, hide: frozenset | set = frozenset()) -> str:
        """``var=code, ...`` of a category; codes of variables in ``hide`` are not shown."""
        return ", ".join(f"{v}={_shown(v, c, hide)}"
                         for v, c in zip(self.variables, key, strict=True))


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
        from ..questionnaire.loader import YAMLReadError, parse_yaml, read_yaml_text

        try:  # the one bounded YAML reader: size, nesting and alias expansion are capped
            data = parse_yaml(read_yaml_text(path))
        except YAMLReadError as exc:
            where = f"{path}:line {exc.line}: " if exc.line is not None else f"{path}: "
            raise WeightingError(f"{where}{'not valid YAML: ' if exc.syntax else ''}"
                                 f"{exc.message}") from None
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
