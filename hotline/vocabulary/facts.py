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
* An agent who hands the citizen on inside the centre (to a queue or a named agent)
  gives ``CallTransferred``, then that agent's ``CallCompleted`` (their conversation is
  over; their wrap-up follows). The call's queue outcome was decided at its first answer,
  so what happens after a transfer is told by the transfer facts, never by a second
  outcome: ``TransferAnswered`` (the next agent answered), ``TransferAbandoned`` (the
  citizen hung up while waiting again) or ``TransferExited`` (the target queue let them
  out); a ring the named agent does not take is ``RingNoAnswer`` as for any ring. The
  next conversation ends with its own ``CallCompleted``. A transfer the centre cannot
  make is ``TransferRefused`` and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from hotline.vocabulary.states import CallOutcome, CallStage, SeatState


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


# --- the call's own record (the centre's facts, beside the ACD's) ------------------------


@dataclass(frozen=True, slots=True)
class CallStarted:
    """The centre took a call: its line, caller ("" when withheld), flow and mode."""

    call_id: str
    line: str
    caller: str
    flow: str
    language: str
    mode: str
    at: float


@dataclass(frozen=True, slots=True)
class IvrNodeEntered:
    """The flow engine entered a node that waits or ends (``flow:node``)."""

    call_id: str
    node: str
    at: float


@dataclass(frozen=True, slots=True)
class SpeechInterpreted:
    """What the centre understood from the caller's words (intent None: not understood)."""

    call_id: str
    text: str
    intent: str | None
    confidence: float
    at: float


@dataclass(frozen=True, slots=True)
class CallStageChanged:
    """Every move of a call between stages, from the centre's one chokepoint."""

    call_id: str
    old: CallStage
    new: CallStage
    trigger: str
    at: float


@dataclass(frozen=True, slots=True)
class CallFinished:
    """Exactly one per call: how it ended. ``detail`` says more (transfer target, reason)."""

    call_id: str
    outcome: CallOutcome
    at: float
    detail: str = ""


@dataclass(frozen=True, slots=True)
class StaleEvent:
    """An event that came too late to matter (a race with the PBX); ignored, counted."""

    kind: str  # the event's type name
    subject: str  # the call, request or agent it named
    why: str
    at: float


CallFact = (
    CallStarted | IvrNodeEntered | SpeechInterpreted | CallStageChanged | CallFinished
    | StaleEvent
)
"""The centre's own facts about calls."""




# --- Callbacks that keep their promise; missed-call callbacks; races ------------------


@dataclass(frozen=True, slots=True)
class MissedCallCallback:
    """A caller abandoned after a long wait: the request ``request_id`` calls them back.

    Follows the request's own ``CallbackRequested`` (漏接电话回拨); the request keeps the
    abandoned call's place and ends like any request (completed, gave up or cancelled).
    """

    request_id: str
    call_id: str  # the abandoned call
    queue: str
    number: str
    waited_s: float
    at: float


@dataclass(frozen=True, slots=True)
class CallbackCancelled:
    """Outcome of a request: no longer owed (the citizen called again first, ...)."""

    request_id: str
    reason: str  # "called-again"
    at: float
    call_id: str = ""  # the new call that made it needless


@dataclass(frozen=True, slots=True)
class CallbackPromised:
    """The caller was told to expect the callback by ``callback_by`` (kernel-clock time)."""

    request_id: str
    queue: str
    callback_by: float
    at: float


@dataclass(frozen=True, slots=True)
class CallbackDeclined:
    """A callback could not be promised (the window is full): a message was offered."""

    call_id: str
    queue: str
    reason: str  # "window-full" | "nobody-staffed"
    at: float


@dataclass(frozen=True, slots=True)
class CallbackOverdue:
    """An owed callback is past the time promised; it stays owed (never silently dropped)."""

    request_id: str
    queue: str
    promised_by: float
    at: float


@dataclass(frozen=True, slots=True)
class EventIgnored:
    """A stale event absorbed without any change (a late report, a second hang-up, ...)."""

    event: str  # the event's type name
    subject: str  # call, request or agent id
    reason: str
    at: float


