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
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ._banner_stats import DesignCells, cell_stats, design_text, footnotes, plain_tests
from ._banner_sums import _banner_columns, _banner_sums, _question_rows
from ._question_meta import ROW_TYPES, _fmt_code, _Meta
from ._util import as_list, resolve_weights
from .errors import TableError
from .tabbook import BannerTable

# BannerTable (surveykit.tabbook) and ROW_TYPES (._question_meta) stay importable from here
__all__ = ["banner", "BannerTable", "adjust_pvalues", "ROW_TYPES", "CORRECTIONS"]

CORRECTIONS = ("none", "bonferroni", "holm", "fdr")


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
# the banner (its column sums: surveykit._banner_sums; its statistics: ._banner_stats)
# --------------------------------------------------------------------------------------------
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
