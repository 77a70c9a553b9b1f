"""Ringing a seat: the test server against the `agentring` trace, and the driver on it.

The driver rings with the one-step originate (`POST /channels`); `POST /channels/create`
+ `dial` has a race a loaded Asterisk shows (the dial before the leg's StasisStart is
409), which the test server reproduces with `stasis_delay`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from hotline.centre.restore import replay
from hotline.composition import build_kernel
from hotline.config.loader import load_centre
from hotline.runtime.clock import VirtualClock
from hotline.telephony.ari import AriClient, AriError, AriEventStream
from hotline.telephony.ari.driver import live_call_ids
from hotline.telephony.ari.fake_asterisk import FakeAsterisk, RingOutcome
from hotline.vocabulary.events import AgentHangsUp, CallEnded, ThreeWayStarted
from hotline.vocabulary.states import CallStage
from tests.telephony.ari.conftest import TRACES
from tests.telephony.ari.test_driver import CONFIG, START, Harness, start_harness, stop_harness
from tests.telephony.ari.test_driver_faults import waiting_caller

RING_TYPES = {"Dial", "ChannelStateChange", "StasisStart", "StasisEnd", "ChannelHangupRequest",
              "ChannelDestroyed", "ChannelDialplan"}


def ring_shape(frame: dict[str, Any]) -> tuple[Any, ...] | None:
    """What the order of a ring's frames is about (RTP statistics varsets left out)."""
    kind = frame["type"]
    if kind == "ChannelVarset" and frame.get("variable") == "STASISSTATUS":
        return (kind, frame["value"])
    if kind not in RING_TYPES:
        return None
    channel = frame.get("channel") or frame.get("peer") or {}
    return (kind, channel.get("state"), frame.get("dialstatus"), frame.get("cause"),
            frame.get("tech_cause"), frame.get("soft"))


def traced(channel_id: str) -> list[tuple[Any, ...]]:
    out = []
    for line in (TRACES / "agentring-events.jsonl").read_text(encoding="utf-8").splitlines():
        frame = json.loads(line)
        channel = frame.get("channel") or frame.get("peer") or {}
        shape = ring_shape(frame)
        if channel.get("id") == channel_id and shape is not None:
            out.append(shape)
    return out


def sent(fake: FakeAsterisk, channel_id: str) -> list[tuple[Any, ...]]:
    out = []
    for frame in fake.sent_frames:
        channel = frame.get("channel") or frame.get("peer") or {}
        shape = ring_shape(frame)
        if channel.get("id") == channel_id and shape is not None:
            out.append(shape)
    return out


async def settled(fake: FakeAsterisk, channel_id: str) -> None:
    for _ in range(200):
        if channel_id not in fake.channels:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"{channel_id} never ended")


@pytest.mark.skipif(not TRACES.is_dir(), reason="../shared traces absent")
@pytest.mark.parametrize(("name", "outcome"), [
    ("answer", RingOutcome.ANSWER), ("noanswer", RingOutcome.NO_ANSWER),
    ("busy", RingOutcome.BUSY),
])
async def test_ring_event_order_is_the_traced_one(
    fake: FakeAsterisk, client: AriClient, stream: AriEventStream, name: str,
    outcome: RingOutcome,
) -> None:
    fake.add_endpoint("pjagent", outcome)
    one_step, two_step = f"ring-b-{name}", f"ring-a-{name}"
    await client.originate("PJSIP/pjagent", channel_id=one_step, app_args=("agent",),
                           timeout=4, caller_id="Hotline <4000>")
    await client.create_channel("PJSIP/pjagent", channel_id=two_step, app_args=("agent",))
    await client.dial(two_step, timeout=4)
    for channel_id in (one_step, two_step):
        if outcome is RingOutcome.ANSWER:
            await asyncio.sleep(0.05)
            await client.hangup(channel_id)  # the trace's "agent call done: we hang up"
        await settled(fake, channel_id)
    assert sent(fake, one_step) == traced(one_step)  # fact 11
    assert sent(fake, two_step) == traced(two_step)  # fact 9


