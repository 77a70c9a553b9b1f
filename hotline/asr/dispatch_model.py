"""The trained dispatch model: training, prediction, and a safe, versioned file format.

Model: character n-gram TF-IDF (`dispatch_features`) → one-vs-rest linear SVM
(scikit-learn's LinearSVC, squared hinge) → temperature-scaled softmax, the temperature
fitted on out-of-fold scores of the training rows (`dispatch_calibration`). Only the
learnt numbers are kept (weights, bias, vocabulary, idf), so prediction needs numpy
alone and takes well under a millisecond for a typical request.

File format (a zip archive, `FORMAT_VERSION` 1):
  header.json   format name and version, library versions, labels, feature fields,
                calibration figures, training metadata (rows, label counts, source
                file name and SHA-256, time, classifier settings)
  keys_<field>.npy   the n-gram keys of each feature field, in column order (uint64)
  idf_<field>.npy, weights.npy, bias.npy
Arrays are read with `allow_pickle=False` and JSON with `json.loads`, so opening a model
file can never execute code; the header is checked before anything else is read.
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
import warnings
import zipfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from hotline.asr.dispatch_calibration import (
    expected_calibration_error,
    fit_temperature,
    softmax,
)
from hotline.asr.dispatch_data import LabelledText
from hotline.asr.dispatch_errors import ModelFormatError, TrainingDataError
from hotline.asr.dispatch_features import (
    DEFAULT_FIELDS,
    FeatureSpace,
    FieldSpec,
    FieldVocabulary,
)
from hotline.vocabulary.ports import Suggestion

FORMAT_NAME = "hotline.dispatch-model"
FORMAT_VERSION = 1
# A damaged or hostile archive must not fill the memory when unpacked.
MAX_MEMBER_BYTES = 1 << 30


@dataclass(frozen=True, eq=False)  # arrays inside: compare models by identity
class DispatchModel:
    labels: tuple[str, ...]
    features: FeatureSpace
    weights: npt.NDArray[np.float32]  # (features, labels): a row per feature column
    bias: npt.NDArray[np.float64]  # (labels,)
    temperature: float
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def scores(self, text: str) -> npt.NDArray[np.float64]:
        """Raw linear scores, one per label."""
        cols, vals = self.features.row(text)
        raw = vals @ self.weights[cols] if len(cols) else np.zeros(len(self.labels))
        out: npt.NDArray[np.float64] = np.asarray(raw, dtype=np.float64) + self.bias
        return out

    def probabilities(self, text: str) -> npt.NDArray[np.float64]:
        """Calibrated probabilities, one per label (they sum to 1)."""
        return softmax(self.scores(text), self.temperature)

    def score_matrix(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        matrix = self.features.transform(texts)
        raw = matrix @ self.weights.astype(np.float64)
        out: npt.NDArray[np.float64] = np.asarray(raw) + self.bias
        return out

    def classify(self, text: str, top_k: int = 3) -> list[Suggestion]:
        probs = self.probabilities(text)
        order = np.argsort(-probs, kind="stable")[: max(top_k, 0)]
        return [Suggestion(self.labels[i], float(probs[i])) for i in order]


def _fit_linear(
    matrix: Any, truth: npt.NDArray[np.int64], n_labels: int, c: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], bool]:
    """One-vs-rest LinearSVC → (weights features × labels, bias, converged)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import LinearSVC

    # Balanced class weights: small categories (交通运输 is 7% of the development set)
    # would otherwise lose most borderline requests to big ones, hurting macro-F1.
    classifier = LinearSVC(C=c, class_weight="balanced", max_iter=5000)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        classifier.fit(matrix, truth)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    coef = np.asarray(classifier.coef_, dtype=np.float64)
    bias = np.asarray(classifier.intercept_, dtype=np.float64)
    if n_labels == 2:  # sklearn keeps one row for two classes: expand to one per label
        coef = np.vstack([-coef[0], coef[0]])
        bias = np.array([-bias[0], bias[0]])
    return coef.T.copy(), bias, converged


