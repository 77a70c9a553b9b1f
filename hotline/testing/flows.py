"""`run_flow`: play a scripted caller through a flow and read what happened.

For tests and for config authors trying a flow change:

    from hotline.testing import Press, Say, Silence, run_flow, sample_engine

    run = run_flow(sample_engine(), ["2", Say("楼下饭店油烟扰民，我要投诉")], line="12345")
    print(run.text())          # what the caller heard, what they did, where the call ended
    assert run.terminal == Enqueue(...)  # or look at run.ending / run.commands

The harness plays the other side of the wire: a driver that finishes every prompt, a
caller who answers each question with the next script step, a recording that is always
stored, and a transfer that connects (unless `transfer_fails=True`). When the script runs
out, the caller stays silent, so every flow must still end. Time is virtual: each event
comes one second after the previous one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from hotline.ivr.engine import Ending, FlowEngine, IvrState, Phase
from hotline.ivr.environment import Environment, Hours, StaticEnvironment
from hotline.ivr.files import SAMPLE_CONFIG, load_ivr_config
from hotline.testing.fakes import KeywordClassifier, Utterance, satisfaction_classifier
from hotline.vocabulary.commands import (
    CollectDigits,
    Enqueue,
    Hangup,
    IvrCommand,
    Play,
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
    TransferFailed,
)
from hotline.vocabulary.ports import TextClassifier


@dataclass(frozen=True, slots=True)
class Press:
    """The caller presses keys (for a menu, the first key counts)."""

    digits: str


@dataclass(frozen=True, slots=True)
class Say:
    """The caller says something; the recogniser reports it with `confidence`."""

    text: str
    confidence: float = 0.9
    intent: str | None = None


@dataclass(frozen=True, slots=True)
class Silence:
    """The caller lets the question time out."""


@dataclass(frozen=True, slots=True)
class SwitchMode:
    """A supervisor switches the centre's mode now (takes no caller turn).

    Needs a `StaticEnvironment` (the default); the call sees it at its next decision."""

    mode: str


Step = Press | Say | Silence | SwitchMode | Utterance | str | None
"""A script step. A string of keys (`"1"`, `"20200101#"`) is a `Press`, any other string
a `Say`, `None` a `Silence`."""


class ScriptError(ValueError):
    """The script asks something the call cannot do at that point (e.g. speech while the
    IVR only listens for keys)."""


def _step(item: Step) -> Press | Say | Silence | SwitchMode:
    if item is None:
        return Silence()
    if isinstance(item, str):
        stripped = item.rstrip("#")
        return Press(stripped) if stripped and all(c in "0123456789*#" for c in item) \
            else Say(item)
    if isinstance(item, Utterance):
        return Say(item.text, item.confidence, item.intent)
    return item


@dataclass(frozen=True, slots=True)
class Turn:
    """One step of the call: the event the IVR got (None at the start) and its answer."""

    event: IvrEvent | None
    commands: tuple[IvrCommand, ...]
    node: str  # where the session was after this turn


@dataclass
class FlowRun:
    """The transcript of one scripted call."""

    turns: list[Turn] = field(default_factory=list)
    state: IvrState | None = None
    unused_script: int = 0  # script steps never reached

    @property
    def commands(self) -> list[IvrCommand]:
        return [c for turn in self.turns for c in turn.commands]

    @property
    def ending(self) -> Ending | None:
        return self.state.ending if self.state is not None else None

    @property
    def terminal(self) -> IvrCommand | None:
        """The last terminal command (`Enqueue`, `Transfer`, `RequestCallback`, `Hangup`)."""
        found = [c for c in self.commands if isinstance(c, Enqueue | Transfer | RequestCallback
                                                       | Hangup)]
        return found[-1] if found else None

    @property
    def heard(self) -> list[str]:
        """Prompt ids the caller heard, in order."""
        return [p.id for c in self.commands if isinstance(c, Play) for p in c.prompts]

    @property
    def variables(self) -> dict[str, str]:
        return dict(self.state.variables) if self.state is not None else {}

    @property
    def nodes(self) -> list[str]:
        """The node after each turn (repeats when a question is asked again)."""
        return [t.node for t in self.turns]

    def text(self) -> str:
        """A readable transcript: what the caller hears and does, and how the call ends."""
        lines: list[str] = []
        for turn in self.turns:
            event = turn.event
            if isinstance(event, DigitsReceived):
                lines.append(f"caller presses {event.digits or '(nothing)'}")
            elif isinstance(event, SpeechRecognized):
                lines.append(f"caller says “{event.text}” (confidence {event.confidence:.2f})")
            elif isinstance(event, NoInput):
                lines.append("caller says nothing")
            elif isinstance(event, CallerHungUp):
                lines.append("caller hangs up")
            elif isinstance(event, RecordingFinished):
                lines.append(f"caller leaves a message ({event.duration_s:.0f} s)")
            elif isinstance(event, TransferFailed):
                lines.append(f"transfer failed ({event.cause})")
            for command in turn.commands:
                lines.extend(_describe(command))
        if self.state is not None and self.state.ending is None:
            lines.append(f"(the call is still in the IVR at {self.state.node})")
        return "\n".join(lines)


def _describe(command: IvrCommand) -> list[str]:
    if isinstance(command, Play):
        return [f"IVR: {p.text}" for p in command.prompts]
    if isinstance(command, CollectDigits):
        size = (f"{command.min_digits}" if command.min_digits == command.max_digits
                else f"{command.min_digits}-{command.max_digits}")
        return [f"   (waits for {size} key(s))"]
    if isinstance(command, Recognize):
        if command.grammar:
            return [f"   (listens for: {' / '.join(command.grammar)}"
                    f"{'; keys too' if command.also_digits else ''})"]
        return ["   (listens to free speech)"]
    if isinstance(command, Record):
        return [f"   (records a {command.purpose}, up to {command.max_duration_s:.0f} s)"]
    if isinstance(command, SetVariable):
        return [f"   (sets {command.name} = {command.value})"]
    if isinstance(command, Enqueue):
        extra = f"priority {command.priority}"
        if command.skills:
            extra += f", skills {', '.join(command.skills)}"
        if command.tags:
            extra += f", tags {', '.join(command.tags)}"
        return [f"=> queued in {command.queue!r} ({extra})"]
    if isinstance(command, Transfer):
        return [f"=> transferred to {command.destination}"]
    if isinstance(command, RequestCallback):
        return [f"=> callback booked to {command.number} via {command.queue!r}"]
    if isinstance(command, Hangup):
        return [f"=> IVR hangs up ({command.reason})"]
    return [f"   ({type(command).__name__})"]


DEFAULT_AT = datetime.fromisoformat("2020-02-10T10:00:00+08:00").timestamp()
"""A Monday morning in office hours, China Standard Time."""


def parse_at(value: float | str) -> float:
    """Epoch seconds from a number or an ISO time (`2020-02-10T20:00+08:00`; a time without
    an offset is read in China Standard Time)."""
    if isinstance(value, int | float):
        return float(value)
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = datetime.fromisoformat(value + "+08:00")
    return parsed.timestamp()


def run_flow(
    engine: FlowEngine,
    script: Sequence[Step] = (),
    *,
    flow: str | None = None,
    line: str = "12345",
    caller: str = "13912345678",
    language: str = "zh",
    env: Environment | None = None,
    mode: str | None = None,
    at: float | str = DEFAULT_AT,
    hang_up_after: int | None = None,
    transfer_fails: bool = False,
    report_playback: bool = True,
    strict: bool = False,
    max_events: int = 500,
) -> FlowRun:
    """Play `script` through a call to `line` (or straight into `flow`); see the module doc.

    `env` defaults to `StaticEnvironment(mode=mode or "normal")`; `mode` also overrides a
    given `StaticEnvironment`'s mode. `hang_up_after=n` hangs up instead of the n-th event
    (0 = right after the greeting starts). `report_playback` sends `PlaybackFinished` before
    each answer, as real drivers do. Speech while the IVR only takes keys (or keys while
    it only listens to speech) is not heard, like on a real line: it counts as silence,
    or raises `ScriptError` when `strict`. Raises `RuntimeError` if the call is still
    going after `max_events` events.
    """
    environment: Environment = env if env is not None else StaticEnvironment()
    if mode is not None:
        if not isinstance(environment, StaticEnvironment):
            raise ScriptError("`mode=` needs a StaticEnvironment; set the mode in `env`")
        environment = replace(environment, mode=mode)
    steps = [_step(item) for item in script]
    now = parse_at(at)
    call = CallContext(f"call-{line}", line, caller, now, language, environment.mode)
    if flow is None and line not in engine.line_flows:
        flow = line  # convenience: a flow named like the line
    state, commands = engine.start(call, environment, flow)
    run = FlowRun([Turn(None, tuple(commands), state.node)], state)
    pending_play = any(isinstance(c, Play) for c in commands)
    keys_heard = _keys_heard(commands, True)
    sent = 0
    while state.phase is not Phase.ENDED:
        if state.phase is Phase.TRANSFERRING and not transfer_fails:
            break  # connected elsewhere: the IVR's part is over
        if sent >= max_events:
            raise RuntimeError(f"call still in the IVR after {max_events} events at {state.node}")
        now += 1.0
        event: IvrEvent
        if hang_up_after is not None and sent == hang_up_after:
            event = CallerHungUp(call.call_id, now)
        elif state.phase is Phase.PLAYING:
            event = PlaybackFinished(call.call_id, now)
        elif state.phase is Phase.RECORDING:
            event = RecordingFinished(call.call_id, now, f"{call.call_id}-{state.node}", 20.0)
        elif state.phase is Phase.TRANSFERRING:
            event = TransferFailed(call.call_id, now, "busy")
        elif report_playback and pending_play:
            event = PlaybackFinished(call.call_id, now)
        else:
            while steps and isinstance(steps[0], SwitchMode):
                switch = steps.pop(0)
                assert isinstance(switch, SwitchMode)
                if not isinstance(environment, StaticEnvironment):
                    raise ScriptError("SwitchMode needs a StaticEnvironment")
                environment = replace(environment, mode=switch.mode)
            event = _answer(state, steps.pop(0) if steps else Silence(), now, keys_heard,
                            strict)
        state, commands = engine.step(state, event, environment)
        sent += 1
        pending_play = any(isinstance(c, Play) for c in commands)
        keys_heard = _keys_heard(commands, keys_heard)
        run.turns.append(Turn(event, tuple(commands), state.node))
        run.state = state
    run.unused_script = len(steps)
    return run


def _keys_heard(commands: Sequence[IvrCommand], before: bool) -> bool:
    """Whether the driver is listening for keys after these commands."""
    for command in reversed(commands):
        if isinstance(command, CollectDigits):
            return True
        if isinstance(command, Recognize):
            return command.also_digits
    return before


def _answer(state: IvrState, step: Press | Say | Silence | SwitchMode, now: float,
            keys_heard: bool, strict: bool) -> IvrEvent:
    if isinstance(step, Press):
        if keys_heard:
            return DigitsReceived(state.call_id, step.digits.rstrip("#"), now)
        if strict:
            raise ScriptError(f"the caller presses {step.digits!r} but {state.node} only "
                              "listens to speech")
    elif isinstance(step, Say):
        if state.phase is Phase.LISTENING:
            return SpeechRecognized(state.call_id, step.text, step.confidence, now, step.intent)
        if strict:
            raise ScriptError(f"the caller speaks ({step.text!r}) but {state.node} only "
                              "takes keys")
    return NoInput(state.call_id, now)


SAMPLE_INTENTS = {
    "complaint": ("投诉", "扰民", "噪音", "油烟", "乱收费", "不作为"),
    "consultation": ("咨询", "请问", "怎么办理", "政策"),
    "enterprise": ("企业", "公司", "营业执照", "复工"),
    "epidemic": ("疫情", "核酸", "隔离", "口罩", "健康码"),
}
"""Keywords for a request classifier fake matching the sample flows' intents."""


