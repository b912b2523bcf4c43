"""Assign from the Sales Inbox: managers and admins pick a salesperson for a pooled lead
(a claim on their behalf), sales get no such control, a lead claimed meanwhile answers
like a lost claim, and the choice of salespeople costs one statement per page."""

from __future__ import annotations

import re

import httpx
import pytest

from baton.db.engine import Database
from tests.identity.test_statement_counts import counted
from tests.leads import conftest as lead_fixtures
from tests.leads.conftest import Org
from tests.web.test_workflow_pages import HTMX, _sign_in

org = lead_fixtures.org


def _choices(html: str, lead_id: str) -> set[str]:
    """The user ids offered by a pooled lead's "Assign to…" select."""
    select = re.search(
        rf'<select id="assign-{lead_id}" name="user_id" required>(.*?)</select>', html, re.S
    )
    assert select, "no Assign control"
    return set(re.findall(r'<option value="([0-9a-f-]{36})">', select.group(1)))


@pytest.mark.parametrize("role", ["manager", "admin"])
async def test_supervisors_get_assign_with_the_salespeople(
    client: httpx.AsyncClient, org: Org, role: str
) -> None:
    lead = await org.pooled(client)
    await _sign_in(client, getattr(org, role))
    pool = await client.get("/leads/pool")
    assert pool.status_code == 200
    assert f'action="/leads/{lead["id"]}/assign"' in pool.text
    sellers = {org.sales, org.other_sales, org.manager, org.admin}
    assert _choices(pool.text, lead["id"]) == {str(member.user_id) for member in sellers}


async def test_sales_see_no_assign_control_and_may_not_assign(
    client: httpx.AsyncClient, org: Org
) -> None:
    lead = await org.pooled(client)
    token = await _sign_in(client, org.sales)
    pool = await client.get("/leads/pool")
    assert f'data-lead="{lead["company_name"]}"' in pool.text
    assert "/assign" not in pool.text
    assert "Assign to…" not in pool.text
    refused = await client.post(
        f"/leads/{lead['id']}/assign",
        data={"user_id": str(org.sales.user_id), "csrf_token": token},
        headers=HTMX,
    )
    assert refused.status_code == 403
    malformed = await client.post(
        f"/leads/{lead['id']}/assign", data={"user_id": "junk", "csrf_token": token}, headers=HTMX
    )
    assert malformed.status_code == 403  # the role is checked before the form
    assert (await org.get(client, lead)).json()["view"] == "pool"


async def test_a_manager_assigns_a_lead_into_the_salespersons_my_leads(
    client: httpx.AsyncClient, org: Org
) -> None:
    lead = await org.pooled(client)
    token = await _sign_in(client, org.manager)
    assigned = await client.post(
        f"/leads/{lead['id']}/assign",
        data={"user_id": str(org.sales.user_id), "csrf_token": token},
        headers=HTMX,
    )
    assert assigned.status_code == 200, assigned.text
    assert f'<tr id="lead-{lead["id"]}" class="claimed"' in assigned.text
    assert "is assigned to Sales Person" in assigned.text
    deal = re.search(r'<a href="/deals/([0-9a-f-]{36})">Open the deal</a>', assigned.text)
    assert deal

    after = await org.get(client, lead)
    assert after.json()["sales_owner_id"] == str(org.sales.user_id)
    assert after.json()["deal_id"] == deal.group(1)
    await _sign_in(client, org.sales)
    mine = await client.get("/leads/mine")
    assert f'data-lead="{lead["company_name"]}"' in mine.text
    assert f"/deals/{deal.group(1)}" in mine.text
    await _sign_in(client, org.other_sales)
    assert f'data-lead="{lead["company_name"]}"' not in (await client.get("/leads/mine")).text


async def test_assigning_a_lead_claimed_meanwhile_says_so_and_refreshes_the_pool(
    client: httpx.AsyncClient, org: Org
) -> None:
    taken, waiting = await org.pooled(client), await org.pooled(client)
    token = await _sign_in(client, org.manager)
    pool = await client.get("/leads/pool")
    assert f'data-lead="{taken["company_name"]}"' in pool.text
    # A salesperson claims it between the manager's page load and their click.
    assert (await org.action(client, taken, "claim", org.other_sales)).status_code == 200
    lost = await client.post(
        f"/leads/{taken['id']}/assign",
        data={"user_id": str(org.sales.user_id), "csrf_token": token},
        headers=HTMX,
    )
    assert lost.status_code == 409
    assert "Someone just claimed this lead" in lost.text
    assert 'id="leads-list"' in lost.text
    assert 'hx-swap-oob="true"' in lost.text
    assert f'data-lead="{taken["company_name"]}"' not in lost.text  # the pool, refreshed
    assert f'data-lead="{waiting["company_name"]}"' in lost.text
    assert f'action="/leads/{waiting["id"]}/assign"' in lost.text  # controls redrawn too
    owner = (await org.get(client, taken)).json()["sales_owner_id"]
    assert owner == str(org.other_sales.user_id)  # the claim stands


@pytest.mark.parametrize("who", ["marketing", "viewer", "nobody"])
async def test_assigning_to_someone_who_does_not_sell_is_refused_inline(
    client: httpx.AsyncClient, org: Org, who: str
) -> None:
    lead = await org.pooled(client)
    token = await _sign_in(client, org.admin)
    user_id = "" if who == "nobody" else str(getattr(org, who).user_id)
    refused = await client.post(
        f"/leads/{lead['id']}/assign", data={"user_id": user_id, "csrf_token": token}, headers=HTMX
    )
    assert refused.status_code == 422
    assert 'class="form-errors"' in refused.text
    assert "<strong>Member</strong>" in refused.text
    assert (await org.get(client, lead)).json()["view"] == "pool"


async def test_the_pool_page_costs_the_same_statements_for_one_lead_or_many(
    client: httpx.AsyncClient, org: Org, database: Database
) -> None:
    await org.pooled(client)
    await _sign_in(client, org.manager)
    await client.get("/leads/pool")  # the lead workflow compiled and cached

    async def statements() -> list[str]:
        with counted(database) as seen:
            page = await client.get("/leads/pool")
        assert page.status_code == 200
        return seen

    small = await statements()
    for _ in range(4):
        await org.pooled(client)
    large = await statements()
    assert len(large) == len(small), large
    members = [s for s in large if "memberships.role IN" in s]
    assert len(members) == 1  # the salespeople, once for every row's select
