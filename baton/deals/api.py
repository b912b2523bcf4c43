"""/api/v1/deals and /api/v1/pipeline: deals on the sales pipeline, and its board."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Response, status

from baton.core.auth import CtxDep, IfMatchDep, VersionQuery, get_principal
from baton.core.driver_transaction import driver_transaction_route
from baton.core.pagination import PageLimit, SortedCursor, sorted_page_of
from baton.core.replica import replica_route
from baton.core.routing import JsonRoute
from baton.core.schemas import Moment, Page
from baton.core.versioning import expected_version
from baton.deals import queries, service
from baton.deals.models import Deal, DealOutcome
from baton.deals.schemas import (
    AmountTotal,
    CloseIn,
    CloseOut,
    DealHistoryEntryOut,
    DealIn,
    DealListFilters,
    DealMoveIn,
    DealMoveOut,
    DealOut,
    DealPatch,
    PipelineOut,
)
from baton.workflow import queries as workflow_queries
from baton.workflow.engine import StepNode
from baton.workflow.schemas import StepRef
from baton.workitems.schemas import PlannedEffectOut

router = APIRouter(
    prefix="/api/v1", tags=["deals"], dependencies=[Depends(get_principal)], route_class=JsonRoute
)


def deal_out(deal: Deal, step: StepRef, step_probability: float | None) -> DealOut:
    return DealOut(
        id=deal.id,
        name=deal.name,
        account_id=deal.account_id,
        contact_id=deal.contact_id,
        owner_id=deal.owner_id,
        amount=deal.amount,
        currency=deal.currency,
        probability=deal.probability if deal.probability is not None else step_probability,
        probability_override=deal.probability,
        expected_close_date=deal.expected_close_date,
        next_step=deal.next_step,
        next_step_due_date=deal.next_step_due_date,
        outcome=DealOutcome(deal.outcome) if deal.outcome else None,
        win_reason=deal.win_reason,
        loss_reason=deal.loss_reason,
        close_notes=deal.close_notes,
        closed_at=deal.closed_at,
        source=deal.source,
        need=deal.need,
        notes=deal.notes,
        workflow_id=deal.workflow_id,
        step=step,
        entered_step_at=deal.entered_step_at,
        rank=deal.rank,
        created_at=deal.created_at,
        updated_at=deal.updated_at,
        version=deal.version,
    )


def _on_step(deal: Deal, step: StepNode) -> DealOut:
    return deal_out(deal, StepRef.of(step), step.probability)


def _listed(row: Any) -> DealOut:
    step = StepRef.listed(row)
    return deal_out(service.deal_of(row), step, row.step_probability)


def _effects_out(planned: list[Any]) -> list[PlannedEffectOut]:
    return [PlannedEffectOut(name=e.name, description=e.description) for e in planned]


@router.post("/deals", status_code=status.HTTP_201_CREATED)
async def create_deal(data: DealIn, ctx: CtxDep) -> DealOut:
    """Open a deal at the first step of the sales pipeline, at the end of that column."""
    deal, flow = await service.create_deal(ctx, data)
    return _on_step(deal, flow.step(deal.step_id))


@router.get("/deals")
@replica_route
async def list_deals(
    ctx: CtxDep,
    filters: Annotated[DealListFilters, Query()],
    limit: PageLimit = 50,
    cursor: SortedCursor = None,
) -> Page[DealOut]:
    """Live deals, filtered, in creation order or by `sort` (see the parameters); a
    page continues with the previous page's `next_cursor` and the same filters."""
    page = sorted_page_of(limit, cursor, filters.sort)
    rows = await service.list_deals(ctx, page, filters)
    shown = rows[: page.limit]
    return Page(
        items=[_listed(row) for row in shown],
        next_cursor=queries.next_list_cursor(rows, page),
    )


def pipeline_answer(board: service.Pipeline[str]) -> bytes:
    """`PipelineOut` as JSON, the cards spliced in as the database wrote them."""
    columns = []
    for step in board.flow.ordered_steps():
        totals = board.totals.get(step.id) or queries.ColumnTotals()
        columns.append(
            {
                "step": StepRef.of(step).model_dump(mode="json"),
                "count": totals.count,
                "totals": [
                    AmountTotal(currency=currency, amount=amount).model_dump(mode="json")
                    for currency, amount in totals.amounts.items()
                ],
                "items": orjson.Fragment(board.cards.get(step.id, "[]")),
            }
        )
    return orjson.dumps({"workflow_id": str(board.flow.workflow_id), "columns": columns})


