from __future__ import annotations

import asyncio

import httpx
import pytest

from hotline.telephony.ari import AriClient, AriConfig, AriError, AriEventStream
from hotline.telephony.ari.fake_asterisk import FakeAsterisk, RingOutcome
from hotline.telephony.ari.models import BridgeType, ChannelState, PlaybackState


async def test_status_and_application(fake: FakeAsterisk, client: AriClient) -> None:
    status = await client.asterisk_status()
    assert status.startup_time == fake.startup_time
    app = await client.get_application()
    assert app.name == "hotline-test"
    assert app.channel_ids == ()


async def test_bad_password_is_401(fake: FakeAsterisk, config: AriConfig) -> None:
    bad = AriConfig(base_url=config.base_url, app=config.app, username=config.username,
                    password="wrong")
    async with AriClient(bad) as ari:
        with pytest.raises(AriError) as caught:
            await ari.list_channels()
    assert caught.value.status == 401
    assert caught.value.message == "Authentication required"


async def test_password_not_in_repr() -> None:
    config = AriConfig.from_env({"HOTLINE_ARI_PASSWORD": "s3cr3t"})
    assert config.password == "s3cr3t"
    assert "s3cr3t" not in repr(config)
    assert "s3cr3t" not in config.events_url
    assert config.events_url.startswith("ws://127.0.0.1:8088/ari/events?app=")


async def test_missing_channel_errors(client: AriClient) -> None:
    with pytest.raises(AriError) as caught:
        await client.get_channel("no-such-channel")
    assert (caught.value.status, caught.value.message) == (404, "Channel not found")
    with pytest.raises(AriError) as caught:
        await client.play("no-such-channel", "sound:hello-world")
    assert caught.value.status == 404


async def test_originate_error_body_uses_error_key(fake: FakeAsterisk, client: AriClient) -> None:
    with pytest.raises(AriError) as caught:
        await client.originate("PJSIP/nosuchagent", timeout=10)
    assert (caught.value.status, caught.value.message) == (500, "Allocation failed")
    fake.add_endpoint("pjseat1", RingOutcome.UNREGISTERED)
    with pytest.raises(AriError) as caught:
        await client.create_channel("PJSIP/pjseat1")
    assert (caught.value.status, caught.value.message) == (500, "Allocation failed")


async def test_call_in_bridge_and_hold_rules(
    fake: FakeAsterisk, client: AriClient, stream: AriEventStream
) -> None:
    fake.caller_enters("5551234")
    await asyncio.sleep(0)
    [caller] = await client.list_channels()
    assert caller.state is ChannelState.RING
    await client.answer(caller.id)
    playback = await client.play(caller.id, "sound:hello-world", playback_id="pb-1")
    assert (playback.id, playback.state) == ("pb-1", PlaybackState.QUEUED)
    await client.start_moh(caller.id)
    await client.stop_moh(caller.id)
    await client.stop_moh(caller.id)  # 204 even with nothing playing (fact 7)
    bridge = await client.create_bridge(bridge_id="br-1", type=BridgeType.HOLDING)
    assert bridge.bridge_type == "holding"
    await client.add_channel("br-1", caller.id)
    assert (await client.get_bridge("br-1")).channels == (caller.id,)
    with pytest.raises(AriError) as caught:
        await client.stop_bridge_moh("br-1")
    assert (caught.value.status, caught.value.message) == (409, "Bridge isn't playing music")
    with pytest.raises(AriError) as caught:
        await client.add_channel("br-1", "no-such-channel")
    assert caught.value.status == 400
    await client.start_bridge_moh("br-1")
    await client.stop_bridge_moh("br-1")
    await client.remove_channel("br-1", caller.id)
    await client.destroy_bridge("br-1")
    await client.set_variable(caller.id, "HOTLINE_CASE", "李四")
    assert await client.get_variable(caller.id, "HOTLINE_CASE") == "李四"
    with pytest.raises(AriError) as caught:
        await client.get_variable(caller.id, "NO_SUCH_VAR")
    assert caught.value.status == 404
    await client.hangup(caller.id)
    await asyncio.sleep(0.01)
    assert await client.list_channels() == []


