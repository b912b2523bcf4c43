"""Read models for work items: one item with its step, its history."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from baton.workflow.models import WorkflowHistory


async def history_of(session: AsyncSession, record_id: uuid.UUID) -> list[WorkflowHistory]:
    """Every step change of a record, oldest first (rows of the current tenant only)."""
    query = (
        select(WorkflowHistory)
        .where(WorkflowHistory.record_id == record_id)
        .order_by(WorkflowHistory.at, WorkflowHistory.id)
    )
    return list((await session.scalars(query)).all())
