"""Queue and routing scenarios on virtual time."""

from __future__ import annotations

import pytest

from acd.builders import agent, call, centre, login_ready, seat_of
from hotline.queue.rules import AnnounceRule, CallbackRule, ExpansionStep, OverflowRule, QueueRules
from hotline.testing.acd_harness import AcdHarness
from hotline.vocabulary.commands import (
    Announce,
    Bridge,
    Enqueue,
    HoldWithMusic,
    Record,
    RingSeat,
    StopRinging,
)
from hotline.vocabulary.errors import AcdError
from hotline.vocabulary.events import (
    AgentPaused,
    AgentReady,
    CallEnded,
    CallerHungUp,
    SeatAnswered,
    SeatNoAnswer,
    TimerFired,
)
from hotline.vocabulary.facts import (
    CallAbandoned,
    CallAnswered,
    CallCompleted,
    CallExited,
    CallOverflowed,
    CallQueued,
    RingNoAnswer,
)
from hotline.vocabulary.queueing import Strategy
from hotline.vocabulary.states import SeatState

GENERAL = QueueRules("general", announce=None)


def rings(h: AcdHarness, since: int = 0) -> list[tuple[str, str]]:
    return [(c.call_id, c.agent_id) for c in h.of(RingSeat, since)]


def test_ready_seat_takes_arriving_call_in_the_same_step() -> None:
    h = centre([GENERAL], [agent("a1")])
    login_ready(h, "a1")
    out = h.enqueue(Enqueue("c1", "general"))
    assert any(isinstance(c, RingSeat) and c.agent_id == "a1" for c in out.commands)
    assert seat_of(h, "a1").state is SeatState.RINGING
    h.advance(4)
    out = h.feed(SeatAnswered("a1", "c1", h.now))
    assert Bridge("c1", "a1", seat_of(h, "a1").endpoint) in out.commands
    answered = h.of(CallAnswered)
    assert [(f.call_id, f.queue, f.waited_s, f.answered_in) for f in answered] == [
        ("c1", "general", 4.0, "general")
    ]


def test_waiting_call_goes_to_the_seat_the_moment_it_becomes_ready() -> None:
    h = centre([GENERAL], [agent("a1")])
    call(h, "c1")
    assert h.of(HoldWithMusic) == [HoldWithMusic("c1", "general")]
    assert h.of(RingSeat) == []
    h.advance(10)
    mark = h.mark()
    login_ready(h, "a1")
    assert rings(h, mark[0]) == [("c1", "a1")]


def test_wrap_up_then_ready_offers_next_call_in_that_event() -> None:
    h = centre([QueueRules("general", announce=None, wrap_up_s=20)], [agent("a1")])
    login_ready(h, "a1")
    call(h, "c1")
    call(h, "c2")
    h.feed(SeatAnswered("a1", "c1", h.now))
    h.advance(100)
    h.feed(CallEnded("c1", h.now))
    assert seat_of(h, "a1").state is SeatState.WRAP_UP
    completed = h.of(CallCompleted)
    assert completed[0].talk_s == 100.0
    mark = h.mark()
    h.advance(19.9)
    assert rings(h, mark[0]) == []
    h.advance(0.1)
    assert rings(h, mark[0]) == [("c2", "a1")]


def test_agent_ends_wrap_up_early() -> None:
    h = centre([QueueRules("general", announce=None, wrap_up_s=60)], [agent("a1")])
    login_ready(h, "a1")
    call(h, "c1")
    h.feed(SeatAnswered("a1", "c1", h.now))
    h.feed(CallEnded("c1", h.now))
    call(h, "c2")
    mark = h.mark()
    h.advance(5)
    h.feed(AgentReady("a1", h.now))
    assert rings(h, mark[0]) == [("c2", "a1")]
    # The wrap-up timer was cancelled: firing it late changes nothing.
    assert not [t for t in h.pending_timers() if "wrap-up" in t[2]]


