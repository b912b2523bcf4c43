"""/api/v1/cadences and /api/v1/enrollments: outreach templates and the records in them."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, status

from baton.cadences import queries, service
from baton.cadences.models import CadenceEnrollment, CadenceStep
from baton.cadences.schemas import (
    CadenceIn,
    CadenceOut,
    CadencePatch,
    CadenceStepOut,
    EnrollIn,
    EnrollmentOut,
    PlannedActivityOut,
)
from baton.core.auth import CtxDep, IfMatchDep, get_principal
from baton.core.pagination import PageRequest, next_cursor, page_request
from baton.core.routing import JsonRoute
from baton.core.schemas import Page
from baton.core.versioning import expected_version

router = APIRouter(
    prefix="/api/v1",
    tags=["cadences"],
    dependencies=[Depends(get_principal)],
    route_class=JsonRoute,
)


def cadence_out(view: service.CadenceView) -> CadenceOut:
    cadence = view.cadence
    return CadenceOut(
        id=cadence.id,
        name=cadence.name,
        description=cadence.description,
        active=cadence.active,
        is_default=cadence.is_default,
        created_by=cadence.created_by,
        steps=[_step_out(step) for step in view.steps],
        created_at=cadence.created_at,
        updated_at=cadence.updated_at,
        version=cadence.version,
    )


def _step_out(step: CadenceStep) -> CadenceStepOut:
    return CadenceStepOut(
        id=step.id,
        position=step.position,
        type=step.type,
        subject_template=step.subject_template,
        delay_days=step.delay_days,
    )


def enrollment_out(
    enrollment: CadenceEnrollment, activities: list[PlannedActivityOut]
) -> EnrollmentOut:
    return EnrollmentOut(
        id=enrollment.id,
        cadence_id=enrollment.cadence_id,
        deal_id=enrollment.deal_id,
        account_id=enrollment.account_id,
        contact_id=enrollment.contact_id,
        status=enrollment.status,
        owner_id=enrollment.owner_id,
        started_at=enrollment.started_at,
        paused_at=enrollment.paused_at,
        remaining_steps=enrollment.remaining_steps,
        stopped_at=enrollment.stopped_at,
        created_at=enrollment.created_at,
        updated_at=enrollment.updated_at,
        version=enrollment.version,
        activities=activities,
    )


def _view_out(view: service.EnrollmentView) -> EnrollmentOut:
    return enrollment_out(
        view.enrollment,
        [PlannedActivityOut.model_validate(row._asdict()) for row in view.activities],
    )


@router.get("/cadences")
async def list_cadences(ctx: CtxDep, page: PageRequest = Depends(page_request)) -> Page[CadenceOut]:
    """Every cadence with its steps in order (two statements per page)."""
    rows = await queries.list_cadences(ctx.session, page)
    shown = rows[: page.limit]
    steps = await queries.steps_of(ctx.session, [cadence.id for cadence in shown])
    items = [cadence_out(service.CadenceView(c, steps.get(c.id, []))) for c in shown]
    return Page(items=items, next_cursor=next_cursor(rows, page, shown[-1].id if shown else None))


@router.post("/cadences", status_code=status.HTTP_201_CREATED)
async def create_cadence(data: CadenceIn, ctx: CtxDep) -> CadenceOut:
    """Admins and managers; 1 to 50 steps, positions unique (or the list's order)."""
    return cadence_out(await service.create_cadence(ctx, data))


@router.get("/cadences/{cadence_id}")
async def get_cadence(cadence_id: uuid.UUID, ctx: CtxDep) -> CadenceOut:
    return cadence_out(await service.get_cadence(ctx, cadence_id))


@router.patch("/cadences/{cadence_id}")
async def update_cadence(
    cadence_id: uuid.UUID, data: CadencePatch, ctx: CtxDep, if_match: IfMatchDep
) -> CadenceOut:
    """Edit name, description, active, default; `steps` replaces all steps. Send the
    version (If-Match or body)."""
    version = expected_version(if_match, data.version)
    return cadence_out(await service.update_cadence(ctx, cadence_id, data, version))


@router.post("/cadences/{cadence_id}/enroll", status_code=status.HTTP_201_CREATED)
async def enroll(cadence_id: uuid.UUID, data: EnrollIn, ctx: CtxDep) -> EnrollmentOut:
    """Enrol one deal, account or contact; answers the enrolment and its planned activities."""
    return _view_out(await service.enroll(ctx, cadence_id, data))


@router.get("/enrollments/{enrollment_id}")
async def get_enrollment(enrollment_id: uuid.UUID, ctx: CtxDep) -> EnrollmentOut:
    """The enrolment and every activity it planned, in step order."""
    enrollment = await service.get_enrollment(ctx, enrollment_id)
    rows = await queries.enrollment_activities(ctx.session, enrollment.id)
    return _view_out(service.EnrollmentView(enrollment, rows))


@router.post("/enrollments/{enrollment_id}/pause")
async def pause_enrollment(enrollment_id: uuid.UUID, ctx: CtxDep) -> EnrollmentOut:
    """Cancel the still-planned activities; answers them."""
    return _view_out(await service.pause_enrollment(ctx, enrollment_id))


@router.post("/enrollments/{enrollment_id}/resume")
async def resume_enrollment(enrollment_id: uuid.UUID, ctx: CtxDep) -> EnrollmentOut:
    """Plan the remaining steps again from now; answers the new activities."""
    return _view_out(await service.resume_enrollment(ctx, enrollment_id))


@router.post("/enrollments/{enrollment_id}/stop")
async def stop_enrollment(enrollment_id: uuid.UUID, ctx: CtxDep) -> EnrollmentOut:
    """End the enrolment, cancelling what is still planned; answers the cancelled ones."""
    return _view_out(await service.stop_enrollment(ctx, enrollment_id))
