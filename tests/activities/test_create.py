"""Creating and editing activities: related records, owners, types, versions."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import pytest

from tests.activities.records import (
    API,
    Org,
    account,
    contact,
    deal,
    org,
    plan,
    soft_delete,
)
from tests.factories import register_tenant


@pytest.fixture
async def team(client: httpx.AsyncClient) -> Org:
    return await org(client)


def _fields(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    return [error["field"] for error in response.json()["errors"]]


async def test_planned_activity_defaults_to_the_caller(
    client: httpx.AsyncClient, team: Org
) -> None:
    created = await plan(client, team.sales, subject="  Call Bob  ", description="About pricing")
    assert created["status"] == "planned"
    assert created["subject"] == "Call Bob"
    assert created["owner_id"] == str(team.sales.user_id)
    assert created["completed_at"] is None
    assert created["version"] == 1
    assert (created["account_id"], created["contact_id"], created["deal_id"]) == (None,) * 3
    fetched = await client.get(f"{API}/{created['id']}", headers=team.viewer.headers)
    assert fetched.json() == created


async def test_every_combination_of_related_records(
    client: httpx.AsyncClient, team: Org, owner_conn: asyncpg.Connection
) -> None:
    acme = await account(owner_conn, team.admin)
    bob = await contact(owner_conn, team.admin, acme)
    big = await deal(owner_conn, team.admin, acme)
    a, c, d = str(acme), str(bob), str(big)
    cases = [
        ({"account_id": a}, (a, None, None)),
        ({"contact_id": c}, (a, c, None)),
        ({"deal_id": d}, (a, None, d)),
        ({"account_id": a, "contact_id": c}, (a, c, None)),
        ({"account_id": a, "deal_id": d}, (a, None, d)),
        ({"contact_id": c, "deal_id": d}, (a, c, d)),
        ({"account_id": a, "contact_id": c, "deal_id": d}, (a, c, d)),
    ]
    for links, expected in cases:
        created = await plan(client, team.sales, **links)
        assert (created["account_id"], created["contact_id"], created["deal_id"]) == expected
    # Creating planned work does not touch the deal's next step.
    assert await owner_conn.fetchval("SELECT version FROM deals WHERE id = $1", big) == 1


async def test_related_records_must_be_live_and_of_one_account(
    client: httpx.AsyncClient, team: Org, owner_conn: asyncpg.Connection
) -> None:
    """422 for the organization's own records that do not fit; unknown and another
    organization's records are 404 (tests/activities/test_tenancy.py)."""
    acme = await account(owner_conn, team.admin)
    other = await account(owner_conn, team.admin, "Globex")
    bob = await contact(owner_conn, team.admin, acme)
    gone = await contact(owner_conn, team.admin, acme)
    await soft_delete(owner_conn, "contacts", gone)
    big = await deal(owner_conn, team.admin, acme)
    closed_down = await deal(owner_conn, team.admin, acme, rank="n")
    await soft_delete(owner_conn, "deals", closed_down)

    async def refused(**links: str) -> list[str]:
        response = await client.post(
            API,
            headers=team.sales.headers,
            json={"type": "task", "subject": "x", "due_at": "2030-01-01T09:00:00Z", **links},
        )
        return _fields(response)

    assert await refused(contact_id=str(gone)) == ["contact_id"]
    assert await refused(deal_id=str(closed_down)) == ["deal_id"]
    assert await refused(account_id=str(acme), contact_id=str(gone), deal_id=str(closed_down)) == [
        "deal_id",
        "contact_id",
    ]
    assert await refused(account_id=str(other), contact_id=str(bob)) == ["contact_id"]
    assert await refused(account_id=str(other), deal_id=str(big)) == ["deal_id"]
    other_contact = await contact(owner_conn, team.admin, other)
    assert await refused(contact_id=str(other_contact), deal_id=str(big)) == ["contact_id"]
    await soft_delete(owner_conn, "accounts", other)
    assert await refused(account_id=str(other)) == ["account_id"]
    count = await owner_conn.fetchval(
        "SELECT count(*) FROM activities WHERE tenant_id = $1", team.admin.tenant_id
    )
    assert count == 0


