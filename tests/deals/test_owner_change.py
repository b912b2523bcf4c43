"""A deal handed to another owner (issue 14, part 11): the new owner must be able to
own; the previous owner's planned work on it follows unless told not to; work others
own stays theirs; done work keeps its owner."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx

from tests.deals.conftest import Org
from tests.factories import add_member, unique
from tests.web.test_workflow_pages import HTMX, _sign_in


async def _owners(owner_conn: asyncpg.Connection, deal_id: str) -> dict[str, Any]:
    rows = await owner_conn.fetch(
        "SELECT subject, owner_id, status FROM activities WHERE deal_id = $1 AND type <> 'system'",
        uuid.UUID(deal_id),
    )
    enrolment = await owner_conn.fetchval(
        "SELECT owner_id FROM cadence_enrollments WHERE deal_id = $1", uuid.UUID(deal_id)
    )
    return {"activities": {r["subject"]: r["owner_id"] for r in rows}, "enrolment": enrolment}


async def _deal_with_work(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> dict[str, Any]:
    cadence_id = await owner_conn.fetchval(
        "SELECT id FROM cadences WHERE tenant_id = $1 AND is_default", org.admin.tenant_id
    )
    created = await client.post(
        "/api/v1/deals",
        headers=org.sales.headers,
        json={
            "name": unique("Handover"),
            "account_id": str(org.account_id),
            "cadence_id": str(cadence_id),
        },
    )
    assert created.status_code == 201, created.text
    deal: dict[str, Any] = created.json()
    # A colleague's own call on the deal, which must stay theirs.
    helper = await add_member(client, org.admin, "sales")
    theirs = await client.post(
        "/api/v1/activities",
        headers=helper.headers,
        json={
            "type": "call",
            "subject": "Colleague's call",
            "due_at": "2031-01-01T10:00:00Z",
            "deal_id": deal["id"],
        },
    )
    assert theirs.status_code == 201, theirs.text
    deal["helper"] = helper
    return deal


async def test_a_new_owner_takes_the_previous_owners_planned_work(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    deal = await _deal_with_work(client, org, owner_conn)
    new_owner = await add_member(client, org.admin, "manager")
    changed = await client.patch(
        f"/api/v1/deals/{deal['id']}",
        headers=org.sales.headers,
        json={"owner_id": str(new_owner.user_id), "version": deal["version"]},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["owner_id"] == str(new_owner.user_id)
    after = await _owners(owner_conn, deal["id"])
    assert after["enrolment"] == new_owner.user_id
    colleague = after["activities"].pop("Colleague's call")
    assert colleague == deal["helper"].user_id
    assert set(after["activities"].values()) == {new_owner.user_id}


async def test_planned_work_can_stay_with_the_previous_owner(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    deal = await _deal_with_work(client, org, owner_conn)
    before = await _owners(owner_conn, deal["id"])
    new_owner = await add_member(client, org.admin, "sales")
    changed = await client.patch(
        f"/api/v1/deals/{deal['id']}",
        headers=org.sales.headers,
        json={
            "owner_id": str(new_owner.user_id),
            "planned_work_follows": False,
            "version": deal["version"],
        },
    )
    assert changed.status_code == 200, changed.text
    assert await _owners(owner_conn, deal["id"]) == before


async def test_an_owner_who_cannot_own_is_refused_and_nothing_moves(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    deal = await _deal_with_work(client, org, owner_conn)
    before = await _owners(owner_conn, deal["id"])
    viewer = await add_member(client, org.admin, "viewer")
    refused = await client.patch(
        f"/api/v1/deals/{deal['id']}",
        headers=org.sales.headers,
        json={"owner_id": str(viewer.user_id), "version": deal["version"]},
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "owner_id"
    assert await _owners(owner_conn, deal["id"]) == before


async def test_the_deal_page_hands_the_deal_over(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    deal = await _deal_with_work(client, org, owner_conn)
    new_owner = await add_member(client, org.admin, "sales")
    token = await _sign_in(client, org.sales)
    page = await client.get(f"/deals/{deal['id']}")
    assert "Planned activities go to the new owner" in page.text
    assert f'<option value="{new_owner.user_id}">' in page.text
    edited = await client.post(
        f"/deals/{deal['id']}/edit",
        data={
            "version": str(deal["version"]),
            "name": deal["name"],
            "currency": "USD",
            "next_step": deal["next_step"],
            "next_step_due_date": deal["next_step_due_date"],
            "owner_id": str(new_owner.user_id),
            "planned_work_follows": "1",
            "csrf_token": token,
        },
        headers=HTMX,
    )
    assert edited.status_code == 200, edited.text
    after = await _owners(owner_conn, deal["id"])
    assert after["enrolment"] == new_owner.user_id
