"""The column sums behind a banner's cells and tests, and what they are summed from.

Who is in which banner column (:class:`_Membership`, built with the columns' letters by
:func:`_banner_columns`), each row question in a compact form (:class:`_Rows`, from
:func:`_question_rows`), and :func:`_banner_sums`, which accumulates the sums of every row
question per banner column over blocks of :data:`_CHUNK_ROWS` respondents. The statistics
read from these sums are :mod:`surveykit._banner_stats`; :func:`surveykit.tables.banner`
puts the two together.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._question_meta import _fmt_code, _fmt_list, _Meta, _Spec
from .errors import TableError

__all__: list[str] = []


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
