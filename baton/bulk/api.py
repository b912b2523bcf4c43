"""`POST /api/v1/{deals|leads|targets|accounts|contacts}/bulk`: one action on many rows."""

from __future__ import annotations

from collections import Counter

from fastapi import APIRouter, Depends

from baton.bulk import service
from baton.bulk.schemas import (
    AccountBulkIn,
    BulkOut,
    BulkRowOut,
    ContactBulkIn,
    DealBulkIn,
    LeadBulkIn,
    RowProblem,
    RowProblemField,
    TargetBulkIn,
)
from baton.bulk.service import BulkEntity, BulkResult, RowOutcome
from baton.core.auth import CtxDep, get_principal
from baton.core.routing import JsonRoute

router = APIRouter(
    prefix="/api/v1", tags=["bulk"], dependencies=[Depends(get_principal)], route_class=JsonRoute
)

_ANSWERS = (
    "Answers one result per row, in the order sent: `moved`, `updated`, `enrolled`, "
    "`deleted`, `restored`, `unchanged`, `refused` (with the reason a single change "
    "gives) or `not_found`. Each row is its own change (history, audit); a refused "
    "row never undoes the others."
)


def _row_out(outcome: RowOutcome) -> BulkRowOut:
    error = outcome.error
    return BulkRowOut(
        id=outcome.id,
        status=outcome.status,
        error=None
        if error is None
        else RowProblem(
            title=error.title,
            detail=error.detail,
            errors=[RowProblemField(field=e.field, message=e.message) for e in error.errors],
        ),
    )


def bulk_out(result: BulkResult) -> BulkOut:
    return BulkOut(
        action=result.action,
        total=len(result.outcomes),
        counts=dict(Counter(outcome.status for outcome in result.outcomes)),
        results=[_row_out(outcome) for outcome in result.outcomes],
    )


@router.post("/deals/bulk", description=_ANSWERS)
async def bulk_deals(data: DealBulkIn, ctx: CtxDep) -> BulkOut:
    """Change owner, enrol in a cadence, move to a stage (each move checked by the
    workflow as a single move; won/lost are closes, refused here), delete, or restore
    (the undo of a delete) — for the deals named by `ids` or matched by `filter`."""
    return bulk_out(await service.run_bulk(ctx, BulkEntity.DEALS, data))


@router.post("/leads/bulk", description=_ANSWERS)
async def bulk_leads(data: LeadBulkIn, ctx: CtxDep) -> BulkOut:
    """Assign pooled leads to a salesperson (`change_owner`, admins and managers), or
    triage them (`move` to `status`) — as the single assign or triage would."""
    return bulk_out(await service.run_bulk(ctx, BulkEntity.LEADS, data))


@router.post("/targets/bulk", description=_ANSWERS)
async def bulk_targets(data: TargetBulkIn, ctx: CtxDep) -> BulkOut:
    """Change owner, move to a status (as `POST /targets/{id}/status`), or delete."""
    return bulk_out(await service.run_bulk(ctx, BulkEntity.TARGETS, data))


@router.post("/accounts/bulk", description=_ANSWERS)
async def bulk_accounts(data: AccountBulkIn, ctx: CtxDep) -> BulkOut:
    """Change owner, add a tag, enrol in a cadence, delete (with what a single delete
    takes), or restore (the undo of a delete)."""
    return bulk_out(await service.run_bulk(ctx, BulkEntity.ACCOUNTS, data))


@router.post("/contacts/bulk", description=_ANSWERS)
async def bulk_contacts(data: ContactBulkIn, ctx: CtxDep) -> BulkOut:
    """Enrol in a cadence, delete, or restore (the undo of a delete)."""
    return bulk_out(await service.run_bulk(ctx, BulkEntity.CONTACTS, data))
