"""Imports of each kind: 100 000 rows from a CSV against 100 000 existing (issue 16).

    .venv/bin/python -m bench.imports [--kind targets|accounts|contacts|transactions|deals]
        [--rows N] [--existing N] [--json out.json]

Runs against the local PostgreSQL at 127.0.0.1:5432 in a scratch database (dropped
afterwards), in this process: the app over ASGI (httpx), the import job through the
worker as `baton worker` runs it. Every kind is measured the same way (the issue
states the budget for targets; the others are held to it):

- the file: `--rows` rows, every tenth matching one of `--existing` records of the
  kind (skipped as a duplicate): targets by email, accounts (with a first contact)
  by domain, contacts by account and email, ledger lines by account and invoice
  number, deals by account and name; contacts, ledger lines and deals point at
  1 000 accounts by name and domain;
- preview: `POST /api/v1/imports` with the file (parse, suggested mapping, every row
  validated, references resolved, dedupe within the file and against the existing
  records, stored);
- commit: the `imports.commit` job for the batch (one transaction, chunked
  multi-row INSERT … SELECT FROM unnest, per-row triggers: workflow history, audit,
  search document), measured from the job's start to its end;
- baseline, same run, same rows, another organization with the same existing
  records: `COPY` into a temporary table, then one `INSERT … SELECT … ON CONFLICT
  DO NOTHING` (deals: `WHERE NOT EXISTS`, they have no unique key) into the kind's
  table (the same triggers fire; `BASELINES`);
- peak RSS of this process (`ru_maxrss`), which holds the app, the parse and the job.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import re
import resource
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import asyncpg

DB = "baton_bench_imports"
CLUSTER = "postgresql://postgres@127.0.0.1:5432/postgres"
OWNER = f"postgresql://postgres@127.0.0.1:5432/{DB}"
PREVIEW_BUDGET_S = 3.0
COMMIT_BUDGET_S = 5.0
RSS_BUDGET_MB = 300
RATIO_BUDGET = 3.0


# Accounts the rows of contacts, ledger lines and deals point at (by domain).
REFERENCED_ACCOUNTS = 1000


def _csv(header: str, lines: Iterable[str]) -> bytes:
    out = io.StringIO()
    out.write(header + "\n")
    for line in lines:
        out.write(line + "\n")
    return out.getvalue().encode()


def _matches(n: int, existing: int) -> bool:
    """Every tenth row matches an existing record (a duplicate: skipped)."""
    return n % 10 == 0 and n < existing


def _targets_csv(rows: int, existing: int) -> bytes:
    return _csv(
        "Company Name,Contact,E-mail,Phone,Notes",
        (
            f"Company {n} Logistics GmbH,Contact Person {n},"
            f"{'existing' if _matches(n, existing) else 'new'}{n}@bench.example,"
            f'+49 30 {1000000 + n},"Met at the trade fair, hall {n % 12}; asked for a call'
            ' back about pricing"'
            for n in range(rows)
        ),
    )


def _accounts_csv(rows: int, existing: int) -> bytes:
    return _csv(
        "Company Name,Website,Contact,E-mail,Phone",
        (
            f"Company {n} Logistics GmbH,"
            f"{'existing' if _matches(n, existing) else 'new'}{n}.example,"
            f"Contact Person {n},person{n}@bench.example,+49 30 {1000000 + n}"
            for n in range(rows)
        ),
    )


def _account_of(n: int) -> str:
    return f"Account {n % REFERENCED_ACCOUNTS},acct{n % REFERENCED_ACCOUNTS}.example"


def _contacts_csv(rows: int, existing: int) -> bytes:
    return _csv(
        "Company,Company Domain,First Name,Last Name,Email,Phone",
        (
            f"{_account_of(n)},Ada {n},Lovelace,"
            f"{'existing' if _matches(n, existing) else 'new'}{n}@bench.example,"
            f"+49 30 {1000000 + n}"
            for n in range(rows)
        ),
    )


def _transactions_csv(rows: int, existing: int) -> bytes:
    return _csv(
        "Company,Company Domain,Date,Amount,Currency,Invoice Number",
        (
            f"{_account_of(n)},2025-{1 + n % 12:02d}-{1 + n % 28:02d},{n % 5000}.50,EUR,"
            f"INV-{'existing' if _matches(n, existing) else 'new'}-{n}"
            for n in range(rows)
        ),
    )


def _deals_csv(rows: int, existing: int) -> bytes:
    return _csv(
        "Deal Name,Company,Company Domain,Amount,Currency,Expected Close Date,Next Step",
        (
            f"{'Existing' if _matches(n, existing) else 'New'} deal {n},{_account_of(n)},"
            f"{n % 90000}.00,EUR,2027-{1 + n % 12:02d}-15,Call back"
            for n in range(rows)
        ),
    )


async def _initial_step(conn: asyncpg.Connection, tenant_id: uuid.UUID, entity: str) -> Any:
    return await conn.fetchrow(
        "SELECT w.id AS workflow_id, s.id AS step_id FROM project_types p"
        " JOIN workflows w ON w.id = p.default_workflow_id AND w.tenant_id = p.tenant_id"
        " JOIN workflow_steps s ON s.workflow_id = w.id AND s.tenant_id = w.tenant_id"
        " AND s.is_initial WHERE p.tenant_id = $1 AND p.entity_type = $2",
        tenant_id,
        entity,
    )


async def _seed_existing(
    conn: asyncpg.Connection, kind: str, tenant_id: uuid.UUID, count: int
) -> None:
    """The organization's records before the import: `count` matchable ones of the
    kind, and the accounts the other kinds' rows point at."""
    owner = await conn.fetchval("SELECT user_id FROM memberships WHERE tenant_id = $1", tenant_id)
    await conn.execute("SELECT set_config('baton.tenant_id', $1::text, false)", str(tenant_id))
    if kind == "targets":
        flow = await _initial_step(conn, tenant_id, "target")
        await conn.execute(
            "INSERT INTO targets (tenant_id, id, company_name, email, owner_id, dedupe_key,"
            " workflow_id, step_id, entered_step_at)"
            " SELECT $1, baton_uuid7(), 'Existing ' || n, 'existing' || n || '@bench.example',"
            " $2, 'email:existing' || n || '@bench.example', $3, $4, now()"
            " FROM generate_series(0, $5 - 1) n",
            tenant_id,
            owner,
            flow["workflow_id"],
            flow["step_id"],
            count,
        )
        return
    if kind == "accounts":
        await conn.execute(
            "INSERT INTO accounts (tenant_id, id, name, domain, owner_id)"
            " SELECT $1, baton_uuid7(), 'Existing ' || n, 'existing' || n || '.example', $2"
            " FROM generate_series(0, $3 - 1) n",
            tenant_id,
            owner,
            count,
        )
        return
    await conn.execute(
        "INSERT INTO accounts (tenant_id, id, name, domain, owner_id)"
        " SELECT $1, baton_uuid7(), 'Account ' || n, 'acct' || n || '.example', $2"
        " FROM generate_series(0, $3 - 1) n",
        tenant_id,
        owner,
        REFERENCED_ACCOUNTS,
    )
    account = (
        f" FROM generate_series(0, $2 - 1) n JOIN accounts a ON a.tenant_id = $1"
        f" AND a.domain = 'acct' || (n % {REFERENCED_ACCOUNTS}) || '.example'"
    )
    if kind == "contacts":
        await conn.execute(
            "INSERT INTO contacts (tenant_id, id, account_id, first_name, email)"
            " SELECT $1, baton_uuid7(), a.id, 'Existing ' || n, 'existing' || n || '@bench.example'"
            + account,
            tenant_id,
            count,
        )
    elif kind == "transactions":
        await conn.execute(
            "INSERT INTO account_transactions (tenant_id, id, account_id, occurred_on, amount,"
            " currency, reference)"
            " SELECT $1, baton_uuid7(), a.id, date '2026-01-01', 10, 'EUR', 'INV-existing-' || n"
            + account,
            tenant_id,
            count,
        )
    elif kind == "deals":
        flow = await _initial_step(conn, tenant_id, "deal")
        await conn.execute(
            "INSERT INTO deals (tenant_id, id, name, account_id, owner_id, currency, next_step,"
            " next_step_due_date, workflow_id, step_id, entered_step_at, rank)"
            " SELECT $1, baton_uuid7(), 'Existing deal ' || n, a.id, $3, 'EUR', 'Call',"
            " current_date, $4, $5, now(), 'e' || lpad(n::text, 9, '0')" + account,
            tenant_id,
            count,
            owner,
            flow["workflow_id"],
            flow["step_id"],
        )


