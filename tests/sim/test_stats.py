"""Live statistics equal a recount from the fact log, and the counts add up."""

from __future__ import annotations

import math
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.projections.stats import WINDOW_S, LiveStats, StatsError
from hotline.vocabulary.facts import (
    AcdFact,
    CallAbandoned,
    CallAnswered,
    CallCompleted,
    CallExited,
    CallOverflowed,
    CallQueued,
    SeatStateChanged,
)
from hotline.vocabulary.states import SeatState

TZ = ZoneInfo("Asia/Shanghai")
# 23:40 local time: generated days cross midnight, so "today" really slides.
T0 = datetime(2026, 11, 25, 23, 40, tzinfo=TZ).timestamp()
QUEUES = ("general", "emergency")
LINES = ("12345", "12350")
AGENTS = ("a1", "a2", "a3")


@st.composite
def fact_logs(draw: st.DrawFn) -> tuple[list[AcdFact], float]:
    """A time-ordered fact log the ACD could have written, and a time to look at it."""
    now = T0
    facts: list[AcdFact] = []
    waiting: dict[str, CallQueued] = {}
    seats = dict.fromkeys(AGENTS, SeatState.LOGGED_OUT)
    talking: dict[str, tuple[str, float]] = {}  # agent -> (call, answered at)
    steps = draw(st.lists(st.sampled_from([0, 0, 1, 2, 3, 3, 4, 4, 5]), min_size=8, max_size=80))
    for i, step in enumerate(steps):
        now += draw(st.floats(0.0, 400.0))
        if step == 0 or not waiting:
            cid = f"c{i}"
            fact = CallQueued(cid, draw(st.sampled_from(QUEUES)), draw(st.sampled_from(LINES)),
                              0, (), now)
            waiting[cid] = fact
            facts.append(fact)
        elif step in (1, 2):
            cid = draw(st.sampled_from(sorted(waiting)))
            q = waiting.pop(cid)
            waited = now - q.at
            kind = draw(st.sampled_from(["answered", "abandoned", "exited"]))
            if kind == "answered":
                free = [a for a in AGENTS if a not in talking]
                if not free:
                    facts.append(CallAbandoned(cid, q.queue, q.line, waited, now))
                    continue
                agent = draw(st.sampled_from(free))
                facts.append(CallAnswered(cid, q.queue, q.line, agent, waited, now))
                facts.append(SeatStateChanged(agent, seats[agent], SeatState.ON_CALL, "call", now))
                seats[agent] = SeatState.ON_CALL
                talking[agent] = (cid, now)
            elif kind == "abandoned":
                facts.append(CallAbandoned(cid, q.queue, q.line, waited, now))
            else:
                facts.append(CallExited(cid, q.queue, q.line, waited, "callback", now))
        elif step == 3 and talking:
            agent = draw(st.sampled_from(sorted(talking)))
            cid, since = talking.pop(agent)
            q_name = next(f.queue for f in facts if isinstance(f, CallQueued) and f.call_id == cid)
            line = next(f.line for f in facts if isinstance(f, CallQueued) and f.call_id == cid)
            new = draw(st.sampled_from([SeatState.WRAP_UP, SeatState.READY]))
            completed = CallCompleted(cid, q_name, line, agent, now - since, now)
            change = SeatStateChanged(agent, SeatState.ON_CALL, new, "hangup", now)
            # The ACD may report either first: statistics must not care.
            facts.extend([completed, change] if draw(st.booleans()) else [change, completed])
            seats[agent] = new
        elif step == 4:
            agent = draw(st.sampled_from([a for a in AGENTS if a not in talking] or ["a1"]))
            if agent in talking:
                continue
            new = draw(st.sampled_from([s for s in SeatState if s not in
                                        (seats[agent], SeatState.ON_CALL)]))
            facts.append(SeatStateChanged(agent, seats[agent], new, "agent", now))
            seats[agent] = new
        elif step == 5 and waiting:
            cid = draw(st.sampled_from(sorted(waiting)))
            facts.append(CallOverflowed(cid, waiting[cid].queue, "overflow", now))
    look = now + draw(st.floats(0.0, 1200.0))
    return facts, look


