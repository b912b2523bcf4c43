"""Reading activities (current tenant only, through RLS): timelines and the planner views."""

from __future__ import annotations

import base64
import struct
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Annotated

from fastapi import Query
from sqlalchemy import Select, or_, select, tuple_, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from baton.accounts.models import Account
from baton.activities.models import Activity, ActivityStatus, ActivityType
from baton.activities.schemas import ActivityView
from baton.activities.service import RELATED_COLUMN
from baton.contacts.models import Contact
from baton.core.errors import FieldError, ValidationFailed
from baton.core.pagination import MAX_PAGE_SIZE
from baton.deals.models import Deal
from baton.workflow.models import EntityType

TIMELINE_LIMIT = 200


async def for_record(
    session: AsyncSession, entity_type: EntityType | str, record_id: uuid.UUID
) -> Sequence[Activity]:
    """A record's timeline, newest first (the latest `TIMELINE_LIMIT` entries)."""
    column = getattr(Activity, RELATED_COLUMN[EntityType(entity_type)])
    query = (
        select(Activity)
        .where(column == record_id, Activity.deleted_at.is_(None))
        .order_by(Activity.created_at.desc(), Activity.id.desc())
        .limit(TIMELINE_LIMIT)
    )
    return (await session.scalars(query)).all()


# ---------------------------------------------------------------- views
#
# The views are ordered by time, not by id, so their cursor is the last row's
# (time, id) key: `id > cursor` alone would skip or repeat rows. The time is
# null only for an undated planned activity, which the planner lists last.

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR = struct.Struct(">?q16s")


@dataclass(frozen=True)
class ViewCursor:
    at: datetime | None
    id: uuid.UUID


@dataclass(frozen=True)
class ViewPage:
    limit: int
    after: ViewCursor | None


def encode_view_cursor(at: datetime | None, row_id: uuid.UUID) -> str:
    micros = (at - _EPOCH) // timedelta(microseconds=1) if at is not None else 0
    raw = _CURSOR.pack(at is not None, micros, row_id.bytes)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_view_cursor(cursor: str) -> ViewCursor:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        dated, micros, row_id = _CURSOR.unpack(raw)
        at = _EPOCH + timedelta(microseconds=micros) if dated else None
        return ViewCursor(at, uuid.UUID(bytes=row_id))
    except (ValueError, TypeError, struct.error, OverflowError) as exc:
        raise ValidationFailed(errors=[FieldError("cursor", "is not a valid cursor")]) from exc


def view_page(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> ViewPage:
    return ViewPage(limit=limit, after=decode_view_cursor(cursor) if cursor else None)


def view_key(view: ActivityView, activity: Activity) -> datetime | None:
    """The time a view orders by (and groups into days by)."""
    return activity.completed_at if view is ActivityView.DONE else activity.due_at


def _planned_view(view: ActivityView, now: datetime, zone: tzinfo) -> Select[Activity]:
    # "Today" is the viewer's day: from their midnight to the next.
    day = now.astimezone(zone).date()
    today = datetime.combine(day, time(), tzinfo=zone)
    tomorrow = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone)
    due = Activity.due_at
    query = select(Activity).where(Activity.status == ActivityStatus.PLANNED.value)
    if view is ActivityView.PLANNER:
        return query.where(or_(due >= today, due.is_(None)))
    if view is ActivityView.TODAY:
        return query.where(due >= today, due < tomorrow)
    return query.where(due < now)


async def list_view(
    session: AsyncSession,
    view: ActivityView,
    page: ViewPage,
    owner_id: uuid.UUID | None,
    now: datetime,
    zone: tzinfo = UTC,
) -> list[Activity]:
    """One view, `limit + 1` rows in one statement (days are the days of `zone`, the
    viewer's time zone):

    - planner: planned, due from the start of today on, soonest first; undated last;
    - today: planned, due today;
    - overdue: planned, due before `now`, oldest first;
    - done: done (system entries left out: they are the records' trail), newest first.
    """
    query = view_statement(view, page, owner_id, now, zone)
    return list((await session.scalars(query)).all())


def view_statement(
    view: ActivityView,
    page: ViewPage | None,
    owner_id: uuid.UUID | None,
    now: datetime,
    zone: tzinfo = UTC,
) -> Select[Activity]:
    """The statement of `list_view`; `page` None is the whole view, every row in its
    order (an export reads it: `baton.exports.statements`)."""
    after = None if page is None else page.after
    if view is ActivityView.DONE:
        done_at = Activity.completed_at
        query = (
            select(Activity)
            .where(
                Activity.status == ActivityStatus.DONE.value,
                Activity.type != ActivityType.SYSTEM.value,
            )
            .order_by(done_at.desc(), Activity.id.desc())
        )
        if after is not None:
            query = query.where(tuple_(done_at, Activity.id) < tuple_(after.at, after.id))
    elif view is ActivityView.PLANNER and page is not None:
        # A page: two index ranges (`_planner`). The whole view (an export) reads
        # every row anyway, as one condition below.
        return _planner(page, owner_id, now, zone)
    else:
        due = Activity.due_at
        query = _planned_view(view, now, zone).order_by(due.asc().nulls_last(), Activity.id)
        if after is not None and after.at is None:
            query = query.where(due.is_(None), Activity.id > after.id)
        elif after is not None:
            query = query.where(
                or_(tuple_(due, Activity.id) > tuple_(after.at, after.id), due.is_(None))
            )
    query = query.where(Activity.deleted_at.is_(None)).limit(
        None if page is None else page.limit + 1
    )
    if owner_id is not None:
        query = query.where(Activity.owner_id == owner_id)
    return query


