"""Queueing words shared by the configuration, the ACD, seats and the projections.

Each is defined once here: the YAML schema, the kernel's rules and the staffing
calculator all use these same classes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from hotline.vocabulary.errors import RulesError

MIN_SKILL_LEVEL = 1
MAX_SKILL_LEVEL = 5


class Strategy(StrEnum):
    """How the ACD picks among the ready agents who may take a call."""

    LONGEST_IDLE = "longest_idle"
    FEWEST_CALLS = "fewest_calls"


class ExitAction(StrEnum):
    """What happens to a caller who leaves the queue at max wait or max length."""

    RECORD = "record"  # leave a message; it becomes a work order
    CALLBACK = "callback"  # keep the caller's place and call them back


class CallbackOrder(StrEnum):
    AGENT_FIRST = "agent_first"  # ring the agent, then dial the citizen
    CITIZEN_FIRST = "citizen_first"  # dial the citizen, then ring the agent


@dataclass(frozen=True, slots=True)
class ServiceTarget:
    """Service level: `answered_pct` percent of calls answered within `within_s` seconds.

    China's 12345 norm is 80/15. A 100 % target is refused: with random arrivals no
    finite number of agents meets it, so staffing advice could never answer.
    """

    # Pydantic reads this when the config validates the dataclass: unknown keys are
    # errors there as everywhere else in the YAML. A plain dict keeps this leaf free
    # of third-party imports.
    __pydantic_config__: ClassVar[dict[str, str]] = {"extra": "forbid"}

    answered_pct: float = 80.0
    within_s: float = 15.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.answered_pct) and 0.0 < self.answered_pct < 100.0):
            raise RulesError(
                f"answered_pct must be more than 0 and less than 100, got {self.answered_pct:g}"
            )
        if not (math.isfinite(self.within_s) and self.within_s > 0.0):
            raise RulesError(f"within_s must be more than 0 s, got {self.within_s:g}")

    @property
    def fraction(self) -> float:
        """`answered_pct` as a share of 1 (0.8 for 80 %)."""
        return self.answered_pct / 100.0

    @classmethod
    def parse(cls, text: str) -> ServiceTarget:
        """`"80/15"` (percent / seconds), the notation of the command line and reports."""
        percent, sep, seconds = text.partition("/")
        try:
            if not sep:
                raise ValueError
            pct, secs = float(percent), float(seconds)
        except ValueError:
            raise RulesError(
                f"service target must look like 80/15 (percent/seconds), got {text!r}"
            ) from None
        return cls(pct, secs)

    def __str__(self) -> str:
        return f"{self.answered_pct:g}/{self.within_s:g}"


class TransferRefusal(StrEnum):
    """Why an agent's transfer of a live call was refused (`TransferRefused.reason`).

    A refused transfer changes nothing: the citizen stays with the agent, who can tell
    them, try another target or take a message.
    """

    NOT_ON_CALL = "not-on-call"  # the agent is not (or no longer) talking on that call
    CALLBACK_CALL = "callback-call"  # a callback conversation is not a queued call
    THREE_WAY_ACTIVE = "three-way-active"  # a department is still on the line
    QUEUE_FULL = "queue-full"  # the target queue is at its `max_length`
    NOBODY_STAFFED = "nobody-staffed"  # nobody who could serve the target queue is in
    AGENT_LOGGED_OUT = "agent-logged-out"
    AGENT_PAUSED = "agent-paused"
    AGENT_BUSY = "agent-busy"  # ringing, on a call or in wrap-up
