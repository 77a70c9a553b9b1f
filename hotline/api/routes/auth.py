"""`/api/health`, `/api/auth/login`, `/api/auth/logout`, `/api/auth/me`."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response, status
from sqlalchemy.exc import SQLAlchemyError

from hotline.api import accounts
from hotline.api.deps import AnyUser, ServicesDep, bearer_token
from hotline.api.schemas import Health, LoginRequest, LoginResponse, Me
from hotline.api.security import Principal

router = APIRouter(tags=["auth"])

PUBLIC = (("GET", "/api/health"), ("POST", "/api/auth/login"))

# Sessions are stored before a token is handed out and deleted before a logout answers:
# when the store is down, both say so (503) rather than fail half-way.
_STORE_DOWN = (SQLAlchemyError, OSError)


def _store_down() -> HTTPException:
    return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the store is not answering")


def me(principal: Principal) -> Me:
    return Me(username=principal.username, role=principal.role,
              agent_id=principal.agent_id, department=principal.department)


@router.get("/health")
async def health(services: ServicesDep) -> Health:
    return Health(status="ok", runtime_running=services.runtime.running)


@router.post(
    "/auth/login",
    responses={401: {"description": "wrong username or password"},
               429: {"description": "too many failures; see Retry-After"},
               503: {"description": "the store is not answering"}},
)
async def login(body: LoginRequest, request: Request, services: ServicesDep) -> LoginResponse:
    address = request.client.host if request.client else "unknown"
    try:
        done = await accounts.login(services, body.username, body.password, address)
    except accounts.LoginThrottled as exc:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS, "too many failed logins",
            headers={"Retry-After": str(max(1, round(exc.retry_after_s + 0.5)))},
        ) from None
    except accounts.LoginRefused:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password",
                            headers={"WWW-Authenticate": 'Bearer realm="hotline"'}) from None
    except _STORE_DOWN:
        raise _store_down() from None
    return LoginResponse(token=done.token, expires_at=done.expires_at, user=me(done.principal))


@router.post("/auth/logout", status_code=204,
             responses={503: {"description": "the store is not answering; the token is "
                                             "still valid, log out again"}})
async def logout(_user: AnyUser, request: Request, services: ServicesDep) -> Response:
    token = bearer_token(request.scope)
    if token is not None:
        try:
            await accounts.logout(services, token)
        except _STORE_DOWN:
            raise _store_down() from None
    return Response(status_code=204)


@router.get("/auth/me")
async def whoami(user: AnyUser) -> Me:
    return me(user)
