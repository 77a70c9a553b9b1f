"""The composition root: a loaded centre configuration becomes the kernel's objects.

This is the one place that reads the configuration's pydantic models and maps them to
the kernel's own frozen vocabulary (queue rules, agents, guests, seats, rosters), so no
kernel module imports the config loader.

    kernel = build_kernel(load_centre("config"), observers=[stats.apply])
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from hotline.agents.directory import Agent, Guest, SeatDef
from hotline.agents.rosters import Roster, RosterDay, Shift
from hotline.centre.kernel import CentreKernel
from hotline.config.calendar import CentreEnvironment
from hotline.config.loader import Centre
from hotline.config.schema import CentreConfig
from hotline.config.schema import Queue as QueueConfig
from hotline.ivr.engine import FlowEngine
from hotline.queue.acd import Acd
from hotline.queue.rules import (
    AnnounceRule,
    CallbackRule,
    ExpansionStep,
    OverflowRule,
    QueueRules,
    RulesByMode,
)
from hotline.vocabulary.ports import TextClassifier
from hotline.vocabulary.times import time_of_day


def build_kernel(
    centre: Centre,
    *,
    classifier: TextClassifier | None = None,
    satisfaction: TextClassifier | None = None,
    mode: str | None = None,
    observers: Sequence[Callable[[Any], None]] = (),
    keep_facts: bool = True,
) -> CentreKernel:
    """The kernel of a loaded centre (`hotline.config.loader.load_centre`).

    `observers` see every record in order as it happens (each accepted event, then its
    facts: in-process projections such as `hotline.projections.stats.LiveStats.apply`);
    `keep_facts` keeps them for `CentreKernel.take_facts` as well.
    """
    config = centre.config
    info = config.centre
    start_mode = mode or ("normal" if "normal" in config.modes else next(iter(config.modes)))
    engine = FlowEngine(
        centre.flows,
        centre.prompts,
        classifier=classifier,
        satisfaction=satisfaction,
        fallback_language=info.default_language if info.prompt_fallback else None,
    )
    acd = Acd(
        rules_from_config(config),
        agents_from_config(config),
        {name: seat.endpoint for name, seat in config.seats.items()},
        rosters_from_config(config),
        tz=info.timezone,
        mode=start_mode,
        guests=guests_from_config(config),
    )

    def lines(number: str, line_mode: str) -> tuple[str, str | None, bool] | None:
        if number not in config.lines:
            return None
        line = config.line_in(number, line_mode)
        return line.flow, line.language, line.enabled

    return CentreKernel(
        engine,
        acd,
        CentreEnvironment(config, start_mode),
        lines,
        default_language=info.default_language,
        observers=observers,
        keep_facts=keep_facts,
    )


def queue_rules(name: str, queue: QueueConfig) -> QueueRules:
    """The ACD's rules for one configured queue (`hotline.config.schema.Queue`)."""
    return QueueRules(
        name=name,
        skills=tuple(queue.skills),
        min_level=queue.min_level,
        expansion=tuple(
            ExpansionStep(step.after_s, step.min_level, step.any_agent) for step in queue.expansion
        ),
        teams=tuple(queue.teams),
        strategy=queue.strategy,
        priority=queue.priority,
        tag_priority=dict(queue.tag_priority),
        target=queue.target,
        ring_timeout_s=queue.ring_timeout_s,
        wrap_up_s=queue.wrap_up_s,
        pause_limits_s=dict(queue.pause_limits_s),
        overflow=None
        if queue.overflow is None
        else OverflowRule(
            queue.overflow.to, queue.overflow.after_s, queue.overflow.expected_wait_over_s
        ),
        max_wait_s=queue.max_wait_s,
        max_length=queue.max_length,
        exit=queue.exit,
        announce=AnnounceRule(
            queue.announce.first_after_s,
            queue.announce.every_s,
            queue.announce.position,
            queue.announce.expected_wait,
        ),
        callback=CallbackRule(
            queue.callback.enabled,
            queue.callback.order,
            queue.callback.attempts,
            queue.callback.retry_spacing_s,
            queue.callback.ring_timeout_s,
            calling_hours=None
            if queue.callback.calling_hours is None
            else (queue.callback.calling_hours.start, queue.callback.calling_hours.end),
            missed_after_s=queue.callback.missed_after_s,
            promise_within_s=queue.callback.promise_within_s,
            promise_until_close=queue.callback.promise_until_close,
        ),
    )


def rules_from_config(config: CentreConfig) -> RulesByMode:
    """mode → queue → rules, with each mode's overrides merged (`CentreConfig`)."""
    return {
        mode: {name: queue_rules(name, queue) for name, queue in config.queues_in(mode).items()}
        for mode in config.modes
    }


def agents_from_config(config: CentreConfig) -> list[Agent]:
    return [
        Agent(agent_id, agent.name, agent.team, dict(agent.skills))
        for agent_id, agent in config.agents.items()
    ]


def guests_from_config(config: CentreConfig) -> list[Guest]:
    """Every roster's guests (带班 leaders) with their configured skill levels.

    A guest listed in several rosters is one person: their skills are merged, keeping the
    higher level where two rosters name the same skill.
    """
    merged: dict[str, tuple[str, str, dict[str, int]]] = {}
    for roster in config.rosters.values():
        for guest_id, guest in roster.guests.items():
            skills = merged.setdefault(guest_id, (guest.name, guest.department, {}))[2]
            skills[guest.skill] = max(skills.get(guest.skill, 0), guest.level)
    return [
        Guest(guest_id, name, skills, department)
        for guest_id, (name, department, skills) in merged.items()
    ]


def seats_from_config(config: CentreConfig) -> list[SeatDef]:
    return [SeatDef(name, seat.endpoint) for name, seat in config.seats.items()]


_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def rosters_from_config(config: CentreConfig) -> dict[str, Roster]:
    """mode → the roster that mode makes active (the ACD's view of `rosters`)."""
    shifts = {
        name: Shift(name, time_of_day(shift.start), time_of_day(shift.end))
        for name, shift in config.shifts.items()
    }
    out: dict[str, Roster] = {}
    for mode_name, mode in config.modes.items():
        if mode.roster is None:
            continue
        roster = config.rosters[mode.roster]
        guests = {
            guest_id: {guest.skill: guest.level} for guest_id, guest in roster.guests.items()
        }
        reserve = tuple(roster.reserve)
        weekdays = {
            i: _roster_day(roster.days.get(_WEEKDAYS[i], roster.daily), reserve, guests)
            for i in range(7)
        }
        dates = {
            date.fromisoformat(key): _roster_day(plan, reserve, guests)
            for key, plan in roster.days.items()
            if key not in _WEEKDAYS
        }
        used = {s for d in (*weekdays.values(), *dates.values()) for s in d.shifts}
        out[mode_name] = Roster(
            mode.roster, {s: shifts[s] for s in used | set(shifts)}, weekdays, dates
        )
    return out


def _roster_day(
    plan: Mapping[str, Iterable[str]],
    reserve: tuple[str, ...],
    guests: Mapping[str, Mapping[str, int]],
) -> RosterDay:
    return RosterDay({shift: tuple(ids) for shift, ids in plan.items()}, reserve, guests)
