"""Admin pages for statuses, workflows (steps, transitions, publishing, analytics)
and project types.

Handlers parse the form, call one service function and render; the services check
roles and rules. Admins get write controls; managers read the same pages.
A refused form answer (4xx) to an htmx request is a fragment naming every problem,
which baton.js swaps into the form's `data-error-target` instead of a toast.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from baton.core.auth import CtxDep
from baton.core.context import Ctx, Principal
from baton.core.errors import (
    DomainError,
    FieldError,
    InternalError,
    NotFound,
    PermissionDenied,
    RuleViolation,
    Unauthenticated,
    ValidationFailed,
)
from baton.core.schemas import EARLIEST, LATEST, parse_input
from baton.identity.access import require_role
from baton.identity.models import Role
from baton.web.rendering import render
from baton.workflow import charts, queries, service
from baton.workflow.effects import available_effects
from baton.workflow.engine import UnsoundWorkflow
from baton.workflow.models import (
    EntityType,
    Status,
    StatusCategory,
    Workflow,
    WorkflowStep,
    WorkflowTransition,
)
from baton.workflow.schemas import (
    ProjectTypeIn,
    StatusIn,
    StatusPatch,
    StepIn,
    StepPatch,
    TransitionIn,
    TransitionPatch,
    WorkflowIn,
    WorkflowPatch,
)

router = APIRouter(include_in_schema=False)

# Who may open the admin pages; only admins see (and may use) write controls.
READERS = (Role.ADMIN, Role.MANAGER)
NOTICES = {
    "draft": "Your change was saved in this new draft version. The published version "
    "stays in use until you publish the draft.",
    "published": "Published: new records start on this version.",
    "created": "Workflow created as a draft. Add steps, connect them, then publish.",
}
ANALYTICS_DAYS = 90


# ------------------------------------------------------------------ shared helpers


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def form_error(request: Request, error: DomainError) -> Response:
    """The refusal as an inline fragment for htmx; anything else goes to the app handler.

    Permission, authentication and internal errors are re-raised so the app's one
    handler audits and renders them exactly as for every other page.
    """
    if isinstance(error, PermissionDenied | Unauthenticated | InternalError) or not is_htmx(
        request
    ):
        raise error
    return render(request, "workflow/_form_errors.html", status_code=error.status, error=error)


def redirect(request: Request, url: str) -> Response:
    """A full navigation: `HX-Redirect` for htmx, 303 for a plain form."""
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def texts(form: FormData, name: str) -> list[str]:
    return [value for value in form.getlist(name) if isinstance(value, str) and value]


def checked(form: FormData, name: str) -> bool:
    return text(form, name) in ("on", "true", "1")


def name_list(raw: str) -> list[str]:
    """ "a, b,,c" → ["a", "b", "c"]: lists of field names and reason codes are typed in."""
    return [part.strip() for part in raw.replace("\n", ",").split(",") if part.strip()]


def reason_list(raw: str) -> tuple[list[str], dict[str, str]]:
    """Reason codes as typed, one per line, each with an optional label after `=`:
    "price = Price too high" (codes without labels may also share a line, comma-separated).
    """
    codes: list[str] = []
    labels: dict[str, str] = {}
    for line in raw.splitlines():
        code, sep, label = line.partition("=")
        if sep:
            code = code.strip()
            codes.append(code)
            if label.strip():
                labels[code] = label.strip()
        else:
            codes.extend(name_list(line))
    return codes, labels


def optional(raw: str) -> str | None:
    return raw or None


def version_of(form: FormData) -> int | None:
    """The row version the form was rendered with (the service says 422 if it is missing)."""
    raw = text(form, "version")
    return int(raw) if raw.isdigit() and len(raw) < 11 else None


def _admin(principal: Principal) -> bool:
    return principal.role == Role.ADMIN


# ------------------------------------------------------------------ statuses


async def _statuses(
    request: Request, ctx: Ctx, template: str, notice: str | None = None
) -> Response:
    principal = require_role(ctx, *READERS)
    statuses = await queries.list_statuses(ctx.session)
    return render(
        request,
        template,
        statuses=statuses,
        categories=list(StatusCategory),
        can_edit=_admin(principal),
        notice=notice,
    )


@router.get("/workflow/statuses")
async def statuses_page(request: Request, ctx: CtxDep) -> Response:
    return await _statuses(request, ctx, "workflow/statuses.html")


@router.post("/workflow/statuses")
async def status_create(request: Request, ctx: CtxDep) -> Response:
    form = await request.form()
    try:
        data = parse_input(
            StatusIn,
            {
                "name": text(form, "name"),
                "colour": text(form, "colour").lower() or "#64748b",
                "category": text(form, "category"),
            },
        )
        created = await service.create_status(ctx, data)
    except DomainError as error:
        return form_error(request, error)
    return await _after_status_change(request, ctx, f"Status {created.name} added")


@router.post("/workflow/statuses/{status_id}")
async def status_update(request: Request, ctx: CtxDep, status_id: uuid.UUID) -> Response:
    form = await request.form()
    try:
        data = parse_input(
            StatusPatch,
            {
                "name": text(form, "name"),
                "colour": text(form, "colour").lower(),
                "category": text(form, "category"),
                "archived": checked(form, "archived"),
            },
        )
        updated = await service.update_status(ctx, status_id, data, version_of(form))
    except DomainError as error:
        return form_error(request, error)
    return await _after_status_change(request, ctx, f"Status {updated.name} saved")


@router.post("/workflow/statuses/{status_id}/delete")
async def status_delete(request: Request, ctx: CtxDep, status_id: uuid.UUID) -> Response:
    form = await request.form()
    try:
        await service.delete_status(ctx, status_id, version_of(form))
    except DomainError as error:
        return form_error(request, error)
    return await _after_status_change(request, ctx, "Status deleted")


async def _after_status_change(request: Request, ctx: Ctx, notice: str) -> Response:
    if is_htmx(request):
        return await _statuses(request, ctx, "workflow/_statuses.html", notice=notice)
    return RedirectResponse("/workflow/statuses", status_code=303)


# ------------------------------------------------------------------ workflows list


@router.get("/workflow/workflows")
async def workflows_page(request: Request, ctx: CtxDep) -> Response:
    principal = require_role(ctx, *READERS)
    workflows = await queries.list_workflows(ctx.session)
    return render(
        request,
        "workflow/workflows.html",
        workflows=workflows,
        entity_types=list(EntityType),
        can_edit=_admin(principal),
    )


@router.post("/workflow/workflows")
async def workflow_create(request: Request, ctx: CtxDep) -> Response:
    form = await request.form()
    try:
        data = parse_input(
            WorkflowIn, {"name": text(form, "name"), "entity_type": text(form, "entity_type")}
        )
        workflow = await service.create_workflow(ctx, data)
    except DomainError as error:
        return form_error(request, error)
    return redirect(request, f"/workflow/workflows/{workflow.id}?notice=created")


# ------------------------------------------------------------------ the editor


@dataclass(frozen=True)
class GridCell:
    source: WorkflowStep
    target: WorkflowStep
    transition: WorkflowTransition | None


@dataclass(frozen=True)
class Editor:
    workflow: Workflow
    steps: Sequence[WorkflowStep]
    transitions: Sequence[WorkflowTransition]
    statuses: dict[uuid.UUID, Status]
    grid: list[list[GridCell]]
    can_edit: bool
    # Another version of the same workflow that is a draft (shown on the published one).
    draft: Workflow | None
    published: Workflow | None
    step_names: dict[uuid.UUID, str]


async def _editor(ctx: Ctx, workflow_id: uuid.UUID) -> Editor:
    principal = require_role(ctx, *READERS)
    detail = await queries.workflow_detail(ctx.session, workflow_id)
    if detail is None:
        raise NotFound("No such workflow")
    statuses = {status.id: status for status in await queries.list_statuses(ctx.session)}
    workflow = detail.workflow
    family = [
        other
        for other in await queries.list_workflows(ctx.session)
        if other.family_id == workflow.family_id and other.id != workflow.id
    ]
    by_pair = {(t.from_step_id, t.to_step_id): t for t in detail.transitions}
    grid = [
        [GridCell(source, target, by_pair.get((source.id, target.id))) for target in detail.steps]
        for source in detail.steps
    ]
    draft = next((w for w in family if not w.published), None)
    return Editor(
        workflow=workflow,
        steps=detail.steps,
        transitions=detail.transitions,
        statuses=statuses,
        grid=grid,
        # A published version with a draft pending is edited through that draft.
        can_edit=_admin(principal)
        and not workflow.archived
        and not (workflow.published and draft is not None),
        draft=draft,
        published=next((w for w in family if w.published), None),
        step_names={step.id: step.name for step in detail.steps},
    )


@dataclass(frozen=True)
class Analytics:
    since: date
    until: date
    funnel: charts.BarChart | None
    time_in_step: charts.BarChart | None
    rows: list[dict[str, Any]]
    # Why there is nothing to show (an incomplete draft cannot be analysed).
    unavailable: str | None


def _period(raw_from: str, raw_to: str) -> tuple[datetime | None, datetime | None]:
    """Whole UTC days: `to` is inclusive, so the period ends at the next midnight."""
    errors: list[FieldError] = []
    bounds: list[datetime | None] = []
    for field, raw, shift in (("from", raw_from, 0), ("to", raw_to, 1)):
        if not raw:
            bounds.append(None)
            continue
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            errors.append(FieldError(field, "must be a date (YYYY-MM-DD)"))
            bounds.append(None)
            continue
        # The API's range (`Moment`), less the last day: `to` ends at the next midnight.
        if not EARLIEST.date() <= day < LATEST.date():
            errors.append(FieldError(field, "must be between 1900-01-01 and 9999-12-30"))
            bounds.append(None)
            continue
        bounds.append(datetime.combine(day + timedelta(days=shift), time(), tzinfo=UTC))
    if errors:
        raise ValidationFailed("Pick a valid period", errors=errors)
    since, until = bounds
    if since is not None and until is None:
        until = max(datetime.now(UTC), since + timedelta(days=1))
    if until is not None and since is None:
        since = until - timedelta(days=ANALYTICS_DAYS)
    return since, until


async def _analytics(
    ctx: Ctx, workflow_id: uuid.UUID, since: datetime | None, until: datetime | None
) -> Analytics:
    try:
        start, end, rows = await service.stage_analytics(ctx, workflow_id, since, until)
    except (ValidationFailed, NotFound):
        raise
    except DomainError as error:
        today = datetime.now(UTC).date()
        return Analytics(
            today - timedelta(days=ANALYTICS_DAYS), today, None, None, [], error.detail
        )
    return Analytics(
        since=start.date(),
        # The last day inside the period (the end bound is exclusive).
        until=(end - timedelta(microseconds=1)).date(),
        funnel=charts.funnel([(row["name"], row["entries"]) for row in rows]),
        time_in_step=charts.time_in_step(
            [
                (row["name"], row["median_seconds_in_step"], row["p90_seconds_in_step"])
                for row in rows
            ]
        ),
        rows=rows,
        unavailable=None,
    )


@router.get("/workflow/workflows/{workflow_id}")
async def workflow_page(
    request: Request, ctx: CtxDep, workflow_id: uuid.UUID, notice: str = ""
) -> Response:
    editor = await _editor(ctx, workflow_id)
    since, until = _period(request.query_params.get("from", ""), request.query_params.get("to", ""))
    analytics = await _analytics(ctx, workflow_id, since, until)
    return render(
        request,
        "workflow/editor.html",
        editor=editor,
        analytics=analytics,
        notice=NOTICES.get(notice),
        duration=charts.duration,
    )


@router.get("/workflow/workflows/{workflow_id}/analytics")
async def workflow_analytics(request: Request, ctx: CtxDep, workflow_id: uuid.UUID) -> Response:
    require_role(ctx, *READERS)
    try:
        since, until = _period(
            request.query_params.get("from", ""), request.query_params.get("to", "")
        )
        analytics = await _analytics(ctx, workflow_id, since, until)
    except DomainError as error:
        return form_error(request, error)
    return render(
        request,
        "workflow/_analytics.html",
        workflow_id=workflow_id,
        analytics=analytics,
        duration=charts.duration,
    )


async def _after_edit(
    request: Request, ctx: Ctx, edited_id: uuid.UUID, result: Workflow, notice: str | None = None
) -> Response:
    """Re-render the editor, or go to the draft the edit created from a published version."""
    if result.id != edited_id:
        return redirect(request, f"/workflow/workflows/{result.id}?notice=draft")
    if not is_htmx(request):
        return RedirectResponse(f"/workflow/workflows/{result.id}", status_code=303)
    editor = await _editor(ctx, result.id)
    return render(request, "workflow/_editor.html", editor=editor, notice=notice)


def _step_input(form: FormData) -> dict[str, Any]:
    probability = text(form, "probability")
    sla_days = text(form, "sla_days")
    return {
        "key": text(form, "key"),
        "name": text(form, "name"),
        "status_id": text(form, "status_id"),
        "is_initial": checked(form, "is_initial"),
        "is_final": checked(form, "is_final"),
        "probability": probability or None,
        "sla_days": sla_days or None,
        "required_fields": name_list(text(form, "required_fields")),
    }


@router.post("/workflow/workflows/{workflow_id}/steps")
async def step_add(request: Request, ctx: CtxDep, workflow_id: uuid.UUID) -> Response:
    form = await request.form()
    try:
        data = parse_input(StepIn, _step_input(form))
        result = await service.add_step(ctx, workflow_id, data)
    except DomainError as error:
        return form_error(request, error)
    return await _after_edit(request, ctx, workflow_id, result, f"Step {data.name} added")


@router.post("/workflow/workflows/{workflow_id}/steps/{step_id}")
async def step_update(
    request: Request, ctx: CtxDep, workflow_id: uuid.UUID, step_id: uuid.UUID
) -> Response:
    form = await request.form()
    values = _step_input(form)
    del values["key"], values["is_initial"]  # fixed once created: code refers to the key
    try:
        data = parse_input(StepPatch, values)
        result = await service.update_step(ctx, step_id, data, version_of(form))
    except DomainError as error:
        return form_error(request, error)
    return await _after_edit(request, ctx, workflow_id, result, f"Step {data.name} saved")


@router.post("/workflow/workflows/{workflow_id}/steps/{step_id}/delete")
async def step_delete(
    request: Request, ctx: CtxDep, workflow_id: uuid.UUID, step_id: uuid.UUID
) -> Response:
    form = await request.form()
    try:
        result = await service.delete_step(ctx, step_id, version_of(form))
    except DomainError as error:
        return form_error(request, error)
    return await _after_edit(request, ctx, workflow_id, result, "Step deleted")


@router.post("/workflow/workflows/{workflow_id}/step-order")
async def steps_reorder(request: Request, ctx: CtxDep, workflow_id: uuid.UUID) -> Response:
    form = await request.form()
    try:
        step_ids = [uuid.UUID(value) for value in texts(form, "step_ids")]
    except ValueError:
        return form_error(
            request, ValidationFailed(errors=[FieldError("step_ids", "must be step ids")])
        )
    try:
        result = await service.reorder_steps(ctx, workflow_id, step_ids)
    except DomainError as error:
        return form_error(request, error)
    return await _after_edit(request, ctx, workflow_id, result, "Step order saved")


@router.post("/workflow/workflows/{workflow_id}/rename")
async def workflow_rename(request: Request, ctx: CtxDep, workflow_id: uuid.UUID) -> Response:
    form = await request.form()
    try:
        data = parse_input(WorkflowPatch, {"name": text(form, "name")})
        result = await service.update_workflow(ctx, workflow_id, data, version_of(form))
    except DomainError as error:
        return form_error(request, error)
    return await _after_edit(request, ctx, workflow_id, result, f"Renamed to {result.name}")


@router.post("/workflow/workflows/{workflow_id}/publish")
async def workflow_publish(request: Request, ctx: CtxDep, workflow_id: uuid.UUID) -> Response:
    try:
        workflow = await service.publish(ctx, workflow_id)
    except UnsoundWorkflow as error:
        # The sentence already names every step; the per-step entries (keyed for API
        # clients) would repeat it with internal keys.
        return form_error(request, RuleViolation(error.detail))
    except DomainError as error:
        return form_error(request, error)
    return redirect(request, f"/workflow/workflows/{workflow.id}?notice=published")


# ------------------------------------------------------------------ transitions


@router.get("/workflow/workflows/{workflow_id}/transition-form")
async def transition_form(
    request: Request,
    ctx: CtxDep,
    workflow_id: uuid.UUID,
    from_step_id: uuid.UUID,
    to_step_id: uuid.UUID,
) -> Response:
    """The small form behind one cell of the grid: add, edit or delete that transition."""
    editor = await _editor(ctx, workflow_id)
    if not editor.can_edit:
        raise PermissionDenied("Only admins change workflows")
    steps = {step.id: step for step in editor.steps}
    if from_step_id not in steps or to_step_id not in steps or from_step_id == to_step_id:
        raise NotFound("No such pair of steps in this workflow")
    transition = next(
        (
            t
            for t in editor.transitions
            if t.from_step_id == from_step_id and t.to_step_id == to_step_id
        ),
        None,
    )
    return render(
        request,
        "workflow/_transition_form.html",
        editor=editor,
        source=steps[from_step_id],
        target=steps[to_step_id],
        transition=transition,
        roles=list(Role),
        effects=available_effects(editor.workflow.entity_type),
        chosen={effect["name"]: effect.get("config", {}) for effect in transition.effects}
        if transition
        else {},
    )


def _effects_input(form: FormData) -> list[dict[str, Any]]:
    """Ticked effects with their JSON settings; the service validates each config."""
    effects: list[dict[str, Any]] = []
    errors: list[FieldError] = []
    for index, name in enumerate(texts(form, "effects")):
        raw = text(form, f"effect_config.{name}") or "{}"
        try:
            config = json.loads(raw)
        except ValueError:
            errors.append(FieldError(f"effects.{index}.config", f"{name}: is not valid JSON"))
            continue
        if not isinstance(config, dict):
            errors.append(FieldError(f"effects.{index}.config", f"{name}: must be a JSON object"))
            continue
        effects.append({"name": name, "config": config})
    if errors:
        raise ValidationFailed(errors=errors)
    return effects


def _transition_input(form: FormData) -> dict[str, Any]:
    reasons, reason_labels = reason_list(text(form, "reasons"))
    return {
        "label": text(form, "label"),
        "conditions": {
            "required_fields": name_list(text(form, "required_fields")),
            "reasons": reasons,
            "reason_labels": reason_labels,
            "roles": texts(form, "roles"),
        },
        "effects": _effects_input(form),
    }


@router.post("/workflow/workflows/{workflow_id}/transitions")
async def transition_add(request: Request, ctx: CtxDep, workflow_id: uuid.UUID) -> Response:
    form = await request.form()
    try:
        data = parse_input(
            TransitionIn,
            {
                "from_step_id": text(form, "from_step_id"),
                "to_step_id": text(form, "to_step_id"),
                **_transition_input(form),
            },
        )
        result = await service.add_transition(ctx, workflow_id, data)
    except DomainError as error:
        return form_error(request, error)
    return await _after_edit(request, ctx, workflow_id, result, f"Transition {data.label} added")


@router.post("/workflow/workflows/{workflow_id}/transitions/{transition_id}")
async def transition_update(
    request: Request, ctx: CtxDep, workflow_id: uuid.UUID, transition_id: uuid.UUID
) -> Response:
    form = await request.form()
    try:
        data = parse_input(TransitionPatch, _transition_input(form))
        result = await service.update_transition(ctx, transition_id, data, version_of(form))
    except DomainError as error:
        return form_error(request, error)
    return await _after_edit(request, ctx, workflow_id, result, f"Transition {data.label} saved")


@router.post("/workflow/workflows/{workflow_id}/transitions/{transition_id}/delete")
async def transition_delete(
    request: Request, ctx: CtxDep, workflow_id: uuid.UUID, transition_id: uuid.UUID
) -> Response:
    form = await request.form()
    try:
        result = await service.delete_transition(ctx, transition_id, version_of(form))
    except DomainError as error:
        return form_error(request, error)
    return await _after_edit(request, ctx, workflow_id, result, "Transition deleted")


# ------------------------------------------------------------------ project types


async def _project_types(request: Request, ctx: Ctx, template: str, notice: str | None) -> Response:
    principal = require_role(ctx, *READERS)
    project_types = await queries.list_project_types(ctx.session)
    workflows = {w.id: w for w in await queries.list_workflows(ctx.session)}
    return render(
        request,
        template,
        project_types=project_types,
        workflows=workflows,
        published=[w for w in workflows.values() if w.published],
        can_edit=_admin(principal),
        notice=notice,
    )


@router.get("/workflow/project-types")
async def project_types_page(request: Request, ctx: CtxDep) -> Response:
    return await _project_types(request, ctx, "workflow/project_types.html", None)


@router.post("/workflow/project-types")
async def project_type_create(request: Request, ctx: CtxDep) -> Response:
    form = await request.form()
    try:
        data = parse_input(
            ProjectTypeIn,
            {
                "name": text(form, "name"),
                "default_workflow_id": text(form, "default_workflow_id"),
                "icon": text(form, "icon") or "folder",
            },
        )
        created = await service.create_project_type(ctx, data)
    except DomainError as error:
        return form_error(request, error)
    if is_htmx(request):
        return await _project_types(
            request, ctx, "workflow/_project_types.html", f"Project type {created.name} added"
        )
    return RedirectResponse("/workflow/project-types", status_code=303)
