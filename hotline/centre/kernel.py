"""The centre's front door: every event in, the commands for the drivers out.

    kernel = build_kernel(load_centre("config"))          # hotline.composition
    commands = kernel.handle(CallArrived("c1", "12345", "13800000000", at=t))
    records = kernel.take_facts()   # the accepted event, then the facts it caused

`CentreKernel` owns three things and hands everything else to the part that owns it:

* **each call's stage** (`hotline.centre.stages`: IVR, waiting, ringing, talking,
  recording, transferring, ended), changed only in `_move`, which emits
  `CallStageChanged`; the flow engine (`hotline.ivr.engine`) runs a call's IVR and the
  ACD (`hotline.queue.acd`) its queue, and their results move the stage (an agent's
  transfer: talking → transferring → waiting or ringing, in the step that makes it;
  the first agent's `CallCompleted` does not end the call, its final outcome does);
* **the centre mode** (`hotline.centre.mode`): one audited switch; the flows see it at
  their next decision and the ACD re-ranks in the switch itself (`Acd.apply_mode`);
* **the record**: every accepted event is logged with the facts it caused, in order
  (`take_facts`); the centre adds what only it knows (`CallStarted`, `IvrNodeEntered`,
  `SpeechInterpreted`, `CallStageChanged`, exactly one `CallFinished` per call). The
  record alone rebuilds the CDR (`hotline.projections.cdr`) and, replayed, the live state
  (`hotline.centre.restore`).

Telephony reorders and repeats: an event a little older than the last one is taken at
the last one's time (so the record stays in time order); an event about a call that has
already ended, a late report, keys after a hang-up, are stale: ignored, recorded as
`StaleEvent` and counted (`stale`). What the kernel refuses (an unknown event type, a
call arriving twice, an unknown agent or mode) raises `KernelError` (or the ACD's
`AcdError`) before anything changes.

While a call waits in the ACD, its keys go to the ACD (the callback key books a callback
that keeps the place; other keys are ignored), and the ACD's `Announce` prompts are
resolved here from the prompt catalogue in the call's language, placeholders filled
(`hotline.queue.announcements`); an id the catalogue lacks keeps the built-in text.

Pure and single-threaded: no I/O, no clock (time comes from each event's `at`).
"""

from __future__ import annotations

import dataclasses
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hotline.agents.seats import SeatView
from hotline.centre.live_actions import LiveActions
from hotline.centre.mode import MODE_TIMER_OWNER, CentreMode
from hotline.centre.stages import StageTrigger, next_stage
from hotline.ivr.engine import FlowEngine, IllegalEvent, IvrState
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
    RingSeat,
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
    CallAbandoned,
    CallAnswered,
    CallCompleted,
    CallExited,
    CallFinished,
    CallStageChanged,
    CallStarted,
    CallTransferred,
    IvrNodeEntered,
    RingNoAnswer,
    SpeechInterpreted,
    StaleEvent,
    TransferAbandoned,
    TransferAnswered,
    TransferExited,
)
from hotline.vocabulary.ports import Suggestion, TextClassifier
from hotline.vocabulary.queueing import ExitAction
from hotline.vocabulary.states import CallOutcome, CallStage

ACD_TIMER_PREFIX = "acd."
CENTRE_TIMER_PREFIX = "centre."
UNKNOWN_LINE = "unknown-line"  # `Hangup` reasons for calls refused at the door
LINE_DISABLED = "line-disabled"
QUEUE_REFUSED = "queue-refused"
REFUSED = frozenset({UNKNOWN_LINE, LINE_DISABLED, QUEUE_REFUSED})
CALLBACK_REGISTERED = _CALLBACK_REGISTERED  # one reason for IVR, key and queue-exit callbacks
MESSAGE_RECORDED = "message-recorded"

LogRecord = Any
"""A logged record: an accepted `Event` or a fact (`hotline.vocabulary.facts`)."""


@dataclass(frozen=True, slots=True)
class Refusal:
    """A hand-off the ACD refused: the call was ended; operators must fix the config."""

    call_id: str
    command: str  # "Enqueue" or "RequestCallback"
    queue: str
    reason: str


