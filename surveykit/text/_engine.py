"""The matcher behind :func:`surveykit.text.code_text`: every rule over every distinct answer.

How it is fast (a million answers and fifty themes in seconds):

- answers are normalised in one pass over all of them joined, then de-duplicated;
- the distinct answers are joined into blocks of a few million characters, read as a numpy
  array of code points;
- word and phrase rules: at each word start (and, for rules that begin with a Chinese
  character, at each occurrence of such a first character) a hash of the next 1-4 characters
  is looked up in a table of the rules' beginnings; the few places that pass are compared
  with the rule character by character, then checked for a word boundary at the end. No
  Python loop runs over answers or positions;
- regular expressions: the literal text every match must contain (e.g. ``took`` or
  ``waited`` in ``\\b(took|waited)\\b.{0,40}\\bdays?\\b``) is read from Python's regex parser
  and searched with ``str.find``; the theme's patterns, as one alternation, then run on those
  answers only. Patterns without such text run once over the joined block;
- Chinese words found this way are confirmed against jieba's segmentation of the block of
  text around them (cached per block), so only answers that could match are segmented.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._lang import TABLE_SIZE, alnum_table, jieba_block_re, latin_word_table, normalise_many
from ._lang import segmenter as _segmenter
from ._rules import Rule, needs_single_answer
from .codeframe import Codeframe

__all__ = ["Answers", "prepare_answers", "Matcher", "match_answers"]

_B = np.uint64(0x9E3779B97F4A7C15)
_MIX = np.uint64(0xBF58476D1CE4E5B9)
_SALT = np.uint64(0x94D049BB133111EB)
_BITS = 20
_SHIFT = np.uint64(64 - _BITS)
_MASK64 = (1 << 64) - 1
_CHUNK = 4_000_000  # characters of joined answers per block


# -- answers ----------------------------------------------------------------------------------
@dataclass
class Answers:
    """The distinct normalised answers of a text column and the map back to its rows."""

    texts: list[str]          # distinct normalised answers
    inverse: np.ndarray       # for each row of the data: index into texts, -1 = missing


def prepare_answers(values: pd.Series) -> Answers:
    """Normalise and de-duplicate a column of answers (missing values -> -1; numbers are
    read as their text)."""
    missing = values.isna().to_numpy()
    inverse = np.full(len(values), -1, dtype=np.int64)
    raw_codes, raw_uniques = pd.factorize(values[~missing].to_numpy(dtype=object))
    norm = normalise_many([u if isinstance(u, str) else str(u) for u in raw_uniques])
    norm_codes, norm_uniques = pd.factorize(np.asarray(norm, dtype=object))
    inverse[~missing] = norm_codes[raw_codes]
    return Answers(list(norm_uniques), inverse)


# -- literal rules ----------------------------------------------------------------------------
def _py_prefix_hash(codes: list[int]) -> int:
    h, p = 0, 1
    for c in codes:
        h = (h + (c + 1) * p) & _MASK64
        p = (p * int(_B)) & _MASK64
    return h


def _slot(h, L):
    with np.errstate(over="ignore"):
        return ((h + np.uint64(L) * _SALT) * _MIX) >> _SHIFT


def _any_slot(h):
    with np.errstate(over="ignore"):
        return (h * _MIX) >> _SHIFT


class _Literals:
    """Word and phrase rules that start at the same kind of place, indexed by a hash of their
    first ``min(L, 4)`` characters (and their length L)."""

    def __init__(self, rules: list[tuple[int, Rule]]):
        by_text: dict[str, list[int]] = {}
        for k, r in rules:
            by_text.setdefault(r.text, []).append(k)
        self.texts = list(by_text)
        self.lens = np.array([len(t) for t in self.texts], dtype=np.int64)
        ptr = np.zeros(len(self.texts) + 1, dtype=np.int64)
        ptr[1:] = np.cumsum([len(v) for v in by_text.values()])
        self.rule_ptr = ptr
        self.rule_ids = np.array([k for v in by_text.values() for k in v], dtype=np.int64)
        self.any = {}
        self.slots = np.full(1 << _BITS, -1, dtype=np.int32)
        self.shared: dict[int, list[int]] = {}
        self.by_k: dict[int, list[int]] = {}
        self.codes: dict[int, np.ndarray] = {}   # L -> literal code points (m, L)
        self.local: dict[int, np.ndarray] = {}   # L -> global literal index of each row
        for L in sorted(set(self.lens.tolist())):
            idx = np.flatnonzero(self.lens == L)
            self.local[L] = idx
            self.codes[L] = np.array([[ord(c) for c in self.texts[i]] for i in idx],
                                     dtype=np.uint32).reshape(len(idx), L)
            k = min(L, 4)
            self.by_k.setdefault(k, []).append(L)
            table = self.any.setdefault(k, np.zeros(1 << _BITS, dtype=bool))
            for row, i in enumerate(idx):
                h = np.uint64(_py_prefix_hash([ord(c) for c in self.texts[i][:k]]))
                table[int(_any_slot(h))] = True
                s = int(_slot(h, L))
                if self.slots[s] == -1:
                    self.slots[s] = row
                else:  # two literals of one length share a slot: look at both
                    if self.slots[s] >= 0:
                        self.shared[s] = [int(self.slots[s])]
                    self.shared[s].append(row)
                    self.slots[s] = -2
        keys = sorted(self.shared)
        self._shared_keys = np.array(keys, dtype=np.int64)
        self._shared_ptr = np.zeros(len(keys) + 1, dtype=np.int64)
        self._shared_ptr[1:] = np.cumsum([len(self.shared[k]) for k in keys])
        self._shared_rows = np.array([r for k in keys for r in self.shared[k]], dtype=np.int64)

    def find(self, P: np.ndarray, codes: np.ndarray, N: int):
        """Yield (positions, global literal indexes, L) of the literals found starting at
        positions ``P`` of ``codes`` (padded with 4 zeros after the ``N`` real ones)."""
        if not len(P) or not self.texts:
            return
        h = np.zeros(len(P), dtype=np.uint64)
        power = np.uint64(1)
        for k in range(1, 5):
            with np.errstate(over="ignore"):
                h = h + (codes[P + (k - 1)].astype(np.uint64) + np.uint64(1)) * power
                power = power * _B
            if k not in self.by_k:
                continue
            keep = self.any[k][_any_slot(h)]
            Pk, hk = P[keep], h[keep]
            for L in self.by_k[k]:
                rows = self.slots[_slot(hk, L)]
                hit = rows != -1
                Pc, rows = Pk[hit], rows[hit]
                if (rows == -2).any():
                    Pc, rows = self._expand_shared(Pc, rows, hk[hit], L)
                fits = Pc + L <= N
                Pc, rows = Pc[fits], rows[fits]
                if not len(Pc):
                    continue
                same = (codes[Pc[:, None] + np.arange(L)] == self.codes[L][rows]).all(axis=1)
                yield Pc[same], self.local[L][rows[same]], L

    def _expand_shared(self, P, rows, h, L):
        """Candidates in a slot that two literals of length L share: one per literal."""
        shared = rows == -2
        keys = self._shared_keys
        s = _slot(h[shared], L).astype(np.int64)
        at = np.searchsorted(keys, s)
        counts = self._shared_ptr[at + 1] - self._shared_ptr[at]
        offs = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        extra = self._shared_rows[np.repeat(self._shared_ptr[at], counts) + offs]
        return (np.concatenate([P[~shared], np.repeat(P[shared], counts)]),
                np.concatenate([rows[~shared], extra]))

    def rules_of(self, lit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(which hit, rule) pairs for the literal indexes ``lit`` of hits."""
        counts = self.rule_ptr[lit + 1] - self.rule_ptr[lit]
        which = np.repeat(np.arange(len(lit)), counts)
        offs = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        return which, self.rule_ids[np.repeat(self.rule_ptr[lit], counts) + offs]


