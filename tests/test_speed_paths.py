"""The fast paths of issue 16 give exactly what the plain paths give.

- Typed CSV reading (pyarrow, one vectorised cast per numeric column) against the strict
  record-by-record reader: same frame, dtypes, attrs (file lines included) and, for a file
  with a problem, the same error message.
- Banners computed column by column in row chunks against one dense pass.
- Raking on string columns against the same categories as integer codes.
- Shapley importance against the all-subsets definition.

Timings are measured by ``benchmarks/``, never here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import surveykit.responses.reading as reading
from surveykit.errors import ResponseDataError
from surveykit.questionnaire import load_questionnaire, questionnaire_from_text
from surveykit.responses import check_responses, read_responses

Q_TEXT = """
id: fast
title: Fast reading
questions:
  - {id: cust_type, type: single, text: Type, options: {1: A, 2: B}}
  - {id: score, type: numeric, text: Score, min: -100, max: 100, required: false}
  - {id: comment, type: open, text: Comment, required: false}
roles:
  respondent_id: resp_id
"""
HEADER = "resp_id,cust_type,score,comment\n"


@pytest.fixture(scope="module")
def q():
    return questionnaire_from_text(Q_TEXT)


class _Spy:
    """Counts the files the typed reader took (True) or left to the strict one (False)."""

    def __init__(self, monkeypatch):
        self.used: list[bool] = []
        orig = reading._typed_csv

        def spy(*args, **kwargs):
            out = orig(*args, **kwargs)
            self.used.append(out is not None)
            return out

        monkeypatch.setattr(reading, "_typed_csv", spy)


def both(path, q, **kw):
    """(typed-reader result, strict-reader result): a frame, or the error message."""
    out = []
    for fast in (True, False):
        old = reading._FAST_CSV
        reading._FAST_CSV = fast
        try:
            out.append(read_responses(path, q, **kw))
        except ResponseDataError as exc:
            out.append(str(exc))
        finally:
            reading._FAST_CSV = old
    return out


def assert_same(a, b):
    if isinstance(a, str) or isinstance(b, str):
        assert a == b
        return
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert list(a.dtypes) == list(b.dtypes)
    for col in a.columns:  # object columns: the same Python types (float vs text)
        if a[col].dtype == object:
            assert [type(v) for v in a[col]] == [type(v) for v in b[col]], col
    assert a.attrs == b.attrs


PLAIN = {
    "simple": HEADER + "1,1,5,ok\n2,2,-3,fine\n",
    "crlf": HEADER.replace("\n", "\r\n") + "1,1,5,ok\r\n2,2,,\r\n",
    "no final line end": HEADER + "1,1,5,ok\n2,2,7,x",
    "bom": "\ufeff" + HEADER + "1,1,5,ok\n",
    "quoted": HEADER + '1,"1","5","a, ""quoted"" text"\n2,2,"",""\n',
    "multi-line answers and blank lines": HEADER + '\n1,1,5,"line one\nline two"\n\n\n'
    '2,2,6,"a\r\nb"\n3,1,,"\rx\r"\n',
    "blank lines only": "\n" + HEADER + "\n1,1,5,ok\n\n2,2,6,x\n\n",
    "text in a numeric column": HEADER + "1,1,n/a,x\n2,1, 7 ,y\n3,2,True,z\n4,1,'-3,w\n",
    "escaped text": HEADER + "1,1,5,'=cmd\n2,1,6,''-x\n3,2,7,'+1\n4,1,8,'plain\n",
    "whitespace and markers": HEADER + "1,1,NA,  \n2,2,nan,<NA>\n3,1,NaN,NA\n",
    "text ids": HEADER + "007,1,5,a\nA-1,2,6,b\n",
    "big ids": HEADER + "9223372036854775807,1,5,a\n-9223372036854775808,2,6,b\n",
    "ids beyond int64": HEADER + "9223372036854775808,1,5,a\n1,2,6,b\n",
    "missing id": HEADER + "1,1,5,a\n,2,6,b\n",
    "numbers": HEADER + "1,1,1e1,a\n2,1,+5,b\n3,1,.5,c\n4,1,-0,d\n5,1,inf,e\n",
    "unknown and flag columns": "resp_id,cust_type,extra,flag_speeder,empty\n"
    "1,1,3.5,True,\n2,2,x,false,\n",
    "unknown numbers": "resp_id,cust_type,extra\n1,1,3\n2,2,4.5\n",
    "header only": HEADER,
    "empty column name": "resp_id,,cust_type\n1,a,1\n",
}

MALFORMED = {
    "short row": HEADER + "1,1,5,a\n2,1\n3,1,6,b\n",
    "long row": HEADER + "1,1,5,a\n2,1,6,b,c\n",
    "unclosed quote": HEADER + '1,1,5,"never closed\n2,1,6,b\n',
    "text after a closing quote": HEADER + '1,1,5,"a"b\n',
    "stray quote merging rows": HEADER + '1,1,5,"a,b\n2,1,"c",d\n',
    "line break in a code column": HEADER + '1,"1\n2",5,a\n',
    "duplicate header": "resp_id,cust_type,cust_type\n1,1,1\n",
    "semicolons": "resp_id;cust_type\n1;2\n",
    "empty file": "",
    "not utf-8": None,
}


@pytest.mark.parametrize("name", list(PLAIN))
def test_typed_reader_equals_strict_reader(q, tmp_path, monkeypatch, name):
    path = tmp_path / "r.csv"
    path.write_bytes(PLAIN[name].encode("utf-8"))
    spy = _Spy(monkeypatch)
    fast, strict = both(path, q)
    assert spy.used == [True], "the plain file should take the typed reader"
    assert_same(fast, strict)


@pytest.mark.parametrize("block", [1, 2, 5, 7])
@pytest.mark.parametrize("name", list(PLAIN))
def test_the_byte_scan_reads_across_block_boundaries(q, tmp_path, monkeypatch, name, block):
    """The scan reads a large file in blocks: quotes, CR LF and line breaks inside quotes
    that straddle a block boundary (blocks of a few bytes here) give the same frame."""
    import surveykit.responses.typed_csv as typed_csv

    path = tmp_path / "r.csv"
    path.write_bytes(PLAIN[name].encode("utf-8"))
    whole = read_responses(path, q)
    monkeypatch.setattr(typed_csv, "_SCAN_BYTES", block)
    spy = _Spy(monkeypatch)
    assert_same(read_responses(path, q), whole)
    assert spy.used == [True]


@pytest.mark.parametrize("block", [None, 3])
@pytest.mark.parametrize("name", list(MALFORMED))
def test_problem_files_give_the_strict_readers_message(q, tmp_path, monkeypatch, name, block):
    if block is not None:  # problems that straddle the scan's blocks are found too
        import surveykit.responses.typed_csv as typed_csv

        monkeypatch.setattr(typed_csv, "_SCAN_BYTES", block)
    path = tmp_path / "bad.csv"
    text = MALFORMED[name]
    path.write_bytes(b"resp_id,cust_type\n1,\xe9\n" if text is None else text.encode("utf-8"))
    fast, strict = both(path, q)
    assert isinstance(strict, str), strict
    assert fast == strict


def test_literal_quote_inside_a_field_is_read_as_the_strict_reader_reads_it(q, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text(HEADER + '1,1,5,a 15" screen\n')
    fast, strict = both(path, q)
    assert_same(fast, strict)
    assert fast["comment"].tolist() == ['a 15" screen']


def test_text_in_numeric_columns_is_counted_and_kept(q, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text(HEADER + "1,1,n/a,x\n2,1, 7 ,y\n3,x,8,z\n4,x,9,w\n")
    df = read_responses(path, q)
    assert df["score"].tolist()[1:] == [7.0, 8.0, 9.0] and df["score"].iloc[0] == "n/a"
    assert df.attrs["unparsed"] == {"cust_type": 2, "score": 1}
    t = check_responses(q, df).table
    assert sorted(t.loc[t["rule"] == "non_numeric", "respondent"]) == [1, 3, 4]


def test_tsv_and_other_separators(q, tmp_path, monkeypatch):
    path = tmp_path / "r.tsv"
    path.write_text(HEADER.replace(",", "\t") + "1\t1\t5\ta, b\n")
    spy = _Spy(monkeypatch)
    fast, strict = both(path, q)
    assert_same(fast, strict)
    assert spy.used == [True] and fast["comment"].tolist() == ["a, b"]
    path = tmp_path / "r.csv"
    path.write_text(HEADER.replace(",", ";") + "1;1;5;a\n")
    assert_same(*both(path, q, sep=";"))


def test_other_encodings_take_the_strict_reader(q, tmp_path, monkeypatch):
    path = tmp_path / "r.csv"
    path.write_bytes((HEADER + "1,1,5,café\n").encode("cp1252"))
    spy = _Spy(monkeypatch)
    df = read_responses(path, q, encoding="cp1252")
    assert spy.used == [] and df["comment"].tolist() == ["café"]


def test_the_demo_file_takes_the_typed_reader(tmp_path, monkeypatch):
    q = load_questionnaire("questionnaires/pc_customers.yaml")
    spy = _Spy(monkeypatch)
    fast, strict = both("data/demo/responses.csv", q)
    assert spy.used == [True]
    assert_same(fast, strict)


def test_a_file_that_cannot_be_memory_mapped_is_read_the_same(q, tmp_path, monkeypatch):
    import mmap

    import surveykit.responses.typed_csv as typed_csv

    path = tmp_path / "r.csv"
    path.write_bytes(PLAIN["multi-line answers and blank lines"].encode("utf-8"))
    mapped = read_responses(path, q)

    def refuse(*args, **kwargs):
        raise OSError("no mmap here")

    monkeypatch.setattr(typed_csv.mmap, "mmap", refuse)
    spy = _Spy(monkeypatch)
    assert_same(read_responses(path, q), mapped)
    assert spy.used == [True] and mmap.mmap is refuse


def test_one_usable_core_means_no_threads(monkeypatch):
    """A process limited to one core (a container, taskset) works column by column in its
    own thread, whatever the machine's count."""
    import threading

    import surveykit._threads as util

    monkeypatch.setattr(util.os, "sched_getaffinity", lambda pid: {3}, raising=False)
    monkeypatch.setattr(util.os, "cpu_count", lambda: 64)
    assert util.usable_cores() == 1
    me = threading.get_ident()
    assert set(util.column_map(lambda: threading.get_ident(), [()] * 4, rows=10**7)) == {me}
    monkeypatch.setattr(util.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert util.usable_cores() == 2
    assert me not in set(util.column_map(lambda: threading.get_ident(), [()] * 4,
                                         rows=10**7))


def test_work_on_threads_equals_work_in_one_thread(monkeypatch, demo_dir, pc_questionnaire):
    """A large frame is read, typed and checked two columns at a time on threads: the same
    frame, attributes and findings as column after column (forced here on the demo)."""
    import surveykit._threads as util

    q = pc_questionnaire
    monkeypatch.setattr(util, "THREADED_ROWS", 10**12)
    one_df = read_responses(demo_dir / "responses.csv", q)
    one = check_responses(q, one_df)
    monkeypatch.setattr(util, "THREADED_ROWS", 0)
    monkeypatch.setattr(util, "usable_cores", lambda: 2)
    threads_df = read_responses(demo_dir / "responses.csv", q)
    threads = check_responses(q, threads_df)
    assert_same(threads_df, one_df)
    pd.testing.assert_frame_equal(threads.table, one.table)
    pd.testing.assert_frame_equal(threads.rule_table, one.rule_table)
    assert threads.masks.keys() == one.masks.keys()
    assert all(np.array_equal(threads.masks[k], one.masks[k]) for k in one.masks)
    assert one.n_errors == 42  # the demo's planted problems (a test that can fail)


def test_no_dtype_warning(q, tmp_path):
    import warnings

    rows = [f"{i},1,{i % 7},x" for i in range(1, 60_001)] + ["60001,1,n/a,y"]
    path = tmp_path / "big.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        df = read_responses(path, q)
    assert df.attrs["unparsed"] == {"score": 1}


# -- property: random text files read the same both ways ---------------------------------
cell_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                    max_size=8)
cell = st.one_of(cell_text, st.sampled_from(["1", "2", " 3", "-4", "1e2", "NA", "", "'=x",
                                            "'-1", '"', "a\nb", "\r", "x,y"]),
                 st.integers(-5, 5).map(str))