def sample_classifier() -> TextClassifier:
    return KeywordClassifier(SAMPLE_INTENTS)


SAMPLE_LINES: Mapping[str, str] = {
    "12345": "main",
    "12380": "main",
    "12345-8": "enterprise",
    "12350": "safety",
    "12345-6": "safety",
    "962110": "police",
    "12345-9": "english",
}
"""Dialled line -> flow, as in the shipped `config/centre.yaml`."""

SAMPLE_LINE_SCHEDULES: Mapping[str, str] = {"12345-8": "office", "12345-9": "extended"}
"""Lines with business hours in the sample centre (others are open 24/7)."""

EXTENDED_HOURS: Mapping[int, Hours] = {
    **{day: (("08:00", "20:00"),) for day in range(5)}, 5: (("09:00", "17:00"),)}
"""The sample's `extended` schedule (English service): weekdays 8-20, Saturday 9-17."""


def sample_environment(mode: str = "normal", **changes: Any) -> StaticEnvironment:
    """A `StaticEnvironment` shaped like the sample centre: schedules `office` (Mon-Fri
    08:30-12:00, 13:30-17:30 CST), `extended` and `always`, closed on `cn` holidays;
    `changes` override fields."""
    env = StaticEnvironment(mode=mode, line_schedules=dict(SAMPLE_LINE_SCHEDULES))
    env = replace(env, hours={**env.hours, "extended": EXTENDED_HOURS},
                  closed_on={"office": "cn", "extended": "cn"})
    return replace(env, **changes)


def sample_engine(config_dir: Path | None = None, *,
                  classifier: TextClassifier | None = None,
                  satisfaction: TextClassifier | None = None) -> FlowEngine:
    """An engine over the shipped sample flows, with keyword fakes for the classifiers.

    Lines as in `SAMPLE_LINES`; every flow can also be started by its own name
    (`run_flow(engine, line="survey")`)."""
    flows, prompts = load_ivr_config(config_dir or SAMPLE_CONFIG)
    lines = {name: name for name in flows}
    lines.update(SAMPLE_LINES)
    return FlowEngine(flows, prompts,
                      classifier=classifier if classifier is not None else sample_classifier(),
                      satisfaction=satisfaction if satisfaction is not None
                      else satisfaction_classifier(),
                      line_flows={k: v for k, v in lines.items() if v in flows})