@dataclass(slots=True)
class _Call:
    """A live call the centre holds. Its stage changes only in `CentreKernel._move`."""

    line: str
    caller: str
    stage: CallStage
    ivr: IvrState | None
    language: str
    context: CallContext | None = None  # what the flow knew at the start (screen pops)
    message: bool = False  # the caller left a message in the IVR (decides the outcome)
    destination: str = ""  # where a transfer sent it


class _Remembering:
    """The flow engine's classifier, remembering its last answer for `SpeechInterpreted`.

    The kernel is single-threaded and the engine classifies at most once per step, so
    what it remembers after a step is that step's interpretation (cleared before each).
    """

    __slots__ = ("inner", "last")

    def __init__(self, inner: TextClassifier) -> None:
        self.inner = inner
        self.last: Suggestion | None = None

    def classify(self, text: str, top_k: int = 3) -> list[Suggestion]:
        ranked = self.inner.classify(text, top_k)
        self.last = ranked[0] if ranked else None
        return ranked


class _LiveEnvironment:
    """The flow engine's `Environment`: the configured world plus the centre's live mode."""

    __slots__ = ("_base", "_mode")

    def __init__(self, base: Environment, mode: CentreMode) -> None:
        self._base: Any = base
        self._mode = mode

    @property
    def mode(self) -> str:
        return self._mode.current

    def _now_base(self) -> Any:
        base = self._base
        current = self._mode.current
        if getattr(base, "mode", None) != current and hasattr(base, "with_mode"):
            base = self._base = base.with_mode(current)
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

_IVR_EVENTS = (
    DigitsReceived, SpeechRecognized, SpeechStarted, NoInput, PlaybackFinished,
    RecordingFinished, TransferFailed,
)
_ACD_EVENTS = (
    AgentLoggedIn, AgentLoggedOut, AgentReady, AgentPaused, SeatAnswered, SeatNoAnswer,
    CallEnded, CallbackAnswered, CallbackFailed, CallbackChosen,
)
# The ACD's facts that move a call's stage.
_STAGE_FACTS = (
    CallCompleted, CallAbandoned, CallExited, CallAnswered, RingNoAnswer, CallTransferred,
    TransferAnswered, TransferAbandoned, TransferExited,
)


