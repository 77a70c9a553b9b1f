"""The mode-switch audit (``mode_switches``): one row per `ModeChanged` fact.

The fact is the source: the store recorder writes the row for each `ModeChanged` it reads
from the runtime's log (`record_mode_switch`), whoever asked for the switch (a
supervisor through the API, the automatic return, the simulator). Nothing else writes
the table; ``fact_seq`` is unique, so a second row for one fact cannot exist, and writing
a fact again (a retry, a restart) changes nothing.

Readers: `mode_switch_for` (the row of one fact, e.g. the API answering the switch it
asked for, once the recorder wrote it: `wait_for_mode_switch`) and `recent_mode_switches`.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import Insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from hotline.store.engine import without_nul
from hotline.store.models import FactRow, ModeSwitch
from hotline.vocabulary.codec import decode
from hotline.vocabulary.facts import ModeChanged

# Polling the row while the recorder writes it: quick at first (it is usually there
# within a few milliseconds), then at most this often.
_FIRST_POLL_S = 0.002
_MAX_POLL_S = 0.1


def _insert_once(dialect_name: str) -> Insert:
    """``INSERT INTO mode_switches ... ON CONFLICT (fact_seq) DO NOTHING``."""
    if dialect_name == "postgresql":
        return postgresql.insert(ModeSwitch).on_conflict_do_nothing(index_elements=["fact_seq"])
    if dialect_name == "sqlite":
        return sqlite.insert(ModeSwitch).on_conflict_do_nothing(index_elements=["fact_seq"])
    raise ValueError(f"the store supports SQLite and PostgreSQL, not {dialect_name}")


async def record_mode_switch(connection: AsyncConnection, seq: int, fact: ModeChanged) -> bool:
    """Write the audit row of the `ModeChanged` fact numbered `seq`, within the caller's
    transaction; False when that fact's row is already there."""
    result = await connection.execute(
        _insert_once(connection.dialect.name),
        {"at": fact.at, "from_mode": without_nul(fact.old), "to_mode": without_nul(fact.new),
         "by": without_nul(fact.by), "reason": without_nul(fact.reason), "until": fact.until,
         "fact_seq": seq},
    )
    return bool(result.rowcount)


async def unrecorded_mode_changes(connection: AsyncConnection) -> list[tuple[int, ModeChanged]]:
    """`ModeChanged` facts in the fact log that have no audit row (the process stopped
    between storing the fact and writing its row), oldest first."""
    recorded = select(ModeSwitch.fact_seq).where(ModeSwitch.fact_seq.is_not(None))
    rows = await connection.execute(
        select(FactRow.seq, FactRow.payload)
        .where(FactRow.type == ModeChanged.__name__, FactRow.seq.not_in(recorded))
        .order_by(FactRow.seq)
    )
    found = [(int(seq), decode(payload)) for seq, payload in rows]
    return [(seq, fact) for seq, fact in found if isinstance(fact, ModeChanged)]


async def mode_switch_for(engine: AsyncEngine, seq: int) -> ModeSwitch | None:
    """The audit row of the fact numbered `seq`, if written."""
    async with AsyncSession(engine) as session:
        found: ModeSwitch | None = (
            await session.execute(select(ModeSwitch).where(ModeSwitch.fact_seq == seq))
        ).scalar_one_or_none()
        return found


async def wait_for_mode_switch(engine: AsyncEngine, seq: int, timeout_s: float) -> ModeSwitch:
    """The audit row of fact `seq` once the recorder has written it (a unique-key
    lookup, repeated with a growing pause); `TimeoutError` after `timeout_s`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    pause = _FIRST_POLL_S
    while True:
        row = await mode_switch_for(engine, seq)
        if row is not None:
            return row
        left = deadline - loop.time()
        if left <= 0:
            raise TimeoutError(f"no audit row for mode change {seq} after {timeout_s:g} s")
        await asyncio.sleep(min(pause, left))
        pause = min(pause * 2, _MAX_POLL_S)


async def recent_mode_switches(engine: AsyncEngine, limit: int) -> list[ModeSwitch]:
    """The newest `limit` rows, newest first."""
    async with AsyncSession(engine) as session:
        rows = await session.execute(
            select(ModeSwitch).order_by(ModeSwitch.at.desc(), ModeSwitch.id.desc()).limit(limit)
        )
        return list(rows.scalars())
