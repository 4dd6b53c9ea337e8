"""Reading responses of several survey waves into one frame (:func:`read_waves`)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import ResponseDataError
from ..questionnaire import Questionnaire
from ..responses.reading import read_responses, where_in_file

__all__ = ["read_waves", "wave_label", "wave_order", "DEFAULT_WAVE_COLUMN"]

#: The wave column of per-wave files when the questionnaire declares no ``roles.wave``.
DEFAULT_WAVE_COLUMN = "wave"


def wave_label(value) -> str:
    """A wave value as its label: text as written, whole numbers without ``.0``.

    Examples
    --------
    >>> wave_label(2.0), wave_label("2026Q1"), wave_label(3)
    ('2', '2026Q1', '3')
    """
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _sort_key(label: str):
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)


def wave_order(df: pd.DataFrame, wave: str) -> list[str]:
    """The waves of ``df`` in order: the categories of an ordered wave column (as
    :func:`read_waves` makes it), else the labels sorted (numbers numerically).

    Examples
    --------
    >>> wave_order(pd.DataFrame({"w": ["2026Q2", "2026Q1", "2026Q2"]}), "w")
    ['2026Q1', '2026Q2']
    >>> wave_order(pd.DataFrame({"w": [10, 9, 10]}), "w")
    ['9', '10']
    """
    if wave not in df.columns:
        raise ResponseDataError(f"no wave column {wave!r} in the data; name the column that "
                                "holds each row's wave (roles.wave in the questionnaire or "
                                "wave=)")
    s = df[wave]
    if isinstance(s.dtype, pd.CategoricalDtype) and s.cat.ordered:
        present = set(s.dropna().unique())
        return [wave_label(c) for c in s.cat.categories if c in present]
    return sorted({wave_label(v) for v in s.dropna().unique()}, key=_sort_key)


def _wave_column(q: Questionnaire, wave: str | None, *, per_file: bool) -> str:
    if wave is not None:
        return wave
    declared = q.model.roles.wave
    if declared:
        return declared
    if per_file:
        return DEFAULT_WAVE_COLUMN
    raise ResponseDataError(f"questionnaire {q.id!r} declares no wave column: declare it "
                            "(roles: {wave: <column>}) or pass wave=<column>")


def _versions(questionnaire, labels: list[str]) -> dict[str, Questionnaire]:
    if isinstance(questionnaire, Questionnaire):
        return dict.fromkeys(labels, questionnaire)
    if not isinstance(questionnaire, Mapping):
        raise ResponseDataError("questionnaire must be a Questionnaire or a mapping wave label "
                                f"-> Questionnaire, not {type(questionnaire).__name__}")
    given = {wave_label(k): v for k, v in questionnaire.items()}
    missing = [w for w in labels if w not in given]
    if missing:
        raise ResponseDataError(f"no questionnaire for wave(s) {', '.join(missing)}; give one "
                                f"per wave (given: {', '.join(given) or 'none'})")
    bad = [w for w in labels if not isinstance(given[w], Questionnaire)]
    if bad:
        raise ResponseDataError(f"the questionnaire of wave(s) {', '.join(bad)} is not a "
                                "loaded Questionnaire; load it with load_questionnaire()")
    return {w: given[w] for w in labels}


def _ordered(labels_found: list[str], order, where: str) -> list[str]:
    if order is None:
        return sorted(set(labels_found), key=_sort_key)
    want = [wave_label(v) for v in order]
    dup = sorted({w for w in want if want.count(w) > 1})
    if dup:
        raise ResponseDataError(f"order= names wave(s) {', '.join(dup)} twice")
    extra = sorted(set(labels_found) - set(want), key=_sort_key)
    if extra:
        raise ResponseDataError(f"{where} has wave(s) {', '.join(extra)} that order= does not "
                                f"name (order: {', '.join(want)}); add them to order=")
    return want


def read_waves(source, questionnaire, *, wave: str | None = None,
               order: Sequence | None = None, **options) -> pd.DataFrame:
    """Read the responses of several waves into one frame with an ordered wave column.

    Parameters
    ----------
    source : path or mapping
        One responses file with a wave column (named by ``roles.wave`` or ``wave=``), or a
        mapping wave label -> file (one file per wave, in wave order). A per-wave file may
        hold the wave column too; its values must then be that wave's label.
    questionnaire : Questionnaire or mapping
        The questionnaire, or a mapping wave label -> the questionnaire version that wave
        used (every wave needs one); each wave's file is typed with its own version, and
        :func:`surveykit.waves.compare_versions` lists what changed between them (kept in
        ``df.attrs["wave_changes"]``, so that :func:`surveykit.waves.trend` does not trend
        a changed question).
    wave : str, optional
        The wave column (default ``roles.wave`` of the latest wave's questionnaire; with
        per-wave files ``"wave"`` when none is declared).
    order : sequence, optional
        The waves, first to latest. Default: the mapping's order for per-wave files, the
        labels sorted (numbers numerically) for one file.
    **options
        Passed to :func:`surveykit.responses.read_responses` (``sep``, ``sheet``...).

    Returns
    -------
    DataFrame
        The waves stacked (rows in wave order, then file order), the wave column an ordered
        categorical of the wave labels (text). ``attrs``: ``waves`` (the order),
        ``wave_column``, ``wave_sources`` (label -> file), ``wave_versions`` (label ->
        questionnaire version), ``wave_changes`` (rows of
        :meth:`~surveykit.waves.VersionChanges.to_frame`), ``source_rows`` (each row's file
        and line: messages of :func:`~surveykit.responses.check_responses` cite them).

    Raises
    ------
    ResponseDataError
        No wave column, a row without a wave (its file line named), a per-wave file whose
        wave column disagrees with its label, waves missing from ``order``, a wave without
        a questionnaire; and every error of :func:`~surveykit.responses.read_responses`.

    Examples
    --------
    >>> import tempfile
    >>> from surveykit.questionnaire import load_questionnaire
    >>> q = load_questionnaire("questionnaires/pc_customers.yaml")
    >>> demo = pd.read_csv("data/demo/responses.csv", dtype=str).head(6)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     demo.iloc[:4].to_csv(f"{tmp}/q1.csv", index=False)
    ...     demo.iloc[4:].to_csv(f"{tmp}/q2.csv", index=False)
    ...     df = read_waves({"2026Q1": f"{tmp}/q1.csv", "2026Q2": f"{tmp}/q2.csv"}, q)
    >>> df["wave"].value_counts(sort=False).to_dict()
    {'2026Q1': 4, '2026Q2': 2}
    >>> from surveykit.responses.reading import where_in_file
    >>> where_in_file(df, [1, 5])
    ' at q1.csv line 3; q2.csv line 3'
    """
    if isinstance(source, Mapping):
        return _read_per_wave(source, questionnaire, wave, order, options)
    if not isinstance(source, str | os.PathLike):
        raise ResponseDataError("source must be a responses file or a mapping wave label -> "
                                f"file, not {type(source).__name__}")
    latest = questionnaire if isinstance(questionnaire, Questionnaire) else \
        list(questionnaire.values())[-1] if isinstance(questionnaire, Mapping) and \
        questionnaire else questionnaire
    if not isinstance(latest, Questionnaire):
        _versions(questionnaire, [])  # raises the message about the questionnaire argument
    col = _wave_column(latest, wave, per_file=False)
    df = read_responses(source, latest, **options)
    if col not in df.columns:
        raise ResponseDataError(f"{source}: no wave column {col!r}; the file's columns do not "
                                "include it (pass wave=<column> or read one file per wave "
                                "with a mapping wave label -> file)")
    s = df[col]
    missing = s.isna().to_numpy()
    if missing.any():
        rows = df.index[missing][:5].tolist()
        raise ResponseDataError(f"{source}: {int(missing.sum())} row(s) have no wave in column "
                                f"{col!r}{where_in_file(df, rows)}; give every row its wave")
    labels = s.map(wave_label)
    waves = _ordered(labels.unique().tolist(), order, str(source))
    versions = _versions(questionnaire, waves)
    df[col] = pd.Categorical(labels, categories=waves, ordered=True)
    return _finish(df, col, waves, dict.fromkeys(waves, str(source)), versions)


def _read_per_wave(source: Mapping, questionnaire, wave, order, options) -> pd.DataFrame:
    if not source:
        raise ResponseDataError("no wave files given; pass a mapping wave label -> file")
    files = {wave_label(k): v for k, v in source.items()}
    if len(files) != len(source):
        raise ResponseDataError("two waves of source have the same label once written as "
                                f"text: {', '.join(map(repr, source))}")
    waves = list(files) if order is None else _ordered(list(files), order, "source")
    absent = [w for w in waves if w not in files]
    if absent:
        raise ResponseDataError(f"order= names wave(s) {', '.join(absent)} without a file")
    versions = _versions(questionnaire, waves)
    col = _wave_column(versions[waves[-1]], wave, per_file=True)
    frames, parts, offset = [], [], 0
    for w in waves:
        part = read_responses(files[w], versions[w], **options)
        if col in part.columns:
            got = part[col].map(lambda v: v if pd.isna(v) else wave_label(v))
            bad = got.notna().to_numpy() & (got != w).to_numpy()
            if bad.any():
                rows = part.index[bad][:5].tolist()
                raise ResponseDataError(
                    f"{files[w]}: the file of wave {w} has other waves in column {col!r} "
                    f"({', '.join(map(str, got[bad].unique()[:5]))}){where_in_file(part, rows)}"
                    "; give each wave its own file, or read one file with a wave column")
        rows = part.attrs.get("source_rows")
        if isinstance(rows, dict):
            parts.append({**rows, "offset": offset})
        offset += len(part)
        part = part.assign(**{col: w})
        frames.append(part)
    df = pd.concat(frames, ignore_index=True)
    df[col] = pd.Categorical(df[col], categories=waves, ordered=True)
    if len(parts) == len(waves):
        df.attrs["source_rows"] = {"parts": parts, "n": len(df)}
    return _finish(df, col, waves, {w: str(files[w]) for w in waves}, versions)


def _finish(df: pd.DataFrame, col: str, waves: list[str], sources: dict,
            versions: dict[str, Questionnaire]) -> pd.DataFrame:
    from .versions import compare_versions

    changes = compare_versions(versions) if len(set(map(id, versions.values()))) > 1 else None
    df.attrs.update({
        "questionnaire": versions[waves[-1]].id, "waves": waves, "wave_column": col,
        "wave_sources": sources,
        "wave_versions": {w: versions[w].model.version for w in waves},
        "wave_changes": [] if changes is None else changes.to_frame().to_dict("records"),
    })
    return df


def read_waves_file(path) -> dict:
    """A waves file: which data, targets and questionnaire each wave has, in wave order.

    ``waves.yaml`` holds ``waves:`` mapping each wave label to ``data`` (its responses
    file) and optionally ``targets`` (its targets.yaml) and ``questionnaire`` (its
    questionnaire version); paths are relative to the waves file. ``surveykit report
    --data waves.yaml --wave latest`` and :func:`~surveykit.waves.survey_from_waves` read it.

    Returns
    -------
    dict
        ``{"data": {label: path}, "targets": {label: path} or None,
        "questionnaire": {label: path} or None}``.

    Examples
    --------
    >>> w = read_waves_file("data/demo/waves.yaml")
    >>> list(w["data"]), w["targets"]["2026Q2"].as_posix()
    (['2026Q1', '2026Q2'], 'data/demo/wave2/targets.yaml')
    """
    from pathlib import Path

    from ..errors import Problem
    from ..questionnaire.loader import YAMLReadError, parse_yaml, read_yaml_file

    path = Path(path)
    text = read_yaml_file(path, ResponseDataError, "waves")
    try:
        doc = parse_yaml(text)
    except YAMLReadError as exc:
        raise ResponseDataError(Problem(exc.message, line=exc.line, file=str(path))) from None

    def fail(message, node=None, key=None):
        line = None
        if node is not None and key is not None and hasattr(node, "lc"):
            try:
                line = node.lc.key(key)[0] + 1
            except (KeyError, TypeError):
                line = None
        raise ResponseDataError(Problem(message, line=line, file=str(path)))

    if not isinstance(doc, Mapping) or not isinstance(doc.get("waves"), Mapping) \
            or not doc["waves"]:
        fail("a waves file holds waves: {label: {data: responses.csv, targets: "
             "targets.yaml}, ...}")
    unknown = [k for k in doc if k != "waves"]
    if unknown:
        fail(f"unknown key {unknown[0]!r}; a waves file holds only waves:", doc, unknown[0])
    out: dict = {"data": {}, "targets": {}, "questionnaire": {}}
    for label, spec in doc["waves"].items():
        if not isinstance(spec, Mapping) or "data" not in spec:
            fail(f"wave {label}: give its data file (data: responses.csv)", doc["waves"], label)
        extra = [k for k in spec if k not in ("data", "targets", "questionnaire")]
        if extra:
            fail(f"wave {label}: unknown key {extra[0]!r} (data, targets, questionnaire)",
                 spec, extra[0])
        for key in ("data", "targets", "questionnaire"):
            if key in spec:
                p = path.parent / str(spec[key])
                if not p.is_file():
                    fail(f"wave {label}: {key} file {p} not found", spec, key)
                out[key][wave_label(label)] = p
    for key in ("targets", "questionnaire"):
        if not out[key]:
            out[key] = None
        elif len(out[key]) != len(out["data"]):
            fail(f"give {key} for every wave or for none")
    return out
