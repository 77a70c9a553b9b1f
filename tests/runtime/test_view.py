"""The runtime's view of the real sample centre, and live statistics fed from the log."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from hotline.composition import build_kernel
from hotline.config.loader import load_centre
from hotline.projections.stats import LiveStats
from hotline.runtime.centre_runtime import CentreRuntime
from hotline.runtime.clock import VirtualClock
from hotline.vocabulary.events import (
    AgentLoggedIn,
    CallArrived,
    DigitsReceived,
    NoInput,
    PlaybackFinished,
)
from hotline.vocabulary.states import SeatState

from .fakes import driver

CONFIG = Path(__file__).resolve().parents[2] / "config"
TZ = ZoneInfo("Asia/Shanghai")
T = datetime(2026, 3, 10, 10, 0, tzinfo=TZ).timestamp()  # a Tuesday morning


def test_the_view_shows_waiting_calls_and_seats_as_the_kernel_has_them() -> None:
    centre = load_centre(CONFIG)
    clock = VirtualClock(T)
    stats = LiveStats(timezone=TZ)
    runtime = CentreRuntime(
        build_kernel(centre), clock, queues=centre.config.queues, stats=stats
    )
    link = runtime.attach("pbx", driver("pbx"))
    link.step(AgentLoggedIn("1001", "s01", T))  # logged in, not ready yet
    link.step(CallArrived("c1", "12345", "13800000001", T))
    clock.advance(4)
    link.step(PlaybackFinished("c1", clock.now()))
    link.step(DigitsReceived("c1", "0", clock.now()))  # to the general queue
    clock.advance(20)
    view = runtime.view()
    general = view.centre.queue("general") if view.centre else None
    assert general is not None
    assert [(w.id, w.position) for w in general.waiting] == [("c1", 1)]
    assert general.waiting[0].waited_s >= 20
    seat = view.centre.seat("1001") if view.centre else None
    assert seat is not None and seat.seat_id == "s01" and seat.state is not SeatState.READY
    assert view.centre is not None and view.centre.mode == "normal"
    assert view.stats is not None
    assert view.counters.events == 4 and view.counters.rejected_total == 0


def test_live_statistics_ignore_record_types_they_do_not_know() -> None:
    stats = LiveStats(timezone=TZ)
    before = stats.snapshot(T + 1)
    stats.apply(CallArrived("c1", "12345", "138", T))  # type: ignore[arg-type]
    stats.apply(NoInput("c1", T))  # type: ignore[arg-type]
    assert stats.snapshot(T + 1) == before
