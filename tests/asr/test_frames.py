from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from hotline.asr import g711
from hotline.asr.frames import FRAME_BYTES, FrameSplitter
from hotline.asr.g711 import AudioEncoding


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


@given(st.binary(min_size=0, max_size=3000), st.lists(st.integers(0, 10_000), max_size=30))
def test_any_chunking_of_linear_audio_gives_the_same_frames(data: bytes, cuts: list[int]) -> None:
    whole = FrameSplitter(AudioEncoding.SLIN16)
    expected = whole.push(data) + whole.flush()
    pieces = FrameSplitter(AudioEncoding.SLIN16)
    got: list[bytes] = []
    for chunk in _split(data, cuts):
        got += pieces.push(chunk)
    got += pieces.flush()
    assert got == expected
    assert all(len(f) == FRAME_BYTES for f in got)
    joined = b"".join(got)
    usable = len(data) - len(data) % 2
    assert joined[:usable] == data[:usable]  # nothing lost or shifted
    assert set(joined[usable:]) <= {0}  # only silence padding after


@given(st.binary(min_size=0, max_size=2000), st.lists(st.integers(0, 10_000), max_size=20))
def test_ulaw_chunks_decode_to_the_same_frames(data: bytes, cuts: list[int]) -> None:
    splitter = FrameSplitter(AudioEncoding.ULAW)
    frames: list[bytes] = []
    for chunk in _split(data, cuts):
        frames += splitter.push(chunk)
    frames += splitter.flush()
    linear = g711.ulaw_decode(data)
    assert b"".join(frames)[: len(linear)] == linear


def test_frames_are_20ms_of_8khz_16bit() -> None:
    assert FRAME_BYTES == 320
    splitter = FrameSplitter(AudioEncoding.ALAW)
    assert splitter.push(b"\xd5" * 159) == []
    frames = splitter.push(b"\xd5" * 162)  # 321 samples so far: 2 frames, 1 held
    assert len(frames) == 2
    assert np.frombuffer(frames[0], "<i2").tolist() == [8] * 160
    assert len(splitter.flush()) == 1
    assert splitter.flush() == []


def test_odd_byte_is_held_until_its_pair_arrives() -> None:
    splitter = FrameSplitter(AudioEncoding.SLIN16)
    sample = (1234).to_bytes(2, "little", signed=True)
    assert splitter.push(b"\0" * 318 + sample[:1]) == []
    (frame,) = splitter.push(sample[1:])
    assert np.frombuffer(frame, "<i2")[-1] == 1234
