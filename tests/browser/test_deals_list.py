"""The deals list and its saved views in a browser: a salesperson filters the list to
one stage, sorts it, saves the view, reloads, comes back to it through its tab and
sees the filtered rows; the list fits a desktop and a phone (stacked rows).

BATON_SCREENSHOTS=<dir> keeps a screenshot at 1440 and 390 px for a look."""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from playwright.sync_api import expect

from baton.demo import DEMO_PASSWORD
from tests.browser.support import WatchedPage

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

SALES = "sales1@acme.example"


def _sign_in(web: WatchedPage) -> None:
    web.goto("/login")
    web.log_in(SALES, DEMO_PASSWORD)
    web.page.wait_for_url(f"{web.base_url}/")


def test_a_saved_view_of_the_deals_list_is_a_tab_that_filters(web: WatchedPage) -> None:
    page = web.page
    _sign_in(web)
    web.goto("/pipeline")
    page.get_by_role("link", name="List", exact=True).click()
    page.wait_for_url(f"{web.base_url}/deals")
    rows = page.locator("table.deals-list tbody tr[data-deal]")
    expect(rows.first).to_be_visible()
    stages = set(page.locator("table.deals-list td[data-label=Stage]").all_inner_texts())
    assert len(stages) > 1, stages

    page.locator("select[name=stage]").select_option("discovery")
    page.locator("select[name=sort]").select_option("-amount")
    # Each choice redraws the list at once; the address is the filters' link.
    page.wait_for_url(re.compile(r"/deals\?sort=-amount&stage=discovery$"))
    expect(rows.first).to_be_visible()
    filtered = rows.evaluate_all("rows => rows.map(row => row.dataset.deal)")
    assert set(page.locator("table.deals-list td[data-label=Stage]").all_inner_texts()) == {
        "Discovery"
    }

    page.locator("summary", has_text="Save view").click()
    page.get_by_label("Name", exact=True).fill("Discovery by amount")
    page.get_by_role("button", name="Save view").click()
    tab = page.locator('[data-view-tab="Discovery by amount"]')
    expect(tab).to_have_attribute("aria-current", "page")

    page.reload()
    page.locator('[data-view-tab="All"]').click()
    page.wait_for_url(f"{web.base_url}/deals")
    expect(page.locator('[data-view-tab="All"]')).to_have_attribute("aria-current", "page")
    assert len(set(page.locator("table.deals-list td[data-label=Stage]").all_inner_texts())) > 1

    page.locator('[data-view-tab="Discovery by amount"]').click()
    page.wait_for_url(re.compile(r"stage=discovery"))
    expect(tab).to_have_attribute("aria-current", "page")
    expect(page.locator("select[name=stage]")).to_have_value("discovery")
    assert rows.evaluate_all("rows => rows.map(row => row.dataset.deal)") == filtered
    web.assert_clean()


def test_the_deals_list_fits_a_desktop_and_a_phone(web: WatchedPage) -> None:
    page = web.page
    _sign_in(web)
    shots = os.environ.get("BATON_SCREENSHOTS")
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 900})
        web.goto("/deals?sort=-amount")
        expect(page.locator("table.deals-list tbody tr[data-deal]").first).to_be_visible()
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= width, f"the deals list scrolls sideways at {width}px ({wide}px)"
        if shots:
            Path(shots).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=f"{shots}/deals-list-{width}.png", full_page=False)
    web.assert_clean()


def test_closes_in_is_a_choice_of_named_months(web: WatchedPage) -> None:
    """Chromium draws an empty month input as dashes: the list offers the months by
    name instead, and the choice filters by `close_month` as before."""
    page = web.page
    _sign_in(web)
    web.goto("/deals")
    closes_in = page.get_by_label("Closes in")
    expect(closes_in).to_have_js_property("tagName", "SELECT")
    expect(closes_in.locator("option:checked")).to_have_text("Any month")
    today = datetime.now(UTC).date()
    month = date(today.year + (today.month == 12), today.month % 12 + 1, 1)
    name = f"{month:%B %Y}"  # the demo organization writes en-US
    closes_in.select_option(label=name)
    page.wait_for_url(re.compile(rf"/deals\?close_month={month:%Y-%m}$"))
    closes = page.locator("table.deals-list td[data-label='Expected close']")
    expect(page.locator("#deal-results")).to_be_visible()
    assert all(text.startswith(f"{month:%Y-%m}") for text in closes.all_inner_texts())
    page.reload()
    expect(page.get_by_label("Closes in").locator("option:checked")).to_have_text(name)
    shots = os.environ.get("BATON_SCREENSHOTS")
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 900})
        box = page.get_by_label("Closes in").bounding_box()
        assert box is not None
        assert box["x"] + box["width"] <= width, (width, box)
        if shots:
            Path(shots).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=f"{shots}/deals-list-closes-in-{width}.png", full_page=False)
    web.assert_clean()
