"""The app factory: every route under `/api`, the web pages under `/`.

    app = create_app(services, ApiSettings.from_environ())
    uvicorn.run(app, host=settings.bind_host, port=settings.port)   # 127.0.0.1 by default

Routes (roles; everything but health and login needs a bearer token, else 401; a role
not listed gets 403):

| method and path | roles |
|---|---|
| GET /api/health, POST /api/auth/login | public |
| POST /api/auth/logout, GET /api/auth/me, GET /api/catalogue | any user |
| GET /api/agents/{id}/desk (seat, screen pop, the caller's past calls and orders) | the
  agent themself, supervisor, admin |
| POST /api/agents/{id}/login, ready, pause, wrap-up-done | the agent themself |
| POST /api/agents/{id}/logout | the agent themself, supervisor, admin |
| GET /api/live, /api/kpis, /api/staffing, /api/mode/history; POST /api/mode | supervisor, admin |
| GET /api/calls, /api/calls/export.csv, /api/reports/daily | supervisor, admin |
| GET /api/calls/{call_id} | supervisor, admin, the agent who answered it |
| POST /api/workorders | agent (own calls), supervisor, admin |
| GET /api/workorders, GET and POST .../{n}, .../{n}/actions | agent (own), department
  (its own), supervisor, admin |
| WS /api/ws/wallboard | supervisor, admin (token as first message, like every socket) |
| WS /api/ws/desk | agent (their own seat and the screen pop of the call offered to them) |
| WS /api/ws/department | department (its own orders: a snapshot, then each change) |

The OpenAPI document is at `/openapi.json`; the interactive docs pages are off (they
load scripts from a CDN and inline, which the Content-Security-Policy forbids).
Static pages: `settings.static_dir`, default `hotline/api/static/`, mounted at `/`
with `index.html` for `/`; they must use external scripts only (no inline script).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from hotline.api import live
from hotline.api.deps import bearer_token
from hotline.api.middleware import RequireAuthentication, SecurityHeaders
from hotline.api.routes import agents, auth, calls, orders, supervision, ws
from hotline.api.security import Principal
from hotline.api.services import Services
from hotline.api.settings import ApiSettings

STATIC_DIR = Path(__file__).resolve().parent / "static"


def create_app(services: Services, settings: ApiSettings) -> FastAPI:
    app = FastAPI(
        title="Hotline",
        summary="12345 hotline: live centre, agents' desks, calls, work orders, reports",
        version="1",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.services = services
    app.state.settings = settings
    # One runtime subscription and one picture per change for every socket.
    app.state.hub = live.LiveHub(services, settings.wallboard_period_s)

    api = APIRouter(prefix="/api")
    for module in (auth, agents, supervision, calls, orders, ws):
        api.include_router(module.router)
    api.include_router(orders.catalogue_router)
    app.include_router(api)

    def resolve(scope: Scope) -> Principal | None:
        token = bearer_token(scope)
        return services.tokens.resolve(token) if token is not None else None

    app.add_middleware(RequireAuthentication, resolve=resolve, public=auth.PUBLIC)
    app.add_middleware(SecurityHeaders)

    static = settings.static_dir or STATIC_DIR
    if static.is_dir():
        app.mount("/", StaticFiles(directory=static, html=True, check_dir=False), name="pages")
    return app
