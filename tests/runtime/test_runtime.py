"""The centre runtime: one writer, rejections, timers, routing, fan-out, view, stop."""

from __future__ import annotations

import asyncio

import pytest

from hotline.runtime.centre_runtime import CentreRuntime, RuntimeClosed
from hotline.runtime.clock import RealClock, VirtualClock
from hotline.runtime.factlog import FellBehind
from hotline.vocabulary.commands import (
    Bridge,
    CancelTimer,
    Command,
    DialCitizen,
    Hangup,
    HoldWithMusic,
    NotifyReserve,
    Play,
    RingSeat,
    StartTimer,
    StopRinging,
)
from hotline.vocabulary.events import (
    CallArrived,
    CallerHungUp,
    DigitsReceived,
    Event,
    NoInput,
    TimerFired,
)

from .fakes import FakeKernel, RecordingNotifier, driver

T = 1_773_100_000.0


def arrived(call_id: str, at: float = T) -> CallArrived:
    return CallArrived(call_id, "12345", "13800000000", at)


def no_leaked_tasks() -> None:
    assert asyncio.all_tasks() == {asyncio.current_task()}


# --- one writer, in order ---------------------------------------------------------------


async def test_events_from_several_drivers_are_handled_one_at_a_time_in_posting_order(
) -> None:
    kernel = FakeKernel()
    runtime = CentreRuntime(kernel, VirtualClock(T), inbox_size=8)
    a, b = runtime.attach("a", driver("a")), runtime.attach("b", driver("b"))

    async def send(link: object, prefix: str) -> None:
        for i in range(50):
            await link.post(DigitsReceived(f"{prefix}{i}", "1", T))  # type: ignore[attr-defined]

    async with runtime:
        await asyncio.gather(send(a, "a"), send(b, "b"))  # the bound makes them wait
        await runtime.drain()
    ids = [e.call_id for e in kernel.seen if isinstance(e, DigitsReceived)]
    assert sorted(ids) == sorted([f"a{i}" for i in range(50)] + [f"b{i}" for i in range(50)])
    assert [i for i in ids if i.startswith("a")] == [f"a{i}" for i in range(50)]
    assert [i for i in ids if i.startswith("b")] == [f"b{i}" for i in range(50)]
    assert runtime.log.next_seq == 101  # every accepted event numbered, no gaps
    assert [runtime.log.get(s).call_id for s in range(1, 101)] == ids
    no_leaked_tasks()


async def test_a_rejected_event_is_counted_by_type_and_the_task_carries_on() -> None:
    kernel = FakeKernel()
    runtime = CentreRuntime(kernel, VirtualClock(T))
    link = runtime.attach("pbx", driver("pbx"))
    async with runtime:
        await link.post(NoInput("bad", T))
        await link.post(CallerHungUp("bad", T))
        await link.post(NoInput("good", T))
        await runtime.drain()
        assert runtime.running
    counters = runtime.counters_view()
    assert counters.rejected == (("CallerHungUp", 1), ("NoInput", 1))
    assert counters.events == 3 and counters.records == 1
    assert [e.call_id for e in kernel.seen] == ["good"]  # type: ignore[union-attr]


async def test_a_full_inbox_refuses_a_non_blocking_post_and_counts_it() -> None:
    runtime = CentreRuntime(FakeKernel(), VirtualClock(T), inbox_size=2)
    link = runtime.attach("pbx", driver("pbx"))
    assert link.offer(NoInput("c1", T)) and link.offer(NoInput("c2", T))
    assert not link.offer(NoInput("c3", T))
    assert runtime.counters_view().inbox_full == 1
    async with runtime:
        await runtime.drain()
    assert runtime.counters.events == 2


# --- timers ---------------------------------------------------------------------------


def timer_script(event: Event) -> list[Command]:
    if isinstance(event, CallArrived):
        return [StartTimer(event.call_id, "guard", 30.0)]
    if isinstance(event, DigitsReceived) and event.digits == "restart":
        return [StartTimer(event.call_id, "guard", 10.0)]
    if isinstance(event, DigitsReceived) and event.digits == "cancel":
        return [CancelTimer(event.call_id, "guard")]
    return []


def test_timers_fire_in_virtual_time_restart_and_cancel() -> None:
    clock = VirtualClock(T)
    kernel = FakeKernel(timer_script)
    runtime = CentreRuntime(kernel, clock)
    link = runtime.attach("sim", driver("sim"))
    link.step(arrived("c1"))
    link.step(arrived("c2"))
    link.step(arrived("c3"))
    clock.advance(5)
    link.step(DigitsReceived("c2", "restart", clock.now()))  # now due at T + 15
    link.step(DigitsReceived("c3", "cancel", clock.now()))
    clock.advance(9.9)
    assert not [e for e in kernel.seen if isinstance(e, TimerFired)]
    clock.run_until(T + 60)
    fired = [e for e in kernel.seen if isinstance(e, TimerFired)]
    assert [(e.call_id, e.at) for e in fired] == [("c2", T + 15), ("c1", T + 30)]
    assert runtime.pending_timers == 0


