"""The report's cost, phase by phase, against the warm-kernel empty-notebook floor.

Runs the real command (``python -m surveykit.cli report``, as ``make report`` does) in a
fresh process and reads its ``manifest.json``:

1. ``make report`` on the demo survey (7 pages: overview + 6 segments), end to end;
2. the *floor*: the same run without the overview and with an empty findings notebook (its
   parameters cell only) on the same warm kernels, so the per-page floor is an empty
   notebook on a warm kernel and the run's wall time is the fixed cost of a report
   (start, preparation, warm-up, index, exit); the demo and the floor run alternately,
   best of ``--repeat`` each, and the machine's load average is printed beside them
   (on a shared machine, compare runs made at the same load);
3. a 40,000-respondent survey (the demo tiled, new ids) with its 6 segments.

For each run it prints the phases (seconds since the start at which preparation, the tab
book, the workers' warm-up and the pages ended; the rest is the index and the swap), the
per-page execute and export times (the workers' own timings), and the ratio of the
findings notebook's execute time to the floor's. ``benchmarks/summary.py`` (``make bench``)
puts the targets of issue 16 in its table: ``make report`` <= 5 s end to end, findings
compute <= 0.3 s per segment, the 40k survey <= 8 s.

    .venv/bin/python benchmarks/bench_reports.py [--workers 2] [--out /tmp/bench_reports]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from surveykit.reporting.runner import DEFAULT_NOTEBOOK  # noqa: E402

DEMO = ROOT / "data" / "demo"
MAKE_REPORT = ["--questionnaire", str(ROOT / "questionnaires" / "pc_customers.yaml"),
               "--data", str(DEMO / "responses.csv"), "--targets", str(DEMO / "targets.yaml"),
               "--crm", str(DEMO / "crm.csv"), "--as-of", "2026-11-01",
               "--segment-by", "segment"]


def empty_notebook(folder: Path) -> Path:
    """A copy of the findings notebook with only its parameters cell (the floor)."""
    nb = nbformat.read(DEFAULT_NOTEBOOK, as_version=4)
    nb.cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    path = folder / "empty.ipynb"
    nbformat.write(nb, path)
    return path


def tiled_csv(path: Path, n: int) -> Path:
    """The demo responses repeated to ``n`` rows, each copy with new respondent ids."""
    lines = (DEMO / "responses.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    header, body = lines[0], lines[1:]
    with open(path, "w", encoding="utf-8") as out:
        out.write(header)
        done, copy = 0, 0
        while done < n:
            shift = copy * 10_000_000
            for line in body[: n - done]:
                i = line.index(",")
                out.write(f"{int(line[:i]) + shift}{line[i:]}")
            done += min(len(body), n - done)
            copy += 1
    return path


def run(label: str, out: Path, *args: str) -> dict:
    """One ``surveykit report`` in a fresh process: wall time, phases, per-page timings."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "surveykit.cli", "report", *args,
                          "--out", str(out)], capture_output=True, text=True, env=env,
                         cwd=ROOT)
    wall = time.perf_counter() - t0
    if res.returncode:
        raise RuntimeError(f"{label}: surveykit report failed: {res.stderr[-2000:]}")
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    pages = [p for p in [m["run"].get("overview"), *m["segments"]] if p]
    segs = m["segments"]

    def mean(key, entries):
        vals = [e.get("phases", {}).get(key) for e in entries]
        vals = [v for v in vals if v is not None]
        return statistics.fmean(vals) if vals else float("nan")

    return {"label": label, "wall": wall, "load": load, "run": m["run"]["seconds"],
            "phases": m["run"].get("phases", {}), "pages": len(pages),
            "execute": mean("execute", segs), "export": mean("export", segs),
            "execute_max": max(e["phases"].get("execute", 0) for e in segs),
            "overview": (m["run"]["overview"] or {}).get("phases", {}).get("execute")}


def measure(base: Path, workers: int = 2, repeat: int = 1, big: int = 40_000) -> dict:
    """The three runs (best of ``repeat`` for the demo and the floor, run alternately so
    that both see the same machine load): ``{"demo", "floor", "big"}``."""
    base.mkdir(parents=True, exist_ok=True)
    w = ["--workers", str(workers)]
    empty = str(empty_notebook(base))
    demos, floors = [], []
    for i in range(repeat):
        demos.append(run("make report (demo, 7 pages)", base / f"demo{i}", *MAKE_REPORT, *w))
        floors.append(run("floor: 6 empty pages, warm kernels", base / f"floor{i}",
                          *MAKE_REPORT, *w, "--no-overview", "--notebook", empty))
    demo = min(demos, key=lambda r: r["wall"])
    floor = min(floors, key=lambda r: r["wall"])
    args = list(MAKE_REPORT)
    args[args.index("--data") + 1] = str(tiled_csv(base / f"responses_{big}.csv", big))
    i = args.index("--crm")
    del args[i: i + 4]                       # the CRM extract knows the demo's ids only
    large = run(f"{big:,} respondents, 6 segments", base / "big", *args, *w)
    return {"demo": demo, "floor": floor, "big": large}


def print_runs(res: dict) -> None:
    print(f"{'run':<40} {'wall s':>7} {'load':>5} {'prepared':>9} {'tab book':>9} {'warm':>12} "
          f"{'pages done':>11} {'seg exec s':>11} {'export s':>9}")
    for r in res.values():
        ph = r["phases"]
        warm = "/".join(f"{t:.1f}" for t in ph.get("workers_ready", [])) or "-"
        print(f"{r['label']:<40} {r['wall']:>7.2f} {r['load']:>5.1f} "
              f"{ph.get('prepared', 0):>9.2f} "
              f"{ph.get('tabbook_written', 0):>9.2f} {warm:>12} "
              f"{ph.get('pages_done', 0):>11.2f} {r['execute']:>11.3f} {r['export']:>9.3f}")
    demo, floor = res["demo"], res["floor"]
    print(f"findings execute per segment {demo['execute']:.3f} s = "
          f"{demo['execute'] / floor['execute']:.0f}x the warm-kernel empty notebook "
          f"({floor['execute']:.3f} s); fixed cost of a report (empty notebooks): "
          f"{floor['wall']:.2f} s end to end")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    base = args.out or Path(tempfile.mkdtemp(prefix="bench_reports-"))
    print(f"{os.cpu_count()} cores, {args.workers} workers, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} (outputs in {base})")
    print_runs(measure(base, args.workers, args.repeat))
    return 0


if __name__ == "__main__":
    sys.exit(main())
