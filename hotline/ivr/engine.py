"""The flow engine: one call's IVR session as a pure state machine.

    state, commands = engine.start(call, env)
    state, commands = engine.step(state, event, env)   # for every event of that call

No I/O and no clock: time comes from the event (`at`), the world from the `Environment`.
`IvrState` is frozen, so an event the state does not allow raises `IllegalEvent` and the
caller's state is simply the one they already hold. Which event each phase accepts is
one table (`_HANDLERS`), read top to bottom like h11's.

Drivers report `PlaybackFinished` only for the latest `Play` (a playback stopped because
the caller answered is not reported later), and keys or speech only while the last
`CollectDigits` / `Recognize` is listening.

A session ends with exactly one terminal command (`Enqueue`, `Transfer`,
`RequestCallback`, `Hangup`) or with the caller hanging up (no command). The one way
back from a terminal command is a `TransferFailed` after a `Transfer`, which continues at
the transfer node's `on_failure` (or hangs up politely when it has none).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum

from hotline.ivr.compiled import (
    DEFAULT_MODE,
    CNode,
    Cond,
    FlowError,
    FlowSet,
    Kind,
    MenuTable,
    Option,
    compile_flows,
    normalise_speech,
    prompts_for,
)
from hotline.ivr.environment import Environment
from hotline.ivr.model import Flow
from hotline.ivr.prompts import PromptCatalogue
from hotline.vocabulary.commands import (
    CollectDigits,
    Enqueue,
    Hangup,
    IvrCommand,
    Play,
    Prompt,
    Recognize,
    Record,
    RequestCallback,
    SetVariable,
    Transfer,
)
from hotline.vocabulary.events import (
    CallContext,
    CallerHungUp,
    DigitsReceived,
    IvrEvent,
    NoInput,
    PlaybackFinished,
    RecordingFinished,
    SpeechRecognized,
    SpeechStarted,
    TransferFailed,
)
from hotline.vocabulary.ports import TextClassifier


class Phase(Enum):
    """What the session is waiting for."""

    PLAYING = "playing"  # a play node's prompts to finish
    COLLECTING = "collecting"  # keys only
    LISTENING = "listening"  # speech (and keys where the node takes them)
    RECORDING = "recording"  # the caller's message to be stored
    TRANSFERRING = "transferring"  # `Transfer` sent; only a failure report may follow
    ENDED = "ended"

    # Members are singletons: identity hashing is correct and much faster than Enum's
    # name hashing on the per-event table lookup.
    __hash__ = object.__hash__


class Ending(Enum):
    """How the session ended (set together with `Phase.ENDED` / `TRANSFERRING`)."""

    ENQUEUED = "enqueued"
    TRANSFERRED = "transferred"
    CALLBACK = "callback"
    HUNG_UP = "hung_up"  # the IVR said goodbye
    CALLER_HUNG_UP = "caller_hung_up"


@dataclass(frozen=True, slots=True)
class IvrState:
    """One call's IVR session. Never mutated: every step returns a new one."""

    call_id: str
    line: str
    caller: str
    language: str
    mode: str  # the centre mode seen at the last decision (menus offer what it says)
    node: str  # "flow:node" of the node entered last
    phase: Phase
    attempts: int  # failed inputs at the current node (no input / no match)
    variables: Mapping[str, str]  # never mutated; replaced as a whole on change
    ending: Ending | None = None

    @property
    def flow(self) -> str:
        return self.node.partition(":")[0]

    @property
    def finished(self) -> bool:
        """A terminal command was sent, or the caller hung up."""
        return self.ending is not None


class IllegalEvent(Exception):
    """The event is not allowed in the session's state; the state is unchanged."""

    def __init__(self, state: IvrState, event: IvrEvent, why: str) -> None:
        self.state = state
        self.event = event
        super().__init__(
            f"{type(event).__name__} not allowed while {state.phase.value} at {state.node}: {why}"
        )


_ENDED_BY: Mapping[Kind, Ending] = {Kind.QUEUE: Ending.ENQUEUED, Kind.HANGUP: Ending.HUNG_UP}
_TAKES_DIGITS_WHILE_LISTENING = frozenset({Kind.MENU, Kind.CALLBACK, Kind.SURVEY})


