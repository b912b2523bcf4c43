"""The lead journey in the browser: marketing adds a lead and qualifies it, sales finds
it in the Sales Inbox, claims it with one click and opens the new deal. The company
name is unique per run: the demo organization is shared with the other browser tests."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from baton.demo import DEMO_PASSWORD
from tests.browser.support import WatchedPage, failed_resource, htmx_response_error

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

MARKETING = "marketing@acme.example"
SALES = "sales1@acme.example"


def test_marketing_qualifies_a_lead_and_sales_claims_it_into_a_deal(web: WatchedPage) -> None:
    page = web.page
    company = f"Lumen {uuid.uuid4().hex[:8]}"
    web.goto("/login")
    web.log_in(MARKETING, DEMO_PASSWORD)
    page.wait_for_url(f"{web.base_url}/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Lead Inbox").click()
    page.wait_for_url(f"{web.base_url}/leads/inbox")

    form = page.locator("form#lead-add")
    if not form.is_visible():
        page.locator("details.add-panel summary").click()
    form.get_by_label("Company").fill(company)
    form.get_by_label("Contact").fill("Lena Lumen")
    form.get_by_label("Email").fill(f"lena.{company.split()[1]}@lumen.example")
    form.get_by_label("Need").fill("Forty pallets from March")
    form.get_by_role("button", name="Add lead").click()
    row = page.locator(f'tr[data-lead="{company}"]')
    expect(row).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text(f"{company} added")

    row.get_by_role("button", name="Start review").click()
    expect(page.get_by_role("status")).to_contain_text(f"{company} is in review")
    row.get_by_role("button", name="Qualify").click()
    expect(page.get_by_role("status")).to_contain_text(f"{company} was qualified")
    expect(row).to_have_count(0)
    web.log_out()

    web.log_in(SALES, DEMO_PASSWORD)
    page.wait_for_url(f"{web.base_url}/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sales Inbox").click()
    page.wait_for_url(f"{web.base_url}/leads/pool")
    expect(page.get_by_role("heading", name="My overdue activities")).to_be_visible()
    row = page.locator(f'tr[data-lead="{company}"]')
    expect(row).to_be_visible()
    row.get_by_role("button", name="Claim").click()
    expect(row).to_contain_text("is yours")
    row.get_by_role("link", name="Open the deal").click()
    page.wait_for_url(re.compile(r"/deals/[0-9a-f-]{36}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(company)
    # The claim enrolled the deal in the default cadence: its first call is the next step.
    expect(page.get_by_text(f"Intro call with {company}").first).to_be_visible()
    # The lead's person and need came along (issue 14, defect 1): the deal's contact,
    # and a contact of the account.
    expect(page.locator('dd[data-field="contact"]')).to_contain_text("Lena Lumen")
    expect(page.locator('dd[data-field="need"]')).to_have_text("Forty pallets from March")
    page.locator('dd[data-field="account"]').get_by_role("link", name=company).click()
    page.wait_for_url(re.compile(r"/accounts/[0-9a-f-]{36}$"))
    expect(page.get_by_text("No contacts yet")).to_have_count(0)
    expect(page.get_by_text("Lena Lumen").first).to_be_visible()
    web.assert_clean()


def test_a_refusal_takes_the_earlier_success_notice_away(web: WatchedPage) -> None:
    """Issue 14, defect 10: "… added" must not stay above a form that now says what is
    wrong."""
    page = web.page
    company = f"Stale {uuid.uuid4().hex[:8]}"
    web.goto("/login")
    web.log_in(MARKETING, DEMO_PASSWORD)
    page.wait_for_url(f"{web.base_url}/")
    web.goto("/leads/inbox")
    form = page.locator("form#lead-add")
    if not form.is_visible():
        page.locator("details.add-panel summary").click()
    form.get_by_label("Company").fill(company)
    form.get_by_role("button", name="Add lead").click()
    row = page.locator(f'tr[data-lead="{company}"]')
    row.get_by_role("button", name="Start review").click()
    notice = page.locator('.notice[role="status"]', has_text=f"{company} is in review")
    expect(notice).to_be_visible()
    # No email, phone or need: Qualify is refused next to the row.
    row.get_by_role("button", name="Qualify").click()
    expect(row.get_by_role("button", name="Move to Nurture")).to_be_visible()
    expect(notice).to_have_count(0)
    web.assert_clean(allowed=[htmx_response_error(422), failed_resource(422)])
