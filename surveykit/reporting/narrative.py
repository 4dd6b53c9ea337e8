"""Key-finding sentences from result tables: numbers, bases and significance in words.

Nothing here computes a statistic; these helpers only turn the rows that
:mod:`surveykit.estimates`, :mod:`surveykit.drivers` and friends return into text a
stakeholder can read without the charts. Every sentence that states a segment result
carries its base, and a base under ``min_base`` is said out loud ("low base") rather than
hidden.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import NamedTuple

__all__ = ["fmt_value", "fmt_diff", "fmt_p", "fmt_ci", "sig_phrase", "low_base_phrase",
           "join_words", "is_number", "shown", "shown_diff", "upper_first", "plural",
           "SegmentName", "plural_label"]


def is_number(x) -> bool:
    """True for a finite real number (not NaN, not None)."""
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def fmt_value(x, kind: str, *, digits: int | None = None) -> str:
    """Format an estimate: ``kind`` is ``percent`` (0..1 shown as %), ``nps`` (signed
    points), ``mean`` (one decimal) or ``count``.

    Examples
    --------
    >>> fmt_value(0.4234, "percent"), fmt_value(12.4, "nps"), fmt_value(7.25, "mean")
    ('42%', '+12', '7.2')
    """
    if not is_number(x):
        return "n/a"
    x = float(x)
    if kind == "percent":
        return _no_negative_zero(f"{100 * x:.{0 if digits is None else digits}f}") + "%"
    if kind == "nps":
        text = f"{x:+.{0 if digits is None else digits}f}"
        return text[1:] if float(text) == 0 else text
    if kind == "count":
        return f"{x:,.0f}"
    return f"{x:.{1 if digits is None else digits}f}"


def fmt_diff(d, kind: str, *, unit: bool = True) -> str:
    """A difference in the metric's own units: points for percentages and NPS.

    ``d`` is in the metric's units (a proportion for ``percent``). Pass differences of the
    values as shown (:func:`shown_diff`) so that the text agrees with the numbers beside
    it. ``unit=False`` leaves out the word "points" (a table column says it once).

    Examples
    --------
    >>> fmt_diff(0.062, "percent"), fmt_diff(-0.35, "mean"), fmt_diff(4, "nps")
    ('+6 points', '-0.3', '+4 points')
    >>> fmt_diff(0.01, "percent"), fmt_diff(-0.004, "percent"), fmt_diff(6, "nps", unit=False)
    ('+1 point', '0 points', '+6')
    """
    if not is_number(d):
        return "n/a"
    d = float(d)
    if kind in ("percent", "nps"):
        text = _no_negative_zero(f"{(100 * d if kind == 'percent' else d):+.0f}")
        if not unit:
            return text
        return text + (" point" if text.lstrip("+-") == "1" else " points")
    return _no_negative_zero(f"{d:+.1f}")


def shown(x, kind: str, *, digits: int | None = None) -> float:
    """The number a reader sees for ``x`` (:func:`fmt_value`), back in the metric's units
    (a proportion for ``percent``); NaN when nothing is shown.

    Examples
    --------
    >>> shown(7.26, "mean"), shown(0.4251, "percent"), shown(12.6, "nps")
    (7.3, 0.43, 13.0)
    """
    text = fmt_value(x, kind, digits=digits)
    if text == "n/a":
        return math.nan
    v = float(text.rstrip("%").replace(",", ""))
    return round(v / 100, 12) if kind == "percent" else v


def shown_diff(value, reference, kind: str) -> float:
    """``value - reference`` as a reader computes it from the two numbers shown: both are
    rounded to the display precision first, so "6.1 vs 7.1" is a difference of -1.0.

    Examples
    --------
    >>> shown_diff(6.06, 7.14, "mean"), fmt_diff(shown_diff(6.06, 7.14, "mean"), "mean")
    (-1.0, '-1.0')
    >>> fmt_diff(shown_diff(0.2649, 0.2551, "percent"), "percent")
    '0 points'
    """
    a, b = shown(value, kind), shown(reference, kind)
    if math.isnan(a) or math.isnan(b):
        return math.nan
    return round(a - b, 12)


def upper_first(label: str) -> str:
    """A label's first letter in upper case (``"low"`` -> ``"Low"``) for a table cell.

    Examples
    --------
    >>> upper_first("low"), upper_first("iPhone users")
    ('Low', 'iPhone users')
    """
    label = str(label)
    if label[:1].islower() and not (len(label) > 1 and label[1].isupper()):
        return label[0].upper() + label[1:]
    return label


def plural(n: int, word: str, words: str | None = None) -> str:
    """``1 factor``, ``4 factors`` (never "factor(s)").

    Examples
    --------
    >>> plural(1, "factor"), plural(4, "factor"), plural(2, "respondent has", "respondents have")
    ('1 factor', '4 factors', '2 respondents have')
    """
    return f"{n:,} {word if n == 1 else (words or word + 's')}"


def _no_negative_zero(text: str) -> str:
    """``"-0"`` / ``"+0.0"`` -> ``"0"`` / ``"0.0"`` (a rounded zero has no sign)."""
    return text.lstrip("+-") if float(text) == 0 else text


def fmt_p(p) -> str:
    """``p = 0.012``; ``p < 0.001``."""
    if not is_number(p):
        return "not tested"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def fmt_ci(lo, hi, kind: str) -> str:
    """``95% CI 6.8 to 7.4`` in the metric's units."""
    if not (is_number(lo) and is_number(hi)):
        return "CI n/a"
    return f"95% CI {fmt_value(lo, kind)} to {fmt_value(hi, kind)}"


