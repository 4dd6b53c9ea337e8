"""Design-based quantiles (R ``svyquantile``, survey >= 4.0, with ``svyby`` domains)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from .._dist import t_ppf
from .._util import as_list, check_columns
from .._weighted_stats import _numeric
from ..errors import DesignError
from ._common import check_design
from ._estimators import _banners

__all__ = ["quantile"]

INTERVALS = ("woodruff", "replicate")


def quantile(df: pd.DataFrame, columns: str | Iterable[str], *, design,
             probs: float | Sequence[float] = 0.5, by: str | Iterable[str] | None = None,
             level: float = 0.95, interval: str = "woodruff") -> pd.DataFrame:
    """Weighted quantiles with design-based confidence intervals, R ``svyquantile``.

    The quantile is R's default rule ``qrule = "math"``: with the answers sorted and ``C_k``
    the cumulative weight of the first ``k``, the answer ``x_(k)`` for the smallest ``k``
    with ``C_k >= p W`` (the inverse of the weighted distribution function; no
    interpolation). As R, when ``p W`` is below the first cumulative weight the second
    smallest answer is returned. Cumulative weights are summed in extended precision, as R.

    Intervals (R's defaults, also on replicate designs):

    * ``"woodruff"`` (R ``interval.type = "mean"``): the design-based SE of the estimated
      distribution function at the quantile, ``F = mean(x <= q)`` (with the design's
      strata, clusters, fpc, calibration or replicate weights), gives the interval
      ``F +- t se`` on the probability scale, with ``t`` on the domain's design degrees
      of freedom (R ``degf`` of the subset); its ends are mapped back through the same
      quantile rule (an end outside [0, 1] gives NaN, as R). ``se`` is R's
      ``(ci_high - ci_low) / (2 t)``.
    * ``"replicate"`` (R ``interval.type = "quantile"``, replicate designs only): the
      quantile is recomputed with every replicate weight and its replicate variance gives
      ``se`` and ``q +- t se`` (R warns that jackknife replicates may not give valid SEs
      for quantiles; so does this function's docstring, not a warning).

    Domains (``by``) are R ``svyby``: each group's quantile, interval and degrees of freedom
    come from the design restricted to the group. Missing answers are left out (R
    ``na.rm = TRUE``), as are rows with weight 0 (and negative weights, which a linear
    calibration can make; R keeps those in its cumulative sums).

    Parameters
    ----------
    df : DataFrame
        The data the design was made from (not modified).
    columns : str or list of str
        Numeric columns.
    design : SurveyDesign, ReplicateDesign or a calibrated design
    probs : float or list of float
        Probabilities in [0, 1] (0.5: median).
    by : str or list of str, optional
        Domains: one row per group value of each ``by`` variable.
    level : float
        Confidence level.
    interval : {"woodruff", "replicate"}

    Returns
    -------
    DataFrame
        ``variable, stat, p, [by, group], estimate, se, ci_low, ci_high, n, df``; ``n``
        counts the answers with a positive weight.

    Examples
    --------
    >>> from surveykit.design import SurveyDesign
    >>> df = pd.DataFrame({"psu": [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8],
    ...                    "y": [3.0, 5, 1, 2, 8, 9, 4, 6, 7, 7, 2, 3, 5, 6, 9, 8]})
    >>> q = quantile(df, "y", design=SurveyDesign(df, ids="psu"), probs=[0.25, 0.5])
    >>> q[["p", "estimate", "ci_low", "ci_high"]]
          p  estimate  ci_low  ci_high
    0  0.25       3.0     NaN      7.0
    1  0.50       5.0     2.0      9.0

    The lower end of the first interval falls below probability 0: NaN, as R.
    """
    cols, bys = as_list(columns), as_list(by)
    if not cols:
        raise DesignError("give at least one column")
    check_columns(df, [*cols, *bys], error=DesignError)
    check_design(df, design)
    ps = np.atleast_1d(np.asarray(probs, dtype=float))
    if ps.ndim != 1 or ps.size == 0 or not ((ps >= 0) & (ps <= 1)).all():
        raise DesignError(f"probs must be probabilities between 0 and 1, not {probs!r}")
    if not 0 < level < 1:
        raise DesignError(f"level must be between 0 and 1, not {level!r}")
    if interval not in INTERVALS:
        raise DesignError(f"interval must be one of {INTERVALS}, not {interval!r}")
    replicate = hasattr(design, "n_replicates")
    if interval == "replicate" and not replicate:
        raise DesignError("interval='replicate' recomputes the quantile with replicate "
                          "weights: it needs a ReplicateDesign (or use 'woodruff')")
    w = design.weights
    frames = []
    for col in cols:
        y = _numeric(df, col)
        answered = np.isfinite(y) & (w > 0)
        order_y = np.argsort(np.where(answered, y, np.inf), kind="stable")
        for b, g, levels in _banners(df, bys):
            G = len(levels)
            ok = answered & (g >= 0)
            key = np.where(ok, g, G)[order_y]
            if G < np.iinfo(np.int16).max:
                key = key.astype(np.int16)             # numpy's stable sort: radix
            order = order_y[np.argsort(key, kind="stable")]
            order = order[: int(ok.sum())]
            rule = _Rule(y[order], w[order], g[order], G)
            n = rule.n.astype(np.int64)
            dfree = design._degf_groups(g, G, rows=ok).astype(float)
            with np.errstate(invalid="ignore"):
                t = t_ppf(0.5 + level / 2, np.where(dfree > 0, dfree, np.nan))
            ests = [rule.quantile(np.full(G, p)) for p in ps]
            if interval == "woodruff":
                cis = _woodruff(design, rule, y, g, G, ok, ests, t)
            for i, p in enumerate(ps):
                est = ests[i]
                if interval == "woodruff":
                    lo, hi, se = cis[i]
                else:
                    se = _replicate_se(design, order, rule, p, est)
                    lo, hi = est - t * se, est + t * se
                frame = {"variable": col, "stat": "quantile", "p": p}
                if b is not None:
                    frame.update({"by": b, "group": levels})
                frame.update({"estimate": est, "se": se, "ci_low": lo, "ci_high": hi,
                              "n": n, "df": dfree})
                f = pd.DataFrame(frame)
                frames.append(f[n > 0] if b is not None else f)
    out = pd.concat(frames, ignore_index=True)
    out.attrs.update({
        "se": design.method, "level": level, "qrule": "R svyquantile qrule='math'",
        "interval": ("Woodruff: design SE of F(q), t on the domain's design df, mapped back "
                     "through the quantile rule (R interval.type='mean')"
                     if interval == "woodruff" else
                     "replicate variance of the replicate quantiles, q +- t se (R "
                     "interval.type='quantile')")})
    return out


class _Rule:
    """R's ``qrule_math`` for every group at once: the answers sorted by (group, value)."""

    def __init__(self, x: np.ndarray, w: np.ndarray, g: np.ndarray, G: int) -> None:
        self.x = x
        self.n = np.bincount(g, minlength=G)
        self.start = np.concatenate([[0], np.cumsum(self.n)[:-1]])
        self.cum = self.cumulate(w)

    def cumulate(self, w: np.ndarray) -> list[np.ndarray]:
        """Cumulative weights within each group (extended precision, as R's cumsum)."""
        c = np.cumsum(w.astype(np.longdouble))
        out = []
        for s, k in zip(self.start, self.n, strict=True):
            before = c[s - 1] if s > 0 else np.longdouble(0)
            out.append((c[s:s + k] - before).astype(float))
        return out

    def quantile(self, p: np.ndarray, cum: list[np.ndarray] | None = None) -> np.ndarray:
        """Quantile ``p[k]`` of each group k (NaN where ``p`` is NaN or the group empty).
        ``cum``: cumulative weights of other (replicate) weights, zeros dropped as R."""
        cum = self.cum if cum is None else cum
        out = np.full(len(p), np.nan)
        for k, (s, m) in enumerate(zip(self.start, self.n, strict=True)):
            c = cum[k]
            if m == 0 or not np.isfinite(p[k]) or c[-1] <= 0:
                continue
            x = self.x[s:s + m]
            if cum is not self.cum:                   # replicate: zero weights dropped
                pos_w = np.diff(np.concatenate([[0.0], c])) > 0
                x, c = x[pos_w], c[pos_w]
            W = c[-1]
            target = p[k] * W
            pos = max(int(np.searchsorted(c, target, side="right")), 1)   # R last(): 1
            wlow = p[k] - c[pos - 1] / W
            out[k] = x[pos - 1] if wlow == 0 else x[min(pos, len(x) - 1)]
        return out


def _woodruff(design, rule: _Rule, y, g, G, ok, ests, t) -> list[tuple]:
    """R ``woodruffCI(method = "mean")`` in every group, for each quantile in ``ests``:
    ``(ci_low, ci_high, se)``."""
    w = design.weights
    gg = np.where(g >= 0, g, 0)
    W = np.bincount(g[ok], w[ok], G)
    zs, Fs = [], []
    for est in ests:
        with np.errstate(invalid="ignore"):
            z = np.where(ok, (y <= est[gg]).astype(float), np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            Fs.append(np.bincount(g[ok], (w * z)[ok], G) / W)
        zs.append(z)
    if hasattr(design, "_replicate_group_sums"):
        # one pass over the replicate weights for every probability (R: one svymean each)
        sums = design._replicate_group_sums([np.ones(len(y))] + [np.where(ok, z, 0.0)
                                                                  for z in zs], g, G, ok)
        with np.errstate(divide="ignore", invalid="ignore"):
            var = [design._variance_columns(S / sums[0], F)
                   for S, F in zip(sums[1:], Fs, strict=True)]
    else:
        var = [design._domain_variances(z, g, G, F, np.eye(G))[0]
               for z, F in zip(zs, Fs, strict=True)]
    out = []
    for F, v in zip(Fs, var, strict=True):
        se_f = np.sqrt(v)
        plo, phi = F - t * se_f, F + t * se_f
        with np.errstate(invalid="ignore"):
            lo = rule.quantile(np.where(plo >= 0, plo, np.nan))
            hi = rule.quantile(np.where(phi <= 1, phi, np.nan))
        out.append((lo, hi, (hi - lo) / (2 * t)))
    return out


def _replicate_se(design, order, rule: _Rule, p, est):
    """R ``repCI``: the quantile under every replicate weight, replicate variance."""
    R = design.n_replicates
    G = len(rule.n)
    th = np.empty((R, G))
    pp = np.full(G, p)
    full = design._full
    for r in range(R):
        wr = (full[order, r] if full is not None
              else design._A[design._unit[order], r] * design.weights[order])
        th[r] = rule.quantile(pp, rule.cumulate(np.asarray(wr, dtype=float)))
    return np.sqrt(design._variance_columns(th, est))
