"""Tab-book speed: 60 questions x a 12-column banner on 100,000 weighted respondents.

Target (issue 5): the full tab book in <= 3 s. Peer: ``pandas.crosstab`` producing only the
weighted column percentages / means of the same cells (no bases, no tests, no formatting),
run side by side in the same process.

    .venv/bin/python benchmarks/bench_tables.py [n_respondents]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from surveykit.tables import banner


def make_data(n: int, seed: int = 0) -> tuple[pd.DataFrame, list[str], dict[str, str]]:
    rng = np.random.default_rng(seed)
    cols, types = {}, {}
    cols["gender"] = rng.choice([1.0, 2.0], n)
    cols["age"] = rng.choice([1.0, 2.0, 3.0, 4.0, 5.0], n)
    cols["region"] = rng.choice([1.0, 2.0, 3.0, 4.0, 5.0], n, p=[0.3, 0.25, 0.2, 0.15, 0.1])
    cols["w"] = rng.lognormal(0, 0.4, n)
    rows = []
    for i in range(20):
        q = f"s{i}"
        cols[q] = rng.choice([1.0, 2.0, 3.0, 4.0, 5.0], n)
        types[q] = "single"
        rows.append(q)
    for i in range(25):
        q = f"r{i}"
        x = np.clip(np.round(3 + 0.2 * (cols["age"] - 3) + rng.normal(0, 1.1, n)), 1, 5)
        x[rng.random(n) < 0.05] = np.nan
        cols[q] = x
        types[q] = "rating"
        rows.append(q)
    for i in range(5):
        q = f"n{i}"
        cols[q] = np.clip(np.round(rng.normal(7, 2, n)), 0, 10)
        types[q] = "nps"
        rows.append(q)
    for i in range(5):
        q = f"m{i}"
        for k in range(1, 7):
            cols[f"{q}_{k}"] = (rng.random(n) < 0.3).astype(float)
        types[q] = "multi"
        rows.append(q)
    for i in range(5):
        q = f"x{i}"
        cols[q] = rng.gamma(2, 50, n)
        types[q] = "numeric"
        rows.append(q)
    return pd.DataFrame(cols), rows, types


def peer(df: pd.DataFrame, rows: list[str], types: dict[str, str], banner_vars: list[str]):
    """pandas: weighted column % (single, rating, NPS, multi) and weighted means."""
    out = []
    w = df["w"]
    for q in rows:
        t = types[q]
        for b in banner_vars:
            if t == "multi":
                opts = [c for c in df.columns if c.startswith(q + "_")]
                wsum = df[opts].mul(w, axis=0).groupby(df[b]).sum()
                out.append(wsum.div(w.groupby(df[b]).sum(), axis=0))
            elif t == "numeric":
                out.append((df[q] * w).groupby(df[b]).sum() / w[df[q].notna()].groupby(df[b]).sum())
            else:
                out.append(pd.crosstab(df[q], df[b], values=w, aggfunc="sum", normalize="columns"))
                if t == "rating":
                    out.append((df[q] * w).groupby(df[b]).sum()
                               / w[df[q].notna()].groupby(df[b]).sum())
    return out


def main(n: int = 100_000) -> None:
    df, rows, types = make_data(n)
    bvars = ["gender", "age", "region"]
    scales = {q: (1, 5) for q, t in types.items() if t == "rating"}
    kw = dict(weights="w", types=types, scales=scales, correction="holm")
    banner(df.head(2000), rows, bvars, **kw)  # warm-up (imports, caches)

    t0 = time.perf_counter()
    tab = banner(df, rows, bvars, **kw)
    t_compute = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        tab.to_excel(Path(tmp) / "tabs.xlsx")
        t_excel = time.perf_counter() - t0
    t0 = time.perf_counter()
    tab.to_html()
    t_html = time.perf_counter() - t0
    t0 = time.perf_counter()
    peer(df, rows, types, bvars)
    t_peer = time.perf_counter() - t0

    ncol = len(tab.columns)
    print(f"tab book: {len(rows)} questions x {ncol - 1}-column banner + Total, "
          f"{n:,} weighted respondents; {len(tab.to_frame()):,} cells, {len(tab.tests):,} tests")
    print(f"{'step':<44}{'seconds':>10}{'ratio vs peer':>15}")
    lines = [("surveykit banner (estimates, bases, tests)", t_compute),
             ("surveykit to_excel (61 sheets)", t_excel),
             ("surveykit to_html", t_html),
             ("surveykit full tab book (banner + Excel)", t_compute + t_excel),
             ("peer: pandas crosstab/groupby (% and means)", t_peer)]
    for name, t in lines:
        print(f"{name:<44}{t:>10.3f}{t / t_peer:>15.2f}")
    verdict = "meets" if t_compute + t_excel <= 3 else "MISSES"
    print(f"target <= 3 s for the full tab book: {verdict} ({t_compute + t_excel:.2f} s)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
