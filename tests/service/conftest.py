"""Service fixtures: the sample centre, a store of each kind, services started in-process.

PostgreSQL cases get a database of their own (see tests/store/conftest.py) and skip when
no server is reachable (fail under CI=true).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import URL
from store.conftest import create_pg_database, drop_pg_database, empty_database

from hotline.api.settings import ApiSettings
from hotline.config.loader import Centre, load_centre
from hotline.service.server import CentreService, Running, ServeOptions
from hotline.vocabulary.events import CallArrived, DigitsReceived
from hotline.workorders.catalogue import Catalogue, load_catalogue

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config"
API = ApiSettings(argon2_time_cost=1, argon2_memory_kib=64)


@pytest.fixture(scope="session")
def centre() -> Centre:
    return load_centre(CONFIG)


@pytest.fixture(scope="session")
def catalogue(centre: Centre) -> Catalogue:
    return load_catalogue(CONFIG / "workorders.yaml", calendars=centre.config.holidays,
                          modes=centre.config.modes)


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[URL]:
    async with empty_database(request.param, tmp_path / "var" / "hotline.db") as url:
        yield url


@pytest.fixture
async def pg_url() -> AsyncIterator[URL]:
    url = await create_pg_database()
    try:
        yield url
    finally:
        await drop_pg_database(url)


def options(url: URL, tmp_path: Path, **extra: Any) -> ServeOptions:
    values: dict[str, Any] = {
        "database_url": url, "host": "127.0.0.1", "port": 0, "api": API,
        "spill_path": tmp_path / "facts.spill.jsonl", "create_demo_supervisor": False,
    }
    values.update(extra)
    return ServeOptions(**values)


class ServiceRun:
    """A `CentreService` run as a task until `stop()`."""

    def __init__(self, service: CentreService) -> None:
        self.service = service
        self.stop_event = asyncio.Event()
        self.task: asyncio.Task[int] | None = None

    async def start(self, timeout: float = 30.0) -> Running:
        self.task = asyncio.create_task(self.service.run(self.stop_event))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.service.state != "active":
            if self.task.done():
                self.task.result()
                raise AssertionError(f"the service ended in state {self.service.state}")
            if loop.time() > deadline:
                pytest.fail("the service did not become active")
            await asyncio.sleep(0.01)
        assert self.service.running is not None
        return self.service.running

    async def stop(self) -> int:
        assert self.task is not None
        self.stop_event.set()
        return await self.task


@pytest.fixture
async def start_service(
    centre: Centre, catalogue: Catalogue,
) -> AsyncIterator[Callable[[ServeOptions], ServiceRun]]:
    runs: list[ServiceRun] = []

    def make(opts: ServeOptions) -> ServiceRun:
        run = ServiceRun(CentreService(opts, centre, catalogue))
        runs.append(run)
        return run

    yield make
    for run in runs:
        if run.task is not None and not run.task.done():
            run.stop_event.set()
            with contextlib.suppress(Exception):
                await run.task


async def queue_callers(running: Running, call_ids: Sequence[str], *,
                        gap_s: float = 0.01) -> None:
    """Callers dial 12345 and press 0: each waits in the general queue (no agent is in)."""
    runtime = running.runtime
    for n, call_id in enumerate(call_ids):
        caller = f"1390000{n:04d}"  # each a first call (a repeat caller is ranked higher)
        await runtime.post(CallArrived(call_id, "12345", caller, runtime.clock.now()))
        await runtime.post(DigitsReceived(call_id, "0", runtime.clock.now()))
        await asyncio.sleep(gap_s)
    await runtime.drain()


def waiting(running: Running) -> list[tuple[str, str, float]]:
    """(queue, call, time it joined the queue) of every waiting call, by queue and place."""
    view = running.runtime.view().centre
    assert view is not None
    return [
        (queue.name, entry.id, view.at - entry.waited_s)
        for queue in view.queues
        for entry in queue.waiting
        if entry.position is not None
    ]
