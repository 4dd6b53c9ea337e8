"""Output paths: no command writes over its own inputs or over files surveykit did not
write; report runs replace their folder as a whole, under a lock, and refuse an unusable
``--out`` before any notebook runs. Inputs are copies in a temporary folder and are
compared byte for byte afterwards."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest

from surveykit import cli
from surveykit._util import WRITTEN_RECORD, OutputPathError, folder_lock, write_files_into
from surveykit.errors import ReportError
from surveykit.reporting.runner import run_report

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures" / "reporting"


@pytest.fixture
def inputs(tmp_path) -> dict[str, Path]:
    """Copies of the small fixture survey: questionnaire and responses."""
    q = shutil.copy(FIX / "questionnaire.yaml", tmp_path / "q.yaml")
    data = shutil.copy(FIX / "responses.csv", tmp_path / "data.csv")
    return {"q": Path(q), "data": Path(data)}


def _bytes(*paths: Path) -> list[bytes]:
    return [p.read_bytes() for p in paths]


def _refused(capsys, argv: list[str]) -> str:
    """Run the command; it must exit 2 with one error line, no traceback. The message."""
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    return err


def _notebook(path: Path) -> Path:
    """A minimal findings notebook (prints its segment): fast, the runner's parameters."""
    params = nbformat.v4.new_code_cell(
        "".join(f"{n} = None\n" for n in ("questionnaire", "data", "targets", "crm",
                                          "prepared", "spec", "segment"))
        + "segment_by = 'segment'\nout = '.'\nmin_base = 30")
    params.metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=[params, nbformat.v4.new_code_cell("print(segment)")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)
    return path


# ------------------------------------------------------------------------------------------
# check and questionnaire: the output is one of the inputs
# ------------------------------------------------------------------------------------------
def test_check_refuses_to_write_its_findings_over_an_input(inputs, capsys):
    before = _bytes(inputs["q"], inputs["data"])
    err = _refused(capsys, ["check", str(inputs["q"]), str(inputs["data"]),
                            "--out", str(inputs["data"])])
    assert err == (f"surveykit check: error: --out {inputs['data']} is the responses file "
                   "this command reads; writing there would overwrite it: give another file "
                   "name\n")
    err = _refused(capsys, ["check", str(inputs["q"]), str(inputs["data"]),
                            "--out", str(inputs["q"])])
    assert f"--out {inputs['q']} is the questionnaire this command reads" in err
    assert _bytes(inputs["q"], inputs["data"]) == before


def test_check_refuses_the_input_under_another_name(inputs, capsys, tmp_path):
    link = tmp_path / "link.csv"
    link.symlink_to(inputs["data"])
    before = _bytes(inputs["data"])
    err = _refused(capsys, ["check", str(inputs["q"]), str(inputs["data"]), "--out", str(link)])
    assert "is the responses file this command reads" in err
    assert _bytes(inputs["data"]) == before and link.is_symlink()


def test_questionnaire_refuses_to_render_over_itself(inputs, capsys, tmp_path):
    before = _bytes(inputs["q"])
    for option in ("--html", "--markdown"):
        err = _refused(capsys, ["questionnaire", str(inputs["q"]), option, str(inputs["q"])])
        assert err == (f"surveykit questionnaire: error: {option} {inputs['q']} is the "
                       "questionnaire this command reads; writing there would overwrite it: "
                       "give another file name\n")
    same = tmp_path / "doc.txt"
    err = _refused(capsys, ["questionnaire", str(inputs["q"]), "--html", str(same),
                            "--markdown", str(same)])
    assert f"--html and --markdown both name {same}" in err and not same.exists()
    assert _bytes(inputs["q"]) == before


# ------------------------------------------------------------------------------------------
# simulate: only files surveykit wrote are replaced without --force
# ------------------------------------------------------------------------------------------
def _simulate(out: Path, *extra: str) -> list[str]:
    return ["simulate", "--questionnaire", str(ROOT / "questionnaires" /
                                               "smart_lock_customers.yaml"),
            "--n", "150", "--seed", "7", "--out", str(out), *extra]


def test_simulate_refuses_to_replace_files_it_did_not_write(tmp_path, capsys):
    out = tmp_path / "survey"
    out.mkdir()
    (out / "responses.csv").write_bytes(b"id,answer\n1,my own fieldwork\n")
    (out / "notes.txt").write_bytes(b"kept")
    before = _bytes(out / "responses.csv")
    err = _refused(capsys, _simulate(out))
    assert err == (f"surveykit simulate: error: --out {out} holds responses.csv, which "
                   "surveykit did not write; pass --force to replace them, or choose another "
                   "folder\n")
    assert _bytes(out / "responses.csv") == before
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "responses.csv"]
    # --force replaces it; files surveykit wrote are then replaced freely
    assert cli.main(_simulate(out, "--force")) == 0
    first = (out / "responses.csv").read_bytes()
    assert first != before[0] and (out / "notes.txt").read_bytes() == b"kept"
    assert cli.main(_simulate(out)[:-2] + ["--seed", "8", "--out", str(out)]) == 0
    assert (out / "responses.csv").read_bytes() != first
    record = json.loads((out / WRITTEN_RECORD).read_text(encoding="utf-8"))["files"]
    assert "responses.csv" in record and "notes.txt" not in record
    # ... until someone edits one of them
    (out / "truth.json").write_text("{}", encoding="utf-8")
    capsys.readouterr()
    err = _refused(capsys, _simulate(out))
    assert "holds truth.json, which surveykit did not write" in err
    assert (out / "truth.json").read_text(encoding="utf-8") == "{}"


