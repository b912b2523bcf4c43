"""Restoring a deal deleted on its own (POST /api/v1/deals/{id}/restore): the deal and
exactly what its deletion took come back — its planned activities and its cadence
enrolments, as they were — on the board where it was, or at its column's end when its
place was taken; a deal deleted with its account comes back only with the account."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import URL

from tests.accounts.support import (
    deletion_id_of,
    insert_activity,
    restore_request,
    row_images,
    soft_delete,
)
from tests.cadences.support import ENROLLMENTS, cadence, planned_activity_ids
from tests.cadences.test_soft_delete import enrolled, findings
from tests.deals.conftest import Org
from tests.deals.test_races import _until_blocked
from tests.factories import Member, add_member, register_tenant


async def delete_deal(client: httpx.AsyncClient, member: Member, deal: dict[str, Any]) -> None:
    await soft_delete(client, member, "deals", deal)


def restore(
    client: httpx.AsyncClient, member: Member, deal_id: str, **params: Any
) -> Coroutine[Any, Any, httpx.Response]:
    return restore_request(client, member, "deals", deal_id, **params)


async def column(client: httpx.AsyncClient, org: Org, key: str) -> list[str]:
    """The ids of one board column's cards, in board order, as GET /pipeline shows them."""
    response = await client.get(
        "/api/v1/pipeline", headers=org.sales.headers, params={"per_column": 200}
    )
    assert response.status_code == 200, response.text
    [found] = [c for c in response.json()["columns"] if c["step"]["key"] == key]
    return [card["id"] for card in found["items"]]


async def ranks_of(owner_conn: asyncpg.Connection, org: Org, key: str) -> list[tuple[str, str]]:
    found = await owner_conn.fetch(
        "SELECT id::text, rank FROM deals WHERE tenant_id = $1 AND step_id = $2"
        " AND deleted_at IS NULL ORDER BY rank",
        org.admin.tenant_id,
        org.steps[key],
    )
    return [(r["id"], r["rank"]) for r in found]


async def test_restore_brings_back_the_deal_and_exactly_what_its_deletion_took(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection, owner_url: URL
) -> None:
    contact = await client.post(
        "/api/v1/contacts",
        headers=org.sales.headers,
        json={"account_id": str(org.account_id), "first_name": "Ada"},
    )
    assert contact.status_code == 201, contact.text
    contact_id = contact.json()["id"]
    running, paused_cadence, ended = [await cadence(client, org.admin) for _ in range(3)]
    deal = await org.create(client, amount="500.00", contact_id=contact_id)
    active = await enrolled(client, org.sales, running["id"], deal_id=deal["id"])
    paused = await enrolled(client, org.sales, paused_cadence["id"], deal_id=deal["id"])
    stopped = await enrolled(client, org.sales, ended["id"], deal_id=deal["id"])
    for enrollment, action in ((paused, "pause"), (stopped, "stop")):
        acted = await client.post(
            f"{ENROLLMENTS}/{enrollment['id']}/{action}", headers=org.sales.headers
        )
        assert acted.status_code == 200, acted.text
    planned = await insert_activity(owner_conn, org.sales, deal_id=deal["id"])
    done = await insert_activity(owner_conn, org.sales, status="done", deal_id=deal["id"])
    # Deleted on their own before the deal: they stay deleted after its restore.
    on_contact = await enrolled(client, org.sales, running["id"], contact_id=contact_id)
    removed = await client.delete(
        f"/api/v1/contacts/{contact_id}", headers=org.sales.headers, params={"version": 1}
    )
    assert removed.status_code == 204, removed.text
    other = await org.create(client)
    await delete_deal(client, org.sales, other)
    before_others = {
        (table, record_id): await deletion_id_of(owner_conn, table, record_id)
        for table, record_id in (
            ("contacts", contact_id),
            ("cadence_enrollments", on_contact["id"]),
            ("deals", other["id"]),
        )
    }
    assert all(before_others.values())

    deal = await org.get(client, deal)
    planned_by_cadence = await planned_activity_ids(owner_conn, active["id"])
    assert len(planned_by_cadence) == 5
    taken = {
        "deals": [deal["id"]],
        "cadence_enrollments": [active["id"], paused["id"]],
        "activities": [str(planned), *planned_by_cadence],
    }
    kept = {"cadence_enrollments": [stopped["id"]], "activities": [str(done)]}
    images = {t: await row_images(owner_conn, t, ids) for t, ids in taken.items()}
    kept_images = {t: await row_images(owner_conn, t, ids) for t, ids in kept.items()}
    columns_before = await ranks_of(owner_conn, org, "prospecting")

    await delete_deal(client, org.sales, deal)
    deletion_id = await deletion_id_of(owner_conn, "deals", deal["id"])
    for table, ids in taken.items():
        for record_id in ids:
            assert await deletion_id_of(owner_conn, table, record_id) == deletion_id, table
    assert (
        await client.get(f"/api/v1/deals/{deal['id']}", headers=org.sales.headers)
    ).status_code == 404

    restored = await restore(client, org.sales, deal["id"])
    assert restored.status_code == 200, restored.text
    body = restored.json()
    assert body["version"] == deal["version"] + 2
    assert body == await org.get(client, deal)
    assert {k: v for k, v in body.items() if k not in ("version", "updated_at")} == {
        k: v for k, v in deal.items() if k not in ("version", "updated_at")
    }
    # Every row the deletion took is back exactly as it was (two version bumps: the
    # delete's and the restore's); the rows it left alone were not touched.
    for table, ids in taken.items():
        image, versions = await row_images(owner_conn, table, ids)
        assert image == images[table][0], table
        assert versions == {i: v + 2 for i, v in images[table][1].items()}, table
    for table in kept:
        assert await row_images(owner_conn, table, kept[table]) == kept_images[table], table
    for (table, record_id), deleted_under in before_others.items():
        assert await deletion_id_of(owner_conn, table, record_id) == deleted_under, table
    # Back on the board where it was; the enrolments run again, as they were.
    assert await ranks_of(owner_conn, org, "prospecting") == columns_before
    assert deal["id"] in await column(client, org, "prospecting")
    for enrollment, status in ((active, "active"), (paused, "paused")):
        read = await client.get(f"{ENROLLMENTS}/{enrollment['id']}", headers=org.sales.headers)
        assert read.status_code == 200, read.text
        assert read.json()["status"] == status
    assert await findings(owner_url, org.admin.tenant_slug) == {}

    again = await restore(client, org.sales, deal["id"])
    assert again.status_code == 409, again.text
    assert again.json()["detail"] == "The deal is not deleted"