def _recount(
    facts: list[AcdFact], now: float, start: float, scope: str, key: str
) -> dict[str, float]:
    """The figures counted the slow, obvious way from the log."""
    def mine(f: CallQueued | CallAnswered | CallAbandoned | CallExited | CallCompleted) -> bool:
        return scope == "centre" or (f.queue if scope == "queue" else f.line) == key

    offered = {f.call_id: f for f in facts if isinstance(f, CallQueued) and start <= f.at <= now
               and mine(f)}
    out = {"offered": len(offered), "answered": 0, "within": 0, "abandoned": 0, "short": 0,
           "exited": 0, "wait": 0.0}
    for f in facts:
        if f.at > now or not isinstance(f, CallAnswered | CallAbandoned | CallExited):
            continue
        if f.call_id not in offered:
            continue
        if isinstance(f, CallAnswered):
            out["answered"] += 1
            out["wait"] += f.waited_s
            out["within"] += f.waited_s <= 15.0
        elif isinstance(f, CallAbandoned):
            out["short" if f.waited_s < 5.0 else "abandoned"] += 1
        else:
            out["exited"] += 1
    decided = out["answered"] + out["abandoned"] + out["short"] + out["exited"]
    out["waiting"] = out["offered"] - decided
    # Handle time: talk plus the wrap-up that follows, counted when the conversation ended.
    handled = 0
    handle = 0.0
    for i, f in enumerate(facts):
        if not isinstance(f, CallCompleted) or not start <= f.at <= now or not mine(f):
            continue
        later = [g for g in facts[i + 1:] if isinstance(g, SeatStateChanged)
                 and g.agent_id == f.agent_id]
        before = [g for g in facts[:i] if isinstance(g, SeatStateChanged)
                  and g.agent_id == f.agent_id]
        state = before[-1].new if before else SeatState.LOGGED_OUT
        if state not in (SeatState.ON_CALL, SeatState.WRAP_UP):
            handled += 1
            handle += f.talk_s
            continue
        wrap_from = before[-1].at if state is SeatState.WRAP_UP else None
        done = None
        for g in later:
            if g.new is SeatState.WRAP_UP:
                wrap_from = g.at
                continue
            done = g.at - wrap_from if wrap_from is not None else 0.0
            break
        if done is not None:
            handled += 1
            handle += f.talk_s + done
    out["handled"] = handled
    out["handle"] = handle
    return out


@given(fact_logs())
@settings(max_examples=150, deadline=None)
def test_statistics_equal_a_recount_from_the_fact_log(log: tuple[list[AcdFact], float]) -> None:
    facts, now = log
    stats = LiveStats(timezone=TZ)
    stats.apply_all(facts)
    snap = stats.snapshot(now)
    local = datetime.fromtimestamp(now, TZ)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    scopes = [("centre", "", snap.centre)]
    scopes += [("queue", k, v) for k, v in snap.queues.items()]
    scopes += [("line", k, v) for k, v in snap.lines.items()]
    for scope, key, figures in scopes:
        for window, start in (("15min", now - WINDOW_S), ("today", day)):
            got = figures.last_15min if window == "15min" else figures.today
            want = _recount(facts, now, start, scope, key)
            assert got.offered == want["offered"]
            assert got.answered == want["answered"]
            assert got.answered_within_target == want["within"]
            assert got.abandoned == want["abandoned"]
            assert got.abandoned_short == want["short"]
            assert got.exited == want["exited"]
            assert got.waiting == want["waiting"]
            assert got.total_wait_answered_s == pytest.approx(want["wait"])
            assert got.handled == want["handled"]
            assert got.total_handle_s == pytest.approx(want["handle"])
            # The outcome rule: every offered call is answered, abandoned, exited or waiting.
            assert got.offered == (got.answered + got.abandoned + got.abandoned_short
                                   + got.exited + got.waiting)
            if got.service_level is not None:
                assert 0.0 <= got.service_level <= 1.0
    # Live waits: every call still waiting, however old.
    queued = {f.call_id: f.at for f in facts if isinstance(f, CallQueued)}
    done = {f.call_id for f in facts if isinstance(f, CallAnswered | CallAbandoned | CallExited)}
    still = [now - at for cid, at in queued.items() if cid not in done]
    assert snap.centre.waiting_now == len(still)
    assert snap.centre.longest_wait_s == pytest.approx(max(still, default=0.0))
    # Agents by state: the last change of each agent.
    last = {f.agent_id: f.new for f in facts if isinstance(f, SeatStateChanged)}
    for state in SeatState:
        assert snap.agents_by_state[state] == sum(1 for s in last.values() if s is state)


