from __future__ import annotations

import asyncio
import random

from hotline.telephony.ari import (
    ApplicationTakenOver,
    AriClient,
    AriConfig,
    AriEventStream,
    AsteriskRestarted,
    Connected,
    Disconnected,
    StreamItem,
    StreamState,
)
from hotline.telephony.ari.events import (
    ApplicationReplaced,
    ChannelDtmfReceived,
    ChannelHangupRequest,
    StasisEnd,
    StasisStart,
)
from hotline.telephony.ari.fake_asterisk import FakeAsterisk
from hotline.telephony.ari.stream import backoff_delay


async def next_of(stream: AriEventStream, kind: type[object]) -> StreamItem:
    while True:
        item = await asyncio.wait_for(anext(stream), 2)
        if isinstance(item, kind):
            return item


async def test_events_in_order(fake: FakeAsterisk, stream: AriEventStream) -> None:
    channel_id = fake.caller_enters("5551234", args=("inbound", "5551234"))
    fake.press(channel_id, "4")
    fake.hang_up(channel_id)
    start = await next_of(stream, StasisStart)
    assert isinstance(start, StasisStart)
    assert start.args == ("inbound", "5551234")
    assert start.channel.caller.number == "5551234"
    assert start.channel.dialplan.exten == "s"
    dtmf = await anext(stream)
    assert isinstance(dtmf, ChannelDtmfReceived) and dtmf.digit == "4"
    hangup = await anext(stream)
    assert isinstance(hangup, ChannelHangupRequest) and not hangup.soft
    assert isinstance(await anext(stream), StasisEnd)


async def test_dropped_websocket_reconnects_and_resyncs(
    fake: FakeAsterisk, stream: AriEventStream
) -> None:
    first = fake.caller_enters()
    await next_of(stream, StasisStart)
    fake.drop_websocket()
    gone = await next_of(stream, Disconnected)
    assert isinstance(gone, Disconnected) and gone.code == 1006
    back = await next_of(stream, Connected)
    assert isinstance(back, Connected)
    assert back.attempt == 2 and back.gap_seconds is not None and back.gap_seconds >= 0
    second = fake.caller_enters()
    start = await next_of(stream, StasisStart)
    assert isinstance(start, StasisStart) and start.channel.id == second != first
    assert stream.state is StreamState.CONNECTED


async def test_application_replaced_stops_loudly(
    fake: FakeAsterisk, stream: AriEventStream
) -> None:
    fake.replace_application()
    assert isinstance(await anext(stream), ApplicationReplaced)
    taken = await anext(stream)
    assert isinstance(taken, ApplicationTakenOver) and taken.application == fake.app
    assert [item async for item in stream] == []
    assert stream.state is StreamState.TAKEN_OVER
    await asyncio.sleep(0.05)
    assert fake.websocket_count == 0  # it did not reconnect and steal the app back


async def test_second_real_socket_replaces_first(
    fake: FakeAsterisk, config: AriConfig, client: AriClient, stream: AriEventStream
) -> None:
    async with AriEventStream(config, client, rng=random.Random(1)) as newer:
        assert isinstance(await next_of(newer, Connected), Connected)
        assert isinstance(await next_of(stream, ApplicationTakenOver), ApplicationTakenOver)
        fake.caller_enters()
        assert isinstance(await next_of(newer, StasisStart), StasisStart)


async def test_restart_detected(fake: FakeAsterisk, stream: AriEventStream) -> None:
    fake.caller_enters()
    await next_of(stream, StasisStart)
    before = fake.startup_time
    fake.restart()
    hangup = await next_of(stream, ChannelHangupRequest)
    assert isinstance(hangup, ChannelHangupRequest) and hangup.soft and hangup.cause == 4
    restarted = await next_of(stream, AsteriskRestarted)
    assert isinstance(restarted, AsteriskRestarted)
    assert restarted.previous_startup_time == before != restarted.startup_time
    assert isinstance(await anext(stream), Connected)


async def test_ping_timeout_detected(fake: FakeAsterisk, stream: AriEventStream) -> None:
    fake.freeze_websocket()
    gone = await next_of(stream, Disconnected)
    assert isinstance(gone, Disconnected)
    assert isinstance(await next_of(stream, Connected), Connected)


async def test_caller_during_gap_is_lost(fake: FakeAsterisk, stream: AriEventStream) -> None:
    fake.drop_websocket()
    fake.caller_enters()  # no app socket: Asterisk hangs it up, nothing is sent
    assert fake.channels == {}


def test_backoff_is_bounded_and_grows() -> None:
    rng = random.Random(3)
    delays = [
        backoff_delay(n, initial=0.5, maximum=30, jitter=0.5, rng=rng) for n in range(1, 12)
    ]
    assert all(0 < d <= 30 for d in delays)
    assert delays[0] <= 0.5 and delays[-1] >= 15
