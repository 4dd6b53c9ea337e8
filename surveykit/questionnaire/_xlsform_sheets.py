"""The names XLSForm sheets use that both directions of
:mod:`surveykit.questionnaire.xlsform` share: surveykit's own columns and sheet, reserved
names and the languages of ``label::`` columns."""

from __future__ import annotations

import re

#: The sheet holding what XLSForm has no place for (platforms ignore sheets named ``_...``).
SURVEYKIT_SHEET = "_surveykit"
TYPE, SHORT, UNIT, PII, REVERSE, RANK_MAX, SCALE, MISSING = (
    "surveykit_type", "surveykit_label", "surveykit_unit", "surveykit_pii", "surveykit_reverse",
    "surveykit_rank_max", "surveykit_scale", "surveykit_missing")
#: Grids on scales of more codes than this are written as field-list (one row per item)
#: rather than table-list (codes side by side).
TABLE_LIST_MAX = 7
#: Names the XForm itself uses.
RESERVED = frozenset({"meta"})

LANGUAGES = {
    "ar": "Arabic", "bn": "Bengali", "cs": "Czech", "da": "Danish", "de": "German",
    "el": "Greek", "en": "English", "es": "Spanish", "fa": "Persian", "fi": "Finnish",
    "fr": "French", "ha": "Hausa", "he": "Hebrew", "hi": "Hindi", "hu": "Hungarian",
    "id": "Indonesian", "it": "Italian", "ja": "Japanese", "ko": "Korean", "ms": "Malay",
    "nl": "Dutch", "no": "Norwegian", "pl": "Polish", "pt": "Portuguese", "ro": "Romanian",
    "ru": "Russian", "sv": "Swedish", "sw": "Swahili", "th": "Thai", "tr": "Turkish",
    "uk": "Ukrainian", "ur": "Urdu", "vi": "Vietnamese", "zh": "Chinese",
}


def language_column(code: str) -> str:
    """The XLSForm language of a language code, as ``label::<this>`` columns spell it.

    Examples
    --------
    >>> language_column("en"), language_column("zh-Hans")
    ('English (en)', 'Chinese (zh-Hans)')
    """
    base = re.split(r"[-_]", code)[0].lower()
    return f"{LANGUAGES.get(base, code)} ({code})"
