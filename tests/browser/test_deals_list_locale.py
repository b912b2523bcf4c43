"""The deals list's amount filters in a de-DE organization, in a browser (issue 14):
whatever the browser's own locale, the boxes take `1.234,50` as the organization
writes it, show it back that way after a reload, and name an entry that is no
amount with an example, which the address bar keeps (a reload names it again); the
list fits 1440 and 390 px.

BATON_SCREENSHOTS=<dir> keeps the list with a refused amount at both widths."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.support import WatchedPage
from tests.browser.test_layout import OVERFLOW
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_amount_filters_read_and_write_the_organizations_locale(web: WatchedPage) -> None:
    page = web.page
    api = page.context.request
    tag = uuid.uuid4().hex[:8]
    email = f"filter.{tag}@example.com"
    registered = api.post(
        f"{web.base_url}/api/v1/auth/register",
        data={
            "organization_name": f"Filter {tag}",
            "full_name": "Fritz Filter",
            "email": email,
            "password": PASSWORD,
        },
    )
    assert registered.status == 201, registered.text()
    headers = {"Authorization": f"Bearer {registered.json()['access_token']}"}
    settings = api.get(f"{web.base_url}/api/v1/settings", headers=headers)
    localized = api.patch(
        f"{web.base_url}/api/v1/settings",
        headers=headers,
        data={"locale": "de-DE", "version": settings.json()["version"]},
    )
    assert localized.ok, localized.text()
    account = api.post(
        f"{web.base_url}/api/v1/accounts", headers=headers, data={"name": f"Kunde {tag}"}
    )
    assert account.status == 201, account.text()
    for name, amount in (("Klein", "1234.00"), ("Genau", "1234.50"), ("Gross", "250000.00")):
        deal = api.post(
            f"{web.base_url}/api/v1/deals",
            headers=headers,
            data={
                "account_id": account.json()["id"],
                "name": name,
                "amount": amount,
                "next_step": "Anrufen",
                "next_step_due_date": "2031-01-15",
            },
        )
        assert deal.status == 201, deal.text()

    web.goto("/login")
    web.log_in(email, PASSWORD)
    page.wait_for_url(f"{web.base_url}/")
    web.goto("/deals")
    rows = page.locator("table.deals-list tbody tr[data-deal]")
    expect(rows).to_have_count(3)
    low = page.get_by_label("Amount from")
    expect(low).to_have_attribute("placeholder", "1.250,50")
    low.fill("1.234,50")
    low.press("Enter")
    page.wait_for_url(re.compile(r"/deals\?amount_min=1234\.5$"))
    expect(rows).to_have_count(2)
    assert sorted(rows.evaluate_all("rows => rows.map(row => row.dataset.deal)")) == [
        "Genau",
        "Gross",
    ]
    page.reload()
    expect(page.get_by_label("Amount from")).to_have_value("1.234,50")
    expect(rows).to_have_count(2)

    high = page.get_by_label("Amount to", exact=True)
    high.fill("zwölf")
    high.press("Enter")
    error = page.locator("[data-field-error=amount_max]")
    refusal = "Amount to: “zwölf” is left out — type an amount such as 1.250,50."
    expect(error).to_have_text(refusal)
    expect(rows).to_have_count(2)
    # The address bar keeps what was typed: a reload (or the link) names it again.
    page.wait_for_url(re.compile(r"/deals\?amount_max=zw%C3%B6lf&amount_min=1234\.5$"))
    page.reload()
    expect(page.locator("[data-field-error=amount_max]")).to_have_text(refusal)
    expect(page.get_by_label("Amount to", exact=True)).to_have_value("zwölf")
    expect(page.get_by_label("Amount from")).to_have_value("1.234,50")
    expect(rows).to_have_count(2)

    shots = os.environ.get("BATON_SCREENSHOTS")
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 900})
        expect(page.locator("[data-field-error=amount_max]")).to_be_visible()
        expect(page.get_by_label("Amount to", exact=True)).to_have_value("zwölf")
        measured = page.evaluate(OVERFLOW)
        assert measured["scrollWidth"] <= width, (width, measured)
        if shots:
            Path(shots).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=f"{shots}/deals-list-de-DE-{width}.png", full_page=False)
    web.assert_clean()
