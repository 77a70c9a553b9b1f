"""Store fixtures: every test runs on SQLite (a temporary file) and on PostgreSQL.

Each PostgreSQL case gets its own database (CREATE DATABASE with a unique name, dropped
afterwards), so concurrent runs never see each other's tables. When PostgreSQL is not
reachable the PostgreSQL cases are skipped, or fail when CI=true (CI must run them).
The server is ``HOTLINE_TEST_PG_URL`` (default: postgres on 127.0.0.1:5432, db ``test``).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from hotline.store.engine import create_engine
from hotline.store.migrate import upgrade
from store.helpers import TcpProxy

DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def pg_admin_url() -> URL:
    return make_url(os.environ.get("HOTLINE_TEST_PG_URL", DEFAULT_PG_URL))


def _asyncpg_dsn(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def _pg_admin() -> asyncpg.Connection:
    try:
        return await asyncpg.connect(_asyncpg_dsn(pg_admin_url()), timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        message = f"PostgreSQL not reachable at {pg_admin_url().render_as_string()}: {exc}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)


async def create_pg_database(template: str | None = None) -> URL:
    """A new database with a unique name; a copy of `template` (a database nobody is
    connected to) when given."""
    admin = await _pg_admin()
    name = f"hotline_test_{uuid.uuid4().hex[:16]}"
    copy = f' TEMPLATE "{template}"' if template is not None else ""
    try:
        await admin.execute(f'CREATE DATABASE "{name}"{copy}')
    finally:
        await admin.close()
    return pg_admin_url().set(database=name)


async def drop_pg_database(url: URL) -> None:
    admin = await _pg_admin()
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
    finally:
        await admin.close()


@contextlib.asynccontextmanager
async def empty_database(kind: str, sqlite_path: Path) -> AsyncIterator[URL]:
    """An empty database of `kind` ("sqlite" at `sqlite_path`, or a fresh PostgreSQL
    database dropped afterwards), as an async URL."""
    if kind == "sqlite":
        yield URL.create("sqlite+aiosqlite", database=str(sqlite_path))
        return
    url = await create_pg_database()
    try:
        yield url
    finally:
        await drop_pg_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[URL]:
    """An empty database of each kind, as an async URL."""
    async with empty_database(request.param, tmp_path / "hotline.db") as url:
        yield url


@pytest.fixture
async def engine(db_url: URL) -> AsyncIterator[AsyncEngine]:
    """An engine on a database migrated to the newest schema."""
    await upgrade(db_url)
    eng = create_engine(db_url)
    try:
        yield eng
    finally:
        await eng.dispose()


@pytest.fixture
def spill_path(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "facts.spill.jsonl"


class Outage:
    """A database that can be taken away and given back while a writer runs.

    PostgreSQL: the writer's engine connects through a TCP proxy that is closed (every
    connection dropped, new ones refused) and reopened. SQLite (a file has no server to
    lose): every statement on the writer's engine fails with OperationalError meanwhile.
    """

    def __init__(self, engine: AsyncEngine, proxy: TcpProxy | None) -> None:
        self.engine = engine
        self._proxy = proxy
        self.is_down = False
        if proxy is None:
            event.listen(engine.sync_engine, "before_cursor_execute", self._refuse)

    async def down(self) -> None:
        self.is_down = True
        if self._proxy is not None:
            await self._proxy.close()

    async def up(self) -> None:
        self.is_down = False
        if self._proxy is not None:
            await self._proxy.reopen()

    def _refuse(self, *_args: object) -> None:
        if self.is_down:
            raise OperationalError(
                "INSERT", {}, sqlite3.OperationalError("unable to open database file")
            )


@pytest.fixture
async def outage(db_url: URL, engine: AsyncEngine) -> AsyncIterator[Outage]:
    """A second engine on the migrated database, for the writer, that can lose it."""
    proxy: TcpProxy | None = None
    url = db_url
    if db_url.get_backend_name() == "postgresql":
        proxy = TcpProxy(db_url.host or "127.0.0.1", db_url.port or 5432)
        url = db_url.set(host="127.0.0.1", port=await proxy.start())
    writer_engine = create_engine(url)
    try:
        yield Outage(writer_engine, proxy)
    finally:
        await writer_engine.dispose()
        if proxy is not None:
            await proxy.close()
