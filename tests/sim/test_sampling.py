"""The simulator's random ingredients: durations and the time-of-day arrival profile."""

from __future__ import annotations

import random
import statistics
from pathlib import Path

import pytest
from pydantic import TypeAdapter

from hotline.config.loader import load_centre
from hotline.simulation.engine import Simulation
from hotline.simulation.scenario import Dist, load_scenario

ROOT = Path(__file__).resolve().parents[2]
DIST = TypeAdapter(Dist)


@pytest.mark.parametrize(
    ("spec", "mean", "stdev"),
    [
        ({"dist": "exponential", "mean": 120}, 120.0, 120.0),
        ({"dist": "lognormal", "mean": 240, "cv": 0.5}, 240.0, 120.0),
        ({"dist": "uniform", "min": 2, "max": 6}, 4.0, 4 / 12**0.5),
        (7, 7.0, 0.0),  # a plain number is a fixed value
    ],
)
def test_duration_samplers_have_the_declared_mean_and_spread(
    spec: object, mean: float, stdev: float
) -> None:
    dist = DIST.validate_python(spec)
    draw = dist.sampler(random.Random(1))
    values = [draw() for _ in range(40_000)]
    assert statistics.fmean(values) == pytest.approx(mean, rel=0.02)
    assert statistics.pstdev(values) == pytest.approx(stdev, rel=0.03, abs=1e-9)
    assert dist.average == pytest.approx(mean)


def test_profile_is_scaled_to_the_expected_day_and_thinning_follows_it() -> None:
    scenario, config_dir = load_scenario(ROOT / "scenarios" / "emergency_day_90k.yaml")
    sim = Simulation(scenario, load_centre(config_dir))
    profile = sim.profile
    assert profile.expected_calls(0, 86_400) == pytest.approx(90_000, rel=1e-3)
    # The surge triples the rate at 10:00 on the same underlying curve.
    just_before = profile.rate_at_offset(10 * 3600 - 1)
    just_after = profile.rate_at_offset(10 * 3600)
    assert just_after / just_before == pytest.approx(3.0, rel=0.01)
    assert profile.peak >= max(profile.rate_at_offset(t) for t in range(0, 86_400, 60))
    # Thinning: arrivals in an hour follow the rate (Poisson: 4 standard deviations).
    rng = random.Random(5)
    times: list[float] = []
    t: float | None = 0.0
    while t is not None and len(times) < 40_000:
        t = profile.next_arrival(rng, t, 86_400)
        if t is not None:
            times.append(t)
    for hour in (3, 9, 11):
        count = sum(1 for x in times if hour * 3600 <= x < (hour + 1) * 3600)
        expected = profile.expected_calls(hour * 3600, (hour + 1) * 3600)
        if hour * 3600 < times[-1] - 3600:
            assert abs(count - expected) < 4 * expected**0.5, (hour, count, expected)


def test_profile_validation_rejects_an_empty_day() -> None:
    from hotline.simulation.scenario import Arrivals

    with pytest.raises(ValueError, match="no calls"):
        Arrivals(profile={"09:00": 0}, lines={"12345": 1})


def test_base_calls_scale_the_day_without_its_surges() -> None:
    # The emergency day: a normal day's 6,000 calls, then the surge on top of them.
    scenario, config_dir = load_scenario(ROOT / "scenarios" / "emergency_day.yaml")
    assert scenario.arrivals.base_calls == 6000 and scenario.arrivals.calls is None
    profile = Simulation(scenario, load_centre(config_dir)).profile
    assert profile.expected_calls(0, 86_400, surges=False) == pytest.approx(6000, rel=1e-3)
    before = profile.expected_calls(0, 10 * 3600)
    after = profile.expected_calls(10 * 3600, 86_400)
    assert after == pytest.approx(3 * profile.expected_calls(10 * 3600, 86_400, surges=False))
    assert 13_000 < before + after < 17_000


def test_calls_and_base_calls_exclude_each_other() -> None:
    from hotline.simulation.scenario import Arrivals

    with pytest.raises(ValueError, match="not both"):
        Arrivals(profile={"09:00": 1}, lines={"12345": 1}, calls=10, base_calls=10)
