"""Migrations: from an empty database to head, back to base, and up again; the models
and the migrated schema agree (autogenerate finds nothing to do)."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError

from hotline.store.engine import create_engine
from hotline.store.migrate import current_revision, downgrade, head_revision, upgrade
from hotline.store.models import Base

ALL_TABLES = set(Base.metadata.tables)


async def _tables(url: URL) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    finally:
        await engine.dispose()
    return set(names) - {"alembic_version"}


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": False}
    )
    return list(compare_metadata(context, Base.metadata))


async def test_upgrade_downgrade_upgrade(db_url: URL) -> None:
    assert await _tables(db_url) == set()
    assert await current_revision(db_url) is None

    await upgrade(db_url)
    assert await _tables(db_url) == ALL_TABLES
    assert await current_revision(db_url) == head_revision()

    await downgrade(db_url, "base")
    assert await _tables(db_url) == set()
    assert await current_revision(db_url) is None

    await upgrade(db_url)
    assert await _tables(db_url) == ALL_TABLES


async def test_models_match_the_migrated_schema(db_url: URL) -> None:
    await upgrade(db_url)
    engine = create_engine(db_url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_differences)
    finally:
        await engine.dispose()
    assert differences == []


async def test_upgrade_is_idempotent_at_head(db_url: URL) -> None:
    await upgrade(db_url)
    await upgrade(db_url)
    assert await current_revision(db_url) == head_revision()


def test_the_schema_covers_the_centre() -> None:
    assert {
        "facts",
        "calls",
        "agents",
        "seats",
        "skills",
        "agent_skills",
        "shifts",
        "rosters",
        "roster_assignments",
        "mode_switches",
        "users",
        "api_sessions",
        "departments",
        "work_order_categories",
        "work_orders",
        "work_order_history",
        "surveys",
    } <= ALL_TABLES


async def test_upgrading_keeps_one_audit_row_per_mode_fact(db_url: URL) -> None:
    """Rows an older build wrote twice for one fact become one; the table then refuses
    a second row for a fact."""
    await upgrade(db_url, "0001")
    engine = create_engine(db_url)
    row = {"at": 1.0, "from_mode": "normal", "to_mode": "emergency", "by": "x", "reason": ""}
    try:
        async with engine.begin() as connection:
            for seq in (5, 5, 6, None, None):
                await connection.execute(
                    text("INSERT INTO mode_switches (at, from_mode, to_mode, by, reason, "
                         "fact_seq) VALUES (:at, :from_mode, :to_mode, :by, :reason, :seq)"),
                    {**row, "seq": seq})
        await upgrade(db_url)
        async with engine.begin() as connection:
            left = (await connection.execute(
                text("SELECT id, fact_seq FROM mode_switches ORDER BY id"))).all()
            assert [tuple(r) for r in left] == [(1, 5), (3, 6), (4, None), (5, None)]
            with pytest.raises(IntegrityError):
                await connection.execute(
                    text("INSERT INTO mode_switches (at, from_mode, to_mode, by, reason, "
                         "fact_seq) VALUES (1, 'a', 'b', 'c', '', 6)"))
    finally:
        await engine.dispose()
