"""The speech port: how a driver runs a kernel `Recognize` command and gets its events.

A driver holds one `SpeechSource` per process. For each `Recognize` it calls
`listen(command, inputs)` with what its protocol gives it about the caller's speech —
audio chunks for a media stream (Asterisk), webhook parameters for Twilio — and posts
every event the iterator yields to the centre. The iterator ends after exactly one
`SpeechRecognized` or `NoInput`; `SpeechStarted` (barge-in: stop the prompt) may come
first. When keys end the collection first, close the generator (`await gen.aclose()`):
that frees the recogniser at once.

When no recogniser is free, `listen` raises `hotline.asr.errors.RecognizerBusy` on the
first step, before yielding anything: the driver keeps collecting keys only
(`Recognize.also_digits`) and lets the kernel's own timer handle silence.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable
from typing import Protocol, TypeVar

from hotline.vocabulary.commands import Recognize
from hotline.vocabulary.events import NoInput, SpeechRecognized, SpeechStarted

SpeechOutcome = SpeechStarted | SpeechRecognized | NoInput
"""The kernel events a recognition produces."""

InputT_contra = TypeVar("InputT_contra", contravariant=True)


class SpeechSource(Protocol[InputT_contra]):
    """Runs a `Recognize` command over the caller's speech as the driver receives it."""

    def listen(
        self, command: Recognize, inputs: AsyncIterable[InputT_contra]
    ) -> AsyncGenerator[SpeechOutcome, None]: ...
