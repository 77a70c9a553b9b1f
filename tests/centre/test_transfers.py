"""An agent transfers the citizen on a live call: the centre's stages, record and CDR.

The sample centre: the citizen asks for a person by voice, waits in ``general``, is
answered by 1001 and handed on, to a colleague or to a queue.
"""

from __future__ import annotations

from typing import Any

import pytest

from hotline.api.screenpop import ScreenPops
from hotline.centre.kernel import CentreKernel
from hotline.centre.restore import replay
from hotline.composition import build_kernel
from hotline.config.loader import Centre
from hotline.projections.cdr import cdr_rows
from hotline.projections.stats import LiveStats
from hotline.vocabulary.commands import (
    Bridge,
    DropSupervisor,
    HoldWithMusic,
    ReleaseAgent,
    RingSeat,
)
from hotline.vocabulary.errors import AcdError, KernelError
from hotline.vocabulary.events import (
    AgentLoggedIn,
    AgentPaused,
    AgentReady,
    AgentTransfers,
    CallArrived,
    CallEnded,
    CallerHungUp,
    ModeSwitched,
    SeatAnswered,
    SeatNoAnswer,
    SpeechRecognized,
    SupervisorJoins,
    ThreeWayStarted,
)
from hotline.vocabulary.facts import (
    CallFinished,
    CallStageChanged,
    CallTransferred,
    SupervisorLeft,
    TransferRefused,
)
from hotline.vocabulary.states import CallOutcome, CallStage, SeatState

from .drive import T0, TZ

S = CallStage


class Centre1:
    """One kernel on the sample centre, with live statistics watching every record."""

    def __init__(self, centre: Centre) -> None:
        self.stats = LiveStats(timezone=TZ)
        self.kernel: CentreKernel = build_kernel(centre, observers=[self.stats.apply])
        self.records: list[Any] = []
        self.now = T0

    def feed(self, event: Any) -> list[Any]:
        commands = self.kernel.handle(event)
        self.records.extend(self.kernel.take_facts())
        return commands

    def at(self, seconds: float) -> float:
        self.now += seconds
        return self.now

    def agent(self, agent_id: str, seat_id: str, *, ready: bool = True) -> None:
        self.feed(AgentLoggedIn(agent_id, seat_id, self.at(0)))
        if ready:
            self.feed(AgentReady(agent_id, self.at(0)))

    def talking_with_1001(self, call_id: str = "c1") -> None:
        """A citizen asks for a person by voice and is answered by 1001."""
        self.agent("1001", "s01")
        self.feed(CallArrived(call_id, "12345", "13800000001", self.at(1)))
        self.feed(SpeechRecognized(call_id, "人工", 0.9, self.at(2)))
        assert self.kernel.stage(call_id) is S.RINGING
        self.feed(SeatAnswered("1001", call_id, self.at(3)))
        assert self.kernel.stage(call_id) is S.TALKING

    def moves(self, call_id: str) -> list[tuple[CallStage, CallStage, str]]:
        return [(r.old, r.new, r.trigger) for r in self.records
                if isinstance(r, CallStageChanged) and r.call_id == call_id]


@pytest.fixture
def c(centre: Centre) -> Centre1:
    return Centre1(centre)


def test_to_a_colleague_talking_then_transferring_then_ringing_then_talking(c: Centre1) -> None:
    c.talking_with_1001()
    c.agent("1002", "s02")
    context = c.kernel.call_context("c1")
    mark = len(c.records)
    commands = c.feed(AgentTransfers("c1", "1001", c.at(60), to_agent="1002"))
    assert [type(x) for x in commands if type(x) in (ReleaseAgent, HoldWithMusic, RingSeat)] == [
        ReleaseAgent, HoldWithMusic, RingSeat]
    assert c.moves("c1")[-2:] == [
        (S.TALKING, S.TRANSFERRING, "handed-on"), (S.TRANSFERRING, S.RINGING, "rung")]
    assert CallTransferred("c1", "1001", c.now, "", "1002") in c.records[mark:]
    assert c.kernel.seat("1001").state is SeatState.WRAP_UP  # type: ignore[union-attr]
    # The colleague's desk finds the same call: its context, IVR path and words.
    assert c.kernel.call_context("c1") == context is not None
    assert context.caller == "13800000001" and context.line == "12345"
    pops = ScreenPops()
    for seq, record in enumerate(c.records):
        pops.feed(seq, record)
    pop = pops.get("c1")
    assert pop is not None and pop.ended_at is None
    assert pop.transcript == ["人工"] and any(p.startswith("main:") for p in pop.ivr_path)
    assert pop.agent_id == "1001"
    seen = len(c.records)
    bridge = c.feed(SeatAnswered("1002", "c1", c.at(5)))
    assert [x.agent_id for x in bridge if isinstance(x, Bridge)] == ["1002"]
    assert c.kernel.stage("c1") is S.TALKING
    for seq, record in enumerate(c.records[seen:], start=seen):
        pops.feed(seq, record)
    # The pop now belongs to the colleague who answered, from when they answered.
    assert (pop.agent_id, pop.answered_at) == ("1002", c.now)
    c.feed(CallEnded("c1", c.at(100)))
    finished = [r for r in c.records if isinstance(r, CallFinished)]
    # Handed on inside the centre is not "transferred away": the last conversation ended.
    assert [(f.call_id, f.outcome) for f in finished] == [("c1", CallOutcome.ANSWERED)]
    [row] = cdr_rows(c.records)
    assert row.agents == ["1001", "1002"] and row.transfers == ["1001>agent:1002"]
    assert (row.agent, row.queue_result, row.outcome) == ("1001", "answered", "answered")
    assert row.talk_s == pytest.approx(60.0 + 100.0)
    assert [ring.agent for ring in row.rings] == ["1001", "1002"]
    # The statistics count the call once, answered once, and both conversations.
    today = c.stats.snapshot(c.now + 1).queues["general"].today
    assert (today.offered, today.answered) == (1, 1)


