"""The ARI driver over the fake Asterisk on loopback, with the real runtime and kernel.

The kernel's timers and the driver's own (digit timeouts, playback guard) run on one
`VirtualClock` that the test advances; the fake Asterisk plays and rings in (scaled)
real time on loopback.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hotline.composition import build_kernel
from hotline.config.loader import load_centre
from hotline.projections.cdr import cdr_rows
from hotline.runtime.centre_runtime import CentreRuntime, DriverLink
from hotline.runtime.clock import VirtualClock
from hotline.telephony.agi.handoff import HandOffs
from hotline.telephony.ari import AriClient, AriConfig, AriEventStream
from hotline.telephony.ari.driver import AriDriver, AriDriverSettings
from hotline.telephony.ari.fake_asterisk import FakeAsterisk, RingOutcome
from hotline.vocabulary.commands import Recognize
from hotline.vocabulary.events import (
    AgentLoggedIn,
    AgentReady,
    SpeechRecognized,
    ThreeWayStarted,
)
from hotline.vocabulary.facts import (
    CallFinished,
    PartyCalled,
)
from hotline.vocabulary.states import CallStage

CONFIG = Path(__file__).resolve().parents[3] / "config"
START = datetime(2024, 5, 6, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()


class Heard(Enum):
    SPEECH = "speech"
    KEYS_ONLY = "keys-only"


@dataclass
class FakeSpeech:
    """Stands in for `SpeechBridge` (the media path has its own tests)."""

    answer: Heard = Heard.SPEECH
    listens: list[Recognize] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)

    def listen(self, command: Recognize) -> Heard:
        self.listens.append(command)
        return self.answer

    def stop(self, call_id: str) -> None:
        self.stopped.append(call_id)


@dataclass
class Harness:
    fake: FakeAsterisk
    client: AriClient
    runtime: CentreRuntime
    driver: AriDriver
    link: DriverLink
    clock: VirtualClock
    speech: FakeSpeech
    records: list[Any]
    run: asyncio.Task[None]

    @property
    def kernel(self) -> Any:
        return self.runtime.kernel

    async def until(self, condition: Callable[[], bool], what: str = "condition") -> None:
        """Let the loopback traffic and the runtime run until `condition` holds."""
        for _ in range(400):
            await self.runtime.drain()
            if condition():
                return
            await asyncio.sleep(0.005)
        raise AssertionError(f"timed out waiting for {what}")

    def requests(self, method: str, suffix: str) -> list[tuple[str, str, dict[str, str]]]:
        return [r for r in self.fake.requests if r[0] == method and r[1].endswith(suffix)]

    def stage(self, channel_id: str) -> CallStage | None:
        stage: CallStage | None = self.kernel.stage(self.driver.call_id_of(channel_id))
        return stage

    async def post(self, event: Any) -> None:
        await self.runtime.post(event)
        await self.runtime.drain()

    async def log_in(self, agent: str, seat: str) -> None:
        await self.post(AgentLoggedIn(agent, seat, self.clock.now()))
        await self.post(AgentReady(agent, self.clock.now()))

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def facts(self, kind: type[Any]) -> list[Any]:
        return [r for r in self.records if isinstance(r, kind)]


def driver_config(fake: FakeAsterisk) -> AriConfig:
    return AriConfig.from_env(
        {"HOTLINE_ARI_PASSWORD": fake.password}, base_url=fake.base_url, app=fake.app,
        username=fake.username, request_timeout=2.0, ping_interval=0.2, ping_timeout=0.2,
        close_timeout=0.05, backoff_initial=0.005, backoff_max=0.02,
    )


async def start_harness(
    fake: FakeAsterisk, client: AriClient, *, settings: AriDriverSettings | None = None,
    speech: FakeSpeech | None = None, kernel: Any = None, clock: VirtualClock | None = None,
    handoffs: HandOffs | None = None, media: Any = None, spoken: Any = None,
) -> Harness:
    centre = load_centre(CONFIG)
    clock = clock or VirtualClock(START)
    kernel = kernel or build_kernel(centre)
    runtime = CentreRuntime(kernel, clock, queues=tuple(centre.config.queues))
    speech = speech or FakeSpeech()
    driver = AriDriver(client, settings or AriDriverSettings(server="ast1"), clock=clock,
                       speech=speech, media=media, handoffs=handoffs, spoken=spoken)
    link = runtime.attach("ari-ast1", driver)
    link.claim_endpoints(["PJSIP/8001", "PJSIP/8002", "PJSIP/8003"])
    records: list[Any] = []
    runtime.listen(lambda _seq, record: records.append(record))
    await runtime.start()
    stream = AriEventStream(driver_config(fake), client)
    stream.start()
    run = asyncio.create_task(_run(driver, link, stream))
    await fake.wait_for_websocket()
    return Harness(fake, client, runtime, driver, link, clock, speech, records, run)


async def _run(driver: AriDriver, link: DriverLink, stream: AriEventStream) -> None:
    try:
        await driver.run(link, stream)
    finally:
        await stream.aclose()


async def stop_harness(h: Harness) -> None:
    if not h.run.done():
        h.run.cancel()
    await asyncio.gather(h.run, return_exceptions=True)
    await h.driver.aclose()
    await h.runtime.stop()




# --- the whole call ------------------------------------------------------------------------


async def test_a_whole_call_from_greeting_to_cdr(h: Harness) -> None:
    fake = h.fake
    fake.add_endpoint("8001", RingOutcome.ANSWER)
    fake.add_endpoint("12319@trunk", RingOutcome.ANSWER)
    cid = fake.caller_enters("13800138000", "张三", args=("12345",))
    call_id = h.driver.call_id_of(cid)

    # Greeting: answered, played, listening for a key or a word.
    await h.until(lambda: bool(h.requests("POST", f"/channels/{cid}/play")), "the greeting")
    assert h.requests("POST", f"/channels/{cid}/answer")
    assert len(h.speech.listens) == 1 and h.speech.listens[0].grammar
    # A key barges in: the prompt stops, the listen ends, the flow moves to free speech.
    fake.press(cid, "2")
    await h.until(lambda: len(h.speech.listens) == 2, "the request's listen")
    assert h.speech.stopped == [call_id]
    greeting = h.requests("POST", f"/channels/{cid}/play")[0][2]["playbackId"]
    await h.until(lambda: bool(h.requests("DELETE", f"/playbacks/{greeting}")), "barge-in")
    assert h.speech.listens[1].grammar == ()
    await h.driver.post_speech(SpeechRecognized(call_id, "我想咨询一下社保", 0.9, h.clock.now(),
                                                intent="consultation"))
    # Nobody is ready: the caller waits with music.
    await h.until(lambda: h.stage(cid) is CallStage.WAITING, "waiting")
    await h.until(lambda: bool(h.requests("POST", f"/channels/{cid}/moh")), "music on hold")

    # The first announcement plays over the music; the music comes back after it.
    plays_before = len(h.requests("POST", f"/channels/{cid}/play"))
    h.advance(31)
    await h.until(lambda: len(h.requests("POST", f"/channels/{cid}/play")) > plays_before,
                  "the announcement")
    await h.until(lambda: len(h.requests("POST", f"/channels/{cid}/moh")) == 2, "music again")

    # An agent gets ready: the seat is rung with the citizen's number and answers.
    await h.log_in("1001", "s01")
    await h.until(lambda: h.stage(cid) is CallStage.TALKING, "talking")
    # One request rings the seat (one-step originate), with the citizen's name and number.
    ring = h.requests("POST", "/ari/channels")[-1]
    assert ring[2]["endpoint"] == "PJSIP/8001" and ring[2]["timeout"] == "15"
    assert ring[2]["callerId"] == '"张三" <13800138000>'
    assert not h.requests("POST", "/channels/create") and not h.requests("POST", "/dial")
    await h.until(lambda: any(len(b.channels) == 2 for b in fake.bridges.values()), "bridged")
    bridge = next(iter(fake.bridges.values()))
    assert set(bridge.channels) == {cid, ring[2]["channelId"]}
    assert not fake.channels[cid].moh

    # Three-way with a department: the citizen stays on the line.
    await h.post(ThreeWayStarted(call_id, "1001", "dept-1", "12319", h.clock.now()))
    await h.until(lambda: len(bridge.channels) == 3, "the department in the conversation")
    assert h.facts(PartyCalled)[0].number == "12319"

    # The citizen hangs up: exactly one end, every leg is cleared, the seat wraps up.
    fake.hang_up(cid)
    await h.until(lambda: h.stage(cid) is None, "the end")
    await h.until(lambda: not fake.channels and not fake.bridges, "legs and bridge cleared")
    h.advance(31)
    await h.runtime.drain()
    finished = [f for f in h.facts(CallFinished) if f.call_id == call_id]
    assert len(finished) == 1 and finished[0].outcome.value == "answered"

    (row,) = [r for r in cdr_rows(h.records) if r.call_id == call_id]
    assert row.line == "12345" and row.caller == "13800138000"
    assert row.queue == "general" and row.agent == "1001" and row.seat == "s01"
    assert "key:2" in row.ivr_path and any(p.startswith("say:") for p in row.ivr_path)
    assert row.outcome == "answered" and row.talk_s is not None and row.wrap_s is not None
    assert h.runtime.counters.driver_errors == 0
    assert h.runtime.counters.rejected == {}
