"""Work orders in the store: created from a call, changed only through the domain's
`hotline.workorders.lifecycle.apply`, each step kept as a history row.

The store's `work_orders` row holds what lists and filters need (status, department,
deadline, caller...). The domain order is rebuilt by replaying the history: the
``register`` row carries the order as registered, every later row the action, the actor
and the exact time, as JSON in its ``note`` column (a dedicated JSON column would be
cleaner: the store has none yet). So an order is always exactly what
its audited history says.

Who sees what: supervisors and admins every order; an agent the orders of calls they
answered (``agent_id``); a department user the orders currently with its department.
An order someone may not see is "not found" for them, so numbers cannot be probed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from hotline.api.feeds import OrderChanged
from hotline.api.schemas import HistoryOut, OrderAction, OrderCreate, OrderOut, OrderSummary
from hotline.api.security import Principal
from hotline.api.services import Services
from hotline.store.models import (
    CallRow,
    Department,
    UserRole,
    WorkOrderHistory,
)
from hotline.store.models import (
    Survey as SurveyRow,
)
from hotline.store.models import (
    WorkOrder as OrderRow,
)
from hotline.workorders import lifecycle
from hotline.workorders.deadlines import dispatch_action, insist_action, reopen_action
from hotline.workorders.intake import CallRecord, order_from_call, order_number
from hotline.workorders.model import (
    AcceptMerged,
    AnswerDirectly,
    ApproveExtension,
    Chase,
    ChaseReason,
    Close,
    Dispatch,
    Escalate,
    Insist,
    Merge,
    RefuseExtension,
    RejectReply,
    Reopen,
    Reply,
    RequestExtension,
    Return,
    Role,
    Satisfaction,
    SignFor,
    Source,
    Start,
    Status,
    Suggestion,
    Survey,
)
from hotline.workorders.model import Action as DomainAction
from hotline.workorders.model import ActionKind as K
from hotline.workorders.model import Actor as DomainActor
from hotline.workorders.model import WorkOrder as Order
from hotline.workorders.model import WorkOrderError as OrderError
from hotline.workorders.webhook import public_order

FORMAT = 1
REGISTER = "register"


class OrderNotFound(LookupError):
    pass


class OrderInvalid(ValueError):
    """The request itself is wrong (unknown department or category, missing field)."""


# --- JSON of actions and orders ---------------------------------------------------------

_ACTIONS: dict[str, type[Any]] = {
    cls.kind.value: cls
    for cls in (
        Dispatch, AnswerDirectly, SignFor, Start, Return, Insist, Reply, RejectReply,
        RequestExtension, ApproveExtension, RefuseExtension, Chase, Escalate, Survey, Reopen,
        Close, Merge, AcceptMerged,
    )
}


def action_json(action: DomainAction) -> dict[str, Any]:
    """The action's fields (enums as their strings) and its kind."""
    data = {f.name: getattr(action, f.name) for f in dataclasses.fields(action)}
    data["kind"] = action.kind.value
    return {k: v.value if isinstance(v, Enum) else v for k, v in data.items()}


def action_from_json(data: Mapping[str, Any]) -> DomainAction:
    fields = dict(data)
    cls = _ACTIONS[fields.pop("kind")]
    if cls is Survey:
        fields["result"] = Satisfaction(fields["result"])
    if cls is Chase:
        fields["reason"] = ChaseReason(fields["reason"])
    action: DomainAction = cls(**fields)
    return action


def actor_json(actor: DomainActor) -> dict[str, Any]:
    return {"role": actor.role.value, "id": actor.id, "department": actor.department}


def actor_from_json(data: Mapping[str, Any]) -> DomainActor:
    return DomainActor(Role(data["role"]), data["id"], data.get("department"))


def _suggestions(items: Any) -> tuple[Suggestion, ...]:
    return tuple(Suggestion(str(s["label"]), float(s["confidence"])) for s in items or ())


def registered_from_json(data: Mapping[str, Any]) -> Order:
    return Order(
        number=data["number"], created_at=data["created_at"], source=Source(data["source"]),
        mode=data["mode"], caller=data["caller"], line=data["line"], call_id=data["call_id"],
        recording=data.get("recording"), transcript=data["transcript"],
        content=data["content"], address=data["address"], category=data["category"],
        suggested_categories=_suggestions(data.get("suggested_categories")),
        suggested_departments=_suggestions(data.get("suggested_departments")),
    )


