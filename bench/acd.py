"""ACD and simulator speed: routing decisions, and a whole emergency day on virtual time.

Prints `name: value` lines:
  decisions_per_s, decision_p50_ms, decision_p99_ms   routing decisions of the ACD kernel
      (from bench/acd_decisions.py: 10,000 waiting calls, 2,000 seats, 20 skills)
  emergency_day_90k_wall_s   wall time to simulate scenarios/emergency_day_90k.yaml (about
      90,000 calls through the real flows, queues, 128 agents' seats, the mode switch and
      the callbacks drained after midnight) on one core; target < 60 s
  emergency_day_calls, emergency_day_kernel_events, emergency_day_events_per_s
  emergency_day_us_per_call  wall time per simulated call
  emergency_day_callbacks_requested, emergency_day_callbacks_unsettled  the callback
      backlog, and what the one-hour drain could not settle (reported, never dropped)

Run: .venv/bin/python bench/acd.py  [--profile]  (--profile prints the top of cProfile)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _decision_figures() -> dict[str, float]:
    sys.path.insert(0, str(ROOT / "bench"))
    import acd_decisions  # the ACD's own decision benchmark (bench/acd_decisions.py)

    figures: dict[str, float] = acd_decisions.run()
    return figures


def _emergency_day(profile: bool) -> dict[str, float]:
    from hotline.config.loader import load_centre
    from hotline.simulation.engine import Simulation
    from hotline.simulation.scenario import load_scenario

    scenario, config_dir = load_scenario(ROOT / "scenarios" / "emergency_day_90k.yaml")
    centre = load_centre(config_dir)
    simulation = Simulation(scenario, centre)
    if profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        began = time.perf_counter()
        profiler.runcall(simulation.run)
        wall = time.perf_counter() - began
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(30)
    else:
        began = time.perf_counter()
        simulation.run()
        wall = time.perf_counter() - began
    totals = simulation.totals
    callbacks = simulation.callbacks
    return {
        "emergency_day_90k_wall_s": wall,
        "emergency_day_calls": float(totals.arrivals),
        "emergency_day_kernel_events": float(totals.events),
        "emergency_day_events_per_s": totals.events / wall,
        "emergency_day_us_per_call": wall / totals.arrivals * 1e6,
        "emergency_day_callbacks_requested": float(len(callbacks.records)),
        "emergency_day_callbacks_unsettled": float(callbacks.pending),
    }


def main() -> None:
    profile = "--profile" in sys.argv
    figures = _decision_figures()
    for name in ("decisions_per_s", "decision_p50_ms", "decision_p99_ms"):
        print(f"{name}: {figures[name]:.4g}")
    for name, value in _emergency_day(profile).items():
        print(f"{name}: {value:.4g}")


if __name__ == "__main__":
    main()
