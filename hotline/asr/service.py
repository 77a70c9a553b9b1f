"""The recogniser service: models per language, warm pools, decoding on worker threads.

asyncio code calls it; every Vosk call (model loading, decoding, creating recognisers)
runs on a bounded thread pool, never on the event loop (Vosk releases the GIL while
decoding, so the threads really run in parallel). Admission is counted in live
streams: when `max_streams` are open, `open_stream` refuses at once with
`RecognizerBusy` so the flow falls back to keys instead of waiting.
"""

from __future__ import annotations

import asyncio
import logging
import wave
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import TypeVar

from hotline.asr.errors import GrammarUnusable, ModelUnavailable, RecognizerBusy
from hotline.asr.events import SpeechEvent
from hotline.asr.frames import FRAME_SAMPLES, SAMPLE_RATE
from hotline.asr.g711 import AudioEncoding
from hotline.asr.grammar import GrammarPlan, plan_grammar
from hotline.asr.models import SpeechModel, load_model
from hotline.asr.pool import PooledRecognizer, RecognizerPool
from hotline.asr.settings import WARM_AUDIO_ENV, AsrSettings
from hotline.asr.stream import ListenLimits, SpeechStream, StreamState

log = logging.getLogger(__name__)
T = TypeVar("T")
_DEFAULT_LIMITS = ListenLimits()


def read_warm_audio(path: Path) -> bytes:
    """The frames of an 8 kHz 16-bit mono WAV file, or a clear error naming the setting."""
    try:
        with wave.open(str(path), "rb") as wav:
            shape = (wav.getframerate(), wav.getsampwidth(), wav.getnchannels())
            if shape != (SAMPLE_RATE, 2, 1):
                raise ValueError(f"is {shape[0]} Hz, {8 * shape[1]}-bit, {shape[2]} channel(s)")
            return wav.readframes(wav.getnframes())
    except (OSError, EOFError, ValueError, wave.Error) as exc:
        raise ValueError(
            f"{WARM_AUDIO_ENV}={path}: need an 8 kHz 16-bit mono WAV file ({exc})"
        ) from exc


class SpeechService:
    """Loads the configured models once and lends recognition streams to calls."""

    def __init__(self, settings: AsrSettings, *, executor: Executor | None = None) -> None:
        self.settings = settings
        self._own_executor = executor is None
        self._executor: Executor = executor or ThreadPoolExecutor(
            max_workers=settings.workers, thread_name_prefix="hotline-asr"
        )
        self._models: dict[str, SpeechModel] = {}
        self._pools: dict[str, RecognizerPool] = {}
        self._grammars: dict[tuple[str, tuple[str, ...]], GrammarPlan] = {}
        self._open = 0
        self._warm_audio: bytes | None = None

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        return await self._submit(fn, *args)

    def _submit(self, fn: Callable[..., T], *args: object) -> asyncio.Future[T]:
        return asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    @property
    def open_streams(self) -> int:
        return self._open

    async def start(self) -> None:
        """Load every configured model and warm its free-speech recognisers.

        Raises ModelUnavailable (naming the setting) for the first model that fails.
        """
        if self.settings.warm_audio is not None:
            self._warm_audio = await self._run(read_warm_audio, self.settings.warm_audio)
        for language in self.settings.models:
            await self.load(language)

    async def load(self, language: str) -> SpeechModel:
        """The model serving `language`, loading it on a worker thread the first time."""
        key, path, setting = self.settings.model_for(language)
        known = self._models.get(key)
        if known is not None:
            return known
        if path is None:
            raise ModelUnavailable(language, setting, None, "no model directory configured")
        model = await self._run(load_model, key, path, setting)
        pool = RecognizerPool(
            model,
            idle_per_grammar=self.settings.idle_per_grammar,
            max_grammars=self.settings.max_grammars,
            warm_audio=self._warm_audio,
        )
        await self._run(pool.warm, self.settings.warm_recognizers)
        self._models[key] = model
        self._pools[key] = pool
        return model

    def pool(self, language: str) -> RecognizerPool:
        """The loaded pool for `language` (after `load`/`start`)."""
        key, _, setting = self.settings.model_for(language)
        try:
            return self._pools[key]
        except KeyError:
            path = self.settings.model_for(language)[1]
            raise ModelUnavailable(language, setting, path, "model not loaded") from None

    async def grammar(self, language: str, phrases: Iterable[str]) -> GrammarPlan:
        """The phrase list compiled for `language`'s model (cached); see `out_of_vocabulary`."""
        model = await self.load(language)
        wanted = tuple(phrases)
        cache_key = (str(model.path), wanted)
        plan = self._grammars.get(cache_key)
        if plan is None:
            plan = plan_grammar(wanted, model.vocabulary)
            if plan.out_of_vocabulary:
                log.warning("phrases not in the %s model's vocabulary (never recognised): %s",
                            model.language, ", ".join(plan.out_of_vocabulary))
            self._grammars[cache_key] = plan
        return plan

    async def warm_grammar(self, language: str, phrases: Iterable[str], count: int = 1) -> None:
        """Prepare recognisers for a menu's phrases before its first caller (at start-up)."""
        plan = await self.grammar(language, phrases)
        await self._run(self.pool(language).warm, count, plan)

    async def open_stream(
        self,
        call_id: str,
        language: str,
        *,
        started_at: float,
        grammar: Iterable[str] = (),
        limits: ListenLimits = _DEFAULT_LIMITS,
        encoding: AudioEncoding = AudioEncoding.SLIN16,
    ) -> LiveStream:
        """Start recognising one utterance on a call.

        Raises RecognizerBusy at once when all slots are taken, ModelUnavailable when the
        language has no usable model, GrammarUnusable when no phrase of `grammar` can be
        recognised by it (check flows at start-up with `grammar()`). An empty `grammar`
        means free speech.
        """
        if self._open >= self.settings.max_streams:
            raise RecognizerBusy(
                f"all {self.settings.max_streams} recognition slots are busy (call {call_id})"
            )
        self._open += 1  # taken before any await, so concurrent opens cannot overbook
        try:
            phrases = tuple(grammar)
            plan = await self.grammar(language, phrases) if phrases else None
            if plan is not None and not plan.usable:
                raise GrammarUnusable(
                    f"no phrase of the grammar is in the {language!r} model's vocabulary: "
                    + ", ".join(phrases)
                )
            pool = self.pool(language)
            lent = await self._run(pool.acquire, plan)
        except BaseException:
            self._open -= 1
            raise
        stream = SpeechStream(call_id, lent, started_at=started_at, limits=limits,
                              encoding=encoding, grammar=plan)
        return LiveStream(self, pool, lent, stream)

    def _closed(self) -> None:
        self._open -= 1

    async def aclose(self) -> None:
        if self._own_executor:
            await asyncio.get_running_loop().run_in_executor(None, self._executor.shutdown)


