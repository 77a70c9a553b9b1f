"""API sessions in the store (``api_sessions``): token digests, expiry, revocation.

    table = SessionTable(engine)
    await table.add(digest, user_id, issued_at=now, expires_at=now + ttl)
    found = await table.find(digest, now)       # None: unknown, expired or user inactive
    await table.remove(digest)                  # logout: the row is gone
    live = await table.active(now)              # every usable session (at start-up)

Only the SHA-256 digest of a token is ever given to this module (it refuses anything that
is not 64 hexadecimal digits, so a raw token cannot slip in by mistake). A session's
user, role, agent and department are read from ``users`` each time a session is loaded,
so a user made inactive loses their sessions at the next load, and a deleted user's rows
go with them (ON DELETE CASCADE).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Select, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from hotline.store.models import ApiSession, Department, User, UserRole

_DIGEST = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class StoredSession:
    """A usable session as the store knows it, with its user's current identity."""

    digest: str
    user_id: int
    username: str
    role: UserRole
    agent_id: str | None
    department: str | None  # department code
    issued_at: float
    expires_at: float


def check_digest(digest: str) -> str:
    """`digest` when it is a hex SHA-256; ValueError otherwise (never echoes the value)."""
    if not _DIGEST.fullmatch(digest):
        raise ValueError("a session is stored by its token's SHA-256 hex digest only")
    return digest


def _usable(now: float) -> Select[tuple[str, int, str, UserRole, str | None, str, float, float]]:
    # Department.code is None for a user without a department (outer join).
    return (
        select(ApiSession.digest, User.id, User.username, User.role, User.agent_id,
               Department.code, ApiSession.issued_at, ApiSession.expires_at)
        .join(User, User.id == ApiSession.user_id)
        .outerjoin(Department, Department.id == User.department_id)
        .where(ApiSession.expires_at > now, User.active.is_(True))
    )


class SessionTable:
    """The ``api_sessions`` table on `engine`; every method is one short transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def add(self, digest: str, user_id: int, *, issued_at: float,
                  expires_at: float) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(insert(ApiSession).values(
                digest=check_digest(digest), user_id=user_id, issued_at=issued_at,
                expires_at=expires_at,
            ))

    async def find(self, digest: str, now: float) -> StoredSession | None:
        """The session of `digest` if it is unexpired and its user active."""
        async with self.engine.connect() as connection:
            row = (await connection.execute(
                _usable(now).where(ApiSession.digest == check_digest(digest))
            )).first()
        return StoredSession(*row) if row is not None else None

    async def active(self, now: float) -> list[StoredSession]:
        """Every usable session (unexpired, user active), oldest first."""
        async with self.engine.connect() as connection:
            rows = (await connection.execute(_usable(now).order_by(ApiSession.issued_at))).all()
        return [StoredSession(*row) for row in rows]

    async def remove(self, digest: str) -> bool:
        """Revoke: delete the row; False when there was none."""
        async with self.engine.begin() as connection:
            result = await connection.execute(
                delete(ApiSession).where(ApiSession.digest == check_digest(digest))
            )
        return bool(result.rowcount)

    async def remove_user(self, user_id: int) -> int:
        """Revoke every session of a user; how many there were."""
        async with self.engine.begin() as connection:
            result = await connection.execute(
                delete(ApiSession).where(ApiSession.user_id == user_id)
            )
        return int(result.rowcount)

    async def prune(self, now: float) -> int:
        """Delete expired rows; how many."""
        async with self.engine.begin() as connection:
            result = await connection.execute(
                delete(ApiSession).where(ApiSession.expires_at <= now)
            )
        return int(result.rowcount)
