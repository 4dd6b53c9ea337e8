"""Data larger than memory: check, rake, estimate and banner over Parquet, with DuckDB.

:meth:`surveykit.survey.Survey.from_parquet` opens one Parquet file or a folder of them
(nothing is loaded into pandas) and returns a :class:`ParquetSurvey`, whose methods compute
what their in-memory namesakes compute, from the same sufficient statistics and through the
same formula functions:

- :meth:`ParquetSurvey.check`: the rules of :func:`~surveykit.responses.check_responses`
  on blocks of rows streamed by DuckDB (every rule looks at one respondent, except
  ``duplicate_id`` and ``speeder``, whose ids and median DuckDB finds first); counts cover
  every row, the table keeps the first findings of each rule;
- :meth:`ParquetSurvey.rake`: :func:`~surveykit.weighting.rake` on the cell counts (one
  ``GROUP BY`` of the weighting variables); the weights are a join of the cell weights;
- :meth:`ParquetSurvey.estimate`: :func:`~surveykit.estimates.estimate` (``by=``) from
  per-group sums of ``w``, ``w y``, ``w^2`` ... (linearisation SEs, as without a design);
- :meth:`ParquetSurvey.banner`: :func:`~surveykit.tables.banner` from one row per distinct
  combination of answers with its count and sums of weights.

DuckDB is an optional dependency (``pip install 'surveykit[scale]'``); without it these
calls raise :class:`MissingDependencyError`. DuckDB works within ``memory_limit`` (spilling
to a temporary folder), so memory stays bounded whatever the number of rows. Not out of
core: ``clean()`` (it rewrites the data), sample designs (clusters, strata, replicate
weights), calibration-aware SEs, key drivers and reports.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from ._check import check_source
from ._source import MissingDependencyError, Source, ident, literal
from ._stats import banner_source, estimate_source, rake_source

__all__ = ["ParquetSurvey", "MissingDependencyError"]

_views = itertools.count(1)


class ParquetSurvey:
    """A questionnaire and Parquet responses larger than memory, with their weights.

    Made by :meth:`surveykit.survey.Survey.from_parquet`; see :mod:`surveykit.outofcore`.

    Examples
    --------
    >>> import tempfile
    >>> from surveykit.survey import Survey
    >>> from surveykit.questionnaire import load_questionnaire
    >>> from surveykit.responses import clean, read_responses
    >>> q = load_questionnaire("questionnaires/pc_customers.yaml")
    >>> df, _ = clean(q, read_responses("data/demo/responses.csv", q))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     df.to_parquet(f"{tmp}/responses.parquet")
    ...     s = Survey.from_parquet(q, f"{tmp}/responses.parquet",
    ...                             targets="data/demo/targets.yaml")
    ...     nps = s.estimate("nps", stat="nps", by="segment")
    >>> s
    ParquetSurvey('pc_customers', n=3994, weights='weight')
    >>> nps[["group", "estimate", "ci_low", "ci_high", "n"]].round(1).head(2)
       group  estimate  ci_low  ci_high     n
    0      1       1.6    -5.9      9.2   508
    1      2      42.0    37.8     45.9  1467
    """

    def __init__(self, questionnaire, source: Source, *, weights: str | None = None,
                 weighting=None, relation: str = "data"):
        self.questionnaire = questionnaire
        self.source = source
        self.weights = weights
        self.weighting = weighting
        self._relation = relation

    @classmethod
    def open(cls, questionnaire, path, *, memory_limit: str = "1.5GB",
             threads: int | None = None) -> ParquetSurvey:
        """Open ``path`` (a .parquet file or a folder of them) without reading it."""
        from ..questionnaire import Questionnaire, load_questionnaire

        q = questionnaire if questionnaire is None or isinstance(questionnaire, Questionnaire) \
            else load_questionnaire(questionnaire)
        return cls(q, Source(path, memory_limit=memory_limit, threads=threads))

    @property
    def n(self) -> int:
        """Number of rows (respondents)."""
        return self.source.n

    @property
    def columns(self) -> list[str]:
        return list(self.source.columns)

    def check(self, *, examples: int | None = 1000, rows: int = 100_000, **options):
        """Check the responses (needs the questionnaire):
        :func:`~surveykit.responses.check_responses`'s rules and
        options, in blocks of ``rows``; the table keeps the first ``examples`` findings of
        each rule (``None``: all), the summary counts all of them."""
        return check_source(self.source, self.questionnaire, examples=examples, rows=rows,
                            **options)

    def rake(self, targets, **options) -> ParquetSurvey:
        """Rake to ``targets`` (options of :func:`~surveykit.weighting.rake`); a new
        survey whose ``weight`` column is the raked weight (this one is unchanged)."""
        if self.questionnaire is not None:
            options.setdefault("pii", [c for c in self.questionnaire.pii_columns
                                       if c in self.columns])
        report, view = rake_source(self.source, targets, name=f"weighted_{next(_views)}",
                                   **options)
        return ParquetSurvey(self.questionnaire, self.source, weights="weight",
                             weighting=report, relation=view)

    def estimate(self, columns, **options):
        """:func:`~surveykit.estimates.estimate` (``stat``, ``by``, ``codes``, ``scale``,
        ``box``, ``level``, ``ci``), weighted by this survey's weights."""
        return estimate_source(self.source, self._relation, self.weights, columns, **options)

    def banner(self, rows, columns, **options):
        """:func:`~surveykit.tables.banner` with this survey's questionnaire and weights."""
        options.setdefault("questionnaire", self.questionnaire)
        return banner_source(self.source, self._relation, self.weights, rows, columns,
                             **options)

    def write_weights(self, path, *, columns=None) -> Path:
        """Write the respondent id (or ``columns``) and the weight to a Parquet file."""
        keep = columns or [self.questionnaire.roles.respondent_id]
        sel = ", ".join(ident(c) for c in keep if c in self.columns)
        w = "weight" if self.weights else "1.0 AS weight"
        path = Path(path)
        tmp = path.with_name(f".{path.name}.tmp")
        self.source.con.execute(f"COPY (SELECT {sel}, {w} FROM {self._relation}) TO "
                                f"{literal(str(tmp))} (FORMAT parquet)")
        tmp.replace(path)
        return path

    def __repr__(self) -> str:
        w = f"weights={self.weights!r}" if self.weights else "unweighted"
        q = getattr(self.questionnaire, "id", None)
        return f"ParquetSurvey({q!r}, n={self.n}, {w})"
