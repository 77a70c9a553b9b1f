"""Grammar mode for menus: phrase lists checked against the model, and results mapped back.

A menu's phrases become a Vosk grammar (a JSON list of phrases) plus the model's
unknown-word token, so that speech matching none of them decodes to that token and is
rejected. Only in-vocabulary words are usable; a phrase written without spaces (as
Chinese is) is split into vocabulary words when it is not a word itself. Phrases that
cannot be expressed are reported to the caller, never silently dropped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from hotline.asr.vocabulary import Vocabulary

_MAX_SEGMENT_CHARS = 8  # longest vocabulary word tried when splitting an unspaced phrase
_PUNCTUATION = re.compile(r"[^\w\s'<>\[\]-]+")


def normalise_phrase(phrase: str) -> str:
    """Collapse whitespace and drop punctuation: 'Yes, please.' → 'Yes please'."""
    return " ".join(_PUNCTUATION.sub(" ", phrase).split())


def _in_vocabulary(word: str, vocabulary: Vocabulary) -> str | None:
    if word in vocabulary:
        return word
    lower = word.lower()
    return lower if lower in vocabulary else None


def _segment(token: str, vocabulary: Vocabulary) -> list[str] | None:
    """Fewest vocabulary words that spell `token` exactly, or None."""
    best: list[list[str] | None] = [None] * (len(token) + 1)
    best[0] = []
    for end in range(1, len(token) + 1):
        for start in range(max(0, end - _MAX_SEGMENT_CHARS), end):
            head = best[start]
            if head is None:
                continue
            word = _in_vocabulary(token[start:end], vocabulary)
            if word is None:
                continue
            current = best[end]
            if current is None or len(head) + 1 < len(current):
                best[end] = [*head, word]
    return best[len(token)]


def to_model_words(phrase: str, vocabulary: Vocabulary) -> tuple[str, ...] | None:
    """The phrase as the model's words, or None when some part is out of vocabulary."""
    words: list[str] = []
    for token in normalise_phrase(phrase).split():
        word = _in_vocabulary(token, vocabulary)
        if word is not None:
            words.append(word)
            continue
        pieces = _segment(token, vocabulary)
        if pieces is None:
            return None
        words.extend(pieces)
    return tuple(words) if words else None


@dataclass(frozen=True, slots=True)
class GrammarPlan:
    """A phrase list compiled for one model."""

    phrases: tuple[str, ...]  # as the flow wrote them
    decoded: Mapping[str, str]  # the model's word sequence ("a b") → the flow's phrase
    out_of_vocabulary: tuple[str, ...]  # phrases the model cannot recognise
    unknown_token: str | None

    @property
    def vosk_grammar(self) -> str:
        """The JSON Vosk's recogniser takes; also the pool key of its recognisers."""
        items = sorted(self.decoded)
        if self.unknown_token is not None:
            items.append(self.unknown_token)
        return json.dumps(items, ensure_ascii=False)

    @property
    def usable(self) -> bool:
        return bool(self.decoded)

    def match(self, words: Sequence[str]) -> str | None:
        """The flow's phrase the recognised words say, or None (off-list, unknown, empty)."""
        if not words or (self.unknown_token is not None and self.unknown_token in words):
            return None
        return self.decoded.get(" ".join(words))


def plan_grammar(phrases: Iterable[str], vocabulary: Vocabulary) -> GrammarPlan:
    kept: list[str] = []
    decoded: dict[str, str] = {}
    missing: list[str] = []
    for phrase in phrases:
        if phrase in kept or phrase in missing:
            continue
        words = to_model_words(phrase, vocabulary)
        if words is None:
            missing.append(phrase)
            continue
        kept.append(phrase)
        # Two phrases that sound the same map to the first: the flow's order decides.
        decoded.setdefault(" ".join(words), phrase)
    return GrammarPlan(tuple(kept), decoded, tuple(missing), vocabulary.unknown_token)


@dataclass(frozen=True, slots=True)
class MenuChoice:
    option: str
    phrase: str
    confidence: float


@dataclass(frozen=True, slots=True)
class MenuRejection:
    heard: str  # what was recognised (unknown tokens dropped), may be ""
    confidence: float
    reason: str  # "off-list" or "low-confidence"


class MenuGrammar:
    """A menu's options, each said by one or more phrases, with its confidence threshold."""

    def __init__(
        self,
        options: Mapping[str, Sequence[str]],
        vocabulary: Vocabulary,
        min_confidence: float = 0.0,
    ) -> None:
        if not 0.0 <= min_confidence <= 1.0:
            raise ValueError(f"min_confidence must be within 0..1, got {min_confidence}")
        self.min_confidence = min_confidence
        self._option_of: dict[str, str] = {}
        for option, phrases in options.items():
            for phrase in phrases:
                self._option_of.setdefault(phrase, option)
        self.plan = plan_grammar(self._option_of, vocabulary)

    @property
    def out_of_vocabulary(self) -> tuple[str, ...]:
        return self.plan.out_of_vocabulary

    def resolve(self, words: Sequence[str], confidence: float) -> MenuChoice | MenuRejection:
        phrase = self.plan.match(words)
        heard = " ".join(w for w in words if w != self.plan.unknown_token)
        if phrase is None:
            return MenuRejection(heard, confidence, "off-list")
        if confidence < self.min_confidence:
            return MenuRejection(heard, confidence, "low-confidence")
        return MenuChoice(self._option_of[phrase], phrase, confidence)
