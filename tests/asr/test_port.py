"""The speech port: kernel `Recognize` commands in, kernel events out."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import pytest

from hotline.asr.errors import RecognizerBusy
from hotline.asr.events import PartialTranscript, SpeechEvent
from hotline.asr.g711 import AudioEncoding, alaw_encode, ulaw_encode
from hotline.asr.port import SpeechOutcome, SpeechSource
from hotline.asr.service import SpeechService
from hotline.asr.settings import AsrSettings
from hotline.asr.twilio_speech import (
    TwilioSpeechSource,
    gather_attributes,
    gather_outcome,
    match_phrase,
)
from hotline.asr.vosk_source import VoskSpeechSource
from hotline.vocabulary.commands import Recognize
from hotline.vocabulary.events import NoInput, SpeechRecognized, SpeechStarted

from .conftest import Say, silence


class Clock:
    def __init__(self, now: float) -> None:
        self.t = now

    def now(self) -> float:
        return self.t


async def chunks(data: bytes, size: int = 160) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def forms(items: Iterable[dict[str, str]]) -> AsyncIterator[dict[str, str]]:
    for item in items:
        yield item


async def collect(
    source: SpeechSource[bytes], command: Recognize, audio: bytes
) -> list[SpeechOutcome]:
    return [event async for event in source.listen(command, chunks(audio))]


@pytest.fixture
async def service(ko_model_dir: Path) -> AsyncIterator[SpeechService]:
    service = SpeechService(AsrSettings(models={"ko": ko_model_dir}, max_streams=1, workers=2))
    await service.start()
    yield service
    await service.aclose()


MENU = ("아니요", "서울")


async def test_recognize_with_grammar_on_ulaw_audio(service: SpeechService, say: Say) -> None:
    seen: list[SpeechEvent] = []
    source = VoskSpeechSource(service, Clock(1_700_000_000.0), on_event=seen.append)
    command = Recognize("call-7", "ko", grammar=MENU, min_confidence=0.5)
    events = await collect(source, command, ulaw_encode(say("아니요") + silence(3)))
    started, recognised = events
    assert isinstance(started, SpeechStarted) and started.call_id == "call-7"
    assert isinstance(recognised, SpeechRecognized)
    assert (recognised.call_id, recognised.intent) == ("call-7", "아니요")
    assert recognised.text == "아니요"
    assert recognised.confidence >= 0.5
    assert 1_700_000_000.5 <= started.at < recognised.at < 1_700_000_003.0
    assert any(isinstance(e, PartialTranscript) for e in seen)  # raw events for the desk
    assert service.open_streams == 0  # the stream was closed when the result came


async def test_off_list_speech_is_recognised_without_an_intent(
    service: SpeechService, say: Say
) -> None:
    source = VoskSpeechSource(service, Clock(0.0), encoding=AudioEncoding.ALAW)
    command = Recognize("c", "ko", grammar=MENU)
    for word in ("전화", "감사합니다"):  # decoded as <UNK>, and as a string of phrases
        events = await collect(source, command, alaw_encode(say(word)))
        assert isinstance(events[0], SpeechStarted)
        assert isinstance(events[-1], SpeechRecognized)
        assert (events[-1].text, events[-1].intent) == ("", None), word


async def test_low_confidence_loses_the_intent(service: SpeechService, say: Say) -> None:
    source = VoskSpeechSource(service, Clock(0.0), encoding=AudioEncoding.SLIN16)
    command = Recognize("c", "ko", grammar=MENU, min_confidence=1.01)
    events = await collect(source, command, say("아니요"))
    assert isinstance(events[-1], SpeechRecognized)
    assert events[-1].text == "아니요" and events[-1].intent is None


async def test_silence_gives_no_input(service: SpeechService) -> None:
    source = VoskSpeechSource(service, Clock(100.0), encoding=AudioEncoding.SLIN16)
    command = Recognize("c", "ko", no_speech_timeout_s=1.0)
    assert await collect(source, command, silence(3)) == [NoInput("c", 101.0)]


async def test_busy_recogniser_refuses_before_any_event(service: SpeechService) -> None:
    source = VoskSpeechSource(service, Clock(0.0), encoding=AudioEncoding.SLIN16)
    holder = await service.open_stream("other", "ko", started_at=0.0)
    with pytest.raises(RecognizerBusy):
        await collect(source, Recognize("c", "ko"), silence(1))
    await holder.aclose()


async def test_caller_hangs_up_mid_word(service: SpeechService, say: Say) -> None:
    source = VoskSpeechSource(service, Clock(0.0), encoding=AudioEncoding.SLIN16)
    events = await collect(source, Recognize("c", "ko", grammar=MENU), say("아니요", tail=0.0))
    assert isinstance(events[-1], SpeechRecognized) and events[-1].intent == "아니요"


# --- Twilio ------------------------------------------------------------------------------


def test_twilio_speech_result_becomes_speech_recognized() -> None:
    command = Recognize("CA1", "zh", grammar=("人工服务", "投诉"), min_confidence=0.5)
    outcome = gather_outcome(command, {"SpeechResult": "人工服务。", "Confidence": "0.91"}, 5.0)
    assert outcome == SpeechRecognized("CA1", "人工服务。", 0.91, 5.0, "人工服务")
    low = gather_outcome(command, {"SpeechResult": "投诉", "Confidence": "0.2"}, 5.0)
    assert isinstance(low, SpeechRecognized) and low.intent is None
    free = gather_outcome(Recognize("CA1", "zh"), {"SpeechResult": "路灯坏了"}, 6.0)
    assert free == SpeechRecognized("CA1", "路灯坏了", 0.0, 6.0, None)


def test_twilio_empty_result_is_no_input_and_digits_are_left_to_the_driver() -> None:
    command = Recognize("CA1", "zh")
    assert gather_outcome(command, {"SpeechResult": " "}, 1.0) == NoInput("CA1", 1.0)
    assert gather_outcome(command, {}, 1.0) == NoInput("CA1", 1.0)
    assert gather_outcome(command, {"Digits": "2"}, 1.0) is None


@pytest.mark.parametrize("raw", ["abc", "nan", "7", "-1", ""])
def test_twilio_bad_confidence_is_clamped(raw: str) -> None:
    outcome = gather_outcome(Recognize("CA1", "en"), {"SpeechResult": "yes", "Confidence": raw}, 0)
    assert isinstance(outcome, SpeechRecognized) and 0.0 <= outcome.confidence <= 1.0


def test_twilio_phrase_matching_ignores_case_spaces_and_punctuation() -> None:
    assert match_phrase("Yes, please.", ("yes please", "no")) == "yes please"
    assert match_phrase("人工 服务", ("人工服务",)) == "人工服务"
    assert match_phrase("maybe", ("yes", "no")) is None
    assert match_phrase("...", ("yes",)) is None


def test_twilio_gather_attributes() -> None:
    command = Recognize("CA1", "zh", grammar=("投诉", "咨询"), no_speech_timeout_s=4.2)
    attrs = gather_attributes(command)
    assert attrs == {
        "input": "dtmf speech",
        "language": "cmn-Hans-CN",
        "timeout": "5",
        "speechTimeout": "auto",
        "actionOnEmptyResult": "true",
        "hints": "投诉, 咨询",
    }
    assert gather_attributes(Recognize("CA1", "fr-FR", also_digits=False))["input"] == "speech"


async def test_twilio_source_yields_one_outcome() -> None:
    source: SpeechSource[dict[str, str]] = TwilioSpeechSource(Clock(9.0))
    command = Recognize("CA1", "zh", grammar=("投诉",))
    events = [e async for e in source.listen(command, forms([{"Digits": "1"},
                                                           {"SpeechResult": "投诉"},
                                                           {"SpeechResult": "again"}]))]
    assert events == [SpeechRecognized("CA1", "投诉", 0.0, 9.0, "投诉")]


async def test_stopping_early_gives_the_recogniser_back(service: SpeechService, say: Say) -> None:
    """Keys ended the collection after barge-in: the driver closes the iteration."""
    source = VoskSpeechSource(service, Clock(0.0), encoding=AudioEncoding.SLIN16)
    listening = source.listen(Recognize("c", "ko", grammar=MENU), chunks(say("아니요")))
    assert isinstance(await anext(listening), SpeechStarted)
    assert service.open_streams == 1
    await listening.aclose()
    assert service.open_streams == 0
    again = await service.open_stream("d", "ko", started_at=0.0)  # the slot is free
    await again.aclose()
