"""`hotline simulate SCENARIO.yaml [--config DIR] [--seed N] [--facts FILE.jsonl]`."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from hotline.config.loader import load_centre
from hotline.simulation.engine import simulate
from hotline.simulation.report import format_report
from hotline.simulation.scenario import check_against_centre, load_scenario
from hotline.vocabulary.codec import dumps
from hotline.vocabulary.problems import ConfigError


def add_simulate_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `hotline simulate` that this module adds to the parser."""
    parser.add_argument(
        "--facts", default=None, metavar="FILE.jsonl",
        help="write the whole fact log (every event and fact, one JSON object a line)",
    )


class _FactWriter:
    """A runtime listener that writes each record as one JSON line."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self.written = 0

    def __call__(self, _seq: int, record: Any) -> None:
        self._out.write(dumps(record))
        self._out.write("\n")
        self.written += 1


def run_simulate(args: argparse.Namespace) -> int:
    try:
        scenario, config_dir = load_scenario(args.scenario)
        if args.config is not None:
            config_dir = Path(args.config)
        centre = load_centre(config_dir)
        check_against_centre(scenario, args.scenario, centre)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    facts_path = args.facts
    began = time.perf_counter()
    if facts_path is None:
        result = simulate(scenario, centre, seed=args.seed)
    else:
        with open(facts_path, "w", encoding="utf-8") as out:
            writer = _FactWriter(out)
            result = simulate(scenario, centre, seed=args.seed, listeners=(writer,))
    wall = time.perf_counter() - began
    print(format_report(result))
    print(f"\nsimulated {result.totals.arrivals} calls, {result.totals.events} kernel events "
          f"in {wall:.1f} s wall time")
    if facts_path is not None:
        print(f"wrote {writer.written} records to {facts_path}")
    return 0
