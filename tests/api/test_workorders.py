"""Work orders through the API: who may create, see and act on which order; the whole
closed loop persisted with its history; injection attempts stay data."""

from __future__ import annotations

import time

import pytest

from api.conftest import PASSWORD, Harness
from hotline.store.calls import upsert_calls

NASTY = [
    "'; DROP TABLE work_orders; --",
    "\" OR 1=1 --",
    "<script>alert('x')</script>",
    "<img src=x onerror=alert(1)>",
    "{{7*7}} ${7*7} %s %n",
    "=HYPERLINK(\"http://evil\")",
    "市民反映：小区电梯故障 \u202e\U0001f600",
]


async def seed_calls(harness: Harness) -> None:
    now = time.time()
    await upsert_calls(harness.engine, [
        {"call_id": "c-1", "line": "12345", "caller": "13800138000", "arrived_at": now - 300,
         "answered_at": now - 290, "ended_at": now - 100, "queue": "general", "agent": "1001",
         "seat": "s01", "wait_s": 10.0, "talk_s": 190.0, "outcome": "answered",
         "ivr_path": ["main:welcome", "key:1"]},
        {"call_id": "c-2", "line": "12345", "caller": "13900139000", "arrived_at": now - 200,
         "answered_at": now - 170, "ended_at": now - 50, "queue": "general", "agent": "1002",
         "seat": "s02", "wait_s": 30.0, "talk_s": 120.0, "outcome": "answered"},
        {"call_id": "c-3", "line": "12345-8", "caller": "02583000000", "arrived_at": now - 100,
         "ended_at": now - 95, "queue": "general", "wait_s": 3.0, "outcome": "short-abandon"},
    ])


async def test_closed_loop_and_who_sees_what(harness: Harness) -> None:
    await seed_calls(harness)
    c = harness.client
    a1, a2 = await harness.headers("agent1"), await harness.headers("agent2")
    sup = await harness.headers("super")
    zjj, fgj = await harness.headers("dept_zjj"), await harness.headers("dept_fgj")

    # An agent registers orders from their own calls only.
    assert (await c.post("/api/workorders", json={"call_id": "c-2"}, headers=a1)
            ).status_code == 404
    created = await c.post("/api/workorders", json={
        "call_id": "c-1", "content": "小区电梯故障", "address": "鼓楼区中山路1号",
        "category": "0103"}, headers=a1)
    assert created.status_code == 201, created.text
    order = created.json()
    number = order["number"]
    assert order["caller"] == "13800138000" and order["line"] == "12345"
    assert order["agent_id"] == "1001" and order["status"] == "registered"
    other = (await c.post("/api/workorders", json={"call_id": "c-2"}, headers=a2)).json()

    assert [o["number"] for o in (await c.get("/api/workorders", headers=a1)).json()] == [number]
    assert (await c.get(f"/api/workorders/{number}", headers=a2)).status_code == 404
    assert (await c.post(f"/api/workorders/{number}/actions", json={"action": "close"},
                         headers=a2)).status_code == 404
    assert len((await c.get("/api/workorders", headers=sup)).json()) == 2

    # Dispatched to zjj: zjj sees and handles it, fgj sees nothing.
    dispatched = await c.post(f"/api/workorders/{number}/actions",
                              json={"action": "dispatch", "department": "zjj"}, headers=a1)
    assert dispatched.status_code == 200, dispatched.text
    assert dispatched.json()["department"] == "zjj" and dispatched.json()["due"] is not None
    assert [o["number"] for o in (await c.get("/api/workorders", headers=zjj)).json()] == [number]
    assert (await c.get("/api/workorders", headers=fgj)).json() == []
    assert (await c.get(f"/api/workorders/{number}", headers=fgj)).status_code == 404
    assert (await c.post(f"/api/workorders/{number}/actions", json={"action": "sign_for"},
                         headers=fgj)).status_code == 404
    assert (await c.get(f"/api/workorders/{other['number']}", headers=zjj)).status_code == 404

    for body in ({"action": "sign_for"}, {"action": "start"},
                 {"action": "reply", "answer": "已维修"}):
        response = await c.post(f"/api/workorders/{number}/actions", json=body, headers=zjj)
        assert response.status_code == 200, (body, response.text)
    # The department cannot close; a wrong step is a conflict, not a crash.
    assert (await c.post(f"/api/workorders/{number}/actions", json={"action": "close"},
                         headers=zjj)).status_code == 409
    assert (await c.post(f"/api/workorders/{number}/actions", json={"action": "survey"},
                         headers=sup)).status_code == 422  # needs a result
    surveyed = await c.post(f"/api/workorders/{number}/actions",
                            json={"action": "survey", "result": "satisfied"}, headers=sup)
    assert surveyed.json()["survey"] == "satisfied"
    closed = (await c.post(f"/api/workorders/{number}/actions", json={"action": "close"},
                           headers=sup)).json()
    assert closed["status"] == "closed"
    assert [h["action"] for h in closed["history"]] == [
        "register", "dispatch", "sign_for", "start", "reply", "survey", "close"]
    again = (await c.get(f"/api/workorders/{number}", headers=sup)).json()
    assert again == closed

    # Merge: the second order closes into the first's... a closed order cannot take it.
    merged = await c.post(f"/api/workorders/{other['number']}/actions",
                          json={"action": "merge", "parent": number}, headers=sup)
    assert merged.status_code == 200
    assert merged.json()["merged_into"] == number


