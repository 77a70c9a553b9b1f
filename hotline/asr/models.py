"""Loading Vosk models: checked, once per process, with errors that name the setting."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import vosk

from hotline.asr.errors import ModelUnavailable
from hotline.asr.vocabulary import Vocabulary, VocabularyError, read_vocabulary

# Vosk's Kaldi logging goes to stderr, one line per warning per recogniser: silence it
# process-wide; our own errors carry the useful part.
vosk.SetLogLevel(-1)


@dataclass(frozen=True, slots=True)
class SpeechModel:
    """One loaded model and what we know about it."""

    language: str
    path: Path
    setting: str  # where the path came from, for error messages
    model: Any  # vosk.Model (untyped library)
    supports_grammar: bool  # lookahead graph (HCLr.fst + Gr.fst): runtime grammars work
    vocabulary: Vocabulary


# A model is hundreds of MB and is read-only once loaded, so the process shares one per
# directory, whoever asks (several services, tests).
_LOADED: dict[Path, SpeechModel] = {}
_LOAD_LOCK = threading.Lock()


def _check_layout(language: str, path: Path, setting: str) -> bool:
    """Raise ModelUnavailable unless `path` looks like a Vosk model; return grammar support."""

    def fail(reason: str) -> ModelUnavailable:
        return ModelUnavailable(language, setting, path, reason)

    if not path.exists():
        raise fail("directory does not exist")
    if not path.is_dir():
        raise fail("not a directory")
    for required in ("am/final.mdl", "conf/model.conf"):
        file = path / required
        if not file.is_file():
            raise fail(f"missing {required} (is this a Vosk model directory?)")
        try:
            with file.open("rb") as handle:
                handle.read(1)
        except OSError as exc:
            raise fail(f"cannot read {required}: {exc.strerror}") from exc
    graph = path / "graph"
    lookahead = (graph / "HCLr.fst").is_file() and (graph / "Gr.fst").is_file()
    if not lookahead and not (graph / "HCLG.fst").is_file():
        raise fail("missing graph/HCLG.fst or graph/HCLr.fst + graph/Gr.fst")
    return lookahead


def load_model(language: str, path: Path, setting: str) -> SpeechModel:
    """Load (or reuse) the model in `path`. Blocking, seconds: call it from a worker thread."""
    path = Path(path)
    key = path.resolve()
    with _LOAD_LOCK:
        known = _LOADED.get(key)
        if known is not None:
            return known
        lookahead = _check_layout(language, path, setting)
        try:
            vocabulary = read_vocabulary(path)
        except (VocabularyError, OSError) as exc:
            raise ModelUnavailable(language, setting, path, f"unreadable word list: {exc}") from exc
        try:
            model = vosk.Model(str(path))
        except Exception as exc:  # vosk raises a bare Exception("Failed to create a model")
            reason = f"Vosk could not load it: {exc}"
            raise ModelUnavailable(language, setting, path, reason) from exc
        loaded = SpeechModel(language, path, setting, model, lookahead, vocabulary)
        _LOADED[key] = loaded
        return loaded
