"""The Organization settings page in the browser: an out-of-range claim SLA is refused
next to its field, the corrected value saves in place (htmx, no reload) and the
saved form carries the new version. Runs in an organization of its own (registered
through the API), so the shared demo organization keeps its settings."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.support import WatchedPage, htmx_response_error
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_an_admin_fixes_a_refused_claim_sla_and_saves(web: WatchedPage) -> None:
    page = web.page
    email = f"settings.{uuid.uuid4().hex[:8]}@example.com"
    registered = page.context.request.post(
        f"{web.base_url}/api/v1/auth/register",
        data={
            "organization_name": f"Settings {uuid.uuid4().hex[:8]}",
            "full_name": "Sia Settings",
            "email": email,
            "password": PASSWORD,
        },
    )
    assert registered.status == 201, registered.text()

    web.goto("/login")
    web.log_in(email, PASSWORD)
    page.wait_for_url(f"{web.base_url}/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Organization").click()
    page.wait_for_url(f"{web.base_url}/settings/organization")
    sla = page.get_by_label("Claim SLA")
    expect(sla).to_have_value("24")

    sla.fill("1000")
    page.get_by_role("button", name="Save settings").click()
    error = page.locator('[data-field-error="claim_sla_hours"]')
    expect(error).to_contain_text("720")
    expect(page.get_by_label("Claim SLA")).to_have_value("1000")  # what was typed stays

    page.get_by_label("Claim SLA").fill("8")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status")).to_contain_text("Settings saved")
    expect(error).to_have_count(0)
    expect(page.locator('input[name="version"]')).to_have_value("2")
    page.reload()
    expect(page.get_by_label("Claim SLA")).to_have_value("8")
    web.assert_clean(allowed=[htmx_response_error(422), r"status of 422"])
