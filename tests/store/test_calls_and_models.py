"""CDR upserts, the staff and work-order mappings, and the engine factory."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from hotline.store.calls import call_row, get_call, upsert_calls
from hotline.store.engine import create_engine, database_url_from_env, show_url
from hotline.store.models import (
    Agent,
    AgentSkill,
    Department,
    ModeSwitch,
    Roster,
    RosterAssignment,
    Shift,
    Skill,
    Survey,
    User,
    UserRole,
    WorkOrder,
    WorkOrderCategory,
    WorkOrderHistory,
)


def _cdr(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "call_id": "c-1",
        "line": "12345",
        "caller": "13800138000",
        "arrived_at": 100.0,
        "answered_at": None,
        "ended_at": None,
        "queue": "general",
        "seat": None,
        "agent": None,
        "wait_s": None,
        "talk_s": None,
        "wrap_s": None,
        "outcome": None,
        "mode_at_arrival": "normal",
        "mode_at_answer": None,
        "tags": ("epidemic",),
        "ivr_path": ("main", "1"),
    }
    base.update(changes)
    return base


async def test_cdr_rows_are_inserted_then_updated(engine: AsyncEngine) -> None:
    assert await upsert_calls(engine, [_cdr(), _cdr(call_id="c-2", caller=None)]) == 2
    answered = _cdr(
        answered_at=112.5,
        ended_at=300.0,
        seat="s01",
        agent="a001",
        wait_s=12.5,
        talk_s=187.5,
        wrap_s=20.0,
        outcome="answered",
        mode_at_answer="emergency",
        transcript_hint="疫情",  # no column for it: kept in extra
    )
    await upsert_calls(engine, [answered])

    row = await get_call(engine, "c-1")
    assert row is not None
    assert (row["agent"], row["talk_s"], row["outcome"]) == ("a001", 187.5, "answered")
    assert row["mode_at_arrival"] == "normal" and row["mode_at_answer"] == "emergency"
    assert row["tags"] == ["epidemic"] and row["ivr_path"] == ["main", "1"]
    assert row["transcript_hint"] == "疫情"
    withheld = await get_call(engine, "c-2")
    assert withheld is not None and withheld["caller"] == ""
    assert await get_call(engine, "nope") is None


def test_a_cdr_without_its_keys_is_refused() -> None:
    with pytest.raises(ValueError, match="arrived_at"):
        call_row({"call_id": "c", "line": "12345"})


async def test_staff_and_work_orders_round_trip(engine: AsyncEngine) -> None:
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions.begin() as session:
        housing = Department(code="housing", name="住建局")
        session.add(housing)
        await session.flush()
        agent = Agent(agent_id="a001", name="王芳")
        agent.skills.append(AgentSkill(skill_code="general", level=3))
        session.add_all([Skill(code="general", name="综合"), agent])
        roster = Roster(name="emergency", mode="emergency")
        session.add(roster)
        await session.flush()
        night = Shift(roster_id=roster.id, name="night", starts=time(20), ends=time(8))
        session.add(night)
        await session.flush()
        session.add(
            RosterAssignment(roster_id=roster.id, weekday=0, shift_id=night.id, agent_id="a001")
        )
        session.add_all(
            [
                User(
                    username="wang",
                    password_hash="$argon2id$x",
                    role=UserRole.AGENT,
                    agent_id="a001",
                ),
                User(
                    username="zhujian",
                    password_hash="$argon2id$y",
                    role=UserRole.DEPARTMENT,
                    department_id=housing.id,
                ),
                ModeSwitch(
                    at=5.0, from_mode="normal", to_mode="emergency", by="lead", reason="疫情"
                ),
                WorkOrderCategory(code="01", name="城建", deadline_days=5),
                WorkOrderCategory(code="0102", parent_code="01", name="物业", deadline_days=3),
            ]
        )
        await session.flush()
        order = WorkOrder(
            number="WO-2024-000001",
            status="new",
            category_code="0102",
            department_id=housing.id,
            caller="13800138000",
            line="12345",
            call_id="c-1",
            address="人民路1号",
            content="电梯故障",
            deadline=datetime(2024, 1, 5, tzinfo=UTC),
        )
        order.history.append(WorkOrderHistory(action="create", actor="a001", to_status="new"))
        session.add(order)
        await session.flush()
        session.add(Survey(work_order_id=order.id, call_id="c-1", result="satisfied", score=5))

    async with sessions() as session:
        user = (await session.scalars(select(User).where(User.username == "zhujian"))).one()
        assert user.role is UserRole.DEPARTMENT
        order = (await session.scalars(select(WorkOrder))).one()
        history = (await session.scalars(select(WorkOrderHistory))).all()
        assert [h.action for h in history] == ["create"]
        assert order.status == "new" and order.content == "电梯故障"
        assert order.created_at is not None
        child = await session.get(WorkOrderCategory, "0102")
        assert child is not None and child.parent_code == "01"
        skills = (await session.scalars(select(AgentSkill))).all()
        assert [(s.agent_id, s.skill_code, s.level) for s in skills] == [("a001", "general", 3)]


async def test_usernames_are_unique(engine: AsyncEngine) -> None:
    sessions = async_sessionmaker(engine)
    async with sessions.begin() as session:
        session.add(User(username="lead", password_hash="h", role=UserRole.SUPERVISOR))
    with pytest.raises(IntegrityError):
        async with sessions.begin() as session:
            session.add(User(username="lead", password_hash="h2", role=UserRole.ADMIN))


async def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'h.db'}")
    try:
        async with engine.connect() as connection:
            assert (await connection.scalar(text("PRAGMA journal_mode"))) == "wal"
            assert (await connection.scalar(text("PRAGMA busy_timeout"))) == 5000
            assert (await connection.scalar(text("PRAGMA foreign_keys"))) == 1
    finally:
        await engine.dispose()


def test_urls_are_shown_without_the_password() -> None:
    url = "postgresql+asyncpg://hotline:s3cret@db.example:5432/hotline"
    assert "s3cret" not in show_url(url)
    assert show_url(url) == "postgresql+asyncpg://hotline:***@db.example:5432/hotline"
    engine = create_engine(url)
    assert "s3cret" not in repr(engine)


def test_the_password_comes_from_the_environment() -> None:
    url = database_url_from_env(
        {
            "HOTLINE_DATABASE_URL": "postgresql+asyncpg://hotline@db/hotline",
            "HOTLINE_DATABASE_PASSWORD": "pw",
        }
    )
    assert url.password == "pw"
    assert "pw" not in show_url(url)
    default = database_url_from_env({})
    assert default.drivername == "sqlite+aiosqlite" and default.database == "hotline.db"
