"""Warm, reusable Vosk recognisers per model and grammar.

A fresh recogniser's first result costs the better part of a second (lazy graph set-up
inside Kaldi); one reused after `Reset()` answers in tens of milliseconds. So
recognisers are warmed once on creation and handed back to the pool after each
utterance. Grammar recognisers are keyed by their grammar, kept for the most recently
used grammars only.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Protocol

import vosk

from hotline.asr.frames import SAMPLE_RATE
from hotline.asr.grammar import GrammarPlan
from hotline.asr.models import SpeechModel

_WARM_UP_AUDIO = b"\0" * (SAMPLE_RATE // 5 * 2)  # 200 ms of silence
_SAMPLES_PER_10MS = SAMPLE_RATE // 100
# Retire a recogniser after this much audio: Kaldi restarts its timeline after 10 minutes.
MAX_TIMELINE_S = 480.0


class VoskRecognizer(Protocol):
    """The part of `vosk.KaldiRecognizer` we use (its own CamelCase names)."""

    def AcceptWaveform(self, data: bytes) -> int: ...
    def Result(self) -> str: ...
    def PartialResult(self) -> str: ...
    def FinalResult(self) -> str: ...
    def Reset(self) -> None: ...


class PooledRecognizer:
    """A recogniser lent out by a pool; give it back with `RecognizerPool.release`.

    Vosk's word times run on from one utterance to the next and `Reset()` does not
    rewind them, so we keep the recogniser's timeline: `time_base_s` is where the current
    lending's audio starts on it (Vosk advances it by the audio fed, in 10 ms steps).
    """

    __slots__ = ("_fed_samples", "_undecoded", "grammar_key", "recognizer", "time_base_s", "uses")

    def __init__(self, recognizer: Any, grammar_key: str | None) -> None:
        self.recognizer: VoskRecognizer = recognizer
        self.grammar_key = grammar_key
        self.uses = 0
        self.time_base_s = 0.0
        self._fed_samples = 0
        self._undecoded = False  # audio fed since the last FinalResult()

    def AcceptWaveform(self, data: bytes) -> int:
        self._fed_samples += len(data) // 2
        self._undecoded = True
        return self.recognizer.AcceptWaveform(data)

    def Result(self) -> str:
        return self.recognizer.Result()

    def PartialResult(self) -> str:
        return self.recognizer.PartialResult()

    def FinalResult(self) -> str:
        self._undecoded = False
        return self.recognizer.FinalResult()

    def Reset(self) -> None:
        # Decode what is pending first, so the timeline moves by all the audio fed.
        if self._undecoded:
            self.recognizer.FinalResult()
            self._undecoded = False
        self.recognizer.Reset()
        steps = -(-self._fed_samples // _SAMPLES_PER_10MS)
        self.time_base_s = round(self.time_base_s + steps * 0.01, 2)
        self._fed_samples = 0


class RecognizerPool:
    """Idle recognisers of one model. Thread-safe; `acquire` may block while creating one.

    `warm_audio` (8 kHz 16-bit mono speech, e.g. the centre's recorded prompts) is decoded
    by every new recogniser before it is lent out. With lookahead models each recogniser
    builds its decoding graph on the fly and caches it: on its first seconds of real
    speech it decodes several times slower than once warm, and silence warms little.
    """

    def __init__(
        self,
        model: SpeechModel,
        *,
        idle_per_grammar: int = 4,
        max_grammars: int = 64,
        warm_audio: bytes | None = None,
    ):
        self.model = model
        self.warm_audio = warm_audio or _WARM_UP_AUDIO
        self.idle_per_grammar = idle_per_grammar
        self.max_grammars = max_grammars
        self._idle: OrderedDict[str | None, list[PooledRecognizer]] = OrderedDict()
        self._lock = threading.Lock()
        self.created = 0
        self.reused = 0

    def _create(self, grammar_key: str | None) -> PooledRecognizer:
        if grammar_key is None:
            raw = vosk.KaldiRecognizer(self.model.model, SAMPLE_RATE)
        else:
            raw = vosk.KaldiRecognizer(self.model.model, SAMPLE_RATE, grammar_key)
        raw.SetWords(True)
        lent = PooledRecognizer(raw, grammar_key)
        step = 2 * SAMPLE_RATE  # one second per call, like a steady stream
        for start in range(0, len(self.warm_audio), step):
            lent.AcceptWaveform(self.warm_audio[start : start + step])
        lent.Reset()
        with self._lock:
            self.created += 1
        return lent

    @staticmethod
    def key_of(grammar: GrammarPlan | None) -> str | None:
        # A model without runtime-graph support decodes freely; matching happens after.
        return None if grammar is None else grammar.vosk_grammar

    def acquire(self, grammar: GrammarPlan | None = None) -> PooledRecognizer:
        key = self.key_of(grammar) if self.model.supports_grammar else None
        with self._lock:
            idle = self._idle.get(key)
            if idle:
                self._idle.move_to_end(key)
                self.reused += 1
                lent = idle.pop()
                lent.uses += 1
                return lent
        lent = self._create(key)
        lent.uses += 1
        return lent

    def release(self, lent: PooledRecognizer) -> None:
        """Reset `lent` and keep it for the next call with the same grammar."""
        lent.Reset()
        if lent.time_base_s > MAX_TIMELINE_S:
            return  # dropped; a fresh one is created (and warmed) when needed
        with self._lock:
            idle = self._idle.setdefault(lent.grammar_key, [])
            self._idle.move_to_end(lent.grammar_key)
            if len(idle) < self.idle_per_grammar:
                idle.append(lent)
            grammars = [k for k in self._idle if k is not None]
            for stale in grammars[: max(0, len(grammars) - self.max_grammars)]:
                del self._idle[stale]

    def warm(self, count: int, grammar: GrammarPlan | None = None) -> None:
        """Create up to `count` idle recognisers ahead of the first calls (blocking)."""
        fresh = [self._create(self.key_of(grammar) if self.model.supports_grammar else None)
                 for _ in range(count)]
        for lent in fresh:
            self.release(lent)

    def idle_count(self, grammar: GrammarPlan | None = None) -> int:
        key = self.key_of(grammar) if self.model.supports_grammar else None
        with self._lock:
            return len(self._idle.get(key, ()))
