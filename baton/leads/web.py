"""Lead pages: the queues of DESIGN §5, each for the roles that work it.

- Lead Inbox (`/leads/inbox`; marketing, managers, admins): New and In Review leads (a
  lead sales sent back shows why), "Add lead", triage buttons; Disqualify opens a small
  form with the transition's reasons; a refused Qualify (no email/phone, no need)
  answers inline with the suggestion to nurture and a button for it.
- Sales Inbox (`/leads/pool`; sales, managers, admins): the pool by claim due (overdue
  flagged: the due time is the organization's claim SLA after the lead entered the
  pool) and the caller's overdue activities. One-click Claim redraws the row with
  "Open the deal"; a claim lost to a colleague answers 409 with the pool redrawn and
  "Someone just claimed this lead". Managers and admins also get "Assign to…" on each
  row (the organization's salespeople, read once per page), a claim on that person's
  behalf that answers the same way. Reject sends a lead back to marketing with a reason.
- My Leads (`/leads/mine`; sales, managers, admins — whoever can claim): the caller's
  claimed leads with their deal, Release and Convert.
- Nurture and Disqualified (marketing, managers, admins); "Review again" from nurture.
- Converted (`/leads/converted`; managers, admins): the archive of converted leads,
  each linking to the deal it became.
- Team's leads (`/leads/team`; managers, admins): every salesperson's claimed,
  unconverted leads, grouped under the owner's name (sorted by it), each linking to
  its deal. Its "Load more" cursor is the last row's owner and lead.

Every list shows its first `PAGE_SIZE` leads and "Load more", which appends the next
page's rows (`?cursor=…&part=rows`, the API's cursor; the pool's cursor is its sort
key, claim due and id) with the same few statements whatever the page.

Viewers work no queue and get none of these pages (403); they read deals and accounts.
Handlers parse the form, call one service function and render; a list redraws itself
after an action (`#leads-list`), a refusal shows next to its row (`form_error`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from baton.activities import queries as activity_queries
from baton.activities.queries import ViewPage
from baton.activities.schemas import ActivityView
from baton.activities.web import planned_first, rows_of
from baton.audit.trail import TrailEntity
from baton.audit.web import changes_context
from baton.core.auth import CtxDep
from baton.core.context import Ctx
from baton.core.errors import Conflict, DomainError, NotFound, PermissionDenied, RuleViolation
from baton.core.pagination import PageRequest, decode_cursor, next_cursor, next_page, page_of
from baton.core.schemas import parse_input
from baton.identity.access import WRITERS, require_role
from baton.identity.models import Role
from baton.identity.queries import member_names, members_with_roles
from baton.leads import queries, service
from baton.leads.models import LeadView
from baton.leads.queries import LeadRecord, PoolCursor, TeamCursor
from baton.leads.schemas import AssignIn, LeadIn, LeadPatch, RejectIn, TriageIn, TriageStatus
from baton.leads.service import MARKETING_SIDE, SALES_SIDE, SUPERVISORS
from baton.saved_views.models import ListKind
from baton.saved_views.web import view_tabs
from baton.web.rendering import render
from baton.workflow import service as workflow_service
from baton.workflow.engine import CompiledWorkflow
from baton.workflow.models import EntityType
from baton.workflow.web import form_error, is_htmx, optional, redirect, text, version_of

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 100
MAX_QUERY = 200
OVERDUE_SHOWN = 20
TAKEN = "Someone just claimed this lead"


class _Queue:
    def __init__(
        self, view: LeadView, title: str, roles: tuple[Role, ...], *, every_owner: bool = False
    ) -> None:
        self.view, self.title, self.roles = view, title, roles
        # The `mine` view of every salesperson (the team list), not the caller's.
        self.every_owner = every_owner


QUEUES = {
    "inbox": _Queue(LeadView.INBOX, "Lead Inbox", MARKETING_SIDE),
    "pool": _Queue(LeadView.POOL, "Sales Inbox", SALES_SIDE),
    "mine": _Queue(LeadView.MINE, "My Leads", SALES_SIDE),
    "nurture": _Queue(LeadView.NURTURE, "Nurture", MARKETING_SIDE),
    "disqualified": _Queue(LeadView.DISQUALIFIED, "Disqualified", MARKETING_SIDE),
    "converted": _Queue(LeadView.CONVERTED, "Converted", SUPERVISORS),
    "team": _Queue(LeadView.MINE, "Team's leads", SUPERVISORS, every_owner=True),
}


def _reasons(flow: CompiledWorkflow, from_key: str, to_key: str) -> tuple[str, ...]:
    """The reason codes of a transition of the lead workflow (none if it is gone)."""
    try:
        edge = flow.edges.get((flow.step_by_key(from_key).id, flow.step_by_key(to_key).id))
    except KeyError:
        return ()
    return edge.reasons if edge else ()


async def _lead_flow(ctx: Ctx) -> CompiledWorkflow:
    workflow_id, version = await service.lead_workflow(ctx)
    return await workflow_service.require_compiled(ctx, workflow_id, version)


def _owner_ids(records: Iterable[LeadRecord]) -> Iterable[uuid.UUID | None]:
    for record in records:
        yield record.lead.marketing_owner_id
        yield record.lead.sales_owner_id
        yield record.lead.rejected_by


async def _found(
    ctx: Ctx, queue: _Queue, cursor: str | None, q: str = ""
) -> tuple[list[LeadRecord], str | None, dict[uuid.UUID, str]]:
    """One page of a queue (the pool by claim due, the team by owner name; searched:
    best matches first), the cursor of the next, if any, and the owners' names the
    list read along (the team's)."""
    if q:
        page = page_of(PAGE_SIZE, cursor[:64] if cursor else None)
        matched = await service.search_leads(
            ctx, None if queue.every_owner else queue.view, page, q
        )
        names = {
            row.record.lead.sales_owner_id: row.owner_name
            for row in matched[:PAGE_SIZE]
            if row.owner_name is not None and row.record.lead.sales_owner_id is not None
        }
        return (
            [row.record for row in matched[:PAGE_SIZE]],
            next_page(((row.record.lead.id, row.rank) for row in matched), page),
            names,
        )
    if queue.every_owner:
        found_team = await service.list_team_leads(
            ctx, PAGE_SIZE, TeamCursor.decode(cursor[:64]) if cursor else None
        )
        team, following = queries.team_page(found_team, PAGE_SIZE)
        names = {row.owner_id: row.owner_name for row in team}
        return [row.record for row in team], following, names
    if queue.view is LeadView.POOL:
        after = PoolCursor.decode(cursor[:80]) if cursor else None
        found = await queries.pool_by_claim_due(ctx.session, PAGE_SIZE, after)
        leads = found[:PAGE_SIZE]
        last = leads[-1] if leads else None
        if len(found) <= PAGE_SIZE or last is None or last.claim_due_at is None:
            return leads, None, {}
        return leads, PoolCursor(last.claim_due_at, last.lead.id).encode(), {}
    page = PageRequest(limit=PAGE_SIZE, after=decode_cursor(cursor[:64]) if cursor else None)
    found = await service.list_leads(ctx, queue.view, page)
    leads = found[:PAGE_SIZE]
    return leads, next_cursor(found, page, leads[-1].lead.id if leads else None), {}


async def _list_context(
    ctx: Ctx, name: str, notice: str | None, cursor: str | None = None, q: str = ""
) -> dict[str, Any]:
    """What a queue's list shows: one page of its leads (the pool by claim due; those
    matching `q`, best first), who they belong to, the reason lists of the actions it
    offers and, on the pool for managers and admins, the salespeople a lead may be
    assigned to."""
    queue = QUEUES[name]
    principal = require_role(ctx, *queue.roles)
    leads, following, names = await _found(ctx, queue, cursor, q)
    flow = await _lead_flow(ctx)
    can_assign = queue.view is LeadView.POOL and principal.role in SUPERVISORS
    owners = await member_names(ctx.session, _owner_ids(leads))
    # The team list sorts by the names it read; a former member keeps theirs there.
    owners.update(names)
    return {
        "queue": name,
        "title": queue.title,
        "leads": leads,
        "q": q,
        "more_url": (
            f"/leads/{name}?"
            + urlencode({**({"q": q} if q else {}), "cursor": following, "part": "rows"})
            if following
            else None
        ),
        "owners": owners,
        # The team list's group headers: a "Load more" page continues the last group.
        "previous_owner": TeamCursor.decode(cursor[:64]).owner_id
        if queue.every_owner and cursor and not q
        else None,
        "now": datetime.now(UTC),
        "notice": notice,
        "disqualify_reasons": _reasons(flow, "in_review", "disqualified"),
        "reject_reasons": _reasons(flow, "handed_over", "in_review"),
        "can_assign": can_assign,
        # Rows ticked for one action: triage in marketing's queues, assignment in the pool.
        "bulk_on": can_assign or queue.view in (LeadView.INBOX, LeadView.NURTURE),
        "bulk_stages": [
            (status.value, flow.step_by_key(status.value).name) for status in TriageStatus
        ],
        # One statement for every row's "Assign to…" choices.
        "salespeople": await members_with_roles(ctx.session, SALES_SIDE) if can_assign else [],
    }


async def _page(
    request: Request,
    ctx: Ctx,
    name: str,
    cursor: str | None = None,
    part: str | None = None,
    q: str = "",
) -> Response:
    # As the API's `SearchQuery`: bounded, and no NUL (PostgreSQL text cannot hold one).
    q = q.replace("\x00", "").strip()[:MAX_QUERY]
    context = await _list_context(ctx, name, None, cursor, q)
    htmx = is_htmx(request) and "hx-history-restore-request" not in request.headers
    if htmx and part == "rows":
        # "Load more": the next page's rows, appended in place of the button's row.
        return render(request, f"leads/_{name}_rows.html", **context)
    # The queue's saved views as tabs; the search is the queue's one filter.
    current = {"q": q} if q else {}
    context["tabs"] = await view_tabs(ctx, ListKind(f"leads_{name}"), current)
    if htmx and part == "list":
        # The search box: the list redrawn, and the address carries the search.
        response = render(request, "leads/_section.html", **context)
        response.headers["HX-Push-Url"] = f"/leads/{name}" + (
            f"?{urlencode(current)}" if current else ""
        )
        return response
    if name == "pool":
        principal = ctx.require_principal()
        now = context["now"]
        late = await activity_queries.list_view(
            ctx.session,
            ActivityView.OVERDUE,
            ViewPage(OVERDUE_SHOWN, None),
            principal.user_id,
            now,
        )
        shown = late[:OVERDUE_SHOWN]
        names = await activity_queries.related_names(ctx.session, shown)
        owners = await member_names(ctx.session, (a.owner_id for a in shown))
        context["overdue"] = rows_of(shown, names, owners, now)
        context["overdue_more"] = len(late) > OVERDUE_SHOWN
        # The planner's rows, with their one-click actions.
        context.update(can_write=True, show_account=True, return_to="/leads/pool")
    return render(request, f"leads/{name}.html", **context)


async def _redraw(
    request: Request, ctx: Ctx, name: str, notice: str, status_code: int = 200
) -> Response:
    """After an action: the queue's list redrawn with a notice (htmx), else the page."""
    if not is_htmx(request):
        return RedirectResponse(f"/leads/{name}", status_code=303)
    context = await _list_context(ctx, name, notice)
    return render(request, f"leads/_{name}.html", status_code=status_code, **context)


def _queue_of(raw: str, default: str) -> str:
    return raw if raw in QUEUES else default


def _from_lead_page(form: FormData) -> bool:
    """An action sent from a lead's own page goes back there (or to where the lead
    went) instead of redrawing a list."""
    return text(form, "return_to") == "lead"


# ------------------------------------------------------------------ marketing's actions


@router.post("/leads")
async def lead_create(request: Request, ctx: CtxDep) -> Response:
    form = await request.form()
    try:
        data = parse_input(
            LeadIn,
            {
                "company_name": text(form, "company_name"),
                "contact_name": optional(text(form, "contact_name")),
                "email": optional(text(form, "email")),
                "phone": optional(text(form, "phone")),
                "source": optional(text(form, "source")),
                "need": optional(text(form, "need")),
                "notes": optional(text(form, "notes")),
            },
        )
        record = await service.create_lead(ctx, data)
    except DomainError as error:
        return form_error(request, error)
    return await _redraw(request, ctx, "inbox", f"{record.lead.company_name} added")


TRIAGE_DONE = {
    TriageStatus.IN_REVIEW: "is in review",
    TriageStatus.QUALIFIED: "was qualified and handed over to sales",
    TriageStatus.NURTURE: "moved to Nurture",
    TriageStatus.DISQUALIFIED: "was disqualified",
}


@router.post("/leads/{lead_id}/triage")
async def lead_triage(request: Request, ctx: CtxDep, lead_id: uuid.UUID) -> Response:
    form = await request.form()
    queue = _queue_of(text(form, "queue"), "inbox")
    try:
        data = parse_input(
            TriageIn,
            {
                "status": text(form, "status"),
                "reason": optional(text(form, "reason")),
                "notes": optional(text(form, "notes")),
                "version": version_of(form),
            },
        )
        record = await service.triage_lead(ctx, lead_id, data)
    except RuleViolation as error:
        asks_contact = any(problem.field in ("email", "need") for problem in error.errors)
        on_list = not _from_lead_page(form)
        if is_htmx(request) and on_list and asks_contact and text(form, "status") == "qualified":
            return render(
                request,
                "leads/_qualify_refused.html",
                status_code=error.status,
                error=error,
                lead_id=lead_id,
                version=version_of(form),
                queue=queue,
            )
        return form_error(request, error)
    except DomainError as error:
        return form_error(request, error)
    if _from_lead_page(form):
        return redirect(request, f"/leads/{lead_id}")
    notice = f"{record.lead.company_name} {TRIAGE_DONE[data.status]}"
    return await _redraw(request, ctx, queue, notice)


# ------------------------------------------------------------------ sales' actions


async def _lost(request: Request, ctx: Ctx, error: DomainError) -> Response:
    """A claim or an assignment that lost the lead (or found it gone): say so above the
    pool and redraw the pool (out of band) as it is now; the status stays the
    service's (409, 404)."""
    message = TAKEN if isinstance(error, Conflict) else error.detail
    context = await _list_context(ctx, "pool", None)
    return render(
        request,
        "leads/_claim_lost.html",
        status_code=error.status,
        message=message,
        **context,
    )


@router.post("/leads/{lead_id}/claim")
async def lead_claim(request: Request, ctx: CtxDep, lead_id: uuid.UUID) -> Response:
    form = await request.form()
    try:
        result = await service.claim_lead(ctx, lead_id)
    except PermissionDenied:
        raise
    except DomainError as error:
        if not is_htmx(request):
            raise
        if _from_lead_page(form):
            return form_error(request, error)
        return await _lost(request, ctx, error)
    if not is_htmx(request) or _from_lead_page(form):
        return redirect(request, f"/deals/{result.deal.id}")
    return render(request, "leads/_claimed_row.html", record=result.lead, deal=result.deal)


@router.post("/leads/{lead_id}/assign")
async def lead_assign(request: Request, ctx: CtxDep, lead_id: uuid.UUID) -> Response:
    """Managers and admins give a pooled lead to a salesperson (`assign_lead`: a claim
    on their behalf). Lost to a claimer meanwhile: the claim's answer; a refused
    choice (not a salesperson): the reason above the pool."""
    # The role first: a salesperson's malformed form is 403, not a validation error.
    require_role(ctx, *SUPERVISORS)
    form = await request.form()
    try:
        data = parse_input(AssignIn, {"user_id": text(form, "user_id")})
        result = await service.assign_lead(ctx, lead_id, data.user_id)
    except PermissionDenied:
        raise
    except (Conflict, NotFound) as error:
        if not is_htmx(request):
            raise
        return await _lost(request, ctx, error)
    except DomainError as error:
        return form_error(request, error)
    if not is_htmx(request):
        return RedirectResponse("/leads/pool", status_code=303)
    names = await member_names(ctx.session, [data.user_id])
    return render(
        request,
        "leads/_claimed_row.html",
        record=result.lead,
        deal=result.deal,
        # The supervisors' pool has the bulk checkbox column.
        bulk_on=True,
        assignee=names.get(data.user_id, "the salesperson"),
    )


@router.post("/leads/{lead_id}/reject")
async def lead_reject(request: Request, ctx: CtxDep, lead_id: uuid.UUID) -> Response:
    form = await request.form()
    try:
        data = parse_input(
            RejectIn, {"reason": text(form, "reason"), "notes": optional(text(form, "notes"))}
        )
        record = await service.reject_lead(ctx, lead_id, data)
    except DomainError as error:
        return form_error(request, error)
    if _from_lead_page(form):
        # Back with marketing: out of sales' sight, so back to the pool.
        return redirect(request, "/leads/pool")
    return await _redraw(request, ctx, "pool", f"{record.lead.company_name} went back to marketing")


@router.post("/leads/{lead_id}/release")
async def lead_release(request: Request, ctx: CtxDep, lead_id: uuid.UUID) -> Response:
    form = await request.form()
    try:
        record = await service.release_lead(ctx, lead_id)
    except DomainError as error:
        return form_error(request, error)
    if _from_lead_page(form):
        return redirect(request, f"/leads/{lead_id}")
    return await _redraw(request, ctx, "mine", f"{record.lead.company_name} is back in the pool")


@router.post("/leads/{lead_id}/convert")
async def lead_convert(request: Request, ctx: CtxDep, lead_id: uuid.UUID) -> Response:
    try:
        result = await service.convert_lead(ctx, lead_id)
    except DomainError as error:
        return form_error(request, error)
    if not is_htmx(request) or _from_lead_page(await request.form()):
        return redirect(request, f"/deals/{result.deal.id}")
    context = await _list_context(ctx, "mine", f"{result.lead.lead.company_name} converted")
    return render(request, "leads/_mine.html", converted_deal=result.deal, **context)


# ------------------------------------------------------------------ one lead


@router.get("/leads/{lead_id:uuid}")
async def lead_page(request: Request, ctx: CtxDep, lead_id: uuid.UUID) -> Response:
    """A lead's record: its details (editable by writers), where it stands and the
    actions its step offers the caller's role, what it became (account, deal) and
    its timeline. Any member who sees the lead (RLS; 404 otherwise)."""
    principal = ctx.require_principal()
    record = await service.get_lead(ctx, lead_id)
    lead = record.lead
    flow = await _lead_flow(ctx)
    timeline = planned_first(
        await activity_queries.for_record(ctx.session, EntityType.LEAD, lead_id)
    )
    role = principal.role
    # The list the lead is on, for the way back: a colleague's claimed lead is on the
    # team's list, not "My Leads".
    queue: str | None = lead.view if lead.view in QUEUES else None
    if queue == "mine" and lead.sales_owner_id != principal.user_id:
        queue = "team" if role in SUPERVISORS else None
    return render(
        request,
        "leads/detail.html",
        record=record,
        lead=lead,
        outcome=await queries.outcome_of(ctx.session, lead.account_id, lead.deal_id),
        timeline=timeline,
        names=await member_names(
            ctx.session, [*_owner_ids([record]), *(entry.created_by for entry in timeline)]
        ),
        now=datetime.now(UTC),
        queue_url=f"/leads/{queue}" if queue else None,
        queue_title=QUEUES[queue].title if queue else None,
        can_edit=role in WRITERS,
        triages=role in MARKETING_SIDE,
        sells=role in SALES_SIDE,
        owns=role in SUPERVISORS or lead.sales_owner_id == principal.user_id,
        disqualify_reasons=_reasons(flow, "in_review", "disqualified"),
        close_reasons=_reasons(flow, "claimed", "disqualified"),
        reject_reasons=_reasons(flow, "handed_over", "in_review"),
        **await changes_context(ctx, TrailEntity.LEAD, lead_id),
    )


@router.post("/leads/{lead_id}/edit")
async def lead_edit(request: Request, ctx: CtxDep, lead_id: uuid.UUID) -> Response:
    form = await request.form()
    try:
        data = parse_input(
            LeadPatch,
            {
                "company_name": text(form, "company_name"),
                "contact_name": optional(text(form, "contact_name")),
                "email": optional(text(form, "email")),
                "phone": optional(text(form, "phone")),
                "source": optional(text(form, "source")),
                "need": optional(text(form, "need")),
                "notes": optional(text(form, "notes")),
            },
        )
        await service.update_lead(ctx, lead_id, data, version_of(form))
    except DomainError as error:
        return form_error(request, error)
    return redirect(request, f"/leads/{lead_id}")


# ------------------------------------------------------------------ the lists


# Registered after `/leads/{lead_id:uuid}`: a lead's id is never taken for a list.
@router.get("/leads/{queue}")
async def queue_page(
    request: Request,
    ctx: CtxDep,
    queue: str,
    cursor: str | None = None,
    part: str | None = None,
    q: str = "",
) -> Response:
    """One of the lead lists (`QUEUES`) for the roles that work it, searched by `q`;
    any other name is a 404 page."""
    if queue not in QUEUES:
        raise NotFound("No such page")
    return await _page(request, ctx, queue, cursor, part, q)