# -- regular expressions ----------------------------------------------------------------------
def required_literals(pattern: str) -> set[str] | None:
    """Texts one of which every match of ``pattern`` contains (lower case), or None when no
    such text of two characters or more can be read from the pattern.

    Examples
    --------
    >>> sorted(required_literals(r"\\b(took|waited)\\b.{0,40}\\bdays?\\b"))
    ['took', 'waited']
    >>> required_literals(r"\\d{6,}") is None
    True
    """
    try:
        from re import _constants as C
        from re import _parser
        tree = _parser.parse(pattern, re.IGNORECASE)
    except Exception:  # pragma: no cover - other Python versions: no prefilter
        return None
    repeats = {C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", C.MAX_REPEAT)}

    def score(s):
        return (min(map(len, s)), -len(s)) if s else (0, 0)

    def walk(items) -> set[str] | None:
        best, run = None, ""

        def consider(cand):
            nonlocal best
            if cand and min(map(len, cand)) >= 2 and (best is None
                                                       or score(cand) > score(best)):
                best = cand

        for op, av in items:
            if op == C.LITERAL:
                run += chr(av).lower()
                continue
            consider({run} if run else None)
            run = ""
            cand = None
            if op == C.SUBPATTERN:
                cand = walk(av[-1])
            elif op == getattr(C, "ATOMIC_GROUP", None):
                cand = walk(av)
            elif op == C.BRANCH:
                subs = [walk(b) for b in av[1]]
                if all(subs):
                    cand = set().union(*subs)
            elif op in repeats and av[0] >= 1:
                cand = walk(av[2])
            consider(cand)
        consider({run} if run else None)
        return best

    return walk(list(tree))


@dataclass
class _RegexGroup:
    theme: int
    exclude: bool
    pattern: re.Pattern
    rules: list[int]
    literals: set[str] | None
    each: bool  # must see one answer at a time (look-behind, \A, \Z)


@dataclass
class Hits:
    """Matches found: answer, theme, start, rule (-1: one of the theme's regexes), end."""

    parts: list = field(default_factory=list)

    def add(self, text, theme, pos, rule, end):
        n = len(text)
        self.parts.append(tuple(np.broadcast_to(np.asarray(a, dtype=np.int64), (n,))
                                for a in (text, theme, pos, rule, end)))

    def arrays(self):
        if not self.parts:
            return tuple(np.zeros(0, dtype=np.int64) for _ in range(5))
        return tuple(np.concatenate([p[j] for p in self.parts]) for j in range(5))


class Matcher:
    """A codeframe's rules of the chosen languages, compiled for :func:`match_answers`."""

    def __init__(self, codeframe: Codeframe, languages: list[str]):
        self.rules = [r for r in codeframe.rules if r.language in languages]
        self.T = len(codeframe.model.themes)
        table = latin_word_table()
        latin, other = [], []
        for k, r in enumerate(self.rules):
            if r.kind != "regex":
                (latin if table[min(ord(r.text[0]), TABLE_SIZE - 1)] else other).append((k, r))
        self.latin, self.other = _Literals(latin), _Literals(other)
        self.first = np.zeros(TABLE_SIZE, dtype=bool)
        for _, r in other:
            self.first[min(ord(r.text[0]), TABLE_SIZE - 1)] = True
        self.needs_end = np.array([r.boundary_end for r in self.rules], dtype=bool)
        self.is_prefix = np.array([r.kind == "prefix" for r in self.rules], dtype=bool)
        self.is_zh_word = np.array([r.zh_word for r in self.rules], dtype=bool)
        self.rule_theme = np.array([r.theme for r in self.rules], dtype=np.int64)
        self.rule_exclude = np.array([r.exclude for r in self.rules], dtype=bool)
        self.regex: list[_RegexGroup] = []
        for exclude in (False, True):
            for t in range(self.T):
                ks = [k for k, r in enumerate(self.rules) if r.kind == "regex"
                      and r.theme == t and r.exclude == exclude]
                if not ks:
                    continue
                lits = [required_literals(self.rules[k].text) for k in ks]
                pattern = re.compile("|".join(f"(?:{self.rules[k].text})" for k in ks),
                                     re.IGNORECASE | re.MULTILINE)
                each = any(needs_single_answer(self.rules[k].pattern) for k in ks)
                self.regex.append(_RegexGroup(t, exclude, pattern, ks,
                                              set().union(*lits) if all(lits) else None, each))
        self.zh_words = codeframe.zh_words()

    # -- one block of distinct answers
    def scan(self, texts: list[str], offset: int, hits: Hits, excl: Hits, zh: list
             ) -> np.ndarray:
        """Find every rule in ``texts`` (answers ``offset`` ...); returns, per answer,
        whether it holds a letter or digit."""
        s = "\n".join(texts) + "\n"
        real = np.frombuffer(s.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        N = len(real)
        codes = np.concatenate([real, np.zeros(4, dtype=np.uint32)])
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        starts = np.zeros(len(texts), dtype=np.int64)
        np.cumsum(lengths[:-1] + 1, out=starts[1:])
        clipped = np.minimum(real, TABLE_SIZE - 1)
        word = latin_word_table()[clipped]
        has_alnum = np.maximum.reduceat(alnum_table()[clipped].view(np.uint8), starts) > 0
        word_start = np.flatnonzero(word & ~np.concatenate(([False], word[:-1])))
        nonword = np.flatnonzero(~word)
        sources = [(self.latin, word_start)]
        if self.other.texts:
            sources.append((self.other, np.flatnonzero(self.first[clipped])))
        for literals, positions in sources:
            for P, lit, L in literals.find(positions, codes, N):
                which, rules = literals.rules_of(lit)
                P = P[which]
                keep = ~word[P + L] | ~self.needs_end[rules]
                P, rules = P[keep], rules[keep]
                end = P + L
                pre = self.is_prefix[rules]
                if pre.any():  # a stem codes the whole word it begins
                    end[pre] = nonword[np.searchsorted(nonword, end[pre])]
                ti = np.searchsorted(starts, P, side="right") - 1
                local = P - starts[ti]
                zhw = self.is_zh_word[rules]
                if zhw.any():
                    zh.append((ti[zhw] + offset, local[zhw], rules[zhw], L))
                for sink, ex in ((hits, False), (excl, True)):
                    m = ~zhw & (self.rule_exclude[rules] == ex)
                    if m.any():
                        sink.add(ti[m] + offset, self.rule_theme[rules[m]], local[m],
                                 rules[m], end[m] - starts[ti[m]])
        for g in self.regex:
            spans = self._regex_spans(g, s, texts, starts, lengths)
            if spans:
                counts = np.fromiter(map(len, spans.values()), dtype=np.int64,
                                     count=len(spans))
                idx = np.repeat(np.fromiter(spans, dtype=np.int64, count=len(spans)), counts)
                se = np.array([p for v in spans.values() for p in v],
                              dtype=np.int64).reshape(-1, 2)
                rule = g.rules[0] if len(g.rules) == 1 else -1
                (excl if g.exclude else hits).add(idx + offset, g.theme, se[:, 0], rule,
                                                  se[:, 1])
        return has_alnum

    @staticmethod
    def _regex_spans(g: _RegexGroup, s: str, texts, starts, lengths) -> dict:
        spans: dict[int, list] = {}
        if g.literals:  # only the answers holding a text every match needs
            found = []
            for lit in g.literals:
                i = s.find(lit)
                while i >= 0:
                    found.append(i)
                    i = s.find(lit, i + 1)
            cand = np.unique(np.searchsorted(starts, np.array(found, dtype=np.int64),
                                             side="right") - 1) if found else []
            for i in cand:
                v = [m.span() for m in g.pattern.finditer(texts[i])]
                if v:
                    spans[int(i)] = v
            return spans
        if g.each:
            for i, text in enumerate(texts):
                v = [m.span() for m in g.pattern.finditer(text)]
                if v:
                    spans[i] = v
            return spans
        ends = starts + lengths
        rescan = set()
        for m in g.pattern.finditer(s):
            i = int(np.searchsorted(starts, m.start(), side="right") - 1)
            if m.end() > ends[i]:  # ran across answers: look at them one by one
                j = int(np.searchsorted(starts, m.end(), side="right") - 1)
                rescan.update(range(i, j + 1))
            else:
                spans.setdefault(i, []).append((m.start() - starts[i], m.end() - starts[i]))
        for i in rescan:
            spans[i] = [m.span() for m in g.pattern.finditer(texts[i])]
        return {i: v for i, v in spans.items() if v}

    def resolve_rule(self, text: str, theme: int, pos: int) -> tuple[int, int]:
        """(rule, end) of the theme's regular expression that matched ``text`` at ``pos``."""
        for g in self.regex:
            if g.theme == theme and not g.exclude:
                for k in g.rules:
                    m = self.rules[k].pattern.match(text, pos)
                    if m is not None:
                        return k, m.end()
        raise AssertionError("no rule matches where its theme's pattern did")  # pragma: no cover

    def confirm_zh(self, texts: list[str], zh: list, hits: Hits, excl: Hits) -> None:
        """Keep the Chinese word hits that are jieba words of their block, in jieba's search
        mode: the words of the segmentation and the dictionary words inside a long one
        (服务 in 上门服务, never the single character 卡 in 信用卡)."""
        if not zh:
            return
        tok = _segmenter(self.zh_words)
        block_re = jieba_block_re()
        spans: dict[str, frozenset] = {}
        ti = np.concatenate([c[0] for c in zh])
        local = np.concatenate([c[1] for c in zh])
        rules = np.concatenate([c[2] for c in zh])
        L = np.concatenate([np.full(len(c[0]), c[3]) for c in zh])
        keep = np.zeros(len(ti), dtype=bool)
        last, blocks = -1, []
        for j in np.argsort(ti, kind="stable"):
            i = int(ti[j])
            if i != last:
                last = i
                blocks = [(m.start(), m.end(), m.group()) for m in block_re.finditer(texts[i])]
            p, n = int(local[j]), int(L[j])
            for b0, b1, block in blocks:
                if b0 <= p < b1:
                    if p + n <= b1:
                        got = spans.get(block)
                        if got is None:
                            got = spans[block] = frozenset(
                                (a, b) for _, a, b in tok.tokenize(block, mode="search"))
                        keep[j] = (p - b0, p - b0 + n) in got
                    break
        for sink, ex in ((hits, False), (excl, True)):
            m = keep & (self.rule_exclude[rules] == ex)
            if m.any():
                sink.add(ti[m], self.rule_theme[rules[m]], local[m], rules[m], local[m] + L[m])


def match_answers(texts: list[str], matcher: Matcher):
    """Find every theme in the distinct answers ``texts``.

    Returns
    -------
    themes : bool array (len(texts), n_themes)
    first : tuple of int arrays ``(text, theme, rule, pos, end)``
        The first match (by position) that codes each (answer, theme).
    has_alnum : bool array
        Whether each answer holds a letter or digit.
    """
    hits, excl, zh = Hits(), Hits(), []
    has_alnum = np.zeros(len(texts), dtype=bool)
    start = 0
    while start < len(texts):
        size, stop = 0, start
        while stop < len(texts) and (size < _CHUNK or stop == start):
            size += len(texts[stop]) + 1
            stop += 1
        has_alnum[start:stop] = matcher.scan(texts[start:stop], start, hits, excl, zh)
        start = stop
    matcher.confirm_zh(texts, zh, hits, excl)
    T = matcher.T
    ti, th, pos, rule, end = hits.arrays()
    key = ti * T + th
    eti, eth, epos, _, eend = excl.arrays()
    if len(eti):  # a match overlapping an exclusion of its theme does not count
        ekey = eti * T + eth
        cand = np.flatnonzero(np.isin(key, ekey))
        pairs = pd.DataFrame({"hit": cand, "key": key[cand], "pos": pos[cand],
                              "end": end[cand]}).merge(
            pd.DataFrame({"key": ekey, "epos": epos, "eend": eend}), on="key")
        overlap = ((pairs["epos"] < pairs["end"]) & (pairs["pos"] < pairs["eend"])).to_numpy()
        keep = np.ones(len(key), dtype=bool)
        keep[pairs["hit"].to_numpy()[overlap]] = False
        key, ti, th, pos, rule, end = (a[keep] for a in (key, ti, th, pos, rule, end))
    order = np.lexsort((rule, pos, key))
    key, ti, th, pos, rule, end = (a[order] for a in (key, ti, th, pos, rule, end))
    first = np.ones(len(key), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    ti, th, pos, rule, end = (a[first].copy() for a in (ti, th, pos, rule, end))
    for j in np.flatnonzero(rule < 0):
        rule[j], end[j] = matcher.resolve_rule(texts[ti[j]], int(th[j]), int(pos[j]))
    themes = np.zeros((len(texts), T), dtype=bool)
    themes[ti, th] = True
    return themes, (ti, th, rule, pos, end), has_alnum
