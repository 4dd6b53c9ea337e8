"""A small :class:`Survey`: questionnaire + clean responses + weights, travelling together.

Every analysis function in surveykit works on a plain DataFrame with ``weights=``; a
``Survey`` only saves passing the same three things again and again, and lets the report
runner prepare (check, clean, weight, join CRM, drop personal data) **once** and hand the
result to every per-segment notebook (:meth:`Survey.save` / :meth:`Survey.load`).
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._util import atomic_write, resolve_weights
from .errors import ReportError, SurveykitWarning

__all__ = ["Survey", "WEIGHT_COLUMN", "design_from_roles"]

WEIGHT_COLUMN = "weight"
_DATA_FILE = "responses.parquet"
_META_FILE = "survey.json"
_QUESTIONNAIRE_FILE = "questionnaire.yaml"
_WEIGHTING_FILE = "weighting.pkl"


@dataclass
class Survey:
    """Questionnaire, analysis-ready responses and the weight column, together.

    Parameters
    ----------
    questionnaire : Questionnaire
        The loaded questionnaire (labels, scales, constructs, roles).
    data : DataFrame
        One row per respondent, cleaned (missing codes NaN, derived variables added),
        without personal-data columns.
    weights : str or None
        Name of the weight column of ``data`` (``None``: unweighted).
    weighting : WeightingReport, optional
        The raking report, when the data were weighted to targets.
    design : SurveyDesign or ReplicateDesign, optional
        The sample design of ``data`` (:mod:`surveykit.design`; see :meth:`with_design`):
        :meth:`apply` hands it to every function that takes ``design=`` (estimates,
        totals, tests, banners), whose SEs then follow its clusters, strata and fpc. By
        default the design the questionnaire's ``roles.design`` declares
        (:func:`design_from_roles`), built on ``data`` with ``weights``.
    meta : dict
        What was done while preparing: source files, check summary, CRM columns joined,
        personal-data columns dropped.

    Examples
    --------
    >>> from surveykit import estimates
    >>> s = Survey.from_files("questionnaires/pc_customers.yaml",
    ...                       "data/demo/responses.csv",
    ...                       targets="data/demo/targets.yaml")
    >>> s
    Survey('pc_customers', n=3994, weights='weight')
    >>> nps = s.apply(estimates.estimate, "nps", stat="nps", by="segment")
    >>> nps[["group", "label", "estimate", "ci_low", "ci_high", "n"]].round(1)
       group                   label  estimate  ci_low  ci_high     n
    0      1                Students       1.6    -5.9      9.2   508
    1      2     Young professionals      42.0    37.8     45.9  1467
    2      3             Older users     -29.3   -37.1    -20.9   440
    3      4       Large enterprises      32.5    25.5     39.0   516
    4      5                    SMEs      -0.2    -6.3      5.9   619
    5      6  Government & education      17.8    10.0     25.3   441
    """

    questionnaire: Any
    data: pd.DataFrame
    weights: str | None = WEIGHT_COLUMN
    weighting: Any = None
    meta: dict = field(default_factory=dict)
    design: Any = None

    def __post_init__(self) -> None:
        if self.weights is not None:
            resolve_weights(self.data, self.weights, error=ReportError)
        if self.design is None:
            self.design = design_from_roles(self.questionnaire, self.data, self.weights)
        if self.design is not None:
            self.design.check(self.data)

    def with_design(self, **design) -> Survey:
        """This survey with a sample design on its data and weights (a new object).

        ``design`` are the keyword arguments of :class:`surveykit.design.SurveyDesign`
        (``ids``, ``strata``, ``fpc``, ``nest``, ``lonely_psu``...); the weights are this
        survey's weight column.

        Examples
        --------
        >>> from surveykit import estimates
        >>> from surveykit.questionnaire import load_questionnaire
        >>> q = load_questionnaire("questionnaires/pc_customers.yaml")
        >>> df = pd.DataFrame({"overall_sat": [6, 8, 9, 10, 7, 5], "firm": [1, 1, 2, 2, 3, 3],
        ...                    "weight": 1.0})
        >>> s = Survey(q, df).with_design(ids="firm")
        >>> s.apply(estimates.estimate, "overall_sat")[["estimate", "se", "df"]].round(3)
           estimate     se   df
        0       7.5  1.041  2.0
        """
        from dataclasses import replace

        from .design import SurveyDesign

        return replace(self, design=SurveyDesign(self.data, weights=self.weights, **design))

    # -- building ------------------------------------------------------------------------
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

    # -- persistence -----------------------------------------------------------------------
    def save(self, folder: str | os.PathLike) -> Path:
        """Write the prepared survey to ``folder`` (Parquet data, questionnaire copy, JSON
        metadata, pickled weighting report) so worker processes can :meth:`load` it.

        Examples
        --------
        >>> import tempfile
        >>> from surveykit.questionnaire import load_questionnaire
        >>> q = load_questionnaire("questionnaires/pc_customers.yaml")
        >>> df = pd.DataFrame({"overall_sat": [6, 8, 9, 10], "segment": [1, 1, 2, 2],
        ...                    "weight": [1.0, 3.0, 1.0, 1.0]})
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     folder = Survey(q, df).save(Path(tmp) / "prepared")
        ...     files = sorted(p.name for p in folder.iterdir())
        >>> files
        ['questionnaire.yaml', 'responses.parquet', 'survey.json', 'weighting.pkl']
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{_DATA_FILE}.tmp"
        self.data.to_parquet(tmp, index=False)
        os.replace(tmp, folder / _DATA_FILE)
        source = getattr(self.questionnaire, "source", None)
        if source and Path(source).is_file():
            shutil.copyfile(source, folder / _QUESTIONNAIRE_FILE)
        with open(folder / _WEIGHTING_FILE, "wb") as fh:
            pickle.dump({"questionnaire": self.questionnaire, "weighting": self.weighting,
                         "design": self.design}, fh)
        atomic_write(folder / _META_FILE, json.dumps(
            {"weights": self.weights, "meta": _jsonable(self.meta)}, indent=2,
            ensure_ascii=False))
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike) -> Survey:
        """Read a survey written by :meth:`save`.

        Examples
        --------
        >>> import tempfile
        >>> from surveykit.questionnaire import load_questionnaire
        >>> q = load_questionnaire("questionnaires/pc_customers.yaml")
        >>> df = pd.DataFrame({"overall_sat": [6, 8, 9, 10], "segment": [1, 1, 2, 2],
        ...                    "weight": [1.0, 3.0, 1.0, 1.0]})
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     folder = Survey(q, df).save(Path(tmp) / "prepared")
        ...     s = Survey.load(folder)
        >>> s
        Survey('pc_customers', n=4, weights='weight')
        >>> s.data.equals(df)
        True
        """
        folder = Path(folder)
        if not (folder / _META_FILE).is_file():
            raise ReportError(f"{folder} is not a prepared survey folder (no {_META_FILE}); "
                              "write one with Survey.save()")
        meta = json.loads((folder / _META_FILE).read_text(encoding="utf-8"))
        with open(folder / _WEIGHTING_FILE, "rb") as fh:
            objs = pickle.load(fh)  # noqa: S301 - our own file, written by save()
        data = pd.read_parquet(folder / _DATA_FILE)
        design = objs.get("design")
        if design is not None and design.n == len(data):
            design.index = data.index                 # the data were saved without an index
        return cls(objs["questionnaire"], data, meta["weights"], objs["weighting"], meta["meta"],
                   design)

    # -- using ----------------------------------------------------------------------------
    def weight_array(self) -> np.ndarray:
        """The weights as an array aligned with :attr:`data` (ones when unweighted)."""
        return resolve_weights(self.data, self.weights, error=ReportError)

    def apply(self, func: Callable, *args, **kwargs):
        """Call ``func(self.data, *args, weights=self.weights, **kwargs)``, with labels.

        With a :attr:`design`, a function that takes ``design=`` gets it (and no weights:
        the design carries them) unless you pass your own.

        The questionnaire's labels are added where the result has codes or ids: a table
        with a ``group`` column (``by=``) gets a ``label`` column beside it (the codes stay
        in ``group``); a result with ``with_labels`` (key drivers) gets the driver and
        segment labels, which its ``wide()`` grid shows.

        Examples
        --------
        >>> from surveykit import estimates
        >>> from surveykit.questionnaire import load_questionnaire
        >>> q = load_questionnaire("questionnaires/pc_customers.yaml")
        >>> df = pd.DataFrame({"overall_sat": [6, 8, 9, 10], "segment": [1, 1, 2, 2],
        ...                    "weight": [1.0, 3.0, 1.0, 1.0]})
        >>> s = Survey(q, df)
        >>> s.apply(estimates.estimate, "overall_sat")[["estimate", "n", "n_eff"]].round(3)
           estimate  n  n_eff
        0     8.167  4    3.0
        """
        if self.design is not None and "design" not in kwargs and _takes_design(func):
            kwargs["design"] = self.design            # the design carries the weights
            kwargs.setdefault("weights", None)
        kwargs.setdefault("weights", self.weights)
        return self._labelled(func(self.data, *args, **kwargs), kwargs.get("by"))

    def _labelled(self, result, by):
        seg = self.labels(by) if isinstance(by, str) else {}
        if isinstance(result, pd.DataFrame) and seg and "group" in result.columns \
                and "label" not in result.columns:
            keyed = {_code_key(k): v for k, v in seg.items()}
            out = result.copy()
            out.insert(out.columns.get_loc("group") + 1, "label",
                       [keyed.get(_code_key(g), g) for g in out["group"]])
            return out
        if hasattr(result, "with_labels") and hasattr(result, "drivers"):
            names = {}
            for d in result.drivers:
                try:
                    names[d] = self.questionnaire.variable(d).label or d
                except KeyError:
                    names[d] = d
            return result.with_labels(names, seg)
        return result

    def labels(self, name: str) -> dict:
        """Value labels of a column: the questionnaire's, else those of CRM-derived columns
        (value tier, lifecycle stage) recorded while preparing."""
        lab = self.questionnaire.labels(name)
        if lab:
            return lab
        return dict((self.meta.get("labels") or {}).get(name, {}))

    def segment_mask(self, by: str, value) -> pd.Series:
        """Boolean mask of the respondents whose ``by`` equals ``value`` (codes compared
        as numbers when both sides are numeric, so ``"1"`` matches ``1.0``)."""
        if by not in self.data.columns:
            raise ReportError(f"segment variable {by!r} is not in the data; known segment "
                              f"variables: {segment_variables(self)}")
        return _equals(self.data[by], value)

    def subset(self, by: str, value) -> Survey:
        """The survey restricted to one segment (a new object; this one is unchanged)."""
        mask = self.segment_mask(by, value)
        return Survey(self.questionnaire, self.data.loc[mask].reset_index(drop=True),
                      self.weights, self.weighting, dict(self.meta))

    def __repr__(self) -> str:
        w = f"weights={self.weights!r}" if self.weights else "unweighted"
        return f"Survey({self.questionnaire.id!r}, n={len(self.data)}, {w})"

    def _repr_html_(self) -> str:
        """A short notebook view: questionnaire, respondents, weights, what was prepared."""
        import html

        q = self.questionnaire
        rows = [("respondents", f"{len(self.data):,}"), ("columns", f"{self.data.shape[1]:,}")]
        if self.weighting is not None:
            rows.append(("weighting", self.weighting.summary().replace("\n", "; ")))
        elif self.weights:
            rows.append(("weights", self.weights))
        else:
            rows.append(("weights", "unweighted"))
        if self.design is not None:
            rows.append(("sample design", getattr(self.design, "description", None)
                         or self.design.method))
        segs = segment_variables(self)
        if segs:
            rows.append(("segment variables", ", ".join(segs)))
        for key, name in (("n_raw", "rows read"), ("check_errors", "check errors (cleaned)"),
                          ("crm_columns", "CRM columns joined"),
                          ("dropped_columns", "personal-data columns dropped")):
            v = self.meta.get(key)
            if v:
                rows.append((name, ", ".join(map(str, v)) if isinstance(v, list | tuple)
                             else f"{v:,}" if isinstance(v, int) else str(v)))
        body = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
                       f"<td style='text-align:left'>{html.escape(str(v))}</td></tr>"
                       for k, v in rows)
        return (f"<div><strong>Survey</strong> <code>{html.escape(q.id)}</code>"
                f"{': ' + html.escape(q.title) if q.title else ''}<table>{body}</table></div>")


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


def _takes_design(func: Callable) -> bool:
    import inspect

    try:
        return "design" in inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False


def segment_variables(survey: Survey) -> list[str]:
    """Segment variables declared in the questionnaire's roles that are in the data."""
    return [s for s in survey.questionnaire.roles.segments if s in survey.data.columns]


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


def _code_key(code):
    """A code as a lookup key: ``2``, ``2.0`` and ``"2"`` are one code."""
    try:
        f = float(code)
    except (TypeError, ValueError):
        return code
    return int(f) if f.is_integer() else f


def _equals(col: pd.Series, value) -> pd.Series:
    num = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
    if pd.notna(num):
        as_num = pd.to_numeric(col, errors="coerce")
        if as_num.notna().any():
            return (as_num == num).fillna(False).astype(bool)
    return (col.astype(str) == str(value)).fillna(False).astype(bool)


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
