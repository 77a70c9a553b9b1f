"""Cross-reference checks: every name used in the centre refers to something defined.

Works on a validated `CentreConfig` and returns `Problem`s whose paths are relative to
the centre's top level (`queues.general.overflow.to`); the loader turns them into
file:line:column using the YAML positions.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass

from hotline.config.schema import CentreConfig, Queue
from hotline.config.suggest import unknown
from hotline.vocabulary.problems import PathPart, Problem

DEFAULT_MODE = "normal"

# The section that defines each kind of name ("" : defined outside centre.yaml).
SECTION_OF = {
    "flow": "", "language": "languages", "schedule": "schedules",
    "holiday calendar": "holidays", "agent": "agents", "skill": "skills", "team": "teams",
    "queue": "queues", "line": "lines", "roster": "rosters", "shift": "shifts", "seat": "seats",
}


@dataclass(frozen=True, slots=True)
class _Finding(Problem):
    """A problem plus the sections whose contents it depends on."""

    needs: frozenset[str] = frozenset()


def check_references(centre: CentreConfig, flow_names: Collection[str] | None,
                     unchecked: frozenset[str] = frozenset()) -> list[Problem]:
    """Every dangling or contradictory reference in `centre`.

    `flow_names` are the flows found on disk (a line's flow must be one of them), or None
    when the flows directory is missing (reported on its own). `unchecked` names the
    top-level sections that failed validation and were replaced by defaults: problems
    inside them or about names they define would be follow-on errors, so are left out.
    """
    found = _all(centre, flow_names)
    return [
        Problem(p.path, p.message) for p in found
        if not (p.path and p.path[0] in unchecked)
        and not (isinstance(p, _Finding) and p.needs & unchecked)
    ]


def _all(centre: CentreConfig, flow_names: Collection[str] | None) -> list[Problem]:
    return [
        *_centre(centre),
        *_lines(centre, flow_names),
        *_teams(centre),
        *_queues(centre),
        *_modes(centre, flow_names),
        *_schedules(centre),
        *_agents(centre),
        *_seats(centre),
        *_rosters(centre),
    ]


def _ref(
    path: tuple[PathPart, ...], kind: str, name: str | None, known: Collection[str] | None
) -> Iterator[Problem]:
    if name is not None and known is not None and name not in known:
        yield _Finding(path, unknown(kind, name, known), frozenset({SECTION_OF[kind]}))


def _centre(c: CentreConfig) -> Iterator[Problem]:
    yield from _ref(("centre", "default_language"), "language", c.centre.default_language,
                    c.languages)
    for i, language in enumerate(c.languages):
        if language in c.languages[:i]:
            yield Problem(("languages", i), f"language {language!r} is listed twice")


def _lines(c: CentreConfig, flows: Collection[str] | None) -> Iterator[Problem]:
    for number, line in c.lines.items():
        at: tuple[PathPart, ...] = ("lines", number)
        yield from _ref((*at, "flow"), "flow", line.flow, flows)
        yield from _ref((*at, "language"), "language", line.language, c.languages)
        yield from _ref((*at, "schedule"), "schedule", line.schedule, c.schedules)
        yield from _ref((*at, "calendar"), "holiday calendar", line.calendar, c.holidays)


def _teams(c: CentreConfig) -> Iterator[Problem]:
    for name, team in c.teams.items():
        for i, leader in enumerate(team.leaders):
            yield from _ref(("teams", name, "leaders", i), "agent", leader, c.agents)


def _queue_refs(c: CentreConfig, name: str, queue: Queue, at: tuple[PathPart, ...]
                ) -> Iterator[Problem]:
    for i, skill in enumerate(queue.skills):
        yield from _ref((*at, "skills", i), "skill", skill, c.skills)
    for i, team in enumerate(queue.teams):
        yield from _ref((*at, "teams", i), "team", team, c.teams)
    if queue.overflow is not None:
        if queue.overflow.to == name:
            yield Problem((*at, "overflow", "to"), f"queue {name!r} overflows to itself")
        else:
            yield from _ref((*at, "overflow", "to"), "queue", queue.overflow.to, c.queues)


def _queues(c: CentreConfig) -> Iterator[Problem]:
    for name, queue in c.queues.items():
        yield from _queue_refs(c, name, queue, ("queues", name))
        yield from _servable(c, name, queue)
    normal_loops: set[frozenset[str]] = set()
    if DEFAULT_MODE in c.modes:
        yield from _overflow_loops(c, DEFAULT_MODE, normal_loops)
    for mode in c.modes:
        if mode != DEFAULT_MODE:
            # A loop the normal mode already has is reported once, there.
            yield from _overflow_loops(c, mode, set(normal_loops))


def _servable(c: CentreConfig, name: str, queue: Queue) -> Iterator[Problem]:
    """A queue that no agent or guest could ever answer is a configuration mistake."""
    if any(step.any_agent for step in queue.expansion) or not queue.skills:
        return
    if any(s not in c.skills for s in queue.skills) or any(t not in c.teams for t in queue.teams):
        return  # already reported as an unknown skill or team
    lowest = min([queue.min_level, *(s.min_level or 5 for s in queue.expansion)])
    levels = [agent.skills for agent in c.agents.values()
              if not queue.teams or agent.team in queue.teams]
    for roster in c.rosters.values():
        levels.extend({g.skill: g.level} for g in roster.guests.values())
    if not any(all(skills.get(s, 0) >= lowest for s in queue.skills) for skills in levels):
        needed = ", ".join(queue.skills)
        yield _Finding(("queues", name, "skills"),
                       f"no agent has the skill(s) {needed} at level {lowest} or above"
                       + (f" in teams {', '.join(queue.teams)}" if queue.teams else "")
                       + ": nobody could answer this queue",
                       frozenset({"agents", "skills", "teams", "rosters"}))


def _overflow_loops(c: CentreConfig, mode: str, reported: set[frozenset[str]]
                    ) -> Iterator[Problem]:
    """Overflow chains that come back to where they started, in `mode`; adds each loop
    found to `reported`."""
    try:
        queues = c.queues_in(mode)
    except ValueError:
        return  # an invalid override is reported by the loader with its position
    for start in queues:
        seen = [start]
        current = queues[start].overflow
        while current is not None and current.to in queues and current.to not in seen:
            seen.append(current.to)
            current = queues[current.to].overflow
        if current is not None and current.to == start and len(seen) > 1:
            loop = frozenset(seen)
            if loop in reported:
                continue
            reported.add(loop)
            chain = " -> ".join([*seen, start])
            where: tuple[PathPart, ...] = ("queues", start, "overflow", "to")
            patched = [q for q in seen if "overflow" in c.modes[mode].queues.get(q, {})]
            if patched:  # point at the mode's override that closes the loop
                where = ("modes", mode, "queues", patched[0], "overflow", "to")
            yield _Finding(where, f"overflow goes round in a circle in mode {mode!r}: {chain}",
                           frozenset({"queues", "modes"}))


def _modes(c: CentreConfig, flows: Collection[str] | None) -> Iterator[Problem]:
    if DEFAULT_MODE not in c.modes:
        yield Problem(("modes",), f"a {DEFAULT_MODE!r} mode is required (the centre starts in it)")
    for name, mode in c.modes.items():
        at: tuple[PathPart, ...] = ("modes", name)
        for number, override in mode.lines.items():
            if number not in c.lines:
                yield _Finding((*at, "lines", number), unknown("line", number, c.lines),
                               frozenset({"lines"}))
                continue
            yield from _ref((*at, "lines", number, "flow"), "flow", override.flow, flows)
            yield from _ref((*at, "lines", number, "schedule"), "schedule", override.schedule,
                            c.schedules)
        for queue in mode.queues:
            if queue not in c.queues:
                yield _Finding((*at, "queues", queue), unknown("queue", queue, c.queues),
                               frozenset({"queues"}))
        yield from _override_refs(c, name)
        yield from _ref((*at, "roster"), "roster", mode.roster, c.rosters)


def _override_refs(c: CentreConfig, mode: str) -> Iterator[Problem]:
    """Names a mode's queue override introduces (the queue's own are checked already)."""
    try:
        effective = c.queues_in(mode)
    except ValueError:
        return  # an invalid override is reported by the loader with its position
    for name, patch in c.modes[mode].queues.items():
        if name not in effective:
            continue
        at: tuple[PathPart, ...] = ("modes", mode, "queues", name)
        for problem in _queue_refs(c, name, effective[name], at):
            field = problem.path[len(at)]
            if field in patch:
                yield problem


def _schedules(c: CentreConfig) -> Iterator[Problem]:
    for name, schedule in c.schedules.items():
        yield from _ref(("schedules", name, "calendar"), "holiday calendar", schedule.calendar,
                        c.holidays)


def _agents(c: CentreConfig) -> Iterator[Problem]:
    for agent_id, agent in c.agents.items():
        at: tuple[PathPart, ...] = ("agents", agent_id)
        yield from _ref((*at, "team"), "team", agent.team, c.teams)
        for skill in agent.skills:
            yield from _ref((*at, "skills", skill), "skill", skill, c.skills)


def _seats(c: CentreConfig) -> Iterator[Problem]:
    first: dict[str, str] = {}
    for seat_id, seat in c.seats.items():
        # Endpoint names are case-insensitive in Asterisk's dialplan matching of PJSIP ids.
        key = seat.endpoint.casefold()
        if key in first:
            yield Problem(("seats", seat_id),
                          f"endpoint {seat.endpoint} is already used by seat {first[key]!r}")
        else:
            first[key] = seat_id


def _overlap(c: CentreConfig, first: str, second: str, every_day: bool) -> bool:
    """Whether two shifts share a minute: on the same day, and for a plan that repeats
    every day also a shift running past midnight into the next day's other shift."""
    a, b = c.shifts[first].range, c.shifts[second].range
    a_end = a.end + (24 * 60 if a.overnight else 0)
    b_end = b.end + (24 * 60 if b.overnight else 0)
    offsets = ((0, 0), (0, 24 * 60), (24 * 60, 0)) if every_day else ((0, 0),)
    return any(a.start + da < b_end + db and b.start + db < a_end + da for da, db in offsets)


