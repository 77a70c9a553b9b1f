"""Seat state machine and the index of ready seats the router picks from.

Every state change goes through `SeatBoard.transition`, the one chokepoint: it looks
the (state, trigger) pair up in `TRANSITIONS`, raises `SeatError` (changing nothing) when
the pair is not there, keeps the ready index in step, emits `SeatStateChanged` and arms
or cancels the seat's timers: the pause limit of the pause's reason and the wrap-up
limit of the queue the call came from (`SeatLimits`), both counted from the start of
the state, so `SeatBoard.retime` can re-apply them fairly after a mode switch.

Ready seats are indexed per strategy, per skill and per level, each list sorted by the
strategy's key, so "the longest-idle ready agent with tax >= 3" is the first entry of a
merge of at most five sorted lists instead of a scan over every seat.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from sortedcontainers import SortedList

from hotline.vocabulary.errors import SeatError
from hotline.vocabulary.facts import SeatStateChanged
from hotline.vocabulary.queueing import MAX_SKILL_LEVEL, Strategy
from hotline.vocabulary.states import SeatState
from hotline.vocabulary.timers import SeatOwner, TimerKind, TimerOwner

ANY_SKILL = "*"  # index of every ready seat, whatever its skills


class SeatTrigger(StrEnum):
    LOGIN = "login"
    READY = "ready"
    PAUSE = "pause"
    OFFER = "offer"  # reserved for one call or callback request
    ANSWER = "answer"
    NO_ANSWER = "no-answer"
    CANCEL = "cancel"  # the reservation ended without a conversation (caller gone, dial failed)
    CALL_END = "call-end"
    WRAP_DONE = "wrap-done"
    LOGOUT = "logout"


S, T = SeatState, SeatTrigger
TRANSITIONS: Mapping[tuple[SeatState, SeatTrigger], SeatState] = {
    (S.LOGGED_OUT, T.LOGIN): S.PAUSED,  # a fresh login is not ready until the agent says so
    (S.PAUSED, T.READY): S.READY,
    (S.WRAP_UP, T.READY): S.READY,  # the agent ends wrap-up early
    (S.READY, T.PAUSE): S.PAUSED,
    (S.PAUSED, T.PAUSE): S.PAUSED,  # a new reason restarts the pause
    (S.WRAP_UP, T.PAUSE): S.PAUSED,
    (S.RINGING, T.PAUSE): S.PAUSED,  # pause pressed while ringing: a refusal
    (S.READY, T.OFFER): S.RINGING,
    (S.RINGING, T.ANSWER): S.ON_CALL,
    (S.RINGING, T.NO_ANSWER): S.PAUSED,
    (S.RINGING, T.CANCEL): S.READY,
    (S.ON_CALL, T.CANCEL): S.READY,  # agent-first callback: the citizen was not reached
    # ... and the agent had asked for a pause (or to leave) during that dial:
    (S.ON_CALL, T.PAUSE): S.PAUSED,
    (S.ON_CALL, T.LOGOUT): S.LOGGED_OUT,
    (S.ON_CALL, T.CALL_END): S.WRAP_UP,
    (S.WRAP_UP, T.WRAP_DONE): S.READY,
    (S.READY, T.LOGOUT): S.LOGGED_OUT,
    (S.PAUSED, T.LOGOUT): S.LOGGED_OUT,
    (S.WRAP_UP, T.LOGOUT): S.LOGGED_OUT,
    (S.RINGING, T.LOGOUT): S.LOGGED_OUT,
}
del S, T


class Seat:
    """A logged-in agent on a softphone seat (live state, owned by the board)."""

    __slots__ = (
        "_index_entries",
        "agent_id",
        "call_id",
        "calls_taken",
        "endpoint",
        "guest",
        "pending_logout",
        "pending_pause",
        "ready_since",
        "reason",
        "seat_id",
        "serial",
        "since",
        "skills",
        "state",
        "team",
        "wrap_queue",
    )

    def __init__(
        self,
        agent_id: str,
        seat_id: str,
        endpoint: str,
        team: str,
        skills: Mapping[str, int],
        guest: bool,
        serial: int,
        at: float,
    ) -> None:
        self.agent_id = agent_id
        self.seat_id = seat_id
        self.endpoint = endpoint
        self.team = team
        self.skills: Mapping[str, int] = dict(skills)
        self.guest = guest
        self.serial = serial
        self.state = SeatState.LOGGED_OUT
        self.reason = ""
        self.since = at
        self.ready_since = at
        self.calls_taken = 0
        self.call_id: str | None = None  # the call or request this seat is reserved for / on
        self.pending_pause: str | None = None  # pause asked for during a call
        self.pending_logout = False  # logout asked for during a call or a callback dial
        self.wrap_queue: str | None = None  # queue whose wrap-up limit applies
        self._index_entries: list[tuple[Any, tuple[Any, ...]]] = []

    def qualifies(self, skills: tuple[str, ...], level: int, teams: tuple[str, ...]) -> bool:
        if teams and self.team not in teams:
            return False
        return all(self.skills.get(skill, 0) >= level for skill in skills)


@dataclass(frozen=True, slots=True)
class SeatView:
    """Read-only picture of a seat for the wallboard and the agent desk."""

    agent_id: str
    seat_id: str
    endpoint: str
    team: str
    state: SeatState
    reason: str
    since: float
    call_id: str | None
    calls_taken: int
    guest: bool
    skills: tuple[tuple[str, int], ...] = ()  # (skill, level), sorted by skill


class SeatTimers(Protocol):
    """Where the board's timers go (the ACD's `TimerBook`)."""

    def arm(self, owner: TimerOwner, kind: TimerKind, seconds: float) -> None: ...

    def cancel(self, owner: TimerOwner, kind: TimerKind) -> None: ...


class SeatLimits(Protocol):
    """The limits in force now (they change with the centre mode)."""

    def pause_limit_s(self, reason: str) -> float | None: ...

    def wrap_up_s(self, queue: str | None) -> float: ...


class SeatBoard:
    """All logged-in seats, the ready index and the single transition chokepoint."""

    def __init__(
        self,
        on_fact: Callable[[SeatStateChanged], None] | None = None,
        *,
        timers: SeatTimers | None = None,
        limits: SeatLimits | None = None,
    ) -> None:
        self._on_fact = on_fact
        self._timers = timers
        self._limits = limits
        self._by_agent: dict[str, Seat] = {}
        self._agent_on_seat: dict[str, str] = {}
        self._serial = 0
        # strategy → skill → level → SortedList of (key..., serial, agent_id)
        self._ready: dict[Strategy, dict[str, dict[int, Any]]] = {s: {} for s in Strategy}
        self._facts: list[SeatStateChanged] = []
        self.version = 0  # bumped whenever who is staffed/ready changes

    # --- lookups -------------------------------------------------------------------
    def get(self, agent_id: str) -> Seat:
        seat = self._by_agent.get(agent_id)
        if seat is None:
            raise SeatError(f"agent {agent_id} is not logged in")
        return seat

    def find(self, agent_id: str) -> Seat | None:
        return self._by_agent.get(agent_id)

    def occupant(self, seat_id: str) -> str | None:
        return self._agent_on_seat.get(seat_id)

    def seats(self) -> Iterator[Seat]:
        return iter(self._by_agent.values())

    def drain_facts(self) -> list[SeatStateChanged]:
        out, self._facts = self._facts, []
        return out

    # --- login / logout --------------------------------------------------------------
    def check_login(self, agent_id: str, seat_id: str) -> None:
        if agent_id in self._by_agent:
            raise SeatError(
                f"agent {agent_id} is already logged in on seat {self._by_agent[agent_id].seat_id}"
            )
        other = self._agent_on_seat.get(seat_id)
        if other is not None:
            raise SeatError(f"seat {seat_id} is taken by agent {other}")

    def login(
        self,
        agent_id: str,
        seat_id: str,
        endpoint: str,
        team: str,
        skills: Mapping[str, int],
        guest: bool,
        at: float,
    ) -> Seat:
        self.check_login(agent_id, seat_id)
        self._serial += 1
        seat = Seat(agent_id, seat_id, endpoint, team, skills, guest, self._serial, at)
        self._by_agent[agent_id] = seat
        self._agent_on_seat[seat_id] = agent_id
        self.transition(seat, SeatTrigger.LOGIN, "login", at)
        return seat

    # --- the chokepoint --------------------------------------------------------------
    def can(self, seat: Seat, trigger: SeatTrigger) -> bool:
        return (seat.state, trigger) in TRANSITIONS

    def transition(self, seat: Seat, trigger: SeatTrigger, reason: str, at: float) -> SeatState:
        """The only place a seat's state changes. Illegal pairs raise and change nothing."""
        new = TRANSITIONS.get((seat.state, trigger))
        if new is None:
            raise SeatError(f"agent {seat.agent_id}: cannot {trigger} while {seat.state}")
        old = seat.state
        if old is SeatState.READY:
            self._unindex(seat)
        seat.state = new
        seat.reason = reason
        seat.since = at
        if new is SeatState.READY:
            seat.ready_since = at
            seat.call_id = None
            self._index(seat)
        elif new in (SeatState.PAUSED, SeatState.WRAP_UP, SeatState.LOGGED_OUT):
            seat.call_id = None
        if trigger is SeatTrigger.ANSWER:
            seat.calls_taken += 1
        if new not in (SeatState.ON_CALL, SeatState.WRAP_UP):
            # A wish deferred during a call is spent once the seat moves on after it.
            seat.pending_pause = None
            seat.pending_logout = False
        self._time(seat, at)
        if new is SeatState.LOGGED_OUT:
            del self._by_agent[seat.agent_id]
            del self._agent_on_seat[seat.seat_id]
        if old is SeatState.PAUSED or new in (SeatState.PAUSED, SeatState.LOGGED_OUT) or (
            old is SeatState.LOGGED_OUT
        ):
            self.version += 1
        fact = SeatStateChanged(seat.agent_id, old, new, reason, at, seat.seat_id)
        if self._on_fact is not None:
            self._on_fact(fact)  # the owner keeps facts of all kinds in one ordered list
        else:
            self._facts.append(fact)
        return new

    def _time(self, seat: Seat, at: float) -> None:
        """Arm the limit of the seat's state (from ``seat.since``); cancel the others."""
        if self._timers is None:
            return
        owner = SeatOwner(seat.agent_id)
        limits = self._limits
        pause = (
            limits.pause_limit_s(seat.reason)
            if limits is not None and seat.state is SeatState.PAUSED else None
        )
        wrap = (
            limits.wrap_up_s(seat.wrap_queue)
            if limits is not None and seat.state is SeatState.WRAP_UP else None
        )
        if pause is None:
            self._timers.cancel(owner, TimerKind.PAUSE_LIMIT)
        else:
            self._timers.arm(owner, TimerKind.PAUSE_LIMIT, seat.since + pause - at)
        if wrap is None or seat.since + wrap <= at:
            # No time left: the owner ends the wrap-up in this same step (`wrap_up_over`).
            self._timers.cancel(owner, TimerKind.WRAP_UP)
        else:
            self._timers.arm(owner, TimerKind.WRAP_UP, seat.since + wrap - at)

    def retime(self, seat: Seat, at: float) -> bool:
        """Re-apply the current limits to a running pause or wrap-up (mode switch).

        True when the wrap-up limit has already passed: the owner ends it now.
        """
        self._time(seat, at)
        if seat.state is SeatState.WRAP_UP and self._limits is not None:
            return seat.since + self._limits.wrap_up_s(seat.wrap_queue) <= at
        return False

    def wrap_up_over(self, seat: Seat, at: float) -> bool:
        """A wrap-up with no time left (a zero limit): the owner ends it in this step."""
        if seat.state is not SeatState.WRAP_UP or self._limits is None:
            return False
        return seat.since + self._limits.wrap_up_s(seat.wrap_queue) <= at

    # --- ready index -----------------------------------------------------------------
    def _index(self, seat: Seat) -> None:
        keys: dict[Strategy, tuple[Any, ...]] = {
            Strategy.LONGEST_IDLE: (seat.ready_since, seat.serial, seat.agent_id),
            Strategy.FEWEST_CALLS: (
                seat.calls_taken, seat.ready_since, seat.serial, seat.agent_id,
            ),
        }
        for strategy, key in keys.items():
            by_skill = self._ready[strategy]
            places = [(ANY_SKILL, 0), *seat.skills.items()]
            for skill, level in places:
                lst = by_skill.setdefault(skill, {}).setdefault(level, SortedList())
                lst.add(key)
                seat._index_entries.append((lst, key))

    def _unindex(self, seat: Seat) -> None:
        for lst, key in seat._index_entries:
            lst.remove(key)
        seat._index_entries.clear()

    def ready_count(self, skill: str = ANY_SKILL) -> int:
        levels = self._ready[Strategy.LONGEST_IDLE].get(skill, {})
        return sum(len(lst) for lst in levels.values())

    def best_ready(
        self,
        strategy: Strategy,
        skills: tuple[str, ...],
        level: int,
        teams: tuple[str, ...],
        any_agent: bool = False,
    ) -> Seat | None:
        """The ready seat the strategy prefers among those qualified, or None."""
        by_skill = self._ready[strategy]
        if any_agent or not skills:
            lists = [lst for lst in by_skill.get(ANY_SKILL, {}).values() if lst]
            need: tuple[str, ...] = ()
            min_level = 0
        else:
            # Walk the rarest required skill: the fewest candidates to look at.
            def ready_with(skill: str) -> int:
                levels = by_skill.get(skill, {})
                return sum(len(levels.get(lv, ())) for lv in range(level, MAX_SKILL_LEVEL + 1))

            rarest = min(skills, key=ready_with)
            levels = by_skill.get(rarest, {})
            lists = [
                levels[lv] for lv in range(level, MAX_SKILL_LEVEL + 1) if levels.get(lv)
            ]
            need, min_level = skills, level
        candidates: Iterator[tuple[Any, ...]] = (
            iter(lists[0]) if len(lists) == 1 else heapq.merge(*lists)
        )
        for key in candidates:
            seat = self._by_agent[key[-1]]
            if seat.qualifies(need, min_level, teams):
                return seat
        return None

    def view(self, seat: Seat) -> SeatView:
        return SeatView(
            seat.agent_id, seat.seat_id, seat.endpoint, seat.team, seat.state, seat.reason,
            seat.since, seat.call_id, seat.calls_taken, seat.guest,
            tuple(sorted(seat.skills.items())),
        )


def transition_table() -> str:
    """The seat state machine as a Markdown table, generated from `TRANSITIONS` (docs)."""
    rows = ["| from | trigger | to |", "|---|---|---|"]
    rows += [f"| {old} | {trigger} | {new} |" for (old, trigger), new in TRANSITIONS.items()]
    return "\n".join(rows)