def low_base_phrase(n, min_base: int) -> str:
    """The low-base flag put into every sentence that rests on a small base.

    Examples
    --------
    >>> low_base_phrase(18, 30)
    'low base (n = 18, under 30): indicative only, not tested'
    """
    return f"low base (n = {int(n)}, under {min_base}): indicative only, not tested"


def sig_phrase(diff, p, significant, *, n, min_base: int, what: str = "the rest of the sample",
               alpha: float = 0.05) -> str:
    """"significantly higher than the rest of the sample (p = 0.004)" and friends.

    Examples
    --------
    >>> sig_phrase(0.4, 0.004, True, n=120, min_base=30)
    'significantly higher than the rest of the sample (p = 0.004)'
    >>> sig_phrase(-0.1, 0.41, False, n=120, min_base=30)
    'not significantly different from the rest of the sample (p = 0.410)'
    """
    if not is_number(n) or n < min_base:
        return low_base_phrase(n if is_number(n) else 0, min_base)
    if not is_number(p):
        return "not tested"
    if significant:
        side = "higher" if diff > 0 else "lower"
        return f"significantly {side} than {what} ({fmt_p(p)})"
    return f"not significantly different from {what} ({fmt_p(p)})"


def join_words(items: Sequence[str], *, conj: str = "and") -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = [str(i) for i in items]
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return f"{', '.join(items[:-1])} {conj} {items[-1]}"


#: last words ending in s that are not plural nouns (or are, but name one thing: a
#: department, an industry, a place); -ss, -us, -is, -ous, -ics are ruled out by ending
_NOT_PLURAL = frozenset(
    "yes news series species means always sometimes perhaps plus lens atlas alias bias "
    "canvas chaos thanks sales operations communications relations affairs services goods "
    "resources utilities headquarters savings earnings wales athens brussels paris texas "
    "netherlands philippines bahamas".split())
_IRREGULAR_PLURAL = frozenset("people men women children".split())


def plural_label(label: str) -> bool:
    """True when a segment label is clearly a plural noun phrase, so that it can be the
    subject of a sentence as it is ("Home users do worse ...").

    The label's last word (parentheses left out) must be a regular plural: lower case
    after its first letter, or an acronym with a plural s (``SMEs``), or ``people`` / ``men``
    / ``women`` / ``children``; four letters or more ending in s but not -ss, -us, -is,
    -ous, -ics (Business, Campus, Analysis, Logistics) nor a known singular or name
    (Sales, Services, Wales, Yes). A capitalised last word after the first (``United
    States``) is a name. Anything else (``Free``, ``North``, ``18-24``) is not plural.

    Examples
    --------
    >>> [plural_label(x) for x in ["Home users", "Students", "Small businesses", "SMEs"]]
    [True, True, True, True]
    >>> [plural_label(x) for x in ["Free", "Business", "Campus", "18-24", "Sales",
    ...                            "United States", "Pay-as-you-go (prepaid)"]]
    [False, False, False, False, False, False, False]
    """
    words = re.findall(r"[A-Za-z]+", re.sub(r"\([^)]*\)", " ", str(label)))
    if not words:
        return False
    last = words[-1]
    if re.fullmatch(r"[A-Z]{2,}s", last):                  # SMEs, NGOs
        return True
    if any(ch.isupper() for ch in last[1:]) or (len(words) > 1 and last[0].isupper()):
        return False                                        # an acronym or a name
    w = last.lower()
    if w in _IRREGULAR_PLURAL:
        return True
    return (len(w) >= 4 and w.endswith("s") and w not in _NOT_PLURAL
            and not w.endswith(("ss", "us", "is", "ous", "ics")))


class SegmentName(NamedTuple):
    """How sentences name a segment. A label carries no grammatical number ("Free",
    "North", "18-24" are not subjects that take "do"), so sentences name the segment's
    respondents: the label itself when it is a plural noun phrase (:func:`plural_label`),
    else "respondents in the ... segment". Both are plural, so every verb, "they" and
    "their" after them agree.

    ``people`` is the phrase mid-sentence ("... among Home users who commented"),
    :attr:`subject` the same opening a sentence, ``among`` where the results were found
    ("The strongest drivers of ... among Home users / in the Free segment are ...").

    Examples
    --------
    >>> SegmentName.of("Home users")
    SegmentName(label='Home users', people='Home users', among='among Home users')
    >>> n = SegmentName.of("Free")
    >>> n.subject, n.people, n.among
    ('Respondents in the Free segment', 'respondents in the Free segment', 'in the Free segment')
    >>> SegmentName.of("Enterprise segment").among
    'in the Enterprise segment'
    """

    label: str
    people: str
    among: str

    @classmethod
    def of(cls, label) -> SegmentName:
        label = str(label)
        if plural_label(label):
            return cls(label, label, f"among {label}")
        words = label.lower().split()
        group = (label if words[:1] == ["segment"] else
                 f"the {label}" if words[-1:] == ["segment"] else f"the {label} segment")
        return cls(label, f"respondents in {group}", f"in {group}")

    @property
    def subject(self) -> str:
        """``people`` opening a sentence."""
        return upper_first(self.people)
