"""The live centre through the runtime: views, KPIs, staffing, agents' seats, the mode.

Every change is an event posted to the runtime (the one writer); `post_confirmed` waits
until the runtime has processed it and reports whether the kernel accepted it (an
accepted event is itself a record of the fact log; a refused one is not).

Reads of the whole centre (`/api/live`, `/api/kpis`, staffing) come from the shared
picture (`services.live`, see `hotline.api.views`); an agent's desk reads only its own
seat from the runtime.
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from hotline.api.schemas import (
    DeskOut,
    ModeSwitchOut,
    ScreenPopOut,
    StaffingOut,
)
from hotline.api.security import Principal
from hotline.api.services import Services
from hotline.api.views import seat_out
from hotline.projections.staffing import StaffingError, advise_from_live
from hotline.projections.stats import WINDOW_S
from hotline.runtime.centre_runtime import CentreRuntime, RuntimeClosed
from hotline.runtime.factlog import FellBehind
from hotline.store.models import ModeSwitch
from hotline.store.modes import recent_mode_switches, wait_for_mode_switch
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

log = logging.getLogger("hotline.api.centre")

CONFIRM_TIMEOUT_S = 5.0
HISTORY_WAIT_S = 1.0  # how long a screen pop waits for the caller's history

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


def live_json(services: Services) -> bytes:
    """`LiveView` as JSON, from the shared picture."""
    found = services.live.picture().live_json()
    if found is None:
        raise Unavailable("the runtime's kernel has no centre view")
    return found


def kpis_json(services: Services) -> bytes:
    """`KpiReport` as JSON, from the shared picture."""
    found = services.live.picture().kpis_json()
    if found is None:
        raise Unavailable("live statistics are not running")
    return found


def staffing_advice(
    services: Services, answered_pct: float, within_s: float, patience_s: float | None
) -> StaffingOut:
    view = services.live.picture().view
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


async def desk(services: Services, agent_id: str) -> DeskOut:
    """The agent's seat (read alone, not the whole centre) and the screen pop of the call
    on it, with the caller's history: the seat holds the call only while it is offered
    to this agent, so nobody else's caller shows here."""
    seat = services.runtime.seat(agent_id)
    call = None
    if seat is not None and seat.call_id is not None:
        call = screen_pop(services, seat.call_id)
        if call is not None:
            try:
                history = await asyncio.wait_for(
                    services.histories.of_call(call.call_id, call.caller), HISTORY_WAIT_S)
            except (TimeoutError, SQLAlchemyError, OSError) as exc:
                # A slow or absent store must not hold the pop back: it shows the call
                # now, and the history with a later push (the read goes on meanwhile).
                log.warning("no caller history for %s yet: %r", call.call_id, exc)
            else:
                call = call.model_copy(update={"history": history})
    return DeskOut(agent_id=agent_id, seat=seat_out(seat, services.presence) if seat else None,
                   call=call)


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
        seat = services.runtime.seat(agent_id)
        if seat is None or seat.state is not SeatState.WRAP_UP:
            raise Refused("the seat is not in wrap-up")
    await post_confirmed(services.runtime, seat_event(services, agent_id, command))
    services.live.invalidate()  # whoever changed the seat sees it on the wallboard at once
    return await desk(services, agent_id)


# --- the mode ------------------------------------------------------------------------------


async def switch_mode(
    services: Services, user: Principal, mode: str, reason: str, until: float | None
) -> ModeSwitchOut:
    """Switch through the runtime; answer with the audit row the store recorder wrote
    from the `ModeChanged` fact (the recorder is the table's one writer)."""
    at = services.clock()
    if mode not in services.centre.config.modes:
        raise LookupError(f"no mode {mode!r} (known: {', '.join(services.centre.config.modes)})")
    if until is not None and until <= at:
        raise ValueError("the return time must be in the future")
    event = ModeSwitched(mode, user.identity, reason, at, until)
    first = services.runtime.log.next_seq
    records = await post_confirmed(services.runtime, event)
    fact = next((r for r in records
                 if isinstance(r, ModeChanged) and r.at == at and r.by == user.identity), None)
    try:
        seq = next((s for s, r in services.runtime.log.since(first) if r is fact), None)
    except FellBehind as exc:
        raise Unavailable("the change could not be confirmed") from exc
    if fact is None or seq is None:
        raise Unavailable("the centre confirmed the switch without its audit fact")
    try:
        row = await wait_for_mode_switch(services.engine, seq, CONFIRM_TIMEOUT_S)
    except (TimeoutError, SQLAlchemyError, OSError) as exc:
        # The switch is done (the fact is logged); only its audit row is late.
        raise Unavailable(f"the centre is in mode {fact.new!r} now; the audit row of the "
                          "switch is not in the store yet") from exc
    return mode_switch_out(row)


def mode_switch_out(row: ModeSwitch) -> ModeSwitchOut:
    return ModeSwitchOut(
        id=row.id, at=row.at, from_mode=row.from_mode, to_mode=row.to_mode, by=row.by,
        reason=row.reason, until=row.until,
    )


async def mode_history(services: Services, limit: int) -> list[ModeSwitchOut]:
    return [mode_switch_out(row) for row in await recent_mode_switches(services.engine, limit)]
