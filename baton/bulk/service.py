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

from sqlalchemy.exc import IntegrityError

from baton.accounts import queries as account_queries
from baton.accounts import service as account_service
from baton.accounts.models import MAX_TAGS
from baton.accounts.schemas import AccountPatch
from baton.bulk.schemas import (
    MAX_ROWS,
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
from baton.core.context import Ctx
from baton.core.errors import DomainError, FieldError, NotFound, ValidationFailed
from baton.core.pagination import MAX_PAGE_SIZE, PageRequest, next_page, page_of
from baton.deals import service as deal_service
from baton.deals.schemas import DealMoveIn, DealPatch
from baton.identity.access import WRITERS, require_role
from baton.identity.models import Role
from baton.leads import service as lead_service
from baton.leads.schemas import TriageIn
from baton.targets import service as target_service
from baton.targets.schemas import StatusIn, TargetPatch

# Leads go to a salesperson by assignment, which is the supervisors'.
SUPERVISORS = (Role.ADMIN, Role.MANAGER)

RowAction = Callable[[Ctx, uuid.UUID], Awaitable[RowStatus]]
BulkIn = DealBulkIn | LeadBulkIn | TargetBulkIn | AccountBulkIn | ContactBulkIn


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


@dataclass(frozen=True)
class BulkResult:
    action: BulkAction
    outcomes: list[RowOutcome]


class RowRefused(DomainError):
    """A refusal the database gave for one row (a constraint), in words."""

    status = 409
    title = "Conflict"
    slug = "conflict"


# ---------------------------------------------------------------- selecting rows


async def _matching_page(
    ctx: Ctx, entity: BulkEntity, matched: object, page: PageRequest
) -> list[tuple[uuid.UUID, int | None]]:
    """One page (`limit + 1` rows) of what the list API lists for these filters, as
    (id, search rank) pairs; the same service calls, so the same role rules."""
    if isinstance(matched, DealFilter):
        deals = await deal_service.list_deals(ctx, page, matched.view, matched.account_id)
        return [(row.id, None) for row in deals]
    if isinstance(matched, LeadFilter):
        if matched.q is not None:
            found = await lead_service.search_leads(ctx, matched.view, page, matched.q)
            return [(row.record.lead.id, row.rank) for row in found]
        leads = await lead_service.list_leads(ctx, matched.view, page)
        return [(record.lead.id, None) for record in leads]
    if isinstance(matched, TargetFilter):
        targets = await target_service.list_targets(ctx, page, matched.status, matched.q)
        return [(row.id, row._mapping.get("search_rank")) for row in targets]
    if isinstance(matched, AccountFilter):
        principal = ctx.require_principal()
        accounts = await account_queries.list_accounts(
            ctx.session,
            page,
            q=matched.q,
            owner_id=principal.user_id if matched.owner == "me" else None,
            tenure=matched.tenure,
            activity=matched.activity,
        )
        return [(row.account.id, row.rank) for row in accounts]
    assert isinstance(matched, ContactFilter), entity
    contacts = await contact_service.list_contacts(ctx, page, matched.account_id, matched.q)
    return [(contact.id, rank) for contact, rank in contacts]


async def matching_ids(ctx: Ctx, entity: BulkEntity, matched: object) -> list[uuid.UUID]:
    """Every row the list API shows for these filters, in its order, page by page;
    more than `MAX_ROWS` is 422 (narrow the filter) before anything is done."""
    ids: list[uuid.UUID] = []
    page = page_of(MAX_PAGE_SIZE, None)
    while True:
        keys = await _matching_page(ctx, entity, matched, page)
        ids.extend(record_id for record_id, _ in keys[: page.limit])
        if len(ids) > MAX_ROWS:
            raise ValidationFailed(
                f"The filter matches more than {MAX_ROWS} rows; narrow it, or act in parts",
                errors=[FieldError("filter", f"matches more than {MAX_ROWS} rows")],
            )
        cursor = next_page(keys, page)
        if cursor is None:
            return ids
        page = page_of(MAX_PAGE_SIZE, cursor)


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


def _enrol(column: str, cadence_id: uuid.UUID) -> RowAction:
    async def act(ctx: Ctx, record_id: uuid.UUID) -> RowStatus:
        await cadence_service.enroll(ctx, cadence_id, EnrollIn(**{column: record_id}))
        return RowStatus.ENROLLED

    return act


def _deal_action(data: DealBulkIn) -> RowAction:
    action = BulkAction(data.action)

    async def act(ctx: Ctx, deal_id: uuid.UUID) -> RowStatus:
        if action is BulkAction.RESTORE:
            await deal_service.restore_deal(ctx, deal_id, None)
            return RowStatus.RESTORED
        deal, _ = await deal_service.get_deal(ctx, deal_id)
        if action is BulkAction.CHANGE_OWNER:
            await deal_service.update_deal(
                ctx, deal_id, DealPatch(owner_id=data.owner_id), deal.version
            )
            return RowStatus.UPDATED
        if action is BulkAction.MOVE:
            assert data.to_step_id is not None
            if deal.step_id == data.to_step_id:
                return RowStatus.UNCHANGED
            move = DealMoveIn(
                to_step_id=data.to_step_id,
                version=deal.version,
                reason=data.reason,
                notes=data.notes,
            )
            await deal_service.move_deal(ctx, deal_id, move)
            return RowStatus.MOVED
        if action is BulkAction.ENROL:
            assert data.cadence_id is not None
            return await _enrol("deal_id", data.cadence_id)(ctx, deal_id)
        await deal_service.delete_deal(ctx, deal_id, deal.version)
        return RowStatus.DELETED

    return act


def _lead_action(data: LeadBulkIn) -> RowAction:
    action = BulkAction(data.action)

    async def act(ctx: Ctx, lead_id: uuid.UUID) -> RowStatus:
        record = await lead_service.get_lead(ctx, lead_id)
        if action is BulkAction.CHANGE_OWNER:
            assert data.owner_id is not None
            await lead_service.assign_lead(ctx, lead_id, data.owner_id)
            return RowStatus.UPDATED
        assert data.status is not None
        triage = TriageIn(
            status=data.status, reason=data.reason, notes=data.notes, version=record.lead.version
        )
        await lead_service.triage_lead(ctx, lead_id, triage)
        return RowStatus.MOVED

    return act


def _target_action(data: TargetBulkIn) -> RowAction:
    action = BulkAction(data.action)

    async def act(ctx: Ctx, target_id: uuid.UUID) -> RowStatus:
        target, flow = await target_service.get_target(ctx, target_id)
        if action is BulkAction.CHANGE_OWNER:
            await target_service.update_target(
                ctx, target_id, TargetPatch(owner_id=data.owner_id), target.version
            )
            return RowStatus.UPDATED
        if action is BulkAction.MOVE:
            assert data.status is not None
            if flow.step(target.step_id).key == data.status:
                return RowStatus.UNCHANGED
            change = StatusIn(
                status=data.status, reason=data.reason, notes=data.notes, version=target.version
            )
            await target_service.change_status(ctx, target_id, change)
            return RowStatus.MOVED
        await target_service.delete_target(ctx, target_id, target.version)
        return RowStatus.DELETED

    return act


def _account_action(data: AccountBulkIn) -> RowAction:
    action = BulkAction(data.action)

    async def act(ctx: Ctx, account_id: uuid.UUID) -> RowStatus:
        if action is BulkAction.RESTORE:
            await account_service.restore_account(ctx, account_id, None)
            return RowStatus.RESTORED
        account = (await account_service.get_account(ctx, account_id)).account
        if action is BulkAction.CHANGE_OWNER:
            patch = AccountPatch(owner_id=data.owner_id)
        elif action is BulkAction.ADD_TAG:
            assert data.tag is not None
            if data.tag in account.tags:
                return RowStatus.UNCHANGED
            if len(account.tags) >= MAX_TAGS:
                raise ValidationFailed(
                    f"The account already has {MAX_TAGS} tags, the most it may have",
                    errors=[FieldError("tags", f"must be at most {MAX_TAGS}")],
                )
            patch = AccountPatch(tags=[*account.tags, data.tag])
        elif action is BulkAction.ENROL:
            assert data.cadence_id is not None
            return await _enrol("account_id", data.cadence_id)(ctx, account_id)
        else:
            await account_service.delete_account(ctx, account_id, account.version)
            return RowStatus.DELETED
        await account_service.update_account(ctx, account_id, patch, account.version)
        return RowStatus.UPDATED

    return act


def _contact_action(data: ContactBulkIn) -> RowAction:
    action = BulkAction(data.action)

    async def act(ctx: Ctx, contact_id: uuid.UUID) -> RowStatus:
        if action is BulkAction.RESTORE:
            await contact_service.restore_contact(ctx, contact_id, None)
            return RowStatus.RESTORED
        contact = await contact_service.get_contact(ctx, contact_id)
        if action is BulkAction.ENROL:
            assert data.cadence_id is not None
            return await _enrol("contact_id", data.cadence_id)(ctx, contact_id)
        await contact_service.delete_contact(ctx, contact_id, contact.version)
        return RowStatus.DELETED

    return act


def _row_action(data: BulkIn) -> RowAction:
    if isinstance(data, DealBulkIn):
        return _deal_action(data)
    if isinstance(data, LeadBulkIn):
        return _lead_action(data)
    if isinstance(data, TargetBulkIn):
        return _target_action(data)
    if isinstance(data, AccountBulkIn):
        return _account_action(data)
    return _contact_action(data)


async def _run_row(ctx: Ctx, act: RowAction, record_id: uuid.UUID) -> RowOutcome:
    """One row in its own savepoint: done, or rolled back to it with the reason."""
    try:
        async with ctx.session.begin_nested():
            status = await act(ctx, record_id)
    except NotFound as error:
        return RowOutcome(record_id, RowStatus.NOT_FOUND, error)
    except DomainError as error:
        return RowOutcome(record_id, RowStatus.REFUSED, error)
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
        ids = await matching_ids(ctx, entity, data.filter)
    act = _row_action(data)
    outcomes = [await _run_row(ctx, act, record_id) for record_id in ids]
    return BulkResult(action, outcomes)
