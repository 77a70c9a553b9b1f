"""The call-stage table, and the races a driver brings that the centre must absorb."""

from __future__ import annotations

import pytest

from hotline.centre.stages import TRANSITIONS, StageTrigger, next_stage
from hotline.composition import build_kernel
from hotline.config.loader import Centre
from hotline.projections.stats import LiveStats
from hotline.vocabulary.errors import KernelError
from hotline.vocabulary.events import AgentLoggedIn, CallArrived, CallerHungUp, NoInput
from hotline.vocabulary.facts import CallFinished, CallStageChanged
from hotline.vocabulary.states import CallOutcome, CallStage, SeatState

from .drive import T0, TZ

ILLEGAL = [
    (stage, trigger)
    for stage in CallStage
    for trigger in StageTrigger
    if (stage, trigger) not in TRANSITIONS
]


@pytest.mark.parametrize(("stage", "trigger"), sorted(TRANSITIONS))
def test_every_legal_move_lands_where_the_table_says(
    stage: CallStage, trigger: StageTrigger
) -> None:
    assert next_stage(stage, trigger) is TRANSITIONS[(stage, trigger)]


@pytest.mark.parametrize(("stage", "trigger"), ILLEGAL)
def test_every_other_move_is_refused(stage: CallStage, trigger: StageTrigger) -> None:
    with pytest.raises(KernelError, match=f"cannot be {trigger.value}"):
        next_stage(stage, trigger)


def test_an_ended_call_never_moves_again() -> None:
    assert not [pair for pair in TRANSITIONS if pair[0] is CallStage.ENDED]


def test_an_event_a_little_older_than_the_last_is_taken_at_the_last_time(
    centre: Centre,
) -> None:
    stats = LiveStats(timezone=TZ)
    kernel = build_kernel(centre, observers=[stats.apply])
    kernel.handle(AgentLoggedIn("1001", "s01", T0 + 10.000))
    # A channel event that crossed a timer by 4 ms: accepted, at the later time.
    kernel.handle(CallArrived("c1", "12345", "13800000001", T0 + 9.996))
    assert kernel.reordered == 1
    records = kernel.take_facts()
    assert records[0] == AgentLoggedIn("1001", "s01", T0 + 10.0)
    assert all(r.at >= T0 + 10.0 for r in records[1:])
    kernel.handle(NoInput("c1", T0 + 9.999))
    kernel.handle(CallerHungUp("c1", T0 + 12))
    finished = [r for r in kernel.take_facts() if isinstance(r, CallFinished)]
    assert [f.call_id for f in finished] == ["c1"]  # the outcome was not lost
    # The statistics took every record in time order (they refuse older ones).
    assert stats.snapshot(T0 + 13).agents_by_state[SeatState.PAUSED] == 1


def test_each_stage_change_is_a_fact_from_the_one_chokepoint(centre: Centre) -> None:
    kernel = build_kernel(centre)
    kernel.handle(CallArrived("c1", "12345", "13800000001", T0))
    kernel.handle(CallerHungUp("c1", T0 + 2))
    records = kernel.take_facts()
    moves = [(r.old, r.new, r.trigger) for r in records if isinstance(r, CallStageChanged)]
    assert moves == [(CallStage.IVR, CallStage.ENDED, "hung-up")]
    assert [r.outcome for r in records if isinstance(r, CallFinished)] == [
        CallOutcome.ABANDONED_IN_IVR
    ]
