"""`hotline cdr FACTS.jsonl --csv OUT.csv`: one CDR row per call from a fact log."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from hotline.projections.cdr import cdr_rows, write_csv
from hotline.vocabulary.codec import CodecError, read_lines


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "cdr",
        help="call detail records (CSV) from a fact log",
        description="Build one call detail record per call from a fact log written by "
        "`hotline simulate --facts` or the service, and write them as CSV.",
    )
    parser.add_argument("facts", type=Path, help="the fact log (JSON lines)")
    parser.add_argument(
        "--csv", type=Path, default=None, metavar="OUT", help="write here (default: stdout)"
    )
    parser.set_defaults(func=run_cdr)


def run_cdr(args: argparse.Namespace) -> int:
    try:
        with args.facts.open(encoding="utf-8") as handle:
            rows = cdr_rows(read_lines(handle))
    except OSError as exc:
        print(f"{args.facts}: cannot read: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except CodecError as exc:
        print(f"{args.facts}: {exc}", file=sys.stderr)
        return 2
    if args.csv is None:
        write_csv(rows, sys.stdout)
        return 0
    with args.csv.open("w", encoding="utf-8", newline="") as out:
        count = write_csv(rows, out)
    print(f"{count} calls written to {args.csv}")
    return 0
