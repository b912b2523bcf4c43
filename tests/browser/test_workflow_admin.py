"""An admin builds a workflow in the browser and runs a work item through it.

Drag and drop goes through real mouse events (SortableJS in fallback mode), so the
test exercises the same code a user does. Names are unique per run: the demo
organization is shared with the other browser tests.
"""

from __future__ import annotations

import os
import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from baton.demo import DEMO_PASSWORD
from tests.browser.support import WatchedPage, drag, failed_resource

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

ADMIN = "admin@acme.example"
# Set to a directory to keep screenshots of the editor and the board for a visual check.
SCREENSHOT_DIR = os.environ.get("BATON_BROWSER_SCREENSHOTS")


def _screenshot(page: Page, name: str) -> None:
    if SCREENSHOT_DIR:
        page.screenshot(path=os.path.join(SCREENSHOT_DIR, name), full_page=True)


def _step_keys(page: Page) -> list[str]:
    return [
        key or ""
        for key in page.locator("ol.steps li.step").evaluate_all(
            "items => items.map(item => item.dataset.key)"
        )
    ]


def _add_step(page: Page, key: str, name: str, status: str, initial: bool = False) -> None:
    form = page.locator("form#step-add")
    form.get_by_label("Key").fill(key)
    form.get_by_label("Name").fill(name)
    form.get_by_label("Status").select_option(label=status)
    form.get_by_label("Initial").set_checked(initial)
    with page.expect_response(lambda r: r.url.endswith("/steps")) as answer:
        form.get_by_role("button", name="Add step").click()
    assert answer.value.status == 200
    expect(page.locator(f'ol.steps li[data-key="{key}"]')).to_be_visible()


def test_admin_builds_a_workflow_and_moves_a_work_item(web: WatchedPage) -> None:
    page = web.page
    tag = uuid.uuid4().hex[:6]
    status_name, flow_name, type_name = f"Queue {tag}", f"Flow {tag}", f"Requests {tag}"
    web.goto("/login")
    web.log_in(ADMIN, DEMO_PASSWORD)
    page.wait_for_url(f"{web.base_url}/")
    for label in ("Work items", "Workflows", "Statuses", "Project types"):
        expect(
            page.get_by_role("navigation", name="Main").get_by_role("link", name=label)
        ).to_be_visible()

    # A status, through the htmx form: the list is swapped in place.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Statuses").click()
    create = page.locator("form[hx-post='/workflow/statuses']")
    create.get_by_label("Name").fill(status_name)
    create.get_by_label("Category").select_option("open")
    create.get_by_role("button", name="Add status").click()
    expect(page.locator(f'#statuses tr[data-status="{status_name}"]')).to_be_visible()
    expect(page.locator("#statuses").get_by_role("status")).to_have_text(
        f"Status {status_name} added"
    )

    # A workflow with three steps, added in the wrong order.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Workflows").click()
    create = page.locator("form[hx-post='/workflow/workflows']")
    create.get_by_label("Name").fill(flow_name)
    create.get_by_label("For").select_option("work_item")
    create.get_by_role("button", name="Create workflow").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(flow_name)
    expect(page.locator(".banner.draft")).to_contain_text("This is a draft (version 1)")
    _add_step(page, "todo", "To do", f"{status_name} (open)", initial=True)
    _add_step(page, "done", "Done", "Resolved (won)")
    _add_step(page, "doing", "Doing", "In Progress (open)")
    assert _step_keys(page) == ["todo", "done", "doing"]

    # Drag "Doing" above "Done"; the order is saved and survives a reload.
    with page.expect_response(lambda r: r.url.endswith("/step-order")) as answer:
        drag(
            page,
            page.locator('li[data-key="doing"] .handle'),
            page.locator('li[data-key="done"]'),
            fraction=0.2,
        )
    assert answer.value.status == 200
    expect(page.locator("ol.steps li.step").first).to_have_attribute("data-key", "todo")
    page.reload()
    assert _step_keys(page) == ["todo", "doing", "done"]

    # Connect To do → Doing and Doing → Done in the grid.
    for source, target, label in (("todo", "doing", "Start"), ("doing", "done", "Finish")):
        page.locator(f'td[data-from="{source}"][data-to="{target}"] button').click()
        panel = page.locator("#transition-panel")
        panel.get_by_label("Label").fill(label)
        panel.get_by_role("button", name="Add transition").click()
        expect(page.locator(f'td[data-from="{source}"][data-to="{target}"]')).to_contain_text(label)

    page.locator('td[data-from="doing"][data-to="done"] button').click()
    expect(page.locator("#transition-panel")).to_contain_text("Doing → Done")
    _screenshot(page, "workflow-editor.png")
    page.locator("#transition-panel").get_by_role("button", name="Close").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Publish").click()
    expect(page.get_by_role("status")).to_contain_text("Published")
    expect(page.get_by_role("button", name="Publish")).to_have_count(0)

    # A project type on the published workflow.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Project types").click()
    create = page.locator("form[hx-post='/workflow/project-types']")
    create.get_by_label("Name").fill(type_name)
    create.get_by_label("Workflow").select_option(label=f"{flow_name} (v1, work_item)")
    create.get_by_role("button", name="Create project type").click()
    expect(page.locator(f'tr[data-project-type="{type_name}"]')).to_be_visible()

    # The board: add an item, drag it along a transition; it stays there after a reload.
    page.get_by_role("link", name=type_name).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(type_name)
    add = page.locator("form[hx-post='/work-items']")
    add.get_by_label("Name").fill("Fix the printer")
    add.get_by_role("button", name="Add item").click()
    card = page.locator("[data-card]", has_text="Fix the printer")
    todo = page.locator('[data-column][data-step-key="todo"]')
    doing = page.locator('[data-column][data-step-key="doing"]')
    done = page.locator('[data-column][data-step-key="done"]')
    expect(todo.locator("[data-card]")).to_have_count(1)

    with page.expect_response(lambda r: r.url.endswith("/move")) as answer:
        drag(page, card, doing)
    assert answer.value.status == 200
    expect(doing.locator("[data-card]")).to_have_count(1)
    expect(page.locator("#board").get_by_role("status")).to_contain_text("moved to Doing")
    page.reload()
    expect(doing.locator("[data-card]")).to_have_count(1)
    expect(todo.locator("[data-card]")).to_have_count(0)

    # No transition leads from Doing back to To do: the card snaps back, the reason shows.
    with page.expect_response(lambda r: r.url.endswith("/move")) as answer:
        drag(page, card, todo)
    assert answer.value.status == 422
    expect(page.locator("#move-panel")).to_contain_text(
        re.compile("There is no transition from Doing to To do")
    )
    expect(doing.locator("[data-card]")).to_have_count(1)
    expect(todo.locator("[data-card]")).to_have_count(0)
    expect(done.locator("[data-card]")).to_have_count(0)
    expect(page.locator("#toasts")).to_be_empty()
    _screenshot(page, "board.png")

    web.assert_clean(allowed=[failed_resource(422)])