def _double_booked(c: CentreConfig, where: tuple[PathPart, ...],
                   plan: dict[str, tuple[str, ...]]) -> Iterator[Problem]:
    names = [s for s in plan if s in c.shifts]
    every_day = where[-1] == "daily"
    for i, first in enumerate(names):
        for second in names[i + 1:]:
            if not _overlap(c, first, second, every_day):
                continue
            for index, agent in enumerate(plan[second]):
                if agent in plan[first]:
                    yield _Finding((*where, second, index),
                                   f"agent {agent!r} also works shift {first!r}, which overlaps",
                                   frozenset({"shifts"}))


def _rosters(c: CentreConfig) -> Iterator[Problem]:
    for name, roster in c.rosters.items():
        at: tuple[PathPart, ...] = ("rosters", name)
        plans: list[tuple[tuple[PathPart, ...], dict[str, tuple[str, ...]]]] = [
            ((*at, "daily"), roster.daily)
        ]
        plans.extend(((*at, "days", day), plan) for day, plan in roster.days.items())
        for where, plan in plans:
            yield from _double_booked(c, where, plan)
            for shift, agents in plan.items():
                yield from _ref((*where, shift), "shift", shift, c.shifts)
                seen: set[str] = set()
                for i, agent in enumerate(agents):
                    yield from _ref((*where, shift, i), "agent", agent, c.agents)
                    if agent in seen:
                        yield Problem((*where, shift, i), f"agent {agent!r} is listed twice")
                    seen.add(agent)
        for i, agent in enumerate(roster.reserve):
            yield from _ref((*at, "reserve", i), "agent", agent, c.agents)
        for guest_id, guest in roster.guests.items():
            g_at: tuple[PathPart, ...] = (*at, "guests", guest_id)
            yield from _ref((*g_at, "skill"), "skill", guest.skill, c.skills)
            for i, shift in enumerate(guest.shifts):
                yield from _ref((*g_at, "shifts", i), "shift", shift, c.shifts)
            if guest.seat is not None:
                seat = c.seats.get(guest.seat)
                if seat is None:
                    yield _Finding((*g_at, "seat"), unknown("seat", guest.seat, c.seats),
                                   frozenset({"seats"}))
                elif not seat.guest:
                    yield _Finding((*g_at, "seat"), f"seat {guest.seat!r} is not a guest seat "
                                                   "(mark it `guest: true`)",
                                   frozenset({"seats"}))
