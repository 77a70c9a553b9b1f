"""Callback keeping the caller's place: orders, retries, spacing, one dial in flight."""

from __future__ import annotations

import itertools

import pytest

from acd.builders import agent, call, centre, login_ready, seat_of
from hotline.queue.rules import CallbackRule, QueueRules
from hotline.testing.acd_harness import AcdHarness
from hotline.vocabulary.commands import Bridge, DialCitizen, Hangup, RequestCallback, RingSeat
from hotline.vocabulary.errors import AcdError
from hotline.vocabulary.events import (
    AgentPaused,
    CallbackAnswered,
    CallbackChosen,
    CallbackFailed,
    CallEnded,
    CallerHungUp,
    SeatAnswered,
    SeatNoAnswer,
)
from hotline.vocabulary.facts import (
    CallbackAttemptFailed,
    CallbackCompleted,
    CallbackDialled,
    CallbackGaveUp,
    CallbackRequested,
    CallCompleted,
    CallExited,
)
from hotline.vocabulary.queueing import CallbackOrder, ExitAction
from hotline.vocabulary.states import SeatState


def queue(order: CallbackOrder = CallbackOrder.AGENT_FIRST, **kw: object) -> QueueRules:
    rule = CallbackRule(enabled=True, order=order, attempts=3, retry_spacing_s=300,
                        ring_timeout_s=25)
    return QueueRules("general", announce=None, callback=rule, wrap_up_s=0, **kw)  # type: ignore[arg-type]


def serve(h: AcdHarness, agent_id: str, expected: str) -> None:
    """The agent answers and finishes the call they are ringing for."""
    assert seat_of(h, agent_id).call_id == expected
    h.feed(SeatAnswered(agent_id, expected, h.now))
    h.feed(CallEnded(expected, h.now))


def test_chosen_callback_keeps_the_place_agent_first() -> None:
    h = centre([queue()], [agent("a1")])
    for cid in ("c1", "c2", "c3"):
        call(h, cid, caller=f"1380000000{cid[-1]}")
        h.advance(1)
    out = h.feed(CallbackChosen("c2", h.now))
    assert Hangup("c2", "callback-registered") in out.commands
    (exited,) = h.of(CallExited)
    assert (exited.call_id, exited.action, exited.reason) == ("c2", "callback", "caller-choice")
    (requested,) = h.of(CallbackRequested)
    assert (requested.call_id, requested.number) == ("c2", "13800000002")
    assert h.acd.position("c2.cb") == 2
    assert h.acd.position("c3") == 3
    login_ready(h, "a1")
    serve(h, "a1", "c1")
    # The request comes before c3: the seat is rung first (agent-first) …
    assert seat_of(h, "a1").call_id == "c2.cb"
    assert h.of(RingSeat)[-1].call_id == "c2.cb"
    assert h.of(DialCitizen) == []
    h.advance(2)
    out = h.feed(SeatAnswered("a1", "c2.cb", h.now))
    # … and only when the agent is on the line is the citizen dialled.
    (dial,) = [c for c in out.commands if isinstance(c, DialCitizen)]
    assert (dial.number, dial.attempt, dial.timeout_s, dial.agent_id) == (
        "13800000002", 1, 25.0, "a1",
    )
    h.advance(10)
    out = h.feed(CallbackAnswered("c2.cb", h.now))
    assert any(isinstance(c, Bridge) for c in out.commands)
    assert h.of(CallbackCompleted) == [CallbackCompleted("c2.cb", "a1", 1, 12.0, h.now)]
    h.advance(60)
    h.feed(CallEnded("c2.cb", h.now))
    assert h.of(CallCompleted)[-1].talk_s == 60.0
    assert seat_of(h, "a1").call_id == "c3"


def test_citizen_not_answering_retries_with_spacing_then_gives_up() -> None:
    h = centre([queue()], [agent("a1")])
    h.request_callback(RequestCallback("c1", "general", "13800000001"))
    login_ready(h, "a1")
    dials: list[DialCitizen] = []
    for attempt in (1, 2, 3):
        assert seat_of(h, "a1").call_id == "c1.cb", attempt
        h.feed(SeatAnswered("a1", "c1.cb", h.now))
        dials = h.of(DialCitizen)
        assert [d.attempt for d in dials] == list(range(1, attempt + 1))
        # one dial in flight: a second answer or a new offer is impossible meanwhile
        with pytest.raises(AcdError):
            h.feed(SeatAnswered("a1", "c1.cb", h.now))
        h.advance(25)
        h.feed(CallbackFailed("c1.cb", h.now, "no-answer"))
        assert seat_of(h, "a1").state is SeatState.READY
        if attempt < 3:
            h.advance(299)
            assert seat_of(h, "a1").call_id is None  # spacing: not offered yet
            h.advance(1)
    assert [f.attempt for f in h.of(CallbackAttemptFailed)] == [1, 2, 3]
    assert h.of(CallbackGaveUp) == [CallbackGaveUp("c1.cb", 3, "no-answer", h.now)]
    assert not h.acd.knows("c1.cb")
    times = [f.at for f in h.of(CallbackDialled)]
    assert [b - a for a, b in itertools.pairwise(times)] == [325.0, 325.0]


