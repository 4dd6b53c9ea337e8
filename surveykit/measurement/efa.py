"""Number of factors (parallel analysis) and exploratory factor analysis."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from ..errors import MeasurementError
from ._common import (
    _PSI_LOWER,
    HeywoodWarning,
    Missing,
    MissingData,
    ScaleRange,
    _check_pd,
    _item_matrix,
    _minres,
    _one_thread,
    _prepare,
    _Result,
)

_ROTATIONS = {"none": None, "varimax": "varimax", "oblimin": "oblimin", "promax": "promax"}
_OBLIQUE = {"oblimin", "promax"}


def _fa_values(R: np.ndarray) -> np.ndarray:
    """psych's ``fa(R, nfactors=1)$values``: eigenvalues with communalities on the diagonal."""
    L = _minres(R, 1)
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
    missing_data: MissingData | None = None
    item_labels: dict | None = None

    @property
    def _title(self) -> str:  # type: ignore[override]
        return (f"Parallel analysis ({self.n_iter} simulated data sets of n = {self.n:,}, "
                f"{self.percentile:g}th percentile): {self.n_factors} factor(s), "
                f"{self.n_components} component(s)")

    def to_frame(self) -> pd.DataFrame:
        """One row per number: observed and simulated eigenvalues (components, factors)."""
        return self.table.copy()

    def plot(self, **kwargs):
        """Scree chart with the simulated percentile line; returns the Figure."""
        from ..plots import scree_chart

        return scree_chart(self, **kwargs)

    def chart(self, **kwargs):
        """The scree chart as inline SVG (:func:`surveykit.charts.scree_chart`)."""
        from ..charts import scree_chart

        return scree_chart(self, **kwargs)


def parallel_analysis(df: pd.DataFrame, items: Sequence[str], *, weights=None,
                      missing: Missing = "pairwise", reverse=None,
                      scale_range: ScaleRange = None, n_iter: int = 100,
                      percentile: float = 95, seed: int | None = 0,
                      constructs=None) -> ParallelResult:
    """Horn's parallel analysis for components and (minres) factors, as ``psych::fa.parallel``.

    Observed eigenvalues of the (weighted) correlation matrix, and of the reduced matrix with
    one-factor minres communalities on its diagonal, are compared with the ``percentile`` of
    the same values from ``n_iter`` normal data sets of the same size (Kish effective n when
    weighted). The suggested number is the count of leading observed values above it.

    Missing answers: ``pairwise`` correlations by default, as ``fa.parallel``, whose
    simulated data sets then have as many rows as the data (psych's n); ``listwise``: the
    complete rows. ``items`` may be a questionnaire (see :func:`kmo`).

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
    d = _prepare(df, items, weights=weights, missing=missing, reverse=reverse,
                 scale_range=scale_range, min_items=3, constructs=constructs)
    items, R = d.items, d.corr
    _check_pd(R, items, "parallel analysis")
    # psych simulates data sets of nrow(x) rows, also with pairwise correlations
    nsim = (int(round(d.n_eff)) if weights is not None
            else d.missing_data.n_rows if missing == "pairwise" else d.n)
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
                          percentile=float(percentile), seed=seed, n=nsim,
                          missing_data=d.missing_data, item_labels=d.item_labels)


def _rotate(L: np.ndarray, rotation: str | None) -> tuple[np.ndarray, np.ndarray | None]:
    """Rotated loadings and (oblique rotations) phi, as psych::fa's rotations."""
    if rotation is None or L.shape[1] < 2:
        return L, None
    from . import _rotation

    if rotation == "varimax":
        return _rotation.varimax(L)[0], None
    return getattr(_rotation, rotation)(L)


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
    n: int
    n_eff: float
    corr: pd.DataFrame
    heywood: list[str]
    blank: float = 0.3
    missing_data: MissingData | None = None
    item_labels: dict | None = None
    _center: np.ndarray | None = None
    _scale: np.ndarray | None = None
    _reverse: list[str] = field(default_factory=list)
    _scale_range: ScaleRange = None

    @property
    def _title(self) -> str:  # type: ignore[override]
        base = self.missing_data.base() if self.missing_data else f"n = {self.n:,}"
        return (f"EFA: {len(self.factors)} factor(s), {self.method}, {self.rotation} rotation, "
                f"{self.missing} correlations, {base}")

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

    def _shown(self) -> pd.DataFrame:
        return self._labelled(self.loadings_table().rename_axis("item"))

    def _more(self) -> list[tuple[str, pd.DataFrame]]:
        more = [("Variance accounted for", self.variance)]
        if self.phi is not None:
            more.append(("Factor correlations", self.phi))
        return more

    def _notes(self) -> list[str]:
        heywood = ([f"Heywood case(s): {', '.join(self.heywood)} (communality >= 1)."]
                   if self.heywood else [])
        return super()._notes() + heywood

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
        from ..plots import loadings_chart

        return loadings_chart(self, **kwargs)