class CentreKernel:
    """One centre's live state: the calls and their stages, the mode, the IVR and the ACD."""

    def __init__(
        self,
        engine: FlowEngine,
        acd: Acd,
        environment: Environment,
        lines: LineResolver,
        *,
        default_language: str = "zh",
        observers: Sequence[Callable[[LogRecord], None]] = (),
        keep_facts: bool = True,
        prompts: PromptCatalogue | None = None,
        fallback_language: str | None = None,
    ) -> None:
        self.engine = engine
        self.acd = acd
        self._mode = CentreMode(acd.modes, acd.mode)
        self._observers = tuple(observers)
        self._env = _LiveEnvironment(environment, self._mode)
        self._lines = lines
        self._default_language = default_language
        # The ACD's announcements are resolved here, in each caller's language; by default
        # from the flow engine's catalogue, so IVR and queue prompts can never disagree.
        self._prompts = prompts if prompts is not None else engine.prompts
        self._fallback_language = (
            fallback_language if prompts is not None else engine.fallback_language
        )
        self._remembering: _Remembering | None = None
        if engine.classifier is not None:
            self._remembering = _Remembering(engine.classifier)
            engine.classifier = self._remembering
        self._calls: dict[str, _Call] = {}
        self._keep_facts = keep_facts
        self._kept: list[LogRecord] = []
        self._step: list[LogRecord] = []  # this step's records, published when it succeeds
        self._last_at = float("-inf")
        self.refusals: deque[Refusal] = deque(maxlen=1000)  # the latest, for operators
        self.stale: Counter[str] = Counter()  # stale events ignored, by event type
        self.reordered = 0  # events older than the last one, taken at the last one's time
        self._handlers: dict[type[Any], Callable[[Any], list[Command]]] = {
            CallArrived: self._on_arrived,
            CallerHungUp: self._on_hung_up,
            TimerFired: self._on_timer,
            ModeSwitched: self._on_mode_switched,
        }
        for acd_kind in _ACD_EVENTS:
            self._handlers[acd_kind] = self._to_acd
        for ivr_kind in _IVR_EVENTS:
            self._handlers[ivr_kind] = self._on_call_event
        # Live-call actions (hold, three-way, supervisors): hotline.centre.live_actions.
        self.live = LiveActions(self.stage, acd, record=lambda fact: self._step.append(fact),
                                take=self._take)
        self._handlers.update(self.live.handlers())

    # --- the one entry point ------------------------------------------------------------

    def handle(self, event: Event) -> list[Command]:
        """Apply one event; return the commands for the drivers, in order.

        Raises `KernelError` / `AcdError` (nothing changed) for an event the centre
        refuses; the record of an accepted event is published only once it succeeded.
        """
        handler = self._handlers.get(type(event))
        if handler is None:
            raise KernelError(f"the centre does not handle {type(event).__name__}")
        if event.at < self._last_at:
            # A channel event and a timer can cross by a few milliseconds: the later one
            # is taken at the earlier one's time, so every record stays in time order.
            event = dataclasses.replace(event, at=self._last_at)
            self.reordered += 1
        self._step = [event]
        try:
            commands = handler(event)
        except BaseException:
            self._step = []
            raise
        self._last_at = event.at
        records, self._step = self._step, []
        for record in records:
            for observe in self._observers:
                observe(record)
        if self._keep_facts:
            self._kept.extend(records)
        return commands

    # --- views --------------------------------------------------------------------------

    @property
    def mode(self) -> str:
        return self._mode.current

    @property
    def mode_since(self) -> float:
        return self._mode.since

    @property
    def mode_until(self) -> float | None:
        """The automatic return time of the current mode, if one is set."""
        return self._mode.until

    def seat(self, agent_id: str) -> SeatView | None:
        """One agent's seat as it is now (cheap: no view of the whole centre)."""
        return self.acd.seat(agent_id)

    def stage(self, call_id: str) -> CallStage | None:
        """The stage of a live call (None once it ended, or for an unknown id)."""
        call = self._calls.get(call_id)
        return None if call is None else call.stage

    def live_call_ids(self) -> tuple[str, ...]:
        """The calls the centre holds now, in arrival order (a driver's restore)."""
        return tuple(self._calls)

    def call_context(self, call_id: str) -> CallContext | None:
        """What the centre knew of a live call when it arrived (line, caller, language,
        mode): the same for every agent it reaches, transfers included."""
        call = self._calls.get(call_id)
        return None if call is None else call.context

    def live_calls(self) -> Mapping[CallStage, int]:
        counts: dict[CallStage, int] = {
            stage: 0 for stage in CallStage if stage is not CallStage.ENDED
        }
        for call in self._calls.values():
            counts[call.stage] += 1
        return counts

    def take_facts(self) -> list[LogRecord]:
        """Every record since the last call: each accepted event, then its facts."""
        kept, self._kept = self._kept, []
        return kept

    # --- the call's stage: the one chokepoint ----------------------------------------------

    def _move(self, call_id: str, call: _Call, trigger: StageTrigger, at: float) -> None:
        new = next_stage(call.stage, trigger)
        self._step.append(CallStageChanged(call_id, call.stage, new, trigger.value, at))
        call.stage = new
        if new is CallStage.ENDED:
            del self._calls[call_id]
        elif new is not CallStage.IVR and new is not CallStage.TRANSFERRING:
            call.ivr = None  # the flow's session is over once the call leaves the IVR

    def _finish(
        self, call_id: str, call: _Call, trigger: StageTrigger, outcome: CallOutcome,
        at: float, detail: str = "",
    ) -> None:
        self._move(call_id, call, trigger, at)
        self.live.call_finished(call_id, at)
        self._step.append(CallFinished(call_id, outcome, at, detail))

    def _stale(self, event: Any, subject: str, why: str) -> list[Command]:
        kind = type(event).__name__
        self.stale[kind] += 1
        self._step.append(StaleEvent(kind, subject, why, event.at))
        return []

    # --- calls ----------------------------------------------------------------------------

    def _on_arrived(self, event: CallArrived) -> list[Command]:
        call_id = event.call_id
        if call_id in self._calls or self.acd.knows(call_id):
            raise KernelError(f"call {call_id!r} is already in the centre")
        mode = self._mode.current
        line = self._lines(event.line, mode)
        if line is None or not line[2]:
            # A number routed here by mistake, or switched off: never leave a citizen in
            # silence, and keep the call on record.
            reason = UNKNOWN_LINE if line is None else LINE_DISABLED
            language: str = self._default_language
            if line is not None and line[1]:
                language = line[1]
            self._step.append(CallStarted(
                call_id, event.line, event.caller, "", language, mode, event.at))
            self._step.append(CallFinished(call_id, CallOutcome.REFUSED, event.at, reason))
            return [Hangup(call_id, reason)]
        flow, line_language, _ = line
        context = CallContext(
            call_id, event.line, event.caller, event.at,
            language=line_language or self._default_language, mode=mode,
        )
        state, ivr_commands = self.engine.start(context, self._env, flow)
        call = _Call(event.line, event.caller, CallStage.IVR, None, context.language, context)
        self._calls[call_id] = call
        self._step.append(CallStarted(
            call_id, event.line, event.caller, flow, context.language, mode, event.at))
        return self._after_ivr(call_id, call, state, ivr_commands, event.at)

    def _on_call_event(
        self,
        event: DigitsReceived | SpeechRecognized | SpeechStarted | NoInput | PlaybackFinished
        | RecordingFinished | TransferFailed,
    ) -> list[Command]:
        call_id = event.call_id
        call = self._calls.get(call_id)
        kind = type(event)
        if call is None:
            if isinstance(event, DigitsReceived) and self.acd.knows(call_id):
                return self._take(self.acd.handle(event))  # a callback citizen's keys
            return self._stale(event, call_id, "the call has ended")
        stage = call.stage
        if stage is CallStage.IVR or (
            stage is CallStage.TRANSFERRING and kind is TransferFailed
        ):
            assert call.ivr is not None
            if self._remembering is not None:
                self._remembering.last = None
            try:
                state, commands = self.engine.step(call.ivr, event, self._env)
            except IllegalEvent as exc:
                # A late report (a collect timing out as a key came, a playback ending
                # twice): the session is exactly as it was.
                return self._stale(event, call_id, str(exc))
            if kind is SpeechRecognized:
                assert isinstance(event, SpeechRecognized)
                self._interpreted(call_id, event)
            elif kind is RecordingFinished:
                call.message = True
            if stage is CallStage.TRANSFERRING:
                self._move(call_id, call, StageTrigger.TRANSFER_FAILED, event.at)
            return self._after_ivr(call_id, call, state, commands, event.at)
        if stage is CallStage.RECORDING and kind in (RecordingFinished, NoInput):
            # The exit message is stored (it becomes a work order): say goodbye.
            self._finish(call_id, call, StageTrigger.MESSAGE_STORED, CallOutcome.MESSAGE,
                         event.at)
            return [Hangup(call_id, MESSAGE_RECORDED)]
        if isinstance(event, DigitsReceived) and stage in (
            CallStage.WAITING, CallStage.RINGING, CallStage.TALKING
        ):
            # A key on hold: the ACD's callback key books a callback, other keys do nothing.
            return self._take(self.acd.handle(event))
        if kind in (PlaybackFinished, SpeechStarted, DigitsReceived):
            return []  # the end of a queue announcement, keys while recording
        return self._stale(event, call_id, f"not expected while {stage.value}")

    def _interpreted(self, call_id: str, event: SpeechRecognized) -> None:
        if event.intent is not None:
            intent: str | None = event.intent
            confidence = event.confidence
        else:
            found = self._remembering.last if self._remembering is not None else None
            intent = found.label if found is not None else None
            confidence = found.confidence if found is not None else 0.0
        self._step.append(SpeechInterpreted(call_id, event.text, intent, confidence, event.at))

    def _after_ivr(
        self, call_id: str, call: _Call, state: IvrState, commands: list[IvrCommand], at: float
    ) -> list[Command]:
        """Store the session; hand a terminal command to the ACD in this same step."""
        previous = call.ivr
        call.ivr = state
        if previous is None or previous.node != state.node:
            self._step.append(IvrNodeEntered(call_id, state.node, at))
        out: list[Command] = []
        for command in commands:
            out.append(command)
            kind = type(command)
            if kind is Enqueue:
                assert isinstance(command, Enqueue)
                try:
                    result = self.acd.enqueue(command, line=call.line, caller=call.caller, at=at)
                except AcdError as exc:
                    return self._refuse_hand_off(call_id, call, command, exc, out, at)
                self._move(call_id, call, StageTrigger.ENQUEUED, at)
                out.extend(self._take(result))
            elif kind is RequestCallback:
                assert isinstance(command, RequestCallback)
                try:
                    result = self.acd.request_callback(command, line=call.line, at=at)
                except AcdError as exc:
                    return self._refuse_hand_off(call_id, call, command, exc, out, at)
                if any(type(c) is Record for c in result.commands):
                    # No callback can be promised now: the caller leaves a message instead.
                    self._move(call_id, call, StageTrigger.LEFT_TO_MESSAGE, at)
                    out.extend(self._take(result))
                    continue
                self._finish(call_id, call, StageTrigger.IVR_FINISHED, CallOutcome.CALLBACK, at)
                out.extend(self._take(result))
                # The request keeps the place; the citizen's line is done.
                out.append(Hangup(call_id, CALLBACK_REGISTERED))
            elif kind is Transfer:
                assert isinstance(command, Transfer)
                call.destination = command.destination
                self._move(call_id, call, StageTrigger.TRANSFER_SENT, at)
            elif kind is Hangup:
                assert isinstance(command, Hangup)
                outcome = CallOutcome.MESSAGE if call.message else CallOutcome.SELF_SERVICE
                self._finish(call_id, call, StageTrigger.IVR_FINISHED, outcome, at,
                             command.reason)
        return out

    def _refuse_hand_off(
        self, call_id: str, call: _Call, command: Enqueue | RequestCallback, error: AcdError,
        out: list[Command], at: float,
    ) -> list[Command]:
        """The ACD refused the flow's hand-off (a queue the config check should have caught).

        The caller must not be left in silence with a finished IVR session: end the call
        politely and keep the problem for the operators (`refusals`).
        """
        self._finish(call_id, call, StageTrigger.REFUSED, CallOutcome.REFUSED, at, QUEUE_REFUSED)
        self.refusals.append(Refusal(call_id, type(command).__name__, command.queue, str(error)))
        out.append(Hangup(call_id, QUEUE_REFUSED))
        return out

    def _on_hung_up(self, event: CallerHungUp) -> list[Command]:
        call_id = event.call_id
        call = self._calls.get(call_id)
        if call is None:
            if self.acd.knows(call_id):
                # The citizen of a callback hung up (on hold for the agent, or talking).
                return self._take(self.acd.handle(event))
            # Hang-ups race with our own `Hangup`: a second report of the end is harmless.
            return self._stale(event, call_id, "the call has ended")
        stage = call.stage
        at = event.at
        if stage is CallStage.IVR:
            assert call.ivr is not None
            self.engine.step(call.ivr, event, self._env)
            outcome = CallOutcome.MESSAGE if call.message else CallOutcome.ABANDONED_IN_IVR
            self._finish(call_id, call, StageTrigger.HUNG_UP, outcome, at)
            return []
        if stage in (CallStage.WAITING, CallStage.RINGING, CallStage.TALKING):
            return self._take(self.acd.handle(event))
        if stage is CallStage.TRANSFERRING:
            self._finish(call_id, call, StageTrigger.HUNG_UP, CallOutcome.TRANSFERRED, at,
                         call.destination)
        else:  # recording its exit message: what was said is kept
            self._finish(call_id, call, StageTrigger.HUNG_UP, CallOutcome.MESSAGE, at)
        return []

    def _on_timer(self, event: TimerFired) -> list[Command]:
        if event.timer.startswith(ACD_TIMER_PREFIX):
            return self._take(self.acd.handle(event))
        if event.call_id == MODE_TIMER_OWNER:
            back = self._mode.return_due(event.timer, event.at)
            if back is None:
                return self._stale(event, event.call_id, "a replaced mode return")
            return self._switch(back)
        call = self._calls.get(event.call_id)
        if call is None or call.stage is not CallStage.IVR or call.ivr is None:
            return self._stale(event, event.call_id, "an IVR timer for a call not in the IVR")
        try:
            state, commands = self.engine.step(call.ivr, event, self._env)
        except IllegalEvent as exc:
            return self._stale(event, event.call_id, str(exc))
        return self._after_ivr(event.call_id, call, state, commands, event.at)

    # --- the centre mode ----------------------------------------------------------------

    def _on_mode_switched(self, event: ModeSwitched) -> list[Command]:
        self._mode.check(event)
        return self._switch(event)

    def _switch(self, event: ModeSwitched) -> list[Command]:
        switch = self._mode.switch(event)
        self._step.append(switch.fact)
        out: list[Command] = list(switch.timers)
        if switch.changed:
            out.extend(self._take(self.acd.apply_mode(event.mode, event.at)))
        return out

    # --- the ACD ------------------------------------------------------------------------

    def _to_acd(self, event: Any) -> list[Command]:
        return self._take(self.acd.handle(event))

    def _take(self, result: AcdOutput) -> list[Command]:
        """Record the ACD's facts and move the stages of the calls they are about."""
        calls = self._calls
        step = self._step
        # Resolved first: the calls the facts below let go of still know their language.
        commands: list[Command] = [
            self._spoken(command) if type(command) is Announce else command
            for command in result.commands
        ]
        handed_on: list[str] = []
        for fact in result.facts:
            step.append(fact)
            if not isinstance(fact, _STAGE_FACTS):
                continue
            call = calls.get(fact.call_id)
            if call is None:
                continue  # a callback request's facts: requests have no call stage
            if isinstance(fact, CallCompleted):
                if call.stage is CallStage.TRANSFERRING:
                    continue  # the first agent's conversation of a transfer: the call goes on
                self._finish(fact.call_id, call, StageTrigger.TALK_ENDED, CallOutcome.ANSWERED,
                             fact.at)
            elif isinstance(fact, CallTransferred):
                self._move(fact.call_id, call, StageTrigger.HANDED_ON, fact.at)
                handed_on.append(fact.call_id)
            elif isinstance(fact, CallAbandoned | TransferAbandoned):
                self._finish(fact.call_id, call, StageTrigger.HUNG_UP,
                             CallOutcome.ABANDONED_IN_QUEUE, fact.at)
            elif isinstance(fact, CallExited | TransferExited):
                if fact.action == ExitAction.RECORD.value:
                    self._move(fact.call_id, call, StageTrigger.LEFT_TO_MESSAGE, fact.at)
                else:
                    self._finish(fact.call_id, call, StageTrigger.LEFT_TO_CALLBACK,
                                 CallOutcome.CALLBACK, fact.at, fact.reason)
            elif isinstance(fact, CallAnswered | TransferAnswered):
                self._move(fact.call_id, call, StageTrigger.ANSWERED, fact.at)
            else:
                self._move(fact.call_id, call, StageTrigger.RING_LOST, fact.at)
        at = self._step[0].at
        for command in commands:
            if type(command) is RingSeat:
                call = calls.get(command.call_id)
                if call is not None and call.stage in (CallStage.WAITING, CallStage.TRANSFERRING):
                    self._move(command.call_id, call, StageTrigger.RUNG, at)
        for call_id in handed_on:
            call = calls.get(call_id)
            if call is not None and call.stage is CallStage.TRANSFERRING:
                self._move(call_id, call, StageTrigger.ENQUEUED, at)  # no seat yet: it waits
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
            announce.callback_key, announce.callback_by,
        )
