"""Work items: create on the project type's workflow, edit, delete, move through the engine."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm.exc import StaleDataError

from baton.activities.timeline import stage_change_entry, stage_change_subject
from baton.core.context import Ctx
from baton.core.errors import (
    FieldError,
    NotFound,
    RuleViolation,
    StaleVersion,
    ValidationFailed,
)
from baton.core.ids import uuid7
from baton.core.versioning import check_version
from baton.db import search
from baton.db.driver import DriverStatement
from baton.identity.access import WRITERS, require_role
from baton.identity.queries import writer_name
from baton.workflow import effects, engine
from baton.workflow import service as workflow_service
from baton.workflow.models import EntityType, ProjectType, Workflow
from baton.workitems.models import WorkItem
from baton.workitems.schemas import MoveIn, WorkItemIn, WorkItemPatch

WORK_ITEMS: Table = WorkItem.__table__  # type: ignore[assignment]
WORKFLOWS: Table = Workflow.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class MoveResult:
    item: WorkItem
    move: engine.Move
    flow: engine.CompiledWorkflow
    dry_run: bool
    effects: list[effects.PlannedEffect]


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


async def _live_item(ctx: Ctx, item_id: uuid.UUID) -> WorkItem:
    item = await ctx.session.scalar(
        select(WorkItem).where(WorkItem.id == item_id, WorkItem.deleted_at.is_(None))
    )
    if item is None:
        raise NotFound("No such work item")
    return item


async def get_work_item(ctx: Ctx, item_id: uuid.UUID) -> tuple[WorkItem, engine.CompiledWorkflow]:
    """Any member reads a live item of the organization; deleted ones are 404."""
    ctx.require_principal()
    item = await _live_item(ctx, item_id)
    return item, await workflow_service.require_compiled(ctx, item.workflow_id)


async def update_work_item(
    ctx: Ctx, item_id: uuid.UUID, data: WorkItemPatch, expected_version: int | None
) -> tuple[WorkItem, engine.CompiledWorkflow]:
    """Writers edit name, description, owner and fields; the step changes only by a move.

    The caller's version must be current (409 otherwise); `fields` are merged, a null
    value removes the field.
    """
    principal = require_role(ctx, *WRITERS)
    item = await _live_item(ctx, item_id)
    check_version(item.version, expected_version, "work item")
    changes = data.model_dump(exclude_unset=True)
    if "name" in changes:
        if data.name is None:
            raise ValidationFailed(errors=[FieldError("name", "cannot be removed")])
        item.name = data.name
    if "description" in changes:
        item.description = data.description
    if "owner_id" in changes:
        if data.owner_id is not None and not await writer_name(
            ctx.session, principal.tenant_id, data.owner_id
        ):
            raise ValidationFailed(
                errors=[FieldError("owner_id", "is not a member who can own records")]
            )
        item.owner_id = data.owner_id
    if data.fields:
        merged = {**item.metadata_, **data.fields}
        item.metadata_ = {key: value for key, value in merged.items() if value is not None}
    try:
        await ctx.session.flush()
    except StaleDataError as exc:
        raise StaleVersion("The work item changed while you edited it") from exc
    return item, await workflow_service.require_compiled(ctx, item.workflow_id)


async def delete_work_item(ctx: Ctx, item_id: uuid.UUID, expected_version: int | None) -> None:
    """Writers delete items softly: history and timeline stay; the item leaves boards."""
    principal = require_role(ctx, *WRITERS)
    item = await _live_item(ctx, item_id)
    check_version(item.version, expected_version, "work item")
    item.deleted_at = datetime.now(UTC)
    item.deleted_by = principal.user_id
    try:
        await ctx.session.flush()
    except StaleDataError as exc:
        raise StaleVersion("The work item changed while you deleted it") from exc


# The move is the hot path (DESIGN §7): plain Core statements on the session's
# connection, two round trips between authentication and commit. The load also
# hands reason, notes and fields to the history trigger (transaction-local
# settings; every move sets all three, so nothing carries over to a later move);
# the update and the "Stage changed" timeline entry are one statement.
_LOAD_FOR_MOVE = (
    select(
        WORK_ITEMS,
        WORKFLOWS.c.version.label("workflow_version"),
        func.set_config("baton.transition_reason", bindparam("reason"), True),
        func.set_config("baton.transition_notes", bindparam("notes"), True),
        func.set_config("baton.transition_fields", bindparam("fields_text"), True),
    )
    .join(WORKFLOWS, WORKFLOWS.c.id == WORK_ITEMS.c.workflow_id)
    .where(WORK_ITEMS.c.id == bindparam("item_id"), WORK_ITEMS.c.deleted_at.is_(None))
)

_moved = (
    update(WORK_ITEMS)
    .where(WORK_ITEMS.c.id == bindparam("item_id"), WORK_ITEMS.c.version == bindparam("version"))
    .values(
        step_id=bindparam("to_step_id"),
        metadata=WORK_ITEMS.c.metadata.op("||")(bindparam("fields", type_=JSONB)),
        version=WORK_ITEMS.c.version + 1,
        updated_at=func.now(),
    )
    .returning(*search.answered_columns(WORK_ITEMS))
    .cte("moved")
)
_logged = stage_change_entry(
    _moved,
    {"work_item_id": _moved.c.id},
    activity_id=bindparam("activity_id"),
    subject=bindparam("subject"),
    actor=bindparam("actor_id"),
)
_MOVE = select(_moved).add_cte(_logged.cte("logged"))
_LOAD_FOR_MOVE_ON_DRIVER = DriverStatement.of(_LOAD_FOR_MOVE)
_MOVE_ON_DRIVER = DriverStatement.of(_MOVE)
_ITEM_ON_DRIVER = DriverStatement.of(
    select(*search.answered_columns(WORK_ITEMS)).where(WORK_ITEMS.c.id == bindparam("item_id"))
)

_ITEM_KEYS = (
    "metadata_",
    *(column.key for column in search.answered_columns(WORK_ITEMS) if column.key != "metadata"),
)


def _item_of(row: Mapping[str, Any]) -> WorkItem:
    """A detached WorkItem for the answer, from a driver row of `work_items` columns."""
    values = dict(row)
    values["metadata_"] = values.pop("metadata")
    return WorkItem.detached({key: values[key] for key in _ITEM_KEYS})


# Columns of the item a transition may require, besides its custom fields.
REQUIRABLE_COLUMNS = ("name", "description", "owner_id")


def present_fields(item: WorkItem, supplied: dict[str, Any]) -> set[str]:
    """The names a transition's `required_fields` are checked against: custom fields
    (stored, overlaid by those the move supplies) and the item's own columns, each
    counted when it holds something other than null or an empty string."""
    fields = {**item.metadata_, **supplied}
    columns = {column: getattr(item, column) for column in REQUIRABLE_COLUMNS}
    return {
        name
        for values in (fields, columns)
        for name, value in values.items()
        if value not in (None, "")
    }


async def move_work_item(ctx: Ctx, item_id: uuid.UUID, data: MoveIn) -> MoveResult:
    """Move along a transition of the item's workflow — validated, recorded, all or nothing.

    The caller's `version` must be current (409 otherwise); the transition's role,
    reason, notes and required fields must hold (422 naming what is missing). The
    move writes a history row (the trigger), a "Stage changed" timeline entry and
    runs the transition's effects in the same transaction. `dry_run` checks
    everything, reports the planned effects and writes nothing.
    """
    principal = require_role(ctx, *WRITERS)
    fields_text = json.dumps(data.fields, default=str) if data.fields else ""
    row = await _LOAD_FOR_MOVE_ON_DRIVER.fetchrow(
        ctx.session,
        {
            "item_id": item_id,
            "reason": data.reason or "",
            "notes": data.notes or "",
            "fields_text": fields_text,
        },
    )
    if row is None:
        raise NotFound("No such work item")
    if row["version"] != data.version:
        raise StaleVersion(f"The work item is at version {row['version']}, not {data.version}")
    flow = await workflow_service.require_compiled(ctx, row["workflow_id"], row["workflow_version"])
    current = _item_of(row)
    move = flow.check(
        current.step_id,
        data.to_step_id,
        role=principal.role,
        reason=data.reason,
        notes=data.notes,
        present_fields=present_fields(current, data.fields),
    )
    planned = effects.planned_effects(EntityType.WORK_ITEM, move)
    if data.dry_run:
        return MoveResult(current, move, flow, dry_run=True, effects=planned)
    moved = await _MOVE_ON_DRIVER.fetchrow(
        ctx.session,
        {
            "item_id": item_id,
            "version": data.version,
            "to_step_id": move.to_step.id,
            "fields": fields_text or "{}",
            "activity_id": uuid7(),
            "subject": stage_change_subject(move),
            "actor_id": principal.user_id,
        },
    )
    if moved is None:
        raise StaleVersion("The work item changed while you moved it")
    item = _item_of(moved)
    if move.edge.effects:
        record = effects.MovedRecord(EntityType.WORK_ITEM, item.id, item.name, item.owner_id)
        await effects.run_effects(ctx, record, move)
        # Effects may change the item (a hand-over sets the owner): answer what is stored.
        stored = await _ITEM_ON_DRIVER.fetchrow(ctx.session, {"item_id": item_id})
        assert stored is not None
        item = _item_of(stored)
    return MoveResult(item, move, flow, dry_run=False, effects=planned)
