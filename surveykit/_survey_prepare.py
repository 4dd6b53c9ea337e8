"""Preparing a :class:`~surveykit.survey.Survey` from files (:meth:`Survey.from_files
<surveykit.survey.Survey.from_files>`: read, check, clean, weight, join the CRM extract, drop
personal data; :meth:`~surveykit.survey.Survey.from_parquet` for data larger than memory),
mixed into the class, and the sample design the questionnaire declares
(:func:`design_from_roles`). It and :data:`WEIGHT_COLUMN` are importable from
:mod:`surveykit.survey`."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .errors import ReportError, SurveykitWarning

if TYPE_CHECKING:
    from .survey import Survey

WEIGHT_COLUMN = "weight"


class _Preparing:
    """:class:`Survey`'s constructors from files."""

    @classmethod
    def from_files(cls, questionnaire, data, *, targets=None, crm=None, as_of=None,
                   weight_options: dict | None = None) -> Survey:
        """Load, check, clean, weight and (optionally) join CRM data, dropping personal data.

        Parameters
        ----------
        questionnaire : path or Questionnaire
        data : path or DataFrame
            Raw responses (read with :func:`surveykit.responses.read_responses`).
        targets : path, mapping or Targets, optional
            Population margins; the data are raked to them
            (:func:`surveykit.weighting.rake`). Without targets the questionnaire's design
            weight (``roles.base_weight``) is used if declared, else no weights.
        crm : path or DataFrame, optional
            CRM extract joined on the questionnaire's ``roles.customer_id``
            (:func:`surveykit.crm.join_crm`).
        as_of : date or str, optional
            Reference date of the CRM lifecycle stages (e.g. the extract's date,
            ``"2026-11-01"``); default: the latest purchase date in the extract.
        weight_options : dict, optional
            Extra keyword arguments for :func:`surveykit.weighting.rake` (``cap=``...).

        Returns
        -------
        Survey

        Examples
        --------
        >>> from surveykit.survey import Survey
        >>> s = Survey.from_files("questionnaires/pc_customers.yaml",
        ...                       "data/demo/responses.csv",
        ...                       targets="data/demo/targets.yaml",
        ...                       crm="data/demo/crm.csv", as_of="2026-11-01")
        >>> s.meta["n_raw"], s.meta["n"], round(s.meta["weighting_efficiency"], 3)
        (4000, 3994, 0.679)
        >>> s.meta["dropped_columns"]  # personal data never reaches the analysis
        ['customer_id', 'email']
        >>> s.labels("value_tier")  # CRM-derived columns get codes and labels
        {1: 'low', 2: 'medium', 3: 'high'}
        """
        from .questionnaire import Questionnaire, load_questionnaire
        from .responses import check_responses, clean, read_responses

        q = questionnaire if isinstance(questionnaire, Questionnaire) else \
            load_questionnaire(questionnaire)
        raw = data.copy() if isinstance(data, pd.DataFrame) else read_responses(data, q)
        checked = check_responses(q, raw)
        df, log = clean(q, raw, checked)
        meta: dict[str, Any] = {
            "questionnaire": str(getattr(q, "source", None) or questionnaire),
            "data": None if isinstance(data, pd.DataFrame) else str(data),
            "targets": None if targets is None or not isinstance(targets, str | os.PathLike)
            else str(targets),
            "crm": None if crm is None or isinstance(crm, pd.DataFrame) else str(crm),
            "n_raw": int(len(raw)),
            "n": int(len(df)),
            "check_errors": int(getattr(checked, "n_errors", 0) or 0),
            "check_summary": _jsonable(getattr(checked, "summary", None)),
            "cleaning_log_rows": int(len(log)) if hasattr(log, "__len__") else None,
        }
        roles = q.roles
        crm_columns: list[str] = []
        labels: dict[str, dict] = {}
        if crm is not None:
            crm_df = crm.copy() if isinstance(crm, pd.DataFrame) else _read_table(crm)
            df, crm_columns, labels, notes = _join_crm(q, df, crm_df, as_of=as_of)
            meta["crm_notes"] = notes
        meta["crm_columns"] = crm_columns
        meta["labels"] = labels

        weighting, weights = None, None
        if targets is not None:
            from .weighting import rake

            opts = dict(weight_options or {})
            # respondents with a missing weighting variable cannot be placed in the
            # targets: they get weight 0 (counted in meta) rather than stopping the run
            opts.setdefault("missing", "exclude")
            if roles.base_weight and roles.base_weight in df.columns:
                opts.setdefault("base_weight", roles.base_weight)
            weighting = rake(df, targets, **opts).with_labels(q)
            df[WEIGHT_COLUMN] = weighting.weights.reindex(df.index).to_numpy(dtype=float)
            weights = WEIGHT_COLUMN
        elif roles.base_weight and roles.base_weight in df.columns:
            df[WEIGHT_COLUMN] = pd.to_numeric(df[roles.base_weight], errors="coerce")
            weights = WEIGHT_COLUMN
        meta["weighted"] = weights is not None
        if weights is not None:
            meta["zero_weight"] = int((df[WEIGHT_COLUMN].fillna(0) <= 0).sum())
        if weighting is not None:
            meta["weighting_efficiency"] = float(weighting.efficiency)
            meta["weighting_n_eff"] = float(weighting.n_eff)

        df = df.reset_index(drop=True)
        design = design_from_roles(q, df, weights)    # before the CRM key may be dropped
        df, dropped = drop_personal_data(q, df)
        declared = set(q.pii_columns) | ({roles.customer_id} if roles.customer_id else set())
        meta["dropped_columns"] = sorted(set(dropped) | (declared & set(raw.columns)))
        return cls(q, df, weights, weighting, meta, design)

    @classmethod
    def from_parquet(cls, questionnaire, data, *, targets=None,
                     weight_options: dict | None = None, memory_limit: str = "1.5GB",
                     threads: int | None = None):
        """Open responses larger than memory: a Parquet file or a folder of Parquet files.

        Nothing is loaded into pandas: the result, a
        :class:`~surveykit.outofcore.ParquetSurvey`, checks, rakes, estimates and tabulates
        with DuckDB queries (``pip install 'surveykit[scale]'``) within ``memory_limit``,
        and its results equal those of the in-memory functions (see
        :mod:`surveykit.outofcore`). With ``targets`` the data are raked as in
        :meth:`from_files` (missing weighting values excluded, the questionnaire's base
        weight used); without them, the base weight if the data have it. The data are used
        as they are (no ``clean()``): check them first with ``.check()``.

        Examples
        --------
        >>> import tempfile
        >>> from surveykit.survey import Survey
        >>> df = pd.DataFrame({"overall_sat": [6, 8, 9, 10], "segment": [1, 1, 2, 2]})
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     df.to_parquet(f"{tmp}/part-1.parquet")
        ...     s = Survey.from_parquet("questionnaires/pc_customers.yaml", tmp)
        ...     means = s.estimate("overall_sat", by="segment")
        >>> means[["group", "estimate", "n"]]
           group  estimate  n
        0      1       7.0  2
        1      2       9.5  2
        """
        from .outofcore import ParquetSurvey

        survey = ParquetSurvey.open(questionnaire, data, memory_limit=memory_limit,
                                    threads=threads)
        base = survey.questionnaire.roles.base_weight
        base = base if base and base in survey.columns else None
        if targets is not None:
            opts = dict(weight_options or {})
            opts.setdefault("missing", "exclude")
            if base:
                opts.setdefault("base_weight", base)
            return survey.rake(targets, **opts)
        if base:
            survey.weights = base
        return survey


