"""Writing activities: system entries for what the workflow did, and planned work.

Issue-4 work (the planner, complete/cancel, views) builds on these; the rules here
are the ones every writer shares: a system entry is done when written, a planned
activity has an owner, and an activity is attached to its record by the column
for that kind of record (a composite FK, so never across tenants).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, insert

from baton.activities.models import Activity, ActivityStatus, ActivityType
from baton.core.context import Ctx
from baton.core.ids import uuid7
from baton.workflow.effects import MovedRecord
from baton.workflow.engine import Move
from baton.workflow.models import EntityType

ACTIVITIES: Table = Activity.__table__  # type: ignore[assignment]

# The activity column that points at each kind of record; domains add theirs.
RELATED_COLUMN: dict[EntityType, str] = {
    EntityType.WORK_ITEM: "work_item_id",
    EntityType.DEAL: "deal_id",
}


def stage_change_subject(move: Move) -> str:
    return f"Stage changed: {move.from_step.name} → {move.to_step.name}"


def _row(
    ctx: Ctx,
    record: MovedRecord,
    *,
    type: ActivityType,
    subject: str,
    owner_id: uuid.UUID | None,
    due_at: datetime | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    tenant_id = ctx.current_tenant_id
    assert tenant_id is not None
    done = type is ActivityType.SYSTEM
    actor = ctx.principal.user_id if ctx.principal else None
    return {
        "tenant_id": tenant_id,
        "id": uuid7(),
        "type": type.value,
        "status": (ActivityStatus.DONE if done else ActivityStatus.PLANNED).value,
        # Subjects may come from templates with record names in them: keep the CHECK.
        "subject": subject[:200],
        "description": description,
        "due_at": due_at,
        "completed_at": datetime.now(UTC) if done else None,
        "owner_id": owner_id,
        "created_by": actor,
        RELATED_COLUMN[record.entity_type]: record.id,
    }


async def log_system_activity(ctx: Ctx, record: MovedRecord, subject: str) -> None:
    """Record on the timeline something Baton did (a hand-over …); done as it is written."""
    actor = ctx.principal.user_id if ctx.principal else None
    await ctx.session.execute(
        insert(ACTIVITIES),
        [_row(ctx, record, type=ActivityType.SYSTEM, subject=subject, owner_id=actor)],
    )


async def plan_activity(
    ctx: Ctx,
    record: MovedRecord,
    *,
    type: ActivityType,
    subject: str,
    owner_id: uuid.UUID | None,
    due_at: datetime | None,
) -> None:
    """Plan work on a record for someone (the record's owner by default)."""
    await ctx.session.execute(
        insert(ACTIVITIES),
        [_row(ctx, record, type=type, subject=subject, owner_id=owner_id, due_at=due_at)],
    )
