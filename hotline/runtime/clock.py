"""Clocks for the runtime: the time events carry, and timers that call back.

    clock = RealClock()             # time.time() for `at`, loop.call_at for timers
    clock = VirtualClock(start=t0)  # a heap of due callbacks, moved on by hand

Both satisfy `TimerClock`. On the virtual clock nothing waits: `advance` / `run_until`
run every due callback in order of due time, then insertion order, so a simulated day
(the simulator's citizens and agents, and the runtime's timers, all on one heap) is
deterministic and runs as fast as the code does.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from typing import Any, Protocol

Callback = Callable[[], None]


class TimerHandle(Protocol):
    """A scheduled callback that can still be called off."""

    def cancel(self) -> None: ...


class TimerClock(Protocol):
    """The runtime's clock port: epoch seconds for event times, and timers."""

    def now(self) -> float:
        """Seconds since the epoch (real or virtual): the `at` of events."""
        ...

    def call_later(self, delay: float, callback: Callback) -> TimerHandle:
        """Run `callback` once after `delay` seconds (never earlier)."""
        ...


class RealClock:
    """Wall time for `at`, the event loop's monotonic clock for timers.

    Timers use `loop.call_at` on the monotonic clock, so a wall-clock step (NTP) neither
    fires them early nor holds them back. Must be used from inside the running loop.
    """

    __slots__ = ()

    def now(self) -> float:
        return time.time()

    def call_later(self, delay: float, callback: Callback) -> TimerHandle:
        loop = asyncio.get_running_loop()
        return loop.call_at(loop.time() + max(0.0, delay), callback)


class VirtualTimer:
    """One entry of the virtual heap; `cancel` leaves it there to be skipped."""

    __slots__ = ("cancelled", "due")

    def __init__(self, due: float) -> None:
        self.due = due
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class VirtualClock:
    """Virtual time: a heap of (due, insertion, callback, argument), run in that order.

    `at(when, fn, arg)` is the fast path for a driver that recognises its own stale
    actions (the simulator): no handle object per entry. `call_later` gives a cancellable
    handle (the runtime's timers). Time never runs backwards: scheduling in the past
    raises, and `time` only moves forward.
    """

    __slots__ = ("_heap", "_seq", "time")

    def __init__(self, start: float = 0.0) -> None:
        self.time = start
        self._heap: list[tuple[float, int, Callable[[Any], None], Any]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self.time

    def at(self, when: float, action: Callable[[Any], None], arg: Any = None) -> None:
        """Run `action(arg)` at virtual time `when` (not before now)."""
        if when < self.time:
            raise ValueError(f"cannot schedule at {when}, before now ({self.time})")
        heapq.heappush(self._heap, (when, next(self._seq), action, arg))

    def call_later(self, delay: float, callback: Callback) -> VirtualTimer:
        due = self.time + max(0.0, delay)
        timer = VirtualTimer(due)
        heapq.heappush(self._heap, (due, next(self._seq), _fire, (timer, callback)))
        return timer

    def next_due(self) -> float | None:
        """When the next live entry falls due (None: nothing scheduled)."""
        heap = self._heap
        while heap and heap[0][2] is _fire and heap[0][3][0].cancelled:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def step(self, limit: float = float("inf")) -> bool:
        """Run the next entry if it is due by `limit`; False when there is none."""
        heap = self._heap
        if not heap or heap[0][0] > limit:
            return False
        when, _, action, arg = heapq.heappop(heap)
        if when > self.time:
            self.time = when
        action(arg)
        return True

    def run_until(self, when: float) -> None:
        """Run everything due up to `when` (including what those callbacks schedule),
        then set the time to `when`."""
        step = self.step
        while step(when):
            pass
        if when > self.time:
            self.time = when

    def advance(self, seconds: float) -> None:
        self.run_until(self.time + seconds)

    def pending(self) -> int:
        """Entries on the heap (cancelled timers included until they are skipped)."""
        return len(self._heap)


def _fire(arg: tuple[VirtualTimer, Callback]) -> None:
    timer, callback = arg
    if not timer.cancelled:
        timer.cancelled = True  # fired: a late cancel is a no-op
        callback()
