"""CDR rows: the CDR projection's plain dicts upserted into ``calls`` on call_id.

The projection emits one dict per call and re-emits it as the call progresses (queued,
answered, ended); each dict is the call's whole current CDR and replaces the row. Keys
with no column (a projection newer than the schema) are kept in the ``extra`` JSON
column rather than dropped, so no CDR detail is lost before a migration adds it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Insert, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hotline.store.engine import without_nul
from hotline.store.models import CallRow

CALL_COLUMNS: frozenset[str] = frozenset(
    column.key for column in CallRow.__table__.columns if column.key not in {"extra", "updated_at"}
)
_REQUIRED = ("call_id", "line", "arrived_at")


def call_row(cdr: Mapping[str, Any]) -> dict[str, Any]:
    """A ``calls`` row for one CDR dict (tuples become lists; unknown keys → ``extra``)."""
    missing = [key for key in _REQUIRED if cdr.get(key) is None]
    if missing:
        raise ValueError(f"CDR {cdr.get('call_id')!r}: missing {', '.join(missing)}")
    row: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in cdr.items():
        plain = list(value) if isinstance(value, tuple) else value
        if key in CALL_COLUMNS:
            row[key] = plain
        else:
            extra[key] = plain
    # Every row carries every column, so one statement serves a batch of mixed dicts.
    for key in CALL_COLUMNS - row.keys():
        row[key] = _DEFAULTS.get(key)
    row["caller"] = row["caller"] or ""  # withheld
    for key, value in row.items():
        if type(value) is str:
            row[key] = without_nul(value)
    row["extra"] = extra
    return row


_DEFAULTS: dict[str, Any] = {"caller": "", "tags": [], "ivr_path": []}


def _upsert(dialect_name: str) -> Insert:
    stmt: postgresql.Insert | sqlite.Insert
    if dialect_name == "postgresql":
        stmt = postgresql.insert(CallRow)
    elif dialect_name == "sqlite":
        stmt = sqlite.insert(CallRow)
    else:
        raise ValueError(f"the store supports SQLite and PostgreSQL, not {dialect_name}")
    updated = {
        column.key: stmt.excluded[column.key]
        for column in CallRow.__table__.columns
        if column.key != "call_id" and column.key != "updated_at"
    }
    return stmt.on_conflict_do_update(
        index_elements=["call_id"],
        set_={**updated, "updated_at": func.now()},
    )


async def upsert_calls_on(connection: AsyncConnection, cdrs: Iterable[Mapping[str, Any]]) -> int:
    """Upsert within the caller's transaction; returns the number of rows sent."""
    rows = [call_row(cdr) for cdr in cdrs]
    if rows:
        await connection.execute(_upsert(connection.dialect.name), rows)
    return len(rows)


async def upsert_calls(engine: AsyncEngine, cdrs: Iterable[Mapping[str, Any]]) -> int:
    """Upsert CDR dicts in one transaction; returns the number of rows sent."""
    async with engine.begin() as connection:
        return await upsert_calls_on(connection, cdrs)


async def get_call(engine: AsyncEngine, call_id: str) -> dict[str, Any] | None:
    """One CDR row as a dict (``extra`` merged back in), or None."""
    async with engine.connect() as connection:
        found = (
            (await connection.execute(select(CallRow.__table__).where(CallRow.call_id == call_id)))
            .mappings()
            .first()
        )
    if found is None:
        return None
    out = {key: value for key, value in found.items() if key != "extra"}
    out.update(found["extra"] or {})
    return out
