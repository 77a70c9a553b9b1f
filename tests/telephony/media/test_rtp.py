"""The RTP codec and reorder buffer: shapes Asterisk sends, losses, fuzz."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotline.asr.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode
from hotline.telephony.media.errors import MediaProtocolError
from hotline.telephony.media.rtp import (
    PT_PCMA,
    PT_PCMU,
    RtpExtension,
    RtpPacket,
    RtpReceiver,
    build_rtp,
    parse_rtp,
)

# The first header Asterisk 20 sent in the recorded externalMedia phase (µ-law).
ASTERISK_HEADER = bytes.fromhex("8000bbd8000000a0379a1a17")
SSRC = 932846103


def packet(seq: int, fill: int = 1, *, ssrc: int = SSRC, pt: int = PT_PCMU) -> RtpPacket:
    return RtpPacket(pt, seq % 65536, (seq * 160) % 2**32, ssrc, bytes([fill % 256]) * 160)


def pcm_of(p: RtpPacket) -> bytes:
    return ulaw_decode(p.payload)


def test_parses_the_recorded_asterisk_header() -> None:
    parsed = parse_rtp(ASTERISK_HEADER + bytes(160) + b"\xff" * 0)
    assert (parsed.payload_type, parsed.sequence, parsed.timestamp, parsed.ssrc) == (
        PT_PCMU, 48088, 160, SSRC)
    assert not parsed.marker and parsed.csrcs == () and parsed.extension is None
    assert len(parsed.payload) == 160


def test_headers_of_the_trace(media_trace: dict[str, Any]) -> None:
    stats = media_trace["rtp"]
    assert stats["bytes"] == 172 * stats["pkts"]  # 12-byte header + 160 µ-law samples
    for first in stats["first"]:
        parsed = parse_rtp(bytes.fromhex(first["hdr"]) + bytes(first["len"] - 12))
        assert (parsed.payload_type, parsed.sequence, parsed.timestamp, parsed.ssrc) == (
            first["pt"], first["seq"], first["ts"], first["ssrc"])
        assert len(parsed.payload) == 160
    # The driver binds the RTP source the externalMedia response names.
    assert f'"UNICASTRTP_LOCAL_PORT":"{stats["addr"][1]}"' in media_trace["rest"]


def test_round_trip_with_every_header_field() -> None:
    full = RtpPacket(PT_PCMA, 65535, 2**32 - 1, 7, b"abc", marker=True, csrcs=(1, 2, 3),
                     extension=RtpExtension(0xBEDE, b"\x01\x02\x03\x04"), padding=5)
    wire = build_rtp(full)
    assert len(wire) == 12 + 12 + 4 + 4 + 3 + 5
    assert parse_rtp(wire) == full


@pytest.mark.parametrize(("wire", "why"), [
    (b"", "shorter than its header"),
    (bytes.fromhex("4000bbd8000000a0379a1a17"), "version 1"),
    (bytes.fromhex("8300bbd8000000a0379a1a17") + bytes(8), "CSRC"),
    (bytes.fromhex("9000bbd8000000a0379a1a17") + b"\xbe\xde", "extension header"),
    (bytes.fromhex("9000bbd8000000a0379a1a17") + b"\xbe\xde\x00\x02" + bytes(4), "extension"),
    (bytes.fromhex("a000bbd8000000a0379a1a17") + b"\x00\x00", "padding"),
    (bytes.fromhex("a000bbd8000000a0379a1a17") + b"\x00\x09", "padding"),
    (bytes.fromhex("80c8000600000000379a1a17"), "RTCP"),  # a sender report
])
def test_malformed_packets_raise_the_protocol_error(wire: bytes, why: str) -> None:
    with pytest.raises(MediaProtocolError, match=why):
        parse_rtp(wire)


@given(st.binary(max_size=300))
def test_fuzz_parse_only_raises_the_protocol_error(data: bytes) -> None:
    with contextlib.suppress(MediaProtocolError):
        parse_rtp(data)


@given(st.lists(st.binary(min_size=12, max_size=200), max_size=40))
def test_fuzz_receiver_only_raises_the_protocol_error(datagrams: list[bytes]) -> None:
    receiver = RtpReceiver()
    for data in datagrams:
        try:
            for pcm in receiver.receive_datagram(b"\x80" + data[1:]):
                assert len(pcm) % 2 == 0
        except MediaProtocolError:
            pass
    receiver.flush()


def test_in_order_packets_come_out_at_once_across_the_wrap() -> None:
    receiver = RtpReceiver()
    sent = [packet(seq, seq) for seq in range(65533, 65540)]
    for p in sent:
        assert receiver.receive(p) == [pcm_of(p)]
    assert receiver.stats.released == 7 and receiver.stats.lost == 0


def test_reordered_duplicated_and_late_packets() -> None:
    receiver = RtpReceiver(reorder_depth=3)
    a, b, c, d = (packet(s, s) for s in (10, 11, 12, 13))
    assert receiver.receive(a) == [pcm_of(a)]
    assert receiver.receive(c) == []  # waits for 11
    assert receiver.receive(c) == []  # duplicate
    assert receiver.receive(b) == [pcm_of(b), pcm_of(c)]
    assert receiver.receive(a) == []  # late: its place was played out
    assert receiver.receive(d) == [pcm_of(d)]
    assert (receiver.stats.duplicates, receiver.stats.late) == (1, 1)


def test_a_loss_is_filled_with_silence_up_to_the_bound() -> None:
    receiver = RtpReceiver(reorder_depth=2, max_fill_packets=5)
    receiver.receive(packet(100))
    # 101 lost: after 102..104 wait (more than 2), it is given up and filled.
    assert receiver.receive(packet(102)) == [] and receiver.receive(packet(103)) == []
    out = receiver.receive(packet(104))
    assert out[0] == bytes(320) and len(out) == 4
    assert receiver.stats.lost == 1 and receiver.stats.filled_samples == 160
    # A long loss (20 packets) is filled with at most 5 packets of silence.
    for seq in (125, 126, 127):
        out = receiver.receive(packet(seq))
    assert out[0] == bytes(5 * 320) and receiver.stats.lost == 21
    assert receiver.receive(packet(110)) == []  # arrived after its gap was skipped


def test_a_new_ssrc_or_a_big_jump_starts_the_stream_over() -> None:
    receiver = RtpReceiver()
    receiver.receive(packet(1))
    held = packet(3)
    assert receiver.receive(held) == []
    fresh = packet(9000, 7, ssrc=42)
    # The old stream's held audio comes out first (after its one-packet gap).
    assert receiver.receive(fresh) == [bytes(320), pcm_of(held), pcm_of(fresh)]
    jump = packet(30000, 9, ssrc=42)
    assert receiver.receive(jump) == [pcm_of(jump)]
    assert receiver.stats.resyncs == 2


def test_non_audio_payloads_keep_their_place_but_give_no_audio() -> None:
    receiver = RtpReceiver()
    assert receiver.receive(packet(1)) != []
    assert receiver.receive(RtpPacket(101, 2, 320, SSRC, b"\x05\x0a\x00\xa0")) == []  # DTMF
    alaw = RtpPacket(PT_PCMA, 3, 480, SSRC, alaw_encode(bytes(320)))
    assert receiver.receive(alaw) == [alaw_decode(alaw.payload)]
    assert receiver.stats.not_audio == 1 and receiver.stats.lost == 0


@given(
    start=st.integers(0, 65535),
    count=st.integers(1, 60),
    delays=st.lists(st.integers(0, 3), min_size=60, max_size=60),
    duplicates=st.lists(st.integers(0, 59), max_size=10),
)
def test_any_reordering_within_the_window_gives_the_same_audio(
    start: int, count: int, delays: list[int], duplicates: list[int]
) -> None:
    sent = [packet(start + i, i) for i in range(count)]
    # Each packet is overtaken by at most 3 later ones (the window): sort by index + delay.
    # The stream starts where its first packet arrives, so that one is not delayed.
    delays[0] = 0
    order = sorted(range(count), key=lambda i: (i + delays[i], i))
    arrivals = [sent[i] for i in order]
    for i in duplicates:  # a duplicate arrives some time after its original
        if i < count:
            arrivals.insert(min(len(arrivals), order.index(i) + 1 + delays[i]), sent[i])
    receiver = RtpReceiver(reorder_depth=3)
    out = [pcm for p in arrivals for pcm in receiver.receive(p)] + receiver.flush()
    assert b"".join(out) == b"".join(pcm_of(p) for p in sent)
    assert receiver.stats.lost == 0


def test_build_rejects_what_cannot_be_sent() -> None:
    with pytest.raises(MediaProtocolError):
        build_rtp(RtpPacket(200, 1, 1, 1, b""))
    with pytest.raises(MediaProtocolError):
        build_rtp(RtpPacket(0, 1, 1, 1, b"", extension=RtpExtension(1, b"abc")))
    assert parse_rtp(build_rtp(RtpPacket(0, 1, 1, 1, ulaw_encode(bytes(4))))).payload == b"\xff" * 2
