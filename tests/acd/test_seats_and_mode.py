"""Seat states, pauses, guests, centre mode and rosters."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from acd.builders import agent, call, centre, login_ready, seat_of
from hotline.agents.directory import Agent
from hotline.agents.rosters import Roster, RosterDay, Shift
from hotline.agents.seats import TRANSITIONS, SeatBoard, SeatError, SeatTrigger
from hotline.queue.rules import QueueRules
from hotline.vocabulary.commands import NotifyReserve, RingSeat
from hotline.vocabulary.errors import AcdError, RulesError
from hotline.vocabulary.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentReady,
    CallEnded,
    ModeSwitched,
    SeatAnswered,
    SeatNoAnswer,
)
from hotline.vocabulary.facts import ModeChanged, SeatStateChanged
from hotline.vocabulary.states import SeatState
from hotline.vocabulary.times import time_of_day

DAY = 86400.0
MONDAY = datetime(2026, 11, 23, tzinfo=UTC).timestamp()  # a Monday, 00:00 UTC


# --- the seat state machine ---------------------------------------------------------
@pytest.mark.parametrize("state", list(SeatState))
@pytest.mark.parametrize("trigger", list(SeatTrigger))
def test_illegal_pairs_raise_and_change_nothing(state: SeatState, trigger: SeatTrigger) -> None:
    if (state, trigger) in TRANSITIONS:
        return
    facts: list[SeatStateChanged] = []
    board = SeatBoard(facts.append)
    seat = board.login("a", "s", "PJSIP/1", "", {}, False, 0.0)
    seat.state = state  # arrange the starting state directly; the board is under test
    before = (seat.state, seat.reason, seat.since, len(facts))
    with pytest.raises(SeatError):
        board.transition(seat, trigger, "x", 5.0)
    assert (seat.state, seat.reason, seat.since, len(facts)) == before


def test_every_change_is_one_fact_from_the_chokepoint() -> None:
    h = centre([QueueRules("general", announce=None, wrap_up_s=10)], [agent("a1")])
    login_ready(h, "a1")
    call(h, "c1")
    h.feed(SeatAnswered("a1", "c1", h.now))
    h.feed(CallEnded("c1", h.now))
    h.advance(10)
    h.feed(AgentPaused("a1", "meal", h.now))
    h.feed(AgentLoggedOut("a1", h.now))
    changes = [(f.old, f.new, f.reason) for f in h.of(SeatStateChanged)]
    S = SeatState
    assert changes == [
        (S.LOGGED_OUT, S.PAUSED, "login"),
        (S.PAUSED, S.READY, "ready"),
        (S.READY, S.RINGING, "c1"),
        (S.RINGING, S.ON_CALL, "c1"),
        (S.ON_CALL, S.WRAP_UP, "after-call"),
        (S.WRAP_UP, S.READY, "wrap-up-done"),
        (S.READY, S.PAUSED, "meal"),
        (S.PAUSED, S.LOGGED_OUT, "logout"),
    ]


def test_hot_desking_and_login_errors() -> None:
    h = centre([QueueRules("general", announce=None)], [agent("a1"), agent("a2")])
    h.feed(AgentLoggedIn("a1", "s1", h.now))
    with pytest.raises(AcdError):
        h.feed(AgentLoggedIn("a2", "s1", h.now))  # seat taken
    with pytest.raises(AcdError):
        h.feed(AgentLoggedIn("a1", "s2", h.now))  # already logged in elsewhere
    with pytest.raises(AcdError):
        h.feed(AgentLoggedIn("nobody", "s2", h.now))  # no record, no guest skills
    with pytest.raises(AcdError):
        h.feed(AgentLoggedIn("a2", "nowhere", h.now))
    h.feed(AgentLoggedOut("a1", h.now))
    h.feed(AgentLoggedIn("a1", "s0", h.now))  # any seat will do
    assert seat_of(h, "a1").endpoint == "PJSIP/8000"


def test_illegal_seat_events_change_nothing() -> None:
    h = centre([QueueRules("general", announce=None)], [agent("a1")])
    login_ready(h, "a1")
    call(h, "c1")
    call(h, "c2")
    with pytest.raises(AcdError):
        h.feed(SeatAnswered("a1", "c2", h.now))  # rung for c1, not c2
    with pytest.raises(AcdError):
        h.feed(AgentReady("a1", h.now))  # ringing
    h.feed(SeatAnswered("a1", "c1", h.now))
    with pytest.raises(AcdError):
        h.feed(SeatNoAnswer("a1", "c1", h.now))
    with pytest.raises(AcdError):
        h.feed(CallEnded("c2", h.now))  # waiting, not connected
    assert seat_of(h, "a1").state is SeatState.ON_CALL
    assert h.acd.position("c2") == 1


def test_pause_reasons_and_limits() -> None:
    q = QueueRules("general", announce=None, pause_limits_s={"break": 900, "meal": 1800})
    other = QueueRules("other", announce=None, pause_limits_s={"break": 600})
    h = centre([q, other], [agent("a1"), agent("a2")])
    login_ready(h, "a1", "a2")
    h.feed(AgentPaused("a1", "break", h.now))
    h.feed(AgentPaused("a2", "training", h.now))  # no limit for training
    assert seat_of(h, "a1").reason == "break"
    h.advance(599)
    assert seat_of(h, "a1").state is SeatState.PAUSED
    h.advance(1)  # the smallest limit over the mode's queues applies
    assert (seat_of(h, "a1").state, seat_of(h, "a1").reason) == (SeatState.READY, "pause-limit")
    h.advance(10 * 3600)
    assert seat_of(h, "a2").state is SeatState.PAUSED
    with pytest.raises(AcdError):
        h.feed(AgentPaused("a2", "", h.now))


def test_pause_asked_during_a_call_applies_after_wrap_up() -> None:
    h = centre([QueueRules("general", announce=None, wrap_up_s=30)], [agent("a1")])
    login_ready(h, "a1")
    call(h, "c1")
    h.feed(SeatAnswered("a1", "c1", h.now))
    h.feed(AgentPaused("a1", "meal", h.now))
    assert seat_of(h, "a1").state is SeatState.ON_CALL
    h.feed(CallEnded("c1", h.now))
    call(h, "c2")
    h.advance(30)
    assert (seat_of(h, "a1").state, seat_of(h, "a1").reason) == (SeatState.PAUSED, "meal")
    assert h.acd.position("c2") == 1


def test_pause_or_logout_while_ringing_puts_the_call_back() -> None:
    h = centre([QueueRules("general", announce=None)], [agent("a1"), agent("a2")])
    login_ready(h, "a1")
    call(h, "c1")
    call(h, "c2")
    h.feed(AgentPaused("a1", "break", h.now))
    assert h.acd.position("c1") == 1
    h.feed(AgentReady("a1", h.now))
    h.feed(AgentLoggedOut("a1", h.now))
    assert h.acd.position("c1") == 1
    assert h.acd.seat("a1") is None


def test_guest_seat_with_dedicated_skill() -> None:
    leader_q = QueueRules("leader", skills=("leader",), announce=None)
    h = centre([QueueRules("general", skills=("general",), announce=None), leader_q],
               [agent("a1", general=3)])
    h.feed(AgentLoggedIn("director", "s2", h.now, guest_skills=("leader",)))
    h.feed(AgentReady("director", h.now))
    assert seat_of(h, "director").guest
    call(h, "g1", "general")
    assert h.of(RingSeat) == []  # the guest only takes the dedicated skill
    call(h, "l1", "leader")
    assert h.of(RingSeat)[-1].agent_id == "director"


def test_roster_guest_skills_are_used_at_login() -> None:
    shifts = {"day": Shift("day", time(8), time(18))}
    monday = RosterDay({"day": ("a1",)}, guests={"boss": {"leader": 5}})
    roster = Roster("normal", shifts, {0: monday})
    q = QueueRules("leader", skills=("leader",), announce=None)
    h = centre([q], [agent("a1")], rosters={"normal": roster})
    h.now = MONDAY + 9 * 3600
    h.feed(AgentLoggedIn("boss", "s0", h.now))
    assert seat_of(h, "boss").guest


# --- centre mode --------------------------------------------------------------------
def _modes() -> tuple[list[QueueRules], dict[str, list[QueueRules]]]:
    normal = [QueueRules("general", announce=None, wrap_up_s=60,
                         pause_limits_s={"break": 1800})]
    emergency = [QueueRules("general", announce=None, wrap_up_s=10,
                            tag_priority={"epidemic": 10}, pause_limits_s={"break": 300})]
    return normal, {"emergency": emergency}


def test_mode_switch_reranks_waiting_callers_and_is_audited() -> None:
    normal, modes = _modes()
    reserve = Roster("emergency", {"all": Shift("all", time(0), time(0))},
                     {d: RosterDay({"all": ("a1",)}, reserve=("r0", "r1", "r2")) for d in range(7)})
    h = centre(normal, [agent("a1"), agent("r0")], modes=modes, rosters={"emergency": reserve})
    h.now = MONDAY
    h.feed(AgentLoggedIn("r0", "s0", h.now))  # a reserve agent already at a seat
    call(h, "c1")
    call(h, "c2", tags=("epidemic",))
    assert h.acd.position("c2") == 2
    out = h.feed(ModeSwitched("emergency", "leader-7", "epidemic surge", h.now, until=h.now + 3600))
    assert h.acd.position("c2") == 1 and h.acd.position("c1") == 2
    assert h.of(ModeChanged) == [
        ModeChanged("normal", "emergency", "leader-7", "epidemic surge", h.now, h.now + 3600)
    ]
    assert NotifyReserve(("r1", "r2"), "emergency", "epidemic surge") in out.commands
    h.advance(3600)  # automatic return
    assert h.acd.mode == "normal"
    assert h.of(ModeChanged)[-1].by == "timer"
    assert h.acd.position("c1") == 1


def test_mode_switch_leaves_talking_calls_alone_and_applies_wrap_up_limit() -> None:
    normal, modes = _modes()
    h = centre(normal, [agent("a1"), agent("a2")], modes=modes)
    login_ready(h, "a1", "a2")
    call(h, "c1")
    call(h, "c2")
    h.feed(SeatAnswered("a1", "c1", h.now))
    h.feed(SeatAnswered("a2", "c2", h.now))
    h.feed(CallEnded("c1", h.now))  # a1 wraps up (60 s in normal mode)
    h.advance(15)
    h.feed(ModeSwitched("emergency", "sup", "storm", h.now))
    # 15 s of wrap-up already exceed the emergency limit of 10 s: ready at once
    assert seat_of(h, "a1").state is SeatState.READY
    assert seat_of(h, "a2").state is SeatState.ON_CALL
    h.feed(CallEnded("c2", h.now))
    h.advance(9.9)
    assert seat_of(h, "a2").state is SeatState.WRAP_UP
    h.advance(0.1)
    assert seat_of(h, "a2").state is SeatState.READY


def test_mode_switch_tightens_running_pauses() -> None:
    normal, modes = _modes()
    h = centre(normal, [agent("a1")], modes=modes)
    login_ready(h, "a1")
    h.feed(AgentPaused("a1", "break", h.now))
    h.advance(200)
    h.feed(ModeSwitched("emergency", "sup", "storm", h.now))
    h.advance(99)
    assert seat_of(h, "a1").state is SeatState.PAUSED
    h.advance(1)
    assert seat_of(h, "a1").state is SeatState.READY


def test_unknown_mode_is_refused() -> None:
    normal, modes = _modes()
    h = centre(normal, [], modes=modes)
    with pytest.raises(AcdError):
        h.feed(ModeSwitched("chaos", "x", "y", h.now))
    assert h.acd.mode == "normal" and h.of(ModeChanged) == []


def test_modes_must_share_queues() -> None:
    with pytest.raises(RulesError):
        centre([QueueRules("a")], [], modes={"emergency": [QueueRules("b")]})


# --- rosters ------------------------------------------------------------------------
def _roster() -> Roster:
    shifts = {
        "day": Shift("day", time_of_day("08:00"), time_of_day("17:00")),
        "night": Shift("night", time_of_day("22:00"), time_of_day("06:00")),
    }
    monday = RosterDay({"day": ("d1", "d2"), "night": ("n1",)})
    tuesday = RosterDay({"day": ("d3",)})
    holiday = RosterDay({"day": ("h1",)})
    return Roster("normal", shifts, {0: monday, 1: tuesday}, {date(2026, 11, 24): holiday})


def test_who_is_scheduled_including_midnight_and_date_overrides() -> None:
    roster = _roster()
    from zoneinfo import ZoneInfo

    utc = ZoneInfo("UTC")
    assert roster.scheduled(MONDAY + 9 * 3600, utc) == {"d1", "d2"}
    assert roster.scheduled(MONDAY + 23 * 3600, utc) == {"n1"}
    # Tuesday 03:00: Monday's night shift is still on; Tuesday is a dated holiday plan
    assert roster.scheduled(MONDAY + DAY + 3 * 3600, utc) == {"n1"}
    assert roster.scheduled(MONDAY + DAY + 9 * 3600, utc) == {"h1"}
    assert roster.scheduled(MONDAY + DAY + 7 * 3600, utc) == frozenset()


def test_schedule_is_in_local_time() -> None:
    from zoneinfo import ZoneInfo

    # 01:00 UTC Monday is 09:00 in Shanghai: the day shift
    assert _roster().scheduled(MONDAY + 3600, ZoneInfo("Asia/Shanghai")) == {"d1", "d2"}


def test_attendance_missing_and_unscheduled() -> None:
    h = centre([QueueRules("general", announce=None)],
               [Agent("d1", "D1"), Agent("d2", "D2"), Agent("x", "X")],
               rosters={"normal": _roster()})
    h.now = MONDAY + 9 * 3600
    h.feed(AgentLoggedIn("d1", "s0", h.now))
    h.feed(AgentLoggedIn("x", "s1", h.now))
    seen = h.acd.attendance(h.now)
    assert seen is not None
    assert seen.present == {"d1"}
    assert seen.missing == {"d2"}
    assert seen.unscheduled == {"x"}


def test_roster_refuses_unknown_shift() -> None:
    with pytest.raises(RulesError):
        Roster("r", {}, {0: RosterDay({"ghost": ("a",)})})


def test_transition_table_documents_every_pair() -> None:
    from hotline.agents.seats import transition_table

    table = transition_table().splitlines()
    assert len(table) == len(TRANSITIONS) + 2
    assert "| ready | offer | ringing |" in table
