"""The claim SLA sweep: an overdue pooled lead notifies the managers and admins once,
again after the organization's escalation interval, never twice for two sweeps at
once, and never touches another organization."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from baton.config import Settings
from baton.db.engine import Database
from baton.jobs.worker import open_queue
from baton.leads.tasks import claim_sla_sweep, escalate_overdue_claims
from tests.factories import Member
from tests.jobs.support import run_due_jobs, sweep_unit
from tests.leads.conftest import Org


async def _overdue(owner_conn: asyncpg.Connection, *leads: dict[str, Any]) -> None:
    """Two days pass for these pool entries."""
    await owner_conn.execute(
        "UPDATE lead_pool SET entered_at = entered_at - interval '2 days',"
        " claim_due_at = claim_due_at - interval '2 days' WHERE lead_id = ANY($1::uuid[])",
        [uuid.UUID(lead["id"]) for lead in leads],
    )


async def _messages(client: httpx.AsyncClient, member: Member) -> list[tuple[str, str | None]]:
    listed = await client.get("/api/v1/me/notifications", headers=member.headers)
    assert listed.status_code == 200, listed.text
    return sorted((item["message"], item["record_id"]) for item in listed.json()["items"])


async def _sweep(database: Database, settings: Settings, org: Org) -> list[uuid.UUID]:
    async with sweep_unit(database, settings, org.admin.tenant_id) as ctx:
        return [item.lead_id for item in await escalate_overdue_claims(ctx)]


async def test_an_overdue_lead_notifies_managers_and_admins_once_then_after_the_interval(
    client: httpx.AsyncClient,
    org: Org,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    late = await org.pooled(client)
    on_time = await org.pooled(client)
    await _overdue(owner_conn, late)

    assert await _sweep(database, settings, org) == [uuid.UUID(late["id"])]
    first = (
        f"{late['company_name']} is past its claim due time and still unclaimed in the Sales Inbox"
    )
    for member in (org.admin, org.manager):
        assert await _messages(client, member) == [(first, late["id"])]
    for member in (org.sales, org.marketing, org.viewer):
        assert await _messages(client, member) == []
    row = await owner_conn.fetchrow(
        "SELECT escalation_count, escalated_at FROM lead_escalations WHERE lead_id = $1",
        uuid.UUID(late["id"]),
    )
    assert row is not None
    assert row["escalation_count"] == 1

    # A second run changes nothing: no notice, no write.
    audited = await owner_conn.fetchval(
        "SELECT count(*) FROM audit_log WHERE tenant_id = $1", org.admin.tenant_id
    )
    assert await _sweep(database, settings, org) == []
    assert len(await _messages(client, org.manager)) == 1
    assert (
        await owner_conn.fetchval(
            "SELECT count(*) FROM audit_log WHERE tenant_id = $1", org.admin.tenant_id
        )
        == audited
    )

    # 25 hours later (default interval: 24 h), still unclaimed: a reminder.
    await owner_conn.execute(
        "UPDATE lead_escalations SET escalated_at = escalated_at - interval '25 hours'"
        " WHERE lead_id = $1",
        uuid.UUID(late["id"]),
    )
    assert await _sweep(database, settings, org) == [uuid.UUID(late["id"])]
    reminder = (
        f"Reminder 1: {late['company_name']} is still unclaimed in the Sales Inbox, "
        "past its claim due time"
    )
    assert await _messages(client, org.manager) == sorted(
        [(first, late["id"]), (reminder, late["id"])]
    )

    # A longer interval set by an admin applies to the next sweep.
    current = await client.get("/api/v1/settings", headers=org.admin.headers)
    patched = await client.patch(
        "/api/v1/settings",
        headers=org.admin.headers,
        json={"claim_escalation_hours": 48, "version": current.json()["version"]},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["claim_escalation_hours"] == 48
    await owner_conn.execute(
        "UPDATE lead_escalations SET escalated_at = escalated_at - interval '25 hours'"
        " WHERE lead_id = $1",
        uuid.UUID(late["id"]),
    )
    assert await _sweep(database, settings, org) == []

    # Claimed: nothing left to escalate, and the on-time lead was never touched.
    assert (await org.action(client, late, "claim")).status_code == 200
    await owner_conn.execute(
        "UPDATE lead_escalations SET escalated_at = escalated_at - interval '3 days'"
    )
    assert await _sweep(database, settings, org) == []
    assert (
        await owner_conn.fetchval(
            "SELECT count(*) FROM lead_escalations WHERE lead_id = $1", uuid.UUID(on_time["id"])
        )
        == 0
    )


async def test_two_sweeps_at_once_escalate_once(
    client: httpx.AsyncClient,
    org: Org,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    leads = [await org.pooled(client) for _ in range(3)]
    await _overdue(owner_conn, *leads)

    # Deterministic interleaving: the first sweep has escalated, uncommitted; the
    # second waits on its rows, then finds them escalated just now.
    async with sweep_unit(database, settings, org.admin.tenant_id) as first_ctx:
        first = await escalate_overdue_claims(first_ctx)
        assert len(first) == 3
        second_run = asyncio.create_task(_sweep(database, settings, org))
        await asyncio.sleep(0.3)
        assert not second_run.done()  # blocked on the first's uncommitted rows
    assert await second_run == []
    assert len(await _messages(client, org.manager)) == 3

    # And a real race, for the reminders: two sweeps together notify each lead once.
    await owner_conn.execute(
        "UPDATE lead_escalations SET escalated_at = escalated_at - interval '25 hours'"
        " WHERE tenant_id = $1",
        org.admin.tenant_id,
    )
    runs = await asyncio.gather(*(_sweep(database, settings, org) for _ in range(2)))
    assert sorted(runs[0] + runs[1]) == sorted(uuid.UUID(lead["id"]) for lead in leads)
    assert len(await _messages(client, org.manager)) == 6
    counts = await owner_conn.fetch(
        "SELECT escalation_count FROM lead_escalations WHERE tenant_id = $1", org.admin.tenant_id
    )
    assert [row["escalation_count"] for row in counts] == [2, 2, 2]


async def test_the_periodic_sweep_runs_per_organization_and_leaves_others_alone(
    client: httpx.AsyncClient,
    org: Org,
    other_org: Org,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    mine = await org.pooled(client)
    theirs = await other_org.pooled(client)
    await _overdue(owner_conn, mine, theirs)

    # One organization's sweep: the other's overdue lead stays as it was.
    assert await _sweep(database, settings, org) == [uuid.UUID(mine["id"])]
    assert await _messages(client, other_org.manager) == []

    # The tick: procrastinate defers the fan-out, which a worker runs; it queues one
    # job per organization, each run in its tenant by the worker.
    async with open_queue(settings):
        await claim_sla_sweep.fan_out.defer_async(timestamp=int(datetime.now(UTC).timestamp()))
    await run_due_jobs(settings, database)
    queued = await owner_conn.fetchval(
        "SELECT count(*) FROM procrastinate_jobs WHERE task_name = $1 AND status <> 'succeeded'",
        claim_sla_sweep.name,
    )
    assert queued == 0  # all ran (successful jobs are deleted)
    assert len(await _messages(client, other_org.manager)) == 1
    assert len(await _messages(client, org.manager)) == 1  # not twice
    escalated = await owner_conn.fetch(
        "SELECT tenant_id, lead_id FROM lead_escalations WHERE lead_id = ANY($1::uuid[])",
        [uuid.UUID(mine["id"]), uuid.UUID(theirs["id"])],
    )
    assert {(row["tenant_id"], str(row["lead_id"])) for row in escalated} == {
        (org.admin.tenant_id, mine["id"]),
        (other_org.admin.tenant_id, theirs["id"]),
    }
    assert datetime.now(UTC) - timedelta(minutes=5) < (
        await owner_conn.fetchval(
            "SELECT escalated_at FROM lead_escalations WHERE lead_id = $1",
            uuid.UUID(theirs["id"]),
        )
    )


async def test_the_escalation_interval_is_validated_and_only_admins_set_it(
    client: httpx.AsyncClient, org: Org
) -> None:
    current = await client.get("/api/v1/settings", headers=org.manager.headers)
    assert current.status_code == 200
    assert current.json()["claim_escalation_hours"] == 24
    version = current.json()["version"]
    for bad in (0, 721, "often"):
        refused = await client.patch(
            "/api/v1/settings",
            headers=org.admin.headers,
            json={"claim_escalation_hours": bad, "version": version},
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"] == "claim_escalation_hours"
    for member in (org.manager, org.sales):
        forbidden = await client.patch(
            "/api/v1/settings",
            headers=member.headers,
            json={"claim_escalation_hours": 12, "version": version},
        )
        assert forbidden.status_code == 403, forbidden.text
