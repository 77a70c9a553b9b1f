"""Test peers standing in for Asterisk's externalMedia side, over real loopback sockets."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable

from hotline.asr.g711 import ulaw_encode
from hotline.telephony.media.audiosocket import Audio, CallUuid, Hangup, encode, encode_audio
from hotline.telephony.media.rtp import PT_PCMU, RtpPacket, build_rtp

SSRC = 932846103  # as recorded


async def eventually(check: Callable[[], bool], *, steps: int = 500) -> None:
    """Let the loop run until `check()` holds (bounded by steps, not by a clock)."""
    for _ in range(steps):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never held")


class RtpSender:
    """Asterisk's UnicastRTP channel: µ-law, 160 samples per packet, from one port."""

    def __init__(self, transport: asyncio.DatagramTransport, target: tuple[str, int]) -> None:
        self._transport = transport
        self.target = target
        self.sequence = 48088  # as recorded; wraps past 65535
        self.timestamp = 160
        self.sent = 0

    @classmethod
    async def open(cls, target: tuple[str, int]) -> RtpSender:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0))
        return cls(transport, target)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._transport.get_extra_info("sockname")[:2]
        return str(host), int(port)

    def packets(self, pcm: bytes) -> list[bytes]:
        payload = ulaw_encode(pcm)
        out = []
        for i in range(0, len(payload), 160):
            out.append(build_rtp(RtpPacket(PT_PCMU, self.sequence, self.timestamp, SSRC,
                                           payload[i:i + 160])))
            self.sequence = (self.sequence + 1) % 65536
            self.timestamp += 160
        return out

    async def send(self, pcm: bytes, *, burst: int = 10) -> None:
        """Send `pcm` as 20 ms packets, yielding to the loop between small bursts."""
        for n, datagram in enumerate(self.packets(pcm), 1):
            self.send_raw(datagram)
            if n % burst == 0:
                await asyncio.sleep(0)

    def send_raw(self, datagram: bytes) -> None:
        self._transport.sendto(datagram, self.target)
        self.sent += 1

    def close(self) -> None:
        self._transport.close()


class AudioSocketClient:
    """Asterisk's AudioSocket channel: connects, names the call's UUID, streams slin."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, address: tuple[str, int], call: str | None) -> AudioSocketClient:
        reader, writer = await asyncio.open_connection(*address)
        client = cls(reader, writer)
        if call is not None:
            writer.write(encode(CallUuid(uuid.UUID(call))))
        return client

    async def send(self, pcm: bytes, *, burst: int = 10) -> None:
        for i in range(0, len(pcm), 320 * burst):
            self.writer.write(encode_audio(pcm[i:i + 320 * burst]))
            await self.writer.drain()
            await asyncio.sleep(0)

    async def hang_up(self) -> None:
        self.writer.write(encode(Hangup()))
        await self.writer.drain()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


def audio_of(messages: list[object]) -> bytes:
    return b"".join(m.pcm for m in messages if isinstance(m, Audio))