def train_model(
    rows: Sequence[LabelledText],
    *,
    c: float = 1.0,
    calibration_folds: int = 5,
    fields: Sequence[FieldSpec] = DEFAULT_FIELDS,
    source: str | None = None,
    source_sha256: str | None = None,
    trained_at: str | None = None,
    seed: int = 0,
) -> DispatchModel:
    """Fit features, classifier and temperature on labelled rows.

    The temperature is fitted on out-of-fold scores (stratified folds over the training
    rows; the feature vocabulary is shared across folds since it uses no labels). With
    fewer than two rows in some label, calibration is skipped (T = 1) and the metadata
    says so.
    """
    counts = Counter(r.label for r in rows)
    if len(counts) < 2:
        raise TrainingDataError(
            f"training needs at least two different labels; got {sorted(counts) or 'none'}"
        )
    labels = tuple(sorted(counts))
    index = {label: i for i, label in enumerate(labels)}
    texts = [r.text for r in rows]
    truth = np.array([index[r.label] for r in rows], dtype=np.int64)
    features, matrix = FeatureSpace.fit_transform(texts, fields)

    folds = min(calibration_folds, min(counts.values()))
    calibration: dict[str, Any] = {"method": "temperature", "folds": folds}
    temperature = 1.0
    if folds >= 2:
        from sklearn.model_selection import StratifiedKFold

        held_out = np.zeros((len(rows), len(labels)))
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        for train_idx, test_idx in splitter.split(np.zeros(len(truth)), truth):
            sub_labels = np.unique(truth[train_idx])
            w, b, _ = _fit_linear(matrix[train_idx], truth[train_idx], len(sub_labels), c)
            fold_scores = np.full((len(test_idx), len(labels)), -1e3)
            fold_scores[:, sub_labels] = matrix[test_idx] @ w + b
            held_out[test_idx] = fold_scores
        temperature = fit_temperature(held_out, truth)
        calibration.update(
            temperature=temperature,
            ece_uncalibrated=expected_calibration_error(softmax(held_out, 1.0), truth),
            ece_calibrated=expected_calibration_error(softmax(held_out, temperature), truth),
            held_out_accuracy=float(np.mean(held_out.argmax(axis=1) == truth)),
        )
    else:
        reason = (
            "calibration folds < 2" if calibration_folds < 2 else "a label has fewer than 2 rows"
        )
        calibration.update(temperature=1.0, skipped=reason)

    weights, bias, converged = _fit_linear(matrix, truth, len(labels), c)
    metadata = {
        "training": {
            "rows": len(rows),
            "label_counts": {label: counts[label] for label in labels},
            "source": source,
            "source_sha256": source_sha256,
            "trained_at": trained_at,
            "classifier": {
                "name": "LinearSVC",
                "C": c,
                "class_weight": "balanced",
                "converged": converged,
            },
            "seed": seed,
        },
        "calibration": calibration,
    }
    return DispatchModel(
        labels, features, weights.astype(np.float32), bias, float(temperature), metadata
    )


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _library_versions() -> dict[str, str]:
    from importlib import metadata

    import scipy
    import sklearn

    try:
        hotline_version = metadata.version("hotline")
    except metadata.PackageNotFoundError:  # running from a source tree
        hotline_version = "unknown"
    return {
        "hotline": hotline_version,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
    }


def _npy(array: npt.NDArray[Any]) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def save_model(model: DispatchModel, path: str | Path) -> None:
    """Write the model file (see the module docstring for its layout)."""
    header = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "libraries": _library_versions(),
        "labels": list(model.labels),
        "temperature": model.temperature,
        "fields": [f.spec.to_json() for f in model.features.fields],
        **model.metadata,
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".partial")
    with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("header.json", json.dumps(header, ensure_ascii=False, indent=2))
        for f in model.features.fields:
            archive.writestr(f"keys_{f.spec.name}.npy", _npy(f.keys))
            archive.writestr(f"idf_{f.spec.name}.npy", _npy(f.idf))
        archive.writestr("weights.npy", _npy(model.weights))
        archive.writestr("bias.npy", _npy(model.bias))
    temporary.replace(path)  # never leave a half-written model under the real name


