"""Out of core on DuckDB: raking plus an 8-level banner on 50M rows x 10 columns in <= 2 GB.

The data are generated in a temporary folder as Parquet files of 1,000,000 rows each (never
whole in memory): an id, four weighting variables (6 x 2 x 8 x 4 = 384 cells, sample margins
far from the targets, as ``bench_weighting.py``), an 8-level banner variable, a 0-10 rating,
a 0-10 NPS answer, months as customer (0-120) and a 0/1 flag. A fresh subprocess then opens
the folder (:class:`surveykit.outofcore.ParquetSurvey`, DuckDB ``memory_limit`` 1.5 GB),
rakes it, runs the banner (rating, NPS, months, flag by the 8 banner columns, with tests) and
a weighted mean by banner group, and reports the time of each step and its own peak RSS
(``VmHWM``). There is no peer: pandas cannot hold the data (the target is the memory).

    .venv/bin/python benchmarks/bench_outofcore.py [--rows 50000000] [--folder DIR]
        [--check-rows 1000000]

``--folder`` keeps the generated files there (reused when present) instead of a temporary
folder. ``--check-rows N`` also runs ``check`` out of core on the raw demo export (94
columns, planted problems) tiled to N rows, and reports its time and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_weighting import LEVELS, SAMPLE_P, targets_int  # noqa: E402

CHUNK = 1_000_000
MEMORY_LIMIT = "1.5GB"
TARGET_MB = 2048


def generate(folder: Path, rows: int, seed: int = 7) -> float:
    """Write ``rows`` rows as Parquet files of :data:`CHUNK` rows; returns seconds."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i, start in enumerate(range(0, rows, CHUNK)):
        n = min(CHUNK, rows - start)
        cols = {"resp_id": np.arange(start, start + n, dtype=np.int64)}
        for v, k in LEVELS.items():
            cols[v] = rng.choice(np.arange(1, k + 1), size=n, p=SAMPLE_P[v]).astype(np.int64)
        cols["banner"] = rng.integers(1, 9, size=n)
        sat = np.clip(np.round(5 + 0.4 * cols["age"] - 0.5 * cols["gender"]
                               + rng.normal(0, 2, n)), 0, 10)
        sat[rng.random(n) < 0.02] = np.nan          # some missing answers
        cols["sat"] = sat
        cols["nps"] = np.clip(sat + rng.integers(-1, 2, n), 0, 10)
        cols["months"] = rng.integers(0, 121, n).astype(float)
        cols["flag"] = (rng.random(n) < 0.3).astype(float)
        pq.write_table(pa.table(cols), folder / f"part-{i:05d}.parquet")
    return time.perf_counter() - t


def child(folder: str) -> None:
    """Open, rake, banner and estimate; print times and this process's peak RSS (JSON)."""
    from surveykit.outofcore import ParquetSurvey

    out = {}
    t = time.perf_counter()
    s = ParquetSurvey.open(None, folder, memory_limit=MEMORY_LIMIT)  # no questionnaire
    out["open_s"] = time.perf_counter() - t
    t = time.perf_counter()
    s = s.rake(targets_int())
    out["rake_s"] = time.perf_counter() - t
    t = time.perf_counter()
    table = s.banner(["sat", "nps", "months", "flag"], "banner",
                     types={"sat": "rating", "nps": "nps", "months": "numeric",
                            "flag": "single"}, scales={"sat": (0, 10)})
    out["banner_s"] = time.perf_counter() - t
    t = time.perf_counter()
    est = s.estimate("sat", by="banner")
    out["estimate_s"] = time.perf_counter() - t
    out.update(rows=s.n, cells=len(s.weighting.cells), efficiency=s.weighting.efficiency,
               banner_cells=len(table.to_frame()), groups=len(est))
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM"):
            out["peak_mb"] = int(line.split()[1]) / 1024
    print(json.dumps(out))


