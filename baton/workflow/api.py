"""/api/v1/workflow: statuses, workflows with steps and transitions, project types."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from baton.core.auth import CtxDep, get_principal
from baton.core.errors import FieldError, NotFound, ValidationFailed
from baton.workflow import queries, service
from baton.workflow.engine import CompiledWorkflow
from baton.workflow.schemas import (
    OptionOut,
    ProjectTypeOut,
    StatusOut,
    StepOut,
    TransitionOut,
    WorkflowOut,
    WorkflowSummaryOut,
)

router = APIRouter(
    prefix="/api/v1/workflow", tags=["workflow"], dependencies=[Depends(get_principal)]
)


async def _compiled(ctx: CtxDep, workflow_id: uuid.UUID) -> CompiledWorkflow:
    flow = await service.compiled(ctx, workflow_id)
    if flow is None:
        raise NotFound("No such workflow")
    return flow


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


@router.get("/workflows/{workflow_id}")
async def get_workflow(workflow_id: uuid.UUID, ctx: CtxDep) -> WorkflowOut:
    flow = await _compiled(ctx, workflow_id)
    return WorkflowOut(
        id=flow.workflow_id,
        name=flow.name,
        entity_type=flow.entity_type,
        version=flow.revision,
        published=flow.published,
        steps=[
            StepOut(
                id=step.id,
                key=step.key,
                name=step.name,
                status_id=step.status_id,
                order=step.position,
                is_initial=step.is_initial,
                is_final=step.is_final,
                category=step.category.value,
                probability=step.probability,
                metadata=dict(step.metadata),
            )
            for step in flow.ordered_steps()
        ],
        transitions=[
            TransitionOut(
                id=edge.id,
                from_step_id=edge.from_step_id,
                to_step_id=edge.to_step_id,
                label=edge.label,
                conditions={
                    key: list(value)
                    for key, value in (
                        ("required_fields", edge.required_fields),
                        ("reasons", edge.reasons),
                        ("roles", edge.roles),
                    )
                    if value
                },
                effects=[{"name": e.name, "config": dict(e.config)} for e in edge.effects],
            )
            for edge in flow.edges.values()
        ],
    )


@router.get("/workflows/{workflow_id}/allowed-transitions")
async def allowed_transitions(
    workflow_id: uuid.UUID, from_step_id: Annotated[uuid.UUID, Query()], ctx: CtxDep
) -> list[OptionOut]:
    """What a record on `from_step_id` may do next, for the caller's role."""
    flow = await _compiled(ctx, workflow_id)
    if from_step_id not in flow.steps:
        raise ValidationFailed(
            errors=[FieldError("from_step_id", "is not a step of this workflow")]
        )
    principal = ctx.require_principal()
    return [
        OptionOut(
            transition_id=option.edge.id,
            to_step_id=option.to_step.id,
            to_step_key=option.to_step.key,
            label=option.label,
            required_fields=list(option.required_fields),
            reasons=list(option.reasons),
            reason_required=option.reason_required,
            notes_required_for=list(option.notes_required_for),
            backwards=option.backwards,
        )
        for option in flow.options(from_step_id, principal.role)
    ]


@router.get("/project-types")
async def list_project_types(ctx: CtxDep) -> list[ProjectTypeOut]:
    return [ProjectTypeOut.model_validate(p) for p in await queries.list_project_types(ctx.session)]
