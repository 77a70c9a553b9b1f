"""Random action sequences by random actors: the loop's invariants always hold."""

from __future__ import annotations

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from hotline.workorders.lifecycle import ROLES, TRANSITIONS, allowed, apply, replay
from hotline.workorders.model import (
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

from .helpers import ADMIN, AGENT, DAY, FGJ, HOUR, SUPERVISOR, SYSTEM, T0, ZJJ, new_order

ACTORS = (AGENT, SUPERVISOR, ADMIN, SYSTEM, FGJ, ZJJ)
OFFSETS = st.sampled_from((-HOUR, 30.0, HOUR, DAY, 3 * DAY))
TEXTS = st.sampled_from(("", "已处理", "非本单位职责"))


@st.composite
def actions(draw: st.DrawFn, now: float, order: WorkOrder) -> Action:
    # Mostly actions the table allows now, so runs get deep into the loop; some never are.
    # Merging is allowed everywhere and ends the run, so it only comes from the second arm.
    forward = sorted(allowed(order.status) - {ActionKind.MERGE}) or [ActionKind.MERGE]
    ahead = st.sampled_from(forward)
    kind = draw(st.one_of(ahead, ahead, ahead, st.sampled_from(ActionKind)))
    due = now + draw(OFFSETS)
    sign_by = now + draw(OFFSETS)
    text = draw(TEXTS)
    department = draw(st.sampled_from(("fgj", "zjj")))
    match kind:
        case ActionKind.DISPATCH:
            return Dispatch(department, due, sign_by)
        case ActionKind.ANSWER_DIRECTLY:
            return AnswerDirectly(text)
        case ActionKind.SIGN_FOR:
            return SignFor()
        case ActionKind.START:
            return Start()
        case ActionKind.RETURN:
            return Return(text)
        case ActionKind.INSIST:
            return Insist(text, sign_by, draw(st.sampled_from((None, due))))
        case ActionKind.REPLY:
            return Reply(text)
        case ActionKind.REJECT_REPLY:
            return RejectReply(text)
        case ActionKind.REQUEST_EXTENSION:
            return RequestExtension((order.due or now) + draw(OFFSETS), text)
        case ActionKind.APPROVE_EXTENSION:
            return ApproveExtension(draw(st.sampled_from((None, due))))
        case ActionKind.REFUSE_EXTENSION:
            return RefuseExtension(text)
        case ActionKind.CHASE:
            return Chase(draw(st.sampled_from(ChaseReason)))
        case ActionKind.ESCALATE:
            return Escalate()
        case ActionKind.SURVEY:
            return Survey(draw(st.sampled_from(Satisfaction)))
        case ActionKind.REOPEN:
            return Reopen(due, sign_by, draw(st.sampled_from((None, department))))
        case ActionKind.CLOSE:
            return Close()
        case ActionKind.MERGE:
            return Merge(draw(st.sampled_from(("12345-20260301-000001", order.number))))
        case ActionKind.ACCEPT_MERGED:
            return AcceptMerged(draw(st.sampled_from(("12345-20260301-000002", order.number))))
    raise AssertionError(kind)  # mypy does not see the match over the enum as exhaustive


class OrderLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.initial = new_order()
        self.order = self.initial
        self.now = T0
        self.applied = 0

    @rule(data=st.data(), step=st.sampled_from((0.0, 60.0, HOUR, DAY, 4 * DAY)),
          anyone=st.sampled_from(ACTORS), entitled=st.booleans())
    def act(self, data: st.DataObject, step: float, anyone: Actor, entitled: bool) -> None:
        self.now += step
        action = data.draw(actions(self.now, self.order))
        actor = anyone
        if entitled:  # someone the role table allows, of the order's own department
            role = data.draw(st.sampled_from(sorted(ROLES[action.kind])))
            department = (self.order.department or "fgj") if role is Role.DEPARTMENT else None
            actor = Actor(role, "someone", department)
        before = self.order
        try:
            applied = apply(before, action, actor, self.now)
        except WorkOrderError:
            assert self.order == before  # refused: nothing changed
            return
        assert TRANSITIONS[(before.status, action.kind)] is applied.order.status
        assert applied.order.history[: len(before.history)] == before.history  # append-only
        assert applied.order.history[-1] == applied.entry
        self.order = applied.order
        self.applied += 1
        event(f"reached {applied.order.status}")

    @invariant()
    def exactly_one_status(self) -> None:
        assert isinstance(self.order.status, Status)
        assert (self.order.closure is not None) == (self.order.status is Status.CLOSED)

    @invariant()
    def a_closed_order_was_surveyed_merged_or_answered_directly(self) -> None:
        if self.order.status is not Status.CLOSED:
            return
        last = self.order.history[-1] if self.order.closure is Closure.MERGED else next(
            e for e in reversed(self.order.history) if e.action.kind is ActionKind.CLOSE)
        assert (
            self.order.closure is Closure.MERGED
            or self.order.survey is not None
            or last.before is Status.DIRECTLY_ANSWERED
        )

    @invariant()
    def a_deadline_runs_only_at_a_department(self) -> None:
        if self.order.status in (Status.DISPATCHED, Status.SIGNED, Status.IN_PROGRESS):
            assert self.order.department is not None and self.order.due is not None

    @invariant()
    def history_replays_to_the_same_order(self) -> None:
        assert replay(self.initial, self.order.history) == self.order
        assert [e.sequence for e in self.order.history] == list(
            range(1, len(self.order.history) + 1))


OrderLifecycle.TestCase.settings = settings(max_examples=100, stateful_step_count=40,
                                            deadline=None)
TestOrderLifecycle = OrderLifecycle.TestCase
