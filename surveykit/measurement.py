"""Scales and factors: reliability, suitability, parallel analysis, EFA, CFA and scores.

Every function takes a plain DataFrame and a list of item columns. Reverse-keyed items are
declared with ``reverse=[...]`` and re-coded ``x' = min + max - x`` with the scale's
``scale_range=(min, max)`` (or a dict ``{item: (min, max)}``). Weights follow the package
rule (``None``, a column name, or an array). Missing data follow a *declared* policy:
``missing="listwise"`` (complete rows only) or ``missing="pairwise"`` (each correlation from
the rows where both items are present); nothing is ever imputed.

The numbers match R: ``psych`` (alpha, omega, KMO, Bartlett, fa, fa.parallel) and
``lavaan`` (CFA); the fixtures and the R scripts that made them are under
``tests/fixtures/r_psych`` and ``tests/fixtures/r_lavaan``.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ._util import as_list, check_columns, resolve_weights
from .errors import MeasurementError, SurveykitWarning
from .estimates import effective_n

__all__ = [
    "HeywoodWarning", "ItemWarning",
    "weighted_corr", "reliability", "kmo", "bartlett", "parallel_analysis", "efa", "cfa",
    "construct_scores", "reliability_table", "from_questionnaire",
    "ReliabilityResult", "KMOResult", "BartlettResult", "ParallelResult", "EFAResult",
    "CFAResult",
]

Missing = Literal["listwise", "pairwise"]
ScaleRange = tuple[float, float] | Mapping[str, tuple[float, float]] | None
_ROTATIONS = {"none": None, "varimax": "varimax", "oblimin": "oblimin", "promax": "promax"}
_OBLIQUE = {"oblimin", "promax"}
_PSI_LOWER = 0.005          # psych's and factor_analyzer's lower bound for uniquenesses


class HeywoodWarning(SurveykitWarning):
    """A communality >= 1 or a uniqueness <= 0 (an improper solution)."""


class ItemWarning(SurveykitWarning):
    """An item behaves oddly (negative item-rest correlation, non-positive-definite matrix)."""


# --------------------------------------------------------------------------------------------
# shared helpers
# --------------------------------------------------------------------------------------------

class _Result:
    """Notebook display shared by the result objects: a title and ``to_frame()`` as HTML."""

    _title = "result"

    def to_frame(self) -> pd.DataFrame:  # pragma: no cover - overridden
        raise NotImplementedError

    def summary(self) -> str:
        return f"{self._title}\n{self.to_frame().to_string()}"

    def _repr_html_(self) -> str:
        return f"<h4>{self._title}</h4>" + self.to_frame().to_html(float_format="%.3f")

    def __repr__(self) -> str:
        return self.summary()


def _scale_bounds(item: str, scale_range: ScaleRange) -> tuple[float, float]:
    if scale_range is None:
        raise MeasurementError(
            f"item {item!r} is reverse keyed but no scale_range was given; pass "
            f"scale_range=(min, max) (or a dict per item) so it can be re-coded as min + max - x")
    if isinstance(scale_range, Mapping):
        if item not in scale_range:
            raise MeasurementError(f"scale_range has no entry for reverse-keyed item {item!r}; "
                                   f"add {item!r}: (min, max)")
        lo, hi = scale_range[item]
    else:
        lo, hi = scale_range
    lo, hi = float(lo), float(hi)
    if not lo < hi:
        raise MeasurementError(f"scale_range for {item!r} must be (min, max) with min < max, "
                               f"got {(lo, hi)!r}")
    return lo, hi


def _item_matrix(df: pd.DataFrame, items, *, reverse=None, scale_range: ScaleRange = None,
                 min_items: int = 2, what: str = "items") -> tuple[list[str], np.ndarray]:
    """Validated float matrix of ``items`` (reverse keyed), NaN for missing."""
    if not isinstance(df, pd.DataFrame):
        raise MeasurementError(f"expected a pandas DataFrame, got {type(df).__name__}")
    items = as_list(items)
    if len(set(items)) != len(items):
        dup = sorted({c for c in items if items.count(c) > 1})
        raise MeasurementError(f"{what} listed twice: {', '.join(map(repr, dup))}")
    if len(items) < min_items:
        raise MeasurementError(
            f"{what} {items!r} has {len(items)} item(s); at least {min_items} are needed "
            f"(a one-item construct has no reliability or factor structure)")
    check_columns(df, items, error=MeasurementError, what="item")
    reverse = as_list(reverse)
    unknown = [c for c in reverse if c not in items]
    if unknown:
        raise MeasurementError(f"reverse-keyed item(s) {', '.join(map(repr, unknown))} are not "
                               f"among the {what} {items!r}")
    cols = []
    for c in items:
        s = df[c]
        if not (pd.api.types.is_numeric_dtype(s) or s.isna().all()):
            v = pd.to_numeric(s, errors="coerce")
            if v.notna().sum() < s.notna().sum():
                raise MeasurementError(f"item {c!r} holds non-numeric values (e.g. "
                                       f"{s[v.isna() & s.notna()].iloc[0]!r}); recode it first")
            s = v
        x = s.to_numpy(dtype=float, na_value=np.nan).copy()
        x[~np.isfinite(x)] = np.nan
        obs = x[~np.isnan(x)]
        if obs.size == 0:
            raise MeasurementError(f"item {c!r} has no non-missing values; drop it from the list")
        if np.ptp(obs) == 0:
            raise MeasurementError(f"item {c!r} is constant (every answer is {obs[0]:g}); it "
                                   f"carries no information: drop it from the list")
        if c in reverse:
            lo, hi = _scale_bounds(c, scale_range)
            if obs.min() < lo or obs.max() > hi:
                raise MeasurementError(
                    f"item {c!r} has values outside its scale_range {(lo, hi)} (observed "
                    f"{obs.min():g}..{obs.max():g}); fix the range or clean the item")
            x = lo + hi - x
        cols.append(x)
    return items, np.column_stack(cols)


def _weighted_moments(X: np.ndarray, w: np.ndarray, missing: str):
    """Weighted covariance (divisor sum w), correlation, n and Kish n_eff.

    ``listwise``: complete rows only. ``pairwise``: every entry from the rows where both
    items are present (means and variances within the pair, as R's ``cor(use="pairwise")``).
    Returns ``cov, corr, n, n_eff, rows`` (``rows`` = boolean mask of rows used, listwise
    only; ``None`` for pairwise).
    """
    if missing not in ("listwise", "pairwise"):
        raise MeasurementError(f"missing={missing!r}; use 'listwise' or 'pairwise' "
                               f"(missing values are never imputed)")
    obs = ~np.isnan(X) & (w > 0)[:, None]
    if missing == "listwise":
        rows = obs.all(axis=1)
        n = int(rows.sum())
        if n < 3:
            raise MeasurementError(f"only {n} complete row(s) with positive weight; listwise "
                                   f"deletion leaves too little data (try missing='pairwise')")
        Xr, wr = X[rows], w[rows]
        m = wr @ Xr / wr.sum()
        D = Xr - m
        cov = (D * wr[:, None]).T @ D / wr.sum()
        sd = np.sqrt(np.diag(cov))
        return cov, cov / np.outer(sd, sd), n, effective_n(wr), rows
    M = obs.astype(float)
    X0 = np.where(obs, X, 0.0)
    Mw = M * w[:, None]
    Sw = Mw.T @ M                                 # sum of w over rows where j and k present
    cnt = M.T @ M
    Sw2 = (M * (w ** 2)[:, None]).T @ M
    if (cnt < 3).any():
        j, k = np.argwhere(cnt < 3)[0]
        raise MeasurementError(f"items {j} and {k} are answered together by fewer than 3 "
                               f"respondents; pairwise correlations are not possible")
    Sx = (X0 * w[:, None]).T @ M                  # [j, k]: sum w x_j over rows with j and k
    Sxx = (X0 ** 2 * w[:, None]).T @ M
    Sxy = (X0 * w[:, None]).T @ X0
    mj = Sx / Sw                                  # mean of j within pair (j, k)
    vj = Sxx / Sw - mj ** 2
    cov = Sxy / Sw - mj * mj.T
    vj = np.maximum(vj, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = cov / np.sqrt(vj * vj.T)
    np.fill_diagonal(corr, 1.0)
    cov_out = cov.copy()                          # diagonal = variance from every answer
    np.fill_diagonal(cov_out, np.diag(vj))
    neff = float(np.min(Sw ** 2 / Sw2))
    return cov_out, corr, int(cnt.min()), neff, None


def _prepare(df, items, *, weights, missing, reverse, scale_range, min_items=2, what="items"):
    items, X = _item_matrix(df, items, reverse=reverse, scale_range=scale_range,
                            min_items=min_items, what=what)
    w = resolve_weights(df, weights, error=MeasurementError)
    cov, corr, n, neff, rows = _weighted_moments(X, w, missing)
    if not np.isfinite(corr).all():
        raise MeasurementError("a correlation could not be computed (an item is constant "
                               "within the rows it shares with another); check the items")
    return items, X, w, cov, corr, n, neff, rows


def _check_pd(R: np.ndarray, items: list[str], context: str) -> None:
    ev = np.linalg.eigvalsh(R)
    if ev.min() < 1e-10:
        # name the items in the near-dependency (largest weights of the smallest eigenvector)
        vals, vecs = np.linalg.eigh(R)
        v = np.abs(vecs[:, 0])
        names = [items[i] for i in np.argsort(-v) if v[i] > 0.1][:6]
        raise MeasurementError(
            f"the correlation matrix for {context} is singular or not positive definite "
            f"(smallest eigenvalue {ev.min():.2e}); items {', '.join(map(repr, names))} are "
            f"(almost) linearly dependent: drop one, or use missing='listwise'")


def _is_questionnaire(obj) -> bool:
    return hasattr(obj, "construct_items") and hasattr(obj, "constructs")


def from_questionnaire(questionnaire, constructs: Sequence[str] | None = None) -> dict:
    """What a questionnaire declares about its constructs, as keyword arguments.

    Returns ``{"model": {id: items}, "reverse": [...], "scale_range": {item: (low, high)},
    "min_items": {id: n}, "labels": {id: label}}`` for the ``constructs`` named (default:
    all). Reverse keys come from the construct and from ``reverse: true`` grid items; scale
    ranges from each item's scale.
    """
    ids = [c.id for c in questionnaire.constructs]
    if not ids:
        raise MeasurementError(f"questionnaire {questionnaire.id!r} declares no constructs")
    wanted = ids if constructs is None else as_list(constructs)
    unknown = [c for c in wanted if c not in ids]
    if unknown:
        raise MeasurementError(f"construct(s) {', '.join(map(repr, unknown))} are not in "
                               f"questionnaire {questionnaire.id!r}; it has {ids}")
    model, reverse, ranges, min_items, labels = {}, [], {}, {}, {}
    for c in questionnaire.constructs:
        if c.id not in wanted:
            continue
        items, rev = questionnaire.construct_items(c.id)
        model[c.id] = items
        reverse += [i for i in rev if i not in reverse]
        min_items[c.id] = c.required_items
        labels[c.id] = c.label
        for i in items:
            sc = questionnaire.scale_of(i)
            if sc is not None:
                ranges[i] = (sc.low, sc.high)
    return {"model": model, "reverse": reverse, "scale_range": ranges or None,
            "min_items": min_items, "labels": labels}


def reliability_table(df: pd.DataFrame, constructs, *, weights=None,
                      missing: Missing = "listwise", reverse=None,
                      scale_range: ScaleRange = None) -> pd.DataFrame:
    """One row of reliability per construct, from a dict ``{name: [items]}`` or a questionnaire.

    Columns: ``construct, label, n_items, alpha, std_alpha, omega_total, n, n_eff,
    weakest_item`` (lowest item-rest r), ``weakest_item_rest_r``, ``alpha_if_deleted``
    (alpha without the weakest item). With a questionnaire, its reverse keys and scale
    ranges are used unless given here.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=200)
    >>> d = pd.DataFrame({f"x{i}": f + rng.normal(size=200) for i in range(3)})
    >>> reliability_table(d, {"X": ["x0", "x1", "x2"]})["n_items"].tolist()
    [3]
    """
    labels: dict = {}
    if _is_questionnaire(constructs):
        spec = from_questionnaire(constructs)
        constructs, labels = spec["model"], spec["labels"]
        reverse = spec["reverse"] if reverse is None else reverse
        scale_range = spec["scale_range"] if scale_range is None else scale_range
    if not isinstance(constructs, Mapping) or not constructs:
        raise MeasurementError("constructs must be a dict {name: [items]} or a questionnaire")
    rows = []
    rev = as_list(reverse)
    for name, its in constructs.items():
        its = as_list(its)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ItemWarning)
            r = reliability(df, its, reverse=[c for c in rev if c in its],
                            scale_range=scale_range, weights=weights, missing=missing,
                            name=str(name))
        t = r.item_table
        weakest = t["item_rest_r"].idxmin()
        rows.append({"construct": name, "label": labels.get(name, str(name)),
                     "n_items": len(its), "alpha": r.alpha, "std_alpha": r.std_alpha,
                     "omega_total": r.omega_total, "n": r.n, "n_eff": r.n_eff,
                     "weakest_item": weakest,
                     "weakest_item_rest_r": t.loc[weakest, "item_rest_r"],
                     "alpha_if_deleted": t.loc[weakest, "alpha_if_deleted"]})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# correlations
# --------------------------------------------------------------------------------------------

def weighted_corr(df: pd.DataFrame, items: Sequence[str], *, weights=None,
                  missing: Missing = "pairwise", reverse=None, scale_range: ScaleRange = None,
                  cov: bool = False) -> pd.DataFrame:
    """Weighted Pearson correlation (or covariance) matrix of ``items``.

    Parameters
    ----------
    df : DataFrame
        One row per respondent.
    items : list of str
        Item columns (numeric codes; NaN = missing).
    weights : None, str or array-like
        Respondent weights.
    missing : {"pairwise", "listwise"}
        Missing-data policy; values are never imputed.
    reverse, scale_range
        Reverse-keyed items and the scale's ``(min, max)`` for re-coding.
    cov : bool
        Return the covariance matrix (divisor = sum of weights) instead.

    Returns
    -------
    DataFrame
        Square matrix indexed by item. Unweighted, it equals R's ``cor(x, use=...)``;
        weighted, R's ``cov.wt(x, wt, cor=TRUE)``.

    Examples
    --------
    >>> d = pd.DataFrame({"a": [1, 2, 3, 4], "b": [1, 3, 2, 4]})
    >>> float(weighted_corr(d, ["a", "b"]).loc["a", "b"])
    0.8
    """
    items, _, _, C, R, *_ = _prepare(df, items, weights=weights, missing=missing,
                                     reverse=reverse, scale_range=scale_range)
    return pd.DataFrame(C if cov else R, index=items, columns=items)


# --------------------------------------------------------------------------------------------
# reliability
# --------------------------------------------------------------------------------------------

def _alpha(C: np.ndarray) -> float:
    p = C.shape[0]
    return p / (p - 1) * (1.0 - np.trace(C) / C.sum())


def _std(C: np.ndarray) -> np.ndarray:
    sd = np.sqrt(np.diag(C))
    return C / np.outer(sd, sd)


def _minres(R: np.ndarray, n_factors: int, method: str = "minres") -> np.ndarray:
    """Unrotated loadings by factor_analyzer (minres / ml) on a correlation matrix."""
    from factor_analyzer import FactorAnalyzer

    fa = FactorAnalyzer(n_factors=n_factors, rotation=None, method=method,
                        is_corr_matrix=True, use_smc=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fa.fit(R.copy())
    L = np.asarray(fa.loadings_, dtype=float)
    return L * np.where(L.sum(axis=0) < 0, -1.0, 1.0)


def _omega_total(R: np.ndarray) -> float:
    """McDonald's omega total as psych::omega(nfactors=1): (sum R - sum u2) / sum R."""
    if R.shape[0] < 3:
        return float("nan")
    L = _one_factor_minres(R)
    u2 = 1.0 - (L ** 2).sum(axis=1)
    return float((R.sum() - u2.sum()) / R.sum())


