"""Walking the flow graph as a caller would: which way a node sends the call, per mode.

Used by the time-to-a-person check (`hotline.ivr.validate.check_intake`) and by the
time-to-queue estimate (`hotline.ivr.durations.time_to_queue`). Nodes are named by a
key `"flow:node"` so walks cross flows (`goto: "enterprise:"`).

`mode=None` means "in any mode": every branch case may be taken and a menu offers the
options of every mode.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hotline.ivr.model import (
    BranchNode,
    CallbackNode,
    CollectNode,
    Condition,
    Flow,
    GotoNode,
    MenuNode,
    Node,
    PlayNode,
    QueueNode,
    RecordNode,
    SetNode,
    SpeechNode,
    SurveyNode,
    split_ref,
)

InputNode = MenuNode | CollectNode | SpeechNode | CallbackNode | SurveyNode


def resolve(flows: Mapping[str, Flow], ref: str, flow: str) -> str | None:
    """`ref` as written in flow `flow` -> `"flow:node"`, or None when it does not resolve."""
    target_flow, node = split_ref(ref, flow)
    found = flows.get(target_flow)
    if found is None:
        return None
    node = node or found.start
    return f"{target_flow}:{node}" if node in found.nodes else None


def mode_prompts(node: Node, mode: str | None) -> tuple[str, ...]:
    """The prompts a node plays (asks) in `mode`: the mode's override, else its own."""
    prompts: tuple[str, ...] = getattr(node, "prompts", ())
    modes = getattr(node, "modes", {})
    override = modes.get(mode) if mode is not None else None
    if override is not None and override.prompts is not None:
        return tuple(override.prompts)
    return prompts


def choice_refs(node: InputNode, mode: str | None) -> list[str]:
    """Where an answer (a key, words, digits) can send the call."""
    if isinstance(node, MenuNode):
        options = {key: option.goto for key, option in node.options.items()}
        overrides = node.modes.values() if mode is None else (
            [node.modes[mode]] if mode in node.modes else [])
        extra: list[str] = []
        for override in overrides:
            if mode is not None:
                for key in override.remove:
                    options.pop(key, None)
                options.update({key: o.goto for key, o in override.replace.items()})
                options.update({key: o.goto for key, o in override.add.items()})
            else:  # any mode: everything any mode offers
                extra += [o.goto for o in (*override.replace.values(), *override.add.values())]
        return [*options.values(), *extra]
    if isinstance(node, CollectNode | SurveyNode):
        return [node.next]
    if isinstance(node, SpeechNode):
        refs = list(node.intents.values())
        return refs + ([node.default] if node.default is not None else [])
    # A callback node: accepting ends the IVR with a callback request (no queue now).
    return [node.on_decline]


def silent_refs(node: PlayNode | RecordNode | SetNode) -> list[str]:
    return [node.next]


@dataclass(frozen=True)
class Walk:
    """The flows of a centre, walked in one centre mode (or any, with `mode=None`)."""

    flows: Mapping[str, Flow]
    mode: str | None

    def node(self, key: str) -> tuple[Flow | None, Node | None]:
        flow_name, _, name = key.partition(":")
        flow = self.flows.get(flow_name)
        if flow is None:
            return None, None
        return flow, flow.nodes.get(name)

    def branch_refs(self, node: SetNode | GotoNode | BranchNode) -> list[str]:
        """Where a node that needs no caller input may send the call."""
        if isinstance(node, SetNode):
            return [node.next]
        if isinstance(node, GotoNode):
            return [node.target]
        refs: list[str] = []
        for case in node.cases:
            modes = case.when.mode
            if self.mode is not None and modes is not None:
                if self.mode not in modes:
                    continue  # cannot hold in this mode
                if _only_mode(case.when):
                    return [*refs, case.goto]  # always holds in this mode: the rest is dead
            refs.append(case.goto)
        return [*refs, node.default]

    def on_failure(self, flow: Flow, node: InputNode) -> str | None:
        """Where the call goes when the caller does not answer (retries used up)."""
        return node.on_failure if node.on_failure is not None else flow.defaults.on_failure

    def no_input_reaches_queue(self, key: str) -> bool:
        """Whether a caller who answers nothing from node `key` on ends up in a queue.

        Branches count as reaching a queue when any of their ways does: they depend on
        the line, the hours or the caller's number, never on the caller choosing.
        """
        return self._quiet_to_queue(key, frozenset())

    def _quiet_to_queue(self, key: str, seen: frozenset[str]) -> bool:
        if key in seen:
            return False
        seen = seen | {key}
        flow, node = self.node(key)
        if flow is None or node is None:
            return False
        if isinstance(node, QueueNode):
            return True
        refs: list[str]
        if isinstance(node, PlayNode):
            refs = [node.next]
        elif isinstance(node, SetNode | GotoNode | BranchNode):
            refs = self.branch_refs(node)
        elif isinstance(node, InputNode):
            failure = self.on_failure(flow, node)
            refs = [failure] if failure is not None else []
        else:  # hang-up, transfer, recording: not a person now
            return False
        targets = (resolve(self.flows, ref, flow.name) for ref in refs)
        return any(t is not None and self._quiet_to_queue(t, seen) for t in targets)

    def successors(self, key: str) -> list[str]:
        """Every node the call may go to next from `key` (answers, silence, branches)."""
        flow, node = self.node(key)
        if flow is None or node is None:
            return []
        refs: list[str] = []
        if isinstance(node, PlayNode | RecordNode):
            refs = [node.next]
        elif isinstance(node, SetNode | GotoNode | BranchNode):
            refs = self.branch_refs(node)
        elif isinstance(node, InputNode):
            failure = self.on_failure(flow, node)
            refs = choice_refs(node, self.mode) + ([failure] if failure is not None else [])
        targets = (resolve(self.flows, ref, flow.name) for ref in refs)
        return [t for t in targets if t is not None]

    def reachable(self, keys: list[str]) -> set[str]:
        """Every node key reachable from `keys` (included)."""
        seen: set[str] = set()
        todo = list(keys)
        while todo:
            key = todo.pop()
            if key in seen:
                continue
            seen.add(key)
            todo.extend(self.successors(key))
        return seen

    def is_queue(self, key: str) -> bool:
        return isinstance(self.node(key)[1], QueueNode)


def _only_mode(when: Condition) -> bool:
    """A condition that says nothing but the mode."""
    return when.model_fields_set <= {"mode"}
