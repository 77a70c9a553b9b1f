"""Time in `hotline serve`: sessions run on wall time and survive a restart; a centre
that a fast simulation moved ahead of the wall clock does not take real calls."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import URL

from hotline.api.accounts import add_user
from hotline.service.server import ServeOptions, StoreAhead
from hotline.simulation.scenario import load_scenario
from hotline.store.models import UserRole
from hotline.vocabulary.events import CallArrived

from .conftest import API, ROOT, ServiceRun, options

PASSWORD = "a-supervisor-password"


async def test_a_session_outlives_a_restart_and_lasts_its_wall_clock_ttl(
    tmp_path: Path, start_service: Callable[[ServeOptions], ServiceRun],
) -> None:
    url = URL.create("sqlite+aiosqlite", database=str(tmp_path / "var" / "hotline.db"))
    scenario, _ = load_scenario(ROOT / "scenarios" / "emergency_day.yaml")
    # The centre runs 120 times faster than the wall clock; a session must not.
    first = start_service(options(url, tmp_path, scenario=scenario, speed=120.0, seed=7))
    running = await first.start()
    await add_user(running.engine, running.services.passwords, "super", PASSWORD,
                   UserRole.SUPERVISOR)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{running.port}") as client:
        before = time.time()
        login = await client.post("/api/auth/login",
                                  json={"username": "super", "password": PASSWORD})
        login.raise_for_status()
        token = login.json()["token"]
    # The lifetime counts in wall time from the login, not in the centre's paced time.
    expires_at = float(login.json()["expires_at"])
    assert before + API.token_ttl_s <= expires_at <= time.time() + API.token_ttl_s
    assert running.runtime.clock.now() > time.time() + 1.0  # the centre's time ran ahead
    assert await first.stop() == 0

    second = start_service(options(url, tmp_path, scenario=scenario, speed=120.0, seed=7))
    again = await second.start()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{again.port}") as client:
        me = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
    assert me.json()["username"] == "super"
    assert await second.stop() == 0


async def test_real_calls_are_refused_on_a_store_a_fast_simulation_moved_ahead(
    tmp_path: Path, start_service: Callable[[ServeOptions], ServiceRun],
) -> None:
    url = URL.create("sqlite+aiosqlite", database=str(tmp_path / "var" / "hotline.db"))
    scenario, _ = load_scenario(ROOT / "scenarios" / "emergency_day.yaml")
    first = start_service(options(url, tmp_path, scenario=scenario, speed=600.0, seed=7))
    running = await first.start()
    clock = running.runtime.clock
    while clock.now() < time.time() + 60:  # the simulated day runs ahead
        await asyncio.sleep(0.02)
    await running.runtime.post(CallArrived("late", "12345", "13900000001", clock.now()))
    await running.runtime.drain()
    assert await first.stop() == 0

    second = start_service(options(url, tmp_path))  # real time, no simulation
    with pytest.raises(StoreAhead, match="ahead of this machine's clock"):
        await second.start()
    assert second.service.running is None  # nothing was started on the wrong clock
