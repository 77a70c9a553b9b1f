"""Call controls on a live call (agent) and monitoring (supervisor) through the API."""

from __future__ import annotations

from web.pbx import ScriptedPbx

from api.conftest import Harness
from hotline.vocabulary.commands import (
    AddParty,
    HoldCitizen,
    JoinSupervisor,
    ReleaseAgent,
    ResumeCitizen,
)
from hotline.vocabulary.facts import (
    CallTransferred,
    CitizenHeld,
    PartyCalled,
    SupervisorJoined,
)


async def _talking(harness: Harness) -> tuple[ScriptedPbx, str]:
    """Agent 1001 logged in, ready, and talking with a citizen; the call's id."""
    c, h = harness.client, await harness.headers("agent1")
    assert (await c.post("/api/agents/1001/login", json={"seat_id": "s01"},
                         headers=h)).status_code == 200
    assert (await c.post("/api/agents/1001/ready", headers=h)).status_code == 200
    pbx = ScriptedPbx().attach(harness.runtime)
    ring = await pbx.call_until_ringing("c1", "13800138000", "12345", [])
    await pbx.answer(ring)
    await harness.runtime.drain()
    return pbx, ring.call_id


def _records(harness: Harness) -> list[object]:
    return [record for _, record in harness.runtime.log.since(harness.runtime.log.oldest_seq)]


async def test_an_agent_holds_resumes_and_brings_in_a_department(harness: Harness) -> None:
    pbx, call_id = await _talking(harness)
    c, h = harness.client, await harness.headers("agent1")
    held = await c.post("/api/agents/1001/call/hold", headers=h)
    assert held.status_code == 200 and held.json() == {"call_id": call_id}
    assert (await c.post("/api/agents/1001/call/resume", headers=h)).status_code == 200
    three = await c.post("/api/agents/1001/call/three-way", json={"number": "12319"},
                         headers=h)
    assert three.status_code == 200, three.text
    kinds = [type(cmd) for cmd in pbx.commands if getattr(cmd, "call_id", "") == call_id]
    assert HoldCitizen in kinds and ResumeCitizen in kinds and AddParty in kinds
    assert any(isinstance(r, CitizenHeld) for r in _records(harness))
    assert any(isinstance(r, PartyCalled) and r.number == "12319" for r in _records(harness))


async def test_call_controls_need_a_call_and_a_safe_number(harness: Harness) -> None:
    c, h = harness.client, await harness.headers("agent1")
    await c.post("/api/agents/1001/login", json={"seat_id": "s01"}, headers=h)
    assert (await c.post("/api/agents/1001/call/hold", headers=h)).status_code == 409
    for number in ("12319\r\nAction: Originate", "1;rm -rf", "", "x" * 40):
        response = await c.post("/api/agents/1001/call/three-way", json={"number": number},
                                headers=h)
        assert response.status_code == 422, number
    both = await c.post("/api/agents/1001/call/transfer",
                        json={"queue": "general", "to_agent": "1002"}, headers=h)
    assert both.status_code == 422
    # Another agent's call controls are not this agent's.
    other = await harness.headers("agent2")
    assert (await c.post("/api/agents/1001/call/hold", headers=other)).status_code == 403


async def test_a_supervisor_listens_with_their_identity_on_record(harness: Harness) -> None:
    pbx, call_id = await _talking(harness)
    c, s = harness.client, await harness.headers("super")
    bad = await c.post(f"/api/calls/{call_id}/supervise",
                       json={"mode": "spy", "endpoint": "PJSIP/8100"}, headers=s)
    assert bad.status_code == 422
    ok = await c.post(f"/api/calls/{call_id}/supervise",
                      json={"mode": "listen", "endpoint": "PJSIP/8100"}, headers=s)
    assert ok.status_code == 204, ok.text
    assert any(isinstance(cmd, JoinSupervisor) for cmd in pbx.commands)
    joined = [r for r in _records(harness) if isinstance(r, SupervisorJoined)]
    assert joined and "super" in joined[0].supervisor_id
    left = await c.post(f"/api/calls/{call_id}/supervise/leave", headers=s)
    assert left.status_code == 204
    unknown = await c.post("/api/calls/nope/supervise",
                           json={"mode": "listen", "endpoint": "PJSIP/8100"}, headers=s)
    assert unknown.status_code == 409


async def test_a_refused_transfer_tells_the_agent_why_and_a_made_one_releases_them(
    harness: Harness,
) -> None:
    pbx, call_id = await _talking(harness)
    c, h = harness.client, await harness.headers("agent1")
    # The colleague is not logged in, then paused: refused, with the reason.
    gone = await c.post("/api/agents/1001/call/transfer", json={"to_agent": "1002"},
                        headers=h)
    assert gone.status_code == 409 and "agent-logged-out" in gone.json()["detail"]
    h2 = await harness.headers("agent2")
    assert (await c.post("/api/agents/1002/login", json={"seat_id": "s02"},
                         headers=h2)).status_code == 200
    assert (await c.post("/api/agents/1002/pause", json={"reason": "break"},
                         headers=h2)).status_code == 200
    paused = await c.post("/api/agents/1001/call/transfer", json={"to_agent": "1002"},
                          headers=h)
    assert paused.status_code == 409 and "agent-paused" in paused.json()["detail"]
    assert not any(isinstance(cmd, ReleaseAgent) for cmd in pbx.commands)

    assert (await c.post("/api/agents/1002/ready", headers=h2)).status_code == 200
    made = await c.post("/api/agents/1001/call/transfer", json={"to_agent": "1002"},
                        headers=h)
    assert made.status_code == 200, made.text
    assert made.json() == {"call_id": call_id}
    assert ReleaseAgent(call_id, "1001", "PJSIP/8001") in pbx.commands
    assert any(isinstance(r, CallTransferred) and r.to_agent == "1002"
               for r in _records(harness))
