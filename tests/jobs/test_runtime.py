"""The job runtime against real PostgreSQL: enqueued in the caller's transaction, run
in its tenant's unit of work under RLS, idempotent, retried with backoff, then failed
with its error visible to the tenant's admins."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest
from sqlalchemy import text

from baton.config import Settings
from baton.core.context import Ctx
from baton.db.engine import Database
from baton.jobs.defer import defer
from baton.jobs.stalled import requeue_stalled_jobs
from baton.jobs.worker import open_queue
from tests.factories import register_tenant, unique
from tests.jobs.support import (
    RUNS,
    SEEN,
    always_fails,
    observe,
    run_due_jobs,
    set_timezone,
    unit_of_work,
)


class Refused(Exception):
    pass


async def _job(owner_conn: asyncpg.Connection, job_id: int) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await owner_conn.fetchrow(
        "SELECT status::text, attempts, scheduled_at, args FROM procrastinate_jobs WHERE id = $1",
        job_id,
    )
    return row


async def test_a_job_queued_in_a_rolled_back_transaction_never_runs(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    admin = await register_tenant(client)
    key = unique("rolled-back")
    with pytest.raises(Refused):
        async with unit_of_work(database, settings, admin) as ctx:
            job_id = await defer(ctx, observe, {"key": key})
            # Visible inside the transaction that queued it, and only there.
            assert await _job(owner_conn, job_id) is None
            raise Refused
    assert await _job(owner_conn, job_id) is None
    await run_due_jobs(settings, database)
    assert key not in SEEN


async def test_a_committed_job_runs_in_its_tenant_under_rls(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    mine = await register_tenant(client)
    await register_tenant(client)  # another organization, whose rows stay hidden
    key = unique("observe")
    async with unit_of_work(database, settings, mine) as ctx:
        job_id = await defer(ctx, observe, {"key": key})
    queued = await _job(owner_conn, job_id)
    assert queued is not None
    assert queued["status"] == "todo"

    await run_due_jobs(settings, database)

    seen = SEEN[key]
    assert seen["tenant_id"] == str(mine.tenant_id)
    assert seen["user_id"] == str(mine.user_id)
    assert seen["role"] == "admin"
    assert seen["request_id"] == f"job:{job_id}"
    # RLS with the job's tenant: its memberships only, never another tenant's.
    assert seen["tenants"] == [mine.tenant_id]
    # Succeeded: procrastinate deleted it.
    assert await _job(owner_conn, job_id) is None
    # Its tenant was set for its transaction only: no pooled connection keeps it.
    connections = [await database.engine.connect() for _ in range(database.engine.pool.size())]
    try:
        for conn in connections:
            left = await conn.scalar(text("SELECT current_setting('baton.tenant_id', true)"))
            assert not left
    finally:
        for conn in connections:
            await conn.close()


async def test_defer_refuses_what_it_cannot_scope(
    client: httpx.AsyncClient, settings: Settings, database: Database
) -> None:
    admin = await register_tenant(client)
    async with database.session_scope(request_id="test") as session:
        tenantless = Ctx(session=session, db=database, settings=settings, request_id="test")
        with pytest.raises(RuntimeError, match="tenant"):
            await defer(tenantless, observe, {"key": "x"})
    async with unit_of_work(database, settings, admin) as ctx:
        with pytest.raises(ValueError, match="tenant_id"):
            await defer(ctx, observe, {"key": "x", "tenant_id": str(uuid.uuid4())})


async def test_a_job_run_twice_changes_nothing_the_second_time(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    admin = await register_tenant(client)

    async def state() -> tuple[object, ...]:
        row = await owner_conn.fetchrow(
            "SELECT timezone, version FROM tenant_settings WHERE tenant_id = $1", admin.tenant_id
        )
        audited = await owner_conn.fetchval(
            "SELECT count(*) FROM audit_log WHERE tenant_id = $1 AND table_name = 'tenant_settings'",
            admin.tenant_id,
        )
        assert row is not None
        return (row["timezone"], row["version"], audited)

    before = await state()
    for _ in range(2):
        async with unit_of_work(database, settings, admin) as ctx:
            await defer(ctx, set_timezone, {"timezone": "Asia/Tokyo"})
        await run_due_jobs(settings, database)
        if _ == 0:
            once = await state()
            assert once != before
            assert once[0] == "Asia/Tokyo"
    assert await state() == once


async def test_a_failing_job_is_retried_with_backoff_then_failed_with_its_error(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    admin = await register_tenant(client)
    key = unique("fails")
    async with unit_of_work(database, settings, admin) as ctx:
        job_id = await defer(ctx, always_fails, {"key": key})

    await run_due_jobs(settings, database)
    first = await _job(owner_conn, job_id)
    assert first is not None
    assert RUNS[key] == 1
    # Retried later, not at once: exponential backoff (30 s after the first failure).
    assert first["status"] == "todo"
    assert first["attempts"] == 1
    assert first["scheduled_at"] > datetime.now(UTC)
    listed = await client.get("/api/v1/jobs", headers=admin.headers)
    assert listed.status_code == 200, listed.text
    (waiting,) = [job for job in listed.json()["items"] if job["id"] == job_id]
    assert waiting["state"] == "queued"
    assert waiting["error"] == "RuntimeError: boom 1"

    # Let each backoff elapse at once instead of sleeping through it.
    for _ in range(5):
        row = await _job(owner_conn, job_id)
        assert row is not None
        if row["status"] == "failed":
            break
        await owner_conn.execute(
            "UPDATE procrastinate_jobs SET scheduled_at = now() - interval '1 second'"
            " WHERE id = $1",
            job_id,
        )
        await run_due_jobs(settings, database)
    failed = await _job(owner_conn, job_id)
    assert failed is not None
    assert failed["status"] == "failed"
    assert RUNS[key] == 3  # the first attempt and max_attempts=2 retries
    # Every attempt's writes rolled back.
    timezone = await owner_conn.fetchval(
        "SELECT timezone FROM tenant_settings WHERE tenant_id = $1", admin.tenant_id
    )
    assert timezone != "Europe/Paris"

    listed = await client.get("/api/v1/jobs?state=failed", headers=admin.headers)
    assert listed.status_code == 200, listed.text
    (shown,) = [job for job in listed.json()["items"] if job["id"] == job_id]
    assert shown["state"] == "failed"
    assert shown["task"] == "tests.always_fails"
    assert shown["attempts"] == 3
    assert shown["error"] == "RuntimeError: boom 3"
    assert shown["failed_at"] is not None

    retried = await client.post(f"/api/v1/jobs/{job_id}/retry", headers=admin.headers)
    assert retried.status_code == 200, retried.text
    assert retried.json()["state"] == "queued"
    again = await client.post(f"/api/v1/jobs/{job_id}/retry", headers=admin.headers)
    assert again.status_code == 409
    await run_due_jobs(settings, database)
    assert RUNS[key] == 4
    final = await client.get("/api/v1/jobs?state=failed", headers=admin.headers)
    (shown,) = [job for job in final.json()["items"] if job["id"] == job_id]
    assert shown["error"] == "RuntimeError: boom 4"


async def test_a_job_whose_worker_died_mid_job_runs_again(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    admin = await register_tenant(client)
    key = unique("stalled")
    async with unit_of_work(database, settings, admin) as ctx:
        job_id = await defer(ctx, observe, {"key": key})
    # As a worker killed after fetching it leaves it: running, its worker silent
    # (here already pruned by a live worker, so no worker at all).
    await owner_conn.execute(
        "UPDATE procrastinate_jobs SET status = 'doing', worker_id = NULL WHERE id = $1", job_id
    )
    await run_due_jobs(settings, database)
    assert key not in SEEN  # a running job is not fetched again

    async with open_queue(settings) as app:
        first, second = await asyncio.gather(requeue_stalled_jobs(app), requeue_stalled_jobs(app))
    assert (first + second).count(job_id) == 1  # queued again once, by one sweep
    requeued = await _job(owner_conn, job_id)
    assert requeued is not None
    assert requeued["status"] == "todo"
    assert requeued["attempts"] == 1

    await run_due_jobs(settings, database)
    assert SEEN[key]["tenant_id"] == str(admin.tenant_id)