async def test_reports_and_calls(harness: Harness) -> None:
    await seed_calls(harness)
    c, sup = harness.client, await harness.headers("super")
    page = (await c.get("/api/calls?line=12345", headers=sup)).json()
    assert page["total"] == 2 and {x["call_id"] for x in page["calls"]} == {"c-1", "c-2"}
    assert (await c.get("/api/calls?outcome=short-abandon", headers=sup)).json()["total"] == 1
    csv = await c.get("/api/calls/export.csv", headers=sup)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.strip().splitlines()
    assert lines[0].startswith("call_id,line,caller,arrived_at") and len(lines) == 4
    a1 = await harness.headers("agent1")
    assert (await c.get("/api/calls/c-1", headers=a1)).status_code == 200
    assert (await c.get("/api/calls/c-2", headers=a1)).status_code == 404
    today = time.strftime("%Y-%m-%d", time.localtime())
    report = await c.get(f"/api/reports/daily?from={today}&to={today}", headers=sup)
    assert report.status_code == 200
    figures = {f["name"]: f for d in report.json()["days"] for f in d["figures"]}
    assert all(f["definition"] for f in figures.values())
    assert figures["offered"]["value"] + 0 >= 0
    assert (await c.get("/api/reports/daily?from=2026-03-10&to=2026-01-01",
                        headers=sup)).status_code == 422


@pytest.mark.parametrize("text", NASTY)
async def test_injection_in_text_fields_is_stored_verbatim(harness: Harness, text: str) -> None:
    await seed_calls(harness)
    c = harness.client
    a1, sup = await harness.headers("agent1"), await harness.headers("super")
    created = await c.post("/api/workorders", json={
        "call_id": "c-1", "content": text, "address": text, "caller_name": text}, headers=a1)
    assert created.status_code == 201, created.text
    assert created.headers["content-type"] == "application/json"
    number = created.json()["number"]
    got = (await c.get(f"/api/workorders/{number}", headers=sup)).json()
    assert got["content"] == got["address"] == got["caller_name"] == text
    returned = await c.post(f"/api/workorders/{number}/actions",
                            json={"action": "answer_directly", "answer": text}, headers=a1)
    assert returned.json()["answer"] == text
    # Text in searches and in other bodies is data too.
    for url in (f"/api/calls?caller={text}", f"/api/calls?line={text}"):
        response = await c.get(url, headers=sup)
        assert response.status_code in (200, 422) and response.json().get("total", 0) == 0
    paused = await c.post("/api/agents/1001/pause", json={"reason": text[:64]}, headers=a1)
    assert paused.status_code in (200, 409)
    mode = await c.post("/api/mode", json={"mode": "normal", "reason": text, "confirm": True},
                        headers=sup)
    assert mode.status_code == 201 and mode.json()["reason"] == text.strip()
    bad_login = await c.post("/api/auth/login", json={"username": text, "password": text})
    assert bad_login.status_code == 401
    # The tables are all still there and working.
    assert (await c.post("/api/auth/login", json={"username": "admin", "password": PASSWORD})
            ).status_code == 200
    assert len((await c.get("/api/workorders", headers=sup)).json()) == 1
