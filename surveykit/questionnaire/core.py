"""The loaded questionnaire: what downstream code asks of it.

:class:`Questionnaire` wraps a checked :class:`~surveykit.questionnaire.models.QuestionnaireModel`
and answers which columns the data must have (:meth:`Questionnaire.variables`, the codebook),
the valid and missing codes of each, routing masks (:meth:`Questionnaire.asked`), derived
variables (:meth:`Questionnaire.derive`), constructs and roles.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .expressions import Expression
from .models import NPS_SCALE, Code, MissingCode, QuestionnaireModel, Scale

__all__ = ["Questionnaire", "Variable"]


@dataclass(frozen=True)
class Variable:
    """One column of the response data, as the questionnaire declares it.

    ``kind`` is one of ``id, customer_id, duration, weight, single, multi_option,
    other_text, grid_item, rating, nps, numeric, open, rank_option, derived``.
    """

    name: str
    question: str
    kind: str
    label: str
    value_labels: dict = field(default_factory=dict)
    missing_codes: dict[Code, MissingCode] = field(default_factory=dict)
    min: float | None = None
    max: float | None = None
    pii: bool = False
    reverse: bool = False
    scale: str | None = None

    @property
    def numeric(self) -> bool:
        """True when the column holds numbers (False for text and for text-coded answers)."""
        if self.kind in ("open", "other_text", "id", "customer_id"):
            return False
        return not any(isinstance(c, str) for c in (*self.value_labels, *self.missing_codes))


class Questionnaire:
    """A loaded, checked questionnaire.

    Build it with :func:`surveykit.questionnaire.load_questionnaire`. Everything downstream
    asks it, rather than re-declaring: :meth:`variables` (the codebook), :meth:`question`,
    :meth:`scale_of`, :meth:`asked` (routing masks), :meth:`derive` (bands and segments),
    :attr:`constructs` and :attr:`roles`.

    Examples
    --------
    >>> import pandas as pd
    >>> from surveykit.questionnaire import questionnaire_from_text
    >>> q = questionnaire_from_text('''
    ... id: demo
    ... title: Demo
    ... scales:
    ...   sat: {codes: {1: Bad, 2: OK, 3: Good}, missing: {9: Don't know}}
    ... questions:
    ...   - {id: age, type: numeric, text: Your age?, min: 18}
    ...   - {id: sat, type: rating, text: Satisfied?, scale: sat, ask_if: age >= 25}
    ... derived:
    ...   - id: band
    ...     label: Age band
    ...     from: age
    ...     bands: [{code: 1, label: young, max: 24}, {code: 2, label: older, min: 25}]
    ... ''')
    >>> list(q.variables())
    ['resp_id', 'age', 'sat', 'band']
    >>> q.labels("sat")
    {1: 'Bad', 2: 'OK', 3: 'Good', 9: "Don't know"}
    >>> df = pd.DataFrame({"age": [20, 30, 40], "sat": [None, 3, 9]})
    >>> q.asked(df, "sat").tolist()
    [False, True, True]
    >>> q.valid_values(df, "sat").tolist()
    [nan, 3.0, nan]
    >>> q.derive(df)["band"].tolist()
    [1, 2, 2]
    """

    def __init__(self, model: QuestionnaireModel, *, source: str | None = None,
                 lines: dict[tuple, int] | None = None):
        self.model = model
        self.source = source
        self._lines = lines or {}
        self._questions = {q.id: q for q in model.questions}
        self._routing = {q.id: Expression.parse(q.ask_if) for q in model.questions if q.ask_if}
        self._rules = {d.id: [Expression.parse(r.when) for r in d.rules]
                       for d in model.derived if d.rules}
        self._variables = self._build_variables()

    # -- simple accessors -------------------------------------------------------------
    id = property(lambda self: self.model.id)
    title = property(lambda self: self.model.title)
    questions = property(lambda self: list(self.model.questions))
    scales = property(lambda self: dict(self.model.scales))
    derived = property(lambda self: list(self.model.derived))
    constructs = property(lambda self: list(self.model.constructs))
    roles = property(lambda self: self.model.roles)

    def __repr__(self) -> str:
        return (f"Questionnaire({self.id!r}, {len(self.model.questions)} questions, "
                f"{len(self._variables)} columns)")

    def question(self, qid: str):
        """The question with id ``qid`` (KeyError naming the known ids otherwise)."""
        try:
            return self._questions[qid]
        except KeyError:
            raise KeyError(f"no question {qid!r} in questionnaire {self.id!r}") from None

    def line_of(self, *path) -> int | None:
        """The 1-based source line of a document path such as ``("questions", 3, "scale")``."""
        while path:
            if path in self._lines:
                return self._lines[path]
            path = path[:-1]
        return None

    def scale_of(self, name: str) -> Scale | None:
        """The scale of a question or grid item column (NPS gets the 0-10 scale)."""
        var = self._variables.get(name)
        if var is None:
            return None
        if var.kind == "nps":
            return NPS_SCALE
        return self.model.scales.get(var.scale) if var.scale else None

    # -- the codebook -----------------------------------------------------------------
    def variables(self) -> dict[str, Variable]:
        """Every column the data should have, in questionnaire order, by name."""
        return dict(self._variables)

    def variable(self, name: str) -> Variable:
        try:
            return self._variables[name]
        except KeyError:
            raise KeyError(f"no column {name!r} in questionnaire {self.id!r}") from None

    def columns_of(self, qid: str) -> list[str]:
        """The data columns of question (or derived variable) ``qid``."""
        return [v.name for v in self._variables.values() if v.question == qid]

    @property
    def pii_columns(self) -> list[str]:
        """Columns that hold personal data: ``pii: true`` questions and ``roles.pii``."""
        names = [v.name for v in self._variables.values() if v.pii]
        return names + [c for c in self.model.roles.pii if c not in names]

    def codebook(self) -> pd.DataFrame:
        """One row per column: variable, question, kind, label, codes, missing codes, range."""
        rows = []
        for v in self._variables.values():
            rows.append({
                "variable": v.name, "question": v.question, "kind": v.kind, "label": v.label,
                "codes": "; ".join(f"{c} = {lab}" for c, lab in v.value_labels.items()),
                "missing_codes": "; ".join(f"{c} = {m.label} ({m.kind})"
                                          for c, m in v.missing_codes.items()),
                "min": v.min, "max": v.max, "reverse": v.reverse, "pii": v.pii,
            })
        return pd.DataFrame(rows)

    def _build_variables(self) -> dict[str, Variable]:
        m, out = self.model, {}

        def add(v: Variable):
            out[v.name] = v

        roles = m.roles
        add(Variable(roles.respondent_id, roles.respondent_id, "id", "Respondent id"))
        if roles.customer_id:
            add(Variable(roles.customer_id, roles.customer_id, "customer_id", "Customer id"))
        if roles.duration:
            add(Variable(roles.duration, roles.duration, "duration",
                         "Interview duration (seconds)", min=0))
        if roles.base_weight:
            add(Variable(roles.base_weight, roles.base_weight, "weight", "Design weight", min=0))
        for q in m.questions:
            label, pii = q.short_label, q.pii
            if q.type in ("single",):
                scale = m.scales.get(q.scale) if q.scale else None
                opts = scale.codes if scale else (q.options or [])
                miss = (scale.missing if scale else []) + list(q.missing)
                add(Variable(q.id, q.id, "single", label, _labels(opts), _missing(miss),
                             pii=pii, scale=q.scale))
                for o in opts:
                    if o.other:
                        add(Variable(f"{q.id}_{o.code}_text", q.id, "other_text",
                                     f"{label}: {o.label} (specify)", pii=pii))
            elif q.type == "multi":
                for o in q.options:
                    add(Variable(f"{q.id}_{o.code}", q.id, "multi_option", f"{label}: {o.label}",
                                 {0: "Not selected", 1: "Selected"}, pii=pii))
                    if o.other:
                        add(Variable(f"{q.id}_{o.code}_text", q.id, "other_text",
                                     f"{label}: {o.label} (specify)", pii=pii))
            elif q.type == "grid":
                scale = m.scales.get(q.scale)
                for it in q.items:
                    add(Variable(it.id, q.id, "grid_item", it.text,
                                 _labels(scale.codes) if scale else {},
                                 _missing(scale.missing) if scale else {},
                                 reverse=it.reverse, pii=pii, scale=q.scale))
            elif q.type == "rating":
                scale = m.scales.get(q.scale)
                add(Variable(q.id, q.id, "rating", label, _labels(scale.codes) if scale else {},
                             _missing(scale.missing) if scale else {}, pii=pii, scale=q.scale))
            elif q.type == "nps":
                add(Variable(q.id, q.id, "nps", label, _labels(NPS_SCALE.codes),
                             _missing(q.missing), min=0, max=10, pii=pii))
            elif q.type == "numeric":
                add(Variable(q.id, q.id, "numeric", label, min=q.min, max=q.max, pii=pii))
            elif q.type == "open":
                add(Variable(q.id, q.id, "open", label, pii=pii))
            elif q.type == "rank":
                n = q.rank_max or len(q.options)
                for o in q.options:
                    add(Variable(f"{q.id}_{o.code}", q.id, "rank_option", f"{label}: {o.label}",
                                 {i: f"Rank {i}" for i in range(1, n + 1)}, min=1, max=n, pii=pii))
        for d in m.derived:
            items = d.bands or d.rules or []
            add(Variable(d.id, d.id, "derived", d.label, {i.code: i.label for i in items}))
        return out

    # -- routing and derived variables ---------------------------------------------------
    def valid_values(self, df: pd.DataFrame, name: str) -> pd.Series:
        """Column ``name`` of ``df`` as numbers (text for open questions) with declared
        missing codes and non-numeric entries as NaN."""
        var = self._variables.get(name)
        col = df[name]
        if var is not None and not var.numeric:
            if var.missing_codes:
                return col.mask(col.isin(list(var.missing_codes)))
            return col
        values = pd.to_numeric(col, errors="coerce")
        if var is not None and var.missing_codes:
            values = values.mask(values.isin(list(var.missing_codes)))
        return values

    def answered(self, df: pd.DataFrame, qid: str) -> pd.Series:
        """True where the respondent gave any answer to question/column ``qid``
        (a declared missing code such as don't know counts as an answer)."""
        cols = [qid] if qid in df.columns else [c for c in self.columns_of(qid)
                                                if c in df.columns]
        if not cols:
            raise KeyError(f"answered({qid}): no column of {qid!r} in the data")
        question = self._questions.get(qid)
        if qid not in df.columns and question is not None and question.type == "multi":
            # a multi question counts as answered when any option is ticked
            options = [c for c in cols if self._variables[c].kind == "multi_option"]
            ticked = pd.DataFrame({c: pd.to_numeric(df[c], errors="coerce") > 0
                                   for c in options}, index=df.index)
            return ticked.any(axis=1)
        present = pd.Series(False, index=df.index)
        for c in cols:
            col = df[c]
            ok = col.notna().to_numpy(dtype=bool)
            if not pd.api.types.is_numeric_dtype(col):  # blank text is no answer
                ok = ok & (col.astype(str).str.strip() != "").to_numpy(dtype=bool)
            present = present | ok
        return present

    def _evaluate(self, expr: Expression, df: pd.DataFrame) -> pd.Series:
        def value(name):
            if name not in df.columns:
                raise KeyError(f"column {name!r} used in {expr.text!r} is not in the data")
            return self.valid_values(df, name)

        def selected(qid, code):
            col = f"{qid}_{code}"
            if col not in df.columns:
                raise KeyError(f"column {col!r} for selected({qid}, {code}) is not in the data")
            return pd.to_numeric(df[col], errors="coerce").fillna(0) > 0

        return expr.evaluate(value, lambda n: self.answered(df, n), selected)

    def asked(self, df: pd.DataFrame, qid: str) -> pd.Series:
        """Boolean mask of the respondents who should have been asked ``qid``.

        A question is asked when its own ``ask_if`` holds (or it has none).
        """
        expr = self._routing.get(qid)
        if expr is None:
            return pd.Series(True, index=df.index)
        return self._evaluate(expr, df)

    def evaluate(self, text: str, df: pd.DataFrame) -> pd.Series:
        """Evaluate an expression in the questionnaire's language on ``df``.

        Examples
        --------
        >>> from surveykit.questionnaire import load_questionnaire
        >>> q = load_questionnaire("questionnaires/pc_customers.yaml")
        >>> df = pd.DataFrame({"cust_type": [1, 1, 2], "age": [22, 30, 40]})
        >>> q.evaluate("cust_type == 1 and age <= 24", df).tolist()
        [True, False, False]
        """
        return self._evaluate(Expression.parse(text), df)

    def defining_variables(self, name: str) -> list[str]:
        """The questions a derived variable is computed from, transitively, in questionnaire
        order (``[]`` for a question). A segment's profile leaves these out: "Students are
        100% aged 18-24" is their definition, not a finding.

        Examples
        --------
        >>> from surveykit.questionnaire import load_questionnaire
        >>> q = load_questionnaire("questionnaires/pc_customers.yaml")
        >>> q.defining_variables("segment")
        ['cust_type', 'age', 'org_size', 'org_type', 'age_band']
        """
        derived = {d.id: d for d in self.model.derived}
        found: set[str] = set()
        todo = [name]
        while todo:
            d = derived.get(todo.pop())
            if d is None:
                continue
            names = {d.from_} if d.bands else {n for e in self._rules[d.id] for n in e.names}
            for n in names - found:
                found.add(n)
                todo.append(n)
        order = [*self._variables, *derived]
        return sorted(found, key=lambda n: order.index(n) if n in order else len(order))

    def derive(self, df: pd.DataFrame) -> pd.DataFrame:
        """Return a copy of ``df`` with every derived variable (bands, segments) added.

        Bands: ``min <= x <= max``; values in no band are NaN. Rules: first match wins;
        respondents matching none are NaN.
        """
        out = df.copy()
        for d in self.model.derived:
            result = pd.Series(np.nan, index=out.index, dtype=object)
            if d.bands:
                if d.from_ not in out.columns:
                    raise KeyError(f"derived variable {d.id!r} needs column {d.from_!r}, "
                                   "which is not in the data")
                x = self.valid_values(out, d.from_)
                for b in d.bands:
                    hit = x.notna() & result.isna()
                    if b.min is not None:
                        hit &= x >= b.min
                    if b.max is not None:
                        hit &= x <= b.max
                    result[hit] = b.code
            else:
                for rule, expr in zip(d.rules, self._rules[d.id], strict=True):
                    hit = self._evaluate(expr, out) & result.isna()
                    result[hit] = rule.code
            out[d.id] = pd.to_numeric(result) if all(
                isinstance(i.code, int) for i in (d.bands or d.rules)) else result
        return out

    def construct_items(self, construct_id: str) -> tuple[list[str], list[str]]:
        """``(items, reverse_keyed_items)`` of a construct, from the construct and its grids."""
        c = next((c for c in self.model.constructs if c.id == construct_id), None)
        if c is None:
            raise KeyError(f"no construct {construct_id!r} in questionnaire {self.id!r}")
        rev = [i for i in c.items if i in c.reverse or
               (i in self._variables and self._variables[i].reverse)]
        return list(c.items), rev

    def labels(self, name: str) -> dict:
        """Value labels of a column (valid codes, then missing codes), {} if none."""
        var = self._variables.get(name)
        if var is None:
            return {}
        return {**var.value_labels, **{c: m.label for c, m in var.missing_codes.items()}}


def _labels(options) -> dict:
    return {o.code: o.label for o in options}


def _missing(codes) -> dict:
    return {m.code: m for m in codes}
