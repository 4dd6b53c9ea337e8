"""Complex-design speed: surveykit vs R survey, same data, same run.

A stratified cluster sample: 1,000,000 respondents in 2,000 PSUs (customer companies) in 50
strata, with an 8-level ``by=`` (banner), and 80 JK1 replicate-weight columns of the kind a
data provider supplies (80 random groups of PSUs, one dropped per replicate; scale 79/80).

Measured (best of 3): building the design; mean + SE + deff by the banner with the design
(linearisation, R ``svyby(~y, ~banner, design, svymean, deff = "replace")``); the same with
the 80 replicate weights (R ``svrepdesign(type = "JK1")``), building the replicate design
included; quartiles with Woodruff intervals by the banner (R ``svyby(~y, ~banner, design,
svyquantile, quantiles = c(.25, .5, .75), ci = TRUE)``) with the linearisation design and
with the replicate design; and a one-question banner (tab book) with the design's SEs and
t-tests between its 8 columns (no R peer). Where ``Rscript`` and R survey exist, R runs the
same steps (but the banner) on the same data (written to a temporary CSV) and its times and
largest differences are printed beside.

Targets (2-core machine): mean, SE and deff <= 1 s; 80 JK1 replicate SEs <= 3 s.
Run with ``.venv/bin/python benchmarks/bench_design.py`` (``--rows N``, ``--no-r``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from surveykit.design import ReplicateDesign, SurveyDesign, quantile
from surveykit.estimates import estimate
from surveykit.tables import banner

R_SCRIPT = r"""
suppressMessages(library(survey))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
reps <- grep("^rep", names(d), value = TRUE)
t0 <- proc.time()[["elapsed"]]
des <- svydesign(id = ~psu, strata = ~stratum, weights = ~w, data = d)
t1 <- proc.time()[["elapsed"]]
b <- svyby(~y, ~banner, des, svymean, deff = "replace")
t2 <- proc.time()[["elapsed"]]
rd <- svrepdesign(data = d, repweights = d[, reps], weights = ~w, type = "JK1",
                  scale = 79 / 80, combined.weights = TRUE)
rb <- svyby(~y, ~banner, rd, svymean)
t3 <- proc.time()[["elapsed"]]
qs <- c(0.25, 0.5, 0.75)
q <- svyby(~y, ~banner, des, svyquantile, quantiles = qs, ci = TRUE, vartype = c("se", "ci"))
t4 <- proc.time()[["elapsed"]]
rq <- svyby(~y, ~banner, rd, svyquantile, quantiles = qs, ci = TRUE, vartype = c("se", "ci"))
t5 <- proc.time()[["elapsed"]]
vec <- function(x) paste(sprintf("%.17g", as.vector(as.matrix(x))), collapse = ",")
ends <- function(b) cbind(b[, grep("^ci_l", names(b))], b[, grep("^ci_u", names(b))])
cat(jsonlite_free <- paste0('{"build": ', t1 - t0, ', "mean": ', t2 - t1, ', "rep": ', t3 - t2,
    ', "est": [', paste(sprintf("%.17g", coef(b)), collapse = ","), ']',
    ', "se": [', paste(sprintf("%.17g", SE(b)), collapse = ","), ']',
    ', "deff": [', paste(sprintf("%.17g", b[[grep("^DEff", names(b))[1]]]), collapse = ","), ']',
    ', "rep_se": [', paste(sprintf("%.17g", SE(rb)), collapse = ","), ']',
    ', "quant": ', t4 - t3, ', "rep_quant": ', t5 - t4,
    ', "q_est": [', vec(coef(q)), '], "q_ci": [', vec(ends(q)), ']',
    ', "q_se": [', vec(SE(q)), '], "rq_se": [', vec(SE(rq)), ']',
    ', "rq_est": [', vec(coef(rq)), '], "rq_ci": [', vec(ends(rq)), ']}'))
