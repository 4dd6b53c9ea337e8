"""A new survey project folder (``surveykit init DIR``): a working layout to start from.

The folder holds a questionnaire skeleton and simulated answers to it, so that ``make report``
works at once; the four chapter notebooks with the demo survey they read; a Makefile with
``report`` and ``test``; and a README saying what to change first. The skeleton files ship
inside the package (``surveykit/project_template/``), so an installed surveykit can ``init``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ._util import folder_beside, swap_in
from .errors import OutputPathError

__all__ = ["init_project", "TEMPLATE", "SKELETON"]

#: the project skeleton (package data; the notebooks and the demo questionnaire in it are
#: links to ``notebooks/`` and ``questionnaires/pc_customers.yaml``, copied into the wheel)
TEMPLATE = Path(__file__).resolve().parent / "project_template"
#: the skeleton survey's questionnaire and simulation truth, relative to the project folder
SKELETON = ("questionnaires/my_survey.yaml", "data/my_survey/simulation.yaml")
DEMO = "questionnaires/pc_customers.yaml"


def init_project(folder) -> list[Path]:
    """Create a new survey project in ``folder`` (new, or an empty folder).

    Writes ``README.md``, ``Makefile`` (``make report``, ``make test``, ``make data``),
    ``questionnaires/my_survey.yaml`` (a skeleton: customer type, region, a six-item
    satisfaction grid, overall satisfaction, NPS, an open question and a ``report:``
    block), ``data/my_survey/`` (``simulation.yaml``, the declared truth, and what it
    simulates: ``responses.csv``, the targets template ``targets.yaml``, ``truth.json``,
    ``truth_respondents.csv``), and the chapter notebooks in ``notebooks/`` with the demo
    survey they read (``questionnaires/pc_customers.yaml``, ``data/demo/``). The folder is
    built beside ``folder`` and renamed into place, so a failure leaves nothing behind.

    Parameters
    ----------
    folder : path
        The project folder; must not exist, or be an empty folder.

    Returns
    -------
    list of Path
        Every file written, relative to ``folder``.

    Raises
    ------
    OutputPathError
        ``folder`` is a file, or a folder that is not empty.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     files = init_project(Path(tmp) / "hotel")
    ...     again = None
    ...     try:
    ...         init_project(Path(tmp) / "hotel")
    ...     except OutputPathError as exc:
    ...         again = str(exc)
    >>> [str(p) for p in files if p.parts[0] not in ("data", "notebooks")]
    ['Makefile', 'README.md', 'questionnaires/my_survey.yaml', 'questionnaires/pc_customers.yaml']
    >>> "is not empty" in again
    True
    """
    from .questionnaire import load_questionnaire
    from .simulate import write_demo, write_from_truth

    folder = Path(folder)
    if folder.exists() or folder.is_symlink():
        if not folder.is_dir():
            raise OutputPathError(f"{folder} is a file; give a new folder name")
        if any(folder.iterdir()):
            raise OutputPathError(f"{folder} is not empty; give a new folder "
                                  "name (or an empty folder), so no file of yours is replaced")
    folder.parent.mkdir(parents=True, exist_ok=True)
    new = folder_beside(folder)
    try:
        for src in sorted(TEMPLATE.rglob("*")):
            if src.is_file():  # links in the source tree are copied as the files they name
                dest = new / src.relative_to(TEMPLATE)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dest)
        questionnaire, truth = (new / p for p in SKELETON)
        write_from_truth(load_questionnaire(questionnaire), truth, truth.parent)
        write_demo(load_questionnaire(new / DEMO), new / "data" / "demo")
        written = sorted(p.relative_to(new) for p in new.rglob("*") if p.is_file())
        swap_in(new, folder)
    except BaseException:
        shutil.rmtree(new, ignore_errors=True)
        raise
    return written