def test_resting_callback_keeps_its_place_against_later_callers() -> None:
    q = queue()
    h = centre([q], [agent("a1")])
    h.request_callback(RequestCallback("c1", "general", "13800000001"))
    login_ready(h, "a1")
    h.feed(SeatAnswered("a1", "c1.cb", h.now))
    h.feed(CallbackFailed("c1.cb", h.now, "busy"))
    h.feed(AgentPaused("a1", "x", h.now))
    call(h, "later")
    h.advance(300)  # the request is back, ahead of the later caller
    assert h.acd.position("c1.cb") == 1
    assert h.acd.position("later") == 2


def test_citizen_first_dials_then_rings_the_reserved_seat() -> None:
    h = centre([queue(CallbackOrder.CITIZEN_FIRST)], [agent("a1")])
    h.request_callback(RequestCallback("c1", "general", "13800000001"))
    login_ready(h, "a1")
    seat = seat_of(h, "a1")
    assert (seat.state, seat.call_id) == (SeatState.RINGING, "c1.cb")  # reserved
    assert [d.attempt for d in h.of(DialCitizen)] == [1]
    assert h.of(RingSeat) == []
    with pytest.raises(AcdError):  # the seat was not rung yet
        h.feed(SeatAnswered("a1", "c1.cb", h.now))
    h.advance(8)
    h.feed(CallbackAnswered("c1.cb", h.now))
    assert h.of(RingSeat)[-1].call_id == "c1.cb"
    h.feed(SeatAnswered("a1", "c1.cb", h.now))
    assert h.of(CallbackCompleted)[0].agent_id == "a1"


def test_citizen_first_agent_no_answer_keeps_the_citizen_waiting_at_the_head() -> None:
    h = centre([queue(CallbackOrder.CITIZEN_FIRST)], [agent("a1"), agent("a2")])
    call(h, "other")
    h.request_callback(RequestCallback("c1", "general", "13800000001"))
    h.feed(CallerHungUp("other", h.now))
    login_ready(h, "a1")
    h.feed(CallbackAnswered("c1.cb", h.now))
    call(h, "later")
    h.feed(SeatNoAnswer("a1", "c1.cb", h.now))
    assert h.acd.position("c1.cb") == 1
    login_ready(h, "a2")
    assert h.of(RingSeat)[-1].call_id == "c1.cb"
    assert h.of(DialCitizen)[-1].attempt == 1  # no second dial: the citizen is on the line
    h.feed(CallerHungUp("c1.cb", h.now))
    assert h.of(CallbackGaveUp)[-1].reason == "citizen-hung-up"


def test_citizen_first_failed_dial_frees_the_seat() -> None:
    h = centre([queue(CallbackOrder.CITIZEN_FIRST)], [agent("a1")])
    h.request_callback(RequestCallback("c1", "general", "13800000001"))
    login_ready(h, "a1")
    call(h, "c2")
    h.feed(CallbackFailed("c1.cb", h.now, "busy"))
    assert seat_of(h, "a1").call_id == "c2"
    assert h.of(RingSeat)[-1].call_id == "c2"


def test_max_wait_exit_to_callback_keeps_place() -> None:
    q = queue(max_wait_s=100, exit=ExitAction.CALLBACK)
    h = centre([q], [agent("a1")])
    call(h, "c1", caller="13800000001")
    h.advance(10)
    call(h, "c2", caller="13800000002")
    h.advance(90)
    assert [(f.call_id, f.action, f.reason) for f in h.of(CallExited)] == [
        ("c1", "callback", "max-wait")
    ]
    assert h.acd.position("c1.cb") == 1 and h.acd.position("c2") == 2
    assert h.acd.queue_view("general", h.now).waiting[0].waited_s == 100.0


def test_exit_to_callback_without_number_falls_back_to_record() -> None:
    q = queue(max_wait_s=100, exit=ExitAction.CALLBACK)
    h = centre([q], [])
    call(h, "c1")  # withheld number
    h.advance(100)
    assert [f.action for f in h.of(CallExited)] == ["record"]


def test_callback_refused_where_disabled() -> None:
    h = centre([QueueRules("general", announce=None)], [])
    call(h, "c1", caller="1")
    with pytest.raises(AcdError):
        h.feed(CallbackChosen("c1", h.now))
    with pytest.raises(AcdError):
        h.request_callback(RequestCallback("c9", "general", "1"))
    assert h.acd.position("c1") == 1
