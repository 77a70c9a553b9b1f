"""Sessions in the store: they survive a restart, expire, are revoked, and only token
digests are ever stored or logged. On SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from api.conftest import PASSWORD, TEST_SETTINGS, USERS, Harness
from hotline.api import Services, create_app
from hotline.api.security import Principal, StoreSessions, Tokens, token_digest
from hotline.store.models import ApiSession, Base, User, UserRole
from hotline.store.sessions import SessionTable


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@contextlib.asynccontextmanager
async def restarted(harness: Harness) -> AsyncIterator[httpx.AsyncClient]:
    """A second process's API on the same store: sessions loaded from the table, nothing
    shared in memory with the first."""
    sessions = await StoreSessions.open(harness.engine, harness.runtime.clock.now)
    services = Services.build(runtime=harness.runtime, engine=harness.engine,
                              centre=harness.services.centre,
                              catalogue=harness.services.catalogue, settings=TEST_SETTINGS,
                              sessions=sessions)
    transport = httpx.ASGITransport(app=create_app(services, TEST_SETTINGS),
                                    client=("203.0.113.8", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://hotline") as client:
        yield client


async def all_text(engine: AsyncEngine) -> str:
    """Every value of every row of every table, as one text."""
    parts = []
    async with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for row in await connection.execute(select(table)):
                parts.extend(str(value) for value in row)
    return "\n".join(parts)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_session_survives_a_restart_and_logout_ends_it_everywhere(
        harness: Harness) -> None:
    token = await harness.token("super")
    agent = await harness.token("agent1")
    async with restarted(harness) as second:
        me = await second.get("/api/auth/me", headers=bearer(token))
        assert me.status_code == 200 and me.json()["username"] == "super"
        assert (await second.get("/api/live", headers=bearer(token))).status_code == 200
        desk = await second.get("/api/agents/1001/desk", headers=bearer(agent))
        assert desk.status_code == 200  # the agent is still themself (agent id kept)
        assert (await second.post("/api/auth/logout", headers=bearer(token))).status_code == 204
        assert (await second.get("/api/auth/me", headers=bearer(token))).status_code == 401
    async with restarted(harness) as third:
        assert (await third.get("/api/auth/me", headers=bearer(token))).status_code == 401
        assert (await third.get("/api/auth/me", headers=bearer(agent))).status_code == 200


async def test_only_the_digest_is_stored_and_nothing_logs_the_token(
        harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    response = await harness.client.post("/api/auth/login",
                                         json={"username": "dept_zjj", "password": PASSWORD})
    token = response.json()["token"]
    assert (await harness.client.get("/api/auth/me", headers=bearer(token))).status_code == 200
    async with restarted(harness) as second:
        assert (await second.get("/api/auth/me", headers=bearer(token))).status_code == 200
    stored = await all_text(harness.engine)
    assert token not in stored and PASSWORD not in stored
    assert hashlib.sha256(token.encode()).hexdigest() in stored
    async with harness.engine.connect() as connection:
        digests = set((await connection.execute(select(ApiSession.digest))).scalars())
    assert digests == {token_digest(token)}
    await harness.client.post("/api/auth/logout", headers=bearer(token))
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert token not in logged and PASSWORD not in logged
    async with harness.engine.connect() as connection:
        assert (await connection.execute(select(ApiSession))).first() is None


async def test_sessions_expire_and_expired_rows_are_pruned(harness: Harness) -> None:
    clock = Clock(1_000_000.0)
    store = await StoreSessions.open(harness.engine, clock)
    tokens = Tokens(store, clock, ttl_s=60.0)
    async with harness.engine.connect() as connection:
        principal = Principal(
            await connection.scalar(select(User.id).where(User.username == "super")),
            "super", UserRole.SUPERVISOR)
    old, _ = await tokens.issue(principal)
    clock.now += 30
    young, expires_at = await tokens.issue(principal)
    assert expires_at == clock.now + 60
    clock.now += 45  # the first is 75 s old, the second 45 s
    assert tokens.resolve(old) is None
    assert tokens.resolve(young) == principal
    reopened = Tokens(await StoreSessions.open(harness.engine, clock), clock, ttl_s=60.0)
    assert reopened.resolve(old) is None and reopened.resolve(young) == principal
    async with harness.engine.connect() as connection:
        left = set((await connection.execute(select(ApiSession.digest))).scalars())
    assert token_digest(old) not in left  # pruned when the store was opened
    assert token_digest(young) in left


async def test_an_inactive_users_sessions_do_not_come_back(harness: Harness) -> None:
    token = await harness.token("agent2")
    async with harness.engine.begin() as connection:
        await connection.execute(update(User).where(User.username == "agent2")
                                 .values(active=False))
    async with restarted(harness) as second:
        assert (await second.get("/api/auth/me", headers=bearer(token))).status_code == 401


async def test_revoking_a_user_ends_all_their_sessions(harness: Harness) -> None:
    first = await harness.token("admin")
    login = await harness.client.post("/api/auth/login",
                                      json={"username": "admin", "password": PASSWORD})
    second = login.json()["token"]
    other = await harness.token("super")
    user = harness.services.tokens.resolve(first)
    assert user is not None
    assert await harness.services.tokens.revoke_user(user.user_id) == 2
    for token in (first, second):
        assert harness.services.tokens.resolve(token) is None
    async with restarted(harness) as restarted_client:
        assert (await restarted_client.get("/api/auth/me", headers=bearer(first))
                ).status_code == 401
        assert (await restarted_client.get("/api/auth/me", headers=bearer(other))
                ).status_code == 200


async def test_a_deleted_user_takes_their_sessions_along(harness: Harness) -> None:
    await harness.token("dept_fgj")
    async with harness.engine.begin() as connection:
        user_id = await connection.scalar(select(User.id).where(User.username == "dept_fgj"))
        await connection.execute(text("DELETE FROM users WHERE id = :id"), {"id": user_id})
        left = await connection.scalar(
            select(ApiSession.digest).where(ApiSession.user_id == user_id))
    assert left is None  # ON DELETE CASCADE


async def test_the_table_refuses_anything_but_a_digest(harness: Harness) -> None:
    table = SessionTable(harness.engine)
    for raw in ("a-raw-token-value", "A" * 64, token_digest("x")[:63]):
        with pytest.raises(ValueError, match="digest only") as caught:
            await table.add(raw, 1, issued_at=0.0, expires_at=1.0)
        assert raw not in str(caught.value)
    with pytest.raises(ValueError):
        await table.find("not a digest", 0.0)


async def test_logout_while_the_store_is_down_keeps_the_session(
        harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    token = await harness.token("super")

    async def refuse(self: SessionTable, digest: str) -> bool:
        raise OperationalError("DELETE", {}, OSError("connection refused"))

    monkeypatch.setattr(SessionTable, "remove", refuse)
    down = await harness.client.post("/api/auth/logout", headers=bearer(token))
    assert down.status_code == 503
    # Still valid here and in the store: a logout that did not happen is not half done.
    assert (await harness.client.get("/api/auth/me", headers=bearer(token))).status_code == 200
    monkeypatch.undo()
    async with restarted(harness) as second:
        assert (await second.get("/api/auth/me", headers=bearer(token))).status_code == 200
    assert (await harness.client.post("/api/auth/logout", headers=bearer(token))
            ).status_code == 204


async def test_every_user_logs_in_with_a_stored_session(harness: Harness) -> None:
    for name in USERS:
        await harness.token(name)
    async with harness.engine.connect() as connection:
        rows = (await connection.execute(select(ApiSession.user_id))).scalars().all()
    assert len(rows) == len(USERS) == len(set(rows))
