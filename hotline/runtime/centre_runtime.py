"""The centre runtime: the one writer that owns the kernel, and what plugs into it.

    runtime = CentreRuntime(kernel, RealClock(), queues=config.queues)
    ari = runtime.attach("ari-1", ari_driver)        # a driver; claims the calls it posts
    ari.claim_endpoint("PJSIP/8001")
    async with runtime:                               # start ... graceful stop
        await ari.post(CallArrived(...))
        async for seq, record in runtime.subscribe(): ...

For every event, in arrival order and on one task: `kernel.handle(event)`; an event the
kernel refuses (`KernelError`, `AcdError` and its `SeatError`, the IVR's `IllegalEvent`)
changed nothing, so it is counted per type, logged, and the runtime carries on. The
commands are executed: `StartTimer` / `CancelTimer` here, on the runtime's clock (their
expiry comes back as `TimerFired` through the inbox; one cancelled or restarted while
its expiry was waiting in the inbox is dropped as *stale*); everything else by the driver
that owns the call, seat or dial (`hotline.runtime.routing`). Then the kernel's records
(the accepted event and the facts it led to) are numbered into the fact log, applied to
the live statistics and to in-process listeners, and fanned out to subscribers.

`step(event)` is that whole cycle, synchronous. The asyncio task wraps it; a driver on
the `VirtualClock` with no task running (the simulator) calls `step` itself, so a
simulated day pays no asyncio cost per event, and the runtime's timers run on the same
virtual heap as the simulator's own actions.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

from hotline.agents.seats import SeatView
from hotline.centre.kernel import CentreKernel
from hotline.centre.view import CentreView, centre_view
from hotline.ivr.engine import IllegalEvent
from hotline.projections.stats import LiveStats, StatsError, StatsSnapshot
from hotline.runtime.clock import TimerClock, TimerHandle
from hotline.runtime.factlog import FactLog
from hotline.runtime.inbox import Inbox
from hotline.runtime.routing import Driver, Notifier, Router
from hotline.runtime.subscriptions import Subscription
from hotline.vocabulary.commands import CancelTimer, Command, NotifyReserve, StartTimer
from hotline.vocabulary.errors import AcdError, KernelError
from hotline.vocabulary.events import CallArrived, Event, TimerFired

log = logging.getLogger("hotline.runtime")

_SLICE_S = 0.002  # the longest the runtime task holds the loop while a backlog drains

REJECTIONS = (KernelError, AcdError, IllegalEvent)
"""What the kernel raises, before changing anything, for an event it cannot take."""


class RuntimeKernel(Protocol):
    """What the runtime needs of a kernel (`CentreKernel`, or a fake in tests)."""

    def handle(self, event: Event) -> list[Command]: ...

    def take_facts(self) -> Sequence[Any]: ...


class RuntimeClosed(RuntimeError):
    """The runtime was stopped; it takes no more events."""


Listener = Callable[[int, Any], None]


@dataclass(slots=True)
class RuntimeCounters:
    events: int = 0  # events handed to the kernel (accepted or not)
    rejected: Counter[str] = field(default_factory=Counter)  # by event type
    stale_timers: int = 0  # expiries dropped: cancelled or restarted after firing
    unrouted: Counter[str] = field(default_factory=Counter)  # by command type
    driver_errors: int = 0  # a driver's execute/flush raised
    failures: int = 0  # anything else that went wrong processing one event
    records: int = 0  # events and facts appended to the log
    lagged: int = 0  # times a subscriber fell into lagging
    inbox_full: int = 0  # non-blocking posts refused
    stats_errors: int = 0  # records the live statistics refused (out of time order)


@dataclass(frozen=True, slots=True)
class CountersView:
    events: int
    rejected: tuple[tuple[str, int], ...]
    stale_timers: int
    unrouted: tuple[tuple[str, int], ...]
    driver_errors: int
    failures: int
    records: int
    lagged: int
    lagging_subscribers: int
    inbox_full: int
    inbox_depth: int
    stats_errors: int
    timers: int
    owned_calls: int

    @property
    def rejected_total(self) -> int:
        return sum(n for _, n in self.rejected)


@dataclass(frozen=True, slots=True)
class RuntimeView:
    """What the wallboard and the API read: the centre, live statistics, counters."""

    at: float
    centre: CentreView | None  # None when the kernel is not a `CentreKernel`
    stats: StatsSnapshot | None
    counters: CountersView


@dataclass(frozen=True, slots=True)
class _DueTimer:
    """A timer's expiry on its way through the inbox, with the start it belongs to."""

    event: TimerFired
    token: int


