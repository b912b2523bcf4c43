"""Contacts through the API: people at a live account, unique emails, soft delete."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from baton.db.engine import Database
from tests.accounts.support import create_account, create_contact, state
from tests.factories import Member, add_member, register_tenant
from tests.identity.test_statement_counts import counted


async def test_create_get_list_patch_delete_round_trip(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    account = await create_account(client, admin)
    other = await create_account(client, admin)
    ada = await create_contact(
        client,
        admin,
        account["id"],
        first_name=" Ada ",
        last_name="Lovelace",
        email="Ada@Example.COM",
        phone="+44 20 7946 0958",
        title="CTO",
    )
    assert (ada["first_name"], ada["email"], ada["version"]) == ("Ada", "ada@example.com", 1)
    bob = await create_contact(client, admin, other["id"], first_name="Bob")

    fetched = await client.get(f"/api/v1/contacts/{ada['id']}", headers=admin.headers)
    assert fetched.json() == ada
    everyone = await client.get("/api/v1/contacts", headers=admin.headers)
    assert [c["id"] for c in everyone.json()["items"]] == [ada["id"], bob["id"]]
    of_account = await client.get(
        "/api/v1/contacts", headers=admin.headers, params={"account_id": account["id"]}
    )
    assert [c["id"] for c in of_account.json()["items"]] == [ada["id"]]

    url = f"/api/v1/contacts/{ada['id']}"
    patched = await client.patch(
        url,
        headers={**admin.headers, "If-Match": '"1"'},
        json={"title": None, "email": "ADA@lovelace.org", "account_id": other["id"]},
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["title"], body["email"], body["account_id"], body["version"]) == (
        None,
        "ada@lovelace.org",
        other["id"],
        2,
    )
    missing = await client.patch(url, headers=admin.headers, json={"title": "CEO"})
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "version"
    stale = await client.patch(url, headers=admin.headers, json={"title": "CEO", "version": 1})
    assert stale.status_code == 409
    cleared = await client.patch(
        url, headers=admin.headers, json={"first_name": None, "version": 2}
    )
    assert cleared.status_code == 422

    assert (await client.delete(url, headers=admin.headers)).status_code == 422
    assert (
        await client.delete(url, headers=admin.headers, params={"version": 1})
    ).status_code == 409
    deleted = await client.delete(url, headers={**admin.headers, "If-Match": "2"})
    assert deleted.status_code == 204
    assert (await client.get(url, headers=admin.headers)).status_code == 404
    assert (
        await client.delete(url, headers=admin.headers, params={"version": 3})
    ).status_code == 404
    row = await state(owner_conn, "contacts", ada["id"])
    assert row["deleted"]
    assert row["deletion_id"] is not None
    # Its account is untouched.
    assert not (await state(owner_conn, "accounts", other["id"]))["deleted"]


async def test_email_is_unique_among_the_accounts_live_contacts(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    account = await create_account(client, admin)
    other = await create_account(client, admin)
    ada = await create_contact(client, admin, account["id"], email="ada@example.com")
    twin = await client.post(
        "/api/v1/contacts",
        headers=admin.headers,
        json={"account_id": account["id"], "first_name": "Twin", "email": "ADA@example.com"},
    )
    assert twin.status_code == 409
    assert twin.json()["errors"][0]["field"] == "email"
    # Another account may know the same person.
    elsewhere = await create_contact(client, admin, other["id"], email="ada@example.com")
    moved = await client.patch(
        f"/api/v1/contacts/{elsewhere['id']}",
        headers=admin.headers,
        json={"account_id": account["id"], "version": 1},
    )
    assert moved.status_code == 409
    # Once deleted, the email is free again.
    await client.delete(
        f"/api/v1/contacts/{ada['id']}", headers=admin.headers, params={"version": 1}
    )
    await create_contact(client, admin, account["id"], email="ada@example.com")


async def test_the_account_must_be_live_and_the_organizations_own(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    deleted = await create_account(client, admin)
    await client.delete(
        f"/api/v1/accounts/{deleted['id']}", headers=admin.headers, params={"version": 1}
    )
    foreign = await create_account(client, await register_tenant(client))
    # Another organization's account is as unknown as a made-up id: 404. The
    # organization's own deleted account is 422, as for deals and activities.
    for account_id, status in (
        (foreign["id"], 404),
        (str(uuid.uuid4()), 404),
        (deleted["id"], 422),
    ):
        response = await client.post(
            "/api/v1/contacts",
            headers=admin.headers,
            json={"account_id": account_id, "first_name": "Ada"},
        )
        assert response.status_code == status, response.text
        assert response.json()["errors"][0]["field"] == "account_id"
    live = await create_account(client, admin)
    contact = await create_contact(client, admin, live["id"])
    moved = await client.patch(
        f"/api/v1/contacts/{contact['id']}",
        headers=admin.headers,
        json={"account_id": foreign["id"], "version": 1},
    )
    assert moved.status_code == 404


@pytest.mark.parametrize(
    "fields",
    [
        {"first_name": ""},
        {"first_name": "x" * 101},
        {"last_name": "x" * 101},
        {"email": "not-an-email"},
        {"email": "a" * 250 + "@example.com"},
        {"phone": "12"},
        {"phone": "call me maybe"},
        {"phone": "1" * 41},
        {"title": "x" * 201},
        {"nickname": "Ada"},
        {"account_id": "nope"},
    ],
)
async def test_malformed_and_oversized_input_is_422(
    client: httpx.AsyncClient, fields: dict[str, Any]
) -> None:
    admin = await register_tenant(client)
    account = await create_account(client, admin)
    body = {"account_id": account["id"], "first_name": "Ada", **fields}
    response = await client.post("/api/v1/contacts", headers=admin.headers, json=body)
    assert response.status_code == 422, response.text


async def _contact_endpoints(contact: dict[str, Any], account_id: str) -> list[Any]:
    url = f"/api/v1/contacts/{contact['id']}"
    return [
        ("POST", "/api/v1/contacts", {"account_id": account_id, "first_name": "X"}),
        ("PATCH", url, {"title": "X", "version": contact["version"]}),
        ("DELETE", f"{url}?version={contact['version']}", None),
    ]


async def test_viewers_read_and_may_not_write(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    viewer = await add_member(client, admin, "viewer")
    account = await create_account(client, admin)
    contact = await create_contact(client, admin, account["id"])
    assert (await client.get("/api/v1/contacts", headers=viewer.headers)).status_code == 200
    fetched = await client.get(f"/api/v1/contacts/{contact['id']}", headers=viewer.headers)
    assert fetched.status_code == 200
    for method, path, body in await _contact_endpoints(contact, account["id"]):
        response = await client.request(method, path, headers=viewer.headers, json=body)
        assert response.status_code == 403, (method, path, response.text)
    assert (
        await client.get(f"/api/v1/contacts/{contact['id']}", headers=admin.headers)
    ).json() == contact


async def test_another_organizations_contacts_are_404_everywhere(
    client: httpx.AsyncClient,
) -> None:
    owner = await register_tenant(client)
    account = await create_account(client, owner)
    contact = await create_contact(client, owner, account["id"])
    intruder: Member = await register_tenant(client)
    assert (
        await client.get(f"/api/v1/contacts/{contact['id']}", headers=intruder.headers)
    ).status_code == 404
    for method, path, body in await _contact_endpoints(contact, account["id"]):
        response = await client.request(method, path, headers=intruder.headers, json=body)
        assert response.status_code == 404, (method, path, response.text)
    listed = await client.get(
        "/api/v1/contacts", headers=intruder.headers, params={"account_id": account["id"]}
    )
    assert listed.json()["items"] == []


async def test_the_contact_list_does_not_grow_with_the_page(
    client: httpx.AsyncClient, database: Database
) -> None:
    admin = await register_tenant(client)
    account = await create_account(client, admin)
    await create_contact(client, admin, account["id"])
    with counted(database) as small:
        response = await client.get(
            "/api/v1/contacts", headers=admin.headers, params={"account_id": account["id"]}
        )
    assert len(response.json()["items"]) == 1
    for n in range(6):
        await create_contact(client, admin, account["id"], first_name=f"P{n}")
    with counted(database) as large:
        response = await client.get(
            "/api/v1/contacts", headers=admin.headers, params={"account_id": account["id"]}
        )
    assert len(response.json()["items"]) == 7
    assert len(large) == len(small) == 2, large
