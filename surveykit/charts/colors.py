"""The colours of every chart and table, and what they mean (no plotting library here:
the matplotlib charts in :mod:`surveykit.plots` and the SVG charts both read them)."""

from __future__ import annotations

import math

__all__ = ["PALETTE", "MEANING_COLORS", "QUADRANT_COLORS", "meaning_of"]

#: Categorical palette: ink blue first, then muted, colour-blind-safe companions.
PALETTE = ["#1f4e79", "#e07b39", "#3a9e8f", "#c44e52", "#8172b3", "#937860", "#da8bc3",
           "#8c8c8c", "#ccb974", "#64b5cd"]
#: What a colour means, in every chart and table: better, worse, neither, not significant.
MEANING_COLORS = {"better": "#1b7f3b", "worse": "#b42318", "neutral": "#1f2933",
                  "ns": "#9aa5b1"}
#: Colours of the importance-performance quadrants (act here is the "worse" red, keep up
#: the good work the "better" green, the two others greys).
QUADRANT_COLORS = {"act here": MEANING_COLORS["worse"],
                   "keep up the good work": MEANING_COLORS["better"],
                   "low priority": MEANING_COLORS["ns"], "possible overkill": "#52606d"}


def meaning_of(diff, significant, polarity) -> str:
    """What a difference means for its colour: ``"ns"`` when not significant, else
    ``"better"`` / ``"worse"`` by ``polarity`` (+1 higher is better, -1 lower is better),
    ``"neutral"`` when neither (polarity 0, or no difference).

    Examples
    --------
    >>> meaning_of(0.3, True, 1), meaning_of(0.3, True, -1), meaning_of(0.3, False, 1)
    ('better', 'worse', 'ns')
    """
    if not significant:
        return "ns"
    if not polarity or diff is None or not math.isfinite(diff) or diff == 0:
        return "neutral"
    return "better" if (diff > 0) == (polarity > 0) else "worse"
