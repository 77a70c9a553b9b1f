"""The centre's front door: every event in, the commands for the drivers out.

    centre = CentreKernel.from_config(load_centre("config"))
    commands = centre.handle(CallArrived("c1", "12345", "13800000000", at=t))

`CentreKernel` owns the one map of where each call is (IVR, ACD, recording its exit
message, transferring) and hands each event to the part that owns that call: the IVR
flow engine (`hotline.ivr.engine`) or the ACD (`hotline.queue.acd`). A terminal IVR
command (`Enqueue`, `RequestCallback`) moves the call into the ACD in the same step.
Seat, agent, callback and mode events go to the ACD; the ACD's mode is the centre's
mode, so flows see a switch at their next decision and waiting calls are re-ranked in
the switch itself. Every ACD fact is kept for the store and fed to the live statistics.

While a call waits in the ACD, its keys go to the ACD (the callback key books a callback
that keeps the place; other keys are ignored), and the ACD's `Announce` prompts are
resolved here from the prompt catalogue in the call's language, placeholders filled
(`hotline.queue.announcements`); an id the catalogue lacks keeps the built-in text.

Pure and single-threaded: no I/O, no clock (time comes from each event's `at`).
An event the kernel cannot place raises `KernelError` (or the IVR's `IllegalEvent`, the
ACD's `AcdError`) before anything changes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from hotline.ivr.engine import FlowEngine, IvrState
from hotline.ivr.environment import Environment
from hotline.ivr.prompts import MissingPrompt, PromptCatalogue
from hotline.queue.acd import CALLBACK_REGISTERED as _CALLBACK_REGISTERED
from hotline.queue.acd import Acd, AcdOutput
from hotline.queue.announcements import announcement_values, fill, placeholders_in
from hotline.vocabulary.commands import (
    Announce,
    Command,
    Enqueue,
    Hangup,
    IvrCommand,
    Prompt,
    Record,
    RequestCallback,
    Transfer,
)
from hotline.vocabulary.errors import AcdError, KernelError
from hotline.vocabulary.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentReady,
    CallArrived,
    CallbackAnswered,
    CallbackChosen,
    CallbackFailed,
    CallContext,
    CallEnded,
    CallerHungUp,
    DigitsReceived,
    Event,
    ModeSwitched,
    NoInput,
    PlaybackFinished,
    RecordingFinished,
    SeatAnswered,
    SeatNoAnswer,
    SpeechRecognized,
    SpeechStarted,
    TimerFired,
    TransferFailed,
)
from hotline.vocabulary.facts import (
    AcdFact,
    CallAbandoned,
    CallCompleted,
    CallExited,
)
from hotline.vocabulary.queueing import ExitAction

ACD_TIMER_PREFIX = "acd."
UNKNOWN_LINE = "unknown-line"  # `Hangup` reasons for calls refused at the door
LINE_DISABLED = "line-disabled"
QUEUE_REFUSED = "queue-refused"
REFUSED = frozenset({UNKNOWN_LINE, LINE_DISABLED, QUEUE_REFUSED})
CALLBACK_REGISTERED = _CALLBACK_REGISTERED  # one reason for IVR, key and queue-exit callbacks
MESSAGE_RECORDED = "message-recorded"


@dataclass(frozen=True, slots=True)
class Refusal:
    """A hand-off the ACD refused: the call was ended; operators must fix the config."""

    call_id: str
    command: str  # "Enqueue" or "RequestCallback"
    queue: str
    reason: str




class Where(Enum):
    """Which part of the centre holds a call."""

    IVR = "ivr"
    ACD = "acd"  # waiting, ringing a seat, or talking to an agent
    RECORDING = "recording"  # the ACD let the caller out to leave a message
    TRANSFERRING = "transferring"  # `Transfer` sent; only a failure brings it back


@dataclass(slots=True)
class _Call:
    line: str
    caller: str
    where: Where
    ivr: IvrState | None
    language: str


class _LiveEnvironment:
    """The flow engine's `Environment`: the configured world plus the ACD's live mode.

    The ACD holds the one current mode (it also returns automatically at `until`), so the
    IVR reads it from there and the two can never disagree.
    """

    __slots__ = ("_acd", "_base")

    def __init__(self, base: Environment, acd: Acd) -> None:
        self._base: Any = base
        self._acd = acd

    @property
    def mode(self) -> str:
        return self._acd.mode

    def _now_base(self) -> Any:
        base = self._base
        if getattr(base, "mode", None) != self._acd.mode and hasattr(base, "with_mode"):
            base = self._base = base.with_mode(self._acd.mode)
        return base

    def is_open(self, schedule: str, at: float) -> bool:
        return bool(self._now_base().is_open(schedule, at))

    def is_holiday(self, calendar: str, at: float) -> bool:
        return bool(self._now_base().is_holiday(calendar, at))

    def caller_in(self, list_name: str, number: str) -> bool:
        return bool(self._now_base().caller_in(list_name, number))

    def line_schedule(self, line: str) -> str | None:
        schedule: str | None = self._now_base().line_schedule(line)
        return schedule

    def line_open(self, line: str, at: float) -> bool:
        return bool(self._now_base().line_open(line, at))

    def minute_of_day(self, at: float) -> int:
        return int(self._now_base().minute_of_day(at))


LineResolver = Callable[[str, str], tuple[str, str | None, bool] | None]
"""(line, mode) -> (flow, language or None, enabled), or None for an unknown line."""


class CentreKernel:
    """One centre's live state: IVR sessions, the ACD, and where every call is."""

    def __init__(
        self,
        engine: FlowEngine,
        acd: Acd,
        environment: Environment,
        lines: LineResolver,
        *,
        default_language: str = "zh",
        observers: Sequence[Callable[[AcdFact], None]] = (),
        keep_facts: bool = True,
        prompts: PromptCatalogue | None = None,
        fallback_language: str | None = None,
    ) -> None:
        self.engine = engine
        self.acd = acd
        self._observers = tuple(observers)
        self._env = _LiveEnvironment(environment, acd)
        self._lines = lines
        self._default_language = default_language
        # The ACD's announcements are resolved here, in each caller's language; by default
        # from the flow engine's catalogue, so IVR and queue prompts can never disagree.
        self._prompts = prompts if prompts is not None else engine.prompts
        self._fallback_language = (
            fallback_language if prompts is not None else engine.fallback_language
        )
        self._calls: dict[str, _Call] = {}
        self._keep_facts = keep_facts
        self.refusals: deque[Refusal] = deque(maxlen=1000)  # the latest, for operators
        self._facts: list[AcdFact] = []
        self._handlers: dict[type[Any], Callable[[Any], list[Command]]] = {
            CallArrived: self._on_arrived,
            CallerHungUp: self._on_hung_up,
            TimerFired: self._on_timer,
            ModeSwitched: self._to_acd,
            AgentLoggedIn: self._to_acd,
            AgentLoggedOut: self._to_acd,
            AgentReady: self._to_acd,
            AgentPaused: self._to_acd,
            SeatAnswered: self._to_acd,
            SeatNoAnswer: self._to_acd,
            CallEnded: self._to_acd,
            CallbackAnswered: self._to_acd,
            CallbackFailed: self._to_acd,
            CallbackChosen: self._to_acd,
        }
        for kind in (DigitsReceived, SpeechRecognized, SpeechStarted, NoInput,
                     PlaybackFinished, RecordingFinished, TransferFailed):
            self._handlers[kind] = self._on_call_event

    # --- the one entry point ------------------------------------------------------------

    def handle(self, event: Event) -> list[Command]:
        """Apply one event; return the commands for the drivers, in order."""
        handler = self._handlers.get(type(event))
        if handler is None:
            raise KernelError(f"the centre does not handle {type(event).__name__}")
        return handler(event)

    # --- views --------------------------------------------------------------------------

    @property
    def mode(self) -> str:
        return self.acd.mode

    def where(self, call_id: str) -> Where | None:
        call = self._calls.get(call_id)
        return None if call is None else call.where

    def live_calls(self) -> Mapping[Where, int]:
        counts = dict.fromkeys(Where, 0)
        for call in self._calls.values():
            counts[call.where] += 1
        return counts

    def take_facts(self) -> list[AcdFact]:
        """The ACD facts since the last call (for the store and the wallboard push)."""
        facts, self._facts = self._facts, []
        return facts

    # --- calls ----------------------------------------------------------------------------

    def _on_arrived(self, event: CallArrived) -> list[Command]:
        if event.call_id in self._calls or self.acd.knows(event.call_id):
            raise KernelError(f"call {event.call_id!r} is already in the centre")
        mode = self.acd.mode
        line = self._lines(event.line, mode)
        if line is None:
            # A number routed here by mistake: never leave a citizen in silence.
            return [Hangup(event.call_id, UNKNOWN_LINE)]
        flow, language, enabled = line
        if not enabled:
            return [Hangup(event.call_id, LINE_DISABLED)]
        context = CallContext(
            event.call_id, event.line, event.caller, event.at,
            language=language or self._default_language, mode=mode,
        )
        state, ivr_commands = self.engine.start(context, self._env, flow)
        call = _Call(event.line, event.caller, Where.IVR, state, context.language)
        self._calls[event.call_id] = call
        return self._after_ivr(event.call_id, call, state, ivr_commands, event.at)

    def _on_call_event(
        self,
        event: DigitsReceived | SpeechRecognized | SpeechStarted | NoInput | PlaybackFinished
        | RecordingFinished | TransferFailed,
    ) -> list[Command]:
        call = self._calls.get(event.call_id)
        if call is None:
            raise KernelError(f"{type(event).__name__} for unknown call {event.call_id!r}")
        where = call.where
        if where is Where.IVR or (where is Where.TRANSFERRING and type(event) is TransferFailed):
            assert call.ivr is not None
            state, commands = self.engine.step(call.ivr, event, self._env)
            return self._after_ivr(event.call_id, call, state, commands, event.at)
        if where is Where.RECORDING and type(event) in (RecordingFinished, NoInput):
            # The exit message is stored (it becomes a work order): say goodbye.
            del self._calls[event.call_id]
            return [Hangup(event.call_id, MESSAGE_RECORDED)]
        if where is Where.ACD and type(event) is DigitsReceived:
            # A key on hold: the ACD's callback key books a callback, other keys do nothing.
            return self._take(self.acd.handle(event))
        if type(event) in (PlaybackFinished, SpeechStarted, DigitsReceived):
            # The end of a queue announcement, keys while recording or transferring.
            return []
        raise KernelError(
            f"{type(event).__name__} for call {event.call_id!r}, which is {where.value}"
        )

    def _after_ivr(
        self, call_id: str, call: _Call, state: IvrState, commands: list[IvrCommand], at: float
    ) -> list[Command]:
        """Store the session; hand a terminal command to the ACD in this same step."""
        call.ivr = state
        out: list[Command] = []
        for command in commands:
            if type(command) is Enqueue:
                out.append(command)
                try:
                    result = self.acd.enqueue(command, line=call.line, caller=call.caller, at=at)
                except AcdError as exc:
                    return self._refuse_hand_off(call_id, command, exc, out)
                call.where, call.ivr = Where.ACD, None
                out.extend(self._take(result))
            elif type(command) is RequestCallback:
                out.append(command)
                try:
                    result = self.acd.request_callback(command, line=call.line, at=at)
                except AcdError as exc:
                    return self._refuse_hand_off(call_id, command, exc, out)
                del self._calls[call_id]
                out.extend(self._take(result))
                # The request keeps the place; the citizen's line is done.
                out.append(Hangup(call_id, CALLBACK_REGISTERED))
            elif type(command) is Transfer:
                out.append(command)
                call.where = Where.TRANSFERRING
            elif type(command) is Hangup:
                out.append(command)
                self._calls.pop(call_id, None)
            else:
                out.append(command)
        if state.finished and call_id in self._calls and call.where is Where.IVR:
            self._calls.pop(call_id, None)  # the caller hung up inside the IVR
        return out

    def _refuse_hand_off(
        self, call_id: str, command: Enqueue | RequestCallback, error: AcdError,
        out: list[Command],
    ) -> list[Command]:
        """The ACD refused the flow's hand-off (a queue the config check should have caught).

        The caller must not be left in silence with a finished IVR session: end the call
        politely and keep the problem for the operators (`refusals`).
        """
        self._calls.pop(call_id, None)
        self.refusals.append(Refusal(call_id, type(command).__name__, command.queue, str(error)))
        out.append(Hangup(call_id, QUEUE_REFUSED))
        return out

    def _on_hung_up(self, event: CallerHungUp) -> list[Command]:
        call = self._calls.get(event.call_id)
        if call is None:
            if self.acd.knows(event.call_id):
                raise KernelError(f"{event.call_id!r} is a callback request, not a live call")
            # Hang-ups race with our own `Hangup`: a second report of the end is harmless.
            return []
        if call.where is Where.IVR:
            assert call.ivr is not None
            self.engine.step(call.ivr, event, self._env)
            del self._calls[event.call_id]
            return []
        if call.where is Where.ACD:
            return self._take(self.acd.handle(event))
        del self._calls[event.call_id]  # recording or transferring: nothing to undo
        return []

    def _on_timer(self, event: TimerFired) -> list[Command]:
        if event.timer.startswith(ACD_TIMER_PREFIX):
            return self._take(self.acd.handle(event))
        call = self._calls.get(event.call_id)
        if call is None or call.where is not Where.IVR or call.ivr is None:
            raise KernelError(f"IVR timer {event.timer!r} for call {event.call_id!r} not in IVR")
        state, commands = self.engine.step(call.ivr, event, self._env)
        return self._after_ivr(event.call_id, call, state, commands, event.at)

    def _to_acd(self, event: Any) -> list[Command]:
        return self._take(self.acd.handle(event))

    def _take(self, result: AcdOutput) -> list[Command]:
        """Record the ACD's facts and follow the calls it let go of."""
        observers = self._observers
        calls = self._calls
        # Resolved first: the calls the facts below let go of still know their language.
        commands: list[Command] = [
            self._spoken(command) if type(command) is Announce else command
            for command in result.commands
        ]
        for fact in result.facts:
            for observe in observers:
                observe(fact)
            if isinstance(fact, CallAbandoned | CallCompleted):
                calls.pop(fact.call_id, None)
            elif isinstance(fact, CallExited):
                exited = calls.get(fact.call_id)
                if exited is not None:
                    if fact.action == ExitAction.RECORD.value:
                        exited.where = Where.RECORDING
                    else:
                        del calls[fact.call_id]
        if self._keep_facts:
            self._facts.extend(result.facts)
        for command in commands:
            if type(command) is Hangup:
                calls.pop(command.call_id, None)
            elif type(command) is Record and command.call_id in calls:
                calls[command.call_id].where = Where.RECORDING
        return commands


    def _spoken(self, announce: Announce) -> Announce:
        """The ACD's announcement in the caller's language, placeholders filled.

        Each prompt id is looked up in the catalogue; a filled prompt has no audio (a
        recording cannot say the number). An id the catalogue lacks keeps the ACD's
        built-in text: `hotline check config` reports that, a caller must not hear silence.
        """
        if not announce.prompts:
            return announce
        call = self._calls.get(announce.call_id)
        language = call.language if call is not None else self._default_language
        values = announcement_values(announce)
        prompts: list[Prompt] = []
        for prompt in announce.prompts:
            try:
                found = self._prompts.resolve(prompt.id, language, self._fallback_language)
            except MissingPrompt:
                prompts.append(prompt)
                continue
            if placeholders_in(found.text):
                found = Prompt(found.id, fill(found.text, values), found.language, None)
            prompts.append(found)
        return Announce(
            announce.call_id, announce.position, announce.expected_wait_s, tuple(prompts),
            announce.callback_key,
        )
