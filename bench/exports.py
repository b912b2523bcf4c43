"""Exports, backup and restore of 100 000 deals (issue 16 §Performance, DESIGN §7).

    .venv/bin/python -m bench.exports [--deals 100000] [--rounds 3] [--database-url URL]
        [--no-backup] [--no-xlsx]

One organization with 1 000 accounts and `--deals` deals (inserted as the owner at the
pipeline's first step, every trigger on: audit rows included) in a throw-away
database on the PostgreSQL at `--database-url` (default: the local server on
127.0.0.1:5432). `baton serve` runs it as a separate process; the client streams
`GET /api/v1/exports/deals` and measures

- first byte: the request sent → the first byte of the body (headers come with it);
- whole file: → the last byte;
- RSS growth: the server process's peak RSS while streaming (sampled every 10 ms
  from /proc) minus its RSS just before the request, after a warm-up export;
- the baseline of each round: a raw `COPY (SELECT * FROM deals …) TO STDOUT (FORMAT
  csv, HEADER)` of the same deals on one owner connection (`raw_copy`); the CSV's
  whole-file time is reported as a ratio to it (medians).

Budgets: first byte ≤ 200 ms, whole file ≤ 3 s, RSS growth ≤ 30 MB (CSV); the XLSX
figures are reported (its first byte leaves once the workbook is zipped).
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


async def drop_role(cluster: URL) -> None:
    conn = await asyncpg.connect(cluster.set(drivername="postgresql").render_as_string(False))
    try:
        await conn.execute(f'DROP ROLE IF EXISTS "{APP_ROLE}"')
    finally:
        await conn.close()


def env_for(url: URL) -> dict[str, str]:
    return {
        **os.environ,
        "BATON_DATABASE_URL": url.set(drivername="postgresql").render_as_string(False),
        "BATON_SECRET_KEY": SECRET,
        "BATON_WORKER": "off",
        "BATON_ENV": "prod",
        "BATON_LOG_LEVEL": "WARNING",
        "BATON_API_RATE_PER_MINUTE": "100000",
        # The bench's own app role: the cluster's `baton_app` (the tests') is untouched.
        "BATON_APP_DB_ROLE": APP_ROLE,
    }


def baton(*args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", "baton", *args], env=env, check=True, cwd=ROOT)  # noqa: S603


async def load(url: URL, tenant_id: str, user_id: str, deals: int) -> None:
    """1 000 accounts and `deals` deals at the pipeline's first step, as the owner."""
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


async def raw_copy(url: URL, tenant_id: str) -> float:
    """The baseline of the same run: seconds to read the same deals as a raw
    `COPY (SELECT * …) TO STDOUT (FORMAT csv, HEADER)` on one connection, as the owner."""
    conn = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(False))
    received = 0

    async def sink(chunk: bytes) -> None:
        nonlocal received
        received += len(chunk)

    try:
        began = time.perf_counter()
        await conn.copy_from_query(
            "SELECT * FROM deals WHERE tenant_id = $1 AND deleted_at IS NULL ORDER BY id",
            uuid.UUID(tenant_id),
            output=sink,
            format="csv",
            header=True,
        )
        return time.perf_counter() - began
    finally:
        await conn.close()


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--no-backup", action="store_true", help="skip backup and restore")
    parser.add_argument("--no-xlsx", action="store_true", help="skip the XLSX round")
    args = parser.parse_args()
    cluster = make_url(args.database_url)
    name = "baton_bench_exports"
    url = asyncio.run(recreate(cluster, name))
    env = env_for(url)
    baton("db", "upgrade", env=env)
    port = free_port()
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "baton", "serve", "--port", str(port), "--workers", "1"],
        env=env,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
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
        began = time.perf_counter()
        asyncio.run(load(url, registered["tenant"]["id"], registered["user"]["id"], args.deals))
        print(f"loaded {args.deals} deals in {time.perf_counter() - began:.1f} s")
        measure(base, token, server.pid, "/api/v1/exports/deals?view=closed")  # warm-up
        results: dict[str, list[dict[str, float]]] = {"csv": [], "xlsx": []}
        raw: list[float] = []
        for round_ in range(args.rounds):
            # XLSX is slow and its figures vary little: one round.
            for fmt in ("csv", "xlsx") if round_ == 0 and not args.no_xlsx else ("csv",):
                figures = measure(base, token, server.pid, f"/api/v1/exports/deals?format={fmt}")
                results[fmt].append(figures)
                print(fmt, {key: round(value, 3) for key, value in figures.items()}, flush=True)
            raw.append(asyncio.run(raw_copy(url, registered["tenant"]["id"])))
            print(f"raw COPY {raw[-1]:.3f} s", flush=True)
        raw_median = sorted(raw)[len(raw) // 2]
        csv_median = sorted(r["whole_s"] for r in results["csv"])[len(results["csv"]) // 2]
        print(
            f"raw COPY median {raw_median:.2f} s; CSV export whole / raw COPY (medians)"
            f" {csv_median / raw_median:.2f}x"
        )
        for fmt, rounds in results.items():
            if not rounds:
                continue
            best = sorted(rounds, key=lambda r: r["whole_s"])[len(rounds) // 2]
            print(
                f"{fmt} median round: first byte {best['first_byte_ms']:.0f} ms,"
                f" whole {best['whole_s']:.2f} s, RSS growth (max of rounds)"
                f" {max(r['rss_growth_mb'] for r in rounds):.1f} MB, {best['size_mb']:.1f} MB,"
                f" server CPU {best['server_cpu_s']:.2f} s"
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
    if not args.no_backup:
        backup_restore(cluster, url)
    asyncio.run(drop(cluster, name))
    asyncio.run(drop_role(cluster))


def backup_restore(cluster: URL, url: URL) -> None:
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
                app_role=APP_ROLE,
                app_password=None,
            )
        )
        took = time.perf_counter() - began
        print(f"restore (with verification): {took:.2f} s, verified: {report.ok}")
        asyncio.run(drop(cluster, "baton_bench_exports_restore"))


if __name__ == "__main__":
    main()
