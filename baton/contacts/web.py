"""The contact page (`/contacts/{id}`): a person at an account — their details
(editable by writers, including a move to another account), their deals and their
activities — with the way back to the account. Any member reads it; another
organization's contact, or a deleted one, is a 404 page.

Handlers parse the form, call one contacts service function and redirect back.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from baton.activities.web import can_write, planned_first
from baton.audit.trail import TrailEntity
from baton.audit.web import changes_context
from baton.cadences import queries as cadence_queries
from baton.contacts import queries, service
from baton.contacts.schemas import ContactListFilters, ContactPatch
from baton.core.auth import CtxDep
from baton.core.errors import DomainError
from baton.core.pagination import next_page, page_of
from baton.core.schemas import parse_input
from baton.deals.queries import account_choices, account_names
from baton.identity.queries import member_names
from baton.saved_views.models import ListKind
from baton.saved_views.web import view_tabs
from baton.web.rendering import render
from baton.workflow.web import form_error, is_htmx, optional, redirect, text, version_of

router = APIRouter(include_in_schema=False)

# How many accounts the "Move to" choice offers, by name.
ACCOUNT_CHOICES = 500
PAGE_SIZE = 50
# As the API's `SearchQuery`: bounded (and no NUL, which PostgreSQL text cannot hold).
MAX_QUERY = 200


def _list_filters(request: Request) -> dict[str, str]:
    """The list's filters from its URL, as text; a value the list cannot read (an
    account id that is not one) is left out rather than refusing the page."""
    sent = {
        key: value.replace("\x00", "").strip()[:MAX_QUERY]
        for key, value in request.query_params.items()
        if key in ContactListFilters.model_fields and value.strip()
    }
    kept = {}
    for key, value in sent.items():
        try:
            ContactListFilters.model_validate({key: value})
        except ValidationError:
            continue
        kept[key] = value
    return kept


@router.get("/contacts")
async def contacts_page(
    request: Request, ctx: CtxDep, cursor: str | None = None, part: str | None = None
) -> Response:
    """Every live contact of the organization (any member), searched by words and
    narrowed to one account by its link; writers act on several at once."""
    principal = ctx.require_principal()
    filters = _list_filters(request)
    parsed = ContactListFilters.model_validate(filters)
    page = page_of(PAGE_SIZE, cursor[:64] if cursor else None)
    rows = await service.list_contacts(ctx, page, parsed.account_id, parsed.q)
    shown = [contact for contact, _ in rows[:PAGE_SIZE]]
    following = next_page(((contact.id, rank) for contact, rank in rows), page)
    link = "/contacts" + (f"?{urlencode(sorted(filters.items()))}" if filters else "")
    context: dict[str, Any] = {
        "rows": shown,
        "accounts": await account_names(ctx.session, (c.account_id for c in shown)),
        "filters": filters,
        "more_url": None
        if following is None
        else "/contacts?" + urlencode({**filters, "cursor": following, "part": "rows"}),
        "can_write": can_write(principal),
    }
    htmx = is_htmx(request) and "hx-history-restore-request" not in request.headers
    if htmx and part == "rows":
        # "Load more" appends rows.
        return render(request, "contacts/_rows.html", **context)
    # The results carry the saved views' tabs: the search redraws both.
    context["tabs"] = await view_tabs(ctx, ListKind.CONTACTS, filters)
    if parsed.account_id is not None:
        named = await account_names(ctx.session, [parsed.account_id])
        context["account_name"] = named.get(parsed.account_id, "an account of yours")
    if htmx:
        response = render(request, "contacts/_results.html", **context)
        response.headers["HX-Push-Url"] = link
        return response
    if context["can_write"]:
        context["bulk_cadences"] = await cadence_queries.cadence_choices(ctx.session)
    return render(request, "contacts/list.html", **context)


@router.get("/contacts/{contact_id:uuid}")
async def contact_page(request: Request, ctx: CtxDep, contact_id: uuid.UUID) -> Response:
    principal = ctx.require_principal()
    contact = await service.get_contact(ctx, contact_id)
    record = await queries.contact_record(ctx.session, contact)
    writes = can_write(principal)
    return render(
        request,
        "contacts/detail.html",
        contact=contact,
        record=record,
        activities=planned_first(record.activities),
        names=await member_names(
            ctx.session,
            [*(d.owner_id for d in record.deals), *(a.owner_id for a in record.activities)],
        ),
        can_write=writes,
        now=datetime.now(UTC),
        accounts=await account_choices(ctx.session, ACCOUNT_CHOICES) if writes else [],
        **await changes_context(ctx, TrailEntity.CONTACT, contact_id),
    )


@router.post("/contacts/{contact_id}/edit")
async def contact_edit(request: Request, ctx: CtxDep, contact_id: uuid.UUID) -> Response:
    form = await request.form()
    try:
        data = parse_input(
            ContactPatch,
            {
                "account_id": optional(text(form, "account_id")),
                "first_name": text(form, "first_name"),
                "last_name": optional(text(form, "last_name")),
                "email": optional(text(form, "email")),
                "phone": optional(text(form, "phone")),
                "title": optional(text(form, "title")),
            },
        )
        await service.update_contact(ctx, contact_id, data, version_of(form))
    except DomainError as error:
        return form_error(request, error)
    return redirect(request, f"/contacts/{contact_id}")


@router.post("/contacts/{contact_id}/delete")
async def contact_delete(request: Request, ctx: CtxDep, contact_id: uuid.UUID) -> Response:
    form = await request.form()
    try:
        # Read before the delete, which expires the loaded contact.
        account_id = (await service.get_contact(ctx, contact_id)).account_id
        await service.delete_contact(ctx, contact_id, version_of(form))
    except DomainError as error:
        return form_error(request, error)
    return redirect(request, f"/accounts/{account_id}")
