"""Read models for work items: one item with its step, its history."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, false, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from baton.core.pagination import PageRequest
from baton.db import search
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
    q: str | None = None,
) -> list[tuple[WorkItem, int | None]]:
    """Live items, `limit + 1` rows, each with its search rank (None unsearched), one
    statement.

    Without `q`: creation order, cursor on the id. With `q`: the items whose name holds
    every word of `q` as the start of a word, best first — the name starting with `q`,
    then the rest — by creation order within a rank; the cursor carries the rank and a
    plain list's cursor is 422 (`baton.db.search`). A `q` without letters or digits
    matches nothing (and sends no statement)."""
    if q is not None:
        search.position(page)  # a plain list's cursor is 422, words or not
        if not search.parse(q).words:
            return []
    query = list_statement(page, project_type_id, step_id, q)
    return [(row[0], row._mapping.get("search_rank")) for row in await session.execute(query)]


def list_statement(
    page: PageRequest,
    project_type_id: uuid.UUID | None,
    step_id: uuid.UUID | None,
    q: str | None = None,
) -> Select[Any]:
    """The statement of `list_items`."""
    query = select(WorkItem).where(WorkItem.deleted_at.is_(None)).limit(page.limit + 1)
    if project_type_id is not None:
        query = query.where(WorkItem.project_type_id == project_type_id)
    if step_id is not None:
        query = query.where(WorkItem.step_id == step_id)
    if q is None:
        if page.after is not None:
            query = query.where(WorkItem.id > page.after)
        return query.order_by(WorkItem.id)
    start = search.position(page)
    wanted = search.parse(q)
    if not wanted.words:
        return query.where(false())
    if project_type_id is None and step_id is None:
        # No other filter: only the page's rows are read, however many match.
        chosen = search.page("work_items", wanted, start, page.limit + 1)
        return (
            query.add_columns(chosen.c.search_rank)
            .join(chosen, chosen.c.id == WorkItem.id)
            .order_by(chosen.c.search_rank, WorkItem.id)
        )
    found = search.found("work_items", wanted)
    return (
        query.add_columns(found.c.rank.label("search_rank"))
        .join(found, found.c.id == WorkItem.id)
        .where(search.after(found.c.rank, WorkItem.id, start))
        .order_by(found.c.rank, WorkItem.id)
    )


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
