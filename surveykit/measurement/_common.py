"""Shared pieces of :mod:`surveykit.measurement`: data preparation under a declared
missing-data policy, weighted correlations, questionnaire look-ups, factor extraction."""

from __future__ import annotations

import contextlib
import html
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from .._util import as_list, check_columns, numeric_array, resolve_weights, short_repr
from ..errors import MeasurementError, SurveykitWarning
from ..questionnaire.expressions import reverse_keyed
from ..significance import effective_n

Missing = Literal["listwise", "pairwise"]
ScaleRange = tuple[float, float] | Mapping[str, tuple[float, float]] | None
_ROTATIONS = {"none": None, "varimax": "varimax", "oblimin": "oblimin", "promax": "promax"}
_OBLIQUE = {"oblimin", "promax"}
_PSI_LOWER = 0.005          # psych's and factor_analyzer's lower bound for uniquenesses


class HeywoodWarning(SurveykitWarning):
    """A communality >= 1 or a uniqueness <= 0 (an improper solution)."""


class ItemWarning(SurveykitWarning):
    """An item behaves oddly (negative item-rest correlation, non-positive-definite matrix)."""


class LatentCorrelationWarning(SurveykitWarning):
    """A CFA's factor correlation matrix is not positive definite (two factors correlate
    beyond what the others allow: they are not distinct as modelled); lavaan warns too."""


@dataclass(frozen=True)
class MissingData:
    """How a measurement result handled missing answers, and the n behind its numbers.

    Attributes
    ----------
    policy : {"pairwise", "listwise"}
        ``pairwise`` (the default, as R ``psych``): each correlation / covariance from the
        respondents who answered both items; ``listwise``: complete rows only.
    n_rows : int
        Rows given (respondents with a positive weight).
    n_min, n_max : int
        Pairwise: the fewest and most respondents behind one correlation (item pairs);
        listwise: the complete rows (both).
    note : str
        Why this policy, where it is not the default (e.g. CFA's listwise ML).
    """

    policy: str
    n_rows: int
    n_min: int
    n_max: int
    note: str = ""

    @property
    def n(self) -> int:
        """The n of a statistic computed from these correlations: the rows given under
        pairwise (``psych::fa``'s ``n.obs`` for raw data), the complete rows under listwise."""
        return self.n_rows if self.policy == "pairwise" else self.n_min

    def base(self) -> str:
        """The n in a title, e.g. ``"n = 500 rows, 423 to 453 per item pair"``.

        Examples
        --------
        >>> MissingData("pairwise", 500, 423, 453).base()
        'n = 500 rows, 423 to 453 per item pair'
        >>> MissingData("listwise", 500, 420, 420).base()
        'n = 420 complete rows of 500'
        """
        if self.n_min == self.n_rows:
            return f"n = {self.n_rows:,}"
        if self.policy == "pairwise":
            pair = (f"{self.n_min:,}" if self.n_min == self.n_max
                    else f"{self.n_min:,} to {self.n_max:,}")
            return f"n = {self.n_rows:,} rows, {pair} per item pair"
        return f"n = {self.n_min:,} complete rows of {self.n_rows:,}"

    def sentence(self) -> str:
        """One sentence for a summary or a method note."""
        if self.n_min == self.n_rows:
            return (f"Missing data: none among the {self.n_rows:,} rows used ({self.policy}"
                    f"{'; ' + self.note if self.note else ''}).")
        if self.policy == "pairwise":
            n = (f"{self.n_min:,}" if self.n_min == self.n_max
                 else f"{self.n_min:,} to {self.n_max:,}")
            return (f"Missing data: pairwise (as R psych): each correlation uses the "
                    f"respondents who answered both items, {n} of {self.n_rows:,} rows per "
                    f"pair; nothing is imputed.")
        return (f"Missing data: listwise{' (' + self.note + ')' if self.note else ''}: the "
                f"{self.n_min:,} complete rows of {self.n_rows:,} "
                f"({self.n_rows - self.n_min:,} left out); nothing is imputed.")


