"""Evaluation figures for classifiers: accuracy, macro-F1, confusion matrix, calibration."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Evaluation:
    labels: tuple[str, ...]  # rows/columns of `confusion`
    confusion: tuple[tuple[int, ...], ...]  # confusion[truth][predicted]
    accuracy: float
    macro_f1: float
    per_label_f1: tuple[float, ...]


def evaluate(truth: Sequence[str], predicted: Sequence[str]) -> Evaluation:
    """Figures over the union of true and predicted labels (a label never predicted
    has F1 0, a predicted label absent from the truth too: both pull macro-F1 down)."""
    if len(truth) != len(predicted):
        raise ValueError(f"{len(truth)} true labels but {len(predicted)} predictions")
    labels = tuple(sorted(set(truth) | set(predicted)))
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for t, p in zip(truth, predicted, strict=True):
        matrix[index[t], index[p]] += 1
    correct = np.diag(matrix)
    support = matrix.sum(axis=1)
    predicted_count = matrix.sum(axis=0)
    f1 = []
    for i in range(len(labels)):
        denominator = support[i] + predicted_count[i]
        f1.append(float(2 * correct[i] / denominator) if denominator else 0.0)
    total = int(matrix.sum())
    return Evaluation(
        labels,
        tuple(tuple(int(v) for v in row) for row in matrix),
        float(correct.sum() / total) if total else 0.0,
        float(np.mean(f1)) if f1 else 0.0,
        tuple(f1),
    )


def format_confusion(evaluation: Evaluation) -> str:
    """The confusion matrix as text: a row per true label, a column per predicted one."""
    labels = evaluation.labels
    width = max([5, *(len(str(v)) for row in evaluation.confusion for v in row)])
    lines = ["confusion (rows: true label, columns: predicted, in this order):"]
    lines += [f"  {i}: {label}" for i, label in enumerate(labels)]
    lines.append(" " * 6 + "".join(f"{i:>{width + 1}}" for i in range(len(labels))))
    for i, row in enumerate(evaluation.confusion):
        lines.append(f"  {i:>3} " + "".join(f"{v:>{width + 1}}" for v in row))
    return "\n".join(lines)


def top1_calibration_error(
    truth: Sequence[str], predicted: Sequence[str], confidence: Sequence[float], bins: int = 15
) -> float:
    """ECE of the top suggestion's confidence against whether it was right:
    Σ_bins (n_bin / n) · |accuracy_bin − mean confidence_bin|."""
    if not truth:
        return 0.0
    conf = np.clip(np.asarray(confidence, dtype=np.float64), 0.0, 1.0)
    right = np.array([t == p for t, p in zip(truth, predicted, strict=True)], dtype=np.float64)
    which = np.clip(np.ceil(conf * bins).astype(np.int64) - 1, 0, bins - 1)
    error = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            error += mask.mean() * abs(right[mask].mean() - conf[mask].mean())
    return float(error)
