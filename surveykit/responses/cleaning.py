"""The clean step: an analysis-ready copy of the responses and a log of every change."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from ..errors import ResponseDataError
from ..questionnaire import Questionnaire
from ._check_arrays import routing_mask
from ._check_text import _is_number
from .check_result import RULES, CheckResult
from .checks import FLAG_COLUMNS, check_responses
from .reading import _check_questionnaire, is_numeric_variable

__all__ = ["clean", "LOG_COLUMNS", "EXCLUSIVE_MODES", "DROPPABLE"]

LOG_COLUMNS = ["respondent", "row", "column", "old", "new", "rule", "action"]
EXCLUSIVE_MODES = ("keep_others", "keep_exclusive", "set_missing")
DROPPABLE = ("duplicate_id", "speeder", "straight_lining")


def clean(questionnaire: Questionnaire, df: pd.DataFrame, result: CheckResult | None = None,
          *, drop: Iterable[str] = ("duplicate_id",), exclusive: str = "keep_others",
          keep_missing_codes: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return an analysis-ready copy of ``df`` and a log of every change.

    Steps, in this order (each change is one log row):

    1. Rows: later copies of a duplicated respondent id are dropped (the first is kept);
       speeders and straight-liners are flagged in the boolean columns ``flag_speeder`` and
       ``flag_straight_lining`` and dropped only if named in ``drop``.
    2. ``non_numeric`` and ``out_of_range`` values -> NaN; numeric columns become float.
    3. ``exclusive_conflict``: by default (``exclusive="keep_others"``) the exclusive option
       ("none of these", "don't know") is unticked and the substantive options are kept: a
       ticked substantive option is a positive statement, the exclusive tick only its
       absence, so this keeps the most information (the usual coding-edit rule for paper
       and merged data). ``"keep_exclusive"`` does the opposite; ``"set_missing"`` blanks
       the question. Two exclusive options and nothing else -> the question is blanked.
    4. Routing, question by question in questionnaire order on the values cleaned so far
       (routing only reads earlier questions, so one pass settles cascades): answers of
       respondents not asked -> NaN (``answered_not_asked``); a not-asked multi-response
       question's 0 columns -> NaN too (``not_asked``: out of the base, not "not
       selected"); other-specify text without its option -> NaN. Respondents whose routing
       reads a value set to NaN in step 2 keep their answers: their routing is unknown.
    5. Declared missing codes (don't know, refused, not applicable) -> NaN
       (``missing_code``), unless ``keep_missing_codes=True``.
    6. Derived variables (bands, segments) are (re)computed with ``Questionnaire.derive``.

    ``asked_not_answered`` findings are left alone (nothing can be invented); unknown
    columns are kept untouched. Checking the cleaned frame again reports, as
    ``asked_not_answered``, the answers this step set to NaN.

    Parameters
    ----------
    questionnaire : Questionnaire
    df : DataFrame
        Raw responses (e.g. from :func:`read_responses`); not modified.
    result : CheckResult, optional
        The result of :func:`check_responses` on ``df``; its thresholds are reused. Run with
        default thresholds when omitted.
    drop : iterable of str, default ("duplicate_id",)
        Row rules whose respondents are removed: any of ``duplicate_id`` (later copies
        only), ``speeder``, ``straight_lining``.
    exclusive : {"keep_others", "keep_exclusive", "set_missing"}
        How to resolve an exclusive option ticked with other options (step 3).
    keep_missing_codes : bool, default False
        Keep don't-know/refused codes as codes (for export or recoding; estimates would
        treat them as numbers, so leave False for analysis).

    Returns
    -------
    clean_df : DataFrame
        Same index as ``df`` minus dropped rows; numeric columns float; flag columns and
        derived variables added.
    log : DataFrame
        ``respondent, row, column, old, new, rule, action``, one row per change.

    Examples
    --------
    >>> from surveykit.questionnaire import load_questionnaire
    >>> from surveykit.responses import check_responses, read_responses
    >>> q = load_questionnaire("questionnaires/pc_customers.yaml")
    >>> raw = read_responses("data/demo/responses.csv", q)
    >>> result = check_responses(q, raw)
    >>> data, log = clean(q, raw, result, drop=("duplicate_id", "speeder"))
    >>> len(raw), len(data)
    (4000, 3988)
    >>> log.groupby("rule").size()
    rule
    answered_not_asked       6
    duplicate_id             6
    exclusive_conflict       6
    missing_code          6239
    non_numeric              6
    not_asked                6
    out_of_range             6
    speeder                  6
    straight_lining          6
    dtype: int64
    """
    q = _check_questionnaire(questionnaire)
    if not isinstance(df, pd.DataFrame):
        raise ResponseDataError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    drop = [drop] if isinstance(drop, str) else list(drop)
    bad = [d for d in drop if d not in DROPPABLE]
    if bad:
        raise ResponseDataError(f"cannot drop on {', '.join(map(repr, bad))}; drop= takes "
                                f"{', '.join(DROPPABLE)}")
    if exclusive not in EXCLUSIVE_MODES:
        raise ResponseDataError(f"exclusive={exclusive!r} is not one of "
                                f"{', '.join(EXCLUSIVE_MODES)}")
    result = _result_for(q, df, result)
    return _Cleaner(q, df, result.masks, drop, exclusive, keep_missing_codes).run()


