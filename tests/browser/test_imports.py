"""Importing targets in the browser: from the Targets list's "Import targets" button,
upload a CSV with two bad rows, a duplicate and a company column the mapping does
not recognise; fix the mapping, import the valid rows with the progress bar showing
until a worker (started only then) finishes, see the history row, and undo."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid

import pytest
from playwright.sync_api import expect

from baton.demo import DEMO_PASSWORD
from tests.browser.support import WatchedPage

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

ADMIN = "admin@acme.example"


def test_upload_fix_the_mapping_commit_with_progress_and_undo(web: WatchedPage) -> None:
    page = web.page
    tag = uuid.uuid4().hex[:8]
    csv = (
        "Org,Mail,Colour\n"
        f"Alpha {tag},alpha-{tag}@example.com,red\n"
        f"Beta {tag},not-an-email,blue\n"
        f"Gamma {tag},gamma-{tag}@example.com,green\n"
        f"Gamma again {tag},gamma-{tag}@example.com,green\n"
        f"Delta {tag},also wrong,white\n"
    )
    filename = f"fair-{tag}.csv"
    web.goto("/login")
    web.log_in(ADMIN, DEMO_PASSWORD)
    page.wait_for_url(f"{web.base_url}/")
    web.goto("/targets")
    page.get_by_role("link", name="Import targets").click()
    page.wait_for_url(f"{web.base_url}/imports?kind=targets")
    page.get_by_label("File").set_input_files(
        {"name": filename, "mimeType": "text/csv", "buffer": csv.encode()}
    )
    page.get_by_role("button", name="Upload and preview").click()
    page.wait_for_url(f"{web.base_url}/imports/*")
    expect(page.get_by_role("heading", level=1)).to_contain_text(filename)
    errors = page.locator("table.import-errors")
    expect(errors).to_contain_text("Company has no column")

    page.get_by_label("Field for Org").select_option(label="Company (required)")
    page.get_by_role("button", name="Update the preview").click()
    expect(page.locator("[data-would]")).to_contain_text(
        "2 to create, 0 to update, 1 to skip; 2 rows with errors"
    )
    expect(errors).to_contain_text("is not a valid email address")
    expect(errors.locator("tbody tr")).to_have_count(2)
    expect(page.locator("table.import-duplicates")).to_contain_text("row 3 of the file")

    page.get_by_label("Import the valid rows only").check()
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_text("Importing: 0 of 5 rows")).to_be_visible()
    expect(page.locator("progress")).to_be_visible()

    worker = subprocess.Popen(
        [sys.executable, "-m", "baton", "worker"],
        env={**os.environ, "BATON_LOG_LEVEL": "WARNING"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        expect(page.locator("[data-outcome]")).to_contain_text(
            "2 created, 0 updated, 1 skipped, 2 failed", timeout=30_000
        )
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    expect(page.locator("progress")).to_have_count(0)

    page.get_by_role("link", name="All imports").click()
    row = page.locator("table.imports tr", has_text=filename)
    expect(row).to_contain_text("Completed")
    expect(row).to_contain_text("2 / 0 / 1 / 2")
    row.get_by_role("link", name=filename).click()
    page.get_by_role("button", name="Undo this import").click()
    expect(page.get_by_text("Import undone")).to_be_visible()
    web.goto(f"/targets?q=Alpha+{tag}")
    expect(page.get_by_text("No target matches")).to_be_visible()
    web.assert_clean()
