"""Agents' seats, the mode switch and the supervisors' views, on the real runtime."""

from __future__ import annotations

from api.conftest import Harness


async def test_agent_logs_in_pauses_and_is_ready_on_their_own_seat(harness: Harness) -> None:
    c, h = harness.client, await harness.headers("agent1")
    response = await c.post("/api/agents/1001/login", json={"seat_id": "s01"}, headers=h)
    assert response.status_code == 200, response.text
    assert response.json()["seat"]["seat_id"] == "s01"
    paused = await c.post("/api/agents/1001/pause", json={"reason": "meal"}, headers=h)
    assert paused.json()["seat"]["state"] == "paused"
    ready = await c.post("/api/agents/1001/ready", headers=h)
    assert ready.json()["seat"]["state"] == "ready"
    seat = harness.runtime.view().centre.seat("1001")  # type: ignore[union-attr]
    assert seat is not None and seat.state.value == "ready"
    not_wrapping = await c.post("/api/agents/1001/wrap-up-done", headers=h)
    assert not_wrapping.status_code == 409
    out = await c.post("/api/agents/1001/logout", headers=h)
    assert out.status_code == 200 and out.json()["seat"] is None


async def test_agent_cannot_touch_another_seat(harness: Harness) -> None:
    c = harness.client
    other = await harness.headers("agent2")
    assert (await c.post("/api/agents/1002/login", json={"seat_id": "s02"},
                         headers=other)).status_code == 200
    h = await harness.headers("agent1")
    for path, body in (("login", {"seat_id": "s03"}), ("ready", None),
                       ("pause", {"reason": "x"}), ("wrap-up-done", None), ("logout", None)):
        response = await c.post(f"/api/agents/1002/{path}", json=body, headers=h)
        assert response.status_code == 403, path
    assert (await c.get("/api/agents/1002/desk", headers=h)).status_code == 403
    seat = harness.runtime.view().centre.seat("1002")  # type: ignore[union-attr]
    assert seat is not None and seat.seat_id == "s02"  # untouched by agent1
    # A seat taken by someone else is refused by the centre, not silently shared.
    taken = await c.post("/api/agents/1001/login", json={"seat_id": "s02"}, headers=h)
    assert taken.status_code == 409
    unknown = await c.post("/api/agents/1001/login", json={"seat_id": "nope"}, headers=h)
    assert unknown.status_code == 404
    # A supervisor may look at any desk and log an agent out.
    s = await harness.headers("super")
    assert (await c.get("/api/agents/1002/desk", headers=s)).json()["seat"]["seat_id"] == "s02"
    assert (await c.post("/api/agents/1002/logout", headers=s)).status_code == 200


async def test_mode_switch_needs_reason_confirmation_and_a_supervisor(harness: Harness) -> None:
    c = harness.client
    s = await harness.headers("super")
    body = {"mode": "emergency", "reason": "typhoon warning", "confirm": True}
    assert (await c.post("/api/mode", json={**body, "confirm": False},
                         headers=s)).status_code == 422
    assert (await c.post("/api/mode", json={k: v for k, v in body.items() if k != "reason"},
                         headers=s)).status_code == 422
    assert (await c.post("/api/mode", json={**body, "reason": "   "},
                         headers=s)).status_code == 422
    assert (await c.post("/api/mode", json={k: v for k, v in body.items() if k != "confirm"},
                         headers=s)).status_code == 422
    assert (await c.post("/api/mode", json={**body, "mode": "party"},
                         headers=s)).status_code == 422
    for name in ("agent1", "dept_zjj"):
        response = await c.post("/api/mode", json=body, headers=await harness.headers(name))
        assert response.status_code == 403
    assert harness.runtime.view().centre.mode == "normal"  # type: ignore[union-attr]

    done = await c.post("/api/mode", json=body, headers=s)
    assert done.status_code == 201, done.text
    assert done.json()["from_mode"] == "normal" and done.json()["by"] == "supervisor:super"
    assert harness.runtime.view().centre.mode == "emergency"  # type: ignore[union-attr]
    live = (await c.get("/api/live", headers=s)).json()
    assert live["mode"] == "emergency"
    history = (await c.get("/api/mode/history", headers=s)).json()
    assert [(h["from_mode"], h["to_mode"], h["reason"]) for h in history] == [
        ("normal", "emergency", "typhoon warning")
    ]


async def test_kpis_state_their_definitions_and_staffing_answers(harness: Harness) -> None:
    s = await harness.headers("super")
    kpis = (await harness.client.get("/api/kpis", headers=s)).json()
    for scope in kpis["scopes"]:
        for kpi in scope["kpis"]:
            assert kpi["definition"]
    rates = [k for k in kpis["scopes"][0]["kpis"] if k["unit"] == "ratio"]
    assert all("/" in k["definition"] for k in rates)
    staffing = await harness.client.get("/api/staffing?answered_pct=80&within_s=15",
                                        headers=s)
    assert staffing.status_code == 200 and staffing.json()["agents_needed"] >= 1
    bad = await harness.client.get("/api/staffing?answered_pct=100", headers=s)
    assert bad.status_code == 422