@dataclass(repr=False)
class ReliabilityResult(_Result):
    """Reliability of one construct (see :func:`reliability`)."""

    construct: str
    items: list[str]
    reversed_items: list[str]
    alpha: float
    std_alpha: float
    omega_total: float
    n: int
    n_eff: float
    missing: str
    item_table: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def _title(self) -> str:  # type: ignore[override]
        return (f"Reliability of {self.construct}: alpha {self.alpha:.3f}, omega "
                f"{self.omega_total:.3f} (n = {self.n}, n_eff = {self.n_eff:.0f})")

    def to_frame(self) -> pd.DataFrame:
        """One row: construct, n_items, alpha, std_alpha, omega_total, n, n_eff."""
        return pd.DataFrame([{
            "construct": self.construct, "n_items": len(self.items), "alpha": self.alpha,
            "std_alpha": self.std_alpha, "omega_total": self.omega_total, "n": self.n,
            "n_eff": self.n_eff, "missing": self.missing}])

    def summary(self) -> str:
        return f"{self._title}\n{self.item_table.to_string(float_format=lambda v: f'{v:.3f}')}"

    def _repr_html_(self) -> str:
        return f"<h4>{self._title}</h4>" + self.item_table.to_html(float_format="%.3f")


def reliability(df: pd.DataFrame, items: Sequence[str], *, reverse=None,
                scale_range: ScaleRange = None, weights=None, missing: Missing = "listwise",
                name: str | None = None) -> ReliabilityResult:
    """Cronbach's alpha (raw, standardized), alpha if item deleted, item-rest r, omega total.

    Parameters
    ----------
    df : DataFrame
        One row per respondent.
    items : list of str
        The construct's items (at least 2; omega needs 3).
    reverse : list of str, optional
        Reverse-keyed items, re-coded ``min + max - x`` before anything else.
    scale_range : (min, max) or dict, optional
        The rating scale's end points; required when ``reverse`` is given.
    weights : None, str or array-like
        Respondent weights (weighted covariance matrix).
    missing : {"listwise", "pairwise"}
        Missing-data policy.
    name : str, optional
        Construct name used in the output.

    Returns
    -------
    ReliabilityResult
        ``alpha`` (raw), ``std_alpha``, ``omega_total`` and ``item_table`` with, per item,
        ``mean, sd, item_total_r, item_rest_r, alpha_if_deleted, std_alpha_if_deleted``.
        Equal to R ``psych::alpha`` (raw_alpha, std.alpha, alpha.drop, raw.r, r.drop) and
        ``psych::omega(nfactors=1)$omega.tot``.

    Warns
    -----
    ItemWarning
        When an item correlates negatively with the rest (a missing reverse key?).

    Examples
    --------
    >>> d = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [2, 2, 3, 5, 5], "c": [1, 3, 3, 4, 4]})
    >>> round(reliability(d, ["a", "b", "c"]).alpha, 3)
    0.954
    """
    items, X, w, C, R, n, neff, rows = _prepare(df, items, weights=weights, missing=missing,
                                                reverse=reverse, scale_range=scale_range,
                                                what="construct")
    p = len(items)
    if missing == "listwise":
        sub_w = w[rows]
        means = sub_w @ X[rows] / sub_w.sum()
    else:
        ok = ~np.isnan(X)
        means = np.array([np.average(X[ok[:, j], j], weights=w[ok[:, j]]) if w[ok[:, j]].sum()
                          else np.nan for j in range(p)])
    sd = np.sqrt(np.diag(C))
    total = C.sum()
    rowsum = C.sum(axis=1)
    item_total = rowsum / np.sqrt(np.diag(C) * total)
    rest_var = total - 2 * rowsum + np.diag(C)
    item_rest = (rowsum - np.diag(C)) / np.sqrt(np.diag(C) * rest_var)
    a_drop, s_drop = [], []
    for j in range(p):
        keep = [k for k in range(p) if k != j]
        Cj = C[np.ix_(keep, keep)]
        a_drop.append(_alpha(Cj) if len(keep) > 1 else np.nan)
        s_drop.append(_alpha(_std(Cj)) if len(keep) > 1 else np.nan)
    rev = as_list(reverse)
    table = pd.DataFrame({
        "item": items, "reversed": [c in rev for c in items], "mean": means, "sd": sd,
        "item_total_r": item_total, "item_rest_r": item_rest,
        "alpha_if_deleted": a_drop, "std_alpha_if_deleted": s_drop}).set_index("item")
    neg = [c for c, r in zip(items, item_rest, strict=True) if r < 0]
    if neg:
        warnings.warn(f"item(s) {', '.join(map(repr, neg))} correlate negatively with the rest "
                      f"of the construct; are they reverse keyed? (pass reverse=[...])",
                      ItemWarning, stacklevel=2)
    return ReliabilityResult(
        construct=name or "+".join(items), items=items, reversed_items=rev,
        alpha=float(_alpha(C)), std_alpha=float(_alpha(R)), omega_total=_omega_total(R),
        n=n, n_eff=float(neff), missing=missing, item_table=table)


