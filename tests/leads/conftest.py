"""Lead fixtures: an organization with every role, helpers to drive the journey."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest

from tests.factories import Member, add_member, register_tenant, unique


@dataclass
class Org:
    admin: Member
    manager: Member
    marketing: Member
    sales: Member
    other_sales: Member
    viewer: Member

    async def create(
        self, client: httpx.AsyncClient, member: Member | None = None, **extra: Any
    ) -> dict[str, Any]:
        body = {
            "company_name": unique("Acme"),
            "contact_name": "Grace Hopper",
            "email": f"{unique('grace')}@example.com",
            "need": "Pallet storage, 40 pallets from March",
            **extra,
        }
        response = await client.post(
            "/api/v1/leads", headers=(member or self.marketing).headers, json=body
        )
        assert response.status_code == 201, response.text
        lead: dict[str, Any] = response.json()
        return lead

    async def triage(
        self,
        client: httpx.AsyncClient,
        lead: dict[str, Any],
        status: str,
        member: Member | None = None,
        **extra: Any,
    ) -> httpx.Response:
        return await client.post(
            f"/api/v1/leads/{lead['id']}/triage",
            headers=(member or self.marketing).headers,
            json={"status": status, "version": lead["version"], **extra},
        )

    async def walk(
        self, client: httpx.AsyncClient, lead: dict[str, Any], *statuses: str
    ) -> dict[str, Any]:
        for status in statuses:
            response = await self.triage(client, lead, status)
            assert response.status_code == 200, response.text
            lead = response.json()
        return lead

    async def pooled(self, client: httpx.AsyncClient, **extra: Any) -> dict[str, Any]:
        """A lead qualified and handed over: in the pool."""
        lead = await self.create(client, **extra)
        return await self.walk(client, lead, "in_review", "qualified")

    async def action(
        self,
        client: httpx.AsyncClient,
        lead: dict[str, Any] | str,
        name: str,
        member: Member | None = None,
        json: dict[str, Any] | None = None,
    ) -> httpx.Response:
        lead_id = lead if isinstance(lead, str) else lead["id"]
        return await client.post(
            f"/api/v1/leads/{lead_id}/{name}",
            headers=(member or self.sales).headers,
            json=json,
        )

    async def get(
        self, client: httpx.AsyncClient, lead: dict[str, Any], member: Member | None = None
    ) -> httpx.Response:
        return await client.get(
            f"/api/v1/leads/{lead['id']}", headers=(member or self.admin).headers
        )


async def make_org(client: httpx.AsyncClient) -> Org:
    """A new organization with a member of every role (two salespeople)."""
    admin = await register_tenant(client)
    return Org(
        admin=admin,
        manager=await add_member(client, admin, "manager"),
        marketing=await add_member(client, admin, "marketing"),
        sales=await add_member(client, admin, "sales"),
        other_sales=await add_member(client, admin, "sales"),
        viewer=await add_member(client, admin, "viewer"),
    )


@pytest.fixture
async def org(client: httpx.AsyncClient) -> Org:
    return await make_org(client)


@pytest.fixture
async def other_org(client: httpx.AsyncClient) -> Org:
    """A second organization, whose records the first's work must never touch."""
    return await make_org(client)


async def counts(owner_conn: asyncpg.Connection, tenant_id: uuid.UUID) -> dict[str, int]:
    """Rows of the tenant the journey writes (live cadence enrolments among them)."""
    row = await owner_conn.fetchrow(
        "SELECT (SELECT count(*) FROM deals WHERE tenant_id = $1 AND deleted_at IS NULL) AS deals,"
        " (SELECT count(*) FROM accounts WHERE tenant_id = $1 AND deleted_at IS NULL)"
        " AS accounts,"
        " (SELECT count(*) FROM activities WHERE tenant_id = $1 AND type <> 'system'"
        "  AND deleted_at IS NULL) AS activities,"
        " (SELECT count(*) FROM lead_pool WHERE tenant_id = $1) AS pool,"
        " (SELECT count(*) FROM cadence_enrollments WHERE tenant_id = $1"
        "  AND status IN ('active', 'paused')) AS enrollments",
        tenant_id,
    )
    assert row is not None
    return dict(row)
