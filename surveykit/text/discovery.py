"""Find themes a codeframe misses, and the answers that show a theme best.

:func:`suggest_themes` factorises the TF-IDF matrix of the answers no theme codes (NMF,
scikit-learn) into ``k`` groups of words that go together; each suggestion has its top terms,
its share of those answers, example answers (masked) and a draft rule, and
:func:`write_codeframe_draft` writes the suggestions as a codeframe file that loads.
:func:`typical_quotes` picks the answers closest to the centre of a theme (TF-IDF cosine),
not the first ones.

Words are found as for coding: letters (English and other languages written with spaces)
and jieba's segmentation for Chinese; common words (scikit-learn's English list and a short
Chinese list) are left out, and pairs of neighbouring words are terms too.
"""

from __future__ import annotations

import functools
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._util import atomic_write, check_columns, short_repr, shorten
from ..errors import TextError
from ._lang import CJK_RANGES, has_cjk, no_comment_keys, normalise_many, segmenter
from ._stop_words import ENGLISH_STOP_WORDS
from .codeframe import Codeframe, codeframe_from_text
from .masking import mask_personal_data

__all__ = ["suggest_themes", "ThemeSuggestion", "ThemeSuggestions", "write_codeframe_draft",
           "typical_quotes", "tokens"]

_WORD = re.compile(rf"[{CJK_RANGES}]+|[^\W\d_{CJK_RANGES}]+")
_ZH_STOP = frozenset("的 了 是 我 也 都 很 就 有 在 和 不 太 还 吗 呢 吧 啊 又 这 "
                     "那 个 着 给 让 被 把 要 会 能 说 而且 但是 但 觉得 我们 你们 "
                     "他们 就是 还是 然后 因为 所以 如果 非常 比较 有点 一点 一下 "
                     "一个 这个 那个 什么 怎么 总体 来说 说实话 另外 目前 来看 "
                     "总的来说 总体来说".split())


@functools.lru_cache(maxsize=1)
def _en_stop() -> frozenset[str]:
    return ENGLISH_STOP_WORDS | {"ve", "ll", "don", "didn", "doesn", "isn", "im"}


def tokens(text: str, *, pairs: bool = True) -> list[str]:
    """The terms of a normalised answer: words without common ones, and (``pairs``) each
    two neighbouring words ("fan noise"; Chinese pairs are written together, "风扇噪音").

    Examples
    --------
    >>> tokens("the fan gets loud under load")
    ['fan', 'gets', 'loud', 'load', 'fan gets', 'gets loud']
    >>> tokens("风扇噪音很大")
    ['风扇', '噪音', '很大', '风扇噪音', '噪音很大']
    """
    stop_en = _en_stop()
    seq: list[tuple[str, bool] | None] = []
    end = 0
    for m in _WORD.finditer(text):
        if text[end:m.start()].strip():  # punctuation between: no pair across it
            seq.append(None)
        end = m.end()
        w = m.group()
        if has_cjk(w):
            for t in segmenter().lcut(w):
                seq.append(None if t in _ZH_STOP or not t.strip() else (t, True))
        elif len(w) >= 2 and w not in stop_en:
            seq.append((w, False))
        else:
            seq.append(None)
    out = [t for t, _ in filter(None, seq)]
    if pairs:
        for a, b in zip(seq, seq[1:], strict=False):
            if a is not None and b is not None:
                out.append(a[0] + ("" if a[1] and b[1] else " ") + b[0])
    return out


def _words(text: str) -> list[str]:
    return tokens(text, pairs=False)


def _pairs(texts, weights, terms: set[str], min_count: int = 2) -> list[str]:
    """Neighbouring word pairs of ``texts`` made of two of ``terms``, most frequent first."""
    counts: dict[str, int] = {}
    for text, w in zip(texts, weights, strict=True):
        for p in set(tokens(text)):
            if p not in terms and all(x in terms for x in _split_pair(p)):
                counts[p] = counts.get(p, 0) + int(w)
    return [p for p, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            if c >= min_count]


def _split_pair(pair: str) -> list[str]:
    if " " in pair:
        return pair.split(" ")
    return tokens(pair, pairs=False) if len(tokens(pair, pairs=False)) == 2 else [pair, ""]


