"""Checks across a codeframe document and the compiled form of its rules."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import Problem
from ..questionnaire.checks import format_path
from ._lang import is_latin_word_char, is_zh, normalise
from .models import MAX_PATTERN, MIN_STEM, Net, NoCommentCode, OtherCode, Theme

__all__ = ["Rule", "check_document", "needs_single_answer"]


@dataclass(frozen=True)
class Rule:
    """One compiled rule. ``kind`` is word, prefix, phrase or regex; ``text`` the normalised
    literal (or the pattern); ``theme`` the theme's position; ``exclude`` a veto rule;
    ``zh_word`` a Chinese word checked against jieba tokens."""

    theme: int
    language: str
    kind: str
    text: str
    exclude: bool = False
    zh_word: bool = False
    pattern: re.Pattern | None = None
    written: str = ""

    @property
    def label(self) -> str:
        kind = {"prefix": "word", "regex": "regex"}.get(self.kind, self.kind)
        return ("exclude " if self.exclude else "") + f"{kind} ({self.language})"

    @property
    def boundary_start(self) -> bool:
        return (not self.zh_word and self.kind != "regex" and bool(self.text)
                and is_latin_word_char(self.text[0]))

    @property
    def boundary_end(self) -> bool:
        return (self.kind in ("word", "phrase") and not self.zh_word and bool(self.text)
                and is_latin_word_char(self.text[-1]))


def check_document(nets: list[tuple[int, Net]], themes: list[tuple[int, Theme]],
           other: OtherCode | None, no_comment: NoCommentCode | None, problem,
           raw: dict | None = None) -> tuple[list[Problem], list[Rule]]:
    """Checks across the document: unique ids, known nets, nets with themes, rules that
    compile. ``raw`` (the document, when parts failed the schema) gives the net ids and
    theme nets as written, so that a net that failed the schema is not called unknown."""
    problems: list[Problem] = []
    seen: dict[str, tuple] = {}
    items = [(("nets", i), n.id) for i, n in nets] + [(("themes", i), t.id) for i, t in themes]
    items += [(("other",), c.id) for c in [other] if c is not None]
    items += [(("no_comment",), c.id) for c in [no_comment] if c is not None]
    for path, code in items:
        if code in seen:
            problems.append(problem((*path, "id"), f"id {code!r} is already used at "
                                    f"{format_path(seen[code])}; every theme, net, other and "
                                    "no-comment code needs its own id"))
        else:
            seen[code] = path
    known = {n.id for _, n in nets}
    used = {t.net for _, t in themes if t.net is not None}
    if raw is not None:
        known |= {n.get("id") for n in raw.get("nets") or [] if isinstance(n, dict)}
        used |= {t.get("net") for t in raw.get("themes") or [] if isinstance(t, dict)}
    for i, t in themes:
        if t.net is not None and t.net not in known:
            names = ", ".join(sorted(map(str, known))) or "none declared"
            problems.append(problem(("themes", i, "net"), f"unknown net {t.net!r}; "
                                    f"declare it under nets: (nets: {names})"))
    for i, n in nets:
        if n.id not in used:
            problems.append(problem(("nets", i), f"net {n.id!r} has no themes; give themes "
                                    f"net: {n.id} or remove it"))
    rules: list[Rule] = []
    for i, t in themes:
        positive = 0
        for lang, r in t.match.items():
            base = ("themes", i, "match", lang)
            for kind in ("words", "phrases", "regex"):
                for j, value in enumerate(getattr(r, kind)):
                    rule = _compile(i, lang, kind, value, False, (*base, kind, j), problem,
                                    problems)
                    if rule is not None:
                        rules.append(rule)
                        positive += 1
            if r.exclude is not None:
                for kind in ("words", "phrases", "regex"):
                    for j, value in enumerate(getattr(r.exclude, kind)):
                        rule = _compile(i, lang, kind, value, True,
                                        (*base, "exclude", kind, j), problem, problems)
                        if rule is not None:
                            rules.append(rule)
        if positive == 0 and not any(p.path.startswith(f"themes[{i}]") for p in problems):
            problems.append(problem(("themes", i), f"theme {t.id!r} has no match rules; give "
                                    "it words, phrases or regex under match: <language>:"))
    return problems, rules


def _compile(theme: int, lang: str, kind: str, value: str, exclude: bool, path: tuple,
             problem, problems: list) -> Rule | None:
    def bad(message: str) -> None:
        problems.append(problem(path, message))

    if len(value) > MAX_PATTERN:
        bad(f"{len(value)} characters; a rule may have at most {MAX_PATTERN}: split it into "
            "several shorter rules")
        return None
    zh = is_zh(lang)
    if kind == "regex":
        pattern = _compile_regex(value, bad)
        return None if pattern is None else Rule(theme, lang, "regex", value, exclude,
                                                 pattern=pattern, written=value)
    text = normalise(value)
    if not text.strip("*"):
        bad("empty rule; remove it")
        return None
    if kind == "words":
        if " " in text:
            bad(f"{value!r} is several words; put it under phrases:")
            return None
        if "*" in text[:-1]:
            bad(f"{value!r}: '*' may only end a word (charg* matches charger, charging)")
            return None
        if text.endswith("*"):
            if zh:
                bad(f"{value!r}: Chinese words match whole jieba tokens and take no '*'; "
                    "use phrases: to match text anywhere")
                return None
            if len(text) - 1 < MIN_STEM:
                bad(f"{value!r}: a stem before '*' needs at least {MIN_STEM} characters")
                return None
            return Rule(theme, lang, "prefix", text[:-1], exclude, written=value)
        return Rule(theme, lang, "word", text, exclude, zh_word=zh, written=value)
    if "*" in text:
        bad(f"{value!r}: phrases match as written; '*' is for words, and a pattern goes "
            "under regex:")
        return None
    return Rule(theme, lang, "phrase", text, exclude, written=value)


def _compile_regex(value: str, bad) -> re.Pattern | None:
    try:
        pattern = re.compile(value, re.IGNORECASE | re.MULTILINE)
    except re.error as exc:
        bad(f"invalid regular expression {value!r}: {exc}; fix it, or use words: / phrases: "
            "for plain text")
        return None
    try:
        re.compile(f"(?:x)|(?:{value})")
    except re.error as exc:
        bad(f"regular expression {value!r} cannot be combined with the theme's other rules "
            f"({exc}); remove inline flags such as (?i): case is always ignored")
        return None
    if pattern.groupindex:
        bad(f"regular expression {value!r} uses a named group; write (?:...) instead")
        return None
    if pattern.search("") is not None:
        bad(f"regular expression {value!r} matches empty text, so it would code every "
            "answer; make it require at least one character")
        return None
    problem = _regex_risk(value)
    if problem:
        bad(f"regular expression {value!r} {problem}")
        return None
    return pattern


def _regex_risk(value: str) -> str | None:
    """Back-references and nested unbounded repeats, read from Python's own regex parser."""
    try:
        from re import _constants as C
        from re import _parser
    except ImportError:  # pragma: no cover - other Python versions: compile checks only
        return None
    try:
        tree = _parser.parse(value, re.IGNORECASE)
    except Exception:  # pragma: no cover - compile() accepted it
        return None
    repeats = (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", None))

    def walk(items, inside_unbounded: bool) -> str | None:
        for op, av in items:
            if op in (C.GROUPREF, C.GROUPREF_EXISTS):
                return "uses a back-reference, which cannot be combined with other rules; " \
                       "write the repeated text out"
            if op in repeats:
                lo, hi, sub = av
                unbounded = hi == C.MAXREPEAT
                if unbounded and inside_unbounded:
                    return ("nests unbounded repeats (like (a+)+), which can take exponential "
                            "time on some answers; remove the inner or outer + / *")
                found = walk(sub, inside_unbounded or unbounded)
                if found:
                    return found
            elif op == C.SUBPATTERN:
                found = walk(av[-1], inside_unbounded)
                if found:
                    return found
            elif op == C.BRANCH:
                for branch in av[1]:
                    found = walk(branch, inside_unbounded)
                    if found:
                        return found
            elif op in (C.ASSERT, C.ASSERT_NOT):
                found = walk(av[1], inside_unbounded)
                if found:
                    return found
        return None

    return walk(tree, False)


def needs_single_answer(pattern: re.Pattern) -> bool:
    """A pattern that must see one answer at a time (a look-behind, ``\\A`` or ``\\Z``):
    scanned answer by answer instead of over the joined answers."""
    return "(?<" in pattern.pattern or "\\A" in pattern.pattern or "\\Z" in pattern.pattern
