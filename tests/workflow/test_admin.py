"""Editing workflows: drafts, copy-on-write versions, publish, cache invalidation."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from tests.factories import Member, add_member, register_tenant


async def _support(client: httpx.AsyncClient, admin: Member) -> dict[str, Any]:
    listed = (await client.get("/api/v1/workflow/workflows", headers=admin.headers)).json()
    summary = next(w for w in listed if w["name"] == "Support ticket")
    body: dict[str, Any] = (
        await client.get(f"/api/v1/workflow/workflows/{summary['id']}", headers=admin.headers)
    ).json()
    return body


def _step(workflow: dict[str, Any], key: str) -> str:
    return str(next(s["id"] for s in workflow["steps"] if s["key"] == key))


async def _new_item(client: httpx.AsyncClient, admin: Member) -> dict[str, Any]:
    types = (await client.get("/api/v1/workflow/project-types", headers=admin.headers)).json()
    ticket_type = next(t for t in types if t["name"] == "Support Ticket")
    created = await client.post(
        "/api/v1/work-items",
        headers=admin.headers,
        json={"project_type_id": ticket_type["id"], "name": "Ticket"},
    )
    assert created.status_code == 201, created.text
    item: dict[str, Any] = created.json()
    return item


async def test_editing_a_published_workflow_makes_a_draft_version(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    v1 = await _support(client, admin)
    old_item = await _new_item(client, admin)
    shortcut = {
        "from_step_id": _step(v1, "open"),
        "to_step_id": _step(v1, "resolved"),
        "label": "Resolve at once",
        "conditions": {"reasons": ["duplicate", "other"]},
    }
    edited = await client.post(
        f"/api/v1/workflow/workflows/{v1['id']}/transitions", headers=admin.headers, json=shortcut
    )
    assert edited.status_code == 201, edited.text
    v2 = edited.json()
    assert v2["id"] != v1["id"]
    assert (v2["version"], v2["published"]) == (2, False)
    assert len(v2["transitions"]) == len(v1["transitions"]) + 1
    # The published version is untouched, and so are the records running on it.
    again = (
        await client.get(f"/api/v1/workflow/workflows/{v1['id']}", headers=admin.headers)
    ).json()
    assert len(again["transitions"]) == len(v1["transitions"])
    second_draft = await client.post(
        f"/api/v1/workflow/workflows/{v1['id']}/transitions",
        headers=admin.headers,
        json={**shortcut, "to_step_id": _step(v1, "closed")},
    )
    assert second_draft.status_code == 409

    published = await client.post(
        f"/api/v1/workflow/workflows/{v2['id']}/publish", headers=admin.headers
    )
    assert published.status_code == 200
    assert published.json()["published"] is True
    new_item = await _new_item(client, admin)
    assert new_item["workflow_id"] == v2["id"]
    assert old_item["workflow_id"] == v1["id"]
    jump = {"to_step_id": _step(v2, "resolved"), "version": 1, "reason": "duplicate"}
    moved = await client.post(
        f"/api/v1/work-items/{new_item['id']}/move", headers=admin.headers, json=jump
    )
    assert moved.status_code == 200, moved.text
    old_jump = await client.post(
        f"/api/v1/work-items/{old_item['id']}/move",
        headers=admin.headers,
        json={**jump, "to_step_id": _step(v1, "resolved")},
    )
    assert old_jump.status_code == 422
    retired = await client.post(
        f"/api/v1/workflow/workflows/{v1['id']}/transitions", headers=admin.headers, json=shortcut
    )
    assert retired.status_code == 409


async def test_the_next_request_sees_an_edit_to_a_draft(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    statuses = (await client.get("/api/v1/workflow/statuses", headers=admin.headers)).json()
    by_name = {s["name"]: s["id"] for s in statuses}
    draft = (
        await client.post(
            "/api/v1/workflow/workflows",
            headers=admin.headers,
            json={"name": "Onboarding", "entity_type": "work_item"},
        )
    ).json()
    assert (draft["published"], draft["steps"]) == (False, [])
    for key, status_name, initial in (("todo", "New", True), ("done", "Won", False)):
        response = await client.post(
            f"/api/v1/workflow/workflows/{draft['id']}/steps",
            headers=admin.headers,
            json={
                "key": key,
                "name": key.title(),
                "status_id": by_name[status_name],
                "is_initial": initial,
            },
        )
        assert response.status_code == 201, response.text
        assert response.json()["id"] == draft["id"]  # drafts are edited in place
    shown = response.json()
    url = f"/api/v1/workflow/workflows/{draft['id']}/allowed-transitions"
    params = {"from_step_id": _step(shown, "todo")}
    assert (await client.get(url, params=params, headers=admin.headers)).json() == []
    await client.post(
        f"/api/v1/workflow/workflows/{draft['id']}/transitions",
        headers=admin.headers,
        json={
            "from_step_id": _step(shown, "todo"),
            "to_step_id": _step(shown, "done"),
            "label": "Finish",
        },
    )
    options = (await client.get(url, params=params, headers=admin.headers)).json()
    assert [o["to_step_key"] for o in options] == ["done"]
    duplicate_key = await client.post(
        f"/api/v1/workflow/workflows/{draft['id']}/steps",
        headers=admin.headers,
        json={"key": "todo", "name": "Again", "status_id": by_name["Lost"]},
    )
    assert duplicate_key.status_code == 409


async def test_steps_records_sit_on_cannot_be_deleted(
    client: httpx.AsyncClient, app_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    v1 = await _support(client, admin)
    item = await _new_item(client, admin)
    # Through the API: the published step stays; the deletion lands in a new draft.
    removed = await client.delete(
        f"/api/v1/workflow/steps/{_step(v1, 'closed')}", headers=admin.headers
    )
    assert removed.status_code == 200
    assert "closed" not in {s["key"] for s in removed.json()["steps"]}
    assert removed.json()["version"] == 2
    # Underneath, the database refuses to drop a step that a record is on.
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        async with app_conn.transaction():
            await app_conn.execute(
                "SELECT set_config('baton.tenant_id', $1, true)", str(admin.tenant_id)
            )
            await app_conn.execute("DELETE FROM workflow_steps WHERE id = $1", item["step"]["id"])


async def test_only_admins_edit_and_only_their_own_tenants_workflows(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    manager = await add_member(client, admin, "manager")
    v1 = await _support(client, admin)
    refused = await client.post(
        "/api/v1/workflow/workflows",
        headers=manager.headers,
        json={"name": "Mine", "entity_type": "work_item"},
    )
    assert refused.status_code == 403
    stranger = await register_tenant(client)
    foreign = await client.post(
        f"/api/v1/workflow/workflows/{v1['id']}/publish", headers=stranger.headers
    )
    assert foreign.status_code == 404


async def test_reorder_steps_and_remove_a_transition(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    v1 = await _support(client, admin)
    order = [s["id"] for s in v1["steps"]]
    swapped = [order[1], order[0], *order[2:]]
    draft = await client.put(
        f"/api/v1/workflow/workflows/{v1['id']}/step-order",
        headers=admin.headers,
        json={"step_ids": swapped},
    )
    assert draft.status_code == 200, draft.text
    body = draft.json()
    assert [s["key"] for s in body["steps"]][:2] == ["in_progress", "open"]
    assert body["version"] == 2
    partial = await client.put(
        f"/api/v1/workflow/workflows/{body['id']}/step-order",
        headers=admin.headers,
        json={"step_ids": [s["id"] for s in body["steps"]][:2]},
    )
    assert partial.status_code == 422
    edge = next(
        t
        for t in v1["transitions"]
        if t["from_step_id"] == _step(v1, "resolved") and t["to_step_id"] == _step(v1, "closed")
    )
    # Edits name the draft once it exists; the published version's ids are read-only.
    removed = await client.delete(
        f"/api/v1/workflow/transitions/{edge['id']}", headers=admin.headers
    )
    assert removed.status_code == 409  # v1 already has a draft: edit the draft instead
    draft_edge = next(
        t
        for t in body["transitions"]
        if t["from_step_id"] == _step(body, "resolved") and t["to_step_id"] == _step(body, "closed")
    )
    removed = await client.delete(
        f"/api/v1/workflow/transitions/{draft_edge['id']}", headers=admin.headers
    )
    assert removed.status_code == 200
    assert len(removed.json()["transitions"]) == len(v1["transitions"]) - 1


async def test_only_a_draft_is_deleted_with_its_steps_and_transitions(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    v1 = await _support(client, admin)
    shortcut = {
        "from_step_id": _step(v1, "open"),
        "to_step_id": _step(v1, "resolved"),
        "label": "Resolve at once",
    }
    edited = await client.post(
        f"/api/v1/workflow/workflows/{v1['id']}/transitions", headers=admin.headers, json=shortcut
    )
    assert edited.status_code == 201, edited.text
    draft = edited.json()
    path = f"/api/v1/workflow/workflows/{draft['id']}"
    sales = await add_member(client, admin, "sales")
    assert (await client.delete(path, headers=sales.headers)).status_code == 403
    stranger = await register_tenant(client)
    assert (await client.delete(path, headers=stranger.headers)).status_code == 404
    stale = await client.delete(
        path, headers={**admin.headers, "If-Match": str(draft["row_version"] + 1)}
    )
    assert stale.status_code == 409
    published = await client.delete(f"/api/v1/workflow/workflows/{v1['id']}", headers=admin.headers)
    assert published.status_code == 409
    assert "Only a draft" in published.json()["detail"]
    deleted = await client.delete(
        path, headers={**admin.headers, "If-Match": str(draft["row_version"])}
    )
    assert deleted.status_code == 204, deleted.text
    assert (await client.get(path, headers=admin.headers)).status_code == 404
    left = await owner_conn.fetchval(
        "SELECT (SELECT count(*) FROM workflow_steps WHERE workflow_id = $1)"
        " + (SELECT count(*) FROM workflow_transitions WHERE workflow_id = $1)",
        uuid.UUID(draft["id"]),
    )
    assert left == 0
    # The published version is as it was, and a new draft can be made again.
    again = await client.get(f"/api/v1/workflow/workflows/{v1['id']}", headers=admin.headers)
    assert len(again.json()["transitions"]) == len(v1["transitions"])
    redone = await client.post(
        f"/api/v1/workflow/workflows/{v1['id']}/transitions", headers=admin.headers, json=shortcut
    )
    assert redone.status_code == 201, redone.text