# --------------------------------------------------------------------------------------------
# suitability
# --------------------------------------------------------------------------------------------

def _kaiser_label(v: float) -> str:
    for cut, label in ((0.9, "marvelous"), (0.8, "meritorious"), (0.7, "middling"),
                       (0.6, "mediocre"), (0.5, "miserable")):
        if v >= cut:
            return label
    return "unacceptable"


@dataclass(repr=False)
class KMOResult(_Result):
    """Kaiser-Meyer-Olkin measure of sampling adequacy (see :func:`kmo`)."""

    overall: float
    items: pd.DataFrame
    n: int

    @property
    def _title(self) -> str:  # type: ignore[override]
        return f"KMO = {self.overall:.3f} ({_kaiser_label(self.overall)}), n = {self.n}"

    def to_frame(self) -> pd.DataFrame:
        """Per-item MSA with Kaiser's label, plus an ``overall`` row."""
        out = self.items.copy()
        out.loc["overall"] = [self.overall, _kaiser_label(self.overall)]
        return out


def kmo(df: pd.DataFrame, items: Sequence[str], *, weights=None,
        missing: Missing = "pairwise", reverse=None,
        scale_range: ScaleRange = None) -> KMOResult:
    """Kaiser-Meyer-Olkin sampling adequacy, overall and per item (R ``psych::KMO``).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=300)
    >>> d = pd.DataFrame({f"x{i}": f + rng.normal(size=300) for i in range(4)})
    >>> kmo(d, list(d)).overall > 0.7
    True
    """
    items, _, _, _, R, n, *_ = _prepare(df, items, weights=weights, missing=missing,
                                        reverse=reverse, scale_range=scale_range)
    _check_pd(R, items, "kmo")
    Ri = np.linalg.inv(R)
    d = np.sqrt(np.diag(Ri))
    A = -Ri / np.outer(d, d)
    off = ~np.eye(len(items), dtype=bool)
    r2 = np.where(off, R ** 2, 0.0)
    a2 = np.where(off, A ** 2, 0.0)
    msa_i = r2.sum(axis=0) / (r2.sum(axis=0) + a2.sum(axis=0))
    overall = float(r2.sum() / (r2.sum() + a2.sum()))
    table = pd.DataFrame({"msa": msa_i, "label": [_kaiser_label(v) for v in msa_i]},
                         index=pd.Index(items, name="item"))
    return KMOResult(overall=overall, items=table, n=n)


