"""The stage-conversion report's rollups (`workflow_move_days`, `step_duration_days`)
answer exactly what the ledger answers: after moves (forward and back), closes, a delete, a
restore and a move after it through the API, an import-like back-dated batch of ledger rows (triggers
on), hand-written UPDATE and DELETE of ledger rows, and a rebuild — for whole-day,
partial-day and within-one-day periods. The doctor finds a drifted rollup and the
rebuild repairs it.

The reference is `queries.step_flow_from_ledger` (the ledger's rows, percentile_disc
bucketed at display precision); the report reads `step_flow_from_rollups`.
"""

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
from baton.reports import queries
from tests.deals.conftest import Org

runner = CliRunner()
DAY = 86400


async def ledger_rollups_disagreement(
    conn: asyncpg.Connection, tenant_id: uuid.UUID
) -> list[asyncpg.Record]:
    """Rows of the two ledger rollups (at zero: none) that a recomputation from the
    ledger does not have, and the other way round: empty when they are exact."""
    found: list[asyncpg.Record] = []
    for table, key, figures, recomputed in (
        (
            "workflow_move_days",
            ddl.WORKFLOW_MOVE_DAYS_KEY,
            "moves, backwards",
            ddl.WORKFLOW_MOVE_DAYS_RECOMPUTED,
        ),
        (
            "step_duration_days",
            ddl.STEP_DURATION_DAYS_KEY,
            "moves",
            ddl.STEP_DURATION_DAYS_RECOMPUTED,
        ),
    ):
        stored = f"SELECT {key}, {figures} FROM {table} WHERE tenant_id = $1 AND moves <> 0"
        fresh = f"SELECT * FROM ({recomputed}) r WHERE tenant_id = $1"
        found += await conn.fetch(
            f"(SELECT '{table} stored' AS side, * FROM ({stored}) s"
            f" EXCEPT SELECT '{table} stored', * FROM ({fresh}) f)"
            f" UNION ALL (SELECT '{table} recomputed', * FROM ({fresh}) f"
            f" EXCEPT SELECT '{table} recomputed', * FROM ({stored}) s)",
            tenant_id,
        )
    return found


def periods(now: datetime) -> list[tuple[datetime, datetime]]:
    midnight = datetime.combine(now.date(), datetime.min.time(), tzinfo=UTC)
    return [
        (now - timedelta(days=90), now + timedelta(seconds=1)),  # the default, unaligned
        (midnight - timedelta(days=40), midnight + timedelta(days=1)),  # whole days only
        (midnight - timedelta(days=40, hours=5), midnight - timedelta(days=2, hours=-7)),
        (midnight - timedelta(days=3, hours=-1), midnight - timedelta(days=3, hours=-20)),
        (midnight, now + timedelta(seconds=1)),  # today only
    ]


async def assert_rollups_answer_as_the_ledger(
    database: Database, org: Org, workflow_id: uuid.UUID
) -> None:
    now = datetime.now(UTC)
    async with database.session_scope(
        tenant_id=org.admin.tenant_id, user_id=org.admin.user_id, role="admin"
    ) as session:
        for since, until in periods(now):
            ledger = await queries.step_flow_from_ledger(
                session, workflow_id, "deal", None, since, until
            )
            rolled = await queries.step_flow_from_rollups(session, workflow_id, since, until)
            assert rolled.edges == ledger.edges, (since, until)
            assert rolled.time_in_step == ledger.time_in_step, (since, until)


async def _workflow_id(conn: asyncpg.Connection, org: Org) -> uuid.UUID:
    found: uuid.UUID = await conn.fetchval(
        "SELECT workflow_id FROM workflow_steps WHERE id = $1", org.steps["prospecting"]
    )
    return found


# An import-like batch: ledger rows of many days and durations in one statement, as
# the owner with every trigger on (the rollups' triggers see one statement).
_BACKDATED = """
INSERT INTO workflow_history (tenant_id, id, entity_type, record_id, workflow_id, from_step_id,
                              to_step_id, fields, at, seconds_in_previous_step, backwards)
SELECT $1, gen_random_uuid(), 'deal', $2, $3, ($4::uuid[])[1 + i % 3], ($4::uuid[])[1 + (i + 1) % 3],
       '{}', now() - make_interval(secs => (i::bigint * 7919) % (60 * 86400)),
       (ARRAY[0.4, 59.99, 60, 3599.5, 3600, 86399, 86400, 5 * 86400 + 8639, 200 * 86400,
              -3])[1 + i % 10] * (1 + (i % 7) / 1000.0),
       i % 6 = 0
  FROM generate_series(1, $5) AS i
"""


