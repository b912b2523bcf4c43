"""/api/v1/me/notifications: the caller's own notifications."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, status

from baton.core.auth import CtxDep, get_principal
from baton.core.pagination import PageRequest, next_cursor, page_request
from baton.core.routing import JsonRoute
from baton.core.schemas import Page
from baton.notifications import queries, service
from baton.notifications.schemas import MarkedOut, NotificationOut, UnreadOut

router = APIRouter(
    prefix="/api/v1/me/notifications",
    tags=["notifications"],
    dependencies=[Depends(get_principal)],
    route_class=JsonRoute,
)


@router.get("")
async def list_notifications(
    ctx: CtxDep, unread: bool = False, page: PageRequest = Depends(page_request)
) -> Page[NotificationOut]:
    """Newest first; `unread=true` for the ones not marked read yet."""
    principal = ctx.require_principal()
    rows = await queries.for_user(ctx.session, principal.user_id, page, unread)
    shown = rows[: page.limit]
    return Page(
        items=[NotificationOut.model_validate(row) for row in shown],
        next_cursor=next_cursor(rows, page, shown[-1].id if shown else None),
    )


@router.get("/unread-count")
async def unread_count(ctx: CtxDep) -> UnreadOut:
    """How many of the caller's notifications are unread (what the bell shows),
    counted up to 100."""
    principal = ctx.require_principal()
    return UnreadOut(unread=await queries.unread_count(ctx.session, principal.user_id))


@router.post("/read-all")
async def mark_all_read(ctx: CtxDep) -> MarkedOut:
    """Mark every unread notification of the caller read; answers how many."""
    return MarkedOut(marked=await service.mark_all_read(ctx))


@router.post("/{notification_id}/read", status_code=status.HTTP_204_NO_CONTENT)
async def mark_read(notification_id: uuid.UUID, ctx: CtxDep) -> None:
    await service.mark_read(ctx, notification_id)
