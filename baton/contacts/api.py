"""/api/v1/contacts: the people at an account."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, status

from baton.contacts import service
from baton.contacts.schemas import ContactIn, ContactOut, ContactPatch
from baton.core.auth import CtxDep, IfMatchDep, VersionQuery, get_principal
from baton.core.pagination import PageRequest, SearchQuery, next_page, page_request
from baton.core.replica import replica_route
from baton.core.routing import JsonRoute
from baton.core.schemas import Page
from baton.core.versioning import expected_version

router = APIRouter(
    prefix="/api/v1/contacts",
    tags=["contacts"],
    dependencies=[Depends(get_principal)],
    route_class=JsonRoute,
)


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_contact(data: ContactIn, ctx: CtxDep) -> ContactOut:
    return ContactOut.model_validate(await service.create_contact(ctx, data))


@router.get("")
@replica_route
async def list_contacts(
    ctx: CtxDep,
    account_id: uuid.UUID | None = None,
    q: SearchQuery = None,
    page: PageRequest = Depends(page_request),
) -> Page[ContactOut]:
    """Live contacts; `account_id`: only that account's. Without `q`, in creation
    order. `q`: words found anywhere in the name, email, title or phone (each the start
    of a word; case, accents and punctuation ignored; a phone number also by its last
    digits), best matches first (`baton.db.search`); a `q` without letters or digits
    matches nothing."""
    rows = await service.list_contacts(ctx, page, account_id, q)
    return Page(
        items=[ContactOut.model_validate(contact) for contact, _ in rows[: page.limit]],
        next_cursor=next_page(((contact.id, rank) for contact, rank in rows), page),
    )


@router.get("/{contact_id}")
async def get_contact(contact_id: uuid.UUID, ctx: CtxDep) -> ContactOut:
    return ContactOut.model_validate(await service.get_contact(ctx, contact_id))


@router.patch("/{contact_id}")
async def update_contact(
    contact_id: uuid.UUID, data: ContactPatch, ctx: CtxDep, if_match: IfMatchDep
) -> ContactOut:
    """Edit the contact; send the version (If-Match or body). Null clears a field."""
    version = expected_version(if_match, data.version)
    return ContactOut.model_validate(await service.update_contact(ctx, contact_id, data, version))


@router.delete("/{contact_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_contact(
    contact_id: uuid.UUID,
    ctx: CtxDep,
    if_match: IfMatchDep,
    version: VersionQuery = None,
) -> None:
    """Soft delete of this contact alone; send the version (If-Match or `?version=`)."""
    await service.delete_contact(ctx, contact_id, expected_version(if_match, version))


@router.post("/{contact_id}/restore")
async def restore_contact(
    contact_id: uuid.UUID,
    ctx: CtxDep,
    if_match: IfMatchDep,
    version: VersionQuery = None,
) -> ContactOut:
    """Undo the deletion of this contact alone: it comes back with the cadence enrolments
    its deletion took and their planned activities (a contact deleted with its account
    comes back with the account's restore). The version (If-Match or `?version=`) is
    optional."""
    restored = await service.restore_contact(ctx, contact_id, expected_version(if_match, version))
    return ContactOut.model_validate(restored)
