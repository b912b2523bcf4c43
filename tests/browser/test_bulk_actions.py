"""A salesperson selects accounts in the list and acts on them at once: every row the
search matches changes owner, one row is deleted and the delete undone; each answer
is listed row by row. Names are unique per run (the demo organization is shared)."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from baton.demo import DEMO_PASSWORD
from tests.browser.support import WatchedPage, failed_resource, htmx_response_error
from tests.browser.test_pipeline import NEXT_WEEK, Api
from tests.live_server import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

SALES = "sales1@acme.example"
SHOTS = os.environ.get("BATON_SCREENSHOTS")


def _add_account(web: WatchedPage, name: str) -> None:
    form = web.page.locator("form#account-add")
    if not form.is_visible():
        web.page.locator("details.add-panel summary").click()
    form.get_by_label("Name").fill(name)
    form.get_by_role("button", name="Add account").click()
    web.page.wait_for_url(f"{web.base_url}/accounts/*")
    web.goto("/accounts")


def test_sales_changes_the_owner_of_selected_accounts_then_deletes_and_undoes(
    web: WatchedPage,
) -> None:
    page = web.page
    tag = uuid.uuid4().hex[:8]
    names = [f"Bulkhead {tag} {n}" for n in ("one", "two", "three")]
    web.goto("/login")
    web.log_in(SALES, DEMO_PASSWORD)
    page.wait_for_url(f"{web.base_url}/")
    web.goto("/accounts")
    for name in names:
        _add_account(web, name)

    page.get_by_role("searchbox").fill(f"bulkhead {tag}")
    rows = page.locator("#account-results tbody tr[data-account]")
    expect(rows).to_have_count(3)
    bar = page.locator("[data-bulk]")

    # Two rows ticked: the new owner for those two only.
    page.get_by_label(f"Select {names[0]}").check()
    page.get_by_label(f"Select {names[1]}").check()
    expect(bar.locator("[data-bulk-count]")).to_have_text("2 rows selected")
    bar.get_by_label("Action").select_option("change_owner")
    bar.get_by_label("New owner").select_option(label="Max Manager")
    bar.get_by_role("button", name="Apply").click()
    outcome = bar.locator("#bulk-results")
    expect(outcome).to_contain_text("2 updated")
    expect(outcome.locator('tr[data-outcome="updated"]')).to_have_count(2)
    # The list is searched again: it shows the new owner.
    for name, owner in zip(names, ("Max Manager", "Max Manager", "Sam Sales"), strict=True):
        expect(page.locator(f'tr[data-account="{name}"]')).to_contain_text(owner)
    expect(bar.locator("[data-bulk-count]")).to_have_text("No rows selected")

    # Every row the search matches: a tag for all three.
    bar.get_by_role("button", name="Select all matching").click()
    expect(bar.locator("[data-bulk-count]")).to_have_text(
        "Every row matching the search is selected"
    )
    bar.get_by_label("Action").select_option("add_tag")
    bar.get_by_label("Tag", exact=True).fill(f"bulk-{tag}")
    bar.get_by_role("button", name="Apply").click()
    expect(outcome).to_contain_text("3 updated")

    # Delete one, then undo it.
    page.get_by_label(f"Select {names[2]}").check()
    bar.get_by_label("Action").select_option("delete")
    bar.get_by_role("button", name="Apply").click()
    expect(outcome).to_contain_text("1 deleted")
    expect(rows).to_have_count(2)
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "accounts-bulk-1920.png"), full_page=True)
    outcome.get_by_role("button", name="Undo delete").click()
    expect(outcome).to_contain_text("1 restored")
    expect(rows).to_have_count(3)

    # Nothing chosen: the bar says what is missing, nothing is done.
    bar.get_by_role("button", name="Clear selection").click()
    bar.get_by_label("Action").select_option("delete")
    bar.get_by_role("button", name="Apply").click()
    expect(bar.locator("#bulk-errors")).to_contain_text("Select at least one row first")
    expect(rows).to_have_count(3)
    web.assert_clean(allowed=[failed_resource(422), htmx_response_error(422)])


def test_the_bar_works_on_a_phone(web: WatchedPage) -> None:
    page = web.page
    page.set_viewport_size({"width": 390, "height": 844})
    web.goto("/login")
    web.log_in(SALES, DEMO_PASSWORD)
    page.wait_for_url(f"{web.base_url}/")
    web.goto("/accounts")
    first = page.locator("#account-results tbody tr[data-account]").first
    first.locator("input[data-bulk-row]").check()
    bar = page.locator("[data-bulk]")
    expect(bar.locator("[data-bulk-count]")).to_have_text("1 row selected")
    bar.get_by_label("Action").select_option("add_tag")
    bar.get_by_label("Tag", exact=True).fill("phone")
    expect(bar.get_by_role("button", name="Apply")).to_be_in_viewport()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "accounts-bulk-390.png"), full_page=False)
    web.assert_clean()


def _add_target(web: WatchedPage, company: str) -> None:
    form = web.page.locator("form#target-add")
    if not form.is_visible():
        web.page.locator("details.add-panel summary").click()
    form.get_by_label("Company").fill(company)
    form.get_by_role("button", name="Add target").click()
    expect(web.page.locator(f'tr[data-target="{company}"]')).to_be_visible()


def test_a_bulk_move_of_targets_lists_what_the_workflow_refused_and_why(
    web: WatchedPage,
) -> None:
    page = web.page
    tag = uuid.uuid4().hex[:8]
    fresh, moved = f"Trawler {tag} fresh", f"Trawler {tag} moved"
    web.goto("/login")
    web.log_in(SALES, DEMO_PASSWORD)
    page.wait_for_url(f"{web.base_url}/")
    web.goto("/targets")
    _add_target(web, fresh)
    _add_target(web, moved)
    row = page.locator(f'tr[data-target="{moved}"]')
    row.get_by_label(f"New status of {moved}").select_option(label="Contacted")
    row.get_by_role("button", name="Move").click()
    expect(page.locator(f'tr[data-target="{moved}"]')).to_contain_text("Contacted")

    page.get_by_role("searchbox").fill(f"trawler {tag}")
    expect(page.locator("#target-results tbody tr[data-target]")).to_have_count(2)
    bar = page.locator("[data-bulk]")
    bar.get_by_role("button", name="Select all matching").click()
    bar.get_by_label("Action").select_option("move")
    bar.get_by_label("Move to").select_option(label="Engaged")
    bar.get_by_role("button", name="Apply").click()
    outcome = bar.locator("#bulk-results")
    expect(outcome).to_contain_text("1 moved, 1 refused")
    refused = outcome.locator('tr[data-outcome="refused"]')
    expect(refused).to_contain_text(fresh)
    expect(refused).to_contain_text("New Target")
    expect(page.locator(f'tr[data-target="{moved}"]')).to_contain_text("Engaged")
    expect(page.locator(f'tr[data-target="{fresh}"]')).to_contain_text("New Target")
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "targets-bulk-1920.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(Path(SHOTS) / "targets-bulk-390.png"), full_page=True)
    web.assert_clean()


def test_marketing_sees_the_bar_on_the_lead_inbox(web: WatchedPage) -> None:
    page = web.page
    web.goto("/login")
    web.log_in("marketing@acme.example", DEMO_PASSWORD)
    page.wait_for_url(f"{web.base_url}/")
    web.goto("/leads/inbox")
    bar = page.locator("[data-bulk]")
    bar.get_by_label("Action").select_option("move")
    expect(bar.get_by_label("Move to")).to_be_visible()
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "leads-bulk-1920.png"), full_page=False)
    web.assert_clean()


def test_deals_on_the_list_move_with_row_results_then_a_delete_is_undone(
    web: WatchedPage, live_server: LiveServer
) -> None:
    """Sales opens one account's deals in the list, moves every matching deal to
    Proposal (one moves, one is refused with the workflow's reason), deletes one and
    undoes it; the bar fits a phone."""
    page = web.page
    with httpx.Client(base_url=live_server.base_url, timeout=10) as client:
        api = Api(client)
        early = api.deal(f"Bulk freight {api.tag} early")
        ready = client.post(
            "/api/v1/deals",
            json={
                "name": f"Bulk freight {api.tag} ready",
                "account_id": api.account["id"],
                "amount": "1200.00",
                "expected_close_date": NEXT_WEEK,
                "next_step": "Send the proposal",
                "next_step_due_date": NEXT_WEEK,
            },
        ).json()
        moved = client.post(
            f"/api/v1/deals/{ready['id']}/move",
            json={"to_step_id": api.steps["discovery"], "version": ready["version"]},
        )
        assert moved.status_code == 200, moved.text
    web.goto("/login")
    web.log_in(SALES, DEMO_PASSWORD)
    page.wait_for_url(f"{web.base_url}/")
    web.goto(f"/deals?account_id={api.account['id']}")
    rows = page.locator("#deal-results tbody tr[data-deal]")
    expect(rows).to_have_count(2)
    bar = page.locator("[data-bulk]")
    bar.get_by_role("button", name="Select all matching").click()
    expect(bar.locator("[data-bulk-count]")).to_have_text(
        "Every row matching the search is selected"
    )
    bar.get_by_label("Action").select_option("move")
    bar.get_by_label("Move to").select_option(label="Proposal")
    bar.get_by_role("button", name="Apply").click()
    outcome = bar.locator("#bulk-results")
    expect(outcome).to_contain_text("1 moved, 1 refused")
    expect(outcome.locator('tr[data-outcome="moved"]')).to_contain_text(ready["name"])
    refused = outcome.locator('tr[data-outcome="refused"]')
    expect(refused).to_contain_text(early["name"])
    expect(refused).to_contain_text("Prospecting")
    # The list is read again: the moved deal shows its new stage.
    expect(page.locator(f'tr[data-deal="{ready["name"]}"]')).to_contain_text("Proposal")
    expect(page.locator(f'tr[data-deal="{early["name"]}"]')).to_contain_text("Prospecting")
    if SHOTS:
        page.set_viewport_size({"width": 1440, "height": 900})
        page.screenshot(path=str(Path(SHOTS) / "deals-bulk-1440.png"), full_page=True)

    page.get_by_label(f"Select {early['name']}").check()
    expect(bar.locator("[data-bulk-count]")).to_have_text("1 row selected")
    bar.get_by_label("Action").select_option("delete")
    bar.get_by_role("button", name="Apply").click()
    expect(outcome).to_contain_text("1 deleted")
    expect(rows).to_have_count(1)
    outcome.get_by_role("button", name="Undo delete").click()
    expect(outcome).to_contain_text("1 restored")
    expect(rows).to_have_count(2)

    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_label(f"Select {ready['name']}").check()
    bar.get_by_label("Action").select_option("change_owner")
    expect(bar.get_by_label("New owner")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "deals-bulk-390.png"), full_page=True)
    web.assert_clean()


def test_contacts_of_one_account_are_deleted_and_restored_from_the_contacts_list(
    web: WatchedPage, live_server: LiveServer
) -> None:
    """Sales opens the new contacts list on one account's link, deletes two contacts
    at once (per-row results), undoes it, and searches; the list fits a phone."""
    page = web.page
    with httpx.Client(base_url=live_server.base_url, timeout=10) as client:
        api = Api(client)
        names = [f"Quill{api.tag}", f"Ink{api.tag}"]
        for first in names:
            created = client.post(
                "/api/v1/contacts",
                json={"first_name": first, "last_name": "Harbour", "account_id": api.account["id"]},
            )
            assert created.status_code == 201, created.text
    web.goto("/login")
    web.log_in(SALES, DEMO_PASSWORD)
    page.wait_for_url(f"{web.base_url}/")
    page.get_by_role("link", name="Contacts", exact=True).first.click()
    page.wait_for_url(f"{web.base_url}/contacts")
    web.goto(f"/contacts?account_id={api.account['id']}")
    rows = page.locator("#contact-results tbody tr[data-contact]")
    expect(rows).to_have_count(2)
    expect(page.locator("#contact-results")).to_contain_text(api.account["name"])
    bar = page.locator("[data-bulk]")
    for first in names:
        page.get_by_label(f"Select {first} Harbour").check()
    expect(bar.locator("[data-bulk-count]")).to_have_text("2 rows selected")
    bar.get_by_label("Action").select_option("delete")
    bar.get_by_role("button", name="Apply").click()
    outcome = bar.locator("#bulk-results")
    expect(outcome).to_contain_text("2 deleted")
    expect(outcome.locator('tr[data-outcome="deleted"]')).to_have_count(2)
    expect(rows).to_have_count(0)
    outcome.get_by_role("button", name="Undo delete").click()
    expect(outcome).to_contain_text("2 restored")
    expect(rows).to_have_count(2)

    page.get_by_role("searchbox", name="Search", exact=True).fill(names[0].lower())
    expect(rows).to_have_count(1)
    page.wait_for_url(re.compile(r"q=quill"))
    if SHOTS:
        page.set_viewport_size({"width": 1440, "height": 900})
        page.screenshot(path=str(Path(SHOTS) / "contacts-list-1440.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_label(f"Select {names[0]} Harbour").check()
    bar.get_by_label("Action").select_option("enrol")
    expect(bar.locator("select[name=bulk_cadence_id]")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "contacts-list-390.png"), full_page=True)
    web.assert_clean()
