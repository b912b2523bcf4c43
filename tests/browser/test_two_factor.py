"""Two-factor sign-in in the browser: set up on My account (secret shown as text,
recovery codes once), then signing in asks for the code after the password."""

from __future__ import annotations

import os
import re
import uuid

import pytest
from playwright.sync_api import expect

from baton.identity import totp
from tests.browser.support import WatchedPage, failed_resource
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
SHOTS = os.environ.get("BATON_SCREENSHOTS")


def test_set_up_then_sign_in_with_a_code(web: WatchedPage) -> None:
    page = web.page
    email = f"totp.{uuid.uuid4().hex[:8]}@example.com"
    registered = page.context.request.post(
        f"{web.base_url}/api/v1/auth/register",
        data={
            "organization_name": f"Totp {uuid.uuid4().hex[:8]}",
            "full_name": "Tess Totp",
            "email": email,
            "password": PASSWORD,
        },
    )
    assert registered.status == 201, registered.text()
    web.goto("/login")
    web.log_in(email, PASSWORD)
    page.wait_for_url(f"{web.base_url}/")
    web.goto("/account")
    page.get_by_role("button", name="Set up two-factor sign-in").click()
    secret_text = page.locator("#two-factor code").first.inner_text()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret_text)
    page.get_by_label("Code from the app").fill(totp.code_at(secret_text, totp.current_step()))
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(page.locator(".recovery-codes li")).to_have_count(10)
    if SHOTS:
        for width in (1440, 390):
            page.set_viewport_size({"width": width, "height": 900})
            page.locator("#two-factor").screenshot(path=f"{SHOTS}/two-factor-{width}.png")
        page.set_viewport_size({"width": 1440, "height": 900})
    web.log_out()
    web.log_in(email, PASSWORD)
    expect(page.get_by_role("alert")).to_have_text("Enter the code from your authenticator app")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Two-factor code").fill(totp.code_at(secret_text, totp.current_step() + 1))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{web.base_url}/")
    web.assert_clean(allowed=[failed_resource(401)])
