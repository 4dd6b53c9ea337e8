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
