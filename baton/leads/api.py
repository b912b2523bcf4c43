"""/api/v1/leads: marketing's triage, the hand-over and the sales pool (DESIGN §5, §6)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from baton.accounts.api import account_out
from baton.activities.schemas import ActivityOut
from baton.core.auth import CtxDep, IfMatchDep, get_principal
from baton.core.pagination import (
    MAX_PAGE_SIZE,
    SearchQuery,
    next_cursor,
    next_page,
    page_request,
)
from baton.core.replica import replica_route
from baton.core.routing import JsonRoute
from baton.core.schemas import Page
from baton.core.versioning import expected_version
from baton.deals.api import deal_out
from baton.leads import service
from baton.leads.models import LeadView
from baton.leads.queries import LeadRecord, TeamCursor, team_page
from baton.leads.schemas import (
    AssignIn,
    ClaimOut,
    LeadIn,
    LeadList,
    LeadOut,
    LeadPatch,
    RejectIn,
    TriageIn,
)
from baton.workflow.schemas import StepRef

router = APIRouter(
    prefix="/api/v1/leads",
    tags=["leads"],
    dependencies=[Depends(get_principal)],
    route_class=JsonRoute,
)


def lead_out(record: LeadRecord, owner_name: str | None = None) -> LeadOut:
    lead, step = record.lead, record.step
    due = record.claim_due_at
    return LeadOut(
        id=lead.id,
        company_name=lead.company_name,
        contact_name=lead.contact_name,
        email=lead.email,
        phone=lead.phone,
        source=lead.source,
        need=lead.need,
        notes=lead.notes,
        view=LeadView(lead.view),
        marketing_owner_id=lead.marketing_owner_id,
        sales_owner_id=lead.sales_owner_id,
        account_id=lead.account_id,
        deal_id=lead.deal_id,
        workflow_id=lead.workflow_id,
        step=StepRef(
            id=step.id, key=step.key, name=step.name, category=step.category, order=step.position
        ),
        entered_step_at=lead.entered_step_at,
        qualified_at=lead.qualified_at,
        handed_over_at=lead.handed_over_at,
        claimed_at=lead.claimed_at,
        converted_at=lead.converted_at,
        disqualified_at=lead.disqualified_at,
        disqualify_reason=lead.disqualify_reason,
        disqualify_notes=lead.disqualify_notes,
        rejected_at=lead.rejected_at,
        rejected_by=lead.rejected_by,
        reject_reason=lead.reject_reason,
        reject_notes=lead.reject_notes,
        dedupe_key=lead.dedupe_key,
        claim_due_at=due,
        claim_overdue=due is not None and due < datetime.now(UTC),
        created_at=lead.created_at,
        updated_at=lead.updated_at,
        version=lead.version,
        sales_owner_name=owner_name,
    )


def claim_out(result: service.ClaimResult) -> ClaimOut:
    deal_step = result.deal_flow.step(result.deal.step_id)
    return ClaimOut(
        lead=lead_out(result.lead),
        deal=deal_out(result.deal, StepRef.of(deal_step), deal_step.probability),
        account=account_out(result.account),
        activities=[ActivityOut.model_validate(activity) for activity in result.activities],
    )


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_lead(data: LeadIn, ctx: CtxDep) -> LeadOut:
    """Add a lead to the inbox, at New (marketing, admins, managers)."""
    return lead_out(await service.create_lead(ctx, data))


@router.get("")
@replica_route
async def list_leads(
    view: LeadList,
    ctx: CtxDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    # Not the shared cursor form: the team view's cursor carries the owner's name too.
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    q: SearchQuery = None,
) -> Page[LeadOut]:
    """One queue in creation order: `inbox`, `pool`, `mine`, `nurture`, `disqualified`,
    `converted` — each role only the queues it works (403 otherwise); or `team`, the
    claimed leads of every owner by owner name, with `sales_owner_name` (admins,
    managers, viewers). `q`: only the leads with words of `q` anywhere in the company,
    the contact's name, the email or the phone (each the start of a word; case, accents
    and punctuation ignored; a phone number also by its last digits), best matches first
    in every queue (`baton.db.search`); a `q` without letters or digits matches
    nothing."""
    if q is not None:
        page = page_request(limit, cursor)
        queue = None if view is LeadList.TEAM else LeadView(view.value)
        matched = await service.search_leads(ctx, queue, page, q)
        return Page(
            items=[lead_out(row.record, owner_name=row.owner_name) for row in matched[:limit]],
            next_cursor=next_page(((row.record.lead.id, row.rank) for row in matched), page),
        )
    if view is LeadList.TEAM:
        after = TeamCursor.decode(cursor) if cursor else None
        found = await service.list_team_leads(ctx, limit, after)
        team, following = team_page(found, limit)
        return Page(
            items=[lead_out(row.record, owner_name=row.owner_name) for row in team],
            next_cursor=following,
        )
    page = page_request(limit, cursor)
    records = await service.list_leads(ctx, LeadView(view.value), page)
    shown = records[: page.limit]
    return Page(
        items=[lead_out(record) for record in shown],
        next_cursor=next_cursor(records, page, shown[-1].lead.id if shown else None),
    )


@router.get("/{lead_id}")
async def get_lead(lead_id: uuid.UUID, ctx: CtxDep) -> LeadOut:
    return lead_out(await service.get_lead(ctx, lead_id))


@router.patch("/{lead_id}")
async def update_lead(
    lead_id: uuid.UUID, data: LeadPatch, ctx: CtxDep, if_match: IfMatchDep
) -> LeadOut:
    """Edit a lead's details; send the version (If-Match or body)."""
    version = expected_version(if_match, data.version)
    return lead_out(await service.update_lead(ctx, lead_id, data, version))


@router.post("/{lead_id}/triage")
async def triage_lead(lead_id: uuid.UUID, data: TriageIn, ctx: CtxDep) -> LeadOut:
    """In Review, Qualified (handed over to the pool at once), Nurture or Disqualified."""
    return lead_out(await service.triage_lead(ctx, lead_id, data))


@router.post("/{lead_id}/claim")
async def claim_lead(lead_id: uuid.UUID, ctx: CtxDep) -> ClaimOut:
    """Take a pooled lead: its account, its deal enrolled in the default cadence (or a
    "First contact" call without one), in one transaction.
    Repeating your own claim answers the same; anyone else's claim is 409."""
    return claim_out(await service.claim_lead(ctx, lead_id))


@router.post("/{lead_id}/assign")
async def assign_lead(lead_id: uuid.UUID, data: AssignIn, ctx: CtxDep) -> ClaimOut:
    """A claim on behalf of a named salesperson (admins, managers)."""
    return claim_out(await service.assign_lead(ctx, lead_id, data.user_id))


@router.post("/{lead_id}/reject")
async def reject_lead(lead_id: uuid.UUID, data: RejectIn, ctx: CtxDep) -> LeadOut:
    """Hand a pooled lead back to marketing's inbox with a reason."""
    return lead_out(await service.reject_lead(ctx, lead_id, data))


@router.post("/{lead_id}/release")
async def release_lead(lead_id: uuid.UUID, ctx: CtxDep) -> LeadOut:
    """Give a claimed lead nobody has worked yet back to the pool."""
    return lead_out(await service.release_lead(ctx, lead_id))


@router.post("/{lead_id}/convert")
async def convert_lead(lead_id: uuid.UUID, ctx: CtxDep) -> ClaimOut:
    """Mark a claimed lead converted; answers its account, deal and planned work."""
    return claim_out(await service.convert_lead(ctx, lead_id))