@dataclass(repr=False)
class BartlettResult(_Result):
    """Bartlett's test of sphericity (see :func:`bartlett`)."""

    chi2: float
    df: int
    p: float
    n: float
    n_basis: str

    @property
    def _title(self) -> str:  # type: ignore[override]
        return (f"Bartlett's test of sphericity: chi2({self.df}) = {self.chi2:.2f}, "
                f"p = {self.p:.3g} (n = {self.n:.0f}, {self.n_basis})")

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"chi2": self.chi2, "df": self.df, "p": self.p, "n": self.n,
                              "n_basis": self.n_basis}])


def bartlett(df: pd.DataFrame, items: Sequence[str], *, weights=None,
             missing: Missing = "pairwise", reverse=None,
             scale_range: ScaleRange = None) -> BartlettResult:
    """Bartlett's test that the correlation matrix is an identity (R ``psych::cortest.bartlett``).

    ``chi2 = -(n - 1 - (2p + 5) / 6) * log|R|`` with ``p(p-1)/2`` degrees of freedom. ``n`` is
    the number of respondents used (smallest pairwise base under ``missing="pairwise"``), or
    Kish's effective n when weights are given.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=300)
    >>> d = pd.DataFrame({f"x{i}": f + rng.normal(size=300) for i in range(4)})
    >>> bartlett(d, list(d)).p < 0.001
    True
    """
    items, _, _, _, R, n, neff, _ = _prepare(df, items, weights=weights, missing=missing,
                                             reverse=reverse, scale_range=scale_range)
    _check_pd(R, items, "bartlett")
    p = len(items)
    nb, basis = (float(n), "respondents") if weights is None else (float(neff), "Kish n_eff")
    chi2 = -(nb - 1 - (2 * p + 5) / 6) * np.linalg.slogdet(R)[1]
    dof = p * (p - 1) // 2
    return BartlettResult(chi2=float(chi2), df=dof, p=float(stats.chi2.sf(chi2, dof)), n=nb,
                          n_basis=basis)


# --------------------------------------------------------------------------------------------
# number of factors
# --------------------------------------------------------------------------------------------

def _one_factor_minres(R: np.ndarray) -> np.ndarray:
    """One-factor minres loadings with an analytic gradient (fast path for parallel analysis).

    The objective is factor_analyzer's (and psych's) minres criterion as a function of the
    uniquenesses ``psi``: the sum of squared eigenvalues of ``R - diag(psi)`` beyond the
    first, whose gradient is ``-2 sum_i lambda_i v_ij^2``; bounded L-BFGS-B from the SMC
    start, 0.005 <= psi <= 1. Same solution as factor_analyzer (to ~1e-7), ~15x faster.
    """
    p = R.shape[0]
    try:
        start = np.clip(1.0 / np.diag(np.linalg.inv(R)), _PSI_LOWER, 1.0)
    except np.linalg.LinAlgError:
        start = np.full(p, 0.5)

    def f(psi):
        Rp = R.copy()
        np.fill_diagonal(Rp, 1.0 - psi)
        ev, V = np.linalg.eigh(Rp)
        rest, Vr = ev[:-1], V[:, :-1]
        return float(rest @ rest), -2.0 * (Vr ** 2) @ rest

    res = optimize.minimize(f, start, jac=True, method="L-BFGS-B",
                            bounds=[(_PSI_LOWER, 1.0)] * p)
    Rp = R.copy()
    np.fill_diagonal(Rp, 1.0 - res.x)
    ev, V = np.linalg.eigh(Rp)
    lam = V[:, -1] * math.sqrt(max(ev[-1], 0.0))
    return (lam * (1 if lam.sum() >= 0 else -1))[:, None]


def _one_thread():
    """Single-threaded BLAS for the many tiny matrices of a simulation (threads only cost)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return contextlib.nullcontext()
    return threadpool_limits(1)


def _fa_values(R: np.ndarray) -> np.ndarray:
    """psych's ``fa(R, nfactors=1)$values``: eigenvalues with communalities on the diagonal."""
    L = _one_factor_minres(R)
    Rr = R.copy()
    np.fill_diagonal(Rr, (L ** 2).sum(axis=1))
    return np.sort(np.linalg.eigvalsh(Rr))[::-1]


@dataclass(repr=False)
class ParallelResult(_Result):
    """Parallel analysis next to the scree values (see :func:`parallel_analysis`)."""

    table: pd.DataFrame
    n_factors: int
    n_components: int
    n_iter: int
    percentile: float
    seed: int | None
    n: int

    @property
    def _title(self) -> str:  # type: ignore[override]
        return (f"Parallel analysis ({self.n_iter} simulated data sets of n = {self.n}, "
                f"{self.percentile:g}th percentile): {self.n_factors} factor(s), "
                f"{self.n_components} component(s)")

    def to_frame(self) -> pd.DataFrame:
        return self.table

    def plot(self, **kwargs):
        """Scree chart with the simulated percentile line; returns the Figure."""
        from .plots import scree_chart

        return scree_chart(self, **kwargs)


def parallel_analysis(df: pd.DataFrame, items: Sequence[str], *, weights=None,
                      missing: Missing = "pairwise", reverse=None,
                      scale_range: ScaleRange = None, n_iter: int = 100,
                      percentile: float = 95, seed: int | None = 0) -> ParallelResult:
    """Horn's parallel analysis for components and (minres) factors, as ``psych::fa.parallel``.

    Observed eigenvalues of the (weighted) correlation matrix, and of the reduced matrix with
    one-factor minres communalities on its diagonal, are compared with the ``percentile`` of
    the same values from ``n_iter`` normal data sets of the same size (Kish effective n when
    weighted). The suggested number is the count of leading observed values above it.

    Parameters
    ----------
    n_iter : int
        Number of simulated data sets; at least 100.
    percentile : float
        Percentile of the simulated values to beat (95 by default).
    seed : int or None
        Seed of the random generator (results are reproducible for a given seed).

    Returns
    -------
    ParallelResult
        ``table`` (one row per number: ``observed_pc, sim_pc_mean, sim_pc_pct, observed_fa,
        sim_fa_mean, sim_fa_pct``), ``n_factors`` and ``n_components``.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> f = rng.normal(size=(400, 2))
    >>> d = pd.DataFrame({f"x{i}": f[:, i // 3] + rng.normal(size=400) for i in range(6)})
    >>> parallel_analysis(d, list(d), seed=1).n_factors
    2
    """
    if int(n_iter) != n_iter or n_iter < 100:
        raise MeasurementError(f"n_iter={n_iter!r}: parallel analysis needs at least 100 "
                               f"simulated data sets")
    if not 50 <= percentile < 100:
        raise MeasurementError(f"percentile={percentile!r} must be in [50, 100)")
    items, _, _, _, R, n, neff, _ = _prepare(df, items, weights=weights, missing=missing,
                                             reverse=reverse, scale_range=scale_range,
                                             min_items=3)
    _check_pd(R, items, "parallel analysis")
    nsim = int(round(neff)) if weights is not None else n
    p = len(items)
    obs_pc = np.sort(np.linalg.eigvalsh(R))[::-1]
    obs_fa = _fa_values(R)
    rng = np.random.default_rng(seed)
    sim_pc = np.empty((int(n_iter), p))
    sim_fa = np.empty((int(n_iter), p))
    with _one_thread():
        for b in range(int(n_iter)):
            Rs = np.corrcoef(rng.standard_normal((nsim, p)), rowvar=False)
            sim_pc[b] = np.sort(np.linalg.eigvalsh(Rs))[::-1]
            sim_fa[b] = _fa_values(Rs)
    q_pc = np.percentile(sim_pc, percentile, axis=0)
    q_fa = np.percentile(sim_fa, percentile, axis=0)

    def _count(obs, q):
        above = obs > q
        return int(np.argmin(above)) if not above.all() else p

    table = pd.DataFrame({
        "number": np.arange(1, p + 1), "observed_pc": obs_pc, "sim_pc_mean": sim_pc.mean(0),
        "sim_pc_pct": q_pc, "observed_fa": obs_fa, "sim_fa_mean": sim_fa.mean(0),
        "sim_fa_pct": q_fa}).set_index("number")
    return ParallelResult(table=table, n_factors=_count(obs_fa, q_fa),
                          n_components=_count(obs_pc, q_pc), n_iter=int(n_iter),
                          percentile=float(percentile), seed=seed, n=nsim)


