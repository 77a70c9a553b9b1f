"""The centre runtime on a real asyncio loop: latency, timer lateness, throughput.

A small fake PBX driver keeps 500 calls going at once through the sample centre's real
flows, queues and seats: it answers each prompt after a short "playing" time, presses the
menu keys, lets agents answer rings and talk briefly, and hangs up. Timers (the IVR's and
the ACD's) run on the real clock.

Prints `name: value` lines:
  runtime_event_to_command_p99_ms  from taking an event off the inbox to its commands
      reaching the driver (target < 1)
  timer_lateness_p99_ms            how late timers fire against their due time (< 5)
  runtime_events_per_s             events through the runtime task (inbox, kernel, routing,
      fact log, live statistics, one subscriber)
  kernel_events_per_s              the bare kernel on the same event stream, replayed

Run: .venv/bin/python bench/runtime.py [--calls 500] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hotline.composition import build_kernel  # noqa: E402
from hotline.config.loader import load_centre  # noqa: E402
from hotline.projections.stats import LiveStats  # noqa: E402
from hotline.runtime import centre_runtime as runtime_module  # noqa: E402
from hotline.runtime.centre_runtime import CentreRuntime, DriverLink, RuntimeClosed  # noqa: E402
from hotline.runtime.clock import RealClock  # noqa: E402
from hotline.vocabulary import commands as c  # noqa: E402
from hotline.vocabulary import events as e  # noqa: E402


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0


class FakePbx:
    """Answers the kernel like a PBX with fast prompts, keys and agents."""

    def __init__(self, clock: RealClock, prompt_s: float, talk_s: float) -> None:
        self.clock = clock
        self.prompt_s = prompt_s
        self.talk_s = talk_s
        self.link: DriverLink | None = None
        self.rng = random.Random(7)
        self.received_at: list[float] = []  # perf_counter when each command arrived
        self.played: set[str] = set()
        self.ended = 0
        self.live: set[str] = set()

    def _later(self, delay: float, event_factory: Any) -> None:
        loop = asyncio.get_running_loop()
        link = self.link
        assert link is not None
        def fire() -> None:
            with contextlib.suppress(RuntimeClosed):  # the run ended before this event
                link.offer(event_factory())

        loop.call_later(delay, fire)

    def execute(self, command: c.Command) -> None:
        self.received_at.append(time.perf_counter())
        now = self.clock.now
        kind = type(command)
        if kind is c.Play:
            self.played.add(command.call_id)  # type: ignore[union-attr]
        elif kind in (c.CollectDigits, c.Recognize):
            call = command.call_id  # type: ignore[union-attr]
            self.played.discard(call)
            self._later(self.prompt_s, lambda: e.DigitsReceived(call, "0", now()))
        elif kind is c.RingSeat:
            ring: c.RingSeat = command  # type: ignore[assignment]
            self._later(0.05, lambda: e.SeatAnswered(ring.agent_id, ring.call_id, now()))
        elif kind is c.Bridge:
            bridge: c.Bridge = command  # type: ignore[assignment]
            talk = self.talk_s * (0.5 + self.rng.random())
            self._later(talk, lambda: self._ended(bridge.call_id))
        elif kind is c.Hangup:
            call = command.call_id  # type: ignore[union-attr]
            self.played.discard(call)
            self.live.discard(call)

    def _ended(self, call_id: str) -> e.CallEnded:
        self.live.discard(call_id)
        return e.CallEnded(call_id, self.clock.now())

    def flush(self) -> None:
        for call in self.played:
            self._later(self.prompt_s, lambda call=call: e.PlaybackFinished(call, self.clock.now()))
        self.played.clear()


def _instrument(runtime: CentreRuntime, taken: list[float], inputs: list[Any]) -> None:
    """Time each event from the moment the task takes it to its commands' delivery."""
    step = runtime.step

    def timed_step(event: Any, origin: Any = None) -> None:
        inputs.append(event)
        taken.append(time.perf_counter())
        step(event, origin)

    runtime.step = timed_step  # type: ignore[method-assign]