class FlowEngine:
    """Runs compiled flows. Holds no call state: that lives in each call's `IvrState`.

    `classifier` maps free speech to intents (speech nodes); `satisfaction` maps spoken
    survey answers to `satisfied` / `basically_satisfied` / `dissatisfied`.
    `fallback_language` is the centre's default language, used only when the centre is
    configured to fall back (prompts missing in the call's language).
    `line_flows` maps a dialled line to the flow its calls start in.
    """

    def __init__(
        self,
        flows: Mapping[str, Flow] | FlowSet,
        prompts: PromptCatalogue,
        *,
        classifier: TextClassifier | None = None,
        satisfaction: TextClassifier | None = None,
        fallback_language: str | None = None,
        line_flows: Mapping[str, str] | None = None,
    ) -> None:
        self.flows = flows if isinstance(flows, FlowSet) else compile_flows(flows)
        self.prompts = prompts
        self.classifier = classifier
        self.satisfaction = satisfaction
        self.fallback_language = fallback_language
        self.line_flows = dict(line_flows or {})
        self._nodes = self.flows.nodes
        self._max_hops = len(self._nodes) + 1
        self._resolved: dict[tuple[tuple[str, ...], str], tuple[Prompt, ...]] = {}
        for key in {id_ for node in self._nodes.values() for ids in node.prompts.values()
                    for id_ in ids}:
            if key not in prompts:
                raise FlowError(f"no prompt named {key!r} in the prompt catalogue")

    # --- public ---------------------------------------------------------------------

    def start(
        self, call: CallContext, env: Environment, flow: str | None = None
    ) -> tuple[IvrState, list[IvrCommand]]:
        """Begin a session in `flow` (default: the flow of the call's line)."""
        name = flow if flow is not None else self.line_flows.get(call.line)
        if name is None:
            raise FlowError(f"no flow for line {call.line!r}")
        first = self.flows.start_of(name)
        state = IvrState(call.call_id, call.line, call.caller, call.language, env.mode,
                         first.key, Phase.PLAYING, 0, dict(call.variables))
        commands: list[IvrCommand] = []
        return self._enter(state, first.key, env, call.at, commands, state.variables), commands

    def step(
        self, state: IvrState, event: IvrEvent, env: Environment
    ) -> tuple[IvrState, list[IvrCommand]]:
        """Apply one event of this call. Raises `IllegalEvent` (state unchanged)."""
        if state.phase is Phase.ENDED:
            raise IllegalEvent(state, event, "the IVR session has ended")
        if event.call_id != state.call_id:
            raise IllegalEvent(state, event, f"event is for call {event.call_id!r}")
        if type(event) is CallerHungUp:
            # Nothing more to say to someone who is gone; the centre cleans up.
            return _ended(state, Ending.CALLER_HUNG_UP, state.variables), []
        handler = _HANDLERS.get((state.phase, type(event)))
        if handler is None:
            raise IllegalEvent(state, event, "not expected in this phase")
        commands: list[IvrCommand] = []
        return handler(self, state, self._nodes[state.node], event, env, commands), commands

    def node(self, key: str) -> CNode:
        return self._nodes[key]

    # --- entering nodes (the one place a session moves) --------------------------------

    def _enter(self, state: IvrState, key: str, env: Environment, at: float,
               out: list[IvrCommand], variables: Mapping[str, str]) -> IvrState:
        """Move to `key`, running decision nodes until one waits or ends the session."""
        language = state.language
        mode = env.mode  # a mode switch shows at the next decision
        nodes = self._nodes
        for _ in range(self._max_hops):
            node = nodes[key]
            if node.language is not None:
                language = node.language
            kind = node.kind
            if kind is Kind.BRANCH:
                key = self._decide(node, state, env, at, mode, variables)
                continue
            if kind is Kind.SET:
                variables = {**variables, **dict(node.assignments)}
                for name, value in node.assignments:
                    out.append(SetVariable(state.call_id, name, value))
                key = node.next
                continue
            if node.retry is not None:  # an input node; `_ask` sets the listening phase
                moved = _move(state, key, Phase.COLLECTING, language, mode, 0, variables)
                return self._ask(moved, node, 0, (), out)
            prompts = self._prompts(prompts_for(node.prompts, mode), language)
            if kind is Kind.PLAY:
                if not prompts:
                    key = node.next
                    continue
                out.append(Play(state.call_id, prompts, node.interruptible))
                return _move(state, key, Phase.PLAYING, language, mode, 0, variables)
            if prompts:
                out.append(Play(state.call_id, prompts, False))
            call_id = state.call_id
            if kind is Kind.QUEUE:
                out.append(Enqueue(call_id, node.queue, node.priority, node.skills, node.tags))
            elif kind is Kind.HANGUP:
                out.append(Hangup(call_id, node.reason))
            elif kind is Kind.TRANSFER:
                out.append(Transfer(call_id, node.destination))
                return _move(state, key, Phase.TRANSFERRING, language, mode, 0, variables,
                             Ending.TRANSFERRED)
            elif kind is Kind.RECORD:
                out.append(Record(call_id, node.max_duration_s, node.beep, node.purpose))
                return _move(state, key, Phase.RECORDING, language, mode, 0, variables)
            else:  # pragma: no cover - every kind is handled above
                raise FlowError(f"{key}: cannot run a {kind.value} node")
            return _move(state, key, Phase.ENDED, language, mode, 0, variables, _ENDED_BY[kind])
        raise FlowError(f"more than {self._max_hops} nodes without caller input from {key}")

    def _ask(self, state: IvrState, node: CNode, attempts: int, lead: tuple[str, ...],
             out: list[IvrCommand]) -> IvrState:
        """(Re)play an input node's question and listen; `lead` = retry prompts first."""
        retry = node.retry
        assert retry is not None
        call_id, mode, language = state.call_id, state.mode, state.language
        listen: CollectDigits | Recognize
        kind = node.kind
        if kind is Kind.MENU:
            table = self._menu(node, mode)
            ids = lead + table.prompts
            if table.grammar:
                listen = Recognize(call_id, language, table.grammar, retry.timeout_s,
                                   node.max_utterance_s, retry.min_confidence, True)
            else:
                listen = CollectDigits(call_id, 1, 1, "", retry.timeout_s, retry.timeout_s)
        else:
            ids = lead + prompts_for(node.prompts, mode)
            if kind is Kind.COLLECT:
                listen = CollectDigits(call_id, node.min_digits, node.max_digits, node.terminator,
                                       retry.timeout_s, node.inter_digit_timeout_s)
            elif kind is Kind.SPEECH:
                listen = Recognize(call_id, language, (), retry.timeout_s, node.max_utterance_s,
                                   retry.min_confidence, False)
            elif node.speech:  # callback offer or survey that also understands speech
                listen = Recognize(call_id, language, node.grammar, retry.timeout_s,
                                   node.max_utterance_s, retry.min_confidence, True)
            else:
                listen = CollectDigits(call_id, 1, 1, "", retry.timeout_s, retry.timeout_s)
        prompts = self._prompts(ids, language)
        if prompts:
            out.append(Play(call_id, prompts, True))
        out.append(listen)
        phase = Phase.LISTENING if type(listen) is Recognize else Phase.COLLECTING
        return _move(state, state.node, phase, language, mode, attempts, state.variables)

    def _retry(self, state: IvrState, node: CNode, no_input: bool, env: Environment,
               at: float, out: list[IvrCommand]) -> IvrState:
        retry = node.retry
        assert retry is not None
        attempts = state.attempts + 1
        if attempts > retry.retries:
            return self._enter(state, retry.on_failure, env, at, out, state.variables)
        # Asking again is a decision too: it sees the current mode.
        again = _move(state, state.node, state.phase, state.language, env.mode, attempts,
                      state.variables)
        return self._ask(again, node, attempts, retry.no_input if no_input else retry.no_match,
                         out)

    def _menu(self, node: CNode, mode: str) -> MenuTable:
        menus = node.menus
        assert menus is not None
        table = menus.get(mode)
        return table if table is not None else menus[DEFAULT_MODE]

    def _prompts(self, ids: tuple[str, ...], language: str) -> tuple[Prompt, ...]:
        memo = self._resolved.get((ids, language))
        if memo is None:
            memo = tuple(self._prompt(i, language) for i in ids)
            self._resolved[(ids, language)] = memo
        return memo

    def _prompt(self, prompt_id: str, language: str) -> Prompt:
        try:
            return self.prompts.resolve(prompt_id, language, self.fallback_language)
        except LookupError:
            # The validator reports this before go-live; on a live call some words in
            # another language beat silence, so use the first language the prompt has.
            other = sorted(self.prompts.languages_of(prompt_id))[0]
            return self.prompts.resolve(prompt_id, other)

    def _decide(self, node: CNode, state: IvrState, env: Environment, at: float, mode: str,
                variables: Mapping[str, str]) -> str:
        for cond, goto in node.cases:
            if _holds(cond, state, env, at, mode, variables):
                return goto
        assert node.default is not None
        return node.default

    # --- event handlers: (phase, event type) -> handler ----------------------------------

    def _playback_done(self, state: IvrState, node: CNode, event: IvrEvent, env: Environment,
                       out: list[IvrCommand]) -> IvrState:
        return self._enter(state, node.next, env, event.at, out, state.variables)

    def _play_barge_in(self, state: IvrState, node: CNode, event: IvrEvent, env: Environment,
                       out: list[IvrCommand]) -> IvrState:
        if not node.interruptible:
            raise IllegalEvent(state, event, "this announcement cannot be interrupted")
        return self._enter(state, node.next, env, event.at, out, state.variables)

    def _ignore(self, state: IvrState, node: CNode, event: IvrEvent, env: Environment,
                out: list[IvrCommand]) -> IvrState:
        # The question's prompt ended or was barged into; we keep waiting for the answer.
        return state

    def _no_input(self, state: IvrState, node: CNode, event: IvrEvent, env: Environment,
                  out: list[IvrCommand]) -> IvrState:
        return self._retry(state, node, True, env, event.at, out)

    def _digits(self, state: IvrState, node: CNode, event: IvrEvent, env: Environment,
                out: list[IvrCommand]) -> IvrState:
        assert isinstance(event, DigitsReceived)
        kind = node.kind
        if state.phase is Phase.LISTENING and kind not in _TAKES_DIGITS_WHILE_LISTENING:
            raise IllegalEvent(state, event, "this question takes speech only")
        digits = event.digits
        if not digits:
            return self._retry(state, node, True, env, event.at, out)
        at = event.at
        if kind is Kind.MENU:
            key = digits[0]  # keys typed ahead beyond the first are not a choice
            if key == node.repeat_key:
                return self._ask(state, node, state.attempts, (), out)
            option = self._menu(node, state.mode).options.get(key)
            if option is None:
                return self._retry(state, node, False, env, at, out)
            return self._choose(state, option, env, at, out)
        if kind is Kind.COLLECT:
            pattern = node.pattern
            if (not digits.isdecimal() or not digits.isascii()
                    or not node.min_digits <= len(digits) <= node.max_digits
                    or (pattern is not None and pattern.fullmatch(digits) is None)):
                return self._retry(state, node, False, env, at, out)
            return self._store(state, node, ((node.variable or "", digits),), node.next, env,
                               at, out)
        if kind is Kind.CALLBACK:
            if digits[0] == node.accept_key:
                return self._callback(state, node, env, at, out)
            if digits[0] == node.decline_key:
                assert node.default is not None
                return self._enter(state, node.default, env, at, out, state.variables)
            return self._retry(state, node, False, env, at, out)
        # Kind.SURVEY
        assert node.keys is not None
        label = node.keys.get(digits[0])
        if label is None:
            return self._retry(state, node, False, env, at, out)
        return self._store(state, node, ((node.variable or "", label),), node.next, env, at, out)

    def _speech(self, state: IvrState, node: CNode, event: IvrEvent, env: Environment,
                out: list[IvrCommand]) -> IvrState:
        assert isinstance(event, SpeechRecognized)
        retry = node.retry
        assert retry is not None
        at = event.at
        if event.confidence < retry.min_confidence:
            return self._retry(state, node, False, env, at, out)
        kind = node.kind
        if kind is Kind.MENU:
            table = self._menu(node, state.mode)
            option = _spoken_option(table, event)
            if option is None:
                return self._retry(state, node, False, env, at, out)
            return self._choose(state, option, env, at, out)
        if kind is Kind.SPEECH:
            return self._intent(state, node, event, env, out)
        if kind is Kind.CALLBACK:
            accepted = _spoken_answer(node, event)
            if accepted is None:
                return self._retry(state, node, False, env, at, out)
            if accepted:
                return self._callback(state, node, env, at, out)
            assert node.default is not None
            return self._enter(state, node.default, env, at, out, state.variables)
        # Kind.SURVEY
        label = self._satisfaction(node, event)
        if label is None:
            return self._retry(state, node, False, env, at, out)
        return self._store(state, node, ((node.variable or "", label),), node.next, env, at, out)

    def _recorded(self, state: IvrState, node: CNode, event: IvrEvent, env: Environment,
                  out: list[IvrCommand]) -> IvrState:
        assert isinstance(event, RecordingFinished | NoInput)
        recording = event.recording if isinstance(event, RecordingFinished) else ""
        if not recording:  # nothing said; the flow goes on all the same
            return self._enter(state, node.next, env, event.at, out, state.variables)
        return self._store(state, node, ((node.variable or "", recording),), node.next, env,
                           event.at, out)

    def _transfer_failed(self, state: IvrState, node: CNode, event: IvrEvent, env: Environment,
                         out: list[IvrCommand]) -> IvrState:
        if node.on_failure is not None:
            return self._enter(state, node.on_failure, env, event.at, out, state.variables)
        # No fallback written: never leave the caller in silence.
        out.append(Hangup(state.call_id, "transfer-failed"))
        return _ended(state, Ending.HUNG_UP, state.variables)

    # --- outcomes -------------------------------------------------------------------------

    def _choose(self, state: IvrState, option: Option, env: Environment, at: float,
                out: list[IvrCommand]) -> IvrState:
        variables = state.variables
        if option.variables:
            variables = {**variables, **dict(option.variables)}
            for name, value in option.variables:
                out.append(SetVariable(state.call_id, name, value))
        return self._enter(state, option.goto, env, at, out, variables)

    def _store(self, state: IvrState, node: CNode, pairs: tuple[tuple[str, str], ...],
               goto: str, env: Environment, at: float, out: list[IvrCommand]) -> IvrState:
        variables = {**state.variables, **dict(pairs)}
        for name, value in pairs:
            out.append(SetVariable(state.call_id, name, value))
        return self._enter(state, goto, env, at, out, variables)

    def _intent(self, state: IvrState, node: CNode, event: SpeechRecognized, env: Environment,
                out: list[IvrCommand]) -> IvrState:
        label = event.intent
        if label is None and self.classifier is not None and event.text.strip():
            ranked = self.classifier.classify(event.text, 1)
            if ranked and ranked[0].confidence >= node.min_label_confidence:
                label = ranked[0].label
        intents = node.intents
        assert intents is not None
        goto = intents.get(label) if label is not None else None
        if goto is None and event.text.strip():
            goto = node.default  # understood words, just no listed intent
        if goto is None:
            return self._retry(state, node, False, env, event.at, out)
        pairs: list[tuple[str, str]] = []
        if node.variable is not None:
            pairs.append((node.variable, event.text))
        if node.intent_variable is not None and label is not None:
            pairs.append((node.intent_variable, label))
        return self._store(state, node, tuple(pairs), goto, env, event.at, out)

    def _satisfaction(self, node: CNode, event: SpeechRecognized) -> str | None:
        assert node.keys is not None
        labels = node.keys.values()
        if event.intent is not None:
            return event.intent if event.intent in labels else None
        if self.satisfaction is None or not event.text.strip():
            return None
        ranked = self.satisfaction.classify(event.text, 1)
        if ranked and ranked[0].confidence >= node.min_label_confidence \
                and ranked[0].label in labels:
            return ranked[0].label
        return None

    def _callback(self, state: IvrState, node: CNode, env: Environment, at: float,
                  out: list[IvrCommand]) -> IvrState:
        number = (state.variables.get(node.number_variable, "") if node.number_variable
                  else state.caller)
        if not number:
            # Withheld number and none collected: nobody to call back; treat as declined.
            assert node.default is not None
            return self._enter(state, node.default, env, at, out, state.variables)
        out.append(RequestCallback(state.call_id, node.queue, number, node.priority,
                                   node.skills, node.tags))
        return _ended(state, Ending.CALLBACK, state.variables)


