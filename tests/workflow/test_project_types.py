"""Editing and deleting project types: admins only, the version they edited, and never
a type records still depend on."""

from __future__ import annotations

from typing import Any

import httpx

from tests.factories import Member, add_member, register_tenant, unique

API = "/api/v1/workflow"


async def _types(client: httpx.AsyncClient, member: Member) -> dict[str, dict[str, Any]]:
    listed = await client.get(f"{API}/project-types", headers=member.headers)
    assert listed.status_code == 200, listed.text
    return {t["name"]: t for t in listed.json()}


async def _published_work_item_workflow(client: httpx.AsyncClient, admin: Member) -> str:
    """A second published workflow for work items: todo (initial) → done."""
    statuses = {
        s["name"]: s["id"]
        for s in (await client.get(f"{API}/statuses", headers=admin.headers)).json()
    }
    created = await client.post(
        f"{API}/workflows",
        headers=admin.headers,
        json={"name": unique("Onboarding"), "entity_type": "work_item"},
    )
    assert created.status_code == 201, created.text
    workflow_id = created.json()["id"]
    for key, status_name, initial in (("todo", "New", True), ("done", "Won", False)):
        added = await client.post(
            f"{API}/workflows/{workflow_id}/steps",
            headers=admin.headers,
            json={
                "key": key,
                "name": key.title(),
                "status_id": statuses[status_name],
                "is_initial": initial,
            },
        )
        assert added.status_code == 201, added.text
    steps = {s["key"]: s["id"] for s in added.json()["steps"]}
    connected = await client.post(
        f"{API}/workflows/{workflow_id}/transitions",
        headers=admin.headers,
        json={"from_step_id": steps["todo"], "to_step_id": steps["done"], "label": "Finish"},
    )
    assert connected.status_code == 201, connected.text
    published = await client.post(f"{API}/workflows/{workflow_id}/publish", headers=admin.headers)
    assert published.status_code == 200, published.text
    return str(workflow_id)


async def _new_type(client: httpx.AsyncClient, admin: Member) -> dict[str, Any]:
    ticket = (await _types(client, admin))["Support Ticket"]
    created = await client.post(
        f"{API}/project-types",
        headers=admin.headers,
        json={"name": unique("Bug"), "default_workflow_id": ticket["default_workflow_id"]},
    )
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


