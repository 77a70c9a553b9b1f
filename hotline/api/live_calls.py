"""Actions on a live call: the agent's call controls and the supervisor's monitoring.

Each is one event posted to the runtime (the kernel checks that the agent is talking on
that call, or that the call is live) and confirmed from the fact log; the driver that
owns the call carries it out (music on hold, a department's leg in the bridge, a snoop
channel). The supervisor's identity goes into the event, so it is on record.
"""

from __future__ import annotations

from dataclasses import dataclass

from hotline.api.centre import Refused, post_confirmed
from hotline.api.security import Principal
from hotline.api.services import Services
from hotline.vocabulary.events import (
    AgentHangsUp,
    AgentHolds,
    AgentLeavesThreeWay,
    AgentResumes,
    AgentTransfers,
    LiveEvent,
    SupervisorJoins,
    SupervisorLeaves,
    ThreeWayStarted,
)
from hotline.vocabulary.facts import TransferRefused


@dataclass(frozen=True, slots=True)
class CallControl:
    kind: str  # hold, resume, hangup, three-way, leave-three-way, transfer
    number: str = ""  # three-way: the department's number
    queue: str = ""  # transfer: to this queue ...
    to_agent: str = ""  # ... or to this agent


def current_call(services: Services, agent_id: str) -> str:
    """The call the agent's seat is on, or `Refused`."""
    seat = services.runtime.seat(agent_id)  # one seat, not the whole centre
    if seat is None or seat.call_id is None:
        raise Refused(f"agent {agent_id} has no call")
    return seat.call_id


def control_event(services: Services, agent_id: str, control: CallControl) -> LiveEvent:
    call_id = current_call(services, agent_id)
    at = services.clock()
    match control.kind:
        case "hold":
            return AgentHolds(call_id, agent_id, at)
        case "resume":
            return AgentResumes(call_id, agent_id, at)
        case "hangup":
            return AgentHangsUp(call_id, agent_id, at)
        case "leave-three-way":
            return AgentLeavesThreeWay(call_id, agent_id, at)
        case "three-way":
            party = f"{call_id}.party{int(at * 1000)}"
            return ThreeWayStarted(call_id, agent_id, party, control.number, at)
        case "transfer":
            return AgentTransfers(call_id, agent_id, at, control.queue, control.to_agent)
    raise ValueError(f"unknown call control {control.kind!r}")


async def control(services: Services, agent_id: str, control: CallControl) -> str:
    """Carry out one call control for the agent's current call; its call id.

    A transfer the live state does not allow (the target queue full or unstaffed, the
    colleague not ready, a department still on the line) is an accepted event whose
    outcome is a `TransferRefused` fact: it is `Refused` here with that reason, so the
    desk tells the agent the citizen is still with them."""
    event = control_event(services, agent_id, control)
    records = await post_confirmed(services.runtime, event)
    if isinstance(event, AgentTransfers):
        for record in records:
            if isinstance(record, TransferRefused) and record.call_id == event.call_id \
                    and record.agent_id == agent_id and record.at == event.at:
                raise Refused(f"transfer refused: {record.reason}")
    return event.call_id


async def supervise(
    services: Services, user: Principal, call_id: str, mode: str, endpoint: str
) -> None:
    event = SupervisorJoins(call_id, user.identity, endpoint, mode, services.clock())
    await post_confirmed(services.runtime, event)


async def stop_supervising(services: Services, user: Principal, call_id: str) -> None:
    await post_confirmed(services.runtime, SupervisorLeaves(call_id, user.identity,
                                                            services.clock()))
