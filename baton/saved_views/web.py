"""Saved views on the list pages: the tabs above a list, and the forms that save and
delete a view. A tab is a plain link to the list with the view's filters in its URL.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import Response

from baton.core.auth import CtxDep
from baton.core.context import Ctx
from baton.core.errors import DomainError
from baton.core.schemas import parse_input
from baton.saved_views import service
from baton.saved_views.lists import LISTS
from baton.saved_views.models import ListKind
from baton.saved_views.schemas import ViewIn
from baton.workflow.web import checked, form_error, redirect, text, version_of

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class ViewTab:
    id: uuid.UUID | None
    name: str
    url: str
    shared: bool
    mine: bool
    active: bool
    version: int


@dataclass(frozen=True)
class ViewTabs:
    """What a list page shows above the list: its tabs (the list unfiltered first),
    and the current filters as the save form sends them."""

    kind: ListKind
    tabs: list[ViewTab]
    # The current query string: what "Save view" keeps.
    query: str

    @property
    def active(self) -> ViewTab | None:
        return next((tab for tab in self.tabs if tab.active), None)


async def view_tabs(ctx: Ctx, kind: ListKind, current: dict[str, str]) -> ViewTabs:
    """The tabs of a list page whose filters are `current` (empty values left out):
    a view's tab is active when its query is exactly those filters (one query)."""
    principal = ctx.require_principal()
    savable = LISTS[kind]
    tabs = [ViewTab(None, "All", savable.path, False, False, not current, 0)]
    for view in await service.list_views(ctx, kind):
        tabs.append(
            ViewTab(
                view.id,
                view.name,
                savable.link(view.query),
                view.shared,
                view.owner_id == principal.user_id,
                view.query == current,
                view.version,
            )
        )
    return ViewTabs(kind, tabs, savable.link(current).partition("?")[2])


@router.post("/views")
async def save_view(request: Request, ctx: CtxDep) -> Response:
    """The list's current filters saved by name; then the list under its new tab."""
    form = await request.form()
    try:
        data = parse_input(
            ViewIn,
            {
                "list": text(form, "list"),
                "name": text(form, "name"),
                "query": dict(parse_qsl(text(form, "query"))),
                "shared": checked(form, "shared"),
            },
        )
        view = await service.create_view(ctx, data)
    except DomainError as error:
        return form_error(request, error)
    return redirect(request, LISTS[data.list].link(view.query))


@router.post("/views/{view_id}/delete")
async def delete_view(view_id: uuid.UUID, request: Request, ctx: CtxDep) -> Response:
    form = await request.form()
    kind = text(form, "list")
    try:
        await service.delete_view(ctx, view_id, version_of(form))
    except DomainError as error:
        return form_error(request, error)
    # Back to the list the view was of, unfiltered (the form says which).
    known = kind in {member.value for member in ListKind}
    return redirect(request, LISTS[ListKind(kind)].path if known else "/")
