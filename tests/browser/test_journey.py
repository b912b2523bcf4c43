"""The admin and sales journeys through the web shell, in a real browser.

Plain `def` tests on purpose: Playwright's sync API refuses to run inside the
suite's asyncio loop, and the server under test runs in its own thread.
"""

from __future__ import annotations

import os
import re
import uuid

import pytest
from playwright.sync_api import Browser, expect

from baton.demo import DEMO_PASSWORD
from tests.browser.support import (
    BARE_ERROR_PAGE_FAVICON,
    WatchedPage,
    failed_resource,
    htmx_response_error,
)

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

ADMIN = "admin@acme.example"
ADMIN_SIDEBAR = [
    "Home",
    "Lead Inbox",
    "Sales Inbox",
    "My Leads",
    "Nurture",
    "Disqualified",
    "Converted",
    "Team's leads",
    "Pipeline",
    "Accounts",
    "Contacts",
    "Targets",
    "Activities",
    "Imports",
    "Work items",
    "Workflows",
    "Statuses",
    "Project types",
    "Team",
    "Organization",
    "Jobs",
    "Webhooks",
    "Audit",
    "API keys",
    "My account",
]
SALES_SIDEBAR = [
    "Home",
    "Sales Inbox",
    "My Leads",
    "Pipeline",
    "Accounts",
    "Contacts",
    "Targets",
    "Activities",
    "Imports",
    "Work items",
    "API keys",
    "My account",
]
INVITED_PASSWORD = "browser-test-password"
# Set to a directory to keep a screenshot of the team page for a visual check.
SCREENSHOT_DIR = os.environ.get("BATON_BROWSER_SCREENSHOTS")


def _mark_document(web: WatchedPage) -> None:
    """Tag the live document: the tag survives htmx swaps but not a page load."""
    web.page.evaluate("window.__batonSameDocument = true")


def _same_document(web: WatchedPage) -> bool:
    return bool(web.page.evaluate("window.__batonSameDocument === true"))


def _screenshot(web: WatchedPage, name: str) -> None:
    if SCREENSHOT_DIR:
        web.page.screenshot(path=os.path.join(SCREENSHOT_DIR, name), full_page=True)


def test_admin_invites_a_member_and_sales_sees_no_admin_pages(
    web: WatchedPage, browser: Browser
) -> None:
    page = web.page
    new_email = f"bea-{uuid.uuid4().hex[:10]}@acme.example"

    # Signed out: the home page sends the visitor to the login form.
    response = web.goto("/")
    assert web.path() == "/login?next=/"
    assert "script-src 'self'" in (response.headers.get("content-security-policy") or "")

    web.log_in(ADMIN, DEMO_PASSWORD)
    page.wait_for_url(f"{web.base_url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Ada Admin")
    assert web.sidebar() == ADMIN_SIDEBAR
    # The session cookie is HttpOnly: page scripts never see it.
    assert "baton_session" not in page.evaluate("document.cookie")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Team", exact=True).click()
    page.wait_for_url(f"{web.base_url}/team")
    expect(page.get_by_role("heading", name="Team", level=1)).to_be_visible()
    members = page.locator("#members")
    expect(members.locator(f'tr[data-email="{ADMIN}"]')).to_be_visible()
    expect(page.get_by_role("link", name="Team", exact=True)).to_have_attribute(
        "aria-current", "page"
    )

    # Invite through the htmx form: no password asked; the pending invitations are
    # swapped in place with the one-time link to copy.
    _mark_document(web)
    invite = page.locator("form[hx-post='/team/invitations']")
    expect(invite.get_by_label("Initial password")).to_have_count(0)
    invite.get_by_label("Full name").fill("Bea Browser")
    invite.get_by_label("Email").fill(new_email)
    invite.get_by_label("Role").select_option("sales")
    invite.get_by_role("button", name="Invite").click()

    pending = page.locator(f'#invitations tr[data-email="{new_email}"]')
    expect(pending).to_be_visible()
    expect(pending.locator("td").first).to_have_text("Bea Browser")
    expect(page.locator("#invitations").get_by_role("status")).to_contain_text("copy the link now")
    expect(invite.get_by_label("Email")).to_have_value("")  # reset after success
    assert _same_document(web), "the invite reloaded the page instead of swapping"
    expect(page.locator("#toasts")).to_be_empty()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=web.base_url)
    page.get_by_role("button", name="Copy link").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    link = page.evaluate("navigator.clipboard.readText()")
    assert link == page.get_by_label("Invitation link").input_value()
    assert link.startswith(f"{web.base_url}/invitations/bai_")
    expect(members.locator(f'tr[data-email="{new_email}"]')).to_have_count(0)

    _screenshot(web, "team.png")

    # The invitee opens the link in a browser of their own, chooses a password and is
    # signed in as a salesperson of the organization.
    invitee_context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        invitee = invitee_context.new_page()
        invitee.goto(link)
        expect(invitee.get_by_role("heading", level=1)).to_have_text("Join Acme Logistics")
        expect(invitee.get_by_text(new_email)).to_be_visible()
        expect(invitee.get_by_label("Your name")).to_have_value("Bea Browser")
        invitee.get_by_label("Choose a password").fill("password1234")
        invitee.get_by_role("button", name="Join Acme Logistics").click()
        expect(invitee.locator("#password-error")).to_contain_text("common")
        invitee.get_by_label("Choose a password").fill(INVITED_PASSWORD)
        invitee.get_by_role("button", name="Join Acme Logistics").click()
        invitee.wait_for_url(f"{web.base_url}/")
        expect(invitee.get_by_role("heading", level=1)).to_have_text("Welcome, Bea Browser")
        # The link is spent: opened again, it says so and offers sign-in.
        invitee.goto(link)
        expect(invitee.get_by_role("alert")).to_contain_text("already used")
        expect(invitee.get_by_role("link", name="Sign in").first).to_be_visible()
    finally:
        invitee_context.close()
    web.goto("/team")
    expect(page.locator(f'#members tr[data-email="{new_email}"]')).to_be_visible()
    expect(page.locator(f'#invitations tr[data-email="{new_email}"]')).to_have_count(0)

    web.log_out()
    expect(page.get_by_role("heading", name="Sign in to Baton")).to_be_visible()
    web.goto("/team")
    assert web.path() == "/login?next=/team"  # the session is gone
    web.goto("/login")

    # The member just invited is a sales user and signs in with the chosen password.
    web.log_in(new_email, INVITED_PASSWORD)
    page.wait_for_url(f"{web.base_url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Bea Browser")
    assert web.sidebar() == SALES_SIDEBAR
    assert page.get_by_role("link", name="Team", exact=True).count() == 0

    forbidden = web.goto("/team")
    assert forbidden.status == 403
    expect(page.get_by_role("alert")).to_contain_text(re.compile(r"\S"))
    expect(page.get_by_role("heading", name="Team")).to_have_count(0)
    expect(page.get_by_text("Invite someone")).to_have_count(0)
    expect(page.locator("#members")).to_have_count(0)

    web.goto("/")
    web.log_out()

    web.assert_clean(allowed=[failed_resource(403), BARE_ERROR_PAGE_FAVICON])


