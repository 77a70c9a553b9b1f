"""The Asterisk bridge under load: 500 concurrent calls over ARI on loopback.

The ARI test server (`hotline.telephony.ari.fake_asterisk`) plays the PBX on 127.0.0.1
in a process of its own, so its HTTP and websocket work does not share the event loop
(or the interpreter) with what is measured; the real `AriClient`, `AriEventStream`,
`AriDriver`, `CentreRuntime` and the sample centre's kernel run here. Calls arrive at
`--rate` per second until 500 are live at once; each hears the greeting (answer + play),
presses 0 (barge-in, the flow queues it) and waits with music on hold (no agent is
logged in). Then all 500 hang up at once.

Prints `name: value` lines:
  ari_events_per_s              ARI events through driver, runtime and kernel per second
      while all 500 callers hang up at once (hang-up requests and Stasis ends, the
      kernel settling each call, the driver clearing it)
  ari_event_to_command_p99_ms   driver + runtime + kernel: from the driver decoding an
      event frame (StasisStart, a key) to the first REST request it causes on that
      channel, ready on the call's lane, in the paced phase with up to 500 calls live
      (target < 5)
  ari_event_to_command_p50_ms   the same, median
  ari_event_to_request_sent_p99_ms  the same up to the request leaving the driver
      (`AriClient.request` called); it also holds the wait for Asterisk's answer to the
      call's previous request (requests of one call go in order), i.e. the test
      server's and the machine's speed, not only ours
  ari_loop_lag_p99_ms           how late a 1 ms timer on the driver's event loop fires in
      the paced phase (the loop's own wait: a busy or CPU-starved process shows here,
      and every event-to-command path crosses the loop three times)

Run: .venv/bin/python bench/ari.py [--calls 500] [--rounds 2] [--rate 100]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import multiprocessing
import sys
import time
from collections.abc import Iterator, Mapping
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hotline.composition import build_kernel  # noqa: E402
from hotline.config.loader import load_centre  # noqa: E402
from hotline.runtime.centre_runtime import CentreRuntime  # noqa: E402
from hotline.runtime.clock import RealClock  # noqa: E402
from hotline.telephony.ari import AriClient, AriConfig, AriEventStream  # noqa: E402
from hotline.telephony.ari import stream as ari_stream  # noqa: E402
from hotline.telephony.ari.driver import AriDriver, AriDriverSettings  # noqa: E402
from hotline.telephony.ari.events import (  # noqa: E402
    AriEvent,
    ChannelDtmfReceived,
    StasisStart,
)
from hotline.telephony.ari.fake_asterisk import FakeAsterisk  # noqa: E402

log = logging.getLogger("bench.ari")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else 0.0


# --- the PBX, in its own process -------------------------------------------------------


def serve_fake(conn: Connection, playback_seconds: float) -> None:
    """The test server's process: start it, say where it listens, obey `conn`."""
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    asyncio.run(_serve_fake(conn, playback_seconds))


async def _serve_fake(conn: Connection, playback_seconds: float) -> None:
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()
    loop.add_reader(conn.fileno(), lambda: inbox.put_nowait(conn.recv()))
    async with FakeAsterisk(playback_seconds=playback_seconds) as fake:
        conn.send((fake.base_url, fake.app, fake.username, fake.password))
        channels: list[str] = []
        while True:
            order = await inbox.get()
            if order[0] == "arrive":
                _, ids, rate, key_after_s = order
                for channel_id in ids:
                    fake.caller_enters(channel_id.rsplit("-", 1)[-1].rjust(11, "0"),
                                       args=("12345",), channel_id=channel_id)
                    channels.append(channel_id)
                    # The key comes while the greeting plays (barge-in).
                    loop.call_later(key_after_s, fake.press, channel_id, "0")
                    await asyncio.sleep(1 / rate)
                conn.send(("arrived",))
            elif order[0] == "hang-up":
                for channel_id in channels:
                    if channel_id in fake.channels:
                        fake.hang_up(channel_id)
                channels.clear()
                conn.send(("hung-up",))
            elif order[0] == "stop":
                break
    loop.remove_reader(conn.fileno())