def test_to_a_queue_with_nobody_free_the_citizen_waits_then_rings(c: Centre1) -> None:
    c.talking_with_1001()
    c.agent("1030", "s03", ready=False)  # complaints, logged in and paused: not staffed
    commands = c.feed(AgentTransfers("c1", "1001", c.at(30), queue="complaints"))
    assert commands == [] and c.kernel.stage("c1") is S.TALKING
    refused = [r for r in c.records if isinstance(r, TransferRefused)]
    assert [(r.reason, r.queue) for r in refused] == [("nobody-staffed", "complaints")]
    c.agent("1029", "s04")  # a complaints agent, ready ...
    c.feed(CallArrived("c2", "12345", "13800000002", c.at(1)))
    c.feed(SpeechRecognized("c2", "人工", 0.9, c.at(1)))  # ... takes another caller first
    assert c.kernel.seat("1029").call_id == "c2"  # type: ignore[union-attr]
    assert c.kernel.live_call_ids() == ("c1", "c2")  # in arrival order
    c.feed(SeatAnswered("1029", "c2", c.at(1)))
    commands = c.feed(AgentTransfers("c1", "1001", c.at(1), queue="complaints"))
    assert HoldWithMusic("c1", "complaints") in commands
    assert c.moves("c1")[-2:] == [
        (S.TALKING, S.TRANSFERRING, "handed-on"), (S.TRANSFERRING, S.WAITING, "enqueued")]
    c.feed(CallEnded("c2", c.at(10)))
    c.feed(AgentReady("1029", c.at(1)))
    assert c.kernel.stage("c1") is S.RINGING
    assert c.kernel.seat("1029").call_id == "c1"  # type: ignore[union-attr]
    c.feed(SeatAnswered("1029", "c1", c.at(2)))
    c.feed(CallEnded("c1", c.at(40)))
    row = next(r for r in cdr_rows(c.records) if r.call_id == "c1")
    assert row.queues == ["general", "complaints"] and row.queue == "general"
    assert row.transfers == ["1001>queue:complaints"] and row.agents == ["1001", "1029"]
    assert row.outcome == "answered"
    assert row.as_row()["transfers"] == "1001>queue:complaints"


def test_the_citizen_hangs_up_while_waiting_again(c: Centre1) -> None:
    c.talking_with_1001()
    c.agent("1002", "s02")
    c.feed(AgentTransfers("c1", "1001", c.at(20), to_agent="1002"))
    c.feed(SeatNoAnswer("1002", "c1", c.at(15)))  # falls back to general, first in line
    assert c.kernel.stage("c1") is S.WAITING
    c.feed(CallerHungUp("c1", c.at(4)))
    finished = [r for r in c.records if isinstance(r, CallFinished)]
    assert [f.outcome for f in finished] == [CallOutcome.ABANDONED_IN_QUEUE]
    [row] = cdr_rows(c.records)
    assert row.queue_result == "answered" and row.outcome == "abandoned-in-queue"
    assert row.agents == ["1001"] and row.transfers == ["1001>agent:1002"]
    assert c.kernel.live_call_ids() == ()