def test_priority_then_arrival_order() -> None:
    q = QueueRules("general", announce=None, tag_priority={"enterprise": 5})
    h = centre([q], [agent("a1")])
    call(h, "low1")
    call(h, "vip", priority=10)
    call(h, "low2")
    call(h, "ent", tags=("enterprise",))
    assert [h.acd.position(c) for c in ("vip", "ent", "low1", "low2")] == [1, 2, 3, 4]
    assert [f.priority for f in h.of(CallQueued)] == [0, 10, 0, 5]
    login_ready(h, "a1")
    order = []
    for _ in range(4):
        cid = seat_of(h, "a1").call_id
        assert cid is not None
        order.append(cid)
        h.feed(SeatAnswered("a1", cid, h.now))
        h.feed(CallEnded(cid, h.now))
        h.advance(30)
    assert order == ["vip", "ent", "low1", "low2"]


def test_repeat_caller_within_24h_is_tagged_and_raised() -> None:
    q = QueueRules("general", announce=None, tag_priority={"repeat_caller": 3})
    h = centre([q], [])
    call(h, "c1", caller="13800000000")
    h.feed(CallerHungUp("c1", h.now))
    h.advance(3600)
    call(h, "c2", caller="13900000000")
    call(h, "c3", caller="13800000000")
    queued = {f.call_id: f for f in h.of(CallQueued)}
    assert queued["c3"].tags == ("repeat_caller",)
    assert queued["c3"].priority == 3
    assert h.acd.position("c3") == 1
    h.advance(24 * 3600 + 1)
    call(h, "c4", caller="13900000000")
    assert h.of(CallQueued)[-1].tags == ()
    call(h, "c5")  # a withheld number is never a repeat
    call(h, "c6")
    assert h.of(CallQueued)[-1].tags == ()


def test_skill_expansion_over_waiting_time() -> None:
    q = QueueRules(
        "tax", skills=("tax",), min_level=4, announce=None,
        expansion=(ExpansionStep(30, min_level=2), ExpansionStep(90, any_agent=True)),
    )
    h = centre([q], [agent("junior", tax=2), agent("other", law=5)])
    login_ready(h, "junior", "other")
    call(h, "c1", "tax")
    call(h, "c2", "tax")
    assert rings(h) == []
    h.advance(29.9)
    assert rings(h) == []
    h.advance(0.1)
    assert rings(h) == [("c1", "junior")]  # the longest waiter widens first
    h.feed(SeatAnswered("junior", "c1", h.now))
    h.advance(59.9)
    assert rings(h) == [("c1", "junior")]
    h.advance(0.1)  # c2 has waited 90 s: any agent
    assert rings(h) == [("c1", "junior"), ("c2", "other")]


def test_expansion_respects_teams() -> None:
    q = QueueRules("q", teams=("blue",), announce=None,
                   expansion=(ExpansionStep(10, any_agent=True),))
    h = centre([q], [agent("red1", team="red", x=5)])
    login_ready(h, "red1")
    call(h, "c1", "q")
    h.advance(100)
    assert rings(h) == []


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [(Strategy.LONGEST_IDLE, "a1"), (Strategy.FEWEST_CALLS, "a2")],
)
def test_agent_selection_strategy(strategy: Strategy, expected: str) -> None:
    q = QueueRules("general", announce=None, strategy=strategy, wrap_up_s=0)
    h = centre([q], [agent("a1"), agent("a2")])
    login_ready(h, "a1")
    h.feed(AgentPaused("a1", "break", h.now))  # fresh logins start paused; a2 stays out
    h.feed(AgentReady("a1", h.now))
    for cid in ("x1", "x2"):  # a1 takes two calls and is ready again at t=2
        h.advance(1)
        call(h, cid)
        h.feed(SeatAnswered("a1", cid, h.now))
        h.feed(CallEnded(cid, h.now))
    h.advance(1)
    login_ready(h, "a2")  # a2: no calls, ready since t=3 (a1: 2 calls, ready since t=2)
    assert (seat_of(h, "a1").calls_taken, seat_of(h, "a2").calls_taken) == (2, 0)
    call(h, "c")
    assert rings(h)[-1] == ("c", expected)


