"""The speech port on Twilio: `<Gather input="speech">` does the recognising.

Twilio posts the result to the Gather's action URL as form parameters: `SpeechResult`
(the transcript) and `Confidence` (0..1, absent for some speech models), or `Digits`
when keys were pressed instead. This turns them into kernel events and builds the
Gather attributes from a `Recognize` command. No I/O here: the Twilio driver owns HTTP.
"""

from __future__ import annotations

import math
from collections.abc import AsyncGenerator, AsyncIterable, Mapping

from hotline.asr.grammar import normalise_phrase
from hotline.asr.port import SpeechOutcome
from hotline.vocabulary.commands import Recognize
from hotline.vocabulary.events import NoInput, SpeechRecognized
from hotline.vocabulary.ports import Clock

# Twilio speech language tags for our language codes (others are passed as given).
TWILIO_LANGUAGES = {"zh": "cmn-Hans-CN", "zh-cn": "cmn-Hans-CN", "ko": "ko-KR", "en": "en-US"}


def _match_key(text: str) -> str:
    # Twilio adds punctuation and, for Chinese, no spaces: compare without either.
    return "".join(normalise_phrase(text).split()).casefold()


def match_phrase(text: str, grammar: tuple[str, ...]) -> str | None:
    """The grammar phrase `text` says (ignoring case, spaces, punctuation), or None."""
    key = _match_key(text)
    if not key:
        return None
    for phrase in grammar:
        if _match_key(phrase) == key:
            return phrase
    return None


def _confidence(raw: str | None) -> float:
    if raw is None or not raw.strip():
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        return 0.0
    return 0.0 if math.isnan(value) else min(1.0, max(0.0, value))


def gather_outcome(
    command: Recognize, params: Mapping[str, str], at: float
) -> SpeechOutcome | None:
    """The kernel event for one Gather callback.

    None when only keys came: the driver reports those as `DigitsReceived`.
    """
    text = params.get("SpeechResult", "").strip()
    if text:
        confidence = _confidence(params.get("Confidence"))
        phrase = match_phrase(text, command.grammar) if command.grammar else None
        intent = phrase if phrase is not None and confidence >= command.min_confidence else None
        return SpeechRecognized(command.call_id, text, confidence, at, intent)
    if params.get("Digits", "").strip():
        return None
    return NoInput(command.call_id, at)


def gather_attributes(command: Recognize) -> dict[str, str]:
    """Attributes of the `<Gather>` verb that runs `command` on Twilio."""
    language = command.language.strip().replace("_", "-").lower()
    attributes = {
        "input": "dtmf speech" if command.also_digits else "speech",
        "language": TWILIO_LANGUAGES.get(language, command.language),
        "timeout": str(max(1, math.ceil(command.no_speech_timeout_s))),
        "speechTimeout": "auto",
        "actionOnEmptyResult": "true",
    }
    if command.grammar:
        attributes["hints"] = ", ".join(command.grammar)
    return attributes


class TwilioSpeechSource:
    """`SpeechSource[Mapping[str, str]]`: Gather webhook parameters in, kernel events out."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def listen(
        self, command: Recognize, inputs: AsyncIterable[Mapping[str, str]]
    ) -> AsyncGenerator[SpeechOutcome, None]:
        async for params in inputs:
            outcome = gather_outcome(command, params, self.clock.now())
            if outcome is not None:
                yield outcome
                return
