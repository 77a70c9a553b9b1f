"""An agent's seat and current call: `/api/agents/{agent_id}/...`.

An agent acts on their own seat only; supervisors may look at any seat and log an agent
out (e.g. one who left without logging out). Changes are events posted to the runtime.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from hotline.api import centre, live_calls
from hotline.api.deps import AgentOrSupervisor, AgentUser, ServicesDep, forbidden
from hotline.api.schemas import (
    CallControlOut,
    DeskOut,
    PauseRequest,
    SeatLogin,
    ThreeWayRequest,
    TransferRequest,
)
from hotline.api.security import Principal
from hotline.api.services import Services

router = APIRouter(prefix="/agents/{agent_id}", tags=["agents"])


def _own(user: Principal, agent_id: str) -> None:
    if user.agent_id != agent_id:
        raise forbidden("an agent acts on their own seat only")


async def _do(services: Services, agent_id: str, command: centre.SeatCommand) -> DeskOut:
    try:
        return await centre.seat_action(services, agent_id, command)
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except centre.Refused as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except centre.Unavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None


@router.get("/desk")
async def desk(agent_id: str, user: AgentOrSupervisor, services: ServicesDep) -> DeskOut:
    """The seat's state and the screen pop of its current call, with the caller's past
    calls and work orders (newest first, bounded; none for a withheld number)."""
    if not centre.may_see_agent(user, agent_id):
        raise forbidden()
    try:
        return await centre.desk(services, agent_id)
    except centre.Unavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None


@router.post("/login")
async def login(agent_id: str, body: SeatLogin, user: AgentUser,
                services: ServicesDep) -> DeskOut:
    _own(user, agent_id)
    return await _do(services, agent_id, centre.SeatCommand("login", seat_id=body.seat_id))


@router.post("/ready")
async def ready(agent_id: str, user: AgentUser, services: ServicesDep) -> DeskOut:
    _own(user, agent_id)
    return await _do(services, agent_id, centre.SeatCommand("ready"))


@router.post("/pause")
async def pause(agent_id: str, body: PauseRequest, user: AgentUser,
                services: ServicesDep) -> DeskOut:
    _own(user, agent_id)
    return await _do(services, agent_id, centre.SeatCommand("pause", reason=body.reason))


@router.post("/wrap-up-done")
async def wrap_up_done(agent_id: str, user: AgentUser, services: ServicesDep) -> DeskOut:
    _own(user, agent_id)
    return await _do(services, agent_id, centre.SeatCommand("wrap-up-done"))


@router.post("/logout")
async def logout(agent_id: str, user: AgentOrSupervisor, services: ServicesDep) -> DeskOut:
    if not centre.may_see_agent(user, agent_id):
        raise forbidden("an agent logs out their own seat only")
    return await _do(services, agent_id, centre.SeatCommand("logout"))


# --- call controls: the agent's own current call ------------------------------------------


async def _control(services: Services, agent_id: str,
                   control: live_calls.CallControl) -> CallControlOut:
    try:
        return CallControlOut(call_id=await live_calls.control(services, agent_id, control))
    except centre.Refused as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except centre.Unavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None


@router.post("/call/hold")
async def hold(agent_id: str, user: AgentUser, services: ServicesDep) -> CallControlOut:
    """Put the citizen on hold (music) while the agent looks something up."""
    _own(user, agent_id)
    return await _control(services, agent_id, live_calls.CallControl("hold"))


@router.post("/call/resume")
async def resume(agent_id: str, user: AgentUser, services: ServicesDep) -> CallControlOut:
    _own(user, agent_id)
    return await _control(services, agent_id, live_calls.CallControl("resume"))


@router.post("/call/hangup")
async def hang_up(agent_id: str, user: AgentUser, services: ServicesDep) -> CallControlOut:
    _own(user, agent_id)
    return await _control(services, agent_id, live_calls.CallControl("hangup"))


@router.post("/call/three-way")
async def three_way(agent_id: str, body: ThreeWayRequest, user: AgentUser,
                    services: ServicesDep) -> CallControlOut:
    """Bring a department into the call (三方通话); the citizen stays on the line."""
    _own(user, agent_id)
    return await _control(services, agent_id,
                          live_calls.CallControl("three-way", number=body.number))


@router.post("/call/leave-three-way")
async def leave_three_way(agent_id: str, user: AgentUser,
                          services: ServicesDep) -> CallControlOut:
    """The agent leaves the citizen and the department talking."""
    _own(user, agent_id)
    return await _control(services, agent_id, live_calls.CallControl("leave-three-way"))


@router.post("/call/transfer")
async def transfer(agent_id: str, body: TransferRequest, user: AgentUser,
                   services: ServicesDep) -> CallControlOut:
    _own(user, agent_id)
    return await _control(services, agent_id, live_calls.CallControl(
        "transfer", queue=body.queue, to_agent=body.to_agent))
