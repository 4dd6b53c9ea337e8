"""A report's preparation, phase by phase, against reading the responses with pandas.

Each phase runs in a fresh process (best of ``--repeat``), as a report runs it:

1. ``_plan`` cold: the first preparation in a process that has read the notebooks' parameters
   (as ``run_report`` has): read, check, clean, weight, CRM join, save the prepared survey,
   the results every page shares, the jobs; then ``write_tabbook``; then both again (warm);
2. a page's load in a fresh process with the analysis modules imported (as a warm kernel
   has them): ``open_survey(prepared)`` + the shared results.

The peer is ``pandas.read_csv`` of the same responses file (the time to read the bytes once).
Sizes: the demo (4,000 respondents, with the CRM extract) and the demo tiled to 40,000 (see
``bench_reports.tiled_csv``; without the CRM extract, which knows the demo's ids only).

    .venv/bin/python benchmarks/bench_prepare.py [--repeat 3] [--big 40000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_reports import DEMO, tiled_csv  # noqa: E402

_PLAN = """
import json, sys, time
from pathlib import Path
from surveykit.reporting.overview import write_tabbook
from surveykit.reporting.planning import DEFAULT_NOTEBOOK, _plan, check_parameters
root, data, crm, prepared = Path(sys.argv[1]), sys.argv[2], sys.argv[3] or None, Path(sys.argv[4])
check_parameters(DEFAULT_NOTEBOOK, [])          # as run_report does before _plan
out, res = prepared.parent / "out", {}
out.mkdir(exist_ok=True)
for k in ("cold", "warm"):
    t = time.perf_counter()
    plan = _plan(str(root / "questionnaires/pc_customers.yaml"), data,
                 str(root / "data/demo/targets.yaml"), crm, "2026-11-01" if crm else None,
                 "segment", None, 30, out, prepared, DEFAULT_NOTEBOOK, None, "python3", 600,
                 60, True, {}, False)
    res[f"plan_{k}"] = time.perf_counter() - t
    t = time.perf_counter()
    write_tabbook(plan[0], "segment", out / "tabbook.xlsx")
    res[f"tabbook_{k}"] = time.perf_counter() - t
t = time.perf_counter()
import pandas as pd
pd.read_csv(data)
res["read_csv"] = time.perf_counter() - t
print(json.dumps(res))
"""

_LOAD = """
import importlib, json, sys, time
for m in ("surveykit.reporting", "surveykit.estimates", "surveykit.weighting",
          "surveykit.drivers", "surveykit.plots", "surveykit.measurement", "surveykit.tables",
          "pyarrow.parquet"):
    importlib.import_module(m)                  # as the warm kernel has them
from surveykit.reporting.findings import open_survey
from surveykit.reporting.shared import SharedResults
t = time.perf_counter()
open_survey(sys.argv[1])
t1 = time.perf_counter()
SharedResults.load(sys.argv[1])
print(json.dumps({"open_survey": t1 - t, "shared_load": time.perf_counter() - t1}))
"""


def _run(code: str, *args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                         env=env, cwd=ROOT, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def measure(data: Path, crm: Path | None, repeat: int) -> dict:
    """Best of ``repeat`` fresh processes for each phase."""
    best: dict[str, float] = {}
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            prepared = Path(tmp) / "prepared"
            got = _run(_PLAN, str(ROOT), str(data), str(crm or ""), str(prepared))
            got |= _run(_LOAD, str(prepared))
        best = {k: min(v, best.get(k, v)) for k, v in got.items()}
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--big", type=int, default=40_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs = {"demo (4,000, CRM)": measure(DEMO / "responses.csv", DEMO / "crm.csv",
                                             args.repeat),
                f"{args.big:,} respondents": measure(
                    tiled_csv(Path(tmp) / "big.csv", args.big), None, args.repeat)}
    cols = ["plan_cold", "tabbook_cold", "plan_warm", "tabbook_warm", "open_survey",
            "shared_load", "read_csv"]
    print(f"{'seconds (best of ' + str(args.repeat) + ')':<26}"
          + "".join(f"{c:>13}" for c in cols) + f"{'cold/read_csv':>15}")
    for label, r in runs.items():
        print(f"{label:<26}" + "".join(f"{r[c]:>13.3f}" for c in cols)
              + f"{(r['plan_cold'] + r['tabbook_cold']) / r['read_csv']:>14.0f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
