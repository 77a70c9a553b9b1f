"""`hotline simulate SCENARIO.yaml [--config DIR] [--seed N]`."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from hotline.config.loader import load_centre
from hotline.simulation.engine import simulate
from hotline.simulation.report import format_report
from hotline.simulation.scenario import check_against_centre, load_scenario
from hotline.vocabulary.problems import ConfigError


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
    began = time.perf_counter()
    result = simulate(scenario, centre, seed=args.seed)
    wall = time.perf_counter() - began
    print(format_report(result))
    print(f"\nsimulated {result.totals.arrivals} calls, {result.totals.events} kernel events "
          f"in {wall:.1f} s wall time")
    return 0
