"""The centre configuration schema: what `config/centre.yaml` (and its included files) may say.

Every model is frozen and forbids unknown fields, so a typo is an error, not a silently
ignored setting. The models check the shape of each section; whether names refer to
things that exist (a line's flow, a queue's skills, a roster's agents) is checked by
`hotline.config.references`, because that needs the whole centre.

Queue field names are the ACD kernel's vocabulary (`hotline.queue`): keep them stable.
"""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

# One naming rule (letters, digits, `_` and `-`) for every config name, flows included.
from hotline.ivr.model import Name
from hotline.vocabulary.queueing import CallbackOrder, ExitAction, ServiceTarget, Strategy

# Re-exported for modules that still import it from here; defined in vocabulary.times.
from hotline.vocabulary.times import MINUTES_PER_DAY, parse_hhmm, show_hhmm

LANGUAGE_PATTERN = r"^[a-z]{2,3}(?:-[A-Za-z0-9]+)?$"
Language = Annotated[str, StringConstraints(pattern=LANGUAGE_PATTERN)]

DIALLED_PATTERN = r"^[0-9+*#][0-9A-Za-z+*#_.-]*$"
Level = Annotated[int, Field(ge=1, le=5)]
Seconds = Annotated[int, Field(ge=0)]
PositiveSeconds = Annotated[int, Field(gt=0)]


def _digits_as_text(value: Any) -> Any:
    # `- 13800138000` arrives from YAML as an int; numbers are identifiers, not amounts.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


PhoneNumber = Annotated[
    str,
    BeforeValidator(_digits_as_text),
    StringConstraints(pattern=r"^\+?[0-9*#]{1,32}$"),
]
"""Digits as dialled (an optional leading `+`); quote numbers with a leading zero or not."""

AgentId = Annotated[
    str, BeforeValidator(_digits_as_text), StringConstraints(pattern=r"^[A-Za-z0-9_-]+$")
]


class WeekDay(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"

    @classmethod
    def of(cls, day: dt.date) -> WeekDay:
        return list(cls)[day.weekday()]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TimeRange(_Model):
    """A daily range in minutes after local midnight; `end <= start` crosses midnight."""

    start: int = Field(ge=0, lt=MINUTES_PER_DAY)
    end: int = Field(ge=0, le=MINUTES_PER_DAY)

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        if isinstance(data, str):
            parts = data.split("-")
            if len(parts) != 2:
                raise ValueError(f"{data!r} is not a time range as HH:MM-HH:MM (e.g. 08:30-12:00)")
            start, end = parse_hhmm(parts[0]), parse_hhmm(parts[1])
            if start == MINUTES_PER_DAY:
                raise ValueError(f"{data!r} starts at 24:00; write 00:00")
            return {"start": start, "end": end}
        return data

    @model_validator(mode="after")
    def _not_empty(self) -> TimeRange:
        if self.start == self.end % (MINUTES_PER_DAY) and self.end != MINUTES_PER_DAY:
            raise ValueError(
                f"{self} is empty or a whole day (start equals end); use `always: true` for 24h"
            )
        return self

    @property
    def overnight(self) -> bool:
        return self.end <= self.start

    def contains(self, minute: int) -> bool:
        """Whether local minute-of-day `minute` is inside (start inclusive, end exclusive)."""
        if self.overnight:
            return minute >= self.start or minute < self.end
        return self.start <= minute < self.end

    def __str__(self) -> str:
        return f"{show_hhmm(self.start)}-{show_hhmm(self.end)}"


def _range_list(value: Any) -> Any:
    # `mon: "08:30-17:30"` (one range) is as natural as a list of one.
    return [value] if isinstance(value, str) else value


Ranges = Annotated[tuple[TimeRange, ...], BeforeValidator(_range_list)]


# --- centre, lines, skills, teams -------------------------------------------------------


class CentreInfo(_Model):
    name: str = Field(min_length=1)
    timezone: str = "Asia/Shanghai"
    default_language: Language = "zh"
    # Play a prompt in the default language when the caller's language lacks it; off by
    # default so that a missing English prompt is a config error, not a surprise.
    prompt_fallback: bool = False
    description: str = ""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name such as Asia/Shanghai)"
            ) from None
        return value


class LineKind(StrEnum):
    """What a line is for; it decides which service norms `hotline check` holds it to."""

    # A citizens' intake line (12345 and the numbers merged into it). GB/T 33358-2016:
    # callers reach a person without having to choose from a menu first.
    INTAKE = "intake"
    ENTERPRISE = "enterprise"  # the business service line ("一企来"): menus are fine
    REPORT = "report"  # reporting lines (12350 work safety, illegal rentals)
    POLICE = "police"  # police non-emergency help, next to 110
    INFORMATION = "information"  # information and foreign-language service


