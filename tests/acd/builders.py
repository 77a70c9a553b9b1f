"""Small builders for ACD tests: a centre with a few queues, agents and seats."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from hotline.agents.directory import Agent, SeatDef
from hotline.agents.rosters import Roster
from hotline.agents.seats import SeatView
from hotline.queue.acd import Acd, AcdOutput
from hotline.queue.rules import QueueRules
from hotline.testing.acd_harness import AcdHarness
from hotline.vocabulary.commands import Enqueue
from hotline.vocabulary.events import AgentLoggedIn, AgentReady


class Harness(AcdHarness):
    """The test kit's harness, plus the agent desk's transfer button."""

    def transfer(
        self, call_id: str, from_agent: str, *, queue: str | None = None,
        to_agent: str | None = None,
    ) -> AcdOutput:
        return self._take(self.acd.transfer_call(
            call_id, from_agent, queue=queue, to_agent=to_agent, at=self.now))


def agent(agent_id: str, team: str = "a", **skills: int) -> Agent:
    return Agent(agent_id, agent_id.upper(), team, skills)


def seats(n: int) -> list[SeatDef]:
    return [SeatDef(f"s{i}", f"PJSIP/{8000 + i}") for i in range(n)]


def centre(
    queues: Sequence[QueueRules],
    agents: Sequence[Agent],
    *,
    modes: Mapping[str, Sequence[QueueRules]] | None = None,
    rosters: Mapping[str, Roster] | None = None,
    n_seats: int | None = None,
) -> Harness:
    by_mode = {"normal": {q.name: q for q in queues}}
    for mode, rules in (modes or {}).items():
        by_mode[mode] = {q.name: q for q in rules}
    acd = Acd(by_mode, agents, seats(n_seats or max(len(agents), 1) + 2), rosters, tz="UTC")
    return Harness(acd)


def login_ready(h: AcdHarness, *agent_ids: str) -> None:
    for agent_id in agent_ids:
        taken = {view.seat_id for view in h.acd.seats()}
        free = next(s for s in (f"s{i}" for i in range(1000)) if s not in taken)
        h.feed(AgentLoggedIn(agent_id, free, h.now))
        h.feed(AgentReady(agent_id, h.now))


def call(
    h: AcdHarness, call_id: str, queue: str = "general", *, caller: str = "", **kw: object
) -> None:
    h.enqueue(Enqueue(call_id, queue, **kw), caller=caller)  # type: ignore[arg-type]


def seat_of(h: AcdHarness, agent_id: str) -> SeatView:
    """The agent's seat, which the test expects to be logged in."""
    view = h.acd.seat(agent_id)
    assert view is not None, f"{agent_id} is not logged in"
    return view
