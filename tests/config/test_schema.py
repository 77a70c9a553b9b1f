"""Schema pieces used directly by other parts: time ranges, mode overrides, caller lists."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from hotline.config.schema import (
    CallerList,
    Queue,
    Roster,
    TimeRange,
    WeekDay,
    apply_queue_override,
    merge_patch,
)
from hotline.vocabulary.times import parse_hhmm


@pytest.mark.parametrize(
    ("text", "start", "end", "overnight"),
    [
        ("08:30-12:00", 510, 720, False),
        ("22:00-06:00", 1320, 360, True),
        ("00:00-24:00", 0, 1440, False),
        ("8:05-9:00", 485, 540, False),
        ("18:00-00:00", 1080, 0, True),
    ],
)
def test_time_ranges(text: str, start: int, end: int, overnight: bool) -> None:
    parsed = TimeRange.model_validate(text)
    assert (parsed.start, parsed.end, parsed.overnight) == (start, end, overnight)
    assert str(parsed) == ("08:05-09:00" if text == "8:05-9:00" else text)


@pytest.mark.parametrize("text", ["24:00-08:00", "08:00", "08:00-08:00", "8-9", "25:00-26:00"])
def test_bad_time_ranges(text: str) -> None:
    with pytest.raises(ValidationError):
        TimeRange.model_validate(text)


def test_parse_hhmm() -> None:
    assert parse_hhmm("00:00") == 0 and parse_hhmm("24:00") == 1440
    with pytest.raises(ValueError, match="not a time of day"):
        parse_hhmm("12:60")


def test_weekday_of() -> None:
    assert WeekDay.of(dt.date(2026, 11, 23)) is WeekDay.MON
    assert WeekDay.of(dt.date(2026, 11, 29)) is WeekDay.SUN


SCALAR_OVERRIDES = st.fixed_dictionaries(
    {},
    optional={
        "priority": st.integers(-50, 50),
        "min_level": st.integers(1, 5),
        "wrap_up_s": st.integers(0, 300),
        "ring_timeout_s": st.integers(1, 60),
        "max_wait_s": st.integers(1, 3600),
        "strategy": st.sampled_from(["longest_idle", "fewest_calls"]),
        "callback": st.fixed_dictionaries({}, optional={"attempts": st.integers(1, 10)}),
        "announce": st.fixed_dictionaries({}, optional={"every_s": st.integers(1, 600)}),
    },
)
BASE = Queue.model_validate({
    "skills": ["general"], "priority": 3, "wrap_up_s": 45,
    "callback": {"order": "citizen_first", "attempts": 2},
    "overflow": {"after_s": 60, "to": "backup"},
})


@settings(max_examples=100, deadline=None)
@given(patch=SCALAR_OVERRIDES)
def test_override_changes_only_what_it_names(patch: dict[str, Any]) -> None:
    result = apply_queue_override(BASE, patch)
    before, after = BASE.model_dump(mode="json"), result.model_dump(mode="json")
    for field, value in before.items():
        if field not in patch:
            assert after[field] == value, field
        elif isinstance(patch[field], dict):
            for sub, sub_value in value.items():  # nested: merged field by field
                assert after[field][sub] == patch[field].get(sub, sub_value)
        else:
            assert after[field] == patch[field]


def test_override_of_nested_object_keeps_unnamed_fields() -> None:
    result = apply_queue_override(BASE, {"overflow": {"after_s": 30}})
    assert result.overflow is not None
    assert (result.overflow.after_s, result.overflow.to) == (30, "backup")


def test_invalid_override_raises_validation_error() -> None:
    with pytest.raises(ValidationError):
        apply_queue_override(BASE, {"min_level": 9})


def test_merge_patch_does_not_touch_its_inputs() -> None:
    base = {"a": {"b": 1, "c": 2}}
    patch = {"a": {"b": 5}}
    assert merge_patch(base, patch) == {"a": {"b": 5, "c": 2}}
    assert base == {"a": {"b": 1, "c": 2}} and patch == {"a": {"b": 5}}


def test_caller_list_numbers_and_prefixes() -> None:
    vip = CallerList.model_validate({"numbers": [13800138000, "02584561234"],
                                     "prefixes": ["0258399"]})
    assert vip.contains("13800138000") and vip.contains("02584561234")
    assert vip.contains("02583990001") and not vip.contains("0258398")


def test_roster_most_specific_day_wins() -> None:
    roster = Roster.model_validate({
        "daily": {"day": ["1"]},
        "days": {"sat": {"day": ["2"]}, "2026-11-28": {"day": ["3"]}},
    })
    assert roster.plan_for(dt.date(2026, 11, 27)) == {"day": ("1",)}
    assert roster.plan_for(dt.date(2026, 12, 5)) == {"day": ("2",)}  # another Saturday
    assert roster.plan_for(dt.date(2026, 11, 28)) == {"day": ("3",)}
    assert roster.agent_ids() == {"1", "2", "3"}
