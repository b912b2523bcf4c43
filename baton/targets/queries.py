"""Read models for targets: the list (filtered by status and searched), the
per-status summary and the timeline. Each is one statement whatever it returns."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, Table, false, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from baton.activities.models import Activity
from baton.core.pagination import PageRequest
from baton.db import search
from baton.targets.models import Target
from baton.workflow.models import EntityType, ProjectType, Status, WorkflowStep

TARGETS: Table = Target.__table__  # type: ignore[assignment]
STEPS: Table = WorkflowStep.__table__  # type: ignore[assignment]
STATUSES: Table = Status.__table__  # type: ignore[assignment]
PROJECT_TYPES: Table = ProjectType.__table__  # type: ignore[assignment]

TIMELINE_LIMIT = 200

# The step each listed target is on, joined in (steps of any workflow version).
_STEP_COLUMNS = (
    STEPS.c.key.label("step_key"),
    STEPS.c.name.label("step_name"),
    STEPS.c.position.label("step_position"),
    STATUSES.c.category.label("step_category"),
)


def _with_steps() -> Any:
    return (
        select(*search.answered_columns(TARGETS), *_STEP_COLUMNS)
        .join(STEPS, (STEPS.c.tenant_id == TARGETS.c.tenant_id) & (STEPS.c.id == TARGETS.c.step_id))
        .join(
            STATUSES,
            (STATUSES.c.tenant_id == STEPS.c.tenant_id) & (STATUSES.c.id == STEPS.c.status_id),
        )
    )


async def list_targets(
    session: AsyncSession, page: PageRequest, *, status: str | None, q: str | None
) -> list[Row[Any]]:
    """Live targets, `limit + 1` rows, each with its step (one query). `status`: the
    step key.

    Without `q`: creation order, cursor on the id. With `q`: the targets whose company,
    contact name, email or phone hold every word of `q` as the start of a word (or whose
    phone ends with the digits of a phone-number `q`), best first — the company starting
    with `q`, then every word in the company, then the rest — by creation order within
    a rank, each row with its `search_rank` (`baton.db.search`). A `q` without letters
    or digits matches nothing (and sends no statement).
    """
    if q is not None:
        search.position(page)  # a plain list's cursor is 422, words or not
        if not search.parse(q).words:
            return []
    query = list_statement(page, status=status, q=q)
    return list((await session.execute(query)).all())


def list_statement(page: PageRequest | None, *, status: str | None, q: str | None) -> Any:
    """The statement of `list_targets`; `page` None is the whole list, every row its
    filters select in its order (an export reads it: `baton.exports.statements`)."""
    limit = None if page is None else page.limit + 1
    query = _with_steps().where(TARGETS.c.deleted_at.is_(None)).limit(limit)
    if status is not None:
        query = query.where(STEPS.c.key == status)
    if q is None:
        query = query.order_by(TARGETS.c.id)
        if page is not None and page.after is not None:
            query = query.where(TARGETS.c.id > page.after)
        return query
    start = None if page is None else search.position(page)
    wanted = search.parse(q)
    if not wanted.words:
        return query.where(false())
    if status is None:
        # No other filter: the page is cut on the search's answer first.
        chosen = search.first_rows("targets", wanted, start, limit)
        return (
            query.add_columns(chosen.c.search_rank)
            .join(chosen, chosen.c.id == TARGETS.c.id)
            .order_by(chosen.c.search_rank, TARGETS.c.id)
        )
    found = search.found("targets", wanted)
    return (
        query.add_columns(found.c.rank.label("search_rank"))
        .join(found, found.c.id == TARGETS.c.id)
        .where(search.after(found.c.rank, TARGETS.c.id, start))
        .order_by(found.c.rank, TARGETS.c.id)
    )


@dataclass(frozen=True)
class StatusCountRow:
    key: str
    name: str
    category: str
    position: int
    count: int


async def summary(session: AsyncSession) -> tuple[uuid.UUID | None, list[StatusCountRow]]:
    """Per step of the Target project type's default workflow, in order: how many live
    targets are on a step with that key (any version of the workflow) — one statement.
    An organization without the project type has no steps to count."""
    current = (
        select(PROJECT_TYPES.c.default_workflow_id)
        .where(PROJECT_TYPES.c.entity_type == EntityType.TARGET.value)
        .order_by(PROJECT_TYPES.c.created_at, PROJECT_TYPES.c.id)
        .limit(1)
        .scalar_subquery()
    )
    on_step = STEPS.alias("on_step")
    counts = (
        select(on_step.c.key, func.count().label("count"))
        .select_from(TARGETS)
        .join(
            on_step,
            (on_step.c.tenant_id == TARGETS.c.tenant_id) & (on_step.c.id == TARGETS.c.step_id),
        )
        .where(TARGETS.c.deleted_at.is_(None))
        .group_by(on_step.c.key)
        .subquery("counts")
    )
    rows = (
        await session.execute(
            select(
                STEPS.c.workflow_id,
                STEPS.c.key,
                STEPS.c.name,
                STATUSES.c.category,
                STEPS.c.position,
                func.coalesce(counts.c.count, 0).label("count"),
            )
            .join(
                STATUSES,
                (STATUSES.c.tenant_id == STEPS.c.tenant_id) & (STATUSES.c.id == STEPS.c.status_id),
            )
            .outerjoin(counts, counts.c.key == STEPS.c.key)
            .where(STEPS.c.workflow_id == current)
            .order_by(STEPS.c.position, STEPS.c.key)
        )
    ).all()
    return (rows[0].workflow_id if rows else None), [
        StatusCountRow(row.key, row.name, row.category, row.position, int(row._mapping["count"]))
        for row in rows
    ]


async def timeline(session: AsyncSession, target_id: uuid.UUID) -> Sequence[Activity]:
    """The target's activities (stage changes, the conversion's first call), newest first."""
    query = (
        select(Activity)
        .where(Activity.target_id == target_id, Activity.deleted_at.is_(None))
        .order_by(Activity.created_at.desc(), Activity.id.desc())
        .limit(TIMELINE_LIMIT)
    )
    return (await session.scalars(query)).all()
