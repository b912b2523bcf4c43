"""Deal fixtures: an organization with a sales member, an account, helpers to drive deals."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from baton.deals import ranks
from tests.factories import Member, add_member, register_tenant, unique

NEXT_WEEK = (datetime.now(UTC).date() + timedelta(days=7)).isoformat()


async def insert_account(
    owner_conn: asyncpg.Connection, member: Member, name: str | None = None
) -> uuid.UUID:
    """An account row straight in the database (the accounts API is another domain)."""
    account_id = uuid.uuid4()
    await owner_conn.execute(
        "INSERT INTO accounts (tenant_id, id, name, owner_id) VALUES ($1, $2, $3, $4)",
        member.tenant_id,
        account_id,
        name or unique("Acme"),
        member.user_id,
    )
    return account_id


async def insert_contact(
    owner_conn: asyncpg.Connection, member: Member, account_id: uuid.UUID
) -> uuid.UUID:
    contact_id = uuid.uuid4()
    await owner_conn.execute(
        "INSERT INTO contacts (tenant_id, id, account_id, first_name) VALUES ($1, $2, $3, 'Grace')",
        member.tenant_id,
        contact_id,
        account_id,
    )
    return contact_id


async def pipeline_steps(owner_conn: asyncpg.Connection, member: Member) -> dict[str, uuid.UUID]:
    rows = await owner_conn.fetch(
        "SELECT s.key, s.id FROM workflow_steps s JOIN workflows w ON w.tenant_id = s.tenant_id"
        " AND w.id = s.workflow_id WHERE s.tenant_id = $1 AND w.name = 'Sales pipeline'",
        member.tenant_id,
    )
    return {r["key"]: r["id"] for r in rows}


async def squeeze(
    owner_conn: asyncpg.Connection, first: dict[str, Any], second: dict[str, Any]
) -> None:
    """Leave no room between two cards, at the top of their column: a drop between
    them rebalances the column."""
    for deal, position in ((first, "0" + "i" * 38), (second, "0" + "i" * 37 + "j")):
        await owner_conn.execute(
            "UPDATE deals SET rank = $2 WHERE id = $1",
            uuid.UUID(deal["id"]),
            ranks.rank_of(position, uuid.UUID(deal["id"])),
        )


@dataclass
class Org:
    admin: Member
    sales: Member
    account_id: uuid.UUID
    steps: dict[str, uuid.UUID]

    async def create(self, client: httpx.AsyncClient, **extra: Any) -> dict[str, Any]:
        body = {
            "name": unique("Deal"),
            "account_id": str(self.account_id),
            "next_step": "Call the buyer",
            "next_step_due_date": NEXT_WEEK,
            **extra,
        }
        response = await client.post("/api/v1/deals", headers=self.sales.headers, json=body)
        assert response.status_code == 201, response.text
        deal: dict[str, Any] = response.json()
        return deal

    async def move(
        self,
        client: httpx.AsyncClient,
        deal: dict[str, Any],
        to: str,
        member: Member | None = None,
        idempotency_key: str | None = None,
        **extra: Any,
    ) -> httpx.Response:
        """POST …/move; with an Idempotency-Key the move runs in one transaction, else
        on the driver's transaction where it can (`baton.core.driver_transaction`)."""
        body = {"to_step_id": str(self.steps[to]), "version": deal["version"], **extra}
        headers = dict((member or self.sales).headers)
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        return await client.post(f"/api/v1/deals/{deal['id']}/move", headers=headers, json=body)

    async def close(
        self,
        client: httpx.AsyncClient,
        deal: dict[str, Any],
        member: Member | None = None,
        **body: Any,
    ) -> httpx.Response:
        return await client.post(
            f"/api/v1/deals/{deal['id']}/close",
            headers=(member or self.sales).headers,
            json={"version": deal["version"], **body},
        )

    async def get(self, client: httpx.AsyncClient, deal: dict[str, Any]) -> dict[str, Any]:
        response = await client.get(f"/api/v1/deals/{deal['id']}", headers=self.sales.headers)
        assert response.status_code == 200, response.text
        current: dict[str, Any] = response.json()
        return current

    async def walk(
        self, client: httpx.AsyncClient, deal: dict[str, Any], *keys: str
    ) -> dict[str, Any]:
        """Move along `keys`, filling in what Proposal needs; the deal afterwards."""
        for key in keys:
            extra: dict[str, Any] = {}
            if key == "proposal":
                extra["fields"] = {"amount": "1000.00", "expected_close_date": NEXT_WEEK}
            response = await self.move(client, deal, key, **extra)
            assert response.status_code == 200, response.text
            deal = response.json()["deal"]
        return deal


@pytest.fixture
async def org(client: httpx.AsyncClient, owner_conn: asyncpg.Connection) -> Org:
    admin = await register_tenant(client)
    sales = await add_member(client, admin, "sales")
    return Org(
        admin=admin,
        sales=sales,
        account_id=await insert_account(owner_conn, admin),
        steps=await pipeline_steps(owner_conn, admin),
    )