async def test_types_due_times_and_owners(
    client: httpx.AsyncClient, team: Org, owner_conn: asyncpg.Connection
) -> None:
    async def post(**body: object) -> httpx.Response:
        return await client.post(API, headers=team.sales.headers, json=body)

    note = await post(type="note", subject="Met at the fair")
    assert note.status_code == 201, note.text
    assert note.json()["status"] == "done"
    assert note.json()["completed_at"] is not None
    assert _fields(await post(type="system", subject="Stage changed")) == ["type"]
    assert _fields(await post(type="call", subject="No date")) == ["due_at"]
    assert _fields(await post(type="note", subject="x", due_at="2030-01-01T09:00:00Z")) == [
        "due_at"
    ]
    assert _fields(await post(type="call", subject="x", due_at="2030-01-01T09:00:00")) == ["due_at"]
    for owner in (team.viewer.user_id, (await register_tenant(client)).user_id, uuid.uuid4()):
        response = await post(
            type="call", subject="x", due_at="2030-01-01T09:00:00Z", owner_id=str(owner)
        )
        assert _fields(response) == ["owner_id"]
    handed = await post(
        type="meeting",
        subject="Demo",
        due_at="2030-01-01T09:00:00+02:00",
        owner_id=str(team.admin.user_id),
    )
    assert handed.status_code == 201, handed.text
    assert handed.json()["owner_id"] == str(team.admin.user_id)
    assert handed.json()["due_at"] == "2030-01-01T07:00:00Z"


async def test_edit_planned_work_with_its_version(client: httpx.AsyncClient, team: Org) -> None:
    created = await plan(client, team.sales)
    url = f"{API}/{created['id']}"
    headers = team.sales.headers
    missing = await client.patch(url, headers=headers, json={"subject": "Later"})
    assert _fields(missing) == ["version"]
    edited = await client.patch(
        url,
        headers=headers,
        json={
            "subject": "Call Bob again",
            "type": "email",
            "due_at": "2031-05-04T10:00:00Z",
            "owner_id": str(team.admin.user_id),
            "description": "Bring the numbers",
            "version": 1,
        },
    )
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert (body["subject"], body["type"], body["version"]) == ("Call Bob again", "email", 2)
    assert body["due_at"] == "2031-05-04T10:00:00Z"
    assert body["owner_id"] == str(team.admin.user_id)
    stale = await client.patch(url, headers=headers, json={"subject": "x", "version": 1})
    assert stale.status_code == 409, stale.text
    header = await client.patch(
        url, headers={**headers, "If-Match": '"2"'}, json={"description": None, "version": 1}
    )
    assert header.status_code == 200, header.text
    assert header.json()["description"] is None
    removed = await client.patch(url, headers=headers, json={"due_at": None, "version": 3})
    assert _fields(removed) == ["due_at"]
    viewer_owner = await client.patch(
        url, headers=headers, json={"owner_id": str(team.viewer.user_id), "version": 3}
    )
    assert _fields(viewer_owner) == ["owner_id"]
    assert (await client.get(url, headers=headers)).json() == header.json()


async def test_history_and_system_entries_do_not_change(
    client: httpx.AsyncClient, team: Org, owner_conn: asyncpg.Connection
) -> None:
    headers = team.sales.headers
    note = (
        await client.post(API, headers=headers, json={"type": "note", "subject": "Noted"})
    ).json()
    done = await plan(client, team.sales)
    completed = await client.post(
        f"{API}/{done['id']}/complete", headers=headers, json={"version": 1}
    )
    assert completed.status_code == 200, completed.text
    cancelled = await plan(client, team.sales)
    assert (
        await client.post(f"{API}/{cancelled['id']}/cancel", headers=headers, json={"version": 1})
    ).status_code == 200
    system_id = uuid.uuid4()
    await owner_conn.execute(
        "INSERT INTO activities (tenant_id, id, type, status, subject, completed_at)"
        " VALUES ($1, $2, 'system', 'done', 'Stage changed: A → B', now())",
        team.admin.tenant_id,
        system_id,
    )
    for activity_id, version in (
        (note["id"], 1),
        (done["id"], 2),
        (cancelled["id"], 2),
        (str(system_id), 1),
    ):
        url = f"{API}/{activity_id}"
        for response in (
            await client.patch(url, headers=headers, json={"subject": "x", "version": version}),
            await client.post(f"{url}/complete", headers=headers, json={"version": version}),
            await client.post(f"{url}/cancel", headers=headers, json={"version": version}),
        ):
            assert response.status_code == 409, (activity_id, response.text)


