"""Targets: prospecting-list entries worked along the target-prospecting workflow.

Rules (DESIGN §3 to §5, issue 5 part 7):
- writers (admin, manager, marketing, sales) create, edit, move, convert and delete;
  viewers read only (403); another organization's ids are unknown (404, RLS);
- a target's dedupe key is its normalised email, else its phone's digits, else its
  normalised company name; one live target per key (409 naming the existing one);
- a target starts at the workflow's initial step and moves only along transitions
  (the engine answers first, the `govern_step` trigger has the last word and writes
  the history row); every step change also writes a "Stage changed" system activity
  on the target;
- a target is dropped with a reason from the transition's list (`other` needs
  notes) and converted only through `convert_target`, which makes the account, the
  contact and the deal, enrolled in the default cadence with its planned activities
  (or one "First contact" call without one), in the same transaction.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Row,
    String,
    Table,
    Uuid,
    bindparam,
    case,
    func,
    insert,
    literal,
    select,
    update,
)

from baton.accounts import queries as account_queries
from baton.accounts import service as account_service
from baton.accounts.matching import company_key
from baton.accounts.models import Account
from baton.activities.deletion import delete_planned_activities, restore_activities
from baton.activities.models import Activity, ActivityType
from baton.activities.timeline import stage_change_entry, stage_change_subject
from baton.cadences import service as cadence_service
from baton.contacts.matching import find_or_add_contact, person_of
from baton.contacts.models import Contact
from baton.core.context import Ctx, Principal
from baton.core.errors import (
    Conflict,
    FieldError,
    NotFound,
    StaleVersion,
    TransitionRejected,
    ValidationFailed,
)
from baton.core.ids import uuid7
from baton.core.pagination import PageRequest
from baton.core.versioning import check_sent_version, check_version
from baton.db import search
from baton.db.base import restore_deleted
from baton.deals import service as deal_service
from baton.deals.models import Deal
from baton.deals.schemas import DealIn
from baton.identity.access import WRITERS, require_role
from baton.identity.queries import on_behalf, writer_name, zone_of_member
from baton.targets import queries
from baton.targets.models import Target
from baton.targets.schemas import StatusIn, TargetIn, TargetPatch
from baton.webhooks.events import emit
from baton.workflow import engine
from baton.workflow import service as workflow_service
from baton.workflow.models import EntityType, ProjectType, StatusCategory, Workflow

TARGETS: Table = Target.__table__  # type: ignore[assignment]
ACTIVITIES: Table = Activity.__table__  # type: ignore[assignment]
ACCOUNTS: Table = Account.__table__  # type: ignore[assignment]
CONTACTS: Table = Contact.__table__  # type: ignore[assignment]
WORKFLOWS: Table = Workflow.__table__  # type: ignore[assignment]
PROJECT_TYPES: Table = ProjectType.__table__  # type: ignore[assignment]

# The `drop_reason` column's bound (reason codes may be longer elsewhere).
MAX_DROP_REASON = 32

# ---------------------------------------------------------------- normalisation


def dedupe_key(email: str | None, phone: str | None, company_name: str) -> str:
    """What makes two targets the same: the email (stored lower-cased), else the
    phone's digits, else the normalised company name. The prefix keeps the three
    kinds apart (a company called "4930 1234" is not that phone number)."""
    if email:
        return f"email:{email.lower()}"
    digits = re.sub(r"\D", "", phone or "")
    if digits:
        return f"phone:{digits}"
    return f"company:{company_key(company_name) or company_name.strip().lower()}"


def _dedupe_field(email: str | None, phone: str | None) -> str:
    if email:
        return "email"
    return "phone" if re.sub(r"\D", "", phone or "") else "company_name"


# ---------------------------------------------------------------- statements


def _settings_columns() -> list[Any]:
    # Reason, notes and fields reach the history trigger through transaction-local
    # settings; every load for a move sets all three, so nothing leaks into a later
    # move in the same transaction.
    return [
        func.set_config("baton.transition_reason", bindparam("reason"), True),
        func.set_config("baton.transition_notes", bindparam("notes"), True),
        func.set_config("baton.transition_fields", literal(""), True),
    ]


_LIVE = (TARGETS.c.id == bindparam("record_id"), TARGETS.c.deleted_at.is_(None))
_LOAD = (
    select(TARGETS, WORKFLOWS.c.version.label("workflow_version"))
    .join(WORKFLOWS, WORKFLOWS.c.id == TARGETS.c.workflow_id)
    .where(*_LIVE)
)
_LOAD_FOR_MOVE = (
    select(TARGETS, WORKFLOWS.c.version.label("workflow_version"), *_settings_columns())
    .join(WORKFLOWS, WORKFLOWS.c.id == TARGETS.c.workflow_id)
    .where(*_LIVE)
)
# A conversion holds the target's row from its first statement: a second convert of
# the same target waits, then finds it converted and answers the same account and deal.
_LOAD_FOR_CONVERT = _LOAD_FOR_MOVE.with_for_update(of=TARGETS)

_dropping = bindparam("dropping", type_=Boolean)
_converting = bindparam("converting", type_=Boolean)
_moved = (
    update(TARGETS)
    .where(*_LIVE, TARGETS.c.version == bindparam("expected_version"))
    .values(
        step_id=bindparam("to_step_id"),
        version=TARGETS.c.version + 1,
        updated_at=func.now(),
        dropped_at=case((_dropping, func.now()), else_=TARGETS.c.dropped_at),
        drop_reason=case(
            (_dropping, bindparam("new_drop_reason", type_=String)), else_=TARGETS.c.drop_reason
        ),
        drop_notes=case(
            (_dropping, bindparam("new_drop_notes", type_=String)), else_=TARGETS.c.drop_notes
        ),
        # The three conversion columns change together with the step (the CHECK
        # `converted_complete` holds them all-or-none).
        converted_at=case((_converting, func.now()), else_=TARGETS.c.converted_at),
        converted_account_id=case(
            (_converting, bindparam("new_account_id", type_=Uuid)),
            else_=TARGETS.c.converted_account_id,
        ),
        converted_deal_id=case(
            (_converting, bindparam("new_deal_id", type_=Uuid)), else_=TARGETS.c.converted_deal_id
        ),
    )
    .returning(*TARGETS.c)
    .cte("moved")
)
_logged = stage_change_entry(
    _moved,
    {"target_id": _moved.c.id},
    activity_id=bindparam("activity_id"),
    subject=bindparam("entry_subject"),
    actor=bindparam("actor_id"),
    description=bindparam("entry_description", type_=String),
)
# The step change and its timeline entry in one statement; the history row is the
# trigger's, the audit row the audit trigger's.
_MOVE = select(_moved).add_cte(_logged.cte("logged"))

_TARGET_KEYS = tuple(column.key for column in search.answered_columns(TARGETS))


def target_of(row: Row[Any]) -> Target:
    """A detached Target for the answer, from a row holding the `targets` columns."""
    values = row._asdict()
    return Target.detached({key: values[key] for key in _TARGET_KEYS})


@dataclass(frozen=True)
class Conversion:
    target: Target
    flow: engine.CompiledWorkflow
    account: account_queries.AccountRow
    deal: Deal
    deal_flow: engine.CompiledWorkflow
    activities: list[Activity]


# ---------------------------------------------------------------- the workflow


async def target_workflow(ctx: Ctx) -> engine.CompiledWorkflow:
    """The Target project type's default workflow, compiled (404 if there is none)."""
    row = (
        await ctx.session.execute(
            select(WORKFLOWS.c.id, WORKFLOWS.c.version)
            .join(PROJECT_TYPES, PROJECT_TYPES.c.default_workflow_id == WORKFLOWS.c.id)
            .where(PROJECT_TYPES.c.entity_type == EntityType.TARGET.value)
            .order_by(PROJECT_TYPES.c.created_at, PROJECT_TYPES.c.id)
            .limit(1)
        )
    ).first()
    if row is None:
        raise NotFound("This organization has no Target project type")
    return await workflow_service.require_compiled(ctx, row.id, row.version)


