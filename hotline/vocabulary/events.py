"""Events the kernel consumes: what happened on a call, a seat or the centre.

Every driver (ARI, FastAGI, Twilio, the simulator) translates its wire messages into
these and posts them to the centre's single event task. They are frozen and carry the
time they happened (seconds on the injected clock), so a log of them replays exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class CallArrived:
    """A citizen's call reached a hotline number."""

    call_id: str
    line: str  # the dialled number, e.g. "12345"
    caller: str  # the caller's number as presented ("" when withheld)
    at: float


@dataclass(frozen=True, slots=True)
class DigitsReceived:
    """Keys the caller pressed for the current collection (terminator stripped)."""

    call_id: str
    digits: str
    at: float


@dataclass(frozen=True, slots=True)
class SpeechRecognized:
    """A final recognition result for the current `Recognize` command."""

    call_id: str
    text: str
    confidence: float  # 0..1
    at: float
    intent: str | None = None  # set when the recogniser (Twilio, a grammar) already classified it
    alternatives: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    """Barge-in: the caller started speaking while a prompt played."""

    call_id: str
    at: float


@dataclass(frozen=True, slots=True)
class NoInput:
    """The collection or recognition ended without any key or speech."""

    call_id: str
    at: float


@dataclass(frozen=True, slots=True)
class PlaybackFinished:
    """The prompts of the last `Play` command finished (or were interrupted)."""

    call_id: str
    at: float
    interrupted: bool = False


@dataclass(frozen=True, slots=True)
class RecordingFinished:
    """The caller's message for the last `Record` command is stored."""

    call_id: str
    at: float
    recording: str = ""  # driver-side name of the stored recording
    duration_s: float = 0.0


@dataclass(frozen=True, slots=True)
class CallerHungUp:
    """The citizen hung up (at any point: in the IVR, waiting, or talking)."""

    call_id: str
    at: float


@dataclass(frozen=True, slots=True)
class TimerFired:
    """A timer the kernel started with `StartTimer` expired."""

    call_id: str
    timer: str
    at: float


@dataclass(frozen=True, slots=True)
class TransferFailed:
    """A `Transfer` could not reach its destination (busy, unreachable)."""

    call_id: str
    at: float
    cause: str = ""


@dataclass(frozen=True, slots=True)
class ModeSwitched:
    """A supervisor switched the centre's mode (normal, emergency, ...)."""

    mode: str
    by: str
    reason: str
    at: float
    until: float | None = None  # automatic return to the previous mode at this time


IvrEvent = (
    DigitsReceived
    | SpeechRecognized
    | SpeechStarted
    | NoInput
    | PlaybackFinished
    | RecordingFinished
    | CallerHungUp
    | TimerFired
    | TransferFailed
)
"""Events that step one call's IVR session."""


@dataclass(frozen=True, slots=True)
class CallContext:
    """What the flow engine may know about a call when it starts."""

    call_id: str
    line: str
    caller: str
    at: float
    language: str = "zh"
    mode: str = "normal"
    variables: tuple[tuple[str, str], ...] = field(default=())


# --- Seats and agents (from softphone drivers, the agent desk and supervisors) ---------


@dataclass(frozen=True, slots=True)
class AgentLoggedIn:
    """An agent (or a guest: a department leader on duty) logged in on a seat."""

    agent_id: str
    seat_id: str
    at: float
    guest_skills: tuple[str, ...] = ()  # set for a guest login without a full agent record


@dataclass(frozen=True, slots=True)
class AgentLoggedOut:
    agent_id: str
    at: float


@dataclass(frozen=True, slots=True)
class AgentReady:
    """The agent made themself available (also ends a pause or wrap-up early)."""

    agent_id: str
    at: float


@dataclass(frozen=True, slots=True)
class AgentPaused:
    agent_id: str
    reason: str  # break, meal, training, backlog, ...
    at: float


@dataclass(frozen=True, slots=True)
class SeatAnswered:
    """The agent's softphone answered the call it was rung for."""

    agent_id: str
    call_id: str
    at: float


@dataclass(frozen=True, slots=True)
class SeatNoAnswer:
    """Ringing the agent failed (ring timeout, rejected, unreachable endpoint)."""

    agent_id: str
    call_id: str
    at: float
    cause: str = "timeout"


