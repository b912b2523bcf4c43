"""The periodic sweeps over one big organization (issue 15: each ≤ 2 s over 100 000
leads / deals).

    .venv/bin/python -m bench.sweeps [--cluster URL] [--leads N] [--deals N]
                                     [--accounts N] [--keep]

A scratch database (`baton_bench_sweeps`) on the cluster (`--cluster`, default
`BATON_TEST_DATABASE_URL`), built by the migrations and granted like `baton db
upgrade` to the bench's own app role (`baton_bench_sweeps_app`; both dropped at the
end unless `--keep`); the demo organization (two admins/managers, two salespeople, its winback
cadence chosen) registered through the services. Bulk rows are then loaded as the
owner with triggers off (`session_replication_role = replica`: no governance,
history or audit rows for the load — what is measured is the sweeps, which run with
every trigger and policy on): `--leads` leads, all pooled, 10 % past their claim
due; `--deals` open deals of the two salespeople, 10 % with an overdue next step, 1 %
soft-deleted 100 days ago; `--accounts` accounts with a ledger line each, 1 %
quiet for 120 days.

Each sweep's tenant job body runs as the app role in the organization's unit of work
(`SWEEP_ROLE`), run after run until a run finds nothing (the runs are capped: 1 000
leads, 50 accounts; the last run is the idempotent one). Reported: runs, items
done, the slowest run and the last (empty) one, wall clock for the whole job body,
commit included. A single run on a shared machine: read the figures
as orders of magnitude.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from sqlalchemy.engine import URL, make_url

import baton.models  # noqa: F401  (the ORM resolves foreign keys across every table)
from baton.accounts.tasks import sweep_lapsed_accounts
from baton.audit.tasks import purge_deleted_records
from baton.config import get_settings
from baton.core.context import Ctx
from baton.db import migrate
from baton.db.engine import Database
from baton.db.urls import app_url, libpq_dsn
from baton.deals.tasks import send_next_step_digests
from baton.demo import DEMO_SLUG, ensure_demo_tenant
from baton.jobs.sweeps import SWEEP_ROLE
from baton.leads.tasks import escalate_overdue_claims

DATABASE = "baton_bench_sweeps"
# The bench's own app role: the cluster's `baton_app` (the test suite's) is never touched.
APP_ROLE = "baton_bench_sweeps_app"
BUDGET_S = 2.0
# Runs of one sweep at most (the claim SLA takes 1 000 leads a run).
MAX_RUNS = 15

_LEADS = """
INSERT INTO leads (tenant_id, id, company_name, email, need, marketing_owner_id,
    workflow_id, step_id, entered_step_at, view, dedupe_key)
SELECT $1, baton_uuid7(), 'Lead ' || g, 'lead' || g || '@example.com', 'Pallets', $2, $3, $4,
    now() - interval '3 days', 'pool', 'lead-' || g
FROM generate_series(1, $5) g
"""
_POOL = """
INSERT INTO lead_pool (tenant_id, id, lead_id, entered_at, claim_due_at)
SELECT l.tenant_id, baton_uuid7(), l.id, now() - interval '3 days',
    CASE WHEN row_number() OVER (ORDER BY l.id) % 10 = 0 THEN now() - interval '1 hour'
         ELSE now() + interval '1 day' END
FROM leads l WHERE l.tenant_id = $1
"""
_ACCOUNTS = """
INSERT INTO accounts (tenant_id, id, name, owner_id)
SELECT $1, baton_uuid7(), 'Account ' || g, $2 FROM generate_series(1, $3) g
"""
_LEDGER = """
INSERT INTO account_transactions (tenant_id, id, account_id, occurred_on, amount, currency)
SELECT a.tenant_id, baton_uuid7(), a.id,
    current_date - CASE WHEN row_number() OVER (ORDER BY a.id) % 100 = 0 THEN 120 ELSE 5 END,
    100, 'EUR'
FROM accounts a WHERE a.tenant_id = $1
"""
_DEALS = """
INSERT INTO deals (tenant_id, id, name, account_id, owner_id, currency, workflow_id, step_id,
    entered_step_at, rank, next_step, next_step_due_date, deleted_at, deletion_id)
SELECT $1, baton_uuid7(), 'Deal ' || g,
    (SELECT id FROM accounts WHERE tenant_id = $1 ORDER BY id LIMIT 1),
    CASE WHEN g % 2 = 0 THEN $2::uuid ELSE $3::uuid END, 'EUR', $4, $5, now(),
    lpad(g::text, 12, '0'), 'Call back',
    current_date + CASE WHEN g % 20 IN (0, 1) THEN -2 ELSE 3 END,
    CASE WHEN g % 100 = 1 THEN now() - interval '100 days' END,
    CASE WHEN g % 100 = 1 THEN gen_random_uuid() END
