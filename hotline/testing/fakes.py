"""Fakes for the speech side of a call: a keyword classifier and a scripted recogniser.

Both are deterministic and fast, for tests and for trying flows without Vosk.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from hotline.ivr.compiled import normalise_speech
from hotline.vocabulary.commands import Recognize
from hotline.vocabulary.events import SpeechRecognized
from hotline.vocabulary.ports import Suggestion


class KeywordClassifier:
    """A `TextClassifier` that labels text by the keywords it contains.

        KeywordClassifier({"complaint": ["投诉", "噪音"], "epidemic": ["疫情", "核酸"]})

    A label's confidence is the share of the matched keyword characters among all matched
    characters (so one clear keyword gives 1.0, a tie 0.5). Text with no keyword gets no
    suggestion at all, like a real classifier below its threshold.
    """

    def __init__(self, keywords: Mapping[str, Iterable[str]]) -> None:
        self.keywords = {label: tuple(normalise_speech(k) for k in words)
                         for label, words in keywords.items()}

    def classify(self, text: str, top_k: int = 3) -> list[Suggestion]:
        said = normalise_speech(text)
        scores = {label: sum(len(k) for k in words if k and k in said)
                  for label, words in self.keywords.items()}
        total = sum(scores.values())
        if total == 0:
            return []
        ranked = sorted(((s, label) for label, s in scores.items() if s), key=lambda p: -p[0])
        return [Suggestion(label, s / total) for s, label in ranked[:top_k]]


SATISFACTION_KEYWORDS: Mapping[str, tuple[str, ...]] = {
    "dissatisfied": ("不满意", "很差", "没解决", "不行"),
    "basically_satisfied": ("基本满意", "还行", "一般", "还可以"),
    "satisfied": ("非常满意", "满意", "很好", "挺好"),
}
"""Keywords for a satisfaction fake. Longer phrases outweigh "满意" inside "不满意"."""


def satisfaction_classifier() -> KeywordClassifier:
    return KeywordClassifier(SATISFACTION_KEYWORDS)


@dataclass(frozen=True, slots=True)
class Utterance:
    """What a scripted caller says: the transcript, how sure the recogniser is, an intent
    the recogniser itself already found (Twilio, grammars), other hypotheses."""

    text: str
    confidence: float = 0.9
    intent: str | None = None
    alternatives: tuple[str, ...] = ()


class ScriptedRecognizer:
    """Answers each `Recognize` command with the next scripted utterance (or silence).

        recognizer = ScriptedRecognizer(["我要投诉", Utterance("嗯", confidence=0.2), None])
        event = recognizer.answer(command, at=12.0)   # SpeechRecognized, or None = silence

    `None` in the script means the caller said nothing. `heard` records the grammar each
    `Recognize` listened with, so tests can check what the menu offered to the recogniser.
    """

    def __init__(self, script: Iterable[str | Utterance | None]) -> None:
        self._script: deque[Utterance | None] = deque(
            Utterance(item) if isinstance(item, str) else item for item in script
        )
        self.heard: list[tuple[str, ...]] = []

    @property
    def remaining(self) -> int:
        return len(self._script)

    def answer(self, command: Recognize, at: float) -> SpeechRecognized | None:
        self.heard.append(command.grammar)
        if not self._script:
            return None
        utterance = self._script.popleft()
        if utterance is None:
            return None
        return SpeechRecognized(command.call_id, utterance.text, utterance.confidence, at,
                                utterance.intent, utterance.alternatives)
