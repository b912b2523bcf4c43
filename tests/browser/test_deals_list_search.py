"""The deals list's search box (issue 14, defect 5) in a browser: typing words from the
middle of deal names narrows the list at once, best matches first; the address carries
`q`, a saved view keeps it, and the box fits a desktop and a phone. Names are unique
per run (the demo organization is shared with the other browser tests).

BATON_SCREENSHOTS=<dir> keeps a screenshot at 1440 and 390 px for a look."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from baton.demo import DEMO_PASSWORD
from tests.browser.support import WatchedPage

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

SALES = "sales1@acme.example"


def _deals(web: WatchedPage, names: list[str]) -> list[str]:
    """Deals added through the API as the demo salesperson, on a new account; their ids.
    The demo organization is every browser test's: no name here may hold a word another
    test searches the demo's records for (the exports test finds one "Nordhafen")."""
    api = web.page.context.request
    signed_in = api.post(
        f"{web.base_url}/api/v1/auth/login", data={"email": SALES, "password": DEMO_PASSWORD}
    )
    assert signed_in.ok, signed_in.text()
    headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    account = api.post(
        f"{web.base_url}/api/v1/accounts", headers=headers, data={"name": names[0] + " Account"}
    )
    assert account.status == 201, account.text()
    ids = []
    for name in names:
        body: dict[str, Any] = {
            "name": name,
            "account_id": account.json()["id"],
            "amount": "1250.00",
            "next_step": "Send the offer",
            "next_step_due_date": "2099-01-15",
        }
        created = api.post(f"{web.base_url}/api/v1/deals", headers=headers, data=body)
        assert created.status == 201, created.text()
        ids.append(created.json()["id"])
    return ids


def _sign_in(web: WatchedPage) -> None:
    web.goto("/login")
    web.log_in(SALES, DEMO_PASSWORD)
    web.page.wait_for_url(f"{web.base_url}/")


def test_typing_in_the_search_box_finds_words_anywhere_best_first(web: WatchedPage) -> None:
    tag = uuid.uuid4().hex[:8]
    in_name, starts = f"Harbour Feinkost{tag} renewal", f"Feinkost{tag} Meyer pilot"
    _deals(web, [in_name, starts, f"Other {tag} deal"])
    page = web.page
    _sign_in(web)
    web.goto("/deals")
    rows = page.locator("table.deals-list tbody tr[data-deal]")
    expect(rows.first).to_be_visible()

    box = page.get_by_role("searchbox", name="Search")
    box.fill(f"feinkost{tag}")
    page.wait_for_url(re.compile(rf"/deals\?q=feinkost{tag}$"))
    expect(rows).to_have_count(2)
    # The name starting with the word first, then the one holding it (rows carry names).
    assert rows.evaluate_all("rows => rows.map(row => row.dataset.deal)") == [starts, in_name]

    # With another filter the search narrows it; a word nowhere says so.
    page.locator("select[name=view]").select_option("closed")
    page.wait_for_url(re.compile(rf"q=feinkost{tag}&view=closed|view=closed.*q=feinkost{tag}"))
    expect(page.locator("#deal-results")).to_contain_text(f"No deal name holds “feinkost{tag}”")
    page.locator("select[name=view]").select_option("")
    # The results redrawn (the save-view form with them) before it is used.
    page.wait_for_url(re.compile(rf"/deals\?q=feinkost{tag}$"))
    expect(rows).to_have_count(2)

    page.locator("summary", has_text="Save view").click()
    page.get_by_label("Name", exact=True).fill(f"Feinkost {tag}")
    page.get_by_role("button", name="Save view").click()
    tab = page.locator(f'[data-view-tab="Feinkost {tag}"]')
    expect(tab).to_have_attribute("aria-current", "page")

    page.reload()
    page.locator('[data-view-tab="All"]').click()
    page.wait_for_url(f"{web.base_url}/deals")
    expect(box).to_have_value("")
    tab.click()
    page.wait_for_url(re.compile(rf"q=feinkost{tag}"))
    expect(box).to_have_value(f"feinkost{tag}")
    expect(rows).to_have_count(2)
    # A searched list opened from its link sorts by best match unless told otherwise.
    web.goto(f"/deals?q=feinkost{tag}")
    expect(page.locator("select[name=sort] option").first).to_have_text("Best match")
    web.assert_clean()


def test_a_searched_deals_list_fits_a_desktop_and_a_phone(web: WatchedPage) -> None:
    tag = uuid.uuid4().hex[:8]
    _deals(web, [f"Harbour Logistik{tag} expansion", f"Logistik{tag} Nord framework"])
    page = web.page
    _sign_in(web)
    shots = os.environ.get("BATON_SCREENSHOTS")
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 900})
        web.goto(f"/deals?q=logistik{tag}")
        expect(page.locator("table.deals-list tbody tr[data-deal]")).to_have_count(2)
        expect(page.get_by_role("searchbox", name="Search")).to_be_visible()
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= width, f"the searched deals list scrolls sideways at {width}px ({wide}px)"
        if shots:
            Path(shots).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=f"{shots}/deals-list-search-{width}.png", full_page=False)
    web.assert_clean()
