"""Entry table, mode application, missed-call callbacks, callback promises and races."""

from __future__ import annotations

import pytest

from acd.builders import agent, call, centre, login_ready, seat_of
from hotline.queue.rules import CallbackRule, QueueRules
from hotline.queue.waiting import TRANSITIONS, Entry, EntryKind, EntryState, EntryTrigger, move
from hotline.vocabulary.commands import (
    Announce,
    Bridge,
    DialCitizen,
    Hangup,
    Record,
    RequestCallback,
    RingSeat,
    StopRinging,
)
from hotline.vocabulary.errors import AcdError
from hotline.vocabulary.events import (
    AgentLoggedOut,
    AgentPaused,
    CallbackAnswered,
    CallbackFailed,
    CallEnded,
    CallerHungUp,
    DigitsReceived,
    SeatAnswered,
    SeatNoAnswer,
)
from hotline.vocabulary.facts import (
    CallbackCancelled,
    CallbackCompleted,
    CallbackDeclined,
    CallbackGaveUp,
    CallbackOverdue,
    CallbackPromised,
    CallbackRequested,
    MissedCallCallback,
)
from hotline.vocabulary.queueing import CallbackOrder
from hotline.vocabulary.states import SeatState

HOURS = (8 * 60, 21 * 60)  # 08:00-21:00 (the tests' centre is on UTC; t=0 is 00:00)


def general(**kw: object) -> QueueRules:
    return QueueRules("general", announce=None, **kw)  # type: ignore[arg-type]


# --- the entry table ------------------------------------------------------------------------
@pytest.mark.parametrize("state", list(EntryState))
@pytest.mark.parametrize("trigger", list(EntryTrigger))
def test_illegal_entry_moves_raise_and_change_nothing(
    state: EntryState, trigger: EntryTrigger
) -> None:
    entry = Entry("c1", EntryKind.CALL, "12345", "", "q", (), (), 0, 0, 1, 0.0)
    entry.state = state
    if (state, trigger) in TRANSITIONS:
        assert move(entry, trigger) is TRANSITIONS[(state, trigger)]
        return
    with pytest.raises(AcdError):
        move(entry, trigger)
    assert entry.state is state


# --- mode applied by the centre -------------------------------------------------------------
def test_apply_mode_reranks_without_audit_and_current_mode_is_a_no_op() -> None:
    normal = general()
    emergency = general(tag_priority={"epidemic": 10})
    h = centre([normal], [agent("a1")], modes={"emergency": [emergency]})
    call(h, "c1")
    call(h, "c2", tags=("epidemic",))
    assert [h.acd.position(c) for c in ("c1", "c2")] == [1, 2]
    out = h.acd.apply_mode("emergency", h.now)
    assert out.facts == ()  # the centre audits the switch, not the ACD
    assert h.acd.mode == "emergency"
    assert [h.acd.position(c) for c in ("c1", "c2")] == [2, 1]
    assert h.acd.apply_mode("emergency", h.now) == type(out)()
    with pytest.raises(AcdError):
        h.acd.apply_mode("holiday", h.now)


def test_apply_mode_retimes_wrap_up_inside_the_seat_chokepoint() -> None:
    h = centre([general(wrap_up_s=120)], [agent("a1")],
               modes={"emergency": [general(wrap_up_s=10)]})
    login_ready(h, "a1")
    call(h, "c1")
    h.feed(SeatAnswered("a1", "c1", h.now))
    h.advance(30)
    h.feed(CallEnded("c1", h.now))
    h.advance(20)
    h._take(h.acd.apply_mode("emergency", h.now))  # 20 s > 10 s: wrap-up ends now
    assert seat_of(h, "a1").state is SeatState.READY


# --- missed-call callbacks ------------------------------------------------------------------
def test_a_long_abandoned_wait_is_called_back_at_its_place() -> None:
    h = centre([general(callback=CallbackRule(missed_after_s=60))], [agent("a1")])
    call(h, "c0", caller="13800000000")
    call(h, "c1", caller="13800000001")
    call(h, "c2", caller="")  # withheld: cannot be called back
    h.advance(61)
    h.feed(CallerHungUp("c1", h.now))
    h.feed(CallerHungUp("c2", h.now))
    [missed] = h.of(MissedCallCallback)
    assert (missed.request_id, missed.call_id, missed.number) == ("c1.cb", "c1", "13800000001")
    assert h.acd.position("c1.cb") == 2  # behind c0, its original place
    # A second abandon from the same number does not make a second callback.
    call(h, "c3", caller="13800000001")  # calls again first: the callback is cancelled
    [cancelled] = h.of(CallbackCancelled)
    assert (cancelled.request_id, cancelled.reason, cancelled.call_id) == (
        "c1.cb", "called-again", "c3")
    assert not h.acd.knows("c1.cb")


