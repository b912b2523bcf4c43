"""/api/v1/work-items: generic records governed by their project type's workflow."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from baton.activities import queries as activity_queries
from baton.activities.schemas import ActivityOut
from baton.core.auth import CtxDep, IfMatchDep, VersionQuery, get_principal
from baton.core.pagination import PageRequest, SearchQuery, next_page, page_request
from baton.core.routing import JsonRoute
from baton.core.schemas import Page
from baton.core.versioning import expected_version
from baton.workflow import queries as workflow_queries
from baton.workflow import service as workflow_service
from baton.workflow.models import EntityType
from baton.workflow.schemas import StepRef
from baton.workitems import queries, service
from baton.workitems.models import WorkItem
from baton.workitems.schemas import (
    BoardColumnOut,
    BoardOut,
    HistoryEntryOut,
    MoveIn,
    MoveOut,
    PlannedEffectOut,
    WorkItemIn,
    WorkItemOut,
    WorkItemPatch,
)

router = APIRouter(
    prefix="/api/v1/work-items",
    tags=["work-items"],
    dependencies=[Depends(get_principal)],
    route_class=JsonRoute,
)


def item_out(item: WorkItem, step: StepRef) -> WorkItemOut:
    return WorkItemOut(
        id=item.id,
        project_type_id=item.project_type_id,
        name=item.name,
        description=item.description,
        owner_id=item.owner_id,
        workflow_id=item.workflow_id,
        step=step,
        entered_step_at=item.entered_step_at,
        fields=item.metadata_,
        created_at=item.created_at,
        updated_at=item.updated_at,
        version=item.version,
    )


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_work_item(data: WorkItemIn, ctx: CtxDep) -> WorkItemOut:
    item, flow = await service.create_work_item(ctx, data)
    return item_out(item, StepRef.of(flow.step(item.step_id)))


@router.get("")
async def list_work_items(
    ctx: CtxDep,
    project_type_id: uuid.UUID | None = None,
    step_id: uuid.UUID | None = None,
    page: PageRequest = Depends(page_request),
    q: SearchQuery = None,
) -> Page[WorkItemOut]:
    """Live work items, filtered by project type and step. Without `q`, in creation
    order. `q`: words found anywhere in the name (each the start of a word; case,
    accents and punctuation ignored), best matches first — the name starting with `q`,
    then the rest — and a page continues only with a cursor of the same search
    (`baton.db.search`); a `q` without letters or digits matches nothing."""
    rows = await queries.list_items(ctx.session, page, project_type_id, step_id, q)
    shown = [item for item, _ in rows[: page.limit]]
    steps = await workflow_queries.steps_by_id(ctx.session, {item.step_id for item in shown})
    items = [item_out(item, StepRef.stored(*steps[item.step_id])) for item in shown]
    return Page(items=items, next_cursor=next_page(((item.id, rank) for item, rank in rows), page))


@router.get("/board")
async def board(
    workflow_id: uuid.UUID,
    ctx: CtxDep,
    per_column: Annotated[int, Query(ge=1, le=200)] = 50,
) -> BoardOut:
    """Columns in step order, each with its count and its most recently entered cards."""
    flow = await workflow_service.require_compiled(ctx, workflow_id)
    columns = await queries.board(ctx.session, workflow_id, per_column)
    shown = []
    for step in flow.ordered_steps():
        ref = StepRef.of(step)
        column = columns.get(step.id)
        cards = column.items if column else []
        shown.append(
            BoardColumnOut(
                step=ref,
                count=column.count if column else 0,
                items=[item_out(card, ref) for card in cards],
            )
        )
    return BoardOut(workflow_id=workflow_id, columns=shown)


@router.get("/{item_id}")
async def get_work_item(item_id: uuid.UUID, ctx: CtxDep) -> WorkItemOut:
    item, flow = await service.get_work_item(ctx, item_id)
    return item_out(item, StepRef.of(flow.step(item.step_id)))


@router.patch("/{item_id}")
async def update_work_item(
    item_id: uuid.UUID, data: WorkItemPatch, ctx: CtxDep, if_match: IfMatchDep
) -> WorkItemOut:
    """Edit name, description, owner or fields; send the version (If-Match or body)."""
    version = expected_version(if_match, data.version)
    item, flow = await service.update_work_item(ctx, item_id, data, version)
    return item_out(item, StepRef.of(flow.step(item.step_id)))


@router.delete("/{item_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_work_item(
    item_id: uuid.UUID,
    ctx: CtxDep,
    if_match: IfMatchDep,
    version: VersionQuery = None,
) -> None:
    """Soft delete: the item leaves lists and boards; its history stays. Send the version."""
    await service.delete_work_item(ctx, item_id, expected_version(if_match, version))


@router.get("/{item_id}/activities")
async def work_item_activities(item_id: uuid.UUID, ctx: CtxDep) -> list[ActivityOut]:
    """The item's timeline (stage changes, hand-overs, planned follow-ups), newest first."""
    await service.get_work_item(ctx, item_id)
    rows = await activity_queries.for_record(ctx.session, EntityType.WORK_ITEM, item_id)
    return [ActivityOut.model_validate(row) for row in rows]


@router.post("/{item_id}/move")
async def move_work_item(item_id: uuid.UUID, data: MoveIn, ctx: CtxDep) -> MoveOut:
    result = await service.move_work_item(ctx, item_id, data)
    return MoveOut(
        item=item_out(result.item, StepRef.of(result.flow.step(result.item.step_id))),
        from_step=StepRef.of(result.move.from_step),
        to_step=StepRef.of(result.move.to_step),
        backwards=result.move.backwards,
        dry_run=result.dry_run,
        effects=[PlannedEffectOut(name=e.name, description=e.description) for e in result.effects],
    )


@router.get("/{item_id}/history")
async def work_item_history(item_id: uuid.UUID, ctx: CtxDep) -> list[HistoryEntryOut]:
    await service.get_work_item(ctx, item_id)
    entries = await queries.history_of(ctx.session, item_id)
    steps = await workflow_queries.steps_by_id(
        ctx.session,
        {e.to_step_id for e in entries} | {e.from_step_id for e in entries if e.from_step_id},
    )

    def ref(step_id: uuid.UUID) -> StepRef:
        return StepRef.stored(*steps[step_id])

    return [
        HistoryEntryOut(
            id=entry.id,
            from_step=ref(entry.from_step_id) if entry.from_step_id else None,
            to_step=ref(entry.to_step_id),
            actor_id=entry.actor_id,
            reason=entry.reason,
            notes=entry.notes,
            fields=entry.fields,
            at=entry.at,
            seconds_in_previous_step=entry.seconds_in_previous_step,
            backwards=entry.backwards,
        )
        for entry in entries
    ]
