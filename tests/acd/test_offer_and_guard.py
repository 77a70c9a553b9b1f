"""In-queue callback offer by key, announcement prompts, the ring guard and guest levels."""

from __future__ import annotations

from datetime import time

import pytest

from acd.builders import agent, call, centre, login_ready, seat_of
from hotline.agents.directory import GUEST_SKILL_LEVEL, Guest, SeatDef
from hotline.agents.rosters import Roster, RosterDay, Shift
from hotline.queue.acd import (
    CALLBACK_REGISTERED,
    NO_REPORT,
    RING_GUARD,
    RING_GUARD_GRACE_S,
    Acd,
)
from hotline.queue.announcements import (
    CALLBACK_KEY,
    announcement_values,
    fill,
    minutes,
    queue_announcement,
)
from hotline.queue.rules import AnnounceRule, CallbackRule, QueueRules
from hotline.queue.waiting import EntryKind
from hotline.testing.acd_harness import AcdHarness
from hotline.vocabulary.commands import (
    Announce,
    CancelTimer,
    DialCitizen,
    Hangup,
    RingSeat,
    StartTimer,
    StopRinging,
)
from hotline.vocabulary.errors import AcdError
from hotline.vocabulary.events import (
    AgentLoggedIn,
    AgentReady,
    CallbackAnswered,
    DigitsReceived,
    SeatAnswered,
    SeatNoAnswer,
)
from hotline.vocabulary.facts import (
    CallbackRequested,
    CallExited,
    EventIgnored,
    RingNoAnswer,
)
from hotline.vocabulary.queueing import CallbackOrder, ExitAction
from hotline.vocabulary.states import SeatState

CALLBACKS = CallbackRule(enabled=True)


def general(**kw: object) -> QueueRules:
    options: dict[str, object] = {
        "announce": AnnounceRule(30, 60), "callback": CALLBACKS, "ring_timeout_s": 15.0,
    }
    options.update(kw)
    return QueueRules("general", **options)  # type: ignore[arg-type]


def three_waiting(h: AcdHarness) -> None:
    for cid in ("c1", "c2", "c3"):
        call(h, cid, caller=f"1380000000{cid[-1]}")
        h.advance(1)


def three_offered(h: AcdHarness) -> None:
    """Three callers waiting, each past the first announcement (which offers the key)."""
    three_waiting(h)
    h.advance(30)
    assert {a.call_id for a in h.of(Announce) if a.callback_key} == {"c1", "c2", "c3"}


# --- the callback key ---------------------------------------------------------------------
def test_the_announcement_offers_the_callback_key() -> None:
    h = centre([general()], [agent("a1")])
    call(h, "c1", caller="13800000001")
    h.advance(30)
    [announce] = h.of(Announce)
    assert announce.callback_key == CALLBACK_KEY == "1"
    assert announce.prompts[-1].id == "queue.callback_offer"
    assert announce.prompts[-1].text == "如需回电，请按1。"


def test_the_key_before_the_offer_was_heard_changes_nothing() -> None:
    h = centre([general()], [agent("a1")])
    three_waiting(h)
    out = h.feed(DigitsReceived("c2", "1", h.now))
    assert out.commands == () and out.facts == ()
    assert h.acd.knows("c2") and h.acd.position("c2") == 2


def test_the_key_while_waiting_books_a_callback_that_keeps_the_place() -> None:
    h = centre([general()], [agent("a1")])
    three_offered(h)
    before = h.acd.position("c2")
    out = h.feed(DigitsReceived("c2", "1", h.now))
    announce, hangup = (c for c in out.commands if isinstance(c, Announce | Hangup))
    assert isinstance(announce, Announce)
    assert [p.id for p in announce.prompts] == ["queue.callback_confirmed"]
    assert hangup == Hangup("c2", CALLBACK_REGISTERED)
    exited = [f for f in out.facts if isinstance(f, CallExited)]
    assert [(f.call_id, f.action, f.reason) for f in exited] == [
        ("c2", "callback", "caller-choice")
    ]
    requested = [f for f in out.facts if isinstance(f, CallbackRequested)]
    assert [(r.request_id, r.number) for r in requested] == [("c2.cb", "13800000002")]
    assert not h.acd.knows("c2")
    assert h.acd.position("c2.cb") == before  # the same place in the line
    login_ready(h, "a1")
    h.feed(SeatAnswered("a1", "c1", h.now))
    assert h.acd.position("c2.cb") == 1


