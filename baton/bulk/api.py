"""`POST /api/v1/{deals|leads|targets|accounts|contacts}/bulk`: one action on many rows."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

from fastapi import APIRouter, Depends, Response, status

from baton.bulk import service
from baton.bulk.schemas import (
    AccountBulkIn,
    BulkOut,
    BulkRowOut,
    ContactBulkIn,
    DealBulkIn,
    LeadBulkIn,
    TargetBulkIn,
)
from baton.bulk.service import BulkEntity, BulkResult
from baton.core.auth import CtxDep, get_principal
from baton.core.routing import JsonRoute
from baton.identity.access import WRITERS, require_role

router = APIRouter(
    prefix="/api/v1", tags=["bulk"], dependencies=[Depends(get_principal)], route_class=JsonRoute
)

_ANSWERS = (
    "Answers one result per row, in the order sent: `moved`, `updated`, `enrolled`, "
    "`deleted`, `restored`, `unchanged`, `refused` (with the reason a single change "
    "gives) or `not_found`. Each row is its own change (history, audit); a refused "
    "row never undoes the others. Up to 200 rows the answer is 200 and complete; "
    "above, 202 with `run_id` and a `Location` to poll (`GET /api/v1/bulk-runs/{id}`) "
    "while the worker goes through the rows."
)


def bulk_out(result: BulkResult) -> BulkOut:
    rows = [BulkRowOut.model_validate(row) for row in result.results]
    return BulkOut(
        run_id=result.run_id,
        status=result.status,
        action=result.action,
        total=result.total,
        done=len(rows),
        counts=dict(Counter(row.status for row in rows)),
        results=rows,
    )


async def _answer(
    ctx: CtxDep, response: Response, entity: BulkEntity, data: service.BulkIn
) -> BulkOut:
    result = await service.run_bulk(ctx, entity, data)
    if result.run_id is not None:
        response.status_code = status.HTTP_202_ACCEPTED
        response.headers["Location"] = f"/api/v1/bulk-runs/{result.run_id}"
    return bulk_out(result)


async def _writer(ctx: CtxDep) -> None:
    """A viewer is refused before the body is read: its malformed request is 403, as
    a well-formed one would be, not a 422 that describes what it may not send."""
    require_role(ctx, *WRITERS)


_RUN: dict[int | str, dict[str, Any]] = {
    202: {"model": BulkOut, "description": "Above 200 rows: a run to poll"}
}


@router.post("/deals/bulk", description=_ANSWERS, responses=_RUN, dependencies=[Depends(_writer)])
async def bulk_deals(data: DealBulkIn, ctx: CtxDep, response: Response) -> BulkOut:
    """Change owner, enrol in a cadence, move to a stage (each move checked by the
    workflow as a single move; won/lost are closes, refused here), delete, or restore
    (the undo of a delete) — for the deals named by `ids` or matched by `filter`."""
    return await _answer(ctx, response, BulkEntity.DEALS, data)


@router.post("/leads/bulk", description=_ANSWERS, responses=_RUN, dependencies=[Depends(_writer)])
async def bulk_leads(data: LeadBulkIn, ctx: CtxDep, response: Response) -> BulkOut:
    """Assign pooled leads to a salesperson (`change_owner`, admins and managers), or
    triage them (`move` to `status`) — as the single assign or triage would."""
    return await _answer(ctx, response, BulkEntity.LEADS, data)


@router.post("/targets/bulk", description=_ANSWERS, responses=_RUN, dependencies=[Depends(_writer)])
async def bulk_targets(data: TargetBulkIn, ctx: CtxDep, response: Response) -> BulkOut:
    """Change owner, move to a status (as `POST /targets/{id}/status`), delete, or
    restore (the undo of a delete)."""
    return await _answer(ctx, response, BulkEntity.TARGETS, data)


@router.post(
    "/accounts/bulk", description=_ANSWERS, responses=_RUN, dependencies=[Depends(_writer)]
)
async def bulk_accounts(data: AccountBulkIn, ctx: CtxDep, response: Response) -> BulkOut:
    """Change owner, add a tag, enrol in a cadence, delete (with what a single delete
    takes), or restore (the undo of a delete)."""
    return await _answer(ctx, response, BulkEntity.ACCOUNTS, data)


@router.post(
    "/contacts/bulk", description=_ANSWERS, responses=_RUN, dependencies=[Depends(_writer)]
)
async def bulk_contacts(data: ContactBulkIn, ctx: CtxDep, response: Response) -> BulkOut:
    """Enrol in a cadence, delete, or restore (the undo of a delete)."""
    return await _answer(ctx, response, BulkEntity.CONTACTS, data)


@router.get("/bulk-runs/{run_id}")
async def get_bulk_run(run_id: uuid.UUID, ctx: CtxDep) -> BulkOut:
    """A bulk action run by the worker: `running` with the rows done so far and their
    results, then `completed`. The member who started it, admins and managers."""
    return bulk_out(await service.get_run(ctx, run_id))