# --------------------------------------------------------------------------------------------
# exploratory factor analysis
# --------------------------------------------------------------------------------------------

def _rotate(L: np.ndarray, rotation: str | None) -> tuple[np.ndarray, np.ndarray | None]:
    if rotation is None or L.shape[1] < 2:
        return L, None
    from factor_analyzer.rotator import Rotator

    # varimax (and promax's varimax step) with R's stats::varimax tolerance, as psych;
    # GPA oblimin to 1e-8 (its criterion stalls near 1e-10; 1e-8 is ~1e-6 from psych)
    tol = 1e-5 if rotation in ("varimax", "promax") else 1e-8
    rot = Rotator(method=rotation, tol=tol, max_iter=2000)
    Lr = rot.fit_transform(L)
    phi = rot.phi_ if rotation in _OBLIQUE else None
    return np.asarray(Lr, dtype=float), None if phi is None else np.asarray(phi, dtype=float)


@dataclass(repr=False)
class EFAResult(_Result):
    """An exploratory factor solution (see :func:`efa`)."""

    items: list[str]
    factors: list[str]
    loadings: pd.DataFrame            # pattern matrix, items x factors, sorted
    communality: pd.Series
    uniqueness: pd.Series
    phi: pd.DataFrame | None          # factor correlations (oblique rotations)
    variance: pd.DataFrame            # SS loadings, proportion, cumulative
    method: str
    rotation: str
    missing: str
    n: int
    n_eff: float
    corr: pd.DataFrame
    heywood: list[str]
    blank: float = 0.3
    _center: np.ndarray | None = None
    _scale: np.ndarray | None = None
    _reverse: list[str] = field(default_factory=list)
    _scale_range: ScaleRange = None

    @property
    def _title(self) -> str:  # type: ignore[override]
        return (f"EFA: {len(self.factors)} factor(s), {self.method}, {self.rotation} rotation, "
                f"{self.missing} correlations, n = {self.n}")

    @property
    def structure(self) -> pd.DataFrame:
        """Structure matrix (item-factor correlations) = pattern x phi."""
        if self.phi is None:
            return self.loadings.copy()
        return self.loadings @ self.phi

    def to_frame(self) -> pd.DataFrame:
        """Tidy loadings: ``item, factor, loading, primary`` sorted by factor and |loading|."""
        L = self.loadings
        primary = L.abs().idxmax(axis=1)
        long = L.reset_index(names="item").melt(id_vars="item", var_name="factor",
                                                value_name="loading")
        long["primary"] = long["factor"].to_numpy() == primary.loc[long["item"]].to_numpy()
        long["abs"] = long["loading"].abs()
        order = {f: i for i, f in enumerate(self.factors)}
        long = long.sort_values(["factor", "abs"], ascending=[True, False],
                                key=lambda s: s.map(order) if s.name == "factor" else s)
        return long.drop(columns="abs").reset_index(drop=True)

    def loadings_table(self, blank: float | None = None) -> pd.DataFrame:
        """Wide sorted loadings with ``h2, u2``; |loading| < ``blank`` shown as empty."""
        blank = self.blank if blank is None else blank
        wide = self.loadings.copy()
        shown = wide.astype(object).where(wide.abs() >= blank, "")
        shown = shown.map(lambda v: v if v == "" else f"{v:.2f}")
        shown["h2"] = self.communality.map(lambda v: f"{v:.2f}")
        shown["u2"] = self.uniqueness.map(lambda v: f"{v:.2f}")
        return shown

    def summary(self) -> str:
        return (f"{self._title}\n{self.loadings_table().to_string()}\n\n"
                f"{self.variance.to_string(float_format=lambda v: f'{v:.3f}')}")

    def _repr_html_(self) -> str:
        html = f"<h4>{self._title}</h4>" + self.loadings_table().to_html()
        html += self.variance.to_html(float_format="%.3f")
        if self.phi is not None:
            html += "<p>Factor correlations</p>" + self.phi.to_html(float_format="%.2f")
        if self.heywood:
            html += f"<p><b>Heywood case(s):</b> {', '.join(self.heywood)}</p>"
        return html

    def score_weights(self) -> pd.DataFrame:
        """Thurstone regression weights ``R^-1 S`` (S = structure), as ``psych``."""
        W = np.linalg.solve(self.corr.to_numpy(), self.structure.loc[self.items].to_numpy())
        return pd.DataFrame(W, index=self.items, columns=self.factors)

    def scores(self, df: pd.DataFrame) -> pd.DataFrame:
        """Regression factor scores for the rows of ``df`` (NaN where an item is missing).

        Items are standardized with the (weighted) means and sample SDs of the fit data.
        """
        _, X = _item_matrix(df, self.items, reverse=self._reverse,
                            scale_range=self._scale_range)
        Z = (X - self._center) / self._scale
        return pd.DataFrame(Z @ self.score_weights().to_numpy(), index=df.index,
                            columns=self.factors)

    def add_scores(self, df: pd.DataFrame, *, prefix: str = "") -> pd.DataFrame:
        """A copy of ``df`` with one factor-score column per factor (``prefix + factor``)."""
        out = df.copy()
        sc = self.scores(df)
        for f in self.factors:
            out[prefix + f] = sc[f]
        return out

    def plot(self, **kwargs):
        """Heat map of the loadings; returns the Figure."""
        from .plots import loadings_chart

        return loadings_chart(self, **kwargs)


