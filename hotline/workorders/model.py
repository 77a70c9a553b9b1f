"""Work-order vocabulary: statuses, actors, actions, history entries and the order itself.

Everything is a frozen dataclass or an enum; an order changes only through
`hotline.workorders.lifecycle.apply`, which returns a new order and the history entry
that explains the change. Times are epoch seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar


class WorkOrderError(Exception):
    """An action that is not allowed now (wrong status, role, department or precondition).

    Raised before anything changes: the order passed in is still the current one.
    """


class Status(StrEnum):
    REGISTERED = "registered"  # 受理: created by the centre, not yet answered or dispatched
    DIRECTLY_ANSWERED = "directly_answered"  # 在线答复: the agent answered it on the call
    DISPATCHED = "dispatched"  # 派单: sent to a department, waiting for it to sign for it
    SIGNED = "signed"  # 签收: the department has accepted it
    IN_PROGRESS = "in_progress"  # 办理: the department is handling it
    RETURNED = "returned"  # 退单: the department says it is not theirs; the centre decides
    REPLIED = "replied"  # 办结反馈: the department's answer, waiting for the survey
    SURVEYED = "surveyed"  # 回访: the citizen has been asked how it went
    CLOSED = "closed"  # 归档 (or closed as merged into another order)


OPEN_AT_DEPARTMENT = frozenset({Status.DISPATCHED, Status.SIGNED, Status.IN_PROGRESS})
"""Statuses in which a department's deadline runs (chasing and escalation apply)."""


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    DEPARTMENT = "department"
    SYSTEM = "system"  # the scheduler's automatic chasing and escalation


CENTRE_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN})


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a department user carries the department's code."""

    role: Role
    id: str
    department: str | None = None

    def __post_init__(self) -> None:
        if (self.role is Role.DEPARTMENT) != (self.department is not None):
            raise ValueError("a department actor, and only one, carries a department code")

    @classmethod
    def system(cls) -> Actor:
        return cls(Role.SYSTEM, "scheduler")


class Source(StrEnum):
    CALL = "call"
    MESSAGE = "message"  # a recorded voice message (留言)
    MISSED_CALL = "missed_call"  # an abandoned call to be called back


class Satisfaction(StrEnum):
    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    DISSATISFIED = "dissatisfied"
    UNREACHABLE = "unreachable"  # three attempts, nobody answered: counts as not dissatisfied


class Closure(StrEnum):
    ARCHIVED = "archived"
    MERGED = "merged"


class ChaseReason(StrEnum):
    MANUAL = "manual"
    NOT_SIGNED_FOR = "not_signed_for"  # the sign-for deadline has passed
    TIME_RUNNING_OUT = "time_running_out"  # under the configured fraction of time left


class ActionKind(StrEnum):
    DISPATCH = "dispatch"
    ANSWER_DIRECTLY = "answer_directly"
    SIGN_FOR = "sign_for"
    START = "start"
    RETURN = "return"
    INSIST = "insist"
    REPLY = "reply"
    REJECT_REPLY = "reject_reply"
    REQUEST_EXTENSION = "request_extension"
    APPROVE_EXTENSION = "approve_extension"
    REFUSE_EXTENSION = "refuse_extension"
    CHASE = "chase"
    ESCALATE = "escalate"
    SURVEY = "survey"
    REOPEN = "reopen"
    CLOSE = "close"
    MERGE = "merge"
    ACCEPT_MERGED = "accept_merged"


@dataclass(frozen=True, slots=True)
class Dispatch:
    """派单: to `department`, which must sign for it by `sign_by` and answer by `due`."""

    kind: ClassVar[ActionKind] = ActionKind.DISPATCH
    department: str
    due: float
    sign_by: float
    note: str = ""


@dataclass(frozen=True, slots=True)
class AnswerDirectly:
    kind: ClassVar[ActionKind] = ActionKind.ANSWER_DIRECTLY
    answer: str


@dataclass(frozen=True, slots=True)
class SignFor:
    kind: ClassVar[ActionKind] = ActionKind.SIGN_FOR


@dataclass(frozen=True, slots=True)
class Start:
    kind: ClassVar[ActionKind] = ActionKind.START


@dataclass(frozen=True, slots=True)
class Return:
    """退单: the department gives the order back to the centre, with its reason."""

    kind: ClassVar[ActionKind] = ActionKind.RETURN
    reason: str


@dataclass(frozen=True, slots=True)
class Insist:
    """The centre sends a returned order back to the same department, with a note."""

    kind: ClassVar[ActionKind] = ActionKind.INSIST
    note: str
    sign_by: float
    due: float | None = None  # None: the original deadline stands


