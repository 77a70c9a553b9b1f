"""Flows drawn for people: a text tree, Mermaid and Graphviz dot.

All three are generated from the same edge list (`flow_edges`), which comes from the
validator's view of where each node sends the call, so a diagram cannot disagree with
what the engine runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from hotline.ivr.model import Flow, MenuNode, Node
from hotline.ivr.validate import INPUT_NODES, node_refs


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str  # a node of this flow, or "flow:node" / "flow:" for another flow
    label: str


def _label(path: tuple[str | int, ...], node: Node) -> str:
    tail = [str(p) for p in path[2:]]
    if tail[0] == "options" and isinstance(node, MenuNode):
        key = tail[1]
        words = node.options[key].say
        return f"{key} {words[0]}" if words else key
    if tail[0] == "modes":
        # modes.emergency.add.4.goto
        mode, key = tail[1], tail[3]
        menu = node if isinstance(node, MenuNode) else None
        said: tuple[str, ...] = ()
        if menu is not None:
            override = menu.modes[mode]
            option = override.add.get(key) or override.replace.get(key)
            said = option.say if option is not None else ()
        return f"{key} {said[0]} [{mode}]" if said else f"{key} [{mode}]"
    if tail[0] == "cases":
        return f"case {tail[1]}"
    if tail[0] == "intents":
        return f"intent {tail[1]}"
    return tail[0]


def flow_edges(flow: Flow) -> list[Edge]:
    """Every edge of the flow, in node order; input nodes get their fallback edge too."""
    edges: list[Edge] = []
    for name, node in flow.nodes.items():
        for path, ref in node_refs(name, node):
            edges.append(Edge(name, ref, _label(path, node)))
        if isinstance(node, INPUT_NODES) and node.on_failure is None \
                and flow.defaults.on_failure is not None:
            edges.append(Edge(name, flow.defaults.on_failure, "on_failure (default)"))
    return edges


def _summary(node: Node) -> str:
    details = {
        "queue": lambda: f"{getattr(node, 'queue', '')}",
        "transfer": lambda: f"to {getattr(node, 'destination', '')}",
        "collect": lambda: f"-> {getattr(node, 'variable', '')}",
        "record": lambda: f"{getattr(node, 'purpose', '')}",
        "callback": lambda: f"queue {getattr(node, 'queue', '')}",
    }
    extra = details.get(node.type)
    return f"{node.type} {extra()}" if extra else node.type


def as_text(flow: Flow) -> str:
    """An indented tree from the start node; a node already shown is referred to by name."""
    edges: dict[str, list[Edge]] = {}
    for edge in flow_edges(flow):
        edges.setdefault(edge.source, []).append(edge)
    lines = [f"flow {flow.name}: {flow.description}".rstrip(": ")]
    shown: set[str] = set()

    def walk(name: str, label: str, depth: int) -> None:
        pad = "  " * depth
        prefix = f"{label} -> " if label else ""
        node = flow.nodes.get(name)
        if node is None:
            lines.append(f"{pad}{prefix}{name} (another flow)")
            return
        if name in shown:
            lines.append(f"{pad}{prefix}{name} (see above)")
            return
        shown.add(name)
        prompts = getattr(node, "prompts", ())
        said = f"  says {', '.join(prompts)}" if prompts else ""
        lines.append(f"{pad}{prefix}{name} [{_summary(node)}]{said}")
        for edge in edges.get(name, []):
            walk(edge.target, edge.label, depth + 1)

    walk(flow.start, "", 1)
    for name in flow.nodes:
        if name not in shown:
            walk(name, "(unreachable)", 1)
    return "\n".join(lines) + "\n"


def _mermaid_id(name: str) -> str:
    return "n_" + "".join(c if c.isalnum() else "_" for c in name)


def as_mermaid(flow: Flow) -> str:
    lines = ["flowchart TD"]
    for name, node in flow.nodes.items():
        lines.append(f'    {_mermaid_id(name)}["{name}<br/>{_summary(node)}"]')
    for edge in flow_edges(flow):
        target = edge.target
        if target not in flow.nodes:
            lines.append(f'    {_mermaid_id(target)}(["{target}"])')
        label = edge.label.replace('"', "'")
        lines.append(f'    {_mermaid_id(edge.source)} -->|"{label}"| {_mermaid_id(target)}')
    return "\n".join(lines) + "\n"


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def as_dot(flow: Flow) -> str:
    lines = [f"digraph {_dot_quote(flow.name)} {{", "    rankdir=TB;", "    node [shape=box];"]
    for name, node in flow.nodes.items():
        shape = ", shape=doubleoctagon" if node.type in ("queue", "hangup", "transfer") else ""
        label = _dot_quote(name + "|" + _summary(node)).replace("|", "\\n")
        lines.append(f"    {_dot_quote(name)} [label={label}{shape}];")
    if flow.start in flow.nodes:
        lines.append(f'    "__start" [shape=point]; "__start" -> {_dot_quote(flow.start)};')
    for edge in flow_edges(flow):
        lines.append(f"    {_dot_quote(edge.source)} -> {_dot_quote(edge.target)} "
                     f"[label={_dot_quote(edge.label)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
