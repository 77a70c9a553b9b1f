"""Character n-gram TF-IDF features for smart dispatch, with no sklearn object to pickle.

Chinese requests are not segmented into words, and word segmenters (jieba) disagree
with each other on place names and new terms; overlapping character n-grams (1-4)
capture words, compounds and misspellings without a dictionary. Two fields are used:
the text (its first 1,000 characters: long letters add story, not topic, and the cap
bounds the time per request), and its head (the first 30 characters, where citizens
put the subject — "投诉XX物业乱收停车费" — before the story), which gets its own
vocabulary so that a term in the subject counts apart from the same term in the body.
On the development set the head adds about half a point of accuracy; n-grams seen in
fewer than 3 training texts (mostly names of estates and people) are dropped, which
halves the model without costing accuracy.

Speed: an n-gram is not a Python string but a 64-bit key computed with numpy from the
code points (a polynomial hash with the length in the low bits); a field's vocabulary
is a sorted key array and lookup is `np.searchsorted`. A 1,000-character request has
~4,000 n-grams: as strings that is ~4,000 slices and dict lookups (several ms on a busy
core); as keys it is a few array operations. Two different n-grams sharing a key is a
~1e-9 event for a vocabulary of a million keys, and would only merge two features.

The same code vectorises training rows and live requests, so they cannot drift apart;
keys and idf are plain arrays, stored as `.npy` in the model file (`dispatch_model`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from hotline.asr.text import join_cjk_words, normalise

KeyArray = npt.NDArray[np.uint64]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

_DIGITS = re.compile(r"[0-9]+")
_PRIME = np.uint64(0x100000001B3)  # the 64-bit FNV prime: mixes code points well
_LENGTH_BITS = np.uint64(8)


def prepare(text: str) -> str:
    """Normalised text with Vosk's word spaces removed and digit runs folded to "0"
    (house numbers, dates and masked phone numbers say nothing about the topic)."""
    return _DIGITS.sub("0", join_cjk_words(normalise(text)))


def code_points(text: str) -> KeyArray:
    # surrogatepass: a lone surrogate (from badly decoded input) is a code point like
    # any other, not a reason to fail a request.
    raw = text.encode("utf-32-le", "surrogatepass")
    return np.frombuffer(raw, dtype=np.uint32).astype(np.uint64)


def ngram_keys(codes: KeyArray, min_n: int, max_n: int) -> KeyArray:
    """The key of every character n-gram (min_n <= n <= max_n) of a code-point array.

    Keys wrap around modulo 2**64 (numpy array arithmetic on uint64 does that silently);
    the n-gram length sits in the low 3 bits so that grams of different lengths never
    share a key by construction.
    """
    parts: list[KeyArray] = []
    length = len(codes)
    for n in range(min_n, max_n + 1):
        count = length - n + 1
        if count <= 0:
            break
        h = np.zeros(count, dtype=np.uint64)
        for j in range(n):
            h = h * _PRIME + codes[j : j + count]
        parts.append(h * _LENGTH_BITS + np.uint64(n))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """How one field is cut from the prepared text and turned into n-grams."""

    name: str
    min_n: int
    max_n: int
    head_chars: int | None = None  # None: the whole text; else its first characters
    weight: float = 1.0
    min_df: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.min_n <= self.max_n <= 7:  # 7: the length must fit in 3 bits
            raise ValueError(f"field {self.name}: n-gram sizes must satisfy 1 <= min <= max <= 7")

    def keys(self, codes: KeyArray) -> KeyArray:
        part = codes if self.head_chars is None else codes[: self.head_chars]
        return ngram_keys(part, self.min_n, self.max_n)

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "min_n": self.min_n,
            "max_n": self.max_n,
            "head_chars": self.head_chars,
            "weight": self.weight,
            "min_df": self.min_df,
        }


DEFAULT_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("text", 1, 4, 1000, 1.0, min_df=3),
    FieldSpec("head", 1, 3, 30, 0.7, min_df=1),
)


@dataclass(frozen=True, slots=True)
class FieldVocabulary:
    """One field's fitted n-gram keys (sorted: their order is the column order) and
    inverse document frequencies."""

    spec: FieldSpec
    keys: KeyArray
    idf: FloatArray

    def lookup(self, grams: KeyArray) -> tuple[IntArray, FloatArray]:
        """Columns of the known n-grams among `grams`, with their counts."""
        if len(self.keys) == 0 or len(grams) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        unique, counts = np.unique(grams, return_counts=True)
        where = np.searchsorted(self.keys, unique)
        where[where == len(self.keys)] = 0
        known = self.keys[where] == unique
        return where[known].astype(np.int64), counts[known].astype(np.float64)

    def weigh(self, cols: IntArray, counts: FloatArray) -> FloatArray:
        # Sublinear tf (the tenth mention of 物业 adds little to the first) × idf,
        # L2-normalised per field, then the field's weight.
        vals: FloatArray = (1.0 + np.log(counts)) * self.idf[cols]
        norm = float(np.sqrt(vals @ vals))
        if norm > 0.0:
            vals *= self.spec.weight / norm
        return vals


def _read_limit(specs: Sequence[FieldSpec]) -> int | None:
    """How much of a raw text the fields can ever see: twice the longest head, since
    normalising may shorten it (None: a field reads the whole text)."""
    heads = [spec.head_chars for spec in specs]
    if not heads or None in heads:
        return None
    return 2 * max(h for h in heads if h is not None)


def _prepared_codes(text: str, limit: int | None) -> KeyArray:
    # Training and live requests cut the raw text at the same place, so a long text
    # gives the same features in both.
    return code_points(prepare(text if limit is None else text[:limit]))


class FeatureSpace:
    """Fitted fields → one sparse row per text (each field L2-normalised, then weighted)."""

    def __init__(self, fields: Sequence[FieldVocabulary]) -> None:
        self.fields = tuple(fields)
        offsets = [0]
        for f in self.fields:
            offsets.append(offsets[-1] + len(f.keys))
        self._offsets = offsets
        self._read_chars = _read_limit([f.spec for f in self.fields])

    @property
    def size(self) -> int:
        return self._offsets[-1]

    @classmethod
    def fit(cls, texts: Sequence[str], specs: Sequence[FieldSpec] = DEFAULT_FIELDS) -> FeatureSpace:
        return cls.fit_transform(texts, specs)[0]

    @classmethod
    def fit_transform(
        cls, texts: Sequence[str], specs: Sequence[FieldSpec] = DEFAULT_FIELDS
    ) -> tuple[FeatureSpace, sp.csr_matrix]:
        """Fit keys and idf on `texts` and return their matrix too (n-grams computed once)."""
        limit = _read_limit(specs)
        codes = [_prepared_codes(t, limit) for t in texts]
        per_field = [[spec.keys(c) for c in codes] for spec in specs]
        fields = []
        docs = len(texts)
        for spec, grams in zip(specs, per_field, strict=True):
            seen = [np.unique(g) for g in grams]
            if seen:
                keys, df = np.unique(np.concatenate(seen), return_counts=True)
            else:
                keys, df = np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
            keep = df >= spec.min_df
            # Smoothed idf (as scikit-learn's default): a term in every text weighs 1.
            idf = np.log((1.0 + docs) / (1.0 + df[keep])) + 1.0
            fields.append(FieldVocabulary(spec, keys[keep], idf))
        space = cls(fields)
        rows = (space._vectorise([g[i] for g in per_field]) for i in range(docs))
        return space, space._stack(rows, docs)

    def row(self, text: str) -> tuple[IntArray, FloatArray]:
        """Column indices and values of one text (the path a live request takes)."""
        codes = _prepared_codes(text, self._read_chars)
        return self._vectorise([f.spec.keys(codes) for f in self.fields])

    def _vectorise(self, grams_per_field: Sequence[KeyArray]) -> tuple[IntArray, FloatArray]:
        columns: list[IntArray] = []
        values: list[FloatArray] = []
        for field, offset, grams in zip(self.fields, self._offsets, grams_per_field, strict=False):
            cols, counts = field.lookup(grams)
            if len(cols):
                columns.append(cols + offset)
                values.append(field.weigh(cols, counts))
        if not columns:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        return np.concatenate(columns), np.concatenate(values)

    def transform(self, texts: Iterable[str]) -> sp.csr_matrix:
        texts = list(texts)
        return self._stack((self.row(t) for t in texts), len(texts))

    def _stack(self, rows: Iterable[tuple[IntArray, FloatArray]], count: int) -> sp.csr_matrix:
        indptr = [0]
        indices: list[IntArray] = []
        data: list[FloatArray] = []
        for cols, vals in rows:
            indices.append(cols)
            data.append(vals)
            indptr.append(indptr[-1] + len(cols))
        return sp.csr_matrix(
            (
                np.concatenate(data) if data else np.zeros(0),
                np.concatenate(indices) if indices else np.zeros(0, dtype=np.int64),
                np.array(indptr, dtype=np.int64),
            ),
            shape=(count, self.size),
        )
