"""Above 200 rows a bulk action is a run: 202, then the worker goes through the rows a
chunk per transaction, each row as the request would have done it; the run is polled."""

from __future__ import annotations

import uuid

import asyncpg
import httpx

from baton.config import Settings
from baton.db.engine import Database
from tests.bulk.conftest import Org
from tests.factories import Member, add_member, register_tenant
from tests.jobs.support import run_due_jobs

URL = "/api/v1/accounts/bulk"


async def _accounts(
    owner_conn: asyncpg.Connection, member: Member, word: str, count: int
) -> list[uuid.UUID]:
    rows = await owner_conn.fetch(
        "INSERT INTO accounts (tenant_id, id, name, owner_id)"
        " SELECT $1, gen_random_uuid(), $2 || ' ' || n, $3 FROM generate_series(1, $4) n"
        " RETURNING id",
        member.tenant_id,
        f"Bulkrun {word}",
        member.user_id,
        count,
    )
    return [row["id"] for row in rows]


async def test_a_large_action_runs_as_a_job_with_progress_to_poll(
    client: httpx.AsyncClient,
    org: Org,
    owner_conn: asyncpg.Connection,
    settings: Settings,
    database: Database,
) -> None:
    word = uuid.uuid4().hex[:8]
    ids = await _accounts(owner_conn, org.sales, word, 250)
    full = ids[7]
    await owner_conn.execute(
        "UPDATE accounts SET tags = ARRAY(SELECT 't' || n FROM generate_series(1, 20) n)"
        " WHERE id = $1",
        full,
    )
    response = await client.post(
        URL,
        headers=org.sales.headers,
        json={"filter": {"q": f"bulkrun {word}"}, "action": "add_tag", "tag": "big"},
    )
    assert response.status_code == 202, response.text
    started = response.json()
    assert started["status"] == "running"
    assert (started["total"], started["done"], started["results"]) == (250, 0, [])
    run_url = f"/api/v1/bulk-runs/{started['run_id']}"
    assert response.headers["location"] == run_url
    polled = await client.get(run_url, headers=org.sales.headers)
    assert polled.json()["status"] == "running"
    assert polled.json()["done"] == 0

    # Another salesperson, another organization: no such run.
    other_sales = await add_member(client, org.admin, "sales")
    assert (await client.get(run_url, headers=other_sales.headers)).status_code == 404
    stranger = await register_tenant(client)
    assert (await client.get(run_url, headers=stranger.headers)).status_code == 404
    # An admin of the organization follows it too.
    assert (await client.get(run_url, headers=org.admin.headers)).status_code == 200

    await run_due_jobs(settings, database)

    done = (await client.get(run_url, headers=org.sales.headers)).json()
    assert done["status"] == "completed"
    assert done["done"] == 250
    assert done["counts"] == {"updated": 249, "refused": 1}
    assert sorted(uuid.UUID(row["id"]) for row in done["results"]) == sorted(ids)
    refused = next(row for row in done["results"] if row["status"] == "refused")
    assert refused["id"] == str(full)
    assert "20 tags" in refused["error"]["detail"]
    tagged = await owner_conn.fetchval(
        "SELECT count(*) FROM accounts WHERE id = ANY($1::uuid[]) AND 'big' = ANY(tags)", ids
    )
    assert tagged == 249
    # Each row its own audited change, by the member who asked.
    actors = await owner_conn.fetch(
        "SELECT DISTINCT actor_user_id FROM audit_log WHERE row_id = ANY($1::uuid[])"
        " AND row_id <> $2 AND 'tags' = ANY(changed_columns)",
        ids,
        full,
    )
    assert [row["actor_user_id"] for row in actors] == [org.sales.user_id]


async def test_a_filter_matching_more_than_the_cap_is_refused_before_anything(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    word = uuid.uuid4().hex[:8]
    await _accounts(owner_conn, org.sales, word, 1001)
    response = await client.post(
        URL,
        headers=org.sales.headers,
        json={"filter": {"q": f"bulkrun {word}"}, "action": "add_tag", "tag": "big"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "filter"
    runs = await owner_conn.fetchval(
        "SELECT count(*) FROM bulk_runs WHERE tenant_id = $1", org.sales.tenant_id
    )
    assert runs == 0
    tagged = await owner_conn.fetchval(
        "SELECT count(*) FROM accounts WHERE tenant_id = $1 AND 'big' = ANY(tags)",
        org.sales.tenant_id,
    )
    assert tagged == 0
