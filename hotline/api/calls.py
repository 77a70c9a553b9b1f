"""Call search, CSV export and daily reports, from the store's `calls` table (the CDR).

Every filter is a bound parameter (SQLAlchemy expressions, no string building), so a
caller number or line typed by a user is data, never SQL. The export streams rows from
the database in batches and writes the same columns as `hotline.projections.cdr`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from hotline.api.schemas import CallOut, CallPage, DayFigure, DayReport
from hotline.api.services import Services
from hotline.projections.cdr import COLUMNS, CallDetail, RingAttempt
from hotline.projections.stats import ANSWER_TARGET_S
from hotline.store.models import CallRow, Survey, WorkOrder, WorkOrderHistory


@dataclass(frozen=True, slots=True)
class CallFilter:
    caller: str | None = None
    line: str | None = None
    since: float | None = None
    until: float | None = None
    outcome: str | None = None
    agent: str | None = None


def _where(query: Select[Any], f: CallFilter) -> Select[Any]:
    if f.caller is not None:
        query = query.where(CallRow.caller == f.caller)
    if f.line is not None:
        query = query.where(CallRow.line == f.line)
    if f.since is not None:
        query = query.where(CallRow.arrived_at >= f.since)
    if f.until is not None:
        query = query.where(CallRow.arrived_at < f.until)
    if f.outcome is not None:
        query = query.where(CallRow.outcome == f.outcome)
    if f.agent is not None:
        query = query.where(CallRow.agent == f.agent)
    return query


def call_out(row: CallRow) -> CallOut:
    return CallOut(
        call_id=row.call_id, line=row.line, caller=row.caller, arrived_at=row.arrived_at,
        answered_at=row.answered_at, ended_at=row.ended_at, queue=row.queue, seat=row.seat,
        agent=row.agent, wait_s=row.wait_s, talk_s=row.talk_s, wrap_s=row.wrap_s,
        outcome=row.outcome, mode_at_arrival=row.mode_at_arrival, tags=list(row.tags or []),
        ivr_path=[str(p) for p in (row.ivr_path or [])],
    )


async def search(engine: AsyncEngine, f: CallFilter, limit: int, offset: int) -> CallPage:
    async with AsyncSession(engine) as session:
        total = (await session.execute(_where(select(func.count()).select_from(CallRow), f)))
        rows = await session.execute(
            _where(select(CallRow), f)
            .order_by(CallRow.arrived_at.desc(), CallRow.call_id)
            .limit(limit)
            .offset(offset)
        )
        return CallPage(total=total.scalar_one(), calls=[call_out(r) for r in rows.scalars()])


async def get(engine: AsyncEngine, call_id: str) -> CallRow | None:
    async with AsyncSession(engine) as session:
        return await session.get(CallRow, call_id)


def _detail(row: CallRow) -> CallDetail:
    extra = dict(row.extra or {})
    rings = []
    for ring in extra.get("rings", []) or []:
        if isinstance(ring, dict):
            rings.append(RingAttempt(str(ring.get("seat", "")), str(ring.get("agent", "")),
                                     str(ring.get("result", ""))))
        else:
            seat_agent, _, result = str(ring).partition(":")
            seat, _, agent = seat_agent.partition("/")
            rings.append(RingAttempt(seat, agent, result))
    return CallDetail(
        call_id=row.call_id, line=row.line, caller=row.caller, arrived_at=row.arrived_at,
        flow=str(extra.get("flow", "")), mode_at_arrival=row.mode_at_arrival or "",
        answered_at=row.answered_at, ended_at=row.ended_at, queue=row.queue or "",
        queues=[str(q) for q in extra.get("queues", []) or []], seat=row.seat or "",
        agent=row.agent or "", wait_s=row.wait_s, talk_s=row.talk_s, wrap_s=row.wrap_s,
        outcome=row.outcome or "", queue_result=str(extra.get("queue_result", "")),
        detail=str(extra.get("detail", "")), mode_at_answer=row.mode_at_answer or "",
        tags=[str(t) for t in row.tags or []], ivr_path=[str(p) for p in row.ivr_path or []],
        rings=rings, message=str(extra.get("message", "")),
        callback_request=str(extra.get("callback_request", "")),
        callback_attempts=int(extra.get("callback_attempts", 0) or 0),
        callback_result=str(extra.get("callback_result", "")),
        agents=[str(a) for a in extra.get("agents", []) or []],
        transfers=[str(t) for t in extra.get("transfers", []) or []],
    )


async def export_csv(engine: AsyncEngine, f: CallFilter, batch: int = 1000) -> AsyncIterator[str]:
    """CSV text in chunks: the header, then one line per call in arrival order."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    yield buffer.getvalue()
    async with AsyncSession(engine) as session:
        result = await session.stream_scalars(
            _where(select(CallRow), f).order_by(CallRow.arrived_at, CallRow.call_id)
            .execution_options(yield_per=batch)
        )
        async for part in result.partitions(batch):
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
            for row in part:
                writer.writerow({k: _safe_cell(v) for k, v in _detail(row).as_row().items()})
            yield buffer.getvalue()


