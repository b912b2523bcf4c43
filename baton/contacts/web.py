"""The contact page (`/contacts/{id}`): a person at an account — their details
(editable by writers, including a move to another account), their deals and their
activities — with the way back to the account. Any member reads it; another
organization's contact, or a deleted one, is a 404 page.

Handlers parse the form, call one contacts service function and redirect back.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from baton.activities.models import ActivityStatus
from baton.activities.web import can_write
from baton.audit.trail import TrailEntity
from baton.audit.web import changes_context
from baton.contacts import queries, service
from baton.contacts.schemas import ContactPatch
from baton.core.auth import CtxDep
from baton.core.errors import DomainError
from baton.core.schemas import parse_input
from baton.deals.queries import account_choices
from baton.identity.queries import member_names
from baton.web.rendering import render
from baton.workflow.web import form_error, optional, redirect, text, version_of

router = APIRouter(include_in_schema=False)

# How many accounts the "Move to" choice offers, by name.
ACCOUNT_CHOICES = 500


@router.get("/contacts/{contact_id:uuid}")
async def contact_page(request: Request, ctx: CtxDep, contact_id: uuid.UUID) -> Response:
    principal = ctx.require_principal()
    contact = await service.get_contact(ctx, contact_id)
    record = await queries.contact_record(ctx.session, contact)
    planned = sorted(
        (a for a in record.activities if a.status == ActivityStatus.PLANNED.value),
        key=lambda a: (a.due_at is None, a.due_at, a.id),
    )
    done = [a for a in record.activities if a.status != ActivityStatus.PLANNED.value]
    writes = can_write(principal)
    return render(
        request,
        "contacts/detail.html",
        contact=contact,
        record=record,
        activities=planned + done,
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
