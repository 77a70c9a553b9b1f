"""The RTP endpoint and the AudioSocket server over real loopback sockets (no recogniser)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from hotline.asr.g711 import ulaw_decode
from hotline.telephony.media.audiosocket import AudioSocketDecoder, CallUuid, Hangup, encode
from hotline.telephony.media.audiosocket_server import AudioSocketServer, call_uuid
from hotline.telephony.media.router import AudioInbox, MediaRouter
from hotline.telephony.media.rtp_endpoint import RtpEndpoint

from .peers import AudioSocketClient, RtpSender, audio_of, eventually


def tone(frames: int) -> bytes:
    """Distinct 20 ms frames that survive µ-law unchanged (so order is checkable)."""
    return ulaw_decode(b"".join(bytes([i % 200 + 20]) * 160 for i in range(frames)))


def inbox_for(router: MediaRouter, call_id: str, gap: float = 30.0) -> AudioInbox:
    return router.inbox(call_id, gap_s=gap, max_buffered_bytes=1 << 20)


async def read_all(inbox: AudioInbox) -> bytes:
    return b"".join([chunk async for chunk in inbox])


@pytest.fixture
async def rtp() -> AsyncIterator[tuple[MediaRouter, RtpEndpoint, RtpSender]]:
    router = MediaRouter()
    endpoint = await RtpEndpoint.open(router)
    sender = await RtpSender.open(endpoint.local_address)
    yield router, endpoint, sender
    sender.close()
    endpoint.close()


async def test_rtp_audio_reaches_the_bound_call_in_order(
    rtp: tuple[MediaRouter, RtpEndpoint, RtpSender],
) -> None:
    router, endpoint, sender = rtp
    assert endpoint.local_address[0] == "127.0.0.1"
    endpoint.bind(sender.address, "call-1")
    inbox = inbox_for(router, "call-1")
    audio = tone(60)
    packets = sender.packets(audio)
    packets[10], packets[11] = packets[11], packets[10]  # reordered on the way
    packets.insert(30, packets[29])  # and duplicated
    for datagram in [*packets, b"garbage"]:
        sender.send_raw(datagram)
    await eventually(lambda: endpoint.stats.datagrams == len(packets) + 1)
    endpoint.unbind("call-1")  # the externalMedia channel went: the audio ends
    assert await read_all(inbox) == audio
    assert endpoint.stats.malformed == 1
    assert router.stats.delivered_bytes == len(audio) and inbox.ended


async def test_rtp_from_unknown_sources_or_with_nobody_listening_is_dropped(
    rtp: tuple[MediaRouter, RtpEndpoint, RtpSender],
) -> None:
    router, endpoint, sender = rtp
    await sender.send(tone(5))
    await eventually(lambda: endpoint.stats.datagrams == 5)
    assert endpoint.stats.unknown_source == 5
    endpoint.bind(sender.address, "call-2")
    await sender.send(tone(5))
    await eventually(lambda: endpoint.stats.datagrams == 10)
    assert endpoint.stats.not_listening == 5 and router.stats.delivered_bytes == 0
    assert endpoint.receiver("call-2") is None  # nothing decoded for nobody


async def test_missing_rtp_audio_is_heard_as_silence(
    rtp: tuple[MediaRouter, RtpEndpoint, RtpSender],
) -> None:
    router, endpoint, sender = rtp
    endpoint.bind(sender.address, "call-3")
    inbox = inbox_for(router, "call-3", gap=0.1)
    await sender.send(tone(10))
    await eventually(lambda: router.stats.delivered_bytes == len(tone(10)))
    assert await anext(inbox) == tone(10)
    assert await anext(inbox) == bytes(5 * 320)  # the stream stopped: 100 ms of silence
    assert router.stats.padded_bytes == 5 * 320
    endpoint.unbind("call-3")
    assert await read_all(inbox) == b""


def test_an_inbox_keeps_the_newest_audio_when_the_recogniser_lags() -> None:
    router = MediaRouter()
    inbox = router.inbox("lag", gap_s=1.0, max_buffered_bytes=1000)
    for i in range(10):
        assert router.deliver("lag", bytes([i]) * 320)
    assert router.stats.overflowed_bytes == 7 * 320
    assert not router.deliver("other", b"\0\0") and router.stats.dropped_chunks == 1
    router.detach(inbox)
    assert inbox.ended and not router.listening("lag")


@pytest.fixture
async def server() -> AsyncIterator[tuple[MediaRouter, AudioSocketServer]]:
    router = MediaRouter()
    server = await AudioSocketServer.start(router)
    yield router, server
    await server.aclose()


async def test_audiosocket_audio_then_hang_up(
    server: tuple[MediaRouter, AudioSocketServer],
) -> None:
    router, sockets = server
    call = sockets.expect("1700000000.42")
    assert uuid.UUID(call) == call_uuid("1700000000.42")
    inbox = inbox_for(router, "1700000000.42")
    client = await AudioSocketClient.connect(sockets.local_address, call)
    audio = tone(20)
    await client.send(audio[:1000])
    await client.send(audio[1000:])
    await client.hang_up()
    assert await read_all(inbox) == audio
    assert await client.reader.read() == b""  # the server closed its side
    await client.close()


async def test_audiosocket_sends_audio_back_and_ends_on_eof(
    server: tuple[MediaRouter, AudioSocketServer],
) -> None:
    router, sockets = server
    call = sockets.expect("c-back")
    inbox = inbox_for(router, "c-back")
    client = await AudioSocketClient.connect(sockets.local_address, call)
    await client.send(tone(3))
    await eventually(lambda: sockets.connection("c-back") is not None)
    connection = sockets.connection("c-back")
    assert connection is not None
    connection.send_audio(tone(2))
    decoder = AudioSocketDecoder(expect_uuid=False)
    got: list[object] = []
    while len(audio_of(got)) < len(tone(2)):
        got += decoder.feed(await client.reader.read(4096))
    assert audio_of(got) == tone(2)
    await client.close()  # Asterisk deleted the channel: EOF, no hang-up message (as recorded)
    assert await read_all(inbox) == tone(3)
    await eventually(lambda: sockets.connection("c-back") is None)


@pytest.mark.parametrize("opening", ["unknown-uuid", "garbage"])
async def test_audiosocket_unknown_calls_and_garbage_are_closed(
    server: tuple[MediaRouter, AudioSocketServer], opening: str
) -> None:
    router, sockets = server
    sockets.expect("known")
    inbox = inbox_for(router, "known")
    client = await AudioSocketClient.connect(sockets.local_address, None)
    garbage = opening == "garbage"
    client.writer.write(b"\x10\x00\x03abc" if garbage else
                        encode(CallUuid(uuid.uuid4())) + b"\x10\x00\x02ab")
    assert await client.reader.read() == b""
    await client.close()
    assert (sockets.stats.protocol_errors, sockets.stats.unknown_calls) == (
        (1, 0) if garbage else (0, 1))
    assert router.stats.delivered_bytes == 0 and not inbox.ended


async def test_audiosocket_forget_and_close_end_live_connections(
    server: tuple[MediaRouter, AudioSocketServer],
) -> None:
    router, sockets = server
    first, second = sockets.expect("a"), sockets.expect("b")
    inbox_a, inbox_b = inbox_for(router, "a"), inbox_for(router, "b")
    client_a = await AudioSocketClient.connect(sockets.local_address, first)
    client_b = await AudioSocketClient.connect(sockets.local_address, second)
    await eventually(lambda: sockets.connection("a") is not None
                     and sockets.connection("b") is not None)
    sockets.forget("a")  # the call ended on our side: hang-up message, then close
    decoder = AudioSocketDecoder(expect_uuid=False)
    assert decoder.feed(await client_a.reader.read()) == [Hangup()]
    await sockets.aclose()
    assert await client_b.reader.read() == b""
    await asyncio.gather(client_a.close(), client_b.close())
    assert inbox_a.ended and inbox_b.ended

