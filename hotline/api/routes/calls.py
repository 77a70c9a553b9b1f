"""Calls: search, one call, CSV export; daily reports. From the store's CDR rows."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import StreamingResponse

from hotline.api import calls
from hotline.api.deps import AgentOrSupervisor, ServicesDep, SettingsDep, Supervisor, not_found
from hotline.api.schemas import CallOut, CallPage, DailyReport
from hotline.api.services import Services
from hotline.store.models import UserRole

router = APIRouter(tags=["calls"])

Caller = Annotated[str | None, Query(max_length=64)]
Line = Annotated[str | None, Query(max_length=32)]
Outcome = Annotated[str | None, Query(max_length=32)]
Since = Annotated[dt.datetime | None, Query(description="arrived at or after (ISO 8601)")]
Until = Annotated[dt.datetime | None, Query(description="arrived before (ISO 8601)")]


def _when(services: Services, value: dt.datetime | None) -> float | None:
    if value is None:
        return None
    if value.tzinfo is None:  # a local time of the centre
        value = value.replace(tzinfo=services.zone)
    return value.timestamp()


def _filter(services: Services, caller: str | None, line: str | None, since: dt.datetime | None,
            until: dt.datetime | None, outcome: str | None) -> calls.CallFilter:
    return calls.CallFilter(caller, line, _when(services, since), _when(services, until), outcome)


@router.get("/calls")
async def search(
    _user: Supervisor, services: ServicesDep, caller: Caller = None,
    line: Line = None, since: Since = None, until: Until = None, outcome: Outcome = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> CallPage:
    """Calls by caller, line, arrival time range and outcome (newest first)."""
    f = _filter(services, caller, line, since, until, outcome)
    return await calls.search(services.engine, f, limit, offset)


@router.get("/calls/export.csv", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}}}})
async def export(
    _user: Supervisor, services: ServicesDep, caller: Caller = None, line: Line = None,
    since: Since = None, until: Until = None, outcome: Outcome = None,
) -> StreamingResponse:
    """The CDR as CSV (the columns of `hotline cdr`), in arrival order."""
    f = _filter(services, caller, line, since, until, outcome)
    return StreamingResponse(
        calls.export_csv(services.engine, f), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="calls.csv"'},
    )


@router.get("/calls/{call_id}")
async def one_call(call_id: str, user: AgentOrSupervisor, services: ServicesDep) -> CallOut:
    """One call's CDR; an agent sees only the calls they answered."""
    row = await calls.get(services.engine, call_id)
    if row is None or (user.role is UserRole.AGENT and row.agent != user.agent_id):
        raise not_found(f"no call {call_id}")
    return calls.call_out(row)


@router.get("/reports/daily")
async def daily(
    _user: Supervisor, services: ServicesDep, settings: SettingsDep,
    first: Annotated[dt.date, Query(alias="from")],
    last: Annotated[dt.date, Query(alias="to")],
) -> DailyReport:
    """Per local day: volumes, answer rates, abandonment, direct answers, satisfaction."""
    if last < first:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "'to' is before 'from'")
    days = (last - first).days + 1
    if days > settings.max_report_days:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"at most {settings.max_report_days} days per report")
    return DailyReport(timezone=str(services.zone),
                       days=await calls.daily(services, first, last))