async def test_a_restored_deal_takes_its_place_on_the_board_again(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    first, middle, last = [await org.create(client) for _ in range(3)]
    await delete_deal(client, org.sales, middle)
    assert await column(client, org, "prospecting") == [first["id"], last["id"]]
    restored = await restore(client, org.sales, middle["id"])
    assert restored.status_code == 200, restored.text
    assert restored.json()["rank"] == middle["rank"]
    assert await column(client, org, "prospecting") == [first["id"], middle["id"], last["id"]]


async def test_a_restored_deal_whose_place_was_taken_goes_to_the_end_of_its_column(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    gone, squatter, last = [await org.create(client) for _ in range(3)]
    await delete_deal(client, org.sales, gone)
    # A card written by hand into the deleted deal's place (the API never reuses one).
    await owner_conn.execute(
        "UPDATE deals SET rank = $2 WHERE id = $1", uuid.UUID(squatter["id"]), gone["rank"]
    )
    restored = await restore(client, org.sales, gone["id"])
    assert restored.status_code == 200, restored.text
    ranks = await ranks_of(owner_conn, org, "prospecting")
    assert len({rank for _, rank in ranks}) == len(ranks) == 3
    assert [card_id for card_id, _ in ranks] == [squatter["id"], last["id"], gone["id"]]
    assert restored.json()["rank"] == ranks[-1][1]
    assert await column(client, org, "prospecting") == [squatter["id"], last["id"], gone["id"]]
    # The board goes on: a new deal lands after it, and a card can be put before it.
    newest = await org.create(client)
    assert (await column(client, org, "prospecting"))[-2:] == [gone["id"], newest["id"]]
    moved = await org.move(client, await org.get(client, last), "prospecting", before_id=gone["id"])
    assert moved.status_code == 200, moved.text
    assert await column(client, org, "prospecting") == [
        squatter["id"],
        last["id"],
        gone["id"],
        newest["id"],
    ]


async def test_a_deal_deleted_with_its_account_comes_back_only_with_the_account(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    alone = await org.create(client)
    await delete_deal(client, org.sales, alone)
    with_account = await org.create(client)
    account = f"/api/v1/accounts/{org.account_id}"
    deleted = await client.delete(account, headers={**org.admin.headers, "If-Match": "1"})
    assert deleted.status_code == 204, deleted.text
    account_restore = f"POST {account}/restore"

    refused = await restore(client, org.sales, with_account["id"])
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"].endswith("/conflict")
    assert f"restore the account instead ({account_restore})" in refused.json()["detail"]
    # Deleted before its account: the account comes back first, then the deal.
    first = await restore(client, org.sales, alone["id"])
    assert first.status_code == 409, first.text
    assert f"restore the account first ({account_restore})" in first.json()["detail"]
    for record in (alone, with_account):
        assert await deletion_id_of(owner_conn, "deals", record["id"]) is not None

    back = await client.post(f"{account}/restore", headers=org.admin.headers)
    assert back.status_code == 200, back.text
    assert await deletion_id_of(owner_conn, "deals", with_account["id"]) is None
    assert await deletion_id_of(owner_conn, "deals", alone["id"]) is not None
    restored = await restore(client, org.sales, alone["id"])
    assert restored.status_code == 200, restored.text
    assert set(await column(client, org, "prospecting")) == {alone["id"], with_account["id"]}


async def test_a_stale_version_is_409_and_changes_nothing(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    deal = await org.create(client)
    await delete_deal(client, org.sales, deal)
    deleted_version = deal["version"] + 1
    for stale in (
        {"headers": {"If-Match": str(deal["version"])}},
        {"version": deal["version"]},
        # If-Match wins over the query.
        {"headers": {"If-Match": f'"{deleted_version + 1}"'}, "version": deleted_version},
    ):
        refused = await restore(client, org.sales, deal["id"], **stale)
        assert refused.status_code == 409, refused.text
        assert refused.json()["type"].endswith("/stale-version")
        assert await deletion_id_of(owner_conn, "deals", deal["id"]) is not None
    restored = await restore(
        client, org.sales, deal["id"], headers={"If-Match": f'"{deleted_version}"'}
    )
    assert restored.status_code == 200, restored.text
    assert restored.json()["version"] == deleted_version + 1


async def test_unknown_and_other_organizations_deals_are_404_and_viewers_are_403(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    deal = await org.create(client)
    await delete_deal(client, org.sales, deal)
    intruder = await register_tenant(client)
    viewer = await add_member(client, org.admin, "viewer")
    for member, deal_id, status in (
        (intruder, deal["id"], 404),
        (org.sales, str(uuid.uuid4()), 404),
        (viewer, deal["id"], 403),
    ):
        refused = await restore(client, member, deal_id)
        assert refused.status_code == status, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
    assert await deletion_id_of(owner_conn, "deals", deal["id"]) is not None


async def test_an_account_delete_waiting_for_a_restore_takes_the_restored_deal(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    """The restore locks the account before the deal: an account delete arriving while
    the restore runs waits for it, then takes the deal with the account. Were the
    account not locked, the deal would come back live under a deleted account."""
    deal = await org.create(client, amount="70.00")
    await delete_deal(client, org.sales, deal)
    async with owner_conn.transaction():
        # Hold the deal: the restore blocks on it, holding the account.
        await owner_conn.execute(
            "SELECT 1 FROM deals WHERE id = $1 FOR UPDATE", uuid.UUID(deal["id"])
        )
        restoring = asyncio.ensure_future(restore(client, org.sales, deal["id"]))
        await _until_blocked(owner_conn, 1, [restoring])
        deleting = asyncio.ensure_future(
            client.delete(
                f"/api/v1/accounts/{org.account_id}",
                headers={**org.admin.headers, "If-Match": "1"},
            )
        )
        await _until_blocked(owner_conn, 2, [restoring, deleting])
    restored, deleted = await restoring, await deleting
    assert restored.status_code == 200, restored.text
    assert deleted.status_code == 204, deleted.text
    account_deletion = await deletion_id_of(owner_conn, "accounts", org.account_id)
    assert await deletion_id_of(owner_conn, "deals", deal["id"]) == account_deletion
    back = await client.post(
        f"/api/v1/accounts/{org.account_id}/restore", headers=org.admin.headers
    )
    assert back.status_code == 200, back.text
    assert (await org.get(client, deal))["amount"] == "70.00"


async def test_a_restore_waiting_for_an_account_delete_is_refused(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    deal = await org.create(client)
    await delete_deal(client, org.sales, deal)
    deletion_id = await deletion_id_of(owner_conn, "deals", deal["id"])
    async with owner_conn.transaction():
        await owner_conn.execute("SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE", org.account_id)
        deleting = asyncio.ensure_future(
            client.delete(
                f"/api/v1/accounts/{org.account_id}",
                headers={**org.admin.headers, "If-Match": "1"},
            )
        )
        await _until_blocked(owner_conn, 1, [deleting])
        restoring = asyncio.ensure_future(restore(client, org.sales, deal["id"]))
        await _until_blocked(owner_conn, 2, [deleting, restoring])
    deleted, refused = await deleting, await restoring
    assert deleted.status_code == 204, deleted.text
    assert refused.status_code == 409, refused.text
    assert "restore the account first" in refused.json()["detail"]
    assert await deletion_id_of(owner_conn, "deals", deal["id"]) == deletion_id
