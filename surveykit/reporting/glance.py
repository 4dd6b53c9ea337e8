"""The overview's comparison at a glance, for the index page.

:func:`glance_html` draws the segment comparison of :mod:`.overview` (the key metrics of
every segment with their confidence intervals, and the segment x driver map) from the
segments' headlines (``manifest.json``), with :func:`index_summary`, its opening sentence.
"""

from __future__ import annotations

import pandas as pd

from .._util import lower_first
from .narrative import SegmentName, fmt_value, upper_first
from .section import _figure_html, meaning

__all__ = ["glance_html", "index_summary"]


def _good(m: dict) -> str:
    if m.get("sig") not in ("higher", "lower") or m.get("low_base"):
        return "ns"
    return meaning(1 if m["sig"] == "higher" else -1,
                   1 if m.get("higher_is_better", True) else -1)


def index_summary(segments: list[dict]) -> str:
    """The sentence that opens the index: which segment is best and which weakest on the
    first key metric, and where the weakest should act, from the segments' headlines (the
    same numbers as the table below it).

    Examples
    --------
    >>> segs = [{"label": "Students", "status": "ok", "headline": {"metrics": [
    ...     {"key": "sat", "label": "Overall satisfaction", "estimate": 8.0, "display": "8.0",
    ...      "sig": "higher", "total_display": "7.1"}], "drivers": []}},
    ...     {"label": "Free", "status": "ok", "headline": {"metrics": [
    ...     {"key": "sat", "label": "Overall satisfaction", "estimate": 6.1, "display": "6.1",
    ...      "sig": "lower", "total_display": "7.1"}], "drivers": [
    ...     {"label": "Speed of response", "importance": 57.0, "act_here": True}]}}]
    >>> print(index_summary(segs))  # doctest: +NORMALIZE_WHITESPACE
    Overall satisfaction is highest among Students (8.0) and lowest in the Free segment (6.1;
    total 7.1); respondents in the Free segment would gain most from speed of response (57% of
    what drives it).
    """
    ok = [s for s in segments if s.get("status") == "ok" and not s.get("low_base")
          and (s.get("headline") or {}).get("metrics")]
    if len(ok) < 2:
        return ""
    first = ok[0]["headline"]["metrics"][0]
    key, hib = first["key"], first.get("higher_is_better", True)
    vals = []
    for s in ok:
        m = next((m for m in s["headline"]["metrics"] if m["key"] == key), None)
        if m is not None and m.get("estimate") is not None:
            vals.append((m["estimate"], s, m))
    if len(vals) < 2:
        return ""
    vals.sort(key=lambda v: v[0], reverse=hib)
    (_, best, bm), (_, worst, wm) = vals[0], vals[-1]
    best_name, worst_name = SegmentName.of(best["label"]), SegmentName.of(worst["label"])
    total = f"; total {wm['total_display']}" if wm.get("total_display") else ""
    text = (f"{upper_first(first['label'])} is {'highest' if hib else 'lowest'} "
            f"{best_name.among} ({bm['display']}) and {'lowest' if hib else 'highest'} "
            f"{worst_name.among} ({wm['display']}{total})")
    acts = [d for d in worst["headline"].get("drivers") or [] if d.get("act_here")]
    if acts:
        d = max(acts, key=lambda d: d.get("importance") or 0)
        share = fmt_value((d.get("importance") or 0) / 100, "percent")
        text += (f"; {worst_name.people} would gain most from {lower_first(d['label'])} "
                 f"({share} of what drives it)")
    return text + "."


def glance_html(segments: list[dict]) -> str:
    """The comparison at a glance for the index page, from the segments' headlines: the
    key metrics of every segment with 95% CIs (one panel per metric, coloured better /
    worse / not significant), and the segment x driver map of importance shares with the
    act-here cells outlined. Empty when there is nothing to draw."""
    ok = [s for s in segments if s.get("status") == "ok" and s.get("headline")]
    if not ok:
        return ""  # nothing to draw: the chart modules are not even loaded
    from .. import charts

    parts = []
    rows = []
    for s in ok:
        for m in s["headline"].get("metrics") or []:
            if m.get("estimate") is None:
                continue
            rows.append({"metric": m["label"], "segment": s["label"],
                         "estimate": m["estimate"], "ci_low": m.get("ci_low"),
                         "ci_high": m.get("ci_high"), "total": m.get("total"),
                         "meaning": _good(m),
                         "unit": "%" if m.get("kind") == "percent" else ""})
    try:
        if rows:
            frame = pd.DataFrame(rows).astype({"ci_low": float, "ci_high": float,
                                               "total": float})
            parts.append(_figure_html(charts.metrics_chart(
                frame, title="Key metrics by segment, with 95% confidence intervals "
                             "(dashed: total)"), "Key metrics by segment"))
    except Exception:  # noqa: BLE001 - a chart never stops the index
        pass
    shares, act = {}, {}
    for s in ok:
        if s.get("low_base"):
            continue
        for d in s["headline"].get("drivers") or []:
            shares.setdefault(d["label"], {})[s["label"]] = d.get("importance")
            act.setdefault(d["label"], {})[s["label"]] = bool(d.get("act_here"))
    try:
        if shares:
            sh = pd.DataFrame(shares, dtype=float)
            sh = sh[sh.mean().sort_values(ascending=False).index]
            outcome = next((s["headline"].get("outcome") for s in ok
                            if s["headline"].get("outcome")), None)
            title = ("What drives " + (lower_first(outcome) if outcome else "the outcome")
                     + " in each segment: % of the explained variance (red outline: act "
                       "here)")
            parts.append(_figure_html(charts.driver_heatmap(
                sh, pd.DataFrame(act).reindex(index=sh.index, columns=sh.columns)
                .fillna(False).astype(bool), title=title), "What drives each segment"))
    except Exception:  # noqa: BLE001 - a chart never stops the index
        pass
    if not parts:
        return ""
    # the heading stays with the first chart on a printed page
    return ('<div class="sk-glance"><div class="sk-lead"><h2>Comparison at a glance</h2>'
            + parts[0] + "</div>" + "".join(parts[1:]) + "</div>")
