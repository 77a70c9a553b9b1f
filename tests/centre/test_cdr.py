"""The CDR, built from the fact log alone, agrees with the live statistics."""

from __future__ import annotations

import csv
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotline.composition import build_kernel
from hotline.config.loader import Centre
from hotline.projections.cdr import COLUMNS, cdr_rows, queue_totals, write_csv
from hotline.projections.stats import LiveStats
from hotline.vocabulary.events import (
    AgentLoggedIn,
    AgentReady,
    CallArrived,
    CallEnded,
    CallerHungUp,
    NoInput,
    PlaybackFinished,
    SeatAnswered,
)
from hotline.vocabulary.facts import CallQueued, CallStarted

from .drive import T0, TZ, Drive
from .pbx import RandomPbx

REQUIRED = (
    "call_id", "line", "caller", "arrived_at", "answered_at", "ended_at", "queue", "seat",
    "agent", "wait_s", "talk_s", "wrap_s", "outcome", "mode_at_arrival", "tags", "ivr_path",
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_cdr_totals_equal_the_live_statistics(centre: Centre, data: st.DataObject) -> None:
    stats = LiveStats(timezone=TZ)
    drive = Drive(build_kernel(centre, observers=[stats.apply]), RandomPbx(T0),
                  tuple(centre.config.queues))
    for _ in range(data.draw(st.integers(10, 100), label="steps")):
        drive.step(data)
    rows = cdr_rows(drive.records)
    assert [r.call_id for r in rows] == [
        r.call_id for r in drive.records if isinstance(r, CallStarted)
    ]
    now = drive.pbx.now + 1
    snapshot = stats.snapshot(now)
    # The live figures are today's (a long timer may carry the run past midnight): the
    # CDR rows they are compared with are those of the calls queued today.
    queued_at = {r.call_id: r.at for r in drive.records if isinstance(r, CallQueued)}
    today = stats.today_start(now)
    totals = queue_totals(r for r in rows if queued_at.get(r.call_id, today) >= today)
    for name, scope in snapshot.queues.items():
        today = scope.today
        got = totals.get(name, {"offered": 0})
        assert got["offered"] == today.offered, name
        assert got.get("answered", 0) == today.answered, name
        assert got.get("abandoned", 0) == today.abandoned, name
        assert got.get("short-abandon", 0) == today.abandoned_short, name
        assert got.get("exit-record", 0) + got.get("exit-callback", 0) == today.exited, name


def test_one_answered_call_makes_a_complete_row(centre: Centre) -> None:
    kernel = build_kernel(centre)
    kernel.handle(AgentLoggedIn("1001", "s01", T0))
    kernel.handle(AgentReady("1001", T0))
    drive = Drive(kernel, RandomPbx(T0), tuple(centre.config.queues))
    drive.feed(CallArrived("c1", "12345", "13800000001", T0 + 1))
    # Answer the IVR's questions with silence until the call is queued and rung.
    for step in range(12):
        if drive.pbx.rings:
            break
        call_id, how = next(iter(drive.pbx.listening.items()))
        event = PlaybackFinished(call_id, T0 + 2 + step) if how == "play" else NoInput(
            call_id, T0 + 2 + step)
        drive.feed(event)
    [(agent, call)] = list(drive.pbx.rings)
    drive.feed(SeatAnswered(agent, call, T0 + 20))
    drive.feed(CallEnded(call, T0 + 80))
    drive.feed(AgentReady(agent, T0 + 90))
    drive.feed(CallerHungUp(call, T0 + 91))  # a late report after the end: stale
    [row] = cdr_rows(kernel.take_facts() + drive.records)
    assert (row.call_id, row.line, row.caller, row.agent, row.seat) == (
        "c1", "12345", "13800000001", "1001", "s01")
    assert row.outcome == "answered" and row.queue_result == "answered"
    assert row.talk_s == 60.0 and row.wrap_s == 10.0
    assert row.mode_at_arrival == row.mode_at_answer == "normal"
    assert row.ivr_path and row.rings[-1].result == "answered"
    out = io.StringIO()
    assert write_csv([row], out) == 1
    parsed = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert set(REQUIRED) <= set(COLUMNS) == set(parsed[0])
    assert parsed[0]["ended_at"].startswith("2026-03-10T")


def test_a_withheld_caller_stays_withheld(centre: Centre) -> None:
    kernel = build_kernel(centre)
    kernel.handle(CallArrived("c1", "12345", "", T0))
    kernel.handle(CallerHungUp("c1", T0 + 3))
    [row] = cdr_rows(kernel.take_facts())
    assert row.caller == "" and row.outcome == "abandoned-in-ivr"
