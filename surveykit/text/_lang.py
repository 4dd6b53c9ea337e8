"""Text normalisation, "no comment" answers, character classes and the jieba segmenter.

Every rule and every answer goes through :func:`normalise` (NFKC, curly quotes made
straight, lower case, runs of white space made one space), so full-width letters and digits,
``Ｂａｔｔｅｒｙ`` and ``battery`` read the same, and a rule written ``Too  Expensive`` matches
``too expensive``.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata

import numpy as np

__all__ = ["normalise", "normalise_many", "is_zh", "has_cjk", "no_comment_key", "NO_COMMENT",
           "segmenter"]

# CJK ideographs (basic, extension A, compatibility); answers holding one are segmented
CJK_RANGES = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RE = re.compile(f"[{CJK_RANGES}]")
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
                         "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00b4": "'"})
_KEY_DROP = re.compile(r"[\W_]+")
_OTHER_WS = re.compile(r"[^\S ]")  # white space other than a space (tab, newline, U+3000 ...)
_SPACES = re.compile(r" {2,}")
_ALNUM = re.compile(r"[^\W_]")

#: Answers that say nothing, per language, as written (they are normalised and stripped of
#: punctuation and spaces before comparison, so "N/A", "n.a." and "na" are one key).
NO_COMMENT: dict[str, tuple[str, ...]] = {
    "en": ("none", "nothing", "nil", "null", "na", "n/a", "n.a.", "no", "nope", "nah",
           "no comment", "no comments", "no further comments", "nothing to add",
           "nothing else", "nothing more", "nothing more to add", "nothing else to add",
           "nothing further", "nothing special", "nothing special to add",
           "nothing in particular", "nothing really", "not really", "no thanks",
           "no thank you", "nothing to say", "nothing to report", "none at this time",
           "not applicable", "no answer", "don't know", "dont know", "idk", "no idea",
           "no opinion", "x", "xx", "xxx"),
    "zh": ("无", "没有", "没", "暂无", "没什么", "没有了", "没了", "无意见", "没有意见",
           "暂无意见", "无建议", "没有建议", "暂无建议", "暂时没有", "没什么说的",
           "没什么好说的", "没什么要说的", "没什么意见", "没什么建议", "不知道", "不清楚",
           "说不上来", "无可奉告", "没想法", "没有想法", "无评论", "没有评论", "暂无评论"),
}


def normalise(text: str) -> str:
    """The form in which answers and rules are compared.

    Examples
    --------
    >>> normalise("  Ｔｈｅ  Battery\\u2019s   DEAD\\n")
    "the battery's dead"
    >>> normalise("电池　续航")
    '电池 续航'
    """
    text = unicodedata.normalize("NFKC", text.replace("\x00", " ")).translate(_QUOTES).lower()
    return _spaces(text).strip(" ")


def _spaces(text: str) -> str:
    """Every run of white space made one space (two passes that are fast on long text)."""
    text = _OTHER_WS.sub(" ", text)
    return _SPACES.sub(" ", text) if "  " in text else text


def normalise_many(texts: list[str]) -> list[str]:
    """:func:`normalise` of each text, done on the texts joined (one call per step instead of
    one per text); the same result, text by text."""
    if not texts:
        return []
    joined = "\x00".join(texts)
    if joined.count("\x00") != len(texts) - 1:  # a NUL inside an answer: one by one
        return [normalise(t) for t in texts]
    joined = unicodedata.normalize("NFKC", joined).translate(_QUOTES).lower()
    joined = _spaces(joined).replace(" \x00", "\x00").replace("\x00 ", "\x00")
    out = joined.strip(" ").split("\x00")
    if len(out) != len(texts):  # pragma: no cover - normalisation never adds a NUL
        return [normalise(t) for t in texts]
    return out


def has_cjk(text: str) -> bool:
    """True when ``text`` holds a CJK ideograph."""
    return _CJK_RE.search(text) is not None


def is_zh(language: str) -> bool:
    """Languages whose words are found by jieba segmentation (``zh``, ``zh-cn``, ...)."""
    return language == "zh" or language.startswith("zh-")


def no_comment_key(text: str) -> str:
    """A normalised answer without punctuation or spaces: the key compared with
    :data:`NO_COMMENT` ("N/A." -> "na"). Empty for an answer of punctuation only.

    Examples
    --------
    >>> no_comment_key("N/A."), no_comment_key("没有。"), no_comment_key("...")
    ('na', '没有', '')
    """
    return _KEY_DROP.sub("", normalise(text))


def no_comment_keys(extra: dict[str, list[str]] | None = None, *, builtin: bool = True
                    ) -> frozenset[str]:
    """The set of keys of answers that are a "no comment": the built-in lists (unless
    ``builtin`` is False) and the ``extra`` answers of a codeframe."""
    keys = set()
    if builtin:
        for words in NO_COMMENT.values():
            keys.update(no_comment_key(w) for w in words)
    for words in (extra or {}).values():
        keys.update(no_comment_key(w) for w in words)
    keys.discard("")
    return frozenset(keys)


def is_no_comment(norm: str, keys: frozenset[str], longest: int) -> bool:
    """``norm`` (already normalised) is empty, punctuation only, or one of ``keys``."""
    if len(norm) <= longest + 40:
        key = _KEY_DROP.sub("", norm)
        return key == "" or key in keys
    return _ALNUM.search(norm) is None


# -- character classes for the matcher ---------------------------------------------------
TABLE_SIZE = 0x30000  # code points above are rare (no letters a rule needs); treated as symbols


@functools.lru_cache(maxsize=1)
def _tables() -> tuple[np.ndarray, np.ndarray]:
    alnum = np.fromiter((chr(c).isalnum() for c in range(TABLE_SIZE)), dtype=bool,
                        count=TABLE_SIZE)
    word = alnum.copy()
    for lo, hi in (("\u3400", "\u4dbf"), ("\u4e00", "\u9fff"), ("\uf900", "\ufaff")):
        word[ord(lo):ord(hi) + 1] = False
    return word, alnum


def latin_word_table() -> np.ndarray:
    """``table[c]`` is True for a letter or digit that is not a CJK ideograph: the characters
    whose runs make words with boundaries (a CJK neighbour is a boundary, so ``battery`` is
    a word in ``battery不行``)."""
    return _tables()[0]


def alnum_table() -> np.ndarray:
    """``table[c]`` is True for any letter or digit (CJK ideographs included)."""
    return _tables()[1]


def is_latin_word_char(ch: str) -> bool:
    c = ord(ch)
    return c < TABLE_SIZE and bool(latin_word_table()[c])


# -- jieba ---------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _base_tokenizer():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tok = jieba.Tokenizer()
    tok.initialize()
    return tok


@functools.lru_cache(maxsize=16)
def segmenter(words: tuple[str, ...] = ()):
    """A jieba tokenizer that knows the codeframe's Chinese ``words`` (each added to its
    dictionary, so a rule word is kept whole). One per word list: codeframes never change
    each other's segmentation. Loading jieba's dictionary takes about a second, once."""
    import jieba

    base = _base_tokenizer()
    tok = jieba.Tokenizer()
    # a copy of the loaded dictionary instead of loading it again (jieba 0.42 attributes)
    tok.FREQ, tok.total, tok.initialized = dict(base.FREQ), base.total, True
    for w in words:
        tok.add_word(w)
    return tok


@functools.lru_cache(maxsize=1)
def jieba_block_re() -> re.Pattern:
    """jieba's own pattern of the blocks it segments independently (runs of Han characters,
    letters, digits and ``+#&._%-``): the segmentation of a word depends only on its block."""
    import jieba

    return jieba.re_han_default


def cjk_tokens(text: str, tok=None) -> list[str]:
    """``text`` cut into words: jieba for Chinese, letters and digits elsewhere; spaces and
    punctuation dropped."""
    tok = tok or segmenter()
    return [w for w in tok.lcut(text) if _ALNUM.search(w)]
