"""Queueing words shared by the configuration, the ACD, seats and the projections.

Each is defined once here: the YAML schema, the kernel's rules and the staffing
calculator all use these same classes.
"""

from __future__ import annotations

from enum import StrEnum

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
