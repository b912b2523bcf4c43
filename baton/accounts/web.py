"""Account pages: the list (live search, status filters, "Load more") and one account's
overview — profile, computed status, contacts, deals, activities — with its forms.

Handlers parse the form, call one service function and render. Every write on the
overview answers with the overview redrawn (`#overview`), so the contact and deal
choices of the other forms stay current; a refused form is answered with a fragment
naming each problem, shown next to the form (`form_error`). Viewers read only.
Deleted accounts are 404 here: the trash is the API's.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from starlette.datastructures import FormData

from baton.accounts import queries, service

# The search box reads `q` exactly as the API does.
from baton.accounts.models import ActivityLevel, Tenure
from baton.accounts.schemas import AccountIn, AccountPatch
from baton.activities import queries as activity_queries
from baton.activities import service as activity_service
from baton.activities.queries import RelatedRef
from baton.activities.schemas import NewActivityType
from baton.activities.web import (
    ActivityRow,
    activity_row,
    can_write,
    default_due,
    logged_activity,
)
from baton.audit.trail import TrailEntity
from baton.audit.web import changes_context
from baton.cadences import queries as cadence_queries
from baton.contacts import service as contact_service
from baton.contacts.schemas import ContactIn
from baton.core.auth import CtxDep
from baton.core.context import Ctx
from baton.core.errors import DomainError, NotFound
from baton.core.pagination import next_page, page_of
from baton.core.schemas import parse_input
from baton.deals import service as deal_service
from baton.deals.models import Deal
from baton.deals.schemas import DealIn
from baton.identity.access import WRITERS
from baton.identity.queries import default_currency, member_names, members_with_roles
from baton.saved_views.models import ListKind
from baton.saved_views.web import view_tabs
from baton.web.formatting import code_label, typed_amount
from baton.web.rendering import render, viewer_locale, viewer_zone
from baton.workflow import engine
from baton.workflow import service as workflow_service
from baton.workflow.models import Workflow
from baton.workflow.web import form_error, is_htmx, optional, redirect, text, version_of

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
MAX_QUERY = 200
TENURE_LABELS = {
    Tenure.PROSPECT.value: "Prospect",
    Tenure.NEW_CUSTOMER.value: "New Customer",
    Tenure.ACTIVE_CUSTOMER.value: "Active Customer",
    Tenure.WINBACK_TARGET.value: "Winback Target",
}
ACTIVITY_LABELS = {
    ActivityLevel.ACTIVE.value: "Active",
    ActivityLevel.PASSIVE.value: "Passive",
    ActivityLevel.INACTIVE.value: "Inactive",
    ActivityLevel.NO_TRANSACTION.value: "No Transaction",
}
LABELS: dict[str, Any] = {"tenure_labels": TENURE_LABELS, "activity_labels": ACTIVITY_LABELS}
NOTICES = {"deleted": "The account was deleted, with its contacts, open deals and planned work."}


def _tags(raw: str) -> list[str]:
    return [tag.strip() for tag in raw.split(",") if tag.strip()]


# ------------------------------------------------------------------ the list


@router.get("/accounts")
async def accounts_page(
    request: Request,
    ctx: CtxDep,
    q: str = "",
    tenure: str = "",
    activity: str = "",
    owner: str = "",
    cursor: str | None = None,
    part: str | None = None,
    notice: str | None = None,
) -> Response:
    principal = ctx.require_principal()
    # As the API's `SearchQuery`: bounded, and no NUL (PostgreSQL text cannot hold one).
    q = q.replace("\x00", "").strip()[:MAX_QUERY]
    tenure_filter = Tenure(tenure) if tenure in TENURE_LABELS else None
    activity_filter = ActivityLevel(activity) if activity in ACTIVITY_LABELS else None
    mine = owner == "me"
    page = page_of(PAGE_SIZE, cursor[:64] if cursor else None)
    rows = await queries.list_accounts(
        ctx.session,
        page,
        q=q or None,
        owner_id=principal.user_id if mine else None,
        tenure=tenure_filter,
        activity=activity_filter,
    )
    shown = rows[:PAGE_SIZE]
    following = next_page(((row.account.id, row.rank) for row in rows), page)
    filters = {
        "q": q,
        "tenure": tenure_filter.value if tenure_filter else "",
        "activity": activity_filter.value if activity_filter else "",
        "owner": "me" if mine else "",
    }
    more_url = None
    if following is not None:
        kept = {key: value for key, value in filters.items() if value}
        more_url = "/accounts?" + urlencode({**kept, "cursor": following, "part": "rows"})
    context: dict[str, Any] = {
        "rows": shown,
        "owners": await member_names(ctx.session, (row.account.owner_id for row in shown)),
        "filters": filters,
        "more_url": more_url,
        "can_write": can_write(principal),
        "notice": NOTICES.get(notice or ""),
        **LABELS,
    }
    htmx = is_htmx(request) and "hx-history-restore-request" not in request.headers
    if htmx and part == "rows":
        # "Load more" appends rows.
        return render(request, "accounts/_rows.html", **context)
    # The results carry the saved views' tabs: the filters redraw both.
    current = {key: value for key, value in filters.items() if value}
    context["tabs"] = await view_tabs(ctx, ListKind.ACCOUNTS, current)
    if htmx:
        return render(request, "accounts/_results.html", **context)
    if context["can_write"]:
        # The action bar's choices: who may own records, the cadences to enrol in.
        context["bulk_owners"] = await members_with_roles(ctx.session, WRITERS)
        context["bulk_cadences"] = await cadence_queries.cadence_choices(ctx.session)
    return render(request, "accounts/list.html", **context)


@router.post("/accounts")
async def account_create(request: Request, ctx: CtxDep) -> Response:
    form = await request.form()
    try:
        data = parse_input(
            AccountIn,
            {
                "name": text(form, "name"),
                "domain": optional(text(form, "domain")),
                "tax_id": optional(text(form, "tax_id")),
                "industry": optional(text(form, "industry")),
                "tags": _tags(text(form, "tags")),
            },
        )
        created = await service.create_account(ctx, data)
    except DomainError as error:
        return form_error(request, error)
    return redirect(request, f"/accounts/{created.account.id}")


# ------------------------------------------------------------------ one account


def _ref(value: dict[str, Any] | None) -> RelatedRef | None:
    return RelatedRef(value["id"], value["name"], value["deleted"]) if value else None


async def _activity_rows(
    ctx: Ctx,
    account: RelatedRef,
    summaries: list[dict[str, Any]],
    owners: dict[uuid.UUID, str],
    now: datetime,
) -> list[ActivityRow]:
    """The overview's activities as the planner's rows (the actions need each version)."""
    loaded = {
        activity.id: activity
        for activity in await activity_queries.by_ids(ctx.session, [s["id"] for s in summaries])
    }
    return [
        activity_row(
            loaded[summary["id"]],
            owners,
            now,
            account=account,
            contact=_ref(summary["contact"]),
            deal=_ref(summary["deal"]),
        )
        for summary in summaries
        if summary["id"] in loaded
    ]


def _owner_ids(overview: queries.Overview) -> Iterable[uuid.UUID | None]:
    yield from (deal["owner_id"] for deal in overview.open_deals)
    yield from (deal["owner_id"] for deal in overview.closed_deals)
    yield from (a["owner_id"] for a in overview.upcoming_activities)
    yield from (a["owner_id"] for a in overview.recent_activities)


async def _render_overview(
    request: Request,
    ctx: Ctx,
    account_id: uuid.UUID,
    template: str,
    notice: str | None = None,
    **extra: Any,
) -> Response:
    principal = ctx.require_principal()
    row, overview = await service.account_overview(ctx, account_id)
    account = row.account
    owners = await member_names(ctx.session, [account.owner_id, *_owner_ids(overview)])
    now = datetime.now(UTC)
    ref = RelatedRef(account.id, account.name, False)
    writes = can_write(principal)
    return render(
        request,
        template,
        row=row,
        account=account,
        status=row.status,
        overview=overview,
        upcoming=await _activity_rows(ctx, ref, overview.upcoming_activities, owners, now),
        recent=await _activity_rows(ctx, ref, overview.recent_activities, owners, now),
        owners=owners,
        reason_labels=await _reason_labels(ctx, overview.closed_deals),
        can_write=writes,
        cadences=await cadence_queries.cadence_choices(ctx.session) if writes else [],
        default_currency=await default_currency(ctx.session) if writes else "",
        notice=notice,
        activity_types=[t.value for t in NewActivityType],
        due=default_due(viewer_zone(ctx), now),
        return_to=f"/accounts/{account.id}",
        **LABELS,
        **extra,
    )


async def _reason_labels(ctx: Ctx, closed: list[dict[str, Any]]) -> dict[uuid.UUID, str]:
    """Each closed deal's win or loss reason as its workflow labels it ("Budget frozen
    this year"), or in words when the workflow gives it no label (`no_budget` → "No
    budget"). One query for the deals' workflows, then each compiled workflow once."""
    coded = {deal["id"]: deal["win_reason"] or deal["loss_reason"] for deal in closed}
    wanted = [deal_id for deal_id, code in coded.items() if code]
    if not wanted:
        return {}
    rows = (
        await ctx.session.execute(
            select(Deal.id, Deal.workflow_id, Workflow.version)
            .join(
                Workflow,
                (Workflow.tenant_id == Deal.tenant_id) & (Workflow.id == Deal.workflow_id),
            )
            .where(Deal.id.in_(wanted))
        )
    ).all()
    flows: dict[uuid.UUID, engine.CompiledWorkflow | None] = {}
    labels: dict[uuid.UUID, str] = {}
    for deal_id, workflow_id, version in rows:
        if workflow_id not in flows:
            try:
                flows[workflow_id] = await workflow_service.compiled(ctx, workflow_id, version)
            except DomainError:
                flows[workflow_id] = None
        flow = flows[workflow_id]
        code = str(coded[deal_id])
        labels[deal_id] = (flow.reason_label(code) if flow else "") or code_label(code)
    return labels


