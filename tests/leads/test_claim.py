"""The claim: one atomic, idempotent action; one winner among concurrent claimers;
find-or-create of the account; nothing changes when a step of it fails."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest

from baton.accounts import service as account_service
from baton.deals import service as deal_service
from baton.leads import service as lead_service
from tests.factories import add_member, unique
from tests.leads.conftest import Org, counts


async def test_a_claim_opens_account_deal_and_first_activity(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    lead = await org.pooled(client, email=f"{unique('ceo')}@{unique('newco')}.io")
    response = await org.action(client, lead, "claim")
    assert response.status_code == 200, response.text
    body = response.json()
    claimed, deal, account = body["lead"], body["deal"], body["account"]
    assert claimed["view"] == "mine"
    assert claimed["step"]["key"] == "claimed"
    assert claimed["sales_owner_id"] == str(org.sales.user_id)
    assert claimed["claimed_at"] is not None
    assert claimed["claim_due_at"] is None
    assert claimed["deal_id"] == deal["id"]
    assert claimed["account_id"] == account["id"]
    assert deal["owner_id"] == str(org.sales.user_id)
    assert deal["name"] == lead["company_name"]
    assert deal["next_step"] == "First contact"
    today = datetime.now(UTC).date().isoformat()
    assert deal["next_step_due_date"] == today
    assert deal["step"]["key"] == "prospecting"
    assert account["name"] == lead["company_name"]
    assert account["domain"] == lead["email"].split("@")[1]
    [activity] = body["activities"]
    assert activity["subject"] == "First contact"
    assert activity["owner_id"] == str(org.sales.user_id)
    assert activity["status"] == "planned"
    assert activity["due_at"].startswith(today)
    assert await counts(owner_conn, org.admin.tenant_id) == {
        "deals": 1,
        "accounts": 1,
        "activities": 1,
        "pool": 0,
    }
    history = await owner_conn.fetch(
        "SELECT actor_id FROM workflow_history WHERE tenant_id = $1 AND record_id = $2::uuid"
        " ORDER BY at DESC, id DESC LIMIT 1",
        org.admin.tenant_id,
        lead["id"],
    )
    assert history[0]["actor_id"] == org.sales.user_id
    audited = await owner_conn.fetch(
        "SELECT table_name, action FROM audit_log WHERE tenant_id = $1"
        " AND table_name IN ('lead_pool', 'leads', 'deals') AND actor_user_id = $2",
        org.admin.tenant_id,
        org.sales.user_id,
    )
    assert {(r["table_name"], r["action"]) for r in audited} >= {
        ("lead_pool", "delete"),
        ("leads", "update"),
        ("deals", "insert"),
    }
    mine = await client.get("/api/v1/leads", params={"view": "mine"}, headers=org.sales.headers)
    assert [item["id"] for item in mine.json()["items"]] == [lead["id"]]


async def test_32_concurrent_claims_have_one_winner(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    claimers = [org.sales, org.other_sales]
    claimers += await asyncio.gather(*(add_member(client, org.admin, "sales") for _ in range(30)))
    lead = await org.pooled(client)
    responses = await asyncio.gather(
        *(org.action(client, lead, "claim", member) for member in claimers)
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [409] * 31, [r.text for r in responses if r.status_code != 409]
    [won] = [r.json() for r in responses if r.status_code == 200]
    details = {r.json()["detail"] for r in responses if r.status_code == 409}
    assert all("already claimed" in detail for detail in details), details
    assert await counts(owner_conn, org.admin.tenant_id) == {
        "deals": 1,
        "accounts": 1,
        "activities": 1,
        "pool": 0,
    }
    winner = next(m for m in claimers if str(m.user_id) == won["lead"]["sales_owner_id"])
    again = await org.action(client, lead, "claim", winner)
    assert again.status_code == 200, again.text
    assert again.json()["deal"] == won["deal"]
    assert again.json()["account"]["id"] == won["account"]["id"]
    assert [a["id"] for a in again.json()["activities"]] == [a["id"] for a in won["activities"]]
    late = await org.action(client, lead, "claim", next(m for m in claimers if m != winner))
    assert late.status_code == 409, late.text
    assert (await counts(owner_conn, org.admin.tenant_id))["deals"] == 1


async def test_find_or_create_matches_the_domain_first(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    domain = f"{unique('acme')}.com"
    existing = uuid.uuid4()
    await owner_conn.execute(
        "INSERT INTO accounts (tenant_id, id, name, domain, owner_id) VALUES ($1, $2, $3, $4, $5)",
        org.admin.tenant_id,
        existing,
        "Acme Holding (by domain)",
        domain,
        org.admin.user_id,
    )
    lead = await org.pooled(client, company_name="Totally Different GmbH", email=f"x@{domain}")
    body = (await org.action(client, lead, "claim")).json()
    assert body["account"]["id"] == str(existing)
    assert (await counts(owner_conn, org.admin.tenant_id))["accounts"] == 1


async def test_find_or_create_matches_the_normalised_name(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    name = unique("Hopper Logistics")
    existing = uuid.uuid4()
    await owner_conn.execute(
        "INSERT INTO accounts (tenant_id, id, name, owner_id) VALUES ($1, $2, $3, $4)",
        org.admin.tenant_id,
        existing,
        name,
        org.admin.user_id,
    )
    # Another case, punctuation and spacing; a free-mail address says nothing.
    lead = await org.pooled(client, company_name=f"  {name.upper()}!! ", email="boss@gmail.com")
    body = (await org.action(client, lead, "claim")).json()
    assert body["account"]["id"] == str(existing)
    second = await org.pooled(client, company_name=name.lower() + ".", phone="+1 555 0100")
    body = (await org.action(client, second, "claim", org.other_sales)).json()
    assert body["account"]["id"] == str(existing)
    assert (await counts(owner_conn, org.admin.tenant_id))["accounts"] == 1


async def test_leads_of_one_new_company_claimed_at_once_share_one_account(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    domain = f"{unique('newco')}.com"
    company = unique("NewCo")
    leads = [
        await org.pooled(client, company_name=company, email=f"{unique('p')}@{domain}")
        for _ in range(4)
    ] + [await org.pooled(client, company_name=company, email=f"{unique('p')}@gmail.com")]
    sellers = [org.sales, org.other_sales] + [
        await add_member(client, org.admin, "sales") for _ in range(3)
    ]
    responses = await asyncio.gather(
        *(
            org.action(client, lead, "claim", seller)
            for lead, seller in zip(leads, sellers, strict=True)
        )
    )
    assert [r.status_code for r in responses] == [200] * 5, [r.text for r in responses]
    assert len({r.json()["account"]["id"] for r in responses}) == 1
    assert await counts(owner_conn, org.admin.tenant_id) == {
        "deals": 5,
        "accounts": 1,
        "activities": 5,
        "pool": 0,
    }


async def _pool_snapshot(owner_conn: asyncpg.Connection, lead: dict[str, Any]) -> Any:
    return await owner_conn.fetchrow(
        "SELECT l.version, l.view, l.sales_owner_id, l.deal_id, l.account_id, p.id AS pool_id,"
        " p.claim_due_at FROM leads l LEFT JOIN lead_pool p"
        " ON p.tenant_id = l.tenant_id AND p.lead_id = l.id WHERE l.id = $1::uuid",
        lead["id"],
    )


# Each step of a claim, after the pool row was taken: made to fail in turn.
FAULTS = [
    (account_service, "find_or_create_account"),  # the account
    (deal_service, "create_deal"),  # the deal
    (lead_service, "_log"),  # the timeline entry, after the lead moved to Claimed
    (lead_service, "_result"),  # the answer, after every write
]


@pytest.mark.parametrize(("module", "name"), FAULTS, ids=[name for _, name in FAULTS])
async def test_a_fault_at_any_step_leaves_the_lead_in_the_pool(
    client: httpx.AsyncClient,
    org: Org,
    owner_conn: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
    module: Any,
    name: str,
) -> None:
    lead = await org.pooled(client, email=f"x@{unique('faulty')}.com")
    before = await _pool_snapshot(owner_conn, lead)
    counted = await counts(owner_conn, org.admin.tenant_id)

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"injected fault in {name}")

    monkeypatch.setattr(module, name, broken)
    response = await org.action(client, lead, "claim")
    assert response.status_code == 500
    monkeypatch.undo()
    assert await _pool_snapshot(owner_conn, lead) == before
    assert await counts(owner_conn, org.admin.tenant_id) == counted
    # And the next claim works.
    assert (await org.action(client, lead, "claim")).status_code == 200


async def test_a_refused_deal_owner_leaves_the_lead_in_the_pool(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    """Fault through data: the claim's last write (the first activity) is refused by
    the database, long after the pool row was taken: 422 and nothing stays."""
    lead = await org.pooled(client)
    before = await _pool_snapshot(owner_conn, lead)
    seller = await add_member(client, org.admin, "sales")
    # A CHECK that refuses this tenant's "First contact" only (other tests go on).
    await owner_conn.execute(
        "ALTER TABLE activities ADD CONSTRAINT ck_test_no_first_contact"
        " CHECK (subject <> 'First contact' OR tenant_id <> $$"
        + str(org.admin.tenant_id)
        + "$$::uuid) NOT VALID"
    )
    try:
        response = await org.action(
            client, lead, "assign", org.manager, json={"user_id": str(seller.user_id)}
        )
    finally:
        await owner_conn.execute("ALTER TABLE activities DROP CONSTRAINT ck_test_no_first_contact")
    assert response.status_code == 422, response.text
    assert await _pool_snapshot(owner_conn, lead) == before
