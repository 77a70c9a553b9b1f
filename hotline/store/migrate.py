"""Run the store's Alembic migrations programmatically, on the async engines.

``await upgrade(url)`` brings a database (empty or older) to the newest schema;
``await downgrade(url, "base")`` removes every table the migrations made. Alembic is
synchronous: it runs inside ``AsyncConnection.run_sync``, so the event loop is never
blocked by a second, synchronous driver.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from hotline.store.engine import create_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for the store (no alembic.ini involved)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def upgrade(target: str | URL | AsyncEngine, revision: str = "head") -> None:
    async with _engine(target) as engine, engine.begin() as connection:
        await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), revision))


async def downgrade(target: str | URL | AsyncEngine, revision: str) -> None:
    async with _engine(target) as engine, engine.begin() as connection:
        await connection.run_sync(lambda sync: command.downgrade(alembic_config(sync), revision))


async def current_revision(target: str | URL | AsyncEngine) -> str | None:
    """The revision the database is at (None: never migrated)."""
    async with _engine(target) as engine, engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )


@asynccontextmanager
async def _engine(target: str | URL | AsyncEngine) -> AsyncIterator[AsyncEngine]:
    if isinstance(target, AsyncEngine):
        yield target
        return
    engine = create_engine(target)
    try:
        yield engine
    finally:
        await engine.dispose()
