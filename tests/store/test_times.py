"""Times the store stamps or keeps (`created_at`, `deadline`...) read back aware, and
compare as instants, on SQLite as on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from hotline.store.models import WorkOrder

BEIJING = timezone(timedelta(hours=8))


async def test_aware_times_round_trip_and_compare_as_instants(engine: AsyncEngine) -> None:
    due = datetime(2026, 3, 10, 17, 30, tzinfo=BEIJING)
    async with AsyncSession(engine) as session, session.begin():
        session.add(WorkOrder(number="12345-1", status="registered", deadline=due))
    async with AsyncSession(engine) as session:
        order = (await session.execute(select(WorkOrder))).scalar_one()
        assert order.deadline == due and order.deadline.utcoffset() is not None
        assert order.created_at.tzinfo is not None  # the database's own stamp
        assert abs(order.created_at - datetime.now(UTC)) < timedelta(hours=1)
        # Bounds in another zone select by instant: 09:30 UTC is 17:30 in Beijing.
        utc = due.astimezone(UTC)
        for low, high, found in ((utc - timedelta(minutes=1), utc + timedelta(minutes=1), 1),
                                 (utc + timedelta(minutes=1), utc + timedelta(hours=1), 0)):
            count = await session.scalar(select(func.count()).select_from(WorkOrder).where(
                WorkOrder.deadline >= low, WorkOrder.deadline < high))
            assert count == found, (low, high)