async def _after_change(request: Request, ctx: Ctx, account_id: uuid.UUID, notice: str) -> Response:
    if not is_htmx(request):
        return redirect(request, f"/accounts/{account_id}")
    return await _render_overview(request, ctx, account_id, "accounts/_overview.html", notice)


@router.get("/accounts/{account_id}")
async def account_page(request: Request, ctx: CtxDep, account_id: uuid.UUID) -> Response:
    return await _render_overview(
        request,
        ctx,
        account_id,
        "accounts/overview.html",
        **await changes_context(ctx, TrailEntity.ACCOUNT, account_id),
    )


def _patch_values(form: FormData) -> dict[str, Any]:
    return {
        "name": optional(text(form, "name")),
        "domain": optional(text(form, "domain")),
        "tax_id": optional(text(form, "tax_id")),
        "address": optional(text(form, "address")),
        "industry": optional(text(form, "industry")),
        "tags": _tags(text(form, "tags")),
    }


@router.post("/accounts/{account_id}/edit")
async def account_edit(request: Request, ctx: CtxDep, account_id: uuid.UUID) -> Response:
    form = await request.form()
    try:
        data = parse_input(AccountPatch, _patch_values(form))
        updated = await service.update_account(ctx, account_id, data, version_of(form))
    except DomainError as error:
        return form_error(request, error)
    return await _after_change(request, ctx, account_id, f"{updated.account.name} saved")


