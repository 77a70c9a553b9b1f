"""Ports: what the kernel needs from the outside world, as Protocols."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class Clock(Protocol):
    """Seconds since the epoch (real or virtual). The kernel never reads time otherwise."""

    def now(self) -> float: ...


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One classifier answer: a label (intent, category, department) and its confidence."""

    label: str
    confidence: float


class TextClassifier(Protocol):
    """Maps a transcript or written request to ranked labels (pure, CPU-only, fast)."""

    def classify(self, text: str, top_k: int = 3) -> list[Suggestion]: ...