def replay(history: list[WorkOrderHistory]) -> Order:
    order: Order | None = None
    for row in history:
        data = json.loads(row.note)
        if row.action == REGISTER:
            order = registered_from_json(data["order"])
            continue
        if order is None:
            raise OrderError(f"history row {row.id} comes before the registration")
        order = lifecycle.apply(
            order, action_from_json(data["action"]), actor_from_json(data["actor"]), data["at"]
        ).order
    if order is None:
        raise OrderError("an order without its registration")
    return order


# --- who sees what ----------------------------------------------------------------------


def actor_of(user: Principal) -> DomainActor:
    department = user.department if user.role is UserRole.DEPARTMENT else None
    if user.role is UserRole.DEPARTMENT and department is None:
        raise OrderInvalid("this department user has no department")
    return DomainActor(Role(user.role.value), user.identity, department)


def _visible(query: Select[Any], user: Principal) -> Select[Any]:
    if user.role is UserRole.AGENT:
        return query.where(OrderRow.agent_id == user.agent_id)
    if user.role is UserRole.DEPARTMENT:
        return query.join(Department, Department.id == OrderRow.department_id).where(
            Department.code == user.department
        )
    return query


async def _load(session: AsyncSession, user: Principal, number: str,
                for_update: bool = False) -> OrderRow:
    query = _visible(select(OrderRow), user).where(OrderRow.number == number).options(
        selectinload(OrderRow.history)
    )
    if for_update:
        query = query.with_for_update(of=OrderRow)
    row: OrderRow | None = (await session.execute(query)).scalar_one_or_none()
    if row is None:
        raise OrderNotFound(f"no work order {number}")
    return row


# --- responses ------------------------------------------------------------------------------


