"""Planning a report run: the notebook templates, their parameters, the segments, the jobs.

:func:`check_parameters` refuses parameter names a notebook's ``parameters`` cell does not
declare; :func:`segment_values` lists the segments to report, in questionnaire order;
``_plan`` prepares the survey once (saved for every page to load, with the results every
page shares) and lays out one job per page, each notebook parameterised here once.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import ReportError
from .names import inside, unique_names, value_text
from .notebook_run import parameterised, skip_slow_schema_formats
from .overview import Overview
from .shared import SharedResults, prepare_shared
from .spec import ReportSpec

__all__ = ["check_parameters", "notebook_parameters", "segment_values", "DEFAULT_NOTEBOOK",
           "DEFAULT_OVERVIEW", "NOTEBOOKS", "RUNNER_PARAMETERS"]

#: the report templates ship inside the package (so an installed surveykit finds them)
NOTEBOOKS = Path(__file__).resolve().parent / "notebooks"
DEFAULT_NOTEBOOK = NOTEBOOKS / "segment_findings.ipynb"
DEFAULT_OVERVIEW = NOTEBOOKS / "overview.ipynb"
#: parameters the runner itself passes to every notebook run
RUNNER_PARAMETERS = ("questionnaire", "data", "targets", "crm", "segment_by", "segment", "out",
                     "min_base", "prepared")


# ------------------------------------------------------------------------------------------
# parameters
# ------------------------------------------------------------------------------------------
def notebook_parameters(notebook) -> dict[str, dict]:
    """The parameters declared in a notebook's ``parameters`` cell (papermill's view).

    Raises
    ------
    ReportError
        When the notebook does not exist or has no cell tagged ``parameters``.
    """
    skip_slow_schema_formats()
    import papermill

    path = Path(notebook)
    if not path.is_file():
        raise ReportError(f"notebook {path} does not exist; pass notebook= the path of a "
                          "findings notebook with a 'parameters' cell")
    try:
        params = papermill.inspect_notebook(str(path))
    except ValueError as exc:  # e.g. no kernelspec in the notebook's metadata
        raise ReportError(f"cannot read the parameters of {path}: {exc}") from None
    if not params:
        raise ReportError(f"notebook {path} has no cell tagged 'parameters' (or it is "
                          "empty); tag the cell that sets the defaults with 'parameters'")
    return params


def check_parameters(notebook, names) -> None:
    """Refuse parameter names that the notebook's ``parameters`` cell does not declare.

    papermill only warns about unknown names (and the run then silently ignores them);
    here they are an error naming the parameter and listing the known ones.

    Examples
    --------
    >>> check_parameters(DEFAULT_NOTEBOOK, ["segment", "colour"])
    Traceback (most recent call last):
    ...
    surveykit.errors.ReportError: unknown notebook parameter 'colour' ...
    """
    known = notebook_parameters(notebook)
    unknown = [n for n in names if n not in known]
    if unknown:
        word = "parameter" if len(unknown) == 1 else "parameters"
        raise ReportError(
            f"unknown notebook {word} {', '.join(map(repr, unknown))} for {notebook}; "
            f"its parameters cell declares: {', '.join(known)}")


# ------------------------------------------------------------------------------------------
# segments
# ------------------------------------------------------------------------------------------
def _python_value(v):
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and math.isfinite(v) and v.is_integer():
        return int(v)
    return v


def segment_values(survey, segment_by: str, segments=None) -> list[tuple[Any, str]]:
    """``(value, label)`` of every segment present in the data, in questionnaire order.

    ``segments`` restricts them; each entry may be a code (``"1"`` matches ``1``) or a
    label (case-insensitive). Unknown entries raise :class:`ReportError` listing the
    available ones.
    """
    df = survey.data
    if segment_by not in df.columns:
        from ..survey import segment_variables

        raise ReportError(f"segment variable {segment_by!r} is not in the prepared data; "
                          f"segment variables declared in the questionnaire: "
                          f"{segment_variables(survey) or 'none'}; other columns: "
                          f"{', '.join(list(df.columns)[:15])} ...")
    labels = survey.questionnaire.labels(segment_by) or {}
    present = [_python_value(v) for v in pd.unique(df[segment_by].dropna())]
    order = {value_text(k): i for i, k in enumerate(labels)}
    present.sort(key=lambda v: (order.get(value_text(v), len(order)), value_text(v)))
    label_of = {value_text(k): str(v) for k, v in labels.items()}
    avail = [(v, label_of.get(value_text(v), value_text(v))) for v in present]
    if not avail:
        raise ReportError(f"segment variable {segment_by!r} has no non-missing values")
    if segments is None:
        return avail
    chosen = []
    for want in segments:
        hit = [a for a in avail if value_text(a[0]) == value_text(want)
               or a[1].casefold() == str(want).casefold()]
        if not hit:
            raise ReportError(
                f"segment {want!r} of {segment_by!r} is not in the data; available: "
                + ", ".join(f"{value_text(v)} ({lab})" for v, lab in avail))
        if hit[0] not in chosen:
            chosen.append(hit[0])
    return chosen


# ------------------------------------------------------------------------------------------


def _plan(questionnaire, data, targets, crm, as_of, segment_by, segments, min_base, out,
          prepared, nb_path, ov_path, kernel_name, timeout, start_timeout, reuse_kernels, extra,
          progress=False):
    """Prepare the survey once and lay out one job per page (the overview first)."""
    from .trend_section import prepare_survey, report_survey

    survey = prepare_survey(questionnaire, data, targets=targets, crm=crm, as_of=as_of,
                            wave=extra.get("wave"))
    chosen = segment_values(survey, segment_by, segments)
    # what each section uses: refused here (before anything runs) when it must be guessed
    # among several questions; every inferred choice is said out loud
    resolved = ReportSpec.resolve(survey.questionnaire, survey.data.columns,
                                  segment_by=segment_by, overrides=extra.get("spec"))
    survey.meta["report_spec"] = {"source": resolved.source, "notes": resolved.notes}
    if progress and resolved.notes:
        print("surveykit report: the questionnaire declares no report: block; inferred:",
              *(f"  - {n}" for n in resolved.notes), sep="\n", file=sys.stderr)
    survey.save(prepared)
    # what every page computes identically, computed once here (see .shared), for a
    # findings notebook that uses SegmentFindings (on the same survey and wave as the
    # pages), and the overview's banner (which the tab book writes too); never a reason
    # for the run to fail: a page then computes what is missing (and says why it failed)
    shared, wave = SharedResults(), extra.get("wave")
    if "SegmentFindings(" in nb_path.read_text(encoding="utf-8"):
        try:
            shared = prepare_shared(survey, segment_by, [v for v, _ in chosen],
                                    min_base=min_base, spec=extra.get("spec"),
                                    alpha=extra.get("alpha", 0.05), wave=wave)
        except Exception:  # noqa: BLE001, S110
            pass
    try:
        Overview(survey, segment_by, min_base=min_base, spec=extra.get("spec"),
                 alpha=extra.get("alpha", 0.05), wave=wave, shared=shared).banner()
    except Exception:  # noqa: BLE001, S110
        pass
    shared.save(prepared)
    survey = report_survey(survey, segment_by, extra.get("wave"))  # the reported wave

    w = survey.weight_array()
    total_w = float(w.sum())
    stems = unique_names(f"{value_text(v)}-{lab}" if value_text(v) != lab else lab
                         for v, lab in chosen)
    abspath = {name: (str(Path(p).resolve()) if p is not None else None)
               for name, p in (("questionnaire", questionnaire), ("data", data),
                               ("targets", targets), ("crm", crm))}
    jobs, entries = [], []
    for (value, label), stem in zip(chosen, stems, strict=True):
        page = inside(out, f"{stem}.html")
        nb_out = inside(out, f"{stem}.ipynb")
        mask = survey.segment_mask(segment_by, value).to_numpy()
        base = int(mask.sum())
        entries.append({
            "value": value, "label": label, "status": "pending", "seconds": None,
            "base": base, "weighted_share": float(w[mask].sum() / total_w) if total_w else None,
            "low_base": base < min_base, "error": None, "html": page.name,
            "notebook": nb_out.name, "headline": {}, "attempts": 0})
        jobs.append({
            "notebook": str(nb_path.resolve()), "output": str(nb_out), "html": str(page),
            "title": f"{label}: findings", "kernel_name": kernel_name,
            "timeout": float(timeout), "start_timeout": float(start_timeout),
            "cwd": str(out), "reuse_kernel": bool(reuse_kernels),
            "parameters": {**abspath, "segment_by": segment_by, "segment": value,
                           "out": str(out), "min_base": int(min_base),
                           "prepared": str(prepared), **extra},
        })

    ov_entry = None
    if ov_path is not None:
        ov_known = notebook_parameters(ov_path)
        page, nb_out = inside(out, "overview.html"), inside(out, "overview.ipynb")
        ov_entry = {"value": None, "label": "Whole-sample overview", "status": "pending",
                    "seconds": None, "error": None, "html": page.name,
                    "notebook": nb_out.name, "headline": {}, "attempts": 0}
        params = {k: v for k, v in jobs[0]["parameters"].items()
                  if k in ov_known and k != "segment"}
        jobs.insert(0, {**jobs[0], "notebook": str(ov_path.resolve()), "output": str(nb_out),
                        "html": str(page), "title": f"{survey.questionnaire.title}: overview",
                        "parameters": params})
        entries.insert(0, ov_entry)
    _parameterise(jobs)
    return survey, prepared, jobs, entries, ov_entry, abspath


def _parameterise(jobs: list[dict]) -> None:
    """Each job's notebook with its parameters injected (papermill), as JSON text in
    ``job["source"]``: done here, once per template, so the workers need no papermill and
    a remote worker needs no copy of the template."""
    import nbformat
    from papermill.iorw import load_notebook_node

    templates: dict[str, Any] = {}
    for job in jobs:
        if job["notebook"] not in templates:
            templates[job["notebook"]] = load_notebook_node(job["notebook"])
        job["source"] = nbformat.writes(parameterised(templates[job["notebook"]],
                                                      job["parameters"], job["kernel_name"]))
