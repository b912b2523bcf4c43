"""Lists and reports read from a real streaming replica (`BATON_DATABASE_REPLICA_URL`),
with the tenant's RLS there too; writes and detail reads stay on the primary.

The replica is made by the test: `pg_basebackup -R` of the suite's cluster into a temp
dir, started with `pg_ctl` on a free port. The cluster must accept replication
connections from 127.0.0.1 (a `host replication all 127.0.0.1/32 trust` line in
pg_hba.conf); the test is skipped, saying so, where it does not, and on the embedded
server (a socket of its own; the suite's run against a server on TCP covers it).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL

from baton.app import create_app
from baton.config import Settings
from baton.db.engine import Database
from baton.db.urls import app_url, libpq_dsn, replica_app_url
from tests.conftest import make_settings, random_address
from tests.factories import Member, register_tenant, unique

PG_BIN = Path("/usr/lib/postgresql/15/bin")
# A hot standby needs these at least as high as on its primary.
PRIMARY_SETTINGS = (
    "max_connections",
    "max_worker_processes",
    "max_wal_senders",
    "max_prepared_transactions",
    "max_locks_per_transaction",
)
REPLAY_TIMEOUT_SECONDS = 60.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _as_server_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run it as `postgres`."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - PostgreSQL's own tools, fixed arguments
        _as_server_user(command), capture_output=True, text=True, timeout=300, check=False
    )


async def _primary_settings(url: URL) -> dict[str, str]:
    conn = await asyncpg.connect(libpq_dsn(url))
    try:
        return {name: await conn.fetchval(f"SHOW {name}") for name in PRIMARY_SETTINGS}
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def replica(owner_url: URL) -> Iterator[URL]:
    """A streaming replica of the suite's cluster; its owner URL for the test database."""
    if not (PG_BIN / "pg_ctl").exists() or shutil.which("pg_basebackup") is None:
        pytest.skip(f"PostgreSQL 15's server tools are not under {PG_BIN}")
    if not owner_url.host:
        # The embedded server listens on a socket of its own user's: copying it is a
        # different exercise; the run against a server on TCP covers this.
        pytest.skip("the replica test needs the cluster on TCP (BATON_TEST_DATABASE_URL)")
    root = Path(tempfile.mkdtemp(prefix="baton-replica-"))
    root.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data = root / "data"
    port = _free_port()
    host = owner_url.host
    backup = _run(
        [
            "pg_basebackup",
            "-h",
            host,
            "-p",
            str(owner_url.port or 5432),
            "-U",
            owner_url.username or "postgres",
            "-D",
            str(data),
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
        ]
    )
    if backup.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        if "pg_hba.conf" in backup.stderr or "replication connection" in backup.stderr:
            pytest.skip(f"the cluster refuses replication from {host}: {backup.stderr.strip()}")
        raise AssertionError(f"pg_basebackup failed: {backup.stderr}")
    primary = asyncio.run(_primary_settings(owner_url))
    # Debian keeps the configuration outside the data directory: the replica's own.
    config = [
        f"port = {port}",
        "listen_addresses = '127.0.0.1'",
        f"unix_socket_directories = '{root}'",
        "hot_standby = on",
        "shared_buffers = '32MB'",
        "fsync = off",
        *(f"{name} = {value}" for name, value in primary.items()),
    ]
    for name, content in (
        ("postgresql.conf", "\n".join(config) + "\n"),
        ("pg_hba.conf", "local all all trust\nhost all all 127.0.0.1/32 trust\n"),
        ("pg_ident.conf", ""),
    ):
        (data / name).write_text(content)
        if os.geteuid() == 0:
            shutil.chown(data / name, "postgres", "postgres")
    log = root / "replica.log"
    started = _run(
        [str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "120", "start"]
    )
    try:
        assert started.returncode == 0, f"{started.stderr}\n{log.read_text()}"
        yield owner_url.set(host="127.0.0.1", port=port)
    finally:
        _run([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
async def replica_conn(replica: URL) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(libpq_dsn(replica))
    yield conn
    await conn.close()


@pytest.fixture
async def replicated_client(
    settings: Settings, replica: URL
) -> AsyncIterator[tuple[httpx.AsyncClient, Database]]:
    with_replica = make_settings(
        settings, database_replica_url=replica.render_as_string(hide_password=False)
    )
    replica_url = replica_app_url(with_replica)
    assert replica_url is not None
    db = Database(app_url(with_replica), pool_size=2, max_overflow=2, replica_url=replica_url)
    transport = httpx.ASGITransport(
        app=create_app(with_replica, db), client=(random_address(), 40000)
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client, db
    await db.dispose()


async def _replayed(primary: asyncpg.Connection, replica: asyncpg.Connection) -> None:
    """Wait until the replica has replayed everything the primary wrote so far."""
    target = await primary.fetchval("SELECT pg_current_wal_lsn()")
    deadline = time.monotonic() + REPLAY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if await replica.fetchval("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", target):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the replica did not catch up")


async def _account(client: httpx.AsyncClient, member: Member) -> dict[str, Any]:
    created = await client.post(
        "/api/v1/accounts", headers=member.headers, json={"name": unique("Replicated")}
    )
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


async def _listed(client: httpx.AsyncClient, member: Member) -> set[str]:
    listed = await client.get("/api/v1/accounts?limit=200", headers=member.headers)
    assert listed.status_code == 200, listed.text
    return {item["id"] for item in listed.json()["items"]}


async def test_lists_read_the_replica_in_the_tenant_and_writes_stay_on_the_primary(
    replicated_client: tuple[httpx.AsyncClient, Database],
    owner_conn: asyncpg.Connection,
    replica_conn: asyncpg.Connection,
) -> None:
    client, db = replicated_client
    assert await replica_conn.fetchval("SELECT pg_is_in_recovery()")
    ada, bob = await register_tenant(client), await register_tenant(client)
    # Writes go to the primary (a replica would refuse them).
    first = await _account(client, ada)
    others = await _account(client, bob)
    await _replayed(owner_conn, replica_conn)

    # The list comes through the replica, each tenant seeing only its own rows there.
    assert first["id"] in await _listed(client, ada)
    assert others["id"] not in await _listed(client, ada)
    assert others["id"] in await _listed(client, bob)
    report = await client.get("/api/v1/reports/pipeline", headers=ada.headers)
    assert report.status_code == 200, report.text
    assert db.replica_engine is not None
    assert db.replica_engine.pool.checkedin() > 0  # type: ignore[attr-defined]

    # With replay paused, a new account is written (primary) and read back by its id
    # (a detail read: primary), but the list (replica) does not show it yet.
    await replica_conn.execute("SELECT pg_wal_replay_pause()")
    try:
        second = await _account(client, ada)
        detail = await client.get(f"/api/v1/accounts/{second['id']}", headers=ada.headers)
        assert detail.status_code == 200
        assert second["id"] not in await _listed(client, ada)
    finally:
        await replica_conn.execute("SELECT pg_wal_replay_resume()")
    await _replayed(owner_conn, replica_conn)
    assert second["id"] in await _listed(client, ada)


async def test_a_replica_transaction_is_read_only(
    replicated_client: tuple[httpx.AsyncClient, Database],
) -> None:
    _, db = replicated_client
    assert db.replica_sessions is not None
    async with db.replica_sessions() as session:
        assert (await session.scalar(text("SHOW transaction_read_only"))) == "on"


async def test_a_replica_that_is_down_sends_its_reads_to_the_primary(settings: Settings) -> None:
    # Nothing listens on this port: every connection to the "replica" is refused.
    down = make_settings(
        settings, database_replica_url=f"postgresql://postgres@127.0.0.1:{_free_port()}/x"
    )
    replica_url = replica_app_url(down)
    assert replica_url is not None
    db = Database(app_url(down), pool_size=2, max_overflow=2, replica_url=replica_url)
    transport = httpx.ASGITransport(app=create_app(down, db), client=(random_address(), 40000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            ada = await register_tenant(client)
            account = await _account(client, ada)
            assert db.replica_available()
            assert account["id"] in await _listed(client, ada)
            # Marked down after the refusal: the next reads do not try it again.
            assert not db.replica_available()
            assert account["id"] in await _listed(client, ada)
            report = await client.get("/api/v1/reports/pipeline", headers=ada.headers)
            assert report.status_code == 200
    finally:
        await db.dispose()
