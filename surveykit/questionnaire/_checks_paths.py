"""Checks of a questionnaire's path model (``paths:``), a part of
:func:`surveykit.questionnaire.checks.check_document`.

The inner model joins declared constructs (each construct's items are its block); it must
be recursive (no cycle, named by its route when there is one), have at least one
endogenous construct, and give each item to one block only. Each problem is located at the
entry or the name that causes it.
"""

from __future__ import annotations

from .._util import path_order


def check_paths(doc, kinds: dict, problem, suggest) -> None:
    """Report every problem of ``doc.paths`` (and of ``mode`` on the constructs) through
    ``problem(path, message)``; ``kinds`` maps column and question ids to their kind."""
    paths = doc.paths
    constructs = {c.id: c for _, c in doc.constructs}
    broken = {k for k, v in doc.broken.items() if v[1] == "construct"}
    for i, c in doc.constructs:
        if c.mode == "B" and c.id not in paths and not any(c.id in p for p in paths.values()):
            problem(("constructs", i, "mode"), f"construct {c.id!r} is formative (mode B) but "
                    "in no path of the path model (paths:); add it to paths or drop the mode")
    if not paths:
        return

    def known(name, where: tuple) -> bool:
        if name in constructs or name in broken:
            return True
        kind = kinds.get(name)
        if kind is not None:
            problem(where, f"paths: {name!r} is a {kind.replace('_', ' ')}, not a construct; "
                    "a path model joins constructs: declare one under constructs: with the "
                    "items that measure it, and use its id here")
        else:
            problem(where, f"paths: unknown construct {name!r}{suggest(name, constructs)}; "
                    f"declared constructs: {', '.join(constructs) or 'none'}")
        return False

    preds: dict[str, list[str]] = {}
    if all(not froms for froms in paths.values()):
        problem(("paths",), "paths declares no endogenous construct (every entry lists no "
                "predecessors); list for at least one construct the constructs that explain "
                "it, e.g. satisfaction: [quality, value]")
        return
    for to, froms in paths.items():
        where = ("paths", to)
        ok = known(to, where)
        if not froms:
            problem(where, f"paths: {to!r} lists no predecessors; list the constructs that "
                    "explain it, or leave it out (an exogenous construct needs no entry)")
        for j, f in enumerate(froms):
            if f == to:
                problem((*where, j), f"paths: {to!r} is listed as its own predecessor; "
                        "remove it")
            elif froms.index(f) < j:
                problem((*where, j), f"paths: {to!r} lists {f!r} twice")
            elif known(f, (*where, j)) and ok and f not in broken and to not in broken:
                preds.setdefault(to, []).append(f)
    names = list(dict.fromkeys([*(f for fs in preds.values() for f in fs), *preds]))
    _, cycle = path_order(names, preds)
    if cycle:
        problem(("paths", cycle[1]), f"paths form a cycle: {' -> '.join(cycle)}; a PLS path "
                "model must be recursive (no construct may lead back to itself): remove one "
                "of these paths")
    owner: dict[str, str] = {}
    position = {c.id: i for i, c in doc.constructs}
    for name in names:
        c = constructs.get(name)
        for j, item in enumerate(c.items if c is not None else []):
            if item in owner and owner[item] != name:
                problem(("constructs", position[name], "items", j),
                        f"item {item!r} measures both {owner[item]!r} and {name!r}; in a "
                        "path model each item belongs to one construct "
                        "(copy the column under a new name to use it twice)")
            owner.setdefault(item, name)
