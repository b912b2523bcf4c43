"""Bulk actions: many rows of one list, one action, one request.

Every row goes through the same service function a single change calls (the deal's
move, the target's status change, the account's edit, ...), so the workflow, the
roles and the versions are checked exactly as for one record, and each row writes
its own history, timeline entry and audit rows. Each row runs in a savepoint of the
request's transaction: a refused row rolls back to it and leaves the others as they
were, so the answer lists per row what was done, refused (with the single change's
reason) or not found.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, literal, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError

from baton.accounts import queries as account_queries
from baton.accounts import service as account_service
from baton.accounts.models import MAX_TAGS
from baton.accounts.schemas import AccountPatch
from baton.bulk import tasks
from baton.bulk.models import BulkRun, BulkRunStatus
from baton.bulk.schemas import (
    MAX_ROWS,
    SYNC_ROWS,
    AccountBulkIn,
    AccountFilter,
    BulkAction,
    ContactBulkIn,
    ContactFilter,
    DealBulkIn,
    DealFilter,
    LeadBulkIn,
    LeadFilter,
    RowStatus,
    TargetBulkIn,
    TargetFilter,
)
from baton.cadences import service as cadence_service
from baton.cadences.models import Cadence
from baton.cadences.schemas import EnrollIn
from baton.contacts import service as contact_service
from baton.core.context import AuthMethod, Ctx, Principal
from baton.core.errors import DomainError, FieldError, NotFound, ValidationFailed
from baton.core.pagination import MAX_PAGE_SIZE, next_page, page_of, sorted_page_of
from baton.deals import queries as deal_queries
from baton.deals import service as deal_service
from baton.deals.schemas import DealMoveIn, DealPatch
from baton.identity.access import WRITERS, require_role
from baton.identity.models import Membership, Role, Tenant, User
from baton.jobs.defer import defer
from baton.leads import service as lead_service
from baton.leads.schemas import TriageIn
from baton.targets import service as target_service
from baton.targets.schemas import StatusIn, TargetPatch

# Leads go to a salesperson by assignment, which is the supervisors'.
SUPERVISORS = (Role.ADMIN, Role.MANAGER)

RowAction = Callable[[Ctx, uuid.UUID], Awaitable[RowStatus]]
BulkIn = DealBulkIn | LeadBulkIn | TargetBulkIn | AccountBulkIn | ContactBulkIn
# Rows one job transaction acts on before it queues the next chunk (and the progress
# a poll sees moves on).
CHUNK_ROWS = 100


class BulkEntity(StrEnum):
    DEALS = "deals"
    LEADS = "leads"
    TARGETS = "targets"
    ACCOUNTS = "accounts"
    CONTACTS = "contacts"


@dataclass(frozen=True)
class RowOutcome:
    id: uuid.UUID
    status: RowStatus
    # The single change's refusal (NotFound for `not_found`); None when done.
    error: DomainError | None = None


def outcome_json(outcome: RowOutcome) -> dict[str, Any]:
    """A row's result as answered and stored: `{id, status, error}`, the error the
    single change's Problem in short (`{title, detail, errors}`) or null."""
    error = outcome.error
    return {
        "id": str(outcome.id),
        "status": outcome.status.value,
        "error": None
        if error is None
        else {
            "title": error.title,
            "detail": error.detail,
            "errors": [{"field": e.field, "message": e.message} for e in error.errors],
        },
    }


@dataclass(frozen=True)
class BulkResult:
    """A bulk action's answer: done in the request (`run_id` None, completed), or a
    run the worker goes through (its results so far)."""

    entity: BulkEntity
    action: BulkAction
    status: BulkRunStatus
    total: int
    results: list[dict[str, Any]]
    run_id: uuid.UUID | None = None


class RowRefused(DomainError):
    """A refusal the database gave for one row (a constraint), in words."""

    status = 409
    title = "Conflict"
    slug = "conflict"


# ---------------------------------------------------------------- selecting rows


