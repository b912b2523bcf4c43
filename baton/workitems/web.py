"""Work item pages: the board of one project type, and one item with its history.

Writers drag cards between columns (baton.js sends the move); viewers read. A move
that needs a reason, notes or fields answers with a small form for exactly those;
a move that is not allowed answers with the reason. Both are 422 fragments that
baton.js shows next to the board while the card snaps back.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from baton.activities import queries as activity_queries
from baton.activities.models import Activity
from baton.core.auth import CtxDep
from baton.core.context import Ctx, Principal
from baton.core.errors import DomainError, NotFound, TransitionRejected
from baton.core.schemas import parse_input
from baton.identity.access import WRITERS
from baton.identity.queries import member_names
from baton.web.rendering import render
from baton.workflow import charts, engine
from baton.workflow import queries as workflow_queries
from baton.workflow import service as workflow_service
from baton.workflow.models import EntityType, ProjectType, WorkflowHistory, WorkflowStep
from baton.workflow.web import form_error, is_htmx, optional, redirect, text, version_of
from baton.workitems import queries, service
from baton.workitems.models import WorkItem
from baton.workitems.schemas import MoveIn, WorkItemIn, WorkItemPatch

router = APIRouter(include_in_schema=False)

# Cards shown per column; the column header still counts every item.
CARDS_PER_COLUMN = 50
FIELD_PREFIX = "field."


def _can_write(principal: Principal) -> bool:
    return principal.role in WRITERS


def _since(moment: datetime) -> str:
    return charts.duration(max((datetime.now(UTC) - moment).total_seconds(), 0.0))


# ------------------------------------------------------------------ the board


@dataclass(frozen=True)
class Column:
    step: engine.StepNode
    count: int
    cards: list[WorkItem]


@dataclass(frozen=True)
class Board:
    project_type: ProjectType
    flow: engine.CompiledWorkflow
    columns: list[Column]
    owners: dict[uuid.UUID, str]
    can_write: bool


async def _work_item_types(ctx: Ctx) -> list[ProjectType]:
    return [
        project_type
        for project_type in await workflow_queries.list_project_types(ctx.session)
        if project_type.entity_type == EntityType.WORK_ITEM.value
    ]


async def _board(ctx: Ctx, project_type_id: uuid.UUID) -> Board:
    principal = ctx.require_principal()
    project_type = next((p for p in await _work_item_types(ctx) if p.id == project_type_id), None)
    if project_type is None:
        raise NotFound("No such project type of work items")
    flow = await workflow_service.require_compiled(ctx, project_type.default_workflow_id)
    found = await queries.board(ctx.session, flow.workflow_id, CARDS_PER_COLUMN)
    columns = []
    for step in flow.ordered_steps():
        column = found.get(step.id)
        columns.append(Column(step, column.count if column else 0, column.items if column else []))
    owners = await member_names(
        ctx.session, (card.owner_id for column in columns for card in column.cards)
    )
    return Board(project_type, flow, columns, owners, _can_write(principal))


async def _render_board(
    request: Request, ctx: Ctx, project_type_id: uuid.UUID, template: str, notice: str | None
) -> Response:
    board = await _board(ctx, project_type_id)
    return render(request, template, board=board, notice=notice, since=_since)


@router.get("/work-items")
async def work_items_page(
    request: Request, ctx: CtxDep, project_type_id: uuid.UUID | None = None
) -> Response:
    ctx.require_principal()
    if project_type_id is None:
        return render(request, "workitems/index.html", project_types=await _work_item_types(ctx))
    return await _render_board(request, ctx, project_type_id, "workitems/board.html", None)


@router.post("/work-items")
async def work_item_create(request: Request, ctx: CtxDep) -> Response:
    form = await request.form()
    try:
        data = parse_input(
            WorkItemIn,
            {
                "project_type_id": text(form, "project_type_id"),
                "name": text(form, "name"),
                "description": optional(text(form, "description")),
            },
        )
        item, _ = await service.create_work_item(ctx, data)
    except DomainError as error:
        return form_error(request, error)
    if not is_htmx(request):
        return RedirectResponse(f"/work-items?project_type_id={item.project_type_id}", 303)
    return await _render_board(
        request, ctx, item.project_type_id, "workitems/_board.html", f"{item.name} added"
    )


# ------------------------------------------------------------------ moving


def _needs_details(error: TransitionRejected) -> bool:
    """The transition exists and the role may take it; only reason, notes or fields lack."""
    return bool(error.errors) and all(
        e.field in ("reason", "notes") or e.field.startswith("fields.") for e in error.errors
    )


@router.post("/work-items/{item_id}/move")
async def work_item_move(request: Request, ctx: CtxDep, item_id: uuid.UUID) -> Response:
    form = await request.form()
    fields = {
        name.removeprefix(FIELD_PREFIX): value.strip()
        for name, value in form.multi_items()
        if name.startswith(FIELD_PREFIX) and isinstance(value, str) and value.strip()
    }
    on_board = text(form, "context") == "board"
    try:
        data = parse_input(
            MoveIn,
            {
                "to_step_id": text(form, "to_step_id"),
                "version": text(form, "version"),
                "reason": optional(text(form, "reason")),
                "notes": optional(text(form, "notes")),
                "fields": fields,
            },
        )
        result = await service.move_work_item(ctx, item_id, data)
    except TransitionRejected as error:
        if is_htmx(request) and _needs_details(error):
            return await _details_form(request, ctx, item_id, data, error, on_board)
        return form_error(request, error)
    except DomainError as error:
        return form_error(request, error)
    if on_board and is_htmx(request):
        response = await _render_board(
            request,
            ctx,
            result.item.project_type_id,
            "workitems/_board.html",
            f"{result.item.name} moved to {result.move.to_step.name}",
        )
        # Whatever element asked (a card, the details form), the whole board is redrawn.
        response.headers["HX-Retarget"] = "#board"
        response.headers["HX-Reswap"] = "outerHTML"
        return response
    return redirect(request, f"/work-items/{item_id}")


async def _details_form(
    request: Request,
    ctx: Ctx,
    item_id: uuid.UUID,
    data: MoveIn,
    error: TransitionRejected,
    on_board: bool,
) -> Response:
    """A form asking for exactly what the refused move lacks (422: nothing was moved)."""
    principal = ctx.require_principal()
    item, flow = await service.get_work_item(ctx, item_id)
    option = next(
        (o for o in flow.options(item.step_id, principal.role) if o.to_step.id == data.to_step_id),
        None,
    )
    if option is None:
        return form_error(request, error)
    return render(
        request,
        "workitems/_move_form.html",
        status_code=error.status,
        item=item,
        option=option,
        error=error,
        data=data,
        missing=_missing_fields(item, option),
        context="board" if on_board else "detail",
    )


def _missing_fields(item: WorkItem, option: engine.MoveOption) -> list[str]:
    present = service.present_fields(item, {})
    return [name for name in option.required_fields if name not in present]


# ------------------------------------------------------------------ one item


@router.post("/work-items/{item_id}/edit")
async def work_item_edit(request: Request, ctx: CtxDep, item_id: uuid.UUID) -> Response:
    form = await request.form()
    try:
        data = parse_input(
            WorkItemPatch,
            {"name": text(form, "name"), "description": optional(text(form, "description"))},
        )
        await service.update_work_item(ctx, item_id, data, version_of(form))
    except DomainError as error:
        return form_error(request, error)
    return redirect(request, f"/work-items/{item_id}")


@router.post("/work-items/{item_id}/delete")
async def work_item_delete(request: Request, ctx: CtxDep, item_id: uuid.UUID) -> Response:
    form = await request.form()
    try:
        item, _ = await service.get_work_item(ctx, item_id)
        await service.delete_work_item(ctx, item_id, version_of(form))
    except DomainError as error:
        return form_error(request, error)
    return redirect(request, f"/work-items?project_type_id={item.project_type_id}")


@dataclass(frozen=True)
class HistoryRow:
    entry: WorkflowHistory
    from_name: str | None
    to_name: str


@router.get("/work-items/{item_id}")
async def work_item_page(request: Request, ctx: CtxDep, item_id: uuid.UUID) -> Response:
    principal = ctx.require_principal()
    item, flow = await service.get_work_item(ctx, item_id)
    can_write = _can_write(principal)
    options = flow.options(item.step_id, principal.role) if can_write else ()
    entries = await queries.history_of(ctx.session, item_id)
    steps = await workflow_queries.steps_by_id(
        ctx.session,
        {e.to_step_id for e in entries} | {e.from_step_id for e in entries if e.from_step_id},
    )
    history = [
        HistoryRow(
            entry,
            _step_name(steps, entry.from_step_id),
            _step_name(steps, entry.to_step_id) or "?",
        )
        for entry in entries
    ]
    activities: list[Activity] = list(
        await activity_queries.for_record(ctx.session, EntityType.WORK_ITEM, item_id)
    )
    project_type = next(
        (p for p in await _work_item_types(ctx) if p.id == item.project_type_id), None
    )
    names = await member_names(
        ctx.session,
        [item.owner_id, *(e.actor_id for e in entries), *(a.created_by for a in activities)],
    )
    return render(
        request,
        "workitems/detail.html",
        item=item,
        step=flow.step(item.step_id),
        flow=flow,
        options=[(option, _missing_fields(item, option)) for option in options],
        history=history,
        activities=activities,
        project_type=project_type,
        names=names,
        can_write=can_write,
        since=_since,
        duration=charts.duration,
    )


def _step_name(
    steps: dict[uuid.UUID, tuple[WorkflowStep, str]], step_id: uuid.UUID | None
) -> str | None:
    if step_id is None or step_id not in steps:
        return None
    return steps[step_id][0].name
