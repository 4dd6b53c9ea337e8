"""Per-segment report cost vs the kernel start-up floor, on the demo survey (2 workers).

Runs, in the same process and with the same runner (prepare once, worker processes,
papermill, in-process HTML export):

1. the *floor*: a notebook whose only cell is the parameters cell, each on a fresh
   kernel (kernel start-up, parameter injection, shutdown and export of an empty page);
2. the findings notebook (surveykit/reporting/notebooks/segment_findings.ipynb) on fresh kernels;
3. the findings notebook as run by default (one warm kernel per worker, reset between
   segments);
4. the default run plus the whole-sample overview page.

Prints the per-segment seconds (the workers' own timings: mean, median, max), the wall time
per segment, and the goal: per-segment cost within 2 x floor + 1 s. Run: ``.venv/bin/python
benchmarks/bench_reports.py [--workers 2] [--out /tmp/bench_reports]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from surveykit.reporting import notebook_parameters, run_report  # noqa: E402
from surveykit.reporting.runner import DEFAULT_NOTEBOOK  # noqa: E402

DEMO = dict(questionnaire=ROOT / "questionnaires" / "pc_customers.yaml",
            data=ROOT / "data" / "demo" / "responses.csv",
            targets=ROOT / "data" / "demo" / "targets.yaml",
            crm=ROOT / "data" / "demo" / "crm.csv", segment_by="segment")


def empty_notebook(folder: Path) -> Path:
    """A copy of the findings notebook with only its parameters cell (the floor)."""
    nb = nbformat.read(DEFAULT_NOTEBOOK, as_version=4)
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    nb.cells = params
    path = folder / "empty.ipynb"
    nbformat.write(nb, path)
    assert set(notebook_parameters(path)) == set(notebook_parameters(DEFAULT_NOTEBOOK))
    return path


def run(label: str, out: Path, workers: int, notebook: Path | None = None, *,
        reuse: bool = True, overview: bool = False) -> dict:
    t0 = time.perf_counter()
    r = run_report(**DEMO, workers=workers, out=out, notebook=notebook, progress=False,
                   reuse_kernels=reuse, overview=overview)
    wall = time.perf_counter() - t0
    secs = [s["seconds"] for s in r.segments if s["seconds"] is not None]
    return {"label": label, "ok": r.ok, "n": len(r.segments), "wall": wall,
            "prepare": r.prepare_seconds, "mean": statistics.fmean(secs),
            "median": statistics.median(secs), "max": max(secs),
            "per_segment_wall": (wall - r.prepare_seconds) / len(secs)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    base = args.out or Path(tempfile.mkdtemp(prefix="bench_reports-"))
    base.mkdir(parents=True, exist_ok=True)
    empty = empty_notebook(base)
    rows = [
        run("floor: empty, cold kernel", base / "floor", args.workers, empty, reuse=False),
        run("findings, cold kernels", base / "cold", args.workers, reuse=False),
        run("findings (default)", base / "warm", args.workers),
        run("findings + overview", base / "full", args.workers, overview=True),
    ]
    floor, real = rows[0], rows[2]
    goal = 2 * floor["mean"] + 1
    print(f"demo survey, {real['n']} segments, {args.workers} workers, "
          f"{os.cpu_count()} cores (outputs in {base})")
    print("per-segment seconds are the workers' own timings (parameterise, kernel start or "
          "reset, execute, export, write)")
    print(f"{'run':<28} {'ok':>3} {'wall s':>7} {'prep s':>7} {'seg mean s':>11} "
          f"{'seg median s':>13} {'seg max s':>10} {'wall/seg s':>11}")
    for r in rows:
        print(f"{r['label']:<28} {'yes' if r['ok'] else 'NO':>3} {r['wall']:>7.1f} "
              f"{r['prepare']:>7.1f} {r['mean']:>11.2f} {r['median']:>13.2f} {r['max']:>10.2f} "
              f"{r['per_segment_wall']:>11.2f}")
    print(f"per-segment cost (mean) / floor (mean): {real['mean'] / floor['mean']:.2f}x; goal: "
          f"<= 2 x floor + 1 s = {goal:.2f} s -> "
          f"{'met' if real['mean'] <= goal else 'NOT met'} ({real['mean']:.2f} s per segment; "
          f"cold kernels: {rows[1]['mean']:.2f} s)")
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