class Line(_Model):
    """A dialled number (the line key) and how calls to it are handled."""

    flow: Name
    kind: LineKind = LineKind.INTAKE
    name: str = ""  # display name on the wallboard, e.g. 企业服务专线
    language: Language | None = None  # None: the centre's default language
    schedule: Name | None = None  # None: open 24/7
    calendar: Name | None = None  # holiday calendar the line's flow consults
    enabled: bool = True


class Team(_Model):
    description: str = ""
    leaders: tuple[AgentId, ...] = ()


# --- queues -----------------------------------------------------------------------------


class ExpansionStep(_Model):
    """After `after_s` of waiting, accept agents with a lower level, or any agent at all."""

    after_s: PositiveSeconds
    min_level: Level | None = None
    any_agent: bool = False

    @model_validator(mode="after")
    def _one_effect(self) -> ExpansionStep:
        if (self.min_level is None) == (not self.any_agent):
            raise ValueError(
                "an expansion step needs exactly one of `min_level` or `any_agent: true`"
            )
        return self


class Overflow(_Model):
    """Move waiting callers to queue `to` after `after_s`, or when the expected wait is long."""

    to: Name
    after_s: PositiveSeconds | None = None
    expected_wait_over_s: PositiveSeconds | None = None

    @model_validator(mode="after")
    def _some_trigger(self) -> Overflow:
        if self.after_s is None and self.expected_wait_over_s is None:
            raise ValueError("overflow needs a trigger: `after_s` and/or `expected_wait_over_s`")
        return self


class Announce(_Model):
    first_after_s: Seconds = 30
    every_s: PositiveSeconds = 60
    position: bool = True
    expected_wait: bool = True


class CallbackPolicy(_Model):
    enabled: bool = True
    order: CallbackOrder = CallbackOrder.AGENT_FIRST
    attempts: int = Field(default=3, ge=1, le=10)
    retry_spacing_s: PositiveSeconds = 300
    ring_timeout_s: PositiveSeconds = 30
    # Callbacks are dialled only inside these local hours (e.g. "08:00-21:00"); unset: any time.
    calling_hours: TimeRange | None = None
    # 漏接电话回拨: call back a caller who abandoned after waiting longer than this; unset: off.
    missed_after_s: Seconds | None = None
    # Offer a callback only while every owed one can be made within this many seconds ...
    promise_within_s: PositiveSeconds | None = None
    # ... or before today's calling hours close (needs `calling_hours`).
    promise_until_close: bool = False

    @model_validator(mode="after")
    def _close_needs_hours(self) -> CallbackPolicy:
        if self.promise_until_close and self.calling_hours is None:
            raise ValueError("`promise_until_close: true` needs `calling_hours`")
        return self


class Queue(_Model):
    description: str = ""
    skills: tuple[Name, ...] = ()
    min_level: Level = 3
    expansion: tuple[ExpansionStep, ...] = ()
    teams: tuple[Name, ...] = ()  # empty: agents of every team
    strategy: Strategy = Strategy.LONGEST_IDLE
    priority: int = 0
    tag_priority: dict[Name, int] = {}
    target: ServiceTarget = ServiceTarget()
    ring_timeout_s: PositiveSeconds = 15
    wrap_up_s: Seconds = 30
    pause_limits_s: dict[Name, PositiveSeconds] = {}
    overflow: Overflow | None = None
    max_wait_s: PositiveSeconds | None = None
    max_length: int | None = Field(default=None, ge=1)
    exit: ExitAction = ExitAction.RECORD
    announce: Announce = Announce()
    callback: CallbackPolicy = CallbackPolicy()

    @field_validator("expansion")
    @classmethod
    def _expansion_in_order(cls, steps: tuple[ExpansionStep, ...]) -> tuple[ExpansionStep, ...]:
        for earlier, later in itertools.pairwise(steps):
            if later.after_s <= earlier.after_s:
                raise ValueError(
                    f"expansion steps must be in increasing `after_s` order "
                    f"({earlier.after_s}s then {later.after_s}s)"
                )
        return steps


# --- modes ------------------------------------------------------------------------------


class LineOverride(_Model):
    """How a line differs in a mode (e.g. an emergency flow, open around the clock)."""

    flow: Name | None = None
    schedule: Name | None = None
    enabled: bool | None = None


