"""A model-based stateful test: the ACD's queue order against a plain sorted list.

One queue without skills, so any seat may serve any caller: then every seat offer must
go to the head of the model (highest priority, earliest arrival), and the positions the
ACD reports must be exactly the model's.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from acd.builders import agent, seat_of
from hotline.queue.acd import NO_REPORT, Acd, AcdOutput
from hotline.queue.rules import QueueRules
from hotline.testing.acd_harness import AcdHarness
from hotline.vocabulary.commands import Enqueue, RingSeat
from hotline.vocabulary.events import (
    AgentLoggedIn,
    AgentPaused,
    AgentReady,
    CallEnded,
    CallerHungUp,
    SeatAnswered,
    SeatNoAnswer,
)
from hotline.vocabulary.facts import RingNoAnswer
from hotline.vocabulary.states import SeatState

AGENTS = [f"a{i}" for i in range(3)]


class QueueOrderModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        rules = {"normal": {"q": QueueRules("q", announce=None, wrap_up_s=0,
                                           tag_priority={"vip": 2})}}
        acd = Acd(rules, [agent(a) for a in AGENTS], {f"s{i}": f"PJSIP/{i}" for i in range(3)},
                  tz="UTC")
        self.h = AcdHarness(acd)
        for i, a in enumerate(AGENTS):
            self.h.feed(AgentLoggedIn(a, f"s{i}", 0.0))
        self.rank: dict[str, tuple[int, int]] = {}
        self.waiting: set[str] = set()  # the model: ids that wait, ordered by `rank`
        self.n = 0

    def _apply(self, out: AcdOutput) -> None:
        for fact in out.facts:
            if isinstance(fact, RingNoAnswer) and fact.cause == NO_REPORT:
                self.waiting.add(fact.call_id)  # the ring guard gave up: back at its place
        for command in out.commands:
            if isinstance(command, RingSeat):
                head = min(self.waiting, key=self.rank.__getitem__)
                assert command.call_id == head, (command.call_id, head)
                self.waiting.discard(head)

    @rule(priority=st.integers(0, 2), vip=st.booleans())
    def arrive(self, priority: int, vip: bool) -> None:
        self.n += 1
        cid = f"c{self.n}"
        self.rank[cid] = (-(priority + (2 if vip else 0)), self.n)
        self.waiting.add(cid)
        self._apply(self.h.enqueue(Enqueue(cid, "q", priority, (), ("vip",) if vip else ())))

    @rule(a=st.sampled_from(AGENTS))
    def ready(self, a: str) -> None:
        if seat_of(self.h, a).state is SeatState.PAUSED:
            self._apply(self.h.feed(AgentReady(a, self.h.now)))

    @rule(a=st.sampled_from(AGENTS))
    def pause(self, a: str) -> None:
        seat = seat_of(self.h, a)
        if seat.state in (SeatState.READY, SeatState.RINGING):
            if seat.call_id is not None:
                self.waiting.add(seat.call_id)  # refused: back at its place
            self._apply(self.h.feed(AgentPaused(a, "break", self.h.now)))

    @rule(a=st.sampled_from(AGENTS), answer=st.booleans())
    def ring_result(self, a: str, answer: bool) -> None:
        seat = seat_of(self.h, a)
        if seat.state is not SeatState.RINGING or seat.call_id is None:
            return
        if answer:
            self._apply(self.h.feed(SeatAnswered(a, seat.call_id, self.h.now)))
        else:
            self.waiting.add(seat.call_id)
            self._apply(self.h.feed(SeatNoAnswer(a, seat.call_id, self.h.now)))

    @rule(a=st.sampled_from(AGENTS))
    def finish(self, a: str) -> None:
        seat = seat_of(self.h, a)
        if seat.state is SeatState.ON_CALL and seat.call_id is not None:
            self._apply(self.h.feed(CallEnded(seat.call_id, self.h.now)))

    @rule(data=st.data())
    def hang_up(self, data: st.DataObject) -> None:
        if self.waiting:
            cid = data.draw(st.sampled_from(sorted(self.waiting)))
            self.waiting.discard(cid)
            self._apply(self.h.feed(CallerHungUp(cid, self.h.now)))

    @rule(seconds=st.sampled_from([1.0, 10.0, 30.0]))
    def wait(self, seconds: float) -> None:
        for out in self.h.advance(seconds):
            self._apply(out)

    @invariant()
    def positions_match_the_model(self) -> None:
        expected = sorted(self.waiting, key=self.rank.__getitem__)
        view = self.h.acd.queue_view("q", self.h.now)
        listed = [w.id for w in view.waiting if w.position is not None]
        assert listed == expected
        assert [self.h.acd.position(c) for c in expected] == list(range(1, len(expected) + 1))


QueueOrderModel.TestCase.settings = settings(
    max_examples=150, stateful_step_count=60, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestQueueOrder = QueueOrderModel.TestCase
