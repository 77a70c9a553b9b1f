"""Asterisk's AudioSocket protocol without I/O (res_audiosocket / chan_audiosocket).

A TCP stream of messages, each a 3-byte header (kind, 16-bit big-endian payload
length) and its payload. Asterisk opens the connection and first sends the call's UUID
(kind 0x01, 16 bytes: the `data` of the externalMedia request); then signed linear
8 kHz audio (kind 0x10, 320-byte frames of 20 ms as recorded); a hang-up (kind 0x00,
empty) or simply the end of the stream (the recorded trace) when the channel goes; an
error (kind 0xff, an optional one-byte code). Either side may send audio; ours is
played into the channel.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass
from enum import IntEnum

from hotline.telephony.media.errors import MediaProtocolError

HEADER = struct.Struct("!BH")
MAX_PAYLOAD = 0xFFFF
FRAME_BYTES = 320  # 20 ms of 8 kHz 16-bit audio: what Asterisk sends and expects
_DTMF_DIGITS = frozenset("0123456789*#ABCD")


class Kind(IntEnum):
    HANGUP = 0x00
    UUID = 0x01
    DTMF = 0x03  # newer Asterisks only; decoded so it is not mistaken for garbage
    AUDIO = 0x10
    ERROR = 0xFF


@dataclass(frozen=True, slots=True)
class Hangup:
    """The channel hung up; nothing follows."""


@dataclass(frozen=True, slots=True)
class CallUuid:
    """Identifies the call: the UUID given as the externalMedia `data`."""

    uuid: uuid.UUID


@dataclass(frozen=True, slots=True)
class Dtmf:
    digit: str


@dataclass(frozen=True, slots=True)
class Audio:
    """Signed 16-bit little-endian linear PCM at 8 kHz."""

    pcm: bytes


@dataclass(frozen=True, slots=True)
class ErrorMessage:
    code: int | None  # Asterisk's error code (1 hang-up, 2 frame forwarding, 4 memory)


@dataclass(frozen=True, slots=True)
class UnknownMessage:
    """A kind this decoder does not know (skipped: its length is known)."""

    kind: int
    payload: bytes


AudioSocketMessage = Hangup | CallUuid | Dtmf | Audio | ErrorMessage | UnknownMessage


def _decode(kind: int, payload: bytes) -> AudioSocketMessage:
    if kind == Kind.AUDIO:
        if len(payload) % 2:
            raise MediaProtocolError(f"AudioSocket audio of {len(payload)} bytes (odd)")
        return Audio(payload)
    if kind == Kind.UUID:
        if len(payload) != 16:
            raise MediaProtocolError(f"AudioSocket UUID of {len(payload)} bytes, expected 16")
        return CallUuid(uuid.UUID(bytes=payload))
    if kind == Kind.HANGUP:
        if payload:
            raise MediaProtocolError("AudioSocket hang-up with a payload")
        return Hangup()
    if kind == Kind.DTMF:
        digit = payload.decode("latin-1")
        if digit not in _DTMF_DIGITS:
            raise MediaProtocolError(f"AudioSocket DTMF {payload!r} is not one digit")
        return Dtmf(digit)
    if kind == Kind.ERROR:
        return ErrorMessage(payload[0] if payload else None)
    return UnknownMessage(kind, payload)


class AudioSocketDecoder:
    """Bytes of one connection in, messages out; chunks may split messages anywhere.

    `expect_uuid` (the server side, reading Asterisk) requires the UUID first and only
    once. After a hang-up nothing may follow. Any violation raises MediaProtocolError and
    the decoder stays broken (the connection must be closed).
    """

    def __init__(self, *, expect_uuid: bool = True) -> None:
        self._buffer = bytearray()
        self._need_uuid = expect_uuid
        self._expect_uuid = expect_uuid
        self._ended = False
        self._broken: MediaProtocolError | None = None

    @property
    def buffered(self) -> int:
        """Bytes of an incomplete message held for the next chunk."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[AudioSocketMessage]:
        """Add received bytes; the complete messages they finish, in order."""
        if self._broken is not None:
            raise self._broken
        self._buffer += data
        messages: list[AudioSocketMessage] = []
        offset = 0
        try:
            while len(self._buffer) - offset >= HEADER.size:
                kind, length = HEADER.unpack_from(self._buffer, offset)
                end = offset + HEADER.size + length
                if len(self._buffer) < end:
                    break
                messages.append(self._check(_decode(kind, bytes(self._buffer[end - length:end]))))
                offset = end
        except MediaProtocolError as exc:
            self._broken = exc
            raise
        finally:
            del self._buffer[:offset]
        return messages

    def _check(self, message: AudioSocketMessage) -> AudioSocketMessage:
        if self._ended:
            raise MediaProtocolError("AudioSocket data after the hang-up")
        is_uuid = isinstance(message, CallUuid)
        if self._need_uuid and not is_uuid:
            raise MediaProtocolError("AudioSocket stream must start with the call's UUID")
        if is_uuid and not self._need_uuid and self._expect_uuid:
            raise MediaProtocolError("AudioSocket UUID sent twice")
        self._need_uuid = False
        self._ended = isinstance(message, Hangup)
        return message

    def close(self) -> None:
        """The peer closed the stream: MediaProtocolError if it cut a message short."""
        if self._buffer and self._broken is None:
            self._broken = MediaProtocolError(
                f"AudioSocket stream ended inside a message ({len(self._buffer)} bytes)")
            raise self._broken


def encode(message: AudioSocketMessage) -> bytes:
    """One message on the wire."""
    if isinstance(message, Audio):
        kind, payload = Kind.AUDIO.value, message.pcm
        if len(payload) % 2:
            raise MediaProtocolError("AudioSocket audio must be whole 16-bit samples")
    elif isinstance(message, CallUuid):
        kind, payload = Kind.UUID.value, message.uuid.bytes
    elif isinstance(message, Hangup):
        kind, payload = Kind.HANGUP.value, b""
    elif isinstance(message, Dtmf):
        if message.digit not in _DTMF_DIGITS:
            raise MediaProtocolError(f"not a DTMF digit: {message.digit!r}")
        kind, payload = Kind.DTMF.value, message.digit.encode("ascii")
    elif isinstance(message, ErrorMessage):
        kind = Kind.ERROR.value
        payload = b"" if message.code is None else bytes([message.code & 0xFF])
    else:
        kind, payload = message.kind, message.payload
    if len(payload) > MAX_PAYLOAD:
        raise MediaProtocolError(f"AudioSocket payload of {len(payload)} bytes is too long")
    return HEADER.pack(kind, len(payload)) + payload


def encode_audio(pcm: bytes, frame_bytes: int = FRAME_BYTES) -> bytes:
    """Linear audio of any length as 20 ms audio messages (Asterisk's own framing)."""
    return b"".join(encode(Audio(pcm[i:i + frame_bytes]))
                    for i in range(0, len(pcm), frame_bytes))
