"""The streaming recogniser on real Vosk with the Korean model and synthetic speech."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.asr.events import (
    EndOfUtterance,
    FinalTranscript,
    NoSpeech,
    PartialTranscript,
    SpeechBegan,
    SpeechEvent,
    UtteranceTimedOut,
)
from hotline.asr.g711 import AudioEncoding, alaw_encode, ulaw_encode
from hotline.asr.grammar import GrammarPlan, plan_grammar
from hotline.asr.models import SpeechModel
from hotline.asr.pool import PooledRecognizer, RecognizerPool
from hotline.asr.stream import ListenLimits, SpeechStream, StreamState

from .conftest import Say, silence

# espeak-ng's Korean "아니요" (no) is recognised reliably against this menu; "서울" is
# there as a competitor. "전화" (telephone) and "둘" (two) decode to <UNK> against it,
# "감사합니다" (thank you) to a string of phrases. (Vosk is not bit-for-bit repeatable:
# a reused recogniser keeps its speaker adaptation, so tests use clear-cut words only.)
MENU = ("아니요", "서울")


@pytest.fixture(scope="module")
def pool(ko_model: SpeechModel) -> RecognizerPool:
    return RecognizerPool(ko_model)


@pytest.fixture(scope="module")
def menu(ko_model: SpeechModel) -> GrammarPlan:
    return plan_grammar(MENU, ko_model.vocabulary)


@pytest.fixture
def lend(pool: RecognizerPool) -> Iterator[list[PooledRecognizer]]:
    lent: list[PooledRecognizer] = []
    yield lent
    for recognizer in lent:
        pool.release(recognizer)


def run(
    pool: RecognizerPool,
    lent: list[PooledRecognizer],
    audio: bytes,
    *,
    grammar: GrammarPlan | None = None,
    chunk: int = 320,
    encoding: AudioEncoding = AudioEncoding.SLIN16,
    limits: ListenLimits | None = None,
    started_at: float = 1000.0,
) -> list[SpeechEvent]:
    recognizer = pool.acquire(grammar)
    lent.append(recognizer)
    stream = SpeechStream("call-1", recognizer, started_at=started_at,
                          limits=limits or ListenLimits(),
                          encoding=encoding, grammar=grammar)
    events: list[SpeechEvent] = []
    for i in range(0, len(audio), chunk):
        events += stream.accept(audio[i : i + chunk])
    events += stream.finish()
    assert stream.state is StreamState.FINISHED
    return events


def final_of(events: list[SpeechEvent]) -> FinalTranscript:
    finals = [e for e in events if isinstance(e, FinalTranscript)]
    assert len(finals) == 1, events
    assert events[-1] is finals[0]  # nothing after the final result
    return finals[0]


def test_grammar_recognises_a_menu_phrase(
    pool: RecognizerPool, lend: list[PooledRecognizer], menu: GrammarPlan, say: Say
) -> None:
    events = run(pool, lend, say("아니요"), grammar=menu)
    assert isinstance(events[0], SpeechBegan)
    final = final_of(events)
    assert final.phrase == "아니요" and final.text == "아니요"
    assert final.confidence > 0.9
    assert final.ended_by is EndOfUtterance.SILENCE


def test_grammar_rejects_off_list_speech(
    pool: RecognizerPool, lend: list[PooledRecognizer], menu: GrammarPlan, say: Say
) -> None:
    for word in ("전화", "둘"):
        final = final_of(run(pool, lend, say(word), grammar=menu))
        assert final.phrase is None, word
        assert "<UNK>" in [w.word for w in final.words]
        assert final.text == ""
    several = final_of(run(pool, lend, say("감사합니다"), grammar=menu))
    assert several.phrase is None and len(several.words) > 1


def test_barge_in_then_final_with_timing(
    pool: RecognizerPool, lend: list[PooledRecognizer], menu: GrammarPlan, say: Say
) -> None:
    events = run(pool, lend, say("아니요", lead=1.0), grammar=menu, started_at=500.0)
    began = events[0]
    assert isinstance(began, SpeechBegan)
    # espeak's output starts with a few ms of near-silence: onset within 150 ms of 1.0 s
    assert 1.0 <= began.offset_s <= 1.15
    assert began.at == pytest.approx(500.0 + began.offset_s)
    final = final_of(events)
    assert final.phrase == "아니요"
    (word,) = final.words
    assert began.offset_s - 0.1 <= word.start_s < word.end_s <= final.end_s
    # ended by 0.7 s of silence after the speech, not at the end of the audio
    assert final.end_s < len(say("아니요", lead=1.0)) / 16000 - 0.5
    assert final.at == pytest.approx(500.0 + final.end_s)


def test_free_speech_gives_partials_then_a_final(
    pool: RecognizerPool, lend: list[PooledRecognizer], say: Say
) -> None:
    events = run(pool, lend, say("안녕하세요 감사합니다"))
    partials = [e for e in events if isinstance(e, PartialTranscript)]
    assert len(partials) >= 2
    assert all(p.text for p in partials)
    assert [p.at for p in partials] == sorted(p.at for p in partials)
    assert len({p.text for p in partials}) == len(partials)  # only changes are reported
    final = final_of(events)
    assert len(final.words) >= 2 and final.phrase is None
    assert final.text == " ".join(w.word for w in final.words)
    assert all(0.0 <= w.confidence <= 1.0 for w in final.words)
    starts = [w.start_s for w in final.words]
    assert starts == sorted(starts) and final.start_s <= starts[0]


def test_no_speech_timeout_on_silence(pool: RecognizerPool, lend: list[PooledRecognizer]) -> None:
    events = run(pool, lend, silence(6), limits=ListenLimits(no_speech_timeout_s=2.0),
                 started_at=10.0)
    assert events == [NoSpeech("call-1", 12.0)]


def test_audio_ending_before_anything_was_said(
    pool: RecognizerPool, lend: list[PooledRecognizer]
) -> None:
    assert run(pool, lend, silence(1.0), started_at=0.0) == [NoSpeech("call-1", 1.0)]


def test_steady_noise_is_not_speech(pool: RecognizerPool, lend: list[PooledRecognizer]) -> None:
    rng = np.random.default_rng(7)
    hiss = (rng.standard_normal(8000 * 4) * 30).astype("<i2").tobytes()  # about -60 dBFS
    events = run(pool, lend, hiss, limits=ListenLimits(no_speech_timeout_s=3.0), started_at=0.0)
    assert events == [NoSpeech("call-1", 3.0)]


def test_max_utterance_length_cuts_a_long_talker(
    pool: RecognizerPool, lend: list[PooledRecognizer], say: Say
) -> None:
    long_speech = say("안녕하세요 감사합니다 안녕하세요 감사합니다", tail=0.2)
    events = run(pool, lend, long_speech, limits=ListenLimits(max_utterance_s=1.5),
                 started_at=0.0)
    timed_out = [e for e in events if isinstance(e, UtteranceTimedOut)]
    assert len(timed_out) == 1 and timed_out[0].max_utterance_s == 1.5
    began = events[0]
    assert isinstance(began, SpeechBegan)
    final = final_of(events)
    assert final.ended_by is EndOfUtterance.MAX_LENGTH
    assert final.end_s - began.offset_s == pytest.approx(1.5)
    assert final.text


def test_audio_ending_mid_speech_gives_what_was_heard(
    pool: RecognizerPool, lend: list[PooledRecognizer], menu: GrammarPlan, say: Say
) -> None:
    final = final_of(run(pool, lend, say("아니요", tail=0.1), grammar=menu))
    assert final.ended_by is EndOfUtterance.END_OF_AUDIO
    assert final.phrase == "아니요"


def test_audio_after_the_final_is_ignored(
    pool: RecognizerPool, lend: list[PooledRecognizer], menu: GrammarPlan, say: Say
) -> None:
    recognizer = pool.acquire(menu)
    lend.append(recognizer)
    stream = SpeechStream("c", recognizer, started_at=0.0, grammar=menu)
    events = stream.accept(say("아니요", tail=2.0))
    assert isinstance(events[-1], FinalTranscript)
    assert stream.accept(say("아니요")) == []
    assert stream.finish() == []


@pytest.mark.parametrize("encoding", [AudioEncoding.ULAW, AudioEncoding.ALAW])
def test_g711_audio_in_odd_chunks_gives_the_same_result(
    pool: RecognizerPool,
    lend: list[PooledRecognizer],
    menu: GrammarPlan,
    say: Say,
    encoding: AudioEncoding,
) -> None:
    audio = say("아니요")
    encode = ulaw_encode if encoding is AudioEncoding.ULAW else alaw_encode
    coded = encode(audio)
    reference = run(pool, lend, coded, grammar=menu, encoding=encoding, chunk=160)
    odd = run(pool, lend, coded, grammar=menu, encoding=encoding, chunk=173)
    assert [type(e) for e in odd] == [type(e) for e in reference]
    assert final_of(odd).phrase == final_of(reference).phrase == "아니요"
    assert final_of(odd).end_s == final_of(reference).end_s


@settings(max_examples=5, deadline=None)
@given(chunk=st.integers(1, 999))
def test_any_linear_chunk_size_gives_the_same_events(
    chunk: int, ko_model: SpeechModel, say: Say
) -> None:
    pool = RecognizerPool(ko_model)
    grammar = plan_grammar(MENU, ko_model.vocabulary)
    lent: list[PooledRecognizer] = []
    audio = say("아니요")
    reference = run(pool, lent, audio, grammar=grammar, chunk=320)
    events = run(pool, lent, audio, grammar=grammar, chunk=chunk)
    # Frames, detector and timing are exact; Vosk's confidences may vary in the last digits.
    assert [type(e) for e in events] == [type(e) for e in reference]
    assert events[0] == reference[0]  # the barge-in
    final, expected = final_of(events), final_of(reference)
    assert (final.phrase, final.end_s, final.at, final.ended_by) == (
        expected.phrase, expected.end_s, expected.at, expected.ended_by)


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_utterance_s"):
        ListenLimits(max_utterance_s=0)