@router.post("/accounts/{account_id}/delete")
async def account_delete(request: Request, ctx: CtxDep, account_id: uuid.UUID) -> Response:
    form = await request.form()
    try:
        await service.delete_account(ctx, account_id, version_of(form))
    except DomainError as error:
        return form_error(request, error)
    return redirect(request, "/accounts?notice=deleted")


@router.post("/accounts/{account_id}/contacts")
async def contact_create(request: Request, ctx: CtxDep, account_id: uuid.UUID) -> Response:
    form = await request.form()
    try:
        data = parse_input(
            ContactIn,
            {
                "account_id": account_id,
                "first_name": text(form, "first_name"),
                "last_name": optional(text(form, "last_name")),
                "email": optional(text(form, "email")),
                "phone": optional(text(form, "phone")),
                "title": optional(text(form, "title")),
            },
        )
        contact = await contact_service.create_contact(ctx, data)
    except DomainError as error:
        return form_error(request, error)
    return await _after_change(request, ctx, account_id, f"{contact.first_name} added")


@router.post("/accounts/{account_id}/contacts/{contact_id}/delete")
async def contact_delete(
    request: Request, ctx: CtxDep, account_id: uuid.UUID, contact_id: uuid.UUID
) -> Response:
    form = await request.form()
    try:
        contact = await contact_service.get_contact(ctx, contact_id)
        if contact.account_id != account_id:
            raise NotFound("No such contact on this account")
        await contact_service.delete_contact(ctx, contact_id, version_of(form))
    except DomainError as error:
        return form_error(request, error)
    return await _after_change(request, ctx, account_id, "Contact deleted")


@router.post("/accounts/{account_id}/activities")
async def activity_log(request: Request, ctx: CtxDep, account_id: uuid.UUID) -> Response:
    form = await request.form()
    try:
        await service.require_live_account(ctx, account_id)
        data = logged_activity(
            ctx,
            form,
            account_id,
            deal_id=optional(text(form, "deal_id")),
            contact_id=optional(text(form, "contact_id")),
        )
        activity = await activity_service.create_activity(ctx, data)
    except DomainError as error:
        return form_error(request, error)
    verb = "logged" if activity.completed_at else "planned"
    return await _after_change(request, ctx, account_id, f"“{activity.subject}” {verb}")


@router.post("/accounts/{account_id}/deals")
async def deal_create(request: Request, ctx: CtxDep, account_id: uuid.UUID) -> Response:
    form = await request.form()
    try:
        await service.require_live_account(ctx, account_id)
        data = parse_input(
            DealIn,
            {
                "name": text(form, "name"),
                "account_id": account_id,
                "contact_id": optional(text(form, "contact_id")),
                "amount": typed_amount(text(form, "amount"), viewer_locale(ctx)),
                # Empty: the organization's currency.
                "currency": optional(text(form, "currency").upper()),
                "expected_close_date": optional(text(form, "expected_close_date")),
                "next_step": optional(text(form, "next_step")),
                "next_step_due_date": optional(text(form, "next_step_due_date")),
                "cadence_id": optional(text(form, "cadence_id")),
            },
        )
        deal, _ = await deal_service.create_deal(ctx, data)
    except DomainError as error:
        return form_error(request, error)
    return await _after_change(request, ctx, account_id, f"Deal {deal.name} added")