def _planner(
    page: ViewPage, owner_id: uuid.UUID | None, now: datetime, zone: tzinfo
) -> Select[Activity]:
    """The planner's page: the dated rows from today on, then the undated ones.

    Two parts, each cut to the page on its own and then merged: as one condition
    (`due_at >= today OR due_at IS NULL`) the planned-due index could only be read
    from its start, every overdue row read and dropped before today's (250 000 of
    them in a tenant with 1 000 000 deals: 1.9 s). Each part is one range of the
    index (`ix_activities_planned_due`, which holds the id for that), in its order.
    """
    day = now.astimezone(zone).date()
    today = datetime.combine(day, time(), tzinfo=zone)
    due, after = Activity.due_at, page.after
    live = [
        Activity.status == ActivityStatus.PLANNED.value,
        Activity.deleted_at.is_(None),
        *([Activity.owner_id == owner_id] if owner_id is not None else []),
    ]
    parts = []
    if after is None or after.at is not None:
        dated = select(Activity.id, due).where(*live, due >= today)
        if after is not None:
            dated = dated.where(tuple_(due, Activity.id) > tuple_(after.at, after.id))
        parts.append(dated.order_by(due, Activity.id).limit(page.limit + 1))
    undated = select(Activity.id, due).where(*live, due.is_(None))
    if after is not None and after.at is None:
        undated = undated.where(Activity.id > after.id)
    # Ordered as the index is (due_at is NULL throughout): one range of it, not the
    # tenant's activities read in id order.
    parts.append(undated.order_by(due, Activity.id).limit(page.limit + 1))
    chosen = union_all(*(part.subquery().select() for part in parts)).subquery("planner_page")
    return (
        select(Activity)
        .join(chosen, chosen.c.id == Activity.id)
        .order_by(chosen.c.due_at.asc().nulls_last(), chosen.c.id)
        .limit(page.limit + 1)
    )


def view_next_cursor(view: ActivityView, rows: Sequence[Activity], page: ViewPage) -> str | None:
    """Rows hold `limit + 1`; a surplus row means there is a next page."""
    if len(rows) <= page.limit:
        return None
    last = rows[page.limit - 1]
    return encode_view_cursor(view_key(view, last), last.id)


# ---------------------------------------------------------------- related names


@dataclass(frozen=True)
class RelatedRef:
    """A related record as a page names it; a deleted one keeps its id but not its name."""

    id: uuid.UUID
    name: str
    deleted: bool


@dataclass(frozen=True)
class RelatedNames:
    accounts: dict[uuid.UUID, RelatedRef]
    contacts: dict[uuid.UUID, RelatedRef]
    deals: dict[uuid.UUID, RelatedRef]


DELETED_ACCOUNT = "Deleted account"
DELETED_CONTACT = "Deleted contact"
DELETED_DEAL = "Deleted deal"


async def related_names(session: AsyncSession, activities: Sequence[Activity]) -> RelatedNames:
    """The accounts, contacts and deals a list of activities points at, by id — at most
    three statements whatever the list holds. A soft-deleted record is named "Deleted
    contact" (account, deal), never an error."""
    account_ids = {a.account_id for a in activities if a.account_id is not None}
    contact_ids = {a.contact_id for a in activities if a.contact_id is not None}
    deal_ids = {a.deal_id for a in activities if a.deal_id is not None}
    accounts: dict[uuid.UUID, RelatedRef] = {}
    contacts: dict[uuid.UUID, RelatedRef] = {}
    deals: dict[uuid.UUID, RelatedRef] = {}
    if account_ids:
        rows = await session.execute(
            select(Account.id, Account.name, Account.deleted_at).where(Account.id.in_(account_ids))
        )
        for row_id, name, deleted_at in rows.all():
            deleted = deleted_at is not None
            accounts[row_id] = RelatedRef(row_id, DELETED_ACCOUNT if deleted else name, deleted)
    if contact_ids:
        people = await session.execute(
            select(Contact.id, Contact.first_name, Contact.last_name, Contact.deleted_at).where(
                Contact.id.in_(contact_ids)
            )
        )
        for row_id, first, last, deleted_at in people.all():
            deleted = deleted_at is not None
            name = DELETED_CONTACT if deleted else " ".join(p for p in (first, last) if p)
            contacts[row_id] = RelatedRef(row_id, name, deleted)
    if deal_ids:
        rows = await session.execute(
            select(Deal.id, Deal.name, Deal.deleted_at).where(Deal.id.in_(deal_ids))
        )
        for row_id, name, deleted_at in rows.all():
            deleted = deleted_at is not None
            deals[row_id] = RelatedRef(row_id, DELETED_DEAL if deleted else name, deleted)
    return RelatedNames(accounts, contacts, deals)


async def by_ids(session: AsyncSession, activity_ids: Sequence[uuid.UUID]) -> list[Activity]:
    """Live activities with these ids (one statement), in no particular order: pages that
    read a summary elsewhere load the rows they act on (with their versions) here."""
    if not activity_ids:
        return []
    query = select(Activity).where(Activity.id.in_(activity_ids), Activity.deleted_at.is_(None))
    return list((await session.scalars(query)).all())