async def _matching_page(
    ctx: Ctx, matched: object, cursor: str | None
) -> tuple[list[uuid.UUID], str | None]:
    """One page of what the list API lists for these filters, in its order, and the
    next page's cursor (None: the last page); the same service calls, so the same
    role rules and the same rows."""
    if isinstance(matched, DealFilter):
        sorted_page = sorted_page_of(MAX_PAGE_SIZE, cursor, matched.sort)
        deals = await deal_service.list_deals(ctx, sorted_page, matched)
        shown = [row.id for row in deals[: sorted_page.limit]]
        return shown, deal_queries.next_list_cursor(deals, sorted_page)
    page = page_of(MAX_PAGE_SIZE, cursor)
    keys: list[tuple[uuid.UUID, int | None]]
    if isinstance(matched, LeadFilter):
        if matched.q is not None:
            found = await lead_service.search_leads(ctx, matched.view, page, matched.q)
            keys = [(row.record.lead.id, row.rank) for row in found]
        else:
            leads = await lead_service.list_leads(ctx, matched.view, page)
            keys = [(record.lead.id, None) for record in leads]
    elif isinstance(matched, TargetFilter):
        targets = await target_service.list_targets(ctx, page, matched.status, matched.q)
        keys = [(row.id, row._mapping.get("search_rank")) for row in targets]
    elif isinstance(matched, AccountFilter):
        principal = ctx.require_principal()
        accounts = await account_queries.list_accounts(
            ctx.session,
            page,
            q=matched.q,
            owner_id=principal.user_id if matched.owner == "me" else None,
            tenure=matched.tenure,
            activity=matched.activity,
        )
        keys = [(row.account.id, row.rank) for row in accounts]
    else:
        assert isinstance(matched, ContactFilter), matched
        contacts = await contact_service.list_contacts(ctx, page, matched.account_id, matched.q)
        keys = [(contact.id, rank) for contact, rank in contacts]
    return [record_id for record_id, _ in keys[: page.limit]], next_page(keys, page)


async def matching_ids(ctx: Ctx, matched: object) -> list[uuid.UUID]:
    """Every row the list API shows for these filters, in its order, page by page;
    more than `MAX_ROWS` is 422 (narrow the filter) before anything is done."""
    ids: list[uuid.UUID] = []
    cursor: str | None = None
    while True:
        shown, cursor = await _matching_page(ctx, matched, cursor)
        ids.extend(shown)
        if len(ids) > MAX_ROWS:
            raise ValidationFailed(
                f"The filter matches more than {MAX_ROWS} rows; narrow it, or act in parts",
                errors=[FieldError("filter", f"matches more than {MAX_ROWS} rows")],
            )
        if cursor is None:
            return ids


