"""The data that survey platforms return, in the layout surveykit reads.

A form written by :func:`surveykit.questionnaire.xlsform.to_xlsform` and fielded on
KoboToolbox or ODK Central comes back as a CSV or XLSX export whose columns differ from the
questionnaire's: :func:`from_platform_export` renames and reshapes them, and lists every
column it touched. :func:`~surveykit.responses.read_responses` does it when given
``platform="kobo"`` or ``platform="odk"``.

- **Group paths**: ``experience/attr/sat_cpu`` (KoboToolbox), ``experience-attr-sat_cpu``
  (ODK Central) become ``sat_cpu``. A surveykit id holds no ``/ - . :``, so the last part
  of the path is the question.
- **select_multiple** as one column of space-separated codes (``"1 3 99"``) becomes the 0/1
  columns ``q_1``, ``q_3``, ``q_99``...; the 0/1 columns KoboToolbox can add (``q/1``) are
  used when there is no such column, and checked against it when there is. A blank answer
  is 0 in every option column for respondents the routing asked (nothing ticked) and
  missing for the others, as in surveykit's own files. A code that is not an option keeps
  a column of its own (``q_8``), which ``check_responses`` reports as unknown.
- **rank**: the ordered codes ``"3 1 7"`` become rank positions ``q_3 = 1``, ``q_1 = 2``,
  ``q_7 = 3``; positions beyond the question's ``rank_max`` are dropped and counted.
- **Metadata**: the submission's ``_uuid`` (else ``meta/instanceID``, ``KEY``, ``_id`` or
  ``_index``) becomes ``roles.respondent_id`` when the export has no such column: a
  duplicated submission keeps its ``_uuid``, so ``check_responses`` reports it as a
  duplicate id. ``start`` and ``end`` give ``roles.duration`` in seconds. Every other
  metadata column (``_submission_time``, ``_index``, ``_status``, ``__version__``...) is
  dropped, and so are ``calculate`` columns of derived variables, which surveykit derives
  again from the answers.

Export the data with XML values and headers (codes, not labels); an export of labels is
refused with a message that says so.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..errors import Problem, ResponseDataError
from ..questionnaire import Questionnaire, Variable

__all__ = ["from_platform_export", "PLATFORMS", "reader_view"]

PLATFORMS = ("kobo", "odk")
_SPLIT = re.compile(r"[/\-.:]")
#: Submission ids, in order of preference, for a respondent id the export does not hold.
ID_SOURCES = ("_uuid", "instanceid", "key", "_id", "_index")
#: Metadata columns of KoboToolbox, ODK Central / Briefcase, Ona and SurveyCTO exports.
METADATA = frozenset({
    "start", "end", "starttime", "endtime", "start_time", "end_time", "today", "deviceid",
    "subscriberid", "simserial", "phonenumber", "username", "audit", "instanceid",
    "instancename", "rootuuid", "deprecatedid", "uuid", "key", "submissiondate",
    "submitterid", "submittername", "attachmentspresent", "attachmentsexpected", "status",
    "reviewstate", "edits", "formversion", "parent_key", "_id", "_uuid", "_submission_time",
    "_index", "_parent_index", "_parent_table_name", "_validation_status", "_notes",
    "_status", "_submitted_by", "__version__", "_version_", "_tags", "_xform_id_string",
    "_attachments", "_geolocation", "_duration", "_media_count", "_total_media",
    "_media_all_received", "_xform_id"})
_STARTS, _ENDS = ("start", "starttime", "start_time"), ("end", "endtime", "end_time")


def _parts(name: str) -> list[str]:
    """The parts of a group path (``experience/attr/sat_cpu`` -> three parts)."""
    return [p for p in _SPLIT.split(name) if p] or [name]


def _check_platform(platform: str) -> str:
    if platform not in PLATFORMS:
        raise ResponseDataError(f"platform={platform!r} is not known; use one of "
                                f"{', '.join(map(repr, PLATFORMS))} (or None for a file in "
                                "surveykit's own layout)")
    return platform


class _Columns:
    """What each export column is, for one questionnaire."""

    def __init__(self, q: Questionnaire):
        self.q = q
        self.variables = q.variables()
        self.questions = {x.id: x for x in q.questions}
        self.derived = {d.id for d in q.derived}

    def classify(self, name) -> tuple[str, str | None]:
        """(what, target): ``same``, ``path`` (a group path to the variable target),
        ``multi`` / ``rank`` (the combined column of question target), ``split`` (the 0/1
        column target of a multi option), ``derived``, ``metadata`` or ``unknown``."""
        name = str(name)
        var = self.variables.get(name)
        if var is not None:
            return ("derived", name) if var.kind == "derived" else ("same", name)
        parts = _parts(name)
        last = parts[-1]
        question = self.questions.get(last)
        if question is not None and question.type in ("multi", "rank"):
            return question.type, last
        if len(parts) >= 2:
            parent = self.questions.get(parts[-2])
            if parent is not None and parent.type == "multi":
                return "split", f"{parent.id}_{parts[-1]}"
        var = self.variables.get(last)
        if var is not None and last != name:
            return ("derived", last) if var.kind == "derived" else ("path", last)
        if name.startswith("_") or last.lower() in METADATA or (
                len(parts) > 1 and parts[0].lower() in ("meta", "formhub")):
            return "metadata", None
        return "unknown", None

    def variable(self, name) -> Variable | None:
        """The Variable a column is read as (text for combined answers and metadata)."""
        what, target = self.classify(name)
        if what in ("same", "path", "derived"):
            return self.variables[target]
        if what == "split":
            return self.variables.get(target) or Variable(str(name), target, "multi_option", "")
        if what in ("multi", "rank", "metadata"):
            return Variable(str(name), str(name), "open", "")
        return None


class _HeaderVariables(dict):
    """``q.variables()`` that also answers for the export's column names."""

    def __init__(self, columns: _Columns):
        super().__init__(columns.variables)
        self._columns = columns

    def __contains__(self, key) -> bool:
        return dict.__contains__(self, key) or self._columns.variable(key) is not None

    def __getitem__(self, key):
        if dict.__contains__(self, key):
            return dict.__getitem__(self, key)
        var = self._columns.variable(key)
        if var is None:
            raise KeyError(key)
        return var

    def get(self, key, default=None):
        return self[key] if key in self else default


