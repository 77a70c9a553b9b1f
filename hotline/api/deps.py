"""Route dependencies: the services, and the caller checked against the roles a route allows.

    @router.get("/live")
    async def live(user: Supervisor, services: ServicesDep) -> LiveView: ...
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from starlette.types import Scope

from hotline.api.security import Principal
from hotline.api.services import Services
from hotline.api.settings import ApiSettings
from hotline.store.models import UserRole


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_settings(request: Request) -> ApiSettings:
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


def authenticated(request: Request) -> Principal:
    principal = getattr(request.state, "principal", None)
    if not isinstance(principal, Principal):  # the gate was bypassed: refuse anyway
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "authentication required",
            headers={"WWW-Authenticate": 'Bearer realm="hotline"'},
        )
    return principal


def require(*roles: UserRole) -> Callable[[Request], Principal]:
    allowed = frozenset(roles)

    def check(request: Request) -> Principal:
        principal = authenticated(request)
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
