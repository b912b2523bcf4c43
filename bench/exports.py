"""Exports of every list at 100 000 rows, backup and restore (issue 16 §Performance,
DESIGN §7).

    .venv/bin/python -m bench.exports [--rows 100000] [--rounds 3] [--database-url URL]
        [--entities accounts,contacts,deals,leads,targets,activities,audit]
        [--formats csv,xlsx] [--no-backup] [--baseline SRC] [--database NAME [--keep]]

One organization in a throw-away database on the PostgreSQL at `--database-url`
(default: the local server on 127.0.0.1:5432): 1 000 accounts and `--rows` deals
inserted as the owner with every trigger on (so the audit trail holds a row per deal
and per account: the `audit` export reads the whole trail, ~`--rows` + 1 000
entries), then `--rows` - 1 000 more accounts, `--rows` contacts, leads (the
marketing inbox), targets and planned activities, inserted with triggers off
(`session_replication_role = replica`: only the audit rows and the pool's bookkeeping
are skipped; the search columns are generated). `baton serve --workers 1` runs it as
a separate process; for each entity and format the client streams
`GET /api/v1/exports/{entity}` and measures

- first byte: the request sent → the first byte of the body (headers come with it);
- whole file: → the last byte;
- RSS growth: the server process's peak RSS while streaming (sampled every 10 ms
  from /proc) minus its RSS just before the request, after a warm-up export;
- server CPU: the server process's user + system time for the request.

Baselines of the same rounds (the machine is shared and noisy): the reference
transaction (`bench.reference`, 100 moves per round, p50) and a raw `COPY (SELECT *
FROM <the table> WHERE tenant_id = … ORDER BY id) TO STDOUT (FORMAT csv, HEADER)` of
the entity's table on one owner connection. Each entity's whole-file median is
reported as a ratio to both medians.

`--baseline SRC` also serves the same database from another source tree (`git archive
main | tar -x -C SRC`: the code before a change) as a second `baton serve`; each round
measures every export on both servers, one after the other, so before and after share
the run's load and its reference transaction. `--database NAME` names the scratch
database; with `--keep` it is left for the next run, which reuses its data (same
`--rows`) instead of loading it again (no backup then).

Budgets: first byte ≤ 200 ms, whole file ≤ 3 s, RSS growth ≤ 30 MB.
Then `baton.ops.backup.backup` of the whole database and `restore` into a fresh one:
time and size.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import URL, make_url

from bench.harness import free_port
from bench.reference import ReferenceMover, machine_factor

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-exports-secret-key-" + "x" * 32
PASSWORD = "bench-password-0123456789"
APP_ROLE = "baton_bench_exports_app"


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def tree_rss_kib(pid: int) -> int:
    """The server's RSS (uvicorn runs in the `baton serve` process itself)."""
    return rss_kib(pid)


