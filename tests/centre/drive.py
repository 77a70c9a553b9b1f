"""Driving a kernel with the random PBX, and the invariants every step must keep."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from hotline.centre.kernel import CentreKernel
from hotline.vocabulary.errors import AcdError, KernelError
from hotline.vocabulary.events import (
    AgentLoggedIn,
    AgentReady,
    CallArrived,
    SeatAnswered,
    SpeechRecognized,
    TimerFired,
)
from hotline.vocabulary.facts import CallFinished, CallStarted
from hotline.vocabulary.states import CallStage, SeatState

from .pbx import AGENTS, RandomPbx

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 10, 9, 0, tzinfo=TZ).timestamp()  # a Tuesday morning
STEPS = st.sampled_from((0.0, 0.3, 2.0, 8.0, 25.0, 90.0))


@dataclass
class Drive:
    """One run: the kernel, the PBX beside it, and what was seen."""

    kernel: CentreKernel
    pbx: RandomPbx
    queues: tuple[str, ...]
    records: list[Any] = field(default_factory=list)
    events: list[Any] = field(default_factory=list)  # what was fed, accepted or not
    refused: Counter[str] = field(default_factory=Counter)
    last: tuple[list[Any], list[Any], str | None] = ([], [], None)  # commands, records, error

    def step(self, data: st.DataObject) -> Any:
        pbx = self.pbx
        _label, make = data.draw(st.sampled_from(pbx.choices()), label="event")
        skew = data.draw(st.sampled_from((0, 0, 0, 0, 1)), label="skew")
        pbx.now += data.draw(STEPS, label="wait")
        at = pbx.now - 0.004 * skew  # a few milliseconds older than the last event
        event = make(at)
        if isinstance(event, TimerFired):
            due = pbx.timers.get((event.call_id, event.timer), at)
            if due > pbx.now:
                pbx.now = due
                event = TimerFired(event.call_id, event.timer, due)
        self.feed(event)
        return event

    def feed(self, event: Any) -> list[Any]:
        kernel = self.kernel
        before = fingerprint(kernel, self.queues)
        self.events.append(event)
        try:
            commands = kernel.handle(event)
        except (KernelError, AcdError) as exc:
            # Refused before anything changed: no record, the same state.
            self.refused[type(exc).__name__] += 1
            self.last = ([], [], type(exc).__name__)
            assert kernel.take_facts() == []
            assert fingerprint(kernel, self.queues) == before, f"{event} refused after a change"
            return []
        records = kernel.take_facts()
        self.records.extend(records)
        self.last = (commands, records, None)
        self.pbx.after(event)
        self.pbx.take(commands)
        return commands


def talking_calls(drive: Drive, n: int) -> None:
    """Start from `n` citizens talking with agents and one more agent ready, so that the
    random steps that follow are often an agent's transfer (and its races)."""
    pbx = drive.pbx
    for agent, seat in AGENTS[: n + 1]:
        drive.feed(AgentLoggedIn(agent, seat, pbx.now))
        drive.feed(AgentReady(agent, pbx.now))
    for _ in range(n):
        call_id = f"c{pbx.next_call}"
        pbx.now += 1.0
        drive.feed(CallArrived(call_id, "12345", f"1390000000{pbx.next_call}", pbx.now))
        pbx.now += 1.0
        drive.feed(SpeechRecognized(call_id, "人工", 0.9, pbx.now))  # "a person, please"
        agent = next(a for (a, c) in pbx.rings if c == call_id)
        pbx.now += 1.0
        drive.feed(SeatAnswered(agent, call_id, pbx.now))
        assert drive.kernel.stage(call_id) is CallStage.TALKING


def fingerprint(kernel: CentreKernel, names: tuple[str, ...]) -> tuple[Any, ...]:
    acd = kernel.acd
    queues = tuple(
        (name, tuple((w.id, w.state, w.position) for w in acd.queue_view(name, 0.0).waiting))
        for name in names
    )
    seats = tuple(sorted((s.agent_id, s.state, s.call_id, s.reason) for s in acd.seats()))
    return kernel.mode, queues, seats, tuple(sorted(kernel.live_calls().items()))


def check_invariants(drive: Drive) -> None:
    kernel = drive.kernel
    acd = kernel.acd
    seats = acd.seats()
    # No seat holds two calls; no call is held by two seats.
    held = [s.call_id for s in seats if s.call_id is not None]
    assert len(held) == len(set(held)), f"a call on two seats: {held}"
    # Every call ends in exactly one outcome, and an ended call is no longer live.
    finished = Counter(r.call_id for r in drive.records if isinstance(r, CallFinished))
    assert all(n == 1 for n in finished.values()), finished.most_common(3)
    started = {r.call_id for r in drive.records if isinstance(r, CallStarted)}
    for call_id in finished:
        assert call_id in started
        assert kernel.stage(call_id) is None, f"{call_id} finished but still live"
    for call_id in started - set(finished):
        assert kernel.stage(call_id) is not None, f"{call_id} vanished without an outcome"
    # Work is conserved: no caller waits while a ready agent could take them (judged
    # once the PBX has delivered every timer that is due: widening skills is a timer).
    now = drive.pbx.now
    if any(due <= now for due in drive.pbx.timers.values()):
        return
    ready = [s for s in seats if s.state is SeatState.READY]
    for name in drive.queues:
        try:
            rules = acd.rules(name)
        except AcdError:
            continue  # a queue of another mode only
        for waiting in acd.queue_view(name, now).waiting:
            if waiting.position is None:
                continue
            level, any_agent = rules.level_after(waiting.waited_s)
            required = set(rules.skills) | set(drive.pbx.skills.get(waiting.id, ()))
            for seat in ready:
                skills = dict(seat.skills)
                if rules.teams and seat.team not in rules.teams:
                    continue
                if any_agent or all(skills.get(k, 0) >= level for k in required):
                    raise AssertionError(
                        f"{waiting.id} waits in {name} while {seat.agent_id} is ready"
                    )
