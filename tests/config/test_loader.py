"""Loading whole centres: the shipped sample, split files, many problems at once, and
fuzzing that only ever produces `ConfigError`."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.conftest import FIXTURES
from config.editing import CentreCopy
from hotline.config.loader import Centre, load_centre
from hotline.vocabulary.problems import ConfigError
from hotline.vocabulary.queueing import ExitAction, Strategy

# --- the shipped sample -----------------------------------------------------------------


def test_sample_centre_loads_clean(sample: Centre) -> None:
    assert sample.info.name == "南京12345政务服务便民热线"
    assert set(sample.lines) >= {"12345", "12345-8", "12350", "12380", "962110", "12345-9"}
    assert {n: line.flow for n, line in sample.lines.items()}["962110"] == "police"
    assert sample.lines["12345-9"].language == "en"
    assert set(sample.queues) == {"general", "enterprise", "complaints", "progress", "epidemic",
                                  "safety", "police", "english"}
    assert set(sample.config.skills) == {"general", "enterprise", "complaints", "epidemic",
                                         "safety", "police", "english"}
    assert set(sample.modes) == {"normal", "emergency"}
    assert len(sample.agents) == 128
    assert len({seat.endpoint for seat in sample.seats.values()}) == len(sample.seats)
    for line in sample.lines.values():
        assert line.flow in sample.flows
    assert len(sample.prompts) > 0


def test_sample_emergency_mode_changes_queues_together(sample: Centre) -> None:
    normal, emergency = sample.queues_in("normal"), sample.queues_in("emergency")
    assert normal == dict(sample.queues)
    epidemic_n, epidemic_e = normal["epidemic"], emergency["epidemic"]
    assert epidemic_e.tag_priority["epidemic"] > epidemic_n.tag_priority["epidemic"]
    assert epidemic_e.wrap_up_s < epidemic_n.wrap_up_s
    assert epidemic_e.max_wait_s is not None and epidemic_n.max_wait_s is not None
    assert epidemic_e.max_wait_s < epidemic_n.max_wait_s
    # Partial nested override: the trigger changes, the destination is kept.
    assert epidemic_e.overflow is not None and epidemic_n.overflow is not None
    assert epidemic_e.overflow.to == epidemic_n.overflow.to == "general"
    assert epidemic_e.overflow.after_s == 90
    assert emergency["safety"] == normal["safety"]  # no override: untouched
    assert sample.modes["emergency"].roster == "emergency"
    roster = sample.rosters["emergency"]
    assert roster.reserve and roster.guests
    assert all(sample.seats[g.seat].guest for g in roster.guests.values() if g.seat)


def test_sample_roster_plans_by_day(sample: Centre) -> None:
    import datetime as dt

    normal = sample.rosters["normal"]
    saturday, monday = dt.date(2026, 11, 28), dt.date(2026, 11, 23)
    assert normal.plan_for(monday) == normal.daily
    assert normal.plan_for(saturday) == normal.days["sat"]
    assert normal.plan_for(dt.date(2026, 10, 1)) == normal.days["2026-10-01"]
    assert sample.shifts["evening"].range.overnight is False  # 15:00-23:00
    assert sample.shifts["night"].range.overnight is True  # 23:00-07:00
    assert sample.shifts["long_night"].range.overnight is True


def test_queue_defaults_are_the_documented_ones(centre: CentreCopy) -> None:
    loaded = load_centre(centre.root)
    backup = loaded.queues["backup"]
    assert (backup.min_level, backup.ring_timeout_s, backup.wrap_up_s) == (1, 15, 30)
    assert backup.strategy is Strategy.LONGEST_IDLE and backup.exit is ExitAction.RECORD
    assert (backup.target.answered_pct, backup.target.within_s) == (80, 15)
    assert backup.announce.first_after_s == 30 and backup.announce.every_s == 60
    assert backup.callback.attempts == 3 and backup.callback.retry_spacing_s == 300
    assert loaded.queues_in("emergency")["general"].wrap_up_s == 10
    assert loaded.line_in("12345", "emergency") == loaded.lines["12345"]


# --- split files --------------------------------------------------------------------------


def test_sections_may_live_in_included_files(centre: CentreCopy) -> None:
    text = (centre.root / "centre.yaml").read_text(encoding="utf-8")
    head, _, people = text.partition("agents:\n")
    centre.write("centre.yaml", head.replace(
        "languages:", "files: {include: [people.yaml]}\nlanguages:"))
    centre.write("people.yaml", "agents:\n" + people)
    loaded = load_centre(centre.root)
    assert set(loaded.agents) == {"1001", "1002"}
    # Problems in an included file name that file and its own line numbers.
    centre.edit("people.yaml", "team: day, skills: {general: 2",
                "team: nite, skills: {general: 2")
    assert centre.problems() == [
        "c/people.yaml:3:28 agents.\"1002\".team: no team named 'nite' (known: day)"
    ]


def test_a_section_defined_twice_is_reported_where_it_repeats(centre: CentreCopy) -> None:
    centre.edit("centre.yaml", "languages:", "files: {include: [more.yaml]}\nlanguages:")
    centre.write("more.yaml", "# more\nskills:\n  english: again\nfiles: {}\n")
    assert centre.problems() == [
        "c/more.yaml:2:1 skills: section 'skills' is already defined in c/centre.yaml:12",
        "c/more.yaml:4:1 files: only centre.yaml may say which files make up the centre",
    ]


def test_flows_and_prompts_locations_come_from_files_section(centre: CentreCopy) -> None:
    shutil.move(centre.root / "flows", centre.root / "ivr")
    (centre.root / "text").mkdir()
    shutil.move(centre.root / "prompts.yaml", centre.root / "text" / "prompts.yaml")
    assert centre.problems() == [
        "c/centre.yaml:2:1 files.flows: flows directory not found: c/flows",
        "c/centre.yaml:2:1 files.prompts: prompt catalogue not found: c/prompts.yaml",
    ]
    centre.edit("centre.yaml", "languages:",
                "files: {flows: ivr, prompts: text/prompts.yaml}\nlanguages:")
    assert set(load_centre(centre.root).flows) == {"main"}


def test_centre_yaml_may_be_named_directly(centre: CentreCopy) -> None:
    assert load_centre(centre.root / "centre.yaml").info.name == "Test centre"


def test_missing_centre_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as caught:
        load_centre("nothing-here")
    (problem,) = caught.value.problems
    assert str(problem).startswith("nothing-here/centre.yaml:1:1 cannot read file")


def test_not_a_mapping(centre: CentreCopy) -> None:
    centre.write("centre.yaml", "- just\n- a list\n")
    assert centre.problems()[0] == (
        "c/centre.yaml:1:1 the centre file must be a mapping of sections (centre:, lines:, ...)"
    )


# --- every problem at once ----------------------------------------------------------------


def test_many_problems_are_reported_at_once_in_file_order(centre: CentreCopy) -> None:
    centre.edit("centre.yaml", "timezone: Asia/Shanghai", "timezone: Mars/Olympus")
    centre.edit("centre.yaml", "min_level: 1", "min_level: 9")
    centre.edit("centre.yaml", "s2: PJSIP/8002", "s2: PJSIP")
    centre.edit("centre.yaml", 'end: "17:00"', 'end: "5pm"')
    centre.edit("flows/main.yaml", "    next: to_queue", "    next: to_queue\n    loop: true")
    centre.append("prompts.yaml", "greeting: again\n")
    problems = centre.problems()
    assert [p.split(" ")[0] for p in problems] == [
        "c/centre.yaml:4:13",
        "c/centre.yaml:23:16",
        "c/centre.yaml:38:7",
        "c/centre.yaml:40:30",
        "c/flows/main.yaml:8:5",
        "c/prompts.yaml:4:1",
    ]


def test_flow_problems_come_with_centre_reference_problems(centre: CentreCopy) -> None:
    centre.edit("centre.yaml", "s2: PJSIP/8002", "s2: PJSIP/8001")
    centre.edit("flows/main.yaml", "queue: general", "queue: generl")
    problems = centre.problems()
    assert problems[0] == (
        "c/centre.yaml:38:7 seats.s2: endpoint PJSIP/8001 is already used by seat 's1'")
    assert problems[1].startswith("c/flows/main.yaml:10:12 nodes.to_queue.queue: ")
    assert len(problems) == 2


def test_flow_file_with_yml_extension_is_reported(centre: CentreCopy) -> None:
    centre.write("flows/extra.yml", "name: extra\n")
    assert centre.problems() == [
        "c/flows/extra.yml:1:1 flow files end in .yaml: rename it to extra.yaml"]


def test_shifts_of_one_weekday_plan_do_not_run_into_the_next_day(centre: CentreCopy) -> None:
    # Monday's late shift ends at 01:00 on Tuesday; Monday's night shift was at 00:00 on
    # Monday, so the same agent may work both (a `daily` plan would double-book them).
    centre.edit("centre.yaml", 'day: {start: "08:00", end: "17:00"}',
                'day: {start: "08:00", end: "17:00"}\n  late: {start: "16:00", end: "01:00"}'
                '\n  night: {start: "00:00", end: "08:00"}')
    centre.edit("centre.yaml", "    daily:",
                '    days:\n      mon: {late: ["1001"], night: ["1001"]}\n    daily:')
    assert load_centre(centre.root).rosters["normal"].days["mon"]["late"] == ("1001",)


def test_shape_and_reference_problems_together_without_follow_ons(centre: CentreCopy) -> None:
    # `queues` is invalid, so nothing is said about names it defines (the emergency
    # override of queue `general`, the flow's queue): those would be follow-on errors.
    centre.edit("centre.yaml", "min_level: 1", "min_level: zero")
    centre.edit("centre.yaml", "flow: main", "flow: mian")
    centre.edit("centre.yaml", "s2: PJSIP/8002", "s2: PJSIP/8001")
    assert centre.problems() == [
        "c/centre.yaml:9:11 lines.\"12345\".flow: no flow named 'mian' (did you mean 'main'?)",
        "c/centre.yaml:23:16 queues.backup.min_level: expected a whole number, got 'zero'",
        "c/centre.yaml:38:7 seats.s2: endpoint PJSIP/8001 is already used by seat 's1'",
    ]


def test_a_misspelt_section_is_not_followed_by_unknown_names(centre: CentreCopy) -> None:
    centre.edit("centre.yaml", "teams:", "teems:")
    centre.edit("centre.yaml", "skills: {general: 4}", "skills: {general: 4, epidemc: 3}")
    assert centre.problems() == [
        "c/centre.yaml:14:1 teems: unknown field 'teems' (did you mean 'teams'?)",
        "c/centre.yaml:34:54 agents.\"1001\".skills.epidemc: no skill named 'epidemc' "
        "(known: english, general)",
    ]


# --- fuzzing ------------------------------------------------------------------------------

KEYS = ["centre", "name", "timezone", "lines", "flow", "queues", "general", "backup",
        "skills", "min_level", "expansion", "after_s", "any_agent", "overflow", "to", "modes",
        "normal", "emergency", "schedules", "office", "mon", "always", "agents", "team",
        "seats", "shifts", "start", "end", "rosters", "daily", "days", "reserve", "guests",
        "holidays", "workdays", "caller_lists", "numbers", "password", "<<", "files",
        "include", "type", "nodes", "next", "prompts", "zh"]
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["general", "backup", "main", "08:30-12:00", "24:00", "PJSIP/8001",
                     "2026-02-30", "1001", "day", "hello", "play", "queue", "", "a b"]),
    st.text(max_size=8),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(KEYS), inner, max_size=3),
    max_leaves=12,
)


def _paths(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*path, index))
    return found


def _replace(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    copy = dict(data) if isinstance(data, dict) else list(data)
    copy[path[0]] = _replace(copy[path[0]], path[1:], value)  # type: ignore[index]
    return copy


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_changes_give_config_error_never_another_exception(data: st.DataObject
                                                                  ) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "c"
        shutil.copytree(FIXTURES / "minimal", root)
        file = data.draw(st.sampled_from(["centre.yaml", "flows/main.yaml", "prompts.yaml"]))
        original = yaml.safe_load((root / file).read_text(encoding="utf-8"))
        path = data.draw(st.sampled_from(_paths(original)))
        changed = _replace(original, path, data.draw(VALUES))
        (root / file).write_text(yaml.safe_dump(changed, allow_unicode=True), encoding="utf-8")
        try:
            load_centre(root)
        except ConfigError as exc:
            assert exc.problems
            assert all(p.line >= 1 and p.column >= 1 for p in exc.problems)


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=200))
def test_random_text_as_centre_file_gives_config_error(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "c"
        shutil.copytree(FIXTURES / "minimal", root)
        (root / "centre.yaml").write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError):
            load_centre(root)


def test_names_mentioning_passwords_are_not_secrets(centre: CentreCopy) -> None:
    # A prompt about passwords or a node named after them holds no secret.
    centre.append("prompts.yaml", "enter_password:\n  zh: 请输入密码。\n  en: Enter it.\n")
    centre.append("centre.yaml", "caller_lists:\n  reset_token:\n    numbers: ['110']\n")
    loaded = load_centre(centre.root)
    assert "enter_password" in loaded.prompts
    assert "reset_token" in loaded.config.caller_lists
