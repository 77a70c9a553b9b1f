"""The flow file model: what a `config/flows/*.yaml` file may say, as pydantic models.

A flow is a named graph of nodes. Each node has a `type` (the discriminator) and sends
the call on by naming another node: `next`, `goto`, `on_failure`, ... A reference is
either a node of the same flow (`main_menu`) or a node of another flow (`enterprise:menu`;
`enterprise:` alone means that flow's `start`). Prompts are ids into the prompt
catalogue (`config/prompts.yaml`, see `hotline.ivr.prompts`).

Retries, no-input / no-match prompts and the fallback after retries are data on each
input node; anything left out is taken from the flow's `defaults`, so flow files stay
short. Per-mode differences (emergency announcements, extra menu options) are data too,
under `modes: {emergency: {...}}` on the node.

A short flow:

    name: safety
    start: menu
    defaults: {no_input: no_input, no_match: no_match, on_failure: report_queue}
    nodes:
      menu:
        type: menu
        prompts: safety_menu
        options:
          1: {goto: urgent_queue, say: [紧急, 正在发生]}
          2: {goto: report_queue, say: [举报]}
        modes:
          emergency: {add: {4: {goto: "main:epidemic_queue", say: [疫情]}}}
      urgent_queue: {type: queue, queue: safety, priority: 10, tags: [urgent]}
      report_queue: {type: queue, queue: safety}

The models only check the shape of one file. Whether references resolve, every path
ends properly and prompts exist in every language is `hotline.ivr.validate`'s job,
because that needs the whole centre.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_-]*$"
REF_PATTERN = r"^(?:[A-Za-z_][A-Za-z0-9_-]*:)?(?:[A-Za-z_][A-Za-z0-9_-]*)?$"
DTMF_KEYS = frozenset("0123456789*#")

Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
"""A node, flow, queue, variable... name: letters, digits, `_` and `-`."""

NodeRef = Annotated[str, StringConstraints(pattern=REF_PATTERN, min_length=1)]
"""`node`, `flow:node` or `flow:` (that flow's start node)."""


def _as_tuple(value: Any) -> Any:
    # YAML authors write a single prompt id as a plain string; accept it as a list of one.
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(value)
    return value


def _str_keys(value: Any) -> Any:
    # Unquoted YAML keys such as `1:` arrive as ints; menu keys are strings.
    if isinstance(value, dict):
        return {str(k) if isinstance(k, int) else k: v for k, v in value.items()}
    return value


def _str_values(value: Any) -> Any:
    # `set: {priority: 5}` or `{vip: true}` are natural YAML; call variables are strings.
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for k, v in value.items():
            if isinstance(v, bool):
                out[k] = "true" if v else "false"
            elif isinstance(v, int | float):
                out[k] = str(v)
            else:
                out[k] = v
        return out
    return value


def _key_tuple(value: Any) -> Any:
    # `remove: [4]` or `remove: 4` from YAML: keys are strings.
    if isinstance(value, str | int):
        return (str(value),)
    if isinstance(value, list):
        return tuple(str(v) if isinstance(v, int) else v for v in value)
    return value


PromptIds = Annotated[tuple[Annotated[str, StringConstraints(min_length=1)], ...],
                      BeforeValidator(_as_tuple)]
"""Prompt ids played in order (a single id may be written as a plain string)."""

Names = Annotated[tuple[Name, ...], BeforeValidator(_as_tuple)]
Phrases = Annotated[tuple[Annotated[str, StringConstraints(min_length=1)], ...],
                    BeforeValidator(_as_tuple)]
Variables = Annotated[dict[Name, str], BeforeValidator(_str_values)]
DtmfKey = Annotated[str, StringConstraints(pattern=r"^[0-9*#]$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- shared pieces ---------------------------------------------------------------------


class InputDefaults(_Model):
    """Defaults for every input node of a flow (menu, collect, speech, callback, survey)."""

    retries: int = Field(default=2, ge=0, le=9)
    no_input: PromptIds = ()
    no_match: PromptIds = ()
    on_failure: NodeRef | None = None
    timeout_s: float = Field(default=5.0, gt=0, le=60)
    min_confidence: float = Field(default=0.5, ge=0, le=1)


class _InputFields(_Model):
    """Fields every input node shares; `None` means "take the flow's default"."""

    prompts: PromptIds = ()
    retries: int | None = Field(default=None, ge=0, le=9)
    no_input: PromptIds | None = None
    no_match: PromptIds | None = None
    on_failure: NodeRef | None = None
    timeout_s: float | None = Field(default=None, gt=0, le=60)


class PromptOverride(_Model):
    """What a node says differently in a centre mode (e.g. `emergency`)."""

    prompts: PromptIds | None = None


# --- nodes -----------------------------------------------------------------------------


class PlayNode(_Model):
    """Play prompts, then continue at `next`."""

    type: Literal["play"]
    description: str = ""
    prompts: PromptIds
    next: NodeRef
    interruptible: bool = False  # a key press skips the rest of the prompts
    modes: dict[Name, PromptOverride] = {}


class MenuOption(_Model):
    """One menu choice: reached by its key (the dict key) or by any of its spoken words."""

    goto: NodeRef
    say: Phrases = ()
    set: Variables = {}  # call variables recorded when the caller picks this option
    description: str = ""


MenuOptions = Annotated[dict[DtmfKey, MenuOption], BeforeValidator(_str_keys)]


class MenuModeOverride(_Model):
    """How a menu differs in a mode: other prompts, options added, replaced or removed."""

    prompts: PromptIds | None = None
    add: MenuOptions = {}
    replace: MenuOptions = {}
    remove: Annotated[tuple[DtmfKey, ...], BeforeValidator(_key_tuple)] = ()


class MenuNode(_InputFields):
    """Offer choices by key and, when options have `say` words, by voice."""

    type: Literal["menu"]
    description: str = ""
    options: MenuOptions
    repeat_key: DtmfKey | None = None  # replays the menu without using up a retry
    min_confidence: float | None = Field(default=None, ge=0, le=1)
    modes: dict[Name, MenuModeOverride] = {}

    @field_validator("options")
    @classmethod
    def _some_options(cls, value: dict[str, MenuOption]) -> dict[str, MenuOption]:
        if not value:
            raise ValueError("a menu needs at least one option")
        return value


class CollectNode(_InputFields):
    """Collect digits (e.g. a work-order number), check them, store them in `variable`."""

    type: Literal["collect"]
    description: str = ""
    variable: Name
    next: NodeRef
    min_digits: int = Field(default=1, ge=1, le=64)
    max_digits: int = Field(default=1, ge=1, le=64)
    terminator: Literal["#", "*", ""] = "#"
    inter_digit_timeout_s: float = Field(default=3.0, gt=0, le=60)
    pattern: str | None = None  # full-match regular expression the digits must satisfy
    modes: dict[Name, PromptOverride] = {}

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _length_range(self) -> CollectNode:
        if self.min_digits > self.max_digits:
            raise ValueError(
                f"min_digits ({self.min_digits}) is larger than max_digits ({self.max_digits})"
            )
        return self


class SpeechNode(_InputFields):
    """Free speech ("please tell us your request") classified into an intent."""

    type: Literal["speech"]
    description: str = ""
    intents: dict[Name, NodeRef]  # classifier label -> where to go
    default: NodeRef | None = None  # understood speech but no listed intent; else no-match
    variable: Name | None = None  # store the transcript here (shown to the agent)
    intent_variable: Name | None = None  # store the chosen intent label here
    min_confidence: float | None = Field(default=None, ge=0, le=1)  # recogniser confidence
    min_intent_confidence: float = Field(default=0.3, ge=0, le=1)  # classifier confidence
    max_utterance_s: float = Field(default=15.0, gt=0, le=120)
    modes: dict[Name, PromptOverride] = {}


class Condition(_Model):
    """Everything given must hold (an empty condition always holds)."""

    mode: Names | None = None  # centre mode is one of these
    line_open: bool | None = None  # the call's line is within its business hours (or not)
    open: Name | None = None  # the named schedule is open now
    closed: Name | None = None  # the named schedule is closed now
    holiday: Name | None = None  # today is a holiday in this calendar
    not_holiday: Name | None = None
    time_between: tuple[str, str] | None = None  # local "HH:MM" from (incl.) to (excl.)
    caller_in: Name | None = None  # caller number is on this list
    caller_not_in: Name | None = None
    variables: Variables = {}  # call variables equal these values
    unset: Names = ()  # these call variables are not set

    @field_validator("time_between")
    @classmethod
    def _hhmm(cls, value: tuple[str, str] | None) -> tuple[str, str] | None:
        if value is not None:
            for part in value:
                if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", part):
                    raise ValueError(f"{part!r} is not a time of day as HH:MM")
        return value


class BranchCase(_Model):
    when: Condition
    goto: NodeRef


class BranchNode(_Model):
    """Decide without caller input; the first case whose condition holds wins."""

    type: Literal["branch"]
    description: str = ""
    cases: tuple[BranchCase, ...] = ()
    default: NodeRef


class QueueNode(_Model):
    """Hand the caller to the ACD (terminal)."""

    type: Literal["queue"]
    description: str = ""
    queue: Name
    priority: int = Field(default=0, ge=0, le=100)
    skills: Names = ()
    tags: Names = ()
    prompts: PromptIds = ()  # e.g. "transferring you to an agent"
    modes: dict[Name, PromptOverride] = {}


class TransferNode(_Model):
    """Send the call elsewhere (another hotline, 110, a department)."""

    type: Literal["transfer"]
    description: str = ""
    destination: Annotated[str, StringConstraints(min_length=1)]
    prompts: PromptIds = ()
    on_failure: NodeRef | None = None  # where to go when the transfer cannot connect
    modes: dict[Name, PromptOverride] = {}


class RecordNode(_Model):
    """Record a message that becomes a work order, then continue at `next`."""

    type: Literal["record"]
    description: str = ""
    prompts: PromptIds = ()  # e.g. "please leave your message after the tone"
    next: NodeRef
    max_duration_s: float = Field(default=120.0, gt=0, le=600)
    beep: bool = True
    purpose: Name = "message"
    variable: Name = "recording"  # the driver's recording name is stored here
    modes: dict[Name, PromptOverride] = {}


class CallbackNode(_InputFields):
    """Offer a callback instead of waiting: accepted -> `RequestCallback` (terminal)."""

    type: Literal["callback"]
    description: str = ""
    queue: Name
    priority: int = Field(default=0, ge=0, le=100)
    skills: Names = ()
    tags: Names = ()
    accept_key: DtmfKey = "1"
    decline_key: DtmfKey = "2"
    accept_say: Phrases = ("好的", "需要", "回电", "yes")
    decline_say: Phrases = ("不用", "不需要", "no")
    on_decline: NodeRef
    number_variable: Name | None = None  # call back this variable's number, not the caller's
    min_confidence: float | None = Field(default=None, ge=0, le=1)
    modes: dict[Name, PromptOverride] = {}


SATISFACTION_LABELS = ("satisfied", "basically_satisfied", "dissatisfied")


class SurveyNode(_InputFields):
    """Ask for satisfaction; store the answer label in `variable`; continue at `next`."""

    type: Literal["survey"]
    description: str = ""
    next: NodeRef
    variable: Name = "satisfaction"
    keys: Annotated[dict[DtmfKey, str], BeforeValidator(_str_keys)] = {
        "1": "satisfied",
        "2": "basically_satisfied",
        "3": "dissatisfied",
    }
    speech: bool = True  # also understand spoken answers through the satisfaction classifier
    min_confidence: float | None = Field(default=None, ge=0, le=1)
    min_label_confidence: float = Field(default=0.4, ge=0, le=1)
    modes: dict[Name, PromptOverride] = {}


class SetNode(_Model):
    """Set call variables, then continue at `next`."""

    type: Literal["set"]
    description: str = ""
    variables: Variables
    next: NodeRef


class HangupNode(_Model):
    """Say goodbye politely, then hang up (terminal)."""

    type: Literal["hangup"]
    description: str = ""
    prompts: PromptIds = ()
    reason: Name = "normal"
    modes: dict[Name, PromptOverride] = {}


class GotoNode(_Model):
    """Jump to a node of this or another flow (`flow:node`, or `flow:` for its start)."""

    type: Literal["goto"]
    description: str = ""
    target: NodeRef


Node = Annotated[
    PlayNode
    | MenuNode
    | CollectNode
    | SpeechNode
    | BranchNode
    | QueueNode
    | TransferNode
    | RecordNode
    | CallbackNode
    | SurveyNode
    | SetNode
    | HangupNode
    | GotoNode,
    Field(discriminator="type"),
]

InputNode = MenuNode | CollectNode | SpeechNode | CallbackNode | SurveyNode
"""Nodes that wait for the caller (and so have retries and fallbacks)."""


class Flow(_Model):
    """One flow file."""

    name: Name
    description: str = ""
    start: Name
    language: str | None = None  # calls entering this flow switch to this language
    defaults: InputDefaults = InputDefaults()
    nodes: dict[Name, Node]  # `start` naming a missing node is reported by the validator


def split_ref(ref: str, flow: str) -> tuple[str, str | None]:
    """`"x"` -> (flow, "x"); `"f:x"` -> ("f", "x"); `"f:"` -> ("f", None) meaning f's start."""
    if ":" in ref:
        target_flow, _, node = ref.partition(":")
        return target_flow, node or None
    return flow, ref
