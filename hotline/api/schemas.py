"""Request and response bodies (pydantic): what the OpenAPI document describes.

Requests forbid unknown fields and bound every text; responses are built by the service
modules from the runtime's frozen views and the store's rows.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hotline.store.models import UserRole
from hotline.workorders.model import ActionKind, Satisfaction

Text = Field(max_length=2000)


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        # PostgreSQL text cannot hold U+0000: refused here (422) rather than failing
        # in the database driver (500) after part of the work was done.
        if _has_nul(value):
            raise ValueError("text cannot contain U+0000")
        return value


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple | set | frozenset):
        return any(_has_nul(item) for item in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False


# --- auth -----------------------------------------------------------------------------


class LoginRequest(Request):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        # A name with U+0000 is nobody: the usual 401, like any wrong name (no account
        # can hold one), so a login never tells more than "wrong".
        return value


class Me(BaseModel):
    username: str
    role: UserRole
    agent_id: str | None
    department: str | None


class LoginResponse(BaseModel):
    token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: float
    user: Me


class Health(BaseModel):
    status: Literal["ok"]
    runtime_running: bool


# --- live view ----------------------------------------------------------------------------


class WaitingCallOut(BaseModel):
    id: str
    kind: str
    state: str
    position: int | None
    waited_s: float
    priority: int
    tags: list[str]
    agent_id: str | None


class QueueOut(BaseModel):
    name: str
    waiting_count: int
    longest_wait_s: float
    staffed: int
    waiting: list[WaitingCallOut]


class SeatOut(BaseModel):
    agent_id: str
    seat_id: str
    state: str
    since: float
    reason: str
    call_id: str | None
    guest: bool
    endpoint: str = Field(description="the seat's SIP endpoint, e.g. PJSIP/8001")
    softphone: Literal["registered", "unregistered", "unknown"] = Field(
        default="unknown",
        description="the softphone's registration (AMI presence); unknown without AMI or "
        "before the endpoint was seen",
    )
    softphone_since: float | None = Field(
        default=None, description="when the registration last changed (epoch s)")


class LiveView(BaseModel):
    at: float
    mode: str
    mode_since: float
    queues: list[QueueOut]
    seats: list[SeatOut]
    live_calls: dict[str, int]


class Kpi(BaseModel):
    name: str
    value: float | None
    unit: str
    definition: str


class ScopeKpis(BaseModel):
    scope: str
    window: str
    kpis: list[Kpi]


class KpiReport(BaseModel):
    at: float
    today_start: float
    waiting_now: int
    longest_wait_s: float
    agents_by_state: dict[str, int]
    scopes: list[ScopeKpis]


class StaffingOut(BaseModel):
    model: str
    target: str
    calls_per_hour: float
    aht_s: float
    agents_needed: int
    logged_in: int | None
    gap: int | None
    predicted_service_level: float
    predicted_asa_s: float | None
    predicted_occupancy: float
    service_level_at_logged_in: float | None
    basis: str


# --- agents ---------------------------------------------------------------------------------


class SeatLogin(Request):
    seat_id: str = Field(min_length=1, max_length=64)


class PauseRequest(Request):
    reason: str = Field(min_length=1, max_length=64)


class ThreeWayRequest(Request):
    """A department's number to bring into the call (digits only: it is dialled)."""

    number: str = Field(pattern=r"^\+?[0-9*#]{3,32}$")


class TransferRequest(Request):
    """Transfer to another queue or to another agent: exactly one of the two."""

    queue: str = Field(default="", max_length=64, pattern=r"^[A-Za-z0-9_-]*$")
    to_agent: str = Field(default="", max_length=64, pattern=r"^[A-Za-z0-9_-]*$")

    @model_validator(mode="after")
    def _one_target(self) -> TransferRequest:
        if bool(self.queue) == bool(self.to_agent):
            raise ValueError("give exactly one of `queue` or `to_agent`")
        return self


class SuperviseRequest(Request):
    """Listen (the supervisor hears both sides), whisper (only the agent hears the
    supervisor) or barge (all three talk), on the supervisor's own softphone."""

    mode: Literal["listen", "whisper", "barge"]
    endpoint: str = Field(pattern=r"^[A-Za-z]{2,16}/[A-Za-z0-9_.-]{1,64}$")


class CallControlOut(BaseModel):
    call_id: str


