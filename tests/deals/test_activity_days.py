"""The activity report's rollup (`activity_days`) answers exactly what the activities
answer (`queries.activity_counts_from_rows`, the reference): after planning,
completing, cancelling, re-owning and re-dating through the API, a deal's delete
(which takes its planned activities) and restore, a back-dated batch written with
triggers on, hand-written UPDATE and DELETE, and a rebuild — for whole-day, partial
and one-day periods, with and without the owner filter, and "today" in zones on both
sides of UTC. The doctor finds a drifted rollup."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
from typer.testing import CliRunner

from baton.cli import app as cli_app
from baton.db import ddl
from baton.db.engine import Database
from baton.reports import queries, service
from tests.deals.conftest import Org

runner = CliRunner()


async def activity_days_disagreement(
    conn: asyncpg.Connection, tenant_id: uuid.UUID
) -> list[asyncpg.Record]:
    key = ddl.ACTIVITY_DAYS_KEY
    stored = (
        f"SELECT {key}, done, planned FROM activity_days"
        f" WHERE tenant_id = $1 AND (done <> 0 OR planned <> 0)"
    )
    fresh = f"SELECT * FROM ({ddl.ACTIVITY_DAYS_RECOMPUTED}) r WHERE tenant_id = $1"
    return list(
        await conn.fetch(
            f"(SELECT 'stored' AS side, * FROM ({stored}) s"
            f" EXCEPT SELECT 'stored', * FROM ({fresh}) f)"
            f" UNION ALL (SELECT 'recomputed', * FROM ({fresh}) f"
            f" EXCEPT SELECT 'recomputed', * FROM ({stored}) s)",
            tenant_id,
        )
    )


async def assert_rollup_answers_as_the_rows(database: Database, org: Org) -> None:
    now = datetime.now(UTC)
    midnight = datetime.combine(now.date(), datetime.min.time(), tzinfo=UTC)
    periods = [
        (now - timedelta(days=90), now + timedelta(seconds=1)),
        (midnight - timedelta(days=20), midnight + timedelta(days=1)),
        (midnight - timedelta(days=20, hours=3), midnight - timedelta(days=1, hours=-5)),
        (midnight - timedelta(days=2, hours=-2), midnight - timedelta(days=2, hours=-9)),
    ]
    async with database.session_scope(
        tenant_id=org.admin.tenant_id, user_id=org.admin.user_id, role="admin"
    ) as session:
        for zone in ("UTC", "Pacific/Auckland", "America/Los_Angeles"):
            today = service.today_bounds(now, zone)
            for since, until in periods:
                for owner in (None, org.sales.user_id):
                    args = (session, owner, since, until, now, today)
                    rows = await queries.activity_counts_from_rows(*args)
                    rolled = await queries.activity_counts(*args)
                    assert sorted(rolled, key=str) == sorted(rows, key=str), (zone, since, owner)


async def _post(client: httpx.AsyncClient, org: Org, path: str, **body: Any) -> dict[str, Any]:
    response = await client.post(f"/api/v1{path}", headers=org.sales.headers, json=body)
    assert response.status_code in (200, 201), response.text
    found: dict[str, Any] = response.json()
    return found


_BACKDATED = """
INSERT INTO activities (tenant_id, id, type, status, subject, due_at, completed_at, owner_id,
                        account_id)
SELECT $1, gen_random_uuid(), 'task', s.status, 'Back-dated ' || i, s.due,
       CASE WHEN s.status = 'done' THEN s.due + make_interval(secs => (i * 3607) % 90000) END,
       CASE WHEN i % 5 = 0 THEN NULL ELSE ($2::uuid[])[1 + i % 2] END, $3
  FROM generate_series(1, $4) AS i
  CROSS JOIN LATERAL (
      SELECT CASE WHEN i % 3 = 0 THEN 'done' WHEN i % 3 = 1 THEN 'planned' ELSE 'cancelled' END
                 AS status,
             now() + make_interval(secs => (i::bigint * 7919) % (40 * 86400) - 30 * 86400)
                 AS due) s