@pytest.mark.parametrize("digits", ["2", "0", "#", "*", "11", "12", ""])
def test_other_keys_on_hold_are_ignored(digits: str) -> None:
    h = centre([general()], [agent("a1")])
    three_waiting(h)
    out = h.feed(DigitsReceived("c2", digits, h.now))
    assert out.commands == () and out.facts == ()
    assert h.acd.position("c2") == 2


def test_the_key_is_ignored_where_no_callback_is_offered() -> None:
    # Queue without callbacks; a withheld number: nothing to call back.
    h = centre([general(callback=CallbackRule(enabled=False))], [agent("a1")])
    call(h, "c1", caller="13800000001")
    assert h.feed(DigitsReceived("c1", "1", h.now)).commands == ()
    assert h.acd.position("c1") == 1
    h = centre([general()], [agent("a1")])
    call(h, "c1")
    h.advance(30)
    assert h.of(Announce)[0].callback_key is None
    assert h.feed(DigitsReceived("c1", "1", h.now)).commands == ()
    assert h.acd.position("c1") == 1


def test_the_key_while_ringing_or_talking_is_ignored_and_unknown_calls_raise() -> None:
    h = centre([general()], [agent("a1")])
    login_ready(h, "a1")
    call(h, "c1", caller="13800000001")
    assert seat_of(h, "a1").state is SeatState.RINGING
    assert h.feed(DigitsReceived("c1", "1", h.now)).commands == ()
    h.feed(SeatAnswered("a1", "c1", h.now))
    assert h.feed(DigitsReceived("c1", "1", h.now)).commands == ()
    assert seat_of(h, "a1").state is SeatState.ON_CALL
    with pytest.raises(AcdError, match="not in the ACD"):
        h.feed(DigitsReceived("ghost", "1", h.now))


def test_max_wait_exit_to_callback_is_still_automatic_and_announced() -> None:
    h = centre([general(max_wait_s=120, exit=ExitAction.CALLBACK)], [agent("a1")])
    call(h, "c1", caller="13800000001")
    mark = h.mark()
    h.advance(120)
    announces = h.of(Announce, mark[0])
    assert [p.id for p in announces[-1].prompts] == ["acd.exit.callback"]
    assert h.of(Hangup, mark[0]) == [Hangup("c1", CALLBACK_REGISTERED)]
    assert [(f.action, f.reason) for f in h.of(CallExited)] == [("callback", "max-wait")]


def test_announcement_helpers_never_say_zero_minutes() -> None:
    assert minutes(1.0) == 1 and minutes(60.0) == 1 and minutes(61.0) == 2
    announce = queue_announcement("c", 1, 30.0, say_wait=True, callback_key=None)
    assert announcement_values(announce) == {"position": "1", "ahead": "0", "minutes": "1"}
    assert [p.text for p in announce.prompts] == [
        "您目前排在第1位，请耐心等待。", "预计等待约1分钟。",
    ]
    # Unknown names and format() syntax stay as written.
    assert fill("{position} {x} {0} {position.__class__}", {"position": "3"}) == (
        "3 {x} {0} {position.__class__}"
    )


# --- the ring guard -----------------------------------------------------------------------
def _guard(h: AcdHarness, since: int = 0) -> StartTimer:
    return next(
        c for c in h.commands[since:] if isinstance(c, StartTimer) and RING_GUARD in c.timer
    )


