"""Pydantic models of a codeframe file (see :mod:`surveykit.text.codeframe` for the format).

The models hold the declarations; :mod:`surveykit.text._rules` checks what needs the whole
document (unique ids, known nets, rules that compile) and compiles the rules.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

__all__ = ["CodeframeModel", "Theme", "Net", "Rules", "Exclusions", "OtherCode",
           "NoCommentCode", "MAX_PATTERN", "MIN_STEM"]

#: Longest regular expression, word or phrase accepted, in characters.
MAX_PATTERN = 300
#: Shortest stem before a ``*`` (``ba*`` would match half the dictionary).
MIN_STEM = 3

_ID = r"^[A-Za-z][A-Za-z0-9]*$"
Id = Annotated[str, StringConstraints(pattern=_ID, max_length=40)]
FileId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_.-]*$", max_length=80)]
Lang = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[a-z0-9]+)*$")]
Text = Annotated[str, StringConstraints(min_length=1)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


class Exclusions(_Model):
    """Rules that veto a theme's matches: a match of the theme's rules that overlaps a match
    of these does not count (``hot`` in "hot deal", ``happy`` in "not happy"); other matches
    of the theme in the same answer still code it."""

    words: list[Text] = Field(default_factory=list, description="whole words ('*' = any ending)")
    phrases: list[Text] = Field(default_factory=list, description="word sequences")
    regex: list[Text] = Field(default_factory=list, description="Python regular expressions")


class Rules(_Model):
    """The match rules of one theme in one language."""

    words: list[Text] = Field(
        default_factory=list,
        description="whole words; a trailing * matches any ending (charg* -> charger, "
                    "charging); Chinese words match jieba's words (search mode)")
    phrases: list[Text] = Field(
        default_factory=list,
        description="word sequences matched at word boundaries (Chinese: anywhere)")
    regex: list[Text] = Field(
        default_factory=list,
        description=f"Python regular expressions (case ignored, at most {MAX_PATTERN} "
                    "characters; ^ and $ are the start and end of the answer)")
    exclude: Exclusions | None = Field(
        default=None, description="a match of this theme that overlaps a match of these "
                                  "does not count (hot in 'hot deal')")


class Net(_Model):
    """A net: coded when any of its themes is."""

    id: Id
    label: Text
    description: str | None = None


class Theme(_Model):
    """A theme: the column ``{question}_{id}`` is 1 when one of its rules matches."""

    id: Id = Field(description="letters and digits (the column {question}_{id} is read "
                               "back as a multi-response code after the last underscore)")
    label: Text
    net: Id | None = Field(default=None, description="id of the net this theme belongs to")
    description: str | None = None
    match: dict[Lang, Rules] = Field(
        default_factory=dict, description="rules per language code (en, zh, ...)")


class OtherCode(_Model):
    """The code of answers that say something but match no theme."""

    id: Id = "other"
    label: Text = "Other comments"


class NoCommentCode(_Model):
    """The flag of answers that say nothing (empty, "nothing", "n/a", "无", "没有" ...)."""

    id: Id = "none"
    label: Text = "No comment"
    builtin: bool = Field(
        default=True, description="also use surveykit's built-in lists of such answers")
    answers: dict[Lang, list[Text]] = Field(
        default_factory=dict, description="further whole answers that say nothing, per "
                                          "language (compared without punctuation or case)")


class CodeframeModel(_Model):
    """A codeframe: themes (optionally grouped in nets) of one or more open questions."""

    id: FileId = Field(description="the codeframe's id (letters, digits, _ . -)")
    title: str | None = None
    version: str | None = None
    questionnaire: str | None = Field(default=None, description="id of the questionnaire")
    questions: list[Annotated[str, StringConstraints(min_length=1)]] = Field(
        default_factory=list, description="open questions this codeframe codes "
                                          "(empty: any)")
    nets: list[Net] = Field(default_factory=list)
    themes: list[Theme] = Field(min_length=1)
    other: OtherCode = Field(default_factory=OtherCode)
    no_comment: NoCommentCode = Field(default_factory=NoCommentCode)
    human_coding: Annotated[str, StringConstraints(min_length=1)] | None = Field(
        default=None, description="an Excel coding sheet (written by surveykit.text."
        "export_coding_sheet, ticked by a person), relative to this file: the reports state "
        "how far the automatic coding agrees with it (Cohen's kappa, Krippendorff's alpha)")
