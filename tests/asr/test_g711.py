from __future__ import annotations

import sys
import warnings
from types import ModuleType

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotline.asr import g711
from hotline.asr.errors import AudioFormatError
from hotline.asr.g711 import AudioEncoding

ALL_BYTES = bytes(range(256))
ALL_SAMPLES = np.arange(-32768, 32768, dtype="<i2").tobytes()


def _audioop() -> ModuleType:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import audioop  # the reference: deprecated, removed in Python 3.13
    return audioop


@pytest.mark.skipif(sys.version_info >= (3, 13), reason="audioop was removed in Python 3.13")
class TestAgainstAudioop:
    def test_ulaw_decode_every_byte(self) -> None:
        assert g711.ulaw_decode(ALL_BYTES) == _audioop().ulaw2lin(ALL_BYTES, 2)

    def test_alaw_decode_every_byte(self) -> None:
        assert g711.alaw_decode(ALL_BYTES) == _audioop().alaw2lin(ALL_BYTES, 2)

    def test_ulaw_encode_every_sample(self) -> None:
        assert g711.ulaw_encode(ALL_SAMPLES) == _audioop().lin2ulaw(ALL_SAMPLES, 2)

    def test_alaw_encode_every_sample(self) -> None:
        assert g711.alaw_encode(ALL_SAMPLES) == _audioop().lin2alaw(ALL_SAMPLES, 2)


def test_known_values() -> None:
    # µ-law 0xFF and A-law 0xD5 are the codes for (near) zero; 0x00 / 0x2A are loudest.
    assert np.frombuffer(g711.ulaw_decode(b"\xff\x00\x80"), "<i2").tolist() == [0, -32124, 32124]
    assert np.frombuffer(g711.alaw_decode(b"\xd5\x2a\xaa"), "<i2").tolist() == [8, -32256, 32256]


@given(st.binary(max_size=400))
def test_ulaw_bytes_round_trip(data: bytes) -> None:
    linear = g711.ulaw_decode(data)
    assert len(linear) == 2 * len(data)
    # Every code decodes to a value that encodes back to a code of the same value
    # (µ-law has two codes for zero, so compare decoded values).
    assert g711.ulaw_decode(g711.ulaw_encode(linear)) == linear


@given(st.binary(max_size=400))
def test_alaw_bytes_round_trip(data: bytes) -> None:
    # A-law has no duplicate codes: the bytes themselves come back.
    assert g711.alaw_encode(g711.alaw_decode(data)) == data


@given(st.lists(st.integers(-32768, 32767), max_size=200))
def test_linear_round_trip_error_is_within_the_quantisation_step(samples: list[int]) -> None:
    pcm = np.array(samples, dtype="<i2").tobytes()
    original = np.array(samples, dtype=np.int64)
    for encode, decode in ((g711.ulaw_encode, g711.ulaw_decode),
                           (g711.alaw_encode, g711.alaw_decode)):
        back = np.frombuffer(decode(encode(pcm)), "<i2").astype(np.int64)
        # Logarithmic companding: the error grows with the magnitude (about 1/16 of it
        # at most, never more than one top-segment step of 1024).
        bound = np.maximum(np.abs(original) // 16 + 16, 16).clip(max=1024)
        assert np.all(np.abs(back - original) <= bound)
        assert np.all(np.sign(back) * np.sign(original) >= 0)  # no sign flips


def test_odd_linear_input_is_refused_with_our_error() -> None:
    with pytest.raises(AudioFormatError, match="even byte count"):
        g711.ulaw_encode(b"\x00\x01\x02")
    with pytest.raises(AudioFormatError):
        g711.to_linear(b"\x00", AudioEncoding.SLIN16)


def test_tables_are_read_only() -> None:
    with pytest.raises(ValueError):
        g711.ULAW_TO_LINEAR[0] = 1
