"""Benchmark: 500 bootstrap replicates of the ECSI PLS path model, surveykit vs Python plspm.

Run:  .venv/bin/python benchmarks/bench_pls.py [--reps 500] [--peer-reps 20] [--full]
                                                [--peer-python /tmp/plspm-peer/bin/python]

The model is R plspm's ECSI example (six blocks, 27 items, ten paths, path scheme,
unstandardized items) on its ``satisfaction`` data (tests/fixtures/pls/satisfaction.csv):
n = 250 as shipped, and n = 10,000 respondents resampled from it. ``surveykit.pls.pls`` is
timed with ``boot=500`` (best of three runs). The peer is the Python ``plspm`` package
(0.5.7) with ``bootstrap=True, processes=1``: it refits the model on every resample with
pandas, about a quarter of a second each, so by default it runs ``--peer-reps`` replicates
and its 500-replicate time is extrapolated from them (marked "est."); ``--full`` runs all
500. Both bootstraps' SEs of the paths are printed side by side as a sanity check (other
random draws, so they agree only to bootstrap noise).

plspm 0.5.7 does not run under pandas 3 (``DataFrame.loc[label,]``). When it cannot run in
this process, give ``--peer-python`` an interpreter that has it with pandas 2:

    python3 -m venv /tmp/plspm-peer && /tmp/plspm-peer/bin/pip install plspm==0.5.7 "pandas<3"

and the peer runs there (this same script, ``--as-peer``). Without one the peer is skipped
with a note.

Targets (issue 14): at least 20x faster than plspm; under 2 s at n = 10,000.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "fixtures" / "pls" / "satisfaction.csv"
BLOCKS = {"IMAG": "imag", "EXPE": "expe", "QUAL": "qual", "VAL": "val", "SAT": "sat",
          "LOY": "loy"}
PATHS = {"EXPE": ["IMAG"], "QUAL": ["EXPE"], "VAL": ["EXPE", "QUAL"],
         "SAT": ["IMAG", "EXPE", "QUAL", "VAL"], "LOY": ["IMAG", "SAT"]}
TARGET_RATIO, TARGET_SECONDS = 20.0, 2.0


def dataset(rows: int) -> pd.DataFrame:
    d = pd.read_csv(DATA).drop(columns="gender").astype(float)
    if rows == len(d):
        return d
    idx = np.random.default_rng(0).integers(0, len(d), size=rows)
    return d.iloc[idx].reset_index(drop=True)


def blocks(d: pd.DataFrame) -> dict[str, list[str]]:
    return {lv: [c for c in d.columns if c.startswith(p)] for lv, p in BLOCKS.items()}


# -- the peer ---------------------------------------------------------------------------------
def peer_run(rows: int, reps: int) -> dict:
    """Python plspm: one fit, then a bootstrap of ``reps`` replicates (own timings)."""
    import plspm.config as c
    from plspm.mode import Mode
    from plspm.plspm import Plspm
    from plspm.scheme import Scheme

    d = dataset(rows)
    s = c.Structure()
    for to, froms in PATHS.items():
        s.add_path(froms, [to])
    config = c.Config(s.path(), scaled=False)
    for lv, prefix in BLOCKS.items():
        config.add_lv_with_columns_named(lv, Mode.A, d, prefix)
    t0 = time.perf_counter()
    Plspm(d, config, Scheme.PATH)
    fit = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = Plspm(d, config, Scheme.PATH, bootstrap=True, bootstrap_iterations=reps,
                processes=1)
    total = time.perf_counter() - t0
    se = res.bootstrap().paths()["std.error"]
    return {"fit": fit, "total": total, "reps": reps,
            "se": {k.replace(" -> ", "->"): float(v) for k, v in se.items()}}


def peer(rows: int, reps: int, python: str | None) -> tuple[dict | None, str]:
    try:
        return peer_run(rows, reps), "in this process"
    except ImportError:
        why = "plspm is not installed here"
    except Exception as exc:  # noqa: BLE001 - any failure of the peer is reported, not fatal
        why = f"plspm fails here ({type(exc).__name__}: {exc}; pandas {pd.__version__})"
    if python is None:
        return None, why
    out = subprocess.run([python, __file__, "--as-peer", "--rows", str(rows),
                          "--peer-reps", str(reps)], capture_output=True, text=True,
                         check=False)
    if out.returncode != 0:
        return None, f"{why}; --peer-python failed: {out.stderr.strip().splitlines()[-1:]}"
    return json.loads(out.stdout.strip().splitlines()[-1]), f"in {python}"


# -- surveykit --------------------------------------------------------------------------------
def ours(rows: int, reps: int) -> tuple[float, float, dict]:
    from surveykit.pls import pls

    d = dataset(rows)
    b = blocks(d)
    best_fit = best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        pls(d, b, PATHS, scaled=False)
        best_fit = min(best_fit, time.perf_counter() - t0)
        t0 = time.perf_counter()
        res = pls(d, b, PATHS, scaled=False, boot=reps, seed=1)
        best = min(best, time.perf_counter() - t0)
    se = {f"{r['from']}->{r['to']}": float(r["boot_se"])
          for _, r in res.inner_model.iterrows()}
    return best_fit, best, se


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=500, help="bootstrap replicates (500)")
    ap.add_argument("--peer-reps", type=int, default=20,
                    help="replicates the peer runs before extrapolating (20)")
    ap.add_argument("--full", action="store_true", help="run the peer's replicates in full")
    ap.add_argument("--peer-python", help="interpreter with plspm 0.5.7 and pandas 2")
    ap.add_argument("--rows", type=int, nargs="*", default=[250, 10_000])
    ap.add_argument("--as-peer", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.as_peer:
        print(json.dumps(peer_run(args.rows[0], args.peer_reps)))
        return 0
    sys.path.insert(0, str(ROOT))
    from threadpoolctl import threadpool_info

    blas = ", ".join(f"{i['internal_api']} {i.get('architecture', '')} x{i['num_threads']}"
                     for i in threadpool_info())
    print(f"ECSI PLS model, {args.reps} bootstrap replicates; Python "
          f"{platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}; "
          f"BLAS: {blas}\n")
    head = (f"{'n':>7}  {'surveykit fit':>13}  {'surveykit boot':>14}  {'plspm fit':>9}  "
            f"{'plspm boot':>14}  {'ratio':>7}  targets")
    print(head)
    print("-" * len(head))
    ok = True
    notes = []
    for rows in args.rows:
        fit, boot, se = ours(rows, args.reps)
        peer_reps = args.reps if args.full else min(args.peer_reps, args.reps)
        p, where = peer(rows, peer_reps, args.peer_python)
        line = f"{rows:>7,}  {fit:>12.3f}s  {boot:>13.3f}s"
        target = []
        if rows >= 10_000:
            target.append(f"<{TARGET_SECONDS:g}s {'ok' if boot < TARGET_SECONDS else 'MISSED'}")
            ok &= boot < TARGET_SECONDS
        if p is None:
            line += f"  {'-':>9}  {'-':>14}  {'-':>7}"
            notes.append(f"n = {rows}: peer skipped: {where}")
        else:
            per_rep = max(p["total"] - p["fit"], 0.0) / p["reps"]
            est = p["fit"] + per_rep * args.reps
            mark = "" if p["reps"] == args.reps else " est."
            ratio = est / boot
            line += f"  {p['fit']:>8.3f}s  {est:>9.1f}s{mark:>5}  {ratio:>6.0f}x"
            target.append(f">={TARGET_RATIO:g}x {'ok' if ratio >= TARGET_RATIO else 'MISSED'}")
            ok &= ratio >= TARGET_RATIO
            common = [k for k in se if k in p["se"]]
            rel = max(abs(se[k] - p["se"][k]) / p["se"][k] for k in common)
            notes.append(f"n = {rows}: peer ran {p['reps']} replicates {where} in "
                         f"{p['total']:.1f}s; path SEs of the two bootstraps differ by at "
                         f"most {rel:.0%} (different draws; the peer's from {p['reps']})")
        print(line + "  " + ", ".join(target))
    print()
    for n in notes:
        print("note:", n)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
