"""Reliability (alpha, omega, item statistics), suitability (KMO, Bartlett), scores."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from .._dist import chi2_sf
from .._util import as_list
from ..errors import MeasurementError
from ..questionnaire.expressions import item_score
from ._common import (
    ItemWarning,
    Missing,
    MissingData,
    ScaleRange,
    _check_pd,
    _is_questionnaire,
    _item_matrix,
    _minres,
    _prepare,
    _resolve,
    _Result,
    _std,
    from_questionnaire,
)


def reliability_table(df: pd.DataFrame, constructs, *, weights=None,
                      missing: Missing = "pairwise", reverse=None,
                      scale_range: ScaleRange = None) -> pd.DataFrame:
    """One row of reliability per construct, from a dict ``{name: [items]}`` or a questionnaire.

    Columns: ``construct, label, n_items, alpha, std_alpha, omega_total, n, n_eff,
    weakest_item`` (lowest item-rest r), ``weakest_item_rest_r``, ``alpha_if_deleted``
    (alpha without the weakest item), ``missing`` (the policy) and ``n_rows``. ``n`` is the
    smallest n behind a correlation (pairwise, the default, as psych) or the complete rows
    (``missing="listwise"``); see :func:`reliability`. With a questionnaire, its reverse
    keys and scale ranges are used unless given here, and its formative constructs
    (``mode: B`` in the path model) are left out, as plspm does: their items form the
    construct rather than reflect it, so internal consistency does not apply. The table's
    ``attrs["left_out"]`` maps each construct left out to the reason.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=200)
    >>> d = pd.DataFrame({f"x{i}": f + rng.normal(size=200) for i in range(3)})
    >>> reliability_table(d, {"X": ["x0", "x1", "x2"]})["n_items"].tolist()
    [3]
    """
    labels: dict = {}
    left_out: dict = {}
    if _is_questionnaire(constructs):
        q = constructs
        left_out = {c.id: FORMATIVE for c in q.constructs if c.mode == "B"}
        if left_out and len(left_out) == len(q.constructs):
            raise MeasurementError(f"every construct of questionnaire {q.id!r} is formative "
                                   f"(mode B): {FORMATIVE}; there is no reliability to report")
        spec = from_questionnaire(q, [c.id for c in q.constructs if c.id not in left_out]
                                  if left_out else None)
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
                     "alpha_if_deleted": t.loc[weakest, "alpha_if_deleted"],
                     "missing": r.missing, "n_rows": r.missing_data.n_rows})
    table = pd.DataFrame(rows)
    table.attrs["left_out"] = left_out
    return table


#: why a formative construct has no internal consistency
FORMATIVE = ("its items form the construct rather than reflect it, so they need not "
             "correlate and internal consistency (alpha, omega) does not apply")


def _alpha(C: np.ndarray) -> float:
    p = C.shape[0]
    return p / (p - 1) * (1.0 - np.trace(C) / C.sum())


def _omega_total(R: np.ndarray) -> float:
    """McDonald's omega total as psych::omega(nfactors=1): (sum R - sum u2) / sum R."""
    if R.shape[0] < 3:
        return float("nan")
    L = _minres(R, 1)
    u2 = 1.0 - (L ** 2).sum(axis=1)
    return float((R.sum() - u2.sum()) / R.sum())


@dataclass(repr=False)
class ReliabilityResult(_Result):
    """Reliability of one construct (see :func:`reliability`).

    ``missing`` is the missing-data policy and ``missing_data`` its counts (rows, n per
    item pair); ``summary()`` states them.
    """

    construct: str
    items: list[str]
    reversed_items: list[str]
    alpha: float
    std_alpha: float
    omega_total: float
    n: int
    n_eff: float
    item_table: pd.DataFrame = field(default_factory=pd.DataFrame)
    missing_data: MissingData | None = None
    item_labels: dict | None = None
    label: str | None = None

    @property
    def _title(self) -> str:  # type: ignore[override]
        name = self.label or self.construct
        return (f"Reliability of {name}: alpha {self.alpha:.3f}, omega "
                f"{self.omega_total:.3f} (n = {self.n:,}, n_eff = {self.n_eff:,.0f})")

    def to_frame(self) -> pd.DataFrame:
        """One row: construct, n_items, alpha, std_alpha, omega_total, n, n_eff, missing."""
        return pd.DataFrame([{
            "construct": self.construct, "n_items": len(self.items), "alpha": self.alpha,
            "std_alpha": self.std_alpha, "omega_total": self.omega_total, "n": self.n,
            "n_eff": self.n_eff, "missing": self.missing}])

    def _shown(self) -> pd.DataFrame:
        return self._labelled(self.item_table)