async def test_viewers_read_and_cannot_write(client: httpx.AsyncClient, team: Org) -> None:
    created = await plan(client, team.sales)
    url = f"{API}/{created['id']}"
    viewer = team.viewer.headers
    for response in (
        await client.post(
            API,
            headers=viewer,
            json={"type": "call", "subject": "x", "due_at": "2030-01-01T09:00:00Z"},
        ),
        await client.patch(url, headers=viewer, json={"subject": "x", "version": 1}),
        await client.post(f"{url}/complete", headers=viewer, json={"version": 1}),
        await client.post(f"{url}/cancel", headers=viewer, json={"version": 1}),
    ):
        assert response.status_code == 403, response.text
    assert (await client.get(url, headers=viewer)).json() == created
    listed = await client.get(API, headers=viewer)
    assert [item["id"] for item in listed.json()["items"]] == [created["id"]]


async def test_another_tenants_activity_is_404(client: httpx.AsyncClient, team: Org) -> None:
    created = await plan(client, team.sales)
    url = f"{API}/{created['id']}"
    stranger = (await register_tenant(client)).headers
    for response in (
        await client.get(url, headers=stranger),
        await client.patch(url, headers=stranger, json={"subject": "x", "version": 1}),
        await client.post(f"{url}/complete", headers=stranger, json={"version": 1}),
        await client.post(f"{url}/cancel", headers=stranger, json={"version": 1}),
    ):
        assert response.status_code == 404, response.text
    assert (await client.get(API, headers=stranger)).json() == {"items": [], "next_cursor": None}
    assert (await client.get(url, headers=team.sales.headers)).json() == created


async def test_a_stale_or_missing_version_changes_nothing(
    client: httpx.AsyncClient, team: Org
) -> None:
    created = await plan(client, team.sales)
    url = f"{API}/{created['id']}"
    headers = team.sales.headers
    for action in ("complete", "cancel"):
        assert _fields(await client.post(f"{url}/{action}", headers=headers, json={})) == [
            "version"
        ]
        stale = await client.post(f"{url}/{action}", headers=headers, json={"version": 7})
        assert stale.status_code == 409, stale.text
        stale_header = await client.post(
            f"{url}/{action}", headers={**headers, "If-Match": '"7"'}, json={"version": 1}
        )
        assert stale_header.status_code == 409, stale_header.text
    assert _fields(await client.post(f"{url}/cancel", headers=headers)) == ["version"]
    assert (await client.get(url, headers=headers)).json() == created
    by_header = await client.post(f"{url}/cancel", headers={**headers, "If-Match": "1"})
    assert by_header.status_code == 200, by_header.text
    assert by_header.json()["activity"]["status"] == "cancelled"


async def test_far_and_odd_due_times_are_422_not_500(client: httpx.AsyncClient, team: Org) -> None:
    for due in ("9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+01:00", "1899-12-31T23:59:59Z"):
        response = await client.post(
            API, headers=team.sales.headers, json={"type": "call", "subject": "x", "due_at": due}
        )
        assert _fields(response) == ["due_at"], due
    assert (
        await client.get(API, headers=team.sales.headers, params={"cursor": "AAAA"})
    ).status_code == 422
    assert (
        await client.get(API, headers=team.sales.headers, params={"owner": "0" * 36})
    ).status_code == 422