async def test_not_in_stasis_is_409(
    fake: FakeAsterisk, client: AriClient, stream: AriEventStream
) -> None:
    channel_id = fake.caller_enters()
    await asyncio.sleep(0)
    await client.continue_in_dialplan(channel_id)
    with pytest.raises(AriError) as caught:
        await client.answer(channel_id)
    assert (caught.value.status, caught.value.message) == (
        409, "Channel not in Stasis application")


async def test_record_snoop_media_and_endpoints(
    fake: FakeAsterisk, client: AriClient, stream: AriEventStream
) -> None:
    fake.add_endpoint("pjagent", RingOutcome.ANSWER)
    channel_id = fake.caller_enters()
    await asyncio.sleep(0)
    recording = await client.record(channel_id, "msg-1", max_duration_seconds=3,
                                    max_silence_seconds=2, terminate_on="#", beep=True)
    assert recording.state.value == "queued"
    with pytest.raises(AriError) as caught:
        await client.record(channel_id, "../escape")
    assert caught.value.status == 500
    snoop = await client.snoop(channel_id, spy="both", snoop_id="spy-1")
    assert snoop.id == "spy-1" and snoop.name.startswith(f"Snoop/{channel_id}-")
    with pytest.raises(AriError) as caught:
        await client.snoop(channel_id, spy="both", snoop_id="spy-1")
    assert caught.value.status == 500
    media = await client.external_media(external_host="127.0.0.1:40000", channel_id="em-1")
    assert media.id == "em-1"
    [endpoint] = await client.list_endpoints()
    assert (endpoint.technology, endpoint.resource, endpoint.state) == (
        "PJSIP", "pjagent", "online")
    app = await client.subscribe(["endpoint:PJSIP/pjagent"])
    assert app.endpoint_ids == ("PJSIP/pjagent",)
    await client.set_device_state("Stasis:seat1", "INUSE")
    assert (await client.get_device_state("Stasis:seat1")).state == "INUSE"


async def test_lost_answer_retry_is_idempotent(fake: FakeAsterisk, client: AriClient) -> None:
    fake.add_endpoint("pjagent", RingOutcome.NO_ANSWER)
    fake.fail_next_response = 1  # Asterisk acts, the answer is lost on the way
    channel = await client.originate("PJSIP/pjagent", channel_id="agent-1", timeout=30)
    assert channel.id == "agent-1"
    assert [c.id for c in await client.list_channels()] == ["agent-1"]
    posts = [r for r in fake.requests if r[0] == "POST" and r[1] == "/ari/channels"]
    assert [q["channelId"] for _, _, q in posts] == ["agent-1", "agent-1"]

    fake.fail_next_response = 1
    bridge = await client.create_bridge(bridge_id="br-x")
    assert bridge.id == "br-x"
    assert len(await client.list_bridges()) == 1


async def test_generated_ids_are_sent(
    fake: FakeAsterisk, client: AriClient, stream: AriEventStream
) -> None:
    channel_id = fake.caller_enters()
    await asyncio.sleep(0)
    playback = await client.play(channel_id, "bogus:thing")
    assert playback.id.startswith("pb-")
    sent = [q for m, p, q in fake.requests if p.endswith("/play")]
    assert sent[-1]["playbackId"] == playback.id


async def test_no_more_requests_in_flight_than_pooled_connections() -> None:
    """A burst of calls' requests waits in our FIFO, not in httpx's pool (whose queue is
    scanned on every change): never more in flight than `max_connections`."""
    in_flight = peak = 0
    release = asyncio.Event()

    async def asterisk(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await release.wait()
        in_flight -= 1
        return httpx.Response(204)

    config = AriConfig(base_url="http://127.0.0.1:9/ari", max_connections=3)
    async with AriClient(config, transport=httpx.MockTransport(asterisk)) as ari:
        burst = [asyncio.create_task(ari.answer(f"c{n}")) for n in range(20)]
        for _ in range(20):
            await asyncio.sleep(0)
        assert peak == 3  # three at once, the rest waiting their turn
        release.set()
        await asyncio.gather(*burst)
    assert peak == 3 and in_flight == 0
