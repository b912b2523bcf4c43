"""Assign in the browser: a manager gives a pooled lead to a salesperson from the Sales
Inbox ("Assign to…" on the row), the row turns into the assignment with its deal, and
the lead is in that salesperson's My Leads. The lead is put in the pool through the
API (the journey test covers doing it by hand) under a unique company name: the demo
organization is shared with the other browser tests."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from baton.demo import DEMO_PASSWORD
from tests.browser.support import WatchedPage, pooled_lead

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

MANAGER = "manager@acme.example"
SALES = "sales1@acme.example"
SALES_NAME = "Sam Sales"


def test_a_manager_assigns_a_pooled_lead_to_a_salesperson(web: WatchedPage) -> None:
    page = web.page
    company = f"Orbit {uuid.uuid4().hex[:8]}"
    pooled_lead(page.context.request, web.base_url, company)

    web.goto("/login")
    web.log_in(MANAGER, DEMO_PASSWORD)
    page.wait_for_url(f"{web.base_url}/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sales Inbox").click()
    page.wait_for_url(f"{web.base_url}/leads/pool")
    row = page.locator(f'tr[data-lead="{company}"]')
    expect(row).to_be_visible()
    row.get_by_label(f"Assign {company} to").select_option(label=SALES_NAME)
    row.get_by_role("button", name="Assign").click()
    expect(row).to_contain_text(f"is assigned to {SALES_NAME}")
    expect(row.get_by_role("link", name="Open the deal")).to_be_visible()
    page.reload()
    expect(page.locator(f'tr[data-lead="{company}"]')).to_have_count(0)  # out of the pool
    web.log_out()

    web.log_in(SALES, DEMO_PASSWORD)
    page.wait_for_url(f"{web.base_url}/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My Leads").click()
    page.wait_for_url(f"{web.base_url}/leads/mine")
    mine = page.locator(f'tr[data-lead="{company}"]')
    expect(mine).to_be_visible()
    mine.get_by_role("link", name="Open the deal").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(company)
    web.assert_clean()
