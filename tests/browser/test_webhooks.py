"""The Webhooks page in the browser: an admin adds an endpoint for a receiver on
127.0.0.1, copies the secret shown once, pings it, sees the delivery in the log
(sent by the worker's pump, run here: the test server has no inline worker) and redelivers it with the same id."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from baton.config import Settings
from baton.db.engine import Database
from baton.db.urls import app_url
from baton.webhooks import signing
from baton.webhooks.delivery import pump
from tests.browser.support import WatchedPage
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        self.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(200)
        self.send_header("content-length", "8")
        self.end_headers()
        self.wfile.write(b"got it!\n")

    def log_message(self, *args: object) -> None:
        pass


def _pump(settings: Settings) -> None:
    """What the worker does every second, once, on a loop and pool of its own."""

    async def run() -> None:
        db = Database(app_url(settings), pool_size=2, max_overflow=0)
        try:
            await pump(db, settings)
        finally:
            await db.dispose()

    thread = threading.Thread(target=asyncio.run, args=(run(),))
    thread.start()
    thread.join(60)


@pytest.fixture
def receiver() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    _Receiver.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def test_an_admin_adds_pings_and_redelivers_a_webhook(
    web: WatchedPage, receiver: ThreadingHTTPServer, settings: Settings
) -> None:
    page = web.page
    email = f"hooks.{uuid.uuid4().hex[:8]}@example.com"
    registered = page.context.request.post(
        f"{web.base_url}/api/v1/auth/register",
        data={
            "organization_name": f"Hooks {uuid.uuid4().hex[:8]}",
            "full_name": "Hana Hooks",
            "email": email,
            "password": PASSWORD,
        },
    )
    assert registered.status == 201, registered.text()
    url = f"http://127.0.0.1:{receiver.server_address[1]}/baton"

    web.goto("/login")
    web.log_in(email, PASSWORD)
    page.wait_for_url(f"{web.base_url}/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Webhooks").click()
    page.wait_for_url(f"{web.base_url}/webhooks")
    expect(page.get_by_text("No endpoints yet")).to_be_visible()

    page.get_by_label("URL").fill(url)
    page.get_by_label("Description").fill("Our ERP")
    page.get_by_label("deal.moved").check()
    page.get_by_label("lead.claimed").check()
    page.get_by_role("button", name="Add endpoint").click()
    secret = page.locator("#new-secret code.secret").inner_text()
    assert secret.startswith("whsec_")
    expect(page.locator("tr[data-endpoint]")).to_contain_text("deal.moved, lead.claimed")
    web.goto("/webhooks")
    expect(page.locator("#new-secret")).to_have_count(0)  # shown once
    expect(page.locator("tr[data-endpoint]")).to_have_count(1)

    page.get_by_role("link", name=url).click()
    page.get_by_role("button", name="Send a test ping").click()
    expect(page.get_by_role("status")).to_contain_text("Ping queued")
    expect(page.locator('tr[data-delivery][data-status="pending"]')).to_have_count(1)
    _pump(settings)
    page.reload()
    delivered = page.locator('tr[data-delivery][data-status="delivered"]')
    expect(delivered).to_contain_text("webhook.ping")
    expect(delivered).to_contain_text("200")
    expect(delivered).to_contain_text("got it!")

    delivered.get_by_role("button", name="Redeliver").click()
    expect(page.get_by_role("status")).to_contain_text("Redelivery queued")
    _pump(settings)
    page.reload()
    expect(delivered).to_have_count(2)
    ids = [headers["webhook-id"] for headers, _ in _Receiver.received]
    assert len(ids) == 2
    assert ids[0] == ids[1]
    headers, body = _Receiver.received[0]
    assert signing.verify(
        secret,
        headers["webhook-id"],
        headers["webhook-timestamp"],
        body,
        headers["webhook-signature"],
    )

    page.get_by_role("button", name="Disable").click()
    expect(page.locator("#endpoint-state")).to_contain_text("disabled")
    expect(page.get_by_role("button", name="Send a test ping")).to_have_count(0)
    web.assert_clean()
