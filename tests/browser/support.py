"""Helpers for the browser tests: a live server in its own thread and a watched page.

The server runs in a thread with its own event loop (the suite's pytest-asyncio loop
belongs to the main thread), so the tests use Playwright's sync API from plain
`def` tests, where no asyncio loop is running.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import APIRequestContext, ConsoleMessage, Locator, Page, Response

from baton.demo import DEMO_PASSWORD

SERVER_START_TIMEOUT_SECONDS = 30.0
DEMO_MARKETING = "marketing@acme.example"

# Reports Content-Security-Policy violations to Python from every page and frame.
# Init scripts are injected by the browser itself, so the CSP under test does not
# block them; what they report is what the page's own markup and scripts triggered.
CSP_REPORTER = """
document.addEventListener("securitypolicyviolation", function (event) {
  window.__batonReportCsp(
    event.violatedDirective + " blocked " + (event.blockedURI || "inline") +
    " at " + event.documentURI + ":" + event.lineNumber
  );
});
"""

# Chromium logs every 4xx/5xx answer as a console error; tests that provoke one on
# purpose allow exactly that line and nothing else.
FAILED_RESOURCE = r"Failed to load resource: the server responded with a status of {status}\b"


@dataclass
class WatchedPage:
    """A page whose console errors, uncaught exceptions and CSP violations are kept."""

    page: Page
    base_url: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda error: self.page_errors.append(str(error)))

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            source = message.location.get("url") or "?"
            self.console_errors.append(f"{message.text} [{source}]")

    def goto(self, path: str) -> Response:
        response = self.page.goto(self.base_url + path)
        assert response is not None, f"no response for {path}"
        return response

    def path(self) -> str:
        url: str = self.page.url
        assert url.startswith(self.base_url), url
        return url[len(self.base_url) :] or "/"

    def log_in(self, email: str, password: str) -> None:
        page = self.page
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()

    def log_out(self) -> None:
        self.page.get_by_role("button", name="Sign out").click()
        self.page.wait_for_url(re.compile(r"/login$"))

    def sidebar(self) -> list[str]:
        # The pages listed (the notification bell in the sidebar's head is not one).
        links = self.page.get_by_role("navigation", name="Main").locator("ul").get_by_role("link")
        return [text.strip() for text in links.all_inner_texts()]

    def assert_clean(self, allowed: Iterable[str] = ()) -> None:
        """No CSP violation, no uncaught error, no console error outside `allowed`."""
        patterns = [re.compile(pattern) for pattern in allowed]
        unexpected = [
            text
            for text in self.console_errors
            if not any(pattern.search(text) for pattern in patterns)
        ]
        assert self.csp_violations == [], f"CSP violations: {self.csp_violations}"
        assert self.page_errors == [], f"uncaught page errors: {self.page_errors}"
        assert unexpected == [], f"console errors: {unexpected}"


def failed_resource(status: int) -> str:
    return FAILED_RESOURCE.format(status=status)


def htmx_response_error(status: int) -> str:
    """htmx logs every error answer to a request it made."""
    return rf"^Response Status Error Code {status} from "


# An error answer to a full-page navigation is a bare HTML fragment without <head>,
# so chromium falls back to /favicon.ico, which does not exist.
BARE_ERROR_PAGE_FAVICON = r"status of 404 \(Not Found\) \[[^\]]*/favicon\.ico\]$"


# Sortable scrolls the page (and the board) while a card is held within 30 px of an
# edge of the viewport: a drop aims farther inside than that.
DRAG_EDGE = 60


def _aim(page: Page, box: dict[str, float], fraction: float) -> tuple[float, float]:
    """`fraction` down the part of `box` inside the viewport, away from its edges (a
    tall column reaches past the bottom, or starts above the top once the page
    scrolled to the card): the pointer never rests where Sortable would scroll."""
    viewport = page.viewport_size
    assert viewport is not None
    top = max(box["y"], DRAG_EDGE)
    bottom = min(box["y"] + box["height"], viewport["height"] - DRAG_EDGE)
    if bottom <= top:
        top, bottom = box["y"], box["y"] + box["height"]
    return box["x"] + box["width"] / 2, top + (bottom - top) * fraction


def drag(page: Page, source: Locator, target: Locator, fraction: float = 0.5) -> None:
    """Press on `source`, glide to `fraction` of `target`'s visible height, release."""
    # The board scrolls sideways inside its area: a column past its edge (Won, at the
    # far right) is brought into view first, so the pointer can reach its middle.
    target.scroll_into_view_if_needed()
    source.scroll_into_view_if_needed()
    start = source.bounding_box()
    end = target.bounding_box()
    assert start is not None
    assert end is not None
    x, y = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 6, y + 6, steps=3)  # past Sortable's tolerance: the drag starts
    page.mouse.move(*_aim(page, end, fraction), steps=15)
    page.wait_for_timeout(100)
    # Sortable previews a drop by moving the held card into the list under the
    # pointer. On a loaded machine the board may still scroll, or the preview lag,
    # after the glide: aim again (a small wiggle makes Sortable look again) until the
    # preview is in the target's column, so the release drops where the test meant.
    for attempt in range(10):
        if target.evaluate(_HOLDS_PREVIEW):
            break
        settled = target.bounding_box()
        assert settled is not None
        x, y = _aim(page, settled, fraction)
        page.mouse.move(x + (3 if attempt % 2 else -3), y, steps=4)
        page.mouse.move(x, y, steps=4)
        page.wait_for_timeout(200)
    else:
        page.mouse.up()
        # Say so, rather than let the card drop wherever the preview was.
        raise AssertionError(f"the drag never reached {target}: Sortable previewed it elsewhere")
    page.mouse.up()


# True when the item being dragged (Sortable's `sortable-chosen`; not the copy that
# follows the pointer) is previewed where the target is: in the target's column on a
# board, beside the target in a plain sortable list (the step order).
_HOLDS_PREVIEW = """(el) => {
  const column = el.closest("[data-column]");
  if (column) return !!column.querySelector(".sortable-chosen");
  const held = document.querySelector(".sortable-chosen:not(.sortable-fallback)");
  return !!held && held.parentElement === el.parentElement;
}"""


def pooled_lead(api: APIRequestContext, base_url: str, company: str) -> dict[str, Any]:
    """Marketing adds a lead and qualifies it (which hands it over), through the API."""
    signed_in = api.post(
        f"{base_url}/api/v1/auth/login", data={"email": DEMO_MARKETING, "password": DEMO_PASSWORD}
    )
    assert signed_in.ok, signed_in.text()
    headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    created = api.post(
        f"{base_url}/api/v1/leads",
        headers=headers,
        data={
            "company_name": company,
            "contact_name": "Olga Orbit",
            "email": f"olga.{uuid.uuid4().hex[:8]}@orbit.example",
            "need": "Twelve cold-storage racks",
        },
    )
    assert created.status == 201, created.text()
    lead: dict[str, Any] = created.json()
    for status in ("in_review", "qualified"):
        moved = api.post(
            f"{base_url}/api/v1/leads/{lead['id']}/triage",
            headers=headers,
            data={"status": status, "version": lead["version"]},
        )
        assert moved.ok, moved.text()
        lead = moved.json()
    assert lead["view"] == "pool"
    return lead
