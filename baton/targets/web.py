"""The Targets page: the prospecting list with status chips (the summary's counts),
search, "Add target", status changes (Drop asks for a reason) and Convert, which
answers with a link to the deal it opened. The list shows its first `PAGE_SIZE`
targets and "Load more", which appends the next cursor page's rows with the same
status and search (`?cursor=…&part=rows`), in the same few statements every time.

Every member reads it (DESIGN §5: targets by status); writers get the controls,
viewers none (their POSTs are 403 from the service). Handlers parse the form, call
one service function and render; after an action `#targets` (chips and rows) is
redrawn with the filters the page had, a refusal shows next to its row.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from baton.activities.web import can_write
from baton.core.auth import CtxDep
from baton.core.context import Ctx
from baton.core.errors import DomainError
from baton.core.pagination import next_page, page_of
from baton.core.schemas import parse_input
from baton.identity.access import WRITERS
from baton.identity.queries import member_names, members_with_roles
from baton.saved_views.models import ListKind
from baton.saved_views.web import view_tabs
from baton.targets import service
from baton.targets.schemas import StatusIn, TargetIn
from baton.web.rendering import render
from baton.workflow.engine import CompiledWorkflow, StepNode
from baton.workflow.models import StatusCategory
from baton.workflow.web import form_error, is_htmx, optional, text, version_of

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 100
MAX_QUERY = 200


@dataclass(frozen=True)
class Options:
    """What a target on a step can do next (on the current target workflow)."""

    moves: list[StepNode]
    drop: StepNode | None
    drop_reasons: tuple[str, ...]
    convertible: bool


def _options(flow: CompiledWorkflow, step_key: str) -> Options:
    step = flow.steps_by_key.get(step_key)
    if step is None:
        return Options([], None, (), False)
    moves: list[StepNode] = []
    drop: StepNode | None = None
    reasons: tuple[str, ...] = ()
    convertible = False
    for edge in flow.outgoing.get(step.id, ()):
        to = flow.step(edge.to_step_id)
        if to.category is StatusCategory.WON:
            convertible = True
        elif to.category is StatusCategory.LOST:
            drop, reasons = to, edge.reasons
        else:
            moves.append(to)
            # Conversion may pass through one open step (Engaged → Qualified → Converted).
            if to.category is StatusCategory.OPEN and any(
                flow.step(e.to_step_id).category is StatusCategory.WON
                for e in flow.outgoing.get(to.id, ())
            ):
                convertible = True
    return Options(moves, drop, reasons, convertible)


def _filters(status: str, q: str) -> tuple[str, str]:
    q = q.replace("\x00", "").strip()[:MAX_QUERY]
    return status.strip()[:64], q


async def _rows(ctx: Ctx, status: str, q: str, cursor: str | None) -> dict[str, Any]:
    """One page of targets with what their rows show and the next page's URL, if any."""
    principal = ctx.require_principal()
    flow = await service.target_workflow(ctx)
    page = page_of(PAGE_SIZE, cursor[:64] if cursor else None)
    rows = await service.list_targets(ctx, page, status or None, q or None)
    shown = rows[:PAGE_SIZE]
    following = next_page(((row.id, row._mapping.get("search_rank")) for row in rows), page)
    more_url = None
    if following is not None:
        kept = {key: value for key, value in (("status", status), ("q", q)) if value}
        more_url = "/targets?" + urlencode({**kept, "cursor": following, "part": "rows"})
    return {
        "status": status,
        "q": q,
        "rows": shown,
        "more_url": more_url,
        "options": {row.step_key: _options(flow, row.step_key) for row in shown},
        "owners": await member_names(ctx.session, (row.owner_id for row in shown)),
        "can_write": can_write(principal),
    }


async def _context(
    ctx: Ctx, status: str, q: str, notice: str | None = None, deal_id: uuid.UUID | None = None
) -> dict[str, Any]:
    _, counts = await service.summary(ctx)
    keys = {count.key for count in counts}
    chosen = status if status in keys else ""
    current = {key: value for key, value in (("status", chosen), ("q", q)) if value}
    return {
        # The results carry the saved views' tabs: the filters redraw both.
        "tabs": await view_tabs(ctx, ListKind.TARGETS, current),
        "counts": counts,
        "total": sum(count.count for count in counts),
        "notice": notice,
        "deal_id": deal_id,
        **await _rows(ctx, chosen, q, None),
    }


