"""Small text helpers shared by the findings sections."""

from __future__ import annotations

from .narrative import fmt_value, is_number

__all__ = ["print_style", "weighting_kw"]


def print_style(title: str, subtitle: str = "") -> str:
    """A ``<style>`` block that prints ``title`` and page numbers on every page (CSS paged
    media margin boxes; the house stylesheet sets the rest of the print layout)."""
    return ("<style>@media print { @page { "
            f'@top-left {{ content: "{_css_text(title)}"; }} '
            f'@top-right {{ content: "{_css_text(subtitle)}"; }} '
            '@bottom-right { content: "Page " counter(page) " of " counter(pages); } '
            "} }</style>")


def _css_text(text: str) -> str:
    """``text`` as the inside of a CSS string: everything but letters, digits and spaces
    escaped (so no quote, backslash or ``</style>`` can end it)."""
    return "".join(ch if (ch.isalnum() and ch.isascii()) or ch == " " else
                   f"\\{ord(ch):06x}" for ch in str(text)[:120])


def _count_of(k: int, n: int, word: str) -> str:
    """``all 4 key metrics``, ``3 of 4 key metrics``, ``the one key metric``."""
    if n == 1:
        return f"the one {word}"
    return f"all {n} {word}s" if k == n else f"{k} of {n} {word}s"


def _pct(v) -> str:
    """An importance share (already in %) as a whole percent."""
    return fmt_value(float(v) / 100, "percent") if is_number(v) else "n/a"


def _top_drivers(table, k: int):
    """The ``k`` most important drivers of an importance table (sorted, shares in %) that
    a sentence can name as drivers: a share shown as 0% drives nothing (the first driver
    is kept whatever its share).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"driver": ["a", "b", "c"], "importance": [83.0, 16.8, 0.2]})
    >>> _top_drivers(t, 3)["driver"].tolist(), _top_drivers(t.iloc[2:], 3)["driver"].tolist()
    (['a', 'b'], ['c'])
    """
    top = table.head(k)
    shown = [k == 0 or (is_number(v) and round(float(v)) >= 1)
             for k, v in enumerate(top["importance"])]
    return top[shown]


def _shares(labels, values) -> list[str]:
    out = []
    for i, (lab, v) in enumerate(zip(labels, values, strict=True)):
        out.append(f"{lab} ({_pct(v)} of the explained variance)" if i == 0
                   else f"{lab} ({_pct(v)})")
    return out


def _num(x):
    return float(x) if is_number(x) else None


def weighting_kw(survey) -> dict:
    """``{"design": ...}`` when the survey carries a sample design (its weights are the
    design's), else ``{"weights": ...}``: the keyword every estimate, comparison and banner
    of a report gets, so that SEs and tests follow the design the questionnaire declares."""
    design = getattr(survey, "design", None)
    return {"weights": survey.weights} if design is None else {"design": design}
