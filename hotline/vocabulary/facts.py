"""Domain facts the ACD emits for statistics, the store (CDR, timeline) and the wallboard.

Facts say what *happened*; commands (``hotline.vocabulary.commands``) say what a driver must
do. Facts are frozen, carry the kernel-clock time ``at`` and only plain values, so they
serialise and replay. They are stable: add fields only at the end and with defaults.

Outcome rule (what statistics count)
------------------------------------
* Every call offered to a queue produces exactly one ``CallQueued`` and later exactly one
  *outcome*: ``CallAnswered``, ``CallAbandoned`` or ``CallExited``.
* ``queue`` in ``CallQueued`` and in the outcome is always the queue where the call was
  **first offered**. An overflow (``CallOverflowed``) is not an outcome: the call keeps
  waiting in the target queue and is still counted once, in its first queue. The queue
  that actually served it is ``CallAnswered.answered_in`` (equal to ``queue`` when it
  never overflowed).
* A caller who gives up the wait for a callback (the queue's ``exit: callback`` at max
  wait / max length, or choosing a callback while waiting: the callback key on hold or
  a `CallbackChosen`) ends the *call* with ``CallExited(action="callback")`` (reason
  ``caller-choice`` for a choice); the callback then lives on as its own request:
  ``CallbackRequested`` → one ``CallbackDialled`` per attempt → exactly one of
  ``CallbackCompleted`` (citizen answered and was bridged) or ``CallbackGaveUp``.
  A callback requested in the IVR (never queued as a call) has no ``CallQueued``.
* ``exit: record`` gives ``CallExited(action="record")`` (the recording becomes a work
  order). A call the centre cannot queue at all (unknown queue) is refused before it is
  offered and produces no facts.
* A ring that nobody answers is ``RingNoAnswer`` (the call goes back to its original
  place); it is not an outcome either. Cause ``no-report``: the driver never reported
  on the ring and the ACD's ring guard gave it up.
* ``CallCompleted`` follows a ``CallAnswered`` (or a ``CallbackCompleted``) when the
  conversation ends, carrying the talk time.
"""

from __future__ import annotations

from dataclasses import dataclass

from hotline.vocabulary.states import SeatState


@dataclass(frozen=True, slots=True)
class CallQueued:
    """A call was offered to ``queue`` (first offer only; overflows do not repeat it)."""

    call_id: str
    queue: str
    line: str
    priority: int  # effective priority at the time of queueing (base + tag bonuses)
    tags: tuple[str, ...]
    at: float


@dataclass(frozen=True, slots=True)
class CallAnswered:
    """Outcome: an agent answered. ``waited_s`` runs from the first offer to the answer."""

    call_id: str
    queue: str  # queue of first offer
    line: str
    agent_id: str
    waited_s: float
    at: float
    answered_in: str = ""  # the queue that served it (differs from `queue` after overflow)


@dataclass(frozen=True, slots=True)
class CallAbandoned:
    """Outcome: the caller hung up while waiting (or while a seat was ringing)."""

    call_id: str
    queue: str
    line: str
    waited_s: float
    at: float


@dataclass(frozen=True, slots=True)
class CallOverflowed:
    """Not an outcome: the call moved on to another queue and keeps waiting there."""

    call_id: str
    from_queue: str
    to_queue: str
    at: float
    reason: str = ""  # "after-s" | "expected-wait"


@dataclass(frozen=True, slots=True)
class CallExited:
    """Outcome: the queue let the caller out (max wait / max length) to record or callback."""

    call_id: str
    queue: str
    line: str
    waited_s: float
    action: str  # "record" | "callback"
    at: float
    reason: str = ""  # "max-wait" | "max-length" | "caller-choice"


@dataclass(frozen=True, slots=True)
class RingNoAnswer:
    """Not an outcome: a seat did not answer; the call went back to its original place."""

    call_id: str
    queue: str
    agent_id: str
    at: float
    cause: str = "timeout"


@dataclass(frozen=True, slots=True)
class CallbackRequested:
    """A callback request exists and holds a place in ``queue``."""

    request_id: str
    call_id: str  # the call it came from
    queue: str
    line: str
    number: str
    at: float


@dataclass(frozen=True, slots=True)
class CallbackDialled:
    """One attempt to reach the citizen started (never two in flight for one request)."""

    request_id: str
    attempt: int  # 1-based
    agent_id: str
    at: float


@dataclass(frozen=True, slots=True)
class CallbackAttemptFailed:
    """One attempt did not reach the citizen (the request may retry later)."""

    request_id: str
    attempt: int
    cause: str
    at: float


@dataclass(frozen=True, slots=True)
class CallbackCompleted:
    """Outcome of a request: the citizen answered and was connected with ``agent_id``."""

    request_id: str
    agent_id: str
    attempts: int
    waited_s: float  # from the request to the connection
    at: float


@dataclass(frozen=True, slots=True)
class CallbackGaveUp:
    """Outcome of a request: all attempts failed (or the request was cancelled)."""

    request_id: str
    attempts: int
    reason: str
    at: float


@dataclass(frozen=True, slots=True)
class CallCompleted:
    """A conversation ended. ``call_id`` is the request id for callback conversations."""

    call_id: str
    queue: str
    line: str
    agent_id: str
    talk_s: float
    at: float


@dataclass(frozen=True, slots=True)
class SeatStateChanged:
    """Every seat state change, from the seat's single chokepoint."""

    agent_id: str
    old: SeatState
    new: SeatState
    reason: str
    at: float
    seat_id: str = ""


@dataclass(frozen=True, slots=True)
class ModeChanged:
    """Audit of a centre mode switch: who, when, from what to what, why."""

    old: str
    new: str
    by: str
    reason: str
    at: float
    until: float | None = None  # automatic return time, when one was set


AcdFact = (
    CallQueued
    | CallAnswered
    | CallAbandoned
    | CallOverflowed
    | CallExited
    | RingNoAnswer
    | CallbackRequested
    | CallbackDialled
    | CallbackAttemptFailed
    | CallbackCompleted
    | CallbackGaveUp
    | CallCompleted
    | SeatStateChanged
    | ModeChanged
)
"""Everything the ACD may emit as a fact."""

CALL_OUTCOMES = (CallAnswered, CallAbandoned, CallExited)
"""Exactly one of these ends every call offered to a queue."""
