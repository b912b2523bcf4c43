"""The lead queues' bar: marketing triages ticked inbox leads; the pool's assignment is
the supervisors'."""

from __future__ import annotations

import httpx

from tests.leads.conftest import Org, org
from tests.web.test_workflow_pages import HTMX, _sign_in

__all__ = ["org"]


async def test_marketing_triages_ticked_leads_from_the_inbox(
    client: httpx.AsyncClient, org: Org
) -> None:
    fresh = await org.create(client)
    reviewed = await org.walk(client, await org.create(client), "in_review")
    csrf = await _sign_in(client, org.marketing)
    page = await client.get("/leads/inbox")
    assert 'hx-post="/leads/inbox/bulk"' in page.text
    answer = await client.post(
        "/leads/inbox/bulk",
        headers=HTMX,
        data={
            "csrf_token": csrf,
            "action": "move",
            "bulk_status": "in_review",
            "ids": [fresh["id"], reviewed["id"]],
        },
    )
    assert answer.status_code == 200, answer.text
    assert "1 moved, 1 refused" in answer.text
    assert fresh["company_name"] in answer.text
    lead = (await org.get(client, fresh)).json()
    assert lead["step"]["key"] == "in_review"


async def test_the_pool_bar_is_the_supervisors(client: httpx.AsyncClient, org: Org) -> None:
    pooled = await org.pooled(client)
    csrf = await _sign_in(client, org.sales)
    page = await client.get("/leads/pool")
    assert 'id="bulk-form"' not in page.text
    refused = await client.post(
        "/leads/pool/bulk",
        headers=HTMX,
        data={
            "csrf_token": csrf,
            "action": "change_owner",
            "bulk_owner_id": str(org.sales.user_id),
            "ids": [pooled["id"]],
        },
    )
    assert refused.status_code == 403
    csrf = await _sign_in(client, org.manager)
    page = await client.get("/leads/pool")
    assert 'hx-post="/leads/pool/bulk"' in page.text
    assigned = await client.post(
        "/leads/pool/bulk",
        headers=HTMX,
        data={
            "csrf_token": csrf,
            "action": "change_owner",
            "bulk_owner_id": str(org.sales.user_id),
            "ids": [pooled["id"]],
        },
    )
    assert assigned.status_code == 200, assigned.text
    assert "1 updated" in assigned.text
    team = await client.post("/leads/team/bulk", headers=HTMX, data={"csrf_token": csrf})
    assert team.status_code == 404
