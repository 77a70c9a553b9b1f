"""Working time: deadlines in working days and hours on the centre's holiday calendar.

A working day is Monday to Friday unless it is a public holiday, plus every make-up
working day (调休), exactly as `hotline.config.calendar.is_workday` decides. Working
hours are one or more daily ranges (e.g. 09:00-12:00 and 13:30-17:30). Times are epoch
seconds passed in by the caller; nothing here reads a clock.

Counting rule for "N working days" (the usual 12345 reading of 自受理之日起 N 个工作日):
day 1 is the first working day after the day the clock starts, or the start day itself
when the clock starts before that day's working hours begin; the deadline is the close
of business on day N.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo

from hotline.config.calendar import is_workday
from hotline.config.schema import HolidayCalendar
from hotline.vocabulary.times import parse_hhmm, show_hhmm

# A calendar with no working day for ten years is a configuration mistake, not a wait.
_MAX_DAYS_SEARCHED = 3660
_PERIOD = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([dh])\s*$")


@dataclass(frozen=True, slots=True)
class WorkingPeriod:
    """A deadline length: whole working days, or working hours (for short, urgent ones)."""

    days: int = 0
    hours: float = 0.0

    def __post_init__(self) -> None:
        if self.days < 0 or self.hours < 0 or (self.days > 0) == (self.hours > 0):
            raise ValueError("a working period is a positive number of days or of hours")

    @classmethod
    def parse(cls, value: object) -> WorkingPeriod:
        """`5` or `"5d"` -> 5 working days; `"4h"`, `"1.5h"` -> working hours."""
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return cls(days=value)
        if isinstance(value, str):
            match = _PERIOD.match(value)
            if match is not None and float(match.group(1)) > 0:
                amount, unit = match.groups()
                if unit == "d":
                    if "." in amount:
                        raise ValueError(f"{value!r}: working days are whole days; use hours")
                    return cls(days=int(amount))
                return cls(hours=float(amount))
        raise ValueError(
            f"{value!r} is not a positive working period"
            ' (write 5 or "5d" for days, "4h" for hours)'
        )

    def __str__(self) -> str:
        return f"{self.days}d" if self.days else f"{self.hours:g}h"


@dataclass(frozen=True, slots=True)
class WorkingHours:
    """Daily working ranges in minutes after local midnight, sorted and disjoint."""

    ranges: tuple[tuple[int, int], ...]

    def __post_init__(self) -> None:
        if not self.ranges:
            raise ValueError("working hours need at least one range")
        previous_end = -1
        for start, end in self.ranges:
            if not 0 <= start < end <= 24 * 60:
                raise ValueError(f"{show_hhmm(start)}-{show_hhmm(end)} is not a daytime range")
            if start < previous_end:
                raise ValueError("working ranges must be in order and must not overlap")
            previous_end = end

    @classmethod
    def parse(cls, value: str | list[str] | tuple[str, ...]) -> WorkingHours:
        """`"09:00-17:30"` or `["09:00-12:00", "13:30-17:30"]`."""
        texts = [value] if isinstance(value, str) else list(value)
        ranges: list[tuple[int, int]] = []
        for text in texts:
            parts = text.split("-")
            if len(parts) != 2:
                raise ValueError(f"{text!r} is not a range as HH:MM-HH:MM (e.g. 09:00-17:30)")
            ranges.append((parse_hhmm(parts[0]), parse_hhmm(parts[1])))
        return cls(tuple(ranges))

    @property
    def opens(self) -> int:
        return self.ranges[0][0]

    @property
    def closes(self) -> int:
        return self.ranges[-1][1]

    def __str__(self) -> str:
        return ", ".join(f"{show_hhmm(s)}-{show_hhmm(e)}" for s, e in self.ranges)


@dataclass(frozen=True)
class WorkCalendar:
    """The centre's working time: holiday calendar + time zone + working hours."""

    calendar: HolidayCalendar
    zone: ZoneInfo
    hours: WorkingHours

    def is_working_day(self, day: dt.date) -> bool:
        return is_workday(self.calendar, day)

    def local_date(self, at: float) -> dt.date:
        return dt.datetime.fromtimestamp(at, tz=self.zone).date()

    def instant(self, day: dt.date, minute: int) -> float:
        """Epoch seconds of local `day` at `minute` after midnight (1440 = next midnight)."""
        if minute == 24 * 60:
            day, minute = day + dt.timedelta(days=1), 0
        local = dt.datetime.combine(day, dt.time(minute // 60, minute % 60), tzinfo=self.zone)
        return local.timestamp()

    def next_working_day(self, day: dt.date) -> dt.date:
        """The first working day strictly after `day`."""
        for offset in range(1, _MAX_DAYS_SEARCHED):
            candidate = day + dt.timedelta(days=offset)
            if self.is_working_day(candidate):
                return candidate
        raise ValueError(f"no working day within {_MAX_DAYS_SEARCHED} days after {day}")

    def intervals(self, day: dt.date) -> tuple[tuple[float, float], ...]:
        """Working intervals of `day` in epoch seconds (none on a day off)."""
        if not self.is_working_day(day):
            return ()
        return tuple((self.instant(day, s), self.instant(day, e)) for s, e in self.hours.ranges)


def add_working_days(calendar: WorkCalendar, start: float, days: int) -> float:
    """Close of business on working day `days` counted from `start` (see module doc)."""
    if days <= 0:
        raise ValueError("count at least one working day")
    day = calendar.local_date(start)
    starts_before_work = (
        calendar.is_working_day(day) and start < calendar.instant(day, calendar.hours.opens)
    )
    if not starts_before_work:
        day = calendar.next_working_day(day)
    for _ in range(days - 1):
        day = calendar.next_working_day(day)
    return calendar.instant(day, calendar.hours.closes)


def add_working_hours(calendar: WorkCalendar, start: float, hours: float) -> float:
    """The instant when `hours` of working time have passed since `start`."""
    if hours <= 0:
        raise ValueError("count a positive number of working hours")
    remaining = hours * 3600.0
    day = calendar.local_date(start)
    for _ in range(_MAX_DAYS_SEARCHED):
        for begin, end in calendar.intervals(day):
            begin = max(begin, start)
            if begin >= end:
                continue
            if end - begin >= remaining:
                return begin + remaining
            remaining -= end - begin
        day += dt.timedelta(days=1)
    raise ValueError(f"no working time within {_MAX_DAYS_SEARCHED} days of {start}")


def add_period(calendar: WorkCalendar, start: float, period: WorkingPeriod) -> float:
    if period.days:
        return add_working_days(calendar, start, period.days)
    return add_working_hours(calendar, start, period.hours)


def working_seconds_between(calendar: WorkCalendar, start: float, end: float) -> float:
    """Working time from `start` to `end`; negative when `end` is before `start`."""
    if end < start:
        return -working_seconds_between(calendar, end, start)
    total = 0.0
    day = calendar.local_date(start)
    last = calendar.local_date(end)
    while day <= last:
        for begin, finish in calendar.intervals(day):
            total += max(0.0, min(finish, end) - max(begin, start))
        day += dt.timedelta(days=1)
    return total


class Colour(StrEnum):
    """The department view's traffic light for an open order."""

    GREEN = "green"
    AMBER = "amber"  # less than the configured fraction of the time is left
    RED = "red"  # overdue


def time_left(due: float, at: float) -> float:
    """Seconds until `due` (negative once overdue)."""
    return due - at


def fraction_left(started: float, due: float, at: float) -> float:
    """Share of the allowed time still left, in [0, 1] (0 once overdue)."""
    allowed = due - started
    if allowed <= 0:
        return 0.0
    return min(1.0, max(0.0, (due - at) / allowed))


def status_colour(started: float, due: float, at: float, amber_below: float) -> Colour:
    """Red when overdue, amber when under `amber_below` of the time is left, else green."""
    if at >= due:
        return Colour.RED
    if fraction_left(started, due, at) < amber_below:
        return Colour.AMBER
    return Colour.GREEN
