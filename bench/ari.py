"""The Asterisk bridge under load: 500 concurrent calls over ARI on loopback.

The fake Asterisk (`hotline.telephony.ari.fake_asterisk`) plays the PBX on 127.0.0.1;
the real `AriClient`, `AriEventStream`, `AriDriver`, `CentreRuntime` and the sample
centre's kernel do the rest. Calls arrive at `--rate` per second until 500 are live at
once; each hears the greeting (answer + play), presses 0 (barge-in, the flow queues it)
and waits with music on hold (no agent is logged in). Then all 500 hang up at once.

Prints `name: value` lines:
  ari_events_per_s              ARI events through driver, runtime and kernel per second
      while all 500 callers hang up at once (hang-up requests and Stasis ends, the
      kernel settling each call, the driver clearing it)
  ari_event_to_command_p99_ms   from the fake sending an event frame (StasisStart, a key)
      to the first REST request it causes on that channel (target < 5), in the paced
      phase with up to 500 calls live

Run: .venv/bin/python bench/ari.py [--calls 500] [--rounds 2] [--rate 100]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hotline.composition import build_kernel  # noqa: E402
from hotline.config.loader import load_centre  # noqa: E402
from hotline.runtime.centre_runtime import CentreRuntime  # noqa: E402
from hotline.runtime.clock import RealClock  # noqa: E402
from hotline.telephony.ari import AriClient, AriConfig, AriEventStream  # noqa: E402
from hotline.telephony.ari.driver import AriDriver, AriDriverSettings  # noqa: E402
from hotline.telephony.ari.fake_asterisk import FakeAsterisk  # noqa: E402


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0


class TimedFake(FakeAsterisk):
    """The fake, noting when each frame is sent and each request arrives."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.frame_times: list[tuple[str, str, float]] = []  # (type, channel, t)
        self.request_times: list[tuple[str, float]] = []  # (path, t)
        self.paths: set[str] = set()
        self.playback_channel: dict[str, str] = {}

    def _emit(self, kind: str, **fields: Any) -> None:
        channel = fields.get("channel")
        if kind in ("StasisStart", "ChannelDtmfReceived") and isinstance(channel, dict):
            self.frame_times.append((kind, str(channel["id"]), time.perf_counter()))
        super()._emit(kind, **fields)

    def _http(self, method: str, target: str, headers: Any, raw: bytes) -> Any:
        path, _, query = target.partition("?")
        parts = path.split("/")
        if len(parts) > 4 and parts[2] == "playbacks":
            # A playback's requests count for its channel (a barge-in stops the prompt).
            path = f"/ari/channels/{self.playback_channel.get(parts[3], '')}/stop-playback"
        elif path.endswith("/play") and "playbackId=" in query:
            pid = query.split("playbackId=", 1)[1].split("&", 1)[0]
            self.playback_channel[pid] = parts[3]
        self.request_times.append((path, time.perf_counter()))
        self.paths.add(path)
        return super()._http(method, target, headers, raw)


def latencies(fake: TimedFake) -> list[float]:
    """Event frame sent → first request on that channel after it (ms)."""
    by_channel: dict[str, list[float]] = {}
    for path, at in fake.request_times:
        parts = path.split("/")
        if len(parts) > 4 and parts[2] == "channels":
            by_channel.setdefault(parts[3], []).append(at)
    out: list[float] = []
    for _kind, channel, sent in fake.frame_times:
        later = [t for t in by_channel.get(channel, ()) if t >= sent]
        if later:
            out.append((min(later) - sent) * 1000)
    return out


async def until(condition: Any, runtime: CentreRuntime, limit_s: float = 30.0) -> None:
    deadline = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the bench stalled: {runtime.counters_view()}")
        await asyncio.sleep(0.01)
    await runtime.drain()


async def one_round(calls: int, rate: float) -> tuple[int, float, list[float]]:
    centre = load_centre(ROOT / "config")
    # The sample general queue holds 80 callers; the bench keeps all 500 on hold.
    queues = dict(centre.config.queues)
    queues["general"] = queues["general"].model_copy(update={"max_length": 10 * calls})
    centre = dataclasses.replace(
        centre, config=centre.config.model_copy(update={"queues": queues}))
    async with TimedFake(playback_seconds=0.5) as fake:
        config = AriConfig(base_url=fake.base_url, app=fake.app, username=fake.username,
                           password=fake.password, ping_interval=5, ping_timeout=5)
        async with AriClient(config) as client:
            clock = RealClock()
            runtime = CentreRuntime(build_kernel(centre), clock,
                                    queues=tuple(centre.config.queues))
            driver = AriDriver(client, AriDriverSettings(server="ast1"), clock=clock)
            link = runtime.attach("ari-ast1", driver)
            await runtime.start()
            stream = AriEventStream(config, client)
            stream.start()
            run = asyncio.create_task(driver.run(link, stream))
            await fake.wait_for_websocket()
            channels: list[str] = []
            loop = asyncio.get_running_loop()
            for n in range(calls):
                channel = fake.caller_enters(f"1380000{n:04d}", args=("12345",))
                channels.append(channel)
                # The key comes while the greeting plays (barge-in; the menu waits 1 s).
                loop.call_later(0.2, fake.press, channel, "0")
                await asyncio.sleep(1 / rate)
            moh = {f"/ari/channels/{c}/moh" for c in channels}
            await until(lambda: moh <= fake.paths, runtime)
            await driver.idle()
            measured = latencies(fake)
            before = driver.stats.events
            started = time.perf_counter()
            for channel in channels:
                fake.hang_up(channel)
            await until(lambda: driver.live_calls == 0, runtime)
            elapsed = time.perf_counter() - started
            events = driver.stats.events - before
            run.cancel()
            await asyncio.gather(run, return_exceptions=True)
            await stream.aclose()
            await driver.aclose()
            await runtime.stop()
            return events, elapsed, measured


async def main(calls: int, rounds: int, rate: float) -> None:
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("bench.ari").setLevel(logging.INFO)
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)  # the fake's closing noise
    total_events = 0
    total_s = 0.0
    samples: list[float] = []
    for _ in range(rounds):
        events, elapsed, lat = await one_round(calls, rate)
        logging.getLogger("bench.ari").info(
            "round: %d events in %.2f s, p50 %.1f ms, p99 %.1f ms", events, elapsed,
            sorted(lat)[len(lat) // 2] if lat else 0.0, _p99(lat))
        total_events += events
        total_s += elapsed
        samples.extend(lat)
    print(f"ari_events_per_s: {total_events / total_s:.0f}")
    print(f"ari_event_to_command_p99_ms: {_p99(samples):.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--rate", type=float, default=100.0, help="arrivals and keys per s")
    args = parser.parse_args()
    asyncio.run(main(args.calls, args.rounds, args.rate))