def _csv_field(v: str) -> str:
    if any(c in v for c in ',"\r\n') or v != v.strip(" "):
        return '"' + v.replace('"', '""') + '"'
    return v


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(st.integers(1, 10**6).map(str), cell, cell, cell), min_size=0,
                     max_size=6),
       blank=st.lists(st.booleans(), min_size=6, max_size=6),
       crlf=st.booleans(), block=st.sampled_from([None, 2, 5]))
def test_property_typed_reader_equals_strict_reader(q, tmp_path, rows, blank, crlf, block):
    """Any file of these cells reads the same by both readers, also when the byte scan
    works in blocks of a few bytes (its 16 MB blocks on a large file)."""
    import surveykit.responses.typed_csv as typed_csv

    nl = "\r\n" if crlf else "\n"
    lines = [HEADER.strip("\n")]
    for k, r in enumerate(rows):
        if blank[k]:
            lines.append("")
        lines.append(",".join(_csv_field(v) for v in r))
    path = tmp_path / "p.csv"
    path.write_bytes((nl.join(lines) + nl).encode("utf-8"))
    old = typed_csv._SCAN_BYTES
    typed_csv._SCAN_BYTES = block or old
    try:
        assert_same(*both(path, q))
    finally:
        typed_csv._SCAN_BYTES = old