class PastCallOut(BaseModel):
    call_id: str
    line: str
    arrived_at: float
    answered_at: float | None
    ended_at: float | None
    queue: str | None
    agent: str | None
    outcome: str | None
    talk_s: float | None


class PastOrderOut(BaseModel):
    number: str
    status: str
    created_at: datetime
    category: str | None
    department: str | None
    content: str = Field(description="the request, shortened for the screen pop")
    call_id: str | None


class CallerHistoryOut(BaseModel):
    """The caller's earlier calls and work orders, newest first, at most `limit` each;
    empty for a withheld number."""

    calls: list[PastCallOut]
    orders: list[PastOrderOut]
    limit: int


class ScreenPopOut(BaseModel):
    call_id: str
    line: str
    caller: str
    arrived_at: float
    ivr_path: list[str]
    transcript: str
    suggested_category: str | None
    suggested_category_name: str | None
    suggested_department: str | None
    queue: str | None
    tags: list[str]
    answered_at: float | None
    ended_at: float | None
    history: CallerHistoryOut | None = Field(
        default=None, description="this caller's past calls and work orders (the desk only)")


class DeskOut(BaseModel):
    agent_id: str
    seat: SeatOut | None
    call: ScreenPopOut | None


class Accepted(BaseModel):
    accepted: bool
    detail: str = ""


# --- mode -------------------------------------------------------------------------------


class ModeSwitchRequest(Request):
    mode: str = Field(min_length=1, max_length=32)
    reason: str = Field(min_length=1, max_length=500)
    confirm: bool = Field(description="must be true: the supervisor confirmed the switch")
    until: datetime | None = Field(default=None, description="automatic return time")


class ModeSwitchOut(BaseModel):
    id: int
    at: float
    from_mode: str
    to_mode: str
    by: str
    reason: str
    until: float | None


# --- calls --------------------------------------------------------------------------------


class CallOut(BaseModel):
    call_id: str
    line: str
    caller: str
    arrived_at: float
    answered_at: float | None
    ended_at: float | None
    queue: str | None
    seat: str | None
    agent: str | None
    wait_s: float | None
    talk_s: float | None
    wrap_s: float | None
    outcome: str | None
    mode_at_arrival: str | None
    tags: list[str]
    ivr_path: list[str]


class CallPage(BaseModel):
    total: int
    calls: list[CallOut]


# --- work orders --------------------------------------------------------------------------


class OrderCreate(Request):
    call_id: str = Field(min_length=1, max_length=128)
    content: str | None = Field(default=None, max_length=4000)
    address: str = Field(default="", max_length=500)
    caller_name: str = Field(default="", max_length=200)
    category: str | None = Field(default=None, max_length=32)


class OrderAction(Request):
    action: ActionKind
    department: str | None = Field(default=None, max_length=64)
    note: str = Field(default="", max_length=2000)
    reason: str = Field(default="", max_length=2000)
    answer: str = Field(default="", max_length=4000)
    until: datetime | None = None
    result: Satisfaction | None = None
    parent: str | None = Field(default=None, max_length=32)


class HistoryOut(BaseModel):
    sequence: int
    at: float
    actor: str
    action: str
    before: str | None
    after: str | None
    detail: dict[str, object]


class OrderOut(BaseModel):
    number: str
    status: str
    created_at: float
    source: str
    mode: str
    caller: str | None
    caller_name: str
    line: str | None
    call_id: str | None
    agent_id: str | None
    category: str | None
    department: str | None
    content: str
    address: str
    transcript: str
    answer: str
    sign_by: float | None
    due: float | None
    extension_until: float | None
    survey: str | None
    merged_into: str | None
    allowed_actions: list[str]
    history: list[HistoryOut]


class OrderSummary(BaseModel):
    number: str
    status: str
    category: str | None
    department: str | None
    caller: str
    line: str
    call_id: str | None
    agent_id: str | None
    deadline: datetime | None
    created_at: datetime


class CategoryOut(BaseModel):
    code: str
    name: str
    parent: str | None
    department: str | None


class DepartmentOut(BaseModel):
    code: str
    name: str


class CatalogueOut(BaseModel):
    categories: list[CategoryOut]
    departments: list[DepartmentOut]


# --- reports ------------------------------------------------------------------------------


class DayFigure(BaseModel):
    name: str
    value: float | None
    definition: str


class DayReport(BaseModel):
    day: date
    figures: list[DayFigure]


class DailyReport(BaseModel):
    timezone: str
    days: list[DayReport]
