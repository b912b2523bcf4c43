"""The lists' action bar: selected rows (or every row the search matches), one action,
and the answer row by row — what was done, what was refused and why — with an Undo
for a delete. The lists render the bar (`bulk/_bar.html`); its form posts here, with
the page's search form included, so "all matching" means what the list shows."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from baton.bulk import queries, service
from baton.bulk.models import BulkRunStatus
from baton.bulk.schemas import (
    AccountBulkIn,
    BulkAction,
    BulkRequest,
    ContactBulkIn,
    DealBulkIn,
    LeadBulkIn,
    RowStatus,
    TargetBulkIn,
)
from baton.bulk.service import BulkEntity, BulkResult
from baton.core.auth import CtxDep
from baton.core.context import Ctx
from baton.core.errors import DomainError, FieldError, NotFound, ValidationFailed
from baton.core.schemas import parse_input
from baton.deals.schemas import AMOUNT_FILTERS, DealListFilters
from baton.web.formatting import plain_amount
from baton.web.rendering import render, viewer_locale
from baton.workflow.web import form_error, is_htmx, text, texts

router = APIRouter(include_in_schema=False)

# Lead queues whose rows take a bulk action (triage, or assignment from the pool).
LEAD_QUEUES = ("inbox", "nurture", "pool")

STATUS_LABELS = {
    RowStatus.MOVED: "Moved",
    RowStatus.UPDATED: "Updated",
    RowStatus.ENROLLED: "Enrolled",
    RowStatus.DELETED: "Deleted",
    RowStatus.RESTORED: "Restored",
    RowStatus.UNCHANGED: "Already so",
    RowStatus.REFUSED: "Refused",
    RowStatus.NOT_FOUND: "Not found",
}
# The summary's order: what was done, then what was not.
_ORDER = list(RowStatus)
# What each action needs chosen first, in the bar's words.
_NEEDED = {
    BulkAction.CHANGE_OWNER: ("bulk_owner_id", "owner_id", "Choose the new owner"),
    BulkAction.ADD_TAG: ("bulk_tag", "tag", "Type the tag to add"),
    BulkAction.ENROL: ("bulk_cadence_id", "cadence_id", "Choose a cadence"),
    BulkAction.MOVE: ("bulk_status", "status", "Choose where to move them"),
}


def _request_body(form: FormData, filters: dict[str, Any], stage_field: str) -> dict[str, Any]:
    """The API body from the bar's form: the rows ticked, or the search's filters when
    "all matching" is on; the chosen action and what it needs (422 in words when a
    choice is missing, before anything is done)."""
    raw_action = text(form, "action")
    try:
        action = BulkAction(raw_action)
    except ValueError:
        raise ValidationFailed("Choose an action first") from None
    body: dict[str, Any] = {"action": action.value}
    if text(form, "all_matching") == "1":
        body["filter"] = filters
    else:
        ids = texts(form, "ids")
        if not ids:
            raise ValidationFailed("Select at least one row first")
        body["ids"] = ids
    needed = _NEEDED.get(action)
    if needed is not None:
        field, key, missing = needed
        # A move names its stage as the kind's body does (a deal's `to_step_id`).
        key = stage_field if action is BulkAction.MOVE else key
        if not text(form, field):
            raise ValidationFailed(missing, errors=[FieldError(key, "is required")])
        body[key] = text(form, field)
    if action is BulkAction.MOVE:
        for field, key in (("bulk_reason", "reason"), ("bulk_notes", "notes")):
            if text(form, field):
                body[key] = text(form, field)
    return body


# Where a list's bar posts, for the Undo of a delete (lists whose records restore).
_UNDO_URLS = {
    BulkEntity.ACCOUNTS: "/accounts/bulk",
    BulkEntity.TARGETS: "/targets/bulk",
    BulkEntity.DEALS: "/deals/bulk",
    BulkEntity.CONTACTS: "/contacts/bulk",
}


async def _results(ctx: Ctx, result: BulkResult) -> dict[str, Any]:
    """What the results panel shows: each row done by its name, what became of it and
    why; a run still going shows its progress and polls for more."""
    ids = [uuid.UUID(row["id"]) for row in result.results]
    names = await queries.row_names(ctx.session, result.entity, ids)
    rows = [
        {
            "name": names.get(record_id, "A record you cannot see"),
            "status": RowStatus(row["status"]),
            "label": STATUS_LABELS[RowStatus(row["status"])],
            "error": row["error"],
        }
        for record_id, row in zip(ids, result.results, strict=True)
    ]
    counts = Counter(row["status"] for row in rows)
    summary = ", ".join(
        f"{counts[status]} {STATUS_LABELS[status].lower()}" for status in _ORDER if counts[status]
    )
    return {
        "rows": rows,
        "summary": summary or ("Nothing done yet" if result.run_id else "No row matched"),
        "running": result.status is BulkRunStatus.RUNNING,
        "run_id": result.run_id,
        "done": len(rows),
        "total": result.total,
        "deleted": [
            i for i, row in zip(ids, rows, strict=True) if row["status"] is RowStatus.DELETED
        ],
        "url": _UNDO_URLS.get(result.entity),
    }


async def _bulk(
    request: Request,
    ctx: CtxDep,
    entity: BulkEntity,
    schema: type[BulkRequest],
    filters: dict[str, Any] | Callable[[], dict[str, Any]],
    back: str,
) -> Response:
    """`filters`: the list's search as the API takes it, or how to read it from the
    form (its refusal, in words, refuses the request before anything is done)."""
    form = await request.form()
    try:
        matched = filters() if callable(filters) else filters
        body = _request_body(form, matched, schema.STAGE_FIELD)
        data = parse_input(schema, body)
        result = await service.run_bulk(ctx, entity, data)  # type: ignore[arg-type]
    except DomainError as error:
        return form_error(request, error)
    context = await _results(ctx, result)
    if not is_htmx(request):
        return render(request, "bulk/result_page.html", back=back, **context)
    response = render(request, "bulk/_results.html", **context)
    # The list behind the bar shows the rows as they are now (`baton.js`).
    response.headers["HX-Trigger"] = "bulk-done"
    return response


@router.get("/bulk-runs/{run_id}")
async def bulk_run(request: Request, ctx: CtxDep, run_id: uuid.UUID) -> Response:
    """A run's progress (the panel polls it while the worker goes), then its results."""
    result = await service.get_run(ctx, run_id)
    context = await _results(ctx, result)
    if not is_htmx(request):
        return render(request, "bulk/result_page.html", back=None, **context)
    response = render(request, "bulk/_results.html", **context)
    if not context["running"]:
        response.headers["HX-Trigger"] = "bulk-done"
    return response


