"""Home dashboards in the browser (issue 17): a salesperson follows "overdue" into the
planner; a manager changes the period and the forecast follows; every role's Home
fits a phone and a desktop without sideways scrolling, with no CSP violation.

With BATON_SCREENSHOTS=<dir> set, each role's Home is also saved there at 1440 and
390 px (how the screenshots in the report were taken).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from baton.demo import DEMO_PASSWORD
from tests.browser.support import WatchedPage

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

ROLES = {
    "sales": "sales1@acme.example",
    "manager": "manager@acme.example",
    "marketing": "marketing@acme.example",
    "admin": "admin@acme.example",
}


def sign_in(web: WatchedPage, email: str) -> None:
    web.goto("/login")
    web.log_in(email, DEMO_PASSWORD)
    web.page.wait_for_url(f"{web.base_url}/")


def test_sales_opens_home_and_follows_overdue_into_the_planner(web: WatchedPage) -> None:
    sign_in(web, ROLES["sales"])
    page = web.page
    expect(page.locator('[data-home="sales"]')).to_be_visible()
    overdue = page.locator('[data-stat="overdue"]')
    expect(overdue).to_contain_text("overdue activities")
    count = overdue.locator(".stat-value").inner_text()
    overdue.click()
    page.wait_for_url(re.compile(r"/activities\?view=overdue&owner=me$"))
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    # The planner lists the same overdue work the figure counted (first page of it).
    if count == "0":
        expect(page.get_by_text("Nothing", exact=False).first).to_be_visible()
    web.assert_clean()


def test_a_manager_changes_the_period_and_the_forecast_follows(web: WatchedPage) -> None:
    sign_in(web, ROLES["manager"])
    page = web.page
    forecast = page.locator("table[data-forecast] tbody th[scope=row]")
    months = forecast.all_inner_texts()
    # This quarter (the default): three months and the total.
    assert len(months) == 4, months
    page.get_by_label("Period", exact=True).select_option("last_quarter")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"period=last_quarter"))
    expect(page.get_by_label("Period", exact=True)).to_have_value("last_quarter")
    expect(forecast).to_have_count(4)
    # The three months before this quarter's: none of the months shown before.
    after = forecast.all_inner_texts()
    assert all(re.fullmatch(r"\d{4}-\d{2}", month) for month in after[:3]), after
    assert not set(after[:3]) & set(months[:3]), (months, after)
    web.assert_clean()


@pytest.mark.parametrize("role", list(ROLES))
def test_every_roles_home_fits_a_phone_and_a_desktop(web: WatchedPage, role: str) -> None:
    sign_in(web, ROLES[role])
    page = web.page
    shots = os.environ.get("BATON_SCREENSHOTS")
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.reload()
        expect(page.locator(f'[data-home="{role}"]')).to_be_visible()
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= width, f"{role} Home scrolls sideways at {width}px ({wide}px)"
        for svg in page.locator("svg.chart").all():
            # Every chart names itself for screen readers.
            assert svg.get_attribute("role") == "img"
            assert svg.locator("title").count() >= 1
            assert svg.locator("desc").count() == 1
        if shots:
            Path(shots).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=f"{shots}/home-{role}-{width}.png", full_page=True)
    web.assert_clean()


# Each figures table on the page: does it scroll sideways, does it stick out of its
# card, are its column headings shown, and the label a phone shows before a figure.
FIGURES = """() => [...document.querySelectorAll("main table.figures")].map((table) => {
  const card = table.closest(".card").getBoundingClientRect();
  const cell = table.querySelector("td[data-label]");
  return {
    scrolls: table.scrollWidth > table.clientWidth + 1,
    spills: table.getBoundingClientRect().right > card.right + 1,
    headings: table.querySelector("thead").getBoundingClientRect().height > 1,
    label: cell ? getComputedStyle(cell, "::before").content : null,
  };
})"""
# Figure boxes ("$281,000.00 won") whose figure broke over more than one line.
BROKEN_STATS = """() => [...document.querySelectorAll("main .stat-value")]
  .filter((el) => el.getBoundingClientRect().height > parseFloat(getComputedStyle(el).lineHeight) * 1.5)
  .map((el) => el.textContent)"""


@pytest.mark.parametrize("role", ["sales", "manager"])
def test_homes_figures_fit_a_phone_as_labelled_rows(web: WatchedPage, role: str) -> None:
    """The stage, forecast and owner tables fit a 390 px card as rows of labelled
    figures ("Amount: $70,000.00"), nothing hidden behind a sideways scroll, and no
    figure box breaks its amount in two; on a desktop they stay tables."""
    sign_in(web, ROLES[role])
    page = web.page
    page.set_viewport_size({"width": 390, "height": 900})
    page.reload()
    tables = page.evaluate(FIGURES)
    assert len(tables) >= (1 if role == "sales" else 5), tables
    for table in tables:
        assert not table["scrolls"], tables
        assert not table["spills"], tables
        assert not table["headings"], tables
    assert '"Deals: "' in {table["label"] for table in tables}, tables
    pipeline = page.locator("table[data-pipeline] tbody tr").first
    expect(pipeline.locator("td[data-label=Amount]")).to_be_visible()
    assert page.evaluate(BROKEN_STATS) == []
    page.set_viewport_size({"width": 1440, "height": 900})
    for table in page.evaluate(FIGURES):
        assert table["headings"], table
        assert not table["scrolls"], table
    web.assert_clean()
