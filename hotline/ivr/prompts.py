"""The prompt catalogue (`config/prompts.yaml`) and resolving prompt ids for a language.

The file maps a prompt id to its text per language and optional recorded audio:

    greeting:
      zh: 您好，欢迎致电12345政务服务便民热线。
      en: Hello, welcome to the 12345 government service hotline.
      audio: {zh: sounds/zh/greeting.wav}

Drivers play the audio when there is some and fall back to text-to-speech otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated

from pydantic import BaseModel, ConfigDict, RootModel, StringConstraints, model_validator

from hotline.vocabulary.commands import Prompt

LANGUAGE_PATTERN = r"^[a-z]{2,3}(?:-[A-Za-z0-9]+)?$"
Language = Annotated[str, StringConstraints(pattern=LANGUAGE_PATTERN)]
Text = Annotated[str, StringConstraints(min_length=1)]


class PromptEntry(BaseModel):
    """One prompt: its text in each language it exists in, plus optional audio files.

    Languages are the entry's own keys (`zh: ...`, `en: ...`), so an error in one names
    the line it is on."""

    model_config = ConfigDict(extra="allow", frozen=True)

    __pydantic_extra__: dict[str, Text]  # language -> text
    audio: dict[Language, Text] = {}

    @property
    def texts(self) -> dict[str, str]:
        return dict(self.__pydantic_extra__ or {})

    @model_validator(mode="after")
    def _languages(self) -> PromptEntry:
        texts = self.texts
        for language in texts:
            if not re.fullmatch(LANGUAGE_PATTERN, language):
                raise ValueError(f"{language!r} is not a language code (such as zh or en)")
        if not texts:
            raise ValueError("a prompt needs its text in at least one language")
        missing = sorted(set(self.audio) - set(texts))
        if missing:
            # The text is what TTS falls back to and what transcripts show.
            raise ValueError(f"audio given for {', '.join(missing)} but no text in that language")
        return self


class MissingPrompt(LookupError):
    """A prompt id is not in the catalogue, or not in the wanted language."""


class PromptCatalogue(RootModel[dict[str, PromptEntry]]):
    """All prompts by id."""

    model_config = ConfigDict(frozen=True)

    def __contains__(self, prompt_id: object) -> bool:
        return prompt_id in self.root

    def __iter__(self) -> Iterator[str]:  # type: ignore[override]
        return iter(self.root)

    def __len__(self) -> int:
        return len(self.root)

    def ids(self) -> list[str]:
        return list(self.root)

    def languages_of(self, prompt_id: str) -> frozenset[str]:
        entry = self.root.get(prompt_id)
        return frozenset(entry.texts) if entry is not None else frozenset()

    def resolve(self, prompt_id: str, language: str, fallback: str | None = None) -> Prompt:
        """The prompt in `language`, else in `fallback` (the centre's default language,
        only when the centre is configured to fall back), else `MissingPrompt`."""
        entry = self.root.get(prompt_id)
        if entry is None:
            raise MissingPrompt(f"no prompt named {prompt_id!r}")
        for lang in (language, fallback):
            if lang is not None and lang in entry.texts:
                return Prompt(
                    id=prompt_id, text=entry.texts[lang], language=lang, audio=entry.audio.get(lang)
                )
        raise MissingPrompt(f"prompt {prompt_id!r} has no {language!r} text")
