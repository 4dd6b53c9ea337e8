"""The routing rules of the response check (``answered_not_asked``,
``asked_not_answered``, other-specify text without its option): who the routing asks and
who answered, question by question, and the stray answers, which leave later routing
undetermined (see :mod:`surveykit.responses.checks`). A part of its checker."""

from __future__ import annotations

import numpy as np

from .._threads import column_map
from ._check_arrays import _any, _asked, _undetermined
from ._check_text import _is_number, _show


class _RoutingRules:
    """The checker's routing rules (mixed into ``_Checker``)."""

    def routing(self) -> None:
        self.ran.update({"answered_not_asked", "asked_not_answered"})
        todo = []
        for qu in self.q.questions:
            main = [c for c in self.q.columns_of(qu.id)
                    if self.vars[c].kind != "other_text" and c in self.df.columns]
            if main:
                todo.append((qu, main))
        # who was asked and who answered, question by question on threads; then, in
        # questionnaire order, the stray answers (each may leave later routing undetermined)
        for (qu, main), (asked, read, answered) in zip(
                todo, column_map(self._asked_answered, todo, self.n), strict=True):
            if asked is None:
                continue
            undetermined = _undetermined(read, self.invalid, self.n)
            rule_text = f"routing {qu.ask_if!r} is false"
            if qu.ask_if:
                stray = answered & ~asked & ~undetermined
                self.hit("answered_not_asked", qu.id, stray,
                         lambda p, m=main, qu=qu: self._answer_text(qu, m, p),
                         lambda p, v, qu=qu, r=rule_text: f"{qu.id} answered ({v}) though not "
                         f"asked: {r} for this respondent; check the routing or the data "
                         "(clean() sets it to NaN)")
                # a stray answer must not drive the routing of later questions
                for c in self.q.columns_of(qu.id):
                    self._invalid(c, stray)
            if qu.required:
                need = asked & ~undetermined
                why = "" if not qu.ask_if else f" (routing {qu.ask_if!r} is true)"
                if qu.type == "grid":
                    for c in main:
                        self.hit("asked_not_answered", c, need & ~self.present(c),
                                 lambda p: None,
                                 lambda p, v, c=c, qu=qu, w=why: f"required item {c} of grid "
                                 f"{qu.id!r} is empty though asked{w}; check the export or "
                                 "mark the question required: false")
                else:
                    what = "has no option ticked" if qu.type == "multi" else "is empty"
                    self.hit("asked_not_answered", qu.id, need & ~answered, lambda p: None,
                             lambda p, v, qu=qu, w=why, t=what: f"required question {qu.id} "
                             f"{t} though asked{w}; check the export or mark the question "
                             "required: false")
            self._other_text(qu, asked, undetermined)

    def _asked_answered(self, qu, main: list[str]) -> tuple:
        """``(asked, columns the routing reads, answered)`` (see :func:`_asked`)."""
        asked, read = _asked(self.q, qu, self.df)
        if asked is None:
            return None, read, None
        if qu.type == "multi":
            return asked, read, _any([self.num(c) > 0 for c in main])
        return asked, read, _any([self.present(c) for c in main])

    def _other_text(self, qu, asked, undetermined) -> None:
        for o in getattr(qu, "options", None) or []:
            tcol = f"{qu.id}_{o.code}_text"
            if not o.other or tcol not in self.df.columns:
                continue
            if qu.type == "multi":
                ocol = f"{qu.id}_{o.code}"
                if ocol not in self.df.columns:
                    continue
                selected = self.num(ocol) > 0
            else:
                ocol = qu.id
                selected = (self.num(ocol) == o.code) if _is_number(o.code) else \
                    self.df[ocol].eq(o.code).to_numpy(dtype=bool)
            bad = self.present(tcol) & ~(asked & selected) & ~undetermined
            bad &= ~self.invalid.get(ocol, np.zeros(self.n, bool))
            self.hit("answered_not_asked", tcol, bad, lambda p, t=tcol: self.raw(t, p),
                     lambda p, v, t=tcol, o=o, qu=qu: f"{t} has text though option {o.code} "
                     f"({o.label!r}) of {qu.id} is not selected; clean() sets it to NaN")

    def _answer_text(self, qu, main: list[str], p: int) -> str:
        if qu.type == "multi":
            return "; ".join(c[len(qu.id) + 1:] for c in main if self.num(c)[p] > 0)
        if len(main) == 1:
            return self.raw(main[0], p)
        return "; ".join(f"{c}={_show(self.raw(c, p))}" for c in main if self.present(c)[p])
