"""The statistics of a banner's cells and column tests, from the column sums of
:func:`surveykit.tables.banner` (simple weights) or from a sample design.

Every definition is one of :mod:`surveykit.significance`: cell variances are
:func:`~surveykit.significance.linearised_variance` (R ``svymean`` on ``svydesign(ids=~1)``),
proportions are compared by :func:`~surveykit.significance.pooled_z_test`, means and NPS by
:func:`~surveykit.significance.mean_difference_test` on the linearisation variance of the
difference (with the covariance of overlapping columns,
:func:`~surveykit.significance.linearised_covariance`). Under a design every cell's variance
and every pair's contrast come from the design (R ``svyby`` + ``svycontrast``) and every
test is the design's t on the degrees of freedom of the two columns' respondents (R
``svyttest``), proportions included.
"""

from __future__ import annotations

import numpy as np

from .significance import (
    TEST_DEFINITIONS,
    linearised_covariance,
    linearised_variance,
    mean_difference_test,
    pooled_z_test,
)

__all__: list[str] = []


def _moments(qr, sums, kind, j):
    """Sum w y, sum w^2 y~, sum w^2 y~^2 and the shift of y~ = y - c of one table row."""
    if kind == "p":
        return sums["SP"][j], sums["SP2"][j], sums["SP2"][j], 0.0
    return sums["SX"][j], sums["SX2w"][j], sums["SX2w2"][j], qr.shift[j]


def cell_stats(qr, tot, N: int):
    """Estimates, linearisation variances and ``s2`` (for the design effect) of every cell,
    each (rows x columns)."""
    n, W, W2 = tot["n"], tot["W"], tot["W2"]
    E, V, S2 = [], [], []
    with np.errstate(divide="ignore", invalid="ignore"):
        for (_, _, _, kind, j) in qr.rdesc:
            S, S2y, S2yy, c = _moments(qr, tot, kind, j)
            m = S / W
            V.append(linearised_variance(W, W2, S2y, S2yy, m - c, N))
            ss = (m * (1 - m) * W if kind == "p"
                  else np.maximum(tot["SXc2"][j] - W * (m - c) ** 2, 0.0))
            S2.append(n / (n - 1) * ss / W)
            E.append(m)
    return np.vstack(E), np.vstack(V), np.vstack(S2)


def plain_tests(qr, tot, inter, ov, pa, pb, N: int, E, V):
    """Differences, statistics, df and p of every (row, pair) without a design: pooled z for
    proportions, the linearised z of :func:`mean_difference_test` for means and NPS."""
    W, W2 = tot["W"], tot["W2"]
    npair = len(pa)
    out = [np.full((len(qr.rdesc), npair), np.nan) for _ in range(4)]
    names = []
    for r, (_, _, _, kind, j) in enumerate(qr.rdesc):
        iW, iW2 = np.zeros(npair), np.zeros(npair)
        iS, iS2y, iS2yy = np.zeros(npair), np.zeros(npair), np.zeros(npair)
        if ov:
            S_, S2y_, S2yy_, _ = _moments(qr, inter, kind, j)
            iW[ov], iW2[ov], iS[ov], iS2y[ov], iS2yy[ov] = (inter["W"], inter["W2"], S_,
                                                             S2y_, S2yy_)
        S, _, _, c = _moments(qr, tot, kind, j)
        if kind == "p":
            res = pooled_z_test(S[pa], W[pa], W2[pa], S[pb], W[pb], W2[pb], iS, iW, iW2)
            names.append("z")
        else:
            m = E[r]
            cov = linearised_covariance(W[pa], W[pb], iW2, iS2y, iS2yy, m[pa] - c,
                                        m[pb] - c, N)
            res = mean_difference_test(m[pa] - m[pb], V[r][pa] + V[r][pb] - 2 * cov)
            names.append("z")
        for k, x in zip((0, 1, 2, 3), (res[0], res[2], np.full(npair, np.inf), res[3]),
                        strict=True):
            out[k][r] = x
        out[1][r] = np.where(res[1] > 1e-12 * np.maximum(1.0, np.abs(E[r][pa])), out[1][r],
                             np.nan)
    return (*out, names)


