"""The whole-organization export job: one CSV per table in a ZIP, with a manifest.

`exports.tenant` runs for the organization of the admin who asked
(`service.request_tenant_export`), under that admin's role, so RLS shows it exactly
the organization's rows. For each table of business data it streams the rows
(server-side cursor, `ROWS_PER_FETCH` at a time) into a CSV member of a ZIP on disk,
counting the rows and hashing the CSV's bytes; `manifest.json` lists every table with
its row count and SHA-256. Progress (tables and rows done) is written to the
`exports` row in short transactions of its own as each table finishes, so
`GET /api/v1/exports/{id}` shows it while the job runs. The finished ZIP is stored in
the row. Run again (a retry, a killed worker), it starts over and writes the same
kind of file: idempotent. A failure marks the row `failed` with the reason.

What is left out: credentials (`access_tokens`, `api_keys`: hashes of secrets), the
board's derived totals, and columns the database computes (search documents, keys)
or that only say which organization a row belongs to (`tenant_id`). The CSVs are
written like list exports (`formats`): UTF-8 with BOM, ISO 8601 UTC times, formula-like
text prefixed with `'`; JSON columns as JSON.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import uuid
import zipfile
from datetime import UTC, datetime
from typing import Any

import orjson
from procrastinate import RetryStrategy
from sqlalchemy import Table, select, update

from baton import __version__
from baton.core.context import Ctx
from baton.db.base import Base
from baton.exports.formats import CsvWriter
from baton.exports.models import ExportStatus, TenantExport
from baton.identity.models import Membership, User
from baton.jobs.runtime import describe_error, tenant_task

ROWS_PER_FETCH = 2000
# Credentials, and bookkeeping the triggers rebuild from the exported rows.
LEFT_OUT_TABLES = frozenset(
    {
        "access_tokens",
        "api_keys",
        "pipeline_column_totals",
        "open_deal_totals",
        "workflow_move_days",
        "step_duration_days",
        "activity_days",
    }
)
LEFT_OUT_COLUMNS = frozenset({"tenant_id", "search_doc", "phone_tail"})
_EXPORTS: Table = TenantExport.__table__  # type: ignore[assignment]


def exported_tables() -> list[Table]:
    import baton.models  # noqa: F401 (every table registered)

    return [
        table
        for table in Base.metadata.sorted_tables
        if table.info.get("tenancy") == "tenant" and table.name not in LEFT_OUT_TABLES
    ]


def _columns(table: Table) -> list[Any]:
    return [
        column
        for column in table.columns
        if column.name not in LEFT_OUT_COLUMNS and column.computed is None
    ]


def _plain(value: Any) -> Any:
    if isinstance(value, dict | list):
        return orjson.dumps(value, default=str).decode()
    return value


async def _progress(ctx: Ctx, export_id: uuid.UUID, **values: Any) -> None:
    """Write the export's progress in a transaction of its own (seen at once)."""
    async with ctx.db.session_scope(
        tenant_id=ctx.tenant_id, role="admin", request_id=ctx.request_id
    ) as session:
        await session.execute(
            update(_EXPORTS)
            .where(_EXPORTS.c.id == export_id)
            .values(updated_at=datetime.now(UTC), **values)
        )


async def _write_table(
    ctx: Ctx, archive: zipfile.ZipFile, name: str, query: Any, headers: list[str]
) -> dict[str, Any]:
    digest = hashlib.sha256()
    rows = 0
    writer = CsvWriter()
    with archive.open(f"{name}.csv", "w", force_zip64=True) as member:

        def put(chunk: bytes) -> None:
            digest.update(chunk)
            member.write(chunk)

        put(writer.header(headers))
        stream = await ctx.session.stream(query.execution_options(yield_per=ROWS_PER_FETCH))
        async for partition in stream.partitions():
            put(writer.rows([_plain(value) for value in row] for row in partition))
            rows += len(partition)
    return {"table": name, "rows": rows, "sha256": digest.hexdigest()}


@tenant_task(name="exports.tenant", retry=RetryStrategy(max_attempts=3, exponential_wait=4))
async def export_tenant(ctx: Ctx, *, export_id: str) -> None:
    """Build the organization's ZIP for export `export_id` (see the module)."""
    wanted = uuid.UUID(export_id)
    status = await ctx.session.scalar(select(_EXPORTS.c.status).where(_EXPORTS.c.id == wanted))
    if status is None or status == ExportStatus.COMPLETED.value:
        return
    tables = exported_tables()
    await _progress(
        ctx,
        wanted,
        status=ExportStatus.RUNNING.value,
        started_at=datetime.now(UTC),
        tables_total=len(tables) + 1,
        tables_done=0,
        rows_done=0,
        failure=None,
    )
    handle, path = tempfile.mkstemp(prefix="baton-tenant-export-", suffix=".zip")
    os.close(handle)
    try:
        manifest: list[dict[str, Any]] = []
        rows_done = 0
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            members = select(User.id, User.email, User.full_name, Membership.role).join(
                Membership, Membership.user_id == User.id
            )
            entry = await _write_table(
                ctx, archive, "members", members.order_by(User.id), ["id", "email", "name", "role"]
            )
            manifest.append(entry)
            rows_done += entry["rows"]
            await _progress(ctx, wanted, tables_done=1, rows_done=rows_done)
            for done, table in enumerate(tables, start=2):
                columns = _columns(table)
                query = select(*columns).order_by(*table.primary_key.columns)
                entry = await _write_table(
                    ctx, archive, table.name, query, [column.name for column in columns]
                )
                manifest.append(entry)
                rows_done += entry["rows"]
                await _progress(ctx, wanted, tables_done=done, rows_done=rows_done)
            archive.writestr(
                "manifest.json",
                json.dumps(
                    {
                        "app_version": __version__,
                        "organization": str(ctx.tenant_id),
                        "exported_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                        "tables": manifest,
                    },
                    indent=2,
                ),
            )
        with open(path, "rb") as finished:  # noqa: ASYNC230 (a local temporary file)
            data = finished.read()
    except Exception as error:
        await _progress(
            ctx, wanted, status=ExportStatus.FAILED.value, failure=describe_error(error)
        )
        raise
    finally:
        os.unlink(path)
    await ctx.session.execute(
        update(_EXPORTS)
        .where(_EXPORTS.c.id == wanted)
        .values(
            status=ExportStatus.COMPLETED.value,
            archive=data,
            size_bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            manifest=manifest,
            completed_at=datetime.now(UTC),
            updated_at=datetime.now(UTC),
            version=_EXPORTS.c.version + 1,
            failure=None,
        )
    )