# -- banners: row chunks and per-category sums equal one dense pass ------------------------
def _banner_data(n: int = 1500, seed: int = 3):
    rng = np.random.default_rng(seed)
    d = {"g": rng.integers(1, 4, n).astype(float), "age": rng.integers(1, 6, n).astype(float),
         "w": rng.lognormal(0, 0.5, n)}
    d["g"][rng.random(n) < 0.05] = np.nan
    for k in range(1, 5):
        d[f"ch_{k}"] = np.where(rng.random(n) < 0.1, np.nan, (rng.random(n) < 0.4) * 1.0)
    d["s"] = rng.integers(1, 5, n).astype(float)
    d["r"] = np.where(rng.random(n) < 0.1, np.nan, rng.integers(1, 6, n).astype(float))
    d["p"] = rng.integers(0, 11, n).astype(float)
    for k in range(1, 4):
        d[f"m_{k}"] = np.where(rng.random(n) < 0.2, np.nan, (rng.random(n) < 0.3) * 1.0)
    d["x"] = np.where(rng.random(n) < 0.1, np.nan, rng.gamma(2, 10, n))
    types = {"g": "single", "age": "single", "ch": "multi", "s": "single", "r": "rating",
             "p": "nps", "m": "multi", "x": "numeric"}
    return pd.DataFrame(d), types


