"""The change trail in a browser (issue 14): a deal a salesperson lost for want of
budget reads, on its page's Changes and on the admin's Audit page, "Loss reason: — →
No budget" with times as the viewer's clock writes them (no ISO timestamps, no codes)
and its amount as money; both pages fit 1440 and 390 px without sideways scrolling.

BATON_SCREENSHOTS=<dir> keeps both pages at both widths for a person to look at."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import APIRequestContext, expect

from baton.demo import DEMO_PASSWORD
from tests.browser.support import WatchedPage
from tests.browser.test_layout import OVERFLOW

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

ADMIN = "admin@acme.example"
SALES = "sales1@acme.example"
# What a raw stored time looks like: `2026-12-07T15:52:00.123+00:00`.
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def _lost_deal(api: APIRequestContext, base_url: str, name: str) -> dict[str, Any]:
    signed_in = api.post(
        f"{base_url}/api/v1/auth/login", data={"email": SALES, "password": DEMO_PASSWORD}
    )
    assert signed_in.ok, signed_in.text()
    headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    account = api.post(f"{base_url}/api/v1/accounts", headers=headers, data={"name": name})
    assert account.status == 201, account.text()
    deal = api.post(
        f"{base_url}/api/v1/deals",
        headers=headers,
        data={
            "account_id": account.json()["id"],
            "name": name,
            "amount": "1250.00",
            "next_step": "Call finance",
            "next_step_due_date": "2031-01-15",
        },
    )
    assert deal.status == 201, deal.text()
    closed = api.post(
        f"{base_url}/api/v1/deals/{deal.json()['id']}/close",
        headers=headers,
        data={"version": deal.json()["version"], "outcome": "lost", "reason": "no_budget"},
    )
    assert closed.ok, closed.text()
    lost: dict[str, Any] = closed.json()["deal"]
    return lost


def test_the_trail_reads_labels_local_times_and_money(web: WatchedPage) -> None:
    page = web.page
    name = f"Frozen budget {uuid.uuid4().hex[:8]}"
    deal = _lost_deal(page.context.request, web.base_url, name)
    web.goto("/login")
    web.log_in(ADMIN, DEMO_PASSWORD)
    page.wait_for_url(f"{web.base_url}/")

    shots = os.environ.get("BATON_SCREENSHOTS")
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 900})
        web.goto(f"/deals/{deal['id']}")
        section = page.locator("#changes")
        section.locator("summary").click()
        close = section.locator("li[data-change=update]").first
        expect(close).to_contain_text("Loss reason: — → No budget")
        expect(close).to_contain_text("Outcome: — → Lost")
        expect(close).to_contain_text(re.compile(r"Closed at: — → \d{4}-\d{2}-\d{2} \d{2}:\d{2}"))
        assert not ISO_TIME.search(section.inner_text())
        assert "no_budget" not in section.inner_text()
        measured = page.evaluate(OVERFLOW)
        assert measured["scrollWidth"] <= width, ("deal", width, measured)
        if shots:
            Path(shots).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=f"{shots}/deal-changes-{width}.png", full_page=True)

        web.goto("/audit")
        row = page.locator("table[data-audit] tr", has_text="Loss reason").filter(has_text=name)
        expect(row).to_have_count(1)
        expect(row).to_contain_text(f"Deal {name}")
        expect(row).to_contain_text("Loss reason: — → No budget")
        assert not ISO_TIME.search(row.inner_text())
        created = page.locator("table[data-audit] tr", has_text=name).filter(has_text="Created")
        expect(created.first).to_be_visible()
        measured = page.evaluate(OVERFLOW)
        assert measured["scrollWidth"] <= width, ("audit", width, measured)
        if shots:
            page.screenshot(path=f"{shots}/audit-{width}.png", full_page=False)
    web.assert_clean()
