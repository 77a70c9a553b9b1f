"""Turning linear-model scores into calibrated probabilities (temperature scaling).

A linear SVM's margins rank labels well but are not probabilities. Temperature scaling
(Guo et al., 2017) fits one number T on *held-out* scores so that softmax(score / T)
has the lowest negative log-likelihood; it keeps the ranking (top-k is unchanged) and
fixes over- or under-confidence. Calibration is measured by the expected calibration
error (ECE): the gap between confidence and accuracy, averaged over confidence bins.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize_scalar

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def softmax(scores: FloatArray, temperature: float = 1.0) -> FloatArray:
    """Row-wise softmax of scores / temperature (stable for large margins)."""
    z = np.atleast_2d(scores) / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    out: FloatArray = e / e.sum(axis=1, keepdims=True)
    return out if scores.ndim == 2 else out[0]


def negative_log_likelihood(scores: FloatArray, truth: IntArray, temperature: float) -> float:
    probs = softmax(scores, temperature)
    picked = probs[np.arange(len(truth)), truth]
    return float(-np.mean(np.log(np.clip(picked, 1e-12, 1.0))))


def fit_temperature(scores: FloatArray, truth: IntArray) -> float:
    """The T in [0.01, 100] minimising the NLL of held-out `scores` (n × labels)."""
    if len(truth) == 0:
        return 1.0
    result = minimize_scalar(
        lambda log_t: negative_log_likelihood(scores, truth, float(np.exp(log_t))),
        bounds=(np.log(0.01), np.log(100.0)),
        method="bounded",
    )
    return float(np.exp(result.x))


def expected_calibration_error(probs: FloatArray, truth: IntArray, bins: int = 15) -> float:
    """Top-label ECE: Σ_bins (n_bin / n) · |accuracy_bin − mean confidence_bin|."""
    if len(truth) == 0:
        return 0.0
    confidence = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == truth).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    # Bin i holds (edges[i], edges[i+1]]; a confidence of exactly 0 joins the first bin.
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    error = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            error += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(error)