def _banner(df, types, weights="w"):
    from surveykit.tables import banner

    return banner(df, ["s", "r", "p", "m", "x"], ["g", "age", "ch"], weights=weights,
                  types=types, scales={"r": (1, 5)}, correction="holm")


def _assert_same_banner(a, b):
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame(), rtol=1e-11)
    pd.testing.assert_frame_equal(a.bases, b.bases, rtol=1e-11)
    ta, tb = a.tests, b.tests
    pd.testing.assert_frame_equal(ta.drop(columns=["diff"]), tb.drop(columns=["diff"]),
                                  rtol=1e-9)
    np.testing.assert_allclose(ta["diff"], tb["diff"], atol=1e-12)


@pytest.mark.parametrize("weights", ["w", None])
def test_chunked_banner_equals_one_dense_pass(monkeypatch, weights):
    import surveykit._banner_sums as sums

    df, types = _banner_data()
    monkeypatch.setattr(sums, "_CHUNK_ROWS", 10**9)        # one block: the dense matrices
    dense = _banner(df, types, weights)
    monkeypatch.setattr(sums, "_CHUNK_ROWS", 7)            # many blocks, a ragged last one
    chunked = _banner(df, types, weights)
    _assert_same_banner(chunked, dense)
    assert (dense.to_frame()["sig"] != "").any()


def test_per_category_sums_equal_the_indicator_sums(monkeypatch):
    import surveykit._banner_sums as sums

    df, types = _banner_data()
    fast = _banner(df, types)
    monkeypatch.setattr(sums._Rows, "by_category", property(lambda self: False))
    _assert_same_banner(fast, _banner(df, types))


