"""Pieces shared by the linearisation and the replicate designs: reading design columns,
grouping codes, the per-(unit, group) sums every estimator starts from."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DesignError

LONELY_PSU = ("fail", "remove", "certainty", "adjust", "average")
_DENSE_CELLS = 1 << 23          # above this many (unit x group) cells the sums are sparse


def as_specs(spec, what: str) -> list:
    """``None`` -> ``[]``; one column name / array -> ``[it]``; a list of them -> the list."""
    if spec is None:
        return []
    if isinstance(spec, str | pd.Series | np.ndarray):
        return [spec]
    if isinstance(spec, list | tuple):
        return list(spec)
    raise DesignError(f"{what} must be a column name, an array or a list of them (one per "
                      f"stage), not {type(spec).__name__}")


def column(df: pd.DataFrame, spec, what: str) -> pd.Series:
    """A design column: a column name of ``df`` or an array / Series of ``len(df)``."""
    if isinstance(spec, str):
        if spec not in df.columns:
            raise DesignError(f"{what} column {spec!r} is not in the data; pass an existing "
                              f"column name or an array of length {len(df)}")
        s = df[spec]
    else:
        arr = spec.to_numpy() if isinstance(spec, pd.Series) else np.asarray(spec)
        if arr.ndim != 1 or len(arr) != len(df):
            raise DesignError(f"{what} has shape {arr.shape} but the data have {len(df)} rows; "
                              "pass a column name or one value per row")
        s = pd.Series(arr, index=df.index)
    miss = s.isna().to_numpy()
    if miss.any():
        row = df.index[int(np.argmax(miss))]
        name = repr(spec) if isinstance(spec, str) else "(array)"
        raise DesignError(f"{what} {name} is missing for {int(miss.sum())} row(s) (first: row "
                          f"{row!r}); every row needs a {what} value (R svydesign refuses "
                          "missing design variables too)")
    return s


def numeric_column(df: pd.DataFrame, spec, what: str) -> np.ndarray:
    s = column(df, spec, what)
    x = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(x) & ~np.isposinf(x)
    if bad.any():
        i = int(np.argmax(bad))
        raise DesignError(f"{what} must be numeric; row {df.index[i]!r} has {s.iloc[i]!r}")
    return x


def codes(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes 0..k-1 (in order of first appearance) and the level of each code."""
    c, uniq = pd.factorize(s, sort=False)
    return c.astype(np.int64), np.asarray(uniq, dtype=object)


def interact(*code_arrays: np.ndarray) -> np.ndarray:
    """Codes of the combination of several code arrays (first-appearance order)."""
    out = code_arrays[0]
    for c in code_arrays[1:]:
        key = out * (int(c.max()) + 1 if c.size else 1) + c
        out = pd.factorize(key, sort=False)[0].astype(np.int64)
    return out


def first_of(unit: np.ndarray, values: np.ndarray, n_units: int) -> np.ndarray:
    """The value of ``values`` on the first row of each unit."""
    idx = np.full(n_units, -1, dtype=np.int64)
    order = np.arange(len(unit))[::-1]
    idx[unit[order]] = order                      # last write wins: the first row
    return values[idx]


def unit_group_sums(unit: np.ndarray, n_units: int, g: np.ndarray, G: int, ok: np.ndarray,
                    values: list[np.ndarray]) -> list:
    """For each array in ``values``, its sum over the rows of each (unit, group): a dense
    ``(n_units, G)`` array, or a CSR matrix when that would be large (many units x groups)."""
    u, gg = unit[ok], g[ok]
    if n_units * G <= _DENSE_CELLS:
        key = u * G + gg
        return [np.bincount(key, v[ok], n_units * G).reshape(n_units, G) for v in values]
    from scipy import sparse

    return [sparse.csr_matrix((v[ok], (u, gg)), shape=(n_units, G)) for v in values]


def check_frame(design, df: pd.DataFrame) -> None:
    """Refuse a design made for other data (other length or index)."""
    if len(df) != design.n or not df.index.equals(design.index):
        raise DesignError(f"the design was made for other data ({design.n} rows; these have "
                          f"{len(df)}{'' if len(df) != design.n else ', another index'}); "
                          "build the design from this DataFrame")


def check_design(df: pd.DataFrame, design, error=DesignError) -> None:
    """Refuse anything but a SurveyDesign or ReplicateDesign made for ``df``, as ``error``
    (the calling module's exception type)."""
    if not hasattr(design, "_domain_variances"):
        raise error("design must be a surveykit.design.SurveyDesign or ReplicateDesign, not "
                    f"{type(design).__name__}")
    try:
        design.check(df)
    except DesignError as exc:
        if issubclass(DesignError, error):        # e.g. EstimationError: already one
            raise
        raise error(str(exc)) from exc


def design_weights(df: pd.DataFrame, design, weights=None, error=DesignError) -> np.ndarray:
    """The weights of ``design`` after :func:`check_design`; ``weights`` must be left out
    (the design was built with them)."""
    check_design(df, design, error)
    if weights is not None:
        raise error("with design=, the weights come from the design; leave weights= out "
                    "(the design was built with them)")
    return np.asarray(design.weights, dtype=float)