async def test_dial_before_the_legs_stasis_start_is_409(
    fake: FakeAsterisk, client: AriClient, stream: AriEventStream
) -> None:
    fake.add_endpoint("pjagent", RingOutcome.ANSWER)
    fake.stasis_delay = 0.05  # a loaded Asterisk
    leg = await client.create_channel("PJSIP/pjagent", app_args=("agent",))
    with pytest.raises(AriError) as refused:
        await client.dial(leg.id, timeout=4)
    assert refused.value.status == 409
    for _ in range(100):
        if fake.channels[leg.id].in_stasis:
            break
        await asyncio.sleep(0.005)
    await client.dial(leg.id, timeout=4)  # after StasisStart: rings
    assert any(f["type"] == "Dial" and f["peer"]["id"] == leg.id for f in fake.sent_frames)


@pytest.fixture
async def loaded(fake: FakeAsterisk, client: AriClient) -> AsyncIterator[Harness]:
    fake.stasis_delay = 0.05
    harness = await start_harness(fake, client)
    try:
        yield harness
    finally:
        await stop_harness(harness)


async def test_seat_on_a_loaded_asterisk_rings_with_one_request(loaded: Harness) -> None:
    h = loaded
    h.fake.add_endpoint("8001", RingOutcome.ANSWER)
    cid = await waiting_caller(h)
    await h.log_in("1001", "s01")
    await h.until(lambda: h.stage(cid) is CallStage.TALKING, "talking")
    await h.until(lambda: any(cid in b.channels and len(b.channels) == 2
                              for b in h.fake.bridges.values()), "bridged")
    (ring,) = h.requests("POST", "/ari/channels")
    assert ring[2]["app"] == h.fake.app and ring[2]["appArgs"].startswith("agent,")
    assert not h.requests("POST", "/channels/create") and not h.requests("POST", "/dial")
    assert h.driver.stats.rest_errors == 0


async def test_seat_rung_and_stopped_before_it_answers_leaves_nothing(loaded: Harness) -> None:
    h = loaded
    h.fake.add_endpoint("8001", RingOutcome.NO_ANSWER)
    h.fake.time_scale = 1.0  # rings its full 15 s unless stopped
    cid = await waiting_caller(h)
    await h.log_in("1001", "s01")
    await h.until(lambda: bool(h.requests("POST", "/ari/channels")), "ringing")
    leg = h.requests("POST", "/ari/channels")[0][2]["channelId"]
    h.fake.hang_up(cid)  # the caller gives up while the seat rings: StopRinging
    await h.until(lambda: not h.fake.channels, "the ringing leg hung up")
    assert h.requests("DELETE", f"/channels/{leg}")
    assert h.kernel.seat("1001").state.value == "ready"
    assert h.driver.live_calls == 0


async def test_seat_is_free_at_the_agents_hang_up_request_not_its_teardown(
    loaded: Harness,
) -> None:
    """A BYE (or a Local agent's other half hanging up) is a hang-up request on the
    agent's leg at once; the leg's ChannelDestroyed waits until the bridge lets it go,
    which a loaded Asterisk takes its time over. The call ends, and the seat rings the
    next caller, from the request."""
    h = loaded
    h.fake.add_endpoint("8001", RingOutcome.ANSWER)
    first = await waiting_caller(h, "13900000001")
    second = await waiting_caller(h, "13900000002")
    await h.log_in("1001", "s01")
    await h.until(lambda: h.stage(first) is CallStage.TALKING, "talking")
    leg = h.requests("POST", "/ari/channels")[0][2]["channelId"]
    h.fake.hang_up(leg, teardown_s=30.0)
    await h.until(lambda: any(type(r) is CallEnded for r in h.records), "call ended")
    for _ in range(600):  # through the seat's wrap-up, on the virtual clock
        if len(h.requests("POST", "/ari/channels")) > 1:
            break
        h.advance(1.0)
        await asyncio.sleep(0.002)
    rings = h.requests("POST", "/ari/channels")
    assert len(rings) == 2 and rings[1][2]["channelId"] != leg
    assert h.stage(second) is CallStage.RINGING
    assert leg in h.fake.channels  # its teardown is still under way
    assert h.driver.stats.rest_errors == 0


