"""The database schema as SQLAlchemy 2 typed mappings: the system of record.

The fact log is the source every projection and the kernel's restore read from; the
other tables hold what the centre's staff edit (agents, seats, rosters, users, work-order
categories) and what projections derive (calls: one CDR row per call).

Times of the kernel (``at``, ``arrived_at``...) are the injected clock's seconds as the
records carry them (floats), so a row and the fact it came from compare exactly; times
the database itself stamps (``written_at``, ``created_at``) are timezone-aware.

The Alembic revisions (``migrations/versions/``) create exactly this metadata; a test
compares the two, so a column added here needs a new revision.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UtcDateTime(TypeDecorator[datetime]):
    """``DateTime(timezone=True)`` that reads back aware on every dialect.

    PostgreSQL keeps the offset; SQLite keeps none, so values go in as UTC wall time
    (what the store writes anyway, and what SQLite's ``CURRENT_TIMESTAMP`` is) and come
    out marked UTC. A naive value is taken as UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is not None and dialect.name == "sqlite":
            return value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


# Deterministic constraint names: migrations can drop and alter them by name on both
# dialects (SQLite's batch mode needs names too).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# JSONB on PostgreSQL (indexable, compact); plain JSON text elsewhere.
Json = JSON().with_variant(JSONB(), "postgresql")

# The log's sequence number: SQLite's INTEGER PRIMARY KEY is the rowid itself (no second
# index, rows stored in seq order); BIGINT elsewhere.
SeqInt = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UserRole(enum.StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    DEPARTMENT = "department"


# --- the fact log ---------------------------------------------------------------------------


class FactRow(Base):
    """One logged record (accepted event or derived fact), in the runtime's order."""

    __tablename__ = "facts"

    seq: Mapped[int] = mapped_column(SeqInt, primary_key=True, autoincrement=False)
    at: Mapped[float] = mapped_column(Float)
    type: Mapped[str] = mapped_column(String(64))
    # Subject keys copied out of the payload so a call's or an agent's timeline is an
    # index scan, not a JSON search.
    call_id: Mapped[str | None] = mapped_column(String(128), index=True)
    agent_id: Mapped[str | None] = mapped_column(String(64), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(Json)  # the codec's encoded record
    written_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())


# --- calls (CDR) ----------------------------------------------------------------------------


class CallRow(Base):
    """One row per call, kept up to date by the CDR projection (upserted on call_id)."""

    __tablename__ = "calls"
    # A caller's past calls, newest first (the agent's screen pop).
    __table_args__ = (Index(None, "caller", "arrived_at"),)

    call_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    line: Mapped[str] = mapped_column(String(32), index=True)
    caller: Mapped[str] = mapped_column(String(64), default="")  # "" when withheld
    arrived_at: Mapped[float] = mapped_column(Float, index=True)
    answered_at: Mapped[float | None] = mapped_column(Float)
    ended_at: Mapped[float | None] = mapped_column(Float)
    queue: Mapped[str | None] = mapped_column(String(64), index=True)
    served_queue: Mapped[str | None] = mapped_column(String(64))  # after an overflow
    seat: Mapped[str | None] = mapped_column(String(64))
    agent: Mapped[str | None] = mapped_column(String(64), index=True)
    wait_s: Mapped[float | None] = mapped_column(Float)
    talk_s: Mapped[float | None] = mapped_column(Float)
    wrap_s: Mapped[float | None] = mapped_column(Float)
    outcome: Mapped[str | None] = mapped_column(String(32), index=True)
    mode_at_arrival: Mapped[str | None] = mapped_column(String(32))
    mode_at_answer: Mapped[str | None] = mapped_column(String(32))
    tags: Mapped[list[str]] = mapped_column(Json, default=list)
    ivr_path: Mapped[list[Any]] = mapped_column(Json, default=list)
    # CDR fields this schema has no column for yet (a newer projection): kept, not lost.
    extra: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime(), server_default=func.now(), onupdate=func.now()
    )


# --- staff: agents, seats, skills, shifts and rosters ---------------------------------------


class Department(Base):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())


class Agent(Base):
    __tablename__ = "agents"

    agent_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # A department leader on duty (a guest seat) belongs to a department.
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    guest: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())

    skills: Mapped[list[AgentSkill]] = relationship(
        back_populates="agent", cascade="all, delete-orphan"
    )


class Seat(Base):
    """A softphone position an agent logs in on."""

    __tablename__ = "seats"

    seat_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(200))  # e.g. "PJSIP/8001"
    location: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Skill(Base):
    __tablename__ = "skills"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")


class AgentSkill(Base):
    __tablename__ = "agent_skills"

    agent_id: Mapped[str] = mapped_column(
        ForeignKey("agents.agent_id", ondelete="CASCADE"), primary_key=True
    )
    skill_code: Mapped[str] = mapped_column(
        ForeignKey("skills.code", ondelete="CASCADE"), primary_key=True
    )
    level: Mapped[int] = mapped_column(Integer)

    agent: Mapped[Agent] = relationship(back_populates="skills")


class Roster(Base):
    """A named staffing plan; ``mode`` names the centre mode it is active in."""

    __tablename__ = "rosters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    mode: Mapped[str | None] = mapped_column(String(32))