def _move(state: IvrState, node: str, phase: Phase, language: str, mode: str, attempts: int,
          variables: Mapping[str, str], ending: Ending | None = None) -> IvrState:
    """The one place a session changes state (every transition builds its state here)."""
    return IvrState(state.call_id, state.line, state.caller, language, mode, node, phase,
                    attempts, variables, ending)


def _ended(state: IvrState, ending: Ending, variables: Mapping[str, str]) -> IvrState:
    return _move(state, state.node, Phase.ENDED, state.language, state.mode, state.attempts,
                 variables, ending)


def _holds(c: Cond, state: IvrState, env: Environment, at: float, mode: str,
           variables: Mapping[str, str]) -> bool:
    if c.modes is not None and mode not in c.modes:
        return False
    if c.line_open is not None and env.line_open(state.line, at) is not c.line_open:
        return False
    if c.open is not None and not env.is_open(c.open, at):
        return False
    if c.closed is not None and env.is_open(c.closed, at):
        return False
    if c.holiday is not None and not env.is_holiday(c.holiday, at):
        return False
    if c.not_holiday is not None and env.is_holiday(c.not_holiday, at):
        return False
    if c.minutes is not None:
        start, end = c.minutes
        minute = env.minute_of_day(at)
        inside = start <= minute < end if start <= end else (minute >= start or minute < end)
        if not inside:
            return False
    if c.caller_in is not None and not env.caller_in(c.caller_in, state.caller):
        return False
    if c.caller_not_in is not None and env.caller_in(c.caller_not_in, state.caller):
        return False
    for name, value in c.variables:
        if variables.get(name) != value:
            return False
    return all(name not in variables for name in c.unset)


