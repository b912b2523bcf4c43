"""`GET /api/v1/jobs`, `POST /api/v1/jobs/{id}/retry`, the Jobs page and the queue's
gauges: admins only, each organization its own jobs and never another's."""

from __future__ import annotations

import re

import asyncpg
import httpx
import pytest

from baton.config import Settings
from baton.db.engine import Database
from baton.jobs.defer import defer
from tests.factories import Member, add_member, register_tenant, unique
from tests.jobs.support import observe, unit_of_work
from tests.web.test_workflow_pages import HTMX, _sign_in


async def _queued(database: Database, settings: Settings, member: Member) -> int:
    async with unit_of_work(database, settings, member) as ctx:
        return await defer(ctx, observe, {"key": unique("queued")})


async def _failed(
    database: Database, settings: Settings, member: Member, owner_conn: asyncpg.Connection
) -> int:
    """A job of `member`'s organization that failed for good with an error, as a worker
    leaves it (without running one: the runtime tests do that)."""
    job_id = await _queued(database, settings, member)
    await owner_conn.execute(
        "UPDATE procrastinate_jobs SET status = 'failed', attempts = 3 WHERE id = $1", job_id
    )
    await owner_conn.execute(
        "INSERT INTO job_errors (tenant_id, job_id, attempt, error)"
        " VALUES ($1, $2, 3, 'ValueError: <no such thing>')",
        member.tenant_id,
        job_id,
    )
    return job_id


def _ids(answer: httpx.Response) -> list[int]:
    assert answer.status_code == 200, answer.text
    return [job["id"] for job in answer.json()["items"]]


@pytest.mark.parametrize("role", ["manager", "marketing", "sales", "viewer"])
async def test_only_admins_see_and_retry_jobs(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
    role: str,
) -> None:
    admin = await register_tenant(client)
    member = await add_member(client, admin, role)
    job_id = await _failed(database, settings, admin, owner_conn)
    assert (await client.get("/api/v1/jobs", headers=member.headers)).status_code == 403
    refused = await client.post(f"/api/v1/jobs/{job_id}/retry", headers=member.headers)
    assert refused.status_code == 403
    assert (await client.get("/api/v1/jobs")).status_code == 401

    await _sign_in(client, member)
    assert 'href="/jobs"' not in (await client.get("/")).text
    assert (await client.get("/jobs")).status_code == 403


async def test_an_admin_sees_only_their_organizations_jobs(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
    app_conn: asyncpg.Connection,
) -> None:
    first = await register_tenant(client)
    second = await register_tenant(client)
    failed = await _failed(database, settings, first, owner_conn)
    queued = await _queued(database, settings, first)
    theirs = await _queued(database, settings, second)

    assert {failed, queued} <= set(_ids(await client.get("/api/v1/jobs", headers=first.headers)))
    seen_by_second = _ids(await client.get("/api/v1/jobs", headers=second.headers))
    assert theirs in seen_by_second
    assert failed not in seen_by_second
    assert queued not in seen_by_second
    # Another organization's job is 404, as any of its records.
    refused = await client.post(f"/api/v1/jobs/{failed}/retry", headers=second.headers)
    assert refused.status_code == 404

    only_failed = _ids(await client.get("/api/v1/jobs?state=failed", headers=first.headers))
    assert only_failed == [failed]
    only_queued = _ids(await client.get("/api/v1/jobs?state=queued", headers=first.headers))
    assert only_queued == [queued]

    # The app role, even with hand-written SQL, reads a tenant's jobs only through
    # the function, which shows the transaction's tenant and nothing without one.
    async with app_conn.transaction():
        await app_conn.execute(
            "SELECT set_config('baton.tenant_id', $1, true)", str(second.tenant_id)
        )
        rows = await app_conn.fetch("SELECT id FROM baton_tenant_jobs(NULL, NULL, 100)")
        assert [r["id"] for r in rows] == [theirs]
        assert await app_conn.fetchval("SELECT baton_retry_tenant_job($1)", failed) is None
    assert await app_conn.fetch("SELECT id FROM baton_tenant_jobs(NULL, NULL, 100)") == []


async def test_jobs_are_listed_newest_first_page_by_page(
    client: httpx.AsyncClient, settings: Settings, database: Database
) -> None:
    admin = await register_tenant(client)
    ids = [await _queued(database, settings, admin) for _ in range(3)]
    first = await client.get("/api/v1/jobs?limit=2", headers=admin.headers)
    assert _ids(first) == [ids[2], ids[1]]
    cursor = first.json()["next_cursor"]
    assert cursor == str(ids[1])
    second = await client.get(f"/api/v1/jobs?limit=2&cursor={cursor}", headers=admin.headers)
    assert _ids(second) == [ids[0]]
    assert second.json()["next_cursor"] is None
    for cursor in ("abc", "0", "9" * 19):
        bad = await client.get(f"/api/v1/jobs?cursor={cursor}", headers=admin.headers)
        assert bad.status_code == 422, cursor
    huge = await client.post(f"/api/v1/jobs/{2**63}/retry", headers=admin.headers)
    assert huge.status_code == 422
    missing = await client.post(f"/api/v1/jobs/{2**63 - 1}/retry", headers=admin.headers)
    assert missing.status_code == 404
    bad_state = await client.get("/api/v1/jobs?state=succeeded", headers=admin.headers)
    assert bad_state.status_code == 422


async def test_the_jobs_page_shows_failed_jobs_with_their_error_and_retries_them(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    admin = await register_tenant(client)
    other = await register_tenant(client)
    job_id = await _failed(database, settings, admin, owner_conn)
    hidden = await _failed(database, settings, other, owner_conn)
    token = await _sign_in(client, admin)
    assert '<a href="/jobs">Jobs</a>' in (await client.get("/")).text

    page = await client.get("/jobs")
    assert page.status_code == 200
    row = re.search(rf'<tr data-job="{job_id}" data-state="failed">.*?</tr>', page.text, re.S)
    assert row, page.text
    # The error as text, escaped.
    assert "ValueError: &lt;no such thing&gt;" in row.group(0)
    assert f'hx-post="/jobs/{job_id}/retry"' in row.group(0)
    assert f'data-job="{hidden}"' not in page.text

    retried = await client.post(f"/jobs/{job_id}/retry", data={"csrf_token": token}, headers=HTMX)
    assert retried.status_code == 200, retried.text
    assert f"Job {job_id} queued again" in retried.text
    assert f'<tr data-job="{job_id}" data-state="queued">' in retried.text
    # Without the CSRF token: refused.
    forged = await client.post(f"/jobs/{job_id}/retry", headers=HTMX)
    assert forged.status_code == 403
    theirs = await client.post(f"/jobs/{hidden}/retry", data={"csrf_token": token}, headers=HTMX)
    assert theirs.status_code == 404


async def test_metrics_show_the_queue(
    client: httpx.AsyncClient, settings: Settings, database: Database
) -> None:
    admin = await register_tenant(client)
    await _queued(database, settings, admin)
    answer = await client.get("/metrics")
    assert answer.status_code == 200
    figures = dict(re.findall(r"^(baton_jobs_[a-z_]+) ([0-9.e+-]+)$", answer.text, re.MULTILINE))
    assert float(figures["baton_jobs_queued"]) >= 1
    assert float(figures["baton_jobs_oldest_queued_age_seconds"]) >= 0
    assert "baton_jobs_running" in figures
    assert "baton_jobs_failed" in figures