def _result_for(q: Questionnaire, df: pd.DataFrame, result: CheckResult | None) -> CheckResult:
    if result is None:
        return check_responses(q, df)
    if not isinstance(result, CheckResult):
        raise ResponseDataError(f"result must be a CheckResult from check_responses, got "
                                f"{type(result).__name__}")
    if result.index is None or not result.index.equals(df.index) or \
            result.questionnaire != q.id:
        raise ResponseDataError("result was computed on other data (rows differ) or another "
                                "questionnaire; run check_responses(questionnaire, df) on this "
                                "frame first, or pass result=None")
    if set(result.params.get("rules", [])) != set(RULES):  # a subset: recompute them all
        p = result.params
        return check_responses(q, df, straight_line_min_items=p["straight_line_min_items"],
                               speeder_ratio=p["speeder_ratio"])
    return result


class _Cleaner:
    def __init__(self, q, df, masks, drop, exclusive, keep_missing_codes):
        self.q, self.df, self.masks = q, df, masks
        self.drop, self.exclusive, self.keep_missing = drop, exclusive, keep_missing_codes
        self.vars = q.variables()
        self.id_col = q.roles.respondent_id
        self.logs: list[tuple] = []   # one per log() call; one frame at the end (_log_frame)

    def mask(self, rule: str, name: str | None = None) -> np.ndarray:
        n = len(self.df)
        if name is not None:
            return self.masks.get((rule, name), np.zeros(n, dtype=bool))
        out = np.zeros(n, dtype=bool)
        for (r, _), m in self.masks.items():
            if r == rule:
                out |= m
        return out

    def log(self, frame: pd.DataFrame, positions: np.ndarray, column, old, new, rule: str,
            action) -> None:
        if not len(positions):
            return
        rows = frame.index.take(positions).to_numpy(dtype=object)
        ids = (_objects(frame[self.id_col], positions) if self.id_col in frame.columns
               else rows)
        k = len(positions)
        new = new if isinstance(new, list | np.ndarray) else [new] * k
        self.logs.append((ids, rows, column, _object_array(old), _object_array(new), rule,
                          action))

    def log_frame(self) -> pd.DataFrame:
        """The log: the rows of every :meth:`log` call in order, typed as one frame per call
        concatenated would be (ids, rows and the column name as pandas infers each call's,
        old and new values as objects, rule and action text)."""
        if not self.logs:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in LOG_COLUMNS})
        parts = list(zip(*self.logs, strict=True))
        sizes = [len(p) for p in parts[0]]

        def inferred(values) -> pd.Series:   # as pandas types the column of one call's frame
            return pd.concat([pd.Series(v) for v in values], ignore_index=True)

        def repeated(values) -> pd.Series:
            return pd.Series(np.repeat(np.array(values, dtype=object), sizes))

        return pd.DataFrame({
            "respondent": inferred(parts[0]), "row": inferred(parts[1]),
            "column": inferred([[c] * k for c, k in zip(parts[2], sizes, strict=True)]),
            "old": pd.Series(np.concatenate(parts[3]), dtype=object),
            "new": pd.Series(np.concatenate(parts[4]), dtype=object),
            "rule": repeated(parts[5]), "action": repeated(parts[6])})

    def set_missing(self, out: pd.DataFrame, name: str, where: np.ndarray, rule: str,
                    action: str) -> None:
        """Set ``out[name]`` to NaN where ``where``; log the cells that held a value."""
        col = out[name]
        if col.dtype == np.float64:             # most columns: numpy, without pandas' checks
            x = col.to_numpy()
            held = where & ~np.isnan(x)
        else:
            held = col.notna().to_numpy() & where
        if not held.any():
            return
        pos = np.flatnonzero(held)
        self.log(out, pos, name, _objects(col, pos), np.nan, rule, action)
        if col.dtype == np.float64:
            x = x.copy()
            x[pos] = np.nan
            out[name] = x
        else:
            out[name] = col.mask(held)

    # -- steps -------------------------------------------------------------------------
    def run(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        df = self.df
        keep = self.rows()
        pos = np.flatnonzero(keep)
        out = df.iloc[pos].copy()
        self.keep = keep
        out["flag_speeder"] = self.mask("speeder")[keep]
        out["flag_straight_lining"] = self.mask("straight_lining")[keep]
        for rule, col in (("speeder", "flag_speeder"), ("straight_lining", "flag_straight_lining")):
            flagged = np.flatnonzero(out[col].to_numpy())
            self.log(out, flagged, col, [False] * len(flagged), True, rule,
                     f"flagged in {col} (kept)")
        self.values(out)
        self.exclusives(out)
        self.routing(out)
        if not self.keep_missing:
            self.missing_codes(out)
        out = self.derive(out)
        log = self.log_frame()
        out.attrs = {**{k: v for k, v in df.attrs.items() if k != "unparsed"},
                     "cleaned": {"drop": list(self.drop), "exclusive": self.exclusive,
                                 "keep_missing_codes": self.keep_missing,
                                 "changes": len(log)}}
        return out, log[LOG_COLUMNS]

    def rows(self) -> np.ndarray:
        n = len(self.df)
        drop = np.zeros(n, dtype=bool)
        reasons = []
        if self.id_col in self.df.columns:
            later = self.mask("duplicate_id", self.id_col) & \
                self.df[self.id_col].duplicated(keep="first").to_numpy()
            reasons.append(("duplicate_id", later, "row dropped: later copy of a duplicated id"))
        reasons.append(("speeder", self.mask("speeder"), "row dropped: speeder"))
        reasons.append(("straight_lining", self.mask("straight_lining"),
                        "row dropped: straight-lining"))
        for rule, m, action in reasons:
            if rule in self.drop and m.any():
                p = np.flatnonzero(m)
                self.log(self.df, p, None, [None] * len(p), None, rule, action)
                drop |= m
        return ~drop

    def values(self, out: pd.DataFrame) -> None:
        for name, var in self.vars.items():
            if name not in out.columns or var.kind == "derived":
                continue
            if var.kind in ("id", "customer_id", "open", "other_text"):
                continue
            if not is_numeric_variable(var):
                self.set_missing(out, name, self.mask("out_of_range", name)[self.keep],
                                 "out_of_range", "set to NaN: not a code of the question")
                continue
            text = self.mask("non_numeric", name)[self.keep]
            self.set_missing(out, name, text, "non_numeric", "set to NaN: not a number")
            self.set_missing(out, name, self.mask("out_of_range", name)[self.keep],
                             "out_of_range", "set to NaN: outside the scale / allowed range")
            col = out[name]
            if col.dtype != "float64":
                out[name] = pd.to_numeric(col, errors="coerce").astype("float64")

    def exclusives(self, out: pd.DataFrame) -> None:
        for qu in self.q.questions:
            if qu.type != "multi" or not any(o.exclusive for o in qu.options):
                continue
            opts = [o for o in qu.options if f"{qu.id}_{o.code}" in out.columns]
            if not opts:
                continue
            cols = [f"{qu.id}_{o.code}" for o in opts]
            ticked = np.column_stack([out[c].to_numpy(dtype=float) > 0 for c in cols])
            excl = np.array([o.exclusive for o in opts])
            n_excl, n_other = ticked[:, excl].sum(axis=1), ticked[:, ~excl].sum(axis=1)
            conflict = (n_excl >= 1) & (n_excl + n_other >= 2)
            if not conflict.any():
                continue
            if self.exclusive == "keep_others":
                blank = conflict & (n_other == 0)
                untick_excl, untick_other = conflict & (n_other > 0), np.zeros_like(conflict)
                how = "unticked: exclusive option given with other options (kept the others)"
            elif self.exclusive == "keep_exclusive":
                blank = conflict & (n_excl >= 2)
                untick_excl, untick_other = np.zeros_like(conflict), conflict & (n_excl == 1)
                how = "unticked: other option given with an exclusive one (kept the exclusive)"
            else:
                blank, untick_excl, untick_other = conflict, np.zeros_like(conflict), \
                    np.zeros_like(conflict)
                how = ""
            for j, c in enumerate(cols):
                untick = (untick_excl if excl[j] else untick_other) & ticked[:, j]
                p = np.flatnonzero(untick)
                if p.size:
                    self.log(out, p, c, _objects(out[c], p), 0.0,
                             "exclusive_conflict", how)
                    values = out[c].to_numpy(dtype=float, copy=True)
                    values[p] = 0.0
                    out[c] = values
                self.set_missing(out, c, blank, "exclusive_conflict",
                                 "set to NaN: conflicting exclusive options")

    def routing(self, out: pd.DataFrame) -> None:
        invalid = {c: m[self.keep] for (r, c), m in self.masks.items() if r == "_invalid_value"}
        for qu in self.q.questions:
            cols = [c for c in self.q.columns_of(qu.id) if c in out.columns]
            if not cols:
                continue
            asked, undetermined = routing_mask(self.q, qu, out, invalid)
            if asked is None:
                continue
            blank = ~asked & ~undetermined
            for c in cols:
                kind = self.vars[c].kind
                if kind == "multi_option":
                    x = out[c].to_numpy(dtype=float)
                    self.set_missing(out, c, blank & (x > 0), "answered_not_asked",
                                     f"set to NaN: not asked ({qu.ask_if})")
                    self.set_missing(out, c, blank & ~(x > 0), "not_asked",
                                     "set to NaN: not asked, so out of the base")
                elif kind != "other_text":
                    self.set_missing(out, c, blank, "answered_not_asked",
                                     f"set to NaN: not asked ({qu.ask_if})")
            for o in getattr(qu, "options", None) or []:
                tcol = f"{qu.id}_{o.code}_text"
                if not o.other or tcol not in out.columns:
                    continue
                ocol = f"{qu.id}_{o.code}" if qu.type == "multi" else qu.id
                if ocol not in out.columns:
                    continue
                if qu.type == "multi":
                    selected = out[ocol].to_numpy(dtype=float) > 0
                elif _is_number(o.code):
                    selected = out[ocol].to_numpy(dtype=float) == o.code
                else:
                    selected = out[ocol].eq(o.code).to_numpy(dtype=bool)
                unknown = undetermined | invalid.get(ocol, np.zeros(len(out), dtype=bool))
                self.set_missing(out, tcol, ~(asked & selected) & ~unknown,
                                 "answered_not_asked",
                                 f"set to NaN: option {o.code} of {qu.id} not selected")

    def missing_codes(self, out: pd.DataFrame) -> None:
        for name, var in self.vars.items():
            if name not in out.columns or not var.missing_codes or var.kind == "derived":
                continue
            values = out[name]
            for code, m in var.missing_codes.items():
                hit = values.eq(code).to_numpy(dtype=bool)
                if hit.any():
                    self.set_missing(out, name, hit, "missing_code",
                                     f"set to NaN: declared missing code {code} "
                                     f"({m.label}, {m.kind})")
                    values = out[name]

    def derive(self, out: pd.DataFrame) -> pd.DataFrame:
        before = {d.id: out[d.id] for d in self.q.derived if d.id in out.columns}
        try:
            derived = self.q.derive(out)
        except KeyError as exc:
            raise ResponseDataError(f"cannot compute the derived variables: {exc.args[0]}; "
                                    "add the missing column to the data") from None
        for name, old in before.items():
            new = derived[name]
            old_num = pd.to_numeric(old, errors="coerce")
            changed = ~((old_num == new) | (old_num.isna() & new.isna())).to_numpy(dtype=bool)
            p = np.flatnonzero(changed)
            self.log(derived, p, name, _objects(old, p), _objects(new, p), "derived",
                     "recomputed from the questionnaire")
        for c in FLAG_COLUMNS:  # keep the flags at the end, after derived variables
            derived[c] = derived.pop(c)
        return derived


def _objects(col: pd.Series, positions: np.ndarray) -> np.ndarray:
    """``col.to_numpy(dtype=object)[positions]``, converting only those cells."""
    return col.take(positions).to_numpy(dtype=object)


def _object_array(values) -> np.ndarray:
    """A 1-d object array of ``values`` (a list or an array), each value kept as it is."""
    if isinstance(values, np.ndarray) and values.dtype == object:
        return values
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out
