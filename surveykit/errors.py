"""Typed exceptions and warnings.

Every error says what was wrong, where (file, line, question id, row, variable) and
what to do. Catch :class:`SurveykitError` to catch them all.
"""

from __future__ import annotations

from dataclasses import dataclass


class SurveykitError(Exception):
    """Base class of every error surveykit raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One located problem in an input file.

    ``path`` is a dotted/indexed location inside the document, e.g.
    ``questions[12].scale``; ``line`` is 1-based (``None`` when unknown).
    """

    message: str
    path: str = ""
    line: int | None = None
    file: str | None = None

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(str(self.file))
        if self.line is not None:
            where.append(f"line {self.line}")
        loc = ":".join(where)
        target = f"{self.path}: " if self.path else ""
        return f"{loc}: {target}{self.message}" if loc else f"{target}{self.message}"


class ProblemsError(SurveykitError):
    """An error that carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem] | Problem | str, *, header: str | None = None):
        if isinstance(problems, str):
            problems = [Problem(problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        lines = [str(p) for p in self.problems]
        if header is None:
            n = len(lines)
            header = f"{n} problem{'s' if n != 1 else ''} found:" if n > 1 else ""
        text = "\n".join([header, *("  - " + line for line in lines)]) if header else lines[0]
        super().__init__(text)


class QuestionnaireError(ProblemsError):
    """The questionnaire file is invalid (schema, references, routing, expressions)."""


class ExpressionError(QuestionnaireError):
    """A routing/rule expression is not in the allowed language or cannot be evaluated."""


class ResponseDataError(ProblemsError):
    """Response data do not fit the questionnaire (file, column, row, value)."""


class SimulationError(SurveykitError, ValueError):
    """Bad arguments to the simulator (n, seed, truth that does not fit the questionnaire)."""


class WeightingError(SurveykitError):
    """Weighting targets or weighting variables are unusable, or raking cannot converge."""


class EstimationError(SurveykitError):
    """An estimate cannot be computed from the data given (bad column, no base...)."""


class DesignError(EstimationError):
    """A sample design is unusable (missing ids, clusters crossing strata, a lonely PSU under
    ``lonely_psu="fail"``, fpc smaller than the sample...) or does not fit the data given."""


class MeasurementError(SurveykitError):
    """Reliability / factor analysis input is unusable (one item, constant item...)."""


class DriverAnalysisError(SurveykitError):
    """Key-driver input is unusable (collinear drivers, too few respondents...)."""


class TableError(SurveykitError):
    """A banner table cannot be built (unknown question, one-level banner...)."""


class SegmentationError(SurveykitError):
    """Segmentation or CRM join input is unusable."""


class ReportError(SurveykitError):
    """The reporting pipeline was called with bad parameters or could not run."""


class PLSError(SurveykitError):
    """A PLS path model is unusable (unknown item, cycle, constant item, no convergence...)."""


class CodeframeError(ProblemsError):
    """A codeframe file (open-text coding, :mod:`surveykit.text`) is invalid: schema, unknown
    nets, duplicate ids, bad patterns; every problem located by file, line and path."""


class TextError(SurveykitError, ValueError):
    """Open-text coding, discovery, agreement or analysis was called with unusable input."""


class OutputPathError(SurveykitError, ValueError):
    """An output path that would overwrite an input or a file surveykit did not write, or a
    folder that cannot be written."""


class SurveykitWarning(UserWarning):
    """Base class of surveykit's warnings (Heywood cases, high VIF, low bases...)."""
