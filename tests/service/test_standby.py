"""Hot standby on PostgreSQL: two real `hotline serve` processes, one active.

The store holds callers waiting in the general queue (left by an earlier run). Process A
starts active and restores them; process B starts with --standby and waits on the
advisory lock. A is killed (SIGKILL: no goodbye); B must be active within 10 s with the
same callers waiting in the same order, and serve them through its API.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import asyncpg
import httpx
import pytest
from api.conftest import PASSWORD, prepare
from sqlalchemy.engine import URL

from hotline.config.loader import Centre
from hotline.service.server import ServeOptions
from hotline.workorders.catalogue import Catalogue

from .conftest import CONFIG, ServiceRun, options, queue_callers, waiting

CALLERS = ["w1", "w2", "w3", "w4"]
ADDRESS = re.compile(r"serving (http://127\.0\.0\.1:\d+)/")


class Serve:
    """`python -m hotline.cli.serve ...` with its output read line by line."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []
        self._reader = asyncio.create_task(self._read())
        self._changed = asyncio.Event()

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            self.lines.append(raw.decode("utf-8", "replace").rstrip())
            self._changed.set()

    async def wait_for(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str]:
        async def look() -> re.Match[str]:
            seen = 0
            while True:
                for line in self.lines[seen:]:
                    found = pattern.search(line)
                    if found:
                        return found
                seen = len(self.lines)
                if self.process.returncode is not None and self._reader.done():
                    raise AssertionError(f"process ended: {self.lines}")
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), 0.2)

        return await asyncio.wait_for(look(), timeout)

    async def end(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


@pytest.fixture
async def spawn(tmp_path: Path) -> AsyncIterator[Callable[..., asyncio.Future[Serve]]]:
    started: list[Serve] = []
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env["PYTHONUNBUFFERED"] = "1"

    async def start(url: URL, *extra: str) -> Serve:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hotline.cli.serve", "--config", str(CONFIG),
            "--db", url.render_as_string(hide_password=False), "--port", "0",
            "--no-simulate", "--log-level", "warning", *extra,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
            cwd=tmp_path, env=env,
        )
        serve = Serve(process)
        started.append(serve)
        return serve

    yield start  # type: ignore[misc]
    for serve in started:
        await serve.end()


async def _live_waiting(client: httpx.AsyncClient, base: str) -> list[str]:
    login = await client.post(f"{base}/api/auth/login",
                              json={"username": "super", "password": PASSWORD})
    login.raise_for_status()
    token = login.json()["token"]
    live = await client.get(f"{base}/api/live", headers={"Authorization": f"Bearer {token}"})
    live.raise_for_status()
    return [
        entry["id"]
        for queue in live.json()["queues"]
        for entry in queue["waiting"]
        if entry["position"] is not None
    ]


async def _seed(url: URL, tmp_path: Path, centre: Centre, catalogue: Catalogue,
                start_service: Callable[[ServeOptions], ServiceRun]) -> list[str]:
    """An earlier run that left callers waiting, and a supervisor to log in with."""
    await prepare(url, centre, catalogue)
    run = start_service(options(url, tmp_path, spill_path=tmp_path / "seed.spill"))
    running = await run.start()
    await queue_callers(running, CALLERS)
    order = [call for _, call, _ in waiting(running)]
    assert await run.stop() == 0
    return order


async def test_the_standby_takes_over_within_10_s_with_the_same_callers_waiting(
    pg_url: URL, tmp_path: Path, centre: Centre, catalogue: Catalogue,
    start_service: Callable[[ServeOptions], ServiceRun],
    spawn: Callable[..., asyncio.Future[Serve]],
) -> None:
    order = await _seed(pg_url, tmp_path, centre, catalogue, start_service)
    assert order == CALLERS

    active = await spawn(pg_url)
    base_a = (await active.wait_for(ADDRESS, 60)).group(1)
    standby = await spawn(pg_url, "--standby")
    await standby.wait_for(re.compile("standing by"), 60)
    # A third process without --standby is refused: one active kernel per centre.
    third = await spawn(pg_url)
    assert await asyncio.wait_for(third.process.wait(), 60) == 2

    async with httpx.AsyncClient(timeout=10) as client:
        assert await _live_waiting(client, base_a) == order
        await asyncio.sleep(0.5)  # the restored state is in the store already; let A idle
        loop = asyncio.get_running_loop()
        killed_at = loop.time()
        active.process.send_signal(signal.SIGKILL)
        base_b = (await standby.wait_for(ADDRESS, 10)).group(1)
        took = loop.time() - killed_at
        assert took < 10.0, f"the standby took {took:.1f} s"
        assert await _live_waiting(client, base_b) == order
    assert await active.process.wait() == -signal.SIGKILL
    assert standby.process.returncode is None


async def test_a_database_restart_does_not_hand_the_centre_to_the_standby(
    pg_url: URL, tmp_path: Path, centre: Centre, catalogue: Catalogue,
    start_service: Callable[[ServeOptions], ServiceRun],
    spawn: Callable[..., asyncio.Future[Serve]],
) -> None:
    """The election connections of both are cut (as a server restart does): the active
    one takes its lock back first and stays active; the standby keeps standing by."""
    await _seed(pg_url, tmp_path, centre, catalogue, start_service)
    active = await spawn(pg_url)
    base_a = (await active.wait_for(ADDRESS, 60)).group(1)
    standby = await spawn(pg_url, "--standby")
    await standby.wait_for(re.compile("standing by"), 60)

    admin = await asyncpg.connect(
        pg_url.set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        cut = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = 'hotline-election' AND datname = current_database()")
        assert cut == 2
    finally:
        await admin.close()
    await asyncio.sleep(8.0)  # past the standby's grace period
    assert active.process.returncode is None
    assert standby.process.returncode is None
    assert not any(ADDRESS.search(line) for line in standby.lines)
    async with httpx.AsyncClient(timeout=10) as client:
        assert await _live_waiting(client, base_a) == CALLERS
