"""Shifts and rosters: who is scheduled now, who is logged in, who is missing.

Times are local to the centre (a ``zoneinfo`` zone), so daylight-saving and the date
line are the zone's business, not ours. A shift whose end is not after its start crosses
midnight: it belongs to the roster day it *starts* on and runs into the next morning.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo

from hotline.vocabulary.errors import RulesError


@dataclass(frozen=True, slots=True)
class Shift:
    name: str
    start: time
    end: time  # end <= start: the shift crosses midnight

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start

    def covers(self, day: date, moment: datetime) -> bool:
        """Does this shift, worked on roster day ``day``, cover local ``moment``?"""
        begin = datetime.combine(day, self.start, tzinfo=moment.tzinfo)
        finish = datetime.combine(
            day + timedelta(days=1) if self.crosses_midnight else day, self.end,
            tzinfo=moment.tzinfo,
        )
        return begin <= moment < finish


@dataclass(frozen=True, slots=True)
class RosterDay:
    """One day's plan: shift name → agent ids, reserve agents, guests and their skills."""

    shifts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    reserve: tuple[str, ...] = ()  # called in on a switch to this roster's mode
    guests: Mapping[str, Mapping[str, int]] = field(default_factory=dict)  # id → skill → level

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "shifts", MappingProxyType({k: tuple(v) for k, v in self.shifts.items()})
        )
        object.__setattr__(
            self, "guests",
            MappingProxyType({k: MappingProxyType(dict(v)) for k, v in self.guests.items()}),
        )
        object.__setattr__(self, "reserve", tuple(self.reserve))


@dataclass(frozen=True, slots=True)
class Roster:
    """Plans per weekday (0 = Monday) with per-date overrides (holidays, special days)."""

    name: str
    shifts: Mapping[str, Shift]
    weekdays: Mapping[int, RosterDay] = field(default_factory=dict)
    dates: Mapping[date, RosterDay] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key, shift in self.shifts.items():
            if key != shift.name:
                raise RulesError(f"roster {self.name}: shift key {key!r} names {shift.name!r}")
        for weekday in self.weekdays:
            if not 0 <= weekday <= 6:
                raise RulesError(f"roster {self.name}: weekday {weekday} is not 0-6")
        for label, day in [*self.weekdays.items(), *self.dates.items()]:
            for shift_name in day.shifts:
                if shift_name not in self.shifts:
                    raise RulesError(f"roster {self.name} ({label}): unknown shift {shift_name!r}")
        object.__setattr__(self, "shifts", MappingProxyType(dict(self.shifts)))
        object.__setattr__(self, "weekdays", MappingProxyType(dict(self.weekdays)))
        object.__setattr__(self, "dates", MappingProxyType(dict(self.dates)))

    def day(self, on: date) -> RosterDay:
        found = self.dates.get(on)
        if found is not None:
            return found
        return self.weekdays.get(on.weekday(), RosterDay())

    def scheduled(self, at: float, tz: ZoneInfo) -> frozenset[str]:
        """Agent ids whose shift covers the instant ``at`` (epoch seconds)."""
        moment = datetime.fromtimestamp(at, tz)
        today = moment.date()
        out: set[str] = set()
        # Yesterday's plan matters for shifts that crossed midnight into today.
        for day in (today - timedelta(days=1), today):
            plan = self.day(day)
            for shift_name, agent_ids in plan.shifts.items():
                if self.shifts[shift_name].covers(day, moment):
                    out.update(agent_ids)
        return frozenset(out)

    def guest_skills(self, agent_id: str, at: float, tz: ZoneInfo) -> Mapping[str, int]:
        """The guest's skills and levels on the roster day of ``at`` (empty: not a guest)."""
        return self.day(datetime.fromtimestamp(at, tz).date()).guests.get(agent_id, {})

    def reserve(self, at: float, tz: ZoneInfo) -> tuple[str, ...]:
        return self.day(datetime.fromtimestamp(at, tz).date()).reserve


@dataclass(frozen=True, slots=True)
class Attendance:
    scheduled: frozenset[str]
    logged_in: frozenset[str]

    @property
    def present(self) -> frozenset[str]:
        return self.scheduled & self.logged_in

    @property
    def missing(self) -> frozenset[str]:
        """Scheduled now but not logged in."""
        return self.scheduled - self.logged_in

    @property
    def unscheduled(self) -> frozenset[str]:
        """Logged in without a shift now (overtime, guests, reserve called in)."""
        return self.logged_in - self.scheduled


def attendance(roster: Roster, at: float, tz: ZoneInfo, logged_in: Iterable[str]) -> Attendance:
    return Attendance(roster.scheduled(at, tz), frozenset(logged_in))
