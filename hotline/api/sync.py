"""Reference data the store needs before users and work orders can point at it.

Departments and categories come from `config/workorders.yaml` (the catalogue), agents
and guests from the centre's configuration. `sync_reference_data` adds the rows that
are missing and updates names; it never deletes (history keeps pointing at old rows).
Idempotent: `hotline serve` runs it at start-up, `hotline users add` before adding.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from hotline.config.loader import Centre
from hotline.store.models import Agent, Department, WorkOrderCategory
from hotline.workorders.catalogue import Catalogue


async def sync_reference_data(engine: AsyncEngine, centre: Centre, catalogue: Catalogue) -> None:
    async with AsyncSession(engine) as session, session.begin():
        departments = {
            d.code: d for d in (await session.execute(select(Department))).scalars()
        }
        for code, dept in catalogue.departments.items():
            row = departments.get(code)
            if row is None:
                row = Department(code=code, name=dept.name, active=True)
                session.add(row)
                departments[code] = row
            else:
                row.name = dept.name
        await session.flush()
        ids = {code: row.id for code, row in departments.items()}

        categories = {
            c.code: c for c in (await session.execute(select(WorkOrderCategory))).scalars()
        }
        # Parents first: the catalogue keeps file order and a parent precedes its child
        # there, but sort by depth to be sure of the foreign key.
        for category in sorted(catalogue.categories.values(), key=lambda c: len(c.code)):
            row_c = categories.get(category.code)
            department_id = ids.get(category.department) if category.department else None
            if row_c is None:
                session.add(WorkOrderCategory(
                    code=category.code, parent_code=category.parent, name=category.name,
                    department_id=department_id, active=True,
                ))
                await session.flush()
            else:
                row_c.name = category.name
                row_c.department_id = department_id

        agents = {a.agent_id: a for a in (await session.execute(select(Agent))).scalars()}
        config = centre.config
        for agent_id, agent in config.agents.items():
            if agent_id not in agents:
                session.add(Agent(agent_id=agent_id, name=agent.name, guest=False, active=True))
            else:
                agents[agent_id].name = agent.name
        for roster in config.rosters.values():
            for guest_id, guest in roster.guests.items():
                if guest_id in agents or guest_id in config.agents:
                    continue
                agents[guest_id] = Agent(
                    agent_id=guest_id, name=guest.name, guest=True, active=True,
                    department_id=ids.get(guest.department),
                )
                session.add(agents[guest_id])
