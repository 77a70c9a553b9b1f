"""Start-up from the store: the kernel's live state rebuilt from the fact log.

    restored = await restore_centre(centre, engine)
    runtime = restored.runtime_on(clock, stats=stats)   # numbering goes on after the log
    ...
    restored.arm_timers(runtime)                        # once the clock can run them

The log's events are replayed into a fresh kernel (`hotline.centre.restore.replay`, in a
worker thread: the kernel is nobody else's yet), the live statistics and the CDR
projection are fed the whole log, the calls still live at the end of the log are listed
(drivers reconnect to them), and the timers the kernel still expects are re-armed on the
runtime's clock at their absolute due times (one already overdue fires at once).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from hotline.centre.kernel import CentreKernel
from hotline.centre.restore import PendingTimer, Replayed, replay
from hotline.composition import build_kernel
from hotline.config.loader import Centre
from hotline.projections.cdr import CdrBuilder
from hotline.projections.stats import LiveStats, StatsError
from hotline.runtime.centre_runtime import CentreRuntime
from hotline.runtime.clock import TimerClock
from hotline.runtime.factlog import FactLog
from hotline.store.factlog import load_records
from hotline.vocabulary.commands import StartTimer
from hotline.vocabulary.events import CallArrived
from hotline.vocabulary.facts import CallFinished

log = logging.getLogger("hotline.service.restore")

RUNTIME_LOG_SIZE = 200_000  # records the runtime keeps for subscribers catching up


class ContinuedFactLog(FactLog):
    """The runtime's fact log, numbered on from the store's last record.

    (A `FactLog` always starts at 1; this one starts at `first_seq` and holds nothing
    before it, so a reader asking for an older number gets `FellBehind`.)
    """

    __slots__ = ("_first",)

    def __init__(self, capacity: int, first_seq: int) -> None:
        super().__init__(capacity)
        if first_seq < 1:
            raise ValueError("sequence numbers start at 1")
        self._first = first_seq
        self._next = first_seq

    @property
    def oldest_seq(self) -> int:
        return max(self._first, self._next - self._capacity)


@dataclass(frozen=True, slots=True)
class Restored:
    """The centre as the store left it."""

    kernel: CentreKernel
    replayed: Replayed
    last_seq: int  # the store's last record (0: an empty log)
    records: int  # records read
    live_calls: tuple[str, ...]  # calls not finished at the end of the log, by arrival
    stats: LiveStats
    cdr: CdrBuilder
    recent_calls: tuple[str, ...]  # calls that arrived in the log's last day (CDR upkeep)

    @property
    def last_at(self) -> float | None:
        return self.replayed.last_at

    def runtime_on(self, clock: TimerClock, *, queues: Sequence[str] = (),
                   log_size: int = RUNTIME_LOG_SIZE) -> CentreRuntime:
        """A runtime on the restored kernel whose records are numbered after the store's."""
        runtime = CentreRuntime(self.kernel, clock, queues=queues, stats=self.stats,
                                log_size=log_size)
        runtime.log = ContinuedFactLog(log_size, self.last_seq + 1)
        return runtime

    def arm_timers(self, runtime: CentreRuntime) -> int:
        """Start the kernel's pending timers on the runtime's clock; returns how many."""
        return arm_timers(runtime, self.replayed.timers)


def arm_timers(runtime: CentreRuntime, timers: Sequence[PendingTimer]) -> int:
    now = runtime.clock.now()
    for timer in timers:
        # The runtime's own timer table, so the kernel can cancel or restart them and a
        # stale expiry is dropped as for any other timer.
        runtime._start_timer(StartTimer(timer.owner, timer.name, max(0.0, timer.due - now)))
    return len(timers)


async def restore_centre(
    centre: Centre, engine: AsyncEngine, *,
    kernel_factory: Callable[[Centre], CentreKernel] | None = None,
) -> Restored:
    """Read the whole fact log and rebuild the centre from it."""
    pairs = await load_records(engine)
    kernel = (kernel_factory or _default_kernel)(centre)
    records = [record for _, record in pairs]
    last = pairs[-1][0] if pairs else 0
    result = await asyncio.to_thread(_rebuild, kernel, records, centre)
    replayed, stats, cdr, live, recent = result
    if pairs:
        log.info("restored %d events of %d records (last seq %d); %d live call(s), "
                 "%d timer(s) pending", replayed.events, len(pairs), last, len(live),
                 len(replayed.timers))
    return Restored(kernel, replayed, last, len(pairs), live, stats, cdr, recent)


def _default_kernel(centre: Centre) -> CentreKernel:
    return build_kernel(centre)


def _rebuild(
    kernel: CentreKernel, records: list[Any], centre: Centre
) -> tuple[Replayed, LiveStats, CdrBuilder, tuple[str, ...], tuple[str, ...]]:
    replayed = replay(kernel, records)
    stats = LiveStats(timezone=ZoneInfo(centre.config.centre.timezone))
    cdr = CdrBuilder()
    live: dict[str, None] = {}
    arrivals: list[tuple[float, str]] = []
    refused = 0
    for record in records:
        try:
            stats.apply(record)
        except StatsError:
            refused += 1
        cdr.feed(record)
        kind = type(record)
        if kind is CallArrived:
            live[record.call_id] = None
            arrivals.append((record.at, record.call_id))
        elif kind is CallFinished:
            live.pop(record.call_id, None)
    if refused:
        log.warning("live statistics refused %d restored record(s)", refused)
    # Only calls the kernel still holds are live (an arrival it refused never was).
    still = tuple(call for call in live if kernel.stage(call) is not None)
    horizon = (replayed.last_at or 0.0) - 86400.0
    recent = tuple(call for at, call in arrivals if at >= horizon)
    return replayed, stats, cdr, still, recent