# The baseline per kind: the file's columns as a temporary table, then one
# INSERT … SELECT … ON CONFLICT into the kind's table(s) ($1 tenant, $2 owner,
# $3/$4 the initial step's workflow and step where there is one).
_REFERENCED = (
    " JOIN accounts a ON a.tenant_id = $1 AND a.domain = i.account_domain AND a.deleted_at IS NULL"
)
BASELINES: dict[str, tuple[str, str]] = {
    "targets": (
        "company_name text, contact_name text, email text, phone text, notes text",
        "INSERT INTO targets (tenant_id, id, company_name, contact_name, email, phone,"
        " notes, owner_id, dedupe_key, workflow_id, step_id, entered_step_at)"
        " SELECT $1, baton_uuid7(), company_name, contact_name, lower(email), phone, notes,"
        " $2, 'email:' || lower(email), $3, $4, now() FROM incoming"
        " ON CONFLICT (tenant_id, dedupe_key) WHERE deleted_at IS NULL DO NOTHING",
    ),
    "accounts": (
        "name text, domain text, contact text, email text, phone text",
        "WITH created AS (INSERT INTO accounts (tenant_id, id, name, domain, owner_id)"
        " SELECT $1, baton_uuid7(), name, domain, $2 FROM incoming"
        " ON CONFLICT (tenant_id, domain) WHERE domain IS NOT NULL AND deleted_at IS NULL"
        " DO NOTHING RETURNING id, domain)"
        " INSERT INTO contacts (tenant_id, id, account_id, first_name, last_name, email, phone)"
        " SELECT $1, baton_uuid7(), c.id, split_part(i.contact, ' ', 1),"
        " nullif(substr(i.contact, length(split_part(i.contact, ' ', 1)) + 2), ''),"
        " i.email, i.phone FROM incoming i JOIN created c ON c.domain = i.domain",
    ),
    "contacts": (
        "account text, account_domain text, first_name text, last_name text, email text,"
        " phone text",
        "INSERT INTO contacts (tenant_id, id, account_id, first_name, last_name, email, phone)"
        " SELECT $1, baton_uuid7(), a.id, i.first_name, i.last_name, lower(i.email), i.phone"
        " FROM incoming i" + _REFERENCED + " ON CONFLICT (tenant_id, account_id, email)"
        " WHERE email IS NOT NULL AND deleted_at IS NULL DO NOTHING",
    ),
    "transactions": (
        "account text, account_domain text, occurred_on date, amount numeric,"
        " currency text, reference text",
        "INSERT INTO account_transactions (tenant_id, id, account_id, occurred_on, amount,"
        " currency, reference)"
        " SELECT $1, baton_uuid7(), a.id, i.occurred_on, i.amount, i.currency, i.reference"
        " FROM incoming i" + _REFERENCED + " ON CONFLICT (tenant_id, account_id, reference)"
        " WHERE reference IS NOT NULL DO NOTHING",
    ),
    # Deals have no unique key to conflict on: the same "(account, name) of an open
    # deal" test the import dedupes by, as NOT EXISTS.
    "deals": (
        "name text, account text, account_domain text, amount numeric, currency text,"
        " expected_close_date date, next_step text",
        "INSERT INTO deals (tenant_id, id, name, account_id, owner_id, amount, currency,"
        " expected_close_date, next_step, next_step_due_date, workflow_id, step_id,"
        " entered_step_at, rank)"
        " SELECT $1, baton_uuid7(), i.name, a.id, $2, i.amount, i.currency,"
        " i.expected_close_date, i.next_step, current_date, $3, $4, now(),"
        " 'b' || lpad((row_number() OVER ())::text, 9, '0')"
        " FROM incoming i" + _REFERENCED + " WHERE NOT EXISTS (SELECT 1 FROM deals d"
        " WHERE d.tenant_id = $1 AND d.account_id = a.id AND d.deleted_at IS NULL"
        " AND d.outcome IS NULL AND lower(btrim(d.name)) = lower(btrim(i.name)))",
    ),
}
CSVS: dict[str, Callable[[int, int], bytes]] = {
    "targets": _targets_csv,
    "accounts": _accounts_csv,
    "contacts": _contacts_csv,
    "transactions": _transactions_csv,
    "deals": _deals_csv,
}
_FLOWS = {"targets": "target", "deals": "deal"}


