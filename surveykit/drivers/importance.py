"""Relative importance per segment: :func:`key_drivers` with bootstrap CIs and tests."""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from .._util import short_repr
from ..errors import DriverAnalysisError
from ..significance import effective_n
from ._core import (
    TOTAL,
    DriverMethodWarning,
    _blocks,
    _check_block,
    _importance,
    _num,
    _validate,
    _wcorr_a,
)
from ._design import (
    add_design_se,
    block_rows,
    design_weights,
    importance_replicates,
    replicate_design,
)

_BLAS = []


def _one_blas_thread():
    """Single-threaded BLAS for the many tiny products here (threads only cost). The
    controller that finds the BLAS libraries (by reading the process's memory map, about
    2 ms) is made once, not on every call."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return contextlib.nullcontext()
    if not _BLAS:
        _BLAS.append(ThreadpoolController())
    return _BLAS[0].limit(limits=1, user_api="blas")


@functools.lru_cache(maxsize=1)
def _str_dtype():
    """The dtype pandas gives a column of Python strings ("str" from pandas 3 on)."""
    return pd.DataFrame({"s": ["s"]})["s"].dtype


@functools.lru_cache(maxsize=8)
def _columns(names: tuple) -> pd.Index:
    return pd.Index(names)


@functools.lru_cache(maxsize=64)
def _strings(values: tuple):
    """A string column (driver names, labels), built once: callers get a (cheap) copy."""
    return pd.array(list(values), dtype=_str_dtype())


def _frame(cols: dict) -> pd.DataFrame:
    """``pd.DataFrame(cols)`` for columns that are 1-D numpy arrays or lists of str, built
    straight from its blocks where pandas allows (the constructor's inference and
    consolidation cost more than the rest of a small Shapley run); the same frame."""
    from pandas.api import internals

    dt = _str_dtype()
    make = getattr(internals, "create_dataframe_from_blocks", None)
    vals = list(cols.values())
    if make is None or not isinstance(dt, pd.StringDtype) or not len(vals[0]) or not all(
            isinstance(v, np.ndarray) or all(isinstance(x, str) for x in v) for v in vals):
        return pd.DataFrame(cols, copy=False)
    blocks = [(v.reshape(1, -1) if isinstance(v, np.ndarray) else _strings(tuple(v)).copy(),
               np.array([i])) for i, v in enumerate(vals)]
    return make(blocks, pd.RangeIndex(len(vals[0])), _columns(tuple(cols)).copy())


@dataclass(repr=False)
class DriverResult:
    """Relative importance of drivers, per segment (see :func:`key_drivers`).

    ``table`` has one row per segment and driver: ``importance`` (raw, sums to the
    segment's R-squared), ``share`` (of R-squared, sums to 1), ``rank`` (1 = most
    important), and with ``bootstrap > 0`` their CIs and, per segment, the test of the
    difference from the total (``share_diff``, ``diff_ci_low``, ``diff_ci_high``,
    ``diff_p``). ``models`` has one row per segment: ``n, n_eff, r2, method``.
    """

    outcome: str
    drivers: list[str]
    method: str
    outcome_type: str
    table: pd.DataFrame
    models: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    bootstrap: int = 0
    seed: int | None = None
    ci: float = 0.95
    by: str | None = None
    #: driver id -> label and segment code -> label (set by ``with_labels``/``Survey.apply``)
    driver_labels: dict = field(default_factory=dict)
    segment_labels: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def with_labels(self, drivers: dict | None = None, segments: dict | None = None,
                    ) -> DriverResult:
        """A copy that names drivers and segments by these labels in :meth:`wide`
        (``Survey.apply`` passes the questionnaire's); the tidy table keeps the ids."""
        from dataclasses import replace

        return replace(self, driver_labels=dict(drivers or {}),
                       segment_labels=dict(segments or {}))

    def wide(self, value: str = "share", *, labels: bool = True) -> pd.DataFrame:
        """Drivers x segments grid of ``value`` (``"share"``, ``"importance"`` or ``"rank"``),
        Total first, drivers in the Total's order of importance; labelled when labels are
        known (``labels=False``: ids and codes).

        Examples
        --------
        >>> rng = np.random.default_rng(0)
        >>> df = pd.DataFrame(rng.normal(size=(300, 2)), columns=["a", "b"])
        >>> df["y"] = df.a + 0.3 * df.b + rng.normal(size=300)
        >>> df["g"] = np.repeat([1, 2], 150)
        >>> r = key_drivers(df, "y", ["a", "b"], by="g").with_labels(
        ...     {"a": "Speed", "b": "Price"}, {1: "North", 2: "South"})
        >>> r.wide().round(2)  # doctest: +NORMALIZE_WHITESPACE
        segment  Total  North  South
        driver
        Speed      0.9   0.86   0.94
        Price      0.1   0.14   0.06
        """
        if value not in self.table.columns:
            raise DriverAnalysisError(f"value {value!r} is not a column of the result; "
                                      f"use one of {list(self.table.columns[2:])}")
        grid = self.table.pivot(index="driver", columns="segment", values=value)
        segs = list(pd.unique(self.table["segment"]))
        order = self.table[self.table["segment"] == TOTAL].sort_values(
            "importance", ascending=False)["driver"].tolist()
        grid = grid.reindex(index=order or list(grid.index), columns=segs)
        if labels:
            seg_lab = {_code_key(k): v for k, v in self.segment_labels.items()}
            grid = grid.rename(index=lambda d: self.driver_labels.get(d, d),
                               columns=lambda s: seg_lab.get(_code_key(s), s))
        grid.index.name, grid.columns.name = "driver", "segment"
        return grid

    def top(self, k: int = 3, segment=TOTAL) -> list[str]:
        """The ``k`` most important drivers of ``segment`` (``"Total"`` by default)."""
        t = self.table[self.table["segment"] == segment]
        if t.empty:
            raise DriverAnalysisError(f"segment {segment!r} is not in the result; available: "
                                      f"{list(pd.unique(self.table['segment']))}")
        return t.sort_values("importance", ascending=False)["driver"].head(k).tolist()

    @property
    def _title(self) -> str:
        m = self.models
        tot = m[m["segment"] == TOTAL].iloc[0]
        return (f"Key drivers of {self.outcome} ({tot['method']}; R² = {tot['r2']:.3f}, "
                f"n = {tot['n']:.0f}" + (f", {self.bootstrap} bootstrap replicates"
                                         if self.bootstrap else "") + ")")

    def summary(self) -> str:
        notes = "".join(f"\nnote: {n}" for n in self.notes)
        return (f"{self._title}{notes}\n"
                f"{self.models.to_string(index=False)}\n\n"
                f"{self.table.to_string(index=False, float_format=lambda v: f'{v:.3f}')}")

    def __repr__(self) -> str:
        return short_repr(self)

    def _repr_html_(self) -> str:
        notes = "".join(f"<p><i>note: {n}</i></p>" for n in self.notes)
        show = self.table.copy()
        for c in [c for c in show if c.startswith("share") or c.startswith("diff_ci")]:
            show[c] = show[c] * 100
        show = show.rename(columns=lambda c: c.replace("share", "share_%")
                           .replace("diff_ci", "diff_%_ci"))
        return (f"<h4>{self._title}</h4>{notes}" + self.models.to_html(index=False)
                + show.to_html(index=False, float_format="%.3f"))

    def plot(self, segment=TOTAL, **kwargs):
        """Bar chart of shares of R-squared (with CIs when bootstrapped); returns the Figure."""
        from ..plots import importance_chart

        return importance_chart(self, segment=segment, **kwargs)


def _code_key(code):
    """A segment code as a lookup key: ``2``, ``2.0`` and ``"2"`` are one code."""
    try:
        f = float(code)
    except (TypeError, ValueError):
        return code
    return int(f) if f.is_integer() else f


def key_drivers(df: pd.DataFrame, outcome: str, drivers: Sequence[str], *, weights=None,
                by: str | None = None,
                method: Literal["shapley", "relative_weights"] = "shapley",
                outcome_type: Literal["auto", "linear", "binary", "ordinal"] = "auto",
                bootstrap: int = 0, seed: int | None = 0, ci: float = 0.95,
                max_exact: int = 20, design=None) -> DriverResult:
    """Relative importance of ``drivers`` for ``outcome``, in total and per segment.

    Parameters
    ----------
    df : DataFrame
        One row per respondent.
    outcome : str
        Outcome column (e.g. overall satisfaction; 0/1 for promoter vs not).
    drivers : list of str
        Attribute columns. None is ever dropped: a constant or perfectly collinear driver
        raises :class:`~surveykit.errors.DriverAnalysisError` naming it.
    weights : None, str or array-like
        Respondent weights (weighted correlations, weighted fits, resampled with the rows).
    by : str, optional
        Segment column: the analysis is run for the total and for every segment.
    method : {"shapley", "relative_weights"}
        Exact Shapley (LMG) decomposition of R-squared, or Johnson's relative weights.
        With more than ``max_exact`` drivers Shapley switches to relative weights (noted in
        ``notes`` and in ``models["method"]``, and warned).
    outcome_type : {"auto", "linear", "binary", "ordinal"}
        For relative weights: linear (correlation matrix), binary (logistic fit; the
        larger code is the event) or ordinal (proportional-odds fit) on the orthogonalised
        drivers. ``auto``: binary when the outcome has two values, else linear.
    bootstrap : int
        Bootstrap replicates (0 = none). Respondents are resampled with their weights
        (within segments when ``by`` is given) using ``seed``.
    ci : float
        Confidence level of the percentile intervals.
    design : SurveyDesign, calibrated design or ReplicateDesign, optional
        A sample design made from ``df`` (``weights`` left out: the design's are used).
        Design-based SEs replace the respondent bootstrap: every importance is recomputed
        with each replicate weight of a ReplicateDesign, or, for a SurveyDesign, of
        ``bootstrap`` (default 200) design-bootstrap replicates (R
        ``as.svrepdesign(type = "bootstrap")``: ``n_h`` PSUs drawn with replacement
        within each stratum, variance rescaled by ``n/(n - 1)``; reproducible with
        ``seed``); the variance is the replicate type's (R
        ``svrVar``). The table gains ``importance_se``, ``share_se``, Wald intervals
        ``+- t se`` on the design degrees of freedom and, per segment (a domain of the
        design), ``share_diff``, ``diff_se``, its interval and ``diff_p`` against the
        total; ``models`` gains ``n_replicates`` and ``df``; the method is in ``notes``.

    Returns
    -------
    DriverResult

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> d = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
    >>> d["y"] = 2 * d["a"] + d["b"] + rng.normal(size=300)
    >>> res = key_drivers(d, "y", ["a", "b", "c"])
    >>> res.top(2), round(float(res.table["share"].sum()), 6)
    (['a', 'b'], 1.0)
    """
    if method not in ("shapley", "relative_weights"):
        raise DriverAnalysisError(f"method={method!r}; use 'shapley' or 'relative_weights'")
    if outcome_type not in ("auto", "linear", "binary", "ordinal"):
        raise DriverAnalysisError(f"outcome_type={outcome_type!r}; use 'auto', 'linear', "
                                  f"'binary' or 'ordinal'")
    if int(bootstrap) != bootstrap or bootstrap < 0:
        raise DriverAnalysisError(f"bootstrap={bootstrap!r} must be 0 or a positive integer")
    if bootstrap and bootstrap < 50:
        raise DriverAnalysisError(f"bootstrap={bootstrap}: use at least 50 replicates "
                                  f"(200 or more for stable intervals)")
    if not 0.5 < ci < 1:
        raise DriverAnalysisError(f"ci={ci!r} must be between 0.5 and 1")
    drivers = _validate(df, outcome, drivers, by, check_empty=False)
    p = len(drivers)
    rep = None
    if design is not None:
        weights = design_weights(df, design, weights)
        rep, how = replicate_design(design, bootstrap, seed)
        bootstrap = 0
    groups, total = _blocks(df, outcome, drivers, weights, by)
    notes: list[str] = []
    y = total.y
    two = len(y) > 0 and y.min() != y.max() and not ((y != y.min()) & (y != y.max())).any()
    if outcome_type == "auto":
        outcome_type = "binary" if two else "linear"
    if outcome_type == "binary" and not two:
        raise DriverAnalysisError(f"outcome {outcome!r} has {len(np.unique(y))} distinct "
                                  f"values; a binary outcome needs exactly 2 (e.g. promoter 1 "
                                  f"/ not 0)")
    if outcome_type == "ordinal" and not 3 <= len(np.unique(y)) <= 15:
        raise DriverAnalysisError(f"outcome {outcome!r} has {len(np.unique(y))} distinct "
                                  f"values; an ordinal outcome needs 3 to 15 categories")
    used = method
    if method == "shapley" and p > max_exact:
        used = "relative_weights"
        msg = (f"{p} drivers is more than max_exact={max_exact} for exact Shapley "
               f"(2^{p} subsets); Johnson's relative weights were used instead")
        notes.append(msg)
        warnings.warn(msg, DriverMethodWarning, stacklevel=2)
    if used == "shapley" and outcome_type != "linear":
        notes.append(f"Shapley decomposes the R-squared of a linear model of the "
                     f"{outcome_type} outcome; use method='relative_weights' for a "
                     f"{'logistic' if outcome_type == 'binary' else 'proportional-odds'} fit")
    kind = outcome_type if used == "relative_weights" else "linear"
    label = {"shapley": "Shapley (LMG)",
             "relative_weights": f"relative weights ({kind})"}[used]

    # a few drivers without a bootstrap: a handful of tiny products, nothing to limit
    small = not bootstrap and p <= 9 and used == "shapley"
    with contextlib.nullcontext() if small and rep is None else _one_blas_thread():
        res = _key_drivers(outcome, drivers, by, groups, total, used, kind, label, notes,
                           int(bootstrap), seed, ci)
        if rep is not None:
            masks = block_rows(df, outcome, drivers, by, weights, [b.label for b in groups])
            X = np.column_stack([_num(df, c) for c in drivers])
            reps = importance_replicates(rep, X, _num(df, outcome), masks, used, kind)
            imps = res.table["importance"].to_numpy().reshape(len(masks), p)
            res.notes[:] = [n for n in res.notes if not n.startswith("pass bootstrap")]
            add_design_se(res.table, res.models, imps, reps, rep, float(design.degf), ci,
                          how, res.notes)
    return res


def _key_drivers(outcome, drivers, by, groups, total, used, kind, label, notes, bootstrap,
                 seed, ci):
    p = len(drivers)
    blocks = [total, *groups]
    corrs = []
    for b in blocks:
        where = "total sample" if b.label == TOTAL else f"segment {by}={b.label!r}"
        corrs.append(_check_block(b, drivers, outcome, where))
        if kind == "binary" and len(np.unique(b.y)) != 2:
            raise DriverAnalysisError(f"{where}: the binary outcome {outcome!r} takes one "
                                      f"value only")
    est = [_importance(b.X, b.y, b.w, R, used, kind) for b, R in zip(blocks, corrs, strict=True)]

    imps = np.array([imp for imp, _ in est])                  # (blocks, drivers)
    total_imp = imps.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = np.where(total_imp > 0, imps / total_imp, np.nan)
    # rank 1 = most important; ties share the best rank (rankdata's "min")
    ranks = 1 + (imps[:, None, :] > imps[:, :, None]).sum(axis=2)
    segs = [b.label for b in blocks]                           # dtype as pandas infers it
    table = _frame({"segment": [s for s in segs for _ in range(p)],
                    "driver": drivers * len(blocks),
                    "importance": imps.reshape(-1), "share": shares.reshape(-1),
                    "rank": ranks.reshape(-1)})
    models = _frame({"segment": segs,
                     "n": np.array([len(b.y) for b in blocks], dtype=np.int64),
                     "n_eff": np.array([effective_n(b.w) for b in blocks]),
                     "n_dropped": np.array([b.n_dropped for b in blocks], dtype=np.int64),
                     "r2": np.array([r2 for _, r2 in est], dtype=float),
                     "method": [label] * len(blocks)})
    if any(b.n_dropped for b in blocks[:1]):
        notes.append(f"{total.n_dropped} respondent(s) with a missing outcome or driver (or "
                     f"zero weight) were left out (listwise)")
    if bootstrap:
        _add_bootstrap(table, models, blocks, used, kind, bootstrap, seed, ci, notes)
    elif groups:
        notes.append("pass bootstrap=200 (or more) to test whether each segment's driver "
                     "shares differ from the total")
    return DriverResult(outcome=outcome, drivers=drivers, method=used, outcome_type=kind,
                        table=table, models=models, notes=notes, bootstrap=bootstrap,
                        seed=seed, ci=ci, by=by)


def _add_bootstrap(table, models, blocks, method, kind, B, seed, ci, notes):
    """Weight-aware percentile bootstrap; stratified by segment when there are segments."""
    from scipy import stats

    rng = np.random.default_rng(seed)
    total, groups = blocks[0], blocks[1:]
    p = total.X.shape[1]
    nb = len(blocks)
    imp = np.full((B, nb, p), np.nan)
    # strata: the segments (resampled within, so their sizes are fixed) and the rows with
    # no segment; the total is the union of the resampled strata
    strata = [np.flatnonzero(total.group == k) for k in range(-1, len(groups))]
    strata = [s for s in strata if len(s)]
    failed = 0
    for b in range(B):
        try:
            idx = np.concatenate([s[rng.integers(0, len(s), len(s))] for s in strata])
            parts = [idx] + [idx[total.group[idx] == k] for k in range(len(groups))]
            for k, i in enumerate(parts):
                Ab, wb = total.A[i], total.w[i]
                Xb, yb = Ab[:, :-1], Ab[:, -1]
                R = _wcorr_a(Ab, wb)
                if not np.isfinite(R).all() or np.linalg.eigvalsh(R[:p, :p])[0] < 1e-8:
                    raise DriverAnalysisError("degenerate replicate")
                if kind in ("binary", "ordinal") and len(np.unique(yb)) < 2:
                    raise DriverAnalysisError("degenerate replicate")
                imp[b, k] = _importance(Xb, yb, wb, R, method, kind)[0]
        except (DriverAnalysisError, np.linalg.LinAlgError):
            failed += 1
            imp[b] = np.nan
    ok = ~np.isnan(imp).any(axis=(1, 2))
    if failed:
        notes.append(f"{failed} of {B} bootstrap replicates were degenerate (a constant or "
                     f"collinear driver in the resample) and were left out")
    if ok.sum() < 0.9 * B:
        raise DriverAnalysisError(f"{failed} of {B} bootstrap replicates were degenerate; the "
                                  f"segments are too small for a bootstrap")
    imp = imp[ok]
    share = imp / imp.sum(axis=2, keepdims=True)
    ranks = np.apply_along_axis(lambda v: stats.rankdata(-v, method="min"), 2, imp)
    a = (1 - ci) / 2
    lo, hi = a * 100, (1 - a) * 100

    def col(arr, q, method="linear"):
        return np.percentile(arr, q, axis=0, method=method).reshape(-1)

    table["importance_se"] = imp.std(axis=0, ddof=1).reshape(-1)
    table["importance_ci_low"] = col(imp, lo)
    table["importance_ci_high"] = col(imp, hi)
    table["share_ci_low"] = col(share, lo)
    table["share_ci_high"] = col(share, hi)
    table["rank_ci_low"] = col(ranks, lo, "lower").astype(int)
    table["rank_ci_high"] = col(ranks, hi, "higher").astype(int)
    models["n_boot"] = int(ok.sum())
    if groups:
        diff = share[:, 1:, :] - share[:, :1, :]                     # (B, groups, p)
        obs = table["share"].to_numpy().reshape(nb, p)
        d_obs = obs[1:] - obs[:1]
        nb_ok = diff.shape[0]
        p_lo = ((diff <= 0).sum(axis=0) + 1) / (nb_ok + 1)
        p_hi = ((diff >= 0).sum(axis=0) + 1) / (nb_ok + 1)
        pval = np.minimum(1.0, 2 * np.minimum(p_lo, p_hi))
        nan_row = np.full((1, p), np.nan)
        table["share_diff"] = np.vstack([nan_row, d_obs]).reshape(-1)
        table["diff_ci_low"] = np.vstack([nan_row, np.percentile(diff, lo, axis=0)]).reshape(-1)
        table["diff_ci_high"] = np.vstack([nan_row,
                                           np.percentile(diff, hi, axis=0)]).reshape(-1)
        table["diff_p"] = np.vstack([nan_row, pval]).reshape(-1)


def shapley(df: pd.DataFrame, outcome: str, drivers: Sequence[str], **kwargs) -> DriverResult:
    """:func:`key_drivers` with ``method="shapley"`` (exact LMG decomposition of R-squared).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> d = pd.DataFrame(rng.normal(size=(200, 2)), columns=["a", "b"])
    >>> d["y"] = d["a"] + rng.normal(size=200)
    >>> shapley(d, "y", ["a", "b"]).top(1)
    ['a']
    """
    return key_drivers(df, outcome, drivers, method="shapley", **kwargs)


def relative_weights(df: pd.DataFrame, outcome: str, drivers: Sequence[str],
                     **kwargs) -> DriverResult:
    """:func:`key_drivers` with ``method="relative_weights"`` (Johnson; logistic if binary).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> d = pd.DataFrame(rng.normal(size=(400, 2)), columns=["a", "b"])
    >>> d["promoter"] = (d["a"] + rng.normal(size=400) > 0).astype(int)
    >>> relative_weights(d, "promoter", ["a", "b"]).top(1)
    ['a']
    """
    return key_drivers(df, outcome, drivers, method="relative_weights", **kwargs)
