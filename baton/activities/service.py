"""Writing activities: system entries for what the workflow did, and planned work.

The rules every writer shares: a system entry is done when written, a planned
activity has an owner, and an activity is attached to its record by the column
for that kind of record (a composite FK, so never across tenants). Below them, the
planner API: members create, edit, complete and cancel planned work, and an open
deal never loses its next step on the way.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Table, insert, select
from sqlalchemy.orm.exc import StaleDataError

from baton.accounts.models import Account
from baton.activities.models import Activity, ActivityStatus, ActivityType
from baton.activities.schemas import (
    ActivityIn,
    ActivityPatch,
    CompleteIn,
    FollowUpIn,
    NewActivityType,
)
from baton.contacts.models import Contact
from baton.core.context import Ctx
from baton.core.errors import Conflict, FieldError, NotFound, StaleVersion, ValidationFailed
from baton.core.ids import uuid7
from baton.core.versioning import check_version

# A module import, not its names: deals' service may import this module in turn.
from baton.deals import service as deal_service
from baton.deals.models import Deal
from baton.identity.access import WRITERS, require_role
from baton.identity.queries import writer_name
from baton.webhooks.events import emit
from baton.workflow.effects import MovedRecord
from baton.workflow.models import EntityType

ACTIVITIES: Table = Activity.__table__  # type: ignore[assignment]
ACCOUNTS: Table = Account.__table__  # type: ignore[assignment]
CONTACTS: Table = Contact.__table__  # type: ignore[assignment]
DEALS: Table = Deal.__table__  # type: ignore[assignment]

# The activity column that points at each kind of record; domains add theirs.
RELATED_COLUMN: dict[EntityType, str] = {
    EntityType.WORK_ITEM: "work_item_id",
    EntityType.DEAL: "deal_id",
    EntityType.LEAD: "lead_id",
}


def _row(
    ctx: Ctx,
    links: dict[str, uuid.UUID],
    *,
    type: ActivityType,
    subject: str,
    owner_id: uuid.UUID | None,
    due_at: datetime | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    tenant_id = ctx.current_tenant_id
    assert tenant_id is not None
    done = type is ActivityType.SYSTEM
    actor = ctx.principal.user_id if ctx.principal else None
    return {
        "tenant_id": tenant_id,
        "id": uuid7(),
        "type": type.value,
        "status": (ActivityStatus.DONE if done else ActivityStatus.PLANNED).value,
        # Subjects may come from templates with record names in them: keep the CHECK.
        "subject": subject[:200],
        "description": description,
        "due_at": due_at,
        "completed_at": datetime.now(UTC) if done else None,
        "owner_id": owner_id,
        "created_by": actor,
        **links,
    }


def _links(record: MovedRecord) -> dict[str, uuid.UUID]:
    return {RELATED_COLUMN[record.entity_type]: record.id}


async def log_system_activity(ctx: Ctx, record: MovedRecord, subject: str) -> None:
    """Record on the timeline something Baton did (a hand-over …); done as it is written."""
    await log_system_entries(ctx, [(_links(record), subject)])


async def log_system_entries(ctx: Ctx, entries: Sequence[tuple[dict[str, uuid.UUID], str]]) -> None:
    """Record on timelines, in one statement, what Baton did: each entry is the
    activity columns naming its record (`{"account_id": …}`) and its subject. Done as
    written, by the caller's member (a sweep: nobody)."""
    if not entries:
        return
    actor = ctx.principal.user_id if ctx.principal else None
    await ctx.session.execute(
        insert(ACTIVITIES),
        [
            _row(ctx, links, type=ActivityType.SYSTEM, subject=subject, owner_id=actor)
            for links, subject in entries
        ],
    )


async def plan_activity(
    ctx: Ctx,
    record: MovedRecord,
    *,
    type: ActivityType,
    subject: str,
    owner_id: uuid.UUID | None,
    due_at: datetime | None,
) -> None:
    """Plan work on a record for someone (the record's owner by default)."""
    await ctx.session.execute(
        insert(ACTIVITIES),
        [_row(ctx, _links(record), type=type, subject=subject, owner_id=owner_id, due_at=due_at)],
    )


# ---------------------------------------------------------------- the planner API
#
# Lock order: an activity's open deal is locked before the activity is written, the
# order a deal close follows too (the deal, then its planned activities), so a
# complete racing a close waits instead of deadlocking.


@dataclass(frozen=True)
class DealNextStep:
    deal_id: uuid.UUID
    next_step: str
    due: date


@dataclass(frozen=True)
class ActivityChange:
    """What completing or cancelling did."""

    activity: Activity
    follow_up: Activity | None
    deal: DealNextStep | None


