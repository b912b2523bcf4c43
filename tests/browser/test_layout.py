"""Every page fits every screen and passes axe (issue 14 parts 13 and 14).

For each demo role the pages are the role's own sidebar plus one record page of each
kind (a deal, a lead, an account, a contact, a work item). Each page is loaded once
per role and measured at 390, 768, 1280 and 1440 px wide (a resize re-runs the media
queries; nothing else on these pages depends on the width): the document never
scrolls sideways, and nothing sticks out of its card. axe-core (tests/browser/vendor, injected by the test's own init
script, never served by the app) then checks the page at 390 and 1280 px and finds no
serious or critical violation.

One browser context per role, one crawl per role shared by the two tests, so the
whole module stays within a minute or two.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import APIRequestContext, Browser, Page, expect

from baton.demo import DEMO_PASSWORD
from tests.browser.conftest import ACTION_TIMEOUT_MS
from tests.browser.support import pooled_lead
from tests.live_server import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

AXE = Path(__file__).parent / "vendor" / "axe-4.14.1.min.js"
WIDTHS = (390, 768, 1280, 1440)
AXE_WIDTHS = (390, 1280)
HEIGHT = 900
ROLES = {
    "admin": "admin@acme.example",
    "manager": "manager@acme.example",
    "marketing": "marketing@acme.example",
    "sales": "sales1@acme.example",
    "viewer": "viewer@acme.example",
}
# Record pages every role reads; the lead page only for the roles that work leads.
LEAD_READERS = {"admin", "manager", "marketing", "sales"}
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

OVERFLOW = """() => {
  const width = window.innerWidth;
  const wide = [];
  // Inside a box that scrolls (or clips) sideways: that box is what counts, not its rows.
  const clipped = (el) => {
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== "visible") return true;
    }
    return false;
  };
  if (document.documentElement.scrollWidth > width) {
    for (const el of document.querySelectorAll("body *")) {
      const box = el.getBoundingClientRect();
      if (box.right > width + 1 && box.width > 0 && !clipped(el)) {
        const id = el.id ? "#" + el.id : "";
        const cls = el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\\s+/).join(".") : "";
        wide.push(el.tagName.toLowerCase() + id + cls + " (" + Math.round(box.right) + ")");
        if (wide.length >= 4) break;
      }
    }
  }
  // Nothing sticks out of its card either, though the page may still fit (a file
  // chooser 12 px past a card's edge on a phone did, and the check above missed it).
  const clippedWithin = (el, card) => {
    for (let up = el.parentElement; up && up !== card; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== "visible") return true;
    }
    return false;
  };
  const spill = [];
  for (const card of document.querySelectorAll("main .card")) {
    const edge = card.getBoundingClientRect().right;
    for (const el of card.querySelectorAll("*")) {
      const box = el.getBoundingClientRect();
      // What a closed <details> holds is laid out but not shown: only what is seen counts.
      if (box.width > 1 && box.right > edge + 1 && el.checkVisibility() && !clippedWithin(el, card)) {
        const cls = el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\\s+/).join(".") : "";
        spill.push(el.tagName.toLowerCase() + cls + " (" + Math.round(box.right - edge) + " px)");
        break;
      }
    }
  }
  // A list of records (a `stacked` table) lays its rows out as blocks on a phone: it
  // never hides its columns behind a sideways scroll of its own.
  const hidden = [...document.querySelectorAll("main table.stacked")]
    .filter((table) => table.scrollWidth > table.clientWidth + 1)
    .map((table) => "table." + table.className.trim().split(/\\s+/).join("."));
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: width, wide: wide, hidden: hidden, spill: spill};
}"""

AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations
    .filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => v.id + " (" + v.impact + "): " + v.help + " — " +
      v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(" | "));
}"""


@dataclass
class Crawl:
    pages: list[str] = field(default_factory=list)
    overflow: list[str] = field(default_factory=list)
    axe: list[str] = field(default_factory=list)


def _first_link(page: Page, path: str, pattern: str) -> str:
    page.goto(path)
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")
    for href in hrefs:
        if re.fullmatch(pattern, href):
            return str(href)
    raise AssertionError(f"no link matching {pattern} on {path}")


def _work_item(api: APIRequestContext, base_url: str, headers: dict[str, str]) -> str:
    listed = api.get(f"{base_url}/api/v1/work-items", headers=headers)
    assert listed.ok, listed.text()
    items: list[dict[str, Any]] = listed.json()["items"]
    if items:
        return f"/work-items/{items[0]['id']}"
    types = api.get(f"{base_url}/api/v1/workflow/project-types", headers=headers)
    assert types.ok, types.text()
    # Registration seeds the "Support Ticket" type (a work item workflow).
    tickets = [t["id"] for t in types.json() if t["name"] == "Support Ticket"]
    assert tickets, types.text()
    created = api.post(
        f"{base_url}/api/v1/work-items",
        headers=headers,
        data={"project_type_id": tickets[0], "name": "Layout check item"},
    )
    assert created.status == 201, created.text()
    return f"/work-items/{created.json()['id']}"


@pytest.fixture(scope="module")
def records(browser: Browser, live_server: LiveServer) -> dict[str, str]:
    """One record page of each kind, found (or made) as the demo admin."""
    base = live_server.base_url
    context = browser.new_context(base_url=base)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    try:
        api = context.request
        signed_in = api.post(
            f"{base}/api/v1/auth/login", data={"email": ROLES["admin"], "password": DEMO_PASSWORD}
        )
        assert signed_in.ok, signed_in.text()
        headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
        lead = pooled_lead(api, base, "Layout Check Freight")
        page = context.new_page()
        _sign_in(page, ROLES["admin"])
        account = _first_link(page, "/accounts", rf"/accounts/{UUID}")
        return {
            "deal": _first_link(page, "/pipeline", rf"/deals/{UUID}"),
            "lead": f"/leads/{lead['id']}",
            "account": account,
            "contact": _first_link(page, account, rf"/contacts/{UUID}"),
            "work item": _work_item(api, base, headers),
        }
    finally:
        context.close()


