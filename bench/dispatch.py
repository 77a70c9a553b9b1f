"""Smart dispatch benchmark: stratified k-fold cross-validation on a labelled CSV.

    .venv/bin/python bench/dispatch.py [CSV] [--folds 5]

CSV defaults to ../shared/data/dispatch/dev.csv beside the repository (real citizen
requests with no licence to redistribute: it is read from there, never copied). Prints
`name: value` lines: the plain character n-gram baseline and our model on the same
folds, calibration error before/after temperature scaling, and per-request latency.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from hotline.asr.dispatch import DEFAULT_RULES_PATH, SmartDispatcher
from hotline.asr.dispatch_calibration import softmax
from hotline.asr.dispatch_data import LabelledText, read_labelled_csv
from hotline.asr.dispatch_metrics import evaluate, top1_calibration_error
from hotline.asr.dispatch_model import train_model
from hotline.asr.dispatch_rules import load_rules

DEFAULT_CSV = Path(__file__).resolve().parent.parent.parent / "shared/data/dispatch/dev.csv"


def baseline_predictions(train: list[LabelledText], test: list[LabelledText]) -> list[str]:
    """The plain model the centre's figure is compared with: char 1-3 TF-IDF + LinearSVC."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    vectoriser = TfidfVectorizer(analyzer="char", ngram_range=(1, 3))
    matrix = vectoriser.fit_transform([r.text for r in train])
    classifier = LinearSVC(C=1.0).fit(matrix, [r.label for r in train])
    return [str(p) for p in classifier.predict(vectoriser.transform([r.text for r in test]))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", nargs="?", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not args.csv.exists():
        print(f"skipped: {args.csv} not found (pass the path of a labelled CSV with text,label)")
        return 0
    from sklearn.model_selection import StratifiedKFold

    rows = read_labelled_csv(args.csv)
    truth = [r.label for r in rows]
    splitter = StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=args.seed)
    baseline: list[str] = [""] * len(rows)
    predicted: list[str] = [""] * len(rows)
    confidence = np.zeros(len(rows))
    raw_confidence = np.zeros(len(rows))
    latencies: list[float] = []
    cpu_latencies: list[float] = []
    train_seconds: list[float] = []
    rules = load_rules(DEFAULT_RULES_PATH)
    for train_idx, test_idx in splitter.split(np.zeros(len(rows)), truth):
        train = [rows[i] for i in train_idx]
        test = [rows[i] for i in test_idx]
        for i, label in zip(test_idx, baseline_predictions(train, test), strict=True):
            baseline[i] = label
        started = time.perf_counter()
        model = train_model(train, seed=args.seed)
        train_seconds.append(time.perf_counter() - started)
        scores = model.score_matrix([r.text for r in test])
        calibrated = softmax(scores, model.temperature)
        uncalibrated = softmax(scores, 1.0)
        for row_i, i in enumerate(test_idx):
            best = int(calibrated[row_i].argmax())
            predicted[i] = model.labels[best]
            confidence[i] = calibrated[row_i, best]
            raw_confidence[i] = uncalibrated[row_i, best]
        # Latency of the whole suggestion path an agent's screen pop uses (model + rules).
        dispatcher = SmartDispatcher(model, rules)
        for row in test:
            started, cpu_started = time.perf_counter(), time.thread_time()
            dispatcher.suggest(row.text, top_k=3)
            latencies.append((time.perf_counter() - started) * 1000.0)
            cpu_latencies.append((time.thread_time() - cpu_started) * 1000.0)
    ours = evaluate(truth, predicted)
    ece_raw = top1_calibration_error(truth, predicted, raw_confidence.tolist())
    ece = top1_calibration_error(truth, predicted, confidence.tolist())
    base = evaluate(truth, baseline)
    print(f"rows: {len(rows)}")
    print(f"folds: {args.folds}")
    print(f"baseline_cv_accuracy: {base.accuracy:.4f}")
    print(f"baseline_cv_macro_f1: {base.macro_f1:.4f}")
    print(f"cv_accuracy: {ours.accuracy:.4f}")
    print(f"cv_macro_f1: {ours.macro_f1:.4f}")
    print(f"cv_ece_uncalibrated: {ece_raw:.4f}")
    print(f"cv_ece: {ece:.4f}")
    print(f"predict_ms_p50: {statistics.median(latencies):.3f}")
    print(f"predict_ms_p99: {float(np.percentile(latencies, 99)):.3f}")
    # CPU time of this thread: on a shared machine the wall-clock tail is mostly time
    # spent waiting for a core, which says more about the neighbours than about us.
    print(f"predict_cpu_ms_p99: {float(np.percentile(cpu_latencies, 99)):.3f}")
    print(f"train_s_per_fold: {statistics.mean(train_seconds):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