@dataclass(frozen=True)
class _Links:
    account_id: uuid.UUID | None
    contact_id: uuid.UUID | None
    deal_id: uuid.UUID | None


def utc_day(moment: datetime) -> date:
    """The UTC calendar day of a time: the day the activities API files an item under."""
    return moment.astimezone(UTC).date()


async def _writer(ctx: Ctx, user_id: uuid.UUID, field: str) -> uuid.UUID:
    """`user_id`, if a member of this organization who may own work (a writer)."""
    tenant_id = ctx.require_principal().tenant_id
    if not await writer_name(ctx.session, tenant_id, user_id):
        raise ValidationFailed(errors=[FieldError(field, "is not a member who can own activities")])
    return user_id


@dataclass(frozen=True)
class _Reference:
    """A contact or deal named by the caller: its account, and whether it is live."""

    account_id: uuid.UUID
    live: bool


async def _reference(ctx: Ctx, table: Table, record_id: uuid.UUID) -> _Reference | None:
    """The contact or deal `record_id` of this organization, None when unknown (another
    organization's is unknown here too: RLS). Share-locked, so a concurrent delete of
    it waits for this transaction (and then soft-deletes what it planned too)."""
    row = (
        await ctx.session.execute(
            select(table.c.account_id, table.c.deleted_at.is_(None).label("live"))
            .where(table.c.id == record_id)
            .with_for_update(read=True)
        )
    ).first()
    return None if row is None else _Reference(row.account_id, bool(row.live))


async def _account_live(ctx: Ctx, account_id: uuid.UUID) -> bool | None:
    """Whether the account is live, None when unknown (as `_reference`), share-locked."""
    live: bool | None = await ctx.session.scalar(
        select(ACCOUNTS.c.deleted_at.is_(None))
        .where(ACCOUNTS.c.id == account_id)
        .with_for_update(read=True)
    )
    return live


async def _resolve_links(
    ctx: Ctx,
    account_id: uuid.UUID | None,
    contact_id: uuid.UUID | None,
    deal_id: uuid.UUID | None,
) -> _Links:
    """The account, contact and deal named, as the activity will point at them.

    The rule deals' references follow too: a record the organization does not have
    (made up, or another organization's — RLS hides those) is 404 naming each such
    field, never telling one from the other; a deleted record of the organization,
    or a contact or deal of another account than the rest, is 422 naming each field.
    A contact or deal given without `account_id` brings its account along.
    """
    unknown: list[FieldError] = []
    errors: list[FieldError] = []
    deal_account = contact_account = None
    for field, kind, table, record_id in (
        ("deal_id", "deal", DEALS, deal_id),
        ("contact_id", "contact", CONTACTS, contact_id),
    ):
        if record_id is None:
            continue
        found = await _reference(ctx, table, record_id)
        if found is None:
            unknown.append(FieldError(field, f"is not a {kind} of this organization"))
        elif not found.live:
            errors.append(FieldError(field, f"is a deleted {kind}"))
        elif field == "deal_id":
            deal_account = found.account_id
        else:
            contact_account = found.account_id
    if account_id is None:
        account_id = deal_account or contact_account
    if account_id is not None:
        live = await _account_live(ctx, account_id)
        if live is None:
            unknown.append(FieldError("account_id", "is not an account of this organization"))
        elif not live:
            errors.append(FieldError("account_id", "is a deleted account"))
        for field, owner_account in (("deal_id", deal_account), ("contact_id", contact_account)):
            if owner_account is not None and owner_account != account_id:
                errors.append(FieldError(field, "belongs to another account"))
    if unknown:
        kinds = ", ".join(error.field.removesuffix("_id") for error in unknown)
        raise NotFound(f"No such {kinds}", errors=unknown)
    if errors:
        raise ValidationFailed("The related records do not fit together", errors=errors)
    return _Links(account_id, contact_id, deal_id)


