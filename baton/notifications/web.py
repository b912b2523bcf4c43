"""The Notifications page (`/notifications`) and the bell every page's layout shows.

The bell's count is loaded once per whole page (`unread_for_page`, a
`Runtime.page_loaders` entry: one capped count over the partial unread index) and
drawn by `base.html`; marking read through htmx answers the list with the bell
redrawn out of band, so the count follows without a reload. Following a
notification (`GET /notifications/{id}`) marks it read and goes to its record.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from baton.core.auth import CtxDep
from baton.core.context import Ctx
from baton.core.pagination import PageRequest, encode_cursor, page_of
from baton.notifications import queries, service
from baton.notifications.links import record_path
from baton.web.rendering import render
from baton.workflow.web import is_htmx

router = APIRouter(include_in_schema=False)

PATH = "/notifications"
PAGE_SIZE = 50


async def unread_for_page(ctx: Ctx) -> dict[str, Any]:
    """The bell's count for the layout of a whole page."""
    principal = ctx.require_principal()
    return {"unread_notifications": await queries.unread_count(ctx.session, principal.user_id)}


async def _list(
    request: Request,
    ctx: Ctx,
    template: str,
    *,
    unread_only: bool = False,
    cursor: str | None = None,
    notice: str | None = None,
) -> Response:
    principal = ctx.require_principal()
    page: PageRequest = page_of(PAGE_SIZE, cursor)
    rows = await queries.for_user(ctx.session, principal.user_id, page, unread_only)
    shown = rows[:PAGE_SIZE]
    more = None
    if len(rows) > PAGE_SIZE:
        more = f"{PATH}?cursor={encode_cursor(shown[-1].id)}" + ("&unread=1" if unread_only else "")
    # A whole page counted already, for the layout's bell (`unread_for_page`).
    unread = getattr(request.state, "page_context", {}).get("unread_notifications")
    if unread is None:
        unread = await queries.unread_count(ctx.session, principal.user_id)
    return render(
        request,
        template,
        notifications=[
            (row, record_path(row.kind, row.entity_type, row.record_id)) for row in shown
        ],
        unread_only=unread_only,
        more=more,
        notice=notice,
        unread_notifications=unread,
        # After a mark read through htmx, the layout's bell is drawn again too.
        redraw_bell=is_htmx(request),
    )


@router.get(PATH)
async def notifications_page(
    request: Request, ctx: CtxDep, unread: str = "", cursor: str | None = None
) -> Response:
    return await _list(
        request, ctx, "notifications/list.html", unread_only=unread == "1", cursor=cursor
    )


@router.post(PATH + "/read-all")
async def notifications_read_all(request: Request, ctx: CtxDep) -> Response:
    count = await service.mark_all_read(ctx)
    if not is_htmx(request):
        return RedirectResponse(PATH, status_code=303)
    said = "No unread notifications" if count == 0 else f"{count} marked read"
    return await _list(request, ctx, "notifications/_list.html", notice=said)


@router.post(PATH + "/{notification_id}/read")
async def notifications_read(request: Request, ctx: CtxDep, notification_id: uuid.UUID) -> Response:
    await service.mark_read(ctx, notification_id)
    if not is_htmx(request):
        return RedirectResponse(PATH, status_code=303)
    return await _list(request, ctx, "notifications/_list.html", notice="Marked read")


@router.get(PATH + "/{notification_id}")
async def notifications_open(ctx: CtxDep, notification_id: uuid.UUID) -> Response:
    """Follow a notification: read from now on, and on to its record's page."""
    found = await service.open_notification(ctx, notification_id)
    target = record_path(found.kind, found.entity_type, found.record_id)
    return RedirectResponse(target or PATH, status_code=303)