def _kept(values: dict[str, str]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value}


@router.post("/accounts/bulk")
async def accounts_bulk(request: Request, ctx: CtxDep) -> Response:
    form = await request.form()
    filters = _kept({name: text(form, name)[:200] for name in ("q", "tenure", "activity", "owner")})
    return await _bulk(request, ctx, BulkEntity.ACCOUNTS, AccountBulkIn, filters, "/accounts")


# The deals list's filters, as its filter form sends them.
_DEAL_FILTERS = tuple(DealListFilters.model_fields)


@router.post("/deals/bulk")
async def deals_bulk(request: Request, ctx: CtxDep) -> Response:
    form = await request.form()
    sent = _kept({name: text(form, name)[:400] for name in _DEAL_FILTERS})
    # The amount bounds as the filter form shows them: typed in the organization's
    # locale (`1.250,50`); one that is no amount goes on for the schema to name.
    for name in AMOUNT_FILTERS:
        if name in sent:
            sent[name] = plain_amount(sent[name], viewer_locale(ctx)) or sent[name]

    def filters() -> dict[str, Any]:
        # Read as the list reads its URL, then handed on typed: "all matching" is the
        # rows the list shows, and a filter it cannot read refuses the request.
        return parse_input(DealListFilters, sent).model_dump(exclude_none=True)

    return await _bulk(request, ctx, BulkEntity.DEALS, DealBulkIn, filters, "/deals")


@router.post("/contacts/bulk")
async def contacts_bulk(request: Request, ctx: CtxDep) -> Response:
    form = await request.form()
    filters = _kept({name: text(form, name)[:200] for name in ("account_id", "q")})
    return await _bulk(request, ctx, BulkEntity.CONTACTS, ContactBulkIn, filters, "/contacts")


@router.post("/targets/bulk")
async def targets_bulk(request: Request, ctx: CtxDep) -> Response:
    form = await request.form()
    filters = _kept({name: text(form, name)[:200] for name in ("status", "q")})
    return await _bulk(request, ctx, BulkEntity.TARGETS, TargetBulkIn, filters, "/targets")


@router.post("/leads/{queue}/bulk")
async def leads_bulk(request: Request, ctx: CtxDep, queue: str) -> Response:
    if queue not in LEAD_QUEUES:
        raise NotFound("No such page")
    form = await request.form()
    filters = {"view": queue, **_kept({"q": text(form, "q")[:200]})}
    return await _bulk(request, ctx, BulkEntity.LEADS, LeadBulkIn, filters, f"/leads/{queue}")
