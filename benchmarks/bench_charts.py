"""SVG charts against matplotlib: the importance-performance grid of one demo segment.

The peer is the same chart in matplotlib (``IPAResult.plot()``, rendered to the PNG a page
embedded before: ``plots.chart_png`` at 110 dpi); ours is ``IPAResult.chart()`` written
as SVG text. Also prints the size of each in a page.

    .venv/bin/python benchmarks/bench_charts.py
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from surveykit.reporting.section import _figure_html  # noqa: E402


def best(fn, repeat: int = 5) -> float:
    out = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out = min(out, time.perf_counter() - t)
    return out


def main() -> None:
    from surveykit.reporting.findings import SegmentFindings, open_survey

    demo = ROOT / "data" / "demo"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        survey = open_survey(questionnaire=ROOT / "questionnaires" / "pc_customers.yaml",
                             data=demo / "responses.csv", targets=demo / "targets.yaml",
                             crm=demo / "crm.csv")
        page = SegmentFindings(survey, "segment", 1)
        res = page._ipa()
    ipa, (xlim, ylim) = res["ipa"], res["ranges"]
    labels = {d: page._var_label(d) for d in res["drivers"]}
    kw = {"labels": labels, "xlim": xlim, "ylim": ylim, "title": "Importance vs performance"}
    mpl = best(lambda: _figure_html(ipa.plot(**kw), "IPA"), 3)
    svg = best(lambda: _figure_html(ipa.chart(**kw), "IPA"), 20)
    size_mpl = len(_figure_html(ipa.plot(**kw), "IPA"))
    size_svg = len(_figure_html(ipa.chart(**kw), "IPA"))
    print(f"IPA chart, {len(labels)} drivers: matplotlib PNG {mpl * 1000:.0f} ms, "
          f"{size_mpl / 1024:.0f} KiB; SVG {svg * 1000:.1f} ms, {size_svg / 1024:.0f} KiB: "
          f"{mpl / svg:.0f}x faster, {size_mpl / size_svg:.1f}x smaller")


if __name__ == "__main__":
    main()
