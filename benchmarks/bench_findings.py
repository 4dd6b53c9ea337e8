"""The findings page's own compute, section by section, without drawing a chart.

Prepares the data once as ``surveykit report`` does (``run_report(..., keep_data=True)``
on one segment, then the shared per-run results of a run of every segment), then, in a
fresh process per repeat that first runs the kernel warm-up (``kernels._WARM_CODE``, as a
report's kernel does), builds each segment's page as the findings notebook does:
``open_survey`` + ``SegmentFindings`` (``init``), ``header_html``, every ``section(key)``
in the notebook's order and ``headline`` (what ``record`` hands over), then the sections'
HTML (``html``). By default the chart builders of :mod:`surveykit.charts` are left out
(``--charts skip``: the page's compute only); ``--charts build`` builds the charts and
draws them into the HTML (inline SVG).

It prints milliseconds per section for each segment (the first page of the process, then
the warm ones), the best of ``--repeat`` processes, and each page's total against the
target of issue 16 (findings compute at most 0.3 s per segment) as a ratio.

Data: the demo survey (4,000 respondents, with its CRM extract) and, with ``--rows 40000``,
the demo tiled to 40,000 respondents with new ids (``bench_reports.tiled_csv``, no CRM).

``--snapshot FILE`` writes every page's HTML (sections with their figures, the header and
the headline) to ``FILE``; ``--compare FILE`` checks the pages against such a snapshot
(written before a change) and exits 1 on a difference: speed work must leave pages
identical.

    .venv/bin/python benchmarks/bench_findings.py [--rows 4000] [--repeat 3]
                                                  [--snapshot before.pkl | --compare before.pkl]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

DEMO = ROOT / "data" / "demo"
#: the notebook's cells, in order (the header first, the headline last)
ORDER = ["summary", "recommendations", "profile", "key_metrics", "trend", "attributes",
         "constructs", "drivers", "path_model", "pain_points", "channels",
         "value_lifecycle", "method"]
TARGET = 0.3          # seconds of findings compute per segment (issue 16)
MIN_BASE = 30


def prepare(rows: int, folder: Path) -> Path:
    """The prepared folder (``_prepared``) of a run on ``rows`` respondents (kept)."""
    prepared = folder / "_prepared"
    if (prepared / "survey.json").is_file():
        return prepared
    from bench_reports import tiled_csv

    from surveykit.reporting import run_report

    folder.mkdir(parents=True, exist_ok=True)
    kw = {"targets": str(DEMO / "targets.yaml")}
    if rows == 4000:
        data = DEMO / "responses.csv"
        kw.update(crm=str(DEMO / "crm.csv"), as_of="2026-11-01")
    else:
        data = tiled_csv(folder / "responses.csv", rows)
    run_report(str(ROOT / "questionnaires" / "pc_customers.yaml"), str(data),
               segment_by="segment", segments=[1], out=str(folder / "run"), keep_data=True,
               progress=False, overview=False, **kw)
    (folder / "run" / "_prepared").rename(prepared)
    # the shared results of a run of every segment (one page was run above, to be quick)
    from surveykit.reporting import open_survey
    from surveykit.reporting.shared import prepare_shared

    prepare_shared(open_survey(str(prepared)), "segment", segments_of(prepared),
                   min_base=MIN_BASE).save(prepared)
    return prepared


def segments_of(prepared: Path) -> list:
    from surveykit.reporting import open_survey

    return sorted(open_survey(str(prepared)).data["segment"].dropna().unique().tolist())


def page(prepared: Path, seg, *, html: bool = False, clock=time.perf_counter) -> dict:
    """One segment's page, as the notebook builds it: ms per step (by ``clock``), or
    (``html``) the HTML of every step."""
    from surveykit.reporting import SegmentFindings, open_survey

    out, t0 = {}, clock()
    survey = open_survey(str(prepared))
    f = SegmentFindings(survey, "segment", seg, min_base=MIN_BASE, shared=str(prepared))
    out["init"] = (clock() - t0) * 1000
    steps = [("header", f.header_html)]
    steps += [(key, lambda key=key: f.section(key)) for key in ORDER]
    steps += [("headline", lambda: json.dumps(f.headline()))]
    shown = []
    for name, step in steps:
        t0 = clock()
        value = step()
        out[name] = (clock() - t0) * 1000
        if html:
            out[name] = value._repr_html_() if hasattr(value, "_repr_html_") else value
        elif hasattr(value, "_repr_html_"):
            shown.append(value)
    if html:
        del out["init"]
    else:   # the sections' HTML as the notebook shows them (with their SVG charts, if any)
        t0 = clock()
        for value in shown:
            value._repr_html_()
        out["html"] = (clock() - t0) * 1000
    return out


#: the chart builders a findings page calls (``--charts skip`` makes them raise, which a
#: section takes as a chart that cannot be drawn: it goes on without it)
CHARTS = ("comparison_chart", "share_chart", "quadrant_chart")


def skip_charts() -> None:
    from surveykit import charts

    def no_chart(*args, **kwargs):
        raise RuntimeError("charts skipped by the benchmark")

    for name in CHARTS:
        setattr(charts, name, no_chart)


def child(prepared: Path, clock: str, charts: str) -> None:
    """One process: the kernel warm-up, then every segment's page; JSON on stdout."""
    from surveykit.reporting.kernels import _WARM_CODE

    exec(_WARM_CODE, {})  # noqa: S102 - the package's own warm-up code
    if charts == "skip":
        skip_charts()
    tick = time.process_time if clock == "cpu" else time.perf_counter
    res = {str(seg): page(prepared, seg, clock=tick) for seg in segments_of(prepared)}
    print(json.dumps(res))


