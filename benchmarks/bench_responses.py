"""Reading, checking and cleaning responses: surveykit vs the plain tools, same process.

Data: the PC demo survey (``data/demo/responses.csv``, 4,000 x 93 with planted problems),
and the same tiled to 40,000 rows (new ids). Baselines: ``pandas.read_csv`` (untyped),
``pyreadstat`` read/write without labels, and a per-respondent Python loop doing only the
``out_of_range`` rule (what the vectorised check replaces). Run with
``.venv/bin/python benchmarks/bench_responses.py`` (``--quick``: 4,000 rows only).

Target (2-core machine): check_responses on 4,000 x ~80 columns well under 1 s.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat

from surveykit.questionnaire import load_questionnaire
from surveykit.responses import check_responses, clean, read_responses, write_responses

ROOT = Path(__file__).resolve().parent.parent
PC = ROOT / "questionnaires" / "pc_customers.yaml"
DEMO = ROOT / "data" / "demo" / "responses.csv"


def best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def naive_out_of_range(q, df: pd.DataFrame) -> list:
    """Per-respondent loop over every coded column: the approach the check replaces."""
    codes = {name: set(v.value_labels) | set(v.missing_codes)
             for name, v in q.variables().items() if v.value_labels and name in df.columns}
    out = []
    for i, row in enumerate(df.to_dict("records")):
        for name, ok in codes.items():
            value = row[name]
            if isinstance(value, float) and np.isnan(value):
                continue
            try:
                number = float(value)
            except (TypeError, ValueError):
                continue
            if number not in ok:
                out.append((i, name, value))
    return out


def tiled(df: pd.DataFrame, times: int) -> pd.DataFrame:
    parts = []
    for k in range(times):
        part = df.copy()
        part["resp_id"] = part["resp_id"] + k * 10_000_000
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4,000 rows only")
    args = parser.parse_args()
    q = load_questionnaire(PC)
    base = read_responses(DEMO, q)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for times in (1,) if args.quick else (1, 10):
            raw = tiled(base, times)
            csv = Path(tmp) / f"r{times}.csv"
            raw.to_csv(csv, index=False)
            clean_df, _ = clean(q, raw)
            clean_df = clean_df.drop(columns=["flag_speeder", "flag_straight_lining"])
            sav = Path(tmp) / f"r{times}.sav"
            shape = f"{len(raw):,} x {raw.shape[1]}"
            n_rep = 3 if times == 1 else 1

            sk = best(lambda p=csv: read_responses(p, q), n_rep)
            pk = best(lambda p=csv: pd.read_csv(p), n_rep)
            rows.append(("read CSV, typed", shape, sk, "pandas.read_csv (untyped)", pk))

            sk = best(lambda d=clean_df, p=sav: write_responses(d, p, q), n_rep)
            plain = clean_df.copy()
            plain.attrs = {}
            pk = best(lambda d=plain, p=sav: pyreadstat.write_sav(d, str(p) + ".plain"), n_rep)
            rows.append(("write .sav, labelled", shape, sk, "pyreadstat.write_sav (no labels)",
                         pk))
            sk = best(lambda p=sav: read_responses(p, q), n_rep)
            pk = best(lambda p=sav: pyreadstat.read_sav(str(p), user_missing=True), n_rep)
            rows.append(("read .sav, typed", shape, sk, "pyreadstat.read_sav", pk))

            sk = best(lambda d=raw: check_responses(q, d), n_rep)
            pk = best(lambda d=raw: naive_out_of_range(q, d), 1)
            rows.append(("check_responses (12 rules)", shape, sk,
                         "per-row loop, out_of_range only", pk))
            result = check_responses(q, raw)
            sk = best(lambda d=raw, r=result: clean(q, d, r), n_rep)
            rows.append(("clean (with log)", shape, sk, "-", float("nan")))

    table = pd.DataFrame(rows, columns=["operation", "rows x cols", "surveykit s", "baseline",
                                        "baseline s"])
    table["ratio"] = table["surveykit s"] / table["baseline s"]
    with pd.option_context("display.width", 200, "display.max_colwidth", 40,
                           "display.float_format", "{:.3f}".format):
        print(table.to_string(index=False))
    check_4k = table[(table.operation.str.startswith("check")) &
                     (table["rows x cols"].str.startswith("4,000"))]["surveykit s"].iloc[0]
    print(f"\ntarget: check_responses on 4,000 rows < 1 s -> {check_4k:.3f} s "
          f"({'met' if check_4k < 1 else 'MISSED'})")


if __name__ == "__main__":
    main()
