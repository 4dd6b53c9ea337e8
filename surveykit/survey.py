"""A small :class:`Survey`: questionnaire + clean responses + weights, travelling together.

Every analysis function in surveykit works on a plain DataFrame with ``weights=``; a
``Survey`` only saves passing the same three things again and again, and lets the report
runner prepare (check, clean, weight, join CRM, drop personal data) **once** and hand the
result to every per-segment notebook (:meth:`Survey.save` / :meth:`Survey.load`).

Building a survey from files (:meth:`Survey.from_files`, :meth:`Survey.from_parquet`) and
the design a questionnaire declares (:func:`design_from_roles`) live in
:mod:`surveykit._survey_prepare`.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._survey_prepare import WEIGHT_COLUMN, _jsonable, _Preparing, design_from_roles
from ._util import atomic_write, resolve_weights
from .errors import ReportError

__all__ = ["Survey", "WEIGHT_COLUMN", "design_from_roles"]

_DATA_FILE = "responses.parquet"
_META_FILE = "survey.json"
_QUESTIONNAIRE_FILE = "questionnaire.yaml"
_WEIGHTING_FILE = "weighting.pkl"


@dataclass
class Survey(_Preparing):
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


def _takes_design(func: Callable) -> bool:
    import inspect

    try:
        return "design" in inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False


def segment_variables(survey: Survey) -> list[str]:
    """Segment variables declared in the questionnaire's roles that are in the data."""
    return [s for s in survey.questionnaire.roles.segments if s in survey.data.columns]


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
