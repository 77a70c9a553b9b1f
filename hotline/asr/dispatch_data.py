"""Labelled rows for training and evaluating classifiers: a CSV read by column name."""

from __future__ import annotations

import csv
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hotline.asr.dispatch_errors import TrainingDataError

# Written requests can be long (the development set's longest is ~10k characters).
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


@dataclass(frozen=True, slots=True)
class LabelledText:
    text: str
    label: str


def read_labelled_csv(
    path: str | Path, text_column: str = "text", label_column: str = "label"
) -> list[LabelledText]:
    """Rows of `path` (UTF-8, with a header) as (text, label), columns found by name.

    Other columns are ignored. A missing column, an unreadable file or a row with an
    empty label raises `TrainingDataError` naming the file (and line); rows are never
    silently dropped. Empty text is allowed (a silent caller is a real input).
    """
    path = Path(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            missing = [c for c in (text_column, label_column) if c not in header]
            if missing:
                found = ", ".join(repr(h) for h in header) or "none"
                raise TrainingDataError(
                    f"{path}: missing column {', '.join(repr(m) for m in missing)} "
                    f"(columns found: {found})"
                )
            rows: list[LabelledText] = []
            problems: list[str] = []
            for row in reader:
                line = reader.line_num
                text, label = row.get(text_column), row.get(label_column)
                if text is None or label is None:
                    problems.append(f"{path}:{line}: row has fewer fields than the header")
                    continue
                if not label.strip():
                    problems.append(f"{path}:{line}: empty {label_column!r}")
                    continue
                rows.append(LabelledText(text, label.strip()))
    except OSError as exc:
        raise TrainingDataError(f"{path}: cannot read file: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise TrainingDataError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    except csv.Error as exc:
        raise TrainingDataError(f"{path}: not a valid CSV file ({exc})") from exc
    if problems:
        shown = problems[:20]
        more = f"\n... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise TrainingDataError("\n".join(shown) + more)
    return rows


def texts_and_labels(rows: Sequence[LabelledText]) -> tuple[list[str], list[str]]:
    return [r.text for r in rows], [r.label for r in rows]
