"""/api/v1/imports: upload and preview, mapping, commit as a job, undo, error file."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, File, Form, UploadFile, status
from fastapi.responses import Response

from baton.core.auth import CtxDep, get_principal
from baton.core.routing import JsonRoute
from baton.core.schemas import Page
from baton.imports import service
from baton.imports.models import ImportBatch
from baton.imports.schemas import CommitIn, ImportOut, ImportPatch, UndoIn

router = APIRouter(
    prefix="/api/v1/imports",
    tags=["imports"],
    dependencies=[Depends(get_principal)],
    route_class=JsonRoute,
)


def import_out(batch: ImportBatch) -> ImportOut:
    preview = batch.preview or {}
    return ImportOut(
        id=batch.id,
        kind=batch.kind,
        status=batch.status,
        filename=batch.filename,
        size_bytes=batch.size_bytes,
        encoding=batch.encoding,
        delimiter=batch.delimiter,
        sheet=batch.sheet,
        sheets=preview.get("sheets", []),
        rows_total=batch.rows_total,
        rows_done=batch.rows_done,
        columns=preview.get("columns", []),
        unknown_columns=preview.get("unknown_columns", []),
        mapping=batch.mapping,
        on_duplicate=batch.on_duplicate,
        defaults=batch.defaults,
        errors=preview.get("errors", []),
        error_count=preview.get("error_count", 0),
        rows_with_errors=preview.get("rows_with_errors", 0),
        duplicates=preview.get("duplicates", {"in_file": 0, "existing": 0, "items": []}),
        would_create=preview.get("would_create", 0),
        would_update=preview.get("would_update", 0),
        would_skip=preview.get("would_skip", 0),
        valid_rows_only=batch.valid_rows_only,
        created=batch.created,
        updated=batch.updated,
        skipped=batch.skipped,
        failed=batch.failed,
        failure=batch.failure,
        created_by=batch.created_by,
        created_at=batch.created_at,
        committed_at=batch.committed_at,
        finished_at=batch.finished_at,
        undone_at=batch.undone_at,
        version=batch.version,
    )


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_import(
    ctx: CtxDep,
    file: UploadFile = File(...),
    kind: str = Form(...),
    sheet: str | None = Form(None),
) -> ImportOut:
    """Upload a CSV or XLSX file (multipart `file`, `kind`: targets, leads, accounts,
    contacts, transactions or deals; `sheet`: a workbook's sheet, else the first): the
    file is stored and previewed with a suggested mapping; nothing else is written.
    413 past `BATON_IMPORT_MAX_BYTES`, 422 for an empty, header-only, binary or
    unreadable file or past `BATON_IMPORT_MAX_ROWS` rows."""
    content = await file.read()
    batch = await service.create_batch(ctx, kind, file.filename or "", content, sheet or None)
    return import_out(batch)


@router.get("")
async def list_imports(ctx: CtxDep) -> Page[ImportOut]:
    """The organization's imports, newest first (the last 50)."""
    return Page(items=[import_out(b) for b in await service.list_batches(ctx)], next_cursor=None)


@router.get("/{import_id}")
async def get_import(import_id: uuid.UUID, ctx: CtxDep) -> ImportOut:
    """The batch: its preview, or its progress (`status: running`, `rows_done`) and
    outcome (`completed` with counts, `failed` with `failure`)."""
    return import_out(await service.get_batch(ctx, import_id))


@router.patch("/{import_id}")
async def update_import(import_id: uuid.UUID, data: ImportPatch, ctx: CtxDep) -> ImportOut:
    """Change the mapping, `on_duplicate` (skip | update; create where duplicates may
    exist: leads, deals) or `defaults` at the batch's version; answers the recomputed preview."""
    batch = await service.update_batch(
        ctx,
        import_id,
        mapping=data.mapping,
        on_duplicate=data.on_duplicate,
        defaults=data.defaults,
        expected_version=data.version,
    )
    return import_out(batch)


@router.post("/{import_id}/commit", status_code=status.HTTP_202_ACCEPTED)
async def commit_import(import_id: uuid.UUID, data: CommitIn, ctx: CtxDep) -> ImportOut:
    """Run the import as a background job (202, `status: running`); poll GET. All or
    nothing unless `valid_rows_only`. 409 for a second commit or a stale version."""
    return import_out(
        await service.commit_batch(ctx, import_id, data.version, data.valid_rows_only)
    )


@router.post("/{import_id}/undo")
async def undo_import(import_id: uuid.UUID, data: UndoIn, ctx: CtxDep) -> ImportOut:
    """Soft-delete what the import created and restore what it updated; 409 naming
    the records changed since, unless `force`."""
    return import_out(await service.undo_batch(ctx, import_id, data.version, data.force))


@router.get("/{import_id}/errors.csv")
async def import_errors(import_id: uuid.UUID, ctx: CtxDep) -> Response:
    """The rows with errors: the original cells and an `error` column."""
    body, name = await service.error_file(ctx, import_id)
    return Response(
        body.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