class DriverLink:
    """A registered driver's handle on the runtime: post events, claim what it serves."""

    __slots__ = ("_runtime", "driver", "name")

    def __init__(self, runtime: CentreRuntime, name: str, driver: Driver) -> None:
        self._runtime = runtime
        self.name = name
        self.driver = driver

    async def post(self, event: Event) -> None:
        """Queue an event (waits while the inbox is full). `CallArrived` claims the call."""
        await self._runtime.post(event, origin=self.driver)

    def offer(self, event: Event) -> bool:
        """Queue an event if there is room; False (and counted) when the inbox is full."""
        return self._runtime.offer(event, origin=self.driver)

    def step(self, event: Event) -> None:
        """Process an event now (virtual time, no task running)."""
        self._runtime.step(event, self.driver)

    def claim_endpoint(self, endpoint: str) -> None:
        self._runtime.router.claim_endpoint(self.name, endpoint)

    def claim_endpoints(self, endpoints: Iterable[str]) -> None:
        for endpoint in endpoints:
            self._runtime.router.claim_endpoint(self.name, endpoint)

    def claim_call(self, call_id: str) -> None:
        """This driver now carries the call (a call handed over from another driver):
        its commands are routed here from now on."""
        self._runtime.router.claim_call(self.name, call_id)

    def release(self, call_id: str) -> None:
        """The call's channel is gone: forget that this driver owns it."""
        self._runtime.router.release_call(call_id)


