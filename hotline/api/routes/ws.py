"""Websockets: `/api/ws/wallboard` (supervisors), `/api/ws/desk` (agents) and
`/api/ws/department` (department users, their own orders only); the pushing is
`hotline.api.live.LiveHub`'s.

Browsers cannot set headers on a websocket and a token in the URL would end up in
access logs, so the client authenticates with its first message, within
`ws_auth_timeout_s`: `{"token": "<bearer token>"}`. Refusals close the socket with
4401 (not authenticated) or 4403 (wrong role); 4400 for a malformed first message.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from hotline.api import live
from hotline.api.security import Principal
from hotline.api.services import Services
from hotline.api.settings import ApiSettings
from hotline.store.models import UserRole

router = APIRouter()

UNAUTHENTICATED = 4401
FORBIDDEN = 4403
BAD_MESSAGE = 4400


async def _authenticate(
    websocket: WebSocket, roles: frozenset[UserRole]
) -> tuple[Principal, str] | None:
    services: Services = websocket.app.state.services
    settings: ApiSettings = websocket.app.state.settings
    await websocket.accept()
    try:
        raw = await asyncio.wait_for(websocket.receive_text(), settings.ws_auth_timeout_s)
        token = json.loads(raw).get("token")
    except (TimeoutError, json.JSONDecodeError, AttributeError, KeyError, TypeError):
        await websocket.close(UNAUTHENTICATED, "send {\"token\": ...} first")
        return None
    except WebSocketDisconnect:
        return None
    principal = services.tokens.resolve(token) if isinstance(token, str) else None
    if principal is None:
        await websocket.close(UNAUTHENTICATED, "authentication required")
        return None
    if principal.role not in roles:
        await websocket.close(FORBIDDEN, "not allowed for this role")
        return None
    return principal, token


async def _serve(websocket: WebSocket, stream: Any) -> None:
    """Run `stream` until it ends or the client goes away; then close cleanly."""

    async def drain_client() -> None:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                await websocket.receive_text()  # the client has nothing more to say

    sender = asyncio.create_task(stream)
    receiver = asyncio.create_task(drain_client())
    done, pending = await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
            await task
    if sender in done and not sender.cancelled():
        error = sender.exception()
        code = UNAUTHENTICATED if isinstance(error, live.SessionEnded) else 1000
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close(code)
        if error is not None and not isinstance(error, live.SessionEnded | WebSocketDisconnect):
            raise error


def _hub(websocket: WebSocket) -> live.LiveHub:
    hub: live.LiveHub = websocket.app.state.hub
    return hub


def _still_valid(websocket: WebSocket, token: str) -> live.StillValid:
    services: Services = websocket.app.state.services
    return lambda: services.tokens.resolve(token) is not None


@router.websocket("/ws/wallboard")
async def wallboard(websocket: WebSocket) -> None:
    found = await _authenticate(websocket, frozenset({UserRole.SUPERVISOR, UserRole.ADMIN}))
    if found is None:
        return
    await _serve(websocket, _hub(websocket).wallboard(
        websocket.send_text, _still_valid(websocket, found[1])))


@router.websocket("/ws/desk")
async def desk(websocket: WebSocket) -> None:
    found = await _authenticate(websocket, frozenset({UserRole.AGENT}))
    if found is None:
        return
    principal, token = found
    if principal.agent_id is None:
        await websocket.close(FORBIDDEN, "this user has no agent id")
        return
    await _serve(websocket, _hub(websocket).desk(
        principal.agent_id, websocket.send_text, _still_valid(websocket, token)))


@router.websocket("/ws/department")
async def department(websocket: WebSocket) -> None:
    """The department's own orders: a snapshot, then `changed` messages (orders that
    arrived or changed, numbers that left the department)."""
    found = await _authenticate(websocket, frozenset({UserRole.DEPARTMENT}))
    if found is None:
        return
    principal, token = found
    if principal.department is None:
        await websocket.close(FORBIDDEN, "this user has no department")
        return
    await _serve(websocket, _hub(websocket).department(
        principal, websocket.send_text, _still_valid(websocket, token)))
