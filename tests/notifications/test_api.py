"""/api/v1/me/notifications: each member reads and marks read only their own.

Notifications here come from the real path: a transition with `notify_owner`,
moved by someone other than the item's owner.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx

from tests.factories import PASSWORD, Member, add_member, login, register_tenant, unique

URL = "/api/v1/me/notifications"


@dataclass(frozen=True)
class Flow:
    """A published work-item workflow Open ⇄ Review whose moves notify the owner."""

    project_type_id: str
    open_id: str
    review_id: str


async def _post(client: httpx.AsyncClient, admin: Member, path: str, body: dict[str, Any]) -> Any:
    response = await client.post(f"/api/v1{path}", headers=admin.headers, json=body)
    assert response.status_code in (200, 201), (path, response.text)
    return response.json()


async def _notifying_flow(client: httpx.AsyncClient, admin: Member) -> Flow:
    flow = await _post(
        client, admin, "/workflow/workflows", {"name": unique("Flow"), "entity_type": "work_item"}
    )
    # Done (won) makes the workflow publishable: every step can lead to an end.
    for key, initial, category in (
        ("open", True, "open"),
        ("review", False, "open"),
        ("done", False, "won"),
    ):
        status = await _post(
            client, admin, "/workflow/statuses", {"name": unique(key), "category": category}
        )
        flow = await _post(
            client,
            admin,
            f"/workflow/workflows/{flow['id']}/steps",
            {"key": key, "name": key.title(), "status_id": status["id"], "is_initial": initial},
        )
    steps = {s["key"]: s["id"] for s in flow["steps"]}
    for source, target in (("open", "review"), ("review", "open")):
        flow = await _post(
            client,
            admin,
            f"/workflow/workflows/{flow['id']}/transitions",
            {
                "from_step_id": steps[source],
                "to_step_id": steps[target],
                "label": target.title(),
                "effects": [
                    {"name": "notify_owner", "config": {"message": "{title} is in {to_step}"}}
                ],
            },
        )
    await _post(
        client,
        admin,
        f"/workflow/workflows/{flow['id']}/transitions",
        {"from_step_id": steps["review"], "to_step_id": steps["done"], "label": "Done"},
    )
    await _post(client, admin, f"/workflow/workflows/{flow['id']}/publish", {})
    kind = await _post(
        client,
        admin,
        "/workflow/project-types",
        {"name": unique("Kind"), "default_workflow_id": flow["id"]},
    )
    return Flow(project_type_id=kind["id"], open_id=steps["open"], review_id=steps["review"])


async def _notify(
    client: httpx.AsyncClient, flow: Flow, owner: Member, mover: Member, title: str
) -> None:
    """`owner` creates an item, `mover` moves it: one notification for `owner`."""
    item = await _post(
        client, owner, "/work-items", {"project_type_id": flow.project_type_id, "name": title}
    )
    await _post(
        client,
        mover,
        f"/work-items/{item['id']}/move",
        {"to_step_id": flow.review_id, "version": 1},
    )


async def _list(client: httpx.AsyncClient, member: Member, **params: str | int) -> dict[str, Any]:
    response = await client.get(URL, headers=member.headers, params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def _unread_messages(client: httpx.AsyncClient, member: Member) -> list[str]:
    return [n["message"] for n in (await _list(client, member, unread="true"))["items"]]


async def _mark_read(client: httpx.AsyncClient, member: Member, notification_id: str) -> int:
    response = await client.post(f"{URL}/{notification_id}/read", headers=member.headers)
    return response.status_code


async def test_the_list_is_the_callers_own_newest_first_in_pages(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    seller = await add_member(client, admin, "sales")
    manager = await add_member(client, admin, "manager")
    flow = await _notifying_flow(client, admin)
    for n in range(5):
        await _notify(client, flow, seller, admin, f"Item {n}")
    await _notify(client, flow, manager, admin, "The manager's")

    everything = await _list(client, seller)
    assert [n["message"] for n in everything["items"]] == [
        f"Item {n} is in Review" for n in (4, 3, 2, 1, 0)
    ]
    assert everything["next_cursor"] is None
    first = everything["items"][0]
    assert (first["entity_type"], first["read_at"]) == ("work_item", None)
    assert uuid.UUID(first["record_id"])
    assert await _unread_messages(client, manager) == ["The manager's is in Review"]
    assert await _unread_messages(client, admin) == []

    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 2, "unread": "true"}
        if cursor:
            params["cursor"] = cursor
        page = await _list(client, seller, **params)
        pages.append([n["message"] for n in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == [
        ["Item 4 is in Review", "Item 3 is in Review"],
        ["Item 2 is in Review", "Item 1 is in Review"],
        ["Item 0 is in Review"],
    ]

    refused: list[tuple[str, str | int]] = [("limit", 0), ("limit", 201), ("cursor", "!!!")]
    for name, value in refused:
        bad = await client.get(URL, headers=seller.headers, params={name: value})
        assert bad.status_code == 422, (name, value, bad.text)
        assert bad.json()["errors"][0]["field"] == name


async def test_marking_read_takes_it_off_the_unread_list(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    seller = await add_member(client, admin, "sales")
    flow = await _notifying_flow(client, admin)
    await _notify(client, flow, seller, admin, "Older")
    await _notify(client, flow, seller, admin, "Newer")
    newer = (await _list(client, seller))["items"][0]
    assert newer["message"] == "Newer is in Review"

    assert await _mark_read(client, seller, newer["id"]) == 204
    assert await _unread_messages(client, seller) == ["Older is in Review"]
    first_read_at = await owner_conn.fetchval(
        "SELECT read_at FROM notifications WHERE id = $1", uuid.UUID(newer["id"])
    )
    # Without `unread=true` the list keeps read ones, marked with when.
    listed = (await _list(client, seller))["items"]
    assert [(n["message"], n["read_at"] is not None) for n in listed] == [
        ("Newer is in Review", True),
        ("Older is in Review", False),
    ]

    # Marking it read again is harmless: still 204, still read since the first time.
    assert await _mark_read(client, seller, newer["id"]) == 204
    assert await _unread_messages(client, seller) == ["Older is in Review"]
    read_at = await owner_conn.fetchval(
        "SELECT read_at FROM notifications WHERE id = $1", uuid.UUID(newer["id"])
    )
    assert read_at == first_read_at is not None


async def test_nobody_else_can_mark_a_notification_read(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    seller = await add_member(client, admin, "sales")
    flow = await _notifying_flow(client, admin)
    await _notify(client, flow, seller, admin, "Mine")
    mine = (await _list(client, seller))["items"][0]["id"]

    stranger = await register_tenant(client)
    for intruder in (admin, stranger):
        assert await _mark_read(client, intruder, mine) == 404
    assert await _mark_read(client, seller, str(uuid.uuid4())) == 404
    assert await _unread_messages(client, seller) == ["Mine is in Review"]
    read_at = await owner_conn.fetchval(
        "SELECT read_at FROM notifications WHERE id = $1", uuid.UUID(mine)
    )
    assert read_at is None

    malformed = await client.post(f"{URL}/not-a-uuid/read", headers=seller.headers)
    assert malformed.status_code == 422
    assert malformed.json()["errors"][0]["field"] == "notification_id"

    assert (await client.get(URL)).status_code == 401
    assert (await client.post(f"{URL}/{mine}/read")).status_code == 401
    assert (
        await client.get(URL, headers={"Authorization": "Bearer not-a-token"})
    ).status_code == 401


async def test_a_member_of_two_organizations_sees_each_ones_notifications_apart(
    client: httpx.AsyncClient,
) -> None:
    """The same person, signed in to each tenant, sees and marks only that tenant's."""
    first_admin = await register_tenant(client)
    person = await add_member(client, first_admin, "sales")
    second_admin = await register_tenant(client)
    joined = await client.post(
        "/api/v1/users",
        headers=second_admin.headers,
        json={
            "email": person.email,
            "full_name": "Sales Person",
            "role": "sales",
            "password": PASSWORD,
        },
    )
    assert joined.status_code == 201, joined.text
    elsewhere = Member(
        token=await login(client, person.email, tenant=second_admin.tenant_slug),
        user_id=person.user_id,
        tenant_id=second_admin.tenant_id,
        tenant_slug=second_admin.tenant_slug,
        email=person.email,
        role="sales",
    )
    assert uuid.UUID(joined.json()["id"]) == person.user_id

    await _notify(client, await _notifying_flow(client, first_admin), person, first_admin, "First")
    await _notify(
        client, await _notifying_flow(client, second_admin), elsewhere, second_admin, "Second"
    )
    assert await _unread_messages(client, person) == ["First is in Review"]
    assert await _unread_messages(client, elsewhere) == ["Second is in Review"]

    first_id = (await _list(client, person))["items"][0]["id"]
    assert await _mark_read(client, elsewhere, first_id) == 404
    assert await _unread_messages(client, person) == ["First is in Review"]