async def run(calls: int, seconds: float) -> dict[str, float]:
    centre = load_centre(ROOT / "config")
    clock = RealClock()
    kernel = build_kernel(centre)
    inputs: list[Any] = []
    runtime = CentreRuntime(kernel, clock, queues=centre.config.queues, stats=LiveStats())
    pbx = FakePbx(clock, prompt_s=0.2, talk_s=2.0)
    link = runtime.attach("pbx", pbx)
    pbx.link = link
    link.claim_endpoints(seat.endpoint for seat in centre.config.seats.values())
    subscription = runtime.subscribe(maxsize=10_000)
    lateness: list[float] = []
    original = runtime._timer_due

    handles: dict[tuple[str, str], float] = {}
    start_timer = runtime._start_timer

    def start(command: c.StartTimer) -> None:
        handles[(command.call_id, command.timer)] = time.perf_counter() + command.seconds
        start_timer(command)

    def due(key: tuple[str, str], token: int) -> None:
        expected = handles.get(key)
        if expected is not None:
            lateness.append(time.perf_counter() - expected)
        original(key, token)

    runtime._start_timer = start  # type: ignore[method-assign]
    runtime._timer_due = due  # type: ignore[method-assign]
    taken: list[float] = []
    latencies: list[float] = []

    async def drain_subscription() -> None:
        async for _ in subscription:
            pass

    reader = asyncio.create_task(drain_subscription())
    async with runtime:
        for agent, seat in zip(centre.config.agents, centre.config.seats, strict=False):
            await link.post(e.AgentLoggedIn(agent, seat, clock.now()))
            await link.post(e.AgentReady(agent, clock.now()))
        await runtime.drain()
        _instrument(runtime, taken, inputs)
        began = time.perf_counter()
        events_before = runtime.counters.events
        numbers = iter(range(1, 10**9))

        async def caller_source() -> None:
            while time.perf_counter() - began < seconds:
                for _ in range(max(0, calls - len(pbx.live))):
                    call_id = f"b{next(numbers)}"
                    pbx.live.add(call_id)
                    await link.post(e.CallArrived(call_id, "12345", "13800000000", clock.now()))
                await asyncio.sleep(0.05)

        async def timer_probe() -> None:
            # The runtime's own timers are few when agents answer at once: probe the same
            # clock path (`RealClock.call_later` on the loaded loop) every 10 ms as well.
            while time.perf_counter() - began < seconds:
                expected = time.perf_counter() + 0.01
                fired = asyncio.get_running_loop().create_future()
                clock.call_later(0.01, lambda f=fired, x=expected: (
                    lateness.append(time.perf_counter() - x), f.set_result(None)))
                await fired

        await asyncio.gather(caller_source(), timer_probe())
        wall = time.perf_counter() - began
        events = runtime.counters.events - events_before
    reader.cancel()
    await asyncio.gather(reader, return_exceptions=True)
    # Pair each taken event with the first command delivered after it (same step).
    received = pbx.received_at
    j = 0
    for i, t in enumerate(taken):
        end = taken[i + 1] if i + 1 < len(taken) else float("inf")
        while j < len(received) and received[j] < t:
            j += 1
        if j < len(received) and received[j] < end:
            latencies.append(received[j] - t)
    return {
        "runtime_event_to_command_p99_ms": _p99(latencies) * 1000,
        "timer_lateness_p99_ms": _p99(lateness) * 1000,
        "runtime_events_per_s": events / wall,
        "kernel_events_per_s": _bare_kernel(centre, inputs),
        "runtime_rejected_events": float(runtime.counters_view().rejected_total),
    }


def _bare_kernel(centre: Any, inputs: list[Any]) -> float:
    """The same events, replayed straight into a fresh kernel (no I/O, no timers)."""
    kernel = build_kernel(centre)
    began = time.perf_counter()
    for event in inputs:
        with contextlib.suppress(*runtime_module.REJECTIONS):
            kernel.handle(event)
        kernel.take_facts()
    return len(inputs) / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    figures = asyncio.run(run(args.calls, args.seconds))
    for name, value in figures.items():
        print(f"{name}: {value:.4g}")


if __name__ == "__main__":
    main()
