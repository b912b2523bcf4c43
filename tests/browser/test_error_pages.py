"""Error pages in the browser (issue 14 defect 7): an empty sign-in form comes back with
what to type beside each field, and an unknown page is a page in the layout with a
way back — never a "Validation failed" dead end or `{"detail":"Not Found"}`."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.support import WatchedPage, failed_resource
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def _register(web: WatchedPage) -> str:
    email = f"errors.{uuid.uuid4().hex[:8]}@example.com"
    registered = web.page.context.request.post(
        f"{web.base_url}/api/v1/auth/register",
        data={
            "organization_name": f"Errors {uuid.uuid4().hex[:8]}",
            "full_name": "Erin Errors",
            "email": email,
            "password": PASSWORD,
        },
    )
    assert registered.status == 201, registered.text()
    return email


def test_an_empty_sign_in_shows_the_form_again_and_then_signs_in(web: WatchedPage) -> None:
    page = web.page
    email = _register(web)
    web.goto("/login")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Enter your email address and password to sign in."
    )
    expect(page.locator("#email-error")).to_have_text("Enter the email address you sign in with.")
    expect(page.locator("#password-error")).to_have_text("Enter your password.")
    expect(page.get_by_label("Email")).to_have_attribute("aria-invalid", "true")

    page.get_by_label("Email").fill("erin")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#email-error")).to_contain_text("doesn't look like an email address")
    expect(page.get_by_label("Email")).to_have_value("erin")  # what was typed stays

    web.log_in(email, PASSWORD)
    page.wait_for_url(f"{web.base_url}/")
    web.assert_clean(allowed=[failed_resource(422)])


def test_an_unknown_page_keeps_the_navigation_and_leads_back(web: WatchedPage) -> None:
    page = web.page
    signed_out = web.goto("/no-such-page")
    assert signed_out.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    page.get_by_role("link", name="Sign in").click()
    page.wait_for_url(f"{web.base_url}/login")

    web.log_in(_register(web), PASSWORD)
    page.wait_for_url(f"{web.base_url}/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Accounts").click()
    page.wait_for_url(f"{web.base_url}/accounts")
    # A mistyped link on the accounts page.
    page.evaluate("location.href = '/accounts/not-an-account'")
    page.wait_for_url(f"{web.base_url}/accounts/not-an-account")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page.get_by_text("There is no page at this address")).to_be_visible()
    assert "Accounts" in web.sidebar()
    page.get_by_role("link", name="Back to the previous page").click()
    page.wait_for_url(f"{web.base_url}/accounts")
    web.goto("/deals/nothing/here")
    page.get_by_role("link", name="Go to the start page").click()
    page.wait_for_url(f"{web.base_url}/")
    web.assert_clean(allowed=[failed_resource(404)])
