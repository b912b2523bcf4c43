"""Read models for statuses, workflows and project types (current tenant only)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from baton.workflow.engine import CompiledWorkflow
from baton.workflow.models import (
    ProjectType,
    Status,
    StatusCategory,
    Workflow,
    WorkflowHistory,
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


async def workflow_details(
    session: AsyncSession, workflow_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, WorkflowDetail]:
    """`workflow_detail` of many workflows in 4 statements (GraphQL's workflow loader)."""
    wanted = set(workflow_ids)
    if not wanted:
        return {}
    workflows = (await session.scalars(select(Workflow).where(Workflow.id.in_(wanted)))).all()
    steps = (
        await session.scalars(
            select(WorkflowStep)
            .where(WorkflowStep.workflow_id.in_(wanted))
            .order_by(WorkflowStep.position)
        )
    ).all()
    transitions = (
        await session.scalars(
            select(WorkflowTransition)
            .where(WorkflowTransition.workflow_id.in_(wanted))
            .order_by(WorkflowTransition.id)
        )
    ).all()
    rows = await session.execute(
        select(Status.id, Status.category).where(Status.id.in_({s.status_id for s in steps}))
    )
    categories = {row.id: row.category for row in rows}
    return {
        workflow.id: WorkflowDetail(
            workflow,
            [step for step in steps if step.workflow_id == workflow.id],
            [edge for edge in transitions if edge.workflow_id == workflow.id],
            categories,
        )
        for workflow in workflows
    }


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


@dataclass(frozen=True)
class StepFlow:
    edges: dict[tuple[uuid.UUID | None, uuid.UUID], int]
    # from step → (median seconds, p90 seconds, backwards moves out of it)
    time_in_step: dict[uuid.UUID, tuple[float | None, float | None, int]]


async def step_flow(
    session: AsyncSession, workflow_id: uuid.UUID, since: datetime, until: datetime
) -> StepFlow:
    """Moves between steps in a period, from the history ledger (2 queries)."""
    period = (
        WorkflowHistory.workflow_id == workflow_id,
        WorkflowHistory.at >= since,
        WorkflowHistory.at < until,
    )
    edge_rows = await session.execute(
        select(WorkflowHistory.from_step_id, WorkflowHistory.to_step_id, func.count())
        .where(*period)
        .group_by(WorkflowHistory.from_step_id, WorkflowHistory.to_step_id)
    )
    seconds = WorkflowHistory.seconds_in_previous_step
    time_rows = await session.execute(
        select(
            WorkflowHistory.from_step_id,
            func.percentile_cont(0.5).within_group(seconds),
            func.percentile_cont(0.9).within_group(seconds),
            func.count().filter(WorkflowHistory.backwards),
        )
        .where(*period, WorkflowHistory.from_step_id.is_not(None))
        .group_by(WorkflowHistory.from_step_id)
    )
    return StepFlow(
        edges={(source, target): int(count) for source, target, count in edge_rows},
        time_in_step={
            step: (median, p90, int(backwards)) for step, median, p90, backwards in time_rows
        },
    )


# Forward progress runs through open steps into a won one; lost/parked are exits.
_PROGRESS = (StatusCategory.OPEN, StatusCategory.WON)


def step_analytics(flow: CompiledWorkflow, moves: StepFlow) -> list[dict[str, Any]]:
    """Per step, in order: entries, exits, time in step, conversion onward, backwards."""
    ordered = flow.ordered_steps()
    progress = [step for step in ordered if step.category in _PROGRESS]
    onward = {a.id: b.id for a, b in pairwise(progress)}
    rows = []
    for step in ordered:
        entries = sum(n for (_, target), n in moves.edges.items() if target == step.id)
        exits = sum(n for (source, _), n in moves.edges.items() if source == step.id)
        median, p90, backwards = moves.time_in_step.get(step.id, (None, None, 0))
        following = onward.get(step.id)
        converted = moves.edges.get((step.id, following), 0) if following else None
        rows.append(
            {
                "step_id": step.id,
                "key": step.key,
                "name": step.name,
                "order": step.position,
                "entries": entries,
                "exits": exits,
                "median_seconds_in_step": median,
                "p90_seconds_in_step": p90,
                "conversion_to_next": (
                    converted / entries if converted is not None and entries else None
                ),
                "backwards_moves": backwards,
            }
        )
    return rows