def test_every_ring_starts_a_guard_a_little_after_the_ring_timeout() -> None:
    h = centre([general(ring_timeout_s=15)], [agent("a1")])
    login_ready(h, "a1")
    mark = h.mark()
    call(h, "c1")
    ring = h.of(RingSeat, mark[0])[0]
    guard = _guard(h, mark[0])
    assert guard.call_id == "c1"
    assert guard.seconds == ring.timeout_s + RING_GUARD_GRACE_S == 20.0


def test_a_ring_nobody_reports_on_goes_back_to_its_place_and_pauses_the_seat() -> None:
    h = centre([general(pause_limits_s={"no-answer": 600})], [agent("a1"), agent("a2")])
    three_waiting(h)
    login_ready(h, "a1")
    rung_at = h.now
    assert h.of(RingSeat)[-1].call_id == "c1"
    h.advance_to(rung_at + 19.9)
    assert seat_of(h, "a1").state is SeatState.RINGING  # the driver still has time
    mark = h.mark()
    h.advance_to(rung_at + 20)
    assert StopRinging("c1", "a1", seat_of(h, "a1").endpoint) in h.commands[mark[0]:]
    [lapsed] = h.of(RingNoAnswer, mark[1])
    assert (lapsed.call_id, lapsed.agent_id, lapsed.cause) == ("c1", "a1", NO_REPORT)
    seat = seat_of(h, "a1")
    assert (seat.state, seat.reason) == (SeatState.PAUSED, "no-answer")
    assert [h.acd.position(c) for c in ("c1", "c2", "c3")] == [1, 2, 3]
    login_ready(h, "a2")
    assert h.of(RingSeat)[-1] == RingSeat("c1", "a2", seat_of(h, "a2").endpoint, 15.0)


def test_late_reports_after_the_guard_are_settled_without_changing_anything() -> None:
    h = centre([general()], [agent("a1"), agent("a2")])
    login_ready(h, "a1", "a2")
    call(h, "c1")
    first = h.of(RingSeat)[-1].agent_id
    other = "a2" if first == "a1" else "a1"
    h.advance(20)  # guard: c1 goes straight to the other ready seat
    assert h.of(RingSeat)[-1].agent_id == other
    mark = h.mark()
    # A late "no answer" is a no-op; a late "answered" asks the driver to drop that leg.
    out = h.feed(SeatNoAnswer(first, "c1", h.now))
    assert out.commands == ()
    assert [(f.event, f.reason) for f in out.facts] == [("SeatNoAnswer", "late-no-answer")]
    h2 = centre([general()], [agent("a1"), agent("a2")])
    login_ready(h2, "a1", "a2")
    call(h2, "c1")
    h2.advance(20)
    out = h2.feed(SeatAnswered(first, "c1", h2.now))
    assert out.commands == (StopRinging("c1", first, seat_of(h2, first).endpoint),)
    assert [type(f) for f in out.facts] == [EventIgnored]
    assert h2.acd.stale == {"late-answer": 1}
    assert seat_of(h2, other).state is SeatState.RINGING  # the current ring is untouched
    # Each ring is settled once; a second report is an illegal event again.
    with pytest.raises(AcdError, match="not ringing"):
        h2.feed(SeatAnswered(first, "c1", h2.now))
    assert h.mark()[1] == mark[1] + 1  # only the stale report's own fact


def test_an_answered_ring_cancels_its_guard() -> None:
    h = centre([general()], [agent("a1")])
    login_ready(h, "a1")
    call(h, "c1")
    guard = _guard(h)
    out = h.feed(SeatAnswered("a1", "c1", h.now))
    assert CancelTimer("c1", guard.timer) in out.commands
    h.advance(3600)
    assert h.of(RingNoAnswer) == []
    assert seat_of(h, "a1").state is SeatState.ON_CALL


