"""Simulated staff follow the active roster: a switch to emergency replaces the plan."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from hotline.config.loader import Centre
from hotline.simulation.engine import Simulation
from hotline.simulation.scenario import load_scenario
from hotline.vocabulary.events import AgentLoggedIn, AgentLoggedOut

from .kit import ROOT, TZ


@pytest.fixture(scope="module")
def day(centre: Centre) -> tuple[Simulation, list[Any]]:
    """The emergency day from 06:00 to 22:00 with a light load (staffing is the point)."""
    scenario, _ = load_scenario(ROOT / "scenarios" / "emergency_day.yaml")
    arrivals = scenario.arrivals.model_copy(update={"base_calls": 1500})
    scenario = scenario.model_copy(update={
        "start": "06:00", "end": "22:00", "drain_s": 0, "arrivals": arrivals,
    })
    simulation = Simulation(scenario, centre)
    seen: list[Any] = []
    feed = simulation._feed

    def recording_feed(event: Any) -> None:
        if isinstance(event, AgentLoggedIn | AgentLoggedOut):
            seen.append(event)
        feed(event)

    simulation._feed = recording_feed  # type: ignore[method-assign]
    simulation.run()
    return simulation, seen


def _at(hhmm: str) -> float:
    hours, minutes = map(int, hhmm.split(":"))
    return datetime(2026, 3, 11, hours, minutes, tzinfo=TZ).timestamp()


def test_after_the_switch_nobody_comes_for_a_normal_shift(
    centre: Centre, day: tuple[Simulation, list[Any]],
) -> None:
    config = centre.config
    evening = set(config.rosters["normal"].daily["evening"])
    emergency = config.rosters["emergency"]
    long_night = set(emergency.daily["long_night"]) - set(emergency.reserve)
    late = evening & long_night  # normal evening shift, emergency night shift
    assert len(late) > 10
    logins = [e for e in day[1] if isinstance(e, AgentLoggedIn) and e.agent_id in late]
    # Not at 15:00 for the normal evening shift: at 20:00 for the emergency night shift.
    assert logins and all(e.at >= _at("20:00") for e in logins)
    assert len({e.agent_id for e in logins}) >= 0.8 * len(late)


def test_extended_shifts_end_at_the_new_shift_end(
    centre: Centre, day: tuple[Simulation, list[Any]],
) -> None:
    config = centre.config
    normal_day = set(config.rosters["normal"].daily["day"])
    long_day = set(config.rosters["emergency"].daily["long_day"])
    kept_on = normal_day & long_day  # 07:00-15:00, kept on until 20:00
    assert len(kept_on) > 20
    events = day[1]
    logouts = {e.agent_id: e.at for e in events
               if isinstance(e, AgentLoggedOut) and e.agent_id in kept_on}
    # Nobody left at 15:00; everybody left at 20:00 (a call in progress may delay it).
    assert len(logouts) == len(kept_on)
    assert all(_at("20:00") <= at < _at("20:30") for at in logouts.values())
