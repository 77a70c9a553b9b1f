"""Route dependencies: the services, and the caller checked against the roles a route allows.

    @router.get("/live")
    async def live(user: Supervisor, services: ServicesDep) -> LiveView: ...

Every dependency is `async def` although none awaits: FastAPI runs a plain `def`
dependency in a worker thread, a thread hand-off per dependency per request for what is
a dictionary lookup.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from starlette.types import Scope

from hotline.api.security import Principal
from hotline.api.services import Services
from hotline.api.settings import ApiSettings
from hotline.store.models import UserRole


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


SettingsDep = Annotated[ApiSettings, Depends(get_settings)]


def bearer_token(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            text: str = value.decode("latin-1")
            scheme, _, token = text.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


def principal_of(request: Request) -> Principal:
    """The caller the authentication gate let in (401 if it was bypassed)."""
    principal = getattr(request.state, "principal", None)
    if not isinstance(principal, Principal):  # the gate was bypassed: refuse anyway
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "authentication required",
            headers={"WWW-Authenticate": 'Bearer realm="hotline"'},
        )
    return principal


async def authenticated(request: Request) -> Principal:
    return principal_of(request)


def require(*roles: UserRole) -> Callable[[Request], Awaitable[Principal]]:
    allowed = frozenset(roles)

    async def check(request: Request) -> Principal:
        principal = principal_of(request)
        if principal.role not in allowed:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "not allowed for this role")
        return principal

    check.__name__ = "require_" + "_".join(sorted(r.value for r in allowed))
    return check


R = UserRole
AnyUser = Annotated[Principal, Depends(authenticated)]
AgentUser = Annotated[Principal, Depends(require(R.AGENT))]
Supervisor = Annotated[Principal, Depends(require(R.SUPERVISOR, R.ADMIN))]
AgentOrSupervisor = Annotated[Principal, Depends(require(R.AGENT, R.SUPERVISOR, R.ADMIN))]
CentreStaff = AgentOrSupervisor
OrderUser = Annotated[
    Principal, Depends(require(R.AGENT, R.SUPERVISOR, R.ADMIN, R.DEPARTMENT))
]
Admin = Annotated[Principal, Depends(require(R.ADMIN))]


def forbidden(message: str = "not yours") -> HTTPException:
    return HTTPException(status.HTTP_403_FORBIDDEN, message)


def not_found(message: str = "not found") -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, message)


def conflict(message: str) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, message)
