"""The 12345 closed loop as one transition table and one chokepoint.

    registered ──answer_directly──▶ directly_answered ──survey──▶ surveyed ──close──▶ closed
        │                                  └──────────close (no survey wanted)─────────▲
        └─dispatch─▶ dispatched ─sign_for─▶ signed ─start─▶ in_progress ─reply─▶ replied
                        │  ▲                 │                  ▲   │             │
                  return│  │dispatch(other)  │return            │   └reject_reply─┘
                        ▼  │ / insist(same)  ▼                                    survey
                      returned ◀─────────────┘                                      ▼
                                  dispatched ◀──────reopen (dissatisfied)──── surveyed
    any open status ──merge──▶ closed (as merged into a parent order)

`TRANSITIONS` is the whole story: `apply` looks the (status, action) pair up, checks the
actor's role (`ROLES`) and the action's preconditions, and returns the new order with
the history entry that records the step. Anything else raises `WorkOrderError` and the
order passed in stays the current one (it is immutable anyway).

`due_actions(order, at, ...)` tells a scheduler what the system must do now: chase a
department that has not signed for an order or is running out of time (催办), escalate
an overdue order to supervisors (督办).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from hotline.workorders.model import (
    CENTRE_ROLES,
    OPEN_AT_DEPARTMENT,
    AcceptMerged,
    Action,
    ActionKind,
    Actor,
    AnswerDirectly,
    ApproveExtension,
    Chase,
    ChaseReason,
    Close,
    Closure,
    Dispatch,
    Escalate,
    ExtensionRequest,
    HistoryEntry,
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
    Start,
    Status,
    Survey,
    WorkOrder,
    WorkOrderError,
)
from hotline.workorders.working_time import fraction_left

S = Status
A = ActionKind

_OPEN = tuple(s for s in Status if s is not S.CLOSED)

TRANSITIONS: Mapping[tuple[Status, ActionKind], Status] = {
    (S.REGISTERED, A.DISPATCH): S.DISPATCHED,
    (S.REGISTERED, A.ANSWER_DIRECTLY): S.DIRECTLY_ANSWERED,
    (S.DISPATCHED, A.SIGN_FOR): S.SIGNED,
    (S.DISPATCHED, A.RETURN): S.RETURNED,
    (S.SIGNED, A.RETURN): S.RETURNED,
    (S.SIGNED, A.START): S.IN_PROGRESS,
    (S.RETURNED, A.DISPATCH): S.DISPATCHED,  # to another department
    (S.RETURNED, A.INSIST): S.DISPATCHED,  # back to the same one, with a note
    (S.IN_PROGRESS, A.REPLY): S.REPLIED,
    (S.REPLIED, A.REJECT_REPLY): S.IN_PROGRESS,
    **{(s, A.REQUEST_EXTENSION): s for s in (S.SIGNED, S.IN_PROGRESS)},
    **{(s, A.APPROVE_EXTENSION): s for s in (S.SIGNED, S.IN_PROGRESS)},
    **{(s, A.REFUSE_EXTENSION): s for s in (S.SIGNED, S.IN_PROGRESS)},
    **{(s, A.CHASE): s for s in OPEN_AT_DEPARTMENT},
    **{(s, A.ESCALATE): s for s in OPEN_AT_DEPARTMENT},
    (S.DIRECTLY_ANSWERED, A.SURVEY): S.SURVEYED,
    (S.REPLIED, A.SURVEY): S.SURVEYED,
    (S.SURVEYED, A.REOPEN): S.DISPATCHED,
    (S.SURVEYED, A.CLOSE): S.CLOSED,
    (S.DIRECTLY_ANSWERED, A.CLOSE): S.CLOSED,  # a consultation the caller needs no survey for
    **{(s, A.MERGE): S.CLOSED for s in _OPEN},
    **{(s, A.ACCEPT_MERGED): s for s in Status},
}

_SUPERVISORS = frozenset({Role.SUPERVISOR, Role.ADMIN})
_DEPARTMENT = frozenset({Role.DEPARTMENT})

ROLES: Mapping[ActionKind, frozenset[Role]] = {
    A.DISPATCH: CENTRE_ROLES,
    A.ANSWER_DIRECTLY: CENTRE_ROLES,
    A.SIGN_FOR: _DEPARTMENT,
    A.START: _DEPARTMENT,
    A.RETURN: _DEPARTMENT,
    A.INSIST: CENTRE_ROLES,
    A.REPLY: _DEPARTMENT,
    A.REJECT_REPLY: CENTRE_ROLES,
    A.REQUEST_EXTENSION: _DEPARTMENT,
    A.APPROVE_EXTENSION: _SUPERVISORS,
    A.REFUSE_EXTENSION: _SUPERVISORS,
    A.CHASE: CENTRE_ROLES | {Role.SYSTEM},
    A.ESCALATE: _SUPERVISORS | {Role.SYSTEM},
    A.SURVEY: CENTRE_ROLES,
    A.REOPEN: CENTRE_ROLES,
    A.CLOSE: CENTRE_ROLES,
    A.MERGE: CENTRE_ROLES,
    A.ACCEPT_MERGED: CENTRE_ROLES,
}


@dataclass(frozen=True, slots=True)
class Applied:
    order: WorkOrder
    entry: HistoryEntry


def allowed(status: Status) -> frozenset[ActionKind]:
    """Actions the table allows in `status` (roles and preconditions aside)."""
    return frozenset(kind for (s, kind) in TRANSITIONS if s is status)


def apply(order: WorkOrder, action: Action, actor: Actor, at: float) -> Applied:
    """The one place an order changes: check, then return the new order and its entry."""
    target = TRANSITIONS.get((order.status, action.kind))
    if target is None:
        raise WorkOrderError(
            f"{order.number}: cannot {action.kind} an order that is {order.status}"
        )
    if actor.role not in ROLES[action.kind]:
        raise WorkOrderError(f"{order.number}: a {actor.role} may not {action.kind}")
    if actor.role is Role.DEPARTMENT and actor.department != order.department:
        raise WorkOrderError(f"{order.number}: not an order of department {actor.department}")
    if at < order.last_changed:
        raise WorkOrderError(f"{order.number}: {action.kind} at {at} is before its last change")
    changed = _effect(order, action, actor, at)
    entry = HistoryEntry(len(order.history) + 1, at, actor, action, order.status, target)
    return Applied(replace(changed, status=target, history=(*order.history, entry)), entry)


def replay(initial: WorkOrder, entries: Iterable[HistoryEntry]) -> WorkOrder:
    """Rebuild an order from its registration state and its history."""
    order = initial
    for entry in entries:
        applied = apply(order, entry.action, entry.actor, entry.at)
        if applied.entry != entry:
            raise WorkOrderError(f"{order.number}: history entry {entry.sequence} does not replay")
        order = applied.order
    return order


def _need(condition: bool, order: WorkOrder, message: str) -> None:
    if not condition:
        raise WorkOrderError(f"{order.number}: {message}")


def _deadlines_ok(order: WorkOrder, at: float, sign_by: float, due: float) -> None:
    _need(at < sign_by <= due, order, "deadlines must be in the future, signing first")


def _effect(order: WorkOrder, action: Action, actor: Actor, at: float) -> WorkOrder:
    """The action's preconditions and its changes to the order (status set by `apply`)."""
    match action:
        case Dispatch(department=department, due=due, sign_by=sign_by):
            _need(bool(department), order, "dispatch needs a department")
            _need(order.status is not S.RETURNED or department != order.department, order,
                  f"{department} returned this order: insist to send it back there")
            _deadlines_ok(order, at, sign_by, due)
            return _to_department(order, department, at, sign_by, due)
        case Insist(note=note, sign_by=sign_by, due=due):
            _need(bool(note.strip()), order, "insisting needs a note for the department")
            new_due = due if due is not None else order.due
            _need(new_due is not None, order, "no deadline to keep")
            assert new_due is not None and order.department is not None
            _deadlines_ok(order, at, sign_by, new_due)
            return _to_department(order, order.department, at, sign_by, new_due,
                                  keep_clock=due is None)
        case AnswerDirectly(answer=answer):
            _need(bool(answer.strip()), order, "a direct answer needs its text")
            return replace(order, answer=answer)
        case SignFor() | Start():
            return order
        case Return(reason=reason):
            _need(bool(reason.strip()), order, "returning an order needs a reason")
            assert order.department is not None
            return replace(order, returned_by=(*order.returned_by, order.department),
                           extension=None)
        case Reply(answer=answer):
            _need(bool(answer.strip()), order, "the reply needs the answer")
            return replace(order, answer=answer, extension=None)
        case RejectReply(reason=reason):
            _need(bool(reason.strip()), order, "rejecting a reply needs a reason")
            return order
        case RequestExtension(until=until, reason=reason):
            _need(order.extension is None, order, "an extension request is already pending")
            _need(order.due is not None and at < order.due, order,
                  "an extension is requested before the deadline")
            assert order.due is not None
            _need(until > order.due, order, "the requested deadline is not later")
            _need(bool(reason.strip()), order, "an extension request needs a reason")
            return replace(order, extension=ExtensionRequest(until, reason, at))
        case ApproveExtension(until=until):
            _need(order.extension is not None, order, "no extension request is pending")
            assert order.extension is not None and order.due is not None
            new_due = until if until is not None else order.extension.until
            _need(new_due > order.due and new_due > at, order, "the new deadline is not later")
            return replace(order, due=new_due, extension=None)
        case RefuseExtension():
            _need(order.extension is not None, order, "no extension request is pending")
            return replace(order, extension=None)
        case Chase(reason=reason):
            _need(order.due is not None and at < order.due, order,
                  "chasing is before the deadline; an overdue order is escalated")
            if reason is ChaseReason.NOT_SIGNED_FOR:
                _need(order.status is S.DISPATCHED and order.sign_by is not None
                      and at >= order.sign_by, order, "the sign-for deadline has not passed")
                return replace(order, sign_chased_for=order.sign_by)
            if reason is ChaseReason.TIME_RUNNING_OUT:
                return replace(order, chased_for=order.due)
            return order
        case Escalate():
            _need(order.due is not None and at >= order.due, order, "the order is not overdue")
            _need(not order.overdue_escalated, order, "already escalated for this deadline")
            return replace(order, escalated_for=order.due)
        case Survey(result=result):
            return replace(order, survey=result)
        case Reopen(due=due, sign_by=sign_by, department=department):
            _need(order.survey is Satisfaction.DISSATISFIED, order,
                  "only a dissatisfied survey reopens an order")
            target = department if department is not None else order.department
            _need(bool(target), order, "reopening needs a department")
            assert target is not None
            _deadlines_ok(order, at, sign_by, due)
            reopened = _to_department(order, target, at, sign_by, due)
            return replace(reopened, survey=None, answer="", reopened=order.reopened + 1)
        case Close():
            _need(order.survey is not Satisfaction.DISSATISFIED or actor.role in _SUPERVISORS,
                  order, "closing over a dissatisfied survey is a supervisor's decision")
            return replace(order, closure=Closure.ARCHIVED, extension=None)
        case Merge(parent=parent):
            _need(bool(parent) and parent != order.number, order, "merge into another order")
            return replace(order, closure=Closure.MERGED, merged_into=parent, extension=None)
        case AcceptMerged(child=child):
            _need(bool(child) and child != order.number, order, "a child is another order")
            _need(order.closure is not Closure.MERGED, order,
                  f"merged into {order.merged_into}; merge into that order instead")
            _need(child not in order.merged_children, order, f"{child} is already merged here")
            return replace(order, merged_children=(*order.merged_children, child))


