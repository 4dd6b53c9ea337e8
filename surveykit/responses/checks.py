"""Checking responses against the questionnaire: one tidy table of findings.

Every rule is computed column- or question-wise on whole arrays (no loop over respondents);
Python only formats the message of each finding.

Routing and invalid values
--------------------------
Routing is evaluated with :meth:`Questionnaire.asked` on the values as given. When a value
that a question's ``ask_if`` reads is itself invalid for a respondent (``out_of_range``,
``non_numeric``, an ``exclusive_conflict`` in a multi-response question, or an answer that
is itself ``answered_not_asked``), that respondent's routing for the question cannot be
known: a code 7 in a yes/no filter says neither "yes" nor "no". Such respondents get no
``answered_not_asked`` / ``asked_not_answered`` finding for that question; the root cause
is reported once, on the invalid value. This keeps one bad code in a filter question from
cascading into a finding for every question behind the filter. A missing answer or a
declared missing code (don't know) is not invalid: the routing language defines it
(comparisons are false). :func:`clean` then settles such respondents question by question.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

import numpy as np
import pandas as pd

from .._threads import column_map
from ..errors import ExpressionError, ResponseDataError
from ..questionnaire import Questionnaire
from ._check_arrays import _is_number_dtype, _isin
from ._check_routing import _RoutingRules
from ._check_text import (
    _PII,
    _codes_text,
    _exclusive_message,
    _gone,
    _is_number,
    _non_numeric_message,
    _show,
)
from .check_result import RULES, TABLE_COLUMNS, CheckResult
from .reading import FLAG_COLUMNS, _check_questionnaire, is_numeric_variable, where_in_file

__all__ = ["check_responses", "check_params", "FLAG_COLUMNS"]

# -- the check --------------------------------------------------------------------------
def check_responses(questionnaire: Questionnaire, df: pd.DataFrame, *,
                    straight_line_min_items: int = 4, speeder_ratio: float = 0.4,
                    rules: Iterable[str] | None = None) -> CheckResult:
    """Check responses against the questionnaire.

    Parameters
    ----------
    questionnaire : Questionnaire
        The loaded questionnaire.
    df : DataFrame
        Responses, one row per respondent, e.g. from :func:`read_responses`. Not modified.
    straight_line_min_items : int, default 4
        ``straight_lining``: a respondent is flagged in a grid when at least this many items
        have a valid answer and all of them carry the same code (grids with fewer items are
        not checked).
    speeder_ratio : float, default 0.4
        ``speeder``: flagged when the duration (``roles.duration``) is below this fraction
        of the median duration.
    rules : iterable of str, optional
        Only report these rules (default: all of :data:`RULES`).

    Returns
    -------
    CheckResult
        ``.table`` (one row per finding), ``.summary()`` (text), ``.summary_frame()`` (one
        row per rule), ``.n_errors``.

    Notes
    -----
    Rules (see :data:`RULES`): ``missing_column`` / ``unknown_column`` (file level),
    ``missing_id``, ``duplicate_id`` (every row of a repeated id), ``non_numeric``,
    ``out_of_range`` (code neither valid nor a declared missing code; numeric answers
    outside min-max or not whole when ``integer``), ``exclusive_conflict``,
    ``too_many_choices``, ``answered_not_asked`` (per question; other-specify text without
    its option), ``asked_not_answered`` (required questions; per item for grids, no option
    ticked for multi-response; a declared missing code counts as an answer),
    ``straight_lining`` and ``speeder`` (warnings), ``derived_missing`` (info: a ``compute``
    or ``construct`` derived variable left empty, and why; on the values with invalid ones
    set to NaN, as clean() will). Routing findings are suppressed for
    respondents whose routing reads an invalid value (see the module notes).

    Examples
    --------
    >>> from surveykit.questionnaire import load_questionnaire
    >>> from surveykit.responses import read_responses
    >>> q = load_questionnaire("questionnaires/pc_customers.yaml")
    >>> df = read_responses("data/demo/responses.csv", q)
    >>> result = check_responses(q, df)
    >>> print(result.summary(examples=0))  # doctest: +NORMALIZE_WHITESPACE
    Checked 4,000 respondents x 94 columns against questionnaire 'pc_customers':
    42 error(s), 12 warning(s), 48 respondent(s) affected.
    <BLANKLINE>
                  rule severity  respondents  findings
        missing_column    error            0         0
        unknown_column  warning            0         0
            missing_id    error            0         0
          duplicate_id    error           12        12
           non_numeric    error            6         6
          out_of_range    error            6         6
    exclusive_conflict    error            6         6
      too_many_choices    error            0         0
    answered_not_asked    error            6         6
    asked_not_answered    error            6         6
       straight_lining  warning            6         6
               speeder  warning            6         6
       derived_missing     info            0         0
    >>> result.table.query("rule == 'speeder'")[["respondent", "value"]]
       respondent value
    1      100140   160
    6      100407   107
    7      100411    83
    21     101580   130
    23     102002   183
    50     103732   102
    """
    q = _check_questionnaire(questionnaire)
    if not isinstance(df, pd.DataFrame):
        raise ResponseDataError(f"df must be a pandas DataFrame, got {type(df).__name__}; "
                                "read the file with read_responses(path, questionnaire)")
    if df.columns.duplicated().any():
        dup = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
        raise ResponseDataError(f"duplicated column name(s) {', '.join(dup)}; each column "
                                "must appear once")
    params = check_params(straight_line_min_items, speeder_ratio, rules)
    run = _Checker(q, df, params)
    run.all()
    return run.result(params["rules"])


def check_params(straight_line_min_items, speeder_ratio, rules) -> dict:
    """The options of :func:`check_responses`, validated."""
    if (not isinstance(straight_line_min_items, int | np.integer)
            or isinstance(straight_line_min_items, bool) or straight_line_min_items < 2):
        raise ResponseDataError(f"straight_line_min_items must be an integer >= 2, got "
                                f"{straight_line_min_items!r}")
    if not isinstance(speeder_ratio, int | float) or not 0 < speeder_ratio < 1:
        raise ResponseDataError(f"speeder_ratio must be a number between 0 and 1 (a fraction "
                                f"of the median duration), got {speeder_ratio!r}")
    wanted = list(RULES) if rules is None else [rules] if isinstance(rules, str) else list(rules)
    unknown = [r for r in wanted if r not in RULES]
    if unknown:
        raise ResponseDataError(f"unknown rule(s) {', '.join(map(repr, unknown))}; "
                                f"choose from {', '.join(RULES)}")
    return {"straight_line_min_items": int(straight_line_min_items),
            "speeder_ratio": float(speeder_ratio), "rules": wanted}


class _Checker(_RoutingRules):
    """Computes boolean masks per (rule, question) and formats the findings."""

    def __init__(self, q: Questionnaire, df: pd.DataFrame, params: dict):
        self.q, self.df, self.params = q, df, params
        self.n = len(df)
        self.vars = q.variables()
        self.hits: list[tuple] = []      # (rule, question, positions, values, messages)
        self.masks: dict[tuple[str, str], np.ndarray] = {}
        self.ran: set[str] = set()
        self._num: dict[str, np.ndarray] = {}
        self._present: dict[str, np.ndarray] = {}
        self._cols: dict[str, pd.Series] = {}
        self.invalid: dict[str, np.ndarray] = {}        # routing cannot be trusted
        self.invalid_value: dict[str, np.ndarray] = {}  # non_numeric | out_of_range
        id_col = q.roles.respondent_id
        source = df[id_col] if id_col in df.columns else df.index.to_series()
        self.ids = source.to_numpy(dtype=object)
        # found over the whole data when df is one block of it (surveykit.outofcore):
        # "duplicates" {id: row labels}, "median_duration"
        self.context: dict = {}
        self.order = {name: i for i, name in enumerate(self.vars)}
        for qu in q.questions:
            self.order.setdefault(qu.id, self.order.get(q.columns_of(qu.id)[0], 0)
                                  if q.columns_of(qu.id) else 0)

    # -- column helpers ----------------------------------------------------------------
    def num(self, name: str) -> np.ndarray:
        """The column as floats: numbers as they are, anything else (text, missing) NaN."""
        if name not in self._num:
            col = self.df[name]
            if col.dtype == object:
                self._object_column(name, col)
            elif _is_number_dtype(col.dtype):
                self._num[name] = col.to_numpy(dtype=float, na_value=np.nan)
            else:
                self._num[name] = pd.to_numeric(col, errors="coerce").to_numpy(
                    dtype=float, na_value=np.nan)
        return self._num[name]

    def present(self, name: str) -> np.ndarray:
        """True where a cell holds a value (blank or whitespace-only text is no value)."""
        if name not in self._present:
            col = self.df[name]
            if isinstance(col.dtype, np.dtype) and col.dtype.kind == "f":
                mask = ~np.isnan(col.to_numpy())
            elif isinstance(col.dtype, np.dtype) and col.dtype.kind in "iub":
                mask = np.ones(len(col), dtype=bool)
            elif col.dtype == object:
                return self._object_column(name, col)[1]
            elif pd.api.types.is_string_dtype(col):
                mask = (col.notna() & col.str.strip().ne("").fillna(False)).to_numpy(
                    dtype=bool, copy=True)
            else:
                mask = col.notna().to_numpy(copy=True)
            self._present[name] = mask
        return self._present[name]

    def _object_column(self, name: str, col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """``num`` and ``present`` of an object column (numbers and text mixed, as a numeric
        column with text in it is read) from its distinct values: one hash pass over the
        rows instead of a conversion and a text test per row (row by row when a cell cannot
        be hashed: a list or a dict in a frame built by hand)."""
        values = col.to_numpy(dtype=object)
        try:
            codes, distinct = pd.factorize(values)
        except TypeError:
            codes, distinct = np.arange(len(values)), values
        numbers = pd.to_numeric(pd.Series(distinct, dtype=object), errors="coerce").to_numpy(
            dtype=float, na_value=np.nan)
        filled = ~np.isnan(numbers)
        for k in np.flatnonzero(~filled):  # text: blank or whitespace-only is no value
            v = distinct[k]
            filled[k] = not (pd.api.types.is_scalar(v) and pd.isna(v)) and str(v).strip() != ""
        self._num[name] = np.append(numbers, np.nan)[codes]
        self._present[name] = np.append(filled, False)[codes]
        return self._num[name], self._present[name]

    def valid(self, name: str) -> np.ndarray:
        """Numbers with missing codes and invalid values as NaN."""
        values = self.num(name).copy()
        var = self.vars.get(name)
        if var is not None and var.missing_codes:
            values[_isin(values, [c for c in var.missing_codes if _is_number(c)])] = np.nan
        if name in self.invalid:
            values[self.invalid[name]] = np.nan
        return values

    def raw(self, name: str, pos: int):
        if name not in self._cols:
            self._cols[name] = self.df[name]
        return self._cols[name].iloc[pos]

    def _invalid(self, name: str, mask: np.ndarray, *, value: bool = False) -> None:
        """Mark ``mask``'s respondents as holding an invalid ``name`` (``value``: a value
        that is not a number or not a code, also kept apart for clean()). Only columns with
        an invalid value get a mask: on a large survey most have none."""
        if not mask.any():
            return
        self.invalid[name] = self.invalid[name] | mask if name in self.invalid else mask
        if value:
            self.invalid_value[name] = self.invalid[name]

    def hit(self, rule: str, question: str, mask: np.ndarray, value, message) -> None:
        """Record a finding for every True of ``mask``; ``value(pos)`` and
        ``message(pos, shown_value)`` are called for those positions only."""
        self.ran.add(rule)
        positions = np.flatnonzero(mask)
        if not positions.size:  # no mask kept: a rule and column without findings has none
            return
        key = (rule, question)
        self.masks[key] = self.masks[key] | mask if key in self.masks else mask
        pii = self._pii(question)
        values = [_show(value(p)) for p in positions]
        shown = [_PII if pii else v for v in values]
        messages = [message(p, v) for p, v in zip(positions, shown, strict=True)]
        self.hits.append((rule, question, positions, shown, messages))

    def file_hit(self, rule: str, question: str, message: str) -> None:
        self.ran.add(rule)
        self.hits.append((rule, question, np.array([-1]), [None], [message]))

    def _pii(self, name: str) -> bool:
        var = self.vars.get(name)
        if var is not None:
            return var.pii
        try:
            return self.q.question(name).pii
        except KeyError:
            return False

    # -- rules -------------------------------------------------------------------------
    def all(self) -> None:
        self.columns()
        self.ids_rules()
        self.values()
        self.multi()
        self.routing()
        self.straight_lining()
        self.speeders()
        self.derived_missing()

    def columns(self) -> None:
        self.ran.update({"missing_column", "unknown_column"})
        for name, var in self.vars.items():
            if var.kind != "derived" and name not in self.df.columns:
                what = "" if var.question == name else f" (question {var.question!r})"
                self.file_hit("missing_column", name,
                              f"column {name!r}{what} is not in the data; its checks were "
                              "skipped. Add it to the export, or fix the questionnaire")
        known = list(self.vars)
        for name in self.df.columns:
            if name in self.vars or name in FLAG_COLUMNS:
                continue
            close = difflib.get_close_matches(str(name), known, n=1, cutoff=0.8)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            self.file_hit("unknown_column", str(name),
                          f"column {str(name)!r} is not in the questionnaire{hint}; it is kept "
                          "but not checked. Rename it or add it to the questionnaire")

    def ids_rules(self) -> None:
        id_col = self.q.roles.respondent_id
        if id_col not in self.df.columns:
            return
        present = self.present(id_col)
        self.hit("missing_id", id_col, ~present, lambda p: None,
                 lambda p, v: f"{id_col} is empty; give every respondent a unique id")
        known = self.context.get("duplicates")
        if known is None:
            dup = self.df[id_col].duplicated(keep=False).to_numpy() & present
        else:
            dup = self.df[id_col].isin(list(known)).to_numpy() & present
        rows = dict(known or {})
        if dup.any() and known is None:
            pos = np.flatnonzero(dup)
            for key, grp in pd.Series(pos).groupby(self.ids[pos], sort=False):
                rows[key] = [self.df.index[i] for i in grp]
        self.hit("duplicate_id", id_col, dup, lambda p: self.ids[p],
                 lambda p, v: (f"{id_col} {v} appears {len(rows[self.ids[p]])} times "
                               f"(rows {', '.join(map(str, rows[self.ids[p]]))})"
                               f"{where_in_file(self.df, rows[self.ids[p]])}; clean() "
                               "keeps the first"))

    def values(self) -> None:
        self.ran.update({"non_numeric", "out_of_range"})
        todo = [(name, var) for name, var in self.vars.items() if name in self.df.columns
                and var.kind not in ("derived", "id", "customer_id", "open", "other_text")]
        for (name, var), (text, bad) in zip(todo, column_map(self._value_masks, todo, self.n),
                                            strict=True):
            self._invalid(name, bad if text is None else text | bad, value=True)
            if text is None:  # text codes
                codes = [*var.value_labels, *var.missing_codes]
                self.hit("out_of_range", name, bad, lambda p, n=name: self.raw(n, p),
                         lambda p, v, n=name, c=codes: f"{n} = {v!r} is not one of the codes "
                         f"{_codes_text(c)}; fix the source or let clean() set it to NaN")
                continue
            labels = {str(lab).strip().lower(): c for c, lab in self.q.labels(name).items()}
            self.hit("non_numeric", name, text, lambda p, n=name: self.raw(n, p),
                     lambda p, v, n=name, lab=labels: _non_numeric_message(n, v, lab))
            x = self.num(name)
            self.hit("out_of_range", name, bad, lambda p, x=x: x[p],
                     lambda p, v, n=name, var=var: self._range_message(n, var, v))

    def _value_masks(self, name: str, var) -> tuple[np.ndarray | None, np.ndarray]:
        """``(text, bad)``: text in a numeric column (None for a variable with text codes)
        and values that are not codes or are out of range."""
        if not is_numeric_variable(var):
            codes = [*var.value_labels, *var.missing_codes]
            return None, self.present(name) & ~self.df[name].isin(codes).to_numpy()
        x = self.num(name)
        text = np.zeros(self.n, dtype=bool) if _is_number_dtype(self.df[name].dtype) else \
            self.present(name) & np.isnan(x)
        return text, self._out_of_range(name, var, x)

    def _out_of_range(self, name, var, x: np.ndarray) -> np.ndarray:
        finite = ~np.isnan(x)
        missing_codes = [c for c in var.missing_codes if _is_number(c)]
        if var.value_labels:  # neither a code nor a missing code: one lookup of both
            allowed = [c for c in var.value_labels if _is_number(c)]
            return finite & ~_isin(x, [*allowed, *missing_codes])
        missing = _isin(x, missing_codes)
        bad = np.zeros(self.n, dtype=bool)
        with np.errstate(invalid="ignore"):
            if var.min is not None:
                bad |= x < var.min
            if var.max is not None:
                bad |= x > var.max
            bad |= np.isinf(x)
            if var.kind == "numeric" and getattr(self.q.question(var.question), "integer", False):
                bad |= finite & (x != np.round(x))
        return bad & finite & ~missing

    def _range_message(self, name: str, var, v) -> str:
        fix = "fix the source or let clean() set it to NaN"
        if var.value_labels:
            scale = f" of scale {var.scale!r}" if var.scale else ""
            miss = [c for c in var.missing_codes]
            extra = f"; missing codes {_codes_text(miss)}" if miss else ""
            return (f"{name} = {v} is not a code{scale} (valid {_codes_text(var.value_labels)}"
                    f"{extra}); {fix}")
        lo = "-inf" if var.min is None else _show(var.min)
        hi = "inf" if var.max is None else _show(var.max)
        if var.min is not None and var.max is not None and var.min <= float(v) <= var.max:
            return f"{name} = {v} is not a whole number; {fix}"
        return f"{name} = {v} is outside the allowed range {lo} to {hi}; {fix}"

    def multi(self) -> None:
        self.ran.update({"exclusive_conflict", "too_many_choices"})
        todo = []
        for qu in self.q.questions:
            opts = [o for o in qu.options if f"{qu.id}_{o.code}" in self.df.columns] \
                if qu.type == "multi" else []
            if opts:
                todo.append((qu, opts))
        for (qu, opts), (ticked, n_ticked) in zip(todo, column_map(self._ticked, todo, self.n),
                                                  strict=True):
            excl = np.array([o.exclusive for o in opts])

            def codes(p, t=ticked, o=opts):
                return "; ".join(str(o[j].code) for j in np.flatnonzero(t[p]))

            if excl.any():
                conflict = ticked[:, excl].any(axis=1) & (n_ticked >= 2)
                self.hit("exclusive_conflict", qu.id, conflict, codes,
                         lambda p, v, qu=qu, t=ticked, o=opts: _exclusive_message(qu, o, t[p]))
                for o in opts:
                    col = f"{qu.id}_{o.code}"
                    self._invalid(col, conflict)
            if qu.max_choices:
                over = n_ticked > qu.max_choices
                self.hit("too_many_choices", qu.id, over, codes,
                         lambda p, v, qu=qu, n=n_ticked: f"{qu.id}: {n[p]} options ticked "
                         f"({v}) but at most {qu.max_choices} are allowed; fix the source")

    def _ticked(self, qu, opts) -> tuple[np.ndarray, np.ndarray]:
        """The options ticked (respondents x options) and how many per respondent."""
        ticked = np.column_stack([self.num(f"{qu.id}_{o.code}") > 0 for o in opts])
        return ticked, ticked.sum(axis=1)

    def straight_lining(self) -> None:
        self.ran.add("straight_lining")
        k = self.params["straight_line_min_items"]
        todo = []
        for qu in self.q.questions:
            items = [it.id for it in qu.items if it.id in self.df.columns] \
                if qu.type == "grid" else []
            if len(items) >= k:
                todo.append((qu, items, k))
        for (qu, _, _), (flag, code, n_items) in zip(
                todo, column_map(self._same_code, todo, self.n), strict=True):
            at = {p: j for j, p in enumerate(np.flatnonzero(flag))}
            self.hit("straight_lining", qu.id, flag, lambda p, c=code, at=at: c[at[p]],
                     lambda p, v, qu=qu, n=n_items, at=at: f"all {n[at[p]]} answered items "
                     f"of grid {qu.id} have code {v}; review the interview (clean() flags it, "
                     "drops it only if asked)")

    def _same_code(self, qu, items: list[str], k: int) -> tuple[np.ndarray, ...]:
        """Respondents with at least ``k`` valid answers in the grid, all the same code,
        and (for them only) that code and their count of answers; item by item, with no
        respondents x items matrix."""
        count = np.zeros(self.n, dtype=np.int64)
        hi = np.full(self.n, -np.inf)
        lo = np.full(self.n, np.inf)
        for c in items:
            v = self.valid(c)
            count += ~np.isnan(v)
            np.fmax(hi, v, out=hi)
            np.fmin(lo, v, out=lo)
        flag = (count >= k) & (hi == lo)
        return flag, hi[flag], count[flag]

    def speeders(self) -> None:
        col = self.q.roles.duration
        if not col or col not in self.df.columns:
            return
        self.ran.add("speeder")
        ratio = self.params["speeder_ratio"]
        d = self.num(col)
        ok = ~np.isnan(d) & ~self.invalid.get(col, np.zeros(self.n, bool))
        if not ok.any():
            return
        median = self.context.get("median_duration")
        median = float(np.median(d[ok])) if median is None else median
        cut = ratio * median
        with np.errstate(invalid="ignore"):
            flag = ok & (d < cut)
        self.hit("speeder", col, flag, lambda p: d[p],
                 lambda p, v: f"{col} = {v} is below {ratio:g} x the median {_show(median)} "
                 f"(= {_show(round(cut, 1))}); review the interview (clean() flags it, drops "
                 "it only if asked)")

    def derived_missing(self) -> None:
        """Computed numbers and construct scores left empty: missing input or division by
        zero (Questionnaire.derived_missing), on the values with invalid ones as NaN."""
        self.ran.add("derived_missing")
        numbers = [d for d in self.q.derived if d.kind in ("compute", "construct")]
        if not numbers:
            return
        frame = self.df.copy()
        for c, bad in self.invalid.items():
            if c in frame.columns and bad.any():
                frame[c] = frame[c].mask(bad)
        try:
            why = self.q.derived_missing(frame)
        except (KeyError, ExpressionError):
            return  # a column it needs is missing: reported as missing_column
        for d in numbers:
            reason = why[d.id].to_numpy(dtype=object)
            absent = {c: np.isnan(self.valid(c)) for c in self.q.defining_variables(d.id)
                      if c in frame.columns}
            self.hit("derived_missing", d.id, pd.notna(reason), lambda p: None,
                     lambda p, v, d=d, r=reason, a=absent: f"{d.id} ({d.label}) is empty: "
                     f"{r[p]}{_gone(a, p) if r[p] == 'missing input' else ''}")

    # -- result ------------------------------------------------------------------------
    def result(self, wanted: list[str]) -> CheckResult:
        cols = {c: [] for c in (*TABLE_COLUMNS, "_pos", "_q", "_r")}
        rule_rank = {r: i for i, r in enumerate(RULES)}
        index = self.df.index
        for rule, question, positions, values, messages in self.hits:
            if rule not in wanted:
                continue
            k = len(positions)
            if positions[0] < 0:
                cols["respondent"].append(None)
                cols["row"].append(None)
            else:
                cols["respondent"].extend(self.ids[positions].tolist())
                cols["row"].extend(index[positions].tolist())
            cols["question"] += [question] * k
            cols["rule"] += [rule] * k
            cols["severity"] += [RULES[rule][0]] * k
            cols["value"] += values
            cols["message"] += messages
            cols["_pos"] += positions.tolist()
            cols["_q"] += [self.order.get(question, len(self.order))] * k
            cols["_r"] += [rule_rank[rule]] * k
        table = pd.DataFrame({c: pd.Series(v, dtype=object) for c, v in cols.items()
                              if not c.startswith("_")})
        for c in ("question", "rule", "severity", "message"):
            table[c] = table[c].astype("str")
        positions = np.asarray(cols["_pos"], dtype=np.int64)
        if len(table):
            order = np.lexsort((cols["_r"], cols["_q"], positions))
            table = table.iloc[order].reset_index(drop=True)
            positions = positions[order]
        counts: dict[str, list] = {}
        for rule, pos in zip(table["rule"], positions.tolist(), strict=True):
            counts.setdefault(rule, []).append(pos)
        rows = []
        for rule in (r for r in RULES if r in wanted and r in self.ran):
            pos = counts.get(rule, [])
            rows.append({"rule": rule, "severity": RULES[rule][0],
                         "respondents": len({p for p in pos if p >= 0}),
                         "findings": len(pos), "description": RULES[rule][1]})
        summary = pd.DataFrame(rows, columns=["rule", "severity", "respondents", "findings",
                                              "description"])
        masks = {k: v for k, v in self.masks.items() if k[0] in wanted}
        masks.update({("_invalid_value", c): m for c, m in self.invalid_value.items()})
        return CheckResult(table=table, rule_table=summary, n_respondents=self.n,
                           n_columns=self.df.shape[1], questionnaire=self.q.id,
                           params=self.params, masks=masks, index=self.df.index.copy())