# --- the measured side ----------------------------------------------------------------


@dataclasses.dataclass
class Timeline:
    """Frames as the driver decodes them and requests as they leave it."""

    frames: list[tuple[str, float]] = dataclasses.field(default_factory=list)  # channel, t
    requests: dict[str, list[float]] = dataclasses.field(default_factory=dict)  # by channel
    queued: dict[str, list[float]] = dataclasses.field(default_factory=dict)  # by channel
    playback_channel: dict[str, str] = dataclasses.field(default_factory=dict)
    moh: set[str] = dataclasses.field(default_factory=set)
    measuring: bool = True

    def frame(self, event: AriEvent | None) -> None:
        if self.measuring and isinstance(event, StasisStart | ChannelDtmfReceived):
            self.frames.append((event.channel.id, time.perf_counter()))

    def request(self, method: str, path: str, params: Mapping[str, Any] | None) -> None:
        at = time.perf_counter()
        parts = path.strip("/").split("/")
        channel = ""
        if parts[0] == "channels" and len(parts) > 1:
            channel = parts[1]
            if len(parts) > 2 and parts[2] == "play" and params and params.get("playbackId"):
                self.playback_channel[str(params["playbackId"])] = channel
            if len(parts) > 2 and parts[2] == "moh" and method == "POST":
                self.moh.add(channel)
        elif parts[0] == "playbacks" and len(parts) > 1:
            # A barge-in stops the prompt: the playback's request counts for its channel.
            channel = self.playback_channel.get(parts[1], "")
        if channel and self.measuring:
            self.requests.setdefault(channel, []).append(at)

    def ready(self, channel: str) -> None:
        if self.measuring:
            self.queued.setdefault(channel, []).append(time.perf_counter())

    def latencies_ms(self, requests: Mapping[str, list[float]]) -> list[float]:
        out: list[float] = []
        for channel, received in self.frames:
            later = [t for t in requests.get(channel, ()) if t >= received]
            if later:
                out.append((min(later) - received) * 1000)
        return out


class TimedDriver(AriDriver):
    """The real driver, noting when a call's REST request is ready on its lane."""

    timeline: Timeline

    def _queue(self, call: Any, op: Any) -> None:
        self.timeline.ready(call.channel_id)
        super()._queue(call, op)


class TimedClient(AriClient):
    """The real client, noting when each request leaves the driver."""

    def __init__(self, config: AriConfig, timeline: Timeline) -> None:
        super().__init__(config)
        self.timeline = timeline

    async def request(self, method: str, path: str, params: Any = None, **kwargs: Any) -> Any:
        self.timeline.request(method, path, params)
        return await super().request(method, path, params, **kwargs)


@contextlib.contextmanager
def timed_frames(timeline: Timeline) -> Iterator[None]:
    """Note each frame as the event stream decodes it (the driver has received it)."""
    decode = ari_stream.parse_frame

    def parse_frame(text: str | bytes) -> AriEvent | None:
        event = decode(text)
        timeline.frame(event)
        return event

    ari_stream.parse_frame = parse_frame
    try:
        yield
    finally:
        ari_stream.parse_frame = decode


async def until(condition: Any, runtime: CentreRuntime, limit_s: float = 60.0) -> None:
    deadline = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the bench stalled: {runtime.counters_view()}")
        await asyncio.sleep(0.01)
    await runtime.drain()


async def reply(conn: Connection) -> Any:
    """The PBX process's answer, without blocking the loop that is being measured."""
    loop = asyncio.get_running_loop()
    answered: asyncio.Future[Any] = loop.create_future()
    loop.add_reader(conn.fileno(), lambda: answered.done() or answered.set_result(conn.recv()))
    try:
        return await answered
    finally:
        loop.remove_reader(conn.fileno())