def _occupancy_recount(facts: list[AcdFact], start: float, end: float) -> float | None:
    busy = avail = 0.0
    changes: dict[str, list[SeatStateChanged]] = {}
    for f in facts:
        if isinstance(f, SeatStateChanged):
            changes.setdefault(f.agent_id, []).append(f)
    for seq in changes.values():
        for a, b in zip(seq, [*seq[1:], None], strict=True):
            stop = b.at if b is not None else end
            overlap = min(stop, end) - max(a.at, start)
            if overlap <= 0:
                continue
            if a.new in (SeatState.RINGING, SeatState.ON_CALL, SeatState.WRAP_UP):
                busy += overlap
                avail += overlap
            elif a.new is SeatState.READY:
                avail += overlap
    return busy / avail if avail > 0 else None


@given(fact_logs())
@settings(max_examples=80, deadline=None)
def test_occupancy_equals_a_recount(log: tuple[list[AcdFact], float]) -> None:
    facts, now = log
    stats = LiveStats(timezone=TZ)
    stats.apply_all(facts)
    snap = stats.snapshot(now)
    want = _occupancy_recount(facts, now - WINDOW_S, now)
    if want is None:
        assert snap.occupancy_15min is None
    else:
        assert snap.occupancy_15min == pytest.approx(want)


def test_service_level_excludes_short_abandons() -> None:
    stats = LiveStats(timezone=TZ)
    t = T0 - 3600
    stats.apply_all([
        CallQueued("a", "general", "12345", 0, (), t),
        CallQueued("b", "general", "12345", 0, (), t + 1),
        CallQueued("c", "general", "12345", 0, (), t + 2),
        CallQueued("d", "general", "12345", 0, (), t + 3),
        CallAbandoned("b", "general", "12345", 3.0, t + 4),  # short: not counted against SL
        CallAnswered("a", "general", "12345", "a1", 10.0, t + 10),
        CallAnswered("d", "general", "12345", "a2", 30.0, t + 33),
        CallAbandoned("c", "general", "12345", 40.0, t + 42),
    ])
    figures = stats.snapshot(t + 60).queues["general"].last_15min
    assert figures.abandoned_short == 1 and figures.abandoned == 1
    assert figures.service_level == pytest.approx(1 / 3)
    assert figures.asa_s == pytest.approx(20.0)


def test_today_restarts_at_local_midnight() -> None:
    stats = LiveStats(timezone=TZ)
    before = datetime(2026, 11, 25, 23, 59, tzinfo=TZ).timestamp()
    stats.apply(CallQueued("x", "general", "12345", 0, (), before))
    stats.apply(CallAnswered("x", "general", "12345", "a1", 2.0, before + 2))
    after_midnight = before + 120
    snap = stats.snapshot(after_midnight)
    assert snap.centre.today.offered == 0
    assert snap.centre.last_15min.offered == 1


def test_bad_facts_raise_and_change_nothing() -> None:
    stats = LiveStats(timezone=TZ)
    stats.apply(CallQueued("x", "general", "12345", 0, (), T0))
    with pytest.raises(StatsError, match="not waiting"):
        stats.apply(CallAnswered("nope", "general", "12345", "a1", 1.0, T0 + 1))
    with pytest.raises(StatsError, match="queued twice"):
        stats.apply(CallQueued("x", "general", "12345", 0, (), T0 + 1))
    with pytest.raises(StatsError, match="time order"):
        stats.apply(CallQueued("y", "general", "12345", 0, (), T0 - 1))
    snap = stats.snapshot(T0 + 5)
    assert snap.centre.today.offered == 1 and snap.centre.waiting_now == 1
    assert math.isclose(snap.centre.longest_wait_s, 5.0)


