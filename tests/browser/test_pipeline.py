"""The pipeline board in a real browser: drag deals along, see refusals snap back,
close one through the form, reorder a column.

Drags go through real mouse events (SortableJS in fallback mode). The demo
organization is shared with the other browser tests, so every test creates its own
account and deals with unique names and only looks at those cards.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from baton.demo import DEMO_PASSWORD
from tests.browser.support import WatchedPage, drag, failed_resource
from tests.live_server import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

SALES = "sales1@acme.example"
NEXT_WEEK = (datetime.now(UTC).date() + timedelta(days=7)).isoformat()
# Set to a directory to keep screenshots of the board and a deal for a visual check.
SCREENSHOT_DIR = os.environ.get("BATON_BROWSER_SCREENSHOTS")


def _screenshot(page: Page, name: str) -> None:
    if SCREENSHOT_DIR:
        page.screenshot(path=os.path.join(SCREENSHOT_DIR, name), full_page=True)


class Api:
    """The demo sales member over the JSON API, to set the scene quickly."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        token = client.post("/api/v1/auth/login", json={"email": SALES, "password": DEMO_PASSWORD})
        assert token.status_code == 200, token.text
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        pipeline = client.get("/api/v1/pipeline", params={"per_column": 1})
        assert pipeline.status_code == 200, pipeline.text
        self.steps = {c["step"]["key"]: c["step"]["id"] for c in pipeline.json()["columns"]}
        self.tag = uuid.uuid4().hex[:6]
        account = client.post("/api/v1/accounts", json={"name": f"Browser Freight {self.tag}"})
        assert account.status_code == 201, account.text
        self.account: dict[str, Any] = account.json()

    def deal(self, name: str, *walk: str) -> dict[str, Any]:
        created = self.client.post(
            "/api/v1/deals",
            json={
                "name": name,
                "account_id": self.account["id"],
                "next_step": "Call the buyer",
                "next_step_due_date": NEXT_WEEK,
            },
        )
        assert created.status_code == 201, created.text
        deal: dict[str, Any] = created.json()
        for key in walk:
            body: dict[str, Any] = {"to_step_id": self.steps[key], "version": deal["version"]}
            if key == "proposal":
                body["fields"] = {"amount": "4200.00", "expected_close_date": NEXT_WEEK}
            moved = self.client.post(f"/api/v1/deals/{deal['id']}/move", json=body)
            assert moved.status_code == 200, moved.text
            deal = moved.json()["deal"]
        return deal


@pytest.fixture
def api(live_server: LiveServer) -> Iterator[Api]:
    with httpx.Client(base_url=live_server.base_url, timeout=10) as client:
        yield Api(client)


def _open_board(web: WatchedPage) -> Page:
    web.goto("/login?next=/pipeline")
    web.log_in(SALES, DEMO_PASSWORD)
    web.page.wait_for_url(f"{web.base_url}/pipeline")
    expect(web.page.get_by_role("heading", level=1)).to_have_text("Pipeline")
    return web.page


def _column(page: Page, key: str) -> Any:
    return page.locator(f'[data-column][data-step-key="{key}"]')


def _card(page: Page, name: str) -> Any:
    return page.locator("[data-card]", has_text=name)


def _order(page: Page, key: str, names: list[str]) -> list[str]:
    """The given cards of one column, in the order the page shows them."""
    shown = _column(page, key).locator("[data-card] .card-name").all_inner_texts()
    return [name for name in shown if name in names]


def test_add_a_deal_and_drag_it_to_the_next_stage(web: WatchedPage, api: Api) -> None:
    page = _open_board(web)
    name = f"Cold chain {api.tag}"
    page.locator("details.add-deal summary").click()
    form = page.locator("form#add-deal")
    form.get_by_label("Account").select_option(label=api.account["name"])
    form.get_by_label("Name").fill(name)
    form.get_by_label("Amount").fill("1500")
    form.get_by_label("Next step", exact=True).fill("Book a site visit")
    form.get_by_label("Next step due").fill(NEXT_WEEK)
    form.get_by_role("button", name="Add deal").click()
    expect(page.locator("#board").get_by_role("status")).to_have_text(f"{name} added")
    card = _card(page, name)
    expect(_column(page, "prospecting").locator("[data-card]", has_text=name)).to_have_count(1)
    expect(card).to_contain_text(api.account["name"])
    expect(card).to_contain_text("$1,500.00")

    with page.expect_response(lambda r: r.url.endswith("/move")) as answer:
        drag(page, card, _column(page, "discovery"))
    assert answer.value.status == 200
    expect(page.locator("#board").get_by_role("status")).to_have_text(f"{name} moved to Discovery")
    expect(_column(page, "discovery").locator("[data-card]", has_text=name)).to_have_count(1)
    page.reload()
    expect(_column(page, "discovery").locator("[data-card]", has_text=name)).to_have_count(1)
    expect(_column(page, "prospecting").locator("[data-card]", has_text=name)).to_have_count(0)
    web.assert_clean()