async def test_rollups_answer_as_the_ledger_after_every_kind_of_write(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection, database: Database
) -> None:
    tenant = org.admin.tenant_id
    workflow_id = await _workflow_id(owner_conn, org)

    async def check() -> None:
        assert await ledger_rollups_disagreement(owner_conn, tenant) == []
        await assert_rollups_answer_as_the_ledger(database, org, workflow_id)

    deals = [await org.create(client, amount="100.00") for _ in range(4)]
    deals[0] = await org.walk(client, deals[0], "discovery", "proposal", "negotiation")
    deals[1] = await org.walk(client, deals[1], "discovery")
    deals[2] = await org.walk(client, deals[2], "discovery", "prospecting")  # backwards
    await check()

    won = await org.close(client, deals[0], outcome="won", reason="price")
    assert won.status_code == 200, won.text
    lost = await org.close(client, deals[1], outcome="lost", reason="competitor")
    assert lost.status_code == 200, lost.text
    await check()

    # (A closed deal is not reopened: the workflow has no transition out of Won/Lost.)
    deleted = await client.delete(
        f"/api/v1/deals/{deals[3]['id']}",
        headers=org.sales.headers,
        params={"version": deals[3]["version"]},
    )
    assert deleted.status_code == 204, deleted.text
    await check()
    restored = await client.post(
        f"/api/v1/deals/{deals[3]['id']}/restore", headers=org.sales.headers
    )
    assert restored.status_code == 200, restored.text
    moved = await org.walk(client, restored.json(), "discovery")
    assert moved["version"] > restored.json()["version"]
    await check()

    steps = [org.steps[k] for k in ("prospecting", "discovery", "proposal")]
    await owner_conn.execute(_BACKDATED, tenant, uuid.UUID(deals[2]["id"]), workflow_id, steps, 600)
    await check()

    # Hand-written corrections of the ledger (append-only for the app, not the owner).
    await owner_conn.execute(
        "UPDATE workflow_history SET at = at - interval '3 days',"
        " seconds_in_previous_step = seconds_in_previous_step * 2"
        " WHERE tenant_id = $1 AND backwards",
        tenant,
    )
    await owner_conn.execute(
        "DELETE FROM workflow_history WHERE tenant_id = $1"
        " AND id IN (SELECT id FROM workflow_history WHERE tenant_id = $1 ORDER BY id LIMIT 50)",
        tenant,
    )
    await check()

    rebuilt = await asyncio.to_thread(
        runner.invoke, cli_app, ["db", "rebuild-rollups", "--tenant", org.admin.tenant_slug]
    )
    assert rebuilt.exit_code == 0, rebuilt.output
    await check()


async def test_the_report_reads_the_rollups_and_states_display_precision(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    tenant = org.admin.tenant_id
    workflow_id = await _workflow_id(owner_conn, org)
    deal = await org.create(client)
    prospecting, discovery = org.steps["prospecting"], org.steps["discovery"]
    # Three moves out of prospecting last week: 1.23 h, 2 days 7 h, 9.99 days.
    for seconds in (4428.0, 2 * DAY + 7 * 3600, 9.99 * DAY):
        await owner_conn.execute(
            "INSERT INTO workflow_history (tenant_id, id, entity_type, record_id, workflow_id,"
            " from_step_id, to_step_id, fields, at, seconds_in_previous_step, backwards)"
            " VALUES ($1, gen_random_uuid(), 'deal', $2, $3, $4, $5, '{}',"
            " now() - interval '7 days', $6, false)",
            tenant,
            uuid.UUID(deal["id"]),
            workflow_id,
            prospecting,
            discovery,
            seconds,
        )
    # The rollup alone holds them now: the ledger rows go (as the owner, triggers off).
    async with owner_conn.transaction():
        await owner_conn.execute("SET LOCAL session_replication_role = replica")
        await owner_conn.execute(
            "DELETE FROM workflow_history WHERE tenant_id = $1 AND at < now() - interval '1 day'",
            tenant,
        )
    response = await client.get("/api/v1/reports/stage-conversion", headers=org.admin.headers)
    assert response.status_code == 200, response.text
    step = {s["key"]: s for s in response.json()["steps"]}["prospecting"]
    # The lower median is 2 days 7 h, shown as 2.2 d: 2.2 days is its bucket's start.
    assert step["median_seconds_in_step"] == 22 * 8640
    # 90 % of 3 is the third: 9.99 days, in the bucket starting at 9.9 days.
    assert step["p90_seconds_in_step"] == 99 * 8640
    assert step["exits"] == 3

    found = await asyncio.to_thread(
        runner.invoke, cli_app, ["doctor", "--tenant", org.admin.tenant_slug, "--json"]
    )
    assert found.exit_code == 1, found.output
    findings: dict[str, Any] = {f["check"]: f for f in json.loads(found.stdout)["findings"]}
    # What was deleted behind the triggers' back: doctor sees the rollup drifted.
    assert "workflow_moves" in findings
    assert findings["workflow_moves"]["count"] >= 3
    for _ in range(2):
        rebuilt = await asyncio.to_thread(
            runner.invoke, cli_app, ["db", "rebuild-rollups", "--tenant", org.admin.tenant_slug]
        )
        assert rebuilt.exit_code == 0, rebuilt.output
        assert await ledger_rollups_disagreement(owner_conn, tenant) == []
    after = await client.get("/api/v1/reports/stage-conversion", headers=org.admin.headers)
    step = {s["key"]: s for s in after.json()["steps"]}["prospecting"]
    assert (step["exits"], step["median_seconds_in_step"]) == (0, None)


async def test_owner_filter_reads_the_ledger_and_other_tenants_rows_stay_out(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    deal = await org.create(client)
    await org.walk(client, deal, "discovery")
    mine = await client.get(
        "/api/v1/reports/stage-conversion",
        headers=org.admin.headers,
        params={"owner_id": str(org.sales.user_id)},
    )
    assert mine.status_code == 200, mine.text
    first = {s["key"]: s for s in mine.json()["steps"]}["prospecting"]
    assert (first["entries"], first["exits"]) == (1, 1)
    # Another organization's rollups are not read: its own report is empty.
    from tests.factories import register_tenant

    other = await register_tenant(client)
    theirs = await client.get("/api/v1/reports/stage-conversion", headers=other.headers)
    assert theirs.status_code == 200, theirs.text
    assert all(s["entries"] == 0 for s in theirs.json()["steps"])
    stored = await owner_conn.fetchval(
        "SELECT count(*) FROM workflow_move_days WHERE tenant_id = $1", org.admin.tenant_id
    )
    assert stored >= 2
