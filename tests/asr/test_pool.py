from __future__ import annotations

import json

import pytest

from hotline.asr import pool as pool_module
from hotline.asr.grammar import plan_grammar
from hotline.asr.models import SpeechModel
from hotline.asr.pool import RecognizerPool

from .conftest import Say


def _decode(recognizer, audio: bytes) -> dict:  # type: ignore[no-untyped-def,type-arg]
    for i in range(0, len(audio), 320):
        recognizer.AcceptWaveform(audio[i : i + 320])
    return json.loads(recognizer.FinalResult())  # type: ignore[no-any-return]


def test_released_recognizer_is_reused_and_reset(ko_model: SpeechModel, say: Say) -> None:
    pool = RecognizerPool(ko_model)
    grammar = plan_grammar(["아니요", "서울"], ko_model.vocabulary)
    first = pool.acquire(grammar)
    heard = _decode(first, say("아니요"))
    pool.release(first)
    again = pool.acquire(grammar)
    assert again is first and again.uses == 2
    assert (pool.created, pool.reused) == (1, 1)
    # After the reset nothing of the previous utterance is left over.
    assert _decode(again, say("아니요"))["text"] == heard["text"] == "아니요"
    pool.release(again)


def test_word_times_stay_relative_to_each_use(ko_model: SpeechModel, say: Say) -> None:
    pool = RecognizerPool(ko_model)
    grammar = plan_grammar(["아니요", "서울"], ko_model.vocabulary)
    lent = pool.acquire(grammar)
    starts = []
    for lead in (0.5, 0.75, 0.5, 1.0):
        base = lent.time_base_s
        result = _decode(lent, say("아니요", lead=lead))
        starts.append(result["result"][0]["start"] - base - lead)
        lent.Reset()
    # Vosk's clock runs on across uses; after subtracting our base the word starts at
    # the same place in every utterance.
    assert max(starts) - min(starts) <= 0.03
    pool.release(lent)


def test_grammars_get_their_own_recognizers(ko_model: SpeechModel) -> None:
    pool = RecognizerPool(ko_model)
    menu_a = plan_grammar(["아니요", "서울"], ko_model.vocabulary)
    menu_b = plan_grammar(["네"], ko_model.vocabulary)
    a, b, free = pool.acquire(menu_a), pool.acquire(menu_b), pool.acquire(None)
    assert len({id(a), id(b), id(free)}) == 3
    for lent in (a, b, free):
        pool.release(lent)
    assert pool.acquire(menu_b) is b
    assert pool.acquire(None) is free
    assert pool.idle_count(menu_a) == 1


def test_least_recently_used_grammars_are_dropped(ko_model: SpeechModel) -> None:
    pool = RecognizerPool(ko_model, max_grammars=2, idle_per_grammar=1)
    plans = [plan_grammar([w], ko_model.vocabulary) for w in ("네", "아니요", "서울")]
    for plan in plans:
        pool.release(pool.acquire(plan))
    assert [pool.idle_count(p) for p in plans] == [0, 1, 1]
    extra = [pool.acquire(plans[1]), pool.acquire(plans[1])]
    for lent in extra:
        pool.release(lent)
    assert pool.idle_count(plans[1]) == 1  # idle_per_grammar bounds the idle set


def test_warm_prepares_idle_recognizers(ko_model: SpeechModel) -> None:
    pool = RecognizerPool(ko_model)
    pool.warm(2)
    assert pool.idle_count() == 2 and pool.created == 2
    pool.acquire()
    assert pool.created == 2 and pool.reused == 1


def test_long_lived_recognizers_are_retired(
    ko_model: SpeechModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pool_module, "MAX_TIMELINE_S", 0.5)
    pool = RecognizerPool(ko_model)
    grammar = plan_grammar(["네"], ko_model.vocabulary)
    lent = pool.acquire(grammar)
    lent.AcceptWaveform(b"\0" * 16000)  # one second
    pool.release(lent)
    assert pool.idle_count(grammar) == 0
    assert pool.acquire(grammar) is not lent
