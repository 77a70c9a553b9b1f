"""The states a seat (an agent's login on a softphone) can be in.

A `StrEnum`, so facts and snapshots serialise as plain strings ("ready", "wrap-up").
"""

from __future__ import annotations

from enum import StrEnum


class SeatState(StrEnum):
    LOGGED_OUT = "logged-out"
    READY = "ready"
    RINGING = "ringing"  # reserved for exactly one call (or one callback request)
    ON_CALL = "on-call"
    WRAP_UP = "wrap-up"
    PAUSED = "paused"


class CallStage(StrEnum):
    """Where a citizen's call is in the centre (one owner: the centre's stage table)."""

    IVR = "ivr"  # the flow engine has it (prompts, menus, speech, an IVR message)
    WAITING = "waiting"  # in a queue, on hold
    RINGING = "ringing"  # a seat is rung for it
    TALKING = "talking"  # bridged with an agent
    RECORDING = "recording"  # the queue let the caller out to leave a message
    # Sent out of the centre by the flow (only a failure brings it back to the IVR), or,
    # for an instant, handed on by an agent (to a queue or another agent).
    TRANSFERRING = "transferring"
    ENDED = "ended"


class CallOutcome(StrEnum):
    """How a call ended: exactly one per call (`CallFinished`)."""

    ANSWERED = "answered"
    ABANDONED_IN_IVR = "abandoned-in-ivr"
    ABANDONED_IN_QUEUE = "abandoned-in-queue"  # short abandons are told apart by wait
    MESSAGE = "message"  # a message was left (it becomes a work order)
    CALLBACK = "callback"  # a callback request took the call's place
    TRANSFERRED = "transferred"  # sent out of the centre; a transfer inside it ends otherwise
    SELF_SERVICE = "self-service"  # the IVR answered and said goodbye
    REFUSED = "refused"  # unknown or disabled line, or a queue that would not take it