# --- Transfers inside the centre (`Acd.transfer_call`) ------------------------------


@dataclass(frozen=True, slots=True)
class CallTransferred:
    """Not an outcome: ``from_agent`` handed the citizen on to ``queue`` or ``to_agent``.

    The first agent's conversation ends with it (its ``CallCompleted`` follows).
    """

    call_id: str
    from_agent: str
    at: float
    queue: str = ""  # exactly one of queue / to_agent
    to_agent: str = ""


@dataclass(frozen=True, slots=True)
class TransferRefused:
    """A transfer the centre did not make: nothing changed, the citizen is where they were
    (with ``agent_id``, unless that agent no longer had the call: ``not-on-call``)."""

    call_id: str
    agent_id: str
    reason: str  # a `hotline.vocabulary.queueing.TransferRefusal` value
    at: float
    queue: str = ""
    to_agent: str = ""


@dataclass(frozen=True, slots=True)
class TransferAnswered:
    """Not an outcome: the transferred citizen reached ``agent_id``.

    ``waited_s`` runs from the transfer; ``queue`` is the queue it waited in.
    """

    call_id: str
    queue: str
    agent_id: str
    waited_s: float
    at: float


@dataclass(frozen=True, slots=True)
class TransferAbandoned:
    """Not an outcome: the transferred citizen hung up while waiting (or ringing) again."""

    call_id: str
    queue: str
    waited_s: float  # since the transfer
    at: float


@dataclass(frozen=True, slots=True)
class TransferExited:
    """Not an outcome: the queue let the transferred citizen out (to record or callback)."""

    call_id: str
    queue: str
    waited_s: float  # since the transfer
    action: str  # "record" | "callback"
    at: float
    reason: str = ""  # "max-wait" | "caller-choice"


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
    | MissedCallCallback
    | CallbackCancelled
    | CallbackPromised
    | CallbackDeclined
    | CallbackOverdue
    | EventIgnored
    | CallTransferred
    | TransferRefused
    | TransferAnswered
    | TransferAbandoned
    | TransferExited
)
"""Everything the ACD may emit as a fact."""

CALL_OUTCOMES = (CallAnswered, CallAbandoned, CallExited)
"""Exactly one of these ends every call offered to a queue."""


# --- Live-call actions (`hotline.centre.live_actions`) ----------------------------------


@dataclass(frozen=True, slots=True)
class CitizenHeld:
    call_id: str
    agent_id: str
    at: float


@dataclass(frozen=True, slots=True)
class CitizenResumed:
    call_id: str
    agent_id: str
    held_s: float
    at: float


@dataclass(frozen=True, slots=True)
class PartyCalled:
    """A department's number was called into the conversation (three-way)."""

    call_id: str
    agent_id: str
    party_id: str
    number: str
    at: float


@dataclass(frozen=True, slots=True)
class PartyDropped:
    """A three-way party's line ended."""

    call_id: str
    party_id: str
    cause: str
    at: float


@dataclass(frozen=True, slots=True)
class AgentLeftToParty:
    """The agent left the citizen with the department(s); talk ended for the centre."""

    call_id: str
    agent_id: str
    parties: tuple[str, ...]
    at: float


@dataclass(frozen=True, slots=True)
class AgentEndedCall:
    """The agent hung up the conversation from the desk."""

    call_id: str
    agent_id: str
    at: float


@dataclass(frozen=True, slots=True)
class SupervisorJoined:
    """Who (`supervisor_id`) joined which call, how (listen, whisper, barge)."""

    call_id: str
    supervisor_id: str
    mode: str
    agent_id: str
    at: float


@dataclass(frozen=True, slots=True)
class SupervisorLeft:
    call_id: str
    supervisor_id: str
    reason: str
    at: float


LiveFact = (
    CitizenHeld | CitizenResumed | PartyCalled | PartyDropped | AgentLeftToParty
    | AgentEndedCall | SupervisorJoined | SupervisorLeft
)
"""What the live-call actions put on record."""