@dataclass
class ThemeSuggestion:
    """One proposed theme.

    Attributes
    ----------
    id, label : str
        A draft id (letters and digits) and label (its top three terms).
    terms : list of str
        The terms that weigh most in the theme, highest first.
    share : float
        Share of the analysed answers for which this theme weighs most (unweighted).
    n : int
        Those answers.
    examples : list of str
        Typical answers (masked, shortened).
    words, phrases : dict
        The draft rule, per language: single words and word pairs among the top terms.
    """

    id: str
    label: str
    terms: list[str]
    share: float
    n: int
    examples: list[str]
    words: dict[str, list[str]] = field(default_factory=dict)
    phrases: dict[str, list[str]] = field(default_factory=dict)

    def rule(self) -> dict:
        """The draft ``match:`` block of this theme."""
        out: dict = {}
        for lang in sorted(set(self.words) | set(self.phrases)):
            block = {}
            if self.words.get(lang):
                block["words"] = list(self.words[lang])
            if self.phrases.get(lang):
                block["phrases"] = list(self.phrases[lang])
            out[lang] = block
        return out


class ThemeSuggestions(list):
    """The suggestions of :func:`suggest_themes` (a list, largest share first), with what
    was analysed: ``question``, ``n_answers``, ``source`` (a sentence)."""

    def __init__(self, items, *, question: str, n_answers: int, source: str, k: int):
        super().__init__(items)
        self.question, self.n_answers, self.source, self.k = question, n_answers, source, k

    def to_frame(self) -> pd.DataFrame:
        """One row per suggestion: ``id, label, share, n, terms, examples, rule``."""
        return pd.DataFrame([{"id": s.id, "label": s.label, "share": s.share, "n": s.n,
                              "terms": ", ".join(s.terms), "examples": " | ".join(s.examples),
                              "rule": json.dumps(s.rule(), ensure_ascii=False)}
                             for s in self])

    def summary(self) -> str:
        lines = [f"{len(self)} suggested themes from {self.n_answers:,} {self.source} "
                 f"(TF-IDF + NMF, k = {self.k}); shares are of those answers, unweighted:"]
        for s in self:
            lines.append(f"  {s.id}: {s.share:.0%} ({s.n:,}) {', '.join(s.terms[:6])}"
                         + (f" - e.g. \"{s.examples[0]}\"" if s.examples else ""))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return short_repr(self)

    def _repr_html_(self) -> str:
        return (f"<p>{self.summary().splitlines()[0]}</p>"
                + self.to_frame().drop(columns="rule").to_html(
                    index=False, float_format=lambda v: f"{v:.1%}"))


def _answers(df: pd.DataFrame, question: str, codeframe: Codeframe | None):
    """The answers to analyse (raw and normalised) and a sentence saying which they are."""
    check_columns(df, [question], error=TextError, what="open question")
    if codeframe is not None:
        from .coding import code_text

        coded = code_text(df[[question]], question, codeframe)
        keep = coded.data[coded.columns[codeframe.model.other.id]].to_numpy() == 1
        raw = df[question][keep]
        source = (f"answers to {question!r} that no theme of codeframe {codeframe.id!r} codes")
        norm = normalise_many([str(v) for v in raw])
        return raw, norm, source
    raw = df[question].dropna()
    raw = raw[[isinstance(v, str) for v in raw]]
    norm = normalise_many(raw.tolist())
    keys = no_comment_keys()
    drop = np.array([re.sub(r"[\W_]+", "", t) in keys or not re.search(r"[^\W_]", t)
                     for t in norm], dtype=bool)
    return raw[~drop], [t for t, d in zip(norm, drop, strict=True) if not d], \
        f"answers to {question!r} (no comments left out)"