def test_overflow_after_seconds_counts_once_in_first_queue() -> None:
    a = QueueRules("a", skills=("x",), announce=None, overflow=OverflowRule("b", after_s=20))
    b = QueueRules("b", skills=("y",), announce=None)
    h = centre([a, b], [agent("yy", y=5)])
    login_ready(h, "yy")
    call(h, "c1", "a")
    h.advance(19)
    assert rings(h) == []
    h.advance(1)
    assert h.of(CallOverflowed) == [CallOverflowed("c1", "a", "b", 20.0, "after-s")]
    assert rings(h) == [("c1", "yy")]
    h.feed(SeatAnswered("yy", "c1", h.now))
    assert len(h.of(CallQueued)) == 1
    (answered,) = h.of(CallAnswered)
    assert (answered.queue, answered.answered_in, answered.waited_s) == ("a", "b", 20.0)


def test_overflow_when_expected_wait_too_long_or_unknown() -> None:
    a = QueueRules("a", skills=("x",), announce=None,
                   overflow=OverflowRule("b", expected_wait_over_s=300))
    b = QueueRules("b", announce=None)
    h = centre([a, b], [agent("xx", x=5)])
    call(h, "c0", "a")  # nobody staffed for a: expected wait unknown → overflow at once
    assert [f.to_queue for f in h.of(CallOverflowed)] == ["b"]
    login_ready(h, "xx")
    assert rings(h) == [("c0", "xx")]  # b has no skill requirement
    h.feed(SeatAnswered("xx", "c0", h.now))
    # With one agent busy and 180 s default handle time, position 1 → 180 s, position 2 →
    # 360 s > 300 s.
    call(h, "c1", "a")
    call(h, "c2", "a")
    assert [f.call_id for f in h.of(CallOverflowed)] == ["c0", "c2"]
    assert h.acd.expected_wait_s("c1") == 180.0


def test_overflow_never_loops_back() -> None:
    a = QueueRules("a", skills=("x",), announce=None, overflow=OverflowRule("b", after_s=5))
    b = QueueRules("b", skills=("x",), announce=None, overflow=OverflowRule("a", after_s=5))
    h = centre([a, b], [])
    call(h, "c1", "a")
    h.advance(60)
    assert [(f.from_queue, f.to_queue) for f in h.of(CallOverflowed)] == [("a", "b")]
    assert h.acd.position("c1") == 1


def test_max_wait_exit_to_record() -> None:
    q = QueueRules("general", announce=None, max_wait_s=120)
    h = centre([q], [])
    call(h, "c1")
    h.advance(119)
    assert h.of(CallExited) == []
    h.advance(1)
    assert h.of(CallExited) == [CallExited("c1", "general", "12345", 120.0, "record", 120.0,
                                           "max-wait")]
    assert h.of(Record)[-1].call_id == "c1"
    assert not h.acd.knows("c1")


def test_max_length_exit() -> None:
    q = QueueRules("general", announce=None, max_length=2)
    h = centre([q], [])
    for cid in ("c1", "c2", "c3"):
        call(h, cid)
    assert [(f.call_id, f.reason) for f in h.of(CallExited)] == [("c3", "max-length")]
    assert h.acd.knows("c1") and h.acd.knows("c2") and not h.acd.knows("c3")