def test_short_abandons_are_not_called_back_and_it_is_off_by_default() -> None:
    h = centre([general()], [agent("a1")])
    call(h, "c1", caller="13800000001")
    h.advance(600)
    h.feed(CallerHungUp("c1", h.now))
    assert h.of(CallbackRequested) == []
    h2 = centre([general(callback=CallbackRule(missed_after_s=60))], [agent("a1")])
    call(h2, "c1", caller="13800000001")
    h2.advance(30)
    h2.feed(CallerHungUp("c1", h2.now))
    assert h2.of(CallbackRequested) == []


def test_no_two_missed_call_callbacks_for_one_number() -> None:
    h = centre([general(callback=CallbackRule(missed_after_s=10))], [agent("a1")])
    call(h, "c1", caller="139")
    call(h, "c2", caller="139")  # already queued before the first abandons
    h.advance(11)
    h.feed(CallerHungUp("c1", h.now))
    h.feed(CallerHungUp("c2", h.now))
    assert [f.request_id for f in h.of(MissedCallCallback)] == ["c1.cb"]


def test_callbacks_rest_outside_calling_hours_and_dial_when_they_open() -> None:
    rule = CallbackRule(missed_after_s=10, calling_hours=HOURS)
    h = centre([general(callback=rule)], [agent("a1")])
    login_ready(h, "a1")
    h.feed(AgentPaused("a1", "break", h.now))
    call(h, "c1", caller="139")
    h.advance(11)
    h.feed(CallerHungUp("c1", h.now))  # 00:00: calling hours are closed
    from hotline.vocabulary.events import AgentReady
    h.feed(AgentReady("a1", h.now))
    assert h.of(RingSeat) == [] and h.of(DialCitizen) == []
    h.advance_to(8 * 3600 - 1)
    assert h.of(RingSeat) == []
    h.advance_to(8 * 3600 + 1)
    assert h.of(RingSeat)[-1].call_id == "c1.cb"


# --- callbacks that keep their promise ------------------------------------------------------
def test_a_full_window_offers_a_message_instead_of_a_callback() -> None:
    rule = CallbackRule(enabled=True, promise_within_s=600)
    h = centre([general(callback=rule)], [agent("a1")])  # default handle 180 s
    login_ready(h, "a1")
    h.feed(AgentPaused("a1", "break", h.now))  # staffed counts paused? no: nobody staffed
    out = h.request_callback(RequestCallback("x1", "general", "131"))
    assert [f.reason for f in out.facts if isinstance(f, CallbackDeclined)] == ["nobody-staffed"]
    assert any(isinstance(c, Record) for c in out.commands)
    assert not h.acd.knows("x1.cb")


def test_promises_carry_a_time_and_stop_when_the_window_is_full() -> None:
    rule = CallbackRule(enabled=True, promise_within_s=600)
    h = centre([general(callback=rule)], [agent("a1"), agent("a2")])
    login_ready(h, "a1", "a2")
    call(h, "busy1")
    # Both agents ringing; the two live calls of the last 15 min are 2/900 s x 180 s =
    # 0.4 Erlang of live load, leaving 1.6 agents: capacity 1.6 x 600 / 180 = 5.3.
    call(h, "busy2")
    promised = []
    for i in range(8):
        out = h.request_callback(RequestCallback(f"r{i}", "general", f"13{i}"))
        promised += [f for f in out.facts if isinstance(f, CallbackPromised)]
    assert len(promised) == 5
    assert [p.callback_by for p in promised] == sorted(p.callback_by for p in promised)
    assert all(p.callback_by <= h.now + 600 for p in promised)
    assert len(h.of(CallbackDeclined)) == 3
    h.advance(601)
    assert {f.request_id for f in h.of(CallbackOverdue)} >= {"r4.cb"}


def test_the_hold_offer_names_the_callback_time() -> None:
    rule = CallbackRule(enabled=True, promise_within_s=3600)
    q = QueueRules("general", callback=rule)
    h = centre([q], [agent("a1")])
    login_ready(h, "a1")
    call(h, "busy")
    h.feed(SeatAnswered("a1", "busy", h.now))
    call(h, "c1", caller="139")
    h.advance(31)
    offer = [a for a in h.of(Announce) if a.call_id == "c1"][-1]
    assert offer.callback_key == "1"
    assert any(p.id == "queue.callback_by" and ":" in p.text for p in offer.prompts)


# --- races ----------------------------------------------------------------------------------
def _citizen_first_on_hold() -> tuple[object, str]:
    rule = CallbackRule(enabled=True, order=CallbackOrder.CITIZEN_FIRST)
    h = centre([general(callback=rule)], [agent("a1")])
    h.request_callback(RequestCallback("x", "general", "139"))
    login_ready(h, "a1")
    dial = h.of(DialCitizen)[-1]
    h.feed(CallbackAnswered(dial.request_id, h.now))
    assert h.of(RingSeat)[-1].call_id == "x.cb"
    return h, dial.request_id


