"""/api/v1/workflow: statuses, workflows with steps and transitions, project types."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from baton.core.auth import CtxDep, IfMatchDep, get_principal
from baton.core.errors import NotFound
from baton.core.routing import JsonRoute
from baton.core.schemas import Moment
from baton.core.versioning import expected_version
from baton.workflow import effects, queries, service
from baton.workflow.models import EntityType
from baton.workflow.schemas import (
    AnalyticsOut,
    EffectOut,
    MigrationIn,
    MigrationOut,
    OptionOut,
    ProjectTypeIn,
    ProjectTypeOut,
    ProjectTypePatch,
    StatusIn,
    StatusOut,
    StatusPatch,
    StepAnalyticsOut,
    StepIn,
    StepOrderIn,
    StepOut,
    StepPatch,
    TransitionIn,
    TransitionOut,
    TransitionPatch,
    WorkflowIn,
    WorkflowOut,
    WorkflowPatch,
    WorkflowSummaryOut,
)

router = APIRouter(
    prefix="/api/v1/workflow",
    tags=["workflow"],
    dependencies=[Depends(get_principal)],
    route_class=JsonRoute,
)


@router.get("/statuses")
async def list_statuses(ctx: CtxDep) -> list[StatusOut]:
    return [StatusOut.model_validate(s) for s in await queries.list_statuses(ctx.session)]


@router.get("/workflows")
async def list_workflows(ctx: CtxDep) -> list[WorkflowSummaryOut]:
    return [
        WorkflowSummaryOut(
            id=w.id,
            name=w.name,
            entity_type=w.entity_type,
            version=w.revision,
            published=w.published,
        )
        for w in await queries.list_workflows(ctx.session)
    ]


def workflow_out(detail: queries.WorkflowDetail) -> WorkflowOut:
    workflow = detail.workflow
    return WorkflowOut(
        id=workflow.id,
        name=workflow.name,
        entity_type=workflow.entity_type,
        version=workflow.revision,
        row_version=workflow.version,
        published=workflow.published,
        steps=[
            StepOut(
                id=step.id,
                key=step.key,
                name=step.name,
                status_id=step.status_id,
                order=step.position,
                is_initial=step.is_initial,
                is_final=step.is_final,
                category=detail.categories[step.status_id],
                probability=step.probability,
                metadata=step.metadata_,
                version=step.version,
            )
            for step in detail.steps
        ],
        transitions=[TransitionOut.model_validate(t) for t in detail.transitions],
    )


@router.get("/workflows/{workflow_id}")
async def get_workflow(workflow_id: uuid.UUID, ctx: CtxDep) -> WorkflowOut:
    detail = await queries.workflow_detail(ctx.session, workflow_id)
    if detail is None:
        raise NotFound("No such workflow")
    return workflow_out(detail)


@router.get("/workflows/{workflow_id}/allowed-transitions")
async def allowed_transitions(
    workflow_id: uuid.UUID, from_step_id: Annotated[uuid.UUID, Query()], ctx: CtxDep
) -> list[OptionOut]:
    """What a record on `from_step_id` may do next, for the caller's role."""
    return [
        OptionOut(
            transition_id=option.edge.id,
            to_step_id=option.to_step.id,
            to_step_key=option.to_step.key,
            label=option.label,
            required_fields=list(option.required_fields),
            reasons=list(option.reasons),
            reason_labels=dict(option.reason_labels),
            reason_required=option.reason_required,
            notes_required_for=list(option.notes_required_for),
            backwards=option.backwards,
        )
        for option in await service.allowed_moves(ctx, workflow_id, from_step_id)
    ]


@router.get("/project-types")
async def list_project_types(ctx: CtxDep) -> list[ProjectTypeOut]:
    return [ProjectTypeOut.model_validate(p) for p in await queries.list_project_types(ctx.session)]


@router.post("/workflows", status_code=status.HTTP_201_CREATED)
async def create_workflow(data: WorkflowIn, ctx: CtxDep) -> WorkflowOut:
    workflow = await service.create_workflow(ctx, data)
    return await get_workflow(workflow.id, ctx)


@router.post("/workflows/{workflow_id}/steps", status_code=status.HTTP_201_CREATED)
async def add_step(workflow_id: uuid.UUID, data: StepIn, ctx: CtxDep) -> WorkflowOut:
    """Answers the edited draft: a new version when the workflow was published."""
    draft = await service.add_step(ctx, workflow_id, data)
    return await get_workflow(draft.id, ctx)


@router.patch("/workflows/{workflow_id}")
async def update_workflow(
    workflow_id: uuid.UUID, data: WorkflowPatch, ctx: CtxDep, if_match: IfMatchDep
) -> WorkflowOut:
    """Rename (every version). Send `row_version` as If-Match or `version`."""
    version = expected_version(if_match, data.version)
    workflow = await service.update_workflow(ctx, workflow_id, data, version)
    return await get_workflow(workflow.id, ctx)


