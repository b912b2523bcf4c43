"""Read models for contacts (current tenant only, through RLS)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import false, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from baton.accounts.models import Account
from baton.activities.models import Activity
from baton.contacts.models import Contact
from baton.core.pagination import PageRequest
from baton.db import search
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
    session: AsyncSession, page: PageRequest, account_id: uuid.UUID | None, q: str | None = None
) -> list[tuple[Contact, int | None]]:
    """Live contacts, `limit + 1` rows, one statement; each with its search rank (None
    without `q`).

    Without `q`: creation order, cursor on the id. With `q`: the contacts whose name,
    email, title or phone hold every word of `q` as the start of a word (or whose phone
    ends with the digits of a phone-number `q`), best first — the full name starting
    with `q`, then every word in the name, then the rest — by creation order within a
    rank (`baton.db.search`). A `q` without letters or digits matches nothing (and
    sends no statement).
    """
    if q is not None:
        search.position(page)  # a plain list's cursor is 422, words or not
        if not search.parse(q).words:
            return []
    query = list_statement(page, account_id, q)
    if q is None:
        return [(contact, None) for contact in (await session.scalars(query)).all()]
    return [(contact, found) for contact, found in (await session.execute(query)).all()]


def list_statement(
    page: PageRequest | None, account_id: uuid.UUID | None, q: str | None = None
) -> Any:
    """The statement of `list_contacts` (the contact, and its rank with `q`); `page`
    None is the whole list, every row its filters select in its order (an export
    reads it: `baton.exports.statements`)."""
    limit = None if page is None else page.limit + 1
    query: Any = select(Contact).where(Contact.deleted_at.is_(None)).limit(limit)
    if account_id is not None:
        query = query.where(Contact.account_id == account_id)
    if q is None:
        query = query.order_by(Contact.id)
        if page is not None and page.after is not None:
            query = query.where(Contact.id > page.after)
        return query
    start = None if page is None else search.position(page)
    wanted = search.parse(q)
    if not wanted.words:
        return query.add_columns(literal(None).label("rank")).where(false())
    if account_id is None:
        # No other filter: the page is cut on the search's answer first.
        chosen = search.first_rows("contacts", wanted, start, limit)
        return (
            query.add_columns(chosen.c.search_rank)
            .join(chosen, chosen.c.id == Contact.id)
            .order_by(chosen.c.search_rank, Contact.id)
        )
    found = search.found("contacts", wanted)
    return (
        query.add_columns(found.c.rank)
        .join(found, found.c.id == Contact.id)
        .where(search.after(found.c.rank, Contact.id, start))
        .order_by(found.c.rank, Contact.id)
    )
