"""Assignment notifications: a deal made for, or handed to, someone else tells them
once; taking one for oneself, or a change that keeps the owner, tells no one; a lead
assigned from the Sales Inbox tells the salesperson, and assigning it again does not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from tests.deals.conftest import insert_account
from tests.factories import Member, add_member, register_tenant
from tests.leads.conftest import make_org

DUE = (datetime.now(UTC).date() + timedelta(days=7)).isoformat()


async def _assignments(client: httpx.AsyncClient, member: Member) -> list[dict[str, Any]]:
    listed = await client.get("/api/v1/me/notifications", headers=member.headers)
    assert listed.status_code == 200, listed.text
    return [n for n in listed.json()["items"] if n["kind"] == "assignment"]


async def test_a_deal_made_for_or_handed_to_someone_else_tells_them(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    seller = await add_member(client, admin, "sales")
    other = await add_member(client, admin, "sales")
    account_id = await insert_account(owner_conn, admin)
    body = {"account_id": str(account_id), "next_step": "Call", "next_step_due_date": DUE}

    own = await client.post("/api/v1/deals", headers=seller.headers, json={**body, "name": "Mine"})
    assert own.status_code == 201, own.text
    assert await _assignments(client, seller) == []

    given = await client.post(
        "/api/v1/deals",
        headers=admin.headers,
        json={**body, "name": "For Sam", "owner_id": str(seller.user_id)},
    )
    assert given.status_code == 201, given.text
    told = await _assignments(client, seller)
    assert [(n["message"], n["entity_type"], n["record_id"]) for n in told] == [
        ("Ada Admin gave you the deal For Sam", "deal", given.json()["id"])
    ]

    deal = given.json()
    handed = await client.patch(
        f"/api/v1/deals/{deal['id']}",
        headers=admin.headers,
        json={"owner_id": str(other.user_id), "version": deal["version"]},
    )
    assert handed.status_code == 200, handed.text
    assert [n["record_id"] for n in await _assignments(client, other)] == [deal["id"]]
    # A change that keeps the owner tells no one again.
    renamed = await client.patch(
        f"/api/v1/deals/{deal['id']}",
        headers=admin.headers,
        json={
            "name": "Renamed",
            "owner_id": str(other.user_id),
            "version": handed.json()["version"],
        },
    )
    assert renamed.status_code == 200, renamed.text
    assert len(await _assignments(client, other)) == 1
    # Taking it back oneself tells nobody.
    taken = await client.patch(
        f"/api/v1/deals/{deal['id']}",
        headers=admin.headers,
        json={"owner_id": str(admin.user_id), "version": renamed.json()["version"]},
    )
    assert taken.status_code == 200, taken.text
    assert await _assignments(client, admin) == []
    # A refused hand-over (stale version) tells no one.
    stale = await client.patch(
        f"/api/v1/deals/{deal['id']}",
        headers=admin.headers,
        json={"owner_id": str(seller.user_id), "version": deal["version"]},
    )
    assert stale.status_code == 409
    assert len(await _assignments(client, seller)) == 1


async def test_a_lead_assigned_from_the_pool_tells_the_salesperson_once(
    client: httpx.AsyncClient,
) -> None:
    org = await make_org(client)
    lead = await org.pooled(client)
    for _ in range(2):
        assigned = await client.post(
            f"/api/v1/leads/{lead['id']}/assign",
            headers=org.manager.headers,
            json={"user_id": str(org.sales.user_id)},
        )
        assert assigned.status_code == 200, assigned.text
    told = await _assignments(client, org.sales)
    assert [(n["entity_type"], n["record_id"]) for n in told] == [("lead", lead["id"])]
    assert str(lead["company_name"]) in told[0]["message"]
    # The manager who assigned it hears nothing.
    assert await _assignments(client, org.manager) == []
