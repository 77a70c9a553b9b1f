"""YAML reading: positions of keys, values and items; duplicates; safe, YAML-1.2 scalars."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.config.yaml_positions import (
    MAX_VALUES,
    Position,
    YamlProblems,
    load_yaml,
    load_yaml_file,
)

DOC = """\
centre:
  name: 测试
queues:
  general:
    skills: [general, english]
    expansion:
      - {after_s: 30, min_level: 2}
      - after_s: 90
        any_agent: true
"""


def problems(text: str) -> list[str]:
    with pytest.raises(YamlProblems) as caught:
        load_yaml(text, "f.yaml")
    return [str(p) for p in caught.value.problems]


def test_every_key_value_and_item_has_its_position() -> None:
    doc = load_yaml(DOC, "f.yaml")
    assert doc.locate(("centre", "name")) == Position(2, 9)
    assert doc.locate(("centre", "name"), at_key=True) == Position(2, 3)
    assert doc.locate(("queues", "general", "skills", 1)) == Position(5, 23)
    assert doc.locate(("queues", "general", "expansion", 0, "min_level")) == Position(7, 34)
    assert doc.locate(("queues", "general", "expansion", 1, "any_agent")) == Position(9, 20)


def test_a_container_is_located_at_its_key_and_a_missing_child_at_its_parent() -> None:
    doc = load_yaml(DOC, "f.yaml")
    assert doc.locate(("queues", "general")) == Position(4, 3)
    assert doc.locate(("queues", "general", "missing_field")) == Position(4, 3)
    assert doc.locate(("nowhere", "at", "all")) == Position(1, 1)


def test_problem_renders_file_line_column_and_path() -> None:
    doc = load_yaml(DOC, "f.yaml")
    problem = doc.problem(("queues", "general", "skills", 1), "no skill named 'english'")
    assert str(problem) == "f.yaml:5:23 queues.general.skills[1]: no skill named 'english'"


def test_duplicate_keys_are_errors_not_silently_merged() -> None:
    assert problems("a: 1\nb:\n  x: 1\n  x: 2\n") == [
        "f.yaml:4:3 b.x: duplicate key 'x' (first defined at line 3, column 3); "
        "YAML would silently keep only the last one"
    ]


def test_duplicate_keys_differing_only_in_quoting_are_duplicates() -> None:
    assert len(problems('"12345": a\n12345: b\n')) == 1


def test_syntax_error_has_its_position() -> None:
    assert problems("a: [1, 2\nb: 3\n") == [
        "f.yaml:2:2 YAML syntax error: expected ',' or ']', but got ':'"
    ]


def test_tab_indentation_gets_a_hint() -> None:
    (message,) = problems("a:\n\tb: 1\n")
    assert message.startswith("f.yaml:2:1 YAML syntax error:")
    assert message.endswith("(YAML indents with spaces, not tabs)")


@pytest.mark.parametrize(
    "text",
    [
        "a: !!python/object/apply:os.system [echo hi]\n",
        "a: !!python/name:os.system\n",
        "a: !custom 1\n",
        "a: !!set {x, y}\n",
    ],
)
def test_no_object_construction_only_plain_data(text: str) -> None:
    (message,) = problems(text)
    assert message.startswith("f.yaml:1:4 a: unsupported tag")


@pytest.mark.parametrize(
    ("scalar", "value"),
    [
        ("8:30", "8:30"),  # YAML 1.1: 510 (base 60)
        ("08:30", "08:30"),
        ("0251", "0251"),  # YAML 1.1: octal 169; a phone area code here
        ("02584561234", "02584561234"),
        ("13800138000", 13800138000),
        ("no", "no"),  # YAML 1.1: false (the "Norway problem")
        ("on", "on"),
        ("true", True),
        ("False", False),
        ("~", None),
        ("", None),
        ("12", 12),
        ("-3", -3),
        ("1.5", 1.5),
        ("1e3", 1000.0),
        ("0x1F", 31),
        ("2026-10-01", dt.date(2026, 10, 1)),
        ('"12"', "12"),
        ("'true'", "true"),
        ("!!str 12", "12"),
        ("!!int '12'", 12),
    ],
)
def test_scalars_follow_yaml_1_2_core_rules(scalar: str, value: object) -> None:
    assert load_yaml(f"a: {scalar}\n", "f.yaml").data == {"a": value}


def test_keys_stay_as_written() -> None:
    data = load_yaml("3: a\n2026-10-01: b\nyes: c\n0251: d\n", "f.yaml").data
    assert data == {"3": "a", "2026-10-01": "b", "yes": "c", "0251": "d"}


def test_impossible_date_is_an_error() -> None:
    assert problems("a: 2026-02-30\n") == [
        "f.yaml:1:4 a: '2026-02-30' is not a real calendar date/time"
    ]


def test_anchors_aliases_and_merge_keys() -> None:
    doc = load_yaml(
        "base: &b {ring_timeout_s: 15, wrap_up_s: 30}\n"
        "q:\n"
        "  <<: *b\n"
        "  wrap_up_s: 10\n"
        "list: [*b]\n",
        "f.yaml",
    )
    assert doc.data["q"] == {"ring_timeout_s": 15, "wrap_up_s": 10}
    assert doc.data["list"] == [{"ring_timeout_s": 15, "wrap_up_s": 30}]
    # The explicit key is where it is written; the merged one where its anchor is.
    assert doc.locate(("q", "wrap_up_s")) == Position(4, 14)
    assert doc.locate(("q", "ring_timeout_s")) == Position(1, 27)


def test_recursive_alias_is_an_error_not_a_hang() -> None:
    (message,) = problems("a: &x [1, *x]\n")
    assert "refers back to its own anchor" in message


def test_alias_bomb_is_stopped() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 8):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    (message,) = problems("\n".join(lines) + "\n")
    assert f"more than {MAX_VALUES} values" in message


def test_empty_document_is_none() -> None:
    assert load_yaml("# nothing\n", "f.yaml").data is None


def test_two_documents_are_an_error() -> None:
    (message,) = problems("a: 1\n---\nb: 2\n")
    assert message.startswith("f.yaml:2:1 YAML syntax error: expected a single document")


def test_unreadable_and_non_utf8_files(tmp_path: pytest.TempPathFactory) -> None:
    from pathlib import Path

    base = Path(str(tmp_path))
    with pytest.raises(YamlProblems) as caught:
        load_yaml_file(base / "absent.yaml", "absent.yaml")
    assert str(caught.value.problems[0]).startswith("absent.yaml:1:1 cannot read file")
    (base / "gbk.yaml").write_bytes("a: ok\nb: 中文\n".encode("gbk"))
    with pytest.raises(YamlProblems) as caught:
        load_yaml_file(base / "gbk.yaml", "gbk.yaml")
    assert str(caught.value.problems[0]) == "gbk.yaml:2:4 file is not valid UTF-8 text"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab:- \n\t[]{},&*!|>'\"#%@`?~0129.")), max_size=80))
def test_any_text_gives_data_or_yaml_problems(text: str) -> None:
    try:
        doc = load_yaml(text, "f.yaml")
    except YamlProblems as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.file == "f.yaml" and problem.line >= 1 and problem.column >= 1
    else:
        for spot in doc.spots.values():
            assert spot.value.line >= 1