def max_factors(n_items: int) -> int:
    """The most factors a factor model of ``n_items`` items identifies: the largest k with
    degrees of freedom ``((p - k)^2 - (p + k)) / 2 >= 0`` (0 below 3 items).

    Examples
    --------
    >>> [max_factors(p) for p in (2, 3, 4, 5, 6, 9)]
    [0, 1, 1, 2, 3, 5]
    """
    k = 0
    while ((n_items - k - 1) ** 2 - (n_items + k + 1)) >= 0 and k + 1 < n_items:
        k += 1
    return k


def efa(df: pd.DataFrame, items: Sequence[str], n_factors: int, *, weights=None,
        method: Literal["minres", "ml"] = "minres",
        rotation: Literal["oblimin", "varimax", "promax", "none"] | None = "oblimin",
        missing: Missing = "pairwise", reverse=None, scale_range: ScaleRange = None,
        factor_names: Sequence[str] | None = None, blank: float = 0.3,
        constructs=None) -> EFAResult:
    """Exploratory factor analysis on a (weighted) correlation matrix, as ``psych::fa``.

    The correlation matrix is computed here (weights, declared ``missing`` policy; nothing
    is imputed) and factored: ``minres`` by surveykit's own fit (psych's criterion), ``ml``
    by ``factor_analyzer``. The rotations are R's: ``stats::varimax``, promax with Kaiser
    normalisation (``psych::kaiser(L, "Promax")``, what ``psych::fa`` uses) and
    ``GPArotation::oblimin`` (quartimin). Factors are
    signed so each column sums positive and ordered by the variance they account for, as
    ``psych::fa`` does: the sum of squared loadings for an orthogonal solution,
    ``diag(Phi L'L)`` for an oblique one.

    Missing answers: ``pairwise`` correlations by default, as ``psych::fa`` on raw data,
    or ``listwise``; ``missing_data`` and ``summary()`` state which and the n per item
    pair. ``n`` is psych's ``n.obs``: the rows given under pairwise, the complete rows
    under listwise. ``items`` may be a questionnaire (see :func:`kmo`): its reverse keys, scale
    ranges and item labels are used.

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
    d = _prepare(df, items, weights=weights, missing=missing, reverse=reverse,
                 scale_range=scale_range, min_items=3, constructs=constructs)
    items, X, w, R, n, neff, rows = d.items, d.X, d.w, d.corr, d.n, d.n_eff, d.rows
    p = len(items)
    if int(n_factors) != n_factors or not 1 <= n_factors:
        raise MeasurementError(f"n_factors={n_factors!r} must be a positive integer")
    if n_factors > max_factors(p):
        dof = ((p - n_factors) ** 2 - (p + n_factors)) / 2
        raise MeasurementError(f"{n_factors} factors from {p} items is not identified "
                               f"(degrees of freedom {dof:g} < 0); use at most "
                               f"{max_factors(p)}")
    _check_pd(R, items, "efa")
    L0 = _minres(R, int(n_factors), method)
    L, phi = _rotate(L0, _ROTATIONS[rot_key])
    signs = np.where(L.sum(axis=0) < 0, -1.0, 1.0)
    L = L * signs
    if phi is not None:
        phi = phi * np.outer(signs, signs)
    # psych::fa orders factors by the variance they account for: diag(Phi L'L) for an
    # oblique solution (the sum of squared pattern loadings would ignore their correlations)
    ss = (L ** 2).sum(axis=0) if phi is None else np.diag(phi @ L.T @ L)
    order = np.argsort(-ss, kind="stable")
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
        variance=variance, method=method, rotation=rot_key, n=d.missing_data.n,
        n_eff=float(neff), corr=pd.DataFrame(R, index=items, columns=items), heywood=heywood,
        blank=blank, missing_data=d.missing_data, item_labels=d.item_labels, _center=center,
        _scale=scale, _reverse=d.reverse, _scale_range=d.scale_range)
