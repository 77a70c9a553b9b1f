"""G.711 µ-law and A-law codecs with numpy lookup tables (ITU-T G.711).

`audioop` is deprecated since Python 3.11 and removed in 3.13, so telephone audio is
converted here: decoding is one table lookup per byte (256 entries), encoding one per
16-bit sample (65536 entries), both built once at import from the reference algorithm
(the Sun Microsystems g711.c that most PBXes, Asterisk included, derive from).
"""

from __future__ import annotations

from enum import Enum

import numpy as np
import numpy.typing as npt

from hotline.asr.errors import AudioFormatError

Int16Array = npt.NDArray[np.int16]

_ULAW_BIAS = 0x84
_ULAW_CLIP = 8159  # in the 14-bit domain used by the reference encoder
_ULAW_SEG_END = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])
_ALAW_SEG_END = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])


def _build_ulaw_decode() -> Int16Array:
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    t = ((u & 0x0F) << 3) + _ULAW_BIAS
    t <<= (u & 0x70) >> 4
    return np.where(u & 0x80, _ULAW_BIAS - t, t - _ULAW_BIAS).astype(np.int16)


def _build_alaw_decode() -> Int16Array:
    a = np.arange(256, dtype=np.int32) ^ 0x55
    seg = (a & 0x70) >> 4
    t = (a & 0x0F) << 4
    t = np.where(seg == 0, t + 8, t + 0x108)
    t = np.where(seg > 1, t << np.maximum(seg - 1, 0), t)
    return np.where(a & 0x80, t, -t).astype(np.int16)


def _all_samples() -> npt.NDArray[np.int32]:
    # Index i of an encode table is the int16 sample whose uint16 bit pattern is i.
    return np.arange(65536, dtype=np.uint16).view(np.int16).astype(np.int32)


def _build_ulaw_encode() -> npt.NDArray[np.uint8]:
    pcm = _all_samples() >> 2
    mask = np.where(pcm < 0, 0x7F, 0xFF)
    pcm = np.minimum(np.abs(pcm), _ULAW_CLIP) + (_ULAW_BIAS >> 2)
    seg = np.searchsorted(_ULAW_SEG_END, pcm)
    uval = (seg << 4) | ((pcm >> (seg + 1)) & 0x0F)
    return ((np.where(seg >= 8, 0x7F, uval) ^ mask) & 0xFF).astype(np.uint8)


def _build_alaw_encode() -> npt.NDArray[np.uint8]:
    pcm = _all_samples() >> 3
    mask = np.where(pcm >= 0, 0xD5, 0x55)
    pcm = np.where(pcm >= 0, pcm, -pcm - 1)
    seg = np.searchsorted(_ALAW_SEG_END, pcm)
    shift = np.where(seg < 2, 1, seg)
    aval = (seg << 4) | ((pcm >> shift) & 0x0F)
    return ((np.where(seg >= 8, 0x7F, aval) ^ mask) & 0xFF).astype(np.uint8)


ULAW_TO_LINEAR = _build_ulaw_decode()
ALAW_TO_LINEAR = _build_alaw_decode()
LINEAR_TO_ULAW = _build_ulaw_encode()
LINEAR_TO_ALAW = _build_alaw_encode()
# Little-endian copies, so decoding is one `take` per chunk with no byte swapping step.
_ULAW_TO_LE = ULAW_TO_LINEAR.astype("<i2")
_ALAW_TO_LE = ALAW_TO_LINEAR.astype("<i2")
for _table in (ULAW_TO_LINEAR, ALAW_TO_LINEAR, LINEAR_TO_ULAW, LINEAR_TO_ALAW, _ULAW_TO_LE,
               _ALAW_TO_LE):
    _table.setflags(write=False)


class AudioEncoding(Enum):
    """How a call's audio reaches us: 8 kHz mono, one of Asterisk's usual formats."""

    SLIN16 = "slin16"  # signed 16-bit little-endian linear PCM ("slin" in Asterisk)
    ULAW = "ulaw"
    ALAW = "alaw"

    @property
    def bytes_per_sample(self) -> int:
        return 2 if self is AudioEncoding.SLIN16 else 1


def ulaw_decode(data: bytes) -> bytes:
    """µ-law bytes → 16-bit little-endian linear PCM."""
    return _ULAW_TO_LE.take(np.frombuffer(data, dtype=np.uint8)).tobytes()


def alaw_decode(data: bytes) -> bytes:
    """A-law bytes → 16-bit little-endian linear PCM."""
    return _ALAW_TO_LE.take(np.frombuffer(data, dtype=np.uint8)).tobytes()


def _samples(pcm: bytes) -> npt.NDArray[np.uint16]:
    if len(pcm) % 2:
        raise AudioFormatError(f"16-bit PCM must have an even byte count, got {len(pcm)}")
    return np.frombuffer(pcm, dtype="<u2")


def ulaw_encode(pcm: bytes) -> bytes:
    """16-bit little-endian linear PCM → µ-law bytes."""
    return LINEAR_TO_ULAW[_samples(pcm)].tobytes()


def alaw_encode(pcm: bytes) -> bytes:
    """16-bit little-endian linear PCM → A-law bytes."""
    return LINEAR_TO_ALAW[_samples(pcm)].tobytes()


def to_linear(data: bytes, encoding: AudioEncoding) -> bytes:
    """Any supported encoding → 16-bit little-endian linear PCM (what Vosk takes)."""
    if encoding is AudioEncoding.ULAW:
        return ulaw_decode(data)
    if encoding is AudioEncoding.ALAW:
        return alaw_decode(data)
    _samples(data)  # validates the byte count
    return data
