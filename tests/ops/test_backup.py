"""The backup → restore drill (DESIGN §8): a backup restored into a fresh database has
every table's rows (counts and checksums equal), a working app role, and a clean
doctor; a non-empty database is refused unless forced; junk is refused."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import URL
from typer.testing import CliRunner

from baton.cli import app as cli
from baton.config import Settings
from baton.db.urls import libpq_dsn
from baton.ops import backup as backups
from baton.ops.doctor import run_doctor
from tests.accounts.support import create_account, insert_deal
from tests.conftest import direct_app_url
from tests.database import cluster_url, drop_database, recreate_database, worker_database_name
from tests.factories import register_tenant

runner = CliRunner()


@pytest.fixture
async def fresh_database() -> Any:
    cluster = cluster_url()
    name = worker_database_name("_restore")
    url = await recreate_database(cluster, name)
    yield url
    await drop_database(cluster, name)


async def _sums(url: URL) -> dict[str, backups.TableSum]:
    conn = await asyncpg.connect(libpq_dsn(url))
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            return await backups.table_sums(conn)
    finally:
        await conn.close()


def _invoke(*args: str) -> Any:
    return runner.invoke(cli, list(args))


async def test_the_drill_backup_restore_verify_doctor(
    client: httpx.AsyncClient,
    owner_conn: asyncpg.Connection,
    owner_url: URL,
    settings: Settings,
    fresh_database: URL,
    tmp_path: Path,
) -> None:
    admin = await register_tenant(client)
    account = await create_account(client, admin, name="Ölwerke AG")
    for _ in range(3):
        await insert_deal(owner_conn, admin, account["id"])
    bundle = tmp_path / "nightly.tar"

    made = await asyncio.to_thread(_invoke, "backup", "--output", str(bundle))
    assert made.exit_code == 0, made.output
    assert f"backup written to {bundle}" in made.stdout
    manifest = backups.read_manifest(bundle)
    assert manifest.tables["deals"].rows >= 3
    assert manifest.tables["audit_log"].rows > 0
    assert manifest.migration_head is not None
    source = await _sums(owner_url)
    assert source["accounts"] == manifest.tables["accounts"]

    url = fresh_database.render_as_string(hide_password=False)
    restored = await asyncio.to_thread(_invoke, "restore", str(bundle), "--database-url", url)
    assert restored.exit_code == 0, restored.output
    assert "every table's row count and checksum matches" in restored.stdout
    assert await _sums(fresh_database) == manifest.tables

    # The app role reads the restored data under RLS: its grants were recreated.
    app_conn = await asyncpg.connect(libpq_dsn(direct_app_url(settings, fresh_database)))
    try:
        async with app_conn.transaction():
            await app_conn.execute(
                "SELECT set_config('baton.tenant_id', $1, true)", str(admin.tenant_id)
            )
            names = await app_conn.fetch("SELECT name FROM accounts")
            deals = await app_conn.fetchval("SELECT count(*) FROM deals")
    finally:
        await app_conn.close()
    assert [row["name"] for row in names] == ["Ölwerke AG"]
    assert deals == 3

    # The doctor finds on the copy exactly what it finds on the original (other tests
    # of this worker may leave findings of their own), and nothing in this tenant.
    copy_report = await run_doctor(fresh_database)
    original = await run_doctor(owner_url)
    assert [(f.check.name, f.count) for f in copy_report.findings] == [
        (f.check.name, f.count) for f in original.findings
    ]
    assert (await run_doctor(fresh_database, tenant=admin.tenant_slug)).ok

    # A second restore into the now full database is refused, unless forced.
    refused = await asyncio.to_thread(_invoke, "restore", str(bundle), "--database-url", url)
    assert refused.exit_code == 1
    assert "--force" in refused.stderr
    forced = await asyncio.to_thread(
        _invoke, "restore", str(bundle), "--database-url", url, "--force"
    )
    assert forced.exit_code == 0, forced.output
    assert await _sums(fresh_database) == manifest.tables


async def test_a_restore_that_differs_from_its_manifest_says_which_tables(
    owner_url: URL, fresh_database: URL, tmp_path: Path, settings: Settings
) -> None:
    """The verification can fail: a manifest edited after the fact no longer matches."""
    bundle = tmp_path / "b.tar"
    await backups.backup(owner_url, bundle)
    manifest = backups.read_manifest(bundle)
    manifest.tables["tenants"] = backups.TableSum(manifest.tables["tenants"].rows + 1, "0")
    report = await backups.restore(
        bundle, fresh_database, app_role=settings.app_db_role, app_password=None
    )
    assert report.ok
    assert list(await backups.compare(fresh_database, manifest)) == ["tenants"]


def test_junk_is_not_a_backup(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"\x00not a tar at all" * 100)
    result = _invoke("restore", str(junk), "--database-url", "postgresql://x@127.0.0.1:1/none")
    assert result.exit_code == 1
    assert "not a Baton backup" in result.stderr


def test_tools_match_the_server_major() -> None:
    tool = backups.pg_tool("pg_dump", 15)
    assert backups._major_of(tool) is not None
    assert backups._major_of(tool) >= 15  # type: ignore[operator]
    with pytest.raises(backups.BackupError):
        backups.pg_tool("pg_dump", 99)
