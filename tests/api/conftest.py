"""API fixtures: the real runtime on the sample centre, a fresh migrated store of each
kind (SQLite and PostgreSQL), the store recorder, store-backed sessions, the app
in-process (httpx ASGI transport) and users of every role.

`harness` builds it all; `await harness.headers(name)` gives a client's headers.

Every test that uses `harness` (or `db_url`) runs on SQLite and on PostgreSQL; a module
that only checks the HTTP layer says `DATABASES = ("sqlite",)` to run once, a single test
`@on_databases("sqlite")`. Each case gets a database of its own: a copy of one prepared
once per run (`Templates`: a file copy, or CREATE DATABASE ... TEMPLATE on PostgreSQL,
dropped afterwards; see tests/store/conftest.py). PostgreSQL cases are skipped when no
PostgreSQL answers (failed under CI=true).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine
from store.conftest import create_pg_database, drop_pg_database, empty_database

from hotline.api import ApiSettings, Services, create_app
from hotline.api.accounts import add_user
from hotline.api.security import Passwords, SessionStore, StoreSessions
from hotline.api.sync import sync_reference_data
from hotline.composition import build_kernel
from hotline.config.loader import Centre, load_centre
from hotline.projections.stats import LiveStats
from hotline.runtime.centre_runtime import CentreRuntime
from hotline.runtime.clock import RealClock
from hotline.service.recorder import StoreRecorder
from hotline.store.engine import create_engine
from hotline.store.migrate import upgrade
from hotline.store.models import UserRole
from hotline.workorders.catalogue import Catalogue, load_catalogue

CONFIG = Path(__file__).resolve().parents[2] / "config"
DATABASES = ("sqlite", "postgresql")
F = TypeVar("F", bound=Callable[..., Any])
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
    recorder: StoreRecorder
    url: URL
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


async def prepare(url: URL, centre: Centre, catalogue: Catalogue,
                  settings: ApiSettings = TEST_SETTINGS) -> None:
    """Migrate, load the reference data and add the users of every role."""
    await upgrade(url)
    engine = create_engine(url)
    try:
        await sync_reference_data(engine, centre, catalogue)
        passwords = Passwords(settings.argon2_time_cost, settings.argon2_memory_kib)
        for name, (role, agent, department) in USERS.items():
            await add_user(engine, passwords, name, PASSWORD, role, agent_id=agent,
                           department=department)
        if url.get_backend_name() == "sqlite":  # the whole database in its one file
            async with engine.connect() as connection:
                await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        await engine.dispose()


async def make_harness(url: URL, centre: Centre, catalogue: Catalogue,
                       settings: ApiSettings = TEST_SETTINGS, *, prepared: bool = False,
                       ) -> AsyncIterator[Harness]:
    """The whole API on `url` as `hotline serve` assembles it: migrated store, reference
    data, runtime with the store recorder, sessions in the store. `prepared`: the
    database is a copy of one `prepare` made."""
    if not prepared:
        await prepare(url, centre, catalogue, settings)
    engine = create_engine(url)
    spill_dir = tempfile.TemporaryDirectory(prefix="hotline-api-")
    recorder = StoreRecorder(engine, Path(spill_dir.name) / "facts.spill.jsonl")
    runtime = CentreRuntime(build_kernel(centre), RealClock(), queues=centre.config.queues,
                            stats=LiveStats())
    sessions: SessionStore = await StoreSessions.open(engine, runtime.clock.now)
    services = Services.build(runtime=runtime, engine=engine, centre=centre,
                              catalogue=catalogue, settings=settings, sessions=sessions)
    app = create_app(services, settings)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    await recorder.open()
    recorder.attach(runtime)
    await runtime.start()
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://hotline") as client:
            yield Harness(services, settings, client, engine, runtime, app, recorder, url)
    finally:
        await runtime.stop()
        await recorder.close()
        await engine.dispose()
        spill_dir.cleanup()


class Templates:
    """One prepared database per kind for the whole test run; each test gets a copy (a
    file copy, or PostgreSQL's CREATE DATABASE ... TEMPLATE), which is much quicker than
    migrating and filling a new one."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._made: dict[str, URL] = {}

    async def copy(self, kind: str, tmp_path: Path, centre: Centre,
                   catalogue: Catalogue) -> URL:
        template = self._made.get(kind)
        if template is None:
            if kind == "sqlite":
                template = URL.create("sqlite+aiosqlite",
                                      database=str(self._directory / "template.db"))
            else:
                template = await create_pg_database()
            self._made[kind] = template
            await prepare(template, centre, catalogue)
        assert template.database is not None
        if kind == "sqlite":
            target = tmp_path / "hotline.db"
            shutil.copyfile(template.database, target)
            return URL.create("sqlite+aiosqlite", database=str(target))
        return await create_pg_database(template=template.database)

    def postgresql(self) -> URL | None:
        return self._made.get("postgresql")


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Templates]:
    made = Templates(tmp_path_factory.mktemp("api-templates"))
    yield made
    url = made.postgresql()
    if url is not None:
        asyncio.run(drop_pg_database(url))


def on_databases(*kinds: str) -> Callable[[F], F]:
    """Run one test on these kinds of database only (the module's `DATABASES` else)."""

    def mark(test: F) -> F:
        test.api_databases = kinds  # type: ignore[attr-defined]
        return test

    return mark


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "api_database" in metafunc.fixturenames:
        kinds = getattr(metafunc.function, "api_databases", None)
        if kinds is None:
            kinds = getattr(metafunc.module, "DATABASES", DATABASES)
        metafunc.parametrize("api_database", kinds)


@pytest.fixture
async def db_url(api_database: str, tmp_path: Path) -> AsyncIterator[URL]:
    """An empty database of the kind the test is parametrised with."""
    async with empty_database(api_database, tmp_path / "hotline.db") as url:
        yield url


@pytest.fixture
async def prepared_url(api_database: str, tmp_path: Path, templates: Templates,
                       centre: Centre, catalogue: Catalogue) -> AsyncIterator[URL]:
    """A database of the kind the test is parametrised with, migrated, with the
    reference data and the users."""
    url = await templates.copy(api_database, tmp_path, centre, catalogue)
    try:
        yield url
    finally:
        if api_database != "sqlite":
            await drop_pg_database(url)


@pytest.fixture
async def harness(prepared_url: URL, centre: Centre, catalogue: Catalogue
                  ) -> AsyncIterator[Harness]:
    async for h in make_harness(prepared_url, centre, catalogue, prepared=True):
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
