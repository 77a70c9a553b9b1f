"""The database goes away mid-run and comes back: no record is lost or stored twice.

PostgreSQL: the service reaches the server through a TCP proxy that is closed (every
connection dropped, new ones refused) and reopened. SQLite: every statement on the
service's engine fails meanwhile. Simulated calls keep the centre busy throughout; the
writer buffers, spills past its (small) memory bound, and writes back in order.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import event, func, select
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError
from store.helpers import TcpProxy, wait_until

from hotline.service.server import ServeOptions
from hotline.simulation.scenario import Scenario, load_scenario
from hotline.store.engine import create_engine
from hotline.store.factlog import WriterState
from hotline.store.models import FactRow

from .conftest import ROOT, ServiceRun, options


def busy_all_day() -> Scenario:
    """The emergency day with a daytime rate at every hour: the service runs a scenario
    from the wall clock's time of day, and a night's few calls would not fill the outage
    with records in time."""
    scenario, _ = load_scenario(ROOT / "scenarios" / "emergency_day.yaml")
    arrivals = scenario.arrivals.model_copy(
        update={"profile": {"00:00": 1.0}, "surges": (), "base_calls": 15_000.0})
    return scenario.model_copy(update={"arrivals": arrivals})


async def test_records_made_while_the_database_is_down_are_stored_once_after_it_returns(
    db_url: URL, tmp_path: Path, start_service: Callable[[ServeOptions], ServiceRun],
) -> None:
    proxy: TcpProxy | None = None
    url = db_url
    if db_url.get_backend_name() == "postgresql":
        proxy = TcpProxy(db_url.host or "127.0.0.1", db_url.port or 5432)
        url = db_url.set(host="127.0.0.1", port=await proxy.start())
    run = start_service(options(url, tmp_path, scenario=busy_all_day(), speed=120.0, seed=7,
                                fact_buffer=200))
    down = False

    def refuse(*_args: object) -> None:
        if down:
            raise OperationalError("INSERT", {}, sqlite3.OperationalError("disk I/O error"))

    try:
        running = await run.start()
        if proxy is None:
            event.listen(running.engine.sync_engine, "before_cursor_execute", refuse)
        writer = running.recorder.writer
        runtime = running.runtime
        await wait_until(lambda: runtime.log.next_seq > 300, what="calls flowing")

        down = True
        if proxy is not None:
            await proxy.close()
        at_outage = runtime.log.next_seq
        await wait_until(lambda: writer.health().state is WriterState.DEGRADED,
                         what="the writer noticing the outage")
        # The centre goes on: calls are taken and records made while nothing is stored.
        await wait_until(lambda: runtime.log.next_seq > at_outage + 1000,
                         what="records made during the outage")
        await wait_until(lambda: writer.health().spilled > 0, what="records spilled")
        assert runtime.counters.failures == 0

        down = False
        if proxy is not None:
            await proxy.reopen()
        await wait_until(lambda: writer.health().state is WriterState.OK
                         and writer.health().buffered == 0, timeout=60,
                         what="the backlog written")
        await asyncio.sleep(0.2)
        assert await run.stop() == 0
        last = runtime.log.next_seq - 1
    finally:
        if proxy is not None:
            await proxy.close()

    engine = create_engine(db_url)
    try:
        async with engine.connect() as connection:
            count, low, high, distinct = (await connection.execute(select(
                func.count(), func.min(FactRow.seq), func.max(FactRow.seq),
                func.count(func.distinct(FactRow.seq)),
            ))).one()
    finally:
        await engine.dispose()
    assert (count, low, high, distinct) == (last, 1, last, last)
    assert not (tmp_path / "facts.spill.jsonl").exists() or \
        (tmp_path / "facts.spill.jsonl").stat().st_size == 0