async def test_agent_hangs_up_on_a_three_way_then_the_citizen(fake: FakeAsterisk,
                                                             client: AriClient) -> None:
    h = await start_harness(fake, client)
    try:
        fake.add_endpoint("8001", RingOutcome.ANSWER)
        fake.add_endpoint("12319@trunk", RingOutcome.ANSWER)
        cid = await waiting_caller(h)
        call_id = h.driver.call_id_of(cid)
        await h.log_in("1001", "s01")
        await h.until(lambda: any(len(b.channels) == 2 for b in fake.bridges.values()),
                      "bridged")
        agent = h.requests("POST", "/ari/channels")[-1][2]["channelId"]
        await h.post(ThreeWayStarted(call_id, "1001", "dept-1", "12319", h.clock.now()))
        await h.until(lambda: any(len(b.channels) == 3 for b in fake.bridges.values()),
                      "the department joined")
        # The agent puts the phone down: the centre's part ends; citizen and department
        # stay together.
        fake.hang_up(agent)
        await h.until(lambda: any(type(r) is CallEnded for r in h.records), "call ended")
        assert any(len(b.channels) == 2 and cid in b.channels for b in fake.bridges.values())
        # Then the citizen hangs up: the department's line and the bridge go too.
        fake.hang_up(cid)
        await h.until(lambda: not fake.channels and not fake.bridges, "all cleared")
        assert h.driver.live_calls == 0
        assert not [r for r in h.records if type(r) is AgentHangsUp]
    finally:
        await stop_harness(h)


async def test_our_restart_while_a_seat_rings_adopts_the_leg_when_it_answers(
    fake: FakeAsterisk, client: AriClient
) -> None:
    fake.add_endpoint("8001", RingOutcome.NO_ANSWER)
    fake.time_scale = 1.0  # rings its full 15 s unless picked up
    first = await start_harness(fake, client)
    try:
        cid = await waiting_caller(first)
        await first.log_in("1001", "s01")
        await first.until(lambda: bool(first.requests("POST", "/ari/channels")), "ringing")
        leg = first.requests("POST", "/ari/channels")[0][2]["channelId"]
    finally:
        await stop_harness(first)  # the process goes; the seat's phone keeps ringing
    records = list(first.records)
    kernel = build_kernel(load_centre(CONFIG))
    replayed = replay(kernel, records)
    h = await start_harness(fake, client, kernel=kernel,
                            clock=VirtualClock(replayed.last_at or START))
    try:
        assert await h.driver.restore(kernel, live_call_ids(records), h.runtime.router,
                                      h.link.name) == 1
        assert h.stage(cid) is CallStage.RINGING  # a one-step leg is not in Stasis yet
        fake.pick_up(leg)
        await h.until(lambda: h.stage(cid) is CallStage.TALKING, "answered after restart")
        await h.until(lambda: any(set(b.channels) == {cid, leg}
                                  for b in fake.bridges.values()), "bridged")
        assert h.runtime.counters.rejected == {}
    finally:
        await stop_harness(h)


async def test_a_leg_from_before_a_restart_answering_for_nothing_is_hung_up(
    fake: FakeAsterisk, client: AriClient
) -> None:
    h = await start_harness(fake, client)
    try:
        fake.add_endpoint("8001", RingOutcome.NO_ANSWER)
        fake.time_scale = 1.0
        await client.originate("PJSIP/8001", channel_id="agent-old", timeout=15,
                               app_args=("agent", "ast1:gone", "1001"))
        fake.pick_up("agent-old")
        await h.until(lambda: "agent-old" not in fake.channels, "hung up")
        assert h.driver.stats.unknown_channels == 1
        assert h.runtime.counters.events == 0  # nothing went to the kernel
    finally:
        await stop_harness(h)