async def _load(
    ctx: Ctx, target_id: uuid.UUID, statement: Any = _LOAD, **params: Any
) -> tuple[Target, engine.CompiledWorkflow]:
    connection = await ctx.session.connection()
    row = (await connection.execute(statement, {"record_id": target_id, **params})).first()
    if row is None:
        raise NotFound("No such target")
    flow = await workflow_service.require_compiled(ctx, row.workflow_id, row.workflow_version)
    return target_of(row), flow


# ---------------------------------------------------------------- reads


async def get_target(ctx: Ctx, target_id: uuid.UUID) -> tuple[Target, engine.CompiledWorkflow]:
    """Any member reads a live target of the organization; deleted ones are 404."""
    ctx.require_principal()
    return await _load(ctx, target_id)


async def list_targets(
    ctx: Ctx, page: PageRequest, status: str | None, q: str | None
) -> list[Row[Any]]:
    """Any member lists live targets (`queries.list_targets`: creation order, or best
    matches of `q` first). `status` is a step key of the target workflow (422
    otherwise)."""
    await _check_status(ctx, status)
    return await queries.list_targets(ctx.session, page, status=status, q=q)


async def whole_list_statement(ctx: Ctx, status: str | None, q: str | None) -> Any:
    """The targets list whole, as `list_targets` pages it (the same member and
    `status` rules), every row in its order (an export reads it)."""
    await _check_status(ctx, status)
    return queries.list_statement(None, status=status, q=q)


async def _check_status(ctx: Ctx, status: str | None) -> None:
    ctx.require_principal()
    if status is not None:
        flow = await target_workflow(ctx)
        if status not in flow.steps_by_key:
            keys = ", ".join(step.key for step in flow.ordered_steps())
            raise ValidationFailed(
                errors=[FieldError("status", f"is not a target status; one of: {keys}")]
            )


async def summary(ctx: Ctx) -> tuple[uuid.UUID, list[queries.StatusCountRow]]:
    """Any member reads how many live targets are in each step of the target workflow
    (one statement); targets on older versions count under the step with their key."""
    ctx.require_principal()
    workflow_id, counts = await queries.summary(ctx.session)
    if workflow_id is None:
        raise NotFound("This organization has no Target project type")
    return workflow_id, counts


# ---------------------------------------------------------------- create, edit, delete


async def _require_writer(ctx: Ctx, principal: Principal, owner_id: uuid.UUID) -> None:
    if owner_id != principal.user_id and not await writer_name(
        ctx.session, principal.tenant_id, owner_id
    ):
        raise ValidationFailed(
            errors=[FieldError("owner_id", "is not a member who can own records")]
        )


async def _check_duplicate(
    ctx: Ctx, key: str, field: str, except_id: uuid.UUID | None = None
) -> None:
    """409 naming the live target that already has this dedupe key.

    A transaction-scoped advisory lock on the key comes first, so two requests with the
    same key take turns and the second sees the first's target (never a bare unique
    violation without the id to name)."""
    tenant_id = ctx.current_tenant_id
    await ctx.session.execute(
        select(func.pg_advisory_xact_lock(func.hashtextextended(f"target:{tenant_id}:{key}", 0)))
    )
    query = select(TARGETS.c.id).where(TARGETS.c.dedupe_key == key, TARGETS.c.deleted_at.is_(None))
    if except_id is not None:
        query = query.where(TARGETS.c.id != except_id)
    existing = await ctx.session.scalar(query.limit(1))
    if existing is not None:
        raise Conflict(
            f"Target {existing} is already on the list with this {field.replace('_', ' ')}",
            errors=[FieldError(field, f"matches the existing target {existing}")],
        )


async def create_target(ctx: Ctx, data: TargetIn) -> tuple[Target, engine.CompiledWorkflow]:
    """Writers add a target at the initial step of the target workflow.

    The owner is the caller unless another member who can write is named (422
    otherwise). A live target with the same dedupe key (email, else phone digits,
    else company name) is 409 naming that target's id.
    """
    principal = require_role(ctx, *WRITERS)
    owner_id = data.owner_id or principal.user_id
    await _require_writer(ctx, principal, owner_id)
    key = dedupe_key(data.email, data.phone, data.company_name)
    await _check_duplicate(ctx, key, _dedupe_field(data.email, data.phone))
    flow = await target_workflow(ctx)
    connection = await ctx.session.connection()
    row = (
        await connection.execute(
            insert(TARGETS)
            .values(
                tenant_id=principal.tenant_id,
                id=uuid7(),
                company_name=data.company_name,
                contact_name=data.contact_name,
                email=data.email,
                phone=data.phone,
                notes=data.notes,
                owner_id=owner_id,
                dedupe_key=key,
                workflow_id=flow.workflow_id,
                step_id=flow.initial_step.id,
                # The trigger sets the real time of entry; this only satisfies NOT NULL.
                entered_step_at=datetime.now(UTC),
            )
            .returning(*TARGETS.c)
        )
    ).one()
    return target_of(row), flow


async def update_target(
    ctx: Ctx, target_id: uuid.UUID, data: TargetPatch, expected_version: int | None
) -> tuple[Target, engine.CompiledWorkflow]:
    """Writers edit a live target's details at its current version (409 stale, 422
    missing); the status changes only by /status and /convert.

    Company and owner cannot be cleared; a new owner must be a writer member (422).
    The dedupe key follows the email, phone and company; another live target with the
    new key is 409 naming it.
    """
    principal = require_role(ctx, *WRITERS)
    target, flow = await _load(ctx, target_id)
    check_version(target.version, expected_version, "target")
    changes = data.model_dump(exclude_unset=True, exclude={"version"})
    removed = [
        FieldError(name, "cannot be removed")
        for name in ("company_name", "owner_id")
        if name in changes and changes[name] is None
    ]
    if removed:
        raise ValidationFailed(errors=removed)
    if changes.get("owner_id") not in (None, target.owner_id):
        await _require_writer(ctx, principal, changes["owner_id"])
    if not changes:
        return target, flow
    email = changes.get("email", target.email)
    phone = changes.get("phone", target.phone)
    key = dedupe_key(email, phone, changes.get("company_name", target.company_name))
    if key != target.dedupe_key:
        await _check_duplicate(ctx, key, _dedupe_field(email, phone), except_id=target_id)
    connection = await ctx.session.connection()
    row = (
        await connection.execute(
            update(TARGETS)
            .where(*_LIVE, TARGETS.c.version == target.version)
            .values(**changes, dedupe_key=key, version=TARGETS.c.version + 1, updated_at=func.now())
            .returning(*TARGETS.c),
            {"record_id": target_id},
        )
    ).first()
    if row is None:
        raise StaleVersion("The target changed while you edited it")
    return target_of(row), flow


async def delete_target(ctx: Ctx, target_id: uuid.UUID, expected_version: int | None) -> None:
    """Writers delete a live target softly at its current version (409 stale, 422
    missing), with its still-planned activities that belong to no deal, under one new
    deletion id. History, timeline and audit stay; the target answers 404 and its
    dedupe key is free again. A converted target's account and deal stay: they are
    records of their own now."""
    principal = require_role(ctx, *WRITERS)
    target, _ = await _load(ctx, target_id)
    check_version(target.version, expected_version, "target")
    marks = {
        "deleted_at": func.now(),
        "deleted_by": principal.user_id,
        "deletion_id": uuid7(),
        "updated_at": func.now(),
    }
    deleted = (
        update(TARGETS)
        .where(*_LIVE, TARGETS.c.version == target.version)
        .values(version=TARGETS.c.version + 1, **marks)
        .returning(TARGETS.c.tenant_id, TARGETS.c.id)
        .cte("deleted")
    )
    planned = delete_planned_activities(
        (ACTIVITIES.c.tenant_id == deleted.c.tenant_id)
        & (ACTIVITIES.c.target_id == deleted.c.id)
        & ACTIVITIES.c.deal_id.is_(None),
        marks,
    ).cte("planned")
    connection = await ctx.session.connection()
    row = (
        await connection.execute(select(deleted.c.id).add_cte(planned), {"record_id": target_id})
    ).first()
    if row is None:
        raise StaleVersion("The target changed while you deleted it")


async def restore_target(
    ctx: Ctx, target_id: uuid.UUID, expected_version: int | None
) -> tuple[Target, engine.CompiledWorkflow]:
    """Writers bring back a deleted target, and exactly the planned activities its
    deletion took (same deletion id); anything deleted under another id stays deleted.

    404 for an unknown target or another organization's. 409 if the target is not
    deleted, if the version given (optional) is stale, or if a live target took its
    dedupe key meanwhile (naming it, as a create would; the key's lock and the unique
    index keep two restores or a restore and a create from both winning). A converted
    target comes back converted: its account and deal never left.
    """
    require_role(ctx, *WRITERS)
    connection = await ctx.session.connection()
    row = (
        await connection.execute(
            select(
                TARGETS.c.version,
                TARGETS.c.deletion_id,
                TARGETS.c.dedupe_key,
                TARGETS.c.email,
                TARGETS.c.phone,
            )
            .where(TARGETS.c.id == target_id)
            .with_for_update()
        )
    ).first()
    if row is None:
        raise NotFound("No such target")
    if row.deletion_id is None:
        raise Conflict("The target is not deleted")
    check_sent_version(row.version, expected_version, "target")
    field = _dedupe_field(row.email, row.phone)
    await _check_duplicate(ctx, row.dedupe_key, field, except_id=target_id)
    await ctx.session.execute(restore_deleted(TARGETS, row.deletion_id))
    await ctx.session.execute(restore_activities(row.deletion_id))
    return await _load(ctx, target_id)


# ---------------------------------------------------------------- moves


def _move_params(
    principal: Principal,
    target_id: uuid.UUID,
    version: int,
    move: engine.Move,
    *,
    description: str | None = None,
    drop: tuple[str, str | None] | None = None,
    converted: tuple[uuid.UUID, uuid.UUID] | None = None,
) -> dict[str, Any]:
    return {
        "record_id": target_id,
        "expected_version": version,
        "to_step_id": move.to_step.id,
        "dropping": drop is not None,
        "new_drop_reason": drop[0] if drop else None,
        "new_drop_notes": drop[1] if drop else None,
        "converting": converted is not None,
        "new_account_id": converted[0] if converted else None,
        "new_deal_id": converted[1] if converted else None,
        "activity_id": uuid7(),
        "entry_subject": stage_change_subject(move),
        "entry_description": description,
        "actor_id": principal.user_id,
    }


async def _move(ctx: Ctx, params: dict[str, Any]) -> Target:
    connection = await ctx.session.connection()
    row = (await connection.execute(_MOVE, params)).first()
    if row is None:
        # The version moved on between the load and this update: a concurrent change won.
        raise StaleVersion("The target changed while you moved it")
    return target_of(row)


def _drop_description(reason: str, notes: str | None) -> str:
    text = f"Dropped: {reason}"
    # The notes are kept whole on the target; the timeline entry has the CHECK's bound.
    return (f"{text} — {notes}" if notes else text)[:10_000]


async def change_status(
    ctx: Ctx, target_id: uuid.UUID, data: StatusIn
) -> tuple[Target, engine.CompiledWorkflow]:
    """Move a live target to the step with key `status`, along a transition of its
    workflow — validated, recorded, all or nothing.

    The caller's version must be current (409; also when a concurrent move won). The
    step must exist in the target's workflow and be reachable by a transition the
    caller's role may take, with its reason and notes (422 naming each problem). A
    won step (Converted) is reached only through /convert, which makes the account
    and deal (422). A lost step (Dropped) always needs a reason — one of the
    transition's list when it has one, `other` with notes — and sets `dropped_at`,
    `drop_reason` and `drop_notes`. The trigger writes the history row; a "Stage
    changed" system activity goes on the target's timeline.
    """
    principal = require_role(ctx, *WRITERS)
    target, flow = await _load(
        ctx, target_id, _LOAD_FOR_MOVE, reason=data.reason or "", notes=data.notes or ""
    )
    if target.version != data.version:
        raise StaleVersion(f"The target is at version {target.version}, not {data.version}")
    to_step = flow.steps_by_key.get(data.status)
    if to_step is None:
        keys = ", ".join(step.key for step in flow.ordered_steps())
        raise TransitionRejected(
            f"'{data.status}' is not a status of the workflow {flow.name}",
            errors=[FieldError("status", f"is not a target status; one of: {keys}")],
        )
    move = flow.check(
        target.step_id, to_step.id, role=principal.role, reason=data.reason, notes=data.notes
    )
    if to_step.category is StatusCategory.WON:
        raise TransitionRejected(
            f"A target becomes {to_step.name} through POST /api/v1/targets/{target_id}/convert",
            errors=[FieldError("status", f"{to_step.name} is reached by converting the target")],
        )
    drop = None
    if to_step.category is StatusCategory.LOST:
        # The transition may list no reasons; a dropped target still has one (DESIGN §3.2).
        if data.reason is None:
            raise TransitionRejected(
                f"Cannot move to {to_step.name} without a reason",
                errors=[FieldError("reason", "is required")],
            )
        if len(data.reason) > MAX_DROP_REASON:
            raise ValidationFailed(
                errors=[FieldError("reason", f"must be at most {MAX_DROP_REASON} characters")]
            )
        drop = (data.reason, data.notes)
    moved = await _move(
        ctx,
        _move_params(
            principal,
            target_id,
            data.version,
            move,
            description=_drop_description(*drop) if drop else None,
            drop=drop,
        ),
    )
    return moved, flow


# ---------------------------------------------------------------- convert


def _conversion_path(
    flow: engine.CompiledWorkflow, from_step: engine.StepNode, role: str
) -> list[engine.Move]:
    """The moves from `from_step` to a won step: one transition, or two through an open
    step (Engaged → Qualified → Converted in the default workflow). 422 otherwise."""
    won = flow.steps_in_category(StatusCategory.WON)
    for step in won:
        if (from_step.id, step.id) in flow.edges:
            return [flow.check(from_step.id, step.id, role=role)]
    for step in won:
        for edge in flow.outgoing.get(from_step.id, ()):
            middle = flow.step(edge.to_step_id)
            if middle.category is StatusCategory.OPEN and (middle.id, step.id) in flow.edges:
                return [
                    flow.check(from_step.id, middle.id, role=role),
                    flow.check(middle.id, step.id, role=role),
                ]
    sources = sorted(
        {
            flow.step(edge.from_step_id).name
            for step in won
            for edge in flow.edges.values()
            if edge.to_step_id == step.id
        }
    )
    allowed = " or ".join(sources) or "no step"
    raise TransitionRejected(
        f"A target is converted from {allowed} (or one step before); this one is {from_step.name}",
        errors=[FieldError("status", f"cannot convert from {from_step.name}")],
    )


async def _conversion_activities(ctx: Ctx, target: Target) -> list[Activity]:
    """The work the conversion planned on the target's deal (not the system entries)."""
    rows = await ctx.session.scalars(
        select(Activity)
        .where(
            Activity.target_id == target.id,
            Activity.deal_id == target.converted_deal_id,
            Activity.type != ActivityType.SYSTEM.value,
        )
        .order_by(Activity.created_at, Activity.id)
    )
    return list(rows.all())


async def _existing_conversion(
    ctx: Ctx, target: Target, flow: engine.CompiledWorkflow
) -> Conversion:
    assert target.converted_account_id is not None
    assert target.converted_deal_id is not None
    try:
        account = await _account_row(ctx, target.converted_account_id)
        deal, deal_flow = await deal_service.get_deal(ctx, target.converted_deal_id)
    except NotFound as exc:
        raise Conflict(
            "The target was converted, but its account or deal has since been deleted"
        ) from exc
    activities = await _conversion_activities(ctx, target)
    return Conversion(target, flow, account, deal, deal_flow, activities)


async def _account_row(ctx: Ctx, account_id: uuid.UUID) -> account_queries.AccountRow:
    row = await account_queries.live_account(ctx.session, account_id)
    if row is None:
        raise NotFound("No such account")
    return row


async def convert_target(ctx: Ctx, target_id: uuid.UUID) -> Conversion:
    """Turn a qualified (or engaged) target into an account, a contact and a deal with
    its planned work — one transaction, or nothing.

    The target's row is locked first. A target already converted answers the account,
    deal and activities it became (idempotent: nothing new is written). Otherwise it
    must reach the workflow's won step in one transition, or two through an open step
    (Engaged → Qualified → Converted, both moves in history); 422 from anywhere else.
    Then, in order: the account is found (domain of a non-free-mail email, then the
    normalised company name) or created; the contact is found or added from the
    contact name, email and phone (`contacts.matching`: by email, then phone); the
    deal is opened, with the target's notes, on the default pipeline through
    `deals.service.create_deal` (owner = the target's owner, which must still be a
    writer member — 422 otherwise, undoing everything) and enrolled in the
    organization's active default cadence (DESIGN §5): each step's activity planned
    for the deal's owner as `cadences.service.enroll_record` plans it (subjects from
    the account, the contact and the deal; due by the end of the owner's working day
    the step delays on, in their time zone), linked to the deal, its account and
    contact, the target and the enrolment; the deal's next step and due date are the
    earliest of them. Without an active default cadence: one "First contact" call due
    by the end of the owner's working day, described by the target's notes, and that
    is the next step. The target moves last, the last move setting
    `converted_account_id`, `converted_deal_id` and `converted_at`, each move writing
    history and a "Stage changed" system activity. Targets are not enrolled in
    cadences themselves (an enrolment holds a deal, an account or a contact), so none
    is left to stop.
    """
    principal = require_role(ctx, *WRITERS)
    target, flow = await _load(ctx, target_id, _LOAD_FOR_CONVERT, reason="", notes="")
    if target.converted_at is not None:
        return await _existing_conversion(ctx, target, flow)
    moves = _conversion_path(flow, flow.step(target.step_id), principal.role)
    account_id = await account_service.find_or_create_account(
        ctx, target.company_name, target.email, target.owner_id
    )
    contact = await find_or_add_contact(
        ctx,
        account_id,
        person_of(target.contact_name, target.email, target.phone, target.company_name),
    )
    contact_id, contact_name = (contact.id, contact.full_name) if contact else (None, None)
    account = await _account_row(ctx, account_id)
    cadence = await cadence_service.default_cadence(ctx)
    start = datetime.now(UTC)
    zone = await zone_of_member(ctx.session, target.owner_id)
    planned = cadence_service.new_deal_plan(
        cadence,
        cadence_service.Placeholders(
            company=account.account.name, contact=contact_name, title=target.company_name
        ),
        start,
        target.notes,
        zone,
    )
    next_step, next_step_due = cadence_service.next_step_of(planned, zone)
    deal, deal_flow = await deal_service.create_deal(
        ctx,
        DealIn(
            name=target.company_name,
            account_id=account_id,
            contact_id=contact_id,
            owner_id=target.owner_id,
            notes=target.notes,
            next_step=next_step,
            next_step_due_date=next_step_due,
        ),
    )
    activities = await cadence_service.start_new_deal(
        ctx,
        cadence_service.new_deal_params(
            cadence,
            planned,
            tenant_id=principal.tenant_id,
            deal_id=deal.id,
            owner_id=deal.owner_id,
            actor_id=principal.user_id,
            account_id=account_id,
            start=start,
            contact_id=contact_id,
            target_id=target.id,
        ),
    )
    version = target.version
    converted = f"Converted: deal {deal.name}"
    acted = await on_behalf(ctx.session, target.owner_id, principal.user_id)
    if acted is not None:
        converted = f"{converted} (converted {acted})"
    for move in moves:
        last = move is moves[-1]
        target = await _move(
            ctx,
            _move_params(
                principal,
                target_id,
                version,
                move,
                description=converted if last else None,
                converted=(account_id, deal.id) if last else None,
            ),
        )
        version = target.version
    await emit(ctx, "target.converted", target_id)
    return Conversion(target, flow, account, deal, deal_flow, activities)


async def activities_of(ctx: Ctx, target_id: uuid.UUID) -> Sequence[Activity]:
    """Any member reads a live target's timeline, newest first."""
    await get_target(ctx, target_id)
    return await queries.timeline(ctx.session, target_id)
