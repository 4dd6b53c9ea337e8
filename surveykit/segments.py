"""Segments: a priori (questionnaire rules), needs-based (k-means / Gaussian mixtures),
profiles against the total with significance, and a validation summary.

Needs-based segments are found on respondents as sampled (the clustering is unweighted);
weights enter the sizes and the profiles, where they change estimates. CRM value tiers, RFM,
CLV and lifecycle stages live in :mod:`surveykit.crm` (re-exported here).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from ._util import as_list, check_columns, lower_first, resolve_weights, short_repr, shorten
from .errors import SegmentationError, TableError

__all__ = ["apriori_segments", "choose_k", "needs_segments", "SegmentModel", "profile_segments",
           "segment_summary"]

METHODS = ("kmeans", "gmm")


# --------------------------------------------------------------------------------------------
# a priori segments
# --------------------------------------------------------------------------------------------
def apriori_segments(df: pd.DataFrame, segment: str | None = None, *, questionnaire=None,
                     rules: Mapping[str, Callable | str | Sequence[bool]] | None = None,
                     other: str | None = None) -> pd.Series:
    """A priori segments, from a questionnaire derived variable or from explicit rules.

    Parameters
    ----------
    df : DataFrame
        Responses (not modified).
    segment : str, optional
        Id of a derived variable with ``rules`` in the questionnaire (e.g. the PC segments).
    questionnaire : Questionnaire, optional
        Needed for ``segment`` and for rules given as expression text.
    rules : dict, optional
        ``{label: rule}``; a rule is a callable ``df -> bool mask``, a boolean array, or an
        expression in the questionnaire's language. First match wins.
    other : str, optional
        Label for respondents matching no rule (default: missing).

    Returns
    -------
    Series
        Categorical segment labels aligned with ``df.index`` (categories in rule order).

    Examples
    --------
    >>> from surveykit.questionnaire import load_questionnaire
    >>> from surveykit.responses import clean, read_responses
    >>> q = load_questionnaire("questionnaires/pc_customers.yaml")
    >>> df, _ = clean(q, read_responses("data/demo/responses.csv", q))
    >>> seg = apriori_segments(df, "segment", questionnaire=q)
    >>> seg.value_counts(sort=False)
    segment
    Students                   508
    Young professionals       1467
    Older users                441
    Large enterprises          516
    SMEs                       620
    Government & education     442
    Name: count, dtype: int64
    >>> seg = apriori_segments(df, rules={"Students": lambda d: d.age <= 24,
    ...                                   "Older users": lambda d: d.age >= 40},
    ...                        other="Other")
    >>> seg.value_counts(sort=False)
    segment
    Students        508
    Older users     523
    Other          2963
    Name: count, dtype: int64
    """
    if (segment is None) == (rules is None):
        raise SegmentationError("pass either segment= (a derived variable of the questionnaire) "
                                "or rules={label: rule}, not both or neither")
    if segment is not None:
        if questionnaire is None:
            raise SegmentationError(f"segment={segment!r} needs questionnaire= (it defines the "
                                    "derived variable's rules)")
        derived = {d.id: d for d in questionnaire.derived}
        if segment not in derived:
            raise SegmentationError(f"{segment!r} is not a derived variable of questionnaire "
                                    f"{questionnaire.id!r}; it has: {', '.join(derived) or 'none'}")
        d = derived[segment]
        categories = d.categories
        try:
            codes = questionnaire.derive(df)[segment]
        except KeyError as exc:
            raise SegmentationError(f"derived variable {segment!r} needs a column that is not "
                                    f"in the data: {exc.args[0]}") from None
        labels = dict(categories)
        cats = list(categories.values())
        out = codes.map(lambda c: labels.get(c, labels.get(_num(c))) if pd.notna(c) else None)
        name = segment
    else:
        cats, out = list(rules), pd.Series([None] * len(df), index=df.index, dtype=object)
        for label, rule in rules.items():
            mask = _rule_mask(df, label, rule, questionnaire)
            out[mask & out.isna()] = label
        name = "segment"
    if other is not None:
        out = out.where(out.notna(), other)
        cats = cats + [other]
    return pd.Series(pd.Categorical(out, categories=cats), index=df.index, name=name)


def _num(c):
    try:
        return int(c) if float(c).is_integer() else float(c)
    except (TypeError, ValueError):
        return c


def _rule_mask(df, label, rule, questionnaire) -> np.ndarray:
    if isinstance(rule, str):
        if questionnaire is None:
            raise SegmentationError(f"rule for {label!r} is expression text; pass questionnaire= "
                                    "to evaluate it, or give a callable df -> mask")
        mask = questionnaire.evaluate(rule, df)
    elif callable(rule):
        mask = rule(df)
    else:
        mask = rule
    if len(mask) != len(df):
        raise SegmentationError(f"rule for {label!r} gave {len(mask)} values for {len(df)} rows")
    mask = pd.Series(mask, index=df.index) if not isinstance(mask, pd.Series) else mask
    return mask.fillna(False).astype(bool).to_numpy()


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


# --------------------------------------------------------------------------------------------
# profiles and validation
# --------------------------------------------------------------------------------------------
def profile_segments(df: pd.DataFrame, segments: str | pd.Series, variables: Sequence[str], *,
                     weights=None, questionnaire=None, types: Mapping[str, str] | None = None,
                     labels=None, value_labels=None, scales=None, alpha: float = 0.05,
                     correction: str = "holm", min_base: int = 30,
                     method: str = "effective_base") -> pd.DataFrame:
    """Profile of every segment against the total: estimate, total, index (100 = total) and
    significance, for every row a banner would show (category %, top/bottom box, means, NPS).

    The test is :func:`surveykit.estimates.compare` with ``reference="total"`` (each segment
    against the rest of the sample, on effective bases, or ``method="design"``), with
    ``correction`` across the segments of each row. Segments with an unweighted base under
    ``min_base`` are flagged and not tested.

    ``segments`` is a column of ``df`` or a Series aligned with it (e.g. ``model.labels``).

    Returns
    -------
    DataFrame
        ``variable, question_label, row, row_label, stat, segment, estimate, total, index,
        difference, sig ("+" / "-"), p_value, p_adj, n, n_eff, low_base, test``; the method
        note is in ``.attrs["footnotes"]``.

    Examples
    --------
    >>> from surveykit.survey import Survey
    >>> s = Survey.from_files("questionnaires/pc_customers.yaml", "data/demo/responses.csv",
    ...                       targets="data/demo/targets.yaml")
    >>> p = profile_segments(s.data, "segment", ["overall_sat", "nps", "channel"],
    ...                      weights="weight", questionnaire=s.questionnaire)
    >>> p.query("stat == 'nps'")[["segment", "estimate", "total", "sig"]].round(1)
         segment  estimate  total sig
    102        1       1.6   10.2   -
    103        2      42.0   10.2   +
    104        3     -29.3   10.2   -
    105        4      32.5   10.2   +
    106        5      -0.2   10.2   -
    107        6      17.8   10.2   +
    """
    from ._banner_sums import _question_matrix
    from ._question_meta import _Meta
    from .estimates import compare
    from .tables import adjust_pvalues

    if isinstance(segments, str):
        check_columns(df, [segments], error=SegmentationError, what="segment column")
        seg = df[segments]
    else:
        seg = pd.Series(segments)
        if len(seg) != len(df) or not seg.index.equals(df.index):
            raise SegmentationError("segments must be a column name or a Series with the same "
                                    "index as df")
    if seg.notna().sum() == 0:
        raise SegmentationError("no respondent has a segment (all missing)")
    w = resolve_weights(df, weights, error=SegmentationError)
    meta = _Meta(df, questionnaire, types, labels, value_labels, scales, 2, SegmentationError)
    work, rows = {"__segment__": seg.to_numpy() if not isinstance(seg.dtype, pd.CategoricalDtype)
                  else seg.array}, []
    for var in as_list(variables):
        spec = meta.spec(var, role="profile")
        try:
            valid, P, X, rdesc = _question_matrix(meta, spec)
        except TableError as exc:
            raise SegmentationError(str(exc)) from None
        if not valid.any():
            raise SegmentationError(f"profile variable {var!r} has no answers (all missing)")
        for key, rlabel, stat, kind, j in rdesc:
            name = f"__y{len(rows)}"
            if kind == "p":
                y, cstat = np.where(valid, P[:, j], np.nan), "proportion"
            elif stat == "nps":
                x = pd.to_numeric(meta.values(var), errors="coerce").to_numpy(float)
                y, cstat = np.where(valid, x, np.nan), "nps"
            else:
                y, cstat = np.where(valid, X[:, j], np.nan), "mean"
            work[name] = y
            rows.append({"__name__": name, "variable": var, "question_label": spec.label,
                         "row": str(key if not isinstance(key, float) or not key.is_integer()
                                    else int(key)), "row_label": rlabel, "stat": stat,
                         "__cstat__": cstat})
    work = pd.DataFrame(work, index=df.index)
    parts = []
    for cstat in ("proportion", "mean", "nps"):
        names = [r["__name__"] for r in rows if r["__cstat__"] == cstat]
        if names:
            parts.append(compare(work, names, by="__segment__", stat=cstat, weights=w,
                                 reference="total", alpha=alpha, method=method))
    res = pd.concat(parts, ignore_index=True).drop(columns=["stat"]).rename(
        columns={"variable": "__name__", "group": "segment", "reference_estimate": "total"})
    info = pd.DataFrame(rows)
    info["__order__"] = np.arange(len(info))
    res = res.merge(info, on="__name__", how="left")
    res = res.sort_values("__order__", kind="stable").reset_index(drop=True)
    res["low_base"] = res["n"] < min_base
    p = res["p_value"].where(~res["low_base"]).to_numpy(float)
    p_adj = np.full(len(res), np.nan)
    for pos in res.groupby("__order__").indices.values():
        p_adj[pos] = adjust_pvalues(p[pos], correction)
    res["p_adj"] = p_adj
    sig = p_adj < alpha
    res["sig"] = np.where(sig & (res["difference"] > 0), "+",
                          np.where(sig & (res["difference"] < 0), "-", ""))
    with np.errstate(divide="ignore", invalid="ignore"):
        index = 100 * res["estimate"] / res["total"]
    res["index"] = np.where(res["stat"] == "nps", np.nan, index)
    out = res[["variable", "question_label", "row", "row_label", "stat", "segment", "estimate",
               "total", "index", "difference", "sig", "p_value", "p_adj", "n", "n_eff",
               "low_base", "test"]]
    corr = {"none": "no correction", "bonferroni": "Bonferroni correction",
            "holm": "Holm correction", "fdr": "Benjamini-Hochberg (FDR) correction"}[correction]
    out.attrs["footnotes"] = [
        "Each segment tested against the rest of the sample (surveykit.estimates.compare, "
        f"reference='total'): {'; '.join(sorted(res['test'].unique()))}; alpha = {alpha:g}; "
        f"{corr} across the segments of each row. + / - : significantly above / below the "
        "Total. Index = 100 x segment / Total.",
        f"Segments with an unweighted base under {min_base} are flagged, not tested.",
        "Weighted." if weights is not None else "Unweighted."]
    return out


def segment_summary(df: pd.DataFrame, segments: str | pd.Series, *, weights=None,
                    items: Sequence[str] | None = None) -> pd.DataFrame:
    """Validation summary of any segmentation (a priori or needs-based): size unweighted and
    weighted, and, with ``items``, distinctiveness (mean |z| of the segment's item means vs
    the total) and the mean silhouette on the standardised items.

    Examples
    --------
    Weighted to the demo targets, the segment shares match them (14/24/22/14/16/10%):

    >>> from surveykit.survey import Survey
    >>> s = Survey.from_files("questionnaires/pc_customers.yaml", "data/demo/responses.csv",
    ...                       targets="data/demo/targets.yaml")
    >>> r = segment_summary(s.data, "segment", weights="weight")
    >>> r[["segment", "n", "share", "share_weighted"]].round(3)
       segment     n  share  share_weighted
    0        1   508  0.127            0.14
    1        2  1467  0.367            0.24
    2        3   441  0.110            0.22
    3        4   516  0.129            0.14
    4        5   620  0.155            0.16
    5        6   442  0.111            0.10
    """
    seg = df[segments] if isinstance(segments, str) else pd.Series(segments, index=df.index)
    w = resolve_weights(df, weights, error=SegmentationError)
    ok = seg.notna().to_numpy()
    if ok.sum() == 0:
        raise SegmentationError("no respondent has a segment (all missing)")
    levels = (list(seg.cat.categories) if isinstance(seg.dtype, pd.CategoricalDtype)
              else sorted(seg.dropna().unique(), key=str))
    rows = []
    if items is not None:
        from sklearn.metrics import silhouette_samples

        items, X = _item_matrix(df, items, missing="drop")
        Z, zok, mean, sd = _prepare(X, True, "drop")
        lab = seg.to_numpy()[zok]
        have = pd.notna(lab)
        codes = pd.Categorical(lab[have], categories=levels).codes
        sil = (silhouette_samples(Z[have], codes) if len(np.unique(codes)) > 1
               else np.full(have.sum(), np.nan))
    for lev in levels:
        m = (seg == lev).fillna(False).to_numpy()
        r = {"segment": lev, "n": int(m.sum()), "share": m.sum() / ok.sum(),
             "n_weighted": float(w[m].sum()), "share_weighted": float(w[m].sum() / w[ok].sum())}
        if items is not None:
            zm = (X[m].mean() - mean) / sd
            r["distinctiveness"] = float(np.abs(zm).mean())
            r["silhouette"] = float(np.nanmean(sil[codes == levels.index(lev)])) \
                if (codes == levels.index(lev)).any() else np.nan
        rows.append(r)
    return pd.DataFrame(rows)
