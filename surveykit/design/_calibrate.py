"""Calibrated designs, R ``calibrate()`` on a design object: linear (GREG) or raking
calibration to population totals of categorical and numeric variables; the design's
strata, clusters and fpc (or its replicate weights) are kept."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import DesignError
from ._common import check_design, column, numeric_column
from ._linear import SurveyDesign
from ._replicate import ReplicateDesign

__all__ = ["calibrate", "CalibratedDesign"]

CALFUNS = ("linear", "raking")


def calibrate(df: pd.DataFrame, *, design, totals: Mapping, size: float | None = None,
              calfun: str = "linear", maxit: int = 50):
    """Calibrate a design's weights to population totals, R ``calibrate(design, formula,
    population)``.

    The model has an intercept (the population ``size``), one indicator per category of each
    categorical variable but the first, and each numeric variable, as R's
    ``model.matrix(~ a + b + x)``. ``calfun="linear"`` gives R's GREG weights
    ``w g`` with ``g = 1 + m' (sum w m m')^-1 (T - sum w m)`` (unbounded, R
    ``regcalibrate``); ``"raking"`` gives ``g = exp(m' eta)`` by Newton steps (R ``grake``
    with ``cal.raking``), iterated to a relative misfit below 1e-13.

    * A :class:`SurveyDesign` gives a :class:`CalibratedDesign`: the calibrated weights,
      and variances as R's ``svyrecvar`` on a calibrated design, from the residuals of the
      influence values on the calibration model (regression weighted by the design's
      weights) put through the strata, clusters and fpc.
    * A :class:`ReplicateDesign` gives a ReplicateDesign whose full-sample weights and every
      replicate's weights are each calibrated to the same totals (R ``calibrate`` on a
      ``svrepdesign``); scale, ``rscales`` and ``mse`` are kept. As R, a linear
      calibration recomputes the degrees of freedom (rank of the new replicate weights
      minus 1) and raking keeps the design's.

    Parameters
    ----------
    df : DataFrame
        The data the design was made from (not modified).
    design : SurveyDesign or ReplicateDesign
    totals : mapping
        ``{categorical column: {category: population count, ...}, numeric column: total}``.
        Every category present in the data needs a count; the counts of each categorical
        variable sum to the population size.
    size : float, optional
        Population size; needed only when no categorical variable is given (else it must
        agree with their counts).
    calfun : {"linear", "raking"}
    maxit : int
        Newton steps allowed for raking.

    Returns
    -------
    CalibratedDesign or ReplicateDesign

    Raises
    ------
    DesignError
        Unknown or incomplete columns, a category without a count, counts that disagree on
        the population size, totals that cannot be reached (raking does not converge).

    Examples
    --------
    >>> df = pd.DataFrame({"psu": [1, 1, 2, 2, 3, 3], "g": list("abbaab"),
    ...                    "y": [1.0, 2, 3, 4, 5, 9]})
    >>> d = SurveyDesign(df, ids="psu")
    >>> cal = calibrate(df, design=d, totals={"g": {"a": 40, "b": 60}})
    >>> cal.weights.round(2).tolist()
    [13.33, 20.0, 20.0, 13.33, 13.33, 20.0]
    """
    if calfun not in CALFUNS:
        raise DesignError(f"calfun must be one of {CALFUNS}, not {calfun!r}")
    check_design(df, design)
    if isinstance(design, CalibratedDesign):
        raise DesignError("the design is calibrated already; calibrate the original design "
                          "to all the totals at once")
    M, pop, names = _model(df, totals, size)
    if isinstance(design, ReplicateDesign):
        return _calibrate_replicates(design, M, pop, calfun, maxit, names)
    w0 = np.asarray(design.weights, dtype=float)
    g = _g_weights(M, w0, pop, calfun, maxit, "the full sample")
    return CalibratedDesign(design, w0 * g, M, calfun, names)


def _model(df, totals, size):
    if not isinstance(totals, Mapping) or not totals:
        raise DesignError("totals must be a non-empty mapping {column: total or "
                          "{category: count}}")
    n = len(df)
    cols, pop, names = [np.ones(n)], [np.nan], ["(Intercept)"]
    sizes = []
    for var, t in totals.items():
        if isinstance(t, Mapping):
            s = column(df, var, "calibration variable")
            counts = {k: float(v) for k, v in t.items()}
            keys = list(counts)
            present = pd.unique(s)
            lookup = {k: k for k in keys}
            lookup.update({str(k): k for k in keys})
            missing = [v for v in present if v not in lookup and str(v) not in lookup]
            if missing:
                raise DesignError(f"totals for {var!r} have no count for categor"
                                  f"{'y' if len(missing) == 1 else 'ies'} "
                                  f"{', '.join(map(repr, missing[:5]))} found in the data; "
                                  "give every category's population count")
            key = s.map(lambda v, lk=lookup: lk.get(v, lk.get(str(v))))
            sizes.append((var, sum(counts.values())))
            for k in keys[1:]:
                cols.append((key == k).to_numpy(dtype=float))
                pop.append(counts[k])
                names.append(f"{var}{k}")
        else:
            cols.append(numeric_column(df, var, "calibration variable"))
            pop.append(float(t))
            names.append(var)
    if size is None and not sizes:
        raise DesignError("give size= (the population size) when no categorical variable "
                          "is calibrated")
    N = float(size) if size is not None else sizes[0][1]
    for var, s in sizes:
        if not np.isclose(s, N, rtol=1e-9):
            raise DesignError(f"the counts of {var!r} sum to {s:g} but the population size is "
                              f"{N:g}; every categorical variable's counts must sum to it")
    pop[0] = N
    M = np.column_stack(cols)
    if not np.isfinite(M).all():
        raise DesignError("calibration variables must have no missing values (R calibrate "
                          "needs complete auxiliary data)")
    return M, np.array(pop), names


def _g_weights(M, w, pop, calfun, maxit, where) -> np.ndarray:
    """Calibration factors ``g`` for base weights ``w`` (R ``regcalibrate`` / ``grake``)."""
    Mw = M * w[:, None]
    if calfun == "linear":
        T = M.T @ Mw
        return 1.0 + M @ np.linalg.lstsq(T, pop - Mw.sum(axis=0), rcond=None)[0]
    eta = np.zeros(M.shape[1])
    g = np.ones(len(w))
    for _ in range(maxit):
        misfit = pop - Mw.T @ g
        if (np.abs(misfit) / (1 + np.abs(pop)) < 1e-13).all():
            return g
        J = M.T @ (Mw * g[:, None])
        step = np.linalg.pinv(J, rcond=256 * np.finfo(float).eps) @ misfit
        for _half in range(60):
            g_new = np.exp(M @ (eta + step))
            if np.isfinite(g_new).all():
                break
            step = step / 2
        eta = eta + step
        g = g_new
    misfit = pop - Mw.T @ g
    worst = float(np.max(np.abs(misfit) / (1 + np.abs(pop))))
    if worst < 1e-9:
        return g
    raise DesignError(f"raking of {where} did not reach the totals in {maxit} Newton steps "
                      f"(largest relative misfit {worst:.2g}); check that the totals are "
                      "consistent and reachable with positive weights")


def _calibrate_replicates(design: ReplicateDesign, M, pop, calfun, maxit, names):
    w0 = np.asarray(design.weights, dtype=float)
    w = w0 * _g_weights(M, w0, pop, calfun, maxit, "the full sample")
    RW = np.array(design.replicate_weights(), dtype=float, order="F")
    for r in range(RW.shape[1]):
        RW[:, r] *= _g_weights(M, RW[:, r], pop, calfun, maxit, f"replicate {r + 1}")
    RW.setflags(write=False)
    out = ReplicateDesign.__new__(ReplicateDesign)
    out.n, out.index = design.n, design.index
    out._init(w, type=design.type, scale=design.scale, rscales=design.rscales,
              mse=design.mse, rho=design.rho, full=RW, names=None,
              degf=None if calfun == "linear" else design.degf)
    out.calibration = f"{calfun} calibration to {', '.join(names)}"
    return out


class CalibratedDesign(SurveyDesign):
    """A :class:`SurveyDesign` with calibrated weights, made by :func:`calibrate` (R
    ``calibrate()`` on a ``svydesign``). Every estimator that takes ``design=`` uses the
    calibrated weights and the calibration residuals (R ``svyrecvar``)."""

    def __init__(self, base: SurveyDesign, weights: np.ndarray, M: np.ndarray, calfun: str,
                 names: list[str]) -> None:
        self.__dict__.update(base.__dict__)
        w = np.asarray(weights, dtype=float).copy()
        w.setflags(write=False)
        self.weights = w
        self._base_weights = np.asarray(base.weights, dtype=float)
        self._M = M
        self._cal = (np.arange(self.n), M, self._base_weights)
        self.calfun = calfun
        self.calibration = f"{calfun} calibration to {', '.join(names)}"

    def _domain_variances(self, y, g, G, means, D, contrasts=(), cal=None, shift=0.0, x=None,
                          weights=None):
        if cal is not None:
            raise DesignError("the design is calibrated already; pass no WeightingReport "
                              "as weights= with it")
        return super()._domain_variances(y, g, G, means, D, contrasts, cal=self._cal,
                                         shift=shift, x=x, weights=self.weights)

    def _total_variances(self, y, g, G):
        ok = np.isfinite(y) & (g >= 0)
        W = np.bincount(g[ok], self.weights[ok], G)
        return self._domain_variances(y, g, G, np.zeros(G), np.eye(G))[0] * W * W

    def residuals(self, influence) -> np.ndarray:
        """Influence values minus their fit on the calibration model (R ``svyrecvar``'s
        ``qr.resid`` step): ``z - w m' A^-1 sum m (w0 / w) z``, ``A = sum w0 m m'``."""
        Z = np.asarray(influence, dtype=float)
        one = Z.ndim == 1
        Z = Z[:, None] if one else Z
        w, w0, M = self.weights, self._base_weights, self._M
        with np.errstate(divide="ignore", invalid="ignore"):
            rho = np.where(w != 0, w0 / w, 0.0)
        A = M.T @ (M * w0[:, None])
        B = np.linalg.pinv(A) @ (M.T @ (Z * rho[:, None]))
        E = Z - w[:, None] * (M @ B)
        return E[:, 0] if one else E

    def variance(self, influence) -> np.ndarray:
        """Covariance of estimators with these row influence values, on the calibration
        residuals (R ``svyrecvar`` of a calibrated design)."""
        return super().variance(self.residuals(influence))

    def as_replicate(self, *args, **kwargs):
        raise DesignError("make the replicate design from the uncalibrated design and "
                          "calibrate it: calibrate(df, design=design.as_replicate(...), "
                          "totals=...) recalibrates every replicate, as R")

    def __repr__(self) -> str:
        return super().__repr__() + f"; {self.calibration}"

    @property
    def method(self) -> str:
        return super().method[:-1] + f", {self.calibration}, R calibrate)"
