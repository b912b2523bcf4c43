"""The Export links of a list download what the list shows: the demo admin searches the
accounts, downloads the CSV and the Excel file with that search, then the pipeline's
"Mine" deals."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import expect

from baton.demo import DEMO_PASSWORD
from tests.browser.support import WatchedPage

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

ADMIN = "admin@acme.example"


def test_the_export_links_carry_the_filters_on_screen(web: WatchedPage, tmp_path: Path) -> None:
    page = web.page
    web.goto("/login")
    web.log_in(ADMIN, DEMO_PASSWORD)
    page.wait_for_url(f"{web.base_url}/")
    web.goto("/accounts")
    page.get_by_role("searchbox").fill("nordhafen")
    results = page.locator("#account-results tbody tr[data-account]")
    expect(results).to_have_count(1)
    shown = results.first.get_attribute("data-account")

    csv_link = page.locator("#account-results [data-export=csv]")
    expect(csv_link).to_have_attribute("href", "/exports/accounts?format=csv&q=nordhafen")
    with page.expect_download() as download:
        csv_link.click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name.startswith("baton-accounts-")
    assert saved.suffix == ".csv"
    rows = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    assert [row["Name"] for row in rows] == [shown]

    with page.expect_download() as download:
        page.locator("#account-results [data-export=xlsx]").click()
    book = tmp_path / download.value.suggested_filename
    download.value.save_as(book)
    sheet = openpyxl.load_workbook(book).active
    assert sheet is not None
    assert [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)] == [shown]

    web.goto("/pipeline")
    page.locator("[data-filter=mine]").click()
    expect(page.locator("#board [data-export=csv]")).to_have_attribute(
        "href", "/exports/deals?format=csv&view=mine"
    )
    with page.expect_download() as download:
        page.locator("#board [data-export=csv]").click()
    deals = tmp_path / download.value.suggested_filename
    download.value.save_as(deals)
    owners = {
        row["Owner"] for row in csv.DictReader(io.StringIO(deals.read_text(encoding="utf-8-sig")))
    }
    assert owners <= {ADMIN}
