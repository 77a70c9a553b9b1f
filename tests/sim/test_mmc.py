"""The simulator, driving the real kernel, reproduces Erlang C on an M/M/c queue."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest

from hotline.config.loader import load_centre
from hotline.projections.staffing import erlang_a_performance, erlang_c_performance
from hotline.projections.stats import Outcome
from hotline.simulation.engine import simulate
from hotline.simulation.scenario import load_scenario

HERE = Path(__file__).parent
WARM_UP_S = 300.0  # the centre starts empty; drop the first minutes


@pytest.mark.slow
def test_mmc_reproduces_erlang_c_within_one_point() -> None:
    scenario, config_dir = load_scenario(HERE / "mmc_scenario.yaml")
    result = simulate(scenario, load_centre(config_dir))
    calls = [c for c in result.stats.calls() if c.queued_at >= result.start + WARM_UP_S]
    assert len(calls) > 80_000
    # Nobody hangs up and nobody is left waiting after the drain: every call answered.
    assert all(c.outcome is Outcome.ANSWERED for c in calls)

    aht = scenario.citizens.talk_s.average
    agents = len(load_centre(config_dir).config.agents)
    target_s = aht * 15.0 / 180.0  # the 80/15 target of a 180-second call, scaled
    predicted = erlang_c_performance(agents, 1.0, aht, target_s)

    waited = [c.waited_s > 0.0 for c in calls]
    within = [c.waited_s <= target_s for c in calls]
    p_wait = sum(waited) / len(calls)
    service_level = sum(within) / len(calls)
    assert p_wait == pytest.approx(predicted.wait_probability, abs=0.01)
    assert service_level == pytest.approx(predicted.service_level, abs=0.01)

    # The run is long enough for 1 pp to be a wide margin: batch means (30-minute
    # batches) put the standard error of P(wait) well below it.
    batches: dict[int, list[bool]] = {}
    for call, w in zip(calls, waited, strict=True):
        batches.setdefault(int((call.queued_at - result.start) // 1800), []).append(w)
    means = [sum(b) / len(b) for b in batches.values()]
    standard_error = statistics.stdev(means) / len(means) ** 0.5
    assert standard_error < 0.005


def test_impatient_callers_reproduce_erlang_a() -> None:
    """M/M/3+M: exponential patience (mean = AHT) at 80% load; Palm's formulas hold."""
    scenario, config_dir = load_scenario(HERE / "mmc_scenario.yaml")
    centre = load_centre(config_dir)
    aht = patience = 2.4
    exponential = scenario.citizens.talk_s  # the scenario's exponential handle time
    assert exponential.dist == "exponential"
    citizens = scenario.citizens.model_copy(update={
        "talk_s": exponential.model_copy(update={"mean": aht}),
        "patience_s": exponential.model_copy(update={"mean": patience}),
    })
    agents = scenario.agents.model_copy(update={"only": ("a1", "a2", "a3")})
    scenario = scenario.model_copy(
        update={"end": "12:00", "citizens": citizens, "agents": agents}
    )
    result = simulate(scenario, centre)
    calls = [c for c in result.stats.calls() if c.queued_at >= result.start + WARM_UP_S]
    assert len(calls) > 40_000
    target_s = aht * 15.0 / 180.0
    predicted = erlang_a_performance(3, 1.0, aht, patience, target_s)
    gave_up = sum(c.outcome in (Outcome.ABANDONED, Outcome.ABANDONED_SHORT) for c in calls)
    answered_in_time = sum(
        c.outcome is Outcome.ANSWERED and c.waited_s <= target_s for c in calls
    )
    assert gave_up / len(calls) == pytest.approx(predicted.abandon_rate, abs=0.01)
    assert answered_in_time / len(calls) == pytest.approx(predicted.service_level, abs=0.01)
    assert predicted.abandon_rate > 0.1  # a regime where patience really matters
