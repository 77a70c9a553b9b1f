"""Logging in and out, and adding users (for `hotline users add` and admins).

`login` checks the throttle first (no password is looked at once a username or an
address is over the limit), then verifies the password in a worker thread; an unknown
or inactive user costs the same Argon2 verification as a wrong password, and both get
the same answer. Passwords and tokens are never logged.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from hotline.api.security import Passwords, Principal
from hotline.api.services import Services
from hotline.store.models import Agent, Department, User, UserRole

log = logging.getLogger("hotline.api.auth")


class LoginRefused(Exception):
    """Wrong username or password (deliberately not saying which)."""


class LoginThrottled(Exception):
    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"too many failed logins; retry in {retry_after_s:.0f} s")
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class LoggedIn:
    token: str
    expires_at: float
    principal: Principal


async def _principal_for(session: AsyncSession, username: str) -> tuple[Principal, str] | None:
    row = (
        await session.execute(
            select(User, Department.code)
            .outerjoin(Department, Department.id == User.department_id)
            .where(User.username == username)
        )
    ).first()
    if row is None:
        return None
    user, department = row
    if not user.active:
        return None
    principal = Principal(user.id, user.username, user.role, user.agent_id, department)
    return principal, user.password_hash


async def login(services: Services, username: str, password: str, address: str) -> LoggedIn:
    keys = (f"user:{username.casefold()}", f"addr:{address}")
    wait = services.throttle.retry_after(*keys)
    if wait is not None:
        log.warning("login throttled for a username or address")
        raise LoginThrottled(wait)
    found = None
    if "\x00" not in username:  # no user has one (PostgreSQL text cannot even hold it)
        async with AsyncSession(services.engine) as session:
            found = await _principal_for(session, username)
    ok = await asyncio.to_thread(
        services.passwords.verify, found[1] if found is not None else None, password
    )
    if not ok or found is None:
        services.throttle.failed(*keys)
        log.info("failed login from %s", address)
        raise LoginRefused("wrong username or password")
    services.throttle.succeeded(keys[0])
    principal = found[0]
    token, expires_at = await services.tokens.issue(principal)
    log.info("%s logged in from %s", principal.identity, address)
    return LoggedIn(token, expires_at, principal)


async def logout(services: Services, token: str) -> None:
    await services.tokens.revoke(token)


class UserError(ValueError):
    """A user that cannot be added (duplicate name, unknown agent or department)."""


async def add_user(
    engine: AsyncEngine,
    passwords: Passwords,
    username: str,
    password: str,
    role: UserRole,
    *,
    agent_id: str | None = None,
    department: str | None = None,
) -> int:
    """Create a user; returns its id. Agents need an agent id, department users a code."""
    if not username or len(username) > 64:
        raise UserError("a username has 1 to 64 characters")
    if not username.isprintable():
        raise UserError("a username has no control characters")
    if len(password) < 8:
        raise UserError("a password has at least 8 characters")
    if (role is UserRole.AGENT) != (agent_id is not None):
        raise UserError("an agent user, and only one, names its agent id (--agent)")
    if (role is UserRole.DEPARTMENT) != (department is not None):
        raise UserError("a department user, and only one, names its department (--department)")
    password_hash = await asyncio.to_thread(passwords.hash, password)
    async with AsyncSession(engine) as session, session.begin():
        department_id = None
        if department is not None:
            department_id = (
                await session.execute(select(Department.id).where(Department.code == department))
            ).scalar_one_or_none()
            if department_id is None:
                raise UserError(f"no department {department!r} in the store")
        if agent_id is not None and await session.get(Agent, agent_id) is None:
            raise UserError(f"no agent {agent_id!r} in the store")
        user = User(
            username=username, password_hash=password_hash, role=role, agent_id=agent_id,
            department_id=department_id, active=True,
        )
        session.add(user)
        try:
            await session.flush()
        except IntegrityError as exc:
            raise UserError(f"a user {username!r} already exists") from exc
        return user.id
