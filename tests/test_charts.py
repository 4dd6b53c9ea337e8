"""SVG charts (surveykit.charts): what is drawn equals the numbers, colours follow the
significance, text is escaped and measured as the font draws it."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from surveykit.charts import (
    MEANING_COLORS,
    QUADRANT_COLORS,
    comparison_chart,
    label_boxes,
    labels_overlap,
    quadrant_chart,
    share_chart,
    trend_chart,
)
from surveykit.charts._text import text_width

NS = "{http://www.w3.org/2000/svg}"


def _tree(chart) -> ET.Element:
    return ET.fromstring(chart.to_svg())   # well-formed XML or this raises


def _by_class(root, cls):
    return [e for e in root.iter() if e.get("class") == cls]


def _x_scale(root):
    """Value -> x, from the tick labels the chart drew (as a reader reads the axis)."""
    ticks = _by_class(root, "skc-tick")
    vals = np.array([float(t.text) for t in ticks])
    xs = np.array([float(t.get("x")) for t in ticks])
    slope, icpt = np.polyfit(vals, xs, 1)
    assert np.allclose(slope * vals + icpt, xs, atol=0.01)   # the ticks lie on one axis
    return lambda v: slope * v + icpt


def _rows():
    return pd.DataFrame({"label": ["Delivery", "Price", "Brand", "Support"],
                         "estimate": [7.6, 6.0, 7.0, 6.5], "total": [7.3, 6.3, 7.2, 6.5],
                         "significant": [True, True, False, True]})


def test_comparison_dots_sit_at_the_values_and_are_coloured_by_meaning():
    t = _rows()
    root = _tree(comparison_chart(t, significant="significant", xlim=(5, 8),
                                  title="Attributes"))
    x = _x_scale(root)
    dots = _by_class(root, "skc-dot")
    refs = _by_class(root, "skc-ref")
    assert [float(d.get("cx")) for d in dots] == pytest.approx([x(v) for v in t["estimate"]],
                                                               abs=0.02)
    assert [float(r.get("x1")) for r in refs] == pytest.approx([x(v) for v in t["total"]],
                                                               abs=0.02)
    # higher is better: up green, down red, not significant grey, no difference dark ink
    assert [d.get("fill") for d in dots] == [MEANING_COLORS[k] for k in
                                             ("better", "worse", "ns", "neutral")]
    # rows top to bottom in table order, each label on its row
    rows = _by_class(root, "skc-row")
    assert [r.text for r in rows] == list(t["label"])
    ys = [float(d.get("cy")) for d in dots]
    assert ys == sorted(ys)
    flipped = _tree(comparison_chart(t, significant="significant", polarity=-1))
    assert [d.get("fill") for d in _by_class(flipped, "skc-dot")][:2] == \
        [MEANING_COLORS["worse"], MEANING_COLORS["better"]]


def test_share_bars_are_as_long_as_the_shares():
    t = pd.DataFrame({"option": ["Prices too high", "Short battery life", "Other"],
                      "estimate": [0.45, 0.27, 0.04], "total": [0.24, 0.28, 0.05],
                      "significant": [True, False, True]})
    root = _tree(share_chart(t, polarity=-1, title="Pain points"))
    x = _x_scale(root)
    bars = _by_class(root, "skc-bar")
    assert [float(b.get("x")) for b in bars] == pytest.approx([x(0)] * 3, abs=0.02)
    ends = [float(b.get("x")) + float(b.get("width")) for b in bars]
    assert ends == pytest.approx([x(45), x(27), x(4)], abs=0.02)
    assert [float(r.get("x1")) for r in _by_class(root, "skc-ref")] == \
        pytest.approx([x(24), x(28), x(5)], abs=0.02)
    # mentioning more is worse (red); less, better (green); grey when not significant
    assert [b.get("fill") for b in bars] == [MEANING_COLORS["worse"], MEANING_COLORS["ns"],
                                             MEANING_COLORS["better"]]
    assert [v.text for v in _by_class(root, "skc-value")] == ["45%", "27%", "4%"]
    legend = [e.text for e in root.iter(f"{NS}text") if e.text and "(significant)" in e.text]
    assert legend == ["better (significant)", "worse (significant)"]


def test_labels_and_titles_stay_text(tmp_path):
    evil = '<script>alert("x")</script> & <b>co</b>'
    t = pd.DataFrame({"label": [evil, "B & C"], "estimate": [7.0, 6.0],
                      "total": [6.5, 6.4], "significant": [True, False]})
    chart = comparison_chart(t, significant="significant", title=f"T {evil}")
    svg = chart.to_svg(name=f'{evil} "chart"')
    assert "<script" not in svg and "<b>" not in svg
    root = ET.fromstring(svg)
    assert [e.tag for e in root.iter() if e.tag.endswith(("script", "b"))] == []
    assert [r.text for r in _by_class(root, "skc-row")] == [evil, "B & C"]
    assert root.get("aria-label") == f'{evil} "chart"' and root.get("role") == "img"
    assert root.find(f"{NS}title").text == f'{evil} "chart"'
    assert "T <script>" in "".join(_by_class(root, "skc-title")[0].itertext())
    assert ET.parse(chart.save(tmp_path / "c.svg")).getroot().tag == f"{NS}svg"
    assert chart._repr_svg_() == chart.to_svg() and repr(chart).startswith("<Chart: T")


def test_text_widths_are_the_fonts_advances():
    """The table's width of a text equals the sum of the font's advances at that size
    (read through FreeType at 100 px, not from the table's font units)."""
    from matplotlib import font_manager, ft2font

    font = ft2font.FT2Font(font_manager.findfont("DejaVu Sans"))
    for text in ("Price / value for money", "Überweisung (€)", "Reliability (few failures)",
                 "AVATAR Ty"):
        font.set_size(100, 72)     # 100 px
        unkerned = sum(font.load_char(ord(c)).linearHoriAdvance / 65536 for c in text)
        assert text_width(text, 100) == pytest.approx(unkerned, rel=1e-3)
    assert text_width("中文客户", 10) == 40          # CJK: 1 em each
    assert text_width("e\u0301", 10) == text_width("e", 10)   # a combining accent adds 0


def _ipa(n, rng, crowd=False):
    imp = rng.uniform(1, 40, n) if not crowd else np.full(n, 10.0) + rng.normal(0, .1, n)
    perf = rng.uniform(5, 8, n) if not crowd else np.full(n, 6.5) + rng.normal(0, .01, n)
    quad = np.where(imp > np.median(imp), np.where(perf > np.median(perf),
                                                   "keep up the good work", "act here"),
                    np.where(perf > np.median(perf), "possible overkill", "low priority"))
    return pd.DataFrame({"driver": [f"d{i}" for i in range(n)], "importance": imp,
                         "performance": perf, "quadrant": quad})


def test_quadrant_labels_never_overlap_and_crowds_are_numbered():
    rng = np.random.default_rng(3)
    for seed in range(5):
        t = _ipa(10, np.random.default_rng(seed))
        labels = {d: f"Attribute number {d}\nwith a second line" for d in t["driver"]}
        chart = quadrant_chart(t, importance_cut=float(t["importance"].median()),
                               performance_cut=float(t["performance"].median()),
                               labels=labels)
        root = _tree(chart)
        assert labels_overlap(chart) == []
        pts = _by_class(root, "skc-point")
        assert [p.get("fill") for p in pts] == [QUADRANT_COLORS[q] for q in t["quadrant"]]
        for _, b in label_boxes(chart):
            assert 0 <= b.x0 and b.x1 <= chart.width and 0 <= b.y0 <= b.y1 <= chart.height
    crowd = _ipa(16, rng, crowd=True)   # 16 points on one spot: no room for names
    chart = quadrant_chart(crowd, importance_cut=10, performance_cut=6.5, xlim=(0, 60),
                           ylim=(5, 8), labels={d: "A long attribute name " + d
                                                for d in crowd["driver"]})
    assert [text for text, _ in label_boxes(chart)] == [str(k) for k in range(1, 17)]
    assert labels_overlap(chart) == []
    key = "".join(_by_class(_tree(chart), "skc-key")[0].itertext())
    assert key.startswith("1. A long attribute name d") and chart.width > 760
    # an overlap is found when there is one
    svg = ('<svg xmlns="http://www.w3.org/2000/svg"><text x="10" y="20" font-size="10" '
           'class="skc-label">Hello</text><text x="20" y="22" font-size="10" '
           'class="skc-label">World</text></svg>')
    assert labels_overlap(svg) == [("Hello", "World")]


def _cut_lines(chart) -> list[tuple[float, float, float, float]]:
    """The quadrant cut lines (dashed) of a quadrant chart, from its SVG."""
    return [tuple(float(e.get(k)) for k in ("x1", "y1", "x2", "y2"))
            for e in _tree(chart).iter("{http://www.w3.org/2000/svg}line")
            if e.get("stroke-dasharray")]


def _crosses(box, cut) -> bool:
    x1, y1, x2, y2 = cut
    if x1 == x2:                                     # the importance cut, vertical
        return box.x0 <= x1 <= box.x1 and min(y1, y2) < box.y1 and box.y0 < max(y1, y2)
    return box.y0 <= y1 <= box.y1 and min(x1, x2) < box.x1 and box.x0 < max(x1, x2)


def test_quadrant_names_stay_inside_their_quadrant_off_the_cut_lines():
    """An unstandardized IPMA map whose importance cut lies near the left edge: the left
    quadrants are narrower than "POSSIBLE OVERKILL" and "LOW PRIORITY" on one line (the
    names used to be drawn across the cut); each name now sits in its own quadrant, on
    two lines, crossing no cut line and no other name. The map says it shows constructs."""
    from surveykit.charts._text import text_box

    t = pd.DataFrame({"construct": ["a", "b", "c", "d"],
                      "total_effect": [0.02, 0.05, 0.30, 0.55],
                      "performance": [60.0, 80.0, 75.0, 62.0],
                      "quadrant": ["low priority", "possible overkill",
                                   "keep up the good work", "act here"]})
    chart = quadrant_chart(t, importance_cut=0.08, performance_cut=70,
                           importance="total_effect", label="construct", sqrt=False,
                           importance_label="total effect on loyalty", xlim=(0.0, 0.6),
                           ylim=(55, 85), noun="construct")
    cuts = _cut_lines(chart)
    assert len(cuts) == 2
    vertical = next(c for c in cuts if c[0] == c[2])
    names = label_boxes(chart, cls="skc-quadrant")
    assert sorted(n.replace("\n", " ") for n, _ in names) == [
        "ACT HERE", "KEEP UP THE GOOD WORK", "LOW PRIORITY", "POSSIBLE OVERKILL"]
    for name, box in names:
        # the case is a real one: this name on one line, in its corner, would cross the cut
        if name.startswith(("POSSIBLE", "LOW")):
            one_line = text_box(name.replace("\n", " "), box.x0, box.y0, 9.5, va="top",
                                bold=True)[0]
            assert _crosses(one_line, vertical)
            assert "\n" in name and box.x1 < vertical[0]        # two lines, left of the cut
        assert not any(_crosses(box, c) for c in cuts), name
    assert not any(a.overlaps(b) for i, (_, a) in enumerate(names)
                   for _, b in names[i + 1:])
    assert labels_overlap(chart) == []
    assert chart.summary() == "Importance vs performance (4 constructs)"
    assert quadrant_chart(t.rename(columns={"construct": "driver", "total_effect":
                                            "importance"}), importance_cut=0.08,
                          performance_cut=70).what == "4 drivers"
    # a cut outside the grid leaves that side's quadrants (empty) unnamed
    off = quadrant_chart(t, importance_cut=-0.1, performance_cut=70,
                         importance="total_effect", sqrt=False, xlim=(0.0, 0.6),
                         label="construct")
    assert sorted(n.replace("\n", " ") for n, _ in label_boxes(off, cls="skc-quadrant")) \
        == ["ACT HERE", "KEEP UP THE GOOD WORK"]


def test_matplotlib_quadrant_names_follow_the_same_rule():
    """The matplotlib twins (surveykit.plots.quadrant_chart, IPMAResult.plot) place the
    quadrant names by the same rule: with the importance cut near the right edge, the
    right quadrants are too narrow for their names and stay unnamed; no name crosses a cut
    line (measured in display space); with a central cut all four are named on one line."""
    from surveykit import plots

    t = pd.DataFrame({"driver": ["Price", "Battery life", "Service", "Design", "Weight"],
                      "importance": [45.0, 25.0, 12.0, 8.0, 3.0],
                      "performance": [6.0, 6.5, 7.8, 8.1, 7.0],
                      "quadrant": ["act here", "act here", "keep up the good work",
                                   "possible overkill", "low priority"]})
    for cut, named in ((20, {"ACT HERE", "KEEP UP THE GOOD WORK", "LOW PRIORITY",
                             "POSSIBLE OVERKILL"}),
                       (70, {"LOW PRIORITY", "POSSIBLE OVERKILL"})):
        fig = plots.quadrant_chart(t, importance_cut=cut, performance_cut=7)
        ax = fig.axes[0]
        renderer = fig.canvas.get_renderer()
        names = [tx for tx in ax.texts if tx.get_text().replace("\n", " ").isupper()]
        assert {tx.get_text().replace("\n", " ") for tx in names} == named
        cx, cy = ax.transData.transform((cut, 7))
        inside = ax.get_window_extent()
        for tx in names:
            box = tx.get_window_extent(renderer)
            assert not (box.x0 < cx < box.x1) and not (box.y0 < cy < box.y1), tx.get_text()
            assert inside.x0 <= box.x0 and box.x1 <= inside.x1, tx.get_text()
        assert plots.labels_overlap(fig) == []


def test_a_section_inlines_the_svg_with_its_accessible_name():
    from surveykit.reporting.section import Section

    s = Section("attributes", "Attribute <satisfaction>")
    s.figures.append(comparison_chart(_rows(), significant="significant"))
    page = s._repr_html_()
    m = re.search(r'<div class="sk-figure">(<svg .*?</svg>)</div>', page, re.S)
    assert m and "data:image/png" not in page
    root = ET.fromstring(m.group(1))
    assert root.get("aria-label") == "Attribute <satisfaction> chart"
    assert root.get("width") == "100%" and root.get("viewBox").startswith("0 0 ")


def test_overview_charts_draw_the_numbers():
    from surveykit.charts import driver_heatmap, metrics_chart

    rows = pd.DataFrame({"metric": ["NPS"] * 3 + ["Repurchase"] * 3,
                         "segment": ["A", "B", "C"] * 2,
                         "estimate": [10.0, -5.0, 2.0, 0.5, 0.6, 0.7],
                         "ci_low": [5.0, -9.0, -1.0, 0.45, 0.55, 0.65],
                         "ci_high": [15.0, -1.0, 5.0, 0.55, 0.65, 0.75],
                         "total": [3.0] * 3 + [0.6] * 3,
                         "meaning": ["better", "worse", "ns", "ns", "ns", "better"],
                         "unit": [""] * 3 + ["%"] * 3})
    root = _tree(metrics_chart(rows, title="Key metrics"))
    dots = _by_class(root, "skc-dot")
    assert [float(d.get("data-value")) for d in dots] == [10, -5, 2, 50, 60, 70]  # % scaled
    assert [d.get("fill") for d in dots] == [MEANING_COLORS[k] for k in rows["meaning"]]
    ticks = _by_class(root, "skc-tick")
    nps = [t for t in ticks if float(t.get("x")) < float(dots[3].get("cx")) - 100]
    vals = np.array([float(t.text.replace("−", "-")) for t in nps])
    slope, icpt = np.polyfit(vals, [float(t.get("x")) for t in nps], 1)
    assert [float(d.get("cx")) for d in dots[:3]] == \
        pytest.approx(list(slope * np.array([10, -5, 2]) + icpt), abs=0.05)
    assert [p.text for p in _by_class(root, "skc-panel")] == ["NPS", "Repurchase (%)"]

    shares = pd.DataFrame({"Price": [40.0, 10.0], "Service <&>": [60.0, 90.0]},
                          index=["A", "B"])
    act = pd.DataFrame({"Price": [True, False], "Service <&>": [False, False]},
                       index=["A", "B"])
    root = _tree(driver_heatmap(shares, act))
    cells = _by_class(root, "skc-cell")
    assert [float(c.get("data-value")) for c in cells] == [40, 60, 10, 90]
    # darker blue for a larger share (sum of RGB falls)
    dark = [sum(int(c.get("fill")[i:i + 2], 16) for i in (1, 3, 5)) for c in cells]
    assert np.argsort(dark).tolist() == [3, 1, 0, 2]
    outlined = _by_class(root, "skc-act")
    assert len(outlined) == 1 and outlined[0].get("stroke") == MEANING_COLORS["worse"]
    assert float(outlined[0].get("x")) > float(cells[0].get("x")) and \
        float(outlined[0].get("y")) < float(cells[2].get("y"))   # first row, first column
    assert "Service <&>" in [e.text for e in _by_class(root, "skc-col")]


def test_bidirectional_controls_are_removed_as_in_the_page():
    from surveykit.reporting.section import shown_text

    label = "Price\u202e lavon"
    t = pd.DataFrame({"label": [label], "estimate": [7.0], "total": [6.5],
                      "significant": [False]})
    root = _tree(comparison_chart(t, significant="significant"))
    assert [r.text for r in _by_class(root, "skc-row")] == [shown_text(label)] == \
        ["Price lavon"]


@pytest.mark.parametrize("page, check", [
    ("from surveykit.reporting import SegmentFindings\n"
     "p = SegmentFindings(s, 'segment', 1)\n", "page.count('<svg ') >= 5"),
    ("from surveykit.reporting.overview import Overview\n"
     "p = Overview(s, 'segment')\n", "'Parallel analysis' in page and '<img' not in page"),
], ids=["findings", "overview"])
def test_a_report_page_needs_no_matplotlib(page, check):
    """Its charts are SVG (the overview's metrics, driver map and scree too): building and
    rendering a page never imports matplotlib (whose import and Agg rendering were most of
    a page's time)."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    code = (
        "import sys, warnings\n"
        "warnings.simplefilter('ignore')\n"
        "from surveykit.survey import Survey\n"
        f"s = Survey.from_files({str(root / 'questionnaires' / 'pc_customers.yaml')!r}, "
        f"{str(root / 'data' / 'demo' / 'responses.csv')!r})\n"
        + page +
        "page = ''.join(p.section(k)._repr_html_() for k in p.sections()\n"
        "               if p.section(k) is not None)\n"
        f"assert {check}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('matplotlib', 'seaborn')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=root, timeout=300, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"


def test_scree_chart_draws_the_eigenvalues_on_its_axis():
    """Each observed eigenvalue is a point at its value on the drawn y axis; the simulated
    percentiles are dashed lines through theirs; the title counts factors and components."""
    from types import SimpleNamespace

    from surveykit.charts import scree_chart

    t = pd.DataFrame({"observed_pc": [3.1, 1.2, 0.5, 0.2], "sim_pc_pct": [1.3, 1.1, 0.9, 0.8],
                      "observed_fa": [2.6, 0.4, 0.1, -0.1],
                      "sim_fa_pct": [0.5, 0.2, 0.1, 0.0]}, index=[1, 2, 3, 4])
    root = _tree(scree_chart(SimpleNamespace(table=t, percentile=95, n_factors=2,
                                             n_components=1)))
    assert _by_class(root, "skc-title")[0].text == "Parallel analysis: 2 factors, 1 component"
    yt = [(float(e.get("data-value")), float(e.get("y1"))) for e in _by_class(root, "skc-ygrid")]
    assert [v for v, _ in yt] == [float(e.get("data-value"))
                                  for e in _by_class(root, "skc-ytick")]
    (v0, y0), (v1, y1) = yt[0], yt[-1]
    to_y = lambda v: y0 + (v - v0) / (v1 - v0) * (y1 - y0)  # noqa: E731
    xt = {float(e.get("data-value")): float(e.get("x")) for e in _by_class(root, "skc-tick")}
    assert sorted(xt) == [1.0, 2.0, 3.0, 4.0]
    for col in ("observed_pc", "observed_fa"):
        pts = [e for e in _by_class(root, "skc-point") if e.get("data-series") == col]
        assert [float(p.get("data-value")) for p in pts] == list(t[col])
        for p, (k, v) in zip(pts, t[col].items(), strict=True):
            assert float(p.get("cx")) == pytest.approx(xt[k], abs=0.05)
            assert float(p.get("cy")) == pytest.approx(to_y(v), abs=0.1)
    lines = {e.get("data-series"): e for e in _by_class(root, "skc-line")}
    assert lines["sim_pc_pct"].get("stroke-dasharray") and \
        not lines["observed_pc"].get("stroke-dasharray")
    pts = [tuple(map(float, p.split(","))) for p in lines["sim_fa_pct"].get("points").split()]
    assert [y for _, y in pts] == pytest.approx([to_y(v) for v in t["sim_fa_pct"]], abs=0.1)


def test_trend_chart_draws_each_wave_at_its_value_coloured_by_meaning():
    """Each estimate is a point at its value on its metric's axis (percentages x 100), its
    CI a line from low to high; a significant change is coloured by its meaning, the first
    wave and non-significant changes grey; one panel per segment, the total first."""
    from types import SimpleNamespace

    def rows(metric, kind, seg, est, ci, change, sig, hib=True):
        return pd.DataFrame({"metric": metric, "label": metric.upper(), "kind": kind,
                             "segment": seg, "segment_label": f"seg {seg}",
                             "wave": ["W1", "W2", "W3"], "estimate": est,
                             "ci_low": [e - ci for e in est], "ci_high": [e + ci for e in est],
                             "higher_is_better": hib, "change_prev": change,
                             "significant_prev": sig})
    t = pd.concat([
        rows("sat", "mean", "Total", [7.0, 7.4, 7.1], 0.2, [np.nan, 0.4, -0.3],
             [False, True, True]),
        rows("sat", "mean", "A", [6.0, 6.1, 6.9], 0.3, [np.nan, 0.1, 0.8], [False, False, True]),
        rows("churn", "percent", "Total", [0.2, 0.3, 0.25], 0.02, [np.nan, 0.1, -0.05],
             [False, True, False], hib=False),
        rows("churn", "percent", "A", [0.1, 0.15, 0.12], 0.03, [np.nan, 0.05, -0.03],
             [False, False, False], hib=False)], ignore_index=True)
    chart = trend_chart(SimpleNamespace(table=t, waves=["W1", "W2", "W3"]))
    root = _tree(chart)
    assert [e.text for e in _by_class(root, "skc-panel")] == ["seg Total", "seg A"]
    grids = _by_class(root, "skc-ygrid")
    pts = _by_class(root, "skc-point")
    assert len(pts) == 12
    rows_of_grid = []   # the y grid of each metric's row, ticks rising up the page
    for g in grids:
        v = (float(g.get("data-value")), float(g.get("y1")))
        if not rows_of_grid or v[1] >= rows_of_grid[-1][-1][1]:
            rows_of_grid.append([])
        rows_of_grid[-1].append(v)
    assert len(rows_of_grid) == 2
    for (metric, f), row in zip((("sat", 1.0), ("churn", 100.0)), rows_of_grid, strict=True):
        mine = [p for p in pts if p.get("data-metric") == metric]
        (v0, y0), (v1, y1) = row[0], row[-1]
        want = t[t["metric"] == metric]
        assert [float(p.get("data-value")) for p in mine] == \
            pytest.approx(list(want["estimate"] * f))
        for p, v in zip(mine, want["estimate"] * f, strict=True):
            assert float(p.get("cy")) == pytest.approx(y0 + (v - v0) / (v1 - v0) * (y1 - y0),
                                                        abs=0.1)
    fills = [p.get("fill") for p in pts]
    g, r, n = MEANING_COLORS["better"], MEANING_COLORS["worse"], MEANING_COLORS["ns"]
    assert fills == [n, g, r, n, n, g, n, r, n, n, n, n]   # churn up is worse
    ci = _by_class(root, "skc-ci")
    assert [float(c.get("data-low")) for c in ci][:3] == pytest.approx([6.8, 7.2, 6.9])
    for c, p in zip(ci, pts, strict=True):     # the interval runs through its point
        assert float(c.get("x1")) == float(p.get("cx"))
        assert float(c.get("y2")) < float(p.get("cy")) < float(c.get("y1"))
