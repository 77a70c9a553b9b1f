"""How long checking a centre takes on this machine (it runs at every start and deploy).

Prints `name: value` lines:
  load_sample_ms            load + validate the shipped sample centre (config/), median
  load_512_agents_ms        the sample grown to 512 agents and 510 seats (4x the reference)
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
from hotline.config.yaml_positions import load_yaml, walk_paths
from hotline.vocabulary.problems import ConfigError

SAMPLE = Path(__file__).resolve().parents[1] / "config"


def median_ms(action: Callable[[], object], runs: int = 15) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def big_centre(root: Path, extra: int = 384) -> Path:
    """The sample (the reference centre: 128 agents) grown to 4x its agents and seats."""
    target = root / "big"
    shutil.copytree(SAMPLE, target)
    text = (target / "agents.yaml").read_text(encoding="utf-8")
    # Keep the sample's agents and seats (rosters, leaders and guests name them); add more.
    head, seats = text.split("\nseats:\n", 1)
    agents = [f'  "{5001 + i}": {{name: 坐席{i}, team: general_a, '
              f"skills: {{general: {1 + i % 5}, complaints: {1 + i % 4}, "
              f"epidemic: {1 + i % 3}}}}}" for i in range(extra)]
    more_seats = [f"  x{i:04d}: PJSIP/{20000 + i}" for i in range(extra)]
    (target / "agents.yaml").write_text(
        head + "\n" + "\n".join(agents) + "\nseats:\n" + seats.rstrip("\n") + "\n"
        + "\n".join(more_seats) + "\n", encoding="utf-8")
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
        print(f"load_512_agents_ms: {median_ms(lambda: load_centre(big)):.1f}")
        print(f"check_broken_ms: {median_ms(lambda: expect_error(broken)):.1f}")
        text = (big / "agents.yaml").read_text(encoding="utf-8")
        values = sum(1 for _ in walk_paths(load_yaml(text, "agents.yaml").data))
        ms = median_ms(lambda: load_yaml(text, "agents.yaml"))
        print(f"yaml_values_per_s: {values / (ms / 1000):.0f}")


if __name__ == "__main__":
    main()
