"""Fit a PLS path model: :func:`pls` on a DataFrame, :func:`pls_from_questionnaire` on the
constructs a questionnaire declares."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .._util import check_columns, numeric_array, resolve_weights
from ..errors import PLSError
from ..significance import effective_n
from . import _engine as eng
from . import _measures as ms
from ._spec import SCHEMES, ModelSpec, build_spec
from .result import PLSResult, build_result


def pls(df: pd.DataFrame, blocks: Mapping[str, Sequence[str]],
        paths: Mapping[str, Sequence[str] | str], *, modes=None, scheme: str = "path",
        scaled: bool = True, weights=None, boot: int = 0,
        seed: int | np.random.Generator | None = 0, level: float = 0.95, scale_range=None,
        labels: Mapping[str, str] | None = None, tol: float = 1e-6,
        max_iter: int = 100, min_items=None) -> PLSResult:
    """PLS path model (Wold / Lohmöller, as R ``plspm``), e.g. the ECSI / ACSI index model.

    Parameters
    ----------
    df : DataFrame
        One row per respondent; not modified. Rows missing any item of the model are left
        out (listwise; counted in ``notes``), as are rows of weight 0.
    blocks : dict
        ``{construct: [item columns]}``: the measurement model. Each item in one block.
    paths : dict
        ``{construct: [its predecessors]}`` for every endogenous construct, e.g.
        ``{"EXPE": ["IMAG"], "SAT": ["IMAG", "EXPE", "QUAL", "VAL"], "LOY": ["SAT"]}``.
        Exogenous constructs need no entry; the paths must not form a cycle.
    modes : None, "A", "B" or dict
        Measurement mode per block: ``"A"`` reflective (default), ``"B"`` formative.
    scheme : {"path", "centroid", "factorial"}
        Inner weighting scheme.
    scaled : bool
        Standardize the items first (R plspm's ``scaled=TRUE``); ``False`` only centres
        them, so the outer weights apply to the items in their own units. Scores are
        standardized either way.
    weights : None, str or array-like
        Respondent weights (column name or values; normalized to sum to the number of
        respondents). Every mean, variance, covariance and regression is weighted;
        ``None`` equals all ones. Path SEs are model-based (weighted least squares with
        ``n - k - 1`` degrees of freedom); the bootstrap resamples respondents with their
        weights.
    boot : int
        Bootstrap replicates (0: none; else at least 10). Percentile CIs and bootstrap SEs
        are added for outer weights, loadings, paths, R², total effects, the 0-100 index,
        HTMT and GoF.
    seed : int, numpy Generator or None
        Seeds the bootstrap (``numpy.random.default_rng(seed)``); the same seed gives the
        same replicates. No global random state is used.
    level : float
        Confidence level of the bootstrap intervals.
    scale_range : None, (low, high) or dict
        Scale ends of the items for the 0-100 index: one pair for all items, or a dict by
        item or by construct. ``None`` takes each item's observed lowest and highest answer
        and says so in ``notes``.
    labels : dict, optional
        Display labels of the constructs (tables and charts).
    tol, max_iter : float, int
        Stopping rule of the iterations (R plspm's defaults): stop when the sum of squared
        changes of the absolute outer weights is below ``tol``.
    min_items : None, int or dict
        Who gets a 0-100 index score. ``None`` (R plspm): only the respondents the model is
        estimated on (every item answered). An int, or ``{construct: int}``: a respondent
        (of positive weight) answering at least that many items of a block gets that
        block's index from the answered items, the index weights renormalised to sum to 1
        over them (see Notes). The model itself is always estimated on complete cases.

    Returns
    -------
    PLSResult
        Tidy frames ``outer_model``, ``crossloadings``, ``inner_model``, ``constructs``,
        ``effects``, ``unidim``, ``htmt``, ``gof``, ``scores`` and ``index_scores``;
        ``summary()``, ``to_frame()``, ``plot()`` (path diagram) and ``ipma()``.

    Raises
    ------
    PLSError
        Unknown item columns, a construct in ``paths`` without a block, a cycle, a block in
        no path, an item that does not vary, collinear items in a formative block, too few
        respondents, or no convergence within ``max_iter`` iterations.

    Notes
    -----
    Estimates equal R plspm's (checked against the plspm reference on the ECSI
    ``satisfaction`` data, tests/fixtures/pls). Two departures: when a construct's sign is
    flipped so that most of its loadings are positive, its outer weights are flipped too
    (R plspm flips only the scores); AVE, alpha and rho are NaN, not 0, for mode B blocks.

    The 0-100 index follows the ACSI convention: the outer weights, un-standardized onto
    each item's 0-100 scale, are rescaled to sum to 1 in each block, and a respondent's
    index is the weighted mean of their items on that scale (with one scale for all items:
    ``100 * (score - low) / (high - low)`` of the weighted mean of the raw answers).

    With ``min_items``, a respondent who skipped items of a block is scored from the items
    answered: with index weights ``w_j`` (summing to 1 over the block) and answered set
    ``A``, the index is ``sum_A w_j x_j / sum_A w_j`` (``x_j`` on 0-100), so a complete
    respondent's index is unchanged. This is the available-item (prorated) rule for
    weighted composites: the weights of the missing items are dropped from the
    denominator (SPSS's ``MEAN.k`` with weights); it is the weighted form of the package's
    own construct scores (``Questionnaire.construct_scores``: the mean of the answered
    items when at least ``min_items`` are answered). The weights stay the model's; only
    the answered ones are rescaled to sum to 1. Estimates, the ``constructs`` table's mean
    index, its CIs and ``scores`` (standardized) stay on the complete cases.

    Examples
    --------
    >>> from surveykit.pls import pls
    >>> rng = np.random.default_rng(1)
    >>> n = 300
    >>> q = rng.normal(size=n)
    >>> s = 0.6 * q + rng.normal(scale=0.8, size=n)
    >>> d = pd.DataFrame({f"q{i}": np.clip(np.round(7 + 1.5 * q + rng.normal(size=n)), 1, 10)
    ...                   for i in (1, 2, 3)})
    >>> for i in (1, 2, 3):
    ...     d[f"s{i}"] = np.clip(np.round(7 + 1.5 * s + rng.normal(size=n)), 1, 10)
    >>> res = pls(d, {"QUAL": ["q1", "q2", "q3"], "SAT": ["s1", "s2", "s3"]},
    ...           {"SAT": ["QUAL"]}, scale_range=(1, 10))
    >>> res.inner_model[["from", "to"]].values.tolist()
    [['QUAL', 'SAT']]
    >>> round(float(res.inner_model["estimate"].iloc[0]), 2)
    0.51
    >>> res.constructs[["construct", "r2"]].round(2).values.tolist()
    [['QUAL', 0.0], ['SAT', 0.26]]
    """
    if not isinstance(df, pd.DataFrame):
        raise PLSError(f"df must be a pandas DataFrame; got {type(df).__name__}")
    spec = build_spec(blocks, paths, modes)
    if scheme not in SCHEMES:
        raise PLSError(f"scheme={scheme!r}; use one of {', '.join(map(repr, SCHEMES))}")
    if not isinstance(scaled, bool | np.bool_):
        raise PLSError(f"scaled={scaled!r}; use True (standardize items) or False")
    if isinstance(boot, bool) or not isinstance(boot, int | np.integer) or boot < 0 \
            or 0 < boot < 10:
        raise PLSError(f"boot={boot!r}; use 0 (no bootstrap) or a number of replicates >= 10 "
                       "(500 or more for percentile intervals worth reporting)")
    if not 0 < level < 1:
        raise PLSError(f"level={level!r}; give a confidence level between 0 and 1, e.g. 0.95")
    if not tol > 0 or int(max_iter) < 1:
        raise PLSError(f"tol={tol!r} and max_iter={max_iter!r}; tol must be > 0 and "
                       "max_iter >= 1")
    if labels is not None:
        extra = [c for c in labels if c not in spec.constructs]
        if extra:
            raise PLSError(f"labels name {', '.join(map(repr, extra))}, which are not "
                           f"constructs of the model ({list(spec.constructs)})")
    items = spec.items
    check_columns(df, items, error=PLSError, what="item")
    X_all = np.column_stack([numeric_array(df, m, error=PLSError, what="item") for m in items])
    w_all = resolve_weights(df, weights, error=PLSError)
    complete = np.isfinite(X_all).all(axis=1)
    keep = complete & (w_all > 0)
    notes = []
    if (~complete).any():
        miss = np.isnan(X_all).sum(axis=0)
        worst = ", ".join(f"{items[i]} ({miss[i]})" for i in np.argsort(-miss)[:3] if miss[i])
        notes.append(f"{int((~complete).sum())} of {len(df)} respondents left out: missing at "
                     f"least one item (listwise; most missing: {worst})")
    if (complete & (w_all == 0)).any():
        notes.append(f"{int((complete & (w_all == 0)).sum())} respondents of weight 0 left out")
    n = int(keep.sum())
    kmax = int(spec.path.sum(axis=1).max())
    if n < max(3, kmax + 2):
        raise PLSError(f"only {n} respondents have every item of the model (and a positive "
                       f"weight); a construct with {kmax} predecessors needs at least "
                       f"{max(3, kmax + 2)}")
    X = X_all[keep]
    w = w_all[keep] * (n / w_all[keep].sum())
    mean = w @ X / n
    X0 = X - mean
    S_raw = (X0 * w[:, None]).T @ X0 / n
    sd = np.sqrt(np.clip(np.diag(S_raw), 0, None))
    _check_variation(sd, mean, spec, n)
    scale = sd if scaled else np.ones(len(items))
    S = S_raw / np.outer(scale, scale)
    _check_formative(S, spec)
    W, iters, ok = eng.fit_weights(S[None], spec, scheme, n, tol, int(max_iter))
    if not ok[0]:
        raise PLSError(f"the PLS iterations did not converge within max_iter={max_iter} "
                       f"(tol={tol}); raise max_iter, try scheme='centroid', or look for a "
                       "block whose items barely correlate with each other or with the "
                       "neighbouring blocks")
    est = eng.inner_model(S[None], W, spec)
    ranges, range_note = ms.resolve_ranges(scale_range, spec, X)
    if range_note:
        notes.append(range_note)
    wbar = ms.index_weights(W[0].sum(axis=1), scale, ranges, spec)[0]
    neg = [c for k, c in enumerate(spec.constructs)
           if np.isnan(wbar[spec.block_index == k]).any()]
    if neg:
        notes.append(f"no 0-100 index for {', '.join(neg)}: a negative outer weight (the "
                     "ACSI index needs positive weights); check for an item to reverse-key "
                     "or drop")
    R_items = S_raw / np.outer(sd, sd)
    boot_out = None
    if boot:
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        boot_out = _bootstrap(X0, mean, w, spec, scheme, scaled, n, tol, int(max_iter),
                              int(boot), rng, ranges)
        if boot_out["failed"]:
            notes.append(f"{boot_out['failed']} of {boot} bootstrap replicates failed (no "
                         "convergence or a constant item in the resample) and are left out")
    scores = pd.DataFrame(np.nan, index=df.index, columns=list(spec.constructs))
    scores.loc[keep] = (X0 / scale) @ W[0]
    idx = ms.index_values(X, wbar, ranges, spec)
    index = pd.DataFrame(np.nan, index=df.index, columns=list(spec.constructs))
    index.loc[keep] = idx
    if min_items is not None:
        index = _available_item_index(index, X_all, w_all > 0, wbar, ranges, spec,
                                      min_items, notes)
    index_sd = np.sqrt(w @ (idx - w @ idx / n) ** 2 / n)
    return build_result(
        spec=spec, scheme=scheme, scaled=bool(scaled), n=n, n_eff=effective_n(w),
        iterations=int(iters[0]), W=W[0], est={k: v[0] for k, v in est.items()},
        R_items=R_items, wbar=wbar, ranges=ranges, mean=mean, index_sd=index_sd,
        scores=scores, index_scores=index, boot=boot_out, boot_requested=int(boot),
        level=level, seed=seed if not isinstance(seed, np.random.Generator) else None,
        labels=dict(labels or {}), notes=notes)


def _available_item_index(index: pd.DataFrame, X_all, positive, wbar, ranges,
                          spec: ModelSpec, min_items, notes: list) -> pd.DataFrame:
    """``index`` with the incomplete respondents scored from their answered items
    (index weights renormalised over them) where a block has at least its ``min_items``."""
    cs = list(spec.constructs)
    need = min_items if isinstance(min_items, Mapping) else dict.fromkeys(cs, min_items)
    bad = [c for c in cs if c not in need or isinstance(need[c], bool)
           or not isinstance(need[c], int | np.integer) or need[c] < 1]
    if bad:
        raise PLSError(f"min_items={min_items!r}: give a whole number >= 1, or one for every "
                       f"construct ({', '.join(map(repr, bad))} missing or invalid)")
    answered = np.isfinite(X_all)
    rows = positive & ~answered.all(axis=1)
    if not rows.any():
        return index
    x100 = 100 * (np.nan_to_num(X_all[rows]) - ranges[:, 0]) / (ranges[:, 1] - ranges[:, 0])
    wa = np.nan_to_num(wbar) * answered[rows]
    count = answered[rows].astype(float) @ spec.odm
    with np.errstate(divide="ignore", invalid="ignore"):
        val = np.clip(((x100 * wa) @ spec.odm) / (wa @ spec.odm), 0.0, 100.0)
    ok = (count >= np.array([need[c] for c in cs])) \
        & ~((np.isnan(wbar).astype(float) @ spec.odm) > 0)
    out = index.copy()
    out.loc[rows] = np.where(ok, val, np.nan)
    added = int((ok.any(axis=1)).sum())
    notes.append(f"index scores also for {added} respondents missing items, from the items "
                 "they answered (index weights renormalised; min_items per block: "
                 + ", ".join(f"{c} {need[c]}" for c in cs) + ")")
    return out


def _check_variation(sd: np.ndarray, mean: np.ndarray, spec: ModelSpec, n: int) -> None:
    flat = sd <= 1e-12 * np.maximum(1.0, np.abs(mean))
    if flat.any():
        b = spec.block_index
        which = ", ".join(f"{spec.items[i]!r} (block {spec.constructs[b[i]]!r})"
                          for i in np.flatnonzero(flat))
        raise PLSError(f"item(s) {which} take one value for all {n} respondents used; a "
                       "constant item carries no information: drop it from its block")


def _check_formative(S: np.ndarray, spec: ModelSpec) -> None:
    b = spec.block_index
    for k, c in enumerate(spec.constructs):
        j = np.flatnonzero(b == k)
        if spec.modes[c] != "B" or len(j) < 2:
            continue
        Rj = S[np.ix_(j, j)] / np.sqrt(np.outer(np.diag(S)[j], np.diag(S)[j]))
        if np.linalg.eigvalsh(Rj).min() < 1e-10:
            raise PLSError(f"formative (mode B) block {c!r}: its items are (almost) linearly "
                           "dependent, so their weights cannot be estimated; drop one item "
                           "or make the block reflective (mode A)")


def _bootstrap(X0, mean, w, spec: ModelSpec, scheme, scaled, n, tol, max_iter, B, rng,
               ranges) -> dict:
    """Replicate estimates from ``B`` resamples of respondents (with their weights).

    Each resample is a vector of draw counts; counts times weights (renormalized to sum
    to ``n``) give the resample's weighted moments, so all replicates are estimated
    together from their covariance matrices, in chunks that bound memory.
    """
    edges = [(spec.constructs.index(f), spec.constructs.index(t)) for f, t in spec.edges]
    endo = np.flatnonzero(spec.path.any(axis=1))
    eff = spec.effect_pairs
    L = len(spec.constructs)
    iu = np.triu_indices(L, 1)
    out = {k: [] for k in ("weight", "loading", "path", "r2", "total", "index", "htmt",
                           "gof")}
    failed = 0
    chunk = max(1, min(B, int(4e6 // n)))
    done = 0
    while done < B:
        b = min(chunk, B - done)
        done += b
        V = eng.boot_counts(rng, b, n) * w[None, :]
        V *= n / V.sum(axis=1, keepdims=True)
        m, S_raw = eng.moments(X0, V)
        sd = np.sqrt(np.clip(np.einsum("bii->bi", S_raw), 0, None))
        good = (sd > 1e-12 * np.maximum(1.0, np.abs(mean))).all(axis=1)
        sd_safe = np.where(good[:, None], sd, 1.0)
        R = S_raw / (sd_safe[:, :, None] * sd_safe[:, None, :])
        R[~good] = np.eye(R.shape[1])
        S = R if scaled else np.where(good[:, None, None], S_raw, R)
        with np.errstate(all="ignore"):
            W, _, ok = eng.fit_weights(S, spec, scheme, n, tol, max_iter)
            ok &= good
            est = eng.inner_model(S, W, spec)
            scale = sd_safe if scaled else np.ones_like(sd_safe)
            wsum = W.sum(axis=2)
            wbar = ms.index_weights(wsum, scale, ranges, spec)
            idx = ms.index_values(mean + m, wbar, ranges, spec)
            ht = ms.htmt(R, spec)[:, iu[0], iu[1]]
            gf = ms.gof(est["loadings"], est["r2"], spec)
        ok &= np.isfinite(est["r2"]).all(axis=1) & np.isfinite(wsum).all(axis=1)
        failed += int((~ok).sum())
        out["weight"].append(wsum[ok])
        out["loading"].append(est["loadings"][ok])
        out["path"].append(np.stack([est["paths"][ok, t, f] for f, t in edges], axis=1))
        out["r2"].append(est["r2"][ok][:, endo])
        out["total"].append(np.stack([est["total"][ok, t, f] for f, t in eff], axis=1))
        out["index"].append(idx[ok])
        out["htmt"].append(ht[ok])
        out["gof"].append(gf[ok][:, None])
    res = {k: np.concatenate(v, axis=0) for k, v in out.items()}
    res["failed"] = failed
    res["B"] = B
    return res


def pls_from_questionnaire(df: pd.DataFrame, questionnaire, **kwargs) -> PLSResult:
    """:func:`pls` of the path model a questionnaire declares.

    The model is declared once, in the questionnaire: ``paths:`` (each endogenous construct
    with its predecessors) is the inner model; the ``constructs`` it names are the blocks
    (their ``items``), with their ``mode`` (A reflective, B formative); ``path_scheme`` is
    the inner weighting scheme. Declared missing codes become missing; reverse-keyed items
    (the construct's ``reverse`` list and ``reverse: true`` grid items) are re-coded ``low +
    high - x`` on their scale, so every item points the favourable way; each item's scale
    ends (``scale_of``) are the 0-100 index's range; the constructs' labels label the
    tables and charts. ``df`` is not modified. The model is estimated on the respondents
    with every item (counted in ``notes``); the 0-100 index scores every respondent who
    answered at least a construct's ``min_items`` (default half its items, rounded up)
    from the items answered (``min_items`` of :func:`pls`).

    Parameters
    ----------
    df : DataFrame
        Response data with the constructs' item columns.
    questionnaire : Questionnaire
        A loaded questionnaire that declares ``paths:``.
    **kwargs
        Passed to :func:`pls` (``weights``, ``boot``, ``seed``, ``level``, ...);
        ``scheme``, ``scale_range`` and ``labels`` override the questionnaire's. The model
        itself (blocks, paths, modes) is the questionnaire's: edit it there, or call
        :func:`pls` with ``blocks=`` and ``paths=``.

    Raises
    ------
    PLSError
        The questionnaire declares no ``paths:``, a model argument is passed, or
        :func:`pls` refuses the data.

    Examples
    --------
    >>> from surveykit.questionnaire import questionnaire_from_text
    >>> from surveykit.pls import pls_from_questionnaire
    >>> q = questionnaire_from_text('''
    ... id: mini
    ... title: Mini
    ... scales: {s10: {codes: {1: Poor, 2: '2', 3: '3', 4: '4', 5: '5', 6: '6', 7: '7',
    ...                        8: '8', 9: '9', 10: Excellent}, missing: {99: Don't know}}}
    ... questions:
    ...   - id: g
    ...     type: grid
    ...     text: Rate
    ...     scale: s10
    ...     items: [{id: q1, text: A}, {id: q2, text: B}, {id: q3, text: C, reverse: true},
    ...             {id: s1, text: D}, {id: s2, text: E}]
    ... constructs:
    ...   - {id: QUAL, label: Quality, items: [q1, q2, q3]}
    ...   - {id: SAT, label: Satisfaction, items: [s1, s2]}
    ... paths:
    ...   SAT: [QUAL]
    ... ''')
    >>> rng = np.random.default_rng(3)
    >>> f = rng.normal(size=200)
    >>> d = pd.DataFrame({c: np.clip(np.round(6 + 2 * f + rng.normal(size=200)), 1, 10)
    ...                   for c in ["q1", "q2", "s1", "s2"]})
    >>> d["q3"] = 11 - np.clip(np.round(6 + 2 * f + rng.normal(size=200)), 1, 10)
    >>> d.loc[0, "q1"] = 99
    >>> res = pls_from_questionnaire(d, q)
    >>> res.n, bool((res.outer_model["loading"] > 0.8).all())
    (199, True)
    >>> res.constructs["label"].tolist()
    ['Quality', 'Satisfaction']
    """
    if not (hasattr(questionnaire, "construct_items") and hasattr(questionnaire, "model")):
        raise PLSError("questionnaire must be a loaded Questionnaire (load_questionnaire)")
    paths = dict(getattr(questionnaire.model, "paths", None) or {})
    if not paths:
        raise PLSError(f"questionnaire {questionnaire.id!r} declares no path model; add a "
                       "paths: block naming each endogenous construct's predecessors, e.g. "
                       "paths: {satisfaction: [quality, value]}")
    given = [k for k in ("blocks", "paths", "modes", "constructs") if k in kwargs]
    if given:
        raise PLSError(f"{', '.join(given)} cannot be passed: the model is declared in "
                       f"questionnaire {questionnaire.id!r} (paths:, and each construct's "
                       "items and mode); edit it there, or call pls() with blocks= and paths=")
    declared = {c.id: c for c in questionnaire.constructs}
    wanted = set(paths) | {f for fs in paths.values() for f in fs}
    order = [c for c in declared if c in wanted]
    blocks, ranges, data = {}, {}, {}
    for cid in order:
        items, rev = questionnaire.construct_items(cid)
        check_columns(df, items, error=PLSError, what=f"item of construct {cid!r}")
        blocks[cid] = items
        for item in items:
            x = pd.to_numeric(questionnaire.valid_values(df, item), errors="coerce")
            sc = questionnaire.scale_of(item)
            if sc is not None:
                ranges[item] = (sc.low, sc.high)
            if item in rev:
                if sc is None:
                    raise PLSError(f"item {item!r} of construct {cid!r} is reverse-keyed but "
                                   "has no scale to reverse it on; give it a scale")
                x = sc.low + sc.high - x
            data[item] = x
    kwargs.setdefault("labels", {c: declared[c].label for c in order})
    kwargs.setdefault("scheme", questionnaire.model.path_scheme)
    kwargs.setdefault("min_items", {c: declared[c].required_items for c in order})
    if "scale_range" not in kwargs and len(ranges) == sum(len(v) for v in blocks.values()):
        kwargs["scale_range"] = ranges
    frame = pd.DataFrame(data, index=df.index)
    w = kwargs.pop("weights", None)
    if isinstance(w, str):
        w = resolve_weights(df, w, error=PLSError)
    return pls(frame, blocks, paths, modes={c: declared[c].mode for c in order},
               weights=w, **kwargs)