def efa(df: pd.DataFrame, items: Sequence[str], n_factors: int, *, weights=None,
        method: Literal["minres", "ml"] = "minres",
        rotation: Literal["oblimin", "varimax", "promax", "none"] | None = "oblimin",
        missing: Missing = "pairwise", reverse=None, scale_range: ScaleRange = None,
        factor_names: Sequence[str] | None = None, blank: float = 0.3) -> EFAResult:
    """Exploratory factor analysis with factor_analyzer on a (weighted) correlation matrix.

    The correlation matrix is computed here (weights, declared ``missing`` policy; nothing
    is imputed) and passed to ``factor_analyzer`` with ``is_corr_matrix=True``. Factors are
    signed so each column sums positive and ordered by their sum of squared loadings, as
    ``psych::fa`` does.

    Parameters
    ----------
    n_factors : int
        Number of factors (see :func:`parallel_analysis`).
    method : {"minres", "ml"}
        Extraction method.
    rotation : {"oblimin", "varimax", "promax", "none"}
        Rotation; oblique rotations also give factor correlations ``phi``.
    blank : float
        Loadings with smaller absolute value are blanked in the HTML / summary view.

    Warns
    -----
    HeywoodWarning
        Naming each item whose communality reaches 1 (uniqueness <= 0, or pinned at the
        optimizer's lower bound 0.005).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> f = rng.normal(size=(400, 2))
    >>> d = pd.DataFrame({f"x{i}": f[:, i // 3] + rng.normal(size=400) for i in range(6)})
    >>> res = efa(d, list(d), 2, rotation="varimax")
    >>> sorted(res.to_frame().query("primary").groupby("factor")["item"].apply(sorted))
    [['x0', 'x1', 'x2'], ['x3', 'x4', 'x5']]
    """
    if method not in ("minres", "ml"):
        raise MeasurementError(f"method={method!r}; use 'minres' or 'ml'")
    rot_key = "none" if rotation is None else str(rotation).lower()
    if rot_key not in _ROTATIONS:
        raise MeasurementError(f"rotation={rotation!r}; use one of {sorted(_ROTATIONS)}")
    items, X, w, _, R, n, neff, rows = _prepare(df, items, weights=weights, missing=missing,
                                                reverse=reverse, scale_range=scale_range,
                                                min_items=3)
    p = len(items)
    if int(n_factors) != n_factors or not 1 <= n_factors:
        raise MeasurementError(f"n_factors={n_factors!r} must be a positive integer")
    dof = ((p - n_factors) ** 2 - (p + n_factors)) / 2
    if dof < 0:
        raise MeasurementError(f"{n_factors} factors from {p} items is not identified "
                               f"(degrees of freedom {dof:g} < 0); use fewer factors")
    _check_pd(R, items, "efa")
    L0 = _minres(R, int(n_factors), method)
    L, phi = _rotate(L0, _ROTATIONS[rot_key])
    signs = np.where(L.sum(axis=0) < 0, -1.0, 1.0)
    L = L * signs
    if phi is not None:
        phi = phi * np.outer(signs, signs)
    order = np.argsort(-(L ** 2).sum(axis=0), kind="stable")
    L = L[:, order]
    if phi is not None:
        phi = phi[np.ix_(order, order)]
    k = L.shape[1]
    prefix = "MR" if method == "minres" else "ML"
    names = list(factor_names) if factor_names is not None else [f"{prefix}{i + 1}"
                                                                  for i in range(k)]
    if len(names) != k:
        raise MeasurementError(f"factor_names has {len(names)} names for {k} factors")
    h2 = np.diag(L @ (phi if phi is not None else np.eye(k)) @ L.T)
    u2 = 1.0 - h2
    heywood = [c for c, h, u in zip(items, h2, u2, strict=True)
               if h >= 1 - 1e-8 or u <= _PSI_LOWER + 1e-6]
    if heywood:
        warnings.warn(
            f"Heywood case: item(s) {', '.join(map(repr, heywood))} have communality >= 1 "
            f"(uniqueness <= 0 or at the {_PSI_LOWER} bound); the solution is improper: "
            f"drop or merge the item, or extract fewer factors", HeywoodWarning, stacklevel=2)
    # sort items: by primary factor, then |loading|
    prim = np.abs(L).argmax(axis=1)
    item_order = sorted(range(p), key=lambda i: (prim[i], -abs(L[i, prim[i]])))
    sorted_items = [items[i] for i in item_order]
    Ldf = pd.DataFrame(L, index=items, columns=names).loc[sorted_items]
    ss = (L ** 2).sum(axis=0) if phi is None else np.diag(phi @ L.T @ L)
    variance = pd.DataFrame({"ss_loadings": ss, "proportion": ss / p,
                             "cumulative": np.cumsum(ss / p)}, index=names)
    if missing == "listwise":
        Xr, wr = X[rows], w[rows]
        center = wr @ Xr / wr.sum()
        var = wr @ (Xr - center) ** 2 / wr.sum()
        scale = np.sqrt(var * n / (n - 1))
    else:
        ok = ~np.isnan(X)
        center = np.array([np.average(X[ok[:, j], j], weights=w[ok[:, j]]) for j in range(p)])
        scale = np.array([math.sqrt(np.average((X[ok[:, j], j] - center[j]) ** 2,
                                               weights=w[ok[:, j]])
                                    * ok[:, j].sum() / (ok[:, j].sum() - 1)) for j in range(p)])
    return EFAResult(
        items=items, factors=names, loadings=Ldf,
        communality=pd.Series(h2, index=items, name="h2").loc[sorted_items],
        uniqueness=pd.Series(u2, index=items, name="u2").loc[sorted_items],
        phi=None if phi is None else pd.DataFrame(phi, index=names, columns=names),
        variance=variance, method=method, rotation=rot_key, missing=missing, n=n,
        n_eff=float(neff), corr=pd.DataFrame(R, index=items, columns=items), heywood=heywood,
        blank=blank, _center=center, _scale=scale, _reverse=as_list(reverse),
        _scale_range=scale_range)


# --------------------------------------------------------------------------------------------
# confirmatory factor analysis (ML, lavaan's conventions)
# --------------------------------------------------------------------------------------------

def _cfa_parts(pattern: np.ndarray):
    p, m = pattern.shape
    li = np.argwhere(pattern)
    tri = [(a, b) for a in range(m) for b in range(a + 1, m)]
    return li, tri


def _cfa_unpack(t, pattern, li, tri):
    p, m = pattern.shape
    q_l = len(li)
    L = np.zeros((p, m))
    L[li[:, 0], li[:, 1]] = t[:q_l]
    Phi = np.eye(m)
    for k, (a, b) in enumerate(tri):
        Phi[a, b] = Phi[b, a] = t[q_l + k]
    Th = np.asarray(t[q_l + len(tri):], dtype=float)
    return L, Phi, Th


def _cfa_dsigma(L, Phi, li, tri, p):
    """dSigma/dtheta for every free parameter, shape (q, p, p)."""
    LP = L @ Phi
    mats = []
    for i, f in li:
        d = np.zeros((p, p))
        d[i, :] += LP[:, f]
        d[:, i] += LP[:, f]
        mats.append(d)
    for a, b in tri:
        d = np.outer(L[:, a], L[:, b])
        mats.append(d + d.T)
    for i in range(p):
        d = np.zeros((p, p))
        d[i, i] = 1.0
        mats.append(d)
    return np.array(mats)


def _cfa_ml(S: np.ndarray, pattern: np.ndarray, max_iter: int = 500):
    """Minimise F_ML = log|Sigma| + tr(S Sigma^-1) - log|S| - p by Fisher scoring."""
    p, m = pattern.shape
    li, tri = _cfa_parts(pattern)
    logdet_s = np.linalg.slogdet(S)[1]
    sd = np.sqrt(np.diag(S))
    Rs = S / np.outer(sd, sd)
    t = []
    for i, f in li:                               # start: average correlation in the block
        others = [j for j in np.flatnonzero(pattern[:, f]) if j != i]
        r = np.abs(Rs[i, others]).mean() if others else 0.5
        t.append(sd[i] * math.sqrt(min(max(r, 0.05), 0.95)))
    t += [0.0] * len(tri)
    t += list(np.diag(S) * 0.5)
    t = np.array(t, dtype=float)

    def fval(tt):
        L, Phi, Th = _cfa_unpack(tt, pattern, li, tri)
        Sig = L @ Phi @ L.T + np.diag(Th)
        sign, logdet = np.linalg.slogdet(Sig)
        if sign <= 0:
            return np.inf, None
        Si = np.linalg.inv(Sig)
        return logdet + np.trace(S @ Si) - logdet_s - p, (L, Phi, Th, Sig, Si)

    f, parts = fval(t)
    converged = False
    for _ in range(max_iter):
        L, Phi, Th, Sig, Si = parts
        dS = _cfa_dsigma(L, Phi, li, tri, p)
        G = Si @ (Sig - S) @ Si
        g = np.einsum("ij,tij->t", G, dS)
        A = np.einsum("ij,tjk->tik", Si, dS)
        H = np.einsum("tij,sji->ts", A, A)
        step = np.linalg.lstsq(H, g, rcond=None)[0]
        if np.max(np.abs(g)) < 1e-10:
            converged = True
            break
        a = 1.0
        for _ in range(30):
            f_new, parts_new = fval(t - a * step)
            if f_new <= f + 1e-14:
                break
            a /= 2
        else:
            break
        t, f, parts = t - a * step, f_new, parts_new
    if not converged:                             # polish with a quasi-Newton method
        def obj(tt):
            val, pr = fval(tt)
            if pr is None:
                return 1e10, np.zeros_like(tt)
            L, Phi, Th, Sig, Si = pr
            G = Si @ (Sig - S) @ Si
            return val, np.einsum("ij,tij->t", G, _cfa_dsigma(L, Phi, li, tri, p))
        res = optimize.minimize(obj, t, jac=True, method="BFGS", options={"gtol": 1e-9})
        t = res.x
        f, parts = fval(t)
        converged = bool(res.success) or np.isfinite(f)
    L, Phi, Th, Sig, Si = parts
    dS = _cfa_dsigma(L, Phi, li, tri, p)
    A = np.einsum("ij,tjk->tik", Si, dS)
    H = np.einsum("tij,sji->ts", A, A)
    return t, f, L, Phi, Th, Sig, H, converged


