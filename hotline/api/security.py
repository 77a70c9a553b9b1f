"""Who is asking: passwords, bearer sessions and login throttling.

- Passwords are hashed with Argon2id (`Passwords`). Hashing and verifying cost tens of
  milliseconds of CPU by design, so the API runs them in a worker thread
  (`asyncio.to_thread`), never on the event loop. A login for an unknown username
  verifies against a dummy hash, so it takes as long as a wrong password.
- Tokens are opaque: 256 random bits, URL-safe. The server keeps only the token's
  SHA-256 digest with the session (user, role, agent id, department code, expiry);
  a leaked session table gives no usable token, and logout deletes the session at once
  (a signed token could not be revoked before it expires). Tokens travel in the
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

from hotline.store.models import UserRole

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
    """Where sessions live, by token digest (memory today; a table for several workers)."""

    def put(self, digest: str, session: Session) -> None: ...

    def get(self, digest: str) -> Session | None: ...

    def delete(self, digest: str) -> None: ...

    def delete_user(self, user_id: int) -> int: ...


class MemorySessions:
    """Sessions of this process (a restart logs everyone out)."""

    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}

    def put(self, digest: str, session: Session) -> None:
        self._sessions[digest] = session

    def get(self, digest: str) -> Session | None:
        return self._sessions.get(digest)

    def delete(self, digest: str) -> None:
        self._sessions.pop(digest, None)

    def delete_user(self, user_id: int) -> int:
        gone = [d for d, s in self._sessions.items() if s.principal.user_id == user_id]
        for digest in gone:
            del self._sessions[digest]
        return len(gone)

    def prune(self, now: float) -> None:
        for digest in [d for d, s in self._sessions.items() if s.expires_at <= now]:
            del self._sessions[digest]


class Tokens:
    """Issue, resolve and revoke bearer tokens."""

    def __init__(self, store: SessionStore, clock: Clock, ttl_s: float) -> None:
        self._store = store
        self._clock = clock
        self._ttl_s = ttl_s

    def issue(self, principal: Principal) -> tuple[str, float]:
        token = secrets.token_urlsafe(32)
        expires_at = self._clock() + self._ttl_s
        self._store.put(token_digest(token), Session(principal, expires_at))
        return token, expires_at

    def resolve(self, token: str) -> Principal | None:
        if not token or len(token) > 256:
            return None
        digest = token_digest(token)
        session = self._store.get(digest)
        if session is None:
            return None
        if session.expires_at <= self._clock():
            self._store.delete(digest)
            return None
        return session.principal

    def revoke(self, token: str) -> None:
        self._store.delete(token_digest(token))


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