def _distinct(ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """The ids in the order sent, each once: a row is acted on once per request."""
    return list(dict.fromkeys(ids))


# ---------------------------------------------------------------- one row per action


async def _cadence(ctx: Ctx, cadence_id: uuid.UUID) -> Cadence:
    """The cadence to enrol in, checked once for the whole request (422: no row
    could be enrolled in a cadence that is not the organization's)."""
    cadence = await ctx.session.get(Cadence, (ctx.current_tenant_id, cadence_id))
    if cadence is None:
        raise ValidationFailed(errors=[FieldError("cadence_id", "is not a cadence of yours")])
    return cadence


@dataclass(frozen=True)
class _Kind:
    """How a bulk row reaches one kind's single changes: `load` reads the live record
    the way its single change would (NotFound otherwise; the row's version is read
    here), the others are that kind's own service functions (None: not offered)."""

    load: Callable[[Ctx, uuid.UUID], Awaitable[Any]]
    update: Callable[[Ctx, uuid.UUID, Any, int], Awaitable[Any]] | None = None
    patch: Callable[..., Any] | None = None
    delete: Callable[[Ctx, uuid.UUID, int], Awaitable[Any]] | None = None
    restore: Callable[[Ctx, uuid.UUID, int | None], Awaitable[Any]] | None = None
    # The enrolment's column naming this kind's record.
    enrol_column: str | None = None


async def _first(found: Awaitable[tuple[Any, Any]]) -> Any:
    return (await found)[0]


async def _lead_of(ctx: Ctx, lead_id: uuid.UUID) -> Any:
    return (await lead_service.get_lead(ctx, lead_id)).lead


async def _account_of(ctx: Ctx, account_id: uuid.UUID) -> Any:
    return (await account_service.get_account(ctx, account_id)).account


KINDS: dict[BulkEntity, _Kind] = {
    BulkEntity.DEALS: _Kind(
        load=lambda ctx, deal_id: _first(deal_service.get_deal(ctx, deal_id)),
        update=deal_service.update_deal,
        patch=DealPatch,
        delete=deal_service.delete_deal,
        restore=deal_service.restore_deal,
        enrol_column="deal_id",
    ),
    BulkEntity.LEADS: _Kind(load=_lead_of),
    BulkEntity.TARGETS: _Kind(
        load=lambda ctx, target_id: _first(target_service.get_target(ctx, target_id)),
        update=target_service.update_target,
        patch=TargetPatch,
        delete=target_service.delete_target,
        restore=target_service.restore_target,
    ),
    BulkEntity.ACCOUNTS: _Kind(
        load=_account_of,
        update=account_service.update_account,
        patch=AccountPatch,
        delete=account_service.delete_account,
        restore=account_service.restore_account,
        enrol_column="account_id",
    ),
    BulkEntity.CONTACTS: _Kind(
        load=contact_service.get_contact,
        delete=contact_service.delete_contact,
        restore=contact_service.restore_contact,
        enrol_column="contact_id",
    ),
}

# One row of one action: (the kind, the context, the row's id, the request).
RowStep = Callable[[_Kind, Ctx, uuid.UUID, Any], Awaitable[RowStatus]]


async def _restore(kind: _Kind, ctx: Ctx, record_id: uuid.UUID, data: Any) -> RowStatus:
    assert kind.restore is not None
    await kind.restore(ctx, record_id, None)
    return RowStatus.RESTORED


async def _delete(kind: _Kind, ctx: Ctx, record_id: uuid.UUID, data: Any) -> RowStatus:
    assert kind.delete is not None
    record = await kind.load(ctx, record_id)
    await kind.delete(ctx, record_id, record.version)
    return RowStatus.DELETED


async def _change_owner(kind: _Kind, ctx: Ctx, record_id: uuid.UUID, data: Any) -> RowStatus:
    assert kind.update is not None
    assert kind.patch is not None
    record = await kind.load(ctx, record_id)
    await kind.update(ctx, record_id, kind.patch(owner_id=data.owner_id), record.version)
    return RowStatus.UPDATED


async def _enrol(kind: _Kind, ctx: Ctx, record_id: uuid.UUID, data: Any) -> RowStatus:
    assert kind.enrol_column is not None
    await kind.load(ctx, record_id)
    enrolment = EnrollIn(**{kind.enrol_column: record_id})
    await cadence_service.enroll(ctx, data.cadence_id, enrolment)
    return RowStatus.ENROLLED


async def _move_deal(kind: _Kind, ctx: Ctx, deal_id: uuid.UUID, data: DealBulkIn) -> RowStatus:
    assert data.to_step_id is not None
    deal = await kind.load(ctx, deal_id)
    if deal.step_id == data.to_step_id:
        return RowStatus.UNCHANGED
    move = DealMoveIn(
        to_step_id=data.to_step_id, version=deal.version, reason=data.reason, notes=data.notes
    )
    await deal_service.move_deal(ctx, deal_id, move)
    return RowStatus.MOVED


async def _move_target(
    kind: _Kind, ctx: Ctx, target_id: uuid.UUID, data: TargetBulkIn
) -> RowStatus:
    assert data.status is not None
    target, flow = await target_service.get_target(ctx, target_id)
    if flow.step(target.step_id).key == data.status:
        return RowStatus.UNCHANGED
    change = StatusIn(
        status=data.status, reason=data.reason, notes=data.notes, version=target.version
    )
    await target_service.change_status(ctx, target_id, change)
    return RowStatus.MOVED


async def _triage_lead(kind: _Kind, ctx: Ctx, lead_id: uuid.UUID, data: LeadBulkIn) -> RowStatus:
    assert data.status is not None
    lead = await kind.load(ctx, lead_id)
    triage = TriageIn(
        status=data.status, reason=data.reason, notes=data.notes, version=lead.version
    )
    await lead_service.triage_lead(ctx, lead_id, triage)
    return RowStatus.MOVED


async def _assign_lead(kind: _Kind, ctx: Ctx, lead_id: uuid.UUID, data: LeadBulkIn) -> RowStatus:
    assert data.owner_id is not None
    await kind.load(ctx, lead_id)
    await lead_service.assign_lead(ctx, lead_id, data.owner_id)
    return RowStatus.UPDATED


async def _tag_account(
    kind: _Kind, ctx: Ctx, account_id: uuid.UUID, data: AccountBulkIn
) -> RowStatus:
    assert data.tag is not None
    account = await kind.load(ctx, account_id)
    if data.tag in account.tags:
        return RowStatus.UNCHANGED
    if len(account.tags) >= MAX_TAGS:
        raise ValidationFailed(
            f"The account already has {MAX_TAGS} tags, the most it may have",
            errors=[FieldError("tags", f"must be at most {MAX_TAGS}")],
        )
    patch = AccountPatch(tags=[*account.tags, data.tag])
    await account_service.update_account(ctx, account_id, patch, account.version)
    return RowStatus.UPDATED


# What each kind's action does to one row; the schemas offer exactly these pairs.
STEPS: dict[tuple[BulkEntity, BulkAction], RowStep] = {
    (BulkEntity.DEALS, BulkAction.CHANGE_OWNER): _change_owner,
    (BulkEntity.DEALS, BulkAction.ENROL): _enrol,
    (BulkEntity.DEALS, BulkAction.MOVE): _move_deal,
    (BulkEntity.DEALS, BulkAction.DELETE): _delete,
    (BulkEntity.DEALS, BulkAction.RESTORE): _restore,
    (BulkEntity.LEADS, BulkAction.CHANGE_OWNER): _assign_lead,
    (BulkEntity.LEADS, BulkAction.MOVE): _triage_lead,
    (BulkEntity.TARGETS, BulkAction.CHANGE_OWNER): _change_owner,
    (BulkEntity.TARGETS, BulkAction.MOVE): _move_target,
    (BulkEntity.TARGETS, BulkAction.DELETE): _delete,
    (BulkEntity.TARGETS, BulkAction.RESTORE): _restore,
    (BulkEntity.ACCOUNTS, BulkAction.CHANGE_OWNER): _change_owner,
    (BulkEntity.ACCOUNTS, BulkAction.ADD_TAG): _tag_account,
    (BulkEntity.ACCOUNTS, BulkAction.ENROL): _enrol,
    (BulkEntity.ACCOUNTS, BulkAction.DELETE): _delete,
    (BulkEntity.ACCOUNTS, BulkAction.RESTORE): _restore,
    (BulkEntity.CONTACTS, BulkAction.ENROL): _enrol,
    (BulkEntity.CONTACTS, BulkAction.DELETE): _delete,
    (BulkEntity.CONTACTS, BulkAction.RESTORE): _restore,
}


def _row_action(entity: BulkEntity, data: BulkIn) -> RowAction:
    """The request's action on one row of its kind, as that row's single change."""
    step = STEPS[(entity, BulkAction(data.action))]
    kind = KINDS[entity]

    async def act(ctx: Ctx, record_id: uuid.UUID) -> RowStatus:
        return await step(kind, ctx, record_id, data)

    return act


async def _run_row(ctx: Ctx, act: RowAction, record_id: uuid.UUID) -> RowOutcome:
    """One row in its own savepoint: done, or rolled back to it with the reason."""
    try:
        async with ctx.session.begin_nested():
            status = await act(ctx, record_id)
    except NotFound as error:
        return RowOutcome(record_id, RowStatus.NOT_FOUND, error)
    except DomainError as error:
        return RowOutcome(record_id, RowStatus.REFUSED, error)
    except ValidationError as invalid:
        # The single change's own input rules, stricter than the bulk body's (a lead's
        # reason is at most 32 characters): that change's 422, for this row.
        invalid_input = ValidationFailed(
            errors=[
                FieldError(".".join(str(p) for p in e["loc"]) or "input", e["msg"])
                for e in invalid.errors()
            ]
        )
        return RowOutcome(record_id, RowStatus.REFUSED, invalid_input)
    except IntegrityError:
        # A constraint the service did not foresee: this row only, said in words.
        refusal = RowRefused("The database refused this change for this record")
        return RowOutcome(record_id, RowStatus.REFUSED, refusal)
    return RowOutcome(record_id, status)


async def run_bulk(ctx: Ctx, entity: BulkEntity, data: BulkIn) -> BulkResult:
    """Apply one action to many rows of one kind, each as its single change would be.

    Writers only (403 for the request; assigning leads is the supervisors'). The rows
    are the `ids` sent (each once, in the order sent; at most `MAX_ROWS`) or every row
    the list API shows for `filter` (422 beyond `MAX_ROWS`). Each row runs in its own
    savepoint through the single change's service function — its workflow rules,
    roles, history and audit — with the row's current version: a refused row rolls
    back alone and is answered `refused` with that change's reason; a row that does
    not exist, is another organization's or is out of the caller's sight is
    `not_found`; nothing else is touched. The rows that passed stay done.
    """
    action = BulkAction(data.action)
    if entity is BulkEntity.LEADS and action is BulkAction.CHANGE_OWNER:
        require_role(ctx, *SUPERVISORS)
    else:
        require_role(ctx, *WRITERS)
    if data.cadence_id is not None and action is BulkAction.ENROL:
        await _cadence(ctx, data.cadence_id)
    if data.ids is not None:
        ids = _distinct(data.ids)
    else:
        ids = await matching_ids(ctx, data.filter)
    if len(ids) > SYNC_ROWS:
        return await _start_run(ctx, entity, data, ids)
    act = _row_action(entity, data)
    outcomes = [await _run_row(ctx, act, record_id) for record_id in ids]
    results = [outcome_json(o) for o in outcomes]
    return BulkResult(entity, action, BulkRunStatus.COMPLETED, len(ids), results)


# ---------------------------------------------------------------- runs (the job)


def _schema_of(entity: BulkEntity) -> type[BulkIn]:
    schemas: dict[BulkEntity, type[BulkIn]] = {
        BulkEntity.DEALS: DealBulkIn,
        BulkEntity.LEADS: LeadBulkIn,
        BulkEntity.TARGETS: TargetBulkIn,
        BulkEntity.ACCOUNTS: AccountBulkIn,
        BulkEntity.CONTACTS: ContactBulkIn,
    }
    return schemas[entity]


async def _start_run(
    ctx: Ctx, entity: BulkEntity, data: BulkIn, ids: list[uuid.UUID]
) -> BulkResult:
    """Store the rows (as resolved now) and the action, and queue its first chunk, in
    the request's transaction: the run exists exactly when its job does."""
    principal = ctx.require_principal()
    run = BulkRun(
        tenant_id=principal.tenant_id,
        entity=entity.value,
        action=data.action,
        parameters=data.model_dump(mode="json", exclude={"ids", "filter"}),
        ids=ids,
        rows_total=len(ids),
        created_by=principal.user_id,
    )
    ctx.session.add(run)
    await ctx.session.flush()
    await defer(ctx, tasks.run_bulk_chunk, {"run_id": str(run.id)})
    action = BulkAction(data.action)
    return BulkResult(entity, action, BulkRunStatus.RUNNING, len(ids), [], run.id)


async def _principal_of(ctx: Ctx, user_id: uuid.UUID) -> Principal | None:
    """The member who asked, with their role now (a member who left, or lost the role
    a row needs, gets that row refused as a request of theirs would be)."""
    row = (
        await ctx.session.execute(
            select(
                Membership.tenant_id,
                Membership.id,
                Membership.role,
                User.email,
                User.full_name,
                Tenant.slug,
                Tenant.name,
            )
            .join(User, User.id == Membership.user_id)
            .join(Tenant, Tenant.id == Membership.tenant_id)
            .where(Membership.user_id == user_id)
        )
    ).first()
    if row is None:
        return None
    return Principal(
        tenant_id=row.tenant_id,
        tenant_slug=row.slug,
        tenant_name=row.name,
        user_id=user_id,
        email=row.email,
        full_name=row.full_name,
        membership_id=row.id,
        role=row.role,
        method=AuthMethod.CLI,
        credential_id=None,
    )


async def run_chunk(ctx: Ctx, run_id: uuid.UUID) -> None:
    """The job: the run's next `CHUNK_ROWS` rows, each as `run_bulk` acts on a row (its
    own savepoint, the single change's rules, history and audit), their results
    appended and `rows_done` advanced in this transaction; then the next chunk is
    queued, or the run is completed. Idempotent: under the run's advisory lock a chunk
    starts where the run stands, and a completed (or unknown) run is left alone."""
    session = ctx.session
    await session.execute(
        select(func.pg_advisory_xact_lock(func.hashtextextended(f"bulk:{run_id}", 0)))
    )
    run = (
        await session.execute(
            select(
                BulkRun.entity,
                BulkRun.parameters,
                BulkRun.ids,
                BulkRun.rows_done,
                BulkRun.rows_total,
                BulkRun.created_by,
            ).where(BulkRun.id == run_id, BulkRun.status == BulkRunStatus.RUNNING.value)
        )
    ).first()
    if run is None:
        return
    ctx.principal = await _principal_of(ctx, run.created_by)
    chunk = list(run.ids[run.rows_done : run.rows_done + CHUNK_ROWS])
    data = _schema_of(BulkEntity(run.entity)).model_validate(
        {**run.parameters, "ids": [str(record_id) for record_id in chunk]}
    )
    act = _row_action(BulkEntity(run.entity), data)
    results = [outcome_json(await _run_row(ctx, act, record_id)) for record_id in chunk]
    done = run.rows_done + len(chunk)
    finished = done >= run.rows_total
    await session.execute(
        update(BulkRun)
        .where(BulkRun.id == run_id)
        .values(
            rows_done=done,
            results=BulkRun.results.op("||")(literal(results, JSONB)),
            status=(BulkRunStatus.COMPLETED if finished else BulkRunStatus.RUNNING).value,
            finished_at=func.now() if finished else None,
            version=BulkRun.version + 1,
            updated_at=func.now(),
        )
    )
    if not finished:
        await defer(ctx, tasks.run_bulk_chunk, {"run_id": str(run_id)})


async def get_run(ctx: Ctx, run_id: uuid.UUID) -> BulkResult:
    """A bulk run's progress and its results so far: the member who started it, and
    admins and managers; anyone else, and another organization, 404."""
    principal = ctx.require_principal()
    run = await ctx.session.scalar(
        select(BulkRun).where(BulkRun.id == run_id).execution_options(populate_existing=True)
    )
    if run is None or (run.created_by != principal.user_id and principal.role not in SUPERVISORS):
        raise NotFound("No such bulk run")
    return BulkResult(
        BulkEntity(run.entity),
        BulkAction(run.action),
        BulkRunStatus(run.status),
        run.rows_total,
        list(run.results),
        run.id,
    )
