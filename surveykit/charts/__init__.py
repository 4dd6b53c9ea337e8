"""Charts drawn as inline SVG, for report pages and notebooks (no plotting library).

A chart is a :class:`Chart`: Jupyter shows it (``_repr_svg_``), a report section embeds it
(``to_svg()``), ``save()`` writes an ``.svg`` file. Text is real text (selectable,
searchable, crisp in print); its boxes are measured with a table of DejaVu Sans widths,
so labels placed to avoid each other do so in the browser too (tests/test_browser.py
checks it in Chromium).

The charts look and mean what the matplotlib charts of :mod:`surveykit.plots` do: the
same colours (:mod:`surveykit.charts.colors`), one meaning everywhere (a significant
difference is green when better, red when worse, dark ink when neither; grey is not
significant), the total as a reference mark, and axis ranges from the caller so that
every segment's page draws a chart on one scale.
"""

from ._chart import Chart, nice_range, segment_name, ticks
from .colors import MEANING_COLORS, PALETTE, QUADRANT_COLORS, meaning_of
from .lines import scree_chart
from .overview import driver_heatmap, metrics_chart
from .path import path_chart
from .quadrant import label_boxes, labels_overlap, quadrant_chart
from .rows import comparison_chart, share_chart
from .trend import trend_chart

__all__ = ["Chart", "comparison_chart", "share_chart", "quadrant_chart", "path_chart",
           "metrics_chart",
           "driver_heatmap", "scree_chart", "trend_chart", "labels_overlap",
           "label_boxes", "nice_range", "segment_name", "ticks", "MEANING_COLORS", "PALETTE",
           "QUADRANT_COLORS", "meaning_of"]