class _Result:
    """The result API shared by the measurement results: a title, ``to_frame()``, a
    table to show (``_shown()``, labelled and rounded), further captioned tables
    (``_more()``), the missing-data sentence, ``summary()`` as text, ``_repr_html_`` and a
    one-line ``repr``."""

    _title = "result"
    missing_data: MissingData | None = None
    item_labels: dict | None = None

    @property
    def missing(self) -> str | None:
        """The missing-data policy used (``"pairwise"`` or ``"listwise"``)."""
        return None if self.missing_data is None else self.missing_data.policy

    def to_frame(self) -> pd.DataFrame:  # pragma: no cover - overridden
        raise NotImplementedError

    def _shown(self) -> pd.DataFrame:
        """The main table for people: ``to_frame()`` with item labels beside the ids."""
        return self._labelled(self.to_frame())

    def _more(self) -> list[tuple[str, pd.DataFrame]]:
        """Further ``(caption, table)`` pairs shown after the main table."""
        return []

    def _notes(self) -> list[str]:
        return [self.missing_data.sentence()] if self.missing_data is not None else []

    def _labelled(self, frame: pd.DataFrame, column: str = "item") -> pd.DataFrame:
        """``frame`` with a ``label`` column after its item ids (in the index or in
        ``column``), when the questionnaire gave labels."""
        if not self.item_labels:
            return frame
        out = frame.copy()
        if column in out.columns:
            ids = out[column]
            at = out.columns.get_loc(column) + 1
        elif out.index.name == column:
            ids = out.index.to_series()
            at = 0
        else:
            return frame
        name = "item_label" if "label" in out.columns else "label"
        out.insert(at, name, [self.item_labels.get(i, "") for i in ids])
        return out

    def summary(self) -> str:
        """The result as text: title, missing-data sentence, tables (3 decimals)."""
        fmt = {"float_format": lambda v: f"{v:.3f}"}
        parts = [self._title, *self._notes(), self._shown().to_string(**fmt)]
        parts += [f"\n{cap}\n{t.to_string(**fmt)}" for cap, t in self._more()]
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        notes = "".join(f"<p><i>{html.escape(n)}</i></p>" for n in self._notes())
        body = self._shown().to_html(float_format="%.3f", na_rep="")
        more = "".join(f"<p>{html.escape(cap)}</p>" + t.to_html(float_format="%.3f", na_rep="")
                       for cap, t in self._more())
        return f"<h4>{html.escape(self._title)}</h4>{notes}{body}{more}"

    def __repr__(self) -> str:
        return short_repr(self, self._title)


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
        x = numeric_array(df, c, error=MeasurementError, what="item")
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
            x = reverse_keyed(x, lo, hi)
        cols.append(x)
    return items, np.column_stack(cols)


def _weighted_moments(X: np.ndarray, w: np.ndarray, missing: str, names=None):
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
        a, b = (names[j], names[k]) if names is not None else (j, k)
        raise MeasurementError(f"items {a!r} and {b!r} are answered together by "
                               f"{int(cnt[j, k])} respondent(s); a pairwise correlation needs "
                               f"at least 3: drop one of them")
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


@dataclass
class _Data:
    """What the measurement functions compute from: items (reverse keyed), matrices, n."""

    items: list[str]
    X: np.ndarray
    w: np.ndarray
    cov: np.ndarray
    corr: np.ndarray
    n: int
    n_eff: float
    rows: np.ndarray | None
    missing_data: MissingData
    reverse: list[str]
    scale_range: ScaleRange
    item_labels: dict


def _coverage(X: np.ndarray, w: np.ndarray, missing: str, note: str = "") -> MissingData:
    """Rows given and the n per item pair (pairwise) or complete rows (listwise)."""
    obs = ~np.isnan(X) & (w > 0)[:, None]
    n_rows = int((w > 0).sum())
    if missing == "listwise" or X.shape[1] < 2:
        n = int(obs.all(axis=1).sum())
        return MissingData(missing, n_rows, n, n, note)
    cnt = obs.T.astype(float) @ obs
    pair = cnt[np.triu_indices(X.shape[1], 1)]
    return MissingData(missing, n_rows, int(pair.min()), int(pair.max()), note)