def design_from_roles(q, df: pd.DataFrame, weights=None):
    """The sample design the questionnaire's ``roles.design`` declares, on ``df`` with the
    weight column ``weights`` (None when nothing is declared).

    The design's weights are the survey's: without a weight column every respondent weighs
    1, so estimates stay those of the unweighted survey (R ``svydesign`` would derive
    ``N_h / n_h`` from a population-size fpc: declare ``roles.base_weight`` for sampling
    weights).

    ``clusters``, ``strata``, ``fpc`` (columns or numbers), ``nest`` and ``lonely_psu`` give
    a :class:`surveykit.design.SurveyDesign` (R ``svydesign``); ``replicate_weights`` a
    :class:`~surveykit.design.ReplicateDesign` (R ``svrepdesign``).

    Raises
    ------
    DesignError
        Naming the questionnaire's file and line when the data do not fit the declaration
        (a column missing, a lonely PSU, an fpc smaller than the sample...).

    Examples
    --------
    >>> from surveykit.questionnaire import load_questionnaire
    >>> q = load_questionnaire("tests/fixtures/design_report/questionnaire.yaml")
    >>> df = pd.read_csv("tests/fixtures/design_report/responses.csv")
    >>> design_from_roles(q, df)
    SurveyDesign: 360 rows, 1 stage(s): 24 clusters (company), 2 strata, fpc; df = 22
    """
    from .design import ReplicateDesign, SurveyDesign
    from .errors import DesignError

    roles = getattr(q, "roles", None)
    spec = getattr(roles, "design", None)
    if spec is None:
        return None
    where = (f"{getattr(q, 'source', None) or 'the questionnaire'}, line "
             f"{q.line_of('roles', 'design')} (roles.design)")
    w = weights if weights is not None else np.ones(len(df))
    try:
        rw = spec.replicate_weights
        if rw is not None:
            return ReplicateDesign(df, repweights=rw.columns or rw.pattern, weights=w,
                                   type=rw.type, scale=rw.scale, rscales=rw.rscales,
                                   combined_weights=rw.combined_weights, rho=rw.rho,
                                   mse=rw.mse)
        fpc = [np.full(len(df), float(v)) if not isinstance(v, str) else v
               for v in spec.fpc_values]
        return SurveyDesign(df, ids=spec.cluster_columns or None,
                            strata=spec.strata_columns or None, weights=w, fpc=fpc or None,
                            nest=spec.nest, lonely_psu=spec.lonely_psu)
    except DesignError as exc:
        raise DesignError(f"{where}: {exc}") from None