def test_banner_sums_by_hand():
    """Weighted column percentages, means and bases against pandas group sums."""
    df, types = _banner_data(400)
    t = _banner(df, types).to_frame()
    w = df["w"]
    for code in (1.0, 2.0, 3.0):
        sel = (df["g"] == code) & df["r"].notna()
        got = t[(t.question == "r") & (t.banner == "g") & (t.column_code == code)]
        mean = float((df.loc[sel, "r"] * w[sel]).sum() / w[sel].sum())
        assert got.loc[got.stat == "mean", "estimate"].item() == pytest.approx(mean, rel=1e-12)
        top = float(w[sel & (df["r"] >= 4)].sum() / w[sel].sum())
        assert got.loc[got.row == "top_box", "estimate"].item() == pytest.approx(top, rel=1e-12)
        assert got["n"].iat[0] == int(sel.sum())
    sel = (df["ch_2"] == 1) & df[["m_1", "m_2", "m_3"]].notna().any(axis=1)
    got = t[(t.question == "m") & (t.banner == "ch") & (t.column_code == "2") & (t.row == "1")]
    share = float(w[sel & (df["m_1"] == 1)].sum() / w[sel].sum())
    assert got["estimate"].item() == pytest.approx(share, rel=1e-12)


# -- raking on text columns: the target lookup equals integer codes --------------------------
def _rake_frame(n: int = 3000, seed: int = 5):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"age": rng.choice([1, 2, 3], n, p=[0.5, 0.3, 0.2]),
                       "reg": rng.choice([1, 2], n, p=[0.7, 0.3])})
    for v, names in (("age", ["young", "mid", "old"]), ("reg", ["north", "south"])):
        df[f"{v}_s"] = pd.Series(np.array(names)[df[v] - 1], dtype="str")
    return df


def test_text_raking_equals_integer_raking():
    from surveykit.weighting import rake

    df = _rake_frame()
    ti = {"age": {1: 30, 2: 40, 3: 30}, "reg": {1: 55, 2: 45}}
    ts = {"age_s": {"young": 30, "mid": 40, "old": 30}, "reg_s": {"north": 55, "south": 45}}
    np.testing.assert_allclose(rake(df, ts).weights, rake(df, ti).weights, rtol=1e-12)
    # interlocked and nested margins name text categories too
    cells = [("young", "north", 20), ("young", "south", 10), ("mid", "north", 20),
             ("mid", "south", 20), ("old", "north", 15), ("old", "south", 15)]
    names = {"young": 1, "mid": 2, "old": 3, "north": 1, "south": 2}
    tx = {"margins": [{"variables": ["age_s", "reg_s"], "targets": [
        {"age_s": a, "reg_s": r, "target": t} for a, r, t in cells]}]}
    ix = {"margins": [{"variables": ["age", "reg"], "targets": [
        {"age": names[a], "reg": names[r], "target": t} for a, r, t in cells]}]}
    np.testing.assert_allclose(rake(df, tx).weights, rake(df, ix).weights, rtol=1e-12)
    nx = {"margins": [{"variable": "reg_s", "targets": {"north": 55, "south": 45}},
                      {"variable": "age_s", "within": {"reg_s": "north"},
                       "targets": {"young": 40, "mid": 40, "old": 20}}]}
    ni = {"margins": [{"variable": "reg", "targets": {1: 55, 2: 45}},
                      {"variable": "age", "within": {"reg": 1},
                       "targets": {1: 40, 2: 40, 3: 20}}]}
    np.testing.assert_allclose(rake(df, nx).weights, rake(df, ni).weights, rtol=1e-12)


def test_text_raking_missing_and_unknown_categories():
    from surveykit.errors import WeightingError
    from surveykit.weighting import rake

    df = _rake_frame(400)
    df.loc[[3, 7], "age_s"] = None
    ts = {"age_s": {"young": 30, "mid": 40, "old": 30}}
    with pytest.raises(WeightingError, match="missing values in 2 row"):
        rake(df, ts)
    w = rake(df, ts, missing="exclude").weights
    assert w[[3, 7]].tolist() == [0.0, 0.0] and (w.drop([3, 7]) > 0).all()
    with pytest.raises(WeightingError, match="age_s=mid has .* respondent.*no target"):
        rake(df, {"age_s": {"young": 50, "old": 50}}, missing="exclude")
    obj = df.assign(age_s=df["age_s"].astype(object))       # the plain factorize path
    np.testing.assert_allclose(rake(obj, ts, missing="own_category").weights,
                               rake(df, ts, missing="own_category").weights, rtol=1e-12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(1, 3000), st.integers(-2**40, 2**40), st.booleans()),
                min_size=1, max_size=5), st.integers(0, 2**32 - 1))
