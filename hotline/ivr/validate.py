"""Checks a centre's flows before they go live, with a field path for every problem.

    problems = check_flows(flows, FlowCheckContext(prompts=..., queues=..., ...))
    # {"main": [Problem(("nodes", "main_menu", "options", "3", "goto"), "no node named ...")]}

Paths are relative to the flow file's root so the loader can turn them into
file:line:column. A path may end in a list index where the file wrote a single string
(`prompts: greeting`); map such a path to its longest prefix that exists.

Rules: the start node exists; references resolve (nodes, flows, queues, skills, modes,
schedules, calendars, caller lists, prompts, transfer destinations), with a "did you
mean" suggestion; every node can be reached; no loop can repeat without the caller
answering; every input node has somewhere to go when retries run out; prompts exist in
every language a call can be in when it reaches them; menu keys and spoken words do
not collide (also after per-mode changes).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from hotline.ivr.compiled import normalise_speech
from hotline.ivr.model import (
    SATISFACTION_LABELS,
    BranchNode,
    CallbackNode,
    CollectNode,
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
from hotline.ivr.prompts import PromptCatalogue
from hotline.ivr.reach import Walk, resolve
from hotline.vocabulary.problems import PathPart, Problem

Path = tuple[PathPart, ...]
INPUT_NODES = (MenuNode, CollectNode, SpeechNode, CallbackNode, SurveyNode)


@dataclass(frozen=True)
class FlowCheckContext:
    """What the flows may refer to, from the rest of the centre's configuration.

    `languages`: flow name -> languages of the lines that start calls in it. Flows
    reached from other flows inherit those callers' languages (unless the flow sets its
    own `language`); flows nobody starts in or reaches (e.g. outbound survey calls) need
    `default_language`. `fallback_language`: set when the centre is configured to play
    prompts in its default language when the caller's is missing. `None` for `skills`,
    `transfer_destinations` or `intents` means "not checked".
    """

    prompts: PromptCatalogue
    queues: frozenset[str]
    modes: frozenset[str]
    schedules: frozenset[str]
    calendars: frozenset[str]
    caller_lists: frozenset[str]
    languages: Mapping[str, frozenset[str]] = field(default_factory=dict)
    default_language: str = "zh"
    fallback_language: str | None = None
    skills: frozenset[str] | None = None
    transfer_destinations: frozenset[str] | None = None
    intents: frozenset[str] | None = None


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """` (did you mean 'x'?)` for the closest known name, or nothing."""
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_flows(flows: Mapping[str, Flow], ctx: FlowCheckContext) -> dict[str, list[Problem]]:
    """Every problem of every flow, by flow name (flows without problems map to [])."""
    checker = _Checker(flows, ctx)
    return {name: checker.check(name, flow) for name, flow in flows.items()}


# --- what each node refers to ------------------------------------------------------------


def node_refs(name: str, node: Node) -> Iterator[tuple[Path, str]]:
    """(path, reference) for every place the node sends the call on."""
    base: Path = ("nodes", name)
    if isinstance(node, PlayNode | CollectNode | RecordNode | SurveyNode | SetNode):
        yield (*base, "next"), node.next
    if isinstance(node, GotoNode):
        yield (*base, "target"), node.target
    if isinstance(node, MenuNode):
        for key, option in node.options.items():
            yield (*base, "options", key, "goto"), option.goto
        for mode, override in node.modes.items():
            for section, options in (("add", override.add), ("replace", override.replace)):
                for key, option in options.items():
                    yield (*base, "modes", mode, section, key, "goto"), option.goto
    if isinstance(node, SpeechNode):
        for intent, target in node.intents.items():
            yield (*base, "intents", intent), target
        if node.default is not None:
            yield (*base, "default"), node.default
    if isinstance(node, BranchNode):
        for i, case in enumerate(node.cases):
            yield (*base, "cases", i, "goto"), case.goto
        yield (*base, "default"), node.default
    if isinstance(node, CallbackNode):
        yield (*base, "on_decline"), node.on_decline
    if isinstance(node, (*INPUT_NODES, TransferNode)) and node.on_failure is not None:
        yield (*base, "on_failure"), node.on_failure


def node_prompts(name: str, node: Node) -> Iterator[tuple[Path, str]]:
    """(path, prompt id) for every prompt the node may play."""
    base: Path = ("nodes", name)
    for field_name in ("prompts", "no_input", "no_match"):
        ids = getattr(node, field_name, None)
        for i, prompt in enumerate(ids or ()):
            yield (*base, field_name, i), prompt
    for mode, override in getattr(node, "modes", {}).items():
        for i, prompt in enumerate(override.prompts or ()):
            yield (*base, "modes", mode, "prompts", i), prompt


def _waits_for_caller(node: Node) -> bool:
    return isinstance(node, INPUT_NODES)


def _is_terminal(node: Node) -> bool:
    return isinstance(node, QueueNode | HangupNode)


# --- the checker ---------------------------------------------------------------------


class _Checker:
    def __init__(self, flows: Mapping[str, Flow], ctx: FlowCheckContext) -> None:
        # By the flows' own names: a flow filed under another key is reported, not fatal.
        self.flows = {flow.name: flow for flow in flows.values()}
        self.ctx = ctx
        self.edges = self._edges()
        self.dangling |= any(f.start not in f.nodes for f in self.flows.values())
        self.reachable = self._reachable()
        self.languages = self._languages()

    # graph over absolute keys "flow:node"; refs that do not resolve are left out
    def _target(self, flow: Flow, ref: str) -> str | None:
        flow_name, node = split_ref(ref, flow.name)
        target = self.flows.get(flow_name)
        if target is None:
            return None
        node = node or target.start
        return f"{flow_name}:{node}" if node in target.nodes else None

    def _edges(self) -> dict[str, list[str]]:
        self.dangling = False
        edges: dict[str, list[str]] = {}
        for flow in self.flows.values():
            default_failure = flow.defaults.on_failure
            for name, node in flow.nodes.items():
                refs = [ref for _, ref in node_refs(name, node)]
                if isinstance(node, INPUT_NODES) and node.on_failure is None \
                        and default_failure is not None:
                    refs.append(default_failure)
                targets = [self._target(flow, r) for r in refs]
                self.dangling = self.dangling or None in targets
                edges[f"{flow.name}:{name}"] = [t for t in targets if t is not None]
        return edges

    def _starts(self) -> list[str]:
        return [f"{f.name}:{f.start}" for f in self.flows.values() if f.start in f.nodes]

    def _reachable(self) -> set[str]:
        seen: set[str] = set()
        todo = self._starts()
        while todo:
            key = todo.pop()
            if key in seen:
                continue
            seen.add(key)
            todo.extend(self.edges.get(key, ()))
        return seen

    def _languages(self) -> dict[str, set[str]]:
        """Languages a call may be in at each node: propagated from each flow's callers."""
        langs: dict[str, set[str]] = {}
        todo: list[tuple[str, str]] = []
        for flow in self.flows.values():
            start = f"{flow.name}:{flow.start}"
            given = self.ctx.languages.get(flow.name)
            if not given and not self._reached_from_elsewhere(flow.name):
                given = frozenset({self.ctx.default_language})
            todo.extend((start, lang) for lang in given or ())
        while todo:
            key, lang = todo.pop()
            own = self.flows[key.partition(":")[0]].language
            lang = own or lang  # entering a flow with its own language switches to it
            have = langs.setdefault(key, set())
            if lang in have:
                continue
            have.add(lang)
            todo.extend((nxt, lang) for nxt in self.edges.get(key, ()))
        return langs

    def _reached_from_elsewhere(self, flow_name: str) -> bool:
        prefix = flow_name + ":"
        return any(
            not src.startswith(prefix) and any(t.startswith(prefix) for t in targets)
            for src, targets in self.edges.items()
        )

    # --- per flow ---------------------------------------------------------------------

    def check(self, key_name: str, flow: Flow) -> list[Problem]:
        out: list[Problem] = []
        if key_name != flow.name:
            out.append(Problem(("name",), f"flow is named {flow.name!r} but loaded as "
                               f"{key_name!r} (name it after its file)"))
        if flow.start not in flow.nodes:
            out.append(Problem(("start",), f"no node named {flow.start!r}"
                               f"{did_you_mean(flow.start, flow.nodes)}"))
        self._defaults(flow, out)
        for name, node in flow.nodes.items():
            for path, ref in node_refs(name, node):
                self._ref(flow, path, ref, out)
            self._names(flow, name, node, out)
            self._node_prompts(flow, name, node, out)
            if isinstance(node, MenuNode):
                self._menu(name, node, out)
            if isinstance(node, CallbackNode):
                self._callback(name, node, out)
            if isinstance(node, SurveyNode):
                for key, label in node.keys.items():
                    if label not in SATISFACTION_LABELS:
                        out.append(Problem(("nodes", name, "keys", key),
                                           f"unknown satisfaction answer {label!r}"
                                           f"{did_you_mean(label, SATISFACTION_LABELS)}"))
            if isinstance(node, SpeechNode) and not node.intents and node.default is None:
                out.append(Problem(("nodes", name, "intents"),
                                   "no intents and no default: no answer could go anywhere"))
            if isinstance(node, INPUT_NODES) and node.on_failure is None \
                    and flow.defaults.on_failure is None:
                out.append(Problem(("nodes", name), "no on_failure here and no "
                                   "defaults.on_failure: a caller who never answers would "
                                   "be stuck"))
            # A dangling reference usually meant one of the nodes that now look unreachable:
            # report the reference alone rather than a cascade.
            if f"{flow.name}:{name}" not in self.reachable and flow.start in flow.nodes \
                    and not self.dangling:
                out.append(Problem(("nodes", name),
                                   f"node {name!r} cannot be reached from the start of any flow"))
        self._loops(flow, out)
        return out

    def _defaults(self, flow: Flow, out: list[Problem]) -> None:
        d = flow.defaults
        if d.on_failure is not None:
            self._ref(flow, ("defaults", "on_failure"), d.on_failure, out)
        for section in ("no_input", "no_match"):
            for i, prompt in enumerate(getattr(d, section)):
                self._prompt(("defaults", section, i), prompt, self._flow_languages(flow), out)

    def _flow_languages(self, flow: Flow) -> set[str]:
        prefix = flow.name + ":"
        found: set[str] = set()
        for key, langs in self.languages.items():
            if key.startswith(prefix):
                found |= langs
        return found

    def _ref(self, flow: Flow, path: Path, ref: str, out: list[Problem]) -> None:
        flow_name, node = split_ref(ref, flow.name)
        target = self.flows.get(flow_name)
        if target is None:
            out.append(Problem(path, f"no flow named {flow_name!r}"
                               f"{did_you_mean(flow_name, self.flows)}"))
            return
        if node is not None and node not in target.nodes:
            where = "" if target is flow else f" in flow {flow_name!r}"
            out.append(Problem(path, f"no node named {node!r}{where}"
                               f"{did_you_mean(node, target.nodes)}"))

    def _known(self, path: Path, kind: str, name: str, known: frozenset[str] | None,
               out: list[Problem]) -> None:
        if known is not None and name not in known:
            out.append(Problem(path, f"no {kind} named {name!r}{did_you_mean(name, known)}"))

    def _names(self, flow: Flow, name: str, node: Node, out: list[Problem]) -> None:
        ctx = self.ctx
        base: Path = ("nodes", name)
        for mode in getattr(node, "modes", {}):
            self._known((*base, "modes", mode), "mode", mode, ctx.modes, out)
        if isinstance(node, QueueNode | CallbackNode):
            self._known((*base, "queue"), "queue", node.queue, ctx.queues, out)
            for i, skill in enumerate(node.skills):
                self._known((*base, "skills", i), "skill", skill, ctx.skills, out)
        if isinstance(node, TransferNode):
            self._known((*base, "destination"), "transfer destination", node.destination,
                        ctx.transfer_destinations, out)
        if isinstance(node, SpeechNode):
            for intent in node.intents:
                self._known((*base, "intents", intent), "intent", intent, ctx.intents, out)
        if isinstance(node, BranchNode):
            for i, case in enumerate(node.cases):
                when = case.when
                cpath: Path = (*base, "cases", i, "when")
                for j, mode in enumerate(when.mode or ()):
                    self._known((*cpath, "mode", j), "mode", mode, ctx.modes, out)
                for fname, kind, known in (
                    ("open", "schedule", ctx.schedules),
                    ("closed", "schedule", ctx.schedules),
                    ("holiday", "holiday calendar", ctx.calendars),
                    ("not_holiday", "holiday calendar", ctx.calendars),
                    ("caller_in", "caller list", ctx.caller_lists),
                    ("caller_not_in", "caller list", ctx.caller_lists),
                ):
                    value = getattr(when, fname)
                    if value is not None:
                        self._known((*cpath, fname), kind, value, known, out)

    def _node_prompts(self, flow: Flow, name: str, node: Node, out: list[Problem]) -> None:
        langs = self.languages.get(f"{flow.name}:{name}", set())
        for path, prompt in node_prompts(name, node):
            self._prompt(path, prompt, langs, out)

    def _prompt(self, path: Path, prompt: str, languages: set[str], out: list[Problem]) -> None:
        catalogue = self.ctx.prompts
        if prompt not in catalogue:
            out.append(Problem(path, f"no prompt named {prompt!r}"
                               f"{did_you_mean(prompt, catalogue.ids())}"))
            return
        have = catalogue.languages_of(prompt)
        fallback = self.ctx.fallback_language
        for lang in sorted(languages):
            if lang not in have and not (fallback is not None and fallback in have):
                out.append(Problem(path, f"prompt {prompt!r} has no {lang!r} text, and "
                                   f"callers in {lang!r} reach it"))

    def _menu(self, name: str, node: MenuNode, out: list[Problem]) -> None:
        base: Path = ("nodes", name)
        self._menu_table(base, node.options, node.repeat_key, None, out)
        for mode, override in node.modes.items():
            mpath: Path = (*base, "modes", mode)
            options: dict[str, MenuOption] = dict(node.options)
            for i, key in enumerate(override.remove):
                if key not in options:
                    out.append(Problem((*mpath, "remove", i),
                                       f"no option {key!r} to remove{did_you_mean(key, options)}"))
                options.pop(key, None)
            for key, option in override.replace.items():
                if key not in node.options:
                    out.append(Problem((*mpath, "replace", key),
                                       f"no option {key!r} to replace (use add)"))
                options[key] = option
            for key, option in override.add.items():
                if key in options:
                    out.append(Problem((*mpath, "add", key),
                                       f"key {key!r} is already an option (use replace)"))
                options[key] = option
            if not options:
                out.append(Problem(mpath, f"the menu has no options left in mode {mode!r}"))
            self._menu_table(base, options, node.repeat_key, (mode, override.add,
                                                              override.replace), out)

    def _menu_table(self, base: Path, options: Mapping[str, MenuOption], repeat_key: str | None,
                    mode: tuple[str, Mapping[str, MenuOption], Mapping[str, MenuOption]] | None,
                    out: list[Problem]) -> None:
        def where(key: str) -> Path:
            if mode is not None:
                name, added, replaced = mode
                if key in added:
                    return (*base, "modes", name, "add", key)
                if key in replaced:
                    return (*base, "modes", name, "replace", key)
            return (*base, "options", key)

        in_mode = f" in mode {mode[0]!r}" if mode is not None else ""
        if repeat_key is not None and repeat_key in options:
            if mode is None:
                out.append(Problem((*base, "repeat_key"),
                                   f"key {repeat_key!r} is both the repeat key and an option"))
            elif repeat_key in mode[1] or repeat_key in mode[2]:
                out.append(Problem(where(repeat_key), f"key {repeat_key!r} is both the repeat "
                                   f"key and an option{in_mode}"))
        said: dict[str, str] = {}
        for key, option in options.items():
            for i, phrase in enumerate(option.say):
                norm = normalise_speech(phrase)
                if not norm:
                    out.append(Problem((*where(key), "say", i),
                                       f"{phrase!r} has nothing a caller could say"))
                    continue
                other = said.get(norm)
                if other is not None and other != key:
                    if mode is None or key in mode[1] or key in mode[2] \
                            or other in mode[1] or other in mode[2]:
                        out.append(Problem((*where(key), "say", i),
                                           f"{phrase!r} is also said for option {other!r}"
                                           f"{in_mode}"))
                    continue
                said[norm] = key

    def _callback(self, name: str, node: CallbackNode, out: list[Problem]) -> None:
        base: Path = ("nodes", name)
        if node.accept_key == node.decline_key:
            out.append(Problem((*base, "decline_key"),
                               f"key {node.decline_key!r} both accepts and declines"))
        accepted = {normalise_speech(p) for p in node.accept_say}
        for i, phrase in enumerate(node.decline_say):
            if normalise_speech(phrase) in accepted:
                out.append(Problem((*base, "decline_say", i),
                                   f"{phrase!r} both accepts and declines"))

    def _loops(self, flow: Flow, out: list[Problem]) -> None:
        """Cycles among nodes that never wait for the caller (Tarjan's SCC, iterative)."""
        keys = {k for k in self.edges if not _waits_for_caller(self._node(k))}
        index: dict[str, int] = {}
        low: dict[str, int] = {}
        stack: list[str] = []
        on_stack: set[str] = set()
        counter = 0
        prefix = flow.name + ":"
        for root in sorted(k for k in keys if k.startswith(prefix)):
            if root in index:
                continue
            work: list[tuple[str, Iterator[str]]] = [(root, iter(self._quiet(root, keys)))]
            index[root] = low[root] = counter
            counter += 1
            stack.append(root)
            on_stack.add(root)
            while work:
                node, children = work[-1]
                for child in children:
                    if child not in index:
                        index[child] = low[child] = counter
                        counter += 1
                        stack.append(child)
                        on_stack.add(child)
                        work.append((child, iter(self._quiet(child, keys))))
                        break
                    if child in on_stack:
                        low[node] = min(low[node], index[child])
                else:
                    work.pop()
                    if work:
                        parent = work[-1][0]
                        low[parent] = min(low[parent], low[node])
                    if low[node] == index[node]:
                        component = []
                        while True:
                            member = stack.pop()
                            on_stack.discard(member)
                            component.append(member)
                            if member == node:
                                break
                        self._report_loop(flow, component, out)

    def _quiet(self, key: str, keys: set[str]) -> list[str]:
        return [t for t in self.edges.get(key, ()) if t in keys]

    def _node(self, key: str) -> Node:
        flow_name, _, name = key.partition(":")
        return self.flows[flow_name].nodes[name]

    def _report_loop(self, flow: Flow, component: list[str], out: list[Problem]) -> None:
        if len(component) == 1 and component[0] not in self.edges.get(component[0], ()):
            return
        members = sorted(component)
        prefix = flow.name + ":"
        if not members[0].startswith(prefix):
            return  # a loop across flows is reported once, in the flow of its first node
        names = ", ".join(repr(m.partition(":")[2] if m.startswith(prefix) else m)
                          for m in members)
        out.append(Problem(("nodes", members[0].partition(":")[2]),
                           f"nodes {names} can repeat forever without the caller answering"))


