"""Screen pops: what an agent's desk shows about the call on their seat.

`ScreenPops.feed(seq, record)` is a runtime listener (in the writer, fast, no I/O): it
follows each call from `CallStarted` through the IVR (nodes, keys, recognised speech)
to its queue, and keeps the last `keep_finished` finished calls so the desk can still
show the call during wrap-up. The suggested category is the intent the IVR understood
from the caller's words, when it understood one.

`CallerHistories` adds what the centre knows of the caller: their earlier calls (the
CDR) and work orders, by caller number, newest first and bounded. A withheld number has
no history (it would match every other withheld call). The history is read from the
store once per call and kept while the call is recent, however often the desk is
pushed or asked for.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from hotline.api.schemas import CallerHistoryOut, PastCallOut, PastOrderOut
from hotline.store.models import CallRow, Department, WorkOrder
from hotline.vocabulary.events import DigitsReceived
from hotline.vocabulary.facts import (
    CallAnswered,
    CallFinished,
    CallQueued,
    CallStarted,
    IvrNodeEntered,
    SpeechInterpreted,
    TransferAnswered,
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
        elif kind is CallAnswered or kind is TransferAnswered:
            # After a transfer the pop follows the colleague who took the citizen.
            pop.agent_id = record.agent_id
            pop.answered_at = record.at
        elif kind is CallFinished:
            pop.ended_at = record.at
            pop.outcome = record.outcome.value
            del self._live[pop.call_id]
            self._finished[pop.call_id] = pop
            while len(self._finished) > self._keep:
                self._finished.popitem(last=False)


SHORT_CONTENT = 120  # characters of an order's request shown on the screen pop


def withheld(caller: str) -> bool:
    """Drivers give "" for a withheld or unknown number."""
    return not caller.strip()


class CallerHistories:
    def __init__(self, engine: AsyncEngine, limit: int = 10, keep: int = 512) -> None:
        self._engine = engine
        self.limit = limit
        self._keep = keep
        self._known: OrderedDict[str, CallerHistoryOut] = OrderedDict()
        self._loading: dict[str, asyncio.Task[CallerHistoryOut]] = {}

    async def of_call(self, call_id: str, caller: str) -> CallerHistoryOut:
        """`caller`'s calls and orders before `call_id` (those of this call excluded)."""
        if withheld(caller):
            return CallerHistoryOut(calls=[], orders=[], limit=self.limit)
        known = self._known.get(call_id)
        if known is not None:
            return known
        task = self._loading.get(call_id)
        if task is None:
            # One read for every desk push and request that asks meanwhile.
            task = asyncio.create_task(self._load(call_id, caller))
            self._loading[call_id] = task
            task.add_done_callback(lambda _t: self._loading.pop(call_id, None))
        # A waiter that goes away (a closed socket) must not cancel the others' read.
        return await asyncio.shield(task)

    async def _load(self, call_id: str, caller: str) -> CallerHistoryOut:
        async with AsyncSession(self._engine) as session:
            calls = (await session.execute(
                select(CallRow)
                .where(CallRow.caller == caller, CallRow.call_id != call_id)
                .order_by(CallRow.arrived_at.desc(), CallRow.call_id)
                .limit(self.limit)
            )).scalars().all()
            orders = (await session.execute(
                select(WorkOrder, Department.code)
                .outerjoin(Department, Department.id == WorkOrder.department_id)
                .where(WorkOrder.caller == caller,
                       or_(WorkOrder.call_id.is_(None), WorkOrder.call_id != call_id))
                .order_by(WorkOrder.created_at.desc(), WorkOrder.id.desc())
                .limit(self.limit)
            )).all()
        history = CallerHistoryOut(
            calls=[
                PastCallOut(
                    call_id=c.call_id, line=c.line, arrived_at=c.arrived_at,
                    answered_at=c.answered_at, ended_at=c.ended_at, queue=c.queue,
                    agent=c.agent, outcome=c.outcome, talk_s=c.talk_s,
                )
                for c in calls
            ],
            orders=[
                PastOrderOut(
                    number=o.number, status=o.status, created_at=o.created_at,
                    category=o.category_code, department=code,
                    content=_short(o.content), call_id=o.call_id,
                )
                for o, code in orders
            ],
            limit=self.limit,
        )
        self._known[call_id] = history
        while len(self._known) > self._keep:
            self._known.popitem(last=False)
        return history


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SHORT_CONTENT else text[: SHORT_CONTENT - 1] + "…"
