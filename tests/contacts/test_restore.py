"""Restoring a contact deleted on its own (POST /api/v1/contacts/{id}/restore): the
contact and exactly what its deletion took come back — its cadence enrolments, as they
were, with the activities they had planned — unless its account is deleted (restore
the account) or its email now belongs to a live contact of the account."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import URL

from tests.accounts.support import (
    create_account,
    create_contact,
    deletion_id_of,
    insert_activity,
    insert_deal,
    restore_request,
    row_images,
    soft_delete,
)
from tests.cadences.support import ENROLLMENTS, cadence, planned_activity_ids
from tests.cadences.test_soft_delete import enrolled, findings
from tests.deals.test_races import _until_blocked
from tests.factories import Member, add_member, register_tenant


async def delete_contact(
    client: httpx.AsyncClient, member: Member, contact: dict[str, Any]
) -> None:
    await soft_delete(client, member, "contacts", contact)


def restore(
    client: httpx.AsyncClient, member: Member, contact_id: str, **params: Any
) -> Coroutine[Any, Any, httpx.Response]:
    return restore_request(client, member, "contacts", contact_id, **params)


async def delete_account(client: httpx.AsyncClient, member: Member, account_id: str) -> None:
    current = await client.get(f"/api/v1/accounts/{account_id}", headers=member.headers)
    response = await client.delete(
        f"/api/v1/accounts/{account_id}",
        headers={**member.headers, "If-Match": str(current.json()["version"])},
    )
    assert response.status_code == 204, response.text


async def test_restore_brings_back_the_contact_and_exactly_what_its_deletion_took(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, owner_url: URL
) -> None:
    admin = await register_tenant(client)
    sales = await add_member(client, admin, "sales")
    account = await create_account(client, sales)
    ada = await create_contact(
        client, sales, account["id"], first_name="Ada", email="ada@acme.com", title="CTO"
    )
    running, paused_cadence, ended = [await cadence(client, admin) for _ in range(3)]
    active = await enrolled(client, sales, running["id"], contact_id=ada["id"])
    paused = await enrolled(client, sales, paused_cadence["id"], contact_id=ada["id"])
    stopped = await enrolled(client, sales, ended["id"], contact_id=ada["id"])
    for enrollment, action in ((paused, "pause"), (stopped, "stop")):
        acted = await client.post(
            f"{ENROLLMENTS}/{enrollment['id']}/{action}", headers=sales.headers
        )
        assert acted.status_code == 200, acted.text
    # What a contact's delete leaves alone: work planned on it by hand, its deals.
    by_hand = await insert_activity(owner_conn, sales, contact_id=ada["id"])
    deal = await insert_deal(owner_conn, sales, account["id"], contact_id=ada["id"])
    # Deleted on its own before: stays deleted after Ada's restore.
    bob = await create_contact(client, sales, account["id"], first_name="Bob")
    on_bob = await enrolled(client, sales, running["id"], contact_id=bob["id"])
    await delete_contact(client, sales, bob)
    bob_deletion = await deletion_id_of(owner_conn, "contacts", bob["id"])
    assert await deletion_id_of(owner_conn, "cadence_enrollments", on_bob["id"]) == bob_deletion

    planned_by_cadence = await planned_activity_ids(owner_conn, active["id"])
    assert len(planned_by_cadence) == 5
    taken = {
        "contacts": [ada["id"]],
        "cadence_enrollments": [active["id"], paused["id"]],
        "activities": planned_by_cadence,
    }
    kept = {
        "cadence_enrollments": [stopped["id"]],
        "activities": [str(by_hand)],
        "deals": [str(deal)],
    }
    images = {t: await row_images(owner_conn, t, ids) for t, ids in taken.items()}
    kept_images = {t: await row_images(owner_conn, t, ids) for t, ids in kept.items()}

    await delete_contact(client, sales, ada)
    deletion_id = await deletion_id_of(owner_conn, "contacts", ada["id"])
    for table, ids in taken.items():
        for record_id in ids:
            assert await deletion_id_of(owner_conn, table, record_id) == deletion_id, table
    path = f"/api/v1/contacts/{ada['id']}"
    assert (await client.get(path, headers=sales.headers)).status_code == 404

    restored = await restore(client, sales, ada["id"])
    assert restored.status_code == 200, restored.text
    body = restored.json()
    assert body["version"] == ada["version"] + 2
    assert body == (await client.get(path, headers=sales.headers)).json()
    assert {k: v for k, v in body.items() if k not in ("version", "updated_at")} == {
        k: v for k, v in ada.items() if k not in ("version", "updated_at")
    }
    for table, ids in taken.items():
        image, versions = await row_images(owner_conn, table, ids)
        assert image == images[table][0], table
        assert versions == {i: v + 2 for i, v in images[table][1].items()}, table
    for table, ids in kept.items():
        assert await row_images(owner_conn, table, ids) == kept_images[table], table
    assert await deletion_id_of(owner_conn, "contacts", bob["id"]) == bob_deletion
    assert await deletion_id_of(owner_conn, "cadence_enrollments", on_bob["id"]) == bob_deletion
    for enrollment, status in ((active, "active"), (paused, "paused")):
        read = await client.get(f"{ENROLLMENTS}/{enrollment['id']}", headers=sales.headers)
        assert read.status_code == 200, read.text
        assert read.json()["status"] == status
    listed = await client.get(
        "/api/v1/contacts", headers=sales.headers, params={"account_id": account["id"]}
    )
    assert [c["id"] for c in listed.json()["items"]] == [ada["id"]]
    assert await findings(owner_url, admin.tenant_slug) == {}

    again = await restore(client, sales, ada["id"])
    assert again.status_code == 409, again.text
    assert again.json()["detail"] == "The contact is not deleted"


async def test_restore_refuses_an_email_taken_meanwhile(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    account = await create_account(client, admin)
    elsewhere = await create_account(client, admin)
    ada = await create_contact(client, admin, account["id"], email="ada@acme.com")
    template = await cadence(client, admin)
    enrollment = await enrolled(client, admin, template["id"], contact_id=ada["id"])
    await delete_contact(client, admin, ada)
    deletion_id = await deletion_id_of(owner_conn, "contacts", ada["id"])
    # The same person at another account is no twin.
    await create_contact(client, admin, elsewhere["id"], email="ada@acme.com")
    twin = await create_contact(client, admin, account["id"], email="ada@acme.com")

    refused = await restore(client, admin, ada["id"])
    assert refused.status_code == 409, refused.text
    assert [e["field"] for e in refused.json()["errors"]] == ["email"]
    assert await deletion_id_of(owner_conn, "contacts", ada["id"]) == deletion_id
    assert await deletion_id_of(owner_conn, "cadence_enrollments", enrollment["id"]) == deletion_id

    moved = await client.patch(
        f"/api/v1/contacts/{twin['id']}",
        headers=admin.headers,
        json={"email": "twin@acme.com", "version": twin["version"]},
    )
    assert moved.status_code == 200, moved.text
    restored = await restore(client, admin, ada["id"])
    assert restored.status_code == 200, restored.text
    assert restored.json()["email"] == "ada@acme.com"
    assert await deletion_id_of(owner_conn, "cadence_enrollments", enrollment["id"]) is None


async def test_a_twin_committed_while_the_restore_waits_is_409_on_email(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    """The unique index is the backstop: a twin inserted (not yet committed) after the
    restore's check makes the restore wait, then refuse — a 409 naming `email`."""
    admin = await register_tenant(client)
    account = await create_account(client, admin)
    ada = await create_contact(client, admin, account["id"], email="ada@acme.com")
    await delete_contact(client, admin, ada)
    async with owner_conn.transaction():
        await owner_conn.execute(
            "INSERT INTO contacts (tenant_id, id, account_id, first_name, email)"
            " VALUES ($1, $2, $3, 'Twin', 'ada@acme.com')",
            admin.tenant_id,
            uuid.uuid4(),
            uuid.UUID(account["id"]),
        )
        restoring = asyncio.ensure_future(restore(client, admin, ada["id"]))
        await _until_blocked(owner_conn, 1, [restoring])
    refused = await restoring
    assert refused.status_code == 409, refused.text
    assert refused.json()["detail"] == "The account already has a contact with this email"
    assert [e["field"] for e in refused.json()["errors"]] == ["email"]
    assert await deletion_id_of(owner_conn, "contacts", ada["id"]) is not None