# --- time to a person ---------------------------------------------------------------------

INTAKE_NORM = "GB/T 33358-2016: intake callers reach a person without choosing from a menu"


def check_intake(flows: Mapping[str, Flow], lines: Mapping[str, Iterable[str]]
                 ) -> dict[str, list[Problem]]:
    """Warnings (not errors) for intake lines whose flows make callers choose first.

    `lines`: line number -> the flows it starts calls in (in any mode). A node is
    reported when some way from the start to a queue passes it and a caller who answers
    nothing there never reaches a queue: the caller must choose to get a person.
    """
    walk = Walk(flows, None)
    found: dict[tuple[str, str], list[str]] = {}
    for number, flow_names in lines.items():
        starts = [key for name in dict.fromkeys(flow_names)
                  if (key := resolve(flows, f"{name}:", name)) is not None]
        for key in sorted(walk.reachable(starts)):
            flow, node = walk.node(key)
            if flow is None or not isinstance(node, INPUT_NODES):
                continue
            if walk.no_input_reaches_queue(key):
                continue
            if not any(walk.is_queue(k) for k in walk.reachable(walk.successors(key))):
                continue  # no person this way anyway (messages, callbacks)
            found.setdefault((flow.name, key.partition(":")[2]), []).append(number)
    out: dict[str, list[Problem]] = {name: [] for name in flows}
    for (flow_name, node_name), numbers in sorted(found.items()):
        flow = flows[flow_name]
        node = flow.nodes[node_name]
        assert isinstance(node, INPUT_NODES)
        failure = walk.on_failure(flow, node)
        where = f"goes to {failure!r}" if failure is not None else "has nowhere to go"
        which = ", ".join(numbers)
        out[flow_name].append(Problem(
            ("nodes", node_name),
            f"warning: intake line{'s' if len(numbers) > 1 else ''} {which}: callers must "
            f"answer this {node.type} to reach a person (a caller who answers nothing "
            f"{where}); {INTAKE_NORM}. Send no input to a queue, or give the line "
            "another `kind`"))
    return out
