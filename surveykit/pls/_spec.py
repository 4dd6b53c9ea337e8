"""The model a PLS call describes: blocks, paths and modes, checked and put in path order."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .._util import path_order
from ..errors import PLSError

SCHEMES = ("path", "centroid", "factorial")
_MODE_NAMES = {"a": "A", "reflective": "A", "b": "B", "formative": "B"}


@dataclass(frozen=True)
class ModelSpec:
    """A checked PLS path model.

    ``constructs`` are in path order (every construct after its predecessors; ties keep the
    order of ``blocks``); ``items`` are the blocks' items in that order; ``path[i, j] == 1``
    when construct ``j`` has a direct path to construct ``i`` (R plspm's ``path_matrix``).
    """

    constructs: tuple[str, ...]
    blocks: dict[str, tuple[str, ...]]
    modes: dict[str, str]
    path: np.ndarray
    layer: dict[str, int]

    @property
    def items(self) -> list[str]:
        return [m for c in self.constructs for m in self.blocks[c]]

    @property
    def block_index(self) -> np.ndarray:
        """For each item (in ``items`` order), the index of its construct."""
        return np.concatenate([np.full(len(self.blocks[c]), k)
                               for k, c in enumerate(self.constructs)])

    @property
    def odm(self) -> np.ndarray:
        """Outer design matrix: ``odm[item, construct] = 1`` when the item is in the block."""
        b = self.block_index
        out = np.zeros((len(b), len(self.constructs)))
        out[np.arange(len(b)), b] = 1.0
        return out

    @property
    def endogenous(self) -> list[str]:
        return [c for k, c in enumerate(self.constructs) if self.path[k].any()]

    @property
    def edges(self) -> list[tuple[str, str]]:
        """``(from, to)`` of every direct path, by target in path order."""
        cs = self.constructs
        return [(cs[j], cs[i]) for i in range(len(cs)) for j in range(len(cs))
                if self.path[i, j]]

    def predecessors(self, construct: str) -> list[str]:
        i = self.constructs.index(construct)
        return [c for j, c in enumerate(self.constructs) if self.path[i, j]]

    @property
    def effect_pairs(self) -> list[tuple[int, int]]:
        """``(from, to)`` indices of every pair joined by a directed route, by source then
        target in path order (R plspm's order of ``effects``)."""
        R = self.reach
        L = len(self.constructs)
        return [(j, i) for j in range(L) for i in range(L) if R[i, j]]

    @property
    def reach(self) -> np.ndarray:
        """``reach[i, j]``: a directed route leads from construct ``j`` to construct ``i``."""
        P = self.path.astype(bool)
        R = P.copy()
        for _ in range(len(P)):
            R = R | (R.astype(int) @ P.astype(int)).astype(bool)
        return R


def build_spec(blocks, paths, modes=None) -> ModelSpec:
    """Check ``blocks``, ``paths`` and ``modes`` and return the :class:`ModelSpec`.

    Every problem is named with what to do: a block that is empty or repeats an item, an
    item in two blocks, a construct in ``paths`` without a block, a block in no path, a
    construct that is its own predecessor, a cycle (with its route), an unknown mode.
    """
    if not isinstance(blocks, Mapping) or not blocks:
        raise PLSError("blocks must be a non-empty dict {construct: [item columns]}, e.g. "
                       "{'SAT': ['sat1', 'sat2', 'sat3'], ...}")
    if not isinstance(paths, Mapping) or not paths:
        raise PLSError("paths must be a non-empty dict {construct: [its predecessors]}, "
                       "e.g. {'SAT': ['IMAG', 'EXPE'], 'LOY': ['SAT']}")
    clean: dict[str, tuple[str, ...]] = {}
    owner: dict[str, str] = {}
    for name, items in blocks.items():
        if not isinstance(name, str) or not name:
            raise PLSError(f"construct names must be non-empty text; got {name!r} in blocks")
        if isinstance(items, str):
            items = [items]
        items = tuple(items)
        if not items:
            raise PLSError(f"block {name!r} has no items; give at least one item column")
        for m in items:
            if m in owner:
                where = ("twice in block " + repr(name)) if owner[m] == name else (
                    f"in blocks {owner[m]!r} and {name!r}")
                raise PLSError(f"item {m!r} appears {where}; each item measures one construct "
                               "(copy the column under a new name to use it twice)")
            owner[m] = name
        clean[name] = items
    preds: dict[str, list[str]] = {c: [] for c in clean}
    unknown = []
    for to, froms in paths.items():
        if isinstance(froms, str):
            froms = [froms]
        froms = list(froms)
        if to not in clean:
            unknown.append(to)
        for f in froms:
            if f not in clean:
                unknown.append(f)
            if f == to:
                raise PLSError(f"paths: {to!r} is listed as its own predecessor; remove it")
        if not froms:
            raise PLSError(f"paths[{to!r}] is empty; list its predecessors or leave it out "
                           "(an exogenous construct needs no entry)")
        if to in preds:
            for f in froms:
                if f in preds[to]:
                    raise PLSError(f"paths[{to!r}] lists {f!r} twice")
                preds[to].append(f)
    if unknown:
        names = sorted(set(unknown), key=unknown.index)
        raise PLSError(f"construct(s) {', '.join(map(repr, names))} appear in paths but have "
                       f"no block; add them to blocks (known: {list(clean)})")
    linked = {c for c, fs in preds.items() if fs} | {f for fs in preds.values() for f in fs}
    lonely = [c for c in clean if c not in linked]
    if lonely:
        raise PLSError(f"block(s) {', '.join(map(repr, lonely))} appear in no path; a PLS "
                       "construct needs at least one path (add it to paths or drop its block)")
    order = _path_order(list(clean), preds)
    k = {c: i for i, c in enumerate(order)}
    P = np.zeros((len(order), len(order)), dtype=int)
    for to, fs in preds.items():
        for f in fs:
            P[k[to], k[f]] = 1
    layer: dict[str, int] = {}
    for c in order:
        layer[c] = 1 + max((layer[f] for f in preds[c]), default=-1)
    return ModelSpec(constructs=tuple(order), blocks={c: clean[c] for c in order},
                     modes=_modes(modes, order), path=P, layer=layer)


def _path_order(names: list[str], preds: dict[str, list[str]]) -> list[str]:
    """Topological order, ties by declaration order; a cycle is named with its route."""
    order, cycle = path_order(names, preds)
    if cycle:
        raise PLSError(f"paths contain a cycle: {' -> '.join(cycle)}; a PLS path model must "
                       "be recursive (no construct may lead back to itself), so remove one "
                       "of these paths")
    return order


def _modes(modes, order: list[str]) -> dict[str, str]:
    def norm(v, who):
        key = str(v).strip().lower()
        if key not in _MODE_NAMES:
            raise PLSError(f"mode {v!r} for {who}; use 'A' (reflective) or 'B' (formative)")
        return _MODE_NAMES[key]

    if modes is None:
        return dict.fromkeys(order, "A")
    if isinstance(modes, str):
        m = norm(modes, "every block")
        return dict.fromkeys(order, m)
    if isinstance(modes, Mapping):
        extra = [c for c in modes if c not in order]
        if extra:
            raise PLSError(f"modes name construct(s) {', '.join(map(repr, extra))} that have "
                           f"no block; known: {order}")
        return {c: norm(modes.get(c, "A"), repr(c)) for c in order}
    raise PLSError(f"modes={modes!r}; give None (all reflective), 'A', 'B' or a dict "
                   "{construct: 'A' or 'B'}")
