"""Recogniser settings: which model directory serves which language, and capacity."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

MODEL_ENV_PREFIX = "HOTLINE_ASR_MODEL_"
MAX_STREAMS_ENV = "HOTLINE_ASR_MAX_STREAMS"
WORKERS_ENV = "HOTLINE_ASR_WORKERS"
WARM_AUDIO_ENV = "HOTLINE_ASR_WARM_AUDIO"


def normalise_language(language: str) -> str:
    """'zh-CN' / 'zh_cn' → 'zh-cn': one spelling for lookups."""
    return language.strip().replace("_", "-").lower()


def model_setting_name(language: str) -> str:
    """The environment variable naming `language`'s model directory, e.g. HOTLINE_ASR_MODEL_ZH."""
    return MODEL_ENV_PREFIX + normalise_language(language).replace("-", "_").upper()


def _default_workers() -> int:
    return max(1, os.cpu_count() or 1)


@dataclass(frozen=True, slots=True)
class AsrSettings:
    """What the recogniser service needs; built in `main()` and passed down.

    `models` maps a language ("zh", "ko", "zh-cn") to a Vosk model directory. A call in
    "zh-cn" uses the "zh-cn" model if configured, else the "zh" one.
    """

    models: Mapping[str, Path] = field(default_factory=dict)
    # Live streams admitted at once; beyond it a recognition is refused (keys only).
    # DESIGN sizes about two streams per core for large models; small ones allow more.
    max_streams: int = field(default_factory=lambda: 2 * _default_workers())
    workers: int = field(default_factory=_default_workers)  # decoding threads
    warm_recognizers: int = 2  # free-speech recognisers per model warmed at start
    idle_per_grammar: int = 4  # idle recognisers kept per (model, grammar)
    max_grammars: int = 64  # distinct grammars kept warm per model (least recently used go)
    sources: Mapping[str, str] = field(default_factory=dict)  # language → setting name
    # Speech (a WAV file, 8 kHz 16-bit mono) each new recogniser decodes before first use;
    # a few seconds of the centre's own prompts do (see RecognizerPool).
    warm_audio: Path | None = None

    def __post_init__(self) -> None:
        for name in ("max_streams", "workers", "idle_per_grammar", "max_grammars"):
            if getattr(self, name) < 1:
                raise ValueError(f"AsrSettings.{name} must be at least 1")
        if self.warm_recognizers < 0:
            raise ValueError("AsrSettings.warm_recognizers must not be negative")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AsrSettings:
        """Read HOTLINE_ASR_MODEL_<LANG>=/dir (one per language) and the capacity knobs."""
        env = os.environ if environ is None else environ
        models: dict[str, Path] = {}
        sources: dict[str, str] = {}
        for name, value in env.items():
            if name.startswith(MODEL_ENV_PREFIX) and value.strip():
                language = normalise_language(name[len(MODEL_ENV_PREFIX) :])
                models[language] = Path(value.strip())
                sources[language] = name
        extra: dict[str, int] = {}
        for env_name, attr in ((MAX_STREAMS_ENV, "max_streams"), (WORKERS_ENV, "workers")):
            if env_name in env:
                try:
                    extra[attr] = int(env[env_name])
                except ValueError:
                    raise ValueError(f"{env_name}={env[env_name]!r} is not an integer") from None
        warm = env.get(WARM_AUDIO_ENV, "").strip()
        return cls(models=models, sources=sources, warm_audio=Path(warm) if warm else None,
                   **extra)

    def model_for(self, language: str) -> tuple[str, Path | None, str]:
        """(configured language key, model dir or None, setting name) serving `language`."""
        wanted = normalise_language(language)
        candidates = [wanted]
        if "-" in wanted:
            candidates.append(wanted.split("-", 1)[0])
        for key in candidates:
            for configured, path in self.models.items():
                if normalise_language(configured) == key:
                    setting = self.sources.get(configured, model_setting_name(configured))
                    return key, path, setting
        return wanted, None, model_setting_name(candidates[-1])