class CentreRuntime:
    """One kernel, one writer. See the module docstring."""

    def __init__(
        self,
        kernel: RuntimeKernel,
        clock: TimerClock,
        *,
        queues: Iterable[str] = (),
        stats: LiveStats | None = None,
        inbox_size: int = 10_000,
        log_size: int = 100_000,
        subscriber_queue: int = 1_000,
    ) -> None:
        self.kernel = kernel
        self.clock = clock
        self.router = Router()
        self.log = FactLog(log_size)
        self.stats = stats
        self.counters = RuntimeCounters()
        self._queues = tuple(queues)
        self._inbox = Inbox(inbox_size)
        self._subscriber_queue = subscriber_queue
        self._subscriptions: list[Subscription] = []
        self._listeners: list[Listener] = []
        self._timers: dict[tuple[str, str], tuple[int, TimerHandle]] = {}
        self._timer_tokens = itertools.count(1)
        self._stepping = False
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._closed = False
        self._busy = False
        self._drained: list[asyncio.Future[None]] = []

    # --- plugging in ------------------------------------------------------------------

    def attach(self, name: str, driver: Driver, *, dialler: bool = False) -> DriverLink:
        """Register a driver; `dialler`: it places the callback dials (`DialCitizen`)."""
        self.router.register(name, driver, dialler=dialler)
        return DriverLink(self, name, driver)

    def detach(self, name: str) -> None:
        self.router.unregister(name)

    def add_notifier(self, notifier: Notifier) -> None:
        self.router.notifiers.append(notifier)

    def listen(self, listener: Listener) -> None:
        """Call `listener(seq, record)` for every record, in the writer, synchronously.

        For in-process projections that are fast and never block; anything else
        subscribes.
        """
        self._listeners.append(listener)

    def subscribe(self, *, maxsize: int | None = None, from_seq: int | None = None
                  ) -> Subscription:
        """A reader of the fact log from `from_seq` (default: the next record)."""
        start = self.log.next_seq if from_seq is None else from_seq
        subscription = Subscription(
            self.log, maxsize or self._subscriber_queue, start, self._subscriber_lagged
        )
        if self._closed:
            subscription.close()
        self._subscriptions.append(subscription)
        return subscription

    def _subscriber_lagged(self) -> None:
        self.counters.lagged += 1
        log.warning("a fact subscriber is too slow; it reads on from the fact log")

    # --- posting ------------------------------------------------------------------------

    async def post(self, event: Event, *, origin: Driver | None = None) -> None:
        if self._closed or self._stopping:
            raise RuntimeClosed("the centre runtime is stopped")
        await self._inbox.put((event, origin))

    def offer(self, event: Event, *, origin: Driver | None = None) -> bool:
        if self._closed or self._stopping:
            raise RuntimeClosed("the centre runtime is stopped")
        if self._inbox.try_put((event, origin)):
            return True
        self.counters.inbox_full += 1
        return False

    # --- the one writer ----------------------------------------------------------------

    def step(self, event: Event, origin: Driver | None = None) -> None:
        """Handle one event completely: kernel, commands, fact log, fan-out."""
        if self._stepping:
            raise RuntimeError("step() re-entered from a driver or listener: post instead")
        self._stepping = True
        try:
            self._process(event, origin)
        finally:
            self._stepping = False

    def _process(self, event: Event, origin: Driver | None) -> None:
        counters = self.counters
        counters.events += 1
        kernel = self.kernel
        try:
            commands = kernel.handle(event)
        except REJECTIONS as exc:
            counters.rejected[type(event).__name__] += 1
            log.warning("rejected %s: %s", type(event).__name__, exc)
            return
        if origin is not None and type(event) is CallArrived:
            self.router.claim_call_by(origin, event.call_id)
        if commands:
            self._execute(commands)
        records = kernel.take_facts()
        if records:
            self._publish(records)

    def _execute(self, commands: list[Command]) -> None:
        router = self.router
        batch: list[Driver] = []
        for command in commands:
            kind = type(command)
            if kind is StartTimer:
                self._start_timer(command)  # type: ignore[arg-type]
                continue
            if kind is CancelTimer:
                self._cancel_timer(command)  # type: ignore[arg-type]
                continue
            if kind is NotifyReserve:
                self._notify(command)  # type: ignore[arg-type]
                continue
            driver = router.driver_for(command)
            if driver is None:
                self.counters.unrouted[kind.__name__] += 1
                log.info("no driver owns %r", command)
                continue
            try:
                driver.execute(command)
            except Exception:
                self.counters.driver_errors += 1
                log.exception("driver failed to execute %r", command)
            if not batch or (batch[-1] is not driver and driver not in batch):
                batch.append(driver)
        for driver in batch:
            try:
                driver.flush()
            except Exception:
                self.counters.driver_errors += 1
                log.exception("driver failed to flush")

    def _notify(self, command: NotifyReserve) -> None:
        notifiers = self.router.notifiers
        if not notifiers:
            self.counters.unrouted[type(command).__name__] += 1
            log.warning("nobody to notify: %r", command)
        for notifier in notifiers:
            try:
                notifier.notify(command)
            except Exception:
                self.counters.driver_errors += 1
                log.exception("notifier failed on %r", command)

    def _publish(self, records: Sequence[Any]) -> None:
        append = self.log.append
        stats = self.stats
        listeners = self._listeners
        subscriptions = self._subscriptions
        for record in records:
            seq = append(record)
            if stats is not None:
                try:
                    stats.apply(record)
                except StatsError as exc:
                    self.counters.stats_errors += 1
                    log.warning("live statistics refused record %d: %s", seq, exc)
            for listener in listeners:
                listener(seq, record)
            for subscription in subscriptions:
                subscription.deliver(seq, record)
        self.counters.records += len(records)
        if subscriptions and any(s.closed for s in subscriptions):
            self._subscriptions = [s for s in subscriptions if not s.closed]

    # --- timers --------------------------------------------------------------------------

    def _start_timer(self, command: StartTimer) -> None:
        key = (command.call_id, command.timer)
        old = self._timers.get(key)
        if old is not None:
            old[1].cancel()  # a restart replaces the running timer
        token = next(self._timer_tokens)
        handle = self.clock.call_later(command.seconds, partial(self._timer_due, key, token))
        self._timers[key] = (token, handle)

    def _cancel_timer(self, command: CancelTimer) -> None:
        entry = self._timers.pop((command.call_id, command.timer), None)
        if entry is not None:
            entry[1].cancel()

    def _timer_due(self, key: tuple[str, str], token: int) -> None:
        due = _DueTimer(TimerFired(key[0], key[1], self.clock.now()), token)
        if self._task is None:
            self._fire(due)  # virtual time, no task: the clock's loop is the writer
        else:
            self._inbox.put_internal(due)

    def _fire(self, due: _DueTimer) -> None:
        event = due.event
        key = (event.call_id, event.timer)
        entry = self._timers.get(key)
        if entry is None or entry[0] != due.token:
            self.counters.stale_timers += 1
            return
        del self._timers[key]
        self.step(event)

    @property
    def pending_timers(self) -> int:
        return len(self._timers)

    # --- the task ------------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is not None or self._closed:
            raise RuntimeError("the runtime is already started or was stopped")
        self._task = asyncio.create_task(self._run(), name="hotline-centre-runtime")

    async def __aenter__(self) -> CentreRuntime:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def _run(self) -> None:
        inbox = self._inbox
        slice_began = time.perf_counter()
        while True:
            item = inbox.get_nowait()
            if item is None:
                self._busy = False
                self._wake_drained()
                if self._stopping:
                    return
                await inbox.wait()
                continue
            self._busy = True
            try:
                if type(item) is _DueTimer:
                    self._fire(item)
                else:
                    self.step(*item)
            except Exception:
                self.counters.failures += 1
                log.exception("failed to process %r", item)
            # A backlog is drained in slices of about 2 ms: between them the loop runs the
            # drivers' I/O and fires due timers, so neither waits behind a long queue.
            if time.perf_counter() - slice_began > _SLICE_S:
                await asyncio.sleep(0)
                slice_began = time.perf_counter()

    def _wake_drained(self) -> None:
        waiters, self._drained = self._drained, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def drain(self) -> None:
        """Return once every event posted so far (and what it caused) is processed."""
        if self._task is None:
            raise RuntimeError("the runtime task is not running")
        while len(self._inbox) or self._busy:
            waiter = asyncio.get_running_loop().create_future()
            self._drained.append(waiter)
            self._inbox.wake_reader()
            await waiter

    async def stop(self) -> None:
        """Graceful stop: take no more events, process those queued, cancel the timers,
        end every subscription (readers finish what they were given)."""
        if self._closed:
            return
        self._stopping = True
        task = self._task
        if task is not None:
            self._inbox.wake_reader()
            await task
            self._task = None
        for _, handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        self._closed = True
        for subscription in self._subscriptions:
            subscription.close()
        self._subscriptions = []

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    # --- reading -------------------------------------------------------------------------

    def counters_view(self) -> CountersView:
        c = self.counters
        return CountersView(
            c.events, tuple(sorted(c.rejected.items())), c.stale_timers,
            tuple(sorted(c.unrouted.items())), c.driver_errors, c.failures, c.records,
            c.lagged, sum(1 for s in self._subscriptions if s.lagging), c.inbox_full,
            len(self._inbox), c.stats_errors, len(self._timers), self.router.owned_calls,
        )

    def seat(self, agent_id: str) -> SeatView | None:
        """One agent's seat now, without building the whole view (an agent desk's check)."""
        kernel = self.kernel
        return kernel.seat(agent_id) if isinstance(kernel, CentreKernel) else None

    def view(self) -> RuntimeView:
        """A consistent picture (the writer is not mid-event while the loop runs this)."""
        now = self.clock.now()
        kernel = self.kernel
        centre = (
            centre_view(kernel, now, self._queues) if isinstance(kernel, CentreKernel) else None
        )
        stats = self.stats.snapshot(now) if self.stats is not None else None
        return RuntimeView(now, centre, stats, self.counters_view())
