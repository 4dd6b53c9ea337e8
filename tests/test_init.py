"""``surveykit init DIR`` (issue 12, item 8): a new project folder that works at once."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from surveykit.cli import main
from surveykit.errors import OutputPathError
from surveykit.project import init_project
from surveykit.questionnaire import load_questionnaire
from surveykit.responses import check_responses, read_responses
from surveykit.weighting import load_targets

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("init") / "hotel survey"  # a space in the path too
    init_project(folder)
    return folder


def test_the_project_holds_the_skeleton_the_notebooks_and_the_demo(project):
    files = {str(p.relative_to(project)) for p in project.rglob("*") if p.is_file()}
    assert {"README.md", "Makefile", "questionnaires/my_survey.yaml",
            "data/my_survey/simulation.yaml", "data/my_survey/responses.csv",
            "data/my_survey/targets.yaml", "questionnaires/pc_customers.yaml",
            "data/demo/responses.csv", "data/demo/targets.yaml", "data/demo/crm.csv"} <= files
    chapters = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert len(chapters) == 4
    for name in chapters:  # copies of the chapters, not links back into the package
        copy = project / "notebooks" / name
        assert not copy.is_symlink()
        assert copy.read_bytes() == (ROOT / "notebooks" / name).read_bytes()
    # the demo the chapters read is the bundled one, byte for byte
    for name in ("responses.csv", "targets.yaml", "crm.csv"):
        assert (project / "data/demo" / name).read_bytes() == \
            (ROOT / "data/demo" / name).read_bytes()
    assert not list(project.parent.glob(".*surveykit-new*"))  # built beside, renamed in


def test_the_skeleton_validates_and_its_simulated_responses_pass_the_check(project):
    q = load_questionnaire(project / "questionnaires/my_survey.yaml")
    kinds = {v.kind for v in q.variables().values()}
    assert {"nps", "rating", "grid_item", "single"} <= kinds
    assert q.roles.segments == ["cust_type"] and q.model.report.outcome == "overall_sat"
    df = read_responses(project / "data/my_survey/responses.csv", q)
    result = check_responses(q, df)
    assert result.ok and result.table.empty, result.table
    targets = load_targets(project / "data/my_survey/targets.yaml")
    assert targets.variables == ["cust_type", "region"]
    # the simulation's segments are skewed against the targets: weighting has work to do
    share = df["cust_type"].value_counts(normalize=True).sort_index()
    assert share[1.0] < 0.55 and share[3.0] > 0.12


def test_a_folder_that_is_not_empty_is_refused_and_left_alone(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    with pytest.raises(OutputPathError, match="is not empty; give a new folder name"):
        init_project(folder)
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
    file = tmp_path / "a_file"
    file.write_text("x")
    with pytest.raises(OutputPathError, match="is a file"):
        init_project(file)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "mine"]  # no debris


def test_an_empty_folder_is_used(tmp_path):
    (tmp_path / "empty").mkdir()
    init_project(tmp_path / "empty")
    assert (tmp_path / "empty" / "Makefile").is_file()


def test_the_command_says_what_to_do_next_and_refuses_with_exit_2(tmp_path, capsys):
    assert main(["init", str(tmp_path / "p")]) == 0
    out = capsys.readouterr().out
    assert "make report" in out and str(tmp_path / "p") in out
    assert main(["init", str(tmp_path / "p")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("surveykit init: error: ") and "is not empty" in err


def test_the_makefile_uses_surveykit_from_path_unless_told(project):
    text = (project / "Makefile").read_text()
    assert "SURVEYKIT     ?= surveykit" in text and ".venv" not in text
    assert "\nreport:" in text and "\ntest:" in text


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_test_and_make_report_work_in_the_new_project(project):
    """``make`` with nothing but ``surveykit`` on PATH (this environment's), no .venv."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": str(ROOT)}
    for var in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS"):   # under `make test`: a fresh make,
        env.pop(var, None)                              # not a sub-make ("Entering directory")
    run = subprocess.run(["make", "test", "report"], cwd=project, env=env,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    assert "no problems found" in run.stdout
    reports = project / "reports"
    assert run.stdout.strip().endswith(str(reports / "index.html"))
    pages = sorted(p.name for p in reports.glob("*.html"))
    assert pages == ["1-Private-customer.html", "2-Small-business.html",
                     "3-Large-business.html", "index.html", "overview.html"]
    assert (reports / "tabbook.xlsx").is_file()
    index = (reports / "index.html").read_text(encoding="utf-8")
    assert "Customer satisfaction survey" in index or "Customer type" in index
