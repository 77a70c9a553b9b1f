"""Business hours and holidays, evaluated purely from the configuration.

Times are epoch seconds (from the event being handled, never a clock read here) and are
turned into the centre's local wall-clock time with zoneinfo. A range that crosses
midnight belongs to the day it starts on: `fri: ["22:00-06:00"]` is open from Friday
22:00 to Saturday 06:00, and a holiday on Friday closes that whole night.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from zoneinfo import ZoneInfo

from hotline.config.schema import (
    CentreConfig,
    HolidayCalendar,
    Schedule,
    TimeRange,
    WeekDay,
)
from hotline.ivr.environment import Environment

MINUTES_PER_DAY = 24 * 60
_WHOLE_DAY = (TimeRange(start=0, end=MINUTES_PER_DAY),)
_WEEKEND = (WeekDay.SAT, WeekDay.SUN)


def local_time(at: float, zone: ZoneInfo) -> dt.datetime:
    """Wall-clock time in `zone` at epoch second `at`."""
    return dt.datetime.fromtimestamp(at, tz=zone)


def minute_of_day(local: dt.datetime) -> int:
    return local.hour * 60 + local.minute


def is_holiday(calendar: HolidayCalendar, day: dt.date) -> bool:
    """Whether `day` is a public holiday (make-up working days are not)."""
    return calendar.holiday_on(day) is not None


def is_workday(calendar: HolidayCalendar, day: dt.date) -> bool:
    """Monday to Friday unless a holiday; a make-up working day (调休) is a workday."""
    if day in calendar.workdays:
        return True
    return WeekDay.of(day) not in _WEEKEND and not is_holiday(calendar, day)


def day_ranges(
    schedule: Schedule, day: dt.date, calendar: HolidayCalendar | None
) -> tuple[TimeRange, ...]:
    """The ranges that start on `day` under `schedule`, holidays and make-up days applied."""
    if calendar is not None:
        if calendar.closes_lines and is_holiday(calendar, day):
            return ()
        if day in calendar.workdays and not schedule.always:
            return schedule.ranges(calendar.workday_hours_from)
    if schedule.always:
        return _WHOLE_DAY
    return schedule.ranges(WeekDay.of(day))


def is_open(
    schedule: Schedule, local: dt.datetime, calendar: HolidayCalendar | None = None
) -> bool:
    """Whether `schedule` is open at local wall-clock time `local` (start in, end out)."""
    minute = minute_of_day(local)
    today = local.date()
    for time_range in day_ranges(schedule, today, calendar):
        if time_range.overnight and minute >= time_range.start:
            return True
        if not time_range.overnight and time_range.start <= minute < time_range.end:
            return True
    # The after-midnight part of yesterday's overnight ranges.
    yesterday = today - dt.timedelta(days=1)
    return any(
        time_range.overnight and minute < time_range.end
        for time_range in day_ranges(schedule, yesterday, calendar)
    )


@dataclass(frozen=True)
class CentreEnvironment:
    """The IVR engine's `Environment` (hotline.ivr.environment) for a configured centre.

    Immutable: on a mode switch the centre makes a new one with `with_mode`, so a flow
    step always sees one consistent mode. Unknown schedule, calendar and list names raise
    `KeyError` (the loader has already checked every name the flows use).
    """

    config: CentreConfig
    mode: str = "normal"
    zone: ZoneInfo = field(init=False)

    def __post_init__(self) -> None:
        if self.mode not in self.config.modes:
            raise KeyError(f"no mode named {self.mode!r}")
        object.__setattr__(self, "zone", ZoneInfo(self.config.centre.timezone))

    def with_mode(self, mode: str) -> CentreEnvironment:
        return replace(self, mode=mode)

    def local(self, at: float) -> dt.datetime:
        return local_time(at, self.zone)

    def is_open(self, schedule: str, at: float) -> bool:
        chosen = self.config.schedules[schedule]
        calendar = self.config.holidays[chosen.calendar] if chosen.calendar else None
        return is_open(chosen, self.local(at), calendar)

    def is_holiday(self, calendar: str, at: float) -> bool:
        return is_holiday(self.config.holidays[calendar], self.local(at).date())

    def is_workday(self, calendar: str, at: float) -> bool:
        return is_workday(self.config.holidays[calendar], self.local(at).date())

    def caller_in(self, list_name: str, number: str) -> bool:
        return self.config.caller_lists[list_name].contains(number)

    def line_schedule(self, line: str) -> str | None:
        return self.config.line_in(line, self.mode).schedule

    def line_open(self, line: str, at: float) -> bool:
        """A line is open when enabled in the current mode and within its schedule."""
        current = self.config.line_in(line, self.mode)
        if not current.enabled:
            return False
        return current.schedule is None or self.is_open(current.schedule, at)

    def minute_of_day(self, at: float) -> int:
        return minute_of_day(self.local(at))

    def work_order_deadline_hours(self) -> Mapping[str, float]:
        """Response deadlines by urgency in the current mode (falling back to `normal`)."""
        own = self.config.modes[self.mode].work_order_deadline_hours
        base = self.config.modes["normal"].work_order_deadline_hours if (
            "normal" in self.config.modes) else {}
        return {**base, **own}


def environment_for(config: CentreConfig, mode: str = "normal") -> Environment:
    """The IVR engine's view of the centre in `mode` (type-checked against the protocol)."""
    return CentreEnvironment(config, mode)