async def test_a_contact_deleted_with_its_account_comes_back_only_with_the_account(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    account = await create_account(client, admin)
    alone = await create_contact(client, admin, account["id"], first_name="Alone")
    await delete_contact(client, admin, alone)
    with_account = await create_contact(client, admin, account["id"], first_name="With")
    await delete_account(client, admin, account["id"])
    account_restore = f"POST /api/v1/accounts/{account['id']}/restore"

    refused = await restore(client, admin, with_account["id"])
    assert refused.status_code == 409, refused.text
    assert f"restore the account instead ({account_restore})" in refused.json()["detail"]
    first = await restore(client, admin, alone["id"])
    assert first.status_code == 409, first.text
    assert f"restore the account first ({account_restore})" in first.json()["detail"]

    back = await client.post(f"/api/v1/accounts/{account['id']}/restore", headers=admin.headers)
    assert back.status_code == 200, back.text
    assert await deletion_id_of(owner_conn, "contacts", with_account["id"]) is None
    assert await deletion_id_of(owner_conn, "contacts", alone["id"]) is not None
    restored = await restore(client, admin, alone["id"])
    assert restored.status_code == 200, restored.text


async def test_a_stale_version_is_409_and_changes_nothing(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    account = await create_account(client, admin)
    ada = await create_contact(client, admin, account["id"])
    await delete_contact(client, admin, ada)
    for stale in ({"headers": {"If-Match": '"1"'}}, {"version": 1}, {"version": 3}):
        refused = await restore(client, admin, ada["id"], **stale)
        assert refused.status_code == 409, refused.text
        assert refused.json()["type"].endswith("/stale-version")
        assert await deletion_id_of(owner_conn, "contacts", ada["id"]) is not None
    restored = await restore(client, admin, ada["id"], version=2)
    assert restored.status_code == 200, restored.text
    assert restored.json()["version"] == 3


async def test_unknown_and_other_organizations_contacts_are_404_and_viewers_are_403(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    account = await create_account(client, admin)
    ada = await create_contact(client, admin, account["id"])
    await delete_contact(client, admin, ada)
    intruder = await register_tenant(client)
    viewer = await add_member(client, admin, "viewer")
    for member, contact_id, status in (
        (intruder, ada["id"], 404),
        (admin, str(uuid.uuid4()), 404),
        (viewer, ada["id"], 403),
    ):
        refused = await restore(client, member, contact_id)
        assert refused.status_code == status, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
    assert await deletion_id_of(owner_conn, "contacts", ada["id"]) is not None


async def test_an_account_delete_waiting_for_a_restore_takes_the_restored_contact(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    """The restore locks the account before the contact: an account delete arriving
    while it runs waits, then takes the restored contact with the account."""
    admin = await register_tenant(client)
    account = await create_account(client, admin)
    ada = await create_contact(client, admin, account["id"])
    await delete_contact(client, admin, ada)
    async with owner_conn.transaction():
        await owner_conn.execute(
            "SELECT 1 FROM contacts WHERE id = $1 FOR UPDATE", uuid.UUID(ada["id"])
        )
        restoring = asyncio.ensure_future(restore(client, admin, ada["id"]))
        await _until_blocked(owner_conn, 1, [restoring])
        deleting = asyncio.ensure_future(
            client.delete(
                f"/api/v1/accounts/{account['id']}",
                headers={**admin.headers, "If-Match": str(account["version"])},
            )
        )
        await _until_blocked(owner_conn, 2, [restoring, deleting])
    restored, deleted = await restoring, await deleting
    assert restored.status_code == 200, restored.text
    assert deleted.status_code == 204, deleted.text
    account_deletion = await deletion_id_of(owner_conn, "accounts", account["id"])
    assert await deletion_id_of(owner_conn, "contacts", ada["id"]) == account_deletion
