"""`hotline staffing` (Erlang C / Erlang A advice) and `hotline simulate` (a simulated day)."""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from hotline.cli.simulate import add_simulate_arguments, run_simulate
from hotline.projections.staffing import Performance, StaffingError, advise
from hotline.vocabulary.errors import RulesError
from hotline.vocabulary.queueing import ServiceTarget


def register(subparsers: Any) -> None:
    staffing = subparsers.add_parser(
        "staffing",
        help="agents needed for a service level (Erlang C, or Erlang A with --patience-s)",
        description="Agents needed now for a service target, from the arrival rate and "
        "average handle time. Erlang C assumes nobody hangs up; give --patience-s (the "
        "callers' mean patience) for Erlang A.",
    )
    staffing.add_argument("--calls-per-hour", type=float, required=True)
    staffing.add_argument("--aht-s", type=float, required=True, help="average handle time")
    staffing.add_argument(
        "--target", default="80/15", help="percent answered / within seconds (default 80/15)"
    )
    staffing.add_argument("--patience-s", type=float, default=None)
    staffing.add_argument(
        "--logged-in", type=int, default=None, help="agents logged in now: show the gap"
    )
    staffing.set_defaults(func=_staffing)

    simulate = subparsers.add_parser(
        "simulate",
        help="simulate a day of the centre on virtual time and print KPIs",
        description="Drive the real centre kernel (flows, queues, seats, mode) with "
        "synthetic citizens and agents, on virtual time, and print KPIs per hour and mode.",
    )
    simulate.add_argument("scenario", help="scenario YAML file (see scenarios/)")
    simulate.add_argument(
        "--config", default=None, help="centre config directory (default: the scenario's)"
    )
    simulate.add_argument(
        "--seed", type=int, default=None, help="random seed (default: the scenario's)"
    )
    add_simulate_arguments(simulate)
    simulate.set_defaults(func=_simulate)


def _show(perf: Performance, target: ServiceTarget) -> str:
    if not perf.stable:
        return f"{perf.agents} agents: overloaded (load {perf.offered_erlangs:.2f} Erlangs)"
    asa = "∞" if math.isinf(perf.asa_s) else f"{perf.asa_s:.1f} s"
    parts = [
        f"P(wait) {perf.wait_probability:.1%}",
        f"SL {target} {perf.service_level:.1%}",
        f"ASA {asa}",
        f"occupancy {perf.occupancy:.1%}",
    ]
    if perf.abandon_rate:
        parts.append(f"abandon {perf.abandon_rate:.1%}")
    return f"{perf.agents} agents: " + ", ".join(parts)


def _staffing(args: argparse.Namespace) -> int:
    try:
        target = ServiceTarget.parse(args.target)
        advice = advise(
            args.calls_per_hour,
            args.aht_s,
            target=target,
            patience_s=args.patience_s,
            logged_in=args.logged_in,
        )
    except (StaffingError, RulesError) as exc:
        print(f"hotline staffing: {exc}", file=sys.stderr)
        return 2
    model = "Erlang A" if advice.model == "erlang-a" else "Erlang C"
    print(
        f"{model}: {advice.calls_per_hour:g} calls/h, AHT {advice.aht_s:g} s, "
        f"load {advice.predicted.offered_erlangs:.2f} Erlangs, target {target}"
        + (f", mean patience {advice.patience_s:g} s" if advice.patience_s else "")
    )
    print(f"agents needed: {advice.agents_needed}")
    print(f"  predicted  {_show(advice.predicted, target)}")
    if advice.at_logged_in is not None and advice.gap is not None:
        gap = advice.gap
        verdict = f"{gap} short" if gap > 0 else ("on target" if gap == 0 else f"{-gap} spare")
        print(f"logged in: {advice.logged_in} ({verdict})")
        print(f"  now        {_show(advice.at_logged_in, target)}")
    return 0


def _simulate(args: argparse.Namespace) -> int:
    return run_simulate(args)
