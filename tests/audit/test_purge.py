"""The purge sweep and the audit retention: records soft-deleted before the
organization's retention go for good with their dependants, each leaving its delete
in the audit log; what a live record still points at stays; a second sweep and two at
once delete nothing twice; another organization is untouched; old audit rows go but
deletes and user removals stay."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import httpx

from baton.audit.tasks import PurgeReport, purge_deleted_records
from baton.config import Settings
from baton.db.engine import Database
from baton.jobs.retention import sweep
from tests.accounts.support import (
    add_transaction,
    create_account,
    create_contact,
    insert_activity,
    insert_deal,
    soft_delete,
)
from tests.factories import Member, add_member, register_tenant
from tests.jobs.support import sweep_unit


async def _purge(database: Database, settings: Settings, member: Member) -> PurgeReport:
    async with sweep_unit(database, settings, member.tenant_id) as ctx:
        return await purge_deleted_records(ctx, batch=2)


async def _age(owner_conn: asyncpg.Connection, tenant_id: uuid.UUID, days: int) -> None:
    """Every soft deletion of the organization happened `days` ago."""
    for table in ("accounts", "contacts", "deals", "activities", "cadence_enrollments"):
        await owner_conn.execute(
            f"UPDATE {table} SET deleted_at = now() - make_interval(days => $2)"
            " WHERE tenant_id = $1 AND deleted_at IS NOT NULL",
            tenant_id,
            days,
        )


async def _exists(owner_conn: asyncpg.Connection, table: str, row_id: Any) -> bool:
    found: bool = await owner_conn.fetchval(
        f"SELECT EXISTS (SELECT 1 FROM {table} WHERE id = $1)", uuid.UUID(str(row_id))
    )
    return found


async def _account_with_everything(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, member: Member
) -> dict[str, Any]:
    account = await create_account(client, member)
    contact = await create_contact(client, member, account["id"])
    await add_transaction(client, member, account["id"], 10)
    deal_id = await insert_deal(owner_conn, member, account["id"], contact_id=contact["id"])
    done = await insert_activity(owner_conn, member, status="done", deal_id=deal_id)
    planned = await insert_activity(owner_conn, member, account_id=account["id"])
    return {
        "account": account,
        "contact": contact,
        "deal_id": deal_id,
        "done": done,
        "planned": planned,
    }


async def test_records_deleted_before_the_retention_go_with_their_dependants(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    admin = await register_tenant(client)
    sales = await add_member(client, admin, "sales")
    gone = await _account_with_everything(client, owner_conn, sales)
    await soft_delete(client, admin, "accounts", gone["account"])
    # A contact deleted alone while a live deal still names it: kept.
    live = await create_account(client, sales)
    named = await create_contact(client, sales, live["id"])
    live_deal = await insert_deal(owner_conn, sales, live["id"], contact_id=named["id"])
    await soft_delete(client, admin, "contacts", named)
    await _age(owner_conn, admin.tenant_id, 100)
    # Deleted yesterday: within the 90 days.
    recent = await create_account(client, sales)
    await soft_delete(client, admin, "accounts", recent)

    report = await _purge(database, settings, admin)

    assert report.deleted["accounts"] == 1
    assert report.deleted["contacts"] == 1
    assert report.deleted["deals"] == 1
    assert report.deleted["account_transactions"] == 1
    assert report.deleted["activities"] == 2  # the done call of the deal too
    for table, row_id in (
        ("accounts", gone["account"]["id"]),
        ("contacts", gone["contact"]["id"]),
        ("deals", gone["deal_id"]),
        ("activities", gone["done"]),
        ("activities", gone["planned"]),
    ):
        assert not await _exists(owner_conn, table, row_id), table
        deletes = await owner_conn.fetchval(
            "SELECT count(*) FROM audit_log WHERE table_name = $1 AND row_id = $2"
            " AND action = 'delete'",
            table,
            uuid.UUID(str(row_id)),
        )
        assert deletes == 1, table  # one audit row per purged record
    for table, row_id in (
        ("contacts", named["id"]),
        ("deals", live_deal),
        ("accounts", live["id"]),
        ("accounts", recent["id"]),
    ):
        assert await _exists(owner_conn, table, row_id), table
    # The board's totals followed the purged deal out.
    totals = await owner_conn.fetchval(
        "SELECT coalesce(sum(deal_count), 0) FROM pipeline_column_totals WHERE tenant_id = $1",
        admin.tenant_id,
    )
    live_deals = await owner_conn.fetchval(
        "SELECT count(*) FROM deals WHERE tenant_id = $1 AND deleted_at IS NULL", admin.tenant_id
    )
    assert totals == live_deals

    # A second run deletes nothing.
    assert (await _purge(database, settings, admin)).total == 0

    # The live deal moves to another contact: the deleted one goes at the next sweep.
    other = await create_contact(client, sales, live["id"])
    await owner_conn.execute(
        "UPDATE deals SET contact_id = $2 WHERE id = $1", live_deal, uuid.UUID(other["id"])
    )
    assert (await _purge(database, settings, admin)).deleted["contacts"] == 1
    assert not await _exists(owner_conn, "contacts", named["id"])


async def test_two_purges_at_once_delete_each_row_once_and_others_are_untouched(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    admin = await register_tenant(client)
    other = await register_tenant(client)
    accounts = [await _account_with_everything(client, owner_conn, admin) for _ in range(3)]
    theirs = await _account_with_everything(client, owner_conn, other)
    for each in accounts:
        await soft_delete(client, admin, "accounts", each["account"])
    await soft_delete(client, other, "accounts", theirs["account"])
    await _age(owner_conn, admin.tenant_id, 100)
    await _age(owner_conn, other.tenant_id, 100)

    reports = await asyncio.gather(*(_purge(database, settings, admin) for _ in range(2)))

    assert sum(r.deleted["accounts"] for r in reports) == 3
    assert sum(r.deleted["activities"] for r in reports) == 6
    for each in accounts:
        assert not await _exists(owner_conn, "accounts", each["account"]["id"])
    assert await _exists(owner_conn, "accounts", theirs["account"]["id"])
    assert await _exists(owner_conn, "activities", theirs["done"])


async def test_the_retention_setting_is_validated_for_admins_and_applied(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    admin = await register_tenant(client)
    sales = await add_member(client, admin, "sales")
    current = (await client.get("/api/v1/settings", headers=sales.headers)).json()
    assert current["retention_days"] == 90
    for bad in (0, 3651, "forever", None):
        refused = await client.patch(
            "/api/v1/settings",
            headers=admin.headers,
            json={"retention_days": bad, "version": current["version"]},
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"] == "retention_days"
    forbidden = await client.patch(
        "/api/v1/settings",
        headers=sales.headers,
        json={"retention_days": 30, "version": current["version"]},
    )
    assert forbidden.status_code == 403
    longer = await client.patch(
        "/api/v1/settings",
        headers=admin.headers,
        json={"retention_days": 200, "version": current["version"]},
    )
    assert longer.status_code == 200, longer.text

    account = await create_account(client, sales)
    await soft_delete(client, admin, "accounts", account)
    await _age(owner_conn, admin.tenant_id, 100)
    assert (await _purge(database, settings, admin)).total == 0  # 100 < 200 days
    await _age(owner_conn, admin.tenant_id, 201)
    assert (await _purge(database, settings, admin)).deleted["accounts"] == 1


async def test_audit_rows_past_their_retention_go_but_deletes_and_removals_stay(
    client: httpx.AsyncClient, database: Database, owner_conn: asyncpg.Connection
) -> None:
    await sweep(database)
    admin = await register_tenant(client)
    rows = await owner_conn.fetch(
        "INSERT INTO audit_log (tenant_id, at, action, event, table_name)"
        " VALUES ($1, now() - interval '731 days', 'update', NULL, 'accounts'),"
        " ($1, now() - interval '731 days', 'delete', NULL, 'accounts'),"
        " ($1, now() - interval '731 days', 'security', 'user.removed', NULL),"
        " ($1, now() - interval '731 days', 'security', 'login.ok', NULL),"
        " ($1, now() - interval '729 days', 'update', NULL, 'accounts')"
        " RETURNING id, action, event",
        admin.tenant_id,
    )
    report = await sweep(database, batch_size=1)
    assert report.deleted["audit_log"] == 2
    left = await owner_conn.fetch(
        "SELECT id FROM audit_log WHERE id = ANY($1::bigint[]) ORDER BY id",
        [row["id"] for row in rows],
    )
    assert [row["id"] for row in left] == [rows[1]["id"], rows[2]["id"], rows[4]["id"]]
    assert (await sweep(database)).deleted["audit_log"] == 0
