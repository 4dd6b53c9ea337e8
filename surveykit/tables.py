"""Banner tables (the analyst's tab book) with column-significance letters.

:func:`banner` crosses row questions with banner variables: weighted column percentages,
means of rating / numeric questions, top- and bottom-box, NPS, with the unweighted and
effective base of every column and a Total column. Each banner column gets a letter; a cell
shows the letters of the columns (of the same banner variable) it is significantly higher
than. Proportions are compared with the two-sample z-test (pooled proportion), means with the
two-sample t-test (pooled variance), both on Kish effective bases, so weighting widens the
tests exactly as much as it costs in precision.

Test details (``a``, ``b`` two columns; ``W`` sum of weights, ``W2`` sum of squared weights
of the respondents with an answer; ``ab`` the respondents in both columns, empty unless the
banner variable is multi-response):

* ``f = W2_a/W_a**2 + W2_b/W_b**2 - 2*W2_ab/(W_a*W_b)``; unweighted and disjoint this is
  ``1/n_a + 1/n_b``; weighted it is ``1/n_eff_a + 1/n_eff_b`` (Kish); the overlap term is
  the covariance of two columns that share respondents.
* proportions: ``p`` pooled over the respondents in either column (each counted once),
  ``z = (p_a - p_b) / sqrt(p*(1-p)*f)``, two-sided normal p-value;
* means: ``s2_j`` the weighted variance with divisor ``W_j*(n_eff_j-1)/n_eff_j``,
  ``s2 = ((n_eff_a-1)*s2_a + (n_eff_b-1)*s2_b) / (n_eff_a+n_eff_b-2)``,
  ``t = (m_a - m_b) / sqrt(s2*f)`` on ``n_eff_a + n_eff_b - n_eff_ab - 2`` degrees of freedom.
  NPS is compared as the mean of the +100 / 0 / -100 respondent score.

Without weights these are ``prop.test(correct=FALSE)`` and ``t.test(var.equal=TRUE)`` of R
(tested against both). P-values are corrected within each row and banner variable (``none``,
``bonferroni``, ``holm``, ``fdr`` = Benjamini-Hochberg). Columns whose unweighted base is under
``min_base`` are flagged and not tested. Segment-vs-total tests are
:func:`surveykit.estimates.compare` (used by :func:`surveykit.segments.profile_segments`).
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ._util import as_list, check_columns, resolve_weights
from .errors import TableError
from .tabbook import BannerTable

__all__ = ["banner", "BannerTable", "adjust_pvalues", "ROW_TYPES", "CORRECTIONS"]

ROW_TYPES = ("single", "rating", "nps", "multi", "numeric")
CORRECTIONS = ("none", "bonferroni", "holm", "fdr")
_KIND_TO_TYPE = {"single": "single", "derived": "single", "rating": "rating",
                 "grid_item": "rating", "nps": "nps", "numeric": "numeric",
                 "rank_option": "numeric", "multi_option": "multi", "duration": "numeric"}


# --------------------------------------------------------------------------------------------
# question metadata: explicit parameters first, then the questionnaire, then the data
# --------------------------------------------------------------------------------------------
@dataclass
class _Spec:
    qid: str
    type: str
    label: str
    columns: list[str]
    codes: list = field(default_factory=list)       # categories / scale points / options
    code_labels: list[str] = field(default_factory=list)
    top: list = field(default_factory=list)          # top-box codes (rating)
    bottom: list = field(default_factory=list)


def _fmt_code(code) -> str:
    if isinstance(code, float) and code.is_integer():
        return str(int(code))
    return str(code)


def _fmt_list(codes) -> str:
    return "[" + ", ".join(_fmt_code(c) for c in codes) + "]"


def _as_number(code):
    try:
        return float(code)
    except (TypeError, ValueError):
        return code


def _multi_columns(df: pd.DataFrame, qid: str) -> list[str]:
    pat = re.compile(rf"^{re.escape(qid)}_([^_]+)$")
    return [c for c in df.columns if isinstance(c, str) and pat.match(c)]


class _Meta:
    """Resolve type, labels, codes and scale of a question from explicit dicts, then the
    questionnaire (duck-typed on :class:`surveykit.questionnaire.Questionnaire`)."""

    def __init__(self, df, questionnaire, types, labels, value_labels, scales, top_box, error):
        self.df, self.q, self.error, self.top_box = df, questionnaire, error, int(top_box)
        self.types = dict(types or {})
        self.labels = dict(labels or {})
        self.value_labels = {k: dict(v) for k, v in (value_labels or {}).items()}
        self.scales = dict(scales or {})
        self.vars = questionnaire.variables() if questionnaire is not None else {}
        bad = {k: v for k, v in self.types.items() if v not in ROW_TYPES}
        if bad:
            k, v = next(iter(bad.items()))
            raise error(f"types[{k!r}] = {v!r} is not a known question type; use one of "
                        f"{', '.join(ROW_TYPES)}")

    def _qtype_from_questionnaire(self, qid):
        if qid in self.vars:
            return _KIND_TO_TYPE.get(self.vars[qid].kind)
        try:
            qq = self.q.question(qid) if self.q is not None else None
        except KeyError:
            qq = None
        return "multi" if qq is not None and qq.type == "multi" else None

    def values(self, col: str) -> pd.Series:
        if self.q is not None and col in self.vars:
            return self.q.valid_values(self.df, col)
        return self.df[col]

    def spec(self, qid: str, *, role: str) -> _Spec:
        df, err = self.df, self.error
        qtype = self.types.get(qid) or self._qtype_from_questionnaire(qid)
        if qtype is None:
            if qid in df.columns:
                qtype = "single"
                s = df[qid]
                if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
                    vals = s.dropna().unique()
                    if len(vals) > 15 or not np.all(np.mod(vals, 1) == 0):
                        qtype = "numeric"
            elif _multi_columns(df, qid):
                qtype = "multi"
            else:
                check_columns(df, [qid], error=err, what=f"{role} question")
        label = self.labels.get(qid)
        if label is None and self.q is not None:
            try:
                label = self.q.question(qid).short_label
            except KeyError:
                label = self.vars[qid].label if qid in self.vars else None
        label = label or qid
        if qtype == "multi":
            cols = ([c for c in self.q.columns_of(qid) if c in df.columns and c in self.vars
                     and self.vars[c].kind == "multi_option"] if self.q is not None else [])
            cols = cols or _multi_columns(df, qid)
            if not cols:
                raise err(f"{role} question {qid!r} is multi-response but the data have no "
                          f"columns named '{qid}_<code>'; check the id or its type")
            codes = [c[len(qid) + 1:] for c in cols]
            vl = self.value_labels.get(qid, {})
            vl = {str(k): v for k, v in vl.items()}
            labs = []
            for c, code in zip(cols, codes, strict=True):
                lab = vl.get(code)
                if lab is None and c in self.vars:
                    lab = self.vars[c].label.split(": ", 1)[-1]
                labs.append(lab or code)
            return _Spec(qid, "multi", label, cols, codes, labs)
        check_columns(df, [qid], error=err, what=f"{role} question")
        spec = _Spec(qid, qtype, label, [qid])
        vl = self.value_labels.get(qid)
        if vl is None and qid in self.vars:
            vl = self.vars[qid].value_labels
        vl = dict(vl or {})
        if qtype == "rating":
            self._rating_scale(spec, vl)
        elif qtype == "single":
            s = self.values(qid)
            numeric = pd.api.types.is_numeric_dtype(s)
            codes = [(_as_number(k) if numeric else k) for k in vl]
            if isinstance(s.dtype, pd.CategoricalDtype):     # keep the categories' order
                codes += [c for c in s.cat.categories if c not in set(codes)]
            seen = set(codes)
            extra = [c for c in pd.unique(s.dropna()) if c not in seen]
            try:
                extra = sorted(extra)
            except TypeError:
                extra = sorted(extra, key=str)
            spec.codes = codes + extra
            labmap = {(_as_number(k) if numeric else k): v for k, v in vl.items()}
            spec.code_labels = [str(labmap.get(c, _fmt_code(c))) for c in spec.codes]
        return spec

    def _rating_scale(self, spec: _Spec, vl: dict) -> None:
        qid, k = spec.qid, self.top_box
        given = self.scales.get(qid)
        scale = self.q.scale_of(qid) if (given is None and self.q is not None) else None
        if given is not None:
            given = list(given)
            if len(given) == 2 and all(float(g).is_integer() for g in given):
                codes = [float(c) for c in range(int(given[0]), int(given[1]) + 1)]
            else:
                codes = [float(c) for c in given]
            top, bottom = codes[-k:], codes[:k]
        elif scale is not None:
            codes = sorted(float(c) for c in scale.valid_codes)
            top = [float(c) for c in scale.favourable_codes]
            k = len(top)
            ordered = sorted(codes, reverse=getattr(scale, "direction", "") != "ascending")
            bottom = ordered[:k]
            vl = vl or {o.code: o.label for o in scale.codes}
        elif vl:
            codes = sorted(_as_number(c) for c in vl)
            top, bottom = codes[-k:], codes[:k]
        else:
            obs = self.values(qid).dropna()
            if obs.empty:
                codes = []
            else:
                codes = [float(c) for c in range(int(obs.min()), int(obs.max()) + 1)]
            top, bottom = codes[-k:], codes[:k]
        if len(codes) < 2 * k:
            raise self.error(f"rating question {qid!r} has scale {_fmt_list(codes)} "
                             f"with fewer than {2 * k} points for top/bottom-{k}-box; pass "
                             f"scales={{{qid!r}: (low, high)}} or a smaller top_box")
        labmap = {_as_number(c): v for c, v in vl.items()}
        spec.codes, spec.top, spec.bottom = codes, top, bottom
        spec.code_labels = [str(labmap.get(c, _fmt_code(c))) for c in codes]


# --------------------------------------------------------------------------------------------
# p-value adjustment (vectorised over rows; NaN = not tested)
# --------------------------------------------------------------------------------------------
def adjust_pvalues(p, method: str = "holm") -> np.ndarray:
    """Adjust p-values within each row of a 2-D array (a 1-D array is one family).

    NaN entries are comparisons that were not made; they stay NaN and do not count in the
    family size. ``method`` is ``none``, ``bonferroni``, ``holm`` or ``fdr``
    (Benjamini-Hochberg), as R's ``p.adjust``.

    Examples
    --------
    >>> adjust_pvalues([0.01, 0.02, 0.04], "holm").round(3).tolist()
    [0.03, 0.04, 0.04]
    """
    if method not in CORRECTIONS:
        raise TableError(f"correction {method!r} is not known; use one of {', '.join(CORRECTIONS)}")
    p = np.asarray(p, dtype=float)
    one_d = p.ndim == 1
    p = np.atleast_2d(p)
    if method == "none" or p.size == 0:
        out = p.copy()
    else:
        nan = np.isnan(p)
        m = (~nan).sum(axis=1, keepdims=True).astype(float)
        if method == "bonferroni":
            out = np.minimum(p * m, 1.0)
        else:
            order = np.argsort(np.where(nan, np.inf, p), axis=1, kind="stable")
            ps = np.take_along_axis(p, order, axis=1)
            i = np.arange(p.shape[1], dtype=float)[None, :]
            if method == "holm":
                adj = np.fmax.accumulate(np.where(np.isnan(ps), -np.inf, (m - i) * ps), axis=1)
            else:
                adj = np.where(np.isnan(ps), np.inf, ps * m / (i + 1))
                adj = np.fmin.accumulate(adj[:, ::-1], axis=1)[:, ::-1]
            adj = np.minimum(adj, 1.0)
            out = np.empty_like(p)
            np.put_along_axis(out, order, adj, axis=1)
            out[nan] = np.nan
    return out[0] if one_d else out


# --------------------------------------------------------------------------------------------
# the computation
# --------------------------------------------------------------------------------------------
def _letters(n: int) -> list[str]:
    out, alpha = [], string.ascii_uppercase
    for i in range(n):
        s, j = "", i
        while True:
            s = alpha[j % 26] + s
            j = j // 26 - 1
            if j < 0:
                break
        out.append(s)
    return out


def _banner_columns(meta: _Meta, columns: list[str], total: bool):
    """Membership matrix (n x C, 0/1), column descriptions, blocks, overlapping blocks."""
    df, n = meta.df, len(meta.df)
    mats, desc, blocks, overlapping = [], [], [], []
    if total:
        mats.append(np.ones((n, 1)))
        desc.append(dict(banner="Total", banner_label="Total", code=None, label="Total"))
    for var in columns:
        spec = meta.spec(var, role="banner")
        if spec.type == "multi":
            sub = df[spec.columns].apply(pd.to_numeric, errors="coerce").to_numpy(float)
            bad = ~np.isnan(sub) & ~np.isin(sub, (0.0, 1.0))
            if bad.any():
                j = int(np.argwhere(bad)[0][1])
                raise TableError(f"banner variable {var!r}: column {spec.columns[j]!r} has values "
                                 "other than 0/1; multi-response columns must be 0/1 "
                                 "(NaN = not asked)")
            m = (sub == 1).astype(float)
            codes, labels = spec.codes, spec.code_labels
        elif spec.type in ("single", "rating", "nps"):
            s = meta.values(var)
            codes = spec.codes
            labels = spec.code_labels
            idx = _code_index(s, codes) if codes else np.full(n, -1)
            m = (idx[:, None] == np.arange(len(codes))[None, :]).astype(float)
        else:
            raise TableError(f"banner variable {var!r} is {spec.type}; a banner needs a "
                             "categorical variable: band it first (a derived variable with bands)")
        if not m.any():
            raise TableError(f"banner variable {var!r} has no answers in the data (all missing); "
                             "remove it from columns or check the data")
        filled = int((m.sum(axis=0) > 0).sum())
        if filled < 2:
            only = labels[int(np.argmax(m.sum(axis=0)))]
            raise TableError(f"banner variable {var!r} has only one level with respondents "
                             f"({only!r}); a banner needs at least two columns to compare: "
                             "remove it from columns or choose another variable")
        start = sum(x.shape[1] for x in mats)
        blocks.append((var, list(range(start, start + m.shape[1]))))
        if spec.type == "multi":
            overlapping.append(var)
        mats.append(m)
        for code, lab in zip(codes, labels, strict=True):
            desc.append(dict(banner=var, banner_label=spec.label, code=code, label=lab))
    cols = pd.DataFrame(desc)
    letters = _letters(len(cols) - int(total))
    cols["letter"] = ([""] if total else []) + letters
    cols["header"] = [f"{lab} ({let})" if let else lab
                      for lab, let in zip(cols["label"], cols["letter"], strict=True)]
    return np.hstack(mats), cols, blocks, overlapping


def _code_index(s: pd.Series, codes: list) -> np.ndarray:
    """Position of each value in ``codes`` (-1: missing or not a code)."""
    if not len(codes):
        return np.full(len(s), -1, dtype=np.int64)
    if (pd.api.types.is_numeric_dtype(s) and not isinstance(s.dtype, pd.CategoricalDtype)
            and all(isinstance(c, int | float | np.integer | np.floating) for c in codes)):
        x = s.to_numpy(dtype=float, na_value=np.nan)
        c = np.asarray(codes, dtype=float)
        order = np.argsort(c, kind="stable")
        pos = np.clip(np.searchsorted(c[order], x), 0, len(c) - 1)
        hit = c[order][pos] == x
        return np.where(hit, order[pos], -1)
    return np.asarray(pd.Categorical(s, categories=codes).codes, dtype=np.int64)


def _question_matrix(meta: _Meta, spec: _Spec):
    """Valid mask, 0/1 indicator matrix P (proportion rows), value matrix X (mean rows), and
    the row descriptions [(row key, label, stat, 'p'|'m', index)]."""
    df, qid = meta.df, spec.qid
    rows = []
    if spec.type == "multi":
        sub = df[spec.columns].apply(pd.to_numeric, errors="coerce").to_numpy(float)
        bad = ~np.isnan(sub) & ~np.isin(sub, (0.0, 1.0))
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise TableError(f"multi-response question {qid!r}: column {spec.columns[j]!r} row "
                             f"{df.index[i]!r} has {_fmt_code(float(sub[i, j]))}; options must "
                             "be 0/1 (NaN = not asked)")
        valid = ~np.isnan(sub).all(axis=1)
        P = np.where(valid[:, None], np.nan_to_num(sub), 0.0)
        X = np.empty((len(df), 0))
        rows = [(c, lab, "pct", "p", j) for j, (c, lab) in
                enumerate(zip(spec.codes, spec.code_labels, strict=True))]
        return valid, P, X, rows
    s = meta.values(qid)
    if spec.type == "single":
        idx = _code_index(s, spec.codes)
        valid = idx >= 0
        P = (idx[:, None] == np.arange(len(spec.codes))[None, :]).astype(float)
        rows = [(c, lab, "pct", "p", j) for j, (c, lab) in
                enumerate(zip(spec.codes, spec.code_labels, strict=True))]
        return valid, P, np.empty((len(df), 0)), rows
    if not pd.api.types.is_numeric_dtype(s):
        s = pd.to_numeric(s, errors="coerce")
        if s.isna().all():
            raise TableError(f"{spec.type} question {qid!r} is not numeric; declare its type "
                             "(types={...: 'single'}) or convert it to numeric codes")
    x = s.to_numpy(dtype=float)
    valid = ~np.isnan(x)
    xv = np.where(valid, x, 0.0)
    if spec.type == "rating":
        bad = valid & ~np.isin(x, spec.codes)
        if bad.any():
            i = int(np.argmax(bad))
            raise TableError(f"rating question {qid!r} row {df.index[i]!r} has "
                             f"{_fmt_code(float(x[i]))}, not on its scale "
                             f"{_fmt_list(spec.codes)}; recode missing codes (don't know, "
                             "refused) to NaN first")
        cols = [x == c for c in spec.codes] + [np.isin(x, spec.top), np.isin(x, spec.bottom)]
        P = np.column_stack(cols).astype(float)
        k = len(spec.top)
        rows = [(c, lab, "pct", "p", j) for j, (c, lab) in
                enumerate(zip(spec.codes, spec.code_labels, strict=True))]
        rows += [("top_box", f"Top-{k}-box", "pct", "p", len(spec.codes)),
                 ("bottom_box", f"Bottom-{k}-box", "pct", "p", len(spec.codes) + 1),
                 ("mean", "Mean", "mean", "m", 0)]
        return valid, P, xv[:, None], rows
    if spec.type == "nps":
        bad = valid & ((x < 0) | (x > 10) | (np.mod(np.where(valid, x, 0), 1) != 0))
        if bad.any():
            i = int(np.argmax(bad))
            raise TableError(f"NPS question {qid!r} row {df.index[i]!r} has "
                             f"{_fmt_code(float(x[i]))}; NPS answers are whole numbers 0-10 "
                             "(recode don't know to NaN first)")
        pro, det = valid & (x >= 9), valid & (x <= 6)
        P = np.column_stack([pro, valid & (x >= 7) & (x <= 8), det]).astype(float)
        score = 100.0 * pro - 100.0 * det
        rows = [("promoters", "Promoters (9-10)", "pct", "p", 0),
                ("passives", "Passives (7-8)", "pct", "p", 1),
                ("detractors", "Detractors (0-6)", "pct", "p", 2),
                ("nps", "NPS", "nps", "m", 0), ("mean", "Mean", "mean", "m", 1)]
        return valid, P, np.column_stack([score, xv]), rows
    rows = [("mean", "Mean", "mean", "m", 0)]
    return valid, np.empty((len(df), 0)), xv[:, None], rows


def _pair_stats(kind, sums, pa, pb, inter, min_base):
    """z (proportions) or t (means) statistics, df and two-sided p for pairs (pa, pb).

    ``sums`` holds per-column arrays n, W, W2 (C,) and S (R x C) (and S2 for means);
    ``inter`` the same for the intersections of each pair (zeros when disjoint)."""
    n, W, W2, S = sums["n"], sums["W"], sums["W2"], sums["S"]
    iW, iW2, iS = inter["W"], inter["W2"], inter["S"]
    with np.errstate(divide="ignore", invalid="ignore"):
        f = W2[pa] / W[pa] ** 2 + W2[pb] / W[pb] ** 2 - 2 * iW2 / (W[pa] * W[pb])
        ea, eb = S[:, pa] / W[pa], S[:, pb] / W[pb]
        if kind == "p":
            pool = (S[:, pa] + S[:, pb] - iS) / (W[pa] + W[pb] - iW)
            se = np.sqrt(pool * (1 - pool) * f)
            stat = (ea - eb) / se
            dfree = np.full(stat.shape, np.inf)
            p = 2 * stats.norm.sf(np.abs(stat))
        else:
            S2 = sums["S2"]
            ne = W ** 2 / W2
            ine = np.where(iW2 > 0, iW ** 2 / np.where(iW2 > 0, iW2, 1), 0.0)
            ssa = ne[pa] * (S2[:, pa] / W[pa] - ea ** 2)       # (ne-1) * s2
            ssb = ne[pb] * (S2[:, pb] / W[pb] - eb ** 2)
            dfree = np.broadcast_to(ne[pa] + ne[pb] - ine - 2, ea.shape).astype(float)
            s2 = (ssa + ssb) / (ne[pa] + ne[pb] - 2)
            se = np.sqrt(np.maximum(s2, 0) * f)
            stat = (ea - eb) / se
            p = 2 * stats.t.sf(np.abs(stat), np.where(dfree > 0, dfree, np.nan))
    ok = (n[pa] >= min_base) & (n[pb] >= min_base) & (n[pa] > 0) & (n[pb] > 0)
    ok = ok & np.isfinite(stat) & (se > 1e-12)
    p = np.where(ok, p, np.nan)
    return ea - eb, np.where(ok, stat, np.nan), np.where(ok, dfree, np.nan), p


def _one_thread(func):
    """Run ``func`` with BLAS/OpenMP limited to one thread: the sums here are memory-bound,
    and on a shared machine extra threads only add contention."""
    @functools.wraps(func)
    def run(*args, **kwargs):
        try:        # threadpoolctl comes with scikit-learn
            from threadpoolctl import threadpool_limits
        except ImportError:                                # pragma: no cover
            return func(*args, **kwargs)
        with threadpool_limits(limits=1):
            return func(*args, **kwargs)
    return run


@_one_thread
def banner(df: pd.DataFrame, rows: str | Sequence[str], columns: str | Sequence[str], *,
           weights=None, questionnaire=None, types: Mapping[str, str] | None = None,
           labels: Mapping[str, str] | None = None,
           value_labels: Mapping[str, Mapping] | None = None,
           scales: Mapping[str, Sequence[float]] | None = None, alpha: float = 0.05,
           correction: str = "none", min_base: int = 30,
           top_box: int = 2, total: bool = True, decimals: int = 0) -> BannerTable:
    """Cross row questions with banner variables, with significance letters.

    Parameters
    ----------
    df : DataFrame
        One row per respondent (not modified).
    rows : str or list of str
        Question ids to tabulate. A multi-response question is its id (columns ``{id}_{code}``).
    columns : str or list of str
        Banner variables (single-coded, or multi-response: overlapping columns).
    weights : None, column name or array
        Respondent weights; bases are reported unweighted and effective (Kish).
    questionnaire : Questionnaire, optional
        Supplies types, labels, scales (top box, direction) and missing codes.
    types : dict, optional
        ``{qid: "single"|"rating"|"nps"|"multi"|"numeric"}``; overrides the questionnaire.
        Without either, numeric columns with <= 15 whole-number values are ``single``.
    labels, value_labels : dict, optional
        Question texts ``{qid: text}`` and code labels ``{qid: {code: label}}``.
    scales : dict, optional
        Rating scales ``{qid: (low, high)}`` (higher = better) or an ordered list of codes.
    alpha : float
        Two-sided significance level of the letters.
    correction : {"none", "bonferroni", "holm", "fdr"}
        Multiple-comparison correction within each row and banner variable.
    min_base : int
        Columns with fewer respondents (unweighted) answering are flagged ``*`` and not tested.
    top_box : int
        Number of top (and bottom) scale points in the box scores when the questionnaire does
        not say.
    total : bool
        Include the Total column.
    decimals : int
        Decimals of percentages in the formatted outputs.

    Returns
    -------
    BannerTable

    Examples
    --------
    >>> from surveykit.questionnaire import load_questionnaire
    >>> from surveykit.responses import clean, read_responses
    >>> q = load_questionnaire("questionnaires/pc_customers.yaml")
    >>> df, _ = clean(q, read_responses("data/demo/responses.csv", q))
    >>> t = banner(df, ["overall_sat", "nps"], "cust_type", questionnaire=q)
    >>> print(t.summary().splitlines()[0])
    Banner table: 2 questions x 3 columns (Total, cust_type); 9 significant cells.

    Individuals (column A) have a significantly higher NPS than organisations (B):

    >>> cells = t.to_frame().query("stat == 'nps'")
    >>> cells = cells[["question", "letter", "estimate", "n", "sig"]]
    >>> cells.round(1)  # doctest: +NORMALIZE_WHITESPACE
       question letter  estimate     n sig
    51      nps             23.0  3991
    52      nps      A      25.4  2415   B
    53      nps      B      19.2  1576

    Without a questionnaire, say what each row is (``types``, ``scales``):

    >>> small = pd.DataFrame({"q_sat": [5, 4, 4, 2, 3, 5], "g": [1, 1, 1, 2, 2, 2]})
    >>> s = banner(small, "q_sat", "g", types={"q_sat": "rating"}, scales={"q_sat": (1, 5)})
    >>> s.to_frame().query("stat == 'mean'")["estimate"].round(2).tolist()  # Total, g=1, g=2
    [3.83, 4.33, 3.33]

    The Excel tab book (a Contents sheet, then one sheet per question):

    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     print(t.to_excel(Path(tmp) / "tabs.xlsx").name)
    tabs.xlsx
    """
    if not isinstance(df, pd.DataFrame):
        raise TableError(f"df must be a pandas DataFrame, not {type(df).__name__}")
    rows, columns = as_list(rows), as_list(columns)
    if not rows:
        raise TableError("rows is empty; pass at least one question id")
    if not columns:
        raise TableError("columns is empty; pass at least one banner variable")
    for what, lst in (("rows", rows), ("columns", columns)):
        dup = sorted({c for c in lst if lst.count(c) > 1})
        if dup:
            raise TableError(f"{what} lists {', '.join(map(repr, dup))} more than once")
    if not (isinstance(alpha, int | float) and 0 < alpha < 1):
        raise TableError(f"alpha must be between 0 and 1 (e.g. 0.05), not {alpha!r}")
    if correction not in CORRECTIONS:
        raise TableError(f"correction {correction!r} is not known; use one of "
                         f"{', '.join(CORRECTIONS)}")
    if isinstance(min_base, bool) or not isinstance(min_base, int | np.integer) or min_base < 0:
        raise TableError(f"min_base must be a whole number >= 0, not {min_base!r}")
    if not isinstance(top_box, int | np.integer) or top_box < 1:
        raise TableError(f"top_box must be a whole number >= 1, not {top_box!r}")
    if len(df) == 0:
        raise TableError("the data have no rows")
    w = resolve_weights(df, weights, error=TableError)
    rows = _expand_grids(rows, questionnaire, df)
    meta = _Meta(df, questionnaire, types, labels, value_labels, scales, top_box, TableError)
    M, cols, blocks, overlapping = _banner_columns(meta, columns, total)
    C = M.shape[1]
    Mw = M * w[:, None]
    B = np.hstack([M, Mw, M * (w ** 2)[:, None]])
    letters = cols["letter"].tolist()

    # pairs to test and, where columns can overlap, their intersection matrices
    fams = [(var, [(a, b) for i, a in enumerate(ix) for b in ix[i + 1:]]) for var, ix in blocks]
    pairs = [p for _, ps in fams for p in ps]
    pa = np.array([p[0] for p in pairs], dtype=int)
    pb = np.array([p[1] for p in pairs], dtype=int)
    fam_of = np.concatenate([[k] * len(ps) for k, (_, ps) in enumerate(fams)]).astype(int) \
        if pairs else np.zeros(0, int)
    ov = [k for k, (a, _) in enumerate(pairs) if cols["banner"].iat[a] in overlapping]
    both = M[:, pa[ov]] * M[:, pb[ov]] if ov else np.zeros((len(df), 0))
    OB = np.hstack([both * w[:, None], both * (w ** 2)[:, None]])

    from collections import defaultdict

    frames, tests, bases, specs = defaultdict(list), defaultdict(list), defaultdict(list), {}
    for qid in rows:
        spec = meta.spec(qid, role="row")
        valid, P, X, rdesc = _question_matrix(meta, spec)
        if not valid.any():
            raise TableError(f"row question {qid!r} has no answers in the data (all missing); "
                             "remove it from rows or check the data")
        specs[qid] = spec
        vB = valid.astype(float) @ B
        n, W, W2 = np.rint(vB[:C]).astype(np.int64), vB[C:2 * C], vB[2 * C:]
        kp, km = P.shape[1], X.shape[1]
        SP, SX, SX2 = P.T @ Mw, X.T @ Mw, (X * X).T @ Mw
        # intersections of the pairs
        npair = len(pairs)
        iW, iW2 = np.zeros(npair), np.zeros(npair)
        iSP, iSX = np.zeros((kp, npair)), np.zeros((km, npair))
        if ov:
            vo = valid.astype(float) @ OB
            iW[ov], iW2[ov] = vo[:len(ov)], vo[len(ov):]
            ow = OB[:, :len(ov)]
            iSP[:, ov], iSX[:, ov] = P.T @ ow, X.T @ ow
        sums = {"n": n, "W": W, "W2": W2}
        res = {}
        if kp:
            res["p"] = _pair_stats("p", {**sums, "S": SP}, pa, pb,
                                   {"W": iW, "W2": iW2, "S": iSP}, min_base)
        if km:
            res["m"] = _pair_stats("m", {**sums, "S": SX, "S2": SX2}, pa, pb,
                                   {"W": iW, "W2": iW2, "S": iSX}, min_base)
        with np.errstate(divide="ignore", invalid="ignore"):
            est = {"p": SP / W, "m": SX / W}
            ne = W ** 2 / W2
        ne = np.where(W2 > 0, ne, 0.0)
        low = n < min_base
        for k, v in (("question", [qid] * C), ("column", np.arange(C)), ("n", n),
                     ("n_weighted", W), ("n_eff", ne), ("low_base", low)):
            bases[k].append(v)
        # corrected p-values within (row, banner variable)
        R = len(rdesc)
        padj = np.full((R, npair), np.nan)
        praw = np.full((R, npair), np.nan)
        for r, (_, _, _, kind, j) in enumerate(rdesc):
            praw[r] = res[kind][3][j]
        for k in range(len(fams)):
            sel = fam_of == k
            padj[:, sel] = adjust_pvalues(praw[:, sel], correction)
        sig = padj < alpha
        cell_sig = [[""] * C for _ in range(R)]
        for r in range(R):
            kind, j = rdesc[r][3], rdesc[r][4]
            diff = res[kind][0][j]
            for q in np.flatnonzero(sig[r]):
                a, b = pa[q], pb[q]
                if diff[q] > 0:
                    cell_sig[r][a] += letters[b]
                elif diff[q] < 0:
                    cell_sig[r][b] += letters[a]
        cell_sig = ["".join(sorted(s, key=lambda x: (len(x), x))) for row in cell_sig for s in row]
        E = np.vstack([est[kind][j] for (_, _, _, kind, j) in rdesc])
        rkeys = [str(_fmt_code(r[0])) for r in rdesc]
        for k, v in (("question", [qid] * (R * C)), ("question_label", [spec.label] * (R * C)),
                     ("type", [spec.type] * (R * C)), ("row", np.repeat(rkeys, C)),
                     ("row_label", np.repeat([r[1] for r in rdesc], C)),
                     ("stat", np.repeat([r[2] for r in rdesc], C)),
                     ("column", np.tile(np.arange(C), R)), ("estimate", E.reshape(-1)),
                     ("n", np.tile(n, R)), ("n_weighted", np.tile(W, R)),
                     ("n_eff", np.tile(ne, R)), ("low_base", np.tile(low, R)), ("sig", cell_sig)):
            frames[k].append(v)
        for r, (_, rl, st, kind, j) in enumerate(rdesc if npair else []):
            d, z, dfree, _ = (x[j] for x in res[kind])
            for k, v in (("question", [qid] * npair), ("row", [rkeys[r]] * npair),
                         ("row_label", [rl] * npair), ("stat", [st] * npair),
                         ("column_a", pa), ("column_b", pb),
                         ("estimate_a", est[kind][j][pa]), ("estimate_b", est[kind][j][pb]),
                         ("diff", d), ("test", ["z" if kind == "p" else "t"] * npair),
                         ("statistic", z), ("df", dfree), ("p", praw[r]), ("p_adj", padj[r]),
                         ("significant", sig[r])):
                tests[k].append(v)
    colinfo = cols[["banner", "banner_label", "code", "label", "letter"]]

    def attach(frame, key="column", suffix=""):
        info = colinfo.rename(columns=lambda c: c + suffix)
        return frame.merge(info, left_on=key, right_index=True, how="left")

    def build(parts):
        return pd.DataFrame({k: np.concatenate([np.asarray(x, dtype=object)
                                                if isinstance(x, list) else x for x in v])
                             for k, v in parts.items()})

    frame = attach(build(frames))
    frame = frame.rename(columns={"label": "column_label", "code": "column_code"})
    frame = frame[["question", "question_label", "type", "row", "row_label", "stat", "banner",
                   "banner_label", "column", "column_code", "column_label", "letter", "estimate",
                   "n", "n_weighted", "n_eff", "low_base", "sig"]]
    test_frame = build(tests) if tests else pd.DataFrame()
    if len(test_frame):
        test_frame = attach(test_frame, "column_a", "_a")
        test_frame = attach(test_frame, "column_b", "_b").drop(
            columns=["banner_label_a", "banner_label_b", "banner_b"])
        test_frame = test_frame.rename(columns={"banner_a": "banner"})
    base_frame = build(bases)
    notes = _footnotes(df, w, weights, alpha, correction, min_base, overlapping)
    options = dict(alpha=alpha, correction=correction, min_base=min_base,
                   decimals=int(decimals), weighted=weights is not None)
    return BannerTable(frame, test_frame, base_frame, cols, specs, notes, options)


def _expand_grids(rows: list[str], questionnaire, df: pd.DataFrame) -> list[str]:
    """A grid (or rank) question id stands for its item columns, one row question each."""
    if questionnaire is None:
        return rows
    out: list[str] = []
    for qid in rows:
        try:
            qtype = questionnaire.question(qid).type
        except KeyError:
            qtype = None
        if qtype == "open":
            raise TableError(f"{qid!r} is an open-ended question; it cannot be tabulated "
                             "(code it into categories first)")
        if qtype in ("grid", "rank"):
            out.extend(c for c in questionnaire.columns_of(qid) if c in df.columns)
        else:
            out.append(qid)
    dup = sorted({c for c in out if out.count(c) > 1})
    if dup:
        raise TableError(f"rows list {', '.join(map(repr, dup))} more than once (directly and "
                         "through a grid)")
    return out


def _footnotes(df, w, weights, alpha, correction, min_base, overlapping) -> list[str]:
    corr = {"none": "no correction for multiple comparisons",
            "bonferroni": "Bonferroni correction", "holm": "Holm correction",
            "fdr": "Benjamini-Hochberg (FDR) correction"}[correction]
    notes = [f"Significance: proportions by two-sided z-test (pooled proportion), means and NPS "
             "by two-sided t-test (pooled variance), between the columns of each banner "
             f"variable, on effective bases; alpha = {alpha:g}; {corr} within each row and "
             "banner variable.",
             "Letters show the columns a cell is significantly higher than."]
    if weights is None:
        notes.append(f"Unweighted; n = {len(df):,}.")
    else:
        ne = float(w.sum() ** 2 / np.dot(w, w)) if np.dot(w, w) > 0 else 0.0
        src = f"column {weights!r}" if isinstance(weights, str) else "the weights given"
        notes.append(f"Weighted by {src}; n = {len(df):,}, effective n = {ne:,.0f} "
                     f"(weighting efficiency {100 * ne / len(df):.0f}%). Percentages and means "
                     "are weighted; bases are unweighted and effective (Kish).")
    notes.append(f"* base under {min_base} (unweighted): shown, not tested.")
    if overlapping:
        notes.append(f"Multi-response banner ({', '.join(overlapping)}): columns overlap; tests "
                     "allow for respondents in both columns.")
    return notes
