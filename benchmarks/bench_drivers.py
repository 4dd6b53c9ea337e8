"""Benchmark: exact Shapley (LMG) key drivers vs the refit-every-subset approach.

Run:  .venv/bin/python benchmarks/bench_drivers.py [--full] [--rows 5000]

Existing Python packages compute Shapley importance by refitting a regression for every
subset of drivers on the raw data. This script runs that approach (an all-subsets
statsmodels OLS loop) side by side with ``surveykit.drivers.key_drivers`` on the same
5,000 simulated respondents, checks that both give the same importances, and prints a
table with the ratio. The 2^20 refits of the 20-driver case take about an hour, so by
default they are timed on a random sample of subsets (stratified over subset sizes) and
extrapolated (marked "est."); ``--full`` runs them all. The same holds for the bootstrap
(200 replicates x 2^12 refits).

Targets (issue 4): 15 drivers <= 0.25 s, 20 drivers <= 10 s, bootstrap of 200 replicates
with 12 drivers <= 10 s.
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from surveykit.drivers import key_drivers  # noqa: E402


def simulate(n: int, p: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    C = np.full((p, p), 0.35) + 0.65 * np.eye(p)
    X = rng.multivariate_normal(np.zeros(p), C, size=n)
    y = X @ np.linspace(1.0, 0.1, p) + rng.normal(scale=2.0, size=n)
    d = pd.DataFrame(np.clip(np.round(X * 1.8 + 7), 0, 10), columns=[f"a{j}" for j in range(p)])
    d["overall"] = np.clip(np.round(y + 7), 0, 10)
    d["weight"] = rng.uniform(0.4, 2.5, n)
    return d


def refit_r2(d: pd.DataFrame, drivers: list[str], mask: int) -> float:
    cols = [drivers[j] for j in range(len(drivers)) if mask >> j & 1]
    if not cols:
        return 0.0
    return sm.WLS(d["overall"], sm.add_constant(d[cols]), weights=d["weight"]).fit().rsquared


def refit_shapley(d: pd.DataFrame, drivers: list[str]) -> tuple[np.ndarray, float]:
    """The peer approach: one statsmodels fit per subset, then the Shapley weighting."""
    p = len(drivers)
    t0 = time.perf_counter()
    r2 = np.array([refit_r2(d, drivers, m) for m in range(1 << p)])
    masks = np.arange(1 << p)
    size = np.array([bin(m).count("1") for m in masks])
    wk = np.array([math.factorial(k) * math.factorial(p - k - 1) / math.factorial(p)
                   for k in range(p)])
    out = np.array([np.dot(wk[size[(masks >> j & 1) == 0]],
                           r2[masks[(masks >> j & 1) == 0] | (1 << j)]
                           - r2[masks[(masks >> j & 1) == 0]]) for j in range(p)])
    return out, time.perf_counter() - t0


def refit_estimate(d: pd.DataFrame, drivers: list[str], sample: int, seed: int = 0) -> float:
    """Seconds for all 2^p refits, extrapolated from ``sample`` timed fits over all sizes."""
    p = len(drivers)
    rng = np.random.default_rng(seed)
    total = 0.0
    per_size = max(1, sample // p)
    for k in range(1, p + 1):
        times = []
        for _ in range(per_size):
            mask = sum(1 << j for j in rng.choice(p, k, replace=False))
            t0 = time.perf_counter()
            refit_r2(d, drivers, int(mask))
            times.append(time.perf_counter() - t0)
        total += np.median(times) * math.comb(p, k)
    return total


def best_of(fn, repeat: int = 7) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=5000)
    ap.add_argument("--full", action="store_true",
                    help="run every refit of the 20-driver and bootstrap cases (about an hour)")
    ap.add_argument("--sample", type=int, default=600,
                    help="timed refits used to extrapolate the cases not run in full")
    args = ap.parse_args()

    rows = []
    d15 = simulate(args.rows, 15, seed=1)
    drv15 = [f"a{j}" for j in range(15)]
    ours = best_of(lambda: key_drivers(d15, "overall", drv15, weights="weight"))
    ref_imp, ref_t = refit_shapley(d15, drv15)
    mine = key_drivers(d15, "overall", drv15, weights="weight").table["importance"].to_numpy()
    rows.append(("exact Shapley, 15 drivers", ours, ref_t, "measured",
                 float(np.max(np.abs(mine - ref_imp))), 0.25))

    d20 = simulate(args.rows, 20, seed=2)
    drv20 = [f"a{j}" for j in range(20)]
    ours = best_of(lambda: key_drivers(d20, "overall", drv20, weights="weight"), repeat=3)
    if args.full:
        ref_imp, ref_t = refit_shapley(d20, drv20)
        mine = key_drivers(d20, "overall", drv20, weights="weight").table["importance"]
        diff, how = float(np.max(np.abs(mine.to_numpy() - ref_imp))), "measured"
    else:
        ref_t, diff, how = refit_estimate(d20, drv20, args.sample), float("nan"), "est."
    rows.append(("exact Shapley, 20 drivers", ours, ref_t, how, diff, 10.0))

    d12 = simulate(args.rows, 12, seed=3)
    drv12 = [f"a{j}" for j in range(12)]
    ours = best_of(lambda: key_drivers(d12, "overall", drv12, weights="weight",
                                       bootstrap=200, seed=1), repeat=2)
    one = refit_estimate(d12, drv12, args.sample // 2) if not args.full else None
    if args.full:
        t0 = time.perf_counter()
        rng = np.random.default_rng(1)
        for _ in range(200):
            refit_shapley(d12.iloc[rng.integers(0, len(d12), len(d12))].reset_index(drop=True),
                          drv12)
        ref_t, how = time.perf_counter() - t0, "measured"
    else:
        ref_t, how = 201 * one, "est."
    rows.append(("bootstrap 200 x 12 drivers", ours, ref_t, how, float("nan"), 10.0))

    print(f"\nKey-driver benchmark: {args.rows} rows, weighted; python {platform.python_version()},"
          f" numpy {np.__version__}, statsmodels {sm.__version__}")
    print("peer = refit every subset with statsmodels WLS (what existing packages do)\n")
    head = (f"{'case':<28} {'surveykit s':>12} {'peer s':>12} {'peer timing':>11} "
            f"{'speed-up':>10} {'max |diff|':>11} {'target s':>9} {'ok':>4}")
    print(head)
    print("-" * len(head))
    for name, ours, peer, how, diff, target in rows:
        diff_s = "-" if math.isnan(diff) else f"{diff:.1e}"
        print(f"{name:<28} {ours:>12.4f} {peer:>12.1f} {how:>11} {peer / ours:>9.0f}x "
              f"{diff_s:>11} {target:>9.2f} {'yes' if ours <= target else 'NO':>4}")
    print()


if __name__ == "__main__":
    main()