class Shift(Base):
    __tablename__ = "shifts"
    __table_args__ = (UniqueConstraint("roster_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    roster_id: Mapped[int] = mapped_column(ForeignKey("rosters.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    starts: Mapped[time] = mapped_column(Time)
    ends: Mapped[time] = mapped_column(Time)  # ends <= starts: crosses midnight


class RosterAssignment(Base):
    """Who works a roster's shift on a weekday (0 = Monday) or on one date.

    ``kind`` is ``shift`` (scheduled), ``reserve`` (called in on a switch to the roster's
    mode) or ``guest`` (a leader's guest seat); exactly one of weekday / day is set.
    """

    __tablename__ = "roster_assignments"
    __table_args__ = (Index(None, "roster_id", "weekday", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    roster_id: Mapped[int] = mapped_column(ForeignKey("rosters.id", ondelete="CASCADE"))
    weekday: Mapped[int | None] = mapped_column(Integer)
    day: Mapped[date | None] = mapped_column(Date)
    shift_id: Mapped[int | None] = mapped_column(ForeignKey("shifts.id", ondelete="CASCADE"))
    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.agent_id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16), default="shift")


class ModeSwitch(Base):
    """Audit of centre-mode switches: who, when, why, from what to what.

    One row per `ModeChanged` fact, written by the store recorder alone (the fact is the
    source; see `hotline.store.modes`); the unique ``fact_seq`` makes a second row for the
    same fact impossible. Rows older than that rule may have no ``fact_seq``.
    """

    __tablename__ = "mode_switches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[float] = mapped_column(Float, index=True)
    from_mode: Mapped[str] = mapped_column(String(32))
    to_mode: Mapped[str] = mapped_column(String(32))
    by: Mapped[str] = mapped_column(String(128))  # "role:username" (a username has 64)
    reason: Mapped[str] = mapped_column(Text, default="")
    until: Mapped[float | None] = mapped_column(Float)
    fact_seq: Mapped[int | None] = mapped_column(SeqInt, unique=True)  # the ModeChanged fact


# --- users ----------------------------------------------------------------------------------


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))  # argon2; never the password
    role: Mapped[UserRole] = mapped_column(
        Enum(
            UserRole,
            name="user_role",
            native_enum=False,
            create_constraint=True,
            length=16,
            values_callable=lambda kinds: [k.value for k in kinds],
        )
    )
    agent_id: Mapped[str | None] = mapped_column(ForeignKey("agents.agent_id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())


class ApiSession(Base):
    """A bearer session of the API: the SHA-256 digest of its token, never the token.

    A leaked table gives no usable token. Revoking (logout) deletes the row; expired rows
    are pruned. Times are the API clock's seconds, like ``expires_at`` in a login answer.
    """

    __tablename__ = "api_sessions"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)  # hex SHA-256
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    issued_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float, index=True)


# --- work orders ----------------------------------------------------------------------------


class WorkOrderCategory(Base):
    """The category code tree (e.g. ``01`` → ``0102``), with the response deadline."""

    __tablename__ = "work_order_categories"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    parent_code: Mapped[str | None] = mapped_column(
        ForeignKey("work_order_categories.code"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    deadline_days: Mapped[int | None] = mapped_column(Integer)
    emergency_deadline_days: Mapped[int | None] = mapped_column(Integer)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class WorkOrder(Base):
    """A citizen's request; ``status`` is owned by the work-order state machine."""

    __tablename__ = "work_orders"
    # A caller's past orders, newest first (screen pop, probable duplicates).
    __table_args__ = (Index(None, "caller", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(32), index=True)
    category_code: Mapped[str | None] = mapped_column(
        ForeignKey("work_order_categories.code"), index=True
    )
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    caller: Mapped[str] = mapped_column(String(64), default="")
    caller_name: Mapped[str] = mapped_column(String(200), default="")
    line: Mapped[str] = mapped_column(String(32), default="")
    call_id: Mapped[str | None] = mapped_column(String(128), index=True)
    agent_id: Mapped[str | None] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(32), default="normal")
    tags: Mapped[list[str]] = mapped_column(Json, default=list)
    address: Mapped[str] = mapped_column(Text, default="")
    content: Mapped[str] = mapped_column(Text, default="")
    transcript: Mapped[str] = mapped_column(Text, default="")
    deadline: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime(), server_default=func.now(), onupdate=func.now()
    )
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    history: Mapped[list[WorkOrderHistory]] = relationship(
        back_populates="work_order",
        cascade="all, delete-orphan",
        order_by="WorkOrderHistory.id",
    )


class WorkOrderHistory(Base):
    __tablename__ = "work_order_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    work_order_id: Mapped[int] = mapped_column(
        ForeignKey("work_orders.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(128))  # "role:username" (a username has 64)
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str | None] = mapped_column(String(32))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())

    work_order: Mapped[WorkOrder] = relationship(back_populates="history")


class Survey(Base):
    """A satisfaction result, for a work order and/or a call."""

    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    work_order_id: Mapped[int | None] = mapped_column(
        ForeignKey("work_orders.id", ondelete="SET NULL"), index=True
    )
    call_id: Mapped[str | None] = mapped_column(String(128), index=True)
    result: Mapped[str] = mapped_column(String(32))  # satisfied | basic | unsatisfied | ...
    score: Mapped[int | None] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(16), default="ivr")  # ivr | sms | agent
    at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())
