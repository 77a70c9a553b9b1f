"""What a live recognition stream reports, as frozen events.

Times: `at` is on the call's clock (the stream's start time plus the audio heard so far,
so a replay of the same audio gives the same events); `*_s` fields are offsets into
the stream's audio.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class EndOfUtterance(Enum):
    """Why a final result was produced."""

    SILENCE = "silence"  # our energy detector heard enough silence after speech
    ENDPOINT = "endpoint"  # Vosk's own endpointing fired
    MAX_LENGTH = "max-length"  # the caller spoke longer than the command allows
    END_OF_AUDIO = "end-of-audio"  # the audio stopped (hang-up, stream closed)
    NO_SPEECH_TIMEOUT = "no-speech-timeout"  # words decoded though the detector heard none


@dataclass(frozen=True, slots=True)
class WordTiming:
    word: str
    start_s: float
    end_s: float
    confidence: float


@dataclass(frozen=True, slots=True)
class SpeechBegan:
    """Barge-in: sound that looks like speech started (stop the prompt)."""

    call_id: str
    at: float
    offset_s: float


@dataclass(frozen=True, slots=True)
class PartialTranscript:
    """The recogniser's current guess while the caller is still speaking."""

    call_id: str
    text: str
    at: float


@dataclass(frozen=True, slots=True)
class FinalTranscript:
    """The result for one utterance."""

    call_id: str
    text: str  # the model's words, unknown-word tokens dropped
    words: tuple[WordTiming, ...]  # every decoded word, unknown tokens included
    confidence: float  # mean word confidence, 0..1 (0 when nothing was decoded)
    start_s: float  # where the speech started in the stream's audio
    end_s: float  # where the utterance ended
    at: float
    ended_by: EndOfUtterance
    phrase: str | None = None  # grammar mode: the flow's phrase that matched, if any


@dataclass(frozen=True, slots=True)
class NoSpeech:
    """Nothing was said before the no-speech timeout (or before the audio ended)."""

    call_id: str
    at: float


@dataclass(frozen=True, slots=True)
class UtteranceTimedOut:
    """The caller spoke past the maximum utterance length; a final result follows."""

    call_id: str
    at: float
    max_utterance_s: float


SpeechEvent = SpeechBegan | PartialTranscript | FinalTranscript | NoSpeech | UtteranceTimedOut
