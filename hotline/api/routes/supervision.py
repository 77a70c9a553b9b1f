"""Supervisors: the live centre, KPIs, staffing advice, the mode switch and its history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status

from hotline.api import centre, live_calls
from hotline.api.deps import ServicesDep, Supervisor
from hotline.api.schemas import (
    KpiReport,
    LiveView,
    ModeSwitchOut,
    ModeSwitchRequest,
    StaffingOut,
    SuperviseRequest,
)

router = APIRouter(tags=["supervision"])


def _unavailable(exc: Exception) -> HTTPException:
    return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc))


# The live picture is shared and already encoded (see `hotline.api.views`): these routes
# hand its JSON out as it is; `response_model` keeps the OpenAPI document exact.


@router.get("/live", response_model=LiveView)
async def live(_user: Supervisor, services: ServicesDep) -> Response:
    """Queues (waiting calls, longest wait, staffed seats), seats (with their softphones'
    registration) and live calls; at most one wallboard tick old."""
    try:
        return Response(centre.live_json(services), media_type="application/json")
    except centre.Unavailable as exc:
        raise _unavailable(exc) from None


@router.get("/kpis", response_model=KpiReport)
async def kpis(_user: Supervisor, services: ServicesDep) -> Response:
    """Live figures; each KPI states what is divided by what."""
    try:
        return Response(centre.kpis_json(services), media_type="application/json")
    except centre.Unavailable as exc:
        raise _unavailable(exc) from None


@router.get("/staffing")
async def staffing(
    _user: Supervisor,
    services: ServicesDep,
    answered_pct: Annotated[float, Query(gt=0, lt=100)] = 80.0,
    within_s: Annotated[float, Query(gt=0, le=3600)] = 15.0,
    patience_s: Annotated[float | None, Query(gt=0, le=3600)] = None,
) -> StaffingOut:
    """Agents needed now (Erlang C, or Erlang A with a mean patience) from live figures."""
    try:
        return centre.staffing_advice(services, answered_pct, within_s, patience_s)
    except centre.Unavailable as exc:
        raise _unavailable(exc) from None
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None


@router.post("/mode", status_code=201)
async def switch_mode(body: ModeSwitchRequest, user: Supervisor,
                      services: ServicesDep) -> ModeSwitchOut:
    """Switch the centre's mode: a reason and `confirm: true` are required."""
    if not body.confirm:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            "confirm the switch (confirm: true)")
    if not body.reason.strip():
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "a reason is required")
    until = body.until.timestamp() if body.until is not None else None
    try:
        switched = await centre.switch_mode(services, user, body.mode, body.reason.strip(),
                                            until)
    except LookupError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    except centre.Refused as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except centre.Unavailable as exc:
        raise _unavailable(exc) from None
    services.live.invalidate()  # the supervisor reads the new mode back at once
    return switched


@router.get("/mode/history")
async def mode_history(
    _user: Supervisor, services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[ModeSwitchOut]:
    """Who switched, when, why, from what to what (newest first)."""
    return await centre.mode_history(services, limit)


# --- monitoring a live call ---------------------------------------------------------------


@router.post("/calls/{call_id}/supervise", status_code=204)
async def supervise(call_id: str, body: SuperviseRequest, user: Supervisor,
                    services: ServicesDep) -> None:
    """Listen, whisper or barge on a call through the supervisor's softphone."""
    try:
        await live_calls.supervise(services, user, call_id, body.mode, body.endpoint)
    except centre.Refused as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except centre.Unavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None


@router.post("/calls/{call_id}/supervise/leave", status_code=204)
async def stop_supervising(call_id: str, user: Supervisor, services: ServicesDep) -> None:
    try:
        await live_calls.stop_supervising(services, user, call_id)
    except centre.Refused as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except centre.Unavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None