def test_callback_citizen_hanging_up_on_hold_frees_the_seat() -> None:
    h, request = _citizen_first_on_hold()
    out = h.feed(CallerHungUp(request, h.now))  # type: ignore[attr-defined]
    assert any(isinstance(c, StopRinging) for c in out.commands)
    assert [f.reason for f in out.facts if isinstance(f, CallbackGaveUp)] == ["citizen-hung-up"]
    assert seat_of(h, "a1").state is SeatState.READY  # type: ignore[arg-type]
    # A late answer of the dropped ring is settled once, like after a timeout.
    late = h.feed(SeatAnswered("a1", request, h.now))  # type: ignore[attr-defined]
    assert [type(c) for c in late.commands] == [StopRinging]
    assert h.acd.stale["late-answer"] == 1  # type: ignore[attr-defined]


def test_callback_citizen_hanging_up_while_talking_ends_the_talk() -> None:
    h, request = _citizen_first_on_hold()
    h.feed(SeatAnswered("a1", request, h.now))  # type: ignore[attr-defined]
    assert h.of(CallbackCompleted)  # type: ignore[attr-defined]
    h.feed(CallerHungUp(request, h.now))  # type: ignore[attr-defined]
    assert seat_of(h, "a1").state is SeatState.WRAP_UP  # type: ignore[arg-type]
    second = h.feed(CallerHungUp(request, h.now))  # type: ignore[attr-defined]
    assert second.commands == () and h.acd.stale["after-end"] == 1  # type: ignore[attr-defined]


def test_a_lost_dial_result_frees_the_agent_and_a_late_one_is_settled_once() -> None:
    rule = CallbackRule(enabled=True, attempts=1, ring_timeout_s=30)
    h = centre([general(callback=rule)], [agent("a1")])
    login_ready(h, "a1")
    h.request_callback(RequestCallback("x", "general", "139"))
    h.feed(SeatAnswered("a1", "x.cb", h.now))  # agent-first: the dial goes out
    assert h.of(DialCitizen)
    h.advance(36)  # ring timeout + grace: the guard gives the dial up
    assert seat_of(h, "a1").state is SeatState.READY
    assert [f.reason for f in h.of(CallbackGaveUp)] == ["no-report"]
    late = h.feed(CallbackAnswered("x.cb", h.now))
    assert late.commands == (Hangup("x.cb", "dial-abandoned"),)
    with pytest.raises(AcdError):
        h.feed(CallbackAnswered("x.cb", h.now))  # settled once: a second one is illegal


def test_a_pause_during_an_agent_first_dial_is_honoured_when_it_fails() -> None:
    rule = CallbackRule(enabled=True, retry_spacing_s=0)
    h = centre([general(callback=rule)], [agent("a1")])
    login_ready(h, "a1")
    h.request_callback(RequestCallback("x", "general", "139"))
    h.feed(SeatAnswered("a1", "x.cb", h.now))
    h.feed(AgentPaused("a1", "break", h.now))
    h.feed(CallbackFailed("x.cb", h.now, "busy"))
    seat = seat_of(h, "a1")
    assert (seat.state, seat.reason) == (SeatState.PAUSED, "break")
    assert len(h.of(DialCitizen)) == 1  # not offered the request again
    assert h.acd.position("x.cb") == 1


def test_logout_during_a_call_takes_effect_when_it_ends() -> None:
    h = centre([general()], [agent("a1")])
    login_ready(h, "a1")
    call(h, "c1")
    h.feed(SeatAnswered("a1", "c1", h.now))
    h.feed(AgentLoggedOut("a1", h.now))
    assert seat_of(h, "a1").state is SeatState.ON_CALL
    assert h.of(Bridge)
    h.feed(CallEnded("c1", h.now))
    assert h.acd.seat("a1") is None


def test_late_answer_after_ring_timeout_is_stopped_and_counted() -> None:
    h = centre([general()], [agent("a1")])
    login_ready(h, "a1")
    call(h, "c1")
    h.feed(SeatNoAnswer("a1", "c1", h.now))
    out = h.feed(SeatAnswered("a1", "c1", h.now))
    assert [type(c) for c in out.commands] == [StopRinging]
    assert seat_of(h, "a1").state is SeatState.PAUSED
    assert h.acd.position("c1") == 1
    assert h.acd.stale == {"late-answer": 1}


def test_keys_after_hang_up_and_late_timers_are_absorbed() -> None:
    h = centre([QueueRules("general")], [agent("a1")])
    call(h, "c1", caller="139")
    h.feed(CallerHungUp("c1", h.now))
    out = h.feed(DigitsReceived("c1", "1", h.now))
    assert out.commands == ()
    h.advance(3600)
    assert h.acd.stale["after-end"] == 1
    with pytest.raises(AcdError):
        h.feed(DigitsReceived("never-seen", "1", h.now))


def test_no_callback_is_promised_when_live_calls_need_every_agent() -> None:
    rule = CallbackRule(enabled=True, promise_within_s=3600)
    h = centre([general(callback=rule)], [agent("a1")])
    login_ready(h, "a1")
    for i in range(6):  # 6 calls in 15 min x 180 s = 1.2 Erlang > 1 agent
        call(h, f"live{i}")
    out = h.request_callback(RequestCallback("r0", "general", "13800000000"))
    assert [f.reason for f in out.facts if isinstance(f, CallbackDeclined)] == ["window-full"]
    assert any(isinstance(c, Record) for c in out.commands)  # a message instead
