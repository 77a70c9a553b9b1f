"""Who can work here: agent records and the softphone seats they may log in on."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from hotline.vocabulary.errors import RulesError
from hotline.vocabulary.queueing import MAX_SKILL_LEVEL, MIN_SKILL_LEVEL

GUEST_SKILL_LEVEL = MAX_SKILL_LEVEL
"""A guest (department leader on duty) is the expert for the skill they were invited for."""


def _checked_skills(owner: str, skills: Mapping[str, int]) -> Mapping[str, int]:
    """A read-only copy of skill → level, every level within 1-5."""
    for skill, level in skills.items():
        if not MIN_SKILL_LEVEL <= level <= MAX_SKILL_LEVEL:
            raise RulesError(f"{owner}: skill {skill} level {level} is not 1-5")
    return MappingProxyType(dict(skills))


@dataclass(frozen=True, slots=True)
class Agent:
    id: str
    name: str
    team: str = ""
    skills: Mapping[str, int] = field(default_factory=dict)  # skill → level 1-5

    def __post_init__(self) -> None:
        if not self.id:
            raise RulesError("an agent needs an id")
        object.__setattr__(self, "skills", _checked_skills(f"agent {self.id}", self.skills))


@dataclass(frozen=True, slots=True)
class Guest:
    """A department leader on duty (带班) who may take a guest seat without an agent record.

    ``skills`` maps each dedicated skill to its configured level (1-5); a guest login that
    names a skill this record lacks gets `GUEST_SKILL_LEVEL` for it.
    """

    id: str
    name: str = ""
    skills: Mapping[str, int] = field(default_factory=dict)
    department: str = ""

    def __post_init__(self) -> None:
        if not self.id:
            raise RulesError("a guest needs an id")
        object.__setattr__(self, "skills", _checked_skills(f"guest {self.id}", self.skills))

    def level(self, skill: str) -> int:
        return self.skills.get(skill, GUEST_SKILL_LEVEL)


@dataclass(frozen=True, slots=True)
class SeatDef:
    """A softphone position; any agent may log in on any seat (hot-desking)."""

    id: str
    endpoint: str  # e.g. "PJSIP/8001"


def index_agents(agents: Iterable[Agent]) -> Mapping[str, Agent]:
    out: dict[str, Agent] = {}
    for agent in agents:
        if agent.id in out:
            raise RulesError(f"agent {agent.id} is listed twice")
        out[agent.id] = agent
    return MappingProxyType(out)


def index_guests(guests: Iterable[Guest]) -> Mapping[str, Guest]:
    out: dict[str, Guest] = {}
    for guest in guests:
        if guest.id in out:
            raise RulesError(f"guest {guest.id} is listed twice")
        out[guest.id] = guest
    return MappingProxyType(out)


def index_seats(seats: Iterable[SeatDef] | Mapping[str, str]) -> Mapping[str, SeatDef]:
    """Accepts seat records or the config's plain mapping seat id → endpoint."""
    items = (
        [SeatDef(k, v) for k, v in seats.items()] if isinstance(seats, Mapping) else list(seats)
    )
    out: dict[str, SeatDef] = {}
    for seat in items:
        if seat.id in out:
            raise RulesError(f"seat {seat.id} is listed twice")
        if not seat.endpoint:
            raise RulesError(f"seat {seat.id} has no endpoint")
        out[seat.id] = seat
    return MappingProxyType(out)
