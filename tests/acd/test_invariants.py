"""Hypothesis stateful tests: queue and seat invariants under random event sequences.

Agents' transfers (to a queue, to a named agent, by the wrong agent, of a callback
conversation) are part of the random stream: no caller is lost or served twice, no
agent is offered two calls, each transfer settles once, and the order within a
priority (transferred calls first, then first come first served) holds at every ring.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from acd.builders import Harness, seat_of
from hotline.agents.directory import Agent
from hotline.queue.acd import NO_REPORT, Acd, AcdOutput
from hotline.queue.rules import CallbackRule, ExpansionStep, OverflowRule, QueueRules
from hotline.queue.waiting import EntryState
from hotline.vocabulary.commands import Announce, DialCitizen, Enqueue, RingSeat, StopRinging
from hotline.vocabulary.errors import AcdError
from hotline.vocabulary.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentReady,
    CallbackAnswered,
    CallbackChosen,
    CallbackFailed,
    CallEnded,
    CallerHungUp,
    DigitsReceived,
    ModeSwitched,
    SeatAnswered,
    SeatNoAnswer,
)
from hotline.vocabulary.facts import (
    CALL_OUTCOMES,
    CallAnswered,
    CallbackCompleted,
    CallbackGaveUp,
    CallbackRequested,
    CallCompleted,
    CallExited,
    CallQueued,
    CallTransferred,
    EventIgnored,
    RingNoAnswer,
    SeatStateChanged,
    TransferAbandoned,
    TransferAnswered,
    TransferExited,
    TransferRefused,
)
from hotline.vocabulary.queueing import CallbackOrder, ExitAction
from hotline.vocabulary.states import SeatState

AGENTS = [
    Agent("a0", "A0", "t1", {"tax": 5}),
    Agent("a1", "A1", "t1", {"tax": 2}),
    Agent("a2", "A2", "t2", {}),
    Agent("a3", "A3", "t2", {"tax": 4, "law": 3}),
]
CALLERS = ["", "13800000001", "13800000002", "13800000003"]
TAGS = st.lists(st.sampled_from(["epidemic", "enterprise"]), max_size=2, unique=True)


def _rules(mode: str) -> dict[str, QueueRules]:
    emergency = mode == "emergency"
    callback = CallbackRule(
        enabled=True,
        order=CallbackOrder.CITIZEN_FIRST if emergency else CallbackOrder.AGENT_FIRST,
        attempts=2, retry_spacing_s=60,
    )
    general = QueueRules(
        "general", wrap_up_s=5 if emergency else 20, max_wait_s=400,
        exit=ExitAction.CALLBACK, callback=callback, max_length=12,
        tag_priority={"epidemic": 5, "repeat_caller": 1} if emergency else {"enterprise": 2},
        pause_limits_s={"no-answer": 30, "break": 120},
    )
    tax = QueueRules(
        "tax", skills=("tax",), min_level=4, expansion=(ExpansionStep(40, min_level=2),),
        overflow=OverflowRule("general", after_s=90), callback=callback,
        tag_priority={"epidemic": 5} if emergency else {},
    )
    return {"general": general, "tax": tax}


class CheckedHarness(Harness):
    """Checks priority, band and FIFO at every single step, timers included."""

    def __init__(self, acd: Acd, order: dict[str, tuple[int, int]]) -> None:
        super().__init__(acd)
        self.order = order  # id → (band, order): transferred calls (band 0) first
        self.named: str | None = None  # the call a transfer to a named agent rings now

    def transfer(
        self, call_id: str, from_agent: str, *, queue: str | None = None,
        to_agent: str | None = None,
    ) -> AcdOutput:
        self.named = call_id if to_agent else None
        try:
            return super().transfer(call_id, from_agent, queue=queue, to_agent=to_agent)
        finally:
            self.named = None

    def _take(self, out: AcdOutput) -> AcdOutput:
        super()._take(out)
        for fact in out.facts:
            # A named agent is rung for the transferred call whoever else waits.
            if (
                isinstance(fact, SeatStateChanged) and fact.new is SeatState.RINGING
                and fact.reason != self.named
            ):
                self._check_best(fact.reason)
        return out

    def _check_best(self, entry_id: str) -> None:
        view = self.acd.queue_view("general", self.now)
        chosen = [w for w in view.waiting if w.id == entry_id]
        if not chosen:
            return  # reserved for a tax call
        mine = chosen[0]
        for other in view.waiting:
            if other.state is EntryState.WAITING:
                # In "general" anyone may serve anyone: the reserved entry must rank first.
                assert (-mine.priority, self.order[mine.id]) < (
                    -other.priority, self.order[other.id],
                ), (mine, other)


class AcdMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        rules = {"normal": _rules("normal"), "emergency": _rules("emergency")}
        self.order: dict[str, tuple[int, int]] = {}
        self.transfers = 0
        acd = Acd(rules, AGENTS, {f"s{i}": f"PJSIP/{i}" for i in range(6)}, tz="UTC")
        self.h = CheckedHarness(acd, self.order)
        self.n = 0
        self.rung: dict[str, str] = {}  # agent → call it rings for
        self.callers: dict[str, str] = {}
        self.lapsed: list[tuple[str, str]] = []  # (agent, call) rings the guard gave up
        self.bridged: Counter[str] = Counter()

    # --- helpers ----------------------------------------------------------------------
    def _snapshot(self) -> Any:
        acd = self.h.acd
        return (
            acd.mode,
            acd.seats(),
            acd.queue_view("general", self.h.now),
            acd.queue_view("tax", self.h.now),
        )

    def _try(self, event: Any) -> None:
        """Feed an event; if the ACD refuses it, nothing may have changed."""
        before = self._snapshot()
        try:
            out = self.h.feed(event)
        except AcdError:
            assert self._snapshot() == before
            return
        self._track(out)

    def _track(self, out: AcdOutput) -> None:
        self.lapsed.extend(
            (f.agent_id, f.call_id) for f in out.facts
            if isinstance(f, RingNoAnswer) and f.cause == NO_REPORT
        )
        for command in out.commands:
            if isinstance(command, RingSeat):
                self.rung[command.agent_id] = command.call_id

    def _seats(self, *states: SeatState) -> list[str]:
        return sorted(v.agent_id for v in self.h.acd.seats() if v.state in states)

    def _dialling(self) -> list[str]:
        return sorted(
            w.id
            for q in ("general", "tax")
            for w in self.h.acd.queue_view(q, self.h.now).waiting
            if w.state is EntryState.DIALLING
        )

    def _live_calls(self) -> list[str]:
        facts = self.h.facts
        queued = [f.call_id for f in facts if isinstance(f, CallQueued)]
        return [c for c in queued if self.h.acd.knows(c)]

    # --- rules ------------------------------------------------------------------------
    @rule(queue=st.sampled_from(["general", "general", "tax"]), priority=st.sampled_from([0, 1]),
          tags=TAGS, caller=st.sampled_from(CALLERS))
    def arrive(self, queue: str, priority: int, tags: list[str], caller: str) -> None:
        self.n += 1
        call_id = f"c{self.n}"
        self.order[call_id] = (1, self.n)
        self.order[call_id + ".cb"] = (1, self.n)  # a callback keeps the caller's place
        self.callers[call_id] = caller
        out = self.h.enqueue(Enqueue(call_id, queue, priority, (), tuple(tags)), caller=caller)
        self._track(out)

    @rule(agent=st.sampled_from([a.id for a in AGENTS]), seat=st.integers(0, 5))
    def login(self, agent: str, seat: int) -> None:
        self._try(AgentLoggedIn(agent, f"s{seat}", self.h.now))

    @rule(agent=st.sampled_from([a.id for a in AGENTS]), seat=st.integers(0, 5))
    def staff(self, agent: str, seat: int) -> None:
        """Login and ready in one go, so that seats are staffed often enough."""
        self._try(AgentLoggedIn(agent, f"s{seat}", self.h.now))
        self._try(AgentReady(agent, self.h.now))

    @rule(agent=st.sampled_from([a.id for a in AGENTS]))
    def ready(self, agent: str) -> None:
        self._try(AgentReady(agent, self.h.now))

    @rule(agent=st.sampled_from([a.id for a in AGENTS]), reason=st.sampled_from(["break", "x"]))
    def pause(self, agent: str, reason: str) -> None:
        self._try(AgentPaused(agent, reason, self.h.now))

    @rule(agent=st.sampled_from([a.id for a in AGENTS]))
    def logout(self, agent: str) -> None:
        self._try(AgentLoggedOut(agent, self.h.now))

    @rule(data=st.data())
    def answer(self, data: st.DataObject) -> None:
        ringing = [a for a in self._seats(SeatState.RINGING)]
        if not ringing:
            return
        agent = data.draw(st.sampled_from(ringing))
        call_id = seat_of(self.h, agent).call_id
        assert call_id is not None
        self._try(SeatAnswered(agent, call_id, self.h.now))

    @rule(data=st.data())
    def answer_again(self, data: st.DataObject) -> None:
        self.answer(data)  # answering is the common case: give it twice the weight

    @rule(data=st.data(), answered=st.booleans())
    def callback_result_again(self, data: st.DataObject, answered: bool) -> None:
        self.callback_result(data, answered)

    @rule(data=st.data())
    def no_answer(self, data: st.DataObject) -> None:
        ringing = self._seats(SeatState.RINGING)
        if not ringing:
            return
        agent = data.draw(st.sampled_from(ringing))
        call_id = seat_of(self.h, agent).call_id
        assert call_id is not None
        self._try(SeatNoAnswer(agent, call_id, self.h.now))

    @rule(data=st.data())
    def hang_up(self, data: st.DataObject) -> None:
        live = self._live_calls()
        if live:
            self._try(CallerHungUp(data.draw(st.sampled_from(live)), self.h.now))

    @rule(data=st.data())
    def end_call(self, data: st.DataObject) -> None:
        talking = [v.call_id for v in self.h.acd.seats() if v.state is SeatState.ON_CALL]
        if talking:
            call_id = data.draw(st.sampled_from(talking))
            assert call_id is not None
            self._try(CallEnded(call_id, self.h.now))

    @rule(data=st.data())
    def choose_callback(self, data: st.DataObject) -> None:
        live = self._live_calls()
        if live:
            self._try(CallbackChosen(data.draw(st.sampled_from(live)), self.h.now))

    @rule(data=st.data(), digits=st.sampled_from(["1", "1", "2", "#", "11"]))
    def press_key(self, data: st.DataObject, digits: str) -> None:
        """Keys on hold: the callback key books a callback; anything else changes nothing."""
        live = self._live_calls()
        if not live:
            return
        call_id = data.draw(st.sampled_from(live))
        views = [
            w for q in ("general", "tax") for w in self.h.acd.queue_view(q, self.h.now).waiting
        ]
        waiting = any(w.id == call_id and w.state is EntryState.WAITING for w in views)
        offered = any(  # the caller heard the offer (the key means nothing before)
            isinstance(c, Announce) and c.call_id == call_id and c.callback_key == digits
            for c in self.h.commands
        )
        before = self._snapshot()
        out = self.h.feed(DigitsReceived(call_id, digits, self.h.now))
        self._track(out)
        if digits == "1" and waiting and offered and self.callers[call_id]:
            # Both queues offer callbacks: the call ends, a request takes its place.
            event("callback key booked a callback")
            assert not self.h.acd.knows(call_id)
            exited = [f for f in out.facts if isinstance(f, CallExited)]
            assert [(f.call_id, f.action, f.reason) for f in exited] == [
                (call_id, "callback", "caller-choice")
            ]
            assert any(isinstance(f, CallbackRequested) for f in out.facts)
        else:
            assert out.facts == () and self._snapshot() == before

    @rule(data=st.data(), answered=st.booleans())
    def late_ring_report(self, data: st.DataObject, answered: bool) -> None:
        """The driver's report for a ring the guard already gave up finally arrives."""
        if not self.lapsed:
            return
        agent, call_id = self.lapsed.pop(data.draw(st.integers(0, len(self.lapsed) - 1)))
        seat = self.h.acd.seat(agent)
        if seat is not None and seat.state is SeatState.RINGING and seat.call_id == call_id:
            return  # rung again for the same call: a report now is about the new ring
        before = self._snapshot()
        report = (SeatAnswered if answered else SeatNoAnswer)(agent, call_id, self.h.now)
        try:
            out = self.h.feed(report)
        except AcdError:
            assert self._snapshot() == before  # that pair was rung again and settled since
            return
        event("late ring report settled")
        # Only the stale report itself is logged; nothing else changes.
        assert [type(f) for f in out.facts] == [EventIgnored] and self._snapshot() == before
        assert all(isinstance(c, StopRinging) for c in out.commands)
        assert len(out.commands) == (1 if answered else 0)

    @rule(data=st.data(), answered=st.booleans())
    def callback_result(self, data: st.DataObject, answered: bool) -> None:
        dialling = self._dialling()
        if not dialling:
            return
        request = data.draw(st.sampled_from(dialling))
        event = CallbackAnswered(request, self.h.now) if answered else CallbackFailed(
            request, self.h.now
        )
        self._try(event)

    @rule(data=st.data(),
          to=st.sampled_from(["general", "tax", "a0", "a1", "a2", "a3", "ready", "ready"]),
          wrong_agent=st.booleans())
    def transfer(self, data: st.DataObject, to: str, wrong_agent: bool) -> None:
        """An agent hands the citizen on (or presses the button on a call not theirs)."""
        talking = sorted(
            (v.agent_id, v.call_id) for v in self.h.acd.seats()
            if v.state is SeatState.ON_CALL and v.call_id is not None
        )
        if not talking:
            return
        agent, call_id = data.draw(st.sampled_from(talking))
        if wrong_agent:
            agent = data.draw(st.sampled_from([a.id for a in AGENTS]))
        if to == "ready":  # a colleague who is free now: the case the button is for
            if not self._seats(SeatState.READY):
                self._bring_in_someone(data)
            ready = self._seats(SeatState.READY)
            to = data.draw(st.sampled_from(ready)) if ready else "a0"
        queue = to if to in ("general", "tax") else None
        to_agent = None if queue else to
        before = self._snapshot()
        try:
            out = self.h.transfer(call_id, agent, queue=queue, to_agent=to_agent)
        except AcdError:
            event("transfer malformed")
            assert self._snapshot() == before
            return
        refused = [f for f in out.facts if isinstance(f, TransferRefused)]
        if refused:
            event(f"transfer refused: {refused[0].reason}")
            assert len(out.facts) == 1 and out.commands == () and self._snapshot() == before
            return
        event(f"transferred to {'a queue' if queue else 'an agent'}")
        assert isinstance(out.facts[0], CallTransferred)
        self.transfers += 1
        self.order[call_id] = (0, self.transfers)
        self.order[call_id + ".cb"] = (0, self.transfers)
        self._track(out)

    def _bring_in_someone(self, data: st.DataObject) -> None:
        """A colleague logs in and gets ready (taking a waiting caller, if any)."""
        seats = {v.agent_id: v.seat_id for v in self.h.acd.seats()}
        out = [a.id for a in AGENTS if a.id not in seats]
        free = [f"s{i}" for i in range(6) if f"s{i}" not in seats.values()]
        if out and free:
            agent = data.draw(st.sampled_from(out))
            self._try(AgentLoggedIn(agent, free[0], self.h.now))
            self._try(AgentReady(agent, self.h.now))

    @rule(data=st.data())
    def transfer_again(self, data: st.DataObject) -> None:
        self.transfer(data, data.draw(st.sampled_from(["general", "tax", "ready"])), False)

    @rule(mode=st.sampled_from(["normal", "emergency"]), timed=st.booleans())
    def switch(self, mode: str, timed: bool) -> None:
        until = self.h.now + 300 if timed else None
        self._try(ModeSwitched(mode, "sup", "test", self.h.now, until))

    @rule(seconds=st.sampled_from([1, 5, 20, 45, 100, 400]))
    def wait(self, seconds: float) -> None:
        for out in self.h.advance(seconds):
            self._track(out)

    @rule(event=st.sampled_from(["answer", "no-answer", "end", "cb-ok", "cb-fail", "hangup"]),
          agent=st.sampled_from(["a0", "a2", "zz"]), call=st.integers(0, 12))
    def garbage(self, event: str, agent: str, call: int) -> None:
        """Arbitrary, mostly illegal events: refused without a trace, or accepted."""
        cid = f"c{call}" if call % 3 else f"c{call}.cb"
        now = self.h.now
        made = {
            "answer": SeatAnswered(agent, cid, now),
            "no-answer": SeatNoAnswer(agent, cid, now),
            "end": CallEnded(cid, now),
            "cb-ok": CallbackAnswered(cid, now),
            "cb-fail": CallbackFailed(cid, now),
            "hangup": CallerHungUp(cid, now),
        }[event]
        self._try(made)

    # --- invariants -------------------------------------------------------------------
    @invariant()
    def one_call_per_seat_and_one_seat_per_call(self) -> None:
        busy = [v for v in self.h.acd.seats() if v.state in (SeatState.RINGING, SeatState.ON_CALL)]
        calls = [v.call_id for v in busy]
        assert None not in calls
        assert len(calls) == len(set(calls)), calls
        for q in ("general", "tax"):
            for w in self.h.acd.queue_view(q, self.h.now).waiting:
                if w.state in (EntryState.RINGING, EntryState.DIALLING, EntryState.TALKING):
                    seat = self.h.acd.seat(w.agent_id or "")
                    assert seat is not None and seat.call_id == w.id, (w, seat)
                else:
                    assert w.agent_id is None

    @invariant()
    def every_call_has_at_most_one_outcome_and_none_is_lost(self) -> None:
        outcomes = Counter(f.call_id for f in self.h.facts if isinstance(f, CALL_OUTCOMES))
        answered = Counter(f.call_id for f in self.h.facts if isinstance(f, CallAnswered))
        assert all(n == 1 for n in outcomes.values()), outcomes
        assert all(n == 1 for n in answered.values())
        for fact in self.h.facts:
            if isinstance(fact, CallQueued):
                # Gone from the ACD only with exactly one outcome; still there with one
                # only while the answered conversation lasts.
                if not self.h.acd.knows(fact.call_id):
                    assert outcomes[fact.call_id] == 1, fact
                elif outcomes[fact.call_id]:
                    assert answered[fact.call_id] == 1, fact
        # Each transfer settles once (answered, abandoned or let out), the latest only
        # once the call has moved on; every conversation ends with one `CallCompleted`.
        facts = self.h.facts
        handed = Counter(f.call_id for f in facts if isinstance(f, CallTransferred))
        settled = Counter(
            f.call_id for f in facts
            if isinstance(f, TransferAnswered | TransferAbandoned | TransferExited)
        )
        talks = Counter(
            f.call_id for f in facts if isinstance(f, CallAnswered | TransferAnswered)
        )
        done = Counter(f.call_id for f in facts if isinstance(f, CallCompleted))
        talking = {v.call_id for v in self.h.acd.seats() if v.state is SeatState.ON_CALL}
        for call_id, n in handed.items():
            assert settled[call_id] in (n - 1, n), call_id
            if not self.h.acd.knows(call_id):
                assert settled[call_id] == n, call_id
        for call_id, n in talks.items():
            assert done[call_id] == n - (1 if call_id in talking else 0), call_id
        ended = Counter(
            f.request_id for f in self.h.facts
            if isinstance(f, CallbackCompleted | CallbackGaveUp)
        )
        completed = Counter(
            f.request_id for f in self.h.facts if isinstance(f, CallbackCompleted)
        )
        assert all(n == 1 for n in ended.values())
        for fact in self.h.facts:
            if isinstance(fact, CallbackRequested):
                if not self.h.acd.knows(fact.request_id):
                    assert ended[fact.request_id] == 1, fact
                elif ended[fact.request_id]:
                    assert completed[fact.request_id] == 1, fact

    @invariant()
    def no_ready_seat_beside_a_caller_it_could_serve_in_general(self) -> None:
        # Work conservation: "general" needs no skill, so a ready seat means nobody waits.
        if self._seats(SeatState.READY):
            waiting = [w for w in self.h.acd.queue_view("general", self.h.now).waiting
                       if w.state is EntryState.WAITING]
            assert waiting == [], waiting

    @invariant()
    def one_dial_in_flight_per_request(self) -> None:
        dials = [c for c in self.h.commands if isinstance(c, DialCitizen)]
        per_request: dict[str, list[int]] = {}
        for d in dials:
            per_request.setdefault(d.request_id, []).append(d.attempt)
        for attempts in per_request.values():
            assert attempts == list(range(1, len(attempts) + 1))  # never two of one attempt
            assert len(attempts) <= 2  # the configured number of attempts


AcdMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("ACD_EXAMPLES", "200")), stateful_step_count=80, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestAcdInvariants = AcdMachine.TestCase