async def test_a_project_type_is_renamed_and_pointed_at_another_published_workflow(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    bug = await _new_type(client, admin)
    old_item = await client.post(
        "/api/v1/work-items",
        headers=admin.headers,
        json={"project_type_id": bug["id"], "name": "Before"},
    )
    assert old_item.status_code == 201, old_item.text
    onboarding = await _published_work_item_workflow(client, admin)
    changed = await client.patch(
        f"{API}/project-types/{bug['id']}",
        headers=admin.headers,
        json={
            "name": "Defect",
            "icon": "bug",
            "default_workflow_id": onboarding,
            "version": bug["version"],
        },
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["name"], body["icon"], body["default_workflow_id"]) == (
        "Defect",
        "bug",
        onboarding,
    )
    assert body["entity_type"] == "work_item"
    assert body["version"] == bug["version"] + 1
    assert (await _types(client, admin))["Defect"] == body
    # New items start on the new workflow; the one already created stays on its own.
    new_item = await client.post(
        "/api/v1/work-items",
        headers=admin.headers,
        json={"project_type_id": bug["id"], "name": "After"},
    )
    assert new_item.status_code == 201, new_item.text
    assert new_item.json()["workflow_id"] == onboarding
    kept = await client.get(f"/api/v1/work-items/{old_item.json()['id']}", headers=admin.headers)
    assert kept.json()["workflow_id"] == bug["default_workflow_id"]


async def test_if_match_carries_the_version_and_a_stale_one_is_409(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    bug = await _new_type(client, admin)
    url = f"{API}/project-types/{bug['id']}"
    renamed = await client.patch(
        url,
        headers={**admin.headers, "If-Match": f'"{bug["version"]}"'},
        json={"name": "Defect"},
    )
    assert renamed.status_code == 200, renamed.text
    stale = await client.patch(
        url, headers=admin.headers, json={"name": "Issue", "version": bug["version"]}
    )
    assert stale.status_code == 409, stale.text
    missing = await client.patch(url, headers=admin.headers, json={"name": "Issue"})
    assert missing.status_code == 422, missing.text
    stale_delete = await client.delete(
        url, headers={**admin.headers, "If-Match": f'"{bug["version"]}"'}
    )
    assert stale_delete.status_code == 409, stale_delete.text
    assert (await _types(client, admin))["Defect"]["version"] == bug["version"] + 1


async def test_names_stay_unique_and_the_workflow_must_be_published_and_of_the_kind(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    bug = await _new_type(client, admin)
    types = await _types(client, admin)
    url = f"{API}/project-types/{bug['id']}"
    version = bug["version"]
    taken = await client.patch(
        url, headers=admin.headers, json={"name": "Support Ticket", "version": version}
    )
    assert taken.status_code == 409, taken.text
    deal_flow = types["Deal"]["default_workflow_id"]
    other_kind = await client.patch(
        url, headers=admin.headers, json={"default_workflow_id": deal_flow, "version": version}
    )
    assert other_kind.status_code == 422, other_kind.text
    assert other_kind.json()["errors"][0]["field"] == "default_workflow_id"
    draft = await client.post(
        f"{API}/workflows",
        headers=admin.headers,
        json={"name": unique("Draft"), "entity_type": "work_item"},
    )
    unpublished = await client.patch(
        url,
        headers=admin.headers,
        json={"default_workflow_id": draft.json()["id"], "version": version},
    )
    assert unpublished.status_code == 422, unpublished.text
    assert (await _types(client, admin))[bug["name"]] == bug


async def test_an_unused_project_type_is_deleted(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    bug = await _new_type(client, admin)
    deleted = await client.delete(
        f"{API}/project-types/{bug['id']}",
        headers={**admin.headers, "If-Match": f'"{bug["version"]}"'},
    )
    assert deleted.status_code == 204, deleted.text
    assert bug["name"] not in await _types(client, admin)
    again = await client.delete(f"{API}/project-types/{bug['id']}", headers=admin.headers)
    assert again.status_code == 404


async def test_a_type_with_work_items_is_not_deleted_even_when_they_are(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    bug = await _new_type(client, admin)
    items = []
    for name in ("One", "Two"):
        created = await client.post(
            "/api/v1/work-items",
            headers=admin.headers,
            json={"project_type_id": bug["id"], "name": name},
        )
        assert created.status_code == 201, created.text
        items.append(created.json())
    url = f"{API}/project-types/{bug['id']}"
    refused = await client.delete(url, headers=admin.headers)
    assert refused.status_code == 409, refused.text
    assert "2 work item(s)" in refused.json()["detail"]
    for item in items:
        removed = await client.delete(
            f"/api/v1/work-items/{item['id']}",
            headers={**admin.headers, "If-Match": f'"{item["version"]}"'},
        )
        assert removed.status_code == 204, removed.text
    # Deleted items keep their type (their history shows it; they can come back).
    still = await client.delete(url, headers=admin.headers)
    assert still.status_code == 409, still.text
    assert bug["name"] in await _types(client, admin)


async def test_the_only_type_of_deals_is_not_deleted_but_a_second_one_is(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    deal_type = (await _types(client, admin))["Deal"]
    refused = await client.delete(f"{API}/project-types/{deal_type['id']}", headers=admin.headers)
    assert refused.status_code == 409, refused.text
    second = await client.post(
        f"{API}/project-types",
        headers=admin.headers,
        json={"name": "Renewal", "default_workflow_id": deal_type["default_workflow_id"]},
    )
    assert second.status_code == 201, second.text
    deleted = await client.delete(
        f"{API}/project-types/{second.json()['id']}", headers=admin.headers
    )
    assert deleted.status_code == 204, deleted.text


async def test_only_admins_edit_or_delete_project_types(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    bug = await _new_type(client, admin)
    url = f"{API}/project-types/{bug['id']}"
    for role in ("manager", "sales", "viewer"):
        member = await add_member(client, admin, role)
        patched = await client.patch(
            url, headers=member.headers, json={"name": "Mine", "version": bug["version"]}
        )
        assert patched.status_code == 403, (role, patched.text)
        deleted = await client.delete(url, headers=member.headers)
        assert deleted.status_code == 403, (role, deleted.text)
    assert (await _types(client, admin))[bug["name"]] == bug


async def test_another_organizations_project_type_is_404(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    bug = await _new_type(client, admin)
    stranger = await register_tenant(client)
    url = f"{API}/project-types/{bug['id']}"
    patched = await client.patch(
        url, headers=stranger.headers, json={"name": "Mine", "version": bug["version"]}
    )
    assert patched.status_code == 404, patched.text
    deleted = await client.delete(url, headers=stranger.headers)
    assert deleted.status_code == 404, deleted.text
    assert (await _types(client, admin))[bug["name"]] == bug
