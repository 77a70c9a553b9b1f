"""Business hours and holidays: properties against a brute-force week, and the sample's
2026 calendar (National Day, make-up working days)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from hotline.config.calendar import (
    CentreEnvironment,
    environment_for,
    is_holiday,
    is_open,
    is_workday,
)
from hotline.config.loader import Centre
from hotline.config.schema import Holiday, HolidayCalendar, Schedule, TimeRange, WeekDay

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAYS = [d.value for d in WeekDay]
MONDAY = dt.date(2026, 11, 23)  # a plain week: no holiday in it


def ranges() -> st.SearchStrategy[TimeRange]:
    return st.builds(
        lambda s, e: (s, e),
        st.integers(0, 24 * 60 - 1),
        st.integers(0, 24 * 60),
    ).filter(lambda p: p[0] != p[1] % (24 * 60) or p[1] == 24 * 60).map(
        lambda p: TimeRange(start=p[0], end=p[1])
    )


weeks = st.dictionaries(st.sampled_from(DAYS), st.lists(ranges(), min_size=1, max_size=3),
                        min_size=1)


def open_minutes(week: dict[str, list[TimeRange]]) -> set[tuple[int, int]]:
    """Reference: every (weekday index, minute) that is open, marked minute by minute."""
    result: set[tuple[int, int]] = set()
    for day, day_ranges in week.items():
        index = DAYS.index(day)
        for r in day_ranges:
            if r.end > r.start:
                result.update((index, m) for m in range(r.start, r.end))
            else:  # crosses midnight into the next day
                result.update((index, m) for m in range(r.start, 24 * 60))
                result.update(((index + 1) % 7, m) for m in range(0, r.end))
    return result


@settings(max_examples=150, deadline=None)
@given(week=weeks, day=st.integers(0, 6), minute=st.integers(0, 24 * 60 - 1))
def test_is_open_matches_a_minute_by_minute_week(
    week: dict[str, list[TimeRange]], day: int, minute: int
) -> None:
    schedule = Schedule(**week)  # type: ignore[arg-type]
    local = dt.datetime.combine(MONDAY + dt.timedelta(days=day), dt.time(), SHANGHAI)
    local += dt.timedelta(minutes=minute)
    assert is_open(schedule, local) == ((day, minute) in open_minutes(week))


@settings(max_examples=100, deadline=None)
@given(r=ranges(), day=st.integers(0, 6))
def test_start_is_inside_and_end_is_outside(r: TimeRange, day: int) -> None:
    assume(r.end != 24 * 60 or r.start != 0)  # a whole day has no outside
    schedule = Schedule(**{DAYS[day]: [r]})  # type: ignore[arg-type]
    start_day = MONDAY + dt.timedelta(days=day)
    start = dt.datetime.combine(start_day, dt.time(), SHANGHAI) + dt.timedelta(minutes=r.start)
    length = (r.end - r.start) % (24 * 60) or 24 * 60
    end = start + dt.timedelta(minutes=length)
    assert is_open(schedule, start)
    assert is_open(schedule, end - dt.timedelta(minutes=1))
    assert not is_open(schedule, end)
    assert not is_open(schedule, start - dt.timedelta(minutes=1))


@settings(max_examples=100, deadline=None)
@given(day=st.integers(0, 13), minute=st.integers(0, 24 * 60 - 1))
def test_always_is_open_unless_a_closing_holiday(day: int, minute: int) -> None:
    when = dt.datetime.combine(MONDAY + dt.timedelta(days=day), dt.time(), SHANGHAI)
    when += dt.timedelta(minutes=minute)
    always = Schedule(always=True)
    holiday = HolidayCalendar(holidays=(Holiday(name="x", start=when.date()),))
    assert is_open(always, when)
    assert not is_open(always, when, holiday)
    assert is_open(always, when, holiday.model_copy(update={"closes_lines": False}))


def test_a_holiday_closes_the_overnight_range_that_starts_on_it() -> None:
    night = Schedule(fri=[TimeRange(start=22 * 60, end=6 * 60)])
    friday = dt.date(2026, 11, 27)
    calendar = HolidayCalendar(holidays=(Holiday(name="x", start=friday),))
    saturday_3am = dt.datetime(2026, 11, 28, 3, 0, tzinfo=SHANGHAI)
    assert is_open(night, saturday_3am)
    assert not is_open(night, saturday_3am, calendar)


def test_make_up_workday_uses_the_configured_weekday_hours() -> None:
    office = Schedule(mon=[TimeRange(start=8 * 60, end=12 * 60)],
                      fri=[TimeRange(start=9 * 60, end=10 * 60)])
    saturday = dt.date(2026, 11, 28)
    calendar = HolidayCalendar(workdays=(saturday,))
    at_11 = dt.datetime(2026, 11, 28, 11, 0, tzinfo=SHANGHAI)
    assert not is_open(office, at_11)
    assert is_open(office, at_11, calendar)  # Monday's hours by default
    as_friday = calendar.model_copy(update={"workday_hours_from": WeekDay.FRI})
    assert not is_open(office, at_11, as_friday)
    assert is_workday(calendar, saturday) and not is_holiday(calendar, saturday)


# --- the sample centre's calendar and the IVR Environment ------------------------------


def epoch(*args: int) -> float:
    return dt.datetime(*args, tzinfo=SHANGHAI).timestamp()  # type: ignore[misc]


@pytest.mark.parametrize(
    ("when", "open_"),
    [
        ((2026, 10, 12, 8, 29), False),  # Monday before opening
        ((2026, 10, 12, 8, 30), True),
        ((2026, 10, 12, 11, 59), True),
        ((2026, 10, 12, 12, 0), False),  # lunch
        ((2026, 10, 12, 13, 30), True),
        ((2026, 10, 12, 17, 30), False),
        ((2026, 10, 1, 10, 0), False),  # National Day (Thursday)
        ((2026, 10, 7, 10, 0), False),  # last day of the holiday
        ((2026, 10, 10, 9, 0), True),  # Saturday, make-up working day
        ((2026, 10, 11, 9, 0), False),  # an ordinary Sunday
        ((2026, 2, 14, 9, 0), True),  # Saturday before Spring Festival, worked
        ((2026, 2, 16, 9, 0), False),  # Spring Festival
    ],
)
def test_sample_office_hours(sample: Centre, when: tuple[int, ...], open_: bool) -> None:
    env = CentreEnvironment(sample.config)
    assert env.is_open("office", epoch(*when)) is open_


def test_sample_environment_answers_the_ivr(sample: Centre) -> None:
    env = environment_for(sample.config)
    national_day = epoch(2026, 10, 1, 10, 0)
    assert env.mode == "normal"
    assert env.is_holiday("cn", national_day)
    assert not env.is_holiday("cn", epoch(2026, 10, 10, 10, 0))
    assert env.is_open("always", national_day)
    assert env.minute_of_day(epoch(2026, 10, 1, 13, 45)) == 13 * 60 + 45
    assert env.caller_in("vip_enterprises", "02584561234")
    assert env.caller_in("vip_enterprises", "02583991234")  # by prefix
    assert not env.caller_in("vip_enterprises", "13800138000")
    assert env.line_schedule("12345") is None
    assert env.line_schedule("12345-8") == "office"
    with pytest.raises(KeyError):
        env.is_open("ofice", national_day)


def test_mode_changes_line_schedules_and_deadlines(sample: Centre) -> None:
    normal = CentreEnvironment(sample.config)
    emergency = normal.with_mode("emergency")
    sunday = epoch(2026, 10, 11, 10, 0)
    assert emergency.mode == "emergency" and normal.mode == "normal"
    assert emergency.line_schedule("12345-8") == "always"
    assert emergency.line_open("12345-8", sunday)
    assert not normal.line_open("12345-8", sunday)
    assert emergency.work_order_deadline_hours()["urgent"] < (
        normal.work_order_deadline_hours()["urgent"])
    with pytest.raises(KeyError):
        normal.with_mode("panic")