FROM generate_series(1, $6) g
"""


async def _load(owner: URL, leads: int, deals: int, accounts: int) -> uuid.UUID:
    conn = await asyncpg.connect(libpq_dsn(owner))
    try:
        tenant_id = await conn.fetchval("SELECT id FROM tenants WHERE slug = $1", DEMO_SLUG)
        members = dict(
            await conn.fetch(
                "SELECT u.email, u.id FROM users u JOIN memberships m ON m.user_id = u.id"
                " WHERE m.tenant_id = $1",
                tenant_id,
            )
        )
        handed_over = await conn.fetchrow(
            "SELECT s.workflow_id, s.id FROM workflow_steps s JOIN workflows w"
            " ON w.tenant_id = s.tenant_id AND w.id = s.workflow_id"
            " WHERE s.tenant_id = $1 AND w.entity_type = 'lead' AND s.key = 'handed_over'",
            tenant_id,
        )
        first_stage = await conn.fetchrow(
            "SELECT s.workflow_id, s.id FROM workflow_steps s JOIN workflows w"
            " ON w.tenant_id = s.tenant_id AND w.id = s.workflow_id"
            " WHERE s.tenant_id = $1 AND w.entity_type = 'deal' AND s.is_initial",
            tenant_id,
        )
        sam, sofia = members["sales1@acme.example"], members["sales2@acme.example"]
        async with conn.transaction():
            await conn.execute("SET LOCAL session_replication_role = replica")
            started = time.perf_counter()
            await conn.execute(
                _LEADS, tenant_id, members["marketing@acme.example"], *handed_over, leads
            )
            await conn.execute(_POOL, tenant_id)
            await conn.execute(_ACCOUNTS, tenant_id, sam, accounts)
            await conn.execute(_LEDGER, tenant_id)
            await conn.execute(_DEALS, tenant_id, sam, sofia, *first_stage, deals)
        await conn.execute("ANALYZE")
        print(f"loaded in {time.perf_counter() - started:.1f} s")
        return uuid.UUID(str(tenant_id))
    finally:
        await conn.close()


async def _timed(
    db: Database, tenant_id: uuid.UUID, work: Callable[[Ctx], Awaitable[Any]]
) -> tuple[float, Any]:
    settings = get_settings()
    started = time.perf_counter()
    async with db.session_scope(tenant_id=tenant_id, role=SWEEP_ROLE, request_id="bench") as s:
        result = await work(
            Ctx(session=s, db=db, settings=settings, request_id="bench", tenant_id=tenant_id)
        )
    return time.perf_counter() - started, result


def _size(result: Any) -> int:
    return result.total if hasattr(result, "total") else len(result)


async def main(args: argparse.Namespace) -> None:
    cluster = make_url(args.cluster).set(drivername="postgresql+asyncpg")
    admin = await asyncpg.connect(libpq_dsn(cluster))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await admin.close()
    owner = cluster.set(database=DATABASE)
    os.environ["BATON_DATABASE_URL"] = owner.render_as_string(hide_password=False)
    os.environ["BATON_APP_DB_ROLE"] = APP_ROLE
    get_settings.cache_clear()
    settings = get_settings()
    await asyncio.to_thread(migrate.upgrade, owner)
    await migrate.grant_app_role(owner, settings.app_db_role, None)
    db = Database(app_url(settings), pool_size=2, max_overflow=2)
    try:
        await ensure_demo_tenant(db)
        tenant_id = await _load(owner, args.leads, args.deals, args.accounts)
        sweeps: list[tuple[str, Callable[[Ctx], Awaitable[Any]]]] = [
            ("claim SLA", escalate_overdue_claims),
            ("next-step digest", lambda ctx: send_next_step_digests(ctx, hour=0)),
            ("account status", sweep_lapsed_accounts),
            ("purge", purge_deleted_records),
        ]
        print(f"{'sweep':<18} {'runs':>5} {'items':>7} {'slowest s':>10} {'last s':>8}  budget")
        for name, work in sweeps:
            # Run after run until one finds nothing: the capped runs that do the work,
            # then the idempotent one.
            times: list[float] = []
            items = 0
            while True:
                seconds, result = await _timed(db, tenant_id, work)
                times.append(seconds)
                items += _size(result)
                if not _size(result) or len(times) >= MAX_RUNS:
                    break
            verdict = "ok" if max(times) <= BUDGET_S else "OVER"
            print(
                f"{name:<18} {len(times):>5} {items:>7} {max(times):>10.3f}"
                f" {times[-1]:>8.3f}  {verdict} (≤ {BUDGET_S} s a run)"
            )
    finally:
        await db.dispose()
        if not args.keep:
            admin = await asyncpg.connect(libpq_dsn(cluster))
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
                await admin.execute(f'DROP ROLE IF EXISTS "{APP_ROLE}"')
            finally:
                await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cluster", default=os.environ.get("BATON_TEST_DATABASE_URL", ""))
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    asyncio.run(main(parser.parse_args()))