class Mode(_Model):
    """A centre mode; everything here applies together when the centre switches to it.

    `queues` holds partial queue overrides (any queue field); nested objects such as
    `overflow` or `callback` are merged field by field with the queue's own values.
    """

    description: str = ""
    lines: dict[str, LineOverride] = {}
    queues: dict[Name, dict[str, Any]] = {}
    roster: Name | None = None
    work_order_deadline_hours: dict[Name, Annotated[float, Field(gt=0)]] = {}


# --- business hours and holidays -------------------------------------------------------


class Schedule(_Model):
    """Weekly business hours, e.g. `mon: ["08:30-12:00", "13:30-17:30"]`, or `always`."""

    description: str = ""
    always: bool = False
    calendar: Name | None = None  # holidays close / make-up days open per this calendar
    mon: Ranges = ()
    tue: Ranges = ()
    wed: Ranges = ()
    thu: Ranges = ()
    fri: Ranges = ()
    sat: Ranges = ()
    sun: Ranges = ()

    def ranges(self, day: WeekDay) -> tuple[TimeRange, ...]:
        result: tuple[TimeRange, ...] = getattr(self, day.value)
        return result

    @model_validator(mode="after")
    def _open_sometime(self) -> Schedule:
        has_ranges = any(self.ranges(day) for day in WeekDay)
        if self.always and has_ranges:
            raise ValueError("`always: true` and weekday hours contradict each other")
        if not self.always and not has_ranges:
            raise ValueError(
                "a schedule needs weekday hours (e.g. mon: [08:30-17:30]) or `always: true`"
            )
        return self


class Holiday(_Model):
    name: str = Field(min_length=1)
    start: dt.date
    end: dt.date | None = None  # inclusive; None: a single day

    @model_validator(mode="before")
    @classmethod
    def _date_shorthand(cls, data: Any) -> Any:
        # `{name: 元旦, date: 2026-01-01}` for one day.
        if isinstance(data, dict) and "date" in data and "start" not in data:
            data = {("start" if k == "date" else k): v for k, v in data.items()}
        return data

    @model_validator(mode="after")
    def _ordered(self) -> Holiday:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"holiday ends ({self.end}) before it starts ({self.start})")
        return self

    @property
    def last(self) -> dt.date:
        return self.end if self.end is not None else self.start


class HolidayCalendar(_Model):
    """Public holidays and make-up working days (调休) of one calendar."""

    description: str = ""
    closes_lines: bool = True  # a holiday closes lines whose schedule uses this calendar
    holidays: tuple[Holiday, ...] = ()
    workdays: tuple[dt.date, ...] = ()  # weekend days worked to make up for a holiday
    workday_hours_from: WeekDay = WeekDay.MON  # whose hours a make-up working day uses

    @model_validator(mode="after")
    def _no_day_both(self) -> HolidayCalendar:
        for day in self.workdays:
            for holiday in self.holidays:
                if holiday.start <= day <= holiday.last:
                    raise ValueError(
                        f"{day} is both a holiday ({holiday.name}) and a make-up workday"
                    )
        return self

    def holiday_on(self, day: dt.date) -> Holiday | None:
        for holiday in self.holidays:
            if holiday.start <= day <= holiday.last:
                return holiday
        return None


class CallerList(_Model):
    description: str = ""
    numbers: tuple[PhoneNumber, ...] = ()
    prefixes: tuple[PhoneNumber, ...] = ()

    def contains(self, number: str) -> bool:
        return number in self.numbers or any(number.startswith(p) for p in self.prefixes)


# --- people, seats, shifts, rosters -----------------------------------------------------


class Agent(_Model):
    name: str = Field(min_length=1)
    team: Name
    skills: dict[Name, Level] = {}


def _endpoint_only(value: Any) -> Any:
    # `s1: PJSIP/8001` is the short form of `s1: {endpoint: PJSIP/8001}`.
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return {"endpoint": str(value)}
    return value


class Seat(_Model):
    """A physical or soft seat: its SIP endpoint as the PBX names it (`PJSIP/8001`)."""

    endpoint: Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9]*/[^\s/]+$")]
    guest: bool = False  # reserved for leaders on duty (带班)
    description: str = ""


SeatEntry = Annotated[Seat, BeforeValidator(_endpoint_only)]


class Shift(_Model):
    """Local working hours; `end <= start` crosses midnight (a night shift)."""

    start: str
    end: str
    description: str = ""

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if parse_hhmm(value) == MINUTES_PER_DAY:
            raise ValueError("write 00:00 rather than 24:00")
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> Shift:
        if parse_hhmm(self.start) == parse_hhmm(self.end):
            raise ValueError("a shift cannot start and end at the same time")
        return self

    @property
    def range(self) -> TimeRange:
        return TimeRange(start=parse_hhmm(self.start), end=parse_hhmm(self.end))


