"""`hotline dispatch train|eval|predict` and `hotline satisfaction eval|recognise`."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

from hotline.asr.dispatch import DEFAULT_RULES_PATH, SmartDispatcher
from hotline.asr.dispatch_data import read_labelled_csv
from hotline.asr.dispatch_errors import DispatchError
from hotline.asr.dispatch_metrics import evaluate, format_confusion, top1_calibration_error
from hotline.asr.dispatch_model import file_sha256, load_model, save_model, train_model
from hotline.asr.dispatch_rules import KeywordRules, load_rules
from hotline.asr.satisfaction import DEFAULT_SATISFACTION_CSV, recognise
from hotline.vocabulary.problems import ConfigError

# Exit codes: 0 done, 1 ran but the result is bad (not used here), 2 unusable input.
_BAD_INPUT = 2


def register(subparsers: Any) -> None:
    dispatch = subparsers.add_parser(
        "dispatch", help="smart dispatch classifier: train, evaluate, predict"
    )
    actions = dispatch.add_subparsers(dest="dispatch_command", required=True, metavar="ACTION")

    train = actions.add_parser("train", help="train a model from a labelled CSV (text, label)")
    _csv_arguments(train)
    train.add_argument("--model", required=True, type=Path, help="model file to write")
    train.add_argument("--c", type=float, default=1.0, help="SVM regularisation C (default 1)")
    train.add_argument(
        "--calibration-folds",
        type=int,
        default=5,
        help="folds for fitting the confidence temperature (default 5)",
    )
    train.set_defaults(func=_train)

    ev = actions.add_parser("eval", help="accuracy, macro-F1 and confusion matrix on a CSV")
    _csv_arguments(ev)
    ev.add_argument("--model", required=True, type=Path, help="model file to evaluate")
    ev.add_argument(
        "--rules",
        type=Path,
        default=None,
        help="also apply this keyword rules file (default: the model alone)",
    )
    ev.set_defaults(func=_eval)

    predict = actions.add_parser("predict", help="top-k categories for one text")
    predict.add_argument(
        "--model", type=Path, default=None, help="model file (omit to use the keyword rules alone)"
    )
    predict.add_argument(
        "--rules",
        type=Path,
        default=DEFAULT_RULES_PATH,
        help=f"keyword rules file (default {DEFAULT_RULES_PATH.name})",
    )
    predict.add_argument("--top-k", type=int, default=3)
    predict.add_argument("text", help="the transcript or written request")
    predict.set_defaults(func=_predict)

    satisfaction = subparsers.add_parser(
        "satisfaction", help="callback survey answer recogniser: eval, recognise"
    )
    sat_actions = satisfaction.add_subparsers(
        dest="satisfaction_command", required=True, metavar="ACTION"
    )
    sat_eval = sat_actions.add_parser("eval", help="accuracy and every miss on a labelled CSV")
    sat_eval.add_argument(
        "--csv",
        type=Path,
        default=DEFAULT_SATISFACTION_CSV,
        help="CSV with columns text and label (default: the shipped set)",
    )
    sat_eval.set_defaults(func=_satisfaction_eval)
    sat_one = sat_actions.add_parser("recognise", help="recognise one answer")
    sat_one.add_argument("text")
    sat_one.set_defaults(func=_satisfaction_recognise)


def _csv_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--csv", required=True, type=Path, help="labelled CSV file")
    parser.add_argument("--text-column", default="text")
    parser.add_argument("--label-column", default="label")


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return _BAD_INPUT


def _train(args: argparse.Namespace) -> int:
    try:
        rows = read_labelled_csv(args.csv, args.text_column, args.label_column)
        model = train_model(
            rows,
            c=args.c,
            calibration_folds=args.calibration_folds,
            source=args.csv.name,
            source_sha256=file_sha256(args.csv),
            trained_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        )
        save_model(model, args.model)
    except DispatchError as exc:
        return _fail(str(exc))
    calibration = model.metadata["calibration"]
    print(f"rows: {len(rows)}")
    print(f"labels: {len(model.labels)} ({', '.join(model.labels)})")
    print(f"features: {model.features.size}")
    if "ece_calibrated" in calibration:
        print(f"held_out_accuracy: {calibration['held_out_accuracy']:.4f}")
        print(f"temperature: {calibration['temperature']:.4f}")
        print(f"ece_uncalibrated: {calibration['ece_uncalibrated']:.4f}")
        print(f"ece_calibrated: {calibration['ece_calibrated']:.4f}")
    else:
        print(f"calibration: skipped ({calibration['skipped']})")
    print(f"model: {args.model}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    try:
        rows = read_labelled_csv(args.csv, args.text_column, args.label_column)
        model = load_model(args.model)
        rules = load_rules(args.rules) if args.rules is not None else KeywordRules()
    except DispatchError as exc:
        return _fail(str(exc))
    except ConfigError as exc:
        return _fail(f"rules file:\n{exc}")
    if not rows:
        return _fail(f"{args.csv}: no rows")
    dispatcher = SmartDispatcher(model, rules)
    predicted, confidence = [], []
    for row in rows:
        top = dispatcher.suggest(row.text, top_k=1)
        predicted.append(top[0].label if top else "")
        confidence.append(top[0].confidence if top else 0.0)
    truth = [row.label for row in rows]
    result = evaluate(truth, predicted)
    unknown = sorted(set(truth) - set(dispatcher.labels))
    print(f"rows: {len(rows)}")
    print(f"accuracy: {result.accuracy:.4f}")
    print(f"macro_f1: {result.macro_f1:.4f}")
    print(f"ece: {top1_calibration_error(truth, predicted, confidence):.4f}")
    if unknown:
        print(f"labels the model does not know (always wrong): {', '.join(unknown)}")
    print(format_confusion(result))
    return 0


def _predict(args: argparse.Namespace) -> int:
    try:
        dispatcher = SmartDispatcher(
            load_model(args.model) if args.model is not None else None, load_rules(args.rules)
        )
    except DispatchError as exc:
        return _fail(str(exc))
    except ConfigError as exc:
        return _fail(f"rules file:\n{exc}")
    suggestions = dispatcher.suggest(args.text, top_k=args.top_k)
    if not suggestions:
        print("no suggestion (no model, and no keyword rule matched)")
    for s in suggestions:
        why = f" keywords={','.join(s.keywords)}" if s.keywords else ""
        print(f"{s.confidence:.3f}\t{s.label}\t{s.department or '-'}\t{s.source}{why}")
    return 0


def _satisfaction_eval(args: argparse.Namespace) -> int:
    try:
        rows = read_labelled_csv(args.csv)
    except DispatchError as exc:
        return _fail(str(exc))
    if not rows:
        return _fail(f"{args.csv}: no rows")
    misses = 0
    for row in rows:
        answer = recognise(row.text)
        if answer.label.value != row.label:
            misses += 1
            print(
                f"miss: {row.text!r} expected {row.label}, got {answer.label.value} "
                f"({'; '.join(answer.evidence)})"
            )
    print(f"rows: {len(rows)}")
    print(f"misses: {misses}")
    print(f"accuracy: {(len(rows) - misses) / len(rows):.4f}")
    return 0


def _satisfaction_recognise(args: argparse.Namespace) -> int:
    answer = recognise(args.text)
    print(f"{answer.label.value}\t{answer.confidence:.2f}\t{'; '.join(answer.evidence)}")
    return 0