async def test_an_expiry_waiting_in_the_inbox_is_stale_once_its_timer_is_cancelled() -> None:
    clock = VirtualClock(T)
    kernel = FakeKernel(timer_script)
    runtime = CentreRuntime(kernel, clock)
    link = runtime.attach("pbx", driver("pbx"))
    async with runtime:
        await link.post(arrived("c1"))
        await runtime.drain()
        link.offer(DigitsReceived("c1", "cancel", T + 30))  # queued first ...
        clock.advance(30)  # ... the expiry queues behind it
        await runtime.drain()
    assert not [e for e in kernel.seen if isinstance(e, TimerFired)]
    assert runtime.counters_view().stale_timers == 1


async def test_timers_fire_on_the_real_clock() -> None:
    fired = asyncio.Event()

    def script(event: Event) -> list[Command]:
        if isinstance(event, CallArrived):
            return [StartTimer(event.call_id, "t", 0.001), StartTimer(event.call_id, "u", 60)]
        if isinstance(event, TimerFired):
            fired.set()
        return []

    kernel = FakeKernel(script)
    runtime = CentreRuntime(kernel, RealClock())
    link = runtime.attach("pbx", driver("pbx"))
    async with runtime:
        await link.post(arrived("c1", at=RealClock().now()))
        await asyncio.wait_for(fired.wait(), timeout=30)
        assert runtime.pending_timers == 1
    assert runtime.pending_timers == 0  # the long one was cancelled by the stop
    timers = [e for e in kernel.seen if isinstance(e, TimerFired)]
    assert [(e.call_id, e.timer) for e in timers] == [("c1", "t")]
    no_leaked_tasks()


# --- routing ------------------------------------------------------------------------------


def routing_script(event: Event) -> list[Command]:
    if not isinstance(event, DigitsReceived):
        return []
    call = event.call_id
    return {
        "play": [Play(call, ())],
        "ring": [RingSeat(call, "1001", "PJSIP/8001", 15)],
        "ring-other": [RingSeat(call, "1002", "PJSIP/9999", 15)],
        "stop": [StopRinging(call, "1001", "PJSIP/8001")],
        "bridge": [Bridge(call, "1001", "PJSIP/8001")],
        "dial": [DialCitizen(f"{call}.cb", "138", "1001", "PJSIP/8001", 30, 1)],
        "hold-cb": [HoldWithMusic(f"{call}.cb", "general")],
        "reserve": [NotifyReserve(("2001",), "emergency", "surge")],
        "nobody": [Hangup("unknown-call")],
    }[event.digits]


def test_commands_go_to_the_call_owner_the_endpoint_driver_or_the_dialler() -> None:
    kernel = FakeKernel(routing_script)
    runtime = CentreRuntime(kernel, VirtualClock(T))
    ari, softphones = driver("ari"), driver("phones")
    ari_link = runtime.attach("ari", ari)
    phones = runtime.attach("phones", softphones)
    phones.claim_endpoint("PJSIP/8001")
    ari_link.step(arrived("c1"))
    for digits in ("play", "ring", "ring-other", "stop", "bridge", "dial", "hold-cb"):
        ari_link.step(DigitsReceived("c1", digits, T))
    # No dialler configured: callbacks go to the owner of the call they came from.
    assert [type(c).__name__ for c in ari.commands] == [
        "Play", "RingSeat", "DialCitizen", "HoldWithMusic",
    ]
    assert [type(c).__name__ for c in softphones.commands] == ["RingSeat", "StopRinging", "Bridge"]
    dialler = driver("dialler")
    runtime.attach("dialler", dialler, dialler=True)
    ari_link.step(DigitsReceived("c1", "dial", T))
    assert [type(c).__name__ for c in dialler.commands] == ["DialCitizen"]
    assert ari.flushes == 4  # once per event that gave it commands


def test_unowned_commands_and_notices_are_counted_not_raised() -> None:
    kernel = FakeKernel(routing_script)
    runtime = CentreRuntime(kernel, VirtualClock(T))
    link = runtime.attach("ari", driver("ari"))
    link.step(arrived("c1"))
    link.step(DigitsReceived("c1", "nobody", T))
    link.step(DigitsReceived("c1", "reserve", T))
    assert runtime.counters_view().unrouted == (("Hangup", 1), ("NotifyReserve", 1))
    notifier = RecordingNotifier([])
    runtime.add_notifier(notifier)
    link.step(DigitsReceived("c1", "reserve", T))
    assert notifier.notified == [NotifyReserve(("2001",), "emergency", "surge")]