async def create_activity(ctx: Ctx, data: ActivityIn) -> Activity:
    """Writers plan a call, email, meeting or task (due time required), or log a note
    (done as it is written, no due time). System entries are Baton's own: never here.

    The owner defaults to the caller and must be a writer member (422 otherwise,
    whoever the id names). The account, contact and deal must be records of the
    organization — an unknown one, or another organization's, is 404 like every
    other tenant's id — live and of one account (422 naming each that is not); a
    contact or deal alone brings its account. Creating does not change the deal's
    next step: completing or cancelling does.
    """
    principal = require_role(ctx, *WRITERS)
    is_note = data.type is NewActivityType.NOTE
    if is_note and data.due_at is not None:
        raise ValidationFailed(errors=[FieldError("due_at", "a note is logged as done; omit it")])
    if not is_note and data.due_at is None:
        raise ValidationFailed(errors=[FieldError("due_at", "is required for planned work")])
    owner_id = principal.user_id
    if data.owner_id is not None and data.owner_id != principal.user_id:
        owner_id = await _writer(ctx, data.owner_id, "owner_id")
    links = await _resolve_links(ctx, data.account_id, data.contact_id, data.deal_id)
    activity = Activity(
        tenant_id=principal.tenant_id,
        type=data.type.value,
        status=(ActivityStatus.DONE if is_note else ActivityStatus.PLANNED).value,
        subject=data.subject,
        description=data.description,
        due_at=data.due_at,
        completed_at=datetime.now(UTC) if is_note else None,
        owner_id=owner_id,
        created_by=principal.user_id,
        account_id=links.account_id,
        contact_id=links.contact_id,
        deal_id=links.deal_id,
    )
    ctx.session.add(activity)
    await ctx.session.flush()
    return activity


async def _live_activity(ctx: Ctx, activity_id: uuid.UUID) -> Activity:
    activity = await ctx.session.scalar(
        select(Activity).where(Activity.id == activity_id, Activity.deleted_at.is_(None))
    )
    if activity is None:
        raise NotFound("No such activity")
    return activity


def _require_planned(activity: Activity, expected_version: int | None) -> None:
    """Only planned work changes: system entries are the trail and done or cancelled
    activities are history (409); then the caller's version must be current."""
    if activity.type == ActivityType.SYSTEM.value:
        raise Conflict("System entries record what Baton did; they cannot be changed")
    if activity.status != ActivityStatus.PLANNED.value:
        raise Conflict(f"The activity is {activity.status}: it is history and cannot change")
    check_version(activity.version, expected_version, "activity")


async def _flush(ctx: Ctx, what: str) -> None:
    try:
        await ctx.session.flush()
    except StaleDataError as exc:
        raise StaleVersion(f"The activity changed while you {what} it") from exc


async def update_activity(
    ctx: Ctx, activity_id: uuid.UUID, data: ActivityPatch, expected_version: int | None
) -> Activity:
    """Writers edit planned work: type, subject, description, due time, owner.

    Done and cancelled activities and system entries are history (409); the version
    must be current (409 stale, 422 missing). A planned activity keeps its type,
    subject, due time and owner (null is 422); a new owner must be a writer member
    (422 otherwise, whoever the id names). Another organization's activity is 404.
    """
    require_role(ctx, *WRITERS)
    activity = await _live_activity(ctx, activity_id)
    _require_planned(activity, expected_version)
    changes = data.model_dump(exclude_unset=True, exclude={"version"})
    removed = [
        FieldError(field, "cannot be removed from planned work")
        for field in ("type", "subject", "due_at", "owner_id")
        if field in changes and changes[field] is None
    ]
    if removed:
        raise ValidationFailed(errors=removed)
    if data.owner_id is not None and data.owner_id != activity.owner_id:
        activity.owner_id = await _writer(ctx, data.owner_id, "owner_id")
    if data.type is not None:
        activity.type = data.type.value
    if data.subject is not None:
        activity.subject = data.subject
    if "description" in changes:
        activity.description = data.description
    if data.due_at is not None:
        activity.due_at = data.due_at
    await _flush(ctx, "edited")
    return activity


async def _lock_open_deal(ctx: Ctx, deal_id: uuid.UUID | None) -> bool:
    """Whether the activity's deal is open (live, no outcome), locking it if so."""
    if deal_id is None:
        return False
    found = await ctx.session.scalar(
        select(DEALS.c.id)
        .where(DEALS.c.id == deal_id, DEALS.c.outcome.is_(None), DEALS.c.deleted_at.is_(None))
        .with_for_update()
    )
    return found is not None


async def _earliest_planned(
    ctx: Ctx, deal_id: uuid.UUID, besides: uuid.UUID
) -> tuple[str, datetime] | None:
    """The deal's first dated planned activity other than `besides`."""
    row = (
        await ctx.session.execute(
            select(Activity.subject, Activity.due_at)
            .where(
                Activity.deal_id == deal_id,
                Activity.id != besides,
                Activity.status == ActivityStatus.PLANNED.value,
                Activity.deleted_at.is_(None),
                Activity.due_at.is_not(None),
            )
            .order_by(Activity.due_at, Activity.id)
            .limit(1)
        )
    ).first()
    if row is None or row.due_at is None:
        return None
    return row.subject, row.due_at


async def _point_deal_at(
    ctx: Ctx, deal_id: uuid.UUID, subject: str, due_at: datetime
) -> DealNextStep:
    due = await deal_service.set_next_step(ctx, deal_id, subject, due_at)
    return DealNextStep(deal_id, subject[:200], due)


