"""Checks of a questionnaire's ``report:`` block, a part of
:func:`surveykit.questionnaire.checks.check_document`: it names questions, items and
constructs that exist, of kinds each section can use, and never a ``pii`` question."""

from __future__ import annotations

_SCALED = ("rating", "grid_item", "nps", "single")


def check_report(doc, kinds: dict, questions: dict, problem, suggest) -> None:
    """The ``report:`` block names questions, items and constructs that exist, of kinds the
    section can use, and never a ``pii`` question."""
    rep = doc.report
    pii = {q.id for q in questions.values() if q.pii}
    constructs = {c.id for _, c in doc.constructs} | {k for k, v in doc.broken.items()
                                                       if v[1] == "construct"}

    def ref(path: tuple, name: str, allowed: tuple, what: str) -> str | None:
        kind = kinds.get(name)
        if kind is None:
            problem(path, f"unknown {what} {name!r}{suggest(name, kinds)}")
        elif name in pii:
            problem(path, f"{name!r} is marked pii; personal data never reaches a "
                    "report")
        elif kind not in (*allowed, "unknown"):
            problem(path, f"{what} {name!r} is a {kind} question; this field takes "
                    f"{' / '.join(allowed)}")
        else:
            return kind
        return None

    numeric = ("rating", "nps", "numeric", "grid_item", "derived")
    if rep.outcome:
        ref(("report", "outcome"), rep.outcome, numeric, "outcome")
    for j, name in enumerate(rep.loyalty):
        ref(("report", "loyalty", j), name, (*numeric, "single"), "loyalty measure")
    for j, m in enumerate(rep.metrics or []):
        path = ("report", "metrics", j)
        kind = ref((*path, "column"), m.column, (*numeric, "single", "multi_option"),
                   "metric column")
        if kind is None:
            continue
        if m.stat == "nps" and kind != "nps":
            problem((*path, "stat"), f"stat 'nps' needs an nps question; "
                    f"{m.column!r} is {kind}")
        q = questions.get(m.column)
        has_scale = kind in ("nps", "grid_item") or getattr(q, "scale", None) is not None
        if m.stat in ("top_box", "bottom_box", "index") and not has_scale:
            problem((*path, "stat"), f"stat {m.stat!r} needs a question with a scale; "
                    f"{m.column!r} has none (use 'proportion' with codes, or 'mean')")
        if m.stat == "proportion" and not m.codes and kind != "multi_option":
            problem((*path, "codes"), f"stat 'proportion' of {m.column!r} needs "
                    "codes: the answers to count, e.g. codes: [1]")
    for name in ("attributes", "battery", "drivers"):
        for j, item in enumerate(getattr(rep, name) or []):
            ref(("report", name, j), item, (*numeric, "grid"), "item or grid")
    for j, cid in enumerate(rep.constructs or []):
        if cid not in constructs:
            problem(("report", "constructs", j), f"unknown construct {cid!r}"
                    f"{suggest(cid, constructs)}")
    if rep.ipma_target is not None and rep.ipma_target not in doc.paths:
        problem(("report", "ipma_target"), f"ipma_target {rep.ipma_target!r} is not an "
                "endogenous construct of paths: (a construct with an entry there, whose "
                f"drivers the map shows){suggest(rep.ipma_target, list(doc.paths))}")
    for name, allowed in (("pain_points", ("multi", "single", "rank")),
                          ("channels", ("multi", "single", "derived")),
                          ("sources", ("multi", "single", "derived")),
                          ("open_text", ("open",)),
                          ("profile", ("single", "derived", "rating", "multi")),
                          ("banner", ("single", "multi", "rating", "nps", "grid", "derived",
                                      "numeric"))):
        for j, qid in enumerate(getattr(rep, name) or []):
            ref(("report", name, j), qid, allowed, "question")