async def _baseline(
    conn: asyncpg.Connection, kind: str, tenant_id: uuid.UUID, content: bytes
) -> tuple[float, int]:
    """COPY + INSERT … SELECT … ON CONFLICT of the same rows (`BASELINES`)."""
    columns, insert = BASELINES[kind]
    args: list[Any] = [
        tenant_id,
        await conn.fetchval("SELECT user_id FROM memberships WHERE tenant_id = $1", tenant_id),
    ]
    if kind in _FLOWS:
        flow = await _initial_step(conn, tenant_id, _FLOWS[kind])
        args += [flow["workflow_id"], flow["step_id"]]
    started = time.perf_counter()
    async with conn.transaction():
        await conn.execute("SELECT set_config('baton.tenant_id', $1::text, true)", str(tenant_id))
        await conn.execute(f"CREATE TEMP TABLE incoming ({columns}) ON COMMIT DROP")
        await conn.copy_to_table("incoming", source=io.BytesIO(content), format="csv", header=True)
        used = max(int(n) for n in re.findall(r"\$(\d+)", insert))
        status = await conn.execute(insert, *args[:used])
    return time.perf_counter() - started, int(status.split()[-1])


async def run(kind: str, rows: int, existing: int) -> dict[str, Any]:
    cluster = await asyncpg.connect(CLUSTER)
    await cluster.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    await cluster.execute(f"CREATE DATABASE {DB}")
    await cluster.close()
    os.environ["BATON_DATABASE_URL"] = OWNER
    os.environ.setdefault("BATON_SECRET_KEY", "bench-secret-key-" + "x" * 32)
    os.environ["BATON_WORKER"] = "off"
    os.environ.setdefault("BATON_API_RATE_PER_MINUTE", "100000")
    os.environ.setdefault("BATON_LOG_LEVEL", "WARNING")
    import httpx
    from sqlalchemy.engine import make_url

    from baton.app import create_app
    from baton.config import get_settings
    from baton.db import migrate
    from baton.db.engine import Database
    from baton.db.urls import app_url
    from baton.jobs.worker import run_worker

    owner_url = make_url(OWNER.replace("postgresql://", "postgresql+asyncpg://"))
    await asyncio.to_thread(migrate.upgrade, owner_url)
    settings = get_settings()
    await migrate.grant_app_role(owner_url, settings.app_db_role, None)
    database = Database(app_url(settings), pool_size=5, max_overflow=5)
    app = create_app(settings, database)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.9", 40000))
    result: dict[str, Any] = {"kind": kind, "rows": rows, "existing": existing}
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            tenants = []
            for name in ("Import", "Baseline"):
                registered = await http.post(
                    "/api/v1/auth/register",
                    json={
                        "organization_name": f"{name} {uuid.uuid4().hex[:6]}",
                        "full_name": "Bench Admin",
                        "email": f"{name.lower()}-{uuid.uuid4().hex[:6]}@bench.example",
                        "password": "bench-password-1234",
                    },
                )
                assert registered.status_code == 201, registered.text
                body = registered.json()
                tenants.append((uuid.UUID(body["tenant"]["id"]), body["access_token"]))
            owner = await asyncpg.connect(OWNER)
            for tenant_id, _ in tenants:
                await _seed_existing(owner, kind, tenant_id, existing)
            await owner.execute("ANALYZE")
            content = CSVS[kind](rows, existing)
            result["file_mb"] = round(len(content) / 1e6, 1)

            baseline_s, baseline_rows = await _baseline(owner, kind, tenants[1][0], content)
            result["baseline_s"] = round(baseline_s, 3)
            result["baseline_inserted"] = baseline_rows

            headers = {"Authorization": f"Bearer {tenants[0][1]}"}
            started = time.perf_counter()
            uploaded = await http.post(
                "/api/v1/imports",
                headers=headers,
                files={"file": ("bench.csv", content, "text/csv")},
                data={"kind": kind},
            )
            result["preview_s"] = round(time.perf_counter() - started, 3)
            assert uploaded.status_code == 201, uploaded.text[:500]
            batch = uploaded.json()
            result["would_create"] = batch["would_create"]
            result["would_skip"] = batch["would_skip"]
            committed = await http.post(
                f"/api/v1/imports/{batch['id']}/commit",
                headers=headers,
                json={"version": batch["version"]},
            )
            assert committed.status_code == 202, committed.text
            started = time.perf_counter()
            await run_worker(settings, database, wait=False, install_signal_handlers=False)
            result["commit_s"] = round(time.perf_counter() - started, 3)
            done = (await http.get(f"/api/v1/imports/{batch['id']}", headers=headers)).json()
            assert done["status"] == "completed", done.get("failure")
            result["created"] = done["created"]
            result["skipped"] = done["skipped"]
            await owner.close()
    finally:
        await database.dispose()
        cluster = await asyncpg.connect(CLUSTER)
        await cluster.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        await cluster.close()
    result["ratio"] = round(result["commit_s"] / result["baseline_s"], 2)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kind", choices=sorted(CSVS), default="targets")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--existing", type=int, default=100_000)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    result = asyncio.run(run(args.kind, args.rows, args.existing))
    checks = {
        "preview": (result["preview_s"], PREVIEW_BUDGET_S, "s"),
        "commit": (result["commit_s"], COMMIT_BUDGET_S, "s"),
        "commit / (COPY+INSERT)": (result["ratio"], RATIO_BUDGET, "x"),
        "peak RSS": (result["peak_rss_mb"], RSS_BUDGET_MB, "MB"),
    }
    print(
        f"import of {result['rows']} {result['kind']} ({result['file_mb']} MB)"
        f" against {result['existing']} existing"
    )
    for name, (value, budget, unit) in checks.items():
        verdict = "met" if value <= budget else "MISSED"
        print(f"  {name:<22} {value:>8} {unit:<2}  budget ≤ {budget} {unit}  {verdict}")
    baseline = result["baseline_s"]
    print(f"  baseline COPY+INSERT   {baseline:>8} s   ({result['baseline_inserted']} rows)")
    print(f"  created {result['created']}, skipped {result['skipped']}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(result, out, indent=2)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
