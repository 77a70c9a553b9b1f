"""`hotline serve` keeps its users logged in across a restart and a standby's takeover:
the token issued by one process is honoured by the next (real `CentreService`s on real
sockets, in this process)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import httpx
from service.conftest import ServiceRun, options, start_service  # noqa: F401 (fixture)
from sqlalchemy.engine import URL

from api.conftest import PASSWORD, on_databases, prepare
from hotline.config.loader import Centre
from hotline.service.server import ServeOptions
from hotline.workorders.catalogue import Catalogue


async def login(client: httpx.AsyncClient, port: int) -> str:
    response = await client.post(f"http://127.0.0.1:{port}/api/auth/login",
                                 json={"username": "super", "password": PASSWORD})
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


async def me(client: httpx.AsyncClient, port: int, token: str) -> int:
    response = await client.get(f"http://127.0.0.1:{port}/api/auth/me",
                                headers={"Authorization": f"Bearer {token}"})
    return response.status_code


async def test_a_restart_keeps_everyone_logged_in(
    db_url: URL, tmp_path: Path, centre: Centre, catalogue: Catalogue,
    start_service: Callable[[ServeOptions], ServiceRun],  # noqa: F811 (the fixture)
) -> None:
    await prepare(db_url, centre, catalogue)
    first = start_service(options(db_url, tmp_path))
    running = await first.start()
    async with httpx.AsyncClient(timeout=10) as client:
        token = await login(client, running.port)
        ended = await login(client, running.port)
        assert (await client.post(f"http://127.0.0.1:{running.port}/api/auth/logout",
                                  headers={"Authorization": f"Bearer {ended}"})
                ).status_code == 204
        assert await first.stop() == 0

        second = start_service(options(db_url, tmp_path))
        running = await second.start()
        assert await me(client, running.port, token) == 200
        assert await me(client, running.port, ended) == 401  # a logout stays done
        assert await second.stop() == 0


@on_databases("postgresql")  # standby needs PostgreSQL's advisory lock
async def test_the_standby_honours_the_active_ones_tokens(
    db_url: URL, tmp_path: Path, centre: Centre, catalogue: Catalogue,
    start_service: Callable[[ServeOptions], ServiceRun],  # noqa: F811 (the fixture)
) -> None:
    await prepare(db_url, centre, catalogue)
    active = start_service(options(db_url, tmp_path, spill_path=tmp_path / "a.spill"))
    running = await active.start()
    standby = start_service(options(db_url, tmp_path, spill_path=tmp_path / "b.spill",
                                    standby=True))
    standby.task = asyncio.create_task(standby.service.run(standby.stop_event))
    while standby.service.state != "standby":
        assert not standby.task.done()
        await asyncio.sleep(0.01)
    async with httpx.AsyncClient(timeout=10) as client:
        token = await login(client, running.port)
        assert await active.stop() == 0  # the lock is released: the standby takes over
        while standby.service.state != "active":
            assert not standby.task.done(), standby.task
            await asyncio.sleep(0.01)
        assert standby.service.running is not None
        assert await me(client, standby.service.running.port, token) == 200
    assert await standby.stop() == 0