@router.get("/pipeline", response_model=PipelineOut)
async def pipeline(
    ctx: CtxDep,
    workflow_id: uuid.UUID | None = None,
    per_column: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    """Columns in step order, each with its count, its amounts per currency and its
    first cards in board order (default workflow: the Deal project type's)."""
    board = await service.pipeline_document(ctx, workflow_id, per_column)
    return Response(pipeline_answer(board), media_type="application/json")


@router.get("/deals/{deal_id}")
async def get_deal(deal_id: uuid.UUID, ctx: CtxDep, as_of: Moment | None = None) -> DealOut:
    """`as_of`: the deal as it was then, rebuilt from the audit log (404 if it did not
    exist then); ISO 8601 with a UTC offset, 1900-01-01 to 9999-12-31 (else 422)."""
    if as_of is None:
        deal, flow = await service.get_deal(ctx, deal_id)
    else:
        deal, flow = await service.deal_as_of(ctx, deal_id, as_of)
    return _on_step(deal, flow.step(deal.step_id))


@router.patch("/deals/{deal_id}")
async def update_deal(
    deal_id: uuid.UUID, data: DealPatch, ctx: CtxDep, if_match: IfMatchDep
) -> DealOut:
    """Edit a deal's details; send the version (If-Match or body)."""
    version = expected_version(if_match, data.version)
    deal, flow = await service.update_deal(ctx, deal_id, data, version)
    return _on_step(deal, flow.step(deal.step_id))


@router.delete("/deals/{deal_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_deal(
    deal_id: uuid.UUID,
    ctx: CtxDep,
    if_match: IfMatchDep,
    version: VersionQuery = None,
) -> None:
    """Soft delete, with the deal's planned activities and live cadence enrolments; send
    the version."""
    await service.delete_deal(ctx, deal_id, expected_version(if_match, version))


@router.post("/deals/{deal_id}/restore")
async def restore_deal(
    deal_id: uuid.UUID,
    ctx: CtxDep,
    if_match: IfMatchDep,
    version: VersionQuery = None,
) -> DealOut:
    """Undo the deletion of this deal alone: it comes back with the planned activities
    and cadence enrolments its deletion took, on the board where it was (or at the end
    of its column if its place was taken); a deal deleted with its account comes back
    with the account's restore. The version (If-Match or `?version=`) is optional."""
    deal, flow = await service.restore_deal(ctx, deal_id, expected_version(if_match, version))
    return _on_step(deal, flow.step(deal.step_id))


@router.post("/deals/{deal_id}/move")
@driver_transaction_route
async def move_deal(deal_id: uuid.UUID, data: DealMoveIn, ctx: CtxDep) -> DealMoveOut:
    """Move along a transition (or reorder within the column); won/lost is `/close`."""
    result = await service.move_deal(ctx, deal_id, data)
    return DealMoveOut(
        deal=_on_step(result.deal, result.flow.step(result.deal.step_id)),
        from_step=StepRef.of(result.from_step),
        to_step=StepRef.of(result.to_step),
        backwards=result.move.backwards if result.move else False,
        dry_run=result.dry_run,
        effects=_effects_out(result.effects),
    )


@router.post("/deals/{deal_id}/close")
async def close_deal(deal_id: uuid.UUID, data: CloseIn, ctx: CtxDep) -> CloseOut:
    """Close as won or lost, with the reason; cancels the deal's planned activities."""
    result = await service.close_deal(ctx, deal_id, data)
    return CloseOut(
        deal=_on_step(result.deal, result.flow.step(result.deal.step_id)),
        from_step=StepRef.of(result.move.from_step),
        to_step=StepRef.of(result.move.to_step),
        cancelled_activities=result.cancelled_activities,
        effects=_effects_out(result.effects),
    )


@router.get("/deals/{deal_id}/history")
async def deal_history(deal_id: uuid.UUID, ctx: CtxDep) -> list[DealHistoryEntryOut]:
    """Every step change, oldest first, with the time spent in each stage."""
    entries = await service.deal_history(ctx, deal_id)
    steps = await workflow_queries.steps_by_id(
        ctx.session,
        {e.to_step_id for e in entries} | {e.from_step_id for e in entries if e.from_step_id},
    )

    def ref(step_id: uuid.UUID) -> StepRef:
        return StepRef.stored(*steps[step_id])

    now = datetime.now(UTC)
    ends = [entry.at for entry in entries[1:]] + [now]
    return [
        DealHistoryEntryOut(
            id=entry.id,
            from_step=ref(entry.from_step_id) if entry.from_step_id else None,
            to_step=ref(entry.to_step_id),
            actor_id=entry.actor_id,
            reason=entry.reason,
            notes=entry.notes,
            fields=entry.fields,
            at=entry.at,
            seconds_in_previous_step=entry.seconds_in_previous_step,
            seconds_in_step=max(0.0, (end - entry.at).total_seconds()),
            current=index == len(entries) - 1,
            backwards=entry.backwards,
        )
        for index, (entry, end) in enumerate(zip(entries, ends, strict=True))
    ]
