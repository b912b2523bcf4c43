"""Editing and deleting work items: versions, merged fields, owners, soft deletion.

PATCH changes name, description, owner and fields (merged; null removes a field) of
the version the caller saw. DELETE is soft: the item leaves the API, lists and
boards, while its row and history stay in the database.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest

from tests.factories import Member, add_member, register_tenant
from tests.workflow.test_edits import race

ITEMS = "/api/v1/work-items"


@dataclass(frozen=True)
class Ticket:
    admin: Member
    item: dict[str, Any]
    steps: dict[str, str]  # step key → id, of the item's workflow

    @property
    def url(self) -> str:
        return f"{ITEMS}/{self.item['id']}"


async def _create(
    client: httpx.AsyncClient, admin: Member, project_type_id: str, **extra: Any
) -> dict[str, Any]:
    created = await client.post(
        ITEMS,
        headers=admin.headers,
        json={"project_type_id": project_type_id, "name": "Printer on fire", **extra},
    )
    assert created.status_code == 201, created.text
    item: dict[str, Any] = created.json()
    return item


@pytest.fixture
async def ticket(client: httpx.AsyncClient) -> Ticket:
    admin = await register_tenant(client)
    types = (await client.get("/api/v1/workflow/project-types", headers=admin.headers)).json()
    ticket_type = next(t for t in types if t["name"] == "Support Ticket")
    item = await _create(
        client,
        admin,
        ticket_type["id"],
        description="Smoke from tray 2",
        fields={"priority": "high", "customer": "ACME"},
    )
    workflow = (
        await client.get(f"/api/v1/workflow/workflows/{item['workflow_id']}", headers=admin.headers)
    ).json()
    return Ticket(admin, item, {s["key"]: s["id"] for s in workflow["steps"]})


def _error_fields(response: httpx.Response) -> list[str]:
    return [error["field"] for error in response.json().get("errors", [])]


async def _patch(
    client: httpx.AsyncClient, member: Member, ticket: Ticket, body: dict[str, Any]
) -> httpx.Response:
    return await client.patch(ticket.url, headers=member.headers, json=body)


async def _current(client: httpx.AsyncClient, ticket: Ticket) -> dict[str, Any]:
    response = await client.get(ticket.url, headers=ticket.admin.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _move(
    client: httpx.AsyncClient, member: Member, item: dict[str, Any], to_step_id: str, **extra: Any
) -> httpx.Response:
    return await client.post(
        f"{ITEMS}/{item['id']}/move",
        headers=member.headers,
        json={"to_step_id": to_step_id, "version": item["version"], **extra},
    )


# ------------------------------------------------------------------ PATCH


async def test_patch_edits_name_and_description_of_the_current_version(
    client: httpx.AsyncClient, ticket: Ticket
) -> None:
    item = ticket.item
    edited = await _patch(
        client,
        ticket.admin,
        ticket,
        {"name": "  Printer smoking  ", "description": "Tray 3 now", "version": item["version"]},
    )
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert (body["name"], body["description"]) == ("Printer smoking", "Tray 3 now")
    assert body["version"] == item["version"] + 1
    assert body["updated_at"] >= item["updated_at"]
    # Everything else is as it was: the step changes only by a move.
    unchanged = ("id", "step", "workflow_id", "owner_id", "fields", "created_at")
    assert {k: body[k] for k in unchanged} == {k: item[k] for k in unchanged}
    assert await _current(client, ticket) == body
    # The version may come as If-Match; null clears the description.
    cleared = await client.patch(
        ticket.url,
        headers={**ticket.admin.headers, "If-Match": f'"{body["version"]}"'},
        json={"description": None},
    )
    assert cleared.status_code == 200, cleared.text
    assert (cleared.json()["description"], cleared.json()["name"]) == (None, "Printer smoking")
    assert cleared.json()["version"] == body["version"] + 1


async def test_patch_merges_fields_and_null_removes_one(
    client: httpx.AsyncClient, ticket: Ticket
) -> None:
    assert ticket.item["fields"] == {"priority": "high", "customer": "ACME"}
    merged = await _patch(
        client,
        ticket.admin,
        ticket,
        {
            "fields": {"priority": None, "customer": "Acme Ltd", "channel": "email", "gone": None},
            "version": 1,
        },
    )
    assert merged.status_code == 200, merged.text
    assert merged.json()["fields"] == {"customer": "Acme Ltd", "channel": "email"}
    assert (await _current(client, ticket))["fields"] == {
        "customer": "Acme Ltd",
        "channel": "email",
    }
    # Sending no fields leaves them alone.
    renamed = await _patch(client, ticket.admin, ticket, {"name": "Renamed", "version": 2})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["fields"] == {"customer": "Acme Ltd", "channel": "email"}
    # A field set by PATCH counts for a transition's required fields.
    started = await _move(client, ticket.admin, renamed.json(), ticket.steps["in_progress"])
    assert started.status_code == 200, started.text
    item = started.json()["item"]
    with_resolution = await _patch(
        client, ticket.admin, ticket, {"fields": {"resolution": "Rebooted"}, "version": 4}
    )
    assert with_resolution.status_code == 200, with_resolution.text
    resolved = await _move(client, ticket.admin, {**item, "version": 5}, ticket.steps["resolved"])
    assert resolved.status_code == 200, resolved.text


async def test_a_transition_may_require_a_column_of_the_item(
    client: httpx.AsyncClient, ticket: Ticket
) -> None:
    """`required_fields` names custom fields or the item's own columns (description,
    owner_id); a move may not send null for a field (PATCH removes fields)."""
    admin = ticket.admin
    workflow_url = f"/api/v1/workflow/workflows/{ticket.item['workflow_id']}"
    workflow = (await client.get(workflow_url, headers=admin.headers)).json()
    step = next(s for s in workflow["steps"] if s["key"] == "in_progress")
    draft = await client.patch(
        f"/api/v1/workflow/steps/{step['id']}",
        headers=admin.headers,
        json={"required_fields": ["description", "owner_id"], "version": step["version"]},
    )
    assert draft.status_code == 200, draft.text
    published = await client.post(
        f"/api/v1/workflow/workflows/{draft.json()['id']}/publish", headers=admin.headers
    )
    assert published.status_code == 200, published.text
    steps = {s["key"]: s["id"] for s in published.json()["steps"]}
    bare = await _create(client, admin, ticket.item["project_type_id"])
    assert bare["owner_id"] is not None
    refused = await _move(client, admin, bare, steps["in_progress"])
    assert refused.status_code == 422
    assert _error_fields(refused) == ["fields.description"]
    null = await _move(client, admin, bare, steps["in_progress"], fields={"description": None})
    assert null.status_code == 422
    assert _error_fields(null) == ["fields"]
    described = await client.patch(
        f"{ITEMS}/{bare['id']}",
        headers=admin.headers,
        json={"description": "Paper jam", "version": bare["version"]},
    )
    assert described.status_code == 200, described.text
    moved = await _move(client, admin, described.json(), steps["in_progress"])
    assert moved.status_code == 200, moved.text
    assert moved.json()["item"]["fields"] == {}


async def test_invalid_patches_are_422_and_change_nothing(
    client: httpx.AsyncClient, ticket: Ticket
) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"name": None, "version": 1}, "name"),
        ({"name": "   ", "version": 1}, "name"),
        ({"name": "x" * 201, "version": 1}, "name"),
        ({"description": "x" * 10_001, "version": 1}, "description"),
        ({"fields": {f"f{n}": n for n in range(101)}, "version": 1}, "fields"),
        ({"step_id": ticket.steps["closed"], "version": 1}, "step_id"),
        ({"name": "Fine", "version": 0}, "version"),
        ({"name": "Fine", "version": 2**40}, "version"),
        ({"owner_id": "not-a-uuid", "version": 1}, "owner_id"),
    ]
    for body, field in cases:
        response = await _patch(client, ticket.admin, ticket, body)
        assert response.status_code == 422, (body, response.text)
        assert _error_fields(response) == [field], (body, response.json())
    assert await _current(client, ticket) == ticket.item


async def test_the_owner_must_be_a_writer_of_the_organization(
    client: httpx.AsyncClient, ticket: Ticket
) -> None:
    admin = ticket.admin
    assert ticket.item["owner_id"] == str(admin.user_id)
    viewer = await add_member(client, admin, "viewer")
    stranger = await register_tenant(client)
    for owner in (viewer.user_id, stranger.user_id, uuid.uuid4()):
        refused = await _patch(client, admin, ticket, {"owner_id": str(owner), "version": 1})
        assert refused.status_code == 422, (owner, refused.text)
        assert _error_fields(refused) == ["owner_id"]
    assert await _current(client, ticket) == ticket.item
    version = 1
    for role in ("manager", "sales", "marketing"):
        member = await add_member(client, admin, role)
        handed = await _patch(
            client, admin, ticket, {"owner_id": str(member.user_id), "version": version}
        )
        assert handed.status_code == 200, (role, handed.text)
        assert handed.json()["owner_id"] == str(member.user_id)
        version = handed.json()["version"]
    unassigned = await _patch(client, admin, ticket, {"owner_id": None, "version": version})
    assert unassigned.status_code == 200, unassigned.text
    assert (await _current(client, ticket))["owner_id"] is None


async def test_a_stale_or_missing_version_is_refused(
    client: httpx.AsyncClient, ticket: Ticket
) -> None:
    first = await _patch(client, ticket.admin, ticket, {"name": "First", "version": 1})
    assert first.status_code == 200, first.text
    stale = await _patch(
        client,
        ticket.admin,
        ticket,
        {"name": "Second", "fields": {"priority": None}, "version": 1},
    )
    assert stale.status_code == 409, stale.text
    assert stale.json()["type"].endswith("/stale-version")
    missing = await _patch(client, ticket.admin, ticket, {"name": "Second"})
    assert missing.status_code == 422, missing.text
    assert _error_fields(missing) == ["version"]
    malformed = await client.patch(
        ticket.url, headers={**ticket.admin.headers, "If-Match": "latest"}, json={"name": "x"}
    )
    assert malformed.status_code == 422, malformed.text
    assert await _current(client, ticket) == first.json()


async def test_concurrent_edits_of_one_item_exactly_one_wins(
    client: httpx.AsyncClient, ticket: Ticket, owner_conn: asyncpg.Connection
) -> None:
    results = await race(
        owner_conn,
        "work_items",
        ticket.item["id"],
        [_patch(client, ticket.admin, ticket, {"name": f"N{n}", "version": 1}) for n in range(4)],
    )
    assert sorted(r.status_code for r in results) == [200, 409, 409, 409], [r.text for r in results]
    assert (await _current(client, ticket))["version"] == 2


async def test_viewers_cannot_edit_and_other_tenants_see_404(
    client: httpx.AsyncClient, ticket: Ticket
) -> None:
    viewer = await add_member(client, ticket.admin, "viewer")
    assert (await _patch(client, viewer, ticket, {"name": "Mine", "version": 1})).status_code == 403
    refused_delete = await client.delete(ticket.url, headers=viewer.headers, params={"version": 1})
    assert refused_delete.status_code == 403
    sales = await add_member(client, ticket.admin, "sales")
    allowed = await _patch(client, sales, ticket, {"fields": {"seen": True}, "version": 1})
    assert allowed.status_code == 200, allowed.text
    stranger = await register_tenant(client)
    for response in (
        await _patch(client, stranger, ticket, {"name": "Mine", "version": 2}),
        await client.delete(ticket.url, headers=stranger.headers, params={"version": 2}),
        await client.get(f"{ticket.url}/activities", headers=stranger.headers),
    ):
        assert response.status_code == 404, response.text
    assert await _current(client, ticket) == allowed.json()
    unknown = await client.patch(
        f"{ITEMS}/{uuid.uuid4()}", headers=ticket.admin.headers, json={"name": "x", "version": 1}
    )
    assert unknown.status_code == 404
    malformed = await client.patch(
        f"{ITEMS}/not-a-uuid", headers=ticket.admin.headers, json={"name": "x", "version": 1}
    )
    assert malformed.status_code == 422


# ------------------------------------------------------------------ DELETE


async def test_delete_requires_the_current_version(
    client: httpx.AsyncClient, ticket: Ticket
) -> None:
    admin = ticket.admin
    missing = await client.delete(ticket.url, headers=admin.headers)
    assert missing.status_code == 422, missing.text
    assert _error_fields(missing) == ["version"]
    for stale in (
        await client.delete(ticket.url, headers=admin.headers, params={"version": 2}),
        await client.delete(ticket.url, headers={**admin.headers, "If-Match": '"2"'}),
    ):
        assert stale.status_code == 409, stale.text
    for malformed in (
        await client.delete(ticket.url, headers=admin.headers, params={"version": 0}),
        await client.delete(ticket.url, headers=admin.headers, params={"version": "one"}),
        await client.delete(ticket.url, headers={**admin.headers, "If-Match": "one"}),
    ):
        assert malformed.status_code == 422, malformed.text
    assert await _current(client, ticket) == ticket.item
    by_header = await client.delete(ticket.url, headers={**admin.headers, "If-Match": '"1"'})
    assert by_header.status_code == 204, by_header.text
    assert by_header.content == b""


async def test_concurrent_deletes_of_one_item_exactly_one_wins(
    client: httpx.AsyncClient, ticket: Ticket, owner_conn: asyncpg.Connection
) -> None:
    results = await race(
        owner_conn,
        "work_items",
        ticket.item["id"],
        [
            client.delete(ticket.url, headers=ticket.admin.headers, params={"version": 1})
            for _ in range(4)
        ],
    )
    codes = sorted(r.status_code for r in results)
    assert codes[0] == 204, [r.text for r in results]
    assert set(codes[1:]) <= {404, 409}, [r.text for r in results]


async def test_a_deleted_item_leaves_the_api_but_stays_in_the_database(
    client: httpx.AsyncClient, ticket: Ticket, owner_conn: asyncpg.Connection
) -> None:
    admin, item = ticket.admin, ticket.item
    survivor = await _create(client, admin, item["project_type_id"])
    deleted = await client.delete(ticket.url, headers=admin.headers, params={"version": 1})
    assert deleted.status_code == 204, deleted.text
    for response in (
        await client.get(ticket.url, headers=admin.headers),
        await client.get(f"{ticket.url}/history", headers=admin.headers),
        await client.get(f"{ticket.url}/activities", headers=admin.headers),
        await _patch(client, admin, ticket, {"name": "Back", "version": 2}),
        await client.delete(ticket.url, headers=admin.headers, params={"version": 2}),
        await _move(client, admin, {**item, "version": 2}, ticket.steps["in_progress"]),
        await _move(client, admin, item, ticket.steps["in_progress"]),
    ):
        assert response.status_code == 404, (response.request.url, response.text)
    listed = await client.get(ITEMS, headers=admin.headers)
    assert [i["id"] for i in listed.json()["items"]] == [survivor["id"]]
    by_step = await client.get(
        ITEMS, headers=admin.headers, params={"step_id": ticket.steps["open"]}
    )
    assert [i["id"] for i in by_step.json()["items"]] == [survivor["id"]]
    board = await client.get(
        f"{ITEMS}/board", headers=admin.headers, params={"workflow_id": item["workflow_id"]}
    )
    assert board.status_code == 200, board.text
    columns = {c["step"]["key"]: c for c in board.json()["columns"]}
    assert columns["open"]["count"] == 1
    assert [i["id"] for i in columns["open"]["items"]] == [survivor["id"]]
    row = await owner_conn.fetchrow(
        "SELECT name, deleted_at, deleted_by, step_id FROM work_items WHERE id = $1",
        uuid.UUID(item["id"]),
    )
    assert row is not None
    assert row["name"] == item["name"]
    assert row["deleted_at"] is not None
    assert row["deleted_by"] == admin.user_id
    assert str(row["step_id"]) == ticket.steps["open"]
    history = await owner_conn.fetchval(
        "SELECT count(*) FROM workflow_history WHERE record_id = $1", uuid.UUID(item["id"])
    )
    assert history == 1
    # The survivor is untouched.
    assert (await client.get(f"{ITEMS}/{survivor['id']}", headers=admin.headers)).json() == survivor


async def test_another_tenants_item_cannot_be_deleted(
    client: httpx.AsyncClient, ticket: Ticket, owner_conn: asyncpg.Connection
) -> None:
    stranger = await register_tenant(client)
    for response in (
        await client.delete(ticket.url, headers=stranger.headers, params={"version": 1}),
        await client.delete(ticket.url, headers={**stranger.headers, "If-Match": '"1"'}),
    ):
        assert response.status_code == 404, response.text
    deleted_at = await owner_conn.fetchval(
        "SELECT deleted_at FROM work_items WHERE id = $1", uuid.UUID(ticket.item["id"])
    )
    assert deleted_at is None
    assert await _current(client, ticket) == ticket.item


# ------------------------------------------------------------------ activities


async def test_activities_list_stage_changes_newest_first(
    client: httpx.AsyncClient, ticket: Ticket
) -> None:
    admin = ticket.admin
    started = await _move(client, admin, ticket.item, ticket.steps["in_progress"])
    assert started.status_code == 200, started.text
    resolved = await _move(
        client,
        admin,
        started.json()["item"],
        ticket.steps["resolved"],
        fields={"resolution": "Rebooted"},
    )
    assert resolved.status_code == 200, resolved.text
    viewer = await add_member(client, admin, "viewer")
    timeline = await client.get(f"{ticket.url}/activities", headers=viewer.headers)
    assert timeline.status_code == 200, timeline.text
    changes = [a for a in timeline.json() if a["subject"].startswith("Stage changed")]
    assert [a["subject"] for a in changes] == [
        "Stage changed: In Progress → Resolved",
        "Stage changed: Open → In Progress",
    ]
    for activity in changes:
        assert activity["work_item_id"] == ticket.item["id"]
        assert (activity["type"], activity["status"]) == ("system", "done")
        assert activity["completed_at"] is not None
    # Another item's timeline does not show them.
    other = await _create(client, admin, ticket.item["project_type_id"])
    assert (
        await client.get(f"{ITEMS}/{other['id']}/activities", headers=admin.headers)
    ).json() == []
