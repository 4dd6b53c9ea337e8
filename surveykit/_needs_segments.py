"""Needs-based segments: k-means or Gaussian mixtures on standardized attitude items, the
choice of k (fit, separation and bootstrap stability), the fitted :class:`SegmentModel` and
suggested segment names. Importable from :mod:`surveykit.segments`."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ._util import as_list, check_columns, lower_first, resolve_weights, short_repr, shorten
from .errors import SegmentationError

METHODS = ("kmeans", "gmm")


# --------------------------------------------------------------------------------------------
# needs-based segments
# --------------------------------------------------------------------------------------------
def _item_matrix(df, items, *, missing, error=SegmentationError):
    items = as_list(items)
    if len(items) < 2:
        raise error(f"needs-based segments need at least 2 items, got {items!r}")
    check_columns(df, items, error=error, what="item")
    X = df[items].apply(pd.to_numeric, errors="coerce")
    for c in items:
        if df[c].notna().sum() > X[c].notna().sum():
            raise error(f"item {c!r} has non-numeric values; segment on numeric scores or codes")
        if X[c].notna().sum() == 0:
            raise error(f"item {c!r} has no answers (all missing); remove it from items")
        if X[c].std(skipna=True) == 0 or X[c].nunique() < 2:
            raise error(f"item {c!r} is constant; it cannot separate segments: remove it")
    if missing not in ("drop", "mean"):
        raise error(f"missing must be 'drop' or 'mean', not {missing!r}")
    return items, X


def _fit(method, Z, k, random_state, n_init, covariance_type):
    # On survey-sized data one thread is far faster than OpenMP start-up and contention.
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1 if len(Z) <= 50_000 else None):
        if method == "kmeans":
            from sklearn.cluster import KMeans
            return KMeans(n_clusters=k, n_init=n_init, random_state=random_state).fit(Z)
        from sklearn.mixture import GaussianMixture
        return GaussianMixture(n_components=k, covariance_type=covariance_type, n_init=n_init,
                               random_state=random_state).fit(Z)


def _check_method(method, k_values, n):
    if method not in METHODS:
        raise SegmentationError(f"method {method!r} is not known; use 'kmeans' or 'gmm'")
    for k in k_values:
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 2:
            raise SegmentationError(f"k must be a whole number >= 2, not {k!r}")
        if k * 5 > n:
            raise SegmentationError(f"k = {k} needs at least {5 * k} complete respondents; "
                                    f"there are {n}")


def choose_k(df: pd.DataFrame, items: Sequence[str], *, k_range: Sequence[int] = range(2, 8),
             method: str = "kmeans", standardize: bool = True, missing: str = "drop",
             n_init: int = 10, covariance_type: str = "full", n_boot: int = 0,
             random_state: int = 0, silhouette_sample: int = 4000) -> pd.DataFrame:
    """Table for choosing the number of segments: silhouette, Calinski-Harabasz, BIC/AIC
    (Gaussian mixtures) or inertia (k-means), smallest segment share and, with ``n_boot``,
    bootstrap stability (mean adjusted Rand index). ``suggested`` marks the best silhouette
    (k-means) or the lowest BIC (mixtures).

    Examples
    --------
    >>> from surveykit.questionnaire import load_questionnaire
    >>> from surveykit.responses import clean, read_responses
    >>> q = load_questionnaire("questionnaires/pc_customers.yaml")
    >>> df, _ = clean(q, read_responses("data/demo/responses.csv", q))
    >>> att = ["att_latest", "att_paymore", "att_deal", "att_compare", "att_service",
    ...        "att_inperson"]
    >>> table = choose_k(df, att, k_range=range(2, 6), silhouette_sample=1000)
    >>> table[["k", "silhouette", "min_share", "suggested"]].round(2)
       k  silhouette  min_share  suggested
    0  2        0.23       0.41      False
    1  3        0.26       0.31       True
    2  4        0.22       0.20      False
    3  5        0.19       0.17      False
    """
    from sklearn.metrics import calinski_harabasz_score, silhouette_score

    items, X = _item_matrix(df, items, missing=missing)
    Z, _, _, _ = _prepare(X, standardize, missing)
    ks = list(k_range)
    _check_method(method, ks, len(Z))
    rows = []
    for k in ks:
        model = _fit(method, Z, k, random_state, n_init, covariance_type)
        lab = model.predict(Z)
        if len(np.unique(lab)) < 2:
            sil = ch = np.nan
        else:
            sil = silhouette_score(Z, lab, sample_size=min(silhouette_sample, len(Z)),
                                   random_state=random_state)
            ch = calinski_harabasz_score(Z, lab)
        row = {"k": k, "silhouette": sil, "calinski_harabasz": ch,
               "min_share": np.bincount(lab, minlength=k).min() / len(lab)}
        if method == "kmeans":
            row["inertia"] = model.inertia_
        else:
            row["bic"], row["aic"] = model.bic(Z), model.aic(Z)
        if n_boot:
            row["stability_ari"] = _bootstrap(method, Z, lab, k, n_boot, random_state, n_init,
                                              covariance_type)[0].mean()
        rows.append(row)
    out = pd.DataFrame(rows)
    best = out["silhouette"].idxmax() if method == "kmeans" else out["bic"].idxmin()
    out["suggested"] = out.index == best
    return out


def _prepare(X: pd.DataFrame, standardize, missing, mean=None, sd=None):
    """Complete-case (or mean-imputed) standardised matrix and the row mask used."""
    mean = X.mean() if mean is None else mean
    sd = X.std(ddof=0) if sd is None else sd
    if missing == "mean":
        X = X.fillna(mean)
    ok = X.notna().all(axis=1).to_numpy()
    Z = X[ok].to_numpy(float)
    if standardize:
        Z = (Z - mean.to_numpy()) / sd.to_numpy()
    return Z, ok, mean, sd


def _bootstrap(method, Z, labels, k, n_boot, random_state, n_init, covariance_type):
    """Refit on bootstrap samples, predict every respondent: ARI with the original labels,
    and per original segment the best Jaccard overlap with a bootstrap segment."""
    from sklearn.metrics import adjusted_rand_score

    rng = np.random.default_rng(random_state)
    aris, jac = np.empty(n_boot), np.empty((n_boot, k))
    for b in range(n_boot):
        idx = rng.integers(0, len(Z), len(Z))
        m = _fit(method, Z[idx], k, int(rng.integers(2 ** 31)), n_init, covariance_type)
        pred = m.predict(Z)
        aris[b] = adjusted_rand_score(labels, pred)
        for c in range(k):
            inc = labels == c
            best = 0.0
            for c2 in np.unique(pred):
                inp = pred == c2
                best = max(best, (inc & inp).sum() / (inc | inp).sum())
            jac[b, c] = best
    return aris, jac


class SegmentModel:
    """Needs-based segments: labels, centres, suggested names, stability, and assignment
    of new respondents (:meth:`predict`). Segments are numbered 1..k by size (largest first).
    """

    def __init__(self, *, items, item_labels, method, k, model, mean, sd, standardize,
                 missing, labels, centers, centers_z, names, ari, jaccard, weights, df_index,
                 silhouette, weighted: bool):
        self.items, self.item_labels, self.method, self.k = items, item_labels, method, k
        self._model, self._mean, self._sd = model, mean, sd
        self.standardize, self.missing = standardize, missing
        self.labels, self.centers, self.centers_z = labels, centers, centers_z
        self.names, self.bootstrap_ari, self.bootstrap_jaccard = names, ari, jaccard
        self._weights, self._index, self.silhouette = weights, df_index, silhouette
        self.weighted = weighted  # were survey weights given (sizes and profiles use them)
        self._order = None

    @property
    def stability(self) -> float:
        """Mean bootstrap adjusted Rand index (NaN when ``n_boot=0``)."""
        return float(np.mean(self.bootstrap_ari)) if len(self.bootstrap_ari) else float("nan")

    def predict(self, df: pd.DataFrame) -> pd.Series:
        """Assign respondents (new or old) to the segments; NaN where items are missing."""
        check_columns(df, self.items, error=SegmentationError, what="item")
        X = df[self.items].apply(pd.to_numeric, errors="coerce")
        Z, ok, _, _ = _prepare(X, self.standardize, self.missing, self._mean, self._sd)
        out = pd.Series(np.nan, index=df.index, name="segment")
        if ok.any():
            out[ok] = self._order[self._model.predict(Z)] + 1
        return out.astype("Int64")

    def validation(self) -> pd.DataFrame:
        """Per segment: size (unweighted and weighted), distinctiveness, stability."""
        lab, w = self.labels, self._weights
        assigned = lab.notna().to_numpy()
        rows = []
        for s in range(1, self.k + 1):
            m = (lab == s).fillna(False).to_numpy()
            rows.append({
                "segment": s, "name": self.names[s - 1], "n": int(m.sum()),
                "share": m.sum() / assigned.sum(),
                "n_weighted": float(w[m].sum()),
                "share_weighted": float(w[m].sum() / w[assigned].sum()),
                "distinctiveness": float(np.abs(self.centers_z.loc[s]).mean()),
                "silhouette": float(self.silhouette[s - 1]),
                "stability_jaccard": float(self.bootstrap_jaccard[:, s - 1].mean())
                if len(self.bootstrap_jaccard) else np.nan,
            })
        return pd.DataFrame(rows)

    to_frame = validation

    def profile(self, df: pd.DataFrame, variables: Sequence[str], **kwargs) -> pd.DataFrame:
        """Profile every segment on ``variables`` against the total (see
        :func:`profile_segments`); ``df`` must be the data the model was fitted on."""
        if not df.index.equals(self._index):
            raise SegmentationError("profile() needs the data the segments were fitted on; "
                                    "for other data use profile_segments(df, "
                                    "model.predict(df), ...)")
        kwargs.setdefault("weights", self._weights)
        from .segments import profile_segments

        return profile_segments(df, self.labels, variables, **kwargs)

    def summary(self) -> str:
        v = self.validation()
        lines = [f"{self.k} needs-based segments ({self.method}) on {len(self.items)} items; "
                 f"{int(self.labels.notna().sum()):,} of {len(self.labels):,} respondents "
                 f"assigned; mean silhouette {np.nanmean(self.silhouette):.2f}; "
                 f"bootstrap stability (ARI) {self.stability:.2f}.",
                 "Clusters fitted unweighted; " + (
                     "weighted sizes use the survey weights." if self.weighted else
                     "no weights given, so weighted sizes equal the unweighted ones.")]
        for r in v.itertuples():
            lines.append(f"  {r.segment}. {r.name}: n = {r.n:,} ({100 * r.share:.0f}%, weighted "
                         f"{100 * r.share_weighted:.0f}%), distinctiveness {r.distinctiveness:.2f},"
                         f" stability {r.stability_jaccard:.2f}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return short_repr(self)

    def _repr_html_(self) -> str:
        v = self.validation()
        head = html.escape(self.summary().splitlines()[0])
        return f"<p>{head}</p>" + v.to_html(index=False, float_format=lambda x: f"{x:.2f}")


def needs_segments(df: pd.DataFrame, items: Sequence[str], k: int, *, method: str = "kmeans",
                   weights=None, standardize: bool = True, missing: str = "drop",
                   item_labels: Mapping[str, str] | None = None, questionnaire=None,
                   n_init: int = 10, covariance_type: str = "full", n_boot: int = 30,
                   random_state: int = 0) -> SegmentModel:
    """Needs-based segments by k-means or a Gaussian mixture on attitude items or scores.

    Parameters
    ----------
    df : DataFrame
        Respondents (not modified).
    items : list of str
        Numeric columns to cluster on (construct scores or attitude items).
    k : int
        Number of segments (see :func:`choose_k`).
    method : {"kmeans", "gmm"}
    weights : None, column name or array
        Used for weighted sizes and profiles (the clustering itself is unweighted).
    standardize : bool
        Cluster on z-scores of the items (recommended when scales differ).
    missing : {"drop", "mean"}
        Leave respondents with a missing item unassigned, or impute the item mean.
    item_labels : dict, optional
        Short labels for the suggested names (default: questionnaire labels, then ids).
        A name lists the segment's two items furthest from the total (``|z| >= 0.25``) as
        "high" / "low", or "above-average" / "below-average" when another segment is
        further out on that item by more than 0.25; a segment within 0.25 of the total on
        every item is "Average on all items".
    n_boot : int
        Bootstrap refits for stability (adjusted Rand index, per-segment Jaccard); 0 skips.

    Returns
    -------
    SegmentModel

    Examples
    --------
    >>> from surveykit.questionnaire import load_questionnaire
    >>> from surveykit.responses import clean, read_responses
    >>> q = load_questionnaire("questionnaires/pc_customers.yaml")
    >>> df, _ = clean(q, read_responses("data/demo/responses.csv", q))
    >>> att = ["att_latest", "att_paymore", "att_deal", "att_compare", "att_service",
    ...        "att_inperson"]
    >>> seg = needs_segments(df, att, k=3, n_boot=10)
    >>> seg.validation()[["segment", "name", "n", "stability_jaccard"]].round(2)
       segment                                 name     n  stability_jaccard
    0        1      High att_compare, high att_deal  1412               0.93
    1        2    High att_latest, high att_paymore  1348               0.95
    2        3  High att_inperson, high att_service  1234               0.95
    >>> seg.predict(df.head(3)).tolist()  # new respondents get the nearest segment
    [2, 3, 1]
    """
    from sklearn.metrics import silhouette_samples

    items, X = _item_matrix(df, items, missing=missing)
    w = resolve_weights(df, weights, error=SegmentationError)
    Z, ok, mean, sd = _prepare(X, standardize, missing)
    _check_method(method, [k], len(Z))
    model = _fit(method, Z, k, random_state, n_init, covariance_type)
    raw = model.predict(Z)
    counts = np.bincount(raw, minlength=k)
    if (counts == 0).any():
        raise SegmentationError(f"the {method} solution with k = {k} has an empty segment; "
                                "choose a smaller k")
    order = np.empty(k, dtype=int)
    order[np.argsort(-counts, kind="stable")] = np.arange(k)   # raw label -> rank (0 = largest)
    lab = order[raw]
    labels = pd.Series(np.nan, index=df.index, name="segment")
    labels[ok] = lab + 1
    labels = labels.astype("Int64")
    Xok = X[ok]
    centers = Xok.groupby(lab + 1).mean()
    centers_z = (centers - X.mean()) / X.std(ddof=0)
    sil_s = silhouette_samples(Z, lab) if len(Z) <= 20000 else None
    if sil_s is None:
        rng = np.random.default_rng(random_state)
        sub = rng.choice(len(Z), 20000, replace=False)
        sil_s, lab_s = silhouette_samples(Z[sub], lab[sub]), lab[sub]
    else:
        lab_s = lab
    silhouette = np.array([sil_s[lab_s == s].mean() for s in range(k)])
    names = _suggest_names(centers_z, _item_labels(items, item_labels, questionnaire))
    if n_boot:
        ari, jac_raw = _bootstrap(method, Z, lab, k, n_boot, random_state, n_init,
                                  covariance_type)
    else:
        ari, jac_raw = np.zeros(0), np.zeros((0, k))
    sm = SegmentModel(items=items, item_labels=item_labels, method=method, k=k, model=model,
                      mean=mean, sd=sd, standardize=standardize, missing=missing, labels=labels,
                      centers=centers, centers_z=centers_z, names=names, ari=ari, jaccard=jac_raw,
                      weights=w, df_index=df.index, silhouette=silhouette,
                      weighted=weights is not None)
    sm._order = order
    return sm


def _item_labels(items, item_labels, questionnaire) -> dict:
    out = {}
    for it in items:
        lab = (item_labels or {}).get(it)
        if lab is None and questionnaire is not None:
            try:
                lab = questionnaire.variable(it).label
            except KeyError:
                lab = None
        out[it] = lab or it
    return out


#: Smallest |z| (segment mean minus total mean, in the total's standard deviations) that
#: names a segment; a segment under it on every item is "Average on all items".
NAME_MIN_Z = 0.25


def _suggest_names(centers_z: pd.DataFrame, labels: dict, n_features: int = 2) -> list[str]:
    """Suggested segment names from the segments' z-scores against the total.

    The rule, per segment:

    1. Its items with ``|z| >= NAME_MIN_Z`` (0.25 SD) are its distinctive items; the name
       lists the ``n_features`` with the largest ``|z|``, as "high <item>" (z > 0) or
       "low <item>" (z < 0).
    2. "high" / "low" is kept for the segment at the extreme of that item, or within
       ``NAME_MIN_Z`` of it; when another segment is further out in the same direction by
       more than that, the word is "above-average" / "below-average", so that a segment at
       z = -0.31 is not called "low" beside one at -0.77.
    3. Only a segment with no distinctive item (every ``|z| < NAME_MIN_Z``) is called
       "Average on all items".
    4. Names that still coincide get the segment number, e.g. "High price (3)".

    Examples
    --------
    >>> z = pd.DataFrame({"price": [-0.77, -0.31, 0.10], "speed": [0.90, 0.05, -0.20]},
    ...                  index=[1, 2, 3])
    >>> _suggest_names(z, {"price": "Price", "speed": "Speed"})
    ['High speed, low price', 'Below-average price', 'Average on all items']
    """
    names = []
    for s in centers_z.index:
        z = centers_z.loc[s]
        top = z.abs().sort_values(ascending=False, kind="stable").index[:n_features]
        parts = []
        for i in top:
            if abs(z[i]) < NAME_MIN_Z:
                continue
            others = centers_z[i].drop(index=s)
            further = (others > z[i] + NAME_MIN_Z).any() if z[i] > 0 \
                else (others < z[i] - NAME_MIN_Z).any()
            word = ("above-average" if further else "high") if z[i] > 0 \
                else ("below-average" if further else "low")
            parts.append(f"{word} {lower_first(shorten(labels[i]))}")
        name = ", ".join(parts) or "average on all items"
        names.append(name[0].upper() + name[1:])
    seen: dict[str, int] = {}
    for i, n in enumerate(names):
        seen[n] = seen.get(n, 0) + 1
        if seen[n] > 1 or names.count(n) > 1:
            names[i] = f"{n} ({i + 1})"
    return names
