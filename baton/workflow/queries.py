"""Read models for statuses, workflows and project types (current tenant only)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from baton.workflow.models import (
    ProjectType,
    Status,
    Workflow,
    WorkflowStep,
    WorkflowTransition,
)


async def list_statuses(session: AsyncSession) -> Sequence[Status]:
    return (await session.scalars(select(Status).order_by(Status.name))).all()


async def list_workflows(session: AsyncSession) -> Sequence[Workflow]:
    query = select(Workflow).where(~Workflow.archived).order_by(Workflow.name, Workflow.revision)
    return (await session.scalars(query)).all()


async def list_project_types(session: AsyncSession) -> Sequence[ProjectType]:
    return (await session.scalars(select(ProjectType).order_by(ProjectType.name))).all()


@dataclass(frozen=True)
class WorkflowDetail:
    workflow: Workflow
    steps: Sequence[WorkflowStep]
    transitions: Sequence[WorkflowTransition]
    categories: dict[uuid.UUID, str]


async def workflow_detail(session: AsyncSession, workflow_id: uuid.UUID) -> WorkflowDetail | None:
    """A workflow's rows as stored — drafts included, valid or not yet (4 queries)."""
    workflow = await session.scalar(select(Workflow).where(Workflow.id == workflow_id))
    if workflow is None:
        return None
    steps = (
        await session.scalars(
            select(WorkflowStep)
            .where(WorkflowStep.workflow_id == workflow_id)
            .order_by(WorkflowStep.position)
        )
    ).all()
    transitions = (
        await session.scalars(
            select(WorkflowTransition)
            .where(WorkflowTransition.workflow_id == workflow_id)
            .order_by(WorkflowTransition.id)
        )
    ).all()
    rows = await session.execute(
        select(Status.id, Status.category).where(Status.id.in_({s.status_id for s in steps}))
    )
    return WorkflowDetail(workflow, steps, transitions, {row.id: row.category for row in rows})


async def steps_by_id(
    session: AsyncSession, step_ids: set[uuid.UUID]
) -> dict[uuid.UUID, tuple[WorkflowStep, str]]:
    """Steps of any version (history spans migrations), with their status category."""
    if not step_ids:
        return {}
    rows = await session.execute(
        select(WorkflowStep, Status.category)
        .join(Status, Status.id == WorkflowStep.status_id)
        .where(WorkflowStep.id.in_(step_ids))
    )
    return {step.id: (step, category) for step, category in rows}