def _safe_cell(value: str) -> str:
    """Defuse spreadsheet formulas (CSV injection): a cell never starts with = + - @."""
    if value and value[0] in "=+-@\t\r" and not _is_number(value):
        return "'" + value
    return value


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


# --- daily reports ------------------------------------------------------------------------

REPORT_DEFINITIONS: dict[str, str] = {
    "offered": "calls that reached the centre on the day (one CDR row per call)",
    "offered_to_agents": "calls of the day that were queued for an agent",
    "answered": "calls of the day an agent answered",
    "answer_rate": "answered / offered to agents",
    "answer_rate_15s": f"answered within {ANSWER_TARGET_S:.0f} s of queueing / offered to "
    "agents (GB/T 33358; the live wallboard's figure is the same ratio)",
    "abandoned_in_ivr": "callers who hung up in the IVR, before reaching a queue",
    "abandoned_in_queue": "callers who hung up while waiting in a queue (short ones excluded)",
    "abandoned_short": "callers who hung up within 5 s of queueing (not counted against "
    "the answer rates' targets)",
    "direct_answer_rate": "work orders of the day answered directly by the agent / work "
    "orders registered on the day",
    "satisfaction": "surveys of the day answered satisfied or basically satisfied / surveys "
    "of the day with an answer (unreachable excluded)",
}


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole > 0 else None


async def daily(
    services: Services, first: dt.date, last: dt.date
) -> list[DayReport]:
    zone = services.zone
    reports = []
    async with AsyncSession(services.engine) as session:
        day = first
        while day <= last:
            start = dt.datetime.combine(day, dt.time(), zone)
            end = start + dt.timedelta(days=1)
            reports.append(await _day(session, day, start, end))
            day += dt.timedelta(days=1)
    return reports


async def _day(
    session: AsyncSession, day: dt.date, start: dt.datetime, end: dt.datetime
) -> DayReport:
    s, e = start.timestamp(), end.timestamp()
    outcome = CallRow.outcome
    calls = (
        await session.execute(
            select(
                func.count(),
                func.count(CallRow.queue),
                func.count(CallRow.answered_at),
                func.sum(case((and_(CallRow.answered_at.is_not(None),
                                    CallRow.wait_s <= ANSWER_TARGET_S), 1), else_=0)),
                func.sum(case((outcome == "abandoned-in-ivr", 1), else_=0)),
                func.sum(case((outcome == "abandoned-in-queue", 1), else_=0)),
                func.sum(case((outcome == "short-abandon", 1), else_=0)),
            ).where(CallRow.arrived_at >= s, CallRow.arrived_at < e)
        )
    ).one()
    offered, queued, answered, fast, in_ivr, in_queue, short = (int(v or 0) for v in calls)
    orders = (
        await session.execute(
            select(func.count()).select_from(WorkOrder)
            .where(WorkOrder.created_at >= start, WorkOrder.created_at < end)
        )
    ).scalar_one()
    direct = (
        await session.execute(
            select(func.count(func.distinct(WorkOrderHistory.work_order_id)))
            .join(WorkOrder, WorkOrder.id == WorkOrderHistory.work_order_id)
            .where(WorkOrderHistory.action == "answer_directly",
                   WorkOrder.created_at >= start, WorkOrder.created_at < end)
        )
    ).scalar_one()
    surveys = (
        await session.execute(
            select(
                func.sum(case((Survey.result.in_(("satisfied", "basically_satisfied")), 1),
                              else_=0)),
                func.sum(case((Survey.result != "unreachable", 1), else_=0)),
            ).where(Survey.at >= start, Survey.at < end)
        )
    ).one()
    happy, asked = int(surveys[0] or 0), int(surveys[1] or 0)
    values: dict[str, float | None] = {
        "offered": offered,
        "offered_to_agents": queued,
        "answered": answered,
        "answer_rate": _ratio(answered, queued),
        "answer_rate_15s": _ratio(fast, queued),
        "abandoned_in_ivr": in_ivr,
        "abandoned_in_queue": in_queue,
        "abandoned_short": short,
        "direct_answer_rate": _ratio(direct, orders),
        "satisfaction": _ratio(happy, asked),
    }
    return DayReport(
        day=day,
        figures=[DayFigure(name=n, value=values[n], definition=d)
                 for n, d in REPORT_DEFINITIONS.items()],
    )
