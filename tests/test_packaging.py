"""The set-up files agree with each other: one list of dependencies, two spellings."""

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
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


# -- the wheel (issue 12, item 7) ------------------------------------------------------------
#: what the wheel is built from: the source tree without environments, builds and data
NOT_SOURCE = (".git", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache",
              ".ipynb_checkpoints")
NOT_SOURCE_AT_TOP = {".venv", "build", "dist", "reports", "data", "benchmarks", "docs"}


def _not_source(folder, names):
    top = NOT_SOURCE_AT_TOP if Path(folder) == ROOT else set()
    return set(shutil.ignore_patterns(*NOT_SOURCE)(folder, names)) | (top & set(names))


def _wheel(tmp_path) -> tuple[Path, str]:
    """Build the wheel from a clean copy of the source tree (a stale ``build/`` in the
    checkout would slip old files into it); return it and the build's verbose log."""
    src, wheels = tmp_path / "src", tmp_path / "wheels"
    shutil.copytree(ROOT, src, symlinks=True, ignore=_not_source)
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-v",
                            "-w", str(wheels)], capture_output=True, text=True, timeout=900)
    assert build.returncode == 0, build.stderr[-3000:]
    return next(wheels.glob("surveykit-*.whl")), build.stdout + build.stderr


def _fresh_venv(path: Path, wheel: Path) -> Path:
    """A new virtual environment with ``wheel`` installed: its only surveykit.

    Offline, the dependencies come from this environment: after the install (so pip does
    not take this environment's surveykit for the wheel's), a ``.pth`` line puts its
    site-packages on ``sys.path`` after the new environment's own. Such a line adds the
    folder only (its ``.pth`` files are not run), so an editable surveykit there is not
    importable from the new environment."""
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=300)
    subprocess.run([path / "bin" / "python", "-m", "pip", "install", "--no-deps", "--no-index",
                    "-q", str(wheel)], check=True, timeout=600, env=_clean_env(path / "bin"))
    site = next((path / "lib").glob("python3*/site-packages"))
    (site / "_surveykit_test_deps.pth").write_text(
        "\n".join(p for p in sys.path if p.endswith("site-packages")) + "\n")
    return path / "bin"


def _clean_env(bin_dir: Path) -> dict:
    """The new environment first on PATH, no PYTHONPATH; the dependencies' data files
    (nbconvert's templates) are this environment's, as their code is (``_fresh_venv``)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["JUPYTER_PATH"] = str(Path(sys.prefix) / "share" / "jupyter")
    return env


@pytest.mark.slow
def test_the_wheel_installs_into_a_fresh_venv_and_reports_and_inits_from_anywhere(tmp_path):
    """Build the wheel (no setuptools warning), install it into a fresh virtual environment,
    and from an unrelated folder run ``surveykit report`` on the demo (index and every page)
    and ``surveykit init``: everything they need ships inside the package."""
    wheel, log = _wheel(tmp_path)
    warnings = [line for line in log.splitlines()
                if re.search(r"Setuptools\w*Warning|^\s*!!\s*$|is absent from the", line)]
    assert not warnings, warnings
    bin_dir = _fresh_venv(tmp_path / "venv", wheel)
    work = tmp_path / "work"
    work.mkdir()
    env = _clean_env(bin_dir)
    where = subprocess.run(
        [bin_dir / "python", "-c", "import surveykit, surveykit.reporting.runner as r; "
         "print(surveykit.__file__); print(r.DEFAULT_NOTEBOOK)"],
        cwd=work, env=env, capture_output=True, text=True)
    assert where.returncode == 0, where.stderr[-3000:]
    where = where.stdout.split()
    venv = str((tmp_path / "venv").resolve())
    assert all(p.startswith(venv) for p in where), where   # the wheel's, not the checkout's
    assert Path(where[1]).is_file()

    out = work / "reports"
    run = subprocess.run(
        [bin_dir / "surveykit", "report",
         "--questionnaire", str(ROOT / "questionnaires/pc_customers.yaml"),
         "--data", str(ROOT / "data/demo/responses.csv"),
         "--targets", str(ROOT / "data/demo/targets.yaml"),
         "--crm", str(ROOT / "data/demo/crm.csv"), "--as-of", "2026-11-01",
         "--segment-by", "segment", "--out", str(out)],
        cwd=work, env=env, capture_output=True, text=True, timeout=1800)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip().endswith(str(out / "index.html"))
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["run"]["notebook"].startswith(venv)
    entries = manifest["segments"] + [manifest["run"]["overview"]]
    assert len(entries) == 7 and all(e["status"] == "ok" for e in entries), entries
    pages = [e["html"] for e in entries]
    for page in pages:
        assert "<h2>" in (out / page).read_text(encoding="utf-8")
    assert manifest["run"]["tabbook"]["status"] == "ok" and (out / "tabbook.xlsx").is_file()
    index = (out / "index.html").read_text(encoding="utf-8")
    assert all(f'href="{page}"' in index for page in pages)

    made = subprocess.run([bin_dir / "surveykit", "init", "project"], cwd=work, env=env,
                          capture_output=True, text=True, timeout=600)
    assert made.returncode == 0, made.stderr[-3000:]
    project = work / "project"
    for name in ("Makefile", "README.md", "questionnaires/my_survey.yaml",
                 "data/my_survey/responses.csv", "data/my_survey/targets.yaml",
                 "questionnaires/pc_customers.yaml", "data/demo/responses.csv"):
        assert (project / name).is_file(), name
    for nb in (ROOT / "notebooks").glob("*.ipynb"):
        assert (project / "notebooks" / nb.name).read_bytes() == nb.read_bytes()
    check = subprocess.run([bin_dir / "surveykit", "check", "--strict",
                            "questionnaires/my_survey.yaml", "data/my_survey/responses.csv"],
                           cwd=project, env=env, capture_output=True, text=True, timeout=600)
    assert check.returncode == 0 and "no problems found" in check.stdout, check.stdout
