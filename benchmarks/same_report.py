"""Are two report folders the same report? For speed work, which must not change a page.

Compares two output folders of ``surveykit report`` (run with the same inputs, e.g. before
and after a change): every page's HTML, the index, the manifest (every value but the
run's timings, dates and the folders' own paths), the tab book's cells and, when both runs
kept their prepared data (``--keep-data``), the prepared responses. The HTML is compared
after removing what differs between any two runs: the date and time of writing and the
output folders' paths. Exits 1 and lists the differences when there are any.

    .venv/bin/python benchmarks/same_report.py reports/before reports/after
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from pathlib import Path

#: manifest keys whose values differ between any two runs
VOLATILE = {"seconds", "prepare_seconds", "started", "finished", "phases", "attempts",
            "prewarmed_workers"}
#: what the pages say that differs between any two runs: the date and time of writing
_TIMES = [(re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?(\.\d+)?"), "<datetime>")]


def _text(path: Path, folder: Path) -> str:
    text = path.read_text(encoding="utf-8")
    text = text.replace(str(folder.resolve()), "<out>").replace(str(folder), "<out>")
    for pattern, repl in _TIMES:
        text = pattern.sub(repl, text)
    return text


def _strip(value, folder: Path):
    if isinstance(value, dict):
        return {k: _strip(v, folder) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_strip(v, folder) for v in value]
    if isinstance(value, str):
        return value.replace(str(folder.resolve()), "<out>")
    return value


def compare(a: Path, b: Path) -> list[str]:
    """The differences between report folders ``a`` and ``b`` (empty: the same report)."""
    problems = []
    pages_a = sorted(p.name for p in a.glob("*.html"))
    pages_b = sorted(p.name for p in b.glob("*.html"))
    if pages_a != pages_b:
        problems.append(f"pages differ: {pages_a} vs {pages_b}")
    for name in sorted(set(pages_a) & set(pages_b)):
        ta, tb = _text(a / name, a), _text(b / name, b)
        if ta != tb:
            diff = list(difflib.unified_diff(ta.splitlines(), tb.splitlines(), lineterm="",
                                             n=0))[:12]
            problems.append(f"{name} differs:\n  " + "\n  ".join(d[:300] for d in diff))
    ma = _strip(json.loads((a / "manifest.json").read_text(encoding="utf-8")), a)
    mb = _strip(json.loads((b / "manifest.json").read_text(encoding="utf-8")), b)
    if ma != mb:
        sa, sb = (json.dumps(m, indent=1, sort_keys=True).splitlines() for m in (ma, mb))
        diff = list(difflib.unified_diff(sa, sb, lineterm="", n=0))[:20]
        problems.append("manifest.json differs:\n  " + "\n  ".join(diff))
    problems += _compare_tabbook(a / "tabbook.xlsx", b / "tabbook.xlsx")
    pa, pb = a / "_prepared" / "responses.parquet", b / "_prepared" / "responses.parquet"
    if pa.is_file() and pb.is_file():
        import pandas as pd

        da, db = pd.read_parquet(pa), pd.read_parquet(pb)
        try:
            pd.testing.assert_frame_equal(da, db)
        except AssertionError as exc:
            problems.append(f"prepared responses differ: {str(exc)[:500]}")
    return problems


def _compare_tabbook(a: Path, b: Path) -> list[str]:
    if not a.is_file() and not b.is_file():
        return []
    if a.is_file() != b.is_file():
        return [f"tabbook.xlsx written in one run only ({a.is_file()} vs {b.is_file()})"]
    from openpyxl import load_workbook

    wa, wb = load_workbook(a), load_workbook(b)
    if wa.sheetnames != wb.sheetnames:
        return [f"tab book sheets differ: {wa.sheetnames} vs {wb.sheetnames}"]
    for name in wa.sheetnames:
        va = [[c.value for c in row] for row in wa[name].iter_rows()]
        vb = [[c.value for c in row] for row in wb[name].iter_rows()]
        if va != vb:
            return [f"tab book sheet {name!r} differs"]
    return []


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a", type=Path)
    ap.add_argument("b", type=Path)
    args = ap.parse_args()
    problems = compare(args.a, args.b)
    for p in problems:
        print(p)
    print("same report" if not problems else f"{len(problems)} difference(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
