"""The report's speed-ups change nothing a reader sees; the README's speed table is generated.

- Shared per-run results (:mod:`surveykit.reporting.shared`): every section of every
  segment's page is the same with the results computed once in preparation as without
  them, and the pages really use them.
- The jsonschema import without its IRI grammar leaves ``rfc3987_syntax`` importable.
- ``make bench`` writes its table between the README's markers.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from surveykit.reporting import SegmentFindings
from surveykit.reporting.shared import SHARED_FILE, SharedResults, prepare_shared
from surveykit.survey import Survey

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures" / "reporting"
KEYS = ["summary", "recommendations", "profile", "key_metrics", "attributes", "constructs",
        "drivers", "pain_points", "channels", "value_lifecycle", "method"]


@pytest.fixture(scope="module")
def survey():
    return Survey.from_files(FIX / "questionnaire.yaml", FIX / "responses.csv",
                             targets=FIX / "targets.yaml", crm=FIX / "crm.csv")


def _page(survey, segment, shared, **kw) -> tuple[dict, dict, SharedResults]:
    f = SegmentFindings(survey, "segment", segment, min_base=30, shared=shared, **kw)
    out = {}
    for key in KEYS:
        s = f.section(key)
        if s is not None:
            out[key] = (s.heading, s.findings, s.notes, s.quotes,
                        [(c, t.astype(str).to_dict("list")) for c, t in s.tables],
                        [(c, t.astype(str).to_dict("list")) for c, t in s.technical_tables],
                        len(s.figures))
    plt.close("all")
    return out, f.headline(), f.shared


def test_pages_with_the_shared_results_equal_pages_without(survey, tmp_path):
    values = ["../../etc", "a/b c", "中文 客户", "tiny"]
    store = prepare_shared(survey, "segment", values, min_base=30)
    path = store.save(tmp_path)
    assert path.name == SHARED_FILE
    hits = 0
    for v in values:
        alone, head_alone, _ = _page(survey, v, None)
        shared, head_shared, used = _page(survey, v, tmp_path)       # loaded from the file
        assert shared == alone, v
        assert head_shared == head_alone, v
        hits += used.hits
        assert used.hits > 0 and used.hits >= 5 * used.misses, v   # mostly looked up
    assert hits > 40


def test_a_wave_page_with_the_shared_results_equals_one_without():
    """Shared results are keyed by the wave: the page of the latest wave (with its trend
    against the previous one) is the same, and another wave never reads them."""
    from surveykit.waves import survey_from_waves

    waves = survey_from_waves(ROOT / "questionnaires" / "pc_customers.yaml",
                              ROOT / "data" / "demo" / "waves.yaml")
    store = prepare_shared(waves, "segment", [3], wave="latest")
    alone, head_alone, _ = _page(waves, 3, None, wave="latest")
    shared, head_shared, used = _page(waves, 3, store, wave="latest")
    assert shared == alone and head_shared == head_alone and used.hits > 0
    other = SharedResults(dict(store.values))
    _page(waves, 3, other, wave="2026Q1")
    assert other.hits == 0


def test_the_overview_banner_and_tab_book_from_the_shared_results_equal_those_without(
        survey, tmp_path):
    """The run computes the overview's banner once while preparing; the overview page and
    the tab book read it (one lookup each), and it is the banner computed without it."""
    from openpyxl import load_workbook

    from surveykit.reporting import Overview
    from surveykit.reporting.overview import write_tabbook

    store = SharedResults()
    alone = Overview(survey, "segment", min_base=30).banner()
    Overview(survey, "segment", min_base=30, shared=store).banner()
    store.save(tmp_path)
    page = Overview(survey, "segment", min_base=30, shared=tmp_path)
    got = page.banner()
    assert page.shared.hits == 1 and page.shared.misses == 0
    pd.testing.assert_frame_equal(got.to_frame(), alone.to_frame())
    assert got.to_html() == alone.to_html() and got.questions == alone.questions
    other = Overview(survey, "segment", min_base=20, shared=tmp_path)
    other.banner()
    assert other.shared.hits == 0                                   # another min_base
    books = []
    for i, shared in enumerate((None, tmp_path)):
        entry = write_tabbook(survey, "segment", tmp_path / f"t{i}.xlsx", shared=shared)
        assert entry["status"] == "ok", entry
        wb = load_workbook(tmp_path / f"t{i}.xlsx")
        books.append({n: [[c.value for c in r] for r in wb[n].iter_rows()]
                      for n in wb.sheetnames})
    assert books[0] == books[1]


def test_the_store_hands_out_copies_and_keys_only_exact_calls(survey):
    store = SharedResults()
    f = SegmentFindings(survey, "segment", "tiny", shared=store)
    a = f._estimate(["overall_sat"], by="segment")
    a.loc[:, "estimate"] = -1.0                                    # a caller's change ...
    b = f._estimate(["overall_sat"], by="segment")
    assert (b["estimate"] != -1.0).all() and store.hits == 1      # ... is not stored
    sub = survey.data[survey.data["segment"] == "tiny"]
    f._estimate(["overall_sat"], data=sub)                        # a subset: never shared
    f._estimate(["overall_sat"], data=sub)
    assert store.hits == 1
    assert f._call_key("estimate", ["x"], None, {"codes": pd.Series([1, 2])}) is None


def test_a_store_file_is_read_once_per_process_and_each_page_keeps_its_own_values(tmp_path):
    """A kernel runs several pages of a run: the file is unpickled once, each page gets its
    own dict (what one page adds is not another's) and copies of the values."""
    SharedResults({("x",): pd.DataFrame({"a": [1.0]})}).save(tmp_path)
    a, b = SharedResults.load(tmp_path), SharedResults.load(tmp_path)
    assert a.values is not b.values and a.values[("x",)] is b.values[("x",)]  # read once
    a.get(("y",), lambda: 2)
    assert ("y",) in a.values and ("y",) not in b.values
    got = a.get(("x",), lambda: None)
    got.loc[0, "a"] = -1.0                                           # a page's change ...
    assert b.get(("x",), lambda: None).loc[0, "a"] == 1.0            # ... is its own
    SharedResults({("x",): [1, 2, 3]}).save(tmp_path)                # a new file: read again
    assert SharedResults.load(tmp_path).get(("x",), lambda: None) == [1, 2, 3]


def test_json_schema_import_without_the_iri_grammar_keeps_the_package_importable():
    code = ("import sys\n"
            "from surveykit.reporting.worker import skip_slow_schema_formats\n"
            "skip_slow_schema_formats()\n"
            "import nbformat, jsonschema\n"
            "assert 'rfc3987_syntax' not in sys.modules\n"
            "import rfc3987_syntax\n"
            "print('ok')\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr[-2000:]


def test_the_readme_speed_table_is_written_between_its_markers(tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from summary import END, START, markdown, write_readme_table
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert text.count(START) == 1 and text.count(END) == 1 and text.index(START) < text.index(END)
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{START}\nold\n{END}\n\nafter\n", encoding="utf-8")
    table = pd.DataFrame({"benchmark": ["a | b"], "met": ["met"]})
    write_readme_table(readme, markdown(table), "quick")
    out = readme.read_text(encoding="utf-8")
    assert "old" not in out and out.endswith(f"{END}\n\nafter\n")
    assert "| a \\| b | met |" in out and "generated by `make bench` (quick)" in out
    readme.write_text("no markers", encoding="utf-8")
    with pytest.raises(SystemExit, match="speed-table"):
        write_readme_table(readme, "x", "quick")