@router.delete("/workflows/{workflow_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_workflow(workflow_id: uuid.UUID, ctx: CtxDep, if_match: IfMatchDep) -> None:
    """Discard a draft with its steps and transitions; 409 for a published or retired
    version. If-Match, when sent, must be current."""
    await service.delete_workflow(ctx, workflow_id, if_match)


@router.patch("/steps/{step_id}")
async def update_step(
    step_id: uuid.UUID, data: StepPatch, ctx: CtxDep, if_match: IfMatchDep
) -> WorkflowOut:
    """Answers the edited draft: a new version when the workflow was published."""
    version = expected_version(if_match, data.version)
    draft = await service.update_step(ctx, step_id, data, version)
    return await get_workflow(draft.id, ctx)


@router.delete("/steps/{step_id}")
async def delete_step(step_id: uuid.UUID, ctx: CtxDep, if_match: IfMatchDep) -> WorkflowOut:
    """409 while records sit on the step. If-Match, when sent, must be current."""
    draft = await service.delete_step(ctx, step_id, if_match)
    return await get_workflow(draft.id, ctx)


@router.post("/workflows/{workflow_id}/transitions", status_code=status.HTTP_201_CREATED)
async def add_transition(workflow_id: uuid.UUID, data: TransitionIn, ctx: CtxDep) -> WorkflowOut:
    draft = await service.add_transition(ctx, workflow_id, data)
    return await get_workflow(draft.id, ctx)


@router.post("/workflows/{workflow_id}/publish")
async def publish(workflow_id: uuid.UUID, ctx: CtxDep) -> WorkflowOut:
    workflow = await service.publish(ctx, workflow_id)
    return await get_workflow(workflow.id, ctx)


@router.post("/statuses", status_code=status.HTTP_201_CREATED)
async def create_status(data: StatusIn, ctx: CtxDep) -> StatusOut:
    return StatusOut.model_validate(await service.create_status(ctx, data))


@router.patch("/statuses/{status_id}")
async def update_status(
    status_id: uuid.UUID, data: StatusPatch, ctx: CtxDep, if_match: IfMatchDep
) -> StatusOut:
    version = expected_version(if_match, data.version)
    return StatusOut.model_validate(await service.update_status(ctx, status_id, data, version))


@router.delete("/statuses/{status_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_status(status_id: uuid.UUID, ctx: CtxDep, if_match: IfMatchDep) -> None:
    """409 while a step uses the status (archive it instead)."""
    await service.delete_status(ctx, status_id, if_match)


@router.get("/effects")
async def list_effects(entity_type: EntityType) -> list[EffectOut]:
    """The effects a transition of a workflow for `entity_type` may carry, with their
    config schemas."""
    return [
        EffectOut(
            name=definition.name,
            summary=definition.summary,
            config_schema=definition.config_model.model_json_schema(),
        )
        for definition in effects.available_effects(entity_type)
    ]


@router.post("/project-types", status_code=status.HTTP_201_CREATED)
async def create_project_type(data: ProjectTypeIn, ctx: CtxDep) -> ProjectTypeOut:
    return ProjectTypeOut.model_validate(await service.create_project_type(ctx, data))


@router.patch("/project-types/{project_type_id}")
async def update_project_type(
    project_type_id: uuid.UUID, data: ProjectTypePatch, ctx: CtxDep, if_match: IfMatchDep
) -> ProjectTypeOut:
    """Name, icon or the published workflow new records of the type start on (records
    already created stay on theirs). Send `version` as If-Match or in the body."""
    version = expected_version(if_match, data.version)
    updated = await service.update_project_type(ctx, project_type_id, data, version)
    return ProjectTypeOut.model_validate(updated)


@router.delete("/project-types/{project_type_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_project_type(
    project_type_id: uuid.UUID, ctx: CtxDep, if_match: IfMatchDep
) -> None:
    """409 while work items of the type exist, or for the only project type of lead,
    deal or target records. If-Match, when sent, must be current."""
    await service.delete_project_type(ctx, project_type_id, if_match)


@router.post("/workflows/{workflow_id}/migrate")
async def migrate(workflow_id: uuid.UUID, data: MigrationIn, ctx: CtxDep) -> MigrationOut:
    return MigrationOut(moved=await service.migrate_records(ctx, workflow_id, data))


@router.get("/workflows/{workflow_id}/analytics")
async def analytics(
    workflow_id: uuid.UUID,
    ctx: CtxDep,
    since: Annotated[Moment | None, Query(alias="from")] = None,
    until: Annotated[Moment | None, Query(alias="to")] = None,
) -> AnalyticsOut:
    """Per step: entries, exits, time in step (median, p90), conversion, backwards moves.

    Default period: the last 90 days. `from` and `to` are ISO 8601 with a UTC offset,
    1900-01-01 to 9999-12-31 (else 422 naming the parameter).
    """
    since, until, rows = await service.stage_analytics(ctx, workflow_id, since, until)
    steps = [StepAnalyticsOut(**row) for row in rows]
    return AnalyticsOut(workflow_id=workflow_id, since=since, until=until, steps=steps)


@router.patch("/transitions/{transition_id}")
async def update_transition(
    transition_id: uuid.UUID, data: TransitionPatch, ctx: CtxDep, if_match: IfMatchDep
) -> WorkflowOut:
    """Label, conditions or effects (unknown effects are 422 here, not at run time)."""
    version = expected_version(if_match, data.version)
    draft = await service.update_transition(ctx, transition_id, data, version)
    return await get_workflow(draft.id, ctx)


@router.delete("/transitions/{transition_id}")
async def delete_transition(
    transition_id: uuid.UUID, ctx: CtxDep, if_match: IfMatchDep
) -> WorkflowOut:
    draft = await service.delete_transition(ctx, transition_id, if_match)
    return await get_workflow(draft.id, ctx)


@router.put("/workflows/{workflow_id}/step-order")
async def reorder_steps(workflow_id: uuid.UUID, data: StepOrderIn, ctx: CtxDep) -> WorkflowOut:
    draft = await service.reorder_steps(ctx, workflow_id, data.step_ids)
    return await get_workflow(draft.id, ctx)