def _spoken_option(table: MenuTable, event: SpeechRecognized) -> Option | None:
    """The option whose key or words the caller said (longest matching phrase wins)."""
    if event.intent is not None:
        option = table.options.get(event.intent)
        if option is not None:
            return option
        spoken = normalise_speech(event.intent)
        for phrase, key in table.phrases:
            if phrase == spoken:
                return table.options[key]
    for text in (event.text, *event.alternatives):
        said = normalise_speech(text)
        if not said:
            continue
        for phrase, key in table.phrases:
            if phrase in said:
                return table.options[key]
    return None


def _spoken_answer(node: CNode, event: SpeechRecognized) -> bool | None:
    """True for accept, False for decline, None when the answer is neither."""
    for text in (event.intent or "", event.text, *event.alternatives):
        said = normalise_speech(text)
        if not said:
            continue
        for phrase, accepted in node.answer_phrases:
            if phrase in said:
                return accepted
    return None


_Handler = Callable[[FlowEngine, IvrState, CNode, IvrEvent, Environment, list[IvrCommand]],
                    IvrState]

_HANDLERS: Mapping[tuple[Phase, type], _Handler] = {
    # (phase, event) -> handler. Anything not listed is an IllegalEvent; CallerHungUp is
    # accepted in every live phase before this table is consulted.
    (Phase.PLAYING, PlaybackFinished): FlowEngine._playback_done,
    (Phase.PLAYING, DigitsReceived): FlowEngine._play_barge_in,
    (Phase.PLAYING, SpeechStarted): FlowEngine._play_barge_in,
    (Phase.COLLECTING, PlaybackFinished): FlowEngine._ignore,
    (Phase.COLLECTING, DigitsReceived): FlowEngine._digits,
    (Phase.COLLECTING, NoInput): FlowEngine._no_input,
    (Phase.LISTENING, PlaybackFinished): FlowEngine._ignore,
    (Phase.LISTENING, SpeechStarted): FlowEngine._ignore,
    (Phase.LISTENING, SpeechRecognized): FlowEngine._speech,
    (Phase.LISTENING, DigitsReceived): FlowEngine._digits,
    (Phase.LISTENING, NoInput): FlowEngine._no_input,
    (Phase.RECORDING, PlaybackFinished): FlowEngine._ignore,
    (Phase.RECORDING, RecordingFinished): FlowEngine._recorded,
    (Phase.RECORDING, NoInput): FlowEngine._recorded,
    (Phase.TRANSFERRING, PlaybackFinished): FlowEngine._ignore,
    (Phase.TRANSFERRING, TransferFailed): FlowEngine._transfer_failed,
}
