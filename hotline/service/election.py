"""One active process per centre: a PostgreSQL advisory lock on a dedicated connection.

    lock = AdvisoryLock(url, lock_key(centre_name))
    await lock.acquire()          # a standby waits here, polling, until the active one dies
    lost = await lock.watch()     # returns (with the reason) when the lock is no longer held
    await lock.release()

The lock is a session lock: PostgreSQL frees it when the holder's connection ends, so
a killed process (its socket closed by the operating system) frees it at once, and a
standby polling `pg_try_advisory_lock` takes over within one poll period. `watch` pings
the connection every `keepalive_s`; if a ping fails or takes longer than `timeout_s`,
the server may have freed the lock. The holder then keeps the centre running (a database
restart must not drop calls: the fact writer buffers meanwhile) and `regain`s the lock
as soon as the database answers; if another process has taken it, the holder stands
down (`hotline serve` exits; its supervisor starts it again as a standby). A standby
that lost the database too waits `grace_s` after it returns before trying the lock,
so the process that was active gets it back first. The connection is asyncpg's own
(not the pool's), opened with TCP keepalives so the server notices a dead peer.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg
from sqlalchemy.engine import URL

from hotline.store.engine import show_url

log = logging.getLogger("hotline.service.election")

_LOCK_NAMESPACE = "hotline.centre:"


def lock_key(centre_name: str) -> int:
    """A stable signed 64-bit key for the centre (advisory lock keys are bigint)."""
    digest = hashlib.sha256((_LOCK_NAMESPACE + centre_name).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class StandbyRefused(ValueError):
    """Standby needs PostgreSQL (SQLite has no server to elect through)."""


@dataclass(frozen=True, slots=True)
class LockLost:
    reason: str


_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError,
)


def _dsn(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class AdvisoryLock:
    def __init__(
        self, url: URL, key: int, *, poll_s: float = 0.5, keepalive_s: float = 1.0,
        timeout_s: float = 3.0, grace_s: float = 5.0,
    ) -> None:
        if url.get_backend_name() != "postgresql":
            raise StandbyRefused(
                "standby needs PostgreSQL: two processes elect the active one through a "
                "PostgreSQL advisory lock; SQLite is a single-process store "
                "(give --db postgresql+asyncpg://... or HOTLINE_DATABASE_URL)"
            )
        self._url = url
        self.key = key
        self._poll_s = poll_s
        self._keepalive_s = keepalive_s
        self._timeout_s = timeout_s
        self._grace_s = grace_s
        self._connection: asyncpg.Connection | None = None
        self.held = False

    async def _connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(
            _dsn(self._url), timeout=self._timeout_s,
            server_settings={"application_name": "hotline-election",
                             "tcp_keepalives_idle": "5", "tcp_keepalives_interval": "2",
                             "tcp_keepalives_count": "3"},
        )

    async def try_acquire(self) -> bool:
        """One attempt; True when this process now holds the lock."""
        if self.held:
            return True
        if self._connection is None or self._connection.is_closed():
            self._connection = await self._connect()
        got = await asyncio.wait_for(
            self._connection.fetchval("SELECT pg_try_advisory_lock($1)", self.key),
            self._timeout_s,
        )
        self.held = bool(got)
        return self.held

    async def acquire(self, *, on_standby: Callable[[], None] | None = None) -> None:
        """Wait (polling) until this process holds the lock. A lost connection while
        waiting is retried: the standby keeps waiting through a database restart, and
        after one it gives the active process `grace_s` to take its lock back first.
        `on_standby` is called once, when the lock is first found held by another."""
        said = False
        lost_contact = False
        while True:
            try:
                if self._connection is not None and self._connection.is_closed():
                    # Closed between two polls (the server restarted, or dropped us): as
                    # much a lost contact as an error in the middle of a poll.
                    log.warning("standby's database connection closed; reconnecting")
                    lost_contact = True
                if self._connection is None or self._connection.is_closed():
                    self._connection = await self._connect()
                    if lost_contact:
                        lost_contact = False
                        await asyncio.sleep(self._grace_s)
                if await self.try_acquire():
                    log.info("holding the centre's lock on %s", show_url(self._url))
                    return
                if not said:
                    log.info("standing by: another process is active (lock %d)", self.key)
                    said = True
                    if on_standby is not None:
                        on_standby()
            except _CONNECTION_ERRORS as exc:
                if not lost_contact:
                    log.warning("standby cannot reach the database: %s", exc)
                lost_contact = True
                await self._drop()
            await asyncio.sleep(self._poll_s)

    async def regain(self, retry_s: float = 0.25) -> bool:
        """After `watch` reported the lock lost: wait for the database, then try to take
        the lock back. True: held again (nobody took over meanwhile); False: another
        process holds it now."""
        while True:
            try:
                await self._drop()
                self._connection = await self._connect()
                got = await self.try_acquire()
                if got:
                    log.warning("the centre's lock is held again after the outage")
                return got
            except _CONNECTION_ERRORS:
                await asyncio.sleep(retry_s)

    async def watch(self) -> LockLost:
        """Return when the lock can no longer be trusted to be held."""
        while True:
            await asyncio.sleep(self._keepalive_s)
            connection = self._connection
            if connection is None or connection.is_closed():
                self.held = False
                return LockLost("the lock's connection closed")
            try:
                await asyncio.wait_for(connection.fetchval("SELECT 1"), self._timeout_s)
            except _CONNECTION_ERRORS as exc:
                self.held = False
                await self._drop()
                return LockLost(f"the lock's connection failed: {exc or type(exc).__name__}")

    async def release(self) -> None:
        connection = self._connection
        if connection is not None and self.held and not connection.is_closed():
            with contextlib.suppress(*_CONNECTION_ERRORS):
                await asyncio.wait_for(
                    connection.fetchval("SELECT pg_advisory_unlock($1)", self.key),
                    self._timeout_s)
        self.held = False
        await self._drop()

    async def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            with contextlib.suppress(*_CONNECTION_ERRORS):
                await asyncio.wait_for(connection.close(), self._timeout_s)
            if not connection.is_closed():
                connection.terminate()