def reliability(df: pd.DataFrame, items: Sequence[str], *, reverse=None,
                scale_range: ScaleRange = None, weights=None, missing: Missing = "pairwise",
                name: str | None = None, constructs: str | None = None) -> ReliabilityResult:
    """Cronbach's alpha (raw, standardized), alpha if item deleted, item-rest r, omega total.

    Parameters
    ----------
    df : DataFrame
        One row per respondent.
    items : list of str or Questionnaire
        The construct's items (at least 2; omega needs 3), or a questionnaire: the items,
        reverse keys, scale ranges and labels of its construct ``constructs``.
    reverse : list of str, optional
        Reverse-keyed items, re-coded ``min + max - x`` before anything else.
    scale_range : (min, max) or dict, optional
        The rating scale's end points; required when ``reverse`` is given.
    weights : None, str or array-like
        Respondent weights (weighted covariance matrix).
    missing : {"pairwise", "listwise"}
        Missing-data policy: ``pairwise`` (the default, as psych's ``alpha``) computes each
        covariance from the respondents who answered both items; ``listwise`` uses the
        complete rows only. Nothing is imputed; the result states the policy and the n.
    name : str, optional
        Construct name used in the output.
    constructs : str, optional
        With a questionnaire: the construct (needed when it declares more than one).

    Returns
    -------
    ReliabilityResult
        ``alpha`` (raw), ``std_alpha``, ``omega_total`` and ``item_table`` with, per item,
        ``mean, sd, item_total_r, item_rest_r, alpha_if_deleted, std_alpha_if_deleted``.
        Equal to R ``psych::alpha`` (raw_alpha, std.alpha, alpha.drop, raw.r, r.drop) and
        ``psych::omega(nfactors=1)$omega.tot``, with psych's default ``use = "pairwise"``:
        raw alpha from the pairwise covariance matrix, standardized alpha from that matrix
        standardized (``cov2cor``); with missing answers psych's ``raw.r`` correlates each
        item with the row means of the answered items, while ``item_total_r`` stays the
        covariance-matrix item-total correlation. ``missing="listwise"`` equals psych's
        alpha on the complete rows. ``n`` is the fewest respondents behind one covariance
        (pairwise) or the complete rows (listwise); ``missing_data`` has the rows and the
        range of n per item pair.

    Warns
    -----
    ItemWarning
        When an item correlates negatively with the rest (a missing reverse key?).

    Examples
    --------
    >>> d = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [2, 2, 3, 5, 5], "c": [1, 3, 3, None, 4]})
    >>> r = reliability(d, ["a", "b", "c"])
    >>> round(r.alpha, 3), r.missing, r.n      # psych::alpha(d)$total$raw_alpha: 0.9492
    (0.949, 'pairwise', 4)
    >>> r.missing_data.sentence()  # doctest: +NORMALIZE_WHITESPACE
    'Missing data: pairwise (as R psych): each correlation uses the respondents who answered
    both items, 4 to 5 of 5 rows per pair; nothing is imputed.'
    """
    label = None
    if _is_questionnaire(items):
        _, _, _, _, ids = _resolve(items, reverse, scale_range, constructs, single=True)
        name = name or ids[0]
        label = next((c.label for c in items.constructs if c.id == ids[0]), None)
        constructs = ids
    d = _prepare(df, items, weights=weights, missing=missing, reverse=reverse,
                 scale_range=scale_range, what="construct", constructs=constructs)
    items, X, w, C, R, n, neff, rows = d.items, d.X, d.w, d.cov, d.corr, d.n, d.n_eff, d.rows
    reverse = d.reverse
    R_omega = R
    if missing == "pairwise":
        # as psych::alpha: the pairwise covariance matrix (each entry with n - 1 of its own
        # pairs unweighted; divisor sum w weighted), standardized by cov2cor - not the
        # pairwise correlations, whose variances come from each pair's rows
        if weights is None:
            obs = (~np.isnan(X)).astype(float)
            cnt = obs.T @ obs
            C = C * cnt / (cnt - 1)
        R = _std(C)
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
        alpha=float(_alpha(C)), std_alpha=float(_alpha(R)), omega_total=_omega_total(R_omega),
        n=n, n_eff=float(neff), item_table=table, missing_data=d.missing_data,
        item_labels=d.item_labels, label=label)


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
    missing_data: MissingData | None = None
    item_labels: dict | None = None

    @property
    def _title(self) -> str:  # type: ignore[override]
        base = self.missing_data.base() if self.missing_data else f"n = {self.n:,}"
        return f"KMO = {self.overall:.3f} ({_kaiser_label(self.overall)}), {base}"

    def to_frame(self) -> pd.DataFrame:
        """Per-item MSA with Kaiser's ``adequacy`` word, plus an ``overall`` row."""
        out = self.items.copy()
        out.loc["overall"] = [self.overall, _kaiser_label(self.overall)]
        return out


