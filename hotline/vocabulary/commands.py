"""Commands the kernel returns: what a driver must do on the wire.

Drivers execute them and report back with events; they never decide anything.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Prompt:
    """One resolved prompt: catalogue id, the text in the call's language, optional audio."""

    id: str
    text: str
    language: str
    audio: str | None = None  # file or Asterisk sound name; drivers fall back to TTS of `text`


@dataclass(frozen=True, slots=True)
class Play:
    call_id: str
    prompts: tuple[Prompt, ...]
    interruptible: bool = True  # a key or barge-in stops it


@dataclass(frozen=True, slots=True)
class CollectDigits:
    call_id: str
    min_digits: int = 1
    max_digits: int = 1
    terminator: str = "#"  # "" for none
    first_timeout_s: float = 5.0
    inter_digit_timeout_s: float = 3.0


@dataclass(frozen=True, slots=True)
class Recognize:
    """Listen for speech. `grammar` empty means free speech (transcribe everything)."""

    call_id: str
    language: str
    grammar: tuple[str, ...] = ()
    no_speech_timeout_s: float = 5.0
    max_utterance_s: float = 15.0
    min_confidence: float = 0.0
    also_digits: bool = True  # keys still count while listening


@dataclass(frozen=True, slots=True)
class Enqueue:
    """Hand the caller to the ACD. Terminal for the IVR."""

    call_id: str
    queue: str
    priority: int = 0
    skills: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Transfer:
    """Send the call elsewhere (another hotline, 110, a department). Terminal."""

    call_id: str
    destination: str


@dataclass(frozen=True, slots=True)
class Record:
    """Record the caller's message (it becomes a work order)."""

    call_id: str
    max_duration_s: float = 120.0
    beep: bool = True
    purpose: str = "message"


@dataclass(frozen=True, slots=True)
class RequestCallback:
    """The caller accepted a callback on `number` instead of waiting. Terminal."""

    call_id: str
    queue: str
    number: str
    priority: int = 0
    skills: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Hangup:
    call_id: str
    reason: str = "normal"


@dataclass(frozen=True, slots=True)
class SetVariable:
    call_id: str
    name: str
    value: str


@dataclass(frozen=True, slots=True)
class StartTimer:
    call_id: str
    timer: str
    seconds: float


@dataclass(frozen=True, slots=True)
class CancelTimer:
    call_id: str
    timer: str


IvrCommand = (
    Play
    | CollectDigits
    | Recognize
    | Enqueue
    | Transfer
    | Record
    | RequestCallback
    | Hangup
    | SetVariable
    | StartTimer
    | CancelTimer
)

TERMINAL_COMMANDS = (Enqueue, Transfer, RequestCallback, Hangup)
"""A call's IVR session ends with exactly one of these."""


# --- ACD commands -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HoldWithMusic:
    """Keep the caller on hold (music on hold) while they wait in `queue`."""

    call_id: str
    queue: str


@dataclass(frozen=True, slots=True)
class Announce:
    """Tell a waiting caller their place and expected wait (never 0 when nobody is free)."""

    call_id: str
    position: int | None
    expected_wait_s: float | None
    prompts: tuple[Prompt, ...] = ()
    callback_key: str | None = None  # set when pressing this key now books a callback
    callback_by: str | None = None  # local "HH:MM" by which a promised callback will come


@dataclass(frozen=True, slots=True)
class RingSeat:
    """Ring the agent's softphone for `call_id`; the seat is reserved for this call."""

    call_id: str
    agent_id: str
    endpoint: str  # e.g. "PJSIP/8001"
    timeout_s: float


@dataclass(frozen=True, slots=True)
class StopRinging:
    call_id: str
    agent_id: str
    endpoint: str


@dataclass(frozen=True, slots=True)
class Bridge:
    """Connect the caller with the agent who answered."""

    call_id: str
    agent_id: str
    endpoint: str


@dataclass(frozen=True, slots=True)
class DialCitizen:
    """Place the callback call to the citizen (only one dial in flight per request)."""

    request_id: str
    number: str
    agent_id: str
    endpoint: str
    timeout_s: float
    attempt: int


@dataclass(frozen=True, slots=True)
class ReleaseAgent:
    """A transfer: drop the agent's leg; the citizen stays on the line, out of the
    conversation, and waits again (the `HoldWithMusic` that follows, then a new
    `RingSeat` / `Bridge` with another agent)."""

    call_id: str
    agent_id: str
    endpoint: str


@dataclass(frozen=True, slots=True)
class NotifyReserve:
    """Ask the notifier to call in reserve agents (e.g. on a switch to emergency)."""

    agent_ids: tuple[str, ...]
    mode: str
    reason: str

AcdCommand = (
    HoldWithMusic
    | Announce
    | RingSeat
    | StopRinging
    | Bridge
    | ReleaseAgent
    | DialCitizen
    | NotifyReserve
    | StartTimer
    | CancelTimer
    | Record
    | Hangup
)
"""Everything the ACD may ask a driver to do."""



# --- Live-call actions (`hotline.centre.live_actions`) ----------------------------------


@dataclass(frozen=True, slots=True)
class HoldCitizen:
    """Take the citizen out of the conversation and play music on their line."""

    call_id: str
    agent_id: str


@dataclass(frozen=True, slots=True)
class ResumeCitizen:
    """Stop the music and put the citizen back into the conversation."""

    call_id: str
    agent_id: str


@dataclass(frozen=True, slots=True)
class AddParty:
    """Dial `number` and add it to the call's conversation when it answers."""

    call_id: str
    party_id: str
    number: str
    caller_id: str = ""  # shown to the department (the line, or the citizen's number)


@dataclass(frozen=True, slots=True)
class LeaveToParty:
    """Drop the agent's leg; the citizen and the parties stay connected."""

    call_id: str
    agent_id: str


@dataclass(frozen=True, slots=True)
class JoinSupervisor:
    """Ring the supervisor and join them: listen (hear both), whisper (to the agent
    only), barge (into the conversation)."""

    call_id: str
    supervisor_id: str
    endpoint: str
    mode: str
    agent_endpoint: str = ""


@dataclass(frozen=True, slots=True)
class DropSupervisor:
    call_id: str
    supervisor_id: str


LiveCommand = (
    HoldCitizen | ResumeCitizen | AddParty | LeaveToParty | JoinSupervisor | DropSupervisor
)
"""What a live-call action asks a driver to do."""

Command = IvrCommand | AcdCommand | LiveCommand
"""Anything the centre may ask a driver to do."""
