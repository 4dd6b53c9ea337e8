"""Mask personal data in open answers before anyone sees them (quotes, coding sheets).

E-mail addresses become ``[email]``, telephone numbers ``[phone]`` and any other run of six
or more digits (customer, order or identity-card numbers) ``[number]``. Masking errs on the
side of hiding: a date written ``2024-01-15`` is masked as a phone number; a price such as
``5,999`` or a model such as ``i7-12700H`` is kept.
"""

from __future__ import annotations

import re
import unicodedata

import pandas as pd

__all__ = ["mask_personal_data", "EMAIL", "PHONE", "NUMBER"]

EMAIL, PHONE, NUMBER = "[email]", "[phone]", "[number]"

_LOCAL = r"[A-Za-z0-9._%+\-]+"
_DOMAIN = r"[A-Za-z0-9\-]+(?:\s*\.\s*[A-Za-z0-9\-]+)*\s*\.\s*[A-Za-z]{2,}"
_EMAIL_RE = re.compile(rf"{_LOCAL}\s*[@＠]\s*{_DOMAIN}")
# written out to dodge filters: name (at) example (dot) com, name at example dot com
_AT = r"(?:\s*[(\[{]\s*at\s*[)\]}]\s*|\s+at\s+)"
_DOT = r"(?:\s*[(\[{]\s*dot\s*[)\]}]\s*|\s+dot\s+|\s*\.\s*)"
_EMAIL_WORDS_RE = re.compile(
    rf"{_LOCAL}{_AT}[A-Za-z0-9\-]+(?:{_DOT}[A-Za-z0-9\-]+)*{_DOT}"
    r"(?:com|net|org|edu|gov|cn|co|uk|de|fr|jp|io|info|biz|me|hk|tw)(?![A-Za-z])", re.IGNORECASE)
# digits in groups: +86 138 1234 5678, (010) 6552-1234, 555.123.4567, 13812345678
_PHONE_RE = re.compile(
    r"(?<![A-Za-z0-9+])(?:(?:\+|00)\d{1,3}[\s.\-]*)?(?:\(\d{1,5}\)[\s.\-]*)?"
    r"\d(?:[\s.\-–]?\d){5,}(?![0-9])")
_DIGITS_RE = re.compile(r"(?<!\d)\d{6,}")
_ID_CARD_RE = re.compile(r"(?<!\d)\d{17}[\dXx](?![0-9A-Za-z])")  # Chinese identity card
_MOBILE_RE = re.compile(r"1\d{10}")


def _phone(m: re.Match) -> str:
    """Digits in groups (or after +, 00 or a bracketed area code) are a phone number from 7
    digits on; one unbroken run is a phone number only when it is a Chinese mobile number
    (11 digits starting with 1), else an id-like number from 6 digits on."""
    text = unicodedata.normalize("NFKC", m.group())  # full-width digits read as digits
    digits = sum(ch.isdigit() for ch in text)
    if text.isdigit():
        return PHONE if _MOBILE_RE.fullmatch(text) else NUMBER
    if digits >= 7:
        return PHONE
    return NUMBER if digits >= 6 else text


def mask_personal_data(text):
    """Mask e-mail addresses, telephone numbers and id-like digit runs in ``text``.

    Parameters
    ----------
    text : str, Series or missing
        An answer, or a Series of answers (masked one by one; missing values stay missing).

    Returns
    -------
    str or Series
        The text with ``[email]``, ``[phone]`` and ``[number]`` in place of personal data.

    Examples
    --------
    >>> mask_personal_data("Mail me at li.wei@example.com or call 138 1234 5678")
    'Mail me at [email] or call [phone]'
    >>> mask_personal_data("客户编号 20240315，电话+86-138-1234-5678，邮箱 wang(at)qq(dot)com")
    '客户编号 [number]，电话[phone]，邮箱 [email]'
    >>> mask_personal_data("i7-12700H for 5,999 in 2023")
    'i7-12700H for 5,999 in 2023'
    """
    if isinstance(text, pd.Series):
        return text.map(mask_personal_data, na_action="ignore")
    if not isinstance(text, str):
        return text
    text = _EMAIL_RE.sub(EMAIL, text)
    text = _EMAIL_WORDS_RE.sub(EMAIL, text)
    text = _ID_CARD_RE.sub(NUMBER, text)
    text = _PHONE_RE.sub(_phone, text)
    return _DIGITS_RE.sub(NUMBER, text)
