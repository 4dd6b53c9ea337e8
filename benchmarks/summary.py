"""``make bench``: one table of every speed target of issue 16, each against its peer.

Every row runs surveykit and its peer in this process, on the same data, interleaved, and
keeps the best of a few runs of each (the machine is shared: the best run is the least
disturbed one). Memory rows run each side in a fresh subprocess and report its peak RSS.

    benchmark | surveykit | peer | peer time | ratio | target | met

``ratio`` is surveykit's time (or memory) over the peer's: below 1 is faster (smaller).

Data: the PC demo survey (``data/demo/responses.csv``, 94 columns with planted problems)
tiled to 1,000,000 rows with new ids; the 73-column banner data of ``banner_data`` below;
the raking data of ``bench_weighting.py``; the driver data of ``bench_drivers.py``.
Peers: ``pandas.read_csv`` (untyped), pandas group sums, weightipy, R ``survey`` (where
``Rscript`` and the package are installed) and a batched-numpy Shapley (one batched solve
per subset size, written here).

    .venv/bin/python benchmarks/summary.py [--rows 1000000] [--quick] [--markdown]
                                           [--readme README.md] [--only report ...]

``--quick`` uses 100,000 rows and fewer repeats; ``--markdown`` also prints the table as
Markdown; ``--readme README.md`` writes it between the README's speed-table markers (``make
bench`` does). The report rows run ``surveykit report`` itself (bench_reports.py).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_reports  # noqa: E402
from bench_drivers import simulate  # noqa: E402
from bench_reports import tiled_csv  # noqa: E402
from bench_weighting import LEVELS, make_data, run_weightipy, targets_int, targets_str  # noqa: E402

from surveykit.drivers import key_drivers  # noqa: E402
from surveykit.estimates import estimate  # noqa: E402
from surveykit.questionnaire import load_questionnaire  # noqa: E402
from surveykit.responses import check_responses, read_responses  # noqa: E402
from surveykit.tables import banner  # noqa: E402
from surveykit.weighting import rake  # noqa: E402

PC = ROOT / "questionnaires" / "pc_customers.yaml"
ROWS: list[dict] = []
BUSY: dict[str, float] = {}     # section -> share of the cores other processes used


class OtherLoad:
    """How much of the machine's cores processes other than this benchmark (and the
    children it waited for) used while a section ran, from ``/proc/stat`` and
    ``os.times()``: on a shared machine a figure above a few percent means the absolute
    targets (seconds) of that section were measured on a busy machine; the ratios, run
    interleaved in the same process, suffer less. None where ``/proc/stat`` is missing."""

    def __enter__(self):
        self.start = self._sample()
        return self

    def __exit__(self, *exc):
        self.share = None
        end = self._sample()
        if self.start is not None and end is not None:
            (busy0, mine0, t0), (busy1, mine1, t1) = self.start, end
            cores = os.cpu_count() or 1
            self.share = max(0.0, ((busy1 - busy0) - (mine1 - mine0)) / ((t1 - t0) * cores))
        return False

    @staticmethod
    def _sample():
        try:
            with open("/proc/stat") as fh:
                ticks = [int(v) for v in fh.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        hz = os.sysconf("SC_CLK_TCK")
        # user nice system idle iowait irq softirq steal ...: busy = all but idle, iowait
        busy = (sum(ticks[:8]) - ticks[3] - ticks[4]) / hz
        t = os.times()
        return busy, t.user + t.system + t.children_user + t.children_system, time.monotonic()


def section(name: str, fn, *args) -> None:
    """Run one section of the table, noting how busy the rest of the machine was."""
    with OtherLoad() as load:
        fn(*args)
    if load.share is not None:
        BUSY[name] = load.share
        print(f"  (other processes used {load.share:.0%} of the cores during {name})",
              flush=True)


# -- helpers ----------------------------------------------------------------------------------
def best_pair(ours, peer, repeat: int, peer_repeat: int | None = None) -> tuple[float, float]:
    """Best-of-``repeat`` seconds of ``ours`` and ``peer``, run alternately (a slow peer
    may run fewer times, ``peer_repeat``)."""
    a, b = [], []
    for i in range(repeat):
        todo = [(ours, a)] + ([(peer, b)] if i < (peer_repeat or repeat) else [])
        for fn, out in todo:
            gc.collect()
            t = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t)
    return min(a), min(b)


def best(fn, repeat: int) -> float:
    out = []
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return min(out)


def add(name, sk, peer_name, peer, target, met, unit="s"):
    ROWS.append({"benchmark": name, "surveykit": _fmt(sk, unit), "peer": peer_name,
                 "peer value": _fmt(peer, unit) if peer is not None else "-",
                 "ratio": f"{sk / peer:.2f}" if peer else "-", "target": target,
                 "met": "met" if met else "NOT MET"})
    print(f"  {name}: {_fmt(sk, unit)} vs {peer_name} "
          f"{_fmt(peer, unit) if peer is not None else '-'} -> "
          f"{'met' if met else 'NOT MET'} ({target})", flush=True)


def _fmt(v, unit):
    if v is None:
        return "-"
    if unit == "s":
        return f"{v * 1e3:.1f} ms" if v < 1 else f"{v:.2f} s"
    if unit == "MB":
        return f"{v:,.0f} MB"
    if unit == "B/row":
        return f"{v:,.0f} B/row"
    return f"{v:g} {unit}"


def peak_rss(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; it prints a JSON dict (with peak RSS)."""
    prelude = ("import json, resource, sys, time\n"
               f"sys.path.insert(0, {str(ROOT)!r}); sys.path.insert(0, "
               f"{str(ROOT / 'benchmarks')!r})\n"
               "def reset_peak():\n"
               "    try:\n"
               "        open('/proc/self/clear_refs', 'w').write('5'); return True\n"
               "    except OSError:\n"
               "        return False\n"
               "def hwm_mb():  # this process's peak RSS (ru_maxrss would carry the parent's)\n"
               "    for line in open('/proc/self/status'):\n"
               "        if line.startswith('VmHWM'): return int(line.split()[1]) / 1024\n"
               "    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n")
    res = subprocess.run([sys.executable, "-c", prelude + code], capture_output=True,
                         text=True, cwd=ROOT)
    if res.returncode:
        raise RuntimeError(res.stderr[-2000:])
    return json.loads(res.stdout.strip().splitlines()[-1])


