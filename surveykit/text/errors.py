"""The typed errors of :mod:`surveykit.text`.

:class:`CodeframeError` carries every located problem of a codeframe file (file, line, path);
:class:`TextError` is a bad call (unknown column, bad parameter, unreadable coding sheet).
"""

from __future__ import annotations

from ..errors import ProblemsError, SurveykitError

__all__ = ["CodeframeError", "TextError"]


class CodeframeError(ProblemsError):
    """The codeframe file is invalid (schema, unknown nets, duplicate ids, bad patterns)."""


class TextError(SurveykitError, ValueError):
    """Open-text coding, discovery, agreement or analysis was called with unusable input."""
