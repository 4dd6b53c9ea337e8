"""Results of a PLS path model: :class:`PLSResult` and the construct-level :class:`IPMAResult`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._dist import t_sf
from .._util import short_repr
from ..errors import PLSError
from . import _measures as ms
from ._spec import ModelSpec


def _fmt(v: float) -> str:
    return f"{v:.3f}"


@dataclass(repr=False)
class PLSResult:
    """A fitted PLS path model (see :func:`surveykit.pls.pls`).

    Frames (one row per estimate; with a bootstrap, ``*_se`` are bootstrap SEs and
    ``*_ci_low``/``*_ci_high`` percentile intervals at ``level``):

    - ``outer_model``: construct, item, mode, weight (outer weight), loading, communality,
      redundancy, index_weight (the item's share of the construct's 0-100 index);
    - ``crossloadings``: item by construct correlations (``block`` names the item's own);
    - ``inner_model``: one row per path: from, to, estimate, se, t, p (OLS of each
      endogenous construct on its predecessors);
    - ``constructs``: construct, label, mode, type, n_items, r2, r2_adj, block_communality,
      mean_redundancy, ave, index (weighted mean 0-100 index: the construct's performance);
    - ``effects``: from, to, direct, indirect, total, for every pair joined by a route;
    - ``unidim``: cronbach_alpha, dillon_goldstein_rho, eig_1st, eig_2nd per block;
    - ``htmt``: construct_a, construct_b, htmt for every pair of constructs;
    - ``gof``: gof, mean_communality, mean_r2;
    - ``scores`` (standardized) and ``index_scores`` (0-100): one row per row of the data
      (NaN for respondents left out).

    ``replicates`` holds the bootstrap draws (one row per successful replicate) behind the
    intervals: weight, loading, path, r2, total, index, htmt, gof.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from surveykit.pls import pls
    >>> rng = np.random.default_rng(2)
    >>> n = 400
    >>> img = rng.normal(size=n)
    >>> sat = 0.5 * img + rng.normal(scale=0.85, size=n)
    >>> loy = 0.3 * img + 0.5 * sat + rng.normal(scale=0.75, size=n)
    >>> d = pd.DataFrame({f"{name}{i}": np.clip(np.round(7 + 1.6 * f + rng.normal(size=n)),
    ...                                         1, 10)
    ...                   for name, f in (("img", img), ("sat", sat), ("loy", loy))
    ...                   for i in (1, 2, 3)})
    >>> res = pls(d, {"IMAG": ["img1", "img2", "img3"], "SAT": ["sat1", "sat2", "sat3"],
    ...               "LOY": ["loy1", "loy2", "loy3"]},
    ...           {"SAT": ["IMAG"], "LOY": ["IMAG", "SAT"]}, boot=100, seed=1,
    ...           scale_range=(1, 10))
    >>> print(res.effects[["from", "to", "direct", "indirect", "total"]].round(2)
    ...       .to_string(index=False))
    from  to  direct  indirect  total
    IMAG SAT    0.44       0.0   0.44
    IMAG LOY    0.23       0.2   0.43
     SAT LOY    0.46       0.0   0.46
    >>> ip = res.ipma()
    >>> ip.target, ip.table["construct"].tolist()
    ('LOY', ['IMAG', 'SAT'])
    >>> fig = res.plot()
    """

    spec: ModelSpec
    scheme: str
    scaled: bool
    n: int
    n_eff: float
    iterations: int
    outer_model: pd.DataFrame
    crossloadings: pd.DataFrame
    inner_model: pd.DataFrame
    constructs: pd.DataFrame
    effects: pd.DataFrame
    unidim: pd.DataFrame
    htmt: pd.DataFrame
    gof: pd.DataFrame
    scores: pd.DataFrame
    index_scores: pd.DataFrame
    labels: dict
    boot: int = 0
    boot_failed: int = 0
    level: float = 0.95
    seed: int | None = None
    notes: list[str] = field(default_factory=list)
    replicates: dict = field(default_factory=dict)

    # -- views -------------------------------------------------------------------------
    def label(self, construct: str) -> str:
        return self.labels.get(construct, construct)

    @property
    def path_coefficients(self) -> pd.DataFrame:
        """Square matrix of path coefficients: row = target, column = source (R's
        ``path_coefs``)."""
        cs = list(self.spec.constructs)
        out = pd.DataFrame(0.0, index=cs, columns=cs)
        for _, r in self.inner_model.iterrows():
            out.loc[r["to"], r["from"]] = r["estimate"]
        return out

    def htmt_matrix(self) -> pd.DataFrame:
        """HTMT as a square, symmetric matrix (NaN on the diagonal)."""
        cs = list(self.spec.constructs)
        out = pd.DataFrame(np.nan, index=cs, columns=cs)
        for _, r in self.htmt.iterrows():
            out.loc[r["construct_a"], r["construct_b"]] = r["htmt"]
            out.loc[r["construct_b"], r["construct_a"]] = r["htmt"]
        return out

    def to_frame(self) -> pd.DataFrame:
        """Every estimate in one long table: kind, parameter, estimate, se, ci_low, ci_high.

        ``kind`` is one of path, r2, total_effect, weight, loading, index, htmt, gof; ``se``
        is the bootstrap SE (the OLS SE for paths when there is no bootstrap).
        """
        parts = []

        def add(kind, names, frame, col, prefix=None):
            boot = {k: (f"{prefix}_{k}" if prefix else k) for k in ("se", "ci_low", "ci_high")}
            if prefix is None:          # paths: OLS SE unless bootstrapped
                boot["se"] = "boot_se" if self.boot else "se"
            part = pd.DataFrame({"kind": kind, "parameter": list(names),
                                 "estimate": frame[col].to_numpy(float)})
            for key, c in boot.items():
                part[key] = frame[c].to_numpy(float) if c in frame else np.nan
            parts.append(part)

        im = self.inner_model
        add("path", im["from"] + " -> " + im["to"], im, "estimate")
        endo = self.constructs[self.constructs["type"] == "endogenous"]
        add("r2", endo["construct"], endo, "r2", "r2")
        ef = self.effects
        add("total_effect", ef["from"] + " -> " + ef["to"], ef, "total", "total")
        om = self.outer_model
        add("weight", om["construct"] + ": " + om["item"], om, "weight", "weight")
        add("loading", om["construct"] + ": " + om["item"], om, "loading", "loading")
        add("index", self.constructs["construct"], self.constructs, "index", "index")
        ht = self.htmt
        add("htmt", ht["construct_a"] + " / " + ht["construct_b"], ht, "htmt", "htmt")
        add("gof", ["GoF"], self.gof, "gof", "gof")
        return pd.concat(parts, ignore_index=True)

    # -- text --------------------------------------------------------------------------
    @property
    def _title(self) -> str:
        boot = (f", {self.boot - self.boot_failed} bootstrap replicates"
                if self.boot else "")
        return (f"PLS path model ({self.scheme} scheme, "
                f"{'standardized' if self.scaled else 'unstandardized'} items; n = {self.n}, "
                f"n_eff = {self.n_eff:.0f}{boot}; {self.iterations} iterations)")

    def _tables(self) -> list[tuple[str, pd.DataFrame]]:
        im = self.inner_model.copy()
        cols = ["from", "to", "estimate", "se", "t", "p"]
        if self.boot:
            cols += ["boot_se", "ci_low", "ci_high"]
        cons = self.constructs[["construct", "mode", "type", "r2", "ave", "index"]].merge(
            self.unidim[["construct", "cronbach_alpha", "dillon_goldstein_rho"]],
            on="construct")
        return [("Paths", im[cols]), ("Constructs", cons),
                ("Effects", self.effects[["from", "to", "direct", "indirect", "total"]]),
                ("Outer model", self.outer_model[["construct", "item", "weight", "loading",
                                                  "communality", "index_weight"]])]

    def summary(self) -> str:
        notes = "".join(f"\nnote: {n}" for n in self.notes)
        g = self.gof.iloc[0]
        body = "\n\n".join(f"{name}\n{t.to_string(index=False, float_format=_fmt)}"
                           for name, t in self._tables())
        return f"{self._title}\nGoF = {g['gof']:.3f}{notes}\n\n{body}"

    def __repr__(self) -> str:
        return short_repr(self)

    def _repr_html_(self) -> str:
        notes = "".join(f"<p><i>note: {n}</i></p>" for n in self.notes)
        g = self.gof.iloc[0]
        body = "".join(f"<h5>{name}</h5>" + t.to_html(index=False, float_format="%.3f")
                       for name, t in self._tables())
        return f"<h4>{self._title}</h4><p>GoF = {g['gof']:.3f}</p>{notes}{body}"

    # -- charts and IPMA ---------------------------------------------------------------
    def plot(self, *, labels: dict | None = None, title: str | None = None):
        """Path diagram: constructs left to right in path order, arrows labelled with path
        coefficients (width by size, dashed when negative), R² under each endogenous
        construct. Returns the matplotlib Figure."""
        from ._plot import path_diagram

        return path_diagram(self, labels=labels, title=title)

    def chart(self, *, labels: dict | None = None, title: str | None = None):
        """The same path diagram as inline SVG (:func:`surveykit.charts.path_chart`): what
        report pages show, and what Jupyter displays as crisp, searchable text."""
        from ..charts import path_chart

        return path_chart(self, labels=labels, title=title)

    def ipma(self, target: str | None = None, *, importance: str = "total_effect",
             cuts="mean", performance=None) -> IPMAResult:
        """Construct-level importance-performance map for ``target``.

        Parameters
        ----------
        target : str, optional
            The outcome construct (default: the one construct without successors; an error
            names the candidates when there are several).
        importance : {"total_effect", "total_effect_unstd"}
            Which importance places the constructs and cuts the quadrants: the standardized
            total effect on ``target``, or the same effect in index points (how many 0-100
            points ``target`` moves when the construct's index rises by one point; the
            convention of SmartPLS's IPMA). Both are in the table.
        cuts : "mean", "median" or (importance_cut, performance_cut)
            Quadrant boundaries over the constructs; values on a cut count as high.
        performance : dict, optional
            ``{construct: 0-100 performance}`` for every construct of the map and the
            target, in place of this model's weighted mean index (their CIs are then left
            out): e.g. a segment's mean index under the whole sample's model, so that the
            segment's map shows the scores of its index table.

        Returns
        -------
        IPMAResult
            ``table`` with total_effect, total_effect_unstd, performance (weighted mean
            0-100 index) and quadrant; with a bootstrap, CIs of the total effect and of
            the performance.
        """
        if importance not in ("total_effect", "total_effect_unstd"):
            raise PLSError(f"importance={importance!r}; use 'total_effect' or "
                           "'total_effect_unstd'")
        from ..drivers import QUADRANTS

        cs = list(self.spec.constructs)
        if target is None:
            sinks = [c for k, c in enumerate(cs) if not self.spec.path[:, k].any()]
            if len(sinks) != 1:
                raise PLSError(f"several constructs have no successor ({sinks}); name the "
                               "target, e.g. result.ipma('LOY')")
            target = sinks[0]
        if target not in cs:
            raise PLSError(f"target {target!r} is not a construct of the model ({cs})")
        ef = self.effects[self.effects["to"] == target]
        if ef.empty:
            raise PLSError(f"no construct has an effect on {target!r} (it is exogenous); "
                           "choose an endogenous target")
        cons = self.constructs.set_index("construct")
        if performance is not None:
            missing = [c for c in [*ef["from"], target] if c not in performance]
            if missing:
                raise PLSError(f"performance lacks {', '.join(map(repr, missing))}; give a "
                               "0-100 value for every construct of the map and the target")
            cons = cons.drop(columns=[c for c in cons if c.startswith("index_ci")])
            cons["index"] = [float(performance.get(c, np.nan)) for c in cons.index]
        sd = cons["index_sd"]
        rows = []
        for _, r in ef.iterrows():
            row = {"construct": r["from"], "label": self.label(r["from"]),
                   "total_effect": r["total"],
                   "total_effect_unstd": r["total"] * sd[target] / sd[r["from"]],
                   "performance": cons.loc[r["from"], "index"]}
            for col in ("total_ci_low", "total_ci_high"):
                if col in r:
                    row[col.replace("total", "total_effect")] = r[col]
            for col in ("index_ci_low", "index_ci_high"):
                if col in cons:
                    row[col.replace("index", "performance")] = cons.loc[r["from"], col]
            rows.append(row)
        table = pd.DataFrame(rows)
        imp, perf = table[importance].to_numpy(float), table["performance"].to_numpy(float)
        if isinstance(cuts, str):
            if cuts not in ("mean", "median"):
                raise PLSError(f"cuts={cuts!r}; use 'mean', 'median' or (importance_cut, "
                               "performance_cut)")
            agg = np.nanmean if cuts == "mean" else np.nanmedian
            ic, pc = float(agg(imp)), float(agg(perf))
        else:
            try:
                ic, pc = (float(v) for v in cuts)
            except (TypeError, ValueError) as exc:
                raise PLSError(f"cuts={cuts!r}; use 'mean', 'median' or (importance_cut, "
                               "performance_cut)") from exc
        table["quadrant"] = [QUADRANTS[(bool(i >= ic), bool(p >= pc))]
                             for i, p in zip(imp, perf, strict=True)]
        return IPMAResult(table=table, target=target, target_label=self.label(target),
                          target_performance=float(cons.loc[target, "index"]),
                          importance=importance, importance_cut=ic, performance_cut=pc)


@dataclass(repr=False)
class IPMAResult:
    """Construct-level importance-performance map (see :meth:`PLSResult.ipma`).

    ``table``: construct, label, total_effect, total_effect_unstd, performance (0-100),
    quadrant, and with a bootstrap the CIs of total effect and performance.
    """

    table: pd.DataFrame
    target: str
    target_label: str
    target_performance: float
    importance: str
    importance_cut: float
    performance_cut: float

    @property
    def act_here(self) -> list[str]:
        """Constructs of high importance and low performance, most important first."""
        t = self.table[self.table["quadrant"] == "act here"]
        return t.sort_values(self.importance, ascending=False)["construct"].tolist()

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    @property
    def _title(self) -> str:
        return (f"Importance-performance map of {self.target_label} (index "
                f"{self.target_performance:.1f})")

    def summary(self) -> str:
        return (f"{self._title}; act here -> {', '.join(self.act_here) or '-'}\n"
                f"{self.table.to_string(index=False, float_format=_fmt)}")

    def __repr__(self) -> str:
        return short_repr(self)

    def _repr_html_(self) -> str:
        return (f"<h4>{self._title}</h4><p><b>Act here</b>: "
                f"{', '.join(self.act_here) or '-'}</p>"
                + self.table.to_html(index=False, float_format="%.3f"))

    def plot(self, *, title: str | None = None):
        """Quadrant chart: importance (total effect on the target) across, 0-100
        performance up, quadrant cuts dashed. Returns the matplotlib Figure."""
        from ._plot import ipma_chart

        return ipma_chart(self, title=title)

    def chart(self, *, title: str | None = None):
        """The same map as inline SVG (:func:`surveykit.charts.quadrant_chart` on a linear
        importance axis, bootstrap intervals as whiskers when there are any), for pages."""
        from ..charts import quadrant_chart

        t = self.table
        lo_x, hi_x = f"{self.importance}_ci_low", f"{self.importance}_ci_high"
        intervals = (lo_x, hi_x, "performance_ci_low", "performance_ci_high") \
            if lo_x in t and "performance_ci_low" in t else None
        cols = [self.importance, *(intervals[:2] if intervals else ())]
        ycols = ["performance", *(intervals[2:] if intervals else ())]
        xlim, ylim = (_margins(np.append(t[cols].to_numpy(float), self.importance_cut), 0.18),
                      _margins(np.append(t[ycols].to_numpy(float), self.performance_cut), 0.15))
        unit = (" (index points per index point)" if self.importance == "total_effect_unstd"
                else " (standardized)")
        return quadrant_chart(
            t, importance_cut=self.importance_cut, performance_cut=self.performance_cut,
            importance=self.importance, label="construct",
            labels=dict(zip(t["construct"], t["label"], strict=True)),
            performance_label="performance (0-100 index)", xlim=xlim, ylim=ylim,
            title=title or f"Importance-performance map: {self.target_label} "
                           f"(index {self.target_performance:.1f})",
            importance_label=f"total effect on {self.target_label}{unit}", sqrt=False,
            intervals=intervals, noun="construct")


def _margins(values: np.ndarray, frac: float) -> tuple[float, float]:
    """The range of ``values`` widened by ``frac`` of its span on each side (matplotlib's
    ``ax.margins``)."""
    v = values[np.isfinite(values)]
    lo, hi = float(v.min()), float(v.max())
    pad = frac * (hi - lo if hi > lo else 1.0)
    return lo - pad, hi + pad


# -- assembling the result ---------------------------------------------------------------
def _ci(draws: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a = (1 - level) / 2
    if not len(draws):
        nan = np.full(draws.shape[1], np.nan)
        return nan, nan, nan
    lo, hi = np.quantile(draws, [a, 1 - a], axis=0)
    se = draws.std(axis=0, ddof=1) if len(draws) > 1 else np.full(draws.shape[1], np.nan)
    return se, lo, hi


def _add_ci(frame: pd.DataFrame, boot: dict | None, key: str, prefix: str, level: float,
            plain: bool = False) -> None:
    if boot is None:
        return
    se, lo, hi = _ci(boot[key], level)
    names = ("boot_se", "ci_low", "ci_high") if plain else (
        f"{prefix}_se", f"{prefix}_ci_low", f"{prefix}_ci_high")
    for name, v in zip(names, (se, lo, hi), strict=True):
        frame[name] = v


def build_result(*, spec: ModelSpec, scheme, scaled, n, n_eff, iterations, W, est, R_items,
                 wbar, ranges, mean, index_sd, scores, index_scores, boot, boot_requested,
                 level, seed, labels, notes) -> PLSResult:
    cs = list(spec.constructs)
    items = spec.items
    b = spec.block_index
    L = len(cs)
    loadings = est["loadings"]
    r2 = est["r2"]
    comm = loadings ** 2
    outer = pd.DataFrame({
        "construct": [cs[k] for k in b], "item": items, "mode": [spec.modes[cs[k]] for k in b],
        "weight": W.sum(axis=1), "loading": loadings, "communality": comm,
        "redundancy": comm * r2[b], "index_weight": wbar})
    _add_ci(outer, boot, "weight", "weight", level)
    _add_ci(outer, boot, "loading", "loading", level)
    xl = pd.DataFrame(est["crossloadings"], index=pd.Index(items, name="item"), columns=cs)
    xl.insert(0, "block", [cs[k] for k in b])
    # inner model: OLS on the standardized scores (weighted, n - k - 1 df)
    RY = est["lv_corr"]
    rows = []
    for k, c in enumerate(cs):
        pred = np.flatnonzero(spec.path[k])
        if not pred.size:
            continue
        dfree = n - len(pred) - 1
        inv = np.linalg.inv(RY[np.ix_(pred, pred)])
        se = np.sqrt((1 - r2[k]) / dfree * np.diag(inv))
        for j, s in zip(pred, se, strict=True):
            t = est["paths"][k, j] / s
            rows.append({"from": cs[j], "to": c, "estimate": est["paths"][k, j], "se": s,
                         "t": t, "p": 2 * t_sf(abs(t), dfree)})
    inner = pd.DataFrame(rows)
    _add_ci(inner, boot, "path", "", level, plain=True)
    endo = spec.path.any(axis=1)
    kpred = spec.path.sum(axis=1)
    ave = [float(comm[b == k].mean()) if spec.modes[c] == "A" else np.nan
           for k, c in enumerate(cs)]
    index_mean = ms.index_values(mean, wbar, ranges, spec)
    cons = pd.DataFrame({
        "construct": cs, "label": [labels.get(c, c) for c in cs],
        "mode": [spec.modes[c] for c in cs],
        "type": np.where(endo, "endogenous", "exogenous"),
        "n_items": np.bincount(b, minlength=L),
        "r2": r2, "r2_adj": np.where(endo, 1 - (1 - r2) * (n - 1) / (n - kpred - 1), 0.0),
        "block_communality": [comm[b == k].mean() for k in range(L)],
        "mean_redundancy": [(comm * r2[b])[b == k].mean() for k in range(L)],
        "ave": ave, "index": index_mean, "index_sd": index_sd})
    if boot is not None:
        se, lo, hi = _ci(boot["r2"], level)
        for name, v in (("r2_se", se), ("r2_ci_low", lo), ("r2_ci_high", hi)):
            cons[name] = np.nan
            cons.loc[endo, name] = v
        _add_ci(cons, boot, "index", "index", level)
    pairs = spec.effect_pairs
    effects = pd.DataFrame({
        "from": [cs[j] for j, _ in pairs], "to": [cs[i] for _, i in pairs],
        "direct": [est["paths"][i, j] for j, i in pairs],
        "indirect": [est["indirect"][i, j] for j, i in pairs],
        "total": [est["total"][i, j] for j, i in pairs]})
    _add_ci(effects, boot, "total", "total", level)
    iu = np.triu_indices(L, 1)
    H = ms.htmt(R_items[None], spec)[0]
    ht = pd.DataFrame({"construct_a": [cs[i] for i in iu[0]],
                       "construct_b": [cs[j] for j in iu[1]], "htmt": H[iu]})
    _add_ci(ht, boot, "htmt", "htmt", level)
    sizes = np.bincount(b, minlength=L)
    multi = sizes[b] > 1
    g = pd.DataFrame({"gof": ms.gof(loadings[None], r2[None], spec),
                      "mean_communality": [comm[multi].mean() if multi.any() else np.nan],
                      "mean_r2": [r2[endo].mean()]})
    _add_ci(g, boot, "gof", "gof", level)
    reps = {} if boot is None else {k: v for k, v in boot.items() if k not in ("failed", "B")}
    return PLSResult(
        spec=spec, scheme=scheme, scaled=scaled, n=n, n_eff=n_eff, iterations=iterations,
        outer_model=outer, crossloadings=xl, inner_model=inner, constructs=cons,
        effects=effects, unidim=ms.unidim(R_items, spec), htmt=ht, gof=g, scores=scores,
        index_scores=index_scores, labels=labels, boot=boot_requested,
        boot_failed=0 if boot is None else boot["failed"], level=level, seed=seed,
        notes=notes, replicates=reps)
