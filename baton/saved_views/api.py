"""/api/v1/views: saved views of the lists (their filters and sort, by name)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, status

from baton.core.auth import CtxDep, IfMatchDep, VersionQuery, get_principal
from baton.core.routing import JsonRoute
from baton.core.versioning import expected_version
from baton.saved_views import service
from baton.saved_views.lists import LISTS
from baton.saved_views.models import ListKind, SavedView
from baton.saved_views.schemas import ViewIn, ViewOut, ViewPatch

router = APIRouter(
    prefix="/api/v1/views",
    tags=["views"],
    dependencies=[Depends(get_principal)],
    route_class=JsonRoute,
)


def view_out(view: SavedView) -> ViewOut:
    kind = ListKind(view.list_kind)
    return ViewOut(
        id=view.id,
        list=kind,
        name=view.name,
        query=view.query,
        shared=view.shared,
        owner_id=view.owner_id,
        url=LISTS[kind].link(view.query),
        created_at=view.created_at,
        updated_at=view.updated_at,
        version=view.version,
    )


@router.get("")
async def list_views(ctx: CtxDep, list: ListKind | None = None) -> list[ViewOut]:
    """Your views and the organization's shared ones (of one `list`, or all), by list
    and name."""
    return [view_out(view) for view in await service.list_views(ctx, list)]


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_view(data: ViewIn, ctx: CtxDep) -> ViewOut:
    """Save a list's filters and sort under a name (unique among your views of that
    list: 409); `query` holds only that list's parameters (422 naming the parameter);
    `shared`: every member of the organization sees it."""
    return view_out(await service.create_view(ctx, data))


@router.patch("/{view_id}")
async def update_view(
    view_id: uuid.UUID, data: ViewPatch, ctx: CtxDep, if_match: IfMatchDep
) -> ViewOut:
    """Change your own view; send the version (If-Match or body). Another member's
    private view is 404, their shared one 403."""
    version = expected_version(if_match, data.version)
    return view_out(await service.update_view(ctx, view_id, data, version))


@router.delete("/{view_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_view(
    view_id: uuid.UUID, ctx: CtxDep, if_match: IfMatchDep, version: VersionQuery = None
) -> None:
    """Delete your own view; send the version. Its `url` keeps filtering the list."""
    await service.delete_view(ctx, view_id, expected_version(if_match, version))
