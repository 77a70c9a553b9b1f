"""How long checking a centre takes on this machine (it runs at every start and deploy).

Prints `name: value` lines:
  load_sample_ms            load + validate the shipped sample centre (config/), median
  load_128_agents_ms        the same with 128 agents and 140 seats (the reference centre's size)
  check_broken_ms           a centre with one error per section (errors path), median
  yaml_values_per_s         plain YAML → positioned data throughput

Run: `.venv/bin/python bench/config_load.py` (a few seconds). Figures depend on load.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from hotline.config.loader import load_centre
from hotline.config.problems import ConfigError
from hotline.config.yaml_positions import load_yaml, walk_paths

SAMPLE = Path(__file__).resolve().parents[1] / "config"


def median_ms(action: Callable[[], object], runs: int = 15) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def big_centre(root: Path) -> Path:
    """The sample with 128 agents and 140 seats."""
    target = root / "big"
    shutil.copytree(SAMPLE, target)
    agents = ["agents:"]
    for i in range(128):
        agents.append(f'  "{2001 + i}": {{name: 坐席{i}, team: general_a, '
                      f"skills: {{general: {1 + i % 5}, complaints: {1 + i % 4}, "
                      f"epidemic: {1 + i % 3}}}}}")
    seats = ["seats:"] + [f"  s{i:03d}: PJSIP/{8000 + i}" for i in range(1, 138)]
    seats += [f"  guest{g}: {{endpoint: PJSIP/{8900 + g}, guest: true}}" for g in range(1, 4)]
    text = (target / "agents.yaml").read_text(encoding="utf-8")
    # Keep the sample's agents (rosters and team leaders name them) and add the rest.
    original_agents = text.split("seats:")[0].split("agents:\n", 1)[1]
    (target / "agents.yaml").write_text(
        agents[0] + "\n" + original_agents + "\n".join(agents[1:]) + "\n" + "\n".join(seats)
        + "\n", encoding="utf-8")
    return target


def broken_centre(root: Path) -> Path:
    target = root / "broken"
    shutil.copytree(SAMPLE, target)
    centre = target / "centre.yaml"
    text = centre.read_text(encoding="utf-8")
    for old, new in [("flow: police", "flow: polise"), ("min_level: 4", "min_level: 9"),
                     ("to: general}", "to: generl}"), ("roster: emergency", "roster: emergncy")]:
        text = text.replace(old, new, 1)
    centre.write_text(text, encoding="utf-8")
    return target


def expect_error(path: Path) -> None:
    try:
        load_centre(path)
    except ConfigError:
        return
    raise AssertionError("the broken centre loaded")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        big = big_centre(root)
        broken = broken_centre(root)
        load_centre(big)  # must be valid
        print(f"load_sample_ms: {median_ms(lambda: load_centre(SAMPLE)):.1f}")
        print(f"load_128_agents_ms: {median_ms(lambda: load_centre(big)):.1f}")
        print(f"check_broken_ms: {median_ms(lambda: expect_error(broken)):.1f}")
        text = (big / "agents.yaml").read_text(encoding="utf-8")
        values = sum(1 for _ in walk_paths(load_yaml(text, "agents.yaml").data))
        ms = median_ms(lambda: load_yaml(text, "agents.yaml"))
        print(f"yaml_values_per_s: {values / (ms / 1000):.0f}")


if __name__ == "__main__":
    main()
