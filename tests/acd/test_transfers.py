"""Agents transferring a live call: to a queue, to a named agent, and the races around it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from acd.builders import Harness, agent, call, centre, login_ready, seat_of
from hotline.queue.acd import AcdOutput
from hotline.queue.rules import CallbackRule, QueueRules
from hotline.vocabulary.commands import (
    Bridge,
    HoldWithMusic,
    Record,
    ReleaseAgent,
    RequestCallback,
    RingSeat,
    StopRinging,
)
from hotline.vocabulary.errors import AcdError
from hotline.vocabulary.events import (
    AgentLoggedOut,
    AgentPaused,
    AgentReady,
    CallbackAnswered,
    CallEnded,
    CallerHungUp,
    ModeSwitched,
    SeatAnswered,
    SeatNoAnswer,
)
from hotline.vocabulary.facts import (
    CALL_OUTCOMES,
    CallAbandoned,
    CallAnswered,
    CallCompleted,
    CallExited,
    CallQueued,
    CallTransferred,
    RingNoAnswer,
    SeatStateChanged,
    TransferAbandoned,
    TransferAnswered,
    TransferExited,
    TransferRefused,
)
from hotline.vocabulary.queueing import ExitAction, TransferRefusal
from hotline.vocabulary.states import SeatState


def general(**kw: object) -> QueueRules:
    return QueueRules("general", announce=None, **kw)  # type: ignore[arg-type]


def tax(**kw: object) -> QueueRules:
    return QueueRules("tax", skills=("tax",), announce=None, **kw)  # type: ignore[arg-type]


AGENTS = [agent("a1"), agent("a2", tax=5), agent("a3"), agent("a4", tax=4)]


def talking(
    h: Harness, call_id: str, agent_id: str, queue: str = "general", caller: str = ""
) -> None:
    """`call_id` is connected with `agent_id` (who must be the only ready seat for it)."""
    if h.acd.seat(agent_id) is None:
        login_ready(h, agent_id)
    call(h, call_id, queue, caller=caller)
    assert seat_of(h, agent_id).call_id == call_id
    h.feed(SeatAnswered(agent_id, call_id, h.now))
    assert seat_of(h, agent_id).state is SeatState.ON_CALL


def reasons(out: AcdOutput) -> list[str]:
    return [f.reason for f in out.facts if isinstance(f, TransferRefused)]


def waiting_ids(h: Harness, queue: str) -> list[str]:
    return [w.id for w in h.acd.queue_view(queue, h.now).waiting if w.position is not None]


# --- to a queue -----------------------------------------------------------------------------
def test_transfer_to_a_queue_rings_the_next_agent_and_keeps_one_outcome() -> None:
    h = centre([general(), tax()], AGENTS)
    talking(h, "c1", "a1")
    login_ready(h, "a2")
    h.now = 100.0
    out = h.transfer("c1", "a1", queue="tax")
    assert [type(f) for f in out.facts][:2] == [CallTransferred, CallCompleted]
    assert out.facts[0] == CallTransferred("c1", "a1", 100.0, "tax", "")
    completed = out.facts[1]
    assert isinstance(completed, CallCompleted)
    assert (completed.agent_id, completed.queue, completed.talk_s) == ("a1", "general", 100.0)
    # The first agent's leg is released, the citizen hears music, the tax agent rings.
    kinds = [type(c) for c in out.commands]
    assert kinds.index(ReleaseAgent) < kinds.index(HoldWithMusic) < kinds.index(RingSeat)
    assert HoldWithMusic("c1", "tax") in out.commands
    assert seat_of(h, "a1").state is SeatState.WRAP_UP  # the normal way, through the seat
    assert seat_of(h, "a2").call_id == "c1" and seat_of(h, "a2").state is SeatState.RINGING
    h.now = 104.0
    out = h.feed(SeatAnswered("a2", "c1", h.now))
    assert Bridge("c1", "a2", seat_of(h, "a2").endpoint) in out.commands
    assert out.facts[-1] == TransferAnswered("c1", "tax", "a2", 4.0, 104.0)
    h.now = 200.0
    out = h.feed(CallEnded("c1", h.now))
    done = [f for f in out.facts if isinstance(f, CallCompleted)]
    assert [(f.agent_id, f.talk_s) for f in done] == [("a2", 96.0)]
    # Offered once, one outcome (the first answer), two conversations.
    assert len(h.of(CallQueued)) == 1
    assert [type(f) for f in h.facts if isinstance(f, CALL_OUTCOMES)] == [CallAnswered]
    assert not h.acd.knows("c1")


def test_a_transferred_call_waits_at_the_head_of_its_priority_band() -> None:
    h = centre([general(), tax()], AGENTS)
    talking(h, "x", "a4", "tax")  # tax is staffed, its agent busy
    call(h, "t1", "tax")
    call(h, "t2", "tax")
    call(h, "urgent", "tax", priority=5)
    talking(h, "c1", "a1")
    h.now = 50.0
    h.transfer("c1", "a1", queue="tax")
    assert waiting_ids(h, "tax") == ["urgent", "c1", "t1", "t2"]
    view = {w.id: w for w in h.acd.queue_view("tax", h.now).waiting}
    assert view["c1"].transferred and not view["t1"].transferred
    assert view["c1"].waited_s == 0.0  # its new wait counts from the transfer
    talking(h, "c2", "a3")
    h.now = 60.0
    h.transfer("c2", "a3", queue="tax")  # a second transfer queues behind the first
    assert waiting_ids(h, "tax") == ["urgent", "c1", "c2", "t1", "t2"]
    login_ready(h, "a2")
    assert seat_of(h, "a2").call_id == "urgent"
    h.feed(CallEnded("x", h.now))
    h.feed(AgentReady("a4", h.now))
    assert seat_of(h, "a4").call_id == "c1"


def test_a_mode_switch_re_ranks_a_transferred_call_and_keeps_its_band() -> None:
    normal = [general(), tax()]
    emergency = [general(), tax(tag_priority={"epidemic": 10})]
    h = centre(normal, AGENTS, modes={"emergency": emergency})
    talking(h, "x", "a4", "tax")
    call(h, "t1", "tax")
    call(h, "flu", "tax", tags=("epidemic",))
    talking(h, "c1", "a1")
    h.transfer("c1", "a1", queue="tax")
    assert waiting_ids(h, "tax") == ["c1", "t1", "flu"]
    h.feed(ModeSwitched("emergency", "sup", "drill", h.now))
    assert waiting_ids(h, "tax") == ["flu", "c1", "t1"]
    h.feed(ModeSwitched("normal", "sup", "over", h.now))
    assert waiting_ids(h, "tax") == ["c1", "t1", "flu"]


def test_the_wait_clocks_restart_at_the_transfer() -> None:
    # A long first conversation must not trip the target queue's maximum wait at once.
    h = centre([general(), tax(max_wait_s=60, exit=ExitAction.RECORD)], AGENTS)
    talking(h, "c1", "a1")
    talking(h, "x", "a4", "tax")  # staffed, not free
    h.now = 600.0
    h.transfer("c1", "a1", queue="tax")
    assert h.acd.position("c1") == 1
    h.advance(59)
    assert h.acd.position("c1") == 1
    mark = h.mark()
    h.advance(2)
    exited = h.of(TransferExited, mark[1])
    assert exited == [TransferExited("c1", "tax", 60.0, "record", 660.0, "max-wait")]
    assert h.of(CallExited) == []  # its outcome was the first answer
    assert any(isinstance(c, Record) for c in h.commands[mark[0]:])


# --- to a named agent -----------------------------------------------------------------------
def test_transfer_to_a_ready_agent_rings_that_agent_whatever_their_skills() -> None:
    h = centre([general(), tax()], AGENTS)
    talking(h, "t", "a2", "tax")
    login_ready(h, "a3")  # no tax skill at all
    out = h.transfer("t", "a2", to_agent="a3")
    assert out.facts[0] == CallTransferred("t", "a2", h.now, "", "a3")
    rings = [c for c in out.commands if isinstance(c, RingSeat)]
    assert [(r.call_id, r.agent_id) for r in rings] == [("t", "a3")]
    assert HoldWithMusic("t", "tax") in out.commands
    h.feed(SeatAnswered("a3", "t", h.now))
    assert h.of(TransferAnswered)[-1].agent_id == "a3"


def _paused(h: Harness) -> None:
    login_ready(h, "a3")
    h.feed(AgentPaused("a3", "meal", h.now))


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (lambda h: None, TransferRefusal.AGENT_LOGGED_OUT),
        (_paused, TransferRefusal.AGENT_PAUSED),
        (lambda h: talking(h, "other", "a3"), TransferRefusal.AGENT_BUSY),
    ],
)
def test_transfer_to_an_agent_who_is_not_ready_is_refused_and_nothing_moves(
    setup: Callable[[Harness], None], reason: TransferRefusal
) -> None:
    h = centre([general(), tax()], AGENTS)
    talking(h, "c1", "a1")
    setup(h)
    before = (h.acd.seats(), h.acd.queue_view("general", h.now))
    out = h.transfer("c1", "a1", to_agent="a3")
    assert out.facts == (TransferRefused("c1", "a1", reason.value, h.now, "", "a3"),)
    assert out.commands == ()
    assert (h.acd.seats(), h.acd.queue_view("general", h.now)) == before
    assert seat_of(h, "a1").call_id == "c1"  # the citizen stays with the first agent



@pytest.mark.parametrize("how", ["no-answer", "rejected", "pause", "logout", "guard"])
def test_a_failed_ring_at_the_named_agent_falls_back_to_the_head_of_the_queue(how: str) -> None:
    h = centre([general(), tax()], AGENTS)
    talking(h, "c1", "a2", "tax")
    call(h, "t1", "tax")
    call(h, "t2", "tax")
    login_ready(h, "a3")  # ready, but not for tax: t1 and t2 keep waiting
    assert waiting_ids(h, "tax") == ["t1", "t2"]
    h.transfer("c1", "a2", to_agent="a3")
    assert seat_of(h, "a3").call_id == "c1"
    mark = h.mark()
    if how == "no-answer":
        h.feed(SeatNoAnswer("a3", "c1", h.now))
    elif how == "rejected":
        h.feed(SeatNoAnswer("a3", "c1", h.now, "rejected"))
    elif how == "pause":
        h.feed(AgentPaused("a3", "meal", h.now))
    elif how == "logout":
        h.feed(AgentLoggedOut("a3", h.now))
    else:  # the driver never reports on the ring: the ring guard gives it up
        h.advance(h.acd.rules("tax").ring_timeout_s + 6)
    lost = h.of(RingNoAnswer, mark[1])
    assert [(f.call_id, f.agent_id) for f in lost] == [("c1", "a3")]
    # Never back to the first agent, never ringing nowhere: first in line in its queue.
    assert waiting_ids(h, "tax") == ["c1", "t1", "t2"]
    assert not any(isinstance(c, RingSeat) and c.agent_id == "a2" for c in h.commands[mark[0]:])
    login_ready(h, "a4")
    assert seat_of(h, "a4").call_id == "c1"
    h.feed(SeatAnswered("a4", "c1", h.now))
    assert [f.agent_id for f in h.of(TransferAnswered)] == ["a4"]


# --- races ----------------------------------------------------------------------------------
def test_the_citizen_hangs_up_while_the_named_agent_rings() -> None:
    h = centre([general(), tax()], AGENTS)
    talking(h, "c1", "a1")
    login_ready(h, "a3")
    h.transfer("c1", "a1", to_agent="a3")
    h.now = 10.0
    out = h.feed(CallerHungUp("c1", h.now))
    assert StopRinging("c1", "a3", seat_of(h, "a3").endpoint) in out.commands
    assert [f for f in out.facts if isinstance(f, TransferAbandoned)] == [
        TransferAbandoned("c1", "general", 10.0, 10.0)
    ]
    assert h.of(CallAbandoned) == []
    assert seat_of(h, "a3").state is SeatState.READY
    assert not h.acd.knows("c1")
    # A late answer from the phone is settled like that of any ring that moved on.
    out = h.feed(SeatAnswered("a3", "c1", h.now))
    assert [type(c) for c in out.commands] == [StopRinging]


def test_the_citizen_hangs_up_while_waiting_again() -> None:
    h = centre([general(), tax()], AGENTS)
    talking(h, "c1", "a1")
    talking(h, "x", "a4", "tax")  # staffed for tax, not free
    h.transfer("c1", "a1", queue="tax")
    h.now = 30.0
    out = h.feed(CallerHungUp("c1", h.now))
    assert out.facts == (TransferAbandoned("c1", "tax", 30.0, 30.0),)
    assert waiting_ids(h, "tax") == []
    out = h.feed(CallerHungUp("c1", h.now))  # a second report is absorbed
    assert out.commands == ()


def test_a_transfer_into_an_unstaffed_or_full_queue_is_refused() -> None:
    h = centre([general(), tax(max_length=2)], AGENTS)
    talking(h, "c1", "a1")
    out = h.transfer("c1", "a1", queue="tax")
    assert out.facts == (
        TransferRefused("c1", "a1", TransferRefusal.NOBODY_STAFFED.value, h.now, "tax", ""),
    )
    login_ready(h, "a4")
    h.feed(AgentPaused("a4", "break", h.now))  # a paused agent does not staff a queue
    out = h.transfer("c1", "a1", queue="tax")
    assert reasons(out) == ["nobody-staffed"]
    call(h, "t1", "tax")
    call(h, "t2", "tax")
    h.feed(AgentReady("a4", h.now))  # takes t1, staffs tax; t2 waits
    call(h, "t3", "tax")
    assert waiting_ids(h, "tax") == ["t2", "t3"]
    out = h.transfer("c1", "a1", queue="tax")
    assert out.facts == (
        TransferRefused("c1", "a1", TransferRefusal.QUEUE_FULL.value, h.now, "tax", ""),
    )
    assert out.commands == ()
    assert seat_of(h, "a1").call_id == "c1"


def test_a_transfer_for_a_call_the_agent_no_longer_has_is_refused() -> None:
    h = centre([general()], AGENTS)
    talking(h, "c1", "a1")
    login_ready(h, "a3")
    h.feed(CallEnded("c1", h.now))
    out = h.transfer("c1", "a1", to_agent="a3")
    assert out.facts == (TransferRefused("c1", "a1", "not-on-call", h.now, "", "a3"),)
    talking(h, "c2", "a3")
    login_ready(h, "a4")
    out = h.transfer("c2", "a1", to_agent="a4")  # a1 is not the agent on c2
    assert reasons(out) == ["not-on-call"]
    assert seat_of(h, "a3").call_id == "c2"
    h.transfer("c2", "a3", to_agent="a4")  # handed on: a second press finds it gone
    h.feed(AgentReady("a3", h.now))
    out = h.transfer("c2", "a3", to_agent="a1")
    assert reasons(out) == ["not-on-call"]
    assert seat_of(h, "a4").call_id == "c2"


def test_a_callback_conversation_is_not_transferred() -> None:
    h = centre([general(callback=CallbackRule(enabled=True))], AGENTS)
    h.request_callback(RequestCallback("c1", "general", "13800000001"))
    login_ready(h, "a1")
    h.feed(SeatAnswered("a1", "c1.cb", h.now))  # agent first: the citizen is dialled
    h.feed(CallbackAnswered("c1.cb", h.now))
    assert seat_of(h, "a1").state is SeatState.ON_CALL
    login_ready(h, "a3")
    out = h.transfer("c1.cb", "a1", to_agent="a3")
    assert reasons(out) == ["callback-call"]
    assert seat_of(h, "a3").state is SeatState.READY


@pytest.mark.parametrize(
    "kw",
    [{}, {"queue": "tax", "to_agent": "a3"}, {"queue": "nowhere"}, {"to_agent": "nobody"},
     {"to_agent": "a1"}],
)
def test_malformed_transfers_raise_and_change_nothing(kw: dict[str, str]) -> None:
    h = centre([general(), tax()], AGENTS)
    talking(h, "c1", "a1")
    login_ready(h, "a3")
    before = (h.acd.seats(), h.mark())
    with pytest.raises(AcdError):
        h.transfer("c1", "a1", **kw)
    assert (h.acd.seats(), h.mark()) == before


def test_an_agent_who_asked_to_log_out_leaves_after_handing_the_call_on() -> None:
    h = centre([general(), tax()], AGENTS)
    talking(h, "c1", "a1")
    login_ready(h, "a3")
    h.feed(AgentLoggedOut("a1", h.now))  # deferred: a1 is talking
    mark = h.mark()
    h.transfer("c1", "a1", to_agent="a3")
    moves = [(f.old, f.new) for f in h.of(SeatStateChanged, mark[1]) if f.agent_id == "a1"]
    assert moves == [
        (SeatState.ON_CALL, SeatState.WRAP_UP), (SeatState.WRAP_UP, SeatState.LOGGED_OUT),
    ]
    assert h.acd.seat("a1") is None


def test_the_first_agent_wraps_up_with_the_limit_of_the_queue_that_served_the_call() -> None:
    h = centre([general(wrap_up_s=12), tax(wrap_up_s=90)], AGENTS)
    talking(h, "c1", "a1")
    login_ready(h, "a2")
    h.transfer("c1", "a1", queue="tax")
    assert seat_of(h, "a1").state is SeatState.WRAP_UP
    h.advance(11.5)
    assert seat_of(h, "a1").state is SeatState.WRAP_UP
    h.advance(1)
    assert seat_of(h, "a1").state is SeatState.READY


def test_a_transferred_caller_who_chooses_a_callback_keeps_the_place() -> None:
    rules = tax(callback=CallbackRule(enabled=True), max_wait_s=30, exit=ExitAction.CALLBACK)
    h = centre([general(), rules], AGENTS)
    talking(h, "c1", "a1", caller="13800000001")
    talking(h, "x", "a4", "tax")
    call(h, "t1", "tax", caller="13800000009")
    h.transfer("c1", "a1", queue="tax")
    mark = h.mark()
    h.advance(31)  # max wait in the target queue: its exit action is a callback
    exits = h.of(TransferExited, mark[1]) + h.of(CallExited, mark[1])
    assert {(type(f), f.call_id) for f in exits} == {
        (TransferExited, "c1"), (CallExited, "t1"),
    }
    # Each request keeps its call's place: the transferred one first.
    assert waiting_ids(h, "tax") == ["c1.cb", "t1.cb"]
