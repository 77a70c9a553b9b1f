"""Flows compiled once into plain frozen dataclasses the engine runs on.

The pydantic models are for reading and checking files; the engine's hot path wants
plain attribute reads and dict lookups. Compiling does the work a step would otherwise
repeat: defaults filled in from the flow, references made absolute (`flow:node`), `goto`
chains followed, per-mode menus merged, spoken phrases normalised.

`compile_flows` refuses flows whose references do not resolve (`FlowError`); run
`hotline.ivr.validate.check_flows` first for the full list of problems with field paths.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from hotline.ivr.model import (
    BranchNode,
    CallbackNode,
    CollectNode,
    Condition,
    Flow,
    GotoNode,
    HangupNode,
    MenuNode,
    MenuOption,
    Node,
    PlayNode,
    QueueNode,
    RecordNode,
    SetNode,
    SpeechNode,
    SurveyNode,
    TransferNode,
    split_ref,
)

DEFAULT_MODE = ""
"""Key of the prompts/options used in every mode without its own override."""

_NOT_SPOKEN = re.compile(r"[\W_]+", re.UNICODE)


def normalise_speech(text: str) -> str:
    """Lower case without spaces or punctuation, so "企业服务。" matches "企业 服务"."""
    return _NOT_SPOKEN.sub("", text).lower()


class FlowError(ValueError):
    """The flows cannot be compiled (a reference or prompt does not resolve)."""


class Kind(Enum):
    PLAY = "play"
    MENU = "menu"
    COLLECT = "collect"
    SPEECH = "speech"
    BRANCH = "branch"
    QUEUE = "queue"
    TRANSFER = "transfer"
    RECORD = "record"
    CALLBACK = "callback"
    SURVEY = "survey"
    SET = "set"
    HANGUP = "hangup"

    __hash__ = object.__hash__  # singletons; fast lookups in the engine's tables


PromptsByMode = Mapping[str, tuple[str, ...]]
"""Prompt ids by mode; `DEFAULT_MODE` holds those for every other mode."""


def prompts_for(table: PromptsByMode, mode: str) -> tuple[str, ...]:
    found = table.get(mode)
    return found if found is not None else table[DEFAULT_MODE]


@dataclass(frozen=True, slots=True)
class Retry:
    """What an input node does when the caller says nothing or something unusable."""

    retries: int
    no_input: tuple[str, ...]
    no_match: tuple[str, ...]
    on_failure: str  # absolute node key
    timeout_s: float
    min_confidence: float


@dataclass(frozen=True, slots=True)
class Option:
    key: str
    goto: str
    phrases: tuple[str, ...]  # normalised
    variables: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class MenuTable:
    """A menu as it stands in one mode."""

    prompts: tuple[str, ...]
    options: Mapping[str, Option]  # by key
    phrases: tuple[tuple[str, str], ...]  # (normalised phrase, key), longest phrase first
    grammar: tuple[str, ...]  # phrases as written, for the recogniser


@dataclass(frozen=True, slots=True)
class Cond:
    modes: frozenset[str] | None
    line_open: bool | None
    open: str | None
    closed: str | None
    holiday: str | None
    not_holiday: str | None
    minutes: tuple[int, int] | None  # local time of day window [from, to), may wrap midnight
    caller_in: str | None
    caller_not_in: str | None
    variables: tuple[tuple[str, str], ...]
    unset: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CNode:
    """One compiled node. Fields not used by its `kind` keep their neutral defaults."""

    key: str  # "flow:node"
    kind: Kind
    language: str | None  # the node's flow switches the call to this language
    prompts: PromptsByMode
    next: str = ""
    interruptible: bool = True
    retry: Retry | None = None
    menus: Mapping[str, MenuTable] | None = None  # MENU: by mode, DEFAULT_MODE for others
    repeat_key: str | None = None
    variable: str | None = None
    min_digits: int = 1
    max_digits: int = 1
    terminator: str = "#"
    inter_digit_timeout_s: float = 3.0
    pattern: re.Pattern[str] | None = None
    intents: Mapping[str, str] | None = None  # SPEECH: label -> node key
    default: str | None = None
    intent_variable: str | None = None
    min_label_confidence: float = 0.0
    max_utterance_s: float = 15.0
    cases: tuple[tuple[Cond, str], ...] = ()
    queue: str = ""
    priority: int = 0
    skills: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    destination: str = ""
    on_failure: str | None = None  # TRANSFER
    max_duration_s: float = 120.0
    beep: bool = True
    purpose: str = "message"
    accept_key: str = "1"
    decline_key: str = "2"
    answer_phrases: tuple[tuple[str, bool], ...] = ()  # CALLBACK: (normalised, accepted)
    grammar: tuple[str, ...] = ()
    number_variable: str | None = None
    keys: Mapping[str, str] | None = None  # SURVEY: key -> label
    speech: bool = False
    assignments: tuple[tuple[str, str], ...] = ()  # SET
    reason: str = "normal"


@dataclass(frozen=True, slots=True)
class FlowSet:
    """All compiled nodes of a centre by absolute key, and each flow's start key."""

    nodes: Mapping[str, CNode]
    starts: Mapping[str, str]  # flow name -> absolute key of its first real node

    def start_of(self, flow: str) -> CNode:
        try:
            return self.nodes[self.starts[flow]]
        except KeyError:
            raise FlowError(f"no flow named {flow!r}") from None


