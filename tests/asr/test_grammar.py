from __future__ import annotations

import json
from pathlib import Path

import pytest

from hotline.asr.grammar import (
    MenuChoice,
    MenuGrammar,
    MenuRejection,
    normalise_phrase,
    plan_grammar,
    to_model_words,
)
from hotline.asr.models import SpeechModel
from hotline.asr.vocabulary import Vocabulary

CN = Vocabulary(
    frozenset({"[unk]", "人工", "服务", "人工服务", "投诉", "咨询", "疫情", "防控", "hello"}),
    "[unk]",
    Path("words.txt"),
)


def test_phrases_are_checked_against_the_vocabulary() -> None:
    plan = plan_grammar(["投诉", "咨询", "查询", "投诉"], CN)
    assert plan.phrases == ("投诉", "咨询")
    assert plan.out_of_vocabulary == ("查询",)
    assert json.loads(plan.vosk_grammar) == ["咨询", "投诉", "[unk]"]
    assert "\\u" not in plan.vosk_grammar  # Vosk needs the characters, not JSON escapes


def test_unspaced_phrases_are_split_into_vocabulary_words() -> None:
    assert to_model_words("疫情防控", CN) == ("疫情", "防控")
    assert to_model_words("人工服务", CN) == ("人工服务",)  # a word itself: kept whole
    assert to_model_words("疫情查询", CN) is None
    assert to_model_words("Hello!", CN) == ("hello",)
    assert to_model_words(" , ", CN) is None


def test_match_maps_model_words_back_to_the_flow_phrase() -> None:
    plan = plan_grammar(["疫情防控", "投诉"], CN)
    assert plan.match(["疫情", "防控"]) == "疫情防控"
    assert plan.match(["投诉"]) == "投诉"
    assert plan.match(["[unk]"]) is None
    assert plan.match(["投诉", "[unk]"]) is None  # partly off-list is off-list
    assert plan.match(["投诉", "投诉"]) is None
    assert plan.match([]) is None


def test_normalise_phrase() -> None:
    assert normalise_phrase("  Yes,  please. ") == "Yes please"
    assert normalise_phrase("人工，服务") == "人工 服务"


def test_menu_maps_phrases_to_options_with_a_threshold() -> None:
    menu = MenuGrammar({"1": ["投诉", "疫情防控"], "2": ["咨询"], "9": ["查询"]}, CN, 0.6)
    assert menu.out_of_vocabulary == ("查询",)
    assert menu.resolve(["疫情", "防控"], 0.9) == MenuChoice("1", "疫情防控", 0.9)
    assert menu.resolve(["咨询"], 0.5) == MenuRejection("咨询", 0.5, "low-confidence")
    assert menu.resolve(["[unk]", "咨询"], 0.9) == MenuRejection("咨询", 0.9, "off-list")
    with pytest.raises(ValueError, match="min_confidence"):
        MenuGrammar({"1": ["投诉"]}, CN, 1.5)


def test_real_model_grammar_uses_its_unknown_token(ko_model: SpeechModel) -> None:
    plan = plan_grammar(["네", "아니요", "하나둘셋넷다섯여섯일곱여덟아홉zzqx"], ko_model.vocabulary)
    assert json.loads(plan.vosk_grammar) == ["네", "아니요", "<UNK>"]
    assert plan.out_of_vocabulary == ("하나둘셋넷다섯여섯일곱여덟아홉zzqx",)
