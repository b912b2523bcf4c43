"""The notification bell and list in the browser: a deal given to a salesperson lights
their bell with a count; the bell opens the list, following the notification opens the
deal and the count goes down; marking all read clears it, by keyboard too. Runs in an
organization of its own (registered through the API)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.support import WatchedPage
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_the_bell_counts_opens_the_list_and_follows_a_notification(web: WatchedPage) -> None:
    page = web.page
    api = page.context.request
    tag = uuid.uuid4().hex[:8]
    registered = api.post(
        f"{web.base_url}/api/v1/auth/register",
        data={
            "organization_name": f"Bells {tag}",
            "full_name": "Ada Admin",
            "email": f"bell.admin.{tag}@example.com",
            "password": PASSWORD,
        },
    )
    assert registered.status == 201, registered.text()
    admin = {"Authorization": f"Bearer {registered.json()['access_token']}"}
    seller_email = f"bell.sales.{tag}@example.com"
    seller = api.post(
        f"{web.base_url}/api/v1/users",
        headers=admin,
        data={
            "email": seller_email,
            "full_name": "Sam Seller",
            "role": "sales",
            "password": PASSWORD,
        },
    )
    assert seller.status == 201, seller.text()
    account = api.post(
        f"{web.base_url}/api/v1/accounts", headers=admin, data={"name": f"Bellwether {tag}"}
    )
    assert account.status == 201, account.text()
    due = (datetime.now(UTC).date() + timedelta(days=7)).isoformat()
    deals = []
    for name in ("Harbour cranes", "Cold storage"):
        deal = api.post(
            f"{web.base_url}/api/v1/deals",
            headers=admin,
            data={
                "name": f"{name} {tag}",
                "account_id": account.json()["id"],
                "owner_id": seller.json()["id"],
                "next_step": "Call the buyer",
                "next_step_due_date": due,
            },
        )
        assert deal.status == 201, deal.text()
        deals.append(deal.json())

    web.goto("/login")
    web.log_in(seller_email, PASSWORD)
    page.wait_for_url(f"{web.base_url}/")
    bell = page.get_by_role("link", name="Notifications: 2 unread")
    expect(bell).to_be_visible()
    expect(bell).to_contain_text("2")
    bell.click()
    page.wait_for_url(f"{web.base_url}/notifications")
    expect(page.get_by_role("heading", name="Notifications", level=1)).to_be_visible()
    first = page.get_by_role("link", name=f"Ada Admin gave you the deal Harbour cranes {tag}")
    expect(first).to_be_visible()
    first.click()
    page.wait_for_url(f"{web.base_url}/deals/{deals[0]['id']}")
    expect(page.get_by_role("heading", name=f"Harbour cranes {tag}")).to_be_visible()
    expect(page.get_by_role("link", name="Notifications: 1 unread")).to_be_visible()

    # Back on the list, by keyboard: mark all read; the bell follows without a reload.
    page.get_by_role("link", name="Notifications: 1 unread").click()
    page.wait_for_url(f"{web.base_url}/notifications")
    mark_all = page.get_by_role("button", name="Mark all read")
    mark_all.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("1 marked read")
    expect(page.get_by_role("link", name="Notifications: none unread")).to_be_visible()
    expect(page.get_by_role("button", name="Mark all read")).to_have_count(0)
    web.assert_clean()
