"""Import of 100 000 targets from a ~15 MB CSV against 100 000 existing (issue 16).

    .venv/bin/python -m bench.imports [--rows N] [--existing N] [--json out.json]

Runs against the local PostgreSQL at 127.0.0.1:5432 in a scratch database (dropped
afterwards), in this process: the app over ASGI (httpx), the import job through the
worker as `baton worker` runs it.

- preview: `POST /api/v1/imports` with the file (parse, suggested mapping, every row
  validated, dedupe within the file and against the existing targets, stored);
- commit: the `imports.commit` job for the batch (one transaction, chunked
  multi-row INSERT … SELECT FROM unnest, per-row triggers: workflow history, audit,
  search document), measured from the job's start to its end;
- baseline, same run, same rows, another organization with the same existing
  targets: `COPY` into a temporary table, then one `INSERT … SELECT … ON CONFLICT
  DO NOTHING` into `targets` (the same triggers fire);
- peak RSS of this process (`ru_maxrss`), which holds the app, the parse and the job.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import resource
import sys
import time
import uuid
from typing import Any

import asyncpg

DB = "baton_bench_imports"
CLUSTER = "postgresql://postgres@127.0.0.1:5432/postgres"
OWNER = f"postgresql://postgres@127.0.0.1:5432/{DB}"
PREVIEW_BUDGET_S = 3.0
COMMIT_BUDGET_S = 5.0
RSS_BUDGET_MB = 300
RATIO_BUDGET = 3.0


def _csv(rows: int, existing: int) -> bytes:
    """`rows` targets; every tenth matches an existing one by email (skipped)."""
    out = io.StringIO()
    out.write("Company Name,Contact,E-mail,Phone,Notes\n")
    for n in range(rows):
        email = (
            f"existing{n}@bench.example"
            if n % 10 == 0 and n < existing
            else f"new{n}@bench.example"
        )
        out.write(
            f"Company {n} Logistics GmbH,Contact Person {n},{email},+49 30 {1000000 + n},"
            f'"Met at the trade fair, hall {n % 12}; asked for a call back about pricing"\n'
        )
    return out.getvalue().encode()


async def _seed_existing(conn: asyncpg.Connection, tenant_id: uuid.UUID, count: int) -> None:
    flow = await conn.fetchrow(
        "SELECT w.id AS workflow_id, s.id AS step_id FROM project_types p"
        " JOIN workflows w ON w.id = p.default_workflow_id AND w.tenant_id = p.tenant_id"
        " JOIN workflow_steps s ON s.workflow_id = w.id AND s.tenant_id = w.tenant_id"
        " AND s.is_initial WHERE p.tenant_id = $1 AND p.entity_type = 'target'",
        tenant_id,
    )
    owner = await conn.fetchval("SELECT user_id FROM memberships WHERE tenant_id = $1", tenant_id)
    await conn.execute("SELECT set_config('baton.tenant_id', $1::text, false)", str(tenant_id))
    await conn.execute(
        "INSERT INTO targets (tenant_id, id, company_name, email, owner_id, dedupe_key,"
        " workflow_id, step_id, entered_step_at)"
        " SELECT $1, baton_uuid7(), 'Existing ' || n, 'existing' || n || '@bench.example', $2,"
        " 'email:existing' || n || '@bench.example', $3, $4, now()"
        " FROM generate_series(0, $5 - 1) n",
        tenant_id,
        owner,
        flow["workflow_id"],
        flow["step_id"],
        count,
    )
    return None


async def _baseline(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, content: bytes
) -> tuple[float, int]:
    """COPY + INSERT … SELECT … ON CONFLICT DO NOTHING of the same rows."""
    flow = await conn.fetchrow(
        "SELECT w.id AS workflow_id, s.id AS step_id FROM project_types p"
        " JOIN workflows w ON w.id = p.default_workflow_id AND w.tenant_id = p.tenant_id"
        " JOIN workflow_steps s ON s.workflow_id = w.id AND s.tenant_id = w.tenant_id"
        " AND s.is_initial WHERE p.tenant_id = $1 AND p.entity_type = 'target'",
        tenant_id,
    )
    owner = await conn.fetchval("SELECT user_id FROM memberships WHERE tenant_id = $1", tenant_id)
    started = time.perf_counter()
    async with conn.transaction():
        await conn.execute("SELECT set_config('baton.tenant_id', $1::text, true)", str(tenant_id))
        await conn.execute(
            "CREATE TEMP TABLE incoming (company_name text, contact_name text, email text,"
            " phone text, notes text) ON COMMIT DROP"
        )
        await conn.copy_to_table("incoming", source=io.BytesIO(content), format="csv", header=True)
        status = await conn.execute(
            "INSERT INTO targets (tenant_id, id, company_name, contact_name, email, phone,"
            " notes, owner_id, dedupe_key, workflow_id, step_id, entered_step_at)"
            " SELECT $1, baton_uuid7(), company_name, contact_name, lower(email), phone, notes,"
            " $2, 'email:' || lower(email), $3, $4, now() FROM incoming"
            " ON CONFLICT (tenant_id, dedupe_key) WHERE deleted_at IS NULL DO NOTHING",
            tenant_id,
            owner,
            flow["workflow_id"],
            flow["step_id"],
        )
    return time.perf_counter() - started, int(status.split()[-1])


async def run(rows: int, existing: int) -> dict[str, Any]:
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
    result: dict[str, Any] = {"rows": rows, "existing": existing}
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
                await _seed_existing(owner, tenant_id, existing)
            await owner.execute("ANALYZE targets")
            content = _csv(rows, existing)
            result["file_mb"] = round(len(content) / 1e6, 1)

            baseline_s, baseline_rows = await _baseline(owner, tenants[1][0], content)
            result["baseline_s"] = round(baseline_s, 3)
            result["baseline_inserted"] = baseline_rows

            headers = {"Authorization": f"Bearer {tenants[0][1]}"}
            started = time.perf_counter()
            uploaded = await http.post(
                "/api/v1/imports",
                headers=headers,
                files={"file": ("bench.csv", content, "text/csv")},
                data={"kind": "targets"},
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
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--existing", type=int, default=100_000)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    result = asyncio.run(run(args.rows, args.existing))
    checks = {
        "preview": (result["preview_s"], PREVIEW_BUDGET_S, "s"),
        "commit": (result["commit_s"], COMMIT_BUDGET_S, "s"),
        "commit / (COPY+INSERT)": (result["ratio"], RATIO_BUDGET, "x"),
        "peak RSS": (result["peak_rss_mb"], RSS_BUDGET_MB, "MB"),
    }
    print(
        f"import of {result['rows']} targets ({result['file_mb']} MB) against {result['existing']}"
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
