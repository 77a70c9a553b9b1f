"""The TCP side of externalMedia AudioSocket: Asterisk connects once per call.

The driver calls `expect(call_id)` before its externalMedia request and passes the UUID
it returns as `data` (AudioSocket needs a UUID; channel ids are not UUIDs). The first
message of a connection names that UUID, so the server knows the call; connections
naming a UUID nobody expects are closed. A hang-up message, the end of the stream (what
the recorded Asterisk does when the channel is deleted) or a protocol error ends the
call's media, so an open recognition concludes at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass

from hotline.telephony.media.audiosocket import (
    Audio,
    AudioSocketDecoder,
    CallUuid,
    ErrorMessage,
    Hangup,
    encode,
    encode_audio,
)
from hotline.telephony.media.errors import MediaProtocolError
from hotline.telephony.media.router import MediaRouter

log = logging.getLogger(__name__)
_NAMESPACE = uuid.UUID("5f0c1d2e-8a4b-4c6d-9e7f-123456789abc")  # ours, for uuid5 below
_READ_BYTES = 4096


def call_uuid(call_id: str) -> uuid.UUID:
    """The AudioSocket UUID for a call: stable, so it survives a restart of our side."""
    return uuid.uuid5(_NAMESPACE, call_id)


@dataclass(slots=True)
class AudioSocketStats:
    connections: int = 0
    unknown_calls: int = 0
    protocol_errors: int = 0
    asterisk_errors: int = 0


class AudioSocketConnection:
    """One call's open AudioSocket; lets us play audio back into the channel."""

    def __init__(self, call_id: str, writer: asyncio.StreamWriter) -> None:
        self.call_id = call_id
        self._writer = writer

    def send_audio(self, pcm: bytes) -> None:
        """Queue 8 kHz 16-bit linear audio for the channel (sent as 20 ms frames)."""
        if not self._writer.is_closing():
            self._writer.write(encode_audio(pcm))

    def hang_up(self) -> None:
        """Tell Asterisk we are done and close (the externalMedia channel hangs up)."""
        if not self._writer.is_closing():
            self._writer.write(encode(Hangup()))
            self._writer.close()


class AudioSocketServer:
    """Accepts Asterisk's AudioSocket connections and routes their audio by call."""

    def __init__(self, router: MediaRouter) -> None:
        self.router = router
        self.stats = AudioSocketStats()
        self._expected: dict[uuid.UUID, str] = {}
        self._connections: dict[str, AudioSocketConnection] = {}
        self._handlers: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    @classmethod
    async def start(cls, router: MediaRouter, host: str = "127.0.0.1",
                    port: int = 0) -> AudioSocketServer:
        server = cls(router)
        server._server = await asyncio.start_server(server._handle, host, port)
        return server

    @property
    def local_address(self) -> tuple[str, int]:
        """Where Asterisk must connect: the externalMedia `external_host`."""
        assert self._server is not None
        sockname = self._server.sockets[0].getsockname()
        return str(sockname[0]), int(sockname[1])

    def expect(self, call_id: str) -> str:
        """Register a call; pass the returned UUID as the externalMedia `data`."""
        key = call_uuid(call_id)
        self._expected[key] = call_id
        return str(key)

    def forget(self, call_id: str) -> None:
        """The call is over: close its connection if still open."""
        self._expected.pop(call_uuid(call_id), None)
        connection = self._connections.pop(call_id, None)
        if connection is not None:
            connection.hang_up()

    def connection(self, call_id: str) -> AudioSocketConnection | None:
        return self._connections.get(call_id)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self._writers.add(writer)
        self.stats.connections += 1
        call_id: str | None = None
        try:
            call_id = await self._serve(reader, writer)
        finally:
            if call_id is not None:
                self.router.media_ended(call_id)
                if (known := self._connections.get(call_id)) is not None and \
                        known._writer is writer:
                    del self._connections[call_id]
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            self._writers.discard(writer)
            self._handlers.discard(task)

    async def _serve(self, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> str | None:
        """Read one connection to its end; the call it belonged to (None if unknown)."""
        decoder = AudioSocketDecoder()
        call_id: str | None = None
        try:
            while data := await reader.read(_READ_BYTES):
                for message in decoder.feed(data):
                    if isinstance(message, Audio):
                        if call_id is not None:
                            self.router.deliver(call_id, message.pcm)
                    elif isinstance(message, CallUuid):
                        call_id = self._expected.get(message.uuid)
                        if call_id is None:
                            self.stats.unknown_calls += 1
                            log.warning("AudioSocket for unknown call UUID %s", message.uuid)
                            return None
                        self._connections[call_id] = AudioSocketConnection(call_id, writer)
                    elif isinstance(message, Hangup):
                        return call_id
                    elif isinstance(message, ErrorMessage):
                        self.stats.asterisk_errors += 1
                        log.warning("AudioSocket error %s from Asterisk (call %s)",
                                    message.code, call_id)
                        return call_id
            decoder.close()
        except MediaProtocolError as exc:
            self.stats.protocol_errors += 1
            log.warning("AudioSocket protocol error (call %s): %s", call_id, exc)
        except ConnectionError as exc:
            log.debug("AudioSocket connection lost (call %s): %s", call_id, exc)
        return call_id

    async def aclose(self) -> None:
        """Stop accepting, close every connection and wait for their handlers."""
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        if self._handlers:
            await asyncio.gather(*self._handlers, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
