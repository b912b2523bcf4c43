"""Saved views: the rules for keeping a list's filters by name.

Any member saves views of the lists they read. A private view is its owner's alone:
to anyone else it does not exist (404, as another organization's). A shared view is
read by every member of the organization; only its owner changes or deletes it.
The database holds the same rule (RLS on `saved_views`, revision c5e8a1f3d7b9); the
checks here give the friendly answers first.
A view's query is checked against its list's filters (`lists.checked_query`).
"""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, or_, select

from baton.core.context import Ctx
from baton.core.errors import Conflict, NotFound, PermissionDenied
from baton.core.versioning import check_version
from baton.saved_views.lists import checked_query
from baton.saved_views.models import ListKind, SavedView
from baton.saved_views.schemas import ViewIn, ViewPatch


def _visible(user_id: uuid.UUID) -> ColumnElement[bool]:
    return or_(SavedView.owner_id == user_id, SavedView.shared.is_(True))


async def list_views(ctx: Ctx, kind: ListKind | None) -> list[SavedView]:
    """The views the caller sees (theirs, and the organization's shared ones), of one
    list or of all, by list then name (one query)."""
    principal = ctx.require_principal()
    query = (
        select(SavedView)
        .where(_visible(principal.user_id))
        .order_by(SavedView.list_kind, SavedView.name, SavedView.id)
    )
    if kind is not None:
        query = query.where(SavedView.list_kind == kind.value)
    return list((await ctx.session.scalars(query)).all())


async def _named_taken(ctx: Ctx, kind: str, name: str, other_than: uuid.UUID | None) -> None:
    principal = ctx.require_principal()
    query = select(SavedView.id).where(
        SavedView.owner_id == principal.user_id,
        SavedView.list_kind == kind,
        SavedView.name == name,
    )
    if other_than is not None:
        query = query.where(SavedView.id != other_than)
    if await ctx.session.scalar(query) is not None:
        raise Conflict(f"You already have a view of this list named “{name}”")


async def create_view(ctx: Ctx, data: ViewIn) -> SavedView:
    """Save the caller's view of a list: its name unique among their views of that
    list (409), its query made of that list's filters (422 naming the parameter)."""
    principal = ctx.require_principal()
    query = checked_query(data.list, data.query)
    await _named_taken(ctx, data.list.value, data.name, None)
    view = SavedView(
        tenant_id=principal.tenant_id,
        owner_id=principal.user_id,
        list_kind=data.list.value,
        name=data.name,
        query=query,
        shared=data.shared,
    )
    ctx.session.add(view)
    await ctx.session.flush()
    return view


async def _own_view(ctx: Ctx, view_id: uuid.UUID) -> SavedView:
    """The view, locked, if the caller sees it (404 otherwise) and owns it (403).

    Read first, then locked: the database lets only the owner lock a view (its
    UPDATE policy), so a locking read alone would answer 404 for another member's
    shared view, which the caller does see."""
    principal = ctx.require_principal()
    view = await ctx.session.scalar(
        select(SavedView).where(SavedView.id == view_id, _visible(principal.user_id))
    )
    if view is None:
        raise NotFound("No such view")
    if view.owner_id != principal.user_id:
        raise PermissionDenied("Only the member who saved this view may change it")
    await ctx.session.refresh(view, with_for_update=True)
    return view


async def update_view(
    ctx: Ctx, view_id: uuid.UUID, data: ViewPatch, expected: int | None
) -> SavedView:
    """Rename, re-filter or (un)share the caller's own view; the version must be
    current (409; 422 when none was sent)."""
    view = await _own_view(ctx, view_id)
    check_version(view.version, expected, "view")
    if data.name is not None and data.name != view.name:
        await _named_taken(ctx, view.list_kind, data.name, view.id)
        view.name = data.name
    if data.query is not None:
        view.query = checked_query(ListKind(view.list_kind), data.query)
    if data.shared is not None:
        view.shared = data.shared
    await ctx.session.flush()
    return view


async def delete_view(ctx: Ctx, view_id: uuid.UUID, expected: int | None) -> None:
    """Delete the caller's own view (version as for an update). Its link keeps
    filtering: the filters live in the URL, not in the view."""
    view = await _own_view(ctx, view_id)
    check_version(view.version, expected, "view")
    await ctx.session.delete(view)
    await ctx.session.flush()