def kmo(df: pd.DataFrame, items: Sequence[str], *, weights=None,
        missing: Missing = "pairwise", reverse=None,
        scale_range: ScaleRange = None, constructs=None) -> KMOResult:
    """Kaiser-Meyer-Olkin sampling adequacy, overall and per item (R ``psych::KMO``).

    ``items`` is a list of item columns or a questionnaire (the items of its constructs,
    or of ``constructs=[...]``, with its reverse keys, scale ranges and item labels).
    Missing answers: ``pairwise`` correlations by default, as ``psych::KMO`` on raw data
    (``cor(use = "pairwise")``), or ``listwise``; the result states which and the n:
    the rows given and the range per item pair (pairwise; psych reports no n), or the
    complete rows (listwise).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=300)
    >>> d = pd.DataFrame({f"x{i}": f + rng.normal(size=300) for i in range(4)})
    >>> kmo(d, list(d)).overall > 0.7
    True
    """
    prep = _prepare(df, items, weights=weights, missing=missing, reverse=reverse,
                    scale_range=scale_range, constructs=constructs)
    items, R = prep.items, prep.corr
    _check_pd(R, items, "kmo")
    Ri = np.linalg.inv(R)
    d = np.sqrt(np.diag(Ri))
    A = -Ri / np.outer(d, d)
    off = ~np.eye(len(items), dtype=bool)
    r2 = np.where(off, R ** 2, 0.0)
    a2 = np.where(off, A ** 2, 0.0)
    msa_i = r2.sum(axis=0) / (r2.sum(axis=0) + a2.sum(axis=0))
    overall = float(r2.sum() / (r2.sum() + a2.sum()))
    table = pd.DataFrame({"msa": msa_i, "adequacy": [_kaiser_label(v) for v in msa_i]},
                         index=pd.Index(items, name="item"))
    return KMOResult(overall=overall, items=table, n=prep.missing_data.n,
                     missing_data=prep.missing_data,
                     item_labels=prep.item_labels)


@dataclass(repr=False)
class BartlettResult(_Result):
    """Bartlett's test of sphericity (see :func:`bartlett`)."""

    chi2: float
    df: int
    p: float
    n: float
    n_basis: str
    missing_data: MissingData | None = None

    @property
    def _title(self) -> str:  # type: ignore[override]
        p = "p < 0.001" if self.p < 0.001 else f"p = {self.p:.3f}"
        return (f"Bartlett's test of sphericity: chi2({self.df}) = {self.chi2:.2f}, "
                f"{p} (n = {self.n:,.0f}, {self.n_basis})")

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"chi2": self.chi2, "df": self.df, "p": self.p, "n": self.n,
                              "n_basis": self.n_basis, "missing": self.missing}])


def bartlett(df: pd.DataFrame, items: Sequence[str], *, weights=None,
             missing: Missing = "pairwise", reverse=None,
             scale_range: ScaleRange = None, constructs=None) -> BartlettResult:
    """Bartlett's test that the correlation matrix is an identity (R ``psych::cortest.bartlett``).

    ``chi2 = -(n - 1 - (2p + 5) / 6) * log|R|`` with ``p(p-1)/2`` degrees of freedom. ``n`` is
    the number of respondents used: the complete rows under ``missing="listwise"``, every row
    under ``missing="pairwise"`` (as psych, which counts the rows of the data it is given),
    or Kish's effective n when weights are given. ``items`` may be a questionnaire (see
    :func:`kmo`).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=300)
    >>> d = pd.DataFrame({f"x{i}": f + rng.normal(size=300) for i in range(4)})
    >>> bartlett(d, list(d)).p < 0.001
    True
    """
    d = _prepare(df, items, weights=weights, missing=missing, reverse=reverse,
                 scale_range=scale_range, constructs=constructs)
    items, R, n, neff = d.items, d.corr, d.n, d.n_eff
    _check_pd(R, items, "bartlett")
    p = len(items)
    if weights is not None:
        nb, basis = float(neff), "Kish n_eff"
    elif missing == "pairwise":
        nb, basis = float(d.missing_data.n_rows), "rows (as psych with pairwise correlations)"
    else:
        nb, basis = float(n), "respondents"
    chi2 = -(nb - 1 - (2 * p + 5) / 6) * np.linalg.slogdet(R)[1]
    dof = p * (p - 1) // 2
    return BartlettResult(chi2=float(chi2), df=dof, p=float(chi2_sf(chi2, dof)), n=nb,
                          n_basis=basis, missing_data=d.missing_data)


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
    (prorated), otherwise NaN: :func:`surveykit.questionnaire.expressions.item_score`, the
    definition shared with the questionnaire's ``construct:`` derived variables and its
    ``sum()`` / ``mean()``. The caller's DataFrame is not modified.

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
        out[col] = item_score(X, min_valid=need, method=method)
    return out
