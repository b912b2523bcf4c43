"""Previewing a deals import in the browser, at 1440 and 390 px: Deals in the kind
list, Pipedrive's headers mapped, the stage, account and owner errors in words, and a
duplicate said as what it matches (never an internal id)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect

from baton.demo import DEMO_PASSWORD
from tests.browser.support import WatchedPage

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

ADMIN = "admin@acme.example"
SHOTS = os.environ.get("BATON_SCREENSHOTS")


def test_a_deals_preview_reads_at_both_widths(web: WatchedPage) -> None:
    page = web.page
    tag = uuid.uuid4().hex[:8]
    csv = (
        "Deal - Title,Deal - Organization,Deal - Stage,Deal - Owner,Deal - Value,Deal - Currency\n"
        f'Pilot {tag},Nordhafen Feinkost GmbH,Proposal,{ADMIN},"12,000.00",EUR\n'
        f"pilot {tag},nordhafen-feinkost.de,Negotiation,,500,EUR\n"
        f"Closed {tag},Nordhafen Feinkost GmbH,Won,,,\n"
        f"Nowhere {tag},Umbrella {tag},Proposal,,,\n"
        f"Stranger {tag},Nordhafen Feinkost GmbH,Proposal,nobody@else.example,,\n"
    )
    filename = f"pipedrive-{tag}.csv"
    web.goto("/login")
    web.log_in(ADMIN, DEMO_PASSWORD)
    page.wait_for_url(f"{web.base_url}/")
    web.goto("/imports?kind=deals")
    page.get_by_label("File").set_input_files(
        {"name": filename, "mimeType": "text/csv", "buffer": csv.encode()}
    )
    page.get_by_role("button", name="Upload and preview").click()
    page.wait_for_url(f"{web.base_url}/imports/*")
    expect(page.get_by_role("heading", level=1)).to_contain_text(filename)
    expect(page.get_by_label("Field for Deal - Stage")).to_have_value("step")
    errors = page.locator("table.import-errors")
    expect(errors).to_contain_text("'Won' closes a deal")
    expect(errors).to_contain_text(f"'Umbrella {tag}' is not an account of the organization")
    expect(errors).to_contain_text("is not a member who can own records")
    # By row, each field by its label.
    expect(errors.locator("tbody tr").first).to_contain_text("Stage (step key or name)")
    expect(errors.locator("tbody tr").first).to_contain_text("3")
    duplicates = page.locator("table.import-duplicates")
    expect(duplicates).to_contain_text(f"Deal name at the account: pilot {tag}")
    expect(duplicates).to_contain_text("row 1 of the file")
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 900})
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        assert not overflow, f"the page scrolls sideways at {width} px"
        if SHOTS:
            page.screenshot(path=str(Path(SHOTS) / f"import-deals-{width}.png"), full_page=True)
    web.assert_clean()