def suggest_themes(df: pd.DataFrame, question: str, k: int = 8, *, seed: int = 0,
                   codeframe: Codeframe | None = None, n_terms: int = 10, n_examples: int = 3,
                   max_answers: int = 20_000) -> ThemeSuggestions:
    """Propose ``k`` themes from the answers no theme codes (TF-IDF + NMF).

    Parameters
    ----------
    df : DataFrame
        One row per respondent (not modified).
    question : str
        The column of open answers.
    k : int
        Number of themes to propose.
    seed : int
        Seed of the sample (when there are more than ``max_answers`` answers) and of NMF.
    codeframe : Codeframe, optional
        Analyse only the answers this codeframe codes as "other" (no theme). Without one,
        every answer that says something.
    n_terms, n_examples : int
        Terms and example answers per suggestion.
    max_answers : int
        Analyse a random sample of this many answers when there are more.

    Returns
    -------
    ThemeSuggestions
        A list of :class:`ThemeSuggestion`, largest share first.

    Raises
    ------
    TextError
        Unknown column, ``k`` < 1, or too few answers (fewer than ``3 k``) or words.

    Examples
    --------
    >>> from surveykit.text.synthetic import planted_answers
    >>> d = planted_answers(600, mix={"battery": 0.5, "heat": 0.5}, seed=2, noise=0)
    >>> s = suggest_themes(d, "answer", k=2)
    >>> sorted(any(t in x.terms for t in ("battery", "fan")) for x in s)
    [True, True]
    """
    from sklearn.decomposition import NMF
    from sklearn.feature_extraction.text import TfidfVectorizer

    if not isinstance(k, int | np.integer) or k < 1:
        raise TextError(f"k must be a whole number >= 1, not {k!r}")
    raw, norm, source = _answers(df, question, codeframe)
    if len(norm) > max_answers:
        pick = np.sort(np.random.default_rng(seed).choice(len(norm), max_answers,
                                                          replace=False))
        raw, norm = raw.iloc[pick], [norm[i] for i in pick]
        source += f", a random sample of {max_answers:,}"
    if len(norm) < 3 * k:
        raise TextError(f"{len(norm)} {source}: too few to propose {k} themes (at least "
                        f"{3 * k} are needed); lower k or add answers")
    # word weights (IDF) from all answers; the factorisation over the distinct answers (a
    # sentence many wrote is one idea, not many: repeats must not make themes of their own)
    distinct, inverse = np.unique(np.asarray(norm, dtype=object), return_inverse=True)
    counts = np.bincount(inverse)
    vec = TfidfVectorizer(analyzer=_words, min_df=2, max_df=0.5, sublinear_tf=True)
    try:
        X = vec.fit(norm).transform(distinct)
    except ValueError:
        X = None
    if X is None or X.shape[1] < k:
        raise TextError(f"the {len(norm)} {source} share fewer than {k} words used in at "
                        "least two different answers; lower k or add answers")
    nmf = NMF(n_components=k, init="nndsvda", random_state=seed, max_iter=1000)
    W = nmf.fit_transform(X)
    H = nmf.components_
    vocab = vec.get_feature_names_out()
    top = W.argmax(axis=1)
    top[W.max(axis=1) <= 0] = -1
    first_raw = {}
    for i, j in enumerate(inverse):
        first_raw.setdefault(j, i)
    taken = set(codeframe.theme_ids + codeframe.net_ids) if codeframe is not None else set()
    out = []
    for j in range(k):
        order = np.argsort(-H[j])[:n_terms]
        terms = [str(vocab[i]) for i in order if H[j, i] > 0]
        members = np.flatnonzero(top == j)
        strength = W[members, j] / (W[members].sum(axis=1) + 1e-12) * W[members, j]
        ranked = members[np.argsort(-strength, kind="stable")]
        examples = [shorten(mask_personal_data(str(raw.iloc[first_raw[i]])), 160)
                    for i in ranked[:n_examples]]
        pairs = _pairs([distinct[i] for i in members], counts[members], set(terms))
        words: dict[str, list[str]] = {}
        phrases: dict[str, list[str]] = {}
        for term in terms[:6]:
            words.setdefault("zh" if has_cjk(term) else "en", []).append(term)
        for term in pairs[:3]:
            phrases.setdefault("zh" if has_cjk(term) else "en", []).append(term)
        n_j = int(counts[members].sum())
        out.append(ThemeSuggestion(_draft_id(terms, j, taken), " / ".join(terms[:3]),
                                   terms + [p for p in pairs if p not in terms],
                                   n_j / len(norm), n_j, examples, words, phrases))
    out.sort(key=lambda s: -s.share)
    return ThemeSuggestions(out, question=question, n_answers=len(norm), source=source, k=k)


def _draft_id(terms: list[str], j: int, taken: set[str]) -> str:
    base = next((re.sub(r"[^A-Za-z0-9]", "", t) for t in terms
                 if re.fullmatch(r"[A-Za-z][A-Za-z0-9]{1,30}", t)), f"theme{j + 1}")
    code, n = base, 2
    while code in taken:
        code, n = f"{base}{n}", n + 1
    taken.add(code)
    return code


