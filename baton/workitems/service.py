"""Work items: create on the project type's workflow, move through the engine."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from baton.core.context import Ctx
from baton.core.errors import FieldError, NotFound, RuleViolation, StaleVersion
from baton.identity.access import WRITERS, require_role
from baton.workflow import engine
from baton.workflow import service as workflow_service
from baton.workflow.models import EntityType, ProjectType, Workflow
from baton.workitems.models import WorkItem
from baton.workitems.schemas import MoveIn, WorkItemIn


@dataclass(frozen=True)
class MoveResult:
    item: WorkItem
    move: engine.Move
    flow: engine.CompiledWorkflow
    dry_run: bool


async def create_work_item(ctx: Ctx, data: WorkItemIn) -> tuple[WorkItem, engine.CompiledWorkflow]:
    """A new item starts at the initial step of its project type's default workflow."""
    principal = require_role(ctx, *WRITERS)
    project_type = await ctx.session.scalar(
        select(ProjectType).where(ProjectType.id == data.project_type_id)
    )
    if project_type is None:
        raise NotFound("No such project type")
    if project_type.entity_type != EntityType.WORK_ITEM.value:
        raise RuleViolation(
            f"'{project_type.name}' records are created through their own endpoints",
            errors=[FieldError("project_type_id", "is not a work item project type")],
        )
    flow = await workflow_service.require_compiled(ctx, project_type.default_workflow_id)
    item = WorkItem(
        tenant_id=principal.tenant_id,
        project_type_id=project_type.id,
        name=data.name,
        description=data.description,
        owner_id=principal.user_id,
        workflow_id=flow.workflow_id,
        step_id=flow.initial_step.id,
        # The trigger sets the real time of entry; this only satisfies NOT NULL.
        entered_step_at=datetime.now(UTC),
        metadata_=data.fields,
    )
    ctx.session.add(item)
    await ctx.session.flush()
    await ctx.session.refresh(item)
    return item, flow


async def get_work_item(ctx: Ctx, item_id: uuid.UUID) -> tuple[WorkItem, engine.CompiledWorkflow]:
    ctx.require_principal()
    item = await ctx.session.scalar(select(WorkItem).where(WorkItem.id == item_id))
    if item is None:
        raise NotFound("No such work item")
    return item, await workflow_service.require_compiled(ctx, item.workflow_id)


async def move_work_item(ctx: Ctx, item_id: uuid.UUID, data: MoveIn) -> MoveResult:
    """Move along a transition of the item's workflow — validated, recorded, all or nothing.

    The caller's `version` must be current (409 otherwise); the transition's role,
    reason, notes and required fields must hold (422 naming what is missing).
    `dry_run` checks everything and writes nothing.
    """
    principal = require_role(ctx, *WRITERS)
    # The workflow's row version comes along: the compiled graph is then a cache hit.
    row = (
        await ctx.session.execute(
            select(WorkItem, Workflow.version)
            .join(Workflow, Workflow.id == WorkItem.workflow_id)
            .where(WorkItem.id == item_id)
        )
    ).first()
    if row is None:
        raise NotFound("No such work item")
    item, workflow_version = row
    if item.version != data.version:
        raise StaleVersion(f"The work item is at version {item.version}, not {data.version}")
    flow = await workflow_service.require_compiled(ctx, item.workflow_id, workflow_version)
    fields = {**item.metadata_, **data.fields}
    present = {name for name, value in fields.items() if value not in (None, "")}
    move = flow.check(
        item.step_id,
        data.to_step_id,
        role=principal.role,
        reason=data.reason,
        notes=data.notes,
        present_fields=present,
    )
    if data.dry_run:
        return MoveResult(item, move, flow, dry_run=True)
    passed = await workflow_service.pass_move_details(ctx, data.reason, data.notes, data.fields)
    if data.fields:
        item.metadata_ = fields
    item.step_id = move.to_step.id
    try:
        # RETURNING brings back updated_at and the trigger's entered_step_at.
        await ctx.session.flush()
    except StaleDataError as exc:
        raise StaleVersion("The work item changed while you moved it") from exc
    if passed:
        await workflow_service.clear_move_details(ctx)
    return MoveResult(item, move, flow, dry_run=False)
