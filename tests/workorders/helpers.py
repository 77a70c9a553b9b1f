"""Orders in every status, and a legal action of every kind, for table-driven tests."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hotline.workorders.lifecycle import ROLES, apply
from hotline.workorders.model import (
    AcceptMerged,
    Action,
    ActionKind,
    Actor,
    AnswerDirectly,
    ApproveExtension,
    Chase,
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
    Survey,
    WorkOrder,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOUR = 3600.0
DAY = 86_400.0
# Tuesday 10 March 2026, 10:00 in the centre.
T0 = dt.datetime(2026, 3, 10, 10, 0, tzinfo=SHANGHAI).timestamp()

AGENT = Actor(Role.AGENT, "a001")
SUPERVISOR = Actor(Role.SUPERVISOR, "s001")
ADMIN = Actor(Role.ADMIN, "root")
SYSTEM = Actor.system()
FGJ = Actor(Role.DEPARTMENT, "fgj-clerk", "fgj")
ZJJ = Actor(Role.DEPARTMENT, "zjj-clerk", "zjj")


def new_order(number: str = "12345-20260310-000001", at: float = T0) -> WorkOrder:
    return WorkOrder(number=number, created_at=at, source=Source.CALL, caller="13800138000",
                     content="小区电梯坏了", category="010302")


def dispatch(department: str = "fgj", at: float = T0) -> Dispatch:
    return Dispatch(department, due=at + 5 * DAY, sign_by=at + 2 * HOUR)


def actor_for(kind: ActionKind, department: str = "fgj") -> Actor:
    roles = ROLES[kind]
    if Role.DEPARTMENT in roles:
        return Actor(Role.DEPARTMENT, f"{department}-clerk", department)
    if Role.AGENT in roles:
        return AGENT
    return SUPERVISOR


_PATHS: dict[Status, tuple[Action, ...]] = {
    Status.REGISTERED: (),
    Status.DIRECTLY_ANSWERED: (AnswerDirectly("已在线解答"),),
    Status.DISPATCHED: (dispatch(),),
    Status.SIGNED: (dispatch(), SignFor()),
    Status.IN_PROGRESS: (dispatch(), SignFor(), Start()),
    Status.RETURNED: (dispatch(), Return("不属于本单位职责")),
    Status.REPLIED: (dispatch(), SignFor(), Start(), Reply("已维修")),
}


def order_in(status: Status, survey: Satisfaction = Satisfaction.SATISFIED) -> WorkOrder:
    """An order driven to `status` by legal steps one minute apart from T0."""
    if status is Status.SURVEYED:
        steps: tuple[Action, ...] = (*_PATHS[Status.REPLIED], Survey(survey))
    elif status is Status.CLOSED:
        steps = (*_PATHS[Status.REPLIED], Survey(survey), Close())
    else:
        steps = _PATHS[status]
    order = new_order()
    for i, action in enumerate(steps):
        order = apply(order, action, actor_for(action.kind), T0 + i * 60).order
    assert order.status is status
    return order


def legal_step(status: Status, kind: ActionKind) -> tuple[WorkOrder, Action, Actor, float]:
    """An order in `status` with the preconditions of `kind` met, the action, actor, time."""
    survey = Satisfaction.DISSATISFIED if kind is ActionKind.REOPEN else Satisfaction.SATISFIED
    order = order_in(status, survey)
    at = order.last_changed + 60
    actor = actor_for(kind)
    action: Action
    match kind:
        case ActionKind.DISPATCH:
            action = dispatch("zjj" if status is Status.RETURNED else "fgj", at)
        case ActionKind.ANSWER_DIRECTLY:
            action = AnswerDirectly("政策解答")
        case ActionKind.SIGN_FOR:
            action = SignFor()
        case ActionKind.START:
            action = Start()
        case ActionKind.RETURN:
            action = Return("非本单位职责")
        case ActionKind.INSIST:
            action = Insist("经核实属贵单位职责", sign_by=at + HOUR)
        case ActionKind.REPLY:
            action = Reply("已处理")
        case ActionKind.REJECT_REPLY:
            action = RejectReply("答复未回应诉求")
        case ActionKind.REQUEST_EXTENSION:
            assert order.due is not None
            action = RequestExtension(order.due + 3 * DAY, "需协调多部门")
        case ActionKind.APPROVE_EXTENSION | ActionKind.REFUSE_EXTENSION:
            assert order.due is not None
            order = apply(order, RequestExtension(order.due + 3 * DAY, "需协调"), FGJ, at).order
            action = ApproveExtension() if kind is ActionKind.APPROVE_EXTENSION else (
                RefuseExtension("时限内可办结"))
        case ActionKind.CHASE:
            action = Chase()
        case ActionKind.ESCALATE:
            assert order.due is not None
            at = order.due + 60
            action = Escalate()
        case ActionKind.SURVEY:
            action = Survey(Satisfaction.SATISFIED)
        case ActionKind.REOPEN:
            action = Reopen(due=at + 3 * DAY, sign_by=at + HOUR)
        case ActionKind.CLOSE:
            action = Close()
        case ActionKind.MERGE:
            action = Merge("12345-20260309-000007")
        case ActionKind.ACCEPT_MERGED:
            action = AcceptMerged("12345-20260310-000099")
    return order, action, actor, at