def test_a_refused_drag_snaps_back_with_the_reason(web: WatchedPage, api: Api) -> None:
    name = f"Pallets {api.tag}"
    api.deal(name)
    page = _open_board(web)
    card = _card(page, name)
    with page.expect_response(lambda r: r.url.endswith("/move")) as answer:
        drag(page, card, _column(page, "negotiation"))
    assert answer.value.status == 422
    expect(page.locator("#move-panel")).to_contain_text(
        "There is no transition from Prospecting to Negotiation"
    )
    expect(_column(page, "prospecting").locator("[data-card]", has_text=name)).to_have_count(1)
    expect(_column(page, "negotiation").locator("[data-card]", has_text=name)).to_have_count(0)
    expect(page.locator("#toasts")).to_be_empty()
    page.reload()
    expect(_column(page, "prospecting").locator("[data-card]", has_text=name)).to_have_count(1)
    web.assert_clean(allowed=[failed_resource(422)])


def test_a_card_deep_in_a_long_column_drops_on_a_short_column_beside_it(
    web: WatchedPage, api: Api
) -> None:
    # Negotiation grows past the screen; Won stays short. Every column's list reaches
    # as far down as the longest one, so the card is dropped on Won right beside it.
    for number in range(30):
        api.deal(f"Crate {number} {api.tag}", "discovery", "proposal", "negotiation")
    name = f"Last crate {api.tag}"
    api.deal(name, "discovery", "proposal", "negotiation")
    page = _open_board(web)
    card = _card(page, name)
    card.scroll_into_view_if_needed()
    spot = card.bounding_box()
    won = _column(page, "won").bounding_box()
    assert spot is not None
    assert won is not None
    assert won["y"] + won["height"] >= spot["y"] + spot["height"]

    with page.expect_response(lambda r: r.url.endswith("/move")) as answer:
        drag(page, card, _column(page, "won"), fraction=0.9)
    assert answer.value.status == 422
    expect(page.locator('#move-panel form[data-outcome="won"]')).to_be_visible()
    web.assert_clean(allowed=[failed_resource(422)])


def test_close_a_deal_as_won_through_the_form(web: WatchedPage, api: Api) -> None:
    name = f"Fleet renewal {api.tag}"
    api.deal(name, "discovery", "proposal", "negotiation")
    page = _open_board(web)
    card = _card(page, name)

    # Dropped on Won, the card waits in its column while the close form asks why.
    with page.expect_response(lambda r: r.url.endswith("/move")) as answer:
        drag(page, card, _column(page, "won"))
    assert answer.value.status == 422
    form = page.locator('#move-panel form[data-outcome="won"]')
    expect(form).to_be_visible()
    expect(_column(page, "negotiation").locator("[data-card]", has_text=name)).to_have_count(1)
    # The form opens right below the card it asks about, not above the board.
    expect(page.locator("#move-panel")).to_have_class(re.compile(r"\bbeside\b"))
    panel = page.locator("#move-panel > *").first.bounding_box()
    spot = card.bounding_box()
    assert panel is not None
    assert spot is not None
    assert 0 <= panel["y"] - (spot["y"] + spot["height"]) <= 20
    assert panel["x"] < spot["x"] + spot["width"]
    assert spot["x"] < panel["x"] + panel["width"]

    # `other` without notes is refused next to the field; nothing closes.
    form.get_by_label("Won reason").select_option("other")
    with page.expect_response(lambda r: r.url.endswith("/close")) as answer:
        form.get_by_role("button", name="Close as won").click()
    assert answer.value.status == 422
    expect(page.locator('#move-panel [data-field-error="notes"]')).to_be_visible()
    _screenshot(page, "pipeline-close-form.png")

    form = page.locator('#move-panel form[data-outcome="won"]')
    form.get_by_label("Won reason").select_option("product_fit")
    form.get_by_label("Notes").fill("They liked the routing")
    with page.expect_response(lambda r: r.url.endswith("/close")) as answer:
        form.get_by_role("button", name="Close as won").click()
    assert answer.value.status == 200
    expect(page.locator("#board").get_by_role("status")).to_have_text(f"{name} closed as won")
    expect(_column(page, "won").locator("[data-card]", has_text=name)).to_have_count(1)
    page.reload()
    expect(_column(page, "won").locator("[data-card]", has_text=name)).to_have_count(1)

    _card(page, name).get_by_role("link", name=name).click()
    page.wait_for_url(re.compile(r"/deals/[0-9a-f-]{36}$"))
    expect(page.locator('[data-field="outcome"]')).to_contain_text("Product fit")
    expect(page.locator("[data-history]")).to_contain_text("Negotiation → Won")
    _screenshot(page, "deal-page.png")
    web.assert_clean(allowed=[failed_resource(422)])


def test_reorder_within_a_column_survives_a_reload(web: WatchedPage, api: Api) -> None:
    names = [f"{label} {api.tag}" for label in ("Alpha", "Bravo", "Charlie")]
    for name in names:
        api.deal(name)
    page = _open_board(web)
    assert _order(page, "prospecting", names) == names

    with page.expect_response(lambda r: r.url.endswith("/move")) as answer:
        drag(page, _card(page, names[2]), _card(page, names[0]), fraction=0.2)
    assert answer.value.status == 200
    expect(page.locator("#board").get_by_role("status")).to_have_text(f"{names[2]} reordered")
    assert _order(page, "prospecting", names) == [names[2], names[0], names[1]]
    page.reload()
    assert _order(page, "prospecting", names) == [names[2], names[0], names[1]]
    web.assert_clean()