ShiftPlan = dict[Name, tuple[AgentId, ...]]
"""Shift name -> agent ids working it."""


class Guest(_Model):
    """A department leader on duty (带班): a guest seat with one dedicated skill."""

    name: str = Field(min_length=1)
    department: str = ""
    skill: Name
    level: Level = 5
    seat: Name | None = None  # a seat marked `guest: true`
    shifts: tuple[Name, ...] = ()  # empty: whenever the roster is active


def _day_key(key: str) -> str:
    if key in {day.value for day in WeekDay}:
        return key
    try:
        dt.date.fromisoformat(key)
    except ValueError:
        raise ValueError(
            f"{key!r} is neither a weekday (mon..sun) nor a date (2026-10-01)"
        ) from None
    return key


DayKey = Annotated[str, AfterValidator(_day_key)]


class Roster(_Model):
    """Who works which shift: `daily`, then per weekday, then per date (most specific wins)."""

    description: str = ""
    daily: ShiftPlan = {}
    days: dict[DayKey, ShiftPlan] = {}  # keys: mon..sun or an ISO date
    reserve: tuple[AgentId, ...] = ()  # called in when the centre is overwhelmed
    guests: dict[Name, Guest] = {}

    def plan_for(self, day: dt.date) -> ShiftPlan:
        """The shift plan in force on `day`."""
        plan = self.days.get(day.isoformat())
        if plan is None:
            plan = self.days.get(WeekDay.of(day).value)
        return plan if plan is not None else self.daily

    def agent_ids(self) -> set[str]:
        ids = set(self.reserve)
        for plan in (self.daily, *self.days.values()):
            for agents in plan.values():
                ids.update(agents)
        return ids


# --- the files layout and the whole centre ---------------------------------------------


class Files(_Model):
    """Where the rest of the centre lives, relative to the directory of centre.yaml."""

    include: tuple[str, ...] = ()  # more files holding top-level sections (agents, rosters)
    flows: str = "flows"  # directory of `<flow name>.yaml`
    prompts: str = "prompts.yaml"


class CentreConfig(_Model):
    """The validated centre (all sections of centre.yaml and its included files)."""

    centre: CentreInfo
    files: Files = Files()
    languages: tuple[Language, ...] = ("zh",)
    lines: dict[Annotated[str, StringConstraints(pattern=DIALLED_PATTERN)], Line] = {}
    skills: dict[Name, str] = {}
    teams: dict[Name, Team] = {}
    queues: dict[Name, Queue] = {}
    modes: dict[Name, Mode] = {"normal": Mode(description="normal operation")}
    schedules: dict[Name, Schedule] = {}
    holidays: dict[Name, HolidayCalendar] = {}
    caller_lists: dict[Name, CallerList] = {}
    agents: dict[AgentId, Agent] = {}
    seats: dict[Name, SeatEntry] = {}
    shifts: dict[Name, Shift] = {}
    rosters: dict[Name, Roster] = {}

    @model_validator(mode="before")
    @classmethod
    def _skill_descriptions(cls, data: Any) -> Any:
        # `skills: [general, english]` is fine when descriptions are not wanted.
        if isinstance(data, dict) and isinstance(data.get("skills"), list):
            data = {**data, "skills": {str(s): "" for s in data["skills"]}}
        return data

    def queues_in(self, mode: str) -> dict[str, Queue]:
        """Every queue as it behaves in `mode` (the mode's partial overrides applied)."""
        overrides = self.modes[mode].queues if mode in self.modes else {}
        result: dict[str, Queue] = {}
        for name, queue in self.queues.items():
            patch = overrides.get(name)
            result[name] = queue if not patch else apply_queue_override(queue, patch)
        return result

    def line_in(self, number: str, mode: str) -> Line:
        """Line `number` as it behaves in `mode`."""
        line = self.lines[number]
        override = self.modes[mode].lines.get(number) if mode in self.modes else None
        if override is None:
            return line
        changes = {k: v for k, v in override.model_dump().items() if v is not None}
        return line.model_copy(update=changes)


def merge_patch(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Nested dicts merge key by key; anything else in `patch` replaces the base value."""
    merged = dict(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_patch(merged[key], value)
        else:
            merged[key] = value
    return merged


def apply_queue_override(queue: Queue, patch: dict[str, Any]) -> Queue:
    """`queue` with a mode's partial override applied; raises pydantic's ValidationError."""
    base = queue.model_dump(mode="json", exclude_unset=True)
    return Queue.model_validate(merge_patch(base, patch))