async def complete_activity(
    ctx: Ctx, activity_id: uuid.UUID, data: CompleteIn, expected_version: int | None
) -> ActivityChange:
    """Mark planned work done, optionally planning its follow-up — one transaction.

    The activity gets `completed_at` and the outcome; `next` becomes a planned
    activity on the same records (account, contact, deal, work item), owned by
    `next.owner_id` (a writer member, 422 otherwise, whoever the id names) or else
    the completed activity's owner (the caller if that owner can no longer write).
    Another organization's activity is 404.

    An open deal never lacks a next step (DESIGN §5): when the activity belongs to
    an open deal, the deal's next step becomes the follow-up, or without one the
    deal's earliest remaining dated planned activity; with neither, 422 asks for
    `next` and nothing changes. Any refusal rolls back everything.
    """
    principal = require_role(ctx, *WRITERS)
    activity = await _live_activity(ctx, activity_id)
    _require_planned(activity, expected_version)
    deal_open = await _lock_open_deal(ctx, activity.deal_id)
    remaining = None
    if deal_open and data.next is None:
        assert activity.deal_id is not None
        remaining = await _earliest_planned(ctx, activity.deal_id, activity.id)
        if remaining is None:
            raise ValidationFailed(
                "This is the deal's last planned activity; an open deal needs a next step",
                errors=[FieldError("next", "is required: plan the deal's next step")],
            )
    activity.status = ActivityStatus.DONE.value
    activity.completed_at = datetime.now(UTC)
    activity.outcome = data.outcome
    await _flush(ctx, "completed")
    await emit(ctx, "activity.completed", activity.id)
    follow_up = None
    if data.next is not None:
        follow_up = await _plan_follow_up(ctx, principal.user_id, activity, data.next)
    deal = None
    if deal_open:
        assert activity.deal_id is not None
        if follow_up is not None:
            assert follow_up.due_at is not None
            remaining = (follow_up.subject, follow_up.due_at)
        assert remaining is not None
        deal = await _point_deal_at(ctx, activity.deal_id, *remaining)
    return ActivityChange(activity, follow_up, deal)


async def _plan_follow_up(
    ctx: Ctx, caller_id: uuid.UUID, done: Activity, data: FollowUpIn
) -> Activity:
    if data.owner_id is not None:
        owner_id = await _writer(ctx, data.owner_id, "next.owner_id")
    elif done.owner_id is not None and await writer_name(
        ctx.session, done.tenant_id, done.owner_id
    ):
        owner_id = done.owner_id
    else:
        owner_id = caller_id
    follow_up = Activity(
        tenant_id=done.tenant_id,
        type=data.type.value,
        status=ActivityStatus.PLANNED.value,
        subject=data.subject,
        description=data.description,
        due_at=data.due_at,
        owner_id=owner_id,
        created_by=caller_id,
        work_item_id=done.work_item_id,
        account_id=done.account_id,
        contact_id=done.contact_id,
        deal_id=done.deal_id,
    )
    ctx.session.add(follow_up)
    await ctx.session.flush()
    return follow_up


async def cancel_activity(
    ctx: Ctx, activity_id: uuid.UUID, expected_version: int | None
) -> ActivityChange:
    """Call off planned work; it stays on the timeline as cancelled.

    An open deal never lacks a next step: cancelling an open deal's activity points
    the deal at its earliest remaining dated planned activity, and when none
    remains the cancel is refused (422: plan the next step first, or close the
    deal — closing cancels its planned work itself).
    """
    require_role(ctx, *WRITERS)
    activity = await _live_activity(ctx, activity_id)
    _require_planned(activity, expected_version)
    remaining = None
    if await _lock_open_deal(ctx, activity.deal_id):
        assert activity.deal_id is not None
        remaining = await _earliest_planned(ctx, activity.deal_id, activity.id)
        if remaining is None:
            raise ValidationFailed(
                "This is the deal's last planned activity; an open deal needs a next step."
                " Plan the next one first, or close the deal",
                errors=[FieldError("id", "is the open deal's only planned activity")],
            )
    activity.status = ActivityStatus.CANCELLED.value
    await _flush(ctx, "cancelled")
    deal = None
    if remaining is not None:
        assert activity.deal_id is not None
        deal = await _point_deal_at(ctx, activity.deal_id, *remaining)
    return ActivityChange(activity, None, deal)


async def get_activity(ctx: Ctx, activity_id: uuid.UUID) -> Activity:
    """Any member reads a live activity of the organization; others are 404."""
    ctx.require_principal()
    return await _live_activity(ctx, activity_id)