def measure(rows: int, folder: Path | None = None) -> dict:
    """Generate (unless present) and run :func:`child` in a fresh interpreter."""
    tmp = None
    if folder is None:
        tmp = Path(tempfile.mkdtemp(prefix="surveykit-ooc-"))
        folder = tmp / "data"
    try:
        gen = 0.0
        if not folder.exists() or not any(folder.glob("*.parquet")):
            gen = generate(folder, rows)
        res = subprocess.run([sys.executable, __file__, "--child", str(folder)],
                             capture_output=True, text=True, cwd=ROOT)
        if res.returncode:
            raise RuntimeError(res.stderr[-3000:])
        out = json.loads(res.stdout.strip().splitlines()[-1])
        out["generate_s"] = gen
        out["disk_mb"] = sum(p.stat().st_size for p in folder.glob("*.parquet")) / 2**20
        return out
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def check_child(folder: str) -> None:
    """Check a folder of raw demo exports out of core; print time and peak RSS (JSON)."""
    from surveykit.outofcore import ParquetSurvey

    t = time.perf_counter()
    s = ParquetSurvey.open(ROOT / "questionnaires" / "pc_customers.yaml", folder,
                           memory_limit=MEMORY_LIMIT)
    result = s.check()
    out = {"check_s": time.perf_counter() - t, "rows": s.n, "errors": result.n_errors}
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM"):
            out["peak_mb"] = int(line.split()[1]) / 1024
    print(json.dumps(out))


def measure_check(rows: int) -> dict:
    """``check`` out of core on the raw demo export (planted problems, 94 columns) tiled to
    ``rows`` rows with new ids, as Parquet files of 40,000 rows."""
    import pandas as pd

    raw = pd.read_csv(ROOT / "data" / "demo" / "responses.csv", dtype=str,
                      keep_default_na=False).replace("", None)
    for c in raw.columns:          # typed as an export would be: numbers where all are
        try:
            raw[c] = pd.to_numeric(raw[c])
        except (TypeError, ValueError):
            pass
    ids = raw["resp_id"].astype(np.int64)
    with tempfile.TemporaryDirectory(prefix="surveykit-ooc-check-") as tmp:
        for i in range(-(-rows // len(raw))):
            part = raw.assign(resp_id=ids + i * 10_000_000)
            part.iloc[: rows - i * len(raw)].to_parquet(Path(tmp) / f"part-{i:05d}.parquet")
        res = subprocess.run([sys.executable, __file__, "--check-child", tmp],
                             capture_output=True, text=True, cwd=ROOT)
        if res.returncode:
            raise RuntimeError(res.stderr[-3000:])
        return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=50_000_000)
    ap.add_argument("--folder", type=Path)
    ap.add_argument("--check-rows", type=int, default=0,
                    help="also check the raw demo export tiled to this many rows (94 columns)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--check-child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return
    if args.check_child:
        check_child(args.check_child)
        return
    if args.check_rows:
        c = measure_check(args.check_rows)
        print(f"check out of core, {c['rows']:,} rows x 94 columns: {c['check_s']:.1f} s, "
              f"{c['errors']:,} errors, peak RSS {c['peak_mb']:,.0f} MB")
    r = measure(args.rows, args.folder)
    total = r["open_s"] + r["rake_s"] + r["banner_s"]
    print(f"out of core, {r['rows']:,} rows x 10 columns ({r['disk_mb']:,.0f} MB of Parquet, "
          f"generated in {r['generate_s']:.0f} s), DuckDB memory_limit {MEMORY_LIMIT}:")
    print(f"  open {r['open_s']:.2f} s, rake ({r['cells']} cells, efficiency "
          f"{r['efficiency']:.3f}) {r['rake_s']:.2f} s, 8-level banner ({r['banner_cells']} "
          f"cells) {r['banner_s']:.2f} s, mean by banner {r['estimate_s']:.2f} s")
    print(f"  rake + banner {total:.1f} s; peak RSS {r['peak_mb']:,.0f} MB -> "
          f"{'met' if r['peak_mb'] <= TARGET_MB else 'NOT MET'} (target <= {TARGET_MB} MB)")


if __name__ == "__main__":
    main()
