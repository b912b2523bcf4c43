"""Bulk actions on leads, targets, accounts and contacts: the single changes, row by row."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx

from tests.accounts.support import create_account, create_contact
from tests.leads.conftest import Org, org, other_org
from tests.targets.support import bring_to, create_target, get_target

__all__ = ["org", "other_org"]


async def _bulk(client: httpx.AsyncClient, kind: str, member: Any, **body: Any) -> httpx.Response:
    return await client.post(f"/api/v1/{kind}/bulk", headers=member.headers, json=body)


def _statuses(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [row["status"] for row in response.json()["results"]]


async def test_accounts_take_a_tag_once_and_keep_at_most_twenty(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    word = uuid.uuid4().hex[:8]
    plain = await create_account(client, org.sales, name=f"Bulk {word} one")
    tagged = await create_account(client, org.sales, name=f"Bulk {word} two", tags=["vip"])
    full = await create_account(
        client, org.sales, name=f"Bulk {word} three", tags=[f"t{n}" for n in range(20)]
    )
    response = await _bulk(
        client, "accounts", org.sales, filter={"q": word}, action="add_tag", tag="vip"
    )
    rows = {row["id"]: row for row in response.json()["results"]}
    assert set(rows) == {plain["id"], tagged["id"], full["id"]}
    assert rows[plain["id"]]["status"] == "updated"
    assert rows[tagged["id"]]["status"] == "unchanged"
    assert rows[full["id"]]["status"] == "refused"
    assert "20 tags" in rows[full["id"]]["error"]["detail"]
    tags = await owner_conn.fetchval(
        "SELECT tags FROM accounts WHERE id = $1", uuid.UUID(plain["id"])
    )
    assert tags == ["vip"]
    audited = await owner_conn.fetchval(
        "SELECT count(*) FROM audit_log WHERE row_id = $1 AND 'tags' = ANY(changed_columns)",
        uuid.UUID(plain["id"]),
    )
    assert audited == 1


async def test_accounts_change_owner_delete_and_restore(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    accounts = [await create_account(client, org.sales) for _ in range(2)]
    ids = [a["id"] for a in accounts]
    owner = await _bulk(
        client,
        "accounts",
        org.sales,
        ids=ids,
        action="change_owner",
        owner_id=str(org.other_sales.user_id),
    )
    assert _statuses(owner) == ["updated", "updated"]
    # A member who cannot own records: the single edit's refusal, per row.
    nobody = await _bulk(
        client, "accounts", org.sales, ids=ids, action="change_owner", owner_id=str(uuid.uuid4())
    )
    assert _statuses(nobody) == ["refused", "refused"]
    assert _statuses(await _bulk(client, "accounts", org.sales, ids=ids, action="delete")) == [
        "deleted",
        "deleted",
    ]
    assert _statuses(await _bulk(client, "accounts", org.sales, ids=ids, action="restore")) == [
        "restored",
        "restored",
    ]
    owners = await owner_conn.fetch(
        "SELECT owner_id, deleted_at FROM accounts WHERE id = ANY($1::uuid[])",
        [uuid.UUID(i) for i in ids],
    )
    assert {(r["owner_id"], r["deleted_at"]) for r in owners} == {(org.other_sales.user_id, None)}


async def test_contacts_delete_and_restore_and_other_organizations_are_not_found(
    client: httpx.AsyncClient, org: Org, other_org: Org, owner_conn: asyncpg.Connection
) -> None:
    account = await create_account(client, org.sales)
    contact = await create_contact(client, org.sales, account["id"])
    theirs = await create_contact(
        client, other_org.sales, (await create_account(client, other_org.sales))["id"]
    )
    deleted = await _bulk(
        client, "contacts", org.sales, ids=[contact["id"], theirs["id"]], action="delete"
    )
    assert _statuses(deleted) == ["deleted", "not_found"]
    restored = await _bulk(
        client, "contacts", org.sales, ids=[contact["id"], theirs["id"]], action="restore"
    )
    assert _statuses(restored) == ["restored", "not_found"]
    versions = await owner_conn.fetch(
        "SELECT id, version, deleted_at FROM contacts WHERE id = ANY($1::uuid[])",
        [uuid.UUID(contact["id"]), uuid.UUID(theirs["id"])],
    )
    by_id = {str(r["id"]): r for r in versions}
    assert by_id[theirs["id"]]["version"] == theirs["version"]
    assert by_id[contact["id"]]["deleted_at"] is None


async def test_targets_move_as_the_workflow_allows_and_need_a_reason_to_drop(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    new = await create_target(client, org.sales)
    contacted = await bring_to(
        client, org.sales, await create_target(client, org.sales), "contacted"
    )
    engaged = await bring_to(client, org.sales, await create_target(client, org.sales), "engaged")
    ids = [new["id"], contacted["id"], engaged["id"]]
    # New → Contacted is a transition; Contacted is already there; Engaged has no way back.
    moved = await _bulk(client, "targets", org.sales, ids=ids, action="move", status="contacted")
    assert _statuses(moved) == ["moved", "unchanged", "refused"]
    assert (await get_target(client, org.sales, new["id"]))["status"] == "contacted"
    assert (await get_target(client, org.sales, engaged["id"]))["version"] == engaged["version"]
    history = await owner_conn.fetchval(
        "SELECT count(*) FROM workflow_history WHERE record_id = $1", uuid.UUID(new["id"])
    )
    assert history == 2  # created, then moved

    no_reason = await _bulk(client, "targets", org.sales, ids=ids, action="move", status="dropped")
    assert _statuses(no_reason) == ["refused", "refused", "refused"]
    assert no_reason.json()["results"][0]["error"]["errors"][0]["field"] == "reason"
    dropped = await _bulk(
        client, "targets", org.sales, ids=ids, action="move", status="dropped", reason="no_budget"
    )
    assert _statuses(dropped) == ["moved", "moved", "moved"]


async def test_targets_change_owner_and_delete(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    target = await create_target(client, org.sales)
    owner = await _bulk(
        client,
        "targets",
        org.sales,
        ids=[target["id"]],
        action="change_owner",
        owner_id=str(org.other_sales.user_id),
    )
    assert _statuses(owner) == ["updated"]
    assert _statuses(
        await _bulk(client, "targets", org.sales, ids=[target["id"]], action="delete")
    ) == ["deleted"]
    restore = await _bulk(client, "targets", org.sales, ids=[target["id"]], action="restore")
    assert _statuses(restore) == ["restored"]
    assert (await get_target(client, org.sales, target["id"]))["owner_id"] == str(
        org.other_sales.user_id
    )
    # Deleted again, and meanwhile a live target took its company: the restore's 409.
    await _bulk(client, "targets", org.sales, ids=[target["id"]], action="delete")
    twin = await create_target(client, org.sales, company_name=target["company_name"])
    again = await _bulk(client, "targets", org.sales, ids=[target["id"]], action="restore")
    assert _statuses(again) == ["refused"]
    assert twin["id"] in again.json()["results"][0]["error"]["detail"]


async def test_leads_triage_row_by_row_and_assignment_is_the_supervisors(
    client: httpx.AsyncClient, org: Org
) -> None:
    new = await org.create(client)
    pooled = await org.pooled(client)
    moved = await _bulk(
        client,
        "leads",
        org.marketing,
        ids=[new["id"], pooled["id"]],
        action="move",
        status="in_review",
    )
    assert _statuses(moved) == ["moved", "refused"]
    assert "pooled lead" in moved.json()["results"][1]["error"]["detail"]

    refused = await _bulk(
        client,
        "leads",
        org.sales,
        ids=[pooled["id"]],
        action="change_owner",
        owner_id=str(org.sales.user_id),
    )
    assert refused.status_code == 403
    assigned = await _bulk(
        client,
        "leads",
        org.manager,
        filter={"view": "pool"},
        action="change_owner",
        owner_id=str(org.sales.user_id),
    )
    assert _statuses(assigned) == ["updated"]
    lead = (await org.get(client, pooled)).json()
    assert lead["sales_owner_id"] == str(org.sales.user_id)


async def test_a_reason_the_single_triage_would_refuse_refuses_the_row(
    client: httpx.AsyncClient, org: Org
) -> None:
    lead = await org.walk(client, await org.create(client), "in_review")
    response = await _bulk(
        client,
        "leads",
        org.marketing,
        ids=[lead["id"]],
        action="move",
        status="disqualified",
        reason="x" * 60,
    )
    assert _statuses(response) == ["refused"]
    assert response.json()["results"][0]["error"]["errors"][0]["field"] == "reason"
