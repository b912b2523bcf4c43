"""Workflow admin pages and the work item board over HTTP, and the chart geometry."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from baton.workflow import charts
from tests.factories import PASSWORD, Member, add_member, register_tenant

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')
HTMX = {"HX-Request": "true"}
ADMIN_PAGES = ("/workflow/statuses", "/workflow/workflows", "/workflow/project-types")


async def _sign_in(client: httpx.AsyncClient, member: Member) -> str:
    """Sign in through the login form; answers a CSRF token for later forms."""
    client.cookies.clear()
    page = await client.get("/login")
    match = CSRF.search(page.text)
    assert match
    signed_in = await client.post(
        "/login", data={"email": member.email, "password": PASSWORD, "csrf_token": match.group(1)}
    )
    assert signed_in.status_code == 303, signed_in.text
    home = await client.get("/")
    token = CSRF.search(home.text)
    assert token
    return token.group(1)


async def _workflows(client: httpx.AsyncClient, admin: Member) -> dict[str, dict[str, Any]]:
    listed = await client.get("/api/v1/workflow/workflows", headers=admin.headers)
    return {w["name"]: w for w in listed.json()}


async def _workflow(client: httpx.AsyncClient, admin: Member, workflow_id: str) -> dict[str, Any]:
    answer = await client.get(f"/api/v1/workflow/workflows/{workflow_id}", headers=admin.headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def _support_type(client: httpx.AsyncClient, admin: Member) -> str:
    types = await client.get("/api/v1/workflow/project-types", headers=admin.headers)
    return str(next(p["id"] for p in types.json() if p["name"] == "Support Ticket"))


async def test_admin_sees_every_page_with_write_controls(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    await _sign_in(client, admin)
    support = (await _workflows(client, admin))["Support ticket"]
    project_type = await _support_type(client, admin)
    home = await client.get("/")
    for label in ("Work items", "Workflows", "Statuses", "Project types"):
        assert f">{label}</a>" in home.text

    statuses = await client.get("/workflow/statuses")
    assert statuses.status_code == 200
    assert "Add a status" in statuses.text
    assert 'data-status="In Progress"' in statuses.text
    workflows = await client.get("/workflow/workflows")
    assert "Create workflow" in workflows.text
    assert f'href="/workflow/workflows/{support["id"]}"' in workflows.text
    editor = await client.get(f"/workflow/workflows/{support['id']}")
    assert editor.status_code == 200
    assert 'data-sortable="steps"' in editor.text
    assert "Add a step" in editor.text
    # The grid: a filled cell for open → in_progress, an empty one offering "add".
    assert re.search(r'data-from="open" data-to="in_progress">\s*<button', editor.text)
    assert "Resolve" in editor.text
    assert "fields: resolution" in editor.text
    assert "+ add" in editor.text
    assert "Stage analytics" in editor.text
    project_types = await client.get("/workflow/project-types")
    assert "Create project type" in project_types.text
    board = await client.get(f"/work-items?project_type_id={project_type}")
    assert board.status_code == 200
    assert "data-board" in board.text
    assert "Add item" in board.text
    assert (await client.get("/work-items")).status_code == 200


async def test_manager_reads_without_write_controls(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    manager = await add_member(client, admin, "manager")
    support = (await _workflows(client, admin))["Support ticket"]
    await _sign_in(client, manager)
    for path in (*ADMIN_PAGES, f"/workflow/workflows/{support['id']}"):
        page = await client.get(path)
        assert page.status_code == 200, path
        assert "hx-post" not in page.text, path
        assert "data-sortable" not in page.text, path
    editor = await client.get(f"/workflow/workflows/{support['id']}")
    assert "Resolve" in editor.text  # transitions are shown, read-only
    assert "+ add" not in editor.text
    form = await client.get(
        f"/workflow/workflows/{support['id']}/transition-form",
        params={
            "from_step_id": support_step(await _workflow(client, admin, support["id"]), "open"),
            "to_step_id": support_step(await _workflow(client, admin, support["id"]), "closed"),
        },
    )
    assert form.status_code == 403


def support_step(workflow: dict[str, Any], key: str) -> str:
    return str(next(s["id"] for s in workflow["steps"] if s["key"] == key))


@pytest.mark.parametrize("role", ["viewer", "sales"])
async def test_other_roles_may_not_open_admin_pages(client: httpx.AsyncClient, role: str) -> None:
    admin = await register_tenant(client)
    member = await add_member(client, admin, role)
    support = (await _workflows(client, admin))["Support ticket"]
    project_type = await _support_type(client, admin)
    token = await _sign_in(client, member)
    home = await client.get("/")
    assert ">Work items</a>" in home.text
    assert ">Workflows</a>" not in home.text
    for path in (*ADMIN_PAGES, f"/workflow/workflows/{support['id']}"):
        assert (await client.get(path)).status_code == 403, path
    refused = await client.post(
        "/workflow/statuses",
        data={"name": "Sneaky", "category": "open", "csrf_token": token},
        headers=HTMX,
    )
    assert refused.status_code == 403
    board = await client.get(f"/work-items?project_type_id={project_type}")
    assert board.status_code == 200
    assert ("data-board" in board.text) is (role == "sales")


async def test_status_form_errors_render_inline(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    token = await _sign_in(client, admin)
    bad = await client.post(
        "/workflow/statuses",
        data={"name": "Waiting", "colour": "red", "category": "open", "csrf_token": token},
        headers=HTMX,
    )
    assert bad.status_code == 422
    assert 'class="form-errors" role="alert"' in bad.text
    assert "<strong>Colour</strong>" in bad.text
    assert "<html" not in bad.text
    added = await client.post(
        "/workflow/statuses",
        data={"name": "Waiting", "colour": "#AABBCC", "category": "parked", "csrf_token": token},
        headers=HTMX,
    )
    assert added.status_code == 200
    assert 'id="statuses"' in added.text
    assert "Status Waiting added" in added.text
    assert 'fill="#aabbcc"' in added.text
    again = await client.post(
        "/workflow/statuses",
        data={"name": "Waiting", "category": "open", "csrf_token": token},
        headers=HTMX,
    )
    assert again.status_code == 409
    assert "is already a status" in again.text


async def test_build_publish_and_edit_a_workflow_through_the_pages(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    token = await _sign_in(client, admin)
    statuses = (await client.get("/api/v1/workflow/statuses", headers=admin.headers)).json()
    status_ids = {s["name"]: s["id"] for s in statuses}

    created = await client.post(
        "/workflow/workflows",
        data={"name": "Onboarding", "entity_type": "work_item", "csrf_token": token},
        headers=HTMX,
    )
    location = created.headers["HX-Redirect"]
    workflow_id = location.split("/")[-1].split("?")[0]
    page = await client.get(location)
    assert "Workflow created as a draft" in page.text
    assert "This is a draft (version 1)" in page.text
    assert "No analytics for this version" in page.text  # no steps yet

    for key, name, status in (
        ("todo", "To do", "Open"),
        ("doing", "Doing", "In Progress"),
        ("done", "Done", "Resolved"),
    ):
        added = await client.post(
            f"/workflow/workflows/{workflow_id}/steps",
            data={
                "key": key,
                "name": name,
                "status_id": status_ids[status],
                "is_initial": "on" if key == "todo" else "",
                "probability": "",
                "required_fields": "",
                "csrf_token": token,
            },
            headers=HTMX,
        )
        assert added.status_code == 200, added.text
        assert added.text.startswith('\n<div id="editor">') or 'id="editor"' in added.text
    duplicate = await client.post(
        f"/workflow/workflows/{workflow_id}/steps",
        data={"key": "todo", "name": "Again", "status_id": status_ids["Open"], "csrf_token": token},
        headers=HTMX,
    )
    assert duplicate.status_code == 409
    assert "is already a step of this workflow" in duplicate.text

    detail = await _workflow(client, admin, workflow_id)
    todo, doing = support_step(detail, "todo"), support_step(detail, "doing")
    done = support_step(detail, "done")
    reordered = await client.post(
        f"/workflow/workflows/{workflow_id}/step-order",
        data={"step_ids": [doing, todo, done], "csrf_token": token},
        headers=HTMX,
    )
    assert reordered.status_code == 200
    assert [s["key"] for s in (await _workflow(client, admin, workflow_id))["steps"]] == [
        "doing",
        "todo",
        "done",
    ]

    cell = await client.get(
        f"/workflow/workflows/{workflow_id}/transition-form",
        params={"from_step_id": todo, "to_step_id": doing},
    )
    assert cell.status_code == 200
    assert "To do → Doing" in cell.text
    connected = await client.post(
        f"/workflow/workflows/{workflow_id}/transitions",
        data={
            "from_step_id": todo,
            "to_step_id": doing,
            "label": "Start",
            "required_fields": "",
            # One per line; a label after "=" is what people read (the API keeps the code).
            "reasons": "blocked = Blocked by the customer\nduplicate, other",
            "roles": ["admin", "manager"],
            "csrf_token": token,
        },
        headers=HTMX,
    )
    assert connected.status_code == 200, connected.text
    assert "reasons: Blocked by the customer, duplicate, other" in connected.text
    assert "roles: admin, manager" in connected.text

    # Done cannot be reached yet, and nothing leads on from To do or Doing: refused,
    # in words, next to the Publish button.
    refused = await client.post(
        f"/workflow/workflows/{workflow_id}/publish", data={"csrf_token": token}, headers=HTMX
    )
    assert refused.status_code == 422
    assert 'class="form-errors" role="alert"' in refused.text
    assert "These steps cannot be reached from To do: Done." in refused.text
    assert "From these steps no final step can be reached: Doing, To do." in refused.text
    assert "steps.done" not in refused.text  # the API's per-step keys stay out of the page
    finish = await client.post(
        f"/workflow/workflows/{workflow_id}/transitions",
        data={"from_step_id": doing, "to_step_id": done, "label": "Finish", "csrf_token": token},
        headers=HTMX,
    )
    assert finish.status_code == 200, finish.text

    published = await client.post(
        f"/workflow/workflows/{workflow_id}/publish", data={"csrf_token": token}, headers=HTMX
    )
    assert published.headers["HX-Redirect"] == f"/workflow/workflows/{workflow_id}?notice=published"
    page = await client.get(published.headers["HX-Redirect"])
    assert "Published: new records start on this version." in page.text
    assert "Any change you make here is saved in a new draft version" in page.text

    # An edit of the published version lands in a new draft, and the page says so.
    edited = await client.post(
        f"/workflow/workflows/{workflow_id}/step-order",
        data={"step_ids": [todo, doing, done], "csrf_token": token},
        headers=HTMX,
    )
    draft_location = edited.headers["HX-Redirect"]
    assert draft_location.endswith("?notice=draft")
    assert workflow_id not in draft_location
    draft = await client.get(draft_location)
    assert "Your change was saved in this new draft version" in draft.text
    assert "This is a draft (version 2)" in draft.text
    original = await client.get(f"/workflow/workflows/{workflow_id}")
    assert "is a draft: " in original.text  # links to the draft

    typed = await client.post(
        "/workflow/project-types",
        data={"name": "Onboarding", "default_workflow_id": workflow_id, "csrf_token": token},
        headers=HTMX,
    )
    assert typed.status_code == 200
    assert 'data-project-type="Onboarding"' in typed.text


async def test_board_moves_and_refusals(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    token = await _sign_in(client, admin)
    project_type = await _support_type(client, admin)
    support = await _workflow(
        client, admin, (await _workflows(client, admin))["Support ticket"]["id"]
    )

    added = await client.post(
        "/work-items",
        data={"project_type_id": project_type, "name": "Printer jam", "csrf_token": token},
        headers=HTMX,
    )
    assert added.status_code == 200
    assert "Printer jam added" in added.text
    item_id = re.search(r'data-id="([0-9a-f-]{36})" data-version="(\d+)"', added.text)
    assert item_id
    item, version = item_id.group(1), item_id.group(2)

    def move(to: str, version: str, **extra: str) -> dict[str, str]:
        return {
            "to_step_id": support_step(support, to),
            "version": version,
            "context": "board",
            "csrf_token": token,
            **extra,
        }

    jump = await client.post(
        f"/work-items/{item}/move", data=move("resolved", version), headers=HTMX
    )
    assert jump.status_code == 422
    assert "There is no transition from Open to Resolved" in jump.text

    started = await client.post(
        f"/work-items/{item}/move", data=move("in_progress", version), headers=HTMX
    )
    assert started.status_code == 200
    assert started.headers["HX-Retarget"] == "#board"
    assert "Printer jam moved to In Progress" in started.text
    version = str(int(version) + 1)

    needs = await client.post(
        f"/work-items/{item}/move", data=move("resolved", version), headers=HTMX
    )
    assert needs.status_code == 422
    assert 'name="field.resolution"' in needs.text
    resolved = await client.post(
        f"/work-items/{item}/move",
        data=move("resolved", version, **{"field.resolution": "Cleared the tray"}),
        headers=HTMX,
    )
    assert resolved.status_code == 200, resolved.text

    detail = await client.get(f"/work-items/{item}")
    assert detail.status_code == 200
    assert "In Progress → Resolved" in detail.text
    assert "Reopen → In Progress" in detail.text  # the next step offered as a button
    assert "Cleared the tray" in detail.text
    stale = await client.post(f"/work-items/{item}/move", data=move("closed", "1"), headers=HTMX)
    assert stale.status_code == 409


async def test_analytics_period_and_chart(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    await _sign_in(client, admin)
    support = (await _workflows(client, admin))["Support ticket"]
    project_type = await _support_type(client, admin)
    created = await client.post(
        "/api/v1/work-items",
        headers=admin.headers,
        json={"project_type_id": project_type, "name": "Counted"},
    )
    assert created.status_code == 201
    url = f"/workflow/workflows/{support['id']}/analytics"
    bad = await client.get(url, params={"from": "yesterday"}, headers=HTMX)
    assert bad.status_code == 422
    assert "must be a date" in bad.text
    shown = await client.get(url, params={"from": "2020-01-01", "to": "2999-12-31"}, headers=HTMX)
    assert shown.status_code == 200
    assert '<svg class="chart"' in shown.text
    assert 'value="2020-01-01"' in shown.text
    assert re.search(r'<rect class="bar s0" x="170.0" y="4.0" width="400.0"', shown.text)
    # The ends of the calendar were a 500 (a day past 9999-12-31, 90 days before year 1).
    for period in ({"to": "9999-12-31"}, {"to": "0001-01-01"}, {"from": "0001-01-01"}):
        edge = await client.get(url, params=period, headers=HTMX)
        assert edge.status_code == 422, edge.text
        assert "must be between 1900-01-01 and 9999-12-30" in edge.text
    last = await client.get(url, params={"from": "1900-01-01", "to": "9999-12-30"}, headers=HTMX)
    assert last.status_code == 200, last.text


def test_bars_scale_to_the_largest_value() -> None:
    chart = charts.funnel([("New", 10), ("Qualified", 5), ("Won", 0)])
    assert [bar.width for bar in chart.bars] == [400.0, 200.0, 0.0]
    assert [bar.value_text for bar in chart.bars] == ["10", "5", "0"]
    assert [label.text for label in chart.labels] == ["New", "Qualified", "Won"]
    assert [bar.y for bar in chart.bars] == [4.0, 30.0, 56.0]
    assert chart.height == 76.0
    assert not chart.empty
    assert all(bar.x == charts.LABEL_WIDTH for bar in chart.bars)


def test_time_in_step_has_two_bars_per_step_and_marks_missing_values() -> None:
    chart = charts.time_in_step([("Open", 60.0, 3600.0), ("Closed", None, None)])
    assert chart.series_names == ("Median", "90th percentile")
    assert [(bar.series, bar.value_text) for bar in chart.bars] == [
        (0, "1m"),
        (1, "1.0h"),
        (0, "—"),
        (1, "—"),
    ]
    assert chart.bars[1].width == 400.0
    assert chart.bars[0].width == 6.67  # rounded to 1/100 of a unit
    assert chart.bars[1].y == chart.bars[0].y + charts.BAR_HEIGHT + charts.BAR_GAP


def test_empty_and_invalid_charts() -> None:
    assert charts.funnel([("Open", 0)]).empty
    assert charts.funnel([]).bars == ()
    with pytest.raises(ValueError, match="one value per series"):
        charts.horizontal_bars([("x", [1.0])], ("a", "b"), str)
    with pytest.raises(ValueError, match="negative"):
        charts.horizontal_bars([("x", [-1.0])], ("a",), str)


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (5, "5s"),
        (59.9, "59s"),
        (600, "10m"),
        (3599, "59m"),
        (5400, "1.5h"),
        (5759, "1.5h"),
        (3 * 86400, "3.0d"),
        (3 * 86400 + 8639, "3.0d"),
    ],
)
def test_durations_read_compactly(seconds: float, shown: str) -> None:
    assert charts.duration(seconds) == shown


async def test_edit_forms_for_statuses_steps_transitions_and_items(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    token = await _sign_in(client, admin)
    statuses = (await client.get("/api/v1/workflow/statuses", headers=admin.headers)).json()
    in_use = next(s for s in statuses if s["name"] == "In Progress")
    version = re.search(
        rf'/workflow/statuses/{in_use["id"]}" .*?name="version" value="(\d+)"',
        (await client.get("/workflow/statuses")).text,
        re.S,
    )
    assert version
    refused = await client.post(
        f"/workflow/statuses/{in_use['id']}/delete",
        data={"version": version.group(1), "csrf_token": token},
        headers=HTMX,
    )
    assert refused.status_code == 409
    assert "archive it instead" in refused.text
    saved = await client.post(
        f"/workflow/statuses/{in_use['id']}",
        data={
            "name": "Working",
            "colour": "#0ea5e9",
            "category": "open",
            "archived": "on",
            "version": version.group(1),
            "csrf_token": token,
        },
        headers=HTMX,
    )
    assert saved.status_code == 200, saved.text
    assert "Status Working saved" in saved.text
    assert re.search(r'data-status="Working">.*?archived', saved.text, re.S)

    support_id = (await _workflows(client, admin))["Support ticket"]["id"]
    support = await _workflow(client, admin, support_id)
    editor = (await client.get(f"/workflow/workflows/{support_id}")).text
    step_version = re.search(
        rf'/steps/{support_step(support, "open")}" .*?name="version" value="(\d+)"', editor, re.S
    )
    assert step_version
    renamed = await client.post(
        f"/workflow/workflows/{support_id}/steps/{support_step(support, 'open')}",
        data={
            "name": "Queued",
            "status_id": support["steps"][0]["status_id"],
            "probability": "10",
            "sla_days": "2",
            "required_fields": "",
            "version": step_version.group(1),
            "csrf_token": token,
        },
        headers=HTMX,
    )
    # The workflow was published: the edit went to a new draft.
    assert renamed.headers["HX-Redirect"].endswith("?notice=draft")
    draft_id = renamed.headers["HX-Redirect"].split("/")[-1].split("?")[0]
    draft = await _workflow(client, admin, draft_id)
    assert draft["steps"][0]["name"] == "Queued"
    transition = next(t for t in draft["transitions"] if t["label"] == "Start")
    cell = await client.get(
        f"/workflow/workflows/{draft_id}/transition-form",
        params={"from_step_id": transition["from_step_id"], "to_step_id": transition["to_step_id"]},
    )
    assert "Save transition" in cell.text
    assert 'value="notify_owner"' in cell.text
    t_version = re.search(r'name="version" value="(\d+)"', cell.text)
    assert t_version
    form = {
        "label": "Pick up",
        "required_fields": "",
        "reasons": "",
        "effects": "notify_owner",
        "version": t_version.group(1),
        "csrf_token": token,
    }
    bad_json = await client.post(
        f"/workflow/workflows/{draft_id}/transitions/{transition['id']}",
        data={**form, "effect_config.notify_owner": "{nope"},
        headers=HTMX,
    )
    assert bad_json.status_code == 422
    assert "notify_owner: is not valid JSON" in bad_json.text
    updated = await client.post(
        f"/workflow/workflows/{draft_id}/transitions/{transition['id']}",
        data={**form, "effect_config.notify_owner": '{"message": "Picked up"}'},
        headers=HTMX,
    )
    assert updated.status_code == 200, updated.text
    assert "effects: notify_owner" in updated.text
    assert "Pick up" in updated.text

    item = await client.post(
        "/api/v1/work-items",
        headers=admin.headers,
        json={"project_type_id": await _support_type(client, admin), "name": "Old name"},
    )
    body = item.json()
    edited = await client.post(
        f"/work-items/{body['id']}/edit",
        data={"name": "New name", "version": str(body["version"]), "csrf_token": token},
        headers=HTMX,
    )
    assert edited.headers["HX-Redirect"] == f"/work-items/{body['id']}"
    assert "New name" in (await client.get(f"/work-items/{body['id']}")).text
    stale = await client.post(
        f"/work-items/{body['id']}/delete",
        data={"version": str(body["version"]), "csrf_token": token},
        headers=HTMX,
    )
    assert stale.status_code == 409
    deleted = await client.post(
        f"/work-items/{body['id']}/delete",
        data={"version": str(body["version"] + 1), "csrf_token": token},
        headers=HTMX,
    )
    assert deleted.headers["HX-Redirect"].startswith("/work-items?project_type_id=")
