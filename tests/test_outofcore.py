"""Out of core on DuckDB (surveykit.outofcore): every result equals the in-memory one.

The demo survey is written to Parquet (one file, and a folder of several files) and each
statistic is computed both ways: ``check`` (the same findings), ``rake`` (the same weights),
``estimate(by=)`` (estimates, SEs, CIs, bases) and a banner (cells, bases, tests), with
missing values and a text weighting variable.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("duckdb")

from surveykit.errors import ResponseDataError, WeightingError  # noqa: E402
from surveykit.estimates import estimate  # noqa: E402
from surveykit.outofcore import MissingDependencyError, ParquetSurvey  # noqa: E402
from surveykit.responses import check_responses, clean, read_responses  # noqa: E402
from surveykit.survey import Survey  # noqa: E402
from surveykit.tables import banner  # noqa: E402
from surveykit.weighting import load_targets, rake  # noqa: E402

TOL = 1e-10
CITY = {1: "tier 1", 2: "new tier 1", 3: "tier 2", 4: "tier 3", 5: "tier 4"}


def _write(df: pd.DataFrame, folder, parts: int):
    """``df`` as one Parquet file (parts=1) or as a folder of ``parts`` files."""
    folder.mkdir()
    if parts == 1:
        df.to_parquet(folder / "responses.parquet", index=False)
        return folder / "responses.parquet"
    for i, chunk in enumerate(np.array_split(np.arange(len(df)), parts)):
        df.iloc[chunk].to_parquet(folder / f"part-{i:02d}.parquet", index=False)
    return folder


@pytest.fixture(scope="module")
def clean_df(pc_questionnaire, demo_dir):
    """The cleaned demo responses with a text weighting variable ``city`` (with missing
    values, as ``gender`` has) beside the numeric codes."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df, _ = clean(pc_questionnaire, read_responses(demo_dir / "responses.csv",
                                                       pc_questionnaire))
    df = df.reset_index(drop=True)
    city = df["region"].map(CITY).astype(object)
    city[df.index % 97 == 5] = None
    df["city"] = city.astype("str")
    df.attrs.clear()
    return df


@pytest.fixture(scope="module")
def targets(demo_dir):
    """The demo targets with the city tier given by name (``city``) instead of code."""
    from surveykit.weighting import Margin, Targets

    t = load_targets(demo_dir / "targets.yaml")
    city = Margin(("city",), {(name,): share for name, share in
                              zip(CITY.values(), [19.8, 21.0, 23.6, 19.4, 16.2], strict=True)})
    margins = tuple(city if m.variables == ("region",) else m for m in t.margins)
    return Targets(margins, unit=t.unit, total=t.total)


@pytest.fixture(scope="module", params=[1, 3], ids=["file", "folder"])
def parquet(request, clean_df, tmp_path_factory):
    return _write(clean_df, tmp_path_factory.mktemp("ooc") / "data", request.param)


@pytest.fixture(scope="module")
def in_memory(clean_df, targets):
    report = rake(clean_df, targets, missing="exclude")
    df = clean_df.copy()
    df["weight"] = report.weights
    return report, df


@pytest.fixture(scope="module")
def out_of_core(pc_questionnaire, parquet, targets):
    return Survey.from_parquet(pc_questionnaire, parquet, targets=targets)


def _close(a, b, what):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape, what
    assert np.array_equal(np.isnan(a), np.isnan(b)), what
    ok = ~np.isnan(a)
    assert np.allclose(a[ok], b[ok], rtol=TOL, atol=TOL), \
        f"{what}: largest difference {np.max(np.abs(a[ok] - b[ok]))}"


# -- rake ---------------------------------------------------------------------------------------
def test_rake_gives_every_respondent_the_in_memory_weight(out_of_core, in_memory):
    report, df = in_memory
    assert isinstance(out_of_core, ParquetSurvey) and out_of_core.weights == "weight"
    got = out_of_core.source.frame(f"SELECT resp_id, weight FROM {out_of_core._relation}")
    got = got.set_index("resp_id")["weight"].reindex(df["resp_id"])
    _close(got.to_numpy(), df["weight"].to_numpy(), "weights")
    assert (df["weight"] == 0).sum() > 0          # the excluded (missing) rows: weight 0
    ooc = out_of_core.weighting
    for attr in ("efficiency", "n_eff", "total", "min", "max", "max_error"):
        _close(getattr(ooc, attr), getattr(report, attr), attr)
    assert ooc.n == report.n and ooc.converged
    _close(ooc.to_frame()["achieved_pct"], report.to_frame()["achieved_pct"], "margins")


