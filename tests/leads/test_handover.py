"""Hand-over quality: reject, release, assign, convert, and the sales closure."""

from __future__ import annotations

import asyncpg
import httpx

from tests.leads.conftest import Org, counts


async def test_sales_rejects_a_pooled_lead_back_to_the_inbox(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    lead = await org.pooled(client)
    missing = await org.action(client, lead, "reject", json={"reason": "made_up"})
    assert missing.status_code == 422, missing.text
    other = await org.action(client, lead, "reject", json={"reason": "other"})
    assert other.status_code == 422, other.text
    response = await org.action(
        client, lead, "reject", json={"reason": "invalid_contact", "notes": "Number is dead"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["view"], body["step"]["key"]) == ("inbox", "in_review")
    assert body["reject_reason"] == "invalid_contact"
    # The rest of sales no longer sees it (its rejecter still may: `rejected_by`);
    # marketing finds it in the inbox with the reason.
    assert (await org.get(client, lead, org.other_sales)).status_code == 404
    assert (await org.get(client, lead, org.sales)).json()["view"] == "inbox"
    inbox = await client.get(
        "/api/v1/leads", params={"view": "inbox"}, headers=org.marketing.headers
    )
    [shown] = [item for item in inbox.json()["items"] if item["id"] == lead["id"]]
    assert shown["reject_reason"] == "invalid_contact"
    assert shown["reject_notes"] == "Number is dead"
    assert shown["rejected_at"] is not None
    assert shown["version"] == body["version"]
    assert (await counts(owner_conn, org.admin.tenant_id))["pool"] == 0
    # Marketing can fix it and qualify it again.
    again = await org.triage(client, shown, "qualified")
    assert again.status_code == 200, again.text
    assert again.json()["view"] == "pool"


async def test_a_claimed_lead_cannot_be_rejected(client: httpx.AsyncClient, org: Org) -> None:
    lead = await org.pooled(client)
    assert (await org.action(client, lead, "claim")).status_code == 200
    for member in (org.sales, org.other_sales):
        response = await org.action(client, lead, "reject", member, json={"reason": "no_fit"})
        assert response.status_code == 409, response.text
    assert (
        await org.action(client, lead, "reject", org.marketing, json={"reason": "no_fit"})
    ).status_code == 403


async def test_release_puts_an_unworked_lead_back_in_the_pool(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    lead = await org.pooled(client)
    claim = (await org.action(client, lead, "claim")).json()
    assert (await org.action(client, lead, "release", org.other_sales)).status_code == 404
    response = await org.action(client, lead, "release")
    assert response.status_code == 200, response.text
    released = response.json()
    assert (released["view"], released["step"]["key"]) == ("pool", "handed_over")
    assert released["sales_owner_id"] is None
    assert released["deal_id"] is None
    assert released["claim_due_at"] is not None
    # The deal is soft-deleted with its planned work, its cadence enrolment stopped;
    # the account stays.
    assert (
        await client.get(f"/api/v1/deals/{claim['deal']['id']}", headers=org.sales.headers)
    ).status_code == 404
    assert await counts(owner_conn, org.admin.tenant_id) == {
        "deals": 0,
        "accounts": 1,
        "activities": 0,
        "pool": 1,
        "enrollments": 0,
    }
    enrollment = await owner_conn.fetchrow(
        "SELECT status, stopped_at FROM cadence_enrollments WHERE deal_id = $1::uuid",
        claim["deal"]["id"],
    )
    assert enrollment is not None
    assert enrollment["status"] == "stopped"
    assert enrollment["stopped_at"] is not None
    # A colleague claims it: a new deal on the same account.
    second = await org.action(client, lead, "claim", org.other_sales)
    assert second.status_code == 200, second.text
    assert second.json()["account"]["id"] == claim["account"]["id"]
    assert second.json()["deal"]["id"] != claim["deal"]["id"]


async def test_a_worked_lead_cannot_be_released(client: httpx.AsyncClient, org: Org) -> None:
    lead = await org.pooled(client)
    claim = (await org.action(client, lead, "claim")).json()
    activity = claim["activities"][0]
    done = await client.post(
        f"/api/v1/activities/{activity['id']}/complete",
        headers=org.sales.headers,
        json={
            "outcome": "Reached them",
            "version": activity["version"],
            "next": {"type": "call", "subject": "Follow up", "due_at": "2099-01-01T10:00:00Z"},
        },
    )
    assert done.status_code == 200, done.text
    response = await org.action(client, lead, "release")
    assert response.status_code == 409, response.text
    assert (await org.get(client, lead, org.sales)).json()["view"] == "mine"


async def test_managers_assign_a_pooled_lead_to_a_salesperson(
    client: httpx.AsyncClient, org: Org
) -> None:
    lead = await org.pooled(client)
    body = {"user_id": str(org.other_sales.user_id)}
    assert (await org.action(client, lead, "assign", org.sales, json=body)).status_code == 403
    not_a_seller = {"user_id": str(org.marketing.user_id)}
    refused = await org.action(client, lead, "assign", org.manager, json=not_a_seller)
    assert refused.status_code == 422, refused.text
    response = await org.action(client, lead, "assign", org.manager, json=body)
    assert response.status_code == 200, response.text
    assigned = response.json()
    assert assigned["lead"]["sales_owner_id"] == str(org.other_sales.user_id)
    assert assigned["deal"]["owner_id"] == str(org.other_sales.user_id)
    assert assigned["activities"][0]["owner_id"] == str(org.other_sales.user_id)
    # Idempotent for the same salesperson; the claim of anyone else is 409.
    again = await org.action(client, lead, "assign", org.admin, json=body)
    assert again.status_code == 200
    assert again.json()["deal"]["id"] == assigned["deal"]["id"]
    assert (await org.action(client, lead, "claim", org.sales)).status_code == 409
    mine = await client.get(
        "/api/v1/leads", params={"view": "mine"}, headers=org.other_sales.headers
    )
    assert [item["id"] for item in mine.json()["items"]] == [lead["id"]]


async def test_convert_is_idempotent_and_reports_the_claims_deal(
    client: httpx.AsyncClient, org: Org
) -> None:
    lead = await org.pooled(client)
    assert (await org.action(client, lead, "convert")).status_code == 409
    claim = (await org.action(client, lead, "claim")).json()
    assert (await org.action(client, lead, "convert", org.other_sales)).status_code == 404
    response = await org.action(client, lead, "convert")
    assert response.status_code == 200, response.text
    converted = response.json()
    assert (converted["lead"]["view"], converted["lead"]["step"]["key"]) == (
        "converted",
        "converted",
    )
    assert converted["lead"]["converted_at"] is not None
    assert converted["deal"]["id"] == claim["deal"]["id"]
    assert converted["account"]["id"] == claim["account"]["id"]
    again = await org.action(client, lead, "convert")
    assert again.status_code == 200
    assert again.json()["deal"]["id"] == claim["deal"]["id"]
    archive = await client.get(
        "/api/v1/leads", params={"view": "converted"}, headers=org.manager.headers
    )
    assert [item["id"] for item in archive.json()["items"]] == [lead["id"]]


async def test_the_claimer_disqualifies_and_the_deal_closes_lost(
    client: httpx.AsyncClient, org: Org
) -> None:
    lead = await org.pooled(client)
    claim = (await org.action(client, lead, "claim")).json()
    current = claim["lead"]
    by_marketing = await org.triage(client, current, "disqualified", org.marketing, reason="no_fit")
    assert by_marketing.status_code == 404  # marketing never sees a claimed lead
    response = await org.triage(client, current, "disqualified", org.sales, reason="no_budget")
    assert response.status_code == 200, response.text
    closed = response.json()
    assert closed["view"] == "disqualified"
    assert closed["disqualify_reason"] == "no_budget"
    deal = (
        await client.get(f"/api/v1/deals/{claim['deal']['id']}", headers=org.sales.headers)
    ).json()
    assert (deal["outcome"], deal["loss_reason"]) == ("lost", "no_budget")

    # A lead reason that is no deal loss reason closes the deal as `other`, said why.
    lead = await org.pooled(client)
    claim = (await org.action(client, lead, "claim", org.other_sales)).json()
    response = await org.triage(
        client, claim["lead"], "disqualified", org.other_sales, reason="duplicate"
    )
    assert response.status_code == 200, response.text
    deal = (
        await client.get(f"/api/v1/deals/{claim['deal']['id']}", headers=org.sales.headers)
    ).json()
    assert (deal["outcome"], deal["loss_reason"]) == ("lost", "other")
    assert "duplicate" in deal["close_notes"]


async def test_another_salesperson_cannot_close_my_lead(
    client: httpx.AsyncClient, org: Org
) -> None:
    lead = await org.pooled(client)
    claim = (await org.action(client, lead, "claim")).json()
    response = await org.triage(
        client, claim["lead"], "disqualified", org.other_sales, reason="no_fit"
    )
    assert response.status_code == 404
    by_manager = await org.triage(
        client, claim["lead"], "disqualified", org.manager, reason="no_fit"
    )
    assert by_manager.status_code == 200, by_manager.text