def test_cell_ids_equal_python_integers(spec, seed):
    """Each row's cell, built in int32 while every partial sum fits and in int64 otherwise,
    equals ``sum(code_j * stride_j)`` in Python integers, for raw integer values with any
    offset (:class:`_Offset`) and for plain codes."""
    from surveykit.weighting.cells import _cell_ids, _Offset

    rng = np.random.default_rng(seed)
    n = 50
    codes, sizes, plain = [], [], []
    for k, lo, raw in spec:
        c = rng.integers(0, k, n)
        plain.append(c)
        sizes.append(k)
        codes.append(_Offset(c + lo, lo) if raw else c)
    want = [0] * n
    for c, k in zip(plain, sizes, strict=True):
        want = [w * k + int(v) for w, v in zip(want, c, strict=True)]
    got = _cell_ids(codes, sizes, n)
    assert got.dtype == np.int64 and got.tolist() == want


@pytest.mark.parametrize("base", [None, "varying"])
def test_rows_as_cells_give_the_same_units_and_weights(base):
    """Rows kept as cell ids with a cell -> unit table (the cells engine) or as units (the
    rows engine): ``row_unit`` and ``row_values`` agree, excluded rows read -1 / 0."""
    from surveykit.weighting.cells import _build_design
    from surveykit.weighting.targets import load_targets

    df = _rake_frame(400)
    df.loc[[3, 7], "age_s"] = None
    w0 = np.ones(len(df)) if base is None else np.random.default_rng(0).random(len(df)) + .5
    t = load_targets({"age_s": {"young": 30, "mid": 40, "old": 30},
                      "reg": {1: 55, 2: 45}})
    des = _build_design(df, t, w0, "exclude", uniform=base is None)
    assert (des.unit_of is not None) == (base is None)
    ru = des.row_unit
    assert ru[[3, 7]].tolist() == [-1, -1] and (np.delete(ru, [3, 7]) >= 0).all()
    per_unit = np.arange(len(des.m)) + 10.0
    got = des.row_values(per_unit)
    assert got[[3, 7]].tolist() == [0.0, 0.0]
    np.testing.assert_array_equal(np.delete(got, [3, 7]), per_unit[np.delete(ru, [3, 7])])


# -- Shapley: the all-subsets sweeps, the weighting, data reading and result frames ----------
def _corr(p: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(400, p + 1))
    X[:, -1] += X[:, :-1] @ rng.random(p)
    return np.corrcoef(X, rowvar=False)


def _r2_by_definition(R: np.ndarray) -> np.ndarray:
    p = R.shape[0] - 1
    out = np.zeros(1 << p)
    for mask in range(1, 1 << p):
        idx = [j for j in range(p) if mask >> j & 1]
        out[mask] = R[idx, p] @ np.linalg.solve(R[np.ix_(idx, idx)], R[idx, p]) / R[p, p]
    return out


def _shapley_by_definition(r2: np.ndarray) -> np.ndarray:
    import math

    p = int(round(math.log2(len(r2))))
    out = np.zeros(p)
    for j in range(p):
        for s in range(1 << p):
            if not s >> j & 1:
                k = bin(s).count("1")
                w = math.factorial(k) * math.factorial(p - k - 1) / math.factorial(p)
                out[j] += w * (r2[s | 1 << j] - r2[s])
    return out


@pytest.mark.parametrize("p", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
def test_subset_r2_equals_the_definition(p):
    import surveykit.drivers._core as core

    R = _corr(p, seed=p)
    np.testing.assert_allclose(core.subset_r2(R), _r2_by_definition(R), atol=1e-13)


@pytest.mark.parametrize("p", [1, 3, 8, 11, 17])
def test_shapley_weighting_equals_the_definition(p):
    from surveykit.drivers._core import shapley_from_r2

    rng = np.random.default_rng(p)
    r2 = np.sort(rng.random(1 << p))
    r2[0] = 0.0
    got = shapley_from_r2(r2)
    if p <= 11:
        np.testing.assert_allclose(got, _shapley_by_definition(r2), atol=1e-12)
    assert got.sum() == pytest.approx(r2[-1], abs=1e-12)    # efficiency: sums to R^2


@pytest.mark.parametrize("deps, named", [
    ({3: [0, 1]}, 3),
    # two dependencies: the one found among the subsets with the lowest highest driver
    # (x3 = x0 given {0}) is named, not the lower driver (x2 = x0 + x1 given {0, 1})
    ({2: [0, 1], 3: [0]}, 3),
    ({4: [1], 2: [0, 1]}, 2),                           # same level: the lower one
    ({0: []}, 0),                                       # a constant driver
])
def test_collinear_drivers_still_named(deps, named):
    import surveykit.drivers._core as core
    from surveykit.errors import DriverAnalysisError

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 6))
    for j, of in deps.items():
        X[:, j] = X[:, of].sum(axis=1)
    C = np.cov(X, rowvar=False)                          # (a constant has variance 0)
    with pytest.raises(DriverAnalysisError, match=f"driver {named} is a linear combination"):
        core.subset_r2(C)


