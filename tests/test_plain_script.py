"""``run_report`` from a plain script without an ``if __name__ == "__main__":`` guard.

Worker processes are spawned; they must not re-run the caller's script (which would start
the report again in every child and fail). The script runs as a real separate process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_a_script_without_a_main_guard_runs_the_report(tmp_path):
    out = tmp_path / "reports"
    script = tmp_path / "make_report.py"
    script.write_text(textwrap.dedent(f"""\
        from surveykit.reporting import run_report

        print("script body runs")  # once: in the parent only
        result = run_report({str(ROOT / "questionnaires" / "pc_customers.yaml")!r},
                            {str(ROOT / "data" / "demo" / "responses.csv")!r},
                            segment_by="segment", segments=[1, 2], workers=2,
                            overview=False, out={str(out)!r}, progress=False)
        print(result.summary())
        raise SystemExit(0 if result.ok else 1)
        """), encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert proc.stdout.count("script body runs") == 1
    assert "2 of 2 segment reports written" in proc.stdout
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert [s["status"] for s in manifest["segments"]] == ["ok", "ok"]
    assert manifest["run"]["prewarmed_workers"] == 2      # the two workers really ran
    for seg in manifest["segments"]:
        assert 'data-section="method"' in (out / seg["html"]).read_text(encoding="utf-8")
