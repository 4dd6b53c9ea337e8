"""What each question of a banner is: its type, label, codes and code labels, and the
top- and bottom-box of a rating scale.

Explicit parameters first (``types``, ``labels``, ``value_labels``, ``scales``), then the
questionnaire, then the data. Used by :func:`surveykit.tables.banner` and
:func:`surveykit.segments.profile_segments`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._util import check_columns

__all__: list[str] = []

ROW_TYPES = ("single", "rating", "nps", "multi", "numeric")
_KIND_TO_TYPE = {"single": "single", "derived": "single", "rating": "rating",
                 "grid_item": "rating", "nps": "nps", "numeric": "numeric",
                 "rank_option": "numeric", "multi_option": "multi", "duration": "numeric"}


@dataclass
class _Spec:
    qid: str
    type: str
    label: str
    columns: list[str]
    codes: list = field(default_factory=list)       # categories / scale points / options
    code_labels: list[str] = field(default_factory=list)
    top: list = field(default_factory=list)          # top-box codes (rating)
    bottom: list = field(default_factory=list)


def _fmt_code(code) -> str:
    if isinstance(code, float) and code.is_integer():
        return str(int(code))
    return str(code)


def _fmt_list(codes) -> str:
    return "[" + ", ".join(_fmt_code(c) for c in codes) + "]"


def _as_number(code):
    try:
        return float(code)
    except (TypeError, ValueError):
        return code


def _multi_columns(df: pd.DataFrame, qid: str) -> list[str]:
    pat = re.compile(rf"^{re.escape(qid)}_([^_]+)$")
    return [c for c in df.columns if isinstance(c, str) and pat.match(c)]


class _Meta:
    """Resolve type, labels, codes and scale of a question from explicit dicts, then the
    questionnaire (duck-typed on :class:`surveykit.questionnaire.Questionnaire`)."""

    def __init__(self, df, questionnaire, types, labels, value_labels, scales, top_box, error):
        self.df, self.q, self.error, self.top_box = df, questionnaire, error, int(top_box)
        self.types = dict(types or {})
        self.labels = dict(labels or {})
        self.value_labels = {k: dict(v) for k, v in (value_labels or {}).items()}
        self.scales = dict(scales or {})
        self.vars = questionnaire.variables() if questionnaire is not None else {}
        bad = {k: v for k, v in self.types.items() if v not in ROW_TYPES}
        if bad:
            k, v = next(iter(bad.items()))
            raise error(f"types[{k!r}] = {v!r} is not a known question type; use one of "
                        f"{', '.join(ROW_TYPES)}")

    def _qtype_from_questionnaire(self, qid):
        if qid in self.vars:
            return _KIND_TO_TYPE.get(self.vars[qid].kind)
        try:
            qq = self.q.question(qid) if self.q is not None else None
        except KeyError:
            qq = None
        return "multi" if qq is not None and qq.type == "multi" else None

    def values(self, col: str) -> pd.Series:
        if self.q is not None and col in self.vars:
            return self.q.valid_values(self.df, col)
        return self.df[col]

    def spec(self, qid: str, *, role: str) -> _Spec:
        df, err = self.df, self.error
        qtype = self.types.get(qid) or self._qtype_from_questionnaire(qid)
        if qtype is None:
            if qid in df.columns:
                qtype = "single"
                s = df[qid]
                if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
                    vals = s.dropna().unique()
                    if len(vals) > 15 or not np.all(np.mod(vals, 1) == 0):
                        qtype = "numeric"
            elif _multi_columns(df, qid):
                qtype = "multi"
            else:
                check_columns(df, [qid], error=err, what=f"{role} question")
        label = self.labels.get(qid)
        if label is None and self.q is not None:
            try:
                label = self.q.question(qid).short_label
            except KeyError:
                label = self.vars[qid].label if qid in self.vars else None
        label = label or qid
        if qtype == "multi":
            cols = ([c for c in self.q.columns_of(qid) if c in df.columns and c in self.vars
                     and self.vars[c].kind == "multi_option"] if self.q is not None else [])
            cols = cols or _multi_columns(df, qid)
            if not cols:
                raise err(f"{role} question {qid!r} is multi-response but the data have no "
                          f"columns named '{qid}_<code>'; check the id or its type")
            codes = [c[len(qid) + 1:] for c in cols]
            vl = self.value_labels.get(qid, {})
            vl = {str(k): v for k, v in vl.items()}
            labs = []
            for c, code in zip(cols, codes, strict=True):
                lab = vl.get(code)
                if lab is None and c in self.vars:
                    lab = self.vars[c].label.split(": ", 1)[-1]
                labs.append(lab or code)
            return _Spec(qid, "multi", label, cols, codes, labs)
        check_columns(df, [qid], error=err, what=f"{role} question")
        spec = _Spec(qid, qtype, label, [qid])
        vl = self.value_labels.get(qid)
        if vl is None and qid in self.vars:
            vl = self.vars[qid].value_labels
        vl = dict(vl or {})
        if qtype == "rating":
            self._rating_scale(spec, vl)
        elif qtype == "single":
            s = self.values(qid)
            numeric = pd.api.types.is_numeric_dtype(s)
            codes = [(_as_number(k) if numeric else k) for k in vl]
            if isinstance(s.dtype, pd.CategoricalDtype):     # keep the categories' order
                codes += [c for c in s.cat.categories if c not in set(codes)]
            seen = set(codes)
            extra = [c for c in pd.unique(s.dropna()) if c not in seen]
            try:
                extra = sorted(extra)
            except TypeError:
                extra = sorted(extra, key=str)
            spec.codes = codes + extra
            labmap = {(_as_number(k) if numeric else k): v for k, v in vl.items()}
            spec.code_labels = [str(labmap.get(c, _fmt_code(c))) for c in spec.codes]
        return spec

    def _rating_scale(self, spec: _Spec, vl: dict) -> None:
        qid, k = spec.qid, self.top_box
        given = self.scales.get(qid)
        scale = self.q.scale_of(qid) if (given is None and self.q is not None) else None
        if given is not None:
            given = list(given)
            if len(given) == 2 and all(float(g).is_integer() for g in given):
                codes = [float(c) for c in range(int(given[0]), int(given[1]) + 1)]
            else:
                codes = [float(c) for c in given]
            top, bottom = codes[-k:], codes[:k]
        elif scale is not None:
            codes = sorted(float(c) for c in scale.valid_codes)
            top = [float(c) for c in scale.favourable_codes]
            k = len(top)
            ordered = sorted(codes, reverse=getattr(scale, "direction", "") != "ascending")
            bottom = ordered[:k]
            vl = vl or {o.code: o.label for o in scale.codes}
        elif vl:
            codes = sorted(_as_number(c) for c in vl)
            top, bottom = codes[-k:], codes[:k]
        else:
            obs = self.values(qid).dropna()
            if obs.empty:
                codes = []
            else:
                codes = [float(c) for c in range(int(obs.min()), int(obs.max()) + 1)]
            top, bottom = codes[-k:], codes[:k]
        if len(codes) < 2 * k:
            raise self.error(f"rating question {qid!r} has scale {_fmt_list(codes)} "
                             f"with fewer than {2 * k} points for top/bottom-{k}-box; pass "
                             f"scales={{{qid!r}: (low, high)}} or a smaller top_box")
        labmap = {_as_number(c): v for c, v in vl.items()}
        spec.codes, spec.top, spec.bottom = codes, top, bottom
        spec.code_labels = [str(labmap.get(c, _fmt_code(c))) for c in codes]