def cpu_seconds(pid: int) -> float:
    """User + system CPU the process has used (independent of how busy the machine is)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def recreate(cluster: URL, name: str) -> URL:
    conn = await asyncpg.connect(cluster.set(drivername="postgresql").render_as_string(False))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return cluster.set(database=name)


async def drop(cluster: URL, name: str) -> None:
    conn = await asyncpg.connect(cluster.set(drivername="postgresql").render_as_string(False))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def drop_role(cluster: URL, role: str) -> None:
    conn = await asyncpg.connect(cluster.set(drivername="postgresql").render_as_string(False))
    try:
        await conn.execute(f'DROP ROLE IF EXISTS "{role}"')
    finally:
        await conn.close()


def env_for(url: URL, role: str = APP_ROLE) -> dict[str, str]:
    return {
        **os.environ,
        "BATON_DATABASE_URL": url.set(drivername="postgresql").render_as_string(False),
        "BATON_SECRET_KEY": SECRET,
        "BATON_WORKER": "off",
        "BATON_ENV": "prod",
        "BATON_LOG_LEVEL": "WARNING",
        "BATON_API_RATE_PER_MINUTE": "100000",
        # The bench's own app role: the cluster's `baton_app` (the tests') is untouched.
        "BATON_APP_DB_ROLE": role,
    }


def baton(*args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", "baton", *args], env=env, check=True, cwd=ROOT)  # noqa: S603


async def load(url: URL, tenant_id: str, user_id: str, deals: int) -> None:
    """1 000 accounts and `deals` deals at the pipeline's first step, as the owner,
    every trigger on."""
    conn = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(False))
    try:
        async with conn.transaction():
            await conn.execute(
                "SELECT set_config('baton.tenant_id', $1, true),"
                " set_config('baton.user_id', $2, true), set_config('baton.role', 'admin', true)",
                tenant_id,
                user_id,
            )
            await conn.execute(
                "INSERT INTO accounts (tenant_id, id, name, owner_id)"
                " SELECT $1::uuid, gen_random_uuid(), 'Account ' || i, $2::uuid"
                " FROM generate_series(1, 1000) i",
                tenant_id,
                user_id,
            )
            step = await conn.fetchrow(
                "SELECT s.id, s.workflow_id FROM workflow_steps s JOIN workflows w"
                " ON w.tenant_id = s.tenant_id AND w.id = s.workflow_id"
                " WHERE s.tenant_id = $1 AND w.name = 'Sales pipeline' AND w.published"
                " AND s.key = 'prospecting'",
                tenant_id,
            )
            await conn.execute(
                "INSERT INTO deals (tenant_id, id, name, account_id, owner_id, amount, currency,"
                " next_step, next_step_due_date, workflow_id, step_id, entered_step_at, rank)"
                " SELECT $1::uuid, gen_random_uuid(), 'Deal ' || i || ' =cmd', a.id, $2::uuid,"
                " (i % 100000) * 10.5, 'EUR', 'Call back, \"soon\"', current_date + (i % 30),"
                " $3, $4, now(), lpad(i::text, 10, '0')"
                " FROM generate_series(1, $5) i,"
                " LATERAL (SELECT (SELECT array_agg(id ORDER BY id) FROM accounts"
                "   WHERE tenant_id = $1::uuid)[1 + i % 1000] AS id) a",
                tenant_id,
                user_id,
                step["workflow_id"],
                step["id"],
                deals,
            )
        await conn.execute("VACUUM (ANALYZE)")
    finally:
        await conn.close()


# What each export reads (its path) and the table its raw COPY reads.
ENTITIES = {
    "accounts": ("/api/v1/exports/accounts", "accounts"),
    "contacts": ("/api/v1/exports/contacts", "contacts"),
    "deals": ("/api/v1/exports/deals", "deals"),
    "leads": ("/api/v1/exports/leads?view=inbox", "leads"),
    "targets": ("/api/v1/exports/targets", "targets"),
    "activities": ("/api/v1/exports/activities?view=planner", "activities"),
    "audit": ("/api/v1/exports/audit", "audit_log"),
}


async def load_lists(url: URL, tenant_id: str, user_id: str, rows: int) -> None:
    """`rows` - 1 000 more accounts, `rows` contacts, inbox leads, targets and planned
    activities, with triggers off (see the module)."""
    conn = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(False))
    try:
        async with conn.transaction():
            await conn.execute("SET LOCAL session_replication_role = replica")

            async def first_step(entity: str) -> asyncpg.Record:
                return await conn.fetchrow(
                    "SELECT s.id, s.workflow_id FROM workflow_steps s JOIN workflows w"
                    " ON w.tenant_id = s.tenant_id AND w.id = s.workflow_id"
                    " WHERE s.tenant_id = $1 AND w.entity_type = $2 AND w.published"
                    " ORDER BY s.position LIMIT 1",
                    uuid.UUID(tenant_id),
                    entity,
                )

            await conn.execute(
                "INSERT INTO accounts (tenant_id, id, name, domain, industry, owner_id, tags)"
                " SELECT $1::uuid, gen_random_uuid(), 'Company ' || i || ' =x', 'c' || i ||"
                " '.example', 'Retail', $2::uuid, ARRAY['a', 'b']"
                " FROM generate_series(1, $3) i",
                tenant_id,
                user_id,
                rows - 1000,
            )
            await conn.execute(
                "INSERT INTO contacts (tenant_id, id, account_id, first_name, last_name, email,"
                " phone, title)"
                " SELECT $1::uuid, gen_random_uuid(), a.id, 'Grace ' || i, 'Hopper, \"G\"',"
                " 'g' || i || '@example.com', '+49 30 ' || i, 'Admiral'"
                " FROM generate_series(1, $2) i,"
                " LATERAL (SELECT (SELECT array_agg(id ORDER BY id) FROM accounts"
                "   WHERE tenant_id = $1::uuid)[1 + i % 1000] AS id) a",
                tenant_id,
                rows,
            )
            lead = await first_step("lead")
            await conn.execute(
                "INSERT INTO leads (tenant_id, id, company_name, contact_name, email, source,"
                " need, marketing_owner_id, workflow_id, step_id, entered_step_at, view,"
                " dedupe_key)"
                " SELECT $1::uuid, gen_random_uuid(), 'Lead ' || i, 'Ada ' || i,"
                " 'l' || i || '@example.com', 'fair', 'A CRM', $2::uuid, $3, $4, now(),"
                " 'inbox', 'lead-' || i FROM generate_series(1, $5) i",
                tenant_id,
                user_id,
                lead["workflow_id"],
                lead["id"],
                rows,
            )
            target = await first_step("target")
            await conn.execute(
                "INSERT INTO targets (tenant_id, id, company_name, contact_name, email, phone,"
                " owner_id, notes, workflow_id, step_id, entered_step_at, dedupe_key)"
                " SELECT $1::uuid, gen_random_uuid(), 'Target ' || i, 'Lin ' || i,"
                " 't' || i || '@example.com', '+1 555 ' || i, $2::uuid, '@note ' || i, $3,"
                " $4, now(), 'target-' || i FROM generate_series(1, $5) i",
                tenant_id,
                user_id,
                target["workflow_id"],
                target["id"],
                rows,
            )
            await conn.execute(
                "INSERT INTO activities (tenant_id, id, type, status, subject, description,"
                " due_at, owner_id, account_id)"
                " SELECT $1::uuid, gen_random_uuid(), 'call', 'planned', 'Call ' || i,"
                " E'Line one\\nline two', now() + (i || ' minutes')::interval, $2::uuid, a.id"
                " FROM generate_series(1, $3) i,"
                " LATERAL (SELECT (SELECT array_agg(id ORDER BY id) FROM accounts"
                "   WHERE tenant_id = $1::uuid)[1 + i % 1000] AS id) a",
                tenant_id,
                user_id,
                rows,
            )
        await conn.execute("VACUUM (ANALYZE)")
    finally:
        await conn.close()


async def raw_copy(url: URL, tenant_id: str, table: str) -> float:
    """A baseline of the same run: seconds to read the entity's table as a raw
    `COPY (SELECT * …) TO STDOUT (FORMAT csv, HEADER)` on one connection, as the owner."""
    conn = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(False))
    received = 0

    async def sink(chunk: bytes) -> None:
        nonlocal received
        received += len(chunk)

    try:
        began = time.perf_counter()
        await conn.copy_from_query(
            f"SELECT * FROM {table} WHERE tenant_id = $1 ORDER BY id",
            uuid.UUID(tenant_id),
            output=sink,
            format="csv",
            header=True,
        )
        return time.perf_counter() - began
    finally:
        await conn.close()


async def reference_p50(url: URL, moves: int = 100) -> float:
    """The reference transaction's p50 (ms) now (`bench.reference`)."""
    mover = ReferenceMover(
        {
            "host": url.host,
            "port": url.port,
            "user": url.username,
            "database": url.database,
        }
    )
    await mover.open()
    try:
        timings = sorted([await mover.move_once() / 1e6 for _ in range(moves)])
    finally:
        await mover.close()
    return timings[len(timings) // 2]


def median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def measure(base: str, token: str, pid: int, path: str) -> dict[str, float]:
    samples: list[int] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            try:
                samples.append(tree_rss_kib(pid))
            except FileNotFoundError:
                return
            time.sleep(0.01)

    before = tree_rss_kib(pid)
    cpu_before = cpu_seconds(pid)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    size = 0
    first = None
    with httpx.Client(base_url=base, timeout=600) as client:
        started = time.perf_counter()
        with client.stream("GET", path, headers={"Authorization": f"Bearer {token}"}) as answer:
            assert answer.status_code == 200, answer.read()[:300]
            for chunk in answer.iter_raw():
                if first is None and chunk:
                    first = time.perf_counter() - started
                size += len(chunk)
        whole = time.perf_counter() - started
    done.set()
    sampler.join()
    peak = max(samples or [before])
    return {
        "first_byte_ms": (first or whole) * 1000,
        "whole_s": whole,
        "rss_growth_mb": (peak - before) / 1024,
        "size_mb": size / 1e6,
        "server_cpu_s": cpu_seconds(pid) - cpu_before,
    }


def serve(env: dict[str, str], source: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`baton serve --workers 1` from `source`, once it answers `/readyz`."""
    port = free_port()
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "baton", "serve", "--port", str(port), "--workers", "1"],
        env={**env, "PYTHONPATH": str(source)},
        cwd=source,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            if httpx.get(f"{base}/readyz").status_code == 200:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    return server, base


async def loaded(url: URL) -> tuple[str, str] | None:
    """The bench organization's tenant and admin of a kept database, or None."""
    conn = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(False))
    try:
        row = await conn.fetchrow(
            "SELECT m.tenant_id::text, m.user_id::text FROM memberships m"
            " JOIN users u ON u.id = m.user_id WHERE u.email = 'bench@exports.example'"
        )
        return (row[0], row[1]) if row else None
    finally:
        await conn.close()


async def exists(cluster: URL, name: str) -> bool:
    conn = await asyncpg.connect(cluster.set(drivername="postgresql").render_as_string(False))
    try:
        return bool(await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--entities", default=",".join(ENTITIES))
    parser.add_argument("--formats", default="csv,xlsx")
    parser.add_argument("--no-backup", action="store_true", help="skip backup and restore")
    parser.add_argument("--baseline", type=Path, help="a source tree to compare with")
    parser.add_argument("--database", default="baton_bench_exports")
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) the database")
    args = parser.parse_args()
    entities = [entity for entity in args.entities.split(",") if entity]
    formats = [fmt for fmt in args.formats.split(",") if fmt]
    cluster = make_url(args.database_url)
    name = args.database
    reused = args.keep and asyncio.run(exists(cluster, name))
    url = cluster.set(database=name) if reused else asyncio.run(recreate(cluster, name))
    # A database of its own has an app role of its own (another run's end drops its).
    role = APP_ROLE if name == "baton_bench_exports" else f"{name}_app"
    env = env_for(url, role)
    baton("db", "upgrade", env=env)
    servers = {"after": serve(env, ROOT)}
    if args.baseline is not None:
        servers["before"] = serve(env, args.baseline.resolve())
    base = servers["after"][1]
    try:
        found = asyncio.run(loaded(url)) if reused else None
        if found is None:
            registered = httpx.post(
                f"{base}/api/v1/auth/register",
                json={
                    "organization_name": "Export Bench",
                    "full_name": "Bench Admin",
                    "email": "bench@exports.example",
                    "password": PASSWORD,
                },
            ).json()
            token = registered["access_token"]
            tenant_id, user_id = registered["tenant"]["id"], registered["user"]["id"]
            began = time.perf_counter()
            asyncio.run(load(url, tenant_id, user_id, args.rows))
            asyncio.run(load_lists(url, tenant_id, user_id, args.rows))
            print(f"loaded {args.rows} rows of each list in {time.perf_counter() - began:.1f} s")
        else:
            tenant_id, user_id = found
            token = httpx.post(
                f"{base}/api/v1/auth/login",
                json={"email": "bench@exports.example", "password": PASSWORD},
            ).json()["access_token"]
            print(f"reusing the data set in {name}")
        for server, served in servers.values():
            measure(served, token, server.pid, "/api/v1/exports/deals?view=closed")  # warm-up
        results: dict[tuple[str, str, str], list[dict[str, float]]] = {}
        raw: dict[str, list[float]] = {}
        reference: list[float] = []
        for round_ in range(args.rounds):
            reference.append(asyncio.run(reference_p50(url)))
            print(f"round {round_ + 1}: reference transaction p50 {reference[-1]:.2f} ms")
            for entity in entities:
                path, table = ENTITIES[entity]
                for fmt in formats:
                    joiner = "&" if "?" in path else "?"
                    for label, (server, served) in servers.items():
                        figures = measure(served, token, server.pid, f"{path}{joiner}format={fmt}")
                        results.setdefault((entity, fmt, label), []).append(figures)
                        shown = {key: round(value, 3) for key, value in figures.items()}
                        print(f"  {entity} {fmt} {label}", shown, flush=True)
                raw.setdefault(entity, []).append(asyncio.run(raw_copy(url, tenant_id, table)))
                print(f"  {entity} raw COPY {raw[entity][-1]:.3f} s", flush=True)
        reference_ms = median(reference)
        print(
            f"\nreference transaction p50, median of rounds: {reference_ms:.2f} ms"
            f" (machine factor {machine_factor(reference_ms):.2f})"
        )
        print(
            "| list | format | code | first byte | whole file | ÷ raw COPY | ÷ reference tx"
            " | RSS growth (max) | server CPU | size |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|")
        for (entity, fmt, label), rounds in results.items():
            whole = median([r["whole_s"] for r in rounds])
            print(
                f"| {entity} | {fmt} | {label}"
                f" | {median([r['first_byte_ms'] for r in rounds]):.0f} ms"
                f" | {whole:.2f} s | {whole / median(raw[entity]):.2f}x"
                f" | {whole * 1000 / reference_ms:.0f}x"
                f" | {max(r['rss_growth_mb'] for r in rounds):.1f} MB"
                f" | {median([r['server_cpu_s'] for r in rounds]):.2f} s"
                f" | {median([r['size_mb'] for r in rounds]):.1f} MB |"
            )
        if "before" in servers:
            for entity in entities:
                for fmt in formats:
                    before, after = (results[(entity, fmt, label)] for label in ("before", "after"))
                    first = [median([r["first_byte_ms"] for r in x]) for x in (before, after)]
                    wholes = [median([r["whole_s"] for r in x]) for x in (before, after)]
                    print(
                        f"{entity} {fmt}: first byte after/before {first[1] / first[0]:.2f}x,"
                        f" whole file after/before {wholes[1] / wholes[0]:.2f}x"
                    )
        for entity in entities:
            print(f"raw COPY {entity}: median {median(raw[entity]):.2f} s")
    finally:
        for server, _ in servers.values():
            server.terminate()
            server.wait(timeout=30)
    if args.keep:
        return
    if not args.no_backup:
        backup_restore(cluster, url, role)
    asyncio.run(drop(cluster, name))
    asyncio.run(drop_role(cluster, role))


def backup_restore(cluster: URL, url: URL, role: str) -> None:
    from baton.ops import backup as backups

    owner = url.set(drivername="postgresql+asyncpg")
    with tempfile.TemporaryDirectory() as work:
        bundle = Path(work) / "bench.tar"
        began = time.perf_counter()
        manifest = asyncio.run(backups.backup(owner, bundle))
        took = time.perf_counter() - began
        rows = sum(total.rows for total in manifest.tables.values())
        print(
            f"backup: {took:.2f} s, {bundle.stat().st_size / 1e6:.1f} MB,"
            f" {len(manifest.tables)} tables, {rows} rows"
        )
        target = asyncio.run(recreate(cluster, "baton_bench_exports_restore"))
        began = time.perf_counter()
        report = asyncio.run(
            backups.restore(
                bundle,
                target.set(drivername="postgresql+asyncpg"),
                app_role=role,
                app_password=None,
            )
        )
        took = time.perf_counter() - began
        print(f"restore (with verification): {took:.2f} s, verified: {report.ok}")
        asyncio.run(drop(cluster, "baton_bench_exports_restore"))


if __name__ == "__main__":
    main()