def _cfa_sandwich(t, X, w, S, pattern) -> np.ndarray:
    """Huber-White covariance of the CFA estimates under sampling weights.

    ``A^-1 B A^-1`` with ``A`` the observed information of the weighted likelihood
    (numerical Hessian of the analytic gradient) and ``B = sum w_i^2 s_i s_i'`` from the
    casewise scores, weights scaled to sum to N: lavaan's robust SEs with
    ``sampling.weights``.
    """
    p = pattern.shape[0]
    li, tri = _cfa_parts(pattern)
    N = len(w)
    w = w / w.sum() * N
    D = X - w @ X / N

    def grad(tt):
        L, Phi, Th = _cfa_unpack(tt, pattern, li, tri)
        Sig = L @ Phi @ L.T + np.diag(Th)
        Si = np.linalg.inv(Sig)
        return np.einsum("ij,tij->t", Si @ (Sig - S) @ Si, _cfa_dsigma(L, Phi, li, tri, p))

    q = len(t)
    Hn = np.empty((q, q))
    for k in range(q):
        h = 1e-6 * max(1.0, abs(t[k]))
        e = np.zeros(q)
        e[k] = h
        Hn[:, k] = (grad(t + e) - grad(t - e)) / (2 * h)
    A = 0.25 * N * (Hn + Hn.T)                    # observed information of the log-likelihood
    L, Phi, Th = _cfa_unpack(t, pattern, li, tri)
    Si = np.linalg.inv(L @ Phi @ L.T + np.diag(Th))
    dS = _cfa_dsigma(L, Phi, li, tri, p)
    Q = D @ Si
    scores = (-0.5 * np.einsum("ij,tji->t", Si, dS)[None, :]
              + 0.5 * np.einsum("ni,tij,nj->nt", Q, dS, Q))
    B = (scores * (w ** 2)[:, None]).T @ scores
    Ai = np.linalg.inv(A)
    return Ai @ B @ Ai


def _rmsea_ci(chi2: float, dof: int, n: float, level: float = 0.90) -> tuple[float, float]:
    lo_p, hi_p = 1 - (1 - level) / 2, (1 - level) / 2

    def root(target):
        fn = lambda lam: stats.ncx2.cdf(chi2, dof, lam) - target if lam > 0 else \
            stats.chi2.cdf(chi2, dof) - target  # noqa: E731
        if fn(0.0) < 0:
            return 0.0
        hi = max(chi2, 1.0)
        while fn(hi) > 0:
            hi *= 2
        return optimize.brentq(fn, 0.0, hi, xtol=1e-12)

    return (math.sqrt(root(lo_p) / (n * dof)), math.sqrt(root(hi_p) / (n * dof)))


@dataclass(repr=False)
class CFAResult(_Result):
    """A confirmatory factor model fitted by ML (see :func:`cfa`)."""

    model: dict[str, list[str]]
    items: list[str]
    loadings: pd.DataFrame            # tidy: factor, item, estimate, se, z, p, std
    factor_cor: pd.DataFrame
    residual_var: pd.Series
    fit: pd.Series
    n: int
    weighted: bool
    converged: bool
    heywood: list[str]
    _mean: np.ndarray | None = None
    _sigma: np.ndarray | None = None
    _lam: np.ndarray | None = None
    _phi: np.ndarray | None = None
    _reverse: list[str] = field(default_factory=list)
    _scale_range: ScaleRange = None

    @property
    def _title(self) -> str:  # type: ignore[override]
        f = self.fit
        return (f"CFA (ML, n = {self.n}): chi2({f['df']:.0f}) = {f['chisq']:.2f}, "
                f"CFI = {f['cfi']:.3f}, TLI = {f['tli']:.3f}, RMSEA = {f['rmsea']:.3f} "
                f"[{f['rmsea_ci_low']:.3f}, {f['rmsea_ci_high']:.3f}], SRMR = {f['srmr']:.3f}")

    def to_frame(self) -> pd.DataFrame:
        """Tidy loadings: ``factor, item, estimate, se, z, p, std`` (std = standardized)."""
        return self.loadings.copy()

    def fit_frame(self) -> pd.DataFrame:
        """One row of fit indices."""
        return self.fit.to_frame().T

    def summary(self) -> str:
        return (f"{self._title}\n"
                f"{self.loadings.to_string(float_format=lambda v: f'{v:.3f}')}\n\n"
                f"factor correlations\n{self.factor_cor.round(3).to_string()}")

    def _repr_html_(self) -> str:
        html = f"<h4>{self._title}</h4>" + self.loadings.to_html(float_format="%.3f",
                                                                  index=False)
        html += "<p>Factor correlations</p>" + self.factor_cor.to_html(float_format="%.3f")
        if self.heywood:
            html += f"<p><b>Heywood case(s):</b> {', '.join(self.heywood)}</p>"
        return html

    def scores(self, df: pd.DataFrame) -> pd.DataFrame:
        """Regression factor scores ``(x - mean) Sigma^-1 Lambda Phi`` (lavaan's lavPredict)."""
        _, X = _item_matrix(df, self.items, reverse=self._reverse,
                            scale_range=self._scale_range)
        W = np.linalg.solve(self._sigma, self._lam @ self._phi)
        return pd.DataFrame((X - self._mean) @ W, index=df.index, columns=list(self.model))

    def add_scores(self, df: pd.DataFrame, *, prefix: str = "") -> pd.DataFrame:
        """A copy of ``df`` with one factor-score column per factor (``prefix + factor``)."""
        out = df.copy()
        sc = self.scores(df)
        for f in self.model:
            out[prefix + f] = sc[f]
        return out