class DesignCells:
    """The design's variances of the banner's cells and of the differences between the
    columns of each banner variable, and the pairs' degrees of freedom.

    ``groups``: per banner variable (and the Total), its columns and a code per respondent
    of the combination of columns they belong to (for a single-coded variable, the column
    itself; for a multi-response one, the pattern of ticks), with the 0/1 matrix of
    combination x column: the design sums per (unit, combination), never per (respondent,
    column)."""

    def __init__(self, design, member, blocks, total: bool):
        self.design = design
        self.groups = []
        if total:
            self.groups.append(([0], np.zeros(member.n, dtype=np.int64), 1, np.ones((1, 1))))
        singles = {start: code for start, code in member.single}
        multis = {start: ticks for start, ticks in member.multi}
        for _, ix in blocks:
            start, k = ix[0], len(ix)
            if start in singles:
                g = singles[start].astype(np.int64)
                self.groups.append((ix, g, k, np.eye(k)))
            else:
                D, g = np.unique(multis[start], axis=0, return_inverse=True)
                self.groups.append((ix, g.ravel().astype(np.int64), D.shape[0],
                                    D.astype(float)))
        self._df: dict = {}

    def _pair_df(self, b, valid, pairs_local):
        key = (b, hash(valid.tobytes()))
        if key not in self._df:
            ix, g, G, D = self.groups[b]
            masks = [(D[:, i] + D[:, j] > 0).astype(float) for i, j in pairs_local]
            self._df[key] = (self.design._degf_groups(g, G, rows=valid, pairs=masks) - 1
                             if masks else np.zeros(0))
        return self._df[key]

    def stats(self, qr, E, pa, pb, C: int):
        """Variances (rows x columns) and differences, t, df, p (rows x pairs)."""
        R, npair = len(qr.rdesc), len(pa)
        V = np.full((R, C), np.nan)
        out = [np.full((R, npair), np.nan) for _ in range(4)]
        pos = {(a, b): q for q, (a, b) in enumerate(zip(pa, pb, strict=True))}
        plan = []                              # per banner variable: its pairs and their df
        for b, (ix, g, G, D) in enumerate(self.groups):
            local = {c: i for i, c in enumerate(ix)}
            mine = [(q, local[a], local[bb]) for (a, bb), q in pos.items()
                    if a in local and bb in local]
            contrasts = [(i, j) for _, i, j in mine]
            plan.append((ix, g, G, D, mine, contrasts,
                         self._pair_df(b, qr.valid, contrasts)))
        for r, (_, _, _, kind, j) in enumerate(qr.rdesc):
            y = qr.row_values(kind, j)
            c = 0.0 if kind == "p" else float(qr.shift[j])
            for ix, g, G, D, mine, contrasts, dfree in plan:
                means = E[r][ix]
                v, vc = self.design._domain_variances(y, g, G, np.nan_to_num(means), D,
                                                      contrasts, shift=c)
                V[r, ix] = v
                if not mine:
                    continue
                q = np.array([m[0] for m in mine])
                d = means[[i for _, i, _ in mine]] - means[[jj for _, _, jj in mine]]
                res = mean_difference_test(d, vc, dfree)
                for k, x in zip((0, 1, 2, 3), (res[0], res[2], dfree, res[3]), strict=True):
                    out[k][r, q] = x
                out[1][r, q] = np.where(res[1] > 1e-12 * np.maximum(1.0, np.abs(d)),
                                        out[1][r, q], np.nan)
        return V, (*out, ["t"] * R)


def footnotes(N, ne, weights, alpha, correction, min_base, overlapping, design) -> list[str]:
    """The banner's footnotes; ``N`` respondents of Kish effective size ``ne``."""
    corr = {"none": "no correction for multiple comparisons",
            "bonferroni": "Bonferroni correction", "holm": "Holm correction",
            "fdr": "Benjamini-Hochberg (FDR) correction"}[correction]
    if design is None:
        how = ("Significance: proportions by the two-sample z-test on Kish effective bases "
               "(proportion pooled by weight); means and NPS by the z-test of the difference "
               "over its linearisation standard error (R svyby + svycontrast); two-sided, "
               "between the columns of each banner variable")
    else:
        how = (f"Significance: design-based t-tests ({design_text(design)}) of every "
               "difference between the columns of each banner variable: the difference "
               "over its standard error from the design, on the design degrees of freedom of "
               "the two columns' respondents (R svyby + svycontrast, svyttest); two-sided")
    notes = [f"{how}; alpha = {alpha:g}; {corr} within each row and banner variable.",
             "Letters show the columns a cell is significantly higher than.",
             TEST_DEFINITIONS["nps"][0].upper() + TEST_DEFINITIONS["nps"][1:] + "."]
    if weights is None and design is None:
        notes.append(f"Unweighted; n = {N:,}.")
    else:
        src = (f"column {weights!r}" if isinstance(weights, str) else
               "the design's weights" if weights is None else "the weights given")
        notes.append(f"Weighted by {src}; n = {N:,}, effective n = {ne:,.0f} "
                     f"(weighting efficiency {100 * ne / N:.0f}%). Percentages and means "
                     "are weighted; bases are unweighted and effective (Kish).")
    if design is not None:
        notes.append("Standard errors and design effects from the sample design; the "
                     "cells' effective base is n / deff.")
    notes.append(f"* base under {min_base} (unweighted): shown, not tested.")
    if overlapping:
        notes.append(f"Multi-response banner ({', '.join(overlapping)}): columns overlap; tests "
                     "allow for respondents in both columns.")
    return notes


def design_text(design) -> str:
    """The design in words, from its ``description`` (or its ``method``)."""
    return getattr(design, "description", None) or design.method
