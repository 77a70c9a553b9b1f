from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from hotline.asr.errors import GrammarUnusable, ModelUnavailable, RecognizerBusy
from hotline.asr.events import FinalTranscript
from hotline.asr.service import SpeechService
from hotline.asr.settings import AsrSettings

from .conftest import Say


class RecordingExecutor(ThreadPoolExecutor):
    """Notes which threads ran the submitted work."""

    def __init__(self) -> None:
        super().__init__(max_workers=2, thread_name_prefix="test-asr")
        self.threads: set[str] = set()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        def noted() -> Any:
            self.threads.add(threading.current_thread().name)
            return fn(*args, **kwargs)

        return super().submit(noted)


@pytest.fixture
async def service(ko_model_dir: Path) -> AsyncIterator[SpeechService]:
    settings = AsrSettings(models={"ko": ko_model_dir}, max_streams=2, warm_recognizers=1)
    executor = RecordingExecutor()
    service = SpeechService(settings, executor=executor)
    await service.start()
    yield service
    await service.aclose()
    executor.shutdown()


async def test_decoding_runs_on_worker_threads(service: SpeechService, say: Say) -> None:
    async with await service.open_stream("c1", "ko", started_at=0.0,
                                         grammar=["아니요", "서울"]) as live:
        events = []
        audio = say("아니요")
        for i in range(0, len(audio), 1600):
            events += await live.feed(audio[i : i + 1600])
            if live.finished:
                break
    assert isinstance(events[-1], FinalTranscript) and events[-1].phrase == "아니요"
    executor = service._executor
    assert isinstance(executor, RecordingExecutor)
    assert executor.threads and all(t.startswith("test-asr") for t in executor.threads)
    assert threading.current_thread().name not in executor.threads


async def test_busy_when_all_slots_are_taken_and_free_again_after_close(
    service: SpeechService,
) -> None:
    first = await service.open_stream("c1", "ko", started_at=0.0)
    second = await service.open_stream("c2", "ko", started_at=0.0, grammar=["서울"])
    # Refused at once, not queued: the coroutine raises on its first step, before it
    # could wait for anything (a worker, a lock, the pool).
    refused = service.open_stream("c3", "ko", started_at=0.0)
    with pytest.raises(RecognizerBusy, match="all 2 recognition slots are busy"):
        refused.send(None)
    assert service.open_streams == 2
    await first.aclose()
    await first.aclose()  # closing twice is harmless
    third = await service.open_stream("c3", "ko", started_at=0.0)
    await second.aclose()
    await third.aclose()
    assert service.open_streams == 0


async def test_concurrent_opens_cannot_overbook(service: SpeechService) -> None:
    results = await asyncio.gather(
        *(service.open_stream(f"c{i}", "ko", started_at=0.0) for i in range(5)),
        return_exceptions=True,
    )
    opened = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, RecognizerBusy)]
    assert (len(opened), len(refused)) == (2, 3)
    for live in opened:
        await live.aclose()


async def test_unknown_language_names_the_setting(service: SpeechService) -> None:
    with pytest.raises(ModelUnavailable, match="HOTLINE_ASR_MODEL_ZH is not set"):
        await service.open_stream("c1", "zh", started_at=0.0)
    assert service.open_streams == 0  # the failed open gave its slot back


async def test_start_fails_on_a_missing_model(tmp_path: Path) -> None:
    settings = AsrSettings.from_env({"HOTLINE_ASR_MODEL_ZH": str(tmp_path / "nope")})
    service = SpeechService(settings)
    with pytest.raises(ModelUnavailable, match=r"HOTLINE_ASR_MODEL_ZH=.*nope.*does not exist"):
        await service.start()
    await service.aclose()


async def test_grammar_reports_out_of_vocabulary_phrases(service: SpeechService) -> None:
    plan = await service.grammar("ko", ["서울", "zzqxv"])
    assert plan.out_of_vocabulary == ("zzqxv",)
    assert await service.grammar("ko", ["서울", "zzqxv"]) is plan  # cached
    await service.warm_grammar("ko", ["서울", "zzqxv"])
    assert service.pool("ko").idle_count(plan) == 1


async def test_feed_after_close_is_an_error(service: SpeechService) -> None:
    live = await service.open_stream("c1", "ko", started_at=0.0)
    await live.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await live.feed(b"\0" * 320)


async def test_grammar_without_a_single_known_phrase_is_refused(service: SpeechService) -> None:
    with pytest.raises(GrammarUnusable, match="zzqxv"):
        await service.open_stream("c1", "ko", started_at=0.0, grammar=["zzqxv"])
    assert service.open_streams == 0