def test_simulate_never_replaces_its_own_questionnaire(tmp_path, capsys):
    out = tmp_path / "survey"
    out.mkdir()
    q = out / "targets.yaml"  # a questionnaire saved under a name simulate writes
    shutil.copy(ROOT / "questionnaires" / "smart_lock_customers.yaml", q)
    before = _bytes(q)
    argv = _simulate(out, "--force")
    argv[argv.index("--questionnaire") + 1] = str(q)
    err = _refused(capsys, argv)
    assert err == (f"surveykit simulate: error: --out {out}: writing targets.yaml would "
                   f"overwrite the questionnaire {q}, which this command reads; choose another "
                   "folder\n")
    assert _bytes(q) == before and sorted(p.name for p in out.iterdir()) == ["targets.yaml"]


def test_simulate_out_that_is_a_file_is_refused(tmp_path, capsys):
    out = tmp_path / "data.csv"
    out.write_bytes(b"x")
    err = _refused(capsys, _simulate(out))
    assert err == f"surveykit simulate: error: --out {out} is a file; give a folder\n"
    assert out.read_bytes() == b"x"


def test_write_files_into_writes_nothing_when_refused(tmp_path):
    (tmp_path / "b.txt").write_text("theirs", encoding="utf-8")

    def produce(folder):
        return [Path(shutil.copy(__file__, folder / n)) for n in ("a.txt", "b.txt")]

    with pytest.raises(OutputPathError, match="holds b.txt, which surveykit did not write"):
        write_files_into(tmp_path, produce)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.txt"]   # no a.txt, no temp


# ------------------------------------------------------------------------------------------
# report: --out checked before anything runs
# ------------------------------------------------------------------------------------------
def _report(inputs: dict, out: Path, *extra: str) -> list[str]:
    return ["report", "--questionnaire", str(inputs["q"]), "--data", str(inputs["data"]),
            "--segment-by", "segment", "--segments", "tiny", "--workers", "1",
            "--no-overview", "--out", str(out), *extra]


def test_report_refuses_a_notebook_inside_its_output_folder(inputs, tmp_path, capsys):
    out = tmp_path / "reports"
    out.mkdir()
    nb = _notebook(out / "x.ipynb")
    before = _bytes(nb, inputs["q"], inputs["data"])
    err = _refused(capsys, _report(inputs, out, "--notebook", str(nb)))
    assert err == (f"surveykit report: error: the notebook {nb} is inside the output folder "
                   f"{out}, which a run replaces as a whole; move the notebook out of it or "
                   "choose another output folder\n")
    assert _bytes(nb, inputs["q"], inputs["data"]) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv", "q.yaml", "reports"]
    assert [p.name for p in out.iterdir()] == ["x.ipynb"]


def test_report_refuses_data_inside_its_output_folder(inputs, tmp_path, capsys):
    err = _refused(capsys, _report(inputs, tmp_path))
    assert f"the questionnaire {inputs['q']} is inside the output folder {tmp_path}" in err


def test_report_refuses_an_out_that_is_a_file_or_cannot_be_made(inputs, tmp_path, capsys):
    before = _bytes(inputs["data"])
    err = _refused(capsys, _report(inputs, inputs["data"]))
    assert err.startswith(f"surveykit report: error: the output folder {inputs['data']} is "
                          "a file; give a folder")
    err = _refused(capsys, _report(inputs, inputs["data"] / "reports"))
    assert err == (f"surveykit report: error: cannot make the output folder "
                   f"{inputs['data'] / 'reports'}: {inputs['data']} is a file\n")
    assert _bytes(inputs["data"]) == before


def test_report_refuses_a_folder_holding_files_no_report_wrote(inputs, tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.docx").write_bytes(b"years of work")
    err = _refused(capsys, _report(inputs, out))
    assert err == (f"surveykit report: error: the output folder {out} holds thesis.docx, "
                   "which no earlier report wrote; a run replaces the whole folder: move them "
                   "or choose another output folder\n")
    assert (out / "thesis.docx").read_bytes() == b"years of work"
    assert [p.name for p in out.iterdir()] == ["thesis.docx"]


def test_report_refuses_a_second_run_into_the_same_folder(inputs, tmp_path, capsys):
    out = tmp_path / "reports"
    with folder_lock(out, error=ReportError) as lock:     # the first run, still going
        err = _refused(capsys, _report(inputs, out))
        assert err.startswith("surveykit report: error: another surveykit run (pid ")
        assert f"is writing output folder {out}; wait for it to finish or choose another " \
               f"folder (lock file {lock})" in err
        assert not out.exists()
    assert not lock.exists()


@pytest.mark.slow
def test_a_run_replaces_the_earlier_report_as_a_whole(inputs, tmp_path):
    nb = _notebook(tmp_path / "nb.ipynb")
    out = tmp_path / "reports"
    common = dict(segment_by="segment", workers=1, overview=False, notebook=nb,
                  progress=False, out=out)
    first = run_report(inputs["q"], inputs["data"], segments=["tiny", "a/b c"], **common)
    assert first.ok and (out / "a-b-c.html").is_file()
    (out / ".ipynb_checkpoints").mkdir()                 # Jupyter's, when a page was opened
    second = run_report(inputs["q"], inputs["data"], segments=["tiny"], **common)
    assert second.ok and second.index_path == out / "index.html"
    # no page of the earlier run survives; nothing is left beside the folder
    assert sorted(p.name for p in out.iterdir()) == [
        "index.html", "manifest.json", "tabbook.xlsx", "tiny-Tiny.html", "tiny-Tiny.ipynb"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv", "nb.ipynb", "q.yaml",
                                                          "reports"]
    assert out.stat().st_mode & 0o777 != 0o700
