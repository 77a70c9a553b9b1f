"""Exceptions of the speech recogniser service."""

from __future__ import annotations

from pathlib import Path


class AsrError(Exception):
    """Base of every error raised by `hotline.asr`'s recogniser service."""


class ModelUnavailable(AsrError):
    """A language's model is not configured, missing or unreadable.

    The message names the setting to fix, so an operator can act without reading code.
    """

    def __init__(self, language: str, setting: str, path: Path | None, reason: str) -> None:
        self.language = language
        self.setting = setting
        self.path = path
        self.reason = reason
        where = f"{setting}={path}" if path is not None else f"{setting} is not set"
        super().__init__(f"speech model for language {language!r} unavailable ({where}): {reason}")


class RecognizerBusy(AsrError):
    """Every recognition slot is in use: the flow should fall back to keys at once."""


class AudioFormatError(AsrError, ValueError):
    """Audio bytes that cannot be in the declared encoding (e.g. half a 16-bit sample)."""


class GrammarUnusable(AsrError, ValueError):
    """No phrase of a menu's grammar is in the model's vocabulary: nothing could match."""
