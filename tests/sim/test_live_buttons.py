"""A desk's live-call buttons on simulated calls: the simulator is the PBX of every
softphone, so it must carry out what those buttons ask (`hotline serve --simulate`)."""

from __future__ import annotations

from typing import Any

from hotline.config.loader import Centre
from hotline.simulation.engine import Simulation
from hotline.simulation.scenario import load_scenario
from hotline.vocabulary.events import AgentHolds, AgentResumes, AgentTransfers
from hotline.vocabulary.facts import (
    CallAnswered,
    CallCompleted,
    CallFinished,
    CallTransferred,
    TransferAnswered,
)

from .kit import ROOT


def _morning(centre: Centre) -> Simulation:
    scenario, _ = load_scenario(ROOT / "scenarios" / "emergency_day.yaml")
    arrivals = scenario.arrivals.model_copy(update={"base_calls": 600})
    scenario = scenario.model_copy(update={
        "start": "09:00", "end": "09:30", "drain_s": 3600, "arrivals": arrivals,
        "supervisor": [],
    })
    return Simulation(scenario, centre)


def test_held_and_transferred_citizens_are_served_again(centre: Centre) -> None:
    """Every fifth answered call is held, resumed and handed to the general queue: each
    such citizen reaches a second agent (or hangs up waiting), and the day settles."""
    simulation = _morning(centre)
    records: list[Any] = []
    pressed: list[str] = []

    def press(event: Any) -> None:
        simulation._feed(event)

    def on_record(_seq: int, record: Any) -> None:
        records.append(record)
        if isinstance(record, CallAnswered) and len(pressed) < 12 \
                and sum(isinstance(r, CallAnswered) for r in records) % 5 == 0:
            pressed.append(record.call_id)
            at = record.at
            call, agent = record.call_id, record.agent_id
            simulation.clock.at(at + 2.0, press, AgentHolds(call, agent, at + 2.0))
            simulation.clock.at(at + 4.0, press, AgentResumes(call, agent, at + 4.0))
            simulation.clock.at(at + 5.0, press,
                                AgentTransfers(call, agent, at + 5.0, queue="general"))

    simulation.runtime.listen(on_record)
    result = simulation.run()

    assert len(pressed) == 12
    transferred = {r.call_id: r for r in records if isinstance(r, CallTransferred)}
    # A transfer pressed after the citizen's conversation ended is refused, not an error;
    # most are pressed while the citizen still talks.
    assert len(transferred) >= 6
    finished = {r.call_id: r for r in records if isinstance(r, CallFinished)}
    assert set(transferred) <= set(finished)  # no citizen left on the line
    second = {r.call_id: r for r in records if isinstance(r, TransferAnswered)}
    assert second, "a handed-on citizen reached another agent"
    for call_id, answered in second.items():
        assert answered.at >= transferred[call_id].at
        talks = [r for r in records if isinstance(r, CallCompleted) and r.call_id == call_id]
        assert len(talks) == 2  # the first agent's conversation and the second's
        assert talks[0].agent_id == transferred[call_id].from_agent
    assert not result.cut_off
    counters = simulation.runtime.counters
    assert counters.driver_errors == 0 and counters.failures == 0
