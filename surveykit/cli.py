"""The ``surveykit`` command.

Every subcommand has ``--help``. Errors in the input exit with status 2 and a message that
says what was wrong, where, and what to do; an unexpected crash exits 1 with a traceback.
Ctrl-C exits 130; ``report`` also stops cleanly on SIGTERM and exits 143. No command
writes over one of its own inputs, and ``simulate`` replaces a file that surveykit did not
write only with ``--force``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import __version__
from .errors import SurveykitError

EPILOG = "Docs and examples: README.md. Report problems with the file, line and command used."


def _command(sub, name: str, help: str, description: str, *, example: str):
    """A subcommand whose --help ends with a worked example."""
    return sub.add_parser(name, help=help, description=description,
                          epilog=f"example:\n  {example}",
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="surveykit",
        description="Survey and customer-feedback research: questionnaires, response checks, "
                    "weighting, drivers and per-segment HTML findings.",
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"surveykit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = _command(sub, "schema", "print or write the questionnaire JSON Schema",
                 "Export the JSON Schema of the questionnaire YAML format, for editors' "
                 "completion and validation.",
                 example="surveykit schema --out questionnaire.schema.json")
    p.add_argument("--out", type=Path, help="write the schema to this file (default: stdout)")
    p.set_defaults(func=_cmd_schema)

    p = _command(sub, "questionnaire", "validate a questionnaire; render it for review",
                 "Load and check a questionnaire YAML file. With --html or --markdown, "
                 "write a printable questionnaire (text, options, routing in plain words) "
                 "and its codebook; with --xlsform, an XLSForm to field it on ODK, "
                 "KoboToolbox, SurveyCTO or Ona. With --from-xlsform, read an XLSForm into a "
                 "questionnaire and say what could not be carried over.",
                 example="surveykit questionnaire questionnaires/pc_customers.yaml --html pc.html"
                         "\n  surveykit questionnaire questionnaires/pc_customers.yaml "
                         "--xlsform pc.xlsx\n  surveykit questionnaire --from-xlsform form.xlsx "
                         "--out q.yaml")
    p.add_argument("file", type=Path, nargs="?",
                   help="questionnaire YAML file (not with --from-xlsform)")
    p.add_argument("--html", type=Path, metavar="OUT", help="write a printable HTML document")
    p.add_argument("--markdown", type=Path, metavar="OUT", help="write a Markdown document")
    p.add_argument("--xlsform", type=Path, metavar="OUT",
                   help="write an XLSForm (.xlsx) for ODK, KoboToolbox, SurveyCTO or Ona")
    p.add_argument("--from-xlsform", type=Path, metavar="FORM",
                   help="read this XLSForm (.xlsx) into a questionnaire")
    p.add_argument("--out", type=Path, metavar="YAML",
                   help="with --from-xlsform: write the questionnaire here (default: stdout)")
    p.set_defaults(func=_cmd_questionnaire, usage_error=p.error)

    p = _command(sub, "check", "check response data against a questionnaire",
                 "Read responses (CSV, Parquet, Excel or SPSS .sav), check them against the "
                 "questionnaire and print a summary; the full table of findings goes to --out.",
                 example="surveykit check questionnaires/pc_customers.yaml "
                         "data/demo/responses.csv --out findings.csv")
    p.add_argument("questionnaire", type=Path, help="questionnaire YAML file")
    p.add_argument("data", type=Path, help="responses file (.csv, .parquet, .xlsx, .sav), or "
                   "a folder of .parquet files (read out of core)")
    p.add_argument("--out", type=Path, help="write every finding to this CSV file")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 when any error-severity finding is present")
    p.add_argument("--out-of-core", action="store_true",
                   help="read a .parquet file with DuckDB, block by block, instead of into "
                        "memory (always so for a folder); needs surveykit[scale]")
    p.add_argument("--memory-limit", default="1.5GB",
                   help="DuckDB's memory limit out of core (%(default)s)")
    p.set_defaults(func=_cmd_check)

    p = _command(sub, "simulate", "regenerate a simulated survey from its seed",
                 "Simulate respondents from a questionnaire and a declared ground truth; "
                 "writes responses, targets, truth (and for the PC demo the planted problems "
                 "and CRM extract). Byte-for-byte reproducible from --seed. With --truth the "
                 "ground truth, n and seed come from a truth file.",
                 example="surveykit simulate --n 4000 --seed 20261122 --out data/demo\n"
                         "  surveykit simulate --questionnaire questionnaires/"
                         "employee_engagement.yaml \\\n      --truth data/employee_engagement/"
                         "simulation.yaml --out data/employee_engagement")
    p.add_argument("--questionnaire", type=Path,
                   default=Path("questionnaires/pc_customers.yaml"),
                   help="questionnaire YAML (default %(default)s)")
    p.add_argument("--truth", type=Path, metavar="YAML",
                   help="declared ground truth file (format: surveykit.simulate.truth_file)")
    p.add_argument("--n", type=int, help="respondents (default 4000, or the truth file's n)")
    p.add_argument("--seed", type=int,
                   help="random seed (default 20261122, or the truth file's seed)")
    p.add_argument("--out", type=Path,
                   help="folder (default data/demo, or the truth file's folder)")
    p.add_argument("--force", action="store_true",
                   help="replace files in --out that surveykit did not write")
    p.set_defaults(func=_cmd_simulate)

    p = _command(sub, "report", "per-segment HTML findings and an index page",
                 "Check and weight the data once, run the findings notebook for every "
                 "segment in parallel, export self-contained HTML and write index.html and "
                 "manifest.json.",
                 example="surveykit report --questionnaire questionnaires/pc_customers.yaml \\\n"
                         "    --data data/demo/responses.csv --targets data/demo/targets.yaml \\\n"
                         "    --crm data/demo/crm.csv --as-of 2026-11-01 --segment-by segment \\\n"
                         "    --out reports/demo")
    p.add_argument("--questionnaire", type=Path, required=True)
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--targets", type=Path, help="targets.yaml for raking (optional)")
    p.add_argument("--crm", type=Path, help="CRM extract to join (optional)")
    p.add_argument("--as-of", metavar="YYYY-MM-DD",
                   help="reference date of the CRM lifecycle stages "
                        "(default: the latest purchase in the extract)")
    p.add_argument("--segment-by", required=True, help="segment variable (question or derived id)")
    p.add_argument("--segments", nargs="+", help="only these segment codes (default: all)")
    p.add_argument("--workers", type=int, help="parallel notebooks (default: number of cores)")
    p.add_argument("--timeout", type=int, default=600, help="seconds per notebook (%(default)s)")
    p.add_argument("--min-base", type=int, default=30, help="minimum base for tests (%(default)s)")
    p.add_argument("--out", type=Path, default=Path("reports"), help="output folder (%(default)s)")
    p.add_argument("--notebook", type=Path,
                   help="findings notebook to run (default: the packaged "
                        "surveykit/reporting/notebooks/segment_findings.ipynb)")
    p.add_argument("--no-overview", action="store_true",
                   help="skip the whole-sample overview page "
                        "(surveykit/reporting/notebooks/overview.ipynb)")
    p.add_argument("--spec", type=Path, metavar="SPEC.yaml",
                   help="which question feeds which section: a YAML mapping with the fields "
                        "of the questionnaire's report: block (outcome, loyalty, metrics, "
                        "attributes, drivers, ...), overriding the questionnaire's")
    p.add_argument("--wave", metavar="LABEL",
                   help="latest or a wave label: --data is a waves file (waves.yaml: each "
                        "wave's data and targets); every page describes that wave and its "
                        "change since the previous one")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="set a notebook parameter (repeatable); VALUE is read as YAML "
                        "(1, 0.1, true, [1, 2], text); names must be declared in the "
                        "notebook's parameters cell")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run the pages on a Dask cluster: its scheduler's address "
                        "(tcp://host:8786), or 'local' for a local cluster of --workers "
                        "processes (pip install 'surveykit[dask]')")
    p.set_defaults(func=_cmd_report)

    p = _command(sub, "init", "start a new survey project folder",
                 "Create a survey project in DIR (a new or empty folder): a questionnaire "
                 "skeleton (questionnaires/my_survey.yaml) with simulated responses and a "
                 "targets template (data/my_survey/), the four chapter notebooks with the demo "
                 "survey they read, a README and a Makefile whose 'make report' writes the "
                 "per-segment findings at once and whose 'make test' checks the responses "
                 "against the questionnaire. Edit the questionnaire, put in your data and "
                 "targets, and run the same two commands.",
                 example="surveykit init hotel_survey && cd hotel_survey && make report")
    p.add_argument("dir", type=Path, metavar="DIR", help="project folder to create")
    p.set_defaults(func=_cmd_init)
    return parser


def _cmd_schema(args) -> int:
    from .questionnaire import json_schema

    text = json.dumps(json_schema(), indent=2, ensure_ascii=False)
    if args.out:
        from ._util import atomic_write

        atomic_write(args.out, text + "\n")
        print(f"wrote {args.out}")
    else:
        print(text)
    return 0


def _cmd_questionnaire(args) -> int:
    from ._util import OutputPathError, refuse_input_as_output, same_file
    from .questionnaire import load_questionnaire

    if args.from_xlsform is not None:
        return _questionnaire_from_xlsform(args)
    if args.file is None:
        args.usage_error("the following arguments are required: file (or --from-xlsform FORM)")
    if args.out is not None:
        args.usage_error("--out goes with --from-xlsform; write documents with --html, "
                         "--markdown or --xlsform")
    outputs = [(o, p) for o, p in (("--html", args.html), ("--markdown", args.markdown),
                                   ("--xlsform", args.xlsform)) if p]
    for option, out in outputs:
        refuse_input_as_output(out, {"questionnaire": args.file}, option=option)
    for i, (o1, p1) in enumerate(outputs):
        for o2, p2 in outputs[i + 1:]:
            if same_file(p1, p2) or p1.resolve() == p2.resolve():
                raise OutputPathError(f"{o1} and {o2} both name {p1}; give each its own file")
    q = load_questionnaire(args.file)
    print(f"{args.file}: valid — {q.title!r}, {len(q.questions)} questions, "
          f"{len(q.variables())} columns, {len(q.constructs)} constructs")
    if args.html or args.markdown:
        from .questionnaire.render import write_document

        for fmt, out in (("html", args.html), ("markdown", args.markdown)):
            if out:
                write_document(q, out, format=fmt)
                print(f"wrote {out}")
    if args.xlsform:
        from .questionnaire.xlsform import to_xlsform

        written = to_xlsform(q, args.xlsform)
        print(f"wrote {written.path}")
        for note in written.not_exported:
            print(f"  not exported: {note}")
    return 0


def _questionnaire_from_xlsform(args) -> int:
    from ._util import atomic_write, refuse_input_as_output
    from .questionnaire.xlsform import from_xlsform

    if args.file is not None or args.html or args.markdown or args.xlsform:
        args.usage_error("--from-xlsform reads a form into a questionnaire: give the YAML file "
                         "to write with --out, and no questionnaire file, --html, --markdown "
                         "or --xlsform")
    if args.out is not None:
        refuse_input_as_output(args.out, {"XLSForm": args.from_xlsform})
    form = from_xlsform(args.from_xlsform)
    q = form.questionnaire()  # checked before anything is written
    if args.out is None:
        print(form.yaml(), end="")
        stream = sys.stderr
    else:
        atomic_write(args.out, form.yaml())
        print(f"wrote {args.out}: {q.title!r}, {len(q.questions)} questions, "
              f"{len(q.variables())} columns")
        stream = sys.stdout
    if form.not_carried:
        print(f"not carried over from {args.from_xlsform} ({len(form.not_carried)}):",
              file=stream)
        for note in form.not_carried:
            print(f"  - {note}", file=stream)
    else:
        print(f"everything in {args.from_xlsform} was carried over", file=stream)
    return 0


def _cmd_check(args) -> int:
    from .questionnaire import load_questionnaire
    from .responses import check_responses, read_responses

    if args.out:
        from ._util import refuse_input_as_output

        refuse_input_as_output(args.out, {"questionnaire": args.questionnaire,
                                          "responses file": args.data})
    q = load_questionnaire(args.questionnaire)
    if args.out_of_core or args.data.is_dir():
        from .survey import Survey

        # every finding kept for --out; the summary counts all of them either way
        result = Survey.from_parquet(q, args.data, memory_limit=args.memory_limit).check(
            examples=None if args.out else 1000)
    else:
        result = check_responses(q, read_responses(args.data, q))
    print(result.summary())
    if args.out:
        from ._util import atomic_write, to_safe_csv

        # values are copied from the data: text a spreadsheet would run gets a leading '
        atomic_write(args.out, to_safe_csv(result.table).encode("utf-8"))
        print(f"wrote {len(result.table)} findings to {args.out}")
    return 1 if args.strict and result.n_errors else 0


def _cmd_simulate(args) -> int:
    from .questionnaire import load_questionnaire
    from .simulate import write_demo, write_from_truth

    q = load_questionnaire(args.questionnaire)
    if args.truth is not None:
        out = args.out or args.truth.parent

        def produce(folder):
            return write_from_truth(q, args.truth, folder, n=args.n, seed=args.seed)
    else:
        out = args.out or Path("data/demo")

        def produce(folder):
            return write_demo(q, folder, n=4000 if args.n is None else args.n,
                              seed=20261122 if args.seed is None else args.seed)
    # written into a private folder first; files surveykit did not write need --force
    from ._util import write_files_into

    inputs = {"questionnaire": args.questionnaire, "truth file": getattr(args, "truth", None)}
    written = write_files_into(out, produce, force=args.force, inputs=inputs)
    for path in written:
        print(f"wrote {path}")
    return 0


def parse_params(pairs: list[str]) -> dict:
    """``["alpha=0.1", "title=Q3 wave"]`` -> ``{"alpha": 0.1, "title": "Q3 wave"}``; values
    are read as YAML scalars or lists.

    Examples
    --------
    >>> parse_params(["min_share=0.1", "codes=[1, 2]", "note=yes"])
    {'min_share': 0.1, 'codes': [1, 2], 'note': 'yes'}
    """
    from ruamel.yaml import YAML, YAMLError

    from .errors import ReportError

    out = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise ReportError(f"--param {pair!r}: write NAME=VALUE, NAME a parameter of the "
                              "notebook (e.g. --param min_share=0.1)")
        try:
            out[name] = YAML(typ="safe", pure=True).load(raw) if raw.strip() else None
        except YAMLError:
            out[name] = raw
    return out


def _cmd_report(args) -> int:
    import atexit
    import gc

    from ._threads import usable_cores
    from .reporting.worker import drop_prestarted_pool, prestart_pool

    # at exit the interpreter's last garbage collections walk every object the run loaded
    # (0.4-0.8 s of a report's end to end): everything is written and closed by then
    atexit.register(gc.freeze)
    # the workers warm their kernels up while this process loads the analysis modules,
    # checks the inputs and prepares the data (run_report takes the pool over)
    n = args.workers or usable_cores()
    if args.segments:
        n = min(n, len(args.segments) + (not args.no_overview))
    if n > 1 and args.scheduler is None:
        prestart_pool(n)
    try:
        from .reporting import run_report

        result = run_report(
            questionnaire=args.questionnaire, data=args.data, targets=args.targets,
            crm=args.crm, as_of=args.as_of,
            segment_by=args.segment_by, segments=args.segments, workers=args.workers,
            timeout=args.timeout, min_base=args.min_base, out=args.out, notebook=args.notebook,
            overview=not args.no_overview, spec=args.spec, parameters=parse_params(args.param),
            wave=args.wave,
            scheduler=args.scheduler,
        )
    finally:
        drop_prestarted_pool()  # not taken: the run was refused before it started
    if not result.ok:
        for seg in result.failed:
            print(f"surveykit report: segment {seg['label']!r} {seg['status']}: {seg['error']}",
                  file=sys.stderr)
    print(result.index_path)
    return 0 if result.ok else 1


def _cmd_init(args) -> int:
    from .project import init_project

    files = init_project(args.dir)
    print(f"created {args.dir} ({len(files)} files): questionnaires/, data/, notebooks/, "
          "Makefile, README.md")
    print(f"next: cd {args.dir} && make report   (then edit questionnaires/my_survey.yaml; "
          "see README.md)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt as exc:  # Ctrl-C; `report` turns SIGTERM into one too
        import signal

        signum = getattr(exc, "signum", signal.SIGINT)
        result = getattr(exc, "result", None)
        print(f"surveykit {args.command}: interrupted ({signal.Signals(signum).name})"
              + (f"; the partial report: {result.index_path}" if result is not None else ""),
              file=sys.stderr)
        return 128 + signum
    except SurveykitError as exc:
        print(f"surveykit {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"surveykit {args.command}: error: file not found: {exc.filename}", file=sys.stderr)
        return 2
    except (IsADirectoryError, PermissionError) as exc:
        print(f"surveykit {args.command}: error: cannot write {exc.filename}: {exc.strerror}",
              file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
