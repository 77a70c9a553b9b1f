"""What a flow decision may consult about the world, and a simple in-memory version.

The engine never reads a clock or a database: every `branch` asks an `Environment` with
the time carried by the event being handled. The centre implements it from its live
mode and its configured schedules, calendars and caller lists; tests and the CLI use
`StaticEnvironment`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Protocol


class Environment(Protocol):
    """The centre as a flow decision sees it."""

    @property
    def mode(self) -> str:
        """The centre's current mode (`normal`, `emergency`, ...)."""
        ...

    def is_open(self, schedule: str, at: float) -> bool:
        """Whether the named business-hours schedule is open at `at` (epoch seconds)."""
        ...

    def is_holiday(self, calendar: str, at: float) -> bool:
        """Whether the local day containing `at` is a holiday in the named calendar."""
        ...

    def caller_in(self, list_name: str, number: str) -> bool:
        """Whether `number` is on the named caller list (VIP enterprises, blocked, ...)."""
        ...

    def line_open(self, line: str, at: float) -> bool:
        """Whether the dialled line is within its business hours (lines without are always)."""
        ...

    def minute_of_day(self, at: float) -> int:
        """Local minutes since midnight at `at` (0..1439), in the centre's time zone."""
        ...


Hours = tuple[tuple[str, str], ...]
"""Open periods of one day as local ("HH:MM", "HH:MM") pairs, end excluded."""

OFFICE_HOURS: Mapping[int, Hours] = {d: (("08:30", "12:00"), ("13:30", "17:30")) for d in range(5)}
"""Monday (0) to Friday: a typical government office day."""

ALWAYS: Mapping[int, Hours] = {d: (("00:00", "24:00"),) for d in range(7)}


@dataclass(frozen=True)
class StaticEnvironment:
    """An in-memory `Environment` for tests, the CLI and the simulator.

    `hours` maps schedule -> weekday (Monday 0) -> open periods; a schedule listed in
    `closed_on` is closed on the holidays of that calendar. Time is read in `utc_offset_h`
    (China Standard Time by default). Unknown schedules, calendars and lists raise
    `KeyError`: a misspelt name is a bug, not "closed".
    """

    mode: str = "normal"
    hours: Mapping[str, Mapping[int, Hours]] = field(
        default_factory=lambda: {"office": OFFICE_HOURS, "always": ALWAYS}
    )
    holidays: Mapping[str, frozenset[date]] = field(default_factory=lambda: {"cn": frozenset()})
    closed_on: Mapping[str, str] = field(default_factory=lambda: {"office": "cn"})
    caller_lists: Mapping[str, frozenset[str]] = field(
        default_factory=lambda: {"vip_enterprises": frozenset(), "blocked": frozenset()}
    )
    line_schedules: Mapping[str, str] = field(default_factory=dict)
    utc_offset_h: float = 8.0

    def _local(self, at: float) -> datetime:
        return datetime.fromtimestamp(at, tz=timezone(timedelta(hours=self.utc_offset_h)))

    def is_open(self, schedule: str, at: float) -> bool:
        week = self.hours[schedule]
        calendar = self.closed_on.get(schedule)
        if calendar is not None and self.is_holiday(calendar, at):
            return False
        local = self._local(at)
        minute = local.hour * 60 + local.minute
        for start, end in week.get(local.weekday(), ()):
            if _minutes(start) <= minute < _minutes(end):
                return True
        return False

    def is_holiday(self, calendar: str, at: float) -> bool:
        return self._local(at).date() in self.holidays[calendar]

    def caller_in(self, list_name: str, number: str) -> bool:
        return number in self.caller_lists[list_name]

    def line_open(self, line: str, at: float) -> bool:
        schedule = self.line_schedules.get(line)
        return schedule is None or self.is_open(schedule, at)

    def minute_of_day(self, at: float) -> int:
        local = self._local(at)
        return local.hour * 60 + local.minute


def _minutes(hhmm: str) -> int:
    hours, _, minutes = hhmm.partition(":")
    return int(hours) * 60 + int(minutes)