@dataclass(frozen=True, slots=True)
class CallEnded:
    """A connected call ended (either side hung up after the bridge)."""

    call_id: str
    at: float


@dataclass(frozen=True, slots=True)
class CallbackAnswered:
    """The citizen answered the callback dial for `request_id`."""

    request_id: str
    at: float


@dataclass(frozen=True, slots=True)
class CallbackFailed:
    """The callback dial for `request_id` did not reach the citizen (busy, no answer)."""

    request_id: str
    at: float
    cause: str = "no-answer"


@dataclass(frozen=True, slots=True)
class CallbackChosen:
    """A waiting caller chose to be called back instead of waiting (keeps their place)."""

    call_id: str
    at: float
    number: str = ""  # "" = the number the call came from



# --- Live-call actions (the agent desk and supervisors, through the API) --------------
#
# Each is validated by the kernel (`hotline.centre.live_actions`): the agent must be
# talking on that call; a supervisor acts only on a call that is talking.


@dataclass(frozen=True, slots=True)
class AgentHolds:
    """The agent puts the citizen on hold (music on the citizen's line)."""

    call_id: str
    agent_id: str
    at: float


@dataclass(frozen=True, slots=True)
class AgentResumes:
    """The agent takes the citizen off hold."""

    call_id: str
    agent_id: str
    at: float


@dataclass(frozen=True, slots=True)
class AgentTransfers:
    """The agent hands the citizen to another queue or to a named, ready colleague; the
    call keeps its id and record (`hotline.queue.acd.Acd.transfer_call`). The outcome is
    `CallTransferred`, or `TransferRefused` with the reason when it cannot be made."""

    call_id: str
    agent_id: str
    at: float
    queue: str = ""  # exactly one of queue / to_agent
    to_agent: str = ""


@dataclass(frozen=True, slots=True)
class ThreeWayStarted:
    """The agent calls a department's number into the conversation (citizen stays on)."""

    call_id: str
    agent_id: str
    party_id: str  # the agent desk's id for this party, unique within the call
    number: str
    at: float


@dataclass(frozen=True, slots=True)
class AgentLeavesThreeWay:
    """The agent leaves the citizen with the department; the centre's part is over."""

    call_id: str
    agent_id: str
    at: float


@dataclass(frozen=True, slots=True)
class PartyLeft:
    """A three-way party's line ended (hung up, or never answered: `cause`)."""

    call_id: str
    party_id: str
    at: float
    cause: str = "hung-up"


@dataclass(frozen=True, slots=True)
class AgentHangsUp:
    """The agent ends the conversation from the desk (the citizen's line is cleared)."""

    call_id: str
    agent_id: str
    at: float


@dataclass(frozen=True, slots=True)
class SupervisorJoins:
    """A supervisor listens to, whispers to the agent on, or barges into a call."""

    call_id: str
    supervisor_id: str
    endpoint: str  # the supervisor's softphone, e.g. "PJSIP/8100"
    mode: str  # "listen" | "whisper" | "barge"
    at: float


@dataclass(frozen=True, slots=True)
class SupervisorLeaves:
    call_id: str
    supervisor_id: str
    at: float


LiveEvent = (
    AgentHolds
    | AgentResumes
    | AgentTransfers
    | ThreeWayStarted
    | AgentLeavesThreeWay
    | PartyLeft
    | AgentHangsUp
    | SupervisorJoins
    | SupervisorLeaves
)
"""Actions on a live, connected call."""

Event = (
    CallArrived
    | DigitsReceived
    | SpeechRecognized
    | SpeechStarted
    | NoInput
    | PlaybackFinished
    | RecordingFinished
    | CallerHungUp
    | TimerFired
    | TransferFailed
    | ModeSwitched
    | AgentLoggedIn
    | AgentLoggedOut
    | AgentReady
    | AgentPaused
    | SeatAnswered
    | SeatNoAnswer
    | CallEnded
    | CallbackAnswered
    | CallbackFailed
    | CallbackChosen
    | LiveEvent
)
"""Every event the centre kernel takes."""
