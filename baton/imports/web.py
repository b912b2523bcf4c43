"""The Imports page (`/imports`): the history, an upload form, and each batch's page
(`/imports/{id}`) with its preview — the mapping as one dropdown per column, what
duplicates do, the rows with errors and the duplicates — a commit button with a
progress bar that polls while the job runs (htmx, every second), and undo.

Writers whose role may import some kind see it; viewers get 403 from the service.
Handlers parse the form, call one service function and render.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from baton.core.auth import CtxDep
from baton.core.context import Ctx
from baton.core.errors import DomainError
from baton.identity.queries import member_names
from baton.imports import fields as import_fields
from baton.imports import service
from baton.imports.models import ImportBatch, ImportKind, ImportStatus
from baton.imports.parsing import ImportRejected
from baton.web.rendering import render
from baton.workflow.web import checked, form_error, is_htmx, text, version_of

router = APIRouter(include_in_schema=False)

PATH = "/imports"


def _kinds(ctx: Ctx) -> list[str]:
    principal = ctx.require_principal()
    return [
        kind.value for kind in import_fields.SUPPORTED if principal.role in service.KIND_ROLES[kind]
    ]


# Where each kind's records are listed (the ledger's lines are on their accounts).
LIST_PAGES = {ImportKind.TRANSACTIONS: "/accounts"}
# Kinds whose records have a page of their own, for a duplicate's link.
RECORD_PAGES = {
    ImportKind.ACCOUNTS: "/accounts/",
    ImportKind.CONTACTS: "/contacts/",
    ImportKind.DEALS: "/deals/",
}
# What the dedupe key of a kind keyed "account id:value" compares, for people.
ACCOUNT_SCOPED_KEYS = {
    ImportKind.CONTACTS: "Email at the account",
    ImportKind.TRANSACTIONS: "Invoice number at the account",
    ImportKind.DEALS: "Deal name at the account",
}


def _duplicate(kind: ImportKind, item: dict[str, Any]) -> dict[str, Any]:
    """A preview's duplicate as the page shows it: the row, what it matches (a link to
    the record where it has a page) and by what, without internal ids."""
    prefix, _, value = str(item.get("key", "")).partition(":")
    by = ACCOUNT_SCOPED_KEYS.get(kind)
    record_id = item.get("record_id")
    href = None
    if record_id and kind in RECORD_PAGES:
        href = f"{RECORD_PAGES[kind]}{record_id}"
    elif record_id and kind not in LIST_PAGES:
        href = f"/{kind.value}?q={quote(value)}"
    return {
        "row": item.get("row"),
        "existing": bool(record_id),
        "href": href,
        "matches_row": item.get("matches_row"),
        "by": by or prefix.replace("_", " ").capitalize(),
        "value": value,
    }


async def _detail(ctx: Ctx, batch: ImportBatch, notice: str | None = None) -> dict[str, Any]:
    kind = ImportKind(batch.kind)
    preview = batch.preview or {}
    items = (preview.get("duplicates") or {}).get("items", [])
    names = await member_names(ctx.session, [batch.created_by])
    return {
        "batch": batch,
        "preview": batch.preview or {},
        "fields": import_fields.fields_of(kind),
        "field_labels": {spec.name: spec.label for spec in import_fields.fields_of(kind)},
        "duplicates": [_duplicate(kind, item) for item in items],
        "list_page": LIST_PAGES.get(kind, f"/{kind.value}"),
        "running": batch.status == ImportStatus.RUNNING.value,
        "percent": (100 * batch.rows_done // batch.rows_total) if batch.rows_total else 0,
        "creator": names.get(batch.created_by) if batch.created_by else None,
        "notice": notice,
    }


@router.get(PATH)
async def imports_page(request: Request, ctx: CtxDep, kind: str = "") -> Response:
    batches = await service.list_batches(ctx)
    names = await member_names(ctx.session, (b.created_by for b in batches))
    kinds = _kinds(ctx)
    return render(
        request,
        "imports/list.html",
        batches=batches,
        names=names,
        kinds=kinds,
        chosen=kind if kind in kinds else (kinds[0] if kinds else ""),
    )


@router.post(PATH)
async def imports_upload(request: Request, ctx: CtxDep) -> Response:
    max_bytes = ctx.settings.import_max_bytes
    form = await request.form(max_part_size=max_bytes)
    upload = form.get("file")
    try:
        if upload is None or isinstance(upload, str):
            raise ImportRejected("Choose a file to upload")
        content = await upload.read()
        batch = await service.create_batch(
            ctx, text(form, "kind"), upload.filename or "", content, text(form, "sheet") or None
        )
    except DomainError as error:
        return form_error(request, error)
    url = f"{PATH}/{batch.id}"
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


@router.get(PATH + "/{batch_id}")
async def import_page(
    request: Request, ctx: CtxDep, batch_id: uuid.UUID, part: str | None = None
) -> Response:
    batch = await service.get_batch(ctx, batch_id)
    context = await _detail(ctx, batch)
    if is_htmx(request) and part == "detail":
        return render(request, "imports/_detail.html", **context)
    return render(request, "imports/detail.html", **context)


async def _redraw(request: Request, ctx: Ctx, batch: ImportBatch, notice: str) -> Response:
    if not is_htmx(request):
        return RedirectResponse(f"{PATH}/{batch.id}", status_code=303)
    return render(request, "imports/_detail.html", **await _detail(ctx, batch, notice))


@router.post(PATH + "/{batch_id}/preview")
async def import_preview(request: Request, ctx: CtxDep, batch_id: uuid.UUID) -> Response:
    form = await request.form()
    headers = form.getlist("header")
    mapping = {
        str(header): (text(form, f"field_{index}") or None) for index, header in enumerate(headers)
    }
    try:
        batch = await service.update_batch(
            ctx,
            batch_id,
            mapping=mapping,
            on_duplicate=text(form, "on_duplicate") or None,
            defaults=None,
            expected_version=version_of(form),
        )
    except DomainError as error:
        return form_error(request, error)
    return await _redraw(request, ctx, batch, "Preview updated")


@router.post(PATH + "/{batch_id}/commit")
async def import_commit(request: Request, ctx: CtxDep, batch_id: uuid.UUID) -> Response:
    form = await request.form()
    try:
        batch = await service.commit_batch(
            ctx, batch_id, version_of(form), checked(form, "valid_rows_only")
        )
    except DomainError as error:
        return form_error(request, error)
    return await _redraw(request, ctx, batch, "Import started")


@router.post(PATH + "/{batch_id}/undo")
async def import_undo(request: Request, ctx: CtxDep, batch_id: uuid.UUID) -> Response:
    form = await request.form()
    try:
        batch = await service.undo_batch(ctx, batch_id, version_of(form), checked(form, "force"))
    except DomainError as error:
        return form_error(request, error)
    return await _redraw(request, ctx, batch, "Import undone")