# --- compiling -------------------------------------------------------------------------


def compile_flows(flows: Mapping[str, Flow]) -> FlowSet:
    """Compile every flow; refs across flows resolve against this same mapping."""
    compiler = _Compiler(flows)
    nodes: dict[str, CNode] = {}
    for flow in flows.values():
        for name, node in flow.nodes.items():
            if isinstance(node, GotoNode):
                continue  # followed at compile time; nothing to run
            key = f"{flow.name}:{name}"
            nodes[key] = compiler.node(flow, key, node)
    starts = {name: compiler.resolve(flow, flow.start, ("start",)) for name, flow in flows.items()}
    return FlowSet(nodes=nodes, starts=starts)


class _Compiler:
    def __init__(self, flows: Mapping[str, Flow]) -> None:
        self.flows = flows

    def resolve(self, flow: Flow, ref: str, where: tuple[str, ...]) -> str:
        """Absolute key of the node `ref` leads to, following `goto` nodes."""
        seen: list[str] = []
        current_flow, node_name = flow, ref
        while True:
            flow_name, name = split_ref(node_name, current_flow.name)
            target = self.flows.get(flow_name)
            if target is None:
                raise FlowError(f"{flow.name}: {'.'.join(where)}: no flow named {flow_name!r}")
            name = name or target.start
            node = target.nodes.get(name)
            if node is None:
                raise FlowError(f"{flow.name}: {'.'.join(where)}: no node named {name!r}"
                                f" in flow {flow_name!r}")
            key = f"{flow_name}:{name}"
            if not isinstance(node, GotoNode):
                return key
            if key in seen:
                raise FlowError(f"{flow.name}: {'.'.join(where)}: goto loop through {seen}")
            seen.append(key)
            current_flow, node_name = target, node.target

    def retry(self, flow: Flow, node: MenuNode | CollectNode | SpeechNode | CallbackNode
              | SurveyNode, name: str, min_confidence: float | None) -> Retry:
        d = flow.defaults
        failure = node.on_failure if node.on_failure is not None else d.on_failure
        if failure is None:
            raise FlowError(f"{flow.name}: nodes.{name}: no on_failure and no default one")
        return Retry(
            retries=node.retries if node.retries is not None else d.retries,
            no_input=node.no_input if node.no_input is not None else d.no_input,
            no_match=node.no_match if node.no_match is not None else d.no_match,
            on_failure=self.resolve(flow, failure, ("nodes", name, "on_failure")),
            timeout_s=node.timeout_s if node.timeout_s is not None else d.timeout_s,
            min_confidence=min_confidence if min_confidence is not None else d.min_confidence,
        )

    def node(self, flow: Flow, key: str, node: Node) -> CNode:
        name = key.partition(":")[2]

        def ref(value: str, *field: str) -> str:
            return self.resolve(flow, value, ("nodes", name, *field))

        prompts: dict[str, tuple[str, ...]] = {DEFAULT_MODE: getattr(node, "prompts", ())}
        for mode, override in getattr(node, "modes", {}).items():
            if override.prompts is not None:
                prompts[mode] = override.prompts
        lang = flow.language
        if isinstance(node, PlayNode):
            return CNode(key, Kind.PLAY, lang, prompts, next=ref(node.next, "next"),
                         interruptible=node.interruptible)
        if isinstance(node, MenuNode):
            return CNode(key, Kind.MENU, lang, prompts,
                         retry=self.retry(flow, node, name, node.min_confidence),
                         menus=self.menus(flow, name, node, prompts), repeat_key=node.repeat_key)
        if isinstance(node, CollectNode):
            return CNode(key, Kind.COLLECT, lang, prompts, next=ref(node.next, "next"),
                         retry=self.retry(flow, node, name, None), variable=node.variable,
                         min_digits=node.min_digits, max_digits=node.max_digits,
                         terminator=node.terminator,
                         inter_digit_timeout_s=node.inter_digit_timeout_s,
                         pattern=re.compile(node.pattern) if node.pattern else None)
        if isinstance(node, SpeechNode):
            return CNode(key, Kind.SPEECH, lang, prompts,
                         retry=self.retry(flow, node, name, node.min_confidence),
                         intents={k: ref(v, "intents", k) for k, v in node.intents.items()},
                         default=ref(node.default, "default") if node.default else None,
                         variable=node.variable, intent_variable=node.intent_variable,
                         min_label_confidence=node.min_intent_confidence,
                         max_utterance_s=node.max_utterance_s)
        if isinstance(node, BranchNode):
            cases = tuple((_condition(c.when), ref(c.goto, "cases", str(i), "goto"))
                          for i, c in enumerate(node.cases))
            return CNode(key, Kind.BRANCH, lang, prompts, cases=cases,
                         default=ref(node.default, "default"))
        if isinstance(node, QueueNode):
            return CNode(key, Kind.QUEUE, lang, prompts, interruptible=False, queue=node.queue,
                         priority=node.priority, skills=node.skills, tags=node.tags)
        if isinstance(node, TransferNode):
            return CNode(key, Kind.TRANSFER, lang, prompts, interruptible=False,
                         destination=node.destination,
                         on_failure=ref(node.on_failure, "on_failure") if node.on_failure
                         else None)
        if isinstance(node, RecordNode):
            return CNode(key, Kind.RECORD, lang, prompts, interruptible=False,
                         next=ref(node.next, "next"), max_duration_s=node.max_duration_s,
                         beep=node.beep, purpose=node.purpose, variable=node.variable)
        if isinstance(node, CallbackNode):
            answers = tuple(sorted(
                [(normalise_speech(p), True) for p in node.accept_say]
                + [(normalise_speech(p), False) for p in node.decline_say],
                key=lambda pair: -len(pair[0])))
            return CNode(key, Kind.CALLBACK, lang, prompts,
                         retry=self.retry(flow, node, name, node.min_confidence),
                         queue=node.queue, priority=node.priority, skills=node.skills,
                         tags=node.tags, accept_key=node.accept_key,
                         decline_key=node.decline_key, answer_phrases=answers,
                         grammar=(*node.accept_say, *node.decline_say),
                         default=ref(node.on_decline, "on_decline"),
                         number_variable=node.number_variable, speech=bool(answers))
        if isinstance(node, SurveyNode):
            return CNode(key, Kind.SURVEY, lang, prompts, next=ref(node.next, "next"),
                         retry=self.retry(flow, node, name, node.min_confidence),
                         variable=node.variable, keys=dict(node.keys), speech=node.speech,
                         min_label_confidence=node.min_label_confidence)
        if isinstance(node, SetNode):
            return CNode(key, Kind.SET, lang, prompts, next=ref(node.next, "next"),
                         assignments=tuple(node.variables.items()))
        if isinstance(node, HangupNode):
            return CNode(key, Kind.HANGUP, lang, prompts, interruptible=False,
                         reason=node.reason)
        raise FlowError(f"{key}: cannot compile a {type(node).__name__}")  # pragma: no cover

    def menus(self, flow: Flow, name: str, node: MenuNode,
              prompts: Mapping[str, tuple[str, ...]]) -> dict[str, MenuTable]:
        def option(key: str, opt: MenuOption, *where: str) -> Option:
            return Option(key, self.resolve(flow, opt.goto, ("nodes", name, *where, key, "goto")),
                          tuple(normalise_speech(p) for p in opt.say), tuple(opt.set.items()))

        base = {k: option(k, o, "options") for k, o in node.options.items()}
        tables = {DEFAULT_MODE: _table(prompts[DEFAULT_MODE], base, node.options)}
        for mode, override in node.modes.items():
            options = dict(base)
            written = dict(node.options)
            for k in override.remove:
                options.pop(k, None)
                written.pop(k, None)
            for k, o in {**override.replace, **override.add}.items():
                section = "replace" if k in override.replace else "add"
                options[k] = option(k, o, "modes", mode, section)
                written[k] = o
            tables[mode] = _table(prompts_for(prompts, mode), options, written)
        return tables


def _table(prompts: tuple[str, ...], options: dict[str, Option],
           written: Mapping[str, MenuOption]) -> MenuTable:
    phrases = sorted(((p, o.key) for o in options.values() for p in o.phrases if p),
                     key=lambda pair: -len(pair[0]))
    grammar = tuple(p for k in options for p in written[k].say)
    return MenuTable(prompts, options, tuple(phrases), grammar)


def _minutes(hhmm: str) -> int:
    hours, _, minutes = hhmm.partition(":")
    return int(hours) * 60 + int(minutes)


def _condition(c: Condition) -> Cond:
    return Cond(
        modes=frozenset(c.mode) if c.mode is not None else None,
        line_open=c.line_open,
        open=c.open,
        closed=c.closed,
        holiday=c.holiday,
        not_holiday=c.not_holiday,
        minutes=(_minutes(c.time_between[0]), _minutes(c.time_between[1]))
        if c.time_between else None,
        caller_in=c.caller_in,
        caller_not_in=c.caller_not_in,
        variables=tuple(c.variables.items()),
        unset=c.unset,
    )