async def one_round(n: int, calls: int, rate: float) -> Measured:
    centre = load_centre(ROOT / "config")
    # The sample general queue holds 80 callers; the bench keeps all 500 on hold.
    queues = dict(centre.config.queues)
    queues["general"] = queues["general"].model_copy(update={"max_length": 10 * calls})
    centre = dataclasses.replace(
        centre, config=centre.config.model_copy(update={"queues": queues}))
    context = multiprocessing.get_context("spawn")
    conn, child_conn = context.Pipe()
    pbx = context.Process(target=serve_fake, args=(child_conn, 0.5), daemon=True)
    pbx.start()
    try:
        base_url, app, username, password = await reply(conn)
        timeline = Timeline()
        config = AriConfig(base_url=base_url, app=app, username=username, password=password,
                           ping_interval=5, ping_timeout=5)
        with timed_frames(timeline):
            return await measure(n, calls, rate, centre, config, timeline, conn)
    finally:
        conn.send(("stop",))
        pbx.join(10)
        if pbx.is_alive():
            pbx.kill()


Measured = tuple[int, float, list[float], list[float], list[float]]


async def probe_lag(lags: list[float]) -> None:
    """How late a 1 ms sleep wakes, again and again, until cancelled."""
    while True:
        asked = time.perf_counter()
        await asyncio.sleep(0.001)
        lags.append((time.perf_counter() - asked - 0.001) * 1000)


async def measure(n: int, calls: int, rate: float, centre: Any, config: AriConfig,
                  timeline: Timeline, conn: Connection) -> Measured:
    async with TimedClient(config, timeline) as client:
        clock = RealClock()
        runtime = CentreRuntime(build_kernel(centre), clock,
                                queues=tuple(centre.config.queues))
        driver = TimedDriver(client, AriDriverSettings(server="ast1"), clock=clock)
        driver.timeline = timeline
        link = runtime.attach("ari-ast1", driver)
        await runtime.start()
        stream = AriEventStream(config, client)
        stream.start()
        run = asyncio.create_task(driver.run(link, stream))
        while stream.connects == 0:
            await asyncio.sleep(0.01)
        ids = [f"bench{n}-{i:05d}" for i in range(calls)]
        lags: list[float] = []
        probe = asyncio.create_task(probe_lag(lags))
        conn.send(("arrive", ids, rate, 0.2))
        await reply(conn)
        await until(lambda: timeline.moh >= set(ids), runtime)
        await driver.idle()
        probe.cancel()
        measured = (timeline.latencies_ms(timeline.queued),
                    timeline.latencies_ms(timeline.requests), lags)
        timeline.measuring = False
        before = driver.stats.events
        started = time.perf_counter()
        conn.send(("hang-up",))
        await until(lambda: driver.live_calls == 0, runtime)
        elapsed = time.perf_counter() - started
        events = driver.stats.events - before
        await reply(conn)
        run.cancel()
        await asyncio.gather(run, return_exceptions=True)
        await stream.aclose()
        await driver.aclose()
        await runtime.stop()
        return events, elapsed, *measured


async def main(calls: int, rounds: int, rate: float) -> None:
    logging.basicConfig(level=logging.ERROR)
    log.setLevel(logging.INFO)
    total_events = 0
    total_s = 0.0
    samples: list[float] = []
    sent: list[float] = []
    lag: list[float] = []
    for n in range(rounds):
        events, elapsed, lat, lat_sent, lags = await one_round(n, calls, rate)
        log.info("round: %d events in %.2f s, %d samples, p50 %.2f ms, p99 %.2f ms "
                 "(sent: p99 %.2f ms)", events, elapsed, len(lat), _percentile(lat, 0.5),
                 _percentile(lat, 0.99), _percentile(lat_sent, 0.99))
        total_events += events
        total_s += elapsed
        samples.extend(lat)
        sent.extend(lat_sent)
        lag.extend(lags)
    print(f"ari_events_per_s: {total_events / total_s:.0f}")
    print(f"ari_event_to_command_p99_ms: {_percentile(samples, 0.99):.2f}")
    print(f"ari_event_to_command_p50_ms: {_percentile(samples, 0.5):.2f}")
    print(f"ari_event_to_request_sent_p99_ms: {_percentile(sent, 0.99):.2f}")
    print(f"ari_loop_lag_p99_ms: {_percentile(lag, 0.99):.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--rate", type=float, default=100.0, help="arrivals and keys per s")
    args = parser.parse_args()
    asyncio.run(main(args.calls, args.rounds, args.rate))
