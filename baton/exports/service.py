"""Exports: a list as a file, sent as it is read.

`open_export` is what the API (and the web's Export buttons, which link to it) call:
it reads the first chunk before anything is sent, so a refusal — a role that may not
read the list (403), a bad filter (422) — is an ordinary error answer; the rest is
passed on chunk by chunk while the response goes out.
Every list is exported from its own statement (`statements`) as PostgreSQL's
`COPY` of it — CSV cells, or worksheet rows that `formats.XlsxStream` zips — its
chunks passed on as they arrive. Each export is an `export` security
event in the audit log (who, which list, which filters, which format).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from baton.audit.models import SecurityEvent
from baton.audit.service import record_security_event
from baton.core.context import Ctx
from baton.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from baton.db.driver import DriverStatement
from baton.exports import statements
from baton.exports.filters import ExportEntity, ExportFilters
from baton.exports.formats import BOM, MEDIA_TYPES, ExportFormat, XlsxStream
from baton.exports.models import ExportStatus, TenantExport
from baton.identity.access import require_role
from baton.identity.models import Role
from baton.jobs.defer import defer


@dataclass(frozen=True)
class Export:
    filename: str
    media_type: str
    body: AsyncIterator[bytes]


def filename_of(entity: ExportEntity, filters: ExportFilters, fmt: ExportFormat) -> str:
    """`baton-deals-2026-12-07.csv`; a lead export names its queue."""
    name = entity.value
    if entity is ExportEntity.LEADS and filters.lead_view is not None:
        name = f"leads-{filters.lead_view.value}"
    return f"baton-{name}-{datetime.now(UTC).date().isoformat()}.{fmt.value}"


async def open_export(
    ctx: Ctx, entity: ExportEntity, filters: ExportFilters, fmt: ExportFormat
) -> Export:
    """The list `entity` with `filters`, as the caller may read it, as a file.

    Any member exports what the list shows them (each list's own role rules: the lead
    queues by role, the organization's audit trail admins only). Leads need their
    `view`. The file is PostgreSQL's `COPY` of the list's own statement
    (`statements`); its first chunk is read here, so a failure to start is an error
    answer, and the body passes on the rest as it arrives."""
    principal = ctx.require_principal()
    if entity is ExportEntity.LEADS and filters.lead_view is None:
        raise ValidationFailed(errors=[FieldError("view", "is required: which lead queue")])
    chosen = await statements.STATEMENTS[entity](ctx, filters)
    if fmt is ExportFormat.CSV:
        body = await _started(_csv(ctx, chosen))
    else:
        body = await _started(_xlsx(ctx, entity, chosen))
    await record_security_event(
        ctx,
        SecurityEvent.EXPORTED,
        details={
            "entity": entity.value,
            "format": fmt.value,
            "filters": _filters_of(filters),
            "by": principal.email,
        },
        # Written on its own once the request ends: a download's transaction only
        # reads (it is never committed), and one cut short still happened.
        survive_rollback=True,
    )
    return Export(filename_of(entity, filters, fmt), MEDIA_TYPES[fmt], body)


def _filters_of(filters: ExportFilters) -> dict[str, Any]:
    defaults = ExportFilters()
    return {
        name: str(value)
        for name, value in dataclasses.asdict(filters).items()
        if value != getattr(defaults, name)
    }


async def _csv(ctx: Ctx, chosen: statements.ExportStatement) -> AsyncGenerator[bytes]:
    """The BOM, then `COPY (the rows as CSV cells) TO STDOUT (FORMAT csv, HEADER)`."""
    yield BOM
    # Closed with this body (a client that left): the COPY runs out before the
    # transaction ends, not when the garbage collector gets to it.
    copied = _copied(ctx, chosen, chosen.csv(), format="csv", header=True)
    async with contextlib.aclosing(copied) as rows:
        async for chunk in rows:
            yield chunk


async def _xlsx(
    ctx: Ctx, entity: ExportEntity, chosen: statements.ExportStatement
) -> AsyncGenerator[bytes]:
    """The workbook's fixed parts and header, then `COPY (the rows as worksheet XML)
    TO STDOUT` zipped chunk by chunk, then the zip's end."""
    workbook = XlsxStream(entity.value.capitalize())
    yield workbook.start(chosen.headers())
    async with contextlib.aclosing(_copied(ctx, chosen, chosen.xlsx(), format="text")) as rows:
        async for chunk in rows:
            yield workbook.rows(chunk)
    yield workbook.finish()


# COPY's chunks held while the client reads slower than PostgreSQL writes; awaiting
# room in the queue holds the COPY back (asyncpg stops reading the socket).
QUEUED_CHUNKS = 8


def planner_settings(chosen: statements.ExportStatement) -> dict[str, str]:
    """How PostgreSQL plans an export's statement: transaction-local settings (they
    end with the request's transaction, which only reads).

    - No JIT: the cost estimate of a long list is high enough to compile the
      statement, which took 2 s before the first row of 100 000 accounts and gains
      nothing on a read that streams.
    - No Sort where an index gives the list's order (`index_ordered`: the lead
      queues). PostgreSQL plans a COPY for its whole run, not its first rows, and
      prices a Sort by the rows it expects: RLS's role test on `leads` is estimated
      to keep ~2% of them, so a Sort of the whole queue looked cheap beside the
      queue's own index, and the first byte of 100 000 leads waited for it
      (0.5 s). `enable_sort` off only makes a Sort the last resort: a list no index
      orders is still sorted."""
    settings = {"jit": "off"}
    if chosen.index_ordered:
        settings["enable_sort"] = "off"
    return settings


async def use_planner_settings(ctx: Ctx, chosen: statements.ExportStatement) -> None:
    """`planner_settings` for the rest of the request's transaction, one round trip."""
    params: dict[str, str] = {}
    for i, (name, value) in enumerate(planner_settings(chosen).items()):
        params[f"name{i}"], params[f"value{i}"] = name, value
    calls = ", ".join(f"set_config(:name{i}, :value{i}, true)" for i in range(len(params) // 2))
    await ctx.session.execute(text(f"SELECT {calls}"), params)


async def _copied(
    ctx: Ctx, chosen: statements.ExportStatement, query: Any, **options: Any
) -> AsyncGenerator[bytes]:
    """`COPY (query) TO STDOUT (options)` chunk by chunk as PostgreSQL sends them, in
    the request's transaction (the one mechanism every list export goes through),
    planned with `chosen`'s settings (`planner_settings`)."""
    statement = DriverStatement.of(query)
    chunks: asyncio.Queue[bytes | None] = asyncio.Queue(QUEUED_CHUNKS)
    left = False

    async def forward(chunk: bytes) -> None:
        # Once the client has left, the rest is read and dropped: stopping a COPY
        # midway takes a cancel request, which a transaction-mode pooler may deliver
        # after the server connection has gone to another client's transaction.
        if not left:
            await chunks.put(bytes(chunk))  # asyncpg hands a bytearray

    async def copy() -> None:
        await statement.copy_out(ctx.session, {}, forward, **options)

    def ended(task: asyncio.Task[None]) -> None:
        if not task.cancelled():
            task.exception()  # retrieved: raised by `await copying`, or moot on shutdown
        # Wakes the reader if it waits on an empty queue (a full one it reads out).
        if not chunks.full():
            chunks.put_nowait(None)

    await use_planner_settings(ctx, chosen)
    copying = asyncio.create_task(copy())
    copying.add_done_callback(ended)
    try:
        while not (copying.done() and chunks.empty()):
            chunk = await chunks.get()
            if chunk is not None:
                yield chunk
        await copying  # the COPY's error, if it failed
    finally:
        if not copying.done():
            # The client left: the COPY runs out before the transaction ends.
            left = True
            while not chunks.empty():
                chunks.get_nowait()  # a `forward` waiting for room goes on
            with contextlib.suppress(DBAPIError):
                await asyncio.shield(copying)


async def _started(body: AsyncGenerator[bytes]) -> AsyncIterator[bytes]:
    """`body` with its first two chunks (the file's start, then the first of the
    COPY's) already read: a failure to start is an error answer, not a cut-off
    download."""
    head = b"".join([await anext(body, b""), await anext(body, b"")])

    async def whole() -> AsyncIterator[bytes]:
        try:
            yield head
            async for chunk in body:
                yield chunk
        finally:
            await body.aclose()  # a client that left: the COPY runs out here

    return whole()


# ---------------------------------------------------------------- whole organization

# Bytes of the stored ZIP read per statement while it is downloaded.
DOWNLOAD_CHUNK = 1024 * 1024


async def request_tenant_export(ctx: Ctx) -> TenantExport:
    """Admins ask for the whole organization's data (403 otherwise): an `exports` row,
    queued, and its job (`tasks.export_tenant`), both in this transaction."""
    from baton.exports.tasks import export_tenant

    principal = require_role(ctx, Role.ADMIN)
    export = TenantExport(tenant_id=principal.tenant_id, requested_by=principal.user_id)
    ctx.session.add(export)
    await ctx.session.flush()
    await defer(ctx, export_tenant, {"export_id": str(export.id)})
    await record_security_event(
        ctx,
        SecurityEvent.EXPORTED,
        details={"entity": "organization", "export_id": str(export.id), "by": principal.email},
    )
    return export


async def get_tenant_export(ctx: Ctx, export_id: uuid.UUID) -> TenantExport:
    """An export of the caller's organization, for admins (403); another
    organization's, or none, is 404."""
    require_role(ctx, Role.ADMIN)
    export = await ctx.session.scalar(select(TenantExport).where(TenantExport.id == export_id))
    if export is None:
        raise NotFound("No such export")
    return export


async def open_tenant_download(ctx: Ctx, export_id: uuid.UUID) -> tuple[TenantExport, Any]:
    """The finished ZIP of an export (409 while it is not finished), read from the
    database a chunk at a time while it is sent."""
    export = await get_tenant_export(ctx, export_id)
    if export.status != ExportStatus.COMPLETED.value or export.size_bytes is None:
        raise Conflict(f"The export is {export.status}; download it once it is completed")
    size = export.size_bytes
    archive = TenantExport.__table__.c.archive

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, size, DOWNLOAD_CHUNK):
            chunk = await ctx.session.scalar(
                select(func.substring(archive, start + 1, DOWNLOAD_CHUNK)).where(
                    TenantExport.__table__.c.id == export_id
                )
            )
            yield bytes(chunk or b"")

    return export, chunks()
