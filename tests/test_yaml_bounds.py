"""Bounded YAML reading: alias bombs, deep nesting and huge files are refused with a typed,
located error (questionnaires and weighting targets alike), quickly and without a traceback
from the YAML library."""

from __future__ import annotations

import pytest

from surveykit.errors import QuestionnaireError, WeightingError
from surveykit.questionnaire import load_questionnaire, questionnaire_from_text
from surveykit.questionnaire.loader import (
    YAML_MAX_BYTES,
    YAML_MAX_DEPTH,
    YAMLReadError,
    parse_yaml,
)
from surveykit.weighting import load_targets


def _bomb(levels: int = 9, top: str = "questions") -> str:
    """The classic "billion laughs": each anchor holds nine aliases of the one before, so
    ``levels`` = 9 expands to 9**9 (387 million) values from about 500 bytes."""
    lines = ["id: bomb", "title: Bomb", "a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    lines.append(f"{top}: *a{levels - 1}")
    return "\n".join(lines) + "\n"


def _problem(exc_info):
    assert len(exc_info.value.problems) == 1, str(exc_info.value)
    return exc_info.value.problems[0]


def test_alias_bomb_is_refused_naming_file_line_and_remedy(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(_bomb())
    assert path.stat().st_size < 600
    with pytest.raises(QuestionnaireError) as info:
        load_questionnaire(path)
    p = _problem(info)
    assert p.file == str(path)
    # a0..a4 and their uses pass 100,000 values when *a4 is repeated in a5, on line 8
    assert p.line == 8
    assert p.message.startswith("the document expands to more than 100,000 values when the "
                                "alias *a4 repeats its anchor")
    assert "write the repeated parts out, or split the file" in p.message
    assert str(info.value).startswith(f"{path}:line 8: the document expands")


def test_deeper_bomb_is_refused_the_same_way():
    # 20 levels would be 9**20 values: a MemoryError before; now the same early refusal
    with pytest.raises(QuestionnaireError, match=r"line 8: the document expands to more than "
                                                 r"100,000 values"):
        questionnaire_from_text(_bomb(20), source="big.yaml")


def test_alias_loop_is_refused():
    with pytest.raises(QuestionnaireError) as info:
        questionnaire_from_text("id: t\ntitle: T\nquestions: &q [{id: a, type: open, "
                                "text: A}, *q]\n", source="t.yaml")
    p = _problem(info)
    assert p.line == 3 and "the alias *q is used inside the value its anchor &q names" \
        in p.message


def test_ordinary_aliases_and_merge_keys_still_load():
    q = questionnaire_from_text("""
id: t
title: T
scales:
  agree: &agree {codes: {1: Disagree, 2: Neutral, 3: Agree}}
  agree_too: *agree
questions:
  - &base {id: a, type: rating, text: A, scale: agree}
  - {<<: *base, id: b, text: B}
""")
    assert [v for v in q.variables() if v in ("a", "b")] == ["a", "b"]
    assert q.labels("b") == {1: "Disagree", 2: "Neutral", 3: "Agree"}


@pytest.mark.parametrize("text, line", [
    # 5,000 unclosed flow brackets on one line: a RecursionError before
    ("id: deep\ntitle: T\nquestions: " + "[" * 5000 + "]" * 5000 + "\n", 3),
    # block style: 2,000 nested list items, one per line
    ("id: deep\ntitle: T\nquestions:\n" + "".join(" " * i + "-\n" for i in range(2000)), 103),
    # mappings inside lists inside mappings
    ("id: deep\ntitle: T\nquestions: " + "[{a: " * 3000 + "\n", 3),
])
def test_deep_nesting_is_refused_with_its_line(text, line):
    with pytest.raises(QuestionnaireError) as info:
        questionnaire_from_text(text, source="deep.yaml")
    p = _problem(info)
    assert (p.file, p.line) == ("deep.yaml", line)
    assert p.message == ("nesting deeper than 100 levels; a questionnaire or targets file "
                         "nests a few levels: check for [ or { that are never closed, or "
                         "flatten the structure")


def test_nesting_limit_is_exactly_the_stated_depth():
    # the top mapping is level 1: 99 more lists reach 100 and are read; one more is refused
    ok = "a: " + "[" * (YAML_MAX_DEPTH - 1) + "]" * (YAML_MAX_DEPTH - 1)
    assert parse_yaml(ok)["a"] is not None
    block = "a:\n" + "".join(" " * i + "-\n" for i in range(YAML_MAX_DEPTH - 1))
    assert parse_yaml(block)["a"] is not None
    for text in ("a: " + "[" * YAML_MAX_DEPTH + "]" * YAML_MAX_DEPTH,
                 "a:\n" + "".join(" " * i + "-\n" for i in range(YAML_MAX_DEPTH))):
        with pytest.raises(YAMLReadError, match="nesting deeper than 100 levels"):
            parse_yaml(text)


def test_huge_file_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "huge.yaml"
    line = "# " + "x" * 98 + "\n"
    with path.open("w") as fh:
        fh.write("id: huge\ntitle: T\n")
        fh.write(line * (YAML_MAX_BYTES // len(line) + 1))
    with pytest.raises(QuestionnaireError) as info:
        load_questionnaire(path)
    p = _problem(info)
    assert p.file == str(path) and p.line is None
    assert p.message == ("the file is 10.0 MB; surveykit reads YAML files of up to 10 MB (a "
                         "questionnaire or targets file is a few kilobytes): check that this "
                         "is the right file")
    # the same bound for text given directly
    with pytest.raises(QuestionnaireError, match=r"the file is 10\.0 MB; surveykit reads"):
        questionnaire_from_text(path.read_text(), source="huge.yaml")


def test_targets_files_have_the_same_bounds(tmp_path):
    path = tmp_path / "targets.yaml"
    path.write_text(_bomb(9, top="margins"))
    with pytest.raises(WeightingError, match=rf"^{path}:line 8: the document expands to more "
                                             r"than 100,000 values when the alias \*a4"):
        load_targets(path)
    path.write_text("margins: " + "[" * 5000 + "\n")
    with pytest.raises(WeightingError, match=rf"^{path}:line 1: nesting deeper than 100 "
                                             "levels"):
        load_targets(path)
    with path.open("w") as fh:
        fh.write("# padding\n" * (YAML_MAX_BYTES // 10 + 1))
    with pytest.raises(WeightingError, match=rf"^{path}: the file is 10\.0 MB"):
        load_targets(path)


def test_targets_syntax_error_gets_the_quoting_hint(tmp_path):
    path = tmp_path / "targets.yaml"
    path.write_text("margins:\n  - variable: region\n    note: North: urban\n")
    with pytest.raises(WeightingError) as info:
        load_targets(path)
    assert str(info.value) == (f"{path}:line 3: not valid YAML: mapping values are not allowed "
                               "here; a value that contains ': ' must be quoted: write "
                               'note: "North: urban"')
