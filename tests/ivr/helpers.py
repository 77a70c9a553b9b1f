"""Hand-made flows for engine and validator tests."""

from __future__ import annotations

from typing import Any

from hotline.ivr.engine import FlowEngine
from hotline.ivr.model import Flow
from hotline.ivr.prompts import PromptCatalogue

PROMPTS = PromptCatalogue.model_validate(
    {name: {"zh": f"<{name}>", "en": f"<{name} en>"} for name in (
        "hello", "menu", "menu_emergency", "again", "pardon", "bye", "ask", "thanks",
        "transferring", "notice", "question", "offer",
    )} | {"zh_only": {"zh": "<zh_only>"}}
)
"""A catalogue for hand-made flows: every prompt's text is its id in angle brackets."""


def make_flow(nodes: dict[str, Any], *, start: str | None = None, name: str = "t",
              **extra: Any) -> Flow:
    """A flow from plain data, like a YAML file would give."""
    data: dict[str, Any] = {
        "name": name,
        "start": start or next(iter(nodes)),
        "defaults": {"no_input": "again", "no_match": "pardon"},
        "nodes": nodes,
        **extra,
    }
    # Flows that ask something get a polite fallback node (else it would be unreachable).
    if any(n.get("type") in ("menu", "collect", "speech", "callback", "survey")
           for n in nodes.values()):
        data["defaults"]["on_failure"] = "fallback"
        if "fallback" not in nodes:
            data["nodes"] = {**nodes, "fallback": {"type": "hangup", "prompts": "bye",
                                                   "reason": "failed"}}
    return Flow.model_validate(data)


def make_engine(*flows: Flow, **kwargs: Any) -> FlowEngine:
    return FlowEngine({f.name: f for f in flows}, PROMPTS, **kwargs)
