"""Deadlines on the sample centre's calendar: National Day 2026 and its make-up days."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotline.workorders.catalogue import Catalogue
from hotline.workorders.deadlines import (
    deadline_for,
    department_view,
    dispatch_action,
    insist_action,
    reopen_action,
    sign_by_for,
)
from hotline.workorders.lifecycle import apply
from hotline.workorders.working_time import (
    Colour,
    WorkCalendar,
    WorkingHours,
    WorkingPeriod,
    add_working_days,
    add_working_hours,
    status_colour,
    time_left,
    working_seconds_between,
)

from .helpers import AGENT, HOUR, SHANGHAI, new_order


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI).timestamp()


def test_sample_calendar_is_the_centres(calendar: WorkCalendar) -> None:
    assert str(calendar.hours) == "09:00-12:00, 13:30-17:30"
    assert not calendar.is_working_day(dt.date(2026, 10, 1))
    assert calendar.is_working_day(dt.date(2026, 10, 10))  # Saturday 调休
    assert calendar.is_working_day(dt.date(2026, 9, 20))  # Sunday 调休


def test_working_days_jump_national_day_and_count_the_make_up_saturday(
    calendar: WorkCalendar,
) -> None:
    # Wed 30 Sep: day 1 is Thu 8 Oct, day 2 Fri 9 Oct, day 3 the make-up Sat 10 Oct.
    assert add_working_days(calendar, at(2026, 9, 30, 10), 3) == at(2026, 10, 10, 17, 30)
    assert add_working_days(calendar, at(2026, 9, 30, 10), 4) == at(2026, 10, 12, 17, 30)


def test_a_make_up_sunday_is_a_working_day(calendar: WorkCalendar) -> None:
    assert add_working_days(calendar, at(2026, 9, 19, 10), 1) == at(2026, 9, 20, 17, 30)


def test_before_opening_the_day_itself_counts(calendar: WorkCalendar) -> None:
    assert add_working_days(calendar, at(2026, 10, 8, 8), 1) == at(2026, 10, 8, 17, 30)
    assert add_working_days(calendar, at(2026, 10, 8, 9), 1) == at(2026, 10, 9, 17, 30)


def test_working_hours_skip_lunch_nights_and_the_holiday(calendar: WorkCalendar) -> None:
    assert add_working_hours(calendar, at(2026, 3, 10, 11, 30), 1) == at(2026, 3, 10, 14)
    # 16:30 on the eve of National Day: one hour that day, the next on Thu 8 Oct.
    assert add_working_hours(calendar, at(2026, 9, 30, 16, 30), 2) == at(2026, 10, 8, 10)
    assert add_working_hours(calendar, at(2026, 10, 3, 12), 0.5) == at(2026, 10, 8, 9, 30)


def test_working_seconds_between_counts_only_working_time(calendar: WorkCalendar) -> None:
    start, end = at(2026, 9, 30, 16, 30), at(2026, 10, 8, 10)
    assert working_seconds_between(calendar, start, end) == 2 * HOUR
    assert working_seconds_between(calendar, end, start) == -2 * HOUR


@given(
    start=st.floats(at(2026, 1, 1), at(2026, 12, 20)),
    hours=st.floats(0.25, 40).map(lambda h: round(h * 4) / 4),
)
def test_adding_working_hours_adds_exactly_that_working_time(start: float, hours: float) -> None:
    calendar = _CALENDAR[0]
    end = add_working_hours(calendar, start, hours)
    assert end > start
    assert working_seconds_between(calendar, start, end) == pytest.approx(hours * HOUR)


_CALENDAR: list[WorkCalendar] = []


@pytest.fixture(autouse=True)
def _calendar_for_hypothesis(calendar: WorkCalendar) -> None:
    # @given tests cannot take function-scoped fixtures; the session calendar is immutable.
    if not _CALENDAR:
        _CALENDAR.append(calendar)


def test_deadlines_per_category_and_mode(catalogue: Catalogue, calendar: WorkCalendar) -> None:
    start = at(2026, 9, 30, 10)
    # 电梯故障: 2 working days normally, 4 working hours in emergency mode.
    lift = "010302"
    assert deadline_for(catalogue, calendar, lift, "normal", start) == at(2026, 10, 9, 17, 30)
    assert deadline_for(catalogue, calendar, lift, "emergency", start) == at(2026, 9, 30, 15, 30)
    # 物业服务 inherits 城乡建设's 10 days, and the file-wide 2 days in emergency.
    assert catalogue.deadline_period("010301", "normal") == WorkingPeriod(days=10)
    assert catalogue.deadline_period("010301", "emergency") == WorkingPeriod(days=2)
    assert catalogue.deadline_period(None, "normal") == WorkingPeriod(days=5)


def test_dispatch_builds_deadlines_and_the_sign_for_window(
    catalogue: Catalogue, calendar: WorkCalendar
) -> None:
    start = at(2026, 9, 30, 16)
    order = new_order(at=start)
    action = dispatch_action(catalogue, calendar, order, "scjg", "normal", start)
    assert action.sign_by == at(2026, 10, 8, 9, 30)  # 2 working hours across the holiday
    assert action.due == at(2026, 10, 9, 17, 30)
    short = dispatch_action(catalogue, calendar, order, "scjg", "emergency", start)
    assert short.sign_by == sign_by_for(catalogue, calendar, start, short.due) <= short.due


def test_insist_keeps_a_live_deadline_and_renews_a_dead_one(
    catalogue: Catalogue, calendar: WorkCalendar
) -> None:
    start = at(2026, 3, 10, 10)
    order = apply(new_order(at=start), dispatch_action(catalogue, calendar, new_order(), "fgj",
                                                     "normal", start), AGENT, start).order
    assert insist_action(catalogue, calendar, order, "请办理", start + HOUR).due is None
    assert order.due is not None
    late = insist_action(catalogue, calendar, order, "请办理", order.due + HOUR)
    assert late.due is not None and late.due > order.due
    reopen = reopen_action(catalogue, calendar, order, "normal", start + HOUR)
    assert reopen.department is None and reopen.sign_by <= reopen.due


def test_traffic_light_for_the_department_view(
    catalogue: Catalogue, calendar: WorkCalendar
) -> None:
    assert status_colour(0, 100, 10, 0.3) is Colour.GREEN
    assert status_colour(0, 100, 71, 0.3) is Colour.AMBER
    assert status_colour(0, 100, 100, 0.3) is Colour.RED
    assert time_left(100, 130) == -30
    start = at(2026, 3, 10, 10)
    order = apply(new_order(at=start), dispatch_action(catalogue, calendar, new_order(), "fgj",
                                                     "normal", start), AGENT, start).order
    assert department_view(new_order(), start, 0.3) is None
    view = department_view(order, start + HOUR, catalogue.amber_below_fraction_left)
    assert view is not None and view.colour is Colour.GREEN and view.seconds_left > 0
    assert order.due is not None
    late = department_view(order, order.due + 1, catalogue.amber_below_fraction_left)
    assert late is not None and late.colour is Colour.RED and late.seconds_left == -1


@pytest.mark.parametrize(
    ("text", "period"),
    [(5, WorkingPeriod(days=5)), ("3d", WorkingPeriod(days=3)), ("4h", WorkingPeriod(hours=4)),
     ("1.5h", WorkingPeriod(hours=1.5))],
)
def test_periods_parse(text: object, period: WorkingPeriod) -> None:
    assert WorkingPeriod.parse(text) == period


@pytest.mark.parametrize("text", [0, -1, "1.5d", "5 days", True, 2.5, "0h"])
def test_bad_periods_are_refused(text: object) -> None:
    with pytest.raises(ValueError):
        WorkingPeriod.parse(text)


def test_working_hours_must_be_ordered_daytime_ranges() -> None:
    assert WorkingHours.parse("09:00-17:30").ranges == ((540, 1050),)
    for bad in ("17:30-09:00", ["13:00-17:00", "09:00-14:00"], "9-17"):
        with pytest.raises(ValueError):
            WorkingHours.parse(bad)