def test_demo_sales_user_sees_no_admin_entries(web: WatchedPage) -> None:
    page = web.page
    web.goto("/login")
    web.log_in("sales1@acme.example", DEMO_PASSWORD)
    page.wait_for_url(f"{web.base_url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Sam Sales")
    assert web.sidebar() == SALES_SIDEBAR
    # Home is the salesperson's dashboard: none of its links leads to an admin page.
    links = page.locator("main").get_by_role("link").all()
    targets = [link.get_attribute("href") or "" for link in links]
    assert "/activities?view=overdue&owner=me" in targets
    assert not [t for t in targets if t.startswith(("/team", "/jobs", "/audit", "/workflow"))]

    response = web.goto("/team")
    assert response.status == 403
    expect(page.get_by_text("Invite someone")).to_have_count(0)
    web.assert_clean(allowed=[failed_resource(403), BARE_ERROR_PAGE_FAVICON])


def test_every_admin_page_renders_without_console_or_csp_errors(web: WatchedPage) -> None:
    page = web.page
    web.goto("/login")
    web.log_in(ADMIN, DEMO_PASSWORD)
    page.wait_for_url(f"{web.base_url}/")
    for label, heading in [
        ("Team", "Team"),
        ("Converted", "Converted"),
        ("Team's leads", "Team's leads"),
        ("API keys", "API keys"),
        ("My account", "My account"),
        ("Home", "Welcome, Ada Admin"),
    ]:
        sidebar = page.get_by_role("navigation", name="Main")
        sidebar.get_by_role("link", name=label, exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        expect(page.get_by_role("link", name=label, exact=True).first).to_be_visible()
    # htmx loaded (from /static, as the CSP demands) and baton.js is wired up.
    assert page.evaluate("typeof window.htmx") == "object"
    web.assert_clean()


def test_wrong_password_shows_the_error_on_the_login_page(web: WatchedPage) -> None:
    page = web.page
    web.goto("/login")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        web.log_in("viewer@acme.example", "not-the-password")
    assert answer.value.status >= 400
    assert web.path() == "/login"
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text(re.compile(r"\S"))
    expect(page.get_by_label("Email")).to_have_value("viewer@acme.example")
    expect(page.get_by_label("Password")).to_have_value("")
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    _screenshot(web, "login-error.png")
    web.assert_clean(allowed=[failed_resource(answer.value.status)])


def test_failed_htmx_action_shows_a_toast(web: WatchedPage) -> None:
    page = web.page
    web.goto("/login")
    web.log_in(ADMIN, DEMO_PASSWORD)
    page.wait_for_url(f"{web.base_url}/")
    web.goto("/team")
    rows = page.locator("#members tbody tr")
    before = rows.count()

    _mark_document(web)
    invite = page.locator("form[hx-post='/team/invitations']")
    invite.get_by_label("Full name").fill("Sam Again")
    invite.get_by_label("Email").fill("sales1@acme.example")
    with page.expect_response(lambda r: r.url.endswith("/team/invitations")) as answer:
        invite.get_by_role("button", name="Invite").click()
    assert answer.value.status == 409

    toast = page.locator("#toasts .toast")
    expect(toast).to_have_count(1)
    expect(toast).to_have_attribute("role", "alert")
    expect(toast).to_contain_text("already a member")
    _screenshot(web, "team-toast.png")
    assert _same_document(web)
    assert rows.count() == before
    # The form keeps what was typed, so the user can correct it.
    expect(invite.get_by_label("Email")).to_have_value("sales1@acme.example")

    toast.get_by_role("button", name="Dismiss").click()
    expect(toast).to_have_count(0)
    web.assert_clean(allowed=[failed_resource(409), htmx_response_error(409)])


def test_csp_violations_would_be_reported(web: WatchedPage) -> None:
    """The watch the other tests rely on does catch inline script."""
    web.goto("/login")
    web.page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.__inlineRan = true";
            document.body.appendChild(script);
        }"""
    )
    assert web.page.evaluate("window.__inlineRan === true") is False
    for _ in range(40):  # the report reaches Python asynchronously
        if web.csp_violations:
            break
        web.page.wait_for_timeout(50)
    assert any("script-src" in violation for violation in web.csp_violations), web.csp_violations
    assert any("Content Security Policy" in text for text in web.console_errors)
