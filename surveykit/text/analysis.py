"""What the themes mean: their shares by segment, and how they go with an outcome.

:func:`theme_shares` estimates the share of respondents mentioning each theme (of those who
answered), with confidence intervals, in total and by segment, with each segment tested
against the rest: the estimates and tests are :func:`surveykit.estimates.estimate` and
:func:`surveykit.estimates.compare` (one definition of each statistic). For themes by NPS
group, add the group column with :func:`nps_groups` and pass it as ``by``.

:func:`theme_impact` asks how much higher or lower an outcome (satisfaction, NPS) is among
those who mention a theme than among those who do not, adjusted for the other themes:
weighted least squares of the outcome on the 0/1 theme columns (statsmodels WLS with
HC1 robust standard errors, as :func:`surveykit.drivers.regression` uses for sampling
weights).
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from .._util import as_list, check_columns, numeric_array, resolve_weights, short_repr
from .._weighted_stats import _nps_score
from ..errors import TextError
from ..estimates import compare, estimate
from .codeframe import Codeframe, load_codeframe

__all__ = ["theme_shares", "ThemeShares", "theme_impact", "ThemeImpact", "nps_groups",
           "NPS_GROUPS"]

#: The NPS groups, in order (promoters 9-10, passives 7-8, detractors 0-6).
NPS_GROUPS = ("Detractors (0-6)", "Passives (7-8)", "Promoters (9-10)")


def nps_groups(df: pd.DataFrame, column: str = "nps") -> pd.Series:
    """The NPS group of each respondent, from a 0-10 likelihood-to-recommend column, as an
    ordered categorical (missing where the answer is), for ``by=``.

    The cut-offs are those of :func:`surveykit.estimates.estimate` (``stat="nps"``), and so
    is the check that answers are whole numbers from 0 to 10.

    Examples
    --------
    >>> d = pd.DataFrame({"nps": [10, 7, 3, None]})
    >>> nps_groups(d).tolist()
    ['Promoters (9-10)', 'Passives (7-8)', 'Detractors (0-6)', nan]
    """
    check_columns(df, [column], error=TextError)
    score = _nps_score(numeric_array(df, column, error=TextError), column)
    codes = np.select([score == -100, score == 0, score == 100], [0, 1, 2], -1)
    return pd.Series(pd.Categorical.from_codes(codes, categories=list(NPS_GROUPS),
                                               ordered=True),
                     index=df.index, name=f"{column}_group")


def _code_table(df, question, spec) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """(data, codes with columns, a note) for a codeframe, its path or a list of columns."""
    if isinstance(spec, str | os.PathLike) and not (isinstance(spec, str) and spec in df.columns):
        spec = load_codeframe(spec)
    if isinstance(spec, Codeframe):
        codes = spec.codes()
        codes["column"] = [spec.columns(question)[c] for c in codes["code"]]
        present = [c in df.columns for c in codes["column"]]
        if not any(present):
            from .coding import code_text

            return (code_text(df, question, spec).data, codes,
                    f"coded now with codeframe {spec.id!r}")
        if not all(present):
            missing = codes["column"][[not p for p in present]].tolist()
            raise TextError(f"the data hold some but not all columns of codeframe {spec.id!r}"
                            f" (missing {', '.join(map(repr, missing[:5]))}); code the "
                            "question again with this codeframe")
        return df, codes, f"codeframe {spec.id!r}"
    cols = as_list(spec)
    check_columns(df, cols, error=TextError, what="theme column")
    prefix = f"{question}_"
    codes = pd.DataFrame({"code": [c[len(prefix):] if c.startswith(prefix) else c
                                   for c in cols], "kind": "theme", "net": None,
                          "column": cols})
    codes.insert(1, "label", codes["code"])
    return df, codes, "the columns given"


class ThemeShares:
    """The result of :func:`theme_shares`: ``to_frame()`` has one row per code (x group):
    ``code, label, kind, net, column, [by, group], estimate, se, ci_low, ci_high, n,
    n_eff`` and, by segment, ``difference, p_value, significant`` against the rest."""

    def __init__(self, table: pd.DataFrame, question: str, note: str, weighted: bool,
                 by: list[str], alpha: float):
        self.table, self.question, self.note = table, question, note
        self.weighted, self.by, self.alpha = weighted, by, alpha

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> str:
        t = self.table
        total = t[t["group"] == "Total"]
        themes = total[total["kind"] == "theme"].sort_values("estimate", ascending=False)
        base = int(total["n"].max()) if len(total) else 0
        lines = [f"Theme shares of {self.question!r} ({self.note}; "
                 f"{'weighted' if self.weighted else 'unweighted'}), base n = {base:,} who "
                 "answered: " + "; ".join(
                     f"{r.label} {r.estimate:.0%} ({r.ci_low:.0%}-{r.ci_high:.0%})"
                     for r in themes.head(6).itertuples()) + "."]
        if self.by:
            sig = t[(t["group"] != "Total") & t["significant"].fillna(False).astype(bool)
                    & (t["kind"] == "theme")]
            if len(sig):
                lines.append(f"Differences from the rest (p < {self.alpha:g}): " + "; ".join(
                    f"{r.label} {'higher' if r.difference > 0 else 'lower'} in "
                    f"{r.by} = {r.group} ({r.estimate:.0%} vs {r.estimate - r.difference:.0%})"
                    for r in sig.head(8).itertuples()) + ".")
            else:
                lines.append(f"No segment differs from the rest at p < {self.alpha:g}.")
        return " ".join(lines)

    def _repr_html_(self) -> str:
        return f"<p>{self.summary()}</p>" + self.table.to_html(
            index=False, float_format="{:.3f}".format, na_rep="")

    def __repr__(self) -> str:
        return short_repr(self)


def theme_shares(df: pd.DataFrame, question: str, codeframe_or_columns, *, by=None,
                 weights=None, level: float = 0.95, alpha: float = 0.05) -> ThemeShares:
    """Share of respondents mentioning each theme, with confidence intervals, by segment.

    Parameters
    ----------
    df : DataFrame
        One row per respondent (not modified): the coded columns of :func:`code_text`, or
        the open answers (coded here when the codeframe's columns are absent).
    question : str
        The open question.
    codeframe_or_columns : Codeframe, path or list of str
        The codeframe (every code: nets, themes, other, no comment) or the theme columns.
    by : str or list of str, optional
        Segment columns; each group is also tested against the rest
        (:func:`surveykit.estimates.compare`, pooled z on effective bases). For NPS groups
        pass a column made by :func:`nps_groups`.
    weights : None, column name, array or WeightingReport
    level : float
        Confidence level of the intervals.
    alpha : float
        Significance level of the ``significant`` flag.

    Returns
    -------
    ThemeShares
        Shares are of respondents who answered the question (missing answers are left out
        of the base, as the coded columns are NaN there).

    Examples
    --------
    >>> from surveykit.text import load_codeframe
    >>> cf = load_codeframe("questionnaires/pc_customers.codeframe.yaml")
    >>> d = pd.DataFrame({"pain_text": ["battery dies", "too expensive", "battery", "ok",
    ...                                 None, "the fan is loud"], "seg": [1, 1, 1, 2, 2, 2]})
    >>> s = theme_shares(d, "pain_text", cf, by="seg").to_frame()
    >>> s.query("code == 'battery'")[["group", "estimate", "n"]].reset_index(drop=True)
       group  estimate  n
    0  Total  0.400000  5
    1      1  0.666667  3
    2      2  0.000000  2
    """
    if not isinstance(df, pd.DataFrame):
        raise TextError(f"df must be a pandas DataFrame, not {type(df).__name__}")
    data, codes, note = _code_table(df, question, codeframe_or_columns)
    cols = codes["column"].tolist()
    bys = as_list(by)
    check_columns(data, bys, error=TextError, what="by column")
    meta = codes.set_index("column")
    parts = []
    total = estimate(data, cols, stat="proportion", weights=weights, level=level)
    total.insert(2, "by", None)
    total.insert(3, "group", "Total")
    parts.append(total)
    if bys:
        est = estimate(data, cols, stat="proportion", weights=weights, by=bys, level=level)
        tests = []
        for b in bys:
            c = compare(data, cols, by=b, stat="proportion", weights=weights, alpha=alpha)
            tests.append(c[["variable", "by", "group", "difference", "p_value",
                            "significant"]])
        test = pd.concat(tests, ignore_index=True)
        est = est.merge(test, on=["variable", "by", "group"], how="left")
        parts.append(est)
    out = pd.concat(parts, ignore_index=True)
    for col in ("code", "label", "kind", "net"):
        out.insert(list(out.columns).index("variable"), col, out["variable"].map(meta[col]))
    out = out.rename(columns={"variable": "column"}).drop(columns="stat")
    keep = [c for c in ("code", "label", "kind", "net", "column", "by", "group", "estimate",
                        "se", "ci_low", "ci_high", "n", "n_eff", "difference", "p_value",
                        "significant") if c in out.columns]
    weighted = weights is not None
    return ThemeShares(out[keep], question, note, weighted, bys, alpha)


# -- impact on an outcome ----------------------------------------------------------------------
class ThemeImpact:
    """The result of :func:`theme_impact`: ``to_frame()`` has one row per theme column:
    ``column, n_with, mean_with, mean_without, raw_difference, difference, se, ci_low,
    ci_high, p_value`` (``difference``: adjusted for the other themes)."""

    def __init__(self, table, outcome, n, r2, dropped, cov_type, level, weighted):
        self.table, self.outcome, self.n, self.r2 = table, outcome, n, r2
        self.dropped, self.cov_type, self.level, self.weighted = dropped, cov_type, level, weighted

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> str:
        t = self.table.sort_values("difference")
        sig = t[t["p_value"] < 1 - self.level]
        head = (f"Impact of themes on {self.outcome!r} ({'weighted ' if self.weighted else ''}"
                f"least squares, {self.cov_type} SEs, n = {self.n:,}, R2 = {self.r2:.3f}), "
                "each adjusted for the other themes: ")
        body = "; ".join(f"{r.column} {r.difference:+.2f} ({r.ci_low:+.2f} to {r.ci_high:+.2f})"
                         for r in sig.itertuples()) or "no theme differs significantly"
        tail = (f". Left out (no variation): {', '.join(self.dropped)}." if self.dropped
                else ".")
        return head + body + tail

    def _repr_html_(self) -> str:
        return f"<p>{self.summary()}</p>" + self.table.to_html(index=False,
                                                               float_format="{:.3f}".format)

    def __repr__(self) -> str:
        return short_repr(self)


def theme_impact(df: pd.DataFrame, outcome: str, theme_columns, *, weights=None,
                 level: float = 0.95, cov_type: str = "HC1") -> ThemeImpact:
    """The difference in an outcome with vs without each theme, adjusted for the others.

    Parameters
    ----------
    df : DataFrame
        One row per respondent (not modified).
    outcome : str
        A numeric outcome (overall satisfaction, likelihood to recommend ...).
    theme_columns : list of str or CodedText
        The 0/1 theme columns (a CodedText gives its themes' columns; nets are better left
        out, as they repeat their themes).
    weights : None, column name or array
    level : float
        Confidence level of the intervals.
    cov_type : str
        statsmodels covariance type (``"HC1"``: robust, right for sampling weights).

    Returns
    -------
    ThemeImpact
        Rows with a missing outcome or theme coding are left out (``n`` says how many were
        used); themes that nobody (or everybody) mentions are listed in ``dropped``.

    Raises
    ------
    TextError
        Unknown or non-numeric column, fewer respondents than terms, or themes that repeat
        one another (e.g. a net with one theme), named.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> d = pd.DataFrame({"a": rng.integers(0, 2, 400), "b": rng.integers(0, 2, 400)})
    >>> d["sat"] = 7 - 2 * d["a"] + rng.normal(0, 1, 400)
    >>> r = theme_impact(d, "sat", ["a", "b"]).to_frame().set_index("column")
    >>> round(float(r.loc["a", "difference"])), bool(r.loc["b", "p_value"] > 0.05)
    (-2, True)
    """
    import statsmodels.api as sm

    if not 0.5 < level < 1:
        raise TextError(f"level must be between 0.5 and 1, not {level!r}")
    cols = list(getattr(theme_columns, "theme_columns", None) or as_list(theme_columns))
    if not cols:
        raise TextError("give at least one theme column")
    check_columns(df, [outcome, *cols], error=TextError)
    y = numeric_array(df, outcome, error=TextError, what="outcome")
    X = np.column_stack([numeric_array(df, c, error=TextError, what="theme column")
                         for c in cols])
    w = resolve_weights(df, weights, error=TextError)
    ok = np.isfinite(y) & np.isfinite(X).all(axis=1) & (w > 0)
    y, X, w = y[ok], X[ok], w[ok]
    vary = [j for j in range(len(cols)) if len(np.unique(X[:, j])) > 1]
    dropped = [cols[j] for j in range(len(cols)) if j not in vary]
    cols, X = [cols[j] for j in vary], X[:, vary]
    if not cols:
        raise TextError(f"no theme column varies among the {int(ok.sum())} respondents with "
                        "an outcome and a coded answer")
    if len(y) <= len(cols) + 1:
        raise TextError(f"{len(y)} respondents for {len(cols)} themes and a constant; the "
                        "model needs more respondents than terms")
    design = sm.add_constant(X, has_constant="add")
    if np.linalg.matrix_rank(design) < design.shape[1]:
        dup = [cols[j] for j in range(len(cols))
               if np.linalg.matrix_rank(np.delete(design, j + 1, axis=1))
               == np.linalg.matrix_rank(design)]
        raise TextError(f"the theme columns repeat one another ({', '.join(dup)}), e.g. a "
                        "net and its only theme; leave nets out or drop one of them")
    fit = sm.WLS(y, design, weights=w).fit(cov_type=cov_type)
    ci = np.asarray(fit.conf_int(alpha=1 - level))
    sub = pd.DataFrame(X, columns=cols)
    sub["_y"], sub["_w"] = y, w
    rows = []
    for j, c in enumerate(cols):
        means = estimate(sub, "_y", by=c, weights="_w").set_index("group")["estimate"]
        rows.append({"column": c, "n_with": int((X[:, j] == 1).sum()),
                     "mean_with": float(means.get(1, np.nan)),
                     "mean_without": float(means.get(0, np.nan)),
                     "raw_difference": float(means.get(1, np.nan) - means.get(0, np.nan)),
                     "difference": float(fit.params[j + 1]), "se": float(fit.bse[j + 1]),
                     "ci_low": float(ci[j + 1, 0]), "ci_high": float(ci[j + 1, 1]),
                     "p_value": float(fit.pvalues[j + 1])})
    return ThemeImpact(pd.DataFrame(rows), outcome, int(len(y)), float(fit.rsquared),
                       dropped, cov_type, level, weights is not None)
