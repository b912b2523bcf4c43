"""Read models for statuses, workflows and project types (current tenant only)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from baton.workflow.models import ProjectType, Status, Workflow


async def list_statuses(session: AsyncSession) -> Sequence[Status]:
    return (await session.scalars(select(Status).order_by(Status.name))).all()


async def list_workflows(session: AsyncSession) -> Sequence[Workflow]:
    query = select(Workflow).where(~Workflow.archived).order_by(Workflow.name, Workflow.revision)
    return (await session.scalars(query)).all()


async def list_project_types(session: AsyncSession) -> Sequence[ProjectType]:
    return (await session.scalars(select(ProjectType).order_by(ProjectType.name))).all()