"""


def make_data(n: int, n_psu: int = 2000, n_strata: int = 50, n_rep: int = 80,
              seed: int = 13) -> tuple[pd.DataFrame, list[str]]:
    rng = np.random.default_rng(seed)
    psu = np.sort(rng.integers(0, n_psu, n))
    stratum = psu % n_strata
    effect = rng.normal(0, 1, n_psu)
    df = pd.DataFrame({"psu": psu, "stratum": stratum,
                       "banner": rng.integers(1, 9, n),
                       "w": rng.uniform(0.5, 2.0, n)})
    df["y"] = np.round(6 + effect[psu] + 0.2 * df["banner"] + rng.normal(0, 2, n), 1)
    group = rng.permutation(n_psu) % n_rep                     # 80 random groups of PSUs
    reps = [f"rep{r + 1}" for r in range(n_rep)]
    g = group[psu]
    w = df["w"].to_numpy()
    rw = {name: np.where(g == r, 0.0, w * n_rep / (n_rep - 1)) for r, name in enumerate(reps)}
    return pd.concat([df, pd.DataFrame(rw)], axis=1), reps


def timed(fn, repeat: int = 3):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def run_r(df: pd.DataFrame) -> dict | None:
    if shutil.which("Rscript") is None:
        return None
    ok = subprocess.run(["Rscript", "-e", "library(survey)"], capture_output=True)
    if ok.returncode != 0:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.csv"
        df.to_csv(path, index=False)
        script = Path(tmp) / "bench.R"
        script.write_text(R_SCRIPT)
        res = subprocess.run(["Rscript", str(script), str(path)], capture_output=True,
                             text=True)
    if res.returncode != 0:
        print("R failed:", res.stderr[-500:])
        return None
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--no-r", action="store_true", help="skip the R comparison")
    args = ap.parse_args()
    df, reps = make_data(args.rows)
    print(f"{len(df):,} rows, {df['psu'].nunique():,} PSUs in {df['stratum'].nunique()} strata, "
          f"8-level banner, {len(reps)} JK1 replicate columns")

    t_build, design = timed(lambda: SurveyDesign(df, ids="psu", strata="stratum", weights="w"))
    t_mean, lin = timed(lambda: estimate(df, "y", by="banner", design=design))

    def replicate():
        rep = ReplicateDesign(df, repweights=reps, weights="w", type="JK1", scale=79 / 80)
        return estimate(df, "y", by="banner", design=rep)

    t_rep, rep = timed(replicate)
    probs = [0.25, 0.5, 0.75]
    t_q, quart = timed(lambda: quantile(df, "y", design=design, probs=probs, by="banner"))
    rep_design = ReplicateDesign(df, repweights=reps, weights="w", type="JK1", scale=79 / 80)
    t_rq, rquart = timed(lambda: quantile(df, "y", design=rep_design, probs=probs,
                                          by="banner"))
    t_tab, _ = timed(lambda: banner(df, "y", "banner", design=design,
                                    types={"y": "numeric", "banner": "single"}))
    rows = [("build the design", t_build, None), ("mean + SE + deff by banner", t_mean, 1.0),
            ("80 JK1 replicate SEs by banner (incl. building)", t_rep, 3.0),
            ("quartiles + Woodruff CIs by banner", t_q, None),
            ("quartiles, 80 JK1 replicates, by banner", t_rq, None),
            ("banner(design=): 8 columns + Total, 28 t-tests", t_tab, None)]
    r = None if args.no_r else run_r(df)
    print(f"\n{'step':<50}{'surveykit':>11}{'target':>9}{'R survey':>11}")
    keys = ("build", "mean", "rep", "quant", "rep_quant", None)
    for (name, t, target), key in zip(rows, keys, strict=True):
        rt = f"{r[key]:.2f} s" if r and key else "-"
        tg = f"<= {target:g} s" if target else ""
        print(f"{name:<50}{t:>9.3f} s{tg:>9}{rt:>11}")
    if r:
        d_est = np.max(np.abs(lin["estimate"].to_numpy() / np.array(r["est"]) - 1))
        d_se = np.max(np.abs(lin["se"].to_numpy() / np.array(r["se"]) - 1))
        d_deff = np.max(np.abs(lin["deff"].to_numpy() / np.array(r["deff"]) - 1))
        d_rep = np.max(np.abs(rep["se"].to_numpy() / np.array(r["rep_se"]) - 1))
        print(f"\nlargest relative difference from R: estimate {d_est:.1e}, SE {d_se:.1e}, "
              f"deff {d_deff:.1e}, replicate SE {d_rep:.1e}")
        # R orders svyby(svyquantile) results quantile-major (all groups of 0.25 first)
        for label, ours, key in (("linearisation", quart, "q"), ("replicates", rquart, "rq")):
            o = ours.sort_values(["p", "group"])
            ci_r = np.array(r[f"{key}_ci"]).reshape(2, -1)
            d_q = np.nanmax(np.abs(o["estimate"].to_numpy() - np.array(r[f"{key}_est"])))
            d_ci = np.nanmax(np.abs(np.vstack([o["ci_low"], o["ci_high"]]) - ci_r))
            d_se = np.nanmax(np.abs(o["se"].to_numpy() / np.array(r[f"{key}_se"]) - 1))
            print(f"quartiles ({label}): largest difference from R: estimate {d_q:.1e}, "
                  f"CI ends {d_ci:.1e} (absolute), SE {d_se:.1e} (relative)")
        print(f"speed-up: mean {r['mean'] / t_mean:.0f}x, replicates {r['rep'] / t_rep:.0f}x, "
              f"quartiles {r['quant'] / t_q:.0f}x, replicate quartiles "
              f"{r['rep_quant'] / t_rq:.0f}x")


if __name__ == "__main__":
    main()
