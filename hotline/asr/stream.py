"""One call's live recognition: audio chunks in, speech events out (no I/O, no threads).

The stream runs one utterance through a Vosk recogniser: it waits for speech (energy
detector, or Vosk decoding words the detector missed), reports barge-in, partial
guesses while the caller speaks, and one final result when the speech ends (silence,
Vosk's endpoint, the maximum length, or the end of the audio); or `NoSpeech` when
nothing was said in time. Time is the audio's own: 20 ms per frame from `started_at`,
so the same audio always gives the same events. Calls must not overlap (the service
runs each stream's chunks one at a time on a worker thread).

Every decision of our own (barge-in, end of speech, timeouts) is taken per 20 ms frame.
Only the audio handed to Vosk is batched: it is fed every `decode_every` frames of the
stream (100 ms by default, counted from the stream's start, so the batches do not
depend on how the audio was chunked) and whenever a result is needed. Vosk's work per
call has a fixed part, and a stream's frames fed one by one spend it fifty times a
second. The price: Vosk's own endpoint and the partial guesses are seen at 100 ms
steps instead of 20 ms.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from typing import Any

from hotline.asr.events import (
    EndOfUtterance,
    FinalTranscript,
    NoSpeech,
    PartialTranscript,
    SpeechBegan,
    SpeechEvent,
    UtteranceTimedOut,
    WordTiming,
)
from hotline.asr.frames import FRAME_BYTES, FRAME_MS, FrameSplitter
from hotline.asr.g711 import AudioEncoding
from hotline.asr.grammar import GrammarPlan
from hotline.asr.pool import VoskRecognizer
from hotline.asr.vad import EnergyVad
from hotline.asr.vocabulary import UNKNOWN_TOKENS
from hotline.vocabulary.commands import Recognize

_FRAME_S = FRAME_MS / 1000
DECODE_EVERY_FRAMES = 5  # feed Vosk 100 ms at a time


class StreamState(Enum):
    LISTENING = "listening"  # no speech yet (or only noise so far)
    SPEAKING = "speaking"  # speech started; waiting for its end
    FINISHED = "finished"  # a final result or NoSpeech was emitted


@dataclass(frozen=True, slots=True)
class ListenLimits:
    no_speech_timeout_s: float = 5.0
    max_utterance_s: float = 15.0
    end_silence_s: float = 0.7  # silence after speech that ends the utterance
    onset_s: float = 0.06  # voiced sound this long counts as speech (barge-in)
    partial_interval_s: float = 0.2  # how often a partial guess is taken while speaking

    def __post_init__(self) -> None:
        for name in ("no_speech_timeout_s", "max_utterance_s", "end_silence_s", "onset_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"ListenLimits.{name} must be positive")

    @classmethod
    def from_command(cls, command: Recognize, **tuning: float) -> ListenLimits:
        return cls(
            no_speech_timeout_s=command.no_speech_timeout_s,
            max_utterance_s=command.max_utterance_s,
            **tuning,
        )


def _frames(seconds: float) -> int:
    return max(1, round(seconds / _FRAME_S))


def _parse(result_json: str) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(result_json)
    return parsed


class SpeechStream:
    """The state of one utterance being recognised on one call."""

    def __init__(
        self,
        call_id: str,
        recognizer: VoskRecognizer,
        *,
        started_at: float,
        limits: ListenLimits = ListenLimits(),
        encoding: AudioEncoding = AudioEncoding.SLIN16,
        grammar: GrammarPlan | None = None,
        vad: EnergyVad | None = None,
        decode_every: int = DECODE_EVERY_FRAMES,
    ) -> None:
        if decode_every < 1:
            raise ValueError("SpeechStream decode_every must be at least 1 frame")
        self.call_id = call_id
        self.started_at = started_at
        self.limits = limits
        self.grammar = grammar
        self.encoding = encoding
        self._recognizer = recognizer
        # Where this stream's audio starts on the recogniser's running word timeline.
        self._time_base_s = getattr(recognizer, "time_base_s", 0.0)
        self._splitter = FrameSplitter(encoding)
        self._vad = vad or EnergyVad()
        self._state = StreamState.LISTENING
        self._frames_heard = 0
        self._frames_decoded = 0
        self._voiced_run = 0
        self._silent_run = 0
        self._speech_start = 0  # frame index where the current speech began
        self._last_partial = ""
        self._next_partial = 0  # frame count at which the next partial guess is due
        self.decode_every = decode_every
        # Audio heard but not yet given to Vosk: bytes carried over from earlier calls,
        # then the current block from `_block_fed` to `_block_heard`.
        self._carry = b""
        self._block = b""
        self._block_fed = 0
        self._block_heard = 0
        self._onset = _frames(limits.onset_s)
        self._end_silence = _frames(limits.end_silence_s)
        self._no_speech = _frames(limits.no_speech_timeout_s)
        self._max_utterance = _frames(limits.max_utterance_s)
        self._partial_every = _frames(limits.partial_interval_s)

    @property
    def state(self) -> StreamState:
        return self._state

    @property
    def finished(self) -> bool:
        return self._state is StreamState.FINISHED

    @property
    def position_s(self) -> float:
        """Seconds of audio heard so far."""
        return self._frames_heard * _FRAME_S

    @property
    def decoded_s(self) -> float:
        """Seconds of audio given to the recogniser so far (behind by under one batch)."""
        return self._frames_decoded * _FRAME_S

    def _at(self, frame: int) -> float:
        return self.started_at + frame * _FRAME_S

    def _set_state(self, new: StreamState) -> None:
        # The one place the state changes: speech bookkeeping restarts with each change.
        if new is self._state:
            return
        self._state = new
        self._silent_run = 0
        self._last_partial = ""

    def accept(self, chunk: bytes) -> list[SpeechEvent]:
        """Feed audio of any length in the stream's encoding; returns the events it caused.

        Audio after the stream finished is ignored (it is still in flight from the
        network when the result is reported).
        """
        if self._state is StreamState.FINISHED:
            return []
        return self._hear(self._splitter.push_block(chunk))

    def finish(self) -> list[SpeechEvent]:
        """The audio ended (hang-up, stream closed): report what was said, if anything."""
        if self._state is StreamState.FINISHED:
            return []
        events = self._hear(b"".join(self._splitter.flush()))
        if self.finished:
            return events
        self._decode()
        return events + self._conclude(
            _parse(self._recognizer.FinalResult()), EndOfUtterance.END_OF_AUDIO, give_up=True
        )

    def _hear(self, block: bytes) -> list[SpeechEvent]:
        """Run whole frames of linear audio through the detector and the state machine."""
        events: list[SpeechEvent] = []
        if not block:
            return events
        self._block, self._block_fed, self._block_heard = block, 0, 0
        for voiced in self._vad.voiced_frames(block):
            self._block_heard += FRAME_BYTES
            events.extend(self._step(voiced))
            if self.finished:
                break
        if not self.finished and self._block_fed < self._block_heard:
            # Less than a batch left over: it goes to Vosk with the next frames.
            self._carry += block[self._block_fed : self._block_heard]
        self._block, self._block_fed, self._block_heard = b"", 0, 0
        return events

    def _decode(self) -> bool:
        """Give Vosk every frame heard so far; True when Vosk detected an endpoint."""
        block, start, end = self._block, self._block_fed, self._block_heard
        if start == end and not self._carry:
            return False
        data = block if start == 0 and end == len(block) else block[start:end]
        if self._carry:
            data, self._carry = self._carry + data, b""
        self._block_fed = end
        self._frames_decoded += len(data) // FRAME_BYTES
        return bool(self._recognizer.AcceptWaveform(data))

    def _step(self, voiced: bool) -> list[SpeechEvent]:
        index = self._frames_heard
        self._frames_heard += 1
        decoded = self._frames_heard % self.decode_every == 0
        endpoint = self._decode() if decoded else False
        if voiced:
            self._voiced_run += 1
            self._silent_run = 0
        else:
            self._voiced_run = 0
            self._silent_run += 1
        if self._state is StreamState.LISTENING:
            return self._listening(index, endpoint, decoded)
        return self._speaking(endpoint, decoded)

    def _final_result(self) -> dict[str, Any]:
        self._decode()  # the frames since the last batch belong to the result
        return _parse(self._recognizer.FinalResult())

    def _listening(self, index: int, endpoint: bool, decoded: bool) -> list[SpeechEvent]:
        if self._voiced_run >= self._onset:
            self._speech_start = index + 1 - self._voiced_run
            self._next_partial = self._speech_start + self._partial_every
            self._set_state(StreamState.SPEAKING)
            began = SpeechBegan(
                self.call_id, self._at(self._speech_start), self._speech_start * _FRAME_S
            )
            return [began, *self._speaking(endpoint, decoded)]
        if endpoint:
            result = _parse(self._recognizer.Result())
            if result.get("text"):  # words our detector missed (a quiet speaker)
                return self._conclude(result, EndOfUtterance.ENDPOINT)
        if self._frames_heard >= self._no_speech:
            return self._conclude(
                self._final_result(), EndOfUtterance.NO_SPEECH_TIMEOUT, give_up=True
            )
        return []

    def _speaking(self, endpoint: bool, decoded: bool) -> list[SpeechEvent]:
        if endpoint:
            return self._conclude(_parse(self._recognizer.Result()), EndOfUtterance.ENDPOINT)
        if self._frames_heard - self._speech_start >= self._max_utterance:
            timed_out = UtteranceTimedOut(
                self.call_id, self._at(self._frames_heard), self.limits.max_utterance_s
            )
            result = self._final_result()
            return [timed_out, *self._conclude(result, EndOfUtterance.MAX_LENGTH, give_up=True)]
        if self._silent_run >= self._end_silence:
            return self._conclude(self._final_result(), EndOfUtterance.SILENCE)
        # Partial guesses only where Vosk was just fed: between batches it has nothing new.
        if decoded and self._frames_heard >= self._next_partial:
            self._next_partial = self._frames_heard + self._partial_every
            partial = str(_parse(self._recognizer.PartialResult()).get("partial", ""))
            if partial and partial != self._last_partial:
                self._last_partial = partial
                return [PartialTranscript(self.call_id, partial, self._at(self._frames_heard))]
        return []

    def _conclude(
        self, result: dict[str, Any], ended_by: EndOfUtterance, give_up: bool = False
    ) -> list[SpeechEvent]:
        """Emit the final result; empty results are noise (keep listening) unless `give_up`."""
        end = self._frames_heard
        base, limit = self._time_base_s, end * _FRAME_S
        words = tuple(
            WordTiming(
                str(w["word"]),
                round(min(limit, max(0.0, float(w["start"]) - base)), 3),
                round(min(limit, max(0.0, float(w["end"]) - base)), 3),
                float(w["conf"]),
            )
            for w in result.get("result", ())
        )
        if not words and result.get("text"):
            # Some decoders omit word details; keep the words, timing unknown (whole span).
            words = tuple(
                WordTiming(word, self._speech_start * _FRAME_S, end * _FRAME_S, 1.0)
                for word in str(result["text"]).split()
            )
        if not words:
            if not give_up:
                self._set_state(StreamState.LISTENING)
                return []
            self._set_state(StreamState.FINISHED)
            return [NoSpeech(self.call_id, self._at(end))]
        events: list[SpeechEvent] = []
        if self._state is StreamState.LISTENING:  # speech decoded without an onset
            self._speech_start = min(end, int(words[0].start_s / _FRAME_S))
            events.append(SpeechBegan(self.call_id, self._at(self._speech_start),
                                      self._speech_start * _FRAME_S))
        unknown = self.grammar.unknown_token if self.grammar is not None else None
        spoken = [w.word for w in words]
        text = " ".join(w for w in spoken if w != unknown and w not in UNKNOWN_TOKENS)
        confidence = sum(w.confidence for w in words) / len(words)
        phrase = self.grammar.match(spoken) if self.grammar is not None else None
        self._set_state(StreamState.FINISHED)
        events.append(FinalTranscript(
            call_id=self.call_id,
            text=text,
            words=words,
            confidence=min(1.0, max(0.0, confidence)),
            start_s=min(self._speech_start * _FRAME_S, words[0].start_s),
            end_s=end * _FRAME_S,
            at=self._at(end),
            ended_by=ended_by,
            phrase=phrase,
        ))
        return events
