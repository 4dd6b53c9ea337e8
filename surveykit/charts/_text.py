"""Text in an SVG chart: measured without a browser, placed by its box.

The width of a text is the sum of its characters' advance widths in DejaVu Sans (the
chart's first font; a table generated once from the font files, ``_widths.py``). A
character the table lacks is 1 em when it is wide (Chinese, Japanese, Korean: the
fallback fonts draw those square) or has no table (any other script: 0.75 em, wider than
most letters), and 0 when it is a combining mark. The height of a line is the font's
ascent plus descent, as a browser's ``getBBox()`` reports it. Kerning, which only ever
narrows a text, is left out, so a measured box is never smaller than the drawn one.
"""

from __future__ import annotations

import html
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from . import _widths

#: font stack of every chart text: the measured font first
FONT_FAMILY = '"DejaVu Sans", Helvetica, Arial, sans-serif'
#: DejaVu Sans ascent and descent (hhea), in em
ASCENT, DESCENT = 1901 / 2048, 483 / 2048
#: distance between the baselines of a label's lines, in em
LINE_HEIGHT = 1.2
#: bidirectional control characters (e.g. U+202E right-to-left override), which can make
#: displayed text read differently from what it is; removed from every text shown
BIDI = dict.fromkeys(map(ord, "\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                              "\u2066\u2067\u2068\u2069\u061c"))


def _parse(runs) -> dict[str, float]:
    table = {}
    for start, text in runs:
        for k, w in enumerate(text.split()):
            table[chr(start + k)] = int(w) / _widths.UNITS_PER_EM
    return table


@lru_cache(maxsize=2)
def _table(bold: bool) -> dict[str, float]:
    return _parse(_widths.BOLD if bold else _widths.NORMAL)


@lru_cache(maxsize=4096)
def _fallback(ch: str) -> float:
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0.0
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 1.0
    return 0.75


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """Width of one line of ``text`` at font ``size`` (px) in DejaVu Sans.

    Examples
    --------
    >>> round(text_width("Price", 10), 2), text_width("中文", 10)
    (24.57, 20.0)
    """
    table = _table(bold)
    return size * sum(table[c] if c in table else _fallback(c) for c in str(text))


@dataclass(frozen=True)
class Box:
    """A rectangle in the chart's coordinates (y runs down)."""

    x0: float
    y0: float
    x1: float
    y1: float

    def overlaps(self, other: Box) -> bool:
        return (self.x0 < other.x1 and other.x0 < self.x1 and self.y0 < other.y1
                and other.y0 < self.y1)

    def inside(self, other: Box) -> bool:
        return (self.x0 >= other.x0 and self.x1 <= other.x1 and self.y0 >= other.y0
                and self.y1 <= other.y1)

    def expanded(self, fx: float, fy: float) -> Box:
        """The box scaled about its centre by ``fx`` and ``fy``."""
        cx, cy = (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2
        hw, hh = (self.x1 - self.x0) * fx / 2, (self.y1 - self.y0) * fy / 2
        return Box(cx - hw, cy - hh, cx + hw, cy + hh)


_ANCHOR = {"left": "start", "center": "middle", "right": "end"}


def text_box(text: str, x: float, y: float, size: float, *, ha: str = "left",
             va: str = "baseline", bold: bool = False) -> tuple[Box, float]:
    """The box of ``text`` (lines split at ``\\n``) anchored at ``(x, y)``, and the
    baseline of its first line. ``ha``: left / center / right of the box at ``x``;
    ``va``: top / center / bottom of the box, or the first ``baseline``, at ``y``."""
    lines = str(text).split("\n")
    width = max(text_width(line, size, bold=bold) for line in lines)
    step = LINE_HEIGHT * size
    height = (len(lines) - 1) * step + (ASCENT + DESCENT) * size
    if va == "top":
        top = y
    elif va == "bottom":
        top = y - height
    elif va == "center":
        top = y - height / 2
    else:
        top = y - ASCENT * size
    x0 = x if ha == "left" else x - width if ha == "right" else x - width / 2
    return Box(x0, top, x0 + width, top + height), top + ASCENT * size


def num(v: float) -> str:
    """A coordinate as short SVG text (two decimals at most)."""
    s = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def svg_text(text: str, x: float, y: float, size: float, *, ha: str = "left",
             va: str = "baseline", bold: bool = False, color: str = "#262626",
             cls: str = "", extra: str = "") -> tuple[str, Box]:
    """An SVG ``<text>`` (one ``<tspan>`` per line) placed by :func:`text_box`, and its
    box. The text is escaped, bidirectional controls removed; ``extra`` is further
    attribute text.

    Examples
    --------
    >>> svg_text("a & <b>", 0, 10, 10)[0]
    '<text x="0" y="10" font-size="10" fill="#262626">a &amp; &lt;b&gt;</text>'
    """
    text = str(text).translate(BIDI)
    box, base = text_box(text, x, y, size, ha=ha, va=va, bold=bold)
    lines = text.split("\n")
    attrs = f'x="{num(x)}" y="{num(base)}" font-size="{num(size)}"'
    if ha != "left":
        attrs += f' text-anchor="{_ANCHOR[ha]}"'
    if bold:
        attrs += ' font-weight="bold"'
    attrs += f' fill="{color}"'
    if cls:
        attrs += f' class="{cls}"'
    if extra:
        attrs += " " + extra
    if len(lines) == 1:
        body = html.escape(lines[0], quote=False)
    else:
        step = num(LINE_HEIGHT * size)
        body = "".join(f'<tspan x="{num(x)}"{"" if k == 0 else f" dy={chr(34)}{step}{chr(34)}"}>'
                       f"{html.escape(line, quote=False)}</tspan>"
                       for k, line in enumerate(lines))
    return f"<text {attrs}>{body}</text>", box
