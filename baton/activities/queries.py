"""Reading activities (current tenant only, through RLS)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from baton.activities.models import Activity
from baton.activities.service import RELATED_COLUMN
from baton.workflow.models import EntityType

TIMELINE_LIMIT = 200


async def for_record(
    session: AsyncSession, entity_type: EntityType | str, record_id: uuid.UUID
) -> Sequence[Activity]:
    """A record's timeline, newest first (the latest `TIMELINE_LIMIT` entries)."""
    column = getattr(Activity, RELATED_COLUMN[EntityType(entity_type)])
    query = (
        select(Activity)
        .where(column == record_id, Activity.deleted_at.is_(None))
        .order_by(Activity.created_at.desc(), Activity.id.desc())
        .limit(TIMELINE_LIMIT)
    )
    return (await session.scalars(query)).all()
