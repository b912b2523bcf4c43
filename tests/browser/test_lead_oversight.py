"""What a manager oversees, in the browser (defect 8 of issue 14): the Converted
archive and Team's leads, opened from the sidebar. Team's leads groups every
salesperson's claimed leads under their name; each row links to its deal.

The leads are claimed and converted through the API under unique company names: the
demo organization is shared with the other browser tests."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.sync_api import APIRequestContext, expect

from baton.demo import DEMO_PASSWORD
from tests.browser.support import WatchedPage, pooled_lead

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

MANAGER = "manager@acme.example"
SOFIA, SOFIA_NAME = "sales2@acme.example", "Sofia Sales"
SAM = "sales1@acme.example"


def _as(api: APIRequestContext, base_url: str, email: str) -> dict[str, str]:
    signed_in = api.post(
        f"{base_url}/api/v1/auth/login", data={"email": email, "password": DEMO_PASSWORD}
    )
    assert signed_in.ok, signed_in.text()
    return {"Authorization": f"Bearer {signed_in.json()['access_token']}"}


def _claimed(
    api: APIRequestContext, base_url: str, company: str, email: str, *, convert: bool = False
) -> dict[str, Any]:
    """A lead pooled by marketing, claimed (and converted) by `email`: the claim answer."""
    lead = pooled_lead(api, base_url, company)
    headers = _as(api, base_url, email)
    answer = api.post(f"{base_url}/api/v1/leads/{lead['id']}/claim", headers=headers)
    assert answer.ok, answer.text()
    if convert:
        answer = api.post(f"{base_url}/api/v1/leads/{lead['id']}/convert", headers=headers)
        assert answer.ok, answer.text()
    result: dict[str, Any] = answer.json()
    return result


def test_a_manager_opens_converted_and_the_teams_leads_from_the_sidebar(web: WatchedPage) -> None:
    page = web.page
    api = page.context.request
    suffix = uuid.uuid4().hex[:8]
    working, won = f"Vega {suffix}", f"Lyra {suffix}"
    claim = _claimed(api, web.base_url, working, SOFIA)
    conversion = _claimed(api, web.base_url, won, SAM, convert=True)

    web.goto("/login")
    web.log_in(MANAGER, DEMO_PASSWORD)
    page.wait_for_url(f"{web.base_url}/")
    sidebar = page.get_by_role("navigation", name="Main")

    sidebar.get_by_role("link", name="Team's leads").click()
    page.wait_for_url(f"{web.base_url}/leads/team")
    expect(page.get_by_role("heading", name="Team's leads")).to_be_visible()
    row = page.locator(f'tr[data-lead="{working}"]')
    expect(row).to_have_attribute("data-owner", SOFIA_NAME)
    # The owner's group header comes before the row.
    expect(page.get_by_role("columnheader", name=SOFIA_NAME)).to_be_visible()
    deal_url = f"/deals/{claim['deal']['id']}"
    expect(row.get_by_role("link", name=f"Open the deal for {working}")).to_have_attribute(
        "href", deal_url
    )
    expect(page.locator(f'tr[data-lead="{won}"]')).to_have_count(0)  # converted: not here
    row.get_by_role("link", name=working, exact=True).click()
    page.wait_for_url(f"{web.base_url}{deal_url}")

    sidebar.get_by_role("link", name="Converted").click()
    page.wait_for_url(f"{web.base_url}/leads/converted")
    expect(page.get_by_role("heading", name="Converted")).to_be_visible()
    archived = page.locator(f'tr[data-lead="{won}"]')
    expect(archived).to_contain_text("by Sam Sales")
    expect(archived.get_by_role("link", name=f"Open the deal for {won}")).to_have_attribute(
        "href", f"/deals/{conversion['deal']['id']}"
    )
    expect(page.locator(f'tr[data-lead="{working}"]')).to_have_count(0)
    web.assert_clean()
