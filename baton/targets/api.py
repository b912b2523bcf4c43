"""/api/v1/targets: prospecting lists, their status changes and their conversion."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, status

from baton.accounts.api import account_out
from baton.core.auth import CtxDep, IfMatchDep, VersionQuery, get_principal
from baton.core.pagination import PageRequest, SearchQuery, next_page, page_request
from baton.core.routing import JsonRoute
from baton.core.schemas import Page
from baton.core.versioning import expected_version
from baton.deals.api import deal_out
from baton.targets import service
from baton.targets.models import Target
from baton.targets.schemas import (
    ConvertOut,
    StatusCount,
    StatusIn,
    StepKey,
    SummaryOut,
    TargetActivityOut,
    TargetIn,
    TargetOut,
    TargetPatch,
)
from baton.workflow.engine import CompiledWorkflow
from baton.workflow.schemas import StepRef

router = APIRouter(
    prefix="/api/v1/targets",
    tags=["targets"],
    dependencies=[Depends(get_principal)],
    route_class=JsonRoute,
)


def target_out(target: Target, step: StepRef) -> TargetOut:
    return TargetOut(
        id=target.id,
        company_name=target.company_name,
        contact_name=target.contact_name,
        email=target.email,
        phone=target.phone,
        notes=target.notes,
        owner_id=target.owner_id,
        status=step.key,
        workflow_id=target.workflow_id,
        step=step,
        entered_step_at=target.entered_step_at,
        dedupe_key=target.dedupe_key,
        account_id=target.converted_account_id,
        deal_id=target.converted_deal_id,
        converted_at=target.converted_at,
        dropped_at=target.dropped_at,
        drop_reason=target.drop_reason,
        drop_notes=target.drop_notes,
        created_at=target.created_at,
        updated_at=target.updated_at,
        version=target.version,
    )


def _on_flow(target: Target, flow: CompiledWorkflow) -> TargetOut:
    return target_out(target, StepRef.of(flow.step(target.step_id)))


def _listed(row: Any) -> TargetOut:
    step = StepRef.listed(row)
    return target_out(service.target_of(row), step)


@router.get("")
async def list_targets(
    ctx: CtxDep,
    status: StepKey | None = None,
    q: SearchQuery = None,
    page: PageRequest = Depends(page_request),
) -> Page[TargetOut]:
    """Live targets; `status`: a step key of the target workflow. Without `q`, in
    creation order. `q`: words found anywhere in the company, the contact's name, the
    email or the phone (each the start of a word; case, accents and punctuation
    ignored; a phone number also by its last digits), best matches first
    (`baton.db.search`); a `q` without letters or digits matches nothing."""
    rows = await service.list_targets(ctx, page, status, q)
    return Page(
        items=[_listed(row) for row in rows[: page.limit]],
        next_cursor=next_page(((row.id, row._mapping.get("search_rank")) for row in rows), page),
    )


@router.get("/summary")
async def target_summary(ctx: CtxDep) -> SummaryOut:
    """How many live targets each status holds, in workflow order (zeros included)."""
    workflow_id, counts = await service.summary(ctx)
    return SummaryOut(
        workflow_id=workflow_id,
        statuses=[
            StatusCount(
                status=c.key, name=c.name, category=c.category, order=c.position, count=c.count
            )
            for c in counts
        ],
        total=sum(c.count for c in counts),
    )


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_target(data: TargetIn, ctx: CtxDep) -> TargetOut:
    """Add a target at New Target; a live target with the same email (else phone,
    else company) is 409 naming it."""
    return _on_flow(*await service.create_target(ctx, data))


@router.get("/{target_id}")
async def get_target(target_id: uuid.UUID, ctx: CtxDep) -> TargetOut:
    return _on_flow(*await service.get_target(ctx, target_id))


@router.patch("/{target_id}")
async def update_target(
    target_id: uuid.UUID, data: TargetPatch, ctx: CtxDep, if_match: IfMatchDep
) -> TargetOut:
    """Edit the details; send the version (If-Match or body). The status changes by
    /status and /convert."""
    version = expected_version(if_match, data.version)
    return _on_flow(*await service.update_target(ctx, target_id, data, version))


@router.delete("/{target_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_target(
    target_id: uuid.UUID, ctx: CtxDep, if_match: IfMatchDep, version: VersionQuery = None
) -> None:
    """Soft delete; send the version (If-Match or `?version=`)."""
    await service.delete_target(ctx, target_id, expected_version(if_match, version))


@router.post("/{target_id}/restore")
async def restore_target(
    target_id: uuid.UUID, ctx: CtxDep, if_match: IfMatchDep, version: VersionQuery = None
) -> TargetOut:
    """Undo a deletion: the target comes back with the planned activities its deletion
    took. 409 if it is not deleted, or a live target has its email, phone or company
    now (naming it). The version (If-Match or `?version=`) is optional."""
    restored = await service.restore_target(ctx, target_id, expected_version(if_match, version))
    return _on_flow(*restored)


@router.post("/{target_id}/status")
async def change_status(target_id: uuid.UUID, data: StatusIn, ctx: CtxDep) -> TargetOut:
    """Move along a transition of the target workflow; dropping needs a reason."""
    return _on_flow(*await service.change_status(ctx, target_id, data))


@router.post("/{target_id}/convert")
async def convert_target(target_id: uuid.UUID, ctx: CtxDep) -> ConvertOut:
    """Account, contact, deal and its cadence activities (or a "First contact" call) in
    one transaction; a repeat answers the same account and deal."""
    result = await service.convert_target(ctx, target_id)
    deal_step = result.deal_flow.step(result.deal.step_id)
    return ConvertOut(
        target=_on_flow(result.target, result.flow),
        account=account_out(result.account),
        deal=deal_out(result.deal, StepRef.of(deal_step), deal_step.probability),
        activities=[TargetActivityOut.model_validate(a) for a in result.activities],
    )


@router.get("/{target_id}/activities")
async def target_activities(target_id: uuid.UUID, ctx: CtxDep) -> list[TargetActivityOut]:
    """The target's timeline (stage changes, the conversion's first call), newest first."""
    return [
        TargetActivityOut.model_validate(a) for a in await service.activities_of(ctx, target_id)
    ]