def test_rake_cells_counts_equal_rows():
    rows = pd.DataFrame({"g": [1, 1, 1, 2, 2], "h": ["a", "b", "a", None, "b"]})
    cells = rows.groupby(["g", "h"], dropna=False).size().rename("n").reset_index()
    t = {"g": {1: 50, 2: 50}, "h": {"a": 40, "b": 60}}
    by_row = rake(rows, t, missing="own_category").weights
    by_cell = rake(cells, t, missing="own_category", counts="n").weights
    looked_up = rows.merge(cells.assign(w=by_cell.to_numpy()), on=["g", "h"], how="left")["w"]
    _close(looked_up, by_row, "cell weights")


# -- estimate -----------------------------------------------------------------------------------
ESTIMATES = [
    ("overall_sat", dict(stat="mean", by=["segment", "city"])),
    ("nps", dict(stat="nps", by="segment")),
    ("overall_sat", dict(stat="top2", scale=(0, 10), by="region")),
    ("repurchase", dict(stat="proportion", by="segment")),
    (["sat_cpu", "sat_value"], dict(stat="mean", ci="wald")),
]


@pytest.mark.parametrize(("columns", "options"), ESTIMATES,
                         ids=[f"{o['stat']}-{i}" for i, (_, o) in enumerate(ESTIMATES)])
def test_estimate_by_group_equals_in_memory(out_of_core, in_memory, columns, options):
    _, df = in_memory
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = estimate(df, columns, weights="weight", **options)
    got = out_of_core.estimate(columns, **options)
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want) > 0
    for c in ("variable", "stat", "by", "category"):
        if c in want:
            assert got[c].tolist() == want[c].tolist(), c
    if "group" in want:
        assert [str(g) for g in got["group"]] == [str(g) for g in want["group"]] or \
            np.allclose(got["group"].astype(float), want["group"].astype(float))
    for c in ("estimate", "se", "ci_low", "ci_high", "n", "n_eff", "weighted_n", "deff"):
        _close(got[c], want[c], c)
    assert got.attrs["ci"] == want.attrs["ci"] and got.attrs["se"] == want.attrs["se"]


def test_estimate_unweighted_and_refusals(pc_questionnaire, parquet, clean_df):
    s = Survey.from_parquet(pc_questionnaire, parquet)
    assert s.weights is None
    got = s.estimate("overall_sat", by="segment")
    want = estimate(clean_df, "overall_sat", by="segment")
    _close(got["se"], want["se"], "unweighted se")
    with pytest.raises(Exception, match="not numeric"):
        s.estimate("city")
    with pytest.raises(Exception, match="no_such_column"):
        s.estimate("no_such_column")


# -- banner -------------------------------------------------------------------------------------
def test_banner_equals_in_memory(pc_questionnaire, out_of_core, in_memory):
    _, df = in_memory
    rows = ["overall_sat", "nps", "repurchase", "use", "months_owned"]
    want = banner(df, rows, ["segment", "city"], weights="weight",
                  questionnaire=pc_questionnaire, correction="holm")
    got = out_of_core.banner(rows, ["segment", "city"], correction="holm")
    a, b = got.to_frame(), want.to_frame()
    assert len(a) == len(b) > 100
    for c in ("question", "row", "stat", "column_label", "letter", "sig", "low_base"):
        assert a[c].tolist() == b[c].tolist(), c
    for c in ("estimate", "n", "n_weighted", "n_eff"):
        _close(a[c], b[c], c)
    ta, tb = got.tests, want.tests
    assert len(ta) == len(tb) > 0
    for c in ("statistic", "df", "p", "p_adj"):
        _close(ta[c], tb[c], c)
    assert got.footnotes == want.footnotes


# -- check --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def raw_parquet(demo_dir, tmp_path_factory):
    """The raw demo export (planted problems, text in numeric columns) as Parquet text
    columns: one file and a folder of four."""
    raw = pd.read_csv(demo_dir / "responses.csv", dtype=str, keep_default_na=False)
    raw = raw.replace("", None)
    base = tmp_path_factory.mktemp("raw")
    return _write(raw, base / "one", 1), _write(raw, base / "four", 4)


