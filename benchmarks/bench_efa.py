"""CPU of the overview page's factor-structure section, against another checkout.

The section (:meth:`surveykit.reporting.overview.Overview.factor_structure`: parallel
analysis, then an oblimin EFA of the battery) runs in a report kernel after the warm-up.
Each run is a fresh process that runs the warm-up code
(:data:`surveykit.reporting.kernels._WARM_CODE`) and opens the prepared demo survey, then
times (CPU seconds, the machine may be shared) the section's imports and computation and
its HTML; best of ``--repeat``, this checkout and the peer (``--peer``, e.g. ``git archive
main | tar -x -C /tmp/peer``) alternately. It also checks that both give the same HTML and
prints the heavy modules the section loaded.

    .venv/bin/python benchmarks/bench_efa.py --peer /tmp/peer [--repeat 3]
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
DEMO = ROOT / "data" / "demo"
HEAVY = ("scipy.stats", "sklearn", "factor_analyzer")

_PREPARE = f"""
from surveykit.reporting.trend_section import prepare_survey
prepare_survey({str(ROOT / "questionnaires" / "pc_customers.yaml")!r},
               {str(DEMO / "responses.csv")!r}, targets={str(DEMO / "targets.yaml")!r},
               crm={str(DEMO / "crm.csv")!r}, as_of="2026-11-01").save(PREPARED)
"""

_SECTION = """
from surveykit.reporting.kernels import _WARM_CODE
exec(_WARM_CODE)
import hashlib, json, sys, time
from surveykit.reporting import open_survey
from surveykit.reporting.overview import Overview
ov = Overview(open_survey(PREPARED), "segment")
t0 = time.process_time()
html = ov.factor_structure()._repr_html_()
cpu = time.process_time() - t0
print(json.dumps({"cpu": cpu, "html": hashlib.sha256(html.encode()).hexdigest(),
                  "heavy": [m for m in HEAVY if m in sys.modules]}))
"""


def _run(root: Path, code: str, prepared: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(root), "MPLBACKEND": "agg"}
    src = f"PREPARED = {prepared!r}\nHEAVY = {HEAVY!r}\n{code}"
    out = subprocess.run([sys.executable, "-c", src], env=env, cwd=root, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.splitlines()[-1]) if out.strip() else {}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--peer", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        prepared = str(Path(tmp) / "prepared")
        _run(ROOT, _PREPARE + "\nprint('{}')", prepared)
        runs: dict[str, list[dict]] = {"this": [], "peer": []}
        for _ in range(a.repeat):
            runs["this"].append(_run(ROOT, _SECTION, prepared))
            runs["peer"].append(_run(a.peer, _SECTION, prepared))
    best = {k: min(r["cpu"] for r in v) for k, v in runs.items()}
    same = {r["html"] for v in runs.values() for r in v}
    print(f"factor-structure section, CPU s (best of {a.repeat}): this {best['this']:.3f}, "
          f"peer {best['peer']:.3f}, ratio peer/this {best['peer'] / best['this']:.1f}x")
    print(f"heavy modules loaded: this {runs['this'][0]['heavy']}, "
          f"peer {runs['peer'][0]['heavy']}")
    print("same HTML: " + ("yes" if len(same) == 1 else "NO"))


if __name__ == "__main__":
    main()
