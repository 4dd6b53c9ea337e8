"""The variances of a linearisation design (:class:`~surveykit.design.SurveyDesign`): R
``svyrecvar`` over the design's stages, by domain and for contrasts between domains, from the
per-unit totals of the influence values (a part of the design, mixed into it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import DesignError
from ._common import first_of, unit_group_sums

if TYPE_CHECKING:
    from ._linear import _Stage


class _Variances:
    """:class:`SurveyDesign`'s variance methods."""

    def _rowwise_parts(self):
        """Every row its own (only-stage) unit, one variance weight per stratum and no
        lonely stratum left to "average": then the variances come from per-(stratum, group)
        moments, with no rows x domains matrix. ``None`` otherwise."""
        if len(self.stages) != 1 or self.stages[0].n_units != self.n:
            return None
        st = self.stages[0]
        if self.lonely_psu == "average" and not st.usable.all():
            return None
        h = st.stratum[st.unit]
        a = first_of(st.stratum, st.base_weight, st.n_strata)
        if not np.allclose(a[st.stratum], st.base_weight, rtol=1e-13, atol=0):
            return None                            # fpc varying within a stratum
        c = first_of(st.stratum, st.centred, st.n_strata)
        return h, st.n_strata, a, c, st.sampsize, st.undefined

    def _rowwise_var(self, g, G, ok, vx, vy, C1, C2) -> np.ndarray:
        """Variances of columns whose row totals are ``vy C1[g] - vx C2[g]``, from moments
        per (stratum, group): ``sum_h a_h (sum T^2 - (sum T)^2 / n_h)``."""
        h, H, a, centred, n_h, undefined = self._rowwise
        key = h[ok] * G + g[ok]
        x, y = vx[ok], vy[ok]

        def m(v):
            return np.bincount(key, v, H * G).reshape(H, G)

        Myy, Mxy, Mxx = m(y * y), m(x * y), m(x * x)
        Q = Myy @ (C1 * C1) - 2 * Mxy @ (C1 * C2) + Mxx @ (C2 * C2)
        L = m(y) @ C1 - m(x) @ C2
        V = a @ (Q - np.where(centred, 1.0 / n_h, 0.0)[:, None] * L * L)
        # the moments cancel: what is left below their rounding error is zero (a stratum
        # share in a stratified design, a proportion of 1, have variance exactly 0)
        size = np.abs(a) @ (Myy @ (C1 * C1) + 2 * np.abs(Mxy) @ np.abs(C1 * C2)
                            + Mxx @ (C2 * C2))
        V = np.where(V > 1e-12 * size, V, 0.0)
        return V * np.nan if undefined else V

    # ------------------------------------------------------------------ variance
    def _degf_of(self, rows: np.ndarray) -> int:
        psu = self._stage1_psu[rows]
        if psu.size == 0:
            return 0
        present = np.bincount(psu, minlength=self.stages[0].n_units) > 0
        st = self.stages[0]
        strata = np.bincount(st.stratum[present], minlength=st.n_strata) > 0
        return int(present.sum() - strata.sum())

    def _degf_groups(self, g: np.ndarray, G: int, rows: np.ndarray | None = None,
                     pairs: list[np.ndarray] | None = None) -> np.ndarray:
        """``degf`` of each group's subset (R ``degf(subset(design, g == k))``): first-stage
        units with a positive weight minus strata. With ``pairs`` (0/1 group-membership
        vectors), the ``degf`` of each union of groups instead. Memory grows with the
        distinct (unit, group) pairs, not units x groups."""
        ok = (g >= 0) & (self.weights > 0)
        if rows is not None:
            ok &= rows
        if self._rowwise is not None:                        # units are rows
            h, H = self._rowwise[0], self._rowwise[1]
            cells = np.bincount(h[ok] * G + g[ok], minlength=H * G).reshape(H, G)
            if pairs is None:
                return (cells.sum(axis=0) - (cells > 0).sum(axis=0)).astype(np.int64)
            return np.array([int(c.sum() - (c > 0).sum()) for c in
                             (cells[:, np.asarray(m) > 0].sum(axis=1) for m in pairs)])
        key = np.unique(self._stage1_psu[ok] * G + g[ok])
        psu, grp = key // G, key % G
        h = self._stage1_stratum
        if pairs is None:
            units = np.bincount(grp, minlength=G)
            strata = np.bincount(np.unique(h[psu] * G + grp) % G, minlength=G)
            return (units - strata).astype(np.int64)
        out = []
        for m in pairs:
            u = np.unique(psu[np.asarray(m)[grp] > 0])
            out.append(u.size - np.unique(h[u]).size)
        return np.array(out, dtype=np.int64)

    def _finest(self) -> _Stage:
        return self.stages[-1]

    def variance(self, influence) -> np.ndarray:
        """Covariance matrix of estimators with the given row influence values, R
        ``svyrecvar``.

        Parameters
        ----------
        influence : array (n,) or (n, k)
            Influence values of one or more estimators (for a total: ``w * y``; for a
            mean: ``w * (y - mean) / sum(w)``; 0 for rows outside a domain).

        Returns
        -------
        ndarray (k, k)

        Examples
        --------
        >>> import pandas as pd
        >>> from surveykit.design import SurveyDesign
        >>> df = pd.DataFrame({"psu": [1, 1, 2, 2, 3, 3], "y": [1.0, 2, 3, 4, 5, 9]})
        >>> d = SurveyDesign(df, ids="psu")
        >>> float(d.variance(df["y"].to_numpy())[0, 0])   # total of y: PSU totals 3, 7, 14
        93.0
        """
        Z = np.asarray(influence, dtype=float)
        if Z.ndim == 1:
            Z = Z[:, None]
        if Z.shape[0] != self.n:
            raise DesignError(f"influence has {Z.shape[0]} rows; the design has {self.n}")
        fin = self._finest()
        T = np.stack([np.bincount(fin.unit, Z[:, j], fin.n_units) for j in range(Z.shape[1])],
                     axis=1)
        return self._cov_from_totals(T)

    def _cov_from_totals(self, T: np.ndarray, *, diagonal: bool = False,
                         present: np.ndarray | None = None) -> np.ndarray:
        """Covariance (or its diagonal) of columns whose finest-stage unit totals are ``T``.

        ``present`` (finest units x columns, bool): the units with rows in each column's
        subset (domain and answered). R subsets the design for a domain or ``na.rm``, and
        its ``lonely_psu="average"`` counts only the strata present in the subset; the other
        policies do not depend on it (absent units have zero totals)."""
        totals = [None] * len(self.stages)
        totals[-1] = T
        pres = [None] * len(self.stages)
        if present is not None and self.lonely_psu == "average" and diagonal:
            pres[-1] = present.astype(float)
            for k in range(len(self.stages) - 1, 0, -1):
                pres[k - 1] = np.asarray(self.stages[k].parent_sum @ pres[k])
        else:
            present = None
        for k in range(len(self.stages) - 1, 0, -1):
            totals[k - 1] = self.stages[k].parent_sum @ totals[k]
        K = T.shape[1]
        V = np.zeros(K) if diagonal else np.zeros((K, K))
        for st, Tk, Pk in zip(self.stages, totals, pres, strict=True):
            mean = (st.stratum_sum @ Tk) / st.sampsize[:, None]
            Tc = Tk - np.where(st.centred[:, None], mean[st.stratum], 0.0)
            if present is not None:
                hp = np.asarray(st.stratum_sum @ Pk) > 0                  # strata present
                nstrat = np.asarray(st.call_sum @ hp.astype(float))
                nok = np.asarray(st.call_sum @ (hp & st.usable[:, None]).astype(float))
                with np.errstate(divide="ignore", invalid="ignore"):
                    avg = np.where(nok > 0, nstrat / nok, 0.0)
                bad = ((nok == 0) & (nstrat > 0) & (st.mult_call[:, None] > 0)).any(axis=0)
                Wk = st.base_weight[:, None] * avg[st.call_unit]
                V = V + (Wk * Tc * Tc).sum(axis=0)
                V = np.where(bad, np.nan, V)
                continue
            if diagonal:
                V = V + st.weight @ (Tc * Tc)
            else:
                V = V + (Tc * st.weight[:, None]).T @ Tc
            if st.undefined:
                V = V * np.nan
        return V

    def _domain_variances(self, y: np.ndarray, g: np.ndarray, G: int, means: np.ndarray,
                          D: np.ndarray, contrasts=(), cal=None, shift: float = 0.0, x=None,
                          weights=None):
        """Variances of domain means (domains = columns of the 0/1 group matrix ``D``) and of
        the differences ``contrasts`` [(i, j), ...] between them.

        ``means`` are the domain means; ``y`` may hold NaN (left out). With ``x`` the domain
        statistics are ratios ``sum w y / sum w x`` (R ``svyratio``). Returns
        ``(var (K,), var_contrasts (P,))``. ``weights`` replaces the design's weights (a
        calibration of them, with ``cal``).
        """
        w = self.weights if weights is None else weights
        if x is None:
            ok = np.isfinite(y) & (g >= 0)
            xx = np.where(ok, 1.0, 0.0)
            yy = np.where(ok, y - shift, 0.0)
        else:
            ok = np.isfinite(y) & np.isfinite(x) & (g >= 0)
            xx, yy, shift = np.where(ok, x, 0.0), np.where(ok, y, 0.0), 0.0
        fin = self._finest()
        if self._rowwise is not None and cal is None:
            W = np.bincount(g[ok], (w * xx)[ok], G)
            C1, C2 = _columns(D, means - shift, contrasts, W)
            return _split(self._rowwise_var(g, G, ok, w * xx, w * yy, C1, C2), D.shape[1])
        Sw, Swy = unit_group_sums(fin.unit, fin.n_units, g, G, ok, [w * xx, w * yy])
        C1, C2 = _columns(D, means - shift, contrasts, Sw)
        if cal is not None:
            return _split(self._calibrated_cov(Sw, Swy, C1, C2, xx, yy, g, G, ok, cal, w),
                          D.shape[1])
        cnt = None
        if self.lonely_psu == "average":
            (cnt,) = unit_group_sums(fin.unit, fin.n_units, g, G, ok, [np.ones(self.n)])
            Dp = _columns_presence(D, contrasts)
        out = np.zeros(C1.shape[1])
        step = max(1, (1 << 22) // max(fin.n_units, 1))
        for a in range(0, C1.shape[1], step):
            b = min(a + step, C1.shape[1])
            T = np.asarray(Swy @ C1[:, a:b] - Sw @ C2[:, a:b])
            pres = None if cnt is None else np.asarray(cnt @ Dp[:, a:b]) > 0
            out[a:b] = self._cov_from_totals(T, diagonal=True, present=pres)
        return _split(out, D.shape[1])

    def _calibrated_cov(self, Sw, Swy, C1, C2, xx, yy, g, G, ok, cal, w):
        """As R ``calibrate()`` on this design: the influence values are replaced by their
        residuals from the base-weighted regression on the calibration model before the
        design variance (R ``svyrecvar``'s stage-0 ``qr.resid``)."""
        from scipy import sparse

        row_unit, M, w0u = cal
        U = M.shape[0]
        fin = self._finest()
        has = row_unit >= 0
        rho_w = np.zeros(self.n)
        rho_w[has] = np.where(w[has] > 0, w0u[row_unit[has]], 0.0)   # rho * w = w0
        A1, A2 = unit_group_sums(np.where(has, row_unit, 0), U, g, G, ok & has,
                                 [rho_w * xx, rho_w * yy])
        R = np.asarray(A2 @ C1 - A1 @ C2)                        # sum rho z per cal unit
        b0 = np.bincount(row_unit[has], w0u[row_unit[has]], U)
        A = M.T @ (M * b0[:, None])
        h = M @ (np.linalg.pinv(A) @ (M.T @ R))                  # (U, K)
        Pw = sparse.csr_matrix((w[has], (fin.unit[has], row_unit[has])),
                               shape=(fin.n_units, U))
        T = np.asarray(Swy @ C1 - Sw @ C2) - Pw @ h
        return self._cov_from_totals(T, diagonal=True)

    def _total_variances(self, y: np.ndarray, g: np.ndarray, G: int) -> np.ndarray:
        """Variances of the domain totals ``sum w y`` (y NaN: left out), R ``svytotal``."""
        ok = np.isfinite(y) & (g >= 0)
        fin = self._finest()
        if self._rowwise is not None:
            eye = np.eye(G)
            return self._rowwise_var(g, G, ok, np.zeros(self.n),
                                     self.weights * np.where(ok, y, 0.0), eye, 0 * eye)
        Swy, cnt = unit_group_sums(fin.unit, fin.n_units, g, G, ok,
                                   [self.weights * np.where(ok, y, 0.0), np.ones(self.n)])
        T = np.asarray(Swy @ np.eye(G))
        return self._cov_from_totals(T, diagonal=True, present=np.asarray(cnt @ np.eye(G)) > 0)


def _columns(D, means, contrasts, Sw):
    """Coefficients (C1, C2) of the unit totals ``Swy @ C1 - Sw @ C2`` of each domain mean's
    influence ``w (y - m) / W`` and of each contrast between two domains (``Sw``: the
    (unit, group) sums of the weights, or their group totals)."""
    W = np.asarray(Sw.sum(axis=0) if np.ndim(Sw) == 2 else Sw).ravel() @ D
    with np.errstate(divide="ignore", invalid="ignore"):
        C1 = D / W
        C2 = D * (means / W)
    C1 = np.nan_to_num(C1, nan=0.0, posinf=0.0, neginf=0.0)
    C2 = np.nan_to_num(C2, nan=0.0, posinf=0.0, neginf=0.0)
    if contrasts:
        i = np.array([c[0] for c in contrasts])
        j = np.array([c[1] for c in contrasts])
        C1 = np.hstack([C1, C1[:, i] - C1[:, j]])
        C2 = np.hstack([C2, C2[:, i] - C2[:, j]])
    return C1, C2


def _columns_presence(D, contrasts):
    """Which groups each column (domain, then contrast) draws its rows from."""
    P = (D > 0).astype(float)
    if contrasts:
        i = np.array([c[0] for c in contrasts])
        j = np.array([c[1] for c in contrasts])
        P = np.hstack([P, ((P[:, i] + P[:, j]) > 0).astype(float)])
    return P


def _split(v: np.ndarray, K: int):
    return v[:K], v[K:]
