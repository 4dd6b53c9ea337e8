"""Planted quality problems: a small, known set of rows that break one rule each."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..questionnaire import Questionnaire
from ._common import _valid_codes


def _plant_problems(q: Questionnaire, clean: pd.DataFrame, rng,
                    per_rule: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Copy ``clean`` and plant ``per_rule`` rows of each rule (one problem per row)."""
    df = clean.copy()
    n = len(df)
    rid = q.roles.respondent_id
    variables = q.variables()
    taken = np.zeros(n, bool)
    records: list[dict] = []
    asked = {qq.id: q.asked(clean, qq.id).to_numpy() for qq in q.questions}

    def choose(eligible: np.ndarray) -> int | None:
        idx = np.flatnonzero(eligible & ~taken)
        if not len(idx):
            return None
        r = int(rng.choice(idx))
        taken[r] = True
        return r

    def record(r: int, question: str, rule: str, detail: str) -> None:
        records.append({"resp_id": df.at[r, rid], "question": question, "rule": rule,
                        "row": r, "detail": detail})

    def cycle(options: list, k: int) -> list:
        return [options[i % len(options)] for i in range(k)] if options else []

    # names that routing or segment rules read: planting there would move other answers
    routing_names: set[str] = set()
    for qq in q.questions:
        if qq.ask_if:
            routing_names |= set(q._routing[qq.id].names)
    for exprs in q._rules.values():
        for e in exprs:
            routing_names |= set(e.names)
    for d in q.derived:
        if d.from_:
            routing_names.add(d.from_)

    # straight_lining: every item of a grid (>= 4 items) gets the same valid code
    grids = [qq for qq in q.questions if qq.type == "grid" and len(qq.items) >= 4]
    for qq in cycle(grids, per_rule):
        r = choose(asked[qq.id])
        if r is None:
            continue
        codes = sorted(_valid_codes(q, qq.items[0].id))
        code = codes[int(rng.integers(len(codes) // 2, len(codes)))]
        for it in qq.items:
            df.at[r, it.id] = float(code)
        record(r, qq.id, "straight_lining", f"all {len(qq.items)} items = {code}")

    # speeder: duration under 0.4 x the median
    dur = q.roles.duration
    if dur and dur in df.columns:
        med = float(np.nanmedian(clean[dur].to_numpy(dtype=float)))
        for _ in range(per_rule):
            r = choose(np.ones(n, bool))
            value = float(np.rint(med * rng.uniform(0.1, 0.3)))
            df.at[r, dur] = value
            record(r, dur, "speeder", f"{value:.0f} s against a median of {med:.0f} s")

    # out_of_range and non_numeric: numeric columns of scales and numeric questions
    kinds_order = ("rating", "nps", "numeric", "grid_item", "single")
    by_kind = {k: [v.name for v in variables.values() if v.kind == k and v.name in df.columns]
               for k in kinds_order}
    grid_firsts = {q.variable(c).question: c for c in reversed(by_kind["grid_item"])}
    by_kind["grid_item"] = [grid_firsts[g] for g in dict.fromkeys(
        q.variable(c).question for c in by_kind["grid_item"])]
    numeric_cols = [c for k in kinds_order for c in by_kind[k]]
    # keep routing, segment rules and weighting intact, so that cleaning a planted value
    # leaves the respondent's routing, segment and weighting cells as they were
    protected = routing_names | set(q.roles.weighting)
    numeric_cols = [c for c in numeric_cols if c not in protected] or numeric_cols
    texts = ["n/a", "-", "ten", "N/A", "?", "x"]
    for rule in ("out_of_range", "non_numeric"):
        for i, col in enumerate(cycle(numeric_cols, per_rule)):
            var = variables[col]
            r = choose(asked[var.question] & clean[col].notna().to_numpy())
            if r is None:
                continue
            if rule == "non_numeric":
                value: object = texts[i % len(texts)]
                detail = f"text {value!r} in a numeric column"
            elif var.kind == "numeric":
                value = float((var.max if var.max is not None else 100) + 51)
                detail = f"{value:.0f} above the maximum {var.max:g}"
            else:
                codes = [c for c in _valid_codes(q, col)]
                bad = max(codes) + 1
                while bad in var.missing_codes:
                    bad += 1
                value = float(bad)
                detail = f"code {bad:.0f} is not on the scale"
            if rule == "non_numeric" or df[col].dtype == object:
                df[col] = df[col].astype(object)
            df.at[r, col] = value
            record(r, col, rule, detail)

    # answered_not_asked: an answer where routing says the question was skipped
    groups: dict[str, list] = {}
    for qq in q.questions:
        if qq.ask_if and qq.type in ("single", "numeric", "rating", "multi", "nps"):
            groups.setdefault(qq.ask_if, []).append(qq)
    routed = [g[i] for i in range(max((len(g) for g in groups.values()), default=0))
              for g in groups.values() if i < len(g)]
    for qq in cycle(routed, per_rule):
        r = choose(~asked[qq.id])
        if r is None:
            continue
        if qq.type == "multi":
            cols = [f"{qq.id}_{o.code}" for o in qq.options]
            df.loc[r, cols] = 0.0
            df.at[r, cols[0]] = 1.0
            detail = f"{cols[0]} ticked"
        elif qq.type == "numeric":
            lo = qq.min if qq.min is not None else 0
            hi = qq.max if qq.max is not None else lo + 100
            value = float(np.rint(lo + (hi - lo) * 0.2))
            df.at[r, qq.id] = value
            detail = f"{qq.id} = {value:.0f}"
        else:
            value = float(sorted(_valid_codes(q, qq.id))[0])
            df.at[r, qq.id] = value
            detail = f"{qq.id} = {value:.0f}"
        record(r, qq.id, "answered_not_asked", f"{detail} although {qq.ask_if!r} is false")

    # asked_not_answered: a required question left empty
    weighting = set(q.roles.weighting)
    pref = {"rating": 0, "nps": 1, "multi": 2, "single": 3, "rank": 4}
    required = [qq for qq in q.questions if qq.required and qq.type in pref
                and qq.id not in routing_names and qq.id not in weighting]
    by_type: dict[str, list] = {}
    for qq in sorted(required, key=lambda qq: pref[qq.type]):
        by_type.setdefault(qq.type, []).append(qq)
    order = [g[i] for i in range(max((len(g) for g in by_type.values()), default=0))
             for g in by_type.values() if i < len(g)]
    for qq in cycle(order, per_rule):
        r = choose(asked[qq.id])
        if r is None:
            continue
        cols = [c for c in q.columns_of(qq.id) if c in df.columns]
        if qq.type == "multi":
            df.loc[r, [c for c in cols if not c.endswith("_text")]] = 0.0
            df.loc[r, [c for c in cols if c.endswith("_text")]] = np.nan
        else:
            df.loc[r, cols] = np.nan
        record(r, qq.id, "asked_not_answered", f"required {qq.type} question left empty")

    # exclusive_conflict: "none of these" ticked together with another option
    multis = [qq for qq in q.questions if qq.type == "multi"
              and any(o.exclusive for o in qq.options)]
    for qq in cycle(multis, per_rule):
        r = choose(asked[qq.id])
        if r is None:
            continue
        ex = next(o for o in qq.options if o.exclusive)
        other = next(o for o in qq.options if not o.exclusive and not o.other)
        df.at[r, f"{qq.id}_{ex.code}"] = 1.0
        df.at[r, f"{qq.id}_{other.code}"] = 1.0
        record(r, qq.id, "exclusive_conflict", f"{ex.label!r} ticked with {other.label!r}")

    # duplicate_id: a later row repeats an earlier respondent (same id, same answers)
    for _ in range(per_rule):
        r = choose(np.arange(n) >= n // 10)
        if r is None:
            continue
        src_pool = np.flatnonzero(~taken[:r])
        src = int(rng.choice(src_pool))
        taken[src] = True
        df.iloc[r] = df.iloc[src]
        record(r, rid, "duplicate_id", f"row {r} repeats row {src}")

    planted = pd.DataFrame(records, columns=["resp_id", "question", "rule", "row", "detail"])
    planted = planted.sort_values("row", kind="stable").reset_index(drop=True)
    return df, planted
