"""Money in the organization's locale in the browser (issue 14, defect 6): an admin
picks "Deutsch (Deutschland)" on the Organization settings page; the board's cards and
column totals and the account page then write `1.250,00 €`, at 1440 and 390 px
without sideways scrolling, and Add deal reads an amount typed as `2.500,50`.
Screenshots of both pages at both widths go to `BATON_SCREENSHOTS` (a temp dir by
default) for a person to look at. Runs in an organization of its own."""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.support import WatchedPage
from tests.browser.test_layout import OVERFLOW
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

EURO = "1.250,00\u00a0€"


def test_board_and_account_page_write_money_in_german(web: WatchedPage) -> None:
    page = web.page
    api = page.context.request
    tag = uuid.uuid4().hex[:8]
    email = f"locale.{tag}@example.com"
    registered = api.post(
        f"{web.base_url}/api/v1/auth/register",
        data={
            "organization_name": f"Locale {tag}",
            "full_name": "Lena Locale",
            "email": email,
            "password": PASSWORD,
        },
    )
    assert registered.status == 201, registered.text()
    headers = {"Authorization": f"Bearer {registered.json()['access_token']}"}
    account = api.post(
        f"{web.base_url}/api/v1/accounts", headers=headers, data={"name": f"Feinkost {tag}"}
    )
    assert account.status == 201, account.text()
    account_id = account.json()["id"]
    deal = api.post(
        f"{web.base_url}/api/v1/deals",
        headers=headers,
        data={
            "account_id": account_id,
            "name": f"Rahmenvertrag {tag}",
            "amount": "1250.00",
            "currency": "EUR",
            "next_step": "Angebot schicken",
            "next_step_due_date": "2031-01-15",
        },
    )
    assert deal.status == 201, deal.text()

    web.goto("/login")
    web.log_in(email, PASSWORD)
    page.wait_for_url(f"{web.base_url}/")
    web.goto("/settings/organization")
    # Named in its language, with an amount in the organization's currency (USD).
    page.get_by_label("Money format").select_option(label="Deutsch (Deutschland) — 1.250,50\u00a0$")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status")).to_contain_text("Settings saved")

    shots = Path(os.environ.get("BATON_SCREENSHOTS") or tempfile.mkdtemp(prefix="baton-locale-"))
    shots.mkdir(parents=True, exist_ok=True)
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 900})
        web.goto("/pipeline")
        card = page.locator("[data-card]", has_text=f"Rahmenvertrag {tag}")
        expect(card).to_contain_text(EURO)
        expect(page.locator("[data-totals]").first).to_contain_text(EURO)
        measured = page.evaluate(OVERFLOW)
        assert measured["scrollWidth"] <= width, ("/pipeline", width, measured)
        page.screenshot(path=str(shots / f"pipeline-de-DE-{width}.png"), full_page=True)

        web.goto(f"/accounts/{account_id}")
        expect(page.locator("main")).to_contain_text(EURO)
        measured = page.evaluate(OVERFLOW)
        assert measured["scrollWidth"] <= width, ("/accounts", width, measured)
        page.screenshot(path=str(shots / f"account-de-DE-{width}.png"), full_page=True)

    web.assert_clean()

    # Add deal on the account page takes an amount as de-DE types it.
    page.set_viewport_size({"width": 1440, "height": 900})
    page.locator("summary", has_text="Add deal").click()
    form = page.locator("#deal-add")
    expect(form.get_by_label("Amount")).to_have_attribute("placeholder", "1.250,50")
    form.get_by_label("Deal name").fill(f"Nachkauf {tag}")
    form.get_by_label("Amount").fill("2.500,50")
    form.get_by_label("Next step", exact=True).fill("Anrufen")
    form.get_by_label("Next step due").fill("2031-02-01")
    form.get_by_role("button", name="Add deal").click()
    # In the organization's currency (USD), its own symbol.
    expect(page.locator("main")).to_contain_text("2.500,50\u00a0$")
    added = api.get(
        f"{web.base_url}/api/v1/deals", headers=headers, params={"account_id": account_id}
    )
    amounts = {item["name"]: item["amount"] for item in added.json()["items"]}
    assert amounts[f"Nachkauf {tag}"] == "2500.50"