def _chip_url(status: str, q: str) -> str:
    kept = {key: value for key, value in (("status", status), ("q", q)) if value}
    return "/targets" + ("?" + urlencode(kept) if kept else "")


@router.get("/targets")
async def targets_page(
    request: Request,
    ctx: CtxDep,
    status: str = "",
    q: str = "",
    cursor: str | None = None,
    part: str | None = None,
) -> Response:
    status, q = _filters(status, q)
    htmx = is_htmx(request) and "hx-history-restore-request" not in request.headers
    if htmx and part == "rows":
        # "Load more": the next page's rows (same filters), in place of the button's row.
        return render(request, "targets/_rows.html", **await _rows(ctx, status, q, cursor))
    context = await _context(ctx, status, q)
    if htmx:
        response = render(request, "targets/_content.html", chip_url=_chip_url, **context)
        # The address carries the search, so the list as shown is a link (and a view).
        response.headers["HX-Push-Url"] = _chip_url(context["status"], q)
        return response
    if context["can_write"]:
        context.update(await _bulk_choices(ctx))
    return render(request, "targets/list.html", chip_url=_chip_url, **context)


async def _bulk_choices(ctx: Ctx) -> dict[str, Any]:
    """The action bar's choices: who may own targets, the statuses a move may name (a
    conversion makes an account and a deal: one at a time), the reasons to drop."""
    flow = await service.target_workflow(ctx)
    lost = {step.id for step in flow.steps_in_category(StatusCategory.LOST)}
    reasons = {
        reason for edge in flow.edges.values() if edge.to_step_id in lost for reason in edge.reasons
    }
    return {
        "bulk_owners": await members_with_roles(ctx.session, WRITERS),
        "bulk_stages": [
            (step.key, step.name)
            for step in flow.ordered_steps()
            if step.category is not StatusCategory.WON
        ],
        "bulk_reasons": sorted(reasons),
    }


async def _redraw(
    request: Request,
    ctx: Ctx,
    form: Any,
    notice: str,
    deal_id: uuid.UUID | None = None,
) -> Response:
    status, q = _filters(text(form, "filter_status"), text(form, "filter_q"))
    if not is_htmx(request):
        return RedirectResponse(_chip_url(status, q), status_code=303)
    context = await _context(ctx, status, q, notice, deal_id)
    return render(request, "targets/_content.html", chip_url=_chip_url, **context)


@router.post("/targets")
async def target_create(request: Request, ctx: CtxDep) -> Response:
    form = await request.form()
    try:
        data = parse_input(
            TargetIn,
            {
                "company_name": text(form, "company_name"),
                "contact_name": optional(text(form, "contact_name")),
                "email": optional(text(form, "email")),
                "phone": optional(text(form, "phone")),
                "notes": optional(text(form, "notes")),
            },
        )
        target, _ = await service.create_target(ctx, data)
    except DomainError as error:
        return form_error(request, error)
    return await _redraw(request, ctx, form, f"{target.company_name} added")


@router.post("/targets/{target_id}/status")
async def target_status(request: Request, ctx: CtxDep, target_id: uuid.UUID) -> Response:
    form = await request.form()
    try:
        data = parse_input(
            StatusIn,
            {
                "status": text(form, "status"),
                "reason": optional(text(form, "reason")),
                "notes": optional(text(form, "notes")),
                "version": version_of(form),
            },
        )
        target, flow = await service.change_status(ctx, target_id, data)
    except DomainError as error:
        return form_error(request, error)
    step = flow.step(target.step_id)
    return await _redraw(request, ctx, form, f"{target.company_name} is now {step.name}")


@router.post("/targets/{target_id}/convert")
async def target_convert(request: Request, ctx: CtxDep, target_id: uuid.UUID) -> Response:
    form = await request.form()
    try:
        result = await service.convert_target(ctx, target_id)
    except DomainError as error:
        return form_error(request, error)
    if not is_htmx(request):
        return RedirectResponse(f"/deals/{result.deal.id}", status_code=303)
    notice = f"{result.target.company_name} converted: account {result.account.account.name}"
    return await _redraw(request, ctx, form, notice, result.deal.id)
