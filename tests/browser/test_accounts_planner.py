"""The demo sales user works an account in the browser and completes the work from the
planner: add an account, find it by live search, add a contact, log an activity,
complete it with one click. Names are unique per run: the demo organization is
shared with the other browser tests."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from baton.demo import DEMO_PASSWORD
from tests.browser.support import WatchedPage

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

SALES = "sales1@acme.example"


def test_sales_searches_an_account_logs_work_and_completes_it_in_the_planner(
    web: WatchedPage,
) -> None:
    page = web.page
    tag = uuid.uuid4().hex[:8]
    name, person, subject = f"Zephyr {tag}", f"Rita {tag}", f"Call Rita {tag}"
    web.goto("/login")
    web.log_in(SALES, DEMO_PASSWORD)
    page.wait_for_url(f"{web.base_url}/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Accounts").click()
    page.wait_for_url(f"{web.base_url}/accounts")

    # Add the account; the answer opens its page.
    form = page.locator("form#account-add")
    if not form.is_visible():
        page.locator("details.add-panel summary").click()
    form.get_by_label("Name").fill(name)
    form.get_by_label("Domain").fill(f"https://www.zephyr-{tag}.example/")
    form.get_by_role("button", name="Add account").click()
    page.wait_for_url(re.compile(r"/accounts/[0-9a-f-]{36}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(name)

    # Find it again by live search (no submit: typing is enough).
    page.get_by_role("link", name="Accounts", exact=True).first.click()
    page.wait_for_url(f"{web.base_url}/accounts")
    page.get_by_role("searchbox").fill(f"zephyr {tag}")
    results = page.locator("#account-results tbody tr[data-account]")
    expect(results).to_have_count(1)
    expect(results.first).to_have_attribute("data-account", name)
    expect(results.first.locator(".badge.tenure-prospect")).to_have_text("Prospect")
    results.first.get_by_role("link", name=name).click()
    page.wait_for_url(re.compile(r"/accounts/[0-9a-f-]{36}$"))
    account_path = web.path()

    # Add a contact: the overview is redrawn with it.
    contact_form = page.locator("form#contact-add")
    contact_form.get_by_label("First name").fill("Rita")
    contact_form.get_by_label("Last name").fill(tag)
    contact_form.get_by_label("Email").fill(f"rita.{tag}@zephyr.example")
    contact_form.get_by_role("button", name="Add contact").click()
    expect(page.locator(f'tr[data-contact="{person}"]')).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Rita added")

    # Log a call with her (due tomorrow 09:00 UTC, the form's default).
    log = page.locator("form#activity-log")
    log.get_by_label("Type").select_option("call")
    log.get_by_label("Subject").fill(subject)
    log.get_by_label("Contact").select_option(label=person)
    log.get_by_role("button", name="Log activity").click()
    upcoming = page.locator(f'#upcoming li[data-activity="{subject}"]')
    expect(upcoming).to_be_visible()
    expect(upcoming).to_contain_text(person)
    assert web.path() == account_path

    # Complete it from the planner with one click.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Activities").click()
    page.wait_for_url(f"{web.base_url}/activities")
    row = page.locator(f'li.activity-row[data-activity="{subject}"]')
    while row.count() == 0 and page.get_by_role("button", name="Load more").count():
        page.get_by_role("button", name="Load more").click()
        page.wait_for_timeout(200)
    expect(row).to_be_visible()
    expect(row).to_contain_text(name)
    row.get_by_placeholder("Outcome (optional)").fill("Booked a demo")
    row.get_by_role("button", name="Complete").click()
    expect(row).to_have_class(re.compile(r"\bis-done\b"))
    expect(row).to_contain_text("completed: Booked a demo")

    # It left the planner and shows as done on the account.
    page.reload()
    expect(page.locator(f'li.activity-row[data-activity="{subject}"]')).to_have_count(0)
    web.goto(account_path)
    expect(page.locator(f'#recent li[data-activity="{subject}"]')).to_be_visible()
    expect(page.locator(f'#upcoming li[data-activity="{subject}"]')).to_have_count(0)
    web.assert_clean()


# The account page's record tables: do any scroll sideways, and what its log form offers.
ACCOUNT_TABLES = """() => [...document.querySelectorAll("#contacts table, #deals table, #closed-deals table")]
  .map((table) => ({scrolls: table.scrollWidth > table.clientWidth + 1,
                    right: table.getBoundingClientRect().right}))"""


def test_an_accounts_contacts_and_deals_fit_a_phone(web: WatchedPage) -> None:
    """On a phone the account's contacts, open and closed deals (and a contact's deals
    on its page) are stacked rows with
    labelled values ("Amount: $260,000.00"), not tables whose Owner and Next step hide
    behind a sideways scroll; the log form offers activity types in words."""
    page = web.page
    web.goto("/login")
    web.log_in(SALES, DEMO_PASSWORD)
    page.wait_for_url(f"{web.base_url}/")
    web.goto("/accounts?q=Nordhafen")
    page.locator("#account-results tbody tr[data-account] a").first.click()
    page.wait_for_url(re.compile(r"/accounts/[0-9a-f-]{36}$"))
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 900})
        tables = page.evaluate(ACCOUNT_TABLES)
        assert len(tables) >= 2, tables
        assert not [t for t in tables if t["scrolls"] or t["right"] > width], (width, tables)
    amount = page.locator("#deals tbody tr").first.locator("td[data-label=Amount]")
    expect(amount).to_be_visible()
    assert (
        page.evaluate(
            "(cell) => getComputedStyle(cell, '::before').content", amount.element_handle()
        )
        == '"Amount: "'
    )
    expect(page.locator("#log-type option").first).to_have_text("Call")
    # The contact's own page lists the same deals as stacked rows too.
    page.locator("#contacts tbody a[href^='/contacts/']").first.click()
    page.wait_for_url(re.compile(r"/contacts/[0-9a-f-]{36}$"))
    deals = page.locator("table[data-contact-deals]")
    expect(deals.locator("tbody tr").first).to_be_visible()
    assert deals.evaluate("(table) => table.scrollWidth <= table.clientWidth + 1")
    expect(deals.locator("td[data-label=Owner]").first).to_be_visible()
    web.assert_clean()
