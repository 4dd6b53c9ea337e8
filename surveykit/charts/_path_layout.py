"""Where a path model's constructs, arrows and coefficients go: the geometry shared by the
SVG path chart (:func:`surveykit.charts.path_chart`) and the matplotlib path diagram
(:meth:`surveykit.pls.PLSResult.plot`), in the diagram's own units."""

from __future__ import annotations

import numpy as np

#: a construct's box, and the distance between columns and between rows (diagram units)
NODE_W, NODE_H = 1.7, 0.8
_DX, _DY = 2.6, 1.4


def layout(spec) -> dict[str, tuple[float, float]]:
    """Node centres: columns by path order (one column right of the furthest predecessor);
    rows chosen among a few levels so that straight arrows pass through as few other
    constructs, and cross as few other arrows, as possible (coordinate descent from an
    even spread; deterministic)."""
    cols: dict[int, list[str]] = {}
    for c in spec.constructs:
        cols.setdefault(spec.layer[c], []).append(c)
    tallest = max(len(v) for v in cols.values())
    levels = [k - (tallest + 1) / 2 for k in range(tallest + 2)]
    x = {c: spec.layer[c] * _DX for c in spec.constructs}
    y = {}
    for names in cols.values():
        start = (len(levels) - len(names)) // 2
        for i, c in enumerate(names):
            y[c] = levels[start + i]
    edges = spec.edges

    def cost(y):
        pts = {c: (x[c], y[c] * _DY) for c in y}
        total = 0.0
        for a, b in edges:
            (x1, y1), (x2, y2) = pts[a], pts[b]
            total += 0.05 * abs(y2 - y1)
            for c, (cx, cy) in pts.items():
                if c not in (a, b) and _hits((x1, y1), (x2, y2), cx, cy):
                    total += 10
        for i, (a, b) in enumerate(edges):
            for c, d in edges[i + 1:]:
                if len({a, b, c, d}) == 4 and _cross(pts[a], pts[b], pts[c], pts[d]):
                    total += 1
        return total

    best = cost(y)
    for _ in range(4):
        moved = False
        for c in spec.constructs:
            taken = {y[o] for o in cols[spec.layer[c]] if o != c}
            for lev in levels:
                if lev in taken or lev == y[c]:
                    continue
                trial = {**y, c: lev}
                t = cost(trial)
                if t < best - 1e-9:
                    y, best, moved = trial, t, True
        if not moved:
            break
    return {c: (x[c], y[c] * _DY) for c in spec.constructs}


def _hits(a, b, cx, cy) -> bool:
    """Does the segment a-b pass through the box of a node centred at (cx, cy)?"""
    (x1, y1), (x2, y2) = a, b
    lo, hi = 0.0, 1.0
    for p_, q_ in ((-(x2 - x1), x1 - (cx - NODE_W / 2)), (x2 - x1, (cx + NODE_W / 2) - x1),
                   (-(y2 - y1), y1 - (cy - NODE_H / 2)), (y2 - y1, (cy + NODE_H / 2) - y1)):
        if p_ == 0:
            if q_ < 0:
                return False
            continue
        r = q_ / p_
        if p_ < 0:
            lo = max(lo, r)
        else:
            hi = min(hi, r)
        if lo > hi:
            return False
    return True


def _cross(a, b, c, d) -> bool:
    def orient(p, q, r):
        return np.sign((q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]))

    return (orient(a, b, c) * orient(a, b, d) < 0) and (orient(c, d, a) * orient(c, d, b) < 0)


def label_spot(a, b, placed, pos, others) -> tuple[float, float]:
    """Where along an arrow its coefficient goes: near the middle, outside every
    construct's box, away from the labels already placed and from the other arrows."""
    best, best_d = None, -1.0
    for t in (0.5, 0.4, 0.6, 0.3, 0.7, 0.22, 0.78):
        pt = (a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))
        if any(abs(pt[0] - cx) < NODE_W / 2 + 0.3 and abs(pt[1] - cy) < NODE_H / 2 + 0.15
               for cx, cy in pos.values()):
            continue
        d = min([*(np.hypot((pt[0] - q[0]) / 2.0, pt[1] - q[1]) for q in placed),
                 *(2 * _seg_dist(pt, *seg) for seg in others), 9.0])
        if d > 0.45:
            return pt
        if d > best_d:
            best, best_d = pt, d
    return best or ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)


def _seg_dist(pt, a, b) -> float:
    ab = np.subtract(b, a)
    t = float(np.clip(np.dot(np.subtract(pt, a), ab) / max(np.dot(ab, ab), 1e-12), 0, 1))
    return float(np.hypot(*(np.subtract(pt, a) - t * ab)))


def clip(a, b):
    """End points moved from the node centres to their box edges."""
    (x1, y1), (x2, y2) = a, b
    dx, dy = x2 - x1, y2 - y1

    def t(dx, dy):
        tx = (NODE_W / 2 + 0.04) / abs(dx) if dx else np.inf
        ty = (NODE_H / 2 + 0.04) / abs(dy) if dy else np.inf
        return min(tx, ty)

    s = t(dx, dy)
    return (x1 + s * dx, y1 + s * dy), (x2 - s * dx, y2 - s * dy)
