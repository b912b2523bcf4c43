"""/api/v1/activities: the planner — plan, edit, complete and cancel work; the views."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from baton.activities import queries, service
from baton.activities.models import Activity
from baton.activities.queries import ViewPage, view_page
from baton.activities.schemas import (
    ActivityChangeOut,
    ActivityIn,
    ActivityListItem,
    ActivityOut,
    ActivityPatch,
    ActivityView,
    CancelIn,
    CompleteIn,
    DealNextStepOut,
)
from baton.core.auth import CtxDep, IfMatchDep, get_principal
from baton.core.errors import FieldError, ValidationFailed
from baton.core.replica import replica_route
from baton.core.routing import JsonRoute
from baton.core.schemas import Page
from baton.core.versioning import expected_version

router = APIRouter(
    prefix="/api/v1/activities",
    tags=["activities"],
    dependencies=[Depends(get_principal)],
    route_class=JsonRoute,
)

OwnerFilter = Annotated[
    str | None,
    Query(
        max_length=36,
        pattern=r"^(me|[0-9a-fA-F-]{32,36})$",
        description="`me`, or a member's id: only activities that member owns",
    ),
]


def _change_out(change: service.ActivityChange) -> ActivityChangeOut:
    deal = change.deal
    return ActivityChangeOut(
        activity=ActivityOut.model_validate(change.activity),
        follow_up=ActivityOut.model_validate(change.follow_up) if change.follow_up else None,
        deal=DealNextStepOut(id=deal.deal_id, next_step=deal.next_step, next_step_due_date=deal.due)
        if deal
        else None,
    )


def _list_item(view: ActivityView, activity: Activity) -> ActivityListItem:
    at = queries.view_key(view, activity)
    return ActivityListItem(
        **ActivityOut.model_validate(activity).model_dump(),
        day=service.utc_day(at) if at is not None else None,
    )


@router.get("")
@replica_route
async def list_activities(
    ctx: CtxDep,
    view: ActivityView = ActivityView.PLANNER,
    owner: OwnerFilter = None,
    page: ViewPage = Depends(view_page),
) -> Page[ActivityListItem]:
    """A view of the organization's activities (see docs/api.md): `planner` (planned,
    due from today on, soonest first, each item with its UTC `day`), `today`,
    `overdue` (oldest first), `done` (newest first)."""
    owner_id = None
    if owner == "me":
        owner_id = ctx.require_principal().user_id
    elif owner is not None:
        try:
            owner_id = uuid.UUID(owner)
        except ValueError as exc:
            raise ValidationFailed(errors=[FieldError("owner", "is not `me` or an id")]) from exc
    rows = await queries.list_view(ctx.session, view, page, owner_id, datetime.now(UTC))
    return Page(
        items=[_list_item(view, row) for row in rows[: page.limit]],
        next_cursor=queries.view_next_cursor(view, rows, page),
    )


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_activity(data: ActivityIn, ctx: CtxDep) -> ActivityOut:
    """Plan a call, email, meeting or task (`due_at` required), or log a note."""
    return ActivityOut.model_validate(await service.create_activity(ctx, data))


@router.get("/{activity_id}")
async def get_activity(activity_id: uuid.UUID, ctx: CtxDep) -> ActivityOut:
    return ActivityOut.model_validate(await service.get_activity(ctx, activity_id))


@router.patch("/{activity_id}")
async def update_activity(
    activity_id: uuid.UUID, data: ActivityPatch, ctx: CtxDep, if_match: IfMatchDep
) -> ActivityOut:
    """Edit planned work; send the version (If-Match or body)."""
    version = expected_version(if_match, data.version)
    return ActivityOut.model_validate(
        await service.update_activity(ctx, activity_id, data, version)
    )


@router.post("/{activity_id}/complete")
async def complete_activity(
    activity_id: uuid.UUID, data: CompleteIn, ctx: CtxDep, if_match: IfMatchDep
) -> ActivityChangeOut:
    """Mark done, plan the follow-up `next`, keep the open deal's next step: one transaction."""
    version = expected_version(if_match, data.version)
    return _change_out(await service.complete_activity(ctx, activity_id, data, version))


@router.post("/{activity_id}/cancel")
async def cancel_activity(
    activity_id: uuid.UUID, ctx: CtxDep, if_match: IfMatchDep, data: CancelIn | None = None
) -> ActivityChangeOut:
    """Call planned work off; an open deal's last planned activity cannot be (422)."""
    version = expected_version(if_match, data.version if data else None)
    return _change_out(await service.cancel_activity(ctx, activity_id, version))
