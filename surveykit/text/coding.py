"""Code open answers with a codeframe: one 0/1 column per theme and net, plus an audit.

The matching itself is in :mod:`surveykit.text._engine` (one pass per rule length over all
distinct answers joined, no Python loop over answers); this module turns its hits into the
coded columns, the no-comment and other codes, and the audit table, row by row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._util import check_columns, short_repr
from ..errors import TextError
from ._engine import Matcher, match_answers, prepare_answers
from ._lang import is_no_comment
from .codeframe import Codeframe, load_codeframe

__all__ = ["code_text", "CodedText"]


class CodedText:
    """The result of :func:`code_text`.

    Attributes
    ----------
    data : DataFrame
        A copy of the data with one 0/1 column per theme, net, the other code and the
        no-comment flag (``{question}_{code}``), NaN where the answer is missing.
    audit : DataFrame
        One row per coded (respondent row, code): ``row`` (index label), ``code``,
        ``kind`` (theme, no_comment, other), ``rule`` (e.g. ``word (en)``), ``pattern`` (the
        rule as written), ``matched`` (the text it matched, normalised). Nets are not
        listed: they follow from their themes.
    columns : dict
        ``{code: column}`` in column order.

    ``data, audit = code_text(...)`` unpacks the two tables.
    """

    def __init__(self, data, audit, codeframe: Codeframe, question: str, language,
                 n_missing: int, n_distinct: int):
        self.data, self.codeframe = data, codeframe
        self._audit = audit  # a DataFrame, or a function that makes it (on first use)
        self.question, self.language = question, language
        self.columns = codeframe.columns(question)
        self.n_missing, self.n_distinct = n_missing, n_distinct

    @property
    def audit(self) -> pd.DataFrame:
        """The rule behind every code, one row per (respondent row, code); made when first
        asked for (a million answers give a few million rows)."""
        if callable(self._audit):
            self._audit = self._audit()
        return self._audit

    def __iter__(self):
        return iter((self.data, self.audit))

    @property
    def theme_columns(self) -> list[str]:
        """The columns of the themes (not nets, other or no comment)."""
        return [self.columns[t] for t in self.codeframe.theme_ids]

    def table_args(self) -> dict:
        """Keyword arguments that make :func:`surveykit.tables.banner` read the coded
        question as a multi-response question with the codeframe's labels:
        ``banner(coded.data, "pain_text", "segment", **coded.table_args())``."""
        return {"types": {self.question: "multi"},
                "value_labels": {self.question: {c: self.codeframe.label(c)
                                                 for c in self.columns}},
                "labels": {self.question: self.codeframe.model.title or self.question}}

    def to_frame(self) -> pd.DataFrame:
        """Unweighted counts per code: ``code, label, kind, net, column, n, base, share``
        (base = rows with an answer; :func:`surveykit.text.theme_shares` gives weighted
        shares with confidence intervals)."""
        out = self.codeframe.codes()
        out["column"] = [self.columns[c] for c in out["code"]]
        base = int(len(self.data) - self.n_missing)
        out["n"] = [int(np.nansum(self.data[c].to_numpy(dtype=float))) for c in out["column"]]
        out["base"] = base
        out["share"] = out["n"] / base if base else np.nan
        return out

    def summary(self) -> str:
        t = self.to_frame()
        base = int(t["base"].iloc[0])
        get = dict(zip(t["kind"] + ":" + t["code"], t["n"], strict=True))
        nc = get[f"no_comment:{self.codeframe.model.no_comment.id}"]
        other = get[f"other:{self.codeframe.model.other.id}"]
        themes = t[(t["kind"] == "theme") & (t["n"] > 0)].sort_values("n", ascending=False)
        top = ", ".join(f"{r.label} {r.n:,} ({r.share:.0%})" for r in themes.head(5)
                        .itertuples()) or "no theme"
        return (f"Coded {self.question!r} with codeframe {self.codeframe.id!r} "
                f"({len(self.codeframe.theme_ids)} themes, language "
                f"{self.language or 'all'}): {len(self.data):,} rows, {base:,} answered "
                f"({self.n_distinct:,} distinct answers), {self.n_missing:,} missing; "
                f"{nc:,} no comment, {other:,} other (no theme). Most mentioned: {top}. "
                "Counts are unweighted.")

    def _repr_html_(self) -> str:
        return f"<p>{self.summary()}</p>" + self.to_frame().to_html(
            index=False, float_format=lambda v: f"{v:.1%}")

    def __repr__(self) -> str:
        return short_repr(self)


def code_text(df: pd.DataFrame, question: str, codeframe: Codeframe | str, *,
              language: str | None = None) -> CodedText:
    """Code the open answers of ``question`` with a codeframe.

    Parameters
    ----------
    df : DataFrame
        One row per respondent (not modified).
    question : str
        The column of open answers.
    codeframe : Codeframe or path
        A loaded codeframe, or the path of its YAML file.
    language : str, optional
        Use only the rules of this language (``"en"``, ``"zh"``). Default: the rules of every
        language apply to every answer (a Chinese rule never matches English text, and the
        other way round).

    Returns
    -------
    CodedText
        ``.data``: a copy of ``df`` with the float columns ``{question}_{code}`` for each
        theme, net, the other code and the no-comment flag: 1 coded, 0 not, NaN where the
        answer is missing. Answers that say nothing (empty, "nothing", "n/a", "none", "无",
        "没有" ...) get only the no-comment flag; answers that say something and match no
        theme get the other code. ``.audit``: the rule behind every code. The columns are a
        multi-response question: ``estimate(coded.data, coded.theme_columns,
        stat="proportion")`` and ``banner(coded.data, question, ..., **coded.table_args())``
        use them as any multi question.

    Raises
    ------
    TextError
        Unknown column, a column that would be overwritten, a language without rules, or a
        codeframe declared for other questions.

    Examples
    --------
    >>> from surveykit.text import load_codeframe
    >>> cf = load_codeframe("questionnaires/pc_customers.codeframe.yaml")
    >>> df = pd.DataFrame({"pain_text": ["Battery drains fast and the FAN is loud", "n/a",
    ...                                  None, "电池续航太短", "Love the keyboard"]})
    >>> coded = code_text(df, "pain_text", cf)
    >>> coded.data[["pain_text_battery", "pain_text_heat", "pain_text_praise",
    ...             "pain_text_none"]]
       pain_text_battery  pain_text_heat  pain_text_praise  pain_text_none
    0                1.0             1.0               0.0             0.0
    1                0.0             0.0               0.0             1.0
    2                NaN             NaN               NaN             NaN
    3                1.0             0.0               0.0             0.0
    4                0.0             0.0               1.0             0.0
    >>> coded.audit.query("row == 0")[["code", "rule", "pattern", "matched"]]
          code       rule  pattern  matched
    0  battery  word (en)  battery  battery
    1     heat  word (en)      fan      fan
    """
    if not isinstance(df, pd.DataFrame):
        raise TextError(f"df must be a pandas DataFrame, not {type(df).__name__}")
    if not isinstance(codeframe, Codeframe):
        codeframe = load_codeframe(codeframe)
    check_columns(df, [question], error=TextError, what="open question")
    declared = codeframe.model.questions
    if declared and question not in declared:
        raise TextError(f"codeframe {codeframe.id!r} ({codeframe.source}) codes "
                        f"{', '.join(map(repr, declared))}, not {question!r}; add {question} to "
                        "its questions: list if it fits, or use another codeframe")
    langs = codeframe.languages
    if language is not None and language not in langs:
        raise TextError(f"language {language!r} has no rules in codeframe {codeframe.id!r}; "
                        f"use one of {', '.join(map(repr, langs))} or None for all")
    columns = codeframe.columns(question)
    clash = [c for c in columns.values() if c in df.columns]
    if clash:
        raise TextError(f"the data already hold column(s) {', '.join(map(repr, clash[:5]))}; "
                        "drop the earlier coding first (coding never overwrites a column)")
    answers = prepare_answers(df[question])
    texts = answers.texts
    matcher = Matcher(codeframe, [language] if language else langs)
    themes, first, has_alnum = match_answers(texts, matcher)
    keys = codeframe.no_comment_keys()
    longest = max(map(len, keys), default=0)
    silent = ~has_alnum
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    for i in np.flatnonzero(has_alnum & (lengths <= longest + 40)).tolist():
        silent[i] = is_no_comment(texts[i], keys, longest)
    themes[silent] = False
    keep = ~silent[first[0]]
    first = tuple(a[keep] for a in first)
    other = ~silent & ~themes.any(axis=1)
    T = codeframe.theme_ids
    codes = codeframe.codes()
    cols = {}
    for code, kind in zip(codes["code"], codes["kind"], strict=True):
        if kind == "theme":
            cols[code] = themes[:, T.index(code)]
        elif kind == "net":
            cols[code] = themes[:, [T.index(m) for m in codeframe.members(code)]].any(axis=1)
        else:
            cols[code] = other if kind == "other" else silent
    inv = answers.inverse
    present = inv >= 0
    values = np.column_stack(list(cols.values())).astype(float)
    block = np.full((len(df), len(cols)), np.nan)
    block[present] = values[inv[present]]
    out = pd.concat([df.copy(), pd.DataFrame(block, index=df.index,
                                              columns=[columns[c] for c in cols])], axis=1)
    index = df.index

    def audit() -> pd.DataFrame:
        return _audit(index, inv, texts, first, matcher, codeframe, silent, other)

    return CodedText(out, audit, codeframe, question, language,
                     n_missing=int((~present).sum()), n_distinct=len(texts))


def _audit(index, inv, texts, first, matcher: Matcher, cf: Codeframe, silent, other
           ) -> pd.DataFrame:
    """One row per (respondent row, code): the distinct answers' first hits, then the
    no-comment and other codes, expanded to the rows that gave each answer."""
    rules = matcher.rules
    ti, th, rule, pos, end = first
    literal = np.array([r.kind in ("word", "phrase") for r in rules] + [False], dtype=bool)
    matched = np.array([r.text for r in rules] + [""], dtype=object)[rule]
    sliced = np.flatnonzero(~literal[rule])  # stems and patterns: the text they matched
    matched[sliced] = [texts[i][p:e] for i, p, e in zip(ti[sliced].tolist(),
                                                         pos[sliced].tolist(),
                                                         end[sliced].tolist(), strict=True)]
    code_pos = {c: k for k, c in enumerate(cf.codes()["code"])}
    theme_code = np.array([code_pos[t] for t in cf.theme_ids], dtype=np.int64)
    nc, oth = np.flatnonzero(silent), np.flatnonzero(other)
    text = np.concatenate([ti, nc, oth])
    code = np.concatenate([theme_code[th], np.full(len(nc), code_pos[cf.model.no_comment.id]),
                           np.full(len(oth), code_pos[cf.model.other.id])])
    labels = [r.label for r in rules] + ["no comment", "no rule matched"]
    written = [r.written for r in rules] + ["", ""]
    R = len(rules)
    rule_ix = np.concatenate([rule, np.full(len(nc), R), np.full(len(oth), R + 1)])
    matched = np.concatenate([matched, np.array([texts[i] for i in nc.tolist()], dtype=object),
                              np.full(len(oth), "", dtype=object)])
    # expand distinct answers to the rows that gave them
    present = np.flatnonzero(inv >= 0)
    by_text = present[np.argsort(inv[present], kind="stable")]
    counts = np.bincount(inv[present], minlength=len(texts))
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rep = counts[text]
    which = np.repeat(np.arange(len(text)), rep)
    offs = np.arange(int(rep.sum())) - np.repeat(np.cumsum(rep) - rep, rep)
    rows = by_text[np.repeat(starts[text], rep) + offs]
    order = np.lexsort((code[which], rows))
    rows, which = rows[order], which[order]
    code_names = cf.codes()["code"].tolist()
    kinds = cf.codes()["kind"].replace({"net": "theme"}).tolist()
    label_cats, label_codes = np.unique(np.array(labels, dtype=object), return_inverse=True)
    written_cats, written_codes = np.unique(np.array(written, dtype=object),
                                            return_inverse=True)
    c = code[which]
    r = rule_ix[which]
    kind_cats = ["theme", "no_comment", "other"]
    kind_codes = np.array([kind_cats.index(k) for k in kinds], dtype=np.int64)
    return pd.DataFrame({
        "row": np.asarray(index)[rows],
        "code": pd.Categorical.from_codes(c, categories=code_names),
        "kind": pd.Categorical.from_codes(kind_codes[c], categories=kind_cats),
        "rule": pd.Categorical.from_codes(label_codes[r], categories=label_cats),
        "pattern": pd.Categorical.from_codes(written_codes[r], categories=written_cats),
        "matched": matched[which],
    })
