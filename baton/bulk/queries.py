"""What the bulk results panel names each row by."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from baton.accounts.models import Account
from baton.bulk.service import BulkEntity
from baton.contacts.models import Contact
from baton.deals.models import Deal
from baton.leads.models import Lead
from baton.targets.models import Target


def _table(model: type) -> Table:
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


async def row_names(
    session: AsyncSession, entity: BulkEntity, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """The name each row shows in its list (deleted rows too: a bulk delete names what
    it deleted), in one statement; ids the caller cannot see are left out (RLS)."""
    if not ids:
        return {}
    if entity is BulkEntity.CONTACTS:
        contacts = _table(Contact)
        rows = await session.execute(
            select(contacts.c.id, contacts.c.first_name, contacts.c.last_name).where(
                contacts.c.id.in_(ids)
            )
        )
        return {r.id: " ".join(p for p in (r.first_name, r.last_name) if p) for r in rows}
    table, column = {
        BulkEntity.DEALS: (_table(Deal), "name"),
        BulkEntity.ACCOUNTS: (_table(Account), "name"),
        BulkEntity.LEADS: (_table(Lead), "company_name"),
        BulkEntity.TARGETS: (_table(Target), "company_name"),
    }[entity]
    named = await session.execute(select(table.c.id, table.c[column]).where(table.c.id.in_(ids)))
    return {row[0]: row[1] for row in named}