def _resolve(items, reverse, scale_range, constructs=None, *, single: bool = False):
    """``items`` as given, or a questionnaire's construct items (the ``constructs`` named,
    default all) with its reverse keys, scale ranges and item labels.

    Returns ``items, reverse, scale_range, item_labels, construct_ids``. ``reverse`` and
    ``scale_range`` given by the caller take precedence over the questionnaire's.
    """
    if not _is_questionnaire(items):
        if constructs is not None:
            raise MeasurementError("constructs= selects constructs of a questionnaire; pass "
                                   "the questionnaire in place of the item list")
        return items, reverse, scale_range, {}, []
    q = items
    if single and constructs is None and len(q.constructs) != 1:
        raise MeasurementError(
            f"questionnaire {q.id!r} declares {len(q.constructs)} constructs; name one: "
            f"constructs={[c.id for c in q.constructs][0]!r} (one of "
            f"{[c.id for c in q.constructs]}), or use reliability_table for all")
    if single and not isinstance(constructs, str) and len(as_list(constructs)) != 1:
        raise MeasurementError(f"reliability is for one construct; got constructs="
                               f"{constructs!r} (use reliability_table for several)")
    spec = from_questionnaire(q, constructs)
    its: list[str] = []
    for v in spec["model"].values():
        its += [i for i in v if i not in its]
    rev = [i for i in spec["reverse"] if i in its] if reverse is None else reverse
    rng = spec["scale_range"] if scale_range is None else scale_range
    return its, rev, rng, spec["item_labels"], list(spec["model"])


def _prepare(df, items, *, weights, missing, reverse, scale_range, min_items=2, what="items",
             constructs=None, note: str = "") -> _Data:
    items, reverse, scale_range, labels, _ = _resolve(items, reverse, scale_range, constructs)
    items, X = _item_matrix(df, items, reverse=reverse, scale_range=scale_range,
                            min_items=min_items, what=what)
    w = resolve_weights(df, weights, error=MeasurementError)
    cov, corr, n, neff, rows = _weighted_moments(X, w, missing, items)
    if not np.isfinite(corr).all():
        raise MeasurementError("a correlation could not be computed (an item is constant "
                               "within the rows it shares with another); check the items")
    return _Data(items, X, w, cov, corr, n, float(neff), rows,
                 _coverage(X, w, missing, note), as_list(reverse), scale_range, labels)


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


