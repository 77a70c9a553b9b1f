"""RTP (RFC 3550) without I/O: datagrams in, 8 kHz 16-bit linear audio out.

Asterisk's externalMedia sends one RTP stream per channel, µ-law (payload type 0) in
the recorded traces: 172-byte datagrams every 20 ms (12-byte header, 160 samples).
`RtpReceiver` puts each stream back in order with a small reorder window (UDP may
reorder, duplicate or lose packets), fills short losses with silence so the audio keeps
its timing (speech detection and end-of-speech are measured in audio time), and drops
what comes too late to be used.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from hotline.asr.g711 import alaw_decode, ulaw_decode
from hotline.telephony.media.errors import MediaProtocolError

RTP_VERSION = 2
HEADER_BYTES = 12
PT_PCMU = 0  # G.711 µ-law, 8 kHz (RFC 3551)
PT_PCMA = 8  # G.711 A-law, 8 kHz
_RTCP_TYPES = range(72, 77)  # RTCP packet types 200-204 seen as RTP (RFC 5761 §4)
_SEQ_MOD = 1 << 16
_HALF_SEQ = 1 << 15
_HEADER = struct.Struct("!BBHII")


@dataclass(frozen=True, slots=True)
class RtpExtension:
    """A header extension (RFC 3550 §5.3.1): a profile word and its 32-bit words."""

    profile: int
    data: bytes


@dataclass(frozen=True, slots=True)
class RtpPacket:
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes
    marker: bool = False
    csrcs: tuple[int, ...] = ()
    extension: RtpExtension | None = None
    padding: int = 0  # padding bytes after the payload (removed from `payload`)


def parse_rtp(datagram: bytes) -> RtpPacket:
    """One RTP datagram → its packet; MediaProtocolError if it is not valid RTP."""
    data = bytes(datagram)
    if len(data) < HEADER_BYTES:
        raise MediaProtocolError(f"RTP packet of {len(data)} bytes is shorter than its header")
    first, second, sequence, timestamp, ssrc = _HEADER.unpack_from(data)
    if first >> 6 != RTP_VERSION:
        raise MediaProtocolError(f"RTP version {first >> 6}, expected 2")
    payload_type = second & 0x7F
    if payload_type in _RTCP_TYPES:
        raise MediaProtocolError("an RTCP packet on the RTP port")
    count = first & 0x0F
    offset = HEADER_BYTES + 4 * count
    if len(data) < offset:
        raise MediaProtocolError(f"RTP packet too short for its {count} CSRC(s)")
    csrcs = struct.unpack_from(f"!{count}I", data, HEADER_BYTES)
    extension = None
    if first & 0x10:
        if len(data) < offset + 4:
            raise MediaProtocolError("RTP packet too short for its extension header")
        profile, words = struct.unpack_from("!HH", data, offset)
        start, offset = offset + 4, offset + 4 + 4 * words
        if len(data) < offset:
            raise MediaProtocolError("RTP packet too short for its extension")
        extension = RtpExtension(profile, data[start:offset])
    end, padding = len(data), 0
    if first & 0x20:
        padding = data[-1]
        if padding == 0 or offset + padding > end:
            raise MediaProtocolError(f"RTP padding of {padding} bytes does not fit the packet")
        end -= padding
    return RtpPacket(payload_type, sequence, timestamp, ssrc, data[offset:end],
                     bool(second & 0x80), csrcs, extension, padding)


def build_rtp(packet: RtpPacket) -> bytes:
    """The datagram for `packet` (what a sender, or a test peer standing in for Asterisk,
    puts on the wire). Padding bytes are zeros ending with their count."""
    if not 0 <= packet.payload_type < 128 or len(packet.csrcs) > 15:
        raise MediaProtocolError("RTP payload type must be 0..127 with at most 15 CSRCs")
    first = RTP_VERSION << 6 | len(packet.csrcs)
    if packet.padding:
        first |= 0x20
    if packet.extension is not None:
        first |= 0x10
    parts = [
        _HEADER.pack(first, packet.payload_type | (0x80 if packet.marker else 0),
                     packet.sequence & 0xFFFF, packet.timestamp & 0xFFFFFFFF,
                     packet.ssrc & 0xFFFFFFFF),
        struct.pack(f"!{len(packet.csrcs)}I", *packet.csrcs),
    ]
    if packet.extension is not None:
        ext = packet.extension
        if len(ext.data) % 4:
            raise MediaProtocolError("an RTP header extension is a whole number of words")
        parts += [struct.pack("!HH", ext.profile, len(ext.data) // 4), ext.data]
    parts.append(packet.payload)
    if packet.padding:
        if not 0 < packet.padding < 256:
            raise MediaProtocolError("RTP padding must be 1..255 bytes")
        parts.append(bytes(packet.padding - 1) + bytes([packet.padding]))
    return b"".join(parts)


@dataclass(slots=True)
class RtpStats:
    """What one receiver saw (for metrics and tests)."""

    packets: int = 0
    released: int = 0
    late: int = 0  # arrived after its place was played out (or skipped): dropped
    duplicates: int = 0
    lost: int = 0  # never arrived before the reorder window moved past them
    filled_samples: int = 0  # silence put in for lost packets
    resyncs: int = 0  # new SSRC or a sequence jump: the stream started over
    not_audio: int = 0  # payload types we do not decode (DTMF events, comfort noise)


def _delta(sequence: int, expected: int) -> int:
    """How far `sequence` is ahead of `expected` (negative: behind), across the wrap."""
    return (sequence - expected + _HALF_SEQ) % _SEQ_MOD - _HALF_SEQ


class RtpReceiver:
    """One RTP stream in, its audio out in order, as 16-bit LE linear PCM chunks.

    In-order packets are released at once (no added delay in the usual case). A packet
    ahead of the next expected one waits; when more than `reorder_depth` wait, the
    missing ones are declared lost and replaced by at most `max_fill_packets` packets of
    silence (a longer loss is not padded: the audio simply continues). A jump of
    `resync_gap` sequence numbers or more, or a new SSRC, starts the stream over. The
    stream starts at the first packet received (one that overtook an earlier packet
    makes that one late).
    """

    def __init__(
        self, *, reorder_depth: int = 3, max_fill_packets: int = 5, resync_gap: int = 100
    ) -> None:
        if reorder_depth < 0 or max_fill_packets < 0 or resync_gap <= reorder_depth + 1:
            raise ValueError("RtpReceiver needs depth >= 0, fill >= 0, resync gap > depth + 1")
        self.reorder_depth = reorder_depth
        self.max_fill_packets = max_fill_packets
        self.resync_gap = resync_gap
        self.stats = RtpStats()
        self._ssrc: int | None = None
        self._next = 0  # the sequence number to release next
        self._held: dict[int, RtpPacket] = {}
        self._samples = 160  # samples per packet, from the last audio packet (for fills)

    def receive_datagram(self, datagram: bytes) -> list[bytes]:
        """Parse and receive one datagram (MediaProtocolError if it is not RTP)."""
        return self.receive(parse_rtp(datagram))

    def receive(self, packet: RtpPacket) -> list[bytes]:
        """Take one packet; the audio now ready, in order (maybe none)."""
        self.stats.packets += 1
        out: list[bytes] = []
        if self._ssrc is None or packet.ssrc != self._ssrc:
            if self._ssrc is not None:
                out += self.flush()
                self.stats.resyncs += 1
            self._ssrc, self._next = packet.ssrc, packet.sequence
        delta = _delta(packet.sequence, self._next)
        if abs(delta) >= self.resync_gap:
            out += self.flush()
            self.stats.resyncs += 1
            self._next, delta = packet.sequence, 0
        if delta < 0:
            self.stats.late += 1  # includes duplicates of packets already played out
            return out
        if packet.sequence in self._held:
            self.stats.duplicates += 1
            return out
        self._held[packet.sequence] = packet
        if delta == 0:
            out += self._drain()
        elif len(self._held) > self.reorder_depth:
            out += self._skip_to_earliest()
        return out

    def flush(self) -> list[bytes]:
        """The stream ended (or starts over): release everything held, in order."""
        out: list[bytes] = []
        while self._held:
            out += self._skip_to_earliest()
        return out

    def _drain(self) -> list[bytes]:
        out: list[bytes] = []
        while (packet := self._held.pop(self._next, None)) is not None:
            self._next = (self._next + 1) % _SEQ_MOD
            self.stats.released += 1
            pcm = self._decode(packet)
            if pcm:
                out.append(pcm)
        return out

    def _skip_to_earliest(self) -> list[bytes]:
        earliest = min(self._held, key=lambda seq: _delta(seq, self._next))
        missing = _delta(earliest, self._next)
        self.stats.lost += missing
        filled = min(missing, self.max_fill_packets) * self._samples
        self.stats.filled_samples += filled
        self._next = earliest
        out = [bytes(2 * filled)] if filled else []
        return out + self._drain()

    def _decode(self, packet: RtpPacket) -> bytes:
        if packet.payload_type == PT_PCMU:
            pcm = ulaw_decode(packet.payload)
        elif packet.payload_type == PT_PCMA:
            pcm = alaw_decode(packet.payload)
        else:
            self.stats.not_audio += 1
            return b""
        if packet.payload:
            self._samples = len(packet.payload)
        return pcm
