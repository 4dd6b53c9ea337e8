"""The ``surveykit`` command: help of every subcommand, ``schema``, ``questionnaire``, and clear
failures (exit status 2, a message naming file, line and problem, no traceback) on bad input."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from surveykit import __version__
from surveykit.cli import build_parser, main
from surveykit.questionnaire import json_schema

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures" / "questionnaires"
VALID = FIX / "valid_all_types.yaml"
BROKEN = FIX / "many_errors.yaml"


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def run(capsys, *argv) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse: --help, --version, usage errors
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


# -- help -------------------------------------------------------------------------------------
def test_top_level_help_lists_every_subcommand(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0 and out.startswith("usage: surveykit")
    for name in subcommands():
        assert name in out
    assert {"schema", "questionnaire", "check", "simulate", "report"} <= set(subcommands())


@pytest.mark.parametrize("name", sorted(subcommands()))
def test_every_subcommand_has_help(capsys, name):
    code, out, err = run(capsys, name, "--help")
    assert code == 0 and err == ""
    assert out.startswith(f"usage: surveykit {name}")
    description = subcommands()[name].description
    assert description and description.split()[0] in out
    assert f"example:\n  surveykit {name} " in out      # every --help ends with a worked example


def test_version(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"surveykit {__version__}"


@pytest.mark.parametrize("argv, fragment", [
    ((), "the following arguments are required: COMMAND"),
    (("frobnicate",), "invalid choice: 'frobnicate'"),
    (("questionnaire",), "the following arguments are required: file"),
    (("questionnaire", str(VALID), "--pdf", "x"), "unrecognized arguments: --pdf"),
    (("simulate", "--n", "many"), "argument --n: invalid int value: 'many'"),
])
def test_usage_errors_exit_2_with_a_message(capsys, argv, fragment):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert fragment in err and "usage: surveykit" in err


# -- schema -----------------------------------------------------------------------------------
def test_schema_prints_the_json_schema(capsys):
    code, out, err = run(capsys, "schema")
    assert code == 0 and err == ""
    assert json.loads(out) == json_schema()


def test_schema_writes_a_file(capsys, tmp_path):
    target = tmp_path / "sub" / "questionnaire.schema.json"
    code, out, _ = run(capsys, "schema", "--out", str(target))
    assert code == 0 and out.strip() == f"wrote {target}"
    schema = json.loads(target.read_text(encoding="utf-8"))
    assert schema["title"] == "surveykit questionnaire"
    assert set(schema["properties"]) >= {"id", "title", "version", "language", "scales",
                                         "questions", "derived", "constructs", "roles"}


# -- questionnaire -----------------------------------------------------------------------------
def test_questionnaire_validates_a_file(capsys):
    code, out, err = run(capsys, "questionnaire", str(VALID))
    assert code == 0 and err == ""
    assert out.strip() == (f"{VALID}: valid — 'All question types', 10 questions, 23 columns, "
                           "2 constructs")


def test_questionnaire_writes_html_and_markdown(capsys, tmp_path):
    html, md = tmp_path / "review" / "q.html", tmp_path / "review" / "q.md"
    code, out, _ = run(capsys, "questionnaire", str(VALID), "--html", str(html),
                       "--markdown", str(md))
    assert code == 0
    assert f"wrote {html}" in out and f"wrote {md}" in out
    page = html.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "Asked if:" in page
    assert '<table class="codebook">' in page
    text = md.read_text(encoding="utf-8")
    assert text.startswith("# All question types") and "## Codebook" in text


def test_questionnaire_reports_every_problem_and_exits_2(capsys):
    code, out, err = run(capsys, "questionnaire", str(BROKEN))
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert lines[0] == "surveykit questionnaire: error: 10 problems found:"
    assert len(lines) == 11
    assert f"  - {BROKEN}:line 18: questions[1].scale: unknown scale 'agree5'; declared " \
           "scales: sat5" in lines
    assert "Traceback" not in err


@pytest.mark.parametrize("args, fragment", [
    (("questionnaire", "no/such/file.yaml"), "questionnaire file not found: no/such/file.yaml"),
    (("questionnaire", str(FIX / "syntax_error.yaml")), "line 8: YAML syntax error"),
    (("questionnaire", str(FIX / "duplicate_key.yaml")), 'line 7: duplicate key: found '
                                                         'duplicate key "text"'),
    (("questionnaire", str(FIX)), "is a folder"),
])
def test_bad_input_exits_2_with_a_clear_message(capsys, args, fragment):
    code, out, err = run(capsys, *args)
    assert code == 2
    assert err.startswith(f"surveykit {args[0]}: error: ") and fragment in err


def test_schema_output_to_a_folder_is_refused(capsys, tmp_path):
    code, _, err = run(capsys, "schema", "--out", str(tmp_path))
    assert code == 2 and "folder" in err
    assert list(tmp_path.iterdir()) == []


def test_questionnaire_output_to_a_folder_is_refused(capsys, tmp_path):
    code, _, err = run(capsys, "questionnaire", str(VALID), "--html", str(tmp_path))
    assert code == 2
    assert "is a folder; give a file name such as" in err


@pytest.mark.parametrize("argv", [
    ("check", "no/such/q.yaml", "no/such/data.csv"),
    ("simulate", "--questionnaire", "no/such/q.yaml", "--n", "10"),
])
def test_other_commands_refuse_a_missing_questionnaire(capsys, tmp_path, argv):
    code, out, err = run(capsys, *argv, *(("--out", str(tmp_path / "o")) if argv[0] ==
                                          "simulate" else ()))
    assert code == 2
    assert "questionnaire file not found: no/such/q.yaml" in err
    assert not (tmp_path / "o").exists()


def test_the_installed_command_exits_2_without_a_traceback():
    proc = subprocess.run([sys.executable, "-m", "surveykit.cli", "questionnaire", str(BROKEN)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 2
    assert proc.stderr.startswith("surveykit questionnaire: error: 10 problems found:")
    assert "Traceback" not in proc.stderr