# -- the draft file ---------------------------------------------------------------------------
def _scalar(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    return json.dumps(str(v), ensure_ascii=False)  # a JSON string is a YAML quoted scalar


def _flow(items: list) -> str:
    return "[" + ", ".join(_scalar(v) for v in items) + "]"


def write_codeframe_draft(suggestions: ThemeSuggestions, path: str | os.PathLike, *,
                          id: str | None = None, base: Codeframe | None = None,
                          overwrite: bool = False) -> Path:
    """Write suggestions as a codeframe YAML draft (checked by loading it before writing).

    Parameters
    ----------
    suggestions : ThemeSuggestions
        From :func:`suggest_themes`.
    path : str or path-like
        The file to write, e.g. ``questionnaires/pc_customers.codeframe.draft.yaml``.
    id : str, optional
        The draft's id (default ``{question}_draft``).
    base : Codeframe, optional
        A codeframe whose themes, nets and codes come first (the suggestions are added after
        them), so that the draft can replace it once reviewed.
    overwrite : bool
        Replace an existing file (refused by default: a reviewed codeframe is precious).

    Returns
    -------
    Path

    Examples
    --------
    >>> import tempfile
    >>> from surveykit.text import load_codeframe
    >>> from surveykit.text.synthetic import planted_answers
    >>> d = planted_answers(300, mix={"battery": 0.5, "price": 0.5}, seed=1, noise=0)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = write_codeframe_draft(suggest_themes(d, "answer", k=2), f"{tmp}/draft.yaml")
    ...     len(load_codeframe(p).themes)
    2
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise TextError(f"{path} exists; give another file name for the draft, or "
                        "overwrite=True to replace it")
    if not isinstance(suggestions, ThemeSuggestions):
        raise TextError("suggestions must come from suggest_themes()")
    q = suggestions.question
    code = id or f"{q}_draft"
    lines = [f"# Codeframe draft for {q}: {len(suggestions)} themes suggested by "
             "surveykit.text.suggest_themes",
             f"# from {suggestions.n_answers:,} {suggestions.source}.",
             "# Review every label and rule before use: the words come from the answers, "
             "not from a person.",
             f"id: {_scalar(code)}",
             f"title: {_scalar(f'Draft themes of {q}')}",
             f"questions: {_flow([q])}"]
    m = base.model if base is not None else None
    if m is not None and m.nets:
        lines.append("nets:")
        lines += [f"  - {{id: {n.id}, label: {_scalar(n.label)}}}" for n in m.nets]
    lines.append("themes:")
    for t in (m.themes if m is not None else []):
        lines += _theme_lines(t.id, t.label, t.net, {lang: r.model_dump(exclude_defaults=True)
                                                     for lang, r in t.match.items()})
    taken = set(base.theme_ids + base.net_ids) if base is not None else set()
    for s in suggestions:
        sid = s.id
        n = 2
        while sid in taken:
            sid, n = f"{s.id}{n}", n + 1
        taken.add(sid)
        lines.append(f"  # suggested: {s.share:.0%} of the analysed answers ({s.n:,}); "
                     f"terms: {', '.join(s.terms)}")
        for e in s.examples:
            lines.append(f"  #   e.g. {' '.join(e.split())}")
        lines += _theme_lines(sid, s.label, None, s.rule())
    if m is not None:
        lines.append(f"other: {{id: {m.other.id}, label: {_scalar(m.other.label)}}}")
        nc = m.no_comment
        lines.append(f"no_comment: {{id: {nc.id}, label: {_scalar(nc.label)}, builtin: "
                     f"{_scalar(nc.builtin)}}}")
        if nc.answers:
            lines[-1] = lines[-1][:-1] + ", answers: {" + ", ".join(
                f"{lang}: {_flow(v)}" for lang, v in nc.answers.items()) + "}}"
    text = "\n".join(lines) + "\n"
    codeframe_from_text(text, source=str(path))  # the draft must load
    atomic_write(path, text)
    return path


def _theme_lines(code: str, label: str, net: str | None, match: dict) -> list[str]:
    out = [f"  - id: {code}", f"    label: {_scalar(label)}"]
    if net:
        out.append(f"    net: {net}")
    out.append("    match:")
    for lang, rules in match.items():
        out.append(f"      {lang}:")
        for kind in ("words", "phrases", "regex"):
            if rules.get(kind):
                out.append(f"        {kind}: {_flow(rules[kind])}")
        ex = rules.get("exclude") or {}
        ex = {k: v for k, v in ex.items() if v}
        if ex:
            out.append("        exclude:")
            out += [f"          {k}: {_flow(v)}" for k, v in ex.items()]
    return out


# -- typical answers --------------------------------------------------------------------------
def typical_quotes(df: pd.DataFrame, question: str, theme_column: str, n: int = 3, *,
                   min_words: int = 3, mask: bool = True) -> pd.DataFrame:
    """The ``n`` answers that show a theme best: closest (TF-IDF cosine) to the centre of all
    answers coded to it, each different, personal data masked.

    Parameters
    ----------
    df : DataFrame
        One row per respondent, with the open answers and the theme's 0/1 column.
    question : str
        The column of open answers.
    theme_column : str
        The theme's column, e.g. ``pain_text_battery`` (1 = coded).
    n : int
        Number of quotes.
    min_words : int
        Prefer answers of at least this many words (shorter ones are used only when there
        are not enough longer ones).
    mask : bool
        Mask e-mail addresses, phone numbers and id-like numbers (default).

    Returns
    -------
    DataFrame
        ``quote, similarity, count, row``: the answer (as one respondent wrote it, masked),
        its cosine similarity to the theme's centre, how many respondents gave the same
        answer (normalised), and the index label of one of them.

    Examples
    --------
    >>> d = pd.DataFrame({"c": ["battery ok", "Battery dies fast, call 138 1234 5678",
    ...                         "the battery dies really fast", "love it", "battery dies",
    ...                         "BATTERY DIES!"],
    ...                   "c_battery": [1, 1, 1, 0, 1, 1]})
    >>> typical_quotes(d, "c", "c_battery", n=2)[["quote", "count"]]
                                 quote  count
    0  Battery dies fast, call [phone]      1
    1     the battery dies really fast      1
    """
    check_columns(df, [question, theme_column], error=TextError)
    if not isinstance(n, int | np.integer) or n < 1:
        raise TextError(f"n must be a whole number >= 1, not {n!r}")
    coded = pd.to_numeric(df[theme_column], errors="coerce").to_numpy() == 1
    answers = df[question][coded]
    answers = answers[[isinstance(v, str) and bool(v.strip()) for v in answers]]
    empty = pd.DataFrame({"quote": pd.Series(dtype=object), "similarity": pd.Series(dtype=float),
                          "count": pd.Series(dtype=int), "row": pd.Series(dtype=object)})
    if answers.empty:
        return empty
    norm = pd.Series(normalise_many(answers.tolist()), index=answers.index)
    groups = norm.groupby(norm, sort=False)
    distinct = list(groups.groups)
    counts = groups.size().reindex(distinct).to_numpy()
    # the most common raw spelling of each distinct answer, and one row that gave it
    raw = answers.groupby(norm, sort=False).agg(lambda s: s.value_counts().index[0])
    first_row = pd.Series(norm.index, index=norm.values).groupby(level=0, sort=False).first()
    analyzer = functools.partial(tokens, pairs=False)
    words = np.array([len(analyzer(t)) for t in distinct])
    sim = _centre_similarity(distinct, counts, analyzer)
    long_enough = words >= min_words
    order = np.lexsort((-counts, -sim, ~long_enough))[:n]
    return pd.DataFrame({
        "quote": [mask_personal_data(raw[distinct[i]]) if mask else raw[distinct[i]]
                  for i in order],
        "similarity": sim[order],
        "count": counts[order].astype(int),
        "row": [first_row[distinct[i]] for i in order],
    })


def _centre_similarity(texts: list[str], counts: np.ndarray, analyzer) -> np.ndarray:
    """Cosine similarity of each text's TF-IDF vector to the centre of all (each text
    counted ``counts`` times); zeros when no text has a word.

    The TF-IDF of scikit-learn's ``TfidfVectorizer(analyzer=analyzer, sublinear_tf=True)``
    (``1 + log tf``, smoothed ``idf = 1 + log((1 + n) / (1 + df))``, rows of unit length),
    computed with the same operations in the same order, so the similarities are the same
    numbers (``tests/test_imports.py``), without importing scikit-learn (about 1 s) for
    every report page. The entries of a text are in the order each term was first seen.

    >>> _centre_similarity(["fan noise", "fan", "screen"], np.array([2, 1, 1]), str.split)
    array([0.89778807, 0.76179344, 0.34459423])
    """
    vocab: dict[str, int] = {}
    rows, terms, tf = [], [], []
    for i, text in enumerate(texts):
        seen: dict[int, int] = {}
        for term in analyzer(text):
            j = vocab.setdefault(term, len(vocab))
            seen[j] = seen.get(j, 0) + 1
        for j in sorted(seen):
            rows.append(i)
            terms.append(j)
            tf.append(seen[j])
    n = len(texts)
    if not vocab:
        return np.zeros(n)
    rows, terms = np.asarray(rows, dtype=np.intp), np.asarray(terms, dtype=np.intp)
    idf = np.full(len(vocab), n + 1.0) / (np.bincount(terms, minlength=len(vocab)) + 1.0)
    x = (np.log(np.asarray(tf, dtype=float)) + 1.0) * (np.log(idf) + 1.0)[terms]
    x /= np.sqrt(np.bincount(rows, x * x, minlength=n))[rows]
    centre = np.bincount(terms, x * counts[rows], minlength=len(vocab)) / counts.sum()
    norm = np.linalg.norm(centre[[vocab[t] for t in sorted(vocab)]])  # terms sorted, as sklearn
    if not norm > 0:
        return np.zeros(n)
    return np.bincount(rows, x * centre[terms], minlength=n) / norm
