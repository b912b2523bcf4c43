"""Read models for contacts (current tenant only, through RLS)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from baton.contacts.models import Contact
from baton.core.pagination import PageRequest


async def live_contact(session: AsyncSession, contact_id: uuid.UUID) -> Contact | None:
    return await session.scalar(
        select(Contact).where(Contact.id == contact_id, Contact.deleted_at.is_(None))
    )


async def list_contacts(
    session: AsyncSession, page: PageRequest, account_id: uuid.UUID | None
) -> list[Contact]:
    """Live contacts in creation order, `limit + 1` rows, one statement."""
    query = (
        select(Contact)
        .where(Contact.deleted_at.is_(None))
        .order_by(Contact.id)
        .limit(page.limit + 1)
    )
    if account_id is not None:
        query = query.where(Contact.account_id == account_id)
    if page.after is not None:
        query = query.where(Contact.id > page.after)
    return list((await session.scalars(query)).all())