def test_a_released_call_is_no_longer_routed_to_its_driver() -> None:
    kernel = FakeKernel(routing_script)
    runtime = CentreRuntime(kernel, VirtualClock(T))
    ari = driver("ari")
    link = runtime.attach("ari", ari)
    link.step(arrived("c1"))
    link.release("c1")
    link.step(DigitsReceived("c1", "play", T))
    assert ari.commands == []
    assert runtime.counters_view().unrouted == (("Play", 1),)


def test_a_failing_driver_is_counted_and_the_other_commands_still_run() -> None:
    class Broken:
        def execute(self, command: Command) -> None:
            raise OSError("socket closed")

        def flush(self) -> None:
            return None

    kernel = FakeKernel(routing_script)
    runtime = CentreRuntime(kernel, VirtualClock(T))
    link = runtime.attach("broken", Broken())
    phones = driver("phones")
    runtime.attach("phones", phones).claim_endpoint("PJSIP/8001")
    link.step(arrived("c1"))
    link.step(DigitsReceived("c1", "play", T))
    link.step(DigitsReceived("c1", "ring", T))
    assert runtime.counters_view().driver_errors == 1
    assert len(phones.commands) == 1


# --- subscribers ------------------------------------------------------------------------


async def test_a_slow_subscriber_lags_then_catches_up_from_the_log_without_loss() -> None:
    kernel = FakeKernel()
    runtime = CentreRuntime(kernel, VirtualClock(T), log_size=1000)
    link = runtime.attach("sim", driver("sim"))
    slow = runtime.subscribe(maxsize=3)
    fast = runtime.subscribe(maxsize=1000)
    for i in range(200):  # the writer never waits for either of them
        link.step(NoInput(f"c{i}", T))
    assert slow.lagging and not fast.lagging
    assert runtime.counters_view().lagging_subscribers == 1
    got = []
    async for seq, record in slow:
        got.append((seq, record.call_id))
        if seq == 150:
            link.step(NoInput("late", T))  # live again once caught up
        if seq == 201:
            break
    assert [s for s, _ in got] == list(range(1, 202))
    assert got[-1] == (201, "late")
    link.step(NoInput("live", T))
    assert await slow.__anext__() == (202, kernel.seen[-1])
    reader = asyncio.ensure_future(slow.__anext__())
    await asyncio.sleep(0)
    assert not slow.lagging  # caught up: waits for live delivery again
    link.step(NoInput("live", T))
    assert (await reader)[0] == 203
    await runtime.stop()
    assert [seq async for seq, _ in fast] == list(range(1, 204))


async def test_a_subscriber_that_fell_off_the_end_of_the_log_is_told_so() -> None:
    runtime = CentreRuntime(FakeKernel(), VirtualClock(T), log_size=10)
    link = runtime.attach("sim", driver("sim"))
    slow = runtime.subscribe(maxsize=2)
    for i in range(30):
        link.step(NoInput(f"c{i}", T))
    with pytest.raises(FellBehind) as caught:
        async for _ in slow:
            pass
    assert caught.value.wanted == 1 and caught.value.oldest == 21


async def test_a_subscriber_can_start_from_an_older_sequence_number() -> None:
    runtime = CentreRuntime(FakeKernel(), VirtualClock(T))
    link = runtime.attach("sim", driver("sim"))
    for i in range(5):
        link.step(NoInput(f"c{i}", T))
    late = runtime.subscribe(from_seq=3)
    await runtime.stop()
    assert [(s, r.call_id) async for s, r in late] == [(3, "c2"), (4, "c3"), (5, "c4")]


# --- stop -------------------------------------------------------------------------------


async def test_stop_drains_the_inbox_cancels_timers_and_ends_subscriptions() -> None:
    clock = VirtualClock(T)
    kernel = FakeKernel(timer_script)
    runtime = CentreRuntime(kernel, clock)
    link = runtime.attach("pbx", driver("pbx"))
    subscription = runtime.subscribe()
    await runtime.start()
    for i in range(20):
        link.offer(arrived(f"c{i}"))
    await runtime.stop()
    assert len(kernel.seen) == 20  # everything posted before the stop was handled
    assert runtime.pending_timers == 0
    clock.advance(60)
    assert not [e for e in kernel.seen if isinstance(e, TimerFired)]
    assert len([seq async for seq, _ in subscription]) == 20
    with pytest.raises(RuntimeClosed):
        await link.post(arrived("late"))
    assert not runtime.running
    no_leaked_tasks()


def test_step_refuses_to_be_re_entered_from_a_driver() -> None:
    class Reentrant:
        def __init__(self) -> None:
            self.errors: list[Exception] = []

        def execute(self, command: Command) -> None:
            try:
                runtime.step(NoInput("again", T))
            except RuntimeError as exc:
                self.errors.append(exc)

        def flush(self) -> None:
            return None

    runtime = CentreRuntime(FakeKernel(routing_script), VirtualClock(T))
    reentrant = Reentrant()
    link = runtime.attach("x", reentrant)
    link.step(arrived("c1"))
    link.step(DigitsReceived("c1", "play", T))
    assert len(reentrant.errors) == 1
