"""Replicate-weight designs: R ``svrepdesign`` (supplied replicate weights) and
``as.svrepdesign`` (JK1, JKn, bootstrap, BRR / Fay built from a :class:`SurveyDesign`)."""

from __future__ import annotations

import html
import re
import warnings

import numpy as np
import pandas as pd

from .._util import resolve_weights
from ..errors import DesignError, SurveykitWarning
from ._common import check_frame, numeric_column

__all__ = ["ReplicateDesign"]

TYPES = ("BRR", "Fay", "JK1", "JKn", "bootstrap", "ACS", "successive-difference", "JK2",
         "other")


class ReplicateDesign:
    """Replicate weights with their variance formula, R ``svrepdesign``.

    The variance of an estimate is ``scale * sum_r rscales_r (theta_r - centre)^2`` over the
    replicate estimates ``theta_r`` (each computed with replicate weights ``r``); the centre
    is the mean of the replicate estimates (R's default, ``mse=False``) or the full-sample
    estimate (``mse=True``). Build one from supplied replicate-weight columns (below) or from a
    design with :meth:`SurveyDesign.as_replicate`.

    Parameters
    ----------
    df : DataFrame
        The respondents (not modified).
    repweights : list of columns, a regular expression or an array (n, R)
        Replicate weights: column names, a pattern matched against the column names (R
        ``repweights = "repw[0-9]+"``), or the values.
    weights : column or array, optional
        Full-sample weights (R ``weights``); default 1 (with a warning, as R).
    type : {"BRR", "Fay", "JK1", "JKn", "bootstrap", "ACS", "successive-difference", "JK2", "other"}
        Fixes ``scale`` and ``rscales`` as R does: BRR ``1/R``; Fay ``1/(R (1 - rho)^2)``;
        JK1 ``(R - 1)/R`` (guessed, with a warning, when not given); JKn needs ``rscales``
        (``(n_h - 1)/n_h`` of each replicate's stratum) unless the weights are multipliers;
        bootstrap ``1/(R - 1)``; ACS / successive-difference ``4/R``; JK2 1; other 1.
    scale, rscales : float, array of R, optional
        Override the type's values (as R, a given ``scale`` is ignored for BRR / Fay).
    combined_weights : bool
        ``True`` (default, as R): the replicate columns are the final weights. ``False``:
        they are multipliers of ``weights``.
    rho : float, optional
        Fay's coefficient, required for ``type="Fay"``.
    mse : bool
        Centre at the full-sample estimate (R ``mse=TRUE``).
    fpc : array of R, optional
        Per-replicate finite-population correction (``fpctype="fraction"``: sampling
        fractions, ``"correction"``: ``1 - f``), multiplied into ``rscales`` (JK1, JKn,
        other).
    fpctype : {"fraction", "correction"}, optional
    degf : int, optional
        Degrees of freedom for t intervals; default as R: the rank of the replicate weights
        minus 1 (computed when first needed).

    Examples
    --------
    Three delete-one-cluster jackknife replicates given as columns:

    >>> df = pd.DataFrame({"y": [1.0, 2, 3, 4, 5, 9], "w": 1.0,
    ...                    "r1": [0, 0, 1.5, 1.5, 1.5, 1.5], "r2": [1.5, 1.5, 0, 0, 1.5, 1.5],
    ...                    "r3": [1.5, 1.5, 1.5, 1.5, 0, 0]})
    >>> rep = ReplicateDesign(df, repweights=["r1", "r2", "r3"], weights="w", type="JK1",
    ...                       scale=2 / 3)
    >>> from surveykit.estimates import estimate
    >>> round(float(estimate(df, "y", design=rep)["se"].iloc[0]), 4)
    1.6073
    """

    def __init__(self, df: pd.DataFrame, *, repweights, weights=None, type: str = "other",
                 scale: float | None = None, rscales=None, combined_weights: bool = True,
                 rho: float | None = None, mse: bool = False, fpc=None,
                 fpctype: str | None = None, degf: int | None = None) -> None:
        if not isinstance(df, pd.DataFrame):
            raise DesignError(f"df must be a pandas DataFrame, not {df.__class__.__name__}")
        if type not in TYPES:
            raise DesignError(f"type must be one of {TYPES}, not {type!r}")
        self.n = len(df)
        self.index = df.index.copy()
        RW, names = _repweights(df, repweights)
        R = RW.shape[1]
        if R < 2:
            raise DesignError(f"{R} replicate weight column(s); a replicate variance needs at "
                              "least 2")
        if weights is None:
            warnings.warn("ReplicateDesign: no full-sample weights given; equal weights assumed "
                          "(as R)", SurveykitWarning, stacklevel=2)
            w = np.ones(self.n)
        else:
            w = resolve_weights(df, weights, error=DesignError)
        if type == "Fay" and rho is None:
            raise DesignError("type='Fay' needs rho (Fay's coefficient, e.g. 0.5)")
        rs = None if rscales is None else np.broadcast_to(
            np.asarray(rscales, dtype=float), (R,)).copy()
        if rscales is not None and np.size(rscales) not in (1, R):
            raise DesignError(f"rscales has {np.size(rscales)} values; give one per replicate "
                              f"({R})")
        if type == "BRR":
            scale = 1.0 / R
        elif type == "Fay":
            scale = 1.0 / (R * (1 - rho) ** 2)
        elif type == "bootstrap":
            scale = 1.0 / (R - 1) if scale is None else scale
        elif type == "JK1" and scale is None:
            if combined_weights:
                scale = (R - 1) / R
                warnings.warn(f"JK1 scale (n-1)/n not given: n guessed as the number of "
                              f"replicates ({R}), as R; pass scale= to be sure",
                              SurveykitWarning, stacklevel=2)
            else:
                scale = 1.0 / RW[:, 0].max()
                warnings.warn("JK1 scale (n-1)/n not given: guessed from the weights, as R",
                              SurveykitWarning, stacklevel=2)
        elif type == "JKn" and rs is None:
            if combined_weights:
                raise DesignError("type='JKn' with combined weights needs rscales ((n_h - 1) / "
                                  "n_h of the stratum of each replicate), as R")
            rs = 1.0 / RW.max(axis=0)
            warnings.warn("JKn rscales not given: guessed from the weights, as R",
                          SurveykitWarning, stacklevel=2)
        elif type in ("ACS", "successive-difference"):
            scale, rs = 4.0 / R, np.ones(R)
        elif type == "JK2":
            scale, rs = 1.0, np.ones(R)
        elif type == "other" and (scale is None or rs is None):
            warnings.warn("type='other' without scale or rscales: the missing one is 1",
                          SurveykitWarning, stacklevel=2)
        rs = np.ones(R) if rs is None else rs
        if fpc is not None:
            if fpctype not in ("fraction", "correction"):
                raise DesignError("fpc needs fpctype='fraction' or 'correction'")
            if type in ("BRR", "Fay", "JK2", "ACS", "successive-difference", "bootstrap"):
                raise DesignError(f"fpc is not available for type {type!r} (as R)")
            f = np.broadcast_to(np.asarray(fpc, dtype=float), (R,))
            if ((f < 0) | (f > 1)).any():
                raise DesignError("fpc values must be between 0 and 1")
            rs = rs * (f if fpctype == "correction" else 1 - f)
        if combined_weights:
            analysis = RW
        else:
            analysis = RW * w[:, None]
        self._init(w, type=type, scale=float(1.0 if scale is None else scale), rscales=rs,
                   mse=mse, rho=rho, full=analysis, names=names, degf=degf)

    def _init(self, w, *, type, scale, rscales, mse, rho=None, full=None, unit=None, A=None,
              names=None, degf=None):
        w = np.asarray(w, dtype=float).copy()
        w.setflags(write=False)
        self.weights = w
        self.type = type
        self.scale = float(scale)
        self.rscales = np.asarray(rscales, dtype=float)
        self.mse = bool(mse)
        self.rho = rho
        self._full = full            # (n, R) analysis weights, or None
        self._unit, self._A = unit, A    # compressed: row unit and (units, R) multipliers
        self._names = names
        self._degf = degf
        self._pattern = None
        self.n_replicates = len(self.rscales)

    @classmethod
    def _compressed(cls, index, weights, unit, A, **kw) -> ReplicateDesign:
        self = cls.__new__(cls)
        self.n = len(weights)
        self.index = index
        self._init(weights, unit=unit, A=np.asarray(A, dtype=float), **kw)
        return self

    # ------------------------------------------------------------------ variance
    def replicate_weights(self) -> np.ndarray:
        """The replicate (analysis) weights, ``(n, R)`` (expanded when stored compressed)."""
        if self._full is not None:
            return self._full
        return self._A[self._unit] * self.weights[:, None]

    def replicate_weight(self, r: int) -> np.ndarray:
        """Replicate ``r``'s analysis weights, ``(n,)``, without expanding the others."""
        if self._full is not None:
            return np.asarray(self._full[:, r], dtype=float)
        return self._A[self._unit, r] * self.weights

    def variance(self, thetas, estimate=None) -> np.ndarray:
        """Replicate variance (covariance matrix) of estimates, R ``svrVar``.

        Parameters
        ----------
        thetas : array (R,) or (R, k)
            Replicate estimates. Replicates with a NaN estimate are left out (as R's
            ``na.omit``) with a warning.
        estimate : array (k,), optional
            Full-sample estimates, needed when ``mse=True``.

        Examples
        --------
        >>> df = pd.DataFrame({"y": [1.0, 2.0, 3.0, 6.0]})
        >>> rep = ReplicateDesign(df, repweights=(1 - np.eye(4)) * 4 / 3, weights=np.ones(4),
        ...                       type="JK1", scale=3 / 4)
        >>> thetas = [(df["y"].sum() - v) / 3 for v in df["y"]]   # delete-one means
        >>> round(float(rep.variance(thetas)[0]), 4)                # = s^2 / n
        1.1667
        """
        th = np.asarray(thetas, dtype=float)
        one = th.ndim == 1
        th = th[:, None] if one else th
        est = None if estimate is None else np.atleast_1d(np.asarray(estimate, dtype=float))
        keep = np.isfinite(th).all(axis=1)
        rs = self.rscales
        if not keep.all():
            warnings.warn(f"{int((~keep).sum())} replicate(s) gave no estimate (NaN: a domain "
                          "empty in that replicate) and were left out, as R does",
                          SurveykitWarning, stacklevel=3)
            th, rs = th[keep], rs[keep]
        if self.mse:
            if est is None:
                raise DesignError("mse=True needs the full-sample estimate")
            centre = est
        else:
            centre = th[rs > 0].mean(axis=0)
        D = (th - centre) * np.sqrt(rs)[:, None]
        V = self.scale * (D.T @ D)
        return V[0, 0:1] if one else V

    def _variance_columns(self, th: np.ndarray, est: np.ndarray) -> np.ndarray:
        """Variance of each column of replicate estimates (R: each ``svyby`` domain on its
        own, so a NaN replicate is dropped for that column only)."""
        out = np.empty(th.shape[1])
        fine = np.isfinite(th).all(axis=0)
        if fine.any():
            centre = est[fine] if self.mse else th[self.rscales > 0][:, fine].mean(axis=0)
            D = th[:, fine] - centre
            out[fine] = self.scale * (self.rscales @ (D * D))
        for j in np.flatnonzero(~fine):
            keep = np.isfinite(th[:, j])
            if not keep.any():
                out[j] = np.nan
                continue
            if keep.sum() < len(keep):
                warnings.warn(f"{int((~keep).sum())} replicate(s) gave no estimate (a domain "
                              "empty in that replicate) and were left out, as R does",
                              SurveykitWarning, stacklevel=4)
            rs = self.rscales[keep]
            t = th[keep, j]
            c = est[j] if self.mse else t[rs > 0].mean()
            out[j] = self.scale * float(rs @ (t - c) ** 2)
        return out

    def _replicate_group_sums(self, values: list[np.ndarray], g: np.ndarray, G: int,
                              ok: np.ndarray) -> list[np.ndarray]:
        """For each row array ``v``: ``sum_i rw_ir v_i`` over the rows of each group, (R, G)."""
        if self._full is None:
            U = self._A.shape[0]
            key = self._unit[ok] * G + g[ok]
            out = []
            for v in values:
                S = np.bincount(key, (self.weights * v)[ok], U * G).reshape(U, G)
                out.append(self._A.T @ S)
            return out
        # dense (rows x groups) blocks of the values times the replicate weights: one BLAS
        # product per block, whatever the memory order of the weights (no copy of them)
        out = [np.empty((self._full.shape[1], G)) for _ in values]
        step = max(1, min(G, (1 << 24) // max(self.n, 1)))
        rows = np.flatnonzero(ok)
        for a in range(0, G, step):
            b = min(a + step, G)
            Y = np.zeros((self.n, (b - a) * len(values)))
            inside = rows[(g[rows] >= a) & (g[rows] < b)]
            for k, v in enumerate(values):
                Y[inside, k * (b - a) + g[inside] - a] = v[inside]
            P = self._full.T @ Y
            for k in range(len(values)):
                out[k][:, a:b] = P[:, k * (b - a):(k + 1) * (b - a)]
        return out

    def _domain_variances(self, y: np.ndarray, g: np.ndarray, G: int, means: np.ndarray,
                          D: np.ndarray, contrasts=(), cal=None, shift: float = 0.0, x=None,
                          weights=None):
        if cal is not None or (weights is not None and weights is not self.weights):
            raise DesignError("calibration-aware SEs with replicate weights need the "
                              "calibration redone in every replicate: use "
                              "surveykit.design.calibrate(df, design=..., totals=...) (R "
                              "calibrate on a svrepdesign), or pass replicate weights that "
                              "were calibrated by their provider and plain weights")
        if x is None:
            ok = np.isfinite(y) & (g >= 0)
            yy = np.where(ok, y - shift, 0.0)
            SwR, SwyR = self._replicate_group_sums([np.ones(self.n), yy], g, G, ok)
        else:
            ok = np.isfinite(y) & np.isfinite(x) & (g >= 0)
            SwR, SwyR = self._replicate_group_sums([np.where(ok, x, 0.0),
                                                    np.where(ok, y, 0.0)], g, G, ok)
        with np.errstate(divide="ignore", invalid="ignore"):
            th = (SwyR @ D) / (SwR @ D) + (shift if x is None else 0.0)
        est = np.asarray(means, dtype=float)
        if contrasts:
            i = np.array([c[0] for c in contrasts])
            j = np.array([c[1] for c in contrasts])
            th = np.hstack([th, th[:, i] - th[:, j]])
            est = np.concatenate([est, est[i] - est[j]])
        v = self._variance_columns(th, est)
        K = D.shape[1]
        return v[:K], v[K:]

    def _logit_variances(self, y: np.ndarray, g: np.ndarray, G: int,
                         means: np.ndarray) -> np.ndarray:
        """Variance of ``logit(p)`` of each group's proportion from the replicate logits, as R
        ``svyciprop`` on a replicate design (``svyglm`` refits the logistic model in every
        replicate: no delta method)."""
        ok = np.isfinite(y) & (g >= 0)
        SwR, SwyR = self._replicate_group_sums([np.ones(self.n), np.where(ok, y, 0.0)], g, G,
                                               ok)
        with np.errstate(divide="ignore", invalid="ignore"):
            p = SwyR / SwR
            th = np.log(p / (1 - p))
            est = np.log(means / (1 - means))
        return self._variance_columns(th, est)

    def _total_variances(self, y: np.ndarray, g: np.ndarray, G: int) -> np.ndarray:
        ok = np.isfinite(y) & (g >= 0)
        (SR,) = self._replicate_group_sums([np.where(ok, y, 0.0)], g, G, ok)
        est = np.bincount(g[ok], (self.weights * y)[ok], G)
        return self._variance_columns(SR, est)

    # ------------------------------------------------------------------ degrees of freedom
    @property
    def degf(self) -> int:
        """R ``degf``: rank of the replicate weights minus 1 (or the value given)."""
        if self._degf is None:
            self._degf = self._rank(np.ones(self.n, dtype=bool)) - 1
        return int(self._degf)

    def _rank(self, rows: np.ndarray) -> int:
        """Rank of the replicate weights of ``rows``. Rows that are multiples of one another
        (every row of a PSU, in most replicate schemes) add nothing to the rank, so the rank
        is taken over one row per distinct pattern (found by a random projection of the
        rows scaled to a maximum of 1)."""
        if self._full is None:
            units = np.unique(self._unit[rows & (self.weights > 0)])
            return int(np.linalg.matrix_rank(self._A[units])) if units.size else 0
        if self._pattern is None:
            X = self._full
            top = X.max(axis=1)
            v = np.random.default_rng(0).uniform(1.0, 2.0, X.shape[1])
            with np.errstate(divide="ignore", invalid="ignore"):
                h = (X @ v) / top
            self._pattern = np.where(top > 0, np.round(h, 9), -1.0)
        h = self._pattern[rows]
        _, first = np.unique(h[h >= 0], return_index=True)
        if first.size == 0:
            return 0
        X = self._full[np.flatnonzero(rows)[h >= 0][first]]
        if X.shape[0] > 20 * X.shape[1]:
            ev = np.linalg.eigvalsh(X.T @ X)
            return int((ev > ev.max() * 1e-10).sum()) if ev.max() > 0 else 0
        sv = np.linalg.svd(X, compute_uv=False)
        return int((sv > sv.max() * 1e-5).sum()) if sv.size and sv.max() > 0 else 0

    def _degf_groups(self, g: np.ndarray, G: int, rows: np.ndarray | None = None,
                     pairs=None) -> np.ndarray:
        """``degf`` of each group's subset, as R recomputes it for a subset of a replicate
        design (rank of the subset's replicate weights minus 1)."""
        ok = g >= 0
        if rows is not None:
            ok &= rows
        masks = ([ok & (g == k) for k in range(G)] if pairs is None
                 else [ok & (m[np.where(g >= 0, g, 0)] > 0) for m in pairs])
        return np.array([self._rank(m) - 1 for m in masks])

    def check(self, df: pd.DataFrame) -> None:
        check_frame(self, df)

    # ------------------------------------------------------------------ display
    def to_frame(self) -> pd.DataFrame:
        """One row: ``type, replicates, scale, mse, rows, df``."""
        return pd.DataFrame([{"type": self.type, "replicates": self.n_replicates,
                              "scale": self.scale, "mse": self.mse, "rows": self.n,
                              "df": self._degf}])

    def summary(self) -> str:
        """The design in words, with how variances are computed."""
        return f"{self!r}\nVariance: {self.method}."

    def _repr_html_(self) -> str:
        return (f"<p>{html.escape(repr(self))}<br>Variance: {html.escape(self.method)}.</p>"
                + self.to_frame().to_html(index=False, float_format="%.4g", na_rep=""))

    def __repr__(self) -> str:
        df = f"; df = {self._degf}" if self._degf is not None else ""
        return (f"ReplicateDesign: {self.type}, {self.n_replicates} replicates, scale "
                f"{self.scale:.4g}, {self.n} rows{df}")

    @property
    def description(self) -> str:
        """The design and its SE method in words, for method notes and footnotes."""
        return (f"replicate weights ({self.type}, {self.n_replicates} replicates), design "
                f"df = {self.degf}")

    @property
    def method(self) -> str:
        return (f"replicate weights ({self.type}, {self.n_replicates} replicates, R "
                "svrepdesign)")


def _repweights(df: pd.DataFrame, spec) -> tuple[np.ndarray, list[str] | None]:
    if isinstance(spec, str):
        names = [c for c in df.columns if isinstance(c, str) and re.search(spec, c)]
        if not names:
            raise DesignError(f"no column matches the replicate-weight pattern {spec!r}")
        spec = names
    if isinstance(spec, list | tuple) and spec and all(isinstance(c, str) for c in spec):
        missing = [c for c in spec if c not in df.columns]
        if missing:
            raise DesignError(f"replicate weight column(s) not in the data: "
                              f"{', '.join(map(repr, missing[:5]))}")
        sub = df[list(spec)]
        if all(pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t)
               for t in sub.dtypes):
            RW = sub.to_numpy(dtype=float, na_value=np.nan)
        else:
            RW = np.column_stack([numeric_column(df, c, "replicate weight") for c in spec])
        names = list(spec)
    else:
        RW = np.asarray(spec, dtype=float)
        names = None
        if RW.ndim != 2 or RW.shape[0] != len(df):
            raise DesignError(f"repweights has shape {RW.shape}; expected ({len(df)}, R)")
        RW = RW.copy()
    bad = ~np.isfinite(RW) | (RW < 0)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise DesignError(f"replicate weights must be finite and >= 0 (row {df.index[i]!r}, "
                          f"replicate {j + 1}); R refuses missing replicate weights too")
    RW.setflags(write=False)
    return RW, names


# ---------------------------------------------------------------------- from a design
def from_design(design, type: str, *, replicates: int, fay_rho: float, seed, mse: bool,
                hadamard) -> ReplicateDesign:
    """R ``as.svrepdesign``: replicate multipliers per first-stage unit."""
    types = ("auto", "JK1", "JKn", "bootstrap", "BRR", "Fay")
    if type not in types:
        raise DesignError(f"type must be one of {types}, not {type!r}")
    if type == "auto":
        type = "JKn" if design.has_strata else "JK1"
    if type == "Fay" and not 0 < fay_rho < 1:
        raise DesignError(f"type='Fay' needs 0 < fay_rho < 1, not {fay_rho!r}")
    if type == "JK1" and design.has_strata:
        raise DesignError("JK1 is for unstratified designs (as R); use 'JKn' or 'bootstrap'")
    if type in ("JKn", "BRR", "Fay") and not design.has_strata:
        raise DesignError(f"{type} needs a stratified design (as R); use 'JK1' or "
                          "'bootstrap'")
    st = design.stages[0]
    unit = design._stage1_psu
    h = st.stratum
    nh = st.sampsize
    pop = st.popsize if design.fpc_given else None
    if design.fpc_given and type in ("BRR", "Fay"):
        warnings.warn("finite population correction dropped in the conversion to BRR / Fay "
                      "(as R)", SurveykitWarning, stacklevel=3)
        pop = None
    elif design.fpc_given and design.n_stages > 1:
        warnings.warn("finite population corrections after the first stage have been "
                      "dropped (as R)", SurveykitWarning, stacklevel=3)
    U = st.n_units
    kw = {"mse": mse}
    if type == "JK1":
        n = U
        f = 1.0
        if pop is not None:
            vals = np.unique(pop)
            if vals.size > 1:
                raise DesignError("JK1 with an fpc needs one population size for all PSUs "
                                  "(as R); use 'JKn' with strata")
            f = (vals[0] - n) / vals[0]
        A = np.full((U, U), n / (n - 1))
        np.fill_diagonal(A, 0.0)
        if f == 0:
            A = np.zeros((U, 0))
        return ReplicateDesign._compressed(design.index, design.weights, unit, A, type="JK1",
                                           scale=f * (n - 1) / n, rscales=np.ones(A.shape[1]),
                                           degf=_rank_degf(A), **kw)
    if type == "JKn":
        cols, rscales = [], []
        n_strata = st.n_strata
        for s in range(n_strata):
            members = np.flatnonzero(h == s)
            n = len(members)
            f = 1.0 if pop is None else (pop[members[0]] - n) / pop[members[0]]
            if n == 1:
                policy = design.lonely_psu
                if policy == "fail":
                    raise DesignError(f"stratum #{s + 1} has only one PSU (lonely_psu='fail')")
                if policy in ("remove", "certainty", "average"):
                    continue
                col = np.full(U, n_strata / (n_strata - 1))
                col[members] = 0.0
                cols.append(col)
                rscales.append((n_strata - 1) / n_strata)
                continue
            if f == 0:                            # census stratum: no replicates (R)
                continue
            for j in members:
                col = np.ones(U)
                col[members] = n / (n - 1)
                col[j] = 0.0
                cols.append(col)
                rscales.append(f * (n - 1) / n)
        if not cols:
            raise DesignError("every stratum was sampled completely: you have the whole "
                              "population (no variance)")
        A = np.column_stack(cols)
        scale = 1.0
        if design.lonely_psu == "average" and A.shape[1] < U:
            scale = U / A.shape[1]
        return ReplicateDesign._compressed(design.index, design.weights, unit, A, type="JKn",
                                           scale=scale, rscales=np.array(rscales),
                                           degf=_rank_degf(A), **kw)
    if type == "bootstrap":
        rng = np.random.default_rng(seed)
        A = np.zeros((U, replicates))
        for s in range(st.n_strata):
            members = np.flatnonzero(h == s)
            n = len(members)
            if pop is None:
                draws = rng.integers(0, n, size=(replicates, n))
            else:
                N = int(round(pop[members[0]]))
                pool = np.resize(np.arange(n), N)       # population replicated, R bootstratum
                draws = np.stack([rng.choice(pool, size=n, replace=False)
                                  for _ in range(replicates)])
            for r in range(replicates):
                A[members, r] = np.bincount(draws[r], minlength=n)
        per = 1.0 / np.mean(1.0 / nh)
        scale = per / ((per - 1) * (replicates - 1))
        return ReplicateDesign._compressed(design.index, design.weights, unit, A,
                                           type="bootstrap", scale=scale,
                                           rscales=np.ones(replicates), degf=_rank_degf(A),
                                           **kw)
    # BRR / Fay
    if not (nh == 2).all():
        bad = int(np.flatnonzero(nh != 2)[0])
        raise DesignError(f"BRR needs exactly two PSUs per stratum; stratum #{bad + 1} has "
                          f"{int(nh[bad])}")
    S = st.n_strata
    H = _hadamard(S + 1) if hadamard is None else _check_hadamard(hadamard, S + 1)
    rho = fay_rho if type == "Fay" else 0.0
    first = np.zeros(U, dtype=bool)
    seen = np.zeros(S, dtype=bool)
    for u in range(U):                           # first PSU of each stratum (data order)
        if not seen[h[u]]:
            first[u] = True
            seen[h[u]] = True
    sel = H[1 + h, :]                            # (U, R): 1 -> first PSU in the half sample
    A = np.where(first[:, None] == (sel == 1), 2 - rho, rho)
    R = A.shape[1]
    return ReplicateDesign._compressed(design.index, design.weights, unit, A, type=type,
                                       scale=1.0 / (R * (1 - rho) ** 2), rscales=np.ones(R),
                                       rho=rho if type == "Fay" else None, degf=_rank_degf(A),
                                       **kw)


def _rank_degf(A: np.ndarray) -> int:
    return int(np.linalg.matrix_rank(A)) - 1 if A.size else -1


def _hadamard(n: int) -> np.ndarray:
    """A 0/1 Sylvester Hadamard matrix with at least ``n`` rows (first row constant)."""
    H = np.array([[1]])
    while H.shape[0] < n:
        H = np.block([[H, H], [H, -H]])
    return (H > 0).astype(int)


def _check_hadamard(H, n: int) -> np.ndarray:
    H = np.asarray(H)
    vals = np.unique(H)
    if H.ndim != 2 or H.shape[0] < n or vals.size != 2:
        raise DesignError(f"hadamard must be a two-valued matrix with at least {n} rows")
    B = (H == vals[1]).astype(int)
    S = 2 * B - 1
    if not np.array_equal(S.T @ S, H.shape[0] * np.eye(H.shape[1], dtype=int)):
        raise DesignError("hadamard is not a Hadamard matrix (columns not orthogonal)")
    return B