class _ReaderView:
    """The questionnaire as the file reader sees it: columns typed by what they become."""

    def __init__(self, q: Questionnaire):
        self._q, self._columns = q, _Columns(q)

    def variables(self):
        return _HeaderVariables(self._columns)

    def __getattr__(self, name):
        return getattr(self._q, name)


def reader_view(q: Questionnaire, platform: str):
    """The questionnaire for reading a platform export, so that each column is read as
    what it becomes (open answers and space-separated codes as text, never as numbers)."""
    _check_platform(platform)
    return _ReaderView(q)


def from_platform_export(df: pd.DataFrame, q: Questionnaire, *, platform: str = "kobo"
                         ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rename and reshape a KoboToolbox or ODK export into surveykit's layout.

    Parameters
    ----------
    df : DataFrame
        The export as read (one row per submission); not modified.
    q : Questionnaire
        The questionnaire the form was written from.
    platform : {"kobo", "odk"}
        Where the export comes from (KoboToolbox and Ona; ODK Central and Briefcase). Both
        layouts are recognised either way; the name is kept in the record.

    Returns
    -------
    data : DataFrame
        Same rows and index; columns named as the questionnaire names them (respondent id
        and duration first, then the export's order). Values are as read: typing is
        :func:`~surveykit.responses.type_responses`' job.
    renames : DataFrame
        One row per column renamed, reshaped, computed or dropped: ``column`` (in the
        export), ``becomes`` (the surveykit column(s), ``""`` when dropped) and ``how``.

    Raises
    ------
    ResponseDataError
        Two export columns that become the same column; 0/1 option columns that disagree
        with the space-separated answers; an export of labels rather than codes; no column
        that matches the questionnaire.

    Examples
    --------
    >>> from surveykit.questionnaire import load_questionnaire
    >>> q = load_questionnaire("questionnaires/pc_customers.yaml")
    >>> export = pd.DataFrame({
    ...     "start": ["2026-10-01T09:00:00.000+08:00", "2026-10-01T10:00:00.000+08:00"],
    ...     "end": ["2026-10-01T09:12:30.000+08:00", "2026-10-01T10:09:00.000+08:00"],
    ...     "profile/cust_type": [1, 2],
    ...     "individual/use": ["1 3", None],
    ...     "_uuid": ["8f1c", "a2d4"], "_submission_time": ["2026-10-01T01:13:00", None]})
    >>> data, renames = from_platform_export(export, q)
    >>> data[["resp_id", "duration_sec", "cust_type", "use_1", "use_2", "use_3"]]
      resp_id  duration_sec  cust_type  use_1  use_2  use_3
    0    8f1c         750.0          1    1.0    0.0    1.0
    1    a2d4         540.0          2    NaN    NaN    NaN
    >>> for r in renames.itertuples():
    ...     print(f"{r.column} -> {r.becomes or '(dropped)'}")
    profile/cust_type -> cust_type
    individual/use -> use_1, use_2, use_3, use_4, use_5
    _uuid -> resp_id
    start -> duration_sec
    end -> duration_sec
    _submission_time -> (dropped)
    """
    _check_platform(platform)
    if not isinstance(df, pd.DataFrame):
        raise ResponseDataError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    cols = _Columns(q)
    roles = q.roles
    out: dict[str, pd.Series] = {}
    renames: list[dict] = []
    source_of: dict[str, str] = {}
    combined: dict[str, str] = {}  # multi/rank question -> combined column
    split: dict[str, dict[str, str]] = {}  # multi question -> {target: column}
    metadata: list[str] = []
    kinds = {str(c): cols.classify(c) for c in df.columns}

    def put(target: str, column: str, values: pd.Series) -> None:
        if target in source_of:
            raise ResponseDataError(Problem(
                f"columns {source_of[target]!r} and {column!r} both become {target!r}; keep "
                "one of them in the export (two groups holding one question?)"))
        source_of[target] = column
        out[target] = values

    matched = 0
    for c in df.columns:
        name = str(c)
        what, target = kinds[name]
        matched += what not in ("metadata", "unknown")
        if what == "same" or what == "unknown":
            put(name, name, df[c])
        elif what == "path":
            put(target, name, df[c])
            renames.append({"column": name, "becomes": target, "how": "group path removed"})
        elif what in ("multi", "rank"):
            combined[target] = name
        elif what == "split":
            split.setdefault(_parts(name)[-2], {})[target] = name
        elif what == "derived":
            renames.append({"column": name, "becomes": "", "how": "dropped: a calculate of "
                            f"the derived variable {target!r}, which surveykit derives again "
                            "from the answers"})
        else:
            metadata.append(name)
    if not matched:
        raise ResponseDataError("no column of the export matches the questionnaire "
                                f"{q.id!r}; export the data with XML values and headers "
                                "(codes and question names, not labels)")
    _no_labels(df, kinds, cols)
    multi_columns: dict[str, tuple[str, list[str]]] = {}
    for qid, column in combined.items():
        question = cols.questions[qid]
        if question.type == "multi":
            also = split.pop(qid, {})
            columns, how = _multi(df[column], question, also, df)
            multi_columns[qid] = (column, list(columns))
            renames.extend({"column": c, "becomes": "", "how": f"dropped: the 0/1 column of "
                            f"{target!r}, which agrees with {column!r}"}
                           for target, c in also.items())
        else:
            columns, how = _rank(df[column], question)
        for target, values in columns.items():
            put(target, column, values)
        renames.append({"column": column, "becomes": ", ".join(columns), "how": how})
    for qid, columns in split.items():
        for target, column in columns.items():
            put(target, column, df[column])
            renames.append({"column": column, "becomes": target,
                            "how": f"0/1 column of {qid!r}"})
        multi_columns[qid] = (next(iter(columns.values())), list(columns))
    first = _metadata(df, metadata, roles, out, renames)
    data = pd.DataFrame(out, index=df.index)
    data = data[first + [c for c in data.columns if c not in first]]
    _fill_unticked(data, q, multi_columns, renames)
    for r in renames:
        r.setdefault("how", "")
    return data, pd.DataFrame(renames, columns=["column", "becomes", "how"])


def _tokens(values: pd.Series) -> list[list[str] | None]:
    out = []
    for v in values.to_numpy(dtype=object):
        if v is None or (isinstance(v, float) and np.isnan(v)):
            out.append(None)
            continue
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        text = str(v).strip()
        out.append(text.split() if text else None)
    return out


def _multi(values: pd.Series, question, split_columns: dict, df: pd.DataFrame):
    tokens = _tokens(values)
    codes = [str(o.code) for o in question.options]
    extra = sorted({t for ts in tokens if ts for t in ts} - set(codes))
    columns = {}
    for code in codes + extra:
        col = np.array([np.nan if ts is None else float(code in ts) for ts in tokens])
        columns[f"{question.id}_{code}"] = pd.Series(col, index=values.index)
    how = "space-separated codes split into 0/1 columns"
    if extra:
        how += f" (codes {', '.join(extra)} are not options: kept as columns of their own)"
    for target, column in split_columns.items():
        given = pd.to_numeric(df[column], errors="coerce")
        mine = columns.get(target, pd.Series(0.0, index=values.index)).fillna(0)
        differ = given.notna() & (given != mine)
        if differ.any():
            row = df.index[int(np.argmax(differ.to_numpy()))]
            raise ResponseDataError(Problem(
                f"column {column!r} disagrees with {values.name!r} at row {row!r} "
                f"({df.at[row, column]!r} against {values.at[row]!r}); the export was edited: "
                "keep one of the two"))
    return columns, how


def _rank(values: pd.Series, question):
    tokens = _tokens(values)
    n = question.rank_max or len(question.options)
    codes = [str(o.code) for o in question.options]
    extra = sorted({t for ts in tokens if ts for t in ts} - set(codes))
    columns, dropped = {}, 0
    for code in codes + extra:
        col = np.full(len(tokens), np.nan)
        for i, ts in enumerate(tokens):
            if ts and code in ts:
                pos = ts.index(code) + 1
                if pos <= n:
                    col[i] = pos
                else:
                    dropped += 1
        columns[f"{question.id}_{code}"] = pd.Series(col, index=values.index)
    how = "ordered codes as rank positions"
    if dropped:
        how += f"; {dropped} position(s) beyond rank_max {n} dropped"
    if extra:
        how += f" (codes {', '.join(extra)} are not options: kept as columns of their own)"
    return columns, how


def _metadata(df: pd.DataFrame, names: list[str], roles, out: dict, renames: list) -> list:
    """Respondent id and duration from the submission metadata; the rest dropped."""
    first = []
    lower = {n: _parts(n)[-1].lower() for n in names}
    used = set()
    rid = roles.respondent_id
    if rid not in out:
        source = next((n for key in ID_SOURCES for n in names if lower[n] == key), None)
        if source is not None:
            out[rid] = df[source]
            used.add(source)
            renames.append({"column": source, "becomes": rid,
                            "how": "the platform's submission id is the respondent id"})
    if rid in out:
        first.append(rid)
    start = next((n for n in names if lower[n] in _STARTS), None)
    end = next((n for n in names if lower[n] in _ENDS), None)
    if roles.duration and roles.duration not in out and start and end:
        t0 = pd.to_datetime(df[start], utc=True, format="ISO8601", errors="coerce")
        t1 = pd.to_datetime(df[end], utc=True, format="ISO8601", errors="coerce")
        out[roles.duration] = (t1 - t0).dt.total_seconds()
        bad = int(((t0.isna() & df[start].notna()) | (t1.isna() & df[end].notna())).sum())
        how = f"duration in seconds: {end} - {start}"
        if bad:
            how += f"; {bad} row(s) with a time that is not ISO 8601 have no duration"
        for n in (start, end):
            renames.append({"column": n, "becomes": roles.duration, "how": how})
        used |= {start, end}
        first.append(roles.duration)
    for n in names:
        if n in used:
            continue
        why = "dropped: platform metadata"
        if n in (start, end) and not roles.duration:
            why += " (declare roles.duration to get the interview duration from start and end)"
        renames.append({"column": n, "becomes": "", "how": why})
    return first


def _fill_unticked(data: pd.DataFrame, q: Questionnaire, multi_columns: dict,
                   renames: list) -> None:
    """A blank select_multiple is 'nothing ticked' (0) where the routing asked it."""
    for qid, (column, option_cols) in multi_columns.items():
        blank = data[option_cols].isna().all(axis=1)
        if not blank.any():
            continue
        try:
            asked = q.asked(data, qid)
        except KeyError as exc:
            renames.append({"column": column, "becomes": "",
                            "how": f"blank answers of {qid!r} left missing: its routing "
                            f"cannot be evaluated ({exc})"})
            continue
        fill = blank & asked
        if fill.any():
            for c in option_cols:
                data[c] = data[c].where(~fill, 0.0)


def _no_labels(df: pd.DataFrame, kinds: dict, cols: _Columns) -> None:
    """Refuse an export of labels: a coded column whose answers are option labels."""
    for c in df.columns:
        what, target = kinds[str(c)]
        if what not in ("same", "path"):
            continue
        var = cols.variables[target]
        if not var.value_labels:
            continue
        labels = {str(v).strip() for v in [*var.value_labels.values(),
                                           *(m.label for m in var.missing_codes.values())]}
        codes = {str(k) for k in [*var.value_labels, *var.missing_codes]}
        values = df[c].dropna().astype(str).str.strip()
        values = values[values != ""]
        if values.empty:
            continue
        as_label = values.isin(labels - codes)
        if as_label.mean() > 0.5:
            raise ResponseDataError(Problem(
                f"column {c!r} holds option labels (e.g. {values[as_label].iloc[0]!r}) rather "
                "than codes; export the data with 'XML values and headers'"))
