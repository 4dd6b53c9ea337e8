"""All waves prepared in one call: read, checked and cleaned wave by wave, each wave weighted
to its own targets (:func:`survey_from_waves`)."""

from __future__ import annotations

import os
from collections.abc import Mapping

import pandas as pd

from .._survey_prepare import WEIGHT_COLUMN, drop_personal_data
from ..questionnaire import Questionnaire, load_questionnaire
from ..responses import check_responses, clean
from ..survey import Survey
from .reading import read_waves, read_waves_file
from .weighting import weight_waves

__all__ = ["survey_from_waves"]

_WAVE_ATTRS = ("waves", "wave_column", "wave_sources", "wave_versions", "wave_changes")


def _loaded(q):
    return q if isinstance(q, Questionnaire) else load_questionnaire(q)


def survey_from_waves(questionnaire, data, *, targets=None, wave: str | None = None,
                      order=None, weight_options: dict | None = None) -> Survey:
    """Read every wave (:func:`~surveykit.waves.read_waves`), check and clean each wave with
    its own questionnaire version (a respondent may answer two waves: ids are unique
    within a wave), rake each wave to its own targets (:func:`~surveykit.waves.weight_waves`)
    and drop personal data.

    Parameters
    ----------
    questionnaire : path, Questionnaire or mapping wave label -> either
    data : path or mapping wave label -> path
        One file with a wave column, a mapping wave label -> file, or a waves file
        (``.yaml``, :func:`~surveykit.waves.reading.read_waves_file`), which also names each
        wave's targets (and questionnaire version).
    targets : mapping wave label -> targets, or one targets for every wave, optional
    wave, order : see :func:`~surveykit.waves.read_waves`
    weight_options : dict, optional
        Passed to :func:`~surveykit.weighting.rake` (default ``missing="exclude"``).

    Returns
    -------
    Survey
        The latest wave's questionnaire, all waves' data (an ordered wave column), the
        weight column and, as ``weighting``, the :class:`~surveykit.waves.WaveWeighting`
        (one WeightingReport per wave); ``meta["waves"]``: per wave, the rows read and
        kept, check errors and weighting efficiency; the data's ``attrs`` and
        ``meta["wave_changes"]`` keep the wave order and the questionnaire changes for
        :func:`~surveykit.waves.trend`.

    Examples
    --------
    >>> s = survey_from_waves("questionnaires/pc_customers.yaml", "data/demo/waves.yaml")
    >>> [(w, m["n"], round(m["weighting_efficiency"], 2)) for w, m in s.meta["waves"].items()]
    [('2026Q1', 3994, 0.68), ('2026Q2', 3994, 0.67)]
    """
    if isinstance(data, str | os.PathLike) and str(data).lower().endswith((".yaml", ".yml")):
        spec = read_waves_file(data)
        data = spec["data"]
        targets = spec["targets"] if targets is None else targets
        questionnaire = spec["questionnaire"] or questionnaire
    if isinstance(questionnaire, Mapping):
        versions = {k: _loaded(v) for k, v in questionnaire.items()}
    else:
        versions = _loaded(questionnaire)
    raw = read_waves(data, versions, wave=wave, order=order)
    col, waves = raw.attrs["wave_column"], raw.attrs["waves"]
    qs = versions if isinstance(versions, Mapping) else dict.fromkeys(waves, versions)
    qs = {str(k): v for k, v in qs.items()}
    parts, meta = [], {}
    for w in waves:
        part = raw[(raw[col] == w).to_numpy()]
        checked = check_responses(qs[w], part)
        cleaned, log = clean(qs[w], part, checked)
        parts.append(cleaned)
        meta[w] = {"n_raw": int(len(part)), "n": int(len(cleaned)),
                   "check_errors": int(checked.n_errors), "cleaning_log_rows": int(len(log))}
    df = pd.concat(parts)
    df[col] = pd.Categorical(df[col].astype(str), categories=waves, ordered=True)
    df.attrs = {k: raw.attrs[k] for k in _WAVE_ATTRS}
    weights = ww = None
    if targets is not None:
        opts = {"missing": "exclude", **(weight_options or {})}
        ww = weight_waves(df, targets, wave=col, **opts)
        ww.reports = {w: rep.with_labels(qs[w]) for w, rep in ww.reports.items()}
        df[WEIGHT_COLUMN] = ww.weights.to_numpy()
        weights = WEIGHT_COLUMN
        for w, rep in ww.reports.items():
            meta[w].update({"targets": ww.targets[w], "weighting_efficiency": rep.efficiency,
                            "weighting_n_eff": rep.n_eff})
    latest = qs[waves[-1]]
    df, dropped = drop_personal_data(latest, df)
    df = df.reset_index(drop=True)
    df.attrs = {k: raw.attrs[k] for k in _WAVE_ATTRS}
    changes = [{k: (int(v) if k == "line" and v is not None and v == v else v)
                for k, v in r.items()} for r in raw.attrs["wave_changes"]]
    return Survey(latest, df, weights, ww, {"waves": meta, "wave_column": col,
                                              "wave_changes": changes,
                                              "dropped_columns": dropped,
                                              "weighted": weights is not None})