@pytest.mark.parametrize("cols", [
    {"segment": ["Total"] * 3, "driver": ["a", "b", "c"], "importance": np.array([.1, .2, .3]),
     "rank": np.array([3, 2, 1])},
    {"segment": ["Total", 1, 2], "n": np.array([5, 3, 2], dtype=np.int64)},   # mixed: object
    {"segment": [1.0, 2.0], "driver": ["a", "b"]},
    {"segment": [], "r2": np.array([])},
])
@pytest.mark.parametrize("blocks", [True, False])
def test_result_frames_equal_the_constructor(monkeypatch, cols, blocks):
    from pandas.api import internals

    from surveykit.drivers.importance import _frame

    if not blocks:                                       # (pandas without the blocks API)
        monkeypatch.delattr(internals, "create_dataframe_from_blocks", raising=False)
    got = _frame(dict(cols))
    pd.testing.assert_frame_equal(got, pd.DataFrame(cols), check_exact=True)
    strings = [c for c, v in cols.items() if len(v) and all(isinstance(x, str) for x in v)]
    for c in strings:                                   # each frame has its own copy
        got.loc[0, c] = "changed"
    pd.testing.assert_frame_equal(_frame(dict(cols)), pd.DataFrame(cols), check_exact=True)


@pytest.mark.parametrize("bad", [-1.0, np.nan, np.inf])
def test_key_drivers_bad_weights_keep_the_weights_error(bad):
    from surveykit.drivers import key_drivers
    from surveykit.errors import DriverAnalysisError

    rng = np.random.default_rng(1)
    d = pd.DataFrame(rng.normal(size=(50, 3)), columns=["a", "b", "y"])
    d["w"] = 1.0
    d.loc[7, "w"] = bad
    with pytest.raises(DriverAnalysisError, match=r"'w' must be finite and >= 0; row 7"):
        key_drivers(d, "y", ["a", "b"], weights="w")


@pytest.mark.parametrize("n, q", [(50, 4), (5000, 16), (20000, 7)])
def test_weighted_correlations_in_row_blocks_equal_the_formula(n, q):
    from surveykit.drivers._core import _wcorr_a

    rng = np.random.default_rng(n)
    A = np.asfortranarray(rng.normal(size=(n, q)) * rng.uniform(1, 50, q) + 1000)
    w = rng.uniform(0.2, 3, n)
    D = A - (w @ A) / w.sum()
    C = (D * w[:, None]).T @ D
    want = C / np.sqrt(np.outer(np.diag(C), np.diag(C)))
    np.testing.assert_allclose(_wcorr_a(A, w), want, rtol=0, atol=1e-13)


def test_object_columns_with_unhashable_cells_are_checked_row_by_row():
    """A numeric column of a hand-built frame may hold a list or a dict: the check reads
    it row by row (it cannot hash such cells) and reports them as text, as it reports "x";
    None and blank text are no answer."""
    qq = questionnaire_from_text("""
id: t
title: T
questions:
  - {id: score, type: numeric, text: Score, min: 0, max: 10, required: false}
roles:
  respondent_id: rid
""")
    cells = [1.0, [1, 2], {"a": 1}, None, "  ", "x", 11.0]
    df = pd.DataFrame({"rid": range(1, 8), "score": pd.Series(cells, dtype=object)})
    t = check_responses(qq, df).table
    assert t[["respondent", "rule"]].values.tolist() == [
        [2, "non_numeric"], [3, "non_numeric"], [6, "non_numeric"], [7, "out_of_range"]]
    hashable = df.assign(score=pd.Series([1.0, "[1, 2]", "{'a': 1}", None, "  ", "x", 11.0],
                                         dtype=object))
    assert check_responses(qq, hashable).table[["respondent", "rule"]].values.tolist() == \
        t[["respondent", "rule"]].values.tolist()
