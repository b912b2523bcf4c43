"""Soft delete and restore of an account with what hangs on it; the overview."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx

from tests.accounts.support import (
    create_account,
    create_contact,
    insert_activity,
    insert_deal,
    state,
)
from tests.factories import Member, register_tenant


async def _delete(client: httpx.AsyncClient, member: Member, account: dict[str, Any]) -> None:
    response = await client.delete(
        f"/api/v1/accounts/{account['id']}",
        headers={**member.headers, "If-Match": str(account["version"])},
    )
    assert response.status_code == 204, response.text


async def test_delete_takes_the_whole_set_and_restore_brings_back_exactly_it(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    account = await create_account(client, admin, domain="acme.com")
    ada = await create_contact(client, admin, account["id"], email="ada@acme.com")
    bob = await create_contact(client, admin, account["id"], first_name="Bob")
    # Deleted on its own before the account: must stay deleted after the restore.
    gone = await create_contact(client, admin, account["id"], first_name="Gone")
    removed = await client.delete(
        f"/api/v1/contacts/{gone['id']}", headers=admin.headers, params={"version": 1}
    )
    assert removed.status_code == 204
    open_deal = await insert_deal(owner_conn, admin, account["id"], contact_id=ada["id"])
    won_deal = await insert_deal(owner_conn, admin, account["id"], outcome="won")
    planned_on_account = await insert_activity(owner_conn, admin, account_id=account["id"])
    planned_on_contact = await insert_activity(owner_conn, admin, contact_id=bob["id"])
    planned_on_deal = await insert_activity(owner_conn, admin, deal_id=open_deal)
    done_on_account = await insert_activity(
        owner_conn, admin, status="done", account_id=account["id"]
    )
    # Another account's rows are untouched.
    other = await create_account(client, admin)
    other_contact = await create_contact(client, admin, other["id"])
    other_activity = await insert_activity(owner_conn, admin, account_id=other["id"])

    await _delete(client, admin, account)

    taken = {
        ("accounts", account["id"]),
        ("contacts", ada["id"]),
        ("contacts", bob["id"]),
        ("deals", open_deal),
        ("activities", planned_on_account),
        ("activities", planned_on_contact),
        ("activities", planned_on_deal),
    }
    deletion_ids = set()
    for table, record_id in taken:
        row = await state(owner_conn, table, record_id)
        assert row["deleted"], (table, record_id)
        deletion_ids.add(row["deletion_id"])
    assert len(deletion_ids) == 1
    gone_state = await state(owner_conn, "contacts", gone["id"])
    assert gone_state["deleted"]
    assert gone_state["deletion_id"] not in deletion_ids
    for table, record_id in (
        ("deals", won_deal),
        ("activities", done_on_account),
        ("accounts", other["id"]),
        ("contacts", other_contact["id"]),
        ("activities", other_activity),
    ):
        assert not (await state(owner_conn, table, record_id))["deleted"], (table, record_id)

    # Deleted records read as 404 and leave lists.
    for path in (
        f"/api/v1/accounts/{account['id']}",
        f"/api/v1/accounts/{account['id']}/overview",
        f"/api/v1/accounts/{account['id']}/transactions",
        f"/api/v1/contacts/{ada['id']}",
    ):
        assert (await client.get(path, headers=admin.headers)).status_code == 404, path
    listed = await client.get("/api/v1/accounts", headers=admin.headers)
    assert [a["id"] for a in listed.json()["items"]] == [other["id"]]
    contacts = await client.get(
        "/api/v1/contacts", headers=admin.headers, params={"account_id": account["id"]}
    )
    assert contacts.json()["items"] == []
    # The domain is free while the account is deleted.
    patched = await client.patch(
        f"/api/v1/accounts/{account['id']}", headers=admin.headers, json={"version": 2}
    )
    assert patched.status_code == 404

    restored = await client.post(f"/api/v1/accounts/{account['id']}/restore", headers=admin.headers)
    assert restored.status_code == 200, restored.text
    assert restored.json()["domain"] == "acme.com"
    assert restored.json()["version"] == account["version"] + 2
    for table, record_id in taken:
        row = await state(owner_conn, table, record_id)
        assert not row["deleted"], (table, record_id)
        assert row["deletion_id"] is None, (table, record_id)
    assert (await state(owner_conn, "contacts", gone["id"]))["deleted"]
    overview = (
        await client.get(f"/api/v1/accounts/{account['id']}/overview", headers=admin.headers)
    ).json()
    assert {c["id"] for c in overview["contacts"]} == {ada["id"], bob["id"]}
    assert [d["id"] for d in overview["open_deals"]] == [str(open_deal)]

    again = await client.post(f"/api/v1/accounts/{account['id']}/restore", headers=admin.headers)
    assert again.status_code == 409


async def test_restore_refuses_a_domain_or_tax_id_taken_meanwhile(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    account = await create_account(client, admin, domain="acme.com", tax_id="DE1")
    await _delete(client, admin, account)
    taker = await create_account(client, admin, domain="acme.com")
    refused = await client.post(f"/api/v1/accounts/{account['id']}/restore", headers=admin.headers)
    assert refused.status_code == 409
    assert [e["field"] for e in refused.json()["errors"]] == ["domain"]
    stale = await client.post(
        f"/api/v1/accounts/{account['id']}/restore",
        headers={**admin.headers, "If-Match": "1"},
    )
    assert stale.status_code == 409
    await client.patch(
        f"/api/v1/accounts/{taker['id']}",
        headers=admin.headers,
        json={"domain": "acme.org", "version": taker["version"]},
    )
    restored = await client.post(
        f"/api/v1/accounts/{account['id']}/restore", headers=admin.headers, params={"version": 2}
    )
    assert restored.status_code == 200, restored.text


async def test_a_restored_deal_whose_board_slot_was_taken_goes_to_the_column_end(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    account = await create_account(client, admin)
    deal = await insert_deal(owner_conn, admin, account["id"])
    await _delete(client, admin, account)
    other = await create_account(client, admin)
    squatter = await insert_deal(owner_conn, admin, other["id"])
    rank = await owner_conn.fetchval("SELECT rank FROM deals WHERE id = $1", deal)
    await owner_conn.execute("UPDATE deals SET rank = $2 WHERE id = $1", squatter, rank)
    restored = await client.post(f"/api/v1/accounts/{account['id']}/restore", headers=admin.headers)
    assert restored.status_code == 200, restored.text
    new_rank = await owner_conn.fetchval("SELECT rank FROM deals WHERE id = $1", deal)
    assert new_rank > rank
    assert new_rank.startswith(rank)


async def test_the_overview_shows_everything_and_survives_deleted_references(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    account = await create_account(client, admin, name="Acme")
    ada = await create_contact(client, admin, account["id"], last_name="Lovelace")
    bob = await create_contact(client, admin, account["id"], first_name="Bob")
    deal = await insert_deal(owner_conn, admin, account["id"], contact_id=bob["id"])
    won = await insert_deal(owner_conn, admin, account["id"], outcome="won", closed_days_ago=3)
    lost = await insert_deal(owner_conn, admin, account["id"], outcome="lost", closed_days_ago=1)
    done = await insert_activity(
        owner_conn, admin, status="done", subject="Met Bob", contact_id=bob["id"]
    )
    planned = await insert_activity(owner_conn, admin, subject="Send offer", deal_id=deal)
    on_account = await insert_activity(owner_conn, admin, subject="Visit", account_id=account["id"])
    cancelled = await insert_activity(
        owner_conn, admin, status="cancelled", account_id=account["id"]
    )
    # Bob leaves: his deal and his activity still show, pointing at a deleted contact.
    removed = await client.delete(
        f"/api/v1/contacts/{bob['id']}", headers=admin.headers, params={"version": 1}
    )
    assert removed.status_code == 204

    response = await client.get(f"/api/v1/accounts/{account['id']}/overview", headers=admin.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["account"]["id"] == account["id"]
    assert body["account"]["status"]["tenure"] == "new_customer"
    assert [c["id"] for c in body["contacts"]] == [ada["id"]]
    [open_deal] = body["open_deals"]
    assert open_deal["id"] == str(deal)
    assert open_deal["step"]["key"] == "prospecting"
    assert open_deal["contact"] == {"id": bob["id"], "name": "Deleted contact", "deleted": True}
    assert open_deal["amount"] == "1000.00"
    assert [d["id"] for d in body["closed_deals"]] == [str(lost), str(won)]
    assert [d["outcome"] for d in body["closed_deals"]] == ["lost", "won"]
    [recent] = body["recent_activities"]
    assert recent["id"] == str(done)
    assert recent["contact"]["deleted"] is True
    upcoming = {a["id"]: a for a in body["upcoming_activities"]}
    assert set(upcoming) == {str(planned), str(on_account)}
    assert upcoming[str(planned)]["deal"] == {
        "id": str(deal),
        "name": "Big deal",
        "deleted": False,
    }
    assert str(cancelled) not in upcoming


async def test_unknown_ids_are_404(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    missing = uuid.uuid4()
    assert (
        await client.post(f"/api/v1/accounts/{missing}/restore", headers=admin.headers)
    ).status_code == 404
    assert (
        await client.delete(
            f"/api/v1/accounts/{missing}", headers=admin.headers, params={"version": 1}
        )
    ).status_code == 404