def _to_department(
    order: WorkOrder,
    department: str,
    at: float,
    sign_by: float,
    due: float,
    *,
    keep_clock: bool = False,
) -> WorkOrder:
    return replace(
        order,
        department=department,
        clock_started=order.clock_started if keep_clock and order.clock_started else at,
        sign_by=sign_by,
        due=due,
        extension=None,
    )


def merge(
    child: WorkOrder, parent: WorkOrder, actor: Actor, at: float
) -> tuple[Applied, Applied]:
    """并单: close `child` as merged into `parent` and record it on the parent.

    Both are checked before either changes, so a refused merge leaves both as they were.
    """
    child_applied = apply(child, Merge(parent.number), actor, at)
    parent_applied = apply(parent, AcceptMerged(child.number), actor, at)
    return child_applied, parent_applied


def due_actions(order: WorkOrder, at: float, chase_at_fraction_left: float) -> tuple[Action, ...]:
    """What the system must do now for `order` (apply each with `Actor.system()`).

    Each reminder is sent once per deadline: a new deadline (extension, re-dispatch)
    makes the order eligible again. The fraction is of wall-clock time between the
    start of the department's clock and the deadline (what the department sees).
    """
    if order.status not in OPEN_AT_DEPARTMENT or order.due is None:
        return ()
    if at >= order.due:
        return () if order.overdue_escalated else (Escalate("overdue"),)
    actions: list[Action] = []
    if (
        order.status is S.DISPATCHED
        and order.sign_by is not None
        and at >= order.sign_by
        and order.sign_chased_for != order.sign_by
    ):
        actions.append(Chase(ChaseReason.NOT_SIGNED_FOR))
    started = order.clock_started if order.clock_started is not None else order.created_at
    if (
        order.chased_for != order.due
        and fraction_left(started, order.due, at) <= chase_at_fraction_left
    ):
        actions.append(Chase(ChaseReason.TIME_RUNNING_OUT))
    return tuple(actions)


def next_check_at(order: WorkOrder, chase_at_fraction_left: float) -> float | None:
    """When `due_actions` will next have something to say (None: never, as things stand)."""
    if order.status not in OPEN_AT_DEPARTMENT or order.due is None:
        return None
    moments: list[float] = []
    if order.status is S.DISPATCHED and order.sign_by is not None and (
            order.sign_chased_for != order.sign_by):
        moments.append(order.sign_by)
    started = order.clock_started if order.clock_started is not None else order.created_at
    if order.chased_for != order.due:
        moments.append(order.due - (order.due - started) * chase_at_fraction_left)
    if not order.overdue_escalated:
        moments.append(order.due)
    return min(moments) if moments else None


def mermaid() -> str:
    """The table as a Mermaid state diagram (for the docs and the department help page)."""
    lines = ["stateDiagram-v2", f"    [*] --> {S.REGISTERED}"]
    edges: dict[tuple[Status, Status], list[str]] = {}
    for (before, kind), after in TRANSITIONS.items():
        edges.setdefault((before, after), []).append(str(kind))
    for (before, after), kinds in edges.items():
        lines.append(f"    {before} --> {after}: {', '.join(kinds)}")
    lines.append(f"    {S.CLOSED} --> [*]")
    return "\n".join(lines)