def test_callbacks_and_mode_switches_are_kept() -> None:
    from hotline.vocabulary.facts import (
        CallbackCompleted,
        CallbackGaveUp,
        CallbackRequested,
        ModeChanged,
    )

    stats = LiveStats(timezone=TZ)
    t = T0 - 7200
    stats.apply_all([
        CallbackRequested("r1", "c1", "general", "12345", "138", t),
        CallbackRequested("r2", "c2", "general", "12345", "139", t + 1),
        CallbackRequested("r3", "c3", "general", "12345", "137", t + 2),
        ModeChanged("normal", "emergency", "lead-1", "surge", t + 3),
        CallbackCompleted("r1", "a1", 1, 60.0, t + 60),
        CallbackGaveUp("r2", 3, "no-answer", t + 900),
    ])
    cb = stats.snapshot(t + 1000).callbacks_today
    assert (cb.requested, cb.completed, cb.gave_up, cb.pending) == (3, 1, 1, 1)
    assert [(m.old, m.new, m.by) for m in stats.mode_changes] == [("normal", "emergency", "lead-1")]


def test_missed_call_callbacks_and_promises_are_counted() -> None:
    from hotline.vocabulary.facts import (
        CallbackCancelled,
        CallbackCompleted,
        CallbackDeclined,
        CallbackGaveUp,
        CallbackOverdue,
        CallbackRequested,
        MissedCallCallback,
    )

    stats = LiveStats(timezone=TZ)
    t = T0 - 7200
    stats.apply_all([
        CallbackRequested("m1.cb", "m1", "general", "12345", "138", t),
        MissedCallCallback("m1.cb", "m1", "general", "138", 90.0, t),
        CallbackRequested("m2.cb", "m2", "general", "12345", "139", t + 1),
        MissedCallCallback("m2.cb", "m2", "general", "139", 95.0, t + 1),
        CallbackRequested("m3.cb", "m3", "general", "12345", "137", t + 2),
        MissedCallCallback("m3.cb", "m3", "general", "137", 99.0, t + 2),
        CallbackRequested("r1.cb", "r1", "general", "12345", "136", t + 3),
        CallbackDeclined("r2", "general", "window-full", t + 4),
        CallbackCancelled("m1.cb", "called-again", t + 10, "m9"),
        CallbackCompleted("m2.cb", "a1", 1, 60.0, t + 60),
        CallbackOverdue("r1.cb", "general", t + 600, t + 600),
        CallbackGaveUp("m3.cb", 3, "no-answer", t + 900),
    ])
    cb = stats.snapshot(t + 1000).callbacks_today
    assert (cb.requested, cb.completed, cb.gave_up, cb.cancelled, cb.pending) == (4, 1, 1, 1, 1)
    assert (cb.missed_requested, cb.missed_completed, cb.missed_cancelled,
            cb.missed_gave_up) == (3, 1, 1, 1)
    assert (cb.declined, cb.overdue) == (1, 1)


def test_handle_time_includes_the_wrap_up_that_follows() -> None:
    stats = LiveStats(timezone=TZ)
    t = T0 - 7200
    stats.apply_all([
        SeatStateChanged("a1", SeatState.LOGGED_OUT, SeatState.READY, "login", t),
        CallQueued("c", "general", "12345", 0, (), t + 10),
        CallAnswered("c", "general", "12345", "a1", 2.0, t + 12),
        SeatStateChanged("a1", SeatState.READY, SeatState.ON_CALL, "c", t + 12),
        CallCompleted("c", "general", "12345", "a1", 100.0, t + 112),
        SeatStateChanged("a1", SeatState.ON_CALL, SeatState.WRAP_UP, "after-call", t + 112),
    ])
    assert stats.snapshot(t + 120).centre.today.handled == 0  # wrap-up still running
    stats.apply(SeatStateChanged("a1", SeatState.WRAP_UP, SeatState.READY, "wrap", t + 142))
    today = stats.snapshot(t + 150).centre.today
    assert today.handled == 1
    assert today.aht_s == pytest.approx(130.0)
    assert today.att_s == pytest.approx(100.0)
    # 130 s busy (talk + wrap-up) of the 150 s logged in and available.
    assert stats.snapshot(t + 150).occupancy_today == pytest.approx(130.0 / 150.0)
