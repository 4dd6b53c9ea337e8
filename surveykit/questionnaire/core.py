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

from ..errors import Problem, QuestionnaireError
from .expressions import Expression, item_score, reverse_keyed
from .models import NPS_SCALE, Code, Derived, MissingCode, QuestionnaireModel, Scale

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
    :meth:`scale_of`, :meth:`asked` (routing masks), :meth:`derive` (bands, segments,
    computed numbers, construct scores, quantile groups and cuts), :meth:`derived_missing`
    (why a derived value is missing), :meth:`construct_score`, :attr:`constructs` and
    :attr:`roles`.

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
        self._computes = {d.id: Expression.parse(d.compute, number=True)
                          for d in model.derived if d.compute is not None}
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

    def _repr_html_(self) -> str:
        """A short notebook view: title, counts, constructs and roles."""
        import html

        r = self.roles
        rows = [("questions", len(self.model.questions)), ("columns", len(self._variables)),
                ("scales", len(self.model.scales)), ("derived variables", len(self.derived)),
                ("constructs", ", ".join(c.id for c in self.constructs) or "none"),
                ("segments", ", ".join(r.segments) or "none"),
                ("outcome drivers", len(r.drivers))]
        body = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
                       f"<td style='text-align:left'>{html.escape(str(v))}</td></tr>"
                       for k, v in rows)
        return (f"<div><strong>Questionnaire</strong> <code>{html.escape(self.id)}</code>: "
                f"{html.escape(self.title or '')}<table>{body}</table></div>")

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
            lo = hi = None
            if d.construct_ is not None:
                lo, hi = (0.0, 100.0) if d.scale_100 else self._construct_range(d.construct_)
            add(Variable(d.id, d.id, "derived", d.label, d.categories, min=lo, max=hi))
        return out

    def _construct_range(self, construct_id: str) -> tuple[float | None, float | None]:
        """The lowest and highest code shared by a construct's items (None when they differ
        or an item has no scale)."""
        c = next((c for c in self.model.constructs if c.id == construct_id), None)
        scales = [self._item_scale(i) for i in c.items] if c else [None]
        ranges = {(s.low, s.high) if s is not None else None for s in scales}
        return ranges.pop() if len(ranges) == 1 and None not in ranges else (None, None)

    def _item_scale(self, item: str) -> Scale | None:
        """The scale of a construct item, before the codebook is built (as scale_of)."""
        for q in self.model.questions:
            if q.type == "nps" and q.id == item:
                return NPS_SCALE
            if q.id == item or (q.type == "grid" and any(it.id == item for it in q.items)):
                sid = getattr(q, "scale", None)
                return self.model.scales.get(sid) if sid else None
        return None

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
            for n in self._inputs(d) - found:
                found.add(n)
                todo.append(n)
        order = [*self._variables, *derived]
        return sorted(found, key=lambda n: order.index(n) if n in order else len(order))

    def _inputs(self, d: Derived) -> set[str]:
        """The variables a derived variable reads directly."""
        if d.rules is not None:
            return {n for e in self._rules[d.id] for n in e.names}
        if d.compute is not None:
            return set(self._computes[d.id].names)
        if d.construct_ is not None:
            return set(self.construct_items(d.construct_)[0])
        return {d.from_} if d.from_ else set()

    def derive(self, df: pd.DataFrame) -> pd.DataFrame:
        """Return a copy of ``df`` with every derived variable added, in declared order.

        Bands: ``min <= x <= max``, the first band that holds wins; values in no band are
        NaN. Rules: the first match wins; respondents matching none are NaN. Compute: the
        expression's number; missing inputs and division by zero give NaN. Construct: see
        :meth:`construct_score`. Quantiles: codes 1..k at the unweighted sample quantiles of
        ``from`` among the rows of ``df`` (numpy's default, linear interpolation; a value
        on a cut point goes to the upper group). Cuts: ``x < cuts[0]`` -> 1, ...,
        ``x >= cuts[-1]`` -> k. :meth:`derived_missing` says why a value is NaN.

        Examples
        --------
        >>> from surveykit.questionnaire import questionnaire_from_text
        >>> q = questionnaire_from_text('''
        ... id: demo
        ... title: Demo
        ... scales: {s10: {codes: {1: Poor, 10: Excellent}}}
        ... questions:
        ...   - {id: a, type: rating, text: A?, scale: s10}
        ...   - {id: b, type: rating, text: B?, scale: s10}
        ... derived:
        ...   - {id: index, label: Index, compute: "(a - 1) / 9 * 100"}
        ...   - {id: high, label: High, rules: [{code: 1, label: high, when: "a + b >= 14"}]}
        ...   - {id: half, label: Half, from: index, quantiles: 2}
        ...   - {id: ab, label: A by B, compute: "a / (b - 5)"}
        ... ''')
        >>> out = q.derive(pd.DataFrame({"a": [1, 10, 7, None], "b": [5, 10, 7, 3]}))
        >>> out[["index", "high", "half", "ab"]].round(1).values.tolist()
        [[0.0, nan, 1.0, nan], [100.0, 1.0, 2.0, 2.0], [66.7, 1.0, 2.0, 3.5], [nan, nan, nan, nan]]
        """
        return self._derive(df)[0]

    def derived_missing(self, df: pd.DataFrame) -> pd.DataFrame:
        """Why each derived value of ``df`` is missing: one column per derived variable.

        Same rows as ``df``; a cell holds the reason where the derived value is NaN and is
        None where it has a value: ``"missing input"`` (an input the variable reads is
        missing, or fewer items answered than a score needs), ``"division by zero"``,
        ``"not a finite number"`` (overflow), ``"in no band"`` or ``"no rule matched"``.
        ``derived_missing(df).apply(pd.Series.value_counts)`` counts them.

        Examples
        --------
        >>> from surveykit.questionnaire import questionnaire_from_text
        >>> q = questionnaire_from_text('''
        ... id: demo
        ... title: Demo
        ... questions:
        ...   - {id: a, type: numeric, text: A?}
        ...   - {id: b, type: numeric, text: B?}
        ... derived:
        ...   - {id: ratio, label: Ratio, compute: "a / b"}
        ... ''')
        >>> why = q.derived_missing(pd.DataFrame({"a": [1, 2, None], "b": [2, 0, 1]}))
        >>> why["ratio"].tolist()
        [None, 'division by zero', 'missing input']
        """
        return self._derive(df, explain=True)[1]

    def _derive(self, df: pd.DataFrame, explain: bool = False):
        out = df.copy()
        why: dict[str, pd.Series] = {}
        for d in self.model.derived:
            reason = None
            if d.compute is not None:
                expr = self._computes[d.id]
                value = self._reader(expr, out)
                result = expr.compute(value)
                if explain:
                    missing_input = pd.Series(False, index=out.index)
                    for name in expr.values:
                        missing_input |= pd.to_numeric(value(name), errors="coerce").isna()
                    reason = np.where(expr.division_by_zero(value), "division by zero",
                                      np.where(missing_input, "missing input",
                                               "not a finite number"))
            elif d.construct_ is not None:
                result = self.construct_score(out, d.construct_, scale_100=d.scale_100)
                reason = "missing input"
            elif d.rules is not None:
                result = pd.Series(np.nan, index=out.index, dtype=object)
                for rule, expr in zip(d.rules, self._rules[d.id], strict=True):
                    hit = self._evaluate(expr, out) & result.isna()
                    result[hit] = rule.code
                reason = "no rule matched"
            else:
                if d.from_ not in out.columns:
                    raise KeyError(f"derived variable {d.id!r} needs column {d.from_!r}, "
                                   "which is not in the data")
                x = pd.to_numeric(self.valid_values(out, d.from_), errors="coerce")
                result = _group(d, x)
                reason = np.where(x.isna(), "missing input", "in no band")
            if d.categories and all(isinstance(c, int) for c in d.categories):
                result = pd.to_numeric(result)
            out[d.id] = result
            if explain:
                why[d.id] = pd.Series(reason, index=out.index, dtype=object).where(
                    result.isna().to_numpy(), None)
        return out, pd.DataFrame(why, index=df.index,
                                 columns=[d.id for d in self.model.derived])

    def _reader(self, expr: Expression, df: pd.DataFrame):
        def value(name):
            if name not in df.columns:
                raise KeyError(f"column {name!r} used in {expr.text!r} is not in the data")
            return self.valid_values(df, name)

        return value

    def construct_score(self, df: pd.DataFrame, construct_id: str, *,
                        scale_100: bool = False) -> pd.Series:
        """The score of a construct: the mean of its answered items, reverse keys applied.

        Reverse-keyed items (the construct's ``reverse`` and ``reverse: true`` grid items)
        are re-coded ``low + high - x`` on their scale; declared missing codes are missing.
        A respondent is scored when at least the construct's ``min_items`` items are
        answered (default: half, rounded up), else NaN. ``scale_100`` rescales the score to
        0-100 from the lowest and highest code of the items' (common) scale. The same
        definition as ``surveykit.measurement.construct_scores``
        (:func:`~surveykit.questionnaire.expressions.item_score`).

        Examples
        --------
        >>> from surveykit.questionnaire import questionnaire_from_text
        >>> q = questionnaire_from_text('''
        ... id: demo
        ... title: Demo
        ... scales: {s5: {codes: {1: Bad, 2: Poor, 3: OK, 4: Good, 5: Great}, missing: {9: DK}}}
        ... questions:
        ...   - id: g
        ...     type: grid
        ...     text: Rate
        ...     scale: s5
        ...     items: [{id: a, text: A}, {id: b, text: B, reverse: true}, {id: c, text: C}]
        ... constructs: [{id: value, label: Value, items: [a, b, c], min_items: 2}]
        ... ''')
        >>> df = pd.DataFrame({"a": [5, 4, 2], "b": [1, 9, 3], "c": [4, None, None]})
        >>> q.construct_score(df, "value").round(3).tolist()  # b reversed: 5, DK, 3
        [4.667, nan, 2.5]
        >>> q.construct_score(df, "value", scale_100=True).round(1).tolist()
        [91.7, nan, 37.5]
        """
        c = next((c for c in self.model.constructs if c.id == construct_id), None)
        if c is None:
            raise KeyError(f"no construct {construct_id!r} in questionnaire {self.id!r}")
        items, rev = self.construct_items(construct_id)
        columns = []
        for item in items:
            if item not in df.columns:
                raise KeyError(f"construct {construct_id!r} needs column {item!r}, which is "
                               "not in the data")
            x = pd.to_numeric(self.valid_values(df, item), errors="coerce").to_numpy(float)
            if item in rev:
                scale = self.scale_of(item)
                if scale is None:
                    raise QuestionnaireError(Problem(
                        f"reverse-keyed item {item!r} of construct {construct_id!r} has no "
                        "scale to reverse it on", file=self.source))
                x = reverse_keyed(x, scale.low, scale.high)
            columns.append(x)
        score = item_score(np.column_stack(columns), min_valid=c.required_items)
        if scale_100:
            low, high = self._construct_range(construct_id)
            if low is None:
                raise QuestionnaireError(Problem(
                    f"construct {construct_id!r} cannot be rescaled to 0-100: its items do "
                    "not share one scale", file=self.source))
            score = (score - low) / (high - low) * 100
        return pd.Series(score, index=df.index, name=construct_id)

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


def _group(d: Derived, x: pd.Series) -> pd.Series:
    """Codes of bands, quantile groups or cut bands of ``x`` (NaN outside every band)."""
    result = pd.Series(np.nan, index=x.index, dtype=object)
    if d.bands is not None:
        for b in d.bands:
            hit = x.notna() & result.isna()
            if b.min is not None:
                hit &= x >= b.min
            if b.max is not None:
                hit &= x <= b.max
            result[hit] = b.code
        return result
    if d.quantiles is not None:
        valid = x.dropna().to_numpy(dtype=float)
        if not valid.size:
            return result
        cuts = np.quantile(valid, [i / d.quantiles for i in range(1, d.quantiles)])
    else:
        cuts = np.asarray(d.cuts, dtype=float)
    values = x.to_numpy(dtype=float)
    codes = 1 + (values[:, None] >= cuts[None, :]).sum(axis=1)
    return result.mask(x.notna(), pd.Series(codes, index=x.index, dtype=object))


def _labels(options) -> dict:
    return {o.code: o.label for o in options}


def _missing(codes) -> dict:
    return {m.code: m for m in codes}
