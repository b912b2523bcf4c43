"""The next-step sweep: one digest a day per owner listing their open deals whose next
step is overdue — not one per deal, not twice a day (nor for two sweeps at once), not
before the digest hour, and never another organization's."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import asyncpg
import httpx

from baton.config import Settings
from baton.db.engine import Database
from baton.deals.tasks import Digest, digest_message, send_next_step_digests
from tests.deals.conftest import Org, insert_account, pipeline_steps
from tests.factories import Member, add_member, register_tenant
from tests.jobs.support import sweep_unit

TODAY = datetime.now(UTC).date()


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


async def _due(owner_conn: asyncpg.Connection, deal: dict[str, Any], days_ago: int) -> None:
    await owner_conn.execute(
        "UPDATE deals SET next_step_due_date = $2 WHERE id = $1",
        uuid.UUID(deal["id"]),
        TODAY - timedelta(days=days_ago),
    )


async def _messages(client: httpx.AsyncClient, member: Member) -> list[str]:
    listed = await client.get("/api/v1/me/notifications", headers=member.headers)
    assert listed.status_code == 200, listed.text
    return [item["message"] for item in listed.json()["items"]]


async def _sweep(
    database: Database, settings: Settings, tenant_id: uuid.UUID, now: datetime
) -> list[Digest]:
    async with sweep_unit(database, settings, tenant_id) as ctx:
        return await send_next_step_digests(ctx, now=now)


async def _utc(owner_conn: asyncpg.Connection, tenant_id: uuid.UUID) -> None:
    await owner_conn.execute(
        "UPDATE tenant_settings SET timezone = 'UTC' WHERE tenant_id = $1", tenant_id
    )


async def test_one_digest_a_day_per_owner_of_their_overdue_deals(
    client: httpx.AsyncClient,
    org: Org,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    tenant_id = org.admin.tenant_id
    await _utc(owner_conn, tenant_id)
    older = await org.create(client)
    newer = await org.create(client)
    on_time = await org.create(client)
    await _due(owner_conn, older, 3)
    await _due(owner_conn, newer, 1)
    closed = await org.create(client)
    await _due(owner_conn, closed, 5)
    lost = await org.close(client, closed, outcome="lost", reason="price")
    assert lost.status_code == 200, lost.text
    admins = await client.post(
        "/api/v1/deals",
        headers=org.admin.headers,
        json={
            "name": "Admin's deal",
            "account_id": str(org.account_id),
            "next_step": "Send the offer",
            "next_step_due_date": (TODAY + timedelta(days=2)).isoformat(),
        },
    )
    assert admins.status_code == 201, admins.text
    await _due(owner_conn, admins.json(), 2)

    # Before the digest hour of the organization's day: nothing yet.
    assert await _sweep(database, settings, tenant_id, _at(TODAY, 6)) == []

    sent = await _sweep(database, settings, tenant_id, _at(TODAY, 8))
    assert {(d.user_id, d.deal_count) for d in sent} == {
        (org.sales.user_id, 2),
        (org.admin.user_id, 1),
    }
    due_older = (TODAY - timedelta(days=3)).isoformat()
    due_newer = (TODAY - timedelta(days=1)).isoformat()
    assert await _messages(client, org.sales) == [
        "2 of your open deals have an overdue next step: "
        f"{older['name']}: Call the buyer (due {due_older}); "
        f"{newer['name']}: Call the buyer (due {due_newer})"
    ]
    assert await _messages(client, org.admin) == [
        "1 of your open deals has an overdue next step: "
        f"Admin's deal: Send the offer (due {(TODAY - timedelta(days=2)).isoformat()})"
    ]
    assert on_time["id"] not in str(sent)

    # Later that day: nothing more, and nothing written.
    audited = await owner_conn.fetchval(
        "SELECT count(*) FROM audit_log WHERE tenant_id = $1", tenant_id
    )
    assert await _sweep(database, settings, tenant_id, _at(TODAY, 20)) == []
    assert len(await _messages(client, org.sales)) == 1
    assert (
        await owner_conn.fetchval("SELECT count(*) FROM audit_log WHERE tenant_id = $1", tenant_id)
        == audited
    )

    # The next day: a new digest (the deals are still overdue).
    again = await _sweep(database, settings, tenant_id, _at(TODAY + timedelta(days=1), 8))
    assert {d.user_id for d in again} == {org.sales.user_id, org.admin.user_id}
    days = await owner_conn.fetch(
        "SELECT day FROM next_step_digests WHERE tenant_id = $1 AND user_id = $2 ORDER BY day",
        tenant_id,
        org.sales.user_id,
    )
    assert [row["day"] for row in days] == [TODAY, TODAY + timedelta(days=1)]


async def test_two_sweeps_at_once_send_one_digest(
    client: httpx.AsyncClient,
    org: Org,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    tenant_id = org.admin.tenant_id
    await _utc(owner_conn, tenant_id)
    for days_ago in (1, 2):
        await _due(owner_conn, await org.create(client), days_ago)
    now = _at(TODAY, 9)

    # Deterministic interleaving: the second waits on the first's uncommitted row.
    async with sweep_unit(database, settings, tenant_id) as first_ctx:
        assert len(await send_next_step_digests(first_ctx, now=now)) == 1
        second = asyncio.create_task(_sweep(database, settings, tenant_id, now))
        await asyncio.sleep(0.3)
        assert not second.done()
    assert await second == []

    # A real race on the next day: one digest between them.
    tomorrow = _at(TODAY + timedelta(days=1), 9)
    runs = await asyncio.gather(
        *(_sweep(database, settings, tenant_id, tomorrow) for _ in range(2))
    )
    assert sorted(len(run) for run in runs) == [0, 1]
    assert len(await _messages(client, org.sales)) == 2


async def test_another_organization_is_untouched(
    client: httpx.AsyncClient,
    org: Org,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    admin = await register_tenant(client)
    other = Org(
        admin=admin,
        sales=await add_member(client, admin, "sales"),
        account_id=await insert_account(owner_conn, admin),
        steps=await pipeline_steps(owner_conn, admin),
    )
    for each in (org, other):
        await _utc(owner_conn, each.admin.tenant_id)
        await _due(owner_conn, await each.create(client), 1)

    sent = await _sweep(database, settings, org.admin.tenant_id, _at(TODAY, 9))
    assert [d.user_id for d in sent] == [org.sales.user_id]
    assert await _messages(client, other.sales) == []
    assert (
        await owner_conn.fetchval(
            "SELECT count(*) FROM next_step_digests WHERE tenant_id = $1", other.admin.tenant_id
        )
        == 0
    )


def test_a_long_digest_names_the_first_deals_and_counts_the_rest() -> None:
    lines = [f"Deal {i}: Call (due 2026-12-0{i})" for i in range(1, 6)]
    message = digest_message(Digest(uuid.uuid4(), 12, lines))
    assert message.startswith("12 of your open deals have an overdue next step: Deal 1")
    assert message.endswith("; and 7 more")
    huge = digest_message(Digest(uuid.uuid4(), 9, ["x" * 200] * 5))
    assert len(huge) <= 500
    assert huge.endswith("; and 4 more")
