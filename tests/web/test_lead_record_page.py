"""A lead's own page over HTTP (issue 14, defects 1 and 2): every list row links to
it; it shows the lead and what it became, offers the actions of its step to the roles
that take them, edits the details a refused Qualify asked for, and comes back to
itself after an action; the deal links back to its lead. Another organization's lead
is 404, and so is a lead the caller's role does not see."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from tests.factories import register_tenant
from tests.leads import conftest as lead_fixtures
from tests.leads.conftest import Org
from tests.web.test_workflow_pages import HTMX, _sign_in

org = lead_fixtures.org


async def test_marketing_fixes_a_lead_on_its_page_and_qualifies_it_there(
    client: httpx.AsyncClient, org: Org
) -> None:
    lead = await org.create(client, email=None, need=None, source="Trade fair")
    lead = await org.walk(client, lead, "in_review")
    token = await _sign_in(client, org.marketing)

    inbox = await client.get("/leads/inbox")
    assert f'href="/leads/{lead["id"]}"' in inbox.text

    page = await client.get(f"/leads/{lead['id']}")
    assert page.status_code == 200, page.text
    assert lead["company_name"] in page.text
    assert "Qualify and hand over" in page.text
    # Nothing to reach the lead by and no need: the edit form is open.
    assert '<details class="row-edit" open>' in page.text

    refused = await client.post(
        f"/leads/{lead['id']}/triage",
        data={
            "status": "qualified",
            "version": str(lead["version"]),
            "return_to": "lead",
            "csrf_token": token,
        },
        headers=HTMX,
    )
    assert refused.status_code == 422
    assert "email" in refused.text

    edited = await client.post(
        f"/leads/{lead['id']}/edit",
        data={
            "company_name": lead["company_name"],
            "contact_name": "Grace Hopper",
            "email": "Grace@Example.com",
            "phone": "",
            "source": "Trade fair",
            "need": "Forty pallets from March",
            "notes": "",
            "version": str(lead["version"]),
            "csrf_token": token,
        },
        headers=HTMX,
    )
    assert edited.status_code == 200, edited.text
    assert edited.headers["HX-Redirect"] == f"/leads/{lead['id']}"
    lead = (await org.get(client, lead)).json()
    assert (lead["email"], lead["need"]) == ("grace@example.com", "Forty pallets from March")

    stale = await client.post(
        f"/leads/{lead['id']}/edit",
        data={"company_name": "X", "version": "1", "csrf_token": token},
        headers=HTMX,
    )
    assert stale.status_code == 409

    qualified = await client.post(
        f"/leads/{lead['id']}/triage",
        data={
            "status": "qualified",
            "version": str(lead["version"]),
            "return_to": "lead",
            "csrf_token": token,
        },
        headers=HTMX,
    )
    assert qualified.status_code == 200, qualified.text
    assert qualified.headers["HX-Redirect"] == f"/leads/{lead['id']}"
    page = await client.get(f"/leads/{lead['id']}")
    assert "Handed Over" in page.text
    assert "Claim due" in page.text
    # Marketing does not claim.
    assert ">Claim<" not in page.text


async def test_sales_claim_from_the_lead_page_and_the_deal_links_back(
    client: httpx.AsyncClient, org: Org
) -> None:
    lead = await org.pooled(client, contact_name="Ada Lovelace", source="Webinar")
    token = await _sign_in(client, org.sales)
    page = await client.get(f"/leads/{lead['id']}")
    assert ">Claim<" in page.text
    assert "Send back to marketing" in page.text
    assert "Qualify" not in page.text

    claimed = await client.post(
        f"/leads/{lead['id']}/claim", data={"return_to": "lead", "csrf_token": token}, headers=HTMX
    )
    assert claimed.status_code == 200, claimed.text
    deal_url = claimed.headers["HX-Redirect"]
    assert deal_url.startswith("/deals/")

    deal_page = await client.get(deal_url)
    assert f'<a href="/leads/{lead["id"]}">{lead["company_name"]}</a>' in deal_page.text
    assert "Ada Lovelace" in deal_page.text
    assert "Webinar" in deal_page.text

    page = await client.get(f"/leads/{lead['id']}")
    assert f'href="{deal_url}"' in page.text
    assert ">Convert<" in page.text
    assert "Release to the pool" in page.text

    # A colleague in sales does not see a lead someone else claimed.
    await _sign_in(client, org.other_sales)
    assert (await client.get(f"/leads/{lead['id']}")).status_code == 404


async def test_viewers_read_without_actions_and_other_organizations_get_404(
    client: httpx.AsyncClient, org: Org
) -> None:
    lead = await org.pooled(client)
    await _sign_in(client, org.viewer)
    page = await client.get(f"/leads/{lead['id']}")
    assert page.status_code == 200
    assert "Next steps" not in page.text
    assert "Edit details" not in page.text

    stranger = await register_tenant(client)
    await _sign_in(client, stranger)
    assert (await client.get(f"/leads/{lead['id']}")).status_code == 404


async def test_the_lead_timeline_lists_the_soonest_planned_work_first(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    """A claimed lead's cadence plans calls days and weeks ahead: its page lists what
    is due next on top, not the furthest-future meeting (created last), then what was
    done, newest first — as the deal and contact pages do."""
    lead = await org.pooled(client)
    now = datetime.now(UTC)
    # Created in this order: the nearest due first, so creation order is not due order.
    for subject, status, due_in_days, created_ago in (
        ("Intro call", "done", None, 30),
        ("Second call", "planned", 2, 20),
        ("Follow-up email", "done", None, 10),
        ("Meeting on site", "planned", 20, 5),
        ("Check-in email", "planned", 9, 1),
    ):
        await owner_conn.execute(
            "INSERT INTO activities (tenant_id, id, type, status, subject, due_at,"
            " completed_at, owner_id, created_by, lead_id, created_at)"
            " VALUES ($1, $2, 'call', $3, $4, $5, $6, $7, $7, $8, $9)",
            org.admin.tenant_id,
            uuid.uuid4(),
            status,
            subject,
            now + timedelta(days=due_in_days) if due_in_days else None,
            now - timedelta(days=created_ago) if status == "done" else None,
            org.marketing.user_id,
            uuid.UUID(lead["id"]),
            now - timedelta(days=created_ago),
        )
    await _sign_in(client, org.marketing)
    page = await client.get(f"/leads/{lead['id']}")
    assert page.status_code == 200, page.text
    subjects = ("Second call", "Check-in email", "Meeting on site", "Follow-up email", "Intro call")
    places = [page.text.index(subject) for subject in subjects]
    assert places == sorted(places), dict(zip(subjects, places, strict=True))
