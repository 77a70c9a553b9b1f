"""A Vosk model's word list and its unknown-word token, read from the model's files.

Grammar mode must only use in-vocabulary words (Vosk silently drops the others) and
must include the model's own unknown-word token so that off-list speech is rejected
instead of forced onto a phrase. Models spell that token differently (`[unk]` in most
Vosk models, `<UNK>` in others), so it is looked up, never assumed.

Large models ship `graph/words.txt`; small "lookahead" models (HCLr.fst + Gr.fst) often
carry the word list only as the symbol table embedded in `Gr.fst`, so that is read too.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from pathlib import Path

UNKNOWN_TOKENS = ("[unk]", "<UNK>", "<unk>", "[UNK]")
"""Spellings of the unknown-word token, in order of preference."""

_FST_MAGIC = 2125659606  # OpenFst binary header
_SYMBOL_TABLE_MAGIC = 2125658996
_HAS_INPUT_SYMBOLS = 0x1
_HAS_OUTPUT_SYMBOLS = 0x2
_NON_WORDS = frozenset({"<eps>", "#0", "<s>", "</s>"})


class VocabularyError(ValueError):
    """The model's word list is missing or not in a format we can read."""


@dataclass(frozen=True, slots=True)
class Vocabulary:
    words: frozenset[str]
    unknown_token: str | None  # None: the model cannot reject off-list speech
    source: Path

    def __contains__(self, word: object) -> bool:
        return word in self.words

    def __len__(self) -> int:
        return len(self.words)


def read_vocabulary(model_dir: Path) -> Vocabulary:
    """The vocabulary of the Vosk model in `model_dir` (words.txt, else an FST's symbols)."""
    graph = model_dir / "graph"
    words_txt = graph / "words.txt"
    if words_txt.is_file():
        words = _read_words_txt(words_txt)
        source = words_txt
    else:
        for name in ("Gr.fst", "HCLG.fst"):
            fst = graph / name
            if fst.is_file():
                words = _read_fst_words(fst)
                source = fst
                break
        else:
            raise VocabularyError(f"{graph}: no words.txt, Gr.fst or HCLG.fst to read words from")
    unknown = next((t for t in UNKNOWN_TOKENS if t in words), None)
    return Vocabulary(frozenset(words - _NON_WORDS), unknown, source)


def _read_words_txt(path: Path) -> set[str]:
    words: set[str] = set()
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 2 or not parts[1].isdigit():
                raise VocabularyError(f"{path}:{number}: expected 'word id', got {line.rstrip()!r}")
            words.add(parts[0])
    return words


class _Reader:
    """Little-endian reads from a memory map (only the pages we touch are read)."""

    def __init__(self, data: mmap.mmap, path: Path) -> None:
        self.data = data
        self.pos = 0
        self.path = path

    def unpack(self, fmt: str) -> int:
        try:
            (value,) = struct.unpack_from(fmt, self.data, self.pos)
        except struct.error:
            raise VocabularyError(f"{self.path}: truncated at byte {self.pos}") from None
        self.pos += struct.calcsize(fmt)
        return int(value)

    def string(self) -> str:
        size = self.unpack("<i")
        if size < 0 or self.pos + size > len(self.data):
            raise VocabularyError(f"{self.path}: bad string length at byte {self.pos}")
        raw = self.data[self.pos : self.pos + size]
        self.pos += size
        return raw.decode("utf-8", errors="replace")


def _read_symbol_table(reader: _Reader) -> set[str]:
    if reader.unpack("<i") != _SYMBOL_TABLE_MAGIC:
        raise VocabularyError(f"{reader.path}: bad symbol table at byte {reader.pos - 4}")
    reader.string()  # the table's name
    reader.unpack("<q")  # available key
    size = reader.unpack("<q")
    symbols: set[str] = set()
    for _ in range(size):
        symbols.add(reader.string())
        reader.unpack("<q")  # its numeric id: grammar mode needs only the spelling
    return symbols


def _read_fst_words(path: Path) -> set[str]:
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        reader = _Reader(data, path)
        if reader.unpack("<i") != _FST_MAGIC:
            raise VocabularyError(f"{path}: not an OpenFst binary file")
        reader.string()  # fst type
        reader.string()  # arc type
        reader.unpack("<i")  # version
        flags = reader.unpack("<i")
        reader.unpack("<Q")  # properties
        for _ in range(3):  # start state, number of states, number of arcs
            reader.unpack("<q")
        input_symbols: set[str] = set()
        if flags & _HAS_INPUT_SYMBOLS:
            input_symbols = _read_symbol_table(reader)
        if flags & _HAS_OUTPUT_SYMBOLS:
            return _read_symbol_table(reader)
        if input_symbols:
            return input_symbols
    raise VocabularyError(f"{path}: the FST carries no word symbol table")
