"""Screen pops: what an agent's desk shows about the call on their seat.

`ScreenPops.feed(seq, record)` is a runtime listener (in the writer, fast, no I/O): it
follows each call from `CallStarted` through the IVR (nodes, keys, recognised speech)
to its queue, and keeps the last `keep_finished` finished calls so the desk can still
show the call during wrap-up. The suggested category is the intent the IVR understood
from the caller's words, when it understood one.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from hotline.vocabulary.events import DigitsReceived
from hotline.vocabulary.facts import (
    CallAnswered,
    CallFinished,
    CallQueued,
    CallStarted,
    IvrNodeEntered,
    SpeechInterpreted,
)


@dataclass(slots=True)
class ScreenPop:
    call_id: str
    line: str
    caller: str  # "" when withheld
    arrived_at: float
    flow: str
    mode: str
    ivr_path: list[str] = field(default_factory=list)
    transcript: list[str] = field(default_factory=list)  # what the caller said, in order
    suggested_category: str | None = None
    suggested_confidence: float | None = None
    queue: str | None = None
    tags: list[str] = field(default_factory=list)
    agent_id: str | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    outcome: str | None = None


class ScreenPops:
    def __init__(self, keep_finished: int = 2000) -> None:
        self._live: dict[str, ScreenPop] = {}
        self._finished: OrderedDict[str, ScreenPop] = OrderedDict()
        self._keep = keep_finished

    def get(self, call_id: str) -> ScreenPop | None:
        return self._live.get(call_id) or self._finished.get(call_id)

    def feed(self, _seq: int, record: Any) -> None:
        kind = type(record)
        if kind is CallStarted:
            self._live[record.call_id] = ScreenPop(
                record.call_id, record.line, record.caller, record.at, record.flow, record.mode
            )
            return
        pop = self._live.get(getattr(record, "call_id", ""))
        if pop is None:
            return
        if kind is IvrNodeEntered:
            pop.ivr_path.append(record.node)
        elif kind is DigitsReceived:
            if pop.answered_at is None:
                pop.ivr_path.append(f"key:{record.digits}")
        elif kind is SpeechInterpreted:
            pop.transcript.append(record.text)
            pop.ivr_path.append(f"say:{record.text}")
            if record.intent is not None and (
                pop.suggested_confidence is None or record.confidence >= pop.suggested_confidence
            ):
                pop.suggested_category = record.intent
                pop.suggested_confidence = record.confidence
        elif kind is CallQueued:
            pop.queue = record.queue
            pop.tags = list(record.tags)
        elif kind is CallAnswered:
            pop.agent_id = record.agent_id
            pop.answered_at = record.at
        elif kind is CallFinished:
            pop.ended_at = record.at
            pop.outcome = record.outcome.value
            del self._live[pop.call_id]
            self._finished[pop.call_id] = pop
            while len(self._finished) > self._keep:
                self._finished.popitem(last=False)