def _read(archive: zipfile.ZipFile, name: str, path: Path) -> bytes:
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise ModelFormatError(f"{path}: damaged model file (no {name})") from None
    if info.file_size > MAX_MEMBER_BYTES:
        raise ModelFormatError(f"{path}: {name} is implausibly large ({info.file_size} bytes)")
    return archive.read(name)


def _array(archive: zipfile.ZipFile, name: str, path: Path, kind: str = "f") -> npt.NDArray[Any]:
    try:
        array = np.load(io.BytesIO(_read(archive, name, path)), allow_pickle=False)
    except ValueError as exc:
        raise ModelFormatError(f"{path}: damaged model file ({name}: {exc})") from exc
    if not isinstance(array, np.ndarray) or array.dtype.kind != kind:
        what = "a float" if kind == "f" else "an unsigned integer"
        raise ModelFormatError(f"{path}: damaged model file ({name} is not {what} array)")
    return array


def read_header(path: str | Path) -> dict[str, Any]:
    """The header of a model file, after checking that it is one we can read."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            return _checked_header(archive, path)
    except FileNotFoundError:
        raise ModelFormatError(f"{path}: no such model file") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelFormatError(f"{path}: not a dispatch model file ({exc})") from exc


def _checked_header(archive: zipfile.ZipFile, path: Path) -> dict[str, Any]:
    try:
        header = json.loads(_read(archive, "header.json", path).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFormatError(f"{path}: damaged model header ({exc})") from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise ModelFormatError(f"{path}: not a dispatch model file (format is not {FORMAT_NAME})")
    version = header.get("format_version")
    if version != FORMAT_VERSION:
        made_by = header.get("libraries", {}).get("hotline", "an unknown hotline version")
        raise ModelFormatError(
            f"{path}: model format version {version!r} (written by hotline {made_by}) cannot "
            f"be read by this hotline, which reads version {FORMAT_VERSION}; retrain it with "
            "`hotline dispatch train`"
        )
    return header


def load_model(path: str | Path) -> DispatchModel:
    """Read a model file written by `save_model`; `ModelFormatError` if it is not one."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            header = _checked_header(archive, path)
            try:
                labels = tuple(str(label) for label in header["labels"])
                specs = [FieldSpec(**spec) for spec in header["fields"]]
                fields = [
                    FieldVocabulary(
                        spec,
                        _array(archive, f"keys_{spec.name}.npy", path, "u").astype(np.uint64),
                        _array(archive, f"idf_{spec.name}.npy", path).astype(np.float64),
                    )
                    for spec in specs
                ]
                temperature = float(header["temperature"])
            except (KeyError, TypeError, ValueError) as exc:
                raise ModelFormatError(f"{path}: damaged model file ({exc!r})") from exc
            weights = _array(archive, "weights.npy", path).astype(np.float32)
            bias = _array(archive, "bias.npy", path).astype(np.float64)
    except FileNotFoundError:
        raise ModelFormatError(f"{path}: no such model file") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelFormatError(f"{path}: not a dispatch model file ({exc})") from exc
    features = FeatureSpace(fields)
    for f in fields:
        if f.keys.ndim != 1 or f.keys.shape != f.idf.shape or np.any(f.keys[1:] <= f.keys[:-1]):
            raise ModelFormatError(
                f"{path}: damaged model file (keys of field {f.spec.name!r} are not sorted "
                "or do not match its idf)"
            )
    if weights.shape != (features.size, len(labels)) or bias.shape != (len(labels),):
        raise ModelFormatError(
            f"{path}: damaged model file (weights {weights.shape}, bias {bias.shape}, "
            f"expected ({features.size}, {len(labels)}) and ({len(labels)},))"
        )
    if not temperature > 0.0:
        raise ModelFormatError(f"{path}: damaged model file (temperature {temperature})")
    metadata: dict[str, Any] = {
        k: header[k] for k in ("training", "calibration", "libraries") if k in header
    }
    return DispatchModel(labels, features, weights, bias, temperature, metadata)
