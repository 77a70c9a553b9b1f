"""Queue rules: the kernel's own frozen description of how one queue behaves in one mode.

Field names are exactly those of the config schema (the config engineer's YAML uses the
same), so the adapter from config to rules is a trivial mapping. Per-mode overrides are
merged before they reach the kernel: the ACD receives ``RulesByMode`` = mode → queue name
→ complete ``QueueRules``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar

from hotline.vocabulary.errors import RulesError
from hotline.vocabulary.queueing import (
    MAX_SKILL_LEVEL,
    MIN_SKILL_LEVEL,
    CallbackOrder,
    ExitAction,
    ServiceTarget,
    Strategy,
)
from hotline.vocabulary.times import parse_hhmm

_V = TypeVar("_V")

def _check_level(level: int, what: str) -> None:
    if not MIN_SKILL_LEVEL <= level <= MAX_SKILL_LEVEL:
        raise RulesError(f"{what} must be {MIN_SKILL_LEVEL}-{MAX_SKILL_LEVEL}, got {level}")


def _check_positive(value: float | None, what: str, *, allow_zero: bool = False) -> None:
    if value is None:
        return
    if value < 0 or (value == 0 and not allow_zero):
        raise RulesError(f"{what} must be {'>= 0' if allow_zero else '> 0'}, got {value}")


@dataclass(frozen=True, slots=True)
class ExpansionStep:
    """After ``after_s`` of waiting, accept agents down to ``min_level`` (or any agent)."""

    after_s: float
    min_level: int | None = None
    any_agent: bool = False

    def __post_init__(self) -> None:
        _check_positive(self.after_s, "expansion.after_s", allow_zero=True)
        if self.min_level is None and not self.any_agent:
            raise RulesError("an expansion step needs min_level or any_agent: true")
        if self.min_level is not None:
            _check_level(self.min_level, "expansion.min_level")


@dataclass(frozen=True, slots=True)
class OverflowRule:
    """Move a waiting call to ``to`` after ``after_s`` here, or when the wait looks too long."""

    to: str
    after_s: float | None = None
    expected_wait_over_s: float | None = None

    def __post_init__(self) -> None:
        if self.after_s is None and self.expected_wait_over_s is None:
            raise RulesError("overflow needs after_s or expected_wait_over_s")
        _check_positive(self.after_s, "overflow.after_s", allow_zero=True)
        _check_positive(self.expected_wait_over_s, "overflow.expected_wait_over_s")


@dataclass(frozen=True, slots=True)
class AnnounceRule:
    first_after_s: float = 30.0
    every_s: float = 60.0
    position: bool = True
    expected_wait: bool = True

    def __post_init__(self) -> None:
        _check_positive(self.first_after_s, "announce.first_after_s", allow_zero=True)
        _check_positive(self.every_s, "announce.every_s")


@dataclass(frozen=True, slots=True)
class CallbackRule:
    """Callbacks of one queue in one mode.

    ``calling_hours`` = (start, end) in minutes after local midnight (end may be 1440;
    end <= start crosses midnight); None: any time. Outside them no citizen is dialled:
    requests rest until the hours open. ``missed_after_s``: a caller with a known number
    who abandons after waiting longer than this is called back (漏接电话回拨); None: off.
    ``promise_within_s`` / ``promise_until_close``: a callback is offered only while
    every owed callback can still be made within that many seconds / before today's
    calling hours close; neither: offered without a promise (no limit).
    """

    enabled: bool = False
    order: CallbackOrder = CallbackOrder.AGENT_FIRST
    attempts: int = 3
    retry_spacing_s: float = 300.0
    ring_timeout_s: float = 30.0
    calling_hours: tuple[int, int] | None = None
    missed_after_s: float | None = None
    promise_within_s: float | None = None
    promise_until_close: bool = False

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise RulesError(f"callback.attempts must be >= 1, got {self.attempts}")
        _check_positive(self.retry_spacing_s, "callback.retry_spacing_s", allow_zero=True)
        _check_positive(self.ring_timeout_s, "callback.ring_timeout_s")
        _check_positive(self.missed_after_s, "callback.missed_after_s", allow_zero=True)
        _check_positive(self.promise_within_s, "callback.promise_within_s")
        if self.calling_hours is not None:
            start, end = self.calling_hours
            if not (0 <= start < 1440 and 0 <= end <= 1440) or start == end % 1440:
                raise RulesError(f"callback.calling_hours must be a non-empty range, got "
                                 f"{self.calling_hours}")
            object.__setattr__(self, "calling_hours", (int(start), int(end)))
        if self.promise_until_close and self.calling_hours is None:
            raise RulesError("callback.promise_until_close needs callback.calling_hours")

    @property
    def promises(self) -> bool:
        """Is the callback offer limited by what the centre can keep?"""
        return self.promise_within_s is not None or self.promise_until_close

    def open_at(self, minute: float) -> bool:
        """Are the calling hours open at local minute-of-day ``minute``?"""
        if self.calling_hours is None:
            return True
        start, end = self.calling_hours
        if end <= start:  # overnight
            return minute >= start or minute < end
        return start <= minute < end

    def next_change_s(self, minute: float) -> float | None:
        """Seconds from local ``minute`` until the hours next open or close (None: never)."""
        if self.calling_hours is None:
            return None
        start, end = self.calling_hours
        boundary = (end % 1440) if self.open_at(minute) else start
        ahead = (boundary - minute) % 1440
        return (ahead if ahead > 0 else 1440.0) * 60.0


def _frozen_map(value: Mapping[str, _V]) -> Mapping[str, _V]:
    return MappingProxyType(dict(value))


@dataclass(frozen=True, slots=True)
class QueueRules:
    """Everything the ACD needs to know about one queue in one mode."""

    name: str
    skills: tuple[str, ...] = ()
    min_level: int = 3
    expansion: tuple[ExpansionStep, ...] = ()
    teams: tuple[str, ...] = ()  # empty: agents of every team
    strategy: Strategy = Strategy.LONGEST_IDLE
    priority: int = 0
    tag_priority: Mapping[str, int] = field(default_factory=dict)
    target: ServiceTarget = field(default_factory=ServiceTarget)
    ring_timeout_s: float = 20.0
    wrap_up_s: float = 30.0
    pause_limits_s: Mapping[str, float] = field(default_factory=dict)
    overflow: OverflowRule | None = None
    max_wait_s: float | None = None
    max_length: int | None = None
    exit: ExitAction = ExitAction.RECORD
    announce: AnnounceRule | None = field(default_factory=AnnounceRule)
    callback: CallbackRule = field(default_factory=CallbackRule)

    def __post_init__(self) -> None:
        if not self.name:
            raise RulesError("a queue needs a name")
        _check_level(self.min_level, f"queue {self.name}: min_level")
        _check_positive(self.ring_timeout_s, f"queue {self.name}: ring_timeout_s")
        _check_positive(self.wrap_up_s, f"queue {self.name}: wrap_up_s", allow_zero=True)
        _check_positive(self.max_wait_s, f"queue {self.name}: max_wait_s")
        if self.max_length is not None and self.max_length < 1:
            raise RulesError(f"queue {self.name}: max_length must be >= 1")
        for reason, limit in self.pause_limits_s.items():
            _check_positive(limit, f"queue {self.name}: pause_limits_s[{reason}]")
        if self.overflow is not None and self.overflow.to == self.name:
            raise RulesError(f"queue {self.name}: overflow to itself")
        # Expansion is applied in time order; sort once here so the kernel never has to.
        steps = tuple(sorted(self.expansion, key=lambda s: s.after_s))
        object.__setattr__(self, "expansion", steps)
        object.__setattr__(self, "skills", tuple(self.skills))
        object.__setattr__(self, "teams", tuple(self.teams))
        object.__setattr__(self, "tag_priority", _frozen_map(self.tag_priority))
        object.__setattr__(self, "pause_limits_s", _frozen_map(self.pause_limits_s))

    def level_after(self, waited_s: float) -> tuple[int, bool]:
        """(minimum skill level, any agent?) for a call that has waited ``waited_s``."""
        level, any_agent = self.min_level, False
        for step in self.expansion:
            if step.after_s > waited_s:
                break
            if step.any_agent:
                any_agent = True
            if step.min_level is not None:
                level = step.min_level
        return level, any_agent

    def next_expansion_after(self, waited_s: float) -> float | None:
        """The wait (s) at which the next expansion step applies, if any is left."""
        for step in self.expansion:
            if step.after_s > waited_s:
                return step.after_s
        return None

    def effective_priority(self, base: int, tags: tuple[str, ...]) -> int:
        return self.priority + base + sum(self.tag_priority.get(tag, 0) for tag in set(tags))


RulesByMode = Mapping[str, Mapping[str, QueueRules]]
"""mode → queue name → complete rules (per-mode overrides already merged)."""


def check_rules_by_mode(rules_by_mode: RulesByMode) -> None:
    """Raise `RulesError` unless every mode has the same queues and every overflow resolves."""
    if not rules_by_mode:
        raise RulesError("no modes: at least one mode with queues is needed")
    names: frozenset[str] | None = None
    for mode, queues in rules_by_mode.items():
        if not queues:
            raise RulesError(f"mode {mode}: no queues")
        for key, rules in queues.items():
            if key != rules.name:
                raise RulesError(f"mode {mode}: queue key {key!r} holds rules named {rules.name!r}")
            if rules.overflow is not None and rules.overflow.to not in queues:
                raise RulesError(
                    f"mode {mode}: queue {key} overflows to unknown queue {rules.overflow.to!r}"
                )
        these = frozenset(queues)
        # A waiting call must find its queue after a mode switch, so the set is fixed.
        if names is not None and these != names:
            raise RulesError(
                f"mode {mode}: queues {sorted(these)} differ from other modes' {sorted(names)}"
            )
        names = these


_QUEUE_FIELDS = frozenset(QueueRules.__dataclass_fields__)


def _sub(kind: type[Any], value: Any, what: str) -> Any:
    """Build a nested rule from a mapping (already-built objects pass through)."""
    if value is None or isinstance(value, kind):
        return value
    if not isinstance(value, Mapping):
        raise RulesError(f"{what}: expected a mapping, got {type(value).__name__}")
    known = frozenset(kind.__dataclass_fields__)
    unknown = set(value) - known
    if unknown:
        raise RulesError(f"{what}: unknown field(s) {', '.join(sorted(unknown))}")
    try:
        return kind(**value)
    except TypeError as exc:
        raise RulesError(f"{what}: {exc}") from exc


def _hours(value: Any) -> tuple[int, int]:
    """``"08:00-21:00"``, ``{"start": 480, "end": 1260}`` or a pair → minutes (start, end)."""
    if isinstance(value, str):
        start, sep, end = value.partition("-")
        if not sep:
            raise RulesError(f"calling_hours must look like 08:00-21:00, got {value!r}")
        return parse_hhmm(start), parse_hhmm(end)
    if isinstance(value, Mapping):
        return int(value["start"]), int(value["end"])
    start, end = value
    return int(start), int(end)


def queue_rules_from_mapping(name: str, data: Mapping[str, Any]) -> QueueRules:
    """`QueueRules` from the config's plain data (e.g. a pydantic ``model_dump()``).

    Field names are the same on both sides; nested sections become their rule classes,
    strings become enums. Keys the kernel does not use (``description``) are ignored;
    ``announce: null`` or ``false`` means no announcements.
    """
    values = {k: v for k, v in data.items() if k in _QUEUE_FIELDS and k != "name"}
    try:
        if "strategy" in values:
            values["strategy"] = Strategy(values["strategy"])
        if "exit" in values:
            values["exit"] = ExitAction(values["exit"])
        if "expansion" in values:
            values["expansion"] = tuple(
                _sub(ExpansionStep, step, f"queue {name}: expansion")
                for step in values["expansion"] or ()
            )
        if "target" in values:
            values["target"] = _sub(ServiceTarget, values["target"], f"queue {name}: target")
        if "overflow" in values:
            values["overflow"] = _sub(OverflowRule, values["overflow"], f"queue {name}: overflow")
        if "announce" in values:
            announce = values["announce"]
            values["announce"] = (
                None if announce is False
                else _sub(AnnounceRule, announce, f"queue {name}: announce")
            )
        if "callback" in values:
            callback = values["callback"]
            if isinstance(callback, Mapping) and "order" in callback:
                callback = {**callback, "order": CallbackOrder(callback["order"])}
            if isinstance(callback, Mapping) and callback.get("calling_hours") is not None:
                callback = {**callback, "calling_hours": _hours(callback["calling_hours"])}
            values["callback"] = _sub(CallbackRule, callback, f"queue {name}: callback")
        for key in ("skills", "teams"):
            if key in values:
                values[key] = tuple(values[key])
        return QueueRules(name=name, **values)
    except ValueError as exc:  # a bad enum value; RulesError is a ValueError too
        if isinstance(exc, RulesError):
            raise
        raise RulesError(f"queue {name}: {exc}") from exc
