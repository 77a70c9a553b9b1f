"""The category tree and its configuration file: inheritance and located problems."""

from __future__ import annotations

import pytest

from hotline.vocabulary.problems import ConfigError
from hotline.workorders.catalogue import Catalogue, Category, load_catalogue, parse_catalogue
from hotline.workorders.working_time import WorkingPeriod

from .conftest import CONFIG


def test_sample_tree_inherits_departments_and_deadlines(catalogue: Catalogue) -> None:
    assert [c.code for c in catalogue.lineage("010301")] == ["010301", "0103", "01"]
    department = catalogue.department_for("010301")
    assert department is not None and department.name == "市房产局"
    noise = catalogue.department_for("010101")
    assert noise is not None and noise.code == "cgj"
    assert catalogue.deadline_period("010101", "normal") == WorkingPeriod(days=3)
    assert catalogue.deadline_period("010101", "emergency") == WorkingPeriod(days=1)
    assert [c.code for c in catalogue.children("0103")] == ["010301", "010302"]
    assert catalogue.calendar == "cn" and catalogue.sign_for == WorkingPeriod(hours=2)


def test_find_by_code_or_name(catalogue: Catalogue) -> None:
    for label in ("010302", "电梯故障", "Lift breakdowns"):
        found = catalogue.find(label)
        assert found is not None and found.code == "010302"
    assert catalogue.find("不存在") is None
    by_name = catalogue.find_department("市城市管理局")
    assert by_name is not None and by_name.code == "cgj"


BROKEN = """\
calendar: nowhere
working_hours: "17:30-09:00"
chase_at_fraction_left: 2
default_modes: {panic: 1d}
colour: red
departments:
  zjj: {name: 市住建局}
  fgj: {contact: "025-1"}
categories:
  - {code: "01", name: 城乡建设, department: zjj}
  - {code: "0103", name: 物业管理, parent: "09"}
  - {code: "0103", name: 又一个物业管理, parent: "01"}
  - {code: "02", name: 城市管理, deadline: "2.5d", department: cgj}
  - {code: "03", name: 甲, parent: "04"}
  - {code: "04", name: 乙, parent: "03", modes: {emergency: 0}}
  - {code: "0?", name: 坏}
"""


def test_every_problem_at_once_with_file_line_and_field() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_catalogue(BROKEN, "config/workorders.yaml", calendars={"cn"},
                        modes={"normal", "emergency"})
    shown = str(caught.value).splitlines()
    expected = [
        "config/workorders.yaml:1:11 calendar: no holiday calendar named 'nowhere' (known: cn)",
        "config/workorders.yaml:2:16 working_hours: 17:30-09:00 is not a daytime range",
        "config/workorders.yaml:3:25 chase_at_fraction_left: expected a fraction between 0 and 1",
        "config/workorders.yaml:4:17 default_modes.panic: no centre mode named 'panic'",
        "config/workorders.yaml:5:1 colour: unknown field",
        "config/workorders.yaml:8:3 departments.fgj.name: required text is missing",
        "config/workorders.yaml:11:40 categories[1].parent: no category with code '09'",
        "config/workorders.yaml:12:12 categories[2].code: duplicate category code '0103' "
        "(first at categories[1])",
        "config/workorders.yaml:13:40 categories[3].deadline: '2.5d': working days are whole",
        "config/workorders.yaml:13:60 categories[3].department: no department with code 'cgj'",
        "config/workorders.yaml:14:35 categories[4].parent: categories form a loop: 03 > 04 > 03",
        "config/workorders.yaml:15:60 categories[5].modes.emergency: 0 is not a positive",
        "config/workorders.yaml:16:12 categories[6].code: expected a category code",
    ]
    assert len(shown) == len(expected), "\n".join(shown)
    for line, start in zip(shown, expected, strict=True):
        assert line.startswith(start), (line, start)


def test_yaml_syntax_errors_are_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"x.yaml:1:\d+ YAML syntax error"):
        parse_catalogue("categories: [", "x.yaml")


def test_a_missing_file_is_a_located_problem(tmp_path: object) -> None:
    with pytest.raises(ConfigError, match="cannot read file"):
        load_catalogue(CONFIG / "no-such-file.yaml")


def test_minimal_file_uses_defaults() -> None:
    catalogue = parse_catalogue("categories:\n  - {code: 11, name: 其他}\n")
    assert set(catalogue.categories) == {"11"}  # an unquoted number is still a code
    assert catalogue.deadline_period("11", "normal") == WorkingPeriod(days=5)
    assert catalogue.department_for("11") is None


def test_a_hand_built_loop_is_refused_rather_than_spinning() -> None:
    looped = Catalogue({"01": Category("01", "甲", parent="02"),
                        "02": Category("02", "乙", parent="01")}, {})
    with pytest.raises(ValueError, match="loop"):
        looped.lineage("01")
