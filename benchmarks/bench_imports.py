"""Module-import time of a report's processes, against another checkout and the pandas floor.

A report pays module imports in the main process (``surveykit report`` imports
:mod:`surveykit.reporting.runner`, then preparation loads more) and in each worker's kernel
(:data:`surveykit.reporting.kernels._WARM_CODE`). Each case is timed in a fresh process
(CPU seconds: the machine may be shared), best of ``--repeat``, for this checkout and for
the peer checkout (``--peer``, e.g. the commit before a change: ``git archive COMMIT | tar
-x -C /tmp/peer``), run alternately:

1. ``runner``: ``import surveykit.reporting.runner`` (before any work);
2. ``preparation``: the modules the runner's preparation loads (``prepare_survey``,
   ``save``, ``prepare_shared`` on the demo), imported in the order it loads them;
3. ``warm-up``: the kernel's warm-up code, as a worker runs it (imports and a first chart);
4. ``findings page`` / ``overview page``: the modules a page loads (every section built
   and rendered with ``_repr_html_`` from a prepared folder), in the order it loads them.

``import pandas`` (numpy and pandas, which every case needs) is the floor. It also prints
which heavy modules (scipy.stats, seaborn, statsmodels, scikit-learn...) each case loads.

    .venv/bin/python benchmarks/bench_imports.py [--peer /tmp/peer] [--repeat 3]
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
HEAVY = ("scipy.stats", "scipy.optimize", "scipy.sparse", "scipy.special", "seaborn",
         "statsmodels", "matplotlib", "sklearn", "factor_analyzer", "openpyxl", "jinja2",
         "pyarrow.parquet", "surveykit.questionnaire.expressions")

_PREPARE = f"""
import surveykit.reporting.runner
from surveykit.reporting.trend_section import prepare_survey
from surveykit.reporting.shared import prepare_shared
survey = prepare_survey({str(ROOT / "questionnaires" / "pc_customers.yaml")!r},
                        {str(DEMO / "responses.csv")!r}, targets={str(DEMO / "targets.yaml")!r},
                        crm={str(DEMO / "crm.csv")!r}, as_of="2026-11-01")
survey.save(PREPARED)
values = sorted(survey.data["segment"].dropna().unique().tolist())
prepare_shared(survey, "segment", values).save(PREPARED)
"""

_FINDINGS = """
import contextlib, io
from surveykit.reporting import SegmentFindings, open_survey
f = SegmentFindings(open_survey(PREPARED), "segment", 2, shared=PREPARED)
f.header_html()
for key in [*f.FRONT, *f.SECTIONS]:
    sec = f.section(key)
    if sec is not None:
        sec._repr_html_()
with contextlib.redirect_stdout(io.StringIO()):
    f.record()
"""

_OVERVIEW = """
from surveykit.reporting import Overview, open_survey
o = Overview(open_survey(PREPARED), "segment")
o.header_html()
o.appendix_html()
for key in o.SECTIONS:
    sec = o.section(key)
    if sec is not None:
        sec._repr_html_()
"""

_KERNEL = "import IPython.display\n"      # what a kernel has loaded before any cell


def _python(code: str, tree: Path, cwd: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(tree), "MPLBACKEND": "agg"}
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, check=True,
                          capture_output=True, text=True)
    return done.stdout


def loaded_by(code: str, tree: Path, prepared: Path, cwd: Path, setup: str = "") -> list[str]:
    """The modules ``code`` loads after ``setup``, in the order loaded."""
    wrapper = (f"import sys, json\nPREPARED = {str(prepared)!r}\n{setup}\n"
               f"before = set(sys.modules)\n{code}\n"
               "print(json.dumps([m for m in sys.modules if m not in before]))")
    return json.loads(_python(wrapper, tree, cwd).splitlines()[-1])


def seconds(code: str, tree: Path, cwd: Path, setup: str = "") -> float:
    """CPU seconds ``code`` takes in a fresh process, after ``setup`` (start-up excluded):
    CPU rather than wall time, which on a shared machine measures the others' load too."""
    wrapper = (f"{setup}\nimport time\n_t0 = time.process_time()\n{code}\n"
               "print(time.process_time() - _t0)")
    return float(_python(wrapper, tree, cwd).splitlines()[-1])


def import_all(modules: list[str]) -> str:
    """Code importing ``modules`` in the order they were loaded."""
    return (f"import importlib\nfor _m in {modules!r}:\n    try:\n"
            "        importlib.import_module(_m)\n    except Exception:\n        pass")


def cases(tree: Path, tmp: Path) -> dict[str, tuple[str, str]]:
    """name -> (setup, timed code) for the checkout ``tree``."""
    prepared = tmp / f"prepared-{abs(hash(str(tree)))}"
    prep = loaded_by(_PREPARE, tree, prepared, tmp)
    warm = _python("from surveykit.reporting.kernels import _WARM_CODE\nprint(repr(_WARM_CODE))",
                   tree, tmp).splitlines()[-1]
    return {
        "runner": ("", "import surveykit.reporting.runner"),
        "preparation": ("", import_all(prep)),
        "warm-up": (_KERNEL, eval(warm)),  # noqa: S307 - our own repr of a str
        "findings page": (_KERNEL, import_all(loaded_by(_FINDINGS, tree, prepared, tmp,
                                                        _KERNEL))),
        "overview page": (_KERNEL, import_all(loaded_by(_OVERVIEW, tree, prepared, tmp,
                                                        _KERNEL))),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--peer", type=Path, help="another checkout to compare with")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    trees = {"this": ROOT, **({"peer": args.peer.resolve()} if args.peer else {})}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        todo = {name: cases(tree, tmp) for name, tree in trees.items()}
        best: dict[tuple[str, str], float] = {}
        for _ in range(args.repeat):           # the checkouts alternately, best of repeat
            for case in ["floor", *todo["this"]]:
                for name, tree in trees.items():
                    setup, code = ("", "import pandas") if case == "floor" else \
                        todo[name][case]
                    t = seconds(code, tree, tmp, setup)
                    best[name, case] = min(t, best.get((name, case), t))
        floor = best["this", "floor"]
        print(f"CPU seconds, best of {args.repeat}; floor: import pandas {floor:.3f} s")
        head = f"{'case':<15} {'this (s)':>9} {'x floor':>8}"  # CPU seconds
        print(head + (f" {'peer (s)':>9} {'ratio':>6}" if "peer" in trees else "")
              + "  heavy modules loaded (this / peer)")
        for case in todo["this"]:
            line = f"{case:<15} {best['this', case]:9.3f} {best['this', case] / floor:8.2f}"
            heavy = []
            for name, tree in trees.items():
                setup, code = todo[name][case]
                mods = set(loaded_by(code, tree, tmp / "none", tmp, setup))
                heavy.append(", ".join(h for h in HEAVY if h in mods) or "-")
            if "peer" in trees:
                line += f" {best['peer', case]:9.3f} {best['this', case] / best['peer', case]:6.2f}"
            print(f"{line}  {' / '.join(heavy)}")


if __name__ == "__main__":
    main()
