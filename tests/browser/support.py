"""Helpers for the browser tests: a live server in its own thread and a watched page.

The server runs in a thread with its own event loop (the suite's pytest-asyncio loop
belongs to the main thread), so the tests use Playwright's sync API from plain
`def` tests, where no asyncio loop is running.
"""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import uvicorn
from playwright.sync_api import ConsoleMessage, Page, Response

from baton.app import create_app
from baton.config import Settings
from baton.db.engine import Database
from baton.db.urls import app_url
from baton.demo import ensure_demo_tenant

SERVER_START_TIMEOUT_SECONDS = 30.0

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


class LiveServer:
    """Uvicorn serving `create_app` on 127.0.0.1 (free port) in a background thread."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(128)
        port = self._socket.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}"
        self._server: uvicorn.Server | None = None
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="baton-live-server", daemon=True)

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + SERVER_START_TIMEOUT_SECONDS
        while not (self._server is not None and self._server.started):
            if not self._thread.is_alive():
                raise RuntimeError("the live server failed to start") from self._failure
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the live server did not start in time")
            time.sleep(0.02)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        self._thread.join(timeout=SERVER_START_TIMEOUT_SECONDS)
        self._socket.close()
        if self._thread.is_alive():
            raise RuntimeError("the live server did not stop")

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as error:  # reported by start()
            self._failure = error

    async def _serve(self) -> None:
        # Its own pool: asyncpg connections belong to the loop that opened them.
        db = Database(app_url(self._settings), pool_size=5, max_overflow=5)
        try:
            await ensure_demo_tenant(db)
        except BaseException:
            await db.dispose()
            raise
        config = uvicorn.Config(
            create_app(self._settings, db),
            lifespan="on",
            log_level="warning",
            access_log=False,
        )
        self._server = uvicorn.Server(config)
        await self._server.serve(sockets=[self._socket])


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
        links = self.page.get_by_role("navigation", name="Main").get_by_role("link")
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