def cfa(df: pd.DataFrame, model: Mapping[str, Sequence[str]], *, weights=None,
        missing: Literal["listwise"] = "listwise", reverse=None,
        scale_range: ScaleRange = None) -> CFAResult:
    """Confirmatory factor analysis by maximum likelihood, with lavaan's fit indices.

    Factors have unit variance (lavaan ``std.lv=TRUE``) and are free to correlate; each item
    loads where ``model`` says (an item may appear under two factors); residuals are
    uncorrelated. ``chisq = N * F_ML`` (lavaan's default), ``CFI``, ``TLI``,
    ``RMSEA`` with its 90% CI from the noncentral chi-square, ``SRMR`` (Bentler's, as
    lavaan's ``srmr``).

    Parameters
    ----------
    model : dict or Questionnaire
        ``{factor: [items]}``, or a questionnaire: its constructs, reverse keys and scale
        ranges (``reverse`` / ``scale_range`` given here take precedence).
    weights : None, str or array-like
        Respondent weights: the model is fitted to the weighted covariance matrix (point
        estimates and chi-square as lavaan with ``sampling.weights`` and ``estimator="ML"``,
        i.e. the weighted covariance matrix with the unweighted N), and robust
        (Huber-White) standard errors as lavaan's under sampling weights. Unweighted, the
        standard errors come from the expected information (lavaan's default).
    missing : {"listwise"}
        Complete rows only (full-information ML is not offered).

    Returns
    -------
    CFAResult
        ``loadings`` (unstandardized estimate, se, z, p, standardized ``std``),
        ``factor_cor``, ``residual_var``, ``fit`` and ``scores()`` / ``add_scores()``.

    Warns
    -----
    HeywoodWarning
        Naming each item with a negative residual variance or a standardized loading >= 1.

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> f = rng.normal(size=(500, 2))
    >>> d = pd.DataFrame({f"x{i}": f[:, i // 3] + rng.normal(size=500) for i in range(6)})
    >>> res = cfa(d, {"A": ["x0", "x1", "x2"], "B": ["x3", "x4", "x5"]})
    >>> int(res.fit["df"]), bool(res.fit["cfi"] > 0.95)
    (8, True)
    """
    if missing != "listwise":
        raise MeasurementError(f"missing={missing!r}: cfa uses complete rows only "
                               f"(missing='listwise')")
    if _is_questionnaire(model):
        spec = from_questionnaire(model)
        model = spec["model"]
        reverse = spec["reverse"] if reverse is None else reverse
        scale_range = spec["scale_range"] if scale_range is None else scale_range
    if not isinstance(model, Mapping) or not model:
        raise MeasurementError("model must be a non-empty dict {factor: [items]}")
    model = {str(f): as_list(v) for f, v in model.items()}
    for f, its in model.items():
        if len(its) < 2:
            raise MeasurementError(f"factor {f!r} has {len(its)} item(s); a factor needs at "
                                   f"least 2 items (3 if it is the only factor)")
    items: list[str] = []
    for its in model.values():
        items += [c for c in its if c not in items]
    items, X = _item_matrix(df, items, reverse=reverse, scale_range=scale_range, min_items=3,
                            what="model items")
    w = resolve_weights(df, weights, error=MeasurementError)
    S, _, n, neff, rows = _weighted_moments(X, w, "listwise")
    _check_pd(_std(S), items, "cfa")
    factors = list(model)
    p, m = len(items), len(factors)
    pattern = np.zeros((p, m), dtype=bool)
    for j, f in enumerate(factors):
        for c in model[f]:
            pattern[items.index(c), j] = True
    q = int(pattern.sum()) + m * (m - 1) // 2 + p
    dof = p * (p + 1) // 2 - q
    if dof < 0:
        raise MeasurementError(f"the model is not identified: {q} free parameters for "
                               f"{p * (p + 1) // 2} variances/covariances (df = {dof}); add "
                               f"items or constrain the model")
    t, fmin, L, Phi, Th, Sig, H, converged = _cfa_ml(S, pattern)
    if not converged:
        warnings.warn("the CFA did not converge; treat the estimates with caution",
                      SurveykitWarning, stacklevel=2)
    N = float(n)
    chi2 = N * fmin
    base = N * (np.log(np.diag(S)).sum() - np.linalg.slogdet(S)[1])
    base_df = p * (p - 1) // 2
    cfi_den = max(chi2 - dof, base - base_df, 0.0)
    cfi = 1.0 - max(chi2 - dof, 0.0) / cfi_den if cfi_den > 0 else 1.0
    tli = ((base / base_df - chi2 / dof) / (base / base_df - 1.0)) if dof > 0 else float("nan")
    rmsea = math.sqrt(max(chi2 - dof, 0.0) / (dof * N)) if dof > 0 else float("nan")
    lo, hi = _rmsea_ci(chi2, dof, N) if dof > 0 else (float("nan"), float("nan"))
    sd = np.sqrt(np.diag(S))
    resid = (S - Sig) / np.outer(sd, sd)
    srmr = math.sqrt(np.mean(resid[np.tril_indices(p)] ** 2))
    fit = pd.Series({"chisq": chi2, "df": float(dof),
                     "pvalue": float(stats.chi2.sf(chi2, dof)) if dof > 0 else float("nan"),
                     "cfi": cfi, "tli": tli, "rmsea": rmsea, "rmsea_ci_low": lo,
                     "rmsea_ci_high": hi, "srmr": srmr, "baseline_chisq": base,
                     "baseline_df": float(base_df), "n": N,
                     "n_eff": float(neff)}, name="fit")
    try:
        if weights is None:                       # expected information, lavaan's default
            cov_t = np.linalg.inv(H) * 2.0 / N
        else:                                     # robust sandwich, as lavaan with weights
            cov_t = _cfa_sandwich(t, X[rows], w[rows], S, pattern)
        se_all = np.sqrt(np.maximum(np.diag(cov_t), 0.0))
    except np.linalg.LinAlgError:
        se_all = np.full(len(t), np.nan)
    li, _ = _cfa_parts(pattern)
    sig_sd = np.sqrt(np.diag(Sig))
    rows_out = []
    for k, (i, f) in enumerate(li):
        est, se = L[i, f], se_all[k]
        z = est / se if se > 0 else np.nan
        rows_out.append({"factor": factors[f], "item": items[i], "estimate": est, "se": se,
                         "z": z, "p": 2 * stats.norm.sf(abs(z)) if np.isfinite(z) else np.nan,
                         "std": est / sig_sd[i]})
    loadings = pd.DataFrame(rows_out)
    heywood = sorted({items[i] for i in range(p) if Th[i] <= 0}
                     | set(loadings.loc[loadings["std"].abs() >= 1, "item"]))
    if heywood:
        warnings.warn(f"Heywood case: item(s) {', '.join(map(repr, heywood))} have a negative "
                      f"residual variance or a standardized loading >= 1; the solution is "
                      f"improper: check the items and the model", HeywoodWarning, stacklevel=2)
    wr = w[rows]
    return CFAResult(
        model=model, items=items, loadings=loadings,
        factor_cor=pd.DataFrame(Phi, index=factors, columns=factors),
        residual_var=pd.Series(Th, index=items, name="residual_var"), fit=fit, n=n,
        weighted=weights is not None, converged=converged, heywood=heywood,
        _mean=wr @ X[rows] / wr.sum(), _sigma=Sig, _lam=L, _phi=Phi,
        _reverse=as_list(reverse), _scale_range=scale_range)


# --------------------------------------------------------------------------------------------
# construct scores
# --------------------------------------------------------------------------------------------

def construct_scores(df: pd.DataFrame, constructs: Mapping[str, Sequence[str]], *,
                     reverse=None, scale_range: ScaleRange = None,
                     method: Literal["mean", "sum"] = "mean",
                     min_items: int | Mapping[str, int] | None = None, prefix: str = "",
                     overwrite: bool = False) -> pd.DataFrame:
    """A copy of ``df`` with one score column per construct (mean or sum of its items).

    ``constructs`` is ``{name: [items]}`` or a questionnaire (its constructs, reverse keys,
    scale ranges and ``min_items``). Reverse-keyed items are re-coded first. A respondent
    gets a score when at least ``min_items`` of the construct's items are answered
    (default: all of them, or the questionnaire's ``min_items``); the mean
    is then over the answered items and the sum is the mean times the number of items
    (prorated), otherwise NaN. The caller's DataFrame is not modified.

    Examples
    --------
    >>> d = pd.DataFrame({"a": [1, 5, None], "b": [2, 1, 4]})
    >>> construct_scores(d, {"ab": ["a", "b"]}, reverse=["b"], scale_range=(1, 5))["ab"].tolist()
    [2.5, 5.0, nan]
    """
    if method not in ("mean", "sum"):
        raise MeasurementError(f"method={method!r}; use 'mean' or 'sum'")
    if _is_questionnaire(constructs):
        spec = from_questionnaire(constructs)
        constructs = spec["model"]
        reverse = spec["reverse"] if reverse is None else reverse
        scale_range = spec["scale_range"] if scale_range is None else scale_range
        min_items = spec["min_items"] if min_items is None else min_items
    if not isinstance(constructs, Mapping) or not constructs:
        raise MeasurementError("constructs must be a non-empty dict {name: [items]}")
    out = df.copy()
    rev = as_list(reverse)
    for name, its in constructs.items():
        col = prefix + str(name)
        if col in df.columns and not overwrite:
            raise MeasurementError(f"column {col!r} already exists; pass overwrite=True or a "
                                   f"prefix")
        its = as_list(its)
        items, X = _item_matrix(df, its, reverse=[c for c in rev if c in its],
                                scale_range=scale_range, min_items=1, what=f"construct {name!r}")
        k = len(items)
        need = (min_items.get(name, k) if isinstance(min_items, Mapping)
                else (k if min_items is None else int(min_items)))
        if not 1 <= need <= k:
            raise MeasurementError(f"min_items={need} for construct {name!r} must be between 1 "
                                   f"and its {k} items")
        answered = (~np.isnan(X)).sum(axis=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(X, axis=1)
        score = np.where(answered >= need, mean * (k if method == "sum" else 1), np.nan)
        out[col] = score
    return out
