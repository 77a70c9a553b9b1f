"""Live-call actions end to end: API event → kernel check → driver command → ARI → fact."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hotline.telephony.ari import AriClient
from hotline.telephony.ari.fake_asterisk import FakeAsterisk, RingOutcome
from hotline.vocabulary.events import (
    AgentHangsUp,
    AgentHolds,
    AgentResumes,
    AgentTransfers,
    SupervisorJoins,
    SupervisorLeaves,
)
from hotline.vocabulary.facts import (
    AgentEndedCall,
    CitizenHeld,
    CitizenResumed,
    SupervisorJoined,
    SupervisorLeft,
    TransferRefused,
)
from hotline.vocabulary.states import CallStage
from tests.telephony.ari.test_driver import Harness, start_harness, stop_harness
from tests.telephony.ari.test_driver_faults import waiting_caller


@pytest.fixture
async def talking(fake: FakeAsterisk, client: AriClient) -> AsyncIterator[tuple[Harness, str]]:
    h = await start_harness(fake, client)
    try:
        fake.add_endpoint("8001", RingOutcome.ANSWER)
        fake.add_endpoint("8100", RingOutcome.ANSWER)
        cid = await waiting_caller(h)
        await h.log_in("1001", "s01")
        await h.until(lambda: any(cid in b.channels for b in fake.bridges.values()), "bridged")
        yield h, cid
    finally:
        await stop_harness(h)


def bridge_of(h: Harness, cid: str) -> set[str]:
    return next((set(b.channels) for b in h.fake.bridges.values() if b.name == h.driver
                 .call_id_of(cid)), set())


async def test_hold_and_resume_the_citizen(talking: tuple[Harness, str]) -> None:
    h, cid = talking
    call_id = h.driver.call_id_of(cid)
    await h.post(AgentHolds(call_id, "1001", h.clock.now()))
    await h.until(lambda: h.fake.channels[cid].moh and cid not in bridge_of(h, cid), "held")
    h.advance(20)
    await h.post(AgentResumes(call_id, "1001", h.clock.now()))
    await h.until(lambda: not h.fake.channels[cid].moh and cid in bridge_of(h, cid), "back")
    assert h.facts(CitizenHeld) == [CitizenHeld(call_id, "1001", h.clock.now() - 20)]
    assert h.facts(CitizenResumed)[0].held_s == 20
    # Another agent, or a second resume, is refused without a change.
    await h.post(AgentHolds(call_id, "1002", h.clock.now()))
    await h.post(AgentResumes(call_id, "1001", h.clock.now()))
    assert h.runtime.counters.rejected == {"AgentHolds": 1, "AgentResumes": 1}


async def test_supervisor_listens_through_a_snoop_then_leaves(
    talking: tuple[Harness, str]
) -> None:
    h, cid = talking
    call_id = h.driver.call_id_of(cid)
    await h.post(SupervisorJoins(call_id, "1036", "PJSIP/8100", "listen", h.clock.now()))
    await h.until(lambda: any(len(b.channels) == 2 and b.name.startswith("supervise")
                              for b in h.fake.bridges.values()), "the supervisor bridge")
    snoop = h.requests("POST", "/snoop")[-1]
    assert snoop[2]["spy"] == "both" and "whisper" not in snoop[2]
    assert h.facts(SupervisorJoined) == [
        SupervisorJoined(call_id, "1036", "listen", "1001", h.clock.now())]
    await h.post(SupervisorLeaves(call_id, "1036", h.clock.now()))
    await h.until(lambda: not any(b.name.startswith("supervise")
                                  for b in h.fake.bridges.values()), "supervisor gone")
    assert h.facts(SupervisorLeft)[0].supervisor_id == "1036"
    assert h.stage(cid) is CallStage.TALKING


async def test_refused_transfer_keeps_the_call_and_agent_hang_up_ends_it(
    talking: tuple[Harness, str]
) -> None:
    h, cid = talking
    call_id = h.driver.call_id_of(cid)
    requests = len(h.fake.requests)
    # Nobody staffs the complaints queue: the refusal is a fact, the citizen stays.
    await h.post(AgentTransfers(call_id, "1001", h.clock.now(), queue="complaints"))
    assert [f.call_id for f in h.facts(TransferRefused)] == [call_id]
    assert h.stage(cid) is CallStage.TALKING
    await h.driver.idle()
    assert len(h.fake.requests) == requests  # nothing changed on the wire
    await h.post(AgentHangsUp(call_id, "1001", h.clock.now()))
    await h.until(lambda: not h.fake.channels, "every line cleared")
    assert h.stage(cid) is None
    assert h.facts(AgentEndedCall) == [AgentEndedCall(call_id, "1001", h.clock.now())]
