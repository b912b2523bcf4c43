"""Workflow rules: default configuration, compiled workflows, and moving records.

The database guarantees that a governed record's step changes only along a
transition (and writes the history row); this module checks first, with specific
messages, and passes reason, notes and fields to the trigger.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import Table, delete, func, insert, select, text, update
from sqlalchemy.orm.exc import StaleDataError

from baton.core.context import Ctx
from baton.core.errors import (
    Conflict,
    FieldError,
    NotFound,
    RuleViolation,
    StaleVersion,
    ValidationFailed,
)
from baton.core.ids import uuid7
from baton.core.versioning import check_version
from baton.db.base import Base
from baton.identity.access import require_role
from baton.identity.models import Role
from baton.workflow import effects, engine, queries
from baton.workflow.defaults import DEFAULT_WORKFLOWS
from baton.workflow.models import (
    EntityType,
    ProjectType,
    Status,
    StatusCategory,
    Workflow,
    WorkflowStep,
    WorkflowTransition,
)
from baton.workflow.schemas import (
    EffectIn,
    MigrationIn,
    ProjectTypeIn,
    ProjectTypePatch,
    StatusIn,
    StatusPatch,
    StepIn,
    StepPatch,
    TransitionIn,
    TransitionPatch,
    WorkflowIn,
    WorkflowPatch,
)
from baton.workitems.models import WorkItem

PartT = TypeVar("PartT", WorkflowStep, WorkflowTransition)
# What administration edits lock by id before reading it.
LockedT = TypeVar("LockedT", Workflow, Status, ProjectType)

# Compiled workflows, shared by every request of this process.
compiled_workflows = engine.WorkflowCache()


async def seed_defaults(ctx: Ctx) -> None:
    """Give a new organization the default workflows and project types (DESIGN §4).

    Runs inside registration's transaction, scoped to the new tenant.
    """
    tenant_id = ctx.current_tenant_id
    assert tenant_id is not None
    statuses: dict[str, uuid.UUID] = {}
    status_rows: list[dict[str, Any]] = []
    workflow_rows: list[dict[str, Any]] = []
    step_rows: list[dict[str, Any]] = []
    transition_rows: list[dict[str, Any]] = []
    project_rows: list[dict[str, Any]] = []
    for spec in DEFAULT_WORKFLOWS:
        workflow_id = uuid7()
        workflow_rows.append(
            {
                "tenant_id": tenant_id,
                "id": workflow_id,
                "family_id": workflow_id,
                "revision": 1,
                "name": spec.name,
                "entity_type": spec.entity_type.value,
                "published": True,
            }
        )
        steps: dict[str, uuid.UUID] = {}
        for position, step in enumerate(spec.steps):
            if step.name not in statuses:
                statuses[step.name] = uuid7()
                status_rows.append(
                    {
                        "tenant_id": tenant_id,
                        "id": statuses[step.name],
                        "name": step.name,
                        "colour": step.colour,
                        "category": step.category.value,
                    }
                )
            steps[step.key] = uuid7()
            metadata: dict[str, Any] = dict(step.extra)
            if step.required_fields:
                metadata["required_fields"] = list(step.required_fields)
            step_rows.append(
                {
                    "tenant_id": tenant_id,
                    "id": steps[step.key],
                    "workflow_id": workflow_id,
                    "status_id": statuses[step.name],
                    "key": step.key,
                    "name": step.name,
                    "position": position,
                    "is_initial": position == 0,
                    "is_final": step.category is not StatusCategory.OPEN,
                    "probability": step.probability,
                    "metadata": metadata,
                }
            )
        for transition in spec.transitions:
            conditions: dict[str, Any] = {}
            if transition.reasons:
                conditions["reasons"] = list(transition.reasons)
            if transition.required_fields:
                conditions["required_fields"] = list(transition.required_fields)
            transition_rows.append(
                {
                    "tenant_id": tenant_id,
                    "id": uuid7(),
                    "workflow_id": workflow_id,
                    "from_step_id": steps[transition.source],
                    "to_step_id": steps[transition.target],
                    "label": transition.label,
                    "conditions": conditions,
                    "effects": [{"name": name, "config": {}} for name in transition.effects],
                }
            )
        project_rows.append(
            {
                "tenant_id": tenant_id,
                "id": uuid7(),
                "name": spec.project_type,
                "entity_type": spec.entity_type.value,
                "default_workflow_id": workflow_id,
                "icon": spec.icon,
            }
        )
    # Core executemany: one round trip per table instead of one per row.
    for model, rows in (
        (Status, status_rows),
        (Workflow, workflow_rows),
        (WorkflowStep, step_rows),
        (WorkflowTransition, transition_rows),
        (ProjectType, project_rows),
    ):
        await ctx.session.execute(insert(cast(Table, model.__table__)), rows)


async def compiled(
    ctx: Ctx, workflow_id: uuid.UUID, version: int | None = None
) -> engine.CompiledWorkflow | None:
    """The workflow compiled for validation, from the cache while its row version holds.

    Callers that already loaded the workflow's row version (joined to the record)
    pass it and save a round trip.
    """
    tenant_id = ctx.current_tenant_id
    assert tenant_id is not None
    if version is None:
        version = await ctx.session.scalar(
            select(Workflow.version).where(Workflow.id == workflow_id)
        )
        if version is None:
            return None
    key = (tenant_id, workflow_id, version)
    hit = compiled_workflows.get(key)
    if hit is not None:
        return hit
    detail = await queries.workflow_detail(ctx.session, workflow_id)
    assert detail is not None
    try:
        result = engine.compile_workflow(
            detail.workflow, detail.steps, detail.transitions, detail.categories
        )
    except ValueError as exc:
        raise RuleViolation(f"The workflow is not complete yet: {exc}") from exc
    compiled_workflows.put(key, result)
    return result


def cached_compiled(
    ctx: Ctx, workflow_id: uuid.UUID, version: int
) -> engine.CompiledWorkflow | None:
    """The workflow at that row version if it is compiled already, else None."""
    tenant_id = ctx.current_tenant_id
    assert tenant_id is not None
    return compiled_workflows.get((tenant_id, workflow_id, version))


async def require_compiled(
    ctx: Ctx, workflow_id: uuid.UUID, version: int | None = None
) -> engine.CompiledWorkflow:
    """`compiled`, or 404 for an unknown (or another tenant's) workflow."""
    flow = await compiled(ctx, workflow_id, version)
    if flow is None:
        raise NotFound("No such workflow")
    return flow


async def allowed_moves(
    ctx: Ctx, workflow_id: uuid.UUID, from_step_id: uuid.UUID
) -> tuple[engine.MoveOption, ...]:
    """What a record on `from_step_id` may do next, for the caller's role."""
    principal = ctx.require_principal()
    flow = await require_compiled(ctx, workflow_id)
    if from_step_id not in flow.steps:
        raise ValidationFailed(
            errors=[FieldError("from_step_id", "is not a step of this workflow")]
        )
    return flow.options(from_step_id, principal.role)


async def stage_analytics(
    ctx: Ctx, workflow_id: uuid.UUID, since: datetime | None, until: datetime | None
) -> tuple[datetime, datetime, list[dict[str, Any]]]:
    """Per-step figures from the history ledger; default period: the last 90 days."""
    ctx.require_principal()
    flow = await require_compiled(ctx, workflow_id)
    until = until or datetime.now(UTC)
    since = since or until - timedelta(days=90)
    if since.tzinfo is None or until.tzinfo is None:
        raise ValidationFailed(errors=[FieldError("from", "needs a UTC offset, e.g. Z")])
    if since >= until:
        raise ValidationFailed(errors=[FieldError("from", "must be before to")])
    moves = await queries.step_flow(ctx.session, workflow_id, since, until)
    return since, until, queries.step_analytics(flow, moves)


# ------------------------------------------------------------------ administration
#
# Versioning: records run on the workflow revision they started on. Editing a
# published revision never changes it: the edit goes to a draft copy (the next
# revision), which `publish` makes current for new records. Every edit bumps the
# edited workflow row's `version`, so compiled copies keyed by it go stale at once.


async def _locked(ctx: Ctx, model: type[LockedT], row_id: uuid.UUID, missing: str) -> LockedT:
    """The row, locked until the transaction ends so concurrent edits of it queue;
    404 `missing` when there is none (RLS: nor another organization's)."""
    row = await ctx.session.scalar(select(model).where(model.id == row_id).with_for_update())
    if row is None:
        raise NotFound(missing)
    return row


async def _lock_workflow(ctx: Ctx, workflow_id: uuid.UUID) -> Workflow:
    return await _locked(ctx, Workflow, workflow_id, "No such workflow")


async def _draft_for_edit(
    ctx: Ctx, workflow_id: uuid.UUID
) -> tuple[Workflow, dict[uuid.UUID, uuid.UUID]]:
    """The draft an edit applies to, and how the edited revision's step ids map into it.

    A draft is edited in place. A published revision is copied into a new draft
    first (409 if the workflow already has one). Retired revisions are read-only.
    """
    workflow = await _lock_workflow(ctx, workflow_id)
    if workflow.archived:
        raise Conflict("This is a retired version of the workflow; edit the current one")
    if not workflow.published:
        return workflow, {}
    existing = await ctx.session.scalar(
        select(Workflow).where(
            Workflow.family_id == workflow.family_id,
            ~Workflow.published,
            ~Workflow.archived,
        )
    )
    if existing is not None:
        raise Conflict(
            f"Version {existing.revision} of this workflow is already a draft; edit that one",
            errors=[FieldError("workflow_id", f"draft is {existing.id}")],
        )
    latest = await ctx.session.scalar(
        select(func.max(Workflow.revision)).where(Workflow.family_id == workflow.family_id)
    )
    draft = Workflow(
        tenant_id=workflow.tenant_id,
        family_id=workflow.family_id,
        revision=(latest or workflow.revision) + 1,
        name=workflow.name,
        entity_type=workflow.entity_type,
        published=False,
    )
    ctx.session.add(draft)
    await ctx.session.flush()
    steps = (
        await ctx.session.scalars(
            select(WorkflowStep).where(WorkflowStep.workflow_id == workflow.id)
        )
    ).all()
    mapping = {step.id: uuid7() for step in steps}
    for step in steps:
        ctx.session.add(
            WorkflowStep(
                tenant_id=step.tenant_id,
                id=mapping[step.id],
                workflow_id=draft.id,
                status_id=step.status_id,
                key=step.key,
                name=step.name,
                position=step.position,
                is_initial=step.is_initial,
                is_final=step.is_final,
                probability=step.probability,
                metadata_=dict(step.metadata_),
            )
        )
    await ctx.session.flush()
    transitions = (
        await ctx.session.scalars(
            select(WorkflowTransition).where(WorkflowTransition.workflow_id == workflow.id)
        )
    ).all()
    for transition in transitions:
        ctx.session.add(
            WorkflowTransition(
                tenant_id=transition.tenant_id,
                workflow_id=draft.id,
                from_step_id=mapping[transition.from_step_id],
                to_step_id=mapping[transition.to_step_id],
                label=transition.label,
                conditions=dict(transition.conditions),
                effects=list(transition.effects),
            )
        )
    await ctx.session.flush()
    return draft, mapping


async def _touch(ctx: Ctx, workflow: Workflow) -> None:
    """Bump the row version: compiled copies keyed by the old one are never used again."""
    workflow.updated_at = datetime.now(UTC)
    await ctx.session.flush()
    compiled_workflows.invalidate(workflow.tenant_id, workflow.id)


async def create_workflow(ctx: Ctx, data: WorkflowIn) -> Workflow:
    """Admins start a workflow as an empty draft (version 1)."""
    principal = require_role(ctx, Role.ADMIN)
    workflow_id = uuid7()
    workflow = Workflow(
        tenant_id=principal.tenant_id,
        id=workflow_id,
        family_id=workflow_id,
        revision=1,
        name=data.name,
        entity_type=data.entity_type.value,
        published=False,
    )
    ctx.session.add(workflow)
    await ctx.session.flush()
    return workflow


async def add_step(ctx: Ctx, workflow_id: uuid.UUID, data: StepIn) -> Workflow:
    """Add a step (to the draft); keys and statuses are unique per workflow."""
    require_role(ctx, Role.ADMIN)
    draft, _ = await _draft_for_edit(ctx, workflow_id)
    steps = (
        await ctx.session.scalars(select(WorkflowStep).where(WorkflowStep.workflow_id == draft.id))
    ).all()
    if any(step.key == data.key for step in steps):
        raise Conflict(errors=[FieldError("key", "is already a step of this workflow")])
    if any(step.status_id == data.status_id for step in steps):
        raise Conflict(errors=[FieldError("status_id", "is already used by another step")])
    if data.is_initial and any(step.is_initial for step in steps):
        raise Conflict(errors=[FieldError("is_initial", "this workflow already has one")])
    await _usable_status(ctx, data.status_id)
    metadata: dict[str, Any] = {}
    if data.required_fields:
        metadata["required_fields"] = list(dict.fromkeys(data.required_fields))
    if data.sla_days is not None:
        metadata["sla_days"] = data.sla_days
    ctx.session.add(
        WorkflowStep(
            tenant_id=draft.tenant_id,
            workflow_id=draft.id,
            status_id=data.status_id,
            key=data.key,
            name=data.name,
            position=max((step.position for step in steps), default=-1) + 1,
            is_initial=data.is_initial,
            is_final=data.is_final,
            probability=data.probability,
            metadata_=metadata,
        )
    )
    await _touch(ctx, draft)
    return draft


async def add_transition(ctx: Ctx, workflow_id: uuid.UUID, data: TransitionIn) -> Workflow:
    """Connect two steps of the same workflow (once per direction)."""
    require_role(ctx, Role.ADMIN)
    draft, mapping = await _draft_for_edit(ctx, workflow_id)
    source = mapping.get(data.from_step_id, data.from_step_id)
    target = mapping.get(data.to_step_id, data.to_step_id)
    found = set(
        (
            await ctx.session.scalars(
                select(WorkflowStep.id).where(
                    WorkflowStep.workflow_id == draft.id, WorkflowStep.id.in_([source, target])
                )
            )
        ).all()
    )
    errors = [
        FieldError(name, "is not a step of this workflow")
        for name, step_id in (("from_step_id", source), ("to_step_id", target))
        if step_id not in found
    ]
    if source == target:
        errors.append(FieldError("to_step_id", "must differ from from_step_id"))
    if errors:
        raise ValidationFailed(errors=errors)
    exists = await ctx.session.scalar(
        select(WorkflowTransition.id).where(
            WorkflowTransition.workflow_id == draft.id,
            WorkflowTransition.from_step_id == source,
            WorkflowTransition.to_step_id == target,
        )
    )
    if exists is not None:
        raise Conflict("These steps are already connected in this direction")
    ctx.session.add(
        WorkflowTransition(
            tenant_id=draft.tenant_id,
            workflow_id=draft.id,
            from_step_id=source,
            to_step_id=target,
            label=data.label,
            conditions=data.conditions.stored(),
            effects=await _stored_effects(ctx, draft, data.effects),
        )
    )
    await _touch(ctx, draft)
    return draft


async def _locked_part(ctx: Ctx, model: type[PartT], part_id: uuid.UUID) -> PartT | None:
    """A step or transition, read after its workflow row is locked.

    Every edit of a workflow's parts takes that lock first, so what is read here is
    what the commit will see: a concurrent edit that won is seen (its version, or the
    row gone) and answered 409/404, never a stale write.
    """
    workflow_id = await ctx.session.scalar(select(model.workflow_id).where(model.id == part_id))
    if workflow_id is None:
        return None
    await _lock_workflow(ctx, workflow_id)
    return await ctx.session.scalar(
        select(model).where(model.id == part_id).execution_options(populate_existing=True)
    )


async def _step_in_draft(
    ctx: Ctx, step_id: uuid.UUID, expected_version: int | None, *, version_required: bool
) -> tuple[Workflow, WorkflowStep]:
    """The draft an edit of this step applies to, and the step there (checked as seen)."""
    step = await _locked_part(ctx, WorkflowStep, step_id)
    if step is None:
        raise NotFound("No such step")
    if version_required or expected_version is not None:
        check_version(step.version, expected_version, "step")
    draft, mapping = await _draft_for_edit(ctx, step.workflow_id)
    if not mapping:
        return draft, step
    return draft, await ctx.session.get_one(WorkflowStep, (draft.tenant_id, mapping[step.id]))


async def delete_step(
    ctx: Ctx, step_id: uuid.UUID, expected_version: int | None = None
) -> Workflow:
    """Remove a step (from the draft) with its transitions; never one records sit on."""
    require_role(ctx, Role.ADMIN)
    draft, step = await _step_in_draft(ctx, step_id, expected_version, version_required=False)
    for table in _governed_tables():
        in_use = await ctx.session.scalar(
            select(table.c.id).where(table.c.step_id == step.id).limit(1)
        )
        if in_use is not None:
            raise Conflict(f"Records are still on step '{step.name}'; move them first")
    await ctx.session.delete(step)
    await _touch(ctx, draft)
    return draft


async def update_step(
    ctx: Ctx, step_id: uuid.UUID, data: StepPatch, expected_version: int | None
) -> Workflow:
    """Change a step's name, status, finality, probability, SLA or required fields (in
    the draft). Its status stays unique in the workflow and must not be archived."""
    require_role(ctx, Role.ADMIN)
    draft, step = await _step_in_draft(ctx, step_id, expected_version, version_required=True)
    changes = data.model_dump(exclude_unset=True)
    if data.status_id is not None and data.status_id != step.status_id:
        await _usable_status(ctx, data.status_id)
        taken = await ctx.session.scalar(
            select(WorkflowStep.id).where(
                WorkflowStep.workflow_id == draft.id, WorkflowStep.status_id == data.status_id
            )
        )
        if taken is not None:
            raise Conflict(errors=[FieldError("status_id", "is already used by another step")])
        step.status_id = data.status_id
    if data.name is not None:
        step.name = data.name
    if data.is_final is not None:
        step.is_final = data.is_final
    if "probability" in changes:
        step.probability = data.probability
    metadata = dict(step.metadata_)
    if data.required_fields is not None:
        metadata["required_fields"] = list(dict.fromkeys(data.required_fields))
    if "sla_days" in changes:
        metadata["sla_days"] = data.sla_days
    step.metadata_ = {key: value for key, value in metadata.items() if value not in (None, [])}
    await _touch(ctx, draft)
    return draft


async def _usable_status(ctx: Ctx, status_id: uuid.UUID) -> None:
    archived = await ctx.session.scalar(select(Status.archived).where(Status.id == status_id))
    if archived is None:
        raise ValidationFailed(errors=[FieldError("status_id", "is not a status")])
    if archived:
        raise RuleViolation(errors=[FieldError("status_id", "is archived")])


async def publish(ctx: Ctx, workflow_id: uuid.UUID) -> Workflow:
    """Make a draft the current version: new records of its project types start on it.

    The previous version is retired; records already on it stay there until migrated.
    Only a draft (409 otherwise) whose graph is sound (422 `engine.UnsoundWorkflow`
    naming the steps): every step reachable from the initial one, and a final step
    reachable from every step. Nothing is written when it is refused.
    """
    require_role(ctx, Role.ADMIN)
    workflow = await _lock_workflow(ctx, workflow_id)
    if workflow.published or workflow.archived:
        raise Conflict("Only a draft can be published")
    flow = await compiled(ctx, workflow.id)
    assert flow is not None
    engine.check_publishable(flow)
    previous = (
        await ctx.session.scalars(
            select(Workflow)
            .where(Workflow.family_id == workflow.family_id, Workflow.published)
            .with_for_update()
        )
    ).all()
    for old in previous:
        old.published = False
        old.archived = True
    workflow.published = True
    await ctx.session.flush()
    await ctx.session.execute(
        update(ProjectType)
        .where(ProjectType.default_workflow_id.in_([old.id for old in previous]))
        .values(default_workflow_id=workflow.id)
    )
    await _touch(ctx, workflow)
    return workflow


def _governed_tables() -> list[Table]:
    return [table for table in Base.metadata.tables.values() if table.info.get("governed")]


async def create_status(ctx: Ctx, data: StatusIn) -> Status:
    """Admins add statuses; names are unique in the organization."""
    principal = require_role(ctx, Role.ADMIN)
    if await ctx.session.scalar(select(Status.id).where(Status.name == data.name)) is not None:
        raise Conflict(errors=[FieldError("name", "is already a status")])
    status = Status(
        tenant_id=principal.tenant_id,
        name=data.name,
        colour=data.colour,
        category=data.category.value,
    )
    ctx.session.add(status)
    await ctx.session.flush()
    return status


async def _steps_using(ctx: Ctx, status_id: uuid.UUID) -> int:
    """Steps of any version (retired ones too: their records still show the status)."""
    count = await ctx.session.scalar(
        select(func.count()).select_from(WorkflowStep).where(WorkflowStep.status_id == status_id)
    )
    return int(count or 0)


async def update_status(
    ctx: Ctx, status_id: uuid.UUID, data: StatusPatch, expected_version: int | None
) -> Status:
    """Admins rename, recolour, archive or re-categorise a status.

    A status that steps use keeps its category: won/lost/open decide what a record
    on it means, and records already there must keep that meaning.
    """
    require_role(ctx, Role.ADMIN)
    status = await _locked(ctx, Status, status_id, "No such status")
    check_version(status.version, expected_version, "status")
    if data.name is not None and data.name != status.name:
        if await ctx.session.scalar(select(Status.id).where(Status.name == data.name)):
            raise Conflict(errors=[FieldError("name", "is already a status")])
        status.name = data.name
    if data.category is not None and data.category.value != status.category:
        in_use = await _steps_using(ctx, status.id)
        if in_use:
            raise Conflict(
                f"{in_use} step(s) use this status, so its category cannot change; "
                "create a new status instead",
                errors=[FieldError("category", "cannot change while steps use the status")],
            )
        status.category = data.category.value
    if data.colour is not None:
        status.colour = data.colour
    if data.archived is not None:
        status.archived = data.archived
    try:
        await ctx.session.flush()
    except StaleDataError as exc:
        raise StaleVersion() from exc
    return status


async def delete_status(ctx: Ctx, status_id: uuid.UUID, expected_version: int | None) -> None:
    """Admins delete a status no step uses (archive it otherwise)."""
    require_role(ctx, Role.ADMIN)
    status = await _locked(ctx, Status, status_id, "No such status")
    if expected_version is not None:
        check_version(status.version, expected_version, "status")
    in_use = await _steps_using(ctx, status.id)
    if in_use:
        raise Conflict(
            f"{in_use} step(s) use this status; archive it instead, or change those steps"
        )
    await ctx.session.delete(status)
    await ctx.session.flush()


async def update_workflow(
    ctx: Ctx, workflow_id: uuid.UUID, data: WorkflowPatch, expected_version: int | None
) -> Workflow:
    """Rename a workflow: every version of it carries the new name (no new draft)."""
    require_role(ctx, Role.ADMIN)
    workflow = await _lock_workflow(ctx, workflow_id)
    check_version(workflow.version, expected_version, "workflow")
    await ctx.session.execute(
        update(Workflow)
        .where(Workflow.family_id == workflow.family_id)
        .values(name=data.name, version=Workflow.version + 1, updated_at=func.now())
        .execution_options(synchronize_session=False)
    )
    await ctx.session.refresh(workflow)
    return workflow


async def delete_workflow(ctx: Ctx, workflow_id: uuid.UUID, expected_version: int | None) -> None:
    """Admins discard a draft: a version never published, with its steps and
    transitions. Nothing stands on a draft (records start on and migrate onto
    published versions only, project types name published ones). A published version
    is replaced by publishing the next one, and a retired one keeps the history of
    the records that were on it: 409 for either.
    """
    require_role(ctx, Role.ADMIN)
    workflow = await _lock_workflow(ctx, workflow_id)
    if expected_version is not None:
        check_version(workflow.version, expected_version, "workflow")
    if workflow.published or workflow.archived:
        raise Conflict(
            "Only a draft can be deleted; a published workflow is replaced by publishing "
            "its next version"
        )
    # Its steps and transitions go with it (ON DELETE CASCADE).
    await ctx.session.execute(delete(Workflow).where(Workflow.id == workflow.id))


async def create_project_type(ctx: Ctx, data: ProjectTypeIn) -> ProjectType:
    """A new kind of record on a published workflow: usable at once, no code change."""
    principal = require_role(ctx, Role.ADMIN)
    workflow = await ctx.session.scalar(
        select(Workflow).where(Workflow.id == data.default_workflow_id)
    )
    if workflow is None:
        raise NotFound("No such workflow")
    if not workflow.published:
        raise RuleViolation(
            errors=[FieldError("default_workflow_id", "must be a published workflow")]
        )
    if await ctx.session.scalar(select(ProjectType.id).where(ProjectType.name == data.name)):
        raise Conflict(errors=[FieldError("name", "is already a project type")])
    project_type = ProjectType(
        tenant_id=principal.tenant_id,
        name=data.name,
        entity_type=workflow.entity_type,
        default_workflow_id=workflow.id,
        icon=data.icon,
    )
    ctx.session.add(project_type)
    await ctx.session.flush()
    return project_type


async def update_project_type(
    ctx: Ctx, project_type_id: uuid.UUID, data: ProjectTypePatch, expected_version: int | None
) -> ProjectType:
    """Admins rename a project type, change its icon, or point it at another workflow.

    The caller sends the version it edited (422 without, 409 when stale); names stay
    unique in the organization (409). The workflow must be a published one for the
    same kind of record (422): the kind never changes, since records of the type
    exist as that kind. Only new records start on the new workflow; records already
    created stay on theirs until migrated (`migrate_records`).
    """
    require_role(ctx, Role.ADMIN)
    project_type = await _locked(ctx, ProjectType, project_type_id, "No such project type")
    check_version(project_type.version, expected_version, "project type")
    # Everything is checked before anything is assigned: a query would autoflush a
    # half-made change (and bump the version once per flush).
    name_taken = (
        data.name is not None
        and data.name != project_type.name
        and await ctx.session.scalar(select(ProjectType.id).where(ProjectType.name == data.name))
    )
    if name_taken:
        raise Conflict(errors=[FieldError("name", "is already a project type")])
    if data.default_workflow_id is not None:
        workflow = await ctx.session.scalar(
            select(Workflow).where(Workflow.id == data.default_workflow_id)
        )
        if workflow is None:
            raise ValidationFailed(errors=[FieldError("default_workflow_id", "is not a workflow")])
        if workflow.id != project_type.default_workflow_id and not workflow.published:
            raise RuleViolation(
                errors=[FieldError("default_workflow_id", "must be a published workflow")]
            )
        if workflow.entity_type != project_type.entity_type:
            raise RuleViolation(
                errors=[
                    FieldError(
                        "default_workflow_id",
                        f"must be a workflow for {project_type.entity_type} records",
                    )
                ]
            )
        project_type.default_workflow_id = workflow.id
    if data.name is not None:
        project_type.name = data.name
    if data.icon is not None:
        project_type.icon = data.icon
    try:
        await ctx.session.flush()
    except StaleDataError as exc:
        raise StaleVersion() from exc
    return project_type


async def delete_project_type(
    ctx: Ctx, project_type_id: uuid.UUID, expected_version: int | None
) -> None:
    """Admins delete a project type nothing depends on; a version, when sent, must be
    current (409 when stale).

    Refused with 409 (nothing written) while work items of the type exist, deleted
    ones included: they keep their type for their history and can be restored (the
    `work_items` foreign key refuses it too). Also refused for the organization's only
    project type of lead, deal or target records: those records find the workflow they
    start on through it. There is nothing to archive instead: a type no record uses
    leaves no trace, so the row goes.
    """
    require_role(ctx, Role.ADMIN)
    project_type = await _locked(ctx, ProjectType, project_type_id, "No such project type")
    if expected_version is not None:
        check_version(project_type.version, expected_version, "project type")
    if project_type.entity_type == EntityType.WORK_ITEM.value:
        in_use = await ctx.session.scalar(
            select(func.count())
            .select_from(WorkItem)
            .where(WorkItem.project_type_id == project_type.id)
        )
        if in_use:
            raise Conflict(
                f"{in_use} work item(s) are of this type (deleted ones included); "
                "it can be deleted once none are"
            )
    else:
        others = await ctx.session.scalar(
            select(func.count())
            .select_from(ProjectType)
            .where(
                ProjectType.entity_type == project_type.entity_type,
                ProjectType.id != project_type.id,
            )
        )
        if not others:
            raise Conflict(
                f"This is the only project type of {project_type.entity_type} records: "
                "new ones start on its workflow"
            )
    await ctx.session.delete(project_type)
    await ctx.session.flush()


async def migrate_records(ctx: Ctx, workflow_id: uuid.UUID, data: MigrationIn) -> int:
    """Move every record of an older version onto this (published) one, in one go.

    Every old step that records sit on must be mapped to a step of this version;
    each record gets a history row ("migration"). All or nothing.
    """
    require_role(ctx, Role.ADMIN)
    target = await _lock_workflow(ctx, workflow_id)
    if not target.published:
        raise RuleViolation("Records migrate onto the published version only")
    source = await ctx.session.scalar(
        select(Workflow).where(
            Workflow.family_id == target.family_id, Workflow.revision == data.from_version
        )
    )
    if source is None or source.id == target.id:
        raise ValidationFailed(errors=[FieldError("from_version", "is not an older version")])
    target_steps = set(
        (
            await ctx.session.scalars(
                select(WorkflowStep.id).where(WorkflowStep.workflow_id == target.id)
            )
        ).all()
    )
    errors = [
        FieldError(f"step_map.{old}", "is not a step of this version")
        for old, new in data.step_map.items()
        if new not in target_steps
    ]
    tables = _governed_tables()
    occupied: set[uuid.UUID] = set()
    for table in tables:
        query = select(table.c.step_id).where(table.c.workflow_id == source.id).distinct()
        occupied.update((await ctx.session.scalars(query)).all())
    errors += [
        FieldError(f"step_map.{step}", "records sit on this step: map it")
        for step in occupied - data.step_map.keys()
    ]
    if errors:
        raise ValidationFailed("Every occupied step needs a place in this version", errors=errors)
    moved = 0
    await ctx.session.execute(text("SELECT set_config('baton.workflow_migration', 'on', true)"))
    for table in tables:
        for old, new in data.step_map.items():
            result = await ctx.session.execute(
                update(table)
                .where(table.c.workflow_id == source.id, table.c.step_id == old)
                .values(workflow_id=target.id, step_id=new, version=table.c.version + 1)
            )
            moved += result.rowcount  # type: ignore[attr-defined]
    await ctx.session.execute(text("SELECT set_config('baton.workflow_migration', '', true)"))
    return moved


async def _transition_in_draft(
    ctx: Ctx, transition_id: uuid.UUID, expected_version: int | None, *, version_required: bool
) -> tuple[Workflow, WorkflowTransition]:
    """The draft an edit of this transition applies to, and the transition there.

    The version is checked against the transition the caller saw (before any copy).
    """
    transition = await _locked_part(ctx, WorkflowTransition, transition_id)
    if transition is None:
        raise NotFound("No such transition")
    if version_required or expected_version is not None:
        check_version(transition.version, expected_version, "transition")
    draft, mapping = await _draft_for_edit(ctx, transition.workflow_id)
    if not mapping:
        return draft, transition
    copy = await ctx.session.scalar(
        select(WorkflowTransition).where(
            WorkflowTransition.workflow_id == draft.id,
            WorkflowTransition.from_step_id == mapping[transition.from_step_id],
            WorkflowTransition.to_step_id == mapping[transition.to_step_id],
        )
    )
    assert copy is not None
    return draft, copy


async def delete_transition(
    ctx: Ctx, transition_id: uuid.UUID, expected_version: int | None = None
) -> Workflow:
    """Disconnect two steps (in the draft); a version, when sent, must be current."""
    require_role(ctx, Role.ADMIN)
    draft, transition = await _transition_in_draft(
        ctx, transition_id, expected_version, version_required=False
    )
    await ctx.session.delete(transition)
    await _touch(ctx, draft)
    return draft


async def update_transition(
    ctx: Ctx, transition_id: uuid.UUID, data: TransitionPatch, expected_version: int | None
) -> Workflow:
    """Change a transition's label, conditions or effects (in the draft).

    Effects are validated against the registry now, not when a record moves.
    """
    require_role(ctx, Role.ADMIN)
    draft, transition = await _transition_in_draft(
        ctx, transition_id, expected_version, version_required=True
    )
    if data.label is not None:
        transition.label = data.label
    if data.conditions is not None:
        transition.conditions = data.conditions.stored()
    if data.effects is not None:
        transition.effects = await _stored_effects(ctx, draft, data.effects)
    await _touch(ctx, draft)
    return draft


async def _stored_effects(
    ctx: Ctx, workflow: Workflow, requested: list[EffectIn]
) -> list[dict[str, Any]]:
    return await effects.validate_effects(
        ctx, workflow.entity_type, [(effect.name, effect.config) for effect in requested]
    )


async def reorder_steps(ctx: Ctx, workflow_id: uuid.UUID, step_ids: list[uuid.UUID]) -> Workflow:
    """Set the steps' order (in the draft); every step listed exactly once."""
    require_role(ctx, Role.ADMIN)
    draft, mapping = await _draft_for_edit(ctx, workflow_id)
    wanted = [mapping.get(step_id, step_id) for step_id in step_ids]
    steps = {
        step.id: step
        for step in (
            await ctx.session.scalars(
                select(WorkflowStep).where(WorkflowStep.workflow_id == draft.id)
            )
        ).all()
    }
    if len(set(wanted)) != len(wanted) or set(wanted) != set(steps):
        raise ValidationFailed(
            errors=[FieldError("step_ids", "must list every step of the workflow exactly once")]
        )
    # The (workflow, position) unique constraint is deferred to commit for this swap.
    for position, step_id in enumerate(wanted):
        steps[step_id].position = position
    await _touch(ctx, draft)
    return draft