@dataclass(frozen=True, slots=True)
class Reply:
    """办结反馈: the department's answer to the citizen."""

    kind: ClassVar[ActionKind] = ActionKind.REPLY
    answer: str


@dataclass(frozen=True, slots=True)
class RejectReply:
    """The centre finds the answer insufficient and sends it back (still on the deadline)."""

    kind: ClassVar[ActionKind] = ActionKind.REJECT_REPLY
    reason: str


@dataclass(frozen=True, slots=True)
class RequestExtension:
    kind: ClassVar[ActionKind] = ActionKind.REQUEST_EXTENSION
    until: float
    reason: str


@dataclass(frozen=True, slots=True)
class ApproveExtension:
    kind: ClassVar[ActionKind] = ActionKind.APPROVE_EXTENSION
    until: float | None = None  # None: as requested


@dataclass(frozen=True, slots=True)
class RefuseExtension:
    kind: ClassVar[ActionKind] = ActionKind.REFUSE_EXTENSION
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Chase:
    """催办: a reminder to the department before the deadline."""

    kind: ClassVar[ActionKind] = ActionKind.CHASE
    reason: ChaseReason = ChaseReason.MANUAL
    note: str = ""


@dataclass(frozen=True, slots=True)
class Escalate:
    """督办: the order is overdue; supervisors are told."""

    kind: ClassVar[ActionKind] = ActionKind.ESCALATE
    note: str = ""


@dataclass(frozen=True, slots=True)
class Survey:
    """回访 result."""

    kind: ClassVar[ActionKind] = ActionKind.SURVEY
    result: Satisfaction
    comment: str = ""


@dataclass(frozen=True, slots=True)
class Reopen:
    """重办 after a dissatisfied survey: back to a department with a new deadline."""

    kind: ClassVar[ActionKind] = ActionKind.REOPEN
    due: float
    sign_by: float
    department: str | None = None  # None: the department that handled it
    note: str = ""


@dataclass(frozen=True, slots=True)
class Close:
    kind: ClassVar[ActionKind] = ActionKind.CLOSE
    note: str = ""


@dataclass(frozen=True, slots=True)
class Merge:
    """并单: this (child) order is a duplicate of `parent` and closes as merged."""

    kind: ClassVar[ActionKind] = ActionKind.MERGE
    parent: str


@dataclass(frozen=True, slots=True)
class AcceptMerged:
    """The parent's side of a merge: it records the child (its status is unchanged)."""

    kind: ClassVar[ActionKind] = ActionKind.ACCEPT_MERGED
    child: str


Action = (
    Dispatch | AnswerDirectly | SignFor | Start | Return | Insist | Reply | RejectReply
    | RequestExtension | ApproveExtension | RefuseExtension | Chase | Escalate | Survey
    | Reopen | Close | Merge | AcceptMerged
)


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One applied action: replaying the entries in order rebuilds the order exactly."""

    sequence: int  # 1-based, per order
    at: float
    actor: Actor
    action: Action
    before: Status
    after: Status


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A classifier's guess (category or department label) with its confidence in [0, 1]."""

    label: str
    confidence: float


@dataclass(frozen=True, slots=True)
class ExtensionRequest:
    until: float
    reason: str
    requested_at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkOrder:
    number: str
    created_at: float
    source: Source
    mode: str = "normal"  # centre mode when registered (deadlines follow the dispatch mode)
    caller: str | None = None  # None: number withheld
    line: str | None = None
    call_id: str | None = None
    recording: str | None = None
    transcript: str = ""
    content: str = ""
    address: str = ""
    category: str | None = None
    suggested_categories: tuple[Suggestion, ...] = ()
    suggested_departments: tuple[Suggestion, ...] = ()
    status: Status = Status.REGISTERED
    department: str | None = None
    clock_started: float | None = None  # when the department's deadline started running
    sign_by: float | None = None
    due: float | None = None
    extension: ExtensionRequest | None = None  # a pending request
    answer: str = ""
    survey: Satisfaction | None = None
    returned_by: tuple[str, ...] = ()
    chased_for: float | None = None  # the due date the automatic reminder was sent for
    sign_chased_for: float | None = None  # the sign-by date the reminder was sent for
    escalated_for: float | None = None  # the due date that was escalated
    reopened: int = 0
    closure: Closure | None = None
    merged_into: str | None = None
    merged_children: tuple[str, ...] = ()
    history: tuple[HistoryEntry, ...] = field(default=(), repr=False)

    @property
    def last_changed(self) -> float:
        return self.history[-1].at if self.history else self.created_at

    @property
    def overdue_escalated(self) -> bool:
        return self.due is not None and self.escalated_for == self.due