def test_check_finds_the_same_problems(pc_questionnaire, raw_parquet):
    df = read_responses(raw_parquet[0], pc_questionnaire)
    df.attrs.pop("source_rows")      # out of core, messages cite row numbers, not records
    want = check_responses(pc_questionnaire, df)
    assert want.n_errors > 0 and "duplicate_id" in set(want.table["rule"])
    for path in raw_parquet:
        s = ParquetSurvey.open(pc_questionnaire, path)
        got = s.check(examples=None, rows=700)     # duplicates fall in different blocks
        pd.testing.assert_frame_equal(got.rule_table, want.rule_table)
        pd.testing.assert_frame_equal(got.table, want.table)
        assert got.summary() == want.summary()
        assert (got.n_errors, got.n_warnings) == (want.n_errors, want.n_warnings)


def test_check_keeps_the_first_findings_and_counts_all(pc_questionnaire, raw_parquet):
    got = ParquetSurvey.open(pc_questionnaire, raw_parquet[1]).check(examples=2, rows=1000)
    want = ParquetSurvey.open(pc_questionnaire, raw_parquet[1]).check(examples=None)
    assert got.table["rule"].value_counts().max() == 2
    assert got.summary(examples=0) == want.summary(examples=0)
    first = want.table.groupby("rule", sort=False).head(2).reset_index(drop=True)
    pd.testing.assert_frame_equal(got.table, first)


def test_cli_check_reads_a_folder(pc_path, raw_parquet, capsys):
    from surveykit.cli import main

    assert main(["check", str(pc_path), str(raw_parquet[1])]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Checked 4,000 respondents x 94 columns")
    assert "42 error(s), 12 warning(s), 48 respondent(s) affected" in out


# -- errors -------------------------------------------------------------------------------------
def test_bad_paths_are_named(pc_questionnaire, tmp_path):
    with pytest.raises(ResponseDataError, match="no .parquet file"):
        ParquetSurvey.open(pc_questionnaire, tmp_path)
    (tmp_path / "x.csv").write_text("a\n1\n")
    with pytest.raises(ResponseDataError, match="not a Parquet file"):
        ParquetSurvey.open(pc_questionnaire, tmp_path / "x.csv")


def test_unknown_weighting_variable_is_named(pc_questionnaire, parquet):
    s = ParquetSurvey.open(pc_questionnaire, parquet)
    with pytest.raises(WeightingError, match="no_such"):
        s.rake({"no_such": {1: 50, 2: 50}})


def test_without_duckdb_the_error_says_what_to_install(pc_questionnaire, parquet, monkeypatch):
    monkeypatch.setitem(sys.modules, "duckdb", None)
    with pytest.raises(MissingDependencyError, match=r"surveykit\[scale\]"):
        Survey.from_parquet(pc_questionnaire, parquet)


def test_readme_example_runs(clean_df, tmp_path, root, monkeypatch, capsys):
    import re

    readme = (root / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Data larger than memory"):readme.index("## Speed")]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    folder = _write(clean_df, tmp_path / "exports", 2)
    code = code.replace('"exports/2026/"', repr(str(folder))).replace(
        '"weights.parquet"', repr(str(tmp_path / "weights.parquet")))
    monkeypatch.chdir(root)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(code, "README", "exec"), {})  # noqa: S102 - the README's own example
    assert capsys.readouterr().out.startswith("Checked 3,994 respondents")
    weights = pd.read_parquet(tmp_path / "weights.parquet")
    assert list(weights.columns) == ["resp_id", "weight"] and len(weights) == 3994
    assert abs(weights["weight"].sum() - 4000) < 1e-6


def test_check_of_a_file_without_rows_reports_the_columns(pc_questionnaire, tmp_path):
    empty = pd.DataFrame({"resp_id": pd.Series([], dtype="int64"),
                          "nps": pd.Series([], dtype=float), "extra": pd.Series([], dtype=float)})
    empty.to_parquet(tmp_path / "empty.parquet")
    got = ParquetSurvey.open(pc_questionnaire, tmp_path / "empty.parquet").check()
    want = check_responses(pc_questionnaire, read_responses(tmp_path / "empty.parquet",
                                                            pc_questionnaire))
    pd.testing.assert_frame_equal(got.rule_table, want.rule_table)
    assert got.table["message"].tolist() == want.table["message"].tolist()
    assert got.n_errors == want.n_errors > 0
