"""Fact-log write speed: the FactWriter against a plain bulk insert, SQLite and PostgreSQL.

Prints `name: value` lines:
  store_facts_per_s_sqlite, store_facts_per_s_postgres   records per second through
      `FactWriter` (codec encoding, batching, INSERT ... ON CONFLICT DO NOTHING, one
      transaction per batch), from the first submit until the last record is committed
  bulk_insert_rows_per_s_sqlite, bulk_insert_rows_per_s_postgres   the same rows, already
      encoded, in one plain bulk INSERT and one transaction: the ceiling for this machine
  store_vs_bulk_insert_ratio   the worse of the two writer/bulk ratios; target >= 0.5

Records: 50,000 per database, CallQueued / SeatStateChanged / DigitsReceived generated
as a busy centre logs them. PostgreSQL: ``HOTLINE_BENCH_PG_URL`` (default postgres on
127.0.0.1:5432, database ``test``); each run creates and drops its own databases.

Run: .venv/bin/python bench/store.py [--count N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402
from sqlalchemy.engine import URL, make_url  # noqa: E402

from hotline.store.engine import create_engine  # noqa: E402
from hotline.store.factlog import FactWriter, fact_row  # noqa: E402
from hotline.store.migrate import upgrade  # noqa: E402
from hotline.store.models import FactRow  # noqa: E402
from hotline.vocabulary.codec import encode  # noqa: E402
from hotline.vocabulary.events import DigitsReceived  # noqa: E402
from hotline.vocabulary.facts import CallQueued, SeatStateChanged  # noqa: E402
from hotline.vocabulary.states import SeatState  # noqa: E402

DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
SUBMIT_CHUNK = 500  # records the runtime fans out between two turns of the event loop


def records(count: int) -> list[tuple[int, Any]]:
    pairs: list[tuple[int, Any]] = []
    states = (SeatState.READY, SeatState.RINGING, SeatState.ON_CALL, SeatState.WRAP_UP)
    for seq in range(1, count + 1):
        at = 1_700_000_000.0 + seq * 0.05
        call = f"1700000000.{seq // 3}"
        record: Any
        if seq % 3 == 0:
            record = CallQueued(
                call_id=call,
                queue="emergency" if seq % 2 else "general",
                line="12345",
                priority=5,
                tags=("epidemic",),
                at=at,
            )
        elif seq % 3 == 1:
            old = states[seq % 4]
            record = SeatStateChanged(
                agent_id=f"a{seq % 128:03d}",
                old=old,
                new=states[(seq + 1) % 4],
                reason="offer",
                at=at,
                seat_id=f"s{seq % 128:03d}",
            )
        else:
            record = DigitsReceived(call_id=call, digits=str(seq % 10), at=at)
        pairs.append((seq, record))
    return pairs


async def writer_rate(url: URL, pairs: list[tuple[int, Any]], spill: Path) -> float:
    await upgrade(url)
    engine = create_engine(url)
    try:
        writer = FactWriter(engine, spill, batch_size=2000, memory_limit=len(pairs) + 1)
        task = asyncio.create_task(writer.run())
        started = time.perf_counter()
        for start in range(0, len(pairs), SUBMIT_CHUNK):
            for seq, record in pairs[start : start + SUBMIT_CHUNK]:
                writer.submit(seq, record)
            await asyncio.sleep(0)
        await writer.flush()
        elapsed = time.perf_counter() - started
        await writer.stop()
        await task
        if writer.health().last_written_seq != len(pairs):
            raise RuntimeError("the writer did not write every record")
    finally:
        await engine.dispose()
    return len(pairs) / elapsed


async def bulk_rate(url: URL, pairs: list[tuple[int, Any]]) -> float:
    await upgrade(url)
    rows = [fact_row(seq, encode(record)) for seq, record in pairs]
    engine = create_engine(url)
    try:
        started = time.perf_counter()
        async with engine.begin() as connection:
            await connection.execute(insert(FactRow), rows)
        elapsed = time.perf_counter() - started
    finally:
        await engine.dispose()
    return len(rows) / elapsed


async def _pg_databases(names: list[str], create: bool) -> None:
    import asyncpg

    admin_url = make_url(os.environ.get("HOTLINE_BENCH_PG_URL", DEFAULT_PG_URL))
    dsn = admin_url.set(drivername="postgresql").render_as_string(hide_password=False)
    admin = await asyncpg.connect(dsn, timeout=5)
    try:
        for name in names:
            if create:
                await admin.execute(f'CREATE DATABASE "{name}"')
            else:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def main(count: int) -> None:
    pairs = records(count)
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        figures["bulk_insert_rows_per_s_sqlite"] = await bulk_rate(
            URL.create("sqlite+aiosqlite", database=str(folder / "bulk.db")), pairs
        )
        figures["store_facts_per_s_sqlite"] = await writer_rate(
            URL.create("sqlite+aiosqlite", database=str(folder / "writer.db")),
            pairs,
            folder / "sqlite.spill",
        )

        admin_url = make_url(os.environ.get("HOTLINE_BENCH_PG_URL", DEFAULT_PG_URL))
        names = [f"hotline_bench_{uuid.uuid4().hex[:12]}" for _ in range(2)]
        try:
            await _pg_databases(names, create=True)
        except OSError as exc:
            print(f"PostgreSQL not reachable, skipped: {exc}", file=sys.stderr)
            names = []
        try:
            if names:
                figures["bulk_insert_rows_per_s_postgres"] = await bulk_rate(
                    admin_url.set(database=names[0]), pairs
                )
                figures["store_facts_per_s_postgres"] = await writer_rate(
                    admin_url.set(database=names[1]), pairs, folder / "pg.spill"
                )
        finally:
            if names:
                await _pg_databases(names, create=False)

    ratios = [
        figures[f"store_facts_per_s_{kind}"] / figures[f"bulk_insert_rows_per_s_{kind}"]
        for kind in ("sqlite", "postgres")
        if f"store_facts_per_s_{kind}" in figures
    ]
    figures["store_vs_bulk_insert_ratio"] = min(ratios)
    for name in (
        "store_facts_per_s_sqlite",
        "store_facts_per_s_postgres",
        "bulk_insert_rows_per_s_sqlite",
        "bulk_insert_rows_per_s_postgres",
        "store_vs_bulk_insert_ratio",
    ):
        if name in figures:
            value = figures[name]
            print(f"{name}: {value:.2f}" if name.endswith("ratio") else f"{name}: {value:.0f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50_000, help="records per database")
    asyncio.run(main(parser.parse_args().count))
