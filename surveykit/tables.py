"""Banner tables (the analyst's tab book) with column-significance letters.

:func:`banner` crosses row questions with banner variables: weighted column percentages,
means of rating / numeric questions, top- and bottom-box, NPS, with the unweighted and
effective base of every column, each cell's standard error and design effect, and a Total
column. Each banner column gets a letter; a cell shows the letters of the columns (of the
same banner variable) it is significantly higher than.

Tests (one definition each, from :mod:`surveykit.estimates`; ``a``, ``b`` two columns, ``W``
sum of weights, ``W2`` sum of squared weights of the respondents with an answer, ``ab`` the
respondents in both columns, empty unless the banner variable is multi-response):

* proportions: the pooled two-proportion z-test on Kish effective bases
  (:func:`surveykit.estimates.pooled_z_test`, the one :func:`~surveykit.estimates.compare`
  uses): ``f = W2_a/W_a**2 + W2_b/W_b**2 - 2*W2_ab/(W_a*W_b)`` (``1/n_eff_a + 1/n_eff_b``
  for disjoint columns), ``p`` pooled by weight over the respondents in either column,
  ``z = (p_a - p_b) / sqrt(p*(1-p)*f)``; unweighted, R ``prop.test(correct = FALSE)``;
* means and NPS: the difference over its linearisation SE,
  :func:`surveykit.estimates.mean_difference_test`: ``z = (m_a - m_b) / sqrt(v_a + v_b -
  2 c_ab)`` with ``v`` the variance :func:`surveykit.estimates.estimate` reports
  (:func:`~surveykit.estimates.linearised_variance`, R ``svymean`` on
  ``svydesign(ids=~1, weights=~w)``; NPS is the mean of the +100 / 0 / -100 score) and
  ``c_ab`` the covariance of overlapping columns
  (:func:`~surveykit.estimates.linearised_covariance`): R ``svyby(covmat = TRUE)`` +
  ``svycontrast``.
* with ``design=`` (a :class:`surveykit.design.SurveyDesign` or
  :class:`~surveykit.design.ReplicateDesign`): every cell's SE and design effect and every
  difference's SE come from the design (strata, clusters, fpc, or replicate weights; R
  ``svyby`` + ``svycontrast``), and every test, proportions included, is the design-based t
  on the degrees of freedom of the two columns' respondents (R ``svyttest``).

P-values are corrected within each row and banner variable (``none``, ``bonferroni``,
``holm``, ``fdr`` = Benjamini-Hochberg). Columns whose unweighted base is under ``min_base``
are flagged and not tested. Segment-vs-total tests are :func:`surveykit.estimates.compare`
(used by :func:`surveykit.segments.profile_segments`).

Without a design every test reads a handful of sums per banner column (``n``, ``W``,
``W2``, sums of each row's indicator and value times ``w`` and ``w^2``, and the same over the
respondents two overlapping columns share). They are accumulated over blocks of a few
thousand respondents, one matrix product per block for all row questions, from one small
code per respondent and banner variable: memory does not grow with the number of banner
columns (about 1 byte per respondent per row question, 8 for numeric ones, and 1 per banner
variable). A design sums per (sampling unit, column), never per (respondent, column).
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._banner_stats import DesignCells, cell_stats, design_text, footnotes, plain_tests
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


#: Respondents per block of the chunked sums: the dense matrices of one block stay small
#: (a few MB) whatever the number of respondents.
_CHUNK_ROWS = 1 << 12


@dataclass
class _Membership:
    """Who is in which banner column, without a respondents x columns matrix: one code per
    respondent for each single-coded banner variable (and the Total), a 0/1 matrix for each
    multi-response one. :meth:`dense` gives the 0/1 matrix of a block of respondents."""

    n: int
    n_columns: int
    single: list[tuple[int, np.ndarray]] = field(default_factory=list)  # (first column, code)
    multi: list[tuple[int, np.ndarray]] = field(default_factory=list)   # (first column, 0/1)

    def dense(self, rows: slice, out: np.ndarray | None = None) -> np.ndarray:
        """The 0/1 membership matrix of the respondents ``rows`` (written into ``out``
        when it is large enough)."""
        size = len(range(*rows.indices(self.n)))
        if out is None or out.shape[0] < size:
            out = np.empty((size, self.n_columns))
        M = out[:size]
        M.fill(0.0)
        flat = M.reshape(-1)
        base = np.arange(size) * self.n_columns
        for start, code in self.single:
            c = code[rows]
            flat[(base + start + c)[c >= 0]] = 1.0
        for start, ticks in self.multi:
            M[:, start:start + ticks.shape[1]] = ticks[rows]
        return M


def _small_codes(idx: np.ndarray, k: int) -> np.ndarray:
    return idx.astype(np.int8 if k < 127 else np.int16 if k < 32_000 else np.int64)


def _banner_columns(meta: _Meta, columns: list[str], total: bool):
    """Membership (see :class:`_Membership`), column descriptions, blocks, overlapping blocks."""
    df, n = meta.df, len(meta.df)
    member = _Membership(n, 0)
    desc, blocks, overlapping = [], [], []
    if total:
        member.single.append((0, np.zeros(n, dtype=np.int8)))
        member.n_columns = 1
        desc.append(dict(banner="Total", banner_label="Total", code=None, label="Total"))
    for var in columns:
        spec = meta.spec(var, role="banner")
        start = member.n_columns
        if spec.type == "multi":
            sub = _numeric_block(df, spec.columns)
            bad = ~np.isnan(sub) & (sub != 0.0) & (sub != 1.0)
            if bad.any():
                j = int(np.argwhere(bad)[0][1])
                raise TableError(f"banner variable {var!r}: column {spec.columns[j]!r} has values "
                                 "other than 0/1; multi-response columns must be 0/1 "
                                 "(NaN = not asked)")
            ticks = sub == 1
            del sub
            codes, labels = spec.codes, spec.code_labels
            counts = ticks.sum(axis=0)
            member.multi.append((start, ticks))
        elif spec.type in ("single", "rating", "nps"):
            s = meta.values(var)
            codes = spec.codes
            labels = spec.code_labels
            idx = _code_index(s, codes) if codes else np.full(n, -1)
            counts = np.bincount(idx[idx >= 0], minlength=len(codes))
            member.single.append((start, _small_codes(idx, len(codes))))
        else:
            raise TableError(f"banner variable {var!r} is {spec.type}; a banner needs a "
                             "categorical variable: band it first (a derived variable with bands)")
        if not counts.any():
            raise TableError(f"banner variable {var!r} has no answers in the data (all missing); "
                             "remove it from columns or check the data")
        filled = int((counts > 0).sum())
        if filled < 2:
            only = labels[int(np.argmax(counts))]
            raise TableError(f"banner variable {var!r} has only one level with respondents "
                             f"({only!r}); a banner needs at least two columns to compare: "
                             "remove it from columns or choose another variable")
        member.n_columns += len(codes)
        blocks.append((var, list(range(start, start + len(codes)))))
        if spec.type == "multi":
            overlapping.append(var)
        for code, lab in zip(codes, labels, strict=True):
            desc.append(dict(banner=var, banner_label=spec.label, code=code, label=lab))
    cols = pd.DataFrame(desc)
    letters = _letters(len(cols) - int(total))
    cols["letter"] = ([""] if total else []) + letters
    cols["header"] = [f"{lab} ({let})" if let else lab
                      for lab, let in zip(cols["label"], cols["letter"], strict=True)]
    return member, cols, blocks, overlapping


def _numeric_block(df: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """The columns as one float matrix, text that is not a number as NaN."""
    out = np.empty((len(df), len(columns)))
    for j, c in enumerate(columns):
        s = df[c]
        if not (pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)):
            s = pd.to_numeric(s, errors="coerce")
        out[:, j] = s.to_numpy(dtype=float, na_value=np.nan)
    return out


def _code_index(s: pd.Series, codes: list) -> np.ndarray:
    """Position of each value in ``codes`` (-1: missing or not a code)."""
    if not len(codes):
        return np.full(len(s), -1, dtype=np.int64)
    if (pd.api.types.is_numeric_dtype(s) and not isinstance(s.dtype, pd.CategoricalDtype)
            and all(isinstance(c, int | float | np.integer | np.floating) for c in codes)):
        x = s.to_numpy(dtype=float, na_value=np.nan)
        c = np.asarray(codes, dtype=float)
        lo, hi = c.min(), c.max()
        if (np.isfinite(c).all() and hi - lo < 4096 and np.array_equal(c, np.round(c))
                and len(np.unique(c)) == len(c)):   # small whole codes: one table lookup
            table = np.full(int(hi - lo) + 2, -1, dtype=np.int64)
            table[(c - lo).astype(np.int64)] = np.arange(len(c))
            with np.errstate(invalid="ignore"):
                k = x - lo
                k = np.where((k >= 0) & (k <= hi - lo) & (k == np.floor(k)), k, len(table) - 1)
            return table[k.astype(np.int64)]
        order = np.argsort(c, kind="stable")
        pos = np.clip(np.searchsorted(c[order], x), 0, len(c) - 1)
        hit = c[order][pos] == x
        return np.where(hit, order[pos], -1)
    return np.asarray(pd.Categorical(s, categories=codes).codes, dtype=np.int64)


@dataclass
class _Rows:
    """One row question, compactly: which respondents answer (``valid``) and either their
    category ``cat`` (single, rating, NPS: the proportion rows ``P`` and value rows ``X`` of
    a respondent are then column ``cat`` of the small matrices ``A`` and ``V``) or, for
    multi-response and numeric questions, ``P`` and ``X`` themselves. ``rdesc`` describes
    the table rows: [(row key, label, stat, 'p'|'m', index)]. ``shift`` (one per value row)
    is subtracted from the values in their second moments, for numerical stability."""

    valid: np.ndarray
    rdesc: list
    kp: int
    km: int
    cat: np.ndarray | None = None
    A: np.ndarray | None = None
    V: np.ndarray | None = None
    P: np.ndarray | None = None
    X: np.ndarray | None = None
    shift: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self):
        if len(self.shift) != self.km:             # the unweighted mean of each value row
            if self.cat is not None:
                counts = np.bincount(self.cat[self.valid].astype(np.int64),
                                     minlength=self.V.shape[1])
                self.shift = self.V @ counts / max(counts.sum(), 1)
            else:
                ok = self.valid
                self.shift = (self.X[ok].mean(axis=0) if ok.any() else np.zeros(self.km))

    @property
    def by_category(self) -> bool:
        """Sum weights and squared weights per category (2 k + 2 sums per column) rather
        than the terms of P and X (3 + 2 kp + 4 km): fewer for single and rating
        questions."""
        return (self.cat is not None
                and 2 * self.A.shape[1] + 2 < 3 + 2 * self.kp + 4 * self.km)

    @property
    def width(self) -> int:
        """Number of columns of :meth:`features`."""
        return (2 * self.A.shape[1] + 2 if self.by_category
                else 3 + 2 * self.kp + 4 * self.km)

    def values(self, rows=slice(None)) -> tuple[np.ndarray, np.ndarray]:
        """P and X of the respondents ``rows`` (0 where there is no answer)."""
        if self.cat is None:
            return self.P[rows], self.X[rows]
        cat = self.cat[rows]
        P = np.vstack([self.A.T, np.zeros(self.kp)])[cat]     # -1: the zero row
        X = np.vstack([self.V.T, np.zeros(self.km)])[cat]
        return P, X

    def row_values(self, kind: str, j: int) -> np.ndarray:
        """The values of one table row (``kind`` 'p' or 'm', index ``j``) per respondent,
        NaN without an answer."""
        if self.cat is not None:
            table = np.append((self.A if kind == "p" else self.V)[j], np.nan)
            return table[self.cat]                                # -1: the NaN
        col = self.P[:, j] if kind == "p" else self.X[:, j]
        return np.where(self.valid, col, np.nan)

    def features(self, rows: slice, w: np.ndarray, out: np.ndarray, freq=None) -> None:
        """Write into ``out`` (block x :attr:`width`, zeros) the per-respondent terms whose
        column sums the banner needs: [valid, valid w^2, w at the category, w^2 at the
        category] when :attr:`by_category`, else [valid, valid w, valid w^2, P w, X w,
        (X - c)^2 w, P w^2, (X - c) w^2, (X - c)^2 w^2] (``c`` the :attr:`shift`). With
        ``freq = (m, w2)`` a row stands for ``m`` respondents with the same answers, ``w``
        their summed weights and ``w2`` their summed squared weights (a ``GROUP BY``)."""
        valid = self.valid[rows]
        ww = w * w if freq is None else freq[1]          # (summed) squared weights
        count = valid if freq is None else valid * freq[0]
        if self.by_category:
            k = self.A.shape[1]
            r = np.flatnonzero(valid)
            c = self.cat[rows][r].astype(np.int64)
            out[r, 2 + c] = w[r]
            out[r, 2 + k + c] = ww[r]
            out[:, 0] = count
            out[:, 1] = np.where(valid, ww, 0.0)
            return
        vw = np.where(valid, w, 0.0)
        vww = np.where(valid, ww, 0.0)
        out[:, 0] = count
        P, X = self.values(rows)
        kp, km = self.kp, self.km
        out[:, 1] = vw
        out[:, 2] = vww
        a = 3
        np.multiply(P, vw[:, None], out=out[:, a:a + kp])
        a += kp
        np.multiply(X, vw[:, None], out=out[:, a:a + km])
        Xc = X - self.shift
        np.multiply(Xc * Xc, vw[:, None], out=out[:, a + km:a + 2 * km])
        a += 2 * km
        np.multiply(P, vww[:, None], out=out[:, a:a + kp])
        a += kp
        np.multiply(Xc, vww[:, None], out=out[:, a:a + km])
        np.multiply(out[:, a:a + km], Xc, out=out[:, a + km:a + 2 * km])

    def sums(self, G: np.ndarray) -> dict:
        """From the column sums ``G`` of :meth:`features`, per banner column: ``n``, ``W``,
        ``W2`` and, per table row, ``SP = sum w P``, ``SP2 = sum w^2 P``, ``SX = sum w X``,
        ``SXc2 = sum w (X-c)^2``, ``SX2w = sum w^2 (X-c)``, ``SX2w2 = sum w^2 (X-c)^2``."""
        if self.by_category:
            k = self.A.shape[1]
            H, H2 = G[2:2 + k], G[2 + k:]
            Vc = self.V - self.shift[:, None]
            return {"n": G[0], "W": H.sum(axis=0), "W2": G[1], "SP": self.A @ H,
                    "SP2": self.A @ H2, "SX": self.V @ H, "SXc2": (Vc * Vc) @ H,
                    "SX2w": Vc @ H2, "SX2w2": (Vc * Vc) @ H2}
        kp, km = self.kp, self.km
        a = 3 + kp
        b = a + 2 * km
        return {"n": G[0], "W": G[1], "W2": G[2], "SP": G[3:a], "SX": G[a:a + km],
                "SXc2": G[a + km:b], "SP2": G[b:b + kp], "SX2w": G[b + kp:b + kp + km],
                "SX2w2": G[b + kp + km:]}


def _question_rows(meta: _Meta, spec: _Spec) -> _Rows:
    """The row question as :class:`_Rows`, after checking its values."""
    df, qid = meta.df, spec.qid
    rows = []
    if spec.type == "multi":
        sub = _numeric_block(df, spec.columns)
        bad = ~np.isnan(sub) & (sub != 0.0) & (sub != 1.0)
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise TableError(f"multi-response question {qid!r}: column {spec.columns[j]!r} row "
                             f"{df.index[i]!r} has {_fmt_code(float(sub[i, j]))}; options must "
                             "be 0/1 (NaN = not asked)")
        valid = ~np.isnan(sub).all(axis=1)
        P = (sub == 1).astype(np.int8)
        rows = [(c, lab, "pct", "p", j) for j, (c, lab) in
                enumerate(zip(spec.codes, spec.code_labels, strict=True))]
        return _Rows(valid, rows, P.shape[1], 0, P=P, X=np.empty((len(df), 0)))
    s = meta.values(qid)
    if spec.type == "single":
        idx = _code_index(s, spec.codes)
        k = len(spec.codes)
        rows = [(c, lab, "pct", "p", j) for j, (c, lab) in
                enumerate(zip(spec.codes, spec.code_labels, strict=True))]
        return _Rows(idx >= 0, rows, k, 0, cat=_small_codes(idx, k), A=np.eye(k),
                     V=np.zeros((0, k)))
    if not pd.api.types.is_numeric_dtype(s):
        s = pd.to_numeric(s, errors="coerce")
        if s.isna().all():
            raise TableError(f"{spec.type} question {qid!r} is not numeric; declare its type "
                             "(types={...: 'single'}) or convert it to numeric codes")
    x = s.to_numpy(dtype=float)
    valid = ~np.isnan(x)
    if spec.type == "rating":
        cat = _code_index(pd.Series(x), list(spec.codes))
        bad = valid & (cat < 0)
        if bad.any():
            i = int(np.argmax(bad))
            raise TableError(f"rating question {qid!r} row {df.index[i]!r} has "
                             f"{_fmt_code(float(x[i]))}, not on its scale "
                             f"{_fmt_list(spec.codes)}; recode missing codes (don't know, "
                             "refused) to NaN first")
        codes = np.asarray(spec.codes, dtype=float)
        A = np.vstack([codes[None, :] == codes[:, None], np.isin(codes, spec.top),
                       np.isin(codes, spec.bottom)]).astype(float)
        k = len(spec.top)
        rows = [(c, lab, "pct", "p", j) for j, (c, lab) in
                enumerate(zip(spec.codes, spec.code_labels, strict=True))]
        rows += [("top_box", f"Top-{k}-box", "pct", "p", len(spec.codes)),
                 ("bottom_box", f"Bottom-{k}-box", "pct", "p", len(spec.codes) + 1),
                 ("mean", "Mean", "mean", "m", 0)]
        return _Rows(valid, rows, A.shape[0], 1, cat=_small_codes(cat, len(codes)), A=A,
                     V=codes[None, :])
    if spec.type == "nps":
        bad = valid & ((x < 0) | (x > 10) | (np.mod(np.where(valid, x, 0), 1) != 0))
        if bad.any():
            i = int(np.argmax(bad))
            raise TableError(f"NPS question {qid!r} row {df.index[i]!r} has "
                             f"{_fmt_code(float(x[i]))}; NPS answers are whole numbers 0-10 "
                             "(recode don't know to NaN first)")
        r = np.arange(11.0)
        pro, det = r >= 9, r <= 6
        A = np.vstack([pro, (r >= 7) & (r <= 8), det]).astype(float)
        V = np.vstack([100.0 * pro - 100.0 * det, r])
        rows = [("promoters", "Promoters (9-10)", "pct", "p", 0),
                ("passives", "Passives (7-8)", "pct", "p", 1),
                ("detractors", "Detractors (0-6)", "pct", "p", 2),
                ("nps", "NPS", "nps", "m", 0), ("mean", "Mean", "mean", "m", 1)]
        cat = np.where(valid, np.nan_to_num(x), -1).astype(np.int8)
        return _Rows(valid, rows, 3, 2, cat=cat, A=A, V=V)
    rows = [("mean", "Mean", "mean", "m", 0)]
    return _Rows(valid, rows, 0, 1, P=np.empty((len(df), 0)),
                 X=np.where(valid, x, 0.0)[:, None])


def _question_matrix(meta: _Meta, spec: _Spec):
    """Valid mask, 0/1 indicator matrix P (proportion rows), value matrix X (mean rows), and
    the row descriptions [(row key, label, stat, 'p'|'m', index)], for every respondent
    (for callers that want the whole matrices, e.g. :func:`surveykit.segments`)."""
    qr = _question_rows(meta, spec)
    P, X = qr.values()
    return qr.valid, P.astype(float), X, qr.rdesc


def _banner_sums(questions: list[_Rows], member: _Membership, w: np.ndarray, pa_ov, pb_ov,
                 freq=None) -> list[tuple[dict, dict | None]]:
    """Per question, the column sums (see :meth:`_Rows.sums`) and the pair-intersection
    sums (the same, for the pairs ``pa_ov``/``pb_ov`` of columns that can
    share respondents), accumulated over blocks of :data:`_CHUNK_ROWS` respondents: memory
    grows with the block, not with respondents x banner columns. ``freq = (m, w2)``: rows
    that stand for ``m`` respondents each (see :meth:`_Rows.features`)."""
    n = member.n
    ends = np.cumsum([qr.width for qr in questions])
    G = np.zeros((int(ends[-1]), member.n_columns))
    G2 = np.zeros((int(ends[-1]), len(pa_ov)))
    M = None
    terms = np.zeros((int(ends[-1]), min(n, _CHUNK_ROWS)))  # term by term: contiguous
    for start in range(0, max(n, 1), _CHUNK_ROWS):
        rows = slice(start, min(start + _CHUNK_ROWS, n))
        M = member.dense(rows, M)
        wr = w[rows]
        F = terms[:, :len(wr)].T
        F.fill(0.0)
        for qr, end in zip(questions, ends, strict=True):
            qr.features(rows, wr, F[:, end - qr.width:end],
                        None if freq is None else (freq[0][rows], freq[1][rows]))
        G += F.T @ M                       # one product for every question
        if len(pa_ov):
            G2 += F.T @ (M[:, pa_ov] * M[:, pb_ov])
    out = []
    for qr, end in zip(questions, ends, strict=True):
        part = slice(end - qr.width, end)
        out.append((qr.sums(G[part]), qr.sums(G2[part]) if len(pa_ov) else None))
    return out


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
           top_box: int = 2, total: bool = True, decimals: int = 0,
           design=None, _counts: tuple | None = None) -> BannerTable:
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
    design : SurveyDesign or ReplicateDesign, optional
        The sample design of ``df`` (:mod:`surveykit.design`; leave ``weights`` out, the
        design carries them): SEs, design effects and tests from its strata, clusters and
        fpc or its replicate weights, t on the design degrees of freedom (R ``svyttest``).
        The cells' ``n_eff`` is then ``n / deff``.

    Returns
    -------
    BannerTable
        Cells (``to_frame()``) with ``estimate, se, deff, n, n_weighted, n_eff``.

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
    # _counts = (m, w2, N, n_eff): each row of df stands for m respondents with the same
    # answers, weights being their summed weights and w2 their summed squared weights; N
    # respondents in all, of Kish effective size n_eff (the GROUP BY of surveykit.outofcore,
    # one block of rows per row question); every figure is then that of the respondents
    N = len(df) if _counts is None else int(_counts[2])
    if design is None:
        w = resolve_weights(df, weights if weights is not None or _counts is None
                            else _counts[0], error=TableError)
    elif _counts is not None:
        raise TableError("a design needs the respondents' rows, not grouped counts")
    else:
        from .design._common import design_weights

        w = design_weights(df, design, weights, TableError)
    rows = _expand_grids(rows, questionnaire, df, types)
    meta = _Meta(df, questionnaire, types, labels, value_labels, scales, top_box, TableError)
    member, cols, blocks, overlapping = _banner_columns(meta, columns, total)
    C = member.n_columns
    letters = cols["letter"].tolist()

    # pairs to test and, where columns can overlap, the pairs whose intersections count
    fams = [(var, [(a, b) for i, a in enumerate(ix) for b in ix[i + 1:]]) for var, ix in blocks]
    pairs = [p for _, ps in fams for p in ps]
    pa = np.array([p[0] for p in pairs], dtype=int)
    pb = np.array([p[1] for p in pairs], dtype=int)
    fam_of = np.concatenate([[k] * len(ps) for k, (_, ps) in enumerate(fams)]).astype(int) \
        if pairs else np.zeros(0, int)
    ov = [k for k, (a, _) in enumerate(pairs) if cols["banner"].iat[a] in overlapping]

    from collections import defaultdict

    # every row question checked and encoded first, then the sums of all in one pass
    specs, encoded = {}, []
    for qid in rows:
        spec = meta.spec(qid, role="row")
        qr = _question_rows(meta, spec)
        if not qr.valid.any():
            raise TableError(f"row question {qid!r} has no answers in the data (all missing); "
                             "remove it from rows or check the data")
        specs[qid] = spec
        encoded.append(qr)
    all_sums = _banner_sums(encoded, member, w, pa[ov], pb[ov],
                            None if _counts is None else
                            (_counts[0], np.asarray(_counts[1], dtype=float)))
    cells = None if design is None else DesignCells(design, member, blocks, total)
    del member

    frames, tests, bases = defaultdict(list), defaultdict(list), defaultdict(list)
    for qid, qr, (tot, inter) in zip(rows, encoded, all_sums, strict=True):
        spec, rdesc = specs[qid], qr.rdesc
        n, W, W2 = np.rint(tot["n"]).astype(np.int64), tot["W"], tot["W2"]
        npair = len(pairs)
        E, V, S2 = cell_stats(qr, tot, N)
        if cells is None:
            dif, stat, dfree, praw, tnames = plain_tests(qr, tot, inter, ov, pa, pb, N,
                                                         E, V)
        else:
            V, (dif, stat, dfree, praw, tnames) = cells.stats(qr, E, pa, pb, C)
        ok = (n[pa] >= min_base) & (n[pb] >= min_base) & (n[pa] > 0) & (n[pb] > 0)
        ok = ok[None, :] & np.isfinite(stat)
        stat, dfree, praw = (np.where(ok, x, np.nan) for x in (stat, dfree, praw))
        with np.errstate(divide="ignore", invalid="ignore"):
            deff = V / (S2 / n)
            ne = np.where(W2 > 0, W ** 2 / W2, 0.0)
        low = n < min_base
        for k, v in (("question", [qid] * C), ("column", np.arange(C)), ("n", n),
                     ("n_weighted", W), ("n_eff", ne), ("low_base", low)):
            bases[k].append(v)
        # corrected p-values within (row, banner variable)
        R = len(rdesc)
        padj = np.full((R, npair), np.nan)
        for k in range(len(fams)):
            sel = fam_of == k
            padj[:, sel] = adjust_pvalues(praw[:, sel], correction)
        sig = padj < alpha
        cell_sig = [[""] * C for _ in range(R)]
        for r in range(R):
            diff = dif[r]
            for q in np.flatnonzero(sig[r]):
                a, b = pa[q], pb[q]
                if diff[q] > 0:
                    cell_sig[r][a] += letters[b]
                elif diff[q] < 0:
                    cell_sig[r][b] += letters[a]
        cell_sig = ["".join(sorted(s, key=lambda x: (len(x), x))) for row in cell_sig for s in row]
        rkeys = [str(_fmt_code(r[0])) for r in rdesc]
        for k, v in (("question", [qid] * (R * C)), ("question_label", [spec.label] * (R * C)),
                     ("type", [spec.type] * (R * C)), ("row", np.repeat(rkeys, C)),
                     ("row_label", np.repeat([r[1] for r in rdesc], C)),
                     ("stat", np.repeat([r[2] for r in rdesc], C)),
                     ("column", np.tile(np.arange(C), R)), ("estimate", E.reshape(-1)),
                     ("se", np.sqrt(V).reshape(-1)), ("deff", deff.reshape(-1)),
                     ("n", np.tile(n, R)), ("n_weighted", np.tile(W, R)),
                     ("n_eff", (np.tile(ne, R) if cells is None else
                                (n / deff).reshape(-1))),
                     ("low_base", np.tile(low, R)), ("sig", cell_sig)):
            frames[k].append(v)
        for r, (_, rl, st, _, _) in enumerate(rdesc if npair else []):
            for k, v in (("question", [qid] * npair), ("row", [rkeys[r]] * npair),
                         ("row_label", [rl] * npair), ("stat", [st] * npair),
                         ("column_a", pa), ("column_b", pb),
                         ("estimate_a", E[r][pa]), ("estimate_b", E[r][pb]),
                         ("diff", dif[r]), ("test", [tnames[r]] * npair),
                         ("statistic", stat[r]), ("df", dfree[r]), ("p", praw[r]),
                         ("p_adj", padj[r]), ("significant", sig[r])):
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
                   "se", "deff", "n", "n_weighted", "n_eff", "low_base", "sig"]]
    test_frame = build(tests) if tests else pd.DataFrame()
    if len(test_frame):
        test_frame = attach(test_frame, "column_a", "_a")
        test_frame = attach(test_frame, "column_b", "_b").drop(
            columns=["banner_label_a", "banner_label_b", "banner_b"])
        test_frame = test_frame.rename(columns={"banner_a": "banner"})
    base_frame = build(bases)
    if _counts is None:
        n_eff = float(w.sum() ** 2 / np.dot(w, w)) if np.dot(w, w) > 0 else 0.0
    else:
        n_eff = float(_counts[3])
    notes = footnotes(N, n_eff, weights, alpha, correction, min_base, overlapping, design)
    options = dict(alpha=alpha, correction=correction, min_base=min_base,
                   decimals=int(decimals), weighted=weights is not None or design is not None,
                   design=None if design is None else design_text(design))
    return BannerTable(frame, test_frame, base_frame, cols, specs, notes, options)


def _expand_grids(rows: list[str], questionnaire, df: pd.DataFrame, types=None) -> list[str]:
    """A grid (or rank) question id stands for its item columns, one row question each; an
    open question coded into themes (``surveykit.text.code_text``) is a multi-response row."""
    if questionnaire is None:
        return rows
    out: list[str] = []
    for qid in rows:
        try:
            qtype = questionnaire.question(qid).type
        except KeyError:
            qtype = None
        if qtype == "open" and (types or {}).get(qid) != "multi":
            raise TableError(f"{qid!r} is an open-ended question; code it into themes first "
                             "(coded = surveykit.text.code_text(df, question, codeframe)) and "
                             "tabulate coded.data with **coded.table_args()")
        if qtype in ("grid", "rank"):
            out.extend(c for c in questionnaire.columns_of(qid) if c in df.columns)
        else:
            out.append(qid)
    dup = sorted({c for c in out if out.count(c) > 1})
    if dup:
        raise TableError(f"rows list {', '.join(map(repr, dup))} more than once (directly and "
                         "through a grid)")
    return out