# -- 1. typed reading and check ---------------------------------------------------------------
def reading(tmp: Path, n: int, repeat: int) -> None:
    path = tmp / "responses.csv"
    tiled_csv(path, n)
    q = load_questionnaire(PC)
    print(f"reading and checking {n:,} x 94 ({path.stat().st_size / 1e6:.0f} MB)", flush=True)
    sk, pk = best_pair(lambda: read_responses(path, q), lambda: pd.read_csv(path), repeat)
    add(f"read_responses, CSV {n:,} x 94, typed", sk, "pandas.read_csv (untyped)", pk,
        "<= 1.5x pandas time", sk <= 1.5 * pk)
    frame = read_responses(path, q)
    ck = best(lambda f=frame: check_responses(q, f), repeat)
    del frame
    add(f"check: read + check_responses, {n:,} x 94", sk + ck, "pandas.read_csv alone", pk,
        f"<= {3 * n / 1e6:g} s", sk + ck <= 3 * n / 1e6)
    # time per row must not grow with the file: a tenth of it, per row
    small = tmp / "small.csv"
    tiled_csv(small, n // 10)
    s10 = best(lambda: read_responses(small, q), repeat)
    add(f"read per row: {n // 10:,} vs {n:,} rows", sk / n * 1e9, f"{n // 10:,} rows",
        s10 / (n // 10) * 1e9, "per-row time at 10x rows <= 1.3x (linear)",
        sk / n <= 1.3 * s10 / (n // 10), unit="ns/row")
    mem = {}
    for what, code in (("pandas", f"import pandas as pd\npd.read_csv({str(path)!r})\n"),
                       ("read", "from surveykit.questionnaire import load_questionnaire\n"
                                "from surveykit.responses import read_responses\n"
                                f"q = load_questionnaire({str(PC)!r})\n"
                                f"read_responses({str(path)!r}, q)\n"),
                       ("check", "from surveykit.questionnaire import load_questionnaire\n"
                                 "from surveykit.responses import read_responses, "
                                 "check_responses\n"
                                 f"q = load_questionnaire({str(PC)!r})\n"
                                 f"check_responses(q, read_responses({str(path)!r}, q))\n")):
        mem[what] = peak_rss(code + "print(json.dumps({'peak': hwm_mb()}))")["peak"]
    add(f"peak RSS, read_responses {n:,} x 94", mem["read"], "pandas.read_csv", mem["pandas"],
        "<= pandas peak", mem["read"] <= mem["pandas"], unit="MB")
    add(f"peak RSS, read + check {n:,} x 94", mem["check"], "pandas.read_csv", mem["pandas"],
        "reported (was 2.9 GB at 1M)", True, unit="MB")


# -- 2. banner --------------------------------------------------------------------------------
BANNER = {"gender": 2, "age": 6, "region": 10, "income": 5, "segment": 8, "cust_type": 3,
          "tenure": 6, "device": 5, "plan": 8, "brand": 12}      # 65 columns + 8 multi = 73


def banner_data(n: int, seed: int = 0):
    """1 weight, 10 single-coded banner variables and an 8-option multi-response one (73
    banner columns); 20 row questions: 5 single, 8 ratings, 2 NPS, 3 multi, 2 numeric."""
    rng = np.random.default_rng(seed)
    cols, types, rows = {}, {}, []
    for b, k in BANNER.items():
        cols[b] = rng.integers(1, k + 1, n).astype(float)
        types[b] = "single"
    for j in range(1, 9):
        cols[f"channel_{j}"] = (rng.random(n) < 0.25).astype(float)
    types["channel"] = "multi"
    cols["w"] = rng.lognormal(0, 0.4, n)
    for i in range(5):
        cols[f"s{i}"] = rng.integers(1, 6, n).astype(float)
        types[f"s{i}"] = "single"
    for i in range(8):
        x = np.clip(np.round(3 + 0.2 * (cols["age"] - 3) + rng.normal(0, 1.1, n)), 1, 5)
        x[rng.random(n) < 0.05] = np.nan
        cols[f"r{i}"], types[f"r{i}"] = x, "rating"
    for i in range(2):
        cols[f"n{i}"] = np.clip(np.round(rng.normal(7, 2, n)), 0, 10)
        types[f"n{i}"] = "nps"
    for i in range(3):
        for k in range(1, 7):
            cols[f"m{i}_{k}"] = (rng.random(n) < 0.3).astype(float)
        types[f"m{i}"] = "multi"
    for i in range(2):
        cols[f"x{i}"] = rng.gamma(2, 50, n)
        types[f"x{i}"] = "numeric"
    rows = [q for q in types if q not in BANNER and q != "channel"]
    return pd.DataFrame(cols), rows, [*BANNER, "channel"], types


def banner_peer(df, rows, columns, types):
    """pandas: weighted column percentages and means of the same cells (no bases, no
    tests, no effective n)."""
    w = df["w"]
    out = []
    for b in columns:
        if types[b] == "multi":
            opts = [c for c in df.columns if c.startswith(b + "_")]
            groups = [(o, df[o] == 1) for o in opts]
        else:
            groups = [(None, None)]
        for _, member in groups:
            sel = slice(None) if member is None else member
            key = df.loc[sel, b] if member is None else pd.Series(0, index=df.index[member])
            for q in rows:
                t = types[q]
                if t == "multi":
                    opts = [c for c in df.columns if c.startswith(q + "_")]
                    sub = df.loc[sel, opts]
                    ww = w[sel]
                    out.append(sub.mul(ww, axis=0).groupby(key).sum().div(
                        ww.groupby(key).sum(), axis=0))
                elif t in ("numeric", "rating", "nps"):
                    x = df.loc[sel, q]
                    ww = w[sel]
                    out.append((x * ww).groupby(key).sum() / ww[x.notna()].groupby(key).sum())
                    if t != "numeric":
                        out.append(pd.crosstab(x, key, values=ww, aggfunc="sum",
                                               normalize="columns"))
                else:
                    out.append(pd.crosstab(df.loc[sel, q], key, values=w[sel], aggfunc="sum",
                                           normalize="columns"))
    return out


def banners(n: int, repeat: int) -> None:
    print(f"banner: 73 columns x 20 questions on {n:,} weighted rows", flush=True)
    df, rows, columns, types = banner_data(n)
    scales = {q: (1, 5) for q, t in types.items() if t == "rating"}
    kw = dict(weights="w", types=types, scales=scales, correction="holm")
    banner(df.head(5000), rows, columns, **kw)          # warm-up
    sk, pk = best_pair(lambda: banner(df, rows, columns, **kw),
                       lambda: banner_peer(df, rows, columns, types), repeat, 1)
    add(f"banner, 73 columns x 20 questions, {n:,} rows", sk,
        "pandas group sums (% and means only)", pk, f"<= {3 * n / 1e6:g} s", sk <= 3 * n / 1e6)
    code = ("from summary import banner_data\nfrom surveykit.tables import banner\n"
            f"df, rows, cols, types = banner_data({n})\n"
            "scales = {q: (1, 5) for q, t in types.items() if t == 'rating'}\n"
            "banner(df.head(2000), rows, cols, weights='w', types=types, scales=scales)\n"
            "reset_peak(); base = hwm_mb()\n"
            "banner(df, rows, cols, weights='w', types=types, scales=scales)\n"
            "print(json.dumps({'extra': hwm_mb() - base}))\n")
    extra = peak_rss(code)["extra"] * 2**20 / n
    add(f"banner memory, 73 columns, {n:,} rows (peak RSS above the data)", extra,
        "-", None, "<= 300 B/row", extra <= 300, unit="B/row")


# -- 3. raking --------------------------------------------------------------------------------
def r_available() -> bool:
    if shutil.which("Rscript") is None:
        return False
    return subprocess.run(["Rscript", "-e", "suppressMessages(library(survey))"],
                          capture_output=True).returncode == 0


R_SCRIPT = r"""
suppressMessages(library(survey))
args <- commandArgs(TRUE)
d <- read.csv(args[1])
for (v in c("age", "gender", "region", "income")) d[[v]] <- factor(d[[v]])
des <- svydesign(ids = ~1, data = d)
n <- nrow(d)
pop <- function(v, p) {
  t <- data.frame(factor(seq_along(p)), Freq = p / 100 * n); names(t)[1] <- v; t }
t1 <- system.time(r <- rake(des, list(~age, ~gender, ~region, ~income),
   list(pop("age", c(12,16,18,19,18,17)), pop("gender", c(48,52)),
        pop("region", c(10,11,12,13,13,13,14,14)), pop("income", c(22,26,28,24))),
   control = list(maxit = 100, epsilon = 1e-10)))[["elapsed"]]
t2 <- system.time(svyby(~sat, ~banner, r, svymean, deff = "replace"))[["elapsed"]]
cat(t1, t2, "\n")
"""


def raking(n: int, repeat: int, tmp: Path) -> None:
    print(f"raking {n:,} rows, 4 variables (384 cells)", flush=True)
    df = make_data(n)
    for v, k in LEVELS.items():
        df[f"{v}_s"] = pd.Series(np.array([f"{v}{i}" for i in range(1, k + 1)])[df[v] - 1],
                                 dtype="str")
    ti, ts = targets_int(), targets_str()
    try:
        import weightipy  # noqa: F401
        have_wp = True
    except ImportError:
        have_wp = False
        print("  weightipy not installed (pip install -e '.[bench]'): raking peers skipped")
    if have_wp:
        sk, pk = best_pair(lambda: rake(df, ts), lambda: run_weightipy(df, ts), repeat)
        add(f"rake, string columns, {n:,} rows", sk, "weightipy (string columns)", pk,
            ">= 10x weightipy", sk * 10 <= pk)
        sk, pk = best_pair(lambda: rake(df, ti), lambda: run_weightipy(df, ti), repeat)
        add(f"rake, integer columns, {n:,} rows", sk, "weightipy", pk, ">= 10x weightipy",
            sk * 10 <= pk)
    w = rake(df, ti).weights.to_numpy()
    est = best(lambda: estimate(df, "sat", by="banner", weights=w), repeat)
    if r_available():
        path = tmp / "rake.csv"
        df[["age", "gender", "region", "income", "banner", "sat"]].to_csv(path, index=False)
        script = tmp / "rake.R"
        script.write_text(R_SCRIPT)
        res = subprocess.run(["Rscript", str(script), str(path)], capture_output=True,
                             text=True)
        if res.returncode == 0:
            r_rake, r_by = map(float, res.stdout.split()[-2:])
            sk = best(lambda: rake(df, ti), repeat)
            add(f"rake, integer columns, {n:,} rows", sk, "R survey::rake", r_rake,
                "faster than R", sk < r_rake)
            add(f"8-group banner: mean + SE + deff, {n:,} rows", est,
                "R survey::svyby(deff)", r_by, "<= 0.5 s", est <= 0.5)
            return
        print("  R survey failed:", res.stderr[-300:])
    add(f"8-group banner: mean + SE + deff, {n:,} rows", est, "-", None, "<= 0.5 s",
        est <= 0.5)


# -- 6. out of core (DuckDB) ------------------------------------------------------------------
def out_of_core(rows: int) -> None:
    """Raking + an 8-level banner on Parquet larger than memory: peak RSS of a fresh process
    (benchmarks/bench_outofcore.py); time reported beside it."""
    from bench_outofcore import TARGET_MB, measure

    try:
        import duckdb  # noqa: F401
    except ImportError:
        print("  duckdb not installed (pip install -e '.[scale]'): out-of-core row skipped")
        return
    print(f"out of core: {rows:,} rows x 10 columns of Parquet", flush=True)
    r = measure(rows)
    secs = r["open_s"] + r["rake_s"] + r["banner_s"]
    add(f"out of core: rake + 8-level banner, {rows:,} rows x 10 ({secs:.1f} s), peak RSS",
        r["peak_mb"], "-", None, f"peak <= {TARGET_MB / 1024:g} GB", r["peak_mb"] <= TARGET_MB,
        unit="MB")


# -- 4. Shapley -------------------------------------------------------------------------------
def peer_shapley(d: pd.DataFrame, drivers: list[str], outcome: str = "overall",
                 weight: str = "weight") -> np.ndarray:
    """A competent numpy Shapley (LMG): weighted correlations, then for each subset size
    one batched solve of all the subsets' normal equations, then the Shapley weighting."""
    A = d[[*drivers, outcome]].to_numpy(dtype=float)
    w = d[weight].to_numpy(dtype=float)
    ok = np.isfinite(A).all(axis=1) & np.isfinite(w) & (w > 0)
    A, w = A[ok], w[ok]
    D = A - (w @ A) / w.sum()
    C = (D * w[:, None]).T @ D
    sd = np.sqrt(np.diag(C))
    R = C / np.outer(sd, sd)
    p = len(drivers)
    masks = np.arange(1 << p)
    bits = (masks[:, None] >> np.arange(p)) & 1
    size = bits.sum(axis=1)
    r2 = np.zeros(1 << p)
    for k in range(1, p + 1):
        sel = np.flatnonzero(size == k)
        subs = np.nonzero(bits[sel])[1].reshape(-1, k)
        rxy = R[subs, p]
        beta = np.linalg.solve(R[subs[:, :, None], subs[:, None, :]], rxy[:, :, None])
        r2[sel] = np.einsum("ij,ij->i", beta[:, :, 0], rxy)
    wk = np.array([math.factorial(k) * math.factorial(p - k - 1) / math.factorial(p)
                   for k in range(p)])
    out = np.empty(p)
    for j in range(p):
        without = masks[bits[:, j] == 0]
        out[j] = wk[size[without]] @ (r2[without | (1 << j)] - r2[without])
    return out


def shapley(repeat: int, rows: int = 5000) -> None:
    print(f"exact Shapley, {rows:,} weighted rows", flush=True)
    for p, reps, target, factor in ((6, 20 * repeat, "no slower than the peer", 1.0),
                                    (15, 5 * repeat, ">= 10x the peer", 0.1),
                                    (20, max(1, repeat // 2), ">= 10x the peer", 0.1)):
        d = simulate(rows, p, seed=p)
        drv = [f"a{j}" for j in range(p)]
        mine = key_drivers(d, "overall", drv, weights="weight").table["importance"].to_numpy()
        assert np.allclose(mine, peer_shapley(d, drv), atol=1e-10)
        sk, pk = best_pair(lambda d=d, drv=drv: key_drivers(d, "overall", drv,
                                                            weights="weight"),
                           lambda d=d, drv=drv: peer_shapley(d, drv), reps)
        add(f"exact Shapley, {p} drivers", sk, "batched numpy (one solve per size)", pk,
            target, sk <= factor * pk)


# -- 5. the report ------------------------------------------------------------------------------
def reports(tmp: Path, quick: bool) -> None:
    """``make report`` end to end, the findings' compute per segment against the
    warm-kernel empty notebook, and a 40k survey (see bench_reports.py)."""
    print("report: make report (demo), the empty-notebook floor, 40k respondents", flush=True)
    res = bench_reports.measure(tmp / "reports", repeat=1 if quick else 2)
    bench_reports.print_runs(res)
    demo, floor, big = res["demo"], res["floor"], res["big"]
    add("make report: demo, 7 pages, end to end", demo["wall"],
        "6 empty pages, no overview (fixed cost)", floor["wall"], "<= 5 s",
        demo["wall"] <= 5)
    add("findings notebook execute, per segment (demo)", demo["execute"],
        "empty notebook, warm kernel", floor["execute"], "<= 0.3 s",
        demo["execute"] <= 0.3)
    add("report: 40,000 respondents, 6 segments, end to end", big["wall"], "-", None,
        "<= 8 s", big["wall"] <= 8)


# -- the table --------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--quick", action="store_true", help="100,000 rows, fewer repeats")
    ap.add_argument("--markdown", action="store_true", help="also print Markdown")
    ap.add_argument("--only", nargs="*", default=None,
                    choices=["read", "banner", "rake", "shapley", "outofcore", "report"])
    ap.add_argument("--ooc-rows", type=int, default=50_000_000,
                    help="rows of the out-of-core run (%(default)s; --quick: 2,000,000)")
    ap.add_argument("--readme", type=Path, default=None,
                    help="rewrite the table between the speed-table markers of this README")
    args = ap.parse_args()
    n = 100_000 if args.quick else args.rows
    repeat = 2 if args.quick else 3
    only = set(args.only or ["read", "banner", "rake", "shapley", "outofcore", "report"])
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if "read" in only:
            section("read", reading, tmp, n, repeat)
        if "banner" in only:
            section("banner", banners, n, repeat)
        if "rake" in only:
            section("rake", raking, n, repeat, tmp)
        if "shapley" in only:
            section("shapley", shapley, repeat)
        if "outofcore" in only:
            section("outofcore", out_of_core, 2_000_000 if args.quick else args.ooc_rows)
        if "report" in only:
            section("report", reports, tmp, args.quick)
    table = pd.DataFrame(ROWS)
    print(f"\nissue 16 speed targets (2 cores; best of {repeat} runs, surveykit and peer "
          f"alternating; {time.perf_counter() - t0:.0f} s in all)")
    with pd.option_context("display.width", 250, "display.max_colwidth", 60):
        print(table.to_string(index=False))
    missed = (table["met"] != "met").sum()
    busy = (f"other processes used at most {max(BUSY.values()):.0%} of the cores in any "
            f"section" if BUSY else "the load of other processes was not measured")
    print(f"\n{len(table) - missed} of {len(table)} met; {busy}")
    md = markdown(table)
    if args.markdown:
        print()
        print(md)
    if args.readme is not None:
        write_readme_table(args.readme, md, f"{'--quick, ' if args.quick else ''}best of "
                           f"{repeat} runs, {time.strftime('%Y-%m-%d')}; {busy}")
        print(f"\nwrote the table into {args.readme}")


START, END = "<!-- speed-table:start -->", "<!-- speed-table:end -->"


def markdown(table: pd.DataFrame) -> str:
    """The table as Markdown (``|`` in a cell escaped)."""
    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    for r in table.itertuples(index=False):
        lines.append("| " + " | ".join(str(v).replace("|", "\\|") for v in r) + " |")
    return "\n".join(lines)


def write_readme_table(readme: Path, md: str, note: str) -> None:
    """Replace what is between the speed-table markers of ``readme`` with ``md``."""
    text = readme.read_text(encoding="utf-8")
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise SystemExit(f"{readme} needs one {START} ... {END} block for the speed table")
    head, rest = text.split(START)
    _, tail = rest.split(END)
    body = f"{START}\n<!-- generated by `make bench` ({note}); do not edit -->\n\n{md}\n\n{END}"
    readme.write_text(head + body + tail, encoding="utf-8")


if __name__ == "__main__":
    main()
