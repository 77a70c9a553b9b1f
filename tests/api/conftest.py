"""API fixtures: the real runtime on the sample centre, a fresh migrated SQLite store,
the app in-process (httpx ASGI transport) and users of every role.

`harness` builds it all; `harness.login(name)` gives a client's headers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from hotline.api import ApiSettings, Services, create_app
from hotline.api.accounts import add_user
from hotline.api.sync import sync_reference_data
from hotline.composition import build_kernel
from hotline.config.loader import Centre, load_centre
from hotline.projections.stats import LiveStats
from hotline.runtime.centre_runtime import CentreRuntime
from hotline.runtime.clock import RealClock
from hotline.store.engine import create_engine
from hotline.store.migrate import upgrade
from hotline.store.models import UserRole
from hotline.workorders.catalogue import Catalogue, load_catalogue

CONFIG = Path(__file__).resolve().parents[2] / "config"
PASSWORD = "correct horse battery staple"

# name -> (role, agent id, department code)
USERS: dict[str, tuple[UserRole, str | None, str | None]] = {
    "agent1": (UserRole.AGENT, "1001", None),
    "agent2": (UserRole.AGENT, "1002", None),
    "super": (UserRole.SUPERVISOR, None, None),
    "admin": (UserRole.ADMIN, None, None),
    "dept_zjj": (UserRole.DEPARTMENT, None, "zjj"),
    "dept_fgj": (UserRole.DEPARTMENT, None, "fgj"),
}
ROLE_USER = {
    UserRole.AGENT: "agent1",
    UserRole.SUPERVISOR: "super",
    UserRole.ADMIN: "admin",
    UserRole.DEPARTMENT: "dept_zjj",
}


@pytest.fixture(scope="session")
def centre() -> Centre:
    return load_centre(CONFIG)


@pytest.fixture(scope="session")
def catalogue(centre: Centre) -> Catalogue:
    return load_catalogue(CONFIG / "workorders.yaml", calendars=centre.config.holidays,
                          modes=centre.config.modes)


TEST_SETTINGS = ApiSettings(argon2_time_cost=1, argon2_memory_kib=64, wallboard_period_s=0.2,
                            ws_auth_timeout_s=2.0)


@dataclass
class Harness:
    services: Services
    settings: ApiSettings
    client: httpx.AsyncClient
    engine: AsyncEngine
    runtime: CentreRuntime
    app: Any
    tokens: dict[str, str] = field(default_factory=dict)

    async def token(self, name: str) -> str:
        if name not in self.tokens:
            response = await self.client.post(
                "/api/auth/login", json={"username": name, "password": PASSWORD}
            )
            assert response.status_code == 200, response.text
            self.tokens[name] = response.json()["token"]
        return self.tokens[name]

    async def headers(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.token(name)}"}


async def make_harness(url: URL, centre: Centre, catalogue: Catalogue,
                       settings: ApiSettings = TEST_SETTINGS) -> AsyncIterator[Harness]:
    await upgrade(url)
    engine = create_engine(url)
    await sync_reference_data(engine, centre, catalogue)
    runtime = CentreRuntime(build_kernel(centre), RealClock(), queues=centre.config.queues,
                            stats=LiveStats())
    services = Services.build(runtime=runtime, engine=engine, centre=centre,
                              catalogue=catalogue, settings=settings)
    for name, (role, agent, department) in USERS.items():
        await add_user(engine, services.passwords, name, PASSWORD, role, agent_id=agent,
                       department=department)
    app = create_app(services, settings)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    await runtime.start()
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://hotline") as client:
            yield Harness(services, settings, client, engine, runtime, app)
    finally:
        await runtime.stop()
        await engine.dispose()


@pytest.fixture
async def harness(tmp_path: Path, centre: Centre, catalogue: Catalogue
                  ) -> AsyncIterator[Harness]:
    url = URL.create("sqlite+aiosqlite", database=str(tmp_path / "hotline.db"))
    async for h in make_harness(url, centre, catalogue):
        yield h


@dataclass
class LiveServer:
    port: int

    def ws(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"


@pytest.fixture
async def server(harness: Harness) -> AsyncIterator[LiveServer]:
    """The same app on a real loopback socket (port 0), for websockets."""
    config = uvicorn.Config(harness.app, host="127.0.0.1", port=0, lifespan="off",
                            log_level="warning", ws="websockets-sansio")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield LiveServer(port)
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
