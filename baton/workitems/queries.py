"""Read models for work items: one item with its step, its history."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from baton.core.pagination import PageRequest
from baton.workflow.models import WorkflowHistory
from baton.workitems.models import WorkItem


async def history_of(session: AsyncSession, record_id: uuid.UUID) -> list[WorkflowHistory]:
    """Every step change of a record, oldest first (rows of the current tenant only)."""
    query = (
        select(WorkflowHistory)
        .where(WorkflowHistory.record_id == record_id)
        .order_by(WorkflowHistory.at, WorkflowHistory.id)
    )
    return list((await session.scalars(query)).all())


async def list_items(
    session: AsyncSession,
    page: PageRequest,
    project_type_id: uuid.UUID | None,
    step_id: uuid.UUID | None,
) -> list[WorkItem]:
    """Live items in creation order, `limit + 1` rows."""
    query = (
        select(WorkItem)
        .where(WorkItem.deleted_at.is_(None))
        .order_by(WorkItem.id)
        .limit(page.limit + 1)
    )
    if project_type_id is not None:
        query = query.where(WorkItem.project_type_id == project_type_id)
    if step_id is not None:
        query = query.where(WorkItem.step_id == step_id)
    if page.after is not None:
        query = query.where(WorkItem.id > page.after)
    return list((await session.scalars(query)).all())


@dataclass(frozen=True)
class BoardColumn:
    step_id: uuid.UUID
    count: int
    items: list[WorkItem]


async def board(
    session: AsyncSession, workflow_id: uuid.UUID, per_column: int
) -> dict[uuid.UUID, BoardColumn]:
    """Per step: how many items, and the `per_column` most recently entered (2 queries)."""
    counts = dict(
        (
            await session.execute(
                select(WorkItem.step_id, func.count())
                .where(WorkItem.workflow_id == workflow_id, WorkItem.deleted_at.is_(None))
                .group_by(WorkItem.step_id)
            )
        ).all()
    )
    ranked = (
        select(
            WorkItem.id,
            func.row_number()
            .over(partition_by=WorkItem.step_id, order_by=WorkItem.entered_step_at.desc())
            .label("rank"),
        )
        .where(WorkItem.workflow_id == workflow_id, WorkItem.deleted_at.is_(None))
        .subquery()
    )
    cards = (
        await session.scalars(
            select(WorkItem)
            .join(ranked, ranked.c.id == WorkItem.id)
            .where(ranked.c.rank <= per_column)
            .order_by(WorkItem.entered_step_at.desc())
        )
    ).all()
    columns = {step_id: BoardColumn(step_id, int(count), []) for step_id, count in counts.items()}
    for card in cards:
        columns[card.step_id].items.append(card)
    return columns
