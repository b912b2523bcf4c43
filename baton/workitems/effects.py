"""`hand_over` for work items: the moved item gets a new owner, who is told."""

from __future__ import annotations

import uuid

from sqlalchemy import update

from baton.activities.service import log_system_activity
from baton.core.context import Ctx
from baton.core.errors import RuleViolation
from baton.core.schemas import Schema
from baton.identity.queries import writer_name
from baton.notifications.models import NotificationKind
from baton.notifications.service import notify
from baton.workflow.effects import EffectDefinition, MovedRecord, register
from baton.workflow.engine import Move
from baton.workflow.models import EntityType
from baton.workitems.models import WorkItem


class HandOverConfig(Schema):
    to_user_id: uuid.UUID


async def _owner_name(ctx: Ctx, user_id: uuid.UUID) -> str | None:
    tenant_id = ctx.current_tenant_id
    assert tenant_id is not None
    return await writer_name(ctx.session, tenant_id, user_id)


async def _check(ctx: Ctx, config: HandOverConfig) -> list[str]:
    if await _owner_name(ctx, config.to_user_id) is None:
        return ["to_user_id is not a member who can own records"]
    return []


async def _run(ctx: Ctx, record: MovedRecord, move: Move, config: HandOverConfig) -> None:
    name = await _owner_name(ctx, config.to_user_id)
    if name is None:
        raise RuleViolation(
            "This transition hands items over to someone who is no longer a member "
            "who can own records; an admin must update the workflow"
        )
    # Part of the move, not a separate change: no second version bump.
    await ctx.session.execute(
        update(WorkItem).where(WorkItem.id == record.id).values(owner_id=config.to_user_id)
    )
    await log_system_activity(ctx, record, f"Handed over to {name} at {move.to_step.name}")
    actor = ctx.principal.user_id if ctx.principal else None
    if config.to_user_id != actor:
        message = f"{record.title} was handed over to you at {move.to_step.name}"
        await notify(ctx, config.to_user_id, message, record, NotificationKind.ASSIGNMENT)


register(
    EffectDefinition(
        name="hand_over",
        summary="Make a named member the item's owner, and tell them",
        config_model=HandOverConfig,
        run=_run,
        describe=lambda config: f"hand the item over to member {config.to_user_id}",
        entity_types=frozenset({EntityType.WORK_ITEM}),
        check=_check,
    )
)