def test_ring_no_answer_requeues_at_original_place_and_pauses_seat() -> None:
    q = QueueRules("general", announce=None, pause_limits_s={"no-answer": 60})
    h = centre([q], [agent("a1"), agent("a2")])
    for cid in ("c1", "c2", "c3"):
        call(h, cid)
        h.advance(1)
    login_ready(h, "a1")
    assert rings(h) == [("c1", "a1")]
    h.advance(15)  # the ring timeout: the driver reports
    h.feed(SeatNoAnswer("a1", "c1", h.now))
    assert h.acd.position("c1") == 1
    assert [h.acd.position(c) for c in ("c1", "c2", "c3")] == [1, 2, 3]
    seat = seat_of(h, "a1")
    assert (seat.state, seat.reason) == (SeatState.PAUSED, "no-answer")
    assert h.of(RingNoAnswer)[0].agent_id == "a1"
    login_ready(h, "a2")
    assert rings(h)[-1] == ("c1", "a2")
    h.feed(SeatAnswered("a2", "c1", h.now))
    h.advance(60)  # the no-answer pause has a limit: the seat comes back by itself
    assert seat_of(h, "a1").state is SeatState.RINGING
    assert rings(h)[-1] == ("c2", "a1")


def test_caller_hangs_up_while_ringing() -> None:
    h = centre([GENERAL], [agent("a1")])
    login_ready(h, "a1")
    call(h, "c1")
    call(h, "c2")
    h.advance(3)
    out = h.feed(CallerHungUp("c1", h.now))
    assert StopRinging("c1", "a1", seat_of(h, "a1").endpoint) in out.commands
    assert h.of(CallAbandoned) == [CallAbandoned("c1", "general", "12345", 3.0, 3.0)]
    assert rings(h)[-1] == ("c2", "a1")


def test_announcements_position_and_expected_wait() -> None:
    q = QueueRules("general", announce=AnnounceRule(first_after_s=30, every_s=60),
                   callback=CallbackRule(enabled=True))
    h = centre([q], [agent("a1")])
    call(h, "c1")
    h.advance(30)
    # nobody staffed: position yes, expected wait unknown (never 0); a withheld number
    # cannot be called back, so no offer
    [first] = h.of(Announce)
    assert (first.position, first.expected_wait_s, first.callback_key) == (1, None, None)
    assert [(p.id, p.text) for p in first.prompts] == [
        ("queue.position", "您目前排在第1位，请耐心等待。"),
        ("queue.wait_unknown", "目前坐席全忙，请您耐心等待。"),
    ]
    login_ready(h, "a1")
    h.feed(SeatAnswered("a1", "c1", h.now))
    call(h, "c2", caller="13800000002")
    call(h, "c3", caller="13800000003")
    h.advance(30)
    announced = {a.call_id: a for a in h.of(Announce)}
    assert (announced["c2"].position, announced["c2"].expected_wait_s) == (1, 180.0)
    assert (announced["c3"].position, announced["c3"].expected_wait_s) == (2, 360.0)
    assert announced["c3"].callback_key == "1"
    assert [(p.id, p.text) for p in announced["c3"].prompts] == [
        ("queue.position", "您目前排在第2位，请耐心等待。"),
        ("queue.expected_wait", "预计等待约6分钟。"),
        ("queue.callback_offer", "如需回电，请按1。"),
    ]
    h.advance(60)
    assert len([a for a in h.of(Announce) if a.call_id == "c3"]) == 2


def test_announcement_leaves_out_what_the_queue_does_not_announce() -> None:
    q = QueueRules("general", announce=AnnounceRule(30, 60, position=False, expected_wait=False),
                   callback=CallbackRule(enabled=False))
    h = centre([q], [agent("a1")])
    call(h, "c1", caller="13800000001")
    h.advance(30)
    assert h.of(Announce) == [Announce("c1", None, None, (), None)]


def test_expected_wait_learns_from_recent_handle_times() -> None:
    q = QueueRules("general", announce=None, wrap_up_s=0)
    h = centre([q], [agent("a1")])
    login_ready(h, "a1")
    call(h, "c1")
    h.feed(SeatAnswered("a1", "c1", h.now))
    h.advance(60)
    h.feed(CallEnded("c1", h.now))
    call(h, "c2")
    h.feed(SeatAnswered("a1", "c2", h.now))
    call(h, "c3")
    assert h.acd.expected_wait_s("c3") == 60.0


