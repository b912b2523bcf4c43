"""Browser fixtures: Debian's chromium driven by Playwright against a live server.

Chromium must be installed at /usr/bin/chromium (`apt-get install -y chromium`;
`playwright install` is not used). Without it the browser tests are skipped on a
developer machine and fail when the `CI` environment variable is set.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Playwright, sync_playwright

from baton.config import Settings
from tests.browser.support import CSP_REPORTER, WatchedPage
from tests.live_server import LiveServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Long enough for a loaded CI machine, short enough that a broken page fails fast.
ACTION_TIMEOUT_MS = 10_000


@pytest.fixture(scope="session")
def chromium_executable() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    reason = (
        f"BROWSER TESTS NOT RUN: {CHROMIUM} is missing. Install Debian's chromium with "
        "`sudo apt-get install -y chromium` (Playwright's own browser download is not "
        "used). With CI set, these tests fail instead of skipping."
    )
    if "CI" in os.environ:
        pytest.fail(reason, pytrace=False)
    warnings.warn(reason, pytest.PytestWarning, stacklevel=1)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def live_server(chromium_executable: Path, settings: Settings) -> Iterator[LiveServer]:
    server = LiveServer(settings)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def playwright(live_server: LiveServer) -> Iterator[Playwright]:
    """Module-scoped on purpose: while the sync driver lives, its event loop counts as
    running in this thread, so nothing else here may use asyncio. Everything async
    (the migrated database, the server's start) is therefore set up before it, and
    it is gone before the worker's next module runs its async tests."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(chromium_executable: Path, playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(
        executable_path=str(chromium_executable), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    # Wide enough for the six-column pipeline board without a sideways scroll: a drag
    # near the edge would otherwise scroll the board under the pointer and drop a card
    # on the neighbouring column (seen in CI).
    context = browser.new_context(viewport={"width": 1920, "height": 1000})
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def web(context: BrowserContext, live_server: LiveServer) -> WatchedPage:
    """A fresh, signed-out page; its console and CSP violations are recorded."""
    csp_violations: list[str] = []
    context.expose_binding(
        "__batonReportCsp", lambda _source, violation: csp_violations.append(violation)
    )
    context.add_init_script(CSP_REPORTER)
    return WatchedPage(context.new_page(), live_server.base_url, csp_violations=csp_violations)