def test_refusals_leave_the_citizen_with_the_agent(c: Centre1) -> None:
    c.talking_with_1001()
    c.agent("1002", "s02")
    c.feed(AgentPaused("1002", "meal", c.at(1)))
    assert c.feed(AgentTransfers("c1", "1001", c.at(1), to_agent="1002")) == []
    c.feed(ThreeWayStarted("c1", "1001", "p1", "025-1234", c.at(1)))
    c.feed(AgentReady("1002", c.at(1)))
    assert c.feed(AgentTransfers("c1", "1001", c.at(1), to_agent="1002")) == []
    reasons = [r.reason for r in c.records if isinstance(r, TransferRefused)]
    assert reasons == ["agent-paused", "three-way-active"]
    assert c.kernel.stage("c1") is S.TALKING
    assert c.kernel.seat("1001").call_id == "c1"  # type: ignore[union-attr]
    # Malformed requests are errors, not facts, and change nothing.
    with pytest.raises(KernelError):
        c.kernel.handle(AgentTransfers("c1", "1001", c.at(1)))
    with pytest.raises(AcdError):
        c.kernel.handle(AgentTransfers("c1", "1001", c.at(1), queue="nowhere"))
    assert c.kernel.take_facts() == []


def test_a_transfer_pressed_as_the_call_ends_is_refused_on_record(c: Centre1) -> None:
    c.talking_with_1001()
    c.agent("1002", "s02")
    c.feed(CallEnded("c1", c.at(30)))
    assert c.feed(AgentTransfers("c1", "1001", c.at(0), to_agent="1002")) == []
    assert [r.reason for r in c.records if isinstance(r, TransferRefused)] == ["not-on-call"]
    assert c.kernel.seat("1002").state is SeatState.READY  # type: ignore[union-attr]


def test_supervisors_leave_with_the_first_agent(c: Centre1) -> None:
    c.talking_with_1001()
    c.agent("1002", "s02")
    c.feed(SupervisorJoins("c1", "sup1", "PJSIP/8100", "listen", c.at(1)))
    commands = c.feed(AgentTransfers("c1", "1001", c.at(1), to_agent="1002"))
    assert DropSupervisor("c1", "sup1") in commands
    left = [r for r in c.records if isinstance(r, SupervisorLeft)]
    assert [(r.supervisor_id, r.reason) for r in left] == [("sup1", "transferred")]


def test_a_mode_switch_while_the_colleague_rings_changes_nothing_for_the_call(
    c: Centre1,
) -> None:
    c.talking_with_1001()
    c.agent("1002", "s02")
    c.feed(AgentTransfers("c1", "1001", c.at(10), to_agent="1002"))
    c.feed(ModeSwitched("emergency", "sup1", "surge", c.at(1)))
    assert c.kernel.stage("c1") is S.RINGING
    c.feed(SeatAnswered("1002", "c1", c.at(1)))
    assert c.kernel.stage("c1") is S.TALKING


def test_a_restored_kernel_holds_the_transferred_call_where_it_was(
    c: Centre1, centre: Centre
) -> None:
    c.talking_with_1001()
    c.agent("1002", "s02")
    c.feed(AgentTransfers("c1", "1001", c.at(10), to_agent="1002"))
    c.feed(SeatNoAnswer("1002", "c1", c.at(15)))
    rebuilt = build_kernel(centre)
    replay(rebuilt, c.records)
    assert rebuilt.stage("c1") is c.kernel.stage("c1") is S.WAITING
    assert rebuilt.live_call_ids() == c.kernel.live_call_ids() == ("c1",)
    assert rebuilt.call_context("c1") == c.kernel.call_context("c1")
    view = rebuilt.acd.queue_view("general", c.now)
    assert [(w.id, w.transferred) for w in view.waiting] == [("c1", True)]


def test_supervisors_leave_on_record_when_the_citizen_hangs_up(c: Centre1) -> None:
    c.talking_with_1001()
    c.feed(SupervisorJoins("c1", "sup1", "PJSIP/8100", "whisper", c.at(1)))
    c.feed(SupervisorJoins("c1", "sup2", "PJSIP/8101", "listen", c.at(1)))
    c.feed(CallEnded("c1", c.at(20)))  # the driver: the citizen's line went
    left = [r for r in c.records if isinstance(r, SupervisorLeft)]
    assert [(r.supervisor_id, r.reason, r.at) for r in left] == [
        ("sup1", "call-ended", c.now), ("sup2", "call-ended", c.now)]
    finished = next(i for i, r in enumerate(c.records) if isinstance(r, CallFinished))
    assert all(c.records.index(r) < finished for r in left)  # before the call's end
    # Nothing is kept for the call: a late supervisor button is refused, not remembered.
    with pytest.raises(KernelError):
        c.kernel.handle(SupervisorJoins("c1", "sup1", "PJSIP/8100", "listen", c.at(1)))
