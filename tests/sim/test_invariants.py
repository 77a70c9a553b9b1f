"""Random days through the real kernel: whatever citizens and agents do, nothing is lost."""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotline.config.loader import Centre
from hotline.projections.stats import Outcome
from hotline.simulation.engine import simulate
from hotline.simulation.scenario import SupervisorAction, load_scenario
from hotline.vocabulary.states import CallStage

from .kit import ROOT


@given(
    seed=st.integers(0, 10_000),
    calls=st.integers(100, 400),
    patience=st.floats(5.0, 600.0),
    ring_no_answer=st.floats(0.0, 0.5),
    callback_answer=st.floats(0.0, 1.0),
    barge_in=st.floats(0.0, 1.0),
    switch_minute=st.one_of(st.none(), st.integers(1, 59)),
)
@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_every_call_is_accounted_for_and_in_one_place(
    centre: Centre, seed: int, calls: int, patience: float, ring_no_answer: float,
    callback_answer: float, barge_in: float, switch_minute: int | None,
) -> None:
    scenario, _ = load_scenario(ROOT / "scenarios" / "normal_day.yaml")
    citizens = scenario.citizens.model_copy(update={
        "patience_s": scenario.citizens.talk_s.model_copy(update={"mean": patience,
                                                                   "dist": "exponential"}),
        "callback_answer": callback_answer,
        "barge_in": barge_in,
    })
    agents = scenario.agents.model_copy(update={"ring_no_answer": ring_no_answer})
    supervisor = () if switch_minute is None else (
        SupervisorAction(at=f"09:{switch_minute:02d}", mode="emergency", reason="test"),
    )
    scenario = scenario.model_copy(update={
        "start": "09:00", "end": "10:00", "drain_s": 600, "seed": seed,
        "arrivals": scenario.arrivals.model_copy(update={"calls": calls * 24}),
        "citizens": citizens, "agents": agents, "supervisor": supervisor,
    })
    result = simulate(scenario, centre)
    kernel, totals, stats = result.kernel, result.totals, result.stats
    records = stats.calls()

    # Driver side: every arrival ended somewhere, or is still in the IVR.
    live = kernel.live_calls()
    assert totals.arrivals == (
        totals.enqueued + totals.ivr_hangups_by_centre + totals.hung_up_in_ivr
        + totals.transfers + totals.ivr_callbacks + totals.refused + live[CallStage.IVR]
    )
    # Kernel side: every call that reached a queue was offered exactly once.
    assert len(records) == totals.enqueued
    assert len({r.call_id for r in records}) == len(records)
    outcomes = Counter(r.outcome for r in records)
    assert sum(outcomes.values()) == len(records)
    # Calls the statistics still see waiting are in the ACD's hands, nowhere else.
    for call_id in stats.open_calls:
        assert kernel.stage(call_id) in (CallStage.WAITING, CallStage.RINGING, CallStage.TALKING)
        assert kernel.acd.knows(call_id)
    assert outcomes[Outcome.WAITING] == len(stats.open_calls)
    # No agent holds two calls, no call rings or talks at two seats.
    busy = [s.call_id for s in kernel.acd.seats() if s.call_id is not None]
    assert len(busy) == len(set(busy))
    if switch_minute is not None:
        assert kernel.mode == "emergency"
        assert [m.new for m in stats.mode_changes] == ["emergency"]