class LiveStream:
    """One open recognition; feed it audio, read events, close it (or use `async with`).

    Audio is handed to a worker thread in batches of the stream's `decode_every` frames
    (100 ms), not chunk by chunk: one thread hand-off per batch instead of one per RTP
    packet. The batches end where the stream's own decoding batches end, so everything
    handed over is decoded at once, and with packets of up to 100 ms no audio waits
    100 ms or more for its batch (80 ms at most with 20 ms packets). Each decision still
    looks at every 20 ms frame and events carry the audio's own times: batching delays
    only their delivery (barge-in included), never their timing.
    """

    def __init__(
        self,
        service: SpeechService,
        pool: RecognizerPool,
        lent: PooledRecognizer,
        stream: SpeechStream,
    ) -> None:
        self._service = service
        self._pool = pool
        self._lent: PooledRecognizer | None = lent
        self.stream = stream
        self._chunks: list[bytes] = []  # audio received since the last hand-off
        self._buffered = 0
        self._received = 0
        self._batch_bytes = (
            stream.decode_every * FRAME_SAMPLES * stream.encoding.bytes_per_sample
        )
        self._next_hand_off = self._batch_bytes
        self._in_flight: asyncio.Future[list[SpeechEvent]] | None = None

    @property
    def finished(self) -> bool:
        return self.stream.state is StreamState.FINISHED

    @property
    def _decoding(self) -> bool:
        return self._in_flight is not None and not self._in_flight.done()

    @property
    def buffered_bytes(self) -> int:
        """Audio received but not yet handed to the recogniser (less than one batch)."""
        return self._buffered

    async def feed(self, chunk: bytes) -> list[SpeechEvent]:
        """Take a chunk of audio; the events it caused (decoded on a worker thread).

        Returns at once with no events while the current batch is incomplete. Await each
        call before the next: one stream decodes one batch at a time.
        """
        if self._lent is None:
            raise RuntimeError("feed() on a closed LiveStream")
        if self._decoding:
            raise RuntimeError("feed() while this stream's previous batch is decoding")
        if self.finished or not chunk:
            return []  # late audio after the result, still in flight from the network
        self._chunks.append(bytes(chunk))  # no copy for bytes; a reused buffer is copied
        self._buffered += len(chunk)
        self._received += len(chunk)
        if self._received < self._next_hand_off:
            return []
        self._next_hand_off = (self._received // self._batch_bytes + 1) * self._batch_bytes
        return await self._hand_off(self.stream.accept)

    async def finish(self) -> list[SpeechEvent]:
        """The audio ended: the final result (or NoSpeech) if not already reported."""
        if self._lent is None:
            raise RuntimeError("finish() on a closed LiveStream")
        if self._decoding:
            raise RuntimeError("finish() while this stream's previous batch is decoding")
        return await self._hand_off(self._accept_and_finish)

    def _accept_and_finish(self, audio: bytes) -> list[SpeechEvent]:
        return self.stream.accept(audio) + self.stream.finish()

    async def _hand_off(self, work: Callable[[bytes], list[SpeechEvent]]) -> list[SpeechEvent]:
        chunks = self._chunks
        audio = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        self._chunks, self._buffered = [], 0
        self._in_flight = self._service._submit(work, audio)
        # Shielded: a cancelled caller cannot stop the worker thread, so the stream
        # stays busy until it is done (aclose waits for it before resetting).
        return await asyncio.shield(self._in_flight)

    async def aclose(self) -> None:
        """Give the recogniser back (reset on a worker thread) and free the slot."""
        lent, self._lent = self._lent, None
        if lent is None:
            return
        try:
            in_flight = self._in_flight
            if in_flight is not None:
                # A cancelled feed may still be decoding on this recogniser.
                await asyncio.wait([in_flight])
                if not in_flight.cancelled():
                    in_flight.exception()  # reported to the feed's caller, if any
            await self._service._run(self._pool.release, lent)
        finally:
            self._service._closed()

    async def __aenter__(self) -> LiveStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
