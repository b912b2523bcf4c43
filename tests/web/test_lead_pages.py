"""The lead pages over HTTP: each queue for the roles that work it, Add lead, triage
(a refused Qualify inline), the one-click claim (and a claim lost to a colleague),
reject, release and convert; another organization's leads are 404."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.factories import register_tenant, unique
from tests.leads import conftest as lead_fixtures
from tests.leads.conftest import Org
from tests.web.test_workflow_pages import HTMX, _sign_in

# The lead tests' organization (every role), as a fixture of this module too.
org = lead_fixtures.org

PAGES = {
    "/leads/inbox": {"admin", "manager", "marketing"},
    "/leads/pool": {"admin", "manager", "sales"},
    "/leads/mine": {"admin", "manager", "sales"},
    "/leads/nurture": {"admin", "manager", "marketing"},
    "/leads/disqualified": {"admin", "manager", "marketing"},
}


@pytest.mark.parametrize("role", ["admin", "manager", "marketing", "sales", "viewer"])
async def test_each_queue_is_for_the_roles_that_work_it(
    client: httpx.AsyncClient, org: Org, role: str
) -> None:
    await _sign_in(client, getattr(org, role))
    for path, roles in PAGES.items():
        page = await client.get(path)
        assert page.status_code == (200 if role in roles else 403), path
        if role in roles:
            assert 'id="leads-list"' in page.text


async def test_marketing_adds_a_lead_and_triages_it(client: httpx.AsyncClient, org: Org) -> None:
    token = await _sign_in(client, org.marketing)
    company = unique("Initech")
    added = await client.post(
        "/leads",
        data={"company_name": company, "contact_name": "Peter", "csrf_token": token},
        headers=HTMX,
    )
    assert added.status_code == 200, added.text
    assert f"{company} added" in added.text
    row = re.search(rf'<tr id="lead-([0-9a-f-]{{36}})" data-lead="{company}"', added.text)
    assert row
    lead_id = row.group(1)
    assert "Start review" in added.text

    refused = await client.post(
        "/leads", data={"company_name": " ", "csrf_token": token}, headers=HTMX
    )
    assert refused.status_code == 422
    assert "<strong>Company name</strong>" in refused.text

    review = await client.post(
        f"/leads/{lead_id}/triage",
        data={"status": "in_review", "version": "1", "queue": "inbox", "csrf_token": token},
        headers=HTMX,
    )
    assert review.status_code == 200, review.text
    assert "is in review" in review.text
    assert ">Qualify<" in review.text
    assert "Disqualify" in review.text
    assert "no_fit" in review.text  # the reason list of the disqualify form

    # No email, phone or need: Qualify is refused inline, suggesting Nurture.
    qualify = await client.post(
        f"/leads/{lead_id}/triage",
        data={"status": "qualified", "version": "2", "queue": "inbox", "csrf_token": token},
        headers=HTMX,
    )
    assert qualify.status_code == 422
    assert "Nurture instead" in qualify.text
    assert "Move to Nurture" in qualify.text
    assert "<strong>Email</strong>" in qualify.text
    assert "<strong>Need</strong>" in qualify.text

    no_reason = await client.post(
        f"/leads/{lead_id}/triage",
        data={"status": "disqualified", "version": "2", "queue": "inbox", "csrf_token": token},
        headers=HTMX,
    )
    assert no_reason.status_code == 422
    assert 'class="form-errors"' in no_reason.text
    nurture = await client.post(
        f"/leads/{lead_id}/triage",
        data={"status": "nurture", "version": "2", "queue": "inbox", "csrf_token": token},
        headers=HTMX,
    )
    assert nurture.status_code == 200
    assert f'data-lead="{company}"' not in nurture.text
    nurtured = await client.get("/leads/nurture")
    assert f'data-lead="{company}"' in nurtured.text
    assert "Review again" in nurtured.text


async def _pooled(client: httpx.AsyncClient, org: Org) -> dict[str, Any]:
    return await org.pooled(client, company_name=unique("Pooled"))


async def test_claim_offers_the_deal_and_a_second_claimer_is_told(
    client: httpx.AsyncClient, org: Org
) -> None:
    lead = await _pooled(client, org)
    token = await _sign_in(client, org.sales)
    pool = await client.get("/leads/pool")
    assert f'data-lead="{lead["company_name"]}"' in pool.text
    assert "My overdue activities" in pool.text
    assert "no_fit" in pool.text  # the reject form's reasons
    claimed = await client.post(
        f"/leads/{lead['id']}/claim", data={"csrf_token": token}, headers=HTMX
    )
    assert claimed.status_code == 200, claimed.text
    deal = re.search(r'<a href="/deals/([0-9a-f-]{36})">Open the deal</a>', claimed.text)
    assert deal
    again = await client.post(
        f"/leads/{lead['id']}/claim", data={"csrf_token": token}, headers=HTMX
    )
    assert deal.group(0) in again.text  # idempotent: the same deal
    mine = await client.get("/leads/mine")
    assert f"/deals/{deal.group(1)}" in mine.text
    assert "Release" in mine.text
    assert "Convert" in mine.text

    token = await _sign_in(client, org.other_sales)
    lost = await client.post(f"/leads/{lead['id']}/claim", data={"csrf_token": token}, headers=HTMX)
    assert lost.status_code == 409
    assert "Someone just claimed this lead" in lost.text
    assert f'data-lead="{lead["company_name"]}"' not in lost.text  # the pool, refreshed


async def test_reject_release_and_convert(client: httpx.AsyncClient, org: Org) -> None:
    rejected, kept = await _pooled(client, org), await _pooled(client, org)
    token = await _sign_in(client, org.sales)
    no_reason = await client.post(
        f"/leads/{rejected['id']}/reject", data={"csrf_token": token}, headers=HTMX
    )
    assert no_reason.status_code == 422
    answer = await client.post(
        f"/leads/{rejected['id']}/reject",
        data={"reason": "no_fit", "notes": "Too small", "csrf_token": token},
        headers=HTMX,
    )
    assert answer.status_code == 200, answer.text
    assert "went back to marketing" in answer.text
    assert f'data-lead="{rejected["company_name"]}"' not in answer.text

    await client.post(f"/leads/{kept['id']}/claim", data={"csrf_token": token}, headers=HTMX)
    released = await client.post(
        f"/leads/{kept['id']}/release", data={"csrf_token": token}, headers=HTMX
    )
    assert released.status_code == 200, released.text
    assert "is back in the pool" in released.text
    await client.post(f"/leads/{kept['id']}/claim", data={"csrf_token": token}, headers=HTMX)
    converted = await client.post(
        f"/leads/{kept['id']}/convert", data={"csrf_token": token}, headers=HTMX
    )
    assert converted.status_code == 200, converted.text
    assert "converted" in converted.text
    assert re.search(r'<a href="/deals/[0-9a-f-]{36}">Open the deal</a>', converted.text)

    await _sign_in(client, org.marketing)
    inbox = await client.get("/leads/inbox")
    assert f'data-lead="{rejected["company_name"]}"' in inbox.text
    assert "Rejected by sales: No fit" in inbox.text
    assert "Too small" in inbox.text


async def test_another_organizations_leads_are_404(client: httpx.AsyncClient, org: Org) -> None:
    lead = await _pooled(client, org)
    stranger = await register_tenant(client)
    token = await _sign_in(client, stranger)
    for action, data in (
        ("claim", {}),
        ("reject", {"reason": "no_fit"}),
        ("release", {}),
        ("convert", {}),
        ("triage", {"status": "in_review", "version": "1"}),
    ):
        answer = await client.post(
            f"/leads/{lead['id']}/{action}", data={**data, "csrf_token": token}, headers=HTMX
        )
        assert answer.status_code == 404, action