def test_the_guard_covers_citizen_first_callback_rings() -> None:
    rules = CallbackRule(enabled=True, order=CallbackOrder.CITIZEN_FIRST)
    h = centre([general(callback=rules)], [agent("a1")])
    call(h, "c1", caller="13800000001")
    h.advance(30)  # the first announcement offers the key
    h.feed(DigitsReceived("c1", "1", h.now))
    login_ready(h, "a1")
    dial = h.of(DialCitizen)[-1]
    h.advance(20)  # a callback dial in flight is not a ring: no ring guard fires
    assert h.of(RingNoAnswer) == []
    mark = h.mark()
    h.feed(CallbackAnswered(dial.request_id, h.now))
    assert h.of(RingSeat, mark[0])
    h.advance(20)
    assert [f.cause for f in h.of(RingNoAnswer)] == [NO_REPORT]
    assert h.acd.position("c1.cb") == 1


# --- guest levels -------------------------------------------------------------------------
def _leader_acd(min_level: int, guests: list[Guest], roster: Roster | None = None) -> AcdHarness:
    q = QueueRules("leader", skills=("leader",), min_level=min_level, announce=None)
    acd = Acd({"normal": {"leader": q}}, [], [SeatDef("g1", "PJSIP/9001")],
              {"normal": roster} if roster else None, tz="UTC", guests=guests)
    return AcdHarness(acd)


@pytest.mark.parametrize(("level", "min_level", "rung"), [(3, 3, True), (3, 4, False),
                                                            (5, 5, True)])
def test_a_guest_gets_the_configured_level(level: int, min_level: int, rung: bool) -> None:
    h = _leader_acd(min_level, [Guest("boss", "Director", {"leader": level})])
    h.feed(AgentLoggedIn("boss", "g1", h.now, guest_skills=("leader",)))
    h.feed(AgentReady("boss", h.now))
    assert dict(seat_of(h, "boss").skills) == {"leader": level}
    assert seat_of(h, "boss").guest
    call(h, "l1", "leader")
    assert bool(h.of(RingSeat)) is rung


def test_guest_levels_from_the_roster_then_the_directory_then_the_default() -> None:
    roster = Roster("normal", {"day": Shift("day", time(0), time(23, 59))},
                    {d: RosterDay({"day": ()}, guests={"boss": {"leader": 2}}) for d in range(7)})
    h = _leader_acd(3, [Guest("boss", "", {"leader": 4})], roster)
    h.feed(AgentLoggedIn("boss", "g1", h.now))  # no skills named: today's roster entry
    assert dict(seat_of(h, "boss").skills) == {"leader": 2}
    h = _leader_acd(3, [Guest("boss", "", {"leader": 4})])
    h.feed(AgentLoggedIn("boss", "g1", h.now))  # no roster: the directory
    assert dict(seat_of(h, "boss").skills) == {"leader": 4}
    h = _leader_acd(3, [])
    h.feed(AgentLoggedIn("visitor", "g1", h.now, guest_skills=("leader", "law")))
    assert dict(seat_of(h, "visitor").skills) == {
        "leader": GUEST_SKILL_LEVEL, "law": GUEST_SKILL_LEVEL,
    }
    with pytest.raises(AcdError, match="unknown agent"):
        _leader_acd(3, []).feed(AgentLoggedIn("nobody", "g1", 0.0))


def test_guest_records_are_checked() -> None:
    from hotline.vocabulary.errors import RulesError

    with pytest.raises(RulesError, match="level 6"):
        Guest("boss", "", {"leader": 6})
    with pytest.raises(RulesError, match="twice"):
        _leader_acd(3, [Guest("boss"), Guest("boss")])
    assert Guest("boss", "", {"leader": 2}).level("other") == GUEST_SKILL_LEVEL


def test_a_callback_request_is_a_callback_entry() -> None:
    h = centre([general()], [agent("a1")])
    three_offered(h)
    h.feed(DigitsReceived("c3", "1", h.now))
    [view] = [w for w in h.acd.queue_view("general", h.now).waiting if w.id == "c3.cb"]
    assert view.kind is EntryKind.CALLBACK
