"""The live centre through the runtime: views, KPIs, staffing, agents' seats, the mode.

Every change is an event posted to the runtime (the one writer); `post_confirmed` waits
until the runtime has processed it and reports whether the kernel accepted it (an
accepted event is itself a record of the fact log; a refused one is not).
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.agents.seats import SeatView
from hotline.api.schemas import (
    DeskOut,
    Kpi,
    KpiReport,
    LiveView,
    ModeSwitchOut,
    QueueOut,
    ScopeKpis,
    ScreenPopOut,
    SeatOut,
    StaffingOut,
    WaitingCallOut,
)
from hotline.api.security import Principal
from hotline.api.services import Services
from hotline.centre.view import CentreView
from hotline.projections.staffing import StaffingError, advise_from_live
from hotline.projections.stats import ANSWER_TARGET_S, SHORT_ABANDON_S, WINDOW_S, Figures
from hotline.runtime.centre_runtime import CentreRuntime, RuntimeClosed
from hotline.runtime.factlog import FellBehind
from hotline.store.models import ModeSwitch
from hotline.vocabulary.errors import RulesError
from hotline.vocabulary.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentReady,
    Event,
    ModeSwitched,
)
from hotline.vocabulary.facts import ModeChanged
from hotline.vocabulary.queueing import ServiceTarget
from hotline.vocabulary.states import SeatState

CONFIRM_TIMEOUT_S = 5.0


class Refused(Exception):
    """The kernel refused the event (it changed nothing)."""


class Unavailable(Exception):
    """The runtime is stopped or too busy to confirm in time."""


async def post_confirmed(runtime: CentreRuntime, event: Event) -> list[object]:
    """Post `event`, wait until it is processed; the records it led to (Refused if none)."""
    first = runtime.log.next_seq
    try:
        await runtime.post(event)
        await asyncio.wait_for(runtime.drain(), CONFIRM_TIMEOUT_S)
    except RuntimeClosed as exc:
        raise Unavailable("the centre runtime is stopped") from exc
    except TimeoutError as exc:
        raise Unavailable("the centre is busy; the request is queued") from exc
    try:
        records = [record for _, record in runtime.log.since(first)]
    except FellBehind as exc:
        raise Unavailable("the change could not be confirmed") from exc
    for index, record in enumerate(records):
        if record is event:
            return records[index:]
    raise Refused(f"the centre refused {type(event).__name__}")


# --- views ------------------------------------------------------------------------------


def _finite(value: float) -> float:
    return value if math.isfinite(value) else 0.0


def seat_out(seat: SeatView) -> SeatOut:
    return SeatOut(
        agent_id=seat.agent_id, seat_id=seat.seat_id, state=seat.state.value,
        since=seat.since, reason=seat.reason, call_id=seat.call_id, guest=seat.guest,
    )


def live_view(view: CentreView) -> LiveView:
    return LiveView(
        at=view.at,
        mode=view.mode,
        mode_since=view.mode_since,
        queues=[
            QueueOut(
                name=q.name, waiting_count=q.waiting_count,
                longest_wait_s=_finite(q.longest_wait_s), staffed=q.staffed,
                waiting=[
                    WaitingCallOut(
                        id=w.id, kind=w.kind, state=w.state, position=w.position,
                        waited_s=w.waited_s, priority=w.priority, tags=list(w.tags),
                        agent_id=w.agent_id,
                    )
                    for w in q.waiting
                ],
            )
            for q in view.queues
        ],
        seats=[seat_out(s) for s in view.seats],
        live_calls=dict(view.live_calls),
    )


def current_view(services: Services) -> CentreView:
    view = services.runtime.view().centre
    if view is None:
        raise Unavailable("the runtime's kernel has no centre view")
    return view


DEFINITIONS = {
    "offered": ("calls", "calls queued for an agent in the window"),
    "answered": ("calls", "calls an agent answered, of those offered in the window"),
    "answer_rate": ("ratio", "answered / (offered − still waiting)"),
    "service_level": (
        "ratio",
        f"answered within {ANSWER_TARGET_S:.0f} s / (offered − abandoned within "
        f"{SHORT_ABANDON_S:.0f} s − still waiting)",
    ),
    "abandoned": ("calls", f"callers who hung up in the queue after {SHORT_ABANDON_S:.0f} s"),
    "abandoned_short": (
        "calls", f"callers who hung up in the queue within {SHORT_ABANDON_S:.0f} s"
    ),
    "asa_s": ("s", "total wait of answered calls / answered calls"),
    "aht_s": (
        "s", "total (talk + wrap-up) time of finished conversations / finished conversations"
    ),
    "att_s": ("s", "total talk time of finished conversations / finished conversations"),
}


def _kpis(figures: Figures) -> list[Kpi]:
    values: dict[str, float | None] = {
        "offered": figures.offered,
        "answered": figures.answered,
        "answer_rate": figures.answer_rate,
        "service_level": figures.service_level,
        "abandoned": figures.abandoned,
        "abandoned_short": figures.abandoned_short,
        "asa_s": figures.asa_s,
        "aht_s": figures.aht_s,
        "att_s": figures.att_s,
    }
    return [
        Kpi(name=name, value=values[name], unit=unit, definition=definition)
        for name, (unit, definition) in DEFINITIONS.items()
    ]


def kpi_report(services: Services) -> KpiReport:
    snapshot = services.runtime.view().stats
    if snapshot is None:
        raise Unavailable("live statistics are not running")
    scopes = [
        ScopeKpis(scope="centre", window="last 15 minutes", kpis=_kpis(snapshot.centre.last_15min)),
        ScopeKpis(scope="centre", window="today", kpis=_kpis(snapshot.centre.today)),
    ]
    for name, figures in sorted(snapshot.queues.items()):
        scopes.append(ScopeKpis(scope=f"queue:{name}", window="today", kpis=_kpis(figures.today)))
    occupancy = Kpi(
        name="occupancy", value=snapshot.occupancy_15min, unit="ratio",
        definition="time on calls, ringing and in wrap-up / time logged in and not paused "
        "(last 15 minutes)",
    )
    scopes[0].kpis.append(occupancy)
    return KpiReport(
        at=snapshot.at,
        today_start=snapshot.today_start,
        waiting_now=snapshot.centre.waiting_now,
        longest_wait_s=_finite(snapshot.centre.longest_wait_s),
        agents_by_state={state.value: n for state, n in snapshot.agents_by_state.items()},
        scopes=scopes,
    )


def staffing_advice(
    services: Services, answered_pct: float, within_s: float, patience_s: float | None
) -> StaffingOut:
    view = services.runtime.view()
    if view.stats is None or view.centre is None:
        raise Unavailable("live statistics are not running")
    window = view.stats.centre.last_15min
    logged_in = sum(1 for s in view.centre.seats if s.state is not SeatState.LOGGED_OUT)
    try:
        target = ServiceTarget(answered_pct, within_s)
        advice = advise_from_live(
            window.offered, WINDOW_S, window.aht_s, logged_in, target, patience_s
        )
    except (StaffingError, RulesError) as exc:
        raise ValueError(str(exc)) from exc
    at = advice.at_logged_in
    return StaffingOut(
        model=advice.model,
        target=str(target),
        calls_per_hour=advice.calls_per_hour,
        aht_s=advice.aht_s,
        agents_needed=advice.agents_needed,
        logged_in=advice.logged_in,
        gap=advice.gap,
        predicted_service_level=advice.predicted.service_level,
        predicted_asa_s=advice.predicted.asa_s if math.isfinite(advice.predicted.asa_s) else None,
        predicted_occupancy=advice.predicted.occupancy,
        service_level_at_logged_in=at.service_level if at is not None else None,
        basis="calls offered in the last 15 minutes × 4 = calls per hour; handle time of "
        "conversations finished in the last 15 minutes (240 s when none)",
    )


# --- agents' seats ---------------------------------------------------------------------


def may_see_agent(user: Principal, agent_id: str) -> bool:
    return user.role.value in ("supervisor", "admin") or user.agent_id == agent_id


def desk(services: Services, agent_id: str) -> DeskOut:
    view = current_view(services)
    seat = view.seat(agent_id)
    call = None
    if seat is not None and seat.call_id is not None:
        call = screen_pop(services, seat.call_id)
    return DeskOut(agent_id=agent_id, seat=seat_out(seat) if seat else None, call=call)


def screen_pop(services: Services, call_id: str) -> ScreenPopOut | None:
    pop = services.screen_pops.get(call_id)
    if pop is None:
        return None
    name = department = None
    if pop.suggested_category is not None:
        category = services.catalogue.find(pop.suggested_category)
        if category is not None:
            name = category.name
            found = services.catalogue.department_for(category.code)
            department = found.code if found is not None else None
    return ScreenPopOut(
        call_id=pop.call_id, line=pop.line, caller=pop.caller, arrived_at=pop.arrived_at,
        ivr_path=list(pop.ivr_path), transcript=" ".join(pop.transcript),
        suggested_category=pop.suggested_category, suggested_category_name=name,
        suggested_department=department, queue=pop.queue, tags=list(pop.tags),
        answered_at=pop.answered_at, ended_at=pop.ended_at,
    )


@dataclass(frozen=True, slots=True)
class SeatCommand:
    kind: str  # login, ready, pause, wrap-up-done, logout
    seat_id: str = ""
    reason: str = ""


def seat_event(services: Services, agent_id: str, command: SeatCommand) -> Event:
    at = services.clock()
    match command.kind:
        case "login":
            if command.seat_id not in services.centre.config.seats:
                raise LookupError(f"no seat {command.seat_id!r}")
            return AgentLoggedIn(agent_id, command.seat_id, at)
        case "ready" | "wrap-up-done":
            return AgentReady(agent_id, at)
        case "pause":
            return AgentPaused(agent_id, command.reason, at)
        case "logout":
            return AgentLoggedOut(agent_id, at)
    raise ValueError(f"unknown seat command {command.kind!r}")


async def seat_action(services: Services, agent_id: str, command: SeatCommand) -> DeskOut:
    if command.kind == "wrap-up-done":
        seat = current_view(services).seat(agent_id)
        if seat is None or seat.state is not SeatState.WRAP_UP:
            raise Refused("the seat is not in wrap-up")
    await post_confirmed(services.runtime, seat_event(services, agent_id, command))
    return desk(services, agent_id)


# --- the mode ------------------------------------------------------------------------------


async def switch_mode(
    services: Services, user: Principal, mode: str, reason: str, until: float | None
) -> ModeSwitchOut:
    at = services.clock()
    if mode not in services.centre.config.modes:
        raise LookupError(f"no mode {mode!r} (known: {', '.join(services.centre.config.modes)})")
    if until is not None and until <= at:
        raise ValueError("the return time must be in the future")
    event = ModeSwitched(mode, user.identity, reason, at, until)
    records = await post_confirmed(services.runtime, event)
    fact = next((r for r in records if isinstance(r, ModeChanged) and r.at == at), None)
    from_mode = fact.old if fact is not None else mode
    row = ModeSwitch(
        at=at, from_mode=from_mode, to_mode=mode, by=user.identity, reason=reason, until=until,
    )
    async with AsyncSession(services.engine) as session, session.begin():
        session.add(row)
        await session.flush()
        return mode_switch_out(row)


def mode_switch_out(row: ModeSwitch) -> ModeSwitchOut:
    return ModeSwitchOut(
        id=row.id, at=row.at, from_mode=row.from_mode, to_mode=row.to_mode, by=row.by,
        reason=row.reason, until=row.until,
    )


async def mode_history(services: Services, limit: int) -> list[ModeSwitchOut]:
    async with AsyncSession(services.engine) as session:
        rows = (
            await session.execute(
                select(ModeSwitch).order_by(ModeSwitch.at.desc(), ModeSwitch.id.desc()).limit(limit)
            )
        ).scalars()
        return [mode_switch_out(r) for r in rows]
