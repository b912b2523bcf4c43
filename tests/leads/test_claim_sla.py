"""The claim SLA is the organization's setting: a lead entering the pool is due that
many hours later; leads already pooled keep their due time; the Sales Inbox sorts by
it and flags the overdue ones."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from tests.factories import Member
from tests.leads.conftest import Org
from tests.web.test_workflow_pages import _sign_in


async def _set_sla(client: httpx.AsyncClient, admin: Member, hours: int) -> None:
    current = await client.get("/api/v1/settings", headers=admin.headers)
    changed = await client.patch(
        "/api/v1/settings",
        headers=admin.headers,
        json={"claim_sla_hours": hours, "version": current.json()["version"]},
    )
    assert changed.status_code == 200, changed.text


async def _sla_of(owner_conn: asyncpg.Connection, lead: dict[str, Any]) -> timedelta:
    sla: timedelta = await owner_conn.fetchval(
        "SELECT claim_due_at - entered_at FROM lead_pool WHERE lead_id = $1",
        uuid.UUID(lead["id"]),
    )
    return sla


async def test_a_lead_entering_the_pool_takes_the_sla_of_that_moment(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    before = await org.pooled(client)
    await _set_sla(client, org.admin, 2)
    after = await org.pooled(client)
    assert await _sla_of(owner_conn, before) == timedelta(hours=24)  # kept its due time
    assert await _sla_of(owner_conn, after) == timedelta(hours=2)
    due = datetime.fromisoformat(after["claim_due_at"])
    assert abs(due - (datetime.now(UTC) + timedelta(hours=2))) < timedelta(minutes=1)

    # Released back to the pool is a new entry: today's SLA, not the first one's.
    assert (await org.action(client, before, "claim")).status_code == 200
    released = await org.action(client, before, "release")
    assert released.status_code == 200, released.text
    assert await _sla_of(owner_conn, before) == timedelta(hours=2)

    await _set_sla(client, org.admin, 5)
    assert await _sla_of(owner_conn, after) == timedelta(hours=2)


async def test_the_sales_inbox_flags_overdue_leads_by_the_organizations_sla(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    relaxed = await org.pooled(client)  # the default: a day to claim it
    await _set_sla(client, org.admin, 1)
    urgent = await org.pooled(client)  # an hour to claim it
    # Two hours pass for both pool entries.
    await owner_conn.execute(
        "UPDATE lead_pool SET entered_at = entered_at - interval '2 hours',"
        " claim_due_at = claim_due_at - interval '2 hours' WHERE lead_id = ANY($1::uuid[])",
        [uuid.UUID(relaxed["id"]), uuid.UUID(urgent["id"])],
    )

    await _sign_in(client, org.sales)
    pool = await client.get("/leads/pool")
    assert pool.status_code == 200
    rows = re.findall(r'<tr id="lead-([0-9a-f-]{36})"[^>]*?(class="overdue")?>', pool.text)
    flagged = {lead_id: bool(overdue) for lead_id, overdue in rows}
    assert flagged == {urgent["id"]: True, relaxed["id"]: False}
    assert [lead_id for lead_id, _ in rows] == [urgent["id"], relaxed["id"]]  # by claim due
    assert pool.text.count('<span class="tag overdue-tag">overdue</span>') == 1

    api = {
        lead["id"]: lead["claim_overdue"]
        for lead in (
            await client.get("/api/v1/leads", params={"view": "pool"}, headers=org.sales.headers)
        ).json()["items"]
    }
    assert api == {urgent["id"]: True, relaxed["id"]: False}
