"""Websockets over a real loopback socket: the token is the first message; each desk
hears only of its own agent, the department socket only of its own orders."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from web.pbx import ScriptedPbx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from api.conftest import Harness, LiveServer
from api.test_workorders import seed_calls


async def closed_with(url: str, first: str | None) -> int | None:
    async with connect(url) as ws:
        if first is not None:
            await ws.send(first)
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
        return ws.close_code


async def test_websockets_refuse_without_a_valid_token(harness: Harness,
                                                       server: LiveServer) -> None:
    for path in ("/api/ws/wallboard", "/api/ws/desk"):
        assert await closed_with(server.ws(path), json.dumps({"token": "nope"})) == 4401
        assert await closed_with(server.ws(path), "not json") == 4401
        assert await closed_with(server.ws(path), None) == 4401  # said nothing in time


async def test_websockets_refuse_the_wrong_role(harness: Harness, server: LiveServer) -> None:
    agent = json.dumps({"token": await harness.token("agent1")})
    supervisor = json.dumps({"token": await harness.token("super")})
    assert await closed_with(server.ws("/api/ws/wallboard"), agent) == 4403
    assert await closed_with(server.ws("/api/ws/desk"), supervisor) == 4403


async def test_wallboard_snapshot_then_updates_and_desk_follows_the_seat(
        harness: Harness, server: LiveServer) -> None:
    token = await harness.token("super")
    async with connect(server.ws("/api/ws/wallboard")) as ws:
        await ws.send(json.dumps({"token": token}))
        first = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert first["type"] == "snapshot" and first["live"]["mode"] == "normal"
        second = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert second["type"] == "update"

    agent = await harness.token("agent1")
    async with connect(server.ws("/api/ws/desk")) as ws:
        await ws.send(json.dumps({"token": agent}))
        snapshot = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert snapshot["type"] == "snapshot" and snapshot["desk"]["seat"] is None
        response = await harness.client.post(
            "/api/agents/1001/login", json={"seat_id": "s01"},
            headers={"Authorization": f"Bearer {agent}"})
        assert response.status_code == 200
        update = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert update["desk"]["seat"]["seat_id"] == "s01"
        # Logging out of the API ends the stream.
        await harness.client.post("/api/auth/logout",
                                  headers={"Authorization": f"Bearer {agent}"})
        await harness.client.post("/api/agents/1001/logout", headers=await harness.headers("super"))
        with pytest.raises(ConnectionClosed):
            while True:
                await asyncio.wait_for(ws.recv(), 5)
        assert ws.close_code == 4401


async def _next(ws: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 5))
    return message


async def test_each_desk_hears_only_of_its_own_agent(harness: Harness,
                                                     server: LiveServer) -> None:
    a1, a2 = await harness.token("agent1"), await harness.token("agent2")
    async with connect(server.ws("/api/ws/desk")) as one, \
            connect(server.ws("/api/ws/desk")) as two:
        await one.send(json.dumps({"token": a1}))
        await two.send(json.dumps({"token": a2}))
        assert (await _next(one))["type"] == "snapshot"
        assert (await _next(two))["type"] == "snapshot"
        c = harness.client
        assert (await c.post("/api/agents/1001/login", json={"seat_id": "s01"},
                             headers=await harness.headers("agent1"))).status_code == 200
        assert (await _next(one))["desk"]["seat"]["seat_id"] == "s01"
        assert (await c.post("/api/agents/1002/login", json={"seat_id": "s02"},
                             headers=await harness.headers("agent2"))).status_code == 200
        # Agent 2's next message is about agent 2: agent 1's change was not sent there.
        update = await _next(two)
        assert update["type"] == "update" and update["desk"]["agent_id"] == "1002"
        assert update["desk"]["seat"]["seat_id"] == "s02"


async def test_the_desk_pushes_the_screen_pop_with_the_callers_history(
        harness: Harness, server: LiveServer) -> None:
    await seed_calls(harness)  # c-1 came from 13800138000
    c = harness.client
    a1 = await harness.headers("agent1")
    assert (await c.post("/api/agents/1001/login", json={"seat_id": "s01"},
                         headers=a1)).status_code == 200
    async with connect(server.ws("/api/ws/desk")) as ws:
        await ws.send(json.dumps({"token": await harness.token("agent1")}))
        assert (await _next(ws))["type"] == "snapshot"
        assert (await c.post("/api/agents/1001/ready", headers=a1)).status_code == 200
        pbx = ScriptedPbx().attach(harness.runtime)
        ring = await pbx.call_until_ringing("c-again", "13800138000", "12345", [])
        assert ring.agent_id == "1001"
        while True:
            desk = (await _next(ws))["desk"]
            if desk["call"] is not None:
                break
        assert desk["call"]["call_id"] == "c-again"
        assert [x["call_id"] for x in desk["call"]["history"]["calls"]] == ["c-1"]
        # The call ends: the desk shown it hears so (the record names only the call).
        await pbx.answer(ring)
        await pbx.end(ring.call_id)
        while desk["seat"]["state"] != "wrap-up":
            desk = (await _next(ws))["desk"]


async def test_the_department_socket_pushes_its_own_orders_only(
        harness: Harness, server: LiveServer) -> None:
    for name, path in (("agent1", "/api/ws/department"), ("super", "/api/ws/department")):
        first = json.dumps({"token": await harness.token(name)})
        assert await closed_with(server.ws(path), first) == 4403
    assert await closed_with(server.ws("/api/ws/department"), json.dumps({"token": "x"})) == 4401
    await seed_calls(harness)
    c, sup = harness.client, await harness.headers("super")
    zjj_headers = await harness.headers("dept_zjj")
    async with connect(server.ws("/api/ws/department")) as zjj, \
            connect(server.ws("/api/ws/department")) as fgj:
        await zjj.send(json.dumps({"token": await harness.token("dept_zjj")}))
        await fgj.send(json.dumps({"token": await harness.token("dept_fgj")}))
        assert await _next(zjj) == {"type": "snapshot", "orders": []}
        assert await _next(fgj) == {"type": "snapshot", "orders": []}

        async def dispatched(call_id: str, department: str) -> str:
            made = await c.post("/api/workorders", json={"call_id": call_id}, headers=sup)
            number: str = made.json()["number"]
            done = await c.post(f"/api/workorders/{number}/actions",
                                json={"action": "dispatch", "department": department},
                                headers=sup)
            assert done.status_code == 200, done.text
            return number

        first = await dispatched("c-1", "zjj")
        change = await _next(zjj)
        assert change["type"] == "changed" and change["gone"] == []
        assert [(o["number"], o["department"], o["status"]) for o in change["orders"]] == [
            (first, "zjj", "dispatched")]
        second = await dispatched("c-2", "fgj")
        # fgj's next message is its own order: the zjj one was never sent there.
        assert [o["number"] for o in (await _next(fgj))["orders"]] == [second]
        signed = await c.post(f"/api/workorders/{first}/actions", json={"action": "sign_for"},
                              headers=zjj_headers)
        assert signed.status_code == 200
        assert [(o["number"], o["status"]) for o in (await _next(zjj))["orders"]] == [
            (first, "signed")]

    # A reconnecting page starts whole again from its snapshot.
    async with connect(server.ws("/api/ws/department")) as again:
        await again.send(json.dumps({"token": await harness.token("dept_zjj")}))
        snapshot = await _next(again)
        assert [o["number"] for o in snapshot["orders"]] == [first]