def _dt(at: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(at, dt.UTC)


def order_out(row: OrderRow, order: Order) -> OrderOut:
    history = []
    for index, entry in enumerate(row.history):
        data = json.loads(entry.note)
        at = data.get("at", data.get("order", {}).get("created_at", 0.0))
        detail = data.get("action", {}) if entry.action != REGISTER else {}
        history.append(HistoryOut(
            sequence=index, at=at, actor=entry.actor, action=entry.action,
            before=entry.from_status, after=entry.to_status,
            detail={k: v for k, v in detail.items() if k != "kind"},
        ))
    return OrderOut(
        number=order.number, status=order.status.value, created_at=order.created_at,
        source=order.source.value, mode=order.mode, caller=order.caller,
        caller_name=row.caller_name, line=order.line, call_id=order.call_id,
        agent_id=row.agent_id, category=order.category, department=order.department,
        content=order.content, address=order.address, transcript=order.transcript,
        answer=order.answer, sign_by=order.sign_by, due=order.due,
        extension_until=order.extension.until if order.extension else None,
        survey=order.survey.value if order.survey else None, merged_into=order.merged_into,
        allowed_actions=sorted(
            k.value for k in lifecycle.allowed(order.status) if k is not K.ACCEPT_MERGED
        ),
        history=history,
    )


def summary(row: OrderRow, department: str | None) -> OrderSummary:
    return OrderSummary(
        number=row.number, status=row.status, category=row.category_code,
        department=department, caller=row.caller, line=row.line, call_id=row.call_id,
        agent_id=row.agent_id, deadline=row.deadline, created_at=row.created_at,
    )


# --- services ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Call:
    call_id: str
    line: str
    caller: str
    agent: str | None
    transcript: str
    intent: str | None
    confidence: float


async def _call(services: Services, session: AsyncSession, call_id: str) -> _Call | None:
    pop = services.screen_pops.get(call_id)
    row = await session.get(CallRow, call_id)
    if pop is None and row is None:
        return None
    agent = (pop.agent_id if pop is not None else None) or (row.agent if row else None)
    if pop is not None:
        return _Call(call_id, pop.line, pop.caller, agent, " ".join(pop.transcript),
                     pop.suggested_category, pop.suggested_confidence or 0.0)
    assert row is not None
    return _Call(call_id, row.line, row.caller, agent, "", None, 0.0)


async def _next_sequence(session: AsyncSession, prefix: str, day: dt.date) -> int:
    pattern = f"{prefix}-{day:%Y%m%d}-%"
    count = (
        await session.execute(
            select(func.count()).select_from(OrderRow).where(OrderRow.number.like(pattern))
        )
    ).scalar_one()
    return int(count) + 1


async def create_from_call(services: Services, user: Principal, body: OrderCreate) -> OrderOut:
    actor = actor_of(user)
    at = services.clock()
    if body.category is not None and body.category not in services.catalogue.categories:
        raise OrderInvalid(f"no category {body.category!r}")
    mode = services.runtime.view().centre
    current_mode = mode.mode if mode is not None else "normal"
    for attempt in range(3):
        async with AsyncSession(services.engine, expire_on_commit=False) as session:
            call = await _call(services, session, body.call_id)
            if call is None:
                raise OrderNotFound(f"no call {body.call_id}")
            if user.role is UserRole.AGENT and call.agent != user.agent_id:
                raise OrderNotFound(f"no call {body.call_id} of yours")
            day = services.calendar.local_date(at)
            sequence = await _next_sequence(session, "12345", day) + attempt
            number = order_number(at, services.zone, _fixed(sequence))
            categories = (
                (Suggestion(call.intent, call.confidence),) if call.intent is not None else ()
            )
            order = order_from_call(
                number,
                CallRecord(call.call_id, call.line, call.caller, call.transcript, categories),
                at, services.catalogue, current_mode,
            )
            if body.content is not None:
                order = _replace(order, content=body.content)
            if body.category is not None:
                order = _replace(order, category=body.category)
            order = _replace(order, address=body.address)
            row = OrderRow(
                number=number, status=order.status.value, category_code=order.category,
                caller=order.caller or "", caller_name=body.caller_name, line=order.line or "",
                call_id=order.call_id, agent_id=call.agent, mode=order.mode, tags=[],
                address=order.address, content=order.content, transcript=order.transcript,
                created_at=_dt(at),
            )
            row.history.append(WorkOrderHistory(
                action=REGISTER, actor=actor.id, from_status=None,
                to_status=order.status.value, at=_dt(at),
                note=json.dumps({"v": FORMAT, "order": public_order(order)}, ensure_ascii=False),
            ))
            session.add(row)
            try:
                await session.commit()
            except IntegrityError:
                await session.rollback()
                continue  # another order took the number: take the next one
            services.order_feed.publish(_changed(order, order))
            return order_out(row, order)
    raise OrderInvalid("could not number the order; try again")


def _fixed(sequence: int) -> Callable[[dt.date], int]:
    return lambda _day: sequence


def _replace(order: Order, **changes: Any) -> Order:
    return dataclasses.replace(order, **changes)


async def list_orders(
    services: Services, user: Principal, status: Status | None, limit: int, offset: int
) -> list[OrderSummary]:
    query = _visible(select(OrderRow, Department.code), user)
    if user.role is not UserRole.DEPARTMENT:
        query = query.outerjoin(Department, Department.id == OrderRow.department_id)
    if status is not None:
        query = query.where(OrderRow.status == status.value)
    query = query.order_by(OrderRow.id.desc()).limit(limit).offset(offset)
    async with AsyncSession(services.engine, expire_on_commit=False) as session:
        return [summary(row, code) for row, code in (await session.execute(query)).all()]


async def summary_of(services: Services, number: str) -> OrderSummary | None:
    """One order's list line, whoever may see it (for pushing it to the pages of the
    departments concerned)."""
    query = (select(OrderRow, Department.code)
             .outerjoin(Department, Department.id == OrderRow.department_id)
             .where(OrderRow.number == number))
    async with AsyncSession(services.engine, expire_on_commit=False) as session:
        found = (await session.execute(query)).one_or_none()
    return summary(found[0], found[1]) if found is not None else None


async def get_order(services: Services, user: Principal, number: str) -> OrderOut:
    async with AsyncSession(services.engine, expire_on_commit=False) as session:
        row = await _load(session, user, number)
        return order_out(row, replay(list(row.history)))


def _need(value: Any, what: str) -> Any:
    if value is None or value == "":
        raise OrderInvalid(f"this action needs {what}")
    return value


def _department(services: Services, code: str | None) -> str:
    code = _need(code, "a department")
    if services.catalogue.find_department(code) is None:
        raise OrderInvalid(f"no department {code!r}")
    return services.catalogue.find_department(code).code  # type: ignore[union-attr]


def build_action(
    services: Services, order: Order, body: OrderAction, at: float, mode: str
) -> DomainAction:
    cat, cal = services.catalogue, services.calendar
    until = body.until.timestamp() if body.until is not None else None
    match body.action:
        case K.DISPATCH:
            return dispatch_action(cat, cal, order, _department(services, body.department),
                                   mode, at, body.note)
        case K.ANSWER_DIRECTLY:
            return AnswerDirectly(body.answer)
        case K.SIGN_FOR:
            return SignFor()
        case K.START:
            return Start()
        case K.RETURN:
            return Return(body.reason)
        case K.INSIST:
            return insist_action(cat, cal, order, body.note, at)
        case K.REPLY:
            return Reply(body.answer)
        case K.REJECT_REPLY:
            return RejectReply(body.reason)
        case K.REQUEST_EXTENSION:
            return RequestExtension(_need(until, "until"), body.reason)
        case K.APPROVE_EXTENSION:
            return ApproveExtension(until)
        case K.REFUSE_EXTENSION:
            return RefuseExtension(body.reason)
        case K.CHASE:
            return Chase(ChaseReason.MANUAL, body.note)
        case K.ESCALATE:
            return Escalate(body.note)
        case K.SURVEY:
            return Survey(_need(body.result, "a result"), body.note)
        case K.REOPEN:
            department = (
                _department(services, body.department) if body.department is not None else None
            )
            return reopen_action(cat, cal, order, mode, at, department, body.note)
        case K.CLOSE:
            return Close(body.note)
        case K.MERGE:
            return Merge(_need(body.parent, "the parent order"))
    raise OrderInvalid(f"{body.action} is not an action to ask for")


async def _department_ids(session: AsyncSession) -> dict[str, int]:
    return {code: id_ for id_, code in (await session.execute(
        select(Department.id, Department.code))).all()}


def _record(row: OrderRow, applied: lifecycle.Applied, ids: Mapping[str, int]) -> None:
    order, entry = applied.order, applied.entry
    row.status = order.status.value
    row.department_id = ids.get(order.department) if order.department else None
    row.deadline = _dt(order.due) if order.due is not None else None
    row.category_code = order.category
    if order.status is Status.CLOSED:
        row.closed_at = _dt(entry.at)
    row.history.append(WorkOrderHistory(
        action=entry.action.kind.value, actor=entry.actor.id, from_status=entry.before.value,
        to_status=entry.after.value, department_id=row.department_id, at=_dt(entry.at),
        note=json.dumps({"v": FORMAT, "at": entry.at, "actor": actor_json(entry.actor),
                         "action": action_json(entry.action)}, ensure_ascii=False),
    ))


async def act(services: Services, user: Principal, number: str, body: OrderAction) -> OrderOut:
    actor = actor_of(user)
    at = services.clock()
    view = services.runtime.view().centre
    mode = view.mode if view is not None else "normal"
    changes: list[OrderChanged] = []
    async with AsyncSession(services.engine, expire_on_commit=False) as session, session.begin():
        row = await _load(session, user, number, for_update=True)
        order = replay(list(row.history))
        action = build_action(services, order, body, at, mode)
        ids = await _department_ids(session)
        if isinstance(action, Merge):
            parent_row = await _load(session, user, action.parent, for_update=True)
            parent = replay(list(parent_row.history))
            child_applied, parent_applied = lifecycle.merge(order, parent, actor, at)
            _record(row, child_applied, ids)
            _record(parent_row, parent_applied, ids)
            applied = child_applied
            changes.append(_changed(parent, parent_applied.order))
        else:
            applied = lifecycle.apply(order, action, actor, at)
            _record(row, applied, ids)
        changes.append(_changed(order, applied.order))
        if isinstance(action, Survey):
            session.add(SurveyRow(work_order_id=row.id, call_id=row.call_id,
                                  result=action.result.value, channel="agent", at=_dt(at)))
        await session.flush()
        result = order_out(row, applied.order)
    for change in changes:  # committed: the departments' pages may read it now
        services.order_feed.publish(change)
    return result


def _changed(before: Order, after: Order) -> OrderChanged:
    departments = {d for d in (before.department, after.department) if d is not None}
    return OrderChanged(after.number, frozenset(departments))
