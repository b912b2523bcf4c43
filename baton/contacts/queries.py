"""Read models for contacts (current tenant only, through RLS)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from baton.accounts.models import Account
from baton.activities.models import Activity
from baton.contacts.models import Contact
from baton.core.pagination import PageRequest
from baton.deals.models import Deal
from baton.workflow.models import WorkflowStep

# What a contact's page lists at most of its deals and of its activities.
PAGE_DEALS = 100
PAGE_ACTIVITIES = 200


@dataclass(frozen=True)
class ContactDeal:
    id: uuid.UUID
    name: str
    step_name: str
    amount: Decimal | None
    currency: str
    outcome: str | None
    owner_id: uuid.UUID


@dataclass(frozen=True)
class ContactRecord:
    """A contact's page: the contact, its account's name, its live deals (open first,
    newest first) and its activities (newest first)."""

    contact: Contact
    account_name: str
    deals: list[ContactDeal]
    activities: Sequence[Activity]


async def contact_record(session: AsyncSession, contact: Contact) -> ContactRecord:
    """What a contact's page shows besides the contact, in three statements."""
    account_name = await session.scalar(
        select(Account.name).where(Account.id == contact.account_id)
    )
    deals = await session.execute(
        select(
            Deal.id,
            Deal.name,
            WorkflowStep.name,
            Deal.amount,
            Deal.currency,
            Deal.outcome,
            Deal.owner_id,
        )
        .join(
            WorkflowStep,
            (WorkflowStep.tenant_id == Deal.tenant_id) & (WorkflowStep.id == Deal.step_id),
        )
        .where(Deal.contact_id == contact.id, Deal.deleted_at.is_(None))
        .order_by(Deal.outcome.is_not(None), Deal.id.desc())
        .limit(PAGE_DEALS)
    )
    activities = await session.scalars(
        select(Activity)
        .where(Activity.contact_id == contact.id, Activity.deleted_at.is_(None))
        .order_by(Activity.created_at.desc(), Activity.id.desc())
        .limit(PAGE_ACTIVITIES)
    )
    return ContactRecord(
        contact,
        account_name or "",
        [ContactDeal(*row) for row in deals.all()],
        activities.all(),
    )


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
