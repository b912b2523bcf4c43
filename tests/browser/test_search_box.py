"""The header's search box (issue 17, part 4): `/` focuses it, typing shows the best
records grouped by type, the arrow keys and Enter open one, Escape closes the list,
Ctrl-K focuses it from a field; without the script the form opens the results page.
At 390 px the box stays above the folded menu. Names are unique per run (the demo
organization is shared with the other browser tests)."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from baton.demo import DEMO_PASSWORD
from tests.browser.conftest import ACTION_TIMEOUT_MS
from tests.browser.support import WatchedPage
from tests.live_server import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

SALES = "sales1@acme.example"


def _account(web: WatchedPage, name: str) -> str:
    """An account added through the API as the demo salesperson; its id."""
    api = web.page.context.request
    signed_in = api.post(
        f"{web.base_url}/api/v1/auth/login", data={"email": SALES, "password": DEMO_PASSWORD}
    )
    assert signed_in.ok, signed_in.text()
    headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    created = api.post(f"{web.base_url}/api/v1/accounts", headers=headers, data={"name": name})
    assert created.status == 201, created.text()
    account_id: str = created.json()["id"]
    return account_id


def _sign_in(web: WatchedPage) -> None:
    web.goto("/login")
    web.log_in(SALES, DEMO_PASSWORD)
    web.page.wait_for_url(f"{web.base_url}/")


def test_slash_then_a_company_name_then_enter_opens_its_account(web: WatchedPage) -> None:
    tag = uuid.uuid4().hex[:8]
    name = f"Quillfeather {tag} Handel GmbH"
    account_id = _account(web, name)
    second = _account(web, f"Quillfeather {tag} Zweig")
    _sign_in(web)
    page = web.page
    box = page.get_by_role("combobox", name="Search everything")

    page.keyboard.press("/")
    expect(box).to_be_focused()
    page.keyboard.type(f"quillfeather {tag}")
    listbox = page.get_by_role("listbox", name="Search results")
    expect(listbox).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    expect(listbox.get_by_role("group", name="Accounts")).to_be_visible()
    options = listbox.get_by_role("option")
    # Both accounts, then "See all results"; the best one is highlighted.
    expect(options).to_have_count(3)
    expect(options.first).to_have_attribute("aria-selected", "true")
    expect(options.first).to_contain_text(name)

    # Down to the second, up back to the first; Escape closes, Down opens again.
    page.keyboard.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", f"site-search-option-account-{second}")
    page.keyboard.press("ArrowUp")
    expect(options.first).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Escape")
    expect(listbox).to_be_hidden()
    expect(box).to_have_value(f"quillfeather {tag}")
    expect(box).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("ArrowDown")
    expect(options.first).to_have_attribute("aria-selected", "true")

    page.keyboard.press("Enter")
    page.wait_for_url(f"{web.base_url}/accounts/{account_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(name)

    # Ctrl-K from inside another field focuses the box; a click opens a suggestion too.
    page.get_by_role("combobox", name="Search everything").fill("")
    page.locator("main input:not([type=hidden])").first.focus()
    page.keyboard.press("Control+k")
    expect(box).to_be_focused()
    page.keyboard.type(f"zweig {tag}")
    listbox.get_by_role("option", name=re.compile("Zweig")).click()
    page.wait_for_url(f"{web.base_url}/accounts/{second}")

    # "See all results" (and Enter with nothing highlighted): the results page.
    box.fill(f"quillfeather {tag}")
    listbox.get_by_role("option", name=re.compile("See all results")).click()
    page.wait_for_url(re.compile(r"/search\?q=quillfeather"))
    results = page.get_by_role("region", name=re.compile("Accounts"))
    expect(results.get_by_role("link")).to_have_count(2)
    shots = os.environ.get("BATON_SCREENSHOTS")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        for width in (1440, 390):
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(path=f"{shots}/search-results-{width}.png", full_page=True)
    web.assert_clean()


def test_without_the_script_the_box_opens_the_results_page(
    browser: Browser, live_server: LiveServer
) -> None:
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    page = context.new_page()
    web = WatchedPage(page, live_server.base_url)
    tag = uuid.uuid4().hex[:8]
    _account(web, f"Nightjar {tag} KG")
    _sign_in(web)
    box = page.get_by_role("combobox", name="Search everything")
    box.fill(f"nightjar {tag}")
    box.press("Enter")
    page.wait_for_url(re.compile(r"/search\?q=nightjar"))
    expect(page.get_by_role("link", name=f"Nightjar {tag} KG")).to_be_visible()
    # Only punctuation: said plainly, no error.
    page.goto(f"{live_server.base_url}/search?q=%21%21%21")
    expect(page.get_by_role("status")).to_contain_text("has no letters or digits")
    context.close()


def test_the_box_fits_a_phone_above_the_folded_menu(web: WatchedPage) -> None:
    tag = uuid.uuid4().hex[:8]
    name = f"Kestrel {tag} Logistik"
    account_id = _account(web, name)
    page = web.page
    page.set_viewport_size({"width": 390, "height": 844})
    _sign_in(web)
    box = page.get_by_role("combobox", name="Search everything")
    expect(box).to_be_visible()
    expect(page.locator("#sidebar")).to_be_hidden()
    box.click()
    page.keyboard.type(f"kestrel {tag}")
    listbox = page.get_by_role("listbox", name="Search results")
    expect(listbox.get_by_role("option").first).to_contain_text(name)
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= 390, f"the page scrolls sideways at 390 px ({wide}px)"
    shots = os.environ.get("BATON_SCREENSHOTS")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{shots}/search-390.png")
        page.set_viewport_size({"width": 1440, "height": 900})
        page.screenshot(path=f"{shots}/search-1440.png")
        page.set_viewport_size({"width": 390, "height": 844})
    page.keyboard.press("Enter")
    page.wait_for_url(f"{web.base_url}/accounts/{account_id}")
    web.assert_clean()
