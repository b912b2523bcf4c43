"""Workflow rules: default configuration, compiled workflows, and moving records.

The database guarantees that a governed record's step changes only along a
transition (and writes the history row); this module checks first, with specific
messages, and passes reason, notes and fields to the trigger.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, cast

from sqlalchemy import Table, insert, select, text

from baton.core.context import Ctx
from baton.core.ids import uuid7
from baton.workflow import engine
from baton.workflow.defaults import DEFAULT_WORKFLOWS
from baton.workflow.models import (
    ProjectType,
    Status,
    StatusCategory,
    Workflow,
    WorkflowStep,
    WorkflowTransition,
)

# Compiled workflows, shared by every request of this process.
compiled_workflows = engine.WorkflowCache()

_SET_MOVE = text(
    "SELECT set_config('baton.transition_reason', :reason, true),"
    " set_config('baton.transition_notes', :notes, true),"
    " set_config('baton.transition_fields', :fields, true)"
)


async def seed_defaults(ctx: Ctx) -> None:
    """Give a new organization the default workflows and project types (DESIGN §4).

    Runs inside registration's transaction, scoped to the new tenant.
    """
    tenant_id = ctx.current_tenant_id
    assert tenant_id is not None
    statuses: dict[str, uuid.UUID] = {}
    status_rows: list[dict[str, Any]] = []
    workflow_rows: list[dict[str, Any]] = []
    step_rows: list[dict[str, Any]] = []
    transition_rows: list[dict[str, Any]] = []
    project_rows: list[dict[str, Any]] = []
    for spec in DEFAULT_WORKFLOWS:
        workflow_id = uuid7()
        workflow_rows.append(
            {
                "tenant_id": tenant_id,
                "id": workflow_id,
                "family_id": workflow_id,
                "revision": 1,
                "name": spec.name,
                "entity_type": spec.entity_type.value,
                "published": True,
            }
        )
        steps: dict[str, uuid.UUID] = {}
        for position, step in enumerate(spec.steps):
            if step.name not in statuses:
                statuses[step.name] = uuid7()
                status_rows.append(
                    {
                        "tenant_id": tenant_id,
                        "id": statuses[step.name],
                        "name": step.name,
                        "colour": step.colour,
                        "category": step.category.value,
                    }
                )
            steps[step.key] = uuid7()
            metadata: dict[str, Any] = dict(step.extra)
            if step.required_fields:
                metadata["required_fields"] = list(step.required_fields)
            step_rows.append(
                {
                    "tenant_id": tenant_id,
                    "id": steps[step.key],
                    "workflow_id": workflow_id,
                    "status_id": statuses[step.name],
                    "key": step.key,
                    "name": step.name,
                    "position": position,
                    "is_initial": position == 0,
                    "is_final": step.category is not StatusCategory.OPEN,
                    "probability": step.probability,
                    "metadata": metadata,
                }
            )
        for transition in spec.transitions:
            conditions: dict[str, Any] = {}
            if transition.reasons:
                conditions["reasons"] = list(transition.reasons)
            if transition.required_fields:
                conditions["required_fields"] = list(transition.required_fields)
            transition_rows.append(
                {
                    "tenant_id": tenant_id,
                    "id": uuid7(),
                    "workflow_id": workflow_id,
                    "from_step_id": steps[transition.source],
                    "to_step_id": steps[transition.target],
                    "label": transition.label,
                    "conditions": conditions,
                    "effects": [{"name": name, "config": {}} for name in transition.effects],
                }
            )
        project_rows.append(
            {
                "tenant_id": tenant_id,
                "id": uuid7(),
                "name": spec.project_type,
                "entity_type": spec.entity_type.value,
                "default_workflow_id": workflow_id,
                "icon": spec.icon,
            }
        )
    # Core executemany: one round trip per table instead of one per row.
    for model, rows in (
        (Status, status_rows),
        (Workflow, workflow_rows),
        (WorkflowStep, step_rows),
        (WorkflowTransition, transition_rows),
        (ProjectType, project_rows),
    ):
        await ctx.session.execute(insert(cast(Table, model.__table__)), rows)


async def compiled(ctx: Ctx, workflow_id: uuid.UUID) -> engine.CompiledWorkflow | None:
    """The workflow compiled for validation, from the cache while its version holds."""
    tenant_id = ctx.current_tenant_id
    assert tenant_id is not None
    version = await ctx.session.scalar(select(Workflow.version).where(Workflow.id == workflow_id))
    if version is None:
        return None
    key = (tenant_id, workflow_id, version)
    hit = compiled_workflows.get(key)
    if hit is not None:
        return hit
    workflow = await ctx.session.get_one(Workflow, (tenant_id, workflow_id))
    steps = (
        await ctx.session.scalars(
            select(WorkflowStep).where(WorkflowStep.workflow_id == workflow_id)
        )
    ).all()
    transitions = (
        await ctx.session.scalars(
            select(WorkflowTransition).where(WorkflowTransition.workflow_id == workflow_id)
        )
    ).all()
    status_rows = await ctx.session.execute(
        select(Status.id, Status.category).where(Status.id.in_({step.status_id for step in steps}))
    )
    categories = {row.id: row.category for row in status_rows}
    result = engine.compile_workflow(workflow, steps, transitions, categories)
    compiled_workflows.put(key, result)
    return result


async def pass_move_details(
    ctx: Ctx, reason: str | None, notes: str | None, fields: dict[str, Any]
) -> None:
    """Hand reason, notes and supplied fields to the history trigger for the next move."""
    await ctx.session.execute(
        _SET_MOVE,
        {"reason": reason or "", "notes": notes or "", "fields": json.dumps(fields, default=str)},
    )
