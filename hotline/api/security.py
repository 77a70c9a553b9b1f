"""Who is asking: passwords, bearer sessions and login throttling.

- Passwords are hashed with Argon2id (`Passwords`). Hashing and verifying cost tens of
  milliseconds of CPU by design, so the API runs them in a worker thread
  (`asyncio.to_thread`), never on the event loop. A login for an unknown username
  verifies against a dummy hash, so it takes as long as a wrong password.
- Tokens are opaque: 256 random bits, URL-safe. The server keeps only the token's
  SHA-256 digest with the session (user, role, agent id, department code, expiry);
  a leaked session table gives no usable token, and logout deletes the session at once
  (a signed token could not be revoked before it expires). `StoreSessions` keeps them in
  the store (``api_sessions``), so they survive a restart and a standby's takeover;
  `MemorySessions` keeps them in the process only. Tokens travel in the
  `Authorization: Bearer` header (never in cookies, so no CSRF; never in URLs, so never
  in access logs); websockets send it as their first message.
- `LoginThrottle` counts failures per username and per client address in a sliding
  window; past the limit a login is refused with the time to wait, before any password
  is checked.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncEngine

from hotline.store.models import UserRole
from hotline.store.sessions import SessionTable

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated user, as every route sees them."""

    user_id: int
    username: str
    role: UserRole
    agent_id: str | None = None  # set for agents
    department: str | None = None  # department code, set for department users

    @property
    def identity(self) -> str:
        """How audits name this user (`ModeSwitched.by`, work-order history)."""
        return f"{self.role.value}:{self.username}"


class Passwords:
    """Argon2id hashing with a dummy hash for the unknown-user path."""

    def __init__(self, time_cost: int = 3, memory_kib: int = 64 * 1024) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
        self._dummy = self._hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """True when `password` matches; with no hash, burn the same time and say no."""
        try:
            self._hasher.verify(password_hash or self._dummy, password)
        except (VerificationError, InvalidHashError):
            return False
        return password_hash is not None


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Session:
    principal: Principal
    expires_at: float


class SessionStore(Protocol):
    """Where sessions live, by token digest.

    `get` is synchronous: every request and every websocket tick resolves its token, so
    a store answers from memory. Writes are awaited: a token is handed out only once its
    session is stored, and a logout answers only once the session is gone.
    """

    def get(self, digest: str) -> Session | None: ...

    def forget(self, digest: str) -> None:
        """Drop an expired session from memory (the store prunes its own rows)."""

    async def put(self, digest: str, session: Session) -> None: ...

    async def delete(self, digest: str) -> None: ...

    async def delete_user(self, user_id: int) -> int: ...


class MemorySessions:
    """Sessions of this process only (a restart logs everyone out): for tests and for
    an API run without a store."""

    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}

    def get(self, digest: str) -> Session | None:
        return self._sessions.get(digest)

    def forget(self, digest: str) -> None:
        self._sessions.pop(digest, None)

    async def put(self, digest: str, session: Session) -> None:
        self._sessions[digest] = session

    async def delete(self, digest: str) -> None:
        self._sessions.pop(digest, None)

    async def delete_user(self, user_id: int) -> int:
        gone = [d for d, s in self._sessions.items() if s.principal.user_id == user_id]
        for digest in gone:
            del self._sessions[digest]
        return len(gone)

    def prune(self, now: float) -> None:
        for digest in [d for d, s in self._sessions.items() if s.expires_at <= now]:
            del self._sessions[digest]


class StoreSessions:
    """Sessions in the store's ``api_sessions`` table, so a restart or a standby taking
    over keeps everyone logged in; only token digests are stored.

        sessions = await StoreSessions.open(engine, clock)   # when the process is active
        services = Services.build(..., sessions=sessions)

    The sessions are held in memory too (loaded by `open`, then written through), so a
    request is resolved without a query. One process serves a centre's API at a time
    (the active one: see `hotline.service.election`) and loads the table when it becomes
    active, so its memory and the table agree. Writes go to the table first: when the
    database refuses, the memory is left as it was and the error reaches the caller.
    """

    def __init__(self, table: SessionTable, clock: Clock) -> None:
        self._table = table
        self._clock = clock
        self._memory = MemorySessions()

    @classmethod
    async def open(cls, engine: AsyncEngine, clock: Clock) -> StoreSessions:
        """Prune expired rows and load every usable session."""
        sessions = cls(SessionTable(engine), clock)
        await sessions.reload()
        return sessions

    async def reload(self) -> int:
        """Forget what memory holds and load the table again; how many sessions."""
        now = self._clock()
        await self._table.prune(now)
        memory = MemorySessions()
        loaded = await self._table.active(now)
        for found in loaded:
            principal = Principal(found.user_id, found.username, found.role, found.agent_id,
                                  found.department)
            await memory.put(found.digest, Session(principal, found.expires_at))
        self._memory = memory
        return len(loaded)

    def get(self, digest: str) -> Session | None:
        return self._memory.get(digest)

    def forget(self, digest: str) -> None:
        self._memory.forget(digest)

    async def put(self, digest: str, session: Session) -> None:
        now = self._clock()
        await self._table.prune(now)  # logins are rare: they keep table and memory small
        await self._table.add(digest, session.principal.user_id, issued_at=now,
                              expires_at=session.expires_at)
        self._memory.prune(now)
        await self._memory.put(digest, session)

    async def delete(self, digest: str) -> None:
        await self._table.remove(digest)
        await self._memory.delete(digest)

    async def delete_user(self, user_id: int) -> int:
        removed = await self._table.remove_user(user_id)
        await self._memory.delete_user(user_id)
        return removed


class Tokens:
    """Issue, resolve and revoke bearer tokens. Only a token's digest is kept or stored;
    the token itself exists in the login answer and in the client."""

    def __init__(self, store: SessionStore, clock: Clock, ttl_s: float) -> None:
        self._store = store
        self._clock = clock
        self._ttl_s = ttl_s

    async def issue(self, principal: Principal) -> tuple[str, float]:
        token = secrets.token_urlsafe(32)
        expires_at = self._clock() + self._ttl_s
        await self._store.put(token_digest(token), Session(principal, expires_at))
        return token, expires_at

    def resolve(self, token: str) -> Principal | None:
        if not token or len(token) > 256:
            return None
        digest = token_digest(token)
        session = self._store.get(digest)
        if session is None:
            return None
        if session.expires_at <= self._clock():
            self._store.forget(digest)
            return None
        return session.principal

    async def revoke(self, token: str) -> None:
        await self._store.delete(token_digest(token))

    async def revoke_user(self, user_id: int) -> int:
        """End every session of a user (e.g. made inactive); how many there were."""
        return await self._store.delete_user(user_id)


class LoginThrottle:
    """Sliding-window failure counts per key ("user:NAME", "addr:IP")."""

    def __init__(self, clock: Clock, max_failures: int, window_s: float) -> None:
        self._clock = clock
        self._max = max_failures
        self._window = window_s
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self._window:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def retry_after(self, *keys: str) -> float | None:
        """Seconds to wait when any key is over the limit; None when a try is allowed."""
        now = self._clock()
        waits = []
        for key in keys:
            times = self._recent(key, now)
            if times is not None and len(times) >= self._max:
                waits.append(times[-self._max] + self._window - now)
        return max(waits) if waits else None

    def failed(self, *keys: str) -> None:
        now = self._clock()
        if len(self._failures) > 100_000:  # a spray of names: forget what has expired
            for old in list(self._failures):
                self._recent(old, now)
        for key in keys:
            self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)

