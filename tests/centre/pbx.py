"""A random PBX for property tests: it drives the centre as a real driver would.

It keeps only what a driver knows (the commands it was given) and, at each step, offers
every event a real PBX could send next, including the races real telephony produces: a
hang-up while a seat rings, an answer reported after the caller hung up or after the
ring was stopped, a second hang-up, keys after a hang-up, a late timer, an agent logging
out or pausing while ringing or talking, a mode switch mid-ring, an agent transferring
the citizen to a queue or a colleague (or pressing the button as the call ends), and
event times a few milliseconds older than the previous one. Hypothesis draws which one
happens.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hotline.vocabulary.commands import (
    Bridge,
    CancelTimer,
    CollectDigits,
    DialCitizen,
    Enqueue,
    Hangup,
    Play,
    Recognize,
    Record,
    ReleaseAgent,
    RequestCallback,
    RingSeat,
    StartTimer,
    Transfer,
)
from hotline.vocabulary.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentReady,
    AgentTransfers,
    CallArrived,
    CallbackAnswered,
    CallbackFailed,
    CallEnded,
    CallerHungUp,
    DigitsReceived,
    ModeSwitched,
    NoInput,
    PlaybackFinished,
    RecordingFinished,
    SeatAnswered,
    SeatNoAnswer,
    SpeechRecognized,
    TimerFired,
    TransferFailed,
)

LINES = ("12345", "12345-8", "12350", "962110", "99999")
AGENTS = (("1001", "s01"), ("1002", "s02"), ("1003", "s03"), ("1101", "s04"))
WORDS = ("投诉", "企业", "疫情", "咨询", "人工", "")
DIGITS = ("0", "1", "2", "3", "9", "#", "12")
TRANSFER_QUEUES = ("general", "complaints", "safety", "english")


@dataclass
class RandomPbx:
    """What the driver side knows, updated from the kernel's commands."""

    now: float
    listening: dict[str, str] = field(default_factory=dict)  # call → "keys"|"speech"|"play"
    live: set[str] = field(default_factory=set)  # citizens on the line
    gone: set[str] = field(default_factory=set)  # calls that have ended
    rings: dict[tuple[str, str], float] = field(default_factory=dict)  # (agent, call) → at
    talking: dict[str, str] = field(default_factory=dict)  # call → agent
    recording: set[str] = field(default_factory=set)
    transferring: set[str] = field(default_factory=set)
    dials: set[str] = field(default_factory=set)  # callback requests being dialled
    timers: dict[tuple[str, str], float] = field(default_factory=dict)
    logged_in: set[str] = field(default_factory=set)
    skills: dict[str, tuple[str, ...]] = field(default_factory=dict)  # call → Enqueue skills
    next_call: int = 0
    modes: tuple[str, ...] = ("normal", "emergency")

    def take(self, commands: list[Any]) -> None:
        """Execute the kernel's commands the way a PBX would (bookkeeping only)."""
        for command in commands:
            kind = type(command)
            if kind is StartTimer:
                self.timers[(command.call_id, command.timer)] = self.now + command.seconds
            elif kind is CancelTimer:
                self.timers.pop((command.call_id, command.timer), None)
            elif kind is Play:
                self.listening[command.call_id] = "play"
            elif kind is CollectDigits:
                self.listening[command.call_id] = "keys"
            elif kind is Recognize:
                self.listening[command.call_id] = "speech"
            elif kind is Record:
                self.recording.add(command.call_id)
            elif kind is Transfer:
                self.transferring.add(command.call_id)
            elif kind is RingSeat:
                self.rings[(command.agent_id, command.call_id)] = self.now
            # `StopRinging` leaves the ring in `rings` on purpose: the phone may still
            # answer before the stop reaches it (a race the kernel must absorb).
            elif kind is Bridge:
                self.talking[command.call_id] = command.agent_id
                self.rings.pop((command.agent_id, command.call_id), None)
            elif kind is ReleaseAgent:
                self.talking.pop(command.call_id, None)  # the citizen waits on, with music
            elif kind is DialCitizen:
                self.dials.add(command.request_id)
            elif kind is Enqueue or kind is RequestCallback:
                self.skills[command.call_id] = tuple(command.skills)
                self.skills[f"{command.call_id}.cb"] = tuple(command.skills)
            elif kind is Hangup:
                self._end(command.call_id)

    def _end(self, call_id: str) -> None:
        self.live.discard(call_id)
        self.gone.add(call_id)
        self.listening.pop(call_id, None)
        self.talking.pop(call_id, None)
        self.recording.discard(call_id)
        self.transferring.discard(call_id)

    def choices(self) -> list[tuple[str, Callable[[float], Any]]]:
        """Every event that could come next: (label, make(at) -> event)."""
        out: list[tuple[str, Callable[[float], Any]]] = []
        call_id = f"c{self.next_call}"
        for line in LINES:
            out.append((f"arrive {line}", lambda at, c=call_id, n=line: CallArrived(
                c, n, "" if n == "12350" else f"1380000{len(self.gone) % 7}", at)))
        for call, how in sorted(self.listening.items()):
            if how == "play":
                out.append(("played", lambda at, c=call: PlaybackFinished(c, at)))
            for digits in DIGITS:
                out.append((f"key {digits}", lambda at, c=call, d=digits: DigitsReceived(c, d, at)))
            if how == "speech":
                for word in WORDS:
                    out.append((f"say {word}", lambda at, c=call, w=word: SpeechRecognized(
                        c, w, 0.9, at)))
            out.append(("silence", lambda at, c=call: NoInput(c, at)))
        for call in sorted(self.live | self.gone)[:12]:
            # Hang-ups at any moment, and again after the end (a repeated report).
            out.append(("hang up", lambda at, c=call: CallerHungUp(c, at)))
        for call in sorted(self.gone)[-3:]:
            out.append(("key after end", lambda at, c=call: DigitsReceived(c, "1", at)))
        for call in sorted(self.recording):
            out.append(("recorded", lambda at, c=call: RecordingFinished(c, at, "msg", 5.0)))
        for call in sorted(self.transferring):
            out.append(("transfer failed", lambda at, c=call: TransferFailed(c, at, "busy")))
        for (agent, call) in sorted(self.rings):
            out.append(("answer", lambda at, a=agent, c=call: SeatAnswered(a, c, at)))
            out.append(("no answer", lambda at, a=agent, c=call: SeatNoAnswer(a, c, at)))
        for call, agent in sorted(self.talking.items()):
            out.append(("talk ends", lambda at, c=call: CallEnded(c, at)))
            out.append(("agent logs out mid-talk", lambda at, a=agent: AgentLoggedOut(a, at)))
            for queue in TRANSFER_QUEUES:
                out.append((f"transfer to {queue}", lambda at, c=call, a=agent, q=queue:
                            AgentTransfers(c, a, at, queue=q)))
            for other, _seat in AGENTS:  # the agent themself, a colleague ready or not
                out.append(("transfer to an agent", lambda at, c=call, a=agent, o=other:
                            AgentTransfers(c, a, at, to_agent=o)))
        for call in sorted(self.gone)[-1:]:
            # The button pressed as the call ended (the desk had not heard yet).
            out.append(("late transfer", lambda at, c=call: AgentTransfers(
                c, "1001", at, queue="general")))
        for request in sorted(self.dials):
            out.append(("citizen answers", lambda at, r=request: CallbackAnswered(r, at)))
            out.append(("citizen busy", lambda at, r=request: CallbackFailed(r, at, "busy")))
        for (owner, name), _due in sorted(self.timers.items(), key=lambda kv: kv[1])[:6]:
            out.append(("timer", lambda at, o=owner, n=name: TimerFired(o, n, at)))
        for agent, seat in AGENTS:
            if agent in self.logged_in:
                out.append(("ready", lambda at, a=agent: AgentReady(a, at)))
                out.append(("pause", lambda at, a=agent: AgentPaused(a, "break", at)))
                out.append(("log out", lambda at, a=agent: AgentLoggedOut(a, at)))
            else:
                out.append(("log in", lambda at, a=agent, s=seat: AgentLoggedIn(a, s, at)))
        for mode in self.modes:
            out.append((f"mode {mode}", lambda at, m=mode: ModeSwitched(m, "sup1", "drill", at)))
            out.append((f"mode {mode} until", lambda at, m=mode: ModeSwitched(
                m, "sup1", "drill", at, at + 600.0)))
        return out

    def after(self, event: Any) -> None:
        """Driver-side bookkeeping once the kernel took `event`."""
        kind = type(event)
        if kind is CallArrived:
            self.next_call += 1
            self.live.add(event.call_id)
        elif kind is CallerHungUp:
            self._end(event.call_id)
            for key in [k for k in self.rings if k[1] == event.call_id]:
                del self.rings[key]
        elif kind in (DigitsReceived, SpeechRecognized, NoInput, PlaybackFinished):
            self.listening.pop(event.call_id, None)
        elif kind is RecordingFinished:
            self.recording.discard(event.call_id)
        elif kind is TransferFailed:
            self.transferring.discard(event.call_id)
        elif kind in (SeatAnswered, SeatNoAnswer):
            if kind is SeatNoAnswer or event.call_id in self.gone:
                self.rings.pop((event.agent_id, event.call_id), None)
        elif kind is CallEnded:
            self.talking.pop(event.call_id, None)
        elif kind in (CallbackAnswered, CallbackFailed):
            self.dials.discard(event.request_id)
        elif kind is TimerFired:
            self.timers.pop((event.call_id, event.timer), None)
        elif kind is AgentLoggedIn:
            self.logged_in.add(event.agent_id)
        elif kind is AgentLoggedOut:
            self.logged_in.discard(event.agent_id)
