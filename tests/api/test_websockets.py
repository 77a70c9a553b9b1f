"""Websockets over a real loopback socket: the token is the first message."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from api.conftest import Harness, LiveServer


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
