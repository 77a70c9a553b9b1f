"""Batched decoding: our decisions stay per 20 ms frame, Vosk gets 100 ms at a time.

The stream logic is checked against a scripted recogniser (exact, fast, any batch size);
the hand-off from the event loop to the worker threads against the real model.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.asr.events import (
    FinalTranscript,
    NoSpeech,
    PartialTranscript,
    SpeechBegan,
    SpeechEvent,
    UtteranceTimedOut,
)
from hotline.asr.frames import FRAME_BYTES
from hotline.asr.g711 import AudioEncoding, ulaw_encode
from hotline.asr.service import SpeechService
from hotline.asr.settings import AsrSettings
from hotline.asr.stream import DECODE_EVERY_FRAMES, ListenLimits, SpeechStream

from .conftest import Say, silence

RATE = 8000
DEFAULT_LIMITS = ListenLimits()


def tone(seconds: float, level: float = 0.2) -> bytes:
    t = np.arange(int(RATE * seconds)) / RATE
    return (np.sin(2 * np.pi * 300 * t) * level * 32767).astype("<i2").tobytes()


class ScriptedRecognizer:
    """Stands in for Vosk: keeps the audio it is given and "hears" one word in it.

    The word spans the loud samples of everything fed since the last result, so its
    result depends only on which audio was fed, never on how it was split into calls.
    """

    def __init__(self, partial: str = "") -> None:
        self.calls: list[int] = []  # bytes per AcceptWaveform call
        self.fed = bytearray()
        self.utterance = bytearray()
        self.partial = partial

    def AcceptWaveform(self, data: bytes) -> int:
        assert isinstance(data, bytes) and len(data) % FRAME_BYTES == 0
        self.calls.append(len(data))
        self.fed += data
        self.utterance += data
        return 0

    def _result(self) -> str:
        samples = np.abs(np.frombuffer(bytes(self.utterance), "<i2").astype(np.int32))
        offset = (len(self.fed) - len(self.utterance)) / 2 / RATE
        self.utterance.clear()
        loud = np.flatnonzero(samples > 1000)
        if loud.size == 0:
            return json.dumps({"text": ""})
        start, end = offset + loud[0] / RATE, offset + (loud[-1] + 1) / RATE
        return json.dumps({"text": "네", "result": [
            {"word": "네", "start": start, "end": end, "conf": 0.9}]})

    def Result(self) -> str:
        return self._result()

    def FinalResult(self) -> str:
        return self._result()

    def PartialResult(self) -> str:
        return json.dumps({"partial": f"{self.partial} {len(self.fed)}" if self.partial else ""})

    def Reset(self) -> None:
        self.utterance.clear()


def run(
    audio: bytes,
    *,
    decode_every: int,
    chunks: Callable[[bytes], list[bytes]],
    limits: ListenLimits = DEFAULT_LIMITS,
    partial: str = "",
) -> tuple[list[SpeechEvent], ScriptedRecognizer]:
    recognizer = ScriptedRecognizer(partial)
    stream = SpeechStream("c", recognizer, started_at=100.0, limits=limits,
                          decode_every=decode_every)
    events: list[SpeechEvent] = []
    for chunk in chunks(audio):
        events += stream.accept(chunk)
        if not stream.finished:  # Vosk is never more than one batch behind what we heard
            heard = round(stream.position_s * RATE) * 2
            assert heard - len(recognizer.fed) < decode_every * FRAME_BYTES
    events += stream.finish()
    return events, recognizer


def every(size: int) -> Callable[[bytes], list[bytes]]:
    return lambda audio: [audio[i : i + size] for i in range(0, len(audio), size)]


def cut_at(cuts: list[int]) -> Callable[[bytes], list[bytes]]:
    def split(audio: bytes) -> list[bytes]:
        points = sorted({c % (len(audio) + 1) for c in cuts})
        return [audio[a:b] for a, b in itertools.pairwise([0, *points, len(audio)])]

    return split


SCENES: dict[str, tuple[bytes, ListenLimits]] = {
    "word then silence": (silence(1.0) + tone(0.6) + silence(1.5), ListenLimits()),
    "long talker": (silence(0.3) + tone(3.0), ListenLimits(max_utterance_s=1.5)),
    "nothing said": (silence(2.5), ListenLimits(no_speech_timeout_s=1.0)),
    "hang-up mid word": (silence(0.5) + tone(0.37), ListenLimits()),
    "cough then word": (silence(0.5) + tone(0.04) + silence(0.5) + tone(0.5) + silence(1),
                        ListenLimits()),
}


@pytest.mark.parametrize("scene", SCENES)
@pytest.mark.parametrize("decode_every", [2, DECODE_EVERY_FRAMES, 7])
def test_batching_leaves_every_event_and_its_timing_unchanged(
    scene: str, decode_every: int
) -> None:
    audio, limits = SCENES[scene]
    reference, _ = run(audio, decode_every=1, chunks=every(FRAME_BYTES), limits=limits)
    events, _ = run(audio, decode_every=decode_every, chunks=every(FRAME_BYTES), limits=limits)
    assert events == reference
    assert reference  # every scene ends in a result


def test_the_scenes_end_as_intended() -> None:
    kinds = {scene: [type(e) for e in run(audio, decode_every=5, chunks=every(320),
                                          limits=limits)[0]]
             for scene, (audio, limits) in SCENES.items()}
    assert kinds["word then silence"] == [SpeechBegan, FinalTranscript]
    assert kinds["long talker"] == [SpeechBegan, UtteranceTimedOut, FinalTranscript]
    assert kinds["nothing said"] == [NoSpeech]
    assert kinds["hang-up mid word"] == [SpeechBegan, FinalTranscript]
    events, _ = run(SCENES["word then silence"][0], decode_every=5, chunks=every(320))
    began, final = events
    assert isinstance(began, SpeechBegan) and began.offset_s == 1.0 and began.at == 101.0
    assert isinstance(final, FinalTranscript)
    assert final.end_s == pytest.approx(1.6 + 0.7)  # 0.7 s of silence after the word
    assert (final.words[0].start_s, final.words[0].end_s) == (1.0, 1.6)


@settings(max_examples=40, deadline=None)
@given(
    cuts=st.lists(st.integers(0, 60_000), max_size=40),
    decode_every=st.integers(1, 9),
    scene=st.sampled_from(sorted(SCENES)),
)
def test_any_chunking_feeds_vosk_the_same_batches(
    cuts: list[int], decode_every: int, scene: str
) -> None:
    audio, limits = SCENES[scene]
    reference, fed = run(audio, decode_every=decode_every, chunks=every(FRAME_BYTES),
                         limits=limits)
    events, recognizer = run(audio, decode_every=decode_every, chunks=cut_at(cuts),
                             limits=limits)
    assert events == reference
    assert recognizer.calls == fed.calls  # the same calls, whatever the chunks
    assert bytes(recognizer.fed) == bytes(fed.fed)
    padded = audio + b"\0" * (-len(audio) % FRAME_BYTES)
    assert padded.startswith(bytes(recognizer.fed))  # nothing lost, doubled or shifted


def test_vosk_is_fed_once_per_batch_and_partials_come_at_batch_ends() -> None:
    audio = silence(1.0) + tone(1.0) + silence(1.0)
    events, recognizer = run(audio, decode_every=5, chunks=every(FRAME_BYTES),
                             partial="guess")
    final = events[-1]
    assert isinstance(final, FinalTranscript)
    heard_frames = round(final.end_s / 0.02)
    # One call per 100 ms of audio, plus one for the frames before the final result.
    assert recognizer.calls == [5 * FRAME_BYTES] * (heard_frames // 5) + (
        [heard_frames % 5 * FRAME_BYTES] if heard_frames % 5 else [])
    partials = [e for e in events if isinstance(e, PartialTranscript)]
    assert len(partials) >= 4
    for partial in partials:
        frame = round((partial.at - 100.0) / 0.02)
        assert frame % 5 == 0  # asked only where Vosk was just fed...
        assert partial.text == f"guess {frame * FRAME_BYTES}"  # ...so it saw all audio so far
    gaps = {round(b.at - a.at, 3) for a, b in itertools.pairwise(partials)}
    assert gaps == {0.2}


def test_decode_every_must_be_positive() -> None:
    with pytest.raises(ValueError, match="decode_every"):
        SpeechStream("c", ScriptedRecognizer(), started_at=0.0, decode_every=0)


# --- the hand-off to worker threads, on the real model --------------------------------


class GatedExecutor(ThreadPoolExecutor):
    """Counts the work handed over; holds it while the gate is shut."""

    def __init__(self) -> None:
        super().__init__(max_workers=2, thread_name_prefix="test-batch")
        self.gate = threading.Event()
        self.gate.set()
        self.submitted = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.submitted += 1

        def gated() -> Any:
            self.gate.wait()
            return fn(*args, **kwargs)

        return super().submit(gated)


@pytest.fixture
async def gated() -> AsyncIterator[GatedExecutor]:
    executor = GatedExecutor()
    yield executor
    executor.gate.set()
    executor.shutdown()


@pytest.fixture
async def service(ko_model_dir: Path, gated: GatedExecutor) -> AsyncIterator[SpeechService]:
    settings = AsrSettings(models={"ko": ko_model_dir}, max_streams=2, warm_recognizers=1)
    service = SpeechService(settings, executor=gated)
    await service.start()
    yield service
    await service.aclose()


MENU = ("아니요", "서울")
BATCH_ULAW = DECODE_EVERY_FRAMES * 160  # 100 ms of µ-law


@pytest.mark.parametrize("chunk", [160, 173, 97, 1000])
async def test_audio_waits_at_most_one_batch_before_decoding(
    service: SpeechService, gated: GatedExecutor, say: Say, chunk: int
) -> None:
    audio = ulaw_encode(say("아니요"))
    live = await service.open_stream("c", "ko", started_at=0.0, grammar=MENU,
                                     encoding=AudioEncoding.ULAW)
    events: list[SpeechEvent] = []
    received = 0
    before = gated.submitted
    async with live:
        for i in range(0, len(audio), chunk):
            events += await live.feed(audio[i : i + chunk])
            received += len(audio[i : i + chunk])
            if live.finished:
                break
            # Handed over and decoded as soon as a 100 ms batch is complete: what the
            # recogniser has not seen is the part of the current batch received so far
            # (≤ 80 ms with 20 ms packets), whatever the chunk size.
            undecoded_s = received / 8000 - live.stream.decoded_s
            assert undecoded_s == pytest.approx(received % BATCH_ULAW / 8000)
            assert live.buffered_bytes <= received % BATCH_ULAW
    hand_offs = gated.submitted - before - 1  # the last one gave the recogniser back
    # One hand-off per chunk that completed a batch, never one per chunk.
    assert hand_offs == len({n // BATCH_ULAW for n in range(chunk, received + 1, chunk)} - {0})
    final = events[-1]
    assert isinstance(final, FinalTranscript) and final.phrase == "아니요"
    assert isinstance(events[0], SpeechBegan)


async def test_live_stream_events_match_the_stream_fed_frame_by_frame(
    service: SpeechService, say: Say
) -> None:
    """Barge-in and end-of-speech times are the same as with Vosk fed every 20 ms."""
    audio = say("아니요", lead=1.0)
    live = await service.open_stream("c", "ko", started_at=50.0, grammar=MENU)
    events: list[SpeechEvent] = []
    async with live:
        for i in range(0, len(audio), 333):  # odd chunks, 16-bit samples split in two
            events += await live.feed(audio[i : i + 333])
            if live.finished:
                break
        else:
            events += await live.finish()
    plan = await service.grammar("ko", MENU)
    pool = service.pool("ko")
    lent = pool.acquire(plan)
    try:
        frame_by_frame = SpeechStream("c", lent, started_at=50.0, grammar=plan, decode_every=1)
        reference: list[SpeechEvent] = []
        for i in range(0, len(audio), FRAME_BYTES):
            reference += frame_by_frame.accept(audio[i : i + FRAME_BYTES])
        reference += frame_by_frame.finish()
    finally:
        pool.release(lent)
    began, final = events[0], events[-1]
    assert isinstance(began, SpeechBegan) and began == reference[0]
    expected = reference[-1]
    assert isinstance(final, FinalTranscript) and isinstance(expected, FinalTranscript)
    assert (final.phrase, final.end_s, final.at, final.ended_by) == (
        expected.phrase, expected.end_s, expected.at, expected.ended_by)


async def test_overlapping_feeds_are_refused_and_close_waits_for_the_worker(
    service: SpeechService, gated: GatedExecutor
) -> None:
    live = await service.open_stream("c", "ko", started_at=0.0)
    gated.gate.clear()
    feeding = asyncio.create_task(live.feed(tone(0.1)))
    await asyncio.sleep(0)  # the batch is handed over and held at the gate
    with pytest.raises(RuntimeError, match="previous batch is decoding"):
        await live.feed(tone(0.02))
    feeding.cancel()  # e.g. keys ended the collection: the worker still holds the stream
    with pytest.raises(asyncio.CancelledError):
        await feeding
    closing = asyncio.create_task(live.aclose())
    for _ in range(5):
        await asyncio.sleep(0)
    assert not closing.done() and service.open_streams == 1  # waiting for the worker
    gated.gate.set()
    await closing
    assert service.open_streams == 0
    again = await service.open_stream("d", "ko", started_at=0.0)
    assert await again.feed(b"") == []
    await again.aclose()