def from_questionnaire(questionnaire, constructs: Sequence[str] | None = None, *,
                       items: Sequence[str] | None = None) -> dict:
    """What a questionnaire declares about its constructs, as keyword arguments.

    Returns ``{"model": {id: items}, "reverse": [...], "scale_range": {item: (low, high)},
    "min_items": {id: n}, "labels": {id: label}, "item_labels": {item: label}}`` for the
    ``constructs`` named (default: all). Reverse keys come from the construct and from
    ``reverse: true`` grid items; scale ranges from each item's scale; item labels from
    each item's question.

    ``items=`` reads the same for a battery of items instead (e.g. a report's battery of
    grid items, in constructs or not): ``model``, ``min_items`` and ``labels`` are then
    empty, an item is reverse-keyed when any construct keys it so or its grid says
    ``reverse: true``.

    Every measurement function takes a questionnaire in place of its items (or its
    ``{construct: items}``), with ``constructs=`` to pick some: this is what it reads.
    """
    model, reverse, min_items, labels = {}, [], {}, {}
    if items is not None:
        if constructs is not None:
            raise MeasurementError("pass constructs= or items=, not both")
        its = list(dict.fromkeys(as_list(items)))
        keyed = {r for c in questionnaire.constructs
                 for r in questionnaire.construct_items(c.id)[1]}
        declared = questionnaire.variables()
        reverse = [i for i in its if i in keyed or (i in declared and declared[i].reverse)]
    else:
        ids = [c.id for c in questionnaire.constructs]
        if not ids:
            raise MeasurementError(f"questionnaire {questionnaire.id!r} declares no "
                                   f"constructs")
        wanted = ids if constructs is None else as_list(constructs)
        unknown = [c for c in wanted if c not in ids]
        if unknown:
            raise MeasurementError(f"construct(s) {', '.join(map(repr, unknown))} are not "
                                   f"in questionnaire {questionnaire.id!r}; it has {ids}")
        its = []
        for c in questionnaire.constructs:
            if c.id not in wanted:
                continue
            c_items, rev = questionnaire.construct_items(c.id)
            model[c.id] = c_items
            its += [i for i in c_items if i not in its]
            reverse += [i for i in rev if i not in reverse]
            min_items[c.id] = c.required_items
            labels[c.id] = c.label
    ranges, item_labels = {}, {}
    for i in its:
        sc = questionnaire.scale_of(i)
        if sc is not None:
            ranges[i] = (sc.low, sc.high)
        try:
            item_labels[i] = questionnaire.variable(i).label or i
        except KeyError:
            item_labels[i] = i
    return {"model": model, "reverse": reverse, "scale_range": ranges or None,
            "min_items": min_items, "labels": labels, "item_labels": item_labels}


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
    d = _prepare(df, items, weights=weights, missing=missing, reverse=reverse,
                 scale_range=scale_range)
    return pd.DataFrame(d.cov if cov else d.corr, index=d.items, columns=d.items)


def _std(C: np.ndarray) -> np.ndarray:
    sd = np.sqrt(np.diag(C))
    return C / np.outer(sd, sd)


def _minres(R: np.ndarray, n_factors: int, method: str = "minres") -> np.ndarray:
    """Unrotated loadings of ``n_factors`` factors from a correlation matrix.

    ``minres``: psych's and factor_analyzer's criterion as a function of the uniquenesses
    ``psi``: the sum of squared eigenvalues of ``R - diag(psi)`` beyond the ``k`` largest,
    whose gradient is ``-2 sum_i lambda_i v_ij^2`` over those; bounded L-BFGS-B from the
    SMC start, 0.005 <= psi <= 1. The loadings are the ``k`` largest eigenpairs of
    ``R - diag(psi)`` (descending), each column signed to sum positive. ``ml`` is
    factor_analyzer's (imported only then).
    """
    k = int(n_factors)
    if method == "ml":
        from factor_analyzer import FactorAnalyzer

        fa = FactorAnalyzer(n_factors=k, rotation=None, method=method,
                            is_corr_matrix=True, use_smc=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fa.fit(R.copy())
        L = np.asarray(fa.loadings_, dtype=float)
        return L * np.where(L.sum(axis=0) < 0, -1.0, 1.0)
    from scipy import optimize

    p = R.shape[0]
    try:
        start = np.clip(1.0 / np.diag(np.linalg.inv(R)), _PSI_LOWER, 1.0)
    except np.linalg.LinAlgError:
        start = np.full(p, 0.5)

    def f(psi):
        Rp = R.copy()
        np.fill_diagonal(Rp, 1.0 - psi)
        ev, V = np.linalg.eigh(Rp)
        rest, Vr = ev[:-k], V[:, :-k]
        return float(rest @ rest), -2.0 * (Vr ** 2) @ rest

    res = optimize.minimize(f, start, jac=True, method="L-BFGS-B",
                            bounds=[(_PSI_LOWER, 1.0)] * p)
    Rp = R.copy()
    np.fill_diagonal(Rp, 1.0 - res.x)
    ev, V = np.linalg.eigh(Rp)
    ev, V = ev[::-1][:k], V[:, ::-1][:, :k]
    L = V * np.sqrt(np.maximum(ev, 0.0))
    return L * np.where(L.sum(axis=0) < 0, -1.0, 1.0)


def _one_thread():
    """Single-threaded BLAS for the many tiny matrices of a simulation (threads only cost)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return contextlib.nullcontext()
    return threadpool_limits(1)
