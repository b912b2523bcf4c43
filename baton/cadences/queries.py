"""Read models for cadences: pages of cadences with their steps, one enrolment."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Result, Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from baton.activities.models import Activity
from baton.cadences.models import Cadence, CadenceStep
from baton.core.pagination import PageRequest

# What an enrolment's answer shows of each of its activities.
ENROLLMENT_ACTIVITY_COLUMNS = (
    Activity.id,
    Activity.type,
    Activity.subject,
    Activity.status,
    Activity.due_at,
    Activity.owner_id,
    Activity.deal_id,
    Activity.account_id,
    Activity.contact_id,
)


async def list_cadences(session: AsyncSession, page: PageRequest) -> list[Cadence]:
    """Cadences in creation order, `limit + 1` rows."""
    query = select(Cadence).order_by(Cadence.id).limit(page.limit + 1)
    if page.after is not None:
        query = query.where(Cadence.id > page.after)
    return list((await session.scalars(query)).all())


async def cadence_choices(session: AsyncSession) -> list[tuple[uuid.UUID, str]]:
    """Active cadences a new deal can start, by name (one query; an organization has
    a handful)."""
    rows = await session.execute(
        select(Cadence.id, Cadence.name).where(Cadence.active).order_by(Cadence.name, Cadence.id)
    )
    return [(cadence_id, name) for cadence_id, name in rows.all()]


async def steps_of(
    session: AsyncSession, cadence_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[CadenceStep]]:
    """The steps of each cadence, ordered by position: one statement for a whole page."""
    steps: dict[uuid.UUID, list[CadenceStep]] = defaultdict(list)
    if not cadence_ids:
        return steps
    rows = await session.scalars(
        select(CadenceStep)
        .where(CadenceStep.cadence_id.in_(cadence_ids))
        .order_by(CadenceStep.cadence_id, CadenceStep.position)
    )
    for step in rows:
        steps[step.cadence_id].append(step)
    return steps


async def enrollment_activities(session: AsyncSession, enrollment_id: uuid.UUID) -> list[Row[Any]]:
    """Every activity an enrolment planned (done, planned or cancelled), in step order."""
    result: Result[Any] = await session.execute(
        select(*ENROLLMENT_ACTIVITY_COLUMNS)
        .where(Activity.enrollment_id == enrollment_id, Activity.deleted_at.is_(None))
        .order_by(Activity.id)
    )
    return list(result.all())
