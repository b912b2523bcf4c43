"""The pipeline board by keyboard alone (issue 14 part 14): each card's Move menu lists
the moves open from its column and takes them through the same move endpoint as a
drop; a move that needs more (a close) opens its form in the move panel, focused.
Deals are the test's own (see test_pipeline.Api), on the shared demo organization."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.support import WatchedPage
from tests.browser.test_pipeline import Api, _card, _column, _open_board
from tests.live_server import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


@pytest.fixture
def api(live_server: LiveServer) -> Iterator[Api]:
    with httpx.Client(base_url=live_server.base_url, timeout=10) as client:
        yield Api(client)


def _tab_to(page: Page, name: str, limit: int = 400) -> None:
    """Press Tab until the focused element's accessible text is `name`."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.textContent.trim()") == name:
            return
    raise AssertionError(f"Tab never reached {name!r}")


def test_a_card_moves_to_the_next_stage_by_keyboard(web: WatchedPage, api: Api) -> None:
    name = f"Keyboard lane {api.tag}"
    api.deal(name)
    page = _open_board(web)
    card = _card(page, name)
    menu = card.locator("details.card-move")
    expect(menu.locator("summary")).to_have_text(f"Move {name}…")
    # Its links and its Move menu are reachable by Tab, in page order.
    _tab_to(page, f"Move {name}…")
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("open", "")
    options = menu.get_by_role("button")
    expect(options.first).to_be_visible()
    labels = options.all_inner_texts()
    assert any(label.endswith("→ Discovery") for label in labels), labels
    assert not any(label.endswith("→ Negotiation") for label in labels), labels  # no jump

    target = menu.get_by_role("button", name="Discovery")
    target.focus()
    with page.expect_response(lambda r: r.url.endswith("/move")) as answer:
        page.keyboard.press("Enter")
    assert answer.value.status == 200
    expect(page.locator("#board").get_by_role("status")).to_have_text(f"{name} moved to Discovery")
    expect(_column(page, "discovery").locator("[data-card]", has_text=name)).to_have_count(1)
    # Focus is back on the moved card's menu, in its new column.
    expect(_card(page, name).locator("summary")).to_be_focused()
    web.assert_clean()


def test_closing_by_keyboard_opens_the_close_form_focused(web: WatchedPage, api: Api) -> None:
    name = f"Keyboard close {api.tag}"
    api.deal(name, "discovery", "proposal", "negotiation")
    page = _open_board(web)
    menu = _card(page, name).locator("details.card-move")
    menu.locator("summary").focus()
    page.keyboard.press("Enter")
    won = menu.get_by_role("button", name="Won")
    won.focus()
    with page.expect_response(lambda r: r.url.endswith("/move")) as answer:
        page.keyboard.press("Enter")
    assert answer.value.status == 422  # nothing moved: the close needs a reason
    form = page.locator('#move-panel form[data-outcome="won"]')
    expect(form).to_be_visible()
    expect(form.get_by_label("Won reason")).to_be_focused()
    expect(_column(page, "negotiation").locator("[data-card]", has_text=name)).to_have_count(1)