def drop_personal_data(q, df: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Remove ``pii: true`` columns (and the CRM key) so they never reach a report."""
    drop = list(q.pii_columns)
    if q.roles.customer_id:
        drop.append(q.roles.customer_id)
    dropped = [c for c in drop if c in df.columns]
    return df.drop(columns=dropped), dropped


def _join_crm(q, df: pd.DataFrame, crm_df: pd.DataFrame, *, as_of=None):
    """Join the CRM extract; add value tier and lifecycle stage (as numeric codes + labels)
    when the extract has spend and purchase dates. Returns ``(df, new columns, labels,
    notes)``; warnings of the join (e.g. undeclared personal data dropped) become notes."""
    from .crm import join_crm, lifecycle_stage, value_tiers

    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SurveykitWarning)
        if "spend_12m" in crm_df.columns:
            crm_df["value_tier"] = value_tiers(crm_df, "spend_12m")
        if {"first_purchase", "last_purchase"} <= set(crm_df.columns):
            given = as_of is not None
            if given:
                try:
                    as_of = pd.Timestamp(as_of)
                except (TypeError, ValueError):
                    raise ReportError(f"as_of {as_of!r} is not a date; write it as "
                                      "YYYY-MM-DD") from None
            else:
                as_of = pd.to_datetime(crm_df["last_purchase"], errors="coerce").max()
            if pd.notna(as_of):
                crm_df["lifecycle"] = lifecycle_stage(crm_df, as_of=as_of)
                notes.append(f"lifecycle stages as of {as_of.date()}" + (
                    "" if given else " (latest purchase in the CRM extract; set --as-of to "
                    "the extract's date)"))
        before = set(df.columns)
        df = join_crm(df, crm_df, questionnaire=q)
    notes.extend(str(w.message) for w in caught if issubclass(w.category, SurveykitWarning))
    new = [c for c in df.columns if c not in before]
    labels: dict[str, dict] = {}
    for col in new:
        s = df[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            cats = list(s.cat.categories)
            codes = s.cat.codes.astype(float).where(s.cat.codes >= 0)
            df[col] = codes + 1
            labels[col] = {i + 1: str(c) for i, c in enumerate(cats)}
        elif s.dtype == bool:
            df[col] = s.astype(float)
    return df, new, labels, notes


def _read_table(path) -> pd.DataFrame:
    path = Path(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if path.suffix.lower() in (".xlsx", ".xls"):
        return pd.read_excel(path)
    return pd.read_csv(path)


def _jsonable(obj):
    """A JSON-safe copy of small metadata (DataFrames become records)."""
    if obj is None or isinstance(obj, str | bool | int):
        return obj
    if isinstance(obj, float | np.floating):
        return None if not np.isfinite(obj) else float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, pd.DataFrame):
        return _jsonable(obj.to_dict(orient="records"))
    if isinstance(obj, pd.Series):
        return _jsonable(obj.to_dict())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SurveykitWarning)
        return str(obj)
