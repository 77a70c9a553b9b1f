"""The whole chain on a real Asterisk: ARI event stream -> AriDriver -> CentreRuntime and
the real kernel -> commands -> ARI REST.

A one-queue centre (no IVR prompts, no wrap-up) whose seats are Local channels: the other
half runs the `bench-agents` context (Answer, Wait 2-3 s, Hangup). A caller is a Local
channel originated into the app (`bench-callers,hold`: Answer, Wait); the kernel rings a
seat, the agent answers, the driver bridges, the agent hangs up and the call ends.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hotline.composition import build_kernel
from hotline.config.loader import load_centre
from hotline.runtime.centre_runtime import CentreRuntime, DriverLink
from hotline.runtime.clock import RealClock
from hotline.telephony.ari import AriClient, AriError, AriEventStream, new_id
from hotline.telephony.ari.driver import AriDriver, AriDriverSettings
from hotline.vocabulary import events as ev

from .conftest import ari_config, needs_asterisk

pytestmark = [pytest.mark.asterisk, needs_asterisk]

APP = "hotline-live"

CENTRE = """\
centre: {name: live test centre, timezone: Asia/Shanghai}
lines:
  "12345": {flow: direct}
skills: [general]
queues:
  general:
    skills: [general]
    min_level: 1
    wrap_up_s: 0
    ring_timeout_s: 10
    announce: {first_after_s: 86400, every_s: 86400}
    callback: {enabled: false}
modes:
  normal: {description: the only mode}
agents:
  a1: {name: A1, team: t, skills: {general: 3}}
teams:
  t: {description: everyone}
seats:
  s1: Local/9001@bench-agents
"""

FLOW = """\
name: direct
start: to_queue
nodes:
  to_queue: {type: queue, queue: general}
"""


@dataclass
class Live:
    client: AriClient
    runtime: CentreRuntime
    driver: AriDriver
    link: DriverLink
    records: list[Any]
    run: asyncio.Task[None]

    def events(self, kind: type) -> list[Any]:
        return [r for r in self.records if isinstance(r, kind)]

    async def until(self, check: Any, what: str, timeout: float = 15.0) -> None:
        for _ in range(int(timeout * 20)):
            if check():
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"{what}: not within {timeout} s; records {self.records!r}")


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Live]:
    (tmp_path / "flows").mkdir()
    (tmp_path / "centre.yaml").write_text(CENTRE, encoding="utf-8")
    (tmp_path / "flows" / "direct.yaml").write_text(FLOW, encoding="utf-8")
    (tmp_path / "prompts.yaml").write_text("{}\n", encoding="utf-8")
    centre = load_centre(tmp_path)
    clock = RealClock()
    runtime = CentreRuntime(build_kernel(centre), clock, queues=tuple(centre.config.queues))
    config = ari_config(APP)
    async with AriClient(config) as client:
        driver = AriDriver(client, AriDriverSettings(server="live"), clock=clock)
        link = runtime.attach("ari-live", driver)
        link.claim_endpoints(seat.endpoint for seat in centre.config.seats.values())
        records: list[Any] = []
        runtime.listen(lambda _seq, record: records.append(record))
        await runtime.start()
        stream = AriEventStream(config, client)
        stream.start()

        async def run() -> None:
            try:
                await driver.run(link, stream)
            finally:
                await stream.aclose()

        task = asyncio.create_task(run())
        harness = Live(client, runtime, driver, link, records, task)
        for _ in range(100):  # the app exists once its websocket is up
            if any(a.name == APP for a in await client.list_applications()):
                break
            await asyncio.sleep(0.05)
        try:
            yield harness
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await driver.aclose()
            await runtime.stop()
            for channel in await client.list_channels():
                if "@bench-" in channel.name:
                    with contextlib.suppress(AriError):
                        await client.hangup(channel.id)


async def test_caller_is_rung_to_a_seat_bridged_and_ended(live: Live) -> None:
    now = RealClock().now
    await live.link.post(ev.AgentLoggedIn("a1", "s1", now()))
    await live.link.post(ev.AgentReady("a1", now()))
    caller = new_id("caller")
    await live.client.originate(
        "Local/hold@bench-callers", app=APP, app_args=("12345",), channel_id=caller,
        caller_id="13800138000",
    )
    call_id = live.driver.call_id_of(caller)
    await live.until(lambda: any(e.call_id == call_id for e in live.events(ev.CallArrived)),
                     "CallArrived")
    arrived = next(e for e in live.events(ev.CallArrived) if e.call_id == call_id)
    assert (arrived.line, arrived.caller) == ("12345", "13800138000")
    await live.until(lambda: any(e.call_id == call_id for e in live.events(ev.SeatAnswered)),
                     "SeatAnswered")
    # The driver bridged caller and agent in one mixing bridge.
    for _ in range(40):
        bridges = await live.client.request("GET", "/bridges")
        if any(caller in b["channels"] and len(b["channels"]) == 2 for b in bridges):
            break
        await asyncio.sleep(0.05)
    assert any(caller in b["channels"] and len(b["channels"]) == 2 for b in bridges)
    # The agent talks 2-3 s and hangs up: the call ends and the citizen's line is cleared.
    await live.until(lambda: any(e.call_id == call_id for e in live.events(ev.CallEnded)),
                     "CallEnded", timeout=10)
    for _ in range(100):
        channels = {c.id for c in await live.client.list_channels()}
        if caller not in channels:
            break
        await asyncio.sleep(0.05)
    assert caller not in channels
    assert live.runtime.counters_view().rejected_total == 0
