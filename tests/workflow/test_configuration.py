"""An admin builds a new process with no code change, then evolves it and migrates."""

from __future__ import annotations

from typing import Any

import httpx

from tests.factories import Member, add_member, register_tenant


async def _post(client: httpx.AsyncClient, admin: Member, path: str, body: dict[str, Any]) -> Any:
    response = await client.post(f"/api/v1{path}", headers=admin.headers, json=body)
    assert response.status_code in (200, 201), (path, response.text)
    return response.json()


def _step(workflow: dict[str, Any], key: str) -> str:
    return str(next(s["id"] for s in workflow["steps"] if s["key"] == key))


async def test_a_custom_project_type_runs_on_its_own_workflow(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    requested = await _post(
        client, admin, "/workflow/statuses", {"name": "Requested", "category": "open"}
    )
    approved = await _post(
        client,
        admin,
        "/workflow/statuses",
        {"name": "Approved", "category": "won", "colour": "#16a34a"},
    )
    flow = await _post(
        client,
        admin,
        "/workflow/workflows",
        {"name": "Purchase request", "entity_type": "work_item"},
    )
    for key, status_id, initial in (
        ("requested", requested["id"], True),
        ("approved", approved["id"], False),
    ):
        flow = await _post(
            client,
            admin,
            f"/workflow/workflows/{flow['id']}/steps",
            {"key": key, "name": key.title(), "status_id": status_id, "is_initial": initial},
        )
    flow = await _post(
        client,
        admin,
        f"/workflow/workflows/{flow['id']}/transitions",
        {
            "from_step_id": _step(flow, "requested"),
            "to_step_id": _step(flow, "approved"),
            "label": "Approve",
            "conditions": {"roles": ["admin", "manager"], "required_fields": ["budget_code"]},
        },
    )
    draft_type = await client.post(
        "/api/v1/workflow/project-types",
        headers=admin.headers,
        json={"name": "Purchase", "default_workflow_id": flow["id"]},
    )
    assert draft_type.status_code == 422  # drafts cannot take records yet
    await _post(client, admin, f"/workflow/workflows/{flow['id']}/publish", {})
    kind = await _post(
        client,
        admin,
        "/workflow/project-types",
        {"name": "Purchase", "default_workflow_id": flow["id"]},
    )
    item = await _post(
        client, admin, "/work-items", {"project_type_id": kind["id"], "name": "Laptop"}
    )
    assert item["step"]["key"] == "requested"
    missing = await client.post(
        f"/api/v1/work-items/{item['id']}/move",
        headers=admin.headers,
        json={"to_step_id": _step(flow, "approved"), "version": 1},
    )
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "fields.budget_code"
    done = await _post(
        client,
        admin,
        f"/work-items/{item['id']}/move",
        {"to_step_id": _step(flow, "approved"), "version": 1, "fields": {"budget_code": "IT-7"}},
    )
    assert done["to_step"]["key"] == "approved"


async def test_running_records_migrate_to_a_new_version_with_history(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    listed = (await client.get("/api/v1/workflow/workflows", headers=admin.headers)).json()
    v1_id = next(w["id"] for w in listed if w["name"] == "Support ticket")
    v1 = (await client.get(f"/api/v1/workflow/workflows/{v1_id}", headers=admin.headers)).json()
    types = (await client.get("/api/v1/workflow/project-types", headers=admin.headers)).json()
    ticket_type = next(t["id"] for t in types if t["name"] == "Support Ticket")
    items = [
        await _post(client, admin, "/work-items", {"project_type_id": ticket_type, "name": f"T{n}"})
        for n in range(3)
    ]
    moved = await _post(
        client,
        admin,
        f"/work-items/{items[0]['id']}/move",
        {"to_step_id": _step(v1, "in_progress"), "version": 1},
    )
    assert moved["item"]["step"]["key"] == "in_progress"
    v2 = await client.delete(f"/api/v1/workflow/steps/{_step(v1, 'closed')}", headers=admin.headers)
    v2_body = v2.json()
    await _post(client, admin, f"/workflow/workflows/{v2_body['id']}/publish", {})
    unmapped = await client.post(
        f"/api/v1/workflow/workflows/{v2_body['id']}/migrate",
        headers=admin.headers,
        json={"from_version": 1, "step_map": {_step(v1, "open"): _step(v2_body, "open")}},
    )
    assert unmapped.status_code == 422
    assert unmapped.json()["errors"][0]["field"] == f"step_map.{_step(v1, 'in_progress')}"
    result = await _post(
        client,
        admin,
        f"/workflow/workflows/{v2_body['id']}/migrate",
        {
            "from_version": 1,
            "step_map": {
                _step(v1, "open"): _step(v2_body, "open"),
                _step(v1, "in_progress"): _step(v2_body, "in_progress"),
            },
        },
    )
    assert result == {"moved": 3}
    migrated = (
        await client.get(f"/api/v1/work-items/{items[0]['id']}", headers=admin.headers)
    ).json()
    assert migrated["workflow_id"] == v2_body["id"]
    assert migrated["step"]["key"] == "in_progress"
    history = (
        await client.get(f"/api/v1/work-items/{items[0]['id']}/history", headers=admin.headers)
    ).json()
    assert history[-1]["reason"] == "migration"


async def test_status_and_project_type_refusals(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    stranger = await register_tenant(client)
    viewer_refused = await client.post(
        "/api/v1/workflow/statuses",
        headers=(await add_member(client, admin, "viewer")).headers,
        json={"name": "Mine", "category": "open"},
    )
    assert viewer_refused.status_code == 403
    duplicate = await client.post(
        "/api/v1/workflow/statuses", headers=admin.headers, json={"name": "Won", "category": "won"}
    )
    assert duplicate.status_code == 409
    assert duplicate.json()["errors"][0]["field"] == "name"
    bad_colour = await client.post(
        "/api/v1/workflow/statuses",
        headers=admin.headers,
        json={"name": "Odd", "category": "open", "colour": "red"},
    )
    assert bad_colour.status_code == 422
    listed = (await client.get("/api/v1/workflow/workflows", headers=admin.headers)).json()
    support = next(w["id"] for w in listed if w["name"] == "Support ticket")
    taken = await client.post(
        "/api/v1/workflow/project-types",
        headers=admin.headers,
        json={"name": "Support Ticket", "default_workflow_id": support},
    )
    assert taken.status_code == 409
    foreign = await client.post(
        "/api/v1/workflow/project-types",
        headers=stranger.headers,
        json={"name": "Borrowed", "default_workflow_id": support},
    )
    assert foreign.status_code == 404
