"""The speech port on our own recogniser: a call's audio in, kernel events out."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, Callable

from hotline.asr.events import FinalTranscript, NoSpeech, SpeechBegan, SpeechEvent
from hotline.asr.g711 import AudioEncoding
from hotline.asr.port import SpeechOutcome
from hotline.asr.service import SpeechService
from hotline.asr.stream import ListenLimits
from hotline.vocabulary.commands import Recognize
from hotline.vocabulary.events import NoInput, SpeechRecognized, SpeechStarted
from hotline.vocabulary.ports import Clock


def to_kernel_event(event: SpeechEvent, command: Recognize) -> SpeechOutcome | None:
    """Translate a stream event into the kernel's vocabulary (None: not for the kernel).

    In grammar mode `intent` is the flow's phrase that was recognised; it stays None
    below the command's `min_confidence`. Off-list speech in grammar mode gives an empty
    text too: its words are only the menu's phrases the decoder was forced through (or
    the unknown token), and a flow that looks for phrases inside the text must not
    mistake them for a choice.
    """
    if isinstance(event, SpeechBegan):
        return SpeechStarted(event.call_id, event.at)
    if isinstance(event, NoSpeech):
        return NoInput(event.call_id, event.at)
    if isinstance(event, FinalTranscript):
        intent = event.phrase if event.confidence >= command.min_confidence else None
        text = "" if command.grammar and event.phrase is None else event.text
        return SpeechRecognized(event.call_id, text, event.confidence, event.at, intent)
    return None


class VoskSpeechSource:
    """`SpeechSource[bytes]`: audio chunks (in `encoding`) decoded by a `SpeechService`.

    `on_event`, if given, also receives every raw stream event (partials included),
    e.g. for the agent desk's live transcript; it must not block.
    """

    def __init__(
        self,
        service: SpeechService,
        clock: Clock,
        *,
        encoding: AudioEncoding = AudioEncoding.ULAW,
        end_silence_s: float = 0.7,
        on_event: Callable[[SpeechEvent], None] | None = None,
    ) -> None:
        self.service = service
        self.clock = clock
        self.encoding = encoding
        self.end_silence_s = end_silence_s
        self.on_event = on_event

    async def listen(
        self, command: Recognize, inputs: AsyncIterable[bytes]
    ) -> AsyncGenerator[SpeechOutcome, None]:
        limits = ListenLimits.from_command(command, end_silence_s=self.end_silence_s)
        live = await self.service.open_stream(
            command.call_id,
            command.language,
            started_at=self.clock.now(),
            grammar=command.grammar,
            limits=limits,
            encoding=self.encoding,
        )
        async with live:
            async for chunk in inputs:
                for outcome in self._translate(await live.feed(chunk), command):
                    yield outcome
                if live.finished:
                    return
            for outcome in self._translate(await live.finish(), command):
                yield outcome

    def _translate(self, events: list[SpeechEvent], command: Recognize) -> list[SpeechOutcome]:
        outcomes: list[SpeechOutcome] = []
        for event in events:
            if self.on_event is not None:
                self.on_event(event)
            outcome = to_kernel_event(event, command)
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes
