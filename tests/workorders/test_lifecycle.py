"""The closed loop: every legal transition, every illegal pair, roles and preconditions."""

from __future__ import annotations

import itertools

import pytest

from hotline.workorders.lifecycle import (
    ROLES,
    TRANSITIONS,
    allowed,
    apply,
    due_actions,
    merge,
    next_check_at,
    replay,
)
from hotline.workorders.model import (
    AcceptMerged,
    Action,
    ActionKind,
    Actor,
    ApproveExtension,
    Chase,
    ChaseReason,
    Close,
    Closure,
    Dispatch,
    Escalate,
    Insist,
    Merge,
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
    WorkOrderError,
)

from .helpers import (
    ADMIN,
    AGENT,
    DAY,
    FGJ,
    HOUR,
    SUPERVISOR,
    SYSTEM,
    T0,
    ZJJ,
    actor_for,
    dispatch,
    legal_step,
    new_order,
    order_in,
)

ILLEGAL = sorted(
    (s, k) for s, k in itertools.product(Status, ActionKind) if (s, k) not in TRANSITIONS
)


@pytest.mark.parametrize(("status", "kind"), sorted(TRANSITIONS))
def test_every_legal_transition(status: Status, kind: ActionKind) -> None:
    order, action, actor, at = legal_step(status, kind)
    applied = apply(order, action, actor, at)
    assert applied.order.status is TRANSITIONS[(status, kind)]
    assert applied.entry.before is status
    assert applied.entry.after is applied.order.status
    assert applied.order.history == (*order.history, applied.entry)
    assert applied.entry.sequence == len(order.history) + 1


@pytest.mark.parametrize(("status", "kind"), ILLEGAL)
def test_every_illegal_pair_raises_and_changes_nothing(status: Status, kind: ActionKind) -> None:
    # Build the action from some status where it is legal, then try it in `status`.
    source = next(s for (s, k) in TRANSITIONS if k is kind)
    _, action, actor, _ = legal_step(source, kind)
    order = order_in(status)
    before = order
    with pytest.raises(WorkOrderError, match="cannot"):
        apply(order, action, actor, order.last_changed + 60)
    assert order == before


def test_allowed_lists_the_table_row() -> None:
    assert allowed(Status.REGISTERED) == {
        ActionKind.DISPATCH, ActionKind.ANSWER_DIRECTLY, ActionKind.MERGE,
        ActionKind.ACCEPT_MERGED,
    }
    assert allowed(Status.CLOSED) == {ActionKind.ACCEPT_MERGED}


@pytest.mark.parametrize(("status", "kind"), sorted(TRANSITIONS))
def test_roles_outside_the_table_are_refused(status: Status, kind: ActionKind) -> None:
    order, action, _, at = legal_step(status, kind)
    for role in set(Role) - ROLES[kind]:
        actor = Actor(role, "x", "fgj" if role is Role.DEPARTMENT else None)
        with pytest.raises(WorkOrderError, match="may not"):
            apply(order, action, actor, at)


@pytest.mark.parametrize("kind", [ActionKind.SIGN_FOR, ActionKind.RETURN])
def test_a_department_acts_only_on_its_own_orders(kind: ActionKind) -> None:
    order, action, _, at = legal_step(Status.DISPATCHED, kind)
    with pytest.raises(WorkOrderError, match="not an order of department zjj"):
        apply(order, action, ZJJ, at)


def test_department_actor_must_carry_a_code() -> None:
    with pytest.raises(ValueError):
        Actor(Role.DEPARTMENT, "x")
    with pytest.raises(ValueError):
        Actor(Role.AGENT, "x", "fgj")


def test_time_never_runs_backwards() -> None:
    order = order_in(Status.DISPATCHED)
    with pytest.raises(WorkOrderError, match="before its last change"):
        apply(order, SignFor(), FGJ, order.last_changed - 1)


def test_full_loop_from_call_to_archive_replays() -> None:
    initial = new_order()
    order = initial
    steps: list[tuple[Action, Actor]] = [
        (dispatch(), AGENT), (SignFor(), FGJ), (Start(), FGJ),
        (RequestExtension(T0 + 8 * DAY, "需要采购配件"), FGJ), (ApproveExtension(), SUPERVISOR),
    ]
    at = T0
    for action, actor in steps:
        at += HOUR
        order = apply(order, action, actor, at).order
    assert order.due == T0 + 8 * DAY and order.extension is None
    order = apply(order, Reply("电梯已修复"), FGJ, at + HOUR).order
    order = apply(order, Survey(Satisfaction.SATISFIED), AGENT, at + 2 * HOUR).order
    order = apply(order, Close(), AGENT, at + 3 * HOUR).order
    assert order.status is Status.CLOSED and order.closure is Closure.ARCHIVED
    assert replay(initial, order.history) == order


def test_return_then_redispatch_to_another_department_or_insist() -> None:
    returned = order_in(Status.RETURNED)
    at = returned.last_changed + 60
    assert returned.returned_by == ("fgj",)
    with pytest.raises(WorkOrderError, match="insist"):
        apply(returned, dispatch("fgj", at), AGENT, at)
    moved = apply(returned, dispatch("zjj", at), AGENT, at).order
    assert moved.status is Status.DISPATCHED and moved.department == "zjj"
    with pytest.raises(WorkOrderError, match="note"):
        apply(returned, Insist("  ", sign_by=at + HOUR), AGENT, at)
    insisted = apply(returned, Insist("属贵单位职责", sign_by=at + HOUR), AGENT, at).order
    assert insisted.department == "fgj" and insisted.due == returned.due
    assert insisted.clock_started == returned.clock_started  # the original deadline stands


def test_return_needs_a_reason() -> None:
    order = order_in(Status.DISPATCHED)
    with pytest.raises(WorkOrderError, match="reason"):
        apply(order, Return(""), FGJ, order.last_changed + 1)


def test_extension_only_before_the_deadline_and_one_at_a_time() -> None:
    order = order_in(Status.IN_PROGRESS)
    assert order.due is not None
    late = order.due + 1
    with pytest.raises(WorkOrderError, match="before the deadline"):
        apply(order, RequestExtension(order.due + DAY, "晚了"), FGJ, late)
    at = order.last_changed + 1
    with pytest.raises(WorkOrderError, match="not later"):
        apply(order, RequestExtension(order.due - 1, "错误"), FGJ, at)
    pending = apply(order, RequestExtension(order.due + DAY, "需协调"), FGJ, at).order
    with pytest.raises(WorkOrderError, match="already pending"):
        apply(pending, RequestExtension(order.due + 2 * DAY, "再延"), FGJ, at)
    with pytest.raises(WorkOrderError, match="may not"):
        apply(pending, ApproveExtension(), AGENT, at)  # approval is a supervisor's
    approved = apply(pending, ApproveExtension(order.due + 2 * DAY), ADMIN, at).order
    assert approved.due == order.due + 2 * DAY and approved.extension is None


def test_chase_before_and_escalate_after_the_deadline() -> None:
    order = order_in(Status.SIGNED)
    assert order.due is not None
    with pytest.raises(WorkOrderError, match="escalated"):
        apply(order, Chase(), AGENT, order.due)
    with pytest.raises(WorkOrderError, match="not overdue"):
        apply(order, Escalate(), SYSTEM, order.due - 1)
    escalated = apply(order, Escalate(), SYSTEM, order.due).order
    assert escalated.overdue_escalated
    with pytest.raises(WorkOrderError, match="already escalated"):
        apply(escalated, Escalate(), SUPERVISOR, order.due + 1)


def test_due_actions_chase_then_escalate_once_each() -> None:
    order = apply(new_order(), Dispatch("fgj", due=T0 + 4 * DAY, sign_by=T0 + 2 * HOUR),
                  AGENT, T0).order
    assert due_actions(order, T0 + HOUR, 0.25) == ()
    assert next_check_at(order, 0.25) == T0 + 2 * HOUR
    (not_signed,) = due_actions(order, T0 + 3 * HOUR, 0.25)
    assert not_signed == Chase(ChaseReason.NOT_SIGNED_FOR)
    order = apply(order, not_signed, SYSTEM, T0 + 3 * HOUR).order
    assert due_actions(order, T0 + 4 * HOUR, 0.25) == ()
    order = apply(order, SignFor(), FGJ, T0 + 5 * HOUR).order
    assert next_check_at(order, 0.25) == T0 + 3 * DAY
    assert due_actions(order, T0 + 3 * DAY - 1, 0.25) == ()
    (running_out,) = due_actions(order, T0 + 3 * DAY, 0.25)
    assert running_out == Chase(ChaseReason.TIME_RUNNING_OUT)
    order = apply(order, running_out, SYSTEM, T0 + 3 * DAY).order
    assert due_actions(order, T0 + 3.5 * DAY, 0.25) == ()
    (overdue,) = due_actions(order, T0 + 4 * DAY, 0.25)
    assert isinstance(overdue, Escalate)
    order = apply(order, overdue, SYSTEM, T0 + 4 * DAY).order
    assert due_actions(order, T0 + 9 * DAY, 0.25) == ()
    assert next_check_at(order, 0.25) is None


def test_due_actions_only_while_a_department_holds_it() -> None:
    for status in (Status.REGISTERED, Status.RETURNED, Status.REPLIED, Status.CLOSED):
        assert due_actions(order_in(status), T0 + 100 * DAY, 0.25) == ()


def test_reopen_only_after_a_dissatisfied_survey() -> None:
    happy = order_in(Status.SURVEYED, Satisfaction.SATISFIED)
    at = happy.last_changed + 60
    with pytest.raises(WorkOrderError, match="dissatisfied"):
        apply(happy, Reopen(due=at + DAY, sign_by=at + HOUR), AGENT, at)
    unhappy = order_in(Status.SURVEYED, Satisfaction.DISSATISFIED)
    reopened = apply(unhappy, Reopen(due=at + DAY, sign_by=at + HOUR), AGENT, at).order
    assert reopened.status is Status.DISPATCHED and reopened.department == "fgj"
    assert reopened.reopened == 1 and reopened.survey is None and reopened.due == at + DAY


def test_closing_over_a_dissatisfied_survey_is_for_supervisors() -> None:
    unhappy = order_in(Status.SURVEYED, Satisfaction.DISSATISFIED)
    at = unhappy.last_changed + 60
    with pytest.raises(WorkOrderError, match="supervisor"):
        apply(unhappy, Close(), AGENT, at)
    assert apply(unhappy, Close("诉求不合理"), SUPERVISOR, at).order.status is Status.CLOSED


def test_merge_closes_the_child_and_records_it_on_the_parent() -> None:
    parent = order_in(Status.IN_PROGRESS)
    child = new_order("12345-20260310-000002", T0 + 1)
    child_done, parent_done = merge(child, parent, AGENT, T0 + DAY)
    assert child_done.order.status is Status.CLOSED
    assert child_done.order.closure is Closure.MERGED
    assert child_done.entry.action == Merge(parent.number)
    assert child_done.order.merged_into == parent.number
    assert parent_done.order.status is Status.IN_PROGRESS
    assert parent_done.order.merged_children == (child.number,)
    with pytest.raises(WorkOrderError, match="another order"):
        apply(child, Merge(child.number), AGENT, T0 + DAY)
    with pytest.raises(WorkOrderError, match="may not"):
        merge(child, parent, FGJ, T0 + DAY)
    # A child merged away cannot take children: merge into its parent instead.
    with pytest.raises(WorkOrderError, match="merge into that order"):
        apply(child_done.order, AcceptMerged("12345-20260311-000001"), AGENT, T0 + DAY)


def test_deadlines_must_be_in_the_future_with_signing_first() -> None:
    order = new_order()
    with pytest.raises(WorkOrderError, match="future"):
        apply(order, Dispatch("fgj", due=T0 + DAY, sign_by=T0 + 2 * DAY), AGENT, T0)
    with pytest.raises(WorkOrderError, match="future"):
        apply(order, Dispatch("fgj", due=T0 - 1, sign_by=T0 - 2), AGENT, T0)


def test_replay_detects_a_tampered_history() -> None:
    order = order_in(Status.IN_PROGRESS)
    initial = new_order()
    forged = (*order.history[:-1], order.history[-1].__class__(
        order.history[-1].sequence, order.history[-1].at, actor_for(ActionKind.START),
        order.history[-1].action, Status.DISPATCHED, Status.IN_PROGRESS))
    with pytest.raises(WorkOrderError, match="does not replay"):
        replay(initial, forged)


def test_the_diagram_is_drawn_from_the_table() -> None:
    from hotline.workorders.lifecycle import mermaid

    drawn = mermaid()
    assert "registered --> dispatched: dispatch" in drawn
    assert "returned --> dispatched: dispatch, insist" in drawn
    assert all(f"{s} -->" in drawn for s in Status)
