"""Actions on a live, connected call: the agent desk's and the supervisors' buttons.

    live = LiveActions(kernel.stage, acd, record=..., take=...)   # wired by CentreKernel
    kernel.handle(AgentHolds("c1", "1001", at=t))  ->  [HoldCitizen("c1", "1001")]

Each action is an event the API posts (`hotline.vocabulary.events`: `AgentHolds`,
`AgentResumes`, `AgentTransfers`, `ThreeWayStarted`, `AgentLeavesThreeWay`, `PartyLeft`,
`AgentHangsUp`, `SupervisorJoins`, `SupervisorLeaves`). The rules, checked before anything
changes (a refusal raises `KernelError`):

* the call is talking (`CallStage.TALKING`) and the agent is the one on it (the ACD's
  seat is on-call with this call);
* hold and resume alternate; a party id is new within its call; a supervisor joins a
  call once, in one of the modes listen / whisper / barge, and is not its agent;
* a transfer names exactly one of a queue or an agent (else `KernelError`; an unknown
  queue or agent is the ACD's `AcdError`). What the live state decides is not an error
  but a `TransferRefused` fact, the citizen staying with the agent: the agent no longer
  has the call (it ended, or was handed on, as the request came), a department is
  still on the line (three-way), or whatever the ACD refuses (`Acd.transfer_call`:
  the target queue is full or unstaffed, the named agent is not ready). An accepted
  transfer is the ACD's (`CallTransferred`, the citizen waits or rings again); the
  supervisors on the call leave with the first agent (`SupervisorLeft`, reason
  ``transferred``) and the hold, if any, is over (music follows anyway).

What this module keeps (who is held since when, the parties, the supervisors) is rebuilt
by replaying the log like the rest of the kernel; it is forgotten when the call ends.
Each accepted action puts a fact on record (`hotline.vocabulary.facts`: `CitizenHeld`,
`PartyCalled`, `SupervisorJoined` with the supervisor's identity, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from hotline.vocabulary.commands import (
    AddParty,
    Command,
    DropSupervisor,
    Hangup,
    HoldCitizen,
    JoinSupervisor,
    LeaveToParty,
    ResumeCitizen,
)
from hotline.vocabulary.errors import KernelError
from hotline.vocabulary.events import (
    AgentHangsUp,
    AgentHolds,
    AgentLeavesThreeWay,
    AgentResumes,
    AgentTransfers,
    CallEnded,
    PartyLeft,
    SupervisorJoins,
    SupervisorLeaves,
    ThreeWayStarted,
)
from hotline.vocabulary.facts import (
    AgentEndedCall,
    AgentLeftToParty,
    CallTransferred,
    CitizenHeld,
    CitizenResumed,
    PartyCalled,
    PartyDropped,
    SupervisorJoined,
    SupervisorLeft,
    TransferRefused,
)
from hotline.vocabulary.queueing import TransferRefusal
from hotline.vocabulary.states import CallStage, SeatState

SUPERVISOR_MODES = frozenset({"listen", "whisper", "barge"})
AGENT_HUNG_UP = "agent-hung-up"


class _Acd(Protocol):
    def seat(self, agent_id: str) -> Any: ...

    def handle(self, event: Any) -> Any: ...

    def check_transfer(
        self, from_agent_id: str, *, queue: str | None = None, to_agent: str | None = None
    ) -> None: ...

    def transfer_call(
        self, call_id: str, from_agent_id: str, *, queue: str | None = None,
        to_agent: str | None = None, at: float,
    ) -> Any: ...


@dataclass(slots=True)
class _Live:
    """What the actions changed on one talking call."""

    agent_id: str
    held_since: float | None = None
    parties: set[str] = field(default_factory=set)
    supervisors: dict[str, str] = field(default_factory=dict)  # id -> mode


class LiveActions:
    """The live-call action handlers of one `CentreKernel` (see module docstring)."""

    def __init__(
        self,
        stage: Callable[[str], CallStage | None],
        acd: _Acd,
        *,
        record: Callable[[Any], None],
        take: Callable[[Any], list[Command]],
    ) -> None:
        self._stage = stage
        self._acd = acd
        self._record = record
        self._take = take
        self._calls: dict[str, _Live] = {}

    def handlers(self) -> dict[type[Any], Callable[[Any], list[Command]]]:
        return {
            AgentHolds: self._on_hold,
            AgentResumes: self._on_resume,
            AgentTransfers: self._on_transfer,
            ThreeWayStarted: self._on_three_way,
            AgentLeavesThreeWay: self._on_leave,
            PartyLeft: self._on_party_left,
            AgentHangsUp: self._on_agent_hangs_up,
            SupervisorJoins: self._on_supervisor_joins,
            SupervisorLeaves: self._on_supervisor_leaves,
        }

    # --- checks -------------------------------------------------------------------------

    def _talking(self, call_id: str) -> _Live:
        """The call's live record; `KernelError` unless it is talking with an agent."""
        if self._stage(call_id) is not CallStage.TALKING:
            self._calls.pop(call_id, None)
            raise KernelError(f"call {call_id!r} is not talking with an agent")
        agent_id = self._agent_on(call_id)
        live = self._calls.get(call_id)
        if live is None or live.agent_id != agent_id:
            live = self._calls[call_id] = _Live(agent_id)
        return live

    def _agent_on(self, call_id: str) -> str:
        for seat in self._seats():
            if seat.call_id == call_id and seat.state is SeatState.ON_CALL:
                return str(seat.agent_id)
        raise KernelError(f"no agent is on call {call_id!r}")

    def _seats(self) -> tuple[Any, ...]:
        seats = getattr(self._acd, "seats", None)
        return tuple(seats()) if callable(seats) else ()

    def _agents_call(self, call_id: str, agent_id: str) -> _Live:
        live = self._talking(call_id)
        if live.agent_id != agent_id:
            raise KernelError(f"agent {agent_id!r} is not talking on call {call_id!r}")
        return live

    # --- the agent ------------------------------------------------------------------------

    def _on_hold(self, event: AgentHolds) -> list[Command]:
        live = self._agents_call(event.call_id, event.agent_id)
        if live.held_since is not None:
            raise KernelError(f"call {event.call_id!r} is already on hold")
        live.held_since = event.at
        self._record(CitizenHeld(event.call_id, event.agent_id, event.at))
        return [HoldCitizen(event.call_id, event.agent_id)]

    def _on_resume(self, event: AgentResumes) -> list[Command]:
        live = self._agents_call(event.call_id, event.agent_id)
        if live.held_since is None:
            raise KernelError(f"call {event.call_id!r} is not on hold")
        held_s = event.at - live.held_since
        live.held_since = None
        self._record(CitizenResumed(event.call_id, event.agent_id, held_s, event.at))
        return [ResumeCitizen(event.call_id, event.agent_id)]

    def _on_transfer(self, event: AgentTransfers) -> list[Command]:
        if bool(event.queue) == bool(event.to_agent):
            raise KernelError("a transfer names exactly one of a queue or an agent")
        queue, to_agent = event.queue or None, event.to_agent or None
        self._acd.check_transfer(event.agent_id, queue=queue, to_agent=to_agent)
        call_id = event.call_id
        live = self._calls.get(call_id)
        if (
            live is not None and live.parties and live.agent_id == event.agent_id
            and self._stage(call_id) is CallStage.TALKING
        ):
            self._record(TransferRefused(call_id, event.agent_id,
                                         TransferRefusal.THREE_WAY_ACTIVE.value, event.at,
                                         event.queue, event.to_agent))
            return []
        output = self._acd.transfer_call(call_id, event.agent_id, queue=queue,
                                         to_agent=to_agent, at=event.at)
        commands: list[Command] = self._take(output)
        if not any(type(fact) is CallTransferred for fact in output.facts):
            return commands  # refused by the ACD: its fact says why, nothing changed
        live = self._calls.pop(call_id, None)
        if live is not None and live.agent_id == event.agent_id:
            for supervisor in sorted(live.supervisors):
                self._record(SupervisorLeft(call_id, supervisor, "transferred", event.at))
                commands.append(DropSupervisor(call_id, supervisor))
        return commands

    def _on_three_way(self, event: ThreeWayStarted) -> list[Command]:
        live = self._agents_call(event.call_id, event.agent_id)
        if not event.number.strip():
            raise KernelError("a three-way call needs the department's number")
        if event.party_id in live.parties:
            raise KernelError(f"party {event.party_id!r} is already on call {event.call_id!r}")
        live.parties.add(event.party_id)
        self._record(PartyCalled(event.call_id, event.agent_id, event.party_id, event.number,
                                 event.at))
        return [AddParty(event.call_id, event.party_id, event.number)]

    def _on_party_left(self, event: PartyLeft) -> list[Command]:
        live = self._calls.get(event.call_id)
        if live is None or event.party_id not in live.parties:
            raise KernelError(f"party {event.party_id!r} is not on call {event.call_id!r}")
        live.parties.discard(event.party_id)
        self._record(PartyDropped(event.call_id, event.party_id, event.cause, event.at))
        return []

    def _on_leave(self, event: AgentLeavesThreeWay) -> list[Command]:
        live = self._agents_call(event.call_id, event.agent_id)
        if not live.parties:
            raise KernelError(f"call {event.call_id!r} has no party to leave the citizen with")
        parties = tuple(sorted(live.parties))
        commands = self._end_talk(event.call_id, event.at)
        self._record(AgentLeftToParty(event.call_id, event.agent_id, parties, event.at))
        return [*commands, LeaveToParty(event.call_id, event.agent_id)]

    def _on_agent_hangs_up(self, event: AgentHangsUp) -> list[Command]:
        self._agents_call(event.call_id, event.agent_id)
        commands = self._end_talk(event.call_id, event.at)
        self._record(AgentEndedCall(event.call_id, event.agent_id, event.at))
        return [*commands, Hangup(event.call_id, AGENT_HUNG_UP)]

    def call_finished(self, call_id: str, at: float) -> None:
        """The call is over however it ended (the citizen hung up, most often): whoever
        still supervised it leaves on record; the driver clears their lines itself."""
        live = self._calls.pop(call_id, None)
        if live is not None:
            for supervisor in sorted(live.supervisors):
                self._record(SupervisorLeft(call_id, supervisor, "call-ended", at))

    def _end_talk(self, call_id: str, at: float) -> list[Command]:
        """The conversation is over for the centre: the ACD ends it (wrap-up follows)."""
        live = self._calls.pop(call_id, None)
        out: list[Command] = []
        if live is not None:
            for supervisor in sorted(live.supervisors):
                self._record(SupervisorLeft(call_id, supervisor, "call-ended", at))
                out.append(DropSupervisor(call_id, supervisor))
        return [*self._take(self._acd.handle(CallEnded(call_id, at))), *out]

    # --- supervisors ----------------------------------------------------------------------

    def _on_supervisor_joins(self, event: SupervisorJoins) -> list[Command]:
        live = self._talking(event.call_id)
        if event.mode not in SUPERVISOR_MODES:
            raise KernelError(
                f"unknown supervision mode {event.mode!r} (listen, whisper or barge)")
        if not event.supervisor_id or event.supervisor_id == live.agent_id:
            raise KernelError("the supervisor must be someone other than the call's agent")
        if event.supervisor_id in live.supervisors:
            raise KernelError(
                f"supervisor {event.supervisor_id!r} is already on call {event.call_id!r}")
        if not event.endpoint:
            raise KernelError("the supervisor's softphone endpoint is required")
        live.supervisors[event.supervisor_id] = event.mode
        seat = self._acd.seat(live.agent_id)
        agent_endpoint = str(getattr(seat, "endpoint", "") or "")
        self._record(SupervisorJoined(event.call_id, event.supervisor_id, event.mode,
                                      live.agent_id, event.at))
        return [JoinSupervisor(event.call_id, event.supervisor_id, event.endpoint, event.mode,
                               agent_endpoint)]

    def _on_supervisor_leaves(self, event: SupervisorLeaves) -> list[Command]:
        live = self._calls.get(event.call_id)
        if live is None or event.supervisor_id not in live.supervisors:
            raise KernelError(
                f"supervisor {event.supervisor_id!r} is not on call {event.call_id!r}")
        del live.supervisors[event.supervisor_id]
        self._record(SupervisorLeft(event.call_id, event.supervisor_id, "left", event.at))
        return [DropSupervisor(event.call_id, event.supervisor_id)]