def _sign_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/$"))


def _crawl(browser: Browser, base_url: str, role: str, records: dict[str, str]) -> Crawl:
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": HEIGHT})
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.add_init_script(path=str(AXE))
    crawl = Crawl()
    try:
        page = context.new_page()
        _sign_in(page, ROLES[role])
        # The init script ran under the page's CSP: axe is there to ask.
        assert page.evaluate("() => typeof window.axe?.run") == "function"
        sidebar = page.eval_on_selector_all(
            "nav[aria-label='Main'] a", "links => links.map(a => a.getAttribute('href'))"
        )
        crawl.pages = [
            *sidebar,
            *(path for kind, path in records.items() if kind != "lead" or role in LEAD_READERS),
        ]
        for path in crawl.pages:
            response = page.goto(path)
            assert response is not None
            assert response.status == 200, f"{role} {path}: {response.status}"
            page.wait_for_load_state("networkidle")
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": HEIGHT})
                measured = page.evaluate(OVERFLOW)
                crawl.overflow.extend(
                    f"{path} at {width}px: {table} scrolls sideways" for table in measured["hidden"]
                )
                crawl.overflow.extend(
                    f"{path} at {width}px: {element} sticks out of its card"
                    for element in measured["spill"]
                )
                if measured["scrollWidth"] > measured["innerWidth"]:
                    crawl.overflow.append(
                        f"{path} at {width}px: scrollWidth {measured['scrollWidth']}; "
                        f"wide: {', '.join(measured['wide'])}"
                    )
                if width in AXE_WIDTHS:
                    crawl.axe.extend(f"{path} at {width}px: {v}" for v in page.evaluate(AXE_RUN))
            page.set_viewport_size({"width": 1280, "height": HEIGHT})
    finally:
        context.close()
    return crawl


class Crawler:
    """Crawls each role's pages once; both tests read the same crawl."""

    def __init__(self, browser: Browser, base_url: str, records: dict[str, str]) -> None:
        self._browser, self._base_url, self._records = browser, base_url, records
        self._done: dict[str, Crawl] = {}

    def __call__(self, role: str) -> Crawl:
        if role not in self._done:
            self._done[role] = _crawl(self._browser, self._base_url, role, self._records)
        return self._done[role]


@pytest.fixture(scope="module")
def crawler(browser: Browser, live_server: LiveServer, records: dict[str, str]) -> Crawler:
    return Crawler(browser, live_server.base_url, records)


@pytest.mark.parametrize("role", list(ROLES))
def test_no_page_scrolls_sideways_at_any_width(crawler: Crawler, role: str) -> None:
    crawl = crawler(role)
    assert len(crawl.pages) >= 5
    assert crawl.overflow == [], "\n".join(crawl.overflow)


@pytest.mark.parametrize("role", list(ROLES))
def test_axe_finds_nothing_serious_on_any_page(crawler: Crawler, role: str) -> None:
    crawl = crawler(role)
    assert len(crawl.pages) >= 5
    assert crawl.axe == [], "\n".join(crawl.axe)


def test_the_menu_button_folds_the_sidebar_on_phones_and_tablets(
    browser: Browser, live_server: LiveServer
) -> None:
    context = browser.new_context(
        base_url=live_server.base_url, viewport={"width": 390, "height": HEIGHT}
    )
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    try:
        page = context.new_page()
        _sign_in(page, ROLES["sales"])
        menu = page.get_by_role("button", name="Menu")
        sidebar = page.get_by_role("navigation", name="Main")
        # A phone starts folded: the page's own heading is the first thing under the bar.
        expect(menu).to_have_attribute("aria-expanded", "false")
        expect(menu).to_have_attribute("aria-controls", "sidebar")
        expect(sidebar).to_be_hidden()
        menu.click()
        expect(menu).to_have_attribute("aria-expanded", "true")
        expect(sidebar).to_be_visible()
        expect(sidebar.get_by_role("link", name="Home")).to_be_focused()
        page.keyboard.press("Escape")
        expect(sidebar).to_be_hidden()
        expect(menu).to_be_focused()

        # A tablet starts unfolded and folds on demand.
        page.set_viewport_size({"width": 900, "height": HEIGHT})
        expect(menu).to_have_attribute("aria-expanded", "true")
        expect(sidebar).to_be_visible()
        menu.click()
        expect(sidebar).to_be_hidden()
        assert page.evaluate("document.documentElement.scrollWidth") <= 900

        # From 1024 px the sidebar is always there and the button is not.
        page.set_viewport_size({"width": 1280, "height": HEIGHT})
        expect(menu).to_be_hidden()
        expect(sidebar).to_be_visible()
    finally:
        context.close()


def test_the_axe_check_does_report_a_serious_violation(
    browser: Browser, live_server: LiveServer
) -> None:
    """The crawl's silence means something: a button without a name is reported."""
    context = browser.new_context(base_url=live_server.base_url)
    context.add_init_script(path=str(AXE))
    try:
        page = context.new_page()
        page.goto("/login")
        assert page.evaluate(AXE_RUN) == []
        page.evaluate(
            "() => document.querySelector('main').append(document.createElement('button'))"
        )
        found = page.evaluate(AXE_RUN)
        assert [v.split(":")[0] for v in found] == ["button-name (critical)"], found
    finally:
        context.close()
