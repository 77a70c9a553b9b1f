"""The AudioSocket codec: Asterisk's recorded shapes, any split of a stream, fuzz."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotline.telephony.media.audiosocket import (
    Audio,
    AudioSocketDecoder,
    AudioSocketMessage,
    CallUuid,
    Dtmf,
    ErrorMessage,
    Hangup,
    UnknownMessage,
    encode,
    encode_audio,
)
from hotline.telephony.media.errors import MediaProtocolError

# The recorded connection: the UUID given as externalMedia `data`, then 320-byte slin.
TRACE_UUID = uuid.UUID("0f2a8c2e-5b6d-4e3a-9a1b-123456789abc")
OPENING = bytes.fromhex("010010") + TRACE_UUID.bytes
FRAME = bytes.fromhex("100140") + bytes(320)


def stream_of(frames: int = 3, *, hangup: bool = True) -> bytes:
    audio = b"".join(bytes.fromhex("100140") + bytes([i]) * 320 for i in range(frames))
    return OPENING + audio + (bytes.fromhex("000000") if hangup else b"")


def decode_all(chunks: list[bytes]) -> list[AudioSocketMessage]:
    decoder = AudioSocketDecoder()
    out = [m for chunk in chunks for m in decoder.feed(chunk)]
    decoder.close()
    return out


def test_the_recorded_opening_and_audio() -> None:
    decoder = AudioSocketDecoder()
    assert decoder.feed(OPENING + FRAME) == [CallUuid(TRACE_UUID), Audio(bytes(320))]
    assert decoder.feed(bytes.fromhex("000000")) == [Hangup()]
    decoder.close()


def test_shapes_of_the_trace(media_trace: dict[str, Any]) -> None:
    stats = media_trace["audiosocket"]
    assert stats["kinds"] == {"0x1": 1, "0x10": 201} and stats["eof"] is True
    first = stats["first"]
    assert first[0] == {"kind": "0x1", "len": 16, "payload_head": TRACE_UUID.hex}
    assert {f["len"] for f in first[1:]} == {320}
    # The UUID is what the driver passed as `data` in the externalMedia request.
    assert f"data={TRACE_UUID}" in media_trace["rest"]


def test_messages_round_trip() -> None:
    messages: list[AudioSocketMessage] = [
        CallUuid(TRACE_UUID), Audio(b"\x01\x02" * 160), Dtmf("#"), ErrorMessage(2),
        ErrorMessage(None), UnknownMessage(0x12, b"\x00" * 640), Hangup(),
    ]
    assert decode_all([b"".join(encode(m) for m in messages)]) == messages


def test_audio_is_sent_in_20_ms_frames() -> None:
    wire = encode_audio(b"\x07\x00" * 400)
    decoder = AudioSocketDecoder(expect_uuid=False)
    assert [len(m.pcm) for m in decoder.feed(wire) if isinstance(m, Audio)] == [320, 320, 160]


@pytest.mark.parametrize(("wire", "why"), [
    (FRAME, "must start with the call's UUID"),
    (bytes.fromhex("01000f") + bytes(15), "UUID of 15 bytes"),
    (OPENING + OPENING, "UUID sent twice"),
    (OPENING + bytes.fromhex("100003") + bytes(3), "odd"),
    (OPENING + bytes.fromhex("000001") + b"x", "hang-up with a payload"),
    (OPENING + bytes.fromhex("000000") + FRAME, "after the hang-up"),
    (OPENING + bytes.fromhex("030001") + b"x", "DTMF"),
])
def test_malformed_streams_raise_the_protocol_error(wire: bytes, why: str) -> None:
    decoder = AudioSocketDecoder()
    with pytest.raises(MediaProtocolError, match=why):
        decoder.feed(wire)
    with pytest.raises(MediaProtocolError):  # the decoder stays broken
        decoder.feed(FRAME)


def test_a_stream_cut_inside_a_message() -> None:
    decoder = AudioSocketDecoder()
    decoder.feed(OPENING + FRAME[:100])
    assert decoder.buffered == 100
    with pytest.raises(MediaProtocolError, match="ended inside a message"):
        decoder.close()


def test_encode_rejects_what_cannot_be_sent() -> None:
    for bad in (Audio(b"\x00"), Dtmf("x"), UnknownMessage(0x10, bytes(70000))):
        with pytest.raises(MediaProtocolError):
            encode(bad)


@given(st.lists(st.integers(0, len(stream_of())), max_size=12))
def test_any_split_of_a_valid_stream_gives_the_same_messages(cuts: list[int]) -> None:
    data = stream_of()
    bounds = [0, *sorted(cuts), len(data)]
    chunks = [data[a:b] for a, b in itertools.pairwise(bounds)]
    assert decode_all(chunks) == decode_all([data])


@given(st.integers(0, len(stream_of(hangup=False)) - 1))
def test_any_truncation_gives_a_prefix_then_the_protocol_error(cut: int) -> None:
    data = stream_of(hangup=False)
    decoder = AudioSocketDecoder()
    got = decoder.feed(data[:cut])
    assert got == decode_all([data])[: len(got)]
    if decoder.buffered:
        with pytest.raises(MediaProtocolError):
            decoder.close()


@given(st.binary(max_size=400), st.booleans(), st.integers(1, 50))
def test_fuzz_only_raises_the_protocol_error(data: bytes, opened: bool, step: int) -> None:
    decoder = AudioSocketDecoder()
    try:
        for i in range(0, len(data), step):
            decoder.feed((OPENING if opened and i == 0 else b"") + data[i:i + step])
        decoder.close()
    except MediaProtocolError:
        pass