def measure(prepared: Path, repeat: int, clock: str, charts: str) -> dict:
    """Best of ``repeat`` fresh processes, per segment and step (ms)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    best: dict = {}
    for _ in range(repeat):
        proc = subprocess.run([sys.executable, __file__, "--child", str(prepared),
                               "--clock", clock, "--charts", charts],
                              capture_output=True, text=True, env=env, check=True)
        for seg, steps in json.loads(proc.stdout.strip().splitlines()[-1]).items():
            for step, ms in steps.items():
                cur = best.setdefault(seg, {}).get(step)
                best[seg][step] = ms if cur is None else min(cur, ms)
    return best


def show(best: dict, rows: int, clock: str, charts: str) -> None:
    segs = list(best)
    steps = list(best[segs[0]])
    print(f"findings compute, {rows:,} respondents: ms ({clock} time, charts {charts}), best "
          f"of the repeats; segment {segs[0]} is the process's first page")
    print(f"{'step':<16}" + "".join(f"{'seg ' + s:>9}" for s in segs))
    for step in steps:
        print(f"{step:<16}" + "".join(f"{best[s].get(step, 0):9.1f}" for s in segs))
    totals = {s: sum(best[s].values()) for s in segs}
    print(f"{'total':<16}" + "".join(f"{totals[s]:9.1f}" for s in segs))
    print(f"{'/ target 0.3 s':<16}" + "".join(f"{totals[s] / 1000 / TARGET:9.2f}"
                                             for s in segs))
    warm = sorted(totals[s] for s in segs[1:])
    if warm:
        print(f"first page {totals[segs[0]]:.0f} ms; warm pages {warm[0]:.0f}-{warm[-1]:.0f}"
              f" ms (median {warm[len(warm) // 2]:.0f} ms)")


def snapshot(prepared: Path) -> dict:
    return {str(seg): page(prepared, seg, html=True) for seg in segments_of(prepared)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=4000, help="4000 (the demo) or more (tiled)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--folder", default=None, help="where the prepared data are kept")
    ap.add_argument("--snapshot", help="write every page's HTML to this file")
    ap.add_argument("--compare", help="compare every page's HTML with this snapshot")
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                    help="wall time, or the process's CPU time (steadier on a busy machine)")
    ap.add_argument("--charts", choices=["skip", "build"], default="skip",
                    help="leave the charts out (compute only) or build and draw them")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(Path(args.child), args.clock, args.charts)
        return 0
    folder = Path(args.folder or f"/tmp/bench_findings_{args.rows}")
    prepared = prepare(args.rows, folder)
    if args.snapshot:
        with open(args.snapshot, "wb") as fh:
            pickle.dump(snapshot(prepared), fh)
        return 0
    if args.compare:
        with open(args.compare, "rb") as fh:
            before = pickle.load(fh)  # noqa: S301 - written by this script
        now, bad = snapshot(prepared), 0
        for seg in before:
            for step in before[seg]:
                if before[seg][step] != now[seg].get(step):
                    bad += 1
                    print(f"segment {seg}, {step}: differs")
        n = sum(map(len, before.values()))
        print(f"{n - bad} of {n} page parts identical")
        return 1 if bad else 0
    show(measure(prepared, args.repeat, args.clock, args.charts), args.rows, args.clock,
         args.charts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
