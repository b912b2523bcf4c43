"""Migration 65cdc61380a3 backfills the stage-conversion rollups from the ledger there
is, its triggers keep them from then on, and its downgrade takes tables, triggers and
functions away."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest

from baton.app import create_app
from baton.config import Settings
from baton.db import migrate
from baton.db.engine import Database
from baton.db.urls import libpq_dsn
from baton.ops.doctor import run_doctor
from tests.conftest import direct_app_url
from tests.database import cluster_url, drop_database, recreate_database, worker_database_name
from tests.deals.conftest import NEXT_WEEK
from tests.deals.test_stage_conversion_rollups import ledger_rollups_disagreement
from tests.factories import register_tenant, unique

BEFORE = "9fc1c45304ad"


@pytest.mark.xdist_group("migrations")
async def test_the_migration_backfills_the_ledger_rollups_and_downgrades(
    settings: Settings,
) -> None:
    cluster = cluster_url()
    name = worker_database_name("_moves")
    url = await recreate_database(cluster, name)
    try:
        await asyncio.to_thread(migrate.upgrade, url)
        await migrate.grant_app_role(url, settings.app_db_role, None)
        db = Database(direct_app_url(settings, url), pool_size=2, max_overflow=0)
        try:
            transport = httpx.ASGITransport(app=create_app(settings, db))
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                admin = await register_tenant(client)
                account = await client.post(
                    "/api/v1/accounts", headers=admin.headers, json={"name": unique("Moves")}
                )
                assert account.status_code == 201, account.text
                for _ in range(3):
                    created = await client.post(
                        "/api/v1/deals",
                        headers=admin.headers,
                        json={
                            "name": unique("Deal"),
                            "account_id": account.json()["id"],
                            "next_step": "Call",
                            "next_step_due_date": NEXT_WEEK,
                        },
                    )
                    assert created.status_code == 201, created.text
        finally:
            await db.dispose()

        await asyncio.to_thread(migrate.downgrade, url, BEFORE)
        conn = await asyncpg.connect(libpq_dsn(url))
        try:
            # Moves on other days and with durations, while the rollups do not exist.
            await conn.execute(
                "INSERT INTO workflow_history (tenant_id, id, entity_type, record_id,"
                " workflow_id, from_step_id, to_step_id, fields, at,"
                " seconds_in_previous_step, backwards)"
                " SELECT tenant_id, gen_random_uuid(), entity_type, record_id, workflow_id,"
                " to_step_id, to_step_id, '{}', at - make_interval(days => i),"
                " 3600.0 * i, i % 2 = 0"
                " FROM workflow_history CROSS JOIN generate_series(1, 5) AS i"
                " WHERE tenant_id = $1",
                admin.tenant_id,
            )
        finally:
            await conn.close()

        await asyncio.to_thread(migrate.upgrade, url)
        conn = await asyncpg.connect(libpq_dsn(url))
        try:
            assert await ledger_rollups_disagreement(conn, admin.tenant_id) == []
            stored = await conn.fetchval(
                "SELECT sum(moves) FROM workflow_move_days WHERE tenant_id = $1",
                admin.tenant_id,
            )
            assert stored == 3 + 3 * 5
            assert await conn.fetchval("SELECT count(*) FROM activity_days") == 0
        finally:
            await conn.close()
        report = await run_doctor(url)
        assert report.ok, report.lines()

        await asyncio.to_thread(migrate.downgrade, url, BEFORE)
        conn = await asyncpg.connect(libpq_dsn(url))
        try:
            left = await conn.fetchval(
                "SELECT count(*) FROM pg_class WHERE relname IN"
                " ('workflow_move_days', 'step_duration_days', 'activity_days')"
            )
            functions = await conn.fetchval(
                "SELECT count(*) FROM pg_proc WHERE proname LIKE 'baton_workflow_moves_%'"
                " OR proname LIKE 'baton_duration_%' OR proname LIKE 'baton_activity_days_%'"
            )
            triggers = await conn.fetchval(
                "SELECT count(*) FROM pg_trigger"
                " WHERE tgname LIKE 'workflow_moves_%' OR tgname LIKE 'activity_days_%'"
            )
        finally:
            await conn.close()
        assert (left, functions, triggers) == (0, 0, 0)
    finally:
        await drop_database(cluster, name)