def test_stale_timer_is_ignored() -> None:
    h = centre([QueueRules("general", max_wait_s=50)], [])
    call(h, "c1")
    (timer,) = [t for t in h.pending_timers() if "max-wait" in t[2]]
    h.feed(CallerHungUp("c1", h.now))
    out = h.feed(TimerFired("c1", timer[2], 50))
    assert out.commands == () and out.facts == ()


def test_unknown_queue_and_duplicate_call_are_refused() -> None:
    h = centre([GENERAL], [])
    with pytest.raises(AcdError):
        call(h, "c1", "nope")
    call(h, "c1")
    with pytest.raises(AcdError):
        call(h, "c1")
    assert len(h.of(CallQueued)) == 1


def test_deadlines_passing_while_ringing_apply_when_the_ring_fails() -> None:
    a = QueueRules("a", announce=None, overflow=OverflowRule("b", after_s=10), max_wait_s=500)
    b = QueueRules("b", announce=None, max_wait_s=30)
    h = centre([a, b], [agent("a1"), agent("a2")])
    login_ready(h, "a1")
    call(h, "c1", "a")
    h.advance(15)  # overflow is due while a1 rings: nothing moves yet
    assert h.of(CallOverflowed) == []
    h.feed(SeatNoAnswer("a1", "c1", h.now))
    assert [(f.from_queue, f.to_queue) for f in h.of(CallOverflowed)] == [("a", "b")]
    login_ready(h, "a2")
    assert rings(h)[-1] == ("c1", "a2")
    h.advance(20)  # b's max wait (30 s from the first offer) passes while a2 rings
    assert h.of(CallExited) == []
    h.feed(SeatNoAnswer("a2", "c1", h.now))
    assert [(f.call_id, f.queue, f.reason) for f in h.of(CallExited)] == [
        ("c1", "a", "max-wait")
    ]


def test_requeued_call_whose_overflow_is_spent_still_finds_a_seat() -> None:
    a = QueueRules("a", announce=None, overflow=OverflowRule("b", after_s=10))
    b = QueueRules("b", announce=None, overflow=OverflowRule("a", after_s=10))
    h = centre([a, b], [agent("a1"), agent("a2")])
    call(h, "c1", "a")
    h.advance(10)  # → b
    login_ready(h, "a1")
    h.advance(10)  # b's overflow back to a is due while ringing, but a was visited
    login_ready(h, "a2")
    h.feed(AgentPaused("a2", "break", h.now))
    h.feed(AgentReady("a2", h.now))
    h.feed(SeatNoAnswer("a1", "c1", h.now))
    assert rings(h)[-1] == ("c1", "a2")


def test_expected_wait_overflow_when_staff_leaves_while_waiting() -> None:
    a = QueueRules("a", skills=("x",), announce=None,
                   overflow=OverflowRule("b", expected_wait_over_s=1000))
    b = QueueRules("b", announce=None)
    h = centre([a, b], [agent("x1", x=5), agent("x2", x=5)])
    login_ready(h, "x1", "x2")
    call(h, "busy1", "a")
    call(h, "busy2", "a")
    h.feed(SeatAnswered("x1", "busy1", h.now))
    h.feed(SeatAnswered("x2", "busy2", h.now))
    for cid in ("c1", "c2", "c3", "c4"):
        call(h, cid, "a")  # c4: 4 * 180 s / 2 seats = 360 s, within the bound
    assert h.of(CallOverflowed) == []
    h.advance(300)
    h.feed(AgentPaused("x2", "meal", h.now))  # asked during the call
    h.feed(CallEnded("busy2", h.now))  # handle time now 330 s; wrap-up, then paused
    h.advance(30)
    assert seat_of(h, "x2").state is SeatState.PAUSED
    assert h.acd.expected_wait_s("c3") == 990.0
    h.advance(15)  # by the next wait check: c4 (1320 s) has gone, c3 (990 s) stays
    assert [(f.call_id, f.reason) for f in h.of(CallOverflowed)] == [("c4", "expected-wait")]
    assert h.acd.queue_view("b", h.now).waiting[0].id == "c4"
