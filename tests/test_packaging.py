"""The set-up files agree with each other: one list of dependencies, two spellings."""

import re
import tomllib
from pathlib import Path

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]


def _norm(requirement: str) -> tuple[str, str]:
    name, spec = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", requirement).groups()
    return re.sub(r"[-_.]+", "-", name).lower(), spec.replace(" ", "")


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_environment_yml_lists_exactly_the_pyproject_dependencies():
    project = _pyproject()
    wanted = dict(map(_norm, project["dependencies"] + project["optional-dependencies"]["dev"]))
    env = YAML(typ="safe").load((ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    listed = dict(_norm(d.replace("=", "==", 1) if re.search(r"[^<>=!]=[^=]", d) else d)
                  for d in conda if not d.startswith(("python", "pip")) or d.startswith("pip "))
    listed.pop("pip", None)
    assert listed == wanted
    pip_part = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pip_part == ["-e ."]


def test_known_trap_scikit_learn_is_pinned_below_1_8():
    deps = dict(map(_norm, _pyproject()["dependencies"]))
    assert deps["factor-analyzer"] == "==0.5.1"
    assert "<1.8" in deps["scikit-learn"]


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make test" in ci and "make test" in readme and "make report" in readme


def test_an_installed_surveykit_reports_from_outside_the_source_tree(tmp_path):
    """Build the wheel, install it elsewhere, and run ``surveykit report`` from a folder
    that is not the checkout: the report templates ship inside the package."""
    import os
    import subprocess
    import sys

    wheels, site, work = tmp_path / "wheels", tmp_path / "site", tmp_path / "work"
    work.mkdir()
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps",
                            "-q", "-w", str(wheels)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next(wheels.glob("surveykit-*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(site), str(wheel)], check=True)
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = subprocess.run([sys.executable, "-c", "import surveykit.reporting.runner as r; "
                            "print(r.DEFAULT_NOTEBOOK)"], cwd=work, env=env,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert where.startswith(str(site)) and Path(where).is_file()
    out = work / "reports"
    run = subprocess.run([sys.executable, "-m", "surveykit.cli", "report",
                          "--questionnaire", str(ROOT / "questionnaires/pc_customers.yaml"),
                          "--data", str(ROOT / "data/demo/responses.csv"),
                          "--segment-by", "segment", "--segments", "3", "--workers", "1",
                          "--no-overview", "--out", str(out)],
                         cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    page = (out / "3-Older-users.html").read_text(encoding="utf-8")
    assert "<h2>" in page and "Older users" in page
