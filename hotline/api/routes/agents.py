"""An agent's seat and current call: `/api/agents/{agent_id}/...`.

An agent acts on their own seat only; supervisors may look at any seat and log an agent
out (e.g. one who left without logging out). Changes are events posted to the runtime.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from hotline.api import centre
from hotline.api.deps import AgentOrSupervisor, AgentUser, ServicesDep, forbidden
from hotline.api.schemas import DeskOut, PauseRequest, SeatLogin
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
    """The seat's state and the screen pop of its current call."""
    if not centre.may_see_agent(user, agent_id):
        raise forbidden()
    try:
        return centre.desk(services, agent_id)
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