"""


async def test_activity_rollup_answers_as_the_rows_after_every_kind_of_write(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection, database: Database
) -> None:
    tenant = org.admin.tenant_id

    async def check() -> None:
        assert await activity_days_disagreement(owner_conn, tenant) == []
        await assert_rollup_answers_as_the_rows(database, org)

    deal = await org.create(client)
    now = datetime.now(UTC)
    planned = [
        await _post(
            client,
            org,
            "/activities",
            type="call",
            subject=f"Call {n}",
            due_at=(now + timedelta(hours=hours)).isoformat(),
            deal_id=deal["id"],
        )
        for n, hours in enumerate((-50, -3, 2, 30))
    ]
    await _post(
        client, org, "/activities", type="note", subject="Met at the fair", deal_id=deal["id"]
    )
    await check()

    done = await _post(
        client, org, f"/activities/{planned[0]['id']}/complete", version=planned[0]["version"]
    )
    assert done["activity"]["status"] == "done"
    await _post(
        client, org, f"/activities/{planned[1]['id']}/cancel", version=planned[1]["version"]
    )
    moved = await client.patch(
        f"/api/v1/activities/{planned[2]['id']}",
        headers=org.sales.headers,
        json={
            "owner_id": str(org.admin.user_id),
            "due_at": (now - timedelta(days=3)).isoformat(),
            "version": planned[2]["version"],
        },
    )
    assert moved.status_code == 200, moved.text
    await check()

    current = await org.get(client, deal)
    deleted = await client.delete(
        f"/api/v1/deals/{deal['id']}",
        headers=org.sales.headers,
        params={"version": current["version"]},
    )
    assert deleted.status_code == 204, deleted.text
    await check()
    restored = await client.post(f"/api/v1/deals/{deal['id']}/restore", headers=org.sales.headers)
    assert restored.status_code == 200, restored.text
    await check()

    await owner_conn.execute(
        _BACKDATED, tenant, [org.sales.user_id, org.admin.user_id], org.account_id, 300
    )
    await check()
    await owner_conn.execute(
        "UPDATE activities SET owner_id = $2, completed_at = completed_at - interval '2 days'"
        " WHERE tenant_id = $1 AND status = 'done' AND subject LIKE 'Back-dated 1%'",
        tenant,
        org.sales.user_id,
    )
    await owner_conn.execute(
        "DELETE FROM activities WHERE tenant_id = $1 AND subject LIKE 'Back-dated 2%'", tenant
    )
    await check()

    # Behind the triggers' back: the doctor sees it, the rebuild repairs it.
    async with owner_conn.transaction():
        await owner_conn.execute("SET LOCAL session_replication_role = replica")
        await owner_conn.execute(
            "UPDATE activities SET status = 'cancelled'"
            " WHERE tenant_id = $1 AND subject LIKE 'Back-dated 3%' AND status = 'planned'",
            tenant,
        )
    assert await activity_days_disagreement(owner_conn, tenant) != []
    slug = org.admin.tenant_slug
    found = await asyncio.to_thread(runner.invoke, cli_app, ["doctor", "--tenant", slug, "--json"])
    assert found.exit_code == 1, found.output
    assert "activity_days" in {f["check"] for f in json.loads(found.stdout)["findings"]}
    for _ in range(2):
        rebuilt = await asyncio.to_thread(
            runner.invoke, cli_app, ["db", "rebuild-rollups", "--tenant", slug]
        )
        assert rebuilt.exit_code == 0, rebuilt.output
        await check()


async def test_the_activity_report_reads_the_rollup_per_owner(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    now = datetime.now(UTC)
    for hours in (-80, -60):
        await _post(
            client,
            org,
            "/activities",
            type="task",
            subject="Overdue",
            due_at=(now + timedelta(hours=hours)).isoformat(),
        )
    # The rollup alone knows them now (rows removed behind the triggers' back): the
    # report's overdue count is the rollup's.
    async with owner_conn.transaction():
        await owner_conn.execute("SET LOCAL session_replication_role = replica")
        await owner_conn.execute(
            "DELETE FROM activities WHERE tenant_id = $1 AND subject = 'Overdue'",
            org.admin.tenant_id,
        )
    response = await client.get(
        "/api/v1/reports/activity",
        headers=org.admin.headers,
        params={"owner_id": str(org.sales.user_id)},
    )
    assert response.status_code == 200, response.text
    assert response.json()["total"]["overdue"] == 2
    other = await client.get(
        "/api/v1/reports/activity",
        headers=org.admin.headers,
        params={"owner_id": str(org.admin.user_id)},
    )
    assert other.json()["total"]["overdue"] == 0
